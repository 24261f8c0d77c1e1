//! Rule: media.unexpected_address
//!
//! **Trigger**: judged only when both the offer's and the answer's SDP were seen; the first of:
//! - *a private address behind a NAT*: one side's SDP announces an address in private space
//!   (RFC 1918 10/8, 172.16/12, 192.168/16; RFC 6598 shared space 100.64/10; link-local 169.254/16;
//!   IPv6 unique local fc00::/7 and link-local fe80::/10) while that side's packets come from a
//!   public address (its RTP's source, else where the message carrying that SDP came from), and
//!   the other side's SDP address is not in private space (it is outside that network). The side is behind a NAT its SDP does not
//!   account for, and RTP sent to the announced address cannot arrive: this is the cause of the
//!   one-way or missing audio, so it ranks before the media symptoms (`media.dropped_after_answer`,
//!   `media.one_way`, `media.none`), which follow it.
//! - *an unannounced endpoint*: an RTP stream linked to the call (one of its endpoints is in the
//!   call's SDP) whose other endpoint no SDP of the call announced.
//!
//! **Evidence**: the message whose SDP announced the private address, the streams from that side
//! (their public source) and toward it (sent to the private address, to the public one, or none);
//! for an unannounced endpoint, the stream and the endpoints the SDP did announce.
//! Severity for a private address: error when the RTP toward that side went to the private address
//! or none reached the capture point while its own RTP did; warning when no RTP was seen either way;
//! info when the peer sent its RTP to the side's public address anyway (symmetric RTP, latching: the
//! NAT is handled). For an unannounced endpoint: info when media flows both ways anyway, warning
//! otherwise (it likely explains the missing direction).
//!
//! **Cause**: NAT or a wrong address in the SDP: the side announces its private address instead of
//! its public one (no external address configured, no STUN, a SIP ALG that did not rewrite the SDP or
//! rewrote it wrongly); or an SBC/ALG rewrote one address but not the other.
//!
//! **False positives**: a capture taken inside the private network, where the private address is
//! reachable (the side's packets then come from it or another private address: no finding); an SDP
//! relayed by a proxy with a public address while the side's RTP is not seen; a media relay (TURN, SBC media
//! anchoring) that the SDP names on one leg only; RTCP on a port other than RTP+1 without `a=rtcp`;
//! two private networks joined by a VPN when the peer's SDP address is public.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::correlate::media::Stream;
use crate::diagnose::facts::{describe_streams, sorted, CallFacts, Direction, MediaSeen, Sdp};
use crate::diagnose::{Finding, Severity};
use crate::words::frame_range;

/// A block of address space that cannot be reached from outside its own network.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PrivateSpace {
    /// In words: `an RFC 1918 private address`.
    pub name: &'static str,
    /// The block: its first address and prefix length.
    pub network: IpAddr,
    pub prefix: u8,
}

/// The private blocks: RFC 1918, RFC 6598 shared address space, IPv4 link-local (RFC 3927), IPv6
/// unique local (RFC 4193) and link-local addresses.
const PRIVATE: [(&str, IpAddr, u8); 7] = [
    (
        "an RFC 1918 private address",
        IpAddr::V4(Ipv4Addr::new(10, 0, 0, 0)),
        8,
    ),
    (
        "an RFC 1918 private address",
        IpAddr::V4(Ipv4Addr::new(172, 16, 0, 0)),
        12,
    ),
    (
        "an RFC 1918 private address",
        IpAddr::V4(Ipv4Addr::new(192, 168, 0, 0)),
        16,
    ),
    (
        "an RFC 6598 shared (carrier-grade NAT) address",
        IpAddr::V4(Ipv4Addr::new(100, 64, 0, 0)),
        10,
    ),
    (
        "a link-local address",
        IpAddr::V4(Ipv4Addr::new(169, 254, 0, 0)),
        16,
    ),
    (
        "an IPv6 unique local address",
        IpAddr::V6(Ipv6Addr::new(0xfc00, 0, 0, 0, 0, 0, 0, 0)),
        7,
    ),
    (
        "an IPv6 link-local address",
        IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0)),
        10,
    ),
];

