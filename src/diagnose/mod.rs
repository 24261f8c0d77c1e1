//! Diagnosis: rules that look across layers (SIP, transport, media) and explain why each call failed
//! or degraded, with the frames that prove it.
//!
//! Takes a finished call with the evidence the engine gathered for it (its SIP, its streams and STUN
//! checks, the TCP connections on its paths or opened by a host that held its INVITE, the ICMP errors
//! quoting its packets); produces its [`Finding`]s, primary (most causal) first, and says which of the
//! transport failures explain it. A connection or ICMP group nothing needs any more becomes a
//! [`TransportEvent`] with the calls it explained. Never parses bytes.
//! One rule per file in `rules/`, each with its doc header and tests; codes are DESIGN.md's catalogue
//! and `docs/rules.md` documents each.
//!
//! How a call is diagnosed ([`call`]): the transport rules turn its failed candidate connections and
//! ICMP groups into failures; `link` says whether each explains the call (its own signalling path, the
//! next hop a proxy was trying to reach while it held the call's INVITE, or the call's RTP); then the
//! call rules run on its `facts::CallFacts`. A Microsoft client's own media report
//! (`ms-client-diagnostics`, `microsoft`) becomes part of the cause of the call's media findings.
//! Findings are ordered by severity, then by [`RULES`]' rank (the cause before the symptom it
//! produced), then by time.

use std::net::SocketAddr;

pub use finish::{Delivery, Diagnosed, DiagnosedCall, Diagnoser, Finished, Sink};
pub use patterns::{Pattern, Patterns};
pub(crate) use rules::media_unexpected_address::{private_space, PrivateSpace};
pub use rules::sip_failover::Failover;

use crate::correlate::engine::{FinishedCall, Tied};
use crate::correlate::message::Transport;
use crate::correlate::transport::{Connection, IcmpGroup};

pub(crate) mod facts;
mod finish;
pub(crate) mod link;
pub(crate) mod microsoft;
mod patterns;
pub(crate) mod rules;
pub(crate) mod text;

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
    /// Whether an item whose worst finding is `worst` failed (an error): what the reports count as
    /// failed registrations, peers down and failed transactions.
    pub fn failed(worst: Option<Severity>) -> bool {
        worst == Some(Severity::Error)
    }

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
    /// TCP, TLS (over TCP) or UDP.
    pub proto: Transport,
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

/// The diagnosis of a capture's calls, transport failures and patterns, as the rule tests read it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Diagnosis {
    /// Per call (same order as the call list): findings, primary first.
    pub calls: Vec<Vec<Finding>>,
    /// Transport failures, by first frame.
    pub transport_events: Vec<TransportEvent>,
    /// Causes several calls share.
    pub patterns: Vec<Pattern>,
}

/// The diagnosis of one finished call.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CallDiagnosis {
    /// Primary (most causal) first.
    pub findings: Vec<Finding>,
    /// The candidates whose failure explains the call (the call is among its event's calls).
    pub claimed: Tied,
    /// The candidates that belong to the call's evidence (its ladder and its extract): the claimed
    /// ones, the connections on its hops opened while it lasted, the ICMP errors quoting its packets.
    pub shown: Tied,
    /// The transport events of the claimed connections, by candidate position (`None` when not
    /// claimed), with this call among their calls.
    pub connection_events: Vec<Option<TransportEvent>>,
    /// By ICMP candidate: claimed only as the normal consequence of the call's start or end (its
    /// finding and its event are info).
    pub ending_icmp: Vec<bool>,
    /// The failover the call went through (`sip.failover`), for the [`Pattern`]s across calls.
    pub failover: Option<Failover>,
}

/// How far before a call a connection on its hops still belongs on its ladder.
const HOP_SLACK_NS: i64 = 5_000_000_000;

