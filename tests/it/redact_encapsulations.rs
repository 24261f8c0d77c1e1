//! Redaction through every encapsulation the decoder reads (issue 12): the committed captures of
//! `testdata/formats/` (Ethernet, SLL, SLL2, raw IP, BSD NULL, IPv6 loopback, IPv4 and IPv6
//! fragments, pcapng with several interfaces) and captures written here with the test writer
//! (`capture::write` and etherparse's builders): 802.1Q, QinQ, IP-in-IP, 6in4, GRE (with checksum and
//! key, and with bridged Ethernet), IPv6 with extension headers, and SIP INVITEs fragmented into small
//! pieces over IPv4 and IPv6, each carrying a SIP call with SDP, RTP both ways and RTCP (SR + SDES).
//!
//! Each capture is redacted as `callscope extract --redact` does it (`export::extract::call_packets`
//! with `Redactor::for_analysis`, call by call) and whole (`Redactor::frames`, the same frame stream),
//! and the output must hold none of the original IP addresses (4 or 16 raw bytes, or as text), MAC
//! addresses, phone numbers, user parts, host names or display names; decoding it again (our own
//! decoder, the whole pipeline) must find the same calls and streams under their pseudonyms; and every
//! checksum must verify (a verifier here, on `decode`'s layers, with IP fragments reassembled).

use std::collections::BTreeSet;
use std::io::ErrorKind;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

use callscope::capture::write::PcapWriter;
use callscope::capture::{CaptureFile, Start};
use callscope::decode::defrag::{Defragmenter, Limits};
use callscope::decode::{self, LinkType, L4};
use callscope::export::extract::call_packets;
use callscope::export::redact::Redactor;
use callscope::Analysis;

use crate::support;
use etherparse::{
    IpHeaders, IpNumber, Ipv6Extensions, Ipv6Header, Ipv6RawExtHeader, PacketBuilder,
};

// ---------------------------------------------------------------------------------------------
// The call: SIP with SDP, RTP both ways, RTCP, over UDP between two addresses.

const CALLER_MAC: [u8; 6] = [0x00, 0x1b, 0x21, 0x3a, 0x4b, 0x01];
const CALLEE_MAC: [u8; 6] = [0x00, 0x1b, 0x21, 0x3a, 0x4b, 0x02];
const INNER_MACS: [[u8; 6]; 2] = [
    [0x00, 0x50, 0x56, 0x9e, 0x1f, 0x11],
    [0x00, 0x50, 0x56, 0x9e, 0x1f, 0x12],
];

/// Words of the call that must not survive: user parts, display names, host names, numbers.
const SECRETS: &[&str] = &[
    "alice.liddell",
    "Alice Liddell",
    "Liddell",
    "bob.cratchit",
    "Bob Cratchit",
    "Cratchit",
    "4930123456789",
    "pbx-core.wonderland.example",
    "wonderland",
    "alice-home.example",
];

/// How an address is written in SIP (`[...]` for IPv6) and in SDP (`IP4 a` / `IP6 a`).
fn uri_host(a: IpAddr) -> String {
    match a {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("[{v6}]"),
    }
}

fn sdp_addr(a: IpAddr) -> String {
    match a {
        IpAddr::V4(v4) => format!("IP4 {v4}"),
        IpAddr::V6(v6) => format!("IP6 {v6}"),
    }
}

fn sdp(user: &str, a: IpAddr, port: u16, padding: usize) -> String {
    let mut s = format!(
        "v=0\r\no={user} 1 1 IN {}\r\ns=-\r\nc=IN {}\r\nt=0 0\r\nm=audio {port} RTP/AVP 0 101\r\n\
         a=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n",
        sdp_addr(a),
        sdp_addr(a)
    );
    // Larger INVITEs (to be fragmented): more attributes naming the address.
    for i in 0..padding {
        s.push_str(&format!(
            "a=x-note:{i} media from {} via client.alice-home.example\r\n",
            a
        ));
    }
    s
}

fn with_body(head: String, body: &str) -> Vec<u8> {
    let ctype = if body.is_empty() {
        String::new()
    } else {
        "Content-Type: application/sdp\r\n".to_string()
    };
    format!("{head}{ctype}Content-Length: {}\r\n\r\n{body}", body.len()).into_bytes()
}

