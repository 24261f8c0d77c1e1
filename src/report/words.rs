//! Wording shared by the human-readable renderers (text and HTML): how times, durations, URIs and
//! SDP are written. Formatting only; counts and frame lists are `crate::words`, shared with the
//! diagnosis texts.

use std::borrow::Cow;

use super::format::rfc3339;
use crate::analysis::durations::DurationPattern;
use crate::analysis::patterns::{Pattern, Tally};
use crate::correlate::calls::State;
use crate::correlate::fax::Fax;
use crate::correlate::message::Message;
use crate::correlate::vantage::{Host, Vantage};
use crate::proto::sdp::Direction;
use crate::words::duration_ms;

/// One fax stream in words: `192.0.2.10:6002 → 192.0.2.31:20002 T.38 over UDPTL: 340 packets, seq
/// 32768–33107, lost 0 (0 recovered by redundancy), 0 resent, redundancy up to 2 IFPs; signals cng,
/// v21-preamble, ...`.
pub(crate) fn fax_line(f: &Fax) -> String {
    let recovery = if f.fec_packets > 0 {
        format!("FEC in {} packets", f.fec_packets)
    } else {
        format!("redundancy up to {} IFPs", f.max_redundancy)
    };
    let signals = f.signals();
    format!(
        "{} → {} T.38 over UDPTL: {} packets, seq {}–{}, lost {} ({} recovered by redundancy), {} resent, {recovery}{}",
        f.src,
        f.dst,
        f.packets,
        f.first_seq,
        f.last_seq,
        f.lost,
        f.recovered,
        f.resent,
        if signals.is_empty() {
            String::new()
        } else {
            format!("; signals {}", signals.join(", "))
        }
    )
}

/// How many hosts [`vantage_line`] lists before it only counts.
const HOSTS_LISTED: usize = 12;

/// One host of the vantage in words: `192.0.2.10 (both ways, TTL 64: on this link)`,
/// `192.0.2.31 (received only)`.
fn host_words(h: &Host) -> String {
    let ways = match (h.sends, h.receives) {
        (true, true) => "both ways",
        (true, false) => "sent only",
        _ => "received only",
    };
    let ttl = match (h.ttl, h.hops()) {
        (Some((_, max)), Some(0)) => format!(", TTL {max}: on this link"),
        (Some((_, max)), Some(n)) => format!(", TTL {max}: {n} routers away"),
        _ => String::new(),
    };
    format!("{} ({ways}{ttl})", h.ip)
}

/// What the capture point could see, in one line: where it was taken, whether RTP is in it, and
/// the hosts (who sent, who only received: a target that never answered).
pub(crate) fn vantage_line(v: &Vantage) -> String {
    let at = match v.common.as_slice() {
        [one] => format!("taken at {one} (every packet is from or to it)"),
        [a, b] => format!("between {a} and {b} only (at one of them, or on their link)"),
        [] if v.hosts.is_empty() => "no VoIP traffic".to_string(),
        _ => "traffic between several hosts (a mirror port, a shared link or a router)".to_string(),
    };
    let rtp = if v.rtp_seen { "RTP seen" } else { "no RTP" };
    let mut hosts: Vec<String> = v.hosts.iter().take(HOSTS_LISTED).map(host_words).collect();
    let more = (v.hosts.len().saturating_sub(HOSTS_LISTED) as u64).saturating_add(v.more_hosts);
    if more > 0 {
        // Beyond the host limit the count is an estimate.
        let about = if v.more_hosts > 0 { "about " } else { "" };
        hosts.push(format!("{about}{more} more"));
    }
    if hosts.is_empty() {
        format!("{at}; {rtp}")
    } else {
        format!("{at}; {rtp}; hosts: {}", hosts.join(", "))
    }
}

/// `sip:alice@example.com;transport=udp` → `alice@example.com`.
pub(crate) fn short_uri(uri: &str) -> &str {
    let uri = uri.split_once(':').map_or(uri, |(scheme, rest)| {
        if matches!(scheme, "sip" | "sips" | "tel") {
            rest
        } else {
            uri
        }
    });
    uri.split(';').next().unwrap_or(uri)
}

/// Cuts a string to `max` characters, marking the cut with `…`.
pub(crate) fn truncate(s: &str, max: usize) -> Cow<'_, str> {
    if s.chars().count() <= max {
        Cow::Borrowed(s)
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        Cow::Owned(t)
    }
}

/// A duration for people ([`duration_ms`]), `-` when unknown.
pub(crate) fn duration_or_dash(ms: Option<f64>) -> String {
    ms.map_or_else(|| "-".to_string(), duration_ms)
}

/// The time of day of a timestamp, `HH:MM:SS.mmm` (UTC).
pub(crate) fn clock(ts_ns: i64) -> String {
    rfc3339(ts_ns).get(11..23).unwrap_or_default().to_string()
}

/// The time of day of a timestamp to the second, `HH:MM:SS` (UTC).
pub(crate) fn clock_s(ts_ns: i64) -> String {
    rfc3339(ts_ns).get(11..19).unwrap_or_default().to_string()
}

/// The times of day a group of calls spans, to the second (`HH:MM:SS – HH:MM:SS`); one time when
/// they fall in the same second.
pub(crate) fn clock_span(first_ns: i64, last_ns: i64) -> String {
    let (first, last) = (clock_s(first_ns), clock_s(last_ns));
    if first == last {
        first
    } else {
        format!("{first} – {last}")
    }
}

