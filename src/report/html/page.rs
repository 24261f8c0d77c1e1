//! The page around the calls: the document head (with `style.css` inlined), the summary cards and
//! counts, the captures and calls tables, and the tail (transport failures and RTP streams tied to no
//! call, the footer with `sort.js` inlined). Each call's own section is `call.rs`.
//!
//! Each function appends one part to the page being built; [`super::write`] calls them in order.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::{self, Write as _};

use super::{date_time, escape, mos, state_label, table_head, LADDER_CALL_LIMIT, LADDER_MAX_ROWS};
use crate::analysis::{Analysis, CaptureSummary};
use crate::correlate::calls::State;
use crate::correlate::media::Stream;
use crate::diagnose::{Severity, TransportEvent};
use crate::report::format::rfc3339;
use crate::report::json::link_type_name;
use crate::report::words::{clock, duration_or_dash, short_uri, truncate, vantage_line};
use crate::words::{duration_ns, frames_list, plural};

/// The page's style sheet, inlined in its head.
const STYLE: &str = include_str!("style.css");
/// Sorts a table by the clicked column (numbers by `data-v` where given). The page works without it.
/// Kept on one line, as it goes into the page; inlined at the end of the page.
const SORT_SCRIPT: &str = include_str!("sort.js");

/// Rows of the table of streams tied to no call.
const UNLINKED_STREAM_ROWS: usize = 2000;

fn severity_rank(s: Option<Severity>) -> u8 {
    match s {
        Some(Severity::Error) => 0,
        Some(Severity::Warning) => 1,
        Some(Severity::Info) => 2,
        None => 3,
    }
}

fn state_rank(s: State) -> u8 {
    match s {
        State::Unanswered | State::Rejected | State::InProgress => 0,
        State::Cancelled => 1,
        State::Answered | State::MidCall => 2,
    }
}

/// Call indexes (0-based), failed first: by worst finding, then by outcome, then by time.
pub(super) fn call_order(analysis: &Analysis) -> Vec<usize> {
    let mut order: Vec<usize> = (0..analysis.calls.len()).collect();
    order.sort_by_key(|&i| {
        (
            severity_rank(analysis.calls[i].worst()),
            state_rank(analysis.calls[i].state),
            i,
        )
    });
    order
}

/// The document head and the page header.
pub(super) fn head(analysis: &Analysis, h: &mut String) -> fmt::Result {
    let names: Vec<String> = analysis
        .captures
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
    let span = time_span(analysis);
    writeln!(
        h,
        "<header class=\"top\"><h1>callscope report</h1><div class=\"sub\">{}{}</div></header>\n<main>",
        escape(&names.join(", ")),
        span.map(|(a, b)| format!(
            " · {} – {} UTC ({})",
            date_time(a),
            clock(b),
            duration_ns(a, b)
        ))
        .unwrap_or_default()
    )
}

/// Earliest and latest packet over all files.
fn time_span(analysis: &Analysis) -> Option<(i64, i64)> {
    let first = analysis
        .captures
        .iter()
        .filter_map(|c| c.first_ts_ns)
        .min()?;
    let last = analysis
        .captures
        .iter()
        .filter_map(|c| c.last_ts_ns)
        .max()?;
    Some((first, last))
}

