//! Writes a synthetic VoIP capture for benchmarks: `cargo run --release --example gencap -- OUT.pcap
//! [--calls N] [--seconds S] [--loss PCT] [--jitter-ms MS] [--failed PCT] [--seed N]`.

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
            "--seconds" => spec.seconds = value()?.parse()?,
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
