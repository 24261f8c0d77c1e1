//! SIP message recognition, stream framing and parsing (RFC 3261).
//!
//! Takes in: the payload bytes of one UDP datagram or one reassembled TCP byte stream.
//! Produces: borrowed views ([`Message`], [`Header`], [`StartLine`]) over those bytes, typed accessors for the
//! header fields callscope needs (Call-ID, CSeq, From/To, Via, Reason, Warning, ms-diagnostics, SDP bodies), and
//! stream framing ([`frame`]) by Content-Length.
//! Does not: keep transaction or dialog state, validate semantics (missing mandatory headers, CSeq method
//! mismatch, RFC 2543 compatibility), unescape `%HH` sequences or quoted-pair escapes, or parse SDP (see
//! `super::sdp`; [`Message::sdp_bodies`] only hands out the body slices).
//!
//! No-panic contract: every public function accepts arbitrary bytes and returns an error or a (possibly
//! partial) value; no input can make it panic, overflow or allocate more than a small multiple of its length.
//!
//! Choices worth knowing:
//! - Header values are [`Cow<str>`]: borrowed in the common case, owned only when the header was folded over
//!   several lines (obsolete line folding, RFC 3261 §7.3.1, each fold becomes one SP) or when it holds bytes that
//!   are not UTF-8 (replaced by U+FFFD). The exact wire bytes are always kept in [`Header::raw_value`], so nothing
//!   is lost: a non-UTF-8 display name never rejects a message. The reason phrase follows the same rule.
//! - Datagram semantics ([`parse`]): without Content-Length the body is the rest of the datagram; a Content-Length
//!   larger than what is there yields a message flagged with [`Message::truncated`] rather than an error, so the
//!   Call-ID and CSeq of a cut message stay usable ([`Message::check_complete`] turns the flag into an error).
//!   Per RFC 3261 §18.3 octets after Content-Length are not part of the message; [`parse_all`] still looks at
//!   them and yields further messages when they start with a SIP start line.
//! - The start line is parsed leniently: several SP between elements, trailing SP, and LWS inside the
//!   Request-URI are accepted (RFC 4475 §3.1.2.8 to §3.1.2.10); the method is whatever token precedes the first
//!   SP and the version whatever follows the last one.

use std::borrow::Cow;

use nom::bytes::complete::{take_while, take_while1};
use nom::character::complete::{char as nom_char, digit1};
use nom::IResult;

/// Largest header block (start line and header fields) accepted, in bytes.
pub const MAX_HEADER_BLOCK: usize = 64 * 1024;
/// Largest Content-Length accepted by [`frame`], in bytes.
pub const MAX_CONTENT_LENGTH: u64 = 16 * 1024 * 1024;
/// Largest number of header fields kept for one message.
pub const MAX_HEADERS: usize = 1024;
/// Largest number of MIME parts examined by [`Message::sdp_bodies`] (all nesting levels together).
pub const MAX_MULTIPART_PARTS: usize = 32;

/// Why bytes could not be recognised, framed or parsed as SIP.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The input is empty or holds only line breaks.
    #[error("empty message")]
    Empty,
    /// The first line is neither a Request-Line nor a Status-Line (RFC 3261 §7.1, §7.2).
    #[error("bad start line: {reason}")]
    BadStartLine { reason: &'static str },
    /// The start line carries a SIP version other than SIP/2.0.
    #[error("unsupported sip version {version:?}")]
    UnsupportedVersion { version: String },
    /// A header line (1-based line number, the start line is line 1) has no colon.
    #[error("header line {line} has no colon")]
    HeaderWithoutColon { line: usize },
    /// A header line's name is empty or not a token (RFC 3261 §25.1).
    #[error("header line {line} has an invalid name")]
    BadHeaderName { line: usize },
    /// A continuation line (starting with SP or HTAB) appears before any header field.
    #[error("line {line} continues a header but no header precedes it")]
    FoldBeforeHeader { line: usize },
    /// The header block exceeds [`MAX_HEADER_BLOCK`].
    #[error("header block larger than {limit} bytes")]
    HeaderBlockTooLarge { limit: usize },
    /// The message has more header fields than [`MAX_HEADERS`].
    #[error("more than {limit} header fields")]
    TooManyHeaders { limit: usize },
    /// Content-Length is not a decimal number (line number as in `HeaderWithoutColon`).
    #[error("content-length on line {line} is not a decimal number")]
    BadContentLength { line: usize },
    /// Content-Length is larger than [`MAX_CONTENT_LENGTH`].
    #[error("content-length {value} exceeds the limit of {limit} bytes")]
    ContentLengthTooLarge { value: u64, limit: u64 },
    /// Content-Length announces more bytes than the datagram holds.
    #[error("content-length {declared} exceeds the {available} bytes available")]
    ContentLengthExceedsBody { declared: u64, available: usize },
    /// The header block has no terminating empty line.
    #[error("header block not terminated by an empty line")]
    UnterminatedHeaders,
    /// A field that must be UTF-8 (method, Request-URI, version) is not.
    #[error("{field} is not valid utf-8")]
    NotUtf8 { field: &'static str },
    /// A URI does not follow RFC 3261 §19.1 / RFC 3986 closely enough to be split.
    #[error("bad uri: {reason}")]
    BadUri { reason: &'static str },
}

impl Error {
    /// A short stable identifier for counting errors by kind.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Empty => "empty",
            Error::BadStartLine { .. } => "bad-start-line",
            Error::UnsupportedVersion { .. } => "unsupported-version",
            Error::HeaderWithoutColon { .. } => "header-without-colon",
            Error::BadHeaderName { .. } => "bad-header-name",
            Error::FoldBeforeHeader { .. } => "fold-before-header",
            Error::HeaderBlockTooLarge { .. } => "header-block-too-large",
            Error::TooManyHeaders { .. } => "too-many-headers",
            Error::BadContentLength { .. } => "bad-content-length",
            Error::ContentLengthTooLarge { .. } => "content-length-too-large",
            Error::ContentLengthExceedsBody { .. } => "content-length-exceeds-body",
            Error::UnterminatedHeaders => "unterminated-headers",
            Error::NotUtf8 { .. } => "not-utf8",
            Error::BadUri { .. } => "bad-uri",
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Registries

/// A SIP method (RFC 3261 §7.1, methods are case-sensitive); unknown methods are kept as [`Method::Other`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method<'a> {
    Invite,
    Ack,
    Bye,
    Cancel,
    Register,
    Options,
    Info,
    Update,
    Prack,
    Subscribe,
    Notify,
    Refer,
    Message,
    Publish,
    Other(&'a str),
}

impl<'a> Method<'a> {
    /// Maps a method token to the enum; anything unknown becomes `Other`.
    pub fn from_token(token: &'a str) -> Self {
        match token {
            "INVITE" => Method::Invite,
            "ACK" => Method::Ack,
            "BYE" => Method::Bye,
            "CANCEL" => Method::Cancel,
            "REGISTER" => Method::Register,
            "OPTIONS" => Method::Options,
            "INFO" => Method::Info,
            "UPDATE" => Method::Update,
            "PRACK" => Method::Prack,
            "SUBSCRIBE" => Method::Subscribe,
            "NOTIFY" => Method::Notify,
            "REFER" => Method::Refer,
            "MESSAGE" => Method::Message,
            "PUBLISH" => Method::Publish,
            other => Method::Other(other),
        }
    }

    /// The method token as sent.
    pub fn as_str(&self) -> &'a str {
        match self {
            Method::Invite => "INVITE",
            Method::Ack => "ACK",
            Method::Bye => "BYE",
            Method::Cancel => "CANCEL",
            Method::Register => "REGISTER",
            Method::Options => "OPTIONS",
            Method::Info => "INFO",
            Method::Update => "UPDATE",
            Method::Prack => "PRACK",
            Method::Subscribe => "SUBSCRIBE",
            Method::Notify => "NOTIFY",
            Method::Refer => "REFER",
            Method::Message => "MESSAGE",
            Method::Publish => "PUBLISH",
            Method::Other(s) => s,
        }
    }
}

impl std::fmt::Display for Method<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A SIP response status code (RFC 3261 §7.2, §21); any value 100..=699 is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StatusCode(pub u16);

impl StatusCode {
    pub const TRYING: StatusCode = StatusCode(100);
    pub const RINGING: StatusCode = StatusCode(180);
    pub const SESSION_PROGRESS: StatusCode = StatusCode(183);
    pub const OK: StatusCode = StatusCode(200);
    pub const ACCEPTED: StatusCode = StatusCode(202);
    pub const MOVED_TEMPORARILY: StatusCode = StatusCode(302);
    pub const BAD_REQUEST: StatusCode = StatusCode(400);
    pub const UNAUTHORIZED: StatusCode = StatusCode(401);
    pub const FORBIDDEN: StatusCode = StatusCode(403);
    pub const NOT_FOUND: StatusCode = StatusCode(404);
    pub const PROXY_AUTHENTICATION_REQUIRED: StatusCode = StatusCode(407);
    pub const REQUEST_TIMEOUT: StatusCode = StatusCode(408);
    pub const TEMPORARILY_UNAVAILABLE: StatusCode = StatusCode(480);
    pub const CALL_DOES_NOT_EXIST: StatusCode = StatusCode(481);
    pub const BUSY_HERE: StatusCode = StatusCode(486);
    pub const REQUEST_TERMINATED: StatusCode = StatusCode(487);
    pub const NOT_ACCEPTABLE_HERE: StatusCode = StatusCode(488);
    pub const SERVER_INTERNAL_ERROR: StatusCode = StatusCode(500);
    pub const SERVICE_UNAVAILABLE: StatusCode = StatusCode(503);
    pub const SERVER_TIMEOUT: StatusCode = StatusCode(504);
    pub const DECLINE: StatusCode = StatusCode(603);

    /// 1xx (RFC 3261 §21.1).
    pub fn is_provisional(self) -> bool {
        (100..200).contains(&self.0)
    }
    /// 2xx.
    pub fn is_success(self) -> bool {
        (200..300).contains(&self.0)
    }
    /// Anything from 200 up ends a client transaction (RFC 3261 §17.1).
    pub fn is_final(self) -> bool {
        self.0 >= 200
    }
    /// 4xx, 5xx or 6xx.
    pub fn is_failure(self) -> bool {
        self.0 >= 300 && !self.is_redirect()
    }
    /// 3xx.
    pub fn is_redirect(self) -> bool {
        (300..400).contains(&self.0)
    }
    /// The class digit: 1 for 1xx up to 6 for 6xx.
    pub fn class(self) -> u16 {
        self.0 / 100
    }
    /// The reason phrase RFC 3261 §21 (and a few extensions) suggest, if the code is registered.
    pub fn canonical_reason(self) -> Option<&'static str> {
        Some(match self.0 {
            100 => "Trying",
            180 => "Ringing",
            181 => "Call Is Being Forwarded",
            182 => "Queued",
            183 => "Session Progress",
            199 => "Early Dialog Terminated",
            200 => "OK",
            202 => "Accepted",
            204 => "No Notification",
            300 => "Multiple Choices",
            301 => "Moved Permanently",
            302 => "Moved Temporarily",
            305 => "Use Proxy",
            380 => "Alternative Service",
            400 => "Bad Request",
            401 => "Unauthorized",
            402 => "Payment Required",
            403 => "Forbidden",
            404 => "Not Found",
            405 => "Method Not Allowed",
            406 => "Not Acceptable",
            407 => "Proxy Authentication Required",
            408 => "Request Timeout",
            410 => "Gone",
            413 => "Request Entity Too Large",
            414 => "Request-URI Too Long",
            415 => "Unsupported Media Type",
            416 => "Unsupported URI Scheme",
            420 => "Bad Extension",
            421 => "Extension Required",
            422 => "Session Interval Too Small",
            423 => "Interval Too Brief",
            480 => "Temporarily Unavailable",
            481 => "Call/Transaction Does Not Exist",
            482 => "Loop Detected",
            483 => "Too Many Hops",
            484 => "Address Incomplete",
            485 => "Ambiguous",
            486 => "Busy Here",
            487 => "Request Terminated",
            488 => "Not Acceptable Here",
            489 => "Bad Event",
            491 => "Request Pending",
            493 => "Undecipherable",
            500 => "Server Internal Error",
            501 => "Not Implemented",
            502 => "Bad Gateway",
            503 => "Service Unavailable",
            504 => "Server Time-out",
            505 => "Version Not Supported",
            513 => "Message Too Large",
            580 => "Precondition Failure",
            600 => "Busy Everywhere",
            603 => "Decline",
            604 => "Does Not Exist Anywhere",
            606 => "Not Acceptable",
            _ => return None,
        })
    }
}

impl std::fmt::Display for StatusCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Message views

/// The first line of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartLine<'a> {
    /// `Method SP Request-URI SP SIP-Version` (RFC 3261 §7.1).
    Request { method: Method<'a>, uri: &'a str },
    /// `SIP-Version SP Status-Code SP Reason-Phrase` (RFC 3261 §7.2); the reason is lossy only if not UTF-8.
    Response {
        status: StatusCode,
        reason: Cow<'a, str>,
    },
}