/// The SIP messages and media of one call from `a` (caller) to `b`: (from caller?, src port,
/// dst port, payload, is SIP).
fn call_payloads(
    tag: &str,
    a: IpAddr,
    b: IpAddr,
    padding: usize,
) -> Vec<(bool, u16, u16, Vec<u8>)> {
    let (ha, hb) = (uri_host(a), uri_host(b));
    let ruri = "sip:+4930123456789@pbx-core.wonderland.example";
    let dialog = format!(
        "From: \"Alice Liddell\" <sip:alice.liddell@{ha}>;tag=a-{tag}\r\n\
         To: <{ruri}>;tag=b-{tag}\r\nCall-ID: {tag}-4711@{ha}\r\n"
    );
    let via = format!("Via: SIP/2.0/UDP {ha}:5060;branch=z9hG4bK-{tag}");
    let invite = with_body(
        format!(
            "INVITE {ruri} SIP/2.0\r\n{via}1;rport\r\nVia: SIP/2.0/UDP client.alice-home.example:5062;branch=z9hG4bK-x{tag}\r\n\
             From: \"Alice Liddell\" <sip:alice.liddell@{ha}>;tag=a-{tag}\r\nTo: <{ruri}>\r\n\
             Call-ID: {tag}-4711@{ha}\r\nCSeq: 1 INVITE\r\nContact: <sip:alice.liddell@{ha}:5060>\r\n\
             Max-Forwards: 70\r\n"
        ),
        &sdp("alice", a, 40000, padding),
    );
    let ok = with_body(
        format!(
            "SIP/2.0 200 OK\r\n{via}1;rport\r\n{dialog}CSeq: 1 INVITE\r\n\
             Contact: \"Bob Cratchit\" <sip:bob.cratchit@{hb}:5060>\r\n"
        ),
        &sdp("bob", b, 50000, 0),
    );
    let ack = with_body(
        format!("ACK sip:bob.cratchit@{hb}:5060 SIP/2.0\r\n{via}2\r\n{dialog}CSeq: 1 ACK\r\n"),
        "",
    );
    let bye = with_body(
        format!("BYE sip:bob.cratchit@{hb}:5060 SIP/2.0\r\n{via}3\r\n{dialog}CSeq: 2 BYE\r\n"),
        "",
    );
    let bye_ok = with_body(
        format!("SIP/2.0 200 OK\r\n{via}3\r\n{dialog}CSeq: 2 BYE\r\n"),
        "",
    );
    let mut out = vec![
        (true, 5060, 5060, invite),
        (false, 5060, 5060, ok),
        (true, 5060, 5060, ack),
    ];
    for i in 0..12u16 {
        for (from_caller, ssrc) in [(true, 0x1122_3344u32), (false, 0x5566_7788)] {
            let mut rtp = vec![0x80, 0];
            rtp.extend_from_slice(&(100 + i).to_be_bytes());
            rtp.extend_from_slice(&(u32::from(i) * 160).to_be_bytes());
            rtp.extend_from_slice(&ssrc.to_be_bytes());
            rtp.extend(std::iter::repeat_n(0xffu8, 160));
            let (sp, dp) = if from_caller {
                (40000, 50000)
            } else {
                (50000, 40000)
            };
            out.push((from_caller, sp, dp, rtp));
        }
    }
    // RTCP: a sender report and a source description naming the caller.
    let cname = format!("alice.liddell@{}", a);
    let name = "Alice Liddell";
    let mut sdes = vec![1, cname.len() as u8];
    sdes.extend_from_slice(cname.as_bytes());
    sdes.extend_from_slice(&[2, name.len() as u8]);
    sdes.extend_from_slice(name.as_bytes());
    sdes.push(0);
    while (sdes.len() + 4) % 4 != 0 {
        sdes.push(0);
    }
    let mut rtcp = vec![0x80, 200, 0, 6];
    rtcp.extend_from_slice(&0x1122_3344u32.to_be_bytes());
    rtcp.extend_from_slice(&[
        0xe0, 0, 0, 1, 0x80, 0, 0, 0, 0, 0, 0x07, 0x80, 0, 0, 0, 12, 0, 0, 7, 0x80,
    ]);
    let words = (4 + 4 + sdes.len()) / 4 - 1;
    rtcp.extend_from_slice(&[0x81, 202]);
    rtcp.extend_from_slice(&(words as u16).to_be_bytes());
    rtcp.extend_from_slice(&0x1122_3344u32.to_be_bytes());
    rtcp.extend_from_slice(&sdes);
    out.push((true, 40001, 50001, rtcp));
    out.push((true, 5060, 5060, bye));
    out.push((false, 5060, 5060, bye_ok));
    out
}

// ---------------------------------------------------------------------------------------------
// Encapsulations, built with etherparse (and GRE by hand: etherparse has no GRE builder).

