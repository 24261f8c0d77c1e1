//! The timeline of the page: calls started per interval as stacked bars (failed, by their primary
//! finding's code; degraded; the rest), and, when the calls had RTP, their mean MOS as a line over
//! their packet loss as bars.
//!
//! Takes the run's [`Overview`]; writes SVG `<figure>`s with their legends. Computes nothing but the
//! geometry: the figures are the overview's timeline, in intervals coarse enough for the chart.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};

use super::escape;
use super::plot::nice_max;
use crate::analysis::Overview;
use crate::report::words::{clock_s, interval};

/// Bars a chart draws at most.
const MAX_BARS: i64 = 120;

/// Colours of the failure codes, in order of their number of calls.
const PALETTE: [&str; 8] = [
    "#dc2626", "#9333ea", "#be185d", "#ea580c", "#7c2d12", "#0e7490", "#4d7c0f", "#1e3a8a",
];
const DEGRADED: &str = "#f59e0b";
const REST: &str = "#86efac";

const FONT: &str =
    "font-family=\"system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif\" font-size=\"10\"";

/// Writes the timeline section (nothing for a run without calls).
pub(super) fn timeline(overview: &Overview, h: &mut String) -> fmt::Result {
    let t = overview.timeline.coarsened(MAX_BARS);
    let intervals = t.intervals();
    if intervals.is_empty() {
        return Ok(());
    }
    // Codes by calls, so the largest gets the first colour; the eighth and further share the last.
    let mut totals: BTreeMap<&str, u64> = BTreeMap::new();
    for (_, b) in &intervals {
        for (code, n) in &b.failed {
            *totals.entry(code).or_default() += n;
        }
    }
    let mut codes: Vec<(&str, u64)> = totals.into_iter().collect();
    codes.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let colour = |code: &str| {
        let k = codes.iter().position(|(c, _)| *c == code).unwrap_or(0);
        PALETTE[k.min(PALETTE.len() - 1)]
    };
    let width = interval(t.width_ns);
    writeln!(
        h,
        "<h2 id=\"timeline\">Timeline</h2>\n<p class=\"note\">Calls started per {width} (UTC), \
         failed ones by their primary finding.</p>"
    )?;
    let (w, ht) = (960.0, 220.0);
    let (l, r, top, bottom) = (48.0, 16.0, 12.0, 30.0);
    let (pw, ph) = (w - l - r, ht - top - bottom);
    let n = intervals.len() as f64;
    let bw = pw / n;
    let ymax = nice_max(intervals.iter().map(|(_, b)| b.started).max().unwrap_or(1) as f64);
    write!(
        h,
        "<figure class=\"timeline\"><svg viewBox=\"0 0 {w} {ht}\" width=\"{w}\" role=\"img\" \
         aria-label=\"calls over time\" {FONT}><rect x=\"{l}\" y=\"{top}\" width=\"{pw}\" height=\"{ph}\" \
         fill=\"#f8fafc\" stroke=\"#e2e8f0\"/>"
    )?;
    // Gridlines at whole numbers of calls: five steps, or one per call below five.
    let steps = if ymax >= 5.0 { 5 } else { ymax as u32 };
    for k in 0..=steps {
        let v = ymax * f64::from(k) / f64::from(steps);
        let y = top + ph - ph * f64::from(k) / f64::from(steps);
        write!(
            h,
            "<line x1=\"{l}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#e2e8f0\"/>\
             <text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#64748b\">{v}</text>",
            l + pw,
            l - 4.0,
            y + 3.0
        )?;
    }
    for (i, (start, b)) in intervals.iter().enumerate() {
        if b.started == 0 {
            continue;
        }
        let x = l + bw * i as f64;
        let mut y = top + ph;
        let mut title = format!(
            "{}: {} started, {} answered",
            clock_s(*start),
            b.started,
            b.answered
        );
        write!(h, "<g>")?;
        let mut seg = |h: &mut String, n: u64, fill: &str| -> fmt::Result {
            if n == 0 {
                return Ok(());
            }
            let bh = ph * n as f64 / ymax;
            y -= bh;
            write!(
                h,
                "<rect x=\"{:.2}\" y=\"{y:.2}\" width=\"{:.2}\" height=\"{bh:.2}\" fill=\"{fill}\"/>",
                x + bw * 0.08,
                bw * 0.84
            )
        };
        for (code, _) in &codes {
            if let Some(&n) = b.failed.get(code) {
                seg(h, n, colour(code))?;
                title.push_str(&format!(", {n} {code}"));
            }
        }
        seg(h, b.degraded, DEGRADED)?;
        let rest = b
            .started
            .saturating_sub(b.failed_calls())
            .saturating_sub(b.degraded);
        seg(h, rest, REST)?;
        if b.degraded > 0 {
            title.push_str(&format!(", {} degraded", b.degraded));
        }
        write!(h, "<title>{}</title></g>", escape(&title))?;
    }
    x_labels(&intervals, l, pw, top + ph, h)?;
    h.push_str("</svg><figcaption class=\"legend\">");
    for (code, total) in &codes {
        write!(
            h,
            "<span><b style=\"background:{}\"></b><code>{}</code> {total}</span>",
            colour(code),
            escape(code)
        )?;
    }
    writeln!(
        h,
        "<span><b style=\"background:{DEGRADED}\"></b>degraded</span>\
         <span><b style=\"background:{REST}\"></b>no error</span></figcaption></figure>"
    )?;
    if t.has_media() {
        media(&intervals, &width, h)?;
    }
    Ok(())
}

