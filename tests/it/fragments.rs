//! Large INVITEs over UDP that leave as IP fragments, on the recorded lab captures (testdata/lab, see
//! its README): `ip.fragments_lost` ties the lost fragmented INVITE to its call, whether the capture
//! holds all its fragments or only the first ones; a fragmented INVITE that got through stays clean. Frame numbers as `tshark -r` shows them.

use crate::support;

const ADVICE: &str = "use TCP for messages over 1300 bytes (RFC 3261 §18.1.1) or allow fragments through the firewall";

#[test]
fn a_fragmented_invite_dropped_at_the_far_end_is_fragments_lost() {
    let a = support::lab("invite-fragments-dropped.pcap");
    assert_eq!(a.calls.len(), 2);
    // Call 1: the same large INVITE in two fragments (frames 3, 4), answered: no finding, and its
    // evidence lists both fragments.
    let good = &a.calls[0];
    assert!(good.findings.is_empty(), "{:#?}", good.findings);
    assert_eq!(good.call.messages[0].msg.carried_by(), [3, 4]);
    assert!(good.evidence.frames(good).starts_with(&[3, 4, 5]));
    // Call 2: seven transmissions, each two fragments, the ICMP reassembly timeout from app1 (225).
    let lost = &a.calls[1];
    let primary = &lost.findings[0];
    assert_eq!(primary.code, "ip.fragments_lost");
    assert_eq!(
        primary.frames,
        [211, 212, 213, 214, 217, 218, 219, 220, 221, 222, 223, 224, 226, 227]
    );
    assert!(
        primary.summary.starts_with("INVITE from 192.0.2.10:5060 to 192.0.2.31:5060 over UDP left as IP fragments (7 of 7 transmissions, up to 2 fragments each) and was never answered"),
        "{}",
        primary.summary
    );
    assert!(primary.cause.ends_with(ADVICE), "{}", primary.cause);
    let codes: Vec<_> = lost.findings.iter().map(|f| f.code).collect();
    assert_eq!(
        codes,
        ["ip.fragments_lost", "icmp.unreachable", "sip.no_response"]
    );
    let icmp = &lost.findings[1];
    assert!(
        icmp.summary.contains("fragment reassembly time exceeded"),
        "{}",
        icmp.summary
    );
    assert!(icmp.cause.ends_with(ADVICE), "{}", icmp.cause);
}

#[test]
fn only_first_fragments_are_the_call_with_fragments_lost() {
    let a = support::lab("invite-fragments-lost.pcap");
    assert_eq!(a.captures[0].decode.fragments, 7);
    assert_eq!(a.captures[0].decode.incomplete_fragment_sets, 7);
    let warning = &a.captures[0].warnings[0].message;
    assert_eq!(
        warning,
        "7 IP fragment set(s) never completed; the first fragment of each (7) was read as a truncated datagram"
    );
    // The heads of the seven transmissions (frames 3-8, 11) are one call, never answered.
    assert_eq!(a.calls.len(), 1, "{:#?}", a.calls);
    let call = &a.calls[0];
    assert_eq!(call.state, callscope::correlate::calls::State::Unanswered);
    assert_eq!(call.messages.len(), 7);
    assert!(call.messages.iter().all(|m| m.msg.lost_fragments
        && m.msg.truncated
        && m.msg.sdp.is_none()
        && m.msg.call_id == "1-2719@192.0.2.10"));
    let codes: Vec<_> = call.findings.iter().map(|f| f.code).collect();
    assert_eq!(
        codes,
        ["ip.fragments_lost", "icmp.unreachable", "sip.no_response"]
    );
    let primary = &call.findings[0];
    assert_eq!(primary.frames, [3, 4, 5, 6, 7, 8, 11]);
    assert_eq!(
        primary.summary,
        "INVITE from 192.0.2.10:5060 to 192.0.2.31:5060 over UDP left as IP fragments (7 of 7 transmissions; the capture holds only the first fragment of each, the rest never reached the capture point) and was never answered: sent 7 times over 31.5 s; 192.0.2.31 sent ICMP errors back (see icmp.unreachable)"
    );
    assert!(
        primary
            .cause
            .starts_with("the later fragments never reached the capture point, nor did 192.0.2.31"),
        "{}",
        primary.cause
    );
    assert!(primary.cause.ends_with(ADVICE), "{}", primary.cause);
    // app1's two reassembly timeouts (frames 9, 10) are this call's, not left untied.
    let icmp = &call.findings[1];
    assert!(icmp.frames.ends_with(&[9, 10, 11]), "{:?}", icmp.frames);
    assert!(
        icmp.summary.contains("fragment reassembly time exceeded"),
        "{}",
        icmp.summary
    );
    assert!(
        !a.transport_events
            .iter()
            .any(|e| e.code == "icmp.unreachable" && e.calls.is_empty()),
        "{:#?}",
        a.transport_events
    );
    // The peer row's failures run to the last ICMP error.
    let peer = &a.peers[0].item;
    assert_eq!(peer.icmp, 2);
    assert_eq!(
        (
            peer.first_failure.map(|f| f.frame),
            peer.last_failure.map(|f| f.frame)
        ),
        (Some(3), Some(10))
    );
}
