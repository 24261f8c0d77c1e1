//! Rule: media.dead_air
//!
//! **Trigger**: an answered call whose RTP flowed both ways (at least `media.stopped`'s
//! `MIN_PACKETS` each way) and then stopped in both directions, the later stop more than `GAP_MS`
//! (5 s) before the next re-INVITE, UPDATE or BYE (else the call's last SIP message), while the
//! session was not on hold. A direction whose last packet was comfort noise (PT 13/19) fell silent on
//! purpose (silence suppression, RFC 3389): when both did, there is no finding.
//!
//! **Evidence**: the last RTP packet of each direction and the request that ended the silence (the
//! BYE); the RTCP report that came after the stop, when one did. The finding says how sure it is:
//! *confident* (error) when both directions stopped within [`TOGETHER_MS`] of each other (two
//! speakers do not fall silent at the same moment; a path does), no stream used silence suppression
//! (no comfort noise, no talkspurt marker bits after the start) and no RTCP came after; *likely*
//! (warning) when they stopped further apart or a stream used silence suppression; *unsure* (info)
//! when RTCP went on after the RTP stopped, so the path was alive.
//!
//! **Cause**: the media path was lost in both directions while the call stayed up: a NAT binding or
//! firewall pinhole for the RTP that timed out or was flushed, a media relay or SBC that dropped the
//! session, a route change. Both sides heard nothing until one hung up.
//!
//! **False positives**: both sides silent with silence suppression that sends no comfort noise (RTCP
//! usually goes on then, which makes the finding *unsure*); a hold or a media change signalled in a
//! message the capture missed; a capture point that lost the media itself (a mirror session dropped).

use crate::correlate::media::Stream;
use crate::diagnose::facts::{sorted, CallFacts, Direction};
use crate::diagnose::rules::media_stopped::{what_followed, GAP_MS, MIN_PACKETS};
use crate::diagnose::text;
use crate::diagnose::{Finding, Severity};
use crate::proto::rtp::PayloadType;
use crate::words;

/// Stops at most this far apart happened together: a path failing, not two speakers pausing.
pub(crate) const TOGETHER_MS: f64 = 2000.0;

fn ended_in_comfort_noise(s: &Stream) -> bool {
    PayloadType(s.summary.last_pt).is_comfort_noise()
}

