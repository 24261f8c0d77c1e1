//! The decoded packet, where its layers lie in the frame, why decoding stopped, and the driver
//! that walks link → IP → transport.
//!
//! Takes in: a link type and the captured bytes of one frame.
//! Produces: a [`Packet`] whose [`Layers`] give the byte offset of every header decoding walked,
//! in fixed-size arrays (no allocation), and a [`Stop`] when decoding ended early.
//! Does not: know any header layout itself; `link`, `ip`, `transport` and `icmp` decode and
//! record their own layers through the [`Decoder`] state defined here.

use super::ip::{Ip, MAX_TUNNELS};
use super::link::{self, LinkType};
use super::transport::L4;

/// What could be decoded from one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<'a> {
    /// Number of 802.1Q / 802.1ad tags passed (saturating).
    pub vlans: u8,
    /// Number of tunnel headers (IP-in-IP, GRE) removed; at most [`MAX_TUNNELS`].
    pub tunnels: u8,
    /// The outermost IP header, present only when a tunnel was removed (`tunnels > 0`).
    pub outer: Option<Ip>,
    /// The innermost IP header that was decoded.
    pub ip: Option<Ip>,
    /// The transport layer, or the IP fragment.
    pub l4: L4<'a>,
    /// Why decoding stopped early, if it did; `None` when every layer decoded in full.
    pub stop: Option<Stop>,
    /// Where each layer that was decoded lies in the frame.
    pub layers: Layers,
}

/// Most IP headers [`Layers`] records: the outer header of each tunnel, then the innermost.
pub const MAX_IP_LAYERS: usize = MAX_TUNNELS as usize + 1;

/// Most hardware addresses [`Layers`] records: destination and source of the frame's Ethernet
/// header and of one Ethernet frame bridged inside each tunnel.
pub const MAX_MACS: usize = 2 * MAX_IP_LAYERS;

/// The byte offsets, from the first byte of the decoded buffer (the frame, or the payload of a
/// [`Reassembled`](super::defrag::Reassembled) datagram), of the layers decoding walked.
///
/// Offsets are `u32` (a frame is at most 4 GiB) and always within the buffer. A layer that was
/// not reached is absent; a layer cut short by the snapshot length ends where the buffer ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layers {
    /// The link type the frame was decoded as.
    pub link: LinkType,
    macs: [u32; MAX_MACS],
    mac_count: u8,
    ips: [IpLayer; MAX_IP_LAYERS],
    ip_count: u8,
    /// The transport header (UDP, TCP, ICMP, ICMPv6) of the innermost IP packet; absent for a
    /// fragment, another protocol, or a header that was not captured in full.
    pub transport: Option<TransportLayer>,
    /// The IP header quoted by an ICMP error (only its first bytes are usually present).
    pub quoted_ip: Option<IpLayer>,
    /// The transport header quoted by an ICMP error, when the quote reaches it.
    pub quoted_transport: Option<TransportLayer>,
    /// A link-layer header with a length field of its own was passed (802.3 with LLC/SNAP,
    /// PPPoE): the IP packet cannot change length without making that field wrong.
    pub link_length: bool,
}

/// Where one IPv4 or IPv6 header and its packet lie.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IpLayer {
    /// The first byte of the header (the version nibble).
    pub start: u32,
    /// The first byte after the IPv4 header and options, or after the IPv6 header and its
    /// extension headers: the transport header, the tunnelled packet, or a fragment's data.
    pub payload: u32,
    /// Where the packet ends: as its length field says, but never past the captured bytes (a
    /// link-layer trailer, such as Ethernet padding, follows).
    pub end: u32,
    /// 4 or 6.
    pub version: u8,
    /// The protocol of the payload, as [`Ip::proto`] (a fragment's: the fragmented protocol).
    pub proto: u8,
    /// The packet is a fragment (not first, or more follow): its payload is partial.
    pub fragment: bool,
}

/// Where a transport header and its payload lie.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TransportLayer {
    /// The first byte of the UDP, TCP or ICMP header.
    pub start: u32,
    /// The first byte of the payload: after the 8-byte UDP or ICMP header, after the TCP options.
    pub payload: u32,
    /// The end of the payload (UDP: as its length field says, within the captured bytes).
    pub end: u32,
}

