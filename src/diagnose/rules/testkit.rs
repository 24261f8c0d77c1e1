//! Test-only builders: small hand-made calls, TCP connections, ICMP errors and RTP streams, built
//! through the real correlation trackers so that the rules see what the pipeline would give them.

use std::net::SocketAddr;

use crate::correlate::calls::{Call, CallBuilder};
use crate::correlate::media::{self, Stream, StunCheck, StunClass};
use crate::correlate::message::{
    CSeq, Candidate, Codec, Kind, Message, Method, MsDiagnostic, Reason, SdpMedia, Transport,
    Warning,
};
use crate::correlate::transport::{self, flags, Connection, IcmpError, TlsEvent};
use crate::diagnose::facts::CallFacts;
use crate::diagnose::{diagnose, Context, Diagnosis};
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
        branch: Some(format!("z9hG4bK{frame}")),
        contact: None,
        user_agent: None,
        reasons: Vec::new(),
        warnings: Vec::new(),
        ms_diagnostics: Vec::new(),
        sdp: None,
        truncated: false,
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
            uri: format!("sip:app@{dst}"),
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
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        480 => "Temporarily Unavailable",
        486 => "Busy Here",
        487 => "Request Terminated",
        488 => "Not Acceptable Here",
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
    fn direction(self, d: Direction) -> Self;
    fn candidates(self, list: &[&str]) -> Self;
    fn by_callee(self) -> Self;
    fn call_id(self, id: &str) -> Self;
    fn tcp(self) -> Self;
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
                    name: (*name).to_string(),
                    clock_rate: 8000,
                })
                .collect(),
            direction: Direction::SendRecv,
            candidates: Vec::new(),
        }]);
        self
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
            public: false,
            error_id: id,
            sub_code: None,
            source: Some("fe.example.com".into()),
            reason: Some(reason.into()),
            attrs: attrs
                .iter()
                .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
                .collect(),
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

/// Everything a rule test needs, built through the correlation trackers.
pub(crate) struct World {
    msgs: Vec<Message>,
    tcp: transport::Tracker,
    media: media::Tracker,
    pub icmp: Vec<IcmpError>,
}

/// The built model.
pub(crate) struct Built {
    pub calls: Vec<Call>,
    pub connections: Vec<Connection>,
    pub icmp: Vec<IcmpError>,
    pub streams: Vec<Stream>,
    pub stun: Vec<StunCheck>,
}

impl World {
    pub fn new(msgs: Vec<Message>) -> World {
        let mut media = media::Tracker::default();
        media.start(T0);
        for m in &msgs {
            for sdp in m.sdp.iter().flatten() {
                if let Some(a) = sdp.addr {
                    media.sdp_endpoint(SocketAddr::new(a, sdp.port), &sdp.codecs);
                }
            }
        }
        World {
            msgs,
            tcp: transport::Tracker::default(),
            media,
            icmp: Vec::new(),
        }
    }

    /// A TCP segment with the given flag bits and payload length.
    pub fn seg(
        &mut self,
        frame: u64,
        ms: f64,
        src: &str,
        dst: &str,
        bits: u8,
        len: usize,
    ) -> &mut Self {
        self.tcp
            .segment(frame, ns(ms), addr(src), addr(dst), bits, len);
        self
    }

    /// SYNs from `client` to `server` at these (frame, ms).
    pub fn syns(&mut self, client: &str, server: &str, at: &[(u64, f64)]) -> &mut Self {
        for &(frame, ms) in at {
            self.seg(frame, ms, client, server, flags::SYN, 0);
        }
        self
    }

    /// A full handshake at `ms` (frames `frame`..`frame + 2`).
    pub fn handshake(&mut self, frame: u64, ms: f64, client: &str, server: &str) -> &mut Self {
        self.seg(frame, ms, client, server, flags::SYN, 0)
            .seg(frame + 1, ms, server, client, flags::SYN | flags::ACK, 0)
            .seg(frame + 2, ms, client, server, flags::ACK, 0)
    }

