//! The sequential fold: chunk outputs in, in capture order; the order-dependent stages fed from them.
//!
//! Numbers frames, checks chunk boundaries (see `super::analyze`), and hands each event to its stage:
//! IP defragmentation (reassembled datagrams are classified like any other), TCP reassembly of
//! SIP-carrying connections, the TLS stage (`decrypt`: handshakes, and with keys the SIP inside, parsed
//! as transport TLS), the TCP connection table, call building, and media streams. What the engine
//! finishes is diagnosed as it goes and gathered, for the caller to take after each chunk
//! ([`Fold::finished`]) and render elsewhere (`render`); the fold writes no report itself.

use std::net::SocketAddr;
use std::sync::Arc;

use rustc_hash::FxHashMap;

use super::chunk::{self, Event, Kind};
use super::render::{Batch, Bounded};
use crate::analysis::{CaptureSummary, Summary};
use crate::capture::{CaptureFile, State, Warning};
use crate::correlate::engine::Engine;
use crate::correlate::message::{self, Message, Transport};
use crate::correlate::slab::Key;
use crate::correlate::transport::{self, connection_key};
use crate::decode::defrag::{Defragmenter, Limits, Truncated};
use crate::decode::{TcpFlags, L4};
use crate::decrypt::{self, Decryptor};
use crate::diagnose::{Diagnoser, Patterns};
use crate::proto::sip;
use crate::reassembly::{self, Reassembler, Segment};

/// How long a fragment set holding its first fragment may go without a further fragment before that
/// fragment's datagram is read as truncated (`defrag::Limits::head_wait_ns`): the fragments of one
/// datagram leave the sender back to back. Below the engine's one-second tolerance for events behind
/// its clock (the truncated message has its latest fragment's time), so it is never counted out of
/// order.
const FRAGMENT_HEAD_WAIT_NS: i64 = 200_000_000;

/// How often idle SIP connections are swept out, in capture time.
const SWEEP_NS: i64 = 30_000_000_000;

/// The capture's warning about fragment sets that never completed, `truncated` of which held their
/// first fragment (read as a truncated datagram).
fn incomplete_sets_warning(sets: u64, truncated: u64) -> String {
    let head = format!("{sets} IP fragment set(s) never completed");
    match (truncated, sets.saturating_sub(truncated)) {
        (0, _) => format!("{head}; their datagrams are not analysed"),
        (t, 0) => format!("{head}; the first fragment of each ({t}) was read as a truncated datagram"),
        (t, rest) => format!(
            "{head}; the first fragments of {t} were read as truncated datagrams, the other {rest} are not analysed"
        ),
    }
}

/// Folds chunk outputs in capture order.
pub(super) struct Fold {
    /// What the run found besides its items (captures, counts).
    summary: Summary,
    /// The file being read.
    current: CaptureSummary,
    /// Where the next chunk must start, and in which state.
    next: (usize, State),
    /// Frames numbered so far, across files.
    frames: u64,
    defrag: Defragmenter,
    /// TCP connections (either direction) seen carrying SIP, with the time of their last segment.
    sip_flows: FxHashMap<(SocketAddr, SocketAddr), i64>,
    /// When idle SIP connections were last swept out.
    swept_ns: i64,
    reassembler: Reassembler,
    /// TLS connections: handshakes read, records decrypted with the keys given.
    tls: Decryptor,
    engine: Engine,
    /// Diagnoses what the engine finishes, and gathers it until the caller takes it.
    diagnoser: Diagnoser,
    /// Per flow of the chunk being folded: the SSRC and stream key of its last RTP packet.
    stream_cache: Vec<Option<(u32, Key)>>,
    /// Where HEP1/2 is recognised in reassembled datagrams (as in the chunks).
    hep_ports: Vec<u16>,
}

/// Combines two optional values with `pick` (min or max), keeping whichever is present.
fn pick_some(a: Option<i64>, b: Option<i64>, pick: fn(i64, i64) -> i64) -> Option<i64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(pick(a, b)),
        (a, b) => a.or(b),
    }
}

