//! RTP stream figures equal `tshark -q -o rtp.heuristic_rtp:TRUE -z rtp,streams` to the printed
//! precision, on every public capture with RTP (testdata/expected/rtp/) and every lab capture
//! (testdata/lab/*.tshark.txt).

mod support;

use std::path::{Path, PathBuf};

use callscope::capture::CaptureFile;

/// One row of tshark's table: key and the compared columns as printed.
#[derive(Debug, PartialEq)]
struct Row {
    key: String,
    figures: Vec<String>,
}

fn parse_tshark(text: &str) -> Vec<Row> {
    let mut rows = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        if line.contains("RTP Streams") {
            inside = true;
            continue;
        }
        if !inside
            || line.starts_with('=')
            || line.trim_start().starts_with("Start time")
            || line.trim().is_empty()
        {
            if line.starts_with("====") && line.len() > 20 && !line.contains("RTP") {
                inside = false;
            }
            continue;
        }
        let t: Vec<&str> = line.split_whitespace().collect();
        let Some(k) = t
            .iter()
            .position(|x| x.starts_with('(') && x.ends_with("%)"))
        else {
            continue;
        };
        let key = format!(
            "{}:{}>{}:{} {}",
            t[2],
            t[3],
            t[4],
            t[5],
            t[6].to_ascii_uppercase().replace("0X", "0x")
        );
        let mut figures = vec![t[k - 2].to_string(), format!("{} {}", t[k - 1], t[k])];
        figures.extend(t[k + 1..k + 7].iter().map(|s| s.to_string()));
        figures.push(if t.len() > k + 7 {
            "X".into()
        } else {
            String::new()
        });
        rows.push(Row { key, figures });
    }
    rows
}

fn ours(path: &Path) -> Vec<Row> {
    let file = CaptureFile::open(path).expect("a readable capture");
    let a = support::analyze_with(std::slice::from_ref(&file), 1 << 16, 2);
    a.streams
        .iter()
        .map(|s| {
            let m = &s.summary;
            Row {
                key: format!(
                    "{}:{}>{}:{} 0x{:08X}",
                    s.src.ip(),
                    s.src.port(),
                    s.dst.ip(),
                    s.dst.port(),
                    s.ssrc
                ),
                figures: vec![
                    m.packets.to_string(),
                    format!("{} ({:.1}%)", m.lost, m.lost_pct),
                    format!("{:.3}", m.min_delta_ms.unwrap_or(-1.0)),
                    format!("{:.3}", m.mean_delta_ms),
                    format!("{:.3}", m.max_delta_ms),
                    format!("{:.3}", m.min_jitter_ms.unwrap_or(-1.0)),
                    format!("{:.3}", m.mean_jitter_ms),
                    format!("{:.3}", m.max_jitter_ms),
                    if m.problems {
                        "X".into()
                    } else {
                        String::new()
                    },
                ],
            }
        })
        .collect()
}

/// (capture, tshark output) pairs.
fn cases() -> Vec<(PathBuf, PathBuf)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    let capinfos =
        std::fs::read_to_string(root.join("testdata/expected/capinfos.tsv")).expect("capinfos.tsv");
    for path in capinfos
        .lines()
        .skip(1)
        .filter_map(|l| l.split('\t').next())
    {
        let name = path
            .trim_start_matches("../shared/captures/")
            .replace('/', "__");
        let expected = root
            .join("testdata/expected/rtp")
            .join(format!("{name}.txt"));
        if expected.exists() && root.join(path).exists() {
            out.push((root.join(path), expected));
        }
    }
    for entry in std::fs::read_dir(root.join("testdata/lab")).expect("testdata/lab") {
        let path = entry.expect("an entry").path();
        if path.extension().is_some_and(|e| e == "pcap") {
            out.push((path.clone(), path.with_extension("tshark.txt")));
        }
    }
    out.sort();
    out
}

#[test]
fn stream_figures_equal_tshark() {
    let mut failures = Vec::new();
    let mut compared = 0;
    for (capture, expected) in cases() {
        let Ok(file_text) = std::fs::read_to_string(&expected) else {
            continue;
        };
        // The Sniffer-format capture is not read by callscope (unsupported format).
        if CaptureFile::open(&capture).is_err() {
            continue;
        }
        let theirs = parse_tshark(&file_text);
        let mine = ours(&capture);
        for row in &theirs {
            compared += 1;
            match mine.iter().find(|m| m.key == row.key) {
                Some(m) if m.figures == row.figures => {}
                Some(m) => failures.push(format!(
                    "{} {}:\n  tshark    {:?}\n  callscope {:?}",
                    capture.display(),
                    row.key,
                    row.figures,
                    m.figures
                )),
                None => failures.push(format!(
                    "{} {}: stream not found",
                    capture.display(),
                    row.key
                )),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {compared} streams differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(compared >= 50, "only {compared} streams compared");
}
