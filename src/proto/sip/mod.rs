//! SIP message recognition, stream framing and parsing (RFC 3261).
//!
//! Takes in: the payload bytes of one UDP datagram or one reassembled TCP byte stream.
//! Produces: borrowed views ([`Message`], [`Header`], [`StartLine`]) over those bytes, typed accessors for the
//! header fields callscope needs (Call-ID, CSeq, From/To, Via, Reason, Warning, ms-diagnostics, authentication,
//! expiry and session-timer values, SDP bodies), and
//! stream framing ([`frame`]) by Content-Length.
//! Does not: keep transaction or dialog state, validate semantics (missing mandatory headers, CSeq method
//! mismatch, RFC 2543 compatibility), unescape `%HH` sequences or quoted-pair escapes, or parse SDP (see
//! `super::sdp`; [`Message::sdp_bodies`] only hands out the body slices).
//!
//! No-panic contract: every public function accepts arbitrary bytes and returns an error or a (possibly
//! partial) value; no input can make it panic, overflow or allocate more than a small multiple of its length.
//!
//! Choices worth knowing:
//! - Header values are [`Cow<str>`](std::borrow::Cow): borrowed in the common case, owned only when the header was folded over
//!   several lines (obsolete line folding, RFC 3261 §7.3.1, each fold becomes one SP) or when it holds bytes that
//!   are not UTF-8 (replaced by U+FFFD). The exact wire bytes are always kept in [`Header::raw_value`], so nothing
//!   is lost: a non-UTF-8 display name never rejects a message. The reason phrase follows the same rule.
//! - Datagram semantics ([`parse`]): without Content-Length the body is the rest of the datagram; a Content-Length
//!   larger than what is there yields a message flagged with [`Message::truncated`] rather than an error, so the
//!   Call-ID and CSeq of a cut message stay usable ([`Message::check_complete`] turns the flag into an error).
//!   [`parse_head`] reads a message known to be cut at an arbitrary byte (a datagram missing IP fragments):
//!   only the header lines complete in it.
//!   Per RFC 3261 §18.3 octets after Content-Length are not part of the message; [`parse_all`] still looks at
//!   them and yields further messages when they start with a SIP start line.
//! - The start line is parsed leniently: several SP between elements, trailing SP, and LWS inside the
//!   Request-URI are accepted (RFC 4475 §3.1.2.8 to §3.1.2.10); the method is whatever token precedes the first
//!   SP and the version whatever follows the last one.
//!
//! Layout: `message` holds the views and the parser of one message, `registry` the method, status-code and
//! compact-form tables, `framing` the content check and the Content-Length framing of streams, `grammar` the
//! byte predicates and nom rules of RFC 3261 §25.1 (nom stays inside `sip`), `headers` and `uri` the typed header
//! values, `body` the SDP body extraction (multipart included), and `tests` the unit, RFC 4475 and property tests.
//! Everything public is re-exported here, so callers name `sip::Message`, never a submodule.

mod body;
mod framing;
mod grammar;
mod headers;
mod message;
mod registry;
mod uri;

#[cfg(test)]
mod tests;

pub use framing::{frame, looks_like_sip, parse_all, Framing, Messages};
pub use grammar::{is_token_char, param, params};
pub use headers::{
    Auth, CSeq, MediaDebug, MsDiagnostic, NameAddr, Reason, SessionExpires, Via, Warning,
};
pub use message::{parse, parse_head, Header, Message, StartLine, Truncation};
pub use registry::{expand_compact, Method, Name, StatusCode};
pub use uri::Uri;

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
    /// The input is only the head of the message ([`parse_head`]).
    #[error("message cut short (only its head was captured)")]
    CutShort,
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
            Error::CutShort => "cut-short",
            Error::NotUtf8 { .. } => "not-utf8",
            Error::BadUri { .. } => "bad-uri",
        }
    }
}
