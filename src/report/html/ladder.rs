//! The ladder diagram of one call as an SVG: a lifeline per host (in order of first appearance, so
//! the caller is on the left), a row per SIP message and per piece of transport evidence (TCP SYN,
//! SYN-ACK, FIN and RST, TLS hellos and alerts, ICMP errors, DNS queries and answers) on one time axis, the primary finding's
//! frames highlighted and pauses of a second or more marked.
//!
//! Takes a diagnosed call; writes an SVG `<figure>` with its legend. The call's evidence
//! (the model's) says which connections and ICMP errors belong to it: the rows are exactly the frames
//! of `Evidence::frames`, the ones its extract holds.

use std::collections::BTreeSet;
use std::fmt::{self, Write as _};
use std::net::SocketAddr;

use super::{escape, LADDER_MAX_ROWS};
use crate::correlate::dns::{Lookup, Outcome};
use crate::correlate::message::{Kind, Message, Method};
use crate::correlate::transport::{At, Connection, IcmpError, Rst};
use crate::diagnose::DiagnosedCall;
use crate::proto::dns::Data;
use crate::report::words::{clock, sdp_note, truncate};
use crate::words::duration_ms;

/// What a ladder row is, for its colour.
#[derive(Clone, Copy, PartialEq, Eq)]
enum RowKind {
    Request,
    Provisional,
    Success,
    Failure,
    Tcp,
    Icmp,
    Dns,
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
            RowKind::Dns => "#0e7490",
        }
    }
}

/// One arrow of a ladder.
struct Row {
    ts_ns: i64,
    frame: u64,
    /// Every frame that carried it when there were several (IP fragments, TCP segments).
    carried_by: Vec<u64>,
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
        carried_by: Some(m.carried_by())
            .filter(|f| f.len() > 1)
            .unwrap_or_default(),
        from: m.src.to_string(),
        to: m.dst.to_string(),
        label,
        note: sdp_note(m),
        kind,
        resent,
    }
}

impl Row {
    /// Whether any frame that carried it is among the primary finding's evidence.
    fn hot(&self, highlight: &BTreeSet<u64>) -> bool {
        highlight.contains(&self.frame) || self.carried_by.iter().any(|f| highlight.contains(f))
    }

    /// `frame N`, or `frames A, B` for a message several frames carried (its fragments).
    fn frames_title(&self) -> String {
        if self.carried_by.is_empty() {
            format!("frame {}", self.frame)
        } else {
            let list: Vec<String> = self.carried_by.iter().map(u64::to_string).collect();
            format!("frames {}", list.join(", "))
        }
    }

    /// A row of transport evidence at `at`, from the first address to the second: drawn solid, no note.
    fn transport(at: At, (from, to): (String, String), label: String, kind: RowKind) -> Row {
        Row {
            ts_ns: at.ts_ns,
            frame: at.frame,
            carried_by: Vec::new(),
            from,
            to,
            label,
            note: String::new(),
            kind,
            resent: false,
        }
    }
}

