//! Per-call extraction on recorded lab captures: the extract holds exactly the call's frames, shows the
//! same call (state, findings, stream figures) when analysed again, and tshark reads it.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use callscope::capture::write::PcapWriter;
use callscope::capture::CaptureFile;
use callscope::export::extract::{call_packets, ExtractStats};
use callscope::Analysis;

use crate::support;

fn lab(name: &str) -> CaptureFile {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/lab")
        .join(name);
    CaptureFile::open(&path).expect("a lab capture")
}

fn analyze(files: &[CaptureFile]) -> Analysis {
    support::analyze_with(files, 64 << 10, 2)
}

fn extract(a: &Analysis, call: usize, files: &[CaptureFile]) -> (Vec<u8>, ExtractStats) {
    let mut out = Vec::new();
    let stats = call_packets(a, call, files, None, &mut out).expect("extraction works");
    (out, stats)
}

/// Frames of the call's SIP messages.
fn sip_frames(a: &Analysis, call: usize) -> BTreeSet<u64> {
    a.calls[call]
        .messages
        .iter()
        .flat_map(|s| s.msg.frames.iter().copied())
        .collect()
}

/// The call's signalling and transport evidence, as its ladder shows it.
fn evidence_frames(a: &Analysis, call: usize) -> BTreeSet<u64> {
    a.calls[call]
        .evidence
        .frames(&a.calls[call])
        .into_iter()
        .collect()
}

/// Findings as (code, severity) pairs.
fn codes(a: &Analysis, call: usize) -> Vec<(&'static str, &'static str)> {
    a.calls
        .get(call)
        .map(|c| {
            c.findings
                .iter()
                .map(|f| (f.code, f.severity.as_str()))
                .collect()
        })
        .unwrap_or_default()
}

/// The re-analysed extract shows the same call with the same findings and stream figures.
fn assert_same_call(orig: &Analysis, call: usize, again: &Analysis) {
    let c = &orig.calls[call];
    assert_eq!(
        again.calls.len(),
        1,
        "call {}: one call in the extract",
        call + 1
    );
    let d = &again.calls[0];
    assert_eq!(d.call_id, c.call_id);
    assert_eq!(
        (
            d.state,
            &d.final_response.as_ref().map(|f| (f.status, &f.reason))
        ),
        (
            c.state,
            &c.final_response.as_ref().map(|f| (f.status, &f.reason))
        )
    );
    assert_eq!(d.messages.len(), c.messages.len(), "{}", c.call_id);
    assert_eq!(d.resent(), c.resent());
    assert_eq!(
        (d.caller, d.callee, &d.from, &d.to),
        (c.caller, c.callee, &c.from, &c.to)
    );
    assert_eq!(d.timings, c.timings);
    assert_eq!(
        codes(again, 0),
        codes(orig, call),
        "{}: findings",
        c.call_id
    );
    let figures = |a: &Analysis, i: usize| {
        let mut v: Vec<_> = a
            .streams
            .iter()
            .filter(|s| s.call == Some(i))
            .map(|s| {
                let m = &s.summary;
                (
                    s.src,
                    s.dst,
                    s.ssrc,
                    m.packets,
                    m.expected,
                    m.lost,
                    m.sequence_errors,
                    format!(
                        "{:.6} {:.6} {:.6} {:.6}",
                        m.max_delta_ms, m.mean_jitter_ms, m.max_jitter_ms, m.max_gap_ms
                    ),
                )
            })
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        figures(again, 0),
        figures(orig, call),
        "{}: streams",
        c.call_id
    );
}

/// Extracts every call of a capture and checks frames, re-analysis and tshark.
fn check_capture(name: &str) -> Vec<ExtractStats> {
    let files = vec![lab(name)];
    let a = analyze(&files);
    assert!(!a.calls.is_empty(), "{name} has calls");
    let mut all = Vec::new();
    for call in 0..a.calls.len() {
        let (pcap, stats) = extract(&a, call, &files);
        let frames: BTreeSet<u64> = stats.frames.iter().copied().collect();
        assert_eq!(frames.len(), stats.frames.len(), "no frame twice");
        let sip = sip_frames(&a, call);
        let known = evidence_frames(&a, call);
        assert!(
            sip.is_subset(&known),
            "{name} call {}: SIP frames are evidence",
            call + 1
        );
        assert!(
            known.is_subset(&frames),
            "{name} call {}: the evidence frames",
            call + 1
        );
        // No SIP frame of another call.
        for other in (0..a.calls.len()).filter(|&o| o != call) {
            let theirs = sip_frames(&a, other);
            assert!(
                theirs.is_disjoint(&frames),
                "{name} call {} holds SIP of call {}",
                call + 1,
                other + 1
            );
        }
        // Exactly: the evidence (SIP, TCP, ICMP) and the packets of its RTP streams, nothing else.
        let rtp: u64 = a.calls[call]
            .evidence
            .streams
            .iter()
            .filter(|s| s.call == Some(call))
            .map(|s| s.summary.packets)
            .sum();
        assert_eq!(
            frames.len() as u64,
            known.len() as u64 + rtp,
            "{name} call {}: evidence {} + RTP {rtp}",
            call + 1,
            known.len(),
        );
        let again = analyze(
            &[CaptureFile::from_bytes("extract.pcap".into(), pcap.clone())
                .expect("the extract is a capture")],
        );
        assert_eq!(again.packets(), frames.len() as u64);
        assert_same_call(&a, call, &again);
        tshark_sees(&pcap, a.calls[call].messages.len() as u64, name);
        all.push(stats);
    }
    all
}

