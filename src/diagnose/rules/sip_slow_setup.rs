//! Rule: sip.slow_setup
//!
//! **Trigger**: post-dial delay (first INVITE to the first 18x, or to the 2xx when no 18x came) over
//! [`THRESHOLD_MS`] (5 s) in a call that got a 18x or 2xx.
//!
//! **Evidence**: the INVITE and the first 18x/2xx; when the capture shows why — a host that held the
//! INVITE first tried another target that never answered (transport events linked to the call from
//! that host: unanswered SYNs, refused connections, ICMP; or an INVITE it retransmitted to another
//! hop without any response) and then sent the INVITE elsewhere — the dead target, its evidence
//! frames and the target that answered: a failover.
//!
//! **Cause**: failover from a dead or blocked server in a pool: the delay callers hear is the
//! failover timer of the hop that tried the dead server first. Without such evidence: slow routing
//! (DNS), a slow next hop, or a slow callee.
//!
//! **False positives**: a long ring-back that the callee's side only signals late (no 180 until the
//! phone rings, e.g. forking to mobile phones) is a slow but normal setup.

use std::net::IpAddr;

use crate::correlate::message::Method;
use crate::diagnose::facts::{sorted, CallFacts};
use crate::diagnose::rules::sip_no_response;
use crate::diagnose::{Finding, Severity, TransportEvent};
use crate::words;

/// Post-dial delay above which a setup is slow.
pub(crate) const THRESHOLD_MS: f64 = 5000.0;

