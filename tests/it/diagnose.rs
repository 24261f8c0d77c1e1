//! The diagnosis of every recorded lab capture (testdata/lab, see its README): the primary finding of
//! each call with its host, port and evidence frames (frame numbers as `tshark -r` shows them), the
//! transport events, and no error or warning finding on the good calls.

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

/// Four calls refused alike by two hosts (app1 three times, app2 once) are one failure pattern
/// that names both hosts with their calls, not a pattern per host.
#[test]
fn the_same_refusal_by_two_hosts_is_one_pattern_that_tallies_them() {
    let a = lab("busy-two-apps.pcap");
    assert_eq!(a.calls.len(), 4);
    for call in 0..4 {
        assert_eq!(codes(&a, call), ["sip.rejected"], "call {call}");
    }
    let overview = a.overview();
    assert_eq!(overview.patterns.len(), 1, "{:#?}", overview.patterns);
    let p = &overview.patterns[0];
    assert_eq!(p.calls, 4);
    let hosts: Vec<(String, u64)> = p
        .hosts
        .counts()
        .iter()
        .map(|(ip, n)| (ip.to_string(), *n))
        .collect();
    assert_eq!(
        hosts,
        [("192.0.2.31".to_string(), 3), ("192.0.2.32".to_string(), 1)]
    );
    assert_eq!((p.hosts.others, p.targets.counts().len()), (0, 0));
    assert_eq!(
        (p.first.index, p.finding().frames.clone()),
        (0, vec![3, 6, 7])
    );
    let mut text = Vec::new();
    callscope::report::text::write(&a, &Default::default(), &mut text).expect("write to a Vec");
    let text = String::from_utf8(text).expect("UTF-8 text");
    assert!(
        text.contains("4 calls 100.0%")
            && text.contains("rejected 486 Busy Here by 2 hosts: 192.0.2.31 ×3, 192.0.2.32 ×1"),
        "{text}"
    );
}

#[test]
fn failover_over_tcp_names_the_dead_server_and_the_delay() {
    let a = lab("failover-slow.pcap");
    assert_eq!(codes(&a, 0), ["sip.failover", "tcp.syn_unanswered"]);
    assert_good_or_warning_only(&a, 0);
    let f = primary(&a, 0);
    assert_eq!(f.frames, [3, 7, 8, 9, 10, 11, 12, 19, 22, 24, 68]);
    assert_mentions(
        f,
        &[
            "192.0.2.20 first tried 192.0.2.31:5060 (TCP from 192.0.2.20 to 192.0.2.31:5060: 7 SYNs",
            "6.0 s after its first attempt it sent the INVITE to 192.0.2.32:5060 (frame 19)",
            "the caller waited 6.0 s for ringing",
            "take it out of rotation",
            "allow inbound TCP 5060 from 192.0.2.20 on 192.0.2.31's firewall",
        ],
    );
    assert!(a.patterns.is_empty(), "one call is no pattern");
}

