//! Diagnosis: rules that look across layers (SIP, transport, media) and explain why each call failed
//! or degraded, with the frames that prove it.
//!
//! Takes the correlated model ([`Context`]: calls, TCP connections, ICMP errors, RTP streams, STUN
//! checks); produces [`Finding`]s per call, primary (most causal) first, and [`TransportEvent`]s for
//! transport failures, linked to the calls they explain where the capture allows. Never parses bytes.
//! One rule per file in `rules/`, each with its doc header and tests; codes are DESIGN.md's catalogue.

use std::net::SocketAddr;

use crate::correlate::calls::Call;
use crate::correlate::media::{Stream, StunCheck};
use crate::correlate::transport::{Connection, IcmpError};

/// How bad a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// The call failed.
    Error,
    /// The call worked but degraded.
    Warning,
    /// Worth knowing.
    Info,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

/// One diagnosis of one call.
#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    /// Stable dotted code from the catalogue, e.g. `tcp.syn_unanswered`.
    pub code: &'static str,
    pub severity: Severity,
    /// What happened, in a support engineer's words, with the hop (addresses) it happened on.
    pub summary: String,
    /// The likely cause and what to check or fix.
    pub cause: String,
    /// Evidence frames (1-based, as Wireshark numbers them), ascending.
    pub frames: Vec<u64>,
    /// When the evidence starts.
    pub ts_ns: i64,
}

/// A transport failure (TCP, TLS, ICMP), with the calls it explains (possibly none).
#[derive(Clone, Debug, PartialEq)]
pub struct TransportEvent {
    pub code: &'static str,
    pub severity: Severity,
    pub src: SocketAddr,
    pub dst: SocketAddr,
    /// `tcp`, `tls` or `udp`.
    pub proto: &'static str,
    /// Attempts (SYNs, retransmitted packets answered by ICMP, ...).
    pub attempts: u32,
    pub first_frame: u64,
    pub frames: Vec<u64>,
    pub ts_ns: i64,
    pub summary: String,
    pub cause: String,
    /// 0-based indexes of the calls it explains.
    pub calls: Vec<usize>,
}

/// Everything the rules look at.
#[derive(Clone, Copy, Debug)]
pub struct Context<'a> {
    pub calls: &'a [Call],
    pub connections: &'a [Connection],
    pub icmp: &'a [IcmpError],
    pub streams: &'a [Stream],
    pub stun: &'a [StunCheck],
}

/// The diagnosis of a capture.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Diagnosis {
    /// Per call (same order as `Context::calls`): findings, primary first.
    pub calls: Vec<Vec<Finding>>,
    /// Transport failures, by first frame.
    pub transport_events: Vec<TransportEvent>,
}

/// Runs every rule.
pub fn diagnose(ctx: &Context<'_>) -> Diagnosis {
    Diagnosis {
        calls: vec![Vec::new(); ctx.calls.len()],
        transport_events: Vec::new(),
    }
}
