//! The page around the calls in detail: the document head (with `style.css` inlined), the summary
//! cards and counts, the failure patterns, the captures and calls tables (the rows' data for
//! `calls.js`), and the tail (transport failures and RTP streams tied to no call, the footer with
//! `sort.js` and `calls.js` inlined). The timeline is `timeline.rs`; each call's own section is
//! `call.rs`.
//!
//! Each function appends one part to the page being built; [`super::Writer`] calls them in order.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::{self, Write as _};
use std::io::{self, Write};

use serde::{Deserialize, Serialize};

use super::{
    date_time, drain_first, escape, fmt_failed, mos, state_label, table_head, Tally,
    LADDER_CALL_LIMIT, LADDER_MAX_ROWS, PAGE_ROWS,
};
use crate::analysis::{CaptureSummary, Overview, Summary};
use crate::correlate::calls::State;
use crate::correlate::media::Stream;
use crate::diagnose::{DiagnosedCall, Severity, TransportEvent};
use crate::report::format::rfc3339;
use crate::report::json::link_type_name;
use crate::report::spool::{Key, Spool};
use crate::report::words::{
    clock, clock_span, duration_or_dash, pattern_outcome, short_uri, truncate, vantage_line,
};
use crate::words::{duration_ns, frames_list, plural};

/// The page's style sheet, inlined in its head.
const STYLE: &str = include_str!("style.css");
/// Sorts a small table by the clicked column (numbers by `data-v` where given). The page works
/// without it. Inlined at the end of the page.
const SORT_SCRIPT: &str = include_str!("sort.js");
/// Pages, sorts and searches the call table from the rows' data (`CALLS`). Inlined at the end.
const CALLS_SCRIPT: &str = include_str!("calls.js");

/// Patterns in the table at first; the others are behind a disclosure.
const PATTERN_ROWS: usize = 20;
/// Rows of the table of streams tied to no call.
const UNLINKED_STREAM_ROWS: u64 = 2000;

/// Call states in the order the rows' data numbers them.
const STATES: [State; 5] = [
    State::Answered,
    State::Rejected,
    State::Cancelled,
    State::Unanswered,
    State::InProgress,
];

pub(super) fn severity_rank(s: Option<Severity>) -> u8 {
    match s {
        Some(Severity::Error) => 0,
        Some(Severity::Warning) => 1,
        Some(Severity::Info) => 2,
        None => 3,
    }
}

const SEVERITIES: [&str; 4] = ["error", "warning", "info", "none"];

fn state_rank(s: State) -> u8 {
    match s {
        State::Unanswered | State::Rejected | State::InProgress => 0,
        State::Cancelled => 1,
        State::Answered | State::MidCall => 2,
    }
}

/// Where a call goes in the table and among the sections: failed first (by worst finding, then by
/// outcome), then by time.
pub(super) fn order_key(d: &DiagnosedCall) -> Key {
    (
        u64::from(severity_rank(d.worst())) * 4 + u64::from(state_rank(d.state)),
        d.index as u64,
    )
}

/// Which calls have a section of their own.
pub(super) struct Detailed {
    /// Every call (a capture of few calls).
    pub all: bool,
    /// The calls shown otherwise (0-based indexes).
    pub examples: BTreeSet<usize>,
}

impl Detailed {
    fn has(&self, index: usize) -> bool {
        self.all || self.examples.contains(&index)
    }
}

/// A row of the call table as spooled: what its cells and its search need.
#[derive(Serialize, Deserialize)]
pub(super) struct Row {
    /// 1-based.
    n: usize,
    clock: String,
    /// The start, in milliseconds since the epoch.
    start_ms: i64,
    from: String,
    to: String,
    /// Position in [`STATES`].
    state: u8,
    /// `403 Forbidden`, or empty.
    status: String,
    setup_ms: Option<f64>,
    duration_ms: Option<f64>,
    /// Position in [`SEVERITIES`].
    severity: u8,
    /// The primary finding's code, or empty.
    code: String,
    /// The writer's number for its pattern key.
    pattern: Option<u32>,
    call_id: String,
    /// The addresses its SIP went between, space-separated.
    addrs: String,
}

