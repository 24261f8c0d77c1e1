//! SDP session descriptions (RFC 8866, formerly RFC 4566) as used in SIP offer/answer (RFC 3264).
//!
//! Takes in: one SDP body (for example a slice from `sip::Message::sdp_bodies`).
//! Produces: a borrowed [`Session`] with its media descriptions: connection addresses, directions, rtpmaps,
//! RTCP port (RFC 3605), rtcp-mux (RFC 5761), ICE attributes (RFC 8839) including the older Microsoft
//! (Lync / Skype for Business) ICE draft-6 candidate lines `a=candidate` / `a=x-candidate` /
//! `a=x-candidate-ipv6`, ptime, and the static RTP/AVP payload types of RFC 3551.
//! Does not: validate line order or mandatory lines, interpret bandwidth, crypto, fmtp or time lines, or
//! correlate offers with answers.
//!
//! Leniency: CRLF or bare LF line ends; unknown, malformed or non-UTF-8 lines are skipped (an attribute that
//! cannot be parsed is ignored rather than failing the body). Only an `m=` line that cannot be parsed fails the
//! whole body, because skipping it would shift the media indices that offer/answer pairs by (RFC 3264 §6).
//!
//! No-panic contract: [`parse`] accepts arbitrary bytes; the number of media sections and of repeated
//! attributes kept is bounded.

use std::net::IpAddr;

use nom::bytes::complete::take_while1;
use nom::character::complete::digit1;
use nom::IResult;

/// Most `m=` sections kept for one body.
pub const MAX_MEDIA: usize = 64;
/// Most entries kept per repeated attribute (rtpmap, candidate) and per format list.
pub const MAX_REPEATED: usize = 256;

/// Why a body could not be parsed as SDP.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The body is empty or holds only whitespace.
    #[error("empty sdp body")]
    Empty,
    /// The first line is not `v=` (RFC 8866 §5: the description starts with the version line).
    #[error("sdp does not start with a v= line")]
    NoVersion,
    /// An `m=` line (1-based line number) cannot be parsed.
    #[error("sdp line {line}: bad m= line: {reason}")]
    BadMediaLine { line: usize, reason: &'static str },
    /// More than [`MAX_MEDIA`] media sections.
    #[error("more than {limit} m= sections")]
    TooManyMedia { limit: usize },
}

impl Error {
    /// A short stable identifier for counting errors by kind.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Empty => "empty",
            Error::NoVersion => "no-version",
            Error::BadMediaLine { .. } => "bad-media-line",
            Error::TooManyMedia { .. } => "too-many-media",
        }
    }
}

/// Media direction attribute (RFC 3264 §5.1, §8.4).
///
/// `Copy`, `Eq` and `Hash`, so owned models hold it as is; [`Direction::as_str`] gives the attribute name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    SendRecv,
    SendOnly,
    RecvOnly,
    Inactive,
}

impl Direction {
    fn from_attr(name: &str) -> Option<Direction> {
        Some(match name {
            "sendrecv" => Direction::SendRecv,
            "sendonly" => Direction::SendOnly,
            "recvonly" => Direction::RecvOnly,
            "inactive" => Direction::Inactive,
            _ => return None,
        })
    }

    /// The attribute name as written in SDP (`sendrecv`, `sendonly`, `recvonly`, `inactive`).
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }

    /// Whether the side that wrote this SDP sends media.
    pub fn sends(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::SendOnly)
    }

    /// Whether the side that wrote this SDP wants to receive media.
    pub fn receives(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::RecvOnly)
    }
}

/// An address as written (an IP literal or an FQDN, both legal in SDP), with its parsed IP when it is one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Address<'a> {
    /// The text as written, without any `/ttl/count` suffix.
    pub host: &'a str,
    pub ip: Option<IpAddr>,
}

impl<'a> Address<'a> {
    fn new(text: &'a str) -> Address<'a> {
        let host = text.split('/').next().unwrap_or(text);
        let ip = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host)
            .parse()
            .ok();
        Address { host, ip }
    }

    /// `0.0.0.0` or `::`: the RFC 2543 way of putting a call on hold (RFC 3264 §8.4 discourages it).
    pub fn is_unspecified(&self) -> bool {
        self.ip.is_some_and(|ip| ip.is_unspecified())
    }
}

/// `o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address>` (RFC 8866 §5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Origin<'a> {
    pub username: &'a str,
    pub sess_id: &'a str,
    /// Kept as text: some agents exceed 64 bits; see [`Origin::version_number`].
    pub sess_version: &'a str,
    pub addr_type: &'a str,
    pub addr: Address<'a>,
}

impl Origin<'_> {
    pub fn version_number(&self) -> Option<u64> {
        self.sess_version.parse().ok()
    }
}

/// `c=<nettype> <addrtype> <connection-address>` (RFC 8866 §5.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Connection<'a> {
    /// `IP4`, `IP6` or as written.
    pub addr_type: &'a str,
    pub addr: Address<'a>,
}

