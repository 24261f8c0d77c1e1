//! `callscope browse` as a person uses it over SSH: in an 80×24 terminal (tmux, driven by
//! `send-keys` and read by `capture-pane`), open the recorded load test, read the patterns, filter
//! the list as you type, open a call and see its cause, write its packets and its JSON, quit. With
//! NO_COLOR set, the screen has no colour. Needs tmux (`apt-get install tmux`; CI installs it).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::support;

/// A tmux server of the test's own (its socket name is the test's), killed when dropped.
struct Tmux {
    socket: String,
    dir: PathBuf,
}

impl Tmux {
    fn run(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run tmux")
    }

    /// The screen as text, or with its escape sequences (`-e`).
    fn screen(&self, escapes: bool) -> String {
        let mut args = vec!["capture-pane", "-p", "-t", "browse"];
        if escapes {
            args.push("-e");
        }
        String::from_utf8_lossy(&self.run(&args).stdout).into_owned()
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "browse"];
        args.extend(keys);
        assert!(self.run(&args).status.success(), "send-keys {keys:?}");
    }

    /// Waits until the screen shows what `ready` looks for and has stopped changing (a loaded
    /// machine can capture a screen half redrawn); the screen then.
    fn wait_for(&self, what: &str, ready: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            let screen = self.screen(false);
            if ready(&screen) {
                std::thread::sleep(Duration::from_millis(300));
                if self.screen(false) == screen {
                    return screen;
                }
            }
            assert!(
                Instant::now() < deadline,
                "the screen never showed {what}:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn alive(&self) -> bool {
        self.run(&["has-session", "-t", "browse"]).status.success()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn tmux_runs() -> bool {
    Command::new("tmux")
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn browse_opens_the_load_test_filters_opens_a_call_and_quits_in_80_by_24() {
    if !tmux_runs() {
        return support::optional::skip(
            "browsing in tmux",
            "tmux is not installed (apt-get install tmux)",
        );
    }
    let dir = std::env::temp_dir().join(format!("callscope-browse-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temp dir");
    let capture = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/load/load-403.pcap");
    let tmux = Tmux {
        socket: format!("callscope-browse-{}", std::process::id()),
        dir: dir.clone(),
    };
    let command = format!(
        "NO_COLOR=1 {} browse {}",
        env!("CARGO_BIN_EXE_callscope"),
        capture.display()
    );
    let started = tmux.run(&[
        "new-session",
        "-d",
        "-s",
        "browse",
        "-x",
        "80",
        "-y",
        "24",
        "-c",
        &dir.to_string_lossy(),
        &command,
    ]);
    assert!(started.status.success(), "tmux: {started:?}");
    // Open: the patterns over the list, worst first.
    let screen = tmux.wait_for("the patterns", |s| s.contains("Failure patterns"));
    let lines: Vec<&str> = screen.lines().collect();
    assert_eq!(lines.len(), 24, "{screen}");
    assert!(lines.iter().all(|l| l.chars().count() <= 80), "{screen}");
    assert!(screen.contains("1311 calls"), "{screen}");
    assert!(
        screen.contains("1148 calls  87.6%  x sip.rejected  rejected 403 Forbidden by 192.0.2.20")
    );
    // Too long for 80 columns, a pattern's times and examples go on a line of their own.
    assert!(screen.contains("\n                      22:40:48 – 22:41:54  e.g. #1\n"));
    // Info: the capture holds every packet of 192.0.2.20 and no RTP, so it cannot tell (vantage).
    assert!(screen.contains("88 calls   6.7%  i media.none"));
    assert!(screen.contains("75 calls   5.7%  x sip.no_response"));
    assert!(screen.contains("1311 of 1311 calls"), "{screen}");
    let first_row = lines
        .iter()
        .find(|l| l.trim_start().starts_with("1  "))
        .expect("call 1 on the list");
    assert!(first_row.contains("x sip.rejected"), "{first_row}");
    // No colour with NO_COLOR: no SGR colour parameters (30–37, 38;…, 90–97) on the screen.
    let raw = tmux.screen(true);
    for sgr in raw.split("\x1b[").skip(1) {
        let params = sgr.split('m').next().unwrap_or_default();
        for p in params.split(';') {
            let n: u32 = p.parse().unwrap_or(0);
            assert!(
                !((30..=38).contains(&n) || (90..=97).contains(&n)),
                "a colour on the screen: {params:?}"
            );
        }
    }
    // Filter as you type: the unanswered calls.
    tmux.keys(&["/", "n", "o", "_", "r", "e", "s"]);
    let screen = tmux.wait_for("the filtered list", |s| s.contains("75 of 1311 calls"));
    assert!(
        !screen.contains("x sip.rejected              +"),
        "{screen}"
    );
    tmux.keys(&["Enter"]);
    // Open the first: its cause, its evidence and its ladder.
    tmux.keys(&["Enter"]);
    let screen = tmux.wait_for("the call", |s| s.contains("[cause]"));
    assert!(screen.contains("call #55"), "{screen}");
    assert!(screen.contains(
        "x sip.no_response [cause]: INVITE from 192.0.2.10:5060 to 192.0.2.20:5060 sent"
    ));
    assert!(screen.contains("INVITE (resent)"), "the ladder: {screen}");
    assert!(
        !screen.contains("Failure patterns"),
        "the call has the screen"
    );
    assert!(
        screen.contains("31.528  |----INVITE (resent)"),
        "the last resend: {screen}"
    );
    // Sideways, the rest of the cause: how often and how long it was sent.
    tmux.keys(&["Right", "Right", "Right", "Right", "Right", "Right"]);
    tmux.wait_for("the cause scrolled sideways", |s| {
        s.contains("sent 7 times over 31.5 s (retransmitted per RFC 3261")
    });
    tmux.keys(&["Home", "Left", "Left", "Left", "Left", "Left", "Left"]);
    tmux.wait_for("the cause from its start", |s| {
        s.contains("  x sip.no_response [cause]")
    });
    // Its packets and its JSON, into the current directory.
    tmux.keys(&["e"]);
    tmux.wait_for("the extract", |s| {
        s.contains("wrote 7 packets of call 55 to call-55.pcap")
    });
    tmux.keys(&["j"]);
    tmux.wait_for("the JSON", |s| {
        s.contains("wrote call 55's JSON to call-55.json")
    });
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("call-55.json")).expect("call-55.json"))
            .expect("a JSON object");
    assert_eq!(json["index"], 55);
    assert_eq!(json["findings"][0]["code"], "sip.no_response");
    let pcap = callscope::capture::CaptureFile::open(&dir.join("call-55.pcap")).expect("a pcap");
    let extracted = support::analyze_with(&[pcap], 1 << 20, 1);
    assert_eq!(extracted.calls.len(), 1);
    assert_eq!(
        extracted.calls[0].call_id,
        json["call_id"].as_str().expect("a Call-ID")
    );
    // Help, back to the list, quit.
    tmux.keys(&["?"]);
    tmux.wait_for("the help", |s| s.contains("keys (any key closes)"));
    tmux.keys(&["x", "Escape"]);
    tmux.wait_for("the list again", |s| s.contains("75 of 1311 calls"));
    tmux.keys(&["q"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while tmux.alive() {
        assert!(Instant::now() < deadline, "browse did not quit");
        std::thread::sleep(Duration::from_millis(100));
    }
}