impl Row {
    pub(super) fn of(d: &DiagnosedCall, pattern: Option<u32>) -> Row {
        let mut addrs: Vec<String> = Vec::new();
        for (a, b) in &d.hops {
            for ip in [a.ip().to_string(), b.ip().to_string()] {
                if !addrs.contains(&ip) {
                    addrs.push(ip);
                }
            }
        }
        Row {
            n: d.index + 1,
            clock: clock(d.start_ts_ns),
            start_ms: d.start_ts_ns.div_euclid(1_000_000),
            from: truncate(short_uri(&d.from), 40).into_owned(),
            to: truncate(short_uri(&d.to), 40).into_owned(),
            state: STATES.iter().position(|s| *s == d.state).unwrap_or(0) as u8,
            status: d
                .final_response
                .as_ref()
                .map(|r| format!("{} {}", r.status, r.reason))
                .unwrap_or_default(),
            setup_ms: d.timings.answer_ms.or(d.timings.final_ms),
            duration_ms: d.timings.duration_ms,
            severity: severity_rank(d.worst()),
            code: d
                .findings
                .first()
                .map(|f| f.code.to_string())
                .unwrap_or_default(),
            pattern,
            call_id: d.call_id.clone(),
            addrs: addrs.join(" "),
        }
    }
}

/// The document head and the page header.
pub(super) fn head(captures: &[CaptureSummary], h: &mut String) -> fmt::Result {
    let names: Vec<String> = captures
        .iter()
        .map(|c| {
            std::path::Path::new(&c.path)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| c.path.clone())
        })
        .collect();
    let title = if names.is_empty() {
        "callscope report".to_string()
    } else {
        format!("callscope report — {}", names.join(", "))
    };
    writeln!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\n\
         <meta name=\"generator\" content=\"callscope {}\">\n<title>{}</title>\n<style>\n{STYLE}</style>\n\
         </head>\n<body>",
        env!("CARGO_PKG_VERSION"),
        escape(&title)
    )?;
    let first = captures.iter().filter_map(|c| c.first_ts_ns).min();
    let last = captures.iter().filter_map(|c| c.last_ts_ns).max();
    writeln!(
        h,
        "<header class=\"top\"><h1>callscope report</h1><div class=\"sub\">{}{}</div></header>\n<main>",
        escape(&names.join(", ")),
        first
            .zip(last)
            .map(|(a, b)| format!(
                " · {} – {} UTC ({})",
                date_time(a),
                clock(b),
                duration_ns(a, b)
            ))
            .unwrap_or_default()
    )
}

/// The summary cards, finding codes and counts.
pub(super) fn overview(t: &Tally, summary: &Summary, h: &mut String) -> fmt::Result {
    h.push_str("<h2 id=\"summary\">Summary</h2>\n<div class=\"cards\">");
    let card = |h: &mut String, class: &str, n: u64, label: &str| {
        write!(
            h,
            "<div class=\"card {class}\"><div class=\"n\">{n}</div><div class=\"l\">{label}</div></div>"
        )
    };
    let packets: u64 = summary.captures.iter().map(|c| c.packets).sum();
    card(h, "", t.calls, "calls")?;
    card(
        h,
        if t.failed > 0 { "err" } else { "ok" },
        t.failed,
        "failed",
    )?;
    card(
        h,
        if t.degraded > 0 { "warn" } else { "ok" },
        t.degraded,
        "degraded",
    )?;
    card(
        h,
        "",
        t.states.get("answered").copied().unwrap_or(0),
        "answered",
    )?;
    card(h, "", t.streams, "RTP streams")?;
    card(h, "", summary.sip.messages, "SIP messages")?;
    card(h, "", packets, "packets")?;
    h.push_str("</div>\n");
    if summary.filtered_calls > 0 {
        writeln!(
            h,
            "<p class=\"note\">{} left out by the filter; numbers of frames and calls are the whole \
             capture's.</p>",
            plural(summary.filtered_calls, "call")
        )?;
    }
    if !t.codes.is_empty() {
        h.push_str("<div class=\"codes\"><span class=\"note\">Findings by code: </span>");
        for (code, (count, sev)) in &t.codes {
            write!(
                h,
                "<span class=\"chip {}\"><code>{}</code> × {count}</span>",
                sev.as_str(),
                escape(code)
            )?;
        }
        h.push_str("</div>\n");
    }
    for p in &summary.patterns {
        writeln!(
            h,
            "<p class=\"pattern\"><span class=\"sev warning\">pattern</span> <code>{}</code> {}</p>",
            escape(p.code),
            escape(&p.summary)
        )?;
    }
    let states_line: Vec<String> = t
        .states
        .iter()
        .map(|(s, n)| format!("{n} {}", state_label(s)))
        .collect();
    writeln!(
        h,
        "<p class=\"note\">Calls: {}. SIP: {}, {} retransmitted; {} without INVITE. Transport failures: {}.</p>",
        if states_line.is_empty() {
            "none".to_string()
        } else {
            states_line.join(", ")
        },
        plural(summary.sip.messages, "message"),
        summary.sip.resent,
        plural(t.others, "dialog"),
        t.transport_events
    )?;
    writeln!(
        h,
        "<p class=\"note\">Vantage: {}.</p>",
        escape(&vantage_line(&summary.vantage))
    )
}