impl Layers {
    fn new(link: LinkType) -> Self {
        Layers {
            link,
            macs: [0; MAX_MACS],
            mac_count: 0,
            ips: [IpLayer::default(); MAX_IP_LAYERS],
            ip_count: 0,
            transport: None,
            quoted_ip: None,
            quoted_transport: None,
            link_length: false,
        }
    }

    /// Offsets of the 6-byte hardware addresses in link-layer headers: Ethernet destination and
    /// source (of the frame, and of Ethernet frames bridged in GRE or ERSPAN), and the source
    /// address of a Linux cooked header when it has 6 bytes.
    pub fn macs(&self) -> &[u32] {
        self.macs.get(..usize::from(self.mac_count)).unwrap_or(&[])
    }

    /// The sender's hardware address in `frame` (the bytes this was decoded from): the Ethernet
    /// source, or the Linux cooked header's source address; `None` for other link types.
    pub fn source_mac(&self, frame: &[u8]) -> Option<[u8; 6]> {
        let at = match self.link {
            LinkType::ETHERNET => *self.macs().get(1)?,
            LinkType::LINUX_SLL | LinkType::LINUX_SLL2 => *self.macs().first()?,
            _ => return None,
        };
        let at = usize::try_from(at).ok()?;
        frame.get(at..at.checked_add(6)?)?.try_into().ok()
    }

    /// The IP headers from the outermost (a tunnel's outer header) to the innermost.
    pub fn ips(&self) -> &[IpLayer] {
        self.ips.get(..usize::from(self.ip_count)).unwrap_or(&[])
    }

    pub(super) fn push_mac(&mut self, at: usize) {
        if let Some(slot) = self.macs.get_mut(usize::from(self.mac_count)) {
            *slot = offset32(at);
            self.mac_count += 1;
        }
    }

    pub(super) fn push_ip(&mut self, ip: IpLayer) {
        if let Some(slot) = self.ips.get_mut(usize::from(self.ip_count)) {
            *slot = ip;
            self.ip_count += 1;
        }
    }
}

/// Where and why decoding of a frame ended early.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{layer} at byte {offset}: {reason}")]
pub struct Stop {
    /// Layer that could not be decoded (in full).
    pub layer: Layer,
    /// Byte offset of that layer's start within the frame.
    pub offset: usize,
    /// What was wrong.
    pub reason: Reason,
}

impl Stop {
    /// Stable snake_case code of the reason, for counting stops by kind (see [`Reason::code`]).
    pub fn code(&self) -> &'static str {
        self.reason.code()
    }
}

/// A protocol layer, for [`Stop`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Layer {
    /// The link-layer header (Ethernet, SLL, SLL2, NULL/LOOP) or its EtherType.
    Link,
    /// An 802.1Q / 802.1ad tag.
    Vlan,
    /// An MPLS label stack.
    Mpls,
    /// A PPPoE session header.
    Pppoe,
    /// An IPv4 or IPv6 header.
    Ip,
    /// IPv4 authentication header or an IPv6 extension header.
    IpExtension,
    /// A GRE header or its payload type.
    Gre,
    /// UDP header or payload.
    Udp,
    /// TCP header or payload.
    Tcp,
    /// ICMP or ICMPv6 header.
    Icmp,
    /// The packet quoted inside an ICMP error.
    IcmpQuoted,
}

impl std::fmt::Display for Layer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Layer::Link => "link layer",
            Layer::Vlan => "vlan tag",
            Layer::Mpls => "mpls label stack",
            Layer::Pppoe => "pppoe header",
            Layer::Ip => "ip header",
            Layer::IpExtension => "ip extension header",
            Layer::Gre => "gre header",
            Layer::Udp => "udp",
            Layer::Tcp => "tcp",
            Layer::Icmp => "icmp",
            Layer::IcmpQuoted => "packet quoted by icmp",
        })
    }
}

