//! SDP: parse and the media accessors.
//! The harness is `callscope_fuzz::sdp` (fuzz/src/lib.rs), shared with tests/it/fuzz_regressions.rs.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| callscope_fuzz::sdp(data));
