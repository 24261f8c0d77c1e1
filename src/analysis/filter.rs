//! Which calls a report shows: by number, address, Call-ID, time, code and state.
//!
//! Takes the criteria a user gave (each optional; all given must hold) and, per finished call, says
//! whether it is reported. The analysis itself always runs on every frame, so frame numbers, call
//! numbers and diagnoses are those of the whole capture; only what is reported is narrowed (and the
//! calls left out are counted, see `super::Reporting`).
//!
//! - number: the user part of the call's From and To, of every INVITE's Request-URI and
//!   P-Asserted-Identity (RFC 3325), compared as digits: visual separators (RFC 3966 §5.1.1:
//!   `-`, `.`, `(`, `)`, spaces), a leading `+` and leading zeros dropped, then the given digits must
//!   end the user part (so `030 1234` and `+49 30 1234` both match `301234`);
//! - address: a host or a network (`ADDR/PREFIX`) that sent or received any of the call's SIP, or
//!   that its SDP or its RTP used;
//! - Call-ID: a part of it;
//! - time: the call started (its first INVITE) between `from` and `to`, as the timeline and the
//!   patterns count calls (RFC 3339 times, a time of day on the capture's first day, or an offset
//!   from the capture's first packet);
//! - code: a finding code the call has (`media.none`, or a family: `media.` or `media.*`), a final
//!   status (`403`) or status class (`4xx`);
//! - state: how the call ended (`answered`, `rejected`, `cancelled`, `unanswered`, `in_progress`).
//!
//! Items not tied to a call (transport failures, streams, other dialogs, connections, ICMP errors)
//! are kept when the criteria that apply to them hold (address, time, Call-ID, code) and no
//! criterion that only a call has (number, state) is given.

use std::net::IpAddr;

use crate::correlate::calls::State;
use crate::correlate::message::Kind;
use crate::correlate::message::Method;
use crate::diagnose::DiagnosedCall;
use crate::proto::sip::{StatusCode, Uri};

/// A criterion that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} {given:?}: {expected}")]
pub struct ParseError {
    what: &'static str,
    given: String,
    expected: &'static str,
}

fn bad(what: &'static str, given: &str, expected: &'static str) -> ParseError {
    ParseError {
        what,
        given: given.to_string(),
        expected,
    }
}

/// A moment a user named.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Time {
    /// Nanoseconds since the epoch (an RFC 3339 time).
    At(i64),
    /// Nanoseconds after the capture's first packet (`+90s`, `1m30s`, `90`).
    AfterStart(i64),
    /// Nanoseconds after midnight UTC of the capture's first day (`21:52`, `21:52:30.5`).
    OfDay(i64),
}

const SECOND: i64 = 1_000_000_000;

impl Time {
    /// Reads `2026-01-02T21:52:00Z` (any offset, any fraction), `21:52[:30[.5]]`, or an offset
    /// `[+]N[ms|s|m|h]...` (`90`, `+1m30s`, `500ms`).
    pub fn parse(s: &str) -> Result<Time, ParseError> {
        let expected = "an RFC 3339 time (2026-01-02T21:52:00Z), a time of day (21:52:30), or an \
                        offset from the capture's start (+90s, 1m30s, 500ms)";
        let t = s.trim();
        if t.len() > 10 && t.as_bytes().get(4) == Some(&b'-') {
            return rfc3339(t)
                .map(Time::At)
                .ok_or_else(|| bad("time", s, expected));
        }
        if t.contains(':') {
            return clock(t)
                .map(Time::OfDay)
                .ok_or_else(|| bad("time", s, expected));
        }
        offset(t.strip_prefix('+').unwrap_or(t))
            .map(Time::AfterStart)
            .ok_or_else(|| bad("time", s, expected))
    }

    /// The moment, given the capture's first packet.
    pub fn resolve(self, start_ns: i64) -> i64 {
        match self {
            Time::At(t) => t,
            Time::AfterStart(d) => start_ns.saturating_add(d),
            Time::OfDay(d) => {
                let day = 86_400 * SECOND;
                start_ns.div_euclid(day) * day + d
            }
        }
    }
}

/// Digits of a decimal number with an optional fraction, as nanoseconds times `unit`.
fn scaled(s: &str, unit: i64) -> Option<i64> {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    if !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let whole: i64 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let mut part = 0i64;
    let mut scale = unit;
    for b in frac.bytes().take(9) {
        scale /= 10;
        part += i64::from(b - b'0') * scale;
    }
    whole.checked_mul(unit)?.checked_add(part)
}

