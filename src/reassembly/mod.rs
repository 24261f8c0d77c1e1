//! TCP byte streams per connection direction, and SIP messages framed out of them.
//!
//! Takes TCP segments in capture order (sequence number, flags, payload, frame number) and produces
//! whole SIP messages with the frames that carried their bytes (RFC 3261 §18.3: a message on a stream
//! ends after its header block and Content-Length bytes of body), and the runs of line breaks between
//! them (CRLF keep-alives, RFC 5626 §4.4.1) as messages of their own.
//! Segments are ordered by sequence number; retransmissions and overlaps keep the bytes first seen;
//! a gap that is never filled (a segment the capture missed) is skipped once the limits say so, and
//! framing resynchronises on the next SIP start line.
//! Memory is bounded by [`Limits`]; what a limit dropped is counted in [`Stats`].
//!
//! The same streams can be cut into TLS records instead ([`Framer::TlsRecords`]), for the decryption
//! stage.
//!
//! This module does not decide which connections carry SIP (the caller feeds only those) and does
//! not parse messages beyond framing them.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use rustc_hash::FxHashMap;

use crate::proto::sip::{self, Framing};
use crate::proto::tls;

/// Memory limits of the reassembler.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Bytes buffered per direction (unframed bytes plus out-of-order segments) before a gap is skipped.
    pub per_stream: usize,
    /// Directions tracked at once; segments of further directions are not reassembled.
    pub streams: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            per_stream: 1 << 20,
            streams: 65_536,
        }
    }
}

/// What the reassembler could not do, counted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Gaps in a stream (bytes the capture never saw) that were skipped.
    pub gaps_skipped: u64,
    /// Bytes thrown away while resynchronising on a SIP start line.
    pub bytes_skipped: u64,
    /// Segments (or parts) that repeated bytes already received.
    pub retransmitted: u64,
    /// Segments not reassembled because [`Limits::streams`] directions were already tracked.
    pub streams_over_limit: u64,
    /// Why framing failed, by reason code.
    pub framing_errors: BTreeMap<&'static str, u64>,
}

/// One TCP segment of a direction.
#[derive(Clone, Copy, Debug)]
pub struct Segment<'a> {
    /// Sender and receiver.
    pub src: SocketAddr,
    pub dst: SocketAddr,
    /// 1-based frame number.
    pub frame: u64,
    pub ts_ns: i64,
    pub seq: u32,
    pub syn: bool,
    pub payload: &'a [u8],
}

/// A SIP message cut out of a stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub src: SocketAddr,
    pub dst: SocketAddr,
    /// Frames that carried its bytes, ascending; the last completed it.
    pub frames: Vec<u64>,
    /// Timestamp of the frame that completed it.
    pub ts_ns: i64,
    pub bytes: Vec<u8>,
}

/// Bytes of an in-order buffer with the frame each run of bytes came from.
#[derive(Default)]
struct Direction {
    /// Sequence number of the next in-order byte (unknown until the first segment).
    next_seq: Option<u32>,
    /// Segments that arrived ahead of `next_seq`, keyed by distance from it at arrival time, made
    /// absolute by `delivered`.
    ahead: BTreeMap<u64, (Vec<u8>, u64, i64)>,
    ahead_bytes: usize,
    /// Bytes delivered in order so far.
    delivered: u64,
    /// In-order bytes not yet framed, with (end offset in `buf`, frame, timestamp) per run.
    buf: Vec<u8>,
    runs: Vec<(usize, u64, i64)>,
    /// Framing failed: bytes are skipped until a SIP start line begins a line.
    resyncing: bool,
    /// Time of the last segment.
    last_ts_ns: i64,
}

impl Direction {
    fn append(&mut self, bytes: &[u8], frame: u64, ts_ns: i64) {
        if bytes.is_empty() {
            return;
        }
        self.buf.extend_from_slice(bytes);
        self.runs.push((self.buf.len(), frame, ts_ns));
        self.delivered += bytes.len() as u64;
        self.next_seq = self.next_seq.map(|s| s.wrapping_add(bytes.len() as u32));
    }

