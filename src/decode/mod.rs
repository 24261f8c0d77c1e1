//! Link, IP and transport decoding of one captured frame, plus bounded IP defragmentation.
//!
//! Takes in: a pcap link type ([`LinkType`], the `LINKTYPE_*` number of the file or interface) and
//! the captured bytes of one frame, possibly cut short by the snapshot length.
//!
//! Produces: a borrowed [`Packet`] view: the number of 802.1Q/802.1ad tags passed, the innermost
//! IP header ([`Ip`]), the transport layer ([`L4`]: UDP, TCP, ICMP(v6) with the quoted packet of
//! an error, an IP fragment, or just the protocol number), [`Stop`] saying where and why
//! decoding ended early, and [`Layers`]: the byte offset of every layer walked (hardware
//! addresses, each IP header with tunnel outer and inner, the transport header and its payload,
//! the packet an ICMP error quotes), so that a packet can be rewritten (`export`) by the decoder
//! that read it. Nothing is allocated per packet.
//!
//! Supported framing: Ethernet II, 802.1Q / 802.1ad / QinQ tags (0x8100, 0x88a8, 0x9100,
//! 0x9200), MPLS label stacks, PPPoE sessions, Linux cooked capture v1 and v2 (SLL, SLL2), raw IP
//! (link types 101, 12, 14, 228, 229; the version nibble decides), BSD loopback (`NULL`, with the
//! address family in either byte order, and `LOOP`), unencrypted IEEE 802.11 data frames (105) with
//! LLC/SNAP; NetMon's own records (`capture::NETMON_LINK`) are recognised as such and not decoded. IPv4 options and IPv6 extension headers
//! are skipped with etherparse's lax slicing (which also tolerates length fields that disagree
//! with the captured length). Up to [`MAX_TUNNELS`] levels of IP-in-IP (RFC 2003, RFC 4213) and
//! GRE (RFC 2784, RFC 2890, with IPv4, IPv6, transparent Ethernet bridging and ERSPAN payloads)
//! are decapsulated, and the innermost IP header becomes [`Packet::ip`].
//!
//! Files: `packet.rs` (the [`Packet`] and [`Layers`] types, why decoding stopped, and the driver
//! [`decode`]), `link.rs` (link types and framing up to the IP header), `ip.rs` (IPv4, IPv6,
//! fragments, IP-in-IP and GRE), `transport.rs` (UDP, TCP, the dispatch on the IP protocol),
//! `icmp.rs` (ICMP and ICMPv6 with the quoted packet), `defrag.rs` (reassembly).
//!
//! Does not: verify any checksum (captures taken on the sending host carry offloaded, hence
//! wrong, checksums), reassemble TCP streams (see `reassembly`), or reassemble IP fragments by
//! itself: fragments come out as [`L4::Fragment`] and [`defrag::Defragmenter`] puts them back
//! together; [`defrag::Reassembled::decode`] then decodes the whole datagram.
//!
//! No input can make it panic: every read is bounds-checked and malformed input only ends
//! decoding with a [`Stop`].

pub mod defrag;
mod icmp;
mod ip;
mod link;
mod packet;
#[cfg(test)]
pub(crate) mod testkit;
mod transport;

pub use icmp::{Icmp, IcmpKind, Quoted, Unreachable};
pub use ip::{Fragment, Ip, MAX_TUNNELS};
pub use link::LinkType;
pub use packet::{
    decode, decode_into, IpLayer, Layer, Layers, Packet, Reason, Stop, TransportLayer,
    MAX_IP_LAYERS, MAX_MACS,
};
pub use transport::{Tcp, TcpFlags, Udp, L4};

/// The IP protocol numbers this module looks at (IANA "Assigned Internet Protocol Numbers").
mod proto {
    pub const ICMP: u8 = 1;
    pub const IPIP: u8 = 4;
    pub const TCP: u8 = 6;
    pub const UDP: u8 = 17;
    pub const IPV6: u8 = 41;
    pub const GRE: u8 = 47;
    pub const ICMPV6: u8 = 58;
    pub const SCTP: u8 = 132;
    pub const UDPLITE: u8 = 136;
}

/// Big-endian u16 at `at`, if present.
#[inline]
fn be16(b: &[u8], at: usize) -> Option<u16> {
    let s: [u8; 2] = b.get(at..at.checked_add(2)?)?.try_into().ok()?;
    Some(u16::from_be_bytes(s))
}

/// `b` from `at` on: the empty slice at `b`'s end when `at` is past it, never a detached one,
/// so that offsets recorded from it stay inside the enclosing layer.
#[inline]
fn tail(b: &[u8], at: usize) -> &[u8] {
    &b[at.min(b.len())..]
}

/// Big-endian u32 at `at`, if present.
#[inline]
fn be32(b: &[u8], at: usize) -> Option<u32> {
    let s: [u8; 4] = b.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(u32::from_be_bytes(s))
}
