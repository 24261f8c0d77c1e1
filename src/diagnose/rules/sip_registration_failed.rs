//! Rule: sip.registration_failed
//!
//! **Trigger**: a registration binding (address-of-record + Contact) whose REGISTERs failed: credentials
//! refused (a 401/407 challenge answered with credentials and challenged again without `stale=true`, or
//! a 403 to credentials: the challenge loop), 403 before any challenge, 404, 423 Interval Too Brief,
//! another final 3xx–6xx, no answer at all (Timer F), a challenge never answered with credentials, or a
//! binding that expired without a refresh (or was renewed only after it had expired). One finding per
//! kind of failure, the most causal first.
//!
//! **Evidence**: the REGISTERs and responses of the first few failures of each kind (how many, first and
//! last frame and the time between), the 2xx that granted the binding and its expiry, the Min-Expires of
//! a 423, the username the credentials were for.
//!
//! **Cause**: wrong password or authentication user (challenge loop), an account disabled or a source
//! address not allowed (403), an unknown user or a wrong domain (404), an interval below the registrar's
//! minimum (423), a registrar unreachable or filtered (no answer), a phone that stopped refreshing
//! (expired). A failure is an error unless the binding registered after it (then a warning: it
//! recovered); a 423 the phone answered by retrying with a longer interval that registered, and a
//! challenge the capture ended too soon to see answered, are only info. An expiry is an error.
//!
//! **False positives**: a registrar that answers 403 to rate-limit (fail2ban) looks like refused
//! credentials; a capture that starts after the 2xx cannot see that a binding was registered, so its
//! expiry is unknown (no finding).

use crate::correlate::registrations::{Failure, FailureRun, Registration};
use crate::diagnose::{Finding, Severity};
use crate::words::{self, plural};

/// A challenge this close to the end of the capture may still be answered after it.
const CHALLENGE_WAIT_NS: i64 = crate::correlate::dialogs::TIMER_B_NS;

/// `3 times between frame 12 and frame 40 (27.5 s)`, or `at frame 12`.
fn how_often(run: &FailureRun) -> String {
    if run.count <= 1 {
        format!("at frame {}", run.first.frame)
    } else {
        format!(
            "{} times from frame {} to frame {} ({})",
            run.count,
            run.first.frame,
            run.last.frame,
            words::duration_ns(run.first.ts_ns, run.last.ts_ns)
        )
    }
}

fn finding(
    severity: Severity,
    summary: String,
    cause: String,
    frames: &[u64],
    ts_ns: i64,
) -> Finding {
    let mut frames = frames.to_vec();
    frames.sort_unstable();
    frames.dedup();
    Finding {
        code: "sip.registration_failed",
        severity,
        summary,
        cause,
        frames,
        ts_ns,
    }
}

