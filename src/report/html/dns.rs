//! The page's section of DNS lookups that failed and explained no call (`dns.failed`): a row per lookup,
//! spooled as lookups are let go, written (only when there is any) before the transport failures.

use std::fmt::{self, Write as _};
use std::io::{self, Write};

use super::{escape, table_head};
use crate::correlate::dns::Lookup;
use crate::diagnose::Diagnosed;
use crate::report::spool::Spool;
use crate::report::words::clock;
use crate::words::frames_list;

/// A row of the table: the first finding's severity, when, who asked whom, the question, what happened.
pub(super) fn row(d: &Diagnosed<Lookup>, h: &mut String) -> fmt::Result {
    let l = &d.item;
    let Some(f) = d.findings.first() else {
        return Ok(());
    };
    writeln!(
        h,
        "<tr class=\"sev-{sev}\"><td><span class=\"sev {sev}\">{sev}</span></td><td class=\"mono\">{}</td>\
         <td class=\"mono\">{} → {}</td><td class=\"mono\">{} {}</td><td>{}<br><span class=\"note\">{}</span>\
         <br><span class=\"note\">Evidence: {}</span></td></tr>",
        clock(l.first_ts_ns()),
        l.client,
        l.server,
        escape(&l.qtype.name()),
        escape(&l.name),
        escape(&f.summary),
        escape(&f.cause),
        frames_list(&f.frames, 16),
        sev = f.severity.as_str(),
    )
}

/// The section, if any lookup failed without explaining a call.
pub(super) fn section(rows: Spool, out: &mut impl Write) -> io::Result<()> {
    if rows.len() == 0 {
        return Ok(());
    }
    let mut h = String::from("<h2 id=\"dns\">DNS failures not tied to a call</h2>\n");
    table_head(
        &mut h,
        " class=\"sortable\"",
        &[
            "severity",
            "time (UTC)",
            "client → server",
            "question",
            "what happened",
        ],
    );
    h.push('\n');
    out.write_all(h.as_bytes())?;
    rows.drain(|row| out.write_all(row))?;
    out.write_all(b"</tbody></table>\n")
}
