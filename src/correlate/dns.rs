//! DNS lookups: queries matched to their responses, with retransmissions and a timeout for the unanswered.
//!
//! Takes in: each parsed DNS message (`proto::dns`) with its frame, time and endpoints, in capture order, and
//! the capture clock ([`Tracker::expire`]).
//! Produces: [`Lookup`]s — one per (client, server, id, question): the queries sent (a resolver's retry of the
//! same question with the same id is a retransmission), the response if one came, or none after
//! [`UNANSWERED_NS`] of silence since the last query. A lookup is over when answered or timed out, and handed
//! out once no open call holds it (the engine holds the lookups of a host while it holds a call's INVITE).
//! Does not: decide what a lookup broke (that is `diagnose::rules::dns_failed`), follow CNAME chains across
//! lookups, or keep the authority section.
//!
//! State is bounded: at most [`Limits::lookups`] lookups open at once (further queries counted); each lookup
//! keeps at most [`MAX_QUERIES`] query frames and [`MAX_ANSWERS`] records. O(1) per message: a hash lookup and
//! a queue in time order for the timeouts.

use std::collections::VecDeque;
use std::net::SocketAddr;

use rustc_hash::FxHashMap;

use super::message::Transport;
use super::transport::Released;
use crate::proto::dns::{self, Rcode, Record, Type};

/// How long after its last query a lookup with no response is over, unanswered (a stub resolver's whole
/// retry schedule is shorter: glibc's default is 5 s × 2 attempts per server).
pub const UNANSWERED_NS: i64 = 5_000_000_000;
/// Query frames kept per lookup (more are counted).
pub const MAX_QUERIES: usize = 16;
/// Answer records kept per response.
pub const MAX_ANSWERS: usize = 16;

/// Bounds on open state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub lookups: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits { lookups: 50_000 }
    }
}

/// One frame of a lookup.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sent {
    pub frame: u64,
    pub ts_ns: i64,
}

/// The response to a lookup.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    pub frame: u64,
    pub ts_ns: i64,
    pub rcode: Rcode,
    /// TC: the answer was cut (the client should ask again over TCP).
    pub truncated: bool,
    /// The answer section (at most [`MAX_ANSWERS`]).
    pub records: Vec<Record>,
}

/// One question asked by a client of a server, with its queries and its response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lookup {
    pub client: SocketAddr,
    pub server: SocketAddr,
    pub transport: Transport,
    pub id: u16,
    /// The name asked, lower case, without the final dot.
    pub name: String,
    pub qtype: Type,
    /// The first [`MAX_QUERIES`] queries; `query_count` counts them all.
    pub queries: Vec<Sent>,
    pub query_count: u32,
    pub answer: Option<Answer>,
}

/// How a lookup ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// NOERROR with records in the answer section.
    Answered,
    /// NOERROR with an empty answer: the name exists without records of this type.
    NoData,
    /// An error rcode (NXDOMAIN, SERVFAIL, REFUSED, ...).
    Error(Rcode),
    /// No response (yet: an open lookup snapshotted for a call).
    Unanswered,
}

impl Lookup {
    pub fn outcome(&self) -> Outcome {
        match &self.answer {
            None => Outcome::Unanswered,
            Some(a) if a.rcode != Rcode::NoError => Outcome::Error(a.rcode),
            Some(a) if a.records.is_empty() => Outcome::NoData,
            Some(_) => Outcome::Answered,
        }
    }

    /// An error rcode or no response: what `dns.failed` reports.
    pub fn failed(&self) -> bool {
        matches!(self.outcome(), Outcome::Error(_) | Outcome::Unanswered)
    }

    /// The first query's frame.
    pub fn first_frame(&self) -> u64 {
        self.queries.first().map_or(0, |q| q.frame)
    }

    pub fn first_ts_ns(&self) -> i64 {
        self.queries.first().map_or(0, |q| q.ts_ns)
    }

