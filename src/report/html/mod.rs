//! The HTML report: one self-contained page a support engineer attaches to a ticket and the next
//! engineer opens offline in any browser, also for a capture of a hundred thousand calls.
//!
//! Takes a run (as an [`Output`], fed as calls finish, or a collected [`Analysis`]); writes a single
//! HTML document with inline CSS, inline SVG and inline script: the captures and summary counts, the
//! failure patterns (the calls grouped by cause, each with its count, share, time span and example
//! calls), the calls that all ended at the same duration (with the likely cause), the timeline (calls started per interval, failures stacked by code, MOS and loss when
//! there is media), the call table (failed calls first; sortable, searchable by number, address,
//! Call-ID and code, and paged by the script, [`PAGE_ROWS`] rows at a time, from a compact copy of
//! every row in the page; without the script the first page is there as plain HTML), the
//! registrations, SIP peers and other transactions (failed first, at most 500 rows
//! each), and the calls
//! shown in detail: every call when there are at most [`LADDER_CALL_LIMIT`], else the worst call of
//! each of the first [`DETAIL_PATTERNS`] patterns — each with its findings, a Wireshark filter, a
//! ladder diagram of its SIP messages with the transport evidence tied to it (TCP handshake
//! attempts, RSTs, TLS alerts, ICMP errors) on the same time axis, and per RTP stream its figures and
//! a plot of jitter and packet gaps over time. Transport failures and RTP streams tied to no call
//! close the page.
//!
//! It computes nothing: every figure comes from the run and its overview. It loads nothing: no URL
//! of any kind appears in the page (a Content-Security-Policy forbids fetching anyway). Every string
//! that comes from a capture is escaped as HTML text ([`escape`]) or, in the script's data, as a
//! JavaScript string that cannot close its script element; the script builds rows with DOM text
//! nodes, never markup. A ladder shows at most [`LADDER_MAX_ROWS`] rows.
//!
//! Memory: rows, sections and the tables of items tied to no call are rendered as they come and kept
//! in spools (disk past a budget); the page is assembled when the run finishes.
//!
//! This file holds the writer and the markup helpers the parts share (escaping, table heads, a few
//! cell formats). The parts live beside it: `page` (head, summary, patterns, captures and calls
//! tables, tail, with `style.css`, `sort.js` and `calls.js` inlined), `durations` (the calls ending
//! at the same duration), `items` (registrations, SIP peers, other transactions), `timeline` (the
//! calls over time as SVG), `call` (one call's section), `ladder` (the SVG of one call's SIP, TCP and ICMP rows, from
//! the call's evidence) and `plot` (a stream's jitter and gaps over time).

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::{self, Write};

use rustc_hash::FxHashMap;

use crate::analysis::patterns::{Key, MAX_PATTERNS};
use crate::analysis::{Analysis, Output, Summary};
use crate::correlate::calls::OtherDialog;
use crate::correlate::dns::Lookup;
use crate::correlate::media::Stream;
use crate::correlate::peers::Peer;
use crate::correlate::registrations::Registration;
use crate::correlate::transactions::Transaction;
use crate::correlate::transport::{Connection, IcmpError};
use crate::diagnose::{Diagnosed, DiagnosedCall, Finding, Severity, Sink, TransportEvent};
use crate::report::format::rfc3339;
use crate::report::spool::Spool;
use crate::report::words::clock;
use crate::words::frames_list;

mod call;
mod dns;
mod durations;
mod items;
mod ladder;
mod page;
mod plot;
mod timeline;

/// Up to this many calls, every call is shown in detail; beyond, the patterns' worst calls.
pub const LADDER_CALL_LIMIT: usize = 200;
/// Patterns whose worst call is shown in detail (beyond [`LADDER_CALL_LIMIT`] calls).
pub const DETAIL_PATTERNS: usize = 50;
/// Rows (messages and transport events) a ladder draws at most.
pub const LADDER_MAX_ROWS: usize = 400;
/// Rows of the call table on the page at once (the script pages through the others).
pub const PAGE_ROWS: usize = 1000;

