//! DNS: classifier, one message with its questions and records, and TCP length-prefixed framing.
//! The harness is `callscope_fuzz::dns` (fuzz/src/lib.rs), shared with tests/it/fuzz_regressions.rs.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| callscope_fuzz::dns(data));
