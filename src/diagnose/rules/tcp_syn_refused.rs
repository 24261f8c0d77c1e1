//! Rule: tcp.syn_refused
//!
//! **Trigger**: a TCP connection attempt answered by a RST instead of a SYN-ACK (Zeek state `REJ`),
//! on any port.
//!
//! **Evidence**: the SYN(s) and the RST, with the time from the first SYN to the RST. Linked to a call
//! like `tcp.syn_unanswered` (own signalling path, or the next hop of a host that held the INVITE and
//! then answered 503/500/408/504): then it is the call's primary finding.
//!
//! **Cause**: nothing listens on that port — the service is down, crashed, not started, bound to
//! another address or port, or the caller/proxy is configured with the wrong port or transport. Some
//! firewalls also reject with RST instead of dropping.
//!
//! **False positives**: a RST from a middlebox or load balancer that has no healthy backend looks the
//! same (check the RST's TTL/MAC against the server's other packets); a port scanner's probes.

use super::failed_attempt;
use crate::correlate::transport::{ConnState, Connection};
use crate::diagnose::TransportEvent;
use crate::words;

/// The refused connection attempt, if this connection is one.
pub(crate) fn check(conn: &Connection) -> Option<TransportEvent> {
    if conn.state != ConnState::Rej {
        return None;
    }
    let first = *conn.syns.first()?;
    let rst = conn.rst?.at;
    let (server, client) = (conn.server, conn.client);
    let port = server.port();
    let summary = format!(
        "TCP from {} to {server}: {} answered by RST (frame {}) after {}: connection refused",
        client.ip(),
        words::plural(u64::from(conn.syn_count), "SYN"),
        rst.frame,
        words::duration_ns(first.ts_ns, rst.ts_ns),
    );
    let cause = format!(
        "nothing listens on {server}: check that the SIP service on {} is running and bound to TCP port {port} (and that {} is configured with the right port and transport)",
        server.ip(),
        client.ip(),
    );
    Some(failed_attempt(
        conn,
        first,
        "tcp.syn_refused",
        summary,
        cause,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::correlate::transport::flags;
    use crate::diagnose::rules::testkit::*;

    const C: &str = "192.0.2.20:50770";

    #[test]
    fn rst_to_syn_is_refused() {
        let b = World::new(vec![])
            .syns(C, APP, &[(7, 1.2)])
            .seg(8, 1.217, APP, C, flags::RST | flags::ACK, 0)
            .build();
        let ev = check(&b.connections[0]).expect("a finding");
        assert_eq!(ev.frames, vec![7, 8]);
        assert!(ev.summary.starts_with(
            "TCP from 192.0.2.20 to 192.0.2.31:5060: 1 SYN answered by RST (frame 8)"
        ));
        assert!(ev.cause.contains("nothing listens on 192.0.2.31:5060"));
    }

    #[test]
    fn rst_after_an_established_connection_is_not_a_refusal() {
        let b = World::new(vec![])
            .handshake(1, 0.0, C, APP)
            .seg(4, 5.0, APP, C, flags::RST | flags::ACK, 0)
            .build();
        assert_eq!(check(&b.connections[0]), None);
    }
}
