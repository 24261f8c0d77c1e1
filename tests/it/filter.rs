//! Filters (issue 18): every criterion picks the calls it names on the recorded load test
//! (testdata/load/load-403.pcap: 1148 calls rejected 403, 88 answered without RTP, 75 unanswered)
//! and on lab captures; the calls left out are counted, numbers of frames and calls stay the
//! capture's, and what belongs to a call left out (its streams, the transport failures that explain
//! it) goes with it. One run goes through the pipeline with the filter; the others replay the
//! collected run through the same `Reporting` output the pipeline uses.

use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

use callscope::analysis::filter::{parse_number, Code, Network, Time};
use callscope::analysis::{Filter, Reporting};
use callscope::capture::CaptureFile;
use callscope::correlate::calls::State;
use callscope::{Analysis, Options};

use crate::support;

const LOAD: &str = "testdata/load/load-403.pcap";

fn analyze(path: &str, filter: &Filter) -> Analysis {
    let file = CaptureFile::open(Path::new(path)).expect("a testdata capture");
    let options = Options {
        call_filter: filter.clone(),
        ..Options::default()
    };
    callscope::analyze(&[file], &options, &callscope::pipeline::NoProgress)
}

/// The load test, analysed once without a filter.
fn load() -> &'static Analysis {
    static LOADED: OnceLock<Analysis> = OnceLock::new();
    LOADED.get_or_init(|| analyze(LOAD, &Filter::default()))
}

/// A collected run as a filter leaves it.
fn filtered(full: &Analysis, filter: &Filter) -> Analysis {
    let mut out = Analysis::default();
    let mut reporting = Reporting::new(filter, &mut out);
    if let Some(start) = full.captures.iter().filter_map(|c| c.first_ts_ns).min() {
        reporting.capture_start(start);
    }
    full.replay(&mut reporting).expect("collecting cannot fail");
    out
}

fn numbers(a: &Analysis) -> Vec<usize> {
    a.calls.iter().map(|c| c.index + 1).collect()
}

#[test]
fn a_filtered_run_reports_the_calls_it_picks_with_their_numbers_and_counts_the_rest() {
    let filter = Filter {
        state: Some(State::Unanswered),
        ..Filter::default()
    };
    let run = analyze(LOAD, &filter);
    assert_eq!(run.calls.len(), 75);
    assert_eq!(run.filtered_calls, 1311 - 75);
    // The same calls, frame for frame, as in the whole run.
    for c in &run.calls {
        let whole = &load().calls[c.index];
        assert_eq!(c.call_id, whole.call_id);
        assert_eq!(
            c.frames().collect::<Vec<_>>(),
            whole.frames().collect::<Vec<_>>()
        );
    }
    let o = run.overview();
    assert_eq!(o.calls, 75);
    assert_eq!(o.patterns.len(), 1);
    assert_eq!(o.patterns[0].key.code, "sip.no_response");
    // The text report says how many were left out.
    let mut text = Vec::new();
    callscope::report::text::write(&run, &Default::default(), &mut text).expect("a Vec");
    let text = String::from_utf8(text).expect("UTF-8");
    assert!(text.contains("1236 calls left out by the filter"), "{text}");
    let mut json = Vec::new();
    callscope::report::json::write(&run, &mut json).expect("a Vec");
    let json: serde_json::Value = serde_json::from_slice(&json).expect("JSON");
    assert_eq!(json["summary"]["filtered_calls"], 1236);
    assert_eq!(json["summary"]["calls"], 75);
}

#[test]
fn number_matches_the_end_of_the_digits_in_any_form() {
    let call = &load().calls[54];
    assert_eq!(short_user(&call.from), "+49305550054");
    for given in ["+49305550054", "0049 30 555-0054", "030 5550054", "5550054"] {
        let f = Filter {
            number: Some(parse_number(given).expect("digits")),
            ..Filter::default()
        };
        assert_eq!(numbers(&filtered(load(), &f)), [55], "{given}");
    }
    let f = Filter {
        number: Some(parse_number("555005").expect("digits")),
        ..Filter::default()
    };
    // A number matches at the end: 555005 ends no caller's number here (they end 555xxxx).
    assert!(filtered(load(), &f).calls.is_empty());
}

