//! Rule: media.fax_failed
//!
//! **Trigger**: an INVITE or re-INVITE of the call offers T.38 (`m=image <port> udptl t38`, port not
//! 0) and then the fax cannot have gone through: the offer was refused (a 4xx–6xx final response:
//! 488 Not Acceptable Here, 415 Unsupported Media Type, 606 Not Acceptable, ...), or answered 2xx
//! with the image line at port 0; or it was accepted and, for at least [`MIN_FAX_MS`] after that,
//! no UDPTL came in either direction or only in one. A fax that went both ways but lost UDPTL
//! packets that its redundancy did not carry again gets a warning.
//!
//! **Evidence**: the offer and its answer (status, Warning/Reason headers quoted), and the fax
//! streams: packets, sequence numbers, losses and what redundancy recovered.
//!
//! **Cause**: refused — the far side does not accept T.38 (not supported, disabled on that trunk or
//! gateway): enable it there, or let the sender fall back to G.711 pass-through; no UDPTL — its
//! ports are blocked (firewall, NAT, an SBC that does not relay `udptl`), or the capture does not
//! see them; one way — the silent side's UDPTL is blocked on its way, or that side's gateway
//! never started; losses — the network drops more than the redundancy depth covers.
//!
//! **False positives**: a capture that cannot see the media (no RTP of any call in it, or taken at a
//! host the media does not pass): accepted T.38 with no UDPTL is then `info` and says where to
//! capture; a re-INVITE to T.38 that the sender itself gives up (it sends a new
//! re-INVITE back to audio at once); a fax that goes on after the capture ended (UDPTL judged only
//! when the call lasted [`MIN_FAX_MS`] after the answer).

use crate::correlate::fax::Fax;
use crate::correlate::message::{Message, Method, SdpMedia};
use crate::diagnose::facts::{sorted, CallFacts};
use crate::diagnose::text;
use crate::diagnose::{Finding, Severity};
use crate::words;

/// How long after T.38 was accepted UDPTL must have had the time to flow.
pub(crate) const MIN_FAX_MS: f64 = 2000.0;

/// The active `m=image ... udptl` line of an SDP, if any.
fn image(m: &Message) -> Option<&SdpMedia> {
    m.sdp
        .as_deref()?
        .iter()
        .find(|s| s.proto.eq_ignore_ascii_case("udptl") && s.port != 0)
}

/// Whether the SDP has an image line at all (active or refused with port 0).
fn any_image(m: &Message) -> bool {
    m.sdp
        .as_deref()
        .is_some_and(|s| s.iter().any(|s| s.kind.eq_ignore_ascii_case("image")))
}

/// `192.0.2.10:6002 → 192.0.2.31:20002 (340 packets, frames 211–563)`.
fn describe(f: &Fax) -> String {
    format!(
        "{} → {} ({}, {})",
        f.src,
        f.dst,
        words::plural(f.packets, "packet"),
        words::frame_range(f.first_frame, f.last_frame)
    )
}

