//! The page's sections for what is SIP but not a call: the registration bindings, the SIP peer pairs
//! (a health table: client → server, requests by method and how they were answered, refused and
//! unanswered connections, keep-alives, the first and last failure, the transport evidence) and the
//! other non-INVITE transactions (MESSAGE, SUBSCRIBE, REFER, ...).
//!
//! Each item is rendered as a table row (its findings in a row under it, as a call's are shown) when
//! it arrives and spooled with its severity first, so a section lists the failed items first; a
//! section shows at most [`ITEM_ROWS`] rows and says how many more there are (the JSON report lists
//! them all). The counts go into the summary at the top of the page.

use std::fmt::{self, Write as _};
use std::io::{self, Write};

use super::page::severity_rank;
use super::{drain_first, escape, findings, fmt_failed, table_head};
use crate::correlate::peers::Peer;
use crate::correlate::registrations::Registration;
use crate::correlate::transactions::Transaction;
use crate::correlate::transport::At;
use crate::diagnose::{Diagnosed, Severity};
use crate::report::spool::Spool;
use crate::report::words::clock;
use crate::words::{frames_list, plural};

/// Rows a section shows at most (failed items first).
pub const ITEM_ROWS: u64 = 500;

/// One section's rows, spooled, and its counts.
#[derive(Default)]
struct Section {
    rows: Spool,
    items: u64,
    failed: u64,
}

impl Section {
    /// Renders an item's row (and its findings) and spools it, its worst severity first.
    fn push(
        &mut self,
        worst: Option<Severity>,
        order: u64,
        render: impl FnOnce(&mut String) -> fmt::Result,
    ) -> fmt::Result {
        self.items += 1;
        self.failed += u64::from(Severity::failed(worst));
        let mut h = String::new();
        render(&mut h)?;
        self.rows
            .push((u64::from(severity_rank(worst)), order), h.into_bytes());
        Ok(())
    }

    /// The section: heading, a note with its counts, the table of its first rows.
    fn write(
        self,
        (id, title, noun): (&str, &str, &str),
        columns: &[&str],
        out: &mut impl Write,
    ) -> io::Result<()> {
        if self.items == 0 {
            return Ok(());
        }
        let mut h = String::new();
        write!(
            h,
            "<h2 id=\"{id}\">{title}</h2>\n<p class=\"note\">{}, {} with an error finding; failed first.",
            plural(self.items, noun),
            self.failed
        )
        .map_err(fmt_failed)?;
        if self.items > ITEM_ROWS {
            write!(
                h,
                " The first {ITEM_ROWS} are listed; the JSON report has them all."
            )
            .map_err(fmt_failed)?;
        }
        h.push_str("</p>\n");
        table_head(
            &mut h,
            &format!(" class=\"items\" id=\"{id}-table\""),
            columns,
        );
        h.push('\n');
        out.write_all(h.as_bytes())?;
        drain_first(self.rows, ITEM_ROWS, out)?;
        out.write_all(b"</tbody></table>\n")?;
        if self.items > ITEM_ROWS {
            writeln!(
                out,
                "<p class=\"note\">{} not listed.</p>",
                plural(self.items - ITEM_ROWS, noun)
            )?;
        }
        Ok(())
    }
}

/// The three sections, as rendered so far.
#[derive(Default)]
pub(super) struct Items {
    registrations: Section,
    peers: Section,
    transactions: Section,
}

const REGISTRATION_COLUMNS: &[&str] = &[
    "address of record",
    "client → registrar",
    "state",
    "REGISTERs",
    "challenges",
    "registered",
    "first – last (UTC)",
];
const PEER_COLUMNS: &[&str] = &[
    "client → server",
    "requests by method",
    "answered / unanswered / refused",
    "keep-alive",
    "first / last failure",
    "transport evidence",
];
const TRANSACTION_COLUMNS: &[&str] = &[
    "request",
    "client → server",
    "call",
    "final response",
    "sent",
    "time (UTC)",
];

/// The opening of an item's row: its severity mark in the first cell's edge.
fn row_open(worst: Option<Severity>, h: &mut String) {
    write!(
        h,
        "<tr class=\"sev-{}\">",
        worst.map_or("none", Severity::as_str)
    )
    .ok();
}

/// The row under an item with its findings, when it has any.
fn findings_row<T>(d: &Diagnosed<T>, columns: usize, h: &mut String) -> fmt::Result {
    if d.findings.is_empty() {
        return Ok(());
    }
    write!(h, "<tr class=\"item-findings\"><td colspan=\"{columns}\">")?;
    findings(&d.findings, h)?;
    h.push_str("</td></tr>\n");
    Ok(())
}