/// An IP packet (header and UDP datagram) from `src` to `dst`, written by etherparse; IPv6 with a
/// hop-by-hop and a destination options header when `exts`.
fn ip_udp(src: IpAddr, dst: IpAddr, sp: u16, dp: u16, payload: &[u8], exts: bool) -> Vec<u8> {
    let builder = match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => PacketBuilder::ipv4(s.octets(), d.octets(), 64),
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            let header = Ipv6Header {
                traffic_class: 0,
                flow_label: Default::default(),
                payload_length: 0,
                next_header: IpNumber::UDP,
                hop_limit: 64,
                source: s.octets(),
                destination: d.octets(),
            };
            let mut extensions = Ipv6Extensions::default();
            if exts {
                // PadN options (RFC 8200 §4.2), 6 bytes each.
                let pad = [1, 4, 0, 0, 0, 0];
                extensions.hop_by_hop_options =
                    Some(Ipv6RawExtHeader::new_raw(IpNumber::UDP, &pad).expect("6 bytes"));
                extensions.destination_options =
                    Some(Ipv6RawExtHeader::new_raw(IpNumber::UDP, &pad).expect("6 bytes"));
            }
            PacketBuilder::ip(IpHeaders::Ipv6(header, extensions))
        }
        _ => panic!("one version"),
    };
    let builder = builder.udp(sp, dp);
    let mut out = Vec::new();
    builder.write(&mut out, payload).expect("a Vec");
    out
}

/// An Ethernet frame around an IP packet.
fn ether(src: [u8; 6], dst: [u8; 6], ip: &[u8]) -> Vec<u8> {
    let et: u16 = if ip[0] >> 4 == 4 { 0x0800 } else { 0x86dd };
    [&dst[..], &src, &et.to_be_bytes(), ip].concat()
}

/// An outer IPv4 header (etherparse) carrying `payload` of protocol `proto`.
fn outer_v4(src: [u8; 4], dst: [u8; 4], proto: IpNumber, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    PacketBuilder::ipv4(src, dst, 64)
        .write(&mut out, proto, payload)
        .expect("a Vec");
    out
}

/// GRE (RFC 2784 / 2890) with checksum and key, carrying `payload` of `ether_type`.
fn gre(ether_type: u16, payload: &[u8]) -> Vec<u8> {
    let mut g = [
        &[0xa0, 0x00][..],
        &ether_type.to_be_bytes(),
        &[0, 0, 0, 0],
        &[0, 0, 0x12, 0x34],
        payload,
    ]
    .concat();
    let sum = fold(sum16(&g, 0));
    g[4..6].copy_from_slice(&sum.to_be_bytes());
    g
}

/// Cuts an IP packet into fragments of `size` data bytes (a multiple of 8).
fn fragment(ip: &[u8], size: usize) -> Vec<Vec<u8>> {
    if ip[0] >> 4 == 4 {
        let ihl = usize::from(ip[0] & 15) * 4;
        let (head, data) = ip.split_at(ihl);
        data.chunks(size)
            .enumerate()
            .map(|(i, piece)| {
                let more = (i + 1) * size < data.len();
                let mut h = head.to_vec();
                h[2..4].copy_from_slice(&((ihl + piece.len()) as u16).to_be_bytes());
                let flags = ((i * size / 8) as u16) | if more { 0x2000 } else { 0 };
                h[6..8].copy_from_slice(&flags.to_be_bytes());
                h[10..12].copy_from_slice(&[0, 0]);
                let sum = fold(sum16(&h, 0));
                h[10..12].copy_from_slice(&sum.to_be_bytes());
                [&h[..], piece].concat()
            })
            .collect()
    } else {
        // IPv6 without extension headers: a Fragment header (44) after the fixed header.
        let (head, data) = ip.split_at(40);
        let next = head[6];
        data.chunks(size)
            .enumerate()
            .map(|(i, piece)| {
                let more = (i + 1) * size < data.len();
                let mut h = head.to_vec();
                h[4..6].copy_from_slice(&((8 + piece.len()) as u16).to_be_bytes());
                h[6] = 44;
                let off = ((i * size / 8) as u16) << 3 | u16::from(more);
                let frag = [
                    &[next, 0][..],
                    &off.to_be_bytes(),
                    &0x0bad_cafeu32.to_be_bytes(),
                ]
                .concat();
                [&h[..], &frag, piece].concat()
            })
            .collect()
    }
}

/// One generated capture: the frames of a call as `wrap` frames them, and what must not survive.
struct Generated {
    name: &'static str,
    link: u32,
    frames: Vec<Vec<u8>>,
    ips: Vec<IpAddr>,
    macs: Vec<[u8; 6]>,
}

fn v4(a: [u8; 4]) -> IpAddr {
    IpAddr::V4(Ipv4Addr::from(a))
}

