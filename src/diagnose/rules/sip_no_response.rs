//! Rule: sip.no_response
//!
//! **Trigger**: an initial INVITE sent on one hop (source → destination) at least twice — the first
//! transmission and retransmissions per RFC 3261 Timer A (over UDP: 0.5, 1, 2, 4, 8, 16 s apart) —
//! with no response at all (not even 100 Trying) from that destination. Reported for the first such
//! hop; an error when the call got no final answer, a warning when it recovered (failover).
//!
//! **Evidence**: every transmission of the INVITE on that hop, their intervals compared with the
//! Timer A schedule, and whether Timer B (64·T1 = 32 s) ran out. ICMP errors quoting these INVITEs
//! are `icmp.unreachable` and come first.
//!
//! **Cause**: the destination is unreachable or filtered — a firewall silently drops inbound SIP, the
//! host is down, or the address/port is wrong. With no ICMP, the drop was silent.
//!
//! The same rule judges the other transactions ([`transaction`]: SUBSCRIBE, NOTIFY, MESSAGE, REFER,
//! PRACK, ...): a request with no final response by Timer F (64·T1 = 32 s), retransmitted per Timer E
//! over UDP (0.5, 1, 2, 4, 4 … s: doubling up to T2 = 4 s), names its method. A warning inside a call
//! that went on, an error outside one.
//!
//! **False positives**: a capture point that sees only one direction (the responses take another
//! path); responses sent to a different port than the INVITE's source (Via `rport` issues) are seen
//! but not matched to this hop only if they go to another host.

use std::net::SocketAddr;

use crate::correlate::calls::State;
use crate::correlate::message::{Message, Method};
use crate::correlate::transactions::Transaction;
use crate::diagnose::facts::CallFacts;
use crate::diagnose::text;
use crate::diagnose::{Finding, Severity, TransportEvent};
use crate::words;

/// RFC 3261 §17.1.1.2: INVITE retransmission intervals over UDP with T1 = 500 ms (Timer A doubles).
const TIMER_A_MS: [f64; 6] = [500.0, 1000.0, 2000.0, 4000.0, 8000.0, 16000.0];

/// A hop the INVITE was sent on with no answer: (source, destination, its transmissions).
pub(crate) fn dead_hops<'a>(f: &CallFacts<'a>) -> Vec<(SocketAddr, SocketAddr, Vec<&'a Message>)> {
    let msgs: Vec<&Message> = f.call.messages.iter().map(|s| &*s.msg).collect();
    let mut hops: Vec<(SocketAddr, SocketAddr, Vec<&Message>)> = Vec::new();
    for m in msgs.iter().copied() {
        if m.method() == Some(&Method::Invite) && m.to_tag.is_none() {
            match hops.iter_mut().find(|(s, d, _)| *s == m.src && *d == m.dst) {
                Some((_, _, sent)) => sent.push(m),
                None => hops.push((m.src, m.dst, vec![m])),
            }
        }
    }
    hops.retain(|(src, dst, sent)| {
        sent.len() >= 2
            && !msgs.iter().any(|r| {
                r.status().is_some()
                    && r.src.ip() == dst.ip()
                    && r.dst.ip() == src.ip()
                    && r.cseq_method() == Some(&Method::Invite)
            })
    });
    hops
}

/// How the retransmission intervals compare with Timer A.
fn schedule(sent: &[&Message]) -> String {
    let gaps: Vec<f64> = sent
        .windows(2)
        .map(|w| text::ms(w[0].ts_ns, w[1].ts_ns))
        .collect();
    let per_rfc = gaps
        .iter()
        .zip(TIMER_A_MS.iter())
        .all(|(gap, want)| (gap - want).abs() <= want * 0.2 + 50.0)
        && gaps.len() <= TIMER_A_MS.len();
    let list = gaps
        .iter()
        .map(|g| format!("{:.1}", g / 1000.0))
        .collect::<Vec<_>>()
        .join(", ");
    if per_rfc {
        format!("retransmitted per RFC 3261 Timer A: {list} s apart")
    } else {
        format!(
            "retransmitted {list} s apart (not the RFC 3261 Timer A schedule of 0.5, 1, 2, 4 … s)"
        )
    }
}

