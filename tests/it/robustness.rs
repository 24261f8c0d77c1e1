//! Damaged input: every testdata capture cut at many offsets is analysed and rendered without panic,
//! and a cut that lands inside a record is reported by a warning that says so.

use std::collections::BTreeSet;
use std::path::PathBuf;

use callscope::capture::CaptureFile;

use crate::support;

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

/// Where a capture's parts are, in the byte order its header announces.
struct Layout {
    pcapng: bool,
    /// The end of the file header (pcap) or of the first section header block (pcapng).
    header: usize,
    /// Offsets where a record (pcap) or block (pcapng) starts, and the end of the file.
    boundaries: BTreeSet<usize>,
}

impl Layout {
    fn of(bytes: &[u8]) -> Layout {
        let big = matches!(bytes.get(..4), Some([0xa1, 0xb2, 0xc3 | 0x3c, 0xd4 | 0x4d]))
            || bytes.get(8..12) == Some(&[0x1a, 0x2b, 0x3c, 0x4d]);
        let word = |at: usize| {
            let b: [u8; 4] = bytes.get(at..at + 4)?.try_into().ok()?;
            let v = if big {
                u32::from_be_bytes(b)
            } else {
                u32::from_le_bytes(b)
            };
            Some(v as usize)
        };
        let pcapng = word(0) == Some(0x0a0d_0d0a);
        let (header, mut at) = if pcapng {
            (word(4).expect("a section header length"), 0)
        } else {
            let magic = word(0).expect("a magic number");
            assert!(
                matches!(magic, 0xa1b2_c3d4 | 0xa1b2_3c4d),
                "not a pcap file"
            );
            (24, 24)
        };
        let mut boundaries = BTreeSet::from([bytes.len()]);
        while at < bytes.len() {
            boundaries.insert(at);
            // A record's length is its header (16 bytes) plus its caplen; a block holds its own.
            let len = if pcapng {
                word(at + 4)
            } else {
                word(at + 8).map(|n| 16 + n)
            };
            at += len.filter(|&n| n > 0).unwrap_or(bytes.len());
        }
        Layout {
            pcapng,
            header,
            boundaries,
        }
    }

    /// How far into its record or block the offset lies.
    fn inside(&self, at: usize) -> usize {
        at - self
            .boundaries
            .range(..=at)
            .next_back()
            .copied()
            .unwrap_or(0)
    }
}

#[test]
fn cut_captures_are_analysed_and_the_cut_is_reported() {
    let mut checked = 0;
    for path in captures() {
        let bytes = std::fs::read(&path).expect("a capture");
        if bytes.is_empty() {
            continue; // empty.pcap: nothing to cut.
        }
        let layout = Layout::of(&bytes);
        let name = path.display().to_string();
        // Every offset of small files; a dense sample of larger ones.
        let step = (bytes.len() / 400).max(1);
        for cut in (1..bytes.len()).step_by(step) {
            let opened = CaptureFile::from_bytes(name.clone(), bytes[..cut].to_vec());
            // Only a cut inside the file header refuses the file.
            assert_eq!(opened.is_ok(), cut >= layout.header, "{name} cut at {cut}");
            let Ok(file) = opened else { continue };
            let analysis = support::analyze_with(std::slice::from_ref(&file), 1 << 12, 2);
            let mut sink = Vec::new();
            callscope::report::text::write(&analysis, &Default::default(), &mut sink)
                .expect("text");
            callscope::report::json::write(&analysis, &mut sink).expect("json");
            let said: Vec<&str> = analysis.captures[0]
                .warnings
                .iter()
                .map(|w| w.message.as_str())
                .collect();
            let at_boundary = layout.boundaries.contains(&cut);
            if layout.pcapng && !at_boundary && layout.inside(cut) < 8 {
                // A cut inside a block's type and length words leaves no length to tell a cut block
                // from a damaged one, and the reader says "damaged block (bad length 0)". "Cut
                // short" would be more helpful (src/capture); until then this pins what it says.
                assert!(
                    said.iter().any(|m| m.contains("damaged block")),
                    "{name} cut at {cut}: {said:?}"
                );
            } else {
                let warned = said
                    .iter()
                    .any(|m| m.contains("cut short") || m.contains("ends inside"));
                assert_eq!(warned, !at_boundary, "{name} cut at {cut}: {said:?}");
            }
            checked += 1;
        }
    }
    assert!(checked > 5000, "only {checked} cuts analysed");
}
