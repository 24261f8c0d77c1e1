//! One unit of parallel work: read the records of a byte range, decode their packets, and turn the
//! interesting ones into owned events for the fold.
//!
//! Produces an [`Output`]: counts, plus the events the order-dependent stages need, in frame order —
//! SIP messages over UDP (parsed here, in parallel), every TCP segment with its payload (the fold tells which
//! connections carry SIP or TLS), RTP/RTCP/STUN packet summaries, ICMP errors and IP fragments. Events
//! name their flow by an index into the chunk's flow table, and their frame by its index in the chunk
//! (0-based); the fold makes them global. Nothing here depends on other chunks.
//!
//! HEP (a proxy's or SBC's mirror of its SIP, `proto::hep`) is unwrapped here: a UDP payload starting
//! with `HEP3` on any port, or a HEP1/2 header on a HEP port ([`Config::hep_ports`]), and TCP segments
//! of back-to-back HEP3 packets. The SIP inside becomes the event, with HEP's capture time and
//! addresses, numbered as the frame that carried it; what else HEP carried (RTCP reports, logs) is
//! counted. A HEP3 packet split across TCP segments is counted, not read.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::ops::Range;
use std::sync::Arc;

use rustc_hash::FxHashMap;

use crate::analysis::DecodeCounts;
use crate::capture::{CaptureFile, ChunkRead, Start};
use crate::correlate::fax::UdptlPacket;
use crate::correlate::media::StunClass;
use crate::correlate::message::{Message, Transport};
use crate::correlate::transport::IcmpError;
use crate::decode::{self, Fragment, Icmp, IcmpKind, Ip, LinkType, TcpFlags, Unreachable, L4};
use crate::proto::{dns, hep, rtcp, rtp, sip, stun, udptl};

/// DNS's port (RFC 1035 §4.2): only there are UDP payloads and TCP segments read as DNS.
const DNS_PORT: u16 = 53;

/// What classification takes from the run's options.
#[derive(Clone, Copy)]
pub(super) struct Config<'a> {
    /// Frames it rejects are numbered and counted, not analysed.
    pub filter: Option<&'a super::FrameFilter>,
    /// UDP ports where HEP1/2 is recognised (HEP3 is recognised on any port by its magic).
    pub hep_ports: &'a [u16],
}

/// A UDP datagram to classify: its payload, the frames that carried it, when and between whom.
pub(super) struct Datagram<'a> {
    pub payload: &'a [u8],
    pub frames: &'a [u64],
    pub ts_ns: i64,
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub sender: Sender,
}

/// Where classification puts what it finds besides events.
pub(super) struct Sinks<'a> {
    pub flows: &'a mut Flows,
    pub sip_errors: &'a mut BTreeMap<&'static str, u64>,
    pub counts: &'a mut DecodeCounts,
}

/// What a chunk found.
pub(super) struct Output {
    pub read: ChunkRead,
    pub frames: u64,
    pub captured_bytes: u64,
    /// Earliest and latest packet timestamps.
    pub first_ts_ns: Option<i64>,
    pub last_ts_ns: Option<i64>,
    /// Link types seen (few: usually one).
    pub link_types: Vec<u32>,
    pub counts: DecodeCounts,
    /// Malformed SIP over UDP, by reason.
    pub sip_errors: BTreeMap<&'static str, u64>,
    /// Timestamp of the chunk's first frame in file order.
    pub first_frame_ts_ns: Option<i64>,
    /// (source, destination) of each flow events refer to.
    pub flows: Vec<(SocketAddr, SocketAddr)>,
    /// In frame order.
    pub events: Vec<Event>,
}

/// Something the fold must handle in capture order.
pub(super) struct Event {
    /// 0-based index of the frame within the chunk.
    pub local: u64,
    pub ts_ns: i64,
    pub kind: Kind,
}

