//! SIP over TLS on recorded lab captures (testdata/lab, scripts/lab/tls_sip.py on OpenSSL 3): the
//! SIP decrypted with a key log, with the same secrets in a pcapng Decryption Secrets Block, and with
//! the server's RSA key equals what tshark reads with the same key (`*.tshark-sip.tsv`, written by
//! the recording script); the calls read like plain calls; each certificate failure is named with the
//! certificate's fields; bad keys are warned about and the rest analysed; secrets never leave.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use callscope::capture::CaptureFile;
use callscope::correlate::message::{Kind, Transport};
use callscope::decrypt::keys::KeyStore;
use callscope::decrypt::Decryption;
use callscope::diagnose::Severity;
use callscope::{Analysis, Options};

fn lab_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/lab")
        .join(name)
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(lab_path(name)).expect("a lab file")
}

fn keylog(name: &str) -> KeyStore {
    let mut keys = KeyStore::default();
    assert!(keys.add_keylog(&read(name), name).is_empty());
    keys
}

fn analyze(name: &str, keys: KeyStore, chunk_size: usize) -> Analysis {
    let file = CaptureFile::open(&lab_path(name)).expect("a lab capture");
    let options = Options {
        tls_keys: Arc::new(keys),
        chunk_size,
        ..Options::default()
    };
    callscope::analyze(&[file], &options, &callscope::pipeline::NoProgress)
}

/// (frame, method or status, Call-ID) of every SIP message, as tshark's fields give them.
type Sip = Vec<(u64, String, String)>;

fn sip_of(a: &Analysis) -> Sip {
    let mut out: Sip = a
        .calls
        .iter()
        .flat_map(|c| &c.call.messages)
        .map(|s| {
            let what = match &s.msg.kind {
                Kind::Request { method, .. } => method.as_str().to_string(),
                Kind::Response { status, .. } => status.0.to_string(),
            };
            (s.msg.frame, what, s.msg.call_id.clone())
        })
        .collect();
    out.extend(
        a.other_dialogs
            .iter()
            .map(|d| (d.first_frame, d.method.clone(), d.call_id.clone())),
    );
    out.sort();
    out
}