/// `a=rtpmap:<payload type> <encoding name>/<clock rate>[/<channels>]` (RFC 8866 §6.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpMap<'a> {
    pub pt: u8,
    pub encoding: &'a str,
    pub clock_rate: u32,
    pub channels: Option<u8>,
}

/// `a=rtcp:<port> [<nettype> <addrtype> <connection-address>]` (RFC 3605).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtcpAttr<'a> {
    pub port: u16,
    pub addr: Option<Address<'a>>,
}

/// An ICE candidate (RFC 8839 §5.1), or a Microsoft ICE draft-6 candidate (then `ms_draft6` is set).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate<'a> {
    /// For draft-6 lines: the candidate's username field.
    pub foundation: &'a str,
    pub component: u16,
    /// `UDP`, `TCP`, `TCP-PASS`, `TCP-ACT` or as written.
    pub transport: &'a str,
    /// For draft-6 lines the q-value (0.0..=1.0) scaled to thousandths.
    pub priority: u64,
    pub addr: Address<'a>,
    pub port: u16,
    /// `host`, `srflx`, `prflx`, `relay`; `None` on draft-6 lines, which have no type.
    pub typ: Option<&'a str>,
    pub raddr: Option<Address<'a>>,
    pub rport: Option<u16>,
    /// Whether this came from a Microsoft draft-6 format line.
    pub ms_draft6: bool,
}

/// One `m=` section with its attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Media<'a> {
    /// `audio`, `video`, `image`, `application`, ... as written.
    pub kind: &'a str,
    pub port: u16,
    pub num_ports: Option<u16>,
    /// `RTP/AVP`, `RTP/SAVP`, `RTP/AVPF`, `RTP/SAVPF`, `UDP/TLS/RTP/SAVPF`, `udptl`, `TCP/...` as written.
    pub proto: &'a str,
    pub formats: Vec<&'a str>,
    pub connection: Option<Connection<'a>>,
    pub rtpmaps: Vec<RtpMap<'a>>,
    pub rtcp: Option<RtcpAttr<'a>>,
    pub rtcp_mux: bool,
    pub direction: Option<Direction>,
    pub candidates: Vec<Candidate<'a>>,
    pub ice_ufrag: Option<&'a str>,
    pub ice_pwd: Option<&'a str>,
    pub ptime: Option<u32>,
    /// `a=mid` (RFC 5888), used by bundled WebRTC offers.
    pub mid: Option<&'a str>,
}

/// A parsed session description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session<'a> {
    pub origin: Option<Origin<'a>>,
    pub session_name: Option<&'a str>,
    pub connection: Option<Connection<'a>>,
    pub direction: Option<Direction>,
    pub ice_ufrag: Option<&'a str>,
    pub ice_pwd: Option<&'a str>,
    pub ice_lite: bool,
    pub media: Vec<Media<'a>>,
}

/// Parses an SDP body leniently (see the module doc).
pub fn parse(body: &[u8]) -> Result<Session<'_>, Error> {
    let mut session = Session {
        origin: None,
        session_name: None,
        connection: None,
        direction: None,
        ice_ufrag: None,
        ice_pwd: None,
        ice_lite: false,
        media: Vec::new(),
    };
    let mut seen_version = false;
    // Validated once when the body is UTF-8 throughout (nearly always); line by line otherwise.
    let text = std::str::from_utf8(body).ok();
    let mut start = 0;
    for line_no in 1.. {
        if start > body.len() {
            break;
        }
        let end = memchr::memchr(b'\n', body.get(start..).unwrap_or_default())
            .map_or(body.len(), |i| start + i);
        let (from, next) = (start, end + 1);
        start = next;
        let raw = body.get(from..end).unwrap_or_default();
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if !seen_version {
            if raw.iter().all(|b| b.is_ascii_whitespace()) {
                continue;
            }
            if !raw.starts_with(b"v=") {
                return Err(Error::NoVersion);
            }
            seen_version = true;
            continue;
        }
        // Non-UTF-8 lines (for example a Latin-1 session name) are skipped, except m= lines.
        let line = match text {
            Some(t) => t.get(from..from + raw.len()),
            None => std::str::from_utf8(raw).ok(),
        };
        let Some(line) = line else {
            if raw.starts_with(b"m=") {
                return Err(Error::BadMediaLine {
                    line: line_no,
                    reason: "not utf-8",
                });
            }
            continue;
        };
        // `<type>=<value>` with a one-character type (RFC 8866 §5).
        let (Some(kind), Some(b'=')) = (line.get(..1), line.as_bytes().get(1)) else {
            continue;
        };
        let value = line.get(2..).unwrap_or_default();
        let value = value.trim_end_matches([' ', '\t']);
        match kind {
            "m" => {
                if session.media.len() >= MAX_MEDIA {
                    return Err(Error::TooManyMedia { limit: MAX_MEDIA });
                }
                let media = parse_media_line(value).map_err(|reason| Error::BadMediaLine {
                    line: line_no,
                    reason,
                })?;
                session.media.push(media);
            }
            "o" if session.media.is_empty() => session.origin = parse_origin(value),
            "s" if session.media.is_empty() => session.session_name = Some(value),
            "c" => {
                let c = parse_connection(value);
                match session.media.last_mut() {
                    Some(m) => m.connection = c.or(m.connection),
                    None => session.connection = c.or(session.connection),
                }
            }
            "a" => match session.media.last_mut() {
                Some(m) => media_attribute(m, value),
                None => session_attribute(&mut session, value),
            },
            _ => {}
        }
    }
    if !seen_version {
        return Err(Error::Empty);
    }
    Ok(session)
}

