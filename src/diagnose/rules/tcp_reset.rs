//! Rule: tcp.reset
//!
//! **Trigger**: an established TCP connection that carried SIP (Zeek `RSTO`/`RSTR`, or a midstream
//! connection with a RST) is reset while a call on it was still in progress: a request of the call
//! had been sent over the connection and its final response had not been seen before the RST, or the
//! call was answered and its BYE transaction had not completed. A RST after every call on the
//! connection ended is normal housekeeping and gives no finding, and so is a RST in a call's teardown
//! (from its BYE to 2 s after the BYE's 2xx) for that call, even if it came before the 2xx (which then
//! went over another connection); the teardown is the call's fact (`facts::Teardown`).
//!
//! **Evidence**: the RST (who sent it), the handshake, and the pending request; linked to the calls
//! that were in progress on the connection.
//!
//! **Cause**: the peer or a middlebox killed the connection: a crash or restart of the peer, a
//! firewall/NAT idle timeout shorter than the SIP keep-alive interval, a connection limit, or a
//! protocol error the peer rejected.
//!
//! **False positives**: a peer that closes idle connections with RST instead of FIN while the dialog
//! itself is healthy (the next request then opens a new connection): warning, not error, unless a
//! transaction was pending.

use crate::correlate::message::{Method, Transport};
use crate::correlate::transport::{ConnState, Connection};
use crate::diagnose::facts::CallFacts;
use crate::diagnose::{Severity, TransportEvent};
use crate::proto::sip::StatusCode;

/// A request of the call on this connection with no final response before `ts`: its frame and label.
fn pending_request(f: &CallFacts<'_>, conn: &Connection, ts: i64) -> Option<(u64, String)> {
    let on_conn = |m: &&crate::correlate::message::Message| {
        m.transport == Transport::Tcp
            && ((m.src == conn.client && m.dst == conn.server)
                || (m.src == conn.server && m.dst == conn.client))
    };
    let msgs: Vec<_> = f
        .call
        .messages
        .iter()
        .map(|s| &*s.msg)
        .filter(|m| m.ts_ns <= ts)
        .collect();
    msgs.iter()
        .copied()
        .filter(on_conn)
        .filter(|m| m.method().is_some_and(|x| *x != Method::Ack))
        .find(|req| {
            !msgs.iter().any(|r| {
                r.status().is_some_and(StatusCode::is_final)
                    && r.cseq == req.cseq
                    && r.ts_ns >= req.ts_ns
            })
        })
        .map(|m| (m.frame, m.label()))
}