/// `90`, `90s`, `1m30s`, `1.5h`, `500ms`: a sum of numbers with units (seconds without one).
fn offset(s: &str) -> Option<i64> {
    let mut total = 0i64;
    let mut rest = s;
    while !rest.is_empty() {
        let end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (number, after) = rest.split_at(end);
        let (unit, len) = if after.starts_with("ms") {
            (SECOND / 1000, 2)
        } else {
            match after.chars().next() {
                None => (SECOND, 0),
                Some('s') => (SECOND, 1),
                Some('m') => (60 * SECOND, 1),
                Some('h') => (3600 * SECOND, 1),
                Some(_) => return None,
            }
        };
        total = total.checked_add(scaled(number, unit)?)?;
        rest = &after[len..];
    }
    (!s.is_empty()).then_some(total)
}

/// `HH:MM[:SS[.fff]]` as nanoseconds after midnight.
fn clock(s: &str) -> Option<i64> {
    let mut parts = s.split(':');
    let h: i64 = parts.next()?.parse().ok()?;
    let m: i64 = parts.next()?.parse().ok()?;
    let sec = parts.next().map_or(Some(0), |p| scaled(p, SECOND))?;
    if parts.next().is_some() || h > 23 || m > 59 || sec >= 61 * SECOND {
        return None;
    }
    Some((h * 3600 + m * 60) * SECOND + sec)
}

/// An RFC 3339 date-time (`T` or a space between date and time; `Z` or `±HH:MM`).
fn rfc3339(s: &str) -> Option<i64> {
    let (date, time) = s.split_once(['T', 't', ' '])?;
    let mut d = date.split('-');
    let y: i64 = d.next()?.parse().ok()?;
    let mo: i64 = d.next()?.parse().ok()?;
    let da: i64 = d.next()?.parse().ok()?;
    if d.next().is_some() || !(1..=12).contains(&mo) || !(1..=31).contains(&da) {
        return None;
    }
    let (clock_part, zone) = if let Some(t) = time.strip_suffix(['Z', 'z']) {
        (t, 0)
    } else {
        let at = time.rfind(['+', '-'])?;
        let (t, z) = time.split_at(at);
        let sign = if z.starts_with('-') { -1 } else { 1 };
        let (zh, zm) = z[1..].split_once(':')?;
        let zone = sign * (zh.parse::<i64>().ok()? * 3600 + zm.parse::<i64>().ok()? * 60);
        (t, zone * SECOND)
    };
    let of_day = clock(clock_part)?;
    // Days since the epoch of a proleptic Gregorian date (the civil-to-days arithmetic on
    // 400-year eras).
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if mo > 2 { mo - 3 } else { mo + 9 }) + 2) / 5 + da - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    days.checked_mul(86_400 * SECOND)?
        .checked_add(of_day)?
        .checked_sub(zone)
}

/// An address or a network, `ADDR[/PREFIX]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Network {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl Network {
    pub fn parse(s: &str) -> Result<Network, ParseError> {
        let expected = "an IPv4 or IPv6 address, optionally with a prefix length (192.0.2.0/24)";
        let (addr, prefix) = s.split_once('/').unwrap_or((s, ""));
        let addr: IpAddr = addr
            .trim_matches(['[', ']'])
            .parse()
            .map_err(|_| bad("address", s, expected))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = if prefix.is_empty() {
            max
        } else {
            prefix
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| bad("address", s, expected))?
        };
        Ok(Network { addr, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let bits = |a: IpAddr| match a {
            IpAddr::V4(v4) => (u128::from(u32::from(v4)) << 96, 32u8),
            IpAddr::V6(v6) => (u128::from(v6), 128u8),
        };
        let (net, len) = bits(self.addr);
        let (host, host_len) = bits(ip.to_canonical());
        if len != host_len {
            return false;
        }
        // Both sit in the top bits (IPv4 shifted up), so the prefix is the mask's length.
        let mask = u128::MAX
            .checked_shl(128 - u32::from(self.prefix))
            .unwrap_or(0);
        (net & mask) == (host & mask)
    }
}

/// A code a user named: a finding code or family, a status, a status class.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Code {
    /// `media.none`, or a family ending in `.` (`media.`).
    Finding(String),
    Status(u16),
    /// `4xx`.
    Class(u16),
}

impl Code {
    pub fn parse(s: &str) -> Result<Code, ParseError> {
        let expected =
            "a finding code (sip.rejected, or a family: media. / media.*), a SIP status \
                        (403) or a status class (4xx)";
        let t = s.trim();
        if let Ok(n) = t.parse::<u16>() {
            return if (100..700).contains(&n) {
                Ok(Code::Status(n))
            } else {
                Err(bad("code", s, expected))
            };
        }
        let class = t.as_bytes();
        if class.len() == 3
            && class[1..].eq_ignore_ascii_case(b"xx")
            && (b'1'..=b'6').contains(&class[0])
        {
            return Ok(Code::Class(u16::from(class[0] - b'0')));
        }
        let code = t.strip_suffix('*').unwrap_or(t);
        if code.is_empty()
            || !code
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_')
        {
            return Err(bad("code", s, expected));
        }
        Ok(Code::Finding(code.to_string()))
    }

