//! The JSON report (schema version 1).
//!
//! # Wire format
//! One object (with `--ndjson`, instead one line per call holding the call's object as in `calls`):
//!
//! - `schema_version` (number): 1. Additive changes keep version 1; anything else bumps it.
//! - `tool`: `{ "name": "callscope", "version": "<crate version>" }`.
//! - `captures` (array, in merge order): per input file
//!   - `path` (string): as given on the command line;
//!   - `format` (string): `pcap`, `pcap-ns` or `pcapng`; `gzip` (bool): whether it was compressed;
//!   - `link_types` (array of strings): link type names (`ethernet`, `linux-sll`, ...) or `linktype-<n>`;
//!   - `packets` (number), `bytes` (number: file size, decompressed), `captured_bytes` (number);
//!   - `first_ts`, `last_ts`: the earliest and latest packet times (RFC 3339 UTC strings with
//!     microseconds, or null without packets),
//!     `duration_ms` (number or null);
//!   - `first_frame` (number): the 1-based number of the file's first frame in the merged numbering;
//!   - `decode`: packet counts `ipv4`, `ipv6`, `udp`, `tcp`, `icmp`, `other_ip`, `non_ip`, `fragments`,
//!     `reassembled`, `incomplete_fragment_sets`, `snaplen_truncated`, `filtered_out` (left out by a
//!     `--filter`), and `undecodable` (object: reason →
//!     count);
//!   - `warnings` (array of `{ "offset": number, "message": string }`) and `warnings_dropped` (number).
//! - `summary`: across all files: `files`, `packets`, `sip_messages`, `sip_resent`, `sip_untracked`
//!   (SIP messages counted but not correlated because of the memory limits), `limits` (what the memory
//!   limits left out: `untracked_tcp_segments`, `untracked_rtp_packets`, `untracked_udptl_packets`
//!   (fax), `tcp_reassembly_bytes_skipped`,
//!   `tcp_reassembly_streams_over_limit`), `calls`,
//!   `failed_calls` (calls with an `error` finding), `degraded_calls` (a `warning` but no error),
//!   `by_code` (object: finding code → calls it was found in), `rtp_streams`, `other_dialogs`,
//!   `sip_requests` (object: method → count), `sip_responses` (object: status → count),
//!   `sip_malformed` (object: reason → count), `vantage`: what the capture point could see — `{
//!   "capture_host" (the address every packet was from or to: the capture was taken there; null when
//!   there is none), "common" (the addresses every packet was from or to: one, two when only those
//!   two talked, none for a mirror port or a router's interface), "rtp_seen", "hosts": [{ "ip",
//!   "sends", "receives" (packets from it / to it were seen), "ttl_min", "ttl_max" (of its SIP over
//!   UDP), "hops" (routers between it and the capture point, from the TTL; null if unknown), "mac"
//!   (the source MAC of its SIP over UDP: the last router's when it is not on this link) }],
//!   "more_hosts" (beyond the host limit) }`.
//! - `calls` (array, by first frame): per call
//!   - `index` (1-based, as the call list shows it), `call_id`, `from`, `to` (URIs of the first INVITE),
//!     `caller`, `callee` (`"ip:port"`, IPv6 as `"[ip]:port"`: where the first INVITE came from and went);
//!   - `state`: `answered`, `rejected`, `cancelled`, `unanswered` (no response at all), `mid_call` (the
//!     capture started after the call was set up: no INVITE, only requests inside its dialog) or `in_progress`
//!     (only provisional responses); `final_status` (number or null) and `final_reason` (string or null):
//!     the response that decided the outcome, as the caller received it where the capture shows that;
//!   - `ended_by`: `caller`, `callee` or null;
//!   - `start_ts`, `end_ts` (first and last message), `setup_ms` (INVITE → 2xx, null unless answered),
//!     `pdd_ms` (INVITE → first 18x, else 2xx), `final_ms` (INVITE → final response), `duration_ms`
//!     (2xx → BYE), each a number or null;
//!   - `transport` (`udp` or `tcp`, of the first INVITE), `hops` (array of `[src, dst]` pairs in order of
//!     first appearance), `messages`, `retransmissions` (numbers);
//!   - `reasons` (array of `{ "protocol", "cause", "text", "frame" }`: Reason headers),
//!     `warnings` (`{ "code", "agent", "text", "frame" }`), `ms_diagnostics`
//!     (`{ "error_id", "sub_code", "source", "reason", "attrs": {..}, "public", "frame" }`);
//!   - `findings` (array, primary — most causal — first): `{ "code", "severity" (`error`, `warning`,
//!     `info`), "summary", "cause", "frames": [evidence frame numbers], "ts" }`;
//!   - `media` (array): the call's RTP streams, each `{ "src", "dst", "ssrc" (hex string), "payload_type",
//!     "codec", "clock_rate", "packets", "expected", "lost", "lost_pct", "sequence_errors",
//!     "max_delta_ms", "max_jitter_ms", "mean_jitter_ms", "max_gap_ms", "mos" (or null), "rtcp"
//!     (`{ "frame", "fraction_lost_pct", "cumulative_lost", "jitter_ms", "rtt_ms" }` or null),
//!     "expected_by_sdp", "first_after_answer_ms", "last_after_answer_ms" (first and last packet
//!     relative to the call's 2xx, or null), "first_frame", "last_frame", "start_ts", "end_ts" }` — the figures are
//!     Wireshark's (`tshark -z rtp,streams`);
//!   - `fax` (array): the call's T.38 fax streams (UDPTL, never counted as RTP), one per direction:
//!     `{ "src", "dst", "packets", "first_seq", "last_seq", "expected", "lost" (sequence numbers
//!     never received), "recovered" (of those, carried again by the next packet's redundancy),
//!     "resent", "gaps", "max_redundancy" (secondary IFPs per packet at most), "fec_packets",
//!     "signals" (T.30 indicators and data modulations seen, by their T.38 ASN.1 names),
//!     "first_frame", "last_frame", "start_ts", "end_ts" }`;
//!   - `frames`: `{ "first", "last", "sip": [frame numbers of the call's SIP messages] }`;
//!   - `wireshark_filter`: a display filter selecting the call's SIP in Wireshark.
//! - `transport_events` (array, by first frame): TCP, TLS and ICMP failures: `{ "code", "severity",
//!   "src", "dst", "proto", "attempts", "first_frame", "frames", "ts", "summary", "cause",
//!   "call_indexes": [1-based indexes of the calls it explains] }`.
//! - `patterns` (array): causes several calls share — calls that failed over from the same dead
//!   target through the same host (`sip.failover` in each): `{ "code", "host" (the host that kept
//!   trying it), "target" (`"ip:port"`), "call_indexes" (1-based), "max_waited_ms" (the longest
//!   failover wait), "summary" }`.
//! - `rtp_streams` (array, by first frame): every RTP stream, as in `media`, plus `"call"` (1-based index
//!   or null).
//! - `tcp_connections` (array): the TCP connections that carried SIP or TLS or failed (states S0, REJ,
//!   RSTOS0, SH, RSTO, RSTR), at most 10000: `{ "client", "server", "state" (Zeek conn_state),
//!   "syn_count", "syn_frames", "syn_ack_frame", "handshake_ms", "rst_frame", "rst_by", "client_bytes",
//!   "server_bytes", "first_frame", "last_frame", "start_ts", "end_ts", "sip", "tls" }`.
//! - `icmp_errors` (array): `{ "frame", "ts", "reporter", "kind", "type", "code", "proto", "src", "dst",
//!   "quoted_sip", "quoted_rtp" }` — `src`/`dst` are those of the quoted packet.
//! - `other_dialogs` (array): Call-IDs without an INVITE: `call_id`, `method`, `messages`, `retransmissions`,
//!   `final_status`, `first_frame`, `start_ts`, `src`, `dst`.

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde::Serialize;

