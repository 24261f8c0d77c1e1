//! Rule: tls.handshake_failed
//!
//! **Trigger**: a TCP connection that started a TLS handshake (ClientHello seen) and never carried
//! application data, because a TLS alert was sent during the handshake or the connection was closed
//! (FIN/RST) before it completed.
//!
//! **Evidence**: the ClientHello, the ServerHello (if any), the alert (level, description, who sent it)
//! and the FIN/RST frames; the SNI the client asked for. A failed handshake carried no SIP, so this
//! is often the only evidence of a failed call over TLS; it is linked to a call when the call's SIP
//! on the same path, or the proxy holding its INVITE, was visible (see `diagnose::link`).
//!
//! **Cause**: certificate alerts (`bad_certificate`, `unsupported_certificate`, `certificate_revoked`,
//! `certificate_expired`, `certificate_unknown`, `unknown_ca`, `certificate_required`) point at the
//! certificate chain or the trusted roots — mutual TLS when the server sent the alert about the
//! client's certificate; `handshake_failure`/`protocol_version`/`insufficient_security` at TLS
//! versions or cipher suites; a close without an alert at a peer that gave up (often the same causes,
//! logged only on that side).
//!
//! Also: plain SIP sent to port 5061 (no ClientHello) that the server resets or closes without a
//! byte of answer — a TCP transport configured where TLS is expected.
//!
//! The summary adds what the hellos settled: the versions the client offered and the one the server
//! chose (a `protocol_version` or `handshake_failure` alert right after the ClientHello means no
//! common version or suite), whether the server asked for a client certificate and what the client
//! sent; a certificate problem visible in the certificates is `tls.certificate`'s, which runs first.
//! TLS 1.3 encrypts the certificates: without its key log the finding says so and judges from the
//! alert (decrypted with the key log), the timing and who closed.
//!
//! When the client asked for Teams Direct Routing's SIP proxy (SNI `*.pstnhub.microsoft.com`), the
//! cause says what Microsoft requires of an SBC, and whether Microsoft ended the handshake.
//!
//! **False positives**: in TLS 1.3 without keys the handshake counts as completed once the server
//! sends more than an alert after the client's encrypted flight, so a rejection sent in a larger
//! record is missed; a health-check probe that connects and closes looks like an aborted handshake.

use crate::correlate::message::Transport;
use crate::correlate::transport::{Connection, Tls, TlsAlert};
use crate::diagnose::{microsoft, Severity, TransportEvent};

/// Alerts about a certificate (RFC 8446 §6.2, RFC 5246 §7.2.2).
fn certificate_alert(description: u8) -> bool {
    matches!(description, 41..=46 | 48 | 116)
}

fn alert_cause(alert: &TlsAlert, client: &str, server: &str, sni: &str) -> String {
    let (sender, peer) = if alert.from_client {
        (client, server)
    } else {
        (server, client)
    };
    if certificate_alert(alert.description) {
        if alert.from_client {
            format!(
                "{client} does not accept the certificate {server} presented ({}){sni}: check the certificate chain / trusted root (MTLS) — install the issuing CA of {server}'s certificate (with intermediates) in {client}'s trusted root store, or give {server} a certificate from a CA {client} trusts, valid and with the name {client} expects",
                alert.name
            )
        } else {
            format!(
                "{server} rejected the client certificate of {client} ({}): check the certificate chain / trusted root (MTLS) — {client} must present a certificate (with intermediates) issued by a CA in {server}'s trusted root store, not expired or revoked",
                alert.name
            )
        }
    } else {
        match alert.description {
            40 | 70 | 71 => format!(
                "{sender} found no common TLS version or cipher suite with {peer} ({}): align the TLS versions and cipher suites allowed on both sides (and check whether {server} requires a client certificate)",
                alert.name
            ),
            _ => format!(
                "{sender} aborted the TLS handshake with {peer} ({}): check {sender}'s TLS configuration and logs",
                alert.name
            ),
        }
    }
}

/// The SIP over TLS port (RFC 3261 §26.2, `sips`).
const SIPS_PORT: u16 = 5061;