    /// The frames of its queries and its response, ascending.
    pub fn frames(&self) -> Vec<u64> {
        let mut v: Vec<u64> = self.queries.iter().map(|q| q.frame).collect();
        v.extend(self.answer.as_ref().map(|a| a.frame));
        v.sort_unstable();
        v
    }
}

/// A lookup's key: client, server, id and the question.
type LookupKey = (SocketAddr, SocketAddr, u16, Type, String);

/// An open lookup.
struct Entry {
    lookup: Lookup,
    /// When it times out if still unanswered.
    deadline: i64,
    /// Open calls holding it (the engine's call slots, as their call indexes).
    holders: Vec<usize>,
    /// Calls whose diagnosis tied it to them.
    claimed: Vec<usize>,
}

/// The open lookups; see the module doc.
pub struct Tracker {
    limits: Limits,
    ids: FxHashMap<LookupKey, u64>,
    open: FxHashMap<u64, Entry>,
    /// (deadline, id) in time order; stale when the entry's deadline moved or it was answered.
    timeouts: VecDeque<(i64, u64)>,
    /// Lookups over and held by no call, to hand out.
    ready: VecDeque<u64>,
    next_id: u64,
    untracked: u64,
}

/// What a message did.
pub enum Seen {
    /// A new lookup (its id, for the calls to hold).
    New(u64),
    /// A retransmission or a response of a known lookup, or nothing tracked.
    Other,
}

impl Tracker {
    pub fn new(limits: Limits) -> Tracker {
        Tracker {
            limits,
            ids: FxHashMap::default(),
            open: FxHashMap::default(),
            timeouts: VecDeque::new(),
            ready: VecDeque::new(),
            next_id: 0,
            untracked: 0,
        }
    }

    /// Queries beyond [`Limits::lookups`].
    pub fn untracked(&self) -> u64 {
        self.untracked
    }

    /// A DNS message between `src` and `dst`.
    pub fn message(
        &mut self,
        frame: u64,
        ts_ns: i64,
        (src, dst): (SocketAddr, SocketAddr),
        transport: Transport,
        msg: &dns::Message,
    ) -> Seen {
        let Some(q) = msg.questions.first() else {
            return Seen::Other;
        };
        let (client, server) = if msg.response { (dst, src) } else { (src, dst) };
        let key = (client, server, msg.id, q.qtype, q.name.clone());
        let sent = Sent { frame, ts_ns };
        if msg.response {
            let Some(entry) = self.ids.get(&key).and_then(|id| self.open.get_mut(id)) else {
                return Seen::Other;
            };
            if entry.lookup.answer.is_none() {
                entry.lookup.answer = Some(Answer {
                    frame,
                    ts_ns,
                    rcode: msg.rcode,
                    truncated: msg.truncated,
                    records: msg.answers.iter().take(MAX_ANSWERS).cloned().collect(),
                });
                let id = self.ids.remove(&key).unwrap_or_default();
                if entry.holders.is_empty() {
                    self.ready.push_back(id);
                }
            }
            return Seen::Other;
        }
        if let Some(entry) = self.ids.get(&key).and_then(|id| self.open.get_mut(id)) {
            entry.lookup.query_count = entry.lookup.query_count.saturating_add(1);
            if entry.lookup.queries.len() < MAX_QUERIES {
                entry.lookup.queries.push(sent);
            }
            entry.deadline = ts_ns.saturating_add(UNANSWERED_NS);
            let id = self.ids[&key];
            self.timeouts.push_back((entry.deadline, id));
            return Seen::Other;
        }
        if self.open.len() >= self.limits.lookups {
            self.untracked += 1;
            return Seen::Other;
        }
        let id = self.next_id;
        self.next_id += 1;
        let deadline = ts_ns.saturating_add(UNANSWERED_NS);
        self.open.insert(
            id,
            Entry {
                lookup: Lookup {
                    client,
                    server,
                    transport,
                    id: msg.id,
                    name: q.name.clone(),
                    qtype: q.qtype,
                    queries: vec![sent],
                    query_count: 1,
                    answer: None,
                },
                deadline,
                holders: Vec::new(),
                claimed: Vec::new(),
            },
        );
        self.ids.insert(key, id);
        self.timeouts.push_back((deadline, id));
        Seen::New(id)
    }