/// Whether tshark is there; without it the check is skipped, except in CI where it must run.
fn tshark_available() -> bool {
    let found = Command::new("tshark").arg("--version").output().is_ok();
    if !found {
        support::optional::skip(
            "reading an extract with tshark",
            "tshark is not installed (apt-get install tshark)",
        );
    }
    found
}

/// tshark reads the pcap and counts this many SIP messages.
fn tshark_sees(pcap: &[u8], messages: u64, what: &str) {
    if !tshark_available() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("callscope-extract-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temp dir");
    let path = dir.join(format!("{}-{messages}.pcap", what.replace('/', "_")));
    std::fs::write(&path, pcap).expect("write the extract");
    let out = Command::new("tshark")
        .arg("-r")
        .arg(&path)
        .args(["-q", "-z", "sip,stat"])
        .output()
        .expect("tshark runs");
    let _ = std::fs::remove_file(&path);
    assert!(
        out.status.success(),
        "tshark failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let n = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Number of SIP messages:"))
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(0);
    assert_eq!(n, messages, "{what}: tshark sip,stat\n{text}");
}

#[test]
fn each_call_of_the_proxy_capture_is_extracted_exactly() {
    let stats = check_capture("tcp-syn-dropped-proxy.pcap");
    // Stored expectation (tshark -r testdata/lab/tcp-syn-dropped-proxy.pcap): call 1 is the INVITE,
    // 100, 504, ACK on UDP (frames 3, 4, 16, 17) plus the proxy's SYNs to app1 (frames 7-11, 14, 15),
    // which the diagnosis ties to it; call 2 adds the TCP handshake to app2 (22, 23), 14 SIP frames
    // and 301 RTP packets.
    assert_eq!(stats[0].frames, [3, 4, 7, 8, 9, 10, 11, 14, 15, 16, 17]);
    assert_eq!(stats[1].frames.len(), 2 + 14 + 301);
    assert!(stats[1].frames.starts_with(&[18, 19, 22, 23, 24]));
    assert_eq!(stats[1].link_type, 1);
    assert!(!stats[1].nanos);
}

#[test]
fn each_call_of_the_outcomes_capture_is_extracted_exactly() {
    let stats = check_capture("sip-udp-outcomes.pcap");
    assert_eq!(stats.len(), 4);
    // The answered call: 7 SIP frames and 101 RTP packets each way; the others only their SIP.
    assert_eq!(stats[0].frames.len(), 7 + 202);
    assert_eq!(stats[1].frames, [212, 213, 214, 217, 218]);
    assert_eq!(stats[2].frames, [219, 220, 221, 222, 223, 224, 225]);
    assert_eq!(stats[3].frames, [226, 227, 228, 229, 230, 231, 232]);
}

#[test]
fn each_call_of_the_tcp_capture_is_extracted_exactly() {
    let stats = check_capture("sip-tcp-call.pcap");
    // SYN and SYN-ACK (frames 3, 4; the handshake's ACK is not evidence), 7 SIP frames, 301 RTP
    // packets; the connection was never closed in the capture.
    assert!(
        stats[0].frames.starts_with(&[3, 4, 6]),
        "{:?}",
        &stats[0].frames[..8]
    );
    assert_eq!(stats[0].frames.len(), 2 + 7 + 301);
}

#[test]
fn icmp_errors_quoting_the_call_come_along() {
    let files = vec![lab("udp-icmp-unreachable.pcap")];
    let a = analyze(&files);
    assert_eq!(a.calls.len(), 1);
    let (_, stats) = extract(&a, 0, &files);
    assert!(!a.icmp_errors.is_empty());
    for e in &a.icmp_errors {
        assert!(stats.frames.contains(&e.frame), "ICMP frame {}", e.frame);
    }
}

#[test]
fn frames_are_numbered_across_merged_files() {
    // Given in the reverse of their time order: the analysis merges them by first timestamp.
    let files = vec![
        lab("tcp-syn-dropped-proxy.pcap"),
        lab("sip-udp-outcomes.pcap"),
    ];
    let a = analyze(&files);
    assert_eq!(a.calls.len(), 6);
    for call in 0..a.calls.len() {
        let (pcap, stats) = extract(&a, call, &files);
        assert!(sip_frames(&a, call)
            .iter()
            .all(|f| stats.frames.contains(f)));
        let again = analyze(&[CaptureFile::from_bytes("x.pcap".into(), pcap).expect("a capture")]);
        assert_same_call(&a, call, &again);
    }
}