pub(crate) fn check(f: &CallFacts<'_>, linked: &[&TransportEvent]) -> Option<Finding> {
    let pdd = f.call.timings.pdd_ms?;
    if pdd <= THRESHOLD_MS {
        return None;
    }
    let msgs = || f.call.messages.iter().map(|s| &s.msg);
    // What the caller heard first (the call's timings measure the same), else any hop's.
    let progress = |m: &&crate::correlate::message::Message| {
        m.cseq_method() == Some(&Method::Invite)
            && m.status()
                .is_some_and(|s| s.is_success() || (180..200).contains(&s.0))
    };
    let first_progress = msgs()
        .filter(progress)
        .find(|m| m.dst == f.call.caller)
        .or_else(|| msgs().find(progress))?;
    // Dead targets: linked transport failures and INVITE hops that never answered, per trying host.
    let mut dead: Vec<(IpAddr, String, String, Vec<u64>)> = linked
        .iter()
        .filter(|e| e.code != "tcp.reset")
        .map(|e| {
            (
                e.src.ip(),
                e.dst.to_string(),
                e.summary.clone(),
                e.frames.clone(),
            )
        })
        .collect();
    for (src, dst, sent) in sip_no_response::dead_hops(f) {
        dead.push((
            src.ip(),
            dst.to_string(),
            format!("INVITE sent {} times, no response", sent.len()),
            sent.iter().map(|m| m.frame).collect(),
        ));
    }
    let mut frames = vec![f.invite.frame, first_progress.frame];
    let delay = words::duration_ms(pdd);
    let (summary, cause) = match dead.first() {
        Some((host, target, what, evidence)) => {
            frames.extend(evidence.iter().copied());
            let next = msgs()
                .filter(|m| {
                    m.method() == Some(&Method::Invite)
                        && m.to_tag.is_none()
                        && m.src.ip() == *host
                        && m.dst.to_string() != *target
                        && !dead.iter().any(|(_, t, _, _)| *t == m.dst.to_string())
                })
                .find(|m| m.ts_ns > f.invite.ts_ns);
            let to = match next {
                Some(m) => {
                    frames.push(m.frame);
                    format!(
                        ", then failed over to {} (INVITE frame {}, {} after the first INVITE)",
                        m.dst,
                        m.frame,
                        words::duration_ns(f.invite.ts_ns, m.ts_ns)
                    )
                }
                None => String::new(),
            };
            (
                format!(
                    "post-dial delay {delay} (INVITE frame {} → {} frame {}): {host} first tried {target} ({what}){to}",
                    f.invite.frame,
                    first_progress.label(),
                    first_progress.frame
                ),
                format!(
                    "failover from a dead or blocked server in the pool: {target} does not accept the calls {host} sends it — fix it (firewall, service) or take it out of {host}'s pool; until then every call that tries it first waits for {host}'s failover timer"
                ),
            )
        }
        None => (
            format!(
                "post-dial delay {delay} (INVITE frame {} → {} frame {})",
                f.invite.frame,
                first_progress.label(),
                first_progress.frame
            ),
            "the callee side took long to respond and the capture shows no failed attempt: check routing lookups (DNS SRV/A), the next hops' load, or capture closer to the callee".to_string(),
        ),
    };
    Some(Finding {
        code: "sip.slow_setup",
        severity: Severity::Warning,
        summary,
        cause,
        frames: sorted(frames),
        ts_ns: f.invite.ts_ns,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::rules::testkit::*;

    fn failover() -> Vec<crate::correlate::message::Message> {
        vec![
            req(3, 0.0, CALLER, PROXY, Method::Invite, 1).sdp(CALLER_RTP),
            resp(4, 2.7, PROXY, CALLER, 100, Method::Invite, 1),
            req(19, 5978.0, "192.0.2.20:56694", APP2, Method::Invite, 1)
                .sdp(CALLER_RTP)
                .tcp(),
            resp(22, 5979.4, APP2, "192.0.2.20:56694", 180, Method::Invite, 1).tcp(),
            resp(24, 5982.5, PROXY, CALLER, 180, Method::Invite, 1),
            resp(25, 6784.0, APP2, "192.0.2.20:56694", 200, Method::Invite, 1)
                .sdp("192.0.2.32:20000")
                .tcp(),
            resp(26, 6784.2, PROXY, CALLER, 200, Method::Invite, 1).sdp("192.0.2.32:20000"),
            req(27, 6784.4, CALLER, PROXY, Method::Ack, 1),
        ]
    }

    #[test]
    fn failover_after_unanswered_syns_is_the_primary_warning() {
        let mut w = World::new(failover());
        w.syns(
            "192.0.2.20:48742",
            APP,
            &[(7, 3.0), (8, 1030.0), (12, 5126.0), (68, 7142.0)],
        )
        .handshake(17, 5977.9, "192.0.2.20:56694", APP2)
        .mark_sip("192.0.2.20:56694", APP2);
        let d = w.build().diagnose();
        assert_eq!(codes(&d, 0), ["sip.slow_setup", "tcp.syn_unanswered"]);
        assert!(d.calls[0].iter().all(|f| f.severity == Severity::Warning));
        let f = &d.calls[0][0];
        assert!(f.summary.starts_with("post-dial delay 6.0 s (INVITE frame 3 → 180 Ringing frame 24): 192.0.2.20 first tried 192.0.2.31:5060 (TCP from 192.0.2.20 to 192.0.2.31:5060: 4 SYNs over 7.1 s"), "{}", f.summary);
        assert!(f.summary.ends_with("then failed over to 192.0.2.32:5060 (INVITE frame 19, 6.0 s after the first INVITE)"), "{}", f.summary);
        assert_eq!(f.frames, vec![3, 7, 8, 12, 19, 24, 68]);
        assert!(f.cause.contains("take it out of 192.0.2.20's pool"));
    }

    #[test]
    fn a_quick_setup_is_fine() {
        let b = World::new(answered(Some(3000.0))).build();
        assert_eq!(check(&b.facts(0), &[]), None);
    }

    #[test]
    fn slow_without_evidence_says_so() {
        let mut m = answered(None);
        m[2].ts_ns = ns(7000.0);
        m[3].ts_ns = ns(7800.0);
        m[4].ts_ns = ns(7801.0);
        let b = World::new(m).build();
        let f = check(&b.facts(0), &[]).expect("a finding");
        assert_eq!(
            f.summary,
            "post-dial delay 7.0 s (INVITE frame 1 → 180 Ringing frame 3)"
        );
    }
}
