//! SIP messages grouped by Call-ID as capture time passes, and when each group has ended.
//!
//! Takes [`Message`]s in capture order with the capture clock; keeps the groups that are still open
//! and says when each is due to be finalized ([`Dialogs::due`]): a call has ended when its BYE was
//! answered, its final failure acknowledged (or given up after Timer H), its INVITE went unanswered
//! past Timer B, it rang past Timer C, or it was silent past the idle bound; the group is due a grace
//! window after that, so that late retransmissions, late media and the transport evidence still
//! reach it (RFC 3261 §17 timers, §15 BYE). Groups without an INVITE (REGISTER, OPTIONS, ...) are
//! due after [`OTHER_IDLE_NS`] of silence.
//! A finalized Call-ID leaves a tombstone for [`TOMBSTONE_NS`]: a late retransmission is still
//! counted (as tshark counts it) but opens no new group. Tombstones and the last signatures keep
//! 64-bit prints of what they compare (see the `print` function), not the Call-IDs, addresses and
//! methods.
//! Retransmissions follow Wireshark's `sip.resend` (see `calls`). Memory is bounded by the groups
//! open at once ([`Limits::open_call_ids`]) and [`MAX_MESSAGES_PER_CALL`] per group.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::net::SocketAddr;
use std::sync::Arc;

use rustc_hash::FxHashMap;

use super::calls::{build_call, build_other, Call, OtherDialog, Seen, SipStats};
use super::message::{Kind, Message, Method};
use super::slab::{Key, Slab};
use crate::proto::sip::StatusCode;

/// 64·T1: Timer B (INVITE client transaction), F (non-INVITE) and H (wait for ACK), RFC 3261 §17.
pub const TIMER_B_NS: i64 = 32_000_000_000;
/// Timer C: a proxy gives up on a ringing INVITE after more than 3 minutes (RFC 3261 §16.6).
pub const TIMER_C_NS: i64 = 180_000_000_000;
/// How long after a call ended its group stays open for late packets and evidence.
pub const GRACE_NS: i64 = 5_000_000_000;
/// Silence after which a group without an INVITE is finalized.
pub const OTHER_IDLE_NS: i64 = 300_000_000_000;
/// How long a finalized Call-ID is remembered.
pub const TOMBSTONE_NS: i64 = TIMER_B_NS;
/// Messages kept per Call-ID at most.
pub const MAX_MESSAGES_PER_CALL: usize = 10_000;
/// Distinct request method names counted separately at most.
const MAX_METHOD_NAMES: usize = 256;
/// Where requests with further method names are counted.
const OTHER_METHODS: &str = "(other methods)";

/// Bounds on open state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Call-IDs open at once; messages of further Call-IDs are counted, not correlated.
    pub open_call_ids: usize,
    /// Silence after which an answered call without BYE is finalized.
    pub idle_ns: i64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            open_call_ids: 200_000,
            idle_ns: 3_600_000_000_000,
        }
    }
}

/// What a message repeats when it is a retransmission: request or response, method or status, CSeq.
#[derive(Hash)]
struct Signature<'m> {
    what: What<'m>,
    cseq: Option<(u32, &'m Method)>,
}

/// A direction of a Call-ID's messages: source, destination.
type Direction = (SocketAddr, SocketAddr);

/// 64 bits of SipHash with fixed keys (so every run agrees) over `value`. What is only ever
/// compared for equality is kept as its print: a [`Signature`] and its [`Direction`] take 16 bytes
/// instead of 120, a tombstone's Call-ID 8 instead of two strings. Two different values share a
/// print with odds of 2^-64: a retransmission miscounted, or a new Call-ID taken for a late one.
fn print(value: &impl Hash) -> u64 {
    let mut hasher = DefaultHasher::new();
    value.hash(&mut hasher);
    hasher.finish()
}

/// Directions a Call-ID keeps its last signatures in a list for, before a map.
const FEW_DIRECTIONS: usize = 8;

/// The print of the last message's signature per direction's print. Most Call-IDs go both ways
/// between two hosts: a list of exactly their directions (32 bytes for two; a finalized Call-ID
/// keeps it for [`TOMBSTONE_NS`]), and a map once there are more than [`FEW_DIRECTIONS`], so that
/// many directions cost no more per message than a map.
enum Last {
    Few(Vec<(u64, u64)>),
    /// Boxed: the list's 24 bytes are the size of a tombstone's value.
    Many(Box<FxHashMap<u64, u64>>),
}

