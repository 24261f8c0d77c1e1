//! The packets of one capture point, each reduced to what matching it at another point needs.
//!
//! Takes in: the files of one point, in the order (and frame numbering) its analysis merged them.
//! Produces: [`Packets`], one [`Seen`] per IP packet with a transport layer: frame, time, flow, TTL
//! and an identity hash that survives forwarding and address translation (see [`identity`]).
//! Does not: decide anything about calls; `matching` pairs two tables.
//!
//! Memory: about 190 bytes per IP packet of the point, the table and its indexes (the cost of
//! looking any packet up at the other points; see ARCHITECTURE.md's memory bounds).

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::net::{IpAddr, SocketAddr};

use crate::analysis::CaptureSummary;
use crate::capture::{CaptureFile, Start};
use crate::decode::{self, LinkType, L4};

/// UDP, TCP and ICMP as the IP protocol field numbers them (ICMPv6 is 58).
pub const UDP: u8 = 17;
pub const TCP: u8 = 6;

/// One IP packet as one capture point saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Seen {
    pub frame: u64,
    pub ts_ns: i64,
    pub src: SocketAddr,
    pub dst: SocketAddr,
    /// IP protocol of the transport layer (ports are 0 for ICMP).
    pub proto: u8,
    pub ttl: u8,
    /// TCP control bits (0 for other protocols).
    pub tcp_flags: u8,
    /// Same packet, same identity, at any point (see `identity`).
    pub identity: u64,
}

/// The IP packets of one capture point, by frame, with an index by identity and by flow.
#[derive(Debug, Default)]
pub struct Packets {
    /// In frame order.
    pub seen: Vec<Seen>,
    /// Identity → the position in `seen` of its first packet; the others (duplicates within the
    /// point) follow through `next` (a chain, so that a packet costs no allocation of its own).
    by_identity: HashMap<u64, u32>,
    /// By position in `seen`: the next packet with the same identity.
    next: Vec<Option<u32>>,
    /// Packets whose identity an earlier packet of the point had.
    duplicates: u64,
    /// (protocol, source, destination) → the positions in `seen` of that flow, in frame order.
    by_flow: HashMap<(u8, SocketAddr, SocketAddr), Vec<u32>>,
    /// Packets sent by each host, and the largest TTL they had here (the nearer the host, the larger).
    by_sender: HashMap<IpAddr, (usize, u8)>,
    /// The point's first and last record times, IP or not (its own clock).
    pub span: Option<(i64, i64)>,
}

impl Packets {
    /// Reads the point's files in the analysis's order and numbering. A file that changed since the
    /// analysis is read as it is now (frames past its old end are simply not looked up).
    pub fn read(captures: &[CaptureSummary], files: &[CaptureFile]) -> Packets {
        let mut out = Packets::default();
        let mut used = vec![false; files.len()];
        for summary in captures {
            let Some(i) = (0..files.len()).find(|&i| !used[i] && files[i].path == summary.path)
            else {
                continue;
            };
            used[i] = true;
            let file = &files[i];
            let (at, state) = file.first();
            let mut number = summary.first_frame;
            file.read_chunk(at..file.len(), Start::At(at, state), &mut |frame| {
                // Any record (ARP too) shows the point was capturing then.
                out.widen(frame.ts_ns);
                if let Some(seen) = seen(number, frame.ts_ns, frame.link_type, frame.data) {
                    out.seen.push(seen);
                }
                number += 1;
            });
        }
        out.seen.sort_by_key(|s| s.frame);
        out.reindex();
        out
    }

    fn widen(&mut self, ts_ns: i64) {
        self.span = Some(match self.span {
            None => (ts_ns, ts_ns),
            Some((a, b)) => (a.min(ts_ns), b.max(ts_ns)),
        });
    }

    fn reindex(&mut self) {
        self.by_identity.clear();
        self.by_flow.clear();
        self.by_sender.clear();
        self.next = vec![None; self.seen.len()];
        self.duplicates = 0;
        // The last of each chain, while building it.
        let mut last: HashMap<u64, u32> = HashMap::new();
        for (i, s) in self.seen.iter().enumerate() {
            let at = i as u32;
            match last.insert(s.identity, at) {
                Some(prev) => {
                    self.next[prev as usize] = Some(at);
                    self.duplicates += 1;
                }
                None => {
                    self.by_identity.insert(s.identity, at);
                }
            }
            self.by_flow
                .entry((s.proto, s.src, s.dst))
                .or_default()
                .push(i as u32);
            let sender = self.by_sender.entry(s.src.ip()).or_default();
            *sender = (sender.0 + 1, sender.1.max(s.ttl));
        }
    }

    /// A table made of given packets (tests, and points built in memory).
    pub fn from_seen(seen: Vec<Seen>) -> Packets {
        let mut out = Packets::default();
        seen.iter().for_each(|s| out.widen(s.ts_ns));
        out.seen = seen;
        out.seen.sort_by_key(|s| s.frame);
        out.reindex();
        out
    }

    /// The packet of a frame, if it was an IP packet with a transport layer.
    pub fn frame(&self, frame: u64) -> Option<&Seen> {
        let i = self.seen.binary_search_by_key(&frame, |s| s.frame).ok()?;
        self.seen.get(i)
    }

    /// The packets carrying an identity (the first is the original, the others duplicates).
    pub fn with_identity(&self, identity: u64) -> impl Iterator<Item = &Seen> {
        let first = self.by_identity.get(&identity).copied();
        std::iter::successors(first, |&i| self.next.get(i as usize).copied().flatten())
            .filter_map(|i| self.seen.get(i as usize))
    }

    /// How many packets repeat an identity already seen at this point (duplicates).
    pub fn duplicates(&self) -> u64 {
        self.duplicates
    }

