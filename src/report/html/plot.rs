//! The plot of one RTP stream: its timeline buckets as an SVG, the largest jitter per bucket as a line
//! (left axis) over the largest gap between packets as bars (right axis), buckets without packets
//! shaded.
//!
//! Takes a [`Stream`]'s timeline; writes an SVG `<figure>` with its legend. Computes nothing but the
//! geometry: the figures are the stream's.

use std::fmt::{self, Write as _};

use crate::correlate::media::Stream;

/// A round axis maximum at or above `v`: 1, 2 or 5 times a power of ten.
pub(super) fn nice_max(v: f64) -> f64 {
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

/// Writes the jitter and gap plot of a stream (a note instead when it has no timeline).
pub(super) fn plot(s: &Stream, h: &mut String) -> fmt::Result {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_max_rounds_up() {
        assert_eq!(nice_max(0.0), 1.0);
        assert_eq!(nice_max(1.4), 2.0);
        assert_eq!(nice_max(37.0), 50.0);
        assert_eq!(nice_max(100.0), 100.0);
        assert_eq!(nice_max(f64::NAN), 1.0);
    }
}