/// Why decoding stopped, for [`Stop`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Reason {
    /// A header was cut off: fewer bytes than the header needs.
    #[error("truncated: needs {needed} bytes, {available} captured")]
    Truncated {
        /// Bytes the header needs.
        needed: usize,
        /// Bytes available.
        available: usize,
    },
    /// The payload is shorter than the length fields say: the frame was cut by the snapshot
    /// length (or the sender lied). What was captured is still returned.
    #[error(
        "payload cut short: {expected} bytes expected, {captured} captured (snapshot length?)"
    )]
    PayloadTruncated {
        /// Bytes the length fields announce.
        expected: usize,
        /// Bytes present.
        captured: usize,
    },
    /// A length field claims more bytes than its enclosing (complete) packet holds.
    #[error("length field claims {claimed} bytes but the enclosing packet holds {available}")]
    BadLength {
        /// Length claimed by the field.
        claimed: usize,
        /// Bytes actually there.
        available: usize,
    },
    /// The link type is not one [`decode`] understands.
    #[error("unsupported link type {0}")]
    UnsupportedLinkType(u32),
    /// The frame carries something other than IP (ARP, LLC, ...).
    #[error("not ip: ether type 0x{0:04x}")]
    UnsupportedEtherType(u16),
    /// A BSD loopback header with an address family that is not IPv4 or IPv6.
    #[error("not ip: address family {0}")]
    UnsupportedAddressFamily(u32),
    /// A PPP protocol other than IPv4 or IPv6.
    #[error("not ip: ppp protocol 0x{0:04x}")]
    UnsupportedPppProtocol(u16),
    /// An IEEE 802.11 frame that carries no IP in the clear: management, control or null-function
    /// frames, or a body without LLC/SNAP (the frame control's first byte).
    #[error("not ip: 802.11 frame control 0x{0:02x}")]
    Unsupported80211(u8),
    /// An IEEE 802.11 data frame whose body is encrypted (WEP/WPA).
    #[error("802.11 frame body is encrypted")]
    Protected80211,
    /// One of Network Monitor's own records (an ETW event, the adapter list, a filter string).
    #[error("a NetMon record, not a packet")]
    NetmonRecord,
    /// An MPLS stack whose payload does not start like an IP header.
    #[error("mpls payload is not ip (first byte 0x{0:02x})")]
    UnsupportedMplsPayload(u8),
    /// The IP version nibble is neither 4 nor 6.
    #[error("ip version {0} is neither 4 nor 6")]
    BadIpVersion(u8),
    /// IPv4 IHL below 5.
    #[error("ipv4 header length of {0} words is below the minimum of 5")]
    BadIpv4HeaderLength(u8),
    /// IPv6 hop-by-hop options header not directly after the IPv6 header (RFC 8200 §4.1).
    #[error("ipv6 hop-by-hop header is not first")]
    HopByHopNotFirst,
    /// IP authentication header with a zero payload length (RFC 4302 §2.2).
    #[error("ip authentication header has zero payload length")]
    BadAuthHeader,
    /// TCP data offset below 5.
    #[error("tcp data offset of {0} words is below the minimum of 5")]
    BadTcpDataOffset(u8),
    /// A GRE header with a version or flags this decoder does not handle (RFC 1701 routing).
    #[error("unsupported gre header flags/version 0x{0:04x}")]
    UnsupportedGre(u16),
    /// A GRE payload type that is not IPv4, IPv6, Ethernet or ERSPAN.
    #[error("unsupported gre protocol type 0x{0:04x}")]
    UnsupportedGreProtocol(u16),
    /// More nested tunnels than [`MAX_TUNNELS`].
    #[error("more than {MAX_TUNNELS} nested tunnels")]
    TooManyTunnels,
}

