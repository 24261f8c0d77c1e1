//! Non-INVITE client transactions as one hop sees them (RFC 3261 §17.1.2): a request, its
//! retransmissions and its responses, open until the final response or until Timer F.
//!
//! Takes the SIP messages in capture order; hands back each transaction once it is over: answered by a
//! final response, or unanswered when Timer F (64·T1 = 32 s) ran out after its first transmission.
//! A response belongs to the request with the same Call-ID, CSeq (number and method) and top Via
//! branch: the top Via of a response is the one its request carried on that hop (RFC 3261 §17.1.3),
//! so each hop through a proxy is its own transaction. INVITE transactions are the calls' (see
//! `dialogs`) and ACK is no transaction. Memory is bounded by the transactions open at once
//! ([`Limits::open`]); they all wait the same Timer F, so a queue in creation order is their timer.

use std::collections::VecDeque;
use std::hash::{Hash, Hasher};
use std::net::SocketAddr;
use std::sync::Arc;

use rustc_hash::{FxHashMap, FxHasher};

use super::dialogs::TIMER_B_NS;
use super::message::{Message, Method, Transport};
use super::slab::{Key, Slab};
use super::transport::At;
use crate::proto::sip::StatusCode;

/// Transmissions of a request remembered (more are counted).
const MAX_SENT: usize = 16;

/// Bounds on open state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Transactions open at once; requests beyond are counted, not tracked.
    pub open: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { open: 100_000 }
    }
}

/// One non-INVITE transaction on one hop.
#[derive(Clone, Debug, PartialEq)]
pub struct Transaction {
    pub method: Method,
    /// 0-based index of the call whose Call-ID it has, when that Call-ID is a call.
    pub call: Option<usize>,
    /// Where the request came from and went.
    pub client: SocketAddr,
    pub server: SocketAddr,
    pub transport: Transport,
    /// The request as first sent.
    pub request: Arc<Message>,
    /// Its transmissions, the first included (at most 16).
    pub sent: Vec<At>,
    /// Transmissions in all.
    pub sent_count: u32,
    /// The first provisional response.
    pub provisional: Option<At>,
    /// The final response, as first seen.
    pub response: Option<Arc<Message>>,
    /// The capture ended before the transaction did (neither answered nor past Timer F).
    pub open_at_end: bool,
}

impl Transaction {
    /// The final response's status.
    pub fn status(&self) -> Option<StatusCode> {
        self.response.as_deref().and_then(Message::status)
    }

    /// When the request was first sent.
    pub fn start_ts(&self) -> i64 {
        self.request.ts_ns
    }

    /// No final response, and Timer F ran out (or the capture ended after the request was resent).
    pub fn unanswered(&self) -> bool {
        self.response.is_none() && (!self.open_at_end || self.sent_count > 1)
    }

    /// The frames of its request's transmissions and of its final response, ascending.
    pub fn frames(&self) -> Vec<u64> {
        let mut out: Vec<u64> = self.sent.iter().map(|a| a.frame).collect();
        out.extend(self.provisional.map(|a| a.frame));
        out.extend(self.response.as_ref().map(|r| r.frame));
        out.sort_unstable();
        out.dedup();
        out
    }
}

/// What a message did to the open transactions.
pub enum Observed {
    /// It began a transaction (set its call with [`Tracker::set_call`]).
    New(Key),
    /// It was the final response of a transaction, which is over.
    Done(Box<Transaction>),
    /// Anything else: a retransmission, a provisional response, an INVITE, a message of no open
    /// transaction, or a request beyond the limit.
    Other,
}

struct Open {
    hash: u64,
    tx: Transaction,
}

/// The open transactions; see the module doc.
#[derive(Default)]
pub struct Tracker {
    limits: Limits,
    by_hash: FxHashMap<u64, Key>,
    open: Slab<Open>,
    /// Timer F deadlines in creation order.
    queue: VecDeque<(i64, Key)>,
    /// Requests not tracked because of [`Limits::open`].
    pub untracked: u64,
    /// The most open at once.
    pub peak: usize,
}

/// Whether the transactions of this method are reported as themselves (a report's `transactions`):
/// not those of calls (INVITE, ACK, BYE, CANCEL), of registrations (REGISTER) or the keep-alives of
/// the peer table (OPTIONS).
pub fn listed(method: &Method) -> bool {
    !matches!(
        method,
        Method::Invite
            | Method::Ack
            | Method::Bye
            | Method::Cancel
            | Method::Register
            | Method::Options
    )
}

