//! Rewriting of captured frames through `decode`: the decoder that read a frame says where its
//! hardware addresses, IP headers (tunnel outer and inner), transport header, payload and ICMP quote
//! are ([`Layers`]); this file rewrites what lies there and puts lengths and checksums right.
//!
//! Takes one frame and its link type, or the payload of an IP datagram reassembled from fragments
//! ([`Frames`] writes it back into the fragments); produces the rewritten bytes.
//! Does not decide pseudonyms (`table.rs`), parse text (`text.rs`), or read any header layout that
//! `decode` did not locate, beyond the fields of a located header (addresses, lengths, checksums).
//!
//! What a payload is, is decided by `proto`'s classifiers: HEP (`hep::looks_like_hep3`, or a HEP1/2
//! header around SIP) has the addresses it carries and its payload rewritten in place (its chunk
//! lengths stay); SIP (`sip::looks_like_sip`) is rewritten as SIP; RTCP (`rtcp::looks_like_rtcp`) has its SDES items and BYE reason rewritten in place; RTP
//! (`rtp::looks_like_rtp`) is left alone (media, not text); other text (syslog, SIP continuation
//! segments) has addresses, URIs and known names replaced in place; anything else is left alone.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::checksum::{self, get16, put16};
use super::table::Pseudonyms;
use super::text::{texty, Flavour};
use super::Redactor;
use crate::decode::defrag::{Defragmenter, Limits, Reassembled};
use crate::decode::{self, Ip, IpLayer, Layers, LinkType, Packet, Reason, TransportLayer, L4};
use crate::proto::{hep, rtcp, rtp, sip};

/// How a buffer may be rewritten.
#[derive(Clone, Copy, Debug, Default)]
struct Ctx {
    /// Lengths must stay: the bytes go back into fragments.
    fit: bool,
    /// The pseudonymised addresses of the IP header around a buffer that holds none (a reassembled
    /// datagram's payload), for the transport checksum's pseudo-header.
    around: Option<(IpAddr, IpAddr)>,
    /// Fragment data is left for [`Frames`], which rewrites it once the datagram is complete.
    defer_fragments: bool,
}

/// What a transport payload holds, as far as redaction cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Content {
    Hep,
    Sip,
    Rtcp,
    Rtp,
    Text,
    Binary,
}

fn classify(b: &[u8]) -> Content {
    let hep2_around_sip = || {
        matches!(b.first(), Some(1 | 2))
            && hep::parse(b).is_ok_and(|(p, _)| p.payload.is_some_and(sip::looks_like_sip))
    };
    if hep::looks_like_hep3(b) || hep2_around_sip() {
        Content::Hep
    } else if sip::looks_like_sip(b) {
        Content::Sip
    } else if rtcp::looks_like_rtcp(b) {
        Content::Rtcp
    } else if rtp::looks_like_rtp(b) {
        Content::Rtp
    } else if texty(b) {
        Content::Text
    } else {
        Content::Binary
    }
}

fn at(offset: u32) -> usize {
    offset as usize
}

/// Where `inner` (a sub-slice of `outer`, as a parser returns it) starts within `outer`.
fn offset_in(outer: &[u8], inner: &[u8]) -> Option<usize> {
    let start = (inner.as_ptr() as usize).checked_sub(outer.as_ptr() as usize)?;
    (start.checked_add(inner.len())? <= outer.len()).then_some(start)
}

impl Pseudonyms {
    fn mac_at(&mut self, b: &mut [u8], at: usize) {
        if let Some(s) = at.checked_add(6).and_then(|end| b.get_mut(at..end)) {
            let mut mac = [0u8; 6];
            mac.copy_from_slice(s);
            s.copy_from_slice(&self.mac(mac));
        }
    }

    fn v4_at(&mut self, b: &mut [u8], at: usize) {
        if let Some(s) = at.checked_add(4).and_then(|end| b.get_mut(at..end)) {
            let a = Ipv4Addr::new(s[0], s[1], s[2], s[3]);
            s.copy_from_slice(&self.v4(a).octets());
        }
    }

