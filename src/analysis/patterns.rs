//! Failure patterns: the reported calls grouped by what went wrong the same way, so that a capture of
//! a thousand calls rejected alike reads as one line, not a thousand sections.
//!
//! Takes each diagnosed call as it is reported; produces, at the end, one [`Pattern`] per distinct
//! [`Key`] with its count, time span and two example calls (the first and the worst). A call without
//! findings is in no pattern. At most [`MAX_PATTERNS`] distinct keys are kept (memory is bounded by
//! the distinct causes, never by the number of calls); calls of further keys are counted apart.
//!
//! Two calls have the same cause when their primary (most causal) finding has the same code and they
//! ended in the same state with the same final status. Which hosts decided the outcome (the sender
//! of the final response, else the host the first INVITE went to) and, when the finding cites a
//! failed connection or an ICMP error, which targets it was about (the dead next hops) are tallied
//! per pattern ([`Tally`]): a busy trunk whose phones each answer 486 is one pattern of a thousand
//! calls by a thousand hosts, not a thousand patterns of one call, and a pool with two dead servers
//! is one pattern that names both with their counts.
//! The examples do not depend on the order calls are reported in: the first is the call with the
//! lowest index, the worst the one with the most findings of the gravest severity (ties: the lowest
//! index).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use rustc_hash::FxHashMap;

use crate::correlate::calls::State;
use crate::diagnose::{DiagnosedCall, Severity};
use crate::proto::sip::StatusCode;

/// Distinct patterns kept; the calls of further keys are only counted.
pub const MAX_PATTERNS: usize = 256;

/// What makes two calls fail "the same way".
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    /// The primary finding's code.
    pub code: &'static str,
    pub state: State,
    /// The final response's status (none for unanswered calls).
    pub status: Option<StatusCode>,
}

impl Key {
    /// The pattern a call belongs to; `None` for a call without findings.
    pub fn of(d: &DiagnosedCall) -> Option<Key> {
        let primary = d.findings.first()?;
        Some(Key {
            code: primary.code,
            state: d.state,
            status: d.final_response.as_ref().map(|r| r.status),
        })
    }
}

/// The host that decided a call's outcome: the sender of the final response, else where the first
/// INVITE went.
fn decider(d: &DiagnosedCall) -> IpAddr {
    d.final_response
        .as_ref()
        .and_then(|r| d.messages.iter().find(|s| s.msg.frame == r.frame))
        .map_or(d.callee.ip(), |s| s.msg.src.ip())
}

/// The address of the failed connection or ICMP error the primary finding cites (the dead target),
/// when it cites one.
fn dead_target(d: &DiagnosedCall) -> Option<SocketAddr> {
    let primary = d.findings.first()?;
    let cites = |frame: u64| primary.frames.binary_search(&frame).is_ok();
    d.evidence
        .connections
        .iter()
        .find(|c| c.shown_packets().iter().any(|p| cites(p.frame)))
        .map(|c| c.server)
        .or_else(|| {
            d.evidence
                .icmp
                .iter()
                .find(|g| g.kept().any(|e| cites(e.frame)))
                .map(|g| g.first().dst)
        })
}

/// Distinct values kept per [`Tally`]; calls of further values are only counted.
pub const MAX_TALLIED: usize = 64;

/// How many of a pattern's calls each value (a deciding host, a dead target) had: at most
/// [`MAX_TALLIED`] distinct values, the calls of further ones counted in `others`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tally<T> {
    /// The values with their calls: in the order first met while calls are added, most calls first
    /// (ties: the lower value first) once the patterns are finished.
    counts: Vec<(T, u64)>,
    pub others: u64,
}

impl<T> Default for Tally<T> {
    fn default() -> Tally<T> {
        Tally {
            counts: Vec::new(),
            others: 0,
        }
    }
}

impl<T: Copy + Ord> Tally<T> {
    fn add(&mut self, value: T) {
        if let Some(entry) = self.counts.iter_mut().find(|(v, _)| *v == value) {
            entry.1 += 1;
        } else if self.counts.len() < MAX_TALLIED {
            self.counts.push((value, 1));
        } else {
            self.others += 1;
        }
    }

    /// Most calls first, ties by the lower value: the order does not depend on the order of the calls.
    fn sort(&mut self) {
        self.counts
            .sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    }

    /// The values with their calls, most calls first (ties: the lower value first).
    pub fn counts(&self) -> &[(T, u64)] {
        &self.counts
    }

    /// The value of the most calls.
    pub fn top(&self) -> Option<T> {
        self.counts.first().map(|&(v, _)| v)
    }

