//! Rewriting of text: SIP messages (headers by name, URIs, display names, Call-IDs, SDP origin and
//! connection lines), free text of a report, and text found in other payloads, through the pseudonym
//! table.
//!
//! Takes bytes; produces the rewritten bytes, every replacement of the original's length when asked
//! (`fit`: TCP segments, fragments, quoted packets) and otherwise with Content-Length following a body
//! that changed length. Does not know where the text came from (`packet.rs` finds it in frames).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::table::{v6_text, Pseudonyms};

/// Writes `p` in place of an original of `len` bytes: cropped when `fit` and too long.
pub(super) fn emit(out: &mut Vec<u8>, p: &str, len: usize, fit: bool) {
    let b = p.as_bytes();
    if fit {
        let take = b.len().min(len);
        out.extend_from_slice(&b[..take]);
        // A shorter pseudonym cannot happen for the kinds that pad; keep the length anyway.
        out.extend(std::iter::repeat_n(b'0', len - take));
    } else {
        out.extend_from_slice(b);
    }
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}

fn is_host_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_'
}

/// An IPv4 literal at `i` (dotted quad, no leading zeros beyond one digit), and where it ends.
fn ipv4_at(b: &[u8], i: usize) -> Option<(Ipv4Addr, usize)> {
    let mut j = i;
    let mut octets = [0u8; 4];
    for (k, octet) in octets.iter_mut().enumerate() {
        if k > 0 {
            if b.get(j) != Some(&b'.') {
                return None;
            }
            j += 1;
        }
        let start = j;
        while j < b.len() && b[j].is_ascii_digit() && j - start < 3 {
            j += 1;
        }
        if j == start {
            return None;
        }
        let text = std::str::from_utf8(&b[start..j]).ok()?;
        *octet = text.parse().ok()?;
    }
    // Not followed by more of a number or word ("1.2.3.4.5", "1.2.3.45x").
    match b.get(j) {
        Some(c) if c.is_ascii_alphanumeric() => None,
        Some(b'.') if b.get(j + 1).is_some_and(|c| c.is_ascii_digit()) => None,
        _ => Some((Ipv4Addr::from(octets), j)),
    }
}

/// An IPv6 literal at `i` (at least two colons), and where it ends.
fn ipv6_at(b: &[u8], i: usize) -> Option<(Ipv6Addr, usize)> {
    let mut j = i;
    while j < b.len() && (b[j].is_ascii_hexdigit() || b[j] == b':' || b[j] == b'.') {
        j += 1;
    }
    let mut end = j;
    while end > i && b[end - 1] == b'.' {
        end -= 1;
    }
    let run = &b[i..end];
    if run.iter().filter(|&&c| c == b':').count() < 2 {
        return None;
    }
    if b.get(j).is_some_and(|c| c.is_ascii_alphanumeric()) {
        return None;
    }
    let text = std::str::from_utf8(run).ok()?;
    text.parse::<Ipv6Addr>().ok().map(|a| (a, end))
}

/// Whether a URI user part is a phone number: an optional `+`, digits and visual separators.
fn phone_like(u: &[u8]) -> bool {
    let digits = u.iter().filter(|c| c.is_ascii_digit()).count();
    let body = u.strip_prefix(b"+").unwrap_or(u);
    digits > 0
        && body
            .iter()
            .all(|c| c.is_ascii_digit() || matches!(c, b'-' | b'.' | b'(' | b')'))
}

/// Words of SIP, SDP and report grammar that a user part may equal but must never be replaced.
fn is_protocol_word(w: &str) -> bool {
    const WORDS: &[&str] = &[
        "sips",
        "transport",
        "user",
        "phone",
        "audio",
        "video",
        "text",
        "image",
        "application",
        "message",
        "invite",
        "cancel",
        "options",
        "register",
        "info",
        "update",
        "prack",
        "refer",
        "notify",
        "subscribe",
        "publish",
        "sendrecv",
        "sendonly",
        "recvonly",
        "inactive",
        "maddr",
        "method",
        "branch",
        "received",
        "rport",
        "expires",
        "tag",
        "pcmu",
        "pcma",
        "rtpmap",
        "fmtp",
        "ptime",
        "candidate",
        "host",
        "srflx",
        "relay",
        "call",
        "from",
        "contact",
        "route",
        "record",
        "allow",
        "supported",
        "require",
        "content",
        "length",
        "type",
        "reason",
        "warning",
        "server",
        "agent",
        "trying",
        "ringing",
        "busy",
        "here",
        "request",
        "terminated",
        "timeout",
        "unavailable",
        "service",
        "answered",
        "rejected",
        "cancelled",
        "unanswered",
        "caller",
        "callee",
        "none",
        "error",
    ];
    WORDS.iter().any(|x| x.eq_ignore_ascii_case(w))
}

