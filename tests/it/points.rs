//! Two capture points of the same calls (`testdata/lab/points-*`): the same packets matched across
//! the points, the clock offset recovered, and the place where the lost packets died.

use std::path::Path;

use callscope::capture::CaptureFile;
use callscope::pipeline::NoProgress;
use callscope::points::{Points, Verdict};

fn lab(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/lab")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A classic little-endian microsecond pcap with every timestamp moved by `shift_us`.
fn shifted(mut pcap: Vec<u8>, shift_us: i64) -> Vec<u8> {
    assert_eq!(
        pcap[..4],
        [0xd4, 0xc3, 0xb2, 0xa1],
        "a little-endian µs pcap"
    );
    let mut at = 24;
    while at + 16 <= pcap.len() {
        let word = |i: usize| u32::from_le_bytes(pcap[i..i + 4].try_into().unwrap()) as i64;
        let ts = word(at) * 1_000_000 + word(at + 4) + shift_us;
        let len = word(at + 8) as usize;
        pcap[at..at + 4].copy_from_slice(&((ts / 1_000_000) as u32).to_le_bytes());
        pcap[at + 4..at + 8].copy_from_slice(&((ts % 1_000_000) as u32).to_le_bytes());
        at += 16 + len;
    }
    pcap
}

fn file(name: &str, bytes: Vec<u8>) -> CaptureFile {
    CaptureFile::from_bytes(name.to_string(), bytes).expect("a capture")
}

fn run(points: Vec<(&str, CaptureFile)>) -> Points {
    let points: Vec<(String, Vec<CaptureFile>)> = points
        .into_iter()
        .map(|(n, f)| (n.to_string(), vec![f]))
        .collect();
    callscope::analyze_points(&points, &callscope::Options::default(), &NoProgress)
}

fn two(scenario: &str, a: &str, b: &str, shift_us: i64) -> Points {
    let fa = format!("{scenario}.{a}.pcap");
    let fb = format!("{scenario}.{b}.pcap");
    run(vec![
        (a, file(&fa, lab(&fa))),
        (b, file(&fb, shifted(lab(&fb), shift_us))),
    ])
}

/// The records of a classic pcap: (header + data) byte ranges after the file header.
fn records(pcap: &[u8]) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut at = 24;
    while at + 16 <= pcap.len() {
        let len = u32::from_le_bytes(pcap[at + 8..at + 12].try_into().unwrap()) as usize;
        out.push(at..at + 16 + len);
        at += 16 + len;
    }
    out
}

/// The pcap with its records chosen and repeated by `pick` (from all the record ranges).
fn rebuilt(
    pcap: &[u8],
    pick: impl Fn(&[std::ops::Range<usize>]) -> Vec<std::ops::Range<usize>>,
) -> Vec<u8> {
    let mut out = pcap[..24].to_vec();
    for r in pick(&records(pcap)) {
        out.extend_from_slice(&pcap[r]);
    }
    out
}

fn codes(p: &Points) -> Vec<&'static str> {
    p.calls
        .iter()
        .flat_map(|c| &c.verdicts)
        .map(|v| v.code)
        .collect()
}

fn only(p: &Points) -> &Verdict {
    let all: Vec<&Verdict> = p.calls.iter().flat_map(|c| &c.verdicts).collect();
    assert_eq!(all.len(), 1, "one verdict: {all:#?}");
    all[0]
}

/// The offset of the second point, checked against the shift within `tolerance_us`.
fn assert_offset(p: &Points, shift_us: i64, tolerance_us: i64) {
    let o = p.points[1].offset.expect("an offset");
    assert!(
        (o.ns - shift_us * 1000).abs() <= tolerance_us * 1000,
        "offset {} ns, shifted by {shift_us} µs",
        o.ns
    );
    assert!(
        o.uncertainty_ns.is_some_and(|u| u <= tolerance_us * 1000),
        "{o:?}"
    );
}

#[test]
fn syns_that_reached_the_application_died_on_its_host() {
    for shift in [0, 3_700_000, -42_000_123] {
        let p = two("points-syn-dropped-at-app", "proxy", "app", shift);
        assert_offset(&p, shift, 2_000);
        assert_eq!(p.pairs[0].hops, Some(1));
        let v = only(&p);
        assert_eq!(v.code, "where.unanswered_past");
        assert!(
            v.summary
                .contains("left 'proxy' (frames 13, 14, 15, 16, 17, 20, 23)"),
            "{}",
            v.summary
        );
        assert!(
            v.summary
                .contains("arrived at 'app' (frames 9, 10, 11, 12, 13, 16, 17)"),
            "{}",
            v.summary
        );
        assert!(v.cause.contains("198.51.100.31 itself"), "{}", v.cause);
        // The SYNs are in the call's packets, seen at both points.
        let call = &p.calls[0];
        assert_eq!(call.at, [Some(0), None]);
        let syns: Vec<_> = call.messages.iter().filter(|m| m.label == "SYN").collect();
        assert_eq!(syns.len(), 7);
        assert!(syns.iter().all(|m| m.seen_at.iter().all(Option::is_some)));
    }
}

