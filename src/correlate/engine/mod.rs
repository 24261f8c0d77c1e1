//! The incremental engine: calls, streams, connections and ICMP errors correlated as capture time
//! passes, each call finalized with its evidence once it has ended, and everything freed when
//! nothing open needs it any more.
//!
//! Takes events in capture order (SIP messages, TCP segments, TLS observations, RTP/RTCP/STUN
//! summaries, ICMP errors) and a capture clock that only moves forward ([`Engine::advance`]).
//! Hands out, through a [`Finisher`]: each finished call with its evidence (the candidates a
//! diagnosis needs), each other dialog, each settled stream, each connection or ICMP group once no
//! open call can use it, with the calls that claimed it, and each row of the peer table once its
//! pair has gone quiet.
//!
//! How evidence reaches a call without scanning: open calls are indexed by their own signalling
//! paths (client address → server endpoint), by the hosts that hold their INVITE without having
//! answered it (their next-hop attempts are evidence), and by the media endpoints their SDP named.
//! A new connection, ICMP error, stream or STUN check looks itself up there; a call that registers a
//! new path or endpoint looks up what is already open there. A connection or ICMP group held by an
//! open call is not freed before that call is finalized, so a limit on open state never evicts what
//! a diagnosis needs for something unrelated. Cost is linear in packets and calls.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use rustc_hash::{FxHashMap, FxHashSet};

use super::calls::{Call, OtherDialog, SipStats};
use super::dialogs::{self, Dialogs, End, Finished, Placed, GRACE_NS, TIMER_B_NS};
use super::dns::{self, Lookup};
use super::fax::{self, Fax, UdptlPacket};
use super::media::{self, Closed, Owner, Signalled, Stream, StunCheck, StunClass};
use super::message::{Codec, Message, Method, Transport};
use super::peers::{self, Peer, Ping};
use super::registrations::{self, Registration};
use super::slab::Key;
use super::transactions::{self, Observed, Transaction};
use super::transport::{self, At, Connection, IcmpError, IcmpGroup, Released, Segmented, TlsEvent};
use super::vantage::{self, Vantage};
use crate::proto::rtcp::ReportBlock;

mod finalize;
mod index;

use index::{add_unique, drop_key, host_pair, sdp_endpoints, SdpEndpoints};

/// How long before a call's first message a failure on its own path still counts as its evidence
/// (a SYN just before the INVITE).
pub const OWN_SLACK_NS: i64 = 2_000_000_000;
/// Distinct SIP ports remembered (to tell a failure on a SIP port from web traffic).
const MAX_SIP_PORTS: usize = 1024;
/// Fax (UDPTL) streams open at once; packets of further ones are counted.
const MAX_FAX_STREAMS: usize = 10_000;
/// DNS lookups one open call holds (a host resolving while it holds the call's INVITE); more are not
/// tied to it.
const MAX_CALL_LOOKUPS: usize = 32;
/// Open calls one DNS lookup is tied to (a busy proxy holds many INVITEs at once); more are not.
const MAX_LOOKUP_CALLS: usize = 16;

/// Bounds on open state, each counted when hit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Limits {
    pub dialogs: dialogs::Limits,
    pub media: media::Limits,
    pub transport: transport::Limits,
    pub transactions: transactions::Limits,
    pub registrations: registrations::Limits,
    pub peers: peers::Limits,
    pub dns: dns::Limits,
}

/// What the capture showed so far, beyond one call (see `vantage`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CaptureFacts {
    /// Some RTP stream (of any call) reached this capture point so far.
    pub rtp_seen: bool,
    /// Every packet so far was from or to this host: the capture was taken at it.
    pub capture_host: Option<IpAddr>,
}

/// The evidence of one call: what a diagnosis looks at, and (once diagnosed) what the reports show.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Evidence {
    /// RTP streams whose endpoints the call's SDP named, by first frame; `Stream::call` says whether
    /// the call owns them (a later call may reuse the ports).
    pub streams: Vec<Stream>,
    /// STUN checks between endpoints its SDP named.
    pub stun: Vec<StunCheck>,
    /// TCP connections on its signalling paths or opened by a host that held its INVITE.
    pub connections: Vec<Connection>,
    /// ICMP errors quoting its SIP or its media.
    pub icmp: Vec<IcmpGroup>,
    /// Its fax streams (UDPTL on the endpoints its SDP announced as `m=image ... udptl`), by first
    /// frame.
    pub fax: Vec<Fax>,
    /// DNS lookups a host made while it held the call's INVITE unanswered, by first frame (the open
    /// ones as they stood when the call was finalized).
    pub dns: Vec<Lookup>,
}

