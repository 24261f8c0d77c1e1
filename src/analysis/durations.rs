//! Calls across the capture that all end at the same duration: one line for "every call drops after
//! 32 s" (a lost ACK: the callee's Timer H), "after 60 s" (a session timer whose refresh is lost), or
//! "after 30 min" (a NAT/firewall UDP timeout or a call-duration limit), with its likely cause.
//!
//! Takes each reported call; an answered call ended by a BYE counts with its duration (answer to
//! BYE) rounded to the second, up to [`MAX_SECONDS`] (longer calls are counted, not grouped). At the
//! end, durations within ±1 s of each other are grouped around the busiest second (greedy, most
//! calls first) and a group of at least [`MIN_CALLS`] calls is a [`DurationPattern`] when what its
//! calls share names a cause ([`Cause`]):
//! - most of them carry `sip.ack_missing` (the callee gave up at Timer H), or `sip.session_expired`
//!   (the refresh was lost and the session timer ran out) — any share of the calls;
//! - otherwise, with no such finding, most were hung up by the callee side and the group is at least
//!   [`MIN_SHARE_PCT`] % of the calls ended by BYE: at 32 s (Timer H, 64×T1, with the ACK lost
//!   beyond the capture point), or at a whole number of minutes over UDP signalling (a NAT/firewall
//!   UDP timeout on the signalling path, or a maximum call duration on the far side).
//!
//! A load generator's fixed hold time (clean calls, hung up by the caller) names no cause and is not
//! a pattern. Memory is one small tally per distinct second (at most [`MAX_SECONDS`]), never per
//! call; the result does not depend on the order calls are reported in (sums, minima and maxima).

use std::collections::BTreeMap;

use crate::correlate::calls::{EndedBy, State};
use crate::correlate::message::Transport;
use crate::diagnose::DiagnosedCall;

/// Calls longer than this (in seconds) are counted, not grouped.
pub const MAX_SECONDS: u32 = 4 * 3600;
/// Calls a group needs to be a pattern.
pub const MIN_CALLS: u64 = 3;
/// The share of the calls ended by BYE (percent) a group needs when no finding backs its cause.
pub const MIN_SHARE_PCT: u64 = 10;
/// RFC 3261 Timer H (64×T1), in seconds: how long a callee waits for the ACK of its 2xx.
const TIMER_H_S: u32 = 32;

/// The likely cause of calls ending at the same duration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Cause {
    /// Their ACKs never reached the callee (`sip.ack_missing`): it hung up at Timer H.
    AckMissing,
    /// Their session refreshes went unanswered (`sip.session_expired`): the session timer ran out.
    SessionTimer,
    /// No finding, hung up by the callee 32 s after the answer: Timer H, the ACK lost beyond the
    /// capture point.
    TimerH,
    /// No finding, hung up by the callee at a whole number of minutes over UDP: a NAT/firewall UDP
    /// timeout on the signalling path or a call-duration limit.
    RoundDuration,
}

impl Cause {
    /// The name reports use.
    pub fn as_str(self) -> &'static str {
        match self {
            Cause::AckMissing => "ack_missing",
            Cause::SessionTimer => "session_timer",
            Cause::TimerH => "timer_h",
            Cause::RoundDuration => "round_duration",
        }
    }

    /// The likely cause, and what to check, in words.
    pub fn explanation(self) -> &'static str {
        match self {
            Cause::AckMissing => {
                "missing ACK: the ACKs never reached the callee, which retransmitted its 2xx until \
                 Timer H (64×T1 = 32 s) and hung up — check what drops the ACK between caller and \
                 callee (a NAT or SIP ALG rewriting the Contact, a proxy missing Record-Route, a \
                 firewall that passes the INVITE but not the ACK)"
            }
            Cause::SessionTimer => {
                "session timer: the session refreshes (RFC 4028) went unanswered and the session \
                 expired — check the route of in-dialog requests and the UDP timeouts of the \
                 firewalls on the signalling path"
            }
            Cause::TimerH => {
                "Timer H (64×T1 = 32 s): the callee hung up as if its ACK never arrived, although no \
                 ACK was missing here — the ACKs are likely lost beyond this capture point; capture \
                 next to the callee"
            }
            Cause::RoundDuration => {
                "a NAT/firewall UDP timeout on the signalling path, or a maximum call duration on the \
                 far side: check the UDP session timeout of the firewalls/NATs between the hosts and \
                 the call-length limits of the SBC/PBX"
            }
        }
    }
}

/// What the calls of one duration (or group of durations) share.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Tally {
    calls: u64,
    ack_missing: u64,
    session_expired: u64,
    by_callee: u64,
    udp: u64,
    min_ms: u64,
    max_ms: u64,
    first_index: usize,
    first_ts_ns: i64,
    last_ts_ns: i64,
}

