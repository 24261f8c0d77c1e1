//! SIP: parse, parse_all, stream framing, and every accessor of a parsed message.
//! The harness is `callscope_fuzz::sip` (fuzz/src/lib.rs), shared with tests/it/fuzz_regressions.rs.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| callscope_fuzz::sip(data));
