//! The terminal report: what the capture held, then the calls; plus the call list and the ladder
//! diagram of one call.
//!
//! Every string that comes from a capture goes through [`escape`], so a crafted capture cannot drive
//! the terminal.

use std::io::{self, Write};

use super::format::rfc3339;
use super::json::{link_type_name, wireshark_filter};
use super::spool::{Firsts, Spool};
use super::text_items::Items;
use super::words::{
    clock, clock_s, clock_span, duration_or_dash, duration_pattern_what, fax_line, interval,
    pattern_outcome, sdp_note, short_uri, sparkline, truncate, vantage_line,
};
use crate::analysis::patterns::Pattern;
use crate::analysis::{Analysis, CaptureSummary, Output, Overview, Summary};
use crate::correlate::calls::{Call, OtherDialog};
use crate::correlate::dns::Lookup;
use crate::correlate::media::Stream;
use crate::correlate::peers::Peer;
use crate::correlate::registrations::Registration;
use crate::correlate::transactions::Transaction;
use crate::correlate::transport::{Connection, IcmpError};
use crate::diagnose::{Diagnosed, DiagnosedCall, Severity, Sink, TransportEvent};
use crate::words::{frames_list, plural};

/// How the text report is written.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// Colour severities with ANSI escapes (for a terminal).
    pub color: bool,
    /// List only calls with an error or warning finding.
    pub only_failed: bool,
    /// List every call and detail every call with a finding (by default the list stops at
    /// [`LIST_ROWS`] rows and the details are the worst call of each failure pattern).
    pub all: bool,
}

/// Rows of the call list without `--all`.
pub const LIST_ROWS: usize = 50;
/// Characters of the timeline's sparkline at most.
const SPARK_WIDTH: i64 = 60;
/// Failure patterns the report lists (and shows the worst call of).
pub const PATTERN_LINES: usize = 20;
/// Calls from which the summary shows the timeline.
const TIMELINE_CALLS: u64 = 10;

impl Options {
    /// `x code` in the severity's colour.
    pub(super) fn tag(&self, severity: Severity, code: &str) -> String {
        let text = format!("{} {code}", marker(severity));
        if !self.color {
            return text;
        }
        let colour = match severity {
            Severity::Error => "\x1b[1;31m",
            Severity::Warning => "\x1b[33m",
            Severity::Info => "\x1b[36m",
        };
        format!("{colour}{text}\x1b[0m")
    }
}

/// The default report of `analyze`, written as the run goes: capture summary, SIP summary with the
/// timeline, the failure patterns (the first [`PATTERN_LINES`]), the call list (its first
/// [`LIST_ROWS`] rows), the worst call of each pattern listed in detail, and the transport failures no call explains; with [`Options::all`], every
/// row and every call with findings in detail (worst first).
/// Rows and verdicts are rendered as calls finish and kept in spools or, for the capped list, the
/// first rows only (bounded memory); the report is written in order when the run finishes.
pub struct Writer<W: Write> {
    out: W,
    options: Options,
    /// Only the call list (`callscope calls`), every row.
    list_only: bool,
    rows: Spool,
    /// The first rows by call index, when the list is capped.
    first_rows: Firsts,
    /// Rows the list would have without its cap.
    listed: u64,
    verdicts: Spool,
    unlinked: Spool,
    /// Registrations, peer pairs and other transactions.
    items: Items,
    calls: u64,
    others: u64,
    error: Option<io::Error>,
}

impl<W: Write> Writer<W> {
    pub fn new(out: W, options: Options) -> Writer<W> {
        Writer {
            out,
            options,
            list_only: false,
            rows: Spool::default(),
            first_rows: Firsts::new(LIST_ROWS),
            listed: 0,
            verdicts: Spool::default(),
            unlinked: Spool::default(),
            items: Items::default(),
            calls: 0,
            others: 0,
            error: None,
        }
    }

    /// Only the call list, one line per call, all of them.
    pub fn call_list(out: W) -> Writer<W> {
        Writer {
            list_only: true,
            ..Writer::new(out, Options::default())
        }
    }

    fn render(&mut self, f: impl FnOnce(&mut Vec<u8>) -> io::Result<()>) -> Option<Vec<u8>> {
        render_noting(&mut self.error, f)
    }
}

