//! The result of analysing a capture: plain data that the renderers in `report` format.
//!
//! Built by `pipeline`; holds no borrowed capture bytes, so it outlives the mapped files.
//! Times are nanoseconds since the Unix epoch (UTC); counts are exact.
//! Nothing here parses or computes: the types only carry what the stages found ([`link_type_name`]
//! only looks a name up).

use std::collections::BTreeMap;

use crate::capture::Warning;
use crate::correlate::calls::{Call, OtherDialog, SipStats};
use crate::correlate::engine::Evidence;
use crate::correlate::media::Stream;
use crate::correlate::transport::{Connection, IcmpError};
use crate::correlate::vantage::Vantage;
use crate::diagnose::Diagnosis;
use crate::reassembly;

/// Everything callscope found in one run over one or more capture files.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Analysis {
    /// One entry per input file, in the order their packets were merged (by first timestamp).
    pub captures: Vec<CaptureSummary>,
    /// SIP calls (INVITE dialogs), in the order of their first INVITE.
    pub calls: Vec<Call>,
    /// Per call (same order): the evidence tied to it — its streams, STUN checks, the TCP
    /// connections and ICMP errors its diagnosis rests on or its ladder shows.
    pub evidence: Vec<Evidence>,
    /// Call-IDs without an INVITE (REGISTER, OPTIONS, SUBSCRIBE, ...), by first frame.
    pub other_dialogs: Vec<OtherDialog>,
    /// SIP message counts as `tshark -z sip,stat` gives them.
    pub sip: SipStats,
    /// Malformed SIP messages, by reason.
    pub sip_malformed: BTreeMap<&'static str, u64>,
    /// What TCP reassembly of SIP connections had to repair or drop.
    pub tcp_reassembly: reassembly::Stats,
    /// Every TCP connection, by first frame.
    pub connections: Vec<Connection>,
    /// ICMP errors quoting a packet, in capture order.
    pub icmp_errors: Vec<IcmpError>,
    /// RTP streams (signalled by SDP, or steady enough to be RTP), by first frame.
    pub streams: Vec<Stream>,
    /// Why calls failed: findings per call, transport events.
    pub diagnosis: Diagnosis,
    /// What the memory limits left out.
    pub limits: LimitHits,
    /// What the capture point could see (hosts on its path, RTP or not), over the whole capture.
    pub vantage: Vantage,
}

/// Counts of what a memory limit left out (zero unless a capture is enormous or hostile).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LimitHits {
    /// TCP segments of connections beyond the connection table's limit.
    pub untracked_tcp_segments: u64,
    /// RTP packets of streams beyond the stream limit.
    pub untracked_rtp_packets: u64,
    /// UDPTL (T.38 fax) packets of fax streams beyond the engine's limit.
    pub untracked_udptl_packets: u64,
    /// ICMP errors beyond the ICMP group limit.
    pub untracked_icmp: u64,
    /// Packets whose timestamp was more than a second before the latest seen (unsorted or merged
    /// captures): analysed in the order they came.
    pub out_of_order: u64,
}

impl Analysis {
    /// The call a user named by its 1-based index in the call list or by its Call-ID.
    pub fn find_call(&self, key: &str) -> Option<(usize, &Call)> {
        if let Ok(index) = key.parse::<usize>() {
            if let Some(call) = index.checked_sub(1).and_then(|i| self.calls.get(i)) {
                return Some((index, call));
            }
        }
        self.calls
            .iter()
            .enumerate()
            .find(|(_, c)| c.call_id == key)
            .map(|(i, c)| (i + 1, c))
    }

    /// Packets in all files.
    pub fn packets(&self) -> u64 {
        self.captures.iter().map(|c| c.packets).sum()
    }
}

