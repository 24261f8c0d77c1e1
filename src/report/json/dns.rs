//! The JSON of the DNS lookups that failed and explained no call (the report's `dns_failures`; see the wire
//! format in `json`'s module doc). Fields in alphabetical order, as the report's other objects.

use serde::Serialize;

use super::{finding, FindingJson};
use crate::correlate::dns::Lookup;
use crate::diagnose::Diagnosed;
use crate::report::format::{endpoint, rfc3339};

#[derive(Serialize)]
pub(super) struct DnsFailureJson<'a> {
    answer_frame: Option<u64>,
    client: String,
    findings: Vec<FindingJson<'a>>,
    first_frame: u64,
    frames: Vec<u64>,
    id: u16,
    name: &'a str,
    queries: u32,
    query_frames: Vec<u64>,
    rcode: Option<String>,
    response_ms: Option<f64>,
    server: String,
    start_ts: String,
    transport: &'static str,
    #[serde(rename = "type")]
    qtype: String,
}

pub(super) fn dns_failure(d: &Diagnosed<Lookup>) -> DnsFailureJson<'_> {
    let l = &d.item;
    let answer = l.answer.as_ref();
    DnsFailureJson {
        answer_frame: answer.map(|a| a.frame),
        client: endpoint(l.client),
        findings: d.findings.iter().map(finding).collect(),
        first_frame: l.first_frame(),
        frames: l.frames(),
        id: l.id,
        name: &l.name,
        queries: l.query_count,
        query_frames: l.queries.iter().map(|q| q.frame).collect(),
        rcode: answer.map(|a| a.rcode.name()),
        response_ms: answer.map(|a| (a.ts_ns - l.first_ts_ns()) as f64 / 1e6),
        server: endpoint(l.server),
        start_ts: rfc3339(l.first_ts_ns()),
        transport: l.transport.as_str(),
        qtype: l.qtype.name(),
    }
}
