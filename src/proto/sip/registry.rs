//! SIP registries: methods, status codes and header names (RFC 3261 §7.1, §7.3.3, §21).
//!
//! Takes in: a method token, a status code number or a header name as parsed from a message.
//! Produces: [`Method`] (unknown methods kept as [`Method::Other`]), [`StatusCode`] (any value kept, with its
//! class predicates and canonical reason phrase), [`expand_compact`] (the one table of compact forms) and
//! [`Name`] (the header fields callscope reads, recognised once per header).
//! Does not: parse anything from bytes (see `super::message`) or judge whether a code fits a method.

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
///
/// Compare codes through the class predicates rather than by hand: [`is_provisional`](Self::is_provisional)
/// (1xx), [`is_final`](Self::is_final) (200 up), [`is_success`](Self::is_success) (2xx),
/// [`is_redirect`](Self::is_redirect) (3xx), [`is_failure`](Self::is_failure) (4xx to 6xx) and
/// [`class`](Self::class). The newtype is `Copy`, ordered by its number and hashable, so a model can hold it as
/// it holds a `u16`.
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

    /// 1xx, 100..=199 (RFC 3261 §21.1): the request is still being processed; no transaction ends here.
    pub fn is_provisional(self) -> bool {
        (100..200).contains(&self.0)
    }
    /// 200 and above: a final response, which ends a client transaction (RFC 3261 §17.1). For every code
    /// [`parse`](super::parse) yields this is `!is_provisional()`, and exactly one of [`is_success`](Self::is_success),
    /// [`is_redirect`](Self::is_redirect) and [`is_failure`](Self::is_failure) holds.
    pub fn is_final(self) -> bool {
        self.0 >= 200
    }
    /// 2xx, 200..=299 (RFC 3261 §21.2): the request succeeded (for an INVITE: the call was answered).
    pub fn is_success(self) -> bool {
        (200..300).contains(&self.0)
    }
    /// 3xx, 300..=399 (RFC 3261 §21.3): redirection, the Contact says where to try instead. Final, and neither a
    /// success nor a failure: a final response that is not a success is `is_redirect() || is_failure()`.
    pub fn is_redirect(self) -> bool {
        (300..400).contains(&self.0)
    }
    /// 4xx, 5xx or 6xx (RFC 3261 §21.4 to §21.6: client error, server error, global failure), that is every
    /// code from 400 up. Parsed codes stop at 699; a hand-built `StatusCode(700)` or more counts as a failure
    /// too, as it counts as final.
    pub fn is_failure(self) -> bool {
        self.0 >= 400
    }
    /// The class digit, `code / 100`: 1 for 1xx up to 6 for 6xx (0 and 7 to 655 only for hand-built codes).
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

/// Declares [`Name`] from one list of the fields and their spellings: the enum, [`Name::ALL`] and
/// [`Name::as_str`] cannot disagree.
macro_rules! names {
    ($($name:ident => $spelled:literal,)*) => {
        /// The header fields callscope reads. A header's name is recognised once, as its message is
        /// parsed ([`super::Header::known`]), so looking a field up compares a byte, and a field the
        /// message lacks is known absent at once ([`super::Message::has`]).
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Name {
            $($name,)*
        }

        impl Name {
            /// Every field, in the order of the enum.
            pub(super) const ALL: [Name; [$(Name::$name),*].len()] = [$(Name::$name),*];

            /// The field's name as RFC 3261 (or its extension) spells it.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Name::$name => $spelled,)*
                }
            }
        }
    };
}

names! {
    To => "To",
    Via => "Via",
    From => "From",
    CSeq => "CSeq",
    Route => "Route",
    Server => "Server",
    Reason => "Reason",
    MinSe => "Min-SE",
    CallId => "Call-ID",
    Contact => "Contact",
    Warning => "Warning",
    Expires => "Expires",
    UserAgent => "User-Agent",
    MinExpires => "Min-Expires",
    ContentType => "Content-Type",
    MaxForwards => "Max-Forwards",
    RecordRoute => "Record-Route",
    Authorization => "Authorization",
    ContentLength => "Content-Length",
    MsDiagnostics => "ms-diagnostics",
    SessionExpires => "Session-Expires",
    WwwAuthenticate => "WWW-Authenticate",
    ProxyAuthenticate => "Proxy-Authenticate",
    PAssertedIdentity => "P-Asserted-Identity",
    ProxyAuthorization => "Proxy-Authorization",
    MsDiagnosticsPublic => "ms-diagnostics-public",
    MsClientDiagnostics => "ms-client-diagnostics",
}

