//! callscope: find out why VoIP calls failed, from a packet capture.
//!
//! The pipeline runs left to right, and modules import only from their left
//! (see ARCHITECTURE.md; `tests/architecture.rs` enforces it):
//!
//! ```text
//! capture ─▶ decode ─▶ reassembly ─▶ proto ─▶ correlate ─▶ diagnose ─▶ report
//! ```
//!
//! - [`capture`]: open pcap/pcapng files (mmap, gzip), walk their records by byte range.
//! - [`decode`]: link, IP (with defragmentation), UDP/TCP/ICMP.
//! - [`proto`]: pure parsers of untrusted bytes (SIP, SDP, RTP, ...); imports nothing of the crate.
//! - [`analysis`]: the result model the renderers read.
//! - [`pipeline`]: runs it all, in parallel chunks folded in capture order.
//! - [`report`]: text and JSON renderers.
//!
//! The entry point is [`analyze`].

#![deny(unsafe_code)]

pub mod analysis;
pub mod capture;
pub mod correlate;
pub mod decode;
pub mod diagnose;
pub mod pipeline;
pub mod proto;
pub mod reassembly;
pub mod report;

pub use analysis::Analysis;
pub use pipeline::{analyze, Options, Progress};