    fn v6_at(&mut self, b: &mut [u8], at: usize) {
        if let Some(s) = at.checked_add(16).and_then(|end| b.get_mut(at..end)) {
            let mut o = [0u8; 16];
            o.copy_from_slice(s);
            s.copy_from_slice(&self.v6(Ipv6Addr::from(o)).octets());
        }
    }

    /// The source and destination addresses of an IP header.
    fn ip_header(&mut self, b: &mut [u8], ip: &IpLayer) {
        let s = at(ip.start);
        if ip.version == 4 {
            self.v4_at(b, s + 12);
            self.v4_at(b, s + 16);
        } else {
            self.v6_at(b, s + 8);
            self.v6_at(b, s + 24);
        }
    }

    /// ARP for IPv4 over Ethernet (RFC 826) at `at`: sender and target hardware and protocol
    /// addresses. `decode` stops at ARP (it is not IP) and says where it starts.
    fn arp(&mut self, b: &mut [u8], at: usize) {
        if b.get(at..at + 6) != Some(&[0, 1, 8, 0, 6, 4]) {
            return;
        }
        for (mac, ip) in [(at + 8, at + 14), (at + 18, at + 24)] {
            self.mac_at(b, mac);
            self.v4_at(b, ip);
        }
    }

    /// Neighbour discovery (RFC 4861 §4.1-4.5) from `body` (after the 8-byte ICMPv6 header) to
    /// `end`: the target (and redirect destination) addresses, then the options: link-layer
    /// addresses (types 1 and 2) and the prefix of a prefix information option (type 3).
    fn ndp(&mut self, t: u8, b: &mut [u8], body: usize, end: usize) {
        let (addrs, options) = match t {
            133 => (0, body),
            134 => (0, body + 8),
            135 | 136 => (1, body + 16),
            _ => (2, body + 32),
        };
        for k in 0..addrs {
            if body + k * 16 + 16 <= end {
                self.v6_at(b, body + k * 16);
            }
        }
        let mut at = options;
        while let (true, Some(&ty), Some(&len)) = (at + 2 <= end, b.get(at), b.get(at + 1)) {
            let next = at + usize::from(len) * 8;
            if len == 0 || next > end {
                break;
            }
            match ty {
                1 | 2 if len == 1 => self.mac_at(b, at + 2),
                3 if len == 4 => self.v6_at(b, at + 16),
                _ => {}
            }
            at = next;
        }
    }

    /// Rewrites `b[range]` in place as text of its kind; lengths stay.
    fn text_in_place(&mut self, b: &mut [u8], start: usize, end: usize) {
        let Some(payload) = b.get(start..end) else {
            return;
        };
        let new = match classify(payload) {
            Content::Hep => return self.hep_in_place(b, start, end),
            Content::Sip => self.sip(payload, true),
            Content::Rtcp => self.rtcp(payload),
            Content::Text => self.generic(payload, true, Flavour::Sip),
            Content::Rtp | Content::Binary => return,
        };
        if new.len() == end - start {
            b[start..end].copy_from_slice(&new);
        }
    }

    /// Rewrites the HEP packets in `b[start..end]` in place: the addresses they carry, their SIP
    /// (or other text) payload and correlation id, each keeping its length so the chunk lengths stay.
    fn hep_in_place(&mut self, b: &mut [u8], start: usize, end: usize) {
        let Some(region) = b.get(start..end).map(<[u8]>::to_vec) else {
            return;
        };
        let mut packet_at = 0;
        while let Some(rest) = region.get(packet_at..).filter(|r| !r.is_empty()) {
            let Ok((p, used)) = hep::parse(rest) else {
                break;
            };
            let base = start + packet_at;
            for (addr, offset) in [(p.src, p.src_at), (p.dst, p.dst_at)] {
                match (addr, offset) {
                    (Some(IpAddr::V4(_)), Some(o)) => self.v4_at(b, base + o),
                    (Some(IpAddr::V6(_)), Some(o)) => self.v6_at(b, base + o),
                    _ => {}
                }
            }
            let texts = [p.payload.filter(|_| !p.compressed), p.correlation_id];
            for text in texts.into_iter().flatten() {
                let Some(at) = offset_in(rest, text) else {
                    continue;
                };
                let new = if sip::looks_like_sip(text) {
                    self.sip(text, true)
                } else {
                    self.generic(text, true, Flavour::Sip)
                };
                if new.len() == text.len() {
                    b[base + at..base + at + text.len()].copy_from_slice(&new);
                }
            }
            // HEP1/2 take the whole payload; HEP3 packets follow each other (a TCP feed).
            packet_at += used.max(1);
            if !rest.starts_with(b"HEP3") {
                break;
            }
        }
    }

