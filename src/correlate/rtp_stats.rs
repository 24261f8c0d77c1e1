//! Per-stream RTP statistics computed exactly as Wireshark 4.0's RTP stream analysis (`tshark -z rtp,streams`).
//!
//! Takes in: the RTP packets of one stream (one (src, sport, dst, dport, SSRC) key), pushed in capture order with
//! their arrival time, sequence number, timestamp, marker bit, payload type and payload length.
//! Produces: a [`Summary`] — packets, expected, lost (signed), sequence errors, min/mean/max delta, min/mean/max
//! interarrival jitter (RFC 3550 §6.4.1, in ms), the "Problems?" flag, and a few extra counters.
//! Does not: parse bytes (see `proto::rtp`), group packets into streams, or keep per-packet history: memory is
//! O(1) per stream.
//!
//! The algorithm follows the specification in `reference/metrics.md` (Wireshark's `rtppacket_analyse`), in short:
//! - expected = last seen seq + 65536·cycles − first seq + 1; a cycle starts when a seq below the first seq
//!   arrives (or 0 after 65535) and ends when a seq above the first seq arrives again;
//! - a packet is *in time order* iff its extended RTP timestamp is ≥ the last in-order one; others are counted as
//!   wrong-timestamp and leave the delta/jitter state untouched;
//! - jitter: D = |arrival − (prev in-order arrival + (ts − prev in-order ts)/(clock/1000))|, J = J + (D − J)/16;
//!   the divisor `clock/1000` is an integer division as in Wireshark (44100 Hz gives 44, not 44.1);
//! - "regular" packets (not first, not marker, not comfort noise, not after comfort noise, not wrong-timestamp)
//!   feed min/mean/max delta and, with a known clock, min/mean/max jitter; the means weight by all packets so far.
//!
//! Clock rate: static payload types use the RFC 3551 table (`proto::rtp::PayloadType::static_clock_rate`); dynamic
//! ones use the rate given to [`StreamStats::new`] or [`StreamStats::set_payload_clock`] (callscope takes it from the
//! SDP `a=rtpmap`). A rate of 0 means unknown: no jitter is computed for those packets. Tshark behaves the same
//! when the SDP is in the capture; without it tshark reports jitter 0 (and min jitter −1) for dynamic payload
//! types, while callscope may know the rate from elsewhere. Telephone-event (RFC 4733) payload types must be
//! registered with rate 0: their timestamp stays at the event start, so jitter on them would be meaningless
//! (Wireshark does the same).

use crate::proto::rtp::PayloadType;

/// How many per-payload-type clock overrides a stream keeps (audio + telephone-event + CN + a spare).
const MAX_PT_CLOCKS: usize = 4;

/// Running statistics of one RTP stream; push packets in capture order.
#[derive(Debug, Clone)]
pub struct StreamStats {
    default_clock: u32,
    pt_clocks: [(u8, u32); MAX_PT_CLOCKS],
    pt_clock_len: usize,

    packets: u64,
    payload_bytes: u64,
    start_ns: i64,
    last_ns: i64,
    prev_ns: i64,

    first_seq: u16,
    stop_seq: u16,
    /// Last sequence number accepted as "in sequence" (Wireshark's `seq_num`).
    seq_num: u16,
    cycles: u32,
    under: bool,
    sequence_errors: u64,
    duplicates: u64,

    first_ext_ts: i64,
    last_ext_ts: i64,
    /// Extended timestamp of the last in-time-order packet.
    inorder_ext_ts: i64,
    wrong_timestamps: u64,

    /// Arrival (ms, see [`ns_to_ms`]) of the last in-order packet.
    time_ms: f64,
    last_nominal_ms: f64,
    jitter: f64,
    delta: f64,

    first_pt: u8,
    last_pt: u8,
    pt_changes: u64,
    markers: u64,
    talkspurts: u64,
    comfort_noise: u64,
    clock_used: u32,

    min_delta: Option<f64>,
    max_delta: f64,
    mean_delta: f64,
    min_jitter: Option<f64>,
    max_jitter: f64,
    mean_jitter: f64,
    max_gap_ms: f64,
    problems: bool,
}

