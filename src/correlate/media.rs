//! Media: RTP streams with Wireshark-exact statistics, RTCP reports and STUN connectivity checks, as
//! capture time passes.
//!
//! Takes RTP/RTCP/STUN packet summaries in capture order, each stream told at its first packet which
//! open calls' SDP named its endpoints (the engine's endpoint index decides, see `engine`); produces
//! [`Stream`]s and [`StunCheck`]s. A stream is one (source, destination, SSRC). UDP payloads that
//! merely look like RTP become streams only if an SDP named one of their endpoints, or if they behave
//! like RTP (at least [`MIN_UNSIGNALLED_PACKETS`] packets with few sequence errors), so DNS or game
//! traffic does not show up as media.
//! A stream is settled when it has been silent for [`STREAM_IDLE_NS`] (or its calls are finalized and
//! it has been silent for their grace window): its figures are final, it is handed out and its state
//! freed. Memory is O(1) per open stream ([`super::rtp_stats::StreamStats`]); at most
//! [`Limits::streams`] streams are open at once (packets of further streams are counted).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::SocketAddr;

use rustc_hash::FxHashMap;

use super::message::Codec;
use super::mos;
use super::rtp_stats::{StreamStats, Summary};
use super::slab::{Key, Slab};
use super::timeline::{self, Timeline};
use crate::proto::rtcp::{self, ReportBlock};
use crate::proto::rtp::PayloadType;

/// Packets an RTP-looking flow without SDP needs to count as a stream.
pub const MIN_UNSIGNALLED_PACKETS: u64 = 5;
/// Silence after which a stream is settled (long enough for silence suppression).
pub const STREAM_IDLE_NS: i64 = 60_000_000_000;

/// Bounds on open media state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// RTP streams open at once.
    pub streams: usize,
    /// STUN address pairs open at once.
    pub stun_pairs: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            streams: 100_000,
            stun_pairs: 100_000,
        }
    }
}

/// What the last RTCP report about a stream's SSRC said.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RtcpView {
    pub frame: u64,
    pub ts_ns: i64,
    /// Fraction lost since the previous report, in percent.
    pub fraction_lost_pct: f64,
    pub cumulative_lost: i32,
    /// Interarrival jitter as reported, in ms (from timestamp units with the stream's clock).
    pub jitter_ms: Option<f64>,
    /// Round trip from LSR/DLSR, in ms.
    pub rtt_ms: Option<f64>,
}

/// First and last packet of a stream relative to its call's answer (2xx), in ms.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SinceAnswer {
    /// Negative: early media.
    pub first_ms: f64,
    pub last_ms: f64,
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
    /// First and last packet relative to the call's answer.
    pub since_answer: Option<SinceAnswer>,
    /// ITU-T G.107 E-model estimate (see `mos`), when the codec is known.
    pub mos: Option<f64>,
    /// The last RTCP report about this SSRC.
    pub rtcp: Option<RtcpView>,
    /// Jitter and gaps over time, for plots.
    pub timeline: Timeline,
}

/// A stream taken out of the tracker.
#[derive(Clone, Debug, PartialEq)]
pub struct Closed {
    pub src: SocketAddr,
    pub dst: SocketAddr,
    /// Its final report; `None` when it never behaved like RTP.
    pub stream: Option<Stream>,
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

/// The call a stream or STUN check belongs to, as far as is known.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Owner {
    /// The call's 0-based index.
    pub index: usize,
    /// When the call started (the most recent call wins when several name the same endpoint).
    pub start_ts_ns: i64,
    /// Both endpoints are in the call's SDP.
    pub expected_by_sdp: bool,
    /// The call's 2xx, when it has one.
    pub answer_ts_ns: Option<i64>,
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
    timeline: timeline::Builder,
    /// An SDP named one of its endpoints.
    signalled: bool,
    owner: Option<Owner>,
}

struct Checking {
    check: StunCheck,
    owner: Option<Owner>,
}

