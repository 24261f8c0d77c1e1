//! What is SIP but not a call, on the recorded lab captures (testdata/lab, see its README): the
//! registration bindings and their failures, the keep-alives of each peer pair, and the other
//! transactions (SUBSCRIBE, MESSAGE, REFER, PRACK). Frame numbers as `tshark -r` shows them.

use callscope::correlate::peers::{self, Peer};
use callscope::correlate::registrations::Registration;
use callscope::diagnose::{Diagnosed, Finding, Severity};
use callscope::Analysis;

use crate::support;

fn registration<'a>(a: &'a Analysis, user: &str) -> &'a Diagnosed<Registration> {
    let aor = format!("sip:{user}@lab.example");
    a.registrations
        .iter()
        .find(|r| r.aor == aor)
        .unwrap_or_else(|| panic!("no binding of {aor}"))
}

fn peer<'a>(a: &'a Analysis, client: &str, server: &str) -> &'a Diagnosed<Peer> {
    a.peers
        .iter()
        .find(|p| p.client.to_string() == client && p.server.to_string() == server)
        .unwrap_or_else(|| panic!("no peer pair {client} → {server}"))
}

fn summaries(findings: &[Finding]) -> Vec<(Severity, &str)> {
    findings
        .iter()
        .map(|f| (f.severity, f.summary.as_str()))
        .collect()
}

#[test]
fn register_auth_reports_each_phone_by_its_failure() {
    let a = support::lab("register-auth.pcap");
    assert_eq!(a.registrations.len(), 7);
    assert!(a.calls.is_empty());

    // Challenged, registered for 60 s and refreshed 25 s later: no finding.
    let alice = registration(&a, "alice");
    assert_eq!(alice.state(), "registered");
    assert_eq!(
        (alice.attempts, alice.challenges, alice.successes),
        (4, 2, 2)
    );
    assert!(alice.findings.is_empty(), "{:#?}", alice.findings);

    // The wrong password: 401, then three REGISTERs with credentials each answered 401.
    let bob = registration(&a, "bob");
    assert_eq!(bob.state(), "failing");
    assert_eq!(summaries(&bob.findings), [(Severity::Error, "192.0.2.20:5060 refused the credentials for user \"bob\" of sip:bob@lab.example from 192.0.2.10:5063: REGISTER with credentials answered 401 Unauthorized 3 times from frame 13 to frame 17 (7 ms)")]);
    assert_eq!(bob.findings[0].frames, [12, 13, 14, 15, 16, 17]);
    assert!(bob.findings[0].cause.contains("wrong password"));

    // 423 with Min-Expires 20, retried with 20 s: registered (info); it then expired unrefreshed.
    let carol = registration(&a, "carol");
    let got = summaries(&carol.findings);
    assert_eq!(got.len(), 2, "{got:#?}");
    assert_eq!(got[0].0, Severity::Error);
    assert!(got[0].1.contains("expired 20.0 s later with no refresh"));
    assert_eq!(got[1], (Severity::Info, "192.0.2.10:5064 asked 192.0.2.20:5060 to register sip:carol@lab.example for 10 s, under its minimum: 423 Interval Too Brief (Min-Expires: 20 s) at frame 20; the phone retried with a longer interval and registered"));

    let dave = registration(&a, "dave");
    assert_eq!(summaries(&dave.findings), [(Severity::Error, "192.0.2.20:5060 refused the registration of sip:dave@lab.example from 192.0.2.10:5065 with 403 Forbidden before any challenge, at frame 26")]);
    let erin = registration(&a, "erin");
    assert_eq!(summaries(&erin.findings), [(Severity::Error, "192.0.2.20:5060 does not know sip:erin@lab.example: REGISTER from 192.0.2.10:5066 answered 404 Not Found at frame 28")]);

    // Registered for 20 s at frame 32 and never refreshed.
    let frank = registration(&a, "frank");
    assert_eq!(frank.state(), "expired");
    assert_eq!(summaries(&frank.findings), [(Severity::Error, "the binding of sip:frank@lab.example to sip:frank@192.0.2.10:5067 (granted 20 s by 192.0.2.20:5060 at frame 32) expired 20.0 s later with no refresh: from then on calls to sip:frank@lab.example find no contact")]);

    // The registrar behind a firewall: one REGISTER transaction sent 10 times, never answered.
    let grace = registration(&a, "grace");
    assert_eq!(summaries(&grace.findings), [(Severity::Error, "REGISTER for sip:grace@lab.example from 192.0.2.10:5068 to 192.0.2.32:5060 never answered: 1 REGISTER transaction (10 transmissions) with no response at all")]);
    assert!(grace.findings[0]
        .cause
        .contains("allow UDP 5060 from 192.0.2.10"));

    // The registrar pair answered everything: registrations are judged per binding, not per peer.
    assert!(peer(&a, "192.0.2.10", "192.0.2.20:5060")
        .findings
        .is_empty());
}