impl Default for Last {
    fn default() -> Self {
        Last::Few(Vec::new())
    }
}

impl Last {
    /// Remembers `signature` as the last in `direction` (prints both); the one before it there.
    fn insert(&mut self, direction: u64, signature: u64) -> Option<u64> {
        let list = match self {
            Last::Many(map) => return map.insert(direction, signature),
            Last::Few(list) => list,
        };
        if let Some((_, s)) = list.iter_mut().find(|(d, _)| *d == direction) {
            return Some(std::mem::replace(s, signature));
        }
        if list.len() < FEW_DIRECTIONS {
            // Exactly the directions seen, not the four a first push reserves.
            list.reserve_exact(1);
            list.push((direction, signature));
        } else {
            let mut map: FxHashMap<u64, u64> = list.drain(..).collect();
            map.insert(direction, signature);
            *self = Last::Many(Box::new(map));
        }
        None
    }
}

/// The request's method or the response's status.
#[derive(Hash)]
enum What<'m> {
    Request(&'m Method),
    Response(StatusCode),
}

/// How far a call has got, updated message by message (enough to know when it ended).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    /// CSeq and first time of the latest INVITE sent outside a dialog (a new one follows a challenge).
    invite: Option<(u32, i64)>,
    /// Time of the first 2xx to an initial INVITE.
    pub answered_ts: Option<i64>,
    /// The latest final non-2xx to the latest initial INVITE: time, status.
    failure: Option<(i64, StatusCode)>,
    /// An ACK after that failure.
    failure_acked: Option<i64>,
    /// The latest provisional response to the initial INVITE.
    provisional_ts: Option<i64>,
    /// The first BYE, and the first final response to a BYE.
    bye_ts: Option<i64>,
    bye_answered_ts: Option<i64>,
    /// Time of the last message.
    pub last_ts: i64,
    /// A message was seen (the first one decides [`Progress::mid_call`]).
    seen: bool,
    /// The group began with a request inside an INVITE dialog (a BYE, re-INVITE, UPDATE, ...): a
    /// call set up before the capture started.
    pub mid_call: bool,
}

/// Whether a message is a request inside an established INVITE dialog (it has a To tag), of a
/// method only such dialogs carry: what a capture that starts mid-call sees first.
fn in_invite_dialog(m: &Message) -> bool {
    m.to_tag.is_some()
        && match m.method() {
            Some(Method::Bye | Method::Ack | Method::Invite) => true,
            Some(Method::Other(name)) => ["UPDATE", "INFO", "PRACK"]
                .iter()
                .any(|n| name.eq_ignore_ascii_case(n)),
            _ => false,
        }
}

/// When a group has ended, or since when it has been quiet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    /// The call ended at this time (its grace window follows).
    At(i64),
    /// An answered call that is still up: its last SIP message (silence is measured from its last
    /// packet of any kind, see [`Dialogs::postpone`]).
    Up(i64),
    /// A group without an INVITE, last heard of at this time.
    Quiet(i64),
}

impl Progress {
    /// Takes the next message of the group into account.
    pub fn push(&mut self, m: &Message) {
        if !self.seen {
            self.seen = true;
            self.mid_call = in_invite_dialog(m);
        }
        self.last_ts = self.last_ts.max(m.ts_ns);
        let cseq = m.cseq_seq();
        match &m.kind {
            Kind::Request {
                method: Method::Invite,
                ..
            } if m.to_tag.is_none() && !self.mid_call => {
                let seq = cseq.unwrap_or_default();
                if self.invite.is_none_or(|(s, _)| seq > s) {
                    // A new initial INVITE (after a 401/407): the previous outcome is history.
                    self.invite = Some((seq, m.ts_ns));
                    self.failure = None;
                    self.failure_acked = None;
                }
            }
            Kind::Request {
                method: Method::Ack,
                ..
            } => {
                if let Some((t, _)) = self.failure {
                    if m.ts_ns >= t && cseq == self.invite.map(|(s, _)| s) {
                        self.failure_acked.get_or_insert(m.ts_ns);
                    }
                }
            }
            Kind::Request {
                method: Method::Bye,
                ..
            } => {
                self.bye_ts.get_or_insert(m.ts_ns);
            }
            Kind::Request { .. } => {}
            Kind::Response { status, .. } => match m.cseq_method() {
                Some(Method::Invite) if cseq == self.invite.map(|(s, _)| s) => {
                    if status.is_success() {
                        self.answered_ts.get_or_insert(m.ts_ns);
                    } else if status.is_final() {
                        self.failure = Some((m.ts_ns, *status));
                    } else {
                        self.provisional_ts = Some(m.ts_ns);
                    }
                }
                Some(Method::Bye) if status.is_final() => {
                    self.bye_answered_ts.get_or_insert(m.ts_ns);
                }
                _ => {}
            },
        }
    }

