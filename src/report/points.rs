//! Several capture points in one report: the points and their clocks, then per call where its
//! packets were seen and where the lost ones died, then each point's own report.
//!
//! Text ([`write_text`]): the capture points (files, packets, clock offset from the first point and
//! its uncertainty, hops, address translations), the calls with their `where.*` verdicts, the RTP
//! between points, and a ladder with a column per point (the frame that carried each packet there,
//! `·` where it was not seen); then each point's own text report.
//! JSON ([`write_json`]): the first point's schema-1 document with `capture_points`, `point_pairs`
//! and `points_calls` added, and the other points' documents in `point_reports` (see `json/mod.rs`).
//! HTML ([`write_html`]): the first point's page with a "Capture points" section at its top.

use std::io::{self, Write};

use serde_json::{json, Value};

use super::format::{endpoint, rfc3339};
use super::words::clock;
use super::{html, json as json_report, text};
use crate::points::{ClockOffset, MessageAt, Points, PointsCall, StreamBetween};
use crate::words::duration_ns;

/// `+14.5 µs ± 19.5 µs` (a bound only: `≈ +14.5 µs (one way only)`).
fn offset_words(o: &ClockOffset) -> String {
    let signed = |ns: i64| {
        let size = duration_ns(0, ns.saturating_abs());
        // Below the resolution shown, the sign says nothing.
        let sign = match ns {
            _ if size == duration_ns(0, 0) => "",
            n if n < 0 => "−",
            _ => "+",
        };
        format!("{sign}{size}")
    };
    let mut s = match o.uncertainty_ns {
        Some(u) => format!("{} ± {}", signed(o.ns), duration_ns(0, u)),
        None => format!("≈ {} (packets went one way only: a bound)", signed(o.ns)),
    };
    if !o.consistent {
        s.push_str(" (inconsistent bounds: drifting clocks?)");
    }
    s
}

fn stream_words(p: &Points, s: &StreamBetween) -> String {
    let mut out = format!(
        "{} → {}  '{}' → '{}': {} of {} packets arrived",
        endpoint(s.src),
        endpoint(s.dst),
        p.points[s.from].name,
        p.points[s.to].name,
        s.received,
        s.sent
    );
    if let Some((min, mean, max)) = s.delay_ns {
        let d = |ns: i64| duration_ns(0, ns.max(0));
        out.push_str(&format!(
            ", one-way delay {} / {} / {} (min/mean/max)",
            d(min),
            d(mean),
            d(max)
        ));
    }
    if let Some(j) = s.jitter_ns {
        out.push_str(&format!(", jitter {}", duration_ns(0, j)));
    }
    if let Some(h) = s.hops {
        out.push_str(&format!(", {h} hop{}", if h == 1 { "" } else { "s" }));
    }
    out
}

fn ladder(p: &Points, c: &PointsCall, out: &mut impl Write) -> io::Result<()> {
    let names: Vec<&str> = p.points.iter().map(|x| x.name.as_str()).collect();
    let width = names.iter().map(|n| n.len().max(6)).collect::<Vec<_>>();
    write!(out, "    time (s)  {:<34} {:<45}", "packet", "from → to")?;
    for (n, w) in names.iter().zip(&width) {
        write!(out, " {:>w$}", text::escape(n), w = *w)?;
    }
    writeln!(out)?;
    let t0 = c.messages.first().map_or(0, |m| m.ts_ns);
    for m in &c.messages {
        let MessageAt {
            label,
            ts_ns,
            src,
            dst,
            seen_at,
            missing_at,
        } = m;
        let route = format!("{} → {}", endpoint(*src), endpoint(*dst));
        write!(
            out,
            "    {:>8.3}  {:<34} {:<45}",
            ts_ns.saturating_sub(t0) as f64 / 1e9,
            super::words::truncate(&text::escape(label), 34),
            route
        )?;
        for ((f, lost), w) in seen_at.iter().zip(missing_at).zip(&width) {
            let cell = match (f, lost) {
                (Some(f), _) => f.to_string(),
                (None, true) => "lost".to_string(),
                (None, false) => "·".to_string(),
            };
            write!(out, " {cell:>w$}", w = *w)?;
        }
        writeln!(out)?;
    }
    Ok(())
}

/// The text report of several points (see the module doc).
pub fn write_text(
    p: &Points,
    options: &text::Options,
    mut out: impl Write + Send,
) -> io::Result<()> {
    write_points(p, &mut out)?;
    for point in &p.points {
        writeln!(out)?;
        writeln!(out, "== Capture point '{}'", text::escape(&point.name))?;
        text::write(&point.analysis, options, &mut out)?;
    }
    out.flush()
}