fn tshark_sip(name: &str) -> Sip {
    let text = String::from_utf8(read(name)).expect("text");
    let mut out: Sip = text
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            let what = if f[1].is_empty() { f[2] } else { f[1] };
            (
                f[0].parse().expect("a frame"),
                what.to_string(),
                f[3].to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

/// Seven calls, one per version and cipher (TLS 1.3 AES-256/128-GCM and ChaCha20; TLS 1.2 ECDHE with
/// AES-128-GCM, ChaCha20, AES-256-CBC-SHA384 with encrypt-then-MAC, AES-128-CBC-SHA without).
const SUITES: [&str; 7] = [
    "TLS_AES_256_GCM_SHA384",
    "TLS_AES_128_GCM_SHA256",
    "TLS_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
];

fn assert_plain_calls(a: &Analysis, n: usize, what: &str) {
    assert_eq!(a.calls.len(), n, "{what}");
    for c in &a.calls {
        assert_eq!(c.call.transport, Transport::Tls, "{what}");
        assert_eq!(c.call.state.as_str(), "answered", "{what}");
        assert!(c.findings.is_empty(), "{what}: {:?}", c.findings);
        // Both directions of the 2 s of PCMU are the call's.
        let streams: Vec<_> = c
            .evidence
            .streams
            .iter()
            .filter(|s| s.call == Some(c.index))
            .collect();
        assert_eq!(streams.len(), 2, "{what}");
        assert!(streams.iter().all(|s| s.summary.packets == 100), "{what}");
    }
    assert!(
        a.transport_events.is_empty(),
        "{what}: {:?}",
        a.transport_events
    );
}

#[test]
fn key_log_decrypts_every_version_and_cipher_as_tshark_does() {
    let want = tshark_sip("sip-tls-calls.tshark-sip.tsv");
    assert_eq!(want.len(), 49);
    for chunk in [4 << 20, 4 << 10] {
        let a = analyze("sip-tls-calls.pcap", keylog("sip-tls-calls.keylog"), chunk);
        assert_eq!(sip_of(&a), want, "chunk {chunk}");
        assert_plain_calls(&a, 7, "key log");
        let tls: Vec<_> = a
            .connections
            .iter()
            .filter_map(|c| c.tls.as_ref())
            .collect();
        assert_eq!(tls.len(), 7);
        for (t, suite) in tls.iter().zip(SUITES) {
            let n = t.negotiated.expect("a ServerHello");
            let name = callscope::proto::tls::suite::lookup(n.cipher_suite).map(|s| s.name);
            assert_eq!(name, Some(suite));
            assert_eq!(t.decryption, Some(Decryption::Decrypted));
            assert!(t.application_data);
            // TLS 1.3 certificates are read with the handshake secrets; TLS 1.2's in clear.
            let chain = t.server_certificates.as_ref().expect("certificates");
            assert_eq!(chain.decrypted, n.version == 0x0304);
            assert_eq!(chain.chain[0].subject, "CN=app1.lab.example");
        }
        assert_eq!(a.tls.outcomes.get("decrypted"), Some(&7));
    }
}

#[test]
fn decryption_secrets_block_is_used_without_options() {
    let a = analyze("sip-tls-calls-dsb.pcapng", KeyStore::default(), 4 << 20);
    assert_eq!(sip_of(&a), tshark_sip("sip-tls-calls.tshark-sip.tsv"));
    assert_plain_calls(&a, 7, "DSB");
}

#[test]
fn rsa_key_decrypts_rsa_key_exchange_with_extended_master_secret() {
    let mut keys = KeyStore::default();
    let server = "192.0.2.31:5061".parse().expect("an address");
    keys.add_rsa_pem(&read("sip-tls-rsa.key"), Some(server))
        .expect("an RSA key");
    let a = analyze("sip-tls-rsa.pcap", keys, 4 << 20);
    assert_eq!(sip_of(&a), tshark_sip("sip-tls-rsa.tshark-sip.tsv"));
    assert_plain_calls(&a, 2, "RSA");
    for c in a.connections.iter().filter_map(|c| c.tls.as_ref()) {
        assert!(c.negotiated.expect("hello").extended_master_secret);
    }
    // The key bound to another server is not tried.
    let mut keys = KeyStore::default();
    keys.add_rsa_pem(
        &read("sip-tls-rsa.key"),
        Some("192.0.2.32:5061".parse().expect("addr")),
    )
    .expect("an RSA key");
    assert!(analyze("sip-tls-rsa.pcap", keys, 4 << 20).calls.is_empty());
}

#[test]
fn without_keys_each_connection_says_why_it_was_not_read() {
    let a = analyze("sip-tls-calls.pcap", KeyStore::default(), 4 << 20);
    assert!(a.calls.is_empty());
    assert!(a.transport_events.is_empty(), "completed handshakes");
    assert_eq!(a.tls.outcomes, BTreeMap::from([("no_keys_given", 7)]));
    // A key log of other sessions: "no key" per connection; the RSA capture with only a key log:
    // its RSA sessions are not in it.
    let a = analyze(
        "sip-tls-calls.pcap",
        keylog("tls-certificates.keylog"),
        4 << 20,
    );
    assert_eq!(
        a.tls.outcomes,
        BTreeMap::from([("no_key", 3), ("no_key_ephemeral", 4)])
    );
    let a = analyze("sip-tls-rsa.pcap", keylog("sip-tls-calls.keylog"), 4 << 20);
    assert_eq!(a.tls.outcomes, BTreeMap::from([("no_key", 2)]));
}

#[test]
fn corrupted_key_log_is_warned_and_the_rest_decrypted() {
    let text = String::from_utf8(read("sip-tls-calls.keylog")).expect("text");
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    // After the comment line: cut the first session's five lines (TLS 1.3), and zero the second
    // session's secrets (well-formed, wrong).
    for l in &mut lines[1..6] {
        l.truncate(40);
    }
    for l in &mut lines[6..11] {
        let (head, secret) = l.rsplit_once(' ').expect("three fields");
        *l = format!("{head} {}", "00".repeat(secret.len() / 2));
    }
    let mut keys = KeyStore::default();
    let warnings = keys.add_keylog(lines.join("\n").as_bytes(), "bad.keylog");
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0]
            .starts_with("bad.keylog: 5 malformed key log line(s) skipped (line 2, 3, 4, 5, 6)"),
        "{}",
        warnings[0]
    );
    let a = analyze("sip-tls-calls.pcap", keys, 4 << 20);
    assert_eq!(a.calls.len(), 5, "the others are decrypted");
    assert_eq!(
        a.tls.outcomes,
        BTreeMap::from([("decrypted", 5), ("failed", 1), ("no_key", 1)])
    );
}