    /// The packets of one flow, in frame order.
    pub fn flow(&self, proto: u8, src: SocketAddr, dst: SocketAddr) -> impl Iterator<Item = &Seen> {
        self.flow_frames(proto, src, dst, 0..=u64::MAX)
    }

    /// The packets of one flow within a range of frames, found by bisection (a flow reused by many
    /// calls is not walked whole for each).
    pub fn flow_frames(
        &self,
        proto: u8,
        src: SocketAddr,
        dst: SocketAddr,
        frames: std::ops::RangeInclusive<u64>,
    ) -> impl Iterator<Item = &Seen> {
        let positions = self
            .by_flow
            .get(&(proto, src, dst))
            .map_or(&[][..], Vec::as_slice);
        let frame = |i: &u32| self.seen.get(*i as usize).map_or(u64::MAX, |s| s.frame);
        let from = positions.partition_point(|i| frame(i) < *frames.start());
        let to = positions.partition_point(|i| frame(i) <= *frames.end());
        positions
            .get(from..to.max(from))
            .unwrap_or_default()
            .iter()
            .filter_map(|&i| self.seen.get(i as usize))
    }

    /// How many packets the point saw `host` send (non-zero: the capture is on its host or on its
    /// path), and the largest TTL they had here.
    pub fn sends(&self, host: IpAddr) -> (usize, u8) {
        self.by_sender.get(&host).copied().unwrap_or_default()
    }
}

/// The identity of a packet: what forwarding keeps and address translation does not touch. The
/// IPv4 identification field, the protocol, and the transport bytes past the ports: TCP's sequence
/// and acknowledgment numbers, flags, window, options (their timestamps tell retransmissions apart)
/// and payload; UDP's payload; ICMP's message after its checksum. Addresses, ports, TTL and
/// checksums are left out: a router changes the TTL, a NAT the addresses, ports and checksums.
fn identity(ip_id: Option<u16>, proto: u8, transport: &[u8]) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    ip_id.hash(&mut h);
    proto.hash(&mut h);
    let kept: [&[u8]; 2] = match proto {
        TCP => [
            transport.get(4..16).unwrap_or_default(),
            transport.get(20..).unwrap_or_default(),
        ],
        UDP => [transport.get(8..).unwrap_or_default(), &[]],
        _ => [transport.get(4..).unwrap_or_default(), &[]],
    };
    kept.hash(&mut h);
    h.finish()
}

/// One frame as a [`Seen`], when it is an IP packet with a transport layer.
fn seen(frame: u64, ts_ns: i64, link: u32, data: &[u8]) -> Option<Seen> {
    let packet = decode::decode(LinkType(link), data);
    let ip = packet.ip?;
    let ip_layer = *packet.layers.ips().last()?;
    let transport = packet.layers.transport?;
    // The IPv4 identification field (bytes 4–5 of the header); IPv6 has none outside fragments.
    let ip_id = (ip_layer.version == 4)
        .then(|| data.get(ip_layer.start as usize + 4..ip_layer.start as usize + 6))
        .flatten()
        .map(|b| u16::from_be_bytes([b[0], b[1]]));
    let (src_port, dst_port, tcp_flags) = match packet.l4 {
        L4::Udp(u) => (u.src_port, u.dst_port, 0),
        L4::Tcp(t) => (t.src_port, t.dst_port, t.flags.0),
        L4::Icmp(_) => (0, 0, 0),
        _ => return None,
    };
    let bytes = data.get(transport.start as usize..ip_layer.end as usize)?;
    Some(Seen {
        frame,
        ts_ns,
        src: SocketAddr::new(ip.src, src_port),
        dst: SocketAddr::new(ip.dst, dst_port),
        proto: ip.proto,
        ttl: ip.ttl,
        tcp_flags,
        identity: identity(ip_id, ip.proto, bytes),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn udp(src: [u8; 4], dst: [u8; 4], ttl: u8, payload: &[u8]) -> Vec<u8> {
        let b = etherparse::PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
            .ipv4(src, dst, ttl)
            .udp(4000, 5000);
        let mut out = Vec::new();
        b.write(&mut out, payload).unwrap();
        out
    }

    #[test]
    fn forwarding_and_translation_keep_the_identity() {
        let sent = seen(1, 0, 1, &udp([192, 0, 2, 1], [198, 51, 100, 1], 64, b"rtp")).unwrap();
        let routed = seen(7, 5, 1, &udp([192, 0, 2, 1], [198, 51, 100, 1], 63, b"rtp")).unwrap();
        let natted = seen(
            9,
            5,
            1,
            &udp([203, 0, 113, 1], [198, 51, 100, 1], 63, b"rtp"),
        )
        .unwrap();
        assert_eq!(sent.identity, routed.identity);
        assert_eq!(sent.identity, natted.identity);
        assert_eq!((sent.ttl, routed.ttl), (64, 63));
        let other = seen(2, 0, 1, &udp([192, 0, 2, 1], [198, 51, 100, 1], 64, b"rtq")).unwrap();
        assert_ne!(sent.identity, other.identity);
    }

    #[test]
    fn duplicates_within_a_point_are_counted() {
        let a = seen(1, 0, 1, &udp([192, 0, 2, 1], [198, 51, 100, 1], 64, b"x")).unwrap();
        let b = Seen { frame: 2, ..a };
        let t = Packets::from_seen(vec![a, b]);
        assert_eq!(t.duplicates(), 1);
        assert_eq!(t.with_identity(a.identity).count(), 2);
        assert_eq!(t.frame(2).map(|s| s.frame), Some(2));
        assert!(seen(3, 0, 1, b"\x00\x01").is_none());
    }
}
