//! Test-only worlds: small hand-made calls, TCP connections, ICMP errors and RTP streams, fed in time
//! order through the real engine and diagnosis so that the rules see what the pipeline would give
//! them. The message builders live in `correlate::testkit` and are re-exported here.

use std::net::SocketAddr;

pub(crate) use crate::correlate::testkit::*;

use crate::correlate::calls::OtherDialog;
use crate::correlate::engine::{Engine, FinishedCall, Finisher, Limits, Tied};
use crate::correlate::fax::UdptlPacket;
use crate::correlate::media::{Stream, StunClass};
use crate::correlate::message::Message;
use crate::correlate::peers::Peer;
use crate::correlate::registrations::Registration;
use crate::correlate::transactions::Transaction;
use crate::correlate::transport::{flags, Connection, IcmpError, IcmpGroup, Released, TlsEvent};
use crate::diagnose::facts::CallFacts;
use crate::diagnose::{
    Delivery, DiagnosedCall, Diagnoser, Diagnosis, Finished, Pattern, TransportEvent,
};
use crate::proto::rtcp::ReportBlock;

/// One thing that happened, for the engine.
enum Event {
    Sip(Box<Message>),
    Segment(u64, SocketAddr, SocketAddr, u8, usize),
    Tls(u64, SocketAddr, SocketAddr, TlsEvent),
    MarkSip(SocketAddr, SocketAddr),
    Icmp(IcmpError),
    Rtp {
        frame: u64,
        src: SocketAddr,
        dst: SocketAddr,
        ssrc: u32,
        seq: u16,
        rtp_ts: u32,
        pt: u8,
        marker: bool,
    },
    Rtcp(u64, ReportBlock),
    Udptl(u64, SocketAddr, SocketAddr, UdptlPacket),
    Stun(u64, SocketAddr, SocketAddr, StunClass),
    Dns(u64, SocketAddr, SocketAddr, Box<crate::proto::dns::Message>),
}

/// Everything a rule test needs, fed in time order through the real engine.
pub(crate) struct World {
    events: Vec<(i64, Event)>,
    /// Time of the latest event added (what `mark_sip` happens at).
    latest: i64,
}

/// What the engine and the diagnosis made of a world.
#[derive(Default)]
pub(crate) struct Built {
    /// The finished calls as the engine handed them to the diagnosis (all candidate evidence).
    pub finished: Vec<FinishedCall>,
    /// The same calls diagnosed, by index.
    pub calls: Vec<DiagnosedCall>,
    pub streams: Vec<Stream>,
    pub connections: Vec<Connection>,
    /// The ICMP groups the engine let go.
    pub icmp: Vec<IcmpGroup>,
    pub events: Vec<TransportEvent>,
    /// The listed transactions, registration bindings and peer pairs, as the engine let them go.
    pub transactions: Vec<Transaction>,
    pub registrations: Vec<Registration>,
    pub peers: Vec<Peer>,
    /// The causes several calls share, as the diagnoser grouped them.
    pub patterns: Vec<Pattern>,
}

impl Built {
    /// Keeps what the diagnoser finished, each kind in its list (the calls it left undiagnosed
    /// diagnosed by `delivery`, as the pipeline's render thread does).
    fn keep(&mut self, finished: Vec<Finished>, delivery: &mut Delivery) {
        for item in finished {
            match item {
                Finished::Call(call) => self.calls.push(call),
                Finished::Undiagnosed(call) => self.calls.push(delivery.diagnose(call)),
                Finished::Stream(stream) => self.streams.push(stream),
                Finished::Connection(conn) => self.connections.push(conn),
                Finished::TransportEvent(event) => self.events.push(event),
                Finished::Transaction(tx) => self.transactions.push(tx.item),
                Finished::Registration(reg) => self.registrations.push(reg.item),
                Finished::Peer(peer) => self.peers.push(peer.item),
                Finished::Other(_) | Finished::DnsFailure(_) | Finished::IcmpError(_) => {}
            }
        }
    }
}

