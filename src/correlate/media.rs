//! Media: RTP streams with Wireshark-exact statistics, RTCP reports, STUN connectivity checks, and the
//! link from each stream to the call whose SDP negotiated it.
//!
//! Takes RTP/RTCP/STUN packet summaries in capture order plus the SDP media endpoints seen in SIP;
//! produces [`Stream`]s and [`StunCheck`]s. A stream is one (source, destination, SSRC). UDP payloads
//! that merely look like RTP become streams only if an SDP named one of their endpoints, or if they
//! behave like RTP (at least [`MIN_UNSIGNALLED_PACKETS`] packets with few sequence errors), so DNS or
//! game traffic does not show up as media.
//! Memory is O(1) per stream ([`super::rtp_stats::StreamStats`]); at most [`MAX_STREAMS`] streams.

use std::net::SocketAddr;

use rustc_hash::{FxHashMap, FxHashSet};

use super::calls::Call;
use super::message::Codec;
use super::mos;
use super::rtp_stats::{StreamStats, Summary};
use crate::proto::rtcp::{self, ReportBlock};
use crate::proto::rtp::PayloadType;

/// Streams tracked at most; packets of further streams are counted.
pub const MAX_STREAMS: usize = 100_000;
/// Packets an RTP-looking flow without SDP needs to count as a stream.
pub const MIN_UNSIGNALLED_PACKETS: u64 = 5;

/// What the last RTCP report about a stream's SSRC said.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RtcpView {
    pub frame: u64,
    /// Fraction lost since the previous report, in percent.
    pub fraction_lost_pct: f64,
    pub cumulative_lost: i32,
    /// Interarrival jitter as reported, in ms (from timestamp units with the stream's clock).
    pub jitter_ms: Option<f64>,
    /// Round trip from LSR/DLSR, in ms.
    pub rtt_ms: Option<f64>,
}

/// Buckets a timeline keeps at most; beyond, neighbours merge and the bucket width doubles.
pub const MAX_BUCKETS: usize = 64;
/// Widest bucket (about 12 days): beyond, far-away packets share the last bucket.
const MAX_BUCKET_MS: u32 = 1 << 30;

/// A stream over time, in buckets of equal width: enough to plot jitter and gaps without keeping
/// packets (memory bounded by [`MAX_BUCKETS`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Timeline {
    /// Width of a bucket in ms (1000, doubling as the stream grows).
    pub bucket_ms: u32,
    /// Per bucket, from the stream's first packet on.
    pub buckets: Vec<Bucket>,
}

/// One interval of a [`Timeline`].
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Bucket {
    pub packets: u32,
    /// Largest running jitter, in ms.
    pub max_jitter_ms: f32,
    /// Largest arrival gap, in ms.
    pub max_gap_ms: f32,
}

impl Bucket {
    fn merge(self, other: Bucket) -> Bucket {
        Bucket {
            packets: self.packets.saturating_add(other.packets),
            max_jitter_ms: self.max_jitter_ms.max(other.max_jitter_ms),
            max_gap_ms: self.max_gap_ms.max(other.max_gap_ms),
        }
    }
}

impl Timeline {
    fn new() -> Timeline {
        Timeline {
            bucket_ms: 1000,
            buckets: Vec::new(),
        }
    }

    fn add(&mut self, since_first_ns: i64, jitter_ms: f64, gap_ms: f64) {
        let ms = since_first_ns.max(0) / 1_000_000;
        let mut index = ms / i64::from(self.bucket_ms);
        while index >= MAX_BUCKETS as i64 && self.bucket_ms < MAX_BUCKET_MS {
            self.coarsen();
            index = ms / i64::from(self.bucket_ms);
        }
        // A packet absurdly far from the first (a damaged timestamp) lands in the last bucket.
        let index = usize::try_from(index).unwrap_or(0).min(MAX_BUCKETS - 1);
        if self.buckets.len() <= index {
            self.buckets.resize(index + 1, Bucket::default());
        }
        let b = &mut self.buckets[index];
        *b = b.merge(Bucket {
            packets: 1,
            max_jitter_ms: jitter_ms as f32,
            max_gap_ms: gap_ms as f32,
        });
    }

    fn coarsen(&mut self) {
        self.bucket_ms = self.bucket_ms.saturating_mul(2);
        self.buckets = self
            .buckets
            .chunks(2)
            .map(|pair| pair.iter().fold(Bucket::default(), |a, b| a.merge(*b)))
            .collect();
    }
}