/// The line under a list printed in part: how many more `noun`s (`which`: what they are) there
/// are, and where they all are.
pub(super) fn write_more(
    out: &mut impl Write,
    more: u64,
    noun: &str,
    which: &str,
) -> io::Result<()> {
    if more == 0 {
        return Ok(());
    }
    let s = if more == 1 { "" } else { "s" };
    writeln!(
        out,
        "  ... {more} more {noun}{s}{which} (--all lists every {noun}; --json has them all)"
    )
}

/// Renders into a buffer, keeping the first error (for the report's result) in `error`.
fn render_noting(
    error: &mut Option<io::Error>,
    f: impl FnOnce(&mut Vec<u8>) -> io::Result<()>,
) -> Option<Vec<u8>> {
    let mut buf = Vec::new();
    match f(&mut buf) {
        Ok(()) => Some(buf),
        Err(e) => {
            error.get_or_insert(e);
            None
        }
    }
}

impl<W: Write> Sink for Writer<W> {
    fn call(&mut self, d: &DiagnosedCall) {
        self.calls += 1;
        let options = self.options;
        let worst = d.worst();
        if !(options.only_failed && worst.is_none_or(|w| w > Severity::Warning)) {
            self.listed += 1;
            let key = (d.index as u64, 0);
            if self.list_only || options.all {
                if let Some(row) = self.render(|b| write_row(d, &options, b)) {
                    self.rows.push(key, row);
                }
            } else {
                let error = &mut self.error;
                self.first_rows
                    .offer(key, || render_noting(error, |b| write_row(d, &options, b)));
            }
        }
        if let (Some(worst), false, true) = (worst, self.list_only, options.all) {
            if let Some(v) = self.render(|b| write_verdict(d, &options, b)) {
                self.verdicts.push((worst as u64, d.index as u64), v);
            }
        }
    }
    fn other(&mut self, _: &OtherDialog) {
        self.others += 1;
    }
    fn stream(&mut self, _: &Stream) {}
    fn connection(&mut self, _: &Connection) {}
    fn transport_event(&mut self, e: &TransportEvent) {
        if !e.calls.is_empty() || self.list_only {
            return;
        }
        if let Some(text) = self.render(|out| {
            writeln!(
                out,
                "  {} {}: {}",
                marker(e.severity),
                e.code,
                escape(&e.summary)
            )?;
            writeln!(out, "      cause: {}", escape(&e.cause))?;
            writeln!(out, "      evidence: {}", frames_list(&e.frames, 12))
        }) {
            self.unlinked.push((e.first_frame, 0), text);
        }
    }
    fn transaction(&mut self, tx: &Diagnosed<Transaction>) {
        if !self.list_only {
            self.items.transaction(tx, &self.options);
        }
    }
    fn registration(&mut self, reg: &Diagnosed<Registration>) {
        if !self.list_only {
            self.items.registration(reg, &self.options);
        }
    }
    fn peer(&mut self, peer: &Diagnosed<Peer>) {
        if !self.list_only {
            self.items.peer(peer, &self.options);
        }
    }
    fn dns_failure(&mut self, lookup: &Diagnosed<Lookup>) {
        if !self.list_only {
            self.items.dns_failure(lookup, &self.options);
        }
    }
}

impl<W: Write + Send> Output for Writer<W> {
    fn icmp_error(&mut self, _: &IcmpError) {}