/// The finding of one kind of failure: an error unless the binding registered after it.
fn failure(r: &Registration, run: &FailureRun) -> Finding {
    let ended_failing = r.registered.is_none_or(|g| g.at.ts_ns <= run.last.ts_ns);
    let aor = r.aor.as_str();
    let registrar = r.registrar;
    let client = r.client;
    let status = run.reason.as_str();
    let severity = if ended_failing {
        Severity::Error
    } else {
        Severity::Warning
    };
    let recovered = if ended_failing {
        String::new()
    } else {
        let granted = r
            .registered
            .map(|g| format!(" (frame {}, {} s)", g.at.frame, g.granted))
            .unwrap_or_default();
        format!("; it registered later{granted}")
    };
    let (summary, cause, severity) = match run.failure {
        Failure::CredentialsRefused => {
            let who = r
                .username
                .as_deref()
                .map(|u| format!(" for user \"{u}\""))
                .unwrap_or_default();
            (
                format!(
                    "{registrar} refused the credentials{who} of {aor} from {client}: REGISTER with credentials answered {status} {}{recovered}",
                    how_often(run)
                ),
                format!(
                    "wrong password or authentication user on the phone at {} for {aor}: credentials the registrar refuses (challenged again, or 403) never register, however often the phone retries. Check the username, password and realm against {}'s account (the authentication user often differs from the extension); an account locked after too many failures answers the same way",
                    client.ip(),
                    registrar.ip()
                ),
                severity,
            )
        }
        Failure::Forbidden => (
            format!(
                "{registrar} refused the registration of {aor} from {client} with {status} before any challenge, {}{recovered}",
                how_often(run)
            ),
            format!(
                "{} refuses this account or this source by policy: check that the account is enabled and that {} is allowed (ACL, trusted addresses, a ban after failed attempts)",
                registrar.ip(),
                client.ip()
            ),
            severity,
        ),
        Failure::NotFound => (
            format!(
                "{registrar} does not know {aor}: REGISTER from {client} answered {status} {}{recovered}",
                how_often(run)
            ),
            format!(
                "the account does not exist on {}, or the phone registers to the wrong domain or registrar: check the user and domain configured on the phone against the registrar's accounts",
                registrar.ip()
            ),
            severity,
        ),
        Failure::TooBrief => {
            let asked = run.asked.map(|a| format!("{a} s")).unwrap_or_else(|| "an expiry".into());
            let min = run.min_expires.map(|m| format!("{m} s")).unwrap_or_else(|| "more".into());
            let adapted = !ended_failing;
            (
                format!(
                    "{client} asked {registrar} to register {aor} for {asked}, under its minimum: 423 Interval Too Brief (Min-Expires: {min}) {}{}",
                    how_often(run),
                    if adapted { "; the phone retried with a longer interval and registered" } else { "" }
                ),
                if adapted {
                    format!("the phone's registration interval is below {}'s minimum; it adapts, at the cost of one more round trip per registration: configure at least {min}", registrar.ip())
                } else {
                    format!("configure the phone's registration interval to at least {min} (the phone did not retry with the Min-Expires the registrar gave, RFC 3261 §10.2.8)")
                },
                if adapted { Severity::Info } else { severity },
            )
        }
        Failure::Unanswered => (
            format!(
                "REGISTER for {aor} from {client} to {registrar} never answered: {} REGISTER {} ({}) with no response at all{recovered}",
                run.count,
                if run.count == 1 { "transaction" } else { "transactions" },
                plural(u64::from(run.transmissions), "transmission"),
            ),
            format!(
                "the registrar {registrar} is unreachable or filtered: check that it is the right address and port, that its SIP service runs, and that firewalls on the way allow {} {} from {}",
                r.transport.as_str().to_uppercase(),
                registrar.port(),
                client.ip()
            ),
            severity,
        ),
        Failure::Rejected => (
            format!(
                "{registrar} rejected the registration of {aor} from {client} with {status} {}{recovered}",
                how_often(run)
            ),
            if run.status.is_some_and(|s| s.0 >= 500) {
                format!("{} is failing or overloaded (5xx): check its logs and its own dependencies (database, upstream registrar)", registrar.ip())
            } else {
                format!("{} refused the REGISTER: see the status and compare the request with what the registrar expects", registrar.ip())
            },
            severity,
        ),
    };
    finding(severity, summary, cause, &run.frames, run.first.ts_ns)
}

