//! The health of each SIP peer pair: what one host sent to one SIP endpoint, how it was answered, and
//! the connection attempts and ICMP errors between them.
//!
//! Takes the finished non-INVITE transactions, the INVITEs of each finished call (per hop), the
//! connections and ICMP groups the engine lets go; keeps one row per (client host, server endpoint),
//! summed in O(1) per event; hands the rows out when the capture ends. The table is capture-wide but
//! small by nature (one row per pair of SIP peers, at most [`Limits::pairs`]); rows hold counts and a
//! few example frames, never messages. OPTIONS are keep-alives (RFC 3261 §11: how a Lync/SfB pool, an
//! SBC or a dispatcher decides a next hop is up), and so are failed connection attempts no call
//! claimed: a sender opening a connection to ping its peer, and the RFC 5626 flow keep-alives: a
//! double-CRLF ping on a SIP connection answered by a single CRLF (§4.4.1), a STUN Binding request on a
//! SIP UDP flow answered by its response (§4.4.2). A ping is unanswered when the next ping on its flow
//! comes first, or when [`PONG_WAIT_NS`] pass without an answer (§4.4.1: 10 s); one still waiting when
//! the capture ends is not counted.

use std::net::{IpAddr, SocketAddr};

use rustc_hash::FxHashMap;

use super::calls::Call;
use super::message::{Method, Transport};
use super::transactions::Transaction;
use super::transport::{At, ConnState, Connection, IcmpGroup};
use crate::proto::sip::StatusCode;

/// Methods counted separately per pair (more share the last entry's name).
const MAX_METHODS: usize = 16;
/// Example frames kept per pair.
const MAX_FRAMES: usize = 16;
/// How long a flow keep-alive may wait for its pong (RFC 5626 §4.4.1: 10 seconds).
pub const PONG_WAIT_NS: i64 = 10_000_000_000;

/// The two kinds of RFC 5626 flow keep-alive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Ping {
    /// A double CRLF on a SIP connection (TCP or TLS), answered by a single CRLF (§4.4.1).
    Crlf,
    /// A STUN Binding request on a SIP UDP flow, answered by a Binding response (§4.4.2).
    Stun,
}

/// Flow keep-alives of one kind on a pair: sent, and answered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pings {
    pub sent: u32,
    pub answered: u32,
}

/// Bounds on the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Peer pairs with a row; events of further pairs are counted, not kept.
    pub pairs: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { pairs: 65_536 }
    }
}

/// The transports a pair's SIP and connections used, in one byte.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Transports(u8);

impl Transports {
    fn bit(t: Transport) -> u8 {
        1 << t as u8
    }

    pub fn insert(&mut self, t: Transport) {
        self.0 |= Self::bit(t);
    }

    /// The transports in the set, ascending (`udp`, `tcp`, `tls`).
    pub fn iter(self) -> impl Iterator<Item = Transport> {
        [Transport::Udp, Transport::Tcp, Transport::Tls]
            .into_iter()
            .filter(move |&t| self.0 & Self::bit(t) != 0)
    }
}

/// The requests of one method from the client to the server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MethodCounts {
    pub method: Method,
    /// Transactions (a request and its retransmissions count once).
    pub sent: u32,
    /// Answered by a 2xx.
    pub ok: u32,
    /// Answered by a final 3xx–6xx.
    pub rejected: u32,
    /// No final response (Timer F or B ran out).
    pub unanswered: u32,
    /// The latest final response's status.
    pub last_status: Option<StatusCode>,
}

/// How a keep-alive probe ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Probe {
    /// Answered, and not by an error.
    Ok,
    /// Answered with an error (5xx, 6xx, 408, 480: the peer or what is behind it is not serving).
    Error(StatusCode),
    /// Never answered.
    Unanswered,
    /// A double-CRLF ping with no CRLF pong (RFC 5626 §4.4.1).
    NoPong,
    /// A STUN Binding request on the SIP flow with no response (RFC 5626 §4.4.2).
    StunUnanswered,
    /// The connection for it was refused (RST to the SYN, ICMP).
    Refused,
    /// The connection for it never opened (SYNs with no SYN-ACK).
    NoSynAck,
}

