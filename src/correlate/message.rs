//! A SIP message as the correlation and diagnosis stages see it: owned, with where and when it was
//! seen, and only the fields they use (the parsers' borrowed views do not outlive a chunk).
//!
//! Built in the parallel stage from a `proto::sip::Message`, so parsing work is spread over threads.

use std::net::{IpAddr, SocketAddr};

use compact_str::CompactString;

use super::fields::Fields;
use crate::proto::sip::StatusCode;
use crate::proto::{sdp, sip};

/// How a message (or a transport event) travelled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Transport {
    Udp,
    Tcp,
    /// TCP carrying TLS records.
    Tls,
}

impl Transport {
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
            Transport::Tls => "tls",
        }
    }

    /// Whether it runs over a TCP connection (plain or TLS).
    pub fn is_connection(self) -> bool {
        matches!(self, Transport::Tcp | Transport::Tls)
    }
}

/// A request method, owned; unknown methods are kept by name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Method {
    Invite,
    Ack,
    Bye,
    Cancel,
    Register,
    Options,
    Other(String),
}

impl Method {
    fn from_sip(m: sip::Method<'_>) -> Method {
        match m {
            sip::Method::Invite => Method::Invite,
            sip::Method::Ack => Method::Ack,
            sip::Method::Bye => Method::Bye,
            sip::Method::Cancel => Method::Cancel,
            sip::Method::Register => Method::Register,
            sip::Method::Options => Method::Options,
            other => Method::Other(other.as_str().to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Method::Invite => "INVITE",
            Method::Ack => "ACK",
            Method::Bye => "BYE",
            Method::Cancel => "CANCEL",
            Method::Register => "REGISTER",
            Method::Options => "OPTIONS",
            Method::Other(name) => name,
        }
    }
}

/// Request or response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    Request {
        method: Method,
        uri: CompactString,
    },
    Response {
        status: StatusCode,
        reason: CompactString,
    },
}

/// A `CSeq` header: the sequence number and the method of the request it numbers.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CSeq {
    pub seq: u32,
    pub method: Method,
}

/// A payload type an SDP media line offers, with its encoding and clock rate where known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Codec {
    pub pt: u8,
    /// Encoding name from `a=rtpmap` or the static table; empty when unknown.
    pub name: CompactString,
    /// Clock rate in Hz; 0 when unknown.
    pub clock_rate: u32,
}

/// An ICE candidate (RFC 8445 §5.1) as an SDP `a=candidate` line gave it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    /// `UDP` or `TCP`, as written.
    pub transport: String,
    /// The address as written (an IP address or, rarely, a host name).
    pub addr: String,
    pub port: u16,
    /// `host`, `srflx`, `prflx`, `relay`, or empty.
    pub typ: String,
}

/// A `Reason` header value (RFC 3326).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reason {
    pub protocol: String,
    pub cause: Option<u16>,
    pub text: Option<String>,
}

/// A `Warning` header value (RFC 3261 §20.43).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Warning {
    pub code: u16,
    pub agent: String,
    pub text: String,
}

/// Which of Microsoft's diagnostics headers a value came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MsHeader {
    /// `ms-diagnostics` (servers, inside the deployment).
    Diagnostics,
    /// `ms-diagnostics-public` (what a server lets out of the deployment).
    Public,
    /// `ms-client-diagnostics` (a Lync / Skype for Business client's own report).
    Client,
}

impl MsHeader {
    /// The header's name as it is written.
    pub fn name(self) -> &'static str {
        match self {
            MsHeader::Diagnostics => "ms-diagnostics",
            MsHeader::Public => "ms-diagnostics-public",
            MsHeader::Client => "ms-client-diagnostics",
        }
    }
}

/// An `ms-diagnostics`, `ms-diagnostics-public` or `ms-client-diagnostics` value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MsDiagnostic {
    pub header: MsHeader,
    pub error_id: u32,
    pub sub_code: Option<u32>,
    pub source: Option<String>,
    pub reason: Option<String>,
    pub attrs: Vec<(String, String)>,
    /// A client's reports of its media connectivity checks: each `CallerMediaDebug` /
    /// `CalleeMediaDebug` section, or the same fields given as attributes (`UserType`, `MediaType`,
    /// `ICEWarn`, ...).
    pub media: Vec<MediaReport>,
}

/// One media connectivity report of a Microsoft client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MediaReport {
    /// `Caller` or `Callee`: whose report it is.
    pub party: Option<String>,
    /// `audio`, `video`, `application-sharing`, ...
    pub media: Option<String>,
    /// The `ICEWarn` bit mask.
    pub ice_warn: Option<u32>,
    /// Every `key=value` field as sent (ICEWarn included).
    pub fields: Vec<(String, String)>,
}