/// The private block an address is in; `None` for addresses reachable from anywhere.
pub(crate) fn private_space(ip: IpAddr) -> Option<PrivateSpace> {
    let bits = |a: IpAddr| match a {
        IpAddr::V4(v4) => u128::from(v4.to_bits()) << 96,
        IpAddr::V6(v6) => v6.to_bits(),
    };
    PRIVATE
        .iter()
        .find(|(_, network, prefix)| {
            network.is_ipv4() == ip.is_ipv4() && {
                let mask = u128::MAX << (128 - u32::from(*prefix));
                bits(ip) & mask == bits(*network)
            }
        })
        .map(|&(name, network, prefix)| PrivateSpace {
            name,
            network,
            prefix,
        })
}

pub(crate) fn check(f: &CallFacts<'_>) -> Option<Finding> {
    // Without both sides' SDP the capture cannot tell an unexpected address from an unseen one.
    let (offer, answer) = f.offer.zip(f.answer)?;
    behind_nat(f, answer, offer, "callee", "caller", Direction::ToCallee)
        .or_else(|| behind_nat(f, offer, answer, "caller", "callee", Direction::ToCaller))
        .or_else(|| unannounced(f))
}

/// `side`'s SDP announced a private address it neither signals nor sends RTP from; `toward` is the
/// direction of the RTP sent to it by `peer`.
fn behind_nat(
    f: &CallFacts<'_>,
    sdp: Sdp<'_>,
    peer_sdp: Sdp<'_>,
    side: &str,
    peer: &str,
    toward: Direction,
) -> Option<Finding> {
    let announced = sdp.endpoint()?;
    let space = private_space(announced.ip())?.name;
    let signalled_from = sdp.msg.src.ip();
    if signalled_from == announced.ip()
        || peer_sdp
            .endpoint()
            .is_some_and(|p| private_space(p.ip()).is_some())
    {
        return None;
    }
    let (sent, received): (Vec<&Stream>, Vec<&Stream>) = f
        .media
        .iter()
        .copied()
        .filter(|s| f.direction(s) != Direction::Unknown)
        .partition(|s| f.direction(s) != toward);
    // The NAT shows in where its packets come from: a public address (its RTP's source, else its
    // signalling's). Packets from the private address itself, or from another private one, were
    // captured inside its network, where the address may well be reachable.
    let seen_from = sent.first().map_or(signalled_from, |s| s.src.ip());
    if sent.iter().any(|s| s.src.ip() == announced.ip())
        || private_space(seen_from).is_some()
        || seen_from.is_loopback()
        || seen_from.is_unspecified()
    {
        return None;
    }
    let (to_private, latched): (Vec<&Stream>, Vec<&Stream>) = received
        .iter()
        .copied()
        .partition(|s| s.dst.ip() == announced.ip());
    let label = sdp.msg.label();
    let from = match sent.first() {
        Some(s) => format!(
            "the {label} came from {signalled_from} and the {side}'s RTP comes from {}",
            s.src
        ),
        None => format!("the {label} came from {signalled_from}"),
    };
    let (severity, what) = if !to_private.is_empty() {
        (
            Severity::Error,
            format!(
                "the {peer} sends its RTP there ({}), where it cannot arrive: the {side} hears nothing",
                describe_streams(&to_private)
            ),
        )
    } else if !latched.is_empty() {
        (
            Severity::Info,
            format!(
                "the {peer} sends its RTP to the {side}'s public address instead ({}): symmetric RTP makes up for it",
                describe_streams(&latched)
            ),
        )
    } else if !sent.is_empty() {
        (
            Severity::Error,
            format!(
                "no RTP from the {peer} to the {side} reached this capture point: sent to {announced}, it cannot arrive, and the {side} hears nothing"
            ),
        )
    } else {
        (
            Severity::Warning,
            format!("no RTP was seen either way; the {peer}'s RTP to {announced} cannot arrive"),
        )
    };
    let public = sent
        .first()
        .map_or(signalled_from.to_string(), |s| s.src.to_string());
    let mut frames = vec![sdp.msg.frame];
    for s in sent.iter().chain(&received) {
        frames.push(s.first_frame);
        frames.push(s.last_frame);
    }
    Some(Finding {
        code: "media.unexpected_address",
        severity,
        summary: format!(
            "the {side}'s SDP ({label} frame {}) announces {announced}, {space}, but {from}: the {side} is behind a NAT; {what}",
            sdp.msg.frame
        ),
        cause: format!(
            "the {side} ({signalled_from}) announces its private address for media: configure its public address for media (the external/NAT address setting of the PBX or phone, or STUN), or let an SBC at the network edge rewrite the SDP and anchor the media; a SIP ALG on the NAT router that should rewrite the SDP and does not (or does it wrongly) is the other suspect — fix or disable it. Symmetric RTP (comedia, latching) on the {peer}'s side would send its RTP to where the {side}'s comes from ({public})"
        ),
        frames: sorted(frames),
        ts_ns: sdp.msg.ts_ns,
    })
}

