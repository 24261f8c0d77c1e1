//! Writes a synthetic VoIP capture for benchmarks: `cargo run --release --example gencap -- OUT.pcap
//! [--calls N] [--seconds S] [--spacing-ms MS] [--loss PCT] [--jitter-ms MS] [--failed PCT] [--seed N]
//! [--noise N] [--append CAPTURE]`.
//!
//! `--seconds` may be fractional (0.2 = 10 RTP packets each way); `--noise N` writes N closed web
//! connections before the calls; `--append CAPTURE` copies a capture's packets after them (times
//! shifted to begin one second after the last generated packet).

mod synth;

use std::fs::File;
use std::time::Instant;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let mut out = None;
    let mut spec = synth::Spec::default();
    while let Some(arg) = args.next() {
        let mut value = || -> anyhow::Result<String> {
            args.next()
                .ok_or_else(|| anyhow::anyhow!("{arg} needs a value"))
        };
        match arg.as_str() {
            "--calls" => spec.calls = value()?.parse()?,
            "--seconds" => spec.media_ms = (value()?.parse::<f64>()? * 1000.0).round() as u32,
            "--noise" => spec.noise_connections = value()?.parse()?,
            "--append" => spec.tail = records(&value()?)?,
            "--spacing-ms" => spec.spacing_ms = value()?.parse()?,
            "--loss" => spec.loss_pct = value()?.parse()?,
            "--jitter-ms" => spec.jitter_ms = value()?.parse()?,
            "--failed" => spec.failed_pct = value()?.parse()?,
            "--seed" => spec.seed = value()?.parse()?,
            _ if out.is_none() && !arg.starts_with('-') => out = Some(arg),
            _ => anyhow::bail!("unknown argument {arg}"),
        }
    }
    let out =
        out.ok_or_else(|| anyhow::anyhow!("usage: gencap OUT.pcap [--calls N] [--seconds S] ..."))?;
    let started = Instant::now();
    let packets = synth::generate(&spec, File::create(&out)?)?;
    let bytes = std::fs::metadata(&out)?.len();
    eprintln!(
        "{out}: {packets} packets, {bytes} bytes, {} calls, in {:.1} s",
        spec.calls,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The packets of the capture at `path`: (time, bytes, length on the wire).
fn records(path: &str) -> anyhow::Result<Vec<synth::Record>> {
    use callscope::capture::{CaptureFile, Start};
    let file = CaptureFile::open(std::path::Path::new(path))?;
    let (at, state) = file.first();
    let mut records = Vec::new();
    file.read_chunk(at..file.len(), Start::At(at, state), &mut |f| {
        records.push((f.ts_ns, f.data.to_vec(), f.orig_len));
    });
    Ok(records)
}
