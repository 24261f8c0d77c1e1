//! Rule: media.stopped
//!
//! **Trigger**: in an answered call, an RTP stream of at least [`MIN_PACKETS`] packets ends more
//! than [`GAP_MS`] (5 s) before the call ends (its BYE, else its last SIP message) while a stream in the other direction goes on for at
//! least that long after it, and no hold was signalled (a re-INVITE/UPDATE with `sendonly`,
//! `recvonly`, `inactive`, `0.0.0.0` or port 0) before the stop.
//!
//! **Evidence**: the stream's last packet, the other direction's stream continuing, and the BYE.
//!
//! **Cause**: the media path was lost mid-call: a NAT binding or firewall session for the RTP flow
//! that timed out or was flushed, a route change, or the sender's media engine failing.
//!
//! **False positives**: silence suppression (VAD/DTX) without comfort noise can pause a stream for
//! long stretches; a hold signalled in a message the capture missed.

use crate::diagnose::facts::{sorted, CallFacts, Direction};
use crate::diagnose::text;
use crate::diagnose::{Finding, Severity};
use crate::words;

/// How long before the end of the call, and how long the other direction must go on, for a stop to count.
pub(crate) const GAP_MS: f64 = 5000.0;
/// A stream needs this many packets (half a second of 20 ms audio) to have "stopped"; fewer is a
/// stream that never really started (see `media.one_way`).
pub(crate) const MIN_PACKETS: u64 = 25;

pub(crate) fn check(f: &CallFacts<'_>) -> Option<Finding> {
    f.answer_msg?;
    let end = f.end_ts_ns();
    for s in &f.streams {
        let d = f.direction(s);
        if d == Direction::Unknown
            || s.summary.packets < MIN_PACKETS
            || text::ms(s.last_ts_ns, end) <= GAP_MS
        {
            continue;
        }
        if f.hold_ts_ns
            .is_some_and(|h| h <= s.last_ts_ns.saturating_add(2_000_000_000))
        {
            continue;
        }
        let other = f.streams.iter().find(|o| {
            let od = f.direction(o);
            od != d && od != Direction::Unknown && text::ms(s.last_ts_ns, o.last_ts_ns) >= GAP_MS
        });
        let Some(other) = other else { continue };
        let mut frames = vec![s.first_frame, s.last_frame, other.last_frame];
        frames.extend(f.bye.map(|b| b.frame));
        let end_what = match f.bye {
            Some(b) => format!("the BYE (frame {})", b.frame),
            None => "the call's last message".to_string(),
        };
        return Some(Finding {
            code: "media.stopped",
            severity: Severity::Warning,
            summary: format!(
                "RTP {} → {} stopped at frame {} ({} packets), {} before {end_what}, while {} → {} went on until frame {}; no hold was signalled",
                s.src,
                s.dst,
                s.last_frame,
                s.summary.packets,
                words::duration_ns(s.last_ts_ns, end),
                other.src,
                other.dst,
                other.last_frame
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
    fn both_ending_together_is_fine() {
        let b = World::new(answered(Some(20_000.0)))
            .rtp(100, 810.0, CALLER_RTP, APP_RTP, 300)
            .rtp(2000, 815.0, APP_RTP, CALLER_RTP, 300)
            .build();
        assert_eq!(check(&b.facts(0)), None);
    }
}
