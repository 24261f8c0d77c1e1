//! Rule: sip.rejected
//!
//! **Trigger**: the call's final response is a 3xx–6xx other than 408/504 (those are `sip.timeout`),
//! and the call was not cancelled (487 after CANCEL is the caller's choice). A 401/407 challenge
//! that a new INVITE with credentials answered is not the outcome; a 401/407 that is the final
//! answer is reported with the number of challenges (one challenge unanswered: no credentials; two or
//! more: the credentials were refused, an authentication loop).
//!
//! **Evidence**: the INVITE, the final response (status, who sent it, after how long) and the ACK;
//! the Reason (with the Q.850 cause's meaning), Warning and Microsoft diagnostics headers (their codes
//! in words, see `diagnose::microsoft`); for 488/606 the codecs the offer listed.
//!
//! **Cause**: what the status means for a support engineer, per status class; what Microsoft's codes
//! advise, a `WinsockFailureCode` set against the transport failures the capture shows, and who
//! generated a response that Teams Direct Routing sent. 486 Busy Here,
//! 600 Busy Everywhere and 603 Decline are the callee's choice: info, not error. 3xx redirections the
//! caller did not follow are info.
//!
//! The same rule judges the other transactions (SUBSCRIBE, NOTIFY, MESSAGE, REFER, PRACK, INFO,
//! UPDATE, PUBLISH, ...; [`transaction`]): a final 3xx–6xx names the method and what it means for it
//! (489 Bad Event: no such event package; 403 to a REFER: transfer refused, ...); a 401/407 is the
//! challenge of the next request and no finding. A warning inside a call that went on, an error
//! outside one.
//!
//! **False positives**: a rejection that is policy working as intended (403 for a barred number) is
//! still reported as an error: the text says which policy answered.

use crate::correlate::message::{Message, Method};
use crate::correlate::transactions::Transaction;
use crate::diagnose::facts::{sorted, CallFacts};
use crate::diagnose::{microsoft, text};
use crate::diagnose::{Finding, Severity, TransportEvent};
use crate::proto::sip::StatusCode;
use crate::words;

fn meaning(status: StatusCode, host: &str, f: &CallFacts<'_>, challenges: usize) -> String {
    let offered = match f.offer {
        Some(o) => o.codec_list(),
        None if f.sdp_lost() => "the SDP offer was not captured (IP fragments missing)".into(),
        None => "no SDP offer seen".into(),
    };
    generic_meaning(status, host, &offered, challenges)
}

/// What a status means whatever the request, `offered`: the codecs of the offer.
fn generic_meaning(status: StatusCode, host: &str, offered: &str, challenges: usize) -> String {
    match status.0 {
        300..=399 => format!("{host} redirected the call and the caller did not follow: check the Contact of the redirection and whether the caller should follow redirects"),
        400 => format!("{host} could not parse the request: a malformed INVITE (check the caller's SIP stack or a header rewriting SBC/ALG)"),
        401 | 407 if challenges >= 2 => format!("the credentials were refused: {challenges} authentication challenges in a row — check the caller's username, password and realm for {host}"),
        401 | 407 => format!("{host} asked for authentication and the caller never sent credentials: configure the caller's account credentials for {host}"),
        403 => format!("{host} refused the call by policy: check the caller's permissions, dial plan/class of service, or an IP ACL on {host}"),
        404 | 604 => format!("the called number or user is unknown at {host}: check the dialled number and the routing (or whether the user is registered)"),
        405 | 501 => format!("{host} does not support the request: check the method and the routing"),
        410 => format!("the called number is no longer in service at {host}"),
        415 | 420 | 421 => format!("{host} requires or rejects a SIP extension or body the caller used: compare Supported/Require headers"),
        480 => format!("the callee at {host} is temporarily unavailable (not registered, do-not-disturb, or no device answering)"),
        481 => format!("{host} has no dialog/transaction for this request: a stateful hop lost its state or routing sent it to the wrong server"),
        482 | 483 => format!("a routing loop or too many hops through {host}: check the proxies' routing tables"),
        484 | 485 => format!("the dialled number is incomplete or ambiguous at {host}: check the number format (E.164, prefixes)"),
        486 | 600 => "the callee was busy: the callee's choice, not a fault".into(),
        488 | 606 => format!("{host} accepted none of the offered media ({offered}): enable a common codec (and matching SRTP/RTP profile) on both sides"),
        500 => format!("{host} failed internally (500): check its logs at that time"),
        502 => format!("{host} got an invalid response from its next hop (502 Bad Gateway): check the next hop's SIP implementation"),
        503 => format!("{host} is overloaded, in maintenance, or has no available route or next hop (503): check its trunks/routes and its next hops' reachability"),
        513 => format!("the request was too large for {host}: use TCP for large messages"),
        603 => "the callee declined the call: the callee's choice, not a fault".into(),
        _ => format!("{host} rejected the call: see the status and the headers quoted"),
    }
}

