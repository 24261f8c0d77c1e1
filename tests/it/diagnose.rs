//! The diagnosis of every recorded lab capture (testdata/lab, see its README): the primary finding of
//! each call with its host, port and evidence frames (frame numbers as `tshark -r` shows them), the
//! transport events, and no error or warning finding on the good calls.

use std::path::Path;

use callscope::capture::CaptureFile;
use callscope::diagnose::{Finding, Severity};
use callscope::Analysis;

use crate::support;

fn lab(name: &str) -> Analysis {
    support::lab(name)
}

fn primary(a: &Analysis, call: usize) -> &Finding {
    a.calls[call]
        .findings
        .first()
        .unwrap_or_else(|| panic!("call {call} has no finding"))
}

fn codes(a: &Analysis, call: usize) -> Vec<&'static str> {
    a.calls[call].findings.iter().map(|f| f.code).collect()
}

fn assert_good(a: &Analysis, call: usize) {
    let bad: Vec<_> = a.calls[call]
        .findings
        .iter()
        .filter(|f| f.severity != Severity::Info)
        .collect();
    assert!(bad.is_empty(), "call {call} is good but got {bad:#?}");
}

fn assert_mentions(f: &Finding, parts: &[&str]) {
    for p in parts {
        assert!(
            f.summary.contains(p) || f.cause.contains(p),
            "{p:?} not in {f:#?}"
        );
    }
}

#[test]
fn tcp_syn_dropped_behind_the_proxy_is_the_cause_of_the_504() {
    let a = lab("tcp-syn-dropped-proxy.pcap");
    assert_eq!(a.calls.len(), 2);
    assert_eq!(codes(&a, 0), ["tcp.syn_unanswered", "sip.timeout"]);
    let f = primary(&a, 0);
    assert_eq!(f.severity, Severity::Error);
    assert_eq!(f.frames, [3, 7, 8, 9, 10, 11, 14, 15, 16]);
    assert_mentions(
        f,
        &[
            "TCP from 192.0.2.20 to 192.0.2.31:5060: 7 SYNs over 7.1 s, never answered",
            "504 Server Time-out (frame 16)",
            "allow inbound TCP 5060 from 192.0.2.20 on 192.0.2.31's firewall",
        ],
    );
    let timeout = &a.calls[0].findings[1];
    assert_mentions(
        timeout,
        &["No response from next hop sip:192.0.2.31:5060;transport=tcp"],
    );
    assert_good(&a, 1);
    let ev = &a.transport_events;
    assert_eq!(ev.len(), 1);
    assert_eq!(
        (ev[0].code, ev[0].attempts, ev[0].first_frame),
        ("tcp.syn_unanswered", 7, 7)
    );
    assert_eq!(ev[0].calls, [0]);
}

#[test]
fn tcp_syn_dropped_seen_at_the_app_is_an_unlinked_transport_event() {
    let a = lab("tcp-syn-dropped-at-app.pcap");
    assert!(a.calls.is_empty());
    let ev = &a.transport_events;
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].code, "tcp.syn_unanswered");
    assert_eq!(ev[0].frames, [4, 5, 6, 7, 8, 9, 10]);
    assert_eq!(ev[0].dst.to_string(), "192.0.2.31:5060");
    assert!(ev[0].calls.is_empty());
    assert!(
        ev[0].summary.contains("7 SYNs over 7.1 s, never answered"),
        "{}",
        ev[0].summary
    );
    assert!(ev[0].cause.contains("the listening port is filtered"));
}

#[test]
fn tcp_syn_refused_explains_the_503() {
    let a = lab("tcp-syn-refused.pcap");
    assert_eq!(codes(&a, 0), ["tcp.syn_refused", "sip.rejected"]);
    let f = primary(&a, 0);
    assert_eq!(f.frames, [3, 7, 8, 9]);
    assert_mentions(
        f,
        &[
            "192.0.2.31:5060",
            "answered by RST (frame 8)",
            "503 Service Unavailable (frame 9)",
            "nothing listens on 192.0.2.31:5060",
        ],
    );
    assert_mentions(
        &a.calls[0].findings[1],
        &["Cannot connect to sip:192.0.2.31:5060;transport=tcp"],
    );
}

#[test]
fn icmp_port_unreachable_quoting_the_invites() {
    let a = lab("udp-icmp-unreachable.pcap");
    assert_eq!(codes(&a, 0), ["icmp.unreachable", "sip.no_response"]);
    let f = primary(&a, 0);
    assert_eq!(f.frames, [3, 4, 5, 6, 7, 8, 9, 10, 13, 14, 15, 16, 17, 18]);
    assert_mentions(
        f,
        &[
            "7 UDP packets 192.0.2.10:5060 → 192.0.2.31:5060 (SIP) with ICMP port unreachable",
            "nothing listens on UDP 5060 at 192.0.2.31",
        ],
    );
    assert_eq!(a.transport_events[0].calls, [0]);
}