/// Text flavours: SIP/SDP on the wire, or free text of a report.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Flavour {
    Sip,
    Free,
}

impl Pseudonyms {
    /// Replaces the digits of a phone number, keeping `+` and separators.
    fn emit_number(&mut self, out: &mut Vec<u8>, t: &[u8]) {
        let digits: String = t
            .iter()
            .filter(|c| c.is_ascii_digit())
            .map(|&c| c as char)
            .collect();
        let mapped = self.number(&digits);
        let mut it = mapped.bytes();
        for &c in t {
            if c.is_ascii_digit() {
                out.push(it.next().unwrap_or(b'0'));
            } else {
                out.push(c);
            }
        }
    }

    pub(super) fn emit_ip(&mut self, out: &mut Vec<u8>, a: IpAddr, len: usize, fit: bool) {
        match self.ip(a) {
            IpAddr::V4(p) => emit(out, &p.to_string(), len, fit),
            IpAddr::V6(p) => emit(out, &v6_text(p, len), len, fit),
        }
    }

    /// A host of a URI, Via or Call-ID: an address, or a name.
    pub(super) fn emit_host(&mut self, out: &mut Vec<u8>, h: &[u8], fit: bool) {
        if h.is_empty() {
            return;
        }
        if let Some(inner) = h.strip_prefix(b"[").and_then(|x| x.strip_suffix(b"]")) {
            if let Some(a) = std::str::from_utf8(inner)
                .ok()
                .and_then(|s| s.parse::<Ipv6Addr>().ok())
            {
                out.push(b'[');
                self.emit_ip(out, IpAddr::V6(a), inner.len(), fit);
                out.push(b']');
                return;
            }
        }
        let text = String::from_utf8_lossy(h);
        if let Ok(a) = text.parse::<IpAddr>() {
            self.emit_ip(out, a, h.len(), fit);
        } else if h.iter().any(|c| c.is_ascii_alphabetic()) {
            let p = self.host(&text);
            emit(out, &p, h.len(), fit);
        } else {
            out.extend_from_slice(h);
        }
    }

    /// A SIP, SIPS or tel URI starting at `i` (after its scheme at `scheme_end`); returns where it ends.
    fn uri(
        &mut self,
        out: &mut Vec<u8>,
        b: &[u8],
        i: usize,
        scheme_end: usize,
        fit: bool,
    ) -> usize {
        out.extend_from_slice(&b[i..scheme_end]);
        let tel = b[i..scheme_end].eq_ignore_ascii_case(b"tel:");
        let stop = |c: u8| {
            matches!(
                c,
                b'>' | b';' | b'?' | b' ' | b'\t' | b'\r' | b'\n' | b'"' | b',' | b'<'
            )
        };
        let mut j = scheme_end;
        while j < b.len() && !stop(b[j]) && b[j] != b'@' {
            j += 1;
        }
        if tel {
            let number = &b[scheme_end..j];
            if phone_like(number) {
                self.emit_number(out, number);
            } else if !number.is_empty() {
                let p = self.user(&String::from_utf8_lossy(number));
                emit(out, &p, number.len(), fit);
            }
            return j;
        }
        let mut host_start = scheme_end;
        if b.get(j) == Some(&b'@') {
            let userinfo = &b[scheme_end..j];
            let (user, password) = match userinfo.iter().position(|&c| c == b':') {
                Some(k) => (&userinfo[..k], &userinfo[k..]),
                None => (userinfo, &userinfo[..0]),
            };
            if phone_like(user) {
                self.emit_number(out, user);
            } else if !user.is_empty() {
                let p = self.user(&String::from_utf8_lossy(user));
                emit(out, &p, user.len(), fit);
            }
            if !password.is_empty() {
                out.push(b':');
                out.extend(std::iter::repeat_n(b'x', password.len() - 1));
            }
            out.push(b'@');
            host_start = j + 1;
        }
        let host_end = if b.get(host_start) == Some(&b'[') {
            match b[host_start..].iter().position(|&c| c == b']') {
                Some(k) => host_start + k + 1,
                None => host_start,
            }
        } else {
            let mut k = host_start;
            while k < b.len() && is_host_char(b[k]) {
                k += 1;
            }
            k
        };
        self.emit_host(out, &b[host_start..host_end], fit);
        host_end
    }

