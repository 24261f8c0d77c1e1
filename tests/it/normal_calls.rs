//! The audit of calls whose signalling ended normally (a 2xx answered the INVITE and a 2xx answered
//! the BYE): every error or warning finding such a call gets, over every capture capinfos.tsv lists
//! (testdata's, and the public ones when they are beside the repository), must be an entry of the
//! reviewed list testdata/expected/normal-calls-audit.tsv, and every entry must still be found. A call
//! that ended normally can still have had a real problem (one-way audio, loss, a slow failover); what
//! the end of a call normally brings (RTP still arriving, ICMP for a media port already closed, the
//! connection's RST or FIN) must never be one. Each entry says in one line why it is a real problem.

use std::collections::BTreeSet;
use std::path::Path;

use callscope::capture::CaptureFile;
use callscope::correlate::calls::{Call, State};
use callscope::correlate::message::Method;
use callscope::diagnose::Severity;

use crate::support;

const AUDIT: &str = "testdata/expected/normal-calls-audit.tsv";

/// One finding of a normally ended call: capture path, 1-based call index, Call-ID, code, severity.
type Entry = (String, usize, String, String, String);

/// The INVITE was answered by a 2xx and a BYE by a 2xx.
fn ended_normally(call: &Call) -> bool {
    call.state == State::Answered
        && call.messages.iter().any(|s| {
            s.msg.is_final_response_to(&Method::Bye)
                && s.msg.status().is_some_and(|st| st.is_success())
        })
}

/// The reviewed entries, each with a reason.
fn reviewed(shared: bool) -> BTreeSet<Entry> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join(AUDIT)).expect(AUDIT);
    let mut out = BTreeSet::new();
    for (n, line) in text.lines().enumerate().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        assert!(
            cols.len() == 6 && !cols[5].trim().is_empty(),
            "{AUDIT}:{}: want capture, call, call_id, code, severity and a reason: {line:?}",
            n + 1
        );
        if !shared && cols[0].starts_with(support::optional::SHARED_CAPTURES) {
            continue;
        }
        let call = cols[1]
            .parse()
            .unwrap_or_else(|_| panic!("{AUDIT}:{}: call index {:?}", n + 1, cols[1]));
        out.insert((
            cols[0].to_string(),
            call,
            cols[2].to_string(),
            cols[3].to_string(),
            cols[4].to_string(),
        ));
    }
    out
}

/// Every capture under testdata/ (its lab and formats folders), and the public ones capinfos.tsv lists
/// when they are beside the repository.
fn captures() -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    for dir in ["testdata/formats", "testdata/lab"] {
        for entry in std::fs::read_dir(root.join(dir)).expect("a testdata folder") {
            let name = entry.expect("a folder entry").file_name();
            let name = name.to_string_lossy();
            if [".pcap", ".pcapng", ".pcap.gz"]
                .iter()
                .any(|e| name.ends_with(e))
            {
                out.push(format!("{dir}/{name}"));
            }
        }
    }
    let shared: Vec<String> = support::expected::capinfos()
        .into_iter()
        .map(|row| row[0].clone())
        .filter(|path| path.starts_with(support::optional::SHARED_CAPTURES))
        .collect();
    out.extend(support::optional::available(
        shared,
        |p| p,
        "public captures in the audit of normally ended calls",
    ));
    out.sort();
    out
}

#[test]
fn findings_on_normally_ended_calls_are_the_reviewed_ones() {
    let paths = captures();
    let shared = paths
        .iter()
        .any(|p| p.starts_with(support::optional::SHARED_CAPTURES));
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut found = BTreeSet::new();
    let mut normal = 0;
    for path in &paths {
        let Ok(file) = CaptureFile::open(&root.join(path)) else {
            continue;
        };
        let a = support::analyze_with(std::slice::from_ref(&file), 1 << 20, 2);
        for (i, call) in a.calls.iter().enumerate() {
            if !ended_normally(call) {
                continue;
            }
            normal += 1;
            for f in &call.findings {
                if f.severity != Severity::Info {
                    found.insert((
                        path.clone(),
                        i + 1,
                        call.call_id.clone(),
                        f.code.to_string(),
                        f.severity.as_str().to_string(),
                    ));
                }
            }
        }
    }
    assert!(normal >= 8, "only {normal} normally ended calls audited");
    let expected = reviewed(shared);
    let show = |set: &BTreeSet<Entry>, other: &BTreeSet<Entry>| -> String {
        set.difference(other)
            .map(|(p, i, id, code, sev)| format!("{p}\t{i}\t{id}\t{code}\t{sev}\n"))
            .collect()
    };
    let new = show(&found, &expected);
    let gone = show(&expected, &found);
    assert!(
        new.is_empty() && gone.is_empty(),
        "{normal} normally ended calls; {} findings against {} reviewed\nnot in {AUDIT} (teardown noise to fix, or a real problem to add with its reason):\n{new}\nin {AUDIT} but no longer found (remove them):\n{gone}",
        found.len(),
        expected.len()
    );
}
