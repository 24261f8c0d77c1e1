//! RTCP: compound parsing, every packet body and block iterator.
//! The harness is `callscope_fuzz::rtcp` (fuzz/src/lib.rs), shared with tests/it/fuzz_regressions.rs.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| callscope_fuzz::rtcp(data));
