//! Link types and link-layer framing: finds where the IP packet starts inside one frame.
//!
//! Takes in: the frame bytes and its pcap link type, or an Ethernet frame bridged in a tunnel.
//! Produces: calls into the IP decoder (`ip.rs`) with the IP bytes, counting the VLAN tags
//! passed and recording where the hardware addresses are ([`Layers::macs`](super::Layers::macs));
//! records a [`Stop`](super::Stop) for anything that is not IP.
//! Does not: interpret MAC addresses, interface indexes or packet directions.
//!
//! Formats: Ethernet II and 802.2 LLC/SNAP (IEEE 802.3), 802.1Q / 802.1ad tags (IEEE 802.1Q),
//! MPLS (RFC 3032), PPPoE sessions (RFC 2516, PPP protocol numbers of RFC 1332 / RFC 5072),
//! Linux cooked capture v1 and v2 and BSD loopback (tcpdump.org link-type pages), IEEE 802.11
//! data frames with LLC/SNAP (IEEE 802.11-2016 §9.2.4, §9.3.2.1; unencrypted only), and NetMon's
//! own records (`capture::NETMON_LINK`), which are recognised and not analysed.

use super::packet::{Decoder, Layer, Reason};
use super::{be16, tail};
use crate::capture::NETMON_LINK;

/// A pcap / pcapng link type (`LINKTYPE_*` from tcpdump.org); unknown values are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LinkType(pub u32);

impl LinkType {
    /// BSD loopback: a 4-byte address family in the byte order of the capturing host.
    pub const NULL: LinkType = LinkType(0);
    /// Ethernet II (IEEE 802.3 with an EtherType).
    pub const ETHERNET: LinkType = LinkType(1);
    /// Raw IP on some BSDs (`DLT_RAW` was 12 there).
    pub const RAW_BSD12: LinkType = LinkType(12);
    /// Raw IP on some BSDs (`DLT_RAW` was 14 there).
    pub const RAW_BSD14: LinkType = LinkType(14);
    /// Raw IP, version taken from the first nibble.
    pub const RAW: LinkType = LinkType(101);
    /// IEEE 802.11 frames without a radio header.
    pub const IEEE802_11: LinkType = LinkType(105);
    /// OpenBSD loopback: a 4-byte address family in network byte order.
    pub const LOOP: LinkType = LinkType(108);
    /// Linux cooked capture v1 (16-byte header).
    pub const LINUX_SLL: LinkType = LinkType(113);
    /// Raw IPv4.
    pub const IPV4: LinkType = LinkType(228);
    /// Raw IPv6.
    pub const IPV6: LinkType = LinkType(229);
    /// Linux cooked capture v2 (20-byte header).
    pub const LINUX_SLL2: LinkType = LinkType(276);

    /// A short name of a supported link type: the tcpdump.org `LINKTYPE_` name, lowercase,
    /// with `-` for `_` (`ethernet`, `linux-sll`, ...); `None` for link types [`decode`](super::decode) does
    /// not understand.
    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            LinkType::NULL => "null",
            LinkType::ETHERNET => "ethernet",
            LinkType::RAW | LinkType::RAW_BSD12 | LinkType::RAW_BSD14 => "raw",
            LinkType::LOOP => "loop",
            LinkType::LINUX_SLL => "linux-sll",
            LinkType::IPV4 => "ipv4",
            LinkType::IPV6 => "ipv6",
            LinkType::LINUX_SLL2 => "linux-sll2",
            LinkType::IEEE802_11 => "ieee802-11",
            LinkType(l) if l == NETMON_LINK + NETMON_EVENT => "netmon-event",
            LinkType(l) if l == NETMON_LINK + NETMON_ADAPTERS => "netmon-network-info",
            LinkType(l) if l == NETMON_LINK + NETMON_FILTER => "netmon-filter",
            _ => return None,
        })
    }
}

/// NetMon's own records that Wireshark numbers as frames: an ETW event (process and conversation
/// data), the list of adapters captured on, a capture or display filter string.
const NETMON_EVENT: u32 = 0xFFE0;
const NETMON_ADAPTERS: u32 = 0xFFFB;
const NETMON_FILTER: u32 = 0xFFFF;

