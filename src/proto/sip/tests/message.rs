//! Tests of the start line, header fields, errors and the body by Content-Length (datagram semantics).

use std::borrow::Cow;

use super::*;

// --- start line ----------------------------------------------------------------------------------------

fn check_start(input: &str, expected: Result<StartLine<'_>, &str>) {
    let buf = format!("{input}\r\nCall-ID: x\r\n\r\n");
    let got = parse(buf.as_bytes()).map(|m| m.start).map_err(|e| e.code());
    let expected = expected.map(|s| match s {
        StartLine::Request { method, uri } => (Some(method.as_str().to_owned()), uri.to_owned()),
        StartLine::Response { status, reason } => (None, format!("{} {}", status.0, reason)),
    });
    let got = got.map(|s| match s {
        StartLine::Request { method, uri } => (Some(method.as_str().to_owned()), uri.to_owned()),
        StartLine::Response { status, reason } => (None, format!("{} {}", status.0, reason)),
    });
    assert_eq!(got, expected, "{input:?}");
}

fn req<'s>(method: &'s str, uri: &'s str) -> Result<StartLine<'s>, &'s str> {
    Ok(StartLine::Request {
        method: Method::from_token(method),
        uri,
    })
}

fn resp(code: u16, reason: &str) -> Result<StartLine<'_>, &str> {
    Ok(StartLine::Response {
        status: StatusCode(code),
        reason: Cow::Borrowed(reason),
    })
}

#[test]
fn start_invite() {
    check_start(
        "INVITE sip:bob@example.com SIP/2.0",
        req("INVITE", "sip:bob@example.com"),
    );
}
#[test]
fn start_status() {
    check_start("SIP/2.0 180 Ringing", resp(180, "Ringing"));
}
#[test]
fn start_status_multiword() {
    check_start("SIP/2.0 486 Busy Here", resp(486, "Busy Here"));
}
#[test]
fn start_status_empty_reason() {
    check_start("SIP/2.0 100 ", resp(100, ""));
}
#[test]
fn start_status_no_sp() {
    check_start("SIP/2.0 100", resp(100, ""));
}
#[test]
fn start_status_low() {
    check_start("SIP/2.0 099 Low", Err("bad-start-line"));
}
#[test]
fn start_status_high() {
    check_start("SIP/2.0 700 High", Err("bad-start-line"));
}
#[test]
fn start_status_big() {
    check_start(
        "SIP/2.0 4294967301 better not break the receiver",
        Err("bad-start-line"),
    );
}
#[test]
fn start_status_bad_version() {
    check_start("SIP/7.0 200 OK", Err("unsupported-version"));
}
#[test]
fn start_request_bad_version() {
    check_start(
        "OPTIONS sip:t.watson@example.org SIP/7.0",
        Err("unsupported-version"),
    );
}
#[test]
fn start_http() {
    check_start("GET / HTTP/1.1", Err("bad-start-line"));
}
#[test]
fn start_no_uri() {
    check_start("INVITE SIP/2.0", Err("bad-start-line"));
}
#[test]
fn start_method_not_token() {
    check_start("INV(ITE sip:a SIP/2.0", Err("bad-start-line"));
}
#[test]
fn start_lenient_multiple_sp() {
    check_start(
        "INVITE  sip:user@example.com  SIP/2.0",
        req("INVITE", "sip:user@example.com"),
    );
}
#[test]
fn start_lenient_trailing_sp() {
    check_start(
        "OPTIONS sip:remote-target@example.com SIP/2.0  ",
        req("OPTIONS", "sip:remote-target@example.com"),
    );
}
#[test]
fn start_lenient_lws_in_uri() {
    check_start(
        "INVITE sip:user@example.com; lr SIP/2.0",
        req("INVITE", "sip:user@example.com; lr"),
    );
}
#[test]
fn start_lenient_angle_uri() {
    check_start(
        "INVITE <sip:user@example.com> SIP/2.0",
        req("INVITE", "<sip:user@example.com>"),
    );
}
#[test]
fn start_unknown_method_kept() {
    check_start(
        "RE%47IST%45R sip:registrar.example.com SIP/2.0",
        req("RE%47IST%45R", "sip:registrar.example.com"),
    );
}
#[test]
fn start_lowercase_version() {
    check_start("INVITE sip:a@b sip/2.0", req("INVITE", "sip:a@b"));
}

#[test]
fn start_reason_not_utf8_is_lossy() {
    let m = ok(b"SIP/2.0 404 Nicht gefunden \xff\r\n\r\n");
    assert_eq!(
        m.start,
        StartLine::Response {
            status: StatusCode(404),
            reason: Cow::Borrowed("Nicht gefunden \u{fffd}")
        }
    );
}