fn v6(s: &str) -> IpAddr {
    IpAddr::V6(s.parse::<Ipv6Addr>().expect("an address"))
}

/// The call between `a` and `b`, each IP packet framed by `frame(ip packet, from caller)`.
fn generate(
    name: &'static str,
    link: u32,
    a: IpAddr,
    b: IpAddr,
    exts: bool,
    fragment_size: Option<usize>,
    frame: impl Fn(&[u8], bool) -> Vec<u8>,
) -> Generated {
    let padding = if fragment_size.is_some() { 12 } else { 0 };
    let mut frames = Vec::new();
    for (from_caller, sp, dp, payload) in call_payloads(name, a, b, padding) {
        let (s, d) = if from_caller { (a, b) } else { (b, a) };
        let ip = ip_udp(s, d, sp, dp, &payload, exts);
        match fragment_size {
            Some(size) if ip.len() > 400 => {
                for piece in fragment(&ip, size) {
                    frames.push(frame(&piece, from_caller));
                }
            }
            _ => frames.push(frame(&ip, from_caller)),
        }
    }
    Generated {
        name,
        link,
        frames,
        ips: vec![a, b],
        macs: vec![CALLER_MAC, CALLEE_MAC],
    }
}

fn eth_frame(ip: &[u8], from_caller: bool) -> Vec<u8> {
    if from_caller {
        ether(CALLER_MAC, CALLEE_MAC, ip)
    } else {
        ether(CALLEE_MAC, CALLER_MAC, ip)
    }
}

fn macs(from_caller: bool) -> ([u8; 6], [u8; 6]) {
    if from_caller {
        (CALLER_MAC, CALLEE_MAC)
    } else {
        (CALLEE_MAC, CALLER_MAC)
    }
}

fn generated() -> Vec<Generated> {
    let (a4, b4) = (v4([10, 11, 12, 13]), v4([172, 20, 30, 40]));
    let (a6, b6) = (v6("fd00:1234:5678::a"), v6("fd00:1234:5678::b"));
    let (o1, o2) = ([100, 64, 7, 1], [100, 64, 9, 2]);
    // 802.1Q and 802.1ad tags by hand: etherparse's builder frames whole UDP packets, not fragments.
    let vlan = |ip: &[u8], c: bool| {
        let (s, d) = macs(c);
        let et: u16 = if ip[0] >> 4 == 4 { 0x0800 } else { 0x86dd };
        [&d[..], &s, &[0x81, 0x00, 0x00, 0x64], &et.to_be_bytes(), ip].concat()
    };
    let qinq = |ip: &[u8], c: bool| {
        let (s, d) = macs(c);
        let et: u16 = if ip[0] >> 4 == 4 { 0x0800 } else { 0x86dd };
        [
            &d[..],
            &s,
            &[0x88, 0xa8, 0x00, 0x0a, 0x81, 0x00, 0x00, 0x64],
            &et.to_be_bytes(),
            ip,
        ]
        .concat()
    };
    let ipip = move |ip: &[u8], c: bool| {
        let (s, d) = if c { (o1, o2) } else { (o2, o1) };
        let proto = if ip[0] >> 4 == 4 {
            IpNumber::IPV4
        } else {
            IpNumber::IPV6
        };
        eth_frame(&outer_v4(s, d, proto, ip), c)
    };
    let gre_ip = move |ip: &[u8], c: bool| {
        let (s, d) = if c { (o1, o2) } else { (o2, o1) };
        let et: u16 = if ip[0] >> 4 == 4 { 0x0800 } else { 0x86dd };
        eth_frame(&outer_v4(s, d, IpNumber::GRE, &gre(et, ip)), c)
    };
    let gre_teb = move |ip: &[u8], c: bool| {
        let (s, d) = if c { (o1, o2) } else { (o2, o1) };
        let inner = if c {
            ether(INNER_MACS[0], INNER_MACS[1], ip)
        } else {
            ether(INNER_MACS[1], INNER_MACS[0], ip)
        };
        eth_frame(&outer_v4(s, d, IpNumber::GRE, &gre(0x6558, &inner)), c)
    };
    let tunnelled = |mut g: Generated| {
        g.ips.extend([v4(o1), v4(o2)]);
        g
    };
    // 6in4 with addresses of 7 characters: their pseudonyms are longer, the SIP text grows, and the
    // lengths of the inner IPv6 and the outer IPv4 header follow.
    let (s6, t6) = (v6("fd00::a"), v6("fd00::b"));
    let mut teb = tunnelled(generate("gre-teb", 1, a4, b4, false, None, gre_teb));
    teb.macs.extend(INNER_MACS);
    vec![
        generate("vlan-v4", 1, a4, b4, false, None, vlan),
        generate("vlan-v6", 1, a6, b6, false, None, vlan),
        generate("qinq-v4", 1, a4, b4, false, None, qinq),
        tunnelled(generate("ipip", 1, a4, b4, false, None, ipip)),
        tunnelled(generate("6in4-grows", 1, s6, t6, false, None, ipip)),
        tunnelled(generate("gre-v4", 1, a4, b4, false, None, gre_ip)),
        tunnelled(generate("gre-v6", 1, a6, b6, false, None, gre_ip)),
        teb,
        generate("v6-extension-headers", 1, a6, b6, true, None, eth_frame),
        generate("frag-v4-small", 1, a4, b4, false, Some(48), vlan),
        generate("frag-v6-small", 1, a6, b6, false, Some(64), eth_frame),
        generate(
            "raw-v6-extensions",
            101,
            a6,
            b6,
            true,
            None,
            |ip: &[u8], _| ip.to_vec(),
        ),
    ]
}