/// (code, severity, port, what the summary must say) of each connection of tls-certificates.pcap.
fn certificate_events(a: &Analysis) -> Vec<(&'static str, Severity, u16, String)> {
    a.transport_events
        .iter()
        .map(|e| (e.code, e.severity, e.dst.port(), e.summary.clone()))
        .collect()
}

#[test]
fn each_certificate_failure_is_named_with_its_fields() {
    let a = analyze("tls-certificates.pcap", KeyStore::default(), 4 << 20);
    let ev = certificate_events(&a);
    let expect: [(&str, u16, &[&str]); 8] = [
        (
            "tls.certificate",
            5061,
            &[
                "the server certificate expired 2021-01-01 00:00 UTC",
                "valid 2020-01-01 00:00 UTC to 2021-01-01 00:00 UTC",
                "alert certificate_expired (45)",
            ],
        ),
        (
            "tls.certificate",
            5062,
            &[
                "the server certificate does not name app1.lab.example [CN=other.lab.example",
                "SAN other.lab.example",
                "alert bad_certificate (42)",
            ],
        ),
        (
            "tls.certificate",
            5063,
            &[
                "the server certificate is self-signed [CN=app1.lab.example",
                "issued by CN=app1.lab.example",
                "alert unknown_ca (48)",
            ],
        ),
        (
            "tls.certificate",
            5064,
            &[
                "client certificate's extended key usage lacks clientAuth",
                "[CN=caller.lab.example",
                "EKU serverAuth]",
                "alert unsupported_certificate (43)",
            ],
        ),
        (
            "tls.certificate",
            5064,
            &[
                "the server asked for a client certificate (CertificateRequest, frame",
                "the client sent none (empty Certificate",
                "alert handshake_failure (40)",
            ],
        ),
        (
            "tls.handshake_failed",
            5065,
            &[
                "(TLS 1.3, TLS_AES_256_GCM_SHA384)",
                "an encrypted record the size of an alert from 192.0.2.31:5065",
                "TLS 1.3 encrypts the certificates",
            ],
        ),
        (
            "tls.handshake_failed",
            5066,
            &[
                "offering TLS 1.2 only, no ServerHello",
                "alert protocol_version (70)",
            ],
        ),
        (
            "tls.handshake_failed",
            5061,
            &["sent plain SIP (no TLS ClientHello) to the TLS port 192.0.2.31:5061"],
        ),
    ];
    assert_eq!(ev.len(), expect.len(), "{ev:#?}");
    for ((code, _, port, summary), (want_code, want_port, phrases)) in ev.iter().zip(expect) {
        assert_eq!((*code, *port), (want_code, want_port), "{summary}");
        for p in phrases {
            assert!(summary.contains(p), "{p:?} not in {summary}");
        }
    }
    // The TLS 1.3 rejection names the client certificate once its key log decrypts the handshake.
    let a = analyze(
        "tls-certificates.pcap",
        keylog("tls-certificates.keylog"),
        4 << 20,
    );
    let ev = certificate_events(&a);
    let (code, severity, _, summary) = &ev[5];
    assert_eq!((*code, *severity), ("tls.certificate", Severity::Error));
    assert!(summary.contains("client certificate's extended key usage lacks clientAuth"));
    assert!(
        summary.contains("alert unsupported_certificate (43) in frame 64"),
        "{summary}"
    );
    assert_eq!(sip_of(&a), tshark_sip("tls-certificates.tshark-sip.tsv"));
}