    fn finish(&mut self, summary: Summary) -> io::Result<()> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        let rows = std::mem::take(&mut self.rows);
        let out = &mut self.out;
        if self.list_only {
            write_list_header(out)?;
            rows.drain(|row| out.write_all(row))?;
            return out.flush();
        }
        for c in &summary.captures {
            write_capture(c, out)?;
        }
        write_sip_summary(&summary, self.calls, self.others, out)?;
        let overview = &summary.overview;
        write_timeline(overview, out)?;
        write_patterns(overview, &self.options, out)?;
        write_durations(overview, out)?;
        if self.calls > 0 {
            writeln!(out)?;
            write_list_header(out)?;
            let first = self.first_rows.take_sorted();
            let more = self.listed.saturating_sub(rows.len() + first.len() as u64);
            rows.drain(|row| out.write_all(row))?;
            for (_, row) in &first {
                out.write_all(row)?;
            }
            write_more(out, more, "call", "")?;
        }
        if !summary.patterns.is_empty() {
            writeln!(out, "\nFailovers (one dead target behind several calls):")?;
            for p in &summary.patterns {
                writeln!(
                    out,
                    "  {}: {}",
                    self.options.tag(Severity::Warning, p.code),
                    escape(&p.summary)
                )?;
            }
        }
        if self.options.all {
            std::mem::take(&mut self.verdicts).drain(|v| out.write_all(v))?;
        } else {
            for p in overview.patterns.iter().take(PATTERN_LINES) {
                write_verdict(&p.worst, &self.options, &mut *out)?;
            }
        }
        let unlinked = std::mem::take(&mut self.unlinked);
        if unlinked.len() > 0 {
            writeln!(
                out,
                "\nTransport failures not tied to a call in this capture:"
            )?;
            unlinked.drain(|e| out.write_all(e))?;
        }
        std::mem::take(&mut self.items).write(out)?;
        out.flush()
    }
}

/// Writes the default report of a collected analysis (see [`Writer`]).
pub fn write(analysis: &Analysis, options: &Options, out: impl Write + Send) -> io::Result<()> {
    analysis.replay(&mut Writer::new(out, *options))
}

/// The timeline as sparklines, for a capture with enough calls to make one: calls started per
/// interval, and those that failed.
fn write_timeline(overview: &Overview, out: &mut impl Write) -> io::Result<()> {
    let t = overview.timeline.coarsened(SPARK_WIDTH);
    let intervals = t.intervals();
    let (Some(first), Some(last)) = (intervals.first(), intervals.last()) else {
        return Ok(());
    };
    if intervals.len() < 2 || overview.calls < TIMELINE_CALLS {
        return Ok(());
    }
    let width = interval(t.width_ns);
    let started: Vec<u64> = intervals.iter().map(|(_, b)| b.started).collect();
    let failed: Vec<u64> = intervals.iter().map(|(_, b)| b.failed_calls()).collect();
    let span = format!("{}–{}", clock_s(first.0), clock_s(last.0 + t.width_ns));
    writeln!(
        out,
        "  calls per {width}: {} {span}, at most {}",
        sparkline(&started),
        started.iter().max().unwrap_or(&0)
    )?;
    if failed.iter().any(|&n| n > 0) {
        writeln!(
            out,
            "  failed per {width}: {} at most {}",
            sparkline(&failed),
            failed.iter().max().unwrap_or(&0)
        )?;
    }
    Ok(())
}

/// One failure pattern on one line: how many calls, their share, the primary finding's code, how
/// they ended and where, when, and the example calls.
pub fn pattern_line(p: &Pattern, overview: &Overview, options: &Options) -> String {
    let (what, when) = pattern_parts(p, overview, options);
    format!("{what}  {when}")
}

/// A failure pattern in two parts, for a narrow screen that puts them on two lines: what (how many
/// calls, their share, the code, how they ended and where), then when and the example calls.
pub fn pattern_parts(p: &Pattern, overview: &Overview, options: &Options) -> (String, String) {
    let examples = if p.worst.index == p.first.index {
        format!("#{}", p.first.index + 1)
    } else {
        format!("#{}, worst #{}", p.first.index + 1, p.worst.index + 1)
    };
    let when = clock_span(p.first_ts_ns, p.last_ts_ns);
    let what = format!(
        "{:>7} {:<5} {:>5.1}%  {}  {}",
        p.calls,
        if p.calls == 1 { "call" } else { "calls" },
        overview.share(p.calls),
        options.tag(p.severity, p.key.code),
        escape(&pattern_outcome(p)),
    );
    (what, format!("{when}  e.g. {examples}"))
}