impl Reason {
    /// Stable snake_case code of this kind of reason, without its numbers (for counters and
    /// JSON keys): all "not IP" reasons share `not_ip`, and the two GRE reasons share
    /// `unsupported_gre`.
    pub fn code(&self) -> &'static str {
        match self {
            Reason::Truncated { .. } => "truncated_header",
            Reason::PayloadTruncated { .. } => "payload_cut_short",
            Reason::BadLength { .. } => "bad_length_field",
            Reason::UnsupportedLinkType(_) => "unsupported_link_type",
            Reason::UnsupportedEtherType(_)
            | Reason::UnsupportedAddressFamily(_)
            | Reason::UnsupportedPppProtocol(_)
            | Reason::UnsupportedMplsPayload(_)
            | Reason::Unsupported80211(_) => "not_ip",
            Reason::Protected80211 => "wifi_encrypted",
            Reason::NetmonRecord => "netmon_record",
            Reason::BadIpVersion(_) => "bad_ip_version",
            Reason::BadIpv4HeaderLength(_) => "bad_ipv4_header_length",
            Reason::HopByHopNotFirst => "bad_ipv6_extension_order",
            Reason::BadAuthHeader => "bad_ip_auth_header",
            Reason::BadTcpDataOffset(_) => "bad_tcp_data_offset",
            Reason::UnsupportedGre(_) | Reason::UnsupportedGreProtocol(_) => "unsupported_gre",
            Reason::TooManyTunnels => "too_many_tunnels",
        }
    }
}

/// Decodes one captured frame of the given link type, as far as it goes.
pub fn decode(link: LinkType, data: &[u8]) -> Packet<'_> {
    let mut pkt = Packet::empty(link);
    decode_into(&mut pkt, data);
    pkt
}

/// [`decode`] into a packet the caller holds ([`Packet::empty`] of the frame's link type): the
/// per-frame loop's way, since returning the ~300-byte packet by value copies it every frame.
pub fn decode_into<'a>(pkt: &mut Packet<'a>, data: &'a [u8]) {
    let link = pkt.layers.link;
    link::decode_link(&mut Decoder::new(data, pkt), link, data);
}

/// An offset as stored in [`Layers`] (frames are far smaller than 4 GiB; saturating otherwise).
fn offset32(at: usize) -> u32 {
    u32::try_from(at).unwrap_or(u32::MAX)
}

/// Decoding state for one frame: the frame's bytes and the packet built so far.
pub(super) struct Decoder<'a, 'p> {
    pub(super) data: &'a [u8],
    pub(super) pkt: &'p mut Packet<'a>,
}

impl<'a> Packet<'a> {
    /// A packet of link type `link` with nothing decoded yet.
    pub fn empty(link: LinkType) -> Self {
        Packet {
            vlans: 0,
            tunnels: 0,
            outer: None,
            ip: None,
            l4: L4::None,
            stop: None,
            layers: Layers::new(link),
        }
    }
}

impl<'a, 'p> Decoder<'a, 'p> {
    pub(super) fn new(data: &'a [u8], pkt: &'p mut Packet<'a>) -> Self {
        Decoder { data, pkt }
    }

    /// Byte offset of `sub` (a sub-slice of the frame) from the frame start.
    pub(super) fn offset_of(&self, sub: &[u8]) -> usize {
        (sub.as_ptr() as usize).wrapping_sub(self.data.as_ptr() as usize)
    }

    /// The offsets of `sub`'s start and end, for [`Layers`]; a slice that is not part of the
    /// frame (an empty default) lies at the frame's end, so recorded offsets stay in the frame.
    pub(super) fn span(&self, sub: &[u8]) -> (u32, u32) {
        let len = self.data.len();
        let start = self.offset_of(sub);
        let (start, end) = if start > len {
            (len, len)
        } else {
            (start, start.saturating_add(sub.len()).min(len))
        };
        (offset32(start), offset32(end))
    }

    /// The [`TransportLayer`] of a header starting at `header` whose payload is `payload` (both
    /// sub-slices of the frame); the payload never starts before the header.
    pub(super) fn transport_layer(&self, header: &[u8], payload: &[u8]) -> TransportLayer {
        let (start, _) = self.span(header);
        let (payload, end) = self.span(payload);
        TransportLayer {
            start,
            payload: payload.max(start),
            end: end.max(start),
        }
    }

    /// Records why decoding stopped; the first reason wins.
    pub(super) fn stop(&mut self, layer: Layer, at: &[u8], reason: Reason) {
        if self.pkt.stop.is_none() {
            let offset = self.offset_of(at);
            self.pkt.stop = Some(Stop {
                layer,
                offset,
                reason,
            });
        }
    }

