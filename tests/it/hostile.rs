//! Hostile captures, built in memory: each is analysed in bounded memory and time, and the limit that
//! was hit is reported. The limits and their defaults are listed in the README.

use crate::support::{analyze_with, open, pcap, tcp_v4, udp_v4};

const A: [u8; 4] = [192, 0, 2, 1];
const B: [u8; 4] = [192, 0, 2, 2];

fn t(ms: i64) -> i64 {
    1_700_000_000_000_000_000 + ms * 1_000_000
}

/// An IPv4 fragment (more fragments set) with the given id, never completed.
fn fragment(id: u16) -> Vec<u8> {
    let mut p = udp_v4(A, 5060, B, 5060, &[b'x'; 64]);
    // IPv4 header at 14: identification at +4, flags/offset at +6 (MF set, offset 0).
    p[18..20].copy_from_slice(&id.to_be_bytes());
    p[20] = 0x20;
    p
}

#[test]
fn a_flood_of_fragments_that_never_complete() {
    let records: Vec<_> = (0..20_000u32)
        .map(|i| (t(i64::from(i)), fragment(i as u16)))
        .collect();
    let a = analyze_with(&[open(pcap(&records))], 1 << 20, 2);
    let d = &a.captures[0].decode;
    assert_eq!((d.fragments, d.reassembled), (20_000, 0));
    assert!(d.incomplete_fragment_sets > 0);
    assert!(a.captures[0]
        .warnings
        .iter()
        .any(|w| w.message.contains("never completed")));
}

/// An INVITE with its own Call-ID, from `A` to `B`.
fn invite(i: usize) -> Vec<u8> {
    let msg = format!(
        "INVITE sip:x@y SIP/2.0\r\nCall-ID: c{i}\r\nCSeq: 1 INVITE\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:x@y>\r\nContent-Length: 0\r\n\r\n"
    );
    udp_v4(A, 5060, B, 5060, msg.as_bytes())
}

fn with_limits(records: &[(i64, Vec<u8>)], open_call_ids: usize) -> callscope::Analysis {
    let mut options = callscope::Options::default();
    options.limits.dialogs.open_call_ids = open_call_ids;
    callscope::analyze(
        &[open(pcap(records))],
        &options,
        &callscope::pipeline::NoProgress,
    )
}

/// A flood of new Call-IDs beyond the open limit: the extra ones are counted, not correlated, and
/// the call already open keeps its messages.
#[test]
fn more_call_ids_than_the_limit() {
    let n = 1_500;
    let mut records: Vec<_> = (0..n).map(|i| (t(i as i64), invite(i))).collect();
    // A message of the first call after the flood still reaches it.
    records.push((t(n as i64), invite(0)));
    let a = with_limits(&records, 1_000);
    assert_eq!(a.sip.messages, n as u64 + 1);
    assert_eq!(a.sip.untracked, 500);
    assert_eq!(a.calls.len(), 1_000);
    assert_eq!(
        a.calls[0].messages.len(),
        2,
        "the open call kept its messages"
    );
    assert_eq!(a.limits.peak_open_call_ids, 1_000);
}

/// INVITEs nobody answers, without end: each call is finalized by Timer B, so the open state
/// stays at what 32 s of them hold, however long the capture.
#[test]
fn unanswered_invites_without_end_are_finalized_as_they_go() {
    // One every 100 ms for 200 s: 2 000 calls, about 370 open at a time (32 s + the grace window).
    let records: Vec<_> = (0..2_000).map(|i| (t(i as i64 * 100), invite(i))).collect();
    let a = with_limits(&records, 1_000);
    assert_eq!(a.calls.len(), 2_000, "every call correlated");
    assert_eq!(a.sip.untracked, 0);
    assert!(
        a.calls.iter().all(|c| c.state.as_str() == "unanswered"),
        "{:?}",
        a.calls[0].state
    );
    let peak = a.limits.peak_open_call_ids;
    assert!((300..=400).contains(&peak), "peak open {peak}");
}

/// Time going backwards (two captures merged badly): the clock never goes back, the packets are
/// still analysed, and how many were out of order is said.
#[test]
fn time_going_backwards_is_counted() {
    let mut records: Vec<_> = (0..100).map(|i| (t(i as i64 * 100), invite(i))).collect();
    records.extend((100..150).map(|i| (t((i as i64 - 100) * 100), invite(i))));
    let a = with_limits(&records, 1_000);
    assert_eq!(a.calls.len(), 150);
    assert!(a.limits.out_of_order >= 40, "{}", a.limits.out_of_order);
    let mut text = Vec::new();
    callscope::report::text::write(&a, &Default::default(), &mut text).expect("text");
    assert!(String::from_utf8_lossy(&text).contains("older than one before them"));
}