    /// An RTCP compound with its SDES items and BYE reason rewritten (same length). A compound
    /// that does not parse is treated as text, in place.
    fn rtcp(&mut self, b: &[u8]) -> Vec<u8> {
        let Ok(compound) = rtcp::Compound::parse(b) else {
            return self.generic(b, true, Flavour::Sip);
        };
        let mut out = b.to_vec();
        let put = |out: &mut Vec<u8>, value: &[u8], new: Vec<u8>| {
            if let Some(s) = offset_in(b, value) {
                if new.len() == value.len() {
                    out[s..s + value.len()].copy_from_slice(&new);
                }
            }
        };
        for p in compound.packets() {
            match p.body() {
                Ok(rtcp::Body::SourceDescription(sdes)) => {
                    for chunk in sdes.chunks() {
                        for item in chunk.items() {
                            let new = self.sdes_item(item.kind.0, item.value);
                            put(&mut out, item.value, new);
                        }
                    }
                }
                Ok(rtcp::Body::Goodbye(bye)) => {
                    if let Some(reason) = bye.reason() {
                        let new = self.generic(reason, true, Flavour::Sip);
                        put(&mut out, reason, new);
                    }
                }
                _ => {}
            }
        }
        // What follows the last whole packet: an SRTCP index and tag, or a packet cut short by the
        // snapshot length (whose SDES text may be there).
        let trailer = compound.trailer();
        if !trailer.is_empty() {
            let new = self.generic(trailer, true, Flavour::Sip);
            put(&mut out, trailer, new);
        }
        out
    }

    /// Rewrites the bytes `p` was decoded from: every layer `decode` located. A whole UDP datagram
    /// whose SIP text changes length grows or shrinks, with the lengths around it following.
    fn rewrite(&mut self, p: &Packet<'_>, b: &mut Vec<u8>, ctx: Ctx) {
        let l = p.layers;
        for &mac in l.macs() {
            self.mac_at(b, at(mac));
        }
        if let Some(stop) = p.stop {
            if stop.reason == Reason::UnsupportedEtherType(0x0806) {
                self.arp(b, stop.offset);
            }
        }
        for ip in l.ips() {
            self.ip_header(b, ip);
        }
        if let Some(q) = l.quoted_ip {
            self.ip_header(b, &q);
        }
        // Every layer decoded in full: the whole datagram is here, checksums can be computed.
        let whole = p.stop.is_none();
        let mut delta = 0isize;
        match (p.l4, l.transport) {
            (L4::Udp(_), Some(t)) => {
                let fit = ctx.fit || !whole || l.link_length;
                delta = self.udp_payload(b, &l, t, fit);
            }
            (L4::Tcp(_), Some(t)) => {
                // A TCP payload keeps its length: the sequence numbers stay right.
                let start = at(t.payload);
                self.text_in_place(b, start, at(t.end));
            }
            (L4::Icmp(i), Some(t)) => {
                if i.v6 && (133..=137).contains(&i.icmp_type) {
                    self.ndp(i.icmp_type, b, at(t.payload), at(t.end));
                }
                if let Some(q) = l.quoted_transport {
                    self.text_in_place(b, at(q.payload), at(q.end));
                }
            }
            (L4::Fragment(f), _) if !ctx.defer_fragments => {
                if let (Some(ip), Some(layer)) = (p.ip, l.ips().last()) {
                    if let Some(data) = b.get_mut(at(layer.payload)..at(layer.end)) {
                        let around = self.around(&ip);
                        self.fragment_alone(data, &ip, f.offset == 0, around);
                    }
                }
            }
            _ => {}
        }
        self.checksums(p, b, ctx, whole, delta);
    }

