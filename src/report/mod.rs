//! Renderers: an [`Analysis`](crate::Analysis) in, text, JSON or a self-contained HTML page out, into any
//! `io::Write`; plus a call's packets extracted to a small pcap (`extract`) and pseudonymisation of
//! everything a report or an extracted pcap shows (`redact`).
//!
//! They compute nothing: every figure comes from the analysis. Strings that come from a capture are
//! treated as data (escaped for the terminal in text, valid JSON strings in JSON).

pub mod extract;
pub mod html;
pub mod json;
pub mod redact;
pub mod text;
mod time;
mod words;
