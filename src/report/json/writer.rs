//! The writers: the report document streamed as calls finish (items spooled in their order and
//! written at the end) in the pretty layout of [`super::pretty`], and NDJSON a call a line.

use super::transport::{connection, icmp, MAX_CONNECTIONS};
use super::*;

/// The counts of the summary that come from the calls and streams as they go by.
#[derive(Default)]
struct Tally {
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
}

impl Tally {
    fn registration(&mut self, r: &Diagnosed<Registration>) {
        self.registrations += 1;
        self.failed_registrations += usize::from(Severity::failed(r.worst()));
    }
    fn peer(&mut self, p: &Diagnosed<Peer>) {
        self.peers += 1;
        self.peers_down += usize::from(Severity::failed(p.worst()));
    }
    fn transaction(&mut self, t: &Diagnosed<Transaction>) {
        self.transactions += 1;
        self.failed_transactions += usize::from(Severity::failed(t.worst()));
    }

    fn call(&mut self, d: &DiagnosedCall) {
        self.calls += 1;
        match d.worst() {
            Some(Severity::Error) => self.failed_calls += 1,
            Some(Severity::Warning) => self.degraded_calls += 1,
            _ => {}
        }
        let mut codes: Vec<&'static str> = d.findings.iter().map(|f| f.code).collect();
        codes.sort_unstable();
        codes.dedup();
        for code in codes {
            *self.by_code.entry(code).or_default() += 1;
        }
    }
}

/// The first 8 bytes of a code as a number: orders events of one frame by code, as text would.
fn code_key(code: &str) -> u64 {
    let mut b = [0u8; 8];
    for (d, s) in b.iter_mut().zip(code.bytes()) {
        *d = s;
    }
    u64::from_be_bytes(b)
}

/// `value` pretty-printed as it sits at `depth` levels inside the report (see [`super::pretty`]).
fn nested(value: &impl Serialize, depth: usize) -> io::Result<Vec<u8>> {
    Ok(super::pretty::to_vec(value, depth)?)
}

/// The JSON report, written as the run goes: items are kept rendered in spools (in bounded memory)
/// and the document is written, in the order of the schema, when the run finishes.
pub struct Writer<W: Write> {
    out: W,
    tally: Tally,
    calls: Spool,
    others: Spool,
    events: Spool,
    streams: Spool,
    connections: Spool,
    icmp: Spool,
    registrations: Spool,
    peers: Spool,
    transactions: Spool,
    dns_failures: Spool,
    /// The first error rendering an item (reported by `finish`).
    error: Option<io::Error>,
    /// Where items are rendered before they are spooled.
    scratch: Vec<u8>,
}

impl<W: Write> Writer<W> {
    pub fn new(out: W) -> Writer<W> {
        Writer {
            out,
            tally: Tally::default(),
            calls: Spool::default(),
            others: Spool::default(),
            events: Spool::default(),
            streams: Spool::default(),
            connections: Spool::default(),
            icmp: Spool::default(),
            registrations: Spool::default(),
            peers: Spool::default(),
            transactions: Spool::default(),
            dns_failures: Spool::default(),
            error: None,
            scratch: Vec::new(),
        }
    }

    /// Renders an item into the scratch buffer and spools an exact-size copy: the spool's memory
    /// budget counts what its items hold.
    fn keep(&mut self, which: fn(&mut Self) -> &mut Spool, key: Key, value: &impl Serialize) {
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        match super::pretty::write(value, 2, &mut scratch) {
            Ok(()) => which(self).push(key, scratch.as_slice().to_vec()),
            Err(e) => {
                self.error.get_or_insert(e.into());
            }
        }
        self.scratch = scratch;
    }

    /// Writes `"name": [items]` from a spool, then `,` unless it is the last field.
    fn array(&mut self, name: &str, spool: Spool, last: bool) -> io::Result<()> {
        let out = &mut self.out;
        write!(out, "  \"{name}\": [")?;
        let mut first = true;
        spool.drain(|item| {
            out.write_all(if first { b"\n    " } else { b",\n    " })?;
            first = false;
            out.write_all(item)
        })?;
        if !first {
            out.write_all(b"\n  ")?;
        }
        out.write_all(if last { b"]\n" } else { b"],\n" })
    }
}