/// EtherTypes (IEEE registry) and GRE protocol types looked at here.
pub(super) mod ether_type {
    pub const IPV4: u16 = 0x0800;
    pub const IPV6: u16 = 0x86dd;
    pub const VLAN: u16 = 0x8100;
    pub const QINQ: u16 = 0x88a8;
    pub const QINQ_OLD: u16 = 0x9100;
    pub const QINQ_OLD2: u16 = 0x9200;
    pub const MPLS_UNICAST: u16 = 0x8847;
    pub const MPLS_MULTICAST: u16 = 0x8848;
    pub const PPPOE_SESSION: u16 = 0x8864;
    /// Transparent Ethernet bridging: a whole Ethernet frame follows (GRE, SLL over GRE).
    pub const TEB: u16 = 0x6558;
    pub const ERSPAN_1_2: u16 = 0x88be;
    pub const ERSPAN_3: u16 = 0x22eb;
    /// Values below this in the EtherType position are 802.3 lengths (LLC follows).
    pub const MIN_ETHER_TYPE: u16 = 0x0600;
}

/// BSD address families that mean IPv4 or IPv6 in a NULL / LOOP header.
const AF_INET: u32 = 2;
/// AF_INET6 on NetBSD/OpenBSD (24), FreeBSD (28) and macOS (30).
const AF_INET6: [u32; 3] = [24, 28, 30];

/// Decodes a frame of link type `link`.
pub(super) fn decode_link<'a>(d: &mut Decoder<'a, '_>, link: LinkType, frame: &'a [u8]) {
    match link {
        // The frame is an Ethernet header and its payload, as bridged frames in tunnels are.
        LinkType::ETHERNET => ether(d, ether_type::TEB, frame),
        LinkType::RAW
        | LinkType::RAW_BSD12
        | LinkType::RAW_BSD14
        | LinkType::IPV4
        | LinkType::IPV6 => d.ip(frame),
        LinkType::NULL | LinkType::LOOP => null(d, frame),
        LinkType::IEEE802_11 => dot11(d, frame),
        LinkType(l)
            if [NETMON_EVENT, NETMON_ADAPTERS, NETMON_FILTER]
                .iter()
                .any(|&m| l == NETMON_LINK + m) =>
        {
            d.stop(Layer::Link, frame, Reason::NetmonRecord);
        }
        LinkType::LINUX_SLL => {
            // 16 bytes: packet type, ARPHRD type, address length, 8 address bytes, protocol.
            if be16(frame, 4) == Some(6) && frame.len() >= 12 {
                d.pkt.layers.push_mac(6);
            }
            match (be16(frame, 14), frame.get(16..)) {
                (Some(protocol), Some(rest)) => ether(d, protocol, rest),
                _ => d.truncated(Layer::Link, frame, 16),
            }
        }
        LinkType::LINUX_SLL2 => {
            // 20 bytes: protocol, reserved, interface index, ARPHRD type, packet type,
            // address length, 8 address bytes.
            if frame.get(11) == Some(&6) && frame.len() >= 18 {
                d.pkt.layers.push_mac(12);
            }
            match (be16(frame, 0), frame.get(20..)) {
                (Some(protocol), Some(rest)) => ether(d, protocol, rest),
                _ => d.truncated(Layer::Link, frame, 20),
            }
        }
        LinkType(other) => d.stop(Layer::Link, frame, Reason::UnsupportedLinkType(other)),
    }
}