/// The figures of one stream, as `tshark -z rtp,streams` prints them plus a few more.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// Packets received (tshark "Pkts").
    pub packets: u64,
    /// Extended last seq − first seq + 1.
    pub expected: i64,
    /// expected − packets; negative when duplicates outnumber losses (tshark "Lost").
    pub lost: i64,
    /// lost · 100 / expected (0 when expected is 0).
    pub lost_pct: f64,
    /// Sequence jumps, late and duplicate packets.
    pub sequence_errors: u64,
    /// Packets whose sequence number repeats the last in-sequence one.
    pub duplicates: u64,
    /// Packets whose RTP timestamp went backwards (excluded from delta and jitter).
    pub wrong_timestamps: u64,
    /// Packets with the marker bit set.
    pub markers: u64,
    /// Marker bits after the first packet: a sender using silence suppression sets it on the first
    /// packet after each silence (RFC 3551 §4.1), so these count the talkspurts it resumed.
    pub talkspurts: u64,
    /// Comfort noise packets (PT 13 or 19): the sender paused on purpose (RFC 3389).
    pub comfort_noise: u64,
    /// tshark "Min Delta(ms)"; `None` when no regular packet was seen (tshark prints −1).
    pub min_delta_ms: Option<f64>,
    pub mean_delta_ms: f64,
    pub max_delta_ms: f64,
    /// tshark "Min Jitter(ms)"; `None` when no jitter was computed (tshark prints −1).
    pub min_jitter_ms: Option<f64>,
    pub mean_jitter_ms: f64,
    pub max_jitter_ms: f64,
    /// The running jitter after the last packet.
    pub last_jitter_ms: f64,
    /// Largest arrival gap between consecutive packets of the stream, whatever their flags.
    pub max_gap_ms: f64,
    /// tshark "Problems?": any sequence or timestamp error.
    pub problems: bool,
    /// Arrival of the first and last packet, in the caller's time base (ns).
    pub first_arrival_ns: i64,
    pub last_arrival_ns: i64,
    pub first_seq: u16,
    pub last_seq: u16,
    /// Payload type of the first packet (the one tshark shows) and of the last.
    pub first_pt: u8,
    pub last_pt: u8,
    pub payload_type_changes: u64,
    /// Last non-zero clock rate used for jitter, 0 if none.
    pub clock_rate: u32,
    pub payload_bytes: u64,
}

impl StreamStats {
    /// A new, empty stream; `clock_rate` applies to dynamic payload types (0 = unknown).
    pub fn new(clock_rate: u32) -> Self {
        Self {
            default_clock: clock_rate,
            pt_clocks: [(0, 0); MAX_PT_CLOCKS],
            pt_clock_len: 0,
            packets: 0,
            payload_bytes: 0,
            start_ns: 0,
            last_ns: 0,
            prev_ns: 0,
            first_seq: 0,
            stop_seq: 0,
            seq_num: 0,
            cycles: 0,
            under: false,
            sequence_errors: 0,
            duplicates: 0,
            first_ext_ts: 0,
            last_ext_ts: 0,
            inorder_ext_ts: 0,
            wrong_timestamps: 0,
            time_ms: 0.0,
            last_nominal_ms: 0.0,
            jitter: 0.0,
            delta: 0.0,
            first_pt: 0,
            last_pt: 0,
            pt_changes: 0,
            markers: 0,
            talkspurts: 0,
            comfort_noise: 0,
            clock_used: 0,
            min_delta: None,
            max_delta: 0.0,
            mean_delta: 0.0,
            min_jitter: None,
            max_jitter: 0.0,
            mean_jitter: 0.0,
            max_gap_ms: 0.0,
            problems: false,
        }
    }

    /// Sets the clock rate of one (dynamic) payload type, e.g. 0 for telephone-event or 48000 for opus.
    /// Returns false when the small fixed table is full and the rate was not stored.
    pub fn set_payload_clock(&mut self, pt: u8, clock_rate: u32) -> bool {
        let used = self
            .pt_clocks
            .get_mut(..self.pt_clock_len)
            .unwrap_or(&mut []);
        if let Some(slot) = used.iter_mut().find(|(p, _)| *p == pt) {
            slot.1 = clock_rate;
            return true;
        }
        match self.pt_clocks.get_mut(self.pt_clock_len) {
            Some(slot) => {
                *slot = (pt, clock_rate);
                self.pt_clock_len += 1;
                true
            }
            None => false,
        }
    }