impl Fold {
    /// A fold numbering frames from `options.first_frame`, with its limits, HEP ports and TLS keys.
    pub(super) fn new(options: &super::Options) -> Fold {
        let (first_frame, limits) = (options.first_frame, options.limits);
        let hep_ports = options.hep_ports.clone();
        Fold {
            summary: Summary::default(),
            current: CaptureSummary::default(),
            next: (0, State::Pcap),
            frames: first_frame.saturating_sub(1),
            defrag: Defragmenter::new(Limits {
                head_wait_ns: Some(FRAGMENT_HEAD_WAIT_NS),
                ..Limits::default()
            }),
            sip_flows: FxHashMap::default(),
            swept_ns: i64::MIN,
            reassembler: Reassembler::new(reassembly::Limits::default()),
            tls: Decryptor::new((*options.tls_keys).clone(), decrypt::Limits::default()),
            engine: Engine::new(limits),
            diagnoser: Diagnoser::default(),
            stream_cache: Vec::new(),
            hep_ports,
        }
    }

    pub(super) fn begin_file(&mut self, file: &CaptureFile) {
        self.current = CaptureSummary {
            path: file.path.clone(),
            format: file.format.name(),
            gzip: file.gzip,
            bytes: file.len() as u64,
            first_frame: self.frames + 1,
            ..CaptureSummary::default()
        };
        for warning in &file.open_warnings {
            self.current.warn(warning.clone());
        }
        for log in &file.tls_key_logs {
            for message in self.tls.add_keylog(log, "pcapng Decryption Secrets Block") {
                self.current.warn(Warning { offset: 0, message });
            }
        }
        self.next = file.first();
    }

    /// Begins a live capture named `label` (frames come in batches, see `live`).
    pub(super) fn begin_live(&mut self, label: &str) {
        self.current = CaptureSummary {
            path: label.to_string(),
            format: "live",
            first_frame: self.frames + 1,
            ..CaptureSummary::default()
        };
    }

    /// Moves the capture clock to `now_ns` without a packet (a live capture gone quiet).
    pub(super) fn tick(&mut self, now_ns: i64) {
        self.defrag.tick(now_ns);
        self.truncated_datagrams();
        self.engine.advance(now_ns, &mut self.diagnoser);
    }

    /// What was finished (and diagnosed) since the last call, in order.
    pub(super) fn finished(&mut self) -> Batch {
        self.diagnoser.take()
    }

    /// Where the next chunk must start, and the reading state there.
    pub(super) fn resume_point(&self) -> (usize, State) {
        self.next.clone()
    }

    /// Folds one chunk's output; gives back its (emptied) event buffer for reuse.
    pub(super) fn absorb(&mut self, mut output: chunk::Output) -> Vec<Event> {
        let base = self.frames;
        let cur = &mut self.current;
        cur.packets += output.frames;
        cur.captured_bytes += output.captured_bytes;
        if cur.format == "live" {
            cur.bytes += output.captured_bytes;
        }
        cur.first_ts_ns = pick_some(cur.first_ts_ns, output.first_ts_ns, i64::min);
        cur.last_ts_ns = pick_some(cur.last_ts_ns, output.last_ts_ns, i64::max);
        for link in output.link_types {
            if let Err(at) = cur.link_types.binary_search(&link) {
                cur.link_types.insert(at, link);
            }
        }
        cur.decode.add(&output.counts);
        for warning in output.read.warnings {
            cur.warn(warning);
        }
        for (reason, n) in output.sip_errors {
            *self.summary.sip_malformed.entry(reason).or_default() += n;
        }
        if let Some(ts) = output.first_frame_ts_ns {
            self.engine.start(ts);
        }
        self.stream_cache.clear();
        self.stream_cache.resize(output.flows.len(), None);
        let mut events = std::mem::take(&mut output.events);
        for event in events.drain(..) {
            self.dispatch(event, base + 1, &output.flows);
        }
        self.frames += output.frames;
        self.next = (output.read.next, output.read.end_state);
        events
    }

