//! Redaction: pseudonyms for IP addresses, MAC addresses, SIP user parts and phone numbers, host names
//! and display names, applied consistently to an [`Analysis`] (so every renderer prints redacted text
//! unchanged) and to captured frames (so an extracted pcap can be shared).
//!
//! Takes an analysis, or frames (link type and bytes); produces a redacted copy. One [`Redactor`]
//! keeps its mappings for its whole life, so the same input always gets the same pseudonym within a run;
//! [`Redactor::for_analysis`] allocates them in the analysis' order first, so a report and an extracted
//! pcap of the same capture agree even when made by two runs.
//!
//! Pseudonyms keep the original's length wherever possible, so the same original reads the same in UDP,
//! in TCP segments (whose lengths must not change: sequence numbers stay valid) and in the report:
//! - IPv4 → 198.18.0.0/15 (RFC 2544 benchmarking range) with as many characters as the original
//!   (10 to 14); originals of 7 to 9 characters (`8.8.8.8`) take 0.0.0.0/8 and those of 15 take
//!   240.0.0.0/4, as only there a pseudonym of their length exists (no real peer has such an address);
//!   a private address (RFC 1918, RFC 6598 shared space, link-local) takes another address of its own
//!   block and length, so that a private SDP address behind NAT still reads as one;
//!   IPv6 → 2001:db8::/32 (RFC 3849), written to the original's length when it has 11 or more;
//!   unspecified, loopback, broadcast and multicast addresses are kept (`c=0.0.0.0` means hold);
//! - MAC addresses → locally administered `02:00:00:xx:xx:xx` (lab MACs often embed the IP address);
//!   group addresses (broadcast, multicast) are kept;
//! - phone numbers (user parts made of digits, `tel:` URIs, `+` followed by 6 or more digits) → the same
//!   number of digits, separators kept; other user parts → `user-N` / `uN`; host names in URIs, Via,
//!   Call-ID, SDP and TLS SNI → `host-N.invalid` / `hN`; display names → `name-N` / `nN`
//!   (N zero-padded to the original's length).
//!
//! Frames go through [`decode`](crate::decode), the decoder that read them: its [`Layers`](crate::decode::Layers)
//! say where every header and payload is, so every encapsulation it reads is redacted alike
//! (Ethernet, 802.1Q/QinQ, MPLS, PPPoE, Linux SLL/SLL2, raw IP, BSD loopback, IPv4/IPv6 with
//! options and extension headers, IP-in-IP, GRE with bridged Ethernet and ERSPAN, fragments).
//! Rewritten: MAC addresses (Ethernet, bridged Ethernet, SLL/SLL2, ARP, neighbour discovery), the
//! addresses of every IP header (tunnel outer and inner), ARP and neighbour discovery targets, the
//! addresses in an ICMP error's quoted header, the text of SIP/SDP in UDP datagrams, TCP segments and
//! quoted payloads, RTCP SDES items and BYE reasons (found by `proto::rtcp`; RTP, found by
//! `proto::rtp`, is media and left alone), and, in place, addresses and names in other text payloads
//! (syslog, SIP continuation segments).
//! Lengths: when a whole UDP datagram's SIP text changes length (an original that no pseudonym can
//! match, such as `fe80::1`), Content-Length (only if the body length changed), the UDP length and the
//! length of every IP header around it (tunnels too) follow; behind a link header with its own length
//! (PPPoE, 802.3), in TCP segments, IP fragments, quoted packets, cut (snaplen) frames and Call-IDs
//! lengths stay, and a pseudonym that cannot match the original's length (IPv6 shorter than 11
//! characters, one-letter user parts) is cropped.
//! Checksums: IPv4 header checksums (of every header, and of a quoted one), and UDP, TCP, ICMP and
//! ICMPv6 checksums with the right pseudo-header (IPv6 too) when the whole datagram is in the frame,
//! then GRE checksums; a cut UDP datagram over IPv4 gets checksum 0 ("none", RFC 768).
//! Fragments: [`Redactor::frames`] (what extraction uses) rewrites the addresses of every fragment and
//! redacts a fragmented datagram's payload whole once reassembled, writing it back into its fragments
//! (same lengths, a UDP checksum right for the datagram); see [`Frames`]. [`Redactor::packet`] sees one
//! frame only and rewrites a fragment's data alone.
//!
//! Does not rewrite: STUN attributes (XOR-MAPPED-ADDRESS), binary payloads of other protocols (DNS,
//! DHCP, NetBIOS, a TLS ClientHello's SNI), IPv4 options and IPv6 extension headers (routing headers
//! and the home address option carry addresses), the tunnelled headers inside an ICMP error's quote,
//! an RTCP packet cut before its first packet ends, tokens split across two TCP segments or across the
//! fragments of a datagram that never completed, product names in User-Agent/Server, tags and branches
//! (random tokens; an address glued into one is found).

