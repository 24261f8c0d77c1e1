//! How open calls are indexed, so that evidence finds its calls without a scan: a call registers
//! its signalling paths, the hosts it was caught between mid-call, the next hops holding its INVITE
//! and its SDP media endpoints, and picks up what is already open there (connections on a path,
//! streams at an endpoint or between two hosts); the index maps with their helpers.

use super::*;

impl Engine {
    pub(super) fn register_path(&mut self, call: Key, client: IpAddr, server: SocketAddr) {
        let Some(open) = self.open.get_mut(&call) else {
            return;
        };
        if open.paths.contains(&(client, server)) {
            return;
        }
        open.paths.push((client, server));
        self.paths.entry((client, server)).or_default().push(call);
        // Connections already on this path: open ones (a connection the call's SIP uses), and ones
        // that began shortly before the call (a failed attempt just before the INVITE).
        let since = open.start_ts.saturating_sub(OWN_SLACK_NS);
        let found: Vec<Key> = self
            .transport
            .on_path(client, server)
            .iter()
            .copied()
            .filter(|&k| {
                self.transport
                    .snapshot_times(k)
                    .is_some_and(|(first, open)| open || first >= since)
            })
            .collect();
        for k in found {
            self.hold_connection(call, k);
        }
    }

    /// A call caught mid-call has no SDP: the RTP between the hosts of its first message is its
    /// media, the streams already open between them and those to come.
    pub(super) fn register_hosts(&mut self, call: Key, a: IpAddr, b: IpAddr) {
        let Some(open) = self.open.get_mut(&call) else {
            return;
        };
        open.hosts = Some((a, b));
        add_unique(self.calls_between.entry(host_pair(a, b)).or_default(), call);
        let streams = self
            .streams_between
            .get(&host_pair(a, b))
            .cloned()
            .unwrap_or_default();
        for s in streams {
            self.link_stream(call, s);
        }
    }

    pub(super) fn register_next_hop(&mut self, call: Key, host: IpAddr, ts: i64) {
        let Some(open) = self.open.get_mut(&call) else {
            return;
        };
        if open.next_hops.iter().any(|(h, _)| *h == host) {
            return;
        }
        open.next_hops.push((host, ts));
        self.next_hops.entry(host).or_default().push((call, ts));
    }

    pub(super) fn unregister_next_hop(&mut self, call: Key, host: IpAddr) {
        if let Some(open) = self.open.get_mut(&call) {
            open.next_hops.retain(|(h, _)| *h != host);
        }
        if let Some(list) = self.next_hops.get_mut(&host) {
            list.retain(|(c, _)| *c != call);
            if list.is_empty() {
                self.next_hops.remove(&host);
            }
        }
    }

    pub(super) fn register_endpoints(&mut self, call: Key, eps: SdpEndpoints) {
        for (ep, codecs, udptl) in eps {
            let Some(open) = self.open.get_mut(&call) else {
                return;
            };
            let start = open.start_ts;
            if !open.endpoints.contains(&ep) {
                open.endpoints.push(ep);
            }
            let entry = self.endpoints.entry(ep).or_default();
            add_unique(&mut entry.calls, call);
            if !codecs.is_empty() {
                entry.codecs = codecs;
            }
            if let Some(udptl) = udptl {
                entry.udptl = udptl;
            }
            // Streams that began before this SDP named their endpoint (a re-INVITE moved the media).
            let streams: Vec<Key> = self.streams_at.get(&ep).cloned().unwrap_or_default();
            for s in streams {
                if self
                    .media
                    .endpoints(s)
                    .is_some_and(|(_, _, first)| first >= start)
                {
                    self.link_stream(call, s);
                }
            }
        }
    }

    pub(super) fn owner_of(&self, call: Key, src: SocketAddr, dst: SocketAddr) -> Option<Owner> {
        let open = self.open.get(&call)?;
        Some(Owner {
            index: open.index,
            start_ts_ns: open.start_ts,
            expected_by_sdp: open.endpoints.contains(&src) && open.endpoints.contains(&dst),
            answer_ts_ns: open.answer_ts,
        })
    }

    pub(super) fn link_stream(&mut self, call: Key, stream: Key) {
        let Some((src, dst, _)) = self.media.endpoints(stream) else {
            return;
        };
        let Some(owner) = self.owner_of(call, src, dst) else {
            return;
        };
        let Some(open) = self.open.get_mut(&call) else {
            return;
        };
        if add_unique(&mut open.streams, stream) {
            add_unique(self.stream_calls.entry(stream).or_default(), call);
            self.media.claim(stream, owner);
        }
    }

    /// Open calls whose SDP named `a` or `b`, the most recent first.
    pub(super) fn calls_naming(&self, a: SocketAddr, b: SocketAddr) -> Vec<Key> {
        let mut calls: Vec<Key> = Vec::new();
        for ep in [b, a] {
            for &c in self
                .endpoints
                .get(&ep)
                .map_or(&[][..], |e| e.calls.as_slice())
            {
                add_unique(&mut calls, c);
            }
        }
        calls.sort_by_key(|c| std::cmp::Reverse(self.open.get(c).map_or(i64::MIN, |o| o.start_ts)));
        calls
    }
}

pub(super) fn add_unique(v: &mut Vec<Key>, k: Key) -> bool {
    if v.contains(&k) {
        false
    } else {
        v.push(k);
        true
    }
}

/// Two hosts in a fixed order, for an index of what is between them.
pub(super) fn host_pair(a: IpAddr, b: IpAddr) -> (IpAddr, IpAddr) {
    if a <= b {
        (a, b)
    } else {
        (b, a)
    }
}

pub(super) fn drop_key<K: std::hash::Hash + Eq>(map: &mut FxHashMap<K, Vec<Key>>, at: K, key: Key) {
    if let Some(v) = map.get_mut(&at) {
        v.retain(|k| *k != key);
        if v.is_empty() {
            map.remove(&at);
        }
    }
}

/// Media endpoints with the payload types of their media line, and for a media line's own port
/// whether it is UDPTL (T.38 fax) rather than RTP.
pub(super) type SdpEndpoints = Vec<(SocketAddr, Vec<Codec>, Option<bool>)>;

/// The media endpoints a message's SDP announces (address and port, RTCP port, ICE candidates),
/// each with the payload types of its media line.
pub(super) fn sdp_endpoints(msg: &Message) -> SdpEndpoints {
    let mut out = Vec::new();
    for media in msg.sdp.iter().flatten() {
        if let (Some(addr), true) = (media.addr, media.port != 0) {
            if !addr.is_unspecified() {
                let udptl = media.proto.eq_ignore_ascii_case("udptl");
                out.push((
                    SocketAddr::new(addr, media.port),
                    media.codecs.clone(),
                    Some(udptl),
                ));
                if let Some(rtcp) = media.rtcp_port {
                    out.push((SocketAddr::new(addr, rtcp), Vec::new(), None));
                }
            }
        }
        for c in &media.candidates {
            if let Ok(ip) = c.addr.parse() {
                out.push((SocketAddr::new(ip, c.port), Vec::new(), None));
            }
        }
    }
    out
}