/// Keeps what the engine finishes, as it finishes it, and diagnoses it as the pipeline does.
struct Recorder {
    diagnoser: Diagnoser,
    finished: Vec<FinishedCall>,
    icmp: Vec<IcmpGroup>,
}

impl Finisher for Recorder {
    fn call(&mut self, call: FinishedCall) -> Tied {
        self.finished.push(call.clone());
        self.diagnoser.call(call)
    }
    fn other(&mut self, dialog: OtherDialog) {
        self.diagnoser.other(dialog);
    }
    fn stream(&mut self, stream: Stream) {
        self.diagnoser.stream(stream);
    }
    fn connection(&mut self, conn: Released<Connection>, sip_port: bool) {
        self.diagnoser.connection(conn, sip_port);
    }
    fn icmp(&mut self, group: Released<IcmpGroup>, sip_port: bool) {
        self.icmp.push(group.item.clone());
        self.diagnoser.icmp(group, sip_port);
    }
    fn transaction(&mut self, tx: Transaction) {
        self.diagnoser.transaction(tx);
    }
    fn registration(&mut self, reg: Registration) {
        self.diagnoser.registration(reg);
    }
    fn peer(&mut self, peer: Peer) {
        self.diagnoser.peer(peer);
    }
    fn dns(&mut self, lookup: Released<crate::correlate::dns::Lookup>) {
        self.diagnoser.dns(lookup);
    }
}

impl World {
    pub fn new(msgs: Vec<Message>) -> World {
        let mut w = World {
            events: Vec::new(),
            latest: T0,
        };
        for m in msgs {
            w.push(m.ts_ns, Event::Sip(Box::new(m)));
        }
        w
    }

    fn push(&mut self, ts: i64, event: Event) -> &mut Self {
        self.latest = ts;
        self.events.push((ts, event));
        self
    }

    /// A TCP segment with the given flag bits and payload length.
    pub fn seg(
        &mut self,
        frame: u64,
        ms: f64,
        src: &str,
        dst: &str,
        bits: u8,
        len: usize,
    ) -> &mut Self {
        self.push(
            ns(ms),
            Event::Segment(frame, addr(src), addr(dst), bits, len),
        )
    }

    /// SYNs from `client` to `server` at these (frame, ms).
    pub fn syns(&mut self, client: &str, server: &str, at: &[(u64, f64)]) -> &mut Self {
        for &(frame, ms) in at {
            self.seg(frame, ms, client, server, flags::SYN, 0);
        }
        self
    }

    /// A full handshake at `ms` (frames `frame`..`frame + 2`).
    pub fn handshake(&mut self, frame: u64, ms: f64, client: &str, server: &str) -> &mut Self {
        self.seg(frame, ms, client, server, flags::SYN, 0)
            .seg(frame + 1, ms, server, client, flags::SYN | flags::ACK, 0)
            .seg(frame + 2, ms, client, server, flags::ACK, 0)
    }

    pub fn tls(&mut self, frame: u64, ms: f64, src: &str, dst: &str, event: TlsEvent) -> &mut Self {
        self.push(ns(ms), Event::Tls(frame, addr(src), addr(dst), event))
    }

    /// The connection of `a` and `b` carries SIP (from the time of the latest event on).
    pub fn mark_sip(&mut self, a: &str, b: &str) -> &mut Self {
        self.push(self.latest, Event::MarkSip(addr(a), addr(b)))
    }

    /// An ICMP port unreachable from `reporter` quoting a UDP packet `src` → `dst`.
    #[allow(clippy::too_many_arguments)] // a test builder: one argument per field reads best
    pub fn icmp(
        &mut self,
        frame: u64,
        ms: f64,
        reporter: &str,
        src: &str,
        dst: &str,
        sip: bool,
        rtp: bool,
    ) -> &mut Self {
        self.push(
            ns(ms),
            Event::Icmp(IcmpError {
                frame,
                ts_ns: ns(ms),
                reporter: reporter.parse().expect("an IP in a test"),
                v6: false,
                icmp_type: 3,
                code: 3,
                kind: "port unreachable",
                proto: 17,
                src: addr(src),
                dst: addr(dst),
                quoted_sip: sip,
                quoted_rtp: rtp,
            }),
        )
    }