/// Plain SIP sent to the TLS port, which the server ended (RST or FIN) without a byte of answer.
fn plain_sip_to_tls_port(conn: &Connection) -> Option<TransportEvent> {
    if !conn.sip || conn.tls.is_some() || conn.server.port() != SIPS_PORT || conn.server_bytes > 0 {
        return None;
    }
    let (end, how) = match (conn.rst, conn.server_fin) {
        (Some(r), _) if !r.by_client => (r.at, "reset"),
        (_, Some(f)) => (f, "closed"),
        _ => return None,
    };
    let mut frames = conn.evidence_frames();
    frames.push(end.frame);
    frames.sort_unstable();
    frames.dedup();
    let client_ip = conn.client.ip().to_string();
    let server = conn.server.to_string();
    Some(TransportEvent {
        code: "tls.handshake_failed",
        severity: Severity::Error,
        src: conn.client,
        dst: conn.server,
        proto: Transport::Tcp,
        attempts: 1,
        first_frame: frames.first().copied().unwrap_or(end.frame),
        frames,
        ts_ns: conn.syns.first().map_or(end.ts_ns, |s| s.ts_ns),
        summary: format!(
            "{client_ip} sent plain SIP (no TLS ClientHello) to the TLS port {server}, which {how} the connection in frame {} without answering",
            end.frame
        ),
        cause: format!(
            "{client_ip} uses transport TCP where {server} expects TLS: set the transport to TLS (sips: or ;transport=tls, port 5061) on {client_ip}, or send plain SIP to {server}'s TCP port (5060)"
        ),
        calls: Vec::new(),
    })
}

/// Whether the server ended the handshake: the sender of the alert, else who reset or closed first.
pub(crate) fn server_ended(conn: &Connection, tls: &Tls) -> bool {
    match (&tls.alert, conn.rst, conn.client_fin, conn.server_fin) {
        (Some(alert), ..) => !alert.from_client,
        (None, Some(r), _, _) => !r.by_client,
        (None, None, Some(c), Some(s)) => s.frame < c.frame,
        (None, None, Some(_), None) => false,
        _ => true,
    }
}

