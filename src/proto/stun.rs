//! STUN messages (RFC 5389 / RFC 8489), leniently also classic STUN (RFC 3489) and MS-TURN as Lync sends it.
//!
//! Takes in: one UDP payload, or a TCP payload holding back-to-back messages (optionally with the RFC 4571
//! 2-byte length prefix), as untrusted bytes.
//! Produces: [`Message`], a view with the message type split into [`Method`] and [`Class`], the transaction id, and
//! an iterator of decoded [`Attribute`]s (XOR-MAPPED-ADDRESS and friends decoded to socket addresses, ERROR-CODE as
//! class·100 + number, ICE attributes); [`looks_like_stun`] for classification; [`TcpMessages`] for TCP framing.
//! Does not: check MESSAGE-INTEGRITY (no credentials) or FINGERPRINT CRCs, parse TURN ChannelData, or follow
//! transactions across messages.
//!
//! No-panic contract: [`Message::new_checked`] validates the header and that the attribute chain ends exactly at
//! the declared length, so accessors and the attribute iterator never read out of range. Nothing allocates.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use thiserror::Error;

use super::bytes::{be16, be32, be64};

/// Why bytes are not a STUN message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum Error {
    #[error("stun {what} truncated: needs {needed} bytes, {available} available")]
    Truncated {
        what: &'static str,
        needed: usize,
        available: usize,
    },
    /// The two most significant bits of the type must be zero (RFC 5389 §6).
    #[error("stun message type 0x{0:04x} has its top bits set")]
    TopBits(u16),
    /// The declared length of a message without magic cookie is not a multiple of 4 (RFC 5389 §6).
    #[error("stun message length {0} is not a multiple of 4")]
    Unaligned(u16),
    /// No magic cookie and a type that classic STUN / MS-TURN does not define.
    #[error("stun message type 0x{0:04x} without magic cookie is not classic stun")]
    NotClassic(u16),
    /// An attribute's length runs past the end of the message.
    #[error("stun attribute 0x{kind:04x} at offset {offset} overruns the message")]
    AttributeOverrun { kind: u16, offset: usize },
}

mod field {
    pub type Field = core::ops::Range<usize>;
    pub const MESSAGE_TYPE: Field = 0..2;
    pub const LENGTH: Field = 2..4;
    pub const MAGIC_COOKIE: Field = 4..8;
    pub const TRANSACTION_ID: Field = 8..20;
    /// RFC 3489 has a 128-bit transaction id where RFC 5389 put the cookie.
    pub const CLASSIC_TRANSACTION_ID: Field = 4..20;
    pub const HEADER_LEN: usize = 20;
    pub const ATTR_HEADER_LEN: usize = 4;
}

/// The RFC 5389 magic cookie.
pub const MAGIC_COOKIE: u32 = 0x2112_A442;

/// Message class (RFC 5389 §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    Request,
    Indication,
    SuccessResponse,
    ErrorResponse,
}

/// STUN/TURN method (12 bits); unknown values are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Method(pub u16);

impl Method {
    pub const BINDING: Self = Self(0x001);
    /// RFC 3489 Shared Secret.
    pub const SHARED_SECRET: Self = Self(0x002);
    pub const ALLOCATE: Self = Self(0x003);
    pub const REFRESH: Self = Self(0x004);
    pub const SEND: Self = Self(0x006);
    pub const DATA: Self = Self(0x007);
    pub const CREATE_PERMISSION: Self = Self(0x008);
    pub const CHANNEL_BIND: Self = Self(0x009);

    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0x001 => "Binding",
            0x002 => "SharedSecret",
            0x003 => "Allocate",
            0x004 => "Refresh",
            0x006 => "Send",
            0x007 => "Data",
            0x008 => "CreatePermission",
            0x009 => "ChannelBind",
            _ => return None,
        })
    }
}

/// The 14-bit message type: method and class interleaved (RFC 5389 §6, figure 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MessageType(pub u16);