fn pcap(link: u32, frames: &[Vec<u8>]) -> Vec<u8> {
    let mut w = PcapWriter::new(Vec::new(), link, false).expect("a Vec");
    for (i, f) in frames.iter().enumerate() {
        w.write(
            1_700_000_000_000_000_000 + i as i64 * 20_000_000,
            f,
            f.len() as u32,
        )
        .expect("a Vec");
    }
    w.finish().expect("a Vec")
}

// ---------------------------------------------------------------------------------------------
// Checks.

/// The Internet checksum (RFC 1071) of the test's own.
fn sum16(b: &[u8], mut acc: u64) -> u64 {
    for w in b.chunks(2) {
        acc += u64::from(w[0]) << 8 | u64::from(*w.get(1).unwrap_or(&0));
    }
    acc
}

fn fold(mut acc: u64) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    !(acc as u16)
}

fn pseudo(src: &[u8], dst: &[u8], proto: u8, len: usize) -> u64 {
    sum16(dst, sum16(src, 0)) + u64::from(proto) + len as u64
}

fn octets(a: IpAddr) -> Vec<u8> {
    match a {
        IpAddr::V4(v) => v.octets().to_vec(),
        IpAddr::V6(v) => v.octets().to_vec(),
    }
}

/// Every frame of a capture.
fn frames_of(file: &CaptureFile) -> Vec<(i64, u32, Vec<u8>, u32)> {
    let mut out = Vec::new();
    let (at, state) = file.first();
    file.read_chunk(at..file.len(), Start::At(at, state), &mut |f| {
        out.push((f.ts_ns, f.link_type, f.data.to_vec(), f.orig_len));
    });
    out
}

/// Verifies every checksum of a capture that can be verified: IPv4 headers (and quoted ones), UDP,
/// TCP, ICMP and ICMPv6 of whole packets, GRE, and the UDP checksum of each reassembled datagram.
/// Returns how many were checked.
fn verify_checksums(capture: &[u8], what: &str) -> usize {
    let file = CaptureFile::from_bytes("v.pcap".into(), capture.to_vec()).expect("a capture");
    verify_frames(&frames_of(&file), what)
}