#[test]
fn options_keepalive_reports_each_dead_next_hop_and_not_the_live_one() {
    let a = support::lab("options-keepalive.pcap");
    assert_eq!(a.peers.len(), 4);

    let up = peer(&a, "192.0.2.20", "192.0.2.31:5060");
    assert!(up.findings.is_empty(), "{:#?}", up.findings);
    assert_eq!((up.keepalive().probes, up.keepalive().failed), (4, 0));

    let udp = peer(&a, "192.0.2.20", "192.0.2.32:5060");
    assert_eq!(summaries(&udp.findings), [(Severity::Error, "4 OPTIONS from 192.0.2.20 to 192.0.2.32:5060 never answered from frame 8 to frame 47 (15.0 s); 4 of 4 probes failed, the last 4 in a row: 192.0.2.32:5060 is down for its sender")]);

    // MTLS to a trusted application: the SYNs to 5061 get no SYN-ACK.
    let tls = peer(&a, "192.0.2.20", "192.0.2.32:5061");
    assert_eq!(summaries(&tls.findings), [(Severity::Error, "2 connection attempts from 192.0.2.20 to 192.0.2.32:5061 got no SYN-ACK from frame 7 to frame 34 (10.0 s); 2 of 2 probes failed, the last 2 in a row: 192.0.2.32:5061 is down for its sender")]);
    assert!(tls.findings[0].cause.contains("allow TCP 5061"));
    assert_eq!(tls.syn_unanswered, 2);
    assert!(
        tls.findings[0].frames.contains(&44),
        "the last SYN retransmission"
    );

    let refused = peer(&a, "192.0.2.20", "192.0.2.10:5060");
    assert_eq!(refused.refused, 4);
    assert!(refused.findings[0].summary.starts_with(
        "4 connection attempts from 192.0.2.20 to 192.0.2.10:5060 refused (RST: nothing listens)"
    ));
    assert_eq!(refused.findings[0].frames, [3, 4, 20, 21, 32, 33, 45, 46]);
}

#[test]
fn flow_keepalives_count_crlf_and_stun_pings_and_report_the_peer_that_never_answers() {
    let a = support::lab("sip-keepalives.pcap");
    assert_eq!(a.peers.len(), 2);
    // kamailio answers every double-CRLF ping with a CRLF, every STUN Binding with its response.
    let edge = peer(&a, "192.0.2.10", "192.0.2.20:5060");
    assert!(edge.findings.is_empty(), "{:#?}", edge.findings);
    let k = edge.keepalive();
    assert_eq!(
        (
            k.crlf.sent,
            k.crlf.answered,
            k.stun.sent,
            k.stun.answered,
            k.failed
        ),
        (4, 4, 4, 4, 0)
    );
    // app1 answers the OPTIONS but no keep-alive; the last ping of each kind is still waiting
    // (less than 10 s before the end) and not counted.
    let deaf = peer(&a, "192.0.2.10", "192.0.2.31:5060");
    let k = deaf.keepalive();
    assert_eq!(
        (
            k.crlf.sent,
            k.crlf.answered,
            k.stun.sent,
            k.stun.answered,
            k.failed
        ),
        (3, 0, 3, 0, 6)
    );
    assert_eq!(summaries(&deaf.findings), [(Severity::Error, "3 double-CRLF keep-alive pings from 192.0.2.10 to 192.0.2.31:5060 got no CRLF pong from frame 44 to frame 48 (1.0 s); 3 STUN Binding keep-alives from 192.0.2.10 to 192.0.2.31:5060 on the SIP flow never answered from frame 57 to frame 59 (1.0 s); 6 of 8 probes failed, the last 3 in a row: 192.0.2.31:5060 does not keep its SIP flows alive")]);
    let f = &deaf.findings[0];
    assert_eq!(f.code, "sip.keepalive_failed");
    assert_eq!(f.frames, [44, 46, 48, 57, 58, 59]);
    assert!(f.cause.contains("RFC 5626"), "{}", f.cause);
    // The keep-alives are neither SIP errors nor calls.
    assert!(a.sip_malformed.is_empty());
    assert!(a.calls.is_empty());
}