/// What happened in a frame. `flow` indexes [`Output::flows`].
pub(super) enum Kind {
    /// A SIP message that came in one UDP datagram (its frames are chunk-local), with what the IP and
    /// link layers said about its sender (none for SIP a HEP feed carried: those layers are the
    /// collector's, not the sender's).
    Sip(Arc<Message>, Option<Sender>),
    /// A TCP segment with its payload (none for a HEP feed's, read here): which connections carry SIP
    /// or TLS only the fold can tell (a chunk sees part of a connection), so that the result does not
    /// depend on where chunks begin.
    Tcp {
        flow: u32,
        seq: u32,
        flags: TcpFlags,
        len: u32,
        payload: Vec<u8>,
    },
    /// An RTP packet; `udptl` when its bytes are also a well-formed UDPTL packet (the engine knows
    /// from the SDP which one it is).
    Rtp {
        flow: u32,
        ssrc: u32,
        seq: u16,
        rtp_ts: u32,
        pt: u8,
        marker: bool,
        len: u16,
        udptl: Option<UdptlPacket>,
    },
    /// A UDPTL packet (T.38 fax) that does not look like RTP.
    Udptl {
        flow: u32,
        packet: UdptlPacket,
    },
    /// The report blocks of an RTCP compound packet.
    Rtcp(Box<[rtcp::ReportBlock]>),
    Stun {
        flow: u32,
        class: StunClass,
    },
    /// A DNS message over UDP, or one whole in a TCP segment, on port 53.
    Dns {
        flow: u32,
        transport: Transport,
        msg: Box<dns::Message>,
    },
    /// An ICMP error (its frame is chunk-local).
    Icmp(Box<IcmpError>),
    /// An IP fragment, for reassembly.
    Fragment(Box<OwnedFragment>),
}

/// What the IP and link layers say about the sender of a datagram (for the capture vantage).
#[derive(Clone, Copy, Debug)]
pub(super) struct Sender {
    /// The TTL (hop limit) the packet arrived with.
    pub ttl: u8,
    /// Its source MAC, when the link layer has one.
    pub mac: Option<[u8; 6]>,
}

/// An IP fragment copied out of the capture.
pub(super) struct OwnedFragment {
    pub ip: Ip,
    id: u32,
    offset: u32,
    more: bool,
    proto: u8,
    payload: Vec<u8>,
}

impl OwnedFragment {
    pub fn as_fragment(&self) -> Fragment<'_> {
        Fragment {
            id: self.id,
            offset: self.offset,
            more: self.more,
            proto: self.proto,
            payload: &self.payload,
        }
    }
}

/// The chunk's flow table. IPv4 flows, nearly all of them, are looked up by a packed 96-bit key:
/// hashing two `SocketAddr`s per packet showed in profiles.
#[derive(Default)]
pub(super) struct Flows {
    v4: FxHashMap<u128, u32>,
    other: FxHashMap<(SocketAddr, SocketAddr), u32>,
    list: Vec<(SocketAddr, SocketAddr)>,
}

impl Flows {
    pub(super) fn into_list(self) -> Vec<(SocketAddr, SocketAddr)> {
        self.list
    }

    fn id(&mut self, src: SocketAddr, dst: SocketAddr) -> u32 {
        let next = self.list.len() as u32;
        let list = &mut self.list;
        let add = || {
            list.push((src, dst));
            next
        };
        match (src, dst) {
            (SocketAddr::V4(s), SocketAddr::V4(d)) => {
                let key = (u128::from(s.ip().to_bits()) << 64)
                    | (u128::from(s.port()) << 48)
                    | (u128::from(d.ip().to_bits()) << 16)
                    | u128::from(d.port());
                *self.v4.entry(key).or_insert_with(add)
            }
            _ => *self.other.entry((src, dst)).or_insert_with(add),
        }
    }
}

