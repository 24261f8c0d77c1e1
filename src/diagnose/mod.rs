//! Diagnosis: rules that look across layers (SIP, transport, media) and explain why each call failed
//! or degraded, with the frames that prove it.
//!
//! Takes the correlated model ([`Context`]: calls, TCP connections, ICMP errors, RTP streams, STUN
//! checks); produces [`Finding`]s per call, primary (most causal) first, and [`TransportEvent`]s for
//! transport failures, linked to the calls they explain where the capture allows. Never parses bytes.
//! One rule per file in `rules/`, each with its doc header and tests; codes are DESIGN.md's catalogue
//! and `docs/rules.md` documents each.
//!
//! How it runs: the transport rules turn failed connections and ICMP errors into events; `link`
//! ties each event to the calls it explains (the call's own signalling path, the next hop a proxy was
//! trying to reach while it held the call's INVITE, or the call's RTP); then the call rules run on
//! each call's `facts::CallFacts`. A call's findings are ordered by severity, then by [`RULES`]'
//! rank (the cause before the symptom it produced), then by time.

use std::net::SocketAddr;

use rustc_hash::FxHashSet;

use crate::correlate::calls::Call;
use crate::correlate::media::{Stream, StunCheck};
use crate::correlate::message::Transport;
use crate::correlate::transport::{Connection, IcmpError};

pub(crate) mod facts;
pub(crate) mod link;
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

/// Every rule code with its rank: lower ranks are more causal and come first among findings of the
/// same severity. `sip.slow_setup` ranks first because its text already names the dead target and the
/// transport evidence behind the failover; transport failures come before the SIP symptoms they cause;
/// `sip.ack_missing` and `media.ice_failed` explain media and teardown symptoms;
/// `media.dropped_after_answer` beats `media.none`/`media.one_way`, which it contains.
pub const RULES: &[(&str, u8)] = &[
    ("sip.slow_setup", 0),
    ("tcp.syn_unanswered", 1),
    ("tcp.syn_refused", 1),
    ("tls.handshake_failed", 1),
    ("icmp.unreachable", 1),
    ("tcp.reset", 1),
    ("sip.ack_missing", 2),
    ("media.ice_failed", 3),
    ("media.dropped_after_answer", 4),
    ("media.none", 5),
    ("media.one_way", 5),
    ("media.unexpected_address", 6),
    ("media.stopped", 7),
    ("sip.no_response", 8),
    ("sip.timeout", 8),
    ("sip.rejected", 8),
    ("media.codec_mismatch", 9),
    ("media.poor_quality", 10),
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

/// Runs every rule.
pub fn diagnose(ctx: &Context<'_>) -> Diagnosis {
    let facts = facts::all(ctx.calls, ctx.streams, ctx.stun);

    // Transport failures, then the calls each explains.
    let mut failures = rules::transport_failures(ctx, &facts);
    let mut per_call: Vec<Vec<Finding>> = vec![Vec::new(); ctx.calls.len()];
    let mut linked: Vec<Vec<&TransportEvent>> = vec![Vec::new(); ctx.calls.len()];
    for failure in &mut failures {
        let links = link::links(failure, &facts, ctx.streams);
        for (call, how) in &links {
            if let (Some(out), Some(f)) = (per_call.get_mut(*call), facts.get(*call)) {
                out.push(link::finding_for_call(failure, how, f));
            }
        }
        failure.event.calls = links.iter().map(|(c, _)| *c).collect();
        failure.event.calls.dedup();
    }
    // Failures no call explains: ICMP quoting neither SIP nor RTP is not VoIP evidence (the
    // catalogue's icmp.unreachable quotes one of them), and a failure on a port no SIP used in this
    // capture (a web or file-share connection) is only worth an info line.
    let mut sip_ports: FxHashSet<u16> = [5060, 5061].into_iter().collect();
    for call in ctx.calls {
        for seen in &call.messages {
            sip_ports.insert(seen.msg.src.port());
            sip_ports.insert(seen.msg.dst.port());
        }
    }
    failures.retain(|f| {
        !(f.event.calls.is_empty()
            && f.via
                == link::Via::Icmp {
                    sip: false,
                    rtp: false,
                })
    });
    for f in &mut failures {
        let sip_port =
            sip_ports.contains(&f.event.dst.port()) || sip_ports.contains(&f.event.src.port());
        let quotes_voip = matches!(f.via, link::Via::Icmp { sip: true, .. });
        if f.event.calls.is_empty() && !sip_port && !quotes_voip {
            f.event.severity = Severity::Info;
        }
    }
    for failure in &failures {
        for &call in &failure.event.calls {
            if let Some(slot) = linked.get_mut(call) {
                slot.push(&failure.event);
            }
        }
    }

    for (f, out) in facts.iter().zip(per_call.iter_mut()) {
        out.extend(rules::call_findings(f, &linked[f.index]));
        order(out);
    }
    let mut transport_events: Vec<TransportEvent> = failures.into_iter().map(|f| f.event).collect();
    transport_events.sort_by_key(|e| (e.first_frame, e.code));
    Diagnosis {
        calls: per_call,
        transport_events,
    }
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
