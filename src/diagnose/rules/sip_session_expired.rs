//! Rule: sip.session_expired
//!
//! **Trigger**: an answered call whose 2xx negotiated a session timer (RFC 4028: `Session-Expires`,
//! with its `refresher`), ended by a BYE at the session's expiry: within [`EARLY_NS`] before
//! SE − min(32 s, SE/3) (when the side that does not refresh gives up, §10) and [`LATE_NS`] after SE,
//! counted from the answer or from the latest refresh that succeeded. With a refresh (re-INVITE or
//! UPDATE inside the dialog) that got no final response or a 4xx–6xx (but 491, which is retried)
//! before the BYE; or with no refresh at all.
//!
//! **Evidence**: the 2xx with its Session-Expires, every transmission of the failed refresh and its
//! response if any, the BYE with its Reason (Q.850 cause 102, "recovery on timer expiry", is the usual
//! one).
//!
//! **Cause**: a refresh that never arrives — a firewall or SIP ALG that passes the initial INVITE but
//! drops in-dialog requests (sent to the Contact, through the Record-Route set), or a NAT/firewall UDP
//! binding that timed out during the call — or a refresher that never refreshes although it accepted
//! the timer.
//!
//! **False positives**: a user hanging up by chance at the expiry of a session that was not refreshed
//! (the window is a few seconds wide); a capture point that does not see the refresh's path.

use crate::correlate::fields::Refresher;
use crate::correlate::message::{Message, Method};
use crate::diagnose::facts::{sorted, CallFacts};
use crate::diagnose::text;
use crate::diagnose::{Finding, Severity};
use crate::words;

/// How much earlier than SE − min(32, SE/3) a BYE still counts as the expiry.
const EARLY_NS: i64 = 2_000_000_000;
/// How much later than SE a BYE still counts as the expiry.
const LATE_NS: i64 = 5_000_000_000;
/// Transmissions of a refresh listed as evidence.
const MAX_SENT: usize = 8;

/// One refresh: its transmissions and its final response.
struct Refresh<'a> {
    sent: Vec<&'a Message>,
    answer: Option<&'a Message>,
}

impl Refresh<'_> {
    /// No answer, or an error other than 491 (glare: the sender retries, RFC 3261 §14.1) and a
    /// challenge (answered by the next request).
    fn failed(&self) -> bool {
        match self.answer.and_then(Message::status) {
            None => true,
            Some(s) => s.0 >= 400 && !matches!(s.0, 401 | 407 | 491),
        }
    }
}

/// The refreshes of the dialog between the answer and the BYE, by first transmission.
fn refreshes<'a>(f: &CallFacts<'a>, from: i64, until: i64) -> Vec<Refresh<'a>> {
    let update = Method::Other("UPDATE".into());
    let msgs = || f.call.messages.iter().map(|s| &*s.msg);
    let mut out: Vec<Refresh<'a>> = Vec::new();
    for m in msgs().filter(|m| m.ts_ns > from && m.ts_ns < until) {
        let Some(method) = m.method() else { continue };
        if !(method == &Method::Invite && m.to_tag.is_some() || method == &update) {
            continue;
        }
        match out
            .iter_mut()
            .find(|r| r.sent[0].cseq == m.cseq && r.sent[0].src == m.src)
        {
            Some(r) if r.sent.len() < MAX_SENT => r.sent.push(m),
            Some(_) => {}
            None => out.push(Refresh {
                sent: vec![m],
                answer: None,
            }),
        }
    }
    for r in &mut out {
        let first = r.sent[0];
        r.answer = msgs().find(|m| {
            m.cseq == first.cseq
                && m.src.ip() == first.dst.ip()
                && m.status().is_some_and(|s| s.is_final())
        });
    }
    out
}

