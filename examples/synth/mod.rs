//! A deterministic generator of synthetic VoIP captures, for benchmarks and scale tests.
//!
//! Writes a classic pcap (Ethernet, IPv4, µs) of `calls` overlapping SIP calls over UDP — INVITE with
//! SDP, 100, 180, 200 with SDP, ACK, then G.711 RTP both ways every 20 ms with RTCP every 5 s, then
//! BYE/200 — optionally with random RTP loss, arrival jitter and a share of rejected calls (486, no
//! media). Streams in 20 ms ticks so memory does not grow with the capture's length.
//! Addresses come from 198.18.0.0/15 (RFC 2544, benchmarking); nothing is ever sent anywhere.

#![allow(dead_code)]

use std::io::{self, Write};

use callscope::capture::write::PcapWriter;

/// What to generate.
#[derive(Clone, Debug)]
pub struct Spec {
    /// Number of calls.
    pub calls: u32,
    /// Milliseconds of RTP per answered call.
    pub media_ms: u32,
    /// Milliseconds between the starts of consecutive calls (any value: a call may start inside a
    /// 20 ms media tick).
    pub spacing_ms: u32,
    /// RTP packets dropped, in percent.
    pub loss_pct: f64,
    /// Largest extra arrival delay of an RTP packet, in ms (uniform 0..jitter).
    pub jitter_ms: f64,
    /// Share of calls rejected with 486 (no media), in percent.
    pub failed_pct: f64,
    /// Distinct final statuses the rejected calls get: 486 Busy Here when 1 (the default), else
    /// 400 + the call's index modulo this many (at most 300), each a failure pattern of its own.
    pub reject_statuses: u16,
    /// Seed of the pseudo-random generator.
    pub seed: u64,
    /// Unrelated TCP connections (SYN, SYN-ACK, ACK, FIN both ways, to port 443) before the first
    /// call: the mirror-port noise a connection table must not drown in.
    pub noise_connections: u32,
    /// Packets of another capture to write after the calls, shifted to start a second after them.
    pub tail: Vec<Record>,
}

/// A packet of another capture: time, bytes, length on the wire.
pub type Record = (i64, Vec<u8>, u32);

impl Default for Spec {
    fn default() -> Self {
        Spec {
            calls: 940,
            media_ms: 50_000,
            spacing_ms: 50,
            loss_pct: 0.0,
            jitter_ms: 0.0,
            failed_pct: 0.0,
            reject_statuses: 1,
            seed: 1,
            noise_connections: 0,
            tail: Vec::new(),
        }
    }
}

/// xorshift64*: small, fast, deterministic.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

const START_NS: i64 = 1_767_225_600_000_000_000; // 2026-01-01T00:00:00Z
const TICK_NS: i64 = 20_000_000;

struct Call {
    index: u32,
    start_tick: i64,
    /// Where in its ticks the call's packets lie (its start is `start_tick` plus this).
    offset_ns: i64,
    end_tick: i64,
    failed: bool,
    caller: [u8; 4],
    callee: [u8; 4],
    rtp_a: u16,
    rtp_b: u16,
    ssrc_a: u32,
    ssrc_b: u32,
    seq_a: u16,
    seq_b: u16,
}

impl Call {
    fn call_id(&self) -> String {
        format!(
            "{:08x}-synth@198.18.0.1",
            self.index.wrapping_mul(2_654_435_761)
        )
    }
}

/// One packet to write: arrival time and bytes.
struct Packet {
    ts_ns: i64,
    data: Vec<u8>,
}