/// `#12`, a link to its section when it has one.
pub(super) fn call_link(index: usize, detailed: &Detailed) -> String {
    if detailed.has(index) {
        format!("<a href=\"#call-{n}\">#{n}</a>", n = index + 1)
    } else {
        format!("#{}", index + 1)
    }
}

/// The failure patterns: one row each, most calls first, with the finding's summary.
pub(super) fn patterns(overview: &Overview, detailed: &Detailed, h: &mut String) -> fmt::Result {
    if overview.patterns.is_empty() {
        return Ok(());
    }
    let with: u64 = overview.patterns.iter().map(|p| p.calls).sum::<u64>() + overview.unpatterned;
    writeln!(
        h,
        "<h2 id=\"patterns\">Failure patterns</h2>\n<p class=\"note\">{with} of {} have findings, \
         grouped by cause (primary finding, outcome and final status), with the hosts that \
         decided them and the dead targets they cite; {} without.</p>",
        plural(overview.calls, "call"),
        overview.clean
    )?;
    const COLUMNS: &[&str] = &[
        "#",
        "calls",
        "share",
        "finding",
        "what happened",
        "when (UTC)",
        "examples",
    ];
    table_head(h, " id=\"pattern-table\"", COLUMNS);
    h.push('\n');
    for (k, p) in overview.patterns.iter().enumerate() {
        if k == PATTERN_ROWS {
            // The rest behind a disclosure, in a table of its own (rows cannot be folded).
            let rest = &overview.patterns[k..];
            writeln!(
                h,
                "</tbody></table>\n<details class=\"more-patterns\"><summary>{} more patterns, {}</summary>",
                rest.len(),
                plural(rest.iter().map(|p| p.calls).sum(), "call")
            )?;
            table_head(h, "", COLUMNS);
            h.push('\n');
        }
        let share = overview.share(p.calls);
        let examples = if p.worst.index == p.first.index {
            call_link(p.first.index, detailed)
        } else {
            format!(
                "{} first, {} worst",
                call_link(p.first.index, detailed),
                call_link(p.worst.index, detailed)
            )
        };
        writeln!(
            h,
            "<tr id=\"pattern-{n}\" class=\"sev-{sev}\"><td class=\"num\">{n}</td><td class=\"num\">{}</td>\
             <td class=\"num\"><span class=\"bar\"><i style=\"width:{:.1}%\"></i></span> {share:.1}%</td>\
             <td><span class=\"chip {sev}\"><code>{}</code></span></td><td>{}<br><span class=\"note\">{}</span></td>\
             <td class=\"mono\">{}</td><td>{examples}</td></tr>",
            p.calls,
            share.clamp(0.0, 100.0),
            escape(p.key.code),
            escape(&pattern_outcome(p)),
            escape(&p.finding().summary),
            clock_span(p.first_ts_ns, p.last_ts_ns),
            n = k + 1,
            sev = p.severity.as_str(),
        )?;
    }
    h.push_str("</tbody></table>\n");
    if overview.patterns.len() > PATTERN_ROWS {
        h.push_str("</details>\n");
    }
    if overview.unpatterned > 0 {
        writeln!(
            h,
            "<p class=\"note\">And {} in further patterns (more than {} distinct causes).</p>",
            plural(overview.unpatterned, "call"),
            overview.patterns.len()
        )?;
    }
    Ok(())
}

