//! Rule: media.stopped
//!
//! **Trigger**: in an answered call, the RTP of one direction (all its streams: a re-INVITE may move
//! it to a new one; at least [`MIN_PACKETS`] packets) stops more than [`GAP_MS`] (5 s) before the next
//! re-INVITE, UPDATE or BYE (else the call's last SIP message) while the other direction goes on for
//! at least that long after it, the session was not on hold (a re-INVITE/UPDATE with `sendonly`,
//! `recvonly`, `inactive`, `0.0.0.0` or port 0) and the last packet was not comfort noise.
//!
//! **Evidence**: the direction's last packet, the other direction's stream continuing, and the
//! request that followed (BYE, re-INVITE).
//!
//! **Cause**: the media path was lost mid-call: a NAT binding or firewall session for the RTP flow
//! that timed out or was flushed, a route change, or the sender's media engine failing.
//!
//! **False positives**: silence suppression (VAD/DTX) without comfort noise can pause a stream for
//! long stretches; a hold signalled in a message the capture missed. Both directions stopping is
//! `media.dead_air`.

use crate::correlate::message::{Message, Method};
use crate::diagnose::facts::{sorted, CallFacts, Direction};
use crate::diagnose::text;
use crate::diagnose::{Finding, Severity};
use crate::proto::rtp::PayloadType;
use crate::words;

/// How long before the next re-INVITE/UPDATE/BYE (or the end of the call), and how long the other
/// direction must go on, for a stop to count.
pub(crate) const GAP_MS: f64 = 5000.0;
/// A direction needs this many packets (half a second of 20 ms audio) to have "stopped"; fewer is a
/// stream that never really started (see `media.one_way`).
pub(crate) const MIN_PACKETS: u64 = 25;

/// `the BYE (frame 9000)`, `the re-INVITE (frame 120)`, or the call's last message.
pub(crate) fn what_followed(next: Option<&Message>) -> String {
    match next {
        Some(m) if m.method() == Some(&Method::Invite) => {
            format!("the re-INVITE (frame {})", m.frame)
        }
        Some(m) => format!("the {} (frame {})", m.label(), m.frame),
        None => "the call's last message".to_string(),
    }
}

pub(crate) fn check(f: &CallFacts<'_>) -> Option<Finding> {
    f.up_since()?;
    for (d, o) in [
        (Direction::ToCaller, Direction::ToCallee),
        (Direction::ToCallee, Direction::ToCaller),
    ] {
        let (Some((s, packets)), Some((other, _))) = (f.last_stream(d), f.last_stream(o)) else {
            continue;
        };
        // Comfort noise last: the sender fell silent on purpose (silence suppression).
        if packets < MIN_PACKETS
            || PayloadType(s.summary.last_pt).is_comfort_noise()
            || text::ms(s.last_ts_ns, other.last_ts_ns) < GAP_MS
            || f.held_at(s.last_ts_ns)
        {
            continue;
        }
        let next = f.next_session_request(s.last_ts_ns);
        let end = next.map_or(f.call.end_ts_ns, |m| m.ts_ns);
        if text::ms(s.last_ts_ns, end) <= GAP_MS {
            continue;
        }
        let mut frames = vec![s.first_frame, s.last_frame, other.last_frame];
        frames.extend(next.map(|m| m.frame));
        return Some(Finding {
            code: "media.stopped",
            severity: Severity::Warning,
            summary: format!(
                "RTP {} → {} stopped at frame {} ({packets} packets), {} before {}, while {} → {} went on until frame {}; no hold or re-INVITE was signalled{}",
                s.src,
                s.dst,
                s.last_frame,
                words::duration_ns(s.last_ts_ns, end),
                what_followed(next),
                other.src,
                other.dst,
                other.last_frame,
                f.mid_call_note()
            ),
            cause: format!(
                "the media path from {} was lost mid-call: check NAT/firewall session timeouts for UDP {} → {} (a flushed or expired binding), route changes at that time, and {}'s media engine",
                s.src,
                s.src,
                s.dst,
                s.src.ip()
            ),
            frames: sorted(frames),
            ts_ns: s.last_ts_ns,
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::correlate::message::Method;
    use crate::diagnose::rules::testkit::*;

    #[test]
    fn one_direction_stops_while_the_other_goes_on() {
        let b = World::new(answered(Some(20_000.0)))
            .rtp(100, 810.0, CALLER_RTP, APP_RTP, 950)
            .rtp(2000, 815.0, APP_RTP, CALLER_RTP, 300)
            .build();
        let f = check(&b.facts(0)).expect("a finding");
        assert!(f.summary.starts_with("RTP 192.0.2.31:20000 → 192.0.2.10:6000 stopped at frame 2299 (300 packets), 13.2 s before the BYE (frame 9000), while 192.0.2.10:6000 → 192.0.2.31:20000 went on until frame 1049"), "{}", f.summary);
    }

    #[test]
    fn a_hold_is_not_a_stop() {
        let mut m = answered(Some(20_000.0));
        m.push(
            req(1500, 6800.0, APP, CALLER, Method::Invite, 5)
                .by_callee()
                .sdp(APP_RTP)
                .direction(crate::proto::sdp::Direction::SendOnly),
        );
        let b = World::new(m)
            .rtp(100, 810.0, CALLER_RTP, APP_RTP, 950)
            .rtp(2000, 815.0, APP_RTP, CALLER_RTP, 300)
            .build();
        assert_eq!(check(&b.facts(0)), None);
    }

    #[test]
    fn a_re_invite_that_moves_the_media_to_a_new_stream_is_not_a_stop() {
        // At 6.8 s the callee's re-INVITE moves its media to a new port: its first stream ends
        // there, the new one goes on.
        let mut m = answered(Some(20_000.0));
        m.push(
            req(1500, 6800.0, APP, CALLER, Method::Invite, 5)
                .by_callee()
                .sdp("192.0.2.31:20002"),
        );
        let b = World::new(m)
            .rtp(100, 810.0, CALLER_RTP, APP_RTP, 950)
            .rtp(2000, 815.0, APP_RTP, CALLER_RTP, 300)
            .rtp(3000, 6900.0, "192.0.2.31:20002", CALLER_RTP, 640)
            .build();
        assert_eq!(check(&b.facts(0)), None);
    }

    #[test]
    fn a_stop_right_before_a_re_invite_is_signalled() {
        // The callee switches to T.38: its audio ends just before the re-INVITE reaches the capture.
        let mut m = answered(Some(20_000.0));
        m.push(
            req(1500, 6900.0, APP, CALLER, Method::Invite, 5)
                .by_callee()
                .sdp("192.0.2.31:20004"),
        );
        let b = World::new(m)
            .rtp(100, 810.0, CALLER_RTP, APP_RTP, 950)
            .rtp(2000, 815.0, APP_RTP, CALLER_RTP, 300)
            .build();
        assert_eq!(check(&b.facts(0)), None);
    }

    #[test]
    fn both_ending_together_is_fine() {
        let b = World::new(answered(Some(20_000.0)))
            .rtp(100, 810.0, CALLER_RTP, APP_RTP, 300)
            .rtp(2000, 815.0, APP_RTP, CALLER_RTP, 300)
            .build();
        assert_eq!(check(&b.facts(0)), None);
    }
}
