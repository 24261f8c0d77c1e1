//! The whole pipeline: bytes as a capture file, analysed, rendered as text and JSON.
//! The harness is `callscope_fuzz::pipeline` (fuzz/src/lib.rs), shared with tests/it/fuzz_regressions.rs.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| callscope_fuzz::pipeline(data));