impl Evidence {
    /// The frames of the call's signalling and transport evidence that its ladder shows and its
    /// extract holds (besides the media): every frame of its SIP messages, the connections' SYNs,
    /// SYN-ACKs, FINs, RSTs and TLS alerts, the ICMP errors kept. Ascending.
    pub fn frames(&self, call: &Call) -> Vec<u64> {
        let mut out: Vec<u64> = call
            .messages
            .iter()
            .flat_map(|s| s.msg.carried_by())
            .collect();
        for c in &self.connections {
            out.extend(c.shown_packets().iter().map(|p| p.frame));
        }
        for g in &self.icmp {
            out.extend(g.kept().map(|e| e.frame));
        }
        for l in &self.dns {
            out.extend(l.frames());
        }
        out.sort_unstable();
        out.dedup();
        out
    }
}

/// A call that has ended, with the candidate evidence for its diagnosis.
#[derive(Clone, Debug, PartialEq)]
pub struct FinishedCall {
    /// 0-based position in the call list (the order of first INVITEs).
    pub index: usize,
    pub call: Call,
    pub evidence: Evidence,
    pub capture: CaptureFacts,
}

/// Which candidates of a [`FinishedCall`]'s evidence its diagnosis tied to it, by position.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tied {
    pub connections: Vec<bool>,
    pub icmp: Vec<bool>,
    pub dns: Vec<bool>,
}

/// Receives what the engine finishes, in capture order.
pub trait Finisher {
    /// A finished call; returns what its diagnosis tied to it.
    fn call(&mut self, call: FinishedCall) -> Tied;
    fn other(&mut self, dialog: OtherDialog);
    fn stream(&mut self, stream: Stream);
    /// A connection nothing needs any more; `sip_port`: one of its ports carried SIP in this capture.
    fn connection(&mut self, conn: Released<Connection>, sip_port: bool);
    fn icmp(&mut self, group: Released<IcmpGroup>, sip_port: bool);
    /// A DNS lookup that is over and no open call holds, with the calls whose diagnosis it explained.
    fn dns(&mut self, lookup: Released<Lookup>);
    /// A finished non-INVITE transaction of a method other than REGISTER, OPTIONS, BYE and CANCEL
    /// (those are the registrations', the peer table's and the calls').
    fn transaction(&mut self, tx: Transaction);
    /// A registration binding that is over.
    fn registration(&mut self, reg: Registration);
    /// A row of the peer table: its pair went quiet, its room was needed, or the capture ended.
    fn peer(&mut self, peer: Peer);
}

/// What an open call holds and where it is indexed.
struct Open {
    index: usize,
    start_ts: i64,
    answer_ts: Option<i64>,
    paths: Vec<(IpAddr, SocketAddr)>,
    /// Hosts that received its INVITE and have not answered it yet, with when they got it.
    next_hops: Vec<(IpAddr, i64)>,
    endpoints: Vec<SocketAddr>,
    conns: Vec<Key>,
    icmp: Vec<Key>,
    /// DNS lookups it holds (`dns::Tracker` ids).
    dns: Vec<u64>,
    streams: Vec<Key>,
    settled_streams: Vec<Stream>,
    stun: Vec<Key>,
    settled_stun: Vec<StunCheck>,
    /// Its fax streams, by (source, destination).
    fax: Vec<(SocketAddr, SocketAddr)>,
    /// A call the capture caught mid-call (no SDP): the two hosts of its first message, whose RTP
    /// is its media.
    hosts: Option<(IpAddr, IpAddr)>,
}

/// Media endpoints named by open calls' SDP.
#[derive(Default)]
struct Endpoint {
    calls: Vec<Key>,
    /// The payload types the latest SDP naming it listed.
    codecs: Vec<Codec>,
    /// The latest SDP naming it announced UDPTL (T.38 fax) there, not RTP.
    udptl: bool,
}

