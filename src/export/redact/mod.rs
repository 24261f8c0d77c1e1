//! Redaction: pseudonyms for IP addresses, MAC addresses, SIP user parts and phone numbers, host names
//! and display names, applied consistently to an [`Analysis`] (so every renderer prints redacted text
//! unchanged) and to captured frames (so an extracted pcap can be shared).
//!
//! Takes an analysis or one frame (link type and bytes); produces a redacted copy. One [`Redactor`]
//! keeps its mappings for its whole life, so the same input always gets the same pseudonym within a run;
//! [`Redactor::for_analysis`] allocates them in the analysis' order first, so a report and an extracted
//! pcap of the same capture agree even when made by two runs.
//!
//! Pseudonyms keep the original's length wherever possible, so the same original reads the same in UDP,
//! in TCP segments (whose lengths must not change: sequence numbers stay valid) and in the report:
//! - IPv4 → 198.18.0.0/15 (RFC 2544 benchmarking range) with as many characters as the original
//!   (10 to 14); originals of 7 to 9 characters (`10.0.0.1`) take 0.0.0.0/8 and those of 15 take
//!   240.0.0.0/4, as only there a pseudonym of their length exists (no real peer has such an address);
//!   IPv6 → 2001:db8::/32 (RFC 3849), written to the original's length when it has 11 or more;
//!   unspecified, loopback, broadcast and multicast addresses are kept (`c=0.0.0.0` means hold);
//! - MAC addresses → locally administered `02:00:00:xx:xx:xx` (lab MACs often embed the IP address);
//!   group addresses (broadcast, multicast) are kept;
//! - phone numbers (user parts made of digits, `tel:` URIs, `+` followed by 6 or more digits) → the same
//!   number of digits, separators kept; other user parts → `user-N` / `uN`; host names in URIs, Via,
//!   Call-ID, SDP and TLS SNI → `host-N.invalid` / `hN`; display names → `name-N` / `nN`
//!   (N zero-padded to the original's length).
//!
//! Frames: MAC addresses (Ethernet, SLL, ARP, neighbour discovery), IP header addresses (IPv4 checksum
//! recomputed), ARP and neighbour discovery targets, addresses in ICMP errors' quoted headers, IP-in-IP
//! tunnels, the text of SIP/SDP in UDP datagrams, TCP segments and quoted payloads, and, in place,
//! addresses and names in other text payloads (syslog, SIP continuation fragments) and RTCP. When a
//! UDP datagram's SIP text changes length (an original that no pseudonym can match, such as `fe80::1`),
//! Content-Length (only if the body length changed), the UDP length and the IP length are fixed. UDP and
//! TCP checksums are recomputed when the whole datagram is in the frame; for a cut (snaplen) or
//! fragmented UDP datagram over IPv4 the checksum is set to 0 ("none", RFC 768); ICMP checksums are
//! recomputed. TCP payloads, IP fragments and Call-IDs keep their length: a pseudonym that cannot
//! match the original's length (IPv6 shorter than 11 characters, one-letter user parts) is cropped.
//!
//! Does not rewrite: STUN attributes (XOR-MAPPED-ADDRESS), binary payloads of other protocols (DNS,
//! DHCP, NetBIOS), GRE/MPLS/PPPoE-encapsulated packets, IPv4 options and IPv6 routing headers, tokens
//! split across two TCP segments or fragments, product names in User-Agent/Server, tags and branches
//! (random tokens; an address glued into one is found).

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Mutex, MutexGuard};

use crate::analysis::Analysis;
use crate::correlate::calls::Call;
use crate::correlate::message::{Kind, Message};
use crate::proto::sip::looks_like_sip;

/// Consistent pseudonyms for one run; see the module doc for what is replaced and how.
#[derive(Debug, Default)]
pub struct Redactor {
    maps: Mutex<Maps>,
}

/// The mappings made so far.
#[derive(Debug, Default)]
struct Maps {
    v4: HashMap<Ipv4Addr, Ipv4Addr>,
    v4_taken: HashSet<Ipv4Addr>,
    /// Addresses known to be originals (from the analysis): never handed out as pseudonyms.
    reserved: HashSet<IpAddr>,
    /// Per text length, the next candidate address (as a number).
    v4_cursor: HashMap<usize, u32>,
    v6: HashMap<Ipv6Addr, Ipv6Addr>,
    v6_next: u32,
    macs: HashMap<[u8; 6], [u8; 6]>,
    /// Digit strings (separators removed) → digit strings of the same length.
    numbers: HashMap<String, String>,
    numbers_taken: HashSet<String>,
    number_next: u64,
    /// Lowercase key → index.
    users: HashMap<String, String>,
    hosts: HashMap<String, String>,
    names: HashMap<String, String>,
    counter_user: u64,
    counter_host: u64,
    counter_name: u64,
}

/// `n` in decimal, zero-padded (or cut to its last digits) to exactly `width` characters.
fn padded(n: u64, width: usize) -> String {
    let s = format!("{n:0width$}");
    let cut = s.len().saturating_sub(width);
    s.get(cut..).unwrap_or_default().to_string()
}

/// A pseudonym of the original's length: `long` + N when it fits, else `short` + N, else `short` + N
/// longer than the original (one-character originals).
fn fitted(long: &str, short: &str, suffix: &str, n: u64, len: usize) -> String {
    let digits = n.to_string().len();
    if len >= long.len() + suffix.len() + digits {
        format!(
            "{long}{}{suffix}",
            padded(n, len - long.len() - suffix.len())
        )
    } else if len > short.len() {
        format!("{short}{}", padded(n, len - short.len()))
    } else {
        format!("{short}{n}")
    }
}

fn v4_text_len(a: Ipv4Addr) -> usize {
    a.octets()
        .iter()
        .map(|o| match o {
            0..=9 => 1,
            10..=99 => 2,
            _ => 3,
        })
        .sum::<usize>()
        + 3
}

fn v4_kept(a: Ipv4Addr) -> bool {
    a.is_unspecified() || a.is_loopback() || a.is_broadcast() || a.is_multicast()
}

fn v6_kept(a: Ipv6Addr) -> bool {
    a.is_unspecified() || a.is_loopback() || a.is_multicast()
}

