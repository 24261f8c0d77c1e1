//! TCP connections and ICMP errors: the transport evidence behind SIP failures.
//!
//! Takes TCP segment summaries, TLS record observations and ICMP errors in capture order; produces a
//! connection table in Zeek's `conn_state` vocabulary (S0, REJ, S1, SF, S2, S3, RSTO, RSTR, RSTOS0,
//! SH, OTH) with SYN attempts, handshake time, who closed or reset, bytes each way and what TLS showed,
//! and the ICMP errors grouped by reporter and the flow they quote. Any port, not only SIP's.
//! A connection stays while it is open, while an open call holds it as evidence, and — when a
//! diagnosis may use it (it carried SIP or TLS, or never got established) — for [`LINGER_NS`] after it
//! closed; then it is handed out with the calls that claimed it, and freed. A closed connection
//! nothing can use goes at once, so memory follows the connections open at a time
//! ([`Limits::connections`]), not their total.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::{IpAddr, SocketAddr};

use rustc_hash::FxHashMap;

use super::slab::{Key, Slab};
use crate::decrypt::Decryption;
use crate::proto::sip;
use crate::proto::tls::cert::Summary;

/// SYN attempts remembered per connection (more are counted).
const MAX_SYNS: usize = 16;

/// Zeek's summary of a connection's life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ConnState {
    /// Connection attempt seen, no reply.
    S0,
    /// Attempt rejected: RST answered the SYN.
    Rej,
    /// Established, not terminated.
    S1,
    /// Established and closed normally.
    Sf,
    /// Established, only the originator closed.
    S2,
    /// Established, only the responder closed.
    S3,
    /// Established, the originator aborted (RST).
    Rsto,
    /// Established, the responder aborted (RST).
    Rstr,
    /// Originator sent SYN then RST, no SYN-ACK.
    Rstos0,
    /// Originator sent SYN then FIN, no SYN-ACK.
    Sh,
    /// Midstream: no SYN seen.
    Oth,
}

impl ConnState {
    pub fn as_str(self) -> &'static str {
        match self {
            ConnState::S0 => "S0",
            ConnState::Rej => "REJ",
            ConnState::S1 => "S1",
            ConnState::Sf => "SF",
            ConnState::S2 => "S2",
            ConnState::S3 => "S3",
            ConnState::Rsto => "RSTO",
            ConnState::Rstr => "RSTR",
            ConnState::Rstos0 => "RSTOS0",
            ConnState::Sh => "SH",
            ConnState::Oth => "OTH",
        }
    }
}

/// A TLS alert record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsAlert {
    pub frame: u64,
    pub ts_ns: i64,
    pub from_client: bool,
    /// 1 warning, 2 fatal.
    pub level: u8,
    pub description: u8,
    /// The alert's name (RFC 8446 §6), e.g. `unknown_ca`.
    pub name: &'static str,
    /// Read from an encrypted record (with the keys given).
    pub decrypted: bool,
}

/// What the client offered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TlsOffer {
    pub max_version: u16,
    pub min_version: u16,
    pub cipher_suites: u16,
}

/// What the ServerHello settled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TlsNegotiated {
    pub version: u16,
    pub cipher_suite: u16,
    pub extended_master_secret: bool,
    pub encrypt_then_mac: bool,
}

/// A certificate chain sent by one side (leaf first; empty: the side sent no certificate).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsChain {
    pub at: At,
    pub chain: Vec<Summary>,
    /// Read from encrypted records (TLS 1.3, with the keys given).
    pub decrypted: bool,
}

/// What the TLS records of a connection showed (in clear, or decrypted with the keys given).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tls {
    /// Frame of the ClientHello, and the server name it asked for.
    pub client_hello: Option<At>,
    pub sni: Option<String>,
    pub offer: Option<TlsOffer>,
    /// Frame of the ServerHello (the one after a HelloRetryRequest).
    pub server_hello: Option<At>,
    pub negotiated: Option<TlsNegotiated>,
    pub server_certificates: Option<TlsChain>,
    pub client_certificates: Option<TlsChain>,
    /// The server asked for a client certificate (mutual TLS).
    pub certificate_request: Option<At>,
    /// The first alert, if any.
    pub alert: Option<TlsAlert>,
    /// The first encrypted record holding an alert that could not be read (no keys), and its sender.
    pub encrypted_alert: Option<(At, bool)>,
    /// Application data flowed after the handshake (it completed).
    pub application_data: bool,
    /// SIP from the client was decrypted: its side of the handshake completed (in TLS 1.3 the
    /// server may still reject its certificate, in an alert the keys make readable).
    pub client_sip: bool,
    /// How decryption went, when keys were given.
    pub decryption: Option<Decryption>,
    /// The host of the first request's Request-URI the client sent over it (decrypted): the SIP
    /// target its certificate must name when the client sent no SNI (RFC 5922 §7.2).
    pub sip_target: Option<String>,
}

