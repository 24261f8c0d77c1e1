//! DNS failures (`dns.failed`) on the lab recordings: a proxy whose next hop does not resolve (NXDOMAIN), is
//! refused by its resolver (REFUSED), or whose resolver never answers, linked to the call it broke; a lookup
//! no call needed on its own; and the call whose lookups succeeded left clean.

use callscope::diagnose::Severity;

use crate::support;

#[test]
fn nxdomain_of_the_next_hop_is_the_cause_of_the_proxys_503() {
    let a = support::lab("dns-nxdomain.pcap");
    assert_eq!(a.calls.len(), 2);
    // Call 1 resolved SRV then A and connected: a successful lookup is no finding.
    assert!(a.calls[0].findings.is_empty(), "{:#?}", a.calls[0].findings);
    let bad = &a.calls[1].findings;
    let codes: Vec<&str> = bad.iter().map(|f| f.code).collect();
    assert_eq!(
        codes,
        ["dns.failed", "sip.rejected"],
        "the cause before the symptom"
    );
    let f = &bad[0];
    assert_eq!(f.severity, Severity::Error);
    assert_eq!(
        f.summary,
        "192.0.2.20 could not resolve the call's next hop: SRV _sip._tcp.app9.lab.example: NXDOMAIN (no such name) \
         (frames 231, 232); A app9.lab.example: NXDOMAIN (no such name) (frames 233, 234) from the DNS server \
         192.0.2.32, and answered 503 Service Unavailable 2 ms after the INVITE without forwarding it"
    );
    assert!(
        f.cause.contains("app9.lab.example does not exist in DNS (SRV _sip._tcp.app9.lab.example, A app9.lab.example)"),
        "{}",
        f.cause
    );
    assert_eq!(
        f.frames,
        [231, 232, 233, 234, 235],
        "the queries, the answers and the 503"
    );
    // The lookup the proxy host made after the calls explains none: it is reported on its own.
    assert_eq!(a.dns_failures.len(), 1);
    let l = &a.dns_failures[0];
    assert_eq!(
        (l.name.as_str(), l.frames()),
        ("app7.lab.example", vec![240, 241])
    );
    assert_eq!(l.findings[0].severity, Severity::Warning);
    assert!(l.findings[0]
        .summary
        .ends_with("A app7.lab.example: NXDOMAIN (no such name)"));
}

#[test]
fn an_unanswered_resolver_is_the_cause_with_its_queries_counted() {
    let a = support::lab("dns-unanswered.pcap");
    assert_eq!(a.calls.len(), 1);
    let f = &a.calls[0].findings[0];
    assert_eq!(f.code, "dns.failed");
    assert!(
        f.summary.contains(
            "SRV _sip._tcp.app1.lab.example: no answer after 2 queries over 1.0 s (frames 7, 8); \
             A app1.lab.example: no answer after 2 queries over 1.0 s (frames 9, 10)"
        ),
        "{}",
        f.summary
    );
    assert!(f.summary.ends_with(
        "answered 503 Service Unavailable 4.0 s after the INVITE without forwarding it"
    ));
    assert!(
        f.cause.contains("UDP/TCP 53 from 192.0.2.20 to 192.0.2.32"),
        "{}",
        f.cause
    );
    assert_eq!(f.frames, [7, 8, 9, 10, 11]);
    assert_eq!(a.calls[0].findings[1].code, "sip.rejected");
    assert!(a.dns_failures.is_empty(), "both lookups explain the call");
}

#[test]
fn a_refused_next_hop_is_the_cause_with_the_stubs_retries_counted_once() {
    let a = support::lab("dns-refused.pcap");
    assert_eq!(a.calls.len(), 1);
    let f = &a.calls[0].findings;
    let codes: Vec<&str> = f.iter().map(|f| f.code).collect();
    assert_eq!(
        codes,
        ["dns.failed", "sip.rejected"],
        "the cause before the symptom"
    );
    assert_eq!(f[0].severity, Severity::Error);
    // The proxy's stub resolver asks each refused question again (same ID): one lookup line each, counted.
    assert_eq!(
        f[0].summary,
        "192.0.2.20 could not resolve the call's next hop: SRV _sip._tcp.app1.other.example: REFUSED (query \
         refused), asked 2 times (frames 7, 8, 9, 10); A app1.other.example: REFUSED (query refused), asked 2 \
         times (frames 11, 12, 13, 14) from the DNS server 192.0.2.32, and answered 503 Service Unavailable 3 ms \
         after the INVITE without forwarding it"
    );
    assert!(
        f[0].cause.ends_with(
            "the resolver 192.0.2.32 refused to resolve app1.other.example for 192.0.2.20 (it is not configured \
             to serve that zone, or not that client): configure 192.0.2.32 to serve or forward app1.other.example \
             (recursion or a forwarder for the zone), allow 192.0.2.20 in its ACL (allow-query/allow-recursion), \
             or point 192.0.2.20 at a resolver that serves that name"
        ),
        "{}",
        f[0].cause
    );
    assert_eq!(
        f[0].frames,
        [7, 8, 9, 10, 11, 12, 13, 14, 15],
        "the queries, the refusals and the 503"
    );
    assert!(a.dns_failures.is_empty(), "every lookup explains the call");
}

#[test]
fn a_successful_answer_pointing_at_the_dead_next_hop_is_evidence_of_the_syn_failure() {
    let a = support::lab("dns-answer-unreachable.pcap");
    assert_eq!(a.calls.len(), 1);
    let f = &a.calls[0].findings;
    let codes: Vec<&str> = f.iter().map(|f| f.code).collect();
    assert_eq!(
        codes,
        ["tcp.syn_unanswered", "sip.timeout"],
        "an answered lookup is no dns.failed"
    );
    assert!(
        f[0].summary.contains("trying its next hop 192.0.2.31:5060 (from DNS: A app1.lab.example → 192.0.2.31, frames 9, 10)"),
        "{}",
        f[0].summary
    );
    assert!(f[0].cause.ends_with("192.0.2.31 is the address DNS gave for the next hop: if it should not be reached there, correct the DNS record"));
    assert!(
        f[0].frames.starts_with(&[3, 9, 10, 13]),
        "{:?}",
        f[0].frames
    );
    assert!(a.dns_failures.is_empty());
}

#[test]
fn lookups_beyond_the_limit_are_counted() {
    let file = callscope::capture::CaptureFile::open(std::path::Path::new(
        "testdata/lab/dns-nxdomain.pcap",
    ))
    .expect("a lab capture");
    let mut options = callscope::Options::default();
    options.limits.dns.lookups = 1;
    let a = callscope::analyze(&[file], &options, &callscope::pipeline::NoProgress);
    // The first lookup (call 1's SRV) stays open while call 1 holds it, so the other 4 queries are counted,
    // not matched: none is lost silently.
    assert_eq!(a.limits.untracked_dns_queries, 4);
    options.limits.dns.lookups = 0;
    let file = callscope::capture::CaptureFile::open(std::path::Path::new(
        "testdata/lab/dns-nxdomain.pcap",
    ))
    .expect("a lab capture");
    let a = callscope::analyze(&[file], &options, &callscope::pipeline::NoProgress);
    assert_eq!(a.limits.untracked_dns_queries, 5, "every query counted");
    assert!(a.calls[1].findings.iter().all(|f| f.code != "dns.failed"));
    assert!(a.dns_failures.is_empty());
}
