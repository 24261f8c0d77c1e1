//! Rendering beside the fold: what the fold finished, delivered to the run's output on a thread of
//! its own.
//!
//! The fold is the sequential part of a run, its critical path; writing the reports (the
//! [`Reporting`](crate::analysis::Reporting) filter and overview in front of the text, JSON and HTML
//! renderers) took about a quarter of its instructions. So the fold only finishes things: what it
//! finished while folding a chunk, gathered by the [`Diagnoser`], is one [`Batch`], sent over a
//! bounded channel to a render thread that owns the output and delivers each item as the fold used
//! to. The run's [`Summary`] follows the last batch on the same channel, and the output's result
//! (its first write error) comes back when the thread is joined.
//! One channel read in order: the output sees the same items in the same order as on the fold's
//! thread, so the reports do not depend on the thread count or the chunk size.
//! The calls the fold left undiagnosed (their evidence holds nothing their diagnosis could tie,
//! `Finished::Undiagnosed`, most calls) are diagnosed here, in their place in the order, by a
//! [`Delivery`]: their rules took about a tenth of the fold's time.

use std::io;
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::thread::{Scope, ScopedJoinHandle};

use crate::analysis::{Output, Summary};
use crate::correlate::calls::OtherDialog;
use crate::correlate::dns::Lookup;
use crate::correlate::engine::{FinishedCall, Finisher, Tied};
use crate::correlate::media::Stream;
use crate::correlate::peers::Peer;
use crate::correlate::registrations::Registration;
use crate::correlate::transactions::Transaction;
use crate::correlate::transport::{Connection, IcmpGroup, Released};
use crate::diagnose::{Delivery, Diagnoser, Finished, Patterns};

/// What the fold finished while folding one chunk (or one live batch), in order.
pub(super) type Batch = Vec<Finished>;

/// Batches sent but not yet rendered: the fold runs on while one is rendered, and memory holds
/// at most this many batches besides the one being rendered.
const IN_FLIGHT: usize = 2;

/// The most items a batch holds when the engine finishes many things at once (the end of a capture:
/// every call, stream and peer row still open), so that no batch holds them all.
const MAX_BATCH: usize = 1024;

/// What goes to the render thread.
enum Message {
    Batch(Batch),
    /// The run is over (boxed: the summary is far larger than a batch's vector), with the
    /// failovers of the calls the fold diagnosed.
    Finish(Box<Summary>, Patterns),
}

/// The fold's end of the render thread.
pub(super) struct Renderer<'scope> {
    to: SyncSender<Message>,
    thread: ScopedJoinHandle<'scope, io::Result<()>>,
}

impl<'scope> Renderer<'scope> {
    /// Starts the render thread in `scope`, writing into `out`.
    pub(super) fn start<'env>(
        scope: &'scope Scope<'scope, 'env>,
        out: impl Output + 'scope,
    ) -> Renderer<'scope> {
        let (to, from) = mpsc::sync_channel(IN_FLIGHT);
        let thread = scope.spawn(move || render(from, out));
        Renderer { to, thread }
    }

    /// Hands a batch on; waits while [`IN_FLIGHT`] batches are not rendered yet.
    pub(super) fn send(&self, batch: Batch) {
        if !batch.is_empty() {
            // Only a render thread that panicked stops receiving; `finish` resumes its panic.
            let _ = self.to.send(Message::Batch(batch));
        }
    }

    /// Sends the run's summary (and the failovers of the calls the fold diagnosed) after the last
    /// batch and waits until the output is written: its result is the run's.
    pub(super) fn finish(self, summary: Summary, patterns: Patterns) -> io::Result<()> {
        let _ = self.to.send(Message::Finish(Box::new(summary), patterns));
        match self.thread.join() {
            Ok(written) => written,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
}

/// The render thread: delivers the batches in the order they were sent, then finishes the output.
fn render(from: Receiver<Message>, mut out: impl Output) -> io::Result<()> {
    let mut delivery = Delivery::default();
    for message in from {
        match message {
            Message::Batch(batch) => deliver(&mut out, &mut delivery, batch),
            Message::Finish(summary, patterns) => {
                return finish(&mut out, delivery, *summary, patterns)
            }
        }
    }
    // The fold stopped without a summary: it panicked, and the scope resumes that panic.
    Ok(())
}

/// Replays what was finished into an output, item by item, as the diagnosis would have handed it;
/// the calls left undiagnosed are diagnosed on the way.
pub(super) fn deliver(out: &mut dyn Output, delivery: &mut Delivery, batch: Batch) {
    for item in batch {
        match item {
            Finished::Call(call) => out.call(&call),
            Finished::Undiagnosed(call) => out.call(&delivery.diagnose(call)),
            Finished::Other(dialog) => out.other(&dialog),
            Finished::Stream(stream) => out.stream(&stream),
            Finished::Connection(conn) => out.connection(&conn),
            Finished::TransportEvent(event) => out.transport_event(&event),
            Finished::Transaction(tx) => out.transaction(&tx),
            Finished::Registration(reg) => out.registration(&reg),
            Finished::Peer(peer) => out.peer(&peer),
            Finished::DnsFailure(lookup) => out.dns_failure(&lookup),
            Finished::IcmpError(error) => out.icmp_error(&error),
        }
    }
}

/// Finishes the output with the run's summary, its patterns those of every call: the ones the fold
/// diagnosed and the ones `delivery` did.
pub(super) fn finish(
    out: &mut dyn Output,
    delivery: Delivery,
    mut summary: Summary,
    patterns: Patterns,
) -> io::Result<()> {
    summary.patterns = delivery.patterns(patterns);
    out.finish(summary)
}

/// The diagnoser as the engine's finisher, handing a batch on to `send` whenever [`MAX_BATCH`]
/// items are gathered: for the end of a capture, when the engine finishes everything still open in
/// one call (a busy trunk's peer table alone holds tens of thousands of rows).
pub(super) struct Bounded<'a, F: FnMut(Batch)> {
    pub(super) diagnoser: &'a mut Diagnoser,
    pub(super) send: F,
}

impl<F: FnMut(Batch)> Bounded<'_, F> {
    fn gathered(&mut self) {
        if self.diagnoser.gathered() >= MAX_BATCH {
            (self.send)(self.diagnoser.take());
        }
    }
}

impl<F: FnMut(Batch)> Finisher for Bounded<'_, F> {
    fn call(&mut self, call: FinishedCall) -> Tied {
        let tied = self.diagnoser.call(call);
        self.gathered();
        tied
    }
    fn other(&mut self, dialog: OtherDialog) {
        self.diagnoser.other(dialog);
        self.gathered();
    }
    fn stream(&mut self, stream: Stream) {
        self.diagnoser.stream(stream);
        self.gathered();
    }
    fn connection(&mut self, conn: Released<Connection>, sip_port: bool) {
        self.diagnoser.connection(conn, sip_port);
        self.gathered();
    }
    fn icmp(&mut self, group: Released<IcmpGroup>, sip_port: bool) {
        self.diagnoser.icmp(group, sip_port);
        self.gathered();
    }
    fn dns(&mut self, lookup: Released<Lookup>) {
        self.diagnoser.dns(lookup);
        self.gathered();
    }
    fn transaction(&mut self, tx: Transaction) {
        self.diagnoser.transaction(tx);
        self.gathered();
    }
    fn registration(&mut self, reg: Registration) {
        self.diagnoser.registration(reg);
        self.gathered();
    }
    fn peer(&mut self, peer: Peer) {
        self.diagnoser.peer(peer);
        self.gathered();
    }
}
