//! IPv4 (RFC 791) and IPv6 (RFC 8200) headers, fragments, and the tunnels decoding removes:
//! IP-in-IP (RFC 2003, RFC 4213) and GRE (RFC 2784, RFC 2890, with ERSPAN payloads).
//!
//! Takes in: the bytes from an IP header's first byte (or a GRE header's) to the frame's end.
//! Produces: the [`Ip`] fields, an [`IpLayer`] per header in [`Layers`](super::Layers), a
//! [`Fragment`] for a packet that is not whole, and hands the payload to `transport` (or, for a
//! tunnel, back to [`Decoder::ip`] or to the link-layer framing of a bridged Ethernet frame).
//! Does not: verify header checksums, or look inside IPv4 options and IPv6 extension headers
//! beyond the Fragment header.

use std::net::{IpAddr, Ipv4Addr};

use etherparse::err::ip::{HeaderError as IpHeaderError, LaxHeaderSliceError};
use etherparse::err::ipv6_exts::{HeaderError as ExtHeaderError, HeaderSliceError};
use etherparse::{Ipv6ExtensionsSlice, Ipv6FragmentHeaderSlice, LaxIpSlice};

use super::link::{ether, ether_type};
use super::packet::{Decoder, IpLayer, Layer, Reason};
use super::transport::L4;
use super::{be16, proto};

/// Maximum number of nested tunnels (IP-in-IP, GRE) that [`decode`](super::decode) removes.
pub const MAX_TUNNELS: u8 = 2;

/// The fields of an IPv4 or IPv6 header that callscope uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ip {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// Protocol of the payload after IPv4 authentication / IPv6 extension headers, so 17 means
    /// UDP in both versions; for a fragment, the protocol of the fragmented payload (the IPv4
    /// protocol field, or the IPv6 Fragment header's next header).
    pub proto: u8,
    /// IPv4 time to live or IPv6 hop limit.
    pub ttl: u8,
}

/// One fragment of an IPv4 datagram (RFC 791) or IPv6 packet (RFC 8200 §4.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fragment<'a> {
    /// Identification (16 bits for IPv4, 32 for IPv6).
    pub id: u32,
    /// Offset of this fragment's data in the original payload, in bytes.
    pub offset: u32,
    /// More fragments follow.
    pub more: bool,
    /// Protocol of the reassembled payload.
    pub proto: u8,
    /// Fragment data (as captured; may be cut by the snapshot length).
    pub payload: &'a [u8],
}

/// The first Fragment header (RFC 8200 §4.5) among the IPv6 extension headers `exts`.
///
/// Walks the headers itself, bounds-checked, instead of with etherparse's
/// `Ipv6ExtensionSliceIter`: in etherparse 0.21 that iterator assumes the slice ends where a
/// non-extension next header begins, which lax slicing does not ensure (the slice stops early at
/// a header cut short, or at a Hop-by-Hop header that is not first), and then reads past the
/// slice's end (found by the `decode` fuzz target; see tests/fuzz_regressions/decode/).
pub(super) fn ipv6_fragment_header<'a>(
    exts: &Ipv6ExtensionsSlice<'a>,
) -> Option<Ipv6FragmentHeaderSlice<'a>> {
    let mut next = exts.first_header()?.0;
    let mut rest = exts.slice();
    loop {
        // Header lengths: RFC 8200 §4.3-4.6 (in 8-octet units, not counting the first 8) and
        // RFC 4302 §2.2 (AH, in 4-octet units, minus 2). Each step consumes at least 8 bytes.
        let len = match next {
            0 | 43 | 60 => (usize::from(*rest.get(1)?) + 1) * 8,
            44 => return Ipv6FragmentHeaderSlice::from_slice(rest).ok(),
            51 => (usize::from(*rest.get(1)?) + 2) * 4,
            _ => return None,
        };
        next = *rest.first()?;
        rest = rest.get(len..)?;
    }
}

/// IPv4's protocol number of the authentication header (RFC 4302), which `LaxIpSlice` reads past.
const AUTH: u8 = 51;