impl Probe {
    /// The name reports use.
    pub fn as_str(self) -> &'static str {
        match self {
            Probe::Ok => "ok",
            Probe::Error(_) => "error_response",
            Probe::Unanswered => "unanswered",
            Probe::NoPong => "no_pong",
            Probe::StunUnanswered => "stun_unanswered",
            Probe::Refused => "refused",
            Probe::NoSynAck => "no_syn_ack",
        }
    }

    /// The status of an error response.
    pub fn status(self) -> Option<StatusCode> {
        match self {
            Probe::Error(s) => Some(s),
            _ => None,
        }
    }

    pub fn failed(self) -> bool {
        self != Probe::Ok
    }
}

/// A run of keep-alive failures of the same kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbeFailures {
    pub probe: Probe,
    pub count: u32,
    pub first: At,
    pub last: At,
    pub frames: Vec<u64>,
}

/// The keep-alives of a pair. Probes end out of order (an unanswered one ends at Timer F, after later
/// ones were answered), so "in a row" and "last" go by when each probe began.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeepAlive {
    /// Probes in all (OPTIONS transactions, connection attempts no call claimed, flow keep-alives).
    pub probes: u32,
    /// The CRLF pings among them.
    pub crlf: Pings,
    /// The STUN pings among them.
    pub stun: Pings,
    pub failed: u32,
    /// Failed probes begun after the last one answered, and the most there were.
    pub consecutive: u32,
    pub max_consecutive: u32,
    /// The failures by kind, in order of first occurrence.
    pub failures: Vec<ProbeFailures>,
    /// The latest probe answered.
    pub last_ok: Option<At>,
    /// The latest probe begun, and how it ended.
    pub last: Option<(At, Probe)>,
    /// When the failed probes begun after `last_ok` began (at most [`MAX_FRAMES`] kept).
    since_ok: Vec<i64>,
}

/// The keep-alives of a pair that had none.
static NO_KEEPALIVE: KeepAlive = KeepAlive {
    probes: 0,
    crlf: Pings {
        sent: 0,
        answered: 0,
    },
    stun: Pings {
        sent: 0,
        answered: 0,
    },
    failed: 0,
    consecutive: 0,
    max_consecutive: 0,
    failures: Vec::new(),
    last_ok: None,
    last: None,
    since_ok: Vec::new(),
};

impl KeepAlive {
    /// Whether the latest probe failed: the peer is down for its sender.
    pub fn down(&self) -> bool {
        self.last.is_some_and(|(_, p)| p.failed())
    }
}

/// One peer pair; see the module doc.
#[derive(Clone, Debug, PartialEq)]
pub struct Peer {
    pub client: IpAddr,
    pub server: SocketAddr,
    /// The transports its SIP and connections used.
    pub transports: Transports,
    pub methods: Vec<MethodCounts>,
    /// Connections the server never answered (SYNs only), refused (RST), and ICMP errors the client's
    /// SIP to the server drew.
    pub syn_unanswered: u32,
    pub refused: u32,
    pub icmp: u32,
    /// Boxed, and only for a pair that had keep-alives: most pairs of a busy trunk only make calls.
    keepalive: Option<Box<KeepAlive>>,
    pub first_ts_ns: i64,
    pub last_ts_ns: i64,
    /// The first and latest failure of any kind (unanswered, error response, refused connection).
    pub first_failure: Option<At>,
    pub last_failure: Option<At>,
    /// The transport evidence: the SYN, RST and ICMP frames of the first failed connections.
    pub transport_frames: Vec<u64>,
}

impl Peer {
    fn new(client: IpAddr, server: SocketAddr, ts: i64) -> Peer {
        Peer {
            client,
            server,
            transports: Transports::default(),
            methods: Vec::new(),
            syn_unanswered: 0,
            refused: 0,
            icmp: 0,
            keepalive: None,
            first_ts_ns: ts,
            last_ts_ns: ts,
            first_failure: None,
            last_failure: None,
            transport_frames: Vec::new(),
        }
    }

    /// Its keep-alives (none counted when it had none).
    pub fn keepalive(&self) -> &KeepAlive {
        self.keepalive.as_deref().unwrap_or(&NO_KEEPALIVE)
    }