/// Builds streams and STUN checks from packets in capture order.
#[derive(Default)]
pub struct Tracker {
    limits: Limits,
    /// Time of the capture's first frame: RTP arrival times are measured from it, as tshark does.
    t0: Option<i64>,
    index: FxHashMap<(SocketAddr, SocketAddr, u32), Key>,
    /// The latest stream of each SSRC, for RTCP reports.
    by_ssrc: FxHashMap<u32, Key>,
    streams: Slab<Building>,
    idle: BinaryHeap<Reverse<(i64, Key)>>,
    stun_index: FxHashMap<(SocketAddr, SocketAddr), Key>,
    stun: Slab<Checking>,
    stun_idle: BinaryHeap<Reverse<(i64, Key)>>,
    /// Some stream was signalled or behaved like RTP: RTP reached this capture point.
    rtp_seen: bool,
    /// Packets of streams beyond [`Limits::streams`].
    pub untracked_packets: u64,
}

/// What a new stream learns from the SDP that named its endpoints.
pub struct Signalled<'a> {
    pub codecs: &'a [Codec],
    pub owner: Option<Owner>,
}

impl Tracker {
    pub fn new(limits: Limits) -> Tracker {
        Tracker {
            limits,
            ..Tracker::default()
        }
    }

    /// The first frame's time: arrival times are relative to it.
    pub fn start(&mut self, ts_ns: i64) {
        self.t0.get_or_insert(ts_ns);
    }

    /// The open stream of (`src`, `dst`, `ssrc`), if there is one. Callers may cache the key.
    pub fn find(&self, src: SocketAddr, dst: SocketAddr, ssrc: u32) -> Option<Key> {
        self.index.get(&(src, dst, ssrc)).copied()
    }

