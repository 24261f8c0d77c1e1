//! Pure parsers of untrusted bytes: SIP, SDP, RTP, RTCP, STUN, TLS record sniffing, UDPTL (T.38 fax), DNS
//! and HEP (Homer's encapsulation of captured packets).
//!
//! Takes byte slices, returns borrowed views or owned summaries; knows nothing of flows, time or
//! calls, and imports nothing else of the crate, so every stage may use it. nom stays inside each
//! parser module; public functions return that module's own error type. No parser panics or
//! allocates without bound on any input.
//!
//! `bytes` (private) holds the bounds-checked big-endian reads the binary parsers (RTP, RTCP, STUN, TLS, HEP)
//! share.

mod bytes;
pub mod dns;
pub mod hep;
pub mod rtcp;
pub mod rtp;
pub mod sdp;
pub mod sip;
pub mod stun;
pub mod tls;
pub mod udptl;