    /// `count` PCMU packets 20 ms apart from `start_ms`, frames `first_frame`, `first_frame + 1`, ...
    /// Sequence numbers listed in `lose` are skipped.
    #[allow(clippy::too_many_arguments)] // a test builder: one argument per field reads best
    pub fn rtp_lossy(
        &mut self,
        first_frame: u64,
        start_ms: f64,
        src: &str,
        dst: &str,
        count: u16,
        pt: u8,
        lose: &[u16],
    ) -> &mut Self {
        self.rtp_packets(first_frame, start_ms, src, dst, count, pt, lose, &[])
    }

    /// As [`World::rtp`], with the marker bit on the packets listed in `marked` (0-based).
    pub fn rtp_marked(
        &mut self,
        first_frame: u64,
        start_ms: f64,
        src: &str,
        dst: &str,
        count: u16,
        marked: &[u16],
    ) -> &mut Self {
        self.rtp_packets(first_frame, start_ms, src, dst, count, 0, &[], marked)
    }

    #[allow(clippy::too_many_arguments)] // a test builder: one argument per field reads best
    fn rtp_packets(
        &mut self,
        first_frame: u64,
        start_ms: f64,
        src: &str,
        dst: &str,
        count: u16,
        pt: u8,
        lose: &[u16],
        marked: &[u16],
    ) -> &mut Self {
        for i in 0..count {
            if lose.contains(&i) {
                continue;
            }
            self.push(
                ns(start_ms + f64::from(i) * 20.0),
                Event::Rtp {
                    frame: first_frame + u64::from(i),
                    src: addr(src),
                    dst: addr(dst),
                    ssrc: ssrc_of(src),
                    seq: 1000 + i,
                    rtp_ts: u32::from(i) * 160,
                    pt,
                    marker: marked.contains(&i),
                },
            );
        }
        self
    }

    /// `count` UDPTL packets (V.17 image data, one secondary each) 20 ms apart from `start_ms`,
    /// sequence numbers from 0, frames `first_frame`, `first_frame + 1`, ...
    pub fn udptl(
        &mut self,
        first_frame: u64,
        start_ms: f64,
        src: &str,
        dst: &str,
        count: u16,
    ) -> &mut Self {
        for i in 0..count {
            let packet = UdptlPacket {
                seq: i,
                message: crate::proto::udptl::Message::Data(crate::proto::udptl::Modulation(8)),
                secondaries: 1,
                fec: false,
            };
            self.push(
                ns(start_ms + f64::from(i) * 20.0),
                Event::Udptl(first_frame + u64::from(i), addr(src), addr(dst), packet),
            );
        }
        self
    }

    /// An RTCP receiver report about the stream `src` sends (its SSRC, as [`World::rtp`] gives it).
    pub fn rtcp_about(&mut self, frame: u64, ms: f64, src: &str) -> &mut Self {
        let block = ReportBlock {
            ssrc: ssrc_of(src),
            fraction_lost: 0,
            cumulative_lost: 0,
            extended_highest_seq: 0,
            jitter: 0,
            last_sr: 0,
            delay_since_last_sr: 0,
        };
        self.push(ns(ms), Event::Rtcp(frame, block))
    }

    pub fn rtp(
        &mut self,
        first_frame: u64,
        start_ms: f64,
        src: &str,
        dst: &str,
        count: u16,
    ) -> &mut Self {
        self.rtp_lossy(first_frame, start_ms, src, dst, count, 0, &[])
    }

    pub fn stun(
        &mut self,
        frame: u64,
        ms: f64,
        src: &str,
        dst: &str,
        class: StunClass,
    ) -> &mut Self {
        self.push(ns(ms), Event::Stun(frame, addr(src), addr(dst), class))
    }

