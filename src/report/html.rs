//! The HTML report: one self-contained page a support engineer attaches to a ticket and the next
//! engineer opens offline in any browser.
//!
//! Takes an [`Analysis`]; writes a single HTML document with inline CSS and inline SVG: the captures
//! and summary counts, the call table (failed calls first, sortable by a few lines of inline script
//! that the page does not need), and per call its findings, a Wireshark filter, a ladder diagram of
//! its SIP messages with the transport evidence tied to it (TCP handshake attempts, RSTs, TLS alerts,
//! ICMP errors) on the same time axis, and per RTP stream its figures and a plot of jitter and packet
//! gaps over time. Transport failures and RTP streams tied to no call close the page.
//!
//! It computes nothing: every figure comes from the analysis. It loads nothing: no URL of any kind
//! appears in the page (a Content-Security-Policy forbids fetching anyway). Every string that comes
//! from a capture is escaped as HTML text ([`escape`]), since captures are untrusted.
//! To keep the file small for captures with many calls, ladders are drawn for every call only when
//! there are at most [`LADDER_CALL_LIMIT`] calls, otherwise for the calls with findings; a ladder
//! shows at most [`LADDER_MAX_ROWS`] rows. The page says so where it applies.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::{self, Write as _};
use std::io::{self, Write};
use std::net::SocketAddr;

use super::json::{link_type_name, wireshark_filter};
use super::time::rfc3339;
use super::words::{
    clock, findings, frames_list, human_ms, plural, sdp_note, short_uri, truncate, worst,
};
use crate::analysis::{Analysis, CaptureSummary};
use crate::correlate::calls::State;
use crate::correlate::media::Stream;
use crate::correlate::message::{Kind, Message, Method};
use crate::correlate::transport::{At, Connection, IcmpError, Rst};
use crate::diagnose::{Severity, TransportEvent};

/// Up to this many calls, every call gets a ladder; beyond, only calls with findings.
pub const LADDER_CALL_LIMIT: usize = 200;
/// Rows (messages and transport events) a ladder draws at most.
pub const LADDER_MAX_ROWS: usize = 400;
/// Rows of the table of streams tied to no call.
const UNLINKED_STREAM_ROWS: usize = 2000;

/// Writes the whole report as one HTML document.
pub fn write(analysis: &Analysis, mut out: impl Write) -> io::Result<()> {
    let failed = |_| io::Error::other("formatting the html report failed");
    let mut buf = String::with_capacity(64 * 1024);
    head(analysis, &mut buf).map_err(failed)?;
    overview(analysis, &mut buf).map_err(failed)?;
    out.write_all(buf.as_bytes())?;
    let all_ladders = analysis.calls.len() <= LADDER_CALL_LIMIT;
    if !analysis.calls.is_empty() {
        buf.clear();
        write!(buf, "<h2 id=\"calls-detail\">Calls in detail</h2>").map_err(failed)?;
        if !all_ladders {
            write!(
                buf,
                "<p class=\"note\">This capture has {} calls: ladder diagrams and media plots are drawn \
                 only for calls with findings (for every call up to {LADDER_CALL_LIMIT} calls).</p>",
                analysis.calls.len()
            )
            .map_err(failed)?;
        }
        out.write_all(buf.as_bytes())?;
    }
    // Per-call sections go out one by one, so memory stays small for captures with many calls.
    for i in call_order(analysis) {
        buf.clear();
        call_section(analysis, i, all_ladders, &mut buf).map_err(failed)?;
        out.write_all(buf.as_bytes())?;
    }
    buf.clear();
    tail(analysis, &mut buf).map_err(failed)?;
    out.write_all(buf.as_bytes())
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
        State::Answered => 2,
    }
}

/// Call indexes (0-based), failed first: by worst finding, then by outcome, then by time.
fn call_order(analysis: &Analysis) -> Vec<usize> {
    let mut order: Vec<usize> = (0..analysis.calls.len()).collect();
    order.sort_by_key(|&i| {
        (
            severity_rank(worst(analysis, i)),
            state_rank(analysis.calls[i].state),
            i,
        )
    });
    order
}

