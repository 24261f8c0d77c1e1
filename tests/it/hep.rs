//! HEP feeds: a capture of what a proxy mirrors to its HEP collector is analysed like a capture taken
//! on the proxy. `hep-feed.pcap` (kamailio siptrace, HEP3, at the collector) and
//! `hep-feed-switch.pcap` (the same traffic on the switch) must give the same calls; the HEPv2 feed on
//! port 9999 needs that port; HEP3 over TCP and fragmented HEP datagrams are unwrapped too.

use std::path::Path;

use callscope::capture::CaptureFile;
use callscope::correlate::calls::Call;
use callscope::{Analysis, Options};

use crate::support;

fn analyze(path: &str, hep_ports: &[u16]) -> Analysis {
    let file = CaptureFile::open(Path::new(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
    let options = Options {
        chunk_size: 1 << 12,
        hep_ports: hep_ports.to_vec(),
        ..Options::default()
    };
    callscope::analyze(&[file], &options, &callscope::pipeline::NoProgress)
}

fn call<'a>(a: &'a Analysis, call_id: &str) -> &'a Call {
    a.calls
        .iter()
        .find(|c| c.call_id == call_id)
        .unwrap_or_else(|| panic!("call {call_id} missing"))
}

/// Each message of `wire` (the switch's view of a call) is in `hep` with the same start line,
/// CSeq, addresses and a capture time within 5 ms (HEP's time is the proxy's, at send or receive).
/// Ports may differ on the proxy's TCP leg: siptrace gives its listening port 5060 as the source of
/// what it sends there, not the connection's ephemeral port.
fn same_messages(hep: &Call, wire: &Call) {
    for w in wire.messages.iter().map(|s| &s.msg) {
        let found = hep.messages.iter().map(|s| &s.msg).find(|h| {
            h.label() == w.label()
                && h.cseq == w.cseq
                && (h.src.ip(), h.dst.ip()) == (w.src.ip(), w.dst.ip())
                && (w.transport.is_connection() || (h.src, h.dst) == (w.src, w.dst))
        });
        let h = found.unwrap_or_else(|| {
            panic!(
                "{} {} {}→{} not in the HEP feed",
                wire.call_id,
                w.label(),
                w.src,
                w.dst
            )
        });
        assert!(
            (h.ts_ns - w.ts_ns).abs() < 5_000_000,
            "{} {}: {} vs {}",
            wire.call_id,
            w.label(),
            h.ts_ns,
            w.ts_ns
        );
    }
}

#[test]
fn a_hep_feed_gives_the_calls_captured_on_the_switch() {
    let hep = analyze("testdata/lab/hep-feed.pcap", &[9060]);
    let wire = analyze("testdata/lab/hep-feed-switch.pcap", &[9060]);
    assert_eq!(hep.calls.len(), 2);
    assert_eq!(wire.calls.len(), 2);
    for w in &wire.calls {
        let h = call(&hep, &w.call_id);
        assert_eq!(
            (
                &h.from,
                &h.to,
                h.state,
                h.final_response.as_ref().map(|f| f.status)
            ),
            (
                &w.from,
                &w.to,
                w.state,
                w.final_response.as_ref().map(|f| f.status)
            ),
            "{}",
            w.call_id
        );
        assert_eq!(
            h.timings.answer_ms.map(|t| t.round()),
            w.timings.answer_ms.map(|t| t.round())
        );
        same_messages(h, w);
    }
    // The feed has one message more: the INVITE the proxy tried to send to app1 over a TCP
    // connection that never came up (siptrace traces the attempt); the wire never carried it.
    let failed = &wire.calls[0];
    assert_eq!(
        call(&hep, &failed.call_id).messages.len(),
        failed.messages.len() + 1
    );
    assert_eq!(
        call(&hep, &wire.calls[1].call_id).messages.len(),
        wire.calls[1].messages.len()
    );
    // The 504 is diagnosed from the feed, which shows the INVITE the proxy tried to send on; the
    // SYNs behind it are only on the wire.
    let timeout = &hep.calls[0].findings[0];
    assert_eq!(timeout.code, "sip.timeout");
    assert!(
        timeout.cause.starts_with("192.0.2.20 sent the INVITE on to 192.0.2.31:5060 (frame 3, TCP) and got no response from it"),
        "{}",
        timeout.cause
    );
    assert_eq!(timeout.frames, [1, 3, 5, 6]);
    assert_eq!(wire.calls[0].findings[0].code, "tcp.syn_unanswered");
    let d = &hep.captures[0].decode;
    assert_eq!(d.hep, 20);
    assert_eq!(d.hep_payloads.get("sip"), Some(&19));
    assert_eq!(d.hep_payloads.get("log"), Some(&1));
    // Frames keep the outer numbering: the feed's 504 is its frame 5.
    assert_eq!(
        call(&hep, &failed.call_id)
            .final_response
            .as_ref()
            .map(|f| f.frame),
        Some(5)
    );
}

