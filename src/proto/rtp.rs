//! RTP packets (RFC 3550 §5) and telephone events (RFC 4733 §2.3).
//!
//! Takes in: the payload of one UDP datagram (or one RFC 4571 frame), as untrusted bytes.
//! Produces: [`Packet`], a view borrowing those bytes, whose accessors read the fixed header, the CSRC list, the
//! header extension and the payload with padding removed; [`looks_like_rtp`], the cheap heuristic run on every UDP
//! payload; [`PayloadType`], the RFC 3551 registry; and [`Event`], an RFC 4733 telephone-event payload.
//! Does not: decrypt SRTP, parse RFC 8285 extension elements, decode codec payloads, or know about streams,
//! time or sequence numbers across packets (that is `correlate::rtp_stats`).
//!
//! No-panic contract: [`Packet::new_checked`] validates every length the accessors rely on (header, CSRC list,
//! extension, padding), so no accessor of a constructed [`Packet`] can panic or read out of range, whatever the
//! input bytes. Nothing here allocates.

use thiserror::Error;

use super::bytes::{be16, be32, byte};

/// Why bytes are not a well-formed RTP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum Error {
    /// The buffer ends before a part of the packet that the header announces.
    #[error("rtp {what} truncated: needs {needed} bytes, {available} available")]
    Truncated {
        what: &'static str,
        needed: usize,
        available: usize,
    },
    /// The version field is not 2 (RFC 3550 §5.1).
    #[error("rtp version {0} is not 2")]
    Version(u8),
    /// The padding count in the last octet is zero or larger than what follows the header.
    #[error("rtp padding count {count} does not fit the {available} bytes after the header")]
    Padding { count: u8, available: usize },
}

mod field {
    pub type Field = core::ops::Range<usize>;
    /// V(2) P(1) X(1) CC(4).
    pub const FLAGS: usize = 0;
    /// M(1) PT(7).
    pub const MARKER_PT: usize = 1;
    pub const SEQUENCE: Field = 2..4;
    pub const TIMESTAMP: Field = 4..8;
    pub const SSRC: Field = 8..12;
    pub const HEADER_LEN: usize = 12;
    /// Extension header: 16-bit profile-defined id, 16-bit length in 32-bit words (RFC 3550 §5.3.1).
    pub const EXT_HEADER_LEN: usize = 4;
}

/// RTP payload type (RFC 3551 §6); unknown and dynamic values are kept as they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PayloadType(pub u8);

impl PayloadType {
    pub const PCMU: Self = Self(0);
    pub const GSM: Self = Self(3);
    pub const G723: Self = Self(4);
    pub const DVI4_8000: Self = Self(5);
    pub const DVI4_16000: Self = Self(6);
    pub const LPC: Self = Self(7);
    pub const PCMA: Self = Self(8);
    pub const G722: Self = Self(9);
    pub const L16_STEREO: Self = Self(10);
    pub const L16_MONO: Self = Self(11);
    pub const QCELP: Self = Self(12);
    pub const CN: Self = Self(13);
    pub const MPA: Self = Self(14);
    pub const G728: Self = Self(15);
    pub const DVI4_11025: Self = Self(16);
    pub const DVI4_22050: Self = Self(17);
    pub const G729: Self = Self(18);
    /// Comfort noise under its pre-RFC 3389 number; RFC 3551 marks 19 reserved, but old gear still sends it.
    pub const CN_OLD: Self = Self(19);
    pub const CELB: Self = Self(25);
    pub const JPEG: Self = Self(26);
    pub const NV: Self = Self(28);
    pub const H261: Self = Self(31);
    pub const MPV: Self = Self(32);
    pub const MP2T: Self = Self(33);
    pub const H263: Self = Self(34);

    /// First dynamic payload type (RFC 3551 §3).
    pub const DYNAMIC_START: u8 = 96;