    /// Moves segments that are now in order from `ahead` into the buffer.
    fn drain_ahead(&mut self, stats: &mut Stats) {
        while let Some((&pos, _)) = self.ahead.first_key_value() {
            if pos > self.delivered {
                break;
            }
            let Some((_, (bytes, frame, ts))) = self.ahead.pop_first() else {
                break;
            };
            self.ahead_bytes -= bytes.len();
            let skip = (self.delivered - pos) as usize;
            if skip > 0 {
                stats.retransmitted += 1;
            }
            if skip < bytes.len() {
                self.append(&bytes[skip..], frame, ts);
            }
        }
    }

    /// Gives up on the gap before the first segment ahead: the bytes in between were never captured.
    fn skip_gap(&mut self, stats: &mut Stats) {
        if let Some((&pos, _)) = self.ahead.first_key_value() {
            stats.gaps_skipped += 1;
            let gap = pos - self.delivered;
            self.delivered = pos;
            self.next_seq = self.next_seq.map(|s| s.wrapping_add(gap as u32));
            // What was buffered cannot be completed any more; framing resumes at a start line.
            self.skip(self.buf.len(), stats);
            self.resyncing = true;
            self.drain_ahead(stats);
        }
    }

    /// Frames whole messages (or records) out of the buffer.
    fn frame(
        &mut self,
        framer: Framer,
        src: SocketAddr,
        dst: SocketAddr,
        stats: &mut Stats,
        out: &mut dyn FnMut(Message),
    ) {
        if framer == Framer::TlsRecords {
            return self.frame_records(src, dst, stats, out);
        }
        loop {
            if self.resyncing {
                let (skip, found) = resync_point(&self.buf);
                self.skip(skip, stats);
                if !found {
                    return;
                }
                self.resyncing = false;
            }
            match sip::frame(&self.buf) {
                Framing::Complete { len } => self.emit(len, src, dst, out),
                // Line breaks between messages: keep-alives (RFC 5626 §4.4.1), handed on as they are.
                Framing::KeepAlive { len } => self.emit(len, src, dst, out),
                Framing::Incomplete { .. } => return,
                Framing::Invalid(err) => {
                    // One error per damaged stretch: skip the failed start line, then whole lines
                    // until the next SIP start line.
                    *stats.framing_errors.entry(err.code()).or_default() += 1;
                    let line = self
                        .buf
                        .iter()
                        .position(|&b| b == b'\n')
                        .map_or(self.buf.len(), |nl| nl + 1);
                    self.skip(line, stats);
                    self.resyncing = true;
                }
            }
        }
    }

    /// Cuts whole TLS records out of the buffer; after bytes that are no record header, resumes at the
    /// next offset where one starts.
    fn frame_records(
        &mut self,
        src: SocketAddr,
        dst: SocketAddr,
        stats: &mut Stats,
        out: &mut dyn FnMut(Message),
    ) {
        loop {
            if self.resyncing {
                let found = (0..self.buf.len().saturating_sub(tls::RECORD_HEADER_LEN - 1))
                    .find(|&at| tls::sniff(&self.buf[at..]).is_some());
                let skip =
                    found.unwrap_or(self.buf.len().saturating_sub(tls::RECORD_HEADER_LEN - 1));
                self.skip(skip, stats);
                if found.is_none() {
                    return;
                }
                self.resyncing = false;
            }
            if self.buf.len() < tls::RECORD_HEADER_LEN {
                return;
            }
            match tls::sniff(&self.buf) {
                Some(r) if r.is_complete() => {
                    let len = r.wire_len();
                    self.emit(len, src, dst, out);
                }
                Some(_) => return,
                None => {
                    *stats.framing_errors.entry("tls_record").or_default() += 1;
                    self.skip(1, stats);
                    self.resyncing = true;
                }
            }
        }
    }

