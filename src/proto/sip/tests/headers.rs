//! Tests of the typed header values (CSeq, name-addr, Via, URIs, Reason, Warning, ms-diagnostics) and the
//! plain accessors.

use super::*;

// --- typed accessors -----------------------------------------------------------------------------------

fn with_header(name_value: &str) -> Vec<u8> {
    format!("SIP/2.0 200 OK\r\n{name_value}\r\nContent-Length: 0\r\n\r\n").into_bytes()
}

fn check_cseq(value: &str, expected: Option<(u32, &str)>) {
    let buf = with_header(&format!("CSeq: {value}"));
    let m = ok(&buf);
    assert_eq!(
        m.cseq().map(|c| (c.seq, c.method.as_str())),
        expected,
        "{value:?}"
    );
}

#[test]
fn cseq_plain() {
    check_cseq("1 INVITE", Some((1, "INVITE")));
}
#[test]
fn cseq_leading_zeros() {
    check_cseq("0009 BYE", Some((9, "BYE")));
}
#[test]
fn cseq_max() {
    check_cseq("4294967295 ACK", Some((u32::MAX, "ACK")));
}
#[test]
fn cseq_overflow() {
    check_cseq("36893488147419103232 INVITE", None);
}
#[test]
fn cseq_no_method() {
    check_cseq("1", None);
}
#[test]
fn cseq_trailing_junk() {
    check_cseq("1 INVITE x", None);
}
#[test]
fn cseq_other_method() {
    check_cseq("5 FOO", Some((5, "FOO")));
}
#[test]
fn cseq_tabs() {
    check_cseq("7\tNOTIFY", Some((7, "NOTIFY")));
}

fn check_name_addr(value: &str, expected: Option<(Option<&str>, &str, Option<&str>)>) {
    let got = NameAddr::parse(value).map(|n| (n.display, n.uri, n.tag));
    assert_eq!(got, expected, "{value:?}");
}

#[test]
fn name_addr_quoted() {
    check_name_addr(
        "\"Bob\" <sip:bob@b.com>;tag=a1",
        Some((Some("Bob"), "sip:bob@b.com", Some("a1"))),
    );
}
#[test]
fn name_addr_token_display() {
    check_name_addr(
        "Bob Smith <sip:bob@b.com>",
        Some((Some("Bob Smith"), "sip:bob@b.com", None)),
    );
}
#[test]
fn name_addr_no_space() {
    check_name_addr(
        "caller<sip:caller@example.com>;tag=323",
        Some((Some("caller"), "sip:caller@example.com", Some("323"))),
    );
}
#[test]
fn name_addr_no_display() {
    check_name_addr(
        "<sip:a@b;transport=tcp>;tag=9",
        Some((None, "sip:a@b;transport=tcp", Some("9"))),
    );
}
#[test]
fn name_addr_addr_spec() {
    check_name_addr("sip:a@b;tag=9", Some((None, "sip:a@b", Some("9"))));
}
#[test]
fn name_addr_empty_quoted_display() {
    check_name_addr("\"\" <sip:a@b>", Some((None, "sip:a@b", None)));
}
#[test]
fn name_addr_escaped_quote() {
    check_name_addr(
        "\"a \\\" b\" <sip:a@b>",
        Some((Some("a \\\" b"), "sip:a@b", None)),
    );
}
#[test]
fn name_addr_comma_in_display() {
    check_name_addr(
        "\"Watson, Thomas\" < sip:t.watson@example.org >",
        Some((Some("Watson, Thomas"), "sip:t.watson@example.org", None)),
    );
}
#[test]
fn name_addr_unbalanced_quote() {
    check_name_addr("\"Mr. J. User <sip:j.user@example.com>", None);
}
#[test]
fn name_addr_unclosed_angle() {
    check_name_addr("<sip:a@b", None);
}
#[test]
fn name_addr_tag_case() {
    check_name_addr("<sip:a@b>;TAG=x", Some((None, "sip:a@b", Some("x"))));
}
#[test]
fn name_addr_star() {
    check_name_addr("*", Some((None, "*", None)));
}

/// (transport, host, port, branch, received, rport)
type ViaRow<'s> = (
    &'s str,
    &'s str,
    Option<u16>,
    Option<&'s str>,
    Option<&'s str>,
    Option<Option<u16>>,
);

