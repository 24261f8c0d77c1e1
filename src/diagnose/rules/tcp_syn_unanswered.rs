//! Rule: tcp.syn_unanswered
//!
//! **Trigger**: a TCP connection attempt (any port) whose SYN was sent at least twice (the first SYN
//! and a retransmission) and never answered: no SYN-ACK, no RST (Zeek state `S0`). One SYN alone is
//! not enough: the capture may simply have ended before the answer.
//!
//! **Evidence**: every SYN (first and retransmissions), with the attempt count and the time from the
//! first to the last SYN. Linked to a call (see `diagnose::link`) when the SYNs are on the call's own
//! signalling path, or when the client is a host that held the call's INVITE and was trying its next
//! hop (the proxy's SYNs behind a 504/408): then this is the call's primary finding. When that host got the
//! address from DNS (an answered lookup while it held the INVITE), the answer is named and is evidence too.
//!
//! **Cause**: a firewall on or in front of the server silently drops inbound connections to the
//! listening port (a closed port would answer RST: `tcp.syn_refused`), or the server is down/absent
//! with nothing answering for its address.
//!
//! **False positives**: asymmetric routing where the SYN-ACK returns by a path the capture does not
//! see; a capture filter that only kept one direction; a capture taken on the client before a NAT
//! that answers elsewhere. Check that other connections in the capture show both directions.

use super::failed_attempt;
use crate::correlate::transport::{ConnState, Connection};
use crate::diagnose::TransportEvent;
use crate::words;

/// The unanswered connection attempt, if this connection is one.
pub(crate) fn check(conn: &Connection) -> Option<TransportEvent> {
    if conn.state != ConnState::S0 || conn.syn_count < 2 || conn.syns.is_empty() {
        return None;
    }
    let first = *conn.syns.first()?;
    let last = *conn.syns.last()?;
    let (server, client) = (conn.server, conn.client);
    let port = server.port();
    // `7 SYNs over 7.1 s`, in the summary and again in the cause.
    let syns = format!(
        "{} over {}",
        words::plural(u64::from(conn.syn_count), "SYN"),
        words::duration_ns(first.ts_ns, last.ts_ns),
    );
    let summary = format!(
        "TCP from {} to {server}: {syns}, never answered (no SYN-ACK, no RST)",
        client.ip(),
    );
    let cause = format!(
        "the listening port is filtered: allow inbound TCP {port} from {} on {}'s firewall (host firewall and any network firewall in between), and check that the service listens there; {} got no SYN-ACK to {syns}",
        client.ip(),
        server.ip(),
        client.ip(),
    );
    Some(failed_attempt(
        conn,
        first,
        "tcp.syn_unanswered",
        summary,
        cause,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::rules::testkit::*;

    const C: &str = "192.0.2.20:41438";

    fn one(w: &mut World) -> Option<TransportEvent> {
        let b = w.build();
        assert_eq!(b.connections.len(), 1);
        check(&b.connections[0])
    }

    #[test]
    fn seven_unanswered_syns_name_the_port_and_the_firewall() {
        let ev = one(World::new(vec![]).syns(
            C,
            APP,
            &[
                (7, 1.3),
                (8, 1002.0),
                (9, 2026.0),
                (10, 3050.0),
                (11, 4074.0),
                (14, 5098.0),
                (15, 7118.0),
            ],
        ))
        .expect("a finding");
        assert_eq!(ev.attempts, 7);
        assert_eq!(ev.frames, vec![7, 8, 9, 10, 11, 14, 15]);
        assert_eq!(ev.first_frame, 7);
        assert_eq!(
            ev.summary,
            "TCP from 192.0.2.20 to 192.0.2.31:5060: 7 SYNs over 7.1 s, never answered (no SYN-ACK, no RST)"
        );
        assert!(ev
            .cause
            .contains("allow inbound TCP 5060 from 192.0.2.20 on 192.0.2.31's firewall"));
    }

    #[test]
    fn a_syn_retransmission_then_success_is_fine() {
        let mut w = World::new(vec![]);
        w.syns(C, APP, &[(1, 0.0), (2, 1000.0)]).seg(
            3,
            1000.2,
            APP,
            C,
            crate::correlate::transport::flags::SYN | crate::correlate::transport::flags::ACK,
            0,
        );
        assert_eq!(one(&mut w), None);
    }

    #[test]
    fn a_single_syn_at_the_end_of_the_capture_is_not_enough() {
        assert_eq!(one(World::new(vec![]).syns(C, APP, &[(1, 0.0)])), None);
    }

    #[test]
    fn a_refused_attempt_is_not_unanswered() {
        let mut w = World::new(vec![]);
        w.syns(C, APP, &[(1, 0.0), (2, 1000.0)]).seg(
            3,
            1000.1,
            APP,
            C,
            crate::correlate::transport::flags::RST | crate::correlate::transport::flags::ACK,
            0,
        );
        assert_eq!(one(&mut w), None);
    }
}