    /// Rewrites addresses, URIs, known hosts and phone numbers anywhere in `b`.
    pub(super) fn generic(&mut self, b: &[u8], fit: bool, flavour: Flavour) -> Vec<u8> {
        let mut out = Vec::with_capacity(b.len() + 16);
        let mut i = 0;
        while i < b.len() {
            let c = b[i];
            // A digit right after a letter starts a token too: addresses glued to random tokens
            // (`branch=z9hG4bK...46ea715e192.168.1.2`) are found.
            let boundary = i == 0
                || !(is_word(b[i - 1]) || b[i - 1] == b'.' || b[i - 1] == b':')
                || (c.is_ascii_digit() && b[i - 1].is_ascii_alphabetic());
            if !boundary || !(c.is_ascii_alphanumeric() || c == b'+' || c == b':') {
                out.push(c);
                i += 1;
                continue;
            }
            // URIs.
            let rest = &b[i..];
            let scheme = [&b"sips:"[..], b"sip:", b"tel:"]
                .into_iter()
                .find(|s| rest.len() >= s.len() && rest[..s.len()].eq_ignore_ascii_case(s));
            if let Some(s) = scheme {
                i = self.uri(&mut out, b, i, i + s.len(), fit);
                continue;
            }
            // Addresses.
            if c.is_ascii_hexdigit() || c == b':' {
                if let Some((a, end)) = ipv6_at(b, i) {
                    self.emit_ip(&mut out, IpAddr::V6(a), end - i, fit);
                    i = end;
                    continue;
                }
            }
            if c.is_ascii_digit() {
                if let Some((a, end)) = ipv4_at(b, i) {
                    self.emit_ip(&mut out, IpAddr::V4(a), end - i, fit);
                    i = end;
                    continue;
                }
                // An address glued after hex digits (`...4432a9f8192.168.1.2`): the last one to three
                // digits of the run may start it.
                let run = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
                if run > 3 && b.get(i + run) == Some(&b'.') {
                    let found = (1..=3).rev().find_map(|k| {
                        let start = i + run - k;
                        ipv4_at(b, start).map(|(a, end)| (start, a, end))
                    });
                    if let Some((start, a, end)) = found {
                        out.extend_from_slice(&b[i..start]);
                        self.emit_ip(&mut out, IpAddr::V4(a), end - start, fit);
                        i = end;
                        continue;
                    }
                }
            }
            // Phone numbers: `+` and 6 or more digits, or a known number of 6 or more digits.
            let plus = usize::from(c == b'+');
            let mut j = i + plus;
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
            let ndigits = j - i - plus;
            if ndigits > 0 && !b.get(j).is_some_and(|c| c.is_ascii_alphabetic()) {
                let digits = String::from_utf8_lossy(&b[i + plus..j]).into_owned();
                if ndigits >= 6 && (plus == 1 || self.numbers.contains_key(&digits)) {
                    self.emit_number(&mut out, &b[i..j]);
                    i = j;
                    continue;
                }
            }
            // Known host names as whole tokens.
            let mut k = i;
            while k < b.len() && is_host_char(b[k]) {
                k += 1;
            }
            let mut token_end = k;
            while token_end > i && b[token_end - 1] == b'.' {
                token_end -= 1;
            }
            if token_end > i {
                let token = String::from_utf8_lossy(&b[i..token_end]).to_ascii_lowercase();
                if let Some(p) = self.hosts.get(&token).cloned() {
                    emit(&mut out, &p, token_end - i, fit);
                    i = token_end;
                    continue;
                }
            }
            // Known user parts (4 characters or more, not a protocol word) as whole words: a user
            // name often reappears in SDP, User-Agent or free text.
            let mut k = i;
            while k < b.len() && (is_word(b[k]) || b[k] == b'-' || b[k] == b'_') {
                k += 1;
            }
            if k - i >= 4 && !b.get(k).is_some_and(|&c| c == b'.' || c == b'@') {
                let token = String::from_utf8_lossy(&b[i..k]);
                if !is_protocol_word(&token) {
                    if let Some(p) = self.users.get(token.as_ref()).cloned() {
                        emit(&mut out, &p, k - i, fit);
                        i = k;
                        continue;
                    }
                }
            }
            // Nothing to replace: copy the word up to a digit glued after a letter (so no match
            // starts inside it, except an address glued to a token).
            let mut k = i + 1;
            while k < b.len()
                && is_word(b[k])
                && !(b[k].is_ascii_digit() && b[k - 1].is_ascii_alphabetic())
            {
                k += 1;
            }
            out.extend_from_slice(&b[i..k]);
            i = k;
        }
        if flavour == Flavour::Free {
            self.names_in(out)
        } else {
            out
        }
    }