    fn seen(&mut self, ts: i64, transport: Transport) {
        self.first_ts_ns = self.first_ts_ns.min(ts);
        self.last_ts_ns = self.last_ts_ns.max(ts);
        self.transports.insert(transport);
    }

    fn failure(&mut self, at: At) {
        self.first_failure = Some(self.first_failure.map_or(at, |f| f.min(at)));
        self.last_failure = Some(self.last_failure.map_or(at, |f| f.max(at)));
    }

    fn method(&mut self, method: &Method) -> &mut MethodCounts {
        let i = match self.methods.iter().position(|m| m.method == *method) {
            Some(i) => i,
            None if self.methods.len() < MAX_METHODS => {
                self.methods.push(MethodCounts {
                    method: method.clone(),
                    sent: 0,
                    ok: 0,
                    rejected: 0,
                    unanswered: 0,
                    last_status: None,
                });
                self.methods.len() - 1
            }
            None => self.methods.len() - 1,
        };
        &mut self.methods[i]
    }

    fn count(&mut self, method: &Method, status: Option<StatusCode>) {
        let m = self.method(method);
        m.sent += 1;
        match status {
            Some(s) if s.is_success() => m.ok += 1,
            Some(_) => m.rejected += 1,
            None => m.unanswered += 1,
        }
        if status.is_some() {
            m.last_status = status;
        }
    }

    fn probe(&mut self, probe: Probe, at: At, frames: &[u64]) {
        let k = self.keepalive.get_or_insert_default();
        k.probes += 1;
        if k.last.is_none_or(|(l, _)| at.ts_ns >= l.ts_ns) {
            k.last = Some((at, probe));
        }
        let after_ok = k.last_ok.is_none_or(|ok| at.ts_ns > ok.ts_ns);
        if !probe.failed() {
            if after_ok {
                k.last_ok = Some(at);
                k.since_ok.retain(|&t| t > at.ts_ns);
                k.consecutive = u32::try_from(k.since_ok.len()).unwrap_or(u32::MAX);
            }
            return;
        }
        k.failed += 1;
        if after_ok {
            k.consecutive += 1;
            if k.since_ok.len() < MAX_FRAMES {
                k.since_ok.push(at.ts_ns);
            }
            k.max_consecutive = k.max_consecutive.max(k.consecutive);
        }
        let run = match k.failures.iter_mut().position(|f| f.probe == probe) {
            Some(i) => &mut k.failures[i],
            None => {
                k.failures.push(ProbeFailures {
                    probe,
                    count: 0,
                    first: at,
                    last: at,
                    frames: Vec::new(),
                });
                k.failures.last_mut().expect("just pushed")
            }
        };
        run.count += 1;
        run.first = run.first.min(at);
        run.last = run.last.max(at);
        for &f in frames {
            if run.frames.len() < MAX_FRAMES {
                run.frames.push(f);
            }
        }
        self.failure(at);
    }

    fn evidence(&mut self, frames: impl IntoIterator<Item = u64>) {
        for f in frames {
            if self.transport_frames.len() < MAX_FRAMES {
                self.transport_frames.push(f);
            }
        }
    }
}

/// How an answered keep-alive went: an error status says the peer is not serving.
fn probe_of(status: Option<StatusCode>) -> Probe {
    match status {
        None => Probe::Unanswered,
        Some(s) if s.0 >= 500 && s.0 != 501 => Probe::Error(s),
        Some(s) if matches!(s.0, 408 | 480) => Probe::Error(s),
        Some(_) => Probe::Ok,
    }
}

/// The table of peer pairs; see the module doc.
#[derive(Default)]
pub struct Table {
    limits: Limits,
    rows: FxHashMap<(IpAddr, SocketAddr), Peer>,
    /// Per flow (client, server), the keep-alive ping waiting for its pong (at most one per flow and
    /// kind, at most [`Limits::pairs`] flows).
    pending: FxHashMap<(SocketAddr, SocketAddr, Ping), (At, Transport)>,
    /// Events of pairs beyond [`Limits::pairs`].
    pub untracked: u64,
}

