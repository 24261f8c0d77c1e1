//! Tests of `looks_like_sip`, stream framing by Content-Length and `parse_all`.

use super::*;

// --- looks_like_sip ------------------------------------------------------------------------------------

fn check_looks(input: &[u8], expected: bool) {
    assert_eq!(looks_like_sip(input), expected, "{:?}", show(input));
}

#[test]
fn looks_request() {
    check_looks(b"INVITE sip:a@b SIP/2.0\r\n", true);
}
#[test]
fn looks_request_lf() {
    check_looks(b"BYE sip:a@b SIP/2.0\n", true);
}
#[test]
fn looks_request_tel() {
    check_looks(b"INVITE tel:+123 SIP/2.0\r\nVia: x\r\n", true);
}
#[test]
fn looks_request_unknown_method() {
    check_looks(b"FOO-BAR x:y SIP/2.0\r\n", true);
}
#[test]
fn looks_request_leading_crlf() {
    check_looks(b"\r\nOPTIONS sip:a SIP/2.0\r\n", true);
}
#[test]
fn looks_request_lowercase_version() {
    check_looks(b"OPTIONS sip:a sip/2.0\r\n", true);
}
#[test]
fn looks_request_no_line_end() {
    check_looks(b"OPTIONS sip:a SIP/2.0", true);
}
#[test]
fn looks_status() {
    check_looks(b"SIP/2.0 200 OK\r\n", true);
}
#[test]
fn looks_status_no_reason() {
    check_looks(b"SIP/2.0 100\r\n", true);
}
#[test]
fn looks_status_bare() {
    check_looks(b"SIP/2.0 486", true);
}
#[test]
fn looks_not_status_two_digits() {
    check_looks(b"SIP/2.0 20 OK\r\n", false);
}
#[test]
fn looks_not_status_four_digits() {
    check_looks(b"SIP/2.0 2000 OK\r\n", false);
}
#[test]
fn looks_not_http() {
    check_looks(b"GET / HTTP/1.1\r\n", false);
}
#[test]
fn looks_not_rtp() {
    check_looks(&[0x80, 0x00, 0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 2], false);
}
#[test]
fn looks_not_empty() {
    check_looks(b"", false);
}
#[test]
fn looks_not_keepalive() {
    check_looks(b"\r\n\r\n", false);
}
#[test]
fn looks_not_missing_uri() {
    check_looks(b"INVITE SIP/2.0\r\n", false);
}
#[test]
fn looks_request_unusual_token_method() {
    check_looks(
        b"!interesting-Method0123456789_*+`.%indeed'~ sip:a SIP/2.0\r\n",
        true,
    );
}
#[test]
fn looks_request_long_method() {
    let mut buf = vec![b'a'; 5000];
    buf.extend_from_slice(b" sip:a SIP/2.0\r\n");
    check_looks(&buf, true);
}
#[test]
fn looks_not_sip3() {
    check_looks(b"INVITE sip:a SIP/3.0\r\n", false);
}

// --- framing -------------------------------------------------------------------------------------------

fn check_frame(input: &[u8], expected: Framing) {
    assert_eq!(frame(input), expected, "{:?}", show(input));
}

