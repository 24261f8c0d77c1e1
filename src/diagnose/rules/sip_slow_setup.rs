//! Rule: sip.slow_setup
//!
//! **Trigger**: post-dial delay (first INVITE to the first 18x, or to the 2xx when no 18x came) over
//! [`THRESHOLD_MS`] (5 s) in a call that got a 18x or 2xx, when the capture shows no failover (a
//! host trying a dead target first is `sip.failover`, which replaces this finding).
//!
//! **Evidence**: the INVITE and the first 18x/2xx the caller received.
//!
//! **Cause**: slow routing (DNS), a slow next hop, or a slow callee; the capture shows no failed
//! attempt, so capture closer to the callee.
//!
//! **False positives**: a long ring-back that the callee's side only signals late (no 180 until the
//! phone rings, e.g. forking to mobile phones) is a slow but normal setup.

use crate::diagnose::facts::{sorted, CallFacts};
use crate::diagnose::{Finding, Severity};
use crate::words;

/// Post-dial delay above which a setup is slow.
pub(crate) const THRESHOLD_MS: f64 = 5000.0;

/// A slow setup the capture shows no failed attempt for (a failover is `sip.failover`).
pub(crate) fn check(f: &CallFacts<'_>) -> Option<Finding> {
    let pdd = f.call.timings.pdd_ms?;
    if pdd <= THRESHOLD_MS {
        return None;
    }
    let first_progress = f.first_progress()?;
    Some(Finding {
        code: "sip.slow_setup",
        severity: Severity::Warning,
        summary: format!(
            "post-dial delay {} (INVITE frame {} → {} frame {})",
            words::duration_ms(pdd),
            f.invite.frame,
            first_progress.label(),
            first_progress.frame
        ),
        cause: "the callee side took long to respond and the capture shows no failed attempt: check routing lookups (DNS SRV/A), the next hops' load, or capture closer to the callee".to_string(),
        frames: sorted(vec![f.invite.frame, first_progress.frame]),
        ts_ns: f.invite.ts_ns,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::rules::testkit::*;

    #[test]
    fn a_quick_setup_is_fine() {
        let b = World::new(answered(Some(3000.0))).build();
        assert_eq!(check(&b.facts(0)), None);
    }

    #[test]
    fn slow_without_evidence_says_so() {
        let mut m = answered(None);
        m[2].ts_ns = ns(7000.0);
        m[3].ts_ns = ns(7800.0);
        m[4].ts_ns = ns(7801.0);
        let b = World::new(m).build();
        let f = check(&b.facts(0)).expect("a finding");
        assert_eq!(
            f.summary,
            "post-dial delay 7.0 s (INVITE frame 1 → 180 Ringing frame 3)"
        );
    }
}
