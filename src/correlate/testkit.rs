//! Test-only builders of SIP messages: small hand-made calls with SDP, for the correlation and
//! diagnosis tests.

use std::net::SocketAddr;

use crate::correlate::message::{
    CSeq, Candidate, Codec, Kind, Message, Method, MsDiagnostic, MsHeader, Reason, SdpMedia,
    Transport, Warning,
};
use crate::proto::sdp::Direction;
use crate::proto::sip::StatusCode;

/// Capture start (2023-11-14).
pub(crate) const T0: i64 = 1_700_000_000_000_000_000;
pub(crate) const CALLER: &str = "192.0.2.10:5060";
pub(crate) const PROXY: &str = "192.0.2.20:5060";
pub(crate) const APP: &str = "192.0.2.31:5060";
pub(crate) const APP2: &str = "192.0.2.32:5060";
pub(crate) const CALLER_RTP: &str = "192.0.2.10:6000";
pub(crate) const APP_RTP: &str = "192.0.2.31:20000";

pub(crate) fn ns(ms: f64) -> i64 {
    T0 + (ms * 1e6) as i64
}

pub(crate) fn addr(s: &str) -> SocketAddr {
    s.parse().expect("a socket address in a test")
}

fn message(frame: u64, ms: f64, src: &str, dst: &str, kind: Kind, cseq: CSeq) -> Message {
    Message {
        frame,
        frames: vec![frame],
        ts_ns: ns(ms),
        src: addr(src),
        dst: addr(dst),
        transport: Transport::Udp,
        kind,
        call_id: "call-1".into(),
        cseq: Some(cseq),
        from_uri: "sip:alice@192.0.2.10".into(),
        from_display: None,
        from_tag: Some("caller".into()),
        to_uri: "sip:app@192.0.2.31".into(),
        to_tag: None,
        branch: Some(format!("z9hG4bK{frame}").into()),
        contact: None,
        user_agent: None,
        asserted: Vec::new(),
        reasons: Vec::new(),
        warnings: Vec::new(),
        ms_diagnostics: Vec::new(),
        sdp: None,
        truncated: false,
        lost_fragments: false,
        fields: None,
    }
}

/// A request; in-dialog methods (not INVITE) get the callee's To tag.
pub(crate) fn req(frame: u64, ms: f64, src: &str, dst: &str, method: Method, cseq: u32) -> Message {
    let in_dialog = method != Method::Invite && method != Method::Cancel;
    let mut m = message(
        frame,
        ms,
        src,
        dst,
        Kind::Request {
            method: method.clone(),
            uri: format!("sip:app@{dst}").into(),
        },
        CSeq { seq: cseq, method },
    );
    if in_dialog {
        m.to_tag = Some("callee".into());
    }
    m
}

/// A response to `method` with CSeq `cseq`.
pub(crate) fn resp(
    frame: u64,
    ms: f64,
    src: &str,
    dst: &str,
    status: u16,
    method: Method,
    cseq: u32,
) -> Message {
    let mut m = message(
        frame,
        ms,
        src,
        dst,
        Kind::Response {
            status: StatusCode(status),
            reason: reason_phrase(status).into(),
        },
        CSeq { seq: cseq, method },
    );
    if status > 100 {
        m.to_tag = Some("callee".into());
    }
    m
}

fn reason_phrase(status: u16) -> &'static str {
    match status {
        100 => "Trying",
        180 => "Ringing",
        183 => "Session Progress",
        200 => "OK",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        423 => "Interval Too Brief",
        480 => "Temporarily Unavailable",
        486 => "Busy Here",
        487 => "Request Terminated",
        488 => "Not Acceptable Here",
        489 => "Bad Event",
        500 => "Server Internal Error",
        503 => "Service Unavailable",
        504 => "Server Time-out",
        603 => "Decline",
        _ => "Other",
    }
}

/// Builder methods on test messages.
pub(crate) trait Build: Sized {
    fn sdp(self, media: &str) -> Self;
    fn sdp_codecs(self, media: &str, codecs: &[(u8, &str)]) -> Self;
    /// An SDP switching to T.38: the audio line at port 0, `m=image <port> udptl t38` at `media`.
    fn t38(self, media: &str) -> Self;
    fn direction(self, d: Direction) -> Self;
    fn candidates(self, list: &[&str]) -> Self;
    fn by_callee(self) -> Self;
    fn call_id(self, id: &str) -> Self;
    fn tcp(self) -> Self;
    /// Reassembled from IP fragments in these frames (the last one completing it is `frame`).
    fn fragments(self, frames: &[u64]) -> Self;
    /// Only the head of its datagram was captured (its later IP fragments are missing).
    fn head_only(self) -> Self;
    fn warning(self, code: u16, agent: &str, text: &str) -> Self;
    fn reason(self, protocol: &str, cause: u16, text: &str) -> Self;
    fn ms_diag(self, id: u32, reason: &str, attrs: &[(&str, &str)]) -> Self;
}

impl Build for Message {
    fn sdp(self, media: &str) -> Self {
        self.sdp_codecs(media, &[(0, "PCMU"), (101, "telephone-event")])
    }

    fn sdp_codecs(mut self, media: &str, codecs: &[(u8, &str)]) -> Self {
        let a = addr(media);
        self.sdp = Some(vec![SdpMedia {
            kind: "audio".into(),
            addr: Some(a.ip()),
            port: a.port(),
            rtcp_port: None,
            rtcp_mux: false,
            proto: "RTP/AVP".into(),
            codecs: codecs
                .iter()
                .map(|(pt, name)| Codec {
                    pt: *pt,
                    name: (*name).into(),
                    clock_rate: 8000,
                })
                .collect(),
            direction: Direction::SendRecv,
            candidates: Vec::new(),
        }]);
        self
    }