/// One header field, in wire order; repeated fields stay separate entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header<'a> {
    /// The name as sent, or the canonical long name (a `'static` str) when the compact form was used.
    pub name: &'a str,
    /// The value without leading/trailing whitespace; folds replaced by one SP and non-UTF-8 bytes by U+FFFD.
    pub value: Cow<'a, str>,
    /// The exact value bytes from the wire (after the colon, trimmed of surrounding whitespace).
    pub raw_value: &'a [u8],
}

impl Header<'_> {
    /// Case-insensitive name comparison; compact forms of `name` are expanded first.
    pub fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(expand_compact(name))
    }

    /// True when `value` differs from `raw_value` in more than surrounding whitespace (folded or not UTF-8).
    pub fn is_rewritten(&self) -> bool {
        matches!(self.value, Cow::Owned(_))
    }
}

/// How a message was cut short.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Truncation {
    /// The input ended inside the header block (no empty line); the body is empty.
    HeaderBlock,
    /// Content-Length announced more than the input holds; the body is what is there.
    Body { declared: u64, available: usize },
}

/// One parsed SIP message borrowing from the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message<'a> {
    pub start: StartLine<'a>,
    pub headers: Vec<Header<'a>>,
    pub body: &'a [u8],
    /// `Some` when the input ended before the message did.
    pub truncated: Option<Truncation>,
    /// Bytes of the input this message used, including leading CRLFs (RFC 3261 §7.5) and the body.
    pub len: usize,
}

/// Compact header names (RFC 3261 §7.3.3 and the registry) expanded to their long form in one table.
const COMPACT_FORMS: [(u8, &str); 16] = [
    (b'i', "Call-ID"),
    (b'f', "From"),
    (b't', "To"),
    (b'v', "Via"),
    (b'm', "Contact"),
    (b'l', "Content-Length"),
    (b'c', "Content-Type"),
    (b'k', "Supported"),
    (b's', "Subject"),
    (b'e', "Content-Encoding"),
    (b'o', "Event"),
    (b'u', "Allow-Events"),
    (b'r', "Refer-To"),
    (b'b', "Referred-By"),
    (b'x', "Session-Expires"),
    (b'y', "Identity"),
];

/// Returns the long form of a one-letter compact header name, or `name` itself.
pub fn expand_compact(name: &str) -> &str {
    if let [b] = name.as_bytes() {
        let lower = b.to_ascii_lowercase();
        for (c, long) in COMPACT_FORMS {
            if c == lower {
                return long;
            }
        }
    }
    name
}

/// RFC 3261 §25.1: `token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~")`.
pub fn is_token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'.' | b'!' | b'%' | b'*' | b'_' | b'+' | b'`' | b'\'' | b'~'
        )
}

fn is_wsp(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

fn is_lws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn trim_lws(mut s: &[u8]) -> &[u8] {
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

fn trim_lws_str(s: &str) -> &str {
    s.trim_matches(|c| matches!(c, ' ' | '\t' | '\r' | '\n'))
}

/// Returns the line starting at `pos` (without CR LF) and the index after its LF (or `buf.len()`).
fn next_line(buf: &[u8], pos: usize) -> (&[u8], usize) {
    let rest = buf.get(pos..).unwrap_or_default();
    match rest.iter().position(|&b| b == b'\n') {
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

fn leading_line_breaks(buf: &[u8]) -> usize {
    buf.iter()
        .take_while(|&&b| b == b'\r' || b == b'\n')
        .count()
}

// ---------------------------------------------------------------------------------------------------------------
// Recognition

const VERSION: &[u8] = b"SIP/2.0";

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

// ---------------------------------------------------------------------------------------------------------------
// Framing

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

fn parse_decimal(digits: &[u8]) -> Option<u64> {
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

// ---------------------------------------------------------------------------------------------------------------
// Parsing

/// Parses one message with datagram semantics (see the module doc for Content-Length handling).
pub fn parse(buf: &[u8]) -> Result<Message<'_>, Error> {
    let lead = leading_line_breaks(buf);
    if lead >= buf.len() {
        return Err(Error::Empty);
    }
    let (first, mut pos) = next_line(buf, lead);
    let start = parse_start_line(first)?;
    let mut headers = Vec::new();
    let mut line_no = 1usize;
    let mut header_end = None;
    while pos < buf.len() {
        if pos - lead > MAX_HEADER_BLOCK {
            return Err(Error::HeaderBlockTooLarge {
                limit: MAX_HEADER_BLOCK,
            });
        }
        let (line, next) = next_line(buf, pos);
        line_no += 1;
        if line.is_empty() {
            header_end = Some(next);
            break;
        }
        if line.first().is_some_and(|&b| is_wsp(b)) {
            return Err(Error::FoldBeforeHeader { line: line_no });
        }
        let header_line = line_no;
        // RFC 3261 §7.3.1: a line starting with SP/HTAB continues the previous header field.
        let mut value_end = pos + line.len();
        let mut after = next;
        while buf.get(after).is_some_and(|&b| is_wsp(b)) {
            let (cont, cont_next) = next_line(buf, after);
            line_no += 1;
            value_end = after + cont.len();
            after = cont_next;
        }
        let raw = buf.get(pos..value_end).unwrap_or_default();
        if headers.len() >= MAX_HEADERS {
            return Err(Error::TooManyHeaders { limit: MAX_HEADERS });
        }
        headers.push(parse_header(raw, header_line)?);
        pos = after;
    }
    if header_end.is_none() && pos - lead > MAX_HEADER_BLOCK {
        return Err(Error::HeaderBlockTooLarge {
            limit: MAX_HEADER_BLOCK,
        });
    }
    let mut message = Message {
        start,
        headers,
        body: &[],
        truncated: None,
        len: buf.len(),
    };
    let Some(header_end) = header_end else {
        message.truncated = Some(Truncation::HeaderBlock);
        return Ok(message);
    };
    let rest = buf.get(header_end..).unwrap_or_default();
    match message.content_length() {
        Some(declared) => match usize::try_from(declared).ok().and_then(|d| rest.get(..d)) {
            Some(body) => {
                message.body = body;
                message.len = header_end + body.len();
            }
            None => {
                message.body = rest;
                message.truncated = Some(Truncation::Body {
                    declared,
                    available: rest.len(),
                });
            }
        },
        // RFC 3261 §18.3 (datagrams): without Content-Length the body runs to the end of the datagram.
        None => message.body = rest,
    }
    Ok(message)
}

fn parse_start_line(line: &[u8]) -> Result<StartLine<'_>, Error> {
    let line = trim_lws(line);
    if let Some(rest) = strip_prefix_ignore_case(line, b"SIP/") {
        // Status-Line: SIP-Version SP Status-Code SP Reason-Phrase.
        let version_len = rest.iter().take_while(|&&b| b != b' ').count();
        let version = line.get(..4 + version_len).unwrap_or_default();
        if !version.eq_ignore_ascii_case(VERSION) {
            return Err(unsupported_version(version));
        }
        let rest = rest.get(version_len..).unwrap_or_default();
        let rest = trim_lws(rest);
        let code_len = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        if code_len != 3 {
            return Err(Error::BadStartLine {
                reason: "status code is not three digits",
            });
        }
        let after = rest.get(3..).unwrap_or_default();
        if after.first().is_some_and(|&b| !is_wsp(b)) {
            return Err(Error::BadStartLine {
                reason: "status code is not three digits",
            });
        }
        let code = parse_decimal(rest.get(..3).unwrap_or_default()).unwrap_or(0);
        if !(100..=699).contains(&code) {
            return Err(Error::BadStartLine {
                reason: "status code outside 100..=699",
            });
        }
        let status = StatusCode(u16::try_from(code).unwrap_or(0));
        let reason = String::from_utf8_lossy(trim_lws(after));
        return Ok(StartLine::Response { status, reason });
    }
    // Request-Line: Method SP Request-URI SP SIP-Version, split at the first and the last SP.
    let method_len = line.iter().take_while(|&&b| is_token_char(b)).count();
    if method_len == 0 {
        return Err(Error::BadStartLine {
            reason: "method is not a token",
        });
    }
    if line.get(method_len).is_some_and(|&b| b != b' ') {
        return Err(Error::BadStartLine {
            reason: "method is not a token",
        });
    }
    let last_sp = line.iter().rposition(|&b| b == b' ');
    let Some(last_sp) = last_sp.filter(|&i| i > method_len) else {
        return Err(Error::BadStartLine {
            reason: "request-line lacks request-uri or version",
        });
    };
    let version = line.get(last_sp + 1..).unwrap_or_default();
    if !version.eq_ignore_ascii_case(VERSION) {
        if strip_prefix_ignore_case(version, b"SIP/").is_some() {
            return Err(unsupported_version(version));
        }
        return Err(Error::BadStartLine {
            reason: "request-line does not end in SIP/2.0",
        });
    }
    let uri = trim_lws(line.get(method_len..last_sp).unwrap_or_default());
    if uri.is_empty() {
        return Err(Error::BadStartLine {
            reason: "request-line lacks request-uri or version",
        });
    }
    let method = std::str::from_utf8(line.get(..method_len).unwrap_or_default())
        .map_err(|_| Error::NotUtf8 { field: "method" })?;
    let uri = std::str::from_utf8(uri).map_err(|_| Error::NotUtf8 {
        field: "request-uri",
    })?;
    Ok(StartLine::Request {
        method: Method::from_token(method),
        uri,
    })
}

fn unsupported_version(version: &[u8]) -> Error {
    let shown = version.get(..16).unwrap_or(version);
    Error::UnsupportedVersion {
        version: String::from_utf8_lossy(shown).into_owned(),
    }
}

fn strip_prefix_ignore_case<'b>(s: &'b [u8], prefix: &[u8]) -> Option<&'b [u8]> {
    let head = s.get(..prefix.len())?;
    if head.eq_ignore_ascii_case(prefix) {
        s.get(prefix.len()..)
    } else {
        None
    }
}

/// Parses `name HCOLON value` where `raw` may contain folded continuation lines.
fn parse_header(raw: &[u8], line: usize) -> Result<Header<'_>, Error> {
    let Some(colon) = raw.iter().position(|&b| b == b':') else {
        return Err(Error::HeaderWithoutColon { line });
    };
    let name = raw.get(..colon).unwrap_or_default();
    // RFC 3261 §7.3.1: HCOLON = *( SP / HTAB ) ":" SWS.
    let name_len = name.iter().rposition(|&b| !is_wsp(b)).map_or(0, |i| i + 1);
    let name = name.get(..name_len).unwrap_or_default();
    if name.is_empty() || !name.iter().all(|&b| is_token_char(b)) {
        return Err(Error::BadHeaderName { line });
    }
    let name = std::str::from_utf8(name).map_err(|_| Error::BadHeaderName { line })?;
    let raw_value = trim_lws(raw.get(colon + 1..).unwrap_or_default());
    Ok(Header {
        name: expand_compact(name),
        value: header_value(raw_value),
        raw_value,
    })
}

