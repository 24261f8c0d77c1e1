//! The terminal report: what the capture held, then the calls; plus the call list and the ladder
//! diagram of one call.
//!
//! Every string that comes from a capture goes through [`escape`], so a crafted capture cannot drive
//! the terminal.

use std::io::{self, Write};

use super::json::{link_type_name, wireshark_filter};
use super::time::rfc3339;
use super::words::{
    call_streams, clock, duration_or_dash, fax_line, sdp_note, short_uri, truncate,
    unlinked_events, vantage_line, worst,
};
use crate::analysis::{Analysis, CaptureSummary};
use crate::correlate::calls::Call;
use crate::diagnose::Severity;
use crate::words::{frames_list, plural};

/// How the text report is written.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// Colour severities with ANSI escapes (for a terminal).
    pub color: bool,
    /// List only calls with an error or warning finding.
    pub only_failed: bool,
}

impl Options {
    /// `x code` in the severity's colour.
    fn tag(&self, severity: Severity, code: &str) -> String {
        let text = format!("{} {code}", marker(severity));
        if !self.color {
            return text;
        }
        let colour = match severity {
            Severity::Error => "\x1b[1;31m",
            Severity::Warning => "\x1b[33m",
            Severity::Info => "\x1b[36m",
        };
        format!("{colour}{text}\x1b[0m")
    }
}

/// Writes the default report of `analyze`: capture summary, SIP summary, call list, then each call
/// with findings (worst first) and the transport failures no call explains.
pub fn write(analysis: &Analysis, options: &Options, mut out: impl Write) -> io::Result<()> {
    for c in &analysis.captures {
        write_capture(c, &mut out)?;
    }
    let sip = &analysis.sip;
    writeln!(
        out,
        "\nSIP: {}, {} retransmitted, {}, {}",
        plural(sip.messages, "message"),
        sip.resent,
        plural(analysis.calls.len() as u64, "call"),
        plural(analysis.other_dialogs.len() as u64, "other dialog")
    )?;
    writeln!(out, "Vantage: {}", escape(&vantage_line(&analysis.vantage)))?;
    if sip.untracked > 0 {
        writeln!(
            out,
            "  {} SIP messages counted but not correlated (memory limit on Call-IDs or messages per call)",
            sip.untracked
        )?;
    }
    let l = &analysis.limits;
    if l.untracked_tcp_segments + l.untracked_rtp_packets + l.untracked_udptl_packets > 0 {
        writeln!(
            out,
            "  memory limits: {} TCP segments, {} RTP and {} UDPTL packets beyond the connection/stream limits not analysed",
            l.untracked_tcp_segments, l.untracked_rtp_packets, l.untracked_udptl_packets
        )?;
    }
    for (reason, n) in &analysis.sip_malformed {
        writeln!(out, "  malformed SIP: {n} × {reason}")?;
    }
    let r = &analysis.tcp_reassembly;
    for (reason, n) in &r.framing_errors {
        writeln!(out, "  SIP over TCP could not be framed: {n} × {reason}")?;
    }
    if r.gaps_skipped + r.bytes_skipped + r.streams_over_limit > 0 {
        writeln!(
            out,
            "  SIP over TCP: {} gaps skipped, {} bytes skipped, {} segments over the stream limit",
            r.gaps_skipped, r.bytes_skipped, r.streams_over_limit
        )?;
    }
    if !analysis.calls.is_empty() {
        writeln!(out)?;
        write_call_list(analysis, options, &mut out)?;
    }
    if !analysis.diagnosis.patterns.is_empty() {
        writeln!(out, "\nPatterns (one cause behind several calls):")?;
        for p in &analysis.diagnosis.patterns {
            writeln!(
                out,
                "  {}: {}",
                options.tag(Severity::Warning, p.code),
                escape(&p.summary)
            )?;
        }
    }
    let mut order: Vec<usize> = (0..analysis.calls.len())
        .filter(|&i| worst(analysis, i).is_some())
        .collect();
    order.sort_by_key(|&i| (worst(analysis, i), i));
    for i in order {
        write_verdict(analysis, i, options, &mut out)?;
    }
    let unlinked = unlinked_events(analysis);
    if !unlinked.is_empty() {
        writeln!(
            out,
            "\nTransport failures not tied to a call in this capture:"
        )?;
        for e in unlinked {
            writeln!(
                out,
                "  {} {}: {}",
                marker(e.severity),
                e.code,
                escape(&e.summary)
            )?;
            writeln!(out, "      cause: {}", escape(&e.cause))?;
            writeln!(out, "      evidence: {}", frames_list(&e.frames, 12))?;
        }
    }
    Ok(())
}