impl Connection {
    /// Its TLS handshake failed: no application data from the server, and an alert, or a close
    /// before the client's SIP was read (with keys, a rejection is a readable alert).
    pub fn tls_failed(&self) -> bool {
        let Some(tls) = &self.tls else {
            return false;
        };
        let closed = self.client_fin.is_some() || self.server_fin.is_some() || self.rst.is_some();
        !tls.application_data && (tls.alert.is_some() || (closed && !tls.client_sip))
    }
}

impl Tls {
    /// The version in use: the negotiated one, else the highest offered.
    pub fn version(&self) -> Option<u16> {
        self.negotiated
            .map(|n| n.version)
            .or(self.offer.map(|o| o.max_version))
    }

    /// TLS 1.3 hides the certificates: whether they were unreadable here (no keys for the session).
    pub fn certificates_hidden(&self) -> bool {
        self.negotiated.is_some_and(|n| n.version == 0x0304)
            && self.decryption != Some(Decryption::Decrypted)
    }
}

/// One TLS observation of a record, made by the decryption stage.
pub use crate::decrypt::Event as TlsEvent;

/// A packet the evidence points at: its frame and time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct At {
    pub frame: u64,
    pub ts_ns: i64,
}

/// The first RST of a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rst {
    pub at: At,
    /// Sent by the client (the side that opened the connection).
    pub by_client: bool,
}

/// One TCP connection.
#[derive(Clone, Debug, PartialEq)]
pub struct Connection {
    /// Who opened it (sent the first SYN; for midstream connections, the first packet's sender).
    pub client: SocketAddr,
    pub server: SocketAddr,
    pub state: ConnState,
    /// Frames and times of the client's SYNs (the first and its retransmissions), at most 16.
    pub syns: Vec<At>,
    /// SYNs sent in all (may exceed `syns.len()`).
    pub syn_count: u32,
    /// The server's SYN-ACK.
    pub syn_ack: Option<At>,
    /// First SYN to SYN-ACK.
    pub handshake_ms: Option<f64>,
    pub rst: Option<Rst>,
    /// First FIN of each side.
    pub client_fin: Option<At>,
    pub server_fin: Option<At>,
    pub client_bytes: u64,
    pub server_bytes: u64,
    pub packets: u64,
    pub first_frame: u64,
    pub last_frame: u64,
    pub first_ts_ns: i64,
    pub last_ts_ns: i64,
    /// TLS records seen, if the connection carried TLS.
    pub tls: Option<Tls>,
    /// SIP messages were read from it.
    pub sip: bool,
}

impl Connection {
    fn new(client: SocketAddr, server: SocketAddr, frame: u64, ts_ns: i64) -> Connection {
        Connection {
            client,
            server,
            state: ConnState::Oth,
            syns: Vec::new(),
            syn_count: 0,
            syn_ack: None,
            handshake_ms: None,
            rst: None,
            client_fin: None,
            server_fin: None,
            client_bytes: 0,
            server_bytes: 0,
            packets: 0,
            first_frame: frame,
            last_frame: frame,
            first_ts_ns: ts_ns,
            last_ts_ns: ts_ns,
            tls: None,
            sip: false,
        }
    }

    /// Frames that show how the connection failed: the SYNs, the SYN-ACK, the RST.
    pub fn evidence_frames(&self) -> Vec<u64> {
        let mut frames: Vec<u64> = self.syns.iter().map(|s| s.frame).collect();
        frames.extend(self.syn_ack.map(|s| s.frame));
        frames.extend(self.rst.map(|r| r.at.frame));
        if let Some(alert) = self.tls.as_ref().and_then(|t| t.alert.as_ref()) {
            frames.push(alert.frame);
        }
        frames.sort_unstable();
        frames.dedup();
        frames
    }

    /// The packets that show the connection's life on a call's ladder and go into its extract: the
    /// SYNs, the SYN-ACK, the FINs, the RST, the TLS hellos and alert, by frame.
    pub fn shown_packets(&self) -> Vec<At> {
        let mut out: Vec<At> = self.syns.clone();
        out.extend(self.syn_ack);
        out.extend(self.client_fin);
        out.extend(self.server_fin);
        out.extend(self.rst.map(|r| r.at));
        if let Some(tls) = &self.tls {
            out.extend(tls.client_hello);
            out.extend(tls.server_hello);
            out.extend(tls.server_certificates.as_ref().map(|c| c.at));
            out.extend(tls.client_certificates.as_ref().map(|c| c.at));
            out.extend(tls.alert.as_ref().map(|a| At {
                frame: a.frame,
                ts_ns: a.ts_ns,
            }));
        }
        out.sort_unstable_by_key(|a| a.frame);
        out.dedup_by_key(|a| a.frame);
        out
    }

    /// Whether the capture saw anything come back from the server.
    fn server_answered(&self) -> bool {
        self.syn_ack.is_some() || self.server_bytes > 0 || self.server_fin.is_some()
    }

