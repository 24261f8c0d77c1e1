//! The feature `live` through the binary: `analyze --filter` on a lab capture, and `callscope watch` on a
//! veth pair between two network namespaces this test creates, fed by `tcpreplay`, whose verdicts must
//! equal the offline analysis of the same capture.
//!
//! The live test needs root (namespaces, raw sockets), `ip` and `tcpreplay`; without them it is skipped
//! with a message, except in CI (`CI` set; `.ci/run` runs as root), where it must run.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support;

const BIN: &str = env!("CARGO_BIN_EXE_callscope");

fn lab(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/lab")
        .join(name)
}

fn callscope(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .output()
        .expect("run callscope")
}

fn json_report(args: &[&str]) -> Value {
    let out = callscope(args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("a JSON report")
}

#[test]
fn filter_leaves_rtp_out_but_keeps_the_calls() {
    let path = lab("sip-udp-basic-call.pcap");
    let path = path.to_str().expect("utf-8 path");
    let all = json_report(&["analyze", path, "--json", "-"]);
    let sip = json_report(&["analyze", path, "--json", "-", "--filter", "udp port 5060"]);
    assert_eq!(all["summary"]["rtp_streams"], 2);
    assert_eq!(sip["summary"]["rtp_streams"], 0, "RTP is not analysed");
    assert_eq!(sip["summary"]["calls"], 1);
    assert_eq!(sip["calls"][0]["state"], "answered");
    assert_eq!(sip["calls"][0]["call_id"], all["calls"][0]["call_id"]);
    // Frames the filter rejects keep their numbers: the SIP frames are those of the whole capture.
    assert_eq!(sip["calls"][0]["frames"], all["calls"][0]["frames"]);
    let decode = &sip["captures"][0]["decode"];
    assert_eq!(sip["summary"]["packets"], all["summary"]["packets"]);
    assert_eq!(
        decode["filtered_out"].as_u64().expect("filtered_out"),
        all["summary"]["packets"].as_u64().expect("packets") - 7,
        "all but the 7 SIP messages are left out"
    );

    let bad = callscope(&["analyze", path, "--filter", "udp port"]);
    assert_eq!(bad.status.code(), Some(2));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("--filter \"udp port\""), "{err}");
}

