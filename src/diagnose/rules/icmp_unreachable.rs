//! Rule: icmp.unreachable
//!
//! **Trigger**: ICMP or ICMPv6 errors (destination unreachable: port, host, network, administratively
//! prohibited, fragmentation needed; also time exceeded and packet too big) quoting a packet that the
//! capture can tie to a flow. Errors quoting the same flow from the same reporter are one event.
//!
//! **Evidence**: every ICMP error of the group (count, first and last time), the reporter, the quoted
//! flow and whether it quoted SIP or RTP. An error quoting a call's SIP (same source and destination)
//! goes to that call as its primary finding (before `sip.no_response`); one quoting RTP goes to the
//! call whose stream (or SDP endpoint) it quotes, on its media side.
//!
//! **Cause**: port unreachable — nothing listens on that UDP port (service down, wrong port) or a host
//! firewall rejects with REJECT; administratively prohibited — a firewall policy rejects the traffic;
//! host/network unreachable — the reporter has no route or ARP answer for the destination;
//! fragmentation needed / packet too big — a SIP message too large for the path MTU.
//!
//! **Not a fault** (an info finding of the call, and an info event): what a call's start and end
//! normally bring — every error of the group quotes the call's RTP within its setup (before the final
//! response to the INVITE reached the port's side: early media to a port not open yet) or within its
//! teardown (after the BYE, the CANCEL or the final error: RTP still arriving at a port closed on
//! ending the call), or quotes its SIP after the ending was complete (a late retransmission refused by
//! a host that has let the call go). The windows are the call's facts (`facts::Teardown`,
//! `CallFacts::setup`).
//!
//! **False positives**: an RTP port closed after a BYE the capture missed (late media); ICMP rate
//! limiting hides some errors, so the count is a lower bound.

use crate::correlate::message::Transport;
use crate::correlate::transport::{IcmpError, IcmpGroup};
use crate::diagnose::facts::{sorted, CallFacts, Span};
use crate::diagnose::link::{Link, Via};
use crate::diagnose::{Finding, Severity, TransportEvent};
use crate::words;

fn cause(e: &IcmpError) -> String {
    let (dst, port) = (e.dst.ip(), e.dst.port());
    let proto = if e.proto == 6 { "TCP" } else { "UDP" };
    let what = if e.quoted_rtp {
        "its media (RTP) port"
    } else {
        "that port"
    };
    match e.kind {
        "port unreachable" if e.quoted_rtp => format!(
            "nothing listens on {proto} {port} at {dst} any more: the receiver no longer listens on the media port its SDP announced (the call was already torn down there, a wrong port in the SDP, or a host firewall REJECT rule); check {dst}'s media port range in its firewall"
        ),
        "port unreachable" => format!(
            "nothing listens on {proto} {port} at {dst}: start or fix the SIP service on {dst} (is it bound to {port}?), or remove a host firewall REJECT rule for {proto} {port}; {} reported it",
            e.reporter
        ),
        "administratively prohibited" => format!(
            "a firewall at {} rejects {proto} to {dst}:{port} by policy: allow inbound {proto} {port} to {dst} for {what}",
            e.reporter
        ),
        "host unreachable" | "network unreachable" => format!(
            "{} could not deliver to {dst} ({}): the host is down or unroutable — check that {dst} is up, its address is right in the SIP/SDP, and the routing/ARP towards it",
            e.reporter, e.kind
        ),
        "fragmentation needed" | "packet too big" => format!(
            "the packet was larger than the path MTU at {}: SIP messages this large should go over TCP (RFC 3261 §18.1.1), or fix the MTU/PMTU discovery on the path",
            e.reporter
        ),
        "time exceeded" => format!(
            "the packet's TTL expired at {}: a routing loop or a too-long path towards {dst}",
            e.reporter
        ),
        other => format!("{} reported {other} for {proto} to {dst}:{port}", e.reporter),
    }
}

