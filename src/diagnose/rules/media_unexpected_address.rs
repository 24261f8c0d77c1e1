//! Rule: media.unexpected_address
//!
//! **Trigger**: an RTP stream linked to the call (one of its endpoints is in the call's SDP) whose
//! other endpoint no SDP of the call announced: media from or to an address or port the signalling
//! never named.
//!
//! **Evidence**: the stream (endpoints, packets, frames) and the endpoints the SDP did announce.
//! Severity is info when media flows both ways anyway (a NAT that symmetric RTP/latching handles),
//! warning otherwise (it likely explains the missing direction).
//!
//! **Cause**: NAT or a wrong address in the SDP: the side announced a private or stale address and
//! its packets come from the NAT's public one; or an SBC/ALG rewrote one but not the other.
//!
//! **False positives**: judged only when both the offer's and the answer's SDP were seen; media relays (TURN, SBC media anchoring) that the SDP names on one leg only;
//! RTCP on a port other than RTP+1 without `a=rtcp`.

use std::net::SocketAddr;

use crate::diagnose::facts::{sorted, CallFacts, MediaSeen};
use crate::diagnose::{Finding, Severity};
use crate::words::frame_range;

pub(crate) fn check(f: &CallFacts<'_>) -> Option<Finding> {
    // Without both sides' SDP the capture cannot tell an unexpected address from an unseen one.
    f.offer.zip(f.answer)?;
    let odd: Vec<_> = f.streams.iter().filter(|s| !s.expected_by_sdp).collect();
    let first = *odd.first()?;
    let announced: Vec<SocketAddr> = f
        .call
        .messages
        .iter()
        .filter_map(|s| s.msg.sdp.as_deref())
        .flatten()
        .filter_map(|m| m.addr.map(|a| SocketAddr::new(a, m.port)))
        .collect();
    let mut listed: Vec<String> = announced.iter().map(|a| a.to_string()).collect();
    listed.sort();
    listed.dedup();
    let unexpected = if announced.contains(&first.src) {
        first.dst
    } else {
        first.src
    };
    let severity = if f.media_seen() == MediaSeen::Flowing {
        Severity::Info
    } else {
        Severity::Warning
    };
    let mut frames = Vec::new();
    for s in &odd {
        frames.push(s.first_frame);
        frames.push(s.last_frame);
    }
    Some(Finding {
        code: "media.unexpected_address",
        severity,
        summary: format!(
            "RTP {} → {} ({} packets, {}) uses {unexpected}, which no SDP of this call announced (announced: {})",
            first.src,
            first.dst,
            first.summary.packets,
            frame_range(first.first_frame, first.last_frame),
            listed.join(", ")
        ),
        cause: format!(
            "NAT or a wrong address in the SDP: {unexpected} is probably the translated (public) address of the side that announced another one — make that side announce a reachable address (STUN, SBC, correct external IP setting), enable symmetric RTP/latching on the peer, or disable a SIP ALG that rewrites the SDP wrongly"
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
    fn rtp_from_a_nat_address_is_flagged() {
        let b = World::new(answered(Some(4800.0)))
            .rtp(8, 817.0, CALLER_RTP, APP_RTP, 100)
            .rtp(300, 818.0, "198.51.100.7:31000", CALLER_RTP, 100)
            .build();
        let f = check(&b.facts(0)).expect("a finding");
        assert!(f.summary.starts_with("RTP 198.51.100.7:31000 → 192.0.2.10:6000 (100 packets, frames 300–399) uses 198.51.100.7:31000"), "{}", f.summary);
        assert_eq!(f.severity, Severity::Info);
    }

    #[test]
    fn sdp_endpoints_are_fine() {
        let b = World::new(answered(Some(4800.0)))
            .rtp(8, 817.0, CALLER_RTP, APP_RTP, 100)
            .build();
        assert_eq!(check(&b.facts(0)), None);
    }
}
