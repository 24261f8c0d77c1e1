//! The fuzz harnesses of callscope: one function per target, each feeding arbitrary bytes to a parser
//! (or the whole pipeline) through the library's public API and checking the invariants that must hold
//! for any input (no panic, lengths within the input, iterators that advance).
//!
//! `fuzz_targets/<name>.rs` calls `<name>(data)`; `tests/it/fuzz_regressions.rs` includes this file
//! as a module and replays every saved crasher through the same function, so a regression test is
//! exactly the fuzz run that found the bug.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use callscope::capture::{CaptureFile, Start};
use callscope::decode::defrag::{self, Defragmenter};
use callscope::decode::{self, Fragment, Ip, LinkType, L4};
use callscope::decrypt::{self, keys::KeyStore};
use callscope::export::{extract, redact::Redactor};
use callscope::pipeline::NoProgress;
use callscope::proto::{dns, hep, rtcp, rtp, sdp, sip, stun, tls, udptl};
use callscope::reassembly::{self, Reassembler, Segment};
use callscope::{analyze, report, Options};

/// Capture containers: bytes as a pcap/pcapng/NetMon file, read whole from the first record
/// (following the reader from record to record like the sequential fold), then again in small chunks
/// that each resynchronise on their own (as the parallel pipeline does). A NetMon file's chunks are
/// found through its frame table, exactly: they must hold the same frames as the whole read.
pub fn capture(data: &[u8]) {
    let Ok(file) = CaptureFile::from_bytes("fuzz".to_string(), data.to_vec()) else {
        return;
    };
    let mut whole = 0u64;
    let (mut at, mut state) = file.first();
    let mut rounds = 0usize;
    while at < file.len() {
        let read = file.read_chunk(at..file.len(), Start::At(at, state.clone()), &mut |f| {
            whole += 1;
            black_box((f.ts_ns, f.link_type, f.data, f.truncated()));
        });
        assert!(
            read.next >= at,
            "reader went backwards from {at} to {}",
            read.next
        );
        if read.next == at {
            break;
        }
        at = read.next;
        state = read.end_state;
        rounds += 1;
        assert!(rounds <= data.len(), "reader does not advance");
    }
    let mut chunked = 0u64;
    let size = 64 + usize::from(data.get(100).copied().unwrap_or(0));
    for range in file.chunks(size) {
        let read = file.read_chunk(range.clone(), Start::Resync, &mut |f| {
            chunked += 1;
            black_box((f.ts_ns, f.link_type, f.data, f.truncated()));
        });
        if let Some((began, _)) = &read.began {
            assert!(range.contains(began), "record {began} outside {range:?}");
        }
        black_box(read);
    }
    if file.format.name() == "netmon2" {
        assert_eq!(
            chunked, whole,
            "NetMon chunks read other frames than the whole file"
        );
    }
}

/// Link types the `decode` target chooses from with its first byte.
const LINKS: [LinkType; 13] = [
    LinkType::NULL,
    LinkType::ETHERNET,
    LinkType::RAW_BSD12,
    LinkType::RAW_BSD14,
    LinkType::RAW,
    LinkType::LOOP,
    LinkType::LINUX_SLL,
    LinkType::IPV4,
    LinkType::IPV6,
    LinkType::LINUX_SLL2,
    LinkType::IEEE802_11,
    LinkType(callscope::capture::NETMON_LINK + 0xFFE0),
    LinkType(147), // USER0: not supported
];

/// Link, IP and transport decoding: the first byte picks a link type, the rest is the frame.
pub fn decode(data: &[u8]) {
    let Some((&pick, frame)) = data.split_first() else {
        return;
    };
    let link = LINKS[usize::from(pick) % LINKS.len()];
    let pkt = decode::decode(link, frame);
    if let Some(stop) = pkt.stop {
        black_box((stop.code(), stop.to_string()));
        assert!(stop.offset <= frame.len(), "stop offset past the frame");
    }
    match pkt.l4 {
        L4::Udp(u) => assert!(u.payload.len() <= frame.len()),
        L4::Tcp(t) => assert!(t.payload.len() <= frame.len()),
        L4::Fragment(f) => assert!(f.payload.len() <= frame.len()),
        other => {
            black_box(other);
        }
    }
    black_box(format!("{pkt:?}"));
}