/// One RTP stream.
#[derive(Clone, Debug, PartialEq)]
pub struct Stream {
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub ssrc: u32,
    /// The tshark `rtp,streams` figures and more.
    pub summary: Summary,
    pub first_frame: u64,
    pub last_frame: u64,
    pub first_ts_ns: i64,
    pub last_ts_ns: i64,
    /// Codec name (from the SDP's rtpmap, else the static payload type table).
    pub codec: Option<String>,
    pub clock_rate: u32,
    /// Index of the call it belongs to (0-based), when an SDP negotiated it.
    pub call: Option<usize>,
    /// Both endpoints are the ones the call's SDP announced.
    pub expected_by_sdp: bool,
    /// First and last packet relative to the call's answer (2xx), in ms (negative: early media).
    pub since_answer_ms: Option<(f64, f64)>,
    /// ITU-T G.107 E-model estimate (see `mos`), when the codec is known.
    pub mos: Option<f64>,
    /// The last RTCP report about this SSRC.
    pub rtcp: Option<RtcpView>,
    /// Jitter and gaps over time, for plots.
    pub timeline: Timeline,
}

/// STUN binding requests from one address to another and what answered them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StunCheck {
    pub client: SocketAddr,
    pub server: SocketAddr,
    pub requests: u32,
    pub successes: u32,
    pub errors: u32,
    /// Error codes of the error responses (first 8).
    pub error_codes: Vec<u16>,
    pub first_frame: u64,
    pub last_frame: u64,
    pub first_ts_ns: i64,
    pub last_ts_ns: i64,
    /// Frames of the requests and responses (first 16).
    pub frames: Vec<u64>,
    /// Index of the call whose SDP candidates name these addresses.
    pub call: Option<usize>,
}

/// A STUN message's class, as the tracker needs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StunClass {
    Request,
    Success,
    Error(u16),
    Indication,
}

struct Building {
    stats: StreamStats,
    src: SocketAddr,
    dst: SocketAddr,
    ssrc: u32,
    first_frame: u64,
    last_frame: u64,
    first_ts_ns: i64,
    last_ts_ns: i64,
    codec: Option<String>,
    rtcp: Option<RtcpView>,
    timeline: Timeline,
}

/// Builds streams and STUN checks from packets in capture order.
#[derive(Default)]
pub struct Tracker {
    /// Time of the capture's first frame: RTP arrival times are measured from it, as tshark does.
    t0: Option<i64>,
    index: FxHashMap<(SocketAddr, SocketAddr, u32), usize>,
    /// The latest stream of each SSRC, for RTCP reports.
    by_ssrc: FxHashMap<u32, usize>,
    streams: Vec<Building>,
    /// Media endpoints named by any SDP, with their payload types (number, name, clock rate).
    sdp: FxHashMap<SocketAddr, Vec<Codec>>,
    stun_index: FxHashMap<(SocketAddr, SocketAddr), usize>,
    stun: Vec<StunCheck>,
    /// Packets of streams beyond [`MAX_STREAMS`].
    pub untracked_packets: u64,
}

impl Tracker {
    /// The first frame's time: arrival times are relative to it.
    pub fn start(&mut self, ts_ns: i64) {
        self.t0.get_or_insert(ts_ns);
    }

    /// An SDP named `endpoint` as a media address with these payload types.
    pub fn sdp_endpoint(&mut self, endpoint: SocketAddr, codecs: &[Codec]) {
        self.sdp.insert(endpoint, codecs.to_vec());
    }

