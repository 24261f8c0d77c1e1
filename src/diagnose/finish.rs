//! What the engine finishes, diagnosed and handed on to a [`Sink`].
//!
//! The engine (`correlate::engine`) may not use the rules, so it hands each finished call to a
//! [`Diagnoser`]: the call is diagnosed, its evidence reduced to what the diagnosis showed belongs to
//! it, and the result passed to the sink (a collector, or a report written as calls finish). Each
//! connection or ICMP group the engine lets go becomes a transport event when it failed, with the
//! calls it explained.

use std::net::SocketAddr;

use rustc_hash::FxHashMap;

use super::{Failover, Finding, TransportEvent};
use crate::correlate::calls::{Call, OtherDialog};
use crate::correlate::engine::{Evidence, FinishedCall, Finisher, Tied};
use crate::correlate::media::Stream;
use crate::correlate::transport::{Connection, IcmpGroup, Released};

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
    /// The failover it went through, if any (for the patterns across calls).
    pub failover: Option<Failover>,
}

/// Receives finished, diagnosed things in the order the capture finished them.
pub trait Sink {
    fn call(&mut self, call: DiagnosedCall);
    fn other(&mut self, dialog: OtherDialog);
    fn stream(&mut self, stream: Stream);
    /// A connection the engine let go (its state final).
    fn connection(&mut self, conn: Connection);
    fn transport_event(&mut self, event: TransportEvent);
}

/// Diagnoses what the engine finishes and passes it to a sink.
pub struct Diagnoser<S> {
    sink: S,
    /// The events of claimed connections, as the first call that claimed each worded it, until the
    /// engine lets the connection go (by client, server, first frame).
    claimed: FxHashMap<(SocketAddr, SocketAddr, u64), TransportEvent>,
}

impl<S: Sink> Diagnoser<S> {
    pub fn new(sink: S) -> Diagnoser<S> {
        Diagnoser {
            sink,
            claimed: FxHashMap::default(),
        }
    }

    /// The sink, to finish it once the engine has finished everything.
    pub fn into_sink(self) -> S {
        self.sink
    }
}

fn keep<T>(items: Vec<T>, keep: &[bool]) -> Vec<T> {
    items
        .into_iter()
        .zip(keep.iter().copied().chain(std::iter::repeat(false)))
        .filter_map(|(item, k)| k.then_some(item))
        .collect()
}

impl<S: Sink> Finisher for Diagnoser<S> {
    fn call(&mut self, fc: FinishedCall) -> Tied {
        let d = super::call(&fc);
        for (c, event) in fc.evidence.connections.iter().zip(&d.connection_events) {
            if let Some(event) = event {
                self.claimed
                    .entry((c.client, c.server, c.first_frame))
                    .or_insert_with(|| event.clone());
            }
        }
        let mut evidence = fc.evidence;
        evidence.connections = keep(evidence.connections, &d.shown.connections);
        evidence.icmp = keep(evidence.icmp, &d.shown.icmp);
        self.sink.call(DiagnosedCall {
            index: fc.index,
            call: fc.call,
            findings: d.findings,
            evidence,
            failover: d.failover,
        });
        d.claimed
    }

    fn other(&mut self, dialog: OtherDialog) {
        self.sink.other(dialog);
    }

    fn stream(&mut self, stream: Stream) {
        self.sink.stream(stream);
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
            self.sink.transport_event(event);
        }
        self.sink.connection(released.item);
    }

    fn icmp(&mut self, released: Released<IcmpGroup>, sip_port: bool) {
        if let Some(event) = super::icmp_event(&released.item, &released.calls, sip_port) {
            self.sink.transport_event(event);
        }
    }
}