pub(super) fn captures_table(captures: &[CaptureSummary], h: &mut String) {
    h.push_str("<h2 id=\"captures\">Captures</h2>\n");
    table_head(
        h,
        "",
        &[
            "file",
            "format",
            "link",
            "packets",
            "bytes",
            "first packet (UTC)",
            "last packet (UTC)",
            "span",
        ],
    );
    h.push('\n');
    for c in captures {
        let links: Vec<String> = c.link_types.iter().map(|&l| link_type_name(l)).collect();
        let _ = writeln!(
            h,
            "<tr><td class=\"mono\">{}</td><td>{}{}</td><td>{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"mono\">{}</td><td class=\"mono\">{}</td><td class=\"num\">{}</td></tr>",
            escape(&c.path),
            escape(c.format),
            if c.gzip { " (gzip)" } else { "" },
            escape(&links.join(", ")),
            c.packets,
            c.bytes,
            c.first_ts_ns.map(rfc3339).unwrap_or_default(),
            c.last_ts_ns.map(rfc3339).unwrap_or_default(),
            c.duration_ns()
                .map(|d| format!("{:.3} s", d as f64 / 1e9))
                .unwrap_or_default()
        );
        let warnings = c.warnings.len() as u64 + c.warnings_dropped;
        if warnings > 0 {
            let first = c
                .warnings
                .first()
                .map(|w| format!(": at byte {}: {}", w.offset, w.message))
                .unwrap_or_default();
            let _ = writeln!(
                h,
                "<tr><td colspan=\"8\" class=\"note\">{} while reading{}</td></tr>",
                plural(warnings, "warning"),
                escape(&first)
            );
        }
    }
    h.push_str("</tbody></table>\n");
}

/// One row of the call table as plain HTML.
fn static_row(r: &Row, pattern: Option<usize>, detailed: bool, h: &mut String) -> fmt::Result {
    let sev = SEVERITIES[usize::from(r.severity).min(3)];
    let state = STATES[usize::from(r.state).min(4)].as_str();
    let number = if detailed {
        format!("<a href=\"#call-{n}\">{n}</a>", n = r.n)
    } else {
        r.n.to_string()
    };
    let finding = if r.code.is_empty() {
        "–".to_string()
    } else {
        let chip = format!(
            "<span class=\"chip {sev}\"><code>{}</code></span>",
            escape(&r.code)
        );
        match pattern {
            Some(p) => format!("<a href=\"#pattern-{}\">{chip}</a>", p + 1),
            None => chip,
        }
    };
    writeln!(
        h,
        "<tr class=\"sev-{sev}\"><td class=\"num\" data-v=\"{n}\">{number}</td>\
         <td class=\"mono\" data-v=\"{n}\">{}</td><td>{} → {}</td>\
         <td><span class=\"badge st-{state}\">{}</span></td><td>{}</td><td class=\"num\" data-v=\"{}\">{}</td>\
         <td class=\"num\" data-v=\"{}\">{}</td><td data-v=\"{}\">{finding}</td></tr>",
        escape(&r.clock),
        escape(&r.from),
        escape(&r.to),
        state_label(state),
        if r.status.is_empty() {
            "–".into()
        } else {
            escape(&r.status)
        },
        r.setup_ms.unwrap_or(-1.0),
        duration_or_dash(r.setup_ms),
        r.duration_ms.unwrap_or(-1.0),
        duration_or_dash(r.duration_ms),
        r.severity,
        n = r.n,
    )
}

/// Milliseconds to a tenth, as the script shows them.
fn tenths(ms: f64) -> f64 {
    (ms * 10.0).round() / 10.0
}

/// JSON text that can sit inside a script element (a data block): `<` is escaped, so no
/// `</script>` or `<!--` can appear.
fn script_json(value: &impl Serialize, out: &mut Vec<u8>) -> io::Result<()> {
    let text = serde_json::to_vec(value)?;
    for b in text {
        if b == b'<' {
            out.extend_from_slice(b"\\u003c");
        } else {
            out.push(b);
        }
    }
    Ok(())
}

/// Numbers for the distinct values of a column of the rows' data, so that a value repeated over a
/// hundred thousand rows is written once.
#[derive(Default)]
struct Table {
    numbers: BTreeMap<String, usize>,
    values: Vec<String>,
}

impl Table {
    fn number(&mut self, value: &str) -> Option<usize> {
        if value.is_empty() {
            return None;
        }
        if let Some(&n) = self.numbers.get(value) {
            return Some(n);
        }
        self.values.push(value.to_string());
        self.numbers
            .insert(value.to_string(), self.values.len() - 1);
        Some(self.values.len() - 1)
    }
}

