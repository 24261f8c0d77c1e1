//! Rule: ip.fragments_lost
//!
//! **Trigger**: an initial INVITE sent over UDP on one hop at least twice with no response at all
//! from that destination (the hops of `sip.no_response`), whose transmissions left the sender as IP
//! fragments (the capture reassembled them from several frames, or holds only the first fragments). A datagram larger than the path MTU
//! is fragmented; a firewall or NAT that drops non-first fragments (or one fragment lost on the way)
//! loses the whole message, and every retransmission is fragmented the same way, so the transaction
//! times out. An error when the call got no final answer, a warning when it recovered (failover).
//!
//! **Evidence**: every frame of every transmission on that hop — the fragments of each — in capture
//! order; an ICMP "fragment reassembly time exceeded" from the destination (`icmp.unreachable`, which
//! this rule ranks before) says the destination saw some fragments but not all.
//!
//! **Cause**: fragments are dropped between the capture point and the destination. RFC 3261 §18.1.1
//! says a request within 200 bytes of the path MTU (or over 1300 bytes when it is unknown) must go over
//! a congestion-controlled transport such as TCP: use TCP for such messages (large INVITEs with many
//! ICE candidates or crypto lines are the usual case) or allow fragments through the firewall.
//!
//! **False positives**: the destination got the message and its responses take another path the
//! capture does not see (then `sip.no_response` would misread it the same way); a hop that is down
//! for every message, large or small — the fragments are then incidental.
//!
//! A capture that holds only some fragments of a transmission (lost before the capture point) still
//! names the call: the first fragment's head is read as a truncated message (`Message::lost_fragments`,
//! see `pipeline::fold`), and the finding says the rest never reached the capture point.

use crate::correlate::calls::State;
use crate::correlate::message::Message;
use crate::diagnose::facts::CallFacts;
use crate::diagnose::rules::sip_no_response;
use crate::diagnose::text;
use crate::diagnose::{Finding, Severity, TransportEvent};
use crate::words;

/// What to do about it, shared with `icmp.unreachable` on a "fragment reassembly time exceeded".
pub(crate) const ADVICE: &str = "use TCP for messages over 1300 bytes (RFC 3261 §18.1.1) or allow fragments through the firewall";

