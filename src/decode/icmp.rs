//! ICMP (RFC 792, RFC 1191) and ICMPv6 (RFC 4443) messages, with the packet an error quotes.
//!
//! Takes in: the ICMP message bytes (after the IP header).
//! Produces: an [`Icmp`] with its type, code and meaning, and for error messages the quoted
//! packet's addresses, protocol, ports and the first payload bytes ([`Quoted`]); in the
//! [`Layers`](super::Layers), the ICMP header as the transport layer and the quoted IP and
//! transport headers.
//! Does not: verify checksums, or decode ICMP extensions (RFC 4884) or neighbour discovery.

use std::net::IpAddr;

use etherparse::LaxIpSlice;

use super::packet::{Decoder, IpLayer, Layer};
use super::{be16, be32, ip, proto, tail, L4};

/// An ICMP (RFC 792) or ICMPv6 (RFC 4443) message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Icmp<'a> {
    /// True for ICMPv6.
    pub v6: bool,
    /// Raw type.
    pub icmp_type: u8,
    /// Raw code.
    pub code: u8,
    /// Meaning of type and code.
    pub kind: IcmpKind,
    /// For error messages: the start of the packet that caused the error.
    pub quoted: Option<Quoted<'a>>,
}

/// The meaning of an ICMP or ICMPv6 type and code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IcmpKind {
    /// Destination unreachable (ICMP type 3, ICMPv6 type 1).
    DestUnreachable(Unreachable),
    /// Time exceeded (ICMP type 11, ICMPv6 type 3).
    TimeExceeded,
    /// ICMPv6 packet too big (type 2, RFC 4443 §3.2) with the next-hop MTU.
    PacketTooBig {
        /// MTU of the next hop.
        mtu: u32,
    },
    /// Parameter problem (ICMP type 12, ICMPv6 type 4).
    ParameterProblem,
    /// Echo request (ping).
    EchoRequest,
    /// Echo reply.
    EchoReply,
    /// Anything else; see the raw type and code.
    Other,
}

/// Why a destination was unreachable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unreachable {
    /// Network unreachable (ICMP code 0, ICMPv6 code 0 "no route").
    Net,
    /// Host unreachable (ICMP code 1, ICMPv6 code 3 "address unreachable").
    Host,
    /// Protocol unreachable (ICMP code 2).
    Protocol,
    /// Port unreachable (ICMP code 3, ICMPv6 code 4): nothing listens there.
    Port,
    /// Administratively prohibited: a firewall rejected the packet (ICMP codes 9, 10, 13;
    /// ICMPv6 codes 1, 5, 6).
    AdminProhibited,
    /// Fragmentation needed but DF set (ICMP code 4), with the next-hop MTU of RFC 1191
    /// (0 when the router did not say).
    FragNeeded {
        /// MTU of the next hop.
        mtu: u16,
    },
    /// Another code.
    Other(u8),
}

/// The start of the packet quoted by an ICMP error (RFC 792, RFC 4443 §2.4 (c)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quoted<'a> {
    /// Source of the quoted packet (normally the host that receives the ICMP error).
    pub src: IpAddr,
    /// Destination of the quoted packet (the host or port that was unreachable).
    pub dst: IpAddr,
    /// Transport protocol of the quoted packet.
    pub proto: u8,
    /// Source port, when the quoted transport header's first 4 bytes are present
    /// (UDP, TCP, SCTP, UDP-Lite, and not a non-first fragment).
    pub src_port: Option<u16>,
    /// Destination port, as `src_port`.
    pub dst_port: Option<u16>,
    /// Quoted transport payload (after the UDP header, or after the complete TCP header);
    /// usually only its first bytes.
    pub payload: &'a [u8],
}

/// Length of the ICMP header: type, code, checksum and 4 type-specific bytes.
const HEADER_LEN: usize = 8;

