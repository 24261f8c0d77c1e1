//! The calls over time: per interval, the calls that started then, how many were answered, failed
//! (by their primary finding's code) or degraded, and their media's MOS and loss.
//!
//! Takes each reported call (attributed to the interval its first INVITE fell in); produces
//! [`Timeline`], whose interval is chosen automatically from the span of the capture — which is known
//! only at the end — within bounded memory: intervals start at one second and, whenever the calls
//! span more than [`MAX_BUCKETS`] of them, grow to the next width of [`WIDTHS`] (each a multiple of
//! the one before, so buckets merge exactly; aligned on the epoch, so the result does not depend on
//! the order calls come in). Figures are integers (MOS in hundredths), so sums are exact too.

use std::collections::BTreeMap;

use crate::correlate::calls::State;
use crate::diagnose::{DiagnosedCall, Severity};

/// Buckets a timeline spans at most (the interval grows past it).
pub const MAX_BUCKETS: i64 = 600;

const SECOND: i64 = 1_000_000_000;

/// The interval widths, in nanoseconds, from one second to an hour; past an hour they double.
pub const WIDTHS: [i64; 9] = [
    SECOND,
    2 * SECOND,
    10 * SECOND,
    20 * SECOND,
    60 * SECOND,
    120 * SECOND,
    600 * SECOND,
    1200 * SECOND,
    3600 * SECOND,
];

/// The calls that started in one interval.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Bucket {
    pub started: u64,
    pub answered: u64,
    /// Calls with an error finding, by their primary finding's code.
    pub failed: BTreeMap<&'static str, u64>,
    /// Calls with a warning but no error.
    pub degraded: u64,
    /// The MOS of the calls' streams that have one, in hundredths, summed, and how many.
    pub mos_centi: u64,
    pub mos_streams: u64,
    /// RTP packets the calls' streams lost and expected.
    pub lost: u64,
    pub expected: u64,
}

impl Bucket {
    /// Calls with an error finding.
    pub fn failed_calls(&self) -> u64 {
        self.failed.values().sum()
    }

    /// The mean MOS of its streams, when any had one.
    pub fn mos(&self) -> Option<f64> {
        (self.mos_streams > 0).then(|| self.mos_centi as f64 / 100.0 / self.mos_streams as f64)
    }

    /// Packets lost of those expected, in percent, when RTP was expected.
    pub fn loss_pct(&self) -> Option<f64> {
        (self.expected > 0).then(|| self.lost as f64 * 100.0 / self.expected as f64)
    }

    fn merge(&mut self, other: &Bucket) {
        self.started += other.started;
        self.answered += other.answered;
        for (code, n) in &other.failed {
            *self.failed.entry(code).or_default() += n;
        }
        self.degraded += other.degraded;
        self.mos_centi += other.mos_centi;
        self.mos_streams += other.mos_streams;
        self.lost += other.lost;
        self.expected += other.expected;
    }
}

/// Calls per interval.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timeline {
    /// The interval, in nanoseconds.
    pub width_ns: i64,
    /// The intervals that had calls, by number (interval `n` starts at `n * width_ns` after the
    /// epoch).
    pub buckets: BTreeMap<i64, Bucket>,
}

impl Default for Timeline {
    fn default() -> Self {
        Timeline {
            width_ns: WIDTHS[0],
            buckets: BTreeMap::new(),
        }
    }
}

/// The width after `w`.
fn wider(w: i64) -> i64 {
    WIDTHS
        .iter()
        .copied()
        .find(|&x| x > w)
        .unwrap_or_else(|| w.saturating_mul(2))
}

impl Timeline {
    pub fn add(&mut self, d: &DiagnosedCall) {
        let mut b = Bucket {
            started: 1,
            answered: u64::from(d.state == State::Answered),
            ..Bucket::default()
        };
        match d.worst() {
            Some(Severity::Error) => {
                b.failed.insert(d.findings[0].code, 1);
            }
            Some(Severity::Warning) => b.degraded = 1,
            _ => {}
        }
        for s in d.own_streams() {
            if let Some(mos) = s.mos.filter(|m| m.is_finite() && *m > 0.0) {
                b.mos_centi += (mos * 100.0).round() as u64;
                b.mos_streams += 1;
            }
            b.lost += u64::try_from(s.summary.lost).unwrap_or(0);
            b.expected += u64::try_from(s.summary.expected).unwrap_or(0);
        }
        self.put(d.start_ts_ns, &b);
    }