/// The engine's state; see the module doc.
pub struct Engine {
    dialogs: Dialogs,
    media: media::Tracker,
    transport: transport::Tracker,
    transactions: transactions::Tracker,
    registrations: registrations::Tracker,
    peers: peers::Table,
    dns: dns::Tracker,
    /// Transactions answered since the last event, handed out at the next [`Engine::advance`].
    answered: Vec<Transaction>,
    open: FxHashMap<Key, Open>,
    paths: FxHashMap<(IpAddr, SocketAddr), Vec<Key>>,
    next_hops: FxHashMap<IpAddr, Vec<(Key, i64)>>,
    endpoints: FxHashMap<SocketAddr, Endpoint>,
    /// Open calls linked to each open stream / STUN check.
    stream_calls: FxHashMap<Key, Vec<Key>>,
    stun_calls: FxHashMap<Key, Vec<Key>>,
    /// Open streams by endpoint, for calls whose SDP names it after the stream began.
    streams_at: FxHashMap<SocketAddr, Vec<Key>>,
    /// Open streams and open mid-call calls by the (unordered) pair of hosts they are between.
    streams_between: FxHashMap<(IpAddr, IpAddr), Vec<Key>>,
    calls_between: FxHashMap<(IpAddr, IpAddr), Vec<Key>>,
    /// Open fax streams by (source, destination), with the open call they belong to.
    fax: FxHashMap<(SocketAddr, SocketAddr), (Key, fax::Building)>,
    /// UDPTL packets of fax streams beyond [`MAX_FAX_STREAMS`].
    untracked_udptl: u64,
    vantage: vantage::Tracker,
    sip_ports: FxHashSet<u16>,
    peaks: Peaks,
    clock: i64,
    /// Events whose time was earlier than the clock by more than a second.
    pub out_of_order: u64,
}

/// The most state the engine held open at once: what memory follows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Peaks {
    pub call_ids: usize,
    pub streams: usize,
    pub connections: usize,
    pub transactions: usize,
    pub registrations: usize,
}

/// Limits hit and other counts the summary reports.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub sip: SipStats,
    pub peaks: Peaks,
    pub untracked_rtp_packets: u64,
    pub untracked_udptl_packets: u64,
    pub untracked_tcp_segments: u64,
    pub untracked_icmp: u64,
    /// Non-INVITE requests and REGISTERs of bindings beyond their limits.
    pub untracked_transactions: u64,
    pub untracked_registrations: u64,
    /// Peer-table rows handed out before their pair went quiet, to make room (`peers::Limits::pairs`).
    pub early_peer_rows: u64,
    /// Keep-alive pings beyond the pending ones' limit (`peers::Limits::pings`), not followed.
    pub untracked_keepalive_pings: u64,
    /// DNS queries beyond the open lookups' limit.
    pub untracked_dns_queries: u64,
    pub out_of_order: u64,
    /// What the capture point could see, over the whole capture.
    pub vantage: Vantage,
}

impl Engine {
    pub fn new(limits: Limits) -> Engine {
        Engine {
            dialogs: Dialogs::new(limits.dialogs),
            media: media::Tracker::new(limits.media),
            transport: transport::Tracker::new(limits.transport),
            transactions: transactions::Tracker::new(limits.transactions),
            registrations: registrations::Tracker::new(limits.registrations),
            peers: peers::Table::new(limits.peers),
            dns: dns::Tracker::new(limits.dns),
            answered: Vec::new(),
            open: FxHashMap::default(),
            paths: FxHashMap::default(),
            next_hops: FxHashMap::default(),
            endpoints: FxHashMap::default(),
            stream_calls: FxHashMap::default(),
            stun_calls: FxHashMap::default(),
            streams_at: FxHashMap::default(),
            streams_between: FxHashMap::default(),
            calls_between: FxHashMap::default(),
            fax: FxHashMap::default(),
            untracked_udptl: 0,
            vantage: vantage::Tracker::default(),
            sip_ports: [5060, 5061].into_iter().collect(),
            peaks: Peaks::default(),
            clock: i64::MIN,
            out_of_order: 0,
        }
    }

    /// The time of the capture's first frame (RTP arrival times are relative to it).
    pub fn start(&mut self, ts_ns: i64) {
        self.media.start(ts_ns);
    }