/// The summary cards, finding codes and counts, then the captures and calls tables.
pub(super) fn overview(analysis: &Analysis, h: &mut String) -> fmt::Result {
    // Summary cards.
    let n = analysis.calls.len();
    let failed = (0..n)
        .filter(|&i| analysis.calls[i].worst() == Some(Severity::Error))
        .count();
    let degraded = (0..n)
        .filter(|&i| analysis.calls[i].worst() == Some(Severity::Warning))
        .count();
    let mut states: BTreeMap<&'static str, usize> = BTreeMap::new();
    for c in &analysis.calls {
        *states.entry(c.state.as_str()).or_default() += 1;
    }
    h.push_str("<h2 id=\"summary\">Summary</h2>\n<div class=\"cards\">");
    let card = |h: &mut String, class: &str, n: String, label: &str| {
        write!(
            h,
            "<div class=\"card {class}\"><div class=\"n\">{n}</div><div class=\"l\">{label}</div></div>"
        )
    };
    card(h, "", n.to_string(), "calls")?;
    card(
        h,
        if failed > 0 { "err" } else { "ok" },
        failed.to_string(),
        "failed",
    )?;
    card(
        h,
        if degraded > 0 { "warn" } else { "ok" },
        degraded.to_string(),
        "degraded",
    )?;
    card(
        h,
        "",
        states.get("answered").copied().unwrap_or(0).to_string(),
        "answered",
    )?;
    card(h, "", analysis.streams.len().to_string(), "RTP streams")?;
    card(h, "", analysis.sip.messages.to_string(), "SIP messages")?;
    card(h, "", analysis.packets().to_string(), "packets")?;
    h.push_str("</div>\n");
    // Finding codes: in how many calls each appears, with its worst severity.
    let mut codes: BTreeMap<&'static str, (usize, Severity)> = BTreeMap::new();
    for fs in analysis.calls.iter().map(|c| &c.findings) {
        let mut seen: BTreeSet<&'static str> = BTreeSet::new();
        for f in fs {
            let e = codes.entry(f.code).or_insert((0, f.severity));
            if seen.insert(f.code) {
                e.0 += 1;
            }
            e.1 = e.1.min(f.severity);
        }
    }
    if !codes.is_empty() {
        h.push_str("<div class=\"codes\"><span class=\"note\">Findings by code: </span>");
        for (code, (count, sev)) in &codes {
            write!(
                h,
                "<span class=\"chip {}\"><code>{}</code> × {count}</span>",
                sev.as_str(),
                escape(code)
            )?;
        }
        h.push_str("</div>\n");
    }
    for p in &analysis.patterns {
        writeln!(
            h,
            "<p class=\"pattern\"><span class=\"sev warning\">pattern</span> <code>{}</code> {}</p>",
            escape(p.code),
            escape(&p.summary)
        )?;
    }
    let states_line: Vec<String> = states
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
        plural(analysis.sip.messages, "message"),
        analysis.sip.resent,
        plural(analysis.other_dialogs.len() as u64, "dialog"),
        analysis.transport_events.len()
    )?;
    writeln!(
        h,
        "<p class=\"note\">Vantage: {}.</p>",
        escape(&vantage_line(&analysis.vantage))
    )?;
    captures_table(&analysis.captures, h)?;
    calls_table(analysis, h)
}

fn captures_table(captures: &[CaptureSummary], h: &mut String) -> fmt::Result {
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
        writeln!(
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
        )?;
        let warnings = c.warnings.len() as u64 + c.warnings_dropped;
        if warnings > 0 {
            let first = c
                .warnings
                .first()
                .map(|w| format!(": at byte {}: {}", w.offset, w.message))
                .unwrap_or_default();
            writeln!(
                h,
                "<tr><td colspan=\"8\" class=\"note\">{} while reading{}</td></tr>",
                plural(warnings, "warning"),
                escape(&first)
            )?;
        }
    }
    h.push_str("</tbody></table>\n");
    Ok(())
}

