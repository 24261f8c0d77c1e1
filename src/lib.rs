//! callscope: find out why VoIP calls failed, from a packet capture.
//!
//! The pipeline runs left to right, and modules import only from their left
//! (see ARCHITECTURE.md; `tests/it/architecture.rs` enforces it):
//!
//! ```text
//! capture ─▶ decode ─▶ reassembly ─▶ proto ─▶ correlate ─▶ diagnose ─┬▶ report
//!                                                                    └▶ export
//! ```
//!
//! - [`capture`]: open pcap/pcapng files (mmap, gzip), walk their records by byte range.
//! - [`decode`]: link, IP (with defragmentation), UDP/TCP/ICMP.
//! - [`proto`]: pure parsers of untrusted bytes (SIP, SDP, RTP, ...); imports nothing of the crate.
//! - [`correlate`]: the incremental engine: calls, streams, connections, each call finalized with
//!   its evidence once it has ended.
//! - [`diagnose`]: the rules that say why a finished call failed.
//! - [`analysis`]: the result model, and [`analysis::Output`], what a run writes into as it goes.
//! - [`points`]: captures of the same calls taken at several points, put together: the same packet
//!   at each point, the clock offsets, where each lost packet died.
//! - [`pipeline`]: runs it all, in parallel chunks folded in capture order ([`analyze_into`]); also
//!   fed by a live interface ([`pipeline::Live`]).
//! - [`report`]: text, JSON and HTML renderers, each an `Output`.
//! - [`export`]: packets out: one call's packets to a pcap, redaction of analyses and packets.
//!
//! The entry point is [`analyze`]:
//!
//! ```
//! use callscope::capture::{write::PcapWriter, CaptureFile};
//!
//! // A capture with one INVITE over UDP that nobody answered.
//! let invite = b"INVITE sip:bob@192.0.2.2 SIP/2.0\r\nCall-ID: doc-1\r\nCSeq: 1 INVITE\r\n\
//!                From: <sip:alice@192.0.2.1>;tag=a\r\nTo: <sip:bob@192.0.2.2>\r\nContent-Length: 0\r\n\r\n";
//! let builder = etherparse::PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
//!     .ipv4([192, 0, 2, 1], [192, 0, 2, 2], 64)
//!     .udp(5060, 5060);
//! let mut packet = Vec::new();
//! builder.write(&mut packet, invite).unwrap();
//! let mut pcap = PcapWriter::new(Vec::new(), 1, false).unwrap();
//! pcap.write(1_700_000_000_000_000_000, &packet, packet.len() as u32).unwrap();
//! let file = CaptureFile::from_bytes("doc.pcap".into(), pcap.finish().unwrap()).unwrap();
//!
//! let analysis = callscope::analyze(&[file], &callscope::Options::default(), &callscope::pipeline::NoProgress);
//! assert_eq!(analysis.calls.len(), 1);
//! assert_eq!(analysis.calls[0].state.as_str(), "unanswered");
//! ```

#![deny(unsafe_code)]

pub mod analysis;
pub mod capture;
pub mod correlate;
pub mod decode;
pub mod decrypt;
pub mod diagnose;
pub mod export;
pub mod pipeline;
pub mod points;
pub mod proto;
pub mod reassembly;
pub mod report;
pub(crate) mod words;

pub use analysis::Analysis;
pub use pipeline::{analyze, analyze_into, analyze_points, Options, Progress};