fn transport_rows(conns: &[&Connection], icmp: &[&IcmpError], rows: &mut Vec<Row>) {
    for c in conns {
        let (client, server) = (c.client.to_string(), c.server.to_string());
        // Sender and receiver of a packet of this connection.
        let from_to = |from_client: bool| {
            if from_client {
                (client.clone(), server.clone())
            } else {
                (server.clone(), client.clone())
            }
        };
        for (k, &syn) in c.syns.iter().enumerate() {
            let label = if k == 0 {
                "TCP SYN".to_string()
            } else {
                format!("TCP SYN (retry {k})")
            };
            rows.push(Row {
                note: if k + 1 == c.syns.len() && c.syn_count as usize > c.syns.len() {
                    format!("{} SYNs in all", c.syn_count)
                } else {
                    String::new()
                },
                resent: k > 0,
                ..Row::transport(syn, from_to(true), label, RowKind::Tcp)
            });
        }
        if let Some(syn_ack) = c.syn_ack {
            rows.push(Row {
                note: c
                    .handshake_ms
                    .map(|ms| format!("handshake {ms:.2} ms"))
                    .unwrap_or_default(),
                ..Row::transport(
                    syn_ack,
                    from_to(false),
                    "TCP SYN, ACK".to_string(),
                    RowKind::Tcp,
                )
            });
        }
        for (fin, from_client) in [(c.client_fin, true), (c.server_fin, false)] {
            if let Some(at) = fin {
                rows.push(Row::transport(
                    at,
                    from_to(from_client),
                    "TCP FIN".to_string(),
                    RowKind::Tcp,
                ));
            }
        }
        if let Some(tls) = &c.tls {
            if let Some(at) = tls.client_hello {
                let sni = tls
                    .sni
                    .as_deref()
                    .map(|s| format!(" ({s})"))
                    .unwrap_or_default();
                rows.push(Row::transport(
                    at,
                    from_to(true),
                    format!("TLS ClientHello{sni}"),
                    RowKind::Tcp,
                ));
            }
            if let Some(at) = tls.server_hello {
                rows.push(Row::transport(
                    at,
                    from_to(false),
                    "TLS ServerHello".to_string(),
                    RowKind::Tcp,
                ));
            }
        }
        if let Some(Rst { at, by_client }) = c.rst {
            rows.push(Row::transport(
                at,
                from_to(by_client),
                "TCP RST".to_string(),
                RowKind::Tcp,
            ));
        }
        if let Some(alert) = c.tls.as_ref().and_then(|t| t.alert.as_ref()) {
            let at = At {
                frame: alert.frame,
                ts_ns: alert.ts_ns,
            };
            let label = format!(
                "TLS {} alert {}",
                if alert.level == 2 { "fatal" } else { "warning" },
                alert.name
            );
            rows.push(Row::transport(
                at,
                from_to(alert.from_client),
                label,
                RowKind::Tcp,
            ));
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
        let at = At {
            frame: e.frame,
            ts_ns: e.ts_ns,
        };
        rows.push(Row {
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
            ..Row::transport(
                at,
                (from, e.src.to_string()),
                format!("ICMP {}", e.kind),
                RowKind::Icmp,
            )
        });
    }
}

/// A row per query of each lookup (retransmissions dashed) and one for its answer.
fn dns_rows(lookups: &[Lookup], rows: &mut Vec<Row>) {
    for l in lookups {
        let ends = (l.client.to_string(), l.server.to_string());
        for (i, q) in l.queries.iter().enumerate() {
            let at = At {
                frame: q.frame,
                ts_ns: q.ts_ns,
            };
            let mut label = format!("DNS {} {}", l.qtype.name(), truncate(&l.name, 48));
            if i > 0 {
                label.push_str(" ↻");
            }
            rows.push(Row {
                resent: i > 0,
                ..Row::transport(at, ends.clone(), label, RowKind::Dns)
            });
        }
        let Some(a) = &l.answer else {
            continue;
        };
        let at = At {
            frame: a.frame,
            ts_ns: a.ts_ns,
        };
        let answered: Vec<String> = a
            .records
            .iter()
            .filter_map(|r| match &r.data {
                Data::A(ip) => Some(ip.to_string()),
                Data::Aaaa(ip) => Some(ip.to_string()),
                Data::Srv { port, target, .. } => Some(format!("{target}:{port}")),
                Data::Cname(n) => Some(n.clone()),
                Data::Naptr { replacement, .. } => Some(replacement.clone()),
                Data::Other(_) => None,
            })
            .collect();
        let label = match l.outcome() {
            Outcome::Answered => format!("DNS {}", truncate(&answered.join(", "), 48)),
            Outcome::NoData => "DNS NOERROR, no records".into(),
            Outcome::Error(rcode) => format!("DNS {}", rcode.name()),
            Outcome::Unanswered => continue,
        };
        let kind = if l.failed() {
            RowKind::Failure
        } else {
            RowKind::Dns
        };
        rows.push(Row::transport(
            at,
            (ends.1.clone(), ends.0.clone()),
            label,
            kind,
        ));
    }
}

// Ladder geometry (SVG user units = CSS pixels at full size).
const LEFT: f64 = 132.0;
const HEAD: f64 = 62.0;
const ROW: f64 = 34.0;
const NOTE_EXTRA: f64 = 12.0;
const GAP_EXTRA: f64 = 16.0;

/// Writes the ladder of a call.
pub(super) fn ladder(call: &DiagnosedCall, h: &mut String) -> fmt::Result {
    let evidence = Some(&call.evidence);
    let conns: Vec<&Connection> = evidence.into_iter().flat_map(|e| &e.connections).collect();
    let icmp: Vec<&IcmpError> = evidence
        .into_iter()
        .flat_map(|e| &e.icmp)
        .flat_map(|g| g.kept())
        .collect();
    let mut rows: Vec<Row> = call
        .messages
        .iter()
        .map(|s| message_row(&s.msg, s.resent))
        .collect();
    transport_rows(&conns, &icmp, &mut rows);
    let dns = !call.evidence.dns.is_empty();
    dns_rows(&call.evidence.dns, &mut rows);
    rows.sort_by_key(|r| (r.ts_ns, r.frame));
    let total = rows.len();
    rows.truncate(LADDER_MAX_ROWS);
    let highlight: BTreeSet<u64> = call
        .findings
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
        call.index + 1
    )?;
    // Highlight bands first, under everything.
    for (r, &y) in rows.iter().zip(&ys) {
        if r.hot(&highlight) {
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
            "<text x=\"8\" y=\"{gy:.1}\" fill=\"#94a3b8\" font-size=\"10\" font-style=\"italic\">⋯ {}</text>",
            duration_ms(pause * 1000.0)
        )?;
    }
    for (r, &y) in rows.iter().zip(&ys) {
        let hot = r.hot(&highlight);
        let colour = if hot { HIGHLIGHT } else { r.kind.colour() };
        let (x1, x2) = (x_of(&r.from), x_of(&r.to));
        write!(
            h,
            "<g><title>{} · {} · {} → {}{}</title>\
             <text x=\"8\" y=\"{:.1}\" font-family=\"ui-monospace,Menlo,Consolas,'DejaVu Sans Mono',monospace\" \
             font-size=\"11\" fill=\"#334155\">{:+.3} s</text>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#94a3b8\" font-size=\"11\">{}</text>",
            r.frames_title(),
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
    let legend: Vec<(&str, &str, &str)> = legend
        .into_iter()
        .chain(dns.then_some((RowKind::Dns.colour(), "solid", "DNS")))
        .collect();
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