    pub(crate) fn settle_state(&mut self) {
        let rst_by_client = self.rst.map(|r| r.by_client);
        self.state = if self.syns.is_empty() && self.syn_count == 0 {
            ConnState::Oth
        } else if self.syn_ack.is_some() {
            match (
                rst_by_client,
                self.client_fin.is_some(),
                self.server_fin.is_some(),
            ) {
                (Some(true), _, _) => ConnState::Rsto,
                (Some(false), _, _) => ConnState::Rstr,
                (None, true, true) => ConnState::Sf,
                (None, true, false) => ConnState::S2,
                (None, false, true) => ConnState::S3,
                (None, false, false) => ConnState::S1,
            }
        } else {
            match rst_by_client {
                Some(false) => ConnState::Rej,
                Some(true) => ConnState::Rstos0,
                None if self.client_fin.is_some() => ConnState::Sh,
                None if self.server_answered() => ConnState::S1,
                None => ConnState::S0,
            }
        };
    }
}

/// TCP flag bits, as on the wire.
pub mod flags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const ACK: u8 = 0x10;
}

/// Bounds on open transport state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// TCP connections held at once (open, or closed and still needed); segments of further
    /// connections are only counted.
    pub connections: usize,
    /// ICMP error groups held at once.
    pub icmp_groups: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            connections: 250_000,
            icmp_groups: 65_536,
        }
    }
}

/// Silence after which an open connection counts as gone (longer than Linux's SYN back-off steps).
pub const CONN_IDLE_NS: i64 = 120_000_000_000;
/// How long a closed connection that a diagnosis may use (it carried SIP or TLS, or never got
/// established) stays findable for calls that start or use its path afterwards (Timer B).
pub const LINGER_NS: i64 = 32_000_000_000;
/// Silence after which a group of ICMP errors is complete.
pub const ICMP_IDLE_NS: i64 = 10_000_000_000;
/// ICMP errors kept per group (more are counted).
const MAX_ICMP_KEPT: usize = 64;

struct Tracked {
    conn: Connection,
    /// Open calls holding it as evidence: it stays until they are finalized.
    holds: u32,
    /// 0-based indexes of the calls whose diagnosis tied it to them.
    claimed: Vec<usize>,
    /// When it closed (RST, FIN both ways) or another connection took over its ports.
    closed_ts: Option<i64>,
}

impl Tracked {
    /// When it may go, if nothing holds it.
    fn due(&self) -> i64 {
        let c = &self.conn;
        match self.closed_ts {
            Some(t) if c.sip || c.tls.is_some() || c.syn_ack.is_none() => {
                t.saturating_add(LINGER_NS)
            }
            Some(t) => t,
            None => c.last_ts_ns.saturating_add(CONN_IDLE_NS),
        }
    }
}

/// A connection (or ICMP group) that nothing needs any more, with the calls that claimed it.
#[derive(Clone, Debug, PartialEq)]
pub struct Released<T> {
    pub item: T,
    /// 0-based indexes of the calls whose diagnosis tied it to them, ascending.
    pub calls: Vec<usize>,
}

/// ICMP errors from one reporter quoting one flow, close together in time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IcmpGroup {
    /// The first errors (at most 64).
    pub errors: Vec<IcmpError>,
    /// The last error (the first when there is one).
    pub last: IcmpError,
    /// Errors in all.
    pub count: u64,
}

impl IcmpGroup {
    pub fn first(&self) -> &IcmpError {
        self.errors.first().unwrap_or(&self.last)
    }

    /// The errors kept: the first ones and the last.
    pub fn kept(&self) -> impl Iterator<Item = &IcmpError> {
        let last_kept = self
            .errors
            .last()
            .is_some_and(|e| e.frame == self.last.frame);
        self.errors.iter().chain((!last_kept).then_some(&self.last))
    }

    /// The stretches of time its errors lie in (from, to): one per kept error, and, when errors were
    /// not kept, the stretch between the last of the first ones and the last error, where they lie.
    pub fn stretches(&self) -> impl Iterator<Item = (i64, i64)> + '_ {
        let kept = self.kept().count() as u64;
        let unkept = (self.count > kept).then(|| {
            let from = self.errors.last().map_or(self.last.ts_ns, |e| e.ts_ns);
            (from, self.last.ts_ns)
        });
        self.kept().map(|e| (e.ts_ns, e.ts_ns)).chain(unkept)
    }

    /// Some error of the group quoted SIP / RTP.
    pub fn quoted_sip(&self) -> bool {
        self.errors.iter().any(|e| e.quoted_sip)
    }

    pub fn quoted_rtp(&self) -> bool {
        self.errors.iter().any(|e| e.quoted_rtp)
    }
}

struct TrackedIcmp {
    group: IcmpGroup,
    holds: u32,
    claimed: Vec<usize>,
}

