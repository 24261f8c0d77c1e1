//! Rule: sip.timeout
//!
//! **Trigger**: the call's final response is 408 Request Timeout or 504 Server Time-out: the hop that
//! sent it gave up waiting for the next one (RFC 3261 §21.4.9, §21.5.5).
//!
//! **Evidence**: the INVITE as that hop received it, the 408/504 (who sent it, after how long), the
//! caller's ACK, and what the response carries — Warning, Reason and ms-diagnostics headers, quoted
//! as they are. When transport evidence on that hop's next hop was linked to the call (SYNs without
//! answer, a refused connection, ICMP), that finding is the primary one and this is its symptom.
//!
//! **Cause**: the answering hop could not reach the next one: it is named here, and the transport
//! finding says why. Without transport evidence in the capture, the INVITE the hop sent on that
//! nothing answered names the next hop (a capture at the hop or its HEP feed shows it); else capture
//! at the answering hop. A
//! Lync / Skype for Business `WinsockFailureCode` is set against the transport failures of that hop
//! (they corroborate or contradict each other, or the capture lacks the attempt), and what
//! Microsoft's codes advise and Teams Direct Routing's response code say are added.
//!
//! **False positives**: a 408 that a UAS uses for "user did not answer" (some PBXs) is a normal
//! outcome; read the Reason/Warning text.

use crate::correlate::message::Method;
use crate::diagnose::facts::{sorted, CallFacts};
use crate::diagnose::{microsoft, text};
use crate::diagnose::{Finding, Severity, TransportEvent};
use crate::proto::sip::StatusCode;
use crate::words;

