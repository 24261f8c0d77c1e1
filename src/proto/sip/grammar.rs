//! Lexical rules and the grammar of SIP header values (RFC 3261 §7.3.1, §25.1), in nom's `IResult` shape.
//!
//! Takes in: header-block bytes (line splitting, LWS trimming, decimal numbers) or one header value as text.
//! Produces: byte predicates citing the RFC 3261 ABNF, line and LWS helpers over bytes, rules (scanning bytes, not chars) for the pieces
//! of typed header values (token, sent-protocol, host and port, quoted-string, CSeq), the split of a value at
//! commas or semicolons outside quotes and angle brackets, and the `generic-param` iterator [`params`].
//! Does not: expose nom: the rules are `pub(super)` and return [`IResult`] only to the other `sip` modules,
//! which turn failures into `Option` or [`super::Error`]; nothing here unescapes quoted-pairs or `%HH`.

use nom::error::{Error, ErrorKind};
use nom::IResult;

/// The only SIP-Version accepted (RFC 3261 §7.1: `SIP-Version = "SIP" "/" 1*DIGIT "." 1*DIGIT`).
pub(super) const VERSION: &[u8] = b"SIP/2.0";

/// RFC 3261 §25.1: `token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~")`.
pub fn is_token_char(b: u8) -> bool {
    TOKEN[usize::from(b)]
}

/// [`is_token_char`] as a table: header names and methods are checked byte by byte.
const TOKEN: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'-' | b'.' | b'!' | b'%' | b'*' | b'_' | b'+' | b'`' | b'\'' | b'~'
            );
        b += 1;
    }
    t
};

