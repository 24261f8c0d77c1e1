//! Registration bindings (RFC 3261 §10): what each REGISTER transaction did to the binding of an
//! address-of-record to a contact, as capture time passes.
//!
//! Takes the finished REGISTER [`Transaction`]s in capture order and the capture clock; hands back a
//! [`Registration`] when its binding is over: removed (a 2xx to `Expires: 0`), expired without a
//! refresh (due [`REFRESH_SLACK_NS`] after its expiry, so that a refresh sent just before it can still
//! be answered), quiet for [`FAILING_IDLE_NS`] without ever being registered, or open when the capture
//! ended. A binding is the To URI (the address-of-record) with the request's first Contact URI; a query
//! (no Contact) binds the empty contact.
//!
//! What a response means is RFC 3261's: a 2xx grants the Contact's `expires` (else the response's
//! Expires, else the requested one, else 3600 s, §10.2.1.1); 401/407 to a request without credentials
//! is the normal challenge, and to a request with credentials a refusal of them unless `stale=true`
//! (RFC 7616 §3.3: only the nonce expired); 423 carries the registrar's Min-Expires. Memory is bounded
//! by the bindings open at once ([`Limits::open`]); each keeps a few failure runs, not every attempt.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::SocketAddr;

use rustc_hash::FxHashMap;

use super::dialogs::TIMER_B_NS;
use super::message::Transport;
use super::slab::{Key, Slab};
use super::transactions::Transaction;
use super::transport::At;
use crate::proto::sip::StatusCode;

/// How long after its expiry a binding waits for a refresh that was sent before it (Timer F).
pub const REFRESH_SLACK_NS: i64 = TIMER_B_NS;
/// Silence after which a binding that was never registered is over.
pub const FAILING_IDLE_NS: i64 = 300_000_000_000;
/// The expiry a registrar grants when nothing says otherwise (RFC 3261 §10.2.1.1).
pub const DEFAULT_EXPIRES: u32 = 3600;
/// Distinct failures kept per binding, and example frames per failure.
const MAX_FAILURES: usize = 8;
const MAX_FRAMES: usize = 8;

/// Bounds on open state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Bindings open at once; REGISTERs of further bindings are counted, not tracked.
    pub open: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { open: 100_000 }
    }
}

/// What went wrong with a REGISTER.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Failure {
    /// A 401/407 (not stale) or a 403 to a REGISTER that carried credentials: they were refused.
    CredentialsRefused,
    /// 403 to a REGISTER without credentials: refused by policy.
    Forbidden,
    /// 404 (or 604): the address-of-record is unknown there.
    NotFound,
    /// 423 Interval Too Brief: the expiry asked was under the registrar's minimum.
    TooBrief,
    /// No final response at all (Timer F).
    Unanswered,
    /// Another final 3xx–6xx.
    Rejected,
}

impl Failure {
    /// The name reports use.
    pub fn as_str(self) -> &'static str {
        match self {
            Failure::CredentialsRefused => "credentials_refused",
            Failure::Forbidden => "forbidden",
            Failure::NotFound => "not_found",
            Failure::TooBrief => "interval_too_brief",
            Failure::Unanswered => "unanswered",
            Failure::Rejected => "rejected",
        }
    }
}

/// One kind of failure of a binding: how often, when first and last, with which statuses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailureRun {
    pub failure: Failure,
    /// The final status (none for [`Failure::Unanswered`]); the latest one.
    pub status: Option<StatusCode>,
    /// Its reason phrase.
    pub reason: String,
    pub count: u32,
    pub first: At,
    pub last: At,
    /// The frames of the first few (requests and responses).
    pub frames: Vec<u64>,
    /// For [`Failure::TooBrief`]: the expiry asked and the registrar's Min-Expires.
    pub asked: Option<u32>,
    pub min_expires: Option<u32>,
    /// Transmissions of the unanswered REGISTERs.
    pub transmissions: u32,
}