/// The call table: its controls, every row's data for the script (a JSON data block, which the
/// browser parses far faster than a script of the same size), and the first [`PAGE_ROWS`] rows as
/// plain HTML. Times in the data are milliseconds since midnight (UTC) of the capture's first day,
/// `day_ms`.
pub(super) fn calls_table(
    rows: Spool,
    numbers: &[Option<usize>],
    detailed: &Detailed,
    overview: &Overview,
    (calls, day_ms): (u64, i64),
    out: &mut impl Write,
) -> io::Result<()> {
    out.write_all(b"<h2 id=\"calls\">Calls</h2>\n")?;
    if calls == 0 {
        out.write_all(b"<p class=\"note\">No SIP call (INVITE) in the capture.</p>\n")?;
        return Ok(());
    }
    write!(
        out,
        "<p class=\"note\">Failed calls first. Click a column to sort, a number to open the call, a \
         finding to see its pattern.{}</p>\n\
         <div class=\"calls-bar\" id=\"calls-bar\" hidden><input id=\"call-search\" type=\"search\" \
         placeholder=\"search: number, address, Call-ID, code, status\" aria-label=\"search the calls\">\
         <button id=\"call-prev\" type=\"button\">‹ previous</button><span id=\"call-info\"></span>\
         <button id=\"call-next\" type=\"button\">next ›</button></div>\n",
        if calls > PAGE_ROWS as u64 {
            format!(
                " The page's script shows {PAGE_ROWS} rows at a time of all {calls}; without it, the \
                 first {PAGE_ROWS} are below."
            )
        } else {
            String::new()
        }
    )?;
    let (mut codes, mut statuses) = (Table::default(), Table::default());
    let mut first = String::new();
    let mut k = 0usize;
    let mut item = Vec::with_capacity(256);
    out.write_all(b"<script type=\"application/json\" id=\"calls-data\">{\"rows\":[")?;
    rows.drain(|bytes| {
        let r: Row = serde_json::from_slice(bytes)?;
        let pattern = r
            .pattern
            .and_then(|l| numbers.get(l as usize).copied().flatten());
        let code = codes.number(&r.code);
        let status = statuses.number(&r.status);
        let det = detailed.has(r.n - 1);
        if k < PAGE_ROWS {
            static_row(&r, pattern, det, &mut first).map_err(fmt_failed)?;
        }
        item.clear();
        if k > 0 {
            item.push(b',');
        }
        script_json(
            &(
                r.n,
                r.start_ms - day_ms,
                &r.from,
                &r.to,
                r.state,
                status,
                r.setup_ms.map(tenths),
                r.duration_ms.map(tenths),
                r.severity,
                code,
                pattern,
                &r.call_id,
                &r.addrs,
                u8::from(det),
            ),
            &mut item,
        )?;
        k += 1;
        out.write_all(&item)
    })?;
    let states: Vec<&str> = STATES.iter().map(|s| s.as_str()).collect();
    let pattern_names: Vec<String> = overview
        .patterns
        .iter()
        .map(|p| format!("{} · {}", p.key.code, pattern_outcome(p)))
        .collect();
    let mut tail = Vec::new();
    tail.extend_from_slice(b"],\"codes\":");
    script_json(&codes.values, &mut tail)?;
    tail.extend_from_slice(b",\"statuses\":");
    script_json(&statuses.values, &mut tail)?;
    tail.extend_from_slice(b",\"states\":");
    script_json(&states, &mut tail)?;
    tail.extend_from_slice(b",\"severities\":");
    script_json(&SEVERITIES, &mut tail)?;
    tail.extend_from_slice(b",\"patterns\":");
    script_json(&pattern_names, &mut tail)?;
    tail.extend_from_slice(b",\"page\":");
    tail.extend_from_slice(PAGE_ROWS.to_string().as_bytes());
    tail.extend_from_slice(b"}</script>\n");
    out.write_all(&tail)?;
    let mut h = String::new();
    table_head(
        &mut h,
        " class=\"calls\" id=\"call-table\"",
        &[
            "#",
            "start (UTC)",
            "from → to",
            "state",
            "status",
            "setup",
            "duration",
            "primary finding",
        ],
    );
    h.push('\n');
    h.push_str(&first);
    h.push_str("</tbody></table>\n");
    out.write_all(h.as_bytes())
}