    /// Whether the group is a call (it saw an INVITE outside a dialog, or began inside one).
    pub fn is_call(&self) -> bool {
        self.invite.is_some() || self.mid_call
    }

    /// When the group ended (RFC 3261 §15, §17).
    pub fn end(&self) -> End {
        let invite_ts = match self.invite {
            Some((_, ts)) => ts,
            None if self.mid_call => self.last_ts,
            None => return End::Quiet(self.last_ts),
        };
        // A call that began before the capture is up until its BYE, like an answered one.
        if self.answered_ts.is_some() || self.mid_call {
            return match (self.bye_answered_ts, self.bye_ts) {
                (Some(t), _) => End::At(t),
                // A BYE nobody answered: its client transaction gives up after Timer F.
                (None, Some(t)) => End::At(t.saturating_add(TIMER_B_NS)),
                (None, None) => End::Up(self.last_ts),
            };
        }
        if let Some((t, status)) = self.failure {
            // A challenge is usually answered by a new INVITE with credentials: wait for it as long
            // as the server would wait for the ACK.
            let challenge = matches!(status.0, 401 | 407);
            return match self.failure_acked {
                Some(ack) if !challenge => End::At(ack),
                _ => End::At(t.saturating_add(TIMER_B_NS)),
            };
        }
        match self.provisional_ts {
            Some(t) => End::At(t.saturating_add(TIMER_C_NS)),
            None => End::At(invite_ts.saturating_add(TIMER_B_NS)),
        }
    }

    /// When the group is due to be finalized, with `idle_ns` the bound for answered calls.
    pub fn deadline(&self, idle_ns: i64) -> i64 {
        match self.end() {
            End::At(t) => t.saturating_add(GRACE_NS),
            End::Up(t) => t.saturating_add(idle_ns),
            End::Quiet(t) => t.saturating_add(OTHER_IDLE_NS),
        }
    }
}

/// Everything seen under one Call-ID while it is open.
pub struct Group {
    pub call_id: String,
    /// The call's 0-based index in the call list, once an INVITE made the group a call.
    pub index: Option<usize>,
    pub messages: Vec<Seen>,
    last: Last,
    pub progress: Progress,
    /// The deadline its queue entry carries.
    queued: i64,
}

/// What a finalized Call-ID leaves behind for a while.
struct Tomb {
    last: Last,
}

/// Where a message went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placed {
    /// Into an open group; `new_call` when this message made it a call.
    Group { key: Key, new_call: bool },
    /// Counted only: no Call-ID, beyond a limit, or a late message of a finalized Call-ID.
    Counted,
}

/// A finalized group.
pub enum Finished {
    Call { index: usize, call: Call },
    Other(OtherDialog),
}

/// Builds dialogs from SIP messages in capture order.
pub struct Dialogs {
    limits: Limits,
    open: FxHashMap<String, Key>,
    groups: Slab<Group>,
    queue: BinaryHeap<Reverse<(i64, Key)>>,
    /// By the Call-ID's print.
    tombs: FxHashMap<u64, Tomb>,
    tomb_order: VecDeque<(i64, u64)>,
    next_index: usize,
    pub stats: SipStats,
}

impl Dialogs {
    pub fn new(limits: Limits) -> Dialogs {
        Dialogs {
            limits,
            open: FxHashMap::default(),
            groups: Slab::default(),
            queue: BinaryHeap::new(),
            tombs: FxHashMap::default(),
            tomb_order: VecDeque::new(),
            next_index: 0,
            stats: SipStats::default(),
        }
    }

    /// The open group of `key`.
    pub fn get(&self, key: Key) -> Option<&Group> {
        self.groups.get(key)
    }

    /// Open groups.
    pub fn open(&self) -> usize {
        self.groups.len()
    }