/// `x` error, `!` warning, `i` info.
fn marker(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "x",
        Severity::Warning => "!",
        Severity::Info => "i",
    }
}

/// One call's verdict: its findings with evidence (primary first), its media, a Wireshark filter.
pub fn write_verdict(
    analysis: &Analysis,
    i: usize,
    options: &Options,
    mut out: impl Write,
) -> io::Result<()> {
    let Some(call) = analysis.calls.get(i) else {
        return Ok(());
    };
    writeln!(
        out,
        "\n#{} {}  {} → {}  {}{}",
        i + 1,
        clock(call.start_ts_ns),
        escape(short_uri(&call.from)),
        escape(short_uri(&call.to)),
        call.state.as_str(),
        final_suffix(call)
    )?;
    let findings = analysis
        .diagnosis
        .calls
        .get(i)
        .map(Vec::as_slice)
        .unwrap_or_default();
    if findings.is_empty() {
        writeln!(out, "  no problem found")?;
    }
    for (k, f) in findings.iter().enumerate() {
        let lead = if k == 0 { "cause" } else { "also" };
        writeln!(
            out,
            "  {} [{lead}]: {}",
            options.tag(f.severity, f.code),
            escape(&f.summary)
        )?;
        writeln!(out, "      {}", escape(&f.cause))?;
        writeln!(out, "      evidence: {}", frames_list(&f.frames, 12))?;
    }
    for s in call_streams(analysis, i) {
        let m = &s.summary;
        writeln!(
            out,
            "  media {} → {} {} {} pkts, lost {} ({:.1}%), jitter mean {:.2} / max {:.2} ms{}",
            s.src,
            s.dst,
            escape(s.codec.as_deref().unwrap_or("?")),
            m.packets,
            m.lost,
            m.lost_pct,
            m.mean_jitter_ms,
            m.max_jitter_ms,
            s.mos.map(|v| format!(", MOS {v:.2}")).unwrap_or_default()
        )?;
    }
    for f in analysis.evidence.get(i).map_or(&[][..], |e| &e.fax) {
        writeln!(out, "  fax {}", fax_line(f))?;
    }
    writeln!(
        out,
        "  wireshark: {}",
        escape(&wireshark_filter(&call.call_id))
    )
}

fn write_capture(c: &CaptureSummary, out: &mut impl Write) -> io::Result<()> {
    writeln!(out, "{}", escape(&c.path))?;
    let links: Vec<String> = c.link_types.iter().map(|&l| link_type_name(l)).collect();
    writeln!(
        out,
        "  format {}{}, link {}, {} packets, {} bytes",
        c.format,
        if c.gzip { " (gzip)" } else { "" },
        if links.is_empty() {
            "-".to_string()
        } else {
            links.join(", ")
        },
        c.packets,
        c.bytes
    )?;
    if let (Some(first), Some(last), Some(dur)) = (c.first_ts_ns, c.last_ts_ns, c.duration_ns()) {
        writeln!(
            out,
            "  from {} to {} ({:.3} s)",
            rfc3339(first),
            rfc3339(last),
            dur as f64 / 1e9
        )?;
    }
    let d = &c.decode;
    writeln!(
        out,
        "  decoded: {} IPv4, {} IPv6, {} UDP, {} TCP, {} ICMP, {} other IP, {} non-IP",
        d.ipv4, d.ipv6, d.udp, d.tcp, d.icmp, d.other_ip, d.non_ip
    )?;
    if d.fragments > 0 {
        writeln!(
            out,
            "  IP fragments: {} ({} datagrams reassembled, {} sets incomplete)",
            d.fragments, d.reassembled, d.incomplete_fragment_sets
        )?;
    }
    if d.filtered_out > 0 {
        writeln!(out, "  {} packets left out by the filter", d.filtered_out)?;
    }
    if d.snaplen_truncated > 0 {
        writeln!(
            out,
            "  {} packets cut short by the snapshot length",
            d.snaplen_truncated
        )?;
    }
    for (reason, n) in &d.undecodable {
        writeln!(out, "  not fully decoded: {n} × {reason}")?;
    }
    for w in &c.warnings {
        writeln!(
            out,
            "  warning at byte {}: {}",
            w.offset,
            escape(&w.message)
        )?;
    }
    if c.warnings_dropped > 0 {
        writeln!(out, "  ... and {} more warnings", c.warnings_dropped)?;
    }
    Ok(())
}