#[test]
fn udp_invite_dropped_is_no_response_per_timer_a() {
    let a = lab("udp-invite-dropped.pcap");
    assert_eq!(codes(&a, 0), ["sip.no_response"]);
    let f = primary(&a, 0);
    assert_eq!(f.frames, [3, 4, 5, 6, 7, 8, 9]);
    assert_mentions(
        f,
        &[
            "to 192.0.2.31:5060 sent 7 times over 31.5 s",
            "RFC 3261 Timer A",
            "Timer B",
            "dropped silently",
        ],
    );
}

#[test]
fn sip_outcomes_busy_is_info_and_the_unanswered_call_no_response() {
    let a = lab("sip-udp-outcomes.pcap");
    assert_eq!(a.calls.len(), 4);
    assert!(a.calls[0].findings.is_empty(), "{:#?}", a.calls[0].findings);
    assert_eq!(codes(&a, 1), ["sip.rejected"]);
    assert_eq!(primary(&a, 1).severity, Severity::Info);
    assert_eq!(primary(&a, 1).frames, [212, 217, 218]);
    assert!(
        a.calls[2].findings.is_empty(),
        "cancelled: {:#?}",
        a.calls[2].findings
    );
    assert_eq!(codes(&a, 3), ["sip.no_response"]);
    assert_eq!(primary(&a, 3).frames, [226, 227, 228, 229, 230, 231, 232]);
}

#[test]
fn failover_is_a_slow_setup_naming_the_dead_server() {
    let a = lab("failover-slow.pcap");
    assert_eq!(codes(&a, 0), ["sip.slow_setup", "tcp.syn_unanswered"]);
    assert_good_or_warning_only(&a, 0);
    let f = primary(&a, 0);
    assert_eq!(f.frames, [3, 7, 8, 9, 10, 11, 12, 19, 24, 68]);
    assert_mentions(
        f,
        &[
            "post-dial delay 6.0 s",
            "first tried 192.0.2.31:5060",
            "failed over to 192.0.2.32:5060",
        ],
    );
}

fn assert_good_or_warning_only(a: &Analysis, call: usize) {
    assert!(
        a.calls[call]
            .findings
            .iter()
            .all(|f| f.severity != Severity::Error),
        "{:#?}",
        a.calls[call].findings
    );
}

#[test]
fn media_blocked_after_answer_connects_then_drops() {
    for (name, frames) in [
        ("media-blocked-both.pcap", [6, 7, 8, 203, 204]),
        ("media-one-way.pcap", [6, 7, 8, 207, 208]),
    ] {
        let a = lab(name);
        assert_eq!(
            codes(&a, 0),
            ["media.dropped_after_answer", "media.one_way"],
            "{name}"
        );
        let f = primary(&a, 0);
        assert_eq!(f.frames, frames, "{name}");
        assert_mentions(
            f,
            &[
                "hung up by the caller 4.0 s later",
                "192.0.2.10:6000 → 192.0.2.31:20000",
                "192.0.2.31's outbound UDP is blocked",
            ],
        );
    }
}

#[test]
fn ack_dropped_is_ack_missing() {
    let a = lab("ack-dropped.pcap");
    assert_eq!(codes(&a, 0)[0], "sip.ack_missing");
    let f = primary(&a, 0);
    for frame in [6, 7, 33, 34, 226, 227, 228] {
        assert!(f.frames.contains(&frame), "{frame} not in {:?}", f.frames);
    }
    assert_mentions(
        f,
        &[
            "192.0.2.31:5060 sent the 200 OK 10 times",
            "10 ACKs",
            "ACK timeout",
        ],
    );
}

#[test]
fn impaired_media_is_only_a_warning() {
    let a = lab("media-impaired.pcap");
    assert_eq!(codes(&a, 0), ["media.poor_quality"]);
    assert_eq!(primary(&a, 0).severity, Severity::Warning);
    assert_mentions(
        primary(&a, 0),
        &["192.0.2.10:6000 → 192.0.2.31:20000: 12 of 250 packets lost (4.8 %)"],
    );
}

#[test]
fn good_calls_get_no_finding() {
    for name in ["sip-udp-basic-call.pcap", "sip-tcp-call.pcap"] {
        let a = lab(name);
        assert_eq!(a.calls.len(), 1, "{name}");
        assert_good(&a, 0);
        assert!(
            a.transport_events.is_empty(),
            "{name}: {:#?}",
            a.transport_events
        );
    }
}

