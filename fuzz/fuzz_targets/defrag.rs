//! IP defragmentation: a sequence of fragments (small limits so eviction and timeouts happen).
//! The harness is `callscope_fuzz::defrag` (fuzz/src/lib.rs), shared with tests/it/fuzz_regressions.rs.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| callscope_fuzz::defrag(data));
