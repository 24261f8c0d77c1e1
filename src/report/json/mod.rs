//! The JSON report (schema version 1).
//!
//! # Wire format
//! One object (with `--ndjson`, instead one line per call holding the call's object as in `calls`):
//!
//! - `schema_version` (number): 1. Additive changes keep version 1; anything else bumps it.
//! - `tool`: `{ "name": "callscope", "version": "<crate version>" }`.
//! - `captures` (array, in merge order): per input file
//!   - `path` (string): as given on the command line;
//!   - `format` (string): `pcap`, `pcap-ns`, `pcapng` or `netmon2`; `gzip` (bool): whether it was compressed;
//!   - `link_types` (array of strings): link type names (`ethernet`, `linux-sll`, `ieee802-11`,
//!     `netmon-event`, ...), `netmon-media-<n>` or `linktype-<n>`;
//!   - `packets` (number), `bytes` (number: file size, decompressed), `captured_bytes` (number);
//!   - `first_ts`, `last_ts`: the earliest and latest packet times (RFC 3339 UTC strings with
//!     microseconds, or null without packets),
//!     `duration_ms` (number or null);
//!   - `first_frame` (number): the 1-based number of the file's first frame in the merged numbering;
//!   - `decode`: packet counts `ipv4`, `ipv6`, `udp`, `tcp`, `icmp`, `other_ip`, `non_ip`, `fragments`,
//!     `reassembled`, `incomplete_fragment_sets`, `snaplen_truncated`, `filtered_out` (left out by a
//!     `--filter`), `undecodable` (object: reason → count), `hep` (HEP packets unwrapped) and
//!     `hep_payloads` (object: what they carried — `sip`, `rtp`, `rtcp`, `log`, `other`,
//!     `compressed`, `malformed`, `split` — → count);
//!   - `warnings` (array of `{ "offset": number, "message": string }`) and `warnings_dropped` (number).
//! - `summary`: across all files: `files`, `packets`, `sip_messages`, `sip_resent`, `sip_untracked`
//!   (SIP messages counted but not correlated because of the memory limits), `limits` (what the memory
//!   limits left out: `untracked_tcp_segments`, `untracked_rtp_packets`, `untracked_udptl_packets`
//!   (fax), `tcp_reassembly_bytes_skipped`, `tcp_reassembly_streams_over_limit`,
//!   `untracked_icmp_errors`, `untracked_dns_queries` (DNS queries beyond the open lookups' limit),
//!   `untracked_transactions` (non-INVITE requests beyond the open transactions' limit, not followed
//!   to their response), `untracked_registrations` (REGISTERs of bindings beyond the open bindings'
//!   limit), `early_peer_rows` (rows of `peers` handed out before their pair went quiet, to make room: such a
//!   pair may have more than one row), `untracked_keepalive_pings` (flow keep-alive pings beyond the
//!   limit on pings waiting for their pong, not followed); `out_of_order_packets`, packets more than a
//!   second older than one before them; and what memory followed: `peak_open_call_ids`, `peak_open_streams`,
//!   `peak_open_connections`, the most open at once), `calls`,
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
//!   "more_hosts" (distinct hosts beyond the host limit of 4096, estimated by linear counting: exact
//!   for a few, within about 1 % up to millions) }`, `ended_calls` (answered calls ended by BYE: those
//!   `duration_patterns` count), `filtered_calls` (calls a filter such as `--number`
//!   left out of the report; the counts above are of the calls reported); `registrations`,
//!   `failed_registrations` (with an `error` finding), `peers`, `peers_down` (with an `error` finding), `transactions`, `failed_transactions`: the
//!   lengths of the arrays below and how many failed.
//! - `patterns` (array, most calls first): the reported calls with findings grouped by cause — same
//!   primary finding code, state and final status: `{ "code", "severity", "state", "final_status"
//!   (number or null), "host" (the host that decided most of its calls: the final response's sender,
//!   else where the first INVITE went), "hosts" (`[{ "addr", "calls" }]`, every deciding host with
//!   its calls, most first, at most 64), "more_host_calls" (calls decided by hosts beyond those),
//!   "target" (the dead target most of its calls' findings cite, when they cite a failed connection
//!   or ICMP error: `"ip:port"` or null), "targets", "more_target_calls" (the same tally of dead
//!   targets, `"ip:port"`), "calls", "share_pct" (of the calls reported), "first_ts", "last_ts"
//!   (earliest and latest call start), "first_call", "worst_call" (1-based indexes of its first call
//!   and of the call with the most findings of the gravest severity), "summary", "cause" (the first
//!   call's primary finding) }`; at most 256 (`summary.unpatterned_calls` counts the calls of
//!   further patterns).
//! - `duration_patterns` (array, most calls first): answered calls across the capture that all ended
//!   at the same duration (answer to BYE, within ±1 s of `seconds`), reported when what they share
//!   names a likely cause: `{ "seconds", "calls", "share_pct" (of `summary.ended_calls`, the answered
//!   calls ended by BYE), "min_ms", "max_ms", "cause" (`ack_missing`: most carry sip.ack_missing, the
//!   callee's Timer H; `session_timer`: most carry sip.session_expired; `timer_h`: no finding, hung
//!   up by the callee at 32 s; `round_duration`: no finding, hung up by the callee at a whole number
//!   of minutes over UDP: a NAT/firewall UDP timeout or a call-duration limit), "explanation",
//!   "hung_up_by_callee", "udp_calls", "ack_missing_calls", "session_expired_calls", "first_call"
//!   (1-based), "first_ts", "last_ts" (earliest and latest call start) }`.
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
//!   - `transport` (`udp`, `tcp` or `tls`, of the first INVITE), `hops` (array of `[src, dst]` pairs
//!     in order of first appearance), `messages`, `retransmissions` (numbers);
//!   - `reasons` (array of `{ "protocol", "cause", "text", "frame" }`: Reason headers),
//!     `warnings` (`{ "code", "agent", "text", "frame" }`), `ms_diagnostics`
//!     (`{ "error_id", "sub_code", "source", "reason", "attrs": {..}, "header" (`ms-diagnostics`,
//!     `ms-diagnostics-public` or `ms-client-diagnostics`), "public", "frame" }`);
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
//!   "call_indexes": [1-based indexes of the calls it explains] }`; an `info` event with calls is one
//!   that only their normal start or end produced (ICMP for early media or for RTP after the BYE).
//! - `failover_patterns` (array, in the order of their first call): calls that
//!   failed over from the same dead target through the same host (`sip.failover` in each): `{ "code",
//!   "host" (the host that kept trying it), "target" (`"ip:port"`), "call_indexes" (1-based),
//!   "max_waited_ms" (the longest failover wait), "summary" }`.
//! - `rtp_streams` (array, by first frame): every RTP stream, as in `media`, plus `"call"` (1-based index
//!   or null).
//! - `tcp_connections` (array): the TCP connections that carried SIP or TLS or failed (states S0, REJ,
//!   RSTOS0, SH, RSTO, RSTR), at most 10000: `{ "client", "server", "state" (Zeek conn_state),
//!   "syn_count", "syn_frames", "syn_ack_frame", "handshake_ms", "rst_frame", "rst_by", "client_bytes",
//!   "server_bytes", "first_frame", "last_frame", "start_ts", "end_ts", "sip", "tls" }`; `tls` is null or
//!   `{ "client_hello_frame", "sni", "server_hello_frame", "version" ("TLS 1.2"), "cipher_suite" (IANA
//!   name, or hex), "server_certificates" and "client_certificates" (null, or `{ "frame", "decrypted",
//!   "certificates": [leaf first: { "subject", "issuer", "serial", "not_before", "not_after",
//!   "dns_names", "ip_addresses", "eku" (null or ["server_auth", "client_auth", "any"]), "self_issued",
//!   "is_ca" }] }`, an empty list when the client sent no certificate), "certificate_request_frame",
//!   "alert" (`{ "frame", "level", "description", "name", "from", "decrypted" }`), "application_data",
//!   "decryption" (null when no key was given, else "decrypted", "no_key", "no_key_ephemeral",
//!   "rsa_key_mismatch", "handshake_missing", "unsupported_suite", "unsupported_version", "failed") }`.
//!   No secret is ever written.
//! - `icmp_errors` (array): `{ "frame", "ts", "reporter", "kind", "type", "code", "proto", "src", "dst",
//!   "quoted_sip", "quoted_rtp" }` — `src`/`dst` are those of the quoted packet.
//! - `other_dialogs` (array): Call-IDs without an INVITE: `call_id`, `method`, `messages`, `retransmissions`,
//!   `final_status`, `first_frame`, `start_ts`, `src`, `dst`.
//!
//! With several capture points (`analyze --at NAME=FILE…`, written by `report::points`), the document
//! is the first point's, with four more top-level arrays:
//! - `capture_points`: `{ "name", "files", "ip_packets", "duplicates" (packets seen twice at the point),
//!   "first_ts", "last_ts" (its first and last record, its own clock), "clock_offset" }`, where
//!   `clock_offset` is `{ "ns" (add to a reference time to get this point's), "uncertainty_ns" (null:
//!   packets went one way only, the offset is a bound), "consistent" }` or null (nothing in common with
//!   the first point);
//! - `point_pairs`: `{ "a", "b", "matched" (packets of a seen at b), "clock_offset" (b's minus a's),
//!   "hops" (TTL difference, or null), "translations": [{ "a_src", "a_dst", "b_src", "b_dst",
//!   "packets" }] }`;
//! - `points_calls`: per call (by Call-ID): `{ "call_id", "at": [{ "point", "index" (1-based, in that
//!   point's report) }], "verdicts": [{ "code" (`where.lost_between`, `where.unanswered_past`,
//!   `where.not_sent`), "severity", "summary", "cause", "frames": [{ "point", "frames" }] }],
//!   "messages": [{ "label", "ts" (reference clock), "src", "dst", "seen_at": [{ "point", "frame" }],
//!   "missing_at": [points on its way that were capturing and did not see it] }], "streams_between":
//!   [{ "src", "dst", "from", "to", "sent", "received", "first_frame", "last_frame" (at `from`),
//!   "delay_min_ns", "delay_mean_ns", "delay_max_ns", "jitter_ns", "hops" }] }`;
//! - `point_reports`: `{ "point", "report" }` for every other point, `report` a whole document.
//! - `registrations` (array, by first REGISTER): per binding (address-of-record + first Contact)
//!   - `aor` (To URI without parameters), `contact` (the Contact URI; empty for a query), `client`,
//!     `registrar` (`"ip:port"` of the latest REGISTER), `transport`, `call_id`, `user_agent`, `username` (of
//!     the latest credentials sent; string or null);
//!   - `state`: `registered` (when the capture ended), `removed` (2xx to Expires 0), `expired` (no refresh in
//!     time), `failing` (the latest REGISTER failed) or `unregistered` (never registered, nothing failed);
//!   - `attempts` (REGISTER transactions), `challenges` (401/407 to a REGISTER without credentials),
//!     `successes` (2xx); `requested_s` (the expiry the latest REGISTER asked); `granted_s`,
//!     `registered_frame` and `expires_ts` of the latest 2xx (or null); `removed_frame`, `expired_ts` (or
//!     null);
//!   - `failures` (array, by kind in order of first occurrence): `{ "kind" (`credentials_refused`,
//!     `forbidden`, `not_found`, `interval_too_brief`, `unanswered`, `rejected`), "status" (latest, or null
//!     when unanswered), "reason", "count", "first_frame", "last_frame", "frames" (the first few),
//!     "asked_s", "min_expires_s" (of a 423, else null), "transmissions" (of the REGISTERs) }`;
//!   - `first_frame`, `last_frame`, `start_ts`, `end_ts`; `findings` as for calls (`sip.registration_failed`).
//! - `peers` (array, by the first frame of each): per SIP peer pair (client host → server endpoint), a row
//!   from its first event until it went quiet for 2 minutes (a later event starts another row) or the
//!   capture ended
//!   - `client` (IP), `server` (`"ip:port"`), `transports` (array of `udp`, `tcp`, `tls`: a connection to port
//!     5061 or with TLS records counts as `tls`);
//!   - `methods` (array, in order of first use): `{ "method", "sent" (transactions; an INVITE per call and
//!     hop), "ok" (2xx), "rejected" (final 3xx–6xx), "unanswered", "last_status" }`;
//!   - `syn_unanswered_connections`, `refused_connections` (TCP connections the server never answered or
//!     refused), `icmp_errors` (ICMP errors quoting the client's SIP to it), `transport_frames` (their SYN,
//!     RST and ICMP frames, the first few);
//!   - `keepalive`: `{ "probes" (OPTIONS transactions, failed connections no call claimed, RFC 5626 flow
//!     keep-alives), "failed", "crlf_pings" and "stun_pings" (`{ "sent", "answered" }`: double-CRLF pings on
//!     SIP connections, STUN Binding requests on SIP UDP flows),
//!     "consecutive_failed" (since the last answered one), "max_consecutive_failed", "down" (the latest probe
//!     failed), "last_ok_frame", "failures": [{ "kind" (`error_response`, `unanswered`, `refused`,
//!     `no_syn_ack`, `no_pong`, `stun_unanswered`), "status" (of an error response, else null), "count", "first_frame", "last_frame",
//!     "frames" }] }`;
//!   - `first_failure_frame`, `last_failure_frame` (any failure, or null), `start_ts`, `end_ts`; `findings`
//!     as for calls (`sip.keepalive_failed`).
//! - `transactions` (array, by first frame): non-INVITE transactions other than ACK, BYE, CANCEL, REGISTER
//!   and OPTIONS (SUBSCRIBE, NOTIFY, MESSAGE, REFER, PRACK, INFO, UPDATE, PUBLISH, ...), inside calls or not:
//!   `{ "method", "call" (1-based index or null), "call_id", "client", "server", "transport", "sent"
//!   (transmissions), "status", "reason" (of the final response, or null), "response_ms" (request → final
//!   response, or null), "open_at_end" (the capture ended before its answer or Timer F), "first_frame",
//!   "frames", "start_ts", "findings" (as for calls: `sip.rejected`, `sip.no_response`) }`.
//! - `dns_failures` (array, by first query): DNS lookups (client, server, id, question) that got an error rcode
//!   or no answer and explained no call (a lookup that broke a call is in that call's `dns.failed` finding):
//!   `{ "client", "server", "transport", "id", "name", "type" (A, AAAA, SRV, NAPTR, CNAME, TYPE<n>), "queries"
//!   (sent, with retransmissions), "query_frames", "rcode" (NXDOMAIN, SERVFAIL, REFUSED, ..., or null: no
//!   answer), "answer_frame", "response_ms" (first query → answer, or null), "first_frame", "frames",
//!   "start_ts", "findings" (as for calls: `dns.failed`) }`.

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde::Serialize;

