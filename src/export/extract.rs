//! Extraction of one call's packets (or a few calls') into a pcap small enough for a support ticket.
//!
//! Takes the [`Analysis`] of some capture files, a call index (or diagnosed calls) and the same files
//! (opened again); produces a classic pcap holding exactly, in capture order:
//! - the frames of the call's SIP messages (every frame that carried their bytes: TCP segments,
//!   IP fragments);
//! - its RTP and RTCP: packets of the flows of the streams linked to the call, both directions, RTCP on
//!   the ports + 1 or on the same ports (rtcp-mux, RFC 5761), within each stream's time span;
//! - its fax: the UDPTL packets of its fax streams, within each stream's time span;
//! - its STUN checks' packets (STUN messages between the check's addresses within its time span);
//! - the TCP segments that show its connections' life (SYNs, SYN-ACK, FINs, RST, TLS hellos and
//!   alert), the ICMP errors and the DNS queries and answers of its evidence;
//! - every segment of a TLS connection its SIP was decrypted from, as captured (still encrypted: a
//!   record can only be decrypted after all the records before it, so the extract decrypts with the
//!   same key log; on a connection shared by several calls, their records come along, encrypted).
//!
//! The SIP and transport frames are exactly those the call's ladder shows (`Evidence::frames`).
//!
//! Frames are numbered as the analysis numbered them: files in `analysis.captures` order (merged by first
//! timestamp), each file's records in file order from its `first_frame`. Timestamps and bytes are copied
//! unchanged (unless a [`Redactor`] rewrites them); the pcap has nanosecond timestamps only when some
//! frame needs them. A pcap has one link type: when the selected frames mix link types, extraction
//! fails with [`io::ErrorKind::InvalidInput`] (pcapng output is not written).
//!
//! Does not decide what belongs to a call: its evidence (gathered by the engine, reduced by its
//! diagnosis) says.

use std::collections::{HashMap, HashSet};
use std::io::{self, Write};
use std::net::SocketAddr;

use super::redact::Redactor;
use crate::analysis::{Analysis, CaptureSummary};
use crate::capture::write::PcapWriter;
use crate::capture::{CaptureFile, Start};
use crate::correlate::transport::connection_key as key;
use crate::decode::{self, LinkType, L4};
use crate::diagnose::DiagnosedCall;
use crate::proto::stun;

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

/// A time span, inclusive.
type Span = (i64, i64);

fn plus_one(s: SocketAddr) -> Option<SocketAddr> {
    Some(SocketAddr::new(s.ip(), s.port().checked_add(1)?))
}

fn within(span: Span, ts: i64) -> bool {
    span.0 <= ts && ts <= span.1
}

/// What to take from the capture.
#[derive(Debug, Default)]
struct Selection {
    /// The call's signalling and transport evidence, by frame (`Evidence::frames`).
    frames: HashSet<u64>,
    /// UDP flows (either direction) → spans, and whether only STUN messages are wanted.
    udp: HashMap<(SocketAddr, SocketAddr), Vec<(Span, bool)>>,
    /// TLS connections (either direction) the call's SIP was decrypted from → their span.
    tls: HashMap<(SocketAddr, SocketAddr), Span>,
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

impl Selection {
    /// Adds a call's packets to the selection.
    fn add(&mut self, call: &DiagnosedCall) {
        let (index, evidence) = (call.index, &call.evidence);
        self.frames.extend(evidence.frames(call));
        for s in evidence.streams.iter().filter(|s| s.call == Some(index)) {
            let span = (s.first_ts_ns, s.last_ts_ns);
            let mut flows = vec![key(s.src, s.dst)];
            if let (Some(a), Some(b)) = (plus_one(s.src), plus_one(s.dst)) {
                flows.push(key(a, b));
            }
            for k in flows {
                self.udp.entry(k).or_default().push((span, false));
            }
        }
        for c in &evidence.connections {
            if c.sip && c.tls.is_some() {
                self.tls
                    .insert(key(c.client, c.server), (c.first_ts_ns, c.last_ts_ns));
            }
        }
        for f in &evidence.fax {
            self.udp
                .entry(key(f.src, f.dst))
                .or_default()
                .push(((f.first_ts_ns, f.last_ts_ns), false));
        }
        for s in &evidence.stun {
            self.udp
                .entry(key(s.client, s.server))
                .or_default()
                .push(((s.first_ts_ns, s.last_ts_ns), true));
        }
    }

    /// Whether the frame numbered `number` is wanted: listed, or media of the call's flows.
    fn wants(&self, number: u64, ts: i64, link: u32, data: &[u8]) -> bool {
        if self.frames.contains(&number) {
            return true;
        }
        if self.udp.is_empty() && self.tls.is_empty() {
            return false;
        }
        let packet = decode::decode(LinkType(link), data);
        let Some(ip) = packet.ip else {
            return false;
        };
        let u = match packet.l4 {
            L4::Udp(u) => u,
            L4::Tcp(t) => {
                let k = key(
                    SocketAddr::new(ip.src, t.src_port),
                    SocketAddr::new(ip.dst, t.dst_port),
                );
                return self.tls.get(&k).is_some_and(|&span| within(span, ts));
            }
            _ => return false,
        };
        let src = SocketAddr::new(ip.src, u.src_port);
        let dst = SocketAddr::new(ip.dst, u.dst_port);
        self.udp.get(&key(src, dst)).is_some_and(|spans| {
            spans.iter().any(|&(span, stun)| {
                within(span, ts) && (!stun || stun::looks_like_stun(u.payload))
            })
        })
    }
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
    let Some(found) = analysis.calls.iter().find(|c| c.index == call) else {
        return Err(invalid(format!(
            "no call {} in the analysis ({} calls)",
            call + 1,
            analysis.calls.len()
        )));
    };
    packets_of(&analysis.captures, &[found], files, redactor, out)
}

/// Writes the packets of diagnosed calls as one pcap (see [`call_packets`]); `captures` are the
/// run's capture summaries (which file holds which frame numbers).
pub fn packets_of(
    captures: &[CaptureSummary],
    calls: &[&DiagnosedCall],
    files: &[CaptureFile],
    redactor: Option<&Redactor>,
    out: impl Write,
) -> io::Result<ExtractStats> {
    let mut sel = Selection::default();
    for call in calls {
        sel.add(call);
    }
    let mut records: Vec<Record> = Vec::new();
    let mut redacted = redactor.map(Redactor::frames);
    let mut used = vec![false; files.len()];
    for summary in captures {
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
        .or_else(|| captures.iter().find_map(|c| c.link_types.first().copied()))
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
    fn a_missing_call_is_an_input_error() {
        let err =
            call_packets(&Analysis::default(), 0, &[], None, Vec::new()).expect_err("no calls");
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }
}