#[test]
fn unknown_ca_after_a_chain_without_its_intermediate_is_an_incomplete_chain() {
    let a = analyze("tls-chain.pcap", KeyStore::default(), 4 << 20);
    let ev = certificate_events(&a);
    assert_eq!(ev.len(), 1, "{ev:#?}");
    let (code, severity, port, summary) = &ev[0];
    assert_eq!(
        (*code, *severity, *port),
        ("tls.certificate", Severity::Error, 5061)
    );
    for p in [
        "the server sent 1 certificate (CN=app1.lab.example); the last is issued by CN=Lab Intermediate CA, which was not sent",
        "an incomplete chain (intermediate CA missing)",
        "serial 20:01",
        "alert unknown_ca (48) in frame 10",
    ] {
        assert!(summary.contains(p), "{p:?} not in {summary}");
    }
    // The same leaf sent with its intermediate is accepted: the handshake completes, no finding.
    let fixed: Vec<_> = a
        .connections
        .iter()
        .filter(|c| c.server.port() == 5062)
        .collect();
    assert_eq!(fixed.len(), 1);
    let tls = fixed[0].tls.as_ref().expect("TLS seen");
    assert!(tls.application_data);
    let sent: Vec<&str> = tls
        .server_certificates
        .as_ref()
        .expect("chain")
        .chain
        .iter()
        .map(|c| c.subject.as_str())
        .collect();
    assert_eq!(sent, ["CN=app1.lab.example", "CN=Lab Intermediate CA"]);
}

/// Without SNI the certificate must name the SIP target: the host of the request decrypted from the
/// connection (RFC 5922 §7.2); without keys only the address connected to is known.
#[test]
fn without_sni_the_certificate_is_checked_against_the_sip_target() {
    let expect = [
        (
            KeyStore::default(),
            "192.0.2.31, the address connected to (no SNI)",
        ),
        (
            keylog("tls-no-sni.keylog"),
            "app1.lab.example, the host of the SIP request sent over it (no SNI)",
        ),
    ];
    for (keys, name) in expect {
        let a = analyze("tls-no-sni.pcap", keys, 4 << 20);
        let ev = certificate_events(&a);
        assert_eq!(ev.len(), 1, "{ev:#?}");
        let (code, severity, _, summary) = &ev[0];
        assert_eq!((*code, *severity), ("tls.certificate", Severity::Warning));
        for p in [
            &format!("the server certificate does not name {name} [CN=other.lab.example"),
            "SAN other.lab.example",
            "the handshake completed anyway",
        ] {
            assert!(summary.contains(p), "{p:?} not in {summary}");
        }
    }
    // The OPTIONS and its 200, as tshark decrypts them.
    let a = analyze("tls-no-sni.pcap", keylog("tls-no-sni.keylog"), 4 << 20);
    let tshark = tshark_sip("tls-no-sni.tshark-sip.tsv");
    assert_eq!(tshark.len(), 2);
    assert_eq!(sip_of(&a), tshark[..1]);
    assert_eq!(a.other_dialogs[0].messages, 2);
}

fn callscope(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_callscope"))
        .args(args)
        .output()
        .expect("run callscope")
}

