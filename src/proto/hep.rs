//! HEP, Homer's encapsulation of captured packets (versions 1, 2 and 3) as proxies, SBCs and capture
//! agents send it to a collector (kamailio `siptrace`, opensips `proto_hep`, heplify, captagent).
//!
//! Takes in: one UDP payload, or a TCP payload holding back-to-back HEP3 packets, as untrusted bytes.
//! Produces: [`Packet`], a view of one HEP packet: the address family, IP protocol, source and
//! destination address and port, the capture time (seconds and microseconds), the capture protocol
//! type ([`ProtoType`]), the capture agent id, the correlation id and the encapsulated payload;
//! [`packets`] walks back-to-back HEP3 packets; [`looks_like_hep3`] for classification.
//! Does not: decompress a gzip payload chunk (it is reported as [`Packet::compressed`]), check the
//! authentication key, or interpret vendor chunks (skipped).
//!
//! Formats (sipcapture's HEP specification): HEP3 is `HEP3`, a 16-bit total length, then chunks of
//! vendor id (16 bits), type id (16 bits), length (16 bits, header included) and data, all in
//! network byte order; generic chunks (vendor 0) are 1 family, 2 IP protocol, 3/4 IPv4 source and
//! destination, 5/6 IPv6 source and destination, 7/8 ports, 9 seconds, 10 microseconds, 11
//! protocol type, 12 capture agent id, 14 authentication key, 15 payload, 16 compressed payload,
//! 17 correlation id. HEP1/2 is a binary header: version (1 or 2), header length, family, IP
//! protocol, ports (network order), the two addresses; version 2 adds seconds, microseconds (both
//! little-endian, as kamailio and captagent write them) and a 16-bit capture id, which senders
//! pad to 12 bytes in all (the padding is recognised as two zero bytes before the payload).
//!
//! No-panic contract: every read is bounds-checked; a chunk or header that runs past the packet is
//! an [`enum@Error`]. Nothing allocates.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use thiserror::Error;

use super::bytes::{be16, be32, byte};

/// Why bytes are not a HEP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum Error {
    #[error("hep {what} truncated: needs {needed} bytes, {available} available")]
    Truncated {
        what: &'static str,
        needed: usize,
        available: usize,
    },
    /// Neither `HEP3` nor a version 1 or 2 header.
    #[error("not a hep packet")]
    NotHep,
    /// A HEP3 total length shorter than its own header.
    #[error("hep3 total length {0} is shorter than the 6-byte header")]
    BadLength(u16),
    /// A chunk length shorter than the chunk header, or running past the packet.
    #[error("hep3 chunk 0x{kind:04x} at offset {offset} has a bad length {length}")]
    BadChunk {
        kind: u16,
        offset: usize,
        length: u16,
    },
    /// A HEP1/2 header length or family that does not fit the addresses.
    #[error("hep{version} header length {length} does not fit address family {family}")]
    BadHeader { version: u8, length: u8, family: u8 },
}

/// The capture protocol type of a HEP packet (HEP3 chunk 11); unknown values are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProtoType(pub u8);

impl ProtoType {
    pub const SIP: Self = Self(0x01);
    pub const RTP: Self = Self(0x04);
    /// RTCP reports as JSON (rtpengine, captagent).
    pub const RTCP_JSON: Self = Self(0x05);
    /// Log lines (kamailio `hlog`, heplify).
    pub const LOG: Self = Self(0x64);

    /// A short name for counts: `sip`, `rtp`, `rtcp`, `log` or `other`.
    pub fn name(self) -> &'static str {
        match self {
            Self::SIP => "sip",
            Self::RTP => "rtp",
            Self::RTCP_JSON => "rtcp",
            Self::LOG => "log",
            _ => "other",
        }
    }
}

/// Address families as HEP carries them (the sender's `AF_INET` / `AF_INET6`; Linux values).
const AF_INET: u8 = 2;
const AF_INET6: u8 = 10;

