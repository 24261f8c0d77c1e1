//! Outputs the binary adds to the library's renderers: one call kept by the key a user gave, the
//! worst severity seen (for `--fail-on`), and the name of the file an output writes (for errors).

use std::io;

use callscope::analysis::{CaptureSummary, Output, Summary};
use callscope::correlate::calls::OtherDialog;
use callscope::correlate::media::Stream;
use callscope::correlate::peers::Peer;
use callscope::correlate::registrations::Registration;
use callscope::correlate::transactions::Transaction;
use callscope::correlate::transport::{Connection, IcmpError};
use callscope::diagnose::{Diagnosed, DiagnosedCall, Severity, Sink, TransportEvent};

/// Keeps the one call a user named by its number in the call list or by its Call-ID.
pub struct Keep {
    key: String,
    by_number: Option<DiagnosedCall>,
    by_call_id: Option<DiagnosedCall>,
    pub captures: Vec<CaptureSummary>,
    pub calls: usize,
}

impl Keep {
    pub fn new(key: &str) -> Keep {
        Keep {
            key: key.to_string(),
            by_number: None,
            by_call_id: None,
            captures: Vec::new(),
            calls: 0,
        }
    }

    /// The call (by its number first, as the call list shows it), or an error saying how to find
    /// one.
    pub fn call(&self) -> anyhow::Result<&DiagnosedCall> {
        self.by_number
            .as_ref()
            .or(self.by_call_id.as_ref())
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "no call {:?} in the capture ({} calls; see `callscope calls`)",
                    self.key,
                    self.calls
                )
            })
    }
}

impl Sink for Keep {
    fn call(&mut self, call: &DiagnosedCall) {
        self.calls += 1;
        if self.key.parse::<usize>().ok() == Some(call.index + 1) {
            self.by_number = Some(call.clone());
        } else if self.by_call_id.is_none() && call.call_id == self.key {
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
