//! Wording shared by the rules: Q.850 cause names, header quotes (Microsoft's diagnostics headers in
//! words come from `microsoft`; durations, counts and frame lists are `crate::words`, shared with the
//! renderers).
//!
//! Takes model values; produces short strings for finding summaries and causes. Does not decide
//! anything: the rules choose what to say.

use crate::correlate::message::Message;
use crate::diagnose::microsoft;

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

/// What the message's Reason, Warning and Microsoft diagnostics headers say, quoted as they are
/// (`Reason: Q.850 cause 34 (no circuit/channel available) "..."`, Microsoft's codes in words),
/// joined by `; `. Empty when none.
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
        parts.push(microsoft::describe(d));
    }
    parts.join("; ")
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
