//! TCP connections and ICMP errors: the transport evidence behind SIP failures.
//!
//! Takes TCP segment summaries, TLS record observations and ICMP errors in capture order; produces a
//! connection table in Zeek's `conn_state` vocabulary (S0, REJ, S1, SF, S2, S3, RSTO, RSTR, RSTOS0,
//! SH, OTH) with SYN attempts, handshake time, who closed or reset, bytes each way and what TLS showed,
//! and the list of ICMP errors with the flow they quote. Any port, not only SIP's.
//! Memory is bounded: at most [`MAX_CONNECTIONS`] connections are tracked (more are counted).

use std::net::{IpAddr, SocketAddr};

use rustc_hash::FxHashMap;

/// Connections tracked at most; segments of further connections are only counted.
pub const MAX_CONNECTIONS: usize = 250_000;
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
}

/// What the TLS records of a connection showed (the contents stay encrypted).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tls {
    /// Frame of the ClientHello, and the server name it asked for.
    pub client_hello: Option<u64>,
    pub sni: Option<String>,
    /// Frame of the ServerHello.
    pub server_hello: Option<u64>,
    /// The first alert, if any.
    pub alert: Option<TlsAlert>,
    /// Application data flowed after the handshake (it completed).
    pub application_data: bool,
}

/// One TLS observation of a segment, made by the parallel stage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TlsEvent {
    ClientHello {
        sni: Option<String>,
    },
    ServerHello,
    Alert {
        level: u8,
        description: u8,
        name: &'static str,
    },
    ApplicationData,
}

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
    pub client_fin: Option<u64>,
    pub server_fin: Option<u64>,
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

    /// Whether the capture saw anything come back from the server.
    fn server_answered(&self) -> bool {
        self.syn_ack.is_some() || self.server_bytes > 0 || self.server_fin.is_some()
    }

    fn settle_state(&mut self) {
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

/// Builds the connection table from segments in capture order.
#[derive(Default)]
pub struct Tracker {
    /// Open connection per unordered address pair.
    open: FxHashMap<(SocketAddr, SocketAddr), usize>,
    conns: Vec<Connection>,
    /// Segments of connections beyond [`MAX_CONNECTIONS`].
    pub untracked_segments: u64,
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
    /// One segment: its frame, time, endpoints, flag bits and payload length.
    pub fn segment(
        &mut self,
        frame: u64,
        ts_ns: i64,
        src: SocketAddr,
        dst: SocketAddr,
        bits: u8,
        len: usize,
    ) {
        let syn_only = bits & (flags::SYN | flags::ACK) == flags::SYN;
        let k = connection_key(src, dst);
        let mut index = self.open.get(&k).copied();
        // A new SYN on a connection that already got going is a new connection reusing the ports.
        if let (Some(i), true) = (index, syn_only) {
            let c = &self.conns[i];
            let retransmission =
                c.client == src && c.syn_ack.is_none() && c.rst.is_none() && c.client_bytes == 0;
            if !retransmission {
                index = None;
            }
        }
        let i = match index {
            Some(i) => i,
            None => {
                if self.conns.len() >= MAX_CONNECTIONS {
                    self.untracked_segments += 1;
                    return;
                }
                // The client is whoever sent the SYN; a SYN-ACK's receiver; else the first sender.
                let (client, server) =
                    if bits & (flags::SYN | flags::ACK) == (flags::SYN | flags::ACK) {
                        (dst, src)
                    } else {
                        (src, dst)
                    };
                self.conns
                    .push(Connection::new(client, server, frame, ts_ns));
                self.open.insert(k, self.conns.len() - 1);
                self.conns.len() - 1
            }
        };
        let c = &mut self.conns[i];
        let from_client = src == c.client;
        c.packets += 1;
        c.last_frame = frame;
        c.last_ts_ns = ts_ns;
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
            fin.get_or_insert(frame);
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
        let Some(&i) = self.open.get(&connection_key(src, dst)) else {
            return;
        };
        let c = &mut self.conns[i];
        let from_client = src == c.client;
        let tls = c.tls.get_or_insert_with(Tls::default);
        match event {
            TlsEvent::ClientHello { sni } => {
                tls.client_hello.get_or_insert(frame);
                if tls.sni.is_none() {
                    tls.sni = sni;
                }
            }
            TlsEvent::ServerHello => {
                tls.server_hello.get_or_insert(frame);
            }
            TlsEvent::Alert {
                level,
                description,
                name,
            } => {
                tls.alert.get_or_insert(TlsAlert {
                    frame,
                    ts_ns,
                    from_client,
                    level,
                    description,
                    name,
                });
            }
            TlsEvent::ApplicationData => tls.application_data = true,
        }
    }

    /// Marks the connection of `a` and `b` as carrying SIP.
    pub fn mark_sip(&mut self, a: SocketAddr, b: SocketAddr) {
        if let Some(&i) = self.open.get(&connection_key(a, b)) {
            self.conns[i].sip = true;
        }
    }

    /// The connections, by first frame, with their final state.
    pub fn finish(self) -> Vec<Connection> {
        let mut conns = self.conns;
        for c in &mut conns {
            c.settle_state();
        }
        conns
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
        t.finish()
    }

    const C: &str = "192.0.2.1:40000";
    const S: &str = "192.0.2.2:5061";
    const SYN: u8 = flags::SYN;
    const SYNACK: u8 = flags::SYN | flags::ACK;
    const ACK: u8 = flags::ACK;
    const RST: u8 = flags::RST | flags::ACK;
    const FIN: u8 = flags::FIN | flags::ACK;

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
}
