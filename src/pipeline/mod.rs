//! The pipeline: capture files in, [`Analysis`] out — decode in parallel, fold in capture order.
//!
//! Each file is cut into byte ranges (chunks, [`Options::chunk_size`]). Chunks are read and decoded in
//! parallel with rayon, a window of them at a time so that memory stays bounded whatever the capture's
//! length (`chunk`). Their outputs are then folded one after the other, in capture order, by a single
//! `Fold`: it numbers frames, checks that each chunk started where the previous one really ended
//! (re-reading the chunk when resynchronisation guessed wrong), and feeds the order-dependent stages
//! (IP defragmentation now; calls and streams later).
//! Because the fold sees chunk outputs in the same order whatever the thread count, the result is
//! identical with 1 or N threads.
//!
//! Files are merged by the timestamp of their first packet (rotated captures of one session), then read
//! one after the other; frames are numbered across files in that order.

mod chunk;

use rayon::prelude::*;

use std::collections::HashSet;
use std::net::SocketAddr;

use crate::analysis::{Analysis, CaptureSummary};
use crate::capture::{CaptureFile, Start, State, Warning};
use crate::correlate::calls::CallBuilder;
use crate::correlate::message::{Message, Transport};
use crate::decode::defrag::{Defragmenter, Limits};
use crate::decode::{TcpFlags, L4};
use crate::proto::sip;
use crate::reassembly::{self, Reassembler, Segment};

/// Tuning of a run. The result never depends on these, only speed and memory do.
#[derive(Clone, Debug)]
pub struct Options {
    /// Bytes of capture per unit of parallel work.
    pub chunk_size: usize,
    /// Chunks decoded at once per thread before their outputs are folded (bounds memory).
    pub window_per_thread: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            chunk_size: 4 << 20,
            window_per_thread: 4,
        }
    }
}

/// Receives progress reports; the library never prints.
pub trait Progress: Sync {
    /// The run will read this many bytes in all.
    fn start(&self, _total_bytes: u64) {}
    /// This many more bytes were read.
    fn advance(&self, _bytes: u64) {}
}

/// A [`Progress`] that ignores everything.
pub struct NoProgress;

impl Progress for NoProgress {}

/// Analyses the given capture files as one capture.
pub fn analyze(files: &[CaptureFile], options: &Options, progress: &dyn Progress) -> Analysis {
    let mut order: Vec<(i64, usize)> = files
        .iter()
        .enumerate()
        .map(|(i, f)| (first_timestamp(f).unwrap_or(i64::MAX), i))
        .collect();
    order.sort();
    progress.start(files.iter().map(|f| f.len() as u64).sum());
    let window = rayon::current_num_threads().max(1) * options.window_per_thread.max(1);
    let mut fold = Fold::new();
    for &(_, index) in &order {
        let file = &files[index];
        fold.begin_file(file);
        let ranges = file.chunks(options.chunk_size);
        for (group_index, group) in ranges.chunks(window).enumerate() {
            let outputs: Vec<chunk::Output> = group
                .par_iter()
                .enumerate()
                .map(|(k, range)| {
                    let start = if group_index == 0 && k == 0 {
                        let (at, state) = file.first();
                        Start::At(at, state)
                    } else {
                        Start::Resync
                    };
                    chunk::run(file, range.clone(), start)
                })
                .collect();
            for (range, output) in group.iter().zip(outputs) {
                let (next, state) = fold.resume_point();
                if next >= range.end {
                    // A record from an earlier chunk covers this whole range.
                } else if output.read.began.as_ref() == Some(&(next, state.clone())) {
                    fold.absorb(output);
                } else {
                    fold.absorb(chunk::run(file, range.clone(), Start::At(next, state)));
                }
                progress.advance(range.len() as u64);
            }
        }
        fold.end_file();
    }
    fold.finish()
}

/// The timestamp of a file's first packet (reads at most its first MiB).
fn first_timestamp(file: &CaptureFile) -> Option<i64> {
    let (at, state) = file.first();
    let mut first = None;
    file.read_chunk(
        at..file.len().min(at + (1 << 20)),
        Start::At(at, state),
        &mut |frame| {
            first.get_or_insert(frame.ts_ns);
        },
    );
    first
}

/// Combines two optional values with `pick` (min or max), keeping whichever is present.
fn pick_some(a: Option<i64>, b: Option<i64>, pick: fn(i64, i64) -> i64) -> Option<i64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(pick(a, b)),
        (a, b) => a.or(b),
    }
}

/// Parses a SIP message framed out of a TCP stream and adds it to the calls.
fn tcp_message(
    calls: &mut CallBuilder,
    errors: &mut std::collections::BTreeMap<&'static str, u64>,
    m: reassembly::Message,
) {
    Message::parse_all(
        &m.bytes,
        &m.frames,
        m.ts_ns,
        m.src,
        m.dst,
        Transport::Tcp,
        errors,
        &mut |msg| calls.push(msg),
    );
}

/// Folds chunk outputs in capture order.
struct Fold {
    analysis: Analysis,
    /// The file being read.
    current: CaptureSummary,
    /// Where the next chunk must start, and in which state.
    next: (usize, State),
    /// Frames numbered so far, across files.
    frames: u64,
    defrag: Defragmenter,
    /// TCP connections (either direction) seen carrying SIP.
    sip_flows: HashSet<(SocketAddr, SocketAddr)>,
    tcp: Reassembler,
    calls: CallBuilder,
}

