//! Rule: media.poor_quality
//!
//! **Trigger**: an RTP stream of the call with at least [`MIN_PACKETS`] packets and loss over
//! [`MAX_LOSS_PCT`] (3 %), or mean jitter over [`MAX_MEAN_JITTER_MS`] (30 ms), or an E-model MOS under
//! [`MIN_MOS`] (3.6). A warning: the call worked, degraded.
//!
//! **Evidence**: per degraded stream, its Wireshark-exact figures (packets, lost and %, mean/max
//! jitter, max delta) and MOS, with its first and last frame.
//!
//! **Cause**: network impairment on that stream's path (congestion, Wi-Fi, an overloaded link,
//! missing QoS), named by direction so the engineer knows which path to look at.
//!
//! **False positives**: loss counted from sequence gaps includes packets the sender never sent
//! (silence suppression without marker) and duplicates reduce it; very short streams are skipped.

use crate::diagnose::facts::{sorted, CallFacts};
use crate::diagnose::{Finding, Severity};

pub(crate) const MIN_PACKETS: u64 = 50;
pub(crate) const MAX_LOSS_PCT: f64 = 3.0;
pub(crate) const MAX_MEAN_JITTER_MS: f64 = 30.0;
pub(crate) const MIN_MOS: f64 = 3.6;

pub(crate) fn check(f: &CallFacts<'_>) -> Option<Finding> {
    let bad: Vec<_> = f
        .streams
        .iter()
        .filter(|s| s.summary.packets >= MIN_PACKETS)
        .filter(|s| {
            s.summary.lost_pct > MAX_LOSS_PCT
                || s.summary.mean_jitter_ms > MAX_MEAN_JITTER_MS
                || s.mos.is_some_and(|m| m < MIN_MOS)
        })
        .collect();
    let first = *bad.first()?;
    let describe = bad
        .iter()
        .map(|s| {
            let m = &s.summary;
            let mos = s.mos.map(|v| format!(", MOS {v:.1}")).unwrap_or_default();
            format!(
                "RTP {} → {}: {} of {} packets lost ({:.1} %), mean jitter {:.1} ms, max jitter {:.1} ms, max delta {:.0} ms{mos}",
                s.src,
                s.dst,
                m.lost,
                m.expected,
                m.lost_pct,
                m.mean_jitter_ms,
                m.max_jitter_ms,
                m.max_delta_ms
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    let paths = bad
        .iter()
        .map(|s| format!("{} → {}", s.src.ip(), s.dst.ip()))
        .collect::<Vec<_>>()
        .join(" and ");
    let mut frames = Vec::new();
    for s in &bad {
        frames.push(s.first_frame);
        frames.push(s.last_frame);
    }
    Some(Finding {
        code: "media.poor_quality",
        severity: Severity::Warning,
        summary: describe,
        cause: format!(
            "network impairment on the path {paths} (thresholds: loss > {MAX_LOSS_PCT} %, mean jitter > {MAX_MEAN_JITTER_MS} ms, MOS < {MIN_MOS}): check that path for congestion, Wi-Fi or overloaded links, duplex mismatches and QoS marking (DSCP EF for RTP)"
        ),
        frames: sorted(frames),
        ts_ns: first.first_ts_ns,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::rules::testkit::*;

    #[test]
    fn five_percent_loss_is_a_warning() {
        let b = World::new(answered(Some(5000.0)))
            .rtp_lossy(
                8,
                817.0,
                CALLER_RTP,
                APP_RTP,
                200,
                0,
                &[10, 20, 30, 40, 50, 60, 70, 80, 90, 100],
            )
            .rtp(300, 818.0, APP_RTP, CALLER_RTP, 200)
            .build();
        let f = check(&b.facts(0)).expect("a finding");
        assert_eq!(f.severity, Severity::Warning);
        assert!(
            f.summary.starts_with(
                "RTP 192.0.2.10:6000 → 192.0.2.31:20000: 10 of 200 packets lost (5.0 %)"
            ),
            "{}",
            f.summary
        );
        assert!(f.cause.contains("192.0.2.10 → 192.0.2.31"));
    }

    #[test]
    fn a_clean_call_is_fine() {
        let b = World::new(answered(Some(5000.0)))
            .rtp(8, 817.0, CALLER_RTP, APP_RTP, 200)
            .rtp(300, 818.0, APP_RTP, CALLER_RTP, 200)
            .build();
        assert_eq!(check(&b.facts(0)), None);
        assert!(b.diagnose().calls[0].is_empty());
    }
}