    /// A UDP payload; returns by how much it grew. It may change length only when `fit` is false
    /// and every length field around it can follow.
    fn udp_payload(&mut self, b: &mut Vec<u8>, l: &Layers, t: TransportLayer, fit: bool) -> isize {
        let (start, end) = (at(t.payload), at(t.end));
        let Some(payload) = b.get(start..end).map(<[u8]>::to_vec) else {
            return 0;
        };
        let payload = payload.as_slice();
        let new = match classify(payload) {
            Content::Hep => {
                self.hep_in_place(b, start, end);
                return 0;
            }
            Content::Sip => {
                let grown = self.sip(payload, fit);
                let delta = grown.len() as isize - payload.len() as isize;
                if delta == 0 || resize(b, l, t, delta) {
                    grown
                } else {
                    self.sip(payload, true)
                }
            }
            Content::Rtcp => self.rtcp(payload),
            Content::Text => self.generic(payload, true, Flavour::Sip),
            Content::Rtp | Content::Binary => return 0,
        };
        let delta = new.len() as isize - (end - start) as isize;
        b.splice(start..end, new);
        delta
    }

    /// The pseudonymised addresses of an IP header (for a pseudo-header).
    fn around(&mut self, ip: &Ip) -> (IpAddr, IpAddr) {
        (self.ip(ip.src), self.ip(ip.dst))
    }

    /// The data of one fragment whose datagram is not reassembled: the first fragment is decoded
    /// as the start of a datagram (its transport header and the text after it rewritten in place,
    /// an IPv4 UDP checksum set to "none"); a later one is rewritten as text in place.
    fn fragment_alone(&mut self, data: &mut [u8], ip: &Ip, first: bool, around: (IpAddr, IpAddr)) {
        if !first {
            if texty(data) {
                let new = self.generic(data, true, Flavour::Sip);
                if new.len() == data.len() {
                    data.copy_from_slice(&new);
                }
            }
            return;
        }
        let (mut buf, udp) = self.datagram(ip, data.to_vec(), around);
        if let (Some(udp), IpAddr::V4(_)) = (udp, ip.src) {
            // The rest of the datagram is not here: RFC 768 allows "no checksum" over IPv4.
            put16(&mut buf, udp + 6, 0);
        }
        if buf.len() == data.len() {
            data.copy_from_slice(&buf);
        }
    }

    /// The payload of an IP datagram (header `ip`, whose pseudonymised addresses are `around`)
    /// decoded and rewritten with every length kept, as it goes back into fragments; also where its
    /// UDP header is, if it has one.
    fn datagram(
        &mut self,
        ip: &Ip,
        payload: Vec<u8>,
        around: (IpAddr, IpAddr),
    ) -> (Vec<u8>, Option<usize>) {
        let datagram = Reassembled {
            ip: *ip,
            payload,
            frames: Vec::new(),
        };
        let p = datagram.decode();
        let mut buf = datagram.payload.clone();
        let ctx = Ctx {
            fit: true,
            around: Some(around),
            defer_fragments: true,
        };
        self.rewrite(&p, &mut buf, ctx);
        let udp = match (p.l4, p.layers.transport) {
            (L4::Udp(_), Some(t)) => Some(at(t.start)),
            _ => None,
        };
        (buf, udp)
    }

