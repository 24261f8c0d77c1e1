//! Redaction on recorded lab captures: a redacted JSON report and a redacted pcap (extract or whole
//! capture) hold none of the original addresses, user parts, display names or numbers, and analysing
//! the redacted pcap finds the same calls, states and findings, named as the redacted report names them.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::Path;
use std::process::Command;

use callscope::capture::write::PcapWriter;
use callscope::capture::{CaptureFile, OpenError, Start};
use callscope::export::extract::call_packets;
use callscope::export::redact::Redactor;
use callscope::Analysis;

use crate::support;

const CAPTURES: [&str; 4] = [
    "tcp-syn-dropped-proxy.pcap",
    "sip-udp-outcomes.pcap",
    "sip-tcp-call.pcap",
    "udp-icmp-unreachable.pcap",
];

fn lab(name: &str) -> CaptureFile {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/lab")
        .join(name);
    CaptureFile::open(&path).expect("a lab capture")
}

fn analyze(files: &[CaptureFile]) -> Analysis {
    support::analyze_with(files, 64 << 10, 2)
}

/// What must not survive redaction: addresses, URI user parts, display names.
struct Originals {
    ips: BTreeSet<IpAddr>,
    users: BTreeSet<String>,
    names: BTreeSet<String>,
    /// Words of the findings' text outside URIs (callscope's prose).
    prose: BTreeSet<String>,
}

fn user_of(uri: &str) -> Option<String> {
    let rest = uri.split_once(':')?.1;
    let (user, _) = rest.split_once('@')?;
    Some(user.split(':').next()?.to_string())
}

fn originals(a: &Analysis) -> Originals {
    let mut o = Originals {
        ips: BTreeSet::new(),
        users: BTreeSet::new(),
        names: BTreeSet::new(),
        prose: BTreeSet::new(),
    };
    for f in a.calls.iter().flat_map(|c| &c.findings) {
        for text in [&f.summary, &f.cause] {
            o.prose.extend(
                text.split_whitespace()
                    .filter(|w| !w.contains('@') && !w.contains("sip:") && !w.contains("tel:"))
                    .flat_map(|w| w.split(|c: char| !c.is_ascii_alphanumeric()))
                    .map(str::to_string),
            );
        }
    }
    for c in &a.calls {
        for s in &c.messages {
            let m = &s.msg;
            o.ips.extend([m.src.ip(), m.dst.ip()]);
            let mut uris = vec![m.from_uri.to_string(), m.to_uri.to_string()];
            uris.extend(m.contact.as_deref().map(str::to_string));
            if let callscope::correlate::message::Kind::Request { uri, .. } = &m.kind {
                uris.push(uri.to_string());
            }
            o.users.extend(uris.iter().filter_map(|u| user_of(u)));
            o.names
                .extend(m.from_display.as_deref().map(str::to_string));
        }
    }
    for s in &a.streams {
        o.ips.extend([s.src.ip(), s.dst.ip()]);
    }
    for c in &a.connections {
        o.ips.extend([c.client.ip(), c.server.ip()]);
    }
    assert!(!o.ips.is_empty() && !o.users.is_empty());
    o
}

/// Whether `needle` occurs in `hay` as a whole token (not inside a longer word or number).
fn has_token(hay: &[u8], needle: &[u8]) -> bool {
    let word = |c: u8| c.is_ascii_alphanumeric();
    hay.windows(needle.len()).enumerate().any(|(i, w)| {
        w == needle
            && (i == 0 || !word(hay[i - 1]) && hay[i - 1] != b'.')
            && !hay.get(i + needle.len()).is_some_and(|&c| {
                word(c)
                    || (c == b'.'
                        && hay
                            .get(i + needle.len() + 1)
                            .is_some_and(|d| d.is_ascii_digit()))
            })
    })
}

/// Asserts that none of the originals appear in `bytes` (as text; addresses also in binary).
fn assert_clean(bytes: &[u8], o: &Originals, what: &str) {
    for ip in &o.ips {
        assert!(
            !has_token(bytes, ip.to_string().as_bytes()),
            "{what}: {ip} as text"
        );
        let binary = match ip {
            IpAddr::V4(v4) => v4.octets().to_vec(),
            IpAddr::V6(v6) => v6.octets().to_vec(),
        };
        assert!(
            !bytes.windows(binary.len()).any(|w| w == binary),
            "{what}: {ip} in binary"
        );
    }
    for user in &o.users {
        let uri_form = format!(":{user}@");
        assert!(
            !bytes
                .windows(uri_form.len())
                .any(|w| w == uri_form.as_bytes()),
            "{what}: user {user}"
        );
        // A user part that is also a word of callscope's own text ("the callee was busy") is only
        // checked in its URI form.
        if user.len() >= 4 && !o.prose.contains(user.as_str()) {
            assert!(
                !has_token(bytes, user.as_bytes()),
                "{what}: user {user} as a word"
            );
        }
    }
    for name in &o.names {
        assert!(
            !has_token(bytes, name.as_bytes()),
            "{what}: display name {name}"
        );
    }
}

