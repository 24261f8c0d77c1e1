//! Frame builders for decode's unit tests (and defrag's): IPv4/IPv6/UDP/Ethernet bytes, the sample
//! frames of every supported framing, and checks shared by the layer tests.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::{LinkType, Packet, Udp, L4};

pub(crate) const A: [u8; 4] = [10, 0, 0, 1];
pub(crate) const B: [u8; 4] = [192, 168, 1, 2];
pub(crate) const A6: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
pub(crate) const B6: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];
pub(crate) const SIP: &[u8] = b"OPTIONS sip:b SIP/2.0\r\n\r\n";

pub(crate) fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// IPv4 header (with `options`) + payload; ttl 64; fragment fields from `frag`.
pub(crate) fn ipv4_full(proto: u8, id: u16, frag: u16, options: &[u8], payload: &[u8]) -> Vec<u8> {
    let ihl = 5 + options.len() / 4;
    let total = (ihl * 4 + payload.len()) as u16;
    let mut h = vec![0x40 | ihl as u8, 0];
    h.extend_from_slice(&total.to_be_bytes());
    h.extend_from_slice(&id.to_be_bytes());
    h.extend_from_slice(&frag.to_be_bytes());
    h.extend_from_slice(&[64, proto, 0, 0]);
    h.extend_from_slice(&A);
    h.extend_from_slice(&B);
    cat(&[&h, options, payload])
}

pub(crate) fn ipv4(proto: u8, payload: &[u8]) -> Vec<u8> {
    ipv4_full(proto, 0x1234, 0x4000, &[], payload)
}

pub(crate) fn ipv6(next: u8, payload: &[u8]) -> Vec<u8> {
    let mut h = vec![0x60, 0, 0, 0];
    h.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    h.extend_from_slice(&[next, 33]);
    cat(&[&h, &A6, &B6, payload])
}

pub(crate) fn udp(sp: u16, dp: u16, payload: &[u8]) -> Vec<u8> {
    let len = (8 + payload.len()) as u16;
    cat(&[
        &sp.to_be_bytes(),
        &dp.to_be_bytes(),
        &len.to_be_bytes(),
        &[0xde, 0xad],
        payload,
    ])
}

pub(crate) fn eth(ether_type: u16, payload: &[u8]) -> Vec<u8> {
    let macs = [0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2];
    cat(&[&macs, &ether_type.to_be_bytes(), payload])
}

pub(crate) fn vlan(tpid: u16, vid: u16, inner_type: u16) -> Vec<u8> {
    cat(&[
        &tpid.to_be_bytes(),
        &vid.to_be_bytes(),
        &inner_type.to_be_bytes(),
    ])
}

pub(crate) fn udp_of(p: &Packet<'_>) -> Udp<'static> {
    match p.l4 {
        L4::Udp(u) => Udp {
            src_port: u.src_port,
            dst_port: u.dst_port,
            payload: Vec::leak(u.payload.to_vec()),
        },
        other => panic!("expected udp, got {other:?} (stop {:?})", p.stop),
    }
}

pub(crate) fn v4(a: [u8; 4]) -> IpAddr {
    IpAddr::V4(Ipv4Addr::from(a))
}

pub(crate) fn v6(a: [u8; 16]) -> IpAddr {
    IpAddr::V6(Ipv6Addr::from(a))
}

pub(crate) fn check_sip_udp(p: &Packet<'_>) {
    let u = udp_of(p);
    assert_eq!((u.src_port, u.dst_port), (5060, 5080));
    assert_eq!(u.payload, SIP);
    assert_eq!(p.stop, None);
}

pub(crate) fn eth_udp() -> Vec<u8> {
    eth(0x0800, &ipv4(17, &udp(5060, 5080, SIP)))
}

/// Sample frames of every supported framing, for the prefix and fuzz tests.
pub(crate) fn samples() -> Vec<(LinkType, Vec<u8>)> {
    let ip4 = ipv4(17, &udp(5060, 5080, SIP));
    let ip6 = ipv6(
        0,
        &cat(&[&[17, 0, 1, 4, 0, 0, 0, 0], &udp(5060, 5080, SIP)]),
    );
    let icmp = ipv4(1, &cat(&[&[3, 3, 0, 0, 0, 0, 0, 0], &ip4[..40]]));
    let icmp6 = ipv6(58, &cat(&[&[1, 4, 0, 0, 0, 0, 0, 0], &ip6]));
    let gre = ipv4(
        47,
        &cat(&[
            &[0xb0, 0x00, 0x65, 0x58],
            &[0; 12],
            &eth(0x8100, &cat(&[&[0, 1, 0x86, 0xdd], &ip6])),
        ]),
    );
    let tcp = ipv4(
        6,
        &[
            0x13, 0xc4, 0x13, 0xc5, 0, 0, 0, 1, 0, 0, 0, 2, 0x60, 0x02, 0xff, 0xff, 0, 0, 0, 0, 2,
            4, 5, 0xb4,
        ],
    );
    vec![
        (LinkType::ETHERNET, eth(0x0800, &ip4)),
        (
            LinkType::ETHERNET,
            eth(0x88a8, &cat(&[&[0, 1, 0x81, 0x00, 0, 2, 0x86, 0xdd], &ip6])),
        ),
        (LinkType::ETHERNET, eth(0x0800, &icmp)),
        (LinkType::ETHERNET, eth(0x86dd, &icmp6)),
        (LinkType::ETHERNET, eth(0x0800, &gre)),
        (
            LinkType::ETHERNET,
            eth(0x8847, &cat(&[&[0, 0, 1, 64], &tcp])),
        ),
        (LinkType::RAW, ipv4(4, &ipv4(41, &ip6))),
        (LinkType::LINUX_SLL, cat(&[&[0; 14], &[0x08, 0x00], &ip4])),
        (LinkType::LINUX_SLL2, cat(&[&[0x86, 0xdd], &[0; 18], &ip6])),
        (LinkType::NULL, cat(&[&2u32.to_le_bytes(), &ip4])),
        (LinkType::LOOP, cat(&[&30u32.to_be_bytes(), &ip6])),
        (
            LinkType::IPV4,
            ipv4_full(17, 5, 0x2001, &[1, 1, 1, 0], &udp(1, 2, SIP)),
        ),
        (LinkType::IEEE802_11, dot11(0x08, 0x02, &ip4)),
    ]
}

/// An 802.11 frame with frame control `fc0`, `fc1` (three addresses, or four with both DS bits,
/// a QoS control field when the subtype says so) carrying `ip` behind LLC/SNAP.
pub(crate) fn dot11(fc0: u8, fc1: u8, ip: &[u8]) -> Vec<u8> {
    let mut f = vec![fc0, fc1, 0, 0];
    for i in 1..=3u8 {
        f.extend_from_slice(&[0x02, 0, 0, 0, 0, i]);
    }
    f.extend_from_slice(&[0x10, 0]);
    if fc1 & 3 == 3 {
        f.extend_from_slice(&[0x02, 0, 0, 0, 0, 4]);
    }
    if fc0 & 0x80 != 0 {
        f.extend_from_slice(&[0, 0]);
    }
    let et: u16 = if ip.first().is_some_and(|b| b >> 4 == 6) {
        0x86dd
    } else {
        0x0800
    };
    cat(&[&f, &[0xaa, 0xaa, 0x03, 0, 0, 0], &et.to_be_bytes(), ip])
}