    /// Opens the stream of (`src`, `dst`, `ssrc`) at its first packet (`frame`, `ts_ns`, payload type
    /// `pt`); `None` beyond [`Limits::streams`].
    #[allow(clippy::too_many_arguments)]
    pub fn open(
        &mut self,
        frame: u64,
        ts_ns: i64,
        src: SocketAddr,
        dst: SocketAddr,
        ssrc: u32,
        pt: u8,
        sdp: Option<Signalled<'_>>,
    ) -> Option<Key> {
        if self.streams.len() >= self.limits.streams {
            return None;
        }
        let mut stats = StreamStats::new(0);
        let mut codec = PayloadType(pt).name().map(str::to_string);
        let mut owner = None;
        let signalled = sdp.is_some();
        if let Some(sdp) = sdp {
            owner = sdp.owner;
            for c in sdp.codecs {
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
                    codec = Some(c.name.to_string());
                }
            }
        }
        self.rtp_seen |= signalled;
        let key = self.streams.insert(Building {
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
            timeline: timeline::Builder::new(),
            signalled,
            owner,
        });
        self.idle
            .push(Reverse((ts_ns.saturating_add(STREAM_IDLE_NS), key)));
        self.index.insert((src, dst, ssrc), key);
        self.by_ssrc.insert(ssrc, key);
        Some(key)
    }

    /// One RTP packet of a stream (see [`Tracker::open`]); `None` counts it as untracked.
    #[allow(clippy::too_many_arguments)]
    pub fn rtp(
        &mut self,
        stream: Option<Key>,
        frame: u64,
        ts_ns: i64,
        seq: u16,
        rtp_ts: u32,
        marker: bool,
        pt: u8,
        len: usize,
    ) {
        let Some(s) = stream.and_then(|k| self.streams.get_mut(k)) else {
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
        s.last_ts_ns = s.last_ts_ns.max(ts_ns);
        if !self.rtp_seen && s.stats.packets() >= MIN_UNSIGNALLED_PACKETS {
            let summary = s.stats.summary();
            self.rtp_seen = summary.sequence_errors * 4 <= summary.packets;
        }
    }

    /// Time of a stream's last packet.
    pub fn last_ts(&self, key: Key) -> Option<i64> {
        self.streams.get(key).map(|s| s.last_ts_ns)
    }

    /// The endpoints of an open stream.
    pub fn endpoints(&self, key: Key) -> Option<(SocketAddr, SocketAddr, i64)> {
        self.streams.get(key).map(|s| (s.src, s.dst, s.first_ts_ns))
    }

    /// Records that an open call's SDP names one of the stream's endpoints: the call owns the
    /// stream unless a more recent call already does.
    pub fn claim(&mut self, key: Key, owner: Owner) {
        if let Some(s) = self.streams.get_mut(key) {
            self.rtp_seen = true;
            s.signalled = true;
            if s.owner.is_none_or(|o| o.start_ts_ns <= owner.start_ts_ns) {
                s.owner = Some(owner);
            }
        }
    }

    /// What a finalized call learned about the stream it owns (SDP endpoints, answer).
    pub fn settle_owner(&mut self, key: Key, owner: Owner) {
        if let Some(s) = self.streams.get_mut(key) {
            if s.owner.is_some_and(|o| o.index == owner.index) {
                s.owner = Some(owner);
            }
        }
    }

    /// The stream's figures so far, as it would be reported now.
    pub fn snapshot(&self, key: Key) -> Option<Stream> {
        self.streams.get(key).map(report)
    }

    /// Streams open now.
    pub fn open_count(&self) -> usize {
        self.streams.len()
    }

    /// Whether RTP reached this capture point so far: a stream an SDP named, or one that behaved
    /// like RTP for [`MIN_UNSIGNALLED_PACKETS`] packets.
    pub fn rtp_seen(&self) -> bool {
        self.rtp_seen
    }

    /// The report blocks of one RTCP compound packet.
    pub fn rtcp(&mut self, frame: u64, ts_ns: i64, blocks: &[ReportBlock]) {
        for b in blocks {
            // The report is about a stream whose SSRC is `b.ssrc`, whichever direction it went.
            let Some(s) = self
                .by_ssrc
                .get(&b.ssrc)
                .and_then(|&k| self.streams.get_mut(k))
            else {
                continue;
            };
            let clock = s.stats.clock_rate_for(s.stats.summary().first_pt);
            let rtt_ms = b
                .round_trip(rtcp::compact_ntp(ntp_timestamp(ts_ns)))
                .map(|units| f64::from(units) * 1000.0 / 65536.0);
            s.rtcp = Some(RtcpView {
                frame,
                ts_ns,
                fraction_lost_pct: f64::from(b.fraction_lost) * 100.0 / 256.0,
                cumulative_lost: b.cumulative_lost,
                jitter_ms: (clock > 0).then(|| f64::from(b.jitter) * 1000.0 / f64::from(clock)),
                // A round trip over a minute is a clock mismatch, not a network.
                rtt_ms: rtt_ms.filter(|&ms| ms < 60_000.0),
            });
        }
    }

    /// The next stream silent since before `now - STREAM_IDLE_NS`, taken out, with its key.
    pub fn expire(&mut self, now: i64) -> Option<(Key, Closed)> {
        while let Some(&Reverse((at, key))) = self.idle.peek() {
            if at > now {
                return None;
            }
            self.idle.pop();
            let Some(s) = self.streams.get(key) else {
                continue;
            };
            let expiry = s.last_ts_ns.saturating_add(STREAM_IDLE_NS);
            if expiry > now {
                self.idle.push(Reverse((expiry, key)));
                continue;
            }
            if let Some(closed) = self.close(key) {
                return Some((key, closed));
            }
        }
        None
    }

    /// Takes a stream out: its endpoints, and its final report unless it never behaved like RTP;
    /// `None` when it is not open.
    pub fn close(&mut self, key: Key) -> Option<Closed> {
        let b = self.streams.remove(key)?;
        if self.index.get(&(b.src, b.dst, b.ssrc)) == Some(&key) {
            self.index.remove(&(b.src, b.dst, b.ssrc));
        }
        if self.by_ssrc.get(&b.ssrc) == Some(&key) {
            self.by_ssrc.remove(&b.ssrc);
        }
        let summary = b.stats.summary();
        let steady = summary.packets >= MIN_UNSIGNALLED_PACKETS
            && summary.sequence_errors * 4 <= summary.packets;
        Some(Closed {
            src: b.src,
            dst: b.dst,
            stream: (b.signalled || steady).then(|| report(&b)),
        })
    }

    /// Every open stream's key, by first frame.
    pub fn open_streams(&self) -> Vec<Key> {
        let mut keys: Vec<(u64, Key)> = self
            .streams
            .iter()
            .map(|(k, s)| (s.first_frame, k))
            .collect();
        keys.sort_unstable();
        keys.into_iter().map(|(_, k)| k).collect()
    }

    /// The STUN check of the message's address pair, opened at its first message; `None` for
    /// indications and beyond the limit. `owner` is the call whose SDP named the pair, for a new one.
    pub fn stun(
        &mut self,
        frame: u64,
        ts_ns: i64,
        src: SocketAddr,
        dst: SocketAddr,
        class: StunClass,
        owner: impl FnOnce(SocketAddr, SocketAddr) -> Option<Owner>,
    ) -> Option<(Key, bool)> {
        if class == StunClass::Indication {
            return None;
        }
        let (client, server) = match class {
            StunClass::Request | StunClass::Indication => (src, dst),
            StunClass::Success | StunClass::Error(_) => (dst, src),
        };
        let (key, new) = match self.stun_index.get(&(client, server)) {
            Some(&k) => (k, false),
            None if self.stun.len() >= self.limits.stun_pairs => return None,
            None => {
                let k = self.stun.insert(Checking {
                    check: StunCheck {
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
                    },
                    owner: owner(client, server),
                });
                self.stun_index.insert((client, server), k);
                self.stun_idle
                    .push(Reverse((ts_ns.saturating_add(STREAM_IDLE_NS), k)));
                (k, true)
            }
        };
        let c = &mut self
            .stun
            .get_mut(key)
            .expect("an indexed check is open")
            .check;
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
        c.last_ts_ns = c.last_ts_ns.max(ts_ns);
        if c.frames.len() < 16 {
            c.frames.push(frame);
        }
        Some((key, new))
    }

    /// A STUN check as it stands.
    pub fn stun_snapshot(&self, key: Key) -> Option<StunCheck> {
        self.stun.get(key).map(|c| {
            let mut check = c.check.clone();
            check.call = c.owner.map(|o| o.index);
            check
        })
    }

    /// The next STUN check silent since before `now - STREAM_IDLE_NS`, taken out.
    pub fn expire_stun(&mut self, now: i64) -> Option<(Key, StunCheck)> {
        while let Some(&Reverse((at, key))) = self.stun_idle.peek() {
            if at > now {
                return None;
            }
            self.stun_idle.pop();
            let Some(c) = self.stun.get(key) else {
                continue;
            };
            let expiry = c.check.last_ts_ns.saturating_add(STREAM_IDLE_NS);
            if expiry > now {
                self.stun_idle.push(Reverse((expiry, key)));
                continue;
            }
            let check = self.close_stun(key)?;
            return Some((key, check));
        }
        None
    }

    /// Takes a STUN check out.
    pub fn close_stun(&mut self, key: Key) -> Option<StunCheck> {
        let c = self.stun.remove(key)?;
        self.stun_index.remove(&(c.check.client, c.check.server));
        let mut check = c.check;
        check.call = c.owner.map(|o| o.index);
        Some(check)
    }

    /// Every open STUN check's key, by first frame.
    pub fn open_stun(&self) -> Vec<Key> {
        let mut keys: Vec<(u64, Key)> = self
            .stun
            .iter()
            .map(|(k, c)| (c.check.first_frame, k))
            .collect();
        keys.sort_unstable();
        keys.into_iter().map(|(_, k)| k).collect()
    }
}

