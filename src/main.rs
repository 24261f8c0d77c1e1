//! The `callscope` command: parse arguments, run the library, render, map errors to exit codes.
//!
//! Exit codes: 0 the analysis ran; 2 a usage or input error (unreadable file, not a capture).
//! A closed output pipe (`callscope analyze f.pcap | head`) ends the program quietly with 0.

mod cli;

use std::io;
use std::process::ExitCode;

use clap::Parser;

use cli::args::{Args, Command};

fn main() -> ExitCode {
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
            let json_to_stdout = analyze.json.as_deref() == Some(std::path::Path::new("-"));
            if let Some(path) = &analyze.json {
                if json_to_stdout {
                    callscope::report::json::write(&analysis, io::stdout().lock())?;
                } else {
                    cli::write_file(path, |out| callscope::report::json::write(&analysis, out))?;
                }
            }
            if !json_to_stdout {
                cli::to_stdout(|out| callscope::report::text::write(&analysis, out))?;
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
        Command::Flow(flow) => {
            let analysis = cli::analyze(&flow.inputs)?;
            let Some((index, call)) = analysis.find_call(&flow.call) else {
                anyhow::bail!(
                    "no call {:?} in the capture ({} calls; see `callscope calls`)",
                    flow.call,
                    analysis.calls.len()
                );
            };
            cli::to_stdout(|out| callscope::report::text::write_flow(call, index, out))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