impl<'a> Decoder<'a, '_> {
    /// Decodes an IPv4 or IPv6 packet starting at `bytes[0]` and everything inside it.
    pub(super) fn ip(&mut self, bytes: &'a [u8]) {
        if !self.plain_ipv4(bytes) {
            self.ip_lax(bytes);
        }
    }

    /// The IPv4 header nearly every packet has, read directly: no options, not a fragment, no
    /// authentication header, and a total length within what was captured. This is what
    /// [`Decoder::ip_lax`] makes of such a header, field for field (a proptest holds the two
    /// equal), for a tenth of the instructions: the lax slicing took a third of an RTP packet's
    /// decoding. False, with nothing recorded, for any other header.
    fn plain_ipv4(&mut self, bytes: &'a [u8]) -> bool {
        let Some(h) = bytes.first_chunk::<20>() else {
            return false;
        };
        let [version_ihl, _, len_hi, len_lo, _, _, flags_hi, flags_lo, ttl, proto, ..] = *h;
        let total = usize::from(u16::from_be_bytes([len_hi, len_lo]));
        // More fragments, or a fragment offset: a fragment.
        let fragmenting = u16::from_be_bytes([flags_hi, flags_lo]) & 0x3fff != 0;
        if version_ihl != 0x45 || fragmenting || proto == AUTH || total < 20 {
            return false;
        }
        let Some(body) = bytes.get(20..total) else {
            return false;
        };
        let header = Ip {
            src: IpAddr::V4(Ipv4Addr::new(h[12], h[13], h[14], h[15])),
            dst: IpAddr::V4(Ipv4Addr::new(h[16], h[17], h[18], h[19])),
            proto,
            ttl,
        };
        self.record_ip(bytes, header, body, 4, false);
        self.transport(proto, body, 0);
        true
    }

    /// An IP header decoded: `header` becomes the packet's IP (the one before it its outer one)
    /// and its layer is recorded, from `bytes` (its first byte) to the end of `data` (its payload,
    /// or a fragment's data).
    fn record_ip(&mut self, bytes: &[u8], header: Ip, data: &[u8], version: u8, fragment: bool) {
        if self.pkt.ip.is_some() && self.pkt.outer.is_none() {
            self.pkt.outer = self.pkt.ip;
        }
        self.pkt.ip = Some(header);
        let (start, _) = self.span(bytes);
        let (payload, end) = self.span(data);
        self.pkt.layers.push_ip(IpLayer {
            start,
            payload,
            end,
            version,
            proto: header.proto,
            fragment,
        });
    }

    /// Decodes any IP header with etherparse's lax slicing (see [`Decoder::ip`]).
    fn ip_lax(&mut self, bytes: &'a [u8]) {
        let (ip, ext_err) = match LaxIpSlice::from_slice(bytes) {
            Ok(v) => v,
            Err(e) => {
                self.stop(Layer::Ip, bytes, ip_error_reason(e));
                return;
            }
        };
        let payload = ip.payload();
        // How many bytes the IP length field announces beyond what was captured.
        let incomplete = payload.incomplete;
        let (header, fragment) = match &ip {
            LaxIpSlice::Ipv4(v4) => {
                let h = v4.header();
                let header = Ip {
                    src: IpAddr::V4(h.source_addr()),
                    dst: IpAddr::V4(h.destination_addr()),
                    proto: payload.ip_number.0,
                    ttl: h.ttl(),
                };
                let fragment = if h.is_fragmenting_payload() {
                    // The fragment data starts right after the IPv4 header: an authentication
                    // header "parsed" from a non-first fragment would be payload bytes.
                    let start = self.offset_of(h.slice()).saturating_add(h.slice().len());
                    let end = self
                        .offset_of(payload.payload)
                        .saturating_add(payload.payload.len());
                    Some(Fragment {
                        id: u32::from(h.identification()),
                        offset: u32::from(h.fragments_offset().byte_offset()),
                        more: h.more_fragments(),
                        proto: h.protocol().0,
                        payload: self.data.get(start..end).unwrap_or(payload.payload),
                    })
                } else {
                    None
                };
                (header, fragment)
            }
            LaxIpSlice::Ipv6(v6) => {
                let h = v6.header();
                let header = Ip {
                    src: IpAddr::V6(h.source_addr()),
                    dst: IpAddr::V6(h.destination_addr()),
                    proto: payload.ip_number.0,
                    ttl: h.hop_limit(),
                };
                let fragment = if v6.is_payload_fragmented() {
                    self.ipv6_fragment(v6.extensions(), payload.payload)
                } else {
                    None
                };
                (header, fragment)
            }
        };
        let mut header = header;
        if let Some(f) = &fragment {
            header.proto = f.proto;
        }
        let version = if matches!(ip, LaxIpSlice::Ipv4(_)) {
            4
        } else {
            6
        };
        let data = fragment.map_or(payload.payload, |f| f.payload);
        self.record_ip(bytes, header, data, version, fragment.is_some());
        if let Some(f) = fragment {
            // A fragment's data cannot be decoded before reassembly (a non-first fragment
            // holds no transport header); errors in "extension headers" parsed from it are
            // meaningless, so they are not reported.
            self.pkt.l4 = L4::Fragment(f);
            if incomplete {
                self.stop(
                    Layer::Ip,
                    bytes,
                    Reason::PayloadTruncated {
                        expected: expected_ip_len(&ip),
                        captured: bytes.len(),
                    },
                );
            }
            return;
        }
        if let Some((err, _)) = ext_err {
            let reason = match err {
                HeaderSliceError::Len(e) => Reason::Truncated {
                    needed: e.required_len,
                    available: e.len,
                },
                HeaderSliceError::Content(ExtHeaderError::HopByHopNotAtStart) => {
                    Reason::HopByHopNotFirst
                }
                HeaderSliceError::Content(ExtHeaderError::IpAuth(_)) => Reason::BadAuthHeader,
            };
            self.stop(Layer::IpExtension, payload.payload, reason);
            return;
        }
        let missing = if incomplete {
            expected_ip_len(&ip).saturating_sub(bytes.len())
        } else {
            0
        };
        let ip_number = payload.ip_number.0;
        let body = payload.payload;
        self.transport(ip_number, body, missing);
    }

    /// Finds the first IPv6 Fragment header of a fragmenting packet and returns the fragment.
    fn ipv6_fragment(
        &self,
        exts: &Ipv6ExtensionsSlice<'a>,
        payload: &'a [u8],
    ) -> Option<Fragment<'a>> {
        let frag = ipv6_fragment_header(exts)?;
        // The fragment data starts right after the Fragment header (RFC 8200 §4.5) and ends
        // where the IPv6 payload ends; etherparse may have read further "headers" from it.
        let start = self
            .offset_of(frag.slice())
            .checked_add(frag.slice().len())?;
        let end = self.offset_of(payload).checked_add(payload.len())?;
        let data = self.data.get(start..end)?;
        Some(Fragment {
            id: frag.identification(),
            offset: u32::from(frag.fragment_offset().byte_offset()),
            more: frag.more_fragments(),
            proto: frag.next_header().0,
            payload: data,
        })
    }

    /// Counts one more tunnel level; false (and a stop) when the bound is reached.
    pub(super) fn enter_tunnel(&mut self, proto: u8, body: &'a [u8]) -> bool {
        if self.pkt.tunnels >= MAX_TUNNELS {
            self.pkt.l4 = L4::Other(proto);
            self.stop(Layer::Ip, body, Reason::TooManyTunnels);
            return false;
        }
        self.pkt.tunnels += 1;
        true
    }
}