impl<W: Write> Sink for Writer<W> {
    fn call(&mut self, d: &DiagnosedCall) {
        self.tally.call(d);
        self.keep(|w| &mut w.calls, (d.index as u64, 0), &call(d));
    }
    fn other(&mut self, dialog: &OtherDialog) {
        self.tally.other_dialogs += 1;
        self.keep(|w| &mut w.others, (dialog.first_frame, 0), &other(dialog));
    }
    fn stream(&mut self, s: &Stream) {
        self.tally.rtp_streams += 1;
        let v = StreamJson {
            call: Some(s.call.map(|i| i + 1)),
            ..stream(s)
        };
        self.keep(|w| &mut w.streams, (s.first_frame, 0), &v);
    }
    fn connection(&mut self, c: &Connection) {
        if let Some(v) = connection(c) {
            self.keep(|w| &mut w.connections, (c.first_frame, 0), &v);
        }
    }
    fn transport_event(&mut self, e: &TransportEvent) {
        let key = (e.first_frame, code_key(e.code));
        self.keep(|w| &mut w.events, key, &transport_event(e));
    }
    fn transaction(&mut self, tx: &Diagnosed<Transaction>) {
        self.tally.transaction(tx);
        let v = json_items::transaction(tx);
        self.keep(|w| &mut w.transactions, (tx.request.frame, 0), &v);
    }
    fn registration(&mut self, reg: &Diagnosed<Registration>) {
        self.tally.registration(reg);
        let v = json_items::registration(reg);
        self.keep(|w| &mut w.registrations, (reg.first.frame, 0), &v);
    }
    fn peer(&mut self, peer: &Diagnosed<Peer>) {
        self.tally.peer(peer);
        let v = json_items::peer(peer);
        self.keep(|w| &mut w.peers, (peer.first_frame, 0), &v);
    }
    fn dns_failure(&mut self, lookup: &Diagnosed<Lookup>) {
        let v = dns::dns_failure(lookup);
        self.keep(|w| &mut w.dns_failures, (lookup.first_frame(), 0), &v);
    }
}

impl<W: Write + Send> Output for Writer<W> {
    fn icmp_error(&mut self, e: &IcmpError) {
        self.keep(|w| &mut w.icmp, (e.frame, 0), &icmp(e));
    }

    fn finish(&mut self, summary: analysis::Summary) -> io::Result<()> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        let t = std::mem::take(&mut self.tally);
        let head = Head {
            schema_version: SCHEMA_VERSION,
            tool: Tool {
                name: "callscope",
                version: env!("CARGO_PKG_VERSION"),
            },
            captures: summary.captures.iter().map(capture).collect(),
            summary: Summary {
                failed_calls: t.failed_calls,
                degraded_calls: t.degraded_calls,
                by_code: t.by_code,
                rtp_streams: t.rtp_streams,
                files: summary.captures.len(),
                packets: summary.captures.iter().map(|c| c.packets).sum(),
                sip_messages: summary.sip.messages,
                sip_resent: summary.sip.resent,
                sip_untracked: summary.sip.untracked,
                limits: Limits {
                    untracked_tcp_segments: summary.limits.untracked_tcp_segments,
                    untracked_rtp_packets: summary.limits.untracked_rtp_packets,
                    untracked_udptl_packets: summary.limits.untracked_udptl_packets,
                    tcp_reassembly_bytes_skipped: summary.tcp_reassembly.bytes_skipped,
                    tcp_reassembly_streams_over_limit: summary.tcp_reassembly.streams_over_limit,
                    untracked_icmp_errors: summary.limits.untracked_icmp,
                    untracked_dns_queries: summary.limits.untracked_dns_queries,
                    untracked_transactions: summary.limits.untracked_transactions,
                    untracked_registrations: summary.limits.untracked_registrations,
                    early_peer_rows: summary.limits.early_peer_rows,
                    untracked_keepalive_pings: summary.limits.untracked_keepalive_pings,
                    out_of_order_packets: summary.limits.out_of_order,
                    peak_open_call_ids: summary.limits.peak_open_call_ids,
                    peak_open_streams: summary.limits.peak_open_streams,
                    peak_open_connections: summary.limits.peak_open_connections,
                },
                calls: t.calls,
                other_dialogs: t.other_dialogs,
                registrations: t.registrations,
                failed_registrations: t.failed_registrations,
                peers: t.peers,
                peers_down: t.peers_down,
                transactions: t.transactions,
                failed_transactions: t.failed_transactions,
                sip_requests: &summary.sip.requests,
                sip_responses: summary
                    .sip
                    .responses
                    .iter()
                    .map(|(s, n)| (s.0, *n))
                    .collect(),
                sip_malformed: &summary.sip_malformed,
                filtered_calls: summary.filtered_calls,
                unpatterned_calls: summary.overview.unpatterned,
                ended_calls: summary.overview.durations.ended,
                vantage: vantage(&summary.vantage),
            },
            patterns: summary
                .overview
                .patterns
                .iter()
                .map(|p| failure_pattern(p, &summary.overview))
                .collect(),
            duration_patterns: summary
                .overview
                .durations
                .patterns
                .iter()
                .map(|p| duration_pattern(p, &summary.overview.durations))
                .collect(),
        };
        // The head object without its closing brace, then the arrays.
        let mut head = nested(&head, 0)?;
        // Pretty output ends with the object's closing "\n}".
        head.truncate(head.len().saturating_sub(2));
        self.out.write_all(&head)?;
        self.out.write_all(b",\n")?;
        let calls = std::mem::take(&mut self.calls);
        self.array("calls", calls, false)?;
        let others = std::mem::take(&mut self.others);
        self.array("other_dialogs", others, false)?;
        let events = std::mem::take(&mut self.events);
        self.array("transport_events", events, false)?;
        let patterns: Vec<PatternJson> = summary.patterns.iter().map(pattern).collect();
        self.out.write_all(b"  \"failover_patterns\": ")?;
        self.out.write_all(&nested(&patterns, 1)?)?;
        self.out.write_all(b",\n")?;
        let streams = std::mem::take(&mut self.streams);
        self.array("rtp_streams", streams, false)?;
        let connections = std::mem::take(&mut self.connections);
        self.array("tcp_connections", take(connections, MAX_CONNECTIONS), false)?;
        let icmp = std::mem::take(&mut self.icmp);
        self.array("icmp_errors", icmp, false)?;
        let registrations = std::mem::take(&mut self.registrations);
        self.array("registrations", registrations, false)?;
        let peers = std::mem::take(&mut self.peers);
        self.array("peers", peers, false)?;
        let transactions = std::mem::take(&mut self.transactions);
        self.array("transactions", transactions, false)?;
        let dns_failures = std::mem::take(&mut self.dns_failures);
        self.array("dns_failures", dns_failures, true)?;
        self.out.write_all(b"}\n")?;
        self.out.flush()
    }
}

