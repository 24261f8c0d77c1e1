//! The pipeline: capture files in, [`Analysis`] out — decode in parallel, fold in capture order.
//!
//! Each file is cut into byte ranges (chunks, [`Options::chunk_size`]). Chunks are read and decoded in
//! parallel with rayon, a window of them at a time so that memory stays bounded whatever the capture's
//! length (`chunk`). Their outputs are then folded one after the other, in capture order, by a single
//! `Fold`: it numbers frames, checks that each chunk started where the previous one really ended
//! (re-reading the chunk when resynchronisation guessed wrong), and feeds the order-dependent stages:
//! IP defragmentation, TCP reassembly and the engine, which finalizes each call as capture time
//! passes; what is finished is diagnosed there and goes, a batch per chunk, to a render thread that
//! writes it into the run's [`Output`] (`render`; collected into an [`Analysis`] by [`analyze`]).
//! Because the fold sees chunk outputs in the same order whatever the thread count, the result is
//! identical with 1 or N threads.
//!
//! Files are merged by the timestamp of their first packet (rotated captures of one session), then read
//! one after the other; frames are numbered across files in that order.

mod chunk;
mod fold;
mod live;
mod render;

pub use live::Live;

use std::ops::Range;
use std::sync::{Arc, Mutex};

use rayon::prelude::*;

use crate::analysis::{Analysis, Filter, Output, Reporting};
use crate::capture::{CaptureFile, Start};
use crate::correlate::engine;
use crate::decrypt::keys::KeyStore;
use fold::Fold;
use render::Renderer;

/// HEP's port (IANA: `hep`, 9060/udp and tcp).
pub const HEP_PORT: u16 = 9060;

/// Decides whether a frame (link type, captured bytes) is analysed, e.g. a compiled BPF filter.
pub type FrameFilter = dyn Fn(u32, &[u8]) -> bool + Send + Sync;

/// How a run goes. The result never depends on `chunk_size` or `window_per_thread`, only speed
/// and memory do.
#[derive(Clone)]
pub struct Options {
    /// Bytes of capture per unit of parallel work.
    pub chunk_size: usize,
    /// Chunks decoded at once per thread before their outputs are folded (bounds memory). Two by
    /// default: on 2 cores, four kept more chunk outputs in flight and left a longer last window
    /// for the fold alone, one made the windows' hand-overs too frequent (measured on 10 k short
    /// calls and on 940 long ones).
    pub window_per_thread: usize,
    /// The number the first frame gets (1 as in Wireshark; more when analysing a later window of a
    /// live capture).
    pub first_frame: u64,
    /// Frames it rejects are numbered and counted (`filtered_out`) but not analysed.
    pub frame_filter: Option<Arc<FrameFilter>>,
    /// UDP ports where HEP1/2 feeds are recognised (HEP3 is recognised on any port by its magic);
    /// 9060, HEP's registered port, by default.
    pub hep_ports: Vec<u16>,
    /// Bounds on the state open at once (calls, streams, connections) and the idle bound.
    pub limits: engine::Limits,
    /// The calls reported (all of them by default); the others are analysed and counted.
    pub call_filter: Filter,
    /// Secrets for decrypting TLS (`--keylog`, `--tls-key`); never printed.
    pub tls_keys: Arc<KeyStore>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            chunk_size: 4 << 20,
            window_per_thread: 2,
            first_frame: 1,
            frame_filter: None,
            hep_ports: vec![HEP_PORT],
            limits: engine::Limits::default(),
            call_filter: Filter::default(),
            tls_keys: Arc::default(),
        }
    }
}

impl std::fmt::Debug for Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options")
            .field("chunk_size", &self.chunk_size)
            .field("window_per_thread", &self.window_per_thread)
            .field("first_frame", &self.first_frame)
            .field("frame_filter", &self.frame_filter.is_some())
            .field("hep_ports", &self.hep_ports)
            .field("limits", &self.limits)
            .field("call_filter", &self.call_filter)
            .field("tls_sessions_keyed", &self.tls_keys.sessions())
            .finish()
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
///
/// Windows of chunks are decoded in parallel while the previous window is folded (`rayon::join`),
/// so the sequential fold overlaps the parallel work instead of adding to it.
pub fn analyze(files: &[CaptureFile], options: &Options, progress: &dyn Progress) -> Analysis {
    let mut analysis = Analysis::default();
    // Collecting into memory cannot fail.
    let _ = analyze_into(files, options, progress, &mut analysis);
    analysis
}

/// Analyses the captures of several points of the same calls (name, files), each point alone
/// with its own clock and numbering, then puts them together ([`crate::points`]).
pub fn analyze_points(
    points: &[(String, Vec<CaptureFile>)],
    options: &Options,
    progress: &dyn Progress,
) -> crate::points::Points {
    let inputs = points
        .iter()
        .map(|(name, files)| crate::points::Input {
            name: name.clone(),
            analysis: analyze(files, options, progress),
            files,
        })
        .collect();
    crate::points::merge(inputs)
}