    /// Adds the next message in capture order.
    pub fn push(&mut self, msg: impl Into<Arc<Message>>) -> Placed {
        let msg = msg.into();
        self.count(&msg);
        if msg.call_id.is_empty() {
            self.stats.without_call_id += 1;
            return Placed::Counted;
        }
        let signature = signature(&msg);
        if let Some(tomb) = self.tombs.get_mut(&print(&msg.call_id)) {
            if resent(&mut tomb.last, &msg, signature) {
                self.stats.resent += 1;
            }
            self.stats.late += 1;
            return Placed::Counted;
        }
        let key = match self.open.get(&msg.call_id) {
            Some(&key) => key,
            None if self.groups.len() >= self.limits.open_call_ids => {
                self.stats.untracked += 1;
                return Placed::Counted;
            }
            None => {
                let key = self.groups.insert(Group {
                    call_id: msg.call_id.clone(),
                    index: None,
                    messages: Vec::new(),
                    last: Last::default(),
                    progress: Progress::default(),
                    queued: i64::MAX,
                });
                self.open.insert(msg.call_id.clone(), key);
                key
            }
        };
        let idle = self.limits.idle_ns;
        let group = self.groups.get_mut(key).expect("an open key names a group");
        if group.messages.len() >= MAX_MESSAGES_PER_CALL {
            self.stats.untracked += 1;
            return Placed::Counted;
        }
        let is_resent = resent(&mut group.last, &msg, signature);
        if is_resent {
            self.stats.resent += 1;
        }
        let was_call = group.progress.is_call();
        group.progress.push(&msg);
        let new_call = !was_call && group.progress.is_call();
        if new_call {
            group.index = Some(self.next_index);
            self.next_index += 1;
        }
        group.messages.push(Seen {
            msg,
            resent: is_resent,
        });
        let deadline = group.progress.deadline(idle);
        // One queue entry per group: a later deadline is found when the entry comes due; an
        // earlier one needs a new entry.
        if deadline < group.queued {
            group.queued = deadline;
            self.queue.push(Reverse((deadline, key)));
        }
        Placed::Group { key, new_call }
    }

    /// The next group due at `now`, if any. Its entry leaves the queue: finalize it, or
    /// [`Dialogs::postpone`] it.
    pub fn due(&mut self, now: i64) -> Option<Key> {
        self.expire_tombs(now);
        while let Some(&Reverse((at, key))) = self.queue.peek() {
            if at > now {
                return None;
            }
            self.queue.pop();
            let idle = self.limits.idle_ns;
            let Some(group) = self.groups.get_mut(key) else {
                continue;
            };
            if group.queued != at {
                continue;
            }
            let deadline = group.progress.deadline(idle);
            if deadline > now {
                group.queued = deadline;
                self.queue.push(Reverse((deadline, key)));
                continue;
            }
            group.queued = i64::MAX;
            return Some(key);
        }
        None
    }

    /// Keeps an answered call open until `deadline` (its media is still flowing).
    pub fn postpone(&mut self, key: Key, deadline: i64) {
        if let Some(group) = self.groups.get_mut(key) {
            group.queued = deadline;
            self.queue.push(Reverse((deadline, key)));
        }
    }

    /// The idle bound for answered calls.
    pub fn idle_ns(&self) -> i64 {
        self.limits.idle_ns
    }

    /// Finalizes a group: the call or other dialog it became. `now` starts its tombstone.
    pub fn finish(&mut self, key: Key, now: i64) -> Option<Finished> {
        let group = self.groups.remove(key)?;
        self.open.remove(&group.call_id);
        let id = print(&group.call_id);
        self.tombs.insert(id, Tomb { last: group.last });
        self.tomb_order
            .push_back((now.saturating_add(TOMBSTONE_NS), id));
        let messages = group.messages;
        let mid_call = group.progress.mid_call && group.progress.invite.is_none();
        Some(match group.index {
            Some(index) => Finished::Call {
                index,
                call: build_call(messages, mid_call),
            },
            None => Finished::Other(build_other(messages)),
        })
    }

    /// Every open group, in order of first message (the order they were opened).
    pub fn open_keys(&self) -> Vec<Key> {
        let mut keys: Vec<(u64, Key)> = self
            .groups
            .iter()
            .map(|(k, g)| (g.messages.first().map_or(0, |s| s.msg.frame), k))
            .collect();
        keys.sort_unstable();
        keys.into_iter().map(|(_, k)| k).collect()
    }

