//! Finalization: a call that ended (plus its grace window) gathers its evidence once — its
//! streams, STUN checks, fax streams, the connections and ICMP groups it holds — hands it to the
//! [`Finisher`] and frees its state; streams and checks that settle are folded into their owner.

use super::*;

impl Engine {
    /// Closes an open stream now and settles it.
    pub(super) fn close_stream(&mut self, key: Key, out: &mut dyn Finisher) {
        if let Some(closed) = self.media.close(key) {
            self.settled_stream(key, closed, out);
        }
    }

    pub(super) fn settled_stream(&mut self, key: Key, closed: Closed, out: &mut dyn Finisher) {
        let Closed { src, dst, stream } = closed;
        for ep in [src, dst] {
            drop_key(&mut self.streams_at, ep, key);
        }
        drop_key(
            &mut self.streams_between,
            host_pair(src.ip(), dst.ip()),
            key,
        );
        let calls = self.stream_calls.remove(&key).unwrap_or_default();
        if let Some(stream) = stream {
            for call in calls {
                if let Some(open) = self.open.get_mut(&call) {
                    open.streams.retain(|k| *k != key);
                    open.settled_streams.push(stream.clone());
                }
            }
            out.stream(stream);
        }
    }

    pub(super) fn settled_stun(&mut self, key: Key, check: StunCheck) {
        for call in self.stun_calls.remove(&key).unwrap_or_default() {
            if let Some(open) = self.open.get_mut(&call) {
                open.stun.retain(|k| *k != key);
                open.settled_stun.push(check.clone());
            }
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Finalization

    pub(super) fn finalize(&mut self, key: Key, now: i64, out: &mut dyn Finisher) {
        // An answered call without BYE is up as long as its media flows.
        if let Some(End::Up(last_sip)) = self.dialogs.get(key).map(|g| g.progress.end()) {
            let last_media = self
                .open
                .get(&key)
                .map(|o| {
                    o.streams
                        .iter()
                        .filter_map(|&s| self.media.last_ts(s))
                        .max()
                        .unwrap_or(i64::MIN)
                })
                .unwrap_or(i64::MIN);
            let deadline = last_sip
                .max(last_media)
                .saturating_add(self.dialogs.idle_ns());
            if deadline > now {
                self.dialogs.postpone(key, deadline);
                return;
            }
        }
        self.finish_group(key, now, out);
    }

    pub(super) fn finish_group(&mut self, key: Key, now: i64, out: &mut dyn Finisher) {
        let Some(finished) = self.dialogs.finish(key, now) else {
            return;
        };
        let (index, call) = match finished {
            Finished::Other(d) => return out.other(d),
            Finished::Call { index, call } => (index, call),
        };
        let Some(open) = self.open.remove(&key) else {
            return;
        };
        self.peers.call(&call);
        for path in &open.paths {
            drop_key(&mut self.paths, *path, key);
        }
        for (host, _) in &open.next_hops {
            if let Some(list) = self.next_hops.get_mut(host) {
                list.retain(|(c, _)| *c != key);
                if list.is_empty() {
                    self.next_hops.remove(host);
                }
            }
        }
        if let Some((a, b)) = open.hosts {
            drop_key(&mut self.calls_between, host_pair(a, b), key);
        }
        for ep in &open.endpoints {
            if let Some(e) = self.endpoints.get_mut(ep) {
                e.calls.retain(|c| *c != key);
                if e.calls.is_empty() {
                    self.endpoints.remove(ep);
                }
            }
        }
        let answer_ts_ns = call.answer_ts_ns();
        let owner = |src: &SocketAddr, dst: &SocketAddr| Owner {
            index,
            start_ts_ns: open.start_ts,
            expected_by_sdp: open.endpoints.contains(src) && open.endpoints.contains(dst),
            answer_ts_ns,
        };
        let mut streams = open.settled_streams;
        for s in streams.iter_mut().filter(|s| s.call == Some(index)) {
            let o = owner(&s.src, &s.dst);
            s.expected_by_sdp = o.expected_by_sdp;
            s.since_answer = media::since_answer(s.first_ts_ns, s.last_ts_ns, answer_ts_ns);
        }
        for &s in &open.streams {
            if let Some((src, dst, _)) = self.media.endpoints(s) {
                self.media.settle_owner(s, owner(&src, &dst));
            }
            streams.extend(self.media.snapshot(s));
            if let Some(calls) = self.stream_calls.get_mut(&s) {
                calls.retain(|c| *c != key);
            }
        }
        streams.sort_by_key(|s| (s.first_frame, s.src, s.dst, s.ssrc));
        let mut stun = open.settled_stun;
        for &k in &open.stun {
            stun.extend(self.media.stun_snapshot(k));
            if let Some(calls) = self.stun_calls.get_mut(&k) {
                calls.retain(|c| *c != key);
            }
        }
        stun.sort_by_key(|c| c.first_frame);
        let connections: Vec<Connection> = open
            .conns
            .iter()
            .filter_map(|&k| self.transport.snapshot(k))
            .collect();
        let icmp: Vec<IcmpGroup> = open
            .icmp
            .iter()
            .filter_map(|&k| self.transport.icmp_snapshot(k))
            .collect();
        let dns: Vec<Lookup> = open
            .dns
            .iter()
            .filter_map(|&id| self.dns.snapshot(id))
            .collect();
        let mut fax: Vec<Fax> = open
            .fax
            .iter()
            .filter_map(|flow| self.fax.remove(flow))
            .map(|(_, stream)| stream.report())
            .collect();
        fax.sort_by_key(|f| f.first_frame);
        let capture = CaptureFacts {
            rtp_seen: self.media.rtp_seen(),
            capture_host: self.vantage.capture_host(),
        };
        let tied = out.call(FinishedCall {
            index,
            call,
            evidence: Evidence {
                streams,
                stun,
                connections,
                icmp,
                fax,
                dns,
            },
            capture,
        });
        for (i, &k) in open.conns.iter().enumerate() {
            let claimed = tied.connections.get(i).copied().unwrap_or(false);
            self.transport.unhold(k, claimed.then_some(index));
        }
        for (i, &k) in open.icmp.iter().enumerate() {
            let claimed = tied.icmp.get(i).copied().unwrap_or(false);
            self.transport.unhold_icmp(k, claimed.then_some(index));
        }
        for (i, &id) in open.dns.iter().enumerate() {
            let claimed = tied.dns.get(i).copied().unwrap_or(false);
            self.dns.unhold(id, index, claimed);
        }
        // A stream of this call that is over now goes with it (instead of waiting out its idle time).
        for &s in &open.streams {
            let quiet = self
                .media
                .last_ts(s)
                .is_some_and(|t| t.saturating_add(GRACE_NS) <= now);
            let unclaimed = self.stream_calls.get(&s).is_none_or(Vec::is_empty);
            if quiet && unclaimed {
                self.close_stream(s, out);
            }
        }
    }
}
