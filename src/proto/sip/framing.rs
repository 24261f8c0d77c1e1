//! Recognising SIP in a payload and framing messages in datagrams and streams (RFC 3261 §18.3, RFC 5626 §3.5.1).
//!
//! Takes in: the payload of one UDP datagram or the unread start of one TCP byte stream.
//! Produces: [`looks_like_sip`] (a cheap content check on the start line), [`frame`] (the length of the next
//! message of a stream by its header block end and Content-Length, or why more bytes are needed, or why the
//! stream cannot be framed) and [`parse_all`] (every message of one datagram or segment).
//! Does not: buffer stream bytes or resynchronise (TCP reassembly does both with [`frame`]), or build headers
//! while framing: [`frame`] only scans for Content-Length.

use super::grammar::{
    is_lws, is_token_char, is_wsp, leading_line_breaks, next_line, parse_decimal, trim_lws, VERSION,
};
use super::message::{parse, Message};
use super::{Error, MAX_CONTENT_LENGTH, MAX_HEADER_BLOCK};

/// Cheap content check: does `buf` start with a SIP Request-Line or Status-Line (after optional CRLFs)?
///
/// Accepts `SIP/2.0 3DIGIT (SP / CR / LF)` and `token SP <anything without CR/LF> SP SIP/2.0 CRLF`.
/// It never allocates and rejects most non-SIP payloads at the first byte (RTP starts with 0x80..0xBF, STUN
/// with 0x00/0x01, neither a token character).
pub fn looks_like_sip(buf: &[u8]) -> bool {
    let skip = leading_line_breaks(buf).min(4);
    let buf = buf.get(skip..).unwrap_or_default();
    let Some(&first) = buf.first() else {
        return false;
    };
    if first == b'S' {
        if let Some(rest) = buf.strip_prefix(b"SIP/2.0 ") {
            return matches!(rest, [a, b, c, d, ..]
                if a.is_ascii_digit() && b.is_ascii_digit() && c.is_ascii_digit()
                    && matches!(d, b' ' | b'\r' | b'\n'))
                || matches!(rest, [a, b, c] if a.is_ascii_digit() && b.is_ascii_digit() && c.is_ascii_digit());
        }
    }
    if !is_token_char(first) {
        return false;
    }
    // Any token length is accepted (fuzzing tools send methods of thousands of bytes); the scan stops at the
    // first non-token byte, which comes early in anything that is not SIP.
    let method_len = buf.iter().take_while(|&&b| is_token_char(b)).count();
    if method_len == 0 || buf.get(method_len) != Some(&b' ') {
        return false;
    }
    let line_end = buf
        .iter()
        .position(|&b| b == b'\n' || b == b'\r')
        .unwrap_or(buf.len());
    let Some(line) = buf.get(..line_end) else {
        return false;
    };
    let line = trim_lws(line);
    line.len() > method_len + VERSION.len() + 1
        && line
            .get(line.len() - VERSION.len()..)
            .is_some_and(|v| v.eq_ignore_ascii_case(VERSION))
        && line.get(line.len() - VERSION.len() - 1) == Some(&b' ')
}

/// Result of [`frame`] on the start of a byte stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Framing {
    /// One whole message occupies the first `len` bytes.
    Complete { len: usize },
    /// More bytes are needed; `needed` is exact once the header block and Content-Length are known.
    Incomplete { needed: Option<usize> },
    /// The first `len` bytes are CRLF keep-alives (RFC 5626 §3.5.1) to skip.
    KeepAlive { len: usize },
    /// The stream cannot be framed as SIP from here.
    Invalid(Error),
}