mod checksum;
mod model;
mod packet;
mod table;
mod text;

use std::net::{IpAddr, SocketAddr};
use std::sync::{Mutex, MutexGuard};

use crate::analysis::Analysis;
pub use packet::Frames;
use table::Pseudonyms;
use text::Flavour;

/// Consistent pseudonyms for one run; see the module doc for what is replaced and how.
#[derive(Debug, Default)]
pub struct Redactor {
    maps: Mutex<Pseudonyms>,
}

impl Redactor {
    /// A redactor with no mappings yet.
    pub fn new() -> Redactor {
        Redactor::default()
    }

    /// A redactor whose pseudonyms are allocated in the order `analysis` names things, so that runs
    /// over the same capture (a report, an extract) give the same pseudonyms.
    pub fn for_analysis(analysis: &Analysis) -> Redactor {
        let r = Redactor::new();
        r.lock().reserved = model::addresses(analysis);
        let _ = r.analysis(analysis);
        r
    }

    fn lock(&self) -> MutexGuard<'_, Pseudonyms> {
        // A panic while holding the lock cannot leave the maps inconsistent (each insert is whole).
        self.maps.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The pseudonym of an IP address.
    pub fn ip(&self, a: IpAddr) -> IpAddr {
        self.lock().ip(a)
    }

    /// The pseudonym of a MAC address.
    pub fn mac(&self, m: [u8; 6]) -> [u8; 6] {
        self.lock().mac(m)
    }

    /// The pseudonym of an address and port (the port is kept).
    pub fn socket(&self, s: SocketAddr) -> SocketAddr {
        SocketAddr::new(self.ip(s.ip()), s.port())
    }

    /// Free text (a finding's summary, a reason phrase): addresses, URIs, known host names, display
    /// names and phone numbers replaced.
    pub fn text(&self, s: &str) -> String {
        let out = self.lock().generic(s.as_bytes(), false, Flavour::Free);
        String::from_utf8_lossy(&out).into_owned()
    }

    /// A Call-ID, as it is rewritten in SIP messages.
    pub fn call_id(&self, s: &str) -> String {
        String::from_utf8_lossy(&self.lock().call_id(s.as_bytes())).into_owned()
    }

    /// A SIP message's text; with `keep_length` every replacement keeps the original's length.
    pub fn sip(&self, b: &[u8], keep_length: bool) -> Vec<u8> {
        self.lock().sip(b, keep_length)
    }

    fn user(&self, s: &str) -> String {
        self.lock().user(s)
    }

    fn display(&self, s: &str) -> String {
        self.lock().name(s)
    }

    fn host(&self, s: &str) -> String {
        let text = s.trim();
        match text.parse::<IpAddr>() {
            Ok(a) => self.ip(a).to_string(),
            Err(_) if text.is_empty() => String::new(),
            Err(_) => self.lock().host(text),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_text_loses_addresses_numbers_hosts_and_names() {
        let r = Redactor::new();
        assert_eq!(r.display("Alice Smith"), r.display("Alice Smith"));
        let t = r.text(
            "Alice Smith called sip:+49-151-12345678@pbx.example.com via 192.0.2.20:5060 and \
             [2001:db8:1::20]:5061; pbx.example.com answered 504 after 9.9 s (tel:+4915112345678)",
        );
        for gone in [
            "Alice Smith",
            "12345678",
            "pbx.example.com",
            "192.0.2.20",
            "2001:db8:1::20",
        ] {
            assert!(!t.contains(gone), "{gone} in {t}");
        }
        assert!(
            t.contains(":5060 and ") && t.contains("504 after 9.9 s"),
            "{t}"
        );
        assert!(t.contains("host-01.invalid"), "{t}");
        // The same number with or without separators gets the same digits.
        let again = r.text("+4915112345678");
        assert!(t.contains(&again), "{t} / {again}");
    }
}
