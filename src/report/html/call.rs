//! One call's section of the page: its heading and facts (Call-ID, parties, timings), its findings
//! with their evidence, a Wireshark filter, its ladder, and its RTP streams with their figures and
//! plots.
//!
//! The [`super::Writer`] renders a section as its call is reported (for a capture of few calls) or
//! at the end for the calls shown in detail (the failure patterns' examples).

use std::fmt::{self, Write as _};

use super::ladder::ladder;
use super::plot::plot;
use super::{date_time, escape, findings, mos, state_label, table_head};
use crate::correlate::calls::State;
use crate::correlate::media::Stream;
use crate::diagnose::rules::media_poor_quality::{MAX_LOSS_PCT, MAX_MEAN_JITTER_MS, MIN_MOS};
use crate::diagnose::{DiagnosedCall, Severity};
use crate::report::json::wireshark_filter;
use crate::report::words::{duration_or_dash, fax_line, short_uri};
use crate::words::frame_range;

/// One call's section: facts, findings, Wireshark filter, ladder and media (with plots).
pub(super) fn call_section(call: &DiagnosedCall, h: &mut String) -> fmt::Result {
    let fs = &call.findings;
    let sev = call.worst();
    let n = call.index + 1;
    writeln!(
        h,
        "<section class=\"call {}\" id=\"call-{n}\"><h3><a href=\"#call-{n}\">#{n}</a> {} → {} \
         <span class=\"badge st-{}\">{}</span> {}</h3>",
        sev.map_or("none", Severity::as_str),
        escape(short_uri(&call.from)),
        escape(short_uri(&call.to)),
        call.state.as_str(),
        state_label(call.state.as_str()),
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
    fact(h, "start (UTC)", &date_time(call.start_ts_ns))?;
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
        &format!(
            "{} / {}",
            duration_or_dash(t.first_response_ms),
            duration_or_dash(t.pdd_ms)
        ),
    )?;
    fact(
        h,
        "final response / answer",
        &format!(
            "{} / {}",
            duration_or_dash(t.final_ms),
            duration_or_dash(t.answer_ms)
        ),
    )?;
    fact(
        h,
        "duration / ended by",
        &format!(
            "{} / {}",
            duration_or_dash(t.duration_ms),
            call.ended_by.map_or("–", |e| e.as_str())
        ),
    )?;
    fact(
        h,
        "SIP messages",
        &format!("{} ({} retransmitted)", call.messages.len(), call.resent()),
    )?;
    h.push_str("</dl>\n");
    findings(fs, h)?;
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
    ladder(call, h)?;
    let streams: Vec<&Stream> = call.own_streams().collect();
    if !streams.is_empty() {
        h.push_str("<h4>Media</h4>\n");
        for s in streams {
            stream_block(s, h)?;
        }
    } else if call.state == State::Answered {
        h.push_str("<p class=\"note\">No RTP stream was tied to this call.</p>\n");
    }
    let fax = &call.evidence.fax;
    if !fax.is_empty() {
        h.push_str("<h4>Fax</h4>\n");
        for f in fax {
            writeln!(
                h,
                "<div class=\"stream\"><span class=\"mono\">{}</span> · {}</div>",
                escape(&fax_line(f)),
                frame_range(f.first_frame, f.last_frame)
            )?;
        }
    }
    h.push_str("</section>\n");
    Ok(())
}

fn stream_block(s: &Stream, h: &mut String) -> fmt::Result {
    let m = &s.summary;
    // The thresholds of media.poor_quality, so the figures marked are those the finding names.
    let poor_loss = m.lost_pct > MAX_LOSS_PCT;
    let poor_jitter = m.mean_jitter_ms > MAX_MEAN_JITTER_MS;
    let poor_mos = s.mos.is_some_and(|v| v < MIN_MOS);
    let class = |poor: bool| if poor { " poor" } else { "" };
    writeln!(
        h,
        "<div class=\"stream\"><div><span class=\"mono\">{} → {}</span> &nbsp; {} · SSRC <span class=\"mono\">0x{:08X}</span> \
         · {}{}</div>",
        s.src,
        s.dst,
        escape(s.codec.as_deref().unwrap_or("unknown codec")),
        s.ssrc,
        frame_range(s.first_frame, s.last_frame),
        if s.expected_by_sdp {
            ""
        } else {
            " · <span class=\"poor\">not at the SDP's addresses</span>"
        },
    )?;
    table_head(
        h,
        "",
        &[
            "packets",
            "lost",
            "jitter mean / max",
            "max delta",
            "max gap",
            "MOS",
        ],
    );
    writeln!(
        h,
        "<tr><td class=\"num\">{}</td><td class=\"num{}\">{} ({:.1}%)</td><td class=\"num{}\">{:.2} / {:.2} ms</td>\
         <td class=\"num\">{:.1} ms</td><td class=\"num\">{:.1} ms</td><td class=\"num{}\">{}</td></tr></tbody></table>",
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
        mos(s)
    )?;
    plot(s, h)?;
    h.push_str("</div>\n");
    Ok(())
}
