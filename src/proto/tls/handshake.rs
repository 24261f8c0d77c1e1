//! TLS handshake messages (RFC 5246 §7.4, RFC 8446 §4): the hellos, certificate lists, the certificate
//! request and the RSA key exchange.
//!
//! Takes in: the fragment of one handshake record ([`Handshakes`], which reports messages cut by the
//! record end as [`Handshake::Partial`]), or a contiguous stream of handshake bytes put together across
//! records ([`messages`]), as untrusted bytes.
//! Produces: borrowed views; a Certificate message's DER certificates ([`certificates`]) for
//! `super::cert` to read.
//! Does not: verify signatures or Finished messages.
//!
//! No-panic contract: as the record layer, every read is bounds-checked; nothing allocates.

use super::{HandshakeType, ProtocolVersion};
use crate::proto::bytes::Reader;

/// One handshake message of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handshake<'a> {
    ClientHello(ClientHello<'a>),
    ServerHello(ServerHello),
    /// Any other complete message (Certificate, ServerHelloDone, CertificateRequest, Finished, ...).
    Other {
        kind: HandshakeType,
        body: &'a [u8],
    },
    /// A message continuing beyond this record or buffer.
    Partial {
        kind: HandshakeType,
        declared_len: usize,
    },
    /// Bytes that do not parse as a plaintext handshake message: an encrypted Finished (TLS 1.2, after
    /// ChangeCipherSpec) or an encrypted renegotiation.
    Encrypted,
}

/// What a ClientHello tells about the client's wishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientHello<'a> {
    pub legacy_version: ProtocolVersion,
    /// The client random: the key log's index of the session's secrets.
    pub random: [u8; 32],
    /// server_name (RFC 6066 §3) host name.
    pub sni: Option<&'a str>,
    /// First ALPN protocol offered (RFC 7301), e.g. "sip/2" is not registered, "h2" is.
    pub alpn_first: Option<&'a [u8]>,
    /// Highest version in supported_versions (RFC 8446 §4.2.1), else `legacy_version`.
    pub max_version: ProtocolVersion,
    /// Lowest version in supported_versions, else `legacy_version`.
    pub min_version: ProtocolVersion,
    /// Number of cipher suites offered.
    pub cipher_suites: u16,
    /// The suites offered, two bytes each (big-endian).
    pub suites: &'a [u8],
    /// extended_master_secret offered (RFC 7627).
    pub extended_master_secret: bool,
    /// encrypt_then_mac offered (RFC 7366).
    pub encrypt_then_mac: bool,
}

impl ClientHello<'_> {
    /// The cipher suites offered, GREASE values (RFC 8701) left out.
    pub fn offered(&self) -> impl Iterator<Item = u16> + '_ {
        self.suites
            .chunks_exact(2)
            .map(|p| u16::from_be_bytes([p[0], p[1]]))
            .filter(|&s| !is_grease(s))
    }
}

/// What a ServerHello settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerHello {
    pub legacy_version: ProtocolVersion,
    pub random: [u8; 32],
    /// supported_versions selection when present (TLS 1.3), else `legacy_version`.
    pub version: ProtocolVersion,
    pub cipher_suite: u16,
    /// extended_master_secret accepted (RFC 7627).
    pub extended_master_secret: bool,
    /// encrypt_then_mac accepted (RFC 7366).
    pub encrypt_then_mac: bool,
    /// A HelloRetryRequest (RFC 8446 §4.1.3): the client must send a second ClientHello.
    pub retry_request: bool,
}

/// The random value that marks a ServerHello as a HelloRetryRequest (RFC 8446 §4.1.3): SHA-256 of
/// "HelloRetryRequest".
const HELLO_RETRY_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

/// GREASE values (RFC 8701) end both bytes in 0x?a.
fn is_grease(v: u16) -> bool {
    v & 0x0f0f == 0x0a0a && v >> 8 == v & 0xff
}

/// Iterator over the handshake messages of one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Handshakes<'a> {
    pub(super) cur: Reader<'a>,
    pub(super) first: bool,
    pub(super) record_complete: bool,
}

impl<'a> Iterator for Handshakes<'a> {
    type Item = Handshake<'a>;

    fn next(&mut self) -> Option<Handshake<'a>> {
        if self.cur.is_empty() {
            return None;
        }
        let first = core::mem::replace(&mut self.first, false);
        let mut c = self.cur;
        let kind = HandshakeType(c.u8()?);
        let declared_len = c.be24().unwrap_or(usize::MAX);
        if kind.name().is_none() {
            // Not a plaintext message type: encrypted content; nothing after it can be parsed.
            self.cur = Reader::new(&[]);
            return Some(Handshake::Encrypted);
        }
        let Some(body) = c.take(declared_len) else {
            self.cur = Reader::new(&[]);
            // In a complete record, a first message claiming more than 64 KiB is ciphertext that happened to start
            // with a known type byte (a random 24-bit length exceeds 2^16 with probability 99.6 %, real handshake
            // messages rarely do); otherwise it continues in the next record or segment.
            return Some(if first && self.record_complete && declared_len > 0xffff {
                Handshake::Encrypted
            } else {
                Handshake::Partial { kind, declared_len }
            });
        };
        self.cur = c;
        Some(parse(kind, body))
    }
}

