//! Rule: media.none
//!
//! **Trigger**: an answered call whose offer and answer both negotiated active media (an address, a
//! port, not a hold) and that lasted at least [`MIN_CALL_MS`] after the answer, with no RTP linked to
//! it in either direction.
//!
//! **Evidence**: the 2xx with the answer SDP, the ACK and the BYE; the negotiated endpoints and codecs.
//!
//! **Cause**: the media ports are blocked on both paths (firewall rules that allow SIP but not the
//! RTP port range), or media goes through a path the capture does not see.
//!
//! **False positives**: a capture that cannot see the media — filtered to signalling only (no RTP of
//! any call in it), or taken at a host that is none of the call's media endpoints (a proxy's own
//! interface while the media flows between the ends): then the finding is info and says where to
//! capture (see "Capture vantage" in docs/rules.md); RTP that another call's SDP claimed (B2BUA
//! legs, re-INVITEs moving media) counts for this call too; SRTP over a port the SDP did not name;
//! media on a video line only.

use crate::diagnose::facts::{sorted, CallFacts, MediaSeen};
use crate::diagnose::text;
use crate::diagnose::{Finding, Severity};
use crate::words;

/// Time after the answer in which RTP is expected.
pub(crate) const MIN_CALL_MS: f64 = 1000.0;

