//! Rewriting of captured frames: link-layer and IP addresses, ARP and neighbour discovery, ICMP
//! quotes, and the text payloads of UDP and TCP, with lengths and checksums kept right.
//!
//! Takes one frame and its link type; produces the rewritten frame. Does not decide pseudonyms
//! (`table.rs`) or parse text (`text.rs`).

use std::net::{Ipv4Addr, Ipv6Addr};

use super::table::Pseudonyms;
use super::text::{texty, Flavour};
use crate::proto::sip::looks_like_sip;

/// An RTCP packet (RFC 3550 §6.4): version 2, packet type 200 to 207.
fn is_rtcp(b: &[u8]) -> bool {
    b.len() >= 8 && b[0] >> 6 == 2 && (200..=207).contains(&b[1])
}

/// The one's-complement sum of 16-bit words (RFC 1071), not yet folded or inverted.
fn sum16(b: &[u8], mut acc: u32) -> u32 {
    let mut chunks = b.chunks_exact(2);
    for w in &mut chunks {
        acc = acc.wrapping_add(u32::from(u16::from_be_bytes([w[0], w[1]])));
    }
    if let [last] = chunks.remainder() {
        acc = acc.wrapping_add(u32::from(*last) << 8);
    }
    acc
}

fn fold(mut acc: u32) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    !(acc as u16)
}

/// The pseudo-header sum of a transport checksum (RFC 768, RFC 9293 §3.1, RFC 8200 §8.1).
fn pseudo(src: &[u8], dst: &[u8], proto: u8, len: usize) -> u32 {
    let mut acc = sum16(src, 0);
    acc = sum16(dst, acc);
    acc = acc.wrapping_add(u32::from(proto));
    acc.wrapping_add(len as u32 & 0xffff)
        .wrapping_add((len as u32) >> 16)
}

fn put16(b: &mut [u8], at: usize, v: u16) {
    if let Some(s) = b.get_mut(at..at + 2) {
        s.copy_from_slice(&v.to_be_bytes());
    }
}

fn get16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

/// How a transport payload may be rewritten.
#[derive(Clone, Copy)]
pub(super) struct Ctx {
    /// Lengths must stay (TCP, fragments, quoted packets, cut frames).
    pub(super) fit: bool,
    /// Inside an ICMP error: the quoted packet is partial, no checksums but the IP header's.
    pub(super) quoted: bool,
    pub(super) depth: u8,
}

impl Pseudonyms {
    /// Rewrites an IP packet (`b` from its first header byte to the frame's end); returns the new
    /// bytes (the IP packet, then whatever followed it in the frame).
    pub(super) fn ip_packet(&mut self, b: &[u8], ctx: Ctx) -> Vec<u8> {
        match b.first().map(|v| v >> 4) {
            Some(4) => self.ipv4(b, ctx),
            Some(6) => self.ipv6(b, ctx),
            _ => b.to_vec(),
        }
    }

    fn ipv4(&mut self, b: &[u8], ctx: Ctx) -> Vec<u8> {
        let ihl = usize::from(b[0] & 0x0f) * 4;
        if ihl < 20 || b.len() < ihl {
            return b.to_vec();
        }
        let mut head = b[..ihl].to_vec();
        for at in [12, 16] {
            let a = Ipv4Addr::new(head[at], head[at + 1], head[at + 2], head[at + 3]);
            head[at..at + 4].copy_from_slice(&self.v4(a).octets());
        }
        let total = usize::from(get16(b, 2).unwrap_or(0));
        // A zero or too-small total length (segmentation offload) means: up to the frame's end.
        let end = if total >= ihl {
            total.min(b.len())
        } else {
            b.len()
        };
        let cut = total > b.len();
        let proto = b[9];
        let frag = get16(b, 6).unwrap_or(0);
        let offset = frag & 0x1fff;
        let more = frag & 0x2000 != 0;
        let payload = &b[ihl..end];
        let (src, dst) = (head[12..16].to_vec(), head[16..20].to_vec());
        let new_payload = if offset > 0 {
            if texty(payload) {
                self.generic(payload, true, Flavour::Sip)
            } else {
                payload.to_vec()
            }
        } else {
            let inner = Ctx {
                fit: ctx.fit || more || cut,
                quoted: ctx.quoted,
                depth: ctx.depth,
            };
            self.transport(proto, payload, &src, &dst, inner, more || cut, false)
        };
        if !ctx.fit && total >= ihl && new_payload.len() != payload.len() {
            put16(&mut head, 2, (ihl + new_payload.len()).min(0xffff) as u16);
        }
        put16(&mut head, 10, 0);
        let sum = fold(sum16(&head, 0));
        put16(&mut head, 10, sum);
        let mut out = head;
        out.extend(new_payload);
        out.extend_from_slice(&b[end..]);
        out
    }

