//! Rule: sip.failover
//!
//! **Trigger**: a host that sent the call's INVITE (the caller, a proxy, a B2BUA, an SBC, a Front
//! End) tried a target that did not work, then sent the INVITE to another target, which answered
//! (any response). A target did not work when the host's INVITE to it was retransmitted without any
//! response (UDP, RFC 3261 Timer A), when the host's connection attempts to it failed (unanswered
//! SYNs, a RST, a failed TLS handshake) or ICMP errors quoted the host's packets to it, or when it
//! answered 408 or 5xx (503 Service Unavailable: out of service or overloaded).
//!
//! **Evidence**: each dead target's attempts (the INVITEs, the SYNs, the RST, the ICMP errors or the
//! 5xx), the INVITE to the target that answered and its first response, and what the caller saw:
//! the delay from its INVITE to its first 18x/2xx. Several calls that failed over from the same dead
//! target through the same host are one pattern ([`crate::diagnose::Pattern`]), which says how many
//! calls it hit.
//!
//! **Cause**: the dead target is down, overloaded or filtered for that host, and the host keeps
//! choosing it: every call that tries it first waits for the host's failover timer. Take it out of
//! rotation (or fix it), let the host probe its targets (SIP OPTIONS health checks) so that it stops
//! choosing a dead one, shorten the failover timer, and fix the firewall rule or the service.
//!
//! **False positives**: forking by design (a proxy trying a desk phone, then a mobile) looks like a
//! failover when the first target does not answer; a target that answers 5xx for this call only.

use std::net::{IpAddr, SocketAddr};

use crate::correlate::message::{Message, Method};
use crate::diagnose::facts::{sorted, CallFacts};
use crate::diagnose::rules::sip_no_response;
use crate::diagnose::{Finding, Severity, TransportEvent};
use crate::proto::sip::StatusCode;
use crate::words;

/// The failover a call went through, for grouping calls into a [`crate::diagnose::Pattern`].
#[derive(Clone, Debug, PartialEq)]
pub struct Failover {
    /// The host that tried the dead target.
    pub host: IpAddr,
    /// The first dead target it tried.
    pub target: SocketAddr,
    /// From its first attempt to the dead target to its INVITE to the one that answered.
    pub waited_ms: f64,
}

/// A target a host tried that did not work.
struct Dead {
    host: IpAddr,
    target: SocketAddr,
    /// When the host first tried it.
    since: i64,
    /// What happened, in words: `INVITE sent 4 times over 3.5 s, no response`.
    what: String,
    /// What to fix at the target itself.
    fix: String,
    frames: Vec<u64>,
}

/// The targets hosts tried without success: linked transport failures, INVITEs never answered,
/// 408/5xx answers.
fn dead_targets(f: &CallFacts<'_>, linked: &[&TransportEvent]) -> Vec<Dead> {
    let mut dead: Vec<Dead> = linked
        .iter()
        .filter(|e| e.code != "tcp.reset")
        .map(|e| {
            let fix = match e.code {
                "tcp.syn_refused" => format!(
                    "nothing listens on {}: start the SIP service or correct the port",
                    e.dst
                ),
                "tls.handshake_failed" => format!(
                    "the TLS handshake with {} fails: fix its certificate or the trust store",
                    e.dst
                ),
                "icmp.unreachable" => format!(
                    "{} refuses the packets (port closed or a firewall rejecting them)",
                    e.dst
                ),
                _ => format!(
                    "if it should take calls, allow inbound {} {} from {} on {}'s firewall and check that the SIP service runs",
                    e.proto.as_str().to_uppercase(),
                    e.dst.port(),
                    e.src.ip(),
                    e.dst.ip()
                ),
            };
            Dead {
                host: e.src.ip(),
                target: e.dst,
                since: e.ts_ns,
                what: e.summary.clone(),
                fix,
                frames: e.frames.clone(),
            }
        })
        .collect();
    for (src, dst, sent) in sip_no_response::dead_hops(f) {
        let (Some(first), Some(last)) = (sent.first(), sent.last()) else {
            continue;
        };
        let proto = first.transport.as_str().to_uppercase();
        dead.push(Dead {
            host: src.ip(),
            target: dst,
            since: first.ts_ns,
            what: format!(
                "INVITE sent {} times over {} ({proto}), no response",
                sent.len(),
                words::duration_ns(first.ts_ns, last.ts_ns)
            ),
            fix: format!(
                "if it should take calls, allow inbound {proto} {} from {} on {}'s firewall and check that the SIP service runs",
                dst.port(),
                src.ip(),
                dst.ip()
            ),
            frames: sent.iter().map(|m| m.frame).collect(),
        });
    }
    let msgs = || f.call.messages.iter().map(|s| &*s.msg);
    for r in msgs() {
        let Some(status) = r.status() else { continue };
        let refused = status == StatusCode(408) || (500..600).contains(&status.0);
        if !refused || !r.is_final_response_to(&Method::Invite) {
            continue;
        }
        // The INVITE it answered: the host that sent it is the one that may fail over.
        let Some(invite) = msgs().find(|m| {
            initial_invite(m)
                && m.src.ip() == r.dst.ip()
                && m.dst.ip() == r.src.ip()
                && m.ts_ns <= r.ts_ns
        }) else {
            continue;
        };
        dead.push(Dead {
            host: invite.src.ip(),
            target: invite.dst,
            since: invite.ts_ns,
            what: format!("answered {} (frame {})", r.label(), r.frame),
            fix: format!("{} is out of service or overloaded: check it", invite.dst),
            frames: vec![invite.frame, r.frame],
        });
    }
    dead.sort_by_key(|d| d.since);
    dead
}