/// The event of a group of errors from one reporter quoting one flow (grouped by `correlate`).
pub(crate) fn check(group: &IcmpGroup) -> (TransportEvent, Via) {
    let first = group.first();
    let last = &group.last;
    let sip = group.quoted_sip();
    let rtp = group.quoted_rtp();
    let quoted = if sip {
        " (SIP)"
    } else if rtp {
        " (RTP)"
    } else {
        ""
    };
    let proto = match first.proto {
        6 => Transport::Tcp,
        _ => Transport::Udp,
    };
    let n = group.count;
    let mut frames: Vec<u64> = group.errors.iter().map(|e| e.frame).collect();
    frames.push(last.frame);
    frames.sort_unstable();
    frames.dedup();
    let over = if n > 1 {
        format!(" over {}", words::duration_ns(first.ts_ns, last.ts_ns))
    } else {
        String::new()
    };
    let event = TransportEvent {
        code: "icmp.unreachable",
        severity: Severity::Error,
        src: first.src,
        dst: first.dst,
        proto,
        attempts: u32::try_from(n).unwrap_or(u32::MAX),
        first_frame: first.frame,
        frames,
        ts_ns: first.ts_ns,
        summary: format!(
            "{} answered {} {} → {}{quoted} with ICMP{} {}{over}",
            first.reporter,
            words::plural(n, &format!("{} packet", proto.as_str().to_uppercase())),
            first.src,
            first.dst,
            if first.v6 { "v6" } else { "" },
            first.kind,
        ),
        cause: cause(first),
        calls: Vec::new(),
    };
    (event, Via::Icmp { sip, rtp })
}