/// A stream with an endpoint no SDP of the call announced.
fn unannounced(f: &CallFacts<'_>) -> Option<Finding> {
    // An SDP lost with the rest of its datagram may well have announced it.
    if f.sdp_lost() {
        return None;
    }
    let odd: Vec<_> = f.streams.iter().filter(|s| !s.expected_by_sdp).collect();
    let first = *odd.first()?;
    let announced: Vec<SocketAddr> = f
        .call
        .messages
        .iter()
        .filter_map(|s| s.msg.sdp.as_deref())
        .flatten()
        .filter_map(|m| m.addr.map(|a| SocketAddr::new(a, m.port)))
        .collect();
    let mut listed: Vec<String> = announced.iter().map(|a| a.to_string()).collect();
    listed.sort();
    listed.dedup();
    let unexpected = if announced.contains(&first.src) {
        first.dst
    } else {
        first.src
    };
    let severity = if f.media_seen() == MediaSeen::Flowing {
        Severity::Info
    } else {
        Severity::Warning
    };
    let mut frames = Vec::new();
    for s in &odd {
        frames.push(s.first_frame);
        frames.push(s.last_frame);
    }
    Some(Finding {
        code: "media.unexpected_address",
        severity,
        summary: format!(
            "RTP {} → {} ({} packets, {}) uses {unexpected}, which no SDP of this call announced (announced: {})",
            first.src,
            first.dst,
            first.summary.packets,
            frame_range(first.first_frame, first.last_frame),
            listed.join(", ")
        ),
        cause: format!(
            "NAT or a wrong address in the SDP: {unexpected} is probably the translated (public) address of the side that announced another one — make that side announce a reachable address (STUN, SBC, correct external IP setting), enable symmetric RTP/latching on the peer, or disable a SIP ALG that rewrites the SDP wrongly"
        ),
        frames: sorted(frames),
        ts_ns: first.first_ts_ns,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::correlate::message::Method;
    use crate::diagnose::rules::testkit::*;

    #[test]
    fn rtp_from_a_nat_address_is_flagged() {
        let b = World::new(answered(Some(4800.0)))
            .rtp(8, 817.0, CALLER_RTP, APP_RTP, 100)
            .rtp(300, 818.0, "198.51.100.7:31000", CALLER_RTP, 100)
            .build();
        let f = check(&b.facts(0)).expect("a finding");
        assert!(f.summary.starts_with("RTP 198.51.100.7:31000 → 192.0.2.10:6000 (100 packets, frames 300–399) uses 198.51.100.7:31000"), "{}", f.summary);
        assert_eq!(f.severity, Severity::Info);
    }

    #[test]
    fn sdp_endpoints_are_fine() {
        let b = World::new(answered(Some(4800.0)))
            .rtp(8, 817.0, CALLER_RTP, APP_RTP, 100)
            .build();
        assert_eq!(check(&b.facts(0)), None);
    }

    /// The callee answers with a private address while it signals and sends RTP from APP.
    fn private_answer() -> Vec<crate::correlate::message::Message> {
        let mut m = answered(Some(4800.0));
        m[3] = resp(4, 800.0, APP, CALLER, 200, Method::Invite, 1).sdp("10.0.0.31:20000");
        m
    }

    #[test]
    fn a_private_address_is_the_cause_of_the_one_way_audio_it_makes() {
        // Seen at the callee: its RTP leaves, the caller's never arrives.
        let d = World::new(private_answer())
            .rtp(9, 830.0, APP_RTP, CALLER_RTP, 200)
            .build()
            .diagnose();
        assert_eq!(
            codes(&d, 0),
            [
                "media.unexpected_address",
                "media.dropped_after_answer",
                "media.one_way"
            ]
        );
        let f = &d.calls[0][0];
        assert_eq!(f.severity, Severity::Error);
        assert_eq!(f.summary, "the callee's SDP (200 OK frame 4) announces 10.0.0.31:20000, an RFC 1918 private address, but the 200 OK came from 192.0.2.31 and the callee's RTP comes from 192.0.2.31:20000: the callee is behind a NAT; no RTP from the caller to the callee reached this capture point: sent to 10.0.0.31:20000, it cannot arrive, and the callee hears nothing");
        assert_eq!(f.frames, [4, 9, 208]);
        assert!(
            f.cause.contains("external/NAT address setting"),
            "{}",
            f.cause
        );
    }

    #[test]
    fn rtp_sent_to_the_private_address_is_the_error_even_when_both_ways_are_on_the_wire() {
        // Seen at the caller: its RTP leaves toward the private address.
        let d = World::new(private_answer())
            .rtp(9, 817.0, CALLER_RTP, "10.0.0.31:20000", 200)
            .rtp(300, 830.0, APP_RTP, CALLER_RTP, 200)
            .build()
            .diagnose();
        assert_eq!(codes(&d, 0), ["media.unexpected_address"]);
        let f = &d.calls[0][0];
        assert_eq!(f.severity, Severity::Error);
        assert!(f.summary.ends_with("the caller sends its RTP there (192.0.2.10:6000 → 10.0.0.31:20000 (200 packets, frames 9–208)), where it cannot arrive: the callee hears nothing"), "{}", f.summary);
    }

    #[test]
    fn symmetric_rtp_to_the_public_address_is_only_info() {
        let b = World::new(private_answer())
            .rtp(9, 817.0, CALLER_RTP, APP_RTP, 200)
            .rtp(300, 830.0, APP_RTP, CALLER_RTP, 200)
            .build();
        let f = check(&b.facts(0)).expect("a finding");
        assert_eq!(f.severity, Severity::Info);
        assert!(
            f.summary.contains("symmetric RTP makes up for it"),
            "{}",
            f.summary
        );
    }

    #[test]
    fn a_private_address_the_side_really_uses_is_fine() {
        // Captured inside the callee's network: it signals and sends from its private address.
        let mut m = answered(Some(4800.0));
        m[3] =
            resp(4, 800.0, "10.0.0.31:5060", CALLER, 200, Method::Invite, 1).sdp("10.0.0.31:20000");
        let b = World::new(m)
            .rtp(9, 817.0, CALLER_RTP, "10.0.0.31:20000", 200)
            .rtp(300, 830.0, "10.0.0.31:20000", CALLER_RTP, 200)
            .build();
        assert_eq!(check(&b.facts(0)), None);
    }

    #[test]
    fn private_space_covers_rfc1918_rfc6598_and_ipv6_local() {
        let space = |s: &str| private_space(s.parse().expect("an address"));
        for a in [
            "10.1.2.3",
            "172.31.0.1",
            "192.168.1.1",
            "100.64.0.1",
            "100.127.255.1",
            "169.254.1.1",
            "fd00::1",
            "fe80::1",
        ] {
            assert!(space(a).is_some(), "{a}");
        }
        for a in ["192.0.2.1", "100.128.0.1", "172.32.0.1", "2001:db8::1"] {
            assert_eq!(space(a), None, "{a}");
        }
    }
}