/// Reads and decodes the records that start in `range`.
pub(super) fn run(
    file: &CaptureFile,
    range: Range<usize>,
    start: Start,
    config: Config<'_>,
    mut events: Vec<Event>,
) -> Output {
    let mut frames = 0u64;
    let mut captured_bytes = 0u64;
    let mut first_ts_ns: Option<i64> = None;
    let mut last_ts_ns: Option<i64> = None;
    let mut first_frame_ts_ns = None;
    let mut link_types: Vec<u32> = Vec::new();
    let mut counts = DecodeCounts::default();
    let mut sip_errors = BTreeMap::new();
    // About one event per 200 bytes of capture (RTP-heavy traffic); avoids regrowing the vector.
    events.clear();
    events.reserve(range.len() / 200);
    let mut flows = Flows::default();
    let read = file.read_chunk(range, start, &mut |frame| {
        let local = frames;
        frames += 1;
        captured_bytes += frame.data.len() as u64;
        first_frame_ts_ns.get_or_insert(frame.ts_ns);
        first_ts_ns = Some(first_ts_ns.map_or(frame.ts_ns, |t| t.min(frame.ts_ns)));
        last_ts_ns = Some(last_ts_ns.map_or(frame.ts_ns, |t| t.max(frame.ts_ns)));
        if !link_types.contains(&frame.link_type) {
            link_types.push(frame.link_type);
        }
        if config
            .filter
            .is_some_and(|keep| !keep(frame.link_type, frame.data))
        {
            counts.filtered_out += 1;
            return;
        }
        if frame.truncated() {
            counts.snaplen_truncated += 1;
        }
        let mut packet = decode::Packet::empty(LinkType(frame.link_type));
        decode::decode_into(&mut packet, frame.data);
        if let Some(stop) = &packet.stop {
            *counts.undecodable.entry(stop.code()).or_default() += 1;
        }
        let Some(ip) = packet.ip else {
            counts.non_ip += 1;
            return;
        };
        count_ip(&mut counts, &ip, &packet.l4);
        let ts_ns = frame.ts_ns;
        let mut push = |kind| events.push(Event { local, ts_ns, kind });
        match packet.l4 {
            L4::Udp(udp) => {
                let datagram = Datagram {
                    payload: udp.payload,
                    frames: &[local],
                    ts_ns,
                    src: SocketAddr::new(ip.src, udp.src_port),
                    dst: SocketAddr::new(ip.dst, udp.dst_port),
                    sender: Sender {
                        ttl: ip.ttl,
                        mac: packet.layers.source_mac(frame.data),
                    },
                };
                let mut sinks = Sinks {
                    flows: &mut flows,
                    sip_errors: &mut sip_errors,
                    counts: &mut counts,
                };
                udp_payload(&datagram, config.hep_ports, &mut sinks, &mut push);
            }
            L4::Tcp(seg) => {
                let src = SocketAddr::new(ip.src, seg.src_port);
                let dst = SocketAddr::new(ip.dst, seg.dst_port);
                let flow = flows.id(src, dst);
                let is_hep = hep::looks_like_hep3(seg.payload);
                if is_hep {
                    let datagram = Datagram {
                        payload: seg.payload,
                        frames: &[local],
                        ts_ns,
                        src,
                        dst,
                        sender: Sender {
                            ttl: ip.ttl,
                            mac: packet.layers.source_mac(frame.data),
                        },
                    };
                    hep_stream(&datagram, &mut sip_errors, &mut counts, &mut push);
                } else if seg.src_port == DNS_PORT || seg.dst_port == DNS_PORT {
                    // DNS over TCP (RFC 7766): the messages each segment holds whole after their 2-byte
                    // length; one split across segments is not read (resolvers send a query, and most
                    // answers, in one segment).
                    for m in dns::tcp_messages(seg.payload) {
                        if let Ok(msg) = dns::Message::parse(m) {
                            push(Kind::Dns {
                                flow,
                                transport: Transport::Tcp,
                                msg: Box::new(msg),
                            });
                        }
                    }
                }
                push(Kind::Tcp {
                    flow,
                    seq: seg.seq,
                    flags: seg.flags,
                    len: u32::try_from(seg.payload.len()).unwrap_or(u32::MAX),
                    payload: if is_hep {
                        Vec::new()
                    } else {
                        seg.payload.to_vec()
                    },
                });
            }
            L4::Icmp(icmp) => {
                if let Some(error) = icmp_error(&icmp, ip.src, local, ts_ns) {
                    push(Kind::Icmp(Box::new(error)));
                }
            }
            L4::Fragment(frag) => push(Kind::Fragment(Box::new(OwnedFragment {
                ip,
                id: frag.id,
                offset: frag.offset,
                more: frag.more,
                proto: frag.proto,
                payload: frag.payload.to_vec(),
            }))),
            L4::Other(_) | L4::None => {}
        }
    });
    Output {
        read,
        frames,
        captured_bytes,
        first_ts_ns,
        last_ts_ns,
        link_types,
        counts,
        sip_errors,
        first_frame_ts_ns,
        flows: flows.list,
        events,
    }
}