use super::time::rfc3339;
use super::words::call_streams;
use crate::analysis::{Analysis, CaptureSummary};
use crate::correlate::calls::{Call, OtherDialog};
use crate::correlate::fax::Fax;
use crate::correlate::media::Stream;
use crate::correlate::transport::{ConnState, Connection, IcmpError};
use crate::correlate::vantage::Vantage;
use crate::diagnose::{Finding, Severity, TransportEvent};
use serde_json::json;

/// The schema version written in every report.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
struct Report<'a> {
    schema_version: u32,
    tool: Tool,
    captures: Vec<Capture<'a>>,
    summary: Summary<'a>,
    calls: Vec<CallJson<'a>>,
    other_dialogs: Vec<OtherJson<'a>>,
    transport_events: Vec<serde_json::Value>,
    patterns: Vec<serde_json::Value>,
    rtp_streams: Vec<serde_json::Value>,
    tcp_connections: Vec<serde_json::Value>,
    icmp_errors: Vec<serde_json::Value>,
}

#[derive(Serialize)]
struct CallJson<'a> {
    index: usize,
    call_id: &'a str,
    from: &'a str,
    to: &'a str,
    caller: String,
    callee: String,
    state: &'static str,
    final_status: Option<u16>,
    final_reason: Option<&'a str>,
    ended_by: Option<&'static str>,
    start_ts: String,
    end_ts: String,
    setup_ms: Option<f64>,
    pdd_ms: Option<f64>,
    final_ms: Option<f64>,
    duration_ms: Option<f64>,
    transport: &'static str,
    hops: Vec<[String; 2]>,
    messages: usize,
    retransmissions: usize,
    reasons: Vec<serde_json::Value>,
    warnings: Vec<serde_json::Value>,
    ms_diagnostics: Vec<serde_json::Value>,
    findings: Vec<serde_json::Value>,
    media: Vec<serde_json::Value>,
    fax: Vec<serde_json::Value>,
    frames: Frames,
    wireshark_filter: String,
}