/// The failure patterns: one line each with the finding's summary under it, most calls first.
fn write_patterns(overview: &Overview, options: &Options, out: &mut impl Write) -> io::Result<()> {
    if overview.patterns.is_empty() {
        return Ok(());
    }
    let failing: u64 =
        overview.patterns.iter().map(|p| p.calls).sum::<u64>() + overview.unpatterned;
    writeln!(
        out,
        "\nFailure patterns ({failing} of {} with findings, {} without):",
        plural(overview.calls, "call"),
        overview.clean
    )?;
    for p in overview.patterns.iter().take(PATTERN_LINES) {
        writeln!(out, "{}", pattern_line(p, overview, options))?;
        writeln!(out, "        {}", escape(&p.finding().summary))?;
    }
    if let Some(rest) = overview.patterns.get(PATTERN_LINES..) {
        writeln!(
            out,
            "  and {} more patterns of {} (--json lists them all)",
            rest.len(),
            plural(rest.iter().map(|p| p.calls).sum(), "call")
        )?;
    }
    if overview.unpatterned > 0 {
        writeln!(
            out,
            "  and {} in further patterns (more than {} distinct causes)",
            plural(overview.unpatterned, "call"),
            crate::analysis::patterns::MAX_PATTERNS
        )?;
    }
    Ok(())
}

/// The durations answered calls shared, with their likely cause: one line each, the cause under it.
fn write_durations(overview: &Overview, out: &mut impl Write) -> io::Result<()> {
    let d = &overview.durations;
    if d.patterns.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "\nCalls ending at the same duration (of {} ended by BYE):",
        plural(d.ended, "answered call")
    )?;
    for p in &d.patterns {
        writeln!(
            out,
            "{:>7} {:<5} {:>5.1}%  {}  {}  e.g. #{}",
            p.calls,
            if p.calls == 1 { "call" } else { "calls" },
            d.share(p.calls),
            duration_pattern_what(p),
            clock_span(p.first_ts_ns, p.last_ts_ns),
            p.first_index + 1
        )?;
        writeln!(out, "        likely cause: {}", p.cause.explanation())?;
    }
    Ok(())
}

/// One line on the TLS connections: how many were decrypted, and why the others were not.
fn write_tls_summary(summary: &Summary, out: &mut impl Write) -> io::Result<()> {
    let tls = &summary.tls;
    if tls.connections == 0 {
        return Ok(());
    }
    let why = |code: &str| match code {
        "decrypted" => "decrypted",
        "no_keys_given" => "encrypted, no keys given (--keylog, --tls-key)",
        "no_encrypted_records" => "handshake only",
        "no_key" => "no key for the session in the key logs",
        "no_key_ephemeral" => "(EC)DHE: needs a key log",
        "rsa_key_mismatch" => "RSA key not the server's",
        "handshake_missing" => "handshake not captured",
        "unsupported_suite" => "unsupported cipher suite",
        "unsupported_version" => "unsupported TLS version",
        _ => "did not authenticate with the key given",
    };
    let parts: Vec<String> = tls
        .outcomes
        .iter()
        .map(|(code, n)| format!("{n} {}", why(code)))
        .collect();
    writeln!(
        out,
        "TLS: {}: {}",
        plural(tls.connections, "connection"),
        parts.join(", ")
    )?;
    if tls.records_lost > 0 || tls.records_damaged > 0 {
        writeln!(
            out,
            "  {} lost in gaps of the capture (skipped), {} damaged, in decrypted connections",
            plural(tls.records_lost, "TLS record"),
            tls.records_damaged
        )?;
    }
    Ok(())
}