    fn t38(self, media: &str) -> Self {
        let mut m = self.sdp(media);
        if let Some(lines) = m.sdp.as_mut() {
            let mut image = lines[0].clone();
            image.kind = "image".into();
            image.proto = "udptl".into();
            image.codecs.clear();
            lines[0].port = 0;
            lines.push(image);
        }
        m
    }

    fn direction(mut self, d: Direction) -> Self {
        for m in self.sdp.iter_mut().flatten() {
            m.direction = d;
        }
        self
    }

    fn candidates(mut self, list: &[&str]) -> Self {
        for m in self.sdp.iter_mut().flatten() {
            m.candidates = list
                .iter()
                .map(|c| {
                    let a = addr(c);
                    Candidate {
                        transport: "udp".to_string(),
                        addr: a.ip().to_string(),
                        port: a.port(),
                        typ: "host".to_string(),
                    }
                })
                .collect();
        }
        self
    }

    fn by_callee(mut self) -> Self {
        self.from_tag = Some("callee".into());
        self.to_tag = Some("caller".into());
        self
    }

    fn call_id(mut self, id: &str) -> Self {
        self.call_id = id.into();
        self
    }

    fn tcp(mut self) -> Self {
        self.transport = Transport::Tcp;
        self
    }

    fn fragments(mut self, frames: &[u64]) -> Self {
        self.frames = frames.to_vec();
        self
    }

    fn head_only(mut self) -> Self {
        self.lost_fragments = true;
        self.truncated = true;
        self.sdp = None;
        self
    }

    fn warning(mut self, code: u16, agent: &str, text: &str) -> Self {
        self.warnings.push(Warning {
            code,
            agent: agent.into(),
            text: text.into(),
        });
        self
    }

    fn reason(mut self, protocol: &str, cause: u16, text: &str) -> Self {
        self.reasons.push(Reason {
            protocol: protocol.into(),
            cause: Some(cause),
            text: (!text.is_empty()).then(|| text.to_string()),
        });
        self
    }

    fn ms_diag(mut self, id: u32, reason: &str, attrs: &[(&str, &str)]) -> Self {
        self.ms_diagnostics.push(MsDiagnostic {
            header: MsHeader::Diagnostics,
            error_id: id,
            sub_code: None,
            source: Some("fe.example.com".into()),
            reason: Some(reason.into()),
            attrs: attrs
                .iter()
                .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
                .collect(),
            media: Vec::new(),
        });
        self
    }
}

/// A direct call CALLER → APP answered at 800 ms (frames 1–5), hung up by the caller at `bye_ms`
/// (frames 9000–9001).
pub(crate) fn answered(bye_ms: Option<f64>) -> Vec<Message> {
    let mut m = vec![
        req(1, 0.0, CALLER, APP, Method::Invite, 1).sdp(CALLER_RTP),
        resp(2, 1.0, APP, CALLER, 100, Method::Invite, 1),
        resp(3, 2.0, APP, CALLER, 180, Method::Invite, 1),
        resp(4, 800.0, APP, CALLER, 200, Method::Invite, 1).sdp(APP_RTP),
        req(5, 801.0, CALLER, APP, Method::Ack, 1),
    ];
    if let Some(t) = bye_ms {
        m.push(req(9000, t, CALLER, APP, Method::Bye, 2));
        m.push(resp(9001, t + 1.0, APP, CALLER, 200, Method::Bye, 2));
    }
    m
}

/// A REGISTER for `sip:phone@lab.example` with Contact `sip:phone@<src>` asking `expires` seconds, with
/// credentials or not; its branch is `z9hG4bK-reg<cseq>` (its response's, see [`registration_response`]).
pub(crate) fn registration_request(
    frame: u64,
    ms: f64,
    src: &str,
    dst: &str,
    cseq: u32,
    expires: u32,
    credentials: bool,
) -> Message {
    use crate::correlate::fields::{Binding, Credentials, Fields};
    let mut m = req(frame, ms, src, dst, Method::Register, cseq).call_id("registration-1");
    m.to_tag = None;
    m.to_uri = "sip:phone@lab.example".into();
    m.from_uri = "sip:phone@lab.example".into();
    m.branch = Some(format!("z9hG4bK-reg{cseq}").into());
    m.fields = Some(Box::new(Fields {
        credentials: credentials.then(|| Credentials {
            username: Some("phone".into()),
            realm: Some("lab.example".into()),
        }),
        expires: Some(expires),
        bindings: vec![Binding {
            uri: format!("sip:phone@{src}"),
            expires: None,
        }],
        ..Fields::default()
    }));
    m
}

/// The response to [`registration_request`] `cseq`: `granted` is the Contact's `expires` of a 2xx;
/// `stale` marks a 401's challenge.
#[allow(clippy::too_many_arguments)]
pub(crate) fn registration_response(
    frame: u64,
    ms: f64,
    src: &str,
    dst: &str,
    cseq: u32,
    status: u16,
    granted: Option<u32>,
    stale: bool,
) -> Message {
    use crate::correlate::fields::{Binding, Challenge, Fields};
    let mut m = resp(frame, ms, src, dst, status, Method::Register, cseq).call_id("registration-1");
    m.to_uri = "sip:phone@lab.example".into();
    m.branch = Some(format!("z9hG4bK-reg{cseq}").into());
    m.fields = Some(Box::new(Fields {
        challenge: matches!(status, 401 | 407).then(|| Challenge {
            realm: Some("lab.example".into()),
            stale,
        }),
        bindings: granted
            .map(|g| Binding {
                uri: format!("sip:phone@{dst}"),
                expires: Some(g),
            })
            .into_iter()
            .collect(),
        min_expires: (status == 423).then_some(20),
        ..Fields::default()
    }));
    m
}