    pub fn tls(&mut self, frame: u64, ms: f64, src: &str, dst: &str, event: TlsEvent) -> &mut Self {
        self.tcp.tls(frame, ns(ms), addr(src), addr(dst), event);
        self
    }

    pub fn mark_sip(&mut self, a: &str, b: &str) -> &mut Self {
        self.tcp.mark_sip(addr(a), addr(b));
        self
    }

    /// An ICMP port unreachable from `reporter` quoting a UDP packet `src` → `dst`.
    #[allow(clippy::too_many_arguments)] // a test builder: one argument per field reads best
    pub fn icmp(
        &mut self,
        frame: u64,
        ms: f64,
        reporter: &str,
        src: &str,
        dst: &str,
        sip: bool,
        rtp: bool,
    ) -> &mut Self {
        self.icmp.push(IcmpError {
            frame,
            ts_ns: ns(ms),
            reporter: reporter.parse().expect("an IP in a test"),
            v6: false,
            icmp_type: 3,
            code: 3,
            kind: "port unreachable",
            proto: 17,
            src: addr(src),
            dst: addr(dst),
            quoted_sip: sip,
            quoted_rtp: rtp,
        });
        self
    }

    /// `count` PCMU packets 20 ms apart from `start_ms`, frames `first_frame`, `first_frame + 1`, ...
    /// Sequence numbers listed in `lose` are skipped.
    #[allow(clippy::too_many_arguments)] // a test builder: one argument per field reads best
    pub fn rtp_lossy(
        &mut self,
        first_frame: u64,
        start_ms: f64,
        src: &str,
        dst: &str,
        count: u16,
        pt: u8,
        lose: &[u16],
    ) -> &mut Self {
        let ssrc = if src == CALLER_RTP { 0x1111 } else { 0x2222 };
        for i in 0..count {
            if lose.contains(&i) {
                continue;
            }
            let (frame, ts) = (
                first_frame + u64::from(i),
                ns(start_ms + f64::from(i) * 20.0),
            );
            let stream = self.media.stream(frame, ts, addr(src), addr(dst), ssrc, pt);
            self.media.rtp(
                stream,
                frame,
                ts,
                1000 + i,
                u32::from(i) * 160,
                false,
                pt,
                160,
            );
        }
        self
    }

    pub fn rtp(
        &mut self,
        first_frame: u64,
        start_ms: f64,
        src: &str,
        dst: &str,
        count: u16,
    ) -> &mut Self {
        self.rtp_lossy(first_frame, start_ms, src, dst, count, 0, &[])
    }

    pub fn stun(
        &mut self,
        frame: u64,
        ms: f64,
        src: &str,
        dst: &str,
        class: StunClass,
    ) -> &mut Self {
        self.media.stun(frame, ns(ms), addr(src), addr(dst), class);
        self
    }

    pub fn build(&mut self) -> Built {
        let mut b = CallBuilder::default();
        for m in std::mem::take(&mut self.msgs) {
            b.push(m);
        }
        let (calls, _) = b.finish();
        let (mut streams, mut stun) = std::mem::take(&mut self.media).finish();
        media::link(&calls, &mut streams, &mut stun);
        Built {
            calls,
            connections: std::mem::take(&mut self.tcp).finish(),
            icmp: std::mem::take(&mut self.icmp),
            streams,
            stun,
        }
    }
}

impl Built {
    pub fn ctx(&self) -> Context<'_> {
        Context {
            calls: &self.calls,
            connections: &self.connections,
            icmp: &self.icmp,
            streams: &self.streams,
            stun: &self.stun,
        }
    }

    pub fn facts(&self, i: usize) -> CallFacts<'_> {
        crate::diagnose::facts::all(&self.calls, &self.streams, &self.stun).swap_remove(i)
    }

    pub fn diagnose(&self) -> Diagnosis {
        diagnose(&self.ctx())
    }
}

/// The codes of a call's findings, primary first.
pub(crate) fn codes(d: &Diagnosis, call: usize) -> Vec<&'static str> {
    d.calls[call].iter().map(|f| f.code).collect()
}