    /// Hands one event to its stage; `offset` turns the event's frame references into frame numbers.
    fn dispatch(&mut self, event: Event, offset: u64, flows: &[(SocketAddr, SocketAddr)]) {
        let frame = event.local + offset;
        let ts = event.ts_ns;
        // Datagrams whose fragments stopped coming go first, at most the head wait behind the clock.
        self.defrag.tick(ts);
        self.truncated_datagrams();
        self.engine.advance(ts, &mut self.diagnoser);
        let flow = |i: u32| flows.get(i as usize).copied();
        match event.kind {
            Kind::Sip(mut shared, sender) => {
                // Not shared yet: the chunk made it.
                let msg = Arc::make_mut(&mut shared);
                for f in &mut msg.frames {
                    *f += offset;
                }
                msg.frame += offset;
                if let Some(sender) = sender {
                    self.engine.sender(msg.src.ip(), sender.ttl, sender.mac);
                }
                self.sip_message(shared);
            }
            Kind::Tcp {
                flow: i,
                seq,
                flags,
                len,
                payload,
            } => {
                if let Some((src, dst)) = flow(i) {
                    self.engine
                        .segment(frame, ts, src, dst, flags.0, len as usize);
                    self.tcp_segment(frame, ts, src, dst, seq, flags, &payload);
                }
            }
            Kind::Udptl { flow: i, packet } => {
                if let Some((src, dst)) = flow(i) {
                    self.engine.udptl(frame, ts, src, dst, packet);
                }
            }
            Kind::Rtp {
                flow: i,
                ssrc,
                seq,
                rtp_ts,
                pt,
                marker,
                len,
                udptl,
            } => {
                // Bytes that read as both are UDPTL where an SDP announced it (T.38 fax).
                if let (Some(packet), Some((src, dst))) = (udptl, flow(i)) {
                    if self.engine.udptl(frame, ts, src, dst, packet) {
                        return;
                    }
                }
                // Most flows carry one SSRC: remember its stream per chunk flow, so a packet costs
                // an array index instead of hashing two socket addresses.
                let cached = self.stream_cache.get(i as usize).copied().flatten();
                let stream = match cached {
                    Some((cached_ssrc, id)) if cached_ssrc == ssrc => Some(id),
                    _ => flow(i).and_then(|(src, dst)| {
                        let id = self.engine.stream(frame, ts, src, dst, ssrc, pt)?;
                        if let Some(slot) = self.stream_cache.get_mut(i as usize) {
                            *slot = Some((ssrc, id));
                        }
                        Some(id)
                    }),
                };
                self.engine
                    .rtp(stream, frame, ts, seq, rtp_ts, marker, pt, usize::from(len));
            }
            Kind::Rtcp(blocks) => self.engine.rtcp(frame, ts, &blocks),
            Kind::Stun { flow: i, class } => {
                if let Some((src, dst)) = flow(i) {
                    self.engine.stun(frame, ts, src, dst, class);
                }
            }
            Kind::Dns {
                flow: i,
                transport,
                msg,
            } => {
                if let Some(ends) = flow(i) {
                    self.engine.dns(frame, ts, ends, transport, &msg);
                }
            }
            Kind::Icmp(mut error) => {
                error.frame = frame;
                self.diagnoser.icmp_error((*error).clone());
                self.engine.icmp(*error);
            }
            Kind::Fragment(frag) => {
                let datagram = self.defrag.push(ts, frame, &frag.ip, &frag.as_fragment());
                // A set evicted to make room for this fragment hands its head on first.
                self.truncated_datagrams();
                if let Some(datagram) = datagram {
                    self.current.decode.reassembled += 1;
                    let packet = datagram.decode();
                    chunk::count_l4(&mut self.current.decode, &packet.l4);
                    if let L4::Udp(udp) = packet.l4 {
                        // Classified like any datagram; its events already carry frame numbers.
                        let mut kinds = Vec::new();
                        let mut table = chunk::Flows::default();
                        let whole = chunk::Datagram {
                            payload: udp.payload,
                            frames: &datagram.frames,
                            ts_ns: ts,
                            src: SocketAddr::new(datagram.ip.src, udp.src_port),
                            dst: SocketAddr::new(datagram.ip.dst, udp.dst_port),
                            sender: chunk::Sender {
                                ttl: datagram.ip.ttl,
                                mac: None,
                            },
                        };
                        let mut sinks = chunk::Sinks {
                            flows: &mut table,
                            sip_errors: &mut self.summary.sip_malformed,
                            counts: &mut self.current.decode,
                        };
                        chunk::udp_payload(&whole, &self.hep_ports, &mut sinks, &mut |kind| {
                            kinds.push(kind)
                        });
                        let flows = table.into_list();
                        // The datagram's events index its own small flow table, not the chunk's.
                        let chunk_cache = std::mem::take(&mut self.stream_cache);
                        self.stream_cache.resize(flows.len(), None);
                        for kind in kinds {
                            self.dispatch(
                                Event {
                                    local: frame,
                                    ts_ns: ts,
                                    kind,
                                },
                                0,
                                &flows,
                            );
                        }
                        self.stream_cache = chunk_cache;
                    }
                }
            }
        }
    }

