//! Rule: tls.certificate
//!
//! **Trigger**: a TLS connection whose certificates, as sent (in clear up to TLS 1.2; in TLS 1.3
//! when its key log let them be decrypted), show a problem: the server's leaf expired or not yet
//! valid at the time of the capture, not naming the SNI (without SNI: the host of the first SIP
//! request decrypted from the connection, else the server's address),
//! self-signed (unless the client went on to send its own Certificate: it trusted it), or with an
//! extended key usage lacking serverAuth; a chain its peer refused with
//! `unknown_ca` that ends at an issuer it did not send (an incomplete chain: intermediate missing) or
//! at a root the peer does not trust; a CertificateRequest answered with
//! an empty Certificate (no client certificate); a client certificate expired or lacking clientAuth
//! (a certificate valid for server authentication only breaks mutual TLS, as Lync/Skype for Business
//! and Teams Direct Routing require).
//!
//! **Evidence**: the certificate's subject, issuer, serial, validity, SAN and EKU — the fields that
//! prove the problem — the Certificate and CertificateRequest frames, and the alert that followed.
//! An error when the handshake then failed (alert or close before application data), a warning when
//! it completed anyway (the peer did not check).
//!
//! **Cause**: renew or reissue the certificate named, with the right names and usages, or send the
//! client certificate, or send the whole chain (toward Teams Direct Routing, with what Microsoft
//! requires of an SBC); where no problem is visible in the certificates,
//! `tls.handshake_failed` names the alert instead (whether the peer trusts a CA cannot be seen from
//! the capture: callscope has no trust store, it judges the chain sent, and only the peer's
//! `unknown_ca` says it did not know the issuer).
//!
//! **False positives**: a capture whose clock is wrong misjudges validity; a peer configured not to
//! check names (many SIP trunks connect by IP) completes the handshake despite a name mismatch — the
//! finding is then a warning.

use crate::correlate::message::Transport;
use crate::correlate::transport::{Connection, Tls, TlsAlert, TlsChain};
use crate::diagnose::rules::tls_handshake_failed;
use crate::diagnose::{microsoft, Severity, TransportEvent};
use crate::proto::tls::cert::Summary;
use crate::words;

/// The alert a peer sends about a chain whose issuer it does not know (RFC 8446 §6.2).
const UNKNOWN_CA: u8 = 48;

/// One problem found, and the side whose certificate has it.
struct Problem {
    client_side: bool,
    what: String,
    fix: String,
}

fn describe(c: &Summary) -> String {
    let names = c.name_list();
    let eku = c.eku.map_or("no EKU extension".to_string(), |e| {
        let mut u = Vec::new();
        if e.server_auth {
            u.push("serverAuth");
        }
        if e.client_auth {
            u.push("clientAuth");
        }
        if e.any {
            u.push("anyExtendedKeyUsage");
        }
        if u.is_empty() {
            "EKU without TLS usages".to_string()
        } else {
            format!("EKU {}", u.join(", "))
        }
    });
    format!(
        "[{}, serial {}, issued by {}, valid {} to {}, SAN {}, {eku}]",
        c.subject,
        c.serial,
        c.issuer,
        words::utc_minute(c.not_before),
        words::utc_minute(c.not_after),
        if names.is_empty() { "none" } else { &names },
    )
}

/// The problems of one side's leaf certificate; `name` is the name it must hold and how to say it.
fn leaf_problems(
    chain: &TlsChain,
    client_side: bool,
    now_s: i64,
    name: Option<(&str, &str)>,
    accepted: bool,
    out: &mut Vec<Problem>,
) {
    let Some(leaf) = chain.chain.first() else {
        return;
    };
    let whose = if client_side { "client" } else { "server" };
    let d = describe(leaf);
    if leaf.not_after < now_s {
        out.push(Problem {
            client_side,
            what: format!(
                "the {whose} certificate expired {} (before this capture, {}) {d}",
                words::utc_minute(leaf.not_after),
                words::utc_minute(now_s)
            ),
            fix: format!("renew the {whose} certificate"),
        });
    } else if leaf.not_before > now_s {
        out.push(Problem {
            client_side,
            what: format!(
                "the {whose} certificate is not valid before {} (after this capture, {}) {d}",
                words::utc_minute(leaf.not_before),
                words::utc_minute(now_s)
            ),
            fix: format!(
                "check the clock of the issuing CA and of the {whose}, or reissue the certificate"
            ),
        });
    }
    if let Some((name, said)) = name {
        if !leaf.names(name) {
            out.push(Problem {
                client_side,
                what: format!("the {whose} certificate does not name {said} {d}"),
                fix: format!(
                    "reissue the {whose} certificate with {name} in its subjectAltName, or make the peer connect with a name the certificate holds"
                ),
            });
        }
    }
    if leaf.self_issued && chain.chain.len() == 1 && !accepted {
        out.push(Problem {
            client_side,
            what: format!("the {whose} certificate is self-signed {d}"),
            fix: format!("give the {whose} a certificate from a CA its peer trusts (or install this certificate as trusted on the peer)"),
        });
    }
    let usage = if client_side {
        leaf.eku.is_some_and(|e| !e.client_auth && !e.any)
    } else {
        leaf.eku.is_some_and(|e| !e.server_auth && !e.any)
    };
    if usage {
        let (needed, role) = if client_side {
            ("clientAuth", "a client certificate (mutual TLS)")
        } else {
            ("serverAuth", "a server certificate")
        };
        out.push(Problem {
            client_side,
            what: format!("the {whose} certificate's extended key usage lacks {needed}, so it cannot serve as {role} {d}"),
            fix: format!("issue the {whose} a certificate whose EKU includes {needed} (for mutual TLS, as Lync/Skype for Business and Teams Direct Routing require, both serverAuth and clientAuth)"),
        });
    }
}