/// [`verify_checksums`] on frames (timestamp, link type, bytes, wire length).
fn verify_frames(frames: &[(i64, u32, Vec<u8>, u32)], what: &str) -> usize {
    let mut checked = 0;
    let mut defrag = Defragmenter::new(Limits::default());
    for (n, (ts, link, data, _)) in frames.iter().cloned().enumerate() {
        let p = decode::decode(LinkType(link), &data);
        let l = p.layers;
        let at = |o: u32| o as usize;
        for ip in l.ips().iter().chain(l.quoted_ip.as_ref()) {
            if ip.version == 4 {
                let ihl = usize::from(data[at(ip.start)] & 15) * 4;
                assert_eq!(
                    fold(sum16(&data[at(ip.start)..at(ip.start) + ihl], 0)),
                    0,
                    "{what}: frame {} IPv4 header",
                    n + 1
                );
                checked += 1;
            }
        }
        let inner = l.ips().last();
        if let (Some(ip), Some(t), None) = (inner, l.transport, p.stop) {
            let s = at(ip.start);
            let (src, dst) = if ip.version == 4 {
                (&data[s + 12..s + 16], &data[s + 16..s + 20])
            } else {
                (&data[s + 8..s + 24], &data[s + 24..s + 40])
            };
            let seg = &data[at(t.start)..at(t.end)];
            let acc = match p.l4 {
                L4::Udp(_) if ip.version == 4 && seg[6..8] == [0, 0] => None,
                L4::Udp(_) => Some(pseudo(src, dst, 17, seg.len())),
                L4::Tcp(_) => Some(pseudo(src, dst, 6, seg.len())),
                L4::Icmp(i) if i.v6 => Some(pseudo(src, dst, 58, seg.len())),
                L4::Icmp(_) => Some(0),
                _ => None,
            };
            if let Some(acc) = acc {
                assert_eq!(
                    fold(sum16(seg, acc)),
                    0,
                    "{what}: frame {} transport checksum",
                    n + 1
                );
                checked += 1;
            }
        }
        for ip in l.ips().iter().filter(|ip| ip.proto == 47) {
            let g = &data[at(ip.payload)..at(ip.end)];
            if g[0] & 0x80 != 0 && p.stop.is_none() {
                assert_eq!(fold(sum16(g, 0)), 0, "{what}: frame {} GRE checksum", n + 1);
                checked += 1;
            }
        }
        if let (L4::Fragment(f), Some(ip)) = (p.l4, p.ip) {
            if let Some(r) = defrag.push(ts, n as u64 + 1, &ip, &f) {
                let d = r.decode();
                if let (L4::Udp(_), Some(t)) = (d.l4, d.layers.transport) {
                    let seg = &r.payload[at(t.start)..at(t.end)];
                    if !(r.ip.src.is_ipv4() && seg[6..8] == [0, 0]) {
                        let acc = pseudo(&octets(r.ip.src), &octets(r.ip.dst), 17, seg.len());
                        assert_eq!(
                            fold(sum16(seg, acc)),
                            0,
                            "{what}: reassembled datagram ending in frame {}",
                            n + 1
                        );
                        checked += 1;
                    }
                }
            }
        }
    }
    checked
}

/// What must not survive redaction.
#[derive(Default)]
struct Originals {
    ips: BTreeSet<IpAddr>,
    macs: BTreeSet<[u8; 6]>,
    words: BTreeSet<String>,
}

/// Addresses kept by design: they identify nobody (see the redact module doc).
fn kept(a: &IpAddr) -> bool {
    a.is_unspecified()
        || a.is_loopback()
        || a.is_multicast()
        || *a == IpAddr::V4(Ipv4Addr::BROADCAST)
}