fn checksum16(data: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for pair in data.chunks(2) {
        let word = u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)]);
        sum += u32::from(word);
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Ethernet + IPv4 + UDP (checksum 0) around `payload`.
fn udp(src: [u8; 4], sport: u16, dst: [u8; 4], dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut p = Vec::with_capacity(42 + payload.len());
    p.extend_from_slice(&[
        2, 0, dst[1], dst[2], dst[3], 2, 2, 0, src[1], src[2], src[3], 1, 0x08, 0x00,
    ]);
    let total = (20 + 8 + payload.len()) as u16;
    let mut ip = [0u8; 20];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&total.to_be_bytes());
    ip[6] = 0x40; // don't fragment
    ip[8] = 64;
    ip[9] = 17;
    ip[12..16].copy_from_slice(&src);
    ip[16..20].copy_from_slice(&dst);
    let sum = checksum16(&ip);
    ip[10..12].copy_from_slice(&sum.to_be_bytes());
    p.extend_from_slice(&ip);
    p.extend_from_slice(&sport.to_be_bytes());
    p.extend_from_slice(&dport.to_be_bytes());
    p.extend_from_slice(&(8 + payload.len() as u16).to_be_bytes());
    p.extend_from_slice(&[0, 0]);
    p.extend_from_slice(payload);
    p
}

fn ip_str(ip: [u8; 4]) -> String {
    format!("{}.{}.{}.{}", ip[0], ip[1], ip[2], ip[3])
}

fn sdp(ip: [u8; 4], port: u16, session: u32) -> String {
    let ip = ip_str(ip);
    format!(
        "v=0\r\no=- {session} 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\n\
         m=audio {port} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n\
         a=ptime:20\r\na=sendrecv\r\n"
    )
}

/// A SIP message from caller (`from_caller`) or callee, with an optional body.
fn sip(
    call: &Call,
    start_line: &str,
    cseq: &str,
    from_caller: bool,
    body: Option<&str>,
) -> Vec<u8> {
    let (a, b) = (ip_str(call.caller), ip_str(call.callee));
    let body = body.unwrap_or("");
    let content_type = if body.is_empty() {
        ""
    } else {
        "Content-Type: application/sdp\r\n"
    };
    let text = format!(
        "{start_line}\r\nVia: SIP/2.0/UDP {a}:5060;branch=z9hG4bK{idx:x}{cseq_n}\r\n\
         From: <sip:{idx}@{a}>;tag=a{idx}\r\nTo: <sip:{idx}@{b}>{totag}\r\nCall-ID: {cid}\r\n\
         CSeq: {cseq}\r\nContact: <sip:{idx}@{c}:5060>\r\nMax-Forwards: 70\r\n{content_type}\
         Content-Length: {len}\r\n\r\n{body}",
        idx = call.index,
        cseq_n = cseq.len(),
        totag = if start_line.starts_with("INVITE") {
            String::new()
        } else {
            format!(";tag=b{}", call.index)
        },
        cid = call.call_id(),
        c = if from_caller { &a } else { &b },
        len = body.len(),
    );
    let (src, dst) = if from_caller {
        (call.caller, call.callee)
    } else {
        (call.callee, call.caller)
    };
    udp(src, 5060, dst, 5060, text.as_bytes())
}

fn rtp(seq: u16, ts: u32, ssrc: u32) -> Vec<u8> {
    let mut p = Vec::with_capacity(172);
    p.extend_from_slice(&[0x80, 0x00]);
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&ts.to_be_bytes());
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.resize(172, 0xff);
    p
}

fn rtcp_sr(ssrc: u32, packets: u32) -> Vec<u8> {
    let mut p = vec![0x80, 200, 0, 6];
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend_from_slice(&[0; 8]); // NTP timestamp
    p.extend_from_slice(&(packets.wrapping_mul(160)).to_be_bytes());
    p.extend_from_slice(&packets.to_be_bytes());
    p.extend_from_slice(&(packets.wrapping_mul(160)).to_be_bytes());
    p
}