impl Fold {
    fn new() -> Fold {
        Fold {
            analysis: Analysis::default(),
            current: CaptureSummary::default(),
            next: (0, State::Pcap),
            frames: 0,
            defrag: Defragmenter::new(Limits::default()),
            sip_flows: HashSet::new(),
            tcp: Reassembler::new(reassembly::Limits::default()),
            calls: CallBuilder::default(),
        }
    }

    fn begin_file(&mut self, file: &CaptureFile) {
        self.current = CaptureSummary {
            path: file.path.clone(),
            format: file.format.name(),
            gzip: file.gzip,
            bytes: file.len() as u64,
            first_frame: self.frames + 1,
            ..CaptureSummary::default()
        };
        for warning in &file.open_warnings {
            self.current.warn(warning.clone());
        }
        self.next = file.first();
    }

    fn resume_point(&self) -> (usize, State) {
        self.next.clone()
    }

    fn absorb(&mut self, output: chunk::Output) {
        let base = self.frames;
        let cur = &mut self.current;
        cur.packets += output.frames;
        cur.captured_bytes += output.captured_bytes;
        cur.first_ts_ns = pick_some(cur.first_ts_ns, output.first_ts_ns, i64::min);
        cur.last_ts_ns = pick_some(cur.last_ts_ns, output.last_ts_ns, i64::max);
        for link in output.link_types {
            if let Err(at) = cur.link_types.binary_search(&link) {
                cur.link_types.insert(at, link);
            }
        }
        cur.decode.add(&output.counts);
        for warning in output.read.warnings {
            cur.warn(warning);
        }
        for (reason, n) in output.sip_errors {
            *self.analysis.sip_malformed.entry(reason).or_default() += n;
        }
        for event in output.events {
            match event {
                chunk::Event::Sip(mut msg) => {
                    for frame in &mut msg.frames {
                        *frame += base + 1;
                    }
                    msg.frame += base + 1;
                    self.calls.push(*msg);
                }
                chunk::Event::Tcp(seg) => self.tcp_segment(base + seg.local + 1, &seg),
                chunk::Event::Fragment(frag) => {
                    let frame = base + frag.local + 1;
                    if let Some(datagram) =
                        self.defrag
                            .push(frag.ts_ns, frame, &frag.ip, &frag.as_fragment())
                    {
                        let cur = &mut self.current;
                        cur.decode.reassembled += 1;
                        let packet = datagram.decode();
                        chunk::count_l4(&mut cur.decode, &packet.l4);
                        if let L4::Udp(udp) = packet.l4 {
                            if sip::looks_like_sip(udp.payload) {
                                let calls = &mut self.calls;
                                Message::parse_all(
                                    udp.payload,
                                    &datagram.frames,
                                    frag.ts_ns,
                                    SocketAddr::new(datagram.ip.src, udp.src_port),
                                    SocketAddr::new(datagram.ip.dst, udp.dst_port),
                                    Transport::Udp,
                                    &mut self.analysis.sip_malformed,
                                    &mut |m| calls.push(m),
                                );
                            }
                        }
                    }
                }
            }
        }
        self.frames += output.frames;
        self.next = (output.read.next, output.read.end_state);
    }

    /// Feeds a TCP segment to reassembly when its connection carries SIP.
    fn tcp_segment(&mut self, frame: u64, seg: &chunk::TcpSegment) {
        let key = if seg.src <= seg.dst {
            (seg.src, seg.dst)
        } else {
            (seg.dst, seg.src)
        };
        if sip::looks_like_sip(&seg.payload) {
            self.sip_flows.insert(key);
        }
        if !self.sip_flows.contains(&key) {
            return;
        }
        let (calls, errors) = (&mut self.calls, &mut self.analysis.sip_malformed);
        let mut deliver = |m: reassembly::Message| tcp_message(calls, errors, m);
        self.tcp.segment(
            Segment {
                src: seg.src,
                dst: seg.dst,
                frame,
                ts_ns: seg.ts_ns,
                seq: seg.seq,
                syn: seg.flags.contains(TcpFlags::SYN),
                payload: &seg.payload,
            },
            &mut deliver,
        );
        if seg.flags.contains(TcpFlags::RST) {
            self.tcp.close(seg.src, seg.dst, &mut deliver);
            self.tcp.close(seg.dst, seg.src, &mut deliver);
        } else if seg.flags.contains(TcpFlags::FIN) {
            self.tcp.close(seg.src, seg.dst, &mut deliver);
        }
    }

    fn end_file(&mut self) {
        let done = std::mem::take(&mut self.current);
        self.analysis.captures.push(done);
    }

    fn finish(mut self) -> Analysis {
        let (calls, errors) = (&mut self.calls, &mut self.analysis.sip_malformed);
        self.tcp.finish(&mut |m| tcp_message(calls, errors, m));
        let mut analysis = self.analysis;
        analysis.tcp_reassembly = self.tcp.stats;
        analysis.sip = self.calls.stats.clone();
        (analysis.calls, analysis.other_dialogs) = self.calls.finish();
        let report = self.defrag.finish();
        if let Some(last) = analysis.captures.last_mut() {
            last.decode.incomplete_fragment_sets += report.incomplete_sets;
            if report.incomplete_sets > 0 {
                last.warn(Warning {
                    offset: 0,
                    message: format!(
                        "{} IP fragment set(s) never completed; their datagrams are not analysed",
                        report.incomplete_sets
                    ),
                });
            }
        }
        analysis
    }
}