/// One HEP packet; absent fields are `None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Packet<'a> {
    /// 1, 2 or 3.
    pub version: u8,
    /// The IP protocol the encapsulated packet travelled on (17 UDP, 6 TCP; kamailio sends 22 for
    /// TLS and WebSocket).
    pub ip_proto: Option<u8>,
    pub src: Option<IpAddr>,
    pub dst: Option<IpAddr>,
    /// Where the source and destination address bytes are in the packet (4 or 16 of them), for a
    /// rewriter that must keep the layout.
    pub src_at: Option<usize>,
    pub dst_at: Option<usize>,
    pub src_port: Option<u16>,
    pub dst_port: Option<u16>,
    /// Capture time: seconds since the Unix epoch, and microseconds.
    pub ts_sec: Option<u32>,
    pub ts_usec: Option<u32>,
    /// What the payload is (HEP3 only; HEP1/2 carry SIP).
    pub proto_type: Option<ProtoType>,
    pub capture_id: Option<u32>,
    /// Kamailio sets it to the Call-ID; log chunks carry it to tie them to a call.
    pub correlation_id: Option<&'a [u8]>,
    /// The encapsulated payload (for SIP, the whole message).
    pub payload: Option<&'a [u8]>,
    /// The payload came in a compressed chunk (16), which is not decompressed.
    pub compressed: bool,
}

impl Packet<'_> {
    /// The capture time in ns since the Unix epoch, when the packet carries one.
    pub fn ts_ns(&self) -> Option<i64> {
        let sec = i64::from(self.ts_sec?);
        let usec = i64::from(self.ts_usec.unwrap_or(0).min(999_999));
        Some(sec * 1_000_000_000 + usec * 1000)
    }

    /// What the payload is: the HEP3 protocol type, SIP for HEP1/2 (which carry nothing else).
    pub fn kind(&self) -> ProtoType {
        self.proto_type.unwrap_or(if self.version < 3 {
            ProtoType::SIP
        } else {
            ProtoType(0)
        })
    }
}

/// Whether a payload starts like a HEP3 packet: `HEP3` and a total length that fits.
pub fn looks_like_hep3(bytes: &[u8]) -> bool {
    bytes.starts_with(b"HEP3") && usize::from(be16(bytes, 4)) >= 6 && bytes.len() >= 6
}

/// Parses the HEP packet at the start of `bytes` (HEP3, or a version 1 or 2 header); returns it
/// and the bytes it took (a HEP3 packet's total length; all of `bytes` for HEP1/2, which have no
/// length of their own).
pub fn parse(bytes: &[u8]) -> Result<(Packet<'_>, usize), Error> {
    if bytes.starts_with(b"HEP3") {
        return parse_v3(bytes);
    }
    match byte(bytes, 0) {
        1 | 2 => parse_v2(bytes),
        _ => Err(Error::NotHep),
    }
}

/// A HEP3 packet.
fn parse_v3(bytes: &[u8]) -> Result<(Packet<'_>, usize), Error> {
    if bytes.len() < 6 {
        return Err(Error::Truncated {
            what: "header",
            needed: 6,
            available: bytes.len(),
        });
    }
    let total = be16(bytes, 4);
    if total < 6 {
        return Err(Error::BadLength(total));
    }
    let packet = bytes.get(..usize::from(total)).ok_or(Error::Truncated {
        what: "packet",
        needed: usize::from(total),
        available: bytes.len(),
    })?;
    let mut p = Packet {
        version: 3,
        ..Packet::default()
    };
    let mut at = 6;
    while at < packet.len() {
        let (vendor, kind, length) = (be16(packet, at), be16(packet, at + 2), be16(packet, at + 4));
        if at + 6 > packet.len() || length < 6 || at + usize::from(length) > packet.len() {
            return Err(Error::BadChunk {
                kind,
                offset: at,
                length,
            });
        }
        let data = &packet[at + 6..at + usize::from(length)];
        if vendor == 0 {
            apply_chunk(&mut p, kind, data);
            match (kind, data.len()) {
                (0x0003, 4) | (0x0005, 16) => p.src_at = Some(at + 6),
                (0x0004, 4) | (0x0006, 16) => p.dst_at = Some(at + 6),
                _ => {}
            }
        }
        at += usize::from(length);
    }
    Ok((p, packet.len()))
}

