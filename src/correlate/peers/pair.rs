//! One pair's row while the table holds it: compact for the common case, a pair that only carried
//! requests of the standard methods with ordinary outcomes (its counts inline, no heap), with what
//! few pairs have (keep-alives, failures, connection and ICMP counts, evidence frames, further
//! methods) boxed apart; handed out as the [`Peer`] the reports read.

use std::net::{IpAddr, SocketAddr};

use super::{Counts, KeepAlive, MethodCounts, Peer, Ping, Probe, ProbeFailures, Transports};
use super::{MAX_FRAMES, MAX_METHODS};
use crate::correlate::message::{Method, Transport};
use crate::correlate::transport::At;
use crate::proto::sip::StatusCode;

/// The methods a row counts inline, by their place here (every [`Method`] but `Other`).
const INLINE_METHODS: [Method; 6] = [
    Method::Invite,
    Method::Ack,
    Method::Bye,
    Method::Cancel,
    Method::Register,
    Method::Options,
];
/// Methods counted inline per row: a pair that makes calls sends INVITEs and BYEs. Fewer than
/// [`MAX_METHODS`], so a full row has methods apart.
const INLINE: usize = 2;
const _: () = assert!(INLINE < MAX_METHODS);

/// The counts of one method named by its place in [`INLINE_METHODS`].
#[derive(Clone, Copy, Debug, Default)]
struct Tally {
    method: u8,
    counts: Counts,
}

/// What few pairs have, boxed apart from the row.
#[derive(Debug, Default)]
struct Rare {
    /// The methods after the inline ones, in order of first request.
    methods: Vec<(Method, Counts)>,
    syn_unanswered: u32,
    refused: u32,
    icmp: u32,
    /// Boxed again: most pairs with something rare have no keep-alives.
    keepalive: Option<Box<KeepAlive>>,
    first_failure: Option<At>,
    last_failure: Option<At>,
    transport_frames: Vec<u64>,
}

/// A pair's row in the table (see the module doc).
#[derive(Debug)]
pub(super) struct Pair {
    client: IpAddr,
    /// The server's address and port apart: a `SocketAddr` takes 32 bytes (an IPv6 one carries a
    /// flow label and scope), these 19.
    server_ip: IpAddr,
    server_port: u16,
    transports: Transports,
    first_ts_ns: i64,
    last_ts_ns: i64,
    first_frame: u64,
    /// The first methods requested, when they are standard ones (`inline` of them in use); any
    /// further ones, or one after a method counted apart, are in `rare` (so the order holds).
    tallies: [Tally; INLINE],
    inline: u8,
    rare: Option<Box<Rare>>,
}

impl Pair {
    pub(super) fn new(client: IpAddr, server: SocketAddr, at: At) -> Pair {
        Pair {
            client,
            server_ip: server.ip(),
            server_port: server.port(),
            transports: Transports::default(),
            first_ts_ns: at.ts_ns,
            last_ts_ns: at.ts_ns,
            first_frame: at.frame,
            tallies: [Tally::default(); INLINE],
            inline: 0,
            rare: None,
        }
    }

    pub(super) fn key(&self) -> (IpAddr, SocketAddr) {
        (self.client, self.server())
    }

    fn server(&self) -> SocketAddr {
        SocketAddr::new(self.server_ip, self.server_port)
    }

    fn rare(&mut self) -> &mut Rare {
        self.rare.get_or_insert_default()
    }

    pub(super) fn seen(&mut self, at: At, transport: Transport) {
        self.first_ts_ns = self.first_ts_ns.min(at.ts_ns);
        self.last_ts_ns = self.last_ts_ns.max(at.ts_ns);
        self.first_frame = self.first_frame.min(at.frame);
        self.transports.insert(transport);
    }

    pub(super) fn failure(&mut self, at: At) {
        self.rare().failure(at);
    }