type IcmpKey = (IpAddr, SocketAddr, SocketAddr, &'static str, u8);

/// What a segment did to the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Segmented {
    /// It opened a connection.
    New(Key),
    Existing(Key),
    /// Beyond [`Limits::connections`]: counted only.
    Untracked,
}

/// The connection table and the ICMP error groups, in capture order.
#[derive(Default)]
pub struct Tracker {
    limits: Limits,
    /// The current connection per unordered address pair.
    open: FxHashMap<(SocketAddr, SocketAddr), Key>,
    conns: Slab<Tracked>,
    /// Connections by client address and server endpoint, for calls that use that path.
    by_path: FxHashMap<(IpAddr, SocketAddr), Vec<Key>>,
    queue: BinaryHeap<Reverse<(i64, Key)>>,
    icmp_open: FxHashMap<IcmpKey, Key>,
    icmp: Slab<TrackedIcmp>,
    icmp_queue: BinaryHeap<Reverse<(i64, Key)>>,
    /// Segments of connections beyond [`Limits::connections`].
    pub untracked_segments: u64,
    /// ICMP errors beyond [`Limits::icmp_groups`].
    pub untracked_icmp: u64,
}

/// A TCP connection (or any flow) regardless of direction: its two endpoints, lower first.
pub fn connection_key(a: SocketAddr, b: SocketAddr) -> (SocketAddr, SocketAddr) {
    if a <= b {
        (a, b)
    } else {
        (b, a)
    }
}

impl Tracker {
    pub fn new(limits: Limits) -> Tracker {
        Tracker {
            limits,
            ..Tracker::default()
        }
    }

    /// One segment: its frame, time, endpoints, flag bits and payload length.
    pub fn segment(
        &mut self,
        frame: u64,
        ts_ns: i64,
        src: SocketAddr,
        dst: SocketAddr,
        bits: u8,
        len: usize,
    ) -> Segmented {
        let syn_only = bits & (flags::SYN | flags::ACK) == flags::SYN;
        let k = connection_key(src, dst);
        let mut current = self.open.get(&k).copied();
        // A new SYN on a connection that already got going is a new connection reusing the ports.
        if let (Some(key), true) = (current, syn_only) {
            let c = &self
                .conns
                .get(key)
                .expect("an open key names a connection")
                .conn;
            let retransmission =
                c.client == src && c.syn_ack.is_none() && c.rst.is_none() && c.client_bytes == 0;
            if !retransmission {
                self.close(key, ts_ns);
                current = None;
            }
        }
        let (key, new) = match current {
            Some(key) => (key, false),
            None => {
                if self.conns.len() >= self.limits.connections {
                    self.untracked_segments += 1;
                    return Segmented::Untracked;
                }
                // The client is whoever sent the SYN; a SYN-ACK's receiver; else the first sender.
                let (client, server) =
                    if bits & (flags::SYN | flags::ACK) == (flags::SYN | flags::ACK) {
                        (dst, src)
                    } else {
                        (src, dst)
                    };
                let key = self.conns.insert(Tracked {
                    conn: Connection::new(client, server, frame, ts_ns),
                    holds: 0,
                    claimed: Vec::new(),
                    closed_ts: None,
                });
                self.open.insert(k, key);
                self.by_path
                    .entry((client.ip(), server))
                    .or_default()
                    .push(key);
                self.queue
                    .push(Reverse((ts_ns.saturating_add(CONN_IDLE_NS), key)));
                (key, true)
            }
        };
        let t = self.conns.get_mut(key).expect("just found");
        let c = &mut t.conn;
        let from_client = src == c.client;
        c.packets += 1;
        c.last_frame = frame;
        c.last_ts_ns = c.last_ts_ns.max(ts_ns);
        if from_client {
            c.client_bytes += len as u64;
        } else {
            c.server_bytes += len as u64;
        }
        if syn_only && from_client {
            c.syn_count += 1;
            if c.syns.len() < MAX_SYNS {
                c.syns.push(At { frame, ts_ns });
            }
        }
        if bits & (flags::SYN | flags::ACK) == (flags::SYN | flags::ACK)
            && !from_client
            && c.syn_ack.is_none()
        {
            c.syn_ack = Some(At { frame, ts_ns });
            c.handshake_ms = c.syns.first().map(|s| (ts_ns - s.ts_ns) as f64 / 1e6);
        }
        if bits & flags::RST != 0 && c.rst.is_none() {
            c.rst = Some(Rst {
                at: At { frame, ts_ns },
                by_client: from_client,
            });
        }
        if bits & flags::FIN != 0 {
            let fin = if from_client {
                &mut c.client_fin
            } else {
                &mut c.server_fin
            };
            fin.get_or_insert(At { frame, ts_ns });
        }
        let closed = c.rst.is_some() || (c.client_fin.is_some() && c.server_fin.is_some());
        if closed && t.closed_ts.is_none() {
            self.close(key, ts_ns);
        }
        if new {
            Segmented::New(key)
        } else {
            Segmented::Existing(key)
        }
    }