/// Decodes an ICMP (`v6 == false`) or ICMPv6 message into `d.pkt.l4`.
pub(super) fn decode_icmp<'a>(d: &mut Decoder<'a, '_>, msg: &'a [u8], v6: bool) {
    let (Some(&icmp_type), Some(&code), Some(rest)) =
        (msg.first(), msg.get(1), msg.get(HEADER_LEN..))
    else {
        return d.truncated(Layer::Icmp, msg, HEADER_LEN);
    };
    let (kind, is_error) = if v6 {
        kind_v6(icmp_type, code, msg)
    } else {
        kind_v4(icmp_type, code, msg)
    };
    d.pkt.layers.transport = Some(d.transport_layer(msg, rest));
    let quoted = if is_error { quote(d, rest) } else { None };
    d.pkt.l4 = L4::Icmp(Icmp {
        v6,
        icmp_type,
        code,
        kind,
        quoted,
    });
}

/// Meaning of an ICMP type and code, and whether the message is an error that quotes a packet
/// (RFC 792; RFC 1812 §5.2.7.1 and RFC 1191 for codes 4, 9, 10, 13).
fn kind_v4(icmp_type: u8, code: u8, msg: &[u8]) -> (IcmpKind, bool) {
    match icmp_type {
        0 => (IcmpKind::EchoReply, false),
        3 => {
            let why = match code {
                0 => Unreachable::Net,
                1 => Unreachable::Host,
                2 => Unreachable::Protocol,
                3 => Unreachable::Port,
                // RFC 1191 §4: the next-hop MTU is in the low 16 bits of the second word.
                4 => Unreachable::FragNeeded {
                    mtu: be16(msg, 6).unwrap_or(0),
                },
                9 | 10 | 13 => Unreachable::AdminProhibited,
                other => Unreachable::Other(other),
            };
            (IcmpKind::DestUnreachable(why), true)
        }
        // Source quench (4) and redirect (5) also quote the offending packet.
        4 | 5 => (IcmpKind::Other, true),
        8 => (IcmpKind::EchoRequest, false),
        11 => (IcmpKind::TimeExceeded, true),
        12 => (IcmpKind::ParameterProblem, true),
        _ => (IcmpKind::Other, false),
    }
}

/// Meaning of an ICMPv6 type and code (RFC 4443 §3, §4); types below 128 are errors.
fn kind_v6(icmp_type: u8, code: u8, msg: &[u8]) -> (IcmpKind, bool) {
    match icmp_type {
        1 => {
            let why = match code {
                0 => Unreachable::Net,
                // 1: administratively prohibited, 5: source address failed ingress/egress
                // policy, 6: reject route to destination.
                1 | 5 | 6 => Unreachable::AdminProhibited,
                3 => Unreachable::Host,
                4 => Unreachable::Port,
                other => Unreachable::Other(other),
            };
            (IcmpKind::DestUnreachable(why), true)
        }
        2 => (
            IcmpKind::PacketTooBig {
                mtu: be32(msg, 4).unwrap_or(0),
            },
            true,
        ),
        3 => (IcmpKind::TimeExceeded, true),
        4 => (IcmpKind::ParameterProblem, true),
        128 => (IcmpKind::EchoRequest, false),
        129 => (IcmpKind::EchoReply, false),
        t => (IcmpKind::Other, t < 128),
    }
}

/// Decodes the packet quoted by an ICMP error: its IP header (lax: the quote is normally cut
/// short, so its length fields exceed what is there) and the start of its transport header.
fn quote<'a>(d: &mut Decoder<'a, '_>, q: &'a [u8]) -> Option<Quoted<'a>> {
    let ip = match LaxIpSlice::from_slice(q) {
        Ok((ip, _)) => ip,
        Err(e) => {
            // An error without a quote (or with a mangled one) is still an error: keep it.
            d.stop(Layer::IcmpQuoted, q, ip::ip_error_reason(e));
            return None;
        }
    };
    let (src, dst) = (ip.source_addr(), ip.destination_addr());
    let payload = ip.payload();
    let mut proto = payload.ip_number.0;
    let mut first_fragment = true;
    match &ip {
        LaxIpSlice::Ipv4(v4) => {
            first_fragment = v4.header().fragments_offset().value() == 0;
        }
        LaxIpSlice::Ipv6(v6) => {
            if let Some(frag) = ip::ipv6_fragment_header(v6.extensions()) {
                if frag.fragment_offset().value() != 0 {
                    first_fragment = false;
                    proto = frag.next_header().0;
                }
            }
        }
    }
    let (start, _) = d.span(q);
    let (body, end) = d.span(payload.payload);
    d.pkt.layers.quoted_ip = Some(IpLayer {
        start,
        payload: body,
        end,
        version: if matches!(ip, LaxIpSlice::Ipv4(_)) {
            4
        } else {
            6
        },
        proto,
        fragment: !first_fragment,
    });
    let quoted = transport_of_quote(src, dst, proto, first_fragment, payload.payload);
    if quoted.src_port.is_some() {
        d.pkt.layers.quoted_transport = Some(d.transport_layer(payload.payload, quoted.payload));
    }
    Some(quoted)
}