fn initial_invite(m: &Message) -> bool {
    m.method() == Some(&Method::Invite) && m.to_tag.is_none()
}

pub(crate) fn check(f: &CallFacts<'_>, linked: &[&TransportEvent]) -> Option<(Finding, Failover)> {
    let dead = dead_targets(f, linked);
    let msgs = || f.call.messages.iter().map(|s| &*s.msg);
    for d in &dead {
        let tried = |t: SocketAddr| dead.iter().any(|x| x.host == d.host && x.target == t);
        // The target that answered: an INVITE from the same host to a target that was not dead,
        // after the first attempt, and its first response.
        let Some((next, answered)) = msgs()
            .filter(|m| {
                initial_invite(m) && m.src.ip() == d.host && m.ts_ns > d.since && !tried(m.dst)
            })
            .find_map(|m| {
                let responses = || {
                    msgs().filter(|r| {
                        r.status().is_some()
                            && r.cseq_method() == Some(&Method::Invite)
                            && r.src.ip() == m.dst.ip()
                            && r.dst.ip() == d.host
                            && r.ts_ns >= m.ts_ns
                    })
                };
                // Its first word beyond 100 Trying says most (ringing, answer, rejection).
                responses()
                    .find(|r| r.status() != Some(StatusCode(100)))
                    .or_else(|| responses().next())
                    .map(|r| (m, r))
            })
        else {
            continue;
        };
        let all: Vec<&Dead> = dead.iter().filter(|x| x.host == d.host).collect();
        let tried_first = all
            .iter()
            .map(|x| format!("{} ({})", x.target, x.what))
            .collect::<Vec<_>>()
            .join(", then ");
        let waited_ms = (next.ts_ns - d.since) as f64 / 1e6;
        let mut frames: Vec<u64> = all.iter().flat_map(|x| x.frames.iter().copied()).collect();
        frames.extend([f.invite.frame, next.frame, answered.frame]);
        let caller = match f.first_progress() {
            Some(p) => {
                frames.push(p.frame);
                let heard = if p.status().is_some_and(StatusCode::is_success) {
                    "the answer"
                } else {
                    "ringing"
                };
                format!(
                    "the caller waited {} for {heard} (INVITE frame {} → {} frame {})",
                    words::duration_ns(f.invite.ts_ns, p.ts_ns),
                    f.invite.frame,
                    p.label(),
                    p.frame
                )
            }
            None => "the caller never got a ringing or an answer".to_string(),
        };
        let timer = if waited_ms >= 1000.0 {
            format!(
                ", and shorten {}'s failover timer (each call waits {} for it now)",
                d.host,
                words::duration_ms(waited_ms)
            )
        } else {
            String::new()
        };
        let fixes = all
            .iter()
            .map(|x| x.fix.as_str())
            .collect::<Vec<_>>()
            .join("; ");
        let finding = Finding {
            code: "sip.failover",
            severity: Severity::Warning,
            summary: format!(
                "failover: {} first tried {tried_first}; {} after its first attempt it sent the INVITE to {} (frame {}), which answered {} (frame {}); {caller}",
                d.host,
                words::duration_ms(waited_ms),
                next.dst,
                next.frame,
                answered.label(),
                answered.frame
            ),
            cause: format!(
                "a dead member in {}'s pool: {} did not take the call and {} kept choosing it — take it out of rotation until it is fixed, let {} probe its targets (SIP OPTIONS health checks) so that it stops choosing a dead one{timer}; {fixes}",
                d.host, d.target, d.host, d.host
            ),
            frames: sorted(frames),
            ts_ns: d.since,
        };
        let failover = Failover {
            host: d.host,
            target: d.target,
            waited_ms,
        };
        return Some((finding, failover));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::rules::testkit::*;

    /// The caller's INVITE to the proxy, relayed over UDP to APP (never answered) and after 5 s to
    /// APP2, which rings and answers.
    fn udp_failover() -> Vec<Message> {
        let mut m = vec![
            req(3, 0.0, CALLER, PROXY, Method::Invite, 1).sdp(CALLER_RTP),
            resp(4, 1.4, PROXY, CALLER, 100, Method::Invite, 1),
        ];
        for (frame, ms) in [(7, 1.9), (8, 494.7), (9, 1494.6), (10, 3494.7)] {
            m.push(req(frame, ms, PROXY, APP, Method::Invite, 1).sdp(CALLER_RTP));
        }
        m.extend([
            req(13, 4996.0, PROXY, APP2, Method::Invite, 1).sdp(CALLER_RTP),
            resp(14, 4997.3, APP2, PROXY, 100, Method::Invite, 1),
            resp(15, 4998.4, APP2, PROXY, 180, Method::Invite, 1),
            resp(16, 4998.6, PROXY, CALLER, 180, Method::Invite, 1),
            resp(19, 5803.6, APP2, PROXY, 200, Method::Invite, 1).sdp("192.0.2.32:20000"),
            resp(20, 5803.9, PROXY, CALLER, 200, Method::Invite, 1).sdp("192.0.2.32:20000"),
            req(21, 5804.3, CALLER, PROXY, Method::Ack, 1),
        ]);
        m
    }

    #[test]
    fn udp_invites_unanswered_then_another_target_answering_is_a_failover() {
        let d = World::new(udp_failover()).build().diagnose();
        assert_eq!(codes(&d, 0), ["sip.failover", "sip.no_response"]);
        let f = &d.calls[0][0];
        assert_eq!(f.severity, Severity::Warning);
        assert_eq!(f.summary, "failover: 192.0.2.20 first tried 192.0.2.31:5060 (INVITE sent 4 times over 3.5 s (UDP), no response); 5.0 s after its first attempt it sent the INVITE to 192.0.2.32:5060 (frame 13), which answered 180 Ringing (frame 15); the caller waited 5.0 s for ringing (INVITE frame 3 → 180 Ringing frame 16)");
        assert_eq!(f.frames, [3, 7, 8, 9, 10, 13, 15, 16]);
        assert!(f.cause.contains("take it out of rotation"), "{}", f.cause);
        assert!(
            f.cause
                .contains("shorten 192.0.2.20's failover timer (each call waits 5.0 s for it now)"),
            "{}",
            f.cause
        );
        assert!(
            f.cause
                .contains("allow inbound UDP 5060 from 192.0.2.20 on 192.0.2.31's firewall"),
            "{}",
            f.cause
        );
    }

    #[test]
    fn unanswered_syns_then_another_target_over_tcp_is_a_failover() {
        let m = vec![
            req(3, 0.0, CALLER, PROXY, Method::Invite, 1).sdp(CALLER_RTP),
            resp(4, 2.7, PROXY, CALLER, 100, Method::Invite, 1),
            req(19, 5978.0, "192.0.2.20:56694", APP2, Method::Invite, 1)
                .sdp(CALLER_RTP)
                .tcp(),
            resp(22, 5979.4, APP2, "192.0.2.20:56694", 180, Method::Invite, 1).tcp(),
            resp(24, 5982.5, PROXY, CALLER, 180, Method::Invite, 1),
            resp(25, 6784.0, APP2, "192.0.2.20:56694", 200, Method::Invite, 1)
                .sdp("192.0.2.32:20000")
                .tcp(),
            resp(26, 6784.2, PROXY, CALLER, 200, Method::Invite, 1).sdp("192.0.2.32:20000"),
            req(27, 6784.4, CALLER, PROXY, Method::Ack, 1),
        ];
        let mut w = World::new(m);
        w.syns(
            "192.0.2.20:48742",
            APP,
            &[(7, 3.0), (8, 1030.0), (12, 5126.0), (68, 7142.0)],
        )
        .handshake(17, 5977.9, "192.0.2.20:56694", APP2)
        .mark_sip("192.0.2.20:56694", APP2);
        let d = w.build().diagnose();
        assert_eq!(codes(&d, 0), ["sip.failover", "tcp.syn_unanswered"]);
        assert!(d.calls[0].iter().all(|f| f.severity == Severity::Warning));
        let f = &d.calls[0][0];
        assert!(f.summary.starts_with("failover: 192.0.2.20 first tried 192.0.2.31:5060 (TCP from 192.0.2.20 to 192.0.2.31:5060: 4 SYNs over 7.1 s"), "{}", f.summary);
        assert!(f.summary.ends_with("6.0 s after its first attempt it sent the INVITE to 192.0.2.32:5060 (frame 19), which answered 180 Ringing (frame 22); the caller waited 6.0 s for ringing (INVITE frame 3 → 180 Ringing frame 24)"), "{}", f.summary);
        assert_eq!(f.frames, [3, 7, 8, 12, 19, 22, 24, 68]);
        assert!(
            f.cause
                .contains("allow inbound TCP 5060 from 192.0.2.20 on 192.0.2.31's firewall"),
            "{}",
            f.cause
        );
    }

    #[test]
    fn a_503_then_another_target_is_a_failover_without_a_timer() {
        let m = vec![
            req(3, 0.0, CALLER, PROXY, Method::Invite, 1).sdp(CALLER_RTP),
            req(5, 1.0, PROXY, APP, Method::Invite, 1).sdp(CALLER_RTP),
            resp(6, 3.0, APP, PROXY, 503, Method::Invite, 1),
            req(7, 4.0, PROXY, APP, Method::Ack, 1),
            req(8, 5.0, PROXY, APP2, Method::Invite, 1).sdp(CALLER_RTP),
            resp(9, 6.0, APP2, PROXY, 180, Method::Invite, 1),
            resp(10, 6.5, PROXY, CALLER, 180, Method::Invite, 1),
        ];
        let b = World::new(m).build();
        let (f, failover) = check(&b.facts(0), &[]).expect("a failover");
        assert!(
            f.summary.contains(
                "first tried 192.0.2.31:5060 (answered 503 Service Unavailable (frame 6))"
            ),
            "{}",
            f.summary
        );
        assert!(!f.cause.contains("failover timer"), "{}", f.cause);
        assert_eq!(failover.target.to_string(), APP);
        assert_eq!(failover.host.to_string(), "192.0.2.20");
    }

    #[test]
    fn calls_failing_over_from_the_same_dead_target_are_one_pattern() {
        let mut m = Vec::new();
        for call in 0..3u64 {
            let id = format!("call-{call}");
            m.extend(udp_failover().into_iter().map(|mut msg| {
                msg.frame += call * 100;
                msg.ts_ns += i64::try_from(call).expect("small") * 9_000_000_000;
                msg.call_id(&id)
            }));
        }
        let d = World::new(m).build().diagnose();
        assert_eq!(d.patterns.len(), 1);
        let p = &d.patterns[0];
        assert_eq!(
            (p.code, p.calls.as_slice()),
            ("sip.failover", &[0, 1, 2][..])
        );
        assert_eq!(p.target.to_string(), APP);
        assert_eq!(p.summary, "3 calls (#1, #2, #3) failed over from the same dead target: 192.0.2.20 tried 192.0.2.31:5060 first in each and waited up to 5.0 s before trying another");
    }

    #[test]
    fn a_dead_target_and_nothing_else_is_no_failover() {
        let mut m = udp_failover();
        m.truncate(6);
        let b = World::new(m).build();
        assert_eq!(check(&b.facts(0), &[]), None);
    }
}
