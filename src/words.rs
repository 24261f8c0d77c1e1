//! Wording for people that the diagnosis texts and the human-readable renderers share: durations,
//! counts with their noun, and frame lists and ranges.
//!
//! Takes plain numbers; produces short English strings. Knows nothing of the model, so it is a leaf
//! that imports nothing of the crate and both `diagnose` and `report` can use it. What only one side
//! says stays there: the rules' phrasing (Q.850 names, header quotes) in `diagnose::text`, the
//! renderers' (times of day, URIs, SDP notes) in `report::words`.

/// A duration for people, from milliseconds: `11 µs`, `850 ms`, `3.2 s`, `1 min 05 s`, `2 h 05 min`.
///
/// Below a second the unit is µs or ms (whole), up to a minute seconds with one decimal, then minutes
/// and seconds, from an hour hours and minutes. A value that rounds up to the next unit is written in
/// that unit (999.7 ms is `1.0 s`, not `1000 ms`). A negative duration (timestamps out of order) keeps
/// its sign; a non-finite one is `?`.
pub(crate) fn duration_ms(ms: f64) -> String {
    if !ms.is_finite() {
        return "?".to_string();
    }
    if ms < 0.0 {
        return format!("-{}", duration_ms(-ms));
    }
    // The cut-offs are checked on the rounded values, so that rounding never yields `1000 ms`;
    // ties round to even, as `format!("{:.0}")` does (integers here: float formatting is slow and
    // the call list writes two durations a call).
    let micros = (ms * 1000.0).round_ties_even();
    if micros < 1000.0 {
        return format!("{} µs", micros as u64);
    }
    let millis = ms.round_ties_even();
    if millis < 1000.0 {
        return format!("{} ms", millis as u64);
    }
    let secs = ms / 1000.0;
    let scaled = secs * 10.0;
    if scaled.fract() == 0.5 {
        // A tie after scaling may not be one in `secs` itself: let formatting decide exactly.
        let tenths = format!("{secs:.1}");
        if tenths != "60.0" {
            return format!("{tenths} s");
        }
    } else if scaled.round() < 600.0 {
        let t = scaled.round() as u64;
        return format!("{}.{} s", t / 10, t % 10);
    }
    let whole_secs = secs.round() as u64;
    if whole_secs < 3600 {
        return format!("{} min {:02} s", whole_secs / 60, whole_secs % 60);
    }
    let mins = (secs / 60.0).round() as u64;
    format!("{} h {:02} min", mins / 60, mins % 60)
}

/// The duration from one timestamp to another, both in ns since the epoch ([`duration_ms`]).
pub(crate) fn duration_ns(from_ns: i64, to_ns: i64) -> String {
    duration_ms(to_ns.saturating_sub(from_ns) as f64 / 1e6)
}

/// `1 call`, `3 calls`: the count with its noun, which takes an `s` when the count is not one.
pub(crate) fn plural(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// `frames 7, 8, 9` — at most `max` shown, then how many more.
pub(crate) fn frames_list(frames: &[u64], max: usize) -> String {
    let shown: Vec<String> = frames.iter().take(max).map(u64::to_string).collect();
    let more = frames.len().saturating_sub(max);
    format!(
        "frame{} {}{}",
        if frames.len() == 1 { "" } else { "s" },
        shown.join(", "),
        if more > 0 {
            format!(" (+{more} more)")
        } else {
            String::new()
        }
    )
}

/// `frames 8–203` from the first to the last frame of something (a stream), `frame 8` for one.
pub(crate) fn frame_range(first: u64, last: u64) -> String {
    if first == last {
        format!("frame {first}")
    } else {
        format!("frames {first}–{last}")
    }
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day): the well-known civil-from-days
/// arithmetic on 400-year eras.
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// A Unix time in seconds as a UTC date and time to the minute: `2021-01-01 00:00 UTC`.
pub(crate) fn utc_minute(secs: i64) -> String {
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_pick_a_unit() {
        assert_eq!(duration_ms(0.011), "11 µs");
        assert_eq!(duration_ms(0.0), "0 µs");
        assert_eq!(duration_ms(0.9996), "1 ms");
        assert_eq!(duration_ms(850.4), "850 ms");
        assert_eq!(duration_ms(999.7), "1.0 s");
        assert_eq!(duration_ms(3200.0), "3.2 s");
        assert_eq!(duration_ms(9973.8), "10.0 s");
        assert_eq!(duration_ms(59_960.0), "1 min 00 s");
        assert_eq!(duration_ms(65_400.0), "1 min 05 s");
        assert_eq!(duration_ms(3_599_600.0), "1 h 00 min");
        assert_eq!(duration_ms(7_500_000.0), "2 h 05 min");
        assert_eq!(duration_ms(-5.0), "-5 ms");
        assert_eq!(duration_ms(f64::NAN), "?");
        assert_eq!(duration_ns(0, 7_117_000_000), "7.1 s");
    }

    /// The rounding is the one float formatting does, on every value below a minute: the text is
    /// what `{:.0}` / `{:.1}` would print.
    #[test]
    fn durations_round_as_float_formatting_does() {
        let formatted = |ms: f64| {
            let micros = format!("{:.0}", ms * 1000.0);
            if ms < 1.0 && micros != "1000" {
                return format!("{micros} µs");
            }
            let millis = format!("{ms:.0}");
            if ms < 1000.0 && millis != "1000" {
                return format!("{millis} ms");
            }
            format!("{:.1} s", ms / 1000.0)
        };
        let mut x = 0.0001f64;
        while x < 59_000.0 {
            for ms in [x, x.next_up(), x.next_down(), (x * 2.0).round() / 2.0] {
                assert_eq!(duration_ms(ms), formatted(ms), "{ms}");
            }
            x *= 1.0007;
        }
    }

    #[test]
    fn plural_adds_an_s_unless_one() {
        assert_eq!(plural(1, "SYN"), "1 SYN");
        assert_eq!(plural(7, "SYN"), "7 SYNs");
        assert_eq!(plural(0, "call"), "0 calls");
    }

    #[test]
    fn frames_list_is_bounded() {
        assert_eq!(frames_list(&[7], 3), "frame 7");
        assert_eq!(frames_list(&[1, 2, 3, 4, 5], 3), "frames 1, 2, 3 (+2 more)");
    }

    #[test]
    fn frame_range_names_one_frame_alone() {
        assert_eq!(frame_range(8, 203), "frames 8–203");
        assert_eq!(frame_range(8, 8), "frame 8");
    }
}