pub(crate) fn check(f: &CallFacts<'_>, linked: &[&TransportEvent]) -> Option<Finding> {
    let (src, dst, sent) = sip_no_response::dead_hops(f)
        .into_iter()
        .find(|(_, _, sent)| sent.iter().any(|m| m.fragmented()))?;
    let fragmented: Vec<&Message> = sent.iter().copied().filter(|m| m.fragmented()).collect();
    let first = sent.first()?;
    let last = sent.last()?;
    let most = fragmented
        .iter()
        .map(|m| m.carried_by().len())
        .max()
        .unwrap_or(0);
    let icmp = if linked.iter().any(|e| e.code == "icmp.unreachable") {
        format!(
            "; {} sent ICMP errors back (see icmp.unreachable)",
            dst.ip()
        )
    } else {
        String::new()
    };
    let severity = match f.call.state {
        State::Answered | State::Cancelled => Severity::Warning,
        _ => Severity::Error,
    };
    let mut frames: Vec<u64> = sent.iter().flat_map(|m| m.carried_by()).collect();
    frames.sort_unstable();
    frames.dedup();
    let partial = fragmented.iter().filter(|m| m.lost_fragments).count();
    let (src_ip, dst_ip) = (src.ip(), dst.ip());
    let (how, cause) = if partial == 0 {
        (
            format!(
                "{} of {} transmissions, up to {most} fragments each",
                fragmented.len(),
                sent.len()
            ),
            format!(
                "the fragments do not all reach {dst_ip}: a firewall or NAT between {src_ip} and {dst_ip} drops IP fragments (often all but the first), so the whole INVITE is lost every time; {ADVICE}"
            ),
        )
    } else {
        let reported = if icmp.is_empty() {
            String::new()
        } else {
            format!(", nor did {dst_ip} (it gave up reassembling them)")
        };
        let plural = fragmented
            .iter()
            .any(|m| m.lost_fragments && m.carried_by().len() > 1);
        let fragment = if plural { "fragments" } else { "fragment" };
        let which = if partial == fragmented.len() {
            format!("the capture holds only the first {fragment} of each")
        } else {
            format!("of {partial} the capture holds only the first {fragment}")
        };
        (
            format!(
                "{} of {} transmissions; {which}, the rest never reached the capture point",
                fragmented.len(),
                sent.len()
            ),
            format!(
                "the later fragments never reached the capture point{reported}: a firewall, NAT or link between {src_ip} and the capture point drops IP fragments (often all but the first), so the whole INVITE is lost every time; {ADVICE}"
            ),
        )
    };
    Some(Finding {
        code: "ip.fragments_lost",
        severity,
        summary: format!(
            "INVITE from {src} to {dst} over UDP left as IP fragments ({how}) and was never answered: sent {} times over {}{icmp}",
            sent.len(),
            words::duration_ms(text::ms(first.ts_ns, last.ts_ns)),
        ),
        cause,
        frames,
        ts_ns: first.ts_ns,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::correlate::message::Method;
    use crate::diagnose::rules::testkit::*;

    /// Transmissions of one INVITE at these times, each carried by two fragments (frames 2k-1, 2k).
    fn fragmented_invites(times: &[f64]) -> Vec<Message> {
        times
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let last = 2 * (i as u64 + 1);
                req(last, *t, CALLER, APP, Method::Invite, 1)
                    .sdp(CALLER_RTP)
                    .fragments(&[last - 1, last])
            })
            .collect()
    }

    #[test]
    fn unanswered_fragmented_invite_names_the_fragments_and_tcp() {
        let b = World::new(fragmented_invites(&[0.0, 500.0, 1500.0, 3500.0])).build();
        let f = check(&b.facts(0), &[]).expect("a finding");
        assert_eq!(f.frames, [1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(f.severity, Severity::Error);
        assert_eq!(f.summary, "INVITE from 192.0.2.10:5060 to 192.0.2.31:5060 over UDP left as IP fragments (4 of 4 transmissions, up to 2 fragments each) and was never answered: sent 4 times over 3.5 s");
        assert!(f.cause.ends_with(ADVICE), "{}", f.cause);
        // It is the call's primary finding, before the symptom sip.no_response.
        let codes: Vec<_> = b.calls[0].findings.iter().map(|f| f.code).collect();
        assert_eq!(codes, ["ip.fragments_lost", "sip.no_response"]);
    }

    #[test]
    fn an_answered_fragmented_invite_or_an_unfragmented_one_is_no_finding() {
        let mut m = fragmented_invites(&[0.0]);
        m.push(resp(3, 40.0, APP, CALLER, 100, Method::Invite, 1));
        let b = World::new(m).build();
        assert_eq!(check(&b.facts(0), &[]), None);
        let whole: Vec<Message> = [0.0, 500.0, 1500.0]
            .iter()
            .enumerate()
            .map(|(i, t)| req(1 + i as u64, *t, CALLER, APP, Method::Invite, 1).sdp(CALLER_RTP))
            .collect();
        let b = World::new(whole).build();
        assert_eq!(check(&b.facts(0), &[]), None);
        assert_eq!(b.calls[0].findings[0].code, "sip.no_response");
    }

    #[test]
    fn only_first_fragments_captured_say_the_rest_never_reached_the_capture_point() {
        let m: Vec<Message> = [0.0, 500.0, 1500.0]
            .iter()
            .enumerate()
            .map(|(i, t)| req(1 + i as u64, *t, CALLER, APP, Method::Invite, 1).head_only())
            .collect();
        let b = World::new(m).build();
        let f = check(&b.facts(0), &[]).expect("a finding");
        assert_eq!(f.frames, [1, 2, 3]);
        assert_eq!(f.summary, "INVITE from 192.0.2.10:5060 to 192.0.2.31:5060 over UDP left as IP fragments (3 of 3 transmissions; the capture holds only the first fragment of each, the rest never reached the capture point) and was never answered: sent 3 times over 1.5 s");
        assert!(f.cause.starts_with("the later fragments never reached the capture point: a firewall, NAT or link between 192.0.2.10 and the capture point"), "{}", f.cause);
        assert!(f.cause.ends_with(ADVICE), "{}", f.cause);
        let codes: Vec<_> = b.calls[0].findings.iter().map(|f| f.code).collect();
        assert_eq!(codes, ["ip.fragments_lost", "sip.no_response"]);
    }

    #[test]
    fn over_tcp_segments_are_not_fragments() {
        let m: Vec<Message> = fragmented_invites(&[0.0, 500.0])
            .into_iter()
            .map(Build::tcp)
            .collect();
        let b = World::new(m).build();
        assert_eq!(check(&b.facts(0), &[]), None);
    }
}