/// Every frame of a capture through the redactor.
fn redact_capture(file: &CaptureFile, r: &Redactor) -> Vec<u8> {
    let mut frames = Vec::new();
    let (at, state) = file.first();
    file.read_chunk(at..file.len(), Start::At(at, state), &mut |f| {
        frames.push((
            f.ts_ns,
            f.link_type,
            r.packet(f.link_type, f.data),
            f.orig_len,
            f.data.len(),
        ));
    });
    let link = frames.first().map(|f| f.1).unwrap_or(1);
    let mut w = PcapWriter::new(Vec::new(), link, false).expect("a Vec");
    for (ts, _, data, orig, old) in frames {
        let orig = (orig as usize + data.len()).saturating_sub(old) as u32;
        w.write(ts, &data, orig).expect("a Vec");
    }
    w.finish().expect("a Vec")
}

fn codes(a: &Analysis, call: usize) -> Vec<&'static str> {
    a.calls
        .get(call)
        .map(|c| c.findings.iter().map(|f| f.code).collect())
        .unwrap_or_default()
}

/// The redacted capture, analysed, gives the redacted analysis' calls.
fn assert_same_calls(redacted: &Analysis, again: &Analysis, what: &str) {
    assert_eq!(again.calls.len(), redacted.calls.len(), "{what}: calls");
    for (i, (c, d)) in redacted.calls.iter().zip(&again.calls).enumerate() {
        assert_eq!(d.call_id, c.call_id, "{what}: Call-ID of call {}", i + 1);
        assert_eq!(
            (d.state, d.final_response.as_ref().map(|f| f.status)),
            (c.state, c.final_response.as_ref().map(|f| f.status))
        );
        assert_eq!(
            (d.caller, d.callee),
            (c.caller, c.callee),
            "{what}: call {}",
            i + 1
        );
        assert_eq!((&d.from, &d.to), (&c.from, &c.to), "{what}: call {}", i + 1);
        assert_eq!(d.messages.len(), c.messages.len());
        assert_eq!(
            codes(again, i),
            codes(redacted, i),
            "{what}: findings of call {}",
            i + 1
        );
    }
    let streams = |a: &Analysis| {
        let mut v: Vec<_> = a
            .streams
            .iter()
            .map(|s| (s.src, s.dst, s.summary.packets, s.summary.lost, s.call))
            .collect();
        v.sort();
        v
    };
    assert_eq!(streams(again), streams(redacted), "{what}: streams");
}

#[test]
fn redacted_json_report_holds_no_original() {
    for name in CAPTURES {
        let a = analyze(&[lab(name)]);
        let r = Redactor::for_analysis(&a);
        let redacted = r.analysis(&a);
        let mut json = Vec::new();
        callscope::report::json::write(&redacted, &mut json).expect("JSON to a Vec");
        assert_clean(&json, &originals(&a), name);
        // Same shape: counts, states and findings are untouched.
        assert_eq!(redacted.calls.len(), a.calls.len());
        for (c, d) in a.calls.iter().zip(&redacted.calls) {
            assert_eq!((c.state, c.messages.len()), (d.state, d.messages.len()));
        }
        assert_eq!(redacted.calls.len(), a.calls.len());
        // Consistent: the same address gets the same pseudonym everywhere.
        for (c, d) in a.calls.iter().zip(&redacted.calls) {
            assert_eq!(r.socket(c.caller), d.caller);
            assert_eq!(r.call_id(&c.call_id), d.call_id);
        }
    }
}

#[test]
fn redacted_whole_capture_holds_no_original_and_analyses_the_same() {
    for name in CAPTURES {
        let file = lab(name);
        let a = analyze(std::slice::from_ref(&file));
        let r = Redactor::for_analysis(&a);
        let pcap = redact_capture(&file, &r);
        assert_clean(&pcap, &originals(&a), name);
        let again =
            analyze(&[CaptureFile::from_bytes("r.pcap".into(), pcap.clone()).expect("a capture")]);
        assert_eq!(again.packets(), a.packets());
        assert_eq!(again.sip, a.sip, "{name}: SIP counts");
        assert_same_calls(&r.analysis(&a), &again, name);
        tshark_checks(&pcap, a.sip.messages, name);
    }
}

