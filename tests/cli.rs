//! The binary as a user runs it: exit codes, messages, JSON output, thread-count independence.

mod support;

use std::path::PathBuf;
use std::process::{Command, Output};

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
    let path = temp_file("netmon", "x.cap", b"GMBU\x00\x02\x01\x00 and more bytes");
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
