//! Replays the inputs that once crashed a fuzz target (see fuzz/README.md) through the very harness the
//! fuzzer runs: `fuzz/src/lib.rs` is included here as a module, and every file under
//! `tests/fuzz_regressions/<target>/` goes through `harness::<target>`. A new crasher becomes a regression
//! test by copying it from `fuzz/artifacts/<target>/` into that directory (name it after what it broke).

use std::fs;
use std::path::Path;

#[path = "../fuzz/src/lib.rs"]
mod harness;

/// Runs every saved input of `target` through `run`; returns how many there were.
fn replay(target: &str, run: fn(&[u8])) -> usize {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz_regressions")
        .join(target);
    let Ok(entries) = fs::read_dir(&dir) else {
        return 0;
    };
    let mut paths: Vec<_> = entries
        .map(|e| e.expect("a directory entry").path())
        .collect();
    paths.sort();
    for path in &paths {
        let data = fs::read(path).expect("a regression input is readable");
        eprintln!("{target}: {}", path.display());
        run(&data);
    }
    paths.len()
}

#[test]
fn capture() {
    replay("capture", harness::capture);
}

#[test]
fn decode() {
    replay("decode", harness::decode);
}

#[test]
fn defrag() {
    replay("defrag", harness::defrag);
}

#[test]
fn reassembly() {
    replay("reassembly", harness::reassembly);
}

#[test]
fn sip() {
    replay("sip", harness::sip);
}

#[test]
fn sdp() {
    replay("sdp", harness::sdp);
}

#[test]
fn rtp() {
    replay("rtp", harness::rtp);
}

#[test]
fn rtcp() {
    replay("rtcp", harness::rtcp);
}

#[test]
fn stun() {
    replay("stun", harness::stun);
}

#[test]
fn tls() {
    replay("tls", harness::tls);
}

#[test]
fn pipeline() {
    replay("pipeline", harness::pipeline);
}

/// The harnesses accept the empty input and the smallest captures (a sanity check that they run at all).
#[test]
fn harnesses_run_on_trivial_inputs() {
    let pcap_header: &[u8] = &[
        0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0,
    ];
    for run in [
        harness::capture,
        harness::decode,
        harness::defrag,
        harness::reassembly,
        harness::sip,
        harness::sdp,
        harness::rtp,
        harness::rtcp,
        harness::stun,
        harness::tls,
        harness::pipeline,
    ] {
        run(&[]);
        run(pcap_header);
    }
}

#[test]
fn extract_redact() {
    replay("extract_redact", harness::extract_redact);
}

/// The `extract_redact` harness on real calls: every capture of testdata/ under 256 KiB (the fuzzer
/// starts from such seeds), and the trivial inputs.
#[test]
fn extract_redact_runs_on_the_test_captures() {
    harness::extract_redact(&[]);
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut ran = 0;
    for dir in ["testdata/formats", "testdata/lab"] {
        let mut paths: Vec<_> = fs::read_dir(root.join(dir))
            .expect("a testdata directory")
            .map(|e| e.expect("a directory entry").path())
            .collect();
        paths.sort();
        for path in paths {
            let data = fs::read(&path).expect("a readable file");
            if data.len() <= 256 << 10 {
                harness::extract_redact(&data);
                ran += 1;
            }
        }
    }
    assert!(ran >= 20, "only {ran} captures");
}
