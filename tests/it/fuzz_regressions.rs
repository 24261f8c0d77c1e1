//! Replays the inputs that once crashed a fuzz target (see fuzz/README.md) through the very harness the
//! fuzzer runs: `fuzz/src/lib.rs` is included here as a module, and every file under
//! `tests/fuzz_regressions/<target>/` goes through `harness::<target>`. A new crasher becomes a regression
//! test by copying it from `fuzz/artifacts/<target>/` into that directory (name it after what it broke);
//! the directory is created with its first crasher, so only targets that once crashed have one.

use std::fs;
use std::path::{Path, PathBuf};

#[path = "../../fuzz/src/lib.rs"]
mod harness;

/// A fuzz harness: any bytes in, a panic on a broken invariant.
type Harness = fn(&[u8]);

/// Every fuzz target (`fuzz/fuzz_targets/<name>.rs`) with its harness.
const TARGETS: [(&str, Harness); 16] = [
    ("capture", harness::capture),
    ("decode", harness::decode),
    ("defrag", harness::defrag),
    ("reassembly", harness::reassembly),
    ("sip", harness::sip),
    ("sdp", harness::sdp),
    ("rtp", harness::rtp),
    ("rtcp", harness::rtcp),
    ("stun", harness::stun),
    ("dns", harness::dns),
    ("hep", harness::hep),
    ("tls", harness::tls),
    ("decrypt", harness::decrypt),
    ("udptl", harness::udptl),
    ("pipeline", harness::pipeline),
    ("extract_redact", harness::extract_redact),
];

/// The files in `dir`, sorted.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry").path())
        .collect();
    paths.sort();
    paths
}

/// Every directory under tests/fuzz_regressions/ is named after a target and holds inputs, and
/// every input goes through that target's harness: a crasher copied there is replayed without more
/// ado, and a misnamed or empty directory fails rather than being skipped.
#[test]
fn saved_crashers_replay_through_their_harness() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_regressions");
    let mut replayed = 0;
    for dir in files(&root) {
        let target = dir
            .file_name()
            .expect("a name")
            .to_string_lossy()
            .into_owned();
        let Some((_, run)) = TARGETS.iter().find(|(name, _)| *name == target) else {
            panic!("{}: not a fuzz target's name", dir.display());
        };
        let inputs = files(&dir);
        assert!(!inputs.is_empty(), "{}: no input", dir.display());
        for path in inputs {
            eprintln!("{target}: {}", path.display());
            run(&fs::read(&path).expect("a regression input is readable"));
            replayed += 1;
        }
    }
    // The decode and pipeline crashers that the first fuzz runs found (see fuzz/README.md).
    assert!(replayed >= 2, "only {replayed} inputs replayed");
}

/// The harnesses here are those of every fuzz target.
#[test]
fn every_fuzz_target_is_known_here() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/fuzz_targets");
    let targets: Vec<String> = files(&dir)
        .iter()
        .map(|p| {
            p.file_stem()
                .expect("a name")
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    let mut known: Vec<String> = TARGETS.iter().map(|(name, _)| name.to_string()).collect();
    known.sort();
    assert_eq!(targets, known);
}

/// The harnesses accept the empty input and the smallest captures (a sanity check that they run at all).
#[test]
fn harnesses_run_on_trivial_inputs() {
    let pcap_header: &[u8] = &[
        0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0,
    ];
    for (_, run) in TARGETS {
        run(&[]);
        run(pcap_header);
    }
}

/// The `extract_redact` harness on real calls: every capture of testdata/ under 256 KiB (the fuzzer
/// starts from such seeds), and the trivial input.
#[test]
fn extract_redact_runs_on_the_test_captures() {
    harness::extract_redact(&[]);
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut ran = 0;
    for dir in ["testdata/formats", "testdata/lab"] {
        for path in files(&root.join(dir)) {
            let data = fs::read(&path).expect("a readable file");
            if data.len() <= 256 << 10 {
                harness::extract_redact(&data);
                ran += 1;
            }
        }
    }
    assert!(ran >= 20, "only {ran} captures");
}