fn short_user(uri: &str) -> &str {
    uri.trim_start_matches("sip:")
        .split('@')
        .next()
        .unwrap_or_default()
}

/// A call whose number is only in its Request-URI and its P-Asserted-Identity.
#[test]
fn number_matches_request_uri_and_p_asserted_identity() {
    let invite = "INVITE sip:+15551230000@192.0.2.2 SIP/2.0\r\n\
         Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-1\r\n\
         From: <sip:anonymous@anonymous.invalid>;tag=a1\r\n\
         To: <sip:callee@192.0.2.2>\r\n\
         P-Asserted-Identity: \"Alice\" <sip:+4930123456@192.0.2.1>, <tel:+4930123456>\r\n\
         Call-ID: pai-1@192.0.2.1\r\n\
         CSeq: 1 INVITE\r\n\
         Content-Length: 0\r\n\r\n";
    let reject = "SIP/2.0 403 Forbidden\r\n\
         Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-1\r\n\
         From: <sip:anonymous@anonymous.invalid>;tag=a1\r\n\
         To: <sip:callee@192.0.2.2>;tag=b1\r\n\
         Call-ID: pai-1@192.0.2.1\r\n\
         CSeq: 1 INVITE\r\n\
         Content-Length: 0\r\n\r\n";
    let t0 = 1_700_000_000_000_000_000;
    let records = vec![
        (
            t0,
            support::udp_v4(
                [192, 0, 2, 1],
                5060,
                [192, 0, 2, 2],
                5060,
                invite.as_bytes(),
            ),
        ),
        (
            t0 + 1_000_000,
            support::udp_v4(
                [192, 0, 2, 2],
                5060,
                [192, 0, 2, 1],
                5060,
                reject.as_bytes(),
            ),
        ),
    ];
    let full = support::analyze_with(&[support::open(support::pcap(&records))], 1 << 20, 1);
    assert_eq!(full.calls.len(), 1);
    for (given, found) in [("030 123456", 1), ("15551230000", 1), ("4930999", 0)] {
        let f = Filter {
            number: Some(parse_number(given).expect("digits")),
            ..Filter::default()
        };
        assert_eq!(filtered(&full, &f).calls.len(), found, "{given}");
    }
}

#[test]
fn ip_matches_hosts_and_networks() {
    let pick = |net: &str| {
        let f = Filter {
            ip: Some(Network::parse(net).expect("an address")),
            ..Filter::default()
        };
        filtered(load(), &f)
    };
    // Only the answered calls went on to app1 (192.0.2.31).
    let app1 = pick("192.0.2.31");
    assert_eq!(app1.calls.len(), 88);
    assert!(app1.calls.iter().all(|c| c.state == State::Answered));
    assert_eq!(pick("192.0.2.0/24").calls.len(), 1311);
    assert_eq!(pick("192.0.2.30/31").calls.len(), 88);
    assert!(pick("198.51.100.0/24").calls.is_empty());
}

#[test]
fn call_id_matches_a_part_of_it() {
    let id = load().calls[54].call_id.clone();
    let f = Filter {
        call_id: Some(id.clone()),
        ..Filter::default()
    };
    // sipp's Call-IDs are `<call number>-<pid>@<host>`: 55's is also a part of 155's, 1255's.
    let with: Vec<usize> = load()
        .calls
        .iter()
        .filter(|c| c.call_id.contains(&id))
        .map(|c| c.index + 1)
        .collect();
    assert_eq!(with.len(), 13);
    assert_eq!(numbers(&filtered(load(), &f)), with);
    // The part after the call number names every call of the run (sipp's pid@host).
    let tail = id.split_once('-').expect("sipp's Call-ID").1.to_string();
    let f = Filter {
        call_id: Some(tail),
        ..Filter::default()
    };
    assert_eq!(filtered(load(), &f).calls.len(), 1311);
}