    /// A DNS query (id 1) from `client` to `server` for `name`, or (with `answer`) its response: the rcode
    /// and the A records answered.
    pub fn dns(
        &mut self,
        frame: u64,
        ms: f64,
        (client, server): (&str, &str),
        (name, qtype): (&str, crate::proto::dns::Type),
        answer: Option<(crate::proto::dns::Rcode, &[[u8; 4]])>,
    ) -> &mut Self {
        use crate::proto::dns;
        let msg = dns::Message {
            id: 1,
            response: answer.is_some(),
            opcode: 0,
            truncated: false,
            rcode: answer.map_or(dns::Rcode::NoError, |(r, _)| r),
            questions: vec![dns::Question {
                name: name.into(),
                qtype,
                class: 1,
            }],
            answers: answer
                .map(|(_, ips)| ips)
                .unwrap_or_default()
                .iter()
                .map(|&ip| dns::Record {
                    name: name.into(),
                    rtype: dns::Type::A,
                    ttl: 60,
                    data: dns::Data::A(ip.into()),
                })
                .collect(),
            additional: vec![],
        };
        let (src, dst) = if answer.is_some() {
            (server, client)
        } else {
            (client, server)
        };
        self.push(
            ns(ms),
            Event::Dns(frame, addr(src), addr(dst), Box::new(msg)),
        )
    }

    /// Runs the events, in time order, through the engine and the diagnosis.
    pub fn build(&mut self) -> Built {
        let mut events = std::mem::take(&mut self.events);
        events.sort_by_key(|(ts, _)| *ts);
        let mut engine = Engine::new(Limits::default());
        engine.start(T0);
        let mut out = Recorder {
            diagnoser: Diagnoser::default(),
            finished: Vec::new(),
            icmp: Vec::new(),
        };
        for (ts, event) in events {
            engine.advance(ts, &mut out);
            match event {
                Event::Sip(m) => engine.sip(*m),
                Event::Segment(frame, src, dst, bits, len) => {
                    engine.segment(frame, ts, src, dst, bits, len)
                }
                Event::Tls(frame, src, dst, e) => engine.tls(frame, ts, src, dst, e),
                Event::MarkSip(a, b) => engine.mark_sip(a, b),
                Event::Icmp(e) => engine.icmp(e),
                Event::Rtp {
                    frame,
                    src,
                    dst,
                    ssrc,
                    seq,
                    rtp_ts,
                    pt,
                    marker,
                } => {
                    let stream = engine.stream(frame, ts, src, dst, ssrc, pt);
                    engine.rtp(stream, frame, ts, seq, rtp_ts, marker, pt, 160);
                }
                Event::Rtcp(frame, block) => engine.rtcp(frame, ts, &[block]),
                Event::Udptl(frame, src, dst, packet) => {
                    engine.udptl(frame, ts, src, dst, packet);
                }
                Event::Stun(frame, src, dst, class) => engine.stun(frame, ts, src, dst, class),
                Event::Dns(frame, src, dst, msg) => engine.dns(
                    frame,
                    ts,
                    (src, dst),
                    crate::correlate::message::Transport::Udp,
                    &msg,
                ),
            }
        }
        engine.finish(&mut out);
        let mut built = Built::default();
        let mut delivery = Delivery::default();
        built.keep(out.diagnoser.take(), &mut delivery);
        built.patterns = delivery.patterns(out.diagnoser.take_patterns());
        built.finished = out.finished;
        built.icmp = out.icmp;
        built.finished.sort_by_key(|f| f.index);
        built.calls.sort_by_key(|c| c.index);
        built.events.sort_by_key(|e| (e.first_frame, e.code));
        built
    }
}

impl Built {
    pub fn facts(&self, i: usize) -> CallFacts<'_> {
        CallFacts::of(&self.finished[i])
    }

    pub fn diagnose(&self) -> Diagnosis {
        Diagnosis {
            calls: self.calls.iter().map(|c| c.findings.clone()).collect(),
            transport_events: self.events.clone(),
            patterns: self.patterns.clone(),
        }
    }
}

/// The SSRC the test streams from `src` get: one per sender.
fn ssrc_of(src: &str) -> u32 {
    if src == CALLER_RTP {
        0x1111
    } else {
        0x2222
    }
}

/// The codes of a call's findings, primary first.
pub(crate) fn codes(d: &Diagnosis, call: usize) -> Vec<&'static str> {
    d.calls[call].iter().map(|f| f.code).collect()
}
