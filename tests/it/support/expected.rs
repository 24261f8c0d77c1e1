//! The expected data that tshark and capinfos made (testdata/expected/, see
//! testdata/formats/make-expected.py), keyed by the captures that capinfos.tsv lists.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The rows of testdata/expected/capinfos.tsv (without its header), split into columns. The first
/// column is the capture's path relative to the repository root: testdata's and the public ones.
pub fn capinfos() -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(root().join("testdata/expected/capinfos.tsv"))
        .expect("testdata/expected/capinfos.tsv");
    text.lines()
        .skip(1)
        .map(|line| line.split('\t').map(str::to_string).collect())
        .collect()
}

/// (capture path, expected output) for every output in testdata/expected/`dir`/, where `name` gives
/// the output's file name for a capture path. An output that no listed capture claims fails the test:
/// it would otherwise be checked by nothing.
pub fn outputs(dir: &str, name: impl Fn(&str) -> String) -> Vec<(String, PathBuf)> {
    let dir = root().join("testdata/expected").join(dir);
    let mut unclaimed: BTreeSet<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| {
            e.expect("a directory entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|f| f != "README.txt")
        .collect();
    let mut out = Vec::new();
    for row in capinfos() {
        let file = name(&row[0]);
        if unclaimed.remove(&file) {
            out.push((row[0].clone(), dir.join(file)));
        }
    }
    assert!(
        unclaimed.is_empty(),
        "{}: outputs of no capture in capinfos.tsv: {unclaimed:?}",
        dir.display()
    );
    out
}