/// The issuer the peer did not know, when it said so (`unknown_ca`) about this side's chain: the
/// chain ends at a certificate whose issuer was not sent (an intermediate missing, or a root the peer
/// lacks), or at a root the peer does not trust. A self-signed leaf alone is `leaf_problems`'.
fn unknown_issuer(
    chain: &TlsChain,
    client_side: bool,
    alert: Option<&TlsAlert>,
    out: &mut Vec<Problem>,
) {
    let peer_said_unknown_ca =
        alert.is_some_and(|a| a.description == UNKNOWN_CA && a.from_client != client_side);
    let (Some(leaf), Some(last)) = (chain.chain.first(), chain.chain.last()) else {
        return;
    };
    if !peer_said_unknown_ca || (leaf.self_issued && chain.chain.len() == 1) {
        return;
    }
    let whose = if client_side { "client" } else { "server" };
    let sent: Vec<&str> = chain.chain.iter().map(|c| c.subject.as_str()).collect();
    let sent = format!(
        "the {whose} sent {} certificate{} ({})",
        sent.len(),
        if sent.len() == 1 { "" } else { "s" },
        sent.join(" ← ")
    );
    out.push(if last.self_issued {
        Problem {
            client_side,
            what: format!(
                "{sent} ending at the root CA {}, which its peer does not trust (unknown_ca) {}",
                last.subject,
                describe(leaf)
            ),
            fix: format!(
                "install the root CA {} as trusted on the {whose}'s peer, or give the {whose} a certificate from a CA its peer trusts",
                last.subject
            ),
        }
    } else {
        Problem {
            client_side,
            what: format!(
                "{sent}; the last is issued by {}, which was not sent and which its peer does not know (unknown_ca): an incomplete chain (intermediate CA missing) or a CA the peer does not trust {}",
                last.issuer,
                describe(leaf)
            ),
            fix: format!(
                "configure the {whose} to send its whole chain (the intermediates up to {}'s root), and check that the peer trusts that root",
                last.issuer
            ),
        }
    });
}

fn problems(conn: &Connection, tls: &Tls) -> Vec<Problem> {
    let now_s = conn.first_ts_ns.div_euclid(1_000_000_000);
    let mut out = Vec::new();
    // The name the client had to check: the one it asked for, else the SIP target (RFC 5922 §7.2),
    // else the address it connected to.
    let server_name = match (&tls.sni, &tls.sip_target) {
        (Some(sni), _) => sni.clone(),
        (None, Some(host)) => format!("{host}, the host of the SIP request sent over it (no SNI)"),
        (None, None) => format!("{}, the address connected to (no SNI)", conn.server.ip()),
    };
    let name = tls
        .sni
        .clone()
        .or_else(|| tls.sip_target.clone())
        .unwrap_or_else(|| conn.server.ip().to_string());
    if let Some(chain) = &tls.server_certificates {
        // A client that answered with its own Certificate went on past the server's: it trusted it.
        let accepted = tls.client_certificates.is_some();
        leaf_problems(
            chain,
            false,
            now_s,
            Some((&name, &server_name)),
            accepted,
            &mut out,
        );
        unknown_issuer(chain, false, tls.alert.as_ref(), &mut out);
    }
    if let (Some(request), Some(chain)) = (tls.certificate_request, &tls.client_certificates) {
        if chain.chain.is_empty() {
            out.push(Problem {
                client_side: true,
                what: format!(
                    "the server asked for a client certificate (CertificateRequest, frame {}) and the client sent none (empty Certificate, frame {})",
                    request.frame, chain.at.frame
                ),
                fix: "configure the client's certificate for this connection (mutual TLS)".to_string(),
            });
        } else {
            leaf_problems(chain, true, now_s, None, false, &mut out);
            unknown_issuer(chain, true, tls.alert.as_ref(), &mut out);
        }
    }
    out
}