impl Maps {
    fn v4(&mut self, a: Ipv4Addr) -> Ipv4Addr {
        if v4_kept(a) {
            return a;
        }
        if let Some(p) = self.v4.get(&a) {
            return *p;
        }
        let want = v4_text_len(a);
        // A pseudonym written with as many characters as the original (so that it fits in TCP
        // segments and fragments): 198.18.0.0/15 (RFC 2544) gives 10 to 14 characters; shorter
        // originals take 0.0.0.0/8 ("this network", RFC 1122 §3.2.1.3: never a host's address on the
        // wire), 15-character ones 240.0.0.0/4 (reserved, RFC 1112 §4): none of them can be a real
        // peer. Within a range, candidates are walked in order from where the length starts.
        let mut lens: Vec<usize> = (7..=15).collect();
        lens.sort_by_key(|&l| (l.abs_diff(want), l));
        let mut pick = None;
        for len in lens {
            let (first, last) = match len {
                7 => ([0, 0, 0, 1], [0, 9, 9, 9]),
                8 => ([0, 0, 0, 10], [0, 99, 9, 9]),
                9 => ([0, 0, 0, 100], [0, 255, 255, 255]),
                15 => ([240, 100, 100, 100], [255, 255, 255, 254]),
                _ => ([198, 18, 0, 1], [198, 19, 255, 254]),
            };
            let (first, last) = (
                u32::from(Ipv4Addr::from(first)),
                u32::from(Ipv4Addr::from(last)),
            );
            let cursor = self.v4_cursor.entry(len).or_insert(first);
            while *cursor <= last {
                let cand = Ipv4Addr::from(*cursor);
                *cursor += 1;
                let low = cand.octets()[3];
                if low == 0 || low == 255 || v4_text_len(cand) != len {
                    continue;
                }
                if self.v4.contains_key(&cand)
                    || self.v4_taken.contains(&cand)
                    || self.reserved.contains(&IpAddr::V4(cand))
                    || v4_kept(cand)
                {
                    continue;
                }
                pick = Some(cand);
                break;
            }
            if pick.is_some() {
                break;
            }
        }
        let p = pick.unwrap_or(Ipv4Addr::new(198, 19, 255, 254));
        self.v4_taken.insert(p);
        self.v4.insert(a, p);
        p
    }

    fn v6(&mut self, a: Ipv6Addr) -> Ipv6Addr {
        if v6_kept(a) {
            return a;
        }
        if let Some(p) = self.v6.get(&a) {
            return *p;
        }
        loop {
            self.v6_next = self.v6_next.wrapping_add(1);
            let n = self.v6_next;
            let p = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, (n >> 16) as u16, n as u16);
            if !self.v6.contains_key(&p) && !self.reserved.contains(&IpAddr::V6(p)) {
                self.v6.insert(a, p);
                return p;
            }
        }
    }

    fn ip(&mut self, a: IpAddr) -> IpAddr {
        match a {
            IpAddr::V4(v4) => IpAddr::V4(self.v4(v4)),
            IpAddr::V6(v6) => IpAddr::V6(self.v6(v6)),
        }
    }

    fn mac(&mut self, m: [u8; 6]) -> [u8; 6] {
        // Group (broadcast, multicast) and all-zero addresses identify nobody.
        if m[0] & 1 == 1 || m == [0; 6] {
            return m;
        }
        let next = self.macs.len() as u32 + 1;
        *self.macs.entry(m).or_insert_with(|| {
            let b = next.to_be_bytes();
            [0x02, 0, 0, b[1], b[2], b[3]]
        })
    }

    /// Maps the digits of `digits` (no separators) to as many other digits.
    fn number(&mut self, digits: &str) -> String {
        if let Some(p) = self.numbers.get(digits) {
            return p.clone();
        }
        let len = digits.len();
        let mut p = String::new();
        for _ in 0..1000 {
            self.number_next += 1;
            p = padded(self.number_next, len);
            if p != digits && !self.numbers_taken.contains(&p) && !self.numbers.contains_key(&p) {
                break;
            }
        }
        self.numbers_taken.insert(p.clone());
        self.numbers.insert(digits.to_string(), p.clone());
        p
    }

    fn user(&mut self, u: &str) -> String {
        if let Some(p) = self.users.get(u) {
            return p.clone();
        }
        self.counter_user += 1;
        let p = fitted("user-", "u", "", self.counter_user, u.len());
        self.users.insert(u.to_string(), p.clone());
        p
    }

    fn host(&mut self, h: &str) -> String {
        let key = h.to_ascii_lowercase();
        if let Some(p) = self.hosts.get(&key) {
            return p.clone();
        }
        self.counter_host += 1;
        let p = fitted("host-", "h", ".invalid", self.counter_host, h.len());
        self.hosts.insert(key, p.clone());
        p
    }

    fn name(&mut self, n: &str) -> String {
        if let Some(p) = self.names.get(n) {
            return p.clone();
        }
        self.counter_name += 1;
        let p = fitted("name-", "n", "", self.counter_name, n.len());
        self.names.insert(n.to_string(), p.clone());
        p
    }
}

/// Renders a pseudonym IPv6 address with exactly `len` characters when some valid spelling has that many
/// (leading zeros in groups, zero groups written out), else the shortest spelling.
fn v6_text(a: Ipv6Addr, len: usize) -> String {
    let g = a.segments();
    let short = a.to_string();
    if len <= short.len() || g[..6] != [0x2001, 0xdb8, 0, 0, 0, 0] {
        return short;
    }
    // Spelling: "2001:" + db8 (3..4) + k explicit zero groups ":0.." (2..5 each) + "::" or ":" +
    // g6 (1..4, omitted with its colon when zero and k < 4) ":" + g7 (1..4).
    let tail: Vec<u16> = if g[6] == 0 {
        vec![g[7]]
    } else {
        vec![g[6], g[7]]
    };
    for k in 0..=(6 - tail.len()) {
        let explicit_all = k + tail.len() == 6;
        let sep = if explicit_all { 1 } else { 2 };
        let min_tail: usize = tail.iter().map(|t| format!("{t:x}").len()).sum::<usize>()
            + tail.len().saturating_sub(1);
        let min = 5 + 3 + k * 2 + sep + min_tail;
        let max = 5 + 4 + k * 5 + sep + tail.len() * 4 + tail.len().saturating_sub(1);
        if !(min..=max).contains(&len) {
            continue;
        }
        let mut extra = len - min;
        let mut widen = |natural: usize| -> usize {
            let add = extra.min(4 - natural);
            extra -= add;
            natural + add
        };
        let db8 = widen(3);
        let zeros: Vec<usize> = (0..k).map(|_| widen(1)).collect();
        let tails: Vec<(u16, usize)> = tail
            .iter()
            .map(|&t| (t, widen(format!("{t:x}").len())))
            .collect();
        let mut s = format!("2001:{:0db8$x}", 0xdb8);
        for w in zeros {
            s.push_str(&format!(":{:0w$x}", 0));
        }
        s.push_str(if explicit_all { ":" } else { "::" });
        let parts: Vec<String> = tails.iter().map(|&(t, w)| format!("{t:0w$x}")).collect();
        s.push_str(&parts.join(":"));
        if s.len() == len && s.parse::<Ipv6Addr>().ok() == Some(a) {
            return s;
        }
    }
    short
}