    fn ipv6(&mut self, b: &[u8], ctx: Ctx) -> Vec<u8> {
        if b.len() < 40 {
            return b.to_vec();
        }
        let mut out = b[..40].to_vec();
        for at in [8, 24] {
            let mut o = [0u8; 16];
            o.copy_from_slice(&b[at..at + 16]);
            out[at..at + 16].copy_from_slice(&self.v6(Ipv6Addr::from(o)).octets());
        }
        let plen = usize::from(get16(b, 4).unwrap_or(0));
        let end = if plen == 0 {
            b.len()
        } else {
            (40 + plen).min(b.len())
        };
        let cut = 40 + plen > b.len();
        // Walk the extension headers (RFC 8200 §4) to the transport header.
        let mut next = b[6];
        let mut at = 40;
        let mut fragment = None;
        loop {
            match next {
                0 | 43 | 60 => {
                    let (Some(&nh), Some(&l)) = (b.get(at), b.get(at + 1)) else {
                        break;
                    };
                    next = nh;
                    at += (usize::from(l) + 1) * 8;
                }
                51 => {
                    let (Some(&nh), Some(&l)) = (b.get(at), b.get(at + 1)) else {
                        break;
                    };
                    next = nh;
                    at += (usize::from(l) + 2) * 4;
                }
                44 => {
                    let (Some(&nh), Some(f)) = (b.get(at), get16(b, at + 2)) else {
                        break;
                    };
                    fragment = Some((f >> 3, f & 1 == 1));
                    next = nh;
                    at += 8;
                }
                _ => break,
            }
            if at > end {
                break;
            }
        }
        if at > end {
            out.extend_from_slice(&b[40..]);
            return out;
        }
        out.extend_from_slice(&b[40..at]);
        let payload = &b[at..end];
        let (src, dst) = (out[8..24].to_vec(), out[24..40].to_vec());
        let new_payload = match fragment {
            Some((off, _)) if off > 0 => {
                if texty(payload) {
                    self.generic(payload, true, Flavour::Sip)
                } else {
                    payload.to_vec()
                }
            }
            _ => {
                let partial = fragment.is_some_and(|(_, more)| more) || cut;
                let inner = Ctx {
                    fit: ctx.fit || partial,
                    quoted: ctx.quoted,
                    depth: ctx.depth,
                };
                self.transport(next, payload, &src, &dst, inner, partial, true)
            }
        };
        if !ctx.fit && plen != 0 && new_payload.len() != payload.len() {
            put16(
                &mut out,
                4,
                (at - 40 + new_payload.len()).min(0xffff) as u16,
            );
        }
        out.extend(new_payload);
        out.extend_from_slice(&b[end..]);
        out
    }

    /// The body (after type, code, checksum and the reserved/flags word) of a neighbour solicitation
    /// (135), advertisement (136) or redirect (137).
    fn ndp(&mut self, t: u8, body: &[u8]) -> Vec<u8> {
        let mut out = body.to_vec();
        let addrs = if t == 137 { 2 } else { 1 };
        for k in 0..addrs {
            if let Some(s) = out.get_mut(k * 16..k * 16 + 16) {
                let mut o = [0u8; 16];
                o.copy_from_slice(s);
                s.copy_from_slice(&self.v6(Ipv6Addr::from(o)).octets());
            }
        }
        // Options: type, length in units of 8 bytes; 1 and 2 carry a link-layer address.
        let mut at = addrs * 16;
        while let (Some(&ty), Some(&len)) = (out.get(at), out.get(at + 1)) {
            if len == 0 {
                break;
            }
            if ty == 1 || ty == 2 {
                if let Some(s) = out.get_mut(at + 2..at + 8) {
                    let mut mac = [0u8; 6];
                    mac.copy_from_slice(s);
                    s.copy_from_slice(&self.mac(mac));
                }
            }
            at += usize::from(len) * 8;
        }
        out
    }