/// A call's start as the JSON report writes it (RFC 3339, microseconds).
fn start_ts(index: usize) -> String {
    let f = Filter {
        call_id: Some(load().calls[index].call_id.clone()),
        ..Filter::default()
    };
    let mut lines = Vec::new();
    callscope::report::json::write_ndjson(&filtered(load(), &f), &mut lines).expect("a Vec");
    let lines = String::from_utf8(lines).expect("UTF-8");
    lines
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("a JSON line"))
        .find(|c| c["index"] == index + 1)
        .and_then(|c| c["start_ts"].as_str().map(str::to_string))
        .expect("the call")
}

#[test]
fn from_and_to_pick_the_calls_started_between_them_in_any_form() {
    let start = load()
        .captures
        .iter()
        .filter_map(|c| c.first_ts_ns)
        .min()
        .expect("packets");
    let between = |from: i64, to: i64| -> Vec<usize> {
        load()
            .calls
            .iter()
            .filter(|c| (from..=to).contains(&c.start_ts_ns))
            .map(|c| c.index + 1)
            .collect()
    };
    let pick = |from: &str, to: &str| {
        let f = Filter {
            from: Some(Time::parse(from).expect("a time")),
            to: Some(Time::parse(to).expect("a time")),
            ..Filter::default()
        };
        numbers(&filtered(load(), &f))
    };
    let expected = between(start + 10_000_000_000, start + 12_000_000_000);
    assert!(expected.len() > 30, "20 calls a second");
    assert_eq!(pick("+10s", "+12s"), expected);
    assert_eq!(pick("10000ms", "0.2m"), expected);
    // RFC 3339, as the JSON report writes times: from call 201's start to call 241's, both in
    // (the capture's times are whole microseconds, as the report writes them).
    let (a, b) = (start_ts(200), start_ts(240));
    assert_eq!(pick(&a, &b), (201..=241).collect::<Vec<_>>(), "{a} .. {b}");
    // A time of day on the capture's day: until the end of the capture's first second.
    let first = start_ts(0);
    let Ok(Time::OfDay(second)) = Time::parse(&first[11..19]) else {
        panic!("{first}: a time of day")
    };
    let f = Filter {
        to: Some(Time::OfDay(second)),
        ..Filter::default()
    };
    let early = filtered(load(), &f);
    assert!(
        early.calls.is_empty(),
        "the first call starts after the whole second"
    );
    let f = Filter {
        to: Some(Time::OfDay(second + 1_000_000_000)),
        ..Filter::default()
    };
    let early = filtered(load(), &f);
    assert!(!early.calls.is_empty());
    assert!(early
        .calls
        .iter()
        .all(|c| c.start_ts_ns < start + 1_000_000_000));
}

#[test]
fn code_matches_findings_families_statuses_and_classes() {
    let count = |code: &str| {
        let f = Filter {
            code: Some(Code::parse(code).expect("a code")),
            ..Filter::default()
        };
        filtered(load(), &f).calls.len()
    };
    assert_eq!(count("sip.rejected"), 1148);
    assert_eq!(count("403"), 1148);
    assert_eq!(count("4xx"), 1148);
    assert_eq!(count("2xx"), 88);
    assert_eq!(count("media.none"), 88);
    assert_eq!(count("media.*"), 88);
    assert_eq!(count("sip."), 1148 + 75);
    assert_eq!(count("sip.no_response"), 75);
    assert_eq!(count("tcp.syn_unanswered"), 0);
}

#[test]
fn state_matches_how_calls_ended() {
    let count = |state| {
        let f = Filter {
            state: Some(state),
            ..Filter::default()
        };
        filtered(load(), &f).calls.len()
    };
    assert_eq!(count(State::Answered), 88);
    assert_eq!(count(State::Rejected), 1148);
    assert_eq!(count(State::Unanswered), 75);
    assert_eq!(count(State::Cancelled), 0);
}