/// Writes the call list, one line per call.
pub fn write_calls(analysis: &Analysis, out: impl Write) -> io::Result<()> {
    write_call_list(analysis, &Options::default(), out)
}

/// The call list, with the primary finding of each call (only failed or degraded calls with
/// `only_failed`).
fn write_call_list(analysis: &Analysis, options: &Options, mut out: impl Write) -> io::Result<()> {
    writeln!(
        out,
        "{:>4}  {:<12}  {:<44}  {:<11}  {:>6}  {:>7}  {:>8}  {:>4}  {:<9}  finding",
        "#",
        "start (UTC)",
        "from → to",
        "state",
        "status",
        "setup",
        "duration",
        "msgs",
        "transport"
    )?;
    for (i, call) in analysis.calls.iter().enumerate() {
        let primary = analysis.diagnosis.calls.get(i).and_then(|f| f.first());
        if options.only_failed && worst(analysis, i).is_none_or(|w| w > Severity::Warning) {
            continue;
        }
        let status = call
            .final_response
            .as_ref()
            .map(|r| r.status.to_string())
            .unwrap_or_else(|| "-".to_string());
        let parties = format!("{} → {}", short_uri(&call.from), short_uri(&call.to));
        writeln!(
            out,
            "{:>4}  {:<12}  {:<44}  {:<11}  {:>6}  {:>7}  {:>8}  {:>4}  {:<9}  {}",
            i + 1,
            clock(call.start_ts_ns),
            escape(&truncate(&parties, 44)),
            call.state.as_str(),
            status,
            duration_or_dash(call.timings.answer_ms.or(call.timings.final_ms)),
            duration_or_dash(call.timings.duration_ms),
            call.messages.len(),
            call.transport.as_str(),
            primary.map_or_else(|| "-".to_string(), |f| options.tag(f.severity, f.code))
        )?;
    }
    Ok(())
}

/// Writes every RTP stream in the columns of `tshark -q -z rtp,streams` (times relative to the first
/// frame of the capture, `first_ts_ns`), for side-by-side comparison.
pub fn write_streams(analysis: &Analysis, mut out: impl Write) -> io::Result<()> {
    let t0 = analysis
        .captures
        .iter()
        .filter_map(|c| c.first_ts_ns)
        .min()
        .unwrap_or(0);
    writeln!(
        out,
        "{:>13} {:>13} {:>15} {:>5} {:>15} {:>5} {:>10} {:>12} {:>6} {:>12} {:>15} {:>15} {:>15} {:>15} {:>15} {:>15} {:>9}  call",
        "Start time", "End time", "Src IP addr", "Port", "Dest IP addr", "Port", "SSRC", "Payload", "Pkts",
        "Lost", "Min Delta(ms)", "Mean Delta(ms)", "Max Delta(ms)", "Min Jitter(ms)", "Mean Jitter(ms)",
        "Max Jitter(ms)", "Problems?"
    )?;
    for s in &analysis.streams {
        let m = &s.summary;
        let lost = format!("{} ({:.1}%)", m.lost, m.lost_pct);
        writeln!(
            out,
            "{:>13.6} {:>13.6} {:>15} {:>5} {:>15} {:>5} 0x{:08X} {:>12} {:>6} {:>12} {:>15.3} {:>15.3} {:>15.3} {:>15.3} {:>15.3} {:>15.3} {:>9}  {}",
            (s.first_ts_ns - t0) as f64 / 1e9,
            (s.last_ts_ns - t0) as f64 / 1e9,
            s.src.ip(),
            s.src.port(),
            s.dst.ip(),
            s.dst.port(),
            s.ssrc,
            escape(s.codec.as_deref().unwrap_or("?")),
            m.packets,
            lost,
            m.min_delta_ms.unwrap_or(-1.0),
            m.mean_delta_ms,
            m.max_delta_ms,
            m.min_jitter_ms.unwrap_or(-1.0),
            m.mean_jitter_ms,
            m.max_jitter_ms,
            if m.problems { "X" } else { "" },
            s.call.map(|i| format!("#{}", i + 1)).unwrap_or_else(|| "-".to_string())
        )?;
    }
    Ok(())
}