/// Counts of the run for the summary, taken as items go by.
#[derive(Default)]
struct Tally {
    calls: u64,
    failed: u64,
    degraded: u64,
    states: BTreeMap<&'static str, u64>,
    /// Per finding code: calls it was found in, and its gravest severity.
    codes: BTreeMap<&'static str, (u64, Severity)>,
    streams: u64,
    others: u64,
    transport_events: u64,
}

impl Tally {
    fn call(&mut self, d: &DiagnosedCall) {
        self.calls += 1;
        match d.worst() {
            Some(Severity::Error) => self.failed += 1,
            Some(Severity::Warning) => self.degraded += 1,
            _ => {}
        }
        *self.states.entry(d.state.as_str()).or_default() += 1;
        let mut seen = BTreeSet::new();
        for f in &d.findings {
            let e = self.codes.entry(f.code).or_insert((0, f.severity));
            if seen.insert(f.code) {
                e.0 += 1;
            }
            e.1 = e.1.min(f.severity);
        }
    }
}

/// The HTML report as an [`Output`]: rows and sections are rendered as calls finish and spooled; the
/// page is written in order when the run finishes.
pub struct Writer<W: Write> {
    out: W,
    tally: Tally,
    /// Call table rows, failed first.
    rows: Spool,
    /// Every call's section, while the run has at most [`LADDER_CALL_LIMIT`] calls.
    sections: Option<Spool>,
    /// The pattern keys rows refer to, by number (the first [`MAX_PATTERNS`] met: those the
    /// overview keeps, as it sees the calls in the same order).
    keys: FxHashMap<Key, u32>,
    unlinked_events: Spool,
    unlinked_streams: Spool,
    /// Registrations, SIP peers and other transactions.
    items: items::Items,
    dns_failures: Spool,
    error: Option<io::Error>,
}

impl<W: Write> Writer<W> {
    pub fn new(out: W) -> Writer<W> {
        Writer {
            out,
            tally: Tally::default(),
            rows: Spool::default(),
            sections: Some(Spool::default()),
            keys: FxHashMap::default(),
            unlinked_events: Spool::default(),
            unlinked_streams: Spool::default(),
            items: items::Items::default(),
            dns_failures: Spool::default(),
            error: None,
        }
    }

    /// Keeps the first error rendering an item (`finish` reports it).
    fn note(&mut self, e: io::Error) {
        self.error.get_or_insert(e);
    }
}

fn fmt_failed(_: std::fmt::Error) -> io::Error {
    io::Error::other("formatting the html report failed")
}

impl<W: Write> Sink for Writer<W> {
    fn call(&mut self, d: &DiagnosedCall) {
        self.tally.call(d);
        let key = Key::of(d);
        let pattern = match key {
            Some(k) if self.keys.len() < MAX_PATTERNS || self.keys.contains_key(&k) => {
                let next = self.keys.len() as u32;
                Some(*self.keys.entry(k).or_insert(next))
            }
            _ => None,
        };
        let order = page::order_key(d);
        match serde_json::to_vec(&page::Row::of(d, pattern)) {
            Ok(row) => self.rows.push(order, row),
            Err(e) => self.note(e.into()),
        }
        if self.tally.calls > LADDER_CALL_LIMIT as u64 {
            self.sections = None;
        }
        if let Some(sections) = self.sections.as_mut() {
            let mut h = String::new();
            match call::call_section(d, &mut h) {
                Ok(()) => sections.push(order, h.into_bytes()),
                Err(e) => self.note(fmt_failed(e)),
            }
        }
    }
    fn other(&mut self, _: &OtherDialog) {
        self.tally.others += 1;
    }
    fn stream(&mut self, s: &Stream) {
        self.tally.streams += 1;
        if s.call.is_none() {
            let mut h = String::new();
            match page::unlinked_stream_row(s, &mut h) {
                Ok(()) => self
                    .unlinked_streams
                    .push((s.first_frame, 0), h.into_bytes()),
                Err(e) => self.note(fmt_failed(e)),
            }
        }
    }
    fn connection(&mut self, _: &Connection) {}
    fn registration(&mut self, r: &Diagnosed<Registration>) {
        if let Err(e) = self.items.registration(r) {
            self.note(fmt_failed(e));
        }
    }
    fn peer(&mut self, p: &Diagnosed<Peer>) {
        if let Err(e) = self.items.peer(p) {
            self.note(fmt_failed(e));
        }
    }
    fn transaction(&mut self, t: &Diagnosed<Transaction>) {
        if let Err(e) = self.items.transaction(t) {
            self.note(fmt_failed(e));
        }
    }
    fn transport_event(&mut self, e: &TransportEvent) {
        self.tally.transport_events += 1;
        if e.calls.is_empty() {
            let mut h = String::new();
            match page::unlinked_event_row(e, &mut h) {
                Ok(()) => self
                    .unlinked_events
                    .push((e.first_frame, 0), h.into_bytes()),
                Err(e) => self.note(fmt_failed(e)),
            }
        }
    }
    fn dns_failure(&mut self, d: &Diagnosed<Lookup>) {
        let mut h = String::new();
        match dns::row(d, &mut h) {
            Ok(()) => self.dns_failures.push((d.first_frame(), 0), h.into_bytes()),
            Err(e) => self.note(fmt_failed(e)),
        }
    }
}