    /// Hands out the first `len` bytes as one message with the frames that carried them.
    fn emit(&mut self, len: usize, src: SocketAddr, dst: SocketAddr, out: &mut dyn FnMut(Message)) {
        let frames = self.take_runs(len);
        let ts_ns = frames.last().map(|&(_, ts)| ts).unwrap_or_default();
        let bytes = self.buf.drain(..len).collect();
        let mut frames: Vec<u64> = frames.into_iter().map(|(f, _)| f).collect();
        frames.dedup();
        out(Message {
            src,
            dst,
            frames,
            ts_ns,
            bytes,
        });
    }

    /// Drops the first `len` buffered bytes as unusable.
    fn skip(&mut self, len: usize, stats: &mut Stats) {
        stats.bytes_skipped += len as u64;
        self.take_runs(len);
        self.buf.drain(..len);
    }

    /// Removes the first `len` bytes' runs, returning the (frame, ts) of each run they touch.
    fn take_runs(&mut self, len: usize) -> Vec<(u64, i64)> {
        let mut touched = Vec::new();
        let mut consumed = 0;
        for &(end, frame, ts) in &self.runs {
            if consumed >= len {
                break;
            }
            touched.push((frame, ts));
            consumed = end;
        }
        let whole = self
            .runs
            .iter()
            .take_while(|&&(end, _, _)| end <= len)
            .count();
        self.runs.drain(..whole);
        for run in &mut self.runs {
            run.0 -= len;
        }
        touched
    }
}

/// Where the next line that starts like a SIP message begins (`true`), or how many bytes can be
/// dropped while none does: all but a last incomplete line, which may still become one (`false`).
fn resync_point(buf: &[u8]) -> (usize, bool) {
    let mut at = 0;
    loop {
        if sip::looks_like_sip(&buf[at..]) {
            return (at, true);
        }
        match buf[at..].iter().position(|&b| b == b'\n') {
            Some(nl) => at += nl + 1,
            None => return (at, false),
        }
    }
}

/// What a reassembler cuts its streams into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framer {
    /// SIP messages (RFC 3261 §18.3).
    Sip,
    /// TLS records (RFC 8446 §5.1): header and fragment, whole.
    TlsRecords,
}

/// Reassembles the SIP-carrying (or TLS-carrying) TCP directions of a capture.
pub struct Reassembler {
    limits: Limits,
    framer: Framer,
    directions: FxHashMap<(SocketAddr, SocketAddr), Direction>,
    /// What was dropped or repaired.
    pub stats: Stats,
}

impl Reassembler {
    /// A reassembler framing SIP messages.
    pub fn new(limits: Limits) -> Reassembler {
        Reassembler::with_framer(limits, Framer::Sip)
    }

    /// A reassembler cutting its streams with `framer`.
    pub fn with_framer(limits: Limits, framer: Framer) -> Reassembler {
        Reassembler {
            limits,
            framer,
            directions: FxHashMap::default(),
            stats: Stats::default(),
        }
    }

