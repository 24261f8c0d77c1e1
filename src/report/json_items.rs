//! The JSON of what is SIP but not a call: registration bindings, peer pairs and the transactions
//! reported as themselves (the report's `registrations`, `peers` and `transactions`; see the wire
//! format in `json`'s module doc). Fields in alphabetical order, as the report's other objects.

use serde::Serialize;

use super::format::{self, Short};
use super::json::{finding, FindingJson};
use crate::correlate::peers::{MethodCounts, Peer, Pings, ProbeFailures};
use crate::correlate::registrations::{FailureRun, Registration};
use crate::correlate::transactions::Transaction;
use crate::correlate::transport::At;
use crate::diagnose::{Diagnosed, Finding};

fn findings(f: &[Finding]) -> Vec<FindingJson<'_>> {
    f.iter().map(finding).collect()
}

fn frame(at: Option<At>) -> Option<u64> {
    at.map(|a| a.frame)
}

#[derive(Serialize)]
pub(crate) struct RegistrationJson<'a> {
    aor: &'a str,
    attempts: u32,
    call_id: &'a str,
    challenges: u32,
    client: Short,
    contact: &'a str,
    end_ts: Short,
    expired_ts: Option<Short>,
    expires_ts: Option<Short>,
    failures: Vec<FailureJson<'a>>,
    findings: Vec<FindingJson<'a>>,
    first_frame: u64,
    granted_s: Option<u32>,
    last_frame: u64,
    registered_frame: Option<u64>,
    registrar: Short,
    removed_frame: Option<u64>,
    requested_s: Option<u32>,
    start_ts: Short,
    state: &'static str,
    successes: u32,
    transport: &'static str,
    user_agent: Option<&'a str>,
    username: Option<&'a str>,
}

#[derive(Serialize)]
struct FailureJson<'a> {
    asked_s: Option<u32>,
    count: u32,
    first_frame: u64,
    frames: &'a [u64],
    kind: &'static str,
    last_frame: u64,
    min_expires_s: Option<u32>,
    reason: &'a str,
    status: Option<u16>,
    transmissions: u32,
}

fn failure(f: &FailureRun) -> FailureJson<'_> {
    FailureJson {
        asked_s: f.asked,
        count: f.count,
        first_frame: f.first.frame,
        frames: &f.frames,
        kind: f.failure.as_str(),
        last_frame: f.last.frame,
        min_expires_s: f.min_expires,
        reason: &f.reason,
        status: f.status.map(|s| s.0),
        transmissions: f.transmissions,
    }
}

pub(crate) fn registration(d: &Diagnosed<Registration>) -> RegistrationJson<'_> {
    let r = &d.item;
    RegistrationJson {
        aor: &r.aor,
        attempts: r.attempts,
        call_id: &r.call_id,
        challenges: r.challenges,
        client: format::addr(r.client),
        contact: &r.contact,
        end_ts: format::stamp(r.last.ts_ns),
        expired_ts: r.expired_ts_ns.map(format::stamp),
        expires_ts: r.registered.map(|g| format::stamp(g.expires_ts_ns)),
        failures: r.failures.iter().map(failure).collect(),
        findings: findings(&d.findings),
        first_frame: r.first.frame,
        granted_s: r.registered.map(|g| g.granted),
        last_frame: r.last.frame,
        registered_frame: r.registered.map(|g| g.at.frame),
        registrar: format::addr(r.registrar),
        removed_frame: frame(r.removed),
        requested_s: r.requested,
        start_ts: format::stamp(r.first.ts_ns),
        state: r.state(),
        successes: r.successes,
        transport: r.transport.as_str(),
        user_agent: r.user_agent.as_deref(),
        username: r.username.as_deref(),
    }
}

#[derive(Serialize)]
pub(crate) struct PeerJson<'a> {
    client: Short,
    end_ts: Short,
    findings: Vec<FindingJson<'a>>,
    first_failure_frame: Option<u64>,
    icmp_errors: u32,
    keepalive: KeepAliveJson<'a>,
    last_failure_frame: Option<u64>,
    methods: Vec<MethodJson<'a>>,
    refused_connections: u32,
    server: Short,
    start_ts: Short,
    syn_unanswered_connections: u32,
    transport_frames: &'a [u64],
    transports: Vec<&'static str>,
}