    pub(super) fn truncated(&mut self, layer: Layer, at: &'a [u8], needed: usize) {
        let available = at.len();
        self.stop(layer, at, Reason::Truncated { needed, available });
    }

    pub(super) fn payload_truncated(
        &mut self,
        layer: Layer,
        at: &'a [u8],
        captured: usize,
        missing: usize,
    ) {
        let expected = captured.saturating_add(missing);
        self.stop(layer, at, Reason::PayloadTruncated { expected, captured });
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::super::*;
    use proptest::prelude::*;

    #[test]
    fn samples_decode_in_full() {
        for (lt, f) in samples() {
            let p = decode(lt, &f);
            assert_eq!(p.stop, None, "{lt:?} {p:?}");
            assert!(!matches!(p.l4, L4::None | L4::Other(_)), "{lt:?} {p:?}");
        }
    }

    #[test]
    fn truncated_at_every_prefix_never_panics() {
        for (lt, f) in samples() {
            for n in 0..f.len() {
                let p = decode(lt, &f[..n]);
                // Every cut is noticed: something stops early.
                assert!(p.stop.is_some(), "{lt:?} cut at {n}: {p:?}");
                let _ = p.stop.map(|s| s.to_string());
            }
        }
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(lt in prop::sample::select(vec![0u32, 1, 12, 14, 101, 108, 113, 228, 229, 276, 9999]),
                                       data in prop::collection::vec(any::<u8>(), 0..200)) {
            let p = decode(LinkType(lt), &data);
            let _ = p.stop.map(|s| s.to_string());
            if let L4::Udp(u) = p.l4 { prop_assert!(u.payload.len() <= data.len()); }
        }

        #[test]
        fn mutated_samples_never_panic(i in 0usize..12, flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8)) {
            let all = samples();
            let (lt, mut f) = all[i % all.len()].clone();
            for (at, b) in flips { let k = at.index(f.len()); f[k] = b; }
            let p = decode(lt, &f);
            let _ = p.stop.map(|s| s.to_string());
            check_layers(f.len(), &p.layers);
        }

        #[test]
        fn layers_stay_within_arbitrary_frames(lt in prop::sample::select(vec![0u32, 1, 101, 113, 276]),
                                               data in prop::collection::vec(any::<u8>(), 0..200)) {
            check_layers(data.len(), &decode(LinkType(lt), &data).layers);
        }
    }

    /// Every recorded offset lies within the frame, each layer in order (start, payload, end),
    /// and inner layers inside outer ones.
    fn check_layers(len: usize, l: &Layers) {
        let len = len as u32;
        assert!(l.macs().iter().all(|&m| m + 6 <= len), "{l:?}");
        let mut outer = (0, len);
        for ip in l.ips() {
            assert!(
                ip.start <= ip.payload && ip.payload <= ip.end && ip.end <= len,
                "{l:?}"
            );
            assert!(outer.0 <= ip.start && ip.end <= outer.1, "{l:?}");
            outer = (ip.payload, ip.end);
        }
        for t in [l.transport, l.quoted_transport].into_iter().flatten() {
            assert!(
                t.start <= t.payload && t.payload <= t.end && t.end <= len,
                "{l:?}"
            );
        }
        if let (Some(t), Some(ip)) = (l.transport, l.ips().last()) {
            assert!(ip.payload <= t.start && t.end <= ip.end, "{l:?}");
        }
    }

