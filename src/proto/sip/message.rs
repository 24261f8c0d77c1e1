//! The views of one SIP message and its parser with datagram semantics (RFC 3261 §7).
//!
//! Takes in: the bytes of one message (a datagram payload, or one frame cut from a stream by `super::frame`).
//! Produces: [`parse`], which splits the start line ([`StartLine`], Request-Line or Status-Line), the header
//! fields in wire order ([`Header`], folded lines joined, compact names expanded) and the body by Content-Length
//! into a borrowed [`Message`]; the accessors for plain header values (Call-ID, Content-Length, Content-Type,
//! User-Agent, Server, Max-Forwards) and header lookup by name.
//! Does not: parse structured header values (see `super::headers`) or bodies (see `super::body`), or check that
//! mandatory headers are present.

use std::borrow::Cow;

use super::grammar::{
    is_lws, is_token_char, is_wsp, leading_line_breaks, next_line, parse_decimal, split_outside,
    trim_lws, VERSION,
};
use super::registry::{expand_compact, Method, Name, StatusCode};
use super::{Error, MAX_HEADERS, MAX_HEADER_BLOCK};

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
    /// The field, when it is one callscope reads.
    pub known: Option<Name>,
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
    /// The input is only the head of a longer message, cut at an arbitrary byte ([`parse_head`]: a
    /// datagram whose later IP fragments are missing); the header fields are those whose lines are
    /// complete in it, the body whatever followed the header block.
    Head,
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
    /// The known fields present, a bit each ([`Name`]).
    present: u32,
}

/// Parses one message with datagram semantics (see the module doc for Content-Length handling).
pub fn parse(buf: &[u8]) -> Result<Message<'_>, Error> {
    let lead = leading_line_breaks(buf);
    if lead >= buf.len() {
        return Err(Error::Empty);
    }
    let (first, mut pos) = next_line(buf, lead);
    let start = parse_start_line(first)?;
    // Validated once when the whole message is UTF-8 (nearly always); each field on its own otherwise.
    let text = std::str::from_utf8(buf).ok();
    // A typical message has 10 to 20 header fields: one allocation instead of five regrowths.
    let mut headers = Vec::with_capacity(16);
    let mut present = 0;
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
        let raw_text = text.and_then(|t| t.get(pos..value_end));
        let header = parse_header(raw, raw_text, header_line)?;
        present |= header.known.map_or(0, Name::bit);
        headers.push(header);
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
        present,
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

/// Parses the head of a message that was cut at an arbitrary byte (the first IP fragment of a datagram
/// whose other fragments are missing): the start line and the header fields whose lines are complete.
/// A line the cut falls in is dropped, and so is the line before it when the cut falls right after its
/// line break (it may have continued on a folded line that is lost); once the header block ended, the
/// body is what follows it. The result is always flagged [`Truncation::Head`].
pub fn parse_head(buf: &[u8]) -> Result<Message<'_>, Error> {
    let lead = leading_line_breaks(buf);
    // The header block ended in the input: every header line is complete.
    let ended = memchr::memmem::find(buf.get(lead..).unwrap_or_default(), b"\n\r\n")
        .or_else(|| memchr::memmem::find(buf.get(lead..).unwrap_or_default(), b"\n\n"))
        .is_some();
    let head = if ended {
        buf
    } else {
        // Keep up to the last line break that a non-folding byte follows.
        let mut end = 0;
        for i in memchr::memchr_iter(b'\n', buf) {
            match buf.get(i + 1) {
                Some(&b) if !is_wsp(b) && i >= lead => end = i + 1,
                _ => {}
            }
        }
        if end <= lead {
            return Err(Error::CutShort);
        }
        buf.get(..end).unwrap_or_default()
    };
    let mut message = parse(head)?;
    message.truncated = Some(Truncation::Head);
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

/// Parses `name HCOLON value` where `raw` may contain folded continuation lines; `text` is `raw` as
/// text when it is known to be UTF-8.
fn parse_header<'a>(
    raw: &'a [u8],
    text: Option<&'a str>,
    line: usize,
) -> Result<Header<'a>, Error> {
    // RFC 3261 §7.3.1: `token HCOLON`, HCOLON = *( SP / HTAB ) ":" SWS, read in one pass: the name's
    // token characters, then blanks, then the colon.
    let name_len = raw.iter().take_while(|&&b| is_token_char(b)).count();
    let blanks = raw
        .get(name_len..)
        .unwrap_or_default()
        .iter()
        .take_while(|&&b| is_wsp(b))
        .count();
    let colon = name_len + blanks;
    if name_len == 0 || raw.get(colon) != Some(&b':') {
        return Err(match memchr::memchr(b':', raw) {
            Some(_) => Error::BadHeaderName { line },
            None => Error::HeaderWithoutColon { line },
        });
    }
    let name = raw.get(..name_len).unwrap_or_default();
    // Token characters are ASCII, so the name is text.
    let name = match text.and_then(|t| t.get(..name_len)) {
        Some(t) => t,
        None => std::str::from_utf8(name).map_err(|_| Error::BadHeaderName { line })?,
    };
    let after = raw.get(colon + 1..).unwrap_or_default();
    let raw_value = trim_lws(after);
    // The trimmed value's place in `raw`, to cut the same span from `text`.
    let skip = after.iter().take_while(|&&b| is_lws(b)).count();
    let value_text = text.and_then(|t| t.get(colon + 1 + skip..colon + 1 + skip + raw_value.len()));
    let name = expand_compact(name);
    Ok(Header {
        name,
        value: header_value(raw_value, value_text),
        raw_value,
        known: Name::of(name),
    })
}

