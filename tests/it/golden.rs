//! Golden tests: the text report (with every call's ladder), the JSON report and the HTML report of
//! every testdata capture, compared with the snapshots in tests/snapshots/; for the load test
//! (testdata/load), the text report alone, the first screen a person reads. After an intended
//! change of output, run `UPDATE_SNAPSHOTS=1 cargo test --test it golden::` and review the diff of
//! the snapshots.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use callscope::capture::CaptureFile;

use crate::support;

const SNAPSHOTS: &str = "tests/snapshots";

/// The one testdata capture that is refused rather than reported (real_captures checks why).
const REFUSED: &str = "testdata/formats/empty.pcap";

/// The load test: 1311 calls, whose snapshot is the text report alone.
const LOAD: &str = "testdata/load/load-403.pcap";

/// The testdata captures that get snapshots.
fn captures() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for dir in ["testdata/formats", "testdata/lab"] {
        for entry in std::fs::read_dir(dir).expect("a testdata directory") {
            let path = entry.expect("a directory entry").path();
            let name = path.to_string_lossy();
            let capture = name.ends_with(".pcap")
                || name.ends_with(".pcapng")
                || name.ends_with(".pcap.gz")
                || name.ends_with(".cap");
            if capture && path != Path::new(REFUSED) {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The two-point recordings (`testdata/lab/<scenario>.<point>.pcap`): per scenario its points,
/// the application's ("app") last, so the proxy's or the edge's clock is the reference.
fn point_runs() -> Vec<(String, Vec<(String, PathBuf)>)> {
    let mut runs: Vec<(String, Vec<(String, PathBuf)>)> = Vec::new();
    for path in captures() {
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let Some((scenario, point)) = name
            .strip_suffix(".pcap")
            .and_then(|n| n.rsplit_once('.'))
            .filter(|(s, _)| s.starts_with("points-"))
        else {
            continue;
        };
        let point = (point.to_string(), path.clone());
        match runs.iter_mut().find(|(s, _)| s == scenario) {
            Some((_, points)) => points.push(point),
            None => runs.push((scenario.to_string(), vec![point])),
        }
    }
    for (_, points) in &mut runs {
        points.sort_by_key(|(name, _)| (name == "app", name.clone()));
    }
    runs
}

/// The snapshots' file name without extension: the capture's path under testdata/, `/` as `__`.
fn stem(capture: &Path) -> String {
    capture
        .to_string_lossy()
        .replace("testdata/", "")
        .replace('/', "__")
}

fn check(snapshot: &Path, actual: &str, failures: &mut Vec<String>) {
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(snapshot, actual).expect("write a snapshot");
        return;
    }
    match std::fs::read_to_string(snapshot) {
        Ok(expected) if expected == actual => {}
        Ok(expected) => {
            let line = expected
                .lines()
                .zip(actual.lines())
                .position(|(a, b)| a != b)
                .unwrap_or(expected.lines().count().min(actual.lines().count()));
            failures.push(format!(
                "{} differs from line {}:\n  expected: {:?}\n  actual:   {:?}",
                snapshot.display(),
                line + 1,
                expected.lines().nth(line),
                actual.lines().nth(line)
            ));
        }
        Err(_) => failures.push(format!(
            "{} is missing (UPDATE_SNAPSHOTS=1 writes it)",
            snapshot.display()
        )),
    }
}

#[test]
fn reports_match_snapshots() {
    let mut failures = Vec::new();
    let captures = captures();
    assert!(captures.len() >= 15, "testdata captures not found");
    for path in captures {
        let file =
            CaptureFile::open(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
        let analysis = support::analyze_with(std::slice::from_ref(&file), 1 << 20, 2);
        let mut text = Vec::new();
        callscope::report::text::write(&analysis, &Default::default(), &mut text)
            .expect("write to a Vec");
        for (i, call) in analysis.calls.iter().enumerate() {
            text.push(b'\n');
            callscope::report::text::write_flow(call, i + 1, &mut text).expect("write to a Vec");
        }
        let mut json = Vec::new();
        callscope::report::json::write(&analysis, &mut json).expect("write to a Vec");
        let mut html = Vec::new();
        callscope::report::html::write(&analysis, &mut html).expect("write to a Vec");
        let stem = stem(&path);
        let dir = Path::new(SNAPSHOTS);
        std::fs::create_dir_all(dir).expect("create tests/snapshots");
        check(
            &dir.join(format!("{stem}.txt")),
            &String::from_utf8(text).expect("UTF-8 text"),
            &mut failures,
        );
        check(
            &dir.join(format!("{stem}.json")),
            &String::from_utf8(json).expect("UTF-8 JSON"),
            &mut failures,
        );
        check(
            &dir.join(format!("{stem}.html")),
            &String::from_utf8(html).expect("UTF-8 HTML"),
            &mut failures,
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A load test's text report starts with a handful of pattern lines saying what happened to its
/// 1311 calls, and lists 50 rows, not 1311, nor 1311 verdicts.
#[test]
fn the_load_test_reads_as_a_handful_of_patterns() {
    let file = CaptureFile::open(Path::new(LOAD)).expect("the load capture");
    let analysis = support::analyze_with(std::slice::from_ref(&file), 1 << 20, 2);
    assert_eq!(analysis.calls.len(), 1311);
    let mut text = Vec::new();
    callscope::report::text::write(&analysis, &Default::default(), &mut text)
        .expect("write to a Vec");
    let text = String::from_utf8(text).expect("UTF-8 text");
    let mut failures = Vec::new();
    check(
        &Path::new(SNAPSHOTS).join(format!("{}.txt", stem(Path::new(LOAD)))),
        &text,
        &mut failures,
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let first_screen: Vec<&str> = text.lines().take(24).collect();
    let patterns: Vec<&&str> = first_screen
        .iter()
        .filter(|l| l.contains(" calls ") && l.contains('%'))
        .collect();
    assert_eq!(patterns.len(), 3, "{}", first_screen.join("\n"));
    assert!(patterns[0].contains("1148 calls  87.6%") && patterns[0].contains("sip.rejected"));
    assert!(patterns[0].contains("rejected 403 Forbidden by 192.0.2.20"));
    assert!(patterns[1].contains("88 calls") && patterns[1].contains("media.none"));
    assert!(patterns[2].contains("75 calls") && patterns[2].contains("sip.no_response"));
    assert!(text.lines().count() < 120, "{} lines", text.lines().count());
    assert!(text.contains("  ... 1261 more calls (--all lists every call"));
}

/// A busy trunk's peer table: 400 generated calls, each from its own host, and the lab's OPTIONS
/// keep-alive capture (three of its four pairs fail). The text lists every pair with a finding and
/// the first 50 healthy ones by first frame, then says how many more there are; `--all` lists
/// every pair.
#[test]
fn a_busy_trunk_lists_the_failing_peers_and_the_first_healthy_ones() {
    let spec = support::synth::Spec {
        calls: 400,
        media_ms: 0,
        spacing_ms: 20,
        ..support::synth::Spec::default()
    };
    let mut bytes = Vec::new();
    support::synth::generate(&spec, &mut bytes).expect("generate into memory");
    let keepalives = CaptureFile::open(Path::new("testdata/lab/options-keepalive.pcap"))
        .expect("the lab capture");
    let analysis = support::analyze_with(&[support::open(bytes), keepalives], 1 << 20, 2);
    let failing = analysis
        .peers
        .iter()
        .filter(|p| !p.findings.is_empty())
        .count();
    assert_eq!((analysis.peers.len(), failing), (404, 3));
    let report = |all: bool| {
        let options = callscope::report::text::Options {
            all,
            ..Default::default()
        };
        let mut text = Vec::new();
        callscope::report::text::write(&analysis, &options, &mut text).expect("write to a Vec");
        String::from_utf8(text).expect("UTF-8 text")
    };
    let pair_rows = |text: &str| {
        let section = &text[text.find("SIP peers (client → server)").expect("the peers")..];
        let section = section.lines().skip(1).take_while(|l| !l.is_empty());
        // A pair's row is indented two spaces (its findings six), the closing count three dots.
        section
            .filter(|l| l.starts_with("  ") && !l.starts_with("   ") && !l.starts_with("  ..."))
            .count()
    };
    let text = report(false);
    assert!(text.contains("SIP peers (client → server): 404 pairs, 3 with findings"));
    assert_eq!(pair_rows(&text), 3 + 50);
    assert!(
        text.contains("  ... 351 more pairs without findings (--all lists every pair"),
        "{text}"
    );
    let all = report(true);
    assert_eq!(pair_rows(&all), 404);
    assert!(!all.contains("more pairs without findings"));
}

/// The reports of each two-point recording analysed with `--at`, as `points__<scenario>.*`.
#[test]
fn two_point_reports_match_snapshots() {
    let mut failures = Vec::new();
    let runs = point_runs();
    assert!(runs.len() >= 6, "two-point recordings not found");
    for (scenario, points) in runs {
        let points: Vec<(String, Vec<CaptureFile>)> = points
            .iter()
            .map(|(name, path)| {
                let file =
                    CaptureFile::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                (name.clone(), vec![file])
            })
            .collect();
        let merged = callscope::analyze_points(
            &points,
            &callscope::Options::default(),
            &callscope::pipeline::NoProgress,
        );
        let mut text = Vec::new();
        callscope::report::points::write_text(&merged, &Default::default(), &mut text)
            .expect("write to a Vec");
        let mut json = Vec::new();
        callscope::report::points::write_json(&merged, &mut json).expect("write to a Vec");
        let mut html = Vec::new();
        callscope::report::points::write_html(&merged, &mut html).expect("write to a Vec");
        let dir = Path::new(SNAPSHOTS);
        for (ext, bytes) in [("txt", text), ("json", json), ("html", html)] {
            check(
                &dir.join(format!("points__{scenario}.{ext}")),
                &String::from_utf8(bytes).expect("UTF-8"),
                &mut failures,
            );
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_refused_capture_is_refused() {
    assert!(
        CaptureFile::open(Path::new(REFUSED)).is_err(),
        "{REFUSED} opened: give it snapshots"
    );
}

/// A snapshot whose capture was renamed or removed would otherwise linger unchecked.
#[test]
fn every_snapshot_has_its_capture() {
    let expected: BTreeSet<String> = captures()
        .iter()
        .flat_map(|c| ["txt", "json", "html"].map(|ext| format!("{}.{ext}", stem(c))))
        .chain([format!("{}.txt", stem(Path::new(LOAD)))])
        .chain(point_runs().into_iter().flat_map(|(scenario, _)| {
            ["txt", "json", "html"].map(|ext| format!("points__{scenario}.{ext}"))
        }))
        .collect();
    let orphans: Vec<String> = std::fs::read_dir(SNAPSHOTS)
        .expect("tests/snapshots")
        .map(|e| {
            e.expect("a directory entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|name| !expected.contains(name))
        .collect();
    assert!(
        orphans.is_empty(),
        "snapshots without a capture in testdata/ (remove them): {orphans:?}"
    );
}