impl MediaReport {
    /// The value of field `key` (case-insensitive).
    pub fn field(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }
}

/// A hexadecimal (`0x320`) or decimal number.
fn number(v: &str) -> Option<u32> {
    match v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16).ok(),
        None => v.parse().ok(),
    }
}

/// The media reports of a client diagnostic: its `*MediaDebug` attributes, or its own attributes
/// when they carry `ICEWarn` directly.
fn media_reports(d: &sip::MsDiagnostic<'_>) -> Vec<MediaReport> {
    let owned = |fields: &[(&str, &str)]| -> Vec<(String, String)> {
        fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let ice = |fields: &[(&str, &str)]| {
        fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("ICEWarn"))
            .and_then(|(_, v)| number(v))
    };
    let mut out = Vec::new();
    for (name, value) in &d.attrs {
        let Some(party) = name
            .len()
            .checked_sub("MediaDebug".len())
            .filter(|&cut| {
                name.get(cut..)
                    .is_some_and(|s| s.eq_ignore_ascii_case("MediaDebug"))
            })
            .and_then(|cut| name.get(..cut))
        else {
            continue;
        };
        for section in sip::MediaDebug::parse_all(value) {
            out.push(MediaReport {
                party: (!party.is_empty()).then(|| party.to_string()),
                media: section.media.map(str::to_string),
                ice_warn: ice(&section.fields),
                fields: owned(&section.fields),
            });
        }
    }
    if out.is_empty() && ice(&d.attrs).is_some() {
        let attr = |key: &str| {
            d.attrs
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v.to_string())
        };
        out.push(MediaReport {
            party: attr("UserType"),
            media: attr("MediaType"),
            ice_warn: ice(&d.attrs),
            fields: owned(&d.attrs),
        });
    }
    out
}

/// One media line of an SDP body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SdpMedia {
    pub kind: CompactString,
    /// Connection address (media-level, else session-level); `None` if absent or an FQDN.
    pub addr: Option<IpAddr>,
    pub port: u16,
    pub rtcp_port: Option<u16>,
    pub rtcp_mux: bool,
    pub proto: CompactString,
    /// Offered payload types.
    pub codecs: Vec<Codec>,
    /// Media-level direction, else session-level, else sendrecv.
    pub direction: sdp::Direction,
    pub candidates: Vec<Candidate>,
}

/// A SIP message with its capture context.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// The frame that carried (or, over TCP, completed) it; 1-based.
    pub frame: u64,
    /// Every frame that carried its bytes (one for UDP, the IP fragments of a reassembled datagram).
    pub frames: Vec<u64>,
    pub ts_ns: i64,
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub transport: Transport,
    pub kind: Kind,
    pub call_id: String,
    pub cseq: Option<CSeq>,
    pub from_uri: CompactString,
    pub from_display: Option<CompactString>,
    pub from_tag: Option<CompactString>,
    pub to_uri: CompactString,
    pub to_tag: Option<CompactString>,
    /// Branch of the top Via.
    pub branch: Option<CompactString>,
    pub contact: Option<CompactString>,
    pub user_agent: Option<CompactString>,
    /// P-Asserted-Identity URIs (RFC 3325 §9.1), for finding a call by number.
    pub asserted: Vec<String>,
    pub reasons: Vec<Reason>,
    pub warnings: Vec<Warning>,
    pub ms_diagnostics: Vec<MsDiagnostic>,
    /// Media of the first SDP body, if any.
    pub sdp: Option<Vec<SdpMedia>>,
    /// The message was cut short (snaplen, Content-Length beyond the datagram, missing IP fragments).
    pub truncated: bool,
    /// Over UDP, its datagram left the sender as IP fragments of which the capture holds only some:
    /// only the head before the first missing fragment was read ([`sip::parse_head`]); its body and
    /// any header past the cut are unknown, not absent.
    pub lost_fragments: bool,
    /// Registration, authentication and session-timer fields, where it has any.
    pub fields: Option<Box<Fields>>,
}