/// Unfolds (each CR/LF plus following whitespace becomes one SP) and decodes lossily only when needed.
fn header_value<'a>(raw: &'a [u8], text: Option<&'a str>) -> Cow<'a, str> {
    if memchr::memchr2(b'\r', b'\n', raw).is_some() {
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
    match text {
        Some(t) => Cow::Borrowed(t),
        None => String::from_utf8_lossy(raw),
    }
}

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
            Some(Truncation::Head) => Err(Error::CutShort),
            Some(Truncation::Body {
                declared,
                available,
            }) => Err(Error::ContentLengthExceedsBody {
                declared,
                available,
            }),
        }
    }

    /// Whether the message holds this field.
    pub fn has(&self, name: Name) -> bool {
        self.present & name.bit() != 0
    }

    /// The first header with this name (case-insensitive, compact forms accepted).
    pub fn header(&self, name: &str) -> Option<&Header<'a>> {
        let name = expand_compact(name);
        self.matching(Name::of(name), name).next()
    }

    /// The value of the first header with this name.
    pub fn header_value(&self, name: &str) -> Option<&str> {
        self.header(name).map(|h| h.value.as_ref())
    }

    /// All headers with this name, in order.
    pub fn headers_named<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s Header<'a>> + 's {
        let name = expand_compact(name);
        self.matching(Name::of(name), name)
    }

    /// Every comma-separated value of every header with this name, in order.
    pub fn header_values<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s str> + 's {
        self.headers_named(name)
            .flat_map(|h| split_outside(h.value.as_ref(), b','))
    }

    /// The first header of a known field.
    pub fn first(&self, name: Name) -> Option<&Header<'a>> {
        self.all(name).next()
    }

    /// The value of the first header of a known field.
    pub fn value(&self, name: Name) -> Option<&str> {
        self.first(name).map(|h| h.value.as_ref())
    }

    /// All headers of a known field, in order.
    pub fn all(&self, name: Name) -> impl Iterator<Item = &Header<'a>> + '_ {
        self.matching(Some(name), name.as_str())
    }

    /// The headers of a field, in order: a known one by its [`Name`] (none looked at when the
    /// message lacks it), any other by `name`.
    fn matching<'s, 'n>(
        &'s self,
        known: Option<Name>,
        name: &'n str,
    ) -> impl Iterator<Item = &'s Header<'a>> + use<'s, 'n, 'a> {
        let skip = match known {
            Some(k) if !self.has(k) => self.headers.len(),
            _ => 0,
        };
        self.headers.iter().skip(skip).filter(move |h| match known {
            Some(k) => h.known == Some(k),
            None => h.name.eq_ignore_ascii_case(name),
        })
    }

    /// Every comma-separated value of every header of a known field, in order.
    pub fn values(&self, name: Name) -> impl Iterator<Item = &str> + '_ {
        self.all(name)
            .flat_map(|h| split_outside(h.value.as_ref(), b','))
    }

    pub fn call_id(&self) -> Option<&str> {
        self.value(Name::CallId).filter(|v| !v.is_empty())
    }

    /// Content-Length as a number; `None` if absent or not a decimal number (the first header counts).
    pub fn content_length(&self) -> Option<u64> {
        parse_decimal(self.first(Name::ContentLength)?.raw_value)
    }

    /// The full Content-Type value, parameters included.
    pub fn content_type(&self) -> Option<&str> {
        self.value(Name::ContentType)
    }

    pub fn user_agent(&self) -> Option<&str> {
        self.value(Name::UserAgent)
    }

    pub fn server(&self) -> Option<&str> {
        self.value(Name::Server)
    }

    pub fn max_forwards(&self) -> Option<u32> {
        let v = parse_decimal(self.first(Name::MaxForwards)?.raw_value)?;
        u32::try_from(v).ok()
    }
}