pub(crate) fn check(f: &CallFacts<'_>, linked: &[&TransportEvent]) -> Option<Finding> {
    let fin = f.final_msg?;
    let status = fin.status()?;
    if status != StatusCode::REQUEST_TIMEOUT && status != StatusCode::SERVER_TIMEOUT {
        return None;
    }
    let host = fin.src.ip();
    let msgs = || f.call.messages.iter().map(|s| &*s.msg);
    let received = msgs()
        .find(|m| m.method() == Some(&Method::Invite) && m.to_tag.is_none() && m.dst.ip() == host)
        .unwrap_or(f.invite);
    let quotes = text::header_quotes(fin);
    let quotes = if quotes.is_empty() {
        String::new()
    } else {
        format!("; {quotes}")
    };
    let transport: Vec<&&TransportEvent> = linked.iter().filter(|e| e.src.ip() == host).collect();
    // The INVITE the hop sent on (a capture at the hop, or its HEP feed, shows it) that nothing
    // answered: the next hop it waited for.
    let forwarded = msgs()
        .filter(|m| {
            m.method() == Some(&Method::Invite)
                && m.to_tag.is_none()
                && m.src.ip() == host
                && m.ts_ns >= received.ts_ns
                && m.dst.ip() != received.src.ip()
        })
        .find(|fwd| {
            !msgs()
                .any(|m| m.status().is_some() && m.src.ip() == fwd.dst.ip() && m.dst.ip() == host)
        });
    let mut cause = match transport.first() {
        Some(ev) => format!(
            "{host} could not reach its next hop {}: {} (see {}); the {status} is the symptom",
            ev.dst, ev.summary, ev.code
        ),
        None => match forwarded {
            Some(fwd) => format!(
                "{host} sent the INVITE on to {} (frame {}, {}) and got no response from it: check that {} is up and reachable from {host} (firewall, listening port); this capture shows no transport evidence of that leg (SYNs, ICMP): capture at {host} to see it",
                fwd.dst,
                fwd.frame,
                fwd.transport.as_str().to_uppercase(),
                fwd.dst.ip()
            ),
            None => format!(
                "{host} timed out waiting for its next hop, which this capture does not show: find where {host} routes this call (the Warning/ms-diagnostics text above may name it), check that hop is up and reachable from {host} (firewall, listening port, DNS), or capture at {host}"
            ),
        },
    };
    for extra in [
        microsoft::cross_check(fin, linked),
        microsoft::advice(fin),
        microsoft::direct_routing_response(fin),
    ]
    .into_iter()
    .flatten()
    {
        cause.push_str(&format!("; {extra}"));
    }
    let mut frames = vec![received.frame, fin.frame];
    frames.extend(forwarded.filter(|_| transport.is_empty()).map(|m| m.frame));
    frames.extend(f.ack.map(|a| a.frame));
    frames.extend(
        msgs()
            .filter(|m| m.method() == Some(&Method::Ack) && m.ts_ns >= fin.ts_ns)
            .map(|m| m.frame)
            .take(1),
    );
    Some(Finding {
        code: "sip.timeout",
        severity: Severity::Error,
        summary: format!(
            "{host} answered {} (frame {}) {} after it received the INVITE (frame {}){quotes}",
            fin.label(),
            fin.frame,
            words::duration_ns(received.ts_ns, fin.ts_ns),
            received.frame
        ),
        cause,
        frames: sorted(frames),
        ts_ns: fin.ts_ns,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::correlate::transport::flags;
    use crate::diagnose::rules::testkit::*;

    fn proxy_504() -> Vec<crate::correlate::message::Message> {
        vec![
            req(3, 0.0, CALLER, PROXY, Method::Invite, 1).sdp(CALLER_RTP),
            resp(4, 1.0, PROXY, CALLER, 100, Method::Invite, 1),
            resp(16, 9973.8, PROXY, CALLER, 504, Method::Invite, 1).warning(
                399,
                "192.0.2.20",
                "No response from next hop sip:192.0.2.31:5060;transport=tcp",
            ),
            req(17, 9974.0, CALLER, PROXY, Method::Ack, 1),
        ]
    }

    #[test]
    fn a_504_names_the_hop_and_quotes_the_warning() {
        let b = World::new(proxy_504()).build();
        let f = check(&b.facts(0), &[]).expect("a finding");
        assert_eq!(f.frames, vec![3, 16, 17]);
        assert_eq!(
            f.summary,
            "192.0.2.20 answered 504 Server Time-out (frame 16) 10.0 s after it received the INVITE (frame 3); Warning: 399 192.0.2.20 \"No response from next hop sip:192.0.2.31:5060;transport=tcp\""
        );
        assert!(f.cause.contains("capture at 192.0.2.20"));
    }

    #[test]
    fn the_syns_behind_a_504_are_the_primary_finding() {
        let mut w = World::new(proxy_504());
        w.syns(
            "192.0.2.20:41438",
            APP,
            &[(7, 1.3), (8, 1002.0), (9, 2026.0), (15, 7118.0)],
        );
        let d = w.build().diagnose();
        assert_eq!(codes(&d, 0), ["tcp.syn_unanswered", "sip.timeout"]);
        let primary = &d.calls[0][0];
        assert_eq!(primary.frames, vec![3, 7, 8, 9, 15, 16]);
        assert!(primary.summary.contains("while 192.0.2.20 held this call's INVITE (frame 3) and was trying its next hop 192.0.2.31:5060; 192.0.2.20 then answered 504 Server Time-out (frame 16)"), "{}", primary.summary);
        assert!(primary.cause.starts_with("the listening port is filtered: allow inbound TCP 5060 from 192.0.2.20 on 192.0.2.31's firewall"));
        assert!(d.calls[0][1]
            .cause
            .contains("192.0.2.20 could not reach its next hop 192.0.2.31:5060"));
        assert_eq!(d.transport_events[0].calls, vec![0]);
    }

    #[test]
    fn syns_before_the_invite_reached_the_proxy_are_not_linked() {
        let mut msgs = proxy_504();
        for m in &mut msgs {
            m.ts_ns += 20_000_000_000;
        }
        let mut w = World::new(msgs);
        w.syns("192.0.2.20:41438", APP, &[(1, 0.0), (2, 1000.0)]);
        let d = w.build().diagnose();
        assert_eq!(codes(&d, 0), ["sip.timeout"]);
        assert!(d.transport_events[0].calls.is_empty());
    }

    /// The Front End's 504 with ms-diagnostics 1046 and the given Winsock code, with the SYNs it sent
    /// to its next hop unanswered (or refused).
    fn front_end_504(winsock: &str, refused: bool) -> Vec<Finding> {
        let mut msgs = proxy_504();
        msgs[2] = resp(16, 9973.8, PROXY, CALLER, 504, Method::Invite, 1).ms_diag(
            1046,
            "Failed to connect to a peer server",
            &[("WinsockFailureCode", winsock)],
        );
        let mut w = World::new(msgs);
        if refused {
            w.seg(7, 1.3, "192.0.2.20:41438", APP, flags::SYN, 0).seg(
                8,
                1.4,
                APP,
                "192.0.2.20:41438",
                flags::RST | flags::ACK,
                0,
            );
        } else {
            w.syns(
                "192.0.2.20:41438",
                APP,
                &[(7, 1.3), (8, 1002.0), (9, 2026.0)],
            );
        }
        let d = w.build().diagnose();
        d.calls[0].clone()
    }

    #[test]
    fn a_winsock_timeout_and_unanswered_syns_corroborate_each_other() {
        let findings = front_end_504("10060(WSAETIMEDOUT)", false);
        let timeout = findings
            .iter()
            .find(|f| f.code == "sip.timeout")
            .expect("sip.timeout");
        assert!(
            timeout.cause.contains("192.0.2.20's ms-diagnostics 1046 (WinsockFailureCode 10060 WSAETIMEDOUT) and the capture corroborate each other: TCP from 192.0.2.20 to 192.0.2.31:5060: 3 SYNs"),
            "{}",
            timeout.cause
        );
    }

    #[test]
    fn a_winsock_refusal_against_unanswered_syns_is_a_disagreement() {
        let findings = front_end_504("10061(WSAECONNREFUSED)", false);
        let timeout = findings
            .iter()
            .find(|f| f.code == "sip.timeout")
            .expect("sip.timeout");
        assert!(
            timeout.cause.contains("(WinsockFailureCode 10061 WSAECONNREFUSED) and the capture disagree: the header says the peer refused the connection: nothing listens on that port, the capture shows TCP from 192.0.2.20 to 192.0.2.31:5060: 3 SYNs"),
            "{}",
            timeout.cause
        );
        let findings = front_end_504("10061(WSAECONNREFUSED)", true);
        let timeout = findings
            .iter()
            .find(|f| f.code == "sip.timeout")
            .expect("sip.timeout");
        assert!(
            timeout
                .cause
                .contains("and the capture corroborate each other"),
            "{}",
            timeout.cause
        );
    }

    #[test]
    fn ms_diagnostics_are_quoted_not_invented() {
        let mut msgs = proxy_504();
        msgs[2] = resp(16, 9973.8, PROXY, CALLER, 504, Method::Invite, 1).ms_diag(
            1046,
            "Failed to connect to a peer server",
            &[("WinsockFailureCode", "10060(WSAETIMEDOUT)")],
        );
        let b = World::new(msgs).build();
        let f = check(&b.facts(0), &[]).expect("a finding");
        assert!(f.summary.contains("ms-diagnostics 1046 (SIP stack: failed to connect to a peer server) reason \"Failed to connect to a peer server\" from fe.example.com; WinsockFailureCode 10060 WSAETIMEDOUT: the connection attempt timed out: the peer never answered"), "{}", f.summary);
        assert!(f.cause.contains("192.0.2.20's ms-diagnostics 1046 (WinsockFailureCode 10060 WSAETIMEDOUT): the connection attempt timed out: the peer never answered; this capture does not show 192.0.2.20's connection attempt to its peer: capture at 192.0.2.20 to see it"), "{}", f.cause);
        assert!(f.cause.ends_with("check that the peer server is up, listens on its port and is reachable from the server (firewall)"), "{}", f.cause);
    }
}