/// A lab capture analysed with the peer table's limits changed by `set`.
fn lab_with_peer_limits(name: &str, set: impl FnOnce(&mut peers::Limits)) -> Analysis {
    let path = std::path::Path::new("testdata/lab").join(name);
    let file = callscope::capture::CaptureFile::open(&path).expect("a lab capture");
    let mut options = callscope::Options::default();
    set(&mut options.limits.peers);
    callscope::analyze(&[file], &options, &callscope::pipeline::NoProgress)
}

/// What a capture's peer rows counted, summed over the rows.
fn peer_totals(a: &Analysis) -> [u32; 6] {
    let mut t = [0; 6];
    for p in &a.peers {
        let k = p.keepalive();
        let sent: u32 = p.methods.iter().map(|m| m.counts.sent).sum();
        for (t, n) in t.iter_mut().zip([
            k.probes,
            k.failed,
            sent,
            p.syn_unanswered,
            p.refused,
            k.crlf.sent + k.stun.sent,
        ]) {
            *t += n;
        }
    }
    t
}

#[test]
fn a_full_peer_table_lists_its_least_recently_active_rows_early_and_loses_nothing() {
    let whole = support::lab("options-keepalive.pcap");
    assert_eq!(whole.limits.early_peer_rows, 0);
    let a = lab_with_peer_limits("options-keepalive.pcap", |l| l.pairs = 1);
    assert!(a.limits.early_peer_rows > 0);
    assert_eq!(a.peers.len() as u64, 1 + a.limits.early_peer_rows);
    assert_eq!(
        peer_totals(&a),
        peer_totals(&whole),
        "every event counted in some row"
    );
    // The rows are listed by their first frame.
    assert!(a
        .peers
        .windows(2)
        .all(|w| w[0].first_frame < w[1].first_frame));
}

#[test]
fn keepalive_pings_beyond_their_limit_are_counted_not_followed() {
    let whole = support::lab("sip-keepalives.pcap");
    assert_eq!(whole.limits.untracked_keepalive_pings, 0);
    let a = lab_with_peer_limits("sip-keepalives.pcap", |l| l.pings = 0);
    // 4 CRLF and 4 STUN pings to each of the two servers.
    assert_eq!(a.limits.untracked_keepalive_pings, 16);
    assert_eq!(peer_totals(&a)[5], 0, "no ping followed");
    assert!(a.peers.iter().all(|p| p.findings.is_empty()));
}

/// A lab capture analysed with the open transactions' and bindings' limits set to `open`.
fn lab_with_open_limits(name: &str, open: usize) -> Analysis {
    let path = std::path::Path::new("testdata/lab").join(name);
    let file = callscope::capture::CaptureFile::open(&path).expect("a lab capture");
    let mut options = callscope::Options::default();
    options.limits.transactions.open = open;
    options.limits.registrations.open = open;
    callscope::analyze(&[file], &options, &callscope::pipeline::NoProgress)
}

#[test]
fn transactions_and_bindings_beyond_their_limits_are_reported() {
    for name in ["other-transactions.pcap", "register-auth.pcap"] {
        let whole = support::lab(name);
        assert_eq!(
            (
                whole.limits.untracked_transactions,
                whole.limits.untracked_registrations
            ),
            (0, 0)
        );
        let a = lab_with_open_limits(name, 0);
        let (tx, reg) = (
            a.limits.untracked_transactions,
            a.limits.untracked_registrations,
        );
        assert!(a.transactions.is_empty() && a.registrations.is_empty());
        assert!(tx + reg > 0, "{name}: nothing counted");
        let mut text = Vec::new();
        callscope::report::text::write(&a, &Default::default(), &mut text).expect("a Vec");
        let text = String::from_utf8(text).expect("UTF-8");
        let line = format!(
            "{tx} non-INVITE requests beyond the open transactions' limit and {reg} REGISTERs beyond"
        );
        assert!(text.contains(&line), "{name}: {text}");
        let mut json = Vec::new();
        callscope::report::json::write(&a, &mut json).expect("a Vec");
        let json: serde_json::Value = serde_json::from_slice(&json).expect("JSON");
        let limits = &json["summary"]["limits"];
        assert_eq!(limits["untracked_transactions"], tx);
        assert_eq!(limits["untracked_registrations"], reg);
    }
}

