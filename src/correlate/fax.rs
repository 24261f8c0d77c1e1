//! Fax streams: the UDPTL packets (T.38, ITU-T T.38 §9.1) of one direction between two endpoints an
//! SDP announced as `m=image <port> udptl t38`, summarised as they arrive.
//!
//! Takes the few facts of each UDPTL packet (`proto::udptl` parsed it in the parallel stage) in
//! capture order; produces a [`Fax`] summary per direction: packets, the sequence numbers and the
//! gaps between them, how many of the missing packets a later packet's redundancy carried, resent
//! packets, the error recovery used, and the T.30 signals and modulations seen. O(1) memory per
//! stream (a 64-packet window of sequence numbers). Which packets are UDPTL is the engine's call:
//! only those on an endpoint whose latest SDP said UDPTL, never counted as RTP.

use std::net::SocketAddr;

use crate::proto::udptl;

/// What the engine needs of one UDPTL packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UdptlPacket {
    pub seq: u16,
    /// What the primary IFP carries.
    pub message: udptl::Message,
    /// Secondary IFPs repeated for redundancy (saturating at 255).
    pub secondaries: u8,
    /// Forward error correction instead of redundancy.
    pub fec: bool,
}

impl UdptlPacket {
    /// The facts of a parsed packet.
    pub fn of(p: &udptl::Packet<'_>) -> UdptlPacket {
        let (secondaries, fec) = match p.recovery() {
            udptl::Recovery::Redundancy(s) => (u8::try_from(s.len()).unwrap_or(u8::MAX), false),
            udptl::Recovery::Fec { .. } => (0, true),
        };
        UdptlPacket {
            seq: p.seq(),
            message: p.primary().message,
            secondaries,
            fec,
        }
    }
}

/// One direction of a fax session over UDPTL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fax {
    pub src: SocketAddr,
    pub dst: SocketAddr,
    /// Packets received (resent ones included).
    pub packets: u64,
    pub first_frame: u64,
    pub last_frame: u64,
    pub first_ts_ns: i64,
    pub last_ts_ns: i64,
    pub first_seq: u16,
    /// The highest sequence number (as extended across wraps, truncated back to 16 bits).
    pub last_seq: u16,
    /// Sequence numbers from the first to the highest.
    pub expected: u64,
    /// Of those, never received.
    pub lost: u64,
    /// Of the lost ones, those the packet after their gap carried as a secondary IFP: recovered.
    pub recovered: u64,
    /// Packets whose sequence number had been received already (T.38 resends indicators).
    pub resent: u64,
    /// Jumps in the sequence numbers (gaps of one or more).
    pub gaps: u64,
    /// The most secondary IFPs one packet carried.
    pub max_redundancy: u8,
    /// Packets with forward error correction.
    pub fec_packets: u64,
    /// The T.30 indicators seen (bit n: `udptl::Indicator(n)`).
    pub indicators: u32,
    /// The data modulations seen (bit n: `udptl::Modulation(n)`).
    pub modulations: u32,
    /// The call it belongs to (0-based).
    pub call: Option<usize>,
}

impl Fax {
    /// The indicator and modulation names seen, in their registry order.
    pub fn signals(&self) -> Vec<&'static str> {
        let names = |bits: u32, name: &dyn Fn(u8) -> Option<&'static str>| -> Vec<&'static str> {
            (0..32u8)
                .filter(|b| bits & (1 << b) != 0)
                .filter_map(name)
                .collect()
        };
        let mut out = names(self.indicators, &|b| udptl::Indicator(b).name());
        out.extend(names(self.modulations, &|b| udptl::Modulation(b).name()));
        out
    }
}

/// A fax stream being built.
#[derive(Clone, Debug)]
pub struct Building {
    fax: Fax,
    /// The highest sequence number so far, extended across wraps.
    highest: u64,
    /// Which of the 64 sequence numbers up to `highest` arrived (bit 0: `highest`).
    window: u64,
    /// Packets with a sequence number not seen before.
    unique: u64,
    /// Missing sequence numbers beyond the redundancy of the packet after their gap.
    unrecovered: u64,
}

impl Building {
    /// A stream at its first packet.
    pub fn new(
        frame: u64,
        ts_ns: i64,
        src: SocketAddr,
        dst: SocketAddr,
        p: UdptlPacket,
        call: Option<usize>,
    ) -> Building {
        let mut b = Building {
            fax: Fax {
                src,
                dst,
                packets: 0,
                first_frame: frame,
                last_frame: frame,
                first_ts_ns: ts_ns,
                last_ts_ns: ts_ns,
                first_seq: p.seq,
                last_seq: p.seq,
                expected: 0,
                lost: 0,
                recovered: 0,
                resent: 0,
                gaps: 0,
                max_redundancy: 0,
                fec_packets: 0,
                indicators: 0,
                modulations: 0,
                call,
            },
            highest: u64::from(p.seq),
            window: 0,
            unique: 0,
            unrecovered: 0,
        };
        b.push(frame, ts_ns, p);
        b
    }

