//! Calls across the capture that all end at the same duration, as one pattern with its likely cause,
//! proven on recordings: three calls whose ACKs are dropped end at Timer H (32 s), three whose session
//! refreshes are dropped end at the session timer's expiry (60 s), and neither the load test's fixed
//! hold time (88 clean calls of 12 s, hung up by the caller) nor any other lab capture is a pattern.

use std::path::Path;

use callscope::analysis::durations::{Cause, DurationPattern};
use callscope::capture::CaptureFile;
use callscope::Analysis;

use crate::support;

/// The one duration pattern of a lab capture, checked in the text, JSON and HTML reports too.
fn only_pattern(analysis: &Analysis) -> DurationPattern {
    let durations = analysis.overview().durations;
    assert_eq!(durations.patterns.len(), 1, "{:?}", durations.patterns);
    let p = durations.patterns[0].clone();
    let mut text = Vec::new();
    callscope::report::text::write(analysis, &Default::default(), &mut text).expect("a Vec");
    let text = String::from_utf8(text).expect("UTF-8");
    assert!(
        text.contains("Calls ending at the same duration (of 3 answered calls ended by BYE):"),
        "{text}"
    );
    assert!(text.contains(p.cause.explanation()), "{text}");
    let mut json = Vec::new();
    callscope::report::json::write(analysis, &mut json).expect("a Vec");
    let json: serde_json::Value = serde_json::from_slice(&json).expect("JSON");
    assert_eq!(json["summary"]["ended_calls"], 3);
    let patterns = json["duration_patterns"].as_array().expect("an array");
    assert_eq!(patterns.len(), 1);
    assert_eq!(patterns[0]["cause"], p.cause.as_str());
    assert_eq!(patterns[0]["calls"], 3);
    assert_eq!(patterns[0]["share_pct"], 100.0);
    let mut html = Vec::new();
    callscope::report::html::write(analysis, &mut html).expect("a Vec");
    let html = String::from_utf8(html).expect("UTF-8");
    assert!(html.contains("<h2 id=\"durations\">Calls ending at the same duration</h2>"));
    assert!(html.contains(&format!("<code>{}</code>", p.cause.as_str())));
    p
}

#[test]
fn dropped_acks_end_every_call_at_timer_h() {
    let p = only_pattern(&support::lab("ack-dropped-calls.pcap"));
    assert_eq!(p.cause, Cause::AckMissing);
    assert_eq!((p.calls, p.ack_missing, p.by_callee, p.udp), (3, 3, 3, 3));
    assert_eq!(p.seconds, 32, "31.5 s, rounded");
    assert!(
        (31_000..=32_000).contains(&p.min_ms) && (31_000..=32_000).contains(&p.max_ms),
        "{p:?}"
    );
    assert_eq!(p.first_index, 0);
}

#[test]
fn dropped_session_refreshes_end_every_call_at_the_session_expiry() {
    let p = only_pattern(&support::lab("session-timer-refresh-dropped.pcap"));
    assert_eq!(p.cause, Cause::SessionTimer);
    assert_eq!((p.calls, p.session_expired, p.by_callee), (3, 3, 3));
    assert_eq!(p.seconds, 60);
}

#[test]
fn a_load_generators_fixed_hold_time_is_no_pattern() {
    let file = CaptureFile::open(Path::new("testdata/load/load-403.pcap")).expect("the load test");
    let overview = support::analyze_with(std::slice::from_ref(&file), 1 << 20, 2).overview();
    assert_eq!(overview.durations.ended, 88, "88 answered calls of 12 s");
    assert!(
        overview.durations.patterns.is_empty(),
        "{:?}",
        overview.durations.patterns
    );
}

#[test]
fn no_other_lab_capture_has_calls_ending_alike() {
    let mut checked = 0;
    for entry in std::fs::read_dir("testdata/lab").expect("testdata/lab") {
        let path = entry.expect("an entry").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let is_capture = name.ends_with(".pcap") || name.ends_with(".pcapng");
        if !is_capture
            || matches!(
                name,
                "ack-dropped-calls.pcap" | "session-timer-refresh-dropped.pcap"
            )
        {
            continue;
        }
        let durations = support::lab(name).overview().durations;
        assert!(durations.patterns.is_empty(), "{name}: {durations:?}");
        checked += 1;
    }
    assert!(checked > 40, "{checked} captures");
}