/// Runs a command, returning whether it succeeded (its output goes to the test's log on failure).
fn run(cmd: &[&str]) -> Result<(), String> {
    let out = Command::new(cmd[0])
        .args(&cmd[1..])
        .output()
        .map_err(|e| format!("{}: {e}", cmd.join(" ")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}: {}",
            cmd.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Two namespaces joined by a veth pair; removed (with the veths) when dropped.
struct Lab {
    capture_ns: String,
    replay_ns: String,
    capture_if: String,
    replay_if: String,
}

impl Lab {
    fn create() -> Result<Lab, String> {
        let id = std::process::id() % 100_000;
        let lab = Lab {
            capture_ns: format!("clive-c-{id}"),
            replay_ns: format!("clive-r-{id}"),
            capture_if: format!("clive-c{id}"),
            replay_if: format!("clive-r{id}"),
        };
        lab.setup()?;
        Ok(lab)
    }

    fn setup(&self) -> Result<(), String> {
        for ns in [&self.capture_ns, &self.replay_ns] {
            run(&["ip", "netns", "add", ns])?;
        }
        run(&[
            "ip",
            "link",
            "add",
            &self.capture_if,
            "type",
            "veth",
            "peer",
            "name",
            &self.replay_if,
        ])?;
        for (ns, dev) in [
            (&self.capture_ns, &self.capture_if),
            (&self.replay_ns, &self.replay_if),
        ] {
            run(&["ip", "link", "set", dev, "netns", ns])?;
            // No IPv6 router solicitations or MLD reports: only the replayed packets cross the veth.
            for key in [
                "net.ipv6.conf.all.disable_ipv6=1",
                "net.ipv6.conf.default.disable_ipv6=1",
            ] {
                run(&["ip", "netns", "exec", ns, "sysctl", "-qw", key])?;
            }
            run(&["ip", "-n", ns, "link", "set", dev, "up"])?;
        }
        Ok(())
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for ns in [&self.capture_ns, &self.replay_ns] {
            let _ = run(&["ip", "netns", "del", ns]);
        }
        // When setup stopped before moving it, the veth is still in this namespace.
        let _ = run(&["ip", "link", "del", &self.capture_if]);
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn skip(why: &str) {
    support::optional::skip("watch_reports_what_offline_analysis_finds", why);
}

/// What a call's verdict says, for comparison.
fn verdict(call: &Value) -> (String, Value, Vec<Value>) {
    let codes = call["findings"]
        .as_array()
        .map(|fs| fs.iter().map(|f| f["code"].clone()).collect())
        .unwrap_or_default();
    (
        call["state"].as_str().unwrap_or_default().to_string(),
        call["final_status"].clone(),
        codes,
    )
}

fn ndjson(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect()
}

#[test]
fn watch_reports_what_offline_analysis_finds() {
    if !is_root() {
        return skip("needs root for network namespaces and packet capture");
    }
    if Command::new("tcpreplay").arg("-V").output().is_err() {
        return skip("tcpreplay is not installed (apt-get install tcpreplay)");
    }
    let lab_net = match Lab::create() {
        Ok(l) => l,
        Err(e) => return skip(&format!("cannot create network namespaces: {e}")),
    };
    let capture = lab("sip-udp-outcomes.pcap");
    let written = std::env::temp_dir().join(format!("callscope-live-{}.pcap", std::process::id()));

    let mut watch = Command::new("ip")
        .args(["netns", "exec", &lab_net.capture_ns, BIN, "watch", "-i"])
        .arg(&lab_net.capture_if)
        .args(["--filter", "udp", "--json-lines", "-", "--write"])
        .arg(&written)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start callscope watch");
    let started = Instant::now();
    let (line_tx, lines) = mpsc::channel::<(Instant, String)>();
    let stdout = watch.stdout.take().expect("piped stdout");
    let out_reader = thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = line_tx.send((Instant::now(), line));
        }
    });
    let (err_tx, err_lines) = mpsc::channel::<String>();
    let stderr = watch.stderr.take().expect("piped stderr");
    let err_reader = thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = err_tx.send(line);
        }
    });
    // The capture is open once watch says it is watching.
    let mut stderr_text = String::new();
    while let Ok(line) = err_lines.recv_timeout(Duration::from_secs(20)) {
        stderr_text.push_str(&line);
        stderr_text.push('\n');
        if line.contains("watching") {
            break;
        }
    }
    assert!(
        stderr_text.contains("watching"),
        "watch did not start: {stderr_text}"
    );

    // At the capture's own pace (41 s): the unanswered INVITE must end by Timer B, not by the stop.
    let replay = run(&[
        "ip",
        "netns",
        "exec",
        &lab_net.replay_ns,
        "tcpreplay",
        "-q",
        "-i",
        &lab_net.replay_if,
        capture.to_str().expect("utf-8 path"),
    ]);
    assert!(replay.is_ok(), "{replay:?}");
    // The last call (the unanswered INVITE) ends 32 s + 2 s after its first transmission, which is
    // 9.8 s into the capture: a few seconds after the replay's end. Wait for it, then stop.
    let mut received: Vec<(Instant, String)> = Vec::new();
    let wait_until = Instant::now() + Duration::from_secs(10);
    while received.len() < 4 {
        let left = wait_until.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) => received.push(line),
            Err(_) => break,
        }
    }
    let stopped = Instant::now();
    run(&["kill", "-INT", &watch.id().to_string()]).expect("send SIGINT");
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = watch.try_wait().expect("wait for watch") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = watch.kill();
            panic!("watch did not stop on SIGINT");
        }
        thread::sleep(Duration::from_millis(100));
    };
    let _ = out_reader.join();
    let _ = err_reader.join();
    stderr_text.extend(err_lines.try_iter().map(|l| l + "\n"));
    drop(lab_net);
    assert!(status.success(), "watch failed: {status:?}\n{stderr_text}");

    received.extend(lines.try_iter());
    let live: Vec<Value> = received
        .iter()
        .map(|(_, l)| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    // Each call was reported as it ended, before the stop.
    let late: Vec<String> = received
        .iter()
        .zip(&live)
        .filter(|((at, _), _)| *at >= stopped)
        .map(|((at, _), call)| {
            format!(
                "{} {} reported {:.1} s after start",
                call["call_id"],
                call["state"],
                (*at - started).as_secs_f64()
            )
        })
        .collect();
    assert!(
        late.is_empty(),
        "calls reported only at the stop ({:.1} s after start): {late:?}\n{stderr_text}",
        (stopped - started).as_secs_f64()
    );
    let offline_out = callscope(&[
        "analyze",
        capture.to_str().expect("utf-8 path"),
        "--ndjson",
        "-",
    ]);
    let offline = ndjson(&String::from_utf8_lossy(&offline_out.stdout));
    let by_id = |calls: &[Value]| -> BTreeMap<String, (String, Value, Vec<Value>)> {
        calls
            .iter()
            .map(|c| {
                (
                    c["call_id"].as_str().unwrap_or_default().to_string(),
                    verdict(c),
                )
            })
            .collect()
    };
    assert_eq!(offline.len(), 4);
    assert_eq!(live.len(), offline.len(), "each call once: {live:?}");
    assert_eq!(
        by_id(&live),
        by_id(&offline),
        "live and offline verdicts differ"
    );
    assert!(stderr_text.contains("4 calls reported"), "{stderr_text}");

    // The written capture holds what was seen; its frame numbers are the ones watch reported.
    let written_out = callscope(&[
        "analyze",
        written.to_str().expect("utf-8 path"),
        "--ndjson",
        "-",
    ]);
    let _ = std::fs::remove_file(&written);
    let from_file = ndjson(&String::from_utf8_lossy(&written_out.stdout));
    let frames = |calls: &[Value]| -> BTreeMap<String, Value> {
        calls
            .iter()
            .map(|c| {
                (
                    c["call_id"].as_str().unwrap_or_default().to_string(),
                    c["frames"]["sip"].clone(),
                )
            })
            .collect()
    };
    assert_eq!(frames(&live), frames(&from_file));
    assert_eq!(by_id(&from_file), by_id(&offline));
}