#[test]
fn secrets_never_appear_in_any_output() {
    let keylog_path = lab_path("sip-tls-calls.keylog");
    let secrets: Vec<String> = String::from_utf8(read("sip-tls-calls.keylog"))
        .expect("text")
        .lines()
        .filter_map(|l| l.rsplit_once(' ').map(|(_, s)| s.to_ascii_lowercase()))
        .collect();
    let capture = lab_path("sip-tls-calls.pcap");
    let dir = std::env::temp_dir().join(format!("callscope-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temp dir");
    let html = dir.join("r.html");
    let out = callscope(&[
        "analyze",
        "-q",
        "--keylog",
        keylog_path.to_str().expect("utf-8"),
        "--json",
        "-",
        "--html",
        html.to_str().expect("utf-8"),
        capture.to_str().expect("utf-8"),
    ]);
    assert!(out.status.success());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(json["calls"].as_array().map(Vec::len), Some(7));
    assert_eq!(json["calls"][0]["transport"], "tls");
    assert_eq!(json["tcp_connections"][0]["tls"]["decryption"], "decrypted");
    assert_eq!(json["tcp_connections"][0]["tls"]["version"], "TLS 1.3");
    let html = std::fs::read_to_string(&html).expect("the HTML report");
    let text =
        String::from_utf8_lossy(&out.stdout).to_ascii_lowercase() + &html.to_ascii_lowercase();
    for s in &secrets {
        assert!(!text.contains(s.as_str()), "a secret in the output");
    }
    // The extract of a decrypted call holds its TLS records as captured, and no secret.
    let extract = dir.join("call.pcap");
    let out = callscope(&[
        "extract",
        "-q",
        "--keylog",
        keylog_path.to_str().expect("utf-8"),
        "--call",
        "1",
        "-o",
        extract.to_str().expect("utf-8"),
        capture.to_str().expect("utf-8"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(&extract).expect("the extract");
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    for s in &secrets {
        assert!(!hex.contains(s.as_str()), "a secret in the extract");
    }
    let again = callscope(&["calls", "-q", extract.to_str().expect("utf-8")]);
    assert!(
        !String::from_utf8_lossy(&again.stdout).contains("answered"),
        "still encrypted without the key log"
    );
    let again = callscope(&[
        "calls",
        "-q",
        "--keylog",
        keylog_path.to_str().expect("utf-8"),
        extract.to_str().expect("utf-8"),
    ]);
    assert!(String::from_utf8_lossy(&again.stdout).contains("answered"));
}

/// `--redact` rewrites addresses and SIP it can read in clear, never TLS records: the redacted extract
/// of a TLS call still decrypts (a changed byte would fail authentication) to the same call.
#[test]
fn redacted_extract_keeps_tls_records_as_captured() {
    let keylog_path = lab_path("sip-tls-calls.keylog");
    let capture = lab_path("sip-tls-calls.pcap");
    let dir = std::env::temp_dir().join(format!("callscope-tls-redact-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temp dir");
    let out_path = dir.join("redacted.pcap");
    let args = |extra: &[&str]| {
        let mut v = vec!["--keylog", keylog_path.to_str().expect("utf-8")];
        v.extend_from_slice(extra);
        v.iter().map(|s| s.to_string()).collect::<Vec<_>>()
    };
    let mut cmd = args(&[
        "--call",
        "2",
        "--redact",
        "-o",
        out_path.to_str().expect("utf-8"),
    ]);
    cmd.insert(0, "extract".into());
    cmd.push(capture.to_str().expect("utf-8").into());
    let cmd: Vec<&str> = cmd.iter().map(String::as_str).collect();
    let out = callscope(&cmd);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut keys = KeyStore::default();
    keys.add_keylog(&read("sip-tls-calls.keylog"), "keys");
    let file = CaptureFile::open(&out_path).expect("the extract");
    let a = callscope::analyze(
        &[file],
        &Options {
            tls_keys: Arc::new(keys),
            ..Options::default()
        },
        &callscope::pipeline::NoProgress,
    );
    assert_eq!(a.calls.len(), 1);
    assert_eq!(a.calls[0].call.messages.len(), 7);
    assert_eq!(a.tls.outcomes, BTreeMap::from([("decrypted", 1)]));
}

#[test]
fn cli_warns_about_bad_key_files_and_goes_on() {
    let dir = std::env::temp_dir().join(format!("callscope-tls-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temp dir");
    let bad = dir.join("bad.keylog");
    std::fs::write(&bad, "CLIENT_RANDOM zz 11\n").expect("write");
    let key = dir.join("bad.pem");
    std::fs::write(
        &key,
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    )
    .expect("write");
    let capture = lab_path("sip-tls-calls.pcap");
    let out = callscope(&[
        "calls",
        "-q",
        "--keylog",
        bad.to_str().expect("utf-8"),
        "--tls-key",
        key.to_str().expect("utf-8"),
        capture.to_str().expect("utf-8"),
    ]);
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("1 malformed key log line(s) skipped (line 1)"),
        "{err}"
    );
    assert!(err.contains("holds no TLS session secret"), "{err}");
    assert!(
        err.contains("bad.pem: the PEM block is not an RSA private key; it is not used"),
        "{err}"
    );
    let out = callscope(&[
        "calls",
        "-q",
        "--tls-key",
        "x.pem@nowhere",
        capture.to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(2));
}
