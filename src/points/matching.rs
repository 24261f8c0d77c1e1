//! The same packets at two capture points: pairs, the clock offset between the points, the hop
//! count and the address translations between them.
//!
//! Takes in: the [`Packets`] of two points.
//! Produces: a [`Link`]: how many packets both saw, the offset of the second point's clock from the
//! first's with its uncertainty, the TTL difference, the translations, and for each host pair
//! which point is nearer the sender ([`Link::upstream`]).
//!
//! The offset: a packet that went from A to B was seen at B at `t_B = t_A + offset + delay` with a
//! delay ≥ 0, so `offset ≤ t_B − t_A`; one that went from B to A gives `offset ≥ t_B − t_A`. The
//! direction is the TTL's: the point nearer the sender sees the larger TTL. The offset lies between
//! the largest B→A difference and the smallest A→B one; the estimate is the middle of that interval
//! and the uncertainty its half width. With packets one way only the bound is all there is, and
//! the estimate assumes no delay (the uncertainty is then unknown). Clock drift over the capture is
//! not modelled: the interval of a drifting pair is wider, which the uncertainty shows.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};

use super::packets::Packets;
use super::{ClockOffset, Translation};

/// Translations kept per link (the rest are counted).
const MAX_TRANSLATIONS: usize = 16;

/// What two points have in common.
#[derive(Clone, Debug, Default)]
pub struct Link {
    /// Packets of the first point also seen at the second (duplicates counted once).
    pub matched: u64,
    /// `None` when nothing is in common.
    pub offset: Option<ClockOffset>,
    /// The most common TTL difference among packets that crossed from one point to the other.
    pub hops: Option<u8>,
    pub translations: Vec<Translation>,
    /// (source host, destination host) as the first point names them → whether the first point is
    /// nearer the sender (its TTL was the larger), from the packets of that host pair both saw.
    upstream: HashMap<(IpAddr, IpAddr), bool>,
    /// Host pair as the first point names them → the same pair as the second names it.
    hosts: HashMap<(IpAddr, IpAddr), (IpAddr, IpAddr)>,
}

impl Link {
    /// Pairs the packets of `a` with those of `b`.
    pub fn between(a: &Packets, b: &Packets) -> Link {
        let mut link = Link::default();
        let mut a_to_b: Option<i64> = None; // min of t_B − t_A over A→B packets
        let mut b_to_a: Option<i64> = None; // max of t_B − t_A over B→A packets
        let mut level: Vec<i64> = Vec::new(); // differences of packets of unknown direction
        let mut hop_counts: BTreeMap<u8, u64> = BTreeMap::new();
        let mut translations: BTreeMap<(SocketAddr, SocketAddr, SocketAddr, SocketAddr), u64> =
            BTreeMap::new();
        let mut a_counted: HashSet<u64> = HashSet::new();
        for pa in &a.seen {
            let Some(pb) = b.with_identity(pa.identity).next() else {
                continue;
            };
            if !a_counted.insert(pa.identity) {
                continue; // a duplicate at A of a packet already paired
            }
            link.matched += 1;
            // A packet repeated within a second at a point is a duplicate (kept from its first
            // copy); repeated later, its identity is ambiguous and it is not timed.
            let unique = once(a, pa) && once(b, pb);
            let d = pb.ts_ns.saturating_sub(pa.ts_ns);
            match pa.ttl.cmp(&pb.ttl) {
                std::cmp::Ordering::Greater => {
                    *hop_counts.entry(pa.ttl - pb.ttl).or_default() += 1;
                    link.upstream
                        .entry((pa.src.ip(), pa.dst.ip()))
                        .or_insert(true);
                    if unique {
                        a_to_b = Some(a_to_b.map_or(d, |m| m.min(d)));
                    }
                }
                std::cmp::Ordering::Less => {
                    *hop_counts.entry(pb.ttl - pa.ttl).or_default() += 1;
                    link.upstream
                        .entry((pa.src.ip(), pa.dst.ip()))
                        .or_insert(false);
                    if unique {
                        b_to_a = Some(b_to_a.map_or(d, |m| m.max(d)));
                    }
                }
                std::cmp::Ordering::Equal if unique => level.push(d),
                std::cmp::Ordering::Equal => {}
            }
            link.hosts
                .entry((pa.src.ip(), pa.dst.ip()))
                .or_insert((pb.src.ip(), pb.dst.ip()));
            if (pa.src, pa.dst) != (pb.src, pb.dst) {
                *translations
                    .entry((pa.src, pa.dst, pb.src, pb.dst))
                    .or_default() += 1;
            }
        }
        link.offset = offset(a_to_b, b_to_a, &mut level);
        link.hops = hop_counts
            .iter()
            .max_by_key(|(h, n)| (**n, std::cmp::Reverse(**h)))
            .map(|(h, _)| *h);
        link.translations = translations
            .into_iter()
            .take(MAX_TRANSLATIONS)
            .map(|((a_src, a_dst, b_src, b_dst), packets)| Translation {
                a_src,
                a_dst,
                b_src,
                b_dst,
                packets,
            })
            .collect();
        link
    }