    /// Moves the capture clock to `ts_ns` (never back) and finalizes what is due.
    pub fn advance(&mut self, ts_ns: i64, out: &mut dyn Finisher) {
        if ts_ns < self.clock.saturating_sub(1_000_000_000) {
            self.out_of_order += 1;
        }
        if !self.answered.is_empty() {
            for tx in std::mem::take(&mut self.answered) {
                self.transaction_done(tx, out);
            }
        }
        while let Some(peer) = self.peers.evicted() {
            out.peer(peer);
        }
        if ts_ns <= self.clock {
            return;
        }
        self.clock = ts_ns;
        let now = ts_ns;
        self.peers.tick(now);
        loop {
            if let Some(key) = self.dialogs.due(now) {
                self.finalize(key, now, out);
            } else if let Some((key, closed)) = self.media.expire(now) {
                self.settled_stream(key, closed, out);
            } else if let Some((key, check)) = self.media.expire_stun(now) {
                self.settled_stun(key, check);
            } else if let Some(conn) = self.transport.expire(now) {
                self.release_connection(conn, out);
            } else if let Some(group) = self.transport.expire_icmp(now) {
                self.release_icmp(group, out);
            } else if let Some(tx) = self.transactions.expire(now) {
                self.transaction_done(tx, out);
            } else if let Some(reg) = self.registrations.due(now) {
                out.registration(reg);
            } else if let Some(lookup) = self.dns.expire(now) {
                out.dns(lookup);
            } else if let Some(peer) = self.peers.expire() {
                out.peer(peer);
            } else {
                break;
            }
        }
    }

    fn release_connection(&mut self, conn: Released<Connection>, out: &mut dyn Finisher) {
        let sip = self.on_sip_port(conn.item.client, conn.item.server);
        self.peers
            .connection(&conn.item, !conn.calls.is_empty(), sip);
        out.connection(conn, sip);
    }

    fn release_icmp(&mut self, group: Released<IcmpGroup>, out: &mut dyn Finisher) {
        let e = group.item.first();
        let sip = self.on_sip_port(e.src, e.dst);
        self.peers.icmp(&group.item);
        out.icmp(group, sip);
    }

    /// A transaction is over: the peer table counts it, the registrations take REGISTERs, and the
    /// methods nothing else reports go out.
    fn transaction_done(&mut self, tx: Transaction, out: &mut dyn Finisher) {
        self.peers.transaction(&tx);
        if tx.method == Method::Register {
            self.registrations.transaction(&tx);
        } else if transactions::listed(&tx.method) {
            out.transaction(tx);
        }
    }

    /// Finalizes everything still open (the capture ended).
    pub fn finish(&mut self, out: &mut dyn Finisher) -> Counts {
        let now = self.clock;
        for key in self.dialogs.open_keys() {
            self.finish_group(key, now, out);
        }
        for key in self.media.open_streams() {
            self.close_stream(key, out);
        }
        for key in self.media.open_stun() {
            if let Some(check) = self.media.close_stun(key) {
                self.settled_stun(key, check);
            }
        }
        for conn in self.transport.drain() {
            self.release_connection(conn, out);
        }
        for group in self.transport.drain_icmp() {
            self.release_icmp(group, out);
        }
        for tx in std::mem::take(&mut self.answered) {
            self.transaction_done(tx, out);
        }
        for tx in self.transactions.drain() {
            self.transaction_done(tx, out);
        }
        for reg in self.registrations.drain(now) {
            out.registration(reg);
        }
        for lookup in self.dns.finish() {
            out.dns(lookup);
        }
        for peer in self.peers.drain() {
            out.peer(peer);
        }
        self.peaks.transactions = self.transactions.peak;
        self.peaks.registrations = self.registrations.peak;
        Counts {
            sip: self.dialogs.stats.clone(),
            untracked_rtp_packets: self.media.untracked_packets,
            untracked_udptl_packets: self.untracked_udptl,
            untracked_tcp_segments: self.transport.untracked_segments,
            untracked_icmp: self.transport.untracked_icmp,
            untracked_transactions: self.transactions.untracked,
            untracked_registrations: self.registrations.untracked,
            early_peer_rows: self.peers.early_rows,
            untracked_keepalive_pings: self.peers.untracked_pings,
            untracked_dns_queries: self.dns.untracked(),
            out_of_order: self.out_of_order,
            peaks: self.peaks,
            vantage: self.vantage.vantage(self.media.rtp_seen()),
        }
    }

    fn on_sip_port(&self, a: SocketAddr, b: SocketAddr) -> bool {
        self.sip_ports.contains(&a.port()) || self.sip_ports.contains(&b.port())
    }

    // ---------------------------------------------------------------------------------------------
    // SIP