/// A row of the table of transport failures tied to no call.
pub(super) fn unlinked_event_row(e: &TransportEvent, h: &mut String) -> fmt::Result {
    writeln!(
        h,
        "<tr class=\"sev-{sev}\"><td><span class=\"sev {sev}\">{sev}</span></td><td><code>{}</code></td>\
         <td class=\"mono\">{}</td><td>{}</td><td class=\"mono\">{} → {}</td><td class=\"num\">{}</td>\
         <td>{}<br><span class=\"note\">{}</span><br><span class=\"note\">Evidence: {}</span></td></tr>",
        escape(e.code),
        clock(e.ts_ns),
        e.proto.as_str(),
        e.src,
        e.dst,
        e.attempts,
        escape(&e.summary),
        escape(&e.cause),
        frames_list(&e.frames, 16),
        sev = e.severity.as_str(),
    )
}

/// A row of the table of RTP streams tied to no call.
pub(super) fn unlinked_stream_row(s: &Stream, h: &mut String) -> fmt::Result {
    let m = &s.summary;
    writeln!(
        h,
        "<tr><td class=\"mono\">{} → {}</td><td class=\"mono\">0x{:08X}</td><td>{}</td><td class=\"num\">{}</td>\
         <td class=\"num\" data-v=\"{}\">{} ({:.1}%)</td><td class=\"num\" data-v=\"{}\">{:.2} / {:.2} ms</td>\
         <td class=\"num\" data-v=\"{}\">{:.1} ms</td><td class=\"num\">{}</td><td class=\"num\" data-v=\"{}\">{}–{}</td></tr>",
        s.src,
        s.dst,
        s.ssrc,
        escape(s.codec.as_deref().unwrap_or("?")),
        m.packets,
        m.lost,
        m.lost,
        m.lost_pct,
        m.mean_jitter_ms,
        m.mean_jitter_ms,
        m.max_jitter_ms,
        m.max_delta_ms,
        m.max_delta_ms,
        mos(s),
        s.first_frame,
        s.first_frame,
        s.last_frame
    )
}

/// Transport failures and RTP streams tied to no call (their rows, spooled), the footer and the end
/// of the document.
pub(super) fn tail(events: Spool, streams: Spool, out: &mut impl Write) -> io::Result<()> {
    let mut h = String::new();
    h.push_str("<h2 id=\"transport\">Transport failures not tied to a call</h2>\n");
    if events.len() == 0 {
        h.push_str("<p class=\"note\">None.</p>\n");
        out.write_all(h.as_bytes())?;
    } else {
        table_head(
            &mut h,
            " class=\"sortable\"",
            &[
                "severity",
                "code",
                "time (UTC)",
                "proto",
                "from → to",
                "attempts",
                "what happened",
            ],
        );
        h.push('\n');
        out.write_all(h.as_bytes())?;
        events.drain(|row| out.write_all(row))?;
        out.write_all(b"</tbody></table>\n")?;
    }
    h.clear();
    h.push_str("<h2 id=\"streams\">RTP streams not tied to a call</h2>\n");
    let total = streams.len();
    if total == 0 {
        h.push_str("<p class=\"note\">None.</p>\n");
        out.write_all(h.as_bytes())?;
    } else {
        table_head(
            &mut h,
            " class=\"sortable\"",
            &[
                "source → destination",
                "SSRC",
                "codec",
                "packets",
                "lost",
                "jitter mean / max",
                "max delta",
                "MOS",
                "frames",
            ],
        );
        h.push('\n');
        out.write_all(h.as_bytes())?;
        drain_first(streams, UNLINKED_STREAM_ROWS, out)?;
        out.write_all(b"</tbody></table>\n")?;
        if total > UNLINKED_STREAM_ROWS {
            writeln!(
                out,
                "<p class=\"note\">Only the first {UNLINKED_STREAM_ROWS} of {total} streams are listed.</p>"
            )?;
        }
    }
    write!(
        out,
        "<footer>Generated by callscope {}. Times are UTC; frame numbers are Wireshark's (1-based, across \
         all files in time order). Every call is shown in detail when the capture has at most \
         {LADDER_CALL_LIMIT} calls, otherwise the worst call of each failure pattern; a ladder shows at most \
         {LADDER_MAX_ROWS} rows. This file is self-contained: it loads nothing from the network.</footer>\n\
         </main>\n<script>{}\n{}</script>\n</body>\n</html>\n",
        env!("CARGO_PKG_VERSION"),
        SORT_SCRIPT.trim_end(),
        CALLS_SCRIPT.trim_end()
    )
}
