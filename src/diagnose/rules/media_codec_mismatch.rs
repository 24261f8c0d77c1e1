//! Rule: media.codec_mismatch
//!
//! **Trigger**: an RTP stream of the call whose payload type (the first or the last packet's) the
//! answer SDP did not list (the offer's list when no answer SDP was seen). Both directions must use
//! the answer's payload types (RFC 3264 §6.1).
//!
//! **Evidence**: the stream (endpoints, payload type, frames) and the answer's payload type list.
//!
//! **Cause**: a negotiation bug: the sender ignores the answer (sends its own preferred codec or a
//! stale dynamic payload type number); the receiver may drop or mis-decode the packets.
//!
//! **False positives**: comfort noise (PT 13) sent without being negotiated is a common, mostly
//! harmless, violation; a re-INVITE that changed the codecs later in the call.

use crate::diagnose::facts::{sorted, CallFacts};
use crate::diagnose::{Finding, Severity};
use crate::words::frame_range;

pub(crate) fn check(f: &CallFacts<'_>) -> Option<Finding> {
    let sdp = f.answer.or(f.offer)?;
    let allowed: Vec<u8> = f
        .call
        .messages
        .iter()
        .filter(|s| s.msg.frame >= sdp.msg.frame)
        .filter_map(|s| s.msg.sdp.as_deref())
        .flatten()
        .flat_map(|m| m.codecs.iter().map(|c| c.pt))
        .chain(sdp.payload_types())
        .collect();
    let bad = f.streams.iter().find_map(|s| {
        [s.summary.first_pt, s.summary.last_pt]
            .into_iter()
            .find(|pt| !allowed.contains(pt))
            .map(|pt| (s, pt))
    })?;
    let (s, pt) = bad;
    let name = s
        .codec
        .as_deref()
        .filter(|_| pt == s.summary.first_pt)
        .map(|c| format!(" ({c})"))
        .unwrap_or_default();
    Some(Finding {
        code: "media.codec_mismatch",
        severity: Severity::Warning,
        summary: format!(
            "RTP {} → {} ({}) carries payload type {pt}{name}, which the {} SDP (frame {}) did not list ({})",
            s.src,
            s.dst,
            frame_range(s.first_frame, s.last_frame),
            if f.answer.is_some() { "answer" } else { "offer" },
            sdp.msg.frame,
            sdp.codec_list()
        ),
        cause: format!(
            "a negotiation bug: {} sends a codec the answer did not agree on — the receiver may drop or mis-decode it; check {}'s codec configuration and how it applies the SDP answer",
            s.src.ip(),
            s.src.ip()
        ),
        frames: sorted(vec![sdp.msg.frame, s.first_frame, s.last_frame]),
        ts_ns: s.first_ts_ns,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::rules::testkit::*;

    #[test]
    fn a_payload_type_outside_the_answer_is_flagged() {
        let b = World::new(answered(Some(4800.0)))
            .rtp_lossy(8, 817.0, CALLER_RTP, APP_RTP, 100, 8, &[])
            .build();
        let f = check(&b.facts(0)).expect("a finding");
        assert!(f.summary.contains("carries payload type 8 (PCMA), which the answer SDP (frame 4) did not list (PCMU/8000, telephone-event/8000)"), "{}", f.summary);
    }

    #[test]
    fn negotiated_payload_types_are_fine() {
        let b = World::new(answered(Some(4800.0)))
            .rtp(8, 817.0, CALLER_RTP, APP_RTP, 100)
            .build();
        assert_eq!(check(&b.facts(0)), None);
    }
}