fn calls_table(analysis: &Analysis, h: &mut String) -> fmt::Result {
    h.push_str("<h2 id=\"calls\">Calls</h2>\n");
    if analysis.calls.is_empty() {
        h.push_str("<p class=\"note\">No SIP call (INVITE) in the capture.</p>\n");
        return Ok(());
    }
    h.push_str(
        "<p class=\"note\">Failed calls first. Click a column to sort, a row to open the call.</p>\n",
    );
    table_head(
        h,
        " class=\"sortable\" id=\"call-table\"",
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
    for i in call_order(analysis) {
        let call = &analysis.calls[i];
        let sev = call.worst();
        let primary = call.findings.first();
        let setup = call.timings.answer_ms.or(call.timings.final_ms);
        writeln!(
            h,
            "<tr class=\"sev-{}\"><td class=\"num\" data-v=\"{}\"><a href=\"#call-{n}\">{n}</a></td>\
             <td class=\"mono\" data-v=\"{}\">{}</td><td><a href=\"#call-{n}\">{} → {}</a></td>\
             <td><span class=\"badge st-{st}\">{}</span></td><td>{}</td><td class=\"num\" data-v=\"{}\">{}</td>\
             <td class=\"num\" data-v=\"{}\">{}</td><td data-v=\"{}\">{}</td></tr>",
            sev.map_or("none", Severity::as_str),
            i + 1,
            call.start_ts_ns,
            clock(call.start_ts_ns),
            escape(&truncate(short_uri(&call.from), 40)),
            escape(&truncate(short_uri(&call.to), 40)),
            state_label(call.state.as_str()),
            call.final_response
                .as_ref()
                .map(|r| format!("{} {}", r.status, escape(&r.reason)))
                .unwrap_or_else(|| "–".to_string()),
            setup.unwrap_or(-1.0),
            duration_or_dash(setup),
            call.timings.duration_ms.unwrap_or(-1.0),
            duration_or_dash(call.timings.duration_ms),
            severity_rank(sev),
            primary
                .map(|f| format!(
                    "<span class=\"chip {}\"><code>{}</code></span>",
                    f.severity.as_str(),
                    escape(f.code)
                ))
                .unwrap_or_else(|| "–".to_string()),
            n = i + 1,
            st = call.state.as_str(),
        )?;
    }
    h.push_str("</tbody></table>\n");
    Ok(())
}

/// Transport failures and RTP streams tied to no call, the footer and the end of the document.
pub(super) fn tail(analysis: &Analysis, h: &mut String) -> fmt::Result {
    let unlinked: Vec<&TransportEvent> = analysis
        .transport_events
        .iter()
        .filter(|e| e.calls.is_empty())
        .collect();
    h.push_str("<h2 id=\"transport\">Transport failures not tied to a call</h2>\n");
    if unlinked.is_empty() {
        h.push_str("<p class=\"note\">None.</p>\n");
    } else {
        table_head(
            h,
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
        for e in unlinked {
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
            )?;
        }
        h.push_str("</tbody></table>\n");
    }
    let streams: Vec<&Stream> = analysis
        .streams
        .iter()
        .filter(|s| s.call.is_none())
        .collect();
    h.push_str("<h2 id=\"streams\">RTP streams not tied to a call</h2>\n");
    if streams.is_empty() {
        h.push_str("<p class=\"note\">None.</p>\n");
    } else {
        table_head(
            h,
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
        for s in streams.iter().take(UNLINKED_STREAM_ROWS) {
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
            )?;
        }
        h.push_str("</tbody></table>\n");
        if streams.len() > UNLINKED_STREAM_ROWS {
            writeln!(
                h,
                "<p class=\"note\">Only the first {UNLINKED_STREAM_ROWS} of {} streams are listed.</p>",
                streams.len()
            )?;
        }
    }
    writeln!(
        h,
        "<footer>Generated by callscope {}. Times are UTC; frame numbers are Wireshark's (1-based, across \
         all files in time order). Ladders and media plots are drawn for every call when the capture has at \
         most {LADDER_CALL_LIMIT} calls, otherwise for calls with findings; each shows at most {LADDER_MAX_ROWS} rows. \
         This file is self-contained: it loads nothing from the network.</footer>\n</main>\n<script>{}</script>\n\
         </body>\n</html>",
        env!("CARGO_PKG_VERSION"),
        SORT_SCRIPT.trim_end()
    )
}