    /// Puts checksums right after a rewrite, innermost first: IP headers (and the quoted one),
    /// the transport checksum when the whole datagram is here, then GRE checksums inside out.
    fn checksums(&mut self, p: &Packet<'_>, b: &mut [u8], ctx: Ctx, whole: bool, delta: isize) {
        let l = p.layers;
        let grown = |end: u32| (at(end) as isize + delta).max(0) as usize;
        for ip in l.ips().iter().chain(l.quoted_ip.as_ref()) {
            // The header with its options (IHL), not an authentication header after it.
            let start = at(ip.start);
            if let (4, Some(&first)) = (ip.version, b.get(start)) {
                let ihl = usize::from(first & 0x0f) * 4;
                checksum::set(b, start..start + ihl, start + 10, 0);
            }
        }
        if let (Some(q), Some(qt)) = (l.quoted_ip, l.quoted_transport) {
            if q.version == 4 && q.proto == 17 {
                // Only the start of the quoted datagram is here: "no checksum" (RFC 768).
                put16(b, at(qt.start) + 6, 0);
            }
        }
        let addresses: Option<(Vec<u8>, Vec<u8>)> = match l.ips().last() {
            Some(ip) => {
                let s = at(ip.start);
                let (a, n) = if ip.version == 4 { (12, 4) } else { (8, 16) };
                match (b.get(s + a..s + a + n), b.get(s + a + n..s + a + 2 * n)) {
                    (Some(src), Some(dst)) => Some((src.to_vec(), dst.to_vec())),
                    _ => None,
                }
            }
            None => ctx.around.map(|(src, dst)| (octets(src), octets(dst))),
        };
        if let (Some(t), Some((src, dst))) = (l.transport, addresses) {
            let (start, end) = (at(t.start), grown(t.end));
            let v6 = src.len() == 16;
            let len = end.saturating_sub(start);
            match p.l4 {
                // Over IPv4 a zero checksum means "none" and stays so; over IPv6 it is mandatory.
                L4::Udp(_) if whole && (v6 || get16(b, start + 6) != Some(0)) => {
                    checksum::set(
                        b,
                        start..end,
                        start + 6,
                        checksum::pseudo(&src, &dst, 17, len),
                    );
                    if get16(b, start + 6) == Some(0) {
                        put16(b, start + 6, 0xffff);
                    }
                }
                L4::Udp(_) if whole => {}
                L4::Udp(_) if !v6 => put16(b, start + 6, 0),
                L4::Tcp(_) if whole => {
                    checksum::set(
                        b,
                        start..end,
                        start + 16,
                        checksum::pseudo(&src, &dst, 6, len),
                    );
                }
                L4::Icmp(i) if whole => {
                    let acc = if i.v6 {
                        checksum::pseudo(&src, &dst, 58, len)
                    } else {
                        0
                    };
                    checksum::set(b, start..end, start + 2, acc);
                }
                _ => {}
            }
        }
        // GRE (RFC 2784 §2.5): the checksum, when present, covers the GRE header and payload.
        for ip in l.ips().iter().rev().filter(|ip| ip.proto == 47) {
            let gre = at(ip.payload);
            if whole && get16(b, gre).is_some_and(|flags| flags & 0x8000 != 0) {
                checksum::set(b, gre..grown(ip.end), gre + 4, 0);
            }
        }
    }
}

fn octets(a: IpAddr) -> Vec<u8> {
    match a {
        IpAddr::V4(v4) => v4.octets().to_vec(),
        IpAddr::V6(v6) => v6.octets().to_vec(),
    }
}

/// Adds `delta` to the UDP length and to the length of every IP header around the datagram;
/// false (and nothing changed) when one of them cannot hold the new length. A zero length field
/// ("up to the end", segmentation offload, jumbograms) stays zero.
fn resize(b: &mut [u8], l: &Layers, t: TransportLayer, delta: isize) -> bool {
    let mut fields: Vec<(usize, isize)> = Vec::new();
    let udp = at(t.start) + 4;
    if let Some(len) = get16(b, udp).filter(|&len| len >= 8) {
        fields.push((udp, len as isize));
    }
    for ip in l.ips() {
        let field = at(ip.start) + if ip.version == 4 { 2 } else { 4 };
        if let Some(len) = get16(b, field).filter(|&len| len != 0) {
            fields.push((field, len as isize));
        }
    }
    let fits = |&(_, len): &(usize, isize)| (0..=0xffff).contains(&(len + delta));
    if !fields.iter().all(fits) {
        return false;
    }
    for (field, len) in fields {
        put16(b, field, (len + delta) as u16);
    }
    true
}