#[test]
fn failover_over_udp_is_one_pattern_of_three_calls_at_the_switch_and_at_the_proxy() {
    for (name, frames) in [
        (
            "failover-udp.pcap",
            [
                [3, 7, 8, 9, 10, 13, 15, 16],
                [329, 331, 332, 335, 338, 339, 341, 342],
                [644, 646, 647, 648, 649, 650, 652, 653],
            ],
        ),
        (
            "failover-udp-at-proxy.pcap",
            [
                [3, 7, 8, 9, 10, 13, 15, 16],
                [28, 30, 31, 34, 35, 36, 38, 39],
                [48, 50, 51, 52, 53, 54, 56, 57],
            ],
        ),
    ] {
        let a = lab(name);
        assert_eq!(a.calls.len(), 3, "{name}");
        for (call, frames) in frames.iter().enumerate() {
            assert_good_or_warning_only(&a, call);
            let f = primary(&a, call);
            assert_eq!(f.code, "sip.failover", "{name} call {call}: {f:#?}");
            assert_eq!(f.frames, frames, "{name} call {call}");
            assert_mentions(
                f,
                &[
                    "192.0.2.20 first tried 192.0.2.31:5060 (INVITE sent 4 times over 3.5 s (UDP), no response)",
                    "to 192.0.2.32:5060",
                    "allow inbound UDP 5060 from 192.0.2.20 on 192.0.2.31's firewall",
                    "shorten 192.0.2.20's failover timer",
                ],
            );
        }
        let p = &a.patterns;
        assert_eq!(p.len(), 1, "{name}");
        let dead = a
            .vantage
            .hosts
            .iter()
            .find(|h| h.ip.to_string() == "192.0.2.31")
            .expect("the dead target is a host seen");
        assert!(dead.receives && !dead.sends, "{name}: {dead:?}");
        assert_eq!(p[0].calls, [0, 1, 2], "{name}");
        assert_eq!(p[0].target.to_string(), "192.0.2.31:5060");
        assert!(p[0]
            .summary
            .starts_with("3 calls (#1, #2, #3) failed over from the same dead target"));
    }
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
fn a_private_sdp_address_behind_nat_is_the_cause_at_the_caller_and_at_the_callee() {
    // At the caller its RTP leaves toward the private address: both directions are on the wire, and
    // the NAT finding alone says that the callee hears nothing.
    let a = lab("nat-private-sdp.pcap");
    assert_eq!(codes(&a, 0), ["media.unexpected_address"]);
    let f = primary(&a, 0);
    assert_eq!(f.severity, Severity::Error);
    assert_eq!(f.frames, [6, 10, 11, 408, 409]);
    assert_mentions(
        f,
        &[
            "announces 10.0.0.31:20000, an RFC 1918 private address",
            "the 200 OK came from 192.0.2.31 and the callee's RTP comes from 192.0.2.31:20000",
            "192.0.2.10:6000 → 10.0.0.31:20000 (200 packets, frames 10–408)",
            "the callee hears nothing",
            "external/NAT address setting",
        ],
    );
    // At the callee the caller's RTP never arrives: the NAT is the cause, the symptoms follow.
    let a = lab("nat-private-sdp-at-app.pcap");
    assert_eq!(
        codes(&a, 0),
        [
            "media.unexpected_address",
            "media.dropped_after_answer",
            "media.one_way"
        ]
    );
    let f = primary(&a, 0);
    assert_eq!(f.severity, Severity::Error);
    assert_eq!(f.frames, [6, 9, 208]);
    assert_mentions(
        f,
        &["no RTP from the caller to the callee reached this capture point: sent to 10.0.0.31:20000"],
    );
}

#[test]
fn media_lost_mid_call_both_ways_is_dead_air_one_way_is_stopped() {
    let a = lab("media-dead-air.pcap");
    assert_eq!(codes(&a, 0), ["media.dead_air"]);
    let f = primary(&a, 0);
    assert_eq!(f.severity, Severity::Error);
    assert_eq!(f.frames, [309, 310, 313]);
    assert_mentions(
        f,
        &[
            "RTP stopped in both directions 3.1 s after the answer",
            "nothing flowed for 5.9 s until the BYE (frame 313)",
            "confident: both stopped within 22 µs of each other",
            "UDP session (pinhole) timeouts",
        ],
    );
    let a = lab("media-stopped.pcap");
    assert_eq!(codes(&a, 0), ["media.stopped"]);
    let f = primary(&a, 0);
    assert_eq!(f.frames, [8, 316, 764, 765]);
    assert_mentions(
        f,
        &[
            "RTP 192.0.2.31:20000 → 192.0.2.10:6000 stopped at frame 316 (155 packets), 8.9 s before the BYE (frame 765)",
        ],
    );
}

#[test]
fn the_capture_vantage_decides_what_missing_media_means() {
    // On the proxy's own interface: every packet is from or to it, no RTP; the media between the
    // caller and app2 cannot pass there, so its absence is only info, after the failover, with
    // where to capture instead.
    let a = lab("failover-udp-at-proxy.pcap");
    assert_eq!(
        a.vantage.capture_host().map(|h| h.to_string()),
        Some("192.0.2.20".to_string())
    );
    assert!(!a.vantage.rtp_seen);
    for call in 0..3 {
        assert_eq!(
            codes(&a, call),
            [
                "sip.failover",
                "sip.no_response",
                "media.dropped_after_answer",
                "media.none"
            ]
        );
        for f in &a.calls[call].findings[2..] {
            assert_eq!(f.severity, Severity::Info, "{f:#?}");
            assert_mentions(
                f,
                &[
                    "every packet of this capture is from or to 192.0.2.20",
                    "capture at 192.0.2.10 or 192.0.2.32",
                ],
            );
        }
    }
    // On the switch the same calls' media is seen: no media finding at all.
    let a = lab("failover-udp.pcap");
    assert!(a.vantage.common.is_empty() && a.vantage.rtp_seen);
    for call in 0..3 {
        assert!(codes(&a, call).iter().all(|c| !c.starts_with("media.")));
    }
    // STUN on the media ports shows the media path is seen: the missing RTP is an error there.
    let a = lab("ice-failed.pcap");
    assert!(a.calls[0]
        .findings
        .iter()
        .all(|f| f.severity == Severity::Error));
}

#[test]
fn fax_refused_or_one_way_fails_and_a_fax_that_went_both_ways_is_clean() {
    let a = lab("fax-t38.pcap");
    assert_good(&a, 0);
    assert!(a.calls[0].findings.is_empty(), "{:#?}", a.calls[0].findings);
    let fax: Vec<_> = a.calls[0]
        .evidence
        .fax
        .iter()
        .map(|f| (f.src.to_string(), f.packets, f.lost, f.max_redundancy))
        .collect();
    assert_eq!(
        fax,
        [
            ("192.0.2.31:20002".to_string(), 11, 0, 2),
            ("192.0.2.10:6002".to_string(), 340, 0, 2)
        ]
    );
    // The audio before and after the fax: two streams, each way one, as tshark lists them.
    assert_eq!(a.streams.len(), 2);
    let a = lab("fax-t38-refused.pcap");
    assert_eq!(codes(&a, 0), ["media.fax_failed"]);
    let f = primary(&a, 0);
    assert_eq!(f.frames, [208, 209]);
    assert_mentions(
        f,
        &[
            "the re-INVITE to T.38 (frame 208) from 192.0.2.10 was refused: 488 Not Acceptable Here (frame 209)",
            "Warning: 304 app \"Media type not available\"",
            "enable T.38 on 192.0.2.31's side",
        ],
    );
    let a = lab("fax-t38-one-way.pcap");
    assert_eq!(codes(&a, 0), ["media.fax_failed"]);
    let f = primary(&a, 0);
    assert_eq!(f.severity, Severity::Error);
    assert_eq!(f.frames, [210, 211, 213, 554]);
    assert_mentions(
        f,
        &["UDPTL went one way only: 192.0.2.10:6002 → 192.0.2.31:20002 (340 packets, frames 213–554); nothing from 192.0.2.31:20002 to 192.0.2.10:6002"],
    );
}

#[test]
fn one_way_and_blocked_media_seen_at_the_caller_and_at_the_app() {
    // At the caller, both failures look the same: its RTP leaves, nothing comes back.
    for (name, frames) in [
        ("media-one-way-at-caller.pcap", [6, 7, 8, 207, 208]),
        ("media-blocked-both-at-caller.pcap", [6, 7, 8, 208, 209]),
        ("media-blocked-both-at-app.pcap", [6, 7, 8, 208, 209]),
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
                "with RTP only 192.0.2.10:6000 → 192.0.2.31:20000",
                "the callee's RTP (from 192.0.2.31:20000) never reached this capture point",
            ],
        );
    }
    // At the app the one-way loss is beyond the capture point: its RTP leaves, the caller's arrives.
    let a = lab("media-one-way-at-app.pcap");
    assert_eq!(a.streams.len(), 2);
    assert!(a.calls[0].findings.is_empty(), "{:#?}", a.calls[0].findings);
}