/// Classifies a UDP payload: HEP (HEP3 by content on any port, HEP1/2 on `hep_ports`), SIP, STUN,
/// RTCP or RTP (in that order, each recognised by content on any port), and UDPTL, which has no
/// magic number: a payload that parses as UDPTL is handed on as such (alongside its RTP reading
/// when it also looks like RTP) for the engine to decide by the SDP. The datagram's frames are the
/// frame references SIP messages get.
pub(super) fn udp_payload(
    d: &Datagram<'_>,
    hep_ports: &[u16],
    sinks: &mut Sinks<'_>,
    push: &mut dyn FnMut(Kind),
) {
    let payload = d.payload;
    let (src, dst, sender) = (d.src, d.dst, d.sender);
    // A first byte of RTP or RTCP (version 2: 0x80 to 0xbf) is none of HEP's ("HEP3", 1 or 2),
    // SIP's (ASCII, after line breaks) or STUN's (top bits 00): most of a call's datagrams skip
    // those checks.
    let version2 = matches!(payload.first(), Some(0x80..=0xbf));
    let on_hep_port = || hep_ports.contains(&src.port()) || hep_ports.contains(&dst.port());
    let hep = || {
        hep::looks_like_hep3(payload) || (matches!(payload.first(), Some(1 | 2)) && on_hep_port())
    };
    if !version2 && hep() {
        match hep::parse(payload) {
            Ok((packet, _)) => {
                hep_packet(&packet, d, sinks.sip_errors, sinks.counts, push);
                return;
            }
            // Magic without a valid packet is damaged HEP; a HEP1/2 guess that fails is not HEP.
            Err(_) if payload.starts_with(b"HEP3") => {
                sinks.counts.hep += 1;
                *sinks.counts.hep_payloads.entry("malformed").or_default() += 1;
                return;
            }
            Err(_) => {}
        }
    }
    let (flows, sip_errors) = (&mut *sinks.flows, &mut *sinks.sip_errors);
    let on_dns_port = src.port() == DNS_PORT || dst.port() == DNS_PORT;
    if on_dns_port && dns::looks_like_dns(payload) {
        if let Ok(msg) = dns::Message::parse(payload) {
            push(Kind::Dns {
                flow: flows.id(src, dst),
                transport: Transport::Udp,
                msg: Box::new(msg),
            });
            return;
        }
    }
    if !version2 && sip::looks_like_sip(payload) {
        Message::parse_all(
            payload,
            d.frames,
            d.ts_ns,
            src,
            dst,
            Transport::Udp,
            sip_errors,
            &mut |m| push(Kind::Sip(Arc::new(m), Some(sender))),
        );
    } else if !version2 && stun::looks_like_stun(payload) {
        if let Ok(msg) = stun::Message::new_checked(payload) {
            let class = match msg.class() {
                stun::Class::Request => StunClass::Request,
                stun::Class::Indication => StunClass::Indication,
                stun::Class::SuccessResponse => StunClass::Success,
                stun::Class::ErrorResponse => {
                    StunClass::Error(msg.error_code().map_or(0, |(code, _)| code))
                }
            };
            push(Kind::Stun {
                flow: flows.id(src, dst),
                class,
            });
        }
    } else if rtcp::looks_like_rtcp(payload) {
        if let Ok(compound) = rtcp::Compound::parse(payload) {
            let blocks: Vec<rtcp::ReportBlock> = compound
                .packets()
                .filter_map(|p| match p.body() {
                    Ok(rtcp::Body::SenderReport(sr)) => Some(sr.reports().collect::<Vec<_>>()),
                    Ok(rtcp::Body::ReceiverReport(rr)) => Some(rr.reports().collect::<Vec<_>>()),
                    _ => None,
                })
                .flatten()
                .collect();
            if !blocks.is_empty() {
                push(Kind::Rtcp(blocks.into_boxed_slice()));
            }
        }
    } else {
        let udptl = udptl::Packet::parse(payload)
            .ok()
            .map(|p| UdptlPacket::of(&p));
        let rtp = rtp::looks_like_rtp(payload)
            .then(|| rtp::Packet::new_checked(payload).ok())
            .flatten();
        match (rtp, udptl) {
            (Some(packet), udptl) => push(Kind::Rtp {
                flow: flows.id(src, dst),
                ssrc: packet.ssrc(),
                seq: packet.sequence(),
                rtp_ts: packet.timestamp(),
                pt: packet.payload_type().0,
                marker: packet.marker(),
                len: u16::try_from(packet.payload().len()).unwrap_or(u16::MAX),
                udptl,
            }),
            (None, Some(packet)) => push(Kind::Udptl {
                flow: flows.id(src, dst),
                packet,
            }),
            (None, None) => {}
        }
    }
}

/// Back-to-back HEP3 packets in a TCP segment (a HEP feed over TCP); a packet cut by the segment's
/// end is counted as `split`.
fn hep_stream(
    d: &Datagram<'_>,
    sip_errors: &mut BTreeMap<&'static str, u64>,
    counts: &mut DecodeCounts,
    push: &mut dyn FnMut(Kind),
) {
    let mut packets = hep::packets(d.payload);
    for packet in packets.by_ref() {
        hep_packet(&packet, d, sip_errors, counts, push);
    }
    if !packets.rest().is_empty() {
        counts.hep += 1;
        *counts.hep_payloads.entry("split").or_default() += 1;
    }
}