    /// Marks a connection closed at `ts_ns` (it may go once nothing needs it).
    fn close(&mut self, key: Key, ts_ns: i64) {
        if let Some(t) = self.conns.get_mut(key) {
            t.closed_ts.get_or_insert(ts_ns);
            let due = t.due();
            self.queue.push(Reverse((due, key)));
        }
    }

    /// The open connection between `a` and `b`.
    fn open_mut(&mut self, a: SocketAddr, b: SocketAddr) -> Option<&mut Connection> {
        let key = *self.open.get(&connection_key(a, b))?;
        self.conns.get_mut(key).map(|t| &mut t.conn)
    }

    /// A SIP message decrypted from the connection of `src` → `dst` (`uri`: a request's): from the
    /// server, the handshake completed; from the client, its side did; and the first request the
    /// client sent names the connection's SIP target.
    pub fn tls_sip(&mut self, src: SocketAddr, dst: SocketAddr, uri: Option<&str>) {
        let Some(c) = self.open_mut(src, dst) else {
            return;
        };
        let from_client = src == c.client;
        let Some(tls) = c.tls.as_mut() else {
            return;
        };
        if from_client {
            tls.client_sip = true;
        } else {
            tls.application_data = true;
        }
        if let (true, None, Some(uri)) = (from_client, &tls.sip_target, uri) {
            tls.sip_target = sip::Uri::parse(uri).ok().map(|u| u.host.to_string());
        }
    }

    /// A TLS observation on the connection of `src` → `dst`.
    pub fn tls(
        &mut self,
        frame: u64,
        ts_ns: i64,
        src: SocketAddr,
        dst: SocketAddr,
        event: TlsEvent,
    ) {
        let Some(c) = self.open_mut(src, dst) else {
            return;
        };
        let from_client = src == c.client;
        let tls = c.tls.get_or_insert_with(Tls::default);
        let at = At { frame, ts_ns };
        match event {
            TlsEvent::ClientHello {
                sni,
                max_version,
                min_version,
                cipher_suites,
            } => {
                tls.client_hello.get_or_insert(at);
                if tls.sni.is_none() {
                    tls.sni = sni;
                }
                tls.offer.get_or_insert(TlsOffer {
                    max_version,
                    min_version,
                    cipher_suites,
                });
            }
            TlsEvent::ServerHello {
                version,
                cipher_suite,
                extended_master_secret,
                encrypt_then_mac,
                retry,
            } => {
                if !retry {
                    tls.server_hello = Some(at);
                    tls.negotiated = Some(TlsNegotiated {
                        version,
                        cipher_suite,
                        extended_master_secret,
                        encrypt_then_mac,
                    });
                }
            }
            TlsEvent::Certificate {
                from_client: by_client,
                chain,
                decrypted,
            } => {
                let slot = if by_client {
                    &mut tls.client_certificates
                } else {
                    &mut tls.server_certificates
                };
                slot.get_or_insert(TlsChain {
                    at,
                    chain,
                    decrypted,
                });
            }
            TlsEvent::EncryptedAlert => {
                tls.encrypted_alert.get_or_insert((at, from_client));
            }
            TlsEvent::CertificateRequest => {
                tls.certificate_request.get_or_insert(at);
            }
            TlsEvent::Alert {
                level,
                description,
                name,
                decrypted,
            } => {
                // close_notify ends a session that worked; the first other alert is the evidence.
                let replace = tls.alert.as_ref().is_none_or(|a| a.description == 0);
                if replace && (description != 0 || tls.alert.is_none()) {
                    tls.alert = Some(TlsAlert {
                        frame,
                        ts_ns,
                        from_client,
                        level,
                        description,
                        name,
                        decrypted,
                    });
                }
            }
            // A TLS 1.3 client sends application data right after its Finished, before the server
            // has judged its certificate: only the server's shows that the handshake completed.
            TlsEvent::ApplicationData => {
                if !from_client || tls.version() != Some(0x0304) {
                    tls.application_data = true;
                }
            }
            // The decryption stage reports each change; a failure is final.
            TlsEvent::Decryption(d) => {
                if tls.decryption != Some(Decryption::Failed) {
                    tls.decryption = Some(d);
                }
            }
        }
    }

    /// Marks the connection of `a` and `b` as carrying SIP; its key.
    pub fn mark_sip(&mut self, a: SocketAddr, b: SocketAddr) -> Option<Key> {
        let key = *self.open.get(&connection_key(a, b))?;
        if let Some(t) = self.conns.get_mut(key) {
            t.conn.sip = true;
        }
        Some(key)
    }

    /// The current connection between `a` and `b`.
    pub fn find(&self, a: SocketAddr, b: SocketAddr) -> Option<Key> {
        self.open.get(&connection_key(a, b)).copied()
    }