#[test]
fn ice_checks_unanswered_fail_and_answered_ones_carry_the_media() {
    let a = lab("ice-failed.pcap");
    assert_eq!(codes(&a, 0)[0], "media.ice_failed");
    let f = primary(&a, 0);
    assert_eq!(f.severity, Severity::Error);
    assert_eq!(f.frames[..3], [8, 9, 10]);
    assert_mentions(
        f,
        &[
            "192.0.2.10:7000 → 192.0.2.31:27000: 69 requests, no success",
            "allow the media port range between the endpoints",
        ],
    );
    let a = lab("ice-call.pcap");
    assert_eq!(a.streams.len(), 2);
    assert!(a.calls[0].findings.is_empty(), "{:#?}", a.calls[0].findings);
}

#[test]
fn a_payload_type_the_answer_did_not_list_is_a_codec_mismatch() {
    let a = lab("codec-mismatch.pcap");
    assert_eq!(codes(&a, 0), ["media.codec_mismatch"]);
    let f = primary(&a, 0);
    assert_eq!(f.severity, Severity::Warning);
    assert_eq!(f.frames, [6, 9, 307]);
    assert_mentions(
        f,
        &["RTP 192.0.2.31:20000 → 192.0.2.10:6000 (frames 9–307) carries payload type 8 (PCMA), which the answer SDP (frame 6) did not list (PCMU/8000)"],
    );
}