#[test]
fn redacted_extract_holds_no_original_and_shows_the_same_call() {
    for name in CAPTURES {
        let files = vec![lab(name)];
        let a = analyze(&files);
        let r = Redactor::for_analysis(&a);
        let redacted = r.analysis(&a);
        let o = originals(&a);
        for call in 0..a.calls.len() {
            let mut pcap = Vec::new();
            call_packets(&a, call, &files, Some(&r), &mut pcap).expect("extraction works");
            assert_clean(&pcap, &o, name);
            let again =
                analyze(&[CaptureFile::from_bytes("x.pcap".into(), pcap).expect("a capture")]);
            assert_eq!(again.calls.len(), 1);
            let (c, d) = (&redacted.calls[call], &again.calls[0]);
            assert_eq!(
                (&d.call_id, d.state, d.caller, d.callee),
                (&c.call_id, c.state, c.caller, c.callee)
            );
            assert_eq!(codes(&again, 0), codes(&redacted, call));
        }
    }
}

/// tshark reads the redacted capture: same SIP count, no bad checksum, nothing malformed.
fn tshark_checks(pcap: &[u8], messages: u64, what: &str) {
    if Command::new("tshark").arg("--version").output().is_err() {
        return support::optional::skip(
            "checking a redacted capture with tshark",
            "tshark is not installed (apt-get install tshark)",
        );
    }
    let path = std::env::temp_dir().join(format!(
        "callscope-redact-{}-{}",
        std::process::id(),
        what.replace('/', "_")
    ));
    std::fs::write(&path, pcap).expect("write the pcap");
    let out = Command::new("tshark")
        .arg("-r")
        .arg(&path)
        .args([
            "-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE", "-o",
            "tcp.check_checksum:TRUE", "-Y",
            "ip.checksum.status == 2 || udp.checksum.status == 2 || tcp.checksum.status == 2 || icmp.checksum.status == 2 || _ws.malformed",
            "-T", "fields", "-e", "frame.number",
        ])
        .output()
        .expect("tshark runs");
    let stat = Command::new("tshark")
        .arg("-r")
        .arg(&path)
        .args(["-q", "-z", "sip,stat"])
        .output()
        .expect("tshark runs");
    let _ = std::fs::remove_file(&path);
    assert!(
        out.status.success(),
        "tshark: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bad = String::from_utf8_lossy(&out.stdout);
    assert!(
        bad.trim().is_empty(),
        "{what}: frames with bad checksums or malformed: {bad}"
    );
    let text = String::from_utf8_lossy(&stat.stdout);
    let n = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Number of SIP messages:"))
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(0);
    assert_eq!(n, messages, "{what}: tshark sip,stat");
}

#[test]
fn every_testdata_capture_analyses_the_same_once_redacted() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut checked = 0;
    for dir in ["testdata/formats", "testdata/lab"] {
        let mut paths: Vec<_> = std::fs::read_dir(root.join(dir))
            .expect("a testdata directory")
            .map(|e| e.expect("an entry").path())
            .collect();
        paths.sort();
        for path in paths {
            let name = path.to_string_lossy();
            if !(name.ends_with(".pcap") || name.ends_with(".pcapng") || name.ends_with(".gz")) {
                continue;
            }
            let file = match CaptureFile::open(&path) {
                Ok(file) => file,
                Err(OpenError::Empty) => continue, // empty.pcap: nothing to redact.
                Err(err) => panic!("{name}: {err}"),
            };
            if !file.tls_key_logs.is_empty() {
                // Its secrets are not written out, so the redacted copy's TLS stays encrypted
                // (tests/it/tls.rs checks that).
                continue;
            }
            let a = analyze(std::slice::from_ref(&file));
            let links: BTreeSet<u32> = a
                .captures
                .iter()
                .flat_map(|c| c.link_types.clone())
                .collect();
            if a.sip.messages == 0 || links.len() != 1 {
                continue;
            }
            let what = path.display().to_string();
            let r = Redactor::for_analysis(&a);
            let pcap = redact_capture(&file, &r);
            let again = analyze(&[
                CaptureFile::from_bytes("r.pcap".into(), pcap.clone()).expect("a capture")
            ]);
            assert_eq!(again.sip, a.sip, "{what}: SIP counts");
            assert_eq!(again.sip_malformed, a.sip_malformed, "{what}");
            assert_same_calls(&r.analysis(&a), &again, &what);
            let mut ips: BTreeSet<IpAddr> = BTreeSet::new();
            for c in &a.calls {
                for s in &c.messages {
                    ips.extend([s.msg.src.ip(), s.msg.dst.ip()]);
                }
            }
            // Loopback and unspecified addresses are kept: they identify nobody.
            for ip in ips
                .into_iter()
                .filter(|ip| !ip.is_loopback() && !ip.is_unspecified())
            {
                assert!(!has_token(&pcap, ip.to_string().as_bytes()), "{what}: {ip}");
            }
            checked += 1;
        }
    }
    assert!(checked >= 20, "only {checked} captures");
}