    /// Connections from `client` to `server` still in the table (open or lingering).
    pub fn on_path(&self, client: IpAddr, server: SocketAddr) -> &[Key] {
        self.by_path
            .get(&(client, server))
            .map_or(&[], Vec::as_slice)
    }

    /// The connection as it stands, with its state settled as if it ended now.
    pub fn snapshot(&self, key: Key) -> Option<Connection> {
        self.conns.get(key).map(|t| {
            let mut c = t.conn.clone();
            c.settle_state();
            c
        })
    }

    /// When the connection began, and whether it is still open.
    pub fn snapshot_times(&self, key: Key) -> Option<(i64, bool)> {
        self.conns
            .get(key)
            .map(|t| (t.conn.first_ts_ns, t.closed_ts.is_none()))
    }

    /// An open call holds the connection as evidence.
    pub fn hold(&mut self, key: Key) {
        if let Some(t) = self.conns.get_mut(key) {
            t.holds += 1;
        }
    }

    /// A finalized call lets go of the connection, `claimed` if its diagnosis tied it to the call.
    pub fn unhold(&mut self, key: Key, claimed: Option<usize>) {
        if let Some(t) = self.conns.get_mut(key) {
            t.holds = t.holds.saturating_sub(1);
            if let Some(call) = claimed {
                if let Err(at) = t.claimed.binary_search(&call) {
                    t.claimed.insert(at, call);
                }
            }
            if t.holds == 0 {
                let due = t.due();
                self.queue.push(Reverse((due, key)));
            }
        }
    }

    /// The next connection nothing needs at `now`, taken out with its state settled.
    pub fn expire(&mut self, now: i64) -> Option<Released<Connection>> {
        while let Some(&Reverse((at, key))) = self.queue.peek() {
            if at > now {
                return None;
            }
            self.queue.pop();
            let Some(t) = self.conns.get(key) else {
                continue;
            };
            if t.holds > 0 {
                // Queued again when its last holder lets go.
                continue;
            }
            let due = t.due();
            if due > now {
                self.queue.push(Reverse((due, key)));
                continue;
            }
            return self.take(key);
        }
        None
    }

    /// Every connection still in the table, taken out, by first frame.
    pub fn drain(&mut self) -> Vec<Released<Connection>> {
        let mut keys: Vec<(u64, Key)> = self
            .conns
            .iter()
            .map(|(k, t)| (t.conn.first_frame, k))
            .collect();
        keys.sort_unstable();
        keys.into_iter().filter_map(|(_, k)| self.take(k)).collect()
    }

    fn take(&mut self, key: Key) -> Option<Released<Connection>> {
        let t = self.conns.remove(key)?;
        let mut conn = t.conn;
        let pair = connection_key(conn.client, conn.server);
        if self.open.get(&pair) == Some(&key) {
            self.open.remove(&pair);
        }
        let path = (conn.client.ip(), conn.server);
        if let Some(keys) = self.by_path.get_mut(&path) {
            keys.retain(|k| *k != key);
            if keys.is_empty() {
                self.by_path.remove(&path);
            }
        }
        conn.settle_state();
        Some(Released {
            item: conn,
            calls: t.claimed,
        })
    }

    /// One ICMP error: into the group of its reporter and quoted flow. Returns the group's key and
    /// whether the error opened it; `None` beyond [`Limits::icmp_groups`].
    pub fn icmp(&mut self, error: IcmpError) -> Option<(Key, bool)> {
        let k = (
            error.reporter,
            error.src,
            error.dst,
            error.kind,
            error.proto,
        );
        let expiry = error.ts_ns.saturating_add(ICMP_IDLE_NS);
        if let Some(&key) = self.icmp_open.get(&k) {
            if let Some(t) = self.icmp.get_mut(key) {
                let g = &mut t.group;
                g.count += 1;
                if g.errors.len() < MAX_ICMP_KEPT {
                    g.errors.push(error.clone());
                }
                g.last = error;
                return Some((key, false));
            }
        }
        if self.icmp.len() >= self.limits.icmp_groups {
            self.untracked_icmp += 1;
            return None;
        }
        let key = self.icmp.insert(TrackedIcmp {
            group: IcmpGroup {
                errors: vec![error.clone()],
                last: error,
                count: 1,
            },
            holds: 0,
            claimed: Vec::new(),
        });
        self.icmp_open.insert(k, key);
        self.icmp_queue.push(Reverse((expiry, key)));
        Some((key, true))
    }

    /// An ICMP group as it stands.
    pub fn icmp_snapshot(&self, key: Key) -> Option<IcmpGroup> {
        self.icmp.get(key).map(|t| t.group.clone())
    }

    /// An open call holds the ICMP group as evidence.
    pub fn hold_icmp(&mut self, key: Key) {
        if let Some(t) = self.icmp.get_mut(key) {
            t.holds += 1;
        }
    }