/// IP defragmentation: a sequence of fragments, with small limits so that eviction and timeouts happen.
///
/// Each fragment is 1 byte set key (bits 0-1 destination, bit 2 TCP, the rest the id), 2 bytes
/// offset / 8, 1 byte flags (bit 0 more fragments, bit 1 IPv6, bits 2-7 time step in 100 ns), 1 byte
/// length, then that many payload bytes.
pub fn defrag(data: &[u8]) {
    let mut d = Defragmenter::new(defrag::Limits {
        max_sets: 8,
        max_bytes: 16 << 10,
        timeout_ns: 1_000,
        max_reported: 4,
        head_wait_ns: Some(300),
    });
    let mut rest = data;
    let mut ts = 0i64;
    let mut frame = 0u64;
    while let Some((head, tail)) = rest.split_first_chunk::<5>() {
        let [key, off_hi, off_lo, flags, len] = *head;
        let len = usize::from(len).min(tail.len());
        let (payload, tail) = tail.split_at(len);
        rest = tail;
        frame += 1;
        ts = ts.saturating_add(i64::from(flags >> 2) * 100);
        let (src, dst): (IpAddr, IpAddr) = if flags & 2 != 0 {
            let dst = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, u16::from(key & 3));
            (Ipv6Addr::LOCALHOST.into(), dst.into())
        } else {
            (
                Ipv4Addr::new(10, 0, 0, 1).into(),
                Ipv4Addr::new(10, 0, 0, key & 3).into(),
            )
        };
        let proto = if key & 4 != 0 { 6 } else { 17 };
        let ip = Ip {
            src,
            dst,
            proto,
            ttl: 64,
        };
        let frag = Fragment {
            id: u32::from(key >> 3),
            offset: u32::from(u16::from_be_bytes([off_hi, off_lo])) * 8,
            more: flags & 1 != 0,
            proto,
            payload,
        };
        if let Some(r) = d.push(ts, frame, &ip, &frag) {
            assert!(
                r.payload.len() <= 65_535,
                "datagram of {} bytes",
                r.payload.len()
            );
            assert!(!r.frames.is_empty());
            black_box(format!("{:?}", r.decode()));
        }
        for t in d.take_truncated() {
            assert!(t.datagram.payload.len() <= 65_535);
            assert!(!t.datagram.frames.is_empty() && t.ts_ns <= ts);
            black_box(format!("{:?}", t.datagram.decode()));
        }
    }
    d.close();
    black_box(d.take_truncated());
    black_box(d.finish());
}

/// TCP reassembly of SIP streams: a sequence of segments over four directions, with small limits.
///
/// Each segment is 1 control byte (bits 0-1 direction, bit 2 SYN, bit 3 close the direction instead,
/// bit 4 sequence number relative to the end of that direction's previous segment), 4 bytes sequence
/// number (or offset), 1 byte length, then the payload.
pub fn reassembly(data: &[u8]) {
    let mut r = Reassembler::new(reassembly::Limits {
        per_stream: 4096,
        streams: 3,
    });
    let addr = |n: u8| SocketAddr::from((Ipv4Addr::new(10, 0, 0, n), 5060));
    let mut last = [0u32; 4];
    let mut rest = data;
    let mut frame = 0u64;
    let mut out = |m: reassembly::Message| {
        assert!(!m.frames.is_empty(), "message without frames");
        black_box(m);
    };
    while let Some((head, tail)) = rest.split_first_chunk::<6>() {
        let [ctl, s0, s1, s2, s3, len] = *head;
        let len = usize::from(len).min(tail.len());
        let (payload, tail) = tail.split_at(len);
        rest = tail;
        frame += 1;
        let dir = ctl & 3;
        let raw = u32::from_be_bytes([s0, s1, s2, s3]);
        let seq = if ctl & 16 != 0 {
            last[usize::from(dir)].wrapping_add(raw % 4096)
        } else {
            raw
        };
        last[usize::from(dir)] = seq.wrapping_add(len as u32);
        let (src, dst) = (addr(dir), addr(dir ^ 1));
        if ctl & 8 != 0 {
            r.close(src, dst, &mut out);
            continue;
        }
        let seg = Segment {
            src,
            dst,
            frame,
            ts_ns: frame as i64,
            seq,
            syn: ctl & 4 != 0,
            payload,
        };
        r.segment(seg, &mut out);
    }
    r.finish(&mut out);
    black_box(&r.stats);
}

