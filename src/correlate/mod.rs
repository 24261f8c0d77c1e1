//! Correlation: the messages and flows of a capture grouped into what a support engineer reasons
//! about — calls (SIP dialogs with their transactions and outcome), RTP streams, STUN checks, TCP
//! connections and ICMP errors, non-INVITE transactions, registration bindings and the health of SIP
//! peer pairs — incrementally, as capture time passes ([`engine`]).
//!
//! Takes owned events in capture order (the pipeline's fold feeds them); produces owned model types
//! with no lifetimes, each call finalized with its evidence. Uses the `proto` parsers to turn bytes
//! into [`message::Message`]s; never reads capture files or decodes packets itself.

pub mod calls;
pub mod dialogs;
pub mod dns;
pub mod engine;
pub mod fax;
pub mod fields;
pub mod media;
pub mod message;
pub mod mos;
pub mod peers;
pub mod registrations;
pub mod rtp_stats;
pub mod slab;
#[cfg(test)]
pub(crate) mod testkit;
pub mod timeline;
pub mod transactions;
pub mod transport;
pub mod vantage;