pub(crate) fn check(f: &CallFacts<'_>) -> Option<Finding> {
    let msgs = || f.call.messages.iter().map(|s| &*s.msg);
    for offer in msgs().filter(|m| m.method() == Some(&Method::Invite) && image(m).is_some()) {
        // Retransmissions of the offer are the same offer.
        if msgs()
            .take_while(|m| m.frame != offer.frame)
            .any(|m| m.method() == Some(&Method::Invite) && m.cseq_seq() == offer.cseq_seq())
        {
            continue;
        }
        let what = if offer.to_tag.is_some() {
            "the re-INVITE to T.38"
        } else {
            "the INVITE offering T.38"
        };
        let Some(answer) = msgs().find(|m| {
            m.is_final_response_to(&Method::Invite)
                && m.cseq_seq() == offer.cseq_seq()
                && m.ts_ns >= offer.ts_ns
        }) else {
            continue;
        };
        let status = answer.status()?;
        let mut frames = vec![offer.frame, answer.frame];
        let refused = if !status.is_success() {
            Some(format!("{} (frame {})", answer.label(), answer.frame))
        } else if image(answer).is_none() && any_image(answer) {
            Some(format!(
                "{} (frame {}) with the image line at port 0",
                answer.label(),
                answer.frame
            ))
        } else {
            None
        };
        if let Some(how) = refused {
            let quotes = text::header_quotes(answer);
            let quotes = if quotes.is_empty() {
                String::new()
            } else {
                format!(" ({quotes})")
            };
            let cause = match status.0 {
                415 => "the far side does not support the image/t38 media type".to_string(),
                _ => "the far side does not accept T.38 (not supported, or disabled on that trunk or gateway)".to_string(),
            };
            return Some(Finding {
                code: "media.fax_failed",
                severity: Severity::Error,
                summary: format!(
                    "{what} (frame {}) from {} was refused: {how}{quotes}; the fax could not switch to T.38",
                    offer.frame,
                    offer.src.ip()
                ),
                cause: format!(
                    "{cause}: enable T.38 on {}'s side, or let {} send the fax as G.711 pass-through (no T.38 re-INVITE) if the path is clean",
                    answer.src.ip(),
                    offer.src.ip()
                ),
                frames: sorted(frames),
                ts_ns: offer.ts_ns,
            });
        }
        // Accepted: the fax streams that started after the answer, each way.
        let (Some(offered), Some(accepted)) = (image(offer), image(answer)) else {
            continue;
        };
        let next = f.session_request_from(answer.ts_ns.saturating_add(1));
        let until = next.map_or(f.call.end_ts_ns, |m| m.ts_ns);
        if text::ms(answer.ts_ns, until) < MIN_FAX_MS {
            continue;
        }
        let to_offerer = |x: &&&Fax| {
            offered
                .addr
                .is_some_and(|a| x.dst.ip() == a && x.dst.port() == offered.port)
        };
        let to_answerer = |x: &&&Fax| {
            accepted
                .addr
                .is_some_and(|a| x.dst.ip() == a && x.dst.port() == accepted.port)
        };
        let after = |x: &&&Fax| x.last_ts_ns >= answer.ts_ns;
        let back: Vec<&Fax> = f
            .fax
            .iter()
            .filter(after)
            .filter(to_offerer)
            .copied()
            .collect();
        let forth: Vec<&Fax> = f
            .fax
            .iter()
            .filter(after)
            .filter(to_answerer)
            .copied()
            .collect();
        for s in back.iter().chain(&forth) {
            frames.push(s.first_frame);
            frames.push(s.last_frame);
        }
        let lasted = words::duration_ms(text::ms(answer.ts_ns, until));
        let (offer_ep, answer_ep) = (
            format!(
                "{}:{}",
                offered.addr.map_or("?".to_string(), |a| a.to_string()),
                offered.port
            ),
            format!(
                "{}:{}",
                accepted.addr.map_or("?".to_string(), |a| a.to_string()),
                accepted.port
            ),
        );
        let accepted_by = format!(
            "{what} (frame {}) was accepted ({} frame {})",
            offer.frame,
            answer.label(),
            answer.frame
        );
        let (severity, summary, cause) = match (forth.is_empty(), back.is_empty()) {
            // Where the capture cannot see the media, its absence is no evidence: say where to look.
            (true, true) => match f.media_unseen() {
                Some((note, advice)) => (
                    Severity::Info,
                    format!("{accepted_by}, and no UDPTL went either way in the {lasted} after it ({offer_ep} ↔ {answer_ep}){note}"),
                    advice.replace("the audio", "the fax"),
                ),
                None => (
                    Severity::Error,
                    format!("{accepted_by}, but no UDPTL went either way in the {lasted} after it ({offer_ep} ↔ {answer_ep})"),
                    format!("the fax ports are blocked both ways (firewall rules that allow RTP but not UDPTL, an SBC or NAT that does not relay `udptl`) or the fax goes by a path this capture does not see: allow UDP to {offer_ep} and {answer_ep}"),
                ),
            },
            (false, true) | (true, false) => {
                let (flowing, silent_from, silent_to) = if back.is_empty() {
                    (&forth, answer_ep.as_str(), offer_ep.as_str())
                } else {
                    (&back, offer_ep.as_str(), answer_ep.as_str())
                };
                (
                    Severity::Error,
                    format!(
                        "{accepted_by}, but UDPTL went one way only: {}; nothing from {silent_from} to {silent_to} in {lasted}",
                        flowing.iter().map(|s| describe(s)).collect::<Vec<_>>().join("; ")
                    ),
                    format!("the fax from {silent_from} never reached this capture point: its UDPTL is blocked on the way (firewall or NAT in front of it), or its fax gateway never started; T.38 needs both directions — the receiving side answers every page"),
                )
            }
            (false, false) => {
                let lossy: Vec<&&Fax> = back
                    .iter()
                    .chain(&forth)
                    .filter(|s| s.lost > s.recovered)
                    .collect();
                let Some(worst) = lossy.iter().max_by_key(|s| s.lost - s.recovered) else {
                    continue;
                };
                (
                    Severity::Warning,
                    format!(
                        "{accepted_by}; UDPTL {} lost {} of {} packets, {} of them not carried again by the redundancy (up to {} earlier IFPs per packet)",
                        describe(worst),
                        worst.lost,
                        worst.expected,
                        worst.lost - worst.recovered,
                        worst.max_redundancy
                    ),
                    format!("the network between {} and {} drops more UDPTL than the redundancy covers: pages come out with missing lines or the fax fails; check for loss on that path, or raise the redundancy depth (T38FaxUdpEC) or use FEC", worst.src.ip(), worst.dst.ip()),
                )
            }
        };
        return Some(Finding {
            code: "media.fax_failed",
            severity,
            summary,
            cause,
            frames: sorted(frames),
            ts_ns: answer.ts_ns,
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::correlate::message::Message;
    use crate::diagnose::rules::testkit::*;

    /// The caller's re-INVITE at 3 s offering T.38 at 192.0.2.10:6002, answered with `status`
    /// (200 with the image line at 192.0.2.31:20002), BYE at 25 s.
    fn fax_call(status: u16) -> Vec<Message> {
        let mut m = answered(Some(25_000.0));
        let bye = m.split_off(5);
        m.push(req(200, 3000.0, CALLER, APP, Method::Invite, 2).t38("192.0.2.10:6002"));
        m[5].to_tag = Some("callee".into());
        let mut answer = resp(201, 3001.0, APP, CALLER, status, Method::Invite, 2);
        if status == 200 {
            answer = answer.t38("192.0.2.31:20002");
        } else {
            answer = answer.warning(304, "app", "Media type not available");
        }
        m.push(answer);
        m.push(req(202, 3002.0, CALLER, APP, Method::Ack, 2));
        m.extend(bye);
        m
    }

    #[test]
    fn a_refused_re_invite_to_t38_is_a_failed_fax() {
        let b = World::new(fax_call(488)).build();
        let f = check(&b.facts(0)).expect("a finding");
        assert_eq!(f.severity, Severity::Error);
        assert_eq!(f.summary, "the re-INVITE to T.38 (frame 200) from 192.0.2.10 was refused: 488 Not Acceptable Here (frame 201) (Warning: 304 app \"Media type not available\"); the fax could not switch to T.38");
        assert_eq!(f.frames, [200, 201]);
        assert!(
            f.cause.contains("enable T.38 on 192.0.2.31's side"),
            "{}",
            f.cause
        );
    }

    #[test]
    fn accepted_without_any_udptl_or_one_way_only_fails() {
        // The audio before the re-INVITE flowed, so the capture sees this call's media.
        let b = World::new(fax_call(200))
            .rtp(10, 810.0, CALLER_RTP, APP_RTP, 100)
            .rtp(120, 815.0, APP_RTP, CALLER_RTP, 100)
            .build();
        let f = check(&b.facts(0)).expect("a finding");
        assert_eq!(f.severity, Severity::Error);
        assert!(f.summary.ends_with("was accepted (200 OK frame 201), but no UDPTL went either way in the 22.0 s after it (192.0.2.10:6002 ↔ 192.0.2.31:20002)"), "{}", f.summary);
        // A capture with no media of any call cannot tell (T38.pcap of the Wireshark wiki).
        let b = World::new(fax_call(200)).build();
        let f = check(&b.facts(0)).expect("a finding");
        assert_eq!(f.severity, Severity::Info);
        assert!(f.summary.ends_with("this capture holds no RTP of any call (filtered to signalling only, or taken off every media path), so it cannot tell"), "{}", f.summary);
        assert!(f.cause.ends_with("to judge the fax"), "{}", f.cause);
        let b = World::new(fax_call(200))
            .udptl(300, 3100.0, "192.0.2.10:6002", "192.0.2.31:20002", 200)
            .build();
        let f = check(&b.facts(0)).expect("a finding");
        assert_eq!(f.severity, Severity::Error);
        assert!(f.summary.contains("UDPTL went one way only: 192.0.2.10:6002 → 192.0.2.31:20002 (200 packets, frames 300–499); nothing from 192.0.2.31:20002 to 192.0.2.10:6002"), "{}", f.summary);
    }

    #[test]
    fn udptl_both_ways_is_a_fax_that_worked() {
        let b = World::new(fax_call(200))
            .rtp(10, 810.0, CALLER_RTP, APP_RTP, 100)
            .rtp(120, 815.0, APP_RTP, CALLER_RTP, 100)
            .udptl(300, 3100.0, "192.0.2.10:6002", "192.0.2.31:20002", 200)
            .udptl(600, 3150.0, "192.0.2.31:20002", "192.0.2.10:6002", 20)
            .build();
        assert_eq!(check(&b.facts(0)), None);
        // And the audio stopping at the switch to T.38 is no media finding.
        assert!(
            b.diagnose().calls[0].is_empty(),
            "{:?}",
            b.diagnose().calls[0]
        );
    }
}