/// Unfolds (each CR/LF plus following whitespace becomes one SP) and decodes lossily only when needed.
fn header_value(raw: &[u8]) -> Cow<'_, str> {
    if raw.iter().any(|&b| b == b'\r' || b == b'\n') {
        let mut out = Vec::with_capacity(raw.len());
        let mut in_break = false;
        for &b in raw {
            if b == b'\r' || b == b'\n' {
                if !in_break {
                    // Whitespace before the fold belongs to the same LWS: collapse it too.
                    while out.last().is_some_and(|&c| is_wsp(c)) {
                        out.pop();
                    }
                    out.push(b' ');
                }
                in_break = true;
            } else if in_break && is_wsp(b) {
                continue;
            } else {
                in_break = false;
                out.push(b);
            }
        }
        return Cow::Owned(String::from_utf8_lossy(&out).into_owned());
    }
    String::from_utf8_lossy(raw)
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

// ---------------------------------------------------------------------------------------------------------------
// Grammar helpers over header values (nom stays private to this module)

mod grammar {
    use super::*;

    fn is_token(c: char) -> bool {
        c.is_ascii() && is_token_char(c as u8)
    }

    pub(super) fn token(i: &str) -> IResult<&str, &str> {
        take_while1(is_token)(i)
    }

    pub(super) fn lws(i: &str) -> IResult<&str, &str> {
        take_while(|c| matches!(c, ' ' | '\t' | '\r' | '\n'))(i)
    }

    /// `CSeq = 1*DIGIT LWS Method` (RFC 3261 §20.16).
    pub(super) fn cseq(i: &str) -> IResult<&str, (&str, &str)> {
        let (i, _) = lws(i)?;
        let (i, seq) = digit1(i)?;
        let (i, _) = take_while1(|c| matches!(c, ' ' | '\t' | '\r' | '\n'))(i)?;
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

    fn slash(i: &str) -> IResult<&str, char> {
        let (i, _) = lws(i)?;
        let (i, c) = nom_char('/')(i)?;
        let (i, _) = lws(i)?;
        Ok((i, c))
    }

    /// `host [":" port]` with IPv6 references in brackets; returns host without brackets and raw port digits.
    pub(super) fn host_port(i: &str) -> IResult<&str, (&str, Option<&str>)> {
        let (i, host) = if let Some(inner) = i.strip_prefix('[') {
            let (rest, h) =
                take_while1(|c: char| c.is_ascii_hexdigit() || c == ':' || c == '.')(inner)?;
            let (rest, _) = nom_char(']')(rest)?;
            (rest, h)
        } else {
            take_while1(|c: char| {
                !matches!(c, ':' | ';' | ',' | '?' | '>' | ' ' | '\t' | '\r' | '\n')
            })(i)?
        };
        match i.strip_prefix(':') {
            Some(after) => {
                let (i, port) = digit1(after)?;
                Ok((i, (host, Some(port))))
            }
            None => Ok((i, (host, None))),
        }
    }

    /// `quoted-string = SWS DQUOTE *(qdtext / quoted-pair) DQUOTE`; returns the inner text, escapes kept.
    pub(super) fn quoted_string(i: &str) -> IResult<&str, &str> {
        let (i, _) = lws(i)?;
        let (body, _) = nom_char('"')(i)?;
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
}

/// Splits a header value at `sep` outside quoted strings and angle brackets; pieces are trimmed, empty ones
/// skipped.
#[derive(Debug, Clone)]
struct Split<'s> {
    rest: Option<&'s str>,
    sep: char,
}

fn split_outside(s: &str, sep: char) -> Split<'_> {
    Split { rest: Some(s), sep }
}

impl<'s> Iterator for Split<'s> {
    type Item = &'s str;