fn check_via(value: &str, expected: Option<ViaRow<'_>>) {
    let got =
        Via::parse(value).map(|v| (v.transport, v.host, v.port, v.branch, v.received, v.rport));
    assert_eq!(got, expected, "{value:?}");
}

#[test]
fn via_basic() {
    check_via(
        "SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1",
        Some(("UDP", "10.0.0.1", Some(5060), Some("z9hG4bK1"), None, None)),
    );
}
#[test]
fn via_no_port() {
    check_via(
        "SIP/2.0/TCP host.example.com;branch=z9",
        Some(("TCP", "host.example.com", None, Some("z9"), None, None)),
    );
}
#[test]
fn via_rport_empty() {
    check_via(
        "SIP/2.0/UDP h;rport;branch=b",
        Some(("UDP", "h", None, Some("b"), None, Some(None))),
    );
}
#[test]
fn via_rport_filled() {
    check_via(
        "SIP/2.0/UDP h:5062;branch=b;received=1.2.3.4;rport=6000",
        Some((
            "UDP",
            "h",
            Some(5062),
            Some("b"),
            Some("1.2.3.4"),
            Some(Some(6000)),
        )),
    );
}
#[test]
fn via_ipv6() {
    check_via(
        "SIP/2.0/UDP [2001:db8::9:1]:5070;branch=b",
        Some(("UDP", "2001:db8::9:1", Some(5070), Some("b"), None, None)),
    );
}
#[test]
fn via_lws_everywhere() {
    check_via(
        "SIP  / 2.0  / TCP     spindle.example.com   ;  branch  =   z9hG4bK9ikj8",
        Some((
            "TCP",
            "spindle.example.com",
            None,
            Some("z9hG4bK9ikj8"),
            None,
            None,
        )),
    );
}
#[test]
fn via_unknown_transport() {
    check_via(
        "SIP/2.0/UNKNOWN t4.example.com;branch=z9hG4bKasd0f3en",
        Some((
            "UNKNOWN",
            "t4.example.com",
            None,
            Some("z9hG4bKasd0f3en"),
            None,
            None,
        )),
    );
}
#[test]
fn via_bad_port() {
    check_via("SIP/2.0/UDP h:70000", None);
}
#[test]
fn via_no_host() {
    check_via("SIP/2.0/UDP", None);
}
#[test]
fn via_not_protocol() {
    check_via("garbage", None);
}