use super::format::{self, Short};
use super::json_items;
use super::spool::{Key, Spool};
use crate::analysis::durations::{DurationPattern, Durations};
use crate::analysis::patterns::{Pattern as FailurePattern, Tally};
use crate::analysis::{self, Analysis, CaptureSummary, Output, Overview};
use crate::correlate::calls::OtherDialog;
use crate::correlate::dns::Lookup;
use crate::correlate::fax::Fax;
use crate::correlate::media::Stream;
use crate::correlate::message::MsHeader;
use crate::correlate::peers::Peer;
use crate::correlate::registrations::Registration;
use crate::correlate::transactions::Transaction;
use crate::correlate::transport::{ConnState, Connection, IcmpError, TlsChain};
use crate::correlate::vantage::Vantage;
use crate::diagnose::{Diagnosed, DiagnosedCall, Finding, Pattern, Severity, Sink, TransportEvent};
use crate::proto::tls;

mod dns;
mod pretty;
mod transport;
mod writer;
pub use writer::{write, write_ndjson, NdjsonWriter, Writer};

/// The schema version written in every report.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
struct CallJson<'a> {
    index: usize,
    call_id: &'a str,
    from: &'a str,
    to: &'a str,
    caller: Short,
    callee: Short,
    state: &'static str,
    final_status: Option<u16>,
    final_reason: Option<&'a str>,
    ended_by: Option<&'static str>,
    start_ts: Short,
    end_ts: Short,
    setup_ms: Option<f64>,
    pdd_ms: Option<f64>,
    final_ms: Option<f64>,
    duration_ms: Option<f64>,
    transport: &'static str,
    hops: Vec<[Short; 2]>,
    messages: usize,
    retransmissions: usize,
    reasons: Vec<ReasonJson<'a>>,
    warnings: Vec<WarningJson<'a>>,
    ms_diagnostics: Vec<MsDiagnosticJson<'a>>,
    findings: Vec<FindingJson<'a>>,
    media: Vec<StreamJson<'a>>,
    fax: Vec<FaxJson>,
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
    start_ts: Short,
    src: Short,
    dst: Short,
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
    first_ts: Option<Short>,
    last_ts: Option<Short>,
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
    hep: u64,
    hep_payloads: &'a BTreeMap<&'static str, u64>,
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
    untracked_icmp_errors: u64,
    untracked_dns_queries: u64,
    untracked_transactions: u64,
    untracked_registrations: u64,
    early_peer_rows: u64,
    untracked_keepalive_pings: u64,
    out_of_order_packets: u64,
    peak_open_call_ids: usize,
    peak_open_streams: usize,
    peak_open_connections: usize,
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
    registrations: usize,
    failed_registrations: usize,
    peers: usize,
    peers_down: usize,
    transactions: usize,
    failed_transactions: usize,
    sip_requests: &'a BTreeMap<String, u64>,
    sip_responses: BTreeMap<u16, u64>,
    sip_malformed: &'a BTreeMap<&'static str, u64>,
    vantage: VantageJson,
    filtered_calls: u64,
    unpatterned_calls: u64,
    ended_calls: u64,
}

