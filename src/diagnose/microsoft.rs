//! Microsoft's own diagnostics in SIP, turned into sentences: Lync / Skype for Business servers'
//! `ms-diagnostics` and `ms-diagnostics-public`, their clients' `ms-client-diagnostics` with the ICE
//! report (`ICEWarn`, `*MediaDebug`), Winsock failure codes, and Teams Direct Routing.
//!
//! Takes model values (messages, the transport failures linked to a call); produces phrases the
//! rules put in their summaries and causes. Decides nothing, and never guesses: a code that is not in
//! a table below is printed as it was sent (with the component its range belongs to, which is
//! documented), not interpreted.
//!
//! Sources of the tables:
//! - [MS-OCER] (Client Error Reporting Protocol) "Diagnostics header error ID and reason values":
//!   the ErrorId ranges (also in the Office Communications Server 2007 "Ms-Diagnostics Header"
//!   page), the SipStack table (1000–1014), User Services (4000–4013), server API and applications
//!   (5000–5008), VoIP outbound routing (12000–12011) and VoIP inbound routing (13000–13011).
//! - 1046 and 1047 are not in those tables: their texts are the reasons Lync / Skype for Business
//!   Front End and Edge servers send with them, as published traces show them (the Lync federation
//!   and trusted-application troubleshooting articles).
//! - `ICEWarn` bits 0x1–0x200: the "ICE warning flags" table of the Lync Server 2010 Resource Kit (as
//!   republished by the Microsoft UC blogs); higher bits are printed raw.
//! - ms-client-diagnostics 23–25 (media connectivity failure at setup), 51004 (action initiated by
//!   the user), 51007 (callee media connectivity report): the diagnostic IDs Lync / Skype for Business
//!   clients send, as the Monitoring Server reports and Microsoft's support articles show them.
//! - Winsock: "Windows Sockets Error Codes" (learn.microsoft.com).
//! - Teams Direct Routing: the SIP proxy FQDNs sip, sip2 and sip3.pstnhub.microsoft.com and the
//!   `Microsoft.PSTNHub.SIPProxy` Server header ("Direct Routing - SIP protocol"), and "Microsoft and
//!   SIP response codes": a Microsoft response code starting with 560 means the final SIP response
//!   came from the SBC (its last three digits are that response), any other from a Microsoft service.
//!   Microsoft reports that code in the Teams admin center; callscope reads it from a message only
//!   where one carries it as a six-digit ms-diagnostics ErrorId.

use crate::correlate::message::{MediaReport, Message, MsDiagnostic, MsHeader};
use crate::diagnose::facts::CallFacts;
use crate::diagnose::{Finding, TransportEvent};

/// The component an ErrorId's range belongs to ([MS-OCER]).
fn component(id: u32) -> Option<&'static str> {
    Some(match id {
        0..=999 => "common",
        1000..=1999 => "SIP stack",
        2000..=2999 => "presence",
        3000..=3999 => "conferencing focus",
        4000..=4999 => "user services",
        5000..=5999 => "server application",
        6000..=6999 => "IM conferencing server",
        7000..=7999 => "A/V conferencing server",
        8000..=8999 => "telephony conferencing server",
        9000..=9999 => "MRAS (media relay authentication)",
        10000..=10999 => "Mediation Server",
        11000..=11999 => "Monitoring Server",
        12000..=12999 => "outbound call routing",
        13000..=13999 => "inbound call routing",
        14000..=14999 => "translation service (dial plans)",
        15000..=15999 => "Exchange UM",
        16000..=16999 => "IM filter",
        17000..=17999 => "client version filter",
        _ => return None,
    })
}