    /// The clock rate used for a payload type: the override, else the static table, else the stream default.
    pub fn clock_rate_for(&self, pt: u8) -> u32 {
        let used = self.pt_clocks.get(..self.pt_clock_len).unwrap_or(&[]);
        if let Some(&(_, rate)) = used.iter().find(|(p, _)| *p == pt) {
            return rate;
        }
        let pt = PayloadType(pt);
        if pt.is_dynamic() {
            self.default_clock
        } else {
            // Unassigned static numbers have no rate, as in Wireshark's table.
            pt.static_clock_rate().unwrap_or(0)
        }
    }

    /// Number of packets pushed so far.
    pub fn packets(&self) -> u64 {
        self.packets
    }

    /// The running interarrival jitter after the last packet, in ms.
    pub fn jitter_ms(&self) -> f64 {
        self.jitter
    }

    /// Folds one packet, in capture order. `arrival_ns` may be absolute or relative; only differences matter.
    pub fn push(
        &mut self,
        arrival_ns: i64,
        seq: u16,
        rtp_ts: u32,
        marker: bool,
        pt: u8,
        payload_len: usize,
    ) {
        self.payload_bytes = self
            .payload_bytes
            .saturating_add(u64::try_from(payload_len).unwrap_or(u64::MAX));
        if marker {
            self.markers += 1;
            if self.packets > 0 {
                self.talkspurts += 1;
            }
        }
        if PayloadType(pt).is_comfort_noise() {
            self.comfort_noise += 1;
        }
        if self.packets == 0 {
            self.first_packet(arrival_ns, seq, rtp_ts, pt);
            return;
        }
        let now_ms = ns_to_ms(arrival_ns);
        let gap_ms = arrival_ns.saturating_sub(self.prev_ns) as f64 / 1e6;
        if gap_ms > self.max_gap_ms {
            self.max_gap_ms = gap_ms;
        }
        self.prev_ns = arrival_ns;
        self.last_ns = arrival_ns;

        self.track_cycles(seq);
        let seq_error = self.check_sequence(seq);

        // Comfort noise packets, and the packet right after one, are not "regular": CN is sent at a low,
        // irregular rate, so its timing says nothing about network jitter.
        let is_cn = PayloadType(pt).is_comfort_noise();
        let follows_cn = PayloadType(self.last_pt).is_comfort_noise();
        if pt != self.last_pt {
            self.pt_changes += 1;
        }
        self.last_pt = pt;
        let clock = self.clock_rate_for(pt);

        let ext_ts = extend_timestamp(self.last_ext_ts, rtp_ts);
        self.last_ext_ts = ext_ts;
        let in_order = ext_ts >= self.inorder_ext_ts;
        let mut current_jitter = 0.0;
        if in_order {
            self.inorder_ext_ts = ext_ts;
            self.delta = now_ms - self.time_ms;
            // Wireshark divides by the integer clock/1000 (kHz, truncated).
            let khz = clock / 1000;
            if khz != 0 {
                self.clock_used = clock;
                let nominal_ms = ext_ts.saturating_sub(self.first_ext_ts) as f64 / f64::from(khz);
                let expected_ms = self.time_ms + (nominal_ms - self.last_nominal_ms);
                let d = (now_ms - expected_ms).abs();
                // RFC 3550 §6.4.1 / A.8: J += (|D| − J)/16.
                current_jitter = (15.0 * self.jitter + d) / 16.0;
                self.jitter = current_jitter;
                self.last_nominal_ms = nominal_ms;
            }
            self.time_ms = now_ms;
        } else {
            self.wrong_timestamps += 1;
        }
        if seq_error || !in_order {
            self.problems = true;
        }

        let regular = !marker && !is_cn && !follows_cn && in_order;
        if regular {
            // Means weight by all packets seen before this one (not only regular ones), as Wireshark does.
            let n = self.packets as f64;
            if self.delta > self.max_delta {
                self.max_delta = self.delta;
            }
            if self.min_delta.is_none_or(|m| self.delta < m) {
                self.min_delta = Some(self.delta);
            }
            self.mean_delta = (self.mean_delta * (n - 1.0) + self.delta) / n;
            if clock / 1000 != 0 {
                if current_jitter > self.max_jitter {
                    self.max_jitter = current_jitter;
                }
                if self.min_jitter.is_none_or(|m| current_jitter < m) {
                    self.min_jitter = Some(current_jitter);
                }
                self.mean_jitter = (self.mean_jitter * (n - 1.0) + current_jitter) / n;
            }
        }
        self.stop_seq = seq;
        self.packets += 1;
    }