    fn expire_tombs(&mut self, now: i64) {
        while let Some((at, _)) = self.tomb_order.front() {
            if *at > now {
                break;
            }
            // A Call-ID opens only while it has no tombstone, and gets one when it is finalized:
            // each tombstone has exactly one entry here.
            if let Some((_, id)) = self.tomb_order.pop_front() {
                self.tombs.remove(&id);
            }
        }
    }

    /// The `sip,stat` counts, for every message whatever becomes of it.
    fn count(&mut self, msg: &Message) {
        self.stats.messages += 1;
        match &msg.kind {
            Kind::Request { method, .. } => {
                // Method names come from the capture: past a bound they share one counter.
                let requests = &mut self.stats.requests;
                let name = if requests.len() < MAX_METHOD_NAMES
                    || requests.contains_key(method.as_str())
                {
                    method.as_str()
                } else {
                    OTHER_METHODS
                };
                match requests.get_mut(name) {
                    Some(count) => *count += 1,
                    None => {
                        requests.insert(name.to_string(), 1);
                    }
                }
            }
            Kind::Response { status, .. } => *self.stats.responses.entry(*status).or_default() += 1,
        }
        if msg.truncated {
            self.stats.truncated += 1;
        }
    }
}

/// The print of `msg`'s [`Signature`].
fn signature(msg: &Message) -> Option<u64> {
    // As Wireshark's `sip.resend`: ACKs and CANCELs are neither counted nor remembered.
    if matches!(msg.method(), Some(Method::Ack | Method::Cancel)) {
        return None;
    }
    let what = match &msg.kind {
        Kind::Request { method, .. } => What::Request(method),
        Kind::Response { status, .. } => What::Response(*status),
    };
    let cseq = msg.cseq.as_ref().map(|c| (c.seq, &c.method));
    Some(print(&Signature { what, cseq }))
}

