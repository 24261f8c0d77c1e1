//! The transport items of the report: TCP connections (with their TLS facts: versions, suites,
//! certificate chains, alerts, decryption) and ICMP errors.

use super::*;

/// Connections listed in the report: those that matter to SIP (carried SIP or TLS) or failed.
pub(super) const MAX_CONNECTIONS: usize = 10_000;

#[derive(Serialize)]
struct AlertJson {
    decrypted: bool,
    description: u8,
    frame: u64,
    from: &'static str,
    level: u8,
    name: &'static str,
}

#[derive(Serialize)]
struct CertificateJson<'a> {
    dns_names: &'a [String],
    eku: Option<Vec<&'static str>>,
    ip_addresses: Vec<String>,
    is_ca: bool,
    issuer: &'a str,
    not_after: Short,
    not_before: Short,
    self_issued: bool,
    serial: &'a str,
    subject: &'a str,
}

#[derive(Serialize)]
struct ChainJson<'a> {
    certificates: Vec<CertificateJson<'a>>,
    decrypted: bool,
    frame: u64,
}

fn chain(c: &TlsChain) -> ChainJson<'_> {
    ChainJson {
        certificates: c
            .chain
            .iter()
            .map(|x| CertificateJson {
                dns_names: &x.dns_names,
                eku: x.eku.map(|e| {
                    [
                        (e.server_auth, "server_auth"),
                        (e.client_auth, "client_auth"),
                        (e.any, "any"),
                    ]
                    .into_iter()
                    .filter_map(|(on, name)| on.then_some(name))
                    .collect()
                }),
                ip_addresses: x.ip_addresses.iter().map(|ip| ip.to_string()).collect(),
                is_ca: x.is_ca,
                issuer: &x.issuer,
                not_after: format::stamp(x.not_after.saturating_mul(1_000_000_000)),
                not_before: format::stamp(x.not_before.saturating_mul(1_000_000_000)),
                self_issued: x.self_issued,
                serial: &x.serial,
                subject: &x.subject,
            })
            .collect(),
        decrypted: c.decrypted,
        frame: c.at.frame,
    }
}

#[derive(Serialize)]
struct TlsJson<'a> {
    alert: Option<AlertJson>,
    application_data: bool,
    certificate_request_frame: Option<u64>,
    cipher_suite: Option<String>,
    client_certificates: Option<ChainJson<'a>>,
    client_hello_frame: Option<u64>,
    decryption: Option<&'static str>,
    server_certificates: Option<ChainJson<'a>>,
    server_hello_frame: Option<u64>,
    sni: Option<&'a str>,
    version: Option<&'static str>,
}

#[derive(Serialize)]
pub(super) struct ConnectionJson<'a> {
    client: Short,
    client_bytes: u64,
    end_ts: Short,
    first_frame: u64,
    handshake_ms: Option<f64>,
    last_frame: u64,
    rst_by: Option<&'static str>,
    rst_frame: Option<u64>,
    server: Short,
    server_bytes: u64,
    sip: bool,
    start_ts: Short,
    state: &'static str,
    syn_ack_frame: Option<u64>,
    syn_count: u32,
    syn_frames: Vec<u64>,
    tls: Option<TlsJson<'a>>,
}

fn side(from_client: bool) -> &'static str {
    if from_client {
        "client"
    } else {
        "server"
    }
}

pub(super) fn connection(c: &Connection) -> Option<ConnectionJson<'_>> {
    let failed = matches!(
        c.state,
        ConnState::S0
            | ConnState::Rej
            | ConnState::Rstos0
            | ConnState::Sh
            | ConnState::Rsto
            | ConnState::Rstr
    );
    (failed || c.sip || c.tls.is_some()).then(|| ConnectionJson {
        client: format::addr(c.client),
        client_bytes: c.client_bytes,
        end_ts: format::stamp(c.last_ts_ns),
        first_frame: c.first_frame,
        handshake_ms: c.handshake_ms,
        last_frame: c.last_frame,
        rst_by: c.rst.map(|r| side(r.by_client)),
        rst_frame: c.rst.map(|r| r.at.frame),
        server: format::addr(c.server),
        server_bytes: c.server_bytes,
        sip: c.sip,
        start_ts: format::stamp(c.first_ts_ns),
        state: c.state.as_str(),
        syn_ack_frame: c.syn_ack.map(|s| s.frame),
        syn_count: c.syn_count,
        syn_frames: c.syns.iter().map(|s| s.frame).collect(),
        tls: c.tls.as_ref().map(|t| TlsJson {
            alert: t.alert.as_ref().map(|a| AlertJson {
                decrypted: a.decrypted,
                description: a.description,
                frame: a.frame,
                from: side(a.from_client),
                level: a.level,
                name: a.name,
            }),
            application_data: t.application_data,
            certificate_request_frame: t.certificate_request.map(|a| a.frame),
            cipher_suite: t.negotiated.map(|n| {
                tls::suite::lookup(n.cipher_suite)
                    .map_or(format!("0x{:04x}", n.cipher_suite), |s| s.name.to_string())
            }),
            client_certificates: t.client_certificates.as_ref().map(chain),
            client_hello_frame: t.client_hello.map(|a| a.frame),
            decryption: t.decryption.map(|d| d.code()),
            server_certificates: t.server_certificates.as_ref().map(chain),
            server_hello_frame: t.server_hello.map(|a| a.frame),
            sni: t.sni.as_deref(),
            version: t
                .negotiated
                .and_then(|n| tls::ProtocolVersion(n.version).name()),
        }),
    })
}

#[derive(Serialize)]
pub(super) struct IcmpJson {
    code: u8,
    dst: Short,
    frame: u64,
    kind: &'static str,
    proto: u8,
    quoted_rtp: bool,
    quoted_sip: bool,
    reporter: String,
    src: Short,
    ts: Short,
    #[serde(rename = "type")]
    icmp_type: u8,
}

pub(super) fn icmp(e: &IcmpError) -> IcmpJson {
    IcmpJson {
        code: e.code,
        dst: format::addr(e.dst),
        frame: e.frame,
        kind: e.kind,
        proto: e.proto,
        quoted_rtp: e.quoted_rtp,
        quoted_sip: e.quoted_sip,
        reporter: e.reporter.to_string(),
        src: format::addr(e.src),
        ts: format::stamp(e.ts_ns),
        icmp_type: e.icmp_type,
    }
}