#[derive(Serialize)]
struct Frames {
    first: u64,
    last: u64,
    sip: Vec<u64>,
}

#[derive(Serialize)]
struct OtherJson<'a> {
    call_id: &'a str,
    method: &'a str,
    messages: usize,
    retransmissions: usize,
    final_status: Option<u16>,
    first_frame: u64,
    start_ts: String,
    src: String,
    dst: String,
}

#[derive(Serialize)]
struct Tool {
    name: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
struct Capture<'a> {
    path: &'a str,
    format: &'static str,
    gzip: bool,
    link_types: Vec<String>,
    packets: u64,
    bytes: u64,
    captured_bytes: u64,
    first_ts: Option<String>,
    last_ts: Option<String>,
    duration_ms: Option<f64>,
    first_frame: u64,
    decode: Decode<'a>,
    warnings: Vec<Warning<'a>>,
    warnings_dropped: u64,
}

#[derive(Serialize)]
struct Decode<'a> {
    ipv4: u64,
    ipv6: u64,
    udp: u64,
    tcp: u64,
    icmp: u64,
    other_ip: u64,
    non_ip: u64,
    fragments: u64,
    reassembled: u64,
    incomplete_fragment_sets: u64,
    snaplen_truncated: u64,
    filtered_out: u64,
    undecodable: &'a BTreeMap<&'static str, u64>,
}

#[derive(Serialize)]
struct Warning<'a> {
    offset: u64,
    message: &'a str,
}

/// What memory limits left out (all zero for ordinary captures).
#[derive(Serialize)]
struct Limits {
    untracked_tcp_segments: u64,
    untracked_rtp_packets: u64,
    untracked_udptl_packets: u64,
    tcp_reassembly_bytes_skipped: u64,
    tcp_reassembly_streams_over_limit: u64,
}