impl Message {
    /// Every frame that carried it, ascending: its TCP segments or IP fragments and [`Message::frame`].
    /// The one list the ladder, the extract and the findings' evidence show for a message.
    pub fn carried_by(&self) -> Vec<u64> {
        let mut out: Vec<u64> = self.frames.iter().copied().chain([self.frame]).collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Over UDP, it left the sender as several IP fragments (all captured, or only some).
    pub fn fragmented(&self) -> bool {
        self.transport == Transport::Udp && (self.lost_fragments || self.carried_by().len() > 1)
    }

    /// Builds the owned message from a parsed one (a missing Call-ID becomes empty: counted, not
    /// correlated).
    pub fn from_sip(
        m: &sip::Message<'_>,
        frames: Vec<u64>,
        ts_ns: i64,
        src: SocketAddr,
        dst: SocketAddr,
        transport: Transport,
    ) -> Message {
        let call_id = m.call_id().unwrap_or_default().to_string();
        let kind = match &m.start {
            sip::StartLine::Request { method, uri } => Kind::Request {
                method: Method::from_sip(*method),
                uri: CompactString::from(*uri),
            },
            sip::StartLine::Response { status, reason } => Kind::Response {
                status: *status,
                reason: CompactString::from(reason.as_ref()),
            },
        };
        let from = m.from();
        let to = m.to();
        let mut ms_diagnostics: Vec<MsDiagnostic> = Vec::new();
        for (header, list) in [
            (MsHeader::Diagnostics, m.ms_diagnostics()),
            (MsHeader::Public, m.ms_diagnostics_public()),
            (MsHeader::Client, m.ms_client_diagnostics()),
        ] {
            ms_diagnostics.extend(list.into_iter().map(|d| {
                MsDiagnostic {
                    header,
                    error_id: d.error_id,
                    sub_code: d.sub_code,
                    source: d.source.map(str::to_string),
                    reason: d.reason.map(str::to_string),
                    attrs: d
                        .attrs
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect(),
                    media: if header == MsHeader::Client {
                        media_reports(&d)
                    } else {
                        Vec::new()
                    },
                }
            }));
        }
        let cseq = m.cseq();
        let register = m.method() == Some(sip::Method::Register)
            || cseq.is_some_and(|c| c.method == sip::Method::Register);
        let sdp = m
            .sdp_bodies()
            .first()
            .and_then(|body| sdp::parse(body).ok())
            .map(|session| sdp_media(&session));
        Message {
            frame: frames.last().copied().unwrap_or_default(),
            frames,
            ts_ns,
            src,
            dst,
            transport,
            kind,
            call_id,
            cseq: cseq.map(|c| CSeq {
                seq: c.seq,
                method: Method::from_sip(c.method),
            }),
            from_uri: from.map(|f| f.uri.into()).unwrap_or_default(),
            from_display: from.and_then(|f| f.display).map(CompactString::from),
            from_tag: from.and_then(|f| f.tag).map(CompactString::from),
            to_uri: to.map(|t| t.uri.into()).unwrap_or_default(),
            to_tag: to.and_then(|t| t.tag).map(CompactString::from),
            branch: m.top_via().and_then(|v| v.branch).map(CompactString::from),
            contact: m.contact().map(|c| c.uri.into()),
            user_agent: m
                .user_agent()
                .or_else(|| m.server())
                .map(CompactString::from),
            asserted: m
                .values(sip::Name::PAssertedIdentity)
                .filter_map(sip::NameAddr::parse)
                .map(|n| n.uri.to_string())
                .collect(),
            reasons: m
                .reasons()
                .iter()
                .map(|r| Reason {
                    protocol: r.protocol.to_string(),
                    cause: r.cause,
                    text: r.text.map(str::to_string),
                })
                .collect(),
            warnings: m
                .warnings()
                .iter()
                .map(|w| Warning {
                    code: w.code,
                    agent: w.agent.to_string(),
                    text: w.text.to_string(),
                })
                .collect(),
            ms_diagnostics,
            sdp,
            truncated: m.truncated.is_some(),
            lost_fragments: false,
            fields: Fields::of(m, register),
        }
    }

    /// Parses every SIP message in `bytes` (a datagram may hold several) and hands each to `out`;
    /// malformed ones are counted in `errors` by reason.
    #[allow(clippy::too_many_arguments)]
    pub fn parse_all(
        bytes: &[u8],
        frames: &[u64],
        ts_ns: i64,
        src: SocketAddr,
        dst: SocketAddr,
        transport: Transport,
        errors: &mut std::collections::BTreeMap<&'static str, u64>,
        out: &mut dyn FnMut(Message),
    ) {
        for parsed in sip::parse_all(bytes) {
            match parsed {
                Ok(m) => out(Message::from_sip(
                    &m,
                    frames.to_vec(),
                    ts_ns,
                    src,
                    dst,
                    transport,
                )),
                Err(err) => *errors.entry(err.code()).or_default() += 1,
            }
        }
    }

    /// The request method, for requests.
    pub fn method(&self) -> Option<&Method> {
        match &self.kind {
            Kind::Request { method, .. } => Some(method),
            Kind::Response { .. } => None,
        }
    }

    /// The status code, for responses.
    pub fn status(&self) -> Option<StatusCode> {
        match self.kind {
            Kind::Response { status, .. } => Some(status),
            Kind::Request { .. } => None,
        }
    }

    /// The CSeq method (the method a response answers).
    pub fn cseq_method(&self) -> Option<&Method> {
        self.cseq.as_ref().map(|c| &c.method)
    }

    /// The CSeq number.
    pub fn cseq_seq(&self) -> Option<u32> {
        self.cseq.as_ref().map(|c| c.seq)
    }

    /// A final response (2xx–6xx) to a request of this method.
    pub fn is_final_response_to(&self, method: &Method) -> bool {
        self.status().is_some_and(StatusCode::is_final) && self.cseq_method() == Some(method)
    }

    /// The reason phrase of a response.
    pub fn reason(&self) -> Option<&str> {
        match &self.kind {
            Kind::Response { reason, .. } => Some(reason),
            Kind::Request { .. } => None,
        }
    }

    /// Its registration, authentication and session-timer fields (empty when it has none).
    pub fn fields(&self) -> &Fields {
        static NONE: Fields = Fields {
            credentials: None,
            challenge: None,
            expires: None,
            min_expires: None,
            bindings: Vec::new(),
            session_expires: None,
            min_se: None,
        };
        self.fields.as_deref().unwrap_or(&NONE)
    }

    /// A short label: the method, or the status code and reason phrase.
    pub fn label(&self) -> String {
        match &self.kind {
            Kind::Request { method, .. } => method.as_str().to_string(),
            Kind::Response { status, reason } => format!("{status} {reason}"),
        }
    }
}

fn sdp_media(session: &sdp::Session<'_>) -> Vec<SdpMedia> {
    session
        .media
        .iter()
        .map(|m| {
            let codecs = m
                .formats
                .iter()
                .filter_map(|f| f.parse::<u8>().ok())
                .map(|pt| Codec {
                    pt,
                    name: CompactString::from(m.codec_name(pt).unwrap_or("")),
                    clock_rate: m.clock_rate(pt).unwrap_or(0),
                })
                .collect();
            SdpMedia {
                kind: CompactString::from(m.kind),
                addr: m.effective_connection(session).and_then(|c| c.addr.ip),
                port: m.port,
                rtcp_port: m.rtcp.as_ref().map(|r| r.port),
                rtcp_mux: m.rtcp_mux,
                proto: CompactString::from(m.proto),
                codecs,
                direction: m.effective_direction(session),
                candidates: m
                    .candidates
                    .iter()
                    .map(|c| Candidate {
                        transport: c.transport.to_string(),
                        addr: c.addr.host.to_string(),
                        port: c.port,
                        typ: c.typ.unwrap_or("").to_string(),
                    })
                    .collect(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &str) -> Message {
        let m = sip::parse(raw.as_bytes()).expect("a SIP message");
        let a: SocketAddr = "192.0.2.10:5060".parse().expect("an address");
        Message::from_sip(&m, vec![1], 0, a, a, Transport::Udp)
    }

    #[test]
    fn client_media_reports_from_media_debug_or_flat_attributes() {
        let m = parse("BYE sip:a SIP/2.0\r\nCall-ID: x\r\nms-client-diagnostics: 24; reason=\"r\"; CalleeMediaDebug=\"audio:ICEWarn=0x320,LocalMR=\"; ÉtéMediaDebug=\"x\"; é123456789=\"v\"\r\nms-diagnostics: 1046;reason=\"y\";ICEWarn=\"0x1\"\r\n\r\n");
        let client = m
            .ms_diagnostics
            .iter()
            .find(|d| d.header == MsHeader::Client)
            .expect("the client diagnostic");
        assert_eq!(client.media.len(), 2);
        assert_eq!(
            (client.media[0].party.as_deref(), client.media[0].ice_warn),
            (Some("Callee"), Some(0x320))
        );
        assert_eq!(client.media[0].field("localmr"), Some(""));
        // Multibyte attribute names are read, never sliced inside a character (`é123456789`: ten
        // bytes from its end fall inside the `é`).
        assert_eq!(client.media[1].party.as_deref(), Some("Été"));
        // Servers' headers carry no media reports.
        let server = m
            .ms_diagnostics
            .iter()
            .find(|d| d.header == MsHeader::Diagnostics)
            .expect("ms-diagnostics");
        assert!(server.media.is_empty());
        let flat = parse("SIP/2.0 488 Not Acceptable Here\r\nCall-ID: x\r\nms-client-diagnostics: 25;reason=\"r\";UserType=\"Callee\";MediaType=\"audio\";ICEWarn=\"0x40003a0\";LocalMR=\"203.0.113.5:54594\"\r\n\r\n");
        let report = &flat.ms_diagnostics[0].media[0];
        assert_eq!(
            (
                report.party.as_deref(),
                report.media.as_deref(),
                report.ice_warn
            ),
            (Some("Callee"), Some("audio"), Some(0x40003a0))
        );
        assert_eq!(report.field("LocalMR"), Some("203.0.113.5:54594"));
    }
}