    fn next(&mut self) -> Option<&'s str> {
        loop {
            let s = self.rest?;
            let mut in_quote = false;
            let mut escaped = false;
            let mut angle = false;
            let mut cut = None;
            for (i, c) in s.char_indices() {
                if in_quote {
                    if escaped {
                        escaped = false;
                    } else if c == '\\' {
                        escaped = true;
                    } else if c == '"' {
                        in_quote = false;
                    }
                    continue;
                }
                match c {
                    '"' => in_quote = true,
                    '<' => angle = true,
                    '>' => angle = false,
                    c if c == self.sep && !angle => {
                        cut = Some(i);
                        break;
                    }
                    _ => {}
                }
            }
            let piece = match cut {
                Some(i) => {
                    self.rest = s.get(i + self.sep.len_utf8()..);
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

fn unquote(s: &str) -> &str {
    let s = trim_lws_str(s);
    s.strip_prefix('"')
        .and_then(|inner| inner.strip_suffix('"'))
        .unwrap_or(s)
}

/// Iterates `;name[=value]` parameters (values unquoted, escapes kept) of a parameter list without the
/// leading `;`.
pub fn params(list: &str) -> impl Iterator<Item = (&str, Option<&str>)> {
    split_outside(list, ';').map(|p| match p.split_once('=') {
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

// ---------------------------------------------------------------------------------------------------------------
// Typed header values

/// `CSeq` (RFC 3261 §20.16).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CSeq<'s> {
    pub seq: u32,
    pub method: Method<'s>,
}

/// `name-addr / addr-spec` with the header's parameters (From, To, Contact; RFC 3261 §20.10, §20.20, §20.39).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NameAddr<'s> {
    /// Display name without quotes (quoted-pair escapes kept), `None` if absent or empty.
    pub display: Option<&'s str>,
    /// The URI, without angle brackets.
    pub uri: &'s str,
    /// The `tag` parameter.
    pub tag: Option<&'s str>,
    /// All header parameters after the URI, without the leading `;`.
    pub params: &'s str,
}

impl<'s> NameAddr<'s> {
    /// Parses one name-addr or addr-spec; `None` on an unterminated quote or `<` (RFC 4475 §3.1.2.6).
    pub fn parse(s: &'s str) -> Option<NameAddr<'s>> {
        let s = trim_lws_str(s);
        let (display, after_display) = if s.starts_with('"') {
            let (rest, d) = grammar::quoted_string(s).ok()?;
            (Some(d), trim_lws_str(rest))
        } else {
            match s.find('<') {
                Some(lt) => (
                    Some(trim_lws_str(s.get(..lt).unwrap_or_default())),
                    s.get(lt..).unwrap_or_default(),
                ),
                None => (None, s),
            }
        };
        let (uri, params) = if let Some(inner) = after_display.strip_prefix('<') {
            let gt = inner.find('>')?;
            let uri = trim_lws_str(inner.get(..gt).unwrap_or_default());
            (uri, inner.get(gt + 1..).unwrap_or_default())
        } else if display.is_some() {
            // A quoted display name must be followed by `<`.
            return None;
        } else {
            // addr-spec: parameters after `;` belong to the header, not the URI (RFC 3261 §20).
            match after_display.find(';') {
                Some(semi) => (
                    trim_lws_str(after_display.get(..semi).unwrap_or_default()),
                    after_display.get(semi..).unwrap_or_default(),
                ),
                None => (after_display, ""),
            }
        };
        let params = trim_lws_str(params);
        let params = params.strip_prefix(';').unwrap_or(params);
        Some(NameAddr {
            display: display.filter(|d| !d.is_empty()),
            uri,
            tag: param(params, "tag").flatten(),
            params,
        })
    }
}

/// One Via value (RFC 3261 §20.42).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Via<'s> {
    /// Transport token as sent (`UDP`, `TCP`, `TLS`, `SCTP`, `WS`, ...).
    pub transport: &'s str,
    /// Host of sent-by, IPv6 without brackets.
    pub host: &'s str,
    pub port: Option<u16>,
    pub branch: Option<&'s str>,
    pub received: Option<&'s str>,
    /// RFC 3581: `None` absent, `Some(None)` bare `rport`, `Some(Some(p))` filled in.
    pub rport: Option<Option<u16>>,
    /// All parameters, without the leading `;`.
    pub params: &'s str,
}

impl<'s> Via<'s> {
    /// Parses one comma-separated Via value; `None` if sent-protocol or sent-by is malformed.
    pub fn parse(s: &'s str) -> Option<Via<'s>> {
        let (rest, (_name, _version, transport)) = grammar::sent_protocol(s).ok()?;
        let (rest, _) = grammar::lws(rest).ok()?;
        let (rest, (host, port)) = grammar::host_port(rest).ok()?;
        let port = match port {
            Some(p) => Some(p.parse::<u16>().ok()?),
            None => None,
        };
        let rest = trim_lws_str(rest);
        let params = rest.strip_prefix(';').unwrap_or(rest);
        Some(Via {
            transport,
            host,
            port,
            branch: param(params, "branch").flatten(),
            received: param(params, "received").flatten(),
            rport: param(params, "rport").map(|v| v.and_then(|p| p.parse().ok())),
            params,
        })
    }
}

/// One Reason value (RFC 3326).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reason<'s> {
    /// `SIP`, `Q.850` or any other protocol token as sent.
    pub protocol: &'s str,
    pub cause: Option<u16>,
    pub text: Option<&'s str>,
}

/// One Warning value (RFC 3261 §20.43).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Warning<'s> {
    pub code: u16,
    pub agent: &'s str,
    /// The warn-text without quotes.
    pub text: &'s str,
}

/// One `ms-diagnostics` / `ms-diagnostics-public` value (Lync / Skype for Business, see metrics.md).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MsDiagnostic<'s> {
    pub error_id: u32,
    /// The part after the dot of `1008.5`.
    pub sub_code: Option<u32>,
    pub source: Option<&'s str>,
    pub reason: Option<&'s str>,
    /// All other `name="value"` attributes in order, values unquoted.
    pub attrs: Vec<(&'s str, &'s str)>,
}

impl<'s> MsDiagnostic<'s> {
    /// Parses `<ErrorId>[.<Sub>];reason="...";source="..."[;attr="..."]*`.
    pub fn parse(s: &'s str) -> Option<MsDiagnostic<'s>> {
        let mut parts = params(s);
        let (id, _) = parts.next()?;
        let (id, sub) = match id.split_once('.') {
            Some((a, b)) => (a, Some(b.parse::<u32>().ok()?)),
            None => (id, None),
        };
        let mut diag = MsDiagnostic {
            error_id: id.parse().ok()?,
            sub_code: sub,
            source: None,
            reason: None,
            attrs: Vec::new(),
        };
        for (name, value) in parts {
            let value = value.unwrap_or("");
            if name.eq_ignore_ascii_case("source") {
                diag.source = Some(value);
            } else if name.eq_ignore_ascii_case("reason") {
                diag.reason = Some(value);
            } else if diag.attrs.len() < 64 {
                diag.attrs.push((name, value));
            }
        }
        Some(diag)
    }
}

/// A SIP/SIPS/TEL or other URI split into parts (RFC 3261 §19.1, RFC 3966). Nothing is unescaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Uri<'s> {
    /// Scheme as sent (`sip`, `sips`, `tel`, ...).
    pub scheme: &'s str,
    pub user: Option<&'s str>,
    pub password: Option<&'s str>,
    /// Host (IPv6 without brackets) for sip/sips; for other schemes the opaque part before the first `;`
    /// (for tel: the number).
    pub host: &'s str,
    pub port: Option<u16>,
    /// URI parameters without the leading `;` (use [`param`]).
    pub params: &'s str,
    /// URI headers after `?`.
    pub headers: Option<&'s str>,
}

impl<'s> Uri<'s> {
    /// Parses a URI, tolerating surrounding whitespace and angle brackets.
    pub fn parse(s: &'s str) -> Result<Uri<'s>, Error> {
        let s = trim_lws_str(s);
        let s = s
            .strip_prefix('<')
            .and_then(|x| x.strip_suffix('>'))
            .unwrap_or(s);
        let (scheme, rest) = s.split_once(':').ok_or(Error::BadUri {
            reason: "no scheme",
        })?;
        let scheme_ok = scheme
            .as_bytes()
            .first()
            .is_some_and(u8::is_ascii_alphabetic)
            && scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
        if !scheme_ok {
            return Err(Error::BadUri {
                reason: "scheme is not alpha *( alpha / digit / \"+\" / \"-\" / \".\" )",
            });
        }
        let is_sip = scheme.eq_ignore_ascii_case("sip") || scheme.eq_ignore_ascii_case("sips");
        if !is_sip {
            let (rest, headers) = split_headers(rest);
            let (host, params) = rest.split_once(';').unwrap_or((rest, ""));
            return Ok(Uri {
                scheme,
                user: None,
                password: None,
                host,
                port: None,
                params,
                headers,
            });
        }
        // The user part may itself contain `;`, `?` and `:` (RFC 4475 §3.1.1.2, §3.1.1.9), so split at the first
        // `@` before looking for parameters and headers.
        let (userinfo, hostpart) = match rest.find('@') {
            Some(at) => (rest.get(..at), rest.get(at + 1..).unwrap_or_default()),
            None => (None, rest),
        };
        let (hostpart, headers) = split_headers(hostpart);
        let (user, password) = match userinfo {
            Some(u) => match u.split_once(':') {
                Some((user, pw)) => (Some(user), Some(pw)),
                None => (Some(u), None),
            },
            None => (None, None),
        };
        let (after, (host, port)) = grammar::host_port(hostpart).map_err(|_| Error::BadUri {
            reason: "bad host or port",
        })?;
        let port = match port {
            Some(p) => Some(p.parse::<u16>().map_err(|_| Error::BadUri {
                reason: "port out of range",
            })?),
            None => None,
        };
        let params = match after.strip_prefix(';') {
            Some(p) => p,
            None if after.is_empty() => "",
            None => {
                return Err(Error::BadUri {
                    reason: "unexpected characters after host",
                })
            }
        };
        Ok(Uri {
            scheme,
            user,
            password,
            host,
            port,
            params,
            headers,
        })
    }
}

fn split_headers(s: &str) -> (&str, Option<&str>) {
    match s.split_once('?') {
        Some((r, h)) => (r, Some(h)),
        None => (s, None),
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Accessors

impl<'a> Message<'a> {
    /// True for requests.
    pub fn is_request(&self) -> bool {
        matches!(self.start, StartLine::Request { .. })
    }

    /// The request method, if a request.
    pub fn method(&self) -> Option<Method<'a>> {
        match self.start {
            StartLine::Request { method, .. } => Some(method),
            StartLine::Response { .. } => None,
        }
    }

    /// The status code, if a response.
    pub fn status(&self) -> Option<StatusCode> {
        match self.start {
            StartLine::Response { status, .. } => Some(status),
            StartLine::Request { .. } => None,
        }
    }

    /// Turns a [`Message::truncated`] flag into an error.
    pub fn check_complete(&self) -> Result<(), Error> {
        match self.truncated {
            None => Ok(()),
            Some(Truncation::HeaderBlock) => Err(Error::UnterminatedHeaders),
            Some(Truncation::Body {
                declared,
                available,
            }) => Err(Error::ContentLengthExceedsBody {
                declared,
                available,
            }),
        }
    }

    /// The first header with this name (case-insensitive, compact forms accepted).
    pub fn header(&self, name: &str) -> Option<&Header<'a>> {
        let name = expand_compact(name);
        self.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
    }

    /// The value of the first header with this name.
    pub fn header_value(&self, name: &str) -> Option<&str> {
        self.header(name).map(|h| h.value.as_ref())
    }

    /// All headers with this name, in order.
    pub fn headers_named<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s Header<'a>> + 's {
        let name = expand_compact(name);
        self.headers
            .iter()
            .filter(move |h| h.name.eq_ignore_ascii_case(name))
    }

    /// Every comma-separated value of every header with this name, in order.
    pub fn header_values<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s str> + 's {
        self.headers_named(name)
            .flat_map(|h| split_outside(h.value.as_ref(), ','))
    }

    pub fn call_id(&self) -> Option<&str> {
        self.header_value("Call-ID").filter(|v| !v.is_empty())
    }

    /// The first CSeq; `None` if absent or malformed (sequence number over 2^32 - 1, RFC 4475 §3.1.2.4).
    pub fn cseq(&self) -> Option<CSeq<'_>> {
        let (rest, (seq, method)) = grammar::cseq(self.header_value("CSeq")?).ok()?;
        if !rest.is_empty() {
            return None;
        }
        Some(CSeq {
            seq: seq.parse().ok()?,
            method: Method::from_token(method),
        })
    }

    pub fn from(&self) -> Option<NameAddr<'_>> {
        NameAddr::parse(self.header_value("From")?)
    }

    pub fn to(&self) -> Option<NameAddr<'_>> {
        NameAddr::parse(self.header_value("To")?)
    }

    /// The first Contact value (`*` is returned as a URI `*`).
    pub fn contact(&self) -> Option<NameAddr<'_>> {
        self.contacts().next()
    }

    /// All Contact values, in order; malformed ones skipped.
    pub fn contacts(&self) -> impl Iterator<Item = NameAddr<'_>> + '_ {
        self.header_values("Contact").filter_map(NameAddr::parse)
    }

    /// Every Via value in order (top first); malformed values are skipped.
    pub fn vias(&self) -> impl Iterator<Item = Via<'_>> + '_ {
        self.header_values("Via").filter_map(Via::parse)
    }

    /// The topmost Via value; `None` if it is absent or malformed (never a lower one).
    pub fn top_via(&self) -> Option<Via<'_>> {
        Via::parse(self.header_values("Via").next()?)
    }

    /// Content-Length as a number; `None` if absent or not a decimal number (the first header counts).
    pub fn content_length(&self) -> Option<u64> {
        parse_decimal(self.header("Content-Length")?.raw_value)
    }

    /// The full Content-Type value, parameters included.
    pub fn content_type(&self) -> Option<&str> {
        self.header_value("Content-Type")
    }

    pub fn user_agent(&self) -> Option<&str> {
        self.header_value("User-Agent")
    }

    pub fn server(&self) -> Option<&str> {
        self.header_value("Server")
    }

    /// Record-Route URIs in order, across headers.
    pub fn record_route(&self) -> Vec<&str> {
        self.route_list("Record-Route")
    }

    /// Route URIs in order, across headers.
    pub fn route(&self) -> Vec<&str> {
        self.route_list("Route")
    }

    fn route_list<'s>(&'s self, name: &'s str) -> Vec<&'s str> {
        self.header_values(name)
            .filter_map(NameAddr::parse)
            .map(|na| na.uri)
            .collect()
    }

    pub fn max_forwards(&self) -> Option<u32> {
        let v = parse_decimal(self.header("Max-Forwards")?.raw_value)?;
        u32::try_from(v).ok()
    }

    /// All Reason values (RFC 3326), in order; values without a protocol token are skipped.
    pub fn reasons(&self) -> Vec<Reason<'_>> {
        self.header_values("Reason")
            .filter_map(|v| {
                let (protocol, rest) = v.split_once(';').unwrap_or((v, ""));
                let protocol = trim_lws_str(protocol);
                if protocol.is_empty() {
                    return None;
                }
                Some(Reason {
                    protocol,
                    cause: param(rest, "cause").flatten().and_then(|c| c.parse().ok()),
                    text: param(rest, "text").flatten(),
                })
            })
            .collect()
    }

    /// All Warning values (RFC 3261 §20.43), in order; malformed ones skipped.
    pub fn warnings(&self) -> Vec<Warning<'_>> {
        self.header_values("Warning")
            .filter_map(|v| {
                let (code, rest) = v.split_once(' ')?;
                if code.len() != 3 {
                    return None;
                }
                let code = code.parse().ok()?;
                let rest = trim_lws_str(rest);
                let (agent, text) = rest.split_once([' ', '\t']).unwrap_or((rest, ""));
                let text = match grammar::quoted_string(text) {
                    Ok((_, t)) => t,
                    Err(_) => trim_lws_str(text),
                };
                Some(Warning { code, agent, text })
            })
            .collect()
    }

    /// All `ms-diagnostics` values.
    pub fn ms_diagnostics(&self) -> Vec<MsDiagnostic<'_>> {
        self.header_values("ms-diagnostics")
            .filter_map(MsDiagnostic::parse)
            .collect()
    }

    /// All `ms-diagnostics-public` values.
    pub fn ms_diagnostics_public(&self) -> Vec<MsDiagnostic<'_>> {
        self.header_values("ms-diagnostics-public")
            .filter_map(MsDiagnostic::parse)
            .collect()
    }

    /// SDP bodies: the body if it is `application/sdp` (or has no Content-Type and starts with `v=`), else the
    /// `application/sdp` parts of a `multipart/*` body (RFC 2046 §5.1, RFC 5621), nested multiparts included,
    /// at most [`MAX_MULTIPART_PARTS`] parts examined. Empty or whitespace-only bodies are left out (a response
    /// may carry `Content-Type: application/sdp` with `Content-Length: 0`).
    pub fn sdp_bodies(&self) -> Vec<&'a [u8]> {
        let mut out = Vec::new();
        let mut budget = MAX_MULTIPART_PARTS;
        match self.content_type() {
            Some(ct) => collect_sdp(ct, self.body, 0, &mut budget, &mut out),
            None => {
                if self.body.starts_with(b"v=") {
                    out.push(self.body);
                }
            }
        }
        out.retain(|b| !b.iter().all(u8::is_ascii_whitespace));
        out
    }
}