/// The documented reasons of server ErrorIds ([MS-OCER]; 1046 and 1047 from servers' traces).
const SERVER_CODES: &[(u32, &str)] = &[
    (1000, "final handshake failed"),
    (
        1001,
        "From URI not authorized to communicate with public IM providers",
    ),
    (
        1002,
        "From URI not authorized to communicate with federated partners",
    ),
    (1003, "user does not exist"),
    (1004, "route set is no longer valid"),
    (1005, "cannot route to destination domain"),
    (1006, "error routing on client connection"),
    (1007, "temporarily cannot route"),
    (1008, "unable to resolve DNS SRV record"),
    (1009, "conflicting SRV and host domains in DNS"),
    (
        1010,
        "certificate trust with next-hop server could not be established",
    ),
    (1011, "ms-diagnostics header not provided by previous hop"),
    (
        1012,
        "From URI is not authorized to communicate with users outside the enterprise",
    ),
    (1013, "significant time skew detected during authentication"),
    (1014, "unable to resolve DNS A record"),
    (1046, "failed to connect to a peer server"),
    (
        1047,
        "failed to complete TLS negotiation with a federated peer server",
    ),
    (4000, "user services default"),
    (4001, "XML parse failure"),
    (
        4002,
        "multiple users associated with the source phone number",
    ),
    (4003, "From URI not enabled for remote access"),
    (
        4004,
        "credentials provided are not authorized to act as specified From URI",
    ),
    (
        4005,
        "destination URI either not enabled for SIP or does not exist",
    ),
    (4006, "user not found in pool"),
    (4007, "resource is unknown in this deployment"),
    (4008, "input data too large"),
    (
        4009,
        "multiple users associated with the destination phone number",
    ),
    (4010, "missing endpoint identifier"),
    (4011, "epid not present"),
    (4012, "epid too long"),
    (
        4013,
        "content type does not match the expected content type",
    ),
    (5000, "one or more critical applications are not running"),
    (5001, "request timed out"),
    (5002, "request was cancelled"),
    (5003, "internal processing failure"),
    (5004, "failed parsing the incoming request"),
    (5005, "the application specified an invalid request-URI"),
    (5006, "failed when constructing the outgoing request"),
    (5007, "failed processing a contact entry"),
    (
        5008,
        "the application specified an invalid static forwarding URL",
    ),
    (
        12000,
        "routes available for this request but no available gateway at this point",
    ),
    (12001, "user policy does not contain phone route usage"),
    (12002, "phone number not valid or too large"),
    (12003, "inconsistent internal state"),
    (12004, "no route found"),
    (12005, "error parsing policy for this user"),
    (12006, "trying next hop"),
    (
        12007,
        "could not parse flags in ms-application-via header for outbound call routing",
    ),
    (12008, "PSTN toll bypass disallowed"),
    (12009, "PSTN toll bypass disallowed for referrer"),
    (12010, "From URI does not match caller URI"),
    (12011, "request body does not conform to schema"),
    (13000, "call to self loop"),
    (
        13001,
        "the routing rules did not result in a suitable final response",
    ),
    (
        13002,
        "the routing rules did not result in a final response",
    ),
    (
        13003,
        "the request contains a header that is not formatted as expected",
    ),
    (
        13004,
        "request was proxied to one or more registered endpoints",
    ),
    (
        13005,
        "request was proxied to one or more additional targets",
    ),
    (13006, "request forwarded, any previous branches cancelled"),
    (13007, "request was proxied to an application"),
    (13008, "diagnostic headers removed for privacy"),
    (13009, "no endpoints registered in backup registrar"),
    (
        13010,
        "target rejected call because of bandwidth congestion",
    ),
    (13011, "failed to dispatch request: an overload condition"),
];

/// What to check for the server codes where the reason alone does not say it.
fn server_advice(id: u32) -> Option<&'static str> {
    Some(match id {
        1008 | 1014 => "check the DNS records of the next hop's domain as the server resolves them",
        1010 | 1047 => "check the certificate chain between the server and its peer: each must trust the other's issuing CA, with the names they connect to",
        1046 => "check that the peer server is up, listens on its port and is reachable from the server (firewall)",
        4005 | 4006 => "check that the called user exists and is enabled for SIP in this pool",
        5000 | 5001 => "check the trusted application (UCMA/MSPL) the request went to: that it runs and is reachable from the Front End",
        12001 | 12004 => "check the caller's voice policy, its PSTN usages and the voice routes that should match the number",
        12000 => "check that the gateways (trunks) of the matching routes are up",
        _ => return None,
    })
}