    /// True for 96..=127, whose meaning only the SDP `a=rtpmap` gives.
    pub fn is_dynamic(self) -> bool {
        self.0 >= Self::DYNAMIC_START
    }

    /// True for comfort noise (13, or the legacy 19).
    pub fn is_comfort_noise(self) -> bool {
        self == Self::CN || self == Self::CN_OLD
    }

    /// RTP clock rate of a static payload type (RFC 3551 tables 4 and 5), `None` for dynamic and unassigned ones.
    ///
    /// Types 1, 2 and 19 are reserved in RFC 3551; they were 1016, G721 and CN at 8000 Hz in RFC 1890 and are still
    /// seen, so they keep that rate (Wireshark does the same). G.722 uses 8000 Hz although it samples at 16 kHz
    /// (RFC 3551 §4.5.2).
    pub fn static_clock_rate(self) -> Option<u32> {
        match self.0 {
            0..=5 | 7..=9 | 12 | 13 | 15 | 18 | 19 => Some(8000),
            6 => Some(16000),
            10 | 11 => Some(44100),
            16 => Some(11025),
            17 => Some(22050),
            14 | 25 | 26 | 28 | 31..=34 => Some(90000),
            _ => None,
        }
    }

    /// Encoding name of a static payload type as SDP spells it (RFC 3551 §6), `None` otherwise.
    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0 => "PCMU",
            3 => "GSM",
            4 => "G723",
            5..=6 | 16..=17 => "DVI4",
            7 => "LPC",
            8 => "PCMA",
            9 => "G722",
            10 | 11 => "L16",
            12 => "QCELP",
            13 | 19 => "CN",
            14 => "MPA",
            15 => "G728",
            18 => "G729",
            25 => "CelB",
            26 => "JPEG",
            28 => "nv",
            31 => "H261",
            32 => "MPV",
            33 => "MP2T",
            34 => "H263",
            _ => return None,
        })
    }
}

/// The RFC 3550 §5.3.1 header extension: a profile-defined id and the extension words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extension<'a> {
    /// "defined by profile" id; 0xBEDE and 0x100x mean RFC 8285 one-byte / two-byte elements.
    pub profile: u16,
    /// The extension data (length field × 4 bytes), without the 4-byte extension header.
    pub data: &'a [u8],
}

/// A view of one RTP packet over borrowed bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<'a> {
    buf: &'a [u8],
    /// Offset of the payload (after CSRCs and extension); validated `<= payload_end`.
    payload_start: usize,
    /// End of the payload (padding removed); validated `<= buf.len()`.
    payload_end: usize,
}

/// Computes (payload_start, payload_end) or says why the bytes are no RTP packet; shared by the view and the
/// heuristic so both apply exactly the same rules.
fn layout(buf: &[u8]) -> Result<(usize, usize), Error> {
    let len = buf.len();
    if len < field::HEADER_LEN {
        return Err(Error::Truncated {
            what: "fixed header",
            needed: field::HEADER_LEN,
            available: len,
        });
    }
    let flags = byte(buf, field::FLAGS);
    let version = flags >> 6;
    if version != 2 {
        return Err(Error::Version(version));
    }
    let csrc_count = usize::from(flags & 0x0f);
    let mut start = field::HEADER_LEN + 4 * csrc_count;
    if len < start {
        return Err(Error::Truncated {
            what: "csrc list",
            needed: start,
            available: len,
        });
    }
    if flags & 0x10 != 0 {
        let ext_data = start + field::EXT_HEADER_LEN;
        if len < ext_data {
            return Err(Error::Truncated {
                what: "extension header",
                needed: ext_data,
                available: len,
            });
        }
        let words = usize::from(be16(buf, start + 2));
        start = ext_data + 4 * words;
        if len < start {
            return Err(Error::Truncated {
                what: "extension",
                needed: start,
                available: len,
            });
        }
    }
    let mut end = len;
    if flags & 0x20 != 0 {
        // RFC 3550 §5.1: the last octet counts the padding octets including itself, so 0 is invalid.
        let count = byte(buf, len - 1);
        let available = len - start;
        if count == 0 || usize::from(count) > available {
            return Err(Error::Padding { count, available });
        }
        end = len - usize::from(count);
    }
    Ok((start, end))
}