    /// What the IP and link layers said about the sender of a SIP message: the TTL it arrived with
    /// and its source MAC (for the capture vantage).
    pub fn sender(&mut self, src: IpAddr, ttl: u8, mac: Option<[u8; 6]>) {
        self.vantage.sender(src, ttl, mac);
    }

    /// A SIP message (from any transport).
    pub fn sip(&mut self, msg: impl Into<Arc<Message>>) {
        let msg: Arc<Message> = msg.into();
        self.vantage.packet(msg.src.ip(), msg.dst.ip());
        if self.sip_ports.len() < MAX_SIP_PORTS {
            self.sip_ports.insert(msg.src.port());
            self.sip_ports.insert(msg.dst.port());
        }
        let (src, dst, ts) = (msg.src, msg.dst, msg.ts_ns);
        let initial_invite = msg.method() == Some(&Method::Invite) && msg.to_tag.is_none();
        let invite_final = msg.is_final_response_to(&Method::Invite);
        let answer = invite_final && msg.status().is_some_and(|s| s.is_success());
        let sdp = sdp_endpoints(&msg);
        let observed = self.transactions.observe(&msg);
        let placed = self.dialogs.push(msg);
        let call = match placed {
            Placed::Group { key, .. } => self.dialogs.get(key).and_then(|g| g.index),
            Placed::Counted => None,
        };
        match observed {
            Observed::New(tx) => self.transactions.set_call(tx, call),
            Observed::Done(tx) => self.answered.push(*tx),
            Observed::Other => {}
        }
        let Placed::Group { key, new_call } = placed else {
            return;
        };
        self.peaks.call_ids = self.peaks.call_ids.max(self.dialogs.open());
        let Some(index) = self.dialogs.get(key).and_then(|g| g.index) else {
            return;
        };
        if new_call {
            self.open.insert(
                key,
                Open {
                    index,
                    start_ts: self
                        .dialogs
                        .get(key)
                        .and_then(|g| g.messages.first())
                        .map_or(ts, |s| s.msg.ts_ns),
                    answer_ts: None,
                    paths: Vec::new(),
                    next_hops: Vec::new(),
                    endpoints: Vec::new(),
                    conns: Vec::new(),
                    icmp: Vec::new(),
                    dns: Vec::new(),
                    streams: Vec::new(),
                    settled_streams: Vec::new(),
                    stun: Vec::new(),
                    settled_stun: Vec::new(),
                    fax: Vec::new(),
                    hosts: None,
                },
            );
            // Messages before the INVITE (rare) still mark the call's paths and media.
            let earlier: Vec<(SocketAddr, SocketAddr, SdpEndpoints)> = self
                .dialogs
                .get(key)
                .map(|g| {
                    g.messages
                        .iter()
                        .rev()
                        .skip(1)
                        .map(|s| (s.msg.src, s.msg.dst, sdp_endpoints(&s.msg)))
                        .collect()
                })
                .unwrap_or_default();
            for (s, d, eps) in earlier {
                self.register_path(key, s.ip(), d);
                self.register_endpoints(key, eps);
            }
            if self.dialogs.get(key).is_some_and(|g| g.progress.mid_call) {
                self.register_hosts(key, src.ip(), dst.ip());
            }
        }
        self.register_path(key, src.ip(), dst);
        if initial_invite {
            self.register_next_hop(key, dst.ip(), ts);
        }
        if invite_final {
            self.unregister_next_hop(key, src.ip());
        }
        if answer {
            if let Some(open) = self.open.get_mut(&key) {
                open.answer_ts.get_or_insert(ts);
            }
        }
        self.register_endpoints(key, sdp);
    }

    // ---------------------------------------------------------------------------------------------
    // Transport

    /// One TCP segment.
    pub fn segment(
        &mut self,
        frame: u64,
        ts: i64,
        src: SocketAddr,
        dst: SocketAddr,
        bits: u8,
        len: usize,
    ) {
        self.vantage.packet(src.ip(), dst.ip());
        if let Segmented::New(key) = self.transport.segment(frame, ts, src, dst, bits, len) {
            self.peaks.connections = self.peaks.connections.max(self.transport.held().0);
            let Some(conn) = self.transport.snapshot(key) else {
                return;
            };
            let (client, server) = (conn.client, conn.server);
            let own: Vec<Key> = self
                .paths
                .get(&(client.ip(), server))
                .cloned()
                .unwrap_or_default();
            let hops: Vec<Key> = self
                .next_hops
                .get(&client.ip())
                .map(|list| {
                    list.iter()
                        .filter(|(_, received)| {
                            ts >= *received && ts <= received.saturating_add(TIMER_B_NS)
                        })
                        .map(|(c, _)| *c)
                        .collect()
                })
                .unwrap_or_default();
            for call in own.into_iter().chain(hops) {
                self.hold_connection(call, key);
            }
        }
    }