#[test]
fn start_uri_not_utf8_rejected() {
    assert_eq!(
        parse(b"INVITE sip:\xff@b SIP/2.0\r\n\r\n"),
        Err(Error::NotUtf8 {
            field: "request-uri"
        })
    );
}

// --- headers -------------------------------------------------------------------------------------------

/// Parses `headers` (CRLF-separated lines) after an OPTIONS line and compares (name, value) pairs.
fn check_headers(headers: &str, expected: &[(&str, &str)]) {
    let buf = format!("OPTIONS sip:a@b SIP/2.0\r\n{headers}\r\n\r\n");
    let m = ok(buf.as_bytes());
    let got: Vec<(&str, &str)> = m
        .headers
        .iter()
        .map(|h| (h.name, h.value.as_ref()))
        .collect();
    assert_eq!(got, expected, "{headers:?}");
}

#[test]
fn header_simple() {
    check_headers("Call-ID: abc", &[("Call-ID", "abc")]);
}
#[test]
fn header_no_space() {
    check_headers("Call-ID:abc", &[("Call-ID", "abc")]);
}
#[test]
fn header_space_before_colon() {
    check_headers("Call-ID \t: abc  ", &[("Call-ID", "abc")]);
}
#[test]
fn header_empty_value() {
    check_headers("Subject:", &[("Subject", "")]);
}
#[test]
fn header_compact_all() {
    check_headers(
        "i: 1\r\nf: 2\r\nt: 3\r\nv: 4\r\nm: 5\r\nl: 0\r\nc: 7\r\nk: 8\r\ns: 9\r\ne: 10\r\no: 11\r\nu: 12\r\nr: 13\r\nb: 14\r\nx: 15\r\ny: 16",
        &[
            ("Call-ID", "1"),
            ("From", "2"),
            ("To", "3"),
            ("Via", "4"),
            ("Contact", "5"),
            ("Content-Length", "0"),
            ("Content-Type", "7"),
            ("Supported", "8"),
            ("Subject", "9"),
            ("Content-Encoding", "10"),
            ("Event", "11"),
            ("Allow-Events", "12"),
            ("Refer-To", "13"),
            ("Referred-By", "14"),
            ("Session-Expires", "15"),
            ("Identity", "16"),
        ],
    );
}
#[test]
fn header_compact_uppercase() {
    check_headers("I: x", &[("Call-ID", "x")]);
}
#[test]
fn header_unknown_single_letter_kept() {
    check_headers("q: x", &[("q", "x")]);
}
#[test]
fn header_order_and_repeats_kept() {
    check_headers(
        "Via: a\r\nTo: b\r\nVia: c",
        &[("Via", "a"), ("To", "b"), ("Via", "c")],
    );
}
#[test]
fn header_folded() {
    check_headers(
        "Subject: one\r\n two\r\n\tthree",
        &[("Subject", "one two three")],
    );
}
#[test]
fn header_folded_value_starts_next_line() {
    check_headers("Subject:\r\n  x", &[("Subject", "x")]);
}
#[test]
fn header_folded_bare_lf() {
    check_headers("Subject: one\n two", &[("Subject", "one two")]);
}
#[test]
fn header_colon_in_value() {
    check_headers("Contact: <sip:a@b:5060>", &[("Contact", "<sip:a@b:5060>")]);
}
#[test]
fn header_name_case_kept() {
    check_headers("cAlL-iD: z", &[("cAlL-iD", "z")]);
}

#[test]
fn header_non_utf8_kept_lossless() {
    let m = ok(b"INVITE sip:a@b SIP/2.0\r\nFrom: \"Jos\xe9\" <sip:jose@example.com>;tag=77\r\nCall-ID: c1\r\n\r\n");
    let h = m.header("from").expect("from present");
    assert!(h.is_rewritten());
    assert_eq!(h.raw_value, b"\"Jos\xe9\" <sip:jose@example.com>;tag=77");
    let from = m.from().expect("from parses");
    assert_eq!(from.display, Some("Jos\u{fffd}"));
    assert_eq!(from.tag, Some("77"));
    assert_eq!(m.call_id(), Some("c1"));
}

#[test]
fn header_lookup_case_insensitive_and_compact() {
    let m = ok(b"OPTIONS sip:a SIP/2.0\r\ni: abc\r\n\r\n");
    assert_eq!(m.header_value("CALL-ID"), Some("abc"));
    assert_eq!(m.header_value("i"), Some("abc"));
    assert!(m.headers[0].is("call-id"));
}

