//! Linking transport failures to the calls they explain — the cross-layer step of the diagnosis.
//!
//! Takes a [`Failure`] (a failed TCP connection, a failed TLS handshake, ICMP errors) among a finished
//! call's evidence and the call's facts; says whether and how it explains the call and words the
//! [`Finding`] for it. Three ways a failure explains a call:
//! - **own path**: it is on the call's own signalling path (same hosts and port as the call's SIP);
//! - **next hop**: a host that received the call's INVITE opened connections to another host after
//!   receiving it and before answering (a proxy or Front End trying its next hop); the answer it then
//!   gave (504, 408, 503 after a RST, or a 2xx after a failover) is the symptom;
//! - **media**: an ICMP error quotes one of the call's RTP packets.
//!
//! Does not decide whether a connection failed: the transport rules do.

use std::net::IpAddr;

use super::facts::CallFacts;
use super::{Finding, Severity, TransportEvent};
use crate::correlate::calls::State;
use crate::correlate::engine::OWN_SLACK_NS;
use crate::correlate::media::Stream;
use crate::correlate::message::{Message, Method};
use crate::proto::sip::StatusCode;
use crate::words;

/// What a failure was observed on, as the linker needs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Via {
    /// A TCP connection from `event.src` to `event.dst` (plain or TLS).
    Tcp,
    /// ICMP errors quoting a UDP packet `event.src` → `event.dst`.
    Icmp { sip: bool, rtp: bool },
    /// A connection reset: already tied to these calls by the rule.
    Reset,
}

/// A transport failure before linking.
#[derive(Clone, Debug)]
pub(crate) struct Failure {
    pub event: TransportEvent,
    pub via: Via,
}

/// How a failure explains a call.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Link<'a> {
    Own,
    NextHop {
        host: IpAddr,
        /// The INVITE the host received.
        received: &'a Message,
        /// The host's final answer to it, if any reached the capture.
        answer: Option<&'a Message>,
    },
    Media,
}

/// How long a host with no final answer in the capture is taken to be still trying (Timer B/C).
const NO_ANSWER_WINDOW_NS: i64 = 32_000_000_000;
/// How long after a call's last SIP message its RTP may still be refused.
const MEDIA_SLACK_NS: i64 = 5_000_000_000;

fn within(ts: i64, from: i64, to: i64) -> bool {
    ts >= from && ts <= to
}

/// How a failure explains this call, if it does.
pub(crate) fn link<'a>(
    failure: &Failure,
    f: &CallFacts<'a>,
    streams: &[Stream],
) -> Option<Link<'a>> {
    let ev = &failure.event;
    match failure.via {
        Via::Reset => ev.calls.contains(&f.index).then_some(Link::Own),
        Via::Tcp => {
            let (start, end) = (f.call.start_ts_ns, f.call.end_ts_ns);
            let latest = end
                .saturating_add(OWN_SLACK_NS)
                .max(start.saturating_add(NO_ANSWER_WINDOW_NS));
            if !within(ev.ts_ns, start.saturating_sub(OWN_SLACK_NS), latest) {
                return None;
            }
            own_path(ev, f).or_else(|| next_hop(ev, f))
        }
        Via::Icmp { sip, rtp } => {
            let call = f.call;
            let in_span = within(
                ev.ts_ns,
                call.start_ts_ns,
                call.end_ts_ns.saturating_add(OWN_SLACK_NS),
            );
            let quotes_sip = call
                .messages
                .iter()
                .any(|s| s.msg.src == ev.src && s.msg.dst == ev.dst);
            if (sip || !rtp) && in_span && quotes_sip {
                Some(Link::Own)
            } else if (rtp || !sip) && quotes_media(ev, f, streams) {
                Some(Link::Media)
            } else {
                None
            }
        }
    }
}

/// The failure is between two hosts the call's SIP went between, to the port it used.
fn own_path<'a>(ev: &TransportEvent, f: &CallFacts<'a>) -> Option<Link<'a>> {
    let call = f.call;
    let in_span = within(
        ev.ts_ns,
        call.start_ts_ns.saturating_sub(OWN_SLACK_NS),
        call.end_ts_ns.saturating_add(OWN_SLACK_NS),
    );
    let same_path = || {
        call.messages
            .iter()
            .any(|s| s.msg.src.ip() == ev.src.ip() && s.msg.dst == ev.dst)
    };
    (in_span && same_path()).then_some(Link::Own)
}

