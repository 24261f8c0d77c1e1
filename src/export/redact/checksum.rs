//! The Internet checksum (RFC 1071) and the pseudo-headers of UDP, TCP and ICMPv6 (RFC 768,
//! RFC 9293 §3.1, RFC 8200 §8.1), for headers that redaction rewrote.
//!
//! Takes byte ranges of a frame; produces checksums. Does not know where headers are (`packet.rs`
//! finds them through `decode`).

/// The one's-complement sum of the 16-bit words of `b` (an odd last byte padded with zero) added to
/// `acc`, not yet folded. The accumulator is 64 bits wide: no frame is large enough to overflow it.
pub(super) fn sum16(b: &[u8], mut acc: u64) -> u64 {
    let mut words = b.chunks_exact(2);
    for w in &mut words {
        acc += u64::from(u16::from_be_bytes([w[0], w[1]]));
    }
    if let [last] = words.remainder() {
        acc += u64::from(*last) << 8;
    }
    acc
}

/// Folds a sum to 16 bits and complements it: the value of a checksum field.
pub(super) fn fold(mut acc: u64) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    !(acc as u16)
}

/// The sum of a transport pseudo-header: source and destination addresses (4 or 16 bytes each), the
/// protocol number and the upper-layer length (RFC 768, RFC 9293 §3.1, RFC 8200 §8.1).
pub(super) fn pseudo(src: &[u8], dst: &[u8], proto: u8, len: usize) -> u64 {
    let len = len as u64;
    sum16(dst, sum16(src, 0)) + u64::from(proto) + (len & 0xffff) + (len >> 16)
}

/// Big-endian u16 at `at`, if present.
pub(super) fn get16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([
        *b.get(at)?,
        *b.get(at.checked_add(1)?)?,
    ]))
}

/// Writes a big-endian u16 at `at` when the bytes are there.
pub(super) fn put16(b: &mut [u8], at: usize, v: u16) {
    if let Some(s) = at.checked_add(2).and_then(|end| b.get_mut(at..end)) {
        s.copy_from_slice(&v.to_be_bytes());
    }
}

/// Sets the checksum field at `field` to the checksum of `range` of `b` with the pseudo-header sum
/// `acc`; nothing happens when the range is not within `b`.
pub(super) fn set(b: &mut [u8], range: std::ops::Range<usize>, field: usize, acc: u64) {
    if range.end > b.len() || field < range.start || field.saturating_add(2) > range.end {
        return;
    }
    put16(b, field, 0);
    let sum = fold(sum16(&b[range], acc));
    put16(b, field, sum);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_example() {
        // RFC 1071 §3: the sum of 00 01 f2 03 f4 f5 f6 f7 is ddf2 (before complementing).
        let b = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(fold(sum16(&b, 0)), !0xddf2);
        // An odd length pads with a zero byte.
        assert_eq!(sum16(&[1, 2, 3], 0), 0x0102 + 0x0300);
    }

    #[test]
    fn a_checksum_set_verifies() {
        let mut b = vec![
            0x45, 0, 0, 20, 0, 0, 0, 0, 64, 17, 0xab, 0xcd, 10, 0, 0, 1, 10, 0, 0, 2,
        ];
        set(&mut b, 0..20, 10, 0);
        assert_eq!(fold(sum16(&b, 0)), 0);
        // Out of range: untouched, no panic.
        set(&mut b, 0..40, 10, 0);
        set(&mut b, 4..20, 2, 0);
        put16(&mut b, 19, 1);
        assert_eq!(get16(&b, 19), None);
    }
}
