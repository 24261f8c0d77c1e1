//! Renderers: an [`Analysis`](crate::Analysis) in, text, JSON or a self-contained HTML page out, into any
//! `io::Write`. Packets out (call extraction, redaction) are `export`'s.
//!
//! They compute nothing: every figure comes from the analysis and its overview (patterns, timeline:
//! `analysis::overview`). Strings that come from a capture are
//! treated as data (escaped for the terminal in text, valid JSON strings in JSON).

mod format;
pub mod html;
pub mod json;
mod json_items;
pub mod points;
pub mod spool;
pub mod text;
mod text_items;
mod words;