    /// The stream of (`src`, `dst`, `ssrc`), created at its first packet (`frame`, `ts_ns`, payload
    /// type `pt`); `None` beyond [`MAX_STREAMS`]. Callers may cache the id for later packets.
    pub fn stream(
        &mut self,
        frame: u64,
        ts_ns: i64,
        src: SocketAddr,
        dst: SocketAddr,
        ssrc: u32,
        pt: u8,
    ) -> Option<usize> {
        let key = (src, dst, ssrc);
        Some(match self.index.get(&key) {
            Some(&i) => i,
            None => {
                if self.streams.len() >= MAX_STREAMS {
                    return None;
                }
                let codecs = self.sdp.get(&dst).or_else(|| self.sdp.get(&src));
                let mut stats = StreamStats::new(0);
                let mut codec = PayloadType(pt).name().map(str::to_string);
                if let Some(codecs) = codecs {
                    for c in codecs {
                        // RFC 4733 events keep their timestamp for the whole event: no jitter on them.
                        let rate = if c.name.eq_ignore_ascii_case("telephone-event") {
                            0
                        } else {
                            c.clock_rate
                        };
                        if PayloadType(c.pt).is_dynamic() {
                            stats.set_payload_clock(c.pt, rate);
                        }
                        if c.pt == pt && !c.name.is_empty() {
                            codec = Some(c.name.clone());
                        }
                    }
                }
                self.streams.push(Building {
                    stats,
                    src,
                    dst,
                    ssrc,
                    first_frame: frame,
                    last_frame: frame,
                    first_ts_ns: ts_ns,
                    last_ts_ns: ts_ns,
                    codec,
                    rtcp: None,
                    timeline: Timeline::new(),
                });
                self.index.insert(key, self.streams.len() - 1);
                self.by_ssrc.insert(ssrc, self.streams.len() - 1);
                self.streams.len() - 1
            }
        })
    }

    /// One RTP packet of a stream (see [`Tracker::stream`]); `None` counts it as untracked.
    #[allow(clippy::too_many_arguments)]
    pub fn rtp(
        &mut self,
        stream: Option<usize>,
        frame: u64,
        ts_ns: i64,
        seq: u16,
        rtp_ts: u32,
        marker: bool,
        pt: u8,
        len: usize,
    ) {
        let Some(s) = stream.and_then(|i| self.streams.get_mut(i)) else {
            self.untracked_packets += 1;
            return;
        };
        let t0 = *self.t0.get_or_insert(ts_ns);
        let gap_ms = if s.stats.packets() == 0 {
            0.0
        } else {
            (ts_ns - s.last_ts_ns) as f64 / 1e6
        };
        s.stats.push(ts_ns - t0, seq, rtp_ts, marker, pt, len);
        s.timeline
            .add(ts_ns - s.first_ts_ns, s.stats.jitter_ms(), gap_ms);
        s.last_frame = frame;
        s.last_ts_ns = ts_ns;
    }

    /// The report blocks of one RTCP compound packet, sent by `src`.
    pub fn rtcp(&mut self, frame: u64, ts_ns: i64, blocks: &[ReportBlock]) {
        for b in blocks {
            // The report is about a stream whose SSRC is `b.ssrc`, whichever direction it went.
            let Some(s) = self
                .by_ssrc
                .get(&b.ssrc)
                .and_then(|&i| self.streams.get_mut(i))
            else {
                continue;
            };
            let clock = s.stats.clock_rate_for(s.stats.summary().first_pt);
            let rtt_ms = b
                .round_trip(rtcp::compact_ntp(ntp_timestamp(ts_ns)))
                .map(|units| f64::from(units) * 1000.0 / 65536.0);
            s.rtcp = Some(RtcpView {
                frame,
                fraction_lost_pct: f64::from(b.fraction_lost) * 100.0 / 256.0,
                cumulative_lost: b.cumulative_lost,
                jitter_ms: (clock > 0).then(|| f64::from(b.jitter) * 1000.0 / f64::from(clock)),
                // A round trip over a minute is a clock mismatch, not a network.
                rtt_ms: rtt_ms.filter(|&ms| ms < 60_000.0),
            });
        }
    }

    /// One STUN message from `src` to `dst`.
    pub fn stun(
        &mut self,
        frame: u64,
        ts_ns: i64,
        src: SocketAddr,
        dst: SocketAddr,
        class: StunClass,
    ) {
        let (client, server) = match class {
            StunClass::Request | StunClass::Indication => (src, dst),
            StunClass::Success | StunClass::Error(_) => (dst, src),
        };
        if class == StunClass::Indication {
            return;
        }
        let i = *self.stun_index.entry((client, server)).or_insert_with(|| {
            self.stun.push(StunCheck {
                client,
                server,
                requests: 0,
                successes: 0,
                errors: 0,
                error_codes: Vec::new(),
                first_frame: frame,
                last_frame: frame,
                first_ts_ns: ts_ns,
                last_ts_ns: ts_ns,
                frames: Vec::new(),
                call: None,
            });
            self.stun.len() - 1
        });
        let c = &mut self.stun[i];
        match class {
            StunClass::Request => c.requests += 1,
            StunClass::Success => c.successes += 1,
            StunClass::Error(code) => {
                c.errors += 1;
                if c.error_codes.len() < 8 {
                    c.error_codes.push(code);
                }
            }
            StunClass::Indication => {}
        }
        c.last_frame = frame;
        c.last_ts_ns = ts_ns;
        if c.frames.len() < 16 {
            c.frames.push(frame);
        }
    }

