//! The result of analysing a capture: plain data that the renderers in `report` format, collected
//! ([`Analysis`]) or handed to an [`Output`] as the capture is read.
//!
//! Built by `pipeline`; holds no borrowed capture bytes, so it outlives the mapped files.
//! Times are nanoseconds since the Unix epoch (UTC); counts are exact.
//! The types here only carry what the stages found ([`link_type_name`] only looks a name up); what is
//! computed from the finished calls for every renderer alike sits beside them: which calls are
//! reported ([`filter`]), their failure patterns ([`patterns`]) and timeline ([`timeline`]), gathered
//! into the run's [`Overview`] by [`Reporting`], the output in front of every renderer.

use std::collections::BTreeMap;
use std::io;

use crate::capture::Warning;
use crate::correlate::calls::{OtherDialog, SipStats};
use crate::correlate::dns::Lookup;
use crate::correlate::media::Stream;
use crate::correlate::peers::Peer;
use crate::correlate::registrations::Registration;
use crate::correlate::transactions::Transaction;
use crate::correlate::transport::{Connection, IcmpError};

use crate::correlate::vantage::Vantage;
use crate::decrypt;
use crate::diagnose::{Diagnosed, DiagnosedCall, Pattern, Sink, TransportEvent};
use crate::reassembly;

pub mod durations;
pub mod filter;
pub mod overview;
pub mod patterns;
mod reporting;
pub mod timeline;

pub use filter::Filter;
pub use overview::Overview;
pub use reporting::Reporting;

/// Everything callscope found in one run over one or more capture files, collected (see
/// [`Output`] for a run written out as it goes instead).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Analysis {
    /// One entry per input file, in the order their packets were merged (by first timestamp).
    pub captures: Vec<CaptureSummary>,
    /// SIP calls (INVITE dialogs) with their findings and evidence, in the order of their first
    /// INVITE.
    pub calls: Vec<DiagnosedCall>,
    /// Call-IDs without an INVITE (REGISTER, OPTIONS, SUBSCRIBE, ...), by first frame.
    pub other_dialogs: Vec<OtherDialog>,
    /// SIP message counts as `tshark -z sip,stat` gives them.
    pub sip: SipStats,
    /// Malformed SIP messages, by reason.
    pub sip_malformed: BTreeMap<&'static str, u64>,
    /// What TCP reassembly of SIP connections had to repair or drop.
    pub tcp_reassembly: reassembly::Stats,
    /// TLS connections and how their decryption went.
    pub tls: decrypt::Stats,
    /// Every TCP connection, by first frame.
    pub connections: Vec<Connection>,
    /// ICMP errors quoting a packet, in capture order.
    pub icmp_errors: Vec<IcmpError>,
    /// RTP streams (signalled by SDP, or steady enough to be RTP), by first frame.
    pub streams: Vec<Stream>,
    /// Transport failures (TCP, TLS, ICMP) with the calls they explain, by first frame.
    pub transport_events: Vec<TransportEvent>,
    /// Non-INVITE transactions of the methods reported as themselves (SUBSCRIBE, NOTIFY, MESSAGE,
    /// REFER, PRACK, INFO, UPDATE, PUBLISH, ...), with their findings, by first frame.
    pub transactions: Vec<Diagnosed<Transaction>>,
    /// Registration bindings (address-of-record + Contact) with their findings, by first REGISTER.
    pub registrations: Vec<Diagnosed<Registration>>,
    /// SIP peer pairs (client host → server endpoint) with their keep-alive findings, by client then
    /// server.
    pub peers: Vec<Diagnosed<Peer>>,
    /// DNS lookups that failed and explained no call (`dns.failed`), by first query.
    pub dns_failures: Vec<Diagnosed<Lookup>>,
    /// Causes several calls share, in the order of their first call.
    pub patterns: Vec<Pattern>,
    /// What the memory limits left out.
    pub limits: LimitHits,
    /// Calls a [`Filter`] left out of the report.
    pub filtered_calls: u64,
    /// What the capture point could see (hosts on its path, RTP or not), over the whole capture.
    pub vantage: Vantage,
}

/// What a run found besides its calls, streams and events: known once the capture has been read.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Summary {
    pub captures: Vec<CaptureSummary>,
    pub sip: SipStats,
    pub sip_malformed: BTreeMap<&'static str, u64>,
    pub tcp_reassembly: reassembly::Stats,
    pub tls: decrypt::Stats,
    pub limits: LimitHits,
    /// Calls a [`Filter`] left out of the report.
    pub filtered_calls: u64,
    /// The reported calls' patterns and timeline.
    pub overview: Overview,
    /// Causes several calls share (failovers from one dead target), in the order of their first
    /// call.
    pub patterns: Vec<Pattern>,
    pub vantage: Vantage,
}