    fn first_packet(&mut self, arrival_ns: i64, seq: u16, rtp_ts: u32, pt: u8) {
        self.packets = 1;
        self.start_ns = arrival_ns;
        self.last_ns = arrival_ns;
        self.prev_ns = arrival_ns;
        self.first_seq = seq;
        self.stop_seq = seq;
        self.seq_num = seq;
        let ts = i64::from(rtp_ts);
        self.first_ext_ts = ts;
        self.last_ext_ts = ts;
        self.inorder_ext_ts = ts;
        self.time_ms = ns_to_ms(arrival_ns);
        self.last_nominal_ms = 0.0;
        self.first_pt = pt;
        self.last_pt = pt;
    }

    /// Counts sequence-number cycles the way Wireshark does, with an `under` latch so that one wrap is counted once.
    fn track_cycles(&mut self, seq: u16) {
        if seq < self.first_seq && !self.under {
            self.cycles = self.cycles.saturating_add(1);
            self.under = true;
        } else if seq == 0 && self.stop_seq == u16::MAX && !self.under {
            // A stream starting at seq 0 never sees a seq below its first one; count the 65535 → 0 step instead.
            self.cycles = self.cycles.saturating_add(1);
            self.under = true;
        } else if seq > self.first_seq && self.under {
            self.under = false;
        }
    }

    /// Updates the in-sequence pointer; true when this packet is a sequence error (jump, late or duplicate).
    fn check_sequence(&mut self, seq: u16) -> bool {
        let prev = u32::from(self.seq_num);
        let cur = u32::from(seq);
        if prev + 1 == cur || (prev == 0xffff && cur == 0) {
            self.seq_num = seq;
            false
        } else if prev + 1 < cur || prev.saturating_sub(cur) > 0xff00 {
            // Forward jump (loss), or a backward step so large that it is really a wrap with losses.
            self.seq_num = seq;
            self.sequence_errors += 1;
            true
        } else {
            // prev + 1 > cur: late or duplicate.
            if prev == cur {
                self.duplicates += 1;
            }
            self.sequence_errors += 1;
            true
        }
    }

    /// The statistics so far.
    pub fn summary(&self) -> Summary {
        let expected = if self.packets == 0 {
            0
        } else {
            i64::from(self.stop_seq) + 65536 * i64::from(self.cycles) - i64::from(self.first_seq)
                + 1
        };
        let packets = i64::try_from(self.packets).unwrap_or(i64::MAX);
        let lost = expected.saturating_sub(packets);
        let lost_pct = if expected == 0 {
            0.0
        } else {
            lost as f64 * 100.0 / expected as f64
        };
        Summary {
            packets: self.packets,
            expected,
            lost,
            lost_pct,
            sequence_errors: self.sequence_errors,
            duplicates: self.duplicates,
            wrong_timestamps: self.wrong_timestamps,
            markers: self.markers,
            talkspurts: self.talkspurts,
            comfort_noise: self.comfort_noise,
            min_delta_ms: self.min_delta,
            mean_delta_ms: self.mean_delta,
            max_delta_ms: self.max_delta,
            min_jitter_ms: self.min_jitter,
            mean_jitter_ms: self.mean_jitter,
            max_jitter_ms: self.max_jitter,
            last_jitter_ms: self.jitter,
            max_gap_ms: self.max_gap_ms,
            problems: self.problems,
            first_arrival_ns: self.start_ns,
            last_arrival_ns: self.last_ns,
            first_seq: self.first_seq,
            last_seq: self.stop_seq,
            first_pt: self.first_pt,
            last_pt: self.last_pt,
            payload_type_changes: self.pt_changes,
            clock_rate: self.clock_used,
            payload_bytes: self.payload_bytes,
        }
    }
}