/// The documented meanings of client diagnostic IDs.
fn client_code(id: u32) -> Option<&'static str> {
    Some(match id {
        23..=25 => "the call could not establish media: the clients' connectivity checks (ICE) found no working path",
        51004 => "the user ended the call",
        51007 => "the callee's media connectivity report",
        _ => return None,
    })
}

/// `ICEWarn` bits (Lync Server 2010 Resource Kit).
const ICE_WARN_BITS: &[(u32, &str)] = &[
    (0x1, "TURN server unreachable"),
    (0x2, "UDP allocation on the TURN server failed"),
    (0x4, "sending UDP through the TURN server failed"),
    (0x8, "TCP allocation on the TURN server failed"),
    (0x10, "sending TCP through the TURN server failed"),
    (0x20, "local connectivity failed"),
    (0x40, "UDP NAT connectivity failed"),
    (0x80, "UDP TURN server connectivity failed"),
    (0x100, "TCP NAT connectivity failed"),
    (0x200, "TCP TURN server connectivity failed"),
];

/// The bits of an `ICEWarn` mask in words; bits outside the table are given raw.
pub(crate) fn ice_warn(mask: u32) -> String {
    let known: Vec<String> = ICE_WARN_BITS
        .iter()
        .filter(|(bit, _)| mask & bit != 0)
        .map(|(bit, what)| format!("{what} (0x{bit:x})"))
        .collect();
    let rest = ICE_WARN_BITS.iter().fold(mask, |m, (bit, _)| m & !bit);
    let mut parts = known;
    if rest != 0 {
        parts.push(format!("other bits 0x{rest:x}, not in callscope's table"));
    }
    if parts.is_empty() {
        "no warning".to_string()
    } else {
        parts.join(", ")
    }
}

/// A Winsock error code (Windows Sockets Error Codes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Winsock {
    pub code: u32,
    pub name: &'static str,
    pub meaning: &'static str,
}

impl Winsock {
    /// Reads a `WinsockFailureCode` value: `10060(WSAETIMEDOUT)` or a bare number.
    pub(crate) fn parse(value: &str) -> Option<Winsock> {
        let digits: String = value.chars().take_while(char::is_ascii_digit).collect();
        let code: u32 = digits.parse().ok()?;
        let (name, meaning) = match code {
            10050 => ("WSAENETDOWN", "the network of the server was down"),
            10051 => ("WSAENETUNREACH", "no route to the peer's network"),
            10053 => (
                "WSAECONNABORTED",
                "the server's own stack aborted the connection",
            ),
            10054 => ("WSAECONNRESET", "the peer reset the connection"),
            10060 => (
                "WSAETIMEDOUT",
                "the connection attempt timed out: the peer never answered",
            ),
            10061 => (
                "WSAECONNREFUSED",
                "the peer refused the connection: nothing listens on that port",
            ),
            10064 => ("WSAEHOSTDOWN", "the peer host was down"),
            10065 => ("WSAEHOSTUNREACH", "no route to the peer host"),
            11001 => ("WSAHOST_NOT_FOUND", "the peer's name was not found in DNS"),
            _ => return None,
        };
        Some(Winsock {
            code,
            name,
            meaning,
        })
    }
}

/// The Winsock code of a diagnostic's `WinsockFailureCode` attribute.
fn winsock_of(d: &MsDiagnostic) -> Option<Winsock> {
    d.attrs
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("WinsockFailureCode"))
        .find_map(|(_, v)| Winsock::parse(v))
}

fn attr<'a>(d: &'a MsDiagnostic, key: &str) -> Option<&'a str> {
    d.attrs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v.as_str())
}

