//! Failure patterns: the reported calls grouped by what went wrong the same way, so that a capture of
//! a thousand calls rejected alike reads as one line, not a thousand sections.
//!
//! Takes each diagnosed call as it is reported; produces, at the end, one [`Pattern`] per distinct
//! [`Key`] with its count, time span and two example calls (the first and the worst). A call without
//! findings is in no pattern. At most [`MAX_PATTERNS`] distinct keys are kept (memory is bounded by
//! the distinct causes, never by the number of calls); calls of further keys are counted apart.
//!
//! Two calls have the same cause when their primary (most causal) finding has the same code, they
//! ended in the same state with the same final status, decided by the same host (the sender of the
//! final response, else the host the first INVITE went to), and, when the finding cites a failed
//! connection or an ICMP error, that evidence was about the same target (the dead next hop).
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
    /// The host that decided the outcome: the sender of the final response, else where the first
    /// INVITE went.
    pub host: IpAddr,
    /// The address of the failed connection or ICMP error the primary finding cites (the dead
    /// target), when it cites one.
    pub target: Option<SocketAddr>,
}

impl Key {
    /// The pattern a call belongs to; `None` for a call without findings.
    pub fn of(d: &DiagnosedCall) -> Option<Key> {
        let primary = d.findings.first()?;
        let host = d
            .final_response
            .as_ref()
            .and_then(|r| d.messages.iter().find(|s| s.msg.frame == r.frame))
            .map_or(d.callee.ip(), |s| s.msg.src.ip());
        let cites = |frame: u64| primary.frames.binary_search(&frame).is_ok();
        let target = d
            .evidence
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
            });
        Some(Key {
            code: primary.code,
            state: d.state,
            status: d.final_response.as_ref().map(|r| r.status),
            host,
            target,
        })
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
}

impl Pattern {
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
        let pattern = Pattern {
            key: key.clone(),
            severity: d.findings[0].severity,
            calls: 1,
            first_ts_ns: d.start_ts_ns,
            last_ts_ns: d.start_ts_ns,
            first: Arc::clone(&call),
            worst: call,
        };
        self.by_key.insert(key, pattern);
    }

    /// The patterns, most calls first (then gravest, then earliest), and the calls left out by the
    /// cap.
    pub fn finish(self) -> (Vec<Pattern>, u64) {
        let mut out: Vec<Pattern> = self.by_key.into_values().collect();
        out.sort_by(|a, b| {
            b.calls
                .cmp(&a.calls)
                .then(a.severity.cmp(&b.severity))
                .then(a.first.index.cmp(&b.first.index))
        });
        (out, self.overflow)
    }
}
