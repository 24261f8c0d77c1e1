//! Tests of `proto::sip`: shared helpers here, one file per part of the parser, RFC 4475 torture messages, and
//! the no-panic and round-trip property tests.

use super::*;

mod body;
mod framing;
mod headers;
mod message;
mod prop;
mod registry;
mod rfc4475;

/// Replaces `{CL}` in the head by the body length and joins head and body.
fn msg(head: &str, body: &str) -> Vec<u8> {
    let mut out = head.replace("{CL}", &body.len().to_string()).into_bytes();
    out.extend_from_slice(body.as_bytes());
    out
}

const FILLER: &[u8] = b"X-Filler: 0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789\r\n";

/// A short printable excerpt of test input for assertion messages.
fn show(buf: &[u8]) -> String {
    String::from_utf8_lossy(buf.get(..200).unwrap_or(buf)).into_owned()
}

fn ok(buf: &[u8]) -> Message<'_> {
    match parse(buf) {
        Ok(m) => m,
        Err(e) => panic!("{e}: {}", show(buf)),
    }
}

/// Runs every public entry point and accessor on `buf`; used by the no-panic tests.
fn exercise(buf: &[u8]) {
    let _ = looks_like_sip(buf);
    let _ = frame(buf);
    if let Ok(m) = parse_head(buf) {
        let _ = (m.call_id(), m.cseq(), m.top_via(), m.check_complete());
    }
    for m in parse_all(buf).flatten() {
        let _ = (
            m.call_id(),
            m.cseq(),
            m.from(),
            m.to(),
            m.contact(),
            m.top_via(),
        );
        let _ = (
            m.vias().count(),
            m.record_route(),
            m.route(),
            m.max_forwards(),
        );
        let _ = (
            m.reasons(),
            m.warnings(),
            m.ms_diagnostics(),
            m.ms_diagnostics_public(),
        );
        let _ = (
            m.sdp_bodies(),
            m.content_length(),
            m.content_type(),
            m.check_complete(),
        );
        let _ = (m.user_agent(), m.server());
        let _ = (m.challenge(), m.credentials(), m.expires(), m.min_expires());
        let _ = (m.session_expires(), m.min_se());
        if let StartLine::Request { uri, .. } = m.start {
            let _ = Uri::parse(uri);
        }
        for c in m.contacts() {
            let _ = Uri::parse(c.uri);
        }
    }
}

const SDP: &str = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n";