/// Analyses the given capture files as one capture, handing each call to `out` as it is finalized
/// and everything else as it is let go: memory stays bounded by what is open at once, whatever
/// the capture's length. Errors are `out`'s (writing a report).
///
/// `out` is written on a thread of its own (`render`), in the order the fold finished things.
///
/// `out` sees the calls `options.call_filter` selects (and what goes with them) and, in the
/// summary, their [`Overview`](crate::analysis::Overview) (see [`Reporting`]).
pub fn analyze_into(
    files: &[CaptureFile],
    options: &Options,
    progress: &dyn Progress,
    out: &mut dyn Output,
) -> std::io::Result<()> {
    let mut order: Vec<(i64, usize)> = files
        .iter()
        .enumerate()
        .map(|(i, f)| (first_timestamp(f).unwrap_or(i64::MAX), i))
        .collect();
    order.sort();
    let mut out = Reporting::new(&options.call_filter, out);
    if let Some(&(start, _)) = order.first().filter(|(t, _)| *t != i64::MAX) {
        out.capture_start(start);
    }
    progress.start(files.iter().map(|f| f.len() as u64).sum());
    // Every file contributes at least one (possibly empty) range, so that it is reported.
    let items: Vec<Item> = order
        .iter()
        .flat_map(|&(_, file)| {
            let mut ranges = files[file].chunks(options.chunk_size);
            if ranges.is_empty() {
                let at = files[file].first().0;
                ranges.push(at..at);
            }
            ranges.into_iter().map(move |range| Item { file, range })
        })
        .collect();
    let window = rayon::current_num_threads().max(1) * options.window_per_thread.max(1);
    std::thread::scope(|scope| {
        let mut fold = Folding {
            fold: Fold::new(options),
            file: None,
            render: Renderer::start(scope, out),
        };
        let buffers = Buffers::default();
        let mut pending: Option<(&[Item], Vec<chunk::Output>)> = None;
        for group in items.chunks(window) {
            let (outputs, ()) = rayon::join(
                || {
                    group
                        .par_iter()
                        .map(|item| item.run(files, options, &buffers))
                        .collect::<Vec<_>>()
                },
                || {
                    if let Some((done, outputs)) = pending.take() {
                        fold.window(files, options, &buffers, done, outputs, progress);
                    }
                },
            );
            pending = Some((group, outputs));
        }
        if let Some((done, outputs)) = pending {
            fold.window(files, options, &buffers, done, outputs, progress);
        }
        if fold.file.is_some() {
            fold.fold.end_file();
        }
        let render = fold.render;
        let summary = fold.fold.finish(|batch| render.send(batch));
        render.finish(summary)
    })
}

/// A unit of parallel work: a byte range of a file.
struct Item {
    file: usize,
    range: Range<usize>,
}

/// Event buffers the fold hands back for the next chunks. Reusing them keeps memory flat: fresh
/// megabyte-sized vectors for every chunk let glibc's heap fragment and creep with capture length
/// (measured: +17 % peak anonymous memory for a 10x longer capture without reuse, +4 % with).
#[derive(Default)]
struct Buffers(Mutex<Vec<Vec<chunk::Event>>>);

impl Buffers {
    fn take(&self) -> Vec<chunk::Event> {
        self.0
            .lock()
            .ok()
            .and_then(|mut spare| spare.pop())
            .unwrap_or_default()
    }

    fn give(&self, buffer: Vec<chunk::Event>) {
        if let Ok(mut spare) = self.0.lock() {
            spare.push(buffer);
        }
    }
}

impl Item {
    /// Reads the range, from the file's first record if the range starts there, else by
    /// resynchronisation.
    fn run(&self, files: &[CaptureFile], options: &Options, buffers: &Buffers) -> chunk::Output {
        let file = &files[self.file];
        let (at, state) = file.first();
        let start = if self.range.start == at {
            Start::At(at, state)
        } else {
            Start::Resync
        };
        chunk::run(
            file,
            self.range.clone(),
            start,
            config(options),
            buffers.take(),
        )
    }
}

/// The fold, the file it is in, and where what it finishes is rendered.
struct Folding<'scope> {
    fold: Fold,
    file: Option<usize>,
    render: Renderer<'scope>,
}

impl Folding<'_> {
    /// Folds a window's outputs in order, re-reading a chunk whose guessed start was wrong.
    fn window(
        &mut self,
        files: &[CaptureFile],
        options: &Options,
        buffers: &Buffers,
        items: &[Item],
        outputs: Vec<chunk::Output>,
        progress: &dyn Progress,
    ) {
        for (item, output) in items.iter().zip(outputs) {
            let file = &files[item.file];
            if self.file != Some(item.file) {
                if self.file.is_some() {
                    self.fold.end_file();
                }
                self.fold.begin_file(file);
                self.file = Some(item.file);
            }
            let (next, state) = self.fold.resume_point();
            if next >= item.range.end && !item.range.is_empty() {
                // A record from an earlier chunk covers this whole range.
            } else if output.read.began.as_ref() == Some(&(next, state.clone())) {
                buffers.give(self.fold.absorb(output));
            } else {
                let again = chunk::run(
                    file,
                    item.range.clone(),
                    Start::At(next, state),
                    config(options),
                    buffers.take(),
                );
                buffers.give(self.fold.absorb(again));
            }
            self.render.send(self.fold.finished());
            progress.advance(item.range.len() as u64);
        }
    }
}

/// What chunks take from the options.
fn config(options: &Options) -> chunk::Config<'_> {
    chunk::Config {
        filter: options.frame_filter.as_deref(),
        hep_ports: &options.hep_ports,
    }
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