/// Every accessor of a parsed SIP message.
fn sip_message(m: &sip::Message<'_>, input_len: usize) {
    assert!(
        m.len <= input_len,
        "message of {} bytes from {input_len}",
        m.len
    );
    black_box((
        m.is_request(),
        m.method().map(|x| x.as_str().len()),
        m.check_complete().is_ok(),
    ));
    if let Some(s) = m.status() {
        black_box((s.is_final(), s.class(), s.canonical_reason(), s.to_string()));
    }
    for h in &m.headers {
        black_box((h.is("v"), h.is_rewritten(), sip::expand_compact(h.name)));
        black_box((
            sip::Uri::parse(&h.value).is_ok(),
            sip::NameAddr::parse(&h.value),
            sip::Via::parse(&h.value),
            sip::MsDiagnostic::parse(&h.value),
            sip::param(&h.value, "tag"),
            sip::params(&h.value).count(),
        ));
    }
    black_box((
        m.header_value("Call-ID"),
        m.call_id(),
        m.cseq(),
        m.from(),
        m.to(),
        m.contact(),
        m.contacts().count(),
        m.vias().count(),
        m.top_via(),
        m.content_length(),
        m.content_type(),
        m.user_agent(),
        m.server(),
    ));
    black_box((
        m.record_route(),
        m.route(),
        m.max_forwards(),
        m.reasons(),
        m.warnings(),
        m.ms_diagnostics(),
        m.ms_diagnostics_public(),
        m.sdp_bodies(),
        m.header_values("via").count(),
        m.headers_named("contact").count(),
    ));
    black_box((
        m.challenge(),
        m.credentials(),
        m.expires(),
        m.min_expires(),
        m.session_expires(),
        m.min_se(),
    ));
    if let Some(c) = m.contact() {
        black_box(sip::Uri::parse(c.uri).is_ok());
    }
    if let sip::StartLine::Request { uri, .. } = &m.start {
        black_box(sip::Uri::parse(uri).is_ok());
    }
}

/// SIP: `parse`, `parse_all`, stream framing message after message, and the accessors.
pub fn sip(data: &[u8]) {
    black_box(sip::looks_like_sip(data));
    match sip::parse(data) {
        Ok(m) => sip_message(&m, data.len()),
        Err(e) => {
            black_box((e.code(), e.to_string()));
        }
    }
    match sip::parse_head(data) {
        Ok(m) => {
            assert_eq!(m.truncated, Some(sip::Truncation::Head));
            sip_message(&m, data.len());
        }
        Err(e) => {
            black_box(e.code());
        }
    }
    let mut all = sip::parse_all(data);
    let mut n = 0usize;
    for r in all.by_ref() {
        n += 1;
        assert!(n <= data.len() + 1, "parse_all does not advance");
        match r {
            Ok(m) => sip_message(&m, data.len()),
            Err(e) => {
                black_box(e.code());
            }
        }
    }
    black_box(all.remaining());
    let mut rest = data;
    while !rest.is_empty() {
        let used = match sip::frame(rest) {
            sip::Framing::Complete { len } | sip::Framing::KeepAlive { len } => len,
            sip::Framing::Incomplete { needed } => {
                // `needed` counts the bytes missing beyond `rest`.
                assert!(needed != Some(0), "incomplete, yet no byte is missing");
                break;
            }
            sip::Framing::Invalid(e) => {
                black_box(e.code());
                break;
            }
        };
        assert!(
            used > 0 && used <= rest.len(),
            "frame of {used} from {}",
            rest.len()
        );
        rest = rest.get(used..).unwrap_or_default();
    }
}