/// An IEEE 802.11 frame: only data frames that carry a body in the clear (not null-function
/// frames, not protected ones) can hold IP, behind LLC/SNAP.
fn dot11<'a>(d: &mut Decoder<'a, '_>, frame: &'a [u8]) {
    let (Some(&fc0), Some(&fc1)) = (frame.first(), frame.get(1)) else {
        return d.truncated(Layer::Link, frame, 24);
    };
    let (kind, subtype) = ((fc0 >> 2) & 3, fc0 >> 4);
    // Version 0, type 2 (data), subtypes without bit 2 (the null-function ones carry no body).
    if fc0 & 3 != 0 || kind != 2 || subtype & 0x4 != 0 {
        return d.stop(Layer::Link, frame, Reason::Unsupported80211(fc0));
    }
    if fc1 & 0x40 != 0 {
        return d.stop(Layer::Link, frame, Reason::Protected80211);
    }
    let four_addresses = fc1 & 3 == 3;
    let qos = subtype & 0x8 != 0;
    // Addresses 1 to 3 after frame control and duration, sequence control, address 4 between
    // two distribution systems, QoS control, and an HT control field when Order is set on QoS data.
    let len = 24
        + if four_addresses { 6 } else { 0 }
        + if qos { 2 } else { 0 }
        + if qos && fc1 & 0x80 != 0 { 4 } else { 0 };
    let Some(body) = frame.get(len..) else {
        return d.truncated(Layer::Link, frame, len);
    };
    for mac in [4, 10, 16].into_iter().chain(four_addresses.then_some(24)) {
        d.pkt.layers.push_mac(mac);
    }
    match (body.get(..3), be16(body, 6), body.get(8..)) {
        (Some([0xaa, 0xaa, 0x03]), Some(et), Some(rest)) => ether(d, et, rest),
        (Some(_), _, _) if body.len() >= 8 => {
            d.stop(Layer::Link, body, Reason::Unsupported80211(fc0))
        }
        _ => d.truncated(Layer::Link, body, 8),
    }
}

/// BSD loopback: a 4-byte address family in the capturing host's byte order (`NULL`) or in
/// network order (`LOOP`); both orders are accepted for both, as the values cannot collide.
fn null<'a>(d: &mut Decoder<'a, '_>, frame: &'a [u8]) {
    let Some(af_bytes) = frame.get(..4).and_then(|b| <[u8; 4]>::try_from(b).ok()) else {
        d.truncated(Layer::Link, frame, 4);
        return;
    };
    let le = u32::from_le_bytes(af_bytes);
    let be = u32::from_be_bytes(af_bytes);
    let is_ip = |af: u32| af == AF_INET || AF_INET6.contains(&af);
    if is_ip(le) || is_ip(be) {
        d.ip(tail(frame, 4));
    } else {
        let af = if le < 0x100 { le } else { be };
        d.stop(Layer::Link, frame, Reason::UnsupportedAddressFamily(af));
    }
}

/// Follows EtherTypes from `et` (whose payload is `bytes`) through tags and shims to IP.
///
/// Every step consumes at least 4 bytes, so the loop ends on any input.
pub(super) fn ether<'a>(d: &mut Decoder<'a, '_>, mut et: u16, mut bytes: &'a [u8]) {
    use ether_type::*;
    loop {
        match et {
            IPV4 | IPV6 => return d.ip(bytes),
            VLAN | QINQ | QINQ_OLD | QINQ_OLD2 => {
                // Tag control information (2 bytes), then the next EtherType.
                match (be16(bytes, 2), bytes.get(4..)) {
                    (Some(next), Some(rest)) => {
                        d.pkt.vlans = d.pkt.vlans.saturating_add(1);
                        et = next;
                        bytes = rest;
                    }
                    _ => return d.truncated(Layer::Vlan, bytes, 4),
                }
            }
            TEB => {
                // A complete Ethernet II header: destination, source, EtherType. The addresses
                // are recorded even when the header is cut short after them.
                let at = d.offset_of(bytes);
                for mac in [0, 6] {
                    if bytes.len() >= mac + 6 {
                        d.pkt.layers.push_mac(at.saturating_add(mac));
                    }
                }
                match (be16(bytes, 12), bytes.get(14..)) {
                    (Some(next), Some(rest)) => {
                        et = next;
                        bytes = rest;
                    }
                    _ => return d.truncated(Layer::Link, bytes, 14),
                }
            }
            MPLS_UNICAST | MPLS_MULTICAST => return mpls(d, bytes),
            PPPOE_SESSION => return pppoe(d, bytes),
            len if len < MIN_ETHER_TYPE => {
                // 802.3 length field: only LLC with a SNAP header (AA AA 03, OUI, EtherType)
                // can carry IP.
                match (bytes.get(..3), be16(bytes, 6), bytes.get(8..)) {
                    (Some([0xaa, 0xaa, 0x03]), Some(next), Some(rest)) => {
                        d.pkt.layers.link_length = true;
                        et = next;
                        bytes = rest;
                    }
                    _ => return d.stop(Layer::Link, bytes, Reason::UnsupportedEtherType(len)),
                }
            }
            other => return d.stop(Layer::Link, bytes, Reason::UnsupportedEtherType(other)),
        }
    }
}

