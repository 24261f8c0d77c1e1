//! What the engine finishes, diagnosed and gathered, in order, for a [`Sink`].
//!
//! The engine (`correlate::engine`) may not use the rules, so it hands each finished call to a
//! [`Diagnoser`]: the call is diagnosed, its evidence reduced to what the diagnosis showed belongs to
//! it, and the result gathered as a [`Finished`] item. Each connection or ICMP group the engine lets
//! go becomes a transport event when it failed, with the calls it explained. The other transactions,
//! the registration bindings and the rows of the peer table are diagnosed by their rules as they come
//! and gathered as [`Diagnosed`] items. The items are owned, so whoever takes them (the pipeline) can
//! hand them to a sink elsewhere — the report is written on another thread than the diagnosis.
//!
//! Only a call whose evidence holds candidates (connections, ICMP groups, DNS lookups) needs its
//! diagnosis at once: the engine releases the candidates with the calls they explained. The others,
//! most calls, are gathered undiagnosed and diagnosed where they are delivered, by a [`Delivery`],
//! which on a run is the render thread: the fold, the run's critical path, does not wait for their
//! rules. Their failovers join the diagnoser's for the run's patterns ([`Delivery::patterns`]).

use std::net::SocketAddr;

use rustc_hash::FxHashMap;

use super::{Finding, Pattern, Patterns, Severity, TransportEvent};
use crate::correlate::calls::{Call, OtherDialog};
use crate::correlate::dns::Lookup;
use crate::correlate::engine::{Evidence, FinishedCall, Finisher, Tied};
use crate::correlate::media::Stream;
use crate::correlate::peers::Peer;
use crate::correlate::registrations::Registration;
use crate::correlate::transactions::Transaction;
use crate::correlate::transport::{Connection, IcmpError, IcmpGroup, Released};

/// A finished call with its diagnosis.
#[derive(Clone, Debug, PartialEq)]
pub struct DiagnosedCall {
    /// 0-based position in the call list.
    pub index: usize,
    pub call: Call,
    /// Primary (most causal) first.
    pub findings: Vec<Finding>,
    /// What its diagnosis rests on and its ladder shows.
    pub evidence: Evidence,
}

/// A diagnosed call reads as its [`Call`] (`c.state`, `c.messages`) with its findings and evidence
/// beside.
impl std::ops::Deref for DiagnosedCall {
    type Target = Call;
    fn deref(&self) -> &Call {
        &self.call
    }
}

impl DiagnosedCall {
    /// The severity of its worst finding.
    pub fn worst(&self) -> Option<super::Severity> {
        self.findings.iter().map(|f| f.severity).min()
    }

    /// The RTP streams it owns (its evidence may also hold streams of a later call on the same
    /// ports), by first frame.
    pub fn own_streams(&self) -> impl Iterator<Item = &Stream> {
        self.evidence
            .streams
            .iter()
            .filter(move |s| s.call == Some(self.index))
    }
}

/// Something other than a call with its findings, in the same shape as a call's (primary first): a
/// transaction, a registration binding, a peer pair.
#[derive(Clone, Debug, PartialEq)]
pub struct Diagnosed<T> {
    pub item: T,
    pub findings: Vec<Finding>,
}

impl<T> std::ops::Deref for Diagnosed<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.item
    }
}

impl<T> Diagnosed<T> {
    /// The severity of its worst finding.
    pub fn worst(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).min()
    }
}

impl<T: Sink + ?Sized> Sink for &mut T {
    fn call(&mut self, call: &DiagnosedCall) {
        (**self).call(call);
    }
    fn other(&mut self, dialog: &OtherDialog) {
        (**self).other(dialog);
    }
    fn stream(&mut self, stream: &Stream) {
        (**self).stream(stream);
    }
    fn connection(&mut self, conn: &Connection) {
        (**self).connection(conn);
    }
    fn transport_event(&mut self, event: &TransportEvent) {
        (**self).transport_event(event);
    }
    fn transaction(&mut self, tx: &Diagnosed<Transaction>) {
        (**self).transaction(tx);
    }
    fn registration(&mut self, reg: &Diagnosed<Registration>) {
        (**self).registration(reg);
    }
    fn peer(&mut self, peer: &Diagnosed<Peer>) {
        (**self).peer(peer);
    }
    fn dns_failure(&mut self, lookup: &Diagnosed<Lookup>) {
        (**self).dns_failure(lookup);
    }
}