impl MessageType {
    pub fn class(self) -> Class {
        match ((self.0 >> 7) & 0x2) | ((self.0 >> 4) & 0x1) {
            0 => Class::Request,
            1 => Class::Indication,
            2 => Class::SuccessResponse,
            _ => Class::ErrorResponse,
        }
    }

    pub fn method(self) -> Method {
        Method((self.0 & 0x000f) | ((self.0 & 0x00e0) >> 1) | ((self.0 & 0x3e00) >> 2))
    }
}

/// Attribute type (IANA "STUN Attributes" registry); unknown values are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AttributeType(pub u16);

impl AttributeType {
    pub const MAPPED_ADDRESS: Self = Self(0x0001);
    pub const RESPONSE_ADDRESS: Self = Self(0x0002);
    pub const CHANGE_REQUEST: Self = Self(0x0003);
    pub const SOURCE_ADDRESS: Self = Self(0x0004);
    pub const CHANGED_ADDRESS: Self = Self(0x0005);
    pub const USERNAME: Self = Self(0x0006);
    pub const MESSAGE_INTEGRITY: Self = Self(0x0008);
    pub const ERROR_CODE: Self = Self(0x0009);
    pub const UNKNOWN_ATTRIBUTES: Self = Self(0x000a);
    pub const LIFETIME: Self = Self(0x000d);
    /// MS-TURN MAGIC-COOKIE attribute (Lync/Skype for Business TURN).
    pub const MS_MAGIC_COOKIE: Self = Self(0x000f);
    pub const XOR_PEER_ADDRESS: Self = Self(0x0012);
    pub const DATA: Self = Self(0x0013);
    pub const REALM: Self = Self(0x0014);
    pub const NONCE: Self = Self(0x0015);
    pub const XOR_RELAYED_ADDRESS: Self = Self(0x0016);
    pub const XOR_MAPPED_ADDRESS: Self = Self(0x0020);
    pub const PRIORITY: Self = Self(0x0024);
    pub const USE_CANDIDATE: Self = Self(0x0025);
    pub const MS_VERSION: Self = Self(0x8008);
    /// XOR-MAPPED-ADDRESS under its pre-RFC 5389 draft number, still sent by MS-TURN.
    pub const XOR_MAPPED_ADDRESS_OLD: Self = Self(0x8020);
    pub const SOFTWARE: Self = Self(0x8022);
    pub const ALTERNATE_SERVER: Self = Self(0x8023);
    pub const FINGERPRINT: Self = Self(0x8028);
    pub const ICE_CONTROLLED: Self = Self(0x8029);
    pub const ICE_CONTROLLING: Self = Self(0x802a);
}