/// Where a run's results go as the capture is read: each call as it is finalized, each stream,
/// connection, transport event and other dialog as it is let go (in that order, which is the
/// capture's, not the report's), each ICMP error as it is seen, then the [`Summary`].
pub trait Output: Sink + Send {
    fn icmp_error(&mut self, error: &IcmpError);
    /// The run is over: write what is left.
    fn finish(&mut self, summary: Summary) -> io::Result<()>;
}

impl<T: Output + ?Sized> Output for &mut T {
    fn icmp_error(&mut self, error: &IcmpError) {
        (**self).icmp_error(error);
    }
    fn finish(&mut self, summary: Summary) -> io::Result<()> {
        (**self).finish(summary)
    }
}

/// Several outputs fed the same run (text, JSON and HTML at once).
pub struct Tee<'a>(pub Vec<&'a mut dyn Output>);

impl Sink for Tee<'_> {
    fn call(&mut self, call: &DiagnosedCall) {
        self.0.iter_mut().for_each(|o| o.call(call));
    }
    fn other(&mut self, dialog: &OtherDialog) {
        self.0.iter_mut().for_each(|o| o.other(dialog));
    }
    fn stream(&mut self, stream: &Stream) {
        self.0.iter_mut().for_each(|o| o.stream(stream));
    }
    fn connection(&mut self, conn: &Connection) {
        self.0.iter_mut().for_each(|o| o.connection(conn));
    }
    fn transport_event(&mut self, event: &TransportEvent) {
        self.0.iter_mut().for_each(|o| o.transport_event(event));
    }
    fn transaction(&mut self, tx: &Diagnosed<Transaction>) {
        self.0.iter_mut().for_each(|o| o.transaction(tx));
    }
    fn registration(&mut self, reg: &Diagnosed<Registration>) {
        self.0.iter_mut().for_each(|o| o.registration(reg));
    }
    fn peer(&mut self, peer: &Diagnosed<Peer>) {
        self.0.iter_mut().for_each(|o| o.peer(peer));
    }
    fn dns_failure(&mut self, lookup: &Diagnosed<Lookup>) {
        self.0.iter_mut().for_each(|o| o.dns_failure(lookup));
    }
}

impl Output for Tee<'_> {
    fn icmp_error(&mut self, error: &IcmpError) {
        self.0.iter_mut().for_each(|o| o.icmp_error(error));
    }
    fn finish(&mut self, summary: Summary) -> io::Result<()> {
        for o in &mut self.0 {
            o.finish(summary.clone())?;
        }
        Ok(())
    }
}

impl Sink for Analysis {
    fn call(&mut self, call: &DiagnosedCall) {
        self.calls.push(call.clone());
    }
    fn other(&mut self, dialog: &OtherDialog) {
        self.other_dialogs.push(dialog.clone());
    }
    fn stream(&mut self, stream: &Stream) {
        self.streams.push(stream.clone());
    }
    fn connection(&mut self, conn: &Connection) {
        self.connections.push(conn.clone());
    }
    fn transport_event(&mut self, event: &TransportEvent) {
        self.transport_events.push(event.clone());
    }
    fn transaction(&mut self, tx: &Diagnosed<Transaction>) {
        self.transactions.push(tx.clone());
    }
    fn registration(&mut self, reg: &Diagnosed<Registration>) {
        self.registrations.push(reg.clone());
    }
    fn peer(&mut self, peer: &Diagnosed<Peer>) {
        self.peers.push(peer.clone());
    }
    fn dns_failure(&mut self, lookup: &Diagnosed<Lookup>) {
        self.dns_failures.push(lookup.clone());
    }
}