#[derive(Serialize)]
struct Summary<'a> {
    files: usize,
    packets: u64,
    sip_messages: u64,
    sip_resent: u64,
    sip_untracked: u64,
    limits: Limits,
    calls: usize,
    failed_calls: usize,
    degraded_calls: usize,
    by_code: BTreeMap<&'static str, usize>,
    rtp_streams: usize,
    other_dialogs: usize,
    sip_requests: &'a BTreeMap<String, u64>,
    sip_responses: BTreeMap<u16, u64>,
    sip_malformed: &'a BTreeMap<&'static str, u64>,
    vantage: serde_json::Value,
}

/// The name of a link type as reports show it (text and HTML take it from here too).
pub(crate) use crate::analysis::link_type_name;

fn capture(c: &CaptureSummary) -> Capture<'_> {
    let d = &c.decode;
    Capture {
        path: &c.path,
        format: c.format,
        gzip: c.gzip,
        link_types: c.link_types.iter().map(|&l| link_type_name(l)).collect(),
        packets: c.packets,
        bytes: c.bytes,
        captured_bytes: c.captured_bytes,
        first_ts: c.first_ts_ns.map(rfc3339),
        last_ts: c.last_ts_ns.map(rfc3339),
        duration_ms: c.duration_ns().map(|ns| ns as f64 / 1e6),
        first_frame: c.first_frame,
        decode: Decode {
            ipv4: d.ipv4,
            ipv6: d.ipv6,
            udp: d.udp,
            tcp: d.tcp,
            icmp: d.icmp,
            other_ip: d.other_ip,
            non_ip: d.non_ip,
            fragments: d.fragments,
            reassembled: d.reassembled,
            incomplete_fragment_sets: d.incomplete_fragment_sets,
            snaplen_truncated: d.snaplen_truncated,
            filtered_out: d.filtered_out,
            undecodable: &d.undecodable,
        },
        warnings: c
            .warnings
            .iter()
            .map(|w| Warning {
                offset: w.offset,
                message: &w.message,
            })
            .collect(),
        warnings_dropped: c.warnings_dropped,
    }
}

/// A display filter that selects the call's SIP messages in Wireshark.
pub(crate) fn wireshark_filter(call_id: &str) -> String {
    let quoted = call_id.replace('\\', "\\\\").replace('"', "\\\"");
    format!("sip.Call-ID == \"{quoted}\"")
}

fn finding(f: &Finding) -> serde_json::Value {
    json!({
        "code": f.code, "severity": f.severity.as_str(), "summary": f.summary, "cause": f.cause,
        "frames": f.frames, "ts": rfc3339(f.ts_ns),
    })
}

fn stream(s: &Stream) -> serde_json::Value {
    let m = &s.summary;
    json!({
        "src": s.src.to_string(), "dst": s.dst.to_string(), "ssrc": format!("0x{:08X}", s.ssrc),
        "payload_type": m.first_pt, "codec": s.codec, "clock_rate": s.clock_rate,
        "packets": m.packets, "expected": m.expected, "lost": m.lost, "lost_pct": m.lost_pct,
        "sequence_errors": m.sequence_errors, "max_delta_ms": m.max_delta_ms,
        "max_jitter_ms": m.max_jitter_ms, "mean_jitter_ms": m.mean_jitter_ms, "max_gap_ms": m.max_gap_ms,
        "mos": s.mos,
        "rtcp": s.rtcp.map(|r| json!({
            "frame": r.frame, "fraction_lost_pct": r.fraction_lost_pct, "cumulative_lost": r.cumulative_lost,
            "jitter_ms": r.jitter_ms, "rtt_ms": r.rtt_ms,
        })),
        "expected_by_sdp": s.expected_by_sdp,
        "first_after_answer_ms": s.since_answer.map(|t| t.first_ms),
        "last_after_answer_ms": s.since_answer.map(|t| t.last_ms),
        "first_frame": s.first_frame, "last_frame": s.last_frame,
        "start_ts": rfc3339(s.first_ts_ns), "end_ts": rfc3339(s.last_ts_ns),
    })
}

