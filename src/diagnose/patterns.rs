//! Causes several calls share, found as calls finish: calls that failed over from the same dead
//! target through the same host (`sip.failover` in each) are one [`Pattern`].
//!
//! The [`Diagnoser`](super::Diagnoser) hands each call's failover to [`Patterns::add`] as the call
//! passes; only the (host, target) groups and their call indexes are kept, never the calls, and the
//! patterns are worded once the capture is read ([`Patterns::finish`]).

use std::net::{IpAddr, SocketAddr};

use rustc_hash::FxHashMap;

use super::Failover;

/// Calls with one cause in common: calls that failed over from the same dead target through the
/// same host.
#[derive(Clone, Debug, PartialEq)]
pub struct Pattern {
    /// The code of the findings it groups (`sip.failover`).
    pub code: &'static str,
    /// The host that kept trying the dead target.
    pub host: IpAddr,
    pub target: SocketAddr,
    /// 0-based indexes of the calls it hit, ascending.
    pub calls: Vec<usize>,
    /// The longest any of them waited for the failover, in ms.
    pub max_waited_ms: f64,
    pub summary: String,
}

/// The failovers seen so far, by host and dead target.
#[derive(Debug, Default)]
pub struct Patterns {
    /// (host, target) → (0-based call indexes, longest wait in ms).
    groups: FxHashMap<(IpAddr, SocketAddr), (Vec<usize>, f64)>,
}

impl Patterns {
    /// The failover of the call with 0-based index `call`.
    pub fn add(&mut self, call: usize, f: &Failover) {
        let (calls, max) = self
            .groups
            .entry((f.host, f.target))
            .or_insert((Vec::new(), f.waited_ms));
        calls.push(call);
        *max = max.max(f.waited_ms);
    }

    /// Takes in the failovers `other` saw (calls diagnosed elsewhere, [`super::Delivery`]): the same
    /// patterns as if one had seen them all, in any order.
    pub fn merge(&mut self, other: Patterns) {
        for (key, (calls, waited_ms)) in other.groups {
            let (all, max) = self.groups.entry(key).or_insert((Vec::new(), waited_ms));
            all.extend(calls);
            *max = max.max(waited_ms);
        }
    }

    /// One pattern per host and dead target that at least two calls failed over from, in the order
    /// of their first call.
    pub fn finish(&self) -> Vec<Pattern> {
        let mut out: Vec<Pattern> = self
            .groups
            .iter()
            .filter(|(_, (calls, _))| calls.len() >= 2)
            .map(|(&(host, target), (calls, max))| {
                let mut calls = calls.clone();
                calls.sort_unstable();
                let list: Vec<String> = calls.iter().map(|i| format!("#{}", i + 1)).collect();
                let summary = format!(
                    "{} calls ({}) failed over from the same dead target: {host} tried {target} first in each and waited up to {} before trying another",
                    calls.len(),
                    list.join(", "),
                    crate::words::duration_ms(*max)
                );
                Pattern {
                    code: "sip.failover",
                    host,
                    target,
                    calls,
                    max_waited_ms: *max,
                    summary,
                }
            })
            .collect();
        out.sort_by_key(|p| p.calls[0]);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failover(target: &str, waited_ms: f64) -> Failover {
        Failover {
            host: "192.0.2.20".parse().unwrap(),
            target: target.parse().unwrap(),
            waited_ms,
        }
    }

    #[test]
    fn calls_failing_over_from_one_target_are_one_pattern_whatever_order_they_finish_in() {
        let mut p = Patterns::default();
        p.add(4, &failover("192.0.2.31:5060", 3500.0));
        p.add(7, &failover("192.0.2.32:5060", 900.0));
        p.add(1, &failover("192.0.2.31:5060", 4000.0));
        let found = p.finish();
        assert_eq!(found.len(), 1, "one call is no pattern");
        assert_eq!(found[0].calls, vec![1, 4]);
        assert_eq!(found[0].max_waited_ms, 4000.0);
        assert!(
            found[0].summary.starts_with("2 calls (#2, #5) failed over"),
            "{}",
            found[0].summary
        );
    }

    #[test]
    fn failovers_seen_in_two_places_merge_into_the_patterns_of_all() {
        let mut fold = Patterns::default();
        fold.add(4, &failover("192.0.2.31:5060", 3500.0));
        let mut delivered = Patterns::default();
        delivered.add(1, &failover("192.0.2.31:5060", 4000.0));
        delivered.add(7, &failover("192.0.2.32:5060", 900.0));
        let mut one = Patterns::default();
        one.add(7, &failover("192.0.2.32:5060", 900.0));
        one.add(1, &failover("192.0.2.31:5060", 4000.0));
        one.add(4, &failover("192.0.2.31:5060", 3500.0));
        fold.merge(delivered);
        assert_eq!(fold.finish(), one.finish());
        assert_eq!(fold.finish()[0].calls, vec![1, 4]);
    }

    #[test]
    fn patterns_come_in_the_order_of_their_first_call() {
        let mut p = Patterns::default();
        for (call, target) in [(9, "192.0.2.32:5060"), (3, "192.0.2.31:5060")] {
            p.add(call, &failover(target, 1.0));
            p.add(call + 1, &failover(target, 1.0));
        }
        let firsts: Vec<usize> = p.finish().iter().map(|p| p.calls[0]).collect();
        assert_eq!(firsts, vec![3, 9]);
    }
}