fn media_type(content_type: &str) -> &str {
    trim_lws_str(content_type.split(';').next().unwrap_or_default())
}

fn collect_sdp<'a>(
    content_type: &str,
    body: &'a [u8],
    depth: usize,
    budget: &mut usize,
    out: &mut Vec<&'a [u8]>,
) {
    let mt = media_type(content_type);
    if mt.eq_ignore_ascii_case("application/sdp") {
        out.push(body);
        return;
    }
    if depth >= 3
        || mt.len() < 10
        || !mt
            .get(..10)
            .is_some_and(|p| p.eq_ignore_ascii_case("multipart/"))
    {
        return;
    }
    let params = content_type.split_once(';').map_or("", |(_, p)| p);
    let Some(Some(boundary)) = param(params, "boundary") else {
        return;
    };
    // RFC 2046 §5.1.1: 1 to 70 characters; the bound also keeps the delimiter search linear in practice.
    if boundary.is_empty() || boundary.len() > 70 {
        return;
    }
    for part in multipart_parts(body, boundary.as_bytes()) {
        if *budget == 0 {
            return;
        }
        *budget -= 1;
        let (part_ct, content) = split_part(part);
        let part_ct = part_ct.unwrap_or("text/plain");
        collect_sdp(part_ct, content, depth + 1, budget, out);
    }
}

/// Splits a multipart body at `--boundary` delimiter lines (RFC 2046 §5.1.1); returns each part's bytes
/// (headers and content, without the CRLF that belongs to the next delimiter).
fn multipart_parts<'a>(body: &'a [u8], boundary: &[u8]) -> Vec<&'a [u8]> {
    let mut delim = Vec::with_capacity(boundary.len() + 2);
    delim.extend_from_slice(b"--");
    delim.extend_from_slice(boundary);
    let mut starts = Vec::new();
    let mut i = 0;
    while let Some(found) = find(body.get(i..).unwrap_or_default(), &delim) {
        let at = i + found;
        // A delimiter starts the body or a line.
        if at == 0 || body.get(at - 1) == Some(&b'\n') {
            starts.push(at);
            if starts.len() > MAX_MULTIPART_PARTS + 1 {
                break;
            }
        }
        i = at + delim.len();
    }
    let mut parts = Vec::new();
    for w in starts.windows(2) {
        let &[a, b] = w else { continue };
        let after = a + delim.len();
        if body.get(after..after + 2) == Some(b"--") {
            break;
        }
        let (_, content_start) = next_line(body, after);
        let mut end = b;
        if end > content_start && body.get(end - 1) == Some(&b'\n') {
            end -= 1;
            if end > content_start && body.get(end - 1) == Some(&b'\r') {
                end -= 1;
            }
        }
        if let Some(p) = body.get(content_start..end.max(content_start)) {
            parts.push(p);
        }
    }
    parts
}

