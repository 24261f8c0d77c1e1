//! Link-layer framing and GRE: finds where the IP packet starts inside one frame.
//!
//! Takes in: the frame bytes and its pcap link type, or a GRE packet.
//! Produces: calls into the IP decoder of the parent module with the IP bytes, counting the
//! VLAN tags passed; records a [`Stop`](super::Stop) for anything that is not IP.
//! Does not: look at MAC addresses, interface indexes or packet directions.
//!
//! Formats: Ethernet II and 802.2 LLC/SNAP (IEEE 802.3), 802.1Q / 802.1ad tags (IEEE 802.1Q),
//! MPLS (RFC 3032), PPPoE sessions (RFC 2516, PPP protocol numbers of RFC 1332 / RFC 5072),
//! Linux cooked capture v1 and v2 and BSD loopback (tcpdump.org link-type pages), GRE
//! (RFC 2784 with the key and sequence fields of RFC 2890; RFC 1701 routing is refused), and
//! ERSPAN types I-III carried in GRE (draft-foschiano-erspan).

use super::{be16, Decoder, LinkType, Reason, L4};
use super::{proto, Layer};

/// EtherTypes (IEEE registry) and GRE protocol types looked at here.
mod ether_type {
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
pub(super) fn decode_link<'a>(d: &mut Decoder<'a>, link: LinkType, frame: &'a [u8]) {
    match link {
        LinkType::ETHERNET => ether(d, ether_type::TEB, frame),
        LinkType::RAW
        | LinkType::RAW_BSD12
        | LinkType::RAW_BSD14
        | LinkType::IPV4
        | LinkType::IPV6 => d.ip(frame),
        LinkType::NULL | LinkType::LOOP => null(d, frame),
        LinkType::LINUX_SLL => {
            // 16 bytes: packet type, ARPHRD type, address length, 8 address bytes, protocol.
            match (be16(frame, 14), frame.get(16..)) {
                (Some(protocol), Some(rest)) => ether(d, protocol, rest),
                _ => d.truncated(Layer::Link, frame, 16),
            }
        }
        LinkType::LINUX_SLL2 => {
            // 20 bytes: protocol, reserved, interface index, ARPHRD type, packet type,
            // address length, 8 address bytes.
            match (be16(frame, 0), frame.get(20..)) {
                (Some(protocol), Some(rest)) => ether(d, protocol, rest),
                _ => d.truncated(Layer::Link, frame, 20),
            }
        }
        LinkType(other) => d.stop(Layer::Link, frame, Reason::UnsupportedLinkType(other)),
    }
}

/// BSD loopback: a 4-byte address family in the capturing host's byte order (`NULL`) or in
/// network order (`LOOP`); both orders are accepted for both, as the values cannot collide.
fn null<'a>(d: &mut Decoder<'a>, frame: &'a [u8]) {
    let Some(af_bytes) = frame.get(..4).and_then(|b| <[u8; 4]>::try_from(b).ok()) else {
        d.truncated(Layer::Link, frame, 4);
        return;
    };
    let le = u32::from_le_bytes(af_bytes);
    let be = u32::from_be_bytes(af_bytes);
    let is_ip = |af: u32| af == AF_INET || AF_INET6.contains(&af);
    if is_ip(le) || is_ip(be) {
        d.ip(frame.get(4..).unwrap_or_default());
    } else {
        let af = if le < 0x100 { le } else { be };
        d.stop(Layer::Link, frame, Reason::UnsupportedAddressFamily(af));
    }
}

/// Follows EtherTypes from `et` (whose payload is `bytes`) through tags and shims to IP.
///
/// Every step consumes at least 4 bytes, so the loop ends on any input.
fn ether<'a>(d: &mut Decoder<'a>, mut et: u16, mut bytes: &'a [u8]) {
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
                // A complete Ethernet II header: destination, source, EtherType.
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
fn mpls<'a>(d: &mut Decoder<'a>, stack: &'a [u8]) {
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
fn pppoe<'a>(d: &mut Decoder<'a>, bytes: &'a [u8]) {
    let (Some(ppp), Some(rest)) = (be16(bytes, 6), bytes.get(8..)) else {
        return d.truncated(Layer::Pppoe, bytes, 8);
    };
    match ppp {
        // RFC 1332 (IPv4) and RFC 5072 (IPv6).
        0x0021 | 0x0057 => d.ip(rest),
        other => d.stop(Layer::Pppoe, bytes, Reason::UnsupportedPppProtocol(other)),
    }
}

/// GRE (RFC 2784, RFC 2890): flags and version, protocol type, then the optional checksum,
/// key and sequence number words announced by the C, K and S bits.
pub(super) fn decode_gre<'a>(d: &mut Decoder<'a>, gre: &'a [u8]) {
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
