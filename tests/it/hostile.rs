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

#[test]
fn more_call_ids_than_the_limit() {
    let n = callscope::correlate::dialogs::Limits::default().open_call_ids + 5_000;
    let records: Vec<_> = (0..n)
        .map(|i| {
            let msg = format!("OPTIONS sip:x@y SIP/2.0\r\nCall-ID: c{i}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n");
            (t(i as i64), udp_v4(A, 5060, B, 5060, msg.as_bytes()))
        })
        .collect();
    let a = analyze_with(&[open(pcap(&records))], 4 << 20, 2);
    assert_eq!(a.sip.messages, n as u64);
    assert_eq!(a.sip.untracked, 5_000);
    assert_eq!(
        a.other_dialogs.len(),
        callscope::correlate::dialogs::Limits::default().open_call_ids
    );
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