#[test]
fn a_tcp_stream_with_endless_holes() {
    let mut records = vec![(t(0), tcp_v4(A, 5070, B, 5060, 0, true, b""))];
    // A SIP start, then 3000 segments each leaving a 100-byte hole before it.
    records.push((
        t(1),
        tcp_v4(A, 5070, B, 5060, 1, false, b"INVITE sip:x@y SIP/2.0\r\n"),
    ));
    let chunk = [b'a'; 500];
    for i in 0..3000u32 {
        records.push((
            t(2 + i64::from(i)),
            tcp_v4(A, 5070, B, 5060, 1000 + i * 600, false, &chunk),
        ));
    }
    let a = analyze_with(&[open(pcap(&records))], 1 << 20, 2);
    assert!(a.tcp_reassembly.gaps_skipped > 0, "{:?}", a.tcp_reassembly);
    assert!(a.tcp_reassembly.bytes_skipped > 0);
}

#[test]
fn a_sip_message_with_100000_headers_over_tcp() {
    let mut msg = b"INVITE sip:x@y SIP/2.0\r\nCall-ID: many\r\n".to_vec();
    for i in 0..100_000 {
        msg.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
    }
    let mut records = vec![(t(0), tcp_v4(A, 5070, B, 5060, 0, true, b""))];
    for (k, part) in msg.chunks(1400).enumerate() {
        records.push((
            t(1 + k as i64),
            tcp_v4(A, 5070, B, 5060, 1 + (k * 1400) as u32, false, part),
        ));
    }
    let a = analyze_with(&[open(pcap(&records))], 1 << 20, 2);
    assert_eq!(
        a.tcp_reassembly
            .framing_errors
            .get("header-block-too-large"),
        Some(&1)
    );
    assert!(a.calls.is_empty());
}

#[test]
fn a_content_length_of_four_gigabytes() {
    let udp = b"INVITE sip:x@y SIP/2.0\r\nCall-ID: cl\r\nCSeq: 1 INVITE\r\nContent-Length: 4294967296\r\n\r\nv=0\r\n";
    let mut records = vec![(t(0), udp_v4(A, 5060, B, 5060, udp))];
    records.push((t(1), tcp_v4(A, 5070, B, 5060, 0, true, b"")));
    records.push((t(2), tcp_v4(A, 5070, B, 5060, 1, false, udp)));
    let a = analyze_with(&[open(pcap(&records))], 1 << 20, 2);
    // Over UDP the message is used as far as it goes and flagged; over TCP framing refuses it.
    assert_eq!(a.sip.truncated, 1);
    assert_eq!(
        a.tcp_reassembly
            .framing_errors
            .get("content-length-too-large"),
        Some(&1),
        "{:?}",
        a.tcp_reassembly
    );
}

#[test]
fn an_rtp_stream_that_wraps_its_sequence_numbers_three_times() {
    let sdp_invite = "INVITE sip:b@192.0.2.2 SIP/2.0\r\nCall-ID: wrap\r\nCSeq: 1 INVITE\r\nFrom: <sip:a@x>;tag=1\r\n\
                      To: <sip:b@y>\r\nContent-Type: application/sdp\r\nContent-Length: 73\r\n\r\n\
                      v=0\r\no=- 1 1 IN IP4 192.0.2.2\r\ns=-\r\nc=IN IP4 192.0.2.2\r\nm=audio 7000 RTP/AVP 0\r\n";
    let mut records = vec![(t(0), udp_v4(A, 5060, B, 5060, sdp_invite.as_bytes()))];
    let n: u32 = 3 * 65_536 + 10;
    for i in 0..n {
        let mut rtp = vec![0x80, 0x00];
        rtp.extend_from_slice(&((i % 65_536) as u16).to_be_bytes());
        rtp.extend_from_slice(&(i * 160).to_be_bytes());
        rtp.extend_from_slice(&7u32.to_be_bytes());
        rtp.extend_from_slice(&[0xff; 20]);
        records.push((t(1 + i64::from(i) * 20), udp_v4(A, 6000, B, 7000, &rtp)));
    }
    let a = analyze_with(&[open(pcap(&records))], 4 << 20, 2);
    let s = &a.streams[0];
    assert_eq!(s.summary.packets, u64::from(n));
    assert_eq!((s.summary.expected, s.summary.lost), (i64::from(n), 0));
}

#[test]
fn pcapng_blocks_claiming_four_gigabytes() {
    // A section header and interface, then a block whose length fields claim 0xFFFFFFF0 bytes.
    let mut b = Vec::new();
    b.extend_from_slice(&0x0A0D_0D0Au32.to_le_bytes());
    b.extend_from_slice(&28u32.to_le_bytes());
    b.extend_from_slice(&0x1A2B_3C4Du32.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&0u16.to_le_bytes());
    b.extend_from_slice(&(-1i64).to_le_bytes());
    b.extend_from_slice(&28u32.to_le_bytes());
    b.extend_from_slice(&1u32.to_le_bytes());
    b.extend_from_slice(&20u32.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&0u16.to_le_bytes());
    b.extend_from_slice(&0u32.to_le_bytes());
    b.extend_from_slice(&20u32.to_le_bytes());
    b.extend_from_slice(&6u32.to_le_bytes());
    b.extend_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
    b.extend_from_slice(&[0u8; 64]);
    let file = callscope::capture::CaptureFile::from_bytes("huge.pcapng".into(), b)
        .expect("a pcapng header");
    let a = analyze_with(&[file], 1 << 20, 2);
    assert_eq!(a.captures[0].packets, 0);
    assert!(!a.captures[0].warnings.is_empty());
}