#[test]
fn syns_that_never_reached_the_application_died_between_the_points() {
    for shift in [0, -12_300_000] {
        let p = two("points-syn-dropped-on-router", "proxy", "app", shift);
        assert_offset(&p, shift, 2_000);
        let v = only(&p);
        assert_eq!(v.code, "where.lost_between");
        assert!(
            v.summary.contains("the 5 SYNs") && v.summary.contains("none reached 'app'"),
            "{}",
            v.summary
        );
        // The last two SYNs came after the application's capture had its last packet.
        assert!(
            v.summary.contains("2 more after 'app''s last packet"),
            "{}",
            v.summary
        );
        assert!(
            v.cause.contains("network firewall or a route"),
            "{}",
            v.cause
        );
    }
}

#[test]
fn rtp_dropped_on_the_router_left_the_application_and_never_reached_the_edge() {
    let p = two("points-rtp-dropped-on-router", "edge", "app", 2_500_000);
    assert_offset(&p, 2_500_000, 2_000);
    let v = only(&p);
    assert_eq!(v.code, "where.lost_between");
    assert!(
        v.summary
            .starts_with("RTP from 198.51.100.31:20000 to 192.0.2.10:6000 left 'app' (201 packets"),
        "{}",
        v.summary
    );
    assert!(v.summary.contains("none reached 'edge'"), "{}", v.summary);
    let call = &p.calls[0];
    assert_eq!(call.at, [Some(0), Some(0)]);
    let caller = call
        .streams
        .iter()
        .find(|s| s.src.port() == 6000)
        .expect("the caller's RTP");
    assert_eq!(
        (caller.from, caller.to, caller.sent, caller.received),
        (0, 1, 200, 200)
    );
    assert_eq!(caller.hops, Some(1));
    let (min, mean, max) = caller.delay_ns.expect("a delay");
    assert!(
        min <= mean && mean <= max && max < 2_000_000,
        "{min} {mean} {max}"
    );
}

#[test]
fn rtp_the_application_never_sent_is_seen_at_no_point() {
    let p = two("points-rtp-not-sent", "edge", "app", -900_000);
    let v = only(&p);
    assert_eq!(v.code, "where.not_sent");
    assert!(
        v.summary
            .contains("RTP from 198.51.100.31:20000 to 192.0.2.10:6000"),
        "{}",
        v.summary
    );
    assert!(
        v.summary.contains("'app' sees 198.51.100.31 send"),
        "{}",
        v.summary
    );
}

#[test]
fn a_clean_call_has_no_verdict_and_every_packet_crossed() {
    let p = two("points-clean-call", "edge", "app", 0);
    assert!(codes(&p).is_empty(), "{:#?}", p.calls[0].verdicts);
    assert_offset(&p, 0, 1_000);
    let call = &p.calls[0];
    assert_eq!(call.streams.len(), 2);
    assert!(call
        .streams
        .iter()
        .all(|s| s.sent == 150 && s.received == 150));
    // The proxy–application leg is seen at both points, the caller–proxy leg at the edge only.
    let invites: Vec<_> = call
        .messages
        .iter()
        .filter(|m| m.label == "INVITE")
        .collect();
    assert_eq!(invites.len(), 2);
    assert_eq!(invites[0].seen_at, [Some(3), None]);
    assert_eq!(invites[1].seen_at, [Some(9), Some(5)]);
}

#[test]
fn a_translating_router_is_reported_and_its_packets_still_match() {
    let p = two("points-nat-call", "edge", "app", 0);
    assert!(codes(&p).is_empty(), "{:#?}", p.calls[0].verdicts);
    let t = &p.pairs[0].translations;
    assert!(
        t.iter().any(|t| t.a_src.ip().to_string() == "192.0.2.20"
            && t.b_src.ip().to_string() == "198.51.100.1"),
        "{t:?}"
    );
    let invite = p.calls[0]
        .messages
        .iter()
        .filter(|m| m.label == "INVITE")
        .nth(1)
        .unwrap();
    assert_eq!(invite.seen_at, [Some(9), Some(5)]);
}

#[test]
fn captures_of_different_calls_have_nothing_in_common() {
    let a = "points-syn-dropped-at-app.proxy.pcap";
    let b = "points-clean-call.app.pcap";
    let p = run(vec![("proxy", file(a, lab(a))), ("app", file(b, lab(b)))]);
    assert!(p.nothing_in_common());
    assert_eq!(p.points[1].offset, None);
    assert!(codes(&p).is_empty());
    assert_eq!(p.calls.len(), 2);
}

