//! SIP as tshark sees it, SIP over TCP reassembly, and malformed SIP reported without stopping the
//! analysis.

use std::collections::BTreeMap;
use std::path::Path;

use callscope::capture::{CaptureFile, OpenError};
use callscope::correlate::calls::State;

use crate::support;
use crate::support::{analyze_with, open, pcap, tcp_v4, udp_v4};

/// tshark's `-z sip,stat` figures, parsed from its text output.
struct SipStat {
    messages: u64,
    resent: u64,
    responses: BTreeMap<u16, u64>,
    requests: BTreeMap<String, u64>,
}

fn parse_sip_stat(text: &str) -> SipStat {
    let number = |label: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(label))
            .and_then(|v| v.trim().parse().ok())
            .expect("a count in tshark's output")
    };
    let mut responses = BTreeMap::new();
    let mut requests = BTreeMap::new();
    for line in text.lines() {
        let Some((name, count)) = line.split_once(':') else {
            continue;
        };
        let Some(count) = count
            .trim()
            .strip_suffix("Packets")
            .and_then(|c| c.trim().parse::<u64>().ok())
        else {
            continue;
        };
        let name = name.trim();
        if let Some(rest) = name.strip_prefix("SIP ") {
            let code = rest
                .split_whitespace()
                .next()
                .and_then(|c| c.parse().ok())
                .expect("a status code");
            responses.insert(code, count);
        } else {
            requests.insert(name.to_string(), count);
        }
    }
    SipStat {
        messages: number("Number of SIP messages:"),
        resent: number("Number of resent SIP messages:"),
        responses,
        requests,
    }
}

/// Every capture with SIP gives the same message, retransmission, method and status counts as
/// `tshark -q -z sip,stat` (stored in testdata/expected/sip_stat/, named after the capture path with
/// `/` replaced by `__`). The public captures are compared when they are beside the repository
/// (always in CI, see `support::optional`).
#[test]
fn sip_counts_equal_tshark_sip_stat() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let outputs = support::expected::outputs("sip_stat", |path| {
        format!("{}.txt", path.replace('/', "__"))
    });
    let mut checked = 0;
    let mut failures = Vec::new();
    for (path, expected) in support::optional::available(
        outputs,
        |(path, _)| path,
        "captures compared with tshark's SIP counts",
    ) {
        let file = match CaptureFile::open(&root.join(&path)) {
            Ok(file) => file,
            // tshark reads Sniffer and NetMon 1.x files; callscope refuses them by name (real_captures).
            Err(OpenError::Unsupported(_)) => continue,
            Err(err) => panic!("{path}: {err}"),
        };
        let want = parse_sip_stat(&std::fs::read_to_string(&expected).expect("tshark's output"));
        let a = analyze_with(std::slice::from_ref(&file), 1 << 16, 2);
        let got = (
            a.sip.messages,
            a.sip.resent,
            &a.sip.responses.iter().map(|(s, n)| (s.0, *n)).collect(),
            &a.sip.requests,
        );
        if got != (want.messages, want.resent, &want.responses, &want.requests) {
            failures.push(format!(
                "{path}: tshark {} msgs {} resent {:?} {:?}; callscope {got:?}",
                want.messages, want.resent, want.responses, want.requests
            ));
        }
        checked += 1;
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(checked >= 19, "only {checked} captures compared");
}

const A: [u8; 4] = [192, 0, 2, 1];
const B: [u8; 4] = [192, 0, 2, 2];

fn invite(call_id: &str) -> Vec<u8> {
    let sdp = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\n";
    format!(
        "INVITE sip:bob@192.0.2.2 SIP/2.0\r\nVia: SIP/2.0/TCP 192.0.2.1:5070;branch=z9hG4bK1\r\n\
         From: <sip:alice@192.0.2.1>;tag=a1\r\nTo: <sip:bob@192.0.2.2>\r\nCall-ID: {call_id}\r\nCSeq: 1 INVITE\r\n\
         Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
        sdp.len()
    )
    .into_bytes()
}