impl<'a> Packet<'a> {
    /// Validates `buf` as an RTP packet and returns the view.
    pub fn new_checked(buf: &'a [u8]) -> Result<Self, Error> {
        let (payload_start, payload_end) = layout(buf)?;
        Ok(Self {
            buf,
            payload_start,
            payload_end,
        })
    }

    /// The whole packet as given.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.buf
    }

    /// Always 2 for a constructed packet.
    pub fn version(&self) -> u8 {
        byte(self.buf, field::FLAGS) >> 6
    }

    pub fn padding(&self) -> bool {
        byte(self.buf, field::FLAGS) & 0x20 != 0
    }

    pub fn extension_bit(&self) -> bool {
        byte(self.buf, field::FLAGS) & 0x10 != 0
    }

    pub fn csrc_count(&self) -> u8 {
        byte(self.buf, field::FLAGS) & 0x0f
    }

    pub fn marker(&self) -> bool {
        byte(self.buf, field::MARKER_PT) & 0x80 != 0
    }

    pub fn payload_type(&self) -> PayloadType {
        PayloadType(byte(self.buf, field::MARKER_PT) & 0x7f)
    }

    pub fn sequence(&self) -> u16 {
        be16(self.buf, field::SEQUENCE.start)
    }

    pub fn timestamp(&self) -> u32 {
        be32(self.buf, field::TIMESTAMP.start)
    }

    pub fn ssrc(&self) -> u32 {
        be32(self.buf, field::SSRC.start)
    }

    /// The contributing sources (RFC 3550 §5.1), in header order.
    pub fn csrcs(&self) -> impl Iterator<Item = u32> + 'a {
        let end = field::HEADER_LEN + 4 * usize::from(self.csrc_count());
        self.buf
            .get(field::HEADER_LEN..end)
            .unwrap_or(&[])
            .chunks_exact(4)
            .map(|c| be32(c, 0))
    }

    /// The header extension when the X bit is set.
    pub fn extension(&self) -> Option<Extension<'a>> {
        if !self.extension_bit() {
            return None;
        }
        let at = field::HEADER_LEN + 4 * usize::from(self.csrc_count());
        let data = self
            .buf
            .get(at + field::EXT_HEADER_LEN..self.payload_start)?;
        Some(Extension {
            profile: be16(self.buf, at),
            data,
        })
    }

    /// The payload, after CSRCs and extension, with padding removed.
    pub fn payload(&self) -> &'a [u8] {
        self.buf
            .get(self.payload_start..self.payload_end)
            .unwrap_or(&[])
    }

    /// Number of padding octets (0 without the P bit).
    pub fn padding_len(&self) -> usize {
        self.buf.len().saturating_sub(self.payload_end)
    }
}

/// Cheap test run on every UDP payload: does this look like RTP rather than RTCP, STUN or anything else?
///
/// Requires version 2, a consistent CSRC count / extension / padding (see [`Packet::new_checked`]) and a payload
/// type outside 72..=76: those values are RTCP SR/RR/SDES/BYE/APP (200..=204) with the top bit read as the marker,
/// which is how RTCP multiplexed on the RTP port is told apart (RFC 5761 §4). Zero allocation.
pub fn looks_like_rtp(buf: &[u8]) -> bool {
    if layout(buf).is_err() {
        return false;
    }
    !(72..=76).contains(&(byte(buf, field::MARKER_PT) & 0x7f))
}