#[derive(Serialize)]
struct FailurePatternJson<'a> {
    code: &'static str,
    severity: &'static str,
    state: &'static str,
    final_status: Option<u16>,
    host: String,
    hosts: Vec<TalliedJson>,
    more_host_calls: u64,
    target: Option<Short>,
    targets: Vec<TalliedJson>,
    more_target_calls: u64,
    calls: u64,
    share_pct: f64,
    first_ts: Short,
    last_ts: Short,
    first_call: usize,
    worst_call: usize,
    summary: &'a str,
    cause: &'a str,
}

/// One value a failure pattern tallied (a deciding host, a dead target) with its calls.
#[derive(Serialize)]
struct TalliedJson {
    addr: Short,
    calls: u64,
}

fn tallied<T: Copy + Ord>(t: &Tally<T>, addr: impl Fn(T) -> Short) -> Vec<TalliedJson> {
    t.counts()
        .iter()
        .map(|&(v, calls)| TalliedJson {
            addr: addr(v),
            calls,
        })
        .collect()
}

fn failure_pattern<'a>(p: &'a FailurePattern, overview: &Overview) -> FailurePatternJson<'a> {
    let f = p.finding();
    FailurePatternJson {
        code: p.key.code,
        severity: p.severity.as_str(),
        state: p.key.state.as_str(),
        final_status: p.key.status.map(|s| s.0),
        host: p.hosts.top().map(|h| h.to_string()).unwrap_or_default(),
        hosts: tallied(&p.hosts, format::ip),
        more_host_calls: p.hosts.others,
        target: p.targets.top().map(format::addr),
        targets: tallied(&p.targets, format::addr),
        more_target_calls: p.targets.others,
        calls: p.calls,
        share_pct: (overview.share(p.calls) * 10.0).round() / 10.0,
        first_ts: format::stamp(p.first_ts_ns),
        last_ts: format::stamp(p.last_ts_ns),
        first_call: p.first.index + 1,
        worst_call: p.worst.index + 1,
        summary: &f.summary,
        cause: &f.cause,
    }
}