/// One diagnostic in words: `ms-diagnostics 1046 (SIP stack: failed to connect to a peer server)
/// reason "…" source "…": WinsockFailureCode 10060 WSAETIMEDOUT, the connection attempt timed out…`.
pub(crate) fn describe(d: &MsDiagnostic) -> String {
    let id = match d.sub_code {
        Some(sub) => format!("{}.{sub}", d.error_id),
        None => d.error_id.to_string(),
    };
    let meaning = match d.header {
        MsHeader::Client => client_code(d.error_id).map(|m| format!("client: {m}")),
        _ => SERVER_CODES
            .iter()
            .find(|(code, _)| *code == d.error_id)
            .map(|(_, m)| format!("{}: {m}", component(d.error_id).unwrap_or("server")))
            .or_else(|| {
                component(d.error_id).map(|c| format!("a {c} code callscope has no meaning for"))
            }),
    };
    let mut s = format!("{} {id}", d.header.name());
    if let Some(meaning) = meaning {
        s.push_str(&format!(" ({meaning})"));
    }
    if let Some(reason) = d.reason.as_deref().filter(|r| !r.is_empty()) {
        s.push_str(&format!(" reason \"{reason}\""));
    }
    if let Some(source) = &d.source {
        s.push_str(&format!(" from {source}"));
    }
    for (k, v) in &d.attrs {
        if k.eq_ignore_ascii_case("WinsockFailureCode") {
            match Winsock::parse(v) {
                Some(w) => s.push_str(&format!(
                    "; WinsockFailureCode {} {}: {}",
                    w.code, w.name, w.meaning
                )),
                None => s.push_str(&format!("; WinsockFailureCode \"{v}\"")),
            }
        } else if d.media.is_empty() || !k.to_ascii_lowercase().ends_with("mediadebug") {
            s.push_str(&format!("; {k}=\"{v}\""));
        }
    }
    for report in &d.media {
        s.push_str(&format!("; {}", media_report(report)));
    }
    s
}

/// A client's ICE report in words: whose media, what `ICEWarn` says, the relays and ports it used.
fn media_report(r: &MediaReport) -> String {
    let whose = match (r.party.as_deref(), r.media.as_deref()) {
        (Some(p), Some(m)) => format!("{} {m}", p.to_lowercase()),
        (Some(p), None) => p.to_lowercase(),
        (None, Some(m)) => m.to_string(),
        (None, None) => "media".to_string(),
    };
    let mut s = format!("{whose} report:");
    match r.ice_warn {
        Some(mask) => s.push_str(&format!(" ICEWarn 0x{mask:x} = {}", ice_warn(mask))),
        None => s.push_str(" no ICEWarn"),
    }
    let relay = |key: &str, what: &str| match r.field(key) {
        Some("") => Some(format!("{what} none (no relay allocated)")),
        Some(v) => Some(format!("{what} {v}")),
        None => None,
    };
    let extras: Vec<String> = [
        relay("LocalMR", "local media relay"),
        relay("RemoteMR", "remote media relay"),
        r.field("MrDnsU").map(|v| format!("relay name {v}")),
        r.field("PortRange").map(|v| format!("port range {v}")),
        r.field("LocalSite")
            .filter(|v| !v.is_empty())
            .map(|v| format!("local address {v}")),
        r.field("RemoteSite")
            .filter(|v| !v.is_empty())
            .map(|v| format!("remote address {v}")),
    ]
    .into_iter()
    .flatten()
    .collect();
    if !extras.is_empty() {
        s.push_str(&format!("; {}", extras.join(", ")));
    }
    s
}

/// What the Microsoft server codes of a final response advise, when callscope knows.
pub(crate) fn advice(m: &Message) -> Option<String> {
    let mut tips: Vec<&str> = m
        .ms_diagnostics
        .iter()
        .filter(|d| d.header != MsHeader::Client)
        .filter_map(|d| server_advice(d.error_id))
        .collect();
    // ms-diagnostics and ms-diagnostics-public often carry the same code.
    tips.dedup();
    (!tips.is_empty()).then(|| tips.join("; "))
}

/// Whether a transport failure confirms, or contradicts, what a Winsock code says.
fn agrees(w: Winsock, code: &str) -> Option<bool> {
    match (w.code, code) {
        (10060, "tcp.syn_unanswered") | (10061, "tcp.syn_refused") => Some(true),
        (10054, "tcp.reset" | "tls.handshake_failed") => Some(true),
        (10060, "tcp.syn_refused" | "icmp.unreachable") | (10061, "tcp.syn_unanswered") => {
            Some(false)
        }
        (10060 | 10061 | 10054, _) => Some(false),
        _ => None,
    }
}