pub(crate) fn check(f: &CallFacts<'_>) -> Option<Finding> {
    let answer = f.answer_msg?;
    if !f.media_negotiated() || f.media_seen() != MediaSeen::None {
        return None;
    }
    let lasted = text::ms(answer.ts_ns, f.end_ts_ns());
    if lasted < MIN_CALL_MS || f.hold_ts_ns.is_some() {
        return None;
    }
    let (caller_ep, callee_ep) = f.media_endpoints();
    let codecs = f.answer.map(|a| a.codec_list()).unwrap_or_default();
    let mut frames = vec![answer.frame];
    frames.extend(f.ack.map(|m| m.frame));
    frames.extend(f.bye.map(|m| m.frame));
    // Where the capture cannot see the media, its absence is no evidence: say where to look.
    let (severity, note, cause) = match f.media_unseen() {
        Some((note, advice)) => (Severity::Info, note, advice),
        None => (
            Severity::Error,
            String::new(),
            format!("the media ports are blocked or media takes a path this capture does not see: allow UDP to {caller_ep} and to {callee_ep} (the RTP port ranges) on both sides' firewalls, and check NAT/SBC media handling"),
        ),
    };
    Some(Finding {
        code: "media.none",
        severity,
        summary: format!(
            "answered call (2xx frame {}) negotiated media {caller_ep} ↔ {callee_ep} ({codecs}), but no RTP either way in {}{note}",
            answer.frame,
            words::duration_ms(lasted)
        ),
        cause,
        frames: sorted(frames),
        ts_ns: answer.ts_ns,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::correlate::message::Method;
    use crate::diagnose::rules::testkit::*;

    #[test]
    fn answered_with_sdp_and_no_rtp() {
        // Some other RTP in the capture: it was not filtered to signalling only.
        let b = World::new(answered(Some(4800.0)))
            .rtp(500, 0.0, "198.51.100.1:7000", "198.51.100.2:7002", 20)
            .build();
        let f = check(&b.facts(0)).expect("a finding");
        assert_eq!(f.severity, Severity::Error);
        assert_eq!(f.frames, vec![4, 5, 9000]);
        assert_eq!(
            f.summary,
            "answered call (2xx frame 4) negotiated media 192.0.2.10:6000 ↔ 192.0.2.31:20000 (PCMU/8000, telephone-event/8000), but no RTP either way in 4.0 s"
        );
    }

    #[test]
    fn rtp_one_way_or_a_hold_is_not_none() {
        let b = World::new(answered(Some(4800.0)))
            .rtp(100, 810.0, CALLER_RTP, APP_RTP, 100)
            .build();
        assert_eq!(check(&b.facts(0)), None);
        let mut m = answered(Some(4800.0));
        m[3] = m[3]
            .clone()
            .direction(crate::proto::sdp::Direction::Inactive);
        assert_eq!(check(&World::new(m).build().facts(0)), None);
    }

    #[test]
    fn in_a_capture_without_any_rtp_it_is_only_info_saying_where_to_capture() {
        let b = World::new(answered(Some(4800.0))).build();
        let f = b.facts(0);
        assert_eq!(f.media_view, crate::diagnose::facts::MediaView::NoRtp);
        let found = check(&f).expect("a finding");
        assert_eq!(found.severity, Severity::Info);
        assert!(found.summary.ends_with("this capture holds no RTP of any call (filtered to signalling only, or taken off every media path), so it cannot tell"), "{}", found.summary);
        assert!(
            found.cause.starts_with("capture again with the media"),
            "{}",
            found.cause
        );
    }

    #[test]
    fn at_a_proxy_the_media_between_the_ends_is_off_the_path() {
        // Every packet is from or to the proxy; the media goes between the caller and the app.
        let m = vec![
            req(1, 0.0, CALLER, PROXY, Method::Invite, 1).sdp(CALLER_RTP),
            req(2, 1.0, PROXY, APP, Method::Invite, 1).sdp(CALLER_RTP),
            resp(3, 800.0, APP, PROXY, 200, Method::Invite, 1).sdp(APP_RTP),
            resp(4, 801.0, PROXY, CALLER, 200, Method::Invite, 1).sdp(APP_RTP),
            req(5, 802.0, CALLER, PROXY, Method::Ack, 1),
            req(6, 4800.0, CALLER, PROXY, Method::Bye, 2),
            resp(7, 4801.0, PROXY, CALLER, 200, Method::Bye, 2),
        ];
        let b = World::new(m).build();
        let f = b.facts(0);
        assert_eq!(
            f.media_view,
            crate::diagnose::facts::MediaView::OffPath {
                at: "192.0.2.20".parse().expect("an address")
            }
        );
        let found = check(&f).expect("a finding");
        assert_eq!(found.severity, Severity::Info);
        assert!(
            found
                .cause
                .starts_with("capture at 192.0.2.10 or 192.0.2.31"),
            "{}",
            found.cause
        );
    }

    #[test]
    fn rtp_linked_to_another_leg_on_the_same_endpoints_counts() {
        let mut msgs = answered(Some(4800.0));
        // A second leg (another Call-ID) names the same media endpoints and gets the streams.
        msgs.extend(answered(Some(4800.0)).into_iter().map(|m| {
            let mut m = m.call_id("leg-2");
            m.frame += 20;
            m.ts_ns += 1_000_000;
            m
        }));
        let b = World::new(msgs)
            .rtp(100, 850.0, CALLER_RTP, APP_RTP, 150)
            .rtp(300, 851.0, APP_RTP, CALLER_RTP, 150)
            .build();
        assert!(b.streams.iter().all(|s| s.call == Some(1)));
        assert_eq!(check(&b.facts(0)), None);
        assert!(b.diagnose().calls[0].is_empty());
    }

    #[test]
    fn t38_fax_is_not_rtp_but_an_image_line_next_to_audio_is() {
        let mut m = answered(Some(4800.0));
        let image = |mut line: crate::correlate::message::SdpMedia| {
            line.proto = "udptl".into();
            line.kind = "image".into();
            line.port += 2;
            line
        };
        for msg in [0, 3] {
            if let Some(sdp) = m[msg].sdp.as_mut() {
                let extra = image(sdp[0].clone());
                sdp.push(extra);
            }
        }
        assert!(check(&World::new(m.clone()).build().facts(0)).is_some());
        for msg in [0, 3] {
            if let Some(sdp) = m[msg].sdp.as_mut() {
                sdp[0].port = 0;
            }
        }
        assert_eq!(check(&World::new(m).build().facts(0)), None);
    }

    #[test]
    fn a_very_short_call_is_not_judged() {
        let b = World::new(answered(Some(1200.0))).build();
        assert_eq!(check(&b.facts(0)), None);
    }
}