    /// Reads the datagrams the defragmenter gave up on: one whose first fragment carried the head of a
    /// SIP message over UDP is that message, cut short ([`sip::parse_head`]); anything else in them
    /// is not analysed (counted as incomplete sets).
    fn truncated_datagrams(&mut self) {
        if !self.defrag.has_truncated() {
            return;
        }
        for Truncated { datagram, ts_ns } in self.defrag.take_truncated() {
            let packet = datagram.decode();
            let L4::Udp(udp) = packet.l4 else {
                continue;
            };
            if !sip::looks_like_sip(udp.payload) {
                continue;
            }
            let (src, dst) = (
                SocketAddr::new(datagram.ip.src, udp.src_port),
                SocketAddr::new(datagram.ip.dst, udp.dst_port),
            );
            match sip::parse_head(udp.payload) {
                Ok(head) => {
                    let mut msg = Message::from_sip(
                        &head,
                        datagram.frames.clone(),
                        ts_ns,
                        src,
                        dst,
                        Transport::Udp,
                    );
                    // The body is cut at an arbitrary byte: what SDP it had is unknown, not what is left.
                    msg.sdp = None;
                    msg.lost_fragments = true;
                    self.engine.sender(src.ip(), datagram.ip.ttl, None);
                    self.sip_message(Arc::new(msg));
                }
                Err(err) => *self.summary.sip_malformed.entry(err.code()).or_default() += 1,
            }
        }
    }

    /// A SIP message, from any transport.
    fn sip_message(&mut self, msg: Arc<Message>) {
        self.engine.sip(msg);
    }

    /// Feeds a TCP segment to reassembly when its connection carries SIP, or to the TLS stage when
    /// it carries TLS records.
    #[allow(clippy::too_many_arguments)]
    fn tcp_segment(
        &mut self,
        frame: u64,
        ts_ns: i64,
        src: SocketAddr,
        dst: SocketAddr,
        seq: u32,
        flags: TcpFlags,
        payload: &[u8],
    ) {
        let key = connection_key(src, dst);
        let mut framed = Vec::new();
        let mut tls_out = Vec::new();
        self.sweep(ts_ns, &mut |m| framed.push(m), &mut |o| tls_out.push(o));
        let segment = Segment {
            src,
            dst,
            frame,
            ts_ns,
            seq,
            syn: flags.contains(TcpFlags::SYN),
            payload,
        };
        let (fin, rst) = (flags.contains(TcpFlags::FIN), flags.contains(TcpFlags::RST));
        let plain_sip = self.sip_flows.contains_key(&key);
        if !plain_sip
            && self
                .tls
                .segment(segment, fin, rst, &mut |o| tls_out.push(o))
        {
            self.deliver(framed, tls_out);
            return;
        }
        if sip::looks_like_sip(payload) && !plain_sip {
            self.sip_flows.insert(key, ts_ns);
            self.engine.mark_sip(src, dst);
        }
        if let Some(last) = self.sip_flows.get_mut(&key) {
            *last = (*last).max(ts_ns);
            let mut deliver = |m: reassembly::Message| framed.push(m);
            self.reassembler.segment(segment, &mut deliver);
            if rst {
                self.reassembler.close(src, dst, &mut deliver);
                self.reassembler.close(dst, src, &mut deliver);
                self.sip_flows.remove(&key);
            } else if fin {
                self.reassembler.close(src, dst, &mut deliver);
            }
        }
        self.deliver(framed, tls_out);
    }

    /// Hands what reassembly and the TLS stage produced to the engine, in that order.
    fn deliver(&mut self, framed: Vec<reassembly::Message>, tls: Vec<decrypt::Output>) {
        for m in framed {
            self.tcp_message(m, Transport::Tcp);
        }
        for o in tls {
            match o {
                decrypt::Output::Tls {
                    frame,
                    ts_ns,
                    src,
                    dst,
                    event,
                } => self.engine.tls(frame, ts_ns, src, dst, event),
                decrypt::Output::Sip(m) => {
                    self.engine.mark_sip(m.src, m.dst);
                    self.tcp_message(m, Transport::Tls);
                }
            }
        }
    }

