//! Formatting the reports do by the million: timestamps (RFC 3339 in UTC with microseconds),
//! endpoints (`ip:port`, IPv6 as `[ip]:port`), addresses and MACs, written without `format!`.

use std::net::{IpAddr, SocketAddr};

use crate::words::civil_from_days;

/// Formats nanoseconds since the Unix epoch as `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
///
/// Written digit by digit rather than through `format!`: a report of a million calls formats
/// several million timestamps. Nanoseconds in an `i64` span the years 1677 to 2262: four digits.
pub(crate) fn rfc3339(ts_ns: i64) -> String {
    let micros = ts_ns.div_euclid(1000);
    let secs = micros.div_euclid(1_000_000);
    let frac = micros.rem_euclid(1_000_000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let mut b = *b"0000-00-00T00:00:00.000000Z";
    let mut put = |at: usize, width: usize, mut v: u64| {
        for i in (at..at + width).rev() {
            b[i] = b'0' + (v % 10) as u8;
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
    // Only ASCII digits and separators: always UTF-8.
    std::str::from_utf8(&b).unwrap_or_default().to_owned()
}

/// `192.0.2.10:5060`, or `[2001:db8::1]:5060` (as `SocketAddr`'s `Display`, which IPv6 keeps).
pub(crate) fn endpoint(a: SocketAddr) -> String {
    let SocketAddr::V4(v4) = a else {
        return a.to_string();
    };
    let mut out = String::with_capacity(21);
    push_ipv4(&mut out, v4.ip().octets());
    out.push(':');
    push_number(&mut out, u32::from(v4.port()));
    out
}

/// `192.0.2.10` or `2001:db8::1` (as `IpAddr`'s `Display`).
pub(crate) fn ip(a: IpAddr) -> String {
    let IpAddr::V4(v4) = a else {
        return a.to_string();
    };
    let mut out = String::with_capacity(15);
    push_ipv4(&mut out, v4.octets());
    out
}

/// `02:00:5e:10:00:01`: lower-case hex, colon-separated.
pub(crate) fn mac(m: [u8; 6]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(17);
    for (i, b) in m.into_iter().enumerate() {
        if i > 0 {
            out.push(':');
        }
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0xf)]));
    }
    out
}

fn push_ipv4(out: &mut String, octets: [u8; 4]) {
    for (i, octet) in octets.into_iter().enumerate() {
        if i > 0 {
            out.push('.');
        }
        push_number(out, u32::from(octet));
    }
}

fn push_number(out: &mut String, v: u32) {
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
    out.push_str(std::str::from_utf8(&digits[at..]).unwrap_or_default());
}

#[cfg(test)]
mod tests {
    use super::{endpoint, ip, mac, rfc3339};

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
            assert_eq!(ip(a), a.to_string());
        }
        assert_eq!(mac([2, 0, 0x5e, 0x10, 0xab, 0xff]), "02:00:5e:10:ab:ff");
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
