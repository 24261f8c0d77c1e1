//! Link/IP/transport decoding: the first byte picks a link type, the rest is the frame.
//! The harness is `callscope_fuzz::decode` (fuzz/src/lib.rs), shared with tests/it/fuzz_regressions.rs.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| callscope_fuzz::decode(data));
