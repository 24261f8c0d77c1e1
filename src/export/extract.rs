//! Extraction of one call's packets into a pcap small enough for a support ticket.
//!
//! Takes the [`Analysis`] of some capture files, a call index and the same files (opened again);
//! produces a classic pcap holding exactly, in capture order:
//! - the frames of the call's SIP messages (every frame that carried their bytes: TCP segments,
//!   IP fragments);
//! - its RTP and RTCP: packets of the flows of the streams linked to the call, both directions, RTCP on
//!   the ports + 1 or on the same ports (rtcp-mux, RFC 5761), within each stream's time span;
//! - its STUN checks' packets (STUN messages between the check's addresses within its time span);
//! - the TCP control segments (SYN, SYN-ACK, the handshake's ACK, FIN, RST) of the connections carrying
//!   its SIP and of the connections behind transport events linked to the call, plus those events'
//!   frames;
//! - ICMP errors quoting its SIP, media or TCP flows around the call's time.
//!
//! Frames are numbered as the analysis numbered them: files in `analysis.captures` order (merged by first
//! timestamp), each file's records in file order from its `first_frame`. Timestamps and bytes are copied
//! unchanged (unless a [`Redactor`] rewrites them); the pcap has nanosecond timestamps only when some
//! frame needs them. A pcap has one link type: when the selected frames mix link types, extraction
//! fails with [`io::ErrorKind::InvalidInput`] (pcapng output is not written).
//!
//! Does not decide what belongs to a call beyond what the analysis says: streams and STUN checks come
//! from their `call` link, transport failures from the diagnosis' transport events.

use std::collections::{HashMap, HashSet};
use std::io::{self, Write};
use std::net::SocketAddr;

use super::redact::Redactor;
use crate::analysis::Analysis;
use crate::capture::write::PcapWriter;
use crate::capture::{CaptureFile, Start};
use crate::correlate::message::Transport;
use crate::correlate::transport::connection_key as key;
use crate::decode::{self, LinkType, TcpFlags, L4};

/// What an extraction wrote.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExtractStats {
    /// Frame numbers (as the analysis numbers them) of the packets written, ascending.
    pub frames: Vec<u64>,
    /// The pcap's link type.
    pub link_type: u32,
    /// Whether timestamps were written with nanosecond precision.
    pub nanos: bool,
    /// Bytes of packet data written.
    pub bytes: u64,
}

/// Slack around a call's or stream's time span within which an ICMP error can quote it (ns): routers
/// answer within milliseconds, the slack only absorbs clock granularity.
const ICMP_SLACK_NS: i64 = 2_000_000_000;

/// A time span, inclusive.
type Span = (i64, i64);

fn plus_one(s: SocketAddr) -> Option<SocketAddr> {
    Some(SocketAddr::new(s.ip(), s.port().checked_add(1)?))
}

fn within(span: Span, ts: i64) -> bool {
    span.0 <= ts && ts <= span.1
}

/// A TCP connection whose control segments are wanted.
#[derive(Debug)]
struct Control {
    client: SocketAddr,
    span: Span,
    /// The SYN-ACK went by; the client's next bare ACK completes the handshake.
    awaiting_ack: bool,
}