/// The response's Winsock failure set against the transport failures of its sender in this capture:
/// they corroborate each other, they disagree, or the capture does not show the attempt. `None`
/// when the response carries no Winsock code.
pub(crate) fn cross_check(fin: &Message, linked: &[&TransportEvent]) -> Option<String> {
    let d = fin
        .ms_diagnostics
        .iter()
        .find(|d| winsock_of(d).is_some())?;
    let w = winsock_of(d)?;
    let host = fin.src.ip();
    let peer = match (attr(d, "Peer"), attr(d, "Port")) {
        (Some(p), Some(port)) => format!(" {p}:{port}"),
        (Some(p), None) => format!(" {p}"),
        _ => String::new(),
    };
    let from_host: Vec<&&TransportEvent> = linked.iter().filter(|e| e.src.ip() == host).collect();
    let said = format!(
        "{}'s {} {} (WinsockFailureCode {} {})",
        host,
        d.header.name(),
        d.error_id,
        w.code,
        w.name
    );
    if !matches!(w.code, 10054 | 10060 | 10061) {
        return Some(format!("{said}: {}", w.meaning));
    }
    match from_host
        .iter()
        .find_map(|e| agrees(w, e.code).map(|ok| (ok, e)))
    {
        Some((true, e)) => Some(format!(
            "{said} and the capture corroborate each other: {} ({}, frames from {})",
            e.summary, e.code, e.first_frame
        )),
        Some((false, e)) => Some(format!(
            "{said} and the capture disagree: the header says {}, the capture shows {} ({}, frames from {}); trust the packets, and check whether {host} tried another address or port",
            w.meaning, e.summary, e.code, e.first_frame
        )),
        None => Some(format!(
            "{said}: {}; this capture does not show {host}'s connection attempt to its peer{peer}: capture at {host} to see it",
            w.meaning
        )),
    }
}

/// Adds the call's Microsoft client media report (see [`client_media`]) to the cause of each of its
/// media findings, with the frame that carried it: the client saw its own connectivity checks,
/// which the capture may not.
pub(crate) fn explain_media(findings: &mut [Finding], f: &CallFacts<'_>) {
    let Some((m, report)) = client_media(f.call.messages.iter().map(|s| &*s.msg)) else {
        return;
    };
    for finding in findings.iter_mut().filter(|x| x.code.starts_with("media.")) {
        finding.cause.push_str(&format!("; {report}"));
        if let Err(at) = finding.frames.binary_search(&m.frame) {
            finding.frames.insert(at, m.frame);
        }
    }
}

/// The call's Microsoft client report of a media failure: the message that carries it (a BYE,
/// CANCEL or response with `ms-client-diagnostics`), preferring the codes of a failed setup (23–25),
/// then any report with a non-zero `ICEWarn`.
fn client_media<'a>(messages: impl Iterator<Item = &'a Message>) -> Option<(&'a Message, String)> {
    let mut best: Option<(u8, &'a Message, &'a MsDiagnostic)> = None;
    for m in messages {
        for d in m
            .ms_diagnostics
            .iter()
            .filter(|d| d.header == MsHeader::Client)
        {
            let rank = if (23..=25).contains(&d.error_id) {
                2
            } else if d.media.iter().any(|r| r.ice_warn.is_some_and(|w| w != 0)) {
                1
            } else {
                continue;
            };
            if best.as_ref().is_none_or(|(r, _, _)| rank > *r) {
                best = Some((rank, m, d));
            }
        }
    }
    let (_, m, d) = best?;
    Some((
        m,
        format!(
            "the Microsoft client's own diagnosis ({}, frame {}): {}",
            m.label(),
            m.frame,
            describe(d)
        ),
    ))
}

/// Microsoft Teams Direct Routing's SIP proxy names (commercial cloud and the government clouds).
fn direct_routing_name(host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    [
        "pstnhub.microsoft.com",
        "pstnhub.gov.teams.microsoft.us",
        "pstnhub.dod.teams.microsoft.us",
    ]
    .iter()
    .any(|domain| host == *domain || host.ends_with(&format!(".{domain}")))
}