    /// Feeds one segment (in capture order); complete messages go to `out`.
    pub fn segment(&mut self, seg: Segment<'_>, out: &mut dyn FnMut(Message)) {
        let key = (seg.src, seg.dst);
        if !self.directions.contains_key(&key) {
            if self.directions.len() >= self.limits.streams {
                self.stats.streams_over_limit += 1;
                return;
            }
            if seg.payload.is_empty() && !seg.syn {
                return;
            }
        }
        let stats = &mut self.stats;
        let dir = self.directions.entry(key).or_default();
        dir.last_ts_ns = dir.last_ts_ns.max(seg.ts_ns);
        if seg.syn {
            // The SYN occupies one sequence number; data starts after it.
            dir.next_seq = Some(seg.seq.wrapping_add(1));
            if seg.payload.is_empty() {
                return;
            }
        }
        if seg.payload.is_empty() {
            return;
        }
        let data_seq = if seg.syn {
            seg.seq.wrapping_add(1)
        } else {
            seg.seq
        };
        let next = *dir.next_seq.get_or_insert(data_seq);
        let ahead_by = data_seq.wrapping_sub(next) as i32;
        if ahead_by <= 0 {
            let skip = ahead_by.unsigned_abs() as usize;
            if skip > 0 {
                stats.retransmitted += 1;
            }
            if skip < seg.payload.len() {
                dir.append(&seg.payload[skip..], seg.frame, seg.ts_ns);
                dir.drain_ahead(stats);
            }
        } else {
            let pos = dir.delivered + ahead_by as u64;
            if !dir.ahead.contains_key(&pos) {
                dir.ahead_bytes += seg.payload.len();
                dir.ahead
                    .insert(pos, (seg.payload.to_vec(), seg.frame, seg.ts_ns));
            } else {
                stats.retransmitted += 1;
            }
        }
        if dir.buf.len() + dir.ahead_bytes > self.limits.per_stream {
            dir.skip_gap(stats);
            if dir.buf.len() > self.limits.per_stream {
                dir.skip(dir.buf.len(), stats);
                dir.resyncing = true;
            }
        }
        dir.frame(self.framer, seg.src, seg.dst, stats, out);
    }

    /// The connection ended (FIN or RST seen from `src`): frames what is left after skipping gaps,
    /// and forgets the direction.
    pub fn close(&mut self, src: SocketAddr, dst: SocketAddr, out: &mut dyn FnMut(Message)) {
        if let Some(mut dir) = self.directions.remove(&(src, dst)) {
            while !dir.ahead.is_empty() {
                dir.skip_gap(&mut self.stats);
                dir.frame(self.framer, src, dst, &mut self.stats, out);
            }
        }
    }

    /// Closes the directions silent since before `before_ts_ns` (a connection that ended without a
    /// FIN or RST the capture saw), so that their number follows the connections open at a time.
    pub fn expire(&mut self, before_ts_ns: i64, out: &mut dyn FnMut(Message)) {
        let mut keys: Vec<_> = self
            .directions
            .iter()
            .filter(|(_, d)| d.last_ts_ns < before_ts_ns)
            .map(|(k, _)| *k)
            .collect();
        keys.sort();
        for (src, dst) in keys {
            self.close(src, dst, out);
        }
    }

    /// Directions held now.
    pub fn directions(&self) -> usize {
        self.directions.len()
    }