/// `WSP = SP / HTAB` (RFC 3261 §25.1, after RFC 2234).
pub(super) fn is_wsp(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// A byte of `LWS = [*WSP CRLF] 1*WSP` (RFC 3261 §25.1); CR and LF count, so folded values trim whole.
pub(super) fn is_lws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// Strips [`is_lws`] bytes from both ends.
pub(super) fn trim_lws(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s {
        if is_lws(*first) {
            s = rest;
        } else {
            break;
        }
    }
    while let [rest @ .., last] = s {
        if is_lws(*last) {
            s = rest;
        } else {
            break;
        }
    }
    s
}

/// Strips LWS characters from both ends of text (bytes compared: LWS is ASCII, so the cuts fall on
/// char boundaries).
pub(super) fn trim_lws_str(s: &str) -> &str {
    let b = s.as_bytes();
    let start = b.iter().position(|&c| !is_lws(c)).unwrap_or(b.len());
    let end = b.iter().rposition(|&c| !is_lws(c)).map_or(start, |i| i + 1);
    s.get(start..end).unwrap_or_default()
}

/// Returns the line starting at `pos` (without CR LF) and the index after its LF (or `buf.len()`).
pub(super) fn next_line(buf: &[u8], pos: usize) -> (&[u8], usize) {
    let rest = buf.get(pos..).unwrap_or_default();
    match memchr::memchr(b'\n', rest) {
        Some(i) => {
            let line = rest.get(..i).unwrap_or_default();
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            (line, pos.saturating_add(i).saturating_add(1))
        }
        None => {
            let line = rest.strip_suffix(b"\r").unwrap_or(rest);
            (line, buf.len())
        }
    }
}

/// How many CR and LF bytes precede the start line (RFC 3261 §7.5 tells implementations to ignore them).
pub(super) fn leading_line_breaks(buf: &[u8]) -> usize {
    buf.iter()
        .take_while(|&&b| b == b'\r' || b == b'\n')
        .count()
}

/// `1*DIGIT` as a number: `None` when empty, longer than 20 digits, not all digits, or over `u64::MAX`.
pub(super) fn parse_decimal(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || digits.len() > 20 {
        return None;
    }
    digits.iter().try_fold(0u64, |acc, &b| {
        if b.is_ascii_digit() {
            acc.checked_mul(10)?.checked_add(u64::from(b - b'0'))
        } else {
            None
        }
    })
}

/// The longest prefix of `i` whose bytes satisfy `keep`, and the rest. Byte by byte instead of char
/// by char: every rule here stops at an ASCII byte (or at the end), so the cut is a char boundary.
fn take_bytes(i: &str, keep: impl Fn(u8) -> bool) -> (&str, &str) {
    let n = i.bytes().position(|b| !keep(b)).unwrap_or(i.len());
    let (taken, rest) = i.split_at_checked(n).unwrap_or((i, ""));
    (rest, taken)
}

/// [`take_bytes`] that must take at least one byte.
fn take_bytes1(i: &str, keep: impl Fn(u8) -> bool) -> IResult<&str, &str> {
    match take_bytes(i, keep) {
        (_, "") => Err(nom::Err::Error(Error::new(i, ErrorKind::TakeWhile1))),
        taken => Ok(taken),
    }
}

/// The ASCII byte `b`.
fn byte(i: &str, b: u8) -> IResult<&str, u8> {
    match i.as_bytes().first() {
        Some(&c) if c == b => Ok((i.get(1..).unwrap_or_default(), c)),
        _ => Err(nom::Err::Error(Error::new(i, ErrorKind::Char))),
    }
}

/// `1*DIGIT`.
fn digits(i: &str) -> IResult<&str, &str> {
    take_bytes1(i, |b| b.is_ascii_digit())
}

/// `token` (RFC 3261 §25.1).
pub(super) fn token(i: &str) -> IResult<&str, &str> {
    take_bytes1(i, is_token_char)
}

/// `SWS = [LWS]`: any run of SP, HTAB, CR and LF, possibly empty.
pub(super) fn lws(i: &str) -> IResult<&str, &str> {
    Ok(take_bytes(i, is_lws))
}

/// `CSeq = 1*DIGIT LWS Method` (RFC 3261 §20.16).
pub(super) fn cseq(i: &str) -> IResult<&str, (&str, &str)> {
    let (i, _) = lws(i)?;
    let (i, seq) = digits(i)?;
    let (i, _) = take_bytes1(i, is_lws)?;
    let (i, method) = token(i)?;
    let (i, _) = lws(i)?;
    Ok((i, (seq, method)))
}

/// `sent-protocol = protocol-name SLASH protocol-version SLASH transport` (RFC 3261 §20.42), LWS allowed
/// around each slash.
pub(super) fn sent_protocol(i: &str) -> IResult<&str, (&str, &str, &str)> {
    let (i, _) = lws(i)?;
    let (i, name) = token(i)?;
    let (i, _) = slash(i)?;
    let (i, version) = token(i)?;
    let (i, _) = slash(i)?;
    let (i, transport) = token(i)?;
    Ok((i, (name, version, transport)))
}

/// `SLASH = SWS "/" SWS` (RFC 3261 §25.1).
fn slash(i: &str) -> IResult<&str, u8> {
    let (i, _) = lws(i)?;
    let (i, c) = byte(i, b'/')?;
    let (i, _) = lws(i)?;
    Ok((i, c))
}

/// `host [":" port]` with IPv6 references in brackets; returns host without brackets and raw port digits.
pub(super) fn host_port(i: &str) -> IResult<&str, (&str, Option<&str>)> {
    let (i, host) = if let Some(inner) = i.strip_prefix('[') {
        let (rest, h) = take_bytes1(inner, |c| c.is_ascii_hexdigit() || c == b':' || c == b'.')?;
        let (rest, _) = byte(rest, b']')?;
        (rest, h)
    } else {
        take_bytes1(i, |c| {
            !matches!(
                c,
                b':' | b';' | b',' | b'?' | b'>' | b' ' | b'\t' | b'\r' | b'\n'
            )
        })?
    };
    match i.strip_prefix(':') {
        Some(after) => {
            let (i, port) = digits(after)?;
            Ok((i, (host, Some(port))))
        }
        None => Ok((i, (host, None))),
    }
}

/// `quoted-string = SWS DQUOTE *(qdtext / quoted-pair) DQUOTE`; returns the inner text, escapes kept.
pub(super) fn quoted_string(i: &str) -> IResult<&str, &str> {
    let (i, _) = lws(i)?;
    let (body, _) = byte(i, b'"')?;
    let mut escaped = false;
    for (idx, c) in body.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == '"' {
            let inner = body.get(..idx).unwrap_or_default();
            let rest = body.get(idx + 1..).unwrap_or_default();
            return Ok((rest, inner));
        }
    }
    Err(nom::Err::Error(nom::error::Error::new(
        i,
        nom::error::ErrorKind::Char,
    )))
}