/// A complete message by its type.
fn parse(kind: HandshakeType, body: &[u8]) -> Handshake<'_> {
    match kind {
        HandshakeType::CLIENT_HELLO => {
            parse_client_hello(body).map_or(Handshake::Other { kind, body }, Handshake::ClientHello)
        }
        HandshakeType::SERVER_HELLO => {
            parse_server_hello(body).map_or(Handshake::Other { kind, body }, Handshake::ServerHello)
        }
        _ => Handshake::Other { kind, body },
    }
}

/// The complete messages at the start of a contiguous handshake stream, and how many bytes they take
/// (the rest is a message still incomplete).
pub fn messages(buf: &[u8]) -> (Messages<'_>, usize) {
    let mut c = Reader::new(buf);
    let mut used = 0;
    while let (Some(_), Some(len)) = (c.u8(), c.be24()) {
        if c.take(len).is_none() {
            break;
        }
        used = buf.len() - c.rest().len();
    }
    (
        Messages {
            cur: Reader::new(buf.get(..used).unwrap_or_default()),
        },
        used,
    )
}

/// Iterator over complete handshake messages; see [`messages`].
#[derive(Debug, Clone, Copy)]
pub struct Messages<'a> {
    cur: Reader<'a>,
}

impl<'a> Iterator for Messages<'a> {
    /// The message, and its bytes with their 4-byte header (the transcript hashes them).
    type Item = (Handshake<'a>, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let whole = self.cur.rest();
        let kind = HandshakeType(self.cur.u8()?);
        let len = self.cur.be24()?;
        let body = self.cur.take(len)?;
        Some((parse(kind, body), whole.get(..4 + len).unwrap_or(whole)))
    }
}

/// Extension types used here (IANA TLS ExtensionType registry).
mod ext {
    pub const SERVER_NAME: u16 = 0;
    pub const ALPN: u16 = 16;
    pub const ENCRYPT_THEN_MAC: u16 = 22;
    pub const EXTENDED_MASTER_SECRET: u16 = 23;
    pub const SUPPORTED_VERSIONS: u16 = 43;
}

fn parse_client_hello(body: &[u8]) -> Option<ClientHello<'_>> {
    let mut c = Reader::new(body);
    let legacy_version = ProtocolVersion(c.be16()?);
    let random = c.take(32)?.try_into().ok()?;
    c.vec8()?; // session id
    let suites = c.vec16()?;
    c.vec8()?; // compression methods
    let mut hello = ClientHello {
        legacy_version,
        random,
        sni: None,
        alpn_first: None,
        max_version: legacy_version,
        min_version: legacy_version,
        cipher_suites: u16::try_from(suites.len() / 2).unwrap_or(u16::MAX),
        suites,
        extended_master_secret: false,
        encrypt_then_mac: false,
    };
    // Extensions are optional in TLS 1.0–1.2 (RFC 5246 §7.4.1.2).
    let Some(exts) = c.vec16() else {
        return Some(hello);
    };
    let mut e = Reader::new(exts);
    while let (Some(kind), Some(data)) = (e.be16(), e.vec16()) {
        let mut d = Reader::new(data);
        match kind {
            ext::SERVER_NAME => {
                // ServerNameList: list length, then (name_type, HostName) entries; type 0 is host_name.
                let mut list = Reader::new(d.vec16().unwrap_or(&[]));
                while let Some(name_type) = list.u8() {
                    let Some(name) = list.vec16() else { break };
                    if name_type == 0 {
                        hello.sni = core::str::from_utf8(name).ok();
                        break;
                    }
                }
            }
            ext::ALPN => {
                let mut list = Reader::new(d.vec16().unwrap_or(&[]));
                hello.alpn_first = list.vec8();
            }
            ext::ENCRYPT_THEN_MAC => hello.encrypt_then_mac = true,
            ext::EXTENDED_MASTER_SECRET => hello.extended_master_secret = true,
            ext::SUPPORTED_VERSIONS => {
                let mut list = Reader::new(d.vec8().unwrap_or(&[]));
                let mut seen = false;
                while let Some(v) = list.be16() {
                    if is_grease(v) {
                        continue;
                    }
                    let v = ProtocolVersion(v);
                    if !seen {
                        (hello.max_version, hello.min_version) = (v, v);
                        seen = true;
                    }
                    hello.max_version = hello.max_version.max(v);
                    hello.min_version = hello.min_version.min(v);
                }
            }
            _ => {}
        }
    }
    Some(hello)
}