/// The latest successful registration of a binding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Registered {
    /// The 2xx.
    pub at: At,
    /// The expiry granted, in seconds.
    pub granted: u32,
    /// When the binding expires unless refreshed.
    pub expires_ts_ns: i64,
}

/// A binding that lapsed: it expired, and a REGISTER came only later.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lapse {
    pub expired_ts_ns: i64,
    pub renewed: At,
}

/// One binding, over; see the module doc.
#[derive(Clone, Debug, PartialEq)]
pub struct Registration {
    /// The address-of-record (To URI without parameters).
    pub aor: String,
    /// The Contact URI (empty for a query, `*` to remove all).
    pub contact: String,
    /// Where the latest REGISTER came from and went.
    pub client: SocketAddr,
    pub registrar: SocketAddr,
    pub transport: Transport,
    pub call_id: String,
    pub user_agent: Option<String>,
    /// The username of the latest credentials sent.
    pub username: Option<String>,
    pub first: At,
    pub last: At,
    /// REGISTER transactions, challenges (401/407 answered normally) and successes.
    pub attempts: u32,
    pub challenges: u32,
    pub successes: u32,
    /// The expiry the latest REGISTER asked for.
    pub requested: Option<u32>,
    pub registered: Option<Registered>,
    /// Removed by a 2xx to `Expires: 0`.
    pub removed: Option<At>,
    /// It expired with no refresh (when), and was over then.
    pub expired_ts_ns: Option<i64>,
    pub lapses: Vec<Lapse>,
    /// What went wrong, by kind, in order of first occurrence.
    pub failures: Vec<FailureRun>,
    /// The latest REGISTER's outcome was a failure (the binding ended failing).
    pub failing: bool,
    /// A challenge to a REGISTER without credentials that no REGISTER with credentials followed.
    pub unanswered_challenge: Option<At>,
    /// Still open when the capture ended, and when that was.
    pub open_at_end: Option<i64>,
}

impl Registration {
    /// How the binding ended: `registered` (still, when the capture ended), `removed`, `expired`,
    /// `failing` (its latest REGISTER failed) or `unregistered` (never registered, nothing failed:
    /// a challenge not yet answered).
    pub fn state(&self) -> &'static str {
        if self.removed.is_some() {
            "removed"
        } else if self.expired_ts_ns.is_some() {
            "expired"
        } else if self.failing {
            "failing"
        } else if self.registered.is_some() {
            "registered"
        } else {
            "unregistered"
        }
    }
}

struct Open {
    reg: Registration,
    key: (String, String),
    due: i64,
}

/// The open bindings; see the module doc.
#[derive(Default)]
pub struct Tracker {
    limits: Limits,
    index: FxHashMap<(String, String), Key>,
    open: Slab<Open>,
    queue: BinaryHeap<Reverse<(i64, Key)>>,
    /// REGISTERs of bindings not tracked because of [`Limits::open`].
    pub untracked: u64,
    /// The most open at once.
    pub peak: usize,
}

/// A URI without its parameters and headers, for comparing addresses-of-record.
fn bare(uri: &str) -> &str {
    uri.split([';', '?']).next().unwrap_or(uri)
}

fn failure_of(status: StatusCode, credentials: bool, stale: bool) -> Option<Failure> {
    Some(match status.0 {
        200..=299 => return None,
        401 | 407 if credentials && !stale => Failure::CredentialsRefused,
        401 | 407 => return None,
        403 if credentials => Failure::CredentialsRefused,
        403 => Failure::Forbidden,
        404 | 604 => Failure::NotFound,
        423 => Failure::TooBrief,
        _ => Failure::Rejected,
    })
}

impl Registration {
    /// The expiry a REGISTER asked for: its Contact's `expires`, else its Expires header.
    fn asked(tx: &Transaction) -> Option<u32> {
        let f = tx.request.fields();
        f.bindings.first().and_then(|b| b.expires).or(f.expires)
    }