/// The originals of a capture: every address of every IP header (tunnels, quotes) and every MAC
/// address, as our decoder finds them, plus the users, display names and numbers of its calls.
fn originals(file: &CaptureFile, a: &Analysis) -> Originals {
    let mut o = Originals::default();
    for (_, link, data, _) in frames_of(file) {
        let p = decode::decode(LinkType(link), &data);
        for &m in p.layers.macs() {
            let mac: [u8; 6] = data[m as usize..m as usize + 6]
                .try_into()
                .expect("6 bytes");
            if mac[0] & 1 == 0 && mac != [0; 6] {
                o.macs.insert(mac);
            }
        }
        o.ips.extend(p.ip.iter().flat_map(|i| [i.src, i.dst]));
        o.ips.extend(p.outer.iter().flat_map(|i| [i.src, i.dst]));
    }
    for c in &a.calls {
        for s in &c.messages {
            let m = &s.msg;
            o.ips.extend([m.src.ip(), m.dst.ip()]);
            o.ips.extend(m.sdp.iter().flatten().filter_map(|x| x.addr));
            for uri in [&m.from_uri, &m.to_uri] {
                if let Some(user) = uri
                    .split_once(':')
                    .and_then(|(_, r)| r.split_once('@'))
                    .map(|(u, _)| u)
                {
                    if user.len() >= 3 {
                        o.words.insert(user.trim_start_matches('+').to_string());
                    }
                }
            }
            o.words.extend(
                m.from_display
                    .as_deref()
                    .filter(|d| d.len() >= 3)
                    .map(str::to_string),
            );
        }
    }
    o.ips.retain(|a| !kept(a));
    o
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

/// Whether `needle` stands in `hay` as a whole address (not inside a longer number).
fn has_address_text(hay: &[u8], needle: &str) -> bool {
    let n = needle.as_bytes();
    hay.windows(n.len()).enumerate().any(|(i, w)| {
        w == n
            && (i == 0
                || !(hay[i - 1].is_ascii_hexdigit() || hay[i - 1] == b'.' || hay[i - 1] == b':'))
            && !hay.get(i + n.len()).is_some_and(|c| {
                c.is_ascii_hexdigit()
                    || (*c == b'.' && hay.get(i + n.len() + 1).is_some_and(u8::is_ascii_digit))
            })
    })
}

fn assert_clean(bytes: &[u8], o: &Originals, what: &str) {
    for ip in &o.ips {
        assert!(!contains(bytes, &octets(*ip)), "{what}: {ip} as raw bytes");
        assert!(
            !has_address_text(bytes, &ip.to_string()),
            "{what}: {ip} as text"
        );
    }
    for mac in &o.macs {
        assert!(!contains(bytes, mac), "{what}: MAC {mac:02x?} as raw bytes");
        let text: Vec<String> = mac.iter().map(|b| format!("{b:02x}")).collect();
        assert!(
            !contains(bytes, text.join(":").as_bytes()),
            "{what}: MAC {mac:02x?} as text"
        );
    }
    for w in &o.words {
        assert!(!contains(bytes, w.as_bytes()), "{what}: {w:?}");
    }
}

fn analyze(bytes: Vec<u8>) -> Analysis {
    support::analyze_with(&[support::open(bytes)], 64 << 10, 2)
}

/// A capture's frames redacted whole through `Redactor::frames` (as extraction does it), and the
/// pcap of them when they have one link type.
#[allow(clippy::type_complexity)]
fn redact_all(
    file: &CaptureFile,
    r: &Redactor,
) -> (Vec<(i64, u32, Vec<u8>, u32)>, Option<Vec<u8>>) {
    let frames = frames_of(file);
    let mut stream = r.frames();
    for (ts, link, data, _) in &frames {
        stream.push(*ts, *link, data);
    }
    let redacted: Vec<_> = frames
        .iter()
        .zip(stream.finish())
        .map(|((ts, link, old, orig), new)| {
            let orig = (*orig as usize + new.len()).saturating_sub(old.len()) as u32;
            (*ts, *link, new, orig)
        })
        .collect();
    let links: BTreeSet<u32> = frames.iter().map(|f| f.1).collect();
    if links.len() != 1 {
        return (redacted, None);
    }
    let link = frames.first().map_or(1, |f| f.1);
    let mut w = PcapWriter::new(Vec::new(), link, true).expect("a Vec");
    for (ts, _, data, orig) in &redacted {
        w.write(*ts, data, *orig).expect("a Vec");
    }
    (redacted, Some(w.finish().expect("a Vec")))
}

fn streams(a: &Analysis, call: Option<usize>) -> Vec<(String, String, u64)> {
    let mut v: Vec<_> = a
        .streams
        .iter()
        .filter(|s| call.is_none() || s.call == call)
        .map(|s| (s.src.to_string(), s.dst.to_string(), s.summary.packets))
        .collect();
    v.sort();
    v
}

/// Redacts one capture every way and checks the output; returns the checksums verified.
fn check_capture(name: &str, bytes: Vec<u8>, mut o: Originals) -> usize {
    let file = support::open(bytes.clone());
    let a = analyze(bytes);
    assert!(!a.calls.is_empty(), "{name}: no call");
    let found = originals(&file, &a);
    o.ips.extend(found.ips);
    o.macs.extend(found.macs);
    o.words.extend(found.words);
    let r = Redactor::for_analysis(&a);
    let redacted = r.analysis(&a);
    let mut checked = 0;
    let (frames, whole) = redact_all(&file, &r);
    let bytes: Vec<u8> = frames.iter().flat_map(|f| f.2.clone()).collect();
    assert_clean(&bytes, &o, &format!("{name} (whole)"));
    checked += verify_frames(&frames, &format!("{name} (whole)"));
    if let Some(whole) = whole {
        assert_clean(&whole, &o, &format!("{name} (whole pcap)"));
        let again = analyze(whole);
        assert_eq!(again.sip, a.sip, "{name}: SIP counts");
        assert_eq!(again.calls.len(), a.calls.len(), "{name}: calls");
        for (c, d) in redacted.calls.iter().zip(&again.calls) {
            assert_eq!(
                (&d.call_id, d.state, d.caller, d.callee),
                (&c.call_id, c.state, c.caller, c.callee),
                "{name}"
            );
            assert_eq!((&d.from, &d.to), (&c.from, &c.to), "{name}");
        }
        assert_eq!(
            streams(&again, None),
            streams(&redacted, None),
            "{name}: streams"
        );
    }
    let files = [file];
    for call in 0..a.calls.len() {
        let mut pcap = Vec::new();
        match call_packets(&a, call, &files, Some(&r), &mut pcap) {
            Ok(_) => {}
            // A pcap holds one link type (multi-if.pcapng): nothing to check in that call.
            Err(e) if e.kind() == ErrorKind::InvalidInput => continue,
            Err(e) => panic!("{name}: {e}"),
        }
        let what = format!("{name} (call {})", call + 1);
        assert_clean(&pcap, &o, &what);
        checked += verify_checksums(&pcap, &what);
        let again = analyze(pcap);
        assert_eq!(again.calls.len(), 1, "{what}");
        let (c, d) = (&redacted.calls[call], &again.calls[0]);
        assert_eq!(
            (&d.call_id, d.state, d.caller, d.callee),
            (&c.call_id, c.state, c.caller, c.callee),
            "{what}"
        );
        assert_eq!(
            streams(&again, None),
            streams(&redacted, Some(call)),
            "{what}: streams"
        );
    }
    checked
}

#[test]
fn generated_encapsulations_are_redacted_whole() {
    for g in generated() {
        let mut o = Originals::default();
        o.ips.extend(g.ips.iter().copied());
        o.macs.extend(g.macs.iter().copied());
        o.words.extend(SECRETS.iter().map(|s| s.to_string()));
        // The capture itself holds them (the test checks what it means to check).
        let bytes = pcap(g.link, &g.frames);
        for ip in &o.ips {
            assert!(
                contains(&bytes, &octets(*ip)),
                "{}: {ip} missing before redaction",
                g.name
            );
        }
        for w in &o.words {
            assert!(
                contains(&bytes, w.as_bytes()),
                "{}: {w} missing before redaction",
                g.name
            );
        }
        let checked = check_capture(g.name, bytes, o);
        assert!(
            checked >= 10,
            "{}: only {checked} checksums verified",
            g.name
        );
    }
}

#[test]
fn committed_encapsulations_are_redacted_whole() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/formats");
    for name in [
        "eth-v4-sip.pcap",
        "eth-v4-sip-ns.pcap",
        "sll-v4-sip.pcap",
        "sll2-v4-sip.pcap",
        "rawip-v4-sip.pcap",
        "null-v4.pcap",
        "lo-v6-sip.pcap",
        "frag-v4-sip.pcap",
        "frag-v6-sip.pcap",
        "multi-if.pcapng",
        "multi-if-merged.pcapng",
    ] {
        let bytes = std::fs::read(dir.join(name)).expect("a committed capture");
        let checked = check_capture(name, bytes, Originals::default());
        assert!(checked > 0, "{name}: no checksum verified");
    }
}

