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
mod fold;

use rayon::prelude::*;

use crate::analysis::Analysis;
use crate::capture::{CaptureFile, Start};
use fold::Fold;

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