pub(crate) fn check(f: &CallFacts<'_>) -> Option<Finding> {
    let since = f.up_since()?;
    let (to_callee, up) = f.last_stream(Direction::ToCallee)?;
    let (to_caller, down) = f.last_stream(Direction::ToCaller)?;
    if up < MIN_PACKETS
        || down < MIN_PACKETS
        || (ended_in_comfort_noise(to_callee) && ended_in_comfort_noise(to_caller))
    {
        return None;
    }
    let (first, last) = if to_callee.last_ts_ns <= to_caller.last_ts_ns {
        (to_callee, to_caller)
    } else {
        (to_caller, to_callee)
    };
    if f.held_at(last.last_ts_ns) {
        return None;
    }
    let next = f.next_session_request(first.last_ts_ns);
    let end = next.map_or(f.call.end_ts_ns, |m| m.ts_ns);
    let silence_ms = text::ms(last.last_ts_ns, end);
    if silence_ms <= GAP_MS {
        return None;
    }
    let apart_ms = text::ms(first.last_ts_ns, last.last_ts_ns);
    let streams: Vec<&Stream> = f
        .media
        .iter()
        .copied()
        .filter(|s| f.direction(s) != Direction::Unknown)
        .collect();
    let rtcp_after = streams
        .iter()
        .filter_map(|s| s.rtcp)
        .filter(|r| r.ts_ns > last.last_ts_ns)
        .max_by_key(|r| r.frame);
    let suppressing: Vec<&&Stream> = streams
        .iter()
        .filter(|s| s.summary.comfort_noise > 0 || s.summary.talkspurts > 0)
        .collect();
    let apart = words::duration_ns(first.last_ts_ns, last.last_ts_ns);
    let (severity, sure) = if let Some(r) = rtcp_after {
        (
            Severity::Info,
            format!(
                "unsure: RTCP went on until frame {}, so the path was alive — silence suppression without comfort noise would look the same",
                r.frame
            ),
        )
    } else if apart_ms > TOGETHER_MS || !suppressing.is_empty() {
        let why = if apart_ms > TOGETHER_MS {
            format!("the directions stopped {apart} apart, not at once")
        } else {
            format!(
                "{} used silence suppression",
                suppressing
                    .iter()
                    .map(|s| format!("{} → {}", s.src, s.dst))
                    .collect::<Vec<_>>()
                    .join(" and ")
            )
        };
        (Severity::Warning, format!("likely: {why}"))
    } else {
        (
            Severity::Error,
            format!("confident: both stopped within {apart} of each other, with no comfort noise, no silence suppression and no RTCP after"),
        )
    };
    let after = if f.answer_msg.is_some() {
        "after the answer"
    } else {
        "into what the capture saw of the call"
    };
    let mut frames = vec![to_callee.last_frame, to_caller.last_frame];
    frames.extend(next.map(|m| m.frame));
    frames.extend(rtcp_after.map(|r| r.frame));
    Some(Finding {
        code: "media.dead_air",
        severity,
        summary: format!(
            "dead air: RTP stopped in both directions {} {after} — {} → {} at frame {}, {} → {} at frame {} — and nothing flowed for {} until {}; no hold or re-INVITE was signalled ({sure}){}",
            words::duration_ns(since, first.last_ts_ns),
            to_callee.src,
            to_callee.dst,
            to_callee.last_frame,
            to_caller.src,
            to_caller.dst,
            to_caller.last_frame,
            words::duration_ms(silence_ms),
            what_followed(next),
            f.mid_call_note()
        ),
        cause: format!(
            "the media path was lost both ways while the call stayed up: check the UDP session (pinhole) timeouts of the firewalls and NATs between {} and {} and what flushed them at that moment, a media relay or SBC that dropped the session, or a route change; both sides heard nothing until one of them hung up",
            to_callee.src.ip(),
            to_caller.src.ip()
        ),
        frames: sorted(frames),
        ts_ns: first.last_ts_ns,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::correlate::message::Method;
    use crate::diagnose::rules::testkit::*;

    #[test]
    fn both_directions_stopping_together_mid_call_is_dead_air() {
        // 150 packets each way (3 s), then 6 s of nothing until the caller's BYE.
        let b = World::new(answered(Some(9800.0)))
            .rtp(100, 810.0, CALLER_RTP, APP_RTP, 150)
            .rtp(400, 815.0, APP_RTP, CALLER_RTP, 150)
            .build();
        let d = b.diagnose();
        assert_eq!(codes(&d, 0), ["media.dead_air"]);
        let f = &d.calls[0][0];
        assert_eq!(f.severity, Severity::Error);
        assert_eq!(f.summary, "dead air: RTP stopped in both directions 3.0 s after the answer — 192.0.2.10:6000 → 192.0.2.31:20000 at frame 249, 192.0.2.31:20000 → 192.0.2.10:6000 at frame 549 — and nothing flowed for 6.0 s until the BYE (frame 9000); no hold or re-INVITE was signalled (confident: both stopped within 5 ms of each other, with no comfort noise, no silence suppression and no RTCP after)");
        assert_eq!(f.frames, [249, 549, 9000]);
    }

    #[test]
    fn comfort_noise_at_the_end_of_both_directions_is_silence_suppression() {
        let b = World::new(answered(Some(9800.0)))
            .rtp_lossy(100, 810.0, CALLER_RTP, APP_RTP, 150, 13, &[])
            .rtp_lossy(400, 815.0, APP_RTP, CALLER_RTP, 150, 13, &[])
            .build();
        assert_eq!(check(&b.facts(0)), None);
    }

    #[test]
    fn stops_seconds_apart_are_only_likely() {
        let b = World::new(answered(Some(12_000.0)))
            .rtp(100, 810.0, CALLER_RTP, APP_RTP, 150)
            .rtp(400, 815.0, APP_RTP, CALLER_RTP, 300)
            .build();
        let f = check(&b.facts(0)).expect("a finding");
        assert_eq!(f.severity, Severity::Warning);
        assert!(
            f.summary
                .ends_with("(likely: the directions stopped 3.0 s apart, not at once)"),
            "{}",
            f.summary
        );
    }

    #[test]
    fn talkspurt_markers_make_it_likely_and_rtcp_after_the_stop_unsure() {
        let b = World::new(answered(Some(9800.0)))
            .rtp_marked(100, 810.0, CALLER_RTP, APP_RTP, 150, &[0, 60])
            .rtp(400, 815.0, APP_RTP, CALLER_RTP, 150)
            .build();
        let f = check(&b.facts(0)).expect("a finding");
        assert_eq!(f.severity, Severity::Warning);
        assert!(
            f.summary
                .ends_with("(likely: 192.0.2.10:6000 → 192.0.2.31:20000 used silence suppression)"),
            "{}",
            f.summary
        );
        let b = World::new(answered(Some(9800.0)))
            .rtp(100, 810.0, CALLER_RTP, APP_RTP, 150)
            .rtp(400, 815.0, APP_RTP, CALLER_RTP, 150)
            .rtcp_about(700, 8000.0, CALLER_RTP)
            .build();
        let f = check(&b.facts(0)).expect("a finding");
        assert_eq!(f.severity, Severity::Info);
        assert!(
            f.summary.contains("unsure: RTCP went on until frame 700"),
            "{}",
            f.summary
        );
        assert_eq!(f.frames, [249, 549, 700, 9000]);
    }

    #[test]
    fn a_hold_or_a_re_invite_right_after_the_stop_is_not_dead_air() {
        for direction in [
            crate::proto::sdp::Direction::SendOnly,
            crate::proto::sdp::Direction::SendRecv,
        ] {
            let mut m = answered(Some(12_000.0));
            m.push(
                req(1500, 4000.0, CALLER, APP, Method::Invite, 3)
                    .sdp(CALLER_RTP)
                    .direction(direction),
            );
            let b = World::new(m)
                .rtp(100, 810.0, CALLER_RTP, APP_RTP, 150)
                .rtp(400, 815.0, APP_RTP, CALLER_RTP, 150)
                .build();
            assert_eq!(check(&b.facts(0)), None, "{direction:?}");
        }
    }

    #[test]
    fn media_to_the_end_of_the_call_is_fine() {
        let b = World::new(answered(Some(4000.0)))
            .rtp(100, 810.0, CALLER_RTP, APP_RTP, 150)
            .rtp(400, 815.0, APP_RTP, CALLER_RTP, 150)
            .build();
        assert_eq!(check(&b.facts(0)), None);
    }
}
