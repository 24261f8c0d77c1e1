//! Rule: media.ice_failed
//!
//! **Trigger**: a call whose SDP listed ICE candidates, with STUN binding requests linked to it, and no
//! candidate pair that got a success response (RFC 8445 connectivity checks all failed). Failed pairs
//! next to one that succeeded are normal ICE and give no finding.
//!
//! **Evidence**: per candidate pair (client → server): the requests, error responses and their codes,
//! and the frames of the checks.
//!
//! **Cause**: the connectivity checks are blocked: UDP between the candidates is filtered by a
//! firewall or a NAT that does not allow it, and no relay (TURN) candidate worked.
//!
//! **False positives**: a capture that sees only one side's checks (the other side's go through
//! another interface); checks over TCP candidates the capture did not decode.

use crate::diagnose::facts::{sorted, CallFacts, MediaSeen};
use crate::diagnose::{Finding, Severity};

pub(crate) fn check(f: &CallFacts<'_>) -> Option<Finding> {
    if !f.ice || f.stun.is_empty() || f.stun.iter().any(|c| c.successes > 0) {
        return None;
    }
    let requests: u32 = f.stun.iter().map(|c| c.requests).sum();
    if requests == 0 {
        return None;
    }
    let pairs = f
        .stun
        .iter()
        .take(4)
        .map(|c| {
            let errors = if c.errors > 0 {
                format!(", {} error responses ({:?})", c.errors, c.error_codes)
            } else {
                String::new()
            };
            format!(
                "{} → {}: {} requests, no success{errors}",
                c.client, c.server, c.requests
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    let more = f.stun.len().saturating_sub(4);
    let more = if more > 0 {
        format!(" (and {more} more pairs)")
    } else {
        String::new()
    };
    let severity = if f.media_seen() == MediaSeen::Flowing {
        Severity::Warning
    } else {
        Severity::Error
    };
    let frames: Vec<u64> = f
        .stun
        .iter()
        .flat_map(|c| c.frames.iter().copied())
        .collect();
    Some(Finding {
        code: "media.ice_failed",
        severity,
        summary: format!(
            "ICE connectivity checks failed on all {} candidate pairs: {pairs}{more}",
            f.stun.len()
        ),
        cause: "connectivity checks blocked: UDP between these candidate addresses is filtered by a firewall or NAT — allow the media port range between the endpoints, or provide a working TURN relay".to_string(),
        frames: sorted(frames),
        ts_ns: f.stun.iter().map(|c| c.first_ts_ns).min().unwrap_or(f.invite.ts_ns),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::correlate::media::StunClass;
    use crate::correlate::message::Method;
    use crate::diagnose::rules::testkit::*;

    fn ice_call() -> Vec<crate::correlate::message::Message> {
        vec![
            req(1, 0.0, CALLER, APP, Method::Invite, 1)
                .sdp(CALLER_RTP)
                .candidates(&[CALLER_RTP]),
            resp(4, 800.0, APP, CALLER, 200, Method::Invite, 1)
                .sdp(APP_RTP)
                .candidates(&[APP_RTP]),
            req(5, 801.0, CALLER, APP, Method::Ack, 1),
        ]
    }

    #[test]
    fn checks_without_success_fail() {
        let b = World::new(ice_call())
            .stun(10, 900.0, CALLER_RTP, APP_RTP, StunClass::Request)
            .stun(11, 1000.0, CALLER_RTP, APP_RTP, StunClass::Request)
            .stun(12, 950.0, APP_RTP, CALLER_RTP, StunClass::Request)
            .build();
        let f = check(&b.facts(0)).expect("a finding");
        assert_eq!(f.frames, vec![10, 11, 12]);
        assert!(
            f.summary
                .contains("192.0.2.10:6000 → 192.0.2.31:20000: 2 requests, no success"),
            "{}",
            f.summary
        );
        assert_eq!(f.severity, Severity::Error);
    }

    #[test]
    fn one_successful_pair_is_enough() {
        let b = World::new(ice_call())
            .stun(10, 900.0, CALLER_RTP, APP_RTP, StunClass::Request)
            .stun(11, 901.0, APP_RTP, CALLER_RTP, StunClass::Success)
            .stun(12, 950.0, APP_RTP, CALLER_RTP, StunClass::Request)
            .build();
        assert_eq!(check(&b.facts(0)), None);
    }
}