/// The one ICMP group of a lab capture's only call: an info finding, an info event tied to the call,
/// and the errors on the call's ladder (its evidence).
fn assert_icmp_is_only_info(a: &Analysis, frames: &[u64], parts: &[&str]) {
    assert_eq!(a.calls.len(), 1);
    assert_good(a, 0);
    assert_eq!(codes(a, 0), ["icmp.unreachable"]);
    let f = primary(a, 0);
    assert_eq!(f.severity, Severity::Info);
    assert_eq!(f.frames, frames);
    assert_mentions(f, parts);
    let ev = &a.transport_events;
    assert_eq!(ev.len(), 1, "{ev:#?}");
    assert_eq!(
        (ev[0].severity, &ev[0].calls[..]),
        (Severity::Info, &[0][..])
    );
    let on_ladder: Vec<u64> = a.calls[0]
        .evidence
        .icmp
        .iter()
        .flat_map(|g| g.kept())
        .map(|e| e.frame)
        .collect();
    assert_eq!(on_ladder, frames);
}

#[test]
fn rtp_after_the_bye_refused_by_the_closed_port_is_no_fault() {
    // The caller's BYE (frame 309) is answered at once (310); its sipp exits 275 ms later, closing its
    // RTP port, while app1 streams on for 600 ms: the caller's kernel answers 6 packets (its burst).
    let a = lab("teardown-rtp-after-bye.pcap");
    assert_icmp_is_only_info(
        &a,
        &[325, 327, 329, 331, 333, 335],
        &[
            "192.0.2.10 answered 6 UDP packets 192.0.2.31:20000 → 192.0.2.10:6000 (RTP) with ICMP port unreachable",
            "after the BYE (frame 309, completed by the 200 OK in frame 310)",
            "not a fault",
            "nothing to fix",
        ],
    );
    // The late RTP is on the stream (tshark counts it too): 181 packets app1 → caller, 150 back.
    let packets: Vec<u64> = a.streams.iter().map(|s| s.summary.packets).collect();
    assert_eq!(packets, [181, 150]);
}

#[test]
fn early_media_refused_before_the_answer_is_no_fault() {
    // 183 with SDP (frame 5) and app1's RTP at once; the caller's port refuses it until the 200 OK
    // (frame 62): 6 ICMP errors (the kernel's burst) in the first 120 ms.
    let a = lab("early-media-port-closed.pcap");
    assert_icmp_is_only_info(
        &a,
        &[7, 9, 11, 13, 15, 17],
        &[
            "while the call was being set up, up to the 200 OK (frame 62)",
            "early media to a port 192.0.2.10 had not opened yet",
            "should hear early media",
        ],
    );
}

#[test]
fn tls_unknown_ca_is_a_transport_event() {
    let a = lab("tls-handshake-failed.pcap");
    let ev = &a.transport_events;
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].code, "tls.handshake_failed");
    assert_eq!(ev[0].frames, [3, 4, 6, 8, 10, 11, 12]);
    assert!(ev[0].summary.contains("192.0.2.31:5061"));
    assert!(ev[0]
        .cause
        .contains("check the certificate chain / trusted root (MTLS)"));
}

#[test]
fn the_diagnosis_does_not_depend_on_chunks_or_threads() {
    let mut compared = 0;
    for entry in std::fs::read_dir("testdata/lab").expect("testdata/lab") {
        let path = entry.expect("an entry").path();
        if path.extension().is_none_or(|e| e != "pcap") {
            continue;
        }
        let file = CaptureFile::open(&path).expect("a lab capture");
        let one = support::analyze_with(std::slice::from_ref(&file), 4096, 1);
        let many = support::analyze_with(std::slice::from_ref(&file), 1 << 20, 2);
        assert_eq!(one.calls, many.calls, "{}", path.display());
        assert_eq!(
            one.transport_events,
            many.transport_events,
            "{}",
            path.display()
        );
        compared += 1;
    }
    assert!(compared >= 14, "only {compared} lab captures compared");
}

#[test]
fn a_session_refresh_dropped_ends_each_call_at_the_session_expiry() {
    let a = lab("session-timer-refresh-dropped.pcap");
    assert_eq!(a.calls.len(), 3);
    for (i, (refresh, bye)) in [(20, 37), (21, 39), (22, 41)].into_iter().enumerate() {
        assert_eq!(codes(&a, i), ["sip.session_expired"], "call {i}");
        let f = primary(&a, i);
        assert_eq!(f.severity, Severity::Error);
        assert_mentions(
            f,
            &[
                &format!("(re-INVITE from 192.0.2.10:5060 to 192.0.2.31:5060, frame {refresh})"),
                "Session-Expires 90 s, refresher uac, Min-SE 90 s",
                "was sent 5 times over 7.5 s and never answered",
                &format!(
                    "192.0.2.31 ended the call with BYE (frame {bye}) 1 min 00 s after the answer"
                ),
                "Q.850 cause 102",
                "drops in-dialog requests",
            ],
        );
        assert!(f.frames.contains(&refresh) && f.frames.contains(&bye));
    }
}