fn response(call_id: &str, status: &str, cseq: &str) -> Vec<u8> {
    format!(
        "SIP/2.0 {status}\r\nVia: SIP/2.0/TCP 192.0.2.1:5070;branch=z9hG4bK1\r\nFrom: <sip:alice@192.0.2.1>;tag=a1\r\n\
         To: <sip:bob@192.0.2.2>;tag=b1\r\nCall-ID: {call_id}\r\nCSeq: {cseq}\r\nContent-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

/// SIP over TCP with everything reassembly must get right: a message split over three segments, a
/// retransmitted segment, segments out of order, and two messages in one segment.
#[test]
fn sip_over_tcp_is_reassembled() {
    let inv = invite("tcp-1");
    let (trying, ok) = (
        response("tcp-1", "100 Trying", "1 INVITE"),
        response("tcp-1", "200 OK", "1 INVITE"),
    );
    let both = [trying.clone(), ok.clone()].concat();
    let t = |ms: i64| 1_700_000_000_000_000_000 + ms * 1_000_000;
    let (a_isn, b_isn) = (1000u32, 5000u32);
    let (p1, p2) = (40, 120);
    let records = vec![
        (t(0), tcp_v4(A, 5070, B, 5060, a_isn, true, b"")),
        (t(1), tcp_v4(B, 5060, A, 5070, b_isn, true, b"")),
        // The INVITE in three segments, the third before the second, the first sent twice.
        (t(2), tcp_v4(A, 5070, B, 5060, a_isn + 1, false, &inv[..p1])),
        (
            t(3),
            tcp_v4(A, 5070, B, 5060, a_isn + 1 + p2 as u32, false, &inv[p2..]),
        ),
        (t(4), tcp_v4(A, 5070, B, 5060, a_isn + 1, false, &inv[..p1])),
        (
            t(5),
            tcp_v4(A, 5070, B, 5060, a_isn + 1 + p1 as u32, false, &inv[p1..p2]),
        ),
        // 100 Trying and 200 OK in one segment.
        (t(10), tcp_v4(B, 5060, A, 5070, b_isn + 1, false, &both)),
    ];
    let files = [open(pcap(&records))];
    for chunk in [64, 1 << 20] {
        let a = analyze_with(&files, chunk, 2);
        assert_eq!(a.sip.messages, 3, "chunk {chunk}");
        assert_eq!(a.calls.len(), 1);
        let call = &a.calls[0];
        let frames: Vec<Vec<u64>> = call.messages.iter().map(|s| s.msg.frames.clone()).collect();
        assert_eq!(
            frames,
            vec![vec![3, 6, 4], vec![7], vec![7]],
            "chunk {chunk}"
        );
        assert_eq!(call.state, State::Answered);
        assert_eq!(call.transport.as_str(), "tcp");
        let sdp = call.messages[0].msg.sdp.as_ref().expect("the INVITE's SDP");
        assert_eq!(sdp[0].port, 6000);
        assert!(a.tcp_reassembly.retransmitted >= 1);
    }
}

/// Malformed SIP is counted by reason and shown; the good messages around it still make their call.
#[test]
fn malformed_sip_is_counted_and_the_rest_analysed() {
    let t = |ms: i64| 1_700_000_000_000_000_000 + ms * 1_000_000;
    let good = invite("good-1");
    let mut short_body = invite("short-1");
    short_body.truncate(short_body.len() - 10);
    let records = vec![
        (
            t(0),
            udp_v4(
                A,
                5060,
                B,
                5060,
                b"INVITE sip:x@y SIP/2.0\r\nthis line has no colon\r\n\r\n",
            ),
        ),
        (
            t(1),
            udp_v4(A, 5060, B, 5060, b"SIP/2.0 999999 Nope\r\n\r\n"),
        ),
        (
            t(2),
            udp_v4(
                A,
                5060,
                B,
                5060,
                &[0x16, 0x03, 0x01, 0x00, 0xff, 0x01, 0xde, 0xad],
            ),
        ),
        (t(3), udp_v4(A, 5060, B, 5060, &short_body)),
        (t(4), udp_v4(A, 5060, B, 5060, &good)),
        (
            t(5),
            udp_v4(
                B,
                5060,
                A,
                5060,
                &response("good-1", "486 Busy Here", "1 INVITE"),
            ),
        ),
    ];
    let a = analyze_with(&[open(pcap(&records))], 1 << 20, 1);
    // Not SIP at all (a bad status code, binary bytes): not counted as SIP.
    assert_eq!(
        a.sip_malformed.get("header-without-colon"),
        Some(&1),
        "{:?}",
        a.sip_malformed
    );
    assert_eq!(
        a.sip_malformed.values().sum::<u64>(),
        1,
        "{:?}",
        a.sip_malformed
    );
    // Content-Length beyond the datagram: used as far as it goes, and counted.
    assert_eq!((a.sip.messages, a.sip.truncated), (3, 1));
    assert_eq!(a.calls.len(), 2, "{:?}", a.sip_malformed);
    assert_eq!(a.calls[0].call_id, "short-1");
    assert_eq!(a.calls[1].state, State::Rejected);
    assert_eq!(
        a.calls[1].final_response.as_ref().map(|f| f.status.0),
        Some(486)
    );
}

/// A 10 MB header block over TCP is refused at the framing limit, in bounded memory, and a call on
/// another connection is still found.
#[test]
fn a_ten_megabyte_header_block_over_tcp_is_refused() {
    let t = |ms: i64| 1_700_000_000_000_000_000 + ms * 1_000_000;
    let mut records = vec![(t(0), tcp_v4(A, 5070, B, 5060, 99, true, b""))];
    let start = b"INVITE sip:x@y SIP/2.0\r\nCall-ID: huge\r\n";
    records.push((t(1), tcp_v4(A, 5070, B, 5060, 100, false, start)));
    let filler =
        b"X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n"
            .repeat(16);
    let mut seq = 100 + start.len() as u32;
    for i in 0..(10_000_000 / filler.len()) {
        records.push((
            t(2 + i as i64),
            tcp_v4(A, 5070, B, 5060, seq, false, &filler),
        ));
        seq += filler.len() as u32;
    }
    records.push((t(99_999), udp_v4(A, 5060, B, 5060, &invite("after-1"))));
    let a = analyze_with(&[open(pcap(&records))], 4 << 20, 2);
    let errors = &a.tcp_reassembly.framing_errors;
    assert_eq!(errors.get("header-block-too-large"), Some(&1), "{errors:?}");
    assert_eq!(
        errors.values().sum::<u64>(),
        1,
        "one error for the damaged stretch: {errors:?}"
    );
    assert!(a.tcp_reassembly.bytes_skipped > 64 * 1024);
    assert_eq!(a.calls.len(), 1);
    assert_eq!(a.calls[0].call_id, "after-1");
}

/// The recorded outcomes capture (sipp in network namespaces, see testdata/lab/README.md): a normal
/// call, a 486, a cancelled call and an INVITE nobody answers, each with its state, status and timings.
#[test]
fn recorded_call_outcomes() {
    let file = CaptureFile::open(Path::new("testdata/lab/sip-udp-outcomes.pcap"))
        .expect("the lab capture");
    let a = analyze_with(&[file], 1 << 20, 2);
    let summary: Vec<(State, Option<u16>)> = a
        .calls
        .iter()
        .map(|c| (c.state, c.final_response.as_ref().map(|f| f.status.0)))
        .collect();
    assert_eq!(
        summary,
        vec![
            (State::Answered, Some(200)),
            (State::Rejected, Some(486)),
            (State::Cancelled, Some(487)),
            (State::Unanswered, None),
        ]
    );
    let [normal, busy, cancelled, unanswered] = &a.calls[..] else {
        unreachable!()
    };
    // Normal: 180 before the 200, ACK right after it, BYE two seconds later from the caller.
    let t = normal.timings;
    assert!(t.pdd_ms.expect("a 180") < t.answer_ms.expect("a 200"));
    assert!(t.ack_ms.expect("an ACK") >= t.answer_ms.expect("a 200"));
    assert!(
        (t.duration_ms.expect("a BYE") - 2000.0).abs() < 100.0,
        "{t:?}"
    );
    assert_eq!(normal.ended_by.map(|e| e.as_str()), Some("caller"));
    assert!(busy.timings.final_ms.is_some() && busy.timings.answer_ms.is_none());
    assert_eq!(cancelled.ended_by.map(|e| e.as_str()), Some("caller"));
    // Unanswered: the INVITE sent 7 times over Timer B (RFC 3261 17.1.1.2: 0, 0.5, 1.5 ... 31.5 s).
    let invites: Vec<i64> = unanswered.messages.iter().map(|s| s.msg.ts_ns).collect();
    assert_eq!(invites.len(), 7);
    assert_eq!(unanswered.resent(), 6);
    let span_s = (invites[6] - invites[0]) as f64 / 1e9;
    assert!((span_s - 31.5).abs() < 0.5, "{span_s}");
}