    /// Rewrites a transport payload; `partial`: the frame does not hold the whole datagram.
    #[allow(clippy::too_many_arguments)]
    fn transport(
        &mut self,
        proto: u8,
        b: &[u8],
        src: &[u8],
        dst: &[u8],
        ctx: Ctx,
        partial: bool,
        v6: bool,
    ) -> Vec<u8> {
        match proto {
            17 if b.len() >= 8 => {
                let ulen = usize::from(get16(b, 4).unwrap_or(0));
                let end = if ulen >= 8 {
                    ulen.min(b.len())
                } else {
                    b.len()
                };
                let payload = &b[8..end];
                let new_payload = if looks_like_sip(payload) {
                    self.sip(payload, ctx.fit)
                } else if texty(payload) || is_rtcp(payload) {
                    // Other text (syslog, continuations of fragmented SIP) and RTCP (SDES CNAMEs are
                    // often user@host): addresses and names in place, length kept.
                    self.generic(payload, true, Flavour::Sip)
                } else {
                    payload.to_vec()
                };
                let mut out = b[..8].to_vec();
                let new_len = new_payload.len();
                if ulen >= 8 && new_payload.len() != payload.len() {
                    put16(&mut out, 4, (8 + new_payload.len()).min(0xffff) as u16);
                }
                out.extend(new_payload);
                out.extend_from_slice(&b[end..]);
                let had_sum = get16(b, 6).unwrap_or(0) != 0;
                if ctx.quoted || partial {
                    // The datagram is not all here: no checksum can be computed. IPv4 allows "none".
                    if !v6 {
                        put16(&mut out, 6, 0);
                    }
                } else if had_sum || v6 {
                    put16(&mut out, 6, 0);
                    let len = 8 + new_len;
                    let sum = fold(sum16(&out[..len], pseudo(src, dst, 17, len)));
                    put16(&mut out, 6, if sum == 0 { 0xffff } else { sum });
                }
                out
            }
            6 if b.len() >= 20 => {
                let hlen = usize::from(b[12] >> 4) * 4;
                if hlen < 20 || hlen > b.len() {
                    return b.to_vec();
                }
                let payload = &b[hlen..];
                let mut out = b[..hlen].to_vec();
                if looks_like_sip(payload) {
                    out.extend(self.sip(payload, true));
                } else if texty(payload) {
                    out.extend(self.generic(payload, true, Flavour::Sip));
                } else {
                    out.extend_from_slice(payload);
                }
                if !ctx.quoted && !partial {
                    put16(&mut out, 16, 0);
                    let sum = fold(sum16(&out, pseudo(src, dst, 6, out.len())));
                    put16(&mut out, 16, sum);
                }
                out
            }
            1 | 58 if b.len() >= 8 => {
                let t = b[0];
                let error = if proto == 1 {
                    matches!(t, 3 | 4 | 5 | 11 | 12)
                } else {
                    (1..=4).contains(&t)
                };
                let mut out = b[..8].to_vec();
                if proto == 58 && (135..=137).contains(&t) {
                    // Neighbour discovery (RFC 4861 §4.3-4.5): target (and redirect destination)
                    // addresses, then options with link-layer addresses.
                    out.extend(self.ndp(t, &b[8..]));
                } else if error && ctx.depth < 2 {
                    let inner = Ctx {
                        fit: true,
                        quoted: true,
                        depth: ctx.depth + 1,
                    };
                    out.extend(self.ip_packet(&b[8..], inner));
                } else {
                    out.extend_from_slice(&b[8..]);
                }
                if !ctx.quoted && !partial {
                    put16(&mut out, 2, 0);
                    let acc = if proto == 58 {
                        pseudo(src, dst, 58, out.len())
                    } else {
                        0
                    };
                    let sum = fold(sum16(&out, acc));
                    put16(&mut out, 2, sum);
                }
                out
            }
            4 | 41 if ctx.depth < 4 => self.ip_packet(
                b,
                Ctx {
                    fit: ctx.fit,
                    quoted: ctx.quoted,
                    depth: ctx.depth + 1,
                },
            ),
            _ => b.to_vec(),
        }
    }
}