/// The host of a SIP URI (`sip:user@host:port;params`).
fn uri_host(uri: &str) -> &str {
    let rest = uri
        .trim_start_matches('<')
        .split_once(':')
        .map_or(uri, |(_, r)| r);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
    rest.split([':', ';', '>', '?']).next().unwrap_or(rest)
}

/// Whether Microsoft's Direct Routing SIP proxy sent this message: its Server / User-Agent header
/// names it, or its Contact (the sender's address) is a pstnhub name.
pub(crate) fn from_direct_routing(m: &Message) -> bool {
    m.user_agent
        .as_deref()
        .is_some_and(|ua| ua.starts_with("Microsoft.PSTNHub.SIPProxy"))
        || m.contact
            .as_deref()
            .is_some_and(|c| direct_routing_name(uri_host(c)))
}

/// Whether a TLS name (the SBC's ClientHello SNI) is Direct Routing's SIP proxy.
pub(crate) fn direct_routing_sni(sni: Option<&str>) -> bool {
    sni.is_some_and(direct_routing_name)
}

/// What a final response from Teams Direct Routing means: who generated it, by Microsoft's response
/// code when the message carries one.
pub(crate) fn direct_routing_response(fin: &Message) -> Option<String> {
    if !from_direct_routing(fin) {
        return None;
    }
    fin.status()?;
    let status = fin.label();
    let sub = fin
        .ms_diagnostics
        .iter()
        .map(|d| d.error_id)
        .find(|id| (100_000..1_000_000).contains(id));
    Some(match sub {
        Some(code) if code / 1000 == 560 => format!(
            "Teams Direct Routing (Microsoft's SIP proxy) relayed {status}: Microsoft response code {code} says the SBC generated that final response (SIP {}): look in the SBC's logs for why",
            code % 1000
        ),
        Some(code) => format!(
            "Teams Direct Routing (Microsoft's SIP proxy) answered {status} itself: Microsoft response code {code} comes from a Microsoft service; look it up in Microsoft's \"Microsoft and SIP response codes\" list"
        ),
        None => format!(
            "Teams Direct Routing (Microsoft's SIP proxy) answered {status}; the Teams admin center's record of this call gives Microsoft's response code (560xxx: the SBC generated it, anything else: a Microsoft service)"
        ),
    })
}

