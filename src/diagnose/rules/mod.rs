//! The rules, one file each (`<code with . → _>.rs`), and the order they run in.
//!
//! Transport rules look at a connection or a group of ICMP errors and produce a [`Failure`] that
//! `link` may tie to a call; call rules look at one call's [`CallFacts`] (and the transport events
//! linked to it).

use super::facts::CallFacts;
use super::link::{Failure, Via};
use super::{Finding, Severity, TransportEvent};
use crate::correlate::message::Transport;
use crate::correlate::transactions::{self, Transaction};
use crate::correlate::transport::{At, Connection, IcmpGroup};

pub(crate) mod dns_failed;
pub(crate) mod icmp_unreachable;
pub(crate) mod ip_fragments_lost;
pub(crate) mod media_codec_mismatch;
pub(crate) mod media_dead_air;
pub(crate) mod media_dropped_after_answer;
pub(crate) mod media_fax_failed;
pub(crate) mod media_ice_failed;
pub(crate) mod media_none;
pub(crate) mod media_one_way;
pub(crate) mod media_poor_quality;
pub(crate) mod media_stopped;
pub(crate) mod media_unexpected_address;
pub(crate) mod sip_ack_missing;
pub(crate) mod sip_failover;
pub(crate) mod sip_keepalive_failed;
pub(crate) mod sip_no_response;
pub(crate) mod sip_registration_failed;
pub(crate) mod sip_rejected;
pub(crate) mod sip_session_expired;
pub(crate) mod sip_slow_setup;
pub(crate) mod sip_timeout;
pub(crate) mod tcp_reset;
pub(crate) mod tcp_syn_refused;
pub(crate) mod tcp_syn_unanswered;
pub(crate) mod tls_certificate;
pub(crate) mod tls_handshake_failed;

#[cfg(test)]
pub(crate) mod testkit;

/// The failure a connection shows, if any; `facts` are the calls a reset could have hit.
pub(crate) fn connection_failure(conn: &Connection, facts: &[CallFacts<'_>]) -> Option<Failure> {
    let tcp = tcp_syn_unanswered::check(conn)
        .or_else(|| tcp_syn_refused::check(conn))
        .or_else(|| tls_certificate::check(conn))
        .or_else(|| tls_handshake_failed::check(conn));
    match tcp {
        Some(event) => Some(Failure {
            event,
            via: Via::Tcp,
        }),
        None => tcp_reset::check(conn, facts).map(|event| Failure {
            event,
            via: Via::Reset,
        }),
    }
}

/// The failure a group of ICMP errors shows.
pub(crate) fn icmp_failure(group: &IcmpGroup) -> Failure {
    let (event, via) = icmp_unreachable::check(group);
    Failure { event, via }
}

/// The event of a TCP connection attempt that failed (`tcp.syn_unanswered`, `tcp.syn_refused`): an
/// error from the client to the server, over TLS when the connection showed TLS or went to port 5061,
/// counting its SYNs as attempts, from its first SYN (`first`) with the connection's evidence frames.
fn failed_attempt(
    conn: &Connection,
    first: At,
    code: &'static str,
    summary: String,
    cause: String,
) -> TransportEvent {
    TransportEvent {
        code,
        severity: Severity::Error,
        src: conn.client,
        dst: conn.server,
        proto: if conn.tls.is_some() || conn.server.port() == 5061 {
            Transport::Tls
        } else {
            Transport::Tcp
        },
        attempts: conn.syn_count,
        first_frame: first.frame,
        frames: conn.evidence_frames(),
        ts_ns: first.ts_ns,
        summary,
        cause,
        calls: Vec::new(),
    }
}

/// The findings of a non-INVITE transaction (a call's, or one outside calls).
pub(crate) fn transaction_findings(tx: &Transaction) -> Vec<Finding> {
    sip_rejected::transaction(tx)
        .into_iter()
        .chain(sip_no_response::transaction(tx))
        .collect()
}

/// What the call rules found in one call.
pub(crate) struct CallFindings {
    pub findings: Vec<Finding>,
    /// The failover the call went through, for the patterns across calls.
    pub failover: Option<sip_failover::Failover>,
}

/// Runs the call rules on one call; `linked` are the transport events already tied to it.
pub(crate) fn call_findings(f: &CallFacts<'_>, linked: &[&TransportEvent]) -> CallFindings {
    let mut out: Vec<Finding> = Vec::new();
    out.extend(ip_fragments_lost::check(f, linked));
    out.extend(sip_no_response::check(f, linked));
    out.extend(sip_timeout::check(f, linked));
    out.extend(sip_rejected::check(f, linked));
    // The call's other transactions (PRACK, REFER, UPDATE, INFO, NOTIFY, ...), judged as those outside
    // calls are.
    for tx in transactions::of_call(f.call.messages.iter().map(|s| &s.msg), f.index) {
        out.extend(transaction_findings(&tx));
    }
    out.extend(sip_session_expired::check(f));
    out.extend(sip_ack_missing::check(f));
    // A failover explains a slow setup: only a slow setup without one is `sip.slow_setup`.
    let failover = match sip_failover::check(f, linked) {
        Some((finding, failover)) => {
            out.push(finding);
            Some(failover)
        }
        None => {
            out.extend(sip_slow_setup::check(f));
            None
        }
    };
    let dropped = media_dropped_after_answer::check(f);
    out.extend(media_none::check(f));
    out.extend(media_one_way::check(f));
    out.extend(dropped);
    out.extend(media_stopped::check(f));
    out.extend(media_dead_air::check(f));
    out.extend(media_unexpected_address::check(f));
    out.extend(media_ice_failed::check(f));
    out.extend(media_fax_failed::check(f));
    out.extend(media_codec_mismatch::check(f));
    out.extend(media_poor_quality::check(f));
    CallFindings {
        findings: out,
        failover,
    }
}