/// The SIP counts and what the limits left out.
fn write_sip_summary(
    summary: &Summary,
    calls: u64,
    others: u64,
    out: &mut impl Write,
) -> io::Result<()> {
    let sip = &summary.sip;
    writeln!(
        out,
        "\nSIP: {}, {} retransmitted, {}, {}",
        plural(sip.messages, "message"),
        sip.resent,
        plural(calls, "call"),
        plural(others, "other dialog")
    )?;
    if summary.filtered_calls > 0 {
        writeln!(
            out,
            "  {} left out by the filter (numbers of frames and calls are the whole capture's)",
            plural(summary.filtered_calls, "call")
        )?;
    }
    writeln!(out, "Vantage: {}", escape(&vantage_line(&summary.vantage)))?;
    if sip.untracked > 0 {
        writeln!(
            out,
            "  {} SIP messages counted but not correlated (memory limit on Call-IDs or messages per call)",
            sip.untracked
        )?;
    }
    let l = &summary.limits;
    if l.out_of_order > 0 {
        writeln!(
            out,
            "  {} packets more than a second older than one before them (an unsorted or merged capture): analysed in the order they came",
            l.out_of_order
        )?;
    }
    if l.untracked_tcp_segments + l.untracked_rtp_packets + l.untracked_udptl_packets > 0 {
        writeln!(
            out,
            "  memory limits: {} TCP segments, {} RTP and {} UDPTL packets beyond the connection/stream limits not analysed",
            l.untracked_tcp_segments, l.untracked_rtp_packets, l.untracked_udptl_packets
        )?;
    }
    if l.untracked_dns_queries > 0 {
        writeln!(
            out,
            "  memory limits: {} DNS queries beyond the open lookups' limit not matched",
            l.untracked_dns_queries
        )?;
    }
    if l.untracked_transactions + l.untracked_registrations > 0 {
        writeln!(
            out,
            "  memory limits: {} non-INVITE requests beyond the open transactions' limit and {} REGISTERs beyond the open bindings' limit not followed",
            l.untracked_transactions, l.untracked_registrations
        )?;
    }
    if l.early_peer_rows + l.untracked_keepalive_pings > 0 {
        writeln!(
            out,
            "  memory limits: {} SIP peer rows listed before their pair went quiet (a pair may have several rows), {} keep-alive pings beyond the pending pings' limit not followed",
            l.early_peer_rows, l.untracked_keepalive_pings
        )?;
    }
    for (reason, n) in &summary.sip_malformed {
        writeln!(out, "  malformed SIP: {n} × {reason}")?;
    }
    let r = &summary.tcp_reassembly;
    for (reason, n) in &r.framing_errors {
        writeln!(out, "  SIP over TCP could not be framed: {n} × {reason}")?;
    }
    if r.gaps_skipped + r.bytes_skipped + r.streams_over_limit > 0 {
        writeln!(
            out,
            "  SIP over TCP: {} gaps skipped, {} bytes skipped, {} segments over the stream limit",
            r.gaps_skipped, r.bytes_skipped, r.streams_over_limit
        )?;
    }
    write_tls_summary(summary, out)
}

/// `x` error, `!` warning, `i` info.
fn marker(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "x",
        Severity::Warning => "!",
        Severity::Info => "i",
    }
}

/// One call's verdict: its findings with evidence (primary first), its media, a Wireshark filter.
pub fn write_verdict(d: &DiagnosedCall, options: &Options, mut out: impl Write) -> io::Result<()> {
    let call = &d.call;
    writeln!(
        out,
        "\n#{} {}  {} → {}  {}{}",
        d.index + 1,
        clock(call.start_ts_ns),
        escape(short_uri(&call.from)),
        escape(short_uri(&call.to)),
        call.state.as_str(),
        final_suffix(call)
    )?;
    if d.findings.is_empty() {
        writeln!(out, "  no problem found")?;
    }
    for (k, f) in d.findings.iter().enumerate() {
        let lead = if k == 0 { "cause" } else { "also" };
        writeln!(
            out,
            "  {} [{lead}]: {}",
            options.tag(f.severity, f.code),
            escape(&f.summary)
        )?;
        writeln!(out, "      {}", escape(&f.cause))?;
        writeln!(out, "      evidence: {}", frames_list(&f.frames, 12))?;
    }
    for s in d.own_streams() {
        let m = &s.summary;
        writeln!(
            out,
            "  media {} → {} {} {} pkts, lost {} ({:.1}%), jitter mean {:.2} / max {:.2} ms{}",
            s.src,
            s.dst,
            escape(s.codec.as_deref().unwrap_or("?")),
            m.packets,
            m.lost,
            m.lost_pct,
            m.mean_jitter_ms,
            m.max_jitter_ms,
            s.mos.map(|v| format!(", MOS {v:.2}")).unwrap_or_default()
        )?;
    }
    for f in &d.evidence.fax {
        writeln!(out, "  fax {}", fax_line(f))?;
    }
    writeln!(
        out,
        "  wireshark: {}",
        escape(&wireshark_filter(&call.call_id))
    )
}

