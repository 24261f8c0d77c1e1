//! Bounds-checked big-endian reads for the binary parsers (RTP, RTCP, STUN, TLS).
//!
//! Takes in: a byte slice and an offset, or a [`Reader`] that walks a slice from the front.
//! Produces: the unsigned integer stored there in network byte order (most significant byte first, RFC 791
//! Appendix B), or the bytes of a length-prefixed field.
//! Does not: know any protocol, allocate, or panic. Every read goes through `slice::get` with a checked end, so
//! a read past the end yields `None` ([`Reader`]) or 0 ([`byte`], [`be16`], [`be32`], [`be64`]).
//!
//! The offset readers returning 0 serve the fixed-header views (`rtp::Packet`, `rtcp::Packet`, `stun::Message`):
//! their constructors check the length once, so the fallback never shows in a valid view and an accessor needs no
//! `Option`. Code that reads before such a check uses [`Reader`], whose `None` says the input is too short.

/// The `N` bytes at `at`, `None` unless all of them are in `buf`.
#[inline]
fn array<const N: usize>(buf: &[u8], at: usize) -> Option<[u8; N]> {
    buf.get(at..at.checked_add(N)?)?.try_into().ok()
}

/// The byte at `at`, 0 past the end.
#[inline]
pub(super) fn byte(buf: &[u8], at: usize) -> u8 {
    buf.get(at).copied().unwrap_or(0)
}

/// The big-endian `u16` at `at`, 0 unless both bytes are in `buf`.
#[inline]
pub(super) fn be16(buf: &[u8], at: usize) -> u16 {
    array(buf, at).map_or(0, u16::from_be_bytes)
}

/// The big-endian `u32` at `at`, 0 unless all four bytes are in `buf`.
#[inline]
pub(super) fn be32(buf: &[u8], at: usize) -> u32 {
    array(buf, at).map_or(0, u32::from_be_bytes)
}

/// The big-endian `u64` at `at`, 0 unless all eight bytes are in `buf`.
#[inline]
pub(super) fn be64(buf: &[u8], at: usize) -> u64 {
    array(buf, at).map_or(0, u64::from_be_bytes)
}