pub(crate) fn check(f: &CallFacts<'_>) -> Option<Finding> {
    let answer = f.answer_msg?;
    let timer = answer.fields().session_expires?;
    let bye = f.bye?;
    let se_ns = i64::from(timer.secs) * 1_000_000_000;
    let give_up_ns = se_ns - (32_000_000_000i64).min(se_ns / 3);
    let all = refreshes(f, answer.ts_ns, bye.ts_ns);
    // The session runs from the answer or the latest refresh that succeeded.
    let base = all
        .iter()
        .filter(|r| !r.failed())
        .filter_map(|r| r.answer)
        .map(|a| a.ts_ns)
        .max()
        .unwrap_or(answer.ts_ns);
    let after = bye.ts_ns - base;
    if after < give_up_ns - EARLY_NS || after > se_ns + LATE_NS {
        return None;
    }
    let failed = all.iter().find(|r| r.failed() && r.sent[0].ts_ns >= base);
    if failed.is_none() && all.iter().any(|r| r.sent[0].ts_ns >= base) {
        return None;
    }
    let (uac, uas) = (answer.dst, answer.src);
    let refresher = match timer.refresher {
        Some(Refresher::Uas) => uas,
        _ => uac,
    };
    let quotes = text::header_quotes(bye);
    let quotes = if quotes.is_empty() {
        String::new()
    } else {
        format!(" ({quotes})")
    };
    let ended = format!(
        "{} ended the call with BYE (frame {}) {} after {}, at the session's expiry{quotes}",
        bye.src.ip(),
        bye.frame,
        words::duration_ns(base, bye.ts_ns),
        if base == answer.ts_ns {
            "the answer"
        } else {
            "the last refresh"
        }
    );
    let min_se = f
        .invite
        .fields()
        .min_se
        .map(|m| format!(", Min-SE {m} s"))
        .unwrap_or_default();
    let negotiated = format!(
        "Session-Expires {} s, refresher {}{min_se}",
        timer.secs,
        timer
            .refresher
            .map_or("unspecified (uac)", Refresher::as_str)
    );
    let mut frames = vec![answer.frame, bye.frame];
    let (summary, cause) = match failed {
        Some(r) => {
            let first = r.sent[0];
            frames.extend(r.sent.iter().map(|m| m.frame));
            frames.extend(r.answer.map(|a| a.frame));
            let how = match r.answer {
                Some(a) => format!("answered {} (frame {})", a.label(), a.frame),
                None => format!(
                    "sent {} over {} and never answered",
                    words::plural(r.sent.len() as u64, "time"),
                    words::duration_ns(first.ts_ns, r.sent[r.sent.len() - 1].ts_ns)
                ),
            };
            let what = if first.method() == Some(&Method::Invite) {
                "re-INVITE"
            } else {
                "UPDATE"
            };
            (
                format!(
                    "the session refresh ({what} from {} to {}, frame {}) of this call ({negotiated}, 2xx frame {}) was {how}; {ended}",
                    first.src,
                    first.dst,
                    first.frame,
                    answer.frame
                ),
                format!(
                    "the refresh never got through to {}: a firewall or SIP ALG between them passes the initial INVITE but drops in-dialog requests (sent to the Contact, through the Record-Route set), or a NAT/firewall UDP binding on the signalling path timed out during the call — check the route of in-dialog requests and the UDP timeouts of the firewalls on the path; with a longer Session-Expires the call lasts longer before it drops",
                    first.dst.ip()
                ),
            )
        }
        None => (
            format!(
                "{refresher} was to refresh the session ({negotiated}, 2xx frame {}) and sent no refresh; {ended}",
                answer.frame
            ),
            format!(
                "the refresher {} accepted the session timer but never refreshed it (RFC 4028 §7.4: a re-INVITE or UPDATE before the expiry): check its session-timer support, or disable session timers on both sides",
                refresher.ip()
            ),
        ),
    };
    Some(Finding {
        code: "sip.session_expired",
        severity: Severity::Error,
        summary,
        cause,
        frames: sorted(frames),
        ts_ns: bye.ts_ns,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::correlate::fields::{Fields, SessionTimer};
    use crate::diagnose::rules::testkit::*;

    /// An answered call with Session-Expires 90 (refresher uac); `refresh`: a re-INVITE at 45 s,
    /// answered with this status or unanswered; the callee's BYE at `bye_ms`.
    fn call(refresh: Option<Option<u16>>, bye_ms: f64) -> Vec<crate::correlate::message::Message> {
        let mut m = answered(None);
        let ok = m
            .iter_mut()
            .find(|x| x.status().is_some_and(|s| s.is_success()))
            .expect("the 2xx");
        ok.fields = Some(Box::new(Fields {
            session_expires: Some(SessionTimer {
                secs: 90,
                refresher: Some(Refresher::Uac),
            }),
            ..Fields::default()
        }));
        if let Some(status) = refresh {
            for (i, t) in [45_000.0, 45_500.0, 46_500.0].iter().enumerate() {
                let mut r = req(20 + i as u64, *t, CALLER, APP, Method::Invite, 2);
                r.to_tag = Some("callee".into());
                r.branch = Some("z9hG4bKrefresh".into());
                m.push(r);
                if status.is_some() {
                    break;
                }
            }
            if let Some(s) = status {
                m.push(resp(30, 45_010.0, APP, CALLER, s, Method::Invite, 2));
            }
        }
        m.push(req(40, bye_ms, APP, CALLER, Method::Bye, 1));
        m.push(resp(41, bye_ms + 1.0, CALLER, APP, 200, Method::Bye, 1));
        m
    }

    fn finding(m: Vec<crate::correlate::message::Message>) -> Option<Finding> {
        let b = World::new(m).build();
        check(&b.facts(0))
    }

    #[test]
    fn an_unanswered_refresh_then_a_bye_at_the_expiry_is_the_cause() {
        let f = finding(call(Some(None), 61_000.0)).expect("a finding");
        assert!(
            f.summary
                .contains("was sent 3 times over 1.5 s and never answered"),
            "{}",
            f.summary
        );
        assert!(f.summary.contains("Session-Expires 90 s, refresher uac"));
        assert!(f.frames.contains(&20) && f.frames.contains(&40));
    }

    #[test]
    fn a_refresh_rejected_is_the_cause_and_491_is_not() {
        let f = finding(call(Some(Some(500)), 61_000.0)).expect("a finding");
        assert!(f.summary.contains("answered 500"), "{}", f.summary);
        assert_eq!(finding(call(Some(Some(491)), 61_000.0)), None);
    }

    #[test]
    fn a_refreshed_session_or_a_bye_away_from_the_expiry_is_no_finding() {
        // Refreshed at 45 s: the session now runs to 135 s; a BYE at 61 s is the user's.
        assert_eq!(finding(call(Some(Some(200)), 61_000.0)), None);
        // No refresh, but the BYE comes long before the expiry.
        assert_eq!(finding(call(None, 20_000.0)), None);
        // No refresh and the BYE at 60 s: the refresher never refreshed.
        let f = finding(call(None, 61_000.0)).expect("a finding");
        assert!(f.summary.contains("sent no refresh"), "{}", f.summary);
    }
}