    /// The streams worth reporting (signalled, or behaving like RTP), by first frame, and the STUN checks.
    pub fn finish(self) -> (Vec<Stream>, Vec<StunCheck>) {
        let sdp = &self.sdp;
        let streams = self
            .streams
            .into_iter()
            .filter_map(|b| {
                let summary = b.stats.summary();
                let signalled = sdp.contains_key(&b.dst) || sdp.contains_key(&b.src);
                let steady = summary.packets >= MIN_UNSIGNALLED_PACKETS
                    && summary.sequence_errors * 4 <= summary.packets;
                (signalled || steady).then(|| {
                    let clock_rate = b.stats.clock_rate_for(summary.first_pt);
                    let mos = b
                        .codec
                        .as_deref()
                        .and_then(mos::EModelCodec::for_encoding)
                        .map(|codec| {
                            let delay = mos::one_way_delay_ms(
                                b.rtcp.and_then(|r| r.rtt_ms).map_or(0.0, |rtt| rtt / 2.0),
                                summary.mean_jitter_ms,
                            );
                            mos::mos_from_r(mos::r_factor(
                                codec,
                                summary.lost_pct.max(0.0),
                                1.0,
                                delay,
                            ))
                        });
                    Stream {
                        src: b.src,
                        dst: b.dst,
                        ssrc: b.ssrc,
                        summary,
                        first_frame: b.first_frame,
                        last_frame: b.last_frame,
                        first_ts_ns: b.first_ts_ns,
                        last_ts_ns: b.last_ts_ns,
                        codec: b.codec,
                        clock_rate,
                        call: None,
                        expected_by_sdp: false,
                        since_answer_ms: None,
                        mos,
                        rtcp: b.rtcp,
                        timeline: b.timeline,
                    }
                })
            })
            .collect();
        (streams, self.stun)
    }
}

/// The 64-bit NTP timestamp (seconds since 1900, 32.32 fixed point) of a Unix time in ns.
fn ntp_timestamp(ts_ns: i64) -> u64 {
    const NTP_UNIX_OFFSET_S: i64 = 2_208_988_800;
    let secs = (ts_ns.div_euclid(1_000_000_000) + NTP_UNIX_OFFSET_S) as u64;
    let frac = ((ts_ns.rem_euclid(1_000_000_000) as u64) << 32) / 1_000_000_000;
    (secs << 32) | frac
}

/// The media endpoints a call's SDP announced, with whether the caller (offer side) announced them.
fn sdp_endpoints(call: &Call) -> FxHashSet<SocketAddr> {
    let mut out = FxHashSet::default();
    for seen in &call.messages {
        for media in seen.msg.sdp.iter().flatten() {
            if let (Some(addr), true) = (media.addr, media.port != 0) {
                if !addr.is_unspecified() {
                    out.insert(SocketAddr::new(addr, media.port));
                    if let Some(rtcp) = media.rtcp_port {
                        out.insert(SocketAddr::new(addr, rtcp));
                    }
                }
            }
            for c in &media.candidates {
                if let Ok(ip) = c.addr.parse() {
                    out.insert(SocketAddr::new(ip, c.port));
                }
            }
        }
    }
    out
}

/// How long after its last SIP message a call's media may still run (a BYE may be missing).
const MEDIA_AFTER_CALL_NS: i64 = 5_000_000_000;