    /// Replaces known display names (3 characters or more) standing as whole words in free text.
    fn names_in(&self, text: Vec<u8>) -> Vec<u8> {
        let mut names: Vec<(&String, &String)> =
            self.names.iter().filter(|(n, _)| n.len() >= 3).collect();
        names.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(b.0)));
        let mut text = text;
        for (name, p) in names {
            let n = name.as_bytes();
            let mut out = Vec::with_capacity(text.len());
            let mut i = 0;
            while i < text.len() {
                let hit = text[i..].starts_with(n)
                    && (i == 0 || !is_word(text[i - 1]))
                    && !text.get(i + n.len()).copied().is_some_and(is_word);
                if hit {
                    out.extend_from_slice(p.as_bytes());
                    i += n.len();
                } else {
                    out.push(text[i]);
                    i += 1;
                }
            }
            text = out;
        }
        text
    }

    /// A Call-ID: the host after `@` (name or address) and any address in the local part.
    pub(super) fn call_id(&mut self, b: &[u8]) -> Vec<u8> {
        match b.iter().rposition(|&c| c == b'@') {
            Some(at) => {
                let mut out = self.generic(&b[..at], true, Flavour::Sip);
                out.push(b'@');
                // The host (a name, an address, a bracketed IPv6 address), then anything after it
                // (`:5060`) as text.
                let rest = &b[at + 1..];
                let host_len = if rest.first() == Some(&b'[') {
                    rest.iter().position(|&c| c == b']').map_or(0, |k| k + 1)
                } else {
                    rest.iter().take_while(|&&c| is_host_char(c)).count()
                };
                self.emit_host(&mut out, &rest[..host_len], true);
                out.extend(self.generic(&rest[host_len..], true, Flavour::Sip));
                out
            }
            None => self.generic(b, true, Flavour::Sip),
        }
    }

    /// `user@host` (an RTCP CNAME or EMAIL item): the user part as a user (or phone number), the host
    /// as a Call-ID's; without `@`, a host name or address alone, or else free text.
    fn user_at_host(&mut self, v: &[u8]) -> Vec<u8> {
        let Some(at) = v.iter().rposition(|&c| c == b'@') else {
            let is_host = v.iter().all(|&c| is_host_char(c))
                && v.contains(&b'.')
                && v.iter().any(|c| c.is_ascii_alphabetic());
            if is_host {
                let mut out = Vec::with_capacity(v.len());
                self.emit_host(&mut out, v, true);
                return out;
            }
            return self.generic(v, true, Flavour::Sip);
        };
        let user = &v[..at];
        let mut out = Vec::with_capacity(v.len());
        if phone_like(user) {
            self.emit_number(&mut out, user);
        } else if !user.is_empty() {
            let p = self.user(&String::from_utf8_lossy(user));
            emit(&mut out, &p, user.len(), true);
        }
        out.push(b'@');
        let host = self.call_id(&v[at..]);
        out.extend_from_slice(host.get(1..).unwrap_or_default());
        out
    }

    /// The text of an RTCP SDES item (RFC 3550 §6.5) of type `kind`, rewritten to the same length:
    /// NAME as a display name, PHONE as a number, CNAME and EMAIL as `user@host`, the others (LOC,
    /// TOOL, NOTE, PRIV) as free text.
    pub(super) fn sdes_item(&mut self, kind: u8, v: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(v.len());
        match kind {
            2 if !v.is_empty() => {
                let p = self.name(&String::from_utf8_lossy(v));
                emit(&mut out, &p, v.len(), true);
            }
            4 if phone_like(v) => self.emit_number(&mut out, v),
            1 | 3 => out = self.user_at_host(v),
            _ => out = self.generic(v, true, Flavour::Sip),
        }
        out
    }

    /// Display names in a name-addr list (From, To, Contact, ...) and everything else in it.
    pub(super) fn name_addrs(&mut self, v: &[u8], fit: bool) -> Vec<u8> {
        let mut out = Vec::with_capacity(v.len());
        let mut i = 0;
        let mut elem_start = 0;
        let mut gap = 0;
        let mut angle = false;
        while i < v.len() {
            match v[i] {
                b'"' if !angle => {
                    let close = v[i + 1..]
                        .iter()
                        .enumerate()
                        .find(|&(k, &c)| c == b'"' && v[i + k] != b'\\')
                        .map(|(k, _)| i + 1 + k);
                    let Some(close) = close else {
                        break;
                    };
                    out.extend(self.generic(&v[gap..i], fit, Flavour::Sip));
                    out.push(b'"');
                    let inner = &v[i + 1..close];
                    if !inner.is_empty() {
                        let p = self.name(&String::from_utf8_lossy(inner));
                        emit(&mut out, &p, inner.len(), fit);
                    }
                    out.push(b'"');
                    i = close + 1;
                    gap = i;
                    continue;
                }
                b'<' if !angle => {
                    angle = true;
                    let display = &v[gap.max(elem_start)..i];
                    let lead = display
                        .iter()
                        .take_while(|c| c.is_ascii_whitespace())
                        .count();
                    let trail = display
                        .iter()
                        .rev()
                        .take_while(|c| c.is_ascii_whitespace())
                        .count();
                    if gap >= elem_start && lead + trail < display.len() && !display.contains(&b':')
                    {
                        let name = &display[lead..display.len() - trail];
                        out.extend_from_slice(&display[..lead]);
                        let p = self.name(&String::from_utf8_lossy(name));
                        emit(&mut out, &p, name.len(), fit);
                        out.extend_from_slice(&display[display.len() - trail..]);
                        gap = i;
                    }
                }
                b'>' => angle = false,
                b',' if !angle => {
                    out.extend(self.generic(&v[gap..=i], fit, Flavour::Sip));
                    gap = i + 1;
                    elem_start = i + 1;
                }
                _ => {}
            }
            i += 1;
        }
        out.extend(self.generic(&v[gap..], fit, Flavour::Sip));
        out
    }

    /// Learns host names a SIP message mentions outside URIs (Via sent-by, Call-ID, SDP, Warning agent).
    fn learn_sip(&mut self, b: &[u8]) {
        for line in b.split(|&c| c == b'\n') {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let (name, value) = match line.iter().position(|&c| c == b':') {
                Some(k) => (&line[..k], &line[k + 1..]),
                None => (line, &line[..0]),
            };
            let name = String::from_utf8_lossy(name).trim().to_ascii_lowercase();
            let host: Option<&[u8]> = match name.as_str() {
                "via" | "v" => value
                    .split(|c| c.is_ascii_whitespace())
                    .filter(|t| !t.is_empty())
                    .nth(1)
                    .map(|t| {
                        let end = t
                            .iter()
                            .position(|&c| c == b':' || c == b';' || c == b',')
                            .unwrap_or(t.len());
                        &t[..end]
                    }),
                "call-id" | "i" => value
                    .iter()
                    .rposition(|&c| c == b'@')
                    .map(|at| value[at + 1..].trim_ascii()),
                "warning" => value
                    .split(|c| c.is_ascii_whitespace())
                    .filter(|t| !t.is_empty())
                    .nth(1)
                    .map(|t| {
                        let end = t.iter().position(|&c| c == b':').unwrap_or(t.len());
                        &t[..end]
                    }),
                _ => None,
            };
            let sdp_host = if line.starts_with(b"o=") {
                line.split(|&c| c == b' ').nth(5)
            } else if line.starts_with(b"c=") {
                line.split(|&c| c == b' ').nth(2).map(|t| {
                    let end = t.iter().position(|&c| c == b'/').unwrap_or(t.len());
                    &t[..end]
                })
            } else {
                None
            };
            for h in host.into_iter().chain(sdp_host) {
                let text = String::from_utf8_lossy(h);
                if !h.is_empty()
                    && h.iter().all(|&c| is_host_char(c))
                    && h.iter().any(|c| c.is_ascii_alphabetic())
                    && text.parse::<IpAddr>().is_err()
                {
                    self.host(&text);
                }
            }
        }
    }

    /// Rewrites a SIP message (headers and body); with `fit`, every replacement keeps its length.
    pub(super) fn sip(&mut self, b: &[u8], fit: bool) -> Vec<u8> {
        self.learn_sip(b);
        let mut out = Vec::with_capacity(b.len() + 32);
        let header_end = header_end(b);
        let mut pos = 0;
        for line in b.split_inclusive(|&c| c == b'\n') {
            let in_headers = pos < header_end.unwrap_or(usize::MAX);
            pos += line.len();
            let colon = line.iter().position(|&c| c == b':');
            let name = colon
                .map(|k| {
                    String::from_utf8_lossy(&line[..k])
                        .trim()
                        .to_ascii_lowercase()
                })
                .unwrap_or_default();
            match (colon, name.as_str()) {
                (
                    Some(k),
                    "from"
                    | "f"
                    | "to"
                    | "t"
                    | "contact"
                    | "m"
                    | "p-asserted-identity"
                    | "p-preferred-identity"
                    | "remote-party-id"
                    | "diversion"
                    | "referred-by"
                    | "b"
                    | "refer-to"
                    | "r"
                    | "reply-to"
                    | "p-called-party-id",
                ) if in_headers => {
                    out.extend_from_slice(&line[..=k]);
                    out.extend(self.name_addrs(&line[k + 1..], fit));
                }
                (Some(k), "call-id" | "i") if in_headers => {
                    out.extend_from_slice(&line[..=k]);
                    let v = &line[k + 1..];
                    let lead = v.iter().take_while(|c| c.is_ascii_whitespace()).count();
                    let trail = v[lead..]
                        .iter()
                        .rev()
                        .take_while(|c| c.is_ascii_whitespace())
                        .count();
                    out.extend_from_slice(&v[..lead]);
                    out.extend(self.call_id(&v[lead..v.len() - trail]));
                    out.extend_from_slice(&v[v.len() - trail..]);
                }
                _ if line.starts_with(b"o=") => {
                    // o=<username> <sess-id> <sess-version> IN IP4 <address> (RFC 8866 §5.2).
                    let user_end = line.iter().position(|&c| c == b' ').unwrap_or(line.len());
                    let user = &line[2..user_end];
                    out.extend_from_slice(b"o=");
                    if user == b"-" || user.is_empty() {
                        out.extend_from_slice(user);
                    } else if phone_like(user) {
                        self.emit_number(&mut out, user);
                    } else {
                        let p = self.user(&String::from_utf8_lossy(user));
                        emit(&mut out, &p, user.len(), fit);
                    }
                    out.extend(self.generic(&line[user_end..], fit, Flavour::Sip));
                }
                _ => out.extend(self.generic(line, fit, Flavour::Sip)),
            }
        }
        if !fit {
            fix_content_length(b, &mut out);
        }
        out
    }
}