impl Name {
    /// The field a header name (long form, any case) denotes, if callscope reads it.
    pub fn of(name: &str) -> Option<Name> {
        // This runs for every header of every message: the length and the first and last letters
        // pick the one candidate, which is then compared whole.
        let b = name.as_bytes();
        let (&first, &last) = (b.first()?, b.last()?);
        let candidate = BY_SLOT[slot(b.len(), first, last)]?;
        FOLDED[candidate as usize].matches(b).then_some(candidate)
    }

    /// The field's bit in a set of fields ([`super::Message::has`]).
    pub(super) fn bit(self) -> u32 {
        1 << self as u32
    }
}

/// A field's spelling ready for a comparison that ignores ASCII case: its bytes in lower case and
/// 0x20 on each letter, both padded to three words. A byte ORed with 0x20 equals a lower-case
/// letter only when it is that letter in either case, so `(name | letters) == lower`, word by word,
/// is exactly `eq_ignore_ascii_case` for any bytes, in a few instructions instead of a few a byte.
struct Folded {
    len: usize,
    lower: [u64; 3],
    letters: [u64; 3],
}

/// The longest spelling a [`Folded`] holds.
const FOLDED_LEN: usize = 24;

impl Folded {
    const fn of(spelled: &str) -> Folded {
        let b = spelled.as_bytes();
        assert!(b.len() <= FOLDED_LEN);
        let mut lower = [0u8; FOLDED_LEN];
        let mut letters = [0u8; FOLDED_LEN];
        let mut i = 0;
        while i < b.len() {
            lower[i] = b[i].to_ascii_lowercase();
            if b[i].is_ascii_alphabetic() {
                letters[i] = 0x20;
            }
            i += 1;
        }
        Folded {
            len: b.len(),
            lower: words(lower),
            letters: words(letters),
        }
    }

    /// Whether `name` is the spelling in any case.
    fn matches(&self, name: &[u8]) -> bool {
        if name.len() != self.len {
            return false;
        }
        let mut padded = [0u8; FOLDED_LEN];
        match padded.get_mut(..name.len()) {
            Some(head) => head.copy_from_slice(name),
            None => return false,
        }
        let (name, _) = padded.as_chunks::<8>();
        name.iter()
            .zip(self.letters.iter().zip(&self.lower))
            .all(|(w, (letters, lower))| (u64::from_le_bytes(*w) | letters) == *lower)
    }
}

const fn words(b: [u8; FOLDED_LEN]) -> [u64; 3] {
    let mut w = [0u64; 3];
    let mut i = 0;
    while i < FOLDED_LEN {
        w[i / 8] |= (b[i] as u64) << (8 * (i % 8));
        i += 1;
    }
    w
}

/// The [`Folded`] spelling of every [`Name`], by its discriminant.
const FOLDED: [Folded; Name::ALL.len()] = {
    let mut t = [const {
        Folded {
            len: 0,
            lower: [0; 3],
            letters: [0; 3],
        }
    }; Name::ALL.len()];
    let mut i = 0;
    while i < Name::ALL.len() {
        assert!(Name::ALL[i] as usize == i);
        t[i] = Folded::of(Name::ALL[i].as_str());
        i += 1;
    }
    t
};

/// A name's slot in [`BY_SLOT`], from its length and its first and last bytes (case folded): the
/// constants are chosen so that no two fields share a slot (checked as the table is built).
const fn slot(len: usize, first: u8, last: u8) -> usize {
    len.wrapping_mul(7)
        .wrapping_add((first | 0x20) as usize)
        .wrapping_add((last | 0x20) as usize * 23)
        % 64
}

/// The one field each slot can hold.
const BY_SLOT: [Option<Name>; 64] = {
    assert!(Name::ALL.len() <= 32, "a field has a bit of a u32");
    let mut t = [None; 64];
    let mut i = 0;
    while i < Name::ALL.len() {
        let b = Name::ALL[i].as_str().as_bytes();
        let at = slot(b.len(), b[0], b[b.len() - 1]);
        assert!(t[at].is_none(), "two header names share a slot");
        t[at] = Some(Name::ALL[i]);
        i += 1;
    }
    t
};
