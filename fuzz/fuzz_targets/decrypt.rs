//! TLS decryption: captures analysed with the lab's keys, and records fed to the decryption stage.
//! The harness is `callscope_fuzz::decrypt` (fuzz/src/lib.rs), shared with tests/it/fuzz_regressions.rs.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| callscope_fuzz::decrypt(data));
