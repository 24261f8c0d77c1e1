//! Rule: media.dropped_after_answer
//!
//! **Trigger**: an answered call with negotiated media that one side hangs up (BYE) between 1 s
//! (`media.none`'s minimum: nobody notices silence sooner) and [`WINDOW_MS`] (10 s) after the
//! answer, with no RTP or RTP in one direction only: the "call connects and then immediately fails"
//! symptom. It contains `media.none`/`media.one_way` and ranks before them.
//!
//! **Evidence**: the 2xx, the ACK, the BYE (who sent it, how long after the answer), and the RTP that
//! did flow.
//!
//! **Cause**: the side that hung up heard nothing: the missing direction's media is blocked (see
//! `media.one_way` for which side to check) — or both directions are.
//!
//! **False positives**: a capture that cannot see the media (no RTP of any call in it, or taken at a
//! host that is none of the call's media endpoints: then the finding is info and says where to
//! capture); a caller that hangs up quickly for other reasons (wrong number) on a call whose media
//! was also broken; a short automated call with one-way media by design.

use crate::correlate::calls::EndedBy;
use crate::diagnose::facts::{describe_streams, sorted, CallFacts, MediaSeen};
use crate::diagnose::rules::media_none::MIN_CALL_MS;
use crate::diagnose::text;
use crate::diagnose::{Finding, Severity};
use crate::words;

/// How soon after the answer a hang-up counts as "immediately".
pub(crate) const WINDOW_MS: f64 = 10_000.0;

pub(crate) fn check(f: &CallFacts<'_>) -> Option<Finding> {
    let answer = f.answer_msg?;
    let bye = f.bye?;
    let after = text::ms(answer.ts_ns, bye.ts_ns);
    // Under a second nobody can tell that they hear nothing: such calls are automated, not judged.
    if !(MIN_CALL_MS..=WINDOW_MS).contains(&after)
        || !f.media_negotiated()
        || f.hold_ts_ns.is_some()
    {
        return None;
    }
    let who = match f.call.ended_by {
        Some(EndedBy::Callee) => "the callee",
        _ => "the caller",
    };
    let (media, cause) = match f.media_seen() {
        MediaSeen::Flowing => return None,
        MediaSeen::None => ("no RTP either way".to_string(), {
            let (a, b) = f.media_endpoints();
            format!(
                    "{who} hung up because nobody could hear anything: the media to {a} and to {b} is blocked both ways — allow the RTP port ranges on both sides' firewalls, and check NAT/SBC media handling"
                )
        }),
        MediaSeen::OneWay { missing, present } => (
            format!("RTP only {}, none back", describe_streams(&present)),
            format!(
                "{who} hung up because one side heard nothing: {}",
                f.silent_side_cause(missing)
            ),
        ),
    };
    let mut frames = vec![answer.frame, bye.frame];
    frames.extend(f.ack.map(|m| m.frame));
    for s in &f.media {
        frames.push(s.first_frame);
        frames.push(s.last_frame);
    }
    // Where the capture cannot see the media, its absence is no evidence: say where to look.
    let (severity, note, cause) = match f.media_unseen() {
        Some((note, advice)) => (Severity::Info, note, advice),
        None => (Severity::Error, String::new(), cause),
    };
    Some(Finding {
        code: "media.dropped_after_answer",
        severity,
        summary: format!(
            "call answered (2xx frame {}) then hung up by {who} {} later (BYE frame {}), with {media}{note}",
            answer.frame,
            words::duration_ms(after),
            bye.frame
        ),
        cause,
        frames: sorted(frames),
        ts_ns: answer.ts_ns,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::rules::testkit::*;

    #[test]
    fn bye_four_seconds_after_answer_with_one_way_rtp() {
        let b = World::new(answered(Some(4816.0)))
            .rtp(8, 917.0, CALLER_RTP, APP_RTP, 196)
            .build();
        let d = b.diagnose();
        assert_eq!(
            codes(&d, 0),
            ["media.dropped_after_answer", "media.one_way"]
        );
        let f = &d.calls[0][0];
        assert_eq!(
            f.summary,
            "call answered (2xx frame 4) then hung up by the caller 4.0 s later (BYE frame 9000), with RTP only 192.0.2.10:6000 → 192.0.2.31:20000 (196 packets, frames 8–203), none back"
        );
        assert_eq!(f.frames, vec![4, 5, 8, 203, 9000]);
        assert!(f.cause.contains("192.0.2.31's outbound UDP is blocked"));
    }

    #[test]
    fn no_rtp_at_all_beats_media_none() {
        let d = World::new(answered(Some(4816.0))).build().diagnose();
        assert_eq!(codes(&d, 0), ["media.dropped_after_answer", "media.none"]);
    }

    #[test]
    fn a_half_second_automated_call_is_not_judged() {
        let b = World::new(answered(Some(1300.0))).build();
        assert_eq!(check(&b.facts(0)), None);
    }

    #[test]
    fn a_long_call_is_not_dropped_after_answer() {
        let b = World::new(answered(Some(30_000.0)))
            .rtp(8, 917.0, CALLER_RTP, APP_RTP, 196)
            .build();
        assert_eq!(check(&b.facts(0)), None);
    }
}
