//! TCP reassembly of SIP streams: a sequence of segments over a few directions, with small limits.
//! The harness is `callscope_fuzz::reassembly` (fuzz/src/lib.rs), shared with tests/it/fuzz_regressions.rs.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| callscope_fuzz::reassembly(data));