/// Ports and payload of a quoted transport header; non-first fragments have no header.
fn transport_of_quote<'a>(
    src: IpAddr,
    dst: IpAddr,
    proto: u8,
    first_fragment: bool,
    t: &'a [u8],
) -> Quoted<'a> {
    // "Nothing" is the empty slice at the quote's end.
    let none = tail(t, t.len());
    let mut quoted = Quoted {
        src,
        dst,
        proto,
        src_port: None,
        dst_port: None,
        payload: none,
    };
    if !first_fragment {
        return quoted;
    }
    match proto {
        proto::UDP | proto::UDPLITE | proto::TCP | proto::SCTP => {
            quoted.src_port = be16(t, 0);
            quoted.dst_port = be16(t, 2);
        }
        _ => {
            quoted.payload = t;
            return quoted;
        }
    }
    quoted.payload = match proto {
        proto::UDP => {
            let rest = t.get(8..).unwrap_or(none);
            match be16(t, 4).map(usize::from) {
                Some(len) if len >= 8 => t.get(8..len).unwrap_or(rest),
                _ => rest,
            }
        }
        proto::UDPLITE => t.get(8..).unwrap_or(none),
        proto::TCP => match t.get(12) {
            Some(&off) if off >> 4 >= 5 => t.get(usize::from(off >> 4) * 4..).unwrap_or(none),
            _ => none,
        },
        _ => none,
    };
    quoted
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::super::*;

    #[test]
    fn icmp_port_unreachable_quotes_udp() {
        let quoted = ipv4(17, &udp(5060, 5080, SIP));
        let icmp = cat(&[&[3, 3, 0, 0, 0, 0, 0, 0], &quoted[..20 + 8 + 4]]);
        let frame = ipv4(1, &icmp);
        let p = decode(LinkType::RAW, &frame);
        let L4::Icmp(i) = p.l4 else { panic!("{p:?}") };
        assert_eq!((i.v6, i.icmp_type, i.code), (false, 3, 3));
        assert_eq!(i.kind, IcmpKind::DestUnreachable(Unreachable::Port));
        let q = i.quoted.expect("quote");
        assert_eq!((q.src, q.dst, q.proto), (v4(A), v4(B), 17));
        assert_eq!(
            (q.src_port, q.dst_port, q.payload),
            (Some(5060), Some(5080), &SIP[..4])
        );
        assert_eq!(p.stop, None);
    }

    #[test]
    fn icmp_kinds() {
        let quoted = ipv4(6, &[0x13, 0xc4, 0x13, 0xc5, 0, 0, 0, 1]);
        let frag_needed = cat(&[&[3, 4, 0, 0, 0, 0, 0x05, 0xdc], &quoted]);
        let frame = ipv4(1, &frag_needed);
        let p = decode(LinkType::RAW, &frame);
        let L4::Icmp(i) = p.l4 else { panic!("{p:?}") };
        assert_eq!(
            i.kind,
            IcmpKind::DestUnreachable(Unreachable::FragNeeded { mtu: 1500 })
        );
        let q = i.quoted.expect("quote");
        assert_eq!(
            (q.proto, q.src_port, q.dst_port, q.payload),
            (6, Some(5060), Some(5061), &[][..])
        );
        for (t, c, kind) in [
            (
                3,
                13,
                IcmpKind::DestUnreachable(Unreachable::AdminProhibited),
            ),
            (3, 1, IcmpKind::DestUnreachable(Unreachable::Host)),
            (3, 7, IcmpKind::DestUnreachable(Unreachable::Other(7))),
            (11, 0, IcmpKind::TimeExceeded),
            (8, 0, IcmpKind::EchoRequest),
            (0, 0, IcmpKind::EchoReply),
            (13, 0, IcmpKind::Other),
        ] {
            let frame = ipv4(1, &[t, c, 0, 0, 0, 1, 0, 1]);
            let p = decode(LinkType::RAW, &frame);
            let L4::Icmp(i) = p.l4 else { panic!("{p:?}") };
            assert_eq!(i.kind, kind);
        }
    }

    /// A quoted IPv6 header whose extension chain stops early (a Hop-by-Hop header that is not first,
    /// a header cut short) must not make the fragment lookup read past the slice (etherparse 0.21's
    /// extension iterator did; found by fuzzing, tests/fuzz_regressions/decode/).
    #[test]
    fn icmpv6_quote_with_broken_extension_chain() {
        let dest_then_hbh = [0u8, 0, 1, 4, 0, 0, 0, 0];
        let frag_then_cut = [60u8, 0, 0, 0x11, 0, 0, 0, 1, 17, 1, 0];
        for (next, exts) in [
            (60u8, &dest_then_hbh[..]),
            (44, &frag_then_cut[..]),
            (0, &[0, 9][..]),
        ] {
            let quoted = ipv6(next, exts);
            let frame = ipv6(58, &cat(&[&[1, 4, 0, 0, 0, 0, 0, 0], &quoted]));
            for cut in 0..=frame.len() {
                let p = decode(LinkType::IPV6, &frame[..cut]);
                let _ = p.stop.map(|s| s.to_string());
            }
        }
        // A non-first fragment header before the break is still found: no transport header is read.
        let frame = ipv6(
            58,
            &cat(&[&[1, 4, 0, 0, 0, 0, 0, 0], &ipv6(44, &frag_then_cut)]),
        );
        let L4::Icmp(i) = decode(LinkType::IPV6, &frame).l4 else {
            panic!()
        };
        let q = i.quoted.expect("quote");
        assert_eq!((q.proto, q.src_port), (60, None));
    }

    #[test]
    fn icmpv6_unreachable_quotes_udp() {
        let quoted = ipv6(17, &udp(5060, 5080, SIP));
        let icmp = cat(&[&[1, 4, 0, 0, 0, 0, 0, 0], &quoted]);
        let frame = ipv6(58, &icmp);
        let p = decode(LinkType::IPV6, &frame);
        let L4::Icmp(i) = p.l4 else { panic!("{p:?}") };
        assert!(i.v6);
        assert_eq!(i.kind, IcmpKind::DestUnreachable(Unreachable::Port));
        let q = i.quoted.expect("quote");
        assert_eq!(
            (q.src, q.dst, q.proto, q.src_port, q.dst_port),
            (v6(A6), v6(B6), 17, Some(5060), Some(5080))
        );
        assert_eq!(q.payload, SIP);
        let too_big = ipv6(58, &cat(&[&[2, 0, 0, 0, 0, 0, 0x05, 0x00], &quoted[..48]]));
        let L4::Icmp(i) = decode(LinkType::IPV6, &too_big).l4 else {
            panic!()
        };
        assert_eq!(i.kind, IcmpKind::PacketTooBig { mtu: 1280 });
        let admin = ipv6(58, &[1, 1, 0, 0, 0, 0, 0, 0]);
        let p = decode(LinkType::IPV6, &admin);
        let L4::Icmp(i) = p.l4 else { panic!() };
        assert_eq!(
            i.kind,
            IcmpKind::DestUnreachable(Unreachable::AdminProhibited)
        );
        assert_eq!(i.quoted, None);
        assert_eq!(p.stop.map(|s| s.layer), Some(Layer::IcmpQuoted));
    }
}
