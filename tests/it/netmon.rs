//! NetMon 2.x captures give the same analysis as the pcaps they were made from: every lab capture
//! converted by `editcap -F netmon2` (testdata/netmon/, gzip-compressed) yields the JSON report of
//! the pcap, except the capture's path, format and size.

use std::path::{Path, PathBuf};

use callscope::capture::CaptureFile;

use crate::support;

/// The JSON report of one capture file, with the fields that name the file itself blanked.
fn report_without_the_file(path: &Path) -> serde_json::Value {
    let file = CaptureFile::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let analysis = support::analyze_with(std::slice::from_ref(&file), 1 << 14, 2);
    let mut json = Vec::new();
    callscope::report::json::write(&analysis, &mut json).expect("write to a Vec");
    let mut value: serde_json::Value = serde_json::from_slice(&json).expect("valid JSON");
    for capture in value["captures"].as_array_mut().expect("a captures array") {
        for field in ["path", "format", "bytes", "gzip"] {
            capture[field] = serde_json::Value::Null;
        }
    }
    value
}

fn lab_pcaps() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir("testdata/lab")
        .expect("testdata/lab")
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "pcap"))
        .collect();
    out.sort();
    out
}

#[test]
fn netmon_copies_of_the_lab_captures_give_the_same_report() {
    let pcaps = lab_pcaps();
    assert!(pcaps.len() >= 14, "lab captures not found");
    for pcap in pcaps {
        let stem = pcap.file_stem().expect("a name").to_string_lossy();
        let netmon = PathBuf::from(format!("testdata/netmon/{stem}.cap.gz"));
        assert!(
            netmon.exists(),
            "{} has no NetMon copy: editcap -F netmon2 {} testdata/netmon/{stem}.cap && gzip -9 -n it",
            pcap.display(),
            pcap.display()
        );
        let netmon_file = CaptureFile::open(&netmon).expect("a NetMon file");
        assert_eq!(netmon_file.format.name(), "netmon2");
        assert_eq!(
            report_without_the_file(&pcap),
            report_without_the_file(&netmon),
            "{}",
            netmon.display()
        );
    }
}