#[test]
fn what_belongs_to_a_call_goes_with_it() {
    // Call 1 was rejected 504 because app1 dropped the proxy's SYNs; call 2 was answered, with RTP.
    let full = analyze(
        "testdata/lab/tcp-syn-dropped-proxy.pcap",
        &Filter::default(),
    );
    assert!(full.transport_events.iter().any(|e| e.calls == [0]));
    assert!(full.streams.iter().any(|s| s.call == Some(1)));
    let answered = analyze(
        "testdata/lab/tcp-syn-dropped-proxy.pcap",
        &Filter {
            state: Some(State::Answered),
            ..Filter::default()
        },
    );
    assert_eq!(numbers(&answered), [2]);
    assert!(
        answered.transport_events.is_empty(),
        "call 1's SYNs left with it"
    );
    assert!(!answered.streams.is_empty());
    assert!(answered.streams.iter().all(|s| s.call == Some(1)));
    let rejected = analyze(
        "testdata/lab/tcp-syn-dropped-proxy.pcap",
        &Filter {
            code: Some(Code::parse("tcp.syn_unanswered").expect("a code")),
            ..Filter::default()
        },
    );
    assert_eq!(numbers(&rejected), [1]);
    assert!(rejected.transport_events.iter().all(|e| e.calls == [0]));
    assert!(rejected.streams.iter().all(|s| s.call != Some(1)));
}

fn callscope(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_callscope"))
        .args(args)
        .output()
        .expect("run callscope");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_commands_take_the_filters() {
    let (ok, calls, _) = callscope(&["calls", "-q", LOAD, "--number", "+49 30 555 0054"]);
    assert!(ok);
    assert_eq!(calls.lines().count(), 2, "{calls}");
    assert!(calls
        .lines()
        .nth(1)
        .is_some_and(|l| l.trim_start().starts_with("55 ")));
    let (ok, report, _) = callscope(&[
        "analyze",
        "-q",
        LOAD,
        "--ip",
        "192.0.2.31",
        "--state",
        "answered",
        "--code",
        "media.none",
    ]);
    assert!(ok);
    assert!(report.contains("SIP: 5025 messages, 450 retransmitted, 88 calls"));
    assert!(report.contains("1223 calls left out by the filter"));
    let (ok, flow, _) = callscope(&["flow", "-q", LOAD, "--state", "unanswered", "--to", "+3s"]);
    assert!(ok);
    assert!(
        flow.starts_with("Call 55: sip:+49305550054@192.0.2.10"),
        "{flow}"
    );
    let dir = std::env::temp_dir().join(format!("callscope-filter-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temp dir");
    let pcap = dir.join("answered.pcap");
    let (ok, _, err) = callscope(&[
        "extract",
        "-q",
        LOAD,
        "--code",
        "media.none",
        "--to",
        "+2s",
        "-o",
        &pcap.to_string_lossy(),
    ]);
    assert!(ok, "{err}");
    assert!(err.contains("packets of 4 calls"), "{err}");
    let extracted = analyze(&pcap.to_string_lossy(), &Filter::default());
    assert_eq!(extracted.calls.len(), 4);
    assert!(extracted.calls.iter().all(|c| c.state == State::Answered));
    let _ = std::fs::remove_dir_all(&dir);
    // Nothing matches: flow and extract say so and fail; the bad values are usage errors.
    let (ok, _, err) = callscope(&["flow", "-q", LOAD, "--ip", "198.51.100.1"]);
    assert!(
        !ok && err.contains("no call matches (0 calls reported, 1311 left out"),
        "{err}"
    );
    for bad in [
        ["--number", "alice"],
        ["--ip", "192.0.2.0/40"],
        ["--from", "yesterday"],
        ["--code", "99"],
        ["--state", "ringing"],
    ] {
        let (ok, _, err) = callscope(&["calls", "-q", LOAD, bad[0], bad[1]]);
        assert!(!ok, "{bad:?} accepted");
        assert!(err.contains(bad[1]), "{bad:?}: {err}");
    }
    let (ok, _, err) = callscope(&["flow", "-q", LOAD]);
    assert!(
        !ok && err.contains("--call"),
        "flow needs --call or a filter: {err}"
    );
}