    /// A finalized call lets go of the group, `claimed` if its diagnosis tied it to the call.
    pub fn unhold_icmp(&mut self, key: Key, claimed: Option<usize>) {
        if let Some(t) = self.icmp.get_mut(key) {
            t.holds = t.holds.saturating_sub(1);
            if let Some(call) = claimed {
                if let Err(at) = t.claimed.binary_search(&call) {
                    t.claimed.insert(at, call);
                }
            }
            if t.holds == 0 {
                let due = t.group.last.ts_ns.saturating_add(ICMP_IDLE_NS);
                self.icmp_queue.push(Reverse((due, key)));
            }
        }
    }

    /// The next ICMP group complete and unneeded at `now`, taken out.
    pub fn expire_icmp(&mut self, now: i64) -> Option<Released<IcmpGroup>> {
        while let Some(&Reverse((at, key))) = self.icmp_queue.peek() {
            if at > now {
                return None;
            }
            self.icmp_queue.pop();
            let Some(t) = self.icmp.get(key) else {
                continue;
            };
            if t.holds > 0 {
                continue;
            }
            let due = t.group.last.ts_ns.saturating_add(ICMP_IDLE_NS);
            if due > now {
                self.icmp_queue.push(Reverse((due, key)));
                continue;
            }
            return self.take_icmp(key);
        }
        None
    }

    /// Every ICMP group still held, taken out, by first frame.
    pub fn drain_icmp(&mut self) -> Vec<Released<IcmpGroup>> {
        let mut keys: Vec<(u64, Key)> = self
            .icmp
            .iter()
            .map(|(k, t)| (t.group.first().frame, k))
            .collect();
        keys.sort_unstable();
        keys.into_iter()
            .filter_map(|(_, k)| self.take_icmp(k))
            .collect()
    }

    fn take_icmp(&mut self, key: Key) -> Option<Released<IcmpGroup>> {
        let t = self.icmp.remove(key)?;
        let e = t.group.first();
        let k = (e.reporter, e.src, e.dst, e.kind, e.proto);
        if self.icmp_open.get(&k) == Some(&key) {
            self.icmp_open.remove(&k);
        }
        Some(Released {
            item: t.group,
            calls: t.claimed,
        })
    }

    /// Connections and ICMP groups held now.
    pub fn held(&self) -> (usize, usize) {
        (self.conns.len(), self.icmp.len())
    }
}

