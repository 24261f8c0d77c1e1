//! Link, IP and transport decoding of one captured frame, plus bounded IP defragmentation.
//!
//! Takes in: a pcap link type ([`LinkType`], the `LINKTYPE_*` number of the file or interface) and
//! the captured bytes of one frame, possibly cut short by the snapshot length.
//!
//! Produces: a borrowed [`Packet`] view: the number of 802.1Q/802.1ad tags passed, the innermost
//! IP header ([`Ip`]), the transport layer ([`L4`]: UDP, TCP, ICMP(v6) with the quoted packet of
//! an error, an IP fragment, or just the protocol number), and [`Stop`] saying where and why
//! decoding ended early. Nothing is allocated per packet.
//!
//! Supported framing: Ethernet II, 802.1Q / 802.1ad / QinQ tags (0x8100, 0x88a8, 0x9100,
//! 0x9200), MPLS label stacks, PPPoE sessions, Linux cooked capture v1 and v2 (SLL, SLL2), raw IP
//! (link types 101, 12, 14, 228, 229; the version nibble decides), BSD loopback (`NULL`, with the
//! address family in either byte order, and `LOOP`). IPv4 options and IPv6 extension headers
//! are skipped with etherparse's lax slicing (which also tolerates length fields that disagree
//! with the captured length). Up to [`MAX_TUNNELS`] levels of IP-in-IP (RFC 2003, RFC 4213) and
//! GRE (RFC 2784, RFC 2890, with IPv4, IPv6, transparent Ethernet bridging and ERSPAN payloads)
//! are decapsulated, and the innermost IP header becomes [`Packet::ip`].
//!
//! Does not: verify any checksum (captures taken on the sending host carry offloaded, hence
//! wrong, checksums), reassemble TCP streams (see `reassembly`), or reassemble IP fragments by
//! itself: fragments come out as [`L4::Fragment`] and [`defrag::Defragmenter`] puts them back
//! together; [`defrag::Reassembled::decode`] then decodes the whole datagram.
//!
//! No input can make it panic: every read is bounds-checked and malformed input only ends
//! decoding with a [`Stop`].

use std::net::IpAddr;

use etherparse::err::ip::{HeaderError as IpHeaderError, LaxHeaderSliceError};
use etherparse::err::ipv6_exts::{HeaderError as ExtHeaderError, HeaderSliceError};
use etherparse::{Ipv6ExtensionsSlice, Ipv6FragmentHeaderSlice, LaxIpSlice};

pub mod defrag;
mod icmp;
mod link;

/// The first Fragment header (RFC 8200 §4.5) among the IPv6 extension headers `exts`.
///
/// Walks the headers itself, bounds-checked, instead of with etherparse's
/// `Ipv6ExtensionSliceIter`: in etherparse 0.21 that iterator assumes the slice ends where a
/// non-extension next header begins, which lax slicing does not ensure (the slice stops early at
/// a header cut short, or at a Hop-by-Hop header that is not first), and then reads past the
/// slice's end (found by the `decode` fuzz target; see tests/fuzz_regressions/decode/).
fn ipv6_fragment_header<'a>(exts: &Ipv6ExtensionsSlice<'a>) -> Option<Ipv6FragmentHeaderSlice<'a>> {
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

/// Maximum number of nested tunnels (IP-in-IP, GRE) that [`decode`] removes.
pub const MAX_TUNNELS: u8 = 2;

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
    /// with `-` for `_` (`ethernet`, `linux-sll`, ...); `None` for link types [`decode`] does
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
            _ => return None,
        })
    }
}

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
}

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
            | Reason::UnsupportedMplsPayload(_) => "not_ip",
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
    let mut d = Decoder::new(data);
    link::decode_link(&mut d, link, data);
    d.pkt
}

/// Decodes the transport layer of an IP payload, e.g. a datagram reassembled from fragments.
///
/// `_src` and `_dst` are the datagram's addresses; they are not needed today (checksums are
/// not verified) and keep the call site stable if they ever are. Tunnel protocols (4, 41, 47)
/// come back as [`L4::Other`]; [`defrag::Reassembled::decode`] decodes a reassembled datagram
/// including tunnels and also says why decoding stopped.
pub fn decode_l4(proto: u8, _src: IpAddr, _dst: IpAddr, payload: &[u8]) -> L4<'_> {
    let mut d = Decoder::new(payload);
    // A fresh decoder at depth MAX_TUNNELS treats tunnel protocols as opaque.
    d.pkt.tunnels = MAX_TUNNELS;
    d.transport(proto, payload, 0);
    d.pkt.l4
}

/// Decoding state for one frame: the frame's bytes and the packet built so far.
struct Decoder<'a> {
    data: &'a [u8],
    pkt: Packet<'a>,
}

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

impl<'a> Decoder<'a> {
    fn new(data: &'a [u8]) -> Self {
        Decoder {
            data,
            pkt: Packet {
                vlans: 0,
                tunnels: 0,
                outer: None,
                ip: None,
                l4: L4::None,
                stop: None,
            },
        }
    }

    /// Byte offset of `sub` (a sub-slice of the frame) from the frame start.
    fn offset_of(&self, sub: &[u8]) -> usize {
        (sub.as_ptr() as usize).wrapping_sub(self.data.as_ptr() as usize)
    }

    /// Records why decoding stopped; the first reason wins.
    fn stop(&mut self, layer: Layer, at: &[u8], reason: Reason) {
        if self.pkt.stop.is_none() {
            let offset = self.offset_of(at);
            self.pkt.stop = Some(Stop {
                layer,
                offset,
                reason,
            });
        }
    }