/// One fragment kept for its datagram: which frame, where its data lies there, and at which offset
/// of the datagram.
#[derive(Debug)]
struct Piece {
    frame: usize,
    data_at: usize,
    len: usize,
    offset: u32,
    ip: Ip,
}

/// Frames redacted in capture order, with the IP fragments of one datagram rewritten together.
///
/// The addresses of every fragment are rewritten as it is pushed. The payload text of a fragmented
/// datagram spans its fragments (a SIP INVITE with a large SDP), so fragments are also reassembled
/// (bounded, as the pipeline does: [`Defragmenter`] with its default limits); when a datagram
/// completes, its payload is redacted whole, as one datagram — every pseudonym keeping its
/// original's length, so that each fragment keeps its size and offset — and written back into its
/// fragments, with a UDP checksum that is right for the whole datagram (over IPv6 too). The data of
/// fragments whose datagram never completes is rewritten fragment by fragment in [`Frames::finish`]
/// (text in place; the first fragment's IPv4 UDP checksum set to "none"); a token cut by a fragment
/// boundary is then not found.
#[derive(Debug)]
pub struct Frames<'r> {
    redactor: &'r Redactor,
    frames: Vec<Vec<u8>>,
    defrag: Defragmenter,
    /// Fragments waiting for their datagram, by the number `Defragmenter` knows them by.
    pieces: HashMap<u64, Piece>,
}

impl<'r> Frames<'r> {
    pub(super) fn new(redactor: &'r Redactor) -> Self {
        Frames {
            redactor,
            frames: Vec::new(),
            defrag: Defragmenter::new(Limits::default()),
            pieces: HashMap::new(),
        }
    }

    /// Redacts one frame (its capture time in nanoseconds and its link type) and keeps it; its
    /// fragment data may still change until the datagram completes.
    pub fn push(&mut self, ts_ns: i64, link_type: u32, data: &[u8]) {
        let p = decode::decode(LinkType(link_type), data);
        let mut out = data.to_vec();
        let index = self.frames.len();
        let mut m = self.redactor.lock();
        let ctx = Ctx {
            defer_fragments: true,
            ..Ctx::default()
        };
        m.rewrite(&p, &mut out, ctx);
        self.frames.push(out);
        let (L4::Fragment(f), Some(ip), Some(layer)) = (p.l4, p.ip, p.layers.ips().last()) else {
            return;
        };
        self.pieces.insert(
            index as u64,
            Piece {
                frame: index,
                data_at: at(layer.payload),
                len: at(layer.end).saturating_sub(at(layer.payload)),
                offset: f.offset,
                ip,
            },
        );
        let Some(datagram) = self.defrag.push(ts_ns, index as u64, &ip, &f) else {
            return;
        };
        let around = m.around(&datagram.ip);
        let (payload, _) = m.datagram(&datagram.ip, datagram.payload, around);
        for n in &datagram.frames {
            let Some(piece) = self.pieces.remove(n) else {
                continue;
            };
            let from = piece.offset as usize;
            let (Some(src), Some(frame)) = (
                payload.get(from..from + piece.len),
                self.frames.get_mut(piece.frame),
            ) else {
                continue;
            };
            if let Some(dst) = frame.get_mut(piece.data_at..piece.data_at + piece.len) {
                dst.copy_from_slice(src);
            }
        }
    }

