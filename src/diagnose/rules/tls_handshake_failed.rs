//! Rule: tls.handshake_failed
//!
//! **Trigger**: a TCP connection that started a TLS handshake (ClientHello seen) and never carried
//! application data, because a TLS alert was sent during the handshake or the connection was closed
//! (FIN/RST) before it completed.
//!
//! **Evidence**: the ClientHello, the ServerHello (if any), the alert (level, description, who sent it)
//! and the FIN/RST frames; the SNI the client asked for. SIP inside TLS cannot be read, so this is
//! often the only evidence of a failed call over TLS; it is linked to a call only when the call's SIP
//! on the same path was visible (see `diagnose::link`).
//!
//! **Cause**: certificate alerts (`bad_certificate`, `unsupported_certificate`, `certificate_revoked`,
//! `certificate_expired`, `certificate_unknown`, `unknown_ca`, `certificate_required`) point at the
//! certificate chain or the trusted roots — mutual TLS when the server sent the alert about the
//! client's certificate; `handshake_failure`/`protocol_version`/`insufficient_security` at TLS
//! versions or cipher suites; a close without an alert at a peer that gave up (often the same causes,
//! logged only on that side).
//!
//! When the client asked for Teams Direct Routing's SIP proxy (SNI `*.pstnhub.microsoft.com`), the
//! cause says what Microsoft requires of an SBC, and whether Microsoft ended the handshake.
//!
//! **False positives**: TLS 1.3 encrypts the later handshake, so a client-certificate rejection after
//! the ServerHello looks like application data and is missed (false negative); a health-check probe
//! that connects and closes looks like an aborted handshake.

use crate::correlate::message::Transport;
use crate::correlate::transport::{Connection, TlsAlert};
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

/// The failed handshake, if this connection shows one.
pub(crate) fn check(conn: &Connection) -> Option<TransportEvent> {
    let tls = conn.tls.as_ref()?;
    let hello = tls.client_hello?.frame;
    if tls.application_data {
        return None;
    }
    let closed = conn.client_fin.is_some() || conn.server_fin.is_some() || conn.rst.is_some();
    if tls.alert.is_none() && !closed {
        return None;
    }
    let server = conn.server.to_string();
    let client_ip = conn.client.ip().to_string();
    let sni = tls
        .sni
        .as_deref()
        .map(|s| format!(" for the name {s}"))
        .unwrap_or_default();
    let server_hello = tls.server_hello.map_or("no ServerHello".to_string(), |f| {
        format!("ServerHello in frame {}", f.frame)
    });
    // Who ended the handshake: the sender of the alert, else who reset or closed first.
    let server_ended = match (&tls.alert, conn.rst, conn.client_fin, conn.server_fin) {
        (Some(alert), ..) => !alert.from_client,
        (None, Some(r), _, _) => !r.by_client,
        (None, None, Some(c), Some(s)) => s.frame < c.frame,
        (None, None, Some(_), None) => false,
        _ => true,
    };
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
            (
                format!("no alert was seen, {by} before the handshake completed"),
                format!(
                    "the side that closed gave up on the handshake: check the certificate chain / trusted root (MTLS) and the TLS versions and ciphers on {client_ip} and {server}, and their TLS logs"
                ),
                conn.last_ts_ns,
            )
        }
    };
    if microsoft::direct_routing_sni(tls.sni.as_deref()) {
        cause.push_str(&format!(
            "; {}",
            microsoft::direct_routing_tls(server_ended)
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
            "TLS handshake from {client_ip} to {server}{sni} failed: ClientHello in frame {hello}, {server_hello}, {what}; no SIP could flow (SIP over TLS is encrypted, only the handshake is visible)"
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
                },
            )
            .tls(8, 0.7, S, C, TlsEvent::ServerHello);
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
                },
            )
            .tls(8, 0.3, ms, C, TlsEvent::ServerHello)
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