    /// Whether the first point is nearer the sender of packets from `src` to `dst` (hosts as it
    /// names them): known from the packets of that host pair, either way, that both points saw.
    pub fn upstream(&self, src: IpAddr, dst: IpAddr) -> Option<bool> {
        self.upstream
            .get(&(src, dst))
            .copied()
            .or_else(|| self.upstream.get(&(dst, src)).map(|u| !u))
    }

    /// The host pair `(src, dst)` of the first point as the second names it (a translation).
    pub fn hosts_at_b(&self, src: IpAddr, dst: IpAddr) -> Option<(IpAddr, IpAddr)> {
        self.hosts
            .get(&(src, dst))
            .copied()
            .or_else(|| self.hosts.get(&(dst, src)).map(|&(bd, bs)| (bs, bd)))
    }
}

/// Most a duplicate of a packet lags its first copy at one point.
const DUPLICATE_NS: i64 = 1_000_000_000;

/// Whether every copy of `first`'s identity at `t` came within [`DUPLICATE_NS`] of it.
fn once(t: &Packets, first: &super::packets::Seen) -> bool {
    t.with_identity(first.identity)
        .all(|s| (s.ts_ns - first.ts_ns).abs() <= DUPLICATE_NS)
}

/// The offset interval from the one-way bounds (see the module doc).
fn offset(a_to_b: Option<i64>, b_to_a: Option<i64>, level: &mut [i64]) -> Option<ClockOffset> {
    Some(match (b_to_a, a_to_b) {
        (Some(lo), Some(hi)) => ClockOffset {
            ns: middle(lo, hi),
            uncertainty_ns: Some(half_width(lo, hi)),
            consistent: lo <= hi,
        },
        (Some(bound), None) | (None, Some(bound)) => ClockOffset {
            ns: bound,
            uncertainty_ns: None,
            consistent: true,
        },
        (None, None) => {
            // Both points on one segment (no TTL changes): each difference is the offset give or
            // take that packet's delay, whichever way it went.
            level.sort_unstable();
            let (&lo, &hi) = (level.first()?, level.last()?);
            ClockOffset {
                ns: middle(lo, hi),
                uncertainty_ns: Some(half_width(lo, hi)),
                consistent: true,
            }
        }
    })
}

/// The middle of `[lo, hi]` (either order), without overflow whatever the timestamps.
fn middle(lo: i64, hi: i64) -> i64 {
    ((i128::from(lo) + i128::from(hi)) / 2) as i64
}

/// Half the distance between `lo` and `hi`, rounded up, saturating.
fn half_width(lo: i64, hi: i64) -> i64 {
    let w = (i128::from(hi) - i128::from(lo)).abs();
    ((w + 1) / 2).min(i128::from(i64::MAX)) as i64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::points::packets::Seen;

    fn p(frame: u64, ts_ns: i64, ttl: u8, identity: u64, src: &str, dst: &str) -> Seen {
        Seen {
            frame,
            ts_ns,
            src: src.parse().unwrap(),
            dst: dst.parse().unwrap(),
            proto: 17,
            ttl,
            tcp_flags: 0,
            identity,
        }
    }

    #[test]
    fn the_offset_lies_between_the_two_directions() {
        // B's clock is 3 s ahead; 1 ms A→B, 2 ms B→A.
        let off = 3_000_000_000;
        let a = Packets::from_seen(vec![
            p(1, 0, 64, 1, "192.0.2.1:1", "198.51.100.1:2"),
            p(2, 10_000_000, 63, 2, "198.51.100.1:2", "192.0.2.1:1"),
        ]);
        let b = Packets::from_seen(vec![
            p(1, off + 1_000_000, 63, 1, "192.0.2.1:1", "198.51.100.1:2"),
            p(2, off + 8_000_000, 64, 2, "198.51.100.1:2", "192.0.2.1:1"),
        ]);
        let link = Link::between(&a, &b);
        let o = link.offset.unwrap();
        assert_eq!(link.matched, 2);
        assert_eq!(link.hops, Some(1));
        // Between off − 2 ms and off + 1 ms.
        assert_eq!(o.ns, off - 500_000);
        assert_eq!(o.uncertainty_ns, Some(1_500_000));
        assert!(o.consistent);
        let (src, dst) = (
            "192.0.2.1".parse().unwrap(),
            "198.51.100.1".parse().unwrap(),
        );
        assert_eq!(link.upstream(src, dst), Some(true));
        assert_eq!(link.upstream(dst, src), Some(false));
    }

    #[test]
    fn nothing_in_common_has_no_offset_and_translations_are_reported() {
        let a = Packets::from_seen(vec![p(1, 0, 64, 1, "192.0.2.1:1", "198.51.100.1:2")]);
        let b = Packets::from_seen(vec![p(1, 5, 64, 9, "192.0.2.1:1", "198.51.100.1:2")]);
        let link = Link::between(&a, &b);
        assert_eq!((link.matched, link.offset), (0, None));
        let c = Packets::from_seen(vec![p(4, 5, 63, 1, "198.51.100.254:7", "198.51.100.1:2")]);
        let link = Link::between(&a, &c);
        assert_eq!(link.translations.len(), 1);
        assert_eq!(
            link.translations[0].b_src,
            "198.51.100.254:7".parse().unwrap()
        );
        assert_eq!(link.offset.unwrap().uncertainty_ns, None);
    }
}
