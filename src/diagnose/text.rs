//! Wording shared by the rules: Q.850 cause names, header quotes, Winsock hints (durations, counts
//! and frame lists are `crate::words`, shared with the renderers).
//!
//! Takes model values; produces short strings for finding summaries and causes. Does not decide
//! anything: the rules choose what to say.

use crate::correlate::message::Message;

/// Milliseconds between two timestamps in ns.
pub(crate) fn ms(from: i64, to: i64) -> f64 {
    to.saturating_sub(from) as f64 / 1e6
}

/// The meaning of common ITU-T Q.850 cause values (as metrics.md lists them).
pub(crate) fn q850(cause: u16) -> Option<&'static str> {
    Some(match cause {
        1 => "unallocated number",
        3 => "no route to destination",
        16 => "normal clearing",
        17 => "user busy",
        18 => "no user responding",
        19 => "no answer from user",
        20 => "subscriber absent",
        21 => "call rejected",
        22 => "number changed",
        27 => "destination out of order",
        28 => "invalid number format",
        31 => "normal, unspecified",
        34 => "no circuit/channel available",
        38 => "network out of order",
        41 => "temporary failure",
        42 => "switching equipment congestion",
        47 => "resource unavailable",
        58 => "bearer capability not available",
        65 => "bearer capability not implemented",
        88 => "incompatible destination",
        102 => "recovery on timer expiry",
        111 => "protocol error",
        127 => "interworking, unspecified",
        _ => return None,
    })
}

/// What the message's Reason, Warning and ms-diagnostics headers say, quoted as they are
/// (`Reason: Q.850 cause 34 (no circuit/channel available) "..."`), joined by `; `. Empty when none.
pub(crate) fn header_quotes(m: &Message) -> String {
    let mut parts: Vec<String> = Vec::new();
    for r in &m.reasons {
        let mut s = format!("Reason: {}", r.protocol);
        if let Some(cause) = r.cause {
            s.push_str(&format!(" cause {cause}"));
            if r.protocol.eq_ignore_ascii_case("Q.850") {
                if let Some(name) = q850(cause) {
                    s.push_str(&format!(" ({name})"));
                }
            }
        }
        if let Some(text) = r.text.as_deref().filter(|t| !t.is_empty()) {
            s.push_str(&format!(" \"{text}\""));
        }
        parts.push(s);
    }
    for w in &m.warnings {
        parts.push(format!("Warning: {} {} \"{}\"", w.code, w.agent, w.text));
    }
    for d in &m.ms_diagnostics {
        let name = if d.public {
            "ms-diagnostics-public"
        } else {
            "ms-diagnostics"
        };
        let mut s = format!("{name}: {}", d.error_id);
        if let Some(sub) = d.sub_code {
            s.push_str(&format!(".{sub}"));
        }
        if let Some(reason) = &d.reason {
            s.push_str(&format!(" reason=\"{reason}\""));
        }
        if let Some(source) = &d.source {
            s.push_str(&format!(" source=\"{source}\""));
        }
        for (k, v) in &d.attrs {
            s.push_str(&format!(" {k}=\"{v}\""));
        }
        parts.push(s);
    }
    parts.join("; ")
}

/// A hint from an ms-diagnostics `WinsockFailureCode` attribute, if the message carries one.
pub(crate) fn winsock_hint(m: &Message) -> Option<&'static str> {
    m.ms_diagnostics
        .iter()
        .flat_map(|d| d.attrs.iter())
        .filter(|(k, _)| k.eq_ignore_ascii_case("WinsockFailureCode"))
        .find_map(|(_, v)| {
            if v.starts_with("10060") {
                Some("WinsockFailureCode 10060 (WSAETIMEDOUT): the next hop never answered the TCP connection, typically a firewall dropping it")
            } else if v.starts_with("10061") {
                Some("WinsockFailureCode 10061 (WSAECONNREFUSED): nothing listens on the next hop's port")
            } else {
                None
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn q850_names() {
        assert_eq!(q850(34), Some("no circuit/channel available"));
        assert_eq!(q850(999), None);
    }
}