/// Writes the capture; returns the number of packets written.
pub fn generate(spec: &Spec, out: impl Write) -> io::Result<u64> {
    let mut rng = Rng(spec.seed.max(1));
    let tick_ms = TICK_NS / 1_000_000;
    let ticks_per_call = i64::from(spec.media_ms) / tick_ms;
    let mut calls: Vec<Call> = (0..spec.calls)
        .map(|i| {
            let failed = rng.unit() * 100.0 < spec.failed_pct;
            let start_ms = i64::from(i) * i64::from(spec.spacing_ms.max(1));
            let start_tick = start_ms / tick_ms;
            Call {
                index: i,
                start_tick,
                offset_ns: (start_ms % tick_ms) * 1_000_000,
                end_tick: start_tick + if failed { 1 } else { ticks_per_call + 2 },
                failed,
                caller: [198, 18, (i >> 8) as u8, (i & 0xff) as u8],
                callee: [198, 19, (i >> 8) as u8, (i & 0xff) as u8],
                rtp_a: 10_000 + (i % 20_000) as u16 * 2,
                rtp_b: 30_000 + (i % 15_000) as u16 * 2,
                ssrc_a: rng.next() as u32,
                ssrc_b: rng.next() as u32,
                seq_a: rng.next() as u16,
                seq_b: rng.next() as u16,
            }
        })
        .collect();
    let last_tick = calls.iter().map(|c| c.end_tick).max().unwrap_or(0) + 1;
    let mut writer = PcapWriter::new(io::BufWriter::with_capacity(1 << 20, out), 1, false)?;
    let mut written = noise(spec.noise_connections, &mut writer)?;
    let mut batch: Vec<Packet> = Vec::new();
    let mut first_active = 0usize;
    for tick in 0..=last_tick {
        let t0 = START_NS + tick * TICK_NS;
        while first_active < calls.len() && calls[first_active].end_tick < tick {
            first_active += 1;
        }
        for call in calls[first_active..].iter_mut() {
            if call.start_tick > tick {
                break;
            }
            emit(call, tick, t0 + call.offset_ns, spec, &mut rng, &mut batch);
        }
        batch.sort_by_key(|p| p.ts_ns);
        for p in batch.drain(..) {
            writer.write(p.ts_ns, &p.data, p.data.len() as u32)?;
            written += 1;
        }
    }
    // The tail begins a second after the last tick, whatever its own clock said.
    let after = START_NS + (last_tick + 50) * TICK_NS;
    let first = spec.tail.iter().map(|r| r.0).min().unwrap_or(0);
    for (ts, data, len) in &spec.tail {
        writer.write(after + (ts - first), data, *len)?;
        written += 1;
    }
    writer.finish()?.flush()?;
    Ok(written)
}

/// `n` closed web connections, 10 µs apart, ending before the first call.
fn noise(n: u32, writer: &mut PcapWriter<impl Write>) -> io::Result<u64> {
    let step = 10_000i64;
    let t0 = START_NS - i64::from(n) * step - 1_000_000_000;
    let mut written = 0;
    for i in 0..n {
        let client = [198, 18, 255, (i % 250) as u8 + 1];
        let port = 1024 + (i / 250 % 60_000) as u16;
        let server = [198, 19, 255, 1];
        let t = t0 + i64::from(i) * step;
        // SYN, SYN-ACK, ACK, FIN, FIN-ACK: flags, direction, sequence and acknowledgement numbers.
        let segments = [
            (0x02, true, 0, 0),
            (0x12, false, 0, 1),
            (0x10, true, 1, 1),
            (0x11, true, 1, 1),
            (0x11, false, 1, 2),
        ];
        for (k, (flags, from_client, seq, ack)) in segments.into_iter().enumerate() {
            let (src, sport, dst, dport) = if from_client {
                (client, port, server, 443)
            } else {
                (server, 443, client, port)
            };
            let p = tcp((src, sport), (dst, dport), seq, ack, flags);
            writer.write(t + k as i64 * 1000, &p, p.len() as u32)?;
            written += 1;
        }
    }
    Ok(written)
}

/// An Ethernet/IPv4/TCP segment without payload.
fn tcp(
    (src, sport): ([u8; 4], u16),
    (dst, dport): ([u8; 4], u16),
    seq: u32,
    ack: u32,
    flags: u8,
) -> Vec<u8> {
    let mut p = Vec::with_capacity(54);
    p.extend_from_slice(&[2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00]);
    let mut ip = vec![0x45, 0, 0, 40, 0, 0, 0x40, 0, 64, 6, 0, 0];
    ip.extend_from_slice(&src);
    ip.extend_from_slice(&dst);
    let sum = checksum16(&ip);
    ip[10..12].copy_from_slice(&sum.to_be_bytes());
    p.extend_from_slice(&ip);
    p.extend_from_slice(&sport.to_be_bytes());
    p.extend_from_slice(&dport.to_be_bytes());
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&ack.to_be_bytes());
    p.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    p
}