#[derive(Serialize)]
struct DurationPatternJson {
    seconds: u32,
    calls: u64,
    share_pct: f64,
    min_ms: u64,
    max_ms: u64,
    cause: &'static str,
    explanation: &'static str,
    hung_up_by_callee: u64,
    udp_calls: u64,
    ack_missing_calls: u64,
    session_expired_calls: u64,
    first_call: usize,
    first_ts: Short,
    last_ts: Short,
}

fn duration_pattern(p: &DurationPattern, durations: &Durations) -> DurationPatternJson {
    DurationPatternJson {
        seconds: p.seconds,
        calls: p.calls,
        share_pct: (durations.share(p.calls) * 10.0).round() / 10.0,
        min_ms: p.min_ms,
        max_ms: p.max_ms,
        cause: p.cause.as_str(),
        explanation: p.cause.explanation(),
        hung_up_by_callee: p.by_callee,
        udp_calls: p.udp,
        ack_missing_calls: p.ack_missing,
        session_expired_calls: p.session_expired,
        first_call: p.first_index + 1,
        first_ts: format::stamp(p.first_ts_ns),
        last_ts: format::stamp(p.last_ts_ns),
    }
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
        first_ts: c.first_ts_ns.map(format::stamp),
        last_ts: c.last_ts_ns.map(format::stamp),
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
            hep: d.hep,
            hep_payloads: &d.hep_payloads,
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

// The objects below list their fields in alphabetical order: the order the report has always
// written them in (it began with `serde_json::Value` maps, which sort their keys).

#[derive(Serialize)]
pub(crate) struct FindingJson<'a> {
    cause: &'a str,
    code: &'static str,
    frames: &'a [u64],
    severity: &'static str,
    summary: &'a str,
    ts: Short,
}