/// The info finding of a group that `link` tied to this call (`link`: how) when it is only the normal
/// consequence of the call starting or ending (see the header); `None` when it is a fault.
pub(crate) fn ending(
    group: &IcmpGroup,
    link: &Link<'_>,
    event: &TransportEvent,
    f: &CallFacts<'_>,
) -> Option<Finding> {
    let within =
        |span: Option<Span>, (from, to): (i64, i64)| span.is_some_and(|s| s.holds(from, to));
    let teardown = f.teardown.map(|t| t.span);
    let reporter = group.first().reporter;
    let (summary, cause) = match link {
        Link::Media => {
            let late = |st| within(teardown, st);
            let early = |st| within(f.setup, st) && !late(st);
            if !group.stretches().all(|st| early(st) || late(st)) {
                return None;
            }
            let (early, late) = (group.stretches().any(early), group.stretches().any(late));
            let answer = f.final_msg.map_or(String::new(), |m| {
                format!("the {} (frame {})", m.label(), m.frame)
            });
            let end = f.teardown.map_or(String::new(), |t| {
                format!(
                    "the {} (frame {}, completed by the {} in frame {})",
                    t.start.label(),
                    t.start.frame,
                    t.done.label(),
                    t.done.frame
                )
            });
            let src = event.src;
            let (when, what, why) = match (early, late) {
                (true, false) => (
                    format!("while the call was being set up, up to {answer}"),
                    format!("early media to a port {reporter} had not opened yet"),
                    format!("{reporter} had not opened its media port before the answer reached it (some phones open it only then), so the RTP {src} sent earlier was refused; nothing to fix, unless {reporter}'s user should hear early media (ringback, announcements): then it must listen on its SDP port from the start"),
                ),
                (false, true) => (
                    format!("after {end}"),
                    format!("RTP still arriving at a port {reporter} had closed on ending the call"),
                    format!("{reporter} closed its media port as the call ended while {src} was still sending (RTP in flight, or a sender that stops its media a little after the signalling); nothing to fix"),
                ),
                _ => (
                    format!("only while the call was being set up (up to {answer}) and after {end}"),
                    format!("a media port {reporter} had not opened yet or had closed already"),
                    format!("{reporter} listens on its media port only while the call is up, so the RTP {src} sent before the answer and after the end was refused; nothing to fix"),
                ),
            };
            (
                format!("{} {when}: {what}, not a fault", event.summary),
                why,
            )
        }
        Link::Own => {
            let t = f.teardown?;
            let after = Some(Span {
                from: t.done.ts_ns,
                to: t.span.to,
            });
            if !group.stretches().all(|st| within(after, st)) {
                return None;
            }
            (
                format!(
                    "{} after the call had ended (the {} in frame {}): a late retransmission refused by a host that had let the call go, not a fault",
                    event.summary,
                    t.done.label(),
                    t.done.frame
                ),
                format!("{reporter} no longer listened on that port once the call was over (a user agent that closes its SIP socket or exits after the call); nothing to fix"),
            )
        }
        Link::NextHop { .. } => return None,
    };
    Some(Finding {
        code: event.code,
        severity: Severity::Info,
        summary,
        cause,
        frames: sorted(event.frames.clone()),
        ts_ns: event.ts_ns,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::correlate::message::Method;
    use crate::diagnose::rules::testkit::*;
    use crate::diagnose::Diagnosis;

    #[test]
    fn errors_quoting_the_same_flow_are_one_event() {
        let mut w = World::new(vec![]);
        for (i, t) in [0.0, 500.0, 1500.0].iter().enumerate() {
            w.icmp(4 + 2 * i as u64, *t, "192.0.2.31", CALLER, APP, true, false);
        }
        w.icmp(20, 2000.0, "192.0.2.31", CALLER_RTP, APP_RTP, false, true);
        let b = w.build();
        let events: Vec<_> = b.icmp.iter().map(check).collect();
        assert_eq!(events.len(), 2);
        let (sip, via) = &events[0];
        assert_eq!(
            *via,
            Via::Icmp {
                sip: true,
                rtp: false
            }
        );
        assert_eq!(sip.frames, vec![4, 6, 8]);
        assert_eq!(
            sip.summary,
            "192.0.2.31 answered 3 UDP packets 192.0.2.10:5060 → 192.0.2.31:5060 (SIP) with ICMP port unreachable over 1.5 s"
        );
        assert!(sip
            .cause
            .starts_with("nothing listens on UDP 5060 at 192.0.2.31"));
        assert!(events[1].0.cause.contains("media port"));
    }

    #[test]
    fn icmp_quoting_sip_is_the_calls_primary_finding() {
        let mut msgs = Vec::new();
        let mut w_icmp = Vec::new();
        for (i, t) in [0.0, 500.0, 1500.0, 3500.0].iter().enumerate() {
            let f = 3 + 2 * i as u64;
            msgs.push(req(f, *t, CALLER, APP, Method::Invite, 1).sdp(CALLER_RTP));
            w_icmp.push((f + 1, *t + 0.03));
        }
        let mut w = World::new(msgs);
        for (f, t) in w_icmp {
            w.icmp(f, t, "192.0.2.31", CALLER, APP, true, false);
        }
        let d = w.build().diagnose();
        assert_eq!(codes(&d, 0), ["icmp.unreachable", "sip.no_response"]);
        assert_eq!(d.calls[0][0].frames, (3..=10).collect::<Vec<u64>>());
        assert_eq!(d.transport_events[0].calls, vec![0]);
        assert_eq!(d.calls[0][0].severity, Severity::Error);
    }

    /// An answered call (BYE at 4 s, its 200 at 4.001 s) with RTP both ways, the callee's going on
    /// until `callee_until_ms`; the caller's host refuses the callee's RTP at `refused_ms`.
    fn refused_rtp(callee_until_ms: f64, refused_ms: &[f64]) -> Diagnosis {
        let mut w = World::new(answered(Some(4000.0)));
        let callee_packets = ((callee_until_ms - 10.0) / 20.0) as u16;
        w.rtp(100, 810.0, CALLER_RTP, APP_RTP, 150).rtp(
            300,
            10.0,
            APP_RTP,
            CALLER_RTP,
            callee_packets,
        );
        for (i, &t) in refused_ms.iter().enumerate() {
            w.icmp(
                600 + i as u64,
                t,
                "192.0.2.10",
                APP_RTP,
                CALLER_RTP,
                false,
                true,
            );
        }
        w.build().diagnose()
    }

    #[test]
    fn rtp_refused_after_the_bye_is_the_calls_end_not_a_fault() {
        let d = refused_rtp(4300.0, &[4100.0, 4120.0, 4140.0]);
        assert_eq!(codes(&d, 0), ["icmp.unreachable"]);
        let f = &d.calls[0][0];
        assert_eq!(f.severity, Severity::Info);
        assert_eq!(f.frames, [600, 601, 602]);
        assert!(
            f.summary.contains("after the BYE (frame 9000, completed by the 200 OK in frame 9001): RTP still arriving at a port 192.0.2.10 had closed on ending the call, not a fault"),
            "{}",
            f.summary
        );
        // Still tied to the call (its ladder shows it), as an info event.
        let ev = &d.transport_events[0];
        assert_eq!((ev.severity, &ev.calls[..]), (Severity::Info, &[0][..]));
    }

    #[test]
    fn early_media_refused_before_the_answer_is_not_a_fault() {
        // The callee streams from 10 ms (early media); the 200 OK comes at 800 ms.
        let d = refused_rtp(4000.0, &[10.5, 30.5, 50.5]);
        let f = &d.calls[0][0];
        assert_eq!((f.code, f.severity), ("icmp.unreachable", Severity::Info));
        assert!(
            f.summary.contains("while the call was being set up, up to the 200 OK (frame 4): early media to a port 192.0.2.10 had not opened yet"),
            "{}",
            f.summary
        );
        // Refused before the answer and again after the BYE, never while the call was up.
        let d = refused_rtp(4300.0, &[10.5, 4100.0]);
        let f = &d.calls[0][0];
        assert_eq!(f.severity, Severity::Info);
        assert!(f.summary.contains("only while the call was being set up"));
    }

    #[test]
    fn rtp_refused_while_the_call_was_up_is_an_error() {
        // From mid-call into the teardown: the port was closed while the call was up.
        let d = refused_rtp(4300.0, &[3000.0, 4100.0]);
        assert_eq!(d.calls[0][0].severity, Severity::Error);
        assert_eq!(d.transport_events[0].severity, Severity::Error);
        // Still refused a second after the answer (the kernel's ICMP rate limit allows one a second
        // after its burst): beyond the answer's grace, the port should have been open.
        let d = refused_rtp(4000.0, &[805.0, 1805.0]);
        assert_eq!(d.calls[0][0].severity, Severity::Error);
    }

    #[test]
    fn a_late_retransmission_refused_after_the_call_ended_is_not_a_fault() {
        // The caller re-sends its BYE after the 200 (which crossed it); the app answers again, and
        // the caller, already gone, refuses that second 200.
        let mut m = answered(Some(4000.0));
        m.push(req(9002, 4500.0, CALLER, APP, Method::Bye, 2));
        m.push(resp(9003, 4501.0, APP, CALLER, 200, Method::Bye, 2));
        let mut w = World::new(m);
        w.rtp(100, 810.0, CALLER_RTP, APP_RTP, 150)
            .rtp(300, 815.0, APP_RTP, CALLER_RTP, 150)
            .icmp(9004, 4501.5, "192.0.2.10", APP, CALLER, true, false);
        let d = w.build().diagnose();
        assert_eq!(codes(&d, 0), ["icmp.unreachable"]);
        let f = &d.calls[0][0];
        assert_eq!(f.severity, Severity::Info);
        assert!(
            f.summary
                .contains("after the call had ended (the 200 OK in frame 9001)"),
            "{}",
            f.summary
        );
        assert_eq!(d.transport_events[0].severity, Severity::Info);
    }

    #[test]
    fn icmp_quoting_rtp_goes_to_the_media_side_of_the_call() {
        let mut w = World::new(answered(Some(4000.0)));
        w.rtp(100, 810.0, CALLER_RTP, APP_RTP, 150)
            .rtp(300, 815.0, APP_RTP, CALLER_RTP, 150)
            .icmp(500, 3900.0, "192.0.2.31", CALLER_RTP, APP_RTP, false, true);
        let d = w.build().diagnose();
        assert_eq!(d.transport_events[0].calls, vec![0]);
        let f = &d.calls[0][0];
        assert_eq!(f.code, "icmp.unreachable");
        assert!(
            f.summary.contains("this call's media (RTP) was refused"),
            "{}",
            f.summary
        );
    }
}