/// A host held the call's INVITE and, before answering, failed to connect to another host.
fn next_hop<'a>(ev: &TransportEvent, f: &CallFacts<'a>) -> Option<Link<'a>> {
    let host = ev.src.ip();
    let msgs = || f.call.messages.iter().map(|s| &*s.msg);
    let received = msgs().find(|m| {
        m.method() == Some(&Method::Invite) && m.to_tag.is_none() && m.dst.ip() == host
    })?;
    // Connections back to whoever sent the INVITE are not the next hop.
    if ev.dst.ip() == received.src.ip() {
        return None;
    }
    let answer = msgs().find(|m| {
        m.src.ip() == host && m.ts_ns >= received.ts_ns && m.is_final_response_to(&Method::Invite)
    });
    let end = answer.map_or(received.ts_ns.saturating_add(NO_ANSWER_WINDOW_NS), |a| {
        a.ts_ns
    });
    within(ev.ts_ns, received.ts_ns, end).then_some(Link::NextHop {
        host,
        received,
        answer,
    })
}

/// Whether an ICMP error quotes this call's RTP: a stream of the call's evidence on that flow that
/// the call owns, else (no such stream) the call's SDP endpoints while it lasted.
fn quotes_media(ev: &TransportEvent, f: &CallFacts<'_>, streams: &[Stream]) -> bool {
    if let Some(s) = streams.iter().find(|s| s.src == ev.src && s.dst == ev.dst) {
        return s.call == Some(f.index);
    }
    let eps = [
        f.offer.and_then(|o| o.endpoint()),
        f.answer.and_then(|a| a.endpoint()),
    ];
    let named = eps.iter().flatten().any(|e| *e == ev.dst || *e == ev.src);
    named
        && within(
            ev.ts_ns,
            f.call.start_ts_ns,
            f.call.end_ts_ns.saturating_add(MEDIA_SLACK_NS),
        )
}

fn answer_label(m: &Message) -> String {
    m.label()
}

/// The finding a linked failure gives the call it explains.
pub(crate) fn finding_for_call(failure: &Failure, link: &Link<'_>, f: &CallFacts<'_>) -> Finding {
    let ev = &failure.event;
    let failed = f.call.state != State::Answered;
    let (summary, cause, severity, mut frames) = match link {
        Link::Own => {
            let mut frames = ev.frames.clone();
            if matches!(failure.via, Via::Icmp { .. }) {
                // The packets the ICMP errors quote are evidence too.
                frames.extend(
                    f.call
                        .messages
                        .iter()
                        .filter(|s| s.msg.src == ev.src && s.msg.dst == ev.dst)
                        .map(|s| s.msg.frame),
                );
            }
            (
                format!("{}, on this call's own signalling path", ev.summary),
                ev.cause.clone(),
                if failed {
                    Severity::Error
                } else {
                    Severity::Warning
                },
                frames,
            )
        }
        Link::NextHop {
            host,
            received,
            answer,
        } => {
            let mut frames = ev.frames.clone();
            frames.push(received.frame);
            let outcome = match answer {
                Some(a) if !a.status().is_some_and(StatusCode::is_success) => {
                    frames.push(a.frame);
                    format!(
                        "{host} then answered {} (frame {}) {} after receiving the INVITE",
                        answer_label(a),
                        a.frame,
                        words::duration_ns(received.ts_ns, a.ts_ns)
                    )
                }
                Some(a) => {
                    frames.push(a.frame);
                    format!(
                        "the call was answered anyway (frame {}), {} after {host} received the INVITE: it failed over to another target",
                        a.frame,
                        words::duration_ns(received.ts_ns, a.ts_ns)
                    )
                }
                None => format!("{host} gave no final answer in the capture"),
            };
            // The next hop's address came from DNS: the answer that pointed there is evidence too.
            let dns = super::rules::dns_failed::resolved(&f.dns, *host, ev.dst.ip());
            let from_dns = dns
                .as_ref()
                .map(|(said, _)| format!(" ({said})"))
                .unwrap_or_default();
            frames.extend(dns.iter().flat_map(|(_, fr)| fr.iter().copied()));
            let summary = format!(
                "{}, while {host} held this call's INVITE (frame {}) and was trying its next hop {}{from_dns}; {outcome}",
                ev.summary, received.frame, ev.dst
            );
            let cause = match answer.and_then(|a| a.status()) {
                Some(s) if s.is_failure() => format!(
                    "{}; the caller only sees the {s} from {host}, the symptom of this failure",
                    ev.cause
                ),
                _ => ev.cause.clone(),
            };
            let cause = match &dns {
                Some(_) => format!(
                    "{cause}; {} is the address DNS gave for the next hop: if it should not be reached there, correct the DNS record",
                    ev.dst.ip()
                ),
                None => cause,
            };
            (
                summary,
                cause,
                if failed {
                    Severity::Error
                } else {
                    Severity::Warning
                },
                frames,
            )
        }
        Link::Media => (
            format!("{}: this call's media (RTP) was refused", ev.summary),
            ev.cause.clone(),
            Severity::Error,
            ev.frames.clone(),
        ),
    };
    frames.sort_unstable();
    frames.dedup();
    Finding {
        code: ev.code,
        severity,
        summary,
        cause,
        frames,
        ts_ns: ev.ts_ns,
    }
}