    /// The one value, when there is exactly one and nothing beyond the tally.
    pub fn single(&self) -> Option<T> {
        match self.counts[..] {
            [(v, _)] if self.others == 0 => Some(v),
            _ => None,
        }
    }
}

/// Calls that failed the same way.
#[derive(Clone, Debug, PartialEq)]
pub struct Pattern {
    pub key: Key,
    /// The primary finding's severity.
    pub severity: Severity,
    pub calls: u64,
    /// The earliest and latest start of its calls.
    pub first_ts_ns: i64,
    pub last_ts_ns: i64,
    /// The call with the lowest index: its primary finding's text stands for the pattern.
    pub first: Arc<DiagnosedCall>,
    /// The call with the most findings of the gravest severity (ties: the lowest index).
    pub worst: Arc<DiagnosedCall>,
    /// The hosts that decided its calls' outcome.
    pub hosts: Tally<IpAddr>,
    /// The dead targets its calls' primary findings cite (calls citing none are not counted).
    pub targets: Tally<SocketAddr>,
}

impl Pattern {
    fn tally(&mut self, d: &DiagnosedCall) {
        self.hosts.add(decider(d));
        if let Some(target) = dead_target(d) {
            self.targets.add(target);
        }
    }

    /// The primary finding of its first call, which says what the pattern is.
    pub fn finding(&self) -> &crate::diagnose::Finding {
        &self.first.findings[0]
    }
}

/// How bad a call is, for the worst example: lower is worse.
fn badness(d: &DiagnosedCall) -> (Severity, std::cmp::Reverse<usize>, usize) {
    let worst = d.worst().unwrap_or(Severity::Info);
    let n = d.findings.iter().filter(|f| f.severity == worst).count();
    (worst, std::cmp::Reverse(n), d.index)
}

/// Groups calls into patterns as they are reported.
#[derive(Default)]
pub struct Patterns {
    by_key: FxHashMap<Key, Pattern>,
    /// Calls whose key came after [`MAX_PATTERNS`] others.
    overflow: u64,
}

impl Patterns {
    pub fn add(&mut self, d: &DiagnosedCall) {
        let Some(key) = Key::of(d) else { return };
        if let Some(p) = self.by_key.get_mut(&key) {
            p.tally(d);
            p.calls += 1;
            p.first_ts_ns = p.first_ts_ns.min(d.start_ts_ns);
            p.last_ts_ns = p.last_ts_ns.max(d.start_ts_ns);
            if d.index < p.first.index {
                p.first = Arc::new(d.clone());
            }
            if badness(d) < badness(&p.worst) {
                p.worst = if d.index == p.first.index {
                    Arc::clone(&p.first)
                } else {
                    Arc::new(d.clone())
                };
            }
            return;
        }
        if self.by_key.len() >= MAX_PATTERNS {
            self.overflow += 1;
            return;
        }
        let call = Arc::new(d.clone());
        let mut pattern = Pattern {
            key: key.clone(),
            severity: d.findings[0].severity,
            calls: 1,
            first_ts_ns: d.start_ts_ns,
            last_ts_ns: d.start_ts_ns,
            first: Arc::clone(&call),
            worst: call,
            hosts: Tally::default(),
            targets: Tally::default(),
        };
        pattern.tally(d);
        self.by_key.insert(key, pattern);
    }

    /// The patterns, most calls first (then gravest, then earliest), and the calls left out by the
    /// cap.
    pub fn finish(self) -> (Vec<Pattern>, u64) {
        let mut out: Vec<Pattern> = self.by_key.into_values().collect();
        for p in &mut out {
            p.hosts.sort();
            p.targets.sort();
        }
        out.sort_by(|a, b| {
            b.calls
                .cmp(&a.calls)
                .then(a.severity.cmp(&b.severity))
                .then(a.first.index.cmp(&b.first.index))
        });
        (out, self.overflow)
    }
}

#[cfg(test)]
mod tests {
    use super::{Tally, MAX_TALLIED};

    #[test]
    fn a_tally_orders_by_calls_then_value_and_counts_values_past_its_cap() {
        let mut t = Tally::default();
        for v in [5u32, 3, 5, 9, 3, 5] {
            t.add(v);
        }
        t.sort();
        assert_eq!(t.counts(), [(5, 3), (3, 2), (9, 1)]);
        assert_eq!(t.top(), Some(5));
        let mut full = Tally::default();
        for v in 0..MAX_TALLIED as u32 + 3 {
            full.add(v);
        }
        full.add(0);
        full.sort();
        assert_eq!(full.counts().len(), MAX_TALLIED);
        assert_eq!(
            (full.counts()[0], full.counts()[1], full.others),
            ((0, 2), (1, 1), 3)
        );
    }
}