/// SDP: `parse` and the media accessors.
pub fn sdp(data: &[u8]) {
    match sdp::parse(data) {
        Ok(s) => {
            black_box(s.origin.map(|o| o.version_number()));
            for m in &s.media {
                black_box((
                    m.effective_connection(&s).map(|c| c.addr.is_unspecified()),
                    m.effective_direction(&s).as_str(),
                    m.is_disabled(),
                ));
                for pt in m.formats.iter().filter_map(|f| f.parse::<u8>().ok()) {
                    black_box((
                        m.rtpmap(pt),
                        m.clock_rate(pt),
                        m.codec_name(pt),
                        sdp::static_payload(pt),
                    ));
                }
            }
        }
        Err(e) => {
            black_box((e.code(), e.to_string()));
        }
    }
}

/// RTP: classifier, header view, every accessor, telephone-event payloads.
pub fn rtp(data: &[u8]) {
    black_box(rtp::looks_like_rtp(data));
    match rtp::Packet::new_checked(data) {
        Ok(p) => {
            let pt = p.payload_type();
            black_box((
                p.version(),
                p.padding(),
                p.extension_bit(),
                p.csrc_count(),
                p.marker(),
            ));
            black_box((
                pt.is_dynamic(),
                pt.is_comfort_noise(),
                pt.static_clock_rate(),
                pt.name(),
            ));
            black_box((
                p.sequence(),
                p.timestamp(),
                p.ssrc(),
                p.csrcs().count(),
                p.extension(),
            ));
            let payload = p.payload();
            assert!(payload.len() + p.padding_len() <= data.len());
            if let Ok(e) = rtp::Event::parse(payload) {
                black_box(e.dtmf_symbol());
            }
        }
        Err(e) => {
            black_box(e.to_string());
        }
    }
}

/// One RTCP packet: header fields, body, and every block iterator.
fn rtcp_packet(p: &rtcp::Packet<'_>) {
    black_box((
        p.padding(),
        p.count(),
        p.packet_type().name(),
        p.payload().is_ok(),
        p.as_bytes(),
    ));
    let Ok(body) = p.body() else { return };
    match body {
        rtcp::Body::SenderReport(sr) => {
            black_box((
                sr.ssrc(),
                sr.rtp_timestamp(),
                sr.packet_count(),
                sr.octet_count(),
            ));
            for b in sr.reports() {
                let rtt = b.round_trip(rtcp::compact_ntp(sr.ntp_timestamp()));
                black_box((b.fraction_lost_pct(), rtt));
            }
        }
        rtcp::Body::ReceiverReport(rr) => {
            for b in rr.reports() {
                black_box((rr.ssrc(), b.fraction_lost_pct(), b.round_trip(0x1234_5678)));
            }
        }
        rtcp::Body::SourceDescription(sdes) => {
            for c in sdes.chunks() {
                black_box((c.cname(), c.items().count()));
            }
        }
        rtcp::Body::Goodbye(bye) => {
            black_box((bye.sources().count(), bye.reason()));
        }
        rtcp::Body::App(app) => {
            black_box((app.ssrc(), app.name(), app.data()));
        }
        rtcp::Body::ExtendedReport(xr) => {
            black_box(xr.ssrc());
            for b in xr.blocks() {
                if let Some(v) = b.voip_metrics() {
                    black_box((v.mos_lq(), v.mos_cq(), v.r()));
                }
            }
        }
        rtcp::Body::Unknown(t) => {
            black_box(t);
        }
    }
}

/// RTCP: classifier, single packet, compound parsing.
pub fn rtcp(data: &[u8]) {
    black_box(rtcp::looks_like_rtcp(data));
    if let Ok(p) = rtcp::Packet::new_checked(data) {
        rtcp_packet(&p);
    }
    match rtcp::Compound::parse(data) {
        Ok(c) => {
            for p in c.packets() {
                rtcp_packet(&p);
            }
            black_box(c.trailer());
        }
        Err(e) => {
            black_box(e.to_string());
        }
    }
}

/// One STUN message: header fields and every attribute.
fn stun_message(m: &stun::Message<'_>) {
    black_box((
        m.message_type().class(),
        m.method().name(),
        m.class(),
        m.length(),
    ));
    black_box((
        m.is_classic(),
        m.transaction_id(),
        m.mapped_address(),
        m.error_code(),
    ));
    for a in m.attributes() {
        black_box(a);
    }
}