    /// The counts of `method`, a new entry if there is room (at most [`MAX_METHODS`]; further
    /// methods share the last entry's).
    pub(super) fn method(&mut self, method: &Method) -> &mut Counts {
        let inline = usize::from(self.inline);
        let place = INLINE_METHODS.iter().position(|m| m == method);
        if let Some(i) = (0..inline).find(|&i| place == Some(usize::from(self.tallies[i].method))) {
            return &mut self.tallies[i].counts;
        }
        let apart = self.rare.as_ref().map_or(0, |r| r.methods.len());
        match place.and_then(|p| u8::try_from(p).ok()) {
            Some(p) if apart == 0 && inline < INLINE => {
                self.inline += 1;
                self.tallies[inline] = Tally {
                    method: p,
                    counts: Counts::default(),
                };
                &mut self.tallies[inline].counts
            }
            _ => {
                let full = inline + apart >= MAX_METHODS;
                let methods = &mut self.rare().methods;
                let i = match methods.iter().position(|(m, _)| m == method) {
                    Some(i) => i,
                    None if !full => {
                        // One more place, not the four a first push reserves: a row lives as
                        // long as its pair is active.
                        methods.reserve_exact(1);
                        methods.push((method.clone(), Counts::default()));
                        methods.len() - 1
                    }
                    // Full, and so some methods are apart: the last of them.
                    None => methods.len() - 1,
                };
                &mut methods[i].1
            }
        }
    }

    /// A transaction of `method` and its final status (none: it went unanswered).
    pub(super) fn count(&mut self, method: &Method, status: Option<StatusCode>) {
        self.method(method).add(status);
    }

    /// A keep-alive probe begun at `at` ended as `probe`; `frames` are its evidence.
    pub(super) fn probe(&mut self, probe: Probe, at: At, frames: &[u64]) {
        let rare = self.rare();
        rare.keepalive
            .get_or_insert_default()
            .probe(probe, at, frames);
        if probe.failed() {
            rare.failure(at);
        }
    }

    /// A flow keep-alive ping of `kind` begun at `at` was answered (`ok`) or not.
    pub(super) fn ping(&mut self, kind: Ping, ok: bool, at: At) {
        let k = self.rare().keepalive.get_or_insert_default();
        let (counts, failed) = match kind {
            Ping::Crlf => (&mut k.crlf, Probe::NoPong),
            Ping::Stun => (&mut k.stun, Probe::StunUnanswered),
        };
        counts.sent += 1;
        counts.answered += u32::from(ok);
        self.probe(if ok { Probe::Ok } else { failed }, at, &[at.frame]);
    }

    /// A connection attempt the server never answered (`refused`: it refused it).
    pub(super) fn failed_connection(&mut self, refused: bool) {
        let rare = self.rare();
        if refused {
            rare.refused += 1;
        } else {
            rare.syn_unanswered += 1;
        }
    }

    pub(super) fn icmp(&mut self, count: u64) {
        let rare = self.rare();
        rare.icmp = rare
            .icmp
            .saturating_add(u32::try_from(count).unwrap_or(u32::MAX));
    }

    /// Transport evidence frames (at most [`MAX_FRAMES`] kept).
    pub(super) fn evidence(&mut self, frames: impl IntoIterator<Item = u64>) {
        let kept = &mut self.rare().transport_frames;
        for f in frames {
            if kept.len() < MAX_FRAMES {
                kept.push(f);
            }
        }
    }

    /// The row the reports read.
    pub(super) fn into_peer(self) -> Peer {
        let server = self.server();
        let inline = &self.tallies[..usize::from(self.inline)];
        let rare = self.rare.map(|r| *r).unwrap_or_default();
        let mut methods = Vec::with_capacity(inline.len() + rare.methods.len());
        methods.extend(inline.iter().map(|t| MethodCounts {
            method: INLINE_METHODS[usize::from(t.method)].clone(),
            counts: t.counts,
        }));
        methods.extend(
            rare.methods
                .into_iter()
                .map(|(method, counts)| MethodCounts { method, counts }),
        );
        Peer {
            client: self.client,
            server,
            transports: self.transports,
            methods,
            syn_unanswered: rare.syn_unanswered,
            refused: rare.refused,
            icmp: rare.icmp,
            keepalive: rare.keepalive,
            first_ts_ns: self.first_ts_ns,
            last_ts_ns: self.last_ts_ns,
            first_frame: self.first_frame,
            first_failure: rare.first_failure,
            last_failure: rare.last_failure,
            transport_frames: rare.transport_frames,
        }
    }
}