/// Splits a MIME part into its Content-Type (if any) and content.
fn split_part(part: &[u8]) -> (Option<&str>, &[u8]) {
    let mut pos = 0;
    let mut ct = None;
    while pos < part.len() {
        let (line, next) = next_line(part, pos);
        pos = next;
        if line.is_empty() {
            return (ct, part.get(pos..).unwrap_or_default());
        }
        if let Some((name, value)) =
            line.split_at_checked(line.iter().position(|&b| b == b':').unwrap_or(0))
        {
            if trim_lws(name).eq_ignore_ascii_case(b"content-type") {
                ct = std::str::from_utf8(value.get(1..).unwrap_or_default())
                    .ok()
                    .map(trim_lws_str);
            }
        }
    }
    // A part without an empty line has no headers (RFC 2046 §5.1.1 allows that) only if it started with one.
    (ct, &[])
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

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
            if let StartLine::Request { uri, .. } = m.start {
                let _ = Uri::parse(uri);
            }
            for c in m.contacts() {
                let _ = Uri::parse(c.uri);
            }
        }
    }

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

    // --- start line ----------------------------------------------------------------------------------------

    fn check_start(input: &str, expected: Result<StartLine<'_>, &str>) {
        let buf = format!("{input}\r\nCall-ID: x\r\n\r\n");
        let got = parse(buf.as_bytes()).map(|m| m.start).map_err(|e| e.code());
        let expected = expected.map(|s| match s {
            StartLine::Request { method, uri } => {
                (Some(method.as_str().to_owned()), uri.to_owned())
            }
            StartLine::Response { status, reason } => (None, format!("{} {}", status.0, reason)),
        });
        let got = got.map(|s| match s {
            StartLine::Request { method, uri } => {
                (Some(method.as_str().to_owned()), uri.to_owned())
            }
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
        let stream =
            b"\r\n\r\nOPTIONS sip:a SIP/2.0\r\nl: 1\r\n\r\nxSIP/2.0 200 OK\r\nl: 0\r\n\r\n";
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

    #[test]
    fn status_code_classes() {
        assert!(StatusCode(183).is_provisional() && !StatusCode(183).is_final());
        assert!(StatusCode(200).is_success() && StatusCode(200).is_final());
        assert!(StatusCode(302).is_redirect() && !StatusCode(302).is_failure());
        assert!(StatusCode(486).is_failure() && StatusCode(603).is_failure());
        assert_eq!(StatusCode(487).class(), 4);
        assert_eq!(StatusCode::BUSY_HERE.canonical_reason(), Some("Busy Here"));
        assert_eq!(StatusCode(299).canonical_reason(), None);
    }

    #[test]
    fn method_round_trip() {
        for m in [
            "INVITE",
            "ACK",
            "BYE",
            "CANCEL",
            "REGISTER",
            "OPTIONS",
            "INFO",
            "UPDATE",
            "PRACK",
            "SUBSCRIBE",
            "NOTIFY",
            "REFER",
            "MESSAGE",
            "PUBLISH",
            "FOO",
        ] {
            assert_eq!(Method::from_token(m).as_str(), m);
        }
        assert_eq!(Method::from_token("invite"), Method::Other("invite"));
    }

    // --- SDP bodies ----------------------------------------------------------------------------------------

    const SDP: &str = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n";

    #[test]
    fn sdp_plain() {
        let buf = msg(
            "INVITE sip:a SIP/2.0\r\nContent-Type: application/SDP\r\nContent-Length: {CL}\r\n\r\n",
            SDP,
        );
        assert_eq!(ok(&buf).sdp_bodies(), [SDP.as_bytes()]);
    }
    #[test]
    fn sdp_with_params() {
        let buf = msg(
            "INVITE sip:a SIP/2.0\r\nc: application/sdp; charset=utf-8\r\nl: {CL}\r\n\r\n",
            SDP,
        );
        assert_eq!(ok(&buf).sdp_bodies(), [SDP.as_bytes()]);
    }
    #[test]
    fn sdp_no_content_type_sniffed() {
        let buf = msg("INVITE sip:a SIP/2.0\r\nl: {CL}\r\n\r\n", SDP);
        assert_eq!(ok(&buf).sdp_bodies(), [SDP.as_bytes()]);
    }
    #[test]
    fn sdp_empty_body_left_out() {
        let buf = msg(
            "SIP/2.0 200 OK\r\nContent-Type: application/sdp\r\nContent-Length: {CL}\r\n\r\n",
            "\r\n",
        );
        assert!(ok(&buf).sdp_bodies().is_empty());
    }
    #[test]
    fn sdp_other_type() {
        let buf = msg(
            "INVITE sip:a SIP/2.0\r\nContent-Type: text/plain\r\nl: {CL}\r\n\r\n",
            SDP,
        );
        assert!(ok(&buf).sdp_bodies().is_empty());
    }
    #[test]
    fn sdp_multipart_mixed() {
        let body = format!(
            "--b1\r\nContent-Type: application/isup;version=itu-t92+\r\n\r\n\x01\x02\x03\r\n--b1\r\nContent-Type: application/sdp\r\n\r\n{SDP}\r\n--b1--\r\n"
        );
        let buf = msg("INVITE sip:a SIP/2.0\r\nContent-Type: multipart/mixed;boundary=b1\r\nContent-Length: {CL}\r\n\r\n", &body);
        assert_eq!(ok(&buf).sdp_bodies(), [SDP.as_bytes()]);
    }
    #[test]
    fn sdp_multipart_quoted_boundary_and_preamble() {
        let body = format!(
            "preamble\r\n--\"x\"\r\n--xyz\r\nContent-Type: application/sdp\r\n\r\n{SDP}\r\n--xyz--"
        );
        let buf = msg("INVITE sip:a SIP/2.0\r\nContent-Type: multipart/alternative; boundary=\"xyz\"\r\nContent-Length: {CL}\r\n\r\n", &body);
        assert_eq!(ok(&buf).sdp_bodies(), [SDP.as_bytes()]);
    }
    #[test]
    fn sdp_multipart_nested() {
        let inner = format!("--in\r\nContent-Type: application/sdp\r\n\r\n{SDP}\r\n--in--");
        let body = format!(
            "--out\r\nContent-Type: multipart/related;boundary=in\r\n\r\n{inner}\r\n--out--\r\n"
        );
        let buf = msg("INVITE sip:a SIP/2.0\r\nContent-Type: multipart/mixed;boundary=out\r\nContent-Length: {CL}\r\n\r\n", &body);
        assert_eq!(ok(&buf).sdp_bodies(), [SDP.as_bytes()]);
    }
    #[test]
    fn sdp_multipart_boundary_too_long() {
        let b = "b".repeat(71);
        let body = format!("--{b}\r\nContent-Type: application/sdp\r\n\r\n{SDP}\r\n--{b}--\r\n");
        let head = format!("INVITE sip:a SIP/2.0\r\nContent-Type: multipart/mixed;boundary={b}\r\nContent-Length: {{CL}}\r\n\r\n");
        let buf = msg(&head, &body);
        assert!(ok(&buf).sdp_bodies().is_empty());
    }
    #[test]
    fn sdp_multipart_no_boundary() {
        let buf = msg(
            "INVITE sip:a SIP/2.0\r\nContent-Type: multipart/mixed\r\nContent-Length: {CL}\r\n\r\n",
            SDP,
        );
        assert!(ok(&buf).sdp_bodies().is_empty());
    }
    #[test]
    fn sdp_multipart_bounded() {
        let mut body = String::new();
        for _ in 0..100 {
            body.push_str("--b\r\nContent-Type: application/sdp\r\n\r\nv=0\r\n");
        }
        body.push_str("--b--");
        let buf = msg("INVITE sip:a SIP/2.0\r\nContent-Type: multipart/mixed;boundary=b\r\nContent-Length: {CL}\r\n\r\n", &body);
        assert_eq!(ok(&buf).sdp_bodies().len(), MAX_MULTIPART_PARTS);
    }

    // --- RFC 4475 torture messages (written from the RFC's descriptions; bodies shortened) -----------------

    const TORTURE_SDP: &str = "v=0\r\no=mhandley 29739 7272939 IN IP4 192.0.2.3\r\ns=-\r\nc=IN IP4 192.0.2.4\r\nt=0 0\r\nm=audio 49217 RTP/AVP 0 12\r\nm=video 3227 RTP/AVP 31\r\na=rtpmap:31 LPC\r\n";

    /// §3.1.1.1 wsinv: LWS and folding everywhere, compact forms, unknown headers, mixed case names.
    fn wsinv() -> Vec<u8> {
        msg(
            "INVITE sip:vivekg@chair-dnrc.example.com;unknownparam SIP/2.0\r\n\
TO :\r\n sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n\r\n\
from   : \"J Rosenberg \\\\\\\"\"       <sip:jdrosen@example.com>\r\n  ;\r\n  tag = 98asjd8\r\n\
MaX-fOrWaRdS: 0068\r\n\
Call-ID: wsinv.ndaksdj@192.0.2.1\r\n\
Content-Length   : {CL}\r\n\
cseq: 0009\r\n  INVITE\r\n\
Via  : SIP  /   2.0\r\n /UDP\r\n    192.0.2.2;branch=390skdjuw\r\n\
s :\r\n\
NewFangledHeader:   newfangled value\r\n continued newfangled value\r\n\
UnknownHeaderWithUnusualValue: ;;,,;;,;\r\n\
Content-Type: application/sdp\r\n\
Route:\r\n <sip:services.example.com;lr;unknownwith=value;unknown-no-value>\r\n\
v:  SIP  / 2.0  / TCP     spindle.example.com   ;\r\n  branch  =   z9hG4bK9ikj8  ,\r\n SIP  /    2.0   / UDP  192.168.255.111   ; branch=\r\n z9hG4bK30239\r\n\
m:\"Quoted string \\\"\\\"\" <sip:jdrosen@example.com> ; newparam =\r\n      newvalue ;\r\n  secondparam ; q = 0.33\r\n\
\r\n",
            TORTURE_SDP,
        )
    }

    #[test]
    fn rfc4475_wsinv() {
        let buf = wsinv();
        let m = ok(&buf);
        assert_eq!(m.method(), Some(Method::Invite));
        assert_eq!(m.call_id(), Some("wsinv.ndaksdj@192.0.2.1"));
        assert_eq!(
            m.cseq(),
            Some(CSeq {
                seq: 9,
                method: Method::Invite
            })
        );
        assert_eq!(m.max_forwards(), Some(68));
        let to = m.to().expect("to");
        assert_eq!(
            (to.uri, to.tag),
            ("sip:vivekg@chair-dnrc.example.com", Some("1918181833n"))
        );
        let from = m.from().expect("from");
        assert_eq!(
            (from.display, from.uri, from.tag),
            (
                Some("J Rosenberg \\\\\\\""),
                "sip:jdrosen@example.com",
                Some("98asjd8")
            )
        );
        let vias: Vec<_> = m.vias().map(|v| (v.transport, v.host, v.branch)).collect();
        assert_eq!(
            vias,
            [
                ("UDP", "192.0.2.2", Some("390skdjuw")),
                ("TCP", "spindle.example.com", Some("z9hG4bK9ikj8")),
                ("UDP", "192.168.255.111", Some("z9hG4bK30239")),
            ]
        );
        assert_eq!(
            m.header_value("NewFangledHeader"),
            Some("newfangled value continued newfangled value")
        );
        assert_eq!(m.header_value("Subject"), Some(""));
        assert_eq!(
            m.route(),
            ["sip:services.example.com;lr;unknownwith=value;unknown-no-value"]
        );
        let contact = m.contact().expect("contact");
        assert_eq!(
            (contact.display, contact.uri),
            (Some("Quoted string \\\"\\\""), "sip:jdrosen@example.com")
        );
        assert_eq!(param(contact.params, "newparam"), Some(Some("newvalue")));
        assert_eq!(param(contact.params, "q"), Some(Some("0.33")));
        assert_eq!(m.sdp_bodies(), [TORTURE_SDP.as_bytes()]);
        assert_eq!(m.truncated, None);
    }

    /// §3.1.1.2 intmeth: unusual but valid characters in method, URI, display names and Call-ID.
    const INTMETH: &[u8] = b"!interesting-Method0123456789_*+`.%indeed'~ sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com SIP/2.0\r\n\
Via: SIP/2.0/TCP host1.example.com;branch=z9hG4bK-.!%66*_+`'~\r\n\
To: \"BEL:\\\x07 NUL:\\\x00 DEL:\\\x7F\" <sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*@example.com>\r\n\
From: token1~` token2'+_ token3*%!.- <sip:mundane@example.com>;fromParam''~+*_!.-%=\"\xD1\x80\xD0\xB0\xD0\xB1\xD0\xBE\xD1\x82\xD0\xB0\xD1\x8E\xD1\x89\xD0\xB8\xD0\xB9\";tag=_token~1'+`*%!-.\r\n\
Call-ID: intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{\r\n\
CSeq: 139122385 !interesting-Method0123456789_*+`.%indeed'~\r\n\
Max-Forwards: 255\r\n\
extensionHeader-!.%*+_`'~:\xEF\xBB\xBF\xE5\xA4\xA7\xE5\x81\x9C\xE9\x9B\xBB\r\n\
Content-Length: 0\r\n\r\n";

    #[test]
    fn rfc4475_intmeth() {
        let m = ok(INTMETH);
        let method = Method::Other("!interesting-Method0123456789_*+`.%indeed'~");
        assert_eq!(m.method(), Some(method));
        assert_eq!(
            m.cseq(),
            Some(CSeq {
                seq: 139_122_385,
                method
            })
        );
        assert_eq!(
            m.call_id(),
            Some("intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{")
        );
        assert_eq!(
            m.top_via().and_then(|v| v.branch),
            Some("z9hG4bK-.!%66*_+`'~")
        );
        let from = m.from().expect("from");
        assert_eq!(from.display, Some("token1~` token2'+_ token3*%!.-"));
        assert_eq!(from.tag, Some("_token~1'+`*%!-."));
        let to = m.to().expect("to");
        assert_eq!(
            to.uri,
            "sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*@example.com"
        );
        assert_eq!(
            m.header_value("extensionHeader-!.%*+_`'~"),
            Some("\u{feff}大停電")
        );
        let StartLine::Request { uri, .. } = m.start else {
            panic!("request")
        };
        let uri = Uri::parse(uri).expect("uri");
        assert_eq!(uri.host, "example.com");
    }

    /// §3.1.1.3 esc01 and §3.1.1.4 escnull: escapes are kept, not decoded.
    #[test]
    fn rfc4475_escapes() {
        let buf = msg(
            "INVITE sip:sips%3Auser%40example.com@example.net SIP/2.0\r\nTo: sip:%75se%72@example.com\r\nFrom: <sip:I%20have%20spaces@example.net>;tag=938\r\nMax-Forwards: 87\r\ni: esc01.239409asdfakjkn23onasd0-3234\r\nCSeq: 234234 INVITE\r\nVia: SIP/2.0/UDP host5.example.net;branch=z9hG4bKkdjuw\r\nC: application/sdp\r\nContact:\r\n  <sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31>\r\nContent-Length: {CL}\r\n\r\n",
            TORTURE_SDP,
        );
        let m = ok(&buf);
        assert_eq!(m.call_id(), Some("esc01.239409asdfakjkn23onasd0-3234"));
        let StartLine::Request { uri, .. } = m.start else {
            panic!("request")
        };
        let uri = Uri::parse(uri).expect("uri");
        assert_eq!(
            (uri.user, uri.host),
            (Some("sips%3Auser%40example.com"), "example.net")
        );
        assert_eq!(
            m.contact().map(|c| c.uri),
            Some("sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31")
        );
        assert_eq!(m.sdp_bodies().len(), 1);

        let m = ok(b"REGISTER sip:example.com SIP/2.0\r\nTo: sip:null-%00-null@example.com\r\nFrom: sip:null-%00-null@example.com;tag=839923423\r\nMax-Forwards: 70\r\nCall-ID: escnull.39203ndfvkjdasfkq3w4otrq0adsfdfnavd\r\nCSeq: 14398234 REGISTER\r\nVia: SIP/2.0/UDP host5.example.com;branch=z9hG4bKkdjuw\r\nContact: <sip:%00@host5.example.com>\r\nContact: <sip:%00%00@host5.example.com>\r\nL:0\r\n\r\n");
        assert_eq!(
            m.cseq(),
            Some(CSeq {
                seq: 14_398_234,
                method: Method::Register
            })
        );
        assert_eq!(m.from().and_then(|f| f.tag), Some("839923423"));
        assert_eq!(m.contacts().count(), 2);
        assert_eq!(m.content_length(), Some(0));
    }

    /// §3.1.1.5 esc02: `%` in a method is not an escape; the method is unknown.
    #[test]
    fn rfc4475_esc02() {
        let m = ok(b"RE%47IST%45R sip:registrar.example.com SIP/2.0\r\nTo: \"%Z%45\" <sip:resource@example.com>\r\nFrom: \"%Z%45\" <sip:resource@example.com>;tag=f232jadfj23\r\nCall-ID: esc02.asdfnqwo34rq23i34jrjasdcnl23nrlknsdf\r\nVia: SIP/2.0/TCP host.example.com;rport;branch=z9hG4bK209%fzsnel234\r\nCSeq: 29344 RE%47IST%45R\r\nMax-Forwards: 70\r\nContact: <sip:alias1@host1.example.com>\r\nC%6Fntact: <sip:alias2@host2.example.com>\r\nContact: <sip:alias3@host3.example.com>\r\nl: 0\r\n\r\n");
        assert_eq!(m.method(), Some(Method::Other("RE%47IST%45R")));
        assert_eq!(
            m.cseq().map(|c| c.method),
            Some(Method::Other("RE%47IST%45R"))
        );
        assert_eq!(
            m.top_via().map(|v| (v.rport, v.branch)),
            Some((Some(None), Some("z9hG4bK209%fzsnel234")))
        );
        assert_eq!(m.from().and_then(|f| f.display), Some("%Z%45"));
        // `C%6Fntact` is a different (extension) header name.
        assert_eq!(m.contacts().count(), 2);
        assert_eq!(
            m.header_value("C%6Fntact"),
            Some("<sip:alias2@host2.example.com>")
        );
    }

    /// §3.1.1.6 lwsdisp and §3.1.1.9 semiuri.
    #[test]
    fn rfc4475_lwsdisp_semiuri() {
        let m = ok(b"OPTIONS sip:user;par=u%40example.net@example.com SIP/2.0\r\nTo: sip:j_user@example.com\r\nFrom: caller<sip:caller@example.com>;tag=323\r\nMax-Forwards: 70\r\nCall-ID: lwsdisp.1234abcd@funky.example.com\r\nCSeq: 60 OPTIONS\r\nVia: SIP/2.0/UDP funky.example.com;branch=z9hG4bKkdjuw\r\nl: 0\r\n\r\n");
        assert_eq!(
            m.from().map(|f| (f.display, f.tag)),
            Some((Some("caller"), Some("323")))
        );
        let StartLine::Request { uri, .. } = m.start else {
            panic!("request")
        };
        assert_eq!(
            Uri::parse(uri).map(|u| u.user),
            Ok(Some("user;par=u%40example.net"))
        );
    }

    /// §3.1.1.7 longreq: long values and many Via headers (kept under MAX_HEADER_BLOCK).
    #[test]
    fn rfc4475_longreq() {
        let long = "x".repeat(400);
        let mut head = format!(
            "INVITE sip:user@example.com SIP/2.0\r\nTo: \"I have a user name of {long} proportion\" <sip:user@example.com:6000;unknownparam1=very{long}longvalue>\r\nFrom: sip:amazinglylongcallername{long}@example.net;tag=12{long}982\r\nCall-ID: longreq.one{long}really\r\nCSeq: 3882340 INVITE\r\nMax-Forwards: 70\r\n"
        );
        for i in 0..50 {
            head.push_str(&format!(
                "Via: SIP/2.0/TCP sip{i}.example.com;branch=z9hG4bK{i}{long}\r\n"
            ));
        }
        head.push_str("Content-Length: 0\r\n\r\n");
        let m = ok(head.as_bytes());
        assert_eq!(m.vias().count(), 50);
        assert_eq!(
            m.call_id(),
            Some(format!("longreq.one{long}really").as_str())
        );
        assert_eq!(
            m.from().and_then(|f| f.tag),
            Some(format!("12{long}982").as_str())
        );
        assert_eq!(
            m.to().map(|t| t.uri.to_owned()),
            Some(format!(
                "sip:user@example.com:6000;unknownparam1=very{long}longvalue"
            ))
        );
    }

    /// §3.1.1.8 dblreq: octets after Content-Length in a datagram are not part of the message.
    #[test]
    fn rfc4475_dblreq() {
        let buf = b"REGISTER sip:example.com SIP/2.0\r\nTo: sip:j.user@example.com\r\nFrom: sip:j.user@example.com;tag=43251j3j324\r\nMax-Forwards: 8\r\nI: dblreq.0ha0isndaksdj99sdfafnl3lk233412\r\nContact: sip:j.user@host.example.com\r\nCSeq: 8 REGISTER\r\nVia: SIP/2.0/UDP 192.0.2.125;branch=z9hG4bKkdjuw23492\r\nContent-Length: 0\r\n\r\nINVITE sip:joe@example.com SIP/2.0\r\nt: sip:joe@example.com\r\nFrom: sip:caller@example.net;tag=141334\r\nMax-Forwards: 8\r\nCall-ID: dblreq.0ha0isnda977644900765@192.0.2.15\r\nCSeq: 8 INVITE\r\nVia: SIP/2.0/UDP 192.0.2.15;branch=z9hG4bKkdjuw380234\r\nContent-Type: application/sdp\r\nContent-Length: 4\r\n\r\nv=0\n";
        let m = ok(buf);
        assert_eq!(m.method(), Some(Method::Register));
        assert_eq!(m.body, b"");
        assert!(m.len < buf.len());
        let all: Vec<_> = parse_all(buf).map(|r| r.map(|m| m.method())).collect();
        assert_eq!(all, [Ok(Some(Method::Register)), Ok(Some(Method::Invite))]);
    }

    /// §3.1.1.10 transports: known and unknown transports in Via.
    #[test]
    fn rfc4475_transports() {
        let m = ok(b"OPTIONS sip:user@example.com SIP/2.0\r\nTo: sip:user@example.com\r\nFrom: <sip:caller@example.com>;tag=323\r\nMax-Forwards: 70\r\nCall-ID:  transports.kijh4akdnaqjkwendsasfdj\r\nAccept: application/sdp\r\nCSeq: 60 OPTIONS\r\nVia: SIP/2.0/UDP t1.example.com;branch=z9hG4bKkdjuw\r\nVia: SIP/2.0/SCTP t2.example.com;branch=z9hG4bKklasjdhf\r\nVia: SIP/2.0/TLS t3.example.com;branch=z9hG4bK2980unddj\r\nVia: SIP/2.0/UNKNOWN t4.example.com;branch=z9hG4bKasd0f3en\r\nVia: SIP/2.0/TCP t5.example.com;branch=z9hG4bK0a9idfnee\r\nl: 0\r\n\r\n");
        let t: Vec<_> = m.vias().map(|v| v.transport).collect();
        assert_eq!(t, ["UDP", "SCTP", "TLS", "UNKNOWN", "TCP"]);
        assert_eq!(m.call_id(), Some("transports.kijh4akdnaqjkwendsasfdj"));
    }

    /// §3.1.1.11 mpart01: multipart/mixed with an SDP part and a binary signature part.
    #[test]
    fn rfc4475_mpart01() {
        let sdp = "v=0\r\no=- 3 2 IN IP4 192.0.2.3\r\ns=-\r\nc=IN IP4 192.0.2.3\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0 8\r\n";
        let mut body = format!("--7a9cbec02ceef655\r\nContent-Type: application/sdp\r\nContent-Transfer-Encoding: binary\r\n\r\n{sdp}\r\n--7a9cbec02ceef655\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n").into_bytes();
        body.extend_from_slice(&[
            0x30, 0x82, 0x01, 0x52, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07,
            0x02, 0xa0, 0x0d, 0x0a,
        ]);
        body.extend_from_slice(b"\r\n--7a9cbec02ceef655--\r\n");
        let mut buf = format!("MESSAGE sip:kumiko@example.org SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.3;branch=z9hG4bK0hhjuw\r\nMax-Forwards: 70\r\nFrom: \"Bob\" <sip:bob@example.com>;tag=a2\r\nTo: <sip:kumiko@example.org>\r\nCall-ID: mpart01.1234@example.com\r\nCSeq: 10 MESSAGE\r\nContent-Type: multipart/mixed;boundary=7a9cbec02ceef655\r\nContent-Length: {}\r\n\r\n", body.len()).into_bytes();
        buf.extend_from_slice(&body);
        let m = ok(&buf);
        assert_eq!(m.method(), Some(Method::Message));
        assert_eq!(m.sdp_bodies(), [sdp.as_bytes()]);
    }

    /// §3.1.1.12 unreason and §3.1.1.13 noreason.
    #[test]
    fn rfc4475_reason_phrases() {
        let m = ok("SIP/2.0 200 = 2**3 * 5**2 но сто девяносто девять - простое\r\nVia: SIP/2.0/UDP 192.0.2.198;branch=z9hG4bK1324923\r\nCall-ID: unreason.1234ksdfak3j2erwedfsASdf\r\nCSeq: 35 INVITE\r\nFrom: sip:user@example.com;tag=11141343\r\nTo: sip:user@example.edu;tag=2229\r\nContent-Length: 0\r\n\r\n".as_bytes());
        assert_eq!(
            m.start,
            StartLine::Response {
                status: StatusCode::OK,
                reason: Cow::Borrowed("= 2**3 * 5**2 но сто девяносто девять - простое")
            }
        );
        assert_eq!(m.to().and_then(|t| t.tag), Some("2229"));
        let m = ok(b"SIP/2.0 100 \r\nVia: SIP/2.0/UDP 192.0.2.105;branch=z9hG4bK2398ndaoe\r\nCall-ID: noreason.asndj203insdf99223ndf\r\nCSeq: 35 INVITE\r\nFrom: <sip:user@example.com>;tag=39ansfi3\r\nTo: <sip:user@example.edu>;tag=902jndnke3\r\nContent-Length: 0\r\n\r\n");
        assert_eq!(m.status(), Some(StatusCode::TRYING));
    }

    /// §3.1.2 invalid messages: which are rejected and which parse leniently (the lenient ones keep enough
    /// structure for forensics; semantic checks belong to callers).
    #[test]
    fn rfc4475_invalid_messages() {
        const HDRS: &str = "Via: SIP/2.0/UDP 192.0.2.15;branch=z9hG4bK1\r\nTo: sip:j.user@example.com\r\nFrom: sip:caller@example.net;tag=134161461246\r\nMax-Forwards: 7\r\nCall-ID: inv.0ha0isndaksdjasdf3234nas\r\nCSeq: 8 INVITE\r\n";
        let with = |start: &str, extra: &str, body: &str| {
            format!("{start}\r\n{HDRS}{extra}\r\n{body}").into_bytes()
        };

        // badinv01: extraneous separators, lenient: the Via list yields the one real value.
        let b = with("INVITE sip:user@example.com SIP/2.0", "Contact: sip:caller@host.example.net;;;;\r\nVia: SIP/2.0/UDP 192.0.2.15;;,;,,\r\nl: 0\r\n", "");
        let m = ok(&b);
        assert_eq!(m.vias().count(), 2);
        // clerr: Content-Length larger than the message, flagged.
        let b = with(
            "INVITE sip:user@example.com SIP/2.0",
            "Content-Length: 9999\r\n",
            "v=0\r\n",
        );
        assert_eq!(
            ok(&b).truncated,
            Some(Truncation::Body {
                declared: 9999,
                available: 5
            })
        );
        // ncl: negative Content-Length, ignored (body is the rest).
        let b = with(
            "INVITE sip:user@example.com SIP/2.0",
            "Content-Length: -999\r\n",
            "v=0\r\n",
        );
        let m = ok(&b);
        assert_eq!((m.content_length(), m.body), (None, &b"v=0\r\n"[..]));
        // scalar02: overlarge CSeq is None, Max-Forwards 300 is reported as sent.
        let b = with(
            "REGISTER sip:example.com SIP/2.0",
            "CSeq: 36893488147419103232 REGISTER\r\nMax-Forwards: 300\r\nl: 0\r\n",
            "",
        );
        let m = ok(&b);
        assert_eq!(m.cseq().map(|c| c.seq), Some(8), "the first CSeq counts");
        assert_eq!(m.max_forwards(), Some(7));
        let b = b"SIP/2.0 503 Service Unavailable\r\nCSeq: 36893488147419103232 REGISTER\r\nWarning: 1812 overture \"In Progress\"\r\nl: 0\r\n\r\n";
        let m = ok(b);
        assert_eq!((m.cseq(), m.warnings().len()), (None, 0));
        // quotbal: unterminated quoted display name, the header is unusable but the message parses.
        let b = b"INVITE sip:user@example.com SIP/2.0\r\nTo: \"Mr. J. User <sip:j.user@example.com>\r\nCall-ID: quotbal.aksdj\r\nl: 0\r\n\r\n";
        let m = ok(b);
        assert_eq!((m.to(), m.call_id()), (None, Some("quotbal.aksdj")));
        // ltgtruri, lwsruri, lwsstart, trws: lenient start line (tested in start_lenient_*).
        // escruri: headers in the Request-URI are kept in Uri::headers.
        // baddn: non-token display name without quotes, lenient.
        let b = b"OPTIONS sip:t.watson@example.org SIP/2.0\r\nFrom: Bell, Alexander <sip:a.g.bell@example.com>;tag=43\r\nl: 0\r\n\r\n";
        assert_eq!(
            ok(b).from().map(|f| (f.display, f.tag)),
            Some((Some("Bell, Alexander"), Some("43")))
        );
        // badvers and bigcode: rejected.
        assert_eq!(
            parse(b"OPTIONS sip:t.watson@example.org SIP/7.0\r\nl: 0\r\n\r\n")
                .map_err(|e| e.code()),
            Err("unsupported-version")
        );
        assert_eq!(
            parse(b"SIP/2.0 4294967301 better not break the receiver\r\nl: 0\r\n\r\n")
                .map_err(|e| e.code()),
            Err("bad-start-line")
        );
        // mismatch01: CSeq method differs from the request method; both are reported as sent.
        let b = b"OPTIONS sip:user@example.com SIP/2.0\r\nCSeq: 8 INVITE\r\nl: 0\r\n\r\n";
        let m = ok(b);
        assert_eq!(
            (m.method(), m.cseq().map(|c| c.method)),
            (Some(Method::Options), Some(Method::Invite))
        );
        // mcl01: several Content-Length values, the first counts.
        let b = b"OPTIONS sip:user@example.com SIP/2.0\r\nContent-Length: 0\r\nl: 5\r\n\r\nabcde";
        assert_eq!(ok(b).body, b"");
        // regbadct: URI with headers not enclosed in <>, lenient (kept in the addr-spec URI).
        let b = b"REGISTER sip:example.com SIP/2.0\r\nContact: sip:user@example.com?Route=%3Csip:sip.example.com%3E\r\nl: 0\r\n\r\n";
        assert_eq!(
            ok(b).contact().map(|c| c.uri),
            Some("sip:user@example.com?Route=%3Csip:sip.example.com%3E")
        );
        // unkscm / novelsc: unknown schemes in the Request-URI parse.
        let m = ok(b"OPTIONS soap.beep://192.0.2.103:3002 SIP/2.0\r\nl: 0\r\n\r\n");
        let StartLine::Request { uri, .. } = m.start else {
            panic!("request")
        };
        assert_eq!(Uri::parse(uri).map(|u| u.scheme), Ok("soap.beep"));
        // inv2543: RFC 2543 message without branch.
        let m = ok(b"INVITE sip:UserB@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.15\r\nFrom: <sip:UserA@example.com>\r\nTo: <sip:UserB@example.com>\r\nCall-ID: 1234567890@192.0.2.15\r\nCSeq: 1 INVITE\r\n\r\n");
        assert_eq!(
            m.top_via().map(|v| (v.host, v.branch)),
            Some(("192.0.2.15", None))
        );
        assert_eq!(m.from().and_then(|f| f.tag), None);
    }

    // --- no panic on truncation and arbitrary bytes --------------------------------------------------------

    fn corpus() -> Vec<Vec<u8>> {
        let mut c = vec![
            wsinv(),
            INTMETH.to_vec(),
            b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP a:1;rport=2;received=1.2.3.4, SIP/2.0/TCP [::1]:5\r\nReason: Q.850;cause=16;text=\"x\"\r\nWarning: 399 h \"t\"\r\nms-diagnostics: 1008.5;reason=\"r\";source=\"s\";A=\"b\"\r\nContent-Type: multipart/mixed;boundary=b\r\nContent-Length: 60\r\n\r\n--b\r\nContent-Type: application/sdp\r\n\r\nv=0\r\n--b--\r\n".to_vec(),
            b"INVITE sip:a@b SIP/2.0\nFrom: \"J\xe9\" <sip:a@b>;tag=1\nTo: x\n folded\nl: 3\n\nabcSIP/2.0 100 Trying\n\n".to_vec(),
        ];
        c.push(msg(
            "INVITE sip:a SIP/2.0\r\nContent-Type: application/sdp\r\nContent-Length: {CL}\r\n\r\n",
            SDP,
        ));
        c
    }

    #[test]
    fn truncated_at_every_prefix_never_panics() {
        for m in corpus() {
            for end in 0..=m.len() {
                exercise(&m[..end]);
                exercise(&m[end..]);
            }
        }
    }

    #[test]
    fn framing_every_prefix_is_consistent() {
        let m = msg(
            "INVITE sip:a SIP/2.0\r\nContent-Type: application/sdp\r\nContent-Length: {CL}\r\n\r\n",
            SDP,
        );
        for end in 0..m.len() {
            match frame(&m[..end]) {
                Framing::Incomplete { needed } => {
                    if let Some(n) = needed {
                        assert_eq!(end + n, m.len());
                    }
                }
                other => panic!("prefix {end}: {other:?}"),
            }
        }
        assert_eq!(frame(&m), Framing::Complete { len: m.len() });
    }

    mod prop {
        use super::super::*;
        use super::exercise;
        use proptest::prelude::*;

        /// A message structure rendered by the tiny test-only writer below.
        #[derive(Debug, Clone)]
        struct Gen {
            request: Option<(String, String)>,
            status: (u16, String),
            call_id: String,
            cseq: (u32, String),
            from: (Option<String>, String, String),
            vias: Vec<(String, String, Option<u16>, String)>,
            extra: Vec<(String, String)>,
            compact: bool,
            body: Vec<u8>,
        }

        fn token() -> impl Strategy<Value = String> {
            "[A-Za-z0-9][A-Za-z0-9.!%*_+`'~-]{0,15}"
        }

        fn gen() -> impl Strategy<Value = Gen> {
            (
                proptest::option::of((token(), "sip:[a-z0-9]{1,8}@[a-z0-9.]{1,12}")),
                (100u16..=699, "[A-Za-z][A-Za-z0-9 ]{0,20}"),
                "[A-Za-z0-9.@_-]{1,30}",
                (any::<u32>(), token()),
                (
                    proptest::option::of("[A-Za-z][A-Za-z0-9 ]{0,10}[A-Za-z0-9]"),
                    "sip:[a-z]{1,8}@[a-z.]{1,10}",
                    "[A-Za-z0-9]{1,10}",
                ),
                proptest::collection::vec(
                    (
                        "UDP|TCP|TLS|WS",
                        "[a-z0-9.]{1,15}",
                        proptest::option::of(any::<u16>()),
                        "z9hG4bK[A-Za-z0-9]{1,10}",
                    ),
                    1..4,
                ),
                proptest::collection::vec(
                    ("X-[A-Za-z0-9-]{1,10}", "[!-~]([ -~]{0,30}[!-~])?"),
                    0..4,
                ),
                any::<bool>(),
                proptest::collection::vec(any::<u8>(), 0..64),
            )
                .prop_map(
                    |(request, status, call_id, cseq, from, vias, extra, compact, body)| Gen {
                        request,
                        status,
                        call_id,
                        cseq,
                        from,
                        vias,
                        extra,
                        compact,
                        body,
                    },
                )
        }

        /// Test-only writer: renders `g` as a SIP message.
        fn render(g: &Gen) -> Vec<u8> {
            let mut s = match &g.request {
                Some((m, uri)) => format!("{m} {uri} SIP/2.0\r\n"),
                None => format!("SIP/2.0 {} {}\r\n", g.status.0, g.status.1),
            };
            let (i, f, v, l) = if g.compact {
                ("i", "f", "v", "l")
            } else {
                ("Call-ID", "From", "Via", "Content-Length")
            };
            for (t, h, p, b) in &g.vias {
                let port = p.map(|p| format!(":{p}")).unwrap_or_default();
                s.push_str(&format!("{v}: SIP/2.0/{t} {h}{port};branch={b}\r\n"));
            }
            let display = g
                .from
                .0
                .as_ref()
                .map(|d| format!("\"{d}\" "))
                .unwrap_or_default();
            s.push_str(&format!(
                "{f}: {display}<{}>;tag={}\r\n",
                g.from.1, g.from.2
            ));
            s.push_str(&format!(
                "{i}: {}\r\nCSeq: {} {}\r\n",
                g.call_id, g.cseq.0, g.cseq.1
            ));
            for (n, val) in &g.extra {
                s.push_str(&format!("{n}: {val}\r\n"));
            }
            s.push_str(&format!("{l}: {}\r\n\r\n", g.body.len()));
            let mut out = s.into_bytes();
            out.extend_from_slice(&g.body);
            out
        }

        proptest! {
            #[test]
            fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
                exercise(&bytes);
            }

            #[test]
            fn sip_like_bytes_never_panic(
                start in prop_oneof![Just(&b"INVITE sip:a@b SIP/2.0\r\n"[..]), Just(&b"SIP/2.0 200 OK\r\n"[..])],
                tail in proptest::collection::vec(prop_oneof![
                    Just(b'\r'), Just(b'\n'), Just(b' '), Just(b':'), Just(b';'), Just(b','), Just(b'"'), Just(b'<'),
                    Just(b'>'), Just(b'='), Just(b'\\'), Just(b'-'), Just(b'v'), Just(b'l'), Just(b'1'), Just(b'/'),
                    Just(b'['), Just(b']'), Just(0xff), any::<u8>()
                ], 0..300),
            ) {
                let mut buf = start.to_vec();
                buf.extend_from_slice(&tail);
                exercise(&buf);
            }

            #[test]
            fn render_then_parse_round_trips(g in gen()) {
                let bytes = render(&g);
                let m = parse(&bytes).expect("rendered message parses");
                prop_assert_eq!(frame(&bytes), Framing::Complete { len: bytes.len() });
                match (&g.request, &m.start) {
                    (Some((method, uri)), StartLine::Request { method: got_m, uri: got_u }) => {
                        prop_assert_eq!(method.as_str(), got_m.as_str());
                        prop_assert_eq!(uri.as_str(), *got_u);
                    }
                    (None, StartLine::Response { status, reason }) => {
                        prop_assert_eq!(status.0, g.status.0);
                        prop_assert_eq!(reason.as_ref(), g.status.1.trim_end());
                    }
                    _ => prop_assert!(false, "start line kind differs"),
                }
                prop_assert_eq!(m.call_id(), Some(g.call_id.as_str()));
                let cseq = m.cseq().expect("cseq");
                prop_assert_eq!((cseq.seq, cseq.method.as_str()), (g.cseq.0, g.cseq.1.as_str()));
                let from = m.from().expect("from");
                prop_assert_eq!(from.display, g.from.0.as_deref());
                prop_assert_eq!((from.uri, from.tag), (g.from.1.as_str(), Some(g.from.2.as_str())));
                let vias: Vec<_> = m.vias().map(|v| (v.transport.to_owned(), v.host.to_owned(), v.port, v.branch.map(str::to_owned))).collect();
                let want: Vec<_> = g.vias.iter().map(|(t, h, p, b)| (t.clone(), h.clone(), *p, Some(b.clone()))).collect();
                prop_assert_eq!(vias, want);
                for (n, v) in &g.extra {
                    prop_assert!(m.headers_named(n).any(|h| h.value == v.as_str()));
                }
                prop_assert_eq!(m.body, &g.body[..]);
                prop_assert_eq!(m.len, bytes.len());
            }
        }
    }
}
