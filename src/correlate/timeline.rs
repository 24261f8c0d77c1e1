//! A stream over time in a fixed number of buckets: enough to plot jitter and gaps without keeping
//! packets. Memory is bounded by [`MAX_BUCKETS`] whatever the stream's length.

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
    pub(crate) fn new() -> Timeline {
        Timeline {
            bucket_ms: 1000,
            buckets: Vec::new(),
        }
    }

    pub(crate) fn add(&mut self, since_first_ns: i64, jitter_ms: f64, gap_ms: f64) {
        // One division (⌊⌊t/a⌋/b⌋ = ⌊t/ab⌋ for t ≥ 0): this runs for every RTP packet.
        let ns = since_first_ns.max(0);
        let bucket_ns = |ms: u32| i64::from(ms) * 1_000_000;
        let mut index = ns / bucket_ns(self.bucket_ms);
        while index >= MAX_BUCKETS as i64 && self.bucket_ms < MAX_BUCKET_MS {
            self.coarsen();
            index = ns / bucket_ns(self.bucket_ms);
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