/// Receives finished, diagnosed things in the order the capture finished them. What is not a call
/// (transactions, registrations, peers) has default methods that ignore it, for sinks that
/// only want calls.
pub trait Sink {
    fn call(&mut self, call: &DiagnosedCall);
    fn other(&mut self, dialog: &OtherDialog);
    fn stream(&mut self, stream: &Stream);
    /// A connection the engine let go (its state final).
    fn connection(&mut self, conn: &Connection);
    fn transport_event(&mut self, event: &TransportEvent);
    /// A finished transaction of a method reported as itself (`correlate::transactions::listed`).
    fn transaction(&mut self, _tx: &Diagnosed<Transaction>) {}
    /// A registration binding that is over.
    fn registration(&mut self, _reg: &Diagnosed<Registration>) {}
    /// A row of the SIP peer table, once its pair went quiet (or its room was needed, or the capture
    /// ended): in no particular order, so a report lists them by `first_frame`.
    fn peer(&mut self, _peer: &Diagnosed<Peer>) {}
    /// A DNS lookup that failed and explained no call (`dns.failed`).
    fn dns_failure(&mut self, _lookup: &Diagnosed<Lookup>) {}
}

/// One thing finished for a [`Sink`], owned: a variant per sink method, and the ICMP errors the
/// pipeline hands on as it sees them (undiagnosed, but in order with the rest).
#[derive(Clone, Debug, PartialEq)]
pub enum Finished {
    Call(DiagnosedCall),
    /// A call whose evidence holds no connection, ICMP group or DNS lookup: its diagnosis can tie
    /// none to it, so the engine need not wait for it, and it is diagnosed where it is delivered
    /// ([`Delivery::diagnose`]) — off the fold's thread, which is the run's critical path.
    Undiagnosed(FinishedCall),
    Other(OtherDialog),
    Stream(Stream),
    Connection(Connection),
    TransportEvent(TransportEvent),
    Transaction(Diagnosed<Transaction>),
    Registration(Diagnosed<Registration>),
    Peer(Diagnosed<Peer>),
    DnsFailure(Diagnosed<Lookup>),
    IcmpError(IcmpError),
}

/// Diagnoses what the engine finishes and gathers it, in the order it was finished.
#[derive(Default)]
pub struct Diagnoser {
    /// What was finished since it was last taken.
    finished: Vec<Finished>,
    /// The events of claimed connections, as the first call that claimed each worded it, until the
    /// engine lets the connection go (by client, server, first frame).
    claimed: FxHashMap<(SocketAddr, SocketAddr, u64), TransportEvent>,
    /// The claimed ICMP groups (by first frame): whether every call that claimed one so far took it
    /// only for the normal consequence of its start or end.
    ending_icmp: FxHashMap<u64, bool>,
    /// The failovers of the calls so far, grouped for the patterns across calls.
    patterns: Patterns,
}

impl Diagnoser {
    /// The failovers of the calls it diagnosed; with those of the calls it left undiagnosed
    /// ([`Delivery::patterns`]), the causes several calls share.
    pub fn take_patterns(&mut self) -> Patterns {
        std::mem::take(&mut self.patterns)
    }

    /// How many items are gathered and not taken yet.
    pub fn gathered(&self) -> usize {
        self.finished.len()
    }

    /// What was finished since the last call, in order. What gathers next starts with room for as
    /// many (items are large, and the end of a capture hands on batch after full batch: regrowing
    /// each from empty copied every item several times).
    pub fn take(&mut self) -> Vec<Finished> {
        let room = Vec::with_capacity(self.finished.len());
        std::mem::replace(&mut self.finished, room)
    }

    /// Gathers an ICMP error as it is seen (it needs no diagnosis), in order with the rest.
    pub fn icmp_error(&mut self, error: IcmpError) {
        self.finished.push(Finished::IcmpError(error));
    }
}

fn keep<T>(items: Vec<T>, keep: &[bool]) -> Vec<T> {
    items
        .into_iter()
        .zip(keep.iter().copied().chain(std::iter::repeat(false)))
        .filter_map(|(item, k)| k.then_some(item))
        .collect()
}

/// Builds the diagnosed call from its diagnosis: its failover counted, its evidence reduced to
/// what the diagnosis showed.
fn diagnosed(fc: FinishedCall, d: super::CallDiagnosis, patterns: &mut Patterns) -> DiagnosedCall {
    if let Some(f) = &d.failover {
        patterns.add(fc.index, f);
    }
    let mut evidence = fc.evidence;
    evidence.connections = keep(evidence.connections, &d.shown.connections);
    evidence.icmp = keep(evidence.icmp, &d.shown.icmp);
    DiagnosedCall {
        index: fc.index,
        call: fc.call,
        findings: d.findings,
        evidence,
    }
}