/// MPLS label stack (RFC 3032 §2.1): 4-byte entries until the bottom-of-stack bit; the payload
/// type is not signalled, so IP is recognised by its version nibble.
fn mpls<'a>(d: &mut Decoder<'a, '_>, stack: &'a [u8]) {
    let mut rest = stack;
    loop {
        let (Some(entry), Some(after)) = (rest.get(..4), rest.get(4..)) else {
            return d.truncated(Layer::Mpls, rest, 4);
        };
        rest = after;
        if entry.get(2).is_some_and(|b| b & 1 == 1) {
            break;
        }
    }
    match rest.first() {
        Some(b) if b >> 4 == 4 || b >> 4 == 6 => d.ip(rest),
        Some(&b) => d.stop(Layer::Mpls, rest, Reason::UnsupportedMplsPayload(b)),
        None => d.truncated(Layer::Mpls, rest, 1),
    }
}

/// PPPoE session stage (RFC 2516 §4): 6-byte header, then a 2-byte PPP protocol number.
fn pppoe<'a>(d: &mut Decoder<'a, '_>, bytes: &'a [u8]) {
    let (Some(ppp), Some(rest)) = (be16(bytes, 6), bytes.get(8..)) else {
        return d.truncated(Layer::Pppoe, bytes, 8);
    };
    match ppp {
        // RFC 1332 (IPv4) and RFC 5072 (IPv6).
        0x0021 | 0x0057 => {
            d.pkt.layers.link_length = true;
            d.ip(rest)
        }
        other => d.stop(Layer::Pppoe, bytes, Reason::UnsupportedPppProtocol(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::super::*;
    use crate::capture::NETMON_LINK;

    #[test]
    fn ethernet_ipv4_udp() {
        let f = eth_udp();
        let p = decode(LinkType::ETHERNET, &f);
        check_sip_udp(&p);
        let ip = p.ip.expect("ip");
        assert_eq!((ip.src, ip.dst, ip.proto, ip.ttl), (v4(A), v4(B), 17, 64));
        assert_eq!((p.vlans, p.tunnels, p.outer), (0, 0, None));
    }

    #[test]
    fn vlan_and_qinq() {
        let ip = ipv4(17, &udp(5060, 5080, SIP));
        let one = cat(&[&eth(0x8100, &[]), &[0x00, 0x18, 0x08, 0x00], &ip]);
        let p = decode(LinkType::ETHERNET, &one);
        check_sip_udp(&p);
        assert_eq!(p.vlans, 1);
        for outer in [0x88a8u16, 0x9100, 0x8100] {
            let two = cat(&[
                &eth(outer, &[]),
                &[0, 100],
                &vlan(0x8100, 24, 0x0800)[2..],
                &ip,
            ]);
            let two = {
                // outer TCI, then inner tag (TPID already given as the outer's next type).
                let mut v = eth(outer, &[0x00, 0x64, 0x81, 0x00, 0x00, 0x18, 0x08, 0x00]);
                v.extend_from_slice(&ip);
                let _ = two;
                v
            };
            let p = decode(LinkType::ETHERNET, &two);
            check_sip_udp(&p);
            assert_eq!(p.vlans, 2, "outer tpid {outer:#x}");
        }
        // A tag cut in the middle.
        let cut = eth(0x8100, &[0x00]);
        let p = decode(LinkType::ETHERNET, &cut);
        assert_eq!(p.stop.map(|s| (s.layer, s.offset)), Some((Layer::Vlan, 14)));
    }

    #[test]
    fn linux_sll_and_sll2() {
        let ip = ipv4(17, &udp(5060, 5080, SIP));
        let sll = cat(&[&[0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0, 0x08, 0x00], &ip]);
        check_sip_udp(&decode(LinkType::LINUX_SLL, &sll));
        let sll2 = cat(&[
            &[
                0x08, 0x00, 0, 0, 0, 0, 0, 2, 0, 1, 4, 6, 2, 0, 0, 0, 0, 1, 0, 0,
            ],
            &ip,
        ]);
        check_sip_udp(&decode(LinkType::LINUX_SLL2, &sll2));
        let p = decode(LinkType::LINUX_SLL2, &sll2[..19]);
        assert_eq!(
            p.stop.map(|s| s.reason),
            Some(Reason::Truncated {
                needed: 20,
                available: 19
            })
        );
        let arp = cat(&[
            &sll2[..2].iter().map(|_| 0).collect::<Vec<u8>>(),
            &sll2[2..20],
        ]);
        let mut arp = arp;
        arp[..2].copy_from_slice(&[0x08, 0x06]);
        let p = decode(LinkType::LINUX_SLL2, &arp);
        assert_eq!(
            p.stop.map(|s| s.reason),
            Some(Reason::UnsupportedEtherType(0x0806))
        );
    }

    #[test]
    fn null_and_loop_both_byte_orders() {
        let ip4 = ipv4(17, &udp(5060, 5080, SIP));
        let ip6 = ipv6(17, &udp(5060, 5080, SIP));
        for af in [[2, 0, 0, 0], [0, 0, 0, 2]] {
            check_sip_udp(&decode(LinkType::NULL, &cat(&[&af, &ip4])));
            check_sip_udp(&decode(LinkType::LOOP, &cat(&[&af, &ip4])));
        }
        for af in [24u32, 28, 30] {
            check_sip_udp(&decode(LinkType::NULL, &cat(&[&af.to_le_bytes(), &ip6])));
            check_sip_udp(&decode(LinkType::NULL, &cat(&[&af.to_be_bytes(), &ip6])));
        }
        let frame = cat(&[&7u32.to_le_bytes(), &ip4]);
        let p = decode(LinkType::NULL, &frame);
        assert_eq!(
            p.stop.map(|s| s.reason),
            Some(Reason::UnsupportedAddressFamily(7))
        );
    }

    #[test]
    fn raw_ip_link_types() {
        let ip4 = ipv4(17, &udp(5060, 5080, SIP));
        let ip6 = ipv6(17, &udp(5060, 5080, SIP));
        for lt in [
            LinkType::RAW,
            LinkType::RAW_BSD12,
            LinkType::RAW_BSD14,
            LinkType::IPV4,
            LinkType::IPV6,
        ] {
            check_sip_udp(&decode(lt, &ip4));
            check_sip_udp(&decode(lt, &ip6));
            assert!(lt.name().is_some());
        }
        let p = decode(LinkType::RAW, &[0x75, 0, 0, 0]);
        assert_eq!(p.stop.map(|s| s.reason), Some(Reason::BadIpVersion(7)));
        let p = decode(LinkType::RAW, &[0x44, 0, 0, 0]);
        assert_eq!(
            p.stop.map(|s| s.reason),
            Some(Reason::BadIpv4HeaderLength(4))
        );
        let p = decode(LinkType(147), &ip4);
        assert_eq!(
            p.stop.map(|s| s.reason),
            Some(Reason::UnsupportedLinkType(147))
        );
        assert_eq!(LinkType(147).name(), None);
    }

    #[test]
    fn mpls_and_pppoe() {
        let ip = ipv4(17, &udp(5060, 5080, SIP));
        let mpls = cat(&[&[0, 0x10, 0x00, 0x40], &[0, 0x20, 0x01, 0x40], &ip]);
        check_sip_udp(&decode(LinkType::ETHERNET, &eth(0x8847, &mpls)));
        let pppoe = cat(&[
            &[0x11, 0x00, 0x00, 0x01],
            &((ip.len() + 2) as u16).to_be_bytes(),
            &[0x00, 0x21],
            &ip,
        ]);
        check_sip_udp(&decode(LinkType::ETHERNET, &eth(0x8864, &pppoe)));
        let lcp = cat(&[&pppoe[..6], &[0xc0, 0x21]]);
        let frame = eth(0x8864, &lcp);
        let p = decode(LinkType::ETHERNET, &frame);
        assert_eq!(
            p.stop.map(|s| s.reason),
            Some(Reason::UnsupportedPppProtocol(0xc021))
        );
    }

    #[test]
    fn ieee802_11_data_frames() {
        let ip4 = ipv4(17, &udp(5060, 5080, SIP));
        let ip6 = ipv6(17, &udp(5060, 5080, SIP));
        // From the AP: addresses 1 to 3.
        let from_ap = dot11(0x08, 0x02, &ip4);
        let p = decode(LinkType::IEEE802_11, &from_ap);
        check_sip_udp(&p);
        assert_eq!(p.layers.macs(), &[4, 10, 16]);
        // QoS data between two distribution systems: a fourth address and QoS control.
        let wds = dot11(0x88, 0x03, &ip6);
        let p = decode(LinkType::IEEE802_11, &wds);
        check_sip_udp(&p);
        assert_eq!(p.layers.macs(), &[4, 10, 16, 24]);
        assert_eq!(p.layers.ips()[0].start, 24 + 6 + 2 + 8);
        let reason = |f: Vec<u8>| decode(LinkType::IEEE802_11, &f).stop.map(|s| s.reason);
        // Protected (bit 6 of the second byte): encrypted, no IP to see.
        assert_eq!(
            reason(dot11(0x08, 0x42, &ip4)),
            Some(Reason::Protected80211)
        );
        // A beacon (management) and a null-function data frame carry no IP.
        assert_eq!(
            reason(dot11(0x80, 0x00, &ip4)),
            Some(Reason::Unsupported80211(0x80))
        );
        assert_eq!(
            reason(dot11(0x48, 0x01, &ip4)),
            Some(Reason::Unsupported80211(0x48))
        );
        // A body that is not LLC/SNAP.
        let mut f = dot11(0x08, 0x02, &ip4);
        f[24] = 0xe0;
        assert_eq!(reason(f), Some(Reason::Unsupported80211(0x08)));
        assert_eq!(LinkType::IEEE802_11.name(), Some("ieee802-11"));
    }

    #[test]
    fn netmon_records_are_recognised_not_decoded() {
        for (media, name) in [
            (0xFFE0, "netmon-event"),
            (0xFFFB, "netmon-network-info"),
            (0xFFFF, "netmon-filter"),
        ] {
            let link = LinkType(NETMON_LINK + media);
            assert_eq!(link.name(), Some(name));
            let p = decode(link, b"record");
            assert_eq!(p.stop.map(|s| s.code()), Some("netmon_record"));
        }
        let other = LinkType(NETMON_LINK + 5);
        assert_eq!(
            decode(other, b"x").stop.map(|s| s.reason),
            Some(Reason::UnsupportedLinkType(NETMON_LINK + 5))
        );
    }

    #[test]
    fn arp_is_not_ip() {
        let frame = eth(0x0806, &[0; 28]);
        let p = decode(LinkType::ETHERNET, &frame);
        assert_eq!(p.ip, None);
        assert_eq!(
            p.stop,
            Some(Stop {
                layer: Layer::Link,
                offset: 14,
                reason: Reason::UnsupportedEtherType(0x0806)
            })
        );
        assert_eq!(
            p.stop.map(|s| s.to_string()).as_deref(),
            Some("link layer at byte 14: not ip: ether type 0x0806")
        );
        assert_eq!(p.stop.map(|s| s.code()), Some("not_ip"));
    }
}