    /// Decodes an IPv4 or IPv6 packet starting at `bytes[0]` and everything inside it.
    fn ip(&mut self, bytes: &'a [u8]) {
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
        if self.pkt.ip.is_some() && self.pkt.outer.is_none() {
            self.pkt.outer = self.pkt.ip;
        }
        self.pkt.ip = Some(header);
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

    /// Decodes the IP payload `body` of protocol `proto`; `missing` is how many bytes the
    /// IP length field announced beyond what was captured.
    fn transport(&mut self, proto: u8, body: &'a [u8], missing: usize) {
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
                    link::decode_gre(self, body);
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

    /// Counts one more tunnel level; false (and a stop) when the bound is reached.
    fn enter_tunnel(&mut self, proto: u8, body: &'a [u8]) -> bool {
        if self.pkt.tunnels >= MAX_TUNNELS {
            self.pkt.l4 = L4::Other(proto);
            self.stop(Layer::Ip, body, Reason::TooManyTunnels);
            return false;
        }
        self.pkt.tunnels += 1;
        true
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
        let rest = body.get(8..).unwrap_or_default();
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
                &[]
            }
        };
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

    fn truncated(&mut self, layer: Layer, at: &'a [u8], needed: usize) {
        let available = at.len();
        self.stop(layer, at, Reason::Truncated { needed, available });
    }

    fn payload_truncated(&mut self, layer: Layer, at: &'a [u8], captured: usize, missing: usize) {
        let expected = captured.saturating_add(missing);
        self.stop(layer, at, Reason::PayloadTruncated { expected, captured });
    }
}

/// Maps etherparse's IP header error to a [`Reason`].
fn ip_error_reason(e: LaxHeaderSliceError) -> Reason {
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

/// Big-endian u16 at `at`, if present.
#[inline]
fn be16(b: &[u8], at: usize) -> Option<u16> {
    let s: [u8; 2] = b.get(at..at.checked_add(2)?)?.try_into().ok()?;
    Some(u16::from_be_bytes(s))
}

/// Big-endian u32 at `at`, if present.
#[inline]
fn be32(b: &[u8], at: usize) -> Option<u32> {
    let s: [u8; 4] = b.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(u32::from_be_bytes(s))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    pub(crate) const A: [u8; 4] = [10, 0, 0, 1];
    pub(crate) const B: [u8; 4] = [192, 168, 1, 2];
    pub(crate) const A6: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    pub(crate) const B6: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];
    const SIP: &[u8] = b"OPTIONS sip:b SIP/2.0\r\n\r\n";

    pub(crate) fn cat(parts: &[&[u8]]) -> Vec<u8> {
        parts.concat()
    }

    /// IPv4 header (with `options`) + payload; ttl 64; fragment fields from `frag`.
    pub(crate) fn ipv4_full(
        proto: u8,
        id: u16,
        frag: u16,
        options: &[u8],
        payload: &[u8],
    ) -> Vec<u8> {
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

    fn eth(ether_type: u16, payload: &[u8]) -> Vec<u8> {
        let macs = [0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2];
        cat(&[&macs, &ether_type.to_be_bytes(), payload])
    }

    fn vlan(tpid: u16, vid: u16, inner_type: u16) -> Vec<u8> {
        cat(&[
            &tpid.to_be_bytes(),
            &vid.to_be_bytes(),
            &inner_type.to_be_bytes(),
        ])
    }

    fn udp_of(p: &Packet<'_>) -> Udp<'static> {
        match p.l4 {
            L4::Udp(u) => Udp {
                src_port: u.src_port,
                dst_port: u.dst_port,
                payload: Vec::leak(u.payload.to_vec()),
            },
            other => panic!("expected udp, got {other:?} (stop {:?})", p.stop),
        }
    }

    fn v4(a: [u8; 4]) -> IpAddr {
        IpAddr::V4(Ipv4Addr::from(a))
    }

    fn v6(a: [u8; 16]) -> IpAddr {
        IpAddr::V6(Ipv6Addr::from(a))
    }

    fn check_sip_udp(p: &Packet<'_>) {
        let u = udp_of(p);
        assert_eq!((u.src_port, u.dst_port), (5060, 5080));
        assert_eq!(u.payload, SIP);
        assert_eq!(p.stop, None);
    }

    fn eth_udp() -> Vec<u8> {
        eth(0x0800, &ipv4(17, &udp(5060, 5080, SIP)))
    }

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
    fn ethernet_padding_is_not_payload() {
        let mut f = eth(0x0800, &ipv4(17, &udp(1, 2, b"x")));
        f.extend_from_slice(&[0; 18]);
        let p = decode(LinkType::ETHERNET, &f);
        assert_eq!(udp_of(&p).payload, b"x");
        assert_eq!(p.stop, None);
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

    #[test]
    fn decode_l4_of_reassembled_payload() {
        let data = udp(5060, 5080, SIP);
        let L4::Udp(u) = decode_l4(17, v4(A), v4(B), &data) else {
            panic!()
        };
        assert_eq!(u.payload, SIP);
        assert_eq!(decode_l4(4, v4(A), v4(B), &data), L4::Other(4));
        assert_eq!(decode_l4(132, v4(A), v4(B), &data), L4::Other(132));
    }

    /// Sample frames of every supported framing, for the prefix and fuzz tests.
    fn samples() -> Vec<(LinkType, Vec<u8>)> {
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
                0x13, 0xc4, 0x13, 0xc5, 0, 0, 0, 1, 0, 0, 0, 2, 0x60, 0x02, 0xff, 0xff, 0, 0, 0, 0,
                2, 4, 5, 0xb4,
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
        ]
    }

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
        }
    }
}
