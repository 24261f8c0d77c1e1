//! What reaches the renderers: the calls a [`Filter`] selects, the items that go with them, and, at
//! the end, the [`Overview`](super::Overview) of the calls reported and the number left out.
//!
//! An [`Output`] in front of another: the pipeline puts it in front of every run's output, and a
//! collected [`Analysis`](super::Analysis) in front of the output it is replayed into, so every
//! renderer reads the same overview. Items tied to calls follow their calls: a stream of a call
//! not yet decided waits for it (streams settle while their call is still open, so these are only
//! the streams of open calls); a transport event goes with the calls it explains (the engine
//! releases it after them). Memory: what waits, plus one bit per call index for the decisions.

use std::io;

use rustc_hash::FxHashMap;

use super::filter::{Filter, Item, Selection};
use super::overview::Overviewer;
use super::{Output, Summary};
use crate::correlate::calls::OtherDialog;
use crate::correlate::dns::Lookup;
use crate::correlate::media::Stream;
use crate::correlate::peers::Peer;
use crate::correlate::registrations::Registration;
use crate::correlate::transactions::Transaction;
use crate::correlate::transport::{Connection, IcmpError};
use crate::diagnose::{Diagnosed, DiagnosedCall, Sink, TransportEvent};

/// A set of call indexes, one bit each.
#[derive(Default)]
struct Bits(Vec<u64>);

impl Bits {
    fn insert(&mut self, i: usize) {
        let word = i / 64;
        if self.0.len() <= word {
            self.0.resize(word + 1, 0);
        }
        self.0[word] |= 1 << (i % 64);
    }

    fn contains(&self, i: usize) -> bool {
        self.0.get(i / 64).is_some_and(|w| w & (1 << (i % 64)) != 0)
    }
}

/// The filter and the overview in front of an output.
pub struct Reporting<'o> {
    filter: Filter,
    /// The filter with its times resolved, once the capture's start is known.
    selection: Option<Selection>,
    start_ns: Option<i64>,
    inner: &'o mut dyn Output,
    overview: Overviewer,
    filtered: u64,
    decided: Bits,
    reported: Bits,
    waiting: FxHashMap<usize, Vec<Stream>>,
}

impl<'o> Reporting<'o> {
    pub fn new(filter: &Filter, inner: &'o mut dyn Output) -> Reporting<'o> {
        Reporting {
            filter: filter.clone(),
            selection: None,
            start_ns: None,
            inner,
            overview: Overviewer::default(),
            filtered: 0,
            decided: Bits::default(),
            reported: Bits::default(),
            waiting: FxHashMap::default(),
        }
    }

    /// The capture's first packet, which relative times in the filter count from (the first call's
    /// start stands in when no packet time was given).
    pub fn capture_start(&mut self, ts_ns: i64) {
        self.start_ns.get_or_insert(ts_ns);
    }

    fn selection(&mut self, fallback_ns: i64) -> &Selection {
        let start = *self.start_ns.get_or_insert(fallback_ns);
        self.selection
            .get_or_insert_with(|| self.filter.resolve(start))
    }

    fn item(&mut self, item: &Item<'_>) -> bool {
        self.filter.is_empty() || self.selection(item.first_ts_ns).item(item)
    }
}

impl Sink for Reporting<'_> {
    fn call(&mut self, d: &DiagnosedCall) {
        if self.filter.is_empty() {
            self.overview.add(d);
            self.inner.call(d);
            return;
        }
        self.decided.insert(d.index);
        let waiting = self.waiting.remove(&d.index).unwrap_or_default();
        if !self.selection(d.start_ts_ns).call(d) {
            self.filtered += 1;
            return;
        }
        self.reported.insert(d.index);
        self.overview.add(d);
        self.inner.call(d);
        waiting.iter().for_each(|s| self.inner.stream(s));
    }

    fn other(&mut self, o: &OtherDialog) {
        let addrs = [o.src.ip(), o.dst.ip()];
        let item = Item {
            addrs: &addrs,
            first_ts_ns: o.start_ts_ns,
            call_id: Some(&o.call_id),
            code: None,
            status: o.final_status,
        };
        if self.item(&item) {
            self.inner.other(o);
        }
    }

    fn stream(&mut self, s: &Stream) {
        if self.filter.is_empty() {
            return self.inner.stream(s);
        }
        match s.call {
            Some(i) if self.decided.contains(i) => {
                if self.reported.contains(i) {
                    self.inner.stream(s);
                }
            }
            Some(i) => self.waiting.entry(i).or_default().push(s.clone()),
            None => {
                let addrs = [s.src.ip(), s.dst.ip()];
                let item = Item {
                    addrs: &addrs,
                    first_ts_ns: s.first_ts_ns,
                    call_id: None,
                    code: None,
                    status: None,
                };
                if self.item(&item) {
                    self.inner.stream(s);
                }
            }
        }
    }

    fn connection(&mut self, c: &Connection) {
        let addrs = [c.client.ip(), c.server.ip()];
        let item = Item {
            addrs: &addrs,
            first_ts_ns: c.first_ts_ns,
            call_id: None,
            code: None,
            status: None,
        };
        if self.item(&item) {
            self.inner.connection(c);
        }
    }

    fn transport_event(&mut self, e: &TransportEvent) {
        let keep = if self.filter.is_empty() {
            true
        } else if e.calls.is_empty() {
            let addrs = [e.src.ip(), e.dst.ip()];
            self.item(&Item {
                addrs: &addrs,
                first_ts_ns: e.ts_ns,
                call_id: None,
                code: Some(e.code),
                status: None,
            })
        } else {
            e.calls.iter().any(|&i| self.reported.contains(i))
        };
        if keep {
            self.inner.transport_event(e);
        }
    }
    // Transactions, registrations and peers are not calls: a call filter does not select them.
    fn transaction(&mut self, tx: &Diagnosed<Transaction>) {
        self.inner.transaction(tx);
    }
    fn registration(&mut self, reg: &Diagnosed<Registration>) {
        self.inner.registration(reg);
    }
    fn peer(&mut self, peer: &Diagnosed<Peer>) {
        self.inner.peer(peer);
    }
    fn dns_failure(&mut self, lookup: &Diagnosed<Lookup>) {
        self.inner.dns_failure(lookup);
    }
}

impl Output for Reporting<'_> {
    fn icmp_error(&mut self, e: &IcmpError) {
        let addrs = [e.reporter, e.src.ip(), e.dst.ip()];
        let item = Item {
            addrs: &addrs,
            first_ts_ns: e.ts_ns,
            call_id: None,
            code: None,
            status: None,
        };
        if self.item(&item) {
            self.inner.icmp_error(e);
        }
    }

    fn finish(&mut self, mut summary: Summary) -> io::Result<()> {
        summary.filtered_calls += self.filtered;
        summary.overview = std::mem::take(&mut self.overview).finish();
        self.inner.finish(summary)
    }
}