/// STUN: classifier, message view, attributes, and RFC 4571 framing over TCP.
pub fn stun(data: &[u8]) {
    black_box(stun::looks_like_stun(data));
    match stun::Message::new_checked(data) {
        Ok(m) => stun_message(&m),
        Err(e) => {
            black_box(e.to_string());
        }
    }
    let mut tcp = stun::TcpMessages::new(data);
    let mut n = 0usize;
    for m in tcp.by_ref() {
        n += 1;
        assert!(n <= data.len(), "TcpMessages does not advance");
        stun_message(&m);
    }
    black_box(tcp.remainder());
}

/// DNS: the classifier, one message (every question and record), and the messages of a TCP segment.
pub fn dns(data: &[u8]) {
    black_box(dns::looks_like_dns(data));
    for m in std::iter::once(data).chain(dns::tcp_messages(data)) {
        match dns::Message::parse(m) {
            Ok(msg) => {
                assert!(msg.questions.len() <= dns::MAX_RECORDS);
                black_box((msg.rcode.name(), &msg.answers, &msg.additional));
                for q in &msg.questions {
                    black_box(q.qtype.name());
                }
            }
            Err(e) => {
                black_box(e.to_string());
            }
        }
    }
}

/// HEP: one packet (HEP3 or HEP1/2) and back-to-back HEP3 packets; every field, offset and payload
/// lies within the input.
pub fn hep(data: &[u8]) {
    black_box(hep::looks_like_hep3(data));
    let check = |p: &hep::Packet<'_>, input: &[u8]| {
        for (addr, at) in [(p.src, p.src_at), (p.dst, p.dst_at)] {
            if let (Some(addr), Some(at)) = (addr, at) {
                let len = if addr.is_ipv4() { 4 } else { 16 };
                assert!(at + len <= input.len(), "address at {at} past the packet");
            }
        }
        for text in [p.payload, p.correlation_id].into_iter().flatten() {
            assert!(text.len() <= input.len());
        }
        black_box((p.ts_ns(), p.kind().name(), p.capture_id, p.ip_proto));
    };
    match hep::parse(data) {
        Ok((p, used)) => {
            assert!(
                used <= data.len(),
                "parse used {used} of {} bytes",
                data.len()
            );
            check(&p, data);
        }
        Err(e) => {
            black_box(e.to_string());
        }
    }
    let mut packets = hep::packets(data);
    let mut n = 0usize;
    for p in packets.by_ref() {
        n += 1;
        assert!(n <= data.len(), "packets do not advance");
        check(&p, data);
    }
    black_box(packets.rest());
}

/// UDPTL: a packet, its primary IFP with every field, its secondaries or FEC; every IFP on its own.
pub fn udptl(data: &[u8]) {
    let ifp_fields = |ifp: udptl::Ifp<'_>| {
        let mut n = 0usize;
        for f in ifp.fields() {
            n += 1;
            assert!(f.data.len() <= data.len(), "a field longer than the input");
            black_box((f.kind, ifp.message));
        }
        assert!(n <= data.len(), "fields do not advance");
    };
    match udptl::Packet::parse(data) {
        Ok(p) => {
            black_box(p.seq());
            ifp_fields(p.primary());
            match p.recovery() {
                udptl::Recovery::Redundancy(s) => {
                    let announced = s.len();
                    let mut n = 0usize;
                    for ifp in s {
                        n += 1;
                        ifp_fields(ifp);
                    }
                    assert_eq!(n, announced, "a validated packet's secondaries all parse");
                }
                udptl::Recovery::Fec { span, entries } => {
                    black_box((span, entries));
                }
            }
        }
        Err(e) => {
            black_box(e.to_string());
        }
    }
    if let Ok(ifp) = udptl::Ifp::parse(data) {
        ifp_fields(ifp);
    }
}