/// A decoded attribute. Attributes whose value does not have the expected shape are kept as [`Attribute::Other`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attribute<'a> {
    MappedAddress(SocketAddr),
    XorMappedAddress(SocketAddr),
    XorPeerAddress(SocketAddr),
    XorRelayedAddress(SocketAddr),
    /// Username as sent (ICE: "remote-ufrag:local-ufrag").
    Username(&'a [u8]),
    /// class·100 + number (RFC 5389 §15.6) and the reason phrase.
    ErrorCode {
        code: u16,
        reason: &'a [u8],
    },
    Priority(u32),
    UseCandidate,
    IceControlled(u64),
    IceControlling(u64),
    MessageIntegrity(&'a [u8]),
    Fingerprint(u32),
    Software(&'a [u8]),
    Realm(&'a [u8]),
    Nonce(&'a [u8]),
    Lifetime(u32),
    Other {
        kind: AttributeType,
        value: &'a [u8],
    },
}

/// Types classic STUN (RFC 3489) and MS-TURN define: Binding and Shared Secret, and the TURN-like methods
/// Allocate..Data MS-TURN uses, in any class.
fn is_classic_type(t: u16) -> bool {
    let mt = MessageType(t);
    (0x001..=0x009).contains(&mt.method().0)
}

/// A view of one STUN message over borrowed bytes (exactly header + declared length).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Message<'a> {
    buf: &'a [u8],
    classic: bool,
}

impl<'a> Message<'a> {
    /// Validates the message at the start of `buf`; bytes after its declared length are ignored (TCP may carry
    /// more; for UDP use [`looks_like_stun`], which requires an exact fit).
    pub fn new_checked(buf: &'a [u8]) -> Result<Self, Error> {
        if buf.len() < field::HEADER_LEN {
            return Err(Error::Truncated {
                what: "header",
                needed: field::HEADER_LEN,
                available: buf.len(),
            });
        }
        let t = be16(buf, field::MESSAGE_TYPE.start);
        if t & 0xc000 != 0 {
            return Err(Error::TopBits(t));
        }
        let len = be16(buf, field::LENGTH.start);
        let total = field::HEADER_LEN + usize::from(len);
        let Some(msg) = buf.get(..total) else {
            return Err(Error::Truncated {
                what: "message",
                needed: total,
                available: buf.len(),
            });
        };
        let classic = be32(msg, field::MAGIC_COOKIE.start) != MAGIC_COOKIE;
        if classic && !is_classic_type(t) {
            return Err(Error::NotClassic(t));
        }
        // RFC 5389 §6 requires a multiple of 4, but some clients (WhatsApp's TURN Allocate) leave the last
        // attribute unpadded; with the magic cookie present that is accepted, without it the rule stays strict.
        if classic && !len.is_multiple_of(4) {
            return Err(Error::Unaligned(len));
        }
        // The attribute chain must end exactly at the declared length (padded to 4, RFC 5389 §15; the last
        // attribute may lack its padding, see above).
        let mut at = field::HEADER_LEN;
        while at < total {
            let kind = be16(msg, at);
            let vlen = usize::from(be16(msg, at + 2));
            let unpadded = at + field::ATTR_HEADER_LEN + vlen;
            let next = at + field::ATTR_HEADER_LEN + vlen.div_ceil(4) * 4;
            if at + field::ATTR_HEADER_LEN > total || unpadded > total {
                return Err(Error::AttributeOverrun { kind, offset: at });
            }
            at = next.min(total);
        }
        Ok(Self { buf: msg, classic })
    }

    /// The message bytes (header and attributes).
    pub fn as_bytes(&self) -> &'a [u8] {
        self.buf
    }

    pub fn message_type(&self) -> MessageType {
        MessageType(be16(self.buf, field::MESSAGE_TYPE.start))
    }

    pub fn method(&self) -> Method {
        self.message_type().method()
    }

    pub fn class(&self) -> Class {
        self.message_type().class()
    }

    /// Declared attribute length in bytes.
    pub fn length(&self) -> u16 {
        be16(self.buf, field::LENGTH.start)
    }

    /// True for RFC 3489 / MS-TURN messages without the magic cookie.
    pub fn is_classic(&self) -> bool {
        self.classic
    }

    /// 96-bit id (RFC 5389), or the 128-bit id of classic STUN.
    pub fn transaction_id(&self) -> &'a [u8] {
        let range = if self.classic {
            field::CLASSIC_TRANSACTION_ID
        } else {
            field::TRANSACTION_ID
        };
        self.buf.get(range).unwrap_or(&[])
    }

    /// The attributes in order.
    pub fn attributes(&self) -> Attributes<'a> {
        Attributes {
            msg: *self,
            at: field::HEADER_LEN,
        }
    }

    /// The first XOR-MAPPED-ADDRESS, else MAPPED-ADDRESS: the reflexive address a response reports.
    pub fn mapped_address(&self) -> Option<SocketAddr> {
        let mut plain = None;
        for a in self.attributes() {
            match a {
                Attribute::XorMappedAddress(s) => return Some(s),
                Attribute::MappedAddress(s) if plain.is_none() => plain = Some(s),
                _ => {}
            }
        }
        plain
    }

    /// The ERROR-CODE of an error response.
    pub fn error_code(&self) -> Option<(u16, &'a [u8])> {
        self.attributes().find_map(|a| match a {
            Attribute::ErrorCode { code, reason } => Some((code, reason)),
            _ => None,
        })
    }

    /// Decodes a (XOR-)address value; `xor` applies the cookie and transaction id (RFC 5389 §15.2).
    fn address(&self, value: &[u8], xor: bool) -> Option<SocketAddr> {
        let family = *value.get(1)?;
        let mut port = be16(value, 2);
        let cookie = MAGIC_COOKIE.to_be_bytes();
        match (family, value.len()) {
            (1, 8) => {
                let mut ip = [0u8; 4];
                ip.copy_from_slice(value.get(4..8)?);
                if xor {
                    port ^= (MAGIC_COOKIE >> 16) as u16;
                    for (b, k) in ip.iter_mut().zip(cookie) {
                        *b ^= k;
                    }
                }
                Some(SocketAddr::new(IpAddr::V4(Ipv4Addr::from(ip)), port))
            }
            (2, 20) => {
                let mut ip = [0u8; 16];
                ip.copy_from_slice(value.get(4..20)?);
                if xor {
                    // IPv6 is XORed with the cookie followed by the 96-bit transaction id; classic messages have
                    // no cookie, so XOR addresses there use the first 16 id bytes as the key (what MS-TURN does
                    // with its 128-bit id is the same bytes).
                    port ^= (MAGIC_COOKIE >> 16) as u16;
                    let key = self.buf.get(field::MAGIC_COOKIE.start..field::HEADER_LEN)?;
                    for (b, k) in ip.iter_mut().zip(key) {
                        *b ^= k;
                    }
                }
                Some(SocketAddr::new(IpAddr::V6(Ipv6Addr::from(ip)), port))
            }
            _ => None,
        }
    }

    fn decode(&self, kind: AttributeType, value: &'a [u8]) -> Attribute<'a> {
        let other = Attribute::Other { kind, value };
        let exact = |n: usize| value.len() == n;
        match kind {
            AttributeType::MAPPED_ADDRESS => self
                .address(value, false)
                .map_or(other, Attribute::MappedAddress),
            AttributeType::XOR_MAPPED_ADDRESS | AttributeType::XOR_MAPPED_ADDRESS_OLD => self
                .address(value, true)
                .map_or(other, Attribute::XorMappedAddress),
            AttributeType::XOR_PEER_ADDRESS => self
                .address(value, true)
                .map_or(other, Attribute::XorPeerAddress),
            AttributeType::XOR_RELAYED_ADDRESS => self
                .address(value, true)
                .map_or(other, Attribute::XorRelayedAddress),
            AttributeType::USERNAME => Attribute::Username(value),
            AttributeType::ERROR_CODE if value.len() >= 4 => {
                let class = u16::from(value.get(2).copied().unwrap_or(0) & 0x07);
                let number = u16::from(value.get(3).copied().unwrap_or(0));
                Attribute::ErrorCode {
                    code: class * 100 + number,
                    reason: value.get(4..).unwrap_or(&[]),
                }
            }
            AttributeType::PRIORITY if exact(4) => Attribute::Priority(be32(value, 0)),
            AttributeType::USE_CANDIDATE if exact(0) => Attribute::UseCandidate,
            AttributeType::ICE_CONTROLLED if exact(8) => Attribute::IceControlled(be64(value, 0)),
            AttributeType::ICE_CONTROLLING if exact(8) => Attribute::IceControlling(be64(value, 0)),
            AttributeType::MESSAGE_INTEGRITY => Attribute::MessageIntegrity(value),
            AttributeType::FINGERPRINT if exact(4) => Attribute::Fingerprint(be32(value, 0)),
            AttributeType::SOFTWARE => Attribute::Software(value),
            AttributeType::REALM => Attribute::Realm(value),
            AttributeType::NONCE => Attribute::Nonce(value),
            AttributeType::LIFETIME if exact(4) => Attribute::Lifetime(be32(value, 0)),
            _ => other,
        }
    }
}

/// Iterator over the attributes of a [`Message`].
#[derive(Debug, Clone)]
pub struct Attributes<'a> {
    msg: Message<'a>,
    at: usize,
}