/// The packets of one call in one tick.
fn emit(call: &mut Call, tick: i64, t0: i64, spec: &Spec, rng: &mut Rng, out: &mut Vec<Packet>) {
    let ms = 1_000_000i64;
    let rel = tick - call.start_tick;
    let invite = format!(
        "INVITE sip:{}@{}:5060 SIP/2.0",
        call.index,
        ip_str(call.callee)
    );
    if rel == 0 {
        let offer = sdp(call.caller, call.rtp_a, call.index);
        out.push(Packet {
            ts_ns: t0,
            data: sip(call, &invite, "1 INVITE", true, Some(&offer)),
        });
        out.push(Packet {
            ts_ns: t0 + ms,
            data: sip(call, "SIP/2.0 100 Trying", "1 INVITE", false, None),
        });
        if call.failed {
            let status = match spec.reject_statuses.clamp(1, 300) {
                1 => "SIP/2.0 486 Busy Here".to_string(),
                n => format!("SIP/2.0 {} Rejected", 400 + call.index % u32::from(n)),
            };
            out.push(Packet {
                ts_ns: t0 + 3 * ms,
                data: sip(call, &status, "1 INVITE", false, None),
            });
            let ack = format!(
                "ACK sip:{}@{}:5060 SIP/2.0",
                call.index,
                ip_str(call.callee)
            );
            out.push(Packet {
                ts_ns: t0 + 4 * ms,
                data: sip(call, &ack, "1 ACK", true, None),
            });
        } else {
            out.push(Packet {
                ts_ns: t0 + 3 * ms,
                data: sip(call, "SIP/2.0 180 Ringing", "1 INVITE", false, None),
            });
            let answer = sdp(call.callee, call.rtp_b, call.index);
            out.push(Packet {
                ts_ns: t0 + 10 * ms,
                data: sip(call, "SIP/2.0 200 OK", "1 INVITE", false, Some(&answer)),
            });
            let ack = format!(
                "ACK sip:{}@{}:5060 SIP/2.0",
                call.index,
                ip_str(call.callee)
            );
            out.push(Packet {
                ts_ns: t0 + 12 * ms,
                data: sip(call, &ack, "1 ACK", true, None),
            });
        }
        return;
    }
    if call.failed {
        return;
    }
    if tick == call.end_tick {
        let bye = format!(
            "BYE sip:{}@{}:5060 SIP/2.0",
            call.index,
            ip_str(call.callee)
        );
        out.push(Packet {
            ts_ns: t0,
            data: sip(call, &bye, "2 BYE", true, None),
        });
        out.push(Packet {
            ts_ns: t0 + 2 * ms,
            data: sip(call, "SIP/2.0 200 OK", "2 BYE", false, None),
        });
        return;
    }
    // RTP both ways; the RTP timestamp advances 160 per 20 ms whatever is lost or delayed.
    let n = (rel - 1) as u32;
    for (dir, (src, sport, dst, dport, ssrc)) in [
        (
            call.caller,
            call.rtp_a,
            call.callee,
            call.rtp_b,
            call.ssrc_a,
        ),
        (
            call.callee,
            call.rtp_b,
            call.caller,
            call.rtp_a,
            call.ssrc_b,
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let seq = if dir == 0 {
            &mut call.seq_a
        } else {
            &mut call.seq_b
        };
        let this_seq = *seq;
        *seq = seq.wrapping_add(1);
        if rng.unit() * 100.0 < spec.loss_pct {
            continue;
        }
        let delay = (rng.unit() * spec.jitter_ms * 1e6) as i64;
        let ts = t0 + 5 * ms * dir as i64 + delay;
        out.push(Packet {
            ts_ns: ts,
            data: udp(src, sport, dst, dport, &rtp(this_seq, n * 160, ssrc)),
        });
        if n % 250 == 249 {
            out.push(Packet {
                ts_ns: ts + ms,
                data: udp(src, sport + 1, dst, dport + 1, &rtcp_sr(ssrc, n + 1)),
            });
        }
    }
}