    /// One more packet.
    pub fn push(&mut self, frame: u64, ts_ns: i64, p: UdptlPacket) {
        let f = &mut self.fax;
        f.packets += 1;
        f.last_frame = frame;
        f.last_ts_ns = f.last_ts_ns.max(ts_ns);
        f.max_redundancy = f.max_redundancy.max(p.secondaries);
        f.fec_packets += u64::from(p.fec);
        match p.message {
            udptl::Message::Indicator(i) if i.0 < 32 => f.indicators |= 1 << i.0,
            udptl::Message::Data(m) if m.0 < 32 => f.modulations |= 1 << m.0,
            _ => {}
        }
        // The sequence number nearest to the highest one, across a wrap.
        let base = self.highest & !0xffff;
        let ext = [base.wrapping_sub(0x10000), base, base + 0x10000]
            .into_iter()
            .map(|b| b | u64::from(p.seq))
            .min_by_key(|&e| e.abs_diff(self.highest))
            .unwrap_or(self.highest);
        if self.fax.packets == 1 {
            self.window = 1;
            self.unique = 1;
        } else if ext > self.highest {
            let missing = ext - self.highest - 1;
            if missing > 0 {
                // Its secondaries repeat the packets just before it, most recent first.
                self.fax.gaps += 1;
                self.unrecovered += missing.saturating_sub(u64::from(p.secondaries));
            }
            self.window = self
                .window
                .checked_shl(u32::try_from(ext - self.highest).unwrap_or(64))
                .unwrap_or(0)
                | 1;
            self.highest = ext;
            self.unique += 1;
        } else {
            let back = self.highest - ext;
            let bit = 1u64
                .checked_shl(u32::try_from(back).unwrap_or(64))
                .unwrap_or(0);
            if bit != 0 && self.window & bit == 0 {
                // A late packet filling a gap.
                self.window |= bit;
                self.unique += 1;
            } else {
                self.fax.resent += 1;
            }
        }
        let first = u64::from(self.fax.first_seq);
        let first = if first > self.highest {
            first.wrapping_sub(0x10000)
        } else {
            first
        };
        self.fax.expected = self.highest.wrapping_sub(first) + 1;
        self.fax.lost = self.fax.expected.saturating_sub(self.unique);
        self.unrecovered = self.unrecovered.min(self.fax.lost);
        self.fax.recovered = self.fax.lost - self.unrecovered;
        self.fax.last_seq = self.highest as u16;
    }

    pub fn last_ts(&self) -> i64 {
        self.fax.last_ts_ns
    }

    /// The summary so far.
    pub fn report(&self) -> Fax {
        self.fax.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(seq: u16, secondaries: u8) -> UdptlPacket {
        UdptlPacket {
            seq,
            message: udptl::Message::Data(udptl::Modulation(8)),
            secondaries,
            fec: false,
        }
    }

    fn stream(seqs: &[(u16, u8)]) -> Fax {
        let a: SocketAddr = "192.0.2.10:6002".parse().expect("an address");
        let b: SocketAddr = "192.0.2.31:20002".parse().expect("an address");
        let mut s = Building::new(1, 0, a, b, packet(seqs[0].0, seqs[0].1), Some(0));
        for (i, &(seq, red)) in seqs.iter().enumerate().skip(1) {
            s.push(1 + i as u64, 20_000_000 * i as i64, packet(seq, red));
        }
        s.report()
    }

    #[test]
    fn gaps_redundancy_resends_and_wraps_are_counted() {
        // 65534, 65535, 0 (wrap), 3 (1 and 2 missing; its one secondary carries 2), 3 again, 2 late:
        // 1 is lost for good.
        let f = stream(&[(65534, 1), (65535, 1), (0, 1), (3, 1), (3, 1), (2, 1)]);
        assert_eq!((f.packets, f.expected, f.lost, f.recovered), (6, 6, 1, 0));
        assert_eq!((f.gaps, f.resent, f.last_seq), (1, 1, 3));
        assert_eq!(f.signals(), ["v17-14400"]);
    }

    #[test]
    fn deep_redundancy_recovers_a_longer_gap() {
        let f = stream(&[(10, 3), (11, 3), (14, 3), (15, 3)]);
        assert_eq!(
            (f.expected, f.lost, f.recovered, f.max_redundancy),
            (6, 2, 2, 3)
        );
    }
}
