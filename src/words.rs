//! Wording for people that the diagnosis texts and the human-readable renderers share: counts with
//! their noun, and frame lists and ranges.
//!
//! Takes plain numbers; produces short English strings. Knows nothing of the model, so it is a leaf
//! that imports nothing of the crate and both `diagnose` and `report` can use it. What only one side
//! says stays there: the rules' phrasing (Q.850 names, header quotes) in `diagnose::text`, the
//! renderers' (times of day, URIs, SDP notes) in `report::words`.

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

#[cfg(test)]
mod tests {
    use super::*;

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
