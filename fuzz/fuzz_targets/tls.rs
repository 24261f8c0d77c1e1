//! TLS record sniffing: records, their content and handshake messages.
//! The harness is `callscope_fuzz::tls` (fuzz/src/lib.rs), shared with tests/it/fuzz_regressions.rs.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| callscope_fuzz::tls(data));
