//! Outputs the binary adds to the library's renderers: the calls kept by the key a user gave (or all
//! the selection reported), the worst severity seen (for `--fail-on`), and the name of the file an
//! output writes (for errors).

use std::io;

use callscope::analysis::{CaptureSummary, Output, Summary};
use callscope::correlate::calls::OtherDialog;
use callscope::correlate::dns::Lookup;
use callscope::correlate::media::Stream;
use callscope::correlate::peers::Peer;
use callscope::correlate::registrations::Registration;
use callscope::correlate::transactions::Transaction;
use callscope::correlate::transport::{Connection, IcmpError};
use callscope::diagnose::{Diagnosed, DiagnosedCall, Severity, Sink, TransportEvent};

/// Keeps the one call a user named by its number in the call list or by its Call-ID, or, without a
/// key, every call reported (those the selection picked).
pub struct Keep {
    key: Option<String>,
    by_number: Option<DiagnosedCall>,
    by_call_id: Option<DiagnosedCall>,
    all: Vec<DiagnosedCall>,
    pub captures: Vec<CaptureSummary>,
    pub calls: usize,
    filtered: u64,
}

impl Keep {
    pub fn new(key: Option<&str>) -> Keep {
        Keep {
            key: key.map(str::to_string),
            by_number: None,
            by_call_id: None,
            all: Vec::new(),
            captures: Vec::new(),
            calls: 0,
            filtered: 0,
        }
    }

    /// The calls kept, by index: the named one (by its number first, as the call list shows it), or
    /// every call reported; an error saying how to find one when there is none.
    pub fn calls(&self) -> anyhow::Result<Vec<&DiagnosedCall>> {
        let found: Vec<&DiagnosedCall> = match &self.key {
            Some(_) => self
                .by_number
                .iter()
                .chain(&self.by_call_id)
                .take(1)
                .collect(),
            None => self.all.iter().collect(),
        };
        if found.is_empty() {
            let left_out = if self.filtered > 0 {
                format!(", {} left out by the selection", self.filtered)
            } else {
                String::new()
            };
            let what = match &self.key {
                Some(key) => format!("no call {key:?} in the capture"),
                None => "no call matches".to_string(),
            };
            anyhow::bail!(
                "{what} ({} calls reported{left_out}; see `callscope calls`)",
                self.calls
            );
        }
        Ok(found)
    }

    /// The one call a key named.
    pub fn call(&self) -> anyhow::Result<&DiagnosedCall> {
        Ok(self.calls()?[0])
    }
}

impl Sink for Keep {
    fn call(&mut self, call: &DiagnosedCall) {
        self.calls += 1;
        let Some(key) = &self.key else {
            self.all.push(call.clone());
            return;
        };
        if key.parse::<usize>().ok() == Some(call.index + 1) {
            self.by_number = Some(call.clone());
        } else if self.by_call_id.is_none() && call.call_id == *key {
            self.by_call_id = Some(call.clone());
        }
    }
    fn other(&mut self, _: &OtherDialog) {}
    fn stream(&mut self, _: &Stream) {}
    fn connection(&mut self, _: &Connection) {}
    fn transport_event(&mut self, _: &TransportEvent) {}
}

impl Output for Keep {
    fn icmp_error(&mut self, _: &IcmpError) {}
    fn finish(&mut self, summary: Summary) -> io::Result<()> {
        self.captures = summary.captures;
        self.filtered = summary.filtered_calls;
        self.all.sort_by_key(|c| c.index);
        Ok(())
    }
}

/// The worst finding severity of any call, transaction, registration or peer pair.
#[derive(Default)]
pub struct Worst(pub Option<Severity>);

impl Worst {
    fn seen(&mut self, worst: Option<Severity>) {
        if let Some(w) = worst {
            self.0 = Some(self.0.map_or(w, |s| s.min(w)));
        }
    }
}

impl Sink for Worst {
    fn call(&mut self, call: &DiagnosedCall) {
        self.seen(call.worst());
    }
    fn other(&mut self, _: &OtherDialog) {}
    fn stream(&mut self, _: &Stream) {}
    fn connection(&mut self, _: &Connection) {}
    fn transport_event(&mut self, _: &TransportEvent) {}
    fn transaction(&mut self, tx: &Diagnosed<Transaction>) {
        self.seen(tx.worst());
    }
    fn registration(&mut self, reg: &Diagnosed<Registration>) {
        self.seen(reg.worst());
    }
    fn peer(&mut self, peer: &Diagnosed<Peer>) {
        self.seen(peer.worst());
    }
    fn dns_failure(&mut self, lookup: &Diagnosed<Lookup>) {
        self.seen(lookup.worst());
    }
}

impl Output for Worst {
    fn icmp_error(&mut self, _: &IcmpError) {}
    fn finish(&mut self, _: Summary) -> io::Result<()> {
        Ok(())
    }
}

/// An output writing to a named place: its write errors say where.
pub struct Named<O> {
    pub name: String,
    pub inner: O,
}

impl<O: Output> Sink for Named<O> {
    fn call(&mut self, call: &DiagnosedCall) {
        self.inner.call(call);
    }
    fn other(&mut self, dialog: &OtherDialog) {
        self.inner.other(dialog);
    }
    fn stream(&mut self, stream: &Stream) {
        self.inner.stream(stream);
    }
    fn connection(&mut self, conn: &Connection) {
        self.inner.connection(conn);
    }
    fn transport_event(&mut self, event: &TransportEvent) {
        self.inner.transport_event(event);
    }
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

impl<O: Output> Output for Named<O> {
    fn icmp_error(&mut self, error: &IcmpError) {
        self.inner.icmp_error(error);
    }
    fn finish(&mut self, summary: Summary) -> io::Result<()> {
        self.inner.finish(summary).map_err(|e| {
            if e.kind() == io::ErrorKind::BrokenPipe {
                e
            } else {
                io::Error::new(e.kind(), format!("cannot write {}: {e}", self.name))
            }
        })
    }
}