#[derive(Serialize)]
struct MethodJson<'a> {
    last_status: Option<u16>,
    method: &'a str,
    ok: u32,
    rejected: u32,
    sent: u32,
    unanswered: u32,
}

fn method(m: &MethodCounts) -> MethodJson<'_> {
    MethodJson {
        last_status: m.counts.last_status.map(|s| s.0),
        method: m.method.as_str(),
        ok: m.counts.ok,
        rejected: m.counts.rejected,
        sent: m.counts.sent,
        unanswered: m.counts.unanswered,
    }
}

#[derive(Serialize)]
struct KeepAliveJson<'a> {
    consecutive_failed: u32,
    crlf_pings: PingsJson,
    down: bool,
    failed: u32,
    failures: Vec<ProbeFailuresJson<'a>>,
    last_ok_frame: Option<u64>,
    max_consecutive_failed: u32,
    probes: u32,
    stun_pings: PingsJson,
}

#[derive(Serialize)]
struct PingsJson {
    sent: u32,
    answered: u32,
}

fn pings(p: Pings) -> PingsJson {
    PingsJson {
        sent: p.sent,
        answered: p.answered,
    }
}

#[derive(Serialize)]
struct ProbeFailuresJson<'a> {
    count: u32,
    first_frame: u64,
    frames: &'a [u64],
    kind: &'static str,
    last_frame: u64,
    status: Option<u16>,
}

fn probe_failures(f: &ProbeFailures) -> ProbeFailuresJson<'_> {
    ProbeFailuresJson {
        count: f.count,
        first_frame: f.first.frame,
        frames: &f.frames,
        kind: f.probe.as_str(),
        last_frame: f.last.frame,
        status: f.probe.status().map(|s| s.0),
    }
}

pub(crate) fn peer(d: &Diagnosed<Peer>) -> PeerJson<'_> {
    let p = &d.item;
    let k = p.keepalive();
    PeerJson {
        client: format::ip(p.client),
        end_ts: format::stamp(p.last_ts_ns),
        findings: findings(&d.findings),
        first_failure_frame: frame(p.first_failure),
        icmp_errors: p.icmp,
        keepalive: KeepAliveJson {
            consecutive_failed: k.consecutive,
            crlf_pings: pings(k.crlf),
            down: k.down(),
            failed: k.failed,
            failures: k.failures.iter().map(probe_failures).collect(),
            last_ok_frame: frame(k.last_ok),
            max_consecutive_failed: k.max_consecutive,
            probes: k.probes,
            stun_pings: pings(k.stun),
        },
        last_failure_frame: frame(p.last_failure),
        methods: p.methods.iter().map(method).collect(),
        refused_connections: p.refused,
        server: format::addr(p.server),
        start_ts: format::stamp(p.first_ts_ns),
        syn_unanswered_connections: p.syn_unanswered,
        transport_frames: &p.transport_frames,
        transports: p.transports.iter().map(|t| t.as_str()).collect(),
    }
}

#[derive(Serialize)]
pub(crate) struct TransactionJson<'a> {
    call: Option<usize>,
    call_id: &'a str,
    client: Short,
    findings: Vec<FindingJson<'a>>,
    first_frame: u64,
    frames: Vec<u64>,
    method: &'a str,
    open_at_end: bool,
    reason: Option<&'a str>,
    response_ms: Option<f64>,
    sent: u32,
    server: Short,
    start_ts: Short,
    status: Option<u16>,
    transport: &'static str,
}

pub(crate) fn transaction(d: &Diagnosed<Transaction>) -> TransactionJson<'_> {
    let t = &d.item;
    let response = t.response.as_ref();
    TransactionJson {
        call: t.call.map(|i| i + 1),
        call_id: &t.request.call_id,
        client: format::addr(t.client),
        findings: findings(&d.findings),
        first_frame: t.request.frame,
        frames: t.frames(),
        method: t.method.as_str(),
        open_at_end: t.open_at_end,
        reason: response.and_then(|r| r.reason()),
        response_ms: response.map(|r| (r.ts_ns - t.start_ts()) as f64 / 1e6),
        sent: t.sent_count,
        server: format::addr(t.server),
        start_ts: format::stamp(t.start_ts()),
        status: t.status().map(|s| s.0),
        transport: t.transport.as_str(),
    }
}
