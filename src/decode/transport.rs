//! Transport layers: the dispatch on the IP protocol number, UDP (RFC 768) and TCP (RFC 9293).
//!
//! Takes in: an IP payload, its protocol number and how many bytes the IP length announced
//! beyond what was captured.
//! Produces: [`L4`] (UDP and TCP with their payloads, ICMP through `icmp.rs`, tunnels back
//! through `ip.rs`) and the [`TransportLayer`](super::TransportLayer) offsets of the header and payload.
//! Does not: verify checksums, or follow TCP streams (see `reassembly`).

use super::packet::{Decoder, Layer, Reason};
use super::{be16, be32, icmp, ip, proto, tail, Fragment, Icmp};

/// The transport layer of a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum L4<'a> {
    /// Nothing was decoded past the IP header (or no IP header at all).
    None,
    /// A UDP datagram.
    Udp(Udp<'a>),
    /// A TCP segment.
    Tcp(Tcp<'a>),
    /// An ICMP or ICMPv6 message.
    Icmp(Icmp<'a>),
    /// One fragment of an IP datagram that is not complete by itself.
    Fragment(Fragment<'a>),
    /// Another protocol, by its IP protocol number; its payload is not decoded.
    Other(u8),
}

/// A UDP header and its payload (RFC 768).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Udp<'a> {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// The payload, cut to the UDP length field when that fits, else to what was captured.
    pub payload: &'a [u8],
}

/// A TCP header's fields and its payload (RFC 9293).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tcp<'a> {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgment number (meaningful when [`TcpFlags::ACK`] is set).
    pub ack: u32,
    /// Control bits.
    pub flags: TcpFlags,
    /// Receive window, unscaled.
    pub window: u16,
    /// Segment payload after the options; empty when the options were not captured in full.
    pub payload: &'a [u8],
}

/// TCP control bits (the low byte of the flags field, RFC 9293 §3.1 and RFC 3168).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    /// No more data from sender.
    pub const FIN: TcpFlags = TcpFlags(0x01);
    /// Synchronize sequence numbers.
    pub const SYN: TcpFlags = TcpFlags(0x02);
    /// Reset the connection.
    pub const RST: TcpFlags = TcpFlags(0x04);
    /// Push function.
    pub const PSH: TcpFlags = TcpFlags(0x08);
    /// Acknowledgment field is significant.
    pub const ACK: TcpFlags = TcpFlags(0x10);
    /// Urgent pointer field is significant.
    pub const URG: TcpFlags = TcpFlags(0x20);
    /// ECN echo (RFC 3168).
    pub const ECE: TcpFlags = TcpFlags(0x40);
    /// Congestion window reduced (RFC 3168).
    pub const CWR: TcpFlags = TcpFlags(0x80);

    /// True when every bit of `other` is set in `self`.
    pub fn contains(self, other: TcpFlags) -> bool {
        self.0 & other.0 == other.0
    }
}