fn parse_server_hello(body: &[u8]) -> Option<ServerHello> {
    let mut c = Reader::new(body);
    let legacy_version = ProtocolVersion(c.be16()?);
    let random: [u8; 32] = c.take(32)?.try_into().ok()?;
    c.vec8()?;
    let cipher_suite = c.be16()?;
    c.u8()?; // compression method
    let mut hello = ServerHello {
        legacy_version,
        random,
        version: legacy_version,
        cipher_suite,
        extended_master_secret: false,
        encrypt_then_mac: false,
        retry_request: random == HELLO_RETRY_RANDOM,
    };
    let Some(exts) = c.vec16() else {
        return Some(hello);
    };
    let mut e = Reader::new(exts);
    while let (Some(kind), Some(data)) = (e.be16(), e.vec16()) {
        match kind {
            ext::SUPPORTED_VERSIONS => {
                if let Some(v) = Reader::new(data).be16() {
                    hello.version = ProtocolVersion(v);
                }
            }
            ext::ENCRYPT_THEN_MAC => hello.encrypt_then_mac = true,
            ext::EXTENDED_MASTER_SECRET => hello.extended_master_secret = true,
            _ => {}
        }
    }
    Some(hello)
}

/// The DER certificates of a Certificate message body, leaf first (RFC 5246 §7.4.2; TLS 1.3 adds a
/// request context before the list and extensions after each certificate, RFC 8446 §4.4.2). An empty
/// iterator is an empty list: the client had no certificate to send.
pub fn certificates(body: &[u8], tls13: bool) -> Certificates<'_> {
    let mut c = Reader::new(body);
    if tls13 && c.vec8().is_none() {
        return Certificates {
            list: Reader::new(&[]),
            tls13,
        };
    }
    let list = c.be24().and_then(|n| c.take(n)).unwrap_or_default();
    Certificates {
        list: Reader::new(list),
        tls13,
    }
}

/// Iterator over the DER certificates of a Certificate message; see [`certificates`].
#[derive(Debug, Clone, Copy)]
pub struct Certificates<'a> {
    list: Reader<'a>,
    tls13: bool,
}

impl<'a> Iterator for Certificates<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let len = self.list.be24()?;
        let der = self.list.take(len)?;
        if self.tls13 {
            self.list.vec16()?;
        }
        Some(der)
    }
}

/// The encrypted premaster secret of an RSA ClientKeyExchange (RFC 5246 §7.4.7.1): a 2-byte length
/// and the ciphertext (TLS 1.0–1.2).
pub fn rsa_encrypted_premaster(body: &[u8]) -> Option<&[u8]> {
    let mut c = Reader::new(body);
    let ct = c.vec16()?;
    c.is_empty().then_some(ct)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificate_lists_of_both_versions() {
        // TLS 1.2: list of two certificates (3 and 2 bytes).
        let body = [0, 0, 11, 0, 0, 3, 1, 2, 3, 0, 0, 2, 4, 5];
        let certs: Vec<_> = certificates(&body, false).collect();
        assert_eq!(certs, vec![&[1, 2, 3][..], &[4, 5][..]]);
        // TLS 1.3: empty context, one certificate with empty extensions.
        let body = [0, 0, 0, 7, 0, 0, 2, 9, 9, 0, 0];
        let certs: Vec<_> = certificates(&body, true).collect();
        assert_eq!(certs, vec![&[9, 9][..]]);
        // The empty list of a client without a certificate.
        assert_eq!(certificates(&[0, 0, 0], false).count(), 0);
        assert_eq!(certificates(&[0, 0, 0, 0], true).count(), 0);
    }

    #[test]
    fn messages_of_a_stream_stop_at_the_incomplete_one() {
        let buf = [14, 0, 0, 0, 20, 0, 0, 2, 1, 2, 11, 0, 0, 9, 0];
        let (msgs, used) = messages(&buf);
        let kinds: Vec<_> = msgs.map(|(m, raw)| (m, raw.len())).collect();
        assert_eq!(used, 10);
        assert_eq!(
            kinds,
            vec![
                (
                    Handshake::Other {
                        kind: HandshakeType::SERVER_HELLO_DONE,
                        body: &[]
                    },
                    4
                ),
                (
                    Handshake::Other {
                        kind: HandshakeType::FINISHED,
                        body: &[1, 2]
                    },
                    6
                ),
            ]
        );
    }

    #[test]
    fn rsa_premaster_is_one_vector() {
        assert_eq!(rsa_encrypted_premaster(&[0, 2, 7, 8]), Some(&[7, 8][..]));
        assert_eq!(rsa_encrypted_premaster(&[0, 3, 7, 8]), None);
    }

    proptest::proptest! {
        #[test]
        fn any_stream_never_panics(buf in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            let (msgs, used) = messages(&buf);
            proptest::prop_assert!(used <= buf.len());
            for (m, _) in msgs {
                if let Handshake::Other { body, .. } = m {
                    let _ = certificates(body, true).count();
                    let _ = certificates(body, false).count();
                    let _ = rsa_encrypted_premaster(body);
                }
            }
        }
    }
}