#[test]
fn other_transactions_name_their_method_inside_and_outside_calls() {
    let a = support::lab("other-transactions.pcap");
    let got: Vec<(&str, Option<usize>, Option<u16>)> = a
        .transactions
        .iter()
        .map(|t| (t.method.as_str(), t.call, t.status().map(|s| s.0)))
        .collect();
    assert_eq!(
        got,
        [
            ("MESSAGE", None, Some(200)),
            ("SUBSCRIBE", None, Some(489)),
            ("PRACK", Some(0), Some(200)),
            ("REFER", Some(0), Some(403)),
            ("MESSAGE", None, None),
        ]
    );
    let f = |i: usize| summaries(&a.transactions[i].findings);
    assert_eq!(f(0), []);
    assert_eq!(f(1), [(Severity::Error, "192.0.2.31 rejected the SUBSCRIBE from 192.0.2.10:5060 with 489 Bad Event (frame 6) 15 ms after the request (frame 5)")]);
    assert_eq!(f(2), []);
    assert_eq!(f(4), [(Severity::Error, "MESSAGE from 192.0.2.10:5060 to 192.0.2.32:5060 sent 10 times over 27.5 s (retransmitted per RFC 3261 Timer E), no response at all from 192.0.2.32 before Timer F (32 s)")]);

    // The refused transfer is a warning of the call it happened in, which went on to a normal BYE.
    let call = &a.calls[0];
    assert_eq!(call.findings.len(), 1, "{:#?}", call.findings);
    assert_eq!(call.findings[0].code, "sip.rejected");
    assert_eq!(call.findings[0].severity, Severity::Warning);
    assert!(call.findings[0]
        .summary
        .contains("rejected the REFER in call 1 from 192.0.2.10:5060 with 403 Forbidden"));
    assert!(call.findings[0].cause.contains("refused the transfer"));
}

#[test]
fn calls_alone_have_healthy_peers_and_no_other_items() {
    let a = support::lab("sip-udp-basic-call.pcap");
    assert!(a.registrations.is_empty() && a.transactions.is_empty());
    let p = peer(&a, "192.0.2.10", "192.0.2.31:5060");
    assert!(p.findings.is_empty());
    assert_eq!(p.methods[0].method.as_str(), "INVITE");
    assert_eq!((p.methods[0].counts.sent, p.methods[0].counts.ok), (1, 1));
}

/// A public capture, or `None` (with one line saying so) in a bare clone.
fn shared(name: &str) -> Option<Analysis> {
    let path = format!("{}{name}", support::optional::SHARED_CAPTURES);
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    if !root.join(&path).is_file() {
        support::optional::skip(name, "the public captures are not beside the repository");
        return None;
    }
    let file = callscope::capture::CaptureFile::open(&root.join(&path)).expect("a capture");
    Some(support::analyze_with(
        std::slice::from_ref(&file),
        1 << 20,
        2,
    ))
}

#[test]
fn public_captures_report_their_failed_and_working_registrations() {
    // A phone whose credentials are refused: 401, then 403 to the REGISTER with credentials.
    if let Some(a) = shared("sipnab/sip-auth-failure.pcapng") {
        assert_eq!(a.registrations.len(), 1);
        let r = &a.registrations[0];
        assert_eq!(r.findings.len(), 1);
        assert_eq!(r.findings[0].severity, Severity::Error);
        assert_eq!(r.findings[0].summary, "172.16.98.101:5060 refused the credentials for user \"telephone1\" of sip:telephone1@172.16.98.101 from 172.16.98.1:42952: REGISTER with credentials answered 403 Forbidden at frame 4");
        let sub = a
            .transactions
            .iter()
            .find(|t| t.status().is_some_and(|s| s.0 == 403));
        let sub = sub.expect("the refused SUBSCRIBE");
        assert_eq!(sub.method.as_str(), "SUBSCRIBE");
        assert!(sub.findings[0]
            .cause
            .contains("refused the SUBSCRIBE by policy"));
    }
    // A MagicJack powering up: challenged, then registered for 1800 s twice: no finding.
    if let Some(a) = shared("wireshark-wiki/MagicJack_pwr_up.pcap") {
        assert_eq!(a.registrations.len(), 2);
        for r in &a.registrations {
            assert_eq!((r.state(), r.findings.len()), ("registered", 0), "{r:#?}");
            assert_eq!(r.registered.map(|g| g.granted), Some(1800));
        }
    }
}