pub(crate) fn check(r: &Registration) -> Vec<Finding> {
    let aor = r.aor.as_str();
    let mut out: Vec<Finding> = Vec::new();
    let mut runs: Vec<&FailureRun> = r.failures.iter().collect();
    runs.sort_by_key(|run| run.failure);
    for run in runs {
        out.push(failure(r, run));
    }
    if let (Some(expired), Some(g)) = (r.expired_ts_ns, r.registered) {
        out.push(finding(
            Severity::Error,
            format!(
                "the binding of {aor} to {} (granted {} s by {} at frame {}) expired {} later with no refresh: from then on calls to {aor} find no contact",
                r.contact,
                g.granted,
                r.registrar,
                g.at.frame,
                words::duration_ns(g.at.ts_ns, expired)
            ),
            format!(
                "the phone at {} stopped refreshing its registration (RFC 3261 §10.2.4: it must refresh before the expiry): it lost its network or crashed, or a NAT or firewall on its path now drops its REGISTERs or the answers",
                r.client.ip()
            ),
            &[g.at.frame],
            expired,
        ));
    }
    for lapse in &r.lapses {
        out.push(finding(
            Severity::Warning,
            format!(
                "the binding of {aor} to {} expired and was renewed only {} later (frame {}): calls to {aor} failed in between",
                r.contact,
                words::duration_ns(lapse.expired_ts_ns, lapse.renewed.ts_ns),
                lapse.renewed.frame
            ),
            "the phone refreshes after its binding expires: its refresh timer must be shorter than the expiry the registrar grants (most refresh at half of it)".into(),
            &[lapse.renewed.frame],
            lapse.expired_ts_ns,
        ));
    }
    if let (Some(ch), None) = (r.unanswered_challenge, r.registered) {
        let end = r.open_at_end;
        let soon = end.is_some_and(|e| e.saturating_sub(ch.ts_ns) < CHALLENGE_WAIT_NS);
        let (severity, summary, cause) = if soon {
            (
                Severity::Info,
                format!(
                    "{} challenged the REGISTER of {aor} (frame {}); the capture ends {} later, before any REGISTER with credentials",
                    r.registrar,
                    ch.frame,
                    words::duration_ns(ch.ts_ns, end.unwrap_or(ch.ts_ns))
                ),
                "a capture that ends this soon cannot show whether the phone answered the challenge: capture longer to see the registration complete".to_string(),
            )
        } else {
            (
                Severity::Error,
                format!(
                    "{} challenged the REGISTER of {aor} from {} (frame {}) and no REGISTER with credentials followed",
                    r.registrar, r.client, ch.frame
                ),
                format!(
                    "the phone at {} has no credentials for this registrar's realm, or gave up: configure the account's authentication user and password on the phone",
                    r.client.ip()
                ),
            )
        };
        out.push(finding(severity, summary, cause, &[ch.frame], ch.ts_ns));
    }
    crate::diagnose::order(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::correlate::message::Method;
    use crate::diagnose::rules::testkit::*;

    const PHONE: &str = "192.0.2.10:5062";
    const REGISTRAR: &str = "192.0.2.20:5060";

    /// A REGISTER transaction: the request (with credentials or not) and its response, if any.
    fn register(
        frame: u64,
        ms: f64,
        cseq: u32,
        credentials: bool,
        answer: Option<(u16, Option<u32>, bool)>,
    ) -> Vec<crate::correlate::message::Message> {
        let mut out = vec![registration_request(
            frame,
            ms,
            PHONE,
            REGISTRAR,
            cseq,
            60,
            credentials,
        )];
        if let Some((status, granted, stale)) = answer {
            out.push(registration_response(
                frame + 1,
                ms + 1.0,
                REGISTRAR,
                PHONE,
                cseq,
                status,
                granted,
                stale,
            ));
        }
        out
    }

    fn registrations(msgs: Vec<Vec<crate::correlate::message::Message>>) -> Vec<Registration> {
        World::new(msgs.into_iter().flatten().collect())
            .build()
            .registrations
    }

    fn codes(r: &Registration) -> Vec<(Severity, String)> {
        check(r)
            .into_iter()
            .map(|f| (f.severity, f.summary))
            .collect()
    }

    #[test]
    fn a_challenge_answered_and_refreshed_is_no_finding() {
        let regs = registrations(vec![
            register(1, 0.0, 1, false, Some((401, None, false))),
            register(3, 5.0, 2, true, Some((200, Some(60), false))),
            register(5, 30_000.0, 3, false, Some((401, None, false))),
            register(7, 30_005.0, 4, true, Some((200, Some(60), false))),
        ]);
        assert_eq!(regs.len(), 1);
        assert_eq!(codes(&regs[0]), []);
        assert_eq!(
            (regs[0].attempts, regs[0].challenges, regs[0].successes),
            (4, 2, 2)
        );
    }

    #[test]
    fn credentials_challenged_again_are_a_loop_and_stale_is_not() {
        let regs = registrations(vec![
            register(1, 0.0, 1, false, Some((401, None, false))),
            register(3, 5.0, 2, true, Some((401, None, false))),
            register(5, 10.0, 3, true, Some((401, None, false))),
        ]);
        let got = check(&regs[0]);
        assert_eq!(got.len(), 1, "{got:#?}");
        assert_eq!(got[0].severity, Severity::Error);
        assert!(
            got[0].summary.contains("REGISTER with credentials answered 401 Unauthorized 2 times from frame 4 to frame 6 (5 ms)"),
            "{}",
            got[0].summary
        );
        assert_eq!(got[0].frames, [3, 4, 5, 6]);
        let regs = registrations(vec![
            register(1, 0.0, 1, false, Some((401, None, false))),
            register(3, 5.0, 2, true, Some((401, None, true))),
            register(5, 10.0, 3, true, Some((200, Some(60), false))),
        ]);
        assert_eq!(codes(&regs[0]), []);
    }

    #[test]
    fn a_binding_that_expires_without_refresh_is_an_error() {
        let regs = registrations(vec![
            register(1, 0.0, 1, false, Some((401, None, false))),
            register(3, 5.0, 2, true, Some((200, Some(20), false))),
            // Something much later keeps the capture going past the expiry.
            vec![req(9, 90_000.0, CALLER, APP, Method::Options, 1)],
        ]);
        let got = check(&regs[0]);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].severity, Severity::Error);
        assert!(
            got[0].summary.contains(
                "(granted 20 s by 192.0.2.20:5060 at frame 4) expired 20.0 s later with no refresh"
            ),
            "{}",
            got[0].summary
        );
    }

    #[test]
    fn an_unanswered_register_names_the_registrar() {
        let mut msgs = register(1, 0.0, 1, false, None);
        let mut again = register(2, 500.0, 1, false, None);
        again[0].branch = msgs[0].branch.clone();
        msgs.extend(again);
        msgs.push(req(9, 40_000.0, CALLER, APP, Method::Options, 1));
        let regs = registrations(vec![msgs]);
        let got = check(&regs[0]);
        assert_eq!(got.len(), 1);
        assert!(
            got[0]
                .summary
                .contains("never answered: 1 REGISTER transaction (2 transmissions)"),
            "{}",
            got[0].summary
        );
        assert!(
            got[0].cause.contains("allow UDP 5060 from 192.0.2.10"),
            "{}",
            got[0].cause
        );
    }

    #[test]
    fn a_challenge_at_the_end_of_the_capture_is_info() {
        let regs = registrations(vec![register(1, 0.0, 1, false, Some((401, None, false)))]);
        let got = check(&regs[0]);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].severity, Severity::Info);
    }
}