pub(crate) fn finding(f: &Finding) -> FindingJson<'_> {
    FindingJson {
        cause: &f.cause,
        code: f.code,
        frames: &f.frames,
        severity: f.severity.as_str(),
        summary: &f.summary,
        ts: format::stamp(f.ts_ns),
    }
}

#[derive(Serialize)]
struct RtcpJson {
    cumulative_lost: i32,
    fraction_lost_pct: f64,
    frame: u64,
    jitter_ms: Option<f64>,
    rtt_ms: Option<f64>,
}

#[derive(Serialize)]
struct StreamJson<'a> {
    /// Only in the top-level `rtp_streams` (1-based call index, or null).
    #[serde(skip_serializing_if = "Option::is_none")]
    call: Option<Option<usize>>,
    clock_rate: u32,
    codec: Option<&'a str>,
    dst: Short,
    end_ts: Short,
    expected: i64,
    expected_by_sdp: bool,
    first_after_answer_ms: Option<f64>,
    first_frame: u64,
    last_after_answer_ms: Option<f64>,
    last_frame: u64,
    lost: i64,
    lost_pct: f64,
    max_delta_ms: f64,
    max_gap_ms: f64,
    max_jitter_ms: f64,
    mean_jitter_ms: f64,
    mos: Option<f64>,
    packets: u64,
    payload_type: u8,
    rtcp: Option<RtcpJson>,
    sequence_errors: u64,
    src: Short,
    ssrc: Short,
    start_ts: Short,
}