/// Width of one host column of the ladder.
const COLUMN: usize = 26;

/// ` 504 Server Time-out` after a call's state, or nothing without a final response.
fn final_suffix(call: &Call) -> String {
    call.final_response
        .as_ref()
        .map(|r| format!(" {} {}", r.status, escape(&r.reason)))
        .unwrap_or_default()
}

/// Writes the ladder diagram of one call: a column per host, a row per message.
pub fn write_flow(call: &Call, index: usize, mut out: impl Write) -> io::Result<()> {
    writeln!(
        out,
        "Call {index}: {} → {}  [{}{}]",
        escape(&call.from),
        escape(&call.to),
        call.state.as_str(),
        final_suffix(call)
    )?;
    writeln!(out, "Call-ID: {}", escape(&call.call_id))?;
    let mut hosts: Vec<std::net::SocketAddr> = Vec::new();
    for (src, dst) in &call.hops {
        for h in [src, dst] {
            if !hosts.contains(h) {
                hosts.push(*h);
            }
        }
    }
    let mut header = format!("{:>7}  {:>9}  ", "frame", "time (s)");
    for h in &hosts {
        header.push_str(&format!("{:<COLUMN$}", h.to_string()));
    }
    writeln!(out, "{}", header.trim_end())?;
    let t0 = call.start_ts_ns;
    let col = |addr| hosts.iter().position(|h| *h == addr).unwrap_or(0);
    for seen in &call.messages {
        let m = &seen.msg;
        let (a, b) = (col(m.src), col(m.dst));
        let width = hosts.len() * COLUMN;
        let mut line: Vec<char> = vec![' '; width];
        for h in 0..hosts.len() {
            line[h * COLUMN] = '|';
        }
        let (lo, hi) = (a.min(b) * COLUMN, a.max(b) * COLUMN);
        if hi > lo {
            for c in line.iter_mut().take(hi).skip(lo + 1) {
                *c = '-';
            }
            if a < b {
                line[hi - 1] = '>';
            } else {
                line[lo + 1] = '<';
            }
            let mut label = escape(&m.label());
            if seen.resent {
                label.push_str(" (resent)");
            }
            let label = truncate(&label, hi - lo - 4);
            let start = lo + (hi - lo - label.chars().count()) / 2;
            for (k, ch) in label.chars().enumerate() {
                line[start + k] = ch;
            }
        }
        let row: String = line.into_iter().collect();
        let note = escape(&sdp_note(m));
        writeln!(
            out,
            "{:>7}  {:>9.3}  {}{}",
            m.frame,
            (m.ts_ns - t0) as f64 / 1e9,
            row.trim_end(),
            if note.is_empty() {
                String::new()
            } else {
                format!("  {note}")
            }
        )?;
    }
    Ok(())
}

/// Makes a string from a capture safe to print on a terminal: control characters are escaped, so a
/// capture cannot move the cursor, change colours or set the window title.
pub fn escape(s: &str) -> String {
    if !s.chars().any(char::is_control) {
        return s.to_string();
    }
    s.chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_neutralises_terminal_controls() {
        assert_eq!(escape("a\x1b[31mb\r\n"), "a\\u{1b}[31mb\\r\\n");
        assert_eq!(escape("plain ünïcode"), "plain ünïcode");
    }
}
