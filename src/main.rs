//! The `callscope` command: parse arguments, run the library, render, map errors to exit codes.
//!
//! Exit codes: 0 the analysis ran; 1 `--fail-on` found a call with a finding that severe; 2 a usage or
//! input error (unreadable file, not a capture).
//! A closed output pipe (`callscope analyze f.pcap | head`) ends the program quietly with 0.

#![deny(unsafe_code)]

mod cli;

use std::io;
use std::process::ExitCode;

use clap::Parser;

use callscope::correlate::calls::Call;
use callscope::diagnose::Severity;
use callscope::export::redact::Redactor;
use cli::args::{Args, ColorChoice, Command, FailOn};

/// The call a user named, or an error saying how to find one.
fn find_call<'a>(
    analysis: &'a callscope::Analysis,
    key: &str,
) -> anyhow::Result<(usize, &'a Call)> {
    analysis.find_call(key).ok_or_else(|| {
        anyhow::anyhow!(
            "no call {key:?} in the capture ({} calls; see `callscope calls`)",
            analysis.calls.len()
        )
    })
}

/// Keeps glibc from holding on to freed memory as a long capture goes by.
///
/// Every chunk allocates and frees similar-sized tables; with glibc's default (dynamic) trim and mmap
/// thresholds the freed memory at the top of the heap is kept, and the peak grows with the capture's
/// length (measured: +17 % for a 10x longer capture of the same calls; +2 % with these settings).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn tune_allocator() {
    // SAFETY: mallopt only sets allocator parameters; it is called before any other thread exists and
    // takes no pointers. A failure (return 0) leaves the defaults, which are merely less frugal.
    #[allow(unsafe_code)]
    unsafe {
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 20);
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn tune_allocator() {}

fn main() -> ExitCode {
    tune_allocator();
    let args = Args::parse();
    match run(args) {
        Ok(code) => code,
        Err(err) => {
            if is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            eprintln!("callscope: {err:#}");
            ExitCode::from(2)
        }
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}

fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        Command::Analyze(analyze) => {
            let analysis = cli::analyze(&analyze.inputs)?;
            let analysis = if analyze.redact {
                Redactor::for_analysis(&analysis).analysis(&analysis)
            } else {
                analysis
            };
            let stdout = std::path::Path::new("-");
            for (path, ndjson) in [(&analyze.json, false), (&analyze.ndjson, true)] {
                let Some(path) = path else { continue };
                let write = |out: &mut dyn io::Write| {
                    if ndjson {
                        callscope::report::json::write_ndjson(&analysis, out)
                    } else {
                        callscope::report::json::write(&analysis, out)
                    }
                };
                if path == stdout {
                    cli::to_stdout(write)?;
                } else {
                    cli::write_file(path, write)?;
                }
            }
            if let Some(path) = &analyze.html {
                cli::write_file(path, |out| callscope::report::html::write(&analysis, out))?;
            }
            let machine_on_stdout = [&analyze.json, &analyze.ndjson]
                .iter()
                .any(|p| p.as_deref() == Some(stdout));
            if !machine_on_stdout {
                let options = callscope::report::text::Options {
                    color: match analyze.color {
                        ColorChoice::Always => true,
                        ColorChoice::Never => false,
                        ColorChoice::Auto => io::IsTerminal::is_terminal(&io::stdout()),
                    },
                    only_failed: analyze.only_failed,
                };
                match &analyze.call {
                    Some(key) => {
                        let (index, call) = find_call(&analysis, key)?;
                        cli::to_stdout(|out| {
                            callscope::report::text::write_verdict(
                                &analysis,
                                index - 1,
                                &options,
                                &mut *out,
                            )?;
                            writeln!(out)?;
                            callscope::report::text::write_flow(call, index, out)
                        })?;
                    }
                    None => cli::to_stdout(|out| {
                        callscope::report::text::write(&analysis, &options, out)
                    })?,
                }
            }
            let threshold = analyze.fail_on.map(|f| match f {
                FailOn::Error => Severity::Error,
                FailOn::Warning => Severity::Warning,
            });
            let failed = threshold.is_some_and(|t| {
                analysis
                    .diagnosis
                    .calls
                    .iter()
                    .flatten()
                    .any(|f| f.severity <= t)
            });
            if failed {
                return Ok(ExitCode::from(1));
            }
        }
        Command::Calls(inputs) => {
            let analysis = cli::analyze(&inputs)?;
            cli::to_stdout(|out| callscope::report::text::write_calls(&analysis, out))?;
        }
        Command::Streams(inputs) => {
            let analysis = cli::analyze(&inputs)?;
            cli::to_stdout(|out| callscope::report::text::write_streams(&analysis, out))?;
        }
        Command::Extract(extract) => {
            let files = cli::open_all(&extract.inputs.files)?;
            let analysis = cli::analyze_files(&files, &extract.inputs)?;
            let (index, _) = find_call(&analysis, &extract.call)?;
            let redactor = extract.redact.then(|| Redactor::for_analysis(&analysis));
            let mut written = None;
            cli::write_file(&extract.output, |out| {
                written = Some(callscope::export::extract::call_packets(
                    &analysis,
                    index - 1,
                    &files,
                    redactor.as_ref(),
                    out,
                )?);
                Ok(())
            })?;
            if let Some(stats) = written {
                eprintln!(
                    "callscope: wrote {} packets of call {index} to {}",
                    stats.frames.len(),
                    extract.output.display()
                );
            }
        }
        Command::Flow(flow) => {
            let analysis = cli::analyze(&flow.inputs)?;
            let (index, call) = find_call(&analysis, &flow.call)?;
            cli::to_stdout(|out| callscope::report::text::write_flow(call, index, out))?;
        }
        #[cfg(feature = "live")]
        Command::Watch(watch) => cli::live::watch(&watch)?,
        #[cfg(not(feature = "live"))]
        Command::Watch(_) => anyhow::bail!("watch: {}", cli::NO_LIVE),
    }
    Ok(ExitCode::SUCCESS)
}
