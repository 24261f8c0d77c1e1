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
    fn coarsen(&mut self) {
        self.bucket_ms = self.bucket_ms.saturating_mul(2);
        self.buckets = self
            .buckets
            .chunks(2)
            .map(|pair| pair.iter().fold(Bucket::default(), |a, b| a.merge(*b)))
            .collect();
    }
}

/// A [`Timeline`] being built, packet by packet: the bucket the latest packet fell in is held
/// apart, beside the stream's running figures, and merged into the list when a packet falls in
/// another. Most packets of a stream fall in the same bucket as the one before, so this is one
/// write to memory the stream's packet already touched instead of one to the list, which lies
/// elsewhere (a cache miss per RTP packet, with thousands of streams open).
#[derive(Clone, Debug)]
pub(crate) struct Builder {
    timeline: Timeline,
    /// The bucket the latest packet fell in, and its index (not yet in `timeline.buckets`).
    open: Option<(usize, Bucket)>,
}

impl Builder {
    pub(crate) fn new() -> Builder {
        Builder {
            timeline: Timeline {
                bucket_ms: 1000,
                buckets: Vec::new(),
            },
            open: None,
        }
    }

    pub(crate) fn add(&mut self, since_first_ns: i64, jitter_ms: f64, gap_ms: f64) {
        // One division (⌊⌊t/a⌋/b⌋ = ⌊t/ab⌋ for t ≥ 0): this runs for every RTP packet.
        let ns = since_first_ns.max(0);
        let bucket_ns = |ms: u32| i64::from(ms) * 1_000_000;
        let mut index = ns / bucket_ns(self.timeline.bucket_ms);
        while index >= MAX_BUCKETS as i64 && self.timeline.bucket_ms < MAX_BUCKET_MS {
            self.close();
            self.timeline.coarsen();
            index = ns / bucket_ns(self.timeline.bucket_ms);
        }
        // A packet absurdly far from the first (a damaged timestamp) lands in the last bucket.
        let index = usize::try_from(index).unwrap_or(0).min(MAX_BUCKETS - 1);
        let packet = Bucket {
            packets: 1,
            max_jitter_ms: jitter_ms as f32,
            max_gap_ms: gap_ms as f32,
        };
        match &mut self.open {
            Some((at, b)) if *at == index => *b = b.merge(packet),
            _ => {
                self.close();
                self.open = Some((index, packet));
            }
        }
    }

    /// Merges the open bucket into the list.
    fn close(&mut self) {
        let Some((index, open)) = self.open.take() else {
            return;
        };
        let buckets = &mut self.timeline.buckets;
        if buckets.len() <= index {
            buckets.resize(index + 1, Bucket::default());
        }
        buckets[index] = buckets[index].merge(open);
    }

    /// The timeline so far.
    pub(crate) fn timeline(&self) -> Timeline {
        let mut done = self.clone();
        done.close();
        done.timeline
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeline_buckets_stay_bounded() {
        let mut b = Builder::new();
        for s in 0..200i64 {
            b.add(s * 1_000_000_000, s as f64, 20.0);
        }
        let t = b.timeline();
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
    fn a_late_packet_goes_back_into_its_own_bucket() {
        let mut b = Builder::new();
        let s = 1_000_000_000;
        b.add(s / 2, 1.0, 20.0);
        b.add(s + s / 2, 2.0, 20.0);
        // Late: it belongs to the first second.
        b.add(s * 7 / 10, 5.0, 30.0);
        b.add(s + s * 6 / 10, 1.0, 10.0);
        let t = b.timeline();
        let bucket = |packets, max_jitter_ms, max_gap_ms| Bucket {
            packets,
            max_jitter_ms,
            max_gap_ms,
        };
        assert_eq!(t.buckets, [bucket(2, 5.0, 30.0), bucket(2, 2.0, 20.0)]);
        // What is taken out is a copy: the open bucket goes on counting.
        b.add(s + s * 7 / 10, 1.0, 10.0);
        assert_eq!(b.timeline().buckets[1].packets, 3);
    }

    #[test]
    fn a_packet_decades_away_does_not_overflow_the_timeline() {
        let mut b = Builder::new();
        b.add(0, 1.0, 0.0);
        b.add(i64::MAX, 2.0, 0.0);
        let t = b.timeline();
        assert!(t.buckets.len() <= MAX_BUCKETS);
        assert_eq!(t.buckets.iter().map(|b| b.packets).sum::<u32>(), 2);
    }
}