/// The report of a stream: its figures, its call, its MOS.
fn report(b: &Building) -> Stream {
    let summary = b.stats.summary();
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
            mos::mos_from_r(mos::r_factor(codec, summary.lost_pct.max(0.0), 1.0, delay))
        });
    let since_answer = b
        .owner
        .and_then(|o| since_answer(b.first_ts_ns, b.last_ts_ns, o.answer_ts_ns));
    Stream {
        src: b.src,
        dst: b.dst,
        ssrc: b.ssrc,
        summary,
        first_frame: b.first_frame,
        last_frame: b.last_frame,
        first_ts_ns: b.first_ts_ns,
        last_ts_ns: b.last_ts_ns,
        codec: b.codec.clone(),
        clock_rate,
        call: b.owner.map(|o| o.index),
        expected_by_sdp: b.owner.is_some_and(|o| o.expected_by_sdp),
        since_answer,
        mos,
        rtcp: b.rtcp,
        timeline: b.timeline.timeline(),
    }
}

/// A stream's first and last packet relative to its call's answer.
pub fn since_answer(
    first_ts_ns: i64,
    last_ts_ns: i64,
    answer_ts_ns: Option<i64>,
) -> Option<SinceAnswer> {
    let answer = answer_ts_ns?;
    let ms = |ts: i64| (ts - answer) as f64 / 1e6;
    Some(SinceAnswer {
        first_ms: ms(first_ts_ns),
        last_ms: ms(last_ts_ns),
    })
}