/// Whether `msg` repeats the previous message in its direction; remembers it. Provisional responses
/// are remembered but never count as a resend.
fn resent(last: &mut Last, msg: &Message, signature: Option<u64>) -> bool {
    let Some(signature) = signature else {
        return false;
    };
    let direction: Direction = (msg.src, msg.dst);
    let previous = last.insert(print(&direction), signature);
    !msg.status().is_some_and(StatusCode::is_provisional) && previous == Some(signature)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::correlate::calls::{EndedBy, State};
    use crate::correlate::testkit::{answered, req, resp, APP, CALLER, T0};

    fn progress(msgs: &[Message]) -> Progress {
        let mut p = Progress::default();
        for m in msgs {
            p.push(m);
        }
        p
    }

    const S: i64 = 1_000_000_000;
    fn at(ms: f64) -> i64 {
        T0 + (ms * 1e6) as i64
    }

    #[test]
    fn an_answered_call_ends_when_its_bye_is_answered() {
        assert_eq!(progress(&answered(None)).end(), End::Up(at(801.0)));
        assert_eq!(progress(&answered(Some(4000.0))).end(), End::At(at(4001.0)));
        let mut msgs = answered(Some(4000.0));
        msgs.pop();
        assert_eq!(progress(&msgs).end(), End::At(at(4000.0) + 32 * S));
    }

    #[test]
    fn a_rejected_call_ends_at_its_ack_or_after_timer_h() {
        let mut msgs = vec![
            req(1, 0.0, CALLER, APP, Method::Invite, 1),
            resp(2, 5.0, APP, CALLER, 486, Method::Invite, 1),
        ];
        assert_eq!(progress(&msgs).end(), End::At(at(5.0) + 32 * S));
        msgs.push(req(3, 6.0, CALLER, APP, Method::Ack, 1));
        assert_eq!(progress(&msgs).end(), End::At(at(6.0)));
    }

    #[test]
    fn a_challenge_waits_for_the_invite_with_credentials() {
        let mut msgs = vec![
            req(1, 0.0, CALLER, APP, Method::Invite, 1),
            resp(2, 5.0, APP, CALLER, 407, Method::Invite, 1),
            req(3, 6.0, CALLER, APP, Method::Ack, 1),
        ];
        assert_eq!(progress(&msgs).end(), End::At(at(5.0) + 32 * S));
        msgs.push(req(4, 7.0, CALLER, APP, Method::Invite, 2));
        assert_eq!(progress(&msgs).end(), End::At(at(7.0) + 32 * S));
        msgs.push(resp(5, 9.0, APP, CALLER, 180, Method::Invite, 2));
        assert_eq!(progress(&msgs).end(), End::At(at(9.0) + 180 * S));
    }

    #[test]
    fn an_unanswered_invite_ends_after_timer_b_and_other_dialogs_when_quiet() {
        let invite = [req(1, 0.0, CALLER, APP, Method::Invite, 1)];
        assert_eq!(progress(&invite).end(), End::At(at(0.0) + 32 * S));
        let options = [req(1, 0.0, CALLER, APP, Method::Options, 1)];
        assert_eq!(progress(&options).end(), End::Quiet(at(0.0)));
    }

    #[test]
    fn a_group_that_begins_inside_an_invite_dialog_is_a_call_caught_mid_call() {
        // The capture began after the call was set up: its BYE is the first thing seen.
        let bye = [
            req(1, 0.0, CALLER, APP, Method::Bye, 2),
            resp(2, 1.0, APP, CALLER, 200, Method::Bye, 2),
        ];
        let p = progress(&bye);
        assert!(p.is_call() && p.mid_call);
        assert_eq!(p.end(), End::At(at(1.0)));
        // Up until its BYE, like an answered call.
        assert_eq!(progress(&bye[..0]).end(), End::Quiet(0));
        let info = [req(1, 0.0, CALLER, APP, Method::Other("INFO".into()), 3)];
        assert_eq!(progress(&info).end(), End::Up(at(0.0)));
        // An OPTIONS or a NOTIFY inside another kind of dialog is not a call.
        let notify = [req(1, 0.0, CALLER, APP, Method::Other("NOTIFY".into()), 3)];
        assert!(!progress(&notify).is_call());
        let mut d = Dialogs::new(Limits::default());
        for m in bye {
            d.push(m);
        }
        let now = at(1.0) + GRACE_NS;
        let key = d.due(now).expect("due");
        match d.finish(key, now) {
            Some(Finished::Call { call, .. }) => {
                assert_eq!(call.state, State::MidCall);
                assert_eq!(call.invite().frame, 1);
                assert_eq!(call.ended_by, Some(EndedBy::Caller));
            }
            _ => panic!("a call"),
        }
    }

    #[test]
    fn a_late_retransmission_after_finalization_is_counted_not_reopened() {
        let mut d = Dialogs::new(Limits::default());
        for m in answered(Some(4000.0)) {
            d.push(m);
        }
        let now = at(4001.0) + GRACE_NS;
        let key = d.due(now).expect("due after its grace window");
        assert!(matches!(
            d.finish(key, now),
            Some(Finished::Call { index: 0, .. })
        ));
        let late = resp(9001, 4500.0, APP, CALLER, 200, Method::Bye, 2);
        assert_eq!(d.push(late), Placed::Counted);
        assert_eq!((d.stats.late, d.stats.resent, d.open()), (1, 1, 0));
    }

    #[test]
    fn the_last_signatures_of_many_directions_move_to_a_map_and_stay_whole() {
        let mut last = Last::default();
        let sig = |seq| {
            print(&Signature {
                what: What::Request(&Method::Invite),
                cseq: Some((seq, &Method::Invite)),
            })
        };
        let dir = |port: u16| {
            let src = SocketAddr::from(([192, 0, 2, 1], port));
            let direction: Direction = (src, SocketAddr::from(([192, 0, 2, 2], 5060)));
            print(&direction)
        };
        for port in 0..20 {
            assert!(last.insert(dir(port), sig(1)).is_none());
            let few = usize::from(port) < FEW_DIRECTIONS;
            assert_eq!(matches!(last, Last::Few(_)), few, "{port} directions");
        }
        for port in 0..20 {
            assert!(last.insert(dir(port), sig(2)) == Some(sig(1)));
        }
        assert_ne!(sig(1), sig(2));
        assert_eq!(std::mem::size_of::<Tomb>(), 24);
    }

    #[test]
    fn beyond_the_open_limit_new_call_ids_are_counted_and_open_ones_keep_going() {
        let mut d = Dialogs::new(Limits {
            open_call_ids: 1,
            ..Limits::default()
        });
        let mut first = answered(Some(4000.0)).into_iter();
        d.push(first.next().expect("an INVITE"));
        let other = req(50, 1.0, CALLER, APP, Method::Invite, 1);
        let mut other = other;
        other.call_id = "call-2".into();
        assert_eq!(d.push(other), Placed::Counted);
        for m in first {
            assert!(matches!(d.push(m), Placed::Group { .. }));
        }
        assert_eq!(d.stats.untracked, 1);
    }
}