/// Frames the next message of a stream transport (RFC 3261 §18.3) by its header block end and Content-Length.
///
/// A missing Content-Length is taken as 0 (it is mandatory on streams). The header block must end within
/// [`MAX_HEADER_BLOCK`] bytes and Content-Length must not exceed [`MAX_CONTENT_LENGTH`].
pub fn frame(buf: &[u8]) -> Framing {
    let lead = leading_line_breaks(buf);
    if lead > 0 {
        return Framing::KeepAlive { len: lead };
    }
    if buf.is_empty() {
        return Framing::Incomplete { needed: None };
    }
    // Once the first line is complete, reject streams that are not SIP so the caller can resynchronise.
    if buf.iter().take(MAX_HEADER_BLOCK).any(|&b| b == b'\n') && !looks_like_sip(buf) {
        return Framing::Invalid(Error::BadStartLine {
            reason: "not a sip request-line or status-line",
        });
    }
    let window = buf.get(..MAX_HEADER_BLOCK).unwrap_or(buf);
    let Some(header_end) = find_header_end(window) else {
        return if buf.len() >= MAX_HEADER_BLOCK {
            Framing::Invalid(Error::HeaderBlockTooLarge {
                limit: MAX_HEADER_BLOCK,
            })
        } else {
            Framing::Incomplete { needed: None }
        };
    };
    let block = window.get(..header_end).unwrap_or_default();
    let content_length = match scan_content_length(block) {
        Ok(cl) => cl.unwrap_or(0),
        Err(e) => return Framing::Invalid(e),
    };
    if content_length > MAX_CONTENT_LENGTH {
        return Framing::Invalid(Error::ContentLengthTooLarge {
            value: content_length,
            limit: MAX_CONTENT_LENGTH,
        });
    }
    // Bounded by MAX_CONTENT_LENGTH above, so the conversion and the sum cannot overflow on 32/64-bit targets.
    let total = usize::try_from(content_length)
        .ok()
        .and_then(|cl| header_end.checked_add(cl));
    match total {
        Some(total) if buf.len() >= total => Framing::Complete { len: total },
        Some(total) => Framing::Incomplete {
            needed: Some(total - buf.len()),
        },
        None => Framing::Invalid(Error::ContentLengthTooLarge {
            value: content_length,
            limit: MAX_CONTENT_LENGTH,
        }),
    }
}

/// Index just after the empty line ending the header block (CRLF CRLF, or bare LF LF).
fn find_header_end(buf: &[u8]) -> Option<usize> {
    let mut i = 0;
    while i < buf.len() {
        let nl = buf.get(i..)?.iter().position(|&b| b == b'\n')? + i;
        match (buf.get(nl + 1), buf.get(nl + 2)) {
            (Some(b'\n'), _) => return Some(nl + 2),
            (Some(b'\r'), Some(b'\n')) => return Some(nl + 3),
            _ => i = nl + 1,
        }
    }
    None
}

/// Finds the first Content-Length (or `l`) header in a header block without building headers.
fn scan_content_length(block: &[u8]) -> Result<Option<u64>, Error> {
    let mut pos = 0;
    let mut line_no = 0usize;
    while pos < block.len() {
        let (line, next) = next_line(block, pos);
        line_no += 1;
        pos = next;
        if line_no == 1 || line.first().is_some_and(|&b| is_wsp(b)) {
            continue;
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let name = trim_lws(line.get(..colon).unwrap_or_default());
        if name.eq_ignore_ascii_case(b"content-length") || name.eq_ignore_ascii_case(b"l") {
            let value = trim_lws(line.get(colon + 1..).unwrap_or_default());
            return parse_decimal(value)
                .map(Some)
                .ok_or(Error::BadContentLength { line: line_no });
        }
    }
    Ok(None)
}

/// Iterator over the messages of one datagram or segment, see [`parse_all`].
#[derive(Debug, Clone)]
pub struct Messages<'a> {
    rest: &'a [u8],
    first: bool,
}

impl<'a> Messages<'a> {
    /// Bytes not consumed yet (after iteration ends: trailing octets that are not a SIP message).
    pub fn remaining(&self) -> &'a [u8] {
        self.rest
    }
}

impl<'a> Iterator for Messages<'a> {
    type Item = Result<Message<'a>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        let skip = self
            .rest
            .iter()
            .take_while(|&&b| is_lws(b) || b == 0)
            .count();
        let rest = self.rest.get(skip..).unwrap_or_default();
        if rest.is_empty() || (!self.first && !looks_like_sip(rest)) {
            return None;
        }
        self.first = false;
        match parse(rest) {
            Ok(m) => {
                self.rest = if m.truncated.is_some() {
                    &[]
                } else {
                    rest.get(m.len..).unwrap_or_default()
                };
                Some(Ok(m))
            }
            Err(e) => {
                self.rest = &[];
                Some(Err(e))
            }
        }
    }
}

/// All messages in one datagram or segment: the first always (success or error), then each further one that
/// starts with a SIP start line after the previous message's Content-Length. Stops at the first error.
pub fn parse_all(buf: &[u8]) -> Messages<'_> {
    Messages {
        rest: buf,
        first: true,
    }
}
