//! Wording shared by the human-readable renderers (text and HTML): how times, durations, URIs and
//! SDP are written. Formatting only; counts and frame lists are `crate::words`, shared with the
//! diagnosis texts.

use std::borrow::Cow;

use super::format::rfc3339;
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
        hosts.push(format!("{more} more"));
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

/// `SDP audio 192.0.2.1:6000 PCMU/8000` for a message with SDP.
pub(crate) fn sdp_note(m: &Message) -> String {
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
    fn unknown_durations_are_a_dash() {
        assert_eq!(duration_or_dash(None), "-");
        assert_eq!(duration_or_dash(Some(850.4)), "850 ms");
    }
}