/// Collecting: everything is kept, then put in report order.
impl Output for Analysis {
    fn icmp_error(&mut self, error: &IcmpError) {
        self.icmp_errors.push(error.clone());
    }
    fn finish(&mut self, summary: Summary) -> io::Result<()> {
        self.calls.sort_by_key(|c| c.index);
        self.other_dialogs.sort_by_key(|o| o.first_frame);
        self.streams
            .sort_by_key(|s| (s.first_frame, s.src, s.dst, s.ssrc));
        self.connections.sort_by_key(|c| c.first_frame);
        self.transport_events
            .sort_by_key(|e| (e.first_frame, e.code));
        self.transactions.sort_by_key(|t| t.request.frame);
        self.registrations.sort_by_key(|r| r.first.frame);
        self.peers.sort_by_key(|p| p.first_frame);
        self.dns_failures.sort_by_key(|l| l.first_frame());
        self.captures = summary.captures;
        self.sip = summary.sip;
        self.sip_malformed = summary.sip_malformed;
        self.tcp_reassembly = summary.tcp_reassembly;
        self.tls = summary.tls;
        self.limits = summary.limits;
        self.filtered_calls = summary.filtered_calls;
        self.patterns = summary.patterns;
        self.vantage = summary.vantage;
        Ok(())
    }
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
    /// DNS queries beyond the open lookups' limit (`correlate::dns::Limits`).
    pub untracked_dns_queries: u64,
    /// Non-INVITE requests (OPTIONS, SUBSCRIBE, MESSAGE, ...) beyond the open transactions' limit
    /// (`correlate::transactions::Limits`): counted, not followed to their response.
    pub untracked_transactions: u64,
    /// REGISTERs of bindings beyond the open bindings' limit (`correlate::registrations::Limits`):
    /// counted, not followed.
    pub untracked_registrations: u64,
    /// Rows of the SIP peer table handed out before their pair went quiet, to make room for another
    /// pair (`correlate::peers::Limits::pairs`): such a pair may be listed in more than one row.
    pub early_peer_rows: u64,
    /// Keep-alive pings beyond the limit on pings waiting for their pong (`correlate::peers::Limits::pings`),
    /// not followed.
    pub untracked_keepalive_pings: u64,
    /// Packets whose timestamp was more than a second before the latest seen (unsorted or merged
    /// captures): analysed in the order they came.
    pub out_of_order: u64,
    /// The most Call-IDs, RTP streams and TCP connections open at once (memory follows these).
    pub peak_open_call_ids: usize,
    pub peak_open_streams: usize,
    pub peak_open_connections: usize,
}

impl Analysis {
    /// The call a user named by its 1-based index in the call list or by its Call-ID.
    pub fn find_call(&self, key: &str) -> Option<&DiagnosedCall> {
        let by_index = key.parse::<usize>().ok().and_then(|n| n.checked_sub(1));
        self.calls
            .iter()
            .find(|c| Some(c.index) == by_index)
            .or_else(|| self.calls.iter().find(|c| c.call_id == key))
    }

    /// Feeds the collected results, in report order, to an output (a renderer), with the overview
    /// of its calls.
    pub fn replay(&self, out: &mut dyn Output) -> io::Result<()> {
        let mut out = Reporting::new(&Filter::default(), out);
        self.calls.iter().for_each(|c| out.call(c));
        self.other_dialogs.iter().for_each(|d| out.other(d));
        self.streams.iter().for_each(|s| out.stream(s));
        self.connections.iter().for_each(|c| out.connection(c));
        self.transport_events
            .iter()
            .for_each(|e| out.transport_event(e));
        self.transactions.iter().for_each(|t| out.transaction(t));
        self.registrations.iter().for_each(|r| out.registration(r));
        self.peers.iter().for_each(|p| out.peer(p));
        self.dns_failures.iter().for_each(|l| out.dns_failure(l));
        self.icmp_errors.iter().for_each(|e| out.icmp_error(e));
        out.finish(self.summary())
    }

    /// The run's summary (captures, counts, limits, patterns, vantage).
    pub fn summary(&self) -> Summary {
        Summary {
            captures: self.captures.clone(),
            sip: self.sip.clone(),
            sip_malformed: self.sip_malformed.clone(),
            tcp_reassembly: self.tcp_reassembly.clone(),
            tls: self.tls.clone(),
            limits: self.limits.clone(),
            filtered_calls: self.filtered_calls,
            overview: Overview::default(),
            patterns: self.patterns.clone(),
            vantage: self.vantage.clone(),
        }
    }

    /// The overview of its calls (patterns, timeline), as its renderers see it.
    pub fn overview(&self) -> Overview {
        let mut overviewer = overview::Overviewer::default();
        self.calls.iter().for_each(|c| overviewer.add(c));
        overviewer.finish()
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
    /// HEP packets unwrapped (a proxy's or SBC's mirror of its traffic).
    pub hep: u64,
    /// What the HEP packets carried: `sip`, `rtp`, `rtcp`, `log`, `other`, `compressed` (not read),
    /// `malformed`, `split` (a HEP3 packet cut by a TCP segment's end, not read).
    pub hep_payloads: BTreeMap<&'static str, u64>,
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
        self.hep += other.hep;
        for (kind, n) in &other.hep_payloads {
            *self.hep_payloads.entry(*kind).or_default() += n;
        }
    }
}

/// The name of a pcap link type as reports show it: the decoder's short name (`ethernet`,
/// `linux-sll`, ...), `netmon-media-N` for a NetMon media type without a LINKTYPE, or `linktype-N`
/// for a type it does not read. Renderers take link types from here, so that `report` needs
/// nothing of `decode`.
pub fn link_type_name(link: u32) -> String {
    let netmon = crate::capture::NETMON_LINK;
    match crate::decode::LinkType(link).name() {
        Some(name) => name.to_string(),
        None if link >= netmon => format!("netmon-media-{}", link - netmon),
        None => format!("linktype-{link}"),
    }
}
