//! What a bare clone may lack (the public captures beside the repository, tshark, Chromium): a test
//! that needs it says on one line what it skipped and why, except in CI, where nothing may be skipped
//! and the test fails instead — so CI can only pass by running every check.

use std::io::Write;

/// The public captures' folder as the expected data names it (relative to the repository root). It
/// sits beside the repository in CI, never inside it, so a bare `git clone` has no such folder.
pub const SHARED_CAPTURES: &str = "../shared/captures/";

/// Whether the tests run in CI (`CI` set, as CI services and `.ci/run` do; `CI=false` is not CI).
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// Skips `what` because of `why`: one line on stderr, or a failed test in CI.
pub fn skip(what: &str, why: &str) {
    assert!(!in_ci(), "CI must not skip {what}: {why}");
    // Written to stderr directly rather than with `eprintln!`, which the test harness captures and
    // shows only for failed tests: a skip must be visible in a passing run.
    let _ = writeln!(std::io::stderr(), "skipped {what}: {why}");
}

/// The items whose capture is available: all of them when the shared captures are beside the
/// repository, otherwise those outside it, after one line saying how many `what` were skipped.
pub fn available<T>(items: Vec<T>, path: impl Fn(&T) -> &str, what: &str) -> Vec<T> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    if root.join(SHARED_CAPTURES).is_dir() {
        return items;
    }
    let total = items.len();
    let local: Vec<T> = items
        .into_iter()
        .filter(|item| !path(item).starts_with(SHARED_CAPTURES))
        .collect();
    if local.len() < total {
        skip(
            &format!("{} of {total} {what}", total - local.len()),
            &format!("{SHARED_CAPTURES} is not beside the repository (a bare clone)"),
        );
    }
    local
}
