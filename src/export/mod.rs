//! Packets out: one call's packets extracted to a pcap ([`extract`]), and redaction ([`redact`]):
//! pseudonyms applied to an analysis and to the packets themselves, so that the evidence can be shared.
//!
//! Takes the [`Analysis`](crate::Analysis) and the capture files it was made from (read a second
//! time); produces a pcap, or a redacted copy of the analysis for the renderers.
//! Does not render reports (`report`), and nothing in the library imports it: the binary, tests and
//! fuzz targets do.

pub mod extract;
pub mod redact;