/// A telephone-event payload (RFC 4733 §2.3): DTMF digits and other line events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event {
    /// Event code (RFC 4733 §3.2: 0–9 digits, 10 `*`, 11 `#`, 12–15 A–D, 16 flash).
    pub event: u8,
    /// E bit: this packet ends the event.
    pub end: bool,
    /// Power level in −dBm0 (0..=63); meaningful for DTMF only.
    pub volume: u8,
    /// Duration so far in timestamp units.
    pub duration: u16,
}

impl Event {
    /// Parses the first 4 bytes of a telephone-event payload (RFC 4733 §2.3; redundant blocks are not used).
    pub fn parse(payload: &[u8]) -> Result<Self, Error> {
        match payload.get(0..4) {
            Some(&[event, flags, d0, d1]) => Ok(Self {
                event,
                end: flags & 0x80 != 0,
                volume: flags & 0x3f,
                duration: u16::from_be_bytes([d0, d1]),
            }),
            _ => Err(Error::Truncated {
                what: "telephone-event payload",
                needed: 4,
                available: payload.len(),
            }),
        }
    }

    /// The DTMF symbol of events 0..=16 (RFC 4733 §3.2), `None` for other events.
    pub fn dtmf_symbol(&self) -> Option<char> {
        Some(match self.event {
            0..=9 => char::from(b'0' + self.event),
            10 => '*',
            11 => '#',
            12..=15 => char::from(b'A' + (self.event - 12)),
            16 => '!',
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// PCMU, marker, seq 0x1234, ts 0x00000a0, SSRC 0xdeadbeef, 4 bytes payload.
    const SIMPLE: &[u8] = &[
        0x80, 0x80, 0x12, 0x34, 0x00, 0x00, 0x00, 0xa0, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4,
    ];

    /// P, X, CC=1, PT 101; CSRC 0x01020304; extension 0xBEDE with 1 word; payload 2 bytes; padding 2.
    const FULL: &[u8] = &[
        0xb1, 0x65, 0x00, 0x01, 0x00, 0x00, 0x01, 0x00, 0x11, 0x22, 0x33,
        0x44, // fixed header
        0x01, 0x02, 0x03, 0x04, // CSRC
        0xbe, 0xde, 0x00, 0x01, 0x10, 0xaa, 0x00, 0x00, // extension
        0x09, 0x8a, // payload
        0x00, 0x02, // padding
    ];

    #[test]
    fn parses_simple_packet() {
        let p = Packet::new_checked(SIMPLE).expect("valid");
        assert_eq!(p.version(), 2);
        assert!(p.marker());
        assert_eq!(p.payload_type(), PayloadType::PCMU);
        assert_eq!(p.sequence(), 0x1234);
        assert_eq!(p.timestamp(), 0xa0);
        assert_eq!(p.ssrc(), 0xdead_beef);
        assert_eq!(p.payload(), &[1, 2, 3, 4]);
        assert_eq!(p.csrcs().count(), 0);
        assert!(p.extension().is_none());
        assert!(looks_like_rtp(SIMPLE));
    }

    #[test]
    fn parses_csrc_extension_padding() {
        let p = Packet::new_checked(FULL).expect("valid");
        assert!(p.padding() && p.extension_bit());
        assert_eq!(p.csrc_count(), 1);
        assert_eq!(p.csrcs().collect::<Vec<_>>(), vec![0x0102_0304]);
        let ext = p.extension().expect("extension");
        assert_eq!(ext.profile, 0xbede);
        assert_eq!(ext.data, &[0x10, 0xaa, 0, 0]);
        assert_eq!(p.payload(), &[0x09, 0x8a]);
        assert_eq!(p.padding_len(), 2);
        assert_eq!(p.payload_type(), PayloadType(101));
        assert!(p.payload_type().is_dynamic());
    }

    #[test]
    fn rejects_bad_version_and_lengths() {
        let mut v1 = SIMPLE.to_vec();
        v1[0] = 0x40;
        assert_eq!(Packet::new_checked(&v1), Err(Error::Version(1)));
        let mut cc = SIMPLE.to_vec();
        cc[0] = 0x82; // two CSRCs need 20 bytes, 16 available
        assert_eq!(
            Packet::new_checked(&cc),
            Err(Error::Truncated {
                what: "csrc list",
                needed: 20,
                available: 16
            })
        );
        let mut pad = SIMPLE.to_vec();
        pad[0] = 0xa0;
        pad[15] = 5; // 5 padding bytes but only 4 after the header
        assert_eq!(
            Packet::new_checked(&pad),
            Err(Error::Padding {
                count: 5,
                available: 4
            })
        );
        pad[15] = 0;
        assert!(Packet::new_checked(&pad).is_err());
        let mut ext = SIMPLE.to_vec();
        ext[0] = 0x90;
        ext[14] = 0;
        ext[15] = 9;
        assert!(matches!(
            Packet::new_checked(&ext),
            Err(Error::Truncated {
                what: "extension",
                ..
            })
        ));
    }

    #[test]
    fn rtcp_is_not_rtp() {
        // RTCP RR header: V=2, RC=1, PT=201, length 7.
        let rr = [
            0x81, 0xc9, 0x00, 0x07, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
        ];
        assert!(!looks_like_rtp(&rr));
        assert!(!looks_like_rtp(&SIMPLE[..11]));
        // STUN binding request starts with 0x00 0x01: version 0.
        assert!(!looks_like_rtp(&[
            0, 1, 0, 0, 0x21, 0x12, 0xa4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12
        ]));
    }

    #[test]
    fn payload_type_registry() {
        assert_eq!(PayloadType::PCMA.static_clock_rate(), Some(8000));
        assert_eq!(PayloadType::G722.static_clock_rate(), Some(8000));
        assert_eq!(PayloadType::DVI4_16000.static_clock_rate(), Some(16000));
        assert_eq!(PayloadType::L16_MONO.static_clock_rate(), Some(44100));
        assert_eq!(PayloadType::H263.static_clock_rate(), Some(90000));
        assert_eq!(PayloadType(96).static_clock_rate(), None);
        assert_eq!(PayloadType(20).static_clock_rate(), None);
        assert_eq!(PayloadType::G729.name(), Some("G729"));
        assert_eq!(PayloadType(111).name(), None);
        assert!(PayloadType::CN_OLD.is_comfort_noise());
    }

    #[test]
    fn parses_event() {
        let e = Event::parse(&[11, 0x8a, 0x03, 0x20]).expect("valid");
        assert_eq!(
            e,
            Event {
                event: 11,
                end: true,
                volume: 10,
                duration: 800
            }
        );
        assert_eq!(e.dtmf_symbol(), Some('#'));
        assert_eq!(
            Event::parse(&[5, 0, 0, 0]).expect("valid").dtmf_symbol(),
            Some('5')
        );
        assert!(Event::parse(&[1, 2, 3]).is_err());
    }

    #[test]
    fn truncated_at_every_prefix_never_panics() {
        for buf in [SIMPLE, FULL] {
            for n in 0..=buf.len() {
                let prefix = &buf[..n];
                if let Ok(p) = Packet::new_checked(prefix) {
                    let _ = (p.payload(), p.extension(), p.csrcs().count(), p.ssrc());
                }
                let _ = looks_like_rtp(prefix);
                let _ = Event::parse(prefix);
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(buf in proptest::collection::vec(proptest::num::u8::ANY, 0..96)) {
            if let Ok(p) = Packet::new_checked(&buf) {
                proptest::prop_assert!(p.payload().len() + p.padding_len() <= buf.len());
                let _ = (p.extension(), p.csrcs().count(), p.timestamp(), p.sequence());
                proptest::prop_assert!(looks_like_rtp(&buf) || (72..=76).contains(&p.payload_type().0));
            }
            let _ = Event::parse(&buf);
        }
    }
}