pub(crate) fn check(f: &CallFacts<'_>, linked: &[&TransportEvent]) -> Option<Finding> {
    let (src, dst, sent) = dead_hops(f).into_iter().next()?;
    let first = sent.first()?;
    let last = sent.last()?;
    let span_ms = text::ms(first.ts_ns, last.ts_ns);
    let timer_b = if span_ms >= 31_000.0 && f.call.state == State::Unanswered {
        ", until Timer B (32 s) expired"
    } else {
        ""
    };
    let icmp = linked.iter().any(|e| e.code == "icmp.unreachable");
    let silence = if icmp {
        "ICMP errors came back instead (see icmp.unreachable)"
    } else {
        "no ICMP error came back either, so the packets were dropped silently"
    };
    let proto = first.transport.as_str().to_uppercase();
    let severity = match f.call.state {
        State::Answered | State::Cancelled => Severity::Warning,
        _ => Severity::Error,
    };
    Some(Finding {
        code: "sip.no_response",
        severity,
        summary: format!(
            "INVITE from {src} to {dst} sent {} times over {} ({}){timer_b}, no response at all from {}; {silence}",
            sent.len(),
            words::duration_ms(span_ms),
            schedule(&sent),
            dst.ip()
        ),
        cause: if sent.iter().any(|m| m.fragmented()) {
            // The port is not the problem: the INVITE's fragments were (ip.fragments_lost says how).
            format!(
                "the INVITE left {src} as IP fragments that did not all get through (see ip.fragments_lost): fix the fragments' path, not {dst}'s port"
            )
        } else {
            format!(
                "{dst} is unreachable or filtered: allow inbound {proto} {} from {} on {}'s firewall (and any firewall in between), check that the SIP service runs there and that {} is the right address and port",
                dst.port(),
                src.ip(),
                dst.ip(),
                dst
            )
        },
        frames: sent.iter().map(|m| m.frame).collect(),
        ts_ns: first.ts_ns,
    })
}

/// RFC 3261 §17.1.2.2: non-INVITE retransmission intervals over UDP (Timer E doubles up to T2 = 4 s).
fn timer_e_ms(i: usize) -> f64 {
    (500.0 * f64::from(1u32 << i.min(3))).min(4000.0)
}