#[cfg(test)]
mod tests {
    use crate::correlate::message::Method;
    use crate::diagnose::rules::testkit::*;
    use crate::diagnose::Severity;

    /// Call 1 through the proxy to a firewalled app (504 after SYNs), call 2 to a working app.
    fn two_calls() -> World {
        let c2 = |m: crate::correlate::message::Message| m.call_id("call-2");
        let msgs = vec![
            req(3, 0.0, CALLER, PROXY, Method::Invite, 1).sdp(CALLER_RTP),
            resp(4, 1.0, PROXY, CALLER, 100, Method::Invite, 1),
            resp(16, 9973.8, PROXY, CALLER, 504, Method::Invite, 1),
            req(17, 9974.0, CALLER, PROXY, Method::Ack, 1),
            c2(req(18, 10_087.0, CALLER, PROXY, Method::Invite, 1).sdp(CALLER_RTP)),
            c2(resp(19, 10_088.0, PROXY, CALLER, 100, Method::Invite, 1)),
            c2(
                req(24, 10_088.6, "192.0.2.20:37540", APP2, Method::Invite, 1)
                    .sdp(CALLER_RTP)
                    .tcp(),
            ),
            c2(resp(
                30,
                10_896.0,
                APP2,
                "192.0.2.20:37540",
                200,
                Method::Invite,
                1,
            )
            .sdp("192.0.2.32:20000")
            .tcp()),
            c2(resp(31, 10_896.4, PROXY, CALLER, 200, Method::Invite, 1).sdp("192.0.2.32:20000")),
            c2(req(32, 10_896.6, CALLER, PROXY, Method::Ack, 1)),
            c2(req(333, 13_900.0, CALLER, PROXY, Method::Bye, 2)),
            c2(resp(337, 13_901.0, PROXY, CALLER, 200, Method::Bye, 2)),
        ];
        let mut w = World::new(msgs);
        w.syns(
            "192.0.2.20:41438",
            APP,
            &[(7, 1.3), (8, 1002.0), (15, 7118.0)],
        )
        .handshake(22, 10_088.5, "192.0.2.20:37540", APP2)
        .mark_sip("192.0.2.20:37540", APP2)
        .rtp(36, 10_905.0, CALLER_RTP, "192.0.2.32:20000", 150)
        .rtp(200, 10_909.0, "192.0.2.32:20000", CALLER_RTP, 150);
        w
    }

    #[test]
    fn the_failure_explains_the_first_call_only() {
        let d = two_calls().build().diagnose();
        assert_eq!(codes(&d, 0), ["tcp.syn_unanswered", "sip.timeout"]);
        assert_eq!(d.calls[0][0].severity, Severity::Error);
        assert!(d.calls[1].is_empty(), "{:?}", d.calls[1]);
        assert_eq!(d.transport_events.len(), 1);
        assert_eq!(d.transport_events[0].calls, vec![0]);
    }

    #[test]
    fn syns_seen_without_any_sip_are_an_unlinked_event() {
        let d = World::new(vec![])
            .syns(
                "192.0.2.20:43442",
                APP,
                &[(4, 1.3), (5, 1030.0), (10, 7142.0)],
            )
            .build()
            .diagnose();
        assert!(d.calls.is_empty());
        let ev = &d.transport_events[0];
        assert_eq!(
            (ev.code, ev.first_frame, ev.attempts),
            ("tcp.syn_unanswered", 4, 3)
        );
        assert!(ev.calls.is_empty());
        assert_eq!(ev.summary, "TCP from 192.0.2.20 to 192.0.2.31:5060: 3 SYNs over 7.1 s, never answered (no SYN-ACK, no RST)");
    }

    #[test]
    fn a_failed_connection_on_the_calls_own_path_is_linked() {
        // SIP over TCP: the caller's first connection attempt to the app is refused, then works.
        let msgs: Vec<_> = answered(Some(4000.0)).into_iter().map(Build::tcp).collect();
        let mut w = World::new(msgs);
        w.syns("192.0.2.10:40000", APP, &[(100, -500.0), (101, 500.0)]);
        let d = w.build().diagnose();
        assert_eq!(d.transport_events[0].calls, vec![0]);
        let f = d.calls[0]
            .iter()
            .find(|f| f.code == "tcp.syn_unanswered")
            .expect("linked");
        assert!(f.summary.ends_with("on this call's own signalling path"));
        assert_eq!(f.severity, Severity::Warning);
    }
}
