//! Which transport evidence goes on a call's ladder: the TCP connections and ICMP errors tied to it.
//!
//! This is selection, not drawing, and it sits here only until the model carries each call's
//! evidence (computed once in `diagnose`); then the ladder reads that and this file goes away.

use std::collections::BTreeSet;

use crate::analysis::Analysis;
use crate::correlate::media::Stream;
use crate::correlate::transport::{Connection, IcmpError};
use crate::diagnose::TransportEvent;
use crate::report::words::call_streams;

/// The TCP connections tied to a call: those of transport events that explain it, and those that
/// carried its SIP and opened while it lasted.
pub(super) fn call_connections<'a>(
    analysis: &'a Analysis,
    i: usize,
    events: &[&TransportEvent],
) -> Vec<&'a Connection> {
    let call = &analysis.calls[i];
    let event_frames: BTreeSet<u64> = events
        .iter()
        .filter(|e| e.proto.is_connection())
        .flat_map(|e| e.frames.iter().copied())
        .collect();
    let on_hop = |c: &Connection| {
        call.hops
            .iter()
            .any(|&(a, b)| (a, b) == (c.client, c.server) || (b, a) == (c.client, c.server))
    };
    let window = (
        call.start_ts_ns.saturating_sub(5_000_000_000),
        call.end_ts_ns,
    );
    analysis
        .connections
        .iter()
        .filter(|c| {
            let tied = c.evidence_frames().iter().any(|f| event_frames.contains(f));
            let own = on_hop(c)
                && c.syns
                    .first()
                    .is_some_and(|s| s.ts_ns >= window.0 && s.ts_ns <= window.1);
            tied || own
        })
        .take(16)
        .collect()
}

/// ICMP errors tied to a call: named by a transport event that explains it, or quoting the call's
/// SIP or RTP while it lasted.
pub(super) fn call_icmp<'a>(
    analysis: &'a Analysis,
    i: usize,
    events: &[&TransportEvent],
) -> Vec<&'a IcmpError> {
    let call = &analysis.calls[i];
    let event_frames: BTreeSet<u64> = events
        .iter()
        .flat_map(|e| e.frames.iter().copied())
        .collect();
    let from = call.start_ts_ns.saturating_sub(1_000_000_000);
    let to = call.end_ts_ns.saturating_add(5_000_000_000);
    let streams: Vec<&Stream> = call_streams(analysis, i).collect();
    analysis
        .icmp_errors
        .iter()
        .filter(|e| {
            let in_time = e.ts_ns >= from && e.ts_ns <= to;
            let sip = e.quoted_sip && call.hops.contains(&(e.src, e.dst));
            let rtp = streams.iter().any(|s| (s.src, s.dst) == (e.src, e.dst));
            event_frames.contains(&e.frame) || (in_time && (sip || rtp))
        })
        .take(64)
        .collect()
}