fn stream(s: &Stream) -> StreamJson<'_> {
    let m = &s.summary;
    StreamJson {
        call: None,
        clock_rate: s.clock_rate,
        codec: s.codec.as_deref(),
        dst: format::addr(s.dst),
        end_ts: format::stamp(s.last_ts_ns),
        expected: m.expected,
        expected_by_sdp: s.expected_by_sdp,
        first_after_answer_ms: s.since_answer.map(|t| t.first_ms),
        first_frame: s.first_frame,
        last_after_answer_ms: s.since_answer.map(|t| t.last_ms),
        last_frame: s.last_frame,
        lost: m.lost,
        lost_pct: m.lost_pct,
        max_delta_ms: m.max_delta_ms,
        max_gap_ms: m.max_gap_ms,
        max_jitter_ms: m.max_jitter_ms,
        mean_jitter_ms: m.mean_jitter_ms,
        mos: s.mos,
        packets: m.packets,
        payload_type: m.first_pt,
        rtcp: s.rtcp.map(|r| RtcpJson {
            cumulative_lost: r.cumulative_lost,
            fraction_lost_pct: r.fraction_lost_pct,
            frame: r.frame,
            jitter_ms: r.jitter_ms,
            rtt_ms: r.rtt_ms,
        }),
        sequence_errors: m.sequence_errors,
        src: format::addr(s.src),
        ssrc: format::ssrc(s.ssrc),
        start_ts: format::stamp(s.first_ts_ns),
    }
}