/// The failed handshake, if this connection shows one.
pub(crate) fn check(conn: &Connection) -> Option<TransportEvent> {
    if let Some(event) = plain_sip_to_tls_port(conn) {
        return Some(event);
    }
    let tls = conn.tls.as_ref()?;
    let hello = tls.client_hello?.frame;
    if !conn.tls_failed() {
        return None;
    }
    let server = conn.server.to_string();
    let client_ip = conn.client.ip().to_string();
    let sni = tls
        .sni
        .as_deref()
        .map(|s| format!(" for the name {s}"))
        .unwrap_or_default();
    let name = |v: u16| {
        crate::proto::tls::ProtocolVersion(v)
            .name()
            .unwrap_or("unknown version")
    };
    let offered = tls.offer.map_or(String::new(), |o| {
        if o.min_version == o.max_version {
            format!(" offering {} only", name(o.max_version))
        } else {
            format!(
                " offering {} to {}",
                name(o.min_version),
                name(o.max_version)
            )
        }
    });
    let server_hello = match (tls.server_hello, tls.negotiated) {
        (Some(f), Some(n)) => format!(
            "ServerHello in frame {} ({}, {})",
            f.frame,
            name(n.version),
            crate::proto::tls::suite::lookup(n.cipher_suite)
                .map_or(format!("cipher suite 0x{:04x}", n.cipher_suite), |s| s
                    .name
                    .to_string())
        ),
        (Some(f), None) => format!("ServerHello in frame {}", f.frame),
        (None, _) => "no ServerHello".to_string(),
    };
    let mut notes = String::new();
    if let Some(at) = tls.certificate_request {
        notes.push_str(&format!(
            "; the server asked for a client certificate (frame {})",
            at.frame
        ));
        if let Some(c) = &tls.client_certificates {
            match c.chain.first() {
                Some(leaf) => notes.push_str(&format!(
                    " and the client sent {} (issued by {})",
                    leaf.subject, leaf.issuer
                )),
                None => notes.push_str(" and the client sent none"),
            }
        }
    }
    if let Some(leaf) = tls
        .server_certificates
        .as_ref()
        .and_then(|c| c.chain.first())
    {
        notes.push_str(&format!(
            "; the server presented {} issued by {}",
            leaf.subject, leaf.issuer
        ));
    }
    if tls.certificates_hidden() {
        notes.push_str(
            "; TLS 1.3 encrypts the certificates: give its key log (--keylog) to see them",
        );
    }
    let (what, mut cause, ts_ns) = match &tls.alert {
        Some(alert) => (
            format!(
                "{} sent a {} alert {} ({}) in frame {}",
                if alert.from_client {
                    &client_ip
                } else {
                    &server
                },
                if alert.level == 2 { "fatal" } else { "warning" },
                alert.name,
                alert.description,
                alert.frame
            ),
            alert_cause(alert, &client_ip, &conn.server.ip().to_string(), &sni),
            alert.ts_ns,
        ),
        None => {
            let by = match (conn.rst, conn.client_fin, conn.server_fin) {
                (Some(r), _, _) if r.by_client => format!("{client_ip} reset it"),
                (Some(_), _, _) => format!("{server} reset it"),
                (None, Some(c), Some(s)) if c.frame <= s.frame => format!("{client_ip} closed it"),
                (None, Some(_), None) => format!("{client_ip} closed it"),
                _ => format!("{server} closed it"),
            };
            let hidden = tls
                .encrypted_alert
                .map_or(String::new(), |(at, by_client)| {
                    format!(
                        "an encrypted record the size of an alert from {} in frame {}, then ",
                        if by_client { &client_ip } else { &server },
                        at.frame
                    )
                });
            (
                format!("no readable alert: {hidden}{by} before the handshake completed"),
                match tls.encrypted_alert {
                    // In TLS 1.3 the server speaks after the client's encrypted flight only to judge
                    // the client's certificate.
                    Some((_, false)) if tls.version() == Some(0x0304) => format!(
                        "{server} rejected the handshake after {client_ip}'s encrypted certificate and Finished: most often {client_ip}'s client certificate (mutual TLS: issuer not trusted by {server}, expired, or without clientAuth) — check it, or give the key log (--keylog) to read the alert and the certificates"
                    ),
                    _ => format!(
                        "the side that closed gave up on the handshake: check the certificate chain / trusted root (MTLS) and the TLS versions and ciphers on {client_ip} and {server}, and their TLS logs"
                    ),
                },
                conn.last_ts_ns,
            )
        }
    };
    if microsoft::direct_routing_sni(tls.sni.as_deref()) {
        cause.push_str(&format!(
            "; {}",
            microsoft::direct_routing_tls(server_ended(conn, tls))
        ));
    }
    let mut frames = conn.evidence_frames();
    frames.push(hello);
    frames.extend(tls.server_hello.map(|a| a.frame));
    frames.extend(conn.client_fin.map(|f| f.frame));
    frames.extend(conn.server_fin.map(|f| f.frame));
    frames.sort_unstable();
    frames.dedup();
    Some(TransportEvent {
        code: "tls.handshake_failed",
        severity: Severity::Error,
        src: conn.client,
        dst: conn.server,
        proto: Transport::Tls,
        attempts: 1,
        first_frame: frames.first().copied().unwrap_or(hello),
        frames,
        ts_ns: conn.syns.first().map_or(ts_ns, |s| s.ts_ns),
        summary: format!(
            "TLS handshake from {client_ip} to {server}{sni} failed: ClientHello in frame {hello}{offered}, {server_hello}, {what}{notes}; no SIP could flow over it"
        ),
        cause,
        calls: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::correlate::transport::{flags, TlsEvent};
    use crate::diagnose::rules::testkit::*;

    const C: &str = "192.0.2.10:39292";
    const S: &str = "192.0.2.31:5061";

    fn handshake_with(
        alert: Option<(bool, u8, &'static str)>,
        app_data: bool,
    ) -> Option<TransportEvent> {
        let mut w = World::new(vec![]);
        w.handshake(3, 0.0, C, S)
            .tls(
                6,
                0.2,
                C,
                S,
                TlsEvent::ClientHello {
                    sni: Some("app1.lab.example".into()),
                    max_version: 0x0303,
                    min_version: 0x0303,
                    cipher_suites: 10,
                },
            )
            .tls(
                8,
                0.7,
                S,
                C,
                TlsEvent::ServerHello {
                    version: 0x0303,
                    cipher_suite: 0xc02f,
                    extended_master_secret: true,
                    encrypt_then_mac: false,
                    retry: false,
                },
            );
        if let Some((from_client, description, name)) = alert {
            let (a, b) = if from_client { (C, S) } else { (S, C) };
            w.tls(
                10,
                1.0,
                a,
                b,
                TlsEvent::Alert {
                    level: 2,
                    description,
                    name,
                    decrypted: false,
                },
            );
        }
        if app_data {
            w.tls(10, 1.0, C, S, TlsEvent::ApplicationData);
        }
        w.seg(11, 1.05, C, S, flags::FIN | flags::ACK, 0).seg(
            12,
            1.1,
            S,
            C,
            flags::FIN | flags::ACK,
            0,
        );
        check(&w.build().connections[0])
    }

    #[test]
    fn unknown_ca_from_the_client_points_at_the_trusted_root() {
        let ev = handshake_with(Some((true, 48, "unknown_ca")), false).expect("a finding");
        assert_eq!(ev.frames, vec![3, 4, 6, 8, 10, 11, 12]);
        assert!(
            ev.summary
                .contains("192.0.2.10 sent a fatal alert unknown_ca (48) in frame 10"),
            "{}",
            ev.summary
        );
        assert!(ev.summary.contains("for the name app1.lab.example"));
        assert!(ev
            .cause
            .contains("check the certificate chain / trusted root (MTLS)"));
        assert!(ev
            .cause
            .contains("192.0.2.10 does not accept the certificate 192.0.2.31 presented"));
    }

    #[test]
    fn certificate_required_from_the_server_is_mutual_tls() {
        let ev =
            handshake_with(Some((false, 116, "certificate_required")), false).expect("a finding");
        assert!(
            ev.cause
                .contains("rejected the client certificate of 192.0.2.10"),
            "{}",
            ev.cause
        );
    }

    #[test]
    fn a_close_without_alert_before_completion_fails_too() {
        let ev = handshake_with(None, false).expect("a finding");
        assert!(
            ev.summary.contains("192.0.2.10 closed it"),
            "{}",
            ev.summary
        );
    }

    #[test]
    fn teams_direct_routing_closing_the_handshake_is_named() {
        let ms = "52.114.148.0:5061";
        let mut w = World::new(vec![]);
        w.handshake(3, 0.0, C, ms)
            .tls(
                6,
                0.2,
                C,
                ms,
                TlsEvent::ClientHello {
                    sni: Some("sip.pstnhub.microsoft.com".into()),
                    max_version: 0x0303,
                    min_version: 0x0303,
                    cipher_suites: 10,
                },
            )
            .tls(
                8,
                0.3,
                ms,
                C,
                TlsEvent::ServerHello {
                    version: 0x0303,
                    cipher_suite: 0xc02f,
                    extended_master_secret: true,
                    encrypt_then_mac: false,
                    retry: false,
                },
            )
            .seg(9, 0.5, ms, C, flags::FIN | flags::ACK, 0)
            .seg(10, 0.6, C, ms, flags::FIN | flags::ACK, 0);
        let ev = check(&w.build().connections[0]).expect("a finding");
        assert!(
            ev.summary.contains("52.114.148.0:5061 closed it"),
            "{}",
            ev.summary
        );
        assert!(
            ev.cause.ends_with("the server is Teams Direct Routing's SIP proxy, and Microsoft closed the TLS session: it accepts only an SBC whose certificate comes from a public CA Microsoft trusts and names the SBC's FQDN as paired in the tenant, over TLS 1.2 or later — check the SBC's certificate (with intermediates), its FQDN and its TLS settings"),
            "{}",
            ev.cause
        );
        // Not Direct Routing: no such sentence.
        let other = handshake_with(None, false).expect("a finding");
        assert!(!other.cause.contains("Direct Routing"));
    }

    #[test]
    fn a_completed_handshake_is_fine() {
        assert_eq!(handshake_with(None, true), None);
    }
}