fn write_capture(c: &CaptureSummary, out: &mut impl Write) -> io::Result<()> {
    writeln!(out, "{}", escape(&c.path))?;
    let links: Vec<String> = c.link_types.iter().map(|&l| link_type_name(l)).collect();
    writeln!(
        out,
        "  format {}{}, link {}, {} packets, {} bytes",
        c.format,
        if c.gzip { " (gzip)" } else { "" },
        if links.is_empty() {
            "-".to_string()
        } else {
            links.join(", ")
        },
        c.packets,
        c.bytes
    )?;
    if let (Some(first), Some(last), Some(dur)) = (c.first_ts_ns, c.last_ts_ns, c.duration_ns()) {
        writeln!(
            out,
            "  from {} to {} ({:.3} s)",
            rfc3339(first),
            rfc3339(last),
            dur as f64 / 1e9
        )?;
    }
    let d = &c.decode;
    writeln!(
        out,
        "  decoded: {} IPv4, {} IPv6, {} UDP, {} TCP, {} ICMP, {} other IP, {} non-IP",
        d.ipv4, d.ipv6, d.udp, d.tcp, d.icmp, d.other_ip, d.non_ip
    )?;
    if d.fragments > 0 {
        writeln!(
            out,
            "  IP fragments: {} ({} datagrams reassembled, {} sets incomplete)",
            d.fragments, d.reassembled, d.incomplete_fragment_sets
        )?;
    }
    if d.filtered_out > 0 {
        writeln!(out, "  {} packets left out by the filter", d.filtered_out)?;
    }
    if d.snaplen_truncated > 0 {
        writeln!(
            out,
            "  {} packets cut short by the snapshot length",
            d.snaplen_truncated
        )?;
    }
    for (reason, n) in &d.undecodable {
        writeln!(out, "  not fully decoded: {n} × {reason}")?;
    }
    if d.hep > 0 {
        let carried: Vec<String> = d
            .hep_payloads
            .iter()
            .map(|(kind, n)| format!("{n} {kind}"))
            .collect();
        writeln!(
            out,
            "  HEP: {} packets unwrapped ({})",
            d.hep,
            carried.join(", ")
        )?;
    }
    for w in &c.warnings {
        writeln!(
            out,
            "  warning at byte {}: {}",
            w.offset,
            escape(&w.message)
        )?;
    }
    if c.warnings_dropped > 0 {
        writeln!(out, "  ... and {} more warnings", c.warnings_dropped)?;
    }
    Ok(())
}

/// Writes the call list of a collected analysis, one line per call.
pub fn write_calls(analysis: &Analysis, out: impl Write + Send) -> io::Result<()> {
    analysis.replay(&mut Writer::call_list(out))
}

/// The call list's header line.
fn write_list_header(out: &mut impl Write) -> io::Result<()> {
    writeln!(
        out,
        "{:>4}  {:<12}  {:<44}  {:<11}  {:>6}  {:>7}  {:>8}  {:>4}  {:<9}  finding",
        "#",
        "start (UTC)",
        "from → to",
        "state",
        "status",
        "setup",
        "duration",
        "msgs",
        "transport"
    )
}

/// One line of the call list, with the call's primary finding.
fn write_row(d: &DiagnosedCall, options: &Options, out: &mut impl Write) -> io::Result<()> {
    use std::fmt::Write as _;
    let call = &d.call;
    let status = call
        .final_response
        .as_ref()
        .map(|r| r.status.to_string())
        .unwrap_or_else(|| "-".to_string());
    let parties = format!("{} → {}", short_uri(&call.from), short_uri(&call.to));
    // Formatted into a string first: padding writes a piece per fill character, which costs far
    // less there than through `io::Write`.
    let mut line = String::with_capacity(160);
    writeln!(
        line,
        "{:>4}  {:<12}  {:<44}  {:<11}  {:>6}  {:>7}  {:>8}  {:>4}  {:<9}  {}",
        d.index + 1,
        clock(call.start_ts_ns),
        escape(&truncate(&parties, 44)),
        call.state.as_str(),
        status,
        duration_or_dash(call.timings.answer_ms.or(call.timings.final_ms)),
        duration_or_dash(call.timings.duration_ms),
        call.messages.len(),
        call.transport.as_str(),
        d.findings
            .first()
            .map_or_else(|| "-".to_string(), |f| options.tag(f.severity, f.code))
    )
    .map_err(io::Error::other)?;
    out.write_all(line.as_bytes())
}