#[test]
fn frame_complete() {
    check_frame(
        b"OPTIONS sip:a SIP/2.0\r\nl: 2\r\n\r\nabNEXT",
        Framing::Complete { len: 33 },
    );
}
#[test]
fn frame_needs_body() {
    check_frame(
        b"OPTIONS sip:a SIP/2.0\r\nContent-Length: 10\r\n\r\nab",
        Framing::Incomplete { needed: Some(8) },
    );
}
#[test]
fn frame_needs_headers() {
    check_frame(
        b"OPTIONS sip:a SIP/2.0\r\nContent-Len",
        Framing::Incomplete { needed: None },
    );
}
#[test]
fn frame_needs_first_line() {
    check_frame(b"OPTI", Framing::Incomplete { needed: None });
}
#[test]
fn frame_empty() {
    check_frame(b"", Framing::Incomplete { needed: None });
}
#[test]
fn frame_no_length_means_zero() {
    check_frame(
        b"SIP/2.0 200 OK\r\nCall-ID: a\r\n\r\nSIP/2.0",
        Framing::Complete { len: 30 },
    );
}
#[test]
fn frame_bare_lf() {
    check_frame(b"SIP/2.0 200 OK\nl: 1\n\nxy", Framing::Complete { len: 22 });
}
#[test]
fn frame_keepalive_double() {
    check_frame(b"\r\n\r\nINVITE", Framing::KeepAlive { len: 4 });
}
#[test]
fn frame_keepalive_single() {
    check_frame(b"\r\n", Framing::KeepAlive { len: 2 });
}
#[test]
fn frame_not_sip() {
    check_frame(
        b"GET / HTTP/1.1\r\n\r\n",
        Framing::Invalid(Error::BadStartLine {
            reason: "not a sip request-line or status-line",
        }),
    );
}
#[test]
fn frame_bad_length() {
    check_frame(
        b"SIP/2.0 200 OK\r\nl: x1\r\n\r\n",
        Framing::Invalid(Error::BadContentLength { line: 2 }),
    );
}
#[test]
fn frame_negative_length() {
    check_frame(
        b"SIP/2.0 200 OK\r\nContent-Length: -1\r\n\r\n",
        Framing::Invalid(Error::BadContentLength { line: 2 }),
    );
}
#[test]
fn frame_length_too_large() {
    check_frame(
        b"SIP/2.0 200 OK\r\nContent-Length: 999999999999\r\n\r\n",
        Framing::Invalid(Error::ContentLengthTooLarge {
            value: 999_999_999_999,
            limit: MAX_CONTENT_LENGTH,
        }),
    );
}
#[test]
fn frame_length_overflow() {
    check_frame(
        b"SIP/2.0 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n",
        Framing::Invalid(Error::BadContentLength { line: 2 }),
    );
}
#[test]
fn frame_header_block_too_large() {
    let mut buf = b"OPTIONS sip:a SIP/2.0\r\n".to_vec();
    while buf.len() <= MAX_HEADER_BLOCK {
        buf.extend_from_slice(FILLER);
    }
    check_frame(
        &buf,
        Framing::Invalid(Error::HeaderBlockTooLarge {
            limit: MAX_HEADER_BLOCK,
        }),
    );
}
#[test]
fn frame_stream_of_two() {
    let stream = b"\r\n\r\nOPTIONS sip:a SIP/2.0\r\nl: 1\r\n\r\nxSIP/2.0 200 OK\r\nl: 0\r\n\r\n";
    let mut pos = 0;
    let mut seen = Vec::new();
    while pos < stream.len() {
        match frame(&stream[pos..]) {
            Framing::KeepAlive { len } => pos += len,
            Framing::Complete { len } => {
                seen.push(ok(&stream[pos..pos + len]).status());
                pos += len;
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(seen, [None, Some(StatusCode::OK)]);
}

// --- parse_all -----------------------------------------------------------------------------------------

#[test]
fn parse_all_two_messages() {
    let buf = b"SIP/2.0 100 Trying\r\nl: 0\r\n\r\nSIP/2.0 180 Ringing\r\nl: 0\r\n\r\n";
    let got: Vec<_> = parse_all(buf).map(|m| m.map(|m| m.status())).collect();
    assert_eq!(
        got,
        [Ok(Some(StatusCode::TRYING)), Ok(Some(StatusCode::RINGING))]
    );
}
#[test]
fn parse_all_ignores_trailing_junk() {
    let buf = b"SIP/2.0 100 Trying\r\nl: 0\r\n\r\n\0\0junk";
    let mut it = parse_all(buf);
    assert!(it.next().is_some_and(|m| m.is_ok()));
    assert!(it.next().is_none());
    assert_eq!(it.remaining(), b"\0\0junk");
}
#[test]
fn parse_all_first_error() {
    let got: Vec<_> = parse_all(b"junk").collect();
    assert_eq!(got.len(), 1);
    assert!(got[0].is_err());
}
#[test]
fn parse_all_empty() {
    assert_eq!(parse_all(b"\r\n").count(), 0);
}