/// The points, their calls and verdicts, and the ladders with a column per point.
fn write_points(p: &Points, mut out: impl Write) -> io::Result<()> {
    writeln!(out, "Capture points ({}):", p.points.len())?;
    for (i, point) in p.points.iter().enumerate() {
        let files: Vec<String> = point
            .analysis
            .captures
            .iter()
            .map(|c| text::escape(&c.path))
            .collect();
        let span = point
            .span
            .map(|(a, b)| format!(", {} – {}", clock(a), clock(b)))
            .unwrap_or_default();
        let clock_words = match (i, point.offset) {
            (0, _) => "the reference clock".to_string(),
            (_, Some(o)) => format!("clock {} from '{}'", offset_words(&o), p.points[0].name),
            (_, None) => format!(
                "clock unknown (nothing in common with '{}')",
                p.points[0].name
            ),
        };
        writeln!(
            out,
            "  {:<8} {}: {} IP packets{span}{}; {clock_words}",
            text::escape(&point.name),
            files.join(", "),
            point.ip_packets,
            if point.duplicates > 0 {
                format!(" ({} duplicates)", point.duplicates)
            } else {
                String::new()
            }
        )?;
    }
    for pair in &p.pairs {
        let (a, b) = (&p.points[pair.a].name, &p.points[pair.b].name);
        let hops = pair
            .hops
            .map(|h| {
                format!(
                    ", {h} router hop{} between them",
                    if h == 1 { "" } else { "s" }
                )
            })
            .unwrap_or_default();
        writeln!(
            out,
            "  '{}' and '{}': {} packets seen at both{hops}",
            text::escape(a),
            text::escape(b),
            pair.matched
        )?;
        for t in &pair.translations {
            writeln!(
                out,
                "    address translation: {} → {} at '{}' is {} → {} at '{}' ({} packets)",
                endpoint(t.a_src),
                endpoint(t.a_dst),
                text::escape(a),
                endpoint(t.b_src),
                endpoint(t.b_dst),
                text::escape(b),
                t.packets
            )?;
        }
    }
    if p.nothing_in_common() {
        writeln!(
            out,
            "  no packet was seen at more than one point: these captures have nothing in common \
             (other calls, other times, or other links); each point is reported alone below"
        )?;
    }
    for (k, c) in p.calls.iter().enumerate() {
        writeln!(out)?;
        let at: Vec<String> =
            c.at.iter()
                .enumerate()
                .filter_map(|(i, a)| a.map(|n| format!("'{}' call {}", p.points[i].name, n + 1)))
                .collect();
        writeln!(
            out,
            "Call {} (Call-ID {}): SIP seen at {}",
            k + 1,
            text::escape(&c.call_id),
            at.join(", ")
        )?;
        for v in &c.verdicts {
            let mark = match v.severity {
                crate::diagnose::Severity::Error => "x",
                crate::diagnose::Severity::Warning => "!",
                crate::diagnose::Severity::Info => "i",
            };
            writeln!(out, "  {mark} {}: {}", v.code, text::escape(&v.summary))?;
            writeln!(out, "      {}", text::escape(&v.cause))?;
            let ev: Vec<String> = v
                .frames
                .iter()
                .map(|(i, f)| {
                    format!(
                        "'{}' {}",
                        p.points[*i].name,
                        crate::words::frames_list(f, 8)
                    )
                })
                .collect();
            writeln!(out, "      evidence: {}", ev.join("; "))?;
        }
        if c.verdicts.is_empty() && p.points.len() > 1 && !p.nothing_in_common() {
            writeln!(out, "  nothing lost between the points")?;
        }
        for s in &c.streams {
            writeln!(out, "  RTP {}", stream_words(p, s))?;
        }
        ladder(p, c, &mut out)?;
    }
    Ok(())
}

fn offset_json(o: Option<ClockOffset>) -> Value {
    o.map_or(Value::Null, |o| {
        json!({
            "ns": o.ns,
            "uncertainty_ns": o.uncertainty_ns,
            "consistent": o.consistent,
        })
    })
}