impl Tally {
    fn of(d: &DiagnosedCall, ms: u64) -> Tally {
        let has = |code: &str| u64::from(d.findings.iter().any(|f| f.code == code));
        Tally {
            calls: 1,
            ack_missing: has("sip.ack_missing"),
            session_expired: has("sip.session_expired"),
            by_callee: u64::from(d.ended_by == Some(EndedBy::Callee)),
            udp: u64::from(d.transport == Transport::Udp),
            min_ms: ms,
            max_ms: ms,
            first_index: d.index,
            first_ts_ns: d.start_ts_ns,
            last_ts_ns: d.start_ts_ns,
        }
    }

    fn merge(&mut self, o: &Tally) {
        self.calls += o.calls;
        self.ack_missing += o.ack_missing;
        self.session_expired += o.session_expired;
        self.by_callee += o.by_callee;
        self.udp += o.udp;
        self.min_ms = self.min_ms.min(o.min_ms);
        self.max_ms = self.max_ms.max(o.max_ms);
        self.first_index = self.first_index.min(o.first_index);
        self.first_ts_ns = self.first_ts_ns.min(o.first_ts_ns);
        self.last_ts_ns = self.last_ts_ns.max(o.last_ts_ns);
    }

    fn most(&self, n: u64) -> bool {
        n * 2 > self.calls
    }
}

/// Calls that ended at the same duration, with its likely cause.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DurationPattern {
    /// The duration the group is centred on, in seconds (its calls are within ±1 s of it).
    pub seconds: u32,
    pub calls: u64,
    /// The shortest and longest of its calls (answer to BYE), in milliseconds.
    pub min_ms: u64,
    pub max_ms: u64,
    pub cause: Cause,
    /// Its calls hung up by the callee side, and signalled over UDP.
    pub by_callee: u64,
    pub udp: u64,
    /// Its calls with `sip.ack_missing`, with `sip.session_expired`.
    pub ack_missing: u64,
    pub session_expired: u64,
    /// 0-based index of its first call.
    pub first_index: usize,
    /// The earliest and latest start of its calls.
    pub first_ts_ns: i64,
    pub last_ts_ns: i64,
}

/// The calls ended by BYE and the durations they share.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Durations {
    /// Answered calls ended by a BYE (the calls a duration is known for).
    pub ended: u64,
    /// Of them, longer than [`MAX_SECONDS`] (not grouped).
    pub longer: u64,
    /// The patterns, most calls first.
    pub patterns: Vec<DurationPattern>,
}

impl Durations {
    /// The share of the calls ended by BYE, in percent.
    pub fn share(&self, calls: u64) -> f64 {
        if self.ended == 0 {
            0.0
        } else {
            calls as f64 * 100.0 / self.ended as f64
        }
    }
}

/// Counts the calls' durations as they are reported.
#[derive(Default)]
pub struct DurationCounter {
    by_second: BTreeMap<u32, Tally>,
    ended: u64,
    longer: u64,
}

impl DurationCounter {
    pub fn add(&mut self, d: &DiagnosedCall) {
        if d.state != State::Answered {
            return;
        }
        let Some(ms) = d
            .timings
            .duration_ms
            .filter(|ms| ms.is_finite() && *ms >= 0.0)
        else {
            return;
        };
        self.ended += 1;
        let seconds = (ms / 1000.0).round();
        if seconds > f64::from(MAX_SECONDS) {
            self.longer += 1;
            return;
        }
        let tally = Tally::of(d, ms.round() as u64);
        self.by_second
            .entry(seconds as u32)
            .and_modify(|t| t.merge(&tally))
            .or_insert(tally);
    }

    pub fn finish(self) -> Durations {
        let window = |s: u32| -> u64 {
            self.by_second
                .range(s.saturating_sub(1)..=s.saturating_add(1))
                .map(|(_, t)| t.calls)
                .sum()
        };
        // Centres, busiest window first (ties: the shorter duration).
        let mut centres: Vec<(u64, u32)> = self
            .by_second
            .keys()
            .map(|&s| (window(s), s))
            .filter(|&(n, _)| n >= MIN_CALLS)
            .collect();
        centres.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        let mut claimed = std::collections::BTreeSet::new();
        let mut patterns = Vec::new();
        for (_, centre) in centres {
            if claimed.contains(&centre) {
                continue;
            }
            let mut group: Option<Tally> = None;
            for (&s, t) in self
                .by_second
                .range(centre.saturating_sub(1)..=centre.saturating_add(1))
            {
                if claimed.insert(s) {
                    match group.as_mut() {
                        Some(g) => g.merge(t),
                        None => group = Some(*t),
                    }
                }
            }
            let Some(g) = group.filter(|g| g.calls >= MIN_CALLS) else {
                continue;
            };
            if let Some(cause) = cause(&g, centre, self.ended) {
                patterns.push(DurationPattern {
                    seconds: centre,
                    calls: g.calls,
                    min_ms: g.min_ms,
                    max_ms: g.max_ms,
                    cause,
                    by_callee: g.by_callee,
                    udp: g.udp,
                    ack_missing: g.ack_missing,
                    session_expired: g.session_expired,
                    first_index: g.first_index,
                    first_ts_ns: g.first_ts_ns,
                    last_ts_ns: g.last_ts_ns,
                });
            }
        }
        patterns.sort_by(|a, b| b.calls.cmp(&a.calls).then(a.seconds.cmp(&b.seconds)));
        Durations {
            ended: self.ended,
            longer: self.longer,
            patterns,
        }
    }
}