/// TLS record sniffing: records, their content, handshake messages.
pub fn tls(data: &[u8]) {
    black_box(tls::sniff(data));
    let mut records = tls::records(data);
    let mut n = 0usize;
    for r in records.by_ref() {
        n += 1;
        assert!(n <= data.len(), "records do not advance");
        black_box((
            r.is_complete(),
            r.wire_len(),
            r.content_type.name(),
            r.version.name(),
        ));
        match r.content() {
            tls::Content::Alert(a) => {
                black_box((
                    a.level,
                    a.description.name(),
                    a.description.is_certificate_problem(),
                ));
            }
            tls::Content::Handshake(hs) => {
                for (i, h) in hs.enumerate() {
                    assert!(i <= r.fragment.len(), "handshakes do not advance");
                    if let tls::Handshake::Other { kind, .. }
                    | tls::Handshake::Partial { kind, .. } = h
                    {
                        black_box(kind.name());
                    }
                    if let tls::Handshake::ClientHello(hello) = h {
                        assert!(hello.offered().count() <= usize::from(hello.cipher_suites));
                    }
                    black_box(h);
                }
            }
            other => {
                black_box(other);
            }
        }
    }
    black_box(records.remainder());
    // The same bytes as a handshake stream put together across records, and their certificates.
    let (messages, used) = tls::messages(data);
    assert!(used <= data.len());
    for (m, raw) in messages {
        assert!(
            raw.len() >= 4 && raw.len() <= used,
            "a message within the stream"
        );
        if let tls::Handshake::Other { body, .. } = m {
            for tls13 in [false, true] {
                for der in tls::certificates(body, tls13).take(4) {
                    if let Some(c) = tls::cert::Summary::parse(der) {
                        assert!(c.dns_names.len() + c.ip_addresses.len() <= tls::cert::MAX_NAMES);
                        black_box((c.names("sip.example.com"), c.name_list()));
                    }
                }
            }
            black_box(tls::rsa_encrypted_premaster(body));
        }
    }
}

/// The key logs and the RSA key of the lab's TLS captures, so that mutations of those captures reach
/// the key schedule and the record decryption.
fn lab_keys() -> KeyStore {
    let mut keys = KeyStore::default();
    for log in [
        &include_bytes!("../../testdata/lab/sip-tls-calls.keylog")[..],
        &include_bytes!("../../testdata/lab/tls-certificates.keylog")[..],
    ] {
        assert!(keys.add_keylog(log, "lab").is_empty());
    }
    keys.add_rsa_pem(include_bytes!("../../testdata/lab/sip-tls-rsa.key"), None)
        .expect("the lab's RSA key");
    keys
}

/// TLS decryption: bytes as a capture file, analysed with the lab's keys (seed with the TLS lab
/// captures: damaged handshakes, records and lengths go through the decryption stage), and the same
/// bytes as the records of one connection fed straight to `decrypt::Decryptor` (tiny limits) with a
/// key log whose client random and secrets come from the input.
pub fn decrypt(data: &[u8]) {
    static KEYS: std::sync::OnceLock<KeyStore> = std::sync::OnceLock::new();
    let keys = KEYS.get_or_init(lab_keys);
    if let Ok(file) = CaptureFile::from_bytes("fuzz".to_string(), data.to_vec()) {
        let options = Options {
            chunk_size: 512,
            tls_keys: std::sync::Arc::new(keys.clone()),
            ..Options::default()
        };
        black_box(analyze(&[file], &options, &NoProgress));
    }
    let Some((secret, rest)) = data.split_at_checked(80) else {
        return;
    };
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    let (random, master) = secret.split_at(32);
    let log = [
        "CLIENT_RANDOM",
        "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
        "SERVER_HANDSHAKE_TRAFFIC_SECRET",
        "CLIENT_TRAFFIC_SECRET_0",
        "SERVER_TRAFFIC_SECRET_0",
    ]
    .iter()
    .enumerate()
    .map(|(i, label)| {
        let s = if i == 0 { master } else { &master[..32] };
        format!("{label} {} {}\n", hex(random), hex(s))
    })
    .collect::<String>();
    let mut store = KeyStore::default();
    assert!(store.add_keylog(log.as_bytes(), "fuzz").is_empty());
    let limits = decrypt::Limits {
        sessions: 4,
        reassembly: reassembly::Limits {
            per_stream: 2048,
            streams: 8,
        },
    };
    let mut d = decrypt::Decryptor::new(store, limits);
    let client = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10)), 40000);
    let server = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 31)), 5061);
    // Segments: 1 control byte (bit 0 from the server, bit 1 FIN, bit 2 RST), 2 bytes length, payload.
    let mut seq = [0u32; 2];
    let mut c = rest;
    let mut frame = 0u64;
    let mut out = |o: decrypt::Output| {
        black_box(match o {
            decrypt::Output::Tls { event, .. } => black_box(format!("{event:?}")).len(),
            decrypt::Output::Sip(m) => m.bytes.len(),
        });
    };
    while let [ctl, a, b, tail @ ..] = c {
        let len = usize::from(u16::from_be_bytes([*a, *b])).min(tail.len());
        let (payload, next) = tail.split_at(len);
        c = next;
        frame += 1;
        let side = usize::from(ctl & 1);
        let (src, dst) = if side == 0 {
            (client, server)
        } else {
            (server, client)
        };
        d.segment(
            Segment {
                src,
                dst,
                frame,
                ts_ns: frame as i64 * 1_000_000,
                seq: seq[side],
                syn: false,
                payload,
            },
            ctl & 2 != 0,
            ctl & 4 != 0,
            &mut out,
        );
        seq[side] = seq[side].wrapping_add(len as u32);
        assert!(d.sessions() <= 4);
    }
    d.finish(&mut out);
}