/// Writes `p` in place of an original of `len` bytes: cropped when `fit` and too long.
fn emit(out: &mut Vec<u8>, p: &str, len: usize, fit: bool) {
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
enum Flavour {
    Sip,
    Free,
}

impl Maps {
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

    fn emit_ip(&mut self, out: &mut Vec<u8>, a: IpAddr, len: usize, fit: bool) {
        match self.ip(a) {
            IpAddr::V4(p) => emit(out, &p.to_string(), len, fit),
            IpAddr::V6(p) => emit(out, &v6_text(p, len), len, fit),
        }
    }

    /// A host of a URI, Via or Call-ID: an address, or a name.
    fn emit_host(&mut self, out: &mut Vec<u8>, h: &[u8], fit: bool) {
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
    fn generic(&mut self, b: &[u8], fit: bool, flavour: Flavour) -> Vec<u8> {
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
    fn call_id(&mut self, b: &[u8]) -> Vec<u8> {
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

    /// Display names in a name-addr list (From, To, Contact, ...) and everything else in it.
    fn name_addrs(&mut self, v: &[u8], fit: bool) -> Vec<u8> {
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
    fn sip(&mut self, b: &[u8], fit: bool) -> Vec<u8> {
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
fn texty(b: &[u8]) -> bool {
    if b.is_empty() {
        return false;
    }
    let printable = b
        .iter()
        .filter(|&&c| (0x20..0x7f).contains(&c) || c == b'\r' || c == b'\n' || c == b'\t')
        .count();
    printable * 100 >= b.len() * 95
}

/// An RTCP packet (RFC 3550 §6.4): version 2, packet type 200 to 207.
fn is_rtcp(b: &[u8]) -> bool {
    b.len() >= 8 && b[0] >> 6 == 2 && (200..=207).contains(&b[1])
}

/// The one's-complement sum of 16-bit words (RFC 1071), not yet folded or inverted.
fn sum16(b: &[u8], mut acc: u32) -> u32 {
    let mut chunks = b.chunks_exact(2);
    for w in &mut chunks {
        acc = acc.wrapping_add(u32::from(u16::from_be_bytes([w[0], w[1]])));
    }
    if let [last] = chunks.remainder() {
        acc = acc.wrapping_add(u32::from(*last) << 8);
    }
    acc
}

fn fold(mut acc: u32) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    !(acc as u16)
}

/// The pseudo-header sum of a transport checksum (RFC 768, RFC 9293 §3.1, RFC 8200 §8.1).
fn pseudo(src: &[u8], dst: &[u8], proto: u8, len: usize) -> u32 {
    let mut acc = sum16(src, 0);
    acc = sum16(dst, acc);
    acc = acc.wrapping_add(u32::from(proto));
    acc.wrapping_add(len as u32 & 0xffff)
        .wrapping_add((len as u32) >> 16)
}

fn put16(b: &mut [u8], at: usize, v: u16) {
    if let Some(s) = b.get_mut(at..at + 2) {
        s.copy_from_slice(&v.to_be_bytes());
    }
}

fn get16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

/// How a transport payload may be rewritten.
#[derive(Clone, Copy)]
struct Ctx {
    /// Lengths must stay (TCP, fragments, quoted packets, cut frames).
    fit: bool,
    /// Inside an ICMP error: the quoted packet is partial, no checksums but the IP header's.
    quoted: bool,
    depth: u8,
}

impl Maps {
    /// Rewrites an IP packet (`b` from its first header byte to the frame's end); returns the new
    /// bytes (the IP packet, then whatever followed it in the frame).
    fn ip_packet(&mut self, b: &[u8], ctx: Ctx) -> Vec<u8> {
        match b.first().map(|v| v >> 4) {
            Some(4) => self.ipv4(b, ctx),
            Some(6) => self.ipv6(b, ctx),
            _ => b.to_vec(),
        }
    }

    fn ipv4(&mut self, b: &[u8], ctx: Ctx) -> Vec<u8> {
        let ihl = usize::from(b[0] & 0x0f) * 4;
        if ihl < 20 || b.len() < ihl {
            return b.to_vec();
        }
        let mut head = b[..ihl].to_vec();
        for at in [12, 16] {
            let a = Ipv4Addr::new(head[at], head[at + 1], head[at + 2], head[at + 3]);
            head[at..at + 4].copy_from_slice(&self.v4(a).octets());
        }
        let total = usize::from(get16(b, 2).unwrap_or(0));
        // A zero or too-small total length (segmentation offload) means: up to the frame's end.
        let end = if total >= ihl {
            total.min(b.len())
        } else {
            b.len()
        };
        let cut = total > b.len();
        let proto = b[9];
        let frag = get16(b, 6).unwrap_or(0);
        let offset = frag & 0x1fff;
        let more = frag & 0x2000 != 0;
        let payload = &b[ihl..end];
        let (src, dst) = (head[12..16].to_vec(), head[16..20].to_vec());
        let new_payload = if offset > 0 {
            if texty(payload) {
                self.generic(payload, true, Flavour::Sip)
            } else {
                payload.to_vec()
            }
        } else {
            let inner = Ctx {
                fit: ctx.fit || more || cut,
                quoted: ctx.quoted,
                depth: ctx.depth,
            };
            self.transport(proto, payload, &src, &dst, inner, more || cut, false)
        };
        if !ctx.fit && total >= ihl && new_payload.len() != payload.len() {
            put16(&mut head, 2, (ihl + new_payload.len()).min(0xffff) as u16);
        }
        put16(&mut head, 10, 0);
        let sum = fold(sum16(&head, 0));
        put16(&mut head, 10, sum);
        let mut out = head;
        out.extend(new_payload);
        out.extend_from_slice(&b[end..]);
        out
    }

    fn ipv6(&mut self, b: &[u8], ctx: Ctx) -> Vec<u8> {
        if b.len() < 40 {
            return b.to_vec();
        }
        let mut out = b[..40].to_vec();
        for at in [8, 24] {
            let mut o = [0u8; 16];
            o.copy_from_slice(&b[at..at + 16]);
            out[at..at + 16].copy_from_slice(&self.v6(Ipv6Addr::from(o)).octets());
        }
        let plen = usize::from(get16(b, 4).unwrap_or(0));
        let end = if plen == 0 {
            b.len()
        } else {
            (40 + plen).min(b.len())
        };
        let cut = 40 + plen > b.len();
        // Walk the extension headers (RFC 8200 §4) to the transport header.
        let mut next = b[6];
        let mut at = 40;
        let mut fragment = None;
        loop {
            match next {
                0 | 43 | 60 => {
                    let (Some(&nh), Some(&l)) = (b.get(at), b.get(at + 1)) else {
                        break;
                    };
                    next = nh;
                    at += (usize::from(l) + 1) * 8;
                }
                51 => {
                    let (Some(&nh), Some(&l)) = (b.get(at), b.get(at + 1)) else {
                        break;
                    };
                    next = nh;
                    at += (usize::from(l) + 2) * 4;
                }
                44 => {
                    let (Some(&nh), Some(f)) = (b.get(at), get16(b, at + 2)) else {
                        break;
                    };
                    fragment = Some((f >> 3, f & 1 == 1));
                    next = nh;
                    at += 8;
                }
                _ => break,
            }
            if at > end {
                break;
            }
        }
        if at > end {
            out.extend_from_slice(&b[40..]);
            return out;
        }
        out.extend_from_slice(&b[40..at]);
        let payload = &b[at..end];
        let (src, dst) = (out[8..24].to_vec(), out[24..40].to_vec());
        let new_payload = match fragment {
            Some((off, _)) if off > 0 => {
                if texty(payload) {
                    self.generic(payload, true, Flavour::Sip)
                } else {
                    payload.to_vec()
                }
            }
            _ => {
                let partial = fragment.is_some_and(|(_, more)| more) || cut;
                let inner = Ctx {
                    fit: ctx.fit || partial,
                    quoted: ctx.quoted,
                    depth: ctx.depth,
                };
                self.transport(next, payload, &src, &dst, inner, partial, true)
            }
        };
        if !ctx.fit && plen != 0 && new_payload.len() != payload.len() {
            put16(
                &mut out,
                4,
                (at - 40 + new_payload.len()).min(0xffff) as u16,
            );
        }
        out.extend(new_payload);
        out.extend_from_slice(&b[end..]);
        out
    }

    /// The body (after type, code, checksum and the reserved/flags word) of a neighbour solicitation
    /// (135), advertisement (136) or redirect (137).
    fn ndp(&mut self, t: u8, body: &[u8]) -> Vec<u8> {
        let mut out = body.to_vec();
        let addrs = if t == 137 { 2 } else { 1 };
        for k in 0..addrs {
            if let Some(s) = out.get_mut(k * 16..k * 16 + 16) {
                let mut o = [0u8; 16];
                o.copy_from_slice(s);
                s.copy_from_slice(&self.v6(Ipv6Addr::from(o)).octets());
            }
        }
        // Options: type, length in units of 8 bytes; 1 and 2 carry a link-layer address.
        let mut at = addrs * 16;
        while let (Some(&ty), Some(&len)) = (out.get(at), out.get(at + 1)) {
            if len == 0 {
                break;
            }
            if ty == 1 || ty == 2 {
                if let Some(s) = out.get_mut(at + 2..at + 8) {
                    let mut mac = [0u8; 6];
                    mac.copy_from_slice(s);
                    s.copy_from_slice(&self.mac(mac));
                }
            }
            at += usize::from(len) * 8;
        }
        out
    }

    /// Rewrites a transport payload; `partial`: the frame does not hold the whole datagram.
    #[allow(clippy::too_many_arguments)]
    fn transport(
        &mut self,
        proto: u8,
        b: &[u8],
        src: &[u8],
        dst: &[u8],
        ctx: Ctx,
        partial: bool,
        v6: bool,
    ) -> Vec<u8> {
        match proto {
            17 if b.len() >= 8 => {
                let ulen = usize::from(get16(b, 4).unwrap_or(0));
                let end = if ulen >= 8 {
                    ulen.min(b.len())
                } else {
                    b.len()
                };
                let payload = &b[8..end];
                let new_payload = if looks_like_sip(payload) {
                    self.sip(payload, ctx.fit)
                } else if texty(payload) || is_rtcp(payload) {
                    // Other text (syslog, continuations of fragmented SIP) and RTCP (SDES CNAMEs are
                    // often user@host): addresses and names in place, length kept.
                    self.generic(payload, true, Flavour::Sip)
                } else {
                    payload.to_vec()
                };
                let mut out = b[..8].to_vec();
                let new_len = new_payload.len();
                if ulen >= 8 && new_payload.len() != payload.len() {
                    put16(&mut out, 4, (8 + new_payload.len()).min(0xffff) as u16);
                }
                out.extend(new_payload);
                out.extend_from_slice(&b[end..]);
                let had_sum = get16(b, 6).unwrap_or(0) != 0;
                if ctx.quoted || partial {
                    // The datagram is not all here: no checksum can be computed. IPv4 allows "none".
                    if !v6 {
                        put16(&mut out, 6, 0);
                    }
                } else if had_sum || v6 {
                    put16(&mut out, 6, 0);
                    let len = 8 + new_len;
                    let sum = fold(sum16(&out[..len], pseudo(src, dst, 17, len)));
                    put16(&mut out, 6, if sum == 0 { 0xffff } else { sum });
                }
                out
            }
            6 if b.len() >= 20 => {
                let hlen = usize::from(b[12] >> 4) * 4;
                if hlen < 20 || hlen > b.len() {
                    return b.to_vec();
                }
                let payload = &b[hlen..];
                let mut out = b[..hlen].to_vec();
                if looks_like_sip(payload) {
                    out.extend(self.sip(payload, true));
                } else if texty(payload) {
                    out.extend(self.generic(payload, true, Flavour::Sip));
                } else {
                    out.extend_from_slice(payload);
                }
                if !ctx.quoted && !partial {
                    put16(&mut out, 16, 0);
                    let sum = fold(sum16(&out, pseudo(src, dst, 6, out.len())));
                    put16(&mut out, 16, sum);
                }
                out
            }
            1 | 58 if b.len() >= 8 => {
                let t = b[0];
                let error = if proto == 1 {
                    matches!(t, 3 | 4 | 5 | 11 | 12)
                } else {
                    (1..=4).contains(&t)
                };
                let mut out = b[..8].to_vec();
                if proto == 58 && (135..=137).contains(&t) {
                    // Neighbour discovery (RFC 4861 §4.3-4.5): target (and redirect destination)
                    // addresses, then options with link-layer addresses.
                    out.extend(self.ndp(t, &b[8..]));
                } else if error && ctx.depth < 2 {
                    let inner = Ctx {
                        fit: true,
                        quoted: true,
                        depth: ctx.depth + 1,
                    };
                    out.extend(self.ip_packet(&b[8..], inner));
                } else {
                    out.extend_from_slice(&b[8..]);
                }
                if !ctx.quoted && !partial {
                    put16(&mut out, 2, 0);
                    let acc = if proto == 58 {
                        pseudo(src, dst, 58, out.len())
                    } else {
                        0
                    };
                    let sum = fold(sum16(&out, acc));
                    put16(&mut out, 2, sum);
                }
                out
            }
            4 | 41 if ctx.depth < 4 => self.ip_packet(
                b,
                Ctx {
                    fit: ctx.fit,
                    quoted: ctx.quoted,
                    depth: ctx.depth + 1,
                },
            ),
            _ => b.to_vec(),
        }
    }
}

/// ARP for IPv4 over Ethernet (RFC 826) at `at`: sender and target hardware and protocol addresses.
fn arp(m: &mut Maps, b: &mut [u8], at: usize) {
    let Some(h) = b.get(at..at + 8) else {
        return;
    };
    if h[..6] != [0, 1, 8, 0, 6, 4] {
        return;
    }
    for (mac, ip) in [(at + 8, at + 14), (at + 18, at + 24)] {
        if let Some(s) = b.get_mut(mac..mac + 6) {
            let mut o = [0u8; 6];
            o.copy_from_slice(s);
            s.copy_from_slice(&m.mac(o));
        }
        if let Some(s) = b.get_mut(ip..ip + 4) {
            let a = Ipv4Addr::new(s[0], s[1], s[2], s[3]);
            s.copy_from_slice(&m.v4(a).octets());
        }
    }
}

/// Where the IP header starts in a frame of this link type, rewriting link-layer addresses on the way.
fn link_ip_offset(m: &mut Maps, link: u32, b: &mut [u8]) -> Option<usize> {
    let mac_at = |m: &mut Maps, b: &mut [u8], at: usize| {
        if let Some(s) = b.get_mut(at..at + 6) {
            let mut mac = [0u8; 6];
            mac.copy_from_slice(s);
            s.copy_from_slice(&m.mac(mac));
        }
    };
    match link {
        // Ethernet, with 802.1Q / 802.1ad tags.
        1 => {
            mac_at(m, b, 0);
            mac_at(m, b, 6);
            let mut at = 12;
            loop {
                let ty = get16(b, at)?;
                match ty {
                    0x8100 | 0x88a8 | 0x9100 | 0x9200 => at += 4,
                    0x0800 | 0x86dd => return Some(at + 2),
                    0x0806 => {
                        arp(m, b, at + 2);
                        return None;
                    }
                    _ => return None,
                }
            }
        }
        // Linux cooked v1: 16 bytes, link-layer address at 6 (up to 8 bytes), protocol at 14.
        113 => {
            if matches!(get16(b, 4), Some(6)) {
                mac_at(m, b, 6);
            }
            if get16(b, 14) == Some(0x0806) {
                arp(m, b, 16);
            }
            matches!(get16(b, 14), Some(0x0800 | 0x86dd)).then_some(16)
        }
        // Linux cooked v2: 20 bytes, protocol at 0, address length at 11, address at 12.
        276 => {
            if b.get(11) == Some(&6) {
                mac_at(m, b, 12);
            }
            if get16(b, 0) == Some(0x0806) {
                arp(m, b, 20);
            }
            matches!(get16(b, 0), Some(0x0800 | 0x86dd)).then_some(20)
        }
        0 | 108 => (b.len() > 4).then_some(4),
        12 | 14 | 101 | 228 | 229 => Some(0),
        _ => None,
    }
}

/// Every address the analysis names (so that none becomes another's pseudonym).
fn addresses(a: &Analysis) -> HashSet<IpAddr> {
    let mut out = HashSet::new();
    for c in &a.calls {
        for s in &c.messages {
            out.extend([s.msg.src.ip(), s.msg.dst.ip()]);
            out.extend(s.msg.sdp.iter().flatten().filter_map(|m| m.addr));
        }
    }
    for o in &a.other_dialogs {
        out.extend([o.src.ip(), o.dst.ip()]);
    }
    for c in &a.connections {
        out.extend([c.client.ip(), c.server.ip()]);
    }
    for e in &a.icmp_errors {
        out.extend([e.reporter, e.src.ip(), e.dst.ip()]);
    }
    for s in &a.streams {
        out.extend([s.src.ip(), s.dst.ip()]);
    }
    for s in &a.stun {
        out.extend([s.client.ip(), s.server.ip()]);
    }
    out
}

impl Redactor {
    /// A redactor with no mappings yet.
    pub fn new() -> Redactor {
        Redactor::default()
    }

    /// A redactor whose pseudonyms are allocated in the order `analysis` names things, so that runs
    /// over the same capture (a report, an extract) give the same pseudonyms.
    pub fn for_analysis(analysis: &Analysis) -> Redactor {
        let r = Redactor::new();
        r.lock().reserved = addresses(analysis);
        let _ = r.analysis(analysis);
        r
    }

    fn lock(&self) -> MutexGuard<'_, Maps> {
        // A panic while holding the lock cannot leave the maps inconsistent (each insert is whole).
        self.maps.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The pseudonym of an IP address.
    pub fn ip(&self, a: IpAddr) -> IpAddr {
        self.lock().ip(a)
    }

    /// The pseudonym of an address and port (the port is kept).
    pub fn socket(&self, s: SocketAddr) -> SocketAddr {
        SocketAddr::new(self.ip(s.ip()), s.port())
    }

    /// Free text (a finding's summary, a reason phrase): addresses, URIs, known host names, display
    /// names and phone numbers replaced.
    pub fn text(&self, s: &str) -> String {
        let out = self.lock().generic(s.as_bytes(), false, Flavour::Free);
        String::from_utf8_lossy(&out).into_owned()
    }

    /// A Call-ID, as it is rewritten in SIP messages.
    pub fn call_id(&self, s: &str) -> String {
        String::from_utf8_lossy(&self.lock().call_id(s.as_bytes())).into_owned()
    }

    /// A SIP message's text; with `keep_length` every replacement keeps the original's length.
    pub fn sip(&self, b: &[u8], keep_length: bool) -> Vec<u8> {
        self.lock().sip(b, keep_length)
    }

    fn display(&self, s: &str) -> String {
        self.lock().name(s)
    }

    fn host(&self, s: &str) -> String {
        let text = s.trim();
        match text.parse::<IpAddr>() {
            Ok(a) => self.ip(a).to_string(),
            Err(_) if text.is_empty() => String::new(),
            Err(_) => self.lock().host(text),
        }
    }

    fn message(&self, m: &Message) -> Message {
        let mut m = m.clone();
        m.src = self.socket(m.src);
        m.dst = self.socket(m.dst);
        // The display name first, so that free text mentioning it afterwards is covered.
        m.from_display = m.from_display.as_deref().map(|d| self.display(d));
        m.from_uri = self.text(&m.from_uri);
        m.to_uri = self.text(&m.to_uri);
        m.kind = match m.kind {
            Kind::Request { method, uri } => Kind::Request {
                method,
                uri: self.text(&uri),
            },
            Kind::Response { status, reason } => Kind::Response {
                status,
                reason: self.text(&reason),
            },
        };
        m.call_id = self.call_id(&m.call_id);
        m.contact = m.contact.as_deref().map(|c| self.text(c));
        for r in &mut m.reasons {
            r.text = r.text.as_deref().map(|t| self.text(t));
        }
        for w in &mut m.warnings {
            w.agent = self.host(&w.agent);
            w.text = self.text(&w.text);
        }
        for d in &mut m.ms_diagnostics {
            d.source = d.source.as_deref().map(|s| self.host(s));
            d.reason = d.reason.as_deref().map(|r| self.text(r));
            for (_, v) in &mut d.attrs {
                *v = self.text(v);
            }
        }
        for media in m.sdp.iter_mut().flatten() {
            media.addr = media.addr.map(|a| self.ip(a));
            for c in &mut media.candidates {
                c.addr = self.host(&c.addr);
            }
        }
        m.user_agent = m.user_agent.as_deref().map(|u| self.text(u));
        m
    }

    fn call(&self, c: &Call) -> Call {
        let mut c = c.clone();
        for seen in &mut c.messages {
            seen.msg = self.message(&seen.msg);
        }
        c.call_id = self.call_id(&c.call_id);
        c.caller = self.socket(c.caller);
        c.callee = self.socket(c.callee);
        c.from = self.text(&c.from);
        c.to = self.text(&c.to);
        if let Some(f) = &mut c.final_response {
            f.reason = self.text(&f.reason);
        }
        for h in &mut c.hops {
            *h = (self.socket(h.0), self.socket(h.1));
        }
        c
    }

    /// A redacted copy of an analysis: every address, URI, Call-ID, host name, display name and phone
    /// number in the model and in the findings' text; capture paths, counts and frame numbers kept.
    pub fn analysis(&self, a: &Analysis) -> Analysis {
        let mut a = a.clone();
        a.calls = a.calls.iter().map(|c| self.call(c)).collect();
        for o in &mut a.other_dialogs {
            o.call_id = self.call_id(&o.call_id);
            o.src = self.socket(o.src);
            o.dst = self.socket(o.dst);
        }
        for c in &mut a.connections {
            c.client = self.socket(c.client);
            c.server = self.socket(c.server);
            if let Some(tls) = &mut c.tls {
                tls.sni = tls.sni.as_deref().map(|s| self.host(s));
            }
        }
        for e in &mut a.icmp_errors {
            e.reporter = self.ip(e.reporter);
            e.src = self.socket(e.src);
            e.dst = self.socket(e.dst);
        }
        for s in &mut a.streams {
            s.src = self.socket(s.src);
            s.dst = self.socket(s.dst);
        }
        for s in &mut a.stun {
            s.client = self.socket(s.client);
            s.server = self.socket(s.server);
        }
        for findings in &mut a.diagnosis.calls {
            for f in findings {
                f.summary = self.text(&f.summary);
                f.cause = self.text(&f.cause);
            }
        }
        for e in &mut a.diagnosis.transport_events {
            e.src = self.socket(e.src);
            e.dst = self.socket(e.dst);
            e.summary = self.text(&e.summary);
            e.cause = self.text(&e.cause);
        }
        a
    }

    /// A frame with its addresses and SIP/SDP text pseudonymised (see the module doc). Frames that are
    /// not IP (or of an unknown link type) come back with only their link-layer addresses replaced.
    pub fn packet(&self, link_type: u32, data: &[u8]) -> Vec<u8> {
        let mut m = self.lock();
        let mut out = data.to_vec();
        let Some(at) = link_ip_offset(&mut m, link_type, &mut out) else {
            return out;
        };
        let Some(ip) = out.get(at..) else {
            return out;
        };
        let ctx = Ctx {
            fit: false,
            quoted: false,
            depth: 0,
        };
        let rewritten = m.ip_packet(ip, ctx);
        out.truncate(at);
        out.extend(rewritten);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::{PacketBuilder, SlicedPacket, TransportSlice};

    const SIP: &str = "INVITE sip:+4915112345678@pbx.example.com SIP/2.0\r\n\
        Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-1\r\n\
        From: Alice Smith <sip:alice@10.0.0.1>;tag=1\r\n\
        To: \"Bob\" <sip:+4915112345678@pbx.example.com>\r\n\
        Call-ID: abc123@10.0.0.1\r\n\
        CSeq: 1 INVITE\r\n\
        Content-Type: application/sdp\r\n\
        l: 52\r\n\r\n\
        v=0\r\n\
        o=alice 1 1 IN IP4 10.0.0.1\r\n\
        c=IN IP6 fe80::1\r\n";

    fn eth_udp(payload: &[u8]) -> Vec<u8> {
        let b = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
            .ipv4([10, 0, 0, 1], [192, 0, 2, 20], 64)
            .udp(5060, 5060);
        let mut out = Vec::new();
        b.write(&mut out, payload).expect("a Vec");
        out
    }

    fn eth_tcp(payload: &[u8]) -> Vec<u8> {
        let b = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
            .ipv4([10, 0, 0, 1], [192, 0, 2, 20], 64)
            .tcp(40000, 5060, 1000, 1000)
            .ack(1)
            .psh();
        let mut out = Vec::new();
        b.write(&mut out, payload).expect("a Vec");
        out
    }

    /// IPv4 header checksum and the transport checksum verify.
    fn checksums_ok(frame: &[u8]) -> bool {
        let ip = &frame[14..];
        let ihl = usize::from(ip[0] & 15) * 4;
        let total = usize::from(get16(ip, 2).unwrap());
        let header_ok = fold(sum16(&ip[..ihl], 0)) == 0;
        let seg = &ip[ihl..total];
        let proto = ip[9];
        let acc = if proto == 1 {
            0
        } else {
            pseudo(&ip[12..16], &ip[16..20], proto, seg.len())
        };
        let t = fold(sum16(seg, acc));
        header_ok && t == 0
    }

    fn payload_of(frame: &[u8]) -> Vec<u8> {
        let p = SlicedPacket::from_ethernet(frame).expect("a valid packet");
        match p.transport {
            Some(TransportSlice::Udp(u)) => u.payload().to_vec(),
            Some(TransportSlice::Tcp(t)) => t.payload().to_vec(),
            _ => panic!("no transport"),
        }
    }

    fn has(hay: &[u8], needle: &str) -> bool {
        hay.windows(needle.len()).any(|w| w == needle.as_bytes())
    }

    #[test]
    fn pseudonyms_keep_the_length_and_are_consistent() {
        assert_eq!(padded(7, 3), "007");
        assert_eq!(padded(1234, 2), "34");
        assert_eq!(fitted("host-", "h", ".invalid", 3, 15), "host-03.invalid");
        assert_eq!(fitted("host-", "h", ".invalid", 3, 3), "h03");
        assert_eq!(fitted("user-", "u", "", 12, 1), "u12");
        let mut m = Maps::default();
        let a = m.v4(Ipv4Addr::new(192, 0, 2, 10));
        assert_eq!(a.to_string().len(), "192.0.2.10".len());
        assert_eq!(m.v4(Ipv4Addr::new(192, 0, 2, 10)), a);
        assert_ne!(m.v4(Ipv4Addr::new(192, 0, 2, 11)), a);
        assert!(a.octets()[..2] == [198, 18] || a.octets()[..2] == [198, 19]);
        let long = m.v4(Ipv4Addr::new(203, 100, 113, 20));
        assert_eq!(long.to_string().len(), 14);
        // 198.18.0.0/15 has no address of 15 characters: the longest there is used.
        let longest = m.v4(Ipv4Addr::new(203, 100, 113, 200));
        assert_eq!(longest.to_string(), "240.100.100.100");
        assert_eq!(m.v4(Ipv4Addr::new(10, 0, 0, 1)).to_string(), "0.0.0.10");
        assert_eq!(m.v4(Ipv4Addr::new(8, 8, 8, 8)).to_string(), "0.0.0.1");
        assert_eq!(m.v4(Ipv4Addr::UNSPECIFIED), Ipv4Addr::UNSPECIFIED);
        assert_eq!(m.number("4915112345678").len(), 13);
        assert_ne!(m.number("4915112345678"), "4915112345678");
        assert_eq!(m.number("1"), m.number("1"));
        assert_ne!(m.user("alice"), m.user("bob"));
        assert_eq!(m.mac([0xff; 6]), [0xff; 6]);
        assert_eq!(m.mac([2, 0, 0xc0, 0, 2, 0x20])[..3], [2, 0, 0]);
    }

    #[test]
    fn ipv6_pseudonyms_can_be_written_to_any_length_from_11_to_39() {
        let a: Ipv6Addr = "2001:db8::5".parse().expect("an address");
        for len in 11..=39 {
            let s = v6_text(a, len);
            assert_eq!(s.len(), len, "{s}");
            assert_eq!(s.parse::<Ipv6Addr>().ok(), Some(a), "{s}");
        }
        let b: Ipv6Addr = "2001:db8::1:2".parse().expect("an address");
        assert_eq!(v6_text(b, 20).parse::<Ipv6Addr>().ok(), Some(b));
    }

    #[test]
    fn free_text_loses_addresses_numbers_hosts_and_names() {
        let r = Redactor::new();
        assert_eq!(r.display("Alice Smith"), r.display("Alice Smith"));
        let t = r.text(
            "Alice Smith called sip:+49-151-12345678@pbx.example.com via 192.0.2.20:5060 and \
             [2001:db8:1::20]:5061; pbx.example.com answered 504 after 9.9 s (tel:+4915112345678)",
        );
        for gone in [
            "Alice Smith",
            "12345678",
            "pbx.example.com",
            "192.0.2.20",
            "2001:db8:1::20",
        ] {
            assert!(!t.contains(gone), "{gone} in {t}");
        }
        assert!(
            t.contains(":5060 and ") && t.contains("504 after 9.9 s"),
            "{t}"
        );
        assert!(t.contains("host-01.invalid"), "{t}");
        // The same number with or without separators gets the same digits.
        let again = r.text("+4915112345678");
        assert!(t.contains(&again), "{t} / {again}");
    }

    #[test]
    fn a_sip_datagram_that_changes_length_gets_its_lengths_and_checksums_fixed() {
        let r = Redactor::new();
        let frame = eth_udp(SIP.as_bytes());
        let out = r.packet(1, &frame);
        let sip = payload_of(&out);
        let text = String::from_utf8_lossy(&sip);
        for gone in [
            "10.0.0.1",
            "fe80::1",
            "192.0.2.20",
            "alice",
            "Alice",
            "Bob",
            "pbx.example",
            "4915112345678",
        ] {
            assert!(!has(&sip, gone), "{gone} in {text}");
        }
        // fe80::1 (7 characters) has no pseudonym of its length in 2001:db8::/32: the body grew by 4
        // and `l:` follows; the other pseudonyms have their original's length.
        let body = &sip[sip
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("a body")
            + 4..];
        assert!(text.contains(&format!("l: {}\r\n", body.len())), "{text}");
        assert_eq!(out.len(), frame.len() + 4);
        assert!(text.contains("l: 56\r\n"), "{text}");
        assert!(checksums_ok(&out));
        assert!(crate::proto::sip::parse(&sip).is_ok());
        assert!(text.contains("From: name-000001 <sip:"), "{text}");
        assert!(text.contains("Call-ID: abc123@0.0.0.10\r\n"), "{text}");
        assert!(text.contains("c=IN IP6 2001:db8::1\r\n"), "{text}");
    }

    #[test]
    fn a_tcp_segment_keeps_its_length() {
        let r = Redactor::new();
        let frame = eth_tcp(SIP.as_bytes());
        let out = r.packet(1, &frame);
        assert_eq!(out.len(), frame.len());
        assert!(checksums_ok(&out));
        let sip = payload_of(&out);
        for gone in [
            "192.0.2.20",
            "alice",
            "Alice",
            "Bob",
            "pbx.example",
            "4915112345678",
        ] {
            assert!(
                !has(&sip, gone),
                "{gone} in {}",
                String::from_utf8_lossy(&sip)
            );
        }
    }

    #[test]
    fn udp_and_tcp_give_the_same_pseudonyms_for_addresses_of_ten_characters_or_more() {
        let r = Redactor::new();
        let text = "INVITE sip:bob@192.0.2.20 SIP/2.0\r\nCall-ID: x@pbx.example.com\r\n\r\n";
        let udp = payload_of(&r.packet(1, &eth_udp(text.as_bytes())));
        let tcp = payload_of(&r.packet(1, &eth_tcp(text.as_bytes())));
        assert_eq!(udp, tcp);
        assert_eq!(udp.len(), text.len());
        assert_eq!(
            r.call_id("x@pbx.example.com"),
            "x@host-01.invalid".replace("01", &padded(1, 2))
        );
    }

    #[test]
    fn icmp_errors_get_their_quoted_packet_redacted() {
        let r = Redactor::new();
        let quoted = eth_udp(b"INVITE sip:bob@192.0.2.20 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1\r\n");
        let quoted_ip = &quoted[14..];
        let b = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 2], [2, 0, 0, 0, 0, 1])
            .ipv4([192, 0, 2, 20], [10, 0, 0, 1], 64)
            .icmpv4(etherparse::Icmpv4Type::DestinationUnreachable(
                etherparse::icmpv4::DestUnreachableHeader::Port,
            ));
        let mut frame = Vec::new();
        b.write(&mut frame, quoted_ip).expect("a Vec");
        let out = r.packet(1, &frame);
        assert_eq!(out.len(), frame.len());
        assert!(checksums_ok(&out));
        for gone in ["192.0.2.20", "10.0.0.1"] {
            assert!(!has(&out, gone));
        }
        assert!(!out
            .windows(4)
            .any(|w| w == [192, 0, 2, 20] || w == [10, 0, 0, 1]));
        let inner = &out[14 + 20 + 8..];
        assert_eq!(
            fold(sum16(&inner[..20], 0)),
            0,
            "quoted IPv4 header checksum"
        );
    }

    #[test]
    fn addresses_glued_to_tokens_and_in_rtcp_are_found() {
        let r = Redactor::new();
        let t = r.sip(
            b"Via: SIP/2.0/UDP h;branch=z9hG4bKnp1-481b9fc8192.168.1.2;rport\r\n",
            true,
        );
        assert!(!has(&t, "192.168.1.2"), "{}", String::from_utf8_lossy(&t));
        assert!(has(&t, "481b9fc8"));
        // An RTCP SDES CNAME `user@192.168.1.2` in a binary packet.
        let mut rtcp = vec![0x81, 202, 0, 6, 1, 2, 3, 4, 1, 13];
        rtcp.extend_from_slice(b"x@192.168.1.2");
        rtcp.push(0);
        let out = r.packet(1, &eth_udp(&rtcp));
        assert!(!has(&out, "192.168.1.2"));
        assert_eq!(out.len(), eth_udp(&rtcp).len());
    }

    #[test]
    fn truncated_frames_never_panic() {
        let r = Redactor::new();
        let frames = [eth_udp(SIP.as_bytes()), eth_tcp(SIP.as_bytes())];
        for frame in &frames {
            for link in [1, 101, 113, 276, 0] {
                for n in 0..=frame.len() {
                    let _ = r.packet(link, &frame[..n]);
                }
            }
        }
        for n in 0..=SIP.len() {
            let _ = r.sip(&SIP.as_bytes()[..n], false);
            let _ = r.sip(&SIP.as_bytes()[..n], true);
        }
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(
            data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300),
            link in proptest::sample::select(vec![0u32, 1, 101, 113, 276, 228, 229]),
        ) {
            let r = Redactor::new();
            let out = r.packet(link, &data);
            let kept = r.sip(&data, true);
            proptest::prop_assert_eq!(kept.len(), data.len());
            let _ = r.text(&String::from_utf8_lossy(&data));
            let _ = out;
        }

        #[test]
        fn arbitrary_text_keeps_its_length_when_asked(s in "[ -~\r\n]{0,200}") {
            let r = Redactor::new();
            proptest::prop_assert_eq!(r.sip(s.as_bytes(), true).len(), s.len());
        }
    }
}