/// Reads a slice from the front; each read either takes all the bytes it needs or returns `None` and leaves the
/// reader where it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    #[inline]
    pub(super) fn new(buf: &'a [u8]) -> Self {
        Self { buf }
    }

    /// The bytes not read yet.
    #[inline]
    pub(super) fn rest(&self) -> &'a [u8] {
        self.buf
    }

    #[inline]
    pub(super) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The next `n` bytes.
    #[inline]
    pub(super) fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, rest) = self.buf.split_at_checked(n)?;
        self.buf = rest;
        Some(head)
    }

    #[inline]
    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        let bytes = array(self.buf, 0)?;
        self.buf = self.buf.get(N..).unwrap_or_default();
        Some(bytes)
    }

    #[inline]
    pub(super) fn u8(&mut self) -> Option<u8> {
        self.array().map(u8::from_be_bytes)
    }

    #[inline]
    pub(super) fn be16(&mut self) -> Option<u16> {
        self.array().map(u16::from_be_bytes)
    }

    /// A 24-bit big-endian length (as TLS handshake messages carry, RFC 8446 §4), as a `usize`.
    #[inline]
    pub(super) fn be24(&mut self) -> Option<usize> {
        let [a, b, c] = self.array()?;
        Some((usize::from(a) << 16) | (usize::from(b) << 8) | usize::from(c))
    }

    /// A byte string after its 1-byte length (`opaque x<0..2^8-1>`, RFC 8446 §3.4).
    #[inline]
    pub(super) fn vec8(&mut self) -> Option<&'a [u8]> {
        self.prefixed(|r| r.u8().map(usize::from))
    }

    /// A byte string after its 2-byte length (`opaque x<0..2^16-1>`, RFC 8446 §3.4).
    #[inline]
    pub(super) fn vec16(&mut self) -> Option<&'a [u8]> {
        self.prefixed(|r| r.be16().map(usize::from))
    }

    /// The byte string after the length `len` reads; consumes nothing unless both are there.
    #[inline]
    fn prefixed(&mut self, len: fn(&mut Self) -> Option<usize>) -> Option<&'a [u8]> {
        let mut r = *self;
        let n = len(&mut r)?;
        let v = r.take(n)?;
        *self = r;
        Some(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const BUF: &[u8] = &[0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09];

    #[test]
    fn offsets_read_big_endian() {
        assert_eq!(byte(BUF, 8), 0x09);
        assert_eq!(be16(BUF, 1), 0x0203);
        assert_eq!(be32(BUF, 5), 0x0607_0809);
        assert_eq!(be64(BUF, 1), 0x0203_0405_0607_0809);
    }

    #[test]
    fn offsets_past_the_end_read_zero() {
        assert_eq!(byte(BUF, 9), 0);
        assert_eq!(be16(BUF, 8), 0);
        assert_eq!(be32(BUF, 6), 0);
        assert_eq!(be64(BUF, 2), 0);
        assert_eq!(be16(&[], 0), 0);
        for at in [usize::MAX - 1, usize::MAX] {
            assert_eq!(
                (byte(BUF, at), be16(BUF, at), be32(BUF, at), be64(BUF, at)),
                (0, 0, 0, 0)
            );
        }
    }

    #[test]
    fn reader_reads_in_order() {
        let mut r = Reader::new(BUF);
        assert_eq!(r.u8(), Some(0x01));
        assert_eq!(r.be16(), Some(0x0203));
        assert_eq!(r.be24(), Some(0x04_0506));
        assert_eq!(r.take(2), Some(&[0x07, 0x08][..]));
        assert_eq!(r.rest(), [0x09]);
        assert_eq!(r.be16(), None);
        assert_eq!(r.rest(), [0x09], "a failed read consumes nothing");
        assert_eq!(r.u8(), Some(0x09));
        assert!(r.is_empty());
        assert_eq!((r.u8(), r.take(1), r.take(0)), (None, None, Some(&[][..])));
    }

    #[test]
    fn reader_length_prefixed() {
        let mut r = Reader::new(&[2, 0xaa, 0xbb, 0x00, 0x01, 0xcc, 0x00, 0x05, 0xdd]);
        assert_eq!(r.vec8(), Some(&[0xaa, 0xbb][..]));
        assert_eq!(r.vec16(), Some(&[0xcc][..]));
        assert_eq!(r.vec16(), None, "length 5 with one byte left");
        assert_eq!(
            r.rest(),
            [0x00, 0x05, 0xdd],
            "a failed read consumes nothing"
        );
        assert_eq!(Reader::new(&[3, 1]).vec8(), None);
        assert_eq!(Reader::new(&[]).vec8(), None);
    }

    proptest! {
        #[test]
        fn any_offset_never_panics_and_agrees_with_the_slice(
            bytes in proptest::collection::vec(any::<u8>(), 0..16),
            at in prop_oneof![0usize..20, Just(usize::MAX - 3), Just(usize::MAX)],
        ) {
            let want16 = bytes.get(at..at.saturating_add(2)).filter(|s| s.len() == 2);
            prop_assert_eq!(be16(&bytes, at), want16.map_or(0, |s| (u16::from(s[0]) << 8) | u16::from(s[1])));
            let want32 = bytes.get(at..at.saturating_add(4)).filter(|s| s.len() == 4);
            prop_assert_eq!(be32(&bytes, at), want32.map_or(0, |s| s.iter().fold(0, |a, &b| (a << 8) | u32::from(b))));
            let _ = (byte(&bytes, at), be64(&bytes, at));
            let mut r = Reader::new(&bytes);
            while r.vec8().is_some() {}
            let _ = (r.be24(), r.vec16(), r.take(at));
        }
    }
}