/// Where the header section ends (after the empty line), if it does.
fn header_end(b: &[u8]) -> Option<usize> {
    let crlf = b.windows(4).position(|w| w == b"\r\n\r\n").map(|k| k + 4);
    let lf = b.windows(2).position(|w| w == b"\n\n").map(|k| k + 2);
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// After a rewrite changed the body's length, sets Content-Length (or `l`) to follow it.
fn fix_content_length(old: &[u8], new: &mut Vec<u8>) {
    let (Some(old_end), Some(new_end)) = (header_end(old), header_end(new)) else {
        return;
    };
    let old_body = old.len() - old_end;
    let new_body = new.len() - new_end;
    if old_body == new_body {
        return;
    }
    let mut at = 0;
    for line in new[..new_end].split_inclusive(|&c| c == b'\n') {
        let colon = line.iter().position(|&c| c == b':');
        if let Some(k) = colon {
            let name = String::from_utf8_lossy(&line[..k])
                .trim()
                .to_ascii_lowercase();
            if name == "content-length" || name == "l" {
                let v = &line[k + 1..];
                let lead = v.iter().take_while(|&&c| c == b' ' || c == b'\t').count();
                let digits = v[lead..].iter().take_while(|c| c.is_ascii_digit()).count();
                let start = at + k + 1 + lead;
                let value: Option<usize> = std::str::from_utf8(&v[lead..lead + digits])
                    .ok()
                    .and_then(|s| s.parse().ok());
                if let Some(value) = value {
                    // The header said `value` for `old_body` bytes: keep its relation to the body.
                    let fixed = value.saturating_add(new_body).saturating_sub(old_body);
                    new.splice(start..start + digits, fixed.to_string().into_bytes());
                }
                return;
            }
        }
        at += line.len();
    }
}

/// Whether bytes look like text (SIP continuation segments, SDP in a later fragment).
pub(super) fn texty(b: &[u8]) -> bool {
    if b.is_empty() {
        return false;
    }
    let printable = b
        .iter()
        .filter(|&&c| (0x20..0x7f).contains(&c) || c == b'\r' || c == b'\n' || c == b'\t')
        .count();
    printable * 100 >= b.len() * 95
}
