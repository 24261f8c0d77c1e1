//! The integration tests: one test binary with a module per subject, `support` for what they share.
//! One binary links the library once where a binary per test file linked it sixteen times, which
//! roughly halves the build after a change to the library. Tests are named `<module>::<test>`:
//! `cargo test --test it golden::` runs one module.

mod support;

mod architecture;
mod browse;
mod capture;
mod cli;
mod diagnose;
mod dns;
mod durations;
mod extract;
mod filter;
mod fragments;
mod fuzz_regressions;
mod golden;
mod hep;
mod hostile;
mod html;
// Needs libpcap: `cargo test --features live`.
#[cfg(feature = "live")]
mod live;
mod netmon;
mod non_invite;
mod normal_calls;
mod points;
mod real_captures;
mod redact;
mod redact_encapsulations;
mod robustness;
mod rtp;
mod schema;
mod sip;
mod tls;
