//! HEP: one packet (HEP3 or HEP1/2) and back-to-back HEP3 packets of a TCP feed.
//! The harness is `callscope_fuzz::hep` (fuzz/src/lib.rs), shared with tests/it/fuzz_regressions.rs.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| callscope_fuzz::hep(data));
