//! The binary as a user runs it: exit codes, messages, JSON output, thread-count independence.

use std::path::PathBuf;
use std::process::{Command, Output};

use crate::support;

fn callscope(args: &[&str], threads: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_callscope"));
    cmd.args(args);
    if let Some(n) = threads {
        cmd.env("RAYON_NUM_THREADS", n);
    }
    cmd.output().expect("run callscope")
}

/// A file in a fresh per-test temporary directory.
fn temp_file(test: &str, name: &str, bytes: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("callscope-cli-{}-{test}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create a temp dir");
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write a temp file");
    path
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn missing_file_exits_2_naming_the_file() {
    let out = callscope(&["analyze", "no/such/file.pcap"], None);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("no/such/file.pcap") && err.contains("cannot read"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "one-line message: {err}");
}

#[test]
fn not_a_capture_exits_2() {
    let path = temp_file("notcap", "notes.txt", b"this is not a capture\n");
    let out = callscope(&["analyze", path.to_str().expect("utf-8 path")], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("not a pcap or pcapng capture"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn other_capture_formats_are_named_as_unsupported() {
    let path = temp_file("netmon", "x.cap", b"RTSS\x00\x01\x01\x00 and more bytes");
    let out = callscope(&["analyze", path.to_str().expect("utf-8 path")], None);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("unsupported capture format: Microsoft Network Monitor"),
        "{err}"
    );
}

#[test]
fn empty_file_exits_2() {
    let path = temp_file("empty", "empty.pcap", b"");
    let out = callscope(&["analyze", path.to_str().expect("utf-8 path")], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("empty"), "{}", stderr(&out));
}

#[test]
fn json_is_identical_for_one_and_two_threads() {
    let bytes = support::pcap(&support::udp_records(3000));
    let path = temp_file("threads", "udp.pcap", &bytes);
    let path = path.to_str().expect("utf-8 path");
    let one = callscope(&["analyze", path, "--json", "-"], Some("1"));
    let two = callscope(&["analyze", path, "--json", "-"], Some("2"));
    assert_eq!(one.status.code(), Some(0), "{}", stderr(&one));
    assert_eq!(one.stdout, two.stdout);
    let json: serde_json::Value = serde_json::from_slice(&one.stdout).expect("valid JSON");
    assert_eq!(json["schema_version"], 1);
    assert_eq!(json["captures"][0]["packets"], 3000);
    assert_eq!(json["captures"][0]["format"], "pcap");
    assert_eq!(json["captures"][0]["link_types"][0], "ethernet");
    assert_eq!(
        json["captures"][0]["first_ts"],
        "2023-11-14T22:13:20.000000Z"
    );
    assert_eq!(json["summary"]["packets"], 3000);
}

#[test]
fn gzip_capture_reads_like_the_plain_one() {
    use std::io::Write;
    let bytes = support::pcap(&support::udp_records(100));
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(&bytes).expect("write to a Vec");
    let path = temp_file("gzip", "udp.pcap.gz", &enc.finish().expect("finish a Vec"));
    let out = callscope(
        &["analyze", path.to_str().expect("utf-8 path"), "--json", "-"],
        None,
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    assert_eq!(json["captures"][0]["packets"], 100);
    assert_eq!(json["captures"][0]["gzip"], true);
}

#[test]
fn stdin_is_read_with_a_dash() {
    use std::io::Write;
    use std::process::Stdio;
    let bytes = support::pcap(&support::udp_records(10));
    let mut child = Command::new(env!("CARGO_BIN_EXE_callscope"))
        .args(["analyze", "-", "--json", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run callscope");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(&bytes)
        .expect("feed stdin");
    let out = child.wait_with_output().expect("wait");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    assert_eq!(json["captures"][0]["packets"], 10);
}

fn lab(name: &str) -> String {
    format!("{}/testdata/lab/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn fail_on_error_exits_1_only_when_a_call_failed() {
    let failed = callscope(
        &[
            "analyze",
            &lab("udp-invite-dropped.pcap"),
            "--fail-on",
            "error",
            "-q",
        ],
        None,
    );
    assert_eq!(failed.status.code(), Some(1), "{}", stderr(&failed));
    let good = callscope(
        &[
            "analyze",
            &lab("sip-udp-basic-call.pcap"),
            "--fail-on",
            "error",
            "-q",
        ],
        None,
    );
    assert_eq!(good.status.code(), Some(0));
    // A degraded call is not an error, but is a warning.
    let degraded = callscope(
        &[
            "analyze",
            &lab("media-impaired.pcap"),
            "--fail-on",
            "error",
            "-q",
        ],
        None,
    );
    assert_eq!(degraded.status.code(), Some(0));
    let degraded = callscope(
        &[
            "analyze",
            &lab("media-impaired.pcap"),
            "--fail-on",
            "warning",
            "-q",
        ],
        None,
    );
    assert_eq!(degraded.status.code(), Some(1));
}

#[test]
fn ndjson_has_one_call_per_line() {
    let out = callscope(
        &["analyze", &lab("sip-udp-outcomes.pcap"), "--ndjson", "-"],
        None,
    );
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[1]["final_status"], 486);
}

#[test]
fn extract_writes_a_readable_pcap_of_the_call() {
    let dir = std::env::temp_dir().join(format!("callscope-cli-{}-extract", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temp dir");
    let path = dir.join("call1.pcap");
    let out = callscope(
        &[
            "extract",
            &lab("tcp-syn-dropped-proxy.pcap"),
            "--call",
            "1",
            "-o",
            path.to_str().expect("utf-8"),
            "-q",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let again = callscope(&["calls", path.to_str().expect("utf-8")], None);
    let list = String::from_utf8_lossy(&again.stdout);
    assert!(list.contains("rejected") && list.contains("504"), "{list}");
    let bad = callscope(
        &[
            "extract",
            &lab("tcp-syn-dropped-proxy.pcap"),
            "--call",
            "9",
            "-o",
            "/dev/null",
        ],
        None,
    );
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("no call \"9\""), "{}", stderr(&bad));
}

#[test]
fn html_and_json_files_are_written_together() {
    let dir = std::env::temp_dir().join(format!("callscope-cli-{}-files", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temp dir");
    let (json, html) = (dir.join("r.json"), dir.join("r.html"));
    let out = callscope(
        &[
            "analyze",
            &lab("tcp-syn-dropped-proxy.pcap"),
            "--json",
            json.to_str().expect("utf-8"),
            "--html",
            html.to_str().expect("utf-8"),
            "-q",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("tcp.syn_unanswered"));
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json).expect("the JSON file")).expect("JSON");
    assert_eq!(
        report["calls"][0]["findings"][0]["code"],
        "tcp.syn_unanswered"
    );
    assert!(std::fs::read_to_string(&html)
        .expect("the HTML file")
        .contains("<svg"));
}

#[test]
fn a_closed_pipe_is_not_an_error() {
    use std::process::Stdio;
    // 5000 calls: far more output than a pipe buffers, so the writes after the reader left fail.
    let records: Vec<(i64, Vec<u8>)> = (0..5000)
        .map(|i| {
            let invite = format!(
                "INVITE sip:b@192.0.2.2 SIP/2.0\r\nCall-ID: pipe-{i}\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"
            );
            (1_700_000_000_000_000_000 + i * 1000, support::udp_v4([192, 0, 2, 1], 5060, [192, 0, 2, 2], 5060, invite.as_bytes()))
        })
        .collect();
    let path = temp_file("pipe", "many.pcap", &support::pcap(&records));
    let mut child = Command::new(env!("CARGO_BIN_EXE_callscope"))
        .args(["calls", path.to_str().expect("utf-8")])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run callscope");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(out.stderr.is_empty(), "{}", stderr(&out));
}

#[test]
fn a_sip_header_with_terminal_escapes_is_printed_harmlessly() {
    let invite = b"INVITE sip:b@192.0.2.2 SIP/2.0\r\nCall-ID: esc-1\r\nCSeq: 1 INVITE\r\n\
From: \"\x1b]0;pwned\x07\x1b[2J\" <sip:\x1b[31mevil@192.0.2.1>;tag=1\r\nTo: <sip:b@192.0.2.2>\r\nContent-Length: 0\r\n\r\n";
    let bytes = support::pcap(&[(
        1_700_000_000_000_000_000,
        support::udp_v4([192, 0, 2, 1], 5060, [192, 0, 2, 2], 5060, invite),
    )]);
    let path = temp_file("escapes", "esc.pcap", &bytes);
    for args in [vec!["analyze"], vec!["calls"], vec!["flow", "--call", "1"]] {
        let mut all = args.clone();
        all.insert(1, path.to_str().expect("utf-8"));
        let out = callscope(&all, None);
        assert_eq!(out.status.code(), Some(0), "{:?}: {}", args, stderr(&out));
        assert!(
            !out.stdout.contains(&0x1b),
            "{args:?} printed a raw ESC: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("\\u{1b}"),
            "{args:?}"
        );
    }
}

#[test]
fn capture_points_are_put_together_and_fail_on_their_verdicts() {
    let at = |p: &str| format!("{p}=testdata/lab/points-syn-dropped-on-router.{p}.pcap");
    let (proxy, app) = (at("proxy"), at("app"));
    let out = callscope(
        &[
            "analyze",
            "--at",
            &proxy,
            "--at",
            &app,
            "--fail-on",
            "error",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("x where.lost_between: the 5 SYNs"), "{text}");
    assert!(text.contains("== Capture point 'app'"), "{text}");
    let out = callscope(
        &["analyze", "--at", &proxy, "--at", &app, "--json", "-"],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(json["capture_points"][1]["name"], "app");
    assert_eq!(
        json["points_calls"][0]["verdicts"][0]["code"],
        "where.lost_between"
    );
    let syn = &json["points_calls"][0]["messages"][2];
    assert_eq!(
        (syn["label"].as_str(), syn["missing_at"][0].as_str()),
        (Some("SYN"), Some("app"))
    );
}

#[test]
fn capture_points_are_refused_where_they_do_not_apply() {
    for args in [
        &["analyze", "--at", "proxy"][..],
        &["analyze", "--at", "=x.pcap"],
        &[
            "analyze",
            "--at",
            "a=testdata/lab/points-clean-call.app.pcap",
            "testdata/lab/points-clean-call.app.pcap",
        ],
        &["calls", "--at", "a=testdata/lab/points-clean-call.app.pcap"],
        &[
            "analyze",
            "--at",
            "a=testdata/lab/points-clean-call.app.pcap",
            "--ndjson",
            "-",
        ],
    ] {
        let out = callscope(args, None);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
    }
}

#[test]
fn hep_port_adds_a_port_for_hep2_feeds() {
    let path = "testdata/lab/hep2-feed.pcap";
    let without = callscope(&["calls", "-q", path], None);
    let with = callscope(&["calls", "-q", path, "--hep-port", "9999"], None);
    assert_eq!(without.status.code(), Some(0));
    assert_eq!(with.status.code(), Some(0));
    let lines = |o: &Output| String::from_utf8_lossy(&o.stdout).lines().count();
    // The header line only, then the header and the one call the feed carries.
    assert_eq!((lines(&without), lines(&with)), (1, 2));
    let bad = callscope(&["calls", "-q", path, "--hep-port", "99999"], None);
    assert_eq!(bad.status.code(), Some(2));
}
