//! Damaged input: every testdata capture cut at many offsets is analysed and rendered without panic,
//! and a cut that lands inside a record is reported by a warning that says so.

mod support;

use std::collections::HashSet;
use std::path::PathBuf;

use callscope::capture::CaptureFile;

fn captures() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for dir in ["testdata/formats", "testdata/lab"] {
        for entry in std::fs::read_dir(dir).expect("testdata") {
            let path = entry.expect("an entry").path();
            let name = path.to_string_lossy().to_string();
            if name.ends_with(".pcap") || name.ends_with(".pcapng") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// Offsets where a record (pcap) or block (pcapng) starts or the file ends, for little-endian files.
fn boundaries(bytes: &[u8]) -> Option<HashSet<usize>> {
    let u32_at = |at: usize| {
        bytes
            .get(at..at + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let mut out = HashSet::new();
    match u32_at(0)? {
        0xa1b2_c3d4 | 0xa1b2_3c4d => {
            let mut at = 24;
            while at <= bytes.len() {
                out.insert(at);
                at += 16 + u32_at(at + 8)? as usize;
            }
        }
        0x0a0d_0d0a if u32_at(8)? == 0x1a2b_3c4d => {
            let mut at = 0;
            while at <= bytes.len() {
                out.insert(at);
                at += u32_at(at + 4)? as usize;
            }
        }
        _ => return None,
    }
    out.insert(bytes.len());
    Some(out)
}

#[test]
fn cut_captures_are_analysed_and_the_cut_is_reported() {
    let mut checked = 0;
    for path in captures() {
        let bytes = std::fs::read(&path).expect("a capture");
        let bounds = boundaries(&bytes);
        // Every offset of small files; a dense sample of larger ones.
        let step = (bytes.len() / 400).max(1);
        for cut in (1..bytes.len()).step_by(step) {
            let Ok(file) =
                CaptureFile::from_bytes(path.display().to_string(), bytes[..cut].to_vec())
            else {
                continue; // Cut inside the file header: refused with an error, as it should be.
            };
            let analysis = support::analyze_with(std::slice::from_ref(&file), 1 << 12, 2);
            let mut sink = Vec::new();
            callscope::report::text::write(&analysis, &Default::default(), &mut sink)
                .expect("text");
            callscope::report::json::write(&analysis, &mut sink).expect("json");
            if let Some(bounds) = &bounds {
                let warned = analysis.captures[0]
                    .warnings
                    .iter()
                    .any(|w| w.message.contains("cut short") || w.message.contains("ends inside"));
                let at_boundary = bounds.contains(&cut);
                assert_eq!(warned, !at_boundary, "{} cut at {cut}", path.display());
            }
            checked += 1;
        }
    }
    assert!(checked > 5000, "only {checked} cuts analysed");
}