/// Where what the [`Diagnoser`] gathered is delivered to a sink (the render thread, a live
/// capture's caller, a test): it diagnoses the calls the diagnoser left undiagnosed, and keeps
/// their failovers for the run's patterns.
#[derive(Default)]
pub struct Delivery {
    patterns: Patterns,
}

impl Delivery {
    /// Diagnoses a call the diagnoser left undiagnosed ([`Finished::Undiagnosed`]).
    pub fn diagnose(&mut self, fc: FinishedCall) -> DiagnosedCall {
        let d = super::call(&fc);
        debug_assert_eq!(d.claimed, Tied::default(), "no candidate to tie");
        diagnosed(fc, d, &mut self.patterns)
    }

    /// The causes several calls share: those of the calls diagnosed here and of the diagnoser's
    /// ([`Diagnoser::take_patterns`]).
    pub fn patterns(self, diagnoser: Patterns) -> Vec<Pattern> {
        let mut all = self.patterns;
        all.merge(diagnoser);
        all.finish()
    }
}

impl Finisher for Diagnoser {
    fn call(&mut self, fc: FinishedCall) -> Tied {
        let ev = &fc.evidence;
        if ev.connections.is_empty() && ev.icmp.is_empty() && ev.dns.is_empty() {
            self.finished.push(Finished::Undiagnosed(fc));
            return Tied::default();
        }
        let mut d = super::call(&fc);
        for (c, event) in fc.evidence.connections.iter().zip(&d.connection_events) {
            if let Some(event) = event {
                self.claimed
                    .entry((c.client, c.server, c.first_frame))
                    .or_insert_with(|| event.clone());
            }
        }
        for ((g, &claimed), &ending) in fc
            .evidence
            .icmp
            .iter()
            .zip(&d.claimed.icmp)
            .zip(&d.ending_icmp)
        {
            if claimed {
                self.ending_icmp
                    .entry(g.first().frame)
                    .and_modify(|only| *only &= ending)
                    .or_insert(ending);
            }
        }
        let claimed = std::mem::take(&mut d.claimed);
        let call = diagnosed(fc, d, &mut self.patterns);
        self.finished.push(Finished::Call(call));
        claimed
    }

    fn transaction(&mut self, tx: Transaction) {
        let findings = super::rules::transaction_findings(&tx);
        let tx = Diagnosed { item: tx, findings };
        self.finished.push(Finished::Transaction(tx));
    }

    fn registration(&mut self, reg: Registration) {
        let findings = super::rules::sip_registration_failed::check(&reg);
        let reg = Diagnosed {
            item: reg,
            findings,
        };
        self.finished.push(Finished::Registration(reg));
    }

    fn peer(&mut self, peer: Peer) {
        let findings = super::rules::sip_keepalive_failed::check(&peer)
            .into_iter()
            .collect();
        self.finished.push(Finished::Peer(Diagnosed {
            item: peer,
            findings,
        }));
    }

    fn dns(&mut self, released: Released<Lookup>) {
        if !released.calls.is_empty() {
            return;
        }
        if let Some(finding) = super::rules::dns_failed::unlinked(&released.item) {
            let lookup = Diagnosed {
                item: released.item,
                findings: vec![finding],
            };
            self.finished.push(Finished::DnsFailure(lookup));
        }
    }

    fn other(&mut self, dialog: OtherDialog) {
        self.finished.push(Finished::Other(dialog));
    }

    fn stream(&mut self, stream: Stream) {
        self.finished.push(Finished::Stream(stream));
    }

    fn connection(&mut self, released: Released<Connection>, sip_port: bool) {
        let c = &released.item;
        let event = match self.claimed.remove(&(c.client, c.server, c.first_frame)) {
            Some(mut event) => {
                event.calls = released.calls.clone();
                Some(event)
            }
            None => super::connection_event(c, &released.calls, sip_port),
        };
        if let Some(event) = event {
            self.finished.push(Finished::TransportEvent(event));
        }
        self.finished.push(Finished::Connection(released.item));
    }

    fn icmp(&mut self, released: Released<IcmpGroup>, sip_port: bool) {
        let ending = self.ending_icmp.remove(&released.item.first().frame) == Some(true);
        if let Some(event) = super::icmp_event(&released.item, &released.calls, ending, sip_port) {
            self.finished.push(Finished::TransportEvent(event));
        }
    }
}