/// The 64-bit NTP timestamp (seconds since 1900, 32.32 fixed point) of a Unix time in ns.
fn ntp_timestamp(ts_ns: i64) -> u64 {
    const NTP_UNIX_OFFSET_S: i64 = 2_208_988_800;
    let secs = (ts_ns.div_euclid(1_000_000_000) + NTP_UNIX_OFFSET_S) as u64;
    let frac = ((ts_ns.rem_euclid(1_000_000_000) as u64) << 32) / 1_000_000_000;
    (secs << 32) | frac
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
        let pcmu = [Codec {
            pt: 0,
            name: "PCMU".into(),
            clock_rate: 8000,
        }];
        let signalled = t.open(
            1,
            0,
            a,
            b,
            7,
            0,
            Some(Signalled {
                codecs: &pcmu,
                owner: None,
            }),
        );
        for i in 0..3u16 {
            let ts = i64::from(i) * 20_000_000;
            t.rtp(
                signalled,
                u64::from(i) + 1,
                ts,
                100 + i,
                u32::from(i) * 160,
                false,
                0,
                160,
            );
        }
        let noise = t.open(100, 0, c, a, 9, 0, None);
        for i in 0..20u16 {
            // Random-looking sequence numbers: not RTP.
            t.rtp(
                noise,
                100 + u64::from(i),
                0,
                i.wrapping_mul(7919),
                0,
                false,
                0,
                30,
            );
        }
        let stream = t
            .close(signalled.expect("opened"))
            .and_then(|c| c.stream)
            .expect("signalled");
        assert_eq!(stream.summary.packets, 3);
        assert_eq!(stream.codec.as_deref(), Some("PCMU"));
        assert_eq!(
            t.close(noise.expect("opened")).map(|c| c.stream),
            Some(None)
        );
        assert!(t.rtp_seen());
    }

    #[test]
    fn a_silent_stream_expires_and_a_busy_one_does_not() {
        let mut t = Tracker::default();
        let (a, b) = (addr("192.0.2.1:5000"), addr("192.0.2.2:6000"));
        let quiet = t.open(1, 0, a, b, 1, 0, None);
        let busy = t.open(2, 0, b, a, 2, 0, None);
        t.rtp(quiet, 1, 0, 1, 0, false, 0, 160);
        t.rtp(busy, 2, 0, 1, 0, false, 0, 160);
        t.rtp(busy, 3, 50_000_000_000, 2, 160, false, 0, 160);
        let (key, _) = t.expire(STREAM_IDLE_NS).expect("the quiet one");
        assert_eq!(Some(key), quiet);
        assert!(t.expire(STREAM_IDLE_NS + 1).is_none());
        assert!(t.find(b, a, 2).is_some());
        assert!(t.find(a, b, 1).is_none());
    }

    #[test]
    fn stun_requests_and_answers_are_paired_by_direction() {
        let mut t = Tracker::default();
        let (a, b) = (addr("192.0.2.1:5000"), addr("192.0.2.2:6000"));
        t.stun(1, 0, a, b, StunClass::Request, |_, _| None);
        t.stun(2, 0, a, b, StunClass::Request, |_, _| None);
        t.stun(3, 0, b, a, StunClass::Success, |_, _| None);
        t.stun(4, 0, b, a, StunClass::Request, |_, _| None);
        let keys = t.open_stun();
        let checks: Vec<StunCheck> = keys.iter().filter_map(|&k| t.close_stun(k)).collect();
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