/// ARP for IPv4 over Ethernet (RFC 826) at `at`: sender and target hardware and protocol addresses.
fn arp(m: &mut Pseudonyms, b: &mut [u8], at: usize) {
    let Some(h) = b.get(at..at + 8) else {
        return;
    };
    if h[..6] != [0, 1, 8, 0, 6, 4] {
        return;
    }
    for (mac, ip) in [(at + 8, at + 14), (at + 18, at + 24)] {
        if let Some(s) = b.get_mut(mac..mac + 6) {
            let mut o = [0u8; 6];
            o.copy_from_slice(s);
            s.copy_from_slice(&m.mac(o));
        }
        if let Some(s) = b.get_mut(ip..ip + 4) {
            let a = Ipv4Addr::new(s[0], s[1], s[2], s[3]);
            s.copy_from_slice(&m.v4(a).octets());
        }
    }
}

/// Where the IP header starts in a frame of this link type, rewriting link-layer addresses on the way.
pub(super) fn link_ip_offset(m: &mut Pseudonyms, link: u32, b: &mut [u8]) -> Option<usize> {
    let mac_at = |m: &mut Pseudonyms, b: &mut [u8], at: usize| {
        if let Some(s) = b.get_mut(at..at + 6) {
            let mut mac = [0u8; 6];
            mac.copy_from_slice(s);
            s.copy_from_slice(&m.mac(mac));
        }
    };
    match link {
        // Ethernet, with 802.1Q / 802.1ad tags.
        1 => {
            mac_at(m, b, 0);
            mac_at(m, b, 6);
            let mut at = 12;
            loop {
                let ty = get16(b, at)?;
                match ty {
                    0x8100 | 0x88a8 | 0x9100 | 0x9200 => at += 4,
                    0x0800 | 0x86dd => return Some(at + 2),
                    0x0806 => {
                        arp(m, b, at + 2);
                        return None;
                    }
                    _ => return None,
                }
            }
        }
        // Linux cooked v1: 16 bytes, link-layer address at 6 (up to 8 bytes), protocol at 14.
        113 => {
            if matches!(get16(b, 4), Some(6)) {
                mac_at(m, b, 6);
            }
            if get16(b, 14) == Some(0x0806) {
                arp(m, b, 16);
            }
            matches!(get16(b, 14), Some(0x0800 | 0x86dd)).then_some(16)
        }
        // Linux cooked v2: 20 bytes, protocol at 0, address length at 11, address at 12.
        276 => {
            if b.get(11) == Some(&6) {
                mac_at(m, b, 12);
            }
            if get16(b, 0) == Some(0x0806) {
                arp(m, b, 20);
            }
            matches!(get16(b, 0), Some(0x0800 | 0x86dd)).then_some(20)
        }
        0 | 108 => (b.len() > 4).then_some(4),
        12 | 14 | 101 | 228 | 229 => Some(0),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::table::padded;
    use super::super::Redactor;
    use super::*;
    use etherparse::{PacketBuilder, SlicedPacket, TransportSlice};

    const SIP: &str = "INVITE sip:+4915112345678@pbx.example.com SIP/2.0\r\n\
        Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-1\r\n\
        From: Alice Smith <sip:alice@10.0.0.1>;tag=1\r\n\
        To: \"Bob\" <sip:+4915112345678@pbx.example.com>\r\n\
        Call-ID: abc123@10.0.0.1\r\n\
        CSeq: 1 INVITE\r\n\
        Content-Type: application/sdp\r\n\
        l: 52\r\n\r\n\
        v=0\r\n\
        o=alice 1 1 IN IP4 10.0.0.1\r\n\
        c=IN IP6 fe80::1\r\n";

    fn eth_udp(payload: &[u8]) -> Vec<u8> {
        let b = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
            .ipv4([10, 0, 0, 1], [192, 0, 2, 20], 64)
            .udp(5060, 5060);
        let mut out = Vec::new();
        b.write(&mut out, payload).expect("a Vec");
        out
    }

    fn eth_tcp(payload: &[u8]) -> Vec<u8> {
        let b = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
            .ipv4([10, 0, 0, 1], [192, 0, 2, 20], 64)
            .tcp(40000, 5060, 1000, 1000)
            .ack(1)
            .psh();
        let mut out = Vec::new();
        b.write(&mut out, payload).expect("a Vec");
        out
    }

    /// IPv4 header checksum and the transport checksum verify.
    fn checksums_ok(frame: &[u8]) -> bool {
        let ip = &frame[14..];
        let ihl = usize::from(ip[0] & 15) * 4;
        let total = usize::from(get16(ip, 2).unwrap());
        let header_ok = fold(sum16(&ip[..ihl], 0)) == 0;
        let seg = &ip[ihl..total];
        let proto = ip[9];
        let acc = if proto == 1 {
            0
        } else {
            pseudo(&ip[12..16], &ip[16..20], proto, seg.len())
        };
        let t = fold(sum16(seg, acc));
        header_ok && t == 0
    }

    fn payload_of(frame: &[u8]) -> Vec<u8> {
        let p = SlicedPacket::from_ethernet(frame).expect("a valid packet");
        match p.transport {
            Some(TransportSlice::Udp(u)) => u.payload().to_vec(),
            Some(TransportSlice::Tcp(t)) => t.payload().to_vec(),
            _ => panic!("no transport"),
        }
    }

    fn has(hay: &[u8], needle: &str) -> bool {
        hay.windows(needle.len()).any(|w| w == needle.as_bytes())
    }

    #[test]
    fn a_sip_datagram_that_changes_length_gets_its_lengths_and_checksums_fixed() {
        let r = Redactor::new();
        let frame = eth_udp(SIP.as_bytes());
        let out = r.packet(1, &frame);
        let sip = payload_of(&out);
        let text = String::from_utf8_lossy(&sip);
        for gone in [
            "10.0.0.1",
            "fe80::1",
            "192.0.2.20",
            "alice",
            "Alice",
            "Bob",
            "pbx.example",
            "4915112345678",
        ] {
            assert!(!has(&sip, gone), "{gone} in {text}");
        }
        // fe80::1 (7 characters) has no pseudonym of its length in 2001:db8::/32: the body grew by 4
        // and `l:` follows; the other pseudonyms have their original's length.
        let body = &sip[sip
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("a body")
            + 4..];
        assert!(text.contains(&format!("l: {}\r\n", body.len())), "{text}");
        assert_eq!(out.len(), frame.len() + 4);
        assert!(text.contains("l: 56\r\n"), "{text}");
        assert!(checksums_ok(&out));
        assert!(crate::proto::sip::parse(&sip).is_ok());
        assert!(text.contains("From: name-000001 <sip:"), "{text}");
        assert!(text.contains("Call-ID: abc123@0.0.0.10\r\n"), "{text}");
        assert!(text.contains("c=IN IP6 2001:db8::1\r\n"), "{text}");
    }

    #[test]
    fn a_tcp_segment_keeps_its_length() {
        let r = Redactor::new();
        let frame = eth_tcp(SIP.as_bytes());
        let out = r.packet(1, &frame);
        assert_eq!(out.len(), frame.len());
        assert!(checksums_ok(&out));
        let sip = payload_of(&out);
        for gone in [
            "192.0.2.20",
            "alice",
            "Alice",
            "Bob",
            "pbx.example",
            "4915112345678",
        ] {
            assert!(
                !has(&sip, gone),
                "{gone} in {}",
                String::from_utf8_lossy(&sip)
            );
        }
    }

    #[test]
    fn udp_and_tcp_give_the_same_pseudonyms_for_addresses_of_ten_characters_or_more() {
        let r = Redactor::new();
        let text = "INVITE sip:bob@192.0.2.20 SIP/2.0\r\nCall-ID: x@pbx.example.com\r\n\r\n";
        let udp = payload_of(&r.packet(1, &eth_udp(text.as_bytes())));
        let tcp = payload_of(&r.packet(1, &eth_tcp(text.as_bytes())));
        assert_eq!(udp, tcp);
        assert_eq!(udp.len(), text.len());
        assert_eq!(
            r.call_id("x@pbx.example.com"),
            "x@host-01.invalid".replace("01", &padded(1, 2))
        );
    }

    #[test]
    fn icmp_errors_get_their_quoted_packet_redacted() {
        let r = Redactor::new();
        let quoted = eth_udp(b"INVITE sip:bob@192.0.2.20 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1\r\n");
        let quoted_ip = &quoted[14..];
        let b = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 2], [2, 0, 0, 0, 0, 1])
            .ipv4([192, 0, 2, 20], [10, 0, 0, 1], 64)
            .icmpv4(etherparse::Icmpv4Type::DestinationUnreachable(
                etherparse::icmpv4::DestUnreachableHeader::Port,
            ));
        let mut frame = Vec::new();
        b.write(&mut frame, quoted_ip).expect("a Vec");
        let out = r.packet(1, &frame);
        assert_eq!(out.len(), frame.len());
        assert!(checksums_ok(&out));
        for gone in ["192.0.2.20", "10.0.0.1"] {
            assert!(!has(&out, gone));
        }
        assert!(!out
            .windows(4)
            .any(|w| w == [192, 0, 2, 20] || w == [10, 0, 0, 1]));
        let inner = &out[14 + 20 + 8..];
        assert_eq!(
            fold(sum16(&inner[..20], 0)),
            0,
            "quoted IPv4 header checksum"
        );
    }

    #[test]
    fn addresses_glued_to_tokens_and_in_rtcp_are_found() {
        let r = Redactor::new();
        let t = r.sip(
            b"Via: SIP/2.0/UDP h;branch=z9hG4bKnp1-481b9fc8192.168.1.2;rport\r\n",
            true,
        );
        assert!(!has(&t, "192.168.1.2"), "{}", String::from_utf8_lossy(&t));
        assert!(has(&t, "481b9fc8"));
        // An RTCP SDES CNAME `user@192.168.1.2` in a binary packet.
        let mut rtcp = vec![0x81, 202, 0, 6, 1, 2, 3, 4, 1, 13];
        rtcp.extend_from_slice(b"x@192.168.1.2");
        rtcp.push(0);
        let out = r.packet(1, &eth_udp(&rtcp));
        assert!(!has(&out, "192.168.1.2"));
        assert_eq!(out.len(), eth_udp(&rtcp).len());
    }

    #[test]
    fn truncated_frames_never_panic() {
        let r = Redactor::new();
        let frames = [eth_udp(SIP.as_bytes()), eth_tcp(SIP.as_bytes())];
        for frame in &frames {
            for link in [1, 101, 113, 276, 0] {
                for n in 0..=frame.len() {
                    let _ = r.packet(link, &frame[..n]);
                }
            }
        }
        for n in 0..=SIP.len() {
            let _ = r.sip(&SIP.as_bytes()[..n], false);
            let _ = r.sip(&SIP.as_bytes()[..n], true);
        }
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(
            data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300),
            link in proptest::sample::select(vec![0u32, 1, 101, 113, 276, 228, 229]),
        ) {
            let r = Redactor::new();
            let out = r.packet(link, &data);
            let kept = r.sip(&data, true);
            proptest::prop_assert_eq!(kept.len(), data.len());
            let _ = r.text(&String::from_utf8_lossy(&data));
            let _ = out;
        }

        #[test]
        fn arbitrary_text_keeps_its_length_when_asked(s in "[ -~\r\n]{0,200}") {
            let r = Redactor::new();
            proptest::prop_assert_eq!(r.sip(s.as_bytes(), true).len(), s.len());
        }
    }
}