/// What to take from the capture.
#[derive(Debug, Default)]
struct Selection {
    frames: HashSet<u64>,
    /// UDP flows (either direction) → spans, and whether only STUN messages are wanted.
    udp: HashMap<(SocketAddr, SocketAddr), Vec<(Span, bool)>>,
    tcp: HashMap<(SocketAddr, SocketAddr), Vec<Control>>,
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

impl Selection {
    fn build(a: &Analysis, index: usize) -> io::Result<Selection> {
        let call = a.calls.get(index).ok_or_else(|| {
            invalid(format!(
                "no call {} in the analysis ({} calls)",
                index + 1,
                a.calls.len()
            ))
        })?;
        let mut sel = Selection::default();
        let call_span = (call.start_ts_ns, call.end_ts_ns);
        // Flows an ICMP error may quote, with the span it must fall in.
        let mut quotable: Vec<((SocketAddr, SocketAddr), Span)> = Vec::new();
        let mut conns: Vec<usize> = Vec::new();
        for seen in &call.messages {
            let m = &seen.msg;
            sel.frames.extend(m.frames.iter().copied());
            sel.frames.insert(m.frame);
            match m.transport {
                Transport::Udp => quotable.push((key(m.src, m.dst), call_span)),
                Transport::Tcp | Transport::Tls => {
                    let k = key(m.src, m.dst);
                    conns.extend(a.connections.iter().enumerate().filter_map(|(i, c)| {
                        (key(c.client, c.server) == k
                            && c.first_ts_ns <= m.ts_ns
                            && m.ts_ns <= c.last_ts_ns)
                            .then_some(i)
                    }));
                }
            }
        }
        for e in &a.diagnosis.transport_events {
            if !e.calls.contains(&index) {
                continue;
            }
            sel.frames.extend(e.frames.iter().copied());
            sel.frames.insert(e.first_frame);
            if e.proto.is_connection() {
                let k = key(e.src, e.dst);
                conns.extend(a.connections.iter().enumerate().filter_map(|(i, c)| {
                    let evidence = c.evidence_frames();
                    let tied = (c.first_frame <= e.first_frame && e.first_frame <= c.last_frame)
                        || e.frames.iter().any(|f| evidence.contains(f));
                    (key(c.client, c.server) == k && tied).then_some(i)
                }));
            } else {
                quotable.push((key(e.src, e.dst), call_span));
            }
        }
        conns.sort_unstable();
        conns.dedup();
        for i in conns {
            let c = &a.connections[i];
            sel.frames.extend(c.evidence_frames());
            sel.frames.extend(c.client_fin);
            sel.frames.extend(c.server_fin);
            let span = (c.first_ts_ns, c.last_ts_ns);
            sel.tcp
                .entry(key(c.client, c.server))
                .or_default()
                .push(Control {
                    client: c.client,
                    span,
                    awaiting_ack: false,
                });
            quotable.push((key(c.client, c.server), span));
        }
        for s in a.streams.iter().filter(|s| s.call == Some(index)) {
            let span = (s.first_ts_ns, s.last_ts_ns);
            let mut flows = vec![key(s.src, s.dst)];
            if let (Some(a), Some(b)) = (plus_one(s.src), plus_one(s.dst)) {
                flows.push(key(a, b));
            }
            for k in flows {
                sel.udp.entry(k).or_default().push((span, false));
                quotable.push((k, span));
            }
        }
        for s in a.evidence.get(index).into_iter().flat_map(|e| &e.stun) {
            sel.frames.extend(s.frames.iter().copied());
            sel.udp
                .entry(key(s.client, s.server))
                .or_default()
                .push(((s.first_ts_ns, s.last_ts_ns), true));
        }
        for e in &a.icmp_errors {
            let k = key(e.src, e.dst);
            let quoted = quotable.iter().any(|&(q, span)| {
                q == k
                    && within(
                        (
                            span.0.saturating_sub(ICMP_SLACK_NS),
                            span.1.saturating_add(ICMP_SLACK_NS),
                        ),
                        e.ts_ns,
                    )
            });
            if quoted {
                sel.frames.insert(e.frame);
            }
        }
        Ok(sel)
    }

    /// Whether the frame numbered `number` is wanted (flow rules decode it; explicit frames do not).
    fn wants(&mut self, number: u64, ts: i64, link: u32, data: &[u8]) -> bool {
        let listed = self.frames.contains(&number);
        if self.udp.is_empty() && self.tcp.is_empty() {
            return listed;
        }
        // Listed frames are decoded too: a listed SYN-ACK starts the wait for the handshake's ACK.
        let by_flow = self.by_flow(ts, link, data);
        listed || by_flow
    }

