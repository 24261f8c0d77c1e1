//! UDPTL (T.38 fax): packet, primary IFP and its fields, secondaries.
//! The harness is `callscope_fuzz::udptl` (fuzz/src/lib.rs), shared with tests/it/fuzz_regressions.rs.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| callscope_fuzz::udptl(data));