#[test]
fn hold_update_and_a_codec_change_mid_call_are_no_media_fault() {
    // Hold by re-INVITE (6 s without media both ways), off hold by UPDATE, PCMU → PCMA by re-INVITE.
    let a = lab("media-changes.pcap");
    assert_eq!(a.calls[0].messages.len(), 15);
    assert!(a.calls[0].findings.is_empty(), "{:#?}", a.calls[0].findings);
    assert_eq!(a.streams.len(), 2);
    assert!(a
        .streams
        .iter()
        .all(|s| s.summary.payload_type_changes == 1));
}

#[test]
fn a_capture_that_starts_mid_call_still_gets_its_media_judged() {
    // tcpdump started 3 s into the one-way call: no INVITE, no SDP, only RTP one way and the BYE.
    let a = lab("midcall-one-way.pcap");
    assert_eq!(a.calls.len(), 1);
    assert_eq!(a.calls[0].state.as_str(), "mid_call");
    assert_eq!(codes(&a, 0), ["media.one_way"]);
    let f = primary(&a, 0);
    assert_eq!(f.severity, Severity::Error);
    assert_eq!(f.frames, [1, 399]);
    assert_mentions(
        f,
        &[
            "RTP only 192.0.2.10:6000 → 192.0.2.31:20000 (397 packets, frames 1–399); nothing from the callee (192.0.2.31)",
            "the capture started mid-call, without its INVITE and SDP",
            "192.0.2.31's outbound UDP is blocked",
        ],
    );
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

/// The client rejected (unknown_ca) a self-signed server certificate: the certificate, seen in the
/// clear TLS 1.2 handshake, is named with its fields.
#[test]
fn tls_unknown_ca_of_a_self_signed_certificate_is_a_certificate_event() {
    let a = lab("tls-handshake-failed.pcap");
    let ev = &a.transport_events;
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].code, "tls.certificate");
    assert_eq!(ev[0].frames, [3, 4, 6, 8, 10, 11, 12]);
    assert!(ev[0].summary.contains(
        "the server certificate is self-signed [CN=app1.lab.example, serial 21:65:90:4c:86:36:fe:4b:e5:f6:39:1f:60:74:db:27:12:4e:e9:82, issued by CN=app1.lab.example"
    ), "{}", ev[0].summary);
    assert!(ev[0]
        .summary
        .contains("192.0.2.10 sent a fatal alert unknown_ca (48) in frame 10"));
    assert!(ev[0].cause.contains("a CA its peer trusts"));
}