    fn finding(&self, code: &str) -> bool {
        match self {
            Code::Finding(c) if c.ends_with('.') => code.starts_with(c.as_str()),
            Code::Finding(c) => code == c,
            _ => false,
        }
    }

    fn status(&self, status: StatusCode) -> bool {
        match self {
            Code::Status(n) => status.0 == *n,
            Code::Class(c) => status.0 / 100 == *c,
            Code::Finding(_) => false,
        }
    }
}

/// Reads a number to look for: digits with visual separators and a leading `+`, normalised
/// ([`normalize_number`]).
pub fn parse_number(s: &str) -> Result<String, ParseError> {
    let expected = "digits, optionally with a leading + and separators (+49 30 1234, 030-1234)";
    let digits = normalize_number(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad("number", s, expected));
    }
    Ok(digits)
}

/// A number's digits as compared: visual separators, a leading `+` and leading zeros dropped.
pub fn normalize_number(s: &str) -> String {
    let digits: String = s
        .chars()
        .filter(|c| !matches!(c, '-' | '.' | '(' | ')' | ' '))
        .collect();
    let digits = digits.strip_prefix('+').unwrap_or(&digits);
    digits.trim_start_matches('0').to_string()
}

/// What a report shows; the default shows everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    /// Normalised digits ([`normalize_number`]).
    pub number: Option<String>,
    pub ip: Option<Network>,
    pub call_id: Option<String>,
    pub from: Option<Time>,
    pub to: Option<Time>,
    pub code: Option<Code>,
    pub state: Option<State>,
}

/// A non-call item as the filter sees it.
pub struct Item<'a> {
    pub addrs: &'a [IpAddr],
    /// When it began.
    pub first_ts_ns: i64,
    pub call_id: Option<&'a str>,
    pub code: Option<&'a str>,
    pub status: Option<StatusCode>,
}

impl Filter {
    /// Whether it narrows anything.
    pub fn is_empty(&self) -> bool {
        *self == Filter::default()
    }

    /// The criteria with their times resolved against the capture's first packet.
    pub fn resolve(&self, start_ns: i64) -> Selection {
        Selection {
            filter: self.clone(),
            from: self.from.map_or(i64::MIN, |t| t.resolve(start_ns)),
            to: self.to.map_or(i64::MAX, |t| t.resolve(start_ns)),
        }
    }
}

/// A filter whose times are known.
#[derive(Clone, Debug)]
pub struct Selection {
    filter: Filter,
    from: i64,
    to: i64,
}

/// The user part of a URI (for `tel:` the number), if it has one.
fn user(uri: &str) -> Option<&str> {
    let u = Uri::parse(uri).ok()?;
    u.user
        .or_else(|| u.scheme.eq_ignore_ascii_case("tel").then_some(u.host))
}

impl Selection {
    pub fn is_empty(&self) -> bool {
        self.filter.is_empty()
    }

    fn number(&self, d: &DiagnosedCall, digits: &str) -> bool {
        let ends = |uri: &str| user(uri).is_some_and(|u| normalize_number(u).ends_with(digits));
        if ends(&d.from) || ends(&d.to) {
            return true;
        }
        d.messages.iter().any(|s| match &s.msg.kind {
            Kind::Request {
                method: Method::Invite,
                uri,
            } => ends(uri) || s.msg.asserted.iter().any(|a| ends(a)),
            _ => false,
        })
    }

    fn ip(&self, d: &DiagnosedCall, net: &Network) -> bool {
        let messages = d.messages.iter().any(|s| {
            let m = &s.msg;
            net.contains(m.src.ip())
                || net.contains(m.dst.ip())
                || m.sdp
                    .iter()
                    .flatten()
                    .filter_map(|md| md.addr)
                    .any(|a| net.contains(a))
        });
        messages
            || d.own_streams()
                .any(|s| net.contains(s.src.ip()) || net.contains(s.dst.ip()))
    }

    /// Whether the call is reported.
    pub fn call(&self, d: &DiagnosedCall) -> bool {
        let f = &self.filter;
        f.state.is_none_or(|s| s == d.state)
            && (self.from..=self.to).contains(&d.start_ts_ns)
            && f.call_id.as_deref().is_none_or(|c| d.call_id.contains(c))
            && f.code.as_ref().is_none_or(|c| {
                d.findings.iter().any(|x| c.finding(x.code))
                    || d.final_response
                        .as_ref()
                        .is_some_and(|r| c.status(r.status))
            })
            && f.ip.as_ref().is_none_or(|n| self.ip(d, n))
            && f.number.as_deref().is_none_or(|n| self.number(d, n))
    }