/// The whole pipeline: bytes as a capture file, analysed (in small chunks so resynchronisation and
/// re-reads happen on small inputs too), rendered as text and JSON.
pub fn pipeline(data: &[u8]) {
    let Ok(file) = CaptureFile::from_bytes("fuzz".to_string(), data.to_vec()) else {
        return;
    };
    let options = Options {
        chunk_size: 256,
        ..Options::default()
    };
    let analysis = analyze(&[file], &options, &NoProgress);
    report::text::write(&analysis, &Default::default(), std::io::sink())
        .expect("writing to a sink cannot fail");
    report::json::write(&analysis, std::io::sink()).expect("writing to a sink cannot fail");
}

/// Reads every record of an in-memory capture written by callscope; returns how many there were.
fn records(bytes: Vec<u8>) -> (CaptureFile, usize) {
    let file =
        CaptureFile::from_bytes("out".to_string(), bytes).expect("callscope writes a capture");
    let mut n = 0usize;
    let (at, state) = file.first();
    file.read_chunk(at..file.len(), Start::At(at, state), &mut |f| {
        n += 1;
        black_box(f.data);
    });
    (file, n)
}

/// Packets out: bytes as a capture file, analysed; every call (the first 16) extracted to a pcap
/// plain and with the redactor `--redact` uses, and the whole capture through `Redactor::frames`;
/// each pcap read back record by record and analysed again, the redacted analysis rendered.
pub fn extract_redact(data: &[u8]) {
    let Ok(file) = CaptureFile::from_bytes("fuzz".to_string(), data.to_vec()) else {
        return;
    };
    let options = Options {
        chunk_size: 256,
        ..Options::default()
    };
    let files = [file];
    let analysis = analyze(&files, &options, &NoProgress);
    let redactor = Redactor::for_analysis(&analysis);
    report::json::write(&redactor.analysis(&analysis), std::io::sink())
        .expect("writing to a sink cannot fail");
    for call in 0..analysis.calls.len().min(16) {
        for r in [None, Some(&redactor)] {
            let mut out = Vec::new();
            match extract::call_packets(&analysis, call, &files, r, &mut out) {
                Ok(stats) => {
                    let (again, n) = records(out);
                    assert_eq!(n, stats.frames.len(), "records written and read back");
                    black_box(analyze(&[again], &options, &NoProgress));
                }
                // One pcap holds one link type: a call over several is refused, nothing else is.
                Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput, "{e}"),
            }
        }
    }
    let file = &files[0];
    let mut frames = redactor.frames();
    let mut lens = Vec::new();
    let (at, state) = file.first();
    file.read_chunk(at..file.len(), Start::At(at, state), &mut |f| {
        frames.push(f.ts_ns, f.link_type, f.data);
        lens.push(f.data.len());
    });
    let out = frames.finish();
    assert_eq!(out.len(), lens.len(), "one redacted frame per frame");
    for (new, old) in out.iter().zip(&lens) {
        // Only a whole UDP datagram whose SIP text changed length may change the frame's length,
        // and never beyond the 64 KiB an IP length field can say.
        assert!(
            new.len() <= old + 0xffff,
            "frame grew from {old} to {}",
            new.len()
        );
    }
}