#[test]
fn hep2_is_read_on_the_ports_it_is_told() {
    let wire = analyze("testdata/lab/hep2-feed-switch.pcap", &[9060]);
    assert_eq!(wire.calls.len(), 1);
    let without = analyze("testdata/lab/hep2-feed.pcap", &[9060]);
    assert!(without.calls.is_empty());
    assert_eq!(without.captures[0].decode.hep, 0);
    let with = analyze("testdata/lab/hep2-feed.pcap", &[9060, 9999]);
    assert_eq!(with.captures[0].decode.hep, 14);
    let h = call(&with, &wire.calls[0].call_id);
    assert_eq!(h.state, wire.calls[0].state);
    same_messages(h, &wire.calls[0]);
}

/// A HEP3 packet carrying `sip` from 192.0.2.10:5060 to 192.0.2.20:5060 at `ts_s`.
fn hep3(sip: &[u8], ts_s: u32) -> Vec<u8> {
    let chunk = |kind: u16, data: &[u8]| {
        let mut c = vec![0, 0];
        c.extend_from_slice(&kind.to_be_bytes());
        c.extend_from_slice(&(6 + data.len() as u16).to_be_bytes());
        c.extend_from_slice(data);
        c
    };
    let body = [
        chunk(1, &[2]),
        chunk(2, &[17]),
        chunk(3, &[192, 0, 2, 10]),
        chunk(4, &[192, 0, 2, 20]),
        chunk(7, &5060u16.to_be_bytes()),
        chunk(8, &5060u16.to_be_bytes()),
        chunk(9, &ts_s.to_be_bytes()),
        chunk(10, &0u32.to_be_bytes()),
        chunk(11, &[1]),
        chunk(15, sip),
    ]
    .concat();
    let mut p = b"HEP3".to_vec();
    p.extend_from_slice(&(6 + body.len() as u16).to_be_bytes());
    p.extend(body);
    p
}

fn sip(method_or_status: &str, cseq: &str, pad: usize) -> Vec<u8> {
    let start = if method_or_status.starts_with("SIP/2.0") {
        method_or_status.to_string()
    } else {
        format!("{method_or_status} sip:bob@192.0.2.20 SIP/2.0")
    };
    format!(
        "{start}\r\nVia: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK1\r\nFrom: <sip:alice@192.0.2.10>;tag=a\r\nTo: <sip:bob@192.0.2.20>\r\nCall-ID: hep-tcp-1\r\nCSeq: {cseq}\r\nX-Pad: {}\r\nContent-Length: 0\r\n\r\n",
        "p".repeat(pad)
    )
    .into_bytes()
}

