//! The answered calls that all ended at the same duration, one row per duration with its likely
//! cause (from the run's overview: `analysis::durations`), after the failure patterns.

use std::fmt::{self, Write as _};

use super::page::{call_link, Detailed};
use super::{escape, table_head};
use crate::analysis::Overview;
use crate::report::words::{clock_span, duration_pattern_what};
use crate::words::plural;

/// The section, when any duration is shared by enough calls to name a cause.
pub(super) fn durations(overview: &Overview, detailed: &Detailed, h: &mut String) -> fmt::Result {
    let d = &overview.durations;
    if d.patterns.is_empty() {
        return Ok(());
    }
    writeln!(
        h,
        "<h2 id=\"durations\">Calls ending at the same duration</h2>\n<p class=\"note\">Of {} ended by \
         BYE, grouped by duration (answer to BYE, ±1 s) where what the calls share names a cause.</p>",
        plural(d.ended, "answered call")
    )?;
    table_head(
        h,
        " id=\"duration-table\"",
        &[
            "calls",
            "share",
            "what happened",
            "likely cause",
            "when (UTC)",
            "first",
        ],
    );
    h.push('\n');
    for p in &d.patterns {
        let share = d.share(p.calls);
        writeln!(
            h,
            "<tr class=\"sev-warning\"><td class=\"num\">{}</td><td class=\"num\"><span class=\"bar\"><i \
             style=\"width:{:.1}%\"></i></span> {share:.1}%</td><td>{}</td><td><span class=\"chip warning\">\
             <code>{}</code></span><br>{}</td><td class=\"mono\">{}</td><td>{}</td></tr>",
            p.calls,
            share.clamp(0.0, 100.0),
            escape(&duration_pattern_what(p)),
            p.cause.as_str(),
            escape(p.cause.explanation()),
            clock_span(p.first_ts_ns, p.last_ts_ns),
            call_link(p.first_index, detailed)
        )?;
    }
    h.push_str("</tbody></table>\n");
    Ok(())
}

/// The summary's lines on them: one per duration, with its cause's name, linked to the section.
pub(super) fn summary(overview: &Overview, h: &mut String) -> fmt::Result {
    for p in &overview.durations.patterns {
        writeln!(
            h,
            "<p class=\"pattern\"><span class=\"sev warning\">duration</span> <a href=\"#durations\">{} \
             {}</a>: <code>{}</code></p>",
            plural(p.calls, "call"),
            escape(&duration_pattern_what(p)),
            p.cause.as_str()
        )?;
    }
    Ok(())
}