fn vantage(v: &Vantage) -> serde_json::Value {
    let hosts: Vec<serde_json::Value> = v
        .hosts
        .iter()
        .map(|h| {
            json!({
                "ip": h.ip.to_string(),
                "sends": h.sends,
                "receives": h.receives,
                "ttl_min": h.ttl.map(|t| t.0),
                "ttl_max": h.ttl.map(|t| t.1),
                "hops": h.hops(),
                "mac": h.mac.map(|m| m.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":")),
            })
        })
        .collect();
    json!({
        "capture_host": v.capture_host().map(|a| a.to_string()),
        "common": v.common.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
        "rtp_seen": v.rtp_seen,
        "hosts": hosts,
        "more_hosts": v.more_hosts,
    })
}

fn fax(f: &Fax) -> serde_json::Value {
    json!({
        "src": f.src.to_string(),
        "dst": f.dst.to_string(),
        "packets": f.packets,
        "first_seq": f.first_seq,
        "last_seq": f.last_seq,
        "expected": f.expected,
        "lost": f.lost,
        "recovered": f.recovered,
        "resent": f.resent,
        "gaps": f.gaps,
        "max_redundancy": f.max_redundancy,
        "fec_packets": f.fec_packets,
        "signals": f.signals(),
        "first_frame": f.first_frame,
        "last_frame": f.last_frame,
        "start_ts": rfc3339(f.first_ts_ns),
        "end_ts": rfc3339(f.last_ts_ns),
    })
}

fn transport_event(e: &TransportEvent) -> serde_json::Value {
    json!({
        "code": e.code, "severity": e.severity.as_str(), "src": e.src.to_string(), "dst": e.dst.to_string(),
        "proto": e.proto.as_str(), "attempts": e.attempts, "first_frame": e.first_frame, "frames": e.frames,
        "ts": rfc3339(e.ts_ns), "summary": e.summary, "cause": e.cause,
        "call_indexes": e.calls.iter().map(|i| i + 1).collect::<Vec<_>>(),
    })
}

/// Connections listed in the report: those that matter to SIP (carried SIP or TLS) or failed.
const MAX_CONNECTIONS: usize = 10_000;

fn connection(c: &Connection) -> Option<serde_json::Value> {
    let failed = matches!(
        c.state,
        ConnState::S0
            | ConnState::Rej
            | ConnState::Rstos0
            | ConnState::Sh
            | ConnState::Rsto
            | ConnState::Rstr
    );
    (failed || c.sip || c.tls.is_some()).then(|| {
        json!({
            "client": c.client.to_string(), "server": c.server.to_string(), "state": c.state.as_str(),
            "syn_count": c.syn_count, "syn_frames": c.syns.iter().map(|s| s.frame).collect::<Vec<_>>(),
            "syn_ack_frame": c.syn_ack.map(|s| s.frame), "handshake_ms": c.handshake_ms,
            "rst_frame": c.rst.map(|r| r.at.frame),
            "rst_by": c.rst.map(|r| if r.by_client { "client" } else { "server" }),
            "client_bytes": c.client_bytes, "server_bytes": c.server_bytes,
            "first_frame": c.first_frame, "last_frame": c.last_frame,
            "start_ts": rfc3339(c.first_ts_ns), "end_ts": rfc3339(c.last_ts_ns), "sip": c.sip,
            "tls": c.tls.as_ref().map(|t| json!({
                "client_hello_frame": t.client_hello.map(|a| a.frame), "sni": t.sni,
                "server_hello_frame": t.server_hello.map(|a| a.frame),
                "alert": t.alert.as_ref().map(|a| json!({
                    "frame": a.frame, "level": a.level, "description": a.description, "name": a.name,
                    "from": if a.from_client { "client" } else { "server" },
                })),
                "application_data": t.application_data,
            })),
        })
    })
}