/// One call as a line of a list about 80 columns wide (a terminal browser): number, start, state,
/// final status, the primary finding, then the parties (cut to fit by the viewer). Escaped.
pub fn short_row(d: &DiagnosedCall) -> String {
    let status = d
        .final_response
        .as_ref()
        .map(|r| r.status.to_string())
        .unwrap_or_else(|| "-".to_string());
    let finding = d.findings.first().map_or_else(
        || "-".to_string(),
        |f| format!("{} {}", marker(f.severity), f.code),
    );
    format!(
        "{:>6}  {}  {:<10}  {:>3}  {:<26}  {} → {}",
        d.index + 1,
        clock(d.start_ts_ns),
        d.state.as_str(),
        status,
        finding,
        escape(short_uri(&d.from)),
        escape(short_uri(&d.to))
    )
}

/// What a search of the call list looks in, lower case: the number, the parties, the state, the
/// final status, the finding codes, the Call-ID and the addresses of its SIP.
pub fn search_text(d: &DiagnosedCall) -> String {
    let mut out = format!(
        "#{} {} {} {} {}",
        d.index + 1,
        d.from,
        d.to,
        d.state.as_str(),
        d.final_response
            .as_ref()
            .map(|r| format!("{} {}", r.status, r.reason))
            .unwrap_or_default()
    );
    for f in &d.findings {
        out.push(' ');
        out.push_str(f.code);
    }
    out.push(' ');
    out.push_str(&d.call_id);
    let mut seen = Vec::new();
    for (a, b) in &d.hops {
        for ip in [a.ip(), b.ip()] {
            if !seen.contains(&ip) {
                seen.push(ip);
                out.push_str(&format!(" {ip}"));
            }
        }
    }
    out.to_lowercase()
}

/// Every RTP stream in the columns of `tshark -q -z rtp,streams` (times relative to the first frame
/// of the capture), for side-by-side comparison; streams are kept rendered (but for their times,
/// which need the capture's start) until the run finishes, then written by first frame.
pub struct StreamsWriter<W: Write> {
    out: W,
    streams: Spool,
}

impl<W: Write> StreamsWriter<W> {
    pub fn new(out: W) -> StreamsWriter<W> {
        StreamsWriter {
            out,
            streams: Spool::default(),
        }
    }
}

impl<W: Write> Sink for StreamsWriter<W> {
    fn call(&mut self, _: &DiagnosedCall) {}
    fn other(&mut self, _: &OtherDialog) {}
    fn stream(&mut self, s: &Stream) {
        let m = &s.summary;
        let lost = format!("{} ({:.1}%)", m.lost, m.lost_pct);
        let mut item = Vec::new();
        item.extend_from_slice(&s.first_ts_ns.to_le_bytes());
        item.extend_from_slice(&s.last_ts_ns.to_le_bytes());
        item.extend_from_slice(
            format!(
                " {:>15} {:>5} {:>15} {:>5} 0x{:08X} {:>12} {:>6} {:>12} {:>15.3} {:>15.3} {:>15.3} {:>15.3} {:>15.3} {:>15.3} {:>9}  {}\n",
                s.src.ip(),
                s.src.port(),
                s.dst.ip(),
                s.dst.port(),
                s.ssrc,
                escape(s.codec.as_deref().unwrap_or("?")),
                m.packets,
                lost,
                m.min_delta_ms.unwrap_or(-1.0),
                m.mean_delta_ms,
                m.max_delta_ms,
                m.min_jitter_ms.unwrap_or(-1.0),
                m.mean_jitter_ms,
                m.max_jitter_ms,
                if m.problems { "X" } else { "" },
                s.call.map(|i| format!("#{}", i + 1)).unwrap_or_else(|| "-".to_string())
            )
            .as_bytes(),
        );
        self.streams.push((s.first_frame, 0), item);
    }
    fn connection(&mut self, _: &Connection) {}
    fn transport_event(&mut self, _: &TransportEvent) {}
}

impl<W: Write + Send> Output for StreamsWriter<W> {
    fn icmp_error(&mut self, _: &IcmpError) {}