    /// Adds a bucket's calls at `ts_ns`, widening the interval when they would span too many.
    fn put(&mut self, ts_ns: i64, b: &Bucket) {
        let n = ts_ns.div_euclid(self.width_ns);
        self.buckets.entry(n).or_default().merge(b);
        while self.span() > MAX_BUCKETS {
            let w = wider(self.width_ns);
            *self = self.at_width(w);
        }
    }

    /// Intervals from the first with calls to the last, empty ones included.
    pub fn span(&self) -> i64 {
        match (self.buckets.keys().next(), self.buckets.keys().next_back()) {
            (Some(a), Some(b)) => b - a + 1,
            _ => 0,
        }
    }

    /// The same calls in wider intervals (`width_ns` a multiple of the current width).
    fn at_width(&self, width_ns: i64) -> Timeline {
        let factor = (width_ns / self.width_ns).max(1);
        let mut out = Timeline {
            width_ns,
            buckets: BTreeMap::new(),
        };
        for (n, b) in &self.buckets {
            out.buckets
                .entry(n.div_euclid(factor))
                .or_default()
                .merge(b);
        }
        out
    }

    /// The same calls in intervals of the ladder wide enough that they span at most `max` of them
    /// (for a chart of a given width).
    pub fn coarsened(&self, max: i64) -> Timeline {
        let mut out = self.clone();
        while out.span() > max.max(1) {
            let w = wider(out.width_ns);
            out = out.at_width(w);
        }
        out
    }

    /// Every interval from the first with calls to the last, as (start time, bucket), empty ones
    /// as empty buckets.
    pub fn intervals(&self) -> Vec<(i64, Bucket)> {
        let (Some(&a), Some(&b)) = (self.buckets.keys().next(), self.buckets.keys().next_back())
        else {
            return Vec::new();
        };
        (a..=b)
            .map(|n| {
                (
                    n.saturating_mul(self.width_ns),
                    self.buckets.get(&n).cloned().unwrap_or_default(),
                )
            })
            .collect()
    }

    /// Whether any call had RTP with figures to plot.
    pub fn has_media(&self) -> bool {
        self.buckets
            .values()
            .any(|b| b.expected > 0 || b.mos_streams > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bucket(started: u64) -> Bucket {
        Bucket {
            started,
            ..Bucket::default()
        }
    }

    #[test]
    fn widths_divide_each_other() {
        for w in WIDTHS.windows(2) {
            assert_eq!(w[1] % w[0], 0, "{} does not divide {}", w[0], w[1]);
        }
        assert_eq!(wider(3600 * SECOND), 7200 * SECOND);
    }

    #[test]
    fn wide_spans_merge_into_wider_intervals_in_any_order() {
        // Calls one per second over 20 minutes: 1200 s, more than 600 one-second buckets.
        let times: Vec<i64> = (0..1200)
            .map(|s| 1_700_000_000 * SECOND + s * SECOND)
            .collect();
        let mut forward = Timeline::default();
        let mut backward = Timeline::default();
        for &t in &times {
            forward.put(t, &bucket(1));
        }
        for &t in times.iter().rev() {
            backward.put(t, &bucket(1));
        }
        assert_eq!(forward, backward);
        assert_eq!(forward.width_ns, 2 * SECOND);
        assert_eq!(
            forward.buckets.values().map(|b| b.started).sum::<u64>(),
            1200
        );
        let coarse = forward.coarsened(60);
        assert_eq!(coarse.width_ns, 20 * SECOND);
        assert!(coarse.span() <= 60);
        assert_eq!(coarse.intervals().len() as i64, coarse.span());
    }
}
