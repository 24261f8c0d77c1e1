//! Rule: dns.failed
//!
//! **Trigger**: a DNS lookup that got an error rcode (NXDOMAIN, SERVFAIL, REFUSED, ...) or no response at all
//! ([`crate::correlate::dns::UNANSWERED_NS`] after its last query), made by a host while it held a call's INVITE
//! unanswered (the engine ties it to the call then), when that call then failed at that host: the host answered
//! it with a failure (503, 504, 480, 478, ...), or never answered and never forwarded it. The lookup must be for
//! the call's next hop: its name (without a `_sip._udp.`, `_sip._tcp.`, `_sips._tcp.` or `_sip._sctp.` SRV
//! prefix) is the host of the Request-URI the host received, or the host forwarded no INVITE of the call after
//! it (a proxy whose next hop is set by its configuration: the name is in no SIP message). A failed lookup of a
//! name that a later lookup by the same host answered with records is no failure (an SRV NXDOMAIN followed by a
//! working A is RFC 3263's fallback); so is NOERROR without records (an AAAA with no address, then an A).
//! Lookups that explain no call are reported on their own ([`unlinked`]).
//!
//! **Evidence**: the queries (first and retransmissions) and the response of each failed lookup, with who asked,
//! which server, the question, the rcode or "no answer after N queries over T", and the host's final response.
//! It is the call's primary finding, ranked before the `sip.rejected`/`sip.timeout` symptom it caused.
//!
//! **Cause**: NXDOMAIN: the name does not exist (a missing record in the zone, or a wrong next-hop name in the
//! host's routing); SERVFAIL: the resolver could not get an answer (the zone's name servers unreachable or
//! broken, DNSSEC validation failing); REFUSED: the resolver is not configured to serve that zone (no recursion
//! or forwarder for it) or that client (its ACL); no answer: the resolver is down or UDP/TCP 53 between them is
//! filtered.
//!
//! **False positives**: a host that resolved the same name over another path the capture did not see (a
//! second resolver on another interface, a local cache that needs no query) and failed the call for another
//! reason; the capture sees the lookup only if it passes the capture point.

use std::net::IpAddr;

use crate::correlate::dns::{Lookup, Outcome};
use crate::correlate::message::{Kind, Method};
use crate::diagnose::facts::CallFacts;
use crate::diagnose::{Finding, Severity};
use crate::proto::dns::{Rcode, Type};
use crate::words;

/// SRV prefixes a SIP client puts before a domain (RFC 3263 §4.1).
const SRV_PREFIXES: [&str; 4] = ["_sip._udp.", "_sip._tcp.", "_sips._tcp.", "_sip._sctp."];

/// The domain a SIP lookup is about: its name without the SRV prefix.
fn base(name: &str) -> &str {
    SRV_PREFIXES
        .iter()
        .find_map(|p| name.strip_prefix(p))
        .unwrap_or(name)
}

/// The host part of a SIP URI, lower case.
fn uri_host(uri: &str) -> Option<String> {
    let rest = uri.split_once(':')?.1;
    let hostport = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
    let host = hostport.split([';', '?', '>']).next()?;
    let host = if let Some(v6) = host.strip_prefix('[') {
        v6.split(']').next()?
    } else {
        host.split(':').next()?
    };
    Some(host.to_ascii_lowercase())
}

/// What a lookup got, in words: `NXDOMAIN (no such name)`, `no answer after 2 queries over 1.0 s`.
pub(crate) fn result(l: &Lookup) -> String {
    match l.outcome() {
        Outcome::Error(rcode) => {
            let meaning = match rcode {
                Rcode::NxDomain => " (no such name)",
                Rcode::ServFail => " (server failure)",
                Rcode::Refused => " (query refused)",
                Rcode::FormErr => " (format error)",
                Rcode::NotImp => " (not implemented)",
                _ => "",
            };
            format!("{}{meaning}", rcode.name())
        }
        Outcome::Unanswered => {
            let first = l.first_ts_ns();
            let last = l.queries.last().map_or(first, |q| q.ts_ns);
            if l.query_count > 1 {
                format!(
                    "no answer after {} queries over {}",
                    l.query_count,
                    words::duration_ns(first, last)
                )
            } else {
                "no answer".into()
            }
        }
        Outcome::NoData => "NOERROR without records".into(),
        Outcome::Answered => "answered".into(),
    }
}