    fn finish(&mut self, summary: Summary) -> io::Result<()> {
        let t0 = summary
            .captures
            .iter()
            .filter_map(|c| c.first_ts_ns)
            .min()
            .unwrap_or(0);
        let out = &mut self.out;
        writeln!(
            out,
            "{:>13} {:>13} {:>15} {:>5} {:>15} {:>5} {:>10} {:>12} {:>6} {:>12} {:>15} {:>15} {:>15} {:>15} {:>15} {:>15} {:>9}  call",
            "Start time", "End time", "Src IP addr", "Port", "Dest IP addr", "Port", "SSRC", "Payload", "Pkts",
            "Lost", "Min Delta(ms)", "Mean Delta(ms)", "Max Delta(ms)", "Min Jitter(ms)", "Mean Jitter(ms)",
            "Max Jitter(ms)", "Problems?"
        )?;
        std::mem::take(&mut self.streams).drain(|item| {
            let ts = |i: usize| i64::from_le_bytes(item[i..i + 8].try_into().expect("a time")) - t0;
            write!(
                out,
                "{:>13.6} {:>13.6}",
                ts(0) as f64 / 1e9,
                ts(8) as f64 / 1e9
            )?;
            out.write_all(&item[16..])
        })?;
        out.flush()
    }
}

/// Writes every RTP stream of a collected analysis (see [`StreamsWriter`]).
pub fn write_streams(analysis: &Analysis, out: impl Write + Send) -> io::Result<()> {
    analysis.replay(&mut StreamsWriter::new(out))
}

/// Width of one host column of the ladder.
const COLUMN: usize = 26;

/// ` 504 Server Time-out` after a call's state, or nothing without a final response.
fn final_suffix(call: &Call) -> String {
    call.final_response
        .as_ref()
        .map(|r| format!(" {} {}", r.status, escape(&r.reason)))
        .unwrap_or_default()
}

/// Writes the ladder diagram of one call: a column per host, a row per message.
pub fn write_flow(call: &Call, index: usize, mut out: impl Write) -> io::Result<()> {
    writeln!(
        out,
        "Call {index}: {} → {}  [{}{}]",
        escape(&call.from),
        escape(&call.to),
        call.state.as_str(),
        final_suffix(call)
    )?;
    writeln!(out, "Call-ID: {}", escape(&call.call_id))?;
    let mut hosts: Vec<std::net::SocketAddr> = Vec::new();
    for (src, dst) in &call.hops {
        for h in [src, dst] {
            if !hosts.contains(h) {
                hosts.push(*h);
            }
        }
    }
    let mut header = format!("{:>7}  {:>9}  ", "frame", "time (s)");
    for h in &hosts {
        header.push_str(&format!("{:<COLUMN$}", h.to_string()));
    }
    writeln!(out, "{}", header.trim_end())?;
    let t0 = call.start_ts_ns;
    let col = |addr| hosts.iter().position(|h| *h == addr).unwrap_or(0);
    for seen in &call.messages {
        let m = &seen.msg;
        let (a, b) = (col(m.src), col(m.dst));
        let width = hosts.len() * COLUMN;
        let mut line: Vec<char> = vec![' '; width];
        for h in 0..hosts.len() {
            line[h * COLUMN] = '|';
        }
        let (lo, hi) = (a.min(b) * COLUMN, a.max(b) * COLUMN);
        if hi > lo {
            for c in line.iter_mut().take(hi).skip(lo + 1) {
                *c = '-';
            }
            if a < b {
                line[hi - 1] = '>';
            } else {
                line[lo + 1] = '<';
            }
            let mut label = escape(&m.label());
            if seen.resent {
                label.push_str(" (resent)");
            }
            let label = truncate(&label, hi - lo - 4);
            let start = lo + (hi - lo - label.chars().count()) / 2;
            for (k, ch) in label.chars().enumerate() {
                line[start + k] = ch;
            }
        }
        let row: String = line.into_iter().collect();
        let note = escape(&sdp_note(m));
        writeln!(
            out,
            "{:>7}  {:>9.3}  {}{}",
            m.frame,
            (m.ts_ns - t0) as f64 / 1e9,
            row.trim_end(),
            if note.is_empty() {
                String::new()
            } else {
                format!("  {note}")
            }
        )?;
    }
    Ok(())
}

/// Makes a string from a capture safe to print on a terminal: control characters are escaped, so a
/// capture cannot move the cursor, change colours or set the window title.
pub fn escape(s: &str) -> String {
    if !s.chars().any(char::is_control) {
        return s.to_string();
    }
    s.chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_neutralises_terminal_controls() {
        assert_eq!(escape("a\x1b[31mb\r\n"), "a\\u{1b}[31mb\\r\\n");
        assert_eq!(escape("plain ünïcode"), "plain ünïcode");
    }
}