impl Table {
    pub fn new(limits: Limits) -> Table {
        Table {
            limits,
            ..Table::default()
        }
    }

    fn row(&mut self, client: IpAddr, server: SocketAddr, ts: i64) -> Option<&mut Peer> {
        let full = self.rows.len() >= self.limits.pairs;
        if full && !self.rows.contains_key(&(client, server)) {
            self.untracked += 1;
            return None;
        }
        Some(
            self.rows
                .entry((client, server))
                .or_insert_with(|| Peer::new(client, server, ts)),
        )
    }

    /// A finished non-INVITE transaction.
    pub fn transaction(&mut self, tx: &Transaction) {
        if tx.open_at_end && !tx.unanswered() {
            return;
        }
        let Some(row) = self.row(tx.client.ip(), tx.server, tx.start_ts()) else {
            return;
        };
        let status = tx.status();
        row.seen(tx.start_ts(), tx.transport);
        row.count(&tx.method, status);
        let at = At {
            frame: tx.request.frame,
            ts_ns: tx.request.ts_ns,
        };
        if tx.method == Method::Options {
            row.probe(probe_of(status), at, &tx.frames());
        } else if status.is_none() || status.is_some_and(|s| s.0 >= 500) {
            row.failure(at);
        }
    }

    /// The initial INVITEs of a finished call, per hop: answered when the hop's destination sent any
    /// response back.
    pub fn call(&mut self, call: &Call) {
        let msgs = || call.messages.iter().map(|s| &*s.msg);
        let mut hops: Vec<(SocketAddr, SocketAddr, i64, u64, Transport)> = Vec::new();
        for m in msgs() {
            if m.method() == Some(&Method::Invite)
                && m.to_tag.is_none()
                && !hops.iter().any(|h| (h.0, h.1) == (m.src, m.dst))
            {
                hops.push((m.src, m.dst, m.ts_ns, m.frame, m.transport));
            }
        }
        for (src, dst, ts, frame, transport) in hops {
            let last = msgs()
                .filter(|r| {
                    r.src == dst
                        && r.dst.ip() == src.ip()
                        && r.cseq_method() == Some(&Method::Invite)
                        && r.status().is_some_and(StatusCode::is_final)
                })
                .filter_map(|r| r.status())
                .next_back();
            let answered = msgs().any(|r| {
                r.src == dst && r.dst.ip() == src.ip() && r.cseq_method() == Some(&Method::Invite)
            });
            let Some(row) = self.row(src.ip(), dst, ts) else {
                continue;
            };
            row.seen(ts, transport);
            let m = row.method(&Method::Invite);
            m.sent += 1;
            match last {
                Some(s) if s.is_success() => m.ok += 1,
                Some(_) => m.rejected += 1,
                None if answered => {}
                None => m.unanswered += 1,
            }
            if last.is_some() {
                m.last_status = last;
            }
            if !answered {
                row.failure(At { frame, ts_ns: ts });
            }
        }
    }

    /// A connection the engine let go; `claimed`: some call's diagnosis tied it to itself; `sip_port`:
    /// one of its ports carried SIP in this capture.
    pub fn connection(&mut self, conn: &Connection, claimed: bool, sip_port: bool) {
        let failed = match conn.state {
            ConnState::S0 | ConnState::Rstos0 | ConnState::Sh => Probe::NoSynAck,
            ConnState::Rej => Probe::Refused,
            _ => Probe::Ok,
        };
        if !(conn.sip || (sip_port && failed.failed())) {
            return;
        }
        let transport = if conn.tls.is_some() || conn.server.port() == 5061 {
            Transport::Tls
        } else {
            Transport::Tcp
        };
        let Some(row) = self.row(conn.client.ip(), conn.server, conn.first_ts_ns) else {
            return;
        };
        row.seen(conn.first_ts_ns, transport);
        let first = conn.syns.first().map_or(
            At {
                frame: conn.first_frame,
                ts_ns: conn.first_ts_ns,
            },
            |s| *s,
        );
        match failed {
            Probe::NoSynAck => row.syn_unanswered += 1,
            Probe::Refused => row.refused += 1,
            _ => return,
        }
        let frames = conn.evidence_frames();
        row.evidence(frames.iter().copied());
        if claimed {
            row.failure(first);
        } else {
            row.probe(failed, first, &frames);
        }
    }