/// `SRV _sip._tcp.app9.lab.example: NXDOMAIN (no such name) (frames 237, 238)`; a lookup asked again with the
/// same outcome (a stub resolver retrying a REFUSED) is `..., asked 2 times (frames 7, 8, 9, 10)`.
fn described(same: &[&Lookup]) -> String {
    let l = same[0];
    let frames: Vec<u64> = same.iter().flat_map(|l| l.frames()).collect();
    let times = if same.len() > 1 {
        format!(", asked {} times", same.len())
    } else {
        String::new()
    };
    format!(
        "{} {}: {}{times} ({})",
        l.qtype.name(),
        l.name,
        result(l),
        words::frames_list(&frames, 6)
    )
}

/// The lookups in order, consecutive ones of the same record with the same outcome together.
fn repeats<'a>(lookups: &[&'a Lookup]) -> Vec<Vec<&'a Lookup>> {
    let mut runs: Vec<Vec<&Lookup>> = Vec::new();
    for &l in lookups {
        match runs.last_mut() {
            Some(run)
                if run[0].qtype == l.qtype
                    && run[0].name == l.name
                    && run[0].outcome() == l.outcome() =>
            {
                run.push(l)
            }
            _ => runs.push(vec![l]),
        }
    }
    runs
}

/// The records a group of NXDOMAIN lookups of one domain asked for: `SRV _sip._tcp.x, A x`.
fn records(group: &[&Lookup]) -> String {
    let mut v: Vec<String> = group
        .iter()
        .map(|l| format!("{} {}", l.qtype.name(), l.name))
        .collect();
    v.dedup();
    v.join(", ")
}

/// What to fix for failed lookups of one domain with one outcome (`group`, not empty).
fn advice(group: &[&Lookup]) -> String {
    let l = group[0];
    let (client, server) = (l.client.ip(), l.server.ip());
    match l.outcome() {
        Outcome::Error(Rcode::NxDomain) => format!(
            "{} does not exist in DNS ({}): add the records to its zone, or correct the next hop's name in {client}'s routing",
            base(&l.name),
            records(group),
        ),
        Outcome::Error(Rcode::ServFail) => format!(
            "the resolver {server} could not get an answer for {} from the zone's authoritative name servers: check that they are reachable from {server} and answer for the zone (and that DNSSEC validates, if it is signed)",
            l.name
        ),
        Outcome::Error(Rcode::Refused) => format!(
            "the resolver {server} refused to resolve {} for {client} (it is not configured to serve that zone, or not that client): configure {server} to serve or forward {} (recursion or a forwarder for the zone), allow {client} in its ACL (allow-query/allow-recursion), or point {client} at a resolver that serves that name",
            base(&l.name),
            base(&l.name)
        ),
        Outcome::Error(rcode) => format!(
            "the resolver {server} answered {} for {}: check the resolver and the zone",
            rcode.name(),
            l.name
        ),
        _ => format!(
            "the resolver {server} does not answer {client}: check that it runs and that UDP/TCP 53 from {client} to {server} is allowed through firewalls, or configure {client} with a resolver that answers"
        ),
    }
}