#[test]
fn a_point_that_stopped_early_loses_nothing_after_its_end() {
    let a = "points-clean-call.edge.pcap";
    let b = "points-clean-call.app.pcap";
    let short = rebuilt(&lab(b), |r| r[..100].to_vec());
    let p = run(vec![("edge", file(a, lab(a))), ("app", file(b, short))]);
    assert!(codes(&p).is_empty(), "{:#?}", p.calls[0].verdicts);
    let caller = p.calls[0].streams.iter().find(|s| s.from == 0).unwrap();
    assert!(
        caller.sent < 150 && caller.sent == caller.received,
        "{caller:?}"
    );
}

#[test]
fn duplicates_within_a_point_change_nothing() {
    let a = "points-rtp-dropped-on-router.edge.pcap";
    let b = "points-rtp-dropped-on-router.app.pcap";
    let doubled = rebuilt(&lab(b), |r| {
        r.iter().flat_map(|x| [x.clone(), x.clone()]).collect()
    });
    let p = run(vec![("edge", file(a, lab(a))), ("app", file(b, doubled))]);
    assert!(p.points[1].duplicates >= 400, "{}", p.points[1].duplicates);
    assert_offset(&p, 0, 2_000);
    assert_eq!(only(&p).code, "where.lost_between");
}

/// Hostile timestamps: the same packets at the epoch at one point and at the end of pcap's range at
/// the other, one point empty, one point given twice: reported, never a panic.
#[test]
fn hostile_points_are_reported_without_panic() {
    let records = crate::support::udp_records(20);
    let late: Vec<(i64, Vec<u8>)> = records
        .iter()
        .map(|(ts, p)| {
            (
                ts - 1_700_000_000_000_000_000 + i64::from(u32::MAX) * 1_000_000_000,
                p.clone(),
            )
        })
        .collect();
    let early: Vec<(i64, Vec<u8>)> = records
        .iter()
        .map(|(ts, p)| (ts - 1_700_000_000_000_000_000, p.clone()))
        .collect();
    let pcap = crate::support::pcap;
    let p = run(vec![
        ("a", file("a.pcap", pcap(&early))),
        ("b", file("b.pcap", pcap(&late))),
        ("empty", file("e.pcap", pcap(&[]))),
        ("a-again", file("a2.pcap", pcap(&early))),
    ]);
    assert_eq!(
        p.pairs.iter().map(|x| x.matched).collect::<Vec<_>>(),
        [20, 0, 20, 0, 20, 0]
    );
    let o = p.points[1].offset.expect("an offset");
    assert_eq!(o.ns, i64::from(u32::MAX) * 1_000_000_000);
    assert_eq!(p.points[2].offset, None);
    let mut out = Vec::new();
    callscope::report::points::write_text(&p, &Default::default(), &mut out).unwrap();
    callscope::report::points::write_json(&p, &mut out).unwrap();
    callscope::report::points::write_html(&p, &mut out).unwrap();
    let one = run(vec![("only", file("a.pcap", pcap(&early)))]);
    assert!(one.pairs.is_empty() && !one.nothing_in_common());
}

#[test]
fn acks_dropped_on_the_router_left_the_edge_and_never_reached_the_application() {
    let p = two("points-ack-dropped-on-router", "edge", "app", 7_000_000);
    assert_offset(&p, 7_000_000, 2_000);
    let lost: Vec<&Verdict> = p.calls[0]
        .verdicts
        .iter()
        .filter(|v| v.code == "where.lost_between")
        .collect();
    assert_eq!(lost.len(), 1, "{lost:#?}");
    let v = lost[0];
    assert!(
        v.summary.starts_with(
            "the ACK from 192.0.2.20:5060 to 198.51.100.31:5060, sent 10 times, left 'edge'"
        ),
        "{}",
        v.summary
    );
    assert!(v.summary.contains("never reached 'app'"), "{}", v.summary);
    // Every retransmitted 200 OK of the application reached the edge: nothing lost that way.
    let oks: Vec<_> = p.calls[0]
        .messages
        .iter()
        .filter(|m| {
            m.label == "200 OK" && m.src.port() == 5060 && m.src.ip().to_string() == "198.51.100.31"
        })
        .collect();
    assert!(oks.len() >= 10 && oks.iter().all(|m| m.seen_at.iter().all(Option::is_some)));
    // The application's scenario streams no RTP: said as such, from its own capture.
    assert!(p.calls[0]
        .verdicts
        .iter()
        .any(|v| v.code == "where.not_sent"));
}
