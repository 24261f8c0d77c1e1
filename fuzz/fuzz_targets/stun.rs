//! STUN: classifier, message view, attributes, and RFC 4571 framing over TCP.
//! The harness is `callscope_fuzz::stun` (fuzz/src/lib.rs), shared with tests/it/fuzz_regressions.rs.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| callscope_fuzz::stun(data));