impl<W: Write + Send> Output for Writer<W> {
    fn icmp_error(&mut self, _: &IcmpError) {}

    fn finish(&mut self, summary: Summary) -> io::Result<()> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        let overview = &summary.overview;
        // The page's pattern numbers, by the numbers the rows were spooled with.
        let positions = overview.positions();
        let mut numbers = vec![None; self.keys.len()];
        for (key, &local) in &self.keys {
            numbers[local as usize] = positions.get(key).copied();
        }
        let sections = self.sections.take();
        let examples: Vec<&DiagnosedCall> = if sections.is_some() {
            Vec::new()
        } else {
            let mut seen = BTreeSet::new();
            overview
                .patterns
                .iter()
                .take(DETAIL_PATTERNS)
                .map(|p| &*p.worst)
                .filter(|d| seen.insert(d.index))
                .collect()
        };
        let detailed = page::Detailed {
            all: sections.is_some(),
            examples: examples.iter().map(|d| d.index).collect(),
        };
        let out = &mut self.out;
        let mut h = String::with_capacity(64 * 1024);
        page::head(&summary.captures, &mut h).map_err(fmt_failed)?;
        page::overview(&self.tally, &summary, &mut h).map_err(fmt_failed)?;
        self.items.summary(&mut h).map_err(fmt_failed)?;
        durations::summary(overview, &mut h).map_err(fmt_failed)?;
        page::patterns(overview, &detailed, &mut h).map_err(fmt_failed)?;
        durations::durations(overview, &detailed, &mut h).map_err(fmt_failed)?;
        timeline::timeline(overview, &mut h).map_err(fmt_failed)?;
        page::captures_table(&summary.captures, &mut h);
        out.write_all(h.as_bytes())?;
        page::calls_table(
            std::mem::take(&mut self.rows),
            &numbers,
            &detailed,
            overview,
            (self.tally.calls, first_day_ms(&summary)),
            &mut *out,
        )?;
        std::mem::take(&mut self.items).write(&mut *out)?;
        if self.tally.calls > 0 {
            h.clear();
            write!(h, "<h2 id=\"calls-detail\">Calls in detail</h2>").map_err(fmt_failed)?;
            if !detailed.all {
                write!(
                    h,
                    "<p class=\"note\">This capture has {} calls: the worst call of each failure pattern is \
                     shown in detail (of the first {DETAIL_PATTERNS} patterns; every call up to \
                     {LADDER_CALL_LIMIT} calls).</p>",
                    self.tally.calls
                )
                .map_err(fmt_failed)?;
            }
            out.write_all(h.as_bytes())?;
        }
        if let Some(sections) = sections {
            sections.drain(|s| out.write_all(s))?;
        }
        for d in examples {
            h.clear();
            call::call_section(d, &mut h).map_err(fmt_failed)?;
            out.write_all(h.as_bytes())?;
        }
        dns::section(std::mem::take(&mut self.dns_failures), &mut *out)?;
        page::tail(
            std::mem::take(&mut self.unlinked_events),
            std::mem::take(&mut self.unlinked_streams),
            &mut *out,
        )?;
        out.flush()
    }
}