    fn fail(&mut self, failure: Failure, tx: &Transaction, at: At) {
        let status = tx.status();
        let reason = tx.response.as_ref().map(|r| r.label()).unwrap_or_default();
        let frames = tx.frames();
        self.failing = true;
        let found = self.failures.iter().position(|r| r.failure == failure);
        let run = match found {
            Some(i) => &mut self.failures[i],
            None if self.failures.len() < MAX_FAILURES => {
                self.failures.push(FailureRun {
                    failure,
                    status,
                    reason: reason.clone(),
                    count: 0,
                    first: at,
                    last: at,
                    frames: Vec::new(),
                    asked: None,
                    min_expires: None,
                    transmissions: 0,
                });
                self.failures.last_mut().expect("just pushed")
            }
            None => return,
        };
        run.count += 1;
        run.last = at;
        run.status = status.or(run.status);
        if !reason.is_empty() {
            run.reason = reason;
        }
        for f in frames {
            if run.frames.len() < MAX_FRAMES {
                run.frames.push(f);
            }
        }
        run.transmissions = run.transmissions.saturating_add(tx.sent_count);
        if failure == Failure::TooBrief {
            run.asked = Registration::asked(tx);
            run.min_expires = tx.response.as_ref().and_then(|r| r.fields().min_expires);
        }
    }

    /// Takes one finished REGISTER transaction into account.
    fn apply(&mut self, tx: &Transaction) {
        let req = &tx.request;
        let sent = At {
            frame: req.frame,
            ts_ns: req.ts_ns,
        };
        let at = tx.response.as_ref().map_or(sent, |r| At {
            frame: r.frame,
            ts_ns: r.ts_ns,
        });
        self.attempts += 1;
        self.last = self.last.max(at);
        self.client = tx.client;
        self.registrar = tx.server;
        self.transport = tx.transport;
        self.call_id.clone_from(&req.call_id);
        if req.user_agent.is_some() {
            self.user_agent = req.user_agent.as_deref().map(str::to_string);
        }
        let credentials = req.fields().credentials.as_ref();
        if let Some(c) = credentials {
            self.username.clone_from(&c.username);
            self.unanswered_challenge = None;
        }
        self.requested = Registration::asked(tx);
        if let Some(reg) = self.registered {
            if req.ts_ns > reg.expires_ts_ns && self.lapses.len() < MAX_FAILURES {
                self.lapses.push(Lapse {
                    expired_ts_ns: reg.expires_ts_ns,
                    renewed: sent,
                });
            }
        }
        let Some(response) = tx.response.as_ref() else {
            if tx.unanswered() {
                self.fail(Failure::Unanswered, tx, sent);
            }
            return;
        };
        let status = response.status().unwrap_or(StatusCode(0));
        let stale = response
            .fields()
            .challenge
            .as_ref()
            .is_some_and(|c| c.stale);
        if let Some(failure) = failure_of(status, credentials.is_some(), stale) {
            return self.fail(failure, tx, at);
        }
        if !status.is_success() {
            // A challenge: the phone is expected to send its credentials next.
            self.challenges += 1;
            self.failing = false;
            self.unanswered_challenge = Some(at);
            return;
        }
        self.failing = false;
        self.successes += 1;
        if self.requested == Some(0) || self.contact == "*" {
            self.removed = Some(at);
            self.registered = None;
            return;
        }
        let granted = response
            .fields()
            .bindings
            .iter()
            .find(|b| bare(&b.uri) == bare(&self.contact))
            .and_then(|b| b.expires)
            .or(response.fields().expires)
            .or(self.requested)
            .unwrap_or(DEFAULT_EXPIRES);
        self.registered = Some(Registered {
            at,
            granted,
            expires_ts_ns: at.ts_ns.saturating_add(i64::from(granted) * 1_000_000_000),
        });
    }

    /// When the binding is over unless another REGISTER comes.
    fn due(&self) -> i64 {
        match (self.removed, self.registered) {
            (Some(at), _) => at.ts_ns,
            (None, Some(r)) => r.expires_ts_ns.saturating_add(REFRESH_SLACK_NS),
            (None, None) => self.last.ts_ns.saturating_add(FAILING_IDLE_NS),
        }
    }
}