fn at(a: At) -> String {
    format!("frame {} · {}", a.frame, clock(a.ts_ns))
}

fn registration(d: &Diagnosed<Registration>, h: &mut String) -> fmt::Result {
    let r = &d.item;
    row_open(d.worst(), h);
    writeln!(
        h,
        "<td><code>{}</code>{}</td><td class=\"mono\">{} → {} ({})</td><td>{}</td><td class=\"num\">{}</td>\
         <td class=\"num\">{}</td><td>{}</td><td class=\"mono\">{} – {}</td></tr>",
        escape(&r.aor),
        r.user_agent
            .as_deref()
            .map(|ua| format!("<br><span class=\"note\">{}</span>", escape(ua)))
            .unwrap_or_default(),
        r.client,
        r.registrar,
        r.transport.as_str(),
        r.state(),
        r.attempts,
        r.challenges,
        r.registered
            .map(|g| format!("{} s, {}", g.granted, at(g.at)))
            .unwrap_or_else(|| "never".into()),
        clock(r.first.ts_ns),
        clock(r.last.ts_ns),
    )?;
    findings_row(d, REGISTRATION_COLUMNS.len(), h)
}

fn peer(d: &Diagnosed<Peer>, h: &mut String) -> fmt::Result {
    let p = &d.item;
    let transports: Vec<&str> = p.transports.iter().map(|t| t.as_str()).collect();
    let methods: Vec<String> = p
        .methods
        .iter()
        .map(|m| {
            let outcomes: Vec<String> = [
                (m.counts.ok, "ok"),
                (m.counts.rejected, "rejected"),
                (m.counts.unanswered, "unanswered"),
            ]
            .iter()
            .filter(|(n, _)| *n > 0)
            .map(|(n, what)| format!("{n} {what}"))
            .collect();
            format!(
                "<span class=\"mono\">{}</span> {}: {}",
                escape(m.method.as_str()),
                m.counts.sent,
                outcomes.join(", ")
            )
        })
        .collect();
    let answered: u32 = p
        .methods
        .iter()
        .map(|m| m.counts.ok + m.counts.rejected)
        .sum();
    let unanswered: u32 = p.methods.iter().map(|m| m.counts.unanswered).sum();
    let k = p.keepalive();
    let mut keepalive = if k.probes == 0 {
        "–".to_string()
    } else {
        format!(
            "{}/{} failed{}",
            k.failed,
            k.probes,
            if k.down() {
                ", <b>down at the end</b>"
            } else {
                ""
            }
        )
    };
    for (name, pings) in [("CRLF pings", k.crlf), ("STUN pings", k.stun)] {
        if pings.sent > 0 {
            write!(
                keepalive,
                "<br>{name} {}/{} answered",
                pings.answered, pings.sent
            )
            .ok();
        }
    }
    let failures = match (p.first_failure, p.last_failure) {
        (Some(first), Some(last)) if first == last => at(first),
        (Some(first), Some(last)) => format!("{}<br>{}", at(first), at(last)),
        _ => "–".to_string(),
    };
    let mut transport = Vec::new();
    if p.syn_unanswered > 0 {
        transport.push(plural(u64::from(p.syn_unanswered), "connection") + " without SYN-ACK");
    }
    if p.icmp > 0 {
        transport.push(plural(u64::from(p.icmp), "ICMP error"));
    }
    if !p.transport_frames.is_empty() {
        transport.push(frames_list(&p.transport_frames, 16));
    }
    row_open(d.worst(), h);
    writeln!(
        h,
        "<td class=\"mono\">{} → {}<br><span class=\"note\">{}</span></td><td>{}</td>\
         <td class=\"num\">{answered} / {unanswered} / {}</td><td>{keepalive}</td><td>{failures}</td><td>{}</td></tr>",
        p.client,
        p.server,
        transports.join("/"),
        if methods.is_empty() {
            "no SIP request seen".to_string()
        } else {
            methods.join("<br>")
        },
        p.refused,
        if transport.is_empty() {
            "–".to_string()
        } else {
            transport.join("<br>")
        },
    )?;
    findings_row(d, PEER_COLUMNS.len(), h)
}

