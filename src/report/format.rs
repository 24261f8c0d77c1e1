//! Formatting the reports do by the million: timestamps (RFC 3339 in UTC with microseconds),
//! endpoints (`ip:port`, IPv6 as `[ip]:port`), addresses, MACs and SSRCs, written without `format!`
//! into a [`Short`] on the stack (the JSON items serialise it as it is; the others take a `String`).

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use serde::{Serialize, Serializer};

use crate::words::civil_from_days;

/// A short text kept inline: every value formatted here fits (the longest, an IPv6 endpoint with a
/// scope, is 58 bytes).
#[derive(Clone, Copy)]
pub(crate) struct Short {
    len: u8,
    buf: [u8; 64],
}

impl Short {
    fn new() -> Short {
        Short {
            len: 0,
            buf: [0; 64],
        }
    }

    pub(crate) fn as_str(&self) -> &str {
        // Only whole `str`s are pushed: always UTF-8.
        std::str::from_utf8(self.buf.get(..usize::from(self.len)).unwrap_or_default())
            .unwrap_or_default()
    }
}

impl fmt::Write for Short {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let at = usize::from(self.len);
        let end = at + s.len();
        let dest = self.buf.get_mut(at..end).ok_or(fmt::Error)?;
        dest.copy_from_slice(s.as_bytes());
        self.len = end as u8;
        Ok(())
    }
}