/// Maps etherparse's IP header error to a [`Reason`].
pub(super) fn ip_error_reason(e: LaxHeaderSliceError) -> Reason {
    match e {
        LaxHeaderSliceError::Len(e) => Reason::Truncated {
            needed: e.required_len,
            available: e.len,
        },
        LaxHeaderSliceError::Content(IpHeaderError::UnsupportedIpVersion { version_number }) => {
            Reason::BadIpVersion(version_number)
        }
        LaxHeaderSliceError::Content(IpHeaderError::Ipv4HeaderLengthSmallerThanHeader { ihl }) => {
            Reason::BadIpv4HeaderLength(ihl)
        }
    }
}

/// Total length of the IP packet as its header announces it.
fn expected_ip_len(ip: &LaxIpSlice<'_>) -> usize {
    match ip {
        LaxIpSlice::Ipv4(v4) => usize::from(v4.header().total_len()),
        LaxIpSlice::Ipv6(v6) => usize::from(v6.header().payload_length()) + 40,
    }
}

/// GRE (RFC 2784, RFC 2890): flags and version, protocol type, then the optional checksum,
/// key and sequence number words announced by the C, K and S bits.
pub(super) fn gre<'a>(d: &mut Decoder<'a, '_>, gre: &'a [u8]) {
    const CHECKSUM: u16 = 0x8000;
    const ROUTING: u16 = 0x4000;
    const KEY: u16 = 0x2000;
    const SEQUENCE: u16 = 0x1000;
    const VERSION: u16 = 0x0007;
    d.pkt.l4 = L4::Other(proto::GRE);
    let (Some(flags), Some(ptype)) = (be16(gre, 0), be16(gre, 2)) else {
        return d.truncated(Layer::Gre, gre, 4);
    };
    // Version 1 is PPTP's enhanced GRE (PPP payload); RFC 1701 source routing has variable
    // routing entries. Neither carries VoIP in practice.
    if flags & (ROUTING | VERSION) != 0 {
        return d.stop(Layer::Gre, gre, Reason::UnsupportedGre(flags));
    }
    let words = 1 + [CHECKSUM, KEY, SEQUENCE]
        .iter()
        .filter(|&&bit| flags & bit != 0)
        .count();
    let header_len = words * 4;
    let Some(payload) = gre.get(header_len..) else {
        return d.truncated(Layer::Gre, gre, header_len);
    };
    d.pkt.l4 = L4::None;
    match ptype {
        ether_type::IPV4 | ether_type::IPV6 => d.ip(payload),
        ether_type::TEB => ether(d, ether_type::TEB, payload),
        ether_type::ERSPAN_1_2 => {
            // Type I has no sequence number and no ERSPAN header; type II has both and an
            // 8-byte header.
            let skip = if flags & SEQUENCE != 0 { 8 } else { 0 };
            match payload.get(skip..) {
                Some(frame) => ether(d, ether_type::TEB, frame),
                None => d.truncated(Layer::Gre, payload, skip),
            }
        }
        ether_type::ERSPAN_3 => {
            // 12-byte header; its last bit (O) announces an 8-byte platform subheader.
            let Some(&last) = payload.get(11) else {
                return d.truncated(Layer::Gre, payload, 12);
            };
            let skip = if last & 1 != 0 { 20 } else { 12 };
            match payload.get(skip..) {
                Some(frame) => ether(d, ether_type::TEB, frame),
                None => d.truncated(Layer::Gre, payload, skip),
            }
        }
        other => {
            d.pkt.l4 = L4::Other(proto::GRE);
            d.stop(Layer::Gre, gre, Reason::UnsupportedGreProtocol(other));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::packet::Decoder;
    use super::super::testkit::*;
    use super::super::*;
    use proptest::prelude::*;

    /// What the plain IPv4 reading and the lax one make of `bytes` (from an IP header on).
    fn both(bytes: &[u8]) -> (Packet<'_>, Packet<'_>) {
        let mut plain = Packet::empty(LinkType::RAW);
        Decoder::new(bytes, &mut plain).ip(bytes);
        let mut lax = Packet::empty(LinkType::RAW);
        Decoder::new(bytes, &mut lax).ip_lax(bytes);
        (plain, lax)
    }

    proptest! {
        /// IPv4 headers near the plain shape, with every field that decides between the two
        /// readings varied (version and length, total length against the bytes captured,
        /// flags and fragment offset, protocol), then UDP, TCP or arbitrary bytes: the plain
        /// reading gives exactly the lax one's packet, or leaves it to the lax one.
        #[test]
        fn plain_ipv4_reads_as_the_lax_slicing_does(
            version_ihl in prop::sample::select(vec![0x45u8, 0x46, 0x44, 0x55, 0x65]),
            total_delta in -30i32..30,
            flags in prop::sample::select(vec![0u16, 0x4000, 0x2000, 0x0001, 0x8000, 0x6000, 0x1fff]),
            proto in prop::sample::select(vec![17u8, 6, 1, 4, 41, 47, 51, 58, 132, 255]),
            ttl in any::<u8>(),
            body in prop::collection::vec(any::<u8>(), 0..80),
            udp_like in any::<bool>(),
            cut in 0usize..120,
        ) {
            let payload = if udp_like && proto == 17 { udp(5060, 5080, &body) } else { body };
            let mut f = ipv4_full(proto, 9, flags, &[], &payload);
            f[0] = version_ihl;
            f[8] = ttl;
            let total = (f.len() as i32 + total_delta).clamp(0, 0xffff) as u16;
            f[2..4].copy_from_slice(&total.to_be_bytes());
            f.truncate(cut.max(1).min(f.len()));
            let (plain, lax) = both(&f);
            prop_assert_eq!(plain, lax);
        }
    }

    #[test]
    fn plain_ipv4_udp_reads_as_the_lax_slicing_does() {
        let f = ipv4_full(17, 1, 0x4000, &[], &udp(5060, 5080, SIP));
        let (plain, lax) = both(&f);
        assert_eq!(plain, lax);
        assert!(matches!(plain.l4, L4::Udp(_)));
    }

    #[test]
    fn ipv4_options_are_skipped() {
        // Router alert (RFC 2113) padded to a word.
        let f = ipv4_full(17, 1, 0, &[0x94, 0x04, 0x00, 0x00], &udp(5060, 5080, SIP));
        let p = decode(LinkType::RAW, &f);
        check_sip_udp(&p);
    }

    #[test]
    fn ipv6_extension_headers_are_skipped() {
        let hop = [60u8, 0, 1, 4, 0, 0, 0, 0]; // hop-by-hop -> destination options, PadN
        let dst = [17u8, 0, 1, 4, 0, 0, 0, 0]; // destination options -> UDP
        let f = ipv6(0, &cat(&[&hop, &dst, &udp(5060, 5080, SIP)]));
        let p = decode(LinkType::IPV6, &f);
        check_sip_udp(&p);
        let ip = p.ip.expect("ip");
        assert_eq!((ip.src, ip.dst, ip.proto, ip.ttl), (v6(A6), v6(B6), 17, 33));
    }

    #[test]
    fn ipv6_hop_by_hop_not_first_stops() {
        let dst = [0u8, 0, 1, 4, 0, 0, 0, 0]; // destination options -> hop-by-hop (invalid)
        let f = ipv6(60, &cat(&[&dst, &[17, 0, 1, 4, 0, 0, 0, 0]]));
        let p = decode(LinkType::RAW, &f);
        assert!(p.ip.is_some());
        assert_eq!(
            p.stop.map(|s| (s.layer, s.reason)),
            Some((Layer::IpExtension, Reason::HopByHopNotFirst))
        );
    }

    #[test]
    fn ipv4_fragments() {
        let data = udp(5060, 5080, SIP);
        let first = ipv4_full(17, 7, 0x2000, &[], &data[..16]);
        let p = decode(LinkType::RAW, &first);
        let L4::Fragment(f) = p.l4 else {
            panic!("{p:?}")
        };
        assert_eq!(
            (f.id, f.offset, f.more, f.proto, f.payload),
            (7, 0, true, 17, &data[..16])
        );
        let last = ipv4_full(17, 7, 2, &[], &data[16..]);
        let p = decode(LinkType::RAW, &last);
        let L4::Fragment(f) = p.l4 else {
            panic!("{p:?}")
        };
        assert_eq!((f.offset, f.more, f.payload), (16, false, &data[16..]));
        assert_eq!(p.ip.map(|i| i.proto), Some(17));
    }

    #[test]
    fn ipv6_fragments() {
        let data = udp(5060, 5080, SIP);
        let frag_hdr = |off: u16, more: bool| {
            let v = off << 3 | u16::from(more);
            cat(&[&[17, 0], &v.to_be_bytes(), &0xabcd_0001u32.to_be_bytes()])
        };
        let first = ipv6(44, &cat(&[&frag_hdr(0, true), &data[..16]]));
        let p = decode(LinkType::RAW, &first);
        let L4::Fragment(f) = p.l4 else {
            panic!("{p:?}")
        };
        assert_eq!(
            (f.id, f.offset, f.more, f.proto, f.payload),
            (0xabcd_0001, 0, true, 17, &data[..16])
        );
        let last = ipv6(44, &cat(&[&frag_hdr(2, false), &data[16..]]));
        let p = decode(LinkType::RAW, &last);
        let L4::Fragment(f) = p.l4 else {
            panic!("{p:?}")
        };
        assert_eq!((f.offset, f.more, f.payload), (16, false, &data[16..]));
        // An atomic fragment (offset 0, M clear; RFC 6946) is a whole packet.
        let atomic = ipv6(44, &cat(&[&frag_hdr(0, false), &data]));
        check_sip_udp(&decode(LinkType::RAW, &atomic));
    }

    #[test]
    fn ip_in_ip_and_6in4() {
        let inner = ipv4(17, &udp(5060, 5080, SIP));
        let outer = ipv4_full(4, 9, 0, &[], &inner);
        let mut outer_hdr = outer.clone();
        outer_hdr[12..20].copy_from_slice(&[172, 16, 0, 1, 172, 16, 0, 2]);
        let p = decode(LinkType::RAW, &outer_hdr);
        check_sip_udp(&p);
        assert_eq!(p.tunnels, 1);
        assert_eq!(p.ip.map(|i| i.src), Some(v4(A)));
        assert_eq!(
            p.outer.map(|i| (i.src, i.proto)),
            Some((v4([172, 16, 0, 1]), 4))
        );
        let six_in_four = ipv4(41, &ipv6(17, &udp(5060, 5080, SIP)));
        let p = decode(LinkType::RAW, &six_in_four);
        check_sip_udp(&p);
        assert_eq!(p.ip.map(|i| i.src), Some(v6(A6)));
    }

    #[test]
    fn gre_decapsulation() {
        let inner = ipv4(17, &udp(5060, 5080, SIP));
        // GRE with key and sequence number (RFC 2890).
        let gre = cat(&[
            &[0x30, 0x00, 0x08, 0x00],
            &[0, 0, 0, 42],
            &[0, 0, 0, 1],
            &inner,
        ]);
        let frame = eth(0x0800, &ipv4(47, &gre));
        let p = decode(LinkType::ETHERNET, &frame);
        check_sip_udp(&p);
        assert_eq!(p.tunnels, 1);
        // Transparent Ethernet bridging with a VLAN tag inside.
        let frame = cat(&[&eth(0x8100, &[0x00, 0x05, 0x08, 0x00]), &inner]);
        let teb = cat(&[&[0x00, 0x00, 0x65, 0x58], &frame]);
        let frame = ipv4(47, &teb);
        let p = decode(LinkType::RAW, &frame);
        check_sip_udp(&p);
        assert_eq!((p.tunnels, p.vlans), (1, 1));
        // ERSPAN type II: GRE with a sequence number, 8-byte ERSPAN header, Ethernet.
        let erspan = cat(&[
            &[0x10, 0x00, 0x88, 0xbe, 0, 0, 0, 7],
            &[0x10, 0, 0, 1, 0, 0, 0, 0],
            &eth(0x0800, &inner),
        ]);
        check_sip_udp(&decode(LinkType::RAW, &ipv4(47, &erspan)));
        // Unknown payload type.
        let frame = ipv4(47, &[0, 0, 0x88, 0x0b, 0, 0]);
        let p = decode(LinkType::RAW, &frame);
        assert_eq!(p.l4, L4::Other(47));
        assert_eq!(
            p.stop.map(|s| s.reason),
            Some(Reason::UnsupportedGreProtocol(0x880b))
        );
        // Three levels: the third is left alone.
        let gre_ip = |inner: &[u8]| ipv4(47, &cat(&[&[0, 0, 0x08, 0x00], inner]));
        let frame = gre_ip(&gre_ip(&gre_ip(&inner)));
        let p = decode(LinkType::RAW, &frame);
        assert_eq!(p.tunnels, MAX_TUNNELS);
        assert_eq!(p.l4, L4::Other(47));
        assert_eq!(p.stop.map(|s| s.reason), Some(Reason::TooManyTunnels));
    }
}