/// Diagnoses a finished call from its evidence.
pub fn call(fc: &FinishedCall) -> CallDiagnosis {
    let facts = facts::CallFacts::of(fc);
    let ev = &fc.evidence;
    let mut findings = Vec::new();
    let mut linked: Vec<TransportEvent> = Vec::new();
    let mut claimed = Tied {
        connections: vec![false; ev.connections.len()],
        icmp: vec![false; ev.icmp.len()],
        dns: Vec::new(),
    };
    let mut connection_events = vec![None; ev.connections.len()];
    enum Slot {
        Connection(usize),
        Icmp(usize),
    }
    let failures = ev
        .connections
        .iter()
        .enumerate()
        .filter_map(|(i, c)| {
            rules::connection_failure(c, std::slice::from_ref(&facts))
                .map(|f| (Slot::Connection(i), f))
        })
        .chain(
            ev.icmp
                .iter()
                .enumerate()
                .map(|(i, g)| (Slot::Icmp(i), rules::icmp_failure(g))),
        );
    let mut ending_icmp = vec![false; ev.icmp.len()];
    for (slot, mut failure) in failures {
        let Some(how) = link::link(&failure, &facts, &ev.streams) else {
            continue;
        };
        failure.event.calls = vec![fc.index];
        if let Slot::Icmp(i) = slot {
            // The normal consequence of the call's start or end: tied to it, but no fault of it.
            let ending = rules::icmp_unreachable::ending(&ev.icmp[i], &how, &failure.event, &facts);
            if let Some(finding) = ending {
                findings.push(finding);
                claimed.icmp[i] = true;
                ending_icmp[i] = true;
                continue;
            }
        }
        findings.push(link::finding_for_call(&failure, &how, &facts));
        match slot {
            Slot::Connection(i) => {
                claimed.connections[i] = true;
                connection_events[i] = Some(failure.event.clone());
            }
            Slot::Icmp(i) => claimed.icmp[i] = true,
        }
        linked.push(failure.event);
    }
    let linked_refs: Vec<&TransportEvent> = linked.iter().collect();
    let found = rules::call_findings(&facts, &linked_refs);
    findings.extend(found.findings);
    let (dns, dns_claimed) = rules::dns_failed::check(&facts);
    findings.extend(dns);
    claimed.dns = dns_claimed;
    microsoft::explain_media(&mut findings, &facts);
    order(&mut findings);
    let call = &fc.call;
    let on_hop = |a: std::net::SocketAddr, b: std::net::SocketAddr| {
        call.hops
            .iter()
            .any(|&(x, y)| (x, y) == (a, b) || (y, x) == (a, b))
    };
    let shown = Tied {
        connections: ev
            .connections
            .iter()
            .zip(&claimed.connections)
            .map(|(c, &claimed)| {
                claimed
                    || (on_hop(c.client, c.server)
                        && c.syns.first().is_some_and(|s| {
                            s.ts_ns >= call.start_ts_ns.saturating_sub(HOP_SLACK_NS)
                                && s.ts_ns <= call.end_ts_ns
                        }))
            })
            .collect(),
        icmp: ev
            .icmp
            .iter()
            .zip(&claimed.icmp)
            .map(|(g, &claimed)| {
                let e = g.first();
                let sip = g.quoted_sip() && call.hops.contains(&(e.src, e.dst));
                let rtp = facts
                    .streams
                    .iter()
                    .any(|s| (s.src, s.dst) == (e.src, e.dst));
                claimed || sip || rtp
            })
            .collect(),
        dns: vec![true; ev.dns.len()],
    };
    CallDiagnosis {
        findings,
        claimed,
        shown,
        connection_events,
        ending_icmp,
        failover: found.failover,
    }
}

/// The transport event of a connection nothing needs any more, if it failed: with the calls it
/// explained (`calls`, 0-based); an unexplained failure on a port no SIP used is only info.
pub fn connection_event(
    conn: &Connection,
    calls: &[usize],
    sip_port: bool,
) -> Option<TransportEvent> {
    let mut failure = rules::connection_failure(conn, &[])?;
    failure.event.calls = calls.to_vec();
    if calls.is_empty() && !sip_port {
        failure.event.severity = Severity::Info;
    }
    Some(failure.event)
}

/// The transport event of a complete group of ICMP errors: with the calls it explained (`ending`: it
/// was only the normal consequence of their start or end, an info event). ICMP quoting neither SIP nor
/// RTP and tied to no call is not VoIP evidence (none).
pub fn icmp_event(
    group: &IcmpGroup,
    calls: &[usize],
    ending: bool,
    sip_port: bool,
) -> Option<TransportEvent> {
    let failure = rules::icmp_failure(group);
    let via = failure.via;
    let mut event = failure.event;
    event.calls = calls.to_vec();
    if ending {
        event.severity = Severity::Info;
    }
    if calls.is_empty() {
        if via
            == (link::Via::Icmp {
                sip: false,
                rtp: false,
            })
        {
            return None;
        }
        let quotes_voip = matches!(via, link::Via::Icmp { sip: true, .. });
        if !sip_port && !quotes_voip {
            event.severity = Severity::Info;
        }
    }
    Some(event)
}

