//! Rule: media.one_way
//!
//! **Trigger**: an answered call with negotiated media whose RTP the capture saw in one direction
//! only (directions judged by the SDP offer's and answer's endpoints, then by addresses), for at least
//! `media.none`'s minimum call time after the answer, without a hold.
//!
//! **Evidence**: the 2xx, the stream that flowed (endpoints, packets, first and last frame), and the
//! endpoint that never sent anything.
//!
//! **Cause**: the silent side's RTP never reached the capture point: its outbound UDP is blocked (its
//! firewall or one in front of it), or it sends to an address the other side's SDP gave that is not
//! reachable (NAT: private address in the SDP, no symmetric RTP); if the capture was taken next to
//! the other side, that side's inbound UDP may be blocked instead.
//!
//! **False positives**: a one-way call by design (announcements, early media only, a listen-only
//! conference leg, `sendonly` not detected because it was signalled in a re-INVITE the capture missed).

use crate::diagnose::facts::{describe_streams, sorted, CallFacts, Direction, MediaSeen};
use crate::diagnose::rules::media_none::MIN_CALL_MS;
use crate::diagnose::text;
use crate::diagnose::{Finding, Severity};

pub(crate) fn check(f: &CallFacts<'_>) -> Option<Finding> {
    let since = f.up_since()?;
    let MediaSeen::OneWay { missing, present } = f.media_seen() else {
        return None;
    };
    // A call caught mid-call has no SDP: its media is the RTP between its hosts.
    if !(f.media_negotiated() || f.mid_call()) || f.hold_ts_ns.is_some() {
        return None;
    }
    if text::ms(since, f.end_ts_ns()) < MIN_CALL_MS {
        return None;
    }
    let (caller_ep, callee_ep) = f.media_endpoints();
    let (from, to) = match missing {
        Direction::ToCaller => (
            format!("the callee ({callee_ep})"),
            format!("the caller ({caller_ep})"),
        ),
        _ => (
            format!("the caller ({caller_ep})"),
            format!("the callee ({callee_ep})"),
        ),
    };
    let mut frames: Vec<u64> = f.answer_msg.map(|a| a.frame).into_iter().collect();
    for s in &present {
        frames.push(s.first_frame);
        frames.push(s.last_frame);
    }
    Some(Finding {
        code: "media.one_way",
        severity: Severity::Error,
        summary: format!(
            "one-way audio: RTP only {}; nothing from {from} to {to}{}",
            describe_streams(&present),
            f.mid_call_note()
        ),
        cause: f.silent_side_cause(missing),
        frames: sorted(frames),
        ts_ns: present.first().map_or(since, |s| s.first_ts_ns),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::correlate::message::Method;
    use crate::diagnose::rules::testkit::*;

    #[test]
    fn only_the_callers_rtp_blames_the_callees_outbound() {
        let b = World::new(answered(Some(4800.0)))
            .rtp(8, 817.0, CALLER_RTP, APP_RTP, 200)
            .build();
        let f = check(&b.facts(0)).expect("a finding");
        assert_eq!(
            f.summary,
            "one-way audio: RTP only 192.0.2.10:6000 → 192.0.2.31:20000 (200 packets, frames 8–207); nothing from the callee (192.0.2.31:20000) to the caller (192.0.2.10:6000)"
        );
        assert!(f.cause.starts_with("the callee's RTP (from 192.0.2.31:20000) never reached this capture point: most likely 192.0.2.31's outbound UDP is blocked"), "{}", f.cause);
        assert_eq!(f.frames, vec![4, 8, 207]);
    }

    #[test]
    fn only_the_callees_rtp_blames_the_caller() {
        let b = World::new(answered(Some(4800.0)))
            .rtp(8, 817.0, APP_RTP, CALLER_RTP, 200)
            .build();
        let f = check(&b.facts(0)).expect("a finding");
        assert!(f
            .cause
            .starts_with("the caller's RTP (from 192.0.2.10:6000)"));
    }

    #[test]
    fn a_capture_that_starts_mid_call_is_judged_by_its_hosts_and_says_so() {
        // Only the caller's BYE and its 200: no INVITE, no SDP; the caller's RTP flows, none back.
        let m = vec![
            req(500, 9000.0, CALLER, APP, Method::Bye, 2),
            resp(501, 9001.0, APP, CALLER, 200, Method::Bye, 2),
        ];
        let b = World::new(m).rtp(1, 0.0, CALLER_RTP, APP_RTP, 449).build();
        assert_eq!(
            b.finished[0].call.state,
            crate::correlate::calls::State::MidCall
        );
        let f = check(&b.facts(0)).expect("a finding");
        assert!(f.summary.starts_with("one-way audio: RTP only 192.0.2.10:6000 → 192.0.2.31:20000 (449 packets, frames 1–449); nothing from the callee (192.0.2.31) to the caller (192.0.2.10:6000) (the capture started mid-call"), "{}", f.summary);
        assert_eq!(f.frames, [1, 449]);
        // Both ways: nothing to say.
        let m = vec![
            req(500, 9000.0, CALLER, APP, Method::Bye, 2),
            resp(501, 9001.0, APP, CALLER, 200, Method::Bye, 2),
        ];
        let b = World::new(m)
            .rtp(1, 0.0, CALLER_RTP, APP_RTP, 449)
            .rtp(1000, 5.0, APP_RTP, CALLER_RTP, 449)
            .build();
        assert!(b.diagnose().calls[0].is_empty());
    }

    #[test]
    fn both_ways_is_fine() {
        let b = World::new(answered(Some(4800.0)))
            .rtp(8, 817.0, CALLER_RTP, APP_RTP, 200)
            .rtp(300, 818.0, APP_RTP, CALLER_RTP, 200)
            .build();
        assert_eq!(check(&b.facts(0)), None);
    }
}