    /// Whether an item tied to no call is reported.
    pub fn item(&self, item: &Item<'_>) -> bool {
        let f = &self.filter;
        f.number.is_none()
            && f.state.is_none()
            && (self.from..=self.to).contains(&item.first_ts_ns)
            && f.call_id
                .as_deref()
                .is_none_or(|c| item.call_id.is_some_and(|id| id.contains(c)))
            && f.code.as_ref().is_none_or(|c| {
                item.code.is_some_and(|x| c.finding(x)) || item.status.is_some_and(|s| c.status(s))
            })
            && f.ip
                .as_ref()
                .is_none_or(|n| item.addrs.iter().any(|&a| n.contains(a)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_compare_as_digits_from_the_end() {
        assert_eq!(normalize_number("+49 (30) 123-45.6"), "4930123456");
        assert_eq!(normalize_number("0030123"), "30123");
        assert!(normalize_number("+4930123").ends_with(&normalize_number("030123")));
        assert_eq!(
            user("sip:+4930123@example.com;user=phone"),
            Some("+4930123")
        );
        assert_eq!(user("tel:+4930123;phone-context=x"), Some("+4930123"));
        assert_eq!(user("sip:example.com"), None);
    }

    #[test]
    fn numbers_to_look_for_are_digits() {
        assert_eq!(parse_number("+49 (30) 1234"), Ok("49301234".to_string()));
        assert!(parse_number("alice").is_err());
        assert!(parse_number("000").is_err());
        assert!(parse_number("").is_err());
    }

    #[test]
    fn times_read_rfc3339_clock_and_offsets() {
        assert_eq!(
            Time::parse("2023-11-14T22:13:20Z"),
            Ok(Time::At(1_700_000_000 * SECOND))
        );
        assert_eq!(
            Time::parse("2023-11-14T23:13:20.5+01:00"),
            Ok(Time::At(1_700_000_000 * SECOND + SECOND / 2))
        );
        assert_eq!(Time::parse("+90s"), Ok(Time::AfterStart(90 * SECOND)));
        assert_eq!(Time::parse("1m30s"), Ok(Time::AfterStart(90 * SECOND)));
        assert_eq!(Time::parse("90"), Ok(Time::AfterStart(90 * SECOND)));
        assert_eq!(Time::parse("500ms"), Ok(Time::AfterStart(SECOND / 2)));
        assert_eq!(Time::parse("1.5h"), Ok(Time::AfterStart(5400 * SECOND)));
        assert_eq!(
            Time::parse("22:13:20.25"),
            Ok(Time::OfDay(80_000 * SECOND + SECOND / 4))
        );
        assert_eq!(
            Time::OfDay(80_000 * SECOND).resolve(1_700_000_000 * SECOND - 5 * SECOND),
            1_700_000_000 * SECOND
        );
        for wrong in ["", "+", "yesterday", "25:00", "1x", "2023-13-01T00:00:00Z"] {
            assert!(Time::parse(wrong).is_err(), "{wrong:?} was read");
        }
    }

    #[test]
    fn networks_contain_their_hosts() {
        let net = Network::parse("192.0.2.0/24").expect("a network");
        assert!(net.contains("192.0.2.31".parse().expect("an address")));
        assert!(!net.contains("192.0.3.1".parse().expect("an address")));
        assert!(net.contains("::ffff:192.0.2.9".parse().expect("an address")));
        let host = Network::parse("2001:db8::1").expect("a host");
        assert!(host.contains("2001:db8::1".parse().expect("an address")));
        assert!(!host.contains("2001:db8::2".parse().expect("an address")));
        assert!(Network::parse("0.0.0.0/0")
            .expect("everything")
            .contains("203.0.113.5".parse().expect("an address")));
        assert!(Network::parse("192.0.2.0/33").is_err());
        assert!(Network::parse("host.example").is_err());
    }

    #[test]
    fn codes_are_findings_families_statuses_or_classes() {
        assert_eq!(Code::parse("403"), Ok(Code::Status(403)));
        assert_eq!(Code::parse("4xx"), Ok(Code::Class(4)));
        assert_eq!(Code::parse("media.*"), Ok(Code::Finding("media.".into())));
        assert!(Code::parse("media.")
            .expect("a family")
            .finding("media.none"));
        assert!(!Code::parse("media.none")
            .expect("a code")
            .finding("media.none_x"));
        assert!(Code::parse("4xx").expect("a class").status(StatusCode(486)));
        assert!(Code::parse("99").is_err());
        assert!(Code::parse("a b").is_err());
    }
}