#[test]
fn known_fields_are_looked_up_as_by_name_and_absent_ones_not_at_all() {
    let m = ok(b"OPTIONS sip:a SIP/2.0\r\nv: SIP/2.0/UDP a\r\nX-Via: no\r\nvIa: SIP/2.0/TCP b\r\ni: abc\r\n\r\n");
    assert_eq!(m.headers[0].known, Some(Name::Via));
    assert_eq!(m.headers[1].known, None);
    assert_eq!(m.headers[3].known, Some(Name::CallId));
    let by_name: Vec<_> = m.header_values("via").collect();
    let by_field: Vec<_> = m.values(Name::Via).collect();
    assert_eq!(by_name, ["SIP/2.0/UDP a", "SIP/2.0/TCP b"]);
    assert_eq!(by_field, by_name);
    assert_eq!(m.header_value("x-via"), Some("no"));
    assert!(m.has(Name::Via) && m.has(Name::CallId) && !m.has(Name::To));
    assert_eq!(m.first(Name::To), None);
    assert_eq!(m.header("t"), None);
    assert_eq!(m.value(Name::CallId), Some("abc"));
}

fn check_error(input: &[u8], expected: Error) {
    assert_eq!(parse(input), Err(expected), "{:?}", show(input));
}

#[test]
fn reject_empty() {
    check_error(b"", Error::Empty);
}
#[test]
fn reject_only_crlf() {
    check_error(b"\r\n\r\n", Error::Empty);
}
#[test]
fn reject_header_without_colon() {
    check_error(
        b"OPTIONS sip:a SIP/2.0\r\nCall-ID: a\r\nbogus line\r\n\r\n",
        Error::HeaderWithoutColon { line: 3 },
    );
}
#[test]
fn reject_header_bad_name() {
    check_error(
        b"OPTIONS sip:a SIP/2.0\r\nCall ID: a\r\n\r\n",
        Error::BadHeaderName { line: 2 },
    );
}
#[test]
fn reject_header_empty_name() {
    check_error(
        b"OPTIONS sip:a SIP/2.0\r\n: a\r\n\r\n",
        Error::BadHeaderName { line: 2 },
    );
}
#[test]
fn reject_fold_first() {
    check_error(
        b"OPTIONS sip:a SIP/2.0\r\n folded\r\n\r\n",
        Error::FoldBeforeHeader { line: 2 },
    );
}
#[test]
fn reject_header_line_numbers_count_folds() {
    check_error(
        b"OPTIONS sip:a SIP/2.0\r\nA: 1\r\n 2\r\nB\r\n\r\n",
        Error::HeaderWithoutColon { line: 4 },
    );
}
#[test]
fn reject_header_block_too_large() {
    let mut buf = b"OPTIONS sip:a SIP/2.0\r\n".to_vec();
    while buf.len() <= MAX_HEADER_BLOCK + 100 {
        buf.extend_from_slice(FILLER);
    }
    buf.extend_from_slice(b"\r\n");
    check_error(
        &buf,
        Error::HeaderBlockTooLarge {
            limit: MAX_HEADER_BLOCK,
        },
    );
}
#[test]
fn reject_too_many_headers() {
    let mut buf = b"OPTIONS sip:a SIP/2.0\r\n".to_vec();
    for _ in 0..=MAX_HEADERS {
        buf.extend_from_slice(b"A:1\r\n");
    }
    buf.extend_from_slice(b"\r\n");
    check_error(&buf, Error::TooManyHeaders { limit: MAX_HEADERS });
}

#[test]
fn error_codes_are_distinct() {
    let all = [
        Error::Empty,
        Error::BadStartLine { reason: "" },
        Error::UnsupportedVersion {
            version: String::new(),
        },
        Error::HeaderWithoutColon { line: 0 },
        Error::BadHeaderName { line: 0 },
        Error::FoldBeforeHeader { line: 0 },
        Error::HeaderBlockTooLarge { limit: 0 },
        Error::TooManyHeaders { limit: 0 },
        Error::BadContentLength { line: 0 },
        Error::ContentLengthTooLarge { value: 0, limit: 0 },
        Error::ContentLengthExceedsBody {
            declared: 0,
            available: 0,
        },
        Error::UnterminatedHeaders,
        Error::CutShort,
        Error::NotUtf8 { field: "" },
        Error::BadUri { reason: "" },
    ];
    let mut codes: Vec<_> = all.iter().map(Error::code).collect();
    codes.sort_unstable();
    codes.dedup();
    assert_eq!(codes.len(), all.len());
    assert_eq!(
        Error::ContentLengthExceedsBody {
            declared: 10,
            available: 3
        }
        .to_string(),
        "content-length 10 exceeds the 3 bytes available"
    );
}

// --- body and Content-Length (datagram semantics) ------------------------------------------------------

fn check_body(input: &[u8], body: &[u8], truncated: Option<Truncation>, len: usize) {
    let m = ok(input);
    assert_eq!(
        (m.body, m.truncated, m.len),
        (body, truncated, len),
        "{:?}",
        show(input)
    );
}