    /// End of capture: flushes every direction's segments beyond gaps.
    pub fn finish(&mut self, out: &mut dyn FnMut(Message)) {
        let mut keys: Vec<_> = self.directions.keys().copied().collect();
        keys.sort();
        for (src, dst) in keys {
            self.close(src, dst, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().expect("a socket address")
    }

    const INVITE: &[u8] =
        b"INVITE sip:b@example.com SIP/2.0\r\nCall-ID: x1\r\nContent-Length: 5\r\n\r\nhello";
    const BYE: &[u8] = b"BYE sip:b@example.com SIP/2.0\r\nCall-ID: x1\r\nContent-Length: 0\r\n\r\n";

    /// A message's bytes and frames.
    type Framed = (Vec<u8>, Vec<u64>);

    /// Feeds (seq offset, bytes) segments after a SYN and returns the messages with their frames.
    fn run(segments: &[(u32, &[u8])], limits: Limits) -> (Vec<Framed>, Stats) {
        let mut r = Reassembler::new(limits);
        let mut got = Vec::new();
        let (a, b) = (addr("192.0.2.1:5060"), addr("192.0.2.2:5060"));
        r.segment(
            Segment {
                src: a,
                dst: b,
                frame: 1,
                ts_ns: 0,
                seq: 999,
                syn: true,
                payload: b"",
            },
            &mut |m| got.push(m),
        );
        for (i, (off, bytes)) in segments.iter().enumerate() {
            r.segment(
                Segment {
                    src: a,
                    dst: b,
                    frame: i as u64 + 2,
                    ts_ns: i as i64,
                    seq: 1000u32.wrapping_add(*off),
                    syn: false,
                    payload: bytes,
                },
                &mut |m| got.push(m),
            );
        }
        r.finish(&mut |m| got.push(m));
        (
            got.into_iter().map(|m| (m.bytes, m.frames)).collect(),
            r.stats,
        )
    }

    #[test]
    fn message_split_over_three_segments() {
        let (m, _) = run(
            &[
                (0, &INVITE[..10]),
                (10, &INVITE[10..40]),
                (40, &INVITE[40..]),
            ],
            Limits::default(),
        );
        assert_eq!(m, vec![(INVITE.to_vec(), vec![2, 3, 4])]);
    }

    #[test]
    fn crlf_keepalives_between_messages_come_out_as_they_are() {
        let n = INVITE.len() as u32;
        let (m, stats) = run(
            &[
                (0, INVITE),
                (n, b"\r\n\r\n"),
                (n + 4, b"\r\n"),
                (n + 6, BYE),
            ],
            Limits::default(),
        );
        assert_eq!(
            m,
            vec![
                (INVITE.to_vec(), vec![2]),
                (b"\r\n\r\n".to_vec(), vec![3]),
                (b"\r\n".to_vec(), vec![4]),
                (BYE.to_vec(), vec![5]),
            ]
        );
        assert_eq!(stats, Stats::default());
    }

    #[test]
    fn two_messages_in_one_segment() {
        let both = [INVITE, BYE].concat();
        let (m, _) = run(&[(0, &both)], Limits::default());
        assert_eq!(m, vec![(INVITE.to_vec(), vec![2]), (BYE.to_vec(), vec![2])]);
    }

    #[test]
    fn out_of_order_and_retransmitted_segments() {
        let both = [INVITE, BYE].concat();
        let n = INVITE.len() as u32;
        let (m, stats) = run(
            &[
                (n, BYE),                    // ahead
                (0, &both[..20]),            // first part
                (0, &both[..20]),            // retransmission
                (10, &both[10..n as usize]), // overlaps the first part
            ],
            Limits::default(),
        );
        assert_eq!(
            m,
            vec![(INVITE.to_vec(), vec![3, 5]), (BYE.to_vec(), vec![2])]
        );
        assert!(stats.retransmitted >= 2);
    }

    #[test]
    fn a_missing_segment_is_skipped_and_framing_resumes() {
        let n = INVITE.len() as u32;
        // The middle of the INVITE never arrives.
        let (m, stats) = run(&[(0, &INVITE[..10]), (n, BYE)], Limits::default());
        assert_eq!(m, vec![(BYE.to_vec(), vec![3])]);
        assert_eq!(stats.gaps_skipped, 1);
    }

    #[test]
    fn garbage_before_a_message_is_skipped() {
        let data = [b"garbage line\r\n".as_slice(), BYE].concat();
        let (m, stats) = run(&[(0, &data)], Limits::default());
        assert_eq!(m, vec![(BYE.to_vec(), vec![2])]);
        assert_eq!(stats.bytes_skipped, 14);
    }

    #[test]
    fn buffering_is_bounded() {
        let limits = Limits {
            per_stream: 4096,
            streams: 4,
        };
        let header = b"INVITE sip:b@x SIP/2.0\r\nContent-Length: 100000\r\n\r\n";
        let filler = vec![b'a'; 1000];
        let mut segments: Vec<(u32, &[u8])> = vec![(0, header)];
        let mut off = header.len() as u32;
        for _ in 0..20 {
            segments.push((off, &filler));
            off += 1000;
        }
        let (m, stats) = run(&segments, limits);
        assert!(m.is_empty());
        assert!(stats.bytes_skipped > 0 || !stats.framing_errors.is_empty());
    }
}