/// Midnight (UTC) of the day of the capture's first packet, in milliseconds since the epoch.
fn first_day_ms(summary: &Summary) -> i64 {
    const DAY_MS: i64 = 86_400_000;
    let first = summary.captures.iter().filter_map(|c| c.first_ts_ns).min();
    first.map_or(0, |ns| ns.div_euclid(1_000_000).div_euclid(DAY_MS) * DAY_MS)
}

/// Writes the whole report of a collected analysis as one HTML document (see [`Writer`]).
pub fn write(analysis: &Analysis, out: impl Write + Send) -> io::Result<()> {
    analysis.replay(&mut Writer::new(out))
}

/// Escapes a string for HTML text and attribute values: the five markup characters become entities,
/// control characters and bidirectional overrides (which could disguise text) become `\u{..}`.
pub fn escape(s: &str) -> Cow<'_, str> {
    let special = |c: char| {
        matches!(c, '&' | '<' | '>' | '"' | '\'')
            || (c.is_control() && c != '\n' && c != '\t')
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    if !s.chars().any(special) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if special(c) => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Appends a table's opening and its column heads (`attrs` go into the `<table>` tag as they are);
/// the caller writes the rows and closes `</tbody></table>`.
pub(super) fn table_head(h: &mut String, attrs: &str, columns: &[&str]) {
    h.push_str("<table");
    h.push_str(attrs);
    h.push_str("><thead><tr>");
    for c in columns {
        h.push_str("<th>");
        h.push_str(c);
        h.push_str("</th>");
    }
    h.push_str("</tr></thead><tbody>");
}

/// The findings of a call or an item, each a block with its severity, code, summary, cause, evidence
/// frames and time (the first marked primary when there are several).
pub(super) fn findings(fs: &[Finding], h: &mut String) -> std::fmt::Result {
    for (k, f) in fs.iter().enumerate() {
        writeln!(
            h,
            "<div class=\"finding {sev}\"><span class=\"sev {sev}\">{sev}</span> <code>{}</code>{}\
             <p class=\"summary\">{}</p><p class=\"cause\">{}</p><p class=\"ev\">Evidence: {} · {}</p></div>",
            escape(f.code),
            if k == 0 && fs.len() > 1 {
                "<span class=\"primary\">primary</span>"
            } else {
                ""
            },
            escape(&f.summary),
            escape(&f.cause),
            frames_list(&f.frames, 16),
            clock(f.ts_ns),
            sev = f.severity.as_str(),
        )?;
    }
    Ok(())
}

/// Writes the first `max` rows of a spool, in its order (the others are read and dropped).
pub(super) fn drain_first(rows: Spool, max: u64, out: &mut impl Write) -> io::Result<()> {
    let mut k = 0u64;
    rows.drain(|row| {
        k += 1;
        if k <= max {
            out.write_all(row)?;
        }
        Ok(())
    })
}

/// A call state for people: `in progress` for `in_progress`.
pub(super) fn state_label(state: &str) -> String {
    state.replace('_', " ")
}

/// `2026-11-26 06:58:15.142841`: a timestamp's date and time (UTC) without RFC 3339's `T` and `Z`.
pub(super) fn date_time(ts_ns: i64) -> String {
    rfc3339(ts_ns)
        .replace('T', " ")
        .trim_end_matches('Z')
        .to_string()
}

/// A stream's MOS with two decimals, `–` when it has none.
pub(super) fn mos(s: &Stream) -> String {
    s.mos
        .map(|v| format!("{v:.2}"))
        .unwrap_or_else(|| "–".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_neutralises_markup_and_controls() {
        assert_eq!(
            escape("<script>alert('x')&\"</script>"),
            "&lt;script&gt;alert(&#39;x&#39;)&amp;&quot;&lt;/script&gt;"
        );
        assert_eq!(escape("a\x1bb\u{202e}c"), "a\\u{1b}b\\u{202e}c");
        assert!(matches!(escape("plain ünïcode"), Cow::Borrowed(_)));
    }

    #[test]
    fn empty_analysis_is_a_complete_page() {
        let mut out = Vec::new();
        write(&Analysis::default(), &mut out).expect("write to a Vec");
        let page = String::from_utf8(out).expect("utf-8");
        assert!(page.starts_with("<!DOCTYPE html>"));
        assert!(page.trim_end().ends_with("</html>"));
        assert!(page.contains("No SIP call"));
    }
}