/// The [`listed`] transactions among one call's messages (in capture order), as the tracker saw
/// them, by first frame; those the call outlived without an answer are `open_at_end`.
pub fn of_call<'a>(
    messages: impl IntoIterator<Item = &'a Arc<Message>>,
    call: usize,
) -> Vec<Transaction> {
    let mut t = Tracker::new(Limits::default());
    let mut out = Vec::new();
    for m in messages {
        if !m.cseq_method().is_some_and(listed) {
            continue;
        }
        while let Some(tx) = t.expire(m.ts_ns) {
            out.push(tx);
        }
        if let Observed::Done(tx) = t.observe(m) {
            out.push(*tx);
        }
    }
    out.extend(t.drain());
    for tx in &mut out {
        tx.call = Some(call);
    }
    out.sort_by_key(|tx| tx.request.frame);
    out
}

/// Whether the messages of this method are transactions tracked here.
fn tracked(method: &Method) -> bool {
    !matches!(method, Method::Invite | Method::Ack)
}

/// What identifies a message's transaction: Call-ID, CSeq number and method, top Via branch.
fn identity(m: &Message) -> Option<u64> {
    let cseq = m.cseq.as_ref()?;
    let mut h = FxHasher::default();
    m.call_id.hash(&mut h);
    cseq.seq.hash(&mut h);
    cseq.method.as_str().hash(&mut h);
    m.branch.hash(&mut h);
    Some(h.finish())
}

/// Whether `m` is of the transaction `tx` began (guards against a hash collision).
fn same(tx: &Transaction, m: &Message) -> bool {
    let r = &tx.request;
    r.call_id == m.call_id && r.cseq == m.cseq && r.branch == m.branch
}

impl Tracker {
    pub fn new(limits: Limits) -> Tracker {
        Tracker {
            limits,
            ..Tracker::default()
        }
    }

    /// Open transactions.
    pub fn len(&self) -> usize {
        self.open.len()
    }

    pub fn is_empty(&self) -> bool {
        self.open.is_empty()
    }

    /// Takes the next SIP message into account.
    pub fn observe(&mut self, m: &Arc<Message>) -> Observed {
        let Some(method) = m.cseq_method() else {
            return Observed::Other;
        };
        if !tracked(method) {
            return Observed::Other;
        }
        let Some(hash) = identity(m) else {
            return Observed::Other;
        };
        let found = self
            .by_hash
            .get(&hash)
            .copied()
            .filter(|&k| self.open.get(k).is_some_and(|o| same(&o.tx, m)));
        let at = At {
            frame: m.frame,
            ts_ns: m.ts_ns,
        };
        match (m.status(), found) {
            (None, Some(k)) => {
                if let Some(o) = self.open.get_mut(k) {
                    o.tx.sent_count = o.tx.sent_count.saturating_add(1);
                    if o.tx.sent.len() < MAX_SENT {
                        o.tx.sent.push(at);
                    }
                }
                Observed::Other
            }
            (None, None) => {
                if self.open.len() >= self.limits.open || self.by_hash.contains_key(&hash) {
                    self.untracked += 1;
                    return Observed::Other;
                }
                let tx = Transaction {
                    method: method.clone(),
                    call: None,
                    client: m.src,
                    server: m.dst,
                    transport: m.transport,
                    request: Arc::clone(m),
                    sent: vec![at],
                    sent_count: 1,
                    provisional: None,
                    response: None,
                    open_at_end: false,
                };
                let key = self.open.insert(Open { hash, tx });
                self.by_hash.insert(hash, key);
                self.queue
                    .push_back((m.ts_ns.saturating_add(TIMER_B_NS), key));
                self.peak = self.peak.max(self.open.len());
                Observed::New(key)
            }
            (Some(status), Some(k)) if status.is_final() => match self.close(k) {
                Some(mut tx) => {
                    tx.response = Some(Arc::clone(m));
                    Observed::Done(Box::new(tx))
                }
                None => Observed::Other,
            },
            (Some(_), Some(k)) => {
                if let Some(o) = self.open.get_mut(k) {
                    o.tx.provisional.get_or_insert(at);
                }
                Observed::Other
            }
            (Some(_), None) => Observed::Other,
        }
    }