    /// The call `call` holds lookup `id` (it is not handed out before the call lets it go).
    pub fn hold(&mut self, id: u64, call: usize) {
        if let Some(e) = self.open.get_mut(&id) {
            if !e.holders.contains(&call) {
                e.holders.push(call);
            }
        }
    }

    /// The lookup as it stands (for a call being finalized).
    pub fn snapshot(&self, id: u64) -> Option<Lookup> {
        self.open.get(&id).map(|e| e.lookup.clone())
    }

    /// The call `call` lets lookup `id` go; `claimed`: its diagnosis tied the lookup to it.
    pub fn unhold(&mut self, id: u64, call: usize, claimed: bool) {
        let Some(e) = self.open.get_mut(&id) else {
            return;
        };
        e.holders.retain(|&c| c != call);
        if claimed {
            e.claimed.push(call);
        }
        let over = e.lookup.answer.is_some() || e.deadline == i64::MIN;
        if e.holders.is_empty() && over {
            self.ready.push_back(id);
        }
    }

    /// The next lookup over by `now` that no call holds.
    pub fn expire(&mut self, now: i64) -> Option<Released<Lookup>> {
        loop {
            if let Some(id) = self.ready.pop_front() {
                if let Some(e) = self.open.remove(&id) {
                    let mut calls = e.claimed;
                    calls.sort_unstable();
                    return Some(Released {
                        item: e.lookup,
                        calls,
                    });
                }
                continue;
            }
            let &(deadline, id) = self.timeouts.front()?;
            if deadline > now {
                return None;
            }
            self.timeouts.pop_front();
            let Some(e) = self.open.get_mut(&id) else {
                continue;
            };
            if e.deadline != deadline || e.lookup.answer.is_some() {
                continue;
            }
            // Timed out unanswered: no later query of it is a retransmission any more.
            e.deadline = i64::MIN;
            let l = &e.lookup;
            self.ids
                .remove(&(l.client, l.server, l.id, l.qtype, l.name.clone()));
            if e.holders.is_empty() {
                self.ready.push_back(id);
            }
        }
    }