/// One HEP packet: the SIP it carries becomes messages with HEP's time and addresses (the frame's
/// time when HEP gives none); anything else is counted by kind.
fn hep_packet(
    p: &hep::Packet<'_>,
    d: &Datagram<'_>,
    sip_errors: &mut BTreeMap<&'static str, u64>,
    counts: &mut DecodeCounts,
    push: &mut dyn FnMut(Kind),
) {
    counts.hep += 1;
    let kind = if p.compressed {
        "compressed"
    } else {
        p.kind().name()
    };
    let endpoints = match (p.src, p.src_port, p.dst, p.dst_port) {
        (Some(s), Some(sp), Some(t), Some(tp)) => {
            Some((SocketAddr::new(s, sp), SocketAddr::new(t, tp)))
        }
        _ => None,
    };
    let sip = match (kind, endpoints, p.payload) {
        ("sip", Some(ends), Some(payload)) if sip::looks_like_sip(payload) => Some((ends, payload)),
        ("sip", ..) => {
            *counts.hep_payloads.entry("malformed").or_default() += 1;
            return;
        }
        _ => None,
    };
    *counts.hep_payloads.entry(kind).or_default() += 1;
    let Some(((src, dst), payload)) = sip else {
        return;
    };
    // Kamailio marks TLS and WebSocket with IPPROTO_IDP (22).
    let transport = match p.ip_proto {
        Some(6) => Transport::Tcp,
        Some(22) => Transport::Tls,
        _ => Transport::Udp,
    };
    Message::parse_all(
        payload,
        d.frames,
        p.ts_ns().unwrap_or(d.ts_ns),
        src,
        dst,
        transport,
        sip_errors,
        &mut |m| push(Kind::Sip(Arc::new(m), None)),
    );
}
/// An ICMP error with the flow it quotes (`frame` is chunk-local).
fn icmp_error(icmp: &Icmp<'_>, reporter: IpAddr, frame: u64, ts_ns: i64) -> Option<IcmpError> {
    let kind = match icmp.kind {
        IcmpKind::DestUnreachable(reason) => match reason {
            Unreachable::Port => "port unreachable",
            Unreachable::Host => "host unreachable",
            Unreachable::Net => "network unreachable",
            Unreachable::Protocol => "protocol unreachable",
            Unreachable::AdminProhibited => "administratively prohibited",
            Unreachable::FragNeeded { .. } => "fragmentation needed",
            _ => "destination unreachable",
        },
        // Code 1 in ICMP and ICMPv6 alike: the destination gave up waiting for the rest of a fragment set.
        IcmpKind::TimeExceeded if icmp.code == 1 => "fragment reassembly time exceeded",
        IcmpKind::TimeExceeded => "time exceeded",
        IcmpKind::PacketTooBig { .. } => "packet too big",
        _ => return None,
    };
    let quoted = icmp.quoted.as_ref()?;
    Some(IcmpError {
        frame,
        ts_ns,
        reporter,
        v6: icmp.v6,
        icmp_type: icmp.icmp_type,
        code: icmp.code,
        kind,
        proto: quoted.proto,
        src: SocketAddr::new(quoted.src, quoted.src_port.unwrap_or(0)),
        dst: SocketAddr::new(quoted.dst, quoted.dst_port.unwrap_or(0)),
        quoted_sip: sip::looks_like_sip(quoted.payload),
        quoted_rtp: rtp::looks_like_rtp(quoted.payload),
    })
}

/// Counts a packet's IP version and transport layer.
pub(super) fn count_ip(counts: &mut DecodeCounts, ip: &Ip, l4: &L4<'_>) {
    match ip.src {
        IpAddr::V4(_) => counts.ipv4 += 1,
        IpAddr::V6(_) => counts.ipv6 += 1,
    }
    count_l4(counts, l4);
}

/// Counts a transport layer.
pub(super) fn count_l4(counts: &mut DecodeCounts, l4: &L4<'_>) {
    match l4 {
        L4::Udp(_) => counts.udp += 1,
        L4::Tcp(_) => counts.tcp += 1,
        L4::Icmp(_) => counts.icmp += 1,
        L4::Fragment(_) => counts.fragments += 1,
        L4::Other(_) => counts.other_ip += 1,
        L4::None => {}
    }
}
