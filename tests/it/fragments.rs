//! Large INVITEs over UDP that leave as IP fragments, on the recorded lab captures (testdata/lab, see
//! its README): `ip.fragments_lost` ties the lost fragmented INVITE to its call; a fragmented INVITE
//! that got through stays clean. Frame numbers as `tshark -r` shows them.

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
fn only_first_fragments_make_no_call_but_say_why() {
    let a = support::lab("invite-fragments-lost.pcap");
    // No INVITE was ever whole in the capture: nothing to tie to a call.
    assert!(a.calls.is_empty());
    assert_eq!(a.captures[0].decode.fragments, 7);
    assert_eq!(a.captures[0].decode.incomplete_fragment_sets, 7);
    let event = a
        .transport_events
        .iter()
        .find(|e| e.code == "icmp.unreachable")
        .expect("app1's reassembly timeouts");
    assert_eq!(event.frames, [9, 10]);
    assert!(
        event.summary.contains("fragment reassembly time exceeded"),
        "{}",
        event.summary
    );
    assert!(event.cause.ends_with(ADVICE), "{}", event.cause);
}