/// Every rule code with its rank: lower ranks are more causal and come first among findings of the
/// same severity. docs/rules.md ("Ranking") says why each stands where it does; a test keeps the two
/// the same.
pub const RULES: &[(&str, u8)] = &[
    ("sip.failover", 0),
    ("dns.failed", 1),
    ("tcp.syn_unanswered", 1),
    ("tcp.syn_refused", 1),
    ("tls.certificate", 1),
    ("tls.handshake_failed", 1),
    ("ip.fragments_lost", 1),
    ("icmp.unreachable", 1),
    ("tcp.reset", 1),
    ("sip.ack_missing", 2),
    ("sip.session_expired", 2),
    ("media.unexpected_address", 3),
    ("media.ice_failed", 3),
    ("media.fax_failed", 3),
    ("media.dropped_after_answer", 4),
    ("media.none", 5),
    ("media.one_way", 5),
    ("media.stopped", 6),
    ("media.dead_air", 6),
    ("sip.slow_setup", 7),
    ("sip.no_response", 7),
    ("sip.timeout", 7),
    ("sip.rejected", 7),
    ("sip.registration_failed", 7),
    ("sip.keepalive_failed", 7),
    ("media.codec_mismatch", 8),
    ("media.poor_quality", 9),
];

fn rank(code: &str) -> u8 {
    RULES
        .iter()
        .find(|(c, _)| *c == code)
        .map_or(u8::MAX, |(_, r)| *r)
}

/// Orders findings: worst severity, then most causal, then earliest.
pub(crate) fn order(findings: &mut [Finding]) {
    findings.sort_by_key(|f| (f.severity, rank(f.code), f.ts_ns, f.frames.first().copied()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_has_a_file_with_its_doc_header_and_a_docs_entry() {
        let root = env!("CARGO_MANIFEST_DIR");
        let docs = std::fs::read_to_string(format!("{root}/docs/rules.md")).expect("docs/rules.md");
        for (code, _) in RULES {
            let path = format!("{root}/src/diagnose/rules/{}.rs", code.replace('.', "_"));
            let src = std::fs::read_to_string(&path).unwrap_or_else(|_| panic!("{path} missing"));
            assert!(
                src.starts_with(&format!("//! Rule: {code}\n")),
                "{path} must start with `//! Rule: {code}`"
            );
            for part in ["Trigger", "Evidence", "False positives"] {
                assert!(src.contains(part), "{path}: doc header lacks `{part}`");
            }
            assert!(
                docs.contains(&format!("## `{code}`")),
                "docs/rules.md lacks a section `## `{code}``"
            );
        }
    }

    #[test]
    fn the_ranking_in_the_docs_is_the_ranking_in_the_code() {
        let root = env!("CARGO_MANIFEST_DIR");
        let docs = std::fs::read_to_string(format!("{root}/docs/rules.md")).expect("docs/rules.md");
        let table = docs
            .split("\n## Ranking\n")
            .nth(1)
            .expect("docs/rules.md has a `## Ranking` section");
        let mut documented: Vec<(String, u8)> = Vec::new();
        for row in table.lines().take_while(|l| !l.starts_with("## ")) {
            let cells: Vec<&str> = row.split('|').map(str::trim).collect();
            let Some(rank) = cells.get(1).and_then(|c| c.parse::<u8>().ok()) else {
                continue;
            };
            for code in cells[2].split('`').skip(1).step_by(2) {
                documented.push((code.to_string(), rank));
            }
        }
        let mut coded: Vec<(String, u8)> =
            RULES.iter().map(|(c, r)| ((*c).to_string(), *r)).collect();
        documented.sort();
        coded.sort();
        assert_eq!(documented, coded);
    }

    #[test]
    fn unlinked_failures_off_the_sip_ports_are_info_and_foreign_icmp_is_dropped() {
        use rules::testkit::*;
        let b = World::new(vec![])
            .syns("192.0.2.1:40000", "192.0.2.2:445", &[(1, 0.0), (2, 1000.0)])
            .syns("192.0.2.1:40001", APP, &[(3, 0.0), (4, 1000.0)])
            .icmp(
                5,
                10.0,
                "192.0.2.9",
                "192.0.2.1:53",
                "192.0.2.9:5353",
                false,
                false,
            )
            .build();
        let d = b.diagnose();
        let got: Vec<_> = d
            .transport_events
            .iter()
            .map(|e| (e.dst.port(), e.severity))
            .collect();
        assert_eq!(got, [(445, Severity::Info), (5060, Severity::Error)]);
    }

    #[test]
    fn findings_are_ordered_by_severity_then_cause() {
        let f = |code: &'static str, severity| Finding {
            code,
            severity,
            summary: String::new(),
            cause: String::new(),
            frames: vec![1],
            ts_ns: 0,
        };
        let mut v = vec![
            f("media.poor_quality", Severity::Warning),
            f("sip.timeout", Severity::Error),
            f("tcp.syn_unanswered", Severity::Error),
        ];
        order(&mut v);
        let codes: Vec<_> = v.iter().map(|f| f.code).collect();
        assert_eq!(
            codes,
            ["tcp.syn_unanswered", "sip.timeout", "media.poor_quality"]
        );
    }
}