#[derive(Serialize)]
struct EventJson<'a> {
    attempts: u32,
    call_indexes: Vec<usize>,
    cause: &'a str,
    code: &'static str,
    dst: Short,
    first_frame: u64,
    frames: &'a [u64],
    proto: &'static str,
    severity: &'static str,
    src: Short,
    summary: &'a str,
    ts: Short,
}

fn transport_event(e: &TransportEvent) -> EventJson<'_> {
    EventJson {
        attempts: e.attempts,
        call_indexes: e.calls.iter().map(|i| i + 1).collect(),
        cause: &e.cause,
        code: e.code,
        dst: format::addr(e.dst),
        first_frame: e.first_frame,
        frames: &e.frames,
        proto: e.proto.as_str(),
        severity: e.severity.as_str(),
        src: format::addr(e.src),
        summary: &e.summary,
        ts: format::stamp(e.ts_ns),
    }
}

#[derive(Serialize)]
struct HostJson {
    hops: Option<u8>,
    ip: Short,
    mac: Option<String>,
    receives: bool,
    sends: bool,
    ttl_max: Option<u8>,
    ttl_min: Option<u8>,
}

#[derive(Serialize)]
struct VantageJson {
    capture_host: Option<String>,
    common: Vec<String>,
    hosts: Vec<HostJson>,
    more_hosts: u64,
    rtp_seen: bool,
}

fn vantage(v: &Vantage) -> VantageJson {
    VantageJson {
        capture_host: v.capture_host().map(|a| a.to_string()),
        common: v.common.iter().map(|a| a.to_string()).collect(),
        hosts: v
            .hosts
            .iter()
            .map(|h| HostJson {
                hops: h.hops(),
                ip: format::ip(h.ip),
                mac: h.mac.map(format::mac),
                receives: h.receives,
                sends: h.sends,
                ttl_max: h.ttl.map(|t| t.1),
                ttl_min: h.ttl.map(|t| t.0),
            })
            .collect(),
        more_hosts: v.more_hosts,
        rtp_seen: v.rtp_seen,
    }
}

#[derive(Serialize)]
struct FaxJson {
    dst: Short,
    end_ts: Short,
    expected: u64,
    fec_packets: u64,
    first_frame: u64,
    first_seq: u16,
    gaps: u64,
    last_frame: u64,
    last_seq: u16,
    lost: u64,
    max_redundancy: u8,
    packets: u64,
    recovered: u64,
    resent: u64,
    signals: Vec<&'static str>,
    src: Short,
    start_ts: Short,
}

fn fax(f: &Fax) -> FaxJson {
    FaxJson {
        dst: format::addr(f.dst),
        end_ts: format::stamp(f.last_ts_ns),
        expected: f.expected,
        fec_packets: f.fec_packets,
        first_frame: f.first_frame,
        first_seq: f.first_seq,
        gaps: f.gaps,
        last_frame: f.last_frame,
        last_seq: f.last_seq,
        lost: f.lost,
        max_redundancy: f.max_redundancy,
        packets: f.packets,
        recovered: f.recovered,
        resent: f.resent,
        signals: f.signals(),
        src: format::addr(f.src),
        start_ts: format::stamp(f.first_ts_ns),
    }
}