impl Tracker {
    pub fn new(limits: Limits) -> Tracker {
        Tracker {
            limits,
            ..Tracker::default()
        }
    }

    /// Open bindings.
    pub fn len(&self) -> usize {
        self.open.len()
    }

    pub fn is_empty(&self) -> bool {
        self.open.is_empty()
    }

    /// Takes a finished REGISTER transaction into account.
    pub fn transaction(&mut self, tx: &Transaction) {
        let req = &tx.request;
        let contact = req
            .fields()
            .bindings
            .first()
            .map(|b| b.uri.clone())
            .unwrap_or_default();
        let key = (bare(&req.to_uri).to_string(), contact);
        let slot = match self.index.get(&key) {
            Some(&k) => k,
            None if self.open.len() >= self.limits.open => {
                self.untracked += 1;
                return;
            }
            None => {
                let first = At {
                    frame: req.frame,
                    ts_ns: req.ts_ns,
                };
                let reg = Registration {
                    aor: key.0.clone(),
                    contact: key.1.clone(),
                    client: tx.client,
                    registrar: tx.server,
                    transport: tx.transport,
                    call_id: String::new(),
                    user_agent: None,
                    username: None,
                    first,
                    last: first,
                    attempts: 0,
                    challenges: 0,
                    successes: 0,
                    requested: None,
                    registered: None,
                    removed: None,
                    expired_ts_ns: None,
                    lapses: Vec::new(),
                    failures: Vec::new(),
                    failing: false,
                    unanswered_challenge: None,
                    open_at_end: None,
                };
                let k = self.open.insert(Open {
                    reg,
                    key: key.clone(),
                    due: i64::MAX,
                });
                self.index.insert(key, k);
                self.peak = self.peak.max(self.open.len());
                k
            }
        };
        let Some(open) = self.open.get_mut(slot) else {
            return;
        };
        open.reg.apply(tx);
        let due = open.reg.due();
        // One queue entry per binding at a time, as `dialogs` does: a later due time is found when
        // the entry comes due.
        if due < open.due {
            open.due = due;
            self.queue.push(Reverse((due, slot)));
        }
    }

    /// The next binding over by `now`.
    pub fn due(&mut self, now: i64) -> Option<Registration> {
        while let Some(&Reverse((at, key))) = self.queue.peek() {
            if at > now {
                return None;
            }
            self.queue.pop();
            let Some(open) = self.open.get_mut(key) else {
                continue;
            };
            if open.due != at {
                continue;
            }
            let due = open.reg.due();
            if due > now {
                open.due = due;
                self.queue.push(Reverse((due, key)));
                continue;
            }
            let mut reg = self.close(key)?;
            if reg.removed.is_none() {
                reg.expired_ts_ns = reg.registered.map(|r| r.expires_ts_ns);
            }
            return Some(reg);
        }
        None
    }

    fn close(&mut self, key: Key) -> Option<Registration> {
        let open = self.open.remove(key)?;
        self.index.remove(&open.key);
        Some(open.reg)
    }

    /// Every binding still open (the capture ended at `now`), in order of first REGISTER.
    pub fn drain(&mut self, now: i64) -> Vec<Registration> {
        let mut keys: Vec<(u64, Key)> = self
            .open
            .iter()
            .map(|(k, o)| (o.reg.first.frame, k))
            .collect();
        keys.sort_unstable();
        keys.into_iter()
            .filter_map(|(_, k)| self.close(k))
            .map(|mut reg| {
                match reg.registered {
                    Some(r) if r.expires_ts_ns < now && reg.removed.is_none() => {
                        reg.expired_ts_ns = Some(r.expires_ts_ns);
                    }
                    _ => reg.open_at_end = Some(now),
                }
                reg
            })
            .collect()
    }
}