/// Applies one generic chunk; a chunk of the wrong size for its type is ignored.
fn apply_chunk<'a>(p: &mut Packet<'a>, kind: u16, data: &'a [u8]) {
    let u8_ = || (data.len() == 1).then(|| data[0]);
    let u16_ = || (data.len() == 2).then(|| be16(data, 0));
    let u32_ = || (data.len() == 4).then(|| be32(data, 0));
    let v4 = || {
        <[u8; 4]>::try_from(data)
            .ok()
            .map(|a| IpAddr::V4(Ipv4Addr::from(a)))
    };
    let v6 = || {
        <[u8; 16]>::try_from(data)
            .ok()
            .map(|a| IpAddr::V6(Ipv6Addr::from(a)))
    };
    match kind {
        0x0002 => p.ip_proto = u8_(),
        0x0003 | 0x0005 => p.src = if kind == 3 { v4() } else { v6() },
        0x0004 | 0x0006 => p.dst = if kind == 4 { v4() } else { v6() },
        0x0007 => p.src_port = u16_(),
        0x0008 => p.dst_port = u16_(),
        0x0009 => p.ts_sec = u32_(),
        0x000a => p.ts_usec = u32_(),
        0x000b => p.proto_type = u8_().map(ProtoType),
        // Some senders write the capture id in 16 bits.
        0x000c => p.capture_id = u32_().or_else(|| u16_().map(u32::from)),
        0x000f => p.payload = Some(data),
        0x0010 => {
            p.payload = Some(data);
            p.compressed = true;
        }
        0x0011 => p.correlation_id = Some(data),
        // 1 (family: implied by the address chunks), 13 keep-alive, 14 authentication key, and
        // the rest carry nothing callscope uses.
        _ => {}
    }
}

/// A HEP1/2 packet: the binary header, then (version 2) the time header, then the payload.
fn parse_v2(bytes: &[u8]) -> Result<(Packet<'_>, usize), Error> {
    let version = byte(bytes, 0);
    if bytes.len() < 8 {
        return Err(Error::Truncated {
            what: "header",
            needed: 8,
            available: bytes.len(),
        });
    }
    let (length, family, proto) = (bytes[1], bytes[2], bytes[3]);
    let addr_len = match (family, length) {
        (AF_INET, 16) => 4,
        (AF_INET6, 40) => 16,
        _ => {
            return Err(Error::BadHeader {
                version,
                length,
                family,
            })
        }
    };
    let header = usize::from(length);
    let time = if version == 2 { 10 } else { 0 };
    if bytes.len() < header + time {
        return Err(Error::Truncated {
            what: "header",
            needed: header + time,
            available: bytes.len(),
        });
    }
    let addr = |at: usize| -> IpAddr {
        if addr_len == 4 {
            IpAddr::V4(Ipv4Addr::new(
                bytes[at],
                bytes[at + 1],
                bytes[at + 2],
                bytes[at + 3],
            ))
        } else {
            let mut a = [0u8; 16];
            a.copy_from_slice(&bytes[at..at + 16]);
            IpAddr::V6(Ipv6Addr::from(a))
        }
    };
    let le32 =
        |at: usize| u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
    let mut p = Packet {
        version,
        ip_proto: Some(proto),
        src: Some(addr(8)),
        dst: Some(addr(8 + addr_len)),
        src_at: Some(8),
        dst_at: Some(8 + addr_len),
        src_port: Some(be16(bytes, 4)),
        dst_port: Some(be16(bytes, 6)),
        ..Packet::default()
    };
    let mut body = header;
    if version == 2 {
        p.ts_sec = Some(le32(header));
        p.ts_usec = Some(le32(header + 4));
        p.capture_id = Some(u32::from(u16::from_le_bytes([
            bytes[header + 8],
            bytes[header + 9],
        ])));
        body += time;
        // The C structure of the time header is padded to 12 bytes; a payload never starts NUL.
        if bytes.get(body..body + 2) == Some(&[0, 0]) {
            body += 2;
        }
    }
    p.payload = Some(&bytes[body..]);
    Ok((p, bytes.len()))
}

/// Back-to-back HEP3 packets (a TCP feed); stops at the first that does not parse, and says how
/// many bytes were left over.
pub fn packets(bytes: &[u8]) -> Packets<'_> {
    Packets { rest: bytes }
}

/// Iterator of [`packets`].
#[derive(Debug, Clone)]
pub struct Packets<'a> {
    rest: &'a [u8],
}

impl<'a> Packets<'a> {
    /// The bytes after the last packet read (a packet cut by the segment's end, or garbage).
    pub fn rest(&self) -> &'a [u8] {
        self.rest
    }
}

impl<'a> Iterator for Packets<'a> {
    type Item = Packet<'a>;

    fn next(&mut self) -> Option<Packet<'a>> {
        if !self.rest.starts_with(b"HEP3") {
            return None;
        }
        let (packet, used) = parse_v3(self.rest).ok()?;
        // A total length of at least 6 was checked: the walk advances.
        self.rest = &self.rest[used..];
        Some(packet)
    }
}