#[test]
fn missing_files_and_mixed_link_types_are_errors() {
    let files = vec![lab("sip-udp-outcomes.pcap")];
    let a = analyze(&files);
    let err = call_packets(&a, 0, &[], None, Vec::new()).expect_err("no files");
    assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    let err = call_packets(&a, 99, &files, None, Vec::new()).expect_err("no call 100");
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);

    // One call whose INVITE is on Ethernet and whose response is raw IP, in two files.
    let invite = b"INVITE sip:bob@192.0.2.2 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1\r\nFrom: <sip:alice@192.0.2.1>;tag=1\r\nTo: <sip:bob@192.0.2.2>\r\nCall-ID: mixed@192.0.2.1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";
    let ok = b"SIP/2.0 486 Busy Here\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1\r\nFrom: <sip:alice@192.0.2.1>;tag=1\r\nTo: <sip:bob@192.0.2.2>;tag=2\r\nCall-ID: mixed@192.0.2.1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";
    let t0 = 1_700_000_000_000_000_000;
    let eth = support::pcap(&[(
        t0,
        support::udp_v4([192, 0, 2, 1], 5060, [192, 0, 2, 2], 5060, invite),
    )]);
    let response = support::udp_v4([192, 0, 2, 2], 5060, [192, 0, 2, 1], 5060, ok);
    let mut w = PcapWriter::new(Vec::new(), 101, false).expect("a Vec");
    w.write(
        t0 + 1_000_000,
        &response[14..],
        (response.len() - 14) as u32,
    )
    .expect("a Vec");
    let raw = w.finish().expect("a Vec");
    let files = vec![
        CaptureFile::from_bytes("eth.pcap".into(), eth).expect("a capture"),
        CaptureFile::from_bytes("raw.pcap".into(), raw).expect("a capture"),
    ];
    let a = analyze(&files);
    assert_eq!(a.calls.len(), 1);
    let err = call_packets(&a, 0, &files, None, Vec::new()).expect_err("two link types");
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("link types"), "{err}");
}

#[test]
fn transport_events_bring_their_connection_attempts() {
    let files = vec![lab("tcp-syn-dropped-proxy.pcap")];
    let a = analyze(&files);
    // The proxy's unanswered SYNs to app1 (frames 7-11, 14, 15) explain call 1's 504, and the
    // diagnosis ties them to it: that is what brings them into the extract.
    assert!(
        a.transport_events
            .iter()
            .any(|e| e.code == "tcp.syn_unanswered" && e.calls == [0]),
        "{:#?}",
        a.transport_events
    );
    let (pcap, stats) = extract(&a, 0, &files);
    assert_eq!(stats.frames, [3, 4, 7, 8, 9, 10, 11, 14, 15, 16, 17]);
    let again = analyze(&[CaptureFile::from_bytes("x.pcap".into(), pcap).expect("a capture")]);
    assert_eq!(again.connections.len(), 1);
    assert_eq!(again.connections[0].syn_count, 7);
}

/// The frames a call's HTML ladder shows (its rows' `frame N · …` titles).
fn ladder_frames(page: &str, call: usize) -> BTreeSet<u64> {
    let start = page
        .find(&format!("id=\"call-{}\"", call + 1))
        .expect("the call's section");
    let end = page[start..]
        .find("</section>")
        .map_or(page.len(), |e| start + e);
    // `frame N · …`, or `frames A, B · …` for a message its IP fragments carried.
    page[start..end]
        .match_indices("<title>frame")
        .flat_map(|(i, m)| {
            let rest = &page[start + i + m.len()..end];
            let rest = rest.strip_prefix('s').unwrap_or(rest);
            let list = rest.split(" · ").next().unwrap_or("");
            list.split(", ")
                .filter_map(|n| n.trim().parse().ok())
                .collect::<Vec<u64>>()
        })
        .collect()
}

/// The ladder and the extract show the same signalling and transport packets, for every call of
/// every lab capture: both read the call's evidence.
#[test]
fn the_ladder_and_the_extract_show_the_same_packets() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/lab");
    let mut checked = 0;
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .expect("testdata/lab")
        .map(|e| {
            e.expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|n| n.ends_with(".pcap"))
        .collect();
    names.sort();
    for name in names {
        let files = vec![lab(&name)];
        let a = analyze(&files);
        let mut page = Vec::new();
        callscope::report::html::write(&a, &mut page).expect("the page");
        let page = String::from_utf8(page).expect("UTF-8");
        for call in 0..a.calls.len() {
            let shown = ladder_frames(&page, call);
            let (_, stats) = extract(&a, call, &files);
            let extracted: BTreeSet<u64> = stats.frames.iter().copied().collect();
            assert_eq!(
                shown,
                evidence_frames(&a, call),
                "{name} call {}: ladder",
                call + 1
            );
            assert!(
                shown.is_subset(&extracted),
                "{name} call {}: extract",
                call + 1
            );
            checked += 1;
        }
    }
    assert!(checked >= 16, "only {checked} calls");
}