/// The fragment data of a capture's frames, in order: the IP payload the fragments carry.
fn fragment_data(link: u32, frames: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for f in frames {
        let p = decode::decode(LinkType(link), f);
        if let (L4::Fragment(_), Some(ip)) = (p.l4, p.layers.ips().last()) {
            out.extend_from_slice(&f[ip.payload as usize..ip.end as usize]);
        }
    }
    out
}

/// The choice for fragments: the datagram is redacted whole once reassembled and written back, so a
/// token that a fragment boundary cuts is still replaced, every fragment keeps its size, and the UDP
/// checksum (in the first fragment) is right for the whole datagram, over IPv6 too.
#[test]
fn a_fragmented_invite_is_redacted_as_one_datagram() {
    let mut cut_somewhere = false;
    for g in generated()
        .into_iter()
        .filter(|g| g.name.starts_with("frag-"))
    {
        let bytes = pcap(g.link, &g.frames);
        let a = analyze(bytes);
        let r = Redactor::for_analysis(&a);
        let mut stream = r.frames();
        for (i, f) in g.frames.iter().enumerate() {
            stream.push(i as i64 * 1000, g.link, f);
        }
        let out = stream.finish();
        let sizes = |v: &[Vec<u8>]| v.iter().map(Vec::len).collect::<Vec<_>>();
        assert_eq!(
            sizes(&out),
            sizes(&g.frames),
            "{}: fragments keep their sizes",
            g.name
        );
        let caller = g.ips[0].to_string();
        let original = fragment_data(g.link, &g.frames);
        assert!(has_address_text(&original, &caller));
        let whole = fragment_data(g.link, &out);
        assert_eq!(whole.len(), original.len());
        assert!(!has_address_text(&whole, &caller), "{}: {caller}", g.name);
        for w in SECRETS {
            assert!(!contains(&whole, w.as_bytes()), "{}: {w}", g.name);
        }
        assert!(verify_checksums(&pcap(g.link, &out), g.name) > 0);
        // Frame by frame (`Redactor::packet`, which sees one fragment at a time) the pieces of an
        // address cut by a fragment boundary are not found: this is what reassembly buys.
        let alone: Vec<Vec<u8>> = g.frames.iter().map(|f| r.packet(g.link, f)).collect();
        cut_somewhere |= has_address_text(&fragment_data(g.link, &alone), &caller);
    }
    assert!(
        cut_somewhere,
        "no address is cut by a fragment boundary: the test no longer shows what reassembly buys"
    );
}