/// What one capture file held.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CaptureSummary {
    /// The path as given on the command line.
    pub path: String,
    /// Container format: `pcap`, `pcap-ns` or `pcapng`.
    pub format: &'static str,
    /// Whether the file was gzip-compressed.
    pub gzip: bool,
    /// The link types its packets had (pcap LINKTYPE numbers), ascending.
    pub link_types: Vec<u32>,
    /// Packet records read.
    pub packets: u64,
    /// Size of the (decompressed) file in bytes.
    pub bytes: u64,
    /// Sum of the captured lengths of its packets.
    pub captured_bytes: u64,
    /// Timestamp of the earliest packet (as capinfos; files are not always in time order).
    pub first_ts_ns: Option<i64>,
    /// Timestamp of the latest packet.
    pub last_ts_ns: Option<i64>,
    /// Number of the first frame of this file in the merged numbering (1-based).
    pub first_frame: u64,
    /// What the decoder made of its packets.
    pub decode: DecodeCounts,
    /// Problems met while reading the file, in file order (at most [`MAX_WARNINGS`]).
    pub warnings: Vec<Warning>,
    /// Warnings beyond [`MAX_WARNINGS`] that were counted but not kept.
    pub warnings_dropped: u64,
}

/// Warnings kept per file; more are only counted.
pub const MAX_WARNINGS: usize = 100;

impl CaptureSummary {
    /// Time between the first and last packet, in nanoseconds.
    pub fn duration_ns(&self) -> Option<i64> {
        Some(self.last_ts_ns?.saturating_sub(self.first_ts_ns?))
    }

    /// Records a warning, keeping at most [`MAX_WARNINGS`].
    pub fn warn(&mut self, warning: Warning) {
        if self.warnings.len() < MAX_WARNINGS {
            self.warnings.push(warning);
        } else {
            self.warnings_dropped += 1;
        }
    }
}

/// Packet counts by what the decoder recognised.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DecodeCounts {
    /// Packets with an IPv4 header (the innermost one, after tunnels).
    pub ipv4: u64,
    /// Packets with an IPv6 header.
    pub ipv6: u64,
    /// UDP datagrams (including those rebuilt from fragments).
    pub udp: u64,
    /// TCP segments.
    pub tcp: u64,
    /// ICMP and ICMPv6 messages.
    pub icmp: u64,
    /// IP packets carrying another protocol.
    pub other_ip: u64,
    /// Packets with no IP layer (ARP, LLDP, ...).
    pub non_ip: u64,
    /// IP fragments seen.
    pub fragments: u64,
    /// Datagrams rebuilt from fragments.
    pub reassembled: u64,
    /// Fragment sets that never completed (or were evicted by the memory limits).
    pub incomplete_fragment_sets: u64,
    /// Packets cut short by the capture's snapshot length.
    pub snaplen_truncated: u64,
    /// Packets a frame filter (`--filter`) left out: numbered, not analysed.
    pub filtered_out: u64,
    /// Packets whose decoding stopped early, by reason.
    pub undecodable: BTreeMap<&'static str, u64>,
}

impl DecodeCounts {
    /// Adds another file's or chunk's counts to these.
    pub fn add(&mut self, other: &DecodeCounts) {
        self.ipv4 += other.ipv4;
        self.ipv6 += other.ipv6;
        self.udp += other.udp;
        self.tcp += other.tcp;
        self.icmp += other.icmp;
        self.other_ip += other.other_ip;
        self.non_ip += other.non_ip;
        self.fragments += other.fragments;
        self.reassembled += other.reassembled;
        self.incomplete_fragment_sets += other.incomplete_fragment_sets;
        self.snaplen_truncated += other.snaplen_truncated;
        self.filtered_out += other.filtered_out;
        for (reason, n) in &other.undecodable {
            *self.undecodable.entry(*reason).or_default() += n;
        }
    }
}

/// The name of a pcap link type as reports show it: the decoder's short name (`ethernet`,
/// `linux-sll`, ...), or `linktype-N` for a type it does not read. Renderers take link types from
/// here, so that `report` needs nothing of `decode`.
pub fn link_type_name(link: u32) -> String {
    crate::decode::LinkType(link)
        .name()
        .map(str::to_string)
        .unwrap_or_else(|| format!("linktype-{link}"))
}
