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
//!
//! This file writes the document in order, and holds the markup helpers the parts share (escaping,
//! table heads, a few cell formats). The parts live beside it: `page` (head, summary, captures and
//! calls tables, tail, with `style.css` and `sort.js` inlined), `call` (one call's section), `ladder`
//! (the SVG of one call's SIP, TCP and ICMP rows, from the call's evidence) and
//! `plot` (a stream's jitter and gaps over time).

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::{self, Write};

use crate::analysis::{Analysis, Output, Summary};
use crate::correlate::calls::OtherDialog;
use crate::correlate::media::Stream;
use crate::correlate::transport::{Connection, IcmpError};
use crate::diagnose::{DiagnosedCall, Sink, TransportEvent};
use crate::report::format::rfc3339;

mod call;
mod ladder;
mod page;
mod plot;

/// Up to this many calls, every call gets a ladder; beyond, only calls with findings.
pub const LADDER_CALL_LIMIT: usize = 200;
/// Rows (messages and transport events) a ladder draws at most.
pub const LADDER_MAX_ROWS: usize = 400;

/// The HTML report as an [`Output`]: it collects the run (the page orders calls failed first and
/// counts before it lists, so it keeps the analysis in memory) and writes the page when the run
/// finishes.
pub struct Writer<W: Write> {
    out: W,
    analysis: Analysis,
}

impl<W: Write> Writer<W> {
    pub fn new(out: W) -> Writer<W> {
        Writer {
            out,
            analysis: Analysis::default(),
        }
    }
}

impl<W: Write> Sink for Writer<W> {
    fn call(&mut self, call: &DiagnosedCall) {
        self.analysis.call(call);
    }
    fn other(&mut self, dialog: &OtherDialog) {
        self.analysis.other(dialog);
    }
    fn stream(&mut self, stream: &Stream) {
        self.analysis.stream(stream);
    }
    fn connection(&mut self, _: &Connection) {}
    fn transport_event(&mut self, event: &TransportEvent) {
        self.analysis.transport_event(event);
    }
}

impl<W: Write + Send> Output for Writer<W> {
    fn icmp_error(&mut self, _: &IcmpError) {}
    fn finish(&mut self, summary: Summary) -> io::Result<()> {
        self.analysis.finish(summary)?;
        write(&self.analysis, &mut self.out)?;
        self.out.flush()
    }
}

/// Writes the whole report as one HTML document.
pub fn write(analysis: &Analysis, mut out: impl Write) -> io::Result<()> {
    let failed = |_| io::Error::other("formatting the html report failed");
    let mut buf = String::with_capacity(64 * 1024);
    page::head(analysis, &mut buf).map_err(failed)?;
    page::overview(analysis, &mut buf).map_err(failed)?;
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
    for i in page::call_order(analysis) {
        buf.clear();
        call::call_section(analysis, i, all_ladders, &mut buf).map_err(failed)?;
        out.write_all(buf.as_bytes())?;
    }
    buf.clear();
    page::tail(analysis, &mut buf).map_err(failed)?;
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