/// Splits a header value at `sep` outside quoted strings and angle brackets; pieces are trimmed, empty ones
/// skipped.
#[derive(Debug, Clone)]
pub(super) struct Split<'s> {
    rest: Option<&'s str>,
    sep: u8,
}

/// The first `b` (an ASCII byte, so the index is a char boundary) in `s`: memchr, cheaper than
/// `str::find(char)` on the short values headers hold.
pub(super) fn find_byte(s: &str, b: u8) -> Option<usize> {
    memchr::memchr(b, s.as_bytes())
}

/// `s` cut around its first `b` (an ASCII byte), as `str::split_once`.
pub(super) fn split_at_byte(s: &str, b: u8) -> Option<(&str, &str)> {
    let i = find_byte(s, b)?;
    Some((s.get(..i)?, s.get(i + 1..)?))
}

/// `sep` is an ASCII byte (`,` or `;`), so a cut always falls on a char boundary.
pub(super) fn split_outside(s: &str, sep: u8) -> Split<'_> {
    Split { rest: Some(s), sep }
}

impl<'s> Iterator for Split<'s> {
    type Item = &'s str;

    fn next(&mut self) -> Option<&'s str> {
        loop {
            let s = self.rest?;
            let piece = match find_outside(s.as_bytes(), self.sep) {
                Some(i) => {
                    self.rest = s.get(i + 1..);
                    s.get(..i).unwrap_or_default()
                }
                None => {
                    self.rest = None;
                    s
                }
            };
            let piece = trim_lws_str(piece);
            if !piece.is_empty() {
                return Some(piece);
            }
        }
    }
}

/// The first `sep` in `b` outside quoted strings and angle brackets. Bytes, not chars: every
/// delimiter is ASCII and UTF-8 continuation bytes never are, so memchr finds them.
fn find_outside(b: &[u8], sep: u8) -> Option<usize> {
    let mut i = 0;
    let mut angle = false;
    loop {
        let rest = b.get(i..)?;
        let at = i + if angle {
            memchr::memchr2(b'>', b'"', rest)?
        } else {
            memchr::memchr3(sep, b'"', b'<', rest)?
        };
        match b.get(at) {
            Some(b'"') => i = after_quote(b, at + 1)?,
            Some(b'<') => {
                angle = true;
                i = at + 1;
            }
            Some(b'>') => {
                angle = false;
                i = at + 1;
            }
            _ => return Some(at),
        }
    }
}

/// The index after the `"` closing a quoted string whose text starts at `i` (quoted-pairs skipped);
/// `None` when it is never closed.
fn after_quote(b: &[u8], mut i: usize) -> Option<usize> {
    loop {
        let at = i + memchr::memchr2(b'"', b'\\', b.get(i..)?)?;
        if b.get(at) == Some(&b'"') {
            return Some(at + 1);
        }
        i = at + 2;
    }
}

fn unquote(s: &str) -> &str {
    let s = trim_lws_str(s);
    s.strip_prefix('"')
        .and_then(|inner| inner.strip_suffix('"'))
        .unwrap_or(s)
}

/// Iterates `;name[=value]` parameters (values unquoted, escapes kept) of a parameter list without the
/// leading `;`.
pub fn params(list: &str) -> impl Iterator<Item = (&str, Option<&str>)> {
    split_outside(list, b';').map(|p| match split_at_byte(p, b'=') {
        Some((n, v)) => (trim_lws_str(n), Some(unquote(v))),
        None => (p, None),
    })
}

/// The value of parameter `name` (case-insensitive): `None` absent, `Some(None)` present without value.
pub fn param<'s>(list: &'s str, name: &str) -> Option<Option<&'s str>> {
    params(list)
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}