/// The cause what the group's calls share names, if any (see the module doc).
fn cause(g: &Tally, centre: u32, ended: u64) -> Option<Cause> {
    if g.most(g.ack_missing) {
        return Some(Cause::AckMissing);
    }
    if g.most(g.session_expired) {
        return Some(Cause::SessionTimer);
    }
    let notable = g.calls * 100 >= MIN_SHARE_PCT * ended;
    if !notable || !g.most(g.by_callee) || g.ack_missing + g.session_expired > 0 {
        return None;
    }
    let near = |s: u32| centre.abs_diff(s) <= 1;
    if near(TIMER_H_S) {
        return Some(Cause::TimerH);
    }
    let minute = (centre + 30) / 60 * 60;
    (minute >= 60 && near(minute) && g.most(g.udp)).then_some(Cause::RoundDuration)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tally(calls: u64) -> Tally {
        Tally {
            calls,
            ack_missing: 0,
            session_expired: 0,
            by_callee: calls,
            udp: calls,
            min_ms: 0,
            max_ms: 0,
            first_index: 0,
            first_ts_ns: 0,
            last_ts_ns: 0,
        }
    }

    #[test]
    fn causes_follow_what_the_calls_share() {
        let ack = Tally {
            ack_missing: 3,
            ..tally(3)
        };
        assert_eq!(cause(&ack, 31, 1000), Some(Cause::AckMissing));
        let st = Tally {
            session_expired: 2,
            ..tally(3)
        };
        assert_eq!(cause(&st, 60, 1000), Some(Cause::SessionTimer));
        // Without a finding: only a notable share, hung up by the callee, at a timer's value.
        assert_eq!(cause(&tally(3), 32, 10), Some(Cause::TimerH));
        assert_eq!(cause(&tally(3), 1801, 10), Some(Cause::RoundDuration));
        assert_eq!(cause(&tally(3), 899, 10), Some(Cause::RoundDuration));
        assert_eq!(cause(&tally(3), 1800, 1000), None, "3 of 1000 calls");
        assert_eq!(cause(&tally(3), 45, 10), None, "not a round value");
        assert_eq!(cause(&tally(3), 1, 10), None, "a second is no minute");
        let by_caller = Tally {
            by_callee: 1,
            ..tally(3)
        };
        assert_eq!(cause(&by_caller, 1800, 10), None, "the caller hung up");
        let tcp = Tally { udp: 0, ..tally(3) };
        assert_eq!(cause(&tcp, 1800, 10), None, "no UDP timeout on TCP");
    }

    #[test]
    fn durations_within_a_second_group_around_the_busiest() {
        let at = |s: u32, calls: u64| {
            let mut t = tally(calls);
            t.min_ms = u64::from(s) * 1000;
            t.max_ms = t.min_ms;
            (s, t)
        };
        let counter = DurationCounter {
            // 31–34 s: the busiest window is around 33 (32–34 s, 5 calls), which leaves 31 s alone;
            // 45 s is busier still but no timer's value; 900 s (15 min): 3 calls.
            by_second: [
                at(31, 1),
                at(32, 2),
                at(33, 1),
                at(34, 2),
                at(900, 3),
                at(45, 5),
            ]
            .into_iter()
            .collect(),
            ended: 14,
            longer: 0,
        };
        let d = counter.finish();
        let found: Vec<(u32, u64, Cause)> = d
            .patterns
            .iter()
            .map(|p| (p.seconds, p.calls, p.cause))
            .collect();
        assert_eq!(
            found,
            [(33, 5, Cause::TimerH), (900, 3, Cause::RoundDuration)],
            "{:?}",
            d.patterns
        );
        assert_eq!(
            (d.patterns[0].min_ms, d.patterns[0].max_ms),
            (32_000, 34_000)
        );
        assert_eq!(d.ended, 14);
    }
}