    #[test]
    fn layers_locate_every_header() {
        // Ethernet, QinQ, IPv6 with a destination options header, UDP.
        let (_, f) = samples()[1].clone();
        let p = decode(LinkType::ETHERNET, &f);
        let l = p.layers;
        assert_eq!(l.link, LinkType::ETHERNET);
        assert_eq!(l.macs(), &[0, 6]);
        let ip = l.ips()[0];
        assert_eq!(l.ips().len(), 1);
        assert_eq!(
            (ip.start, ip.payload, ip.end),
            (22, 22 + 40 + 8, f.len() as u32)
        );
        assert_eq!((ip.version, ip.proto, ip.fragment), (6, 17, false));
        let t = l.transport.expect("udp");
        assert_eq!((t.start, t.payload, t.end), (70, 78, f.len() as u32));
        assert_eq!(&f[t.payload as usize..], SIP);
        assert!(!l.link_length);
        // GRE with transparent Ethernet bridging: the outer IPv4, the bridged frame's addresses,
        // the inner IPv6.
        let (_, f) = samples()[4].clone();
        let l = decode(LinkType::ETHERNET, &f).layers;
        assert_eq!(l.macs(), &[0, 6, 14 + 20 + 16, 14 + 20 + 16 + 6]);
        let [outer, inner] = l.ips() else {
            panic!("{l:?}")
        };
        assert_eq!((outer.start, outer.payload, outer.proto), (14, 34, 47));
        assert_eq!((inner.start, inner.version), (14 + 20 + 16 + 18, 6));
        check_layers(f.len(), &l);
        // IP-in-IP: outer IPv4, then IPv4 carrying IPv6 (three headers).
        let (_, f) = samples()[6].clone();
        let l = decode(LinkType::RAW, &f).layers;
        let starts: Vec<u32> = l.ips().iter().map(|i| i.start).collect();
        assert_eq!(starts, [0, 20, 40]);
        assert_eq!(l.transport.map(|t| t.start), Some(80 + 8));
        // Linux cooked v1 with a 6-byte address; SLL2 without one.
        let (_, f) = samples()[7].clone();
        assert_eq!(decode(LinkType::LINUX_SLL, &f).layers.macs(), &[] as &[u32]);
        let mut sll = f.clone();
        sll[4..6].copy_from_slice(&6u16.to_be_bytes());
        let l = decode(LinkType::LINUX_SLL, &sll).layers;
        assert_eq!((l.macs(), l.ips()[0].start), (&[6][..], 16));
        let (_, f) = samples()[8].clone();
        let l = decode(LinkType::LINUX_SLL2, &f).layers;
        assert_eq!((l.macs(), l.ips()[0].start), (&[] as &[u32], 20));
        // BSD loopback: IP after the 4-byte family.
        let (_, f) = samples()[9].clone();
        assert_eq!(decode(LinkType::NULL, &f).layers.ips()[0].start, 4);
        // An ICMP error: the ICMP header is the transport layer, the quote has its own layers.
        let (_, f) = samples()[2].clone();
        let l = decode(LinkType::ETHERNET, &f).layers;
        let t = l.transport.expect("icmp");
        assert_eq!((t.start, t.payload), (34, 42));
        let q = l.quoted_ip.expect("a quoted header");
        assert_eq!((q.start, q.payload, q.version), (42, 62, 4));
        let qt = l.quoted_transport.expect("a quoted udp header");
        assert_eq!((qt.start, qt.payload, qt.end), (62, 70, 70 + 12));
        // PPPoE has a length of its own.
        let frame = cat(&[
            &[0; 12],
            &[0x88, 0x64, 0x11, 0, 0, 1, 0, 0, 0, 0x21],
            &ipv4(17, &udp(1, 2, SIP)),
        ]);
        let l = decode(LinkType::ETHERNET, &frame).layers;
        assert!(l.link_length);
        assert_eq!(l.ips()[0].start, 22);
    }

    #[test]
    fn fragments_have_an_ip_layer_and_no_transport_layer() {
        let data = udp(5060, 5080, SIP);
        let first = ipv4_full(17, 7, 0x2000, &[], &data[..16]);
        let l = decode(LinkType::RAW, &first).layers;
        let ip = l.ips()[0];
        assert_eq!(
            (ip.payload, ip.end, ip.fragment, ip.proto),
            (20, 36, true, 17)
        );
        assert_eq!(l.transport, None);
        let frag = cat(&[&[17, 0], &0x0011u16.to_be_bytes(), &[0, 0, 0, 9]]);
        let v6 = ipv6(44, &cat(&[&frag, &data[16..]]));
        let ip = decode(LinkType::RAW, &v6).layers.ips()[0];
        assert_eq!(
            (ip.payload, ip.end, ip.fragment),
            (48, v6.len() as u32, true)
        );
    }
}