    /// Ends every lookup (the capture is over): the unanswered ones as they stand.
    pub fn finish(&mut self) -> Vec<Released<Lookup>> {
        let mut ids: Vec<u64> = self.open.keys().copied().collect();
        ids.sort_unstable();
        self.ids.clear();
        self.timeouts.clear();
        self.ready.clear();
        ids.into_iter()
            .filter_map(|id| self.open.remove(&id))
            .map(|e| {
                let mut calls = e.claimed;
                calls.sort_unstable();
                Released {
                    item: e.lookup,
                    calls,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(id: u16, name: &str, response: Option<Rcode>, answers: usize) -> dns::Message {
        dns::Message {
            id,
            response: response.is_some(),
            opcode: 0,
            truncated: false,
            rcode: response.unwrap_or(Rcode::NoError),
            questions: vec![dns::Question {
                name: name.into(),
                qtype: Type::A,
                class: 1,
            }],
            answers: (0..answers)
                .map(|_| Record {
                    name: name.into(),
                    rtype: Type::A,
                    ttl: 60,
                    data: dns::Data::A([192, 0, 2, 31].into()),
                })
                .collect(),
            additional: vec![],
        }
    }

    const C: &str = "192.0.2.20:40000";
    const S: &str = "192.0.2.32:53";

    fn ends(c: &str, s: &str) -> (SocketAddr, SocketAddr) {
        (c.parse().unwrap(), s.parse().unwrap())
    }

    #[test]
    fn a_response_ends_its_lookup_and_retransmissions_are_counted() {
        let mut t = Tracker::new(Limits::default());
        let q = msg(7, "app9.lab.example", None, 0);
        assert!(matches!(
            t.message(1, 0, ends(C, S), Transport::Udp, &q),
            Seen::New(0)
        ));
        t.message(2, 1_000, ends(C, S), Transport::Udp, &q);
        let r = msg(7, "app9.lab.example", Some(Rcode::NxDomain), 0);
        t.message(3, 2_000, ends(S, C), Transport::Udp, &r);
        let done = t.expire(2_000).expect("answered");
        assert_eq!(done.item.query_count, 2);
        assert_eq!(done.item.frames(), vec![1, 2, 3]);
        assert_eq!(done.item.outcome(), Outcome::Error(Rcode::NxDomain));
        assert!(done.item.failed());
        assert!(t.expire(i64::MAX).is_none());
    }

    #[test]
    fn an_unanswered_lookup_times_out_after_its_last_query() {
        let mut t = Tracker::new(Limits::default());
        let q = msg(1, "app1.lab.example", None, 0);
        t.message(1, 0, ends(C, S), Transport::Udp, &q);
        t.message(2, 1_000_000_000, ends(C, S), Transport::Udp, &q);
        assert!(
            t.expire(UNANSWERED_NS).is_none(),
            "the retry moved the deadline"
        );
        let done = t.expire(UNANSWERED_NS + 1_000_000_000).expect("timed out");
        assert_eq!(done.item.outcome(), Outcome::Unanswered);
        assert_eq!(done.item.query_count, 2);
    }

    #[test]
    fn a_held_lookup_waits_for_its_call_and_says_who_claimed_it() {
        let mut t = Tracker::new(Limits::default());
        let q = msg(1, "app1.lab.example", None, 0);
        let Seen::New(id) = t.message(1, 0, ends(C, S), Transport::Udp, &q) else {
            panic!("new");
        };
        t.hold(id, 4);
        t.message(
            2,
            10,
            ends(S, C),
            Transport::Udp,
            &msg(1, "app1.lab.example", Some(Rcode::NoError), 1),
        );
        assert!(t.expire(20).is_none(), "held by call 4");
        assert_eq!(t.snapshot(id).unwrap().outcome(), Outcome::Answered);
        t.unhold(id, 4, true);
        let done = t.expire(30).expect("let go");
        assert_eq!(done.calls, vec![4]);
    }

    #[test]
    fn noerror_without_records_is_no_data_not_a_failure() {
        let mut t = Tracker::new(Limits::default());
        t.message(
            1,
            0,
            ends(C, S),
            Transport::Udp,
            &msg(1, "a.example", None, 0),
        );
        t.message(
            2,
            1,
            ends(S, C),
            Transport::Udp,
            &msg(1, "a.example", Some(Rcode::NoError), 0),
        );
        let done = t.expire(1).unwrap();
        assert_eq!(done.item.outcome(), Outcome::NoData);
        assert!(!done.item.failed());
    }

    #[test]
    fn lookups_beyond_the_limit_are_counted_and_responses_without_query_ignored() {
        let mut t = Tracker::new(Limits { lookups: 1 });
        t.message(
            1,
            0,
            ends(C, S),
            Transport::Udp,
            &msg(1, "a.example", None, 0),
        );
        t.message(
            2,
            0,
            ends(C, S),
            Transport::Udp,
            &msg(2, "b.example", None, 0),
        );
        assert_eq!(t.untracked(), 1);
        t.message(
            3,
            1,
            ends(S, C),
            Transport::Udp,
            &msg(9, "c.example", Some(Rcode::ServFail), 0),
        );
        assert!(t.expire(1).is_none());
        let rest = t.finish();
        assert_eq!(rest.len(), 1);
        assert_eq!(rest[0].item.name, "a.example");
    }
}