#[test]
fn vias_in_order_across_headers_and_commas() {
    let m = ok(b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP a;branch=1, SIP/2.0/UDP b;branch=2\r\nv: SIP/2.0/TCP c;branch=3\r\n\r\n");
    let hosts: Vec<_> = m.vias().map(|v| (v.host, v.branch)).collect();
    assert_eq!(
        hosts,
        [("a", Some("1")), ("b", Some("2")), ("c", Some("3"))]
    );
    assert_eq!(m.top_via().map(|v| v.host), Some("a"));
}

#[test]
fn top_via_malformed_is_none() {
    let m = ok(b"SIP/2.0 200 OK\r\nVia: junk, SIP/2.0/UDP b;branch=2\r\n\r\n");
    assert_eq!(m.top_via(), None);
    assert_eq!(m.vias().count(), 1);
}

/// (scheme, user, host, port, params)
type UriRow<'s> = (&'s str, Option<&'s str>, &'s str, Option<u16>, &'s str);

fn check_uri(input: &str, expected: Result<UriRow<'_>, &str>) {
    let got = Uri::parse(input)
        .map(|u| (u.scheme, u.user, u.host, u.port, u.params))
        .map_err(|e| e.code());
    assert_eq!(got, expected, "{input:?}");
}

#[test]
fn uri_full() {
    check_uri(
        "sip:alice@atlanta.com:5061;transport=tls",
        Ok((
            "sip",
            Some("alice"),
            "atlanta.com",
            Some(5061),
            "transport=tls",
        )),
    );
}
#[test]
fn uri_no_user() {
    check_uri("sip:10.0.0.1", Ok(("sip", None, "10.0.0.1", None, "")));
}
#[test]
fn uri_sips() {
    check_uri(
        "sips:bob@b.com",
        Ok(("sips", Some("bob"), "b.com", None, "")),
    );
}
#[test]
fn uri_angle() {
    check_uri(
        "<sip:bob@b.com;lr>",
        Ok(("sip", Some("bob"), "b.com", None, "lr")),
    );
}
#[test]
fn uri_password() {
    let u = Uri::parse("sip:bob:secret@b.com").expect("valid");
    assert_eq!((u.user, u.password), (Some("bob"), Some("secret")));
}
#[test]
fn uri_ipv6() {
    check_uri(
        "sip:[2001:db8::10]:5070",
        Ok(("sip", None, "2001:db8::10", Some(5070), "")),
    );
}
#[test]
fn uri_semicolon_user() {
    check_uri(
        "sip:user;par=u%40example.net@example.com",
        Ok((
            "sip",
            Some("user;par=u%40example.net"),
            "example.com",
            None,
            "",
        )),
    );
}
#[test]
fn uri_headers() {
    let u = Uri::parse("sip:user@example.com?Route=%3Csip:example.com%3E").expect("valid");
    assert_eq!(
        (u.host, u.headers),
        ("example.com", Some("Route=%3Csip:example.com%3E"))
    );
}
#[test]
fn uri_tel() {
    check_uri(
        "tel:+1-201-555-0123;phone-context=x",
        Ok(("tel", None, "+1-201-555-0123", None, "phone-context=x")),
    );
}
#[test]
fn uri_unknown_scheme() {
    check_uri(
        "nobodyknowsthisscheme:totallyopaquecontent",
        Ok((
            "nobodyknowsthisscheme",
            None,
            "totallyopaquecontent",
            None,
            "",
        )),
    );
}
#[test]
fn uri_no_scheme() {
    check_uri("bob@example.com", Err("bad-uri"));
}
#[test]
fn uri_bad_scheme() {
    check_uri("1sip:a", Err("bad-uri"));
}
#[test]
fn uri_bad_port() {
    check_uri("sip:a@b:99999", Err("bad-uri"));
}
#[test]
fn uri_lws_inside() {
    check_uri(
        "sip:user@example.com; lr",
        Ok(("sip", Some("user"), "example.com", None, " lr")),
    );
}
#[test]
fn uri_param_lookup() {
    let u = Uri::parse("sip:a@b;transport=TCP;lr").expect("valid");
    assert_eq!(param(u.params, "transport"), Some(Some("TCP")));
    assert_eq!(param(u.params, "lr"), Some(None));
    assert_eq!(param(u.params, "maddr"), None);
}

fn check_reasons(values: &str, expected: &[(&str, Option<u16>, Option<&str>)]) {
    let buf = with_header(values);
    let m = ok(&buf);
    let got: Vec<_> = m
        .reasons()
        .iter()
        .map(|r| (r.protocol, r.cause, r.text))
        .collect();
    assert_eq!(got, expected, "{values:?}");
}

#[test]
fn reason_q850() {
    check_reasons(
        "Reason: Q.850;cause=16;text=\"Normal call clearing\"",
        &[("Q.850", Some(16), Some("Normal call clearing"))],
    );
}
#[test]
fn reason_sip() {
    check_reasons(
        "Reason: SIP ;cause=200 ;text=\"Call completed elsewhere\"",
        &[("SIP", Some(200), Some("Call completed elsewhere"))],
    );
}
#[test]
fn reason_several() {
    check_reasons(
        "Reason: SIP;cause=480, Q.850;cause=18\r\nReason: preemption ;cause=1",
        &[
            ("SIP", Some(480), None),
            ("Q.850", Some(18), None),
            ("preemption", Some(1), None),
        ],
    );
}
#[test]
fn reason_text_with_comma_and_semicolon() {
    check_reasons(
        "Reason: Q.850;cause=17;text=\"busy; sorry, really\"",
        &[("Q.850", Some(17), Some("busy; sorry, really"))],
    );
}
#[test]
fn reason_bad_cause() {
    check_reasons("Reason: Q.850;cause=abc", &[("Q.850", None, None)]);
}

fn check_warnings(values: &str, expected: &[(u16, &str, &str)]) {
    let buf = with_header(values);
    let m = ok(&buf);
    let got: Vec<_> = m
        .warnings()
        .iter()
        .map(|w| (w.code, w.agent, w.text))
        .collect();
    assert_eq!(got, expected, "{values:?}");
}

#[test]
fn warning_basic() {
    check_warnings(
        "Warning: 307 isi.edu \"Session parameter 'foo' not understood\"",
        &[(307, "isi.edu", "Session parameter 'foo' not understood")],
    );
}
#[test]
fn warning_two() {
    check_warnings(
        "Warning: 301 isi.edu \"Incompatible network address type 'E.164'\", 399 devnull \"Choose a bigger pipe\"",
        &[(301, "isi.edu", "Incompatible network address type 'E.164'"), (399, "devnull", "Choose a bigger pipe")],
    );
}
#[test]
fn warning_bad_code() {
    check_warnings("Warning: 1812 overture \"In Progress\"", &[]);
}

fn check_ms_diag(value: &str, expected: Option<MsDiagnostic<'_>>) {
    let buf = with_header(&format!("ms-diagnostics: {value}"));
    let m = ok(&buf);
    assert_eq!(m.ms_diagnostics().into_iter().next(), expected, "{value:?}");
}

#[test]
fn ms_diag_full() {
    check_ms_diag(
        "1008;reason=\"Unable to resolve DNS SRV record\";source=\"fe01.contoso.com\";WinsockFailureCode=\"10060(WSAETIMEDOUT)\"",
        Some(MsDiagnostic {
            error_id: 1008,
            sub_code: None,
            source: Some("fe01.contoso.com"),
            reason: Some("Unable to resolve DNS SRV record"),
            attrs: vec![("WinsockFailureCode", "10060(WSAETIMEDOUT)")],
        }),
    );
}
#[test]
fn ms_diag_sub_code() {
    check_ms_diag(
        "1008.5;source=\"h\"",
        Some(MsDiagnostic {
            error_id: 1008,
            sub_code: Some(5),
            source: Some("h"),
            reason: None,
            attrs: vec![],
        }),
    );
}
#[test]
fn ms_diag_reason_with_separators() {
    check_ms_diag(
        "5001;reason=\"Request timed out; no answer, really\"",
        Some(MsDiagnostic {
            error_id: 5001,
            sub_code: None,
            source: None,
            reason: Some("Request timed out; no answer, really"),
            attrs: vec![],
        }),
    );
}
#[test]
fn ms_diag_bad_id() {
    check_ms_diag("abc;reason=\"x\"", None);
}
#[test]
fn ms_diag_public_separate() {
    let m = ok(b"SIP/2.0 504 Server time-out\r\nms-diagnostics-public: 1046;reason=\"Failed to connect\"\r\n\r\n");
    assert!(m.ms_diagnostics().is_empty());
    assert_eq!(
        m.ms_diagnostics_public().first().map(|d| d.error_id),
        Some(1046)
    );
}

#[test]
fn misc_accessors() {
    let m = ok(b"INVITE sip:b@b SIP/2.0\r\nMax-Forwards: 70\r\nUser-Agent: Foo/1.0\r\nRecord-Route: <sip:p1;lr>, <sip:p2;lr>\r\nRecord-Route: <sip:p3;lr>\r\nRoute: <sip:r1;lr>\r\nContact: <sip:c1@h>;expires=60, \"X\" <sip:c2@h>\r\n\r\n");
    assert_eq!(m.max_forwards(), Some(70));
    assert_eq!(m.user_agent(), Some("Foo/1.0"));
    assert_eq!(m.server(), None);
    assert_eq!(m.record_route(), ["sip:p1;lr", "sip:p2;lr", "sip:p3;lr"]);
    assert_eq!(m.route(), ["sip:r1;lr"]);
    assert_eq!(m.contact().map(|c| c.uri), Some("sip:c1@h"));
    assert_eq!(
        m.contacts().map(|c| c.uri).collect::<Vec<_>>(),
        ["sip:c1@h", "sip:c2@h"]
    );
    assert_eq!(m.method(), Some(Method::Invite));
    assert!(m.is_request());
}

// --- authentication, expiry and session timers -----------------------------------------------------

fn check_auth(name_value: &str, expected: Option<(&str, Option<&str>, Option<&str>, bool)>) {
    let buf = with_header(name_value);
    let m = ok(&buf);
    let got = m
        .challenge()
        .or_else(|| m.credentials())
        .map(|a| (a.scheme, a.realm, a.username, a.stale));
    assert_eq!(got, expected, "{name_value:?}");
}

#[test]
fn auth_challenge_with_stale() {
    check_auth(
        "WWW-Authenticate: Digest realm=\"lab.example\", nonce=\"a,b\", stale=TRUE, algorithm=MD5",
        Some(("Digest", Some("lab.example"), None, true)),
    );
}
#[test]
fn auth_challenge_not_stale() {
    check_auth(
        "Proxy-Authenticate: Digest nonce=\"13d4\",realm=\"stratus.com\",algorithm=MD5",
        Some(("Digest", Some("stratus.com"), None, false)),
    );
    check_auth(
        "WWW-Authenticate: Digest realm=\"r\", stale=false",
        Some(("Digest", Some("r"), None, false)),
    );
}
#[test]
fn auth_credentials() {
    check_auth(
        "Authorization: Digest username=\"bob\",realm=\"lab.example\",uri=\"sip:192.0.2.20:5060\",response=\"26\"",
        Some(("Digest", Some("lab.example"), Some("bob"), false)),
    );
}
#[test]
fn auth_without_scheme() {
    check_auth("WWW-Authenticate: ", None);
    check_auth("WWW-Authenticate: \"quoted\" realm=x", None);
}

#[test]
fn expiry_values() {
    let m = ok(b"SIP/2.0 423 Interval Too Brief\r\nExpires: 10\r\nMin-Expires:  20 \r\n\r\n");
    assert_eq!((m.expires(), m.min_expires()), (Some(10), Some(20)));
    let m = ok(b"SIP/2.0 200 OK\r\nExpires: Thu, 01 Dec 1994 16:00:00 GMT\r\n\r\n");
    assert_eq!(m.expires(), None);
    let m = ok(b"SIP/2.0 200 OK\r\nExpires: 99999999999\r\n\r\n");
    assert_eq!(m.expires(), Some(u32::MAX));
}

#[test]
fn session_timer_values() {
    let m = ok(b"SIP/2.0 200 OK\r\nx: 90;refresher=uac\r\nMin-SE: 90;lr\r\n\r\n");
    assert_eq!(
        m.session_expires(),
        Some(SessionExpires {
            secs: 90,
            refresher: Some("uac")
        })
    );
    assert_eq!(m.min_se(), Some(90));
    let m = ok(b"SIP/2.0 200 OK\r\nSession-Expires: 1800\r\n\r\n");
    assert_eq!(
        m.session_expires(),
        Some(SessionExpires {
            secs: 1800,
            refresher: None
        })
    );
    let m = ok(b"SIP/2.0 200 OK\r\nSession-Expires: soon\r\n\r\n");
    assert_eq!(m.session_expires(), None);
}

#[test]
fn ms_client_diagnostics_with_media_debug() {
    let m = ok(b"BYE sip:a SIP/2.0\r\nms-client-diagnostics: 51004; reason=\"Action initiated by User\"; CalleeMediaDebug=\"audio:ICEWarn=0x40003a0, LocalSite=192.168.100.1:50034,LocalMR=192.168.100.1::58503,,,PortRange=50020:50039\"\r\n\r\n");
    let d = m.ms_client_diagnostics();
    assert_eq!(d.len(), 1);
    assert_eq!(
        (d[0].error_id, d[0].reason),
        (51004, Some("Action initiated by User"))
    );
    assert_eq!(d[0].attrs[0].0, "CalleeMediaDebug");
    let media = MediaDebug::parse_all(d[0].attrs[0].1);
    assert_eq!(
        media,
        vec![MediaDebug {
            media: Some("audio"),
            fields: vec![
                ("ICEWarn", "0x40003a0"),
                ("LocalSite", "192.168.100.1:50034"),
                ("LocalMR", "192.168.100.1::58503"),
                ("PortRange", "50020:50039"),
            ],
        }]
    );
    assert!(m.ms_diagnostics().is_empty());
}

#[test]
fn media_debug_sections_and_bare_fields() {
    let two =
        MediaDebug::parse_all("audio:ICEWarn=0x0,LocalSite=[2001:db8::1]:5000,video:ICEWarn=0x20");
    assert_eq!(two.len(), 2);
    assert_eq!(two[0].fields[1], ("LocalSite", "[2001:db8::1]:5000"));
    assert_eq!(
        (two[1].media, two[1].fields[0]),
        (Some("video"), ("ICEWarn", "0x20"))
    );
    let bare = MediaDebug::parse_all("ICEWarn=0x1,MrDnsU=edge.example.com");
    assert_eq!((bare[0].media, bare[0].fields.len()), (None, 2));
    assert!(MediaDebug::parse_all("").is_empty());
}