    /// The redacted frames, in the order pushed; fragments of datagrams that never completed are
    /// rewritten one by one.
    pub fn finish(mut self) -> Vec<Vec<u8>> {
        let mut m = self.redactor.lock();
        let mut left: Vec<Piece> = self.pieces.into_values().collect();
        left.sort_by_key(|p| p.frame);
        for piece in left {
            let around = m.around(&piece.ip);
            let Some(frame) = self.frames.get_mut(piece.frame) else {
                continue;
            };
            let Some(data) = frame.get_mut(piece.data_at..piece.data_at + piece.len) else {
                continue;
            };
            m.fragment_alone(data, &piece.ip, piece.offset == 0, around);
            // The fragment's own IP header checksum does not cover its data: it stays right.
        }
        drop(m);
        self.frames
    }
}

impl Redactor {
    /// A frame with its addresses and SIP/SDP text pseudonymised (see the module doc). Frames that
    /// are not IP (or of an unknown link type) come back with only their link-layer addresses
    /// replaced. A fragment is rewritten alone; [`Redactor::frames`] rewrites the fragments of a
    /// datagram together.
    pub fn packet(&self, link_type: u32, data: &[u8]) -> Vec<u8> {
        let p = decode::decode(LinkType(link_type), data);
        let mut out = data.to_vec();
        self.lock().rewrite(&p, &mut out, Ctx::default());
        out
    }

    /// A stream of frames to redact in capture order (see [`Frames`]).
    pub fn frames(&self) -> Frames<'_> {
        Frames::new(self)
    }
}