/// The failed lookups among the call's that explain its failure at the host that decided it, and which
/// lookups the call claims (by position).
pub(crate) fn check(f: &CallFacts<'_>) -> (Option<Finding>, Vec<bool>) {
    let lookups = &f.dns;
    let mut claimed = vec![false; lookups.len()];
    let status = f.final_msg.and_then(|m| m.status());
    let failed_call = match status {
        Some(s) => s.0 >= 400 && !matches!(s.0, 401 | 407 | 486 | 487 | 600 | 603),
        None => f.answer_msg.is_none(),
    };
    if !failed_call || lookups.is_empty() {
        return (None, claimed);
    }
    let decider: Option<IpAddr> = f.final_msg.map(|m| m.src.ip());
    let messages = || f.call.messages.iter().map(|s| &s.msg);
    let invites = || messages().filter(|m| m.method() == Some(&Method::Invite));
    let received_names = |h: IpAddr| -> Vec<String> {
        invites()
            .filter(|m| m.dst.ip() == h)
            .filter_map(|m| match &m.kind {
                Kind::Request { uri, .. } => uri_host(uri),
                Kind::Response { .. } => None,
            })
            .collect()
    };
    let forwarded_after = |h: IpAddr, ts: i64| invites().any(|m| m.src.ip() == h && m.ts_ns >= ts);
    let superseded = |l: &Lookup| {
        lookups.iter().any(|o| {
            o.client.ip() == l.client.ip()
                && o.outcome() == Outcome::Answered
                && base(&o.name) == base(&l.name)
                && o.first_ts_ns() >= l.first_ts_ns()
        })
    };
    for (i, l) in lookups.iter().enumerate() {
        let h = l.client.ip();
        if !l.failed() || decider.is_some_and(|d| d != h) || superseded(l) {
            continue;
        }
        let named = received_names(h).iter().any(|n| n == base(&l.name));
        claimed[i] = named || !forwarded_after(h, l.first_ts_ns());
    }
    let chosen: Vec<&Lookup> = lookups
        .iter()
        .zip(&claimed)
        .filter_map(|(&l, &c)| c.then_some(l))
        .collect();
    let Some(first) = chosen.first() else {
        return (None, claimed);
    };
    let host = first.client.ip();
    let servers: Vec<String> = {
        let mut v: Vec<String> = chosen.iter().map(|l| l.server.ip().to_string()).collect();
        v.dedup();
        v
    };
    let then = match f.final_msg {
        Some(m) => format!(
            "and answered {} {} {} after the INVITE without forwarding it",
            m.status().map_or(0, |s| s.0),
            f.call
                .final_response
                .as_ref()
                .map_or("", |r| r.reason.as_str()),
            words::duration_ns(f.invite.ts_ns, m.ts_ns)
        )
        .replace("  ", " "),
        None => "and never forwarded the INVITE".into(),
    };
    let summary = format!(
        "{host} could not resolve the call's next hop: {} from the DNS server {}, {then}",
        repeats(&chosen)
            .iter()
            .map(|run| described(run))
            .collect::<Vec<_>>()
            .join("; "),
        servers.join(", "),
    );
    // One piece of advice per domain and outcome (an SRV and an A of one name both NXDOMAIN).
    let mut groups: Vec<Vec<&Lookup>> = Vec::new();
    for &l in &chosen {
        let same =
            |g: &Vec<&Lookup>| base(&g[0].name) == base(&l.name) && g[0].outcome() == l.outcome();
        match groups.iter_mut().find(|g| same(g)) {
            Some(g) => g.push(l),
            None => groups.push(vec![l]),
        }
    }
    let mut advices: Vec<String> = groups.iter().map(|g| advice(g)).collect();
    advices.dedup();
    let cause = format!(
        "the call failed because {host} could not resolve where to send it: {}",
        advices.join("; ")
    );
    let mut frames: Vec<u64> = chosen.iter().flat_map(|l| l.frames()).collect();
    frames.extend(f.final_msg.map(|m| m.frame));
    frames.sort_unstable();
    frames.dedup();
    (
        Some(Finding {
            code: "dns.failed",
            severity: Severity::Error,
            summary,
            cause,
            frames,
            ts_ns: first.first_ts_ns(),
        }),
        claimed,
    )
}

/// Where a host got the address it then failed to reach: the lookup by `host` that answered `addr`, worded
/// (`from DNS: A app1.lab.example → 192.0.2.31, frames 9, 10`), with its frames.
pub(crate) fn resolved(
    lookups: &[&Lookup],
    host: IpAddr,
    addr: IpAddr,
) -> Option<(String, Vec<u64>)> {
    lookups.iter().find_map(|l| {
        let answers = l.answer.as_ref()?;
        let hit = answers.records.iter().any(|r| match r.data {
            crate::proto::dns::Data::A(a) => IpAddr::V4(a) == addr,
            crate::proto::dns::Data::Aaaa(a) => IpAddr::V6(a) == addr,
            _ => false,
        });
        (l.client.ip() == host && hit).then(|| {
            (
                format!(
                    "from DNS: {} {} → {addr}, {}",
                    l.qtype.name(),
                    l.name,
                    words::frames_list(&l.frames(), 6)
                ),
                l.frames(),
            )
        })
    })
}

