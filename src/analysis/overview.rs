//! The first screen of a report: how many calls, how many without a problem, the failure patterns,
//! the durations calls share and the timeline — aggregates of the reported calls, computed once per run for every renderer.
//!
//! Takes each reported call; produces an [`Overview`] at the end. Memory is bounded by the distinct
//! patterns ([`super::patterns::MAX_PATTERNS`]), the distinct durations
//! ([`super::durations::MAX_SECONDS`]) and the timeline's intervals
//! ([`super::timeline::MAX_BUCKETS`]), never by the number of calls.

use std::collections::HashMap;

use super::durations::{DurationCounter, Durations};
use super::patterns::{Key, Pattern, Patterns};
use super::timeline::Timeline;
use crate::diagnose::DiagnosedCall;

/// What the reported calls come to.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Overview {
    /// Calls reported.
    pub calls: u64,
    /// Calls without any finding.
    pub clean: u64,
    /// Calls with findings, grouped by cause; most calls first.
    pub patterns: Vec<Pattern>,
    /// Calls with findings whose pattern came after the cap on patterns.
    pub unpatterned: u64,
    /// Answered calls that ended at the same duration, with its likely cause.
    pub durations: Durations,
    pub timeline: Timeline,
}

impl Overview {
    /// Each pattern's position in [`Overview::patterns`], by key.
    pub fn positions(&self) -> HashMap<&Key, usize> {
        self.patterns
            .iter()
            .enumerate()
            .map(|(i, p)| (&p.key, i))
            .collect()
    }

    /// The share of the reported calls, in percent.
    pub fn share(&self, calls: u64) -> f64 {
        if self.calls == 0 {
            0.0
        } else {
            calls as f64 * 100.0 / self.calls as f64
        }
    }
}

/// Builds the overview as calls are reported.
#[derive(Default)]
pub struct Overviewer {
    calls: u64,
    clean: u64,
    patterns: Patterns,
    durations: DurationCounter,
    timeline: Timeline,
}

impl Overviewer {
    pub fn add(&mut self, d: &DiagnosedCall) {
        self.calls += 1;
        if d.findings.is_empty() {
            self.clean += 1;
        }
        self.patterns.add(d);
        self.durations.add(d);
        self.timeline.add(d);
    }

    pub fn finish(self) -> Overview {
        let (patterns, unpatterned) = self.patterns.finish();
        Overview {
            calls: self.calls,
            clean: self.clean,
            patterns,
            unpatterned,
            durations: self.durations.finish(),
            timeline: self.timeline,
        }
    }
}
