//! One unit of parallel work: read the records of a byte range, decode their packets, and turn the
//! interesting ones into owned events for the fold.
//!
//! Produces an [`Output`]: counts, plus the events the order-dependent stages need, in frame order —
//! SIP messages over UDP (parsed here, in parallel), TCP segments of connections that may carry SIP,
//! and IP fragments. Frame references in events are chunk-local (0-based); the fold makes them global.
//! Nothing here depends on other chunks.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::ops::Range;

use rustc_hash::FxHashMap;

use crate::analysis::DecodeCounts;
use crate::capture::{CaptureFile, ChunkRead, Start};
use crate::correlate::message::{Message, Transport};
use crate::decode::{self, Fragment, Ip, LinkType, TcpFlags, L4};
use crate::proto::sip;

/// Segments of a connection copied per chunk before it is known to carry SIP: enough to catch the
/// rest of a message that began in the previous chunk.
const UNKNOWN_FLOW_SEGMENTS: u8 = 8;

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
    /// In frame order.
    pub events: Vec<Event>,
}

/// Something the fold must handle in capture order.
pub(super) enum Event {
    /// A SIP message that came in one UDP datagram (frames are chunk-local).
    Sip(Box<Message>),
    /// A TCP segment of a connection that may carry SIP (payload copied), or a control segment.
    Tcp(Box<TcpSegment>),
    /// An IP fragment, for reassembly.
    Fragment(Box<OwnedFragment>),
}

/// A TCP segment copied out of the capture.
pub(super) struct TcpSegment {
    pub local: u64,
    pub ts_ns: i64,
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub seq: u32,
    pub flags: TcpFlags,
    pub payload: Vec<u8>,
}

/// An IP fragment copied out of the capture.
pub(super) struct OwnedFragment {
    /// 0-based index of its frame within the chunk.
    pub local: u64,
    pub ts_ns: i64,
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

/// A connection regardless of direction.
fn flow_key(a: SocketAddr, b: SocketAddr) -> (SocketAddr, SocketAddr) {
    if a <= b {
        (a, b)
    } else {
        (b, a)
    }
}

/// Whether a payload's first byte could continue a SIP message (text).
fn looks_textual(payload: &[u8]) -> bool {
    payload
        .first()
        .is_some_and(|&b| b.is_ascii_graphic() || matches!(b, b' ' | b'\r' | b'\n' | b'\t'))
}

/// Chunk-local knowledge about TCP connections.
#[derive(Default)]
struct TcpFlows {
    /// Connections seen carrying a SIP start line in this chunk.
    sip: FxHashMap<(SocketAddr, SocketAddr), ()>,
    /// Segments copied so far of connections not (yet) known to carry SIP.
    unknown: FxHashMap<(SocketAddr, SocketAddr), u8>,
}

impl TcpFlows {
    /// Whether to copy a segment's payload for the fold.
    fn wants(&mut self, src: SocketAddr, dst: SocketAddr, payload: &[u8]) -> bool {
        if payload.is_empty() {
            return false;
        }
        let key = flow_key(src, dst);
        if sip::looks_like_sip(payload) {
            self.sip.insert(key, ());
            return true;
        }
        if self.sip.contains_key(&key) {
            return true;
        }
        if !looks_textual(payload) {
            return false;
        }
        let copied = self.unknown.entry(key).or_default();
        *copied = copied.saturating_add(1);
        *copied <= UNKNOWN_FLOW_SEGMENTS
    }
}

/// Reads and decodes the records that start in `range`.
pub(super) fn run(file: &CaptureFile, range: Range<usize>, start: Start) -> Output {
    let mut frames = 0u64;
    let mut captured_bytes = 0u64;
    let mut first_ts_ns: Option<i64> = None;
    let mut last_ts_ns: Option<i64> = None;
    let mut link_types: Vec<u32> = Vec::new();
    let mut counts = DecodeCounts::default();
    let mut sip_errors = BTreeMap::new();
    let mut events = Vec::new();
    let mut tcp = TcpFlows::default();
    let read = file.read_chunk(range, start, &mut |frame| {
        let local = frames;
        frames += 1;
        captured_bytes += frame.data.len() as u64;
        first_ts_ns = Some(first_ts_ns.map_or(frame.ts_ns, |t| t.min(frame.ts_ns)));
        last_ts_ns = Some(last_ts_ns.map_or(frame.ts_ns, |t| t.max(frame.ts_ns)));
        if !link_types.contains(&frame.link_type) {
            link_types.push(frame.link_type);
        }
        if frame.truncated() {
            counts.snaplen_truncated += 1;
        }
        let packet = decode::decode(LinkType(frame.link_type), frame.data);
        if let Some(stop) = &packet.stop {
            *counts.undecodable.entry(stop.code()).or_default() += 1;
        }
        let Some(ip) = packet.ip else {
            counts.non_ip += 1;
            return;
        };
        count_ip(&mut counts, &ip, &packet.l4);
        let ts = frame.ts_ns;
        match packet.l4 {
            L4::Udp(udp) => {
                if sip::looks_like_sip(udp.payload) {
                    Message::parse_all(
                        udp.payload,
                        &[local],
                        ts,
                        SocketAddr::new(ip.src, udp.src_port),
                        SocketAddr::new(ip.dst, udp.dst_port),
                        Transport::Udp,
                        &mut sip_errors,
                        &mut |m| events.push(Event::Sip(Box::new(m))),
                    );
                }
            }
            L4::Tcp(seg) => {
                let src = SocketAddr::new(ip.src, seg.src_port);
                let dst = SocketAddr::new(ip.dst, seg.dst_port);
                let copy = tcp.wants(src, dst, seg.payload);
                let control =
                    seg.flags.0 & (TcpFlags::SYN.0 | TcpFlags::FIN.0 | TcpFlags::RST.0) != 0;
                if copy || control {
                    events.push(Event::Tcp(Box::new(TcpSegment {
                        local,
                        ts_ns: ts,
                        src,
                        dst,
                        seq: seg.seq,
                        flags: seg.flags,
                        payload: if copy {
                            seg.payload.to_vec()
                        } else {
                            Vec::new()
                        },
                    })));
                }
            }
            L4::Fragment(frag) => events.push(Event::Fragment(Box::new(OwnedFragment {
                local,
                ts_ns: ts,
                ip,
                id: frag.id,
                offset: frag.offset,
                more: frag.more,
                proto: frag.proto,
                payload: frag.payload.to_vec(),
            }))),
            L4::Icmp(_) | L4::Other(_) | L4::None => {}
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
        events,
    }
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