    /// Sets the call of a transaction [`Tracker::observe`] began.
    pub fn set_call(&mut self, key: Key, call: Option<usize>) {
        if let Some(o) = self.open.get_mut(key) {
            o.tx.call = call;
        }
    }

    fn close(&mut self, key: Key) -> Option<Transaction> {
        let o = self.open.remove(key)?;
        self.by_hash.remove(&o.hash);
        Some(o.tx)
    }

    /// The next transaction whose Timer F ran out by `now`, unanswered.
    pub fn expire(&mut self, now: i64) -> Option<Transaction> {
        while let Some(&(at, key)) = self.queue.front() {
            if at > now {
                return None;
            }
            self.queue.pop_front();
            if let Some(tx) = self.close(key) {
                return Some(tx);
            }
        }
        None
    }

    /// Every transaction still open (the capture ended), in order of first transmission.
    pub fn drain(&mut self) -> Vec<Transaction> {
        let mut out = Vec::new();
        while let Some((_, key)) = self.queue.pop_front() {
            if let Some(mut tx) = self.close(key) {
                tx.open_at_end = true;
                out.push(tx);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::correlate::testkit::{req, resp, APP, CALLER};

    fn observe(t: &mut Tracker, m: &Message) -> Observed {
        t.observe(&Arc::new(m.clone()))
    }

    fn done(t: &mut Tracker, m: &Message) -> Option<Transaction> {
        match observe(t, m) {
            Observed::Done(tx) => Some(*tx),
            _ => None,
        }
    }

    #[test]
    fn a_request_its_retransmissions_and_its_final_response_are_one_transaction() {
        let mut t = Tracker::new(Limits::default());
        let mut msgs = vec![
            req(1, 0.0, CALLER, APP, Method::Options, 5),
            req(2, 500.0, CALLER, APP, Method::Options, 5),
            resp(3, 600.0, APP, CALLER, 100, Method::Options, 5),
            resp(4, 700.0, APP, CALLER, 200, Method::Options, 5),
        ];
        // The testkit gives each message its own branch; a retransmission repeats the request's.
        for m in &mut msgs {
            m.branch = Some("z9hG4bK1".into());
        }
        assert!(matches!(observe(&mut t, &msgs[0]), Observed::New(_)));
        assert!(done(&mut t, &msgs[1]).is_none());
        assert!(done(&mut t, &msgs[2]).is_none());
        let tx = done(&mut t, &msgs[3]).expect("answered");
        assert_eq!(
            (tx.sent_count, tx.status(), tx.frames()),
            (2, Some(StatusCode(200)), vec![1, 2, 3, 4])
        );
        assert!(t.is_empty());
    }

    #[test]
    fn an_unanswered_request_ends_at_timer_f_and_invites_are_not_tracked() {
        let mut t = Tracker::new(Limits::default());
        let m = req(1, 0.0, CALLER, APP, Method::Other("MESSAGE".into()), 1);
        observe(&mut t, &m);
        observe(&mut t, &req(2, 1.0, CALLER, APP, Method::Invite, 1));
        assert_eq!(t.len(), 1);
        assert!(t.expire(m.ts_ns + TIMER_B_NS - 1).is_none());
        let tx = t.expire(m.ts_ns + TIMER_B_NS).expect("timed out");
        assert!(tx.unanswered() && tx.response.is_none());
        assert!(t.expire(i64::MAX).is_none());
    }

    #[test]
    fn a_response_on_another_branch_or_beyond_the_limit_is_no_transaction() {
        let mut t = Tracker::new(Limits { open: 1 });
        observe(&mut t, &req(1, 0.0, CALLER, APP, Method::Bye, 2));
        observe(&mut t, &req(2, 0.0, CALLER, APP, Method::Bye, 3));
        assert_eq!((t.len(), t.untracked), (1, 1));
        let mut other = resp(3, 5.0, APP, CALLER, 200, Method::Bye, 2);
        other.branch = Some("z9hG4bKelsewhere".into());
        assert!(done(&mut t, &other).is_none());
        let drained = t.drain();
        assert_eq!(drained.len(), 1);
        assert!(drained[0].open_at_end && !drained[0].unanswered());
    }
}
