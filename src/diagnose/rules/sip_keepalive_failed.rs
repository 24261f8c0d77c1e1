//! Rule: sip.keepalive_failed
//!
//! **Trigger**: a SIP peer pair (client host → server endpoint) whose keep-alives failed at least
//! [`MIN_FAILED`] times: OPTIONS never answered (Timer F) or answered with an error that says the peer is
//! not serving (5xx but 501, 6xx, 408, 480), and connection attempts to a SIP port that no call claimed
//! and that were refused (RST) or never answered (SYNs without SYN-ACK): the connection a sender opens
//! to ping its peer. Judged on one row of the peer table (the pair's activity until it went quiet for
//! `peers::PAIR_IDLE_NS`, or the capture ended). An error when the last probe failed (the peer is down
//! at the end of the row), a warning when it answered again.
//!
//! **Evidence**: the failed probes by kind (how many, first and last frame, the time between), the
//! longest run of failures in a row, the last probe answered, the SYN, RST and ICMP frames.
//!
//! **Cause**: how a Lync/SfB pool, a Teams Direct Routing SBC, a dispatcher or a trunk decides its next
//! hop is down: a firewall dropping SIP or the SYNs to the peer's listening port (no answer, no
//! SYN-ACK: for MTLS to a trusted application, port 5061), nothing listening (RST), or the peer
//! answering but failing (5xx). RFC 5626 flow keep-alives count as probes too: a double-CRLF ping on a
//! SIP connection with no CRLF pong, a STUN Binding request on a SIP UDP flow with no response (before
//! the next ping on the flow, or within 10 s: `peers::PONG_WAIT_NS`); the peer is up for SIP but does
//! not keep the flow alive.
//!
//! **False positives**: OPTIONS answered by a proxy in front of a dead server look healthy; a peer that
//! answers OPTIONS with 404/405 is counted as up (it answered); connection attempts from a client that
//! was not pinging (a one-off connection failure) count only when repeated.

use crate::correlate::peers::{Peer, Probe, ProbeFailures};
use crate::diagnose::{Finding, Severity};
use crate::words;

/// Failed probes that make a pair's keep-alives failed ("repeatedly").
pub(crate) const MIN_FAILED: u32 = 2;

fn what(run: &ProbeFailures, peer: &Peer) -> String {
    let server = peer.server;
    let client = peer.client;
    let n = run.count;
    let span = if n > 1 {
        format!(
            " from frame {} to frame {} ({})",
            run.first.frame,
            run.last.frame,
            words::duration_ns(run.first.ts_ns, run.last.ts_ns)
        )
    } else {
        format!(" at frame {}", run.first.frame)
    };
    match run.probe {
        Probe::Unanswered => format!("{n} OPTIONS from {client} to {server} never answered{span}"),
        Probe::Error(s) => format!("{n} OPTIONS from {client} to {server} answered {s}{span}"),
        Probe::Refused => format!(
            "{n} connection attempts from {client} to {server} refused (RST: nothing listens){span}"
        ),
        Probe::NoSynAck => {
            format!("{n} connection attempts from {client} to {server} got no SYN-ACK{span}")
        }
        Probe::NoPong => format!(
            "{n} double-CRLF keep-alive pings from {client} to {server} got no CRLF pong{span}"
        ),
        Probe::StunUnanswered => format!(
            "{n} STUN Binding keep-alives from {client} to {server} on the SIP flow never answered{span}"
        ),
        Probe::Ok => String::new(),
    }
}

fn cause(probe: Probe, peer: &Peer) -> String {
    let server = peer.server;
    let client = peer.client;
    let port = server.port();
    match probe {
        Probe::Unanswered => format!(
            "the OPTIONS never reach {server} or its answers never come back: a firewall drops SIP between them (allow UDP/TCP {port} from {client} on {}'s firewall), the host is down, or its SIP service is stopped",
            server.ip()
        ),
        Probe::Error(_) => format!(
            "{server} answers but is not serving (overloaded, in maintenance, or its own next hops are down): check its logs and its state"
        ),
        Probe::Refused => format!(
            "nothing listens on {server} (the SIP service is down, or listens on another port or address): start it or correct the next hop's port"
        ),
        Probe::NoSynAck => format!(
            "a firewall silently drops the connection to {server} (inbound TCP {port} from {client}), or the host is down{}",
            if port == 5061 {
                "; for MTLS to a trusted application or SBC, allow TCP 5061 on the application's firewall"
            } else {
                ""
            }
        ),
        Probe::NoPong => format!(
            "{server} keeps the connection but does not answer RFC 5626 keep-alives (a double CRLF must be answered by a CRLF, §4.4.1): the client takes the flow for dead and reconnects or re-registers; enable CRLF keep-alive answers on {server} (kamailio answers them by default, tcp_crlf_ping), or make the client ping with OPTIONS instead"
        ),
        Probe::StunUnanswered => format!(
            "{server} does not answer STUN Binding requests on its SIP port (RFC 5626 §4.4.2, outbound flows over UDP): the client takes the flow for dead and re-registers; enable STUN on the SIP port of {server} (kamailio: the stun module), or have the client use CRLF over TCP or OPTIONS"
        ),
        Probe::Ok => String::new(),
    }
}