    fn by_flow(&mut self, ts: i64, link: u32, data: &[u8]) -> bool {
        let packet = decode::decode(LinkType(link), data);
        let Some(ip) = packet.ip else {
            return false;
        };
        match packet.l4 {
            L4::Udp(u) => {
                let src = SocketAddr::new(ip.src, u.src_port);
                let dst = SocketAddr::new(ip.dst, u.dst_port);
                self.udp.get(&key(src, dst)).is_some_and(|spans| {
                    spans
                        .iter()
                        .any(|&(span, stun)| within(span, ts) && (!stun || is_stun(u.payload)))
                })
            }
            L4::Tcp(t) => {
                let src = SocketAddr::new(ip.src, t.src_port);
                let dst = SocketAddr::new(ip.dst, t.dst_port);
                let Some(list) = self.tcp.get_mut(&key(src, dst)) else {
                    return false;
                };
                let Some(c) = list.iter_mut().find(|c| within(c.span, ts)) else {
                    return false;
                };
                let f = t.flags;
                if f.contains(TcpFlags::SYN) && f.contains(TcpFlags::ACK) && src != c.client {
                    c.awaiting_ack = true;
                    return true;
                }
                if f.contains(TcpFlags::SYN)
                    || f.contains(TcpFlags::FIN)
                    || f.contains(TcpFlags::RST)
                {
                    return true;
                }
                // The client's first segment after the SYN-ACK acknowledges it; only a bare ACK is
                // taken (data carrying the acknowledgement is SIP, taken as such, or not the call's).
                if c.awaiting_ack && src == c.client {
                    c.awaiting_ack = false;
                    return t.payload.is_empty();
                }
                false
            }
            _ => false,
        }
    }
}

/// A STUN message (RFC 8489 §5): top bits zero and the magic cookie.
fn is_stun(p: &[u8]) -> bool {
    p.len() >= 20 && p[0] & 0xc0 == 0 && p[4..8] == [0x21, 0x12, 0xa4, 0x42]
}

/// One packet to write.
struct Record {
    number: u64,
    ts_ns: i64,
    link: u32,
    /// The bytes to write (filled in at the end when redacting).
    data: Vec<u8>,
    /// The captured length as read.
    captured: usize,
    orig_len: u32,
}

/// Writes the packets of call `call` (0-based index into `analysis.calls`) as a pcap to `out`, reading
/// them again from `files` (the files the analysis was made from, in any order; matched by path).
///
/// With a redactor, the frames go through [`Redactor::frames`] in capture order (so the fragments of a
/// datagram are redacted together); the wire length (`orig_len`) follows a change of the captured length. Errors: no such call, a file of the analysis missing from `files`, a
/// file whose packet count differs from the analysis' (it changed since), frames of several link types.
pub fn call_packets(
    analysis: &Analysis,
    call: usize,
    files: &[CaptureFile],
    redactor: Option<&Redactor>,
    out: impl Write,
) -> io::Result<ExtractStats> {
    let mut sel = Selection::build(analysis, call)?;
    let mut records: Vec<Record> = Vec::new();
    let mut redacted = redactor.map(Redactor::frames);
    let mut used = vec![false; files.len()];
    for summary in &analysis.captures {
        let index = files
            .iter()
            .enumerate()
            .position(|(i, f)| !used[i] && f.path == summary.path)
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::NotFound,
                    format!(
                        "capture {} of the analysis is not among the files given",
                        summary.path
                    ),
                )
            })?;
        used[index] = true;
        let file = &files[index];
        let (at, state) = file.first();
        let mut number = summary.first_frame;
        file.read_chunk(at..file.len(), Start::At(at, state), &mut |frame| {
            if sel.wants(number, frame.ts_ns, frame.link_type, frame.data) {
                let data = match redacted.as_mut() {
                    Some(frames) => {
                        frames.push(frame.ts_ns, frame.link_type, frame.data);
                        Vec::new()
                    }
                    None => frame.data.to_vec(),
                };
                records.push(Record {
                    number,
                    ts_ns: frame.ts_ns,
                    link: frame.link_type,
                    data,
                    captured: frame.data.len(),
                    orig_len: frame.orig_len,
                });
            }
            number += 1;
        });
        let read = number - summary.first_frame;
        if read != summary.packets {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "{} now holds {read} packets, the analysis counted {}: was it changed?",
                    summary.path, summary.packets
                ),
            ));
        }
    }
    if let Some(frames) = redacted {
        for (r, data) in records.iter_mut().zip(frames.finish()) {
            // The wire length follows a change of the captured length.
            let grown = data.len() as i64 - r.captured as i64;
            r.orig_len = (i64::from(r.orig_len) + grown).clamp(0, i64::from(u32::MAX)) as u32;
            r.data = data;
        }
    }
    let mut links: Vec<u32> = records.iter().map(|r| r.link).collect();
    links.sort_unstable();
    links.dedup();
    if links.len() > 1 {
        return Err(invalid(format!(
            "the call's packets have {} link types ({}); a pcap holds one",
            links.len(),
            links
                .iter()
                .map(|l| l.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let link_type = links
        .first()
        .copied()
        .or_else(|| {
            analysis
                .captures
                .iter()
                .find_map(|c| c.link_types.first().copied())
        })
        .unwrap_or(1);
    let nanos = records.iter().any(|r| r.ts_ns.rem_euclid(1000) != 0);
    let mut w = PcapWriter::new(out, link_type, nanos)?;
    let mut stats = ExtractStats {
        link_type,
        nanos,
        ..ExtractStats::default()
    };
    for r in &records {
        w.write(r.ts_ns, &r.data, r.orig_len)?;
        stats.frames.push(r.number);
        stats.bytes += r.data.len() as u64;
    }
    w.finish()?;
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stun_is_recognised_by_its_cookie() {
        let mut p = vec![0u8; 20];
        p[1] = 1;
        p[4..8].copy_from_slice(&[0x21, 0x12, 0xa4, 0x42]);
        assert!(is_stun(&p));
        p[0] = 0x80;
        assert!(!is_stun(&p));
        assert!(!is_stun(&p[..10]));
    }

    #[test]
    fn a_missing_call_is_an_input_error() {
        let err =
            call_packets(&Analysis::default(), 0, &[], None, Vec::new()).expect_err("no calls");
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }
}
