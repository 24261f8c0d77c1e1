//! ICMP (RFC 792, RFC 1191) and ICMPv6 (RFC 4443) messages, with the packet an error quotes.
//!
//! Takes in: the ICMP message bytes (after the IP header).
//! Produces: an [`Icmp`] with its type, code and meaning, and for error messages the quoted
//! packet's addresses, protocol, ports and the first payload bytes ([`Quoted`]).
//! Does not: verify checksums, or decode ICMP extensions (RFC 4884) or neighbour discovery.

use std::net::IpAddr;

use etherparse::LaxIpSlice;

use super::{be16, be32, proto, Decoder, Icmp, IcmpKind, Layer, Quoted, Unreachable, L4};

/// Length of the ICMP header: type, code, checksum and 4 type-specific bytes.
const HEADER_LEN: usize = 8;

/// Decodes an ICMP (`v6 == false`) or ICMPv6 message into `d.pkt.l4`.
pub(super) fn decode_icmp<'a>(d: &mut Decoder<'a>, msg: &'a [u8], v6: bool) {
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
fn quote<'a>(d: &mut Decoder<'a>, q: &'a [u8]) -> Option<Quoted<'a>> {
    let ip = match LaxIpSlice::from_slice(q) {
        Ok((ip, _)) => ip,
        Err(e) => {
            // An error without a quote (or with a mangled one) is still an error: keep it.
            d.stop(Layer::IcmpQuoted, q, super::ip_error_reason(e));
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
            if let Some(frag) = super::ipv6_fragment_header(v6.extensions()) {
                if frag.fragment_offset().value() != 0 {
                    first_fragment = false;
                    proto = frag.next_header().0;
                }
            }
        }
    }
    Some(transport_of_quote(
        src,
        dst,
        proto,
        first_fragment,
        payload.payload,
    ))
}

/// Ports and payload of a quoted transport header; non-first fragments have no header.
fn transport_of_quote<'a>(
    src: IpAddr,
    dst: IpAddr,
    proto: u8,
    first_fragment: bool,
    t: &'a [u8],
) -> Quoted<'a> {
    let mut quoted = Quoted {
        src,
        dst,
        proto,
        src_port: None,
        dst_port: None,
        payload: &[],
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
            let rest = t.get(8..).unwrap_or_default();
            match be16(t, 4).map(usize::from) {
                Some(len) if len >= 8 => t.get(8..len).unwrap_or(rest),
                _ => rest,
            }
        }
        proto::UDPLITE => t.get(8..).unwrap_or_default(),
        proto::TCP => match t.get(12) {
            Some(&off) if off >> 4 >= 5 => t.get(usize::from(off >> 4) * 4..).unwrap_or_default(),
            _ => &[],
        },
        _ => &[],
    };
    quoted
}