/// The reset, with the calls it hit (`calls` filled), if it hit any.
pub(crate) fn check(conn: &Connection, facts: &[CallFacts<'_>]) -> Option<TransportEvent> {
    let rst = conn.rst?;
    let (rst_frame, rst_ts, by_client) = (rst.at.frame, rst.at.ts_ns, rst.by_client);
    let established = matches!(conn.state, ConnState::Rsto | ConnState::Rstr)
        || (conn.state == ConnState::Oth && conn.packets > 1);
    if !conn.sip || !established {
        return None;
    }
    let uses_conn = |f: &CallFacts<'_>| {
        f.call.messages.iter().any(|s| {
            s.msg.transport == Transport::Tcp
                && ((s.msg.src == conn.client && s.msg.dst == conn.server)
                    || (s.msg.src == conn.server && s.msg.dst == conn.client))
        })
    };
    let mut calls = Vec::new();
    let mut pending: Option<(u64, String)> = None;
    // A reset in a call's teardown is how its connection went away as the call ended.
    let ending = |f: &CallFacts<'_>| f.teardown.is_some_and(|t| t.span.holds(rst_ts, rst_ts));
    for f in facts
        .iter()
        .filter(|f| uses_conn(f) && f.call.start_ts_ns <= rst_ts && !ending(f))
    {
        let p = pending_request(f, conn, rst_ts);
        let dialog_up = f.answer_msg.is_some_and(|a| a.ts_ns <= rst_ts)
            && !f
                .call
                .messages
                .iter()
                .any(|s| s.msg.ts_ns <= rst_ts && s.msg.is_final_response_to(&Method::Bye));
        if p.is_some() || dialog_up {
            calls.push(f.index);
            if pending.is_none() {
                pending = p;
            }
        }
    }
    if calls.is_empty() {
        return None;
    }
    let (who, other) = if by_client {
        (conn.client, conn.server)
    } else {
        (conn.server, conn.client)
    };
    let state = match &pending {
        Some((frame, label)) => {
            format!("while the {label} of frame {frame} still awaited its final response")
        }
        None => "while a call on it was still up (its BYE had not completed)".to_string(),
    };
    let mut frames = conn.evidence_frames();
    frames.extend(pending.as_ref().map(|(f, _)| *f));
    frames.sort_unstable();
    frames.dedup();
    Some(TransportEvent {
        code: "tcp.reset",
        severity: if pending.is_some() {
            Severity::Error
        } else {
            Severity::Warning
        },
        src: conn.client,
        dst: conn.server,
        proto: if conn.tls.is_some() {
            Transport::Tls
        } else {
            Transport::Tcp
        },
        attempts: 1,
        first_frame: rst_frame,
        frames,
        ts_ns: rst_ts,
        summary: format!(
            "SIP connection {} ↔ {} reset by {who} (RST in frame {rst_frame}) {state}",
            conn.client, conn.server
        ),
        cause: format!(
            "{who} or a middlebox between it and {other} killed the connection: check {who} for a crash or restart at that time, firewall/NAT idle timeouts shorter than the SIP keep-alive interval, and TCP connection limits"
        ),
        calls,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::correlate::transport::flags;
    use crate::diagnose::rules::testkit::*;

    fn tcp_call(with_bye: bool, rst_ms: f64) -> (Built, Option<TransportEvent>) {
        let mut msgs: Vec<_> = answered(with_bye.then_some(3000.0))
            .into_iter()
            .map(Build::tcp)
            .collect();
        if !with_bye {
            // The caller's re-INVITE is pending when the RST comes.
            msgs.push(req(50, 2000.0, CALLER, APP, Method::Invite, 3).tcp());
        }
        let mut w = World::new(msgs);
        w.handshake(100, -10.0, CALLER, APP)
            .mark_sip(CALLER, APP)
            .seg(200, rst_ms, APP, CALLER, flags::RST | flags::ACK, 0);
        let b = w.build();
        let facts: Vec<_> = (0..b.finished.len()).map(|i| b.facts(i)).collect();
        let ev = check(&b.connections[0], &facts);
        (b, ev)
    }

    #[test]
    fn reset_with_a_pending_request_is_an_error() {
        let (_, ev) = tcp_call(false, 2500.0);
        let ev = ev.expect("a finding");
        assert_eq!(ev.severity, Severity::Error);
        assert_eq!(ev.calls, vec![0]);
        assert!(ev.summary.contains("reset by 192.0.2.31:5060"));
        assert!(ev.summary.contains("INVITE of frame 50"), "{}", ev.summary);
        assert!(ev.frames.contains(&200) && ev.frames.contains(&50));
    }

    #[test]
    fn reset_after_a_completed_call_is_fine() {
        let (b, ev) = tcp_call(true, 5000.0);
        assert_eq!(ev, None);
        assert!(b.diagnose().transport_events.is_empty());
    }

    #[test]
    fn reset_between_the_bye_and_its_2xx_is_the_calls_end() {
        // BYE at 3 s, RST at 3.0005 s, the BYE's 200 at 3.001 s: the call ended normally.
        let (b, ev) = tcp_call(true, 3000.5);
        assert_eq!(ev, None);
        assert!(!codes(&b.diagnose(), 0).contains(&"tcp.reset"));
    }

    #[test]
    fn reset_while_the_call_is_up_is_a_warning() {
        let (_, ev) = tcp_call(true, 2000.0);
        assert_eq!(ev.expect("a finding").severity, Severity::Warning);
    }
}