/// The records of a lab capture: (time, frame bytes).
fn lab_records(name: &str) -> Vec<(i64, Vec<u8>)> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/lab")
        .join(name);
    let file = callscope::capture::CaptureFile::open(&path).expect("a lab capture");
    let (at, state) = file.first();
    let mut out = Vec::new();
    file.read_chunk(
        at..file.len(),
        callscope::capture::Start::At(at, state),
        &mut |f| out.push((f.ts_ns, f.data.to_vec())),
    );
    out
}

/// One closed web connection: SYN, SYN-ACK, ACK, FIN, FIN (both sides), 1 ms apart from `t`.
fn closed_connection(t: i64, i: u32) -> Vec<(i64, Vec<u8>)> {
    let client = [198, 51, 100, (i % 250) as u8 + 1];
    let port = 10_000 + (i / 250) as u16;
    let server = [203, 0, 113, 1];
    let seg = |from_client: bool, syn: bool, ack: bool, fin: bool| {
        let (src, sport, dst, dport) = if from_client {
            (client, port, server, 443)
        } else {
            (server, 443, client, port)
        };
        let mut b = etherparse::PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
            .ipv4(src, dst, 64)
            .tcp(sport, dport, 1, 65_000);
        if syn {
            b = b.syn();
        }
        if ack {
            b = b.ack(1);
        }
        if fin {
            b = b.fin();
        }
        let mut out = Vec::new();
        b.write(&mut out, &[]).expect("a Vec");
        out
    };
    let packets = [
        seg(true, true, false, false),
        seg(false, true, true, false),
        seg(true, false, true, false),
        seg(true, false, true, true),
        seg(false, false, true, true),
    ];
    packets
        .into_iter()
        .enumerate()
        .map(|(k, p)| (t + k as i64 * 1_000_000, p))
        .collect()
}

/// A frame with no IP in it (an ARP-like EtherType), to hold a frame number.
fn filler() -> Vec<u8> {
    let mut f = vec![0u8; 60];
    f[0..6].copy_from_slice(&[0xff; 6]);
    f[12..14].copy_from_slice(&0x0806u16.to_be_bytes());
    f
}

/// Issue 13's noise case: thousands of unrelated, closed connections before the proxy's failed call
/// (more than the connection table holds at once) leave its diagnosis exactly as alone — the table
/// bounds what is open at a time, and closed connections nothing needs go at once.
#[test]
fn closed_connections_by_the_thousand_do_not_hide_the_proxy_failure() {
    let call = lab_records("tcp-syn-dropped-proxy.pcap");
    let start = call.first().map(|r| r.0).expect("records");
    let n: u32 = 3_000;
    let mut noise = Vec::new();
    for i in 0..n {
        // All before the call, each one closed within 4 ms, a new one every 2 ms.
        noise.extend(closed_connection(
            start - 10_000_000_000 + i64::from(i) * 2_000_000,
            i,
        ));
    }
    let filled: Vec<(i64, Vec<u8>)> = noise.iter().map(|(t, _)| (*t, filler())).collect();
    let analyse = |before: &[(i64, Vec<u8>)]| {
        let mut records = before.to_vec();
        records.extend(call.iter().cloned());
        let mut options = callscope::Options::default();
        options.limits.transport.connections = 1_000;
        callscope::analyze(
            &[open(pcap(&records))],
            &options,
            &callscope::pipeline::NoProgress,
        )
    };
    let alone = analyse(&filled);
    let noisy = analyse(&noise);
    assert_eq!(
        noisy.limits.untracked_tcp_segments, 0,
        "every segment tracked"
    );
    assert_eq!(noisy.calls.len(), 2);
    let first = &noisy.calls[0].findings;
    assert_eq!(first[0].code, "tcp.syn_unanswered", "{first:#?}");
    for (a, b) in alone.calls.iter().zip(&noisy.calls) {
        assert_eq!(a.findings, b.findings, "findings, frames and words");
        assert_eq!(a.evidence, b.evidence);
    }
    let tied = |a: &callscope::Analysis| -> Vec<_> {
        a.transport_events
            .iter()
            .filter(|e| !e.calls.is_empty())
            .cloned()
            .collect()
    };
    assert_eq!(tied(&alone), tied(&noisy));
}