fn session_attribute<'a>(s: &mut Session<'a>, value: &'a str) {
    let (name, arg) = split_attr(value);
    if let Some(d) = Direction::from_attr(name) {
        s.direction = Some(d);
        return;
    }
    match name {
        "ice-lite" => s.ice_lite = true,
        "ice-ufrag" | "x-ice-ufrag" => s.ice_ufrag = arg.or(s.ice_ufrag),
        "ice-pwd" | "x-ice-pwd" => s.ice_pwd = arg.or(s.ice_pwd),
        _ => {}
    }
}

fn media_attribute<'a>(m: &mut Media<'a>, value: &'a str) {
    let (name, arg) = split_attr(value);
    if let Some(d) = Direction::from_attr(name) {
        m.direction = Some(d);
        return;
    }
    match (name, arg) {
        ("rtpmap", Some(arg)) => {
            if let Some(r) = parse_rtpmap(arg) {
                if m.rtpmaps.len() < MAX_REPEATED {
                    m.rtpmaps.push(r);
                }
            }
        }
        ("rtcp", Some(arg)) => m.rtcp = parse_rtcp(arg).or(m.rtcp),
        ("rtcp-mux", _) => m.rtcp_mux = true,
        ("candidate" | "x-candidate" | "x-candidate-ipv6", Some(arg)) => {
            if let Some(c) = parse_candidate(arg) {
                if m.candidates.len() < MAX_REPEATED {
                    m.candidates.push(c);
                }
            }
        }
        ("ice-ufrag" | "x-ice-ufrag", Some(arg)) => m.ice_ufrag = Some(arg),
        ("ice-pwd" | "x-ice-pwd", Some(arg)) => m.ice_pwd = Some(arg),
        ("ptime", Some(arg)) => m.ptime = arg.trim_ascii().parse().ok().or(m.ptime),
        ("mid", Some(arg)) => m.mid = Some(arg),
        _ => {}
    }
}

/// `attribute = (attribute-name ":" attribute-value) / attribute-name`.
fn split_attr(value: &str) -> (&str, Option<&str>) {
    match value.split_once(':') {
        Some((n, v)) => (n.trim_ascii(), Some(v.trim_ascii())),
        None => (value.trim_ascii(), None),
    }
}

fn ws(i: &str) -> IResult<&str, &str> {
    take_while1(|c| c == ' ' || c == '\t')(i)
}

fn field(i: &str) -> IResult<&str, &str> {
    take_while1(|c| c != ' ' && c != '\t')(i)
}

fn number<T: std::str::FromStr>(i: &str) -> IResult<&str, T> {
    let (rest, digits) = digit1(i)?;
    match digits.parse() {
        Ok(n) => Ok((rest, n)),
        Err(_) => Err(nom::Err::Error(nom::error::Error::new(
            i,
            nom::error::ErrorKind::Digit,
        ))),
    }
}

/// `m=<media> <port>[/<number of ports>] <proto> <fmt> ...` (RFC 8866 §5.14).
fn parse_media_line(value: &str) -> Result<Media<'_>, &'static str> {
    let (i, kind) = field(value).map_err(|_| "missing media type")?;
    let (i, _) = ws(i).map_err(|_| "missing port")?;
    let (i, port) = number::<u16>(i).map_err(|_| "port is not a number in 0..=65535")?;
    let (i, num_ports) = match i.strip_prefix('/') {
        Some(after) => {
            let (i, n) = number::<u16>(after).map_err(|_| "bad number of ports")?;
            (i, Some(n))
        }
        None => (i, None),
    };
    let (i, _) = ws(i).map_err(|_| "missing proto")?;
    let (i, proto) = field(i).map_err(|_| "missing proto")?;
    let formats = i.split_ascii_whitespace().take(MAX_REPEATED).collect();
    Ok(Media {
        kind,
        port,
        num_ports,
        proto,
        formats,
        connection: None,
        rtpmaps: Vec::new(),
        rtcp: None,
        rtcp_mux: false,
        direction: None,
        candidates: Vec::new(),
        ice_ufrag: None,
        ice_pwd: None,
        ptime: None,
        mid: None,
    })
}

fn parse_origin(value: &str) -> Option<Origin<'_>> {
    let mut it = value.split_ascii_whitespace();
    let username = it.next()?;
    let sess_id = it.next()?;
    let sess_version = it.next()?;
    let _net_type = it.next()?;
    let addr_type = it.next()?;
    let addr = Address::new(it.next()?);
    Some(Origin {
        username,
        sess_id,
        sess_version,
        addr_type,
        addr,
    })
}