impl<'a> Iterator for Attributes<'a> {
    type Item = Attribute<'a>;

    fn next(&mut self) -> Option<Attribute<'a>> {
        let buf = self.msg.buf;
        let kind = AttributeType(be16(buf, self.at));
        let len = usize::from(be16(buf, self.at.checked_add(2)?));
        let start = self.at.checked_add(field::ATTR_HEADER_LEN)?;
        let value = buf.get(start..start.checked_add(len)?)?;
        self.at = start + len.div_ceil(4) * 4;
        Some(self.msg.decode(kind, value))
    }
}

/// Cheap classifier for a UDP payload: a valid header (top bits zero, length a multiple of 4 that fits the datagram
/// exactly), an attribute chain that ends at that length, and either the magic cookie or a classic STUN type.
pub fn looks_like_stun(buf: &[u8]) -> bool {
    match Message::new_checked(buf) {
        Ok(m) => m.as_bytes().len() == buf.len(),
        Err(_) => false,
    }
}

/// Iterator over STUN messages carried back to back in a TCP payload, with or without the RFC 4571 2-byte length
/// prefix (RFC 5389 §7.2.2 sends them unframed; ICE-TCP, RFC 6544, frames them). Stops at the first bytes that are
/// neither; [`TcpMessages::remainder`] gives them (e.g. a message continued in the next segment).
#[derive(Debug, Clone)]
pub struct TcpMessages<'a> {
    rest: &'a [u8],
}