    fn hold_connection(&mut self, call: Key, conn: Key) {
        if let Some(open) = self.open.get_mut(&call) {
            if add_unique(&mut open.conns, conn) {
                self.transport.hold(conn);
            }
        }
    }

    /// A TLS observation on a TCP segment.
    /// A DNS message: a new lookup by a host that holds open calls' INVITEs unanswered is held by them
    /// (it may be what keeps the host from forwarding them).
    pub fn dns(
        &mut self,
        frame: u64,
        ts: i64,
        ends: (SocketAddr, SocketAddr),
        transport: Transport,
        msg: &crate::proto::dns::Message,
    ) {
        let dns::Seen::New(id) = self.dns.message(frame, ts, ends, transport, msg) else {
            return;
        };
        let calls: Vec<Key> = self
            .next_hops
            .get(&ends.0.ip())
            .map(|list| {
                list.iter()
                    .map(|(k, _)| *k)
                    .take(MAX_LOOKUP_CALLS)
                    .collect()
            })
            .unwrap_or_default();
        for call in calls {
            let Some(open) = self.open.get_mut(&call) else {
                continue;
            };
            if open.dns.len() < MAX_CALL_LOOKUPS {
                open.dns.push(id);
                self.dns.hold(id, open.index);
            }
        }
    }

    pub fn tls(&mut self, frame: u64, ts: i64, src: SocketAddr, dst: SocketAddr, event: TlsEvent) {
        self.transport.tls(frame, ts, src, dst, event);
    }

    /// A SIP message decrypted from the TLS connection of `src` → `dst` (`uri`: a request's).
    pub fn tls_sip(&mut self, src: SocketAddr, dst: SocketAddr, uri: Option<&str>) {
        self.transport.tls_sip(src, dst, uri);
    }

    /// The connection of `a` and `b` carries SIP.
    pub fn mark_sip(&mut self, a: SocketAddr, b: SocketAddr) {
        self.transport.mark_sip(a, b);
    }