/// The responses to the initial INVITEs: how many 401/407 challenges there were.
fn challenges(f: &CallFacts<'_>) -> usize {
    let mut cseqs: Vec<u32> = f
        .call
        .messages
        .iter()
        .map(|s| &*s.msg)
        .filter(|m| {
            m.status().is_some_and(|s| matches!(s.0, 401 | 407))
                && m.cseq_method() == Some(&Method::Invite)
        })
        .filter_map(|m| m.cseq_seq())
        .collect();
    cseqs.sort_unstable();
    cseqs.dedup();
    cseqs.len()
}

pub(crate) fn check(f: &CallFacts<'_>, linked: &[&TransportEvent]) -> Option<Finding> {
    let fin: &Message = f.final_msg?;
    let status = fin.status()?;
    if !status.is_final()
        || status.is_success()
        || status == StatusCode::REQUEST_TIMEOUT
        || status == StatusCode::SERVER_TIMEOUT
    {
        return None;
    }
    if f.call.state != crate::correlate::calls::State::Rejected {
        return None;
    }
    let host = fin.src.ip().to_string();
    let n = challenges(f);
    let severity = match status.0 {
        300..=399 | 486 | 600 | 603 => Severity::Info,
        _ => Severity::Error,
    };
    let quotes = text::header_quotes(fin);
    let quotes = if quotes.is_empty() {
        String::new()
    } else {
        format!("; {quotes}")
    };
    let msgs = || f.call.messages.iter().map(|s| &*s.msg);
    let ack = msgs().find(|m| m.method() == Some(&Method::Ack) && m.ts_ns >= fin.ts_ns);
    let mut frames = vec![f.invite.frame, fin.frame];
    frames.extend(ack.map(|a| a.frame));
    let offered = match (status.0, f.offer) {
        (488 | 606, Some(o)) => format!(
            "; the offer (frame {}) listed {}",
            o.msg.frame,
            o.codec_list()
        ),
        _ => String::new(),
    };
    Some(Finding {
        code: "sip.rejected",
        severity,
        summary: format!(
            "{host} rejected the call with {} (frame {}) {} after the INVITE (frame {}){offered}{quotes}",
            fin.label(),
            fin.frame,
            words::duration_ns(f.invite.ts_ns, fin.ts_ns),
            f.invite.frame
        ),
        cause: [
            Some(meaning(status, &host, f, n)),
            microsoft::cross_check(fin, linked),
            microsoft::advice(fin),
            microsoft::direct_routing_response(fin),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join("; "),
        frames: sorted(frames),
        ts_ns: fin.ts_ns,
    })
}

/// What a status means for a transaction of this method (falls back to the call's meanings).
fn method_meaning(method: &str, status: StatusCode, host: &str) -> String {
    match (method, status.0) {
        ("SUBSCRIBE" | "PUBLISH", 489) => format!("{host} has no such event package (489 Bad Event): the subscriber asks for an event the server does not offer (its Allow-Events lists those it does): disable that feature (voicemail indication, presence, BLF) on the device or enable it on {host}"),
        ("NOTIFY", 481) => format!("{host} no longer knows the subscription this NOTIFY is for (481): it expired or was removed there; the notifier should stop or the subscriber should subscribe again"),
        ("REFER", 403 | 405 | 501 | 603) => format!("{host} refused the transfer ({status}): call transfer is not allowed for this user or not supported there: check the transfer permissions on {host}"),
        ("REFER", 404 | 484 | 604) => format!("the transfer target is unknown at {host}: check the Refer-To URI"),
        ("PRACK", 481) => format!("{host} has no reliable provisional response matching this PRACK (RAck): a 100rel mismatch between the two sides (RFC 3262)"),
        ("MESSAGE", 404 | 480) => format!("the recipient of the message is not reachable at {host} (not registered or unknown)"),
        ("MESSAGE", 413 | 513) => format!("the message is too large for {host}: split it, or use MSRP for large content"),
        ("MESSAGE", 415) => format!("{host} does not accept this message body type: check the Content-Type the sender uses"),
        ("INFO", 415 | 469) => format!("{host} does not take this INFO package or body (RFC 6086): DTMF over INFO is likely not agreed; use RFC 4733 events instead"),
        ("UPDATE", 491) => "both sides updated the session at once (491 Request Pending, glare): the sender should retry after a random delay (RFC 3261 §14.1)".to_string(),
        (_, 405 | 501) => format!("{host} does not support {method} (allow it there, or stop the device sending it)"),
        (_, 403) => format!("{host} refused the {method} by policy: check the user's permissions for it on {host} (subscriptions, messaging, presence) and any IP ACL there"),
        _ => generic_meaning(status, host, "the offered media", 0),
    }
}

/// The rejection of a non-INVITE transaction; see the module doc.
pub(crate) fn transaction(tx: &Transaction) -> Option<Finding> {
    let fin = tx.response.as_ref()?;
    let status = fin.status()?;
    if status.is_success() || matches!(status.0, 401 | 407) {
        return None;
    }
    let method = tx.method.as_str();
    let host = fin.src.ip().to_string();
    let quotes = text::header_quotes(fin);
    let quotes = if quotes.is_empty() {
        String::new()
    } else {
        format!("; {quotes}")
    };
    let (severity, within) = match (tx.call, status.0) {
        (_, 300..=399) => (Severity::Info, String::new()),
        (Some(i), _) => (Severity::Warning, format!(" in call {}", i + 1)),
        (None, _) => (Severity::Error, String::new()),
    };
    Some(Finding {
        code: "sip.rejected",
        severity,
        summary: format!(
            "{host} rejected the {method}{within} from {} with {} (frame {}) {} after the request (frame {}){quotes}",
            tx.client,
            fin.label(),
            fin.frame,
            words::duration_ns(tx.start_ts(), fin.ts_ns),
            tx.request.frame
        ),
        cause: method_meaning(method, status, &host),
        frames: tx.frames(),
        ts_ns: fin.ts_ns,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::rules::testkit::*;

    fn rejected(status: u16) -> crate::correlate::message::Message {
        resp(5, 1500.0, APP, CALLER, status, Method::Invite, 1)
    }

    fn run(final_msg: crate::correlate::message::Message) -> Option<Finding> {
        let b = World::new(vec![
            req(1, 0.0, CALLER, APP, Method::Invite, 1).sdp(CALLER_RTP),
            resp(2, 1.0, APP, CALLER, 100, Method::Invite, 1),
            final_msg,
            req(6, 1501.0, CALLER, APP, Method::Ack, 1),
        ])
        .build();
        check(&b.facts(0), &[])
    }

    #[test]
    fn busy_is_info_with_its_frames() {
        let f = run(rejected(486)).expect("a finding");
        assert_eq!(f.severity, Severity::Info);
        assert_eq!(f.frames, vec![1, 5, 6]);
        assert_eq!(f.summary, "192.0.2.31 rejected the call with 486 Busy Here (frame 5) 1.5 s after the INVITE (frame 1)");
    }

    #[test]
    fn q850_reason_is_explained_and_quoted() {
        let f = run(rejected(503).reason("Q.850", 34, "No circuit available")).expect("a finding");
        assert_eq!(f.severity, Severity::Error);
        assert!(
            f.summary.ends_with(
                "; Reason: Q.850 cause 34 (no circuit/channel available) \"No circuit available\""
            ),
            "{}",
            f.summary
        );
        assert!(f.cause.contains("overloaded"));
    }

    #[test]
    fn not_acceptable_lists_the_offered_codecs() {
        let f = run(rejected(488).warning(305, "192.0.2.31", "Incompatible media format"))
            .expect("a finding");
        assert!(
            f.summary
                .contains("the offer (frame 1) listed PCMU/8000, telephone-event/8000"),
            "{}",
            f.summary
        );
        assert!(f
            .summary
            .contains("Warning: 305 192.0.2.31 \"Incompatible media format\""));
        assert!(f.cause.contains("accepted none of the offered media"));
    }

    #[test]
    fn timeouts_and_cancels_are_other_rules() {
        assert_eq!(run(rejected(504)), None);
        assert_eq!(run(rejected(408)), None);
        let b = World::new(vec![
            req(1, 0.0, CALLER, APP, Method::Invite, 1).sdp(CALLER_RTP),
            resp(2, 1.0, APP, CALLER, 180, Method::Invite, 1),
            req(3, 2000.0, CALLER, APP, Method::Cancel, 1),
            resp(4, 2001.0, APP, CALLER, 200, Method::Cancel, 1),
            resp(5, 2002.0, APP, CALLER, 487, Method::Invite, 1),
        ])
        .build();
        assert_eq!(check(&b.facts(0), &[]), None);
    }

    #[test]
    fn a_challenge_answered_with_credentials_is_not_a_rejection_but_a_loop_is() {
        let ok = World::new(vec![
            req(1, 0.0, CALLER, APP, Method::Invite, 1).sdp(CALLER_RTP),
            resp(2, 1.0, APP, CALLER, 407, Method::Invite, 1),
            req(3, 2.0, CALLER, APP, Method::Ack, 1),
            req(4, 3.0, CALLER, APP, Method::Invite, 2).sdp(CALLER_RTP),
            resp(5, 500.0, APP, CALLER, 200, Method::Invite, 2).sdp(APP_RTP),
        ])
        .build();
        assert_eq!(check(&ok.facts(0), &[]), None);
        let looping = World::new(vec![
            req(1, 0.0, CALLER, APP, Method::Invite, 1).sdp(CALLER_RTP),
            resp(2, 1.0, APP, CALLER, 401, Method::Invite, 1),
            req(4, 3.0, CALLER, APP, Method::Invite, 2).sdp(CALLER_RTP),
            resp(5, 5.0, APP, CALLER, 401, Method::Invite, 2),
        ])
        .build();
        let f = check(&looping.facts(0), &[]).expect("a finding");
        assert!(
            f.cause.contains("2 authentication challenges"),
            "{}",
            f.cause
        );
    }

    #[test]
    fn a_rejected_transaction_names_its_method_and_what_that_means() {
        let subscribe = Method::Other("SUBSCRIBE".into());
        let request = req(1, 0.0, CALLER, APP, subscribe.clone(), 1).call_id("sub-1");
        let mut answer = resp(2, 15.0, APP, CALLER, 489, subscribe, 1).call_id("sub-1");
        answer.branch = request.branch.clone();
        let b = World::new(vec![request, answer]).build();
        let tx = b.transactions.first().expect("a transaction");
        let f = transaction(tx).expect("a finding");
        assert_eq!(f.severity, Severity::Error);
        assert_eq!(f.summary, "192.0.2.31 rejected the SUBSCRIBE from 192.0.2.10:5060 with 489 Bad Event (frame 2) 15 ms after the request (frame 1)");
        assert!(f.cause.contains("no such event package"), "{}", f.cause);
        assert_eq!(f.frames, [1, 2]);
    }
}