/// Ties each stream and STUN check to the call whose SDP named one of its endpoints and whose time
/// span covers it; a stream whose other endpoint is not in that SDP is marked unexpected (NAT).
pub fn link(calls: &[Call], streams: &mut [Stream], stun: &mut [StunCheck]) {
    let endpoints: Vec<FxHashSet<SocketAddr>> = calls.iter().map(sdp_endpoints).collect();
    let covering = |a: SocketAddr, b: SocketAddr, ts: i64| {
        calls
            .iter()
            .enumerate()
            .filter(|(i, c)| {
                (endpoints[*i].contains(&a) || endpoints[*i].contains(&b))
                    && ts >= c.start_ts_ns
                    && ts <= c.end_ts_ns.saturating_add(MEDIA_AFTER_CALL_NS)
            })
            // The most recent call wins when several reuse the same ports.
            .max_by_key(|(_, c)| c.start_ts_ns)
            .map(|(i, _)| i)
    };
    for s in streams.iter_mut() {
        s.call = covering(s.src, s.dst, s.first_ts_ns);
        s.expected_by_sdp = s
            .call
            .is_some_and(|i| endpoints[i].contains(&s.src) && endpoints[i].contains(&s.dst));
        s.since_answer_ms = s.call.and_then(|i| {
            let call = &calls[i];
            let answer_ns = call.invite().ts_ns + (call.timings.answer_ms? * 1e6) as i64;
            let ms = |ts: i64| (ts - answer_ns) as f64 / 1e6;
            Some((ms(s.first_ts_ns), ms(s.last_ts_ns)))
        });
    }
    for c in stun.iter_mut() {
        c.call = covering(c.client, c.server, c.first_ts_ns);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().expect("a socket address")
    }

    #[test]
    fn rtp_looking_noise_is_not_a_stream_but_signalled_media_is() {
        let mut t = Tracker::default();
        let (a, b, c) = (
            addr("192.0.2.1:5000"),
            addr("192.0.2.2:6000"),
            addr("192.0.2.3:53"),
        );
        t.sdp_endpoint(
            b,
            &[Codec {
                pt: 0,
                name: "PCMU".into(),
                clock_rate: 8000,
            }],
        );
        for i in 0..3u16 {
            let id = t.stream(u64::from(i) + 1, i64::from(i) * 20_000_000, a, b, 7, 0);
            t.rtp(
                id,
                u64::from(i) + 1,
                i64::from(i) * 20_000_000,
                100 + i,
                u32::from(i) * 160,
                false,
                0,
                160,
            );
        }
        for i in 0..20u16 {
            // Random-looking sequence numbers: not RTP.
            let id = t.stream(100 + u64::from(i), 0, c, a, 9, 0);
            t.rtp(
                id,
                100 + u64::from(i),
                0,
                i.wrapping_mul(7919),
                0,
                false,
                0,
                30,
            );
        }
        let (streams, _) = t.finish();
        assert_eq!(streams.len(), 1);
        assert_eq!(streams[0].summary.packets, 3);
        assert_eq!(streams[0].codec.as_deref(), Some("PCMU"));
    }

    #[test]
    fn timeline_buckets_stay_bounded() {
        let mut t = Timeline::new();
        for s in 0..200i64 {
            t.add(s * 1_000_000_000, s as f64, 20.0);
        }
        assert!(t.buckets.len() <= MAX_BUCKETS);
        assert_eq!(t.bucket_ms, 4000);
        assert_eq!(t.buckets.iter().map(|b| b.packets).sum::<u32>(), 200);
        assert_eq!(
            t.buckets[0],
            Bucket {
                packets: 4,
                max_jitter_ms: 3.0,
                max_gap_ms: 20.0
            }
        );
    }

    #[test]
    fn a_packet_decades_away_does_not_overflow_the_timeline() {
        let mut t = Timeline::new();
        t.add(0, 1.0, 0.0);
        t.add(i64::MAX, 2.0, 0.0);
        assert!(t.buckets.len() <= MAX_BUCKETS);
        assert_eq!(t.buckets.iter().map(|b| b.packets).sum::<u32>(), 2);
    }

    #[test]
    fn stun_requests_and_answers_are_paired_by_direction() {
        let mut t = Tracker::default();
        let (a, b) = (addr("192.0.2.1:5000"), addr("192.0.2.2:6000"));
        t.stun(1, 0, a, b, StunClass::Request);
        t.stun(2, 0, a, b, StunClass::Request);
        t.stun(3, 0, b, a, StunClass::Success);
        t.stun(4, 0, b, a, StunClass::Request);
        let (_, checks) = t.finish();
        assert_eq!(checks.len(), 2);
        assert_eq!((checks[0].requests, checks[0].successes), (2, 1));
        assert_eq!(
            (checks[1].client, checks[1].requests, checks[1].successes),
            (b, 1, 0)
        );
    }

    #[test]
    fn ntp_timestamp_of_a_known_instant() {
        // 2000-01-01T00:00:00.5Z: NTP seconds 3155673600 = 0xBC17C200, fraction one half.
        assert_eq!(
            ntp_timestamp(946_684_800_500_000_000),
            0xBC17_C200_8000_0000
        );
    }
}
