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
//! **False positives**: an RTP port closed after a BYE the capture missed (late media); ICMP rate
//! limiting hides some errors, so the count is a lower bound.

use crate::correlate::message::Transport;
use crate::correlate::transport::{IcmpError, IcmpGroup};
use crate::diagnose::link::Via;
use crate::diagnose::{Severity, TransportEvent};
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::correlate::message::Method;
    use crate::diagnose::rules::testkit::*;

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