/// HEP3 packet builders for tests (here and in the rewriters of `export`).
#[cfg(test)]
pub(crate) mod testkit {
    /// A generic chunk (vendor 0) of type `kind`.
    pub(crate) fn chunk(kind: u16, data: &[u8]) -> Vec<u8> {
        let mut c = vec![0, 0];
        c.extend_from_slice(&kind.to_be_bytes());
        c.extend_from_slice(&(6 + data.len() as u16).to_be_bytes());
        c.extend_from_slice(data);
        c
    }

    /// A HEP3 packet of these chunks.
    pub(crate) fn hep3(chunks: &[Vec<u8>]) -> Vec<u8> {
        let body: Vec<u8> = chunks.concat();
        let mut p = b"HEP3".to_vec();
        p.extend_from_slice(&(6 + body.len() as u16).to_be_bytes());
        p.extend(body);
        p
    }
}

#[cfg(test)]
mod tests {
    use super::testkit::{chunk, hep3};
    use super::*;
    use proptest::prelude::*;

    const SIP: &[u8] = b"OPTIONS sip:a SIP/2.0\r\nCall-ID: x\r\n\r\n";

    /// A HEP3 packet as kamailio's siptrace sends it (IPv4, UDP, SIP).
    fn kamailio_v4() -> Vec<u8> {
        hep3(&[
            chunk(1, &[2]),
            chunk(2, &[17]),
            chunk(3, &[192, 0, 2, 10]),
            chunk(4, &[192, 0, 2, 20]),
            chunk(7, &5060u16.to_be_bytes()),
            chunk(8, &5060u16.to_be_bytes()),
            chunk(9, &1_795_675_207u32.to_be_bytes()),
            chunk(10, &159_199u32.to_be_bytes()),
            chunk(11, &[1]),
            chunk(12, &2001u32.to_be_bytes()),
            chunk(17, b"call-1"),
            vec![0, 9, 0, 1, 0, 7, 0xff], // a vendor chunk: skipped
            chunk(15, SIP),
        ])
    }

    #[test]
    fn hep3_fields() {
        let bytes = kamailio_v4();
        assert!(looks_like_hep3(&bytes));
        let (p, used) = parse(&bytes).expect("a HEP3 packet");
        assert_eq!(used, bytes.len());
        assert_eq!(
            (p.src, p.dst, p.src_port, p.dst_port),
            (
                Some("192.0.2.10".parse().unwrap()),
                Some("192.0.2.20".parse().unwrap()),
                Some(5060),
                Some(5060)
            )
        );
        assert_eq!(p.ts_ns(), Some(1_795_675_207_159_199_000));
        assert_eq!(
            (p.ip_proto, p.kind(), p.capture_id),
            (Some(17), ProtoType::SIP, Some(2001))
        );
        assert_eq!(
            (p.payload, p.correlation_id),
            (Some(SIP), Some(&b"call-1"[..]))
        );
        assert!(!p.compressed);
        let at = p.src_at.expect("a source address");
        assert_eq!(&bytes[at..at + 4], &[192, 0, 2, 10]);
        let at = p.dst_at.expect("a destination address");
        assert_eq!(&bytes[at..at + 4], &[192, 0, 2, 20]);
    }

    #[test]
    fn hep3_ipv6_and_kinds() {
        let a6 = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
        let p = hep3(&[
            chunk(5, &a6),
            chunk(6, &a6),
            chunk(11, &[0x64]),
            chunk(16, b"\x1f\x8b"),
        ]);
        let (p, _) = parse(&p).expect("a HEP3 packet");
        assert_eq!(p.src, Some(IpAddr::V6(Ipv6Addr::from(a6))));
        assert_eq!(p.kind().name(), "log");
        assert!(p.compressed);
        assert_eq!(ProtoType::RTCP_JSON.name(), "rtcp");
        assert_eq!(ProtoType(0x22).name(), "other");
        // A chunk of the wrong size for its type is ignored, not misread.
        let odd = hep3(&[chunk(3, &[1, 2, 3]), chunk(9, &[1])]);
        let (p, _) = parse(&odd).expect("a packet");
        assert_eq!((p.src, p.ts_sec, p.ts_ns()), (None, None, None));
    }

