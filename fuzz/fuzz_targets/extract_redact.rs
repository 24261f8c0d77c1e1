//! Packets out: bytes as a capture file, analysed, every call extracted plain and redacted, the
//! outputs read back. The harness is `callscope_fuzz::extract_redact` (fuzz/src/lib.rs), shared with
//! tests/fuzz_regressions.rs.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| callscope_fuzz::extract_redact(data));