/// The finding of a failed lookup that explains no call: a warning, or info for an SRV or NAPTR name that
/// does not exist (RFC 3263 tries them before the address records, so their absence is normal).
pub(crate) fn unlinked(l: &Lookup) -> Option<Finding> {
    // Only the types SIP resolution uses (RFC 3263): a desktop's SOA, PTR or TXT lookups are not VoIP evidence.
    if !l.failed() || matches!(l.qtype, Type::Other(_)) {
        return None;
    }
    let probe = matches!(l.qtype, Type::Srv | Type::Naptr)
        && l.outcome() == Outcome::Error(Rcode::NxDomain);
    Some(Finding {
        code: "dns.failed",
        severity: if probe {
            Severity::Info
        } else {
            Severity::Warning
        },
        summary: format!(
            "{} asked {} for {} {}: {}",
            l.client.ip(),
            l.server.ip(),
            l.qtype.name(),
            l.name,
            result(l)
        ),
        cause: if probe {
            format!("no {} record for {}: a SIP client then falls back to the address records (RFC 3263), so this alone breaks nothing", l.qtype.name(), base(&l.name))
        } else if l.outcome() == Outcome::Error(Rcode::NxDomain) {
            format!(
                "no call in this capture depended on it; {} does not exist in DNS: if a host should reach it, add the record to its zone, or correct the name where it is configured",
                l.name
            )
        } else {
            format!("no call in this capture depended on it; {}", advice(&[l]))
        },
        frames: l.frames(),
        ts_ns: l.first_ts_ns(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::correlate::dns::{Answer, Sent};
    use crate::correlate::message::{Method, Transport};

    fn lookup(
        name: &str,
        qtype: Type,
        queries: &[(u64, f64)],
        answer: Option<(u64, Rcode, usize)>,
    ) -> Lookup {
        let ts = |ms: f64| (ms * 1e6) as i64;
        Lookup {
            client: "192.0.2.20:40000".parse().unwrap(),
            server: "192.0.2.32:53".parse().unwrap(),
            transport: Transport::Udp,
            id: 1,
            name: name.into(),
            qtype,
            queries: queries
                .iter()
                .map(|&(frame, ms)| Sent {
                    frame,
                    ts_ns: ts(ms),
                })
                .collect(),
            query_count: queries.len() as u32,
            answer: answer.map(|(frame, rcode, n)| Answer {
                frame,
                ts_ns: ts(queries.last().unwrap().1 + 0.2),
                rcode,
                truncated: false,
                records: (0..n)
                    .map(|_| crate::proto::dns::Record {
                        name: name.into(),
                        rtype: qtype,
                        ttl: 60,
                        data: crate::proto::dns::Data::A([192, 0, 2, 31].into()),
                    })
                    .collect(),
            }),
        }
    }

    /// A call to the proxy that resolves `name` (SRV then A, with the given answers) and then answers
    /// `status` (or forwards the INVITE to the app and gets its 200, with `status` 200).
    fn call_through_dns(
        srv: Option<Rcode>,
        a: Option<(Rcode, &[[u8; 4]])>,
        status: u16,
    ) -> Vec<Finding> {
        use crate::diagnose::rules::testkit::*;
        const RESOLVER: &str = "192.0.2.53:53";
        const STUB: &str = "192.0.2.20:40000";
        let mut msgs = vec![
            req(1, 0.0, CALLER, PROXY, Method::Invite, 1),
            resp(2, 0.5, PROXY, CALLER, 100, Method::Invite, 1),
        ];
        if status == 200 {
            msgs.push(req(9, 3.0, PROXY, APP, Method::Invite, 1));
            msgs.push(resp(10, 4.0, APP, PROXY, 200, Method::Invite, 1));
            msgs.push(resp(11, 4.5, PROXY, CALLER, 200, Method::Invite, 1));
            msgs.push(req(12, 5.0, CALLER, PROXY, Method::Ack, 1));
        } else {
            msgs.push(resp(9, 3.0, PROXY, CALLER, status, Method::Invite, 1));
            msgs.push(req(10, 3.5, CALLER, PROXY, Method::Ack, 1));
        }
        let mut w = World::new(msgs);
        let ends = (STUB, RESOLVER);
        w.dns(
            3,
            1.0,
            ends,
            ("_sip._udp.app1.lab.example", Type::Srv),
            None,
        );
        if let Some(r) = srv {
            w.dns(
                4,
                1.2,
                ends,
                ("_sip._udp.app1.lab.example", Type::Srv),
                Some((r, &[])),
            );
        }
        w.dns(
            5,
            1.4,
            (STUB, "192.0.2.53:53"),
            ("app1.lab.example", Type::A),
            None,
        );
        if let Some(answer) = a {
            w.dns(6, 1.6, ends, ("app1.lab.example", Type::A), Some(answer));
        }
        let b = w.build();
        b.calls[0].findings.clone()
    }

    #[test]
    fn a_failed_next_hop_lookup_is_the_cause_of_the_proxys_failure() {
        let f = call_through_dns(Some(Rcode::NxDomain), Some((Rcode::ServFail, &[])), 503);
        assert_eq!(f[0].code, "dns.failed");
        assert_eq!(f[0].frames, [3, 4, 5, 6, 9]);
        assert!(
            f[0].summary
                .contains("A app1.lab.example: SERVFAIL (server failure)"),
            "{}",
            f[0].summary
        );
        assert!(
            f[0].cause
                .contains("the resolver 192.0.2.53 could not get an answer"),
            "{}",
            f[0].cause
        );
        assert_eq!(f[1].code, "sip.rejected", "the symptom after the cause");
    }

    #[test]
    fn a_missing_srv_then_a_working_a_is_no_failure() {
        let ok: &[[u8; 4]] = &[[192, 0, 2, 31]];
        // The proxy fell back to A, got an address, and still rejected: not DNS's doing.
        let f = call_through_dns(Some(Rcode::NxDomain), Some((Rcode::NoError, ok)), 503);
        assert!(f.iter().all(|f| f.code != "dns.failed"), "{f:#?}");
        // A call that connected is never a DNS failure, whatever its lookups.
        let f = call_through_dns(Some(Rcode::Refused), Some((Rcode::Refused, &[])), 200);
        assert!(f.is_empty(), "{f:#?}");
    }

    #[test]
    fn unanswered_lookups_explain_a_408_with_their_queries() {
        let f = call_through_dns(None, None, 408);
        assert_eq!(f[0].code, "dns.failed");
        assert!(
            f[0].summary
                .contains("SRV _sip._udp.app1.lab.example: no answer (frame 3)"),
            "{}",
            f[0].summary
        );
        assert!(
            f[0].cause.contains("does not answer 192.0.2.20"),
            "{}",
            f[0].cause
        );
    }

    #[test]
    fn names_and_uris_compare_without_the_srv_prefix() {
        assert_eq!(base("_sip._tcp.app9.lab.example"), "app9.lab.example");
        assert_eq!(base("_sips._tcp.a.b"), "a.b");
        assert_eq!(base("app9.lab.example"), "app9.lab.example");
        assert_eq!(
            uri_host("sip:bob@App9.Lab.example:5060;transport=tcp").as_deref(),
            Some("app9.lab.example")
        );
        assert_eq!(
            uri_host("sip:[2001:db8::1]:5060").as_deref(),
            Some("2001:db8::1")
        );
        assert_eq!(uri_host("sips:example.com").as_deref(), Some("example.com"));
    }

    #[test]
    fn results_say_the_rcode_or_the_unanswered_queries() {
        let nx = lookup(
            "app9.lab.example",
            Type::A,
            &[(239, 0.0)],
            Some((240, Rcode::NxDomain, 0)),
        );
        assert_eq!(result(&nx), "NXDOMAIN (no such name)");
        let none = lookup(
            "app1.lab.example",
            Type::A,
            &[(9, 2006.5), (10, 3007.0)],
            None,
        );
        assert_eq!(result(&none), "no answer after 2 queries over 1.0 s");
        assert!(advice(&[&none]).contains("UDP/TCP 53 from 192.0.2.20 to 192.0.2.32"));
        let refused = lookup(
            "a.example",
            Type::Srv,
            &[(1, 0.0)],
            Some((2, Rcode::Refused, 0)),
        );
        assert!(advice(&[&refused]).contains("allow 192.0.2.20 in its ACL"));
        let servfail = lookup(
            "a.example",
            Type::A,
            &[(1, 0.0)],
            Some((2, Rcode::ServFail, 0)),
        );
        assert_eq!(result(&servfail), "SERVFAIL (server failure)");
    }

    #[test]
    fn unlinked_failures_are_warnings_but_a_missing_srv_is_info_and_success_is_nothing() {
        let nx_a = lookup(
            "a.example",
            Type::A,
            &[(1, 0.0)],
            Some((2, Rcode::NxDomain, 0)),
        );
        assert_eq!(unlinked(&nx_a).unwrap().severity, Severity::Warning);
        let nx_srv = lookup(
            "_sip._udp.a.example",
            Type::Srv,
            &[(1, 0.0)],
            Some((2, Rcode::NxDomain, 0)),
        );
        let f = unlinked(&nx_srv).unwrap();
        assert_eq!(f.severity, Severity::Info);
        assert!(f.cause.contains("falls back"), "{}", f.cause);
        let ok = lookup(
            "a.example",
            Type::A,
            &[(1, 0.0)],
            Some((2, Rcode::NoError, 1)),
        );
        assert!(unlinked(&ok).is_none());
        let nodata = lookup(
            "a.example",
            Type::Aaaa,
            &[(1, 0.0)],
            Some((2, Rcode::NoError, 0)),
        );
        assert!(
            unlinked(&nodata).is_none(),
            "NOERROR without records is not a failure"
        );
        assert_eq!(unlinked(&nx_a).unwrap().frames, vec![1, 2]);
        let soa = lookup(
            "local",
            Type::Other(6),
            &[(1, 0.0)],
            Some((2, Rcode::NxDomain, 0)),
        );
        assert!(unlinked(&soa).is_none(), "not a type SIP resolves");
    }
}