#[test]
fn body_by_content_length() {
    check_body(
        b"OPTIONS sip:a SIP/2.0\r\nContent-Length: 3\r\n\r\nabcdef",
        b"abc",
        None,
        47,
    );
}
#[test]
fn body_compact_length() {
    check_body(b"OPTIONS sip:a SIP/2.0\r\nl:2\r\n\r\nabc", b"ab", None, 32);
}
#[test]
fn body_without_length_is_rest() {
    check_body(b"OPTIONS sip:a SIP/2.0\r\n\r\nabc", b"abc", None, 28);
}
#[test]
fn body_length_too_large_flagged() {
    check_body(
        b"OPTIONS sip:a SIP/2.0\r\nContent-Length: 9999\r\n\r\nabc",
        b"abc",
        Some(Truncation::Body {
            declared: 9999,
            available: 3,
        }),
        50,
    );
}
#[test]
fn body_negative_length_ignored() {
    check_body(
        b"OPTIONS sip:a SIP/2.0\r\nContent-Length: -999\r\n\r\nabc",
        b"abc",
        None,
        50,
    );
}
#[test]
fn body_bare_lf() {
    check_body(b"OPTIONS sip:a SIP/2.0\nl: 1\n\nxy", b"x", None, 29);
}
#[test]
fn body_unterminated_headers() {
    check_body(
        b"OPTIONS sip:a SIP/2.0\r\nCall-ID: x\r\n",
        b"",
        Some(Truncation::HeaderBlock),
        35,
    );
}
#[test]
fn body_leading_crlf_counted() {
    check_body(b"\r\nOPTIONS sip:a SIP/2.0\r\nl: 0\r\n\r\n", b"", None, 33);
}

// --- the head of a message cut at an arbitrary byte (parse_head) ----------------------------------------

const CUT: &[u8] = b"INVITE sip:b@h SIP/2.0\r\nVia: SIP/2.0/UDP a:5060;branch=z9hG4bK1\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\nSubject: one\r\n two\r\nContent-Length: 900\r\n\r\nv=0\r\no=- 1 1 IN IP4 a\r\n";

fn find(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len())
        .position(|w| w == needle)
        .expect("in the message")
}

fn head(buf: &[u8]) -> Vec<(&str, String)> {
    let m = parse_head(buf).expect("a head");
    assert_eq!(m.truncated, Some(Truncation::Head));
    m.headers
        .iter()
        .map(|h| (h.name, h.value.to_string()))
        .collect()
}

#[test]
fn head_keeps_only_complete_header_lines() {
    // Cut inside "CSeq: 1 INV": Via and Call-ID are whole, the CSeq line is dropped.
    let at = find(CUT, b"CSeq: 1 INV") + 11;
    let names: Vec<_> = head(&CUT[..at]).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["Via", "Call-ID"]);
    // Cut right after "Subject: one\r\n": the line may be folded on, so it goes too.
    let at = find(CUT, b" two");
    let names: Vec<_> = head(&CUT[..at]).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["Via", "Call-ID", "CSeq"]);
    // Past the fold, the folded value is whole.
    let at = find(CUT, b"Content");
    assert_eq!(head(&CUT[..at + 3])[3], ("Subject", "one two".to_string()));
}

#[test]
fn head_with_the_whole_header_block_keeps_the_body_there() {
    let cut = &CUT[..CUT.len() - 5];
    let m = parse_head(cut).expect("a head");
    assert_eq!(m.call_id(), Some("c1"));
    assert!(m.body.starts_with(b"v=0\r\n"));
    assert_eq!(m.truncated, Some(Truncation::Head));
    assert_eq!(m.check_complete(), Err(Error::CutShort));
    // Even a body that fits is flagged: the datagram was cut.
    let whole = b"OPTIONS sip:a SIP/2.0\r\nl: 0\r\n\r\n";
    assert_eq!(
        parse_head(whole).map(|m| m.truncated),
        Ok(Some(Truncation::Head))
    );
}

#[test]
fn head_cut_in_the_start_line_is_an_error() {
    assert_eq!(parse_head(b"INVITE sip:b@h SIP/2."), Err(Error::CutShort));
    assert_eq!(
        parse_head(b"\r\nINVITE sip:b@h SIP/2.0\r"),
        Err(Error::CutShort)
    );
    assert_eq!(parse_head(b""), Err(Error::CutShort));
    // The start line alone is a message without header fields.
    assert_eq!(head(b"INVITE sip:b@h SIP/2.0\r\nVia: SIP/2."), []);
}

#[test]
fn check_complete_reports_truncation() {
    let buf = b"OPTIONS sip:a SIP/2.0\r\nContent-Length: 10\r\n\r\nabc";
    assert_eq!(
        ok(buf).check_complete(),
        Err(Error::ContentLengthExceedsBody {
            declared: 10,
            available: 3
        })
    );
    assert_eq!(
        ok(b"OPTIONS sip:a SIP/2.0\r\n").check_complete(),
        Err(Error::UnterminatedHeaders)
    );
}