fn icmp(e: &IcmpError) -> serde_json::Value {
    json!({
        "frame": e.frame, "ts": rfc3339(e.ts_ns), "reporter": e.reporter.to_string(), "kind": e.kind,
        "type": e.icmp_type, "code": e.code, "proto": e.proto, "src": e.src.to_string(),
        "dst": e.dst.to_string(), "quoted_sip": e.quoted_sip, "quoted_rtp": e.quoted_rtp,
    })
}

fn call<'a>(index: usize, c: &'a Call, analysis: &'a Analysis) -> CallJson<'a> {
    let frames: Vec<u64> = c.frames().collect();
    let mut reasons = Vec::new();
    let mut warnings = Vec::new();
    let mut ms_diagnostics = Vec::new();
    for seen in &c.messages {
        let m = &seen.msg;
        for r in &m.reasons {
            reasons.push(
                json!({"protocol": r.protocol, "cause": r.cause, "text": r.text, "frame": m.frame}),
            );
        }
        for w in &m.warnings {
            warnings
                .push(json!({"code": w.code, "agent": w.agent, "text": w.text, "frame": m.frame}));
        }
        for d in &m.ms_diagnostics {
            let attrs: serde_json::Map<String, serde_json::Value> =
                d.attrs.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
            ms_diagnostics.push(json!({
                "error_id": d.error_id, "sub_code": d.sub_code, "source": d.source,
                "reason": d.reason, "attrs": attrs, "public": d.public, "frame": m.frame
            }));
        }
    }
    CallJson {
        index,
        call_id: &c.call_id,
        from: &c.from,
        to: &c.to,
        caller: c.caller.to_string(),
        callee: c.callee.to_string(),
        state: c.state.as_str(),
        final_status: c.final_response.as_ref().map(|f| f.status.0),
        final_reason: c.final_response.as_ref().map(|f| f.reason.as_str()),
        ended_by: c.ended_by.map(|e| e.as_str()),
        start_ts: rfc3339(c.start_ts_ns),
        end_ts: rfc3339(c.end_ts_ns),
        setup_ms: c.timings.answer_ms,
        pdd_ms: c.timings.pdd_ms,
        final_ms: c.timings.final_ms,
        duration_ms: c.timings.duration_ms,
        transport: c.transport.as_str(),
        hops: c
            .hops
            .iter()
            .map(|(a, b)| [a.to_string(), b.to_string()])
            .collect(),
        messages: c.messages.len(),
        retransmissions: c.resent(),
        reasons,
        warnings,
        ms_diagnostics,
        findings: analysis
            .diagnosis
            .calls
            .get(index - 1)
            .map(|fs| fs.iter().map(finding).collect())
            .unwrap_or_default(),
        media: call_streams(analysis, index - 1).map(stream).collect(),
        fax: analysis
            .evidence
            .get(index - 1)
            .map_or(&[][..], |e| &e.fax)
            .iter()
            .map(fax)
            .collect(),
        frames: Frames {
            first: frames.iter().copied().min().unwrap_or_default(),
            last: frames.iter().copied().max().unwrap_or_default(),
            sip: frames,
        },
        wireshark_filter: wireshark_filter(&c.call_id),
    }
}

fn other(o: &OtherDialog) -> OtherJson<'_> {
    OtherJson {
        call_id: &o.call_id,
        method: &o.method,
        messages: o.messages,
        retransmissions: o.resent,
        final_status: o.final_status.map(|s| s.0),
        first_frame: o.first_frame,
        start_ts: rfc3339(o.start_ts_ns),
        src: o.src.to_string(),
        dst: o.dst.to_string(),
    }
}

/// Calls whose worst finding has this severity (a degraded call has warnings but no error).
fn count_calls(analysis: &Analysis, worst: Severity) -> usize {
    analysis
        .diagnosis
        .calls
        .iter()
        .filter(|fs| fs.iter().map(|f| f.severity).min() == Some(worst))
        .count()
}

