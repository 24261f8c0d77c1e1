//! Binary-only helpers: argument definitions, progress display, file handling with error context.

pub mod args;
#[cfg(feature = "live")]
pub mod live;
pub mod progress;

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use callscope::capture::CaptureFile;

/// Opens the inputs and analyses them, with a progress bar where wanted.
pub fn analyze(inputs: &args::Inputs) -> anyhow::Result<callscope::Analysis> {
    let files = open_all(&inputs.files)?;
    let analysis = analyze_files(&files, inputs)?;
    // The process ends soon after: unmapping a large capture page by page costs more than leaving
    // it to the exit (measured: ~4 % of a 1 GiB run).
    std::mem::forget(files);
    Ok(analysis)
}

/// Analyses opened files, keeping the frames `--filter` accepts, with a progress bar unless `--quiet`.
pub fn analyze_files(
    files: &[CaptureFile],
    inputs: &args::Inputs,
) -> anyhow::Result<callscope::Analysis> {
    let mut options = callscope::Options {
        frame_filter: inputs.filter.as_deref().map(frame_filter).transpose()?,
        ..callscope::Options::default()
    };
    for &port in &inputs.hep_ports {
        if !options.hep_ports.contains(&port) {
            options.hep_ports.push(port);
        }
    }
    let progress = progress::Bar::new(inputs.quiet);
    let analysis = callscope::analyze(files, &options, &progress);
    progress.finish();
    Ok(analysis)
}

/// `--filter`: a BPF filter compiled by libpcap.
#[cfg(feature = "live")]
fn frame_filter(expr: &str) -> anyhow::Result<std::sync::Arc<callscope::pipeline::FrameFilter>> {
    live::bpf_filter(expr)
}

/// `--filter` in a build without libpcap: a usage error that says how to get it.
#[cfg(not(feature = "live"))]
fn frame_filter(expr: &str) -> anyhow::Result<std::sync::Arc<callscope::pipeline::FrameFilter>> {
    anyhow::bail!("--filter {expr:?}: {NO_LIVE}")
}

/// Why `watch` and `--filter` fail in a build without the feature `live`.
#[cfg(not(feature = "live"))]
pub const NO_LIVE: &str = "this callscope was built without live capture and BPF filters: \
    rebuild it with `cargo build --release --features live` (needs `apt-get install libpcap-dev`)";

/// Writes to standard output through a buffer.
pub fn to_stdout(write: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> anyhow::Result<()> {
    let mut out = BufWriter::new(io::stdout().lock());
    write(&mut out)?;
    out.flush()?;
    Ok(())
}

/// Opens every input, failing on the first that cannot be read as a capture.
pub fn open_all(paths: &[PathBuf]) -> anyhow::Result<Vec<CaptureFile>> {
    paths
        .iter()
        .map(|path| CaptureFile::open(path).with_context(|| format!("{}", path.display())))
        .collect()
}

/// Creates `path` and lets `write` fill it through a buffer.
pub fn write_file(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> anyhow::Result<()> {
    let file = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut out = BufWriter::new(file);
    write(&mut out).with_context(|| format!("cannot write {}", path.display()))?;
    out.flush()
        .with_context(|| format!("cannot write {}", path.display()))
}