fn transaction(d: &Diagnosed<Transaction>, h: &mut String) -> fmt::Result {
    let t = &d.item;
    row_open(d.worst(), h);
    writeln!(
        h,
        "<td class=\"mono\">{}</td><td class=\"mono\">{} → {} ({})</td><td>{}</td><td>{}</td>\
         <td class=\"num\">{}</td><td class=\"mono\">{}</td></tr>",
        escape(t.method.as_str()),
        t.client,
        t.server,
        t.transport.as_str(),
        t.call
            .map(|i| format!("#{}", i + 1))
            .unwrap_or_else(|| "–".into()),
        t.response
            .as_ref()
            .map(|r| format!(
                "<span class=\"mono\">{}</span> <span class=\"note\">(frame {})</span>",
                escape(&r.label()),
                r.frame
            ))
            .unwrap_or_else(|| if t.unanswered() {
                "<b>no response</b>".into()
            } else {
                "none yet (capture ended)".into()
            }),
        t.sent_count,
        clock(t.start_ts()),
    )?;
    findings_row(d, TRANSACTION_COLUMNS.len(), h)
}

impl Items {
    pub(super) fn registration(&mut self, d: &Diagnosed<Registration>) -> fmt::Result {
        self.registrations
            .push(d.worst(), d.first.frame, |h| registration(d, h))
    }

    pub(super) fn peer(&mut self, d: &Diagnosed<Peer>) -> fmt::Result {
        self.peers.push(d.worst(), d.first_frame, |h| peer(d, h))
    }

    pub(super) fn transaction(&mut self, d: &Diagnosed<Transaction>) -> fmt::Result {
        self.transactions
            .push(d.worst(), d.request.frame, |h| transaction(d, h))
    }

    /// The summary's line on them: `Registrations: 3 bindings, 1 failed. ...`; nothing when there
    /// are none.
    pub(super) fn summary(&self, h: &mut String) -> fmt::Result {
        let parts: Vec<String> = [
            (
                &self.registrations,
                "registrations",
                "Registrations",
                "binding",
                "failed",
            ),
            (
                &self.peers,
                "sip-peers",
                "SIP peers",
                "pair",
                "with an error",
            ),
            (
                &self.transactions,
                "other-transactions",
                "Other transactions",
                "transaction",
                "failed",
            ),
        ]
        .iter()
        .filter(|(s, ..)| s.items > 0)
        .map(|(s, anchor, title, noun, failed)| {
            format!(
                "<a href=\"#{anchor}\">{title}</a>: {}, {}{} {failed}{}",
                plural(s.items, noun),
                if s.failed > 0 {
                    "<span class=\"poor\">"
                } else {
                    ""
                },
                s.failed,
                if s.failed > 0 { "</span>" } else { "" },
            )
        })
        .collect();
        if parts.is_empty() {
            return Ok(());
        }
        writeln!(
            h,
            "<p class=\"note items-summary\">{}.</p>",
            parts.join(". ")
        )
    }

    /// Writes the sections that have anything in them.
    pub(super) fn write(self, out: &mut impl Write) -> io::Result<()> {
        self.registrations.write(
            ("registrations", "Registrations", "binding"),
            REGISTRATION_COLUMNS,
            out,
        )?;
        self.peers
            .write(("sip-peers", "SIP peers", "peer pair"), PEER_COLUMNS, out)?;
        self.transactions.write(
            ("other-transactions", "Other transactions", "transaction"),
            TRANSACTION_COLUMNS,
            out,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_section_lists_failed_items_first_and_at_most_its_rows() {
        let mut s = Section::default();
        let n = ITEM_ROWS + 100;
        for k in 0..n {
            // Every tenth item failed, the others fine: the failed ones come first.
            let worst = (k % 10 == 9).then_some(Severity::Error);
            s.push(worst, k, |h| {
                h.push_str(&format!("<tr class=\"sev-x\"><td>{k}</td></tr>\n"));
                Ok(())
            })
            .expect("render");
        }
        let mut out = Vec::new();
        s.write(("things", "Things", "thing"), &["thing"], &mut out)
            .expect("write to a Vec");
        let page = String::from_utf8(out).expect("UTF-8");
        assert_eq!(
            page.matches("<tr class=\"sev-x\">").count() as u64,
            ITEM_ROWS
        );
        assert!(page.contains(&format!("{n} things, {} with an error finding", n / 10)));
        assert!(page.contains("<p class=\"note\">100 things not listed.</p>"));
        let first: Vec<&str> = page
            .split("<td>")
            .skip(1)
            .take(2)
            .map(|c| c.split('<').next().unwrap_or_default())
            .collect();
        assert_eq!(first, ["9", "19"], "failed first, each in capture order");
    }
}
