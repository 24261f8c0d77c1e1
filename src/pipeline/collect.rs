//! A [`Sink`] that keeps everything the engine finished, then puts it in report order into an
//! [`Analysis`] (the library's whole-capture result).

use crate::analysis::Analysis;
use crate::correlate::calls::OtherDialog;
use crate::correlate::engine::Counts;
use crate::correlate::media::Stream;
use crate::correlate::transport::Connection;
use crate::diagnose::{self, DiagnosedCall, Sink, TransportEvent};

/// Collects everything the engine finishes.
#[derive(Default)]
pub(crate) struct Collector {
    calls: Vec<DiagnosedCall>,
    others: Vec<OtherDialog>,
    streams: Vec<Stream>,
    connections: Vec<Connection>,
    events: Vec<TransportEvent>,
}

impl Sink for Collector {
    fn call(&mut self, call: DiagnosedCall) {
        self.calls.push(call);
    }
    fn other(&mut self, dialog: OtherDialog) {
        self.others.push(dialog);
    }
    fn stream(&mut self, stream: Stream) {
        self.streams.push(stream);
    }
    fn connection(&mut self, conn: Connection) {
        self.connections.push(conn);
    }
    fn transport_event(&mut self, event: TransportEvent) {
        self.events.push(event);
    }
}

impl Collector {
    /// Puts what was collected into `analysis`, in report order.
    pub(crate) fn into_analysis(mut self, analysis: &mut Analysis, counts: Counts) {
        self.calls.sort_by_key(|d| d.index);
        self.others.sort_by_key(|o| o.first_frame);
        self.streams
            .sort_by_key(|s| (s.first_frame, s.src, s.dst, s.ssrc));
        self.connections.sort_by_key(|c| c.first_frame);
        self.events.sort_by_key(|e| (e.first_frame, e.code));
        let failovers: Vec<_> = self
            .calls
            .iter()
            .filter_map(|d| d.failover.clone().map(|f| (d.index, f)))
            .collect();
        analysis.diagnosis.patterns = diagnose::patterns(&failovers);
        for d in self.calls {
            analysis.calls.push(d.call);
            analysis.diagnosis.calls.push(d.findings);
            analysis.evidence.push(d.evidence);
        }
        analysis.other_dialogs = self.others;
        analysis.streams = self.streams;
        analysis.connections = self.connections;
        analysis.diagnosis.transport_events = self.events;
        analysis.sip = counts.sip;
        analysis.limits.untracked_rtp_packets = counts.untracked_rtp_packets;
        analysis.limits.untracked_udptl_packets = counts.untracked_udptl_packets;
        analysis.limits.untracked_tcp_segments = counts.untracked_tcp_segments;
        analysis.limits.untracked_icmp = counts.untracked_icmp;
        analysis.limits.out_of_order = counts.out_of_order;
        analysis.vantage = counts.vantage;
    }
}