/// The points, pairs and calls as the JSON report's additions (see `json/mod.rs`).
fn additions(p: &Points) -> (Value, Value, Value) {
    let points = p
        .points
        .iter()
        .map(|x| {
            json!({
                "name": x.name,
                "files": x.analysis.captures.iter().map(|c| c.path.clone()).collect::<Vec<_>>(),
                "ip_packets": x.ip_packets,
                "duplicates": x.duplicates,
                "first_ts": x.span.map(|s| rfc3339(s.0)),
                "last_ts": x.span.map(|s| rfc3339(s.1)),
                "clock_offset": offset_json(x.offset),
            })
        })
        .collect::<Vec<_>>();
    let name = |i: usize| p.points[i].name.clone();
    let pairs = p
        .pairs
        .iter()
        .map(|x| {
            json!({
                "a": name(x.a),
                "b": name(x.b),
                "matched": x.matched,
                "clock_offset": offset_json(x.offset),
                "hops": x.hops,
                "translations": x.translations.iter().map(|t| json!({
                    "a_src": endpoint(t.a_src), "a_dst": endpoint(t.a_dst),
                    "b_src": endpoint(t.b_src), "b_dst": endpoint(t.b_dst),
                    "packets": t.packets,
                })).collect::<Vec<_>>(),
            })
        })
        .collect::<Vec<_>>();
    let calls = p
        .calls
        .iter()
        .map(|c| {
            json!({
                "call_id": c.call_id,
                "at": c.at.iter().enumerate().filter_map(|(i, a)| a.map(|n| json!({
                    "point": name(i), "index": n + 1,
                }))).collect::<Vec<_>>(),
                "verdicts": c.verdicts.iter().map(|v| json!({
                    "code": v.code,
                    "severity": v.severity.as_str(),
                    "summary": v.summary,
                    "cause": v.cause,
                    "frames": v.frames.iter().map(|(i, f)| json!({"point": name(*i), "frames": f}))
                        .collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
                "messages": c.messages.iter().map(|m| json!({
                    "label": m.label,
                    "ts": rfc3339(m.ts_ns),
                    "src": endpoint(m.src),
                    "dst": endpoint(m.dst),
                    "seen_at": m.seen_at.iter().enumerate().filter_map(|(i, f)| f.map(|f| json!({
                        "point": name(i), "frame": f,
                    }))).collect::<Vec<_>>(),
                    "missing_at": m.missing_at.iter().enumerate().filter(|(_, &l)| l)
                        .map(|(i, _)| name(i)).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
                "streams_between": c.streams.iter().map(|s| json!({
                    "src": endpoint(s.src),
                    "dst": endpoint(s.dst),
                    "from": name(s.from),
                    "to": name(s.to),
                    "sent": s.sent,
                    "received": s.received,
                    "first_frame": s.frames.0,
                    "last_frame": s.frames.1,
                    "delay_min_ns": s.delay_ns.map(|d| d.0),
                    "delay_mean_ns": s.delay_ns.map(|d| d.1),
                    "delay_max_ns": s.delay_ns.map(|d| d.2),
                    "jitter_ns": s.jitter_ns,
                    "hops": s.hops,
                })).collect::<Vec<_>>(),
            })
        })
        .collect::<Vec<_>>();
    (
        Value::Array(points),
        Value::Array(pairs),
        Value::Array(calls),
    )
}

/// The JSON report of several points (see the module doc): the first point's document as its
/// writer writes it, the additions spliced in before its closing brace at its layout.
pub fn write_json(p: &Points, mut out: impl Write) -> io::Result<()> {
    let Some(first) = p.points.first() else {
        return Ok(());
    };
    let mut doc = Vec::new();
    json_report::write(&first.analysis, &mut doc)?;
    let end = doc.iter().rposition(|&b| b == b'}').unwrap_or(doc.len());
    let body = doc[..end].trim_ascii_end();
    out.write_all(body)?;
    let (points, pairs, calls) = additions(p);
    let mut others = Vec::new();
    for point in &p.points[1..] {
        let mut report = Vec::new();
        json_report::write(&point.analysis, &mut report)?;
        let report: Value = serde_json::from_slice(&report).map_err(io::Error::other)?;
        others.push(json!({ "point": point.name, "report": report }));
    }
    for (key, value) in [
        ("capture_points", points),
        ("point_pairs", pairs),
        ("points_calls", calls),
        ("point_reports", Value::Array(others)),
    ] {
        let pretty = serde_json::to_string_pretty(&value).map_err(io::Error::other)?;
        write!(out, ",\n  \"{key}\": {}", pretty.replace('\n', "\n  "))?;
    }
    writeln!(out, "\n}}")?;
    out.flush()
}

/// The HTML page of several points (see the module doc).
pub fn write_html(p: &Points, mut out: impl Write) -> io::Result<()> {
    let Some(first) = p.points.first() else {
        return Ok(());
    };
    let mut page = Vec::new();
    html::write(&first.analysis, &mut page)?;
    let page = String::from_utf8_lossy(&page);
    let mut section = String::from("<section id=\"capture-points\"><h2>Capture points</h2>\n");
    let mut text_version = Vec::new();
    write_points(p, &mut text_version)?;
    section.push_str("<pre>");
    section.push_str(&html::escape(&String::from_utf8_lossy(&text_version)));
    section.push_str("</pre>\n<p>The calls below are as the first point, '");
    section.push_str(&html::escape(&first.name));
    section.push_str("', saw them.</p></section>\n");
    // At the top of the body, before the page's own sections.
    let at = page
        .find("<body")
        .and_then(|b| page[b..].find('>').map(|e| b + e + 1))
        .unwrap_or(0);
    out.write_all(page[..at].as_bytes())?;
    out.write_all(section.as_bytes())?;
    out.write_all(page[at..].as_bytes())?;
    out.flush()
}