    /// A group of ICMP errors the engine let go, when it quoted SIP.
    pub fn icmp(&mut self, group: &IcmpGroup) {
        if !group.quoted_sip() {
            return;
        }
        let (e, last) = (group.first(), &group.last);
        let Some(row) = self.row(e.src.ip(), e.dst, e.ts_ns) else {
            return;
        };
        row.seen(e.ts_ns, Transport::Udp);
        row.seen(last.ts_ns, Transport::Udp);
        row.icmp = row
            .icmp
            .saturating_add(u32::try_from(group.count).unwrap_or(u32::MAX));
        row.evidence(group.kept().map(|x| x.frame));
        // The group's failures run from its first error to its last.
        for x in [e, last] {
            row.failure(At {
                frame: x.frame,
                ts_ns: x.ts_ns,
            });
        }
    }

    /// A flow keep-alive ping from `src` to the SIP endpoint `dst`; the one before it on that flow,
    /// still unanswered, failed.
    pub fn ping(
        &mut self,
        kind: Ping,
        transport: Transport,
        src: SocketAddr,
        dst: SocketAddr,
        at: At,
    ) {
        if let Some(before) = self.pending.remove(&(src, dst, kind)) {
            self.ping_done(kind, src, dst, before, false);
        }
        if self.pending.len() >= self.limits.pairs {
            self.untracked += 1;
            return;
        }
        self.pending.insert((src, dst, kind), (at, transport));
    }

    /// A keep-alive answer from `src` back to `dst`: the pong of `dst`'s pending ping to `src`, if any
    /// (a stray CRLF or STUN response is nothing).
    pub fn pong(&mut self, kind: Ping, src: SocketAddr, dst: SocketAddr, ts_ns: i64) {
        if let Some(ping) = self.pending.remove(&(dst, src, kind)) {
            let answered = ts_ns.saturating_sub(ping.0.ts_ns) <= PONG_WAIT_NS;
            self.ping_done(kind, dst, src, ping, answered);
        }
    }

    fn ping_done(
        &mut self,
        kind: Ping,
        client: SocketAddr,
        server: SocketAddr,
        (at, transport): (At, Transport),
        ok: bool,
    ) {
        let Some(row) = self.row(client.ip(), server, at.ts_ns) else {
            return;
        };
        row.seen(at.ts_ns, transport);
        let k = row.keepalive.get_or_insert_default();
        let (counts, failed) = match kind {
            Ping::Crlf => (&mut k.crlf, Probe::NoPong),
            Ping::Stun => (&mut k.stun, Probe::StunUnanswered),
        };
        counts.sent += 1;
        counts.answered += u32::from(ok);
        row.probe(if ok { Probe::Ok } else { failed }, at, &[at.frame]);
    }

    /// The capture ended at `now`: a ping still waiting failed if it waited [`PONG_WAIT_NS`] already,
    /// else is not counted.
    pub fn end_pings(&mut self, now: i64) {
        let mut left: Vec<_> = self.pending.drain().collect();
        left.sort_unstable_by_key(|&(_, (at, _))| at);
        for ((client, server, kind), ping) in left {
            if now.saturating_sub(ping.0.ts_ns) > PONG_WAIT_NS {
                self.ping_done(kind, client, server, ping, false);
            }
        }
    }

    /// Every row, by client then server.
    pub fn drain(&mut self) -> Vec<Peer> {
        let mut rows: Vec<Peer> = std::mem::take(&mut self.rows).into_values().collect();
        rows.sort_by_key(|p| (p.client, p.server));
        rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_is_compact() {
        // Measured: 192 bytes on 64-bit targets (328 with the keep-alives inline, the method names as
        // strings and the transports as a vector); the keep-alives, 128 bytes, are boxed apart and
        // only for a pair that had some.
        assert!(
            std::mem::size_of::<Peer>() <= 200,
            "{}",
            std::mem::size_of::<Peer>()
        );
        assert_eq!(std::mem::size_of::<Transports>(), 1);
    }
}