#[cfg(test)]
mod tests {
    use super::super::checksum::{fold, pseudo, sum16};
    use super::super::table::padded;
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
        assert!(text.contains("Call-ID: abc123@10.0.0.2\r\n"), "{text}");
        assert!(text.contains("c=IN IP6 2001:db8::1\r\n"), "{text}");
    }

    /// A HEP3 packet (as kamailio sends it) from 10.0.0.1:5060 to 192.0.2.20:5060 carrying `sip`.
    fn hep3(sip: &[u8]) -> Vec<u8> {
        use crate::proto::hep::testkit::{chunk, hep3};
        hep3(&[
            chunk(3, &[10, 0, 0, 1]),
            chunk(4, &[192, 0, 2, 20]),
            chunk(7, &5060u16.to_be_bytes()),
            chunk(8, &5060u16.to_be_bytes()),
            chunk(11, &[1]),
            chunk(17, b"abc123@10.0.0.1"),
            chunk(15, sip),
        ])
    }

    #[test]
    fn hep_packets_get_their_addresses_sip_and_correlation_id_redacted_in_place() {
        let r = Redactor::new();
        let one = hep3(SIP.as_bytes());
        for (frame, stream) in [
            (eth_udp(&one), false),
            (eth_tcp(&[one.clone(), one.clone()].concat()), true),
        ] {
            let out = r.packet(1, &frame);
            assert_eq!(out.len(), frame.len());
            assert!(checksums_ok(&out));
            let payload = payload_of(&out);
            for gone in ["10.0.0.1", "alice", "Alice", "pbx.example", "4915112345678"] {
                assert!(
                    !has(&payload, gone),
                    "{gone} in {}",
                    String::from_utf8_lossy(&payload)
                );
            }
            let packets: Vec<hep::Packet<'_>> = hep::packets(&payload).collect();
            assert_eq!(packets.len(), if stream { 2 } else { 1 });
            for p in packets {
                let redacted = p.src.expect("a source");
                assert_ne!(redacted, "10.0.0.1".parse::<IpAddr>().unwrap());
                // The SIP text and the addresses got the same pseudonyms.
                let text = String::from_utf8_lossy(p.payload.expect("a payload"));
                assert!(text.contains(&redacted.to_string()), "{text}");
                assert!(crate::proto::sip::parse(p.payload.expect("a payload")).is_ok());
            }
        }
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
        let mut rtcp = vec![0x81, 202, 0, 5, 1, 2, 3, 4, 1, 13];
        rtcp.extend_from_slice(b"x@192.168.1.2");
        rtcp.push(0);
        let out = r.packet(1, &eth_udp(&rtcp));
        assert!(!has(&out, "192.168.1.2"));
        assert_eq!(out.len(), eth_udp(&rtcp).len());
    }

    #[test]
    fn a_router_solicitation_loses_its_link_layer_address() {
        let mac = [0x4e, 0xc1, 0xd9, 0x1c, 0x8a, 0x3b];
        let b = PacketBuilder::ethernet2(mac, [0x33, 0x33, 0, 0, 0, 2])
            .ipv6(
                [
                    0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x4c, 0xc1, 0xd9, 0xff, 0xfe, 0x1c, 0x8a, 0x3b,
                ],
                [0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2],
                255,
            )
            .icmpv6(etherparse::Icmpv6Type::Unknown {
                type_u8: 133,
                code_u8: 0,
                bytes5to8: [0; 4],
            });
        let mut frame = Vec::new();
        b.write(&mut frame, &[&[1u8, 1][..], &mac].concat())
            .expect("a Vec");
        let out = Redactor::new().packet(1, &frame);
        assert_eq!(out.len(), frame.len());
        assert!(!out.windows(6).any(|w| w == mac), "{out:02x?}");
    }

    #[test]
    fn behind_pppoe_sip_keeps_its_length() {
        // PPPoE session header (RFC 2516) with its own length, then IPv4/UDP/SIP whose IPv6 address
        // has no pseudonym of its length.
        let ip = &eth_udp(SIP.as_bytes())[14..];
        let mut frame = vec![
            2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x88, 0x64, 0x11, 0, 0, 1,
        ];
        frame.extend_from_slice(&((ip.len() + 2) as u16).to_be_bytes());
        frame.extend_from_slice(&[0x00, 0x21]);
        frame.extend_from_slice(ip);
        let out = Redactor::new().packet(1, &frame);
        assert_eq!(out.len(), frame.len());
        assert!(!has(&out, "fe80::1") && !has(&out, "10.0.0.1"));
        let p = decode::decode(LinkType::ETHERNET, &out);
        assert_eq!(p.stop, None);
    }

    #[test]
    fn fragments_pushed_together_are_redacted_as_one_datagram() {
        // An INVITE in two IPv4 fragments, an address cut by the boundary.
        let whole = eth_udp(SIP.as_bytes());
        let ip = &whole[14..];
        let at = SIP
            .match_indices("10.0.0.1")
            .map(|(k, _)| 8 + k)
            .find(|k| k % 8 != 0)
            .expect("an address a boundary can cut");
        let cut = at / 8 * 8 + 8;
        let mut frames = Vec::new();
        for (data, flags) in [
            (&ip[20..20 + cut], 0x2000u16),
            (&ip[20 + cut..], (cut / 8) as u16),
        ] {
            let mut h = ip[..20].to_vec();
            h[2..4].copy_from_slice(&((20 + data.len()) as u16).to_be_bytes());
            h[6..8].copy_from_slice(&flags.to_be_bytes());
            frames.push([&whole[..14], &h, data].concat());
        }
        let r = Redactor::new();
        let mut stream = r.frames();
        for f in &frames {
            stream.push(0, 1, f);
        }
        let out = stream.finish();
        let text: Vec<u8> = out.iter().flat_map(|f| f[34..].to_vec()).collect();
        assert!(!has(&text, "10.0.0.1") && !has(&text, "alice"));
        assert_eq!(
            out.iter().map(Vec::len).collect::<Vec<_>>(),
            vec![frames[0].len(), frames[1].len()]
        );
        // The UDP checksum in the first fragment is right for the whole datagram.
        let src = &out[0][26..30];
        let dst = &out[0][30..34];
        assert_eq!(fold(sum16(&text, pseudo(src, dst, 17, text.len()))), 0);
        // Alone, the second fragment's half of the address is not recognised.
        let alone: Vec<u8> = frames
            .iter()
            .flat_map(|f| r.packet(1, f)[34..].to_vec())
            .collect();
        assert!(has(&alone, "10.0.0.1"));
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