    /// Every [`SWEEP_NS`] of capture time: forgets the SIP connections silent for longer than
    /// [`transport::CONN_IDLE_NS`] and closes their reassembly, so both follow the connections open
    /// at a time.
    fn sweep(
        &mut self,
        now_ns: i64,
        deliver: &mut dyn FnMut(reassembly::Message),
        tls: &mut dyn FnMut(decrypt::Output),
    ) {
        if now_ns < self.swept_ns.saturating_add(SWEEP_NS) {
            return;
        }
        self.swept_ns = now_ns;
        let before = now_ns.saturating_sub(transport::CONN_IDLE_NS);
        self.sip_flows.retain(|_, last| *last >= before);
        self.reassembler.expire(before, deliver);
        self.tls.expire(before, tls);
    }

    /// Parses a SIP message framed out of a TCP stream (or out of decrypted TLS records).
    fn tcp_message(&mut self, m: reassembly::Message, transport: Transport) {
        if m.bytes.iter().all(|&b| b == b'\r' || b == b'\n') {
            let frame = m.frames.last().copied().unwrap_or_default();
            self.engine
                .crlf(frame, m.ts_ns, m.src, m.dst, &m.bytes, transport);
            return;
        }
        let mut parsed = Vec::new();
        Message::parse_all(
            &m.bytes,
            &m.frames,
            m.ts_ns,
            m.src,
            m.dst,
            transport,
            &mut self.summary.sip_malformed,
            &mut |msg| parsed.push(msg),
        );
        for msg in parsed {
            if transport == Transport::Tls {
                let uri = match &msg.kind {
                    message::Kind::Request { uri, .. } => Some(uri.as_str()),
                    message::Kind::Response { .. } => None,
                };
                self.engine.tls_sip(msg.src, msg.dst, uri);
            }
            self.sip_message(Arc::new(msg));
        }
    }

    pub(super) fn end_file(&mut self) {
        let done = std::mem::take(&mut self.current);
        self.summary.captures.push(done);
    }

    /// Finalizes everything still open, handing what that finished to `send` in bounded batches
    /// (the last one too); returns the run's summary, its patterns left to the delivery, with the
    /// failovers of the calls the fold diagnosed ([`Delivery::patterns`](crate::diagnose::Delivery)).
    pub(super) fn finish(mut self, send: impl FnMut(Batch)) -> (Summary, Patterns) {
        self.defrag.close();
        self.truncated_datagrams();
        let mut framed = Vec::new();
        self.reassembler.finish(&mut |m| framed.push(m));
        let mut tls = Vec::new();
        self.tls.finish(&mut |o| tls.push(o));
        self.deliver(framed, tls);
        let mut bounded = Bounded {
            diagnoser: &mut self.diagnoser,
            send,
        };
        let counts = self.engine.finish(&mut bounded);
        let mut send = bounded.send;
        let mut summary = self.summary;
        summary.tcp_reassembly = self.reassembler.stats;
        summary.tls = self.tls.stats.clone();
        summary.sip = counts.sip;
        let limits = &mut summary.limits;
        limits.untracked_rtp_packets = counts.untracked_rtp_packets;
        limits.untracked_dns_queries = counts.untracked_dns_queries;
        limits.untracked_transactions = counts.untracked_transactions;
        limits.untracked_registrations = counts.untracked_registrations;
        limits.early_peer_rows = counts.early_peer_rows;
        limits.untracked_keepalive_pings = counts.untracked_keepalive_pings;
        limits.untracked_udptl_packets = counts.untracked_udptl_packets;
        limits.untracked_tcp_segments = counts.untracked_tcp_segments;
        limits.untracked_icmp = counts.untracked_icmp;
        limits.out_of_order = counts.out_of_order;
        limits.peak_open_call_ids = counts.peaks.call_ids;
        limits.peak_open_streams = counts.peaks.streams;
        limits.peak_open_connections = counts.peaks.connections;
        summary.vantage = counts.vantage;
        let report = self.defrag.finish();
        if let Some(last) = summary.captures.last_mut() {
            last.decode.incomplete_fragment_sets += report.incomplete_sets;
            if report.incomplete_sets > 0 {
                last.warn(Warning {
                    offset: 0,
                    message: incomplete_sets_warning(report.incomplete_sets, report.truncated),
                });
            }
        }
        send(self.diagnoser.take());
        (summary, self.diagnoser.take_patterns())
    }
}