/// Converts ns to ms the way Wireshark's `nstime_to_msec` does (seconds·1000 + nanoseconds/10^6, in f64), so that
/// the rounding of every delta and jitter matches tshark's to the last printed digit when the caller passes the
/// time since capture start (tshark's time base). Absolute epoch times work too, at ~0.25 µs precision.
fn ns_to_ms(ns: i64) -> f64 {
    let secs = ns.div_euclid(1_000_000_000);
    let nanos = ns.rem_euclid(1_000_000_000);
    secs as f64 * 1000.0 + nanos as f64 / 1e6
}

/// Extends a 32-bit RTP timestamp to 64 bits, choosing the value closest to the previous extended one, so that
/// both wraps and backward steps of less than 2^31 units are seen as such.
fn extend_timestamp(prev_ext: i64, ts: u32) -> i64 {
    // Low 32 bits of prev_ext; the truncation is the point.
    let prev_low = prev_ext as u32;
    let step = ts.wrapping_sub(prev_low) as i32;
    prev_ext.saturating_add(i64::from(step))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: i64 = 1_000_000;

    /// tshark's numeric columns: Pkts, Lost (pct), Min/Mean/Max Delta, Min/Mean/Max Jitter, Problems.
    fn tshark_columns(s: &Summary) -> String {
        format!(
            "{} {} ({:.1}%) {:.3} {:.3} {:.3} {:.3} {:.3} {:.3} {}",
            s.packets,
            s.lost,
            s.lost_pct,
            s.min_delta_ms.unwrap_or(-1.0),
            s.mean_delta_ms,
            s.max_delta_ms,
            s.min_jitter_ms.unwrap_or(-1.0),
            s.mean_jitter_ms,
            s.max_jitter_ms,
            if s.problems { "X" } else { "" }
        )
    }

    /// metrics.md reference vector (verified with tshark 4.0.17): PCMU, 20 ms, seq 1000..1099, ts step 160,
    /// seq 1010 dropped, seq 1050 arriving 30 ms late (packets written in sequence order).
    #[test]
    fn reference_vector() {
        let mut s = StreamStats::new(0);
        for seq in 1000u16..1100 {
            if seq == 1010 {
                continue;
            }
            let i = i64::from(seq - 1000);
            let late = if seq == 1050 { 30 * MS } else { 0 };
            let ts = 160 * u32::from(seq - 1000) + 12345;
            s.push(i * 20 * MS + late, seq, ts, seq == 1000, 0, 160);
        }
        let sum = s.summary();
        assert_eq!(
            tshark_columns(&sum),
            "99 1 (1.0%) -10.000 20.204 50.000 0.000 0.587 3.633 X"
        );
        assert_eq!(sum.expected, 100);
        assert_eq!(sum.sequence_errors, 1);
        assert_eq!(sum.clock_rate, 8000);
        assert_eq!(sum.first_pt, 0);
    }

    #[test]
    fn single_packet_prints_like_tshark() {
        let mut s = StreamStats::new(0);
        s.push(5 * MS, 7, 0, false, 0, 160);
        assert_eq!(
            tshark_columns(&s.summary()),
            "1 0 (0.0%) -1.000 0.000 0.000 -1.000 0.000 0.000 "
        );
    }

    #[test]
    fn empty_stream_summary() {
        let s = StreamStats::new(8000);
        let sum = s.summary();
        assert_eq!((sum.packets, sum.expected, sum.lost), (0, 0, 0));
        assert_eq!(sum.lost_pct, 0.0);
    }

    #[test]
    fn duplicates_make_lost_negative() {
        let mut s = StreamStats::new(0);
        for (i, seq) in [1u16, 2, 2, 3, 3].into_iter().enumerate() {
            s.push(i as i64 * 20 * MS, seq, u32::from(seq) * 160, false, 0, 160);
        }
        let sum = s.summary();
        assert_eq!(sum.lost, -2);
        assert_eq!(sum.duplicates, 2);
        assert!(sum.problems);
    }

    #[test]
    fn sequence_wrap_counts_a_cycle() {
        let mut s = StreamStats::new(0);
        let mut seq = 65530u16;
        for i in 0..12u32 {
            s.push(i64::from(i) * 20 * MS, seq, i * 160, false, 8, 160);
            seq = seq.wrapping_add(1);
        }
        let sum = s.summary();
        assert_eq!((sum.expected, sum.lost, sum.problems), (12, 0, false));
        assert!((sum.max_jitter_ms).abs() < 1e-9);
    }

    #[test]
    fn timestamp_wrap_is_in_order() {
        let mut s = StreamStats::new(0);
        let mut ts = u32::MAX - 300;
        for i in 0..6u16 {
            s.push(i64::from(i) * 20 * MS, i, ts, false, 0, 160);
            ts = ts.wrapping_add(160);
        }
        let sum = s.summary();
        assert_eq!(sum.wrong_timestamps, 0);
        assert!(sum.max_jitter_ms.abs() < 1e-9);
        assert!((sum.max_delta_ms - 20.0).abs() < 1e-9);
    }

    #[test]
    fn backward_timestamp_is_wrong_and_skipped() {
        let mut s = StreamStats::new(0);
        s.push(0, 1, 1000, false, 0, 160);
        s.push(20 * MS, 2, 1160, false, 0, 160);
        s.push(40 * MS, 3, 500, false, 0, 160);
        s.push(60 * MS, 4, 1480, false, 0, 160);
        let sum = s.summary();
        assert_eq!(sum.wrong_timestamps, 1);
        assert!(sum.problems);
        // Packet 4 is measured against packet 2: 40 ms later for 320 units = 40 ms nominal.
        assert!((sum.max_delta_ms - 40.0).abs() < 1e-9);
        assert!(sum.max_jitter_ms.abs() < 1e-9);
    }

    #[test]
    fn dynamic_payload_uses_given_clock_and_events_none() {
        let mut s = StreamStats::new(48000);
        assert!(s.set_payload_clock(101, 0));
        assert_eq!(s.clock_rate_for(111), 48000);
        assert_eq!(s.clock_rate_for(101), 0);
        assert_eq!(s.clock_rate_for(0), 8000);
        assert_eq!(s.clock_rate_for(20), 0);
        for i in 0..10u32 {
            s.push(i64::from(i) * 21 * MS, i as u16, i * 960, false, 111, 80);
        }
        let sum = s.summary();
        assert_eq!(sum.clock_rate, 48000);
        assert!(sum.max_jitter_ms > 0.3);
        let mut unknown = StreamStats::new(0);
        for i in 0..10u32 {
            unknown.push(i64::from(i) * 21 * MS, i as u16, i * 960, false, 111, 80);
        }
        let u = unknown.summary();
        assert_eq!(u.min_jitter_ms, None);
        assert_eq!(u.clock_rate, 0);
        assert!((u.max_delta_ms - 21.0).abs() < 1e-9);
    }

    #[test]
    fn pt_clock_table_is_bounded() {
        let mut s = StreamStats::new(0);
        for pt in 96..96 + MAX_PT_CLOCKS as u8 {
            assert!(s.set_payload_clock(pt, 8000));
        }
        assert!(s.set_payload_clock(96, 16000));
        assert!(!s.set_payload_clock(120, 8000));
        assert_eq!(s.clock_rate_for(96), 16000);
    }

    #[test]
    fn comfort_noise_not_regular() {
        let mut s = StreamStats::new(0);
        s.push(0, 1, 0, false, 8, 160);
        s.push(20 * MS, 2, 160, false, 8, 160);
        s.push(500 * MS, 3, 4000, false, 13, 1); // CN after a long silence
        s.push(900 * MS, 4, 7200, false, 8, 160); // follows CN
        s.push(920 * MS, 5, 7360, false, 8, 160);
        let sum = s.summary();
        assert!((sum.max_delta_ms - 20.0).abs() < 1e-9);
        assert!((sum.max_gap_ms - 480.0).abs() < 1e-9);
        assert!(!sum.problems);
        assert_eq!(sum.payload_type_changes, 2);
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_packets_never_panic(
            pkts in proptest::collection::vec(
                (proptest::num::i64::ANY, proptest::num::u16::ANY, proptest::num::u32::ANY,
                 proptest::bool::ANY, 0u8..128, 0usize..2000),
                0..64),
            clock in proptest::num::u32::ANY,
        ) {
            let mut s = StreamStats::new(clock);
            s.set_payload_clock(101, 0);
            for (t, seq, ts, m, pt, len) in pkts {
                s.push(t, seq, ts, m, pt, len);
            }
            let sum = s.summary();
            proptest::prop_assert_eq!(sum.packets, s.packets());
        }
    }
}