/// An ICMP or ICMPv6 error and the packet it quotes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IcmpError {
    pub frame: u64,
    pub ts_ns: i64,
    /// Who sent the ICMP message (the host or router that refused the packet).
    pub reporter: IpAddr,
    pub v6: bool,
    pub icmp_type: u8,
    pub code: u8,
    /// In plain words: `port unreachable`, `host unreachable`, `administratively prohibited`, ...
    pub kind: &'static str,
    /// The quoted packet's protocol and endpoints (ports 0 when not quoted).
    pub proto: u8,
    pub src: SocketAddr,
    pub dst: SocketAddr,
    /// The quoted payload starts like a SIP message / an RTP packet.
    pub quoted_sip: bool,
    pub quoted_rtp: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().expect("a socket address")
    }

    fn run(segments: &[(&str, &str, u8)]) -> Vec<Connection> {
        let mut t = Tracker::default();
        for (i, (src, dst, bits)) in segments.iter().enumerate() {
            t.segment(
                i as u64 + 1,
                i as i64 * 1_000_000_000,
                addr(src),
                addr(dst),
                *bits,
                0,
            );
        }
        t.drain().into_iter().map(|r| r.item).collect()
    }

    const C: &str = "192.0.2.1:40000";
    const S: &str = "192.0.2.2:5061";
    const SYN: u8 = flags::SYN;
    const SYNACK: u8 = flags::SYN | flags::ACK;
    const ACK: u8 = flags::ACK;
    const RST: u8 = flags::RST | flags::ACK;
    const FIN: u8 = flags::FIN | flags::ACK;

    /// TLS 1.3: the client's records alone do not show the handshake completed; the client's SIP
    /// decrypted shows its side did (a close is then no failure), the server's that it completed; the
    /// client's first request names the SIP target.
    #[test]
    fn decrypted_sip_completes_a_tls13_handshake_and_names_the_target() {
        let mut t = Tracker::default();
        for (i, (src, dst, bits)) in [(C, S, SYN), (S, C, SYNACK), (C, S, ACK)]
            .iter()
            .enumerate()
        {
            t.segment(i as u64 + 1, i as i64, addr(src), addr(dst), *bits, 0);
        }
        let hello = TlsEvent::ServerHello {
            version: 0x0304,
            cipher_suite: 0x1302,
            extended_master_secret: false,
            encrypt_then_mac: false,
            retry: false,
        };
        t.tls(5, 5, addr(S), addr(C), hello);
        t.tls(6, 6, addr(C), addr(S), TlsEvent::ApplicationData);
        let tls = |t: &mut Tracker| t.open_mut(addr(C), addr(S)).and_then(|c| c.tls.clone());
        let failed = |t: &mut Tracker| t.open_mut(addr(C), addr(S)).map(|c| c.tls_failed());
        assert!(!tls(&mut t).expect("TLS seen").application_data);
        t.segment(7, 7, addr(C), addr(S), FIN, 0);
        assert_eq!(failed(&mut t), Some(true), "closed, nothing read");
        let invite = Some("sip:app@app1.lab.example;transport=tls");
        t.tls_sip(addr(C), addr(S), invite);
        assert_eq!(failed(&mut t), Some(false), "the client's SIP was read");
        t.tls_sip(addr(S), addr(C), None);
        t.tls_sip(addr(C), addr(S), Some("sip:other.example"));
        let seen = tls(&mut t).expect("TLS seen");
        assert!(seen.application_data && seen.client_sip);
        assert_eq!(seen.sip_target.as_deref(), Some("app1.lab.example"));
    }

    #[test]
    fn unanswered_syns_are_s0_with_every_attempt() {
        let c = run(&[(C, S, SYN), (C, S, SYN), (C, S, SYN)]);
        assert_eq!(c.len(), 1);
        assert_eq!(
            (c[0].state, c[0].syn_count, c[0].syns.len()),
            (ConnState::S0, 3, 3)
        );
        assert_eq!(c[0].evidence_frames(), vec![1, 2, 3]);
    }

    #[test]
    fn syn_retransmission_then_success_is_one_established_connection() {
        let c = run(&[
            (C, S, SYN),
            (C, S, SYN),
            (S, C, SYNACK),
            (C, S, ACK),
            (C, S, FIN),
            (S, C, FIN),
        ]);
        assert_eq!(c.len(), 1);
        assert_eq!((c[0].state, c[0].syn_count), (ConnState::Sf, 2));
        assert_eq!(c[0].handshake_ms, Some(2000.0));
    }

    #[test]
    fn rst_answering_a_syn_is_rej() {
        let c = run(&[(C, S, SYN), (S, C, RST)]);
        assert_eq!(c[0].state, ConnState::Rej);
    }

    #[test]
    fn states_after_establishment() {
        let hs = [(C, S, SYN), (S, C, SYNACK), (C, S, ACK)];
        let with = |tail: &[(&'static str, &'static str, u8)]| {
            let all: Vec<_> = hs.iter().chain(tail).copied().collect();
            run(&all)[0].state
        };
        assert_eq!(with(&[]), ConnState::S1);
        assert_eq!(with(&[(C, S, FIN)]), ConnState::S2);
        assert_eq!(with(&[(S, C, FIN)]), ConnState::S3);
        assert_eq!(with(&[(C, S, RST)]), ConnState::Rsto);
        assert_eq!(with(&[(S, C, RST)]), ConnState::Rstr);
        assert_eq!(run(&[(C, S, SYN), (C, S, RST)])[0].state, ConnState::Rstos0);
        assert_eq!(run(&[(C, S, SYN), (C, S, FIN)])[0].state, ConnState::Sh);
        assert_eq!(run(&[(C, S, ACK), (S, C, ACK)])[0].state, ConnState::Oth);
    }

    #[test]
    fn a_new_syn_after_a_closed_connection_starts_another() {
        let c = run(&[(C, S, SYN), (S, C, RST), (C, S, SYN), (S, C, SYNACK)]);
        assert_eq!(c.len(), 2);
        assert_eq!((c[0].state, c[1].state), (ConnState::Rej, ConnState::S1));
    }

    #[test]
    fn a_groups_stretches_cover_the_errors_it_did_not_keep() {
        let mut t = Tracker::default();
        let mut key = None;
        for i in 0..70_i64 {
            let error = IcmpError {
                frame: 10 + i as u64,
                ts_ns: i * 1_000,
                reporter: "192.0.2.10".parse().expect("an IP"),
                v6: false,
                icmp_type: 3,
                code: 3,
                kind: "port unreachable",
                proto: 17,
                src: addr("192.0.2.31:20000"),
                dst: addr("192.0.2.10:6000"),
                quoted_sip: false,
                quoted_rtp: true,
            };
            key = t.icmp(error).map(|(k, _)| k);
        }
        let group = t.icmp_snapshot(key.expect("tracked")).expect("a group");
        let stretches: Vec<_> = group.stretches().collect();
        assert_eq!(stretches.len(), MAX_ICMP_KEPT + 2);
        assert_eq!(stretches[0], (0, 0));
        assert_eq!(stretches[MAX_ICMP_KEPT], (69_000, 69_000));
        // Errors 64 to 68 were counted, not kept: they lie between the 64th and the last.
        assert_eq!(stretches[MAX_ICMP_KEPT + 1], (63_000, 69_000));
    }
}