    #[test]
    fn hep3_damage() {
        let good = kamailio_v4();
        assert_eq!(parse(b"HEP3\x00\x03"), Err(Error::BadLength(3)));
        assert!(matches!(
            parse(&good[..good.len() - 1]),
            Err(Error::Truncated { what: "packet", .. })
        ));
        // A chunk claiming more than the packet holds.
        let mut bad = good.clone();
        bad[6 + 4..6 + 6].copy_from_slice(&200u16.to_be_bytes());
        assert!(matches!(
            parse(&bad),
            Err(Error::BadChunk {
                kind: 1,
                offset: 6,
                length: 200
            })
        ));
        // A chunk length below its header.
        bad[6 + 4..6 + 6].copy_from_slice(&5u16.to_be_bytes());
        assert!(matches!(
            parse(&bad),
            Err(Error::BadChunk { length: 5, .. })
        ));
        assert_eq!(parse(b"GET / HTTP/1.1"), Err(Error::NotHep));
    }

    #[test]
    fn back_to_back_packets_and_the_rest() {
        let one = kamailio_v4();
        let mut stream = [one.clone(), one.clone()].concat();
        stream.extend_from_slice(&one[..20]);
        let mut it = packets(&stream);
        assert_eq!(it.by_ref().count(), 2);
        assert_eq!(it.rest(), &one[..20]);
    }

    /// A HEP2 packet as kamailio writes it (IPv4: 16-byte header, 12-byte time header).
    fn kamailio_v2(version: u8, pad: bool) -> Vec<u8> {
        let mut p = vec![version, 16, 2, 17];
        p.extend_from_slice(&5060u16.to_be_bytes());
        p.extend_from_slice(&5080u16.to_be_bytes());
        p.extend_from_slice(&[192, 0, 2, 10, 192, 0, 2, 20]);
        if version == 2 {
            p.extend_from_slice(&1_795_675_207u32.to_le_bytes());
            p.extend_from_slice(&159_199u32.to_le_bytes());
            p.extend_from_slice(&7u16.to_le_bytes());
            if pad {
                p.extend_from_slice(&[0, 0]);
            }
        }
        p.extend_from_slice(SIP);
        p
    }

    #[test]
    fn hep2_and_hep1() {
        for pad in [true, false] {
            let v2 = kamailio_v2(2, pad);
            let (p, _) = parse(&v2).expect("a HEP2 packet");
            assert_eq!(p.payload, Some(SIP), "padded {pad}");
            assert_eq!(
                (p.src_port, p.dst_port, p.capture_id),
                (Some(5060), Some(5080), Some(7))
            );
            assert_eq!(p.ts_ns(), Some(1_795_675_207_159_199_000));
            assert_eq!(p.kind(), ProtoType::SIP);
            assert_eq!((p.src_at, p.dst_at), (Some(8), Some(12)));
        }
        let v1 = kamailio_v2(1, false);
        let (p, _) = parse(&v1).expect("a HEP1 packet");
        assert_eq!((p.version, p.ts_ns(), p.payload), (1, None, Some(SIP)));
        // A header length that does not match the family.
        let mut bad = kamailio_v2(2, true);
        bad[1] = 40;
        assert!(matches!(
            parse(&bad),
            Err(Error::BadHeader {
                length: 40,
                family: 2,
                ..
            })
        ));
        assert!(matches!(parse(&bad[..5]), Err(Error::Truncated { .. })));
    }

    #[test]
    fn every_prefix_is_an_error_or_a_packet_within_it() {
        for bytes in [kamailio_v4(), kamailio_v2(2, true)] {
            for n in 0..bytes.len() {
                if let Ok((p, used)) = parse(&bytes[..n]) {
                    assert!(used <= n);
                    assert!(p.payload.is_none_or(|pl| pl.len() <= n));
                }
            }
        }
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(data in prop::collection::vec(any::<u8>(), 0..300)) {
            if let Ok((p, used)) = parse(&data) {
                prop_assert!(used <= data.len());
                let _ = (p.ts_ns(), p.kind().name());
            }
            let mut it = packets(&data);
            for p in it.by_ref() {
                prop_assert!(p.payload.is_none_or(|pl| pl.len() <= data.len()));
            }
            prop_assert!(it.rest().len() <= data.len());
        }

        #[test]
        fn mutated_packets_never_panic(flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8)) {
            let mut f = kamailio_v4();
            for (at, b) in flips { let k = at.index(f.len()); f[k] = b; }
            let _ = parse(&f);
            let _ = packets(&f).count();
        }
    }
}