fn parse_connection(value: &str) -> Option<Connection<'_>> {
    let mut it = value.split_ascii_whitespace();
    let _net_type = it.next()?;
    let addr_type = it.next()?;
    let addr = Address::new(it.next()?);
    Some(Connection { addr_type, addr })
}

fn parse_rtpmap(arg: &str) -> Option<RtpMap<'_>> {
    let (i, pt) = number::<u8>(arg).ok()?;
    if pt > 127 {
        return None;
    }
    let (i, _) = ws(i).ok()?;
    let mut parts = i.trim_ascii().split('/');
    let encoding = parts.next().filter(|e| !e.is_empty())?;
    let clock_rate = parts.next()?.trim_ascii().parse().ok()?;
    let channels = match parts.next() {
        Some(c) => Some(c.trim_ascii().parse().ok()?),
        None => None,
    };
    Some(RtpMap {
        pt,
        encoding,
        clock_rate,
        channels,
    })
}

fn parse_rtcp(arg: &str) -> Option<RtcpAttr<'_>> {
    let (i, port) = number::<u16>(arg).ok()?;
    let mut it = i.split_ascii_whitespace();
    let addr = match (it.next(), it.next(), it.next()) {
        (Some(_), Some(_), Some(a)) => Some(Address::new(a)),
        _ => None,
    };
    Some(RtcpAttr { port, addr })
}

/// RFC 8839: `foundation component transport priority address port "typ" type [raddr a] [rport p] *(ext)`;
/// MS ICE draft-6: `username component password transport qvalue address port`.
fn parse_candidate(arg: &str) -> Option<Candidate<'_>> {
    let f: Vec<&str> = arg.split_ascii_whitespace().take(32).collect();
    let component: u16 = f.get(1)?.parse().ok()?;
    let is_transport = |s: &str| {
        let s = s.to_ascii_uppercase();
        s == "UDP" || s.starts_with("TCP")
    };
    if f.get(6) == Some(&"typ") || is_transport(f.get(2)?) {
        let mut c = Candidate {
            foundation: f.first()?,
            component,
            transport: f.get(2)?,
            priority: f.get(3)?.parse().ok()?,
            addr: Address::new(f.get(4)?),
            port: f.get(5)?.parse().ok()?,
            typ: None,
            raddr: None,
            rport: None,
            ms_draft6: false,
        };
        let mut rest = f.get(6..).unwrap_or_default().iter();
        while let Some(&key) = rest.next() {
            let Some(&val) = rest.next() else { break };
            match key {
                "typ" => c.typ = Some(val),
                "raddr" => c.raddr = Some(Address::new(val)),
                "rport" => c.rport = val.parse().ok(),
                _ => {}
            }
        }
        return Some(c);
    }
    if is_transport(f.get(3)?) {
        let q: f64 = f.get(4)?.parse().ok()?;
        if !(0.0..=1.0).contains(&q) {
            return None;
        }
        return Some(Candidate {
            foundation: f.first()?,
            component,
            transport: f.get(3)?,
            // Bounded to 0..=1000 by the check above, so the cast is exact enough and cannot overflow.
            priority: (q * 1000.0).round() as u64,
            addr: Address::new(f.get(5)?),
            port: f.get(6)?.parse().ok()?,
            typ: None,
            raddr: None,
            rport: None,
            ms_draft6: true,
        });
    }
    None
}

impl<'a> Media<'a> {
    /// The media-level `c=` line, else the session-level one (RFC 8866 §5.7).
    pub fn effective_connection<'s>(
        &'s self,
        session: &'s Session<'a>,
    ) -> Option<&'s Connection<'a>> {
        self.connection.as_ref().or(session.connection.as_ref())
    }

    /// The media-level direction, else the session-level one, else sendrecv (RFC 3264 §5.1).
    pub fn effective_direction(&self, session: &Session<'_>) -> Direction {
        self.direction
            .or(session.direction)
            .unwrap_or(Direction::SendRecv)
    }

    /// The rtpmap entry for this payload type.
    pub fn rtpmap(&self, pt: u8) -> Option<&RtpMap<'a>> {
        self.rtpmaps.iter().find(|r| r.pt == pt)
    }

    /// RTP clock rate of `pt`: its rtpmap, else the RFC 3551 static assignment.
    pub fn clock_rate(&self, pt: u8) -> Option<u32> {
        self.rtpmap(pt)
            .map(|r| r.clock_rate)
            .or_else(|| static_payload(pt).map(|(_, rate)| rate))
    }

    /// Encoding name of `pt`: its rtpmap, else the RFC 3551 static assignment.
    pub fn codec_name(&self, pt: u8) -> Option<&'a str> {
        self.rtpmap(pt)
            .map(|r| r.encoding)
            .or_else(|| static_payload(pt).map(|(name, _)| name))
    }

    /// Port 0 rejects or disables the stream (RFC 3264 §6, §8.2).
    pub fn is_disabled(&self) -> bool {
        self.port == 0
    }
}