/// How a pattern's calls ended and where: `rejected 403 Forbidden by 192.0.2.20`, `unanswered
/// (INVITE to 192.0.2.20)`, `answered by 192.0.2.31`, with `, dead target 192.0.2.31:5060` when its
/// finding cites one. Capture text (the reason phrase) is not escaped here.
pub(crate) fn pattern_outcome(p: &Pattern) -> String {
    let k = &p.key;
    let status = p
        .first
        .final_response
        .as_ref()
        .map(|r| format!(" {} {}", r.status, r.reason))
        .unwrap_or_default();
    let hosts = tallied(&p.hosts, "hosts");
    let mut out = match k.state {
        State::Unanswered => format!("unanswered (INVITE to {hosts})"),
        State::InProgress => format!("still ringing{status} at {hosts}"),
        State::Answered => format!("answered by {hosts}"),
        State::MidCall => format!("mid-call (set up before the capture) with {hosts}"),
        State::Rejected | State::Cancelled => {
            format!("{}{status} by {hosts}", k.state.as_str())
        }
    };
    match p.targets.single() {
        Some(t) => out.push_str(&format!(", dead target {t}")),
        None if !p.targets.counts().is_empty() => {
            out.push_str(&format!(", dead {}", tallied(&p.targets, "targets")));
        }
        None => {}
    }
    out
}

/// Values a pattern tallied, as a phrase: the value when there is one, else how many (`64+` when
/// the tally is full) with the first three by calls, `3 hosts: 192.0.2.20 ×40, 192.0.2.21 ×38,
/// 192.0.2.22 ×2`.
fn tallied<T: Copy + Ord + std::fmt::Display>(t: &Tally<T>, noun: &str) -> String {
    const SHOWN: usize = 3;
    if let Some(v) = t.single() {
        return v.to_string();
    }
    match t.counts() {
        [] => String::new(),
        counts => {
            let more = if t.others > 0 { "+" } else { "" };
            let list: Vec<String> = counts
                .iter()
                .take(SHOWN)
                .map(|(v, n)| format!("{v} ×{n}"))
                .collect();
            let rest = if counts.len() > SHOWN || t.others > 0 {
                ", …"
            } else {
                ""
            };
            format!("{}{more} {noun}: {}{rest}", counts.len(), list.join(", "))
        }
    }
}

/// What a duration pattern's calls did: `ended 31.5 s after the answer (31.4–31.6 s); 3 hung up by
/// the callee, 3 over UDP`.
pub(crate) fn duration_pattern_what(p: &DurationPattern) -> String {
    let (min, max) = (duration_ms(p.min_ms as f64), duration_ms(p.max_ms as f64));
    let range = if min == max {
        String::new()
    } else {
        format!(" ({min}–{max})")
    };
    format!(
        "ended {} after the answer{range}; {} hung up by the callee, {} over UDP",
        duration_ms((p.min_ms + p.max_ms) as f64 / 2.0),
        p.by_callee,
        p.udp
    )
}

/// An interval of the timeline for people: `1 s`, `20 s`, `2 min`, `1 h`.
pub(crate) fn interval(width_ns: i64) -> String {
    let s = width_ns / 1_000_000_000;
    if s >= 3600 && s % 3600 == 0 {
        format!("{} h", s / 3600)
    } else if s >= 60 && s % 60 == 0 {
        format!("{} min", s / 60)
    } else {
        format!("{s} s")
    }
}

/// Counts as a line of block characters, one per count, scaled to the largest (a blank for none).
pub(crate) fn sparkline(counts: &[u64]) -> String {
    const BLOCKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let max = counts.iter().copied().max().unwrap_or(0).max(1);
    counts
        .iter()
        .map(|&n| {
            if n == 0 {
                ' '
            } else {
                BLOCKS[((n * 8 - 1) / max).min(7) as usize]
            }
        })
        .collect()
}

/// `SDP audio 192.0.2.1:6000 PCMU/8000` for a message with SDP; what is known of a message whose
/// later IP fragments were not captured.
pub(crate) fn sdp_note(m: &Message) -> String {
    if m.lost_fragments {
        return "body cut: its later IP fragments were not captured".to_string();
    }
    let Some(media) = &m.sdp else {
        return String::new();
    };
    let parts: Vec<String> = media
        .iter()
        .map(|md| {
            let addr = md
                .addr
                .map(|a| a.to_string())
                .unwrap_or_else(|| "?".to_string());
            let codecs: Vec<String> = md
                .codecs
                .iter()
                .take(3)
                .map(|c| {
                    if c.name.is_empty() {
                        format!("pt{}", c.pt)
                    } else {
                        format!("{}/{}", c.name, c.clock_rate)
                    }
                })
                .collect();
            let dir = if md.direction == Direction::SendRecv {
                String::new()
            } else {
                format!(" {}", md.direction.as_str())
            };
            format!("{} {addr}:{} {}{dir}", md.kind, md.port, codecs.join(","))
        })
        .collect();
    format!("SDP {}", parts.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_uri_drops_scheme_and_parameters() {
        assert_eq!(
            short_uri("sip:alice@example.com;transport=tcp"),
            "alice@example.com"
        );
        assert_eq!(short_uri("tel:+4930123"), "+4930123");
        assert_eq!(short_uri("urn:service:sos"), "urn:service:sos");
    }

    #[test]
    fn sparklines_scale_to_the_largest_count() {
        assert_eq!(sparkline(&[0, 1, 4, 8]), " ▁▄█");
        assert_eq!(sparkline(&[]), "");
        assert_eq!(sparkline(&[3, 3]), "██");
    }

    #[test]
    fn unknown_durations_are_a_dash() {
        assert_eq!(duration_or_dash(None), "-");
        assert_eq!(duration_or_dash(Some(850.4)), "850 ms");
    }
}