#[derive(Serialize)]
struct PatternJson<'a> {
    call_indexes: Vec<usize>,
    code: &'static str,
    host: String,
    max_waited_ms: f64,
    summary: &'a str,
    target: Short,
}

fn pattern(p: &Pattern) -> PatternJson<'_> {
    PatternJson {
        call_indexes: p.calls.iter().map(|i| i + 1).collect(),
        code: p.code,
        host: p.host.to_string(),
        max_waited_ms: p.max_waited_ms,
        summary: &p.summary,
        target: format::addr(p.target),
    }
}

#[derive(Serialize)]
struct ReasonJson<'a> {
    cause: Option<u16>,
    frame: u64,
    protocol: &'a str,
    text: Option<&'a str>,
}

#[derive(Serialize)]
struct WarningJson<'a> {
    agent: &'a str,
    code: u16,
    frame: u64,
    text: &'a str,
}

#[derive(Serialize)]
struct MsDiagnosticJson<'a> {
    attrs: BTreeMap<&'a str, &'a str>,
    error_id: u32,
    frame: u64,
    header: &'static str,
    public: bool,
    reason: Option<&'a str>,
    source: Option<&'a str>,
    sub_code: Option<u32>,
}

fn call(d: &DiagnosedCall) -> CallJson<'_> {
    let c = &d.call;
    let frames: Vec<u64> = c.frames().collect();
    let mut reasons = Vec::new();
    let mut warnings = Vec::new();
    let mut ms_diagnostics = Vec::new();
    for seen in &c.messages {
        let m = &seen.msg;
        reasons.extend(m.reasons.iter().map(|r| ReasonJson {
            cause: r.cause,
            frame: m.frame,
            protocol: &r.protocol,
            text: r.text.as_deref(),
        }));
        warnings.extend(m.warnings.iter().map(|w| WarningJson {
            agent: &w.agent,
            code: w.code,
            frame: m.frame,
            text: &w.text,
        }));
        ms_diagnostics.extend(m.ms_diagnostics.iter().map(|d| {
            MsDiagnosticJson {
                attrs: d
                    .attrs
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect(),
                error_id: d.error_id,
                frame: m.frame,
                header: d.header.name(),
                public: d.header == MsHeader::Public,
                reason: d.reason.as_deref(),
                source: d.source.as_deref(),
                sub_code: d.sub_code,
            }
        }));
    }
    CallJson {
        index: d.index + 1,
        call_id: &c.call_id,
        from: &c.from,
        to: &c.to,
        caller: format::addr(c.caller),
        callee: format::addr(c.callee),
        state: c.state.as_str(),
        final_status: c.final_response.as_ref().map(|f| f.status.0),
        final_reason: c.final_response.as_ref().map(|f| f.reason.as_str()),
        ended_by: c.ended_by.map(|e| e.as_str()),
        start_ts: format::stamp(c.start_ts_ns),
        end_ts: format::stamp(c.end_ts_ns),
        setup_ms: c.timings.answer_ms,
        pdd_ms: c.timings.pdd_ms,
        final_ms: c.timings.final_ms,
        duration_ms: c.timings.duration_ms,
        transport: c.transport.as_str(),
        hops: c
            .hops
            .iter()
            .map(|&(a, b)| [format::addr(a), format::addr(b)])
            .collect(),
        messages: c.messages.len(),
        retransmissions: c.resent(),
        reasons,
        warnings,
        ms_diagnostics,
        findings: d.findings.iter().map(finding).collect(),
        media: d.own_streams().map(stream).collect(),
        fax: d.evidence.fax.iter().map(fax).collect(),
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
        start_ts: format::stamp(o.start_ts_ns),
        src: format::addr(o.src),
        dst: format::addr(o.dst),
    }
}
