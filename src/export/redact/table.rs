//! The pseudonym table of a redaction run: IPv4 and IPv6 addresses, MAC addresses, phone numbers,
//! user parts, host names and display names, each mapped once to a pseudonym of the original's
//! length where one exists (see the parent module's doc for the ranges used).
//!
//! Takes originals one at a time; produces their pseudonyms, the same for the same original for the
//! table's whole life. Does not parse text or packets (`text.rs` and `packet.rs` find the originals).

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::diagnose::PrivateSpace;

/// The mappings made so far.
#[derive(Debug, Default)]
pub(super) struct Pseudonyms {
    pub(super) v4: HashMap<Ipv4Addr, Ipv4Addr>,
    pub(super) v4_taken: HashSet<Ipv4Addr>,
    /// Addresses known to be originals (from the analysis): never handed out as pseudonyms.
    pub(super) reserved: HashSet<IpAddr>,
    /// Per range (its first address) and text length, the next candidate address (as a number).
    pub(super) v4_cursor: HashMap<(u32, usize), u32>,
    pub(super) v6: HashMap<Ipv6Addr, Ipv6Addr>,
    pub(super) v6_next: u32,
    pub(super) macs: HashMap<[u8; 6], [u8; 6]>,
    /// Digit strings (separators removed) → digit strings of the same length.
    pub(super) numbers: HashMap<String, String>,
    pub(super) numbers_taken: HashSet<String>,
    pub(super) number_next: u64,
    /// Lowercase key → index.
    pub(super) users: HashMap<String, String>,
    pub(super) hosts: HashMap<String, String>,
    pub(super) names: HashMap<String, String>,
    pub(super) counter_user: u64,
    pub(super) counter_host: u64,
    pub(super) counter_name: u64,
}

/// `n` in decimal, zero-padded (or cut to its last digits) to exactly `width` characters.
pub(super) fn padded(n: u64, width: usize) -> String {
    let s = format!("{n:0width$}");
    let cut = s.len().saturating_sub(width);
    s.get(cut..).unwrap_or_default().to_string()
}

/// A pseudonym of the original's length: `long` + N when it fits, else `short` + N, else `short` + N
/// longer than the original (one-character originals).
pub(super) fn fitted(long: &str, short: &str, suffix: &str, n: u64, len: usize) -> String {
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

impl Pseudonyms {
    pub(super) fn v4(&mut self, a: Ipv4Addr) -> Ipv4Addr {
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
        // peer. A private address (RFC 1918, shared, link-local) stays in its own block, which
        // holds addresses of its length: the diagnosis reads NAT from the address class.
        // Within a range, candidates are walked in order from where the length starts.
        let block = match crate::diagnose::private_space(IpAddr::V4(a)) {
            Some(PrivateSpace {
                network: IpAddr::V4(net),
                prefix,
                ..
            }) => Some((net.to_bits(), net.to_bits() | (u32::MAX >> prefix))),
            _ => None,
        };
        let mut lens: Vec<usize> = (7..=15).collect();
        lens.sort_by_key(|&l| (l.abs_diff(want), l));
        let mut pick = None;
        for len in lens {
            let (first, last) = block.unwrap_or_else(|| {
                let (first, last) = match len {
                    7 => ([0, 0, 0, 1], [0, 9, 9, 9]),
                    8 => ([0, 0, 0, 10], [0, 99, 9, 9]),
                    9 => ([0, 0, 0, 100], [0, 255, 255, 255]),
                    15 => ([240, 100, 100, 100], [255, 255, 255, 254]),
                    _ => ([198, 18, 0, 1], [198, 19, 255, 254]),
                };
                (
                    u32::from(Ipv4Addr::from(first)),
                    u32::from(Ipv4Addr::from(last)),
                )
            });
            let cursor = self.v4_cursor.entry((first, len)).or_insert(first);
            while *cursor <= last {
                let cand = Ipv4Addr::from(*cursor);
                *cursor += 1;
                let low = cand.octets()[3];
                if low == 0 || low == 255 || v4_text_len(cand) != len {
                    continue;
                }
                if cand == a
                    || self.v4.contains_key(&cand)
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

    pub(super) fn v6(&mut self, a: Ipv6Addr) -> Ipv6Addr {
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

    pub(super) fn ip(&mut self, a: IpAddr) -> IpAddr {
        match a {
            IpAddr::V4(v4) => IpAddr::V4(self.v4(v4)),
            IpAddr::V6(v6) => IpAddr::V6(self.v6(v6)),
        }
    }

    pub(super) fn mac(&mut self, m: [u8; 6]) -> [u8; 6] {
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
    pub(super) fn number(&mut self, digits: &str) -> String {
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

    pub(super) fn user(&mut self, u: &str) -> String {
        if let Some(p) = self.users.get(u) {
            return p.clone();
        }
        self.counter_user += 1;
        let p = fitted("user-", "u", "", self.counter_user, u.len());
        self.users.insert(u.to_string(), p.clone());
        p
    }

    pub(super) fn host(&mut self, h: &str) -> String {
        let key = h.to_ascii_lowercase();
        if let Some(p) = self.hosts.get(&key) {
            return p.clone();
        }
        self.counter_host += 1;
        let p = fitted("host-", "h", ".invalid", self.counter_host, h.len());
        self.hosts.insert(key, p.clone());
        p
    }

    pub(super) fn name(&mut self, n: &str) -> String {
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
pub(super) fn v6_text(a: Ipv6Addr, len: usize) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pseudonyms_keep_the_length_and_are_consistent() {
        assert_eq!(padded(7, 3), "007");
        assert_eq!(padded(1234, 2), "34");
        assert_eq!(fitted("host-", "h", ".invalid", 3, 15), "host-03.invalid");
        assert_eq!(fitted("host-", "h", ".invalid", 3, 3), "h03");
        assert_eq!(fitted("user-", "u", "", 12, 1), "u12");
        let mut m = Pseudonyms::default();
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
        assert_eq!(m.v4(Ipv4Addr::new(10, 0, 0, 1)).to_string(), "10.0.0.2");
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
    fn private_addresses_get_private_pseudonyms_of_their_block_and_length() {
        let mut m = Pseudonyms::default();
        for original in [
            "10.0.0.31",
            "172.16.5.4",
            "192.168.60.90",
            "100.64.1.1",
            "169.254.9.9",
        ] {
            let a: Ipv4Addr = original.parse().expect("an address");
            let p = m.v4(a);
            assert_ne!(p, a);
            assert_eq!(p.to_string().len(), original.len(), "{p}");
            let space = |x: Ipv4Addr| crate::diagnose::private_space(IpAddr::V4(x));
            assert_eq!(space(p), space(a), "{original} → {p}");
        }
        assert!(
            crate::diagnose::private_space(IpAddr::V4(m.v4(Ipv4Addr::new(192, 0, 2, 31))))
                .is_none()
        );
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
}