/// The proxy held the INVITE, failed its TLS handshake to the next hop (an expired certificate, its
/// own alert) and answered 503: the certificate is the call's cause, named with its fields.
#[test]
fn an_expired_certificate_on_the_tls_next_hop_is_the_cause_of_the_503() {
    let a = lab("tls-next-hop-expired.pcap");
    assert_eq!(a.calls.len(), 1);
    assert_eq!(codes(&a, 0), ["tls.certificate", "sip.rejected"]);
    let f = primary(&a, 0);
    assert_eq!(f.severity, Severity::Error);
    assert_eq!(f.frames, [3, 7, 8, 10, 12, 14, 15, 16, 17]);
    assert_mentions(
        f,
        &[
            "TLS certificate problem between 192.0.2.20 and 192.0.2.31:5061: the server certificate expired 2021-01-01 00:00 UTC",
            "valid 2020-01-01 00:00 UTC to 2021-01-01 00:00 UTC, SAN app1.lab.example, EKU serverAuth]",
            "192.0.2.20 sent a fatal alert certificate_expired (45) in frame 14",
            "while 192.0.2.20 held this call's INVITE (frame 3) and was trying its next hop 192.0.2.31:5061",
            "answered 503 Service Unavailable (frame 17)",
            "renew the server certificate",
        ],
    );
    let ev = &a.transport_events;
    assert_eq!(ev.len(), 1);
    assert_eq!(
        (ev[0].code, &ev[0].calls[..]),
        ("tls.certificate", &[0][..])
    );
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

/// A Lync Front End's 504 with ms-diagnostics 1046 / WinsockFailureCode 10060: the SYNs it sent in
/// the same capture corroborate it, and both headers are decoded.
#[test]
fn lync_front_end_504_and_its_unanswered_syns_corroborate_each_other() {
    let a = lab("lync-fe-504.pcap");
    assert_eq!(codes(&a, 0), ["tcp.syn_unanswered", "sip.timeout"]);
    let timeout = &a.calls[0].findings[1];
    assert_eq!(timeout.frames, [3, 16, 17]);
    assert_mentions(
        timeout,
        &[
            "ms-diagnostics 1046 (SIP stack: failed to connect to a peer server) reason \"Failed to connect to a peer server\" from fe01.lab.example; WinsockFailureCode 10060 WSAETIMEDOUT: the connection attempt timed out: the peer never answered",
            "ms-diagnostics-public 1046 (SIP stack: failed to connect to a peer server)",
            "192.0.2.20's ms-diagnostics 1046 (WinsockFailureCode 10060 WSAETIMEDOUT) and the capture corroborate each other: TCP from 192.0.2.20 to 192.0.2.31:5060: 7 SYNs over 7.1 s, never answered",
            "check that the peer server is up, listens on its port and is reachable from the server (firewall)",
        ],
    );
    assert_eq!(
        timeout
            .cause
            .matches("check that the peer server is up")
            .count(),
        1
    );
}

/// A Skype for Business callee's ms-client-diagnostics 24 in its BYE is the cause of the call's media
/// findings, with the ICEWarn bits and the relay it did not get.
#[test]
fn a_lync_clients_media_report_explains_the_media_findings() {
    let a = lab("lync-ice-failed.pcap");
    assert_eq!(
        codes(&a, 0),
        ["media.dropped_after_answer", "media.one_way"]
    );
    for f in &a.calls[0].findings {
        assert!(f.frames.contains(&211), "{:?}", f.frames);
        assert_mentions(
            f,
            &[
                "the Microsoft client's own diagnosis (BYE, frame 211): ms-client-diagnostics 24 (client: the call could not establish media: the clients' connectivity checks (ICE) found no working path)",
                "callee audio report: ICEWarn 0x320 = local connectivity failed (0x20), TCP NAT connectivity failed (0x100), TCP TURN server connectivity failed (0x200); local media relay none (no relay allocated), relay name av-edge.lab.example, port range 20000:20039",
            ],
        );
    }
    let m = &a.calls[0]
        .messages
        .iter()
        .find(|s| s.msg.frame == 211)
        .expect("the BYE")
        .msg;
    let report = &m.ms_diagnostics[0].media[0];
    assert_eq!(
        (report.party.as_deref(), report.ice_warn),
        (Some("Callee"), Some(0x320))
    );
}

/// Teams Direct Routing: a 403 from Microsoft's SIP proxy says who answered; the TLS handshake the
/// proxy ends says what Microsoft requires of the SBC.
#[test]
fn teams_direct_routing_rejections_name_microsoft() {
    let a = lab("teams-dr-rejected.pcap");
    assert_eq!(a.calls.len(), 1);
    assert_eq!(a.other_dialogs.len(), 1);
    assert_eq!(a.other_dialogs[0].method, "OPTIONS");
    assert_eq!(a.other_dialogs[0].final_status.map(|s| s.0), Some(200));
    let f = primary(&a, 0);
    assert_eq!(f.code, "sip.rejected");
    assert_mentions(
        f,
        &["Teams Direct Routing (Microsoft's SIP proxy) answered 403 Forbidden"],
    );
    // Microsoft asked for the SBC's certificate and got none: named from the certificates sent,
    // with what Direct Routing requires.
    let tls = lab("teams-dr-tls.pcap");
    let ev = &tls.transport_events[0];
    assert_eq!(ev.code, "tls.certificate");
    assert!(
        ev.summary.contains(
            "the server asked for a client certificate (CertificateRequest, frame 8) and the client sent none"
        ),
        "{}",
        ev.summary
    );
    assert!(!ev.summary.contains("self-signed"), "{}", ev.summary);
    assert!(
        ev.cause.contains(
            "the server is Teams Direct Routing's SIP proxy, and Microsoft closed the TLS session"
        ),
        "{}",
        ev.cause
    );
}