impl fmt::Display for Short {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Short {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Formats nanoseconds since the Unix epoch as `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
///
/// Written digit by digit rather than through `format!`: a report of a million calls formats
/// several million timestamps. Nanoseconds in an `i64` span the years 1677 to 2262: four digits.
pub(crate) fn stamp(ts_ns: i64) -> Short {
    let micros = ts_ns.div_euclid(1000);
    let secs = micros.div_euclid(1_000_000);
    let frac = micros.rem_euclid(1_000_000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let mut out = Short::new();
    out.buf[..27].copy_from_slice(b"0000-00-00T00:00:00.000000Z");
    out.len = 27;
    let mut put = |at: usize, width: usize, mut v: u64| {
        for i in (at..at + width).rev() {
            out.buf[i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, 4, y as u64);
    put(5, 2, u64::from(m));
    put(8, 2, u64::from(d));
    put(11, 2, (rem / 3600) as u64);
    put(14, 2, (rem % 3600 / 60) as u64);
    put(17, 2, (rem % 60) as u64);
    put(20, 6, frac as u64);
    out
}

/// [`stamp`] as a `String`.
pub(crate) fn rfc3339(ts_ns: i64) -> String {
    stamp(ts_ns).to_string()
}

/// `192.0.2.10:5060`, or `[2001:db8::1]:5060` (as `SocketAddr`'s `Display`, which IPv6 keeps).
pub(crate) fn addr(a: SocketAddr) -> Short {
    let mut out = Short::new();
    match a {
        SocketAddr::V4(v4) => {
            push_ipv4(&mut out, v4.ip().octets());
            push(&mut out, ":");
            push_number(&mut out, u32::from(v4.port()));
        }
        SocketAddr::V6(_) => {
            let _ = fmt::Write::write_fmt(&mut out, format_args!("{a}"));
        }
    }
    out
}

/// [`addr`] as a `String`.
pub(crate) fn endpoint(a: SocketAddr) -> String {
    addr(a).to_string()
}

/// `192.0.2.10` or `2001:db8::1` (as `IpAddr`'s `Display`).
pub(crate) fn ip(a: IpAddr) -> Short {
    let mut out = Short::new();
    match a {
        IpAddr::V4(v4) => push_ipv4(&mut out, v4.octets()),
        IpAddr::V6(_) => {
            let _ = fmt::Write::write_fmt(&mut out, format_args!("{a}"));
        }
    }
    out
}

const HEX_LOWER: &[u8; 16] = b"0123456789abcdef";
const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

/// `02:00:5e:10:00:01`: lower-case hex, colon-separated.
pub(crate) fn mac(m: [u8; 6]) -> String {
    let mut out = Short::new();
    for (i, b) in m.into_iter().enumerate() {
        if i > 0 {
            push(&mut out, ":");
        }
        push_hex(&mut out, HEX_LOWER, b);
    }
    out.to_string()
}

/// `0x0A1B2C3D`: an SSRC as the reports write it (eight upper-case hex digits).
pub(crate) fn ssrc(v: u32) -> Short {
    let mut out = Short::new();
    push(&mut out, "0x");
    for b in v.to_be_bytes() {
        push_hex(&mut out, HEX_UPPER, b);
    }
    out
}

fn push(out: &mut Short, s: &str) {
    push_ascii(out, s.as_bytes());
}

/// Appends bytes the callers know to be ASCII (digits, separators), so `Short` stays UTF-8; every
/// value formatted here fits (see `Short`).
fn push_ascii(out: &mut Short, b: &[u8]) {
    let at = usize::from(out.len);
    if let Some(dest) = out.buf.get_mut(at..at + b.len()) {
        dest.copy_from_slice(b);
        out.len = (at + b.len()) as u8;
    }
}

fn push_hex(out: &mut Short, digits: &[u8; 16], b: u8) {
    push_ascii(
        out,
        &[digits[usize::from(b >> 4)], digits[usize::from(b & 0xf)]],
    );
}

fn push_ipv4(out: &mut Short, octets: [u8; 4]) {
    for (i, octet) in octets.into_iter().enumerate() {
        if i > 0 {
            push(out, ".");
        }
        push_number(out, u32::from(octet));
    }
}

fn push_number(out: &mut Short, v: u32) {
    // Digits from the right, then pushed as one piece.
    let mut digits = [0u8; 10];
    let mut at = digits.len();
    let mut v = v;
    loop {
        at -= 1;
        digits[at] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    push_ascii(out, &digits[at..]);
}

#[cfg(test)]
mod tests {
    use super::{endpoint, ip, mac, rfc3339, ssrc};

    #[test]
    fn formats_endpoints_as_display_does() {
        for a in [
            "0.0.0.0:0",
            "192.0.2.10:5060",
            "255.255.255.255:65535",
            "[2001:db8::1]:5061",
        ] {
            let a: std::net::SocketAddr = a.parse().expect("an address");
            assert_eq!(endpoint(a), a.to_string());
        }
    }

    #[test]
    fn formats_addresses_and_macs_as_display_does() {
        for a in ["0.0.0.0", "192.0.2.10", "255.255.255.255", "2001:db8::1"] {
            let a: std::net::IpAddr = a.parse().expect("an address");
            assert_eq!(ip(a).to_string(), a.to_string());
        }
        assert_eq!(mac([2, 0, 0x5e, 0x10, 0xab, 0xff]), "02:00:5e:10:ab:ff");
        for v in [0, 0xE079651D, u32::MAX] {
            assert_eq!(ssrc(v).to_string(), format!("0x{v:08X}"));
        }
        let scoped = "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff%4294967295]:65535";
        let a: std::net::SocketAddrV6 = scoped.parse().expect("an address");
        assert_eq!(endpoint(a.into()), scoped);
    }

    #[test]
    fn formats_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(
            rfc3339(951_782_400_000_000_000),
            "2000-02-29T00:00:00.000000Z"
        );
        assert_eq!(
            rfc3339(1_795_674_912_123_456_789),
            "2026-11-26T06:35:12.123456Z"
        );
        assert_eq!(rfc3339(-1_000), "1969-12-31T23:59:59.999999Z");
        assert_eq!(rfc3339(i64::MIN), "1677-09-21T00:12:43.145224Z");
        assert_eq!(rfc3339(i64::MAX), "2262-04-11T23:47:16.854775Z");
    }
}