#[test]
fn hep3_over_tcp_and_in_fragmented_datagrams_is_unwrapped() {
    const T0: i64 = 1_700_000_000;
    let invite = hep3(&sip("INVITE", "1 INVITE", 0), T0 as u32);
    let trying = hep3(&sip("SIP/2.0 100 Trying", "1 INVITE", 0), T0 as u32 + 1);
    let busy = hep3(
        &sip("SIP/2.0 486 Busy Here", "1 INVITE", 2000),
        T0 as u32 + 2,
    );
    // Two whole packets in one segment, then a packet cut by the segment's end.
    let one = [invite.clone(), trying].concat();
    let cut = &invite[..invite.len() / 2];
    let coll = [192, 0, 2, 40];
    let proxy = [192, 0, 2, 20];
    let mut records = vec![
        (
            T0 * 1_000_000_000,
            support::tcp_v4(proxy, 40000, coll, 9060, 1, false, &one),
        ),
        (
            T0 * 1_000_000_000 + 1_000,
            support::tcp_v4(proxy, 40000, coll, 9060, 1 + one.len() as u32, false, cut),
        ),
    ];
    // The 486 in a UDP datagram of two IP fragments (a HEP packet larger than the MTU).
    let whole = support::udp_v4(proxy, 5060, coll, 9060, &busy);
    let (eth, ip) = whole.split_at(14);
    let (header, data) = ip.split_at(20);
    let half = (data.len() / 2) & !7;
    for (offset, part, more) in [(0, &data[..half], true), (half, &data[half..], false)] {
        let mut h = header.to_vec();
        h[2..4].copy_from_slice(&((20 + part.len()) as u16).to_be_bytes());
        let flags = ((offset / 8) as u16) | if more { 0x2000 } else { 0 };
        h[6..8].copy_from_slice(&flags.to_be_bytes());
        records.push((T0 * 1_000_000_000 + 2_000_000_000, [eth, &h, part].concat()));
    }
    let a = support::analyze_with(&[support::open(support::pcap(&records))], 1 << 20, 1);
    let d = &a.captures[0].decode;
    assert_eq!(
        (
            d.hep,
            d.hep_payloads.get("sip"),
            d.hep_payloads.get("split")
        ),
        (4, Some(&3), Some(&1))
    );
    let c = call(&a, "hep-tcp-1");
    let labels: Vec<String> = c.messages.iter().map(|s| s.msg.label()).collect();
    assert_eq!(labels, ["INVITE", "100 Trying", "486 Busy Here"]);
    // HEP's time and addresses, the outer frame's number.
    let m = &c.messages[1].msg;
    assert_eq!((m.ts_ns, m.frame), ((T0 + 1) * 1_000_000_000, 1));
    assert_eq!(m.src.to_string(), "192.0.2.10:5060");
    assert_eq!(c.messages[2].msg.frame, 4);
}

#[test]
fn damaged_hep_is_counted_not_read() {
    const T0: i64 = 1_700_000_000;
    let good = hep3(&sip("INVITE", "1 INVITE", 0), T0 as u32);
    let mut bad_chunk = good.clone();
    // The first chunk claims more bytes than the packet holds.
    bad_chunk[6 + 4..6 + 6].copy_from_slice(&4000u16.to_be_bytes());
    let (a, b) = ([192, 0, 2, 20], [192, 0, 2, 40]);
    let records = vec![
        (
            T0 * 1_000_000_000,
            support::udp_v4(a, 5060, b, 9060, &bad_chunk),
        ),
        // A HEP1/2-looking first byte on the HEP port that is not HEP: classified as usual.
        (
            T0 * 1_000_000_000 + 1,
            support::udp_v4(a, 5060, b, 9060, &[2, 0, 0, 0, 1, 2]),
        ),
    ];
    let analysis = support::analyze_with(&[support::open(support::pcap(&records))], 1 << 20, 1);
    let d = &analysis.captures[0].decode;
    assert_eq!((d.hep, d.hep_payloads.get("malformed")), (1, Some(&1)));
    assert!(analysis.calls.is_empty());
    assert_eq!(d.udp, 2);
}
