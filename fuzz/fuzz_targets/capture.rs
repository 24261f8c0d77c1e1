//! Capture containers: bytes as a pcap/pcapng file, read whole from the first record, then again
//! The harness is `callscope_fuzz::capture` (fuzz/src/lib.rs), shared with tests/it/fuzz_regressions.rs.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| callscope_fuzz::capture(data));