/// In how many calls each finding code appears.
fn by_code(analysis: &Analysis) -> BTreeMap<&'static str, usize> {
    let mut out = BTreeMap::new();
    for fs in &analysis.diagnosis.calls {
        let mut codes: Vec<&'static str> = fs.iter().map(|f| f.code).collect();
        codes.sort_unstable();
        codes.dedup();
        for code in codes {
            *out.entry(code).or_default() += 1;
        }
    }
    out
}

/// Writes one line per call: the call's object (as in `calls`), for log pipelines (NDJSON).
pub fn write_ndjson(analysis: &Analysis, mut out: impl Write) -> io::Result<()> {
    for (i, c) in analysis.calls.iter().enumerate() {
        serde_json::to_writer(&mut out, &call(i + 1, c, analysis))?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// Writes the report as pretty-printed JSON followed by a newline.
pub fn write(analysis: &Analysis, mut out: impl Write) -> io::Result<()> {
    let report = Report {
        schema_version: SCHEMA_VERSION,
        tool: Tool {
            name: "callscope",
            version: env!("CARGO_PKG_VERSION"),
        },
        captures: analysis.captures.iter().map(capture).collect(),
        summary: Summary {
            failed_calls: count_calls(analysis, Severity::Error),
            degraded_calls: count_calls(analysis, Severity::Warning),
            by_code: by_code(analysis),
            rtp_streams: analysis.streams.len(),
            files: analysis.captures.len(),
            packets: analysis.packets(),
            sip_messages: analysis.sip.messages,
            sip_resent: analysis.sip.resent,
            sip_untracked: analysis.sip.untracked,
            limits: Limits {
                untracked_tcp_segments: analysis.limits.untracked_tcp_segments,
                untracked_rtp_packets: analysis.limits.untracked_rtp_packets,
                untracked_udptl_packets: analysis.limits.untracked_udptl_packets,
                tcp_reassembly_bytes_skipped: analysis.tcp_reassembly.bytes_skipped,
                tcp_reassembly_streams_over_limit: analysis.tcp_reassembly.streams_over_limit,
            },
            calls: analysis.calls.len(),
            other_dialogs: analysis.other_dialogs.len(),
            sip_requests: &analysis.sip.requests,
            sip_responses: analysis
                .sip
                .responses
                .iter()
                .map(|(s, n)| (s.0, *n))
                .collect(),
            sip_malformed: &analysis.sip_malformed,
            vantage: vantage(&analysis.vantage),
        },
        calls: analysis
            .calls
            .iter()
            .enumerate()
            .map(|(i, c)| call(i + 1, c, analysis))
            .collect(),
        other_dialogs: analysis.other_dialogs.iter().map(other).collect(),
        transport_events: analysis
            .diagnosis
            .transport_events
            .iter()
            .map(transport_event)
            .collect(),
        patterns: analysis
            .diagnosis
            .patterns
            .iter()
            .map(|p| {
                json!({
                    "code": p.code,
                    "host": p.host.to_string(),
                    "target": p.target.to_string(),
                    "call_indexes": p.calls.iter().map(|i| i + 1).collect::<Vec<_>>(),
                    "max_waited_ms": p.max_waited_ms,
                    "summary": p.summary,
                })
            })
            .collect(),
        rtp_streams: analysis
            .streams
            .iter()
            .map(|s| {
                let mut v = stream(s);
                v["call"] = json!(s.call.map(|i| i + 1));
                v
            })
            .collect(),
        tcp_connections: analysis
            .connections
            .iter()
            .filter_map(connection)
            .take(MAX_CONNECTIONS)
            .collect(),
        icmp_errors: analysis.icmp_errors.iter().map(icmp).collect(),
    };
    serde_json::to_writer_pretty(&mut out, &report)?;
    out.write_all(b"\n")
}
