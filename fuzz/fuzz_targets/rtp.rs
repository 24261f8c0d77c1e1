//! RTP: classifier, header view, every accessor, telephone-event payloads.
//! The harness is `callscope_fuzz::rtp` (fuzz/src/lib.rs), shared with tests/it/fuzz_regressions.rs.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| callscope_fuzz::rtp(data));