/// What a TLS connection that Microsoft's Direct Routing proxy closed or rejected means.
pub(crate) fn direct_routing_tls(closed_by_microsoft: bool) -> &'static str {
    if closed_by_microsoft {
        "the server is Teams Direct Routing's SIP proxy, and Microsoft closed the TLS session: it accepts only an SBC whose certificate comes from a public CA Microsoft trusts and names the SBC's FQDN as paired in the tenant, over TLS 1.2 or later — check the SBC's certificate (with intermediates), its FQDN and its TLS settings"
    } else {
        "the server is Teams Direct Routing's SIP proxy: the SBC must trust Microsoft's certificate chain (its root CAs installed on the SBC) and offer TLS 1.2 or later"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::correlate::message::MediaReport;

    fn diag(header: MsHeader, id: u32, reason: &str, attrs: &[(&str, &str)]) -> MsDiagnostic {
        MsDiagnostic {
            header,
            error_id: id,
            sub_code: None,
            source: Some("fe01.contoso.com".into()),
            reason: Some(reason.into()),
            attrs: attrs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            media: Vec::new(),
        }
    }

    #[test]
    fn documented_codes_are_explained_unknown_ones_printed_raw() {
        let d = diag(
            MsHeader::Diagnostics,
            1046,
            "Failed to connect to a peer server",
            &[
                ("WinsockFailureCode", "10060(WSAETIMEDOUT)"),
                ("Peer", "app.contoso.com"),
            ],
        );
        assert_eq!(
            describe(&d),
            "ms-diagnostics 1046 (SIP stack: failed to connect to a peer server) reason \"Failed to connect to a peer server\" from fe01.contoso.com; WinsockFailureCode 10060 WSAETIMEDOUT: the connection attempt timed out: the peer never answered; Peer=\"app.contoso.com\""
        );
        let unknown = diag(MsHeader::Public, 1777, "Something new", &[]);
        assert_eq!(
            describe(&unknown),
            "ms-diagnostics-public 1777 (a SIP stack code callscope has no meaning for) reason \"Something new\" from fe01.contoso.com"
        );
        let out_of_range = diag(
            MsHeader::Diagnostics,
            52_001,
            "x",
            &[("WinsockFailureCode", "99")],
        );
        assert_eq!(
            describe(&out_of_range),
            "ms-diagnostics 52001 reason \"x\" from fe01.contoso.com; WinsockFailureCode \"99\""
        );
        for (id, part) in [
            (1008, "DNS SRV"),
            (1010, "certificate trust"),
            (1014, "DNS A"),
            (4005, "not enabled for SIP"),
            (5000, "critical applications"),
            (12004, "no route"),
            (13011, "overload"),
        ] {
            assert!(
                describe(&diag(MsHeader::Diagnostics, id, "", &[])).contains(part),
                "{id}"
            );
        }
    }

    #[test]
    fn ice_warn_bits() {
        assert_eq!(
            ice_warn(0x320),
            "local connectivity failed (0x20), TCP NAT connectivity failed (0x100), TCP TURN server connectivity failed (0x200)"
        );
        assert_eq!(
            ice_warn(0x40003a0),
            "local connectivity failed (0x20), UDP TURN server connectivity failed (0x80), TCP NAT connectivity failed (0x100), TCP TURN server connectivity failed (0x200), other bits 0x4000000, not in callscope's table"
        );
        assert_eq!(ice_warn(0), "no warning");
    }

    #[test]
    fn client_reports_name_relays_and_ports() {
        let mut d = diag(
            MsHeader::Client,
            24,
            "Call failed to establish due to a media connectivity failure when both endpoints are remote",
            &[("CallerMediaDebug", "audio:ICEWarn=0x320,LocalMR=,PortRange=50040:50049")],
        );
        d.media.push(MediaReport {
            party: Some("Caller".into()),
            media: Some("audio".into()),
            ice_warn: Some(0x320),
            fields: vec![
                ("ICEWarn".into(), "0x320".into()),
                ("LocalMR".into(), "".into()),
                ("PortRange".into(), "50040:50049".into()),
            ],
        });
        let text = describe(&d);
        assert!(
            text.starts_with(
                "ms-client-diagnostics 24 (client: the call could not establish media"
            ),
            "{text}"
        );
        assert!(text.ends_with("; caller audio report: ICEWarn 0x320 = local connectivity failed (0x20), TCP NAT connectivity failed (0x100), TCP TURN server connectivity failed (0x200); local media relay none (no relay allocated), port range 50040:50049"), "{text}");
        assert!(!text.contains("CallerMediaDebug"), "{text}");
    }

    #[test]
    fn winsock_codes() {
        assert_eq!(
            Winsock::parse("10061(WSAECONNREFUSED)").map(|w| w.name),
            Some("WSAECONNREFUSED")
        );
        assert_eq!(Winsock::parse("10054").map(|w| w.code), Some(10054));
        assert_eq!(Winsock::parse("WSAETIMEDOUT"), None);
        assert_eq!(Winsock::parse("12345"), None);
    }

    /// The caller's BYE carries the client's report of a failed setup: every media finding of the call
    /// gets it in its cause, with the BYE's frame.
    #[test]
    fn a_client_media_report_becomes_the_media_findings_cause() {
        use crate::diagnose::rules::testkit::*;
        let mut msgs = answered(Some(4816.0));
        let mut d = diag(
            MsHeader::Client,
            24,
            "Call failed to establish due to a media connectivity failure when one endpoint is internal and the other is remote",
            &[("CallerMediaDebug", "audio:ICEWarn=0x40003a0,LocalMR=203.0.113.5:58503,MrDnsU=edge.contoso.com")],
        );
        d.media.push(MediaReport {
            party: Some("Caller".into()),
            media: Some("audio".into()),
            ice_warn: Some(0x40003a0),
            fields: vec![
                ("ICEWarn".into(), "0x40003a0".into()),
                ("LocalMR".into(), "203.0.113.5:58503".into()),
                ("MrDnsU".into(), "edge.contoso.com".into()),
            ],
        });
        let bye = msgs.iter_mut().find(|m| m.frame == 9000).expect("the BYE");
        bye.ms_diagnostics.push(d);
        let d = World::new(msgs).build().diagnose();
        let media: Vec<&Finding> = d.calls[0]
            .iter()
            .filter(|f| f.code.starts_with("media."))
            .collect();
        assert!(!media.is_empty());
        for f in media {
            assert!(f.frames.contains(&9000), "{:?}", f.frames);
            assert!(
                f.cause.contains("; the Microsoft client's own diagnosis (BYE, frame 9000): ms-client-diagnostics 24 (client: the call could not establish media: the clients' connectivity checks (ICE) found no working path) reason \"Call failed to establish"),
                "{}",
                f.cause
            );
            assert!(f.cause.contains("caller audio report: ICEWarn 0x40003a0 = local connectivity failed (0x20), UDP TURN server connectivity failed (0x80), TCP NAT connectivity failed (0x100), TCP TURN server connectivity failed (0x200), other bits 0x4000000, not in callscope's table; local media relay 203.0.113.5:58503, relay name edge.contoso.com"), "{}", f.cause);
        }
        // A report without warnings (51004, ICEWarn 0) explains nothing.
        let mut calm = answered(Some(4816.0));
        let mut bye = diag(MsHeader::Client, 51004, "Action initiated by user", &[]);
        bye.media.push(MediaReport {
            party: None,
            media: Some("audio".into()),
            ice_warn: Some(0),
            fields: vec![],
        });
        calm[5].ms_diagnostics.push(bye);
        let d = World::new(calm).build().diagnose();
        assert!(d.calls[0]
            .iter()
            .all(|f| !f.cause.contains("Microsoft client")));
    }

    #[test]
    fn teams_direct_routing_responses_say_who_generated_them() {
        use crate::correlate::testkit::*;
        let teams = |sub: Option<u32>| {
            let mut m = resp(
                5,
                300.0,
                APP,
                CALLER,
                486,
                crate::correlate::message::Method::Invite,
                1,
            );
            m.user_agent = Some("Microsoft.PSTNHub.SIPProxy v.2024.1.1.1 i.EUWE.1".into());
            if let Some(code) = sub {
                m.ms_diagnostics
                    .push(diag(MsHeader::Diagnostics, code, "", &[]));
            }
            m
        };
        assert!(direct_routing_response(&teams(Some(560486))).expect("Teams").contains("Microsoft response code 560486 says the SBC generated that final response (SIP 486)"));
        assert!(direct_routing_response(&teams(Some(510403))).expect("Teams").contains("answered 486 Busy Here itself: Microsoft response code 510403 comes from a Microsoft service"));
        assert!(direct_routing_response(&teams(None))
            .expect("Teams")
            .contains(
                "the Teams admin center's record of this call gives Microsoft's response code"
            ));
        let mut contact = resp(
            5,
            300.0,
            APP,
            CALLER,
            403,
            crate::correlate::message::Method::Invite,
            1,
        );
        contact.contact = Some("sip:sip2.pstnhub.microsoft.com:5061;transport=tls".into());
        assert!(from_direct_routing(&contact));
        let sbc = resp(
            5,
            300.0,
            APP,
            CALLER,
            403,
            crate::correlate::message::Method::Invite,
            1,
        );
        assert_eq!(direct_routing_response(&sbc), None);
    }

    #[test]
    fn direct_routing_names() {
        for name in [
            "sip.pstnhub.microsoft.com",
            "SIP2.pstnhub.microsoft.com.",
            "sip.pstnhub.gov.teams.microsoft.us",
        ] {
            assert!(direct_routing_sni(Some(name)), "{name}");
        }
        assert!(!direct_routing_sni(Some(
            "pstnhub.microsoft.com.evil.example"
        )));
        assert!(!direct_routing_sni(None));
        assert_eq!(
            uri_host("<sip:+1555@sip2.pstnhub.microsoft.com:5061;transport=tls>"),
            "sip2.pstnhub.microsoft.com"
        );
        assert_eq!(
            uri_host("sip:sip.pstnhub.microsoft.com"),
            "sip.pstnhub.microsoft.com"
        );
    }
}