pub(crate) fn check(peer: &Peer) -> Option<Finding> {
    let k = peer.keepalive();
    if k.failed < MIN_FAILED {
        return None;
    }
    let down = k.down();
    let mut runs: Vec<&ProbeFailures> = k.failures.iter().collect();
    runs.sort_by_key(|r| std::cmp::Reverse(r.count));
    let main = runs.first()?;
    let list = runs
        .iter()
        .map(|r| what(r, peer))
        .collect::<Vec<_>>()
        .join("; ");
    // A peer that answers SIP but not the flow keep-alives is up, only its flows are not kept alive.
    let flow = matches!(k.last, Some((_, Probe::NoPong | Probe::StunUnanswered)));
    let state = if down && flow {
        format!(
            "{} of {} probes failed, the last {} in a row: {} does not keep its SIP flows alive",
            k.failed, k.probes, k.consecutive, peer.server
        )
    } else if down {
        format!(
            "{} of {} probes failed, the last {} in a row: {} is down for its sender",
            k.failed, k.probes, k.consecutive, peer.server
        )
    } else {
        format!(
            "{} of {} probes failed (at most {} in a row), then it answered again{}",
            k.failed,
            k.probes,
            k.max_consecutive,
            k.last_ok
                .map(|a| format!(" (frame {})", a.frame))
                .unwrap_or_default()
        )
    };
    let mut frames: Vec<u64> = runs.iter().flat_map(|r| r.frames.iter().copied()).collect();
    frames.extend(peer.transport_frames.iter().copied());
    frames.sort_unstable();
    frames.dedup();
    Some(Finding {
        code: "sip.keepalive_failed",
        severity: if down {
            Severity::Error
        } else {
            Severity::Warning
        },
        summary: format!("{list}; {state}"),
        cause: cause(main.probe, peer),
        frames,
        ts_ns: runs.iter().map(|r| r.first.ts_ns).min().unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::correlate::message::Method;
    use crate::diagnose::rules::testkit::*;

    /// OPTIONS from the proxy to the app every 5 s: `answers` says which are answered 200.
    fn pings(answers: &[bool]) -> Vec<crate::correlate::message::Message> {
        let mut out = Vec::new();
        for (i, &ok) in answers.iter().enumerate() {
            let t = i as f64 * 5000.0;
            let n = i as u64 * 10 + 1;
            let m = req(n, t, PROXY, APP, Method::Options, n as u32).call_id(&format!("ping-{i}"));
            let branch = m.branch.clone();
            out.push(m);
            if ok {
                let mut r = resp(n + 1, t + 1.0, APP, PROXY, 200, Method::Options, n as u32)
                    .call_id(&format!("ping-{i}"));
                r.branch = branch;
                out.push(r);
            }
        }
        out
    }

    fn peer(answers: &[bool]) -> Peer {
        let mut msgs = pings(answers);
        msgs.push(req(999, 80_000.0, CALLER, APP2, Method::Bye, 1));
        let b = World::new(msgs).build();
        b.peers
            .into_iter()
            .find(|p| p.server == addr(APP))
            .expect("the pair")
    }

    #[test]
    fn answered_pings_are_no_finding() {
        assert_eq!(check(&peer(&[true, true, true])), None);
        assert_eq!(check(&peer(&[true, false, true])), None);
    }

    #[test]
    fn unanswered_pings_at_the_end_are_a_peer_down() {
        let f = check(&peer(&[true, false, false, false])).expect("a finding");
        assert_eq!(f.severity, Severity::Error);
        assert!(f.summary.starts_with("3 OPTIONS from 192.0.2.20 to 192.0.2.31:5060 never answered from frame 11 to frame 31 (10.0 s); 3 of 4 probes failed, the last 3 in a row"), "{}", f.summary);
        assert_eq!(f.frames, [11, 21, 31]);
    }

    #[test]
    fn a_peer_that_answers_again_is_a_warning() {
        let f = check(&peer(&[false, false, true])).expect("a finding");
        assert_eq!(f.severity, Severity::Warning);
        assert!(
            f.summary.contains("then it answered again (frame 21)"),
            "{}",
            f.summary
        );
    }
}