impl<'a> TcpMessages<'a> {
    pub fn new(payload: &'a [u8]) -> Self {
        Self { rest: payload }
    }

    /// Bytes not consumed so far.
    pub fn remainder(&self) -> &'a [u8] {
        self.rest
    }
}

impl<'a> Iterator for TcpMessages<'a> {
    type Item = Message<'a>;

    fn next(&mut self) -> Option<Message<'a>> {
        if let Ok(m) = Message::new_checked(self.rest) {
            self.rest = self.rest.get(m.as_bytes().len()..).unwrap_or(&[]);
            return Some(m);
        }
        // RFC 4571 framing: the prefix must equal the STUN message's own total length.
        let framed = usize::from(be16(self.rest, 0));
        let body = self.rest.get(2..2usize.checked_add(framed)?)?;
        let m = Message::new_checked(body).ok()?;
        if m.as_bytes().len() != framed {
            return None;
        }
        self.rest = self.rest.get(2 + framed..).unwrap_or(&[]);
        Some(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Binding success response, RFC 5769 §2.2 style: XOR-MAPPED-ADDRESS 192.0.2.1:32853, SOFTWARE.
    fn binding_success_v4() -> Vec<u8> {
        let mut v = vec![0x01, 0x01, 0x00, 0x14, 0x21, 0x12, 0xa4, 0x42];
        v.extend_from_slice(&[
            0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae,
        ]);
        // SOFTWARE "test" (4 bytes)
        v.extend_from_slice(&[0x80, 0x22, 0x00, 0x04, b't', b'e', b's', b't']);
        // XOR-MAPPED-ADDRESS: family 1, port 32853 ^ 0x2112, 192.0.2.1 ^ cookie
        v.extend_from_slice(&[
            0x00, 0x20, 0x00, 0x08, 0x00, 0x01, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43,
        ]);
        v
    }

    /// Binding request with ICE attributes: USERNAME "a:b" (padded), PRIORITY, USE-CANDIDATE, ICE-CONTROLLING,
    /// FINGERPRINT.
    fn ice_request() -> Vec<u8> {
        let mut attrs = Vec::new();
        attrs.extend_from_slice(&[0x00, 0x06, 0x00, 0x03, b'a', b':', b'b', 0x00]);
        attrs.extend_from_slice(&[0x00, 0x24, 0x00, 0x04, 0x6e, 0x00, 0x01, 0xff]);
        attrs.extend_from_slice(&[0x00, 0x25, 0x00, 0x00]);
        attrs.extend_from_slice(&[0x80, 0x2a, 0x00, 0x08, 0, 0, 0, 0, 0, 0, 0, 7]);
        attrs.extend_from_slice(&[0x80, 0x28, 0x00, 0x04, 0xde, 0xad, 0xbe, 0xef]);
        let mut v = vec![0x00, 0x01];
        v.extend_from_slice(&(attrs.len() as u16).to_be_bytes());
        v.extend_from_slice(&MAGIC_COOKIE.to_be_bytes());
        v.extend_from_slice(&[1; 12]);
        v.extend_from_slice(&attrs);
        v
    }

    fn error_response() -> Vec<u8> {
        let mut v = vec![0x01, 0x11, 0x00, 0x14];
        v.extend_from_slice(&MAGIC_COOKIE.to_be_bytes());
        v.extend_from_slice(&[2; 12]);
        v.extend_from_slice(&[0x00, 0x09, 0x00, 0x10, 0, 0, 4, 1]);
        v.extend_from_slice(b"Unauthorized");
        v
    }

    #[test]
    fn parses_binding_success() {
        let buf = binding_success_v4();
        assert!(looks_like_stun(&buf));
        let m = Message::new_checked(&buf).expect("valid");
        assert_eq!(m.method(), Method::BINDING);
        assert_eq!(m.class(), Class::SuccessResponse);
        assert!(!m.is_classic());
        assert_eq!(m.transaction_id().len(), 12);
        assert_eq!(
            m.mapped_address(),
            Some("192.0.2.1:32853".parse().expect("addr"))
        );
        assert!(m.attributes().any(|a| a == Attribute::Software(b"test")));
    }

    #[test]
    fn parses_ice_request() {
        let buf = ice_request();
        let m = Message::new_checked(&buf).expect("valid");
        assert_eq!(m.class(), Class::Request);
        let attrs: Vec<_> = m.attributes().collect();
        assert_eq!(
            attrs,
            vec![
                Attribute::Username(b"a:b"),
                Attribute::Priority(0x6e00_01ff),
                Attribute::UseCandidate,
                Attribute::IceControlling(7),
                Attribute::Fingerprint(0xdead_beef),
            ]
        );
    }

    #[test]
    fn parses_error_code() {
        let buf = error_response();
        let m = Message::new_checked(&buf).expect("valid");
        assert_eq!(m.class(), Class::ErrorResponse);
        assert_eq!(m.error_code(), Some((401, &b"Unauthorized"[..])));
    }

    #[test]
    fn xor_ipv6_address() {
        let mut v = vec![0x01, 0x01, 0x00, 0x18];
        v.extend_from_slice(&MAGIC_COOKIE.to_be_bytes());
        let txid = [
            0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae,
        ];
        v.extend_from_slice(&txid);
        let ip: Ipv6Addr = "2001:db8:1234:5678:11:2233:4455:6677".parse().expect("ip");
        let mut key = MAGIC_COOKIE.to_be_bytes().to_vec();
        key.extend_from_slice(&txid);
        let x: Vec<u8> = ip.octets().iter().zip(&key).map(|(a, b)| a ^ b).collect();
        v.extend_from_slice(&[0x00, 0x20, 0x00, 0x14, 0x00, 0x02]);
        v.extend_from_slice(&(32853u16 ^ 0x2112).to_be_bytes());
        v.extend_from_slice(&x);
        let m = Message::new_checked(&v).expect("valid");
        assert_eq!(
            m.mapped_address(),
            Some(SocketAddr::new(IpAddr::V6(ip), 32853))
        );
    }

    #[test]
    fn classic_stun_binding() {
        // RFC 3489 Binding Response with MAPPED-ADDRESS 10.0.0.1:5000 and a 128-bit id.
        let mut v = vec![0x01, 0x01, 0x00, 0x0c];
        v.extend_from_slice(&[9; 16]);
        v.extend_from_slice(&[0x00, 0x01, 0x00, 0x08, 0x00, 0x01, 0x13, 0x88, 10, 0, 0, 1]);
        assert!(looks_like_stun(&v));
        let m = Message::new_checked(&v).expect("valid");
        assert!(m.is_classic());
        assert_eq!(m.transaction_id().len(), 16);
        assert_eq!(
            m.mapped_address(),
            Some("10.0.0.1:5000".parse().expect("addr"))
        );
    }

    #[test]
    fn rejects() {
        let buf = binding_success_v4();
        assert!(!looks_like_stun(&buf[..buf.len() - 4]));
        let mut extra = buf.clone();
        extra.extend_from_slice(&[0, 0, 0, 0]);
        assert!(!looks_like_stun(&extra));
        let mut top = buf.clone();
        top[0] = 0x80;
        assert_eq!(Message::new_checked(&top), Err(Error::TopBits(0x8001)));
        // Unaligned length: accepted with the cookie when the last attribute is merely unpadded.
        let mut unpadded = buf[..28].to_vec();
        unpadded.extend_from_slice(&[0x00, 0x06, 0x00, 0x03, b'a', b':', b'b']);
        unpadded[3] = 0x0f;
        let m = Message::new_checked(&unpadded).expect("lenient");
        assert_eq!(m.attributes().last(), Some(Attribute::Username(b"a:b")));
        let mut classic = vec![0x00, 0x01, 0x00, 0x02];
        classic.extend_from_slice(&[0; 18]);
        assert_eq!(Message::new_checked(&classic), Err(Error::Unaligned(2)));
        let mut overrun = buf.clone();
        overrun[23] = 0x20; // SOFTWARE claims 32 bytes
        assert!(matches!(
            Message::new_checked(&overrun),
            Err(Error::AttributeOverrun { kind: 0x8022, .. })
        ));
        // No cookie and method 0x0ff: not classic either.
        let mut nocookie = vec![0x00, 0x3f, 0, 0];
        nocookie.extend_from_slice(&[0; 16]);
        assert_eq!(
            Message::new_checked(&nocookie),
            Err(Error::NotClassic(0x003f))
        );
        // RTP is not STUN.
        assert!(!looks_like_stun(&[
            0x80, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0
        ]));
    }

    #[test]
    fn tcp_back_to_back_and_framed() {
        let a = ice_request();
        let b = error_response();
        let mut raw = a.clone();
        raw.extend_from_slice(&b);
        raw.extend_from_slice(&[0x00, 0x01, 0x00]);
        let mut it = TcpMessages::new(&raw);
        assert_eq!(it.next().map(|m| m.class()), Some(Class::Request));
        assert_eq!(it.next().map(|m| m.class()), Some(Class::ErrorResponse));
        assert!(it.next().is_none());
        assert_eq!(it.remainder().len(), 3);
        let mut framed = Vec::new();
        for m in [&a, &b] {
            framed.extend_from_slice(&(m.len() as u16).to_be_bytes());
            framed.extend_from_slice(m);
        }
        assert_eq!(TcpMessages::new(&framed).count(), 2);
    }

    #[test]
    fn truncated_at_every_prefix_never_panics() {
        for buf in [binding_success_v4(), ice_request(), error_response()] {
            for n in 0..=buf.len() {
                let p = &buf[..n];
                let _ = looks_like_stun(p);
                if let Ok(m) = Message::new_checked(p) {
                    let _ = (m.attributes().count(), m.mapped_address(), m.error_code());
                }
                let _ = TcpMessages::new(p).count();
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(mut buf in proptest::collection::vec(proptest::num::u8::ANY, 0..160)) {
            let check = |b: &[u8]| {
                let _ = looks_like_stun(b);
                if let Ok(m) = Message::new_checked(b) {
                    let _ = (m.attributes().count(), m.mapped_address(), m.transaction_id());
                }
                let _ = TcpMessages::new(b).count();
            };
            check(&buf);
            // With a valid-looking header, to reach the attribute decoders.
            if buf.len() >= 20 {
                let len = ((buf.len() - 20) / 4 * 4) as u16;
                buf[0] &= 0x3f;
                buf[2..4].copy_from_slice(&len.to_be_bytes());
                buf[4..8].copy_from_slice(&MAGIC_COOKIE.to_be_bytes());
                check(&buf);
            }
        }
    }
}