/// An unanswered non-INVITE transaction; see the module doc.
pub(crate) fn transaction(tx: &Transaction) -> Option<Finding> {
    if !tx.unanswered() || tx.provisional.is_some() {
        return None;
    }
    let method = tx.method.as_str();
    let (src, dst) = (tx.client, tx.server);
    let first = tx.sent.first()?;
    let last = tx.sent.last()?;
    let gaps: Vec<f64> = tx
        .sent
        .windows(2)
        .map(|w| text::ms(w[0].ts_ns, w[1].ts_ns))
        .collect();
    let per_rfc = gaps
        .iter()
        .enumerate()
        .all(|(i, gap)| (gap - timer_e_ms(i)).abs() <= timer_e_ms(i) * 0.2 + 50.0);
    let how = if tx.sent_count <= 1 {
        format!("sent once over {}", tx.transport.as_str().to_uppercase())
    } else {
        format!(
            "sent {} times over {}{}",
            tx.sent_count,
            words::duration_ms(text::ms(first.ts_ns, last.ts_ns)),
            if per_rfc {
                " (retransmitted per RFC 3261 Timer E)"
            } else {
                ""
            }
        )
    };
    let within = tx
        .call
        .map(|i| format!(" in call {}", i + 1))
        .unwrap_or_default();
    let proto = tx.transport.as_str().to_uppercase();
    Some(Finding {
        code: "sip.no_response",
        severity: if tx.call.is_some() {
            Severity::Warning
        } else {
            Severity::Error
        },
        summary: format!(
            "{method}{within} from {src} to {dst} {how}, no response at all from {} before Timer F (32 s)",
            dst.ip()
        ),
        cause: format!(
            "{dst} is unreachable or filtered: allow inbound {proto} {} from {} on {}'s firewall (and any firewall in between), check that the SIP service runs there and that {dst} is the right address and port",
            dst.port(),
            src.ip(),
            dst.ip()
        ),
        frames: tx.sent.iter().map(|a| a.frame).collect(),
        ts_ns: first.ts_ns,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::rules::testkit::*;

    fn invites(times: &[f64]) -> Vec<crate::correlate::message::Message> {
        times
            .iter()
            .enumerate()
            .map(|(i, t)| req(3 + i as u64, *t, CALLER, APP, Method::Invite, 1).sdp(CALLER_RTP))
            .collect()
    }

    #[test]
    fn seven_transmissions_per_timer_a_then_timer_b() {
        let b = World::new(invites(&[
            0.0, 506.0, 1511.0, 3518.0, 7522.0, 15528.0, 31530.0,
        ]))
        .build();
        let f = check(&b.facts(0), &[]).expect("a finding");
        assert_eq!(f.frames, vec![3, 4, 5, 6, 7, 8, 9]);
        assert_eq!(f.severity, Severity::Error);
        assert!(f.summary.starts_with("INVITE from 192.0.2.10:5060 to 192.0.2.31:5060 sent 7 times over 31.5 s (retransmitted per RFC 3261 Timer A: 0.5, 1.0, 2.0, 4.0, 8.0, 16.0 s apart), until Timer B (32 s) expired"), "{}", f.summary);
        assert!(f
            .cause
            .contains("allow inbound UDP 5060 from 192.0.2.10 on 192.0.2.31's firewall"));
    }

    #[test]
    fn odd_intervals_are_called_out() {
        let b = World::new(invites(&[0.0, 3000.0, 6000.0])).build();
        let f = check(&b.facts(0), &[]).expect("a finding");
        assert!(f.summary.contains("not the RFC 3261 Timer A schedule"));
    }

    #[test]
    fn a_single_invite_or_a_100_trying_is_no_finding() {
        let b = World::new(invites(&[0.0])).build();
        assert_eq!(check(&b.facts(0), &[]), None);
        let mut m = invites(&[0.0, 500.0]);
        m.push(resp(9, 600.0, APP, CALLER, 100, Method::Invite, 1));
        let b = World::new(m).build();
        assert_eq!(check(&b.facts(0), &[]), None);
    }

    #[test]
    fn an_unanswered_message_names_its_method_and_timer_e() {
        let message = Method::Other("MESSAGE".into());
        let times = [0.0, 500.0, 1500.0, 3500.0, 7500.0, 11_500.0];
        let mut msgs: Vec<_> = times
            .iter()
            .enumerate()
            .map(|(i, t)| req(1 + i as u64, *t, CALLER, APP, message.clone(), 1).call_id("im-1"))
            .collect();
        for m in &mut msgs {
            m.branch = Some("z9hG4bKim".into());
        }
        msgs.push(req(50, 60_000.0, CALLER, APP2, Method::Bye, 9));
        let b = World::new(msgs).build();
        let tx = b.transactions.first().expect("a transaction");
        let f = transaction(tx).expect("a finding");
        assert_eq!(f.summary, "MESSAGE from 192.0.2.10:5060 to 192.0.2.31:5060 sent 6 times over 11.5 s (retransmitted per RFC 3261 Timer E), no response at all from 192.0.2.31 before Timer F (32 s)");
        assert_eq!(f.frames, [1, 2, 3, 4, 5, 6]);
    }
}
