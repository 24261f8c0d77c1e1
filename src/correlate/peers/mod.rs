//! The health of each SIP peer pair: what one host sent to one SIP endpoint, how it was answered, and
//! the connection attempts and ICMP errors between them.
//!
//! Takes the finished non-INVITE transactions, the INVITEs of each finished call (per hop), the
//! connections and ICMP groups the engine lets go, and the RFC 5626 flow keep-alives as they pass;
//! keeps one row per (client host, server endpoint), summed in O(1) per event; rows hold counts and a
//! few example frames, never messages. A row is handed out once its pair has been quiet for
//! [`PAIR_IDLE_NS`] of capture clock (a later event of the pair starts a new row), or early, least
//! recently active first, to make room when [`Limits::pairs`] rows are held (counted); the rest when
//! the capture ends. So the table holds the pairs active in the last two minutes, not every pair of
//! the capture.
//!
//! OPTIONS are keep-alives (RFC 3261 §11: how a Lync/SfB pool, an SBC or a dispatcher decides a next
//! hop is up), and so are failed connection attempts no call claimed: a sender opening a connection to
//! ping its peer, and the RFC 5626 flow keep-alives: a double-CRLF ping on a SIP connection answered by
//! a single CRLF (§4.4.1), a STUN Binding request on a SIP UDP flow answered by its response (§4.4.2).
//! A ping is unanswered when the next ping on its flow comes first, or when [`PONG_WAIT_NS`] pass
//! without an answer (§4.4.1: 10 s); one still waiting when the capture ends is not counted. Pings
//! waiting for their pong are bounded apart ([`Limits::pings`], further ones counted).

mod pair;
mod rows;

use std::net::{IpAddr, SocketAddr};

use self::pair::Pair;
use self::rows::{Keyed, Rows};
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
/// How long a pair may be quiet (no event of it reached the table, capture clock) before its row is
/// handed out: longer than a keep-alive interval (OPTIONS every 30–60 s, CRLF pings every 30 s or
/// so), so a pair that keeps pinging stays one row.
pub const PAIR_IDLE_NS: i64 = 120_000_000_000;

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
    /// Rows held at once (at least one); a row for a new pair beyond them makes room by handing out
    /// the least recently active row early (counted).
    pub pairs: usize,
    /// Keep-alive pings waiting for their pong at once; further pings are counted, not followed.
    pub pings: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            pairs: 65_536,
            pings: 65_536,
        }
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
    pub counts: Counts,
}

/// A method's transactions and how they ended.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
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

impl Counts {
    /// One more transaction, with its final status (none: it went unanswered).
    fn add(&mut self, status: Option<StatusCode>) {
        self.sent += 1;
        match status {
            Some(s) if s.is_success() => self.ok += 1,
            Some(_) => self.rejected += 1,
            None => self.unanswered += 1,
        }
        if status.is_some() {
            self.last_status = status;
        }
    }
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

/// One peer pair (one row of the table; see the module doc).
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
    /// The earliest frame of its events: the reports list rows by it (a frame belongs to one pair, so
    /// no two rows share it).
    pub first_frame: u64,
    /// The first and latest failure of any kind (unanswered, error response, refused connection).
    pub first_failure: Option<At>,
    pub last_failure: Option<At>,
    /// The transport evidence: the SYN, RST and ICMP frames of the first failed connections.
    pub transport_frames: Vec<u64>,
}

impl Peer {
    /// Its keep-alives (none counted when it had none).
    pub fn keepalive(&self) -> &KeepAlive {
        self.keepalive.as_deref().unwrap_or(&NO_KEEPALIVE)
    }
}