impl Rare {
    fn failure(&mut self, at: At) {
        self.first_failure = Some(self.first_failure.map_or(at, |f| f.min(at)));
        self.last_failure = Some(self.last_failure.map_or(at, |f| f.max(at)));
    }
}

impl KeepAlive {
    /// A probe begun at `at` ended as `probe`; `frames` are its evidence.
    fn probe(&mut self, probe: Probe, at: At, frames: &[u64]) {
        self.probes += 1;
        if self.last.is_none_or(|(l, _)| at.ts_ns >= l.ts_ns) {
            self.last = Some((at, probe));
        }
        let after_ok = self.last_ok.is_none_or(|ok| at.ts_ns > ok.ts_ns);
        if !probe.failed() {
            if after_ok {
                self.last_ok = Some(at);
                self.since_ok.retain(|&t| t > at.ts_ns);
                self.consecutive = u32::try_from(self.since_ok.len()).unwrap_or(u32::MAX);
            }
            return;
        }
        self.failed += 1;
        if after_ok {
            self.consecutive += 1;
            if self.since_ok.len() < MAX_FRAMES {
                self.since_ok.push(at.ts_ns);
            }
            self.max_consecutive = self.max_consecutive.max(self.consecutive);
        }
        let run = match self.failures.iter_mut().position(|f| f.probe == probe) {
            Some(i) => &mut self.failures[i],
            None => {
                self.failures.push(ProbeFailures {
                    probe,
                    count: 0,
                    first: at,
                    last: at,
                    frames: Vec::new(),
                });
                self.failures.last_mut().expect("just pushed")
            }
        };
        run.count += 1;
        run.first = run.first.min(at);
        run.last = run.last.max(at);
        for &f in frames {
            if run.frames.len() < MAX_FRAMES {
                run.frames.push(f);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(p: Pair) -> Vec<(String, u32)> {
        let peer = p.into_peer();
        peer.methods
            .iter()
            .map(|m| (m.method.as_str().to_string(), m.counts.sent))
            .collect()
    }

    fn pair() -> Pair {
        let at = At { frame: 1, ts_ns: 0 };
        Pair::new(
            "192.0.2.1".parse().expect("an address"),
            "192.0.2.2:5060".parse().expect("an address"),
            at,
        )
    }

    #[test]
    fn methods_keep_the_order_of_their_first_request_inline_or_apart() {
        let mut p = pair();
        let notify = Method::Other("NOTIFY".into());
        for m in [&Method::Invite, &notify, &Method::Bye, &Method::Invite] {
            p.count(m, Some(StatusCode(200)));
        }
        assert!(
            p.rare.is_some(),
            "NOTIFY is counted apart, and BYE after it"
        );
        let want = [("INVITE", 2), ("NOTIFY", 1), ("BYE", 1)];
        let want: Vec<(String, u32)> = want.iter().map(|&(m, n)| (m.into(), n)).collect();
        assert_eq!(names(p), want);

        let mut p = pair();
        p.count(&Method::Invite, None);
        p.count(&Method::Bye, Some(StatusCode(200)));
        assert!(p.rare.is_none(), "a call's INVITE and BYE are inline");
        let peer = p.into_peer();
        assert_eq!(peer.methods[0].counts.unanswered, 1);
        assert_eq!(peer.methods[1].counts.last_status, Some(StatusCode(200)));
    }

    #[test]
    fn methods_beyond_the_bound_share_the_last_entry() {
        let mut p = pair();
        for i in 0..MAX_METHODS + 3 {
            p.count(&Method::Other(format!("M{i}")), None);
        }
        let got = names(p);
        assert_eq!(got.len(), MAX_METHODS);
        assert_eq!(got[MAX_METHODS - 1], (format!("M{}", MAX_METHODS - 1), 4));
    }
}