/// The certificate problems of this connection, if any.
pub(crate) fn check(conn: &Connection) -> Option<TransportEvent> {
    let tls = conn.tls.as_ref()?;
    let mut found = problems(conn, tls);
    if found.is_empty() {
        return None;
    }
    let failed = conn.tls_failed();
    // The side the alert complains about first: a client's alert judges the server's certificate.
    if let Some(alert) = &tls.alert {
        found.sort_by_key(|p| p.client_side == alert.from_client);
    }
    let client_ip = conn.client.ip().to_string();
    let server = conn.server.to_string();
    let alert = tls.alert.as_ref().map_or(String::new(), |a| {
        format!(
            "; {} sent a {} alert {} ({}) in frame {}",
            if a.from_client { &client_ip } else { &server },
            if a.level == 2 { "fatal" } else { "warning" },
            a.name,
            a.description,
            a.frame
        )
    });
    let outcome = if failed {
        "the handshake failed"
    } else {
        "the handshake completed anyway: the peer did not check"
    };
    let what: Vec<&str> = found.iter().map(|p| p.what.as_str()).collect();
    let mut fixes: Vec<&str> = found.iter().map(|p| p.fix.as_str()).collect();
    fixes.dedup();
    if microsoft::direct_routing_sni(tls.sni.as_deref()) {
        fixes.push(microsoft::direct_routing_tls(
            tls_handshake_failed::server_ended(conn, tls),
        ));
    }
    let mut frames = conn.evidence_frames();
    frames.extend(tls.client_hello.map(|a| a.frame));
    frames.extend(tls.server_certificates.as_ref().map(|c| c.at.frame));
    frames.extend(tls.certificate_request.map(|a| a.frame));
    frames.extend(tls.client_certificates.as_ref().map(|c| c.at.frame));
    frames.extend(conn.client_fin.map(|f| f.frame));
    frames.extend(conn.server_fin.map(|f| f.frame));
    frames.sort_unstable();
    frames.dedup();
    Some(TransportEvent {
        code: "tls.certificate",
        severity: if failed {
            Severity::Error
        } else {
            Severity::Warning
        },
        src: conn.client,
        dst: conn.server,
        proto: Transport::Tls,
        attempts: 1,
        first_frame: frames.first().copied().unwrap_or(conn.first_frame),
        frames,
        ts_ns: conn.first_ts_ns,
        summary: format!(
            "TLS certificate problem between {client_ip} and {server}: {}{alert}; {outcome}",
            what.join("; ")
        ),
        cause: fixes.join("; "),
        calls: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::correlate::transport::{flags, TlsEvent};
    use crate::diagnose::rules::testkit::*;
    use crate::proto::tls::cert::Eku;

    const C: &str = "192.0.2.10:39292";
    const S: &str = "192.0.2.31:5061";

    fn cert(cn: &str, not_after: i64, eku: Option<Eku>) -> Summary {
        Summary {
            subject: format!("CN={cn}"),
            common_name: Some(cn.to_string()),
            issuer: "CN=Lab Root CA".to_string(),
            serial: "10:00".to_string(),
            not_before: 0,
            not_after,
            dns_names: vec![cn.to_string()],
            ip_addresses: vec![],
            eku,
            key_usage: None,
            self_issued: false,
            is_ca: false,
        }
    }

    fn world(
        server: Summary,
        client: Option<Vec<Summary>>,
        alert: Option<(bool, u8)>,
    ) -> Option<TransportEvent> {
        world_chain(vec![server], client, alert)
    }

    fn world_chain(
        server: Vec<Summary>,
        client: Option<Vec<Summary>>,
        alert: Option<(bool, u8)>,
    ) -> Option<TransportEvent> {
        let mut w = World::new(vec![]);
        w.handshake(3, 0.0, C, S).tls(
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
        );
        w.tls(
            8,
            0.3,
            S,
            C,
            TlsEvent::Certificate {
                from_client: false,
                chain: server,
                decrypted: false,
            },
        );
        if let Some(chain) = client {
            w.tls(8, 0.3, S, C, TlsEvent::CertificateRequest).tls(
                9,
                0.4,
                C,
                S,
                TlsEvent::Certificate {
                    from_client: true,
                    chain,
                    decrypted: false,
                },
            );
        }
        if let Some((from_client, description)) = alert {
            let (a, b) = if from_client { (C, S) } else { (S, C) };
            w.tls(
                10,
                0.5,
                a,
                b,
                TlsEvent::Alert {
                    level: 2,
                    description,
                    name: "x",
                    decrypted: false,
                },
            );
        } else {
            w.tls(10, 0.5, C, S, TlsEvent::ApplicationData);
        }
        w.seg(11, 1.0, C, S, flags::FIN | flags::ACK, 0);
        check(&w.build().connections[0])
    }

    const SERVER_AUTH: Option<Eku> = Some(Eku {
        server_auth: true,
        client_auth: false,
        any: false,
    });

    #[test]
    fn expired_server_certificate() {
        let ev = world(
            cert("app1.lab.example", 1_000, None),
            None,
            Some((true, 45)),
        )
        .expect("finding");
        assert_eq!(ev.severity, Severity::Error);
        assert!(
            ev.summary
                .contains("the server certificate expired 1970-01-01 00:16 UTC"),
            "{}",
            ev.summary
        );
        assert!(ev
            .summary
            .contains("CN=app1.lab.example, serial 10:00, issued by CN=Lab Root CA"));
        assert_eq!(ev.frames, vec![3, 4, 6, 8, 10, 11]);
    }

    #[test]
    fn wrong_name_completed_is_a_warning() {
        let far = 4_000_000_000;
        let ev = world(cert("other.lab.example", far, None), None, None).expect("finding");
        assert_eq!(ev.severity, Severity::Warning);
        assert!(
            ev.summary.contains("does not name app1.lab.example"),
            "{}",
            ev.summary
        );
    }

    #[test]
    fn server_auth_only_client_certificate_and_missing_one() {
        let far = 4_000_000_000;
        let good = cert("app1.lab.example", far, None);
        let ev = world(
            good.clone(),
            Some(vec![cert("caller", far, SERVER_AUTH)]),
            Some((false, 43)),
        )
        .expect("finding");
        assert!(
            ev.summary
                .contains("client certificate's extended key usage lacks clientAuth"),
            "{}",
            ev.summary
        );
        let ev = world(good.clone(), Some(vec![]), Some((false, 40))).expect("finding");
        assert!(
            ev.summary
                .contains("the client sent none (empty Certificate, frame 9)"),
            "{}",
            ev.summary
        );
        assert_eq!(world(good, None, None), None);
    }

    /// A leaf issued by an intermediate CA, alone or with the root it chains to.
    fn issued_by_intermediate() -> Summary {
        Summary {
            issuer: "CN=Lab Intermediate CA".to_string(),
            ..cert("app1.lab.example", 4_000_000_000, None)
        }
    }

    #[test]
    fn unknown_ca_about_a_chain_without_its_issuer_names_the_missing_intermediate() {
        let ev =
            world_chain(vec![issued_by_intermediate()], None, Some((true, 48))).expect("finding");
        assert_eq!(ev.severity, Severity::Error);
        assert!(
            ev.summary.contains(
                "the server sent 1 certificate (CN=app1.lab.example); the last is issued by CN=Lab Intermediate CA, which was not sent and which its peer does not know (unknown_ca): an incomplete chain"
            ),
            "{}",
            ev.summary
        );
        assert!(
            ev.cause
                .contains("the intermediates up to CN=Lab Intermediate CA's root"),
            "{}",
            ev.cause
        );
        // The same chain accepted, or refused for another reason, is no certificate problem.
        assert_eq!(
            world_chain(vec![issued_by_intermediate()], None, None),
            None
        );
        assert_eq!(
            world_chain(vec![issued_by_intermediate()], None, Some((true, 40))),
            None
        );
        // The server's own unknown_ca judges the client's chain, not the server's.
        assert_eq!(
            world_chain(vec![issued_by_intermediate()], None, Some((false, 48))),
            None
        );
    }

    #[test]
    fn unknown_ca_about_a_chain_sent_up_to_its_root_names_the_untrusted_root() {
        let intermediate = Summary {
            subject: "CN=Lab Intermediate CA".to_string(),
            issuer: "CN=Other Root CA".to_string(),
            is_ca: true,
            ..cert("Lab Intermediate CA", 4_000_000_000, None)
        };
        let root = Summary {
            subject: "CN=Other Root CA".to_string(),
            issuer: "CN=Other Root CA".to_string(),
            self_issued: true,
            is_ca: true,
            ..cert("Other Root CA", 4_000_000_000, None)
        };
        let chain = vec![issued_by_intermediate(), intermediate, root];
        let ev = world_chain(chain, None, Some((true, 48))).expect("finding");
        assert!(
            ev.summary.contains(
                "the server sent 3 certificates (CN=app1.lab.example ← CN=Lab Intermediate CA ← CN=Other Root CA) ending at the root CA CN=Other Root CA, which its peer does not trust (unknown_ca)"
            ),
            "{}",
            ev.summary
        );
        assert!(
            ev.cause
                .contains("install the root CA CN=Other Root CA as trusted"),
            "{}",
            ev.cause
        );
    }
}