impl<'a> Decoder<'a, '_> {
    /// Decodes the IP payload `body` of protocol `proto`; `missing` is how many bytes the
    /// IP length field announced beyond what was captured.
    pub(super) fn transport(&mut self, proto: u8, body: &'a [u8], missing: usize) {
        match proto {
            proto::UDP => self.udp(body, missing),
            proto::TCP => self.tcp(body, missing),
            proto::ICMP | proto::ICMPV6 => {
                icmp::decode_icmp(self, body, proto == proto::ICMPV6);
                if missing > 0 {
                    self.payload_truncated(Layer::Icmp, body, body.len(), missing);
                }
            }
            proto::IPIP | proto::IPV6 => {
                if self.enter_tunnel(proto, body) {
                    self.ip(body);
                }
            }
            proto::GRE => {
                if self.enter_tunnel(proto, body) {
                    ip::gre(self, body);
                }
            }
            other => {
                self.pkt.l4 = L4::Other(other);
                if missing > 0 {
                    self.payload_truncated(Layer::Ip, body, body.len(), missing);
                }
            }
        }
    }

    /// UDP (RFC 768): 8-byte header; the length field covers header and payload.
    fn udp(&mut self, body: &'a [u8], missing: usize) {
        let (Some(src_port), Some(dst_port), Some(len)) =
            (be16(body, 0), be16(body, 2), be16(body, 4))
        else {
            self.truncated(Layer::Udp, body, 8);
            return;
        };
        let len = usize::from(len);
        let rest = tail(body, 8);
        let payload = if len < 8 {
            // Zero means "not computed" (jumbograms, offloading); either way, use what is there.
            rest
        } else if let Some(p) = body.get(8..len) {
            p
        } else {
            let reason = if missing > 0 {
                Reason::PayloadTruncated {
                    expected: len - 8,
                    captured: rest.len(),
                }
            } else {
                Reason::BadLength {
                    claimed: len,
                    available: body.len(),
                }
            };
            self.stop(Layer::Udp, body, reason);
            rest
        };
        self.pkt.l4 = L4::Udp(Udp {
            src_port,
            dst_port,
            payload,
        });
        self.pkt.layers.transport = Some(self.transport_layer(body, payload));
        if missing > 0 && len < 8 {
            self.payload_truncated(Layer::Udp, body, rest.len(), missing);
        }
    }

    /// TCP (RFC 9293 §3.1): 20-byte header plus options given by the data offset.
    fn tcp(&mut self, body: &'a [u8], missing: usize) {
        let (Some(src_port), Some(dst_port), Some(seq), Some(ack), Some(off_flags), Some(window)) = (
            be16(body, 0),
            be16(body, 2),
            be32(body, 4),
            be32(body, 8),
            be16(body, 12),
            be16(body, 14),
        ) else {
            self.truncated(Layer::Tcp, body, 20);
            return;
        };
        if body.len() < 20 {
            self.truncated(Layer::Tcp, body, 20);
            return;
        }
        let data_offset = (off_flags >> 12) as u8;
        if data_offset < 5 {
            self.stop(Layer::Tcp, body, Reason::BadTcpDataOffset(data_offset));
            return;
        }
        let header_len = usize::from(data_offset) * 4;
        let payload = match body.get(header_len..) {
            Some(p) => p,
            None => {
                self.truncated(Layer::Tcp, body, header_len);
                tail(body, body.len())
            }
        };
        self.pkt.layers.transport = Some(self.transport_layer(body, payload));
        self.pkt.l4 = L4::Tcp(Tcp {
            src_port,
            dst_port,
            seq,
            ack,
            flags: TcpFlags((off_flags & 0xff) as u8),
            window,
            payload,
        });
        if missing > 0 {
            self.payload_truncated(Layer::Tcp, body, payload.len(), missing);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::super::*;

    #[test]
    fn ethernet_padding_is_not_payload() {
        let mut f = eth(0x0800, &ipv4(17, &udp(1, 2, b"x")));
        f.extend_from_slice(&[0; 18]);
        let p = decode(LinkType::ETHERNET, &f);
        assert_eq!(udp_of(&p).payload, b"x");
        assert_eq!(p.stop, None);
    }

    #[test]
    fn tcp_segment() {
        let mut tcp = vec![
            0x13, 0xc4, 0x13, 0xc5, 0, 0, 0, 1, 0, 0, 0, 2, 0x60, 0x18, 0xff, 0xff, 0, 0, 0, 0,
        ];
        tcp.extend_from_slice(&[2, 4, 0x05, 0xb4]); // MSS option
        tcp.extend_from_slice(SIP);
        let frame = ipv4(6, &tcp);
        let p = decode(LinkType::RAW, &frame);
        let L4::Tcp(t) = p.l4 else { panic!("{p:?}") };
        assert_eq!(
            (t.src_port, t.dst_port, t.seq, t.ack, t.window),
            (5060, 5061, 1, 2, 0xffff)
        );
        assert!(t.flags.contains(TcpFlags::ACK) && t.flags.contains(TcpFlags::PSH));
        assert!(!t.flags.contains(TcpFlags::SYN));
        assert_eq!(t.payload, SIP);
        assert_eq!(p.stop, None);
        tcp[12] = 0x40;
        let frame = ipv4(6, &tcp);
        let p = decode(LinkType::RAW, &frame);
        assert_eq!(p.l4, L4::None);
        assert_eq!(
            p.stop.map(|s| (s.layer, s.offset, s.reason)),
            Some((Layer::Tcp, 20, Reason::BadTcpDataOffset(4)))
        );
    }

    #[test]
    fn snaplen_cut_udp_keeps_what_was_captured() {
        let f = eth_udp();
        let cut = &f[..f.len() - 10];
        let p = decode(LinkType::ETHERNET, cut);
        let u = udp_of(&p);
        assert_eq!(u.payload, &SIP[..SIP.len() - 10]);
        assert_eq!(
            p.stop,
            Some(Stop {
                layer: Layer::Udp,
                offset: 34,
                reason: Reason::PayloadTruncated {
                    expected: SIP.len(),
                    captured: SIP.len() - 10
                },
            })
        );
        // A UDP length larger than a complete IP packet is a lie, not a cut.
        let mut bad = ipv4(17, &udp(1, 2, b"abc"));
        bad[24..26].copy_from_slice(&100u16.to_be_bytes());
        let p = decode(LinkType::RAW, &bad);
        assert_eq!(udp_of(&p).payload, b"abc");
        assert_eq!(
            p.stop.map(|s| s.reason),
            Some(Reason::BadLength {
                claimed: 100,
                available: 11
            })
        );
    }

    /// A reassembled datagram goes through the same transport decoding as a whole packet
    /// (`defrag::Reassembled::decode`, the entry point for datagrams put back together).
    #[test]
    fn reassembled_payload_decodes_like_a_packet() {
        let reassembled = |proto: u8, payload: Vec<u8>| defrag::Reassembled {
            ip: Ip {
                src: v4(A),
                dst: v4(B),
                proto,
                ttl: 64,
            },
            payload,
            frames: vec![1, 2],
        };
        let r = reassembled(17, udp(5060, 5080, SIP));
        let p = r.decode();
        assert_eq!(udp_of(&p).payload, SIP);
        assert_eq!(p.stop, None);
        let t = p.layers.transport.expect("a transport layer");
        assert_eq!((t.start, t.payload, t.end), (0, 8, 8 + SIP.len() as u32));
        assert!(p.layers.ips().is_empty());
        let r = reassembled(132, udp(5060, 5080, SIP));
        assert_eq!(r.decode().l4, L4::Other(132));
        // A tunnel protocol is decapsulated: a UDP header is not an IP header.
        let r = reassembled(4, udp(5060, 5080, SIP));
        let p = r.decode();
        assert_eq!(p.stop.map(|s| s.reason), Some(Reason::BadIpVersion(1)));
        let r = reassembled(4, ipv4(17, &udp(5060, 5080, SIP)));
        let p = r.decode();
        check_sip_udp(&p);
        assert_eq!(p.tunnels, 1);
    }
}
