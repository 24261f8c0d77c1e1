//! Binary-only helpers: argument definitions, progress display, file handling with error context, and
//! the terminal browser (`browse`).

pub mod args;
pub mod browse;
#[cfg(feature = "live")]
pub mod live;
pub mod output;
pub mod progress;

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use callscope::analysis::Output;
use callscope::capture::CaptureFile;

/// Opens the inputs and analyses them into `out` (calls written as they finish), with a progress bar
/// where wanted.
pub fn analyze_into(inputs: &args::Inputs, out: &mut dyn Output) -> anyhow::Result<()> {
    let files = open_all(&inputs.files)?;
    analyze_files_into(&files, inputs, out)?;
    // The process ends soon after: unmapping a large capture page by page costs more than leaving
    // it to the exit (measured: ~4 % of a 1 GiB run).
    std::mem::forget(files);
    Ok(())
}

/// Opens the inputs and collects their analysis in memory (for what needs all of it at once:
/// redaction).
pub fn analyze(inputs: &args::Inputs) -> anyhow::Result<callscope::Analysis> {
    let mut analysis = callscope::Analysis::default();
    analyze_into(inputs, &mut analysis)?;
    Ok(analysis)
}

/// Analyses opened files into `out`, keeping the frames `--filter` accepts and reporting the calls
/// the selection (`--number`, `--ip`, ...) picks, with a progress bar unless `--quiet`.
pub fn analyze_files_into(
    files: &[CaptureFile],
    inputs: &args::Inputs,
    out: &mut dyn Output,
) -> anyhow::Result<()> {
    let mut options = callscope::Options {
        frame_filter: inputs.filter.as_deref().map(frame_filter).transpose()?,
        call_filter: inputs.select.filter(),
        tls_keys: std::sync::Arc::new(tls_keys(&inputs.keylog, &inputs.tls_key)?),
        ..callscope::Options::default()
    };
    for &port in &inputs.hep_ports {
        if !options.hep_ports.contains(&port) {
            options.hep_ports.push(port);
        }
    }
    let progress = progress::Bar::new(inputs.quiet);
    let done = callscope::analyze_into(files, &options, &progress, out);
    progress.finish();
    Ok(done?)
}

/// `--keylog` and `--tls-key`: the files read into a key store. A file that cannot be read is an
/// error; malformed lines and keys are warnings on stderr (never quoting a secret), and the rest is
/// used.
pub fn tls_keys(
    keylogs: &[PathBuf],
    rsa_keys: &[String],
) -> anyhow::Result<callscope::decrypt::keys::KeyStore> {
    let mut keys = callscope::decrypt::keys::KeyStore::default();
    for path in keylogs {
        let text = std::fs::read(path)
            .with_context(|| format!("cannot read key log {}", path.display()))?;
        let before = keys.sessions();
        for warning in keys.add_keylog(&text, &path.display().to_string()) {
            eprintln!("callscope: warning: {warning}");
        }
        if keys.sessions() == before {
            eprintln!(
                "callscope: warning: key log {} holds no TLS session secret",
                path.display()
            );
        }
    }
    for spec in rsa_keys {
        let (path, server) = match spec.rsplit_once('@') {
            Some((path, at)) => match at.parse::<std::net::SocketAddr>() {
                Ok(server) => (path, Some(server)),
                Err(_) => anyhow::bail!(
                    "--tls-key {spec:?}: after @ comes the server as IP:PORT (e.g. 192.0.2.31:5061)"
                ),
            },
            None => (spec.as_str(), None),
        };
        let pem = std::fs::read(path).with_context(|| format!("cannot read TLS key {path}"))?;
        if let Err(e) = keys.add_rsa_pem(&pem, server) {
            eprintln!("callscope: warning: TLS key {path}: {e}; it is not used");
        }
    }
    Ok(keys)
}

/// `--at NAME=FILE…` grouped by name (in the order names first appear), each point's files opened.
pub fn open_points(at: &[String]) -> anyhow::Result<Vec<(String, Vec<CaptureFile>)>> {
    let mut points: Vec<(String, Vec<PathBuf>)> = Vec::new();
    for spec in at {
        let (name, path) = spec
            .split_once('=')
            .filter(|(n, p)| !n.is_empty() && !p.is_empty())
            .with_context(|| format!("--at {spec:?}: expected NAME=FILE"))?;
        match points.iter_mut().find(|(n, _)| n == name) {
            Some((_, files)) => files.push(PathBuf::from(path)),
            None => points.push((name.to_string(), vec![PathBuf::from(path)])),
        }
    }
    points
        .into_iter()
        .map(|(name, paths)| Ok((name, open_all(&paths)?)))
        .collect()
}

/// Analyses each capture point alone and puts them together, with a progress bar unless `--quiet`.
pub fn analyze_points(inputs: &args::Inputs) -> anyhow::Result<callscope::points::Points> {
    let points = open_points(&inputs.at)?;
    let options = callscope::Options {
        frame_filter: inputs.filter.as_deref().map(frame_filter).transpose()?,
        tls_keys: std::sync::Arc::new(tls_keys(&inputs.keylog, &inputs.tls_key)?),
        ..callscope::Options::default()
    };
    let progress = progress::Bar::new(inputs.quiet);
    let merged = callscope::analyze_points(&points, &options, &progress);
    progress.finish();
    Ok(merged)
}

/// Where a report goes: a file, or standard output for `-`.
pub fn sink(path: &Path) -> anyhow::Result<Box<dyn Write + Send>> {
    if path == Path::new("-") {
        return Ok(Box::new(BufWriter::new(io::stdout())));
    }
    let file = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    Ok(Box::new(BufWriter::new(file)))
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

/// Opens every input, failing on the first that cannot be read as a capture.
pub fn open_all(paths: &[PathBuf]) -> anyhow::Result<Vec<CaptureFile>> {
    paths
        .iter()
        .map(|path| CaptureFile::open(path).with_context(|| format!("{}", path.display())))
        .collect()
}