    /// An ICMP error quoting a packet.
    pub fn icmp(&mut self, error: IcmpError) {
        let (src, dst) = (error.src, error.dst);
        // The error itself went from the reporter back to the quoted packet's source.
        self.vantage.packet(error.reporter, src.ip());
        let Some((key, _)) = self.transport.icmp(error) else {
            return;
        };
        let mut calls: Vec<Key> = self
            .paths
            .get(&(src.ip(), dst))
            .cloned()
            .unwrap_or_default();
        // Media: the most recent call whose SDP named either end of the quoted flow.
        if let Some(&c) = self.calls_naming(src, dst).first() {
            add_unique(&mut calls, c);
        }
        for call in calls {
            if let Some(open) = self.open.get_mut(&call) {
                if add_unique(&mut open.icmp, key) {
                    self.transport.hold_icmp(key);
                }
            }
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Media

    /// The open stream of an RTP packet, opened (and linked to the calls whose SDP named its
    /// endpoints) at its first packet; `None` beyond the stream limit.
    pub fn stream(
        &mut self,
        frame: u64,
        ts: i64,
        src: SocketAddr,
        dst: SocketAddr,
        ssrc: u32,
        pt: u8,
    ) -> Option<Key> {
        // Once per flow and chunk (the fold caches the stream), enough for who talks to whom.
        self.vantage.packet(src.ip(), dst.ip());
        if let Some(key) = self.media.find(src, dst, ssrc) {
            return Some(key);
        }
        let calls = self.calls_naming(src, dst);
        let owner = calls.first().and_then(|&c| self.owner_of(c, src, dst));
        let sdp = self
            .endpoints
            .get(&dst)
            .or_else(|| self.endpoints.get(&src))
            .map(|e| Signalled {
                codecs: &e.codecs,
                owner,
            });
        let key = self.media.open(frame, ts, src, dst, ssrc, pt, sdp)?;
        self.peaks.streams = self.peaks.streams.max(self.media.open_count());
        for ep in [src, dst] {
            add_unique(self.streams_at.entry(ep).or_default(), key);
        }
        let pair = host_pair(src.ip(), dst.ip());
        add_unique(self.streams_between.entry(pair).or_default(), key);
        let mid_calls = self.calls_between.get(&pair).cloned().unwrap_or_default();
        for call in calls.into_iter().rev().chain(mid_calls) {
            self.link_stream(call, key);
        }
        Some(key)
    }

    /// One RTP packet of the stream [`Engine::stream`] gave.
    #[allow(clippy::too_many_arguments)]
    pub fn rtp(
        &mut self,
        stream: Option<Key>,
        frame: u64,
        ts: i64,
        seq: u16,
        rtp_ts: u32,
        marker: bool,
        pt: u8,
        len: usize,
    ) {
        self.media
            .rtp(stream, frame, ts, seq, rtp_ts, marker, pt, len);
    }

    /// The report blocks of one RTCP packet.
    pub fn rtcp(&mut self, frame: u64, ts: i64, blocks: &[ReportBlock]) {
        self.media.rtcp(frame, ts, blocks);
    }

    /// A run of line breaks between SIP messages on a connection: a double CRLF is a flow keep-alive
    /// ping, a single CRLF its pong (RFC 5626 §4.4.1).
    pub fn crlf(
        &mut self,
        frame: u64,
        ts: i64,
        src: SocketAddr,
        dst: SocketAddr,
        bytes: &[u8],
        transport: Transport,
    ) {
        let at = At { frame, ts_ns: ts };
        match bytes {
            b"\r\n\r\n" => self.peers.ping(Ping::Crlf, transport, src, dst, at),
            b"\r\n" => self.peers.pong(Ping::Crlf, src, dst, ts),
            _ => {}
        }
    }

    /// One STUN message.
    pub fn stun(
        &mut self,
        frame: u64,
        ts: i64,
        src: SocketAddr,
        dst: SocketAddr,
        class: StunClass,
    ) {
        self.vantage.packet(src.ip(), dst.ip());
        // On a SIP port pair it is a flow keep-alive (RFC 5626 §4.4.2), not a media check.
        if self.sip_ports.contains(&src.port()) && self.sip_ports.contains(&dst.port()) {
            match class {
                StunClass::Request => self.peers.ping(
                    Ping::Stun,
                    Transport::Udp,
                    src,
                    dst,
                    At { frame, ts_ns: ts },
                ),
                StunClass::Success => self.peers.pong(Ping::Stun, src, dst, ts),
                StunClass::Indication | StunClass::Error(_) => {}
            }
            return;
        }
        let calls = self.calls_naming(src, dst);
        let owner = calls.first().and_then(|&c| self.owner_of(c, src, dst));
        if let Some((key, true)) = self.media.stun(frame, ts, src, dst, class, |_, _| owner) {
            for call in calls {
                if let Some(open) = self.open.get_mut(&call) {
                    if add_unique(&mut open.stun, key) {
                        add_unique(self.stun_calls.entry(key).or_default(), call);
                    }
                }
            }
        }
    }

    /// A UDP packet that parsed as UDPTL: counted in a fax stream, and `true`, when an SDP of an open
    /// call announced UDPTL at one of its endpoints (then it is not RTP, whatever it looks like).
    pub fn udptl(
        &mut self,
        frame: u64,
        ts: i64,
        src: SocketAddr,
        dst: SocketAddr,
        packet: UdptlPacket,
    ) -> bool {
        self.vantage.packet(src.ip(), dst.ip());
        let announced = |ep: &SocketAddr| self.endpoints.get(ep).is_some_and(|e| e.udptl);
        if !announced(&dst) && !announced(&src) {
            return false;
        }
        if let Some((_, stream)) = self.fax.get_mut(&(src, dst)) {
            stream.push(frame, ts, packet);
            return true;
        }
        let Some(&call) = self.calls_naming(src, dst).first() else {
            return false;
        };
        if self.fax.len() >= MAX_FAX_STREAMS {
            self.untracked_udptl += 1;
            return true;
        }
        let Some(open) = self.open.get_mut(&call) else {
            return false;
        };
        open.fax.push((src, dst));
        let stream = fax::Building::new(frame, ts, src, dst, packet, Some(open.index));
        self.fax.insert((src, dst), (call, stream));
        true
    }
}

#[cfg(test)]
mod tests;