/// RFC 3551 §6 static payload types: (encoding name, RTP clock rate).
pub fn static_payload(pt: u8) -> Option<(&'static str, u32)> {
    Some(match pt {
        0 => ("PCMU", 8000),
        3 => ("GSM", 8000),
        4 => ("G723", 8000),
        5 => ("DVI4", 8000),
        6 => ("DVI4", 16000),
        7 => ("LPC", 8000),
        8 => ("PCMA", 8000),
        // G.722 samples at 16 kHz but its RTP clock is 8000 (RFC 3551 §4.5.2).
        9 => ("G722", 8000),
        10 | 11 => ("L16", 44100),
        12 => ("QCELP", 8000),
        13 => ("CN", 8000),
        14 => ("MPA", 90000),
        15 => ("G728", 8000),
        16 => ("DVI4", 11025),
        17 => ("DVI4", 22050),
        18 => ("G729", 8000),
        25 => ("CelB", 90000),
        26 => ("JPEG", 90000),
        28 => ("nv", 90000),
        31 => ("H261", 90000),
        32 => ("MPV", 90000),
        33 => ("MP2T", 90000),
        34 => ("H263", 90000),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn ok(body: &str) -> Session<'_> {
        match parse(body.as_bytes()) {
            Ok(s) => s,
            Err(e) => panic!("{e}: {body}"),
        }
    }

    /// Parses `v=0` + `lines` and returns the first media section.
    fn media(lines: &str) -> Media<'static> {
        let body: &'static str = Box::leak(format!("v=0\r\n{lines}").into_boxed_str());
        let s = parse(body.as_bytes()).expect("parses");
        s.media.into_iter().next().expect("one m= line")
    }

    const BASIC: &str = "v=0\r\no=alice 2890844526 2890844527 IN IP4 host.atlanta.example.com\r\ns=-\r\nc=IN IP4 192.0.2.101\r\nt=0 0\r\nm=audio 49172 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=ptime:20\r\na=sendrecv\r\nm=video 51372 RTP/AVP 31\r\na=rtpmap:31 H261/90000\r\nc=IN IP4 192.0.2.102\r\na=recvonly\r\n";

    #[test]
    fn basic_offer() {
        let s = ok(BASIC);
        let o = s.origin.expect("origin");
        assert_eq!(
            (o.username, o.sess_id, o.version_number()),
            ("alice", "2890844526", Some(2_890_844_527))
        );
        assert_eq!((o.addr.host, o.addr.ip), ("host.atlanta.example.com", None));
        assert_eq!(
            s.connection.map(|c| c.addr.ip),
            Some(Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 101))))
        );
        assert_eq!(s.session_name, Some("-"));
        assert_eq!(s.media.len(), 2);
        let a = &s.media[0];
        assert_eq!(
            (a.kind, a.port, a.num_ports, a.proto),
            ("audio", 49172, None, "RTP/AVP")
        );
        assert_eq!(a.formats, ["0", "8", "101"]);
        assert_eq!(a.rtpmaps.len(), 2);
        assert_eq!(a.ptime, Some(20));
        assert_eq!(a.effective_direction(&s), Direction::SendRecv);
        assert_eq!(
            a.effective_connection(&s).map(|c| c.addr.host),
            Some("192.0.2.101")
        );
        assert_eq!(a.clock_rate(8), Some(8000));
        assert_eq!(a.codec_name(8), Some("PCMA"));
        assert_eq!(a.codec_name(101), Some("telephone-event"));
        assert_eq!(a.clock_rate(101), Some(8000));
        assert_eq!(a.clock_rate(96), None);
        let v = &s.media[1];
        assert_eq!(
            v.effective_connection(&s).map(|c| c.addr.host),
            Some("192.0.2.102")
        );
        assert_eq!(v.effective_direction(&s), Direction::RecvOnly);
        assert_eq!(v.clock_rate(31), Some(90000));
    }

    #[test]
    fn bare_lf_and_trailing_space() {
        let s = ok("v=0\no=- 1 2 IN IP4 10.0.0.1\nc=IN IP4 10.0.0.2 \nm=audio 4000 RTP/AVP 0 \n");
        assert_eq!(s.connection.map(|c| c.addr.host), Some("10.0.0.2"));
        assert_eq!(s.media[0].formats, ["0"]);
    }

    #[test]
    fn leading_blank_lines() {
        assert_eq!(
            ok("\r\n  \r\nv=0\r\nm=audio 1 RTP/AVP 0\r\n").media.len(),
            1
        );
    }

    fn check_err(body: &[u8], code: &str) {
        assert_eq!(
            parse(body).map(|_| ()).map_err(|e| e.code()),
            Err(code),
            "{:?}",
            String::from_utf8_lossy(body)
        );
    }

    #[test]
    fn reject_empty() {
        check_err(b"", "empty");
    }
    #[test]
    fn reject_whitespace() {
        check_err(b"\r\n \r\n", "empty");
    }
    #[test]
    fn reject_no_version() {
        check_err(b"o=- 1 1 IN IP4 1.2.3.4\r\n", "no-version");
    }
    #[test]
    fn reject_bad_port() {
        check_err(b"v=0\r\nm=audio 70000 RTP/AVP 0\r\n", "bad-media-line");
    }
    #[test]
    fn reject_missing_proto() {
        check_err(b"v=0\r\nm=audio 4000\r\n", "bad-media-line");
    }
    #[test]
    fn reject_media_not_utf8() {
        check_err(b"v=0\r\nm=audio\xff 4000 RTP/AVP 0\r\n", "bad-media-line");
    }
    #[test]
    fn reject_too_many_media() {
        let mut body = b"v=0\r\n".to_vec();
        for _ in 0..=MAX_MEDIA {
            body.extend_from_slice(b"m=audio 1 RTP/AVP 0\r\n");
        }
        check_err(&body, "too-many-media");
    }

    #[test]
    fn non_utf8_session_name_skipped() {
        let s = parse(b"v=0\r\ns=Caf\xe9\r\nm=audio 1 RTP/AVP 0\r\n").expect("parses");
        assert_eq!((s.session_name, s.media.len()), (None, 1));
    }

    #[test]
    fn unknown_and_malformed_lines_ignored() {
        let s = ok("v=0\r\nx=whatever\r\nnonsense\r\nc=IN\r\na=rtpmap:zz\r\nm=audio 5 RTP/AVP 0\r\na=rtpmap:300 X/1\r\na=rtpmap:0 PCMU\r\na=ptime:x\r\na=rtcp:\r\n");
        assert_eq!(s.connection, None);
        let m = &s.media[0];
        assert!(m.rtpmaps.is_empty() && m.ptime.is_none() && m.rtcp.is_none());
    }

    fn check_media_line(line: &str, expected: (&str, u16, Option<u16>, &str, &[&str])) {
        let m = media(line);
        assert_eq!(
            (m.kind, m.port, m.num_ports, m.proto, &m.formats[..]),
            expected,
            "{line:?}"
        );
    }

    #[test]
    fn m_rtp_avp() {
        check_media_line(
            "m=audio 49170 RTP/AVP 0 8 97",
            ("audio", 49170, None, "RTP/AVP", &["0", "8", "97"]),
        );
    }
    #[test]
    fn m_num_ports() {
        check_media_line(
            "m=video 49170/2 RTP/AVP 31",
            ("video", 49170, Some(2), "RTP/AVP", &["31"]),
        );
    }
    #[test]
    fn m_savpf() {
        check_media_line(
            "m=audio 9 UDP/TLS/RTP/SAVPF 111",
            ("audio", 9, None, "UDP/TLS/RTP/SAVPF", &["111"]),
        );
    }
    #[test]
    fn m_t38() {
        check_media_line(
            "m=image 40000 udptl t38",
            ("image", 40000, None, "udptl", &["t38"]),
        );
    }
    #[test]
    fn m_port_zero() {
        let m = media("m=video 0 RTP/AVP 31");
        assert!(m.is_disabled());
    }
    #[test]
    fn m_no_formats() {
        check_media_line(
            "m=application 5000 TCP/MSRP",
            ("application", 5000, None, "TCP/MSRP", &[]),
        );
    }

    fn check_rtpmap(attr: &str, expected: Option<RtpMap<'_>>) {
        let m = media(&format!("m=audio 1 RTP/AVP 96\r\na=rtpmap:{attr}"));
        assert_eq!(m.rtpmaps.first().copied(), expected, "{attr:?}");
    }

    #[test]
    fn rtpmap_basic() {
        check_rtpmap(
            "96 opus/48000/2",
            Some(RtpMap {
                pt: 96,
                encoding: "opus",
                clock_rate: 48000,
                channels: Some(2),
            }),
        );
    }
    #[test]
    fn rtpmap_no_channels() {
        check_rtpmap(
            "18 G729/8000",
            Some(RtpMap {
                pt: 18,
                encoding: "G729",
                clock_rate: 8000,
                channels: None,
            }),
        );
    }
    #[test]
    fn rtpmap_pt_too_large() {
        check_rtpmap("128 X/8000", None);
    }
    #[test]
    fn rtpmap_no_rate() {
        check_rtpmap("96 opus", None);
    }
    #[test]
    fn rtpmap_bad_channels() {
        check_rtpmap("96 opus/48000/x", None);
    }

    #[test]
    fn rtcp_attr() {
        let m = media("m=audio 4000 RTP/AVP 0\r\na=rtcp:53020 IN IP4 126.16.64.4");
        assert_eq!(
            m.rtcp.map(|r| (r.port, r.addr.map(|a| a.host))),
            Some((53020, Some("126.16.64.4")))
        );
        let m = media("m=audio 4000 RTP/AVP 0\r\na=rtcp:4001\r\na=rtcp-mux");
        assert_eq!(m.rtcp.map(|r| (r.port, r.addr)), Some((4001, None)));
        assert!(m.rtcp_mux);
    }

    #[test]
    fn hold_connection() {
        let s = ok("v=0\r\nc=IN IP4 0.0.0.0\r\nm=audio 4000 RTP/AVP 0\r\na=sendonly\r\n");
        let m = &s.media[0];
        assert!(m
            .effective_connection(&s)
            .is_some_and(|c| c.addr.is_unspecified()));
        assert_eq!(m.effective_direction(&s), Direction::SendOnly);
        assert!(Direction::SendOnly.sends() && !Direction::SendOnly.receives());
    }

    #[test]
    fn direction_names_round_trip() {
        fn model_ready<T: Copy + Eq + std::hash::Hash + std::fmt::Debug>() {}
        model_ready::<Direction>();
        for d in [
            Direction::SendRecv,
            Direction::SendOnly,
            Direction::RecvOnly,
            Direction::Inactive,
        ] {
            assert_eq!(Direction::from_attr(d.as_str()), Some(d));
            let body = format!("v=0\r\nm=audio 4000 RTP/AVP 0\r\na={}\r\n", d.as_str());
            let s = ok(&body);
            assert_eq!(s.media[0].direction, Some(d));
        }
        assert_eq!(Direction::from_attr("SENDONLY"), None);
    }

    #[test]
    fn session_direction_inherited() {
        let s = ok("v=0\r\na=inactive\r\nm=audio 4000 RTP/AVP 0\r\nm=audio 4002 RTP/AVP 0\r\na=sendrecv\r\n");
        assert_eq!(s.media[0].effective_direction(&s), Direction::Inactive);
        assert_eq!(s.media[1].effective_direction(&s), Direction::SendRecv);
    }

    #[test]
    fn ipv6_and_fqdn_and_multicast() {
        let s = ok("v=0\r\nc=IN IP6 2001:db8::1\r\nm=audio 1 RTP/AVP 0\r\nc=IN IP4 media.example.com\r\nm=audio 2 RTP/AVP 0\r\nc=IN IP4 224.2.1.1/127/3\r\n");
        assert_eq!(
            s.connection.and_then(|c| c.addr.ip),
            Some(IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)))
        );
        assert_eq!(
            s.media[0].connection.map(|c| (c.addr.host, c.addr.ip)),
            Some(("media.example.com", None))
        );
        assert_eq!(
            s.media[1].connection.map(|c| c.addr.host),
            Some("224.2.1.1")
        );
    }

    #[test]
    fn same_port_twice_kept() {
        let s = ok("v=0\r\nm=audio 5000 RTP/AVP 0\r\nm=audio 5000 RTP/SAVP 0\r\n");
        assert_eq!(
            s.media
                .iter()
                .map(|m| (m.port, m.proto))
                .collect::<Vec<_>>(),
            [(5000, "RTP/AVP"), (5000, "RTP/SAVP")]
        );
    }

    /// (foundation, component, transport, priority, addr, port, typ, raddr, rport, ms_draft6)
    type CandidateRow<'s> = (
        &'s str,
        u16,
        &'s str,
        u64,
        &'s str,
        u16,
        Option<&'s str>,
        Option<&'s str>,
        Option<u16>,
        bool,
    );

    fn check_candidate(attr: &str, expected: Option<CandidateRow<'_>>) {
        let m = media(&format!("m=audio 1 RTP/AVP 0\r\na={attr}"));
        let got = m.candidates.first().map(|c| {
            (
                c.foundation,
                c.component,
                c.transport,
                c.priority,
                c.addr.host,
                c.port,
                c.typ,
                c.raddr.map(|a| a.host),
                c.rport,
                c.ms_draft6,
            )
        });
        assert_eq!(got, expected, "{attr:?}");
    }

    #[test]
    fn candidate_host() {
        check_candidate(
            "candidate:1 1 UDP 2130706431 10.0.1.1 8998 typ host",
            Some((
                "1",
                1,
                "UDP",
                2_130_706_431,
                "10.0.1.1",
                8998,
                Some("host"),
                None,
                None,
                false,
            )),
        );
    }
    #[test]
    fn candidate_srflx() {
        check_candidate(
            "candidate:2 1 UDP 1694498815 192.0.2.3 45664 typ srflx raddr 10.0.1.1 rport 8998 generation 0",
            Some(("2", 1, "UDP", 1_694_498_815, "192.0.2.3", 45664, Some("srflx"), Some("10.0.1.1"), Some(8998), false)),
        );
    }
    #[test]
    fn candidate_tcp() {
        check_candidate(
            "candidate:3 2 TCP 1 10.0.0.1 9 typ host tcptype active",
            Some((
                "3",
                2,
                "TCP",
                1,
                "10.0.0.1",
                9,
                Some("host"),
                None,
                None,
                false,
            )),
        );
    }
    #[test]
    fn candidate_ms_x_candidate() {
        check_candidate(
            "x-candidate:1 1 UDP 2130706431 192.168.1.10 50010 typ host",
            Some((
                "1",
                1,
                "UDP",
                2_130_706_431,
                "192.168.1.10",
                50010,
                Some("host"),
                None,
                None,
                false,
            )),
        );
    }
    #[test]
    fn candidate_ms_draft6() {
        check_candidate(
            "candidate:4+Q7yK8sVsS0L2OC/dTHEMtJc2vdSaqb/fLzDcTw9Ks 1 bjBdhB7u5Gsy5gRL6IRrrg UDP 0.830 10.1.1.5 23522",
            Some(("4+Q7yK8sVsS0L2OC/dTHEMtJc2vdSaqb/fLzDcTw9Ks", 1, "UDP", 830, "10.1.1.5", 23522, None, None, None, true)),
        );
    }
    #[test]
    fn candidate_ms_draft6_ipv6() {
        check_candidate(
            "x-candidate-ipv6:abc 2 def TCP-PASS 0.190 2001:db8::5 50000",
            Some((
                "abc",
                2,
                "TCP-PASS",
                190,
                "2001:db8::5",
                50000,
                None,
                None,
                None,
                true,
            )),
        );
    }
    #[test]
    fn candidate_garbage() {
        check_candidate("candidate:1 x", None);
    }
    #[test]
    fn candidate_bad_q() {
        check_candidate("candidate:a 1 b UDP 7.5 10.0.0.1 5", None);
    }

    #[test]
    fn ice_attributes() {
        let s = ok("v=0\r\na=ice-lite\r\na=ice-ufrag:sess\r\na=ice-pwd:sesspwd\r\nm=audio 1 RTP/AVP 0\r\na=ice-ufrag:med\r\na=ice-pwd:medpwd\r\na=mid:0\r\n");
        assert!(s.ice_lite);
        assert_eq!((s.ice_ufrag, s.ice_pwd), (Some("sess"), Some("sesspwd")));
        assert_eq!(
            (s.media[0].ice_ufrag, s.media[0].ice_pwd, s.media[0].mid),
            (Some("med"), Some("medpwd"), Some("0"))
        );
    }

    #[test]
    fn static_table() {
        let expect = [
            (0, "PCMU", 8000),
            (3, "GSM", 8000),
            (4, "G723", 8000),
            (5, "DVI4", 8000),
            (6, "DVI4", 16000),
            (7, "LPC", 8000),
            (8, "PCMA", 8000),
            (9, "G722", 8000),
            (10, "L16", 44100),
            (11, "L16", 44100),
            (12, "QCELP", 8000),
            (13, "CN", 8000),
            (14, "MPA", 90000),
            (15, "G728", 8000),
            (16, "DVI4", 11025),
            (17, "DVI4", 22050),
            (18, "G729", 8000),
            (25, "CelB", 90000),
            (26, "JPEG", 90000),
            (28, "nv", 90000),
            (31, "H261", 90000),
            (32, "MPV", 90000),
            (33, "MP2T", 90000),
            (34, "H263", 90000),
        ];
        for (pt, name, rate) in expect {
            assert_eq!(static_payload(pt), Some((name, rate)), "pt {pt}");
        }
        for pt in [1, 2, 19, 20, 24, 27, 29, 30, 35, 95, 96, 127, 200] {
            assert_eq!(static_payload(pt), None, "pt {pt}");
        }
    }

    #[test]
    fn rtpmap_overrides_static() {
        let m = media("m=audio 1 RTP/AVP 9\r\na=rtpmap:9 G722/16000");
        assert_eq!(m.clock_rate(9), Some(16000));
    }

    #[test]
    fn truncated_at_every_prefix_never_panics() {
        let bodies = [
            BASIC.as_bytes(),
            b"v=0\r\nm=audio 1 RTP/AVP 0\r\na=candidate:2 1 UDP 1694498815 192.0.2.3 45664 typ srflx raddr 10.0.1.1 rport 8998\r\na=x-candidate-ipv6:abc 2 def TCP-PASS 0.190 2001:db8::5 50000\r\na=rtcp:5 IN IP4 1.2.3.4\r\n",
        ];
        for b in bodies {
            for end in 0..=b.len() {
                let _ = parse(&b[..end]);
                let _ = parse(&b[end..]);
            }
        }
    }

    mod prop {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
                let _ = parse(&bytes);
            }

            #[test]
            fn sdp_like_lines_never_panic(lines in proptest::collection::vec(
                ("[vocmat]", "=", "[ -~]{0,40}"), 0..30)) {
                let mut body = String::from("v=0\r\n");
                for (k, eq, v) in lines {
                    body.push_str(&format!("{k}{eq}{v}\r\n"));
                }
                if let Ok(s) = parse(body.as_bytes()) {
                    for m in &s.media {
                        let _ = (m.effective_connection(&s), m.effective_direction(&s), m.clock_rate(0), m.codec_name(96));
                    }
                }
            }
        }
    }
}
