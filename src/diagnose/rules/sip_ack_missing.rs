//! Rule: sip.ack_missing
//!
//! **Trigger**: an answered call whose 2xx to the INVITE the UAS retransmitted at least twice
//! (RFC 3261 §13.3.1.4: the 2xx is resent with Timer G, T1 doubling up to T2, until an ACK arrives,
//! for 64·T1 = 32 s), i.e. no ACK reached the UAS in time. Usually the UAS then ends the call with a
//! BYE about 32 s after the answer.
//!
//! **Evidence**: every copy of the 2xx, the ACKs the capture saw (if the caller did ACK, they were lost
//! beyond the capture point), and the UAS's BYE with its Reason.
//!
//! **Cause**: the ACK is routed wrongly or blocked: it is sent to the 2xx's Contact (through the
//! Record-Route set), so a NAT/ALG that rewrote the Contact, a missing Record-Route on a proxy, or a
//! firewall that passes the INVITE but not a request to the Contact address drops it.
//!
//! **False positives**: a capture taken at the UAS where the 2xx leaves but the ACK arrives on another
//! interface; one late ACK (a single 2xx retransmission) is tolerated.

use crate::correlate::message::Method;
use crate::diagnose::facts::{sorted, CallFacts};
use crate::diagnose::text;
use crate::diagnose::{Finding, Severity};
use crate::proto::sip::StatusCode;
use crate::words;

pub(crate) fn check(f: &CallFacts<'_>) -> Option<Finding> {
    let answer = f.answer_msg?;
    let uas = answer.src;
    let uac = answer.dst;
    let msgs = || f.call.messages.iter().map(|s| &*s.msg);
    let copies: Vec<_> = msgs()
        .filter(|m| {
            m.src == uas
                && m.dst == uac
                && m.status().is_some_and(StatusCode::is_success)
                && m.cseq == answer.cseq
        })
        .collect();
    if copies.len() < 3 {
        return None;
    }
    let first = *copies.first()?;
    let last = *copies.last()?;
    let acks: Vec<_> = msgs()
        .filter(|m| {
            m.method() == Some(&Method::Ack)
                && m.ts_ns >= first.ts_ns
                && m.cseq_seq() == answer.cseq_seq()
        })
        .collect();
    let bye = msgs().find(|m| {
        m.method() == Some(&Method::Bye) && m.src.ip() == uas.ip() && m.ts_ns >= first.ts_ns
    });
    let bye_text = match bye {
        Some(b) => {
            let quotes = text::header_quotes(b);
            format!(
                "; {} then ended the call with BYE (frame {}) {} after the first 2xx{}",
                uas.ip(),
                b.frame,
                words::duration_ns(first.ts_ns, b.ts_ns),
                if quotes.is_empty() {
                    String::new()
                } else {
                    format!(" ({quotes})")
                }
            )
        }
        None => String::new(),
    };
    let contact = answer
        .contact
        .as_deref()
        .map(|c| format!(" (the 2xx's Contact is {c})"))
        .unwrap_or_default();
    let (seen, cause) = if acks.is_empty() {
        (
            "no ACK at all in the capture".to_string(),
            format!(
                "the caller {} never sent an ACK that this capture saw: check that the 2xx reached it (NAT/firewall on the way back), and where it sends the ACK{contact} — NAT, the Contact, or a missing Record-Route",
                uac.ip()
            ),
        )
    } else {
        (
            format!(
                "the caller sent {} here but none reached {}",
                words::plural(acks.len() as u64, "ACK"),
                uas.ip()
            ),
            format!(
                "the ACKs are lost between this capture point and {}: the ACK goes to the 2xx's Contact{contact} through the Record-Route set — check NAT/SIP ALG rewriting the Contact, a proxy missing Record-Route, and firewalls towards {} that pass the INVITE but not the ACK",
                uas.ip(),
                uas.ip()
            ),
        )
    };
    let mut frames: Vec<u64> = copies.iter().map(|m| m.frame).collect();
    frames.extend(acks.iter().map(|m| m.frame));
    frames.extend(bye.map(|b| b.frame));
    Some(Finding {
        code: "sip.ack_missing",
        severity: Severity::Error,
        summary: format!(
            "{uas} sent the {} {} times over {} (Timer G retransmissions: no ACK reached it); {seen}{bye_text}",
            answer.label(),
            copies.len(),
            words::duration_ns(first.ts_ns, last.ts_ns),
        ),
        cause,
        frames: sorted(frames),
        ts_ns: first.ts_ns,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::rules::testkit::*;

    fn ack_lost(with_acks: bool) -> Vec<crate::correlate::message::Message> {
        let mut m = answered(None);
        if !with_acks {
            m.pop();
        }
        for (i, t) in [1300.0, 2300.0, 4300.0, 8300.0].iter().enumerate() {
            let f = 10 + 2 * i as u64;
            m.push(resp(f, *t, APP, CALLER, 200, Method::Invite, 1).sdp(APP_RTP));
            if with_acks {
                m.push(req(f + 1, *t + 0.1, CALLER, APP, Method::Ack, 1));
            }
        }
        m.push(
            req(40, 32_800.0, APP, CALLER, Method::Bye, 1)
                .by_callee()
                .reason("SIP", 408, "ACK timeout"),
        );
        m.push(resp(41, 32_801.0, CALLER, APP, 200, Method::Bye, 1));
        m
    }

    #[test]
    fn acks_seen_but_2xx_retransmitted_means_acks_lost_beyond_the_capture() {
        let b = World::new(ack_lost(true)).build();
        let f = check(&b.facts(0)).expect("a finding");
        assert_eq!(f.frames, vec![4, 5, 10, 11, 12, 13, 14, 15, 16, 17, 40]);
        assert!(
            f.summary
                .starts_with("192.0.2.31:5060 sent the 200 OK 5 times over 7.5 s"),
            "{}",
            f.summary
        );
        assert!(f
            .summary
            .contains("the caller sent 5 ACKs here but none reached 192.0.2.31"));
        assert!(
            f.summary.contains(
                "BYE (frame 40) 32.0 s after the first 2xx (Reason: SIP cause 408 \"ACK timeout\")"
            ),
            "{}",
            f.summary
        );
        assert!(f
            .cause
            .contains("lost between this capture point and 192.0.2.31"));
    }

    #[test]
    fn no_ack_at_all() {
        let b = World::new(ack_lost(false)).build();
        let f = check(&b.facts(0)).expect("a finding");
        assert!(f.summary.contains("no ACK at all"));
    }

    #[test]
    fn one_late_ack_is_tolerated() {
        let mut m = answered(Some(4000.0));
        m.push(resp(6, 1300.0, APP, CALLER, 200, Method::Invite, 1).sdp(APP_RTP));
        let b = World::new(m).build();
        assert_eq!(check(&b.facts(0)), None);
    }
}