/// The first `n` items of a spool, as a spool.
fn take(spool: Spool, n: usize) -> Spool {
    if spool.len() <= n as u64 {
        return spool;
    }
    let mut out = Spool::default();
    let mut k = 0u64;
    // Reading back is the only way to know the first ones by key; a spool this big is rare
    // (more than MAX_CONNECTIONS failed or SIP connections).
    let _ = spool.drain(|item| {
        if k < n as u64 {
            out.push((k, 0), item.to_vec());
        }
        k += 1;
        Ok(())
    });
    out
}

/// The head of the report: everything before the arrays of items.
#[derive(Serialize)]
struct Head<'a> {
    schema_version: u32,
    tool: Tool,
    captures: Vec<Capture<'a>>,
    summary: Summary<'a>,
    patterns: Vec<FailurePatternJson<'a>>,
    duration_patterns: Vec<DurationPatternJson>,
}

/// One line per call, written as each call is finalized (NDJSON, for log pipelines): the call's
/// object as in the report's `calls`.
pub struct NdjsonWriter<W: Write> {
    out: W,
    error: Option<io::Error>,
}

impl<W: Write> NdjsonWriter<W> {
    pub fn new(out: W) -> NdjsonWriter<W> {
        NdjsonWriter { out, error: None }
    }
}

impl<W: Write> Sink for NdjsonWriter<W> {
    fn call(&mut self, d: &DiagnosedCall) {
        if self.error.is_some() {
            return;
        }
        let written = serde_json::to_writer(&mut self.out, &call(d))
            .map_err(io::Error::from)
            .and_then(|()| self.out.write_all(b"\n"));
        if let Err(e) = written {
            self.error = Some(e);
        }
    }
    fn other(&mut self, _: &OtherDialog) {}
    fn stream(&mut self, _: &Stream) {}
    fn connection(&mut self, _: &Connection) {}
    fn transport_event(&mut self, _: &TransportEvent) {}
}

impl<W: Write + Send> Output for NdjsonWriter<W> {
    fn icmp_error(&mut self, _: &IcmpError) {}
    fn finish(&mut self, _: analysis::Summary) -> io::Result<()> {
        match self.error.take() {
            Some(e) => Err(e),
            None => self.out.flush(),
        }
    }
}

/// Writes one line per call of a collected analysis (see [`NdjsonWriter`]).
pub fn write_ndjson(analysis: &Analysis, out: impl Write + Send) -> io::Result<()> {
    analysis.replay(&mut NdjsonWriter::new(out))
}

/// Writes the report of a collected analysis as pretty-printed JSON followed by a newline.
pub fn write(analysis: &Analysis, out: impl Write + Send) -> io::Result<()> {
    analysis.replay(&mut Writer::new(out))
}
