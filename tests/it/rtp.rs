//! RTP stream figures equal `tshark -q -o rtp.heuristic_rtp:TRUE -z rtp,streams` to the printed
//! precision, on every public capture with RTP (testdata/expected/rtp/) and every lab capture
//! (testdata/lab/*.tshark.txt), and no stream that tshark does not list. The public captures are
//! compared when they are beside the repository (always in CI, see `support::optional`). UDPTL (T.38
//! fax) is never an RTP stream: the fax streams equal the packets tshark decodes as T.38 in each lab
//! capture that has them (testdata/lab/*.t38.txt).

use std::path::{Path, PathBuf};

use callscope::capture::{CaptureFile, OpenError};

use crate::support;
use crate::support::optional::SHARED_CAPTURES;

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

fn ours(file: &CaptureFile) -> Vec<Row> {
    let a = support::analyze_with(std::slice::from_ref(file), 1 << 16, 2);
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

/// (capture, tshark output) pairs: the public captures' outputs in testdata/expected/rtp/, named
/// after the capture's path under the shared folder with `/` replaced by `__` (when those captures
/// are beside the repository), and every lab capture's beside it.
fn cases() -> Vec<(PathBuf, PathBuf)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let outputs = support::expected::outputs("rtp", |path| {
        let name = path.trim_start_matches(SHARED_CAPTURES).replace('/', "__");
        format!("{name}.txt")
    });
    assert!(
        outputs.len() >= 35,
        "only {} expected outputs",
        outputs.len()
    );
    let what = "captures compared with tshark's RTP streams";
    let mut out: Vec<(PathBuf, PathBuf)> =
        support::optional::available(outputs, |(capture, _)| capture, what)
            .into_iter()
            .map(|(capture, expected)| (root.join(capture), expected))
            .collect();
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
    let (mut compared, mut lab_streams) = (0, 0);
    for (capture, expected) in cases() {
        let file_text = std::fs::read_to_string(&expected).expect("tshark's output");
        let file = match CaptureFile::open(&capture) {
            Ok(file) => file,
            // tshark read the Sniffer original of cr_ss101.cap; callscope refuses that format by name.
            Err(OpenError::Unsupported(_)) => continue,
            Err(err) => {
                failures.push(format!("{}: {err}", capture.display()));
                continue;
            }
        };
        let theirs = parse_tshark(&file_text);
        let mine = ours(&file);
        // A public capture's output is stored because it lists streams; a lab capture may have none,
        // and then callscope must find none either.
        let lab = capture.starts_with(Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata"));
        assert!(
            lab || !theirs.is_empty(),
            "{}: no stream parsed",
            expected.display()
        );
        for row in &theirs {
            if lab {
                lab_streams += 1;
            }
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
        for m in mine
            .iter()
            .filter(|m| !theirs.iter().any(|t| t.key == m.key))
        {
            failures.push(format!(
                "{} {}: not a stream for tshark",
                capture.display(),
                m.key
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {compared} streams differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(lab_streams >= 15, "only {lab_streams} lab streams compared");
}

#[test]
fn fax_streams_equal_the_t38_tshark_decodes() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/lab");
    let mut compared = 0;
    for entry in std::fs::read_dir(&root).expect("testdata/lab") {
        let path = entry.expect("an entry").path();
        let name = path.to_string_lossy().to_string();
        let Some(stem) = name.strip_suffix(".t38.txt") else {
            continue;
        };
        // `192.0.2.10:6002 > 192.0.2.31:20002 340`: packets tshark decoded as T.38 per direction.
        let mut theirs: Vec<String> = std::fs::read_to_string(&path)
            .expect("tshark's T.38 counts")
            .lines()
            .map(str::to_string)
            .collect();
        let file = CaptureFile::open(Path::new(&format!("{stem}.pcap"))).expect("the capture");
        let a = support::analyze_with(std::slice::from_ref(&file), 1 << 16, 2);
        let mut mine: Vec<String> = a
            .calls
            .iter()
            .flat_map(|c| &c.evidence.fax)
            .map(|f| format!("{} > {} {}", f.src, f.dst, f.packets))
            .collect();
        theirs.sort();
        mine.sort();
        assert_eq!(mine, theirs, "{stem}");
        compared += 1;
    }
    assert!(compared >= 2, "only {compared} captures with T.38 compared");
}