/// Time labels under a chart: about six, at interval starts.
fn x_labels(
    intervals: &[(i64, crate::analysis::timeline::Bucket)],
    l: f64,
    pw: f64,
    y: f64,
    h: &mut String,
) -> fmt::Result {
    let n = intervals.len();
    let step = n.div_ceil(6).max(1);
    for (i, (start, _)) in intervals.iter().enumerate().step_by(step) {
        let x = l + pw * i as f64 / n as f64;
        write!(
            h,
            "<line x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{y}\" y2=\"{}\" stroke=\"#94a3b8\"/>\
             <text x=\"{x:.1}\" y=\"{}\" text-anchor=\"middle\" fill=\"#475569\">{}</text>",
            y + 4.0,
            y + 16.0,
            clock_s(*start)
        )?;
    }
    Ok(())
}

/// Mean MOS per interval (a line, left axis 1–5) over packet loss (bars, right axis).
fn media(
    intervals: &[(i64, crate::analysis::timeline::Bucket)],
    width: &str,
    h: &mut String,
) -> fmt::Result {
    let (w, ht) = (960.0, 160.0);
    let (l, r, top, bottom) = (48.0, 52.0, 12.0, 30.0);
    let (pw, ph) = (w - l - r, ht - top - bottom);
    let n = intervals.len() as f64;
    let bw = pw / n;
    let lmax = nice_max(
        intervals
            .iter()
            .filter_map(|(_, b)| b.loss_pct())
            .fold(0.0, f64::max)
            .max(1.0),
    );
    writeln!(
        h,
        "<p class=\"note\">Media of the calls started per {width}: mean MOS of their streams and the \
         share of RTP packets lost.</p>"
    )?;
    write!(
        h,
        "<figure class=\"timeline\"><svg viewBox=\"0 0 {w} {ht}\" width=\"{w}\" role=\"img\" \
         aria-label=\"MOS and loss over time\" {FONT}><rect x=\"{l}\" y=\"{top}\" width=\"{pw}\" \
         height=\"{ph}\" fill=\"#f8fafc\" stroke=\"#e2e8f0\"/>"
    )?;
    for k in 1..=5 {
        let y = top + ph - ph * f64::from(k - 1) / 4.0;
        write!(
            h,
            "<text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#1d4ed8\">{k}</text>",
            l - 4.0,
            y + 3.0
        )?;
    }
    write!(
        h,
        "<text x=\"{}\" y=\"{}\" fill=\"#c2410c\">{lmax} %</text>",
        l + pw + 4.0,
        top + 8.0
    )?;
    let mut line = String::new();
    for (i, (start, b)) in intervals.iter().enumerate() {
        let x = l + bw * i as f64;
        if let Some(loss) = b.loss_pct().filter(|v| *v > 0.0) {
            let bh = ph * (loss / lmax).min(1.0);
            write!(
                h,
                "<rect x=\"{:.2}\" y=\"{:.2}\" width=\"{:.2}\" height=\"{bh:.2}\" fill=\"#fdba74\">\
                 <title>{}: {loss:.1} % lost</title></rect>",
                x + bw * 0.15,
                top + ph - bh,
                bw * 0.7,
                clock_s(*start)
            )?;
        }
        if let Some(mos) = b.mos() {
            let y = top + ph - ph * ((mos - 1.0) / 4.0).clamp(0.0, 1.0);
            write!(
                line,
                "{}{:.1},{y:.1} ",
                if line.is_empty() { "M" } else { "L" },
                x + bw / 2.0
            )?;
        }
    }
    if !line.is_empty() {
        write!(
            h,
            "<path d=\"{}\" fill=\"none\" stroke=\"#1d4ed8\" stroke-width=\"1.5\"/>",
            line.trim_end()
        )?;
    }
    x_labels(intervals, l, pw, top + ph, h)?;
    h.push_str(
        "</svg><figcaption class=\"legend\"><span><i style=\"border-color:#1d4ed8\"></i>mean MOS</span>\
         <span><b style=\"background:#fdba74\"></b>packets lost</span></figcaption></figure>\n",
    );
    Ok(())
}