impl Keyed for Pair {
    type Key = (IpAddr, SocketAddr);
    fn key(&self) -> Self::Key {
        Pair::key(self)
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

/// A flow keep-alive ping waiting for its pong.
struct Pending {
    client: SocketAddr,
    server: SocketAddr,
    kind: Ping,
    at: At,
    transport: Transport,
}

impl Keyed for Pending {
    type Key = (SocketAddr, SocketAddr, Ping);
    fn key(&self) -> Self::Key {
        (self.client, self.server, self.kind)
    }
}

/// The table of peer pairs; see the module doc.
pub struct Table {
    limits: Limits,
    /// The rows, least recently active first.
    rows: Rows<Pair>,
    /// Per flow (client, server) and kind, the keep-alive ping waiting for its pong, oldest first.
    pings: Rows<Pending>,
    /// Rows handed out early to make room, until the engine takes them.
    evicted: Vec<Pair>,
    /// The capture clock: events reaching the table now make their row active at it.
    now: i64,
    /// Rows handed out before their pair was idle, to make room for another.
    pub early_rows: u64,
    /// Pings not followed: [`Limits::pings`] were waiting already.
    pub untracked_pings: u64,
}

impl Table {
    pub fn new(limits: Limits) -> Table {
        Table {
            limits,
            rows: Rows::default(),
            pings: Rows::default(),
            evicted: Vec::new(),
            now: i64::MIN,
            early_rows: 0,
            untracked_pings: 0,
        }
    }

    /// Moves the clock to `now`: the pings that waited [`PONG_WAIT_NS`] for their pong failed.
    pub fn tick(&mut self, now: i64) {
        self.now = self.now.max(now);
        while let Some((ping, _)) = self.pings.oldest() {
            if self.now.saturating_sub(ping.at.ts_ns) <= PONG_WAIT_NS {
                break;
            }
            if let Some(ping) = self.pings.pop_oldest() {
                self.ping_done(ping, false);
            }
        }
    }

    /// A row handed out early to make room, if any (they go out even while the clock stands still).
    pub fn evicted(&mut self) -> Option<Peer> {
        self.evicted.pop().map(Pair::into_peer)
    }

    /// The next row to hand out: one handed out early, else the least recently active row once its
    /// pair has been quiet for [`PAIR_IDLE_NS`]. A ping touches its pair's row and waits at most
    /// [`PONG_WAIT_NS`], so a row this quiet has no ping pending.
    pub fn expire(&mut self) -> Option<Peer> {
        if let Some(row) = self.evicted() {
            return Some(row);
        }
        let (_, last) = self.rows.oldest()?;
        if self.now.saturating_sub(last) > PAIR_IDLE_NS {
            self.rows.pop_oldest().map(Pair::into_peer)
        } else {
            None
        }
    }

    /// The row of a pair, made the most recently active; a new one makes room if the table is full.
    fn row(
        &mut self,
        client: IpAddr,
        server: SocketAddr,
        at: At,
        transport: Transport,
    ) -> &mut Pair {
        let key = (client, server);
        let row = if self.rows.contains(&key) {
            self.rows.touch(&key, self.now).expect("a row held")
        } else {
            if self.rows.len() >= self.limits.pairs {
                if let Some(oldest) = self.rows.pop_oldest() {
                    self.early_rows += 1;
                    self.evicted.push(oldest);
                }
            }
            self.rows.insert(Pair::new(client, server, at), self.now)
        };
        row.seen(at, transport);
        row
    }

    /// A finished non-INVITE transaction.
    pub fn transaction(&mut self, tx: &Transaction) {
        if tx.open_at_end && !tx.unanswered() {
            return;
        }
        let at = At {
            frame: tx.request.frame,
            ts_ns: tx.request.ts_ns,
        };
        let start = At {
            frame: tx.request.frame,
            ts_ns: tx.start_ts(),
        };
        let row = self.row(tx.client.ip(), tx.server, start, tx.transport);
        let status = tx.status();
        row.count(&tx.method, status);
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
        let mut hops: Vec<(SocketAddr, SocketAddr, At, Transport)> = Vec::new();
        for m in msgs() {
            if m.method() == Some(&Method::Invite)
                && m.to_tag.is_none()
                && !hops.iter().any(|h| (h.0, h.1) == (m.src, m.dst))
            {
                let at = At {
                    frame: m.frame,
                    ts_ns: m.ts_ns,
                };
                hops.push((m.src, m.dst, at, m.transport));
            }
        }
        for (src, dst, at, transport) in hops {
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
            let row = self.row(src.ip(), dst, at, transport);
            let m = row.method(&Method::Invite);
            if last.is_none() && answered {
                // Answered, but with no final response the capture saw: sent, not unanswered.
                m.sent += 1;
            } else {
                m.add(last);
            }
            if !answered {
                row.failure(at);
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
        let opened = At {
            frame: conn.first_frame,
            ts_ns: conn.first_ts_ns,
        };
        let row = self.row(conn.client.ip(), conn.server, opened, transport);
        let first = conn.syns.first().copied().unwrap_or(opened);
        match failed {
            Probe::NoSynAck => row.failed_connection(false),
            Probe::Refused => row.failed_connection(true),
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
        let [first, last] = [e, last].map(|x| At {
            frame: x.frame,
            ts_ns: x.ts_ns,
        });
        let row = self.row(e.src.ip(), e.dst, first, Transport::Udp);
        row.seen(last, Transport::Udp);
        row.icmp(group.count);
        row.evidence(group.kept().map(|x| x.frame));
        // The group's failures run from its first error to its last.
        row.failure(first);
        row.failure(last);
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
        if let Some(before) = self.pings.remove(&(src, dst, kind)) {
            self.ping_done(before, false);
        }
        // The pair is active while its ping waits: its row is not handed out meanwhile.
        self.rows.touch(&(src.ip(), dst), self.now);
        if self.pings.len() >= self.limits.pings {
            self.untracked_pings += 1;
            return;
        }
        let ping = Pending {
            client: src,
            server: dst,
            kind,
            at,
            transport,
        };
        self.pings.insert(ping, self.now);
    }

    /// A keep-alive answer from `src` back to `dst`: the pong of `dst`'s pending ping to `src`, if any
    /// (a stray CRLF or STUN response is nothing).
    pub fn pong(&mut self, kind: Ping, src: SocketAddr, dst: SocketAddr, ts_ns: i64) {
        if let Some(ping) = self.pings.remove(&(dst, src, kind)) {
            // Within the wait unless the pong's time lies before the clock (an unsorted capture).
            let answered = ts_ns.saturating_sub(ping.at.ts_ns) <= PONG_WAIT_NS;
            self.ping_done(ping, answered);
        }
    }

    fn ping_done(&mut self, ping: Pending, ok: bool) {
        let at = ping.at;
        let row = self.row(ping.client.ip(), ping.server, at, ping.transport);
        row.ping(ping.kind, ok, at);
    }

    /// The capture ended: every row still held, least recently active first (a ping still waiting
    /// for its pong is not counted).
    pub fn drain(&mut self) -> impl Iterator<Item = Peer> + '_ {
        self.pings = Rows::default();
        std::iter::from_fn(move || {
            let row = self.evicted.pop().or_else(|| self.rows.pop_oldest());
            row.map(Pair::into_peer)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000_000;

    fn addr(s: &str) -> SocketAddr {
        s.parse().expect("an address")
    }

    fn at(frame: u64, s: i64) -> At {
        At {
            frame,
            ts_ns: s * S,
        }
    }

    /// A CRLF ping from `client` to `server` at `s` seconds (frame `frame`), the clock moved there.
    fn ping(t: &mut Table, frame: u64, client: &str, server: &str, s: i64) {
        t.tick(s * S);
        t.ping(
            Ping::Crlf,
            Transport::Tcp,
            addr(client),
            addr(server),
            at(frame, s),
        );
    }

    fn pong(t: &mut Table, client: &str, server: &str, s: i64) {
        t.tick(s * S);
        t.pong(Ping::Crlf, addr(server), addr(client), s * S);
    }

    /// The rows `expire` hands out once the clock is at `s` seconds.
    fn out_at(t: &mut Table, s: i64) -> Vec<Peer> {
        t.tick(s * S);
        std::iter::from_fn(|| t.expire()).collect()
    }

    const A: &str = "192.0.2.10:40000";
    const B: &str = "192.0.2.11:40000";
    const C: &str = "192.0.2.12:40000";
    const SERVER: &str = "192.0.2.20:5060";

    #[test]
    fn a_row_is_compact() {
        // Measured: 120 bytes on 64-bit targets for a row held (136 with the server a `SocketAddr`,
        // 192 with the counts of its methods on the heap and what few pairs have inline, 328 before
        // that with the keep-alives inline too); what few pairs have is boxed apart. The table adds
        // 16 bytes of slot and list and about 5 bytes of index per row.
        assert!(
            std::mem::size_of::<Pair>() <= 120,
            "{}",
            std::mem::size_of::<Pair>()
        );
        assert_eq!(std::mem::size_of::<Transports>(), 1);
    }

    #[test]
    fn a_quiet_pair_is_handed_out_and_a_later_event_starts_a_new_row() {
        let mut t = Table::new(Limits::default());
        ping(&mut t, 1, A, SERVER, 0);
        pong(&mut t, A, SERVER, 1);
        assert!(out_at(&mut t, 120).is_empty(), "quiet for 119 s only");
        let out = out_at(&mut t, 122);
        assert_eq!(out.len(), 1);
        assert_eq!(
            out[0].keepalive().crlf,
            Pings {
                sent: 1,
                answered: 1
            }
        );
        assert_eq!((out[0].first_frame, out[0].first_ts_ns), (1, 0));
        ping(&mut t, 9, A, SERVER, 200);
        pong(&mut t, A, SERVER, 200);
        let rest: Vec<Peer> = t.drain().collect();
        assert_eq!(rest.len(), 1);
        assert_eq!(rest[0].first_frame, 9);
        assert_eq!(t.early_rows, 0);
    }

    #[test]
    fn a_ping_waiting_keeps_its_row_and_fails_after_the_wait() {
        let mut t = Table::new(Limits::default());
        ping(&mut t, 1, A, SERVER, 0);
        pong(&mut t, A, SERVER, 0);
        // 115 s later the next ping: the row is active again while it waits.
        ping(&mut t, 2, A, SERVER, 115);
        assert!(
            out_at(&mut t, 125).is_empty(),
            "not quiet: a ping was waiting"
        );
        // Its pong never came: it failed when the clock next moved past the wait (126 s), and the
        // row is quiet 120 s after that.
        assert!(out_at(&mut t, 126).is_empty());
        assert!(out_at(&mut t, 246).is_empty());
        let out = out_at(&mut t, 247);
        assert_eq!(out.len(), 1);
        let k = out[0].keepalive();
        assert_eq!(
            k.crlf,
            Pings {
                sent: 2,
                answered: 1
            }
        );
        assert_eq!(k.last, Some((at(2, 115), Probe::NoPong)));
        assert!(k.down());
    }

    #[test]
    fn a_full_table_hands_out_its_least_recently_active_row_early() {
        let limits = Limits {
            pairs: 2,
            ..Limits::default()
        };
        let mut t = Table::new(limits);
        for (frame, client) in [(1, A), (2, B)] {
            ping(&mut t, frame, client, SERVER, 0);
            pong(&mut t, client, SERVER, 0);
        }
        // A is touched again, so B is the least recently active when C needs room.
        ping(&mut t, 3, A, SERVER, 1);
        ping(&mut t, 4, C, SERVER, 2);
        pong(&mut t, C, SERVER, 2);
        assert_eq!(t.early_rows, 1);
        let early = t.evicted().expect("B's row");
        assert_eq!(early.client, addr(B).ip());
        assert!(t.evicted().is_none());
        pong(&mut t, A, SERVER, 3);
        let mut rest: Vec<u64> = t.drain().map(|p| p.first_frame).collect();
        rest.sort_unstable();
        assert_eq!(rest, [1, 4]);
    }

    #[test]
    fn pings_beyond_their_limit_are_counted_not_followed() {
        let limits = Limits {
            pings: 1,
            ..Limits::default()
        };
        let mut t = Table::new(limits);
        ping(&mut t, 1, A, SERVER, 0);
        ping(&mut t, 2, B, SERVER, 0);
        assert_eq!(t.untracked_pings, 1);
        pong(&mut t, B, SERVER, 1);
        pong(&mut t, A, SERVER, 1);
        let rows: Vec<Peer> = t.drain().collect();
        assert_eq!(
            rows.len(),
            1,
            "B's ping was not followed: its pong is nothing"
        );
        assert_eq!(
            rows[0].keepalive().crlf,
            Pings {
                sent: 1,
                answered: 1
            }
        );
    }
}