const STYLE: &str = r#"
:root{--fg:#1e293b;--muted:#64748b;--line:#e2e8f0;--bg:#f1f5f9;--card:#fff;--err:#dc2626;--warn:#d97706;--info:#2563eb;--ok:#16a34a;--accent:#0f4c81}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
header.top{background:var(--accent);color:#fff;padding:18px 32px 16px}
header.top h1{margin:0;font-size:22px;font-weight:600;letter-spacing:.2px}
header.top .sub{opacity:.85;font-size:13px;margin-top:2px}
main{max-width:1240px;margin:0 auto;padding:20px 32px 40px}
h2{font-size:18px;margin:28px 0 10px;padding-bottom:4px;border-bottom:2px solid var(--line)}
h3{font-size:16px;margin:0 0 8px}
h4{font-size:14px;margin:16px 0 6px;color:#334155}
code,.mono{font-family:ui-monospace,"SFMono-Regular",Menlo,Consolas,"DejaVu Sans Mono",monospace;font-size:12.5px}
a{color:#1d4ed8;text-decoration:none}
a:hover{text-decoration:underline}
.note{color:var(--muted);font-size:13px}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:12px 0}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:10px 16px;min-width:120px}
.card .n{font-size:26px;font-weight:650;line-height:1.1}
.card .l{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.4px}
.card.err .n{color:var(--err)}.card.warn .n{color:var(--warn)}.card.ok .n{color:var(--ok)}
.codes{margin:6px 0 0}
.chip{display:inline-block;border-radius:999px;padding:1px 10px;margin:2px 4px 2px 0;font-size:12px;border:1px solid var(--line);background:#fff}
.chip.error{border-color:#fecaca;background:#fef2f2;color:#991b1b}
.chip.warning{border-color:#fde68a;background:#fffbeb;color:#92400e}
.chip.info{border-color:#bfdbfe;background:#eff6ff;color:#1e40af}
table{border-collapse:collapse;width:100%;background:var(--card);border:1px solid var(--line);border-radius:8px;overflow:hidden}
th,td{padding:6px 10px;text-align:left;border-bottom:1px solid var(--line);vertical-align:top}
th{background:#f8fafc;font-size:12px;text-transform:uppercase;letter-spacing:.3px;color:#475569;white-space:nowrap}
table.sortable th{cursor:pointer}
tr:last-child td{border-bottom:none}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tr.sev-error td:first-child{box-shadow:inset 4px 0 var(--err)}
tr.sev-warning td:first-child{box-shadow:inset 4px 0 var(--warn)}
tr.sev-info td:first-child{box-shadow:inset 4px 0 var(--info)}
tr.sev-none td:first-child{box-shadow:inset 4px 0 var(--ok)}
.badge{display:inline-block;border-radius:4px;padding:0 7px;font-size:12px;font-weight:600;white-space:nowrap}
.st-answered{background:#dcfce7;color:#166534}.st-rejected,.st-unanswered{background:#fee2e2;color:#991b1b}
.st-cancelled{background:#f1f5f9;color:#475569}.st-in_progress{background:#fef3c7;color:#92400e}
.sev{display:inline-block;border-radius:4px;padding:0 7px;font-size:11px;font-weight:700;text-transform:uppercase;color:#fff}
.sev.error{background:var(--err)}.sev.warning{background:var(--warn)}.sev.info{background:var(--info)}
section.call{background:var(--card);border:1px solid var(--line);border-left:5px solid var(--ok);border-radius:8px;padding:14px 18px;margin:14px 0}
section.call.error{border-left-color:var(--err)}section.call.warning{border-left-color:var(--warn)}section.call.info{border-left-color:var(--info)}
dl.facts{display:grid;grid-template-columns:repeat(auto-fill,minmax(200px,1fr));gap:4px 18px;margin:6px 0 10px}
dl.facts div{min-width:0}
dl.facts dt{color:var(--muted);font-size:11px;text-transform:uppercase;letter-spacing:.3px}
dl.facts dd{margin:0;overflow-wrap:anywhere}
.finding{border:1px solid var(--line);border-radius:6px;padding:8px 12px;margin:8px 0;background:#fcfcfd}
.finding.error{border-left:4px solid var(--err)}.finding.warning{border-left:4px solid var(--warn)}.finding.info{border-left:4px solid var(--info)}
.finding p{margin:4px 0}
.finding .cause{color:#334155}
.finding .ev{color:var(--muted);font-size:12.5px}
.primary{font-size:11px;color:var(--err);font-weight:700;text-transform:uppercase;margin-left:6px}
.filter{margin:8px 0;font-size:13px}
.filter code{background:#f1f5f9;border:1px solid var(--line);border-radius:4px;padding:1px 6px;overflow-wrap:anywhere}
figure{margin:10px 0;overflow-x:auto}
figure svg{display:block;height:auto}
figcaption{color:var(--muted);font-size:12px;margin-top:4px}
.legend span{display:inline-block;margin-right:14px;white-space:nowrap}
.legend i{display:inline-block;width:22px;height:0;border-top:2px solid;vertical-align:middle;margin-right:5px}
.stream{border-top:1px dashed var(--line);padding-top:8px;margin-top:8px}
.stream table{width:auto}
.poor{color:var(--err);font-weight:600}
footer{color:var(--muted);font-size:12px;margin-top:30px;border-top:1px solid var(--line);padding-top:10px}
@media print{body{background:#fff}section.call{break-inside:avoid}}
"#;

/// Sorts a table by the clicked column (numbers by `data-v` where given). The page works without it.
const SORT_SCRIPT: &str = "document.querySelectorAll('table.sortable th').forEach(function(th){\
th.addEventListener('click',function(){var b=th.closest('table').tBodies[0],i=th.cellIndex,\
d=th.dataset.dir==='a'?-1:1;th.dataset.dir=d>0?'a':'d';var r=Array.prototype.slice.call(b.rows);\
r.sort(function(x,y){var p=x.cells[i].dataset.v||x.cells[i].textContent,q=y.cells[i].dataset.v||\
y.cells[i].textContent,m=parseFloat(p),n=parseFloat(q);return(isNaN(m)||isNaN(n)?p.localeCompare(q):m-n)*d;});\
r.forEach(function(x){b.appendChild(x);});});});";

fn head(analysis: &Analysis, h: &mut String) -> fmt::Result {
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
         <meta name=\"generator\" content=\"callscope {}\">\n<title>{}</title>\n<style>{STYLE}</style>\n\
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
            " · {} – {} UTC ({:.1} s)",
            rfc3339(a).replace('T', " ").trim_end_matches('Z'),
            clock(b),
            b.saturating_sub(a) as f64 / 1e9
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

fn overview(analysis: &Analysis, h: &mut String) -> fmt::Result {
    // Summary cards.
    let n = analysis.calls.len();
    let failed = (0..n)
        .filter(|&i| worst(analysis, i) == Some(Severity::Error))
        .count();
    let degraded = (0..n)
        .filter(|&i| worst(analysis, i) == Some(Severity::Warning))
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
    for fs in &analysis.diagnosis.calls {
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
    let states_line: Vec<String> = states
        .iter()
        .map(|(s, n)| format!("{n} {}", s.replace('_', " ")))
        .collect();
    writeln!(
        h,
        "<p class=\"note\">Calls: {}. SIP: {}, {} retransmitted; {} without INVITE. Transport failures: {}.</p>",
        if states_line.is_empty() {
            "none".to_string()
        } else {
            states_line.join(", ")
        },
        plural(analysis.sip.messages as usize, "message"),
        analysis.sip.resent,
        plural(analysis.other_dialogs.len(), "dialog"),
        analysis.diagnosis.transport_events.len()
    )?;
    captures_table(&analysis.captures, h)?;
    calls_table(analysis, h)
}

fn captures_table(captures: &[CaptureSummary], h: &mut String) -> fmt::Result {
    h.push_str(
        "<h2 id=\"captures\">Captures</h2>\n<table><thead><tr><th>file</th><th>format</th><th>link</th>\
         <th>packets</th><th>bytes</th><th>first packet (UTC)</th><th>last packet (UTC)</th><th>span</th>\
         </tr></thead><tbody>\n",
    );
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
                plural(warnings as usize, "warning"),
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
        "<p class=\"note\">Failed calls first. Click a column to sort, a row to open the call.</p>\n\
         <table class=\"sortable\" id=\"call-table\"><thead><tr><th>#</th><th>start (UTC)</th>\
         <th>from → to</th><th>state</th><th>status</th><th>setup</th><th>duration</th>\
         <th>primary finding</th></tr></thead><tbody>\n",
    );
    for i in call_order(analysis) {
        let call = &analysis.calls[i];
        let sev = worst(analysis, i);
        let primary = findings(analysis, i).first();
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
            call.state.as_str().replace('_', " "),
            call.final_response
                .as_ref()
                .map(|r| format!("{} {}", r.status, escape(&r.reason)))
                .unwrap_or_else(|| "–".to_string()),
            setup.unwrap_or(-1.0),
            human_ms(setup),
            call.timings.duration_ms.unwrap_or(-1.0),
            human_ms(call.timings.duration_ms),
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

fn call_section(analysis: &Analysis, i: usize, all_ladders: bool, h: &mut String) -> fmt::Result {
    let call = &analysis.calls[i];
    let fs = findings(analysis, i);
    let sev = worst(analysis, i);
    let n = i + 1;
    writeln!(
        h,
        "<section class=\"call {}\" id=\"call-{n}\"><h3><a href=\"#call-{n}\">#{n}</a> {} → {} \
         <span class=\"badge st-{}\">{}</span> {}</h3>",
        sev.map_or("none", Severity::as_str),
        escape(short_uri(&call.from)),
        escape(short_uri(&call.to)),
        call.state.as_str(),
        call.state.as_str().replace('_', " "),
        call.final_response
            .as_ref()
            .map(|r| format!(
                "<span class=\"mono\">{} {}</span> <span class=\"note\">(frame {})</span>",
                r.status,
                escape(&r.reason),
                r.frame
            ))
            .unwrap_or_default()
    )?;
    h.push_str("<dl class=\"facts\">");
    let fact = |h: &mut String, k: &str, v: &str| write!(h, "<div><dt>{k}</dt><dd>{v}</dd></div>");
    fact(
        h,
        "Call-ID",
        &format!("<code>{}</code>", escape(&call.call_id)),
    )?;
    fact(
        h,
        "start (UTC)",
        rfc3339(call.start_ts_ns)
            .replace('T', " ")
            .trim_end_matches('Z'),
    )?;
    fact(
        h,
        "caller → first hop",
        &format!(
            "<span class=\"mono\">{} → {}</span> ({})",
            call.caller,
            call.callee,
            call.transport.as_str()
        ),
    )?;
    fact(h, "from", &escape(&call.from))?;
    fact(h, "to", &escape(&call.to))?;
    let t = &call.timings;
    fact(
        h,
        "first response / post-dial delay",
        &format!("{} / {}", human_ms(t.first_response_ms), human_ms(t.pdd_ms)),
    )?;
    fact(
        h,
        "final response / answer",
        &format!("{} / {}", human_ms(t.final_ms), human_ms(t.answer_ms)),
    )?;
    fact(
        h,
        "duration / ended by",
        &format!(
            "{} / {}",
            human_ms(t.duration_ms),
            call.ended_by.map_or("–", |e| e.as_str())
        ),
    )?;
    fact(
        h,
        "SIP messages",
        &format!("{} ({} retransmitted)", call.messages.len(), call.resent()),
    )?;
    h.push_str("</dl>\n");
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
    if fs.is_empty() {
        h.push_str("<p class=\"note\">No findings for this call.</p>\n");
    }
    write!(
        h,
        "<p class=\"filter\">Wireshark filter: <code>{}</code>",
        escape(&wireshark_filter(&call.call_id))
    )?;
    if let Some(primary) = fs.first().filter(|f| !f.frames.is_empty()) {
        let list: Vec<String> = primary.frames.iter().take(64).map(u64::to_string).collect();
        write!(
            h,
            " &nbsp; evidence: <code>frame.number in {{{}}}</code>",
            list.join(" ")
        )?;
    }
    h.push_str("</p>\n");
    // Large captures: diagrams only for the calls with findings, to keep the file small.
    let detailed = all_ladders || !fs.is_empty();
    if detailed {
        ladder(analysis, i, h)?;
    } else {
        h.push_str(
            "<p class=\"note\">Ladder and media plots omitted: the capture has many calls and this one \
             has no findings.</p>\n",
        );
    }
    let streams: Vec<&Stream> = analysis
        .streams
        .iter()
        .filter(|s| s.call == Some(i))
        .collect();
    if !streams.is_empty() {
        h.push_str("<h4>Media</h4>\n");
        for s in streams {
            stream_block(s, detailed, h)?;
        }
    } else if call.state == State::Answered {
        h.push_str("<p class=\"note\">No RTP stream was tied to this call.</p>\n");
    }
    h.push_str("</section>\n");
    Ok(())
}

/// What a ladder row is, for its colour.
#[derive(Clone, Copy, PartialEq, Eq)]
enum RowKind {
    Request,
    Provisional,
    Success,
    Failure,
    Tcp,
    Icmp,
}

impl RowKind {
    fn colour(self) -> &'static str {
        match self {
            RowKind::Request => "#1d4ed8",
            RowKind::Provisional => "#64748b",
            RowKind::Success => "#15803d",
            RowKind::Failure => "#c2410c",
            RowKind::Tcp => "#7c3aed",
            RowKind::Icmp => "#be185d",
        }
    }
}

/// One arrow of a ladder.
struct Row {
    ts_ns: i64,
    frame: u64,
    from: String,
    to: String,
    label: String,
    note: String,
    kind: RowKind,
    /// A retransmission (dashed).
    resent: bool,
}

const HIGHLIGHT: &str = "#dc2626";

fn message_row(m: &Message, resent: bool) -> Row {
    let kind = match &m.kind {
        Kind::Request { .. } => RowKind::Request,
        Kind::Response { status, .. } if status.is_provisional() => RowKind::Provisional,
        Kind::Response { status, .. } if status.is_success() => RowKind::Success,
        Kind::Response { .. } => RowKind::Failure,
    };
    let mut label = m.label();
    if let (Kind::Response { .. }, Some(cseq)) = (&m.kind, &m.cseq) {
        if cseq.method != Method::Invite {
            label = format!("{label} ({})", cseq.method.as_str());
        }
    }
    if resent {
        label.push_str(" ↻");
    }
    Row {
        ts_ns: m.ts_ns,
        frame: m.frame,
        from: m.src.to_string(),
        to: m.dst.to_string(),
        label,
        note: sdp_note(m),
        kind,
        resent,
    }
}

/// The TCP connections tied to a call: those of transport events that explain it, and those that
/// carried its SIP and opened while it lasted.
fn call_connections<'a>(
    analysis: &'a Analysis,
    i: usize,
    events: &[&TransportEvent],
) -> Vec<&'a Connection> {
    let call = &analysis.calls[i];
    let event_frames: BTreeSet<u64> = events
        .iter()
        .filter(|e| e.proto.is_connection())
        .flat_map(|e| e.frames.iter().copied())
        .collect();
    let on_hop = |c: &Connection| {
        call.hops
            .iter()
            .any(|&(a, b)| (a, b) == (c.client, c.server) || (b, a) == (c.client, c.server))
    };
    let window = (
        call.start_ts_ns.saturating_sub(5_000_000_000),
        call.end_ts_ns,
    );
    analysis
        .connections
        .iter()
        .filter(|c| {
            let tied = c.evidence_frames().iter().any(|f| event_frames.contains(f));
            let own = on_hop(c)
                && c.syns
                    .first()
                    .is_some_and(|s| s.ts_ns >= window.0 && s.ts_ns <= window.1);
            tied || own
        })
        .take(16)
        .collect()
}

/// ICMP errors tied to a call: named by a transport event that explains it, or quoting the call's
/// SIP or RTP while it lasted.
fn call_icmp<'a>(
    analysis: &'a Analysis,
    i: usize,
    events: &[&TransportEvent],
) -> Vec<&'a IcmpError> {
    let call = &analysis.calls[i];
    let event_frames: BTreeSet<u64> = events
        .iter()
        .flat_map(|e| e.frames.iter().copied())
        .collect();
    let from = call.start_ts_ns.saturating_sub(1_000_000_000);
    let to = call.end_ts_ns.saturating_add(5_000_000_000);
    let streams: Vec<&Stream> = analysis
        .streams
        .iter()
        .filter(|s| s.call == Some(i))
        .collect();
    analysis
        .icmp_errors
        .iter()
        .filter(|e| {
            let in_time = e.ts_ns >= from && e.ts_ns <= to;
            let sip = e.quoted_sip && call.hops.contains(&(e.src, e.dst));
            let rtp = streams.iter().any(|s| (s.src, s.dst) == (e.src, e.dst));
            event_frames.contains(&e.frame) || (in_time && (sip || rtp))
        })
        .take(64)
        .collect()
}

fn transport_rows(conns: &[&Connection], icmp: &[&IcmpError], rows: &mut Vec<Row>) {
    for c in conns {
        let (client, server) = (c.client.to_string(), c.server.to_string());
        for (k, &At { frame, ts_ns }) in c.syns.iter().enumerate() {
            rows.push(Row {
                ts_ns,
                frame,
                from: client.clone(),
                to: server.clone(),
                label: if k == 0 {
                    "TCP SYN".to_string()
                } else {
                    format!("TCP SYN (retry {k})")
                },
                note: if k + 1 == c.syns.len() && c.syn_count as usize > c.syns.len() {
                    format!("{} SYNs in all", c.syn_count)
                } else {
                    String::new()
                },
                kind: RowKind::Tcp,
                resent: k > 0,
            });
        }
        if let Some(At { frame, ts_ns }) = c.syn_ack {
            rows.push(Row {
                ts_ns,
                frame,
                from: server.clone(),
                to: client.clone(),
                label: "TCP SYN, ACK".to_string(),
                note: c
                    .handshake_ms
                    .map(|ms| format!("handshake {ms:.2} ms"))
                    .unwrap_or_default(),
                kind: RowKind::Tcp,
                resent: false,
            });
        }
        if let Some(Rst {
            at: At { frame, ts_ns },
            by_client,
        }) = c.rst
        {
            let (from, to) = if by_client {
                (client.clone(), server.clone())
            } else {
                (server.clone(), client.clone())
            };
            rows.push(Row {
                ts_ns,
                frame,
                from,
                to,
                label: "TCP RST".to_string(),
                note: String::new(),
                kind: RowKind::Tcp,
                resent: false,
            });
        }
        if let Some(alert) = c.tls.as_ref().and_then(|t| t.alert.as_ref()) {
            let (from, to) = if alert.from_client {
                (client.clone(), server.clone())
            } else {
                (server.clone(), client.clone())
            };
            rows.push(Row {
                ts_ns: alert.ts_ns,
                frame: alert.frame,
                from,
                to,
                label: format!(
                    "TLS {} alert {}",
                    if alert.level == 2 { "fatal" } else { "warning" },
                    alert.name
                ),
                note: String::new(),
                kind: RowKind::Tcp,
                resent: false,
            });
        }
    }
    for e in icmp {
        // The reporter sends the error back to the quoted packet's sender; it is usually the quoted
        // destination itself, else a router on the way (a column of its own, address only).
        let from = if e.reporter == e.dst.ip() {
            e.dst.to_string()
        } else {
            e.reporter.to_string()
        };
        rows.push(Row {
            ts_ns: e.ts_ns,
            frame: e.frame,
            from,
            to: e.src.to_string(),
            label: format!("ICMP {}", e.kind),
            note: format!(
                "quotes {} {} → {}",
                if e.quoted_sip {
                    "SIP"
                } else if e.quoted_rtp {
                    "RTP"
                } else {
                    "a packet"
                },
                e.src,
                e.dst
            ),
            kind: RowKind::Icmp,
            resent: false,
        });
    }
}

// Ladder geometry (SVG user units = CSS pixels at full size).
const LEFT: f64 = 132.0;
const HEAD: f64 = 62.0;
const ROW: f64 = 34.0;
const NOTE_EXTRA: f64 = 12.0;
const GAP_EXTRA: f64 = 16.0;

fn ladder(analysis: &Analysis, i: usize, h: &mut String) -> fmt::Result {
    let call = &analysis.calls[i];
    let events: Vec<&TransportEvent> = analysis
        .diagnosis
        .transport_events
        .iter()
        .filter(|e| e.calls.contains(&i))
        .collect();
    let conns = call_connections(analysis, i, &events);
    let icmp = call_icmp(analysis, i, &events);
    let mut rows: Vec<Row> = call
        .messages
        .iter()
        .map(|s| message_row(&s.msg, s.resent))
        .collect();
    transport_rows(&conns, &icmp, &mut rows);
    rows.sort_by_key(|r| (r.ts_ns, r.frame));
    let total = rows.len();
    rows.truncate(LADDER_MAX_ROWS);
    let highlight: BTreeSet<u64> = findings(analysis, i)
        .first()
        .map(|f| f.frames.iter().copied().collect())
        .unwrap_or_default();
    // Columns in order of first appearance, so the caller is on the left.
    let mut hosts: Vec<&str> = Vec::new();
    for r in &rows {
        for a in [r.from.as_str(), r.to.as_str()] {
            if !hosts.contains(&a) {
                hosts.push(a);
            }
        }
    }
    let col_w: f64 = match hosts.len() {
        0..=2 => 300.0,
        3 => 230.0,
        4 => 210.0,
        5 => 185.0,
        _ => 165.0,
    };
    let width = LEFT + col_w * hosts.len() as f64 + 16.0;
    let x_of = |a: &str| {
        let k = hosts.iter().position(|h| *h == a).unwrap_or(0);
        LEFT + col_w * (k as f64 + 0.5)
    };
    // Row positions: a little extra room for notes and for pauses of a second or more.
    let mut ys = Vec::with_capacity(rows.len());
    let mut y = HEAD + 30.0;
    let mut gaps: Vec<(f64, f64)> = Vec::new();
    for (k, r) in rows.iter().enumerate() {
        if let Some(prev) = k.checked_sub(1).and_then(|p| rows.get(p)) {
            let pause = (r.ts_ns.saturating_sub(prev.ts_ns)) as f64 / 1e9;
            y += ROW;
            if pause >= 1.0 {
                y += GAP_EXTRA;
            }
            if !prev.note.is_empty() {
                y += NOTE_EXTRA;
            }
            if pause >= 1.0 {
                // Between the previous row's band and this one's.
                gaps.push((y - 25.0, pause));
            }
        }
        ys.push(y);
    }
    let height = y
        + ROW
        + if rows.last().is_some_and(|r| !r.note.is_empty()) {
            NOTE_EXTRA
        } else {
            0.0
        };
    let t0 = call.start_ts_ns;
    writeln!(
        h,
        "<figure class=\"ladder\"><svg viewBox=\"0 0 {width:.0} {height:.0}\" \
         width=\"{width:.0}\" role=\"img\" aria-label=\"ladder diagram of call {}\" \
         font-family=\"system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif\" font-size=\"12\">",
        i + 1
    )?;
    // Highlight bands first, under everything.
    for (r, &y) in rows.iter().zip(&ys) {
        if highlight.contains(&r.frame) {
            write!(
                h,
                "<rect x=\"0\" y=\"{:.1}\" width=\"{width:.0}\" height=\"{:.1}\" fill=\"#fee2e2\"/>",
                y - 21.0,
                if r.note.is_empty() { 28.0 } else { 38.0 }
            )?;
        }
    }
    // Host boxes and lifelines.
    for (k, host) in hosts.iter().enumerate() {
        let x = LEFT + col_w * (k as f64 + 0.5);
        let role = if *host == call.caller.to_string() {
            "caller"
        } else if *host == call.callee.to_string() {
            "first hop (INVITE)"
        } else if host.parse::<SocketAddr>().is_err() {
            "reporter of ICMP"
        } else {
            ""
        };
        writeln!(
            h,
            "<line x1=\"{x:.1}\" y1=\"{:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"#cbd5e1\" stroke-width=\"2\"/>\
             <rect x=\"{:.1}\" y=\"8\" width=\"{:.1}\" height=\"{:.1}\" rx=\"6\" fill=\"#f1f5f9\" stroke=\"#94a3b8\"/>\
             <text x=\"{x:.1}\" y=\"28\" text-anchor=\"middle\" font-weight=\"600\" \
             font-family=\"ui-monospace,Menlo,Consolas,'DejaVu Sans Mono',monospace\" font-size=\"12\">{}</text>\
             <text x=\"{x:.1}\" y=\"44\" text-anchor=\"middle\" fill=\"#64748b\" font-size=\"11\">{}</text>",
            HEAD - 8.0,
            height - 4.0,
            x - col_w / 2.0 + 8.0,
            col_w - 16.0,
            HEAD - 16.0,
            escape(&truncate(host, 28)),
            role
        )?;
    }
    writeln!(
        h,
        "<text x=\"8\" y=\"{:.1}\" fill=\"#64748b\" font-size=\"11\">time</text>\
         <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#64748b\" font-size=\"11\">frame</text>",
        HEAD + 8.0,
        LEFT - 14.0,
        HEAD + 8.0
    )?;
    for (gy, pause) in &gaps {
        write!(
            h,
            "<text x=\"8\" y=\"{gy:.1}\" fill=\"#94a3b8\" font-size=\"10\" font-style=\"italic\">⋯ {pause:.1} s</text>"
        )?;
    }
    for (r, &y) in rows.iter().zip(&ys) {
        let hot = highlight.contains(&r.frame);
        let colour = if hot { HIGHLIGHT } else { r.kind.colour() };
        let (x1, x2) = (x_of(&r.from), x_of(&r.to));
        write!(
            h,
            "<g><title>frame {} · {} · {} → {}{}</title>\
             <text x=\"8\" y=\"{:.1}\" font-family=\"ui-monospace,Menlo,Consolas,'DejaVu Sans Mono',monospace\" \
             font-size=\"11\" fill=\"#334155\">{:+.3} s</text>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#94a3b8\" font-size=\"11\">{}</text>",
            r.frame,
            escape(&r.label),
            escape(&r.from),
            escape(&r.to),
            if r.note.is_empty() {
                String::new()
            } else {
                format!(" · {}", escape(&r.note))
            },
            y + 4.0,
            (r.ts_ns.saturating_sub(t0)) as f64 / 1e9,
            LEFT - 14.0,
            y + 4.0,
            r.frame
        )?;
        let dash = match (r.resent, r.kind) {
            (true, _) => " stroke-dasharray=\"6 4\"",
            (false, RowKind::Icmp) => " stroke-dasharray=\"2 3\"",
            _ => "",
        };
        let stroke_w = if hot { 2.6 } else { 1.6 };
        let span = (x2 - x1).abs();
        if span < 1.0 {
            // A message to itself: a small loop on the right of the lifeline.
            write!(
                h,
                "<path d=\"M{x1:.1} {:.1} h28 v10 h-22\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"{stroke_w}\"{dash}/>\
                 <polygon points=\"{x1:.1},{:.1} {:.1},{:.1} {:.1},{:.1}\" fill=\"{colour}\"/>",
                y - 5.0,
                y + 5.0,
                x1 + 8.0,
                y + 1.0,
                x1 + 8.0,
                y + 9.0
            )?;
        } else {
            let d = if x2 > x1 { 1.0 } else { -1.0 };
            let tip = x2 - d * 2.0;
            write!(
                h,
                "<line x1=\"{x1:.1}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"{colour}\" stroke-width=\"{stroke_w}\"{dash}/>\
                 <polygon points=\"{tip:.1},{y:.1} {:.1},{:.1} {:.1},{:.1}\" fill=\"{colour}\"/>",
                tip - d * 9.0,
                tip - d * 10.0,
                y - 4.5,
                tip - d * 10.0,
                y + 4.5
            )?;
        }
        let mid = if span < 1.0 {
            x1 + 40.0
        } else {
            (x1 + x2) / 2.0
        };
        let room = ((span.max(col_w) - 16.0) / 6.8).max(8.0) as usize;
        // Notes (10 px text) may run past the lifelines they sit between: their row is their own.
        let note_room = ((span.max(col_w) + col_w * 0.6) / 5.6) as usize;
        write!(
            h,
            "<text x=\"{mid:.1}\" y=\"{:.1}\" text-anchor=\"{}\" fill=\"{}\"{}>{}</text>",
            y - 6.0,
            if span < 1.0 { "start" } else { "middle" },
            if hot { "#b91c1c" } else { "#0f172a" },
            if hot { " font-weight=\"700\"" } else { "" },
            escape(&truncate(&r.label, room))
        )?;
        if !r.note.is_empty() {
            write!(
                h,
                "<text x=\"{mid:.1}\" y=\"{:.1}\" text-anchor=\"{}\" fill=\"#64748b\" font-size=\"10\">{}</text>",
                y + 13.0,
                if span < 1.0 { "start" } else { "middle" },
                escape(&truncate(&r.note, note_room))
            )?;
        }
        h.push_str("</g>\n");
    }
    h.push_str("</svg>");
    let legend = [
        (RowKind::Request.colour(), "solid", "request"),
        (RowKind::Provisional.colour(), "solid", "1xx"),
        (RowKind::Success.colour(), "solid", "2xx"),
        (RowKind::Failure.colour(), "solid", "3xx–6xx"),
        (RowKind::Tcp.colour(), "solid", "TCP / TLS"),
        (RowKind::Icmp.colour(), "dotted", "ICMP error"),
        ("#64748b", "dashed", "retransmission ↻"),
        (HIGHLIGHT, "solid", "evidence of the primary finding"),
    ];
    h.push_str("<figcaption><span class=\"legend\">");
    for (colour, style, label) in legend {
        write!(
            h,
            "<span><i style=\"border-top:2px {style} {colour}\"></i>{label}</span>"
        )?;
    }
    writeln!(
        h,
        "</span><br>Times relative to the call's first message ({} UTC); rows in time order, \
         pauses of a second or more marked on the left.{}</figcaption></figure>",
        clock(t0),
        if total > rows.len() {
            format!(" Only the first {} of {total} rows are drawn.", rows.len())
        } else {
            String::new()
        }
    )
}

fn stream_block(s: &Stream, with_plot: bool, h: &mut String) -> fmt::Result {
    let m = &s.summary;
    let poor_loss = m.lost_pct > 3.0;
    let poor_jitter = m.mean_jitter_ms > 30.0;
    let poor_mos = s.mos.is_some_and(|v| v < 3.6);
    let class = |poor: bool| if poor { " poor" } else { "" };
    writeln!(
        h,
        "<div class=\"stream\"><div><span class=\"mono\">{} → {}</span> &nbsp; {} · SSRC <span class=\"mono\">0x{:08X}</span> \
         · frames {}–{}{}</div>\n<table><thead><tr><th>packets</th><th>lost</th><th>jitter mean / max</th>\
         <th>max delta</th><th>max gap</th><th>MOS</th></tr></thead><tbody><tr>\
         <td class=\"num\">{}</td><td class=\"num{}\">{} ({:.1}%)</td><td class=\"num{}\">{:.2} / {:.2} ms</td>\
         <td class=\"num\">{:.1} ms</td><td class=\"num\">{:.1} ms</td><td class=\"num{}\">{}</td></tr></tbody></table>",
        s.src,
        s.dst,
        escape(s.codec.as_deref().unwrap_or("unknown codec")),
        s.ssrc,
        s.first_frame,
        s.last_frame,
        if s.expected_by_sdp {
            ""
        } else {
            " · <span class=\"poor\">not at the SDP's addresses</span>"
        },
        m.packets,
        class(poor_loss),
        m.lost,
        m.lost_pct,
        class(poor_jitter),
        m.mean_jitter_ms,
        m.max_jitter_ms,
        m.max_delta_ms,
        m.max_gap_ms,
        class(poor_mos),
        s.mos.map(|v| format!("{v:.2}")).unwrap_or_else(|| "–".to_string())
    )?;
    if with_plot {
        plot(s, h)?;
    }
    h.push_str("</div>\n");
    Ok(())
}

/// A round axis maximum at or above `v`: 1, 2 or 5 times a power of ten.
fn nice_max(v: f64) -> f64 {
    if !v.is_finite() || v <= 0.0 {
        return 1.0;
    }
    let p = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|k| k * p)
        .find(|&c| c >= v)
        .unwrap_or(10.0 * p)
}

fn plot(s: &Stream, h: &mut String) -> fmt::Result {
    let tl = &s.timeline;
    if tl.buckets.is_empty() {
        return h.write_str("<p class=\"note\">No timeline for this stream.</p>\n");
    }
    let (w, ht) = (680.0, 150.0);
    let (l, r, t, b) = (52.0, 56.0, 14.0, 28.0);
    let (pw, ph) = (w - l - r, ht - t - b);
    let n = tl.buckets.len();
    let bw = pw / n as f64;
    let jmax = nice_max(
        tl.buckets
            .iter()
            .map(|x| f64::from(x.max_jitter_ms))
            .fold(0.0, f64::max)
            .max(0.5),
    );
    let gmax = nice_max(
        tl.buckets
            .iter()
            .map(|x| f64::from(x.max_gap_ms))
            .fold(0.0, f64::max)
            .max(40.0),
    );
    let secs = n as f64 * f64::from(tl.bucket_ms) / 1000.0;
    write!(
        h,
        "<figure><svg viewBox=\"0 0 {w} {ht}\" width=\"{w}\" role=\"img\" \
         aria-label=\"jitter and gaps over time\" font-family=\"system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif\" \
         font-size=\"10\"><rect x=\"{l}\" y=\"{t}\" width=\"{pw}\" height=\"{ph}\" fill=\"#f8fafc\" stroke=\"#e2e8f0\"/>"
    )?;
    for k in 1..4 {
        let gy = t + ph * f64::from(k) / 4.0;
        write!(
            h,
            "<line x1=\"{l}\" y1=\"{gy:.1}\" x2=\"{:.1}\" y2=\"{gy:.1}\" stroke=\"#e2e8f0\"/>",
            l + pw
        )?;
    }
    for (k, b) in tl.buckets.iter().enumerate() {
        let (packets, gap) = (b.packets, b.max_gap_ms);
        let x = l + bw * k as f64;
        if packets == 0 {
            write!(
                h,
                "<rect x=\"{x:.1}\" y=\"{t}\" width=\"{bw:.2}\" height=\"{ph}\" fill=\"#fecaca\" opacity=\"0.7\">\
                 <title>no packets</title></rect>"
            )?;
            continue;
        }
        let gh = (f64::from(gap) / gmax).clamp(0.0, 1.0) * ph;
        write!(
            h,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.2}\" height=\"{gh:.1}\" fill=\"#fdba74\" opacity=\"0.85\">\
             <title>{:.0}–{:.0} s: {packets} packets, max gap {gap:.1} ms</title></rect>",
            x + bw * 0.15,
            t + ph - gh,
            (bw * 0.7).max(0.5),
            k as f64 * f64::from(tl.bucket_ms) / 1000.0,
            (k + 1) as f64 * f64::from(tl.bucket_ms) / 1000.0
        )?;
    }
    // Jitter as a line, broken where a bucket had no packets.
    let mut segment: Vec<String> = Vec::new();
    let mut segments: Vec<Vec<String>> = Vec::new();
    for (k, b) in tl.buckets.iter().enumerate() {
        let (packets, jitter) = (b.packets, b.max_jitter_ms);
        if packets == 0 {
            if !segment.is_empty() {
                segments.push(std::mem::take(&mut segment));
            }
            continue;
        }
        let x = l + bw * (k as f64 + 0.5);
        let y = t + ph - (f64::from(jitter) / jmax).clamp(0.0, 1.0) * ph;
        segment.push(format!("{x:.1},{y:.1}"));
    }
    if !segment.is_empty() {
        segments.push(segment);
    }
    for seg in &segments {
        if seg.len() == 1 {
            if let Some((x, y)) = seg[0].split_once(',') {
                write!(
                    h,
                    "<circle cx=\"{x}\" cy=\"{y}\" r=\"2.5\" fill=\"#2563eb\"/>"
                )?;
            }
        } else {
            write!(
                h,
                "<polyline points=\"{}\" fill=\"none\" stroke=\"#2563eb\" stroke-width=\"2\" stroke-linejoin=\"round\"/>",
                seg.join(" ")
            )?;
        }
    }
    // Axes: jitter on the left (blue), gaps on the right (orange), time below.
    write!(
        h,
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#2563eb\">{}</text>\
         <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#2563eb\">0</text>\
         <text x=\"{:.1}\" y=\"{:.1}\" fill=\"#c2410c\">{}</text>\
         <text x=\"{:.1}\" y=\"{:.1}\" fill=\"#c2410c\">0</text>\
         <text x=\"14\" y=\"{:.1}\" fill=\"#2563eb\" transform=\"rotate(-90 14 {:.1})\" text-anchor=\"middle\">jitter ms</text>\
         <text x=\"{:.1}\" y=\"{:.1}\" fill=\"#c2410c\" transform=\"rotate(90 {:.1} {:.1})\" text-anchor=\"middle\">max gap ms</text>\
         <text x=\"{l}\" y=\"{:.1}\" fill=\"#64748b\">0 s</text>\
         <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#64748b\">{:.0} s</text>\
         <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#64748b\">{:.0} s</text>",
        l - 5.0,
        t + 8.0,
        fmt_axis(jmax),
        l - 5.0,
        t + ph,
        l + pw + 5.0,
        t + 8.0,
        fmt_axis(gmax),
        l + pw + 5.0,
        t + ph,
        t + ph / 2.0,
        t + ph / 2.0,
        w - 12.0,
        t + ph / 2.0,
        w - 12.0,
        t + ph / 2.0,
        t + ph + 16.0,
        l + pw / 2.0,
        t + ph + 16.0,
        secs / 2.0,
        l + pw,
        t + ph + 16.0,
        secs
    )?;
    writeln!(
        h,
        "</svg><figcaption><span class=\"legend\"><span><i style=\"border-top:2px solid #2563eb\"></i>jitter (largest per {} s)</span>\
         <span><i style=\"border-top:6px solid #fdba74\"></i>largest gap between packets</span>\
         <span><i style=\"border-top:6px solid #fecaca\"></i>no packets</span></span></figcaption></figure>",
        f64::from(tl.bucket_ms) / 1000.0
    )
}

fn fmt_axis(v: f64) -> String {
    if v >= 10.0 {
        format!("{v:.0}")
    } else {
        format!("{v}")
    }
}

fn tail(analysis: &Analysis, h: &mut String) -> fmt::Result {
    let unlinked: Vec<&TransportEvent> = analysis
        .diagnosis
        .transport_events
        .iter()
        .filter(|e| e.calls.is_empty())
        .collect();
    h.push_str("<h2 id=\"transport\">Transport failures not tied to a call</h2>\n");
    if unlinked.is_empty() {
        h.push_str("<p class=\"note\">None.</p>\n");
    } else {
        h.push_str(
            "<table class=\"sortable\"><thead><tr><th>severity</th><th>code</th><th>time (UTC)</th><th>proto</th>\
             <th>from → to</th><th>attempts</th><th>what happened</th></tr></thead><tbody>\n",
        );
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
        h.push_str(
            "<table class=\"sortable\"><thead><tr><th>source → destination</th><th>SSRC</th><th>codec</th>\
             <th>packets</th><th>lost</th><th>jitter mean / max</th><th>max delta</th><th>MOS</th><th>frames</th>\
             </tr></thead><tbody>\n",
        );
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
                s.mos.map(|v| format!("{v:.2}")).unwrap_or_else(|| "–".to_string()),
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
         This file is self-contained: it loads nothing from the network.</footer>\n</main>\n<script>{SORT_SCRIPT}</script>\n\
         </body>\n</html>",
        env!("CARGO_PKG_VERSION")
    )
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
    fn nice_max_rounds_up() {
        assert_eq!(nice_max(0.0), 1.0);
        assert_eq!(nice_max(1.4), 2.0);
        assert_eq!(nice_max(37.0), 50.0);
        assert_eq!(nice_max(100.0), 100.0);
        assert_eq!(nice_max(f64::NAN), 1.0);
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
