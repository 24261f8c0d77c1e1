//! TLS records for TCP payloads (RFC 5246 §6.2, RFC 8446 §5): enough to see a handshake, why it failed, and what
//! the decryption stage needs.
//!
//! Takes in: the payload of one TCP segment (or reassembled stream bytes), as untrusted bytes.
//! Produces: [`sniff`] / [`records`], which recognise record headers (content type 20..=24, version
//! 0x0300..=0x0304, length ≤ 2^14 + 2048) and yield [`Record`] views, possibly cut short by the segment end;
//! [`Record::content`] decodes alerts (level and description, named per RFC 8446 §6 and RFC 5246 §7.2),
//! ChangeCipherSpec, application data, and handshake messages (`handshake`: the hellos with their random,
//! SNI, ALPN, versions, suites and extensions, certificate lists, the RSA key exchange); `cert` summarises the
//! X.509 certificates; `suite` names cipher suites.
//! Does not: decrypt anything, validate certificates against a trust store, or decide whether a handshake
//! completed (transport analysis does that from the sequence of records).
//!
//! No-panic contract: every read goes through a bounds-checked reader (`super::bytes::Reader`); malformed or
//! truncated structures end the decoding of that structure and never panic. Nothing here allocates, except the
//! owned certificate summaries.

pub mod cert;
mod handshake;
pub mod suite;

pub use handshake::{
    certificates, messages, rsa_encrypted_premaster, Certificates, ClientHello, Handshake,
    Handshakes, Messages, ServerHello,
};

use super::bytes::Reader;

/// Largest record fragment allowed on the wire: 2^14 plus the ciphertext expansion of RFC 5246 §6.2.3.
pub const MAX_RECORD_LEN: u16 = 16384 + 2048;
/// Bytes of a record header: type, version, length.
pub const RECORD_HEADER_LEN: usize = 5;

/// Record content type (RFC 8446 §5.1); unknown values are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ContentType(pub u8);

impl ContentType {
    pub const CHANGE_CIPHER_SPEC: Self = Self(20);
    pub const ALERT: Self = Self(21);
    pub const HANDSHAKE: Self = Self(22);
    pub const APPLICATION_DATA: Self = Self(23);
    pub const HEARTBEAT: Self = Self(24);

    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            20 => "change_cipher_spec",
            21 => "alert",
            22 => "handshake",
            23 => "application_data",
            24 => "heartbeat",
            _ => return None,
        })
    }
}

/// Protocol version on the wire; unknown values are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProtocolVersion(pub u16);

impl ProtocolVersion {
    pub const SSL3: Self = Self(0x0300);
    pub const TLS1_0: Self = Self(0x0301);
    pub const TLS1_1: Self = Self(0x0302);
    pub const TLS1_2: Self = Self(0x0303);
    pub const TLS1_3: Self = Self(0x0304);

    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0x0300 => "SSL 3.0",
            0x0301 => "TLS 1.0",
            0x0302 => "TLS 1.1",
            0x0303 => "TLS 1.2",
            0x0304 => "TLS 1.3",
            _ => return None,
        })
    }
}

/// Alert level (RFC 5246 §7.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AlertLevel(pub u8);

impl AlertLevel {
    pub const WARNING: Self = Self(1);
    pub const FATAL: Self = Self(2);
}

/// Alert description (RFC 8446 §6, RFC 5246 §7.2); unknown values are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AlertDescription(pub u8);

impl AlertDescription {
    pub const CLOSE_NOTIFY: Self = Self(0);
    pub const HANDSHAKE_FAILURE: Self = Self(40);
    pub const BAD_CERTIFICATE: Self = Self(42);
    pub const CERTIFICATE_EXPIRED: Self = Self(45);
    pub const CERTIFICATE_UNKNOWN: Self = Self(46);
    pub const UNKNOWN_CA: Self = Self(48);
    pub const CERTIFICATE_REQUIRED: Self = Self(116);

    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0 => "close_notify",
            10 => "unexpected_message",
            20 => "bad_record_mac",
            21 => "decryption_failed",
            22 => "record_overflow",
            30 => "decompression_failure",
            40 => "handshake_failure",
            41 => "no_certificate",
            42 => "bad_certificate",
            43 => "unsupported_certificate",
            44 => "certificate_revoked",
            45 => "certificate_expired",
            46 => "certificate_unknown",
            47 => "illegal_parameter",
            48 => "unknown_ca",
            49 => "access_denied",
            50 => "decode_error",
            51 => "decrypt_error",
            60 => "export_restriction",
            70 => "protocol_version",
            71 => "insufficient_security",
            80 => "internal_error",
            86 => "inappropriate_fallback",
            90 => "user_canceled",
            100 => "no_renegotiation",
            109 => "missing_extension",
            110 => "unsupported_extension",
            111 => "certificate_unobtainable",
            112 => "unrecognized_name",
            113 => "bad_certificate_status_response",
            114 => "bad_certificate_hash_value",
            115 => "unknown_psk_identity",
            116 => "certificate_required",
            120 => "no_application_protocol",
            _ => return None,
        })
    }

    /// True for the descriptions that point at certificates or trust (the MTLS failures support sees most).
    pub fn is_certificate_problem(self) -> bool {
        matches!(self.0, 41..=46 | 48 | 111 | 113 | 114 | 116)
    }
}

/// Handshake message type (RFC 8446 §4, RFC 5246 §7.4); unknown values are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HandshakeType(pub u8);

impl HandshakeType {
    pub const HELLO_REQUEST: Self = Self(0);
    pub const CLIENT_HELLO: Self = Self(1);
    pub const SERVER_HELLO: Self = Self(2);
    pub const NEW_SESSION_TICKET: Self = Self(4);
    pub const END_OF_EARLY_DATA: Self = Self(5);
    pub const ENCRYPTED_EXTENSIONS: Self = Self(8);
    pub const CERTIFICATE: Self = Self(11);
    pub const SERVER_KEY_EXCHANGE: Self = Self(12);
    pub const CERTIFICATE_REQUEST: Self = Self(13);
    pub const SERVER_HELLO_DONE: Self = Self(14);
    pub const CERTIFICATE_VERIFY: Self = Self(15);
    pub const CLIENT_KEY_EXCHANGE: Self = Self(16);
    pub const FINISHED: Self = Self(20);
    pub const CERTIFICATE_STATUS: Self = Self(22);
    pub const KEY_UPDATE: Self = Self(24);

    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0 => "hello_request",
            1 => "client_hello",
            2 => "server_hello",
            4 => "new_session_ticket",
            5 => "end_of_early_data",
            8 => "encrypted_extensions",
            11 => "certificate",
            12 => "server_key_exchange",
            13 => "certificate_request",
            14 => "server_hello_done",
            15 => "certificate_verify",
            16 => "client_key_exchange",
            20 => "finished",
            22 => "certificate_status",
            24 => "key_update",
            _ => return None,
        })
    }
}

/// One TLS record; `fragment` may be shorter than `length` when the segment ends inside the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record<'a> {
    pub content_type: ContentType,
    pub version: ProtocolVersion,
    /// Declared fragment length.
    pub length: u16,
    /// The fragment bytes present in the buffer.
    pub fragment: &'a [u8],
}

/// The decoded content of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Content<'a> {
    ChangeCipherSpec,
    Alert(Alert),
    /// An alert sent after ChangeCipherSpec: its level and description are encrypted.
    EncryptedAlert,
    Handshake(Handshakes<'a>),
    ApplicationData(&'a [u8]),
    Heartbeat,
    /// A record cut short by the end of the buffer (nothing decodable yet).
    Incomplete,
}

/// A plaintext alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Alert {
    pub level: AlertLevel,
    pub description: AlertDescription,
}

impl<'a> Record<'a> {
    /// True when the whole fragment is in the buffer.
    pub fn is_complete(&self) -> bool {
        self.fragment.len() == usize::from(self.length)
    }

    /// Bytes this record occupies in the buffer (header + present fragment).
    pub fn wire_len(&self) -> usize {
        RECORD_HEADER_LEN + self.fragment.len()
    }

    pub fn content(&self) -> Content<'a> {
        match self.content_type {
            ContentType::CHANGE_CIPHER_SPEC => Content::ChangeCipherSpec,
            ContentType::ALERT => match self.fragment {
                // A plaintext alert is exactly two bytes (RFC 5246 §7.2); anything longer is encrypted.
                &[level, description] if self.length == 2 => Content::Alert(Alert {
                    level: AlertLevel(level),
                    description: AlertDescription(description),
                }),
                _ if self.is_complete() => Content::EncryptedAlert,
                _ => Content::Incomplete,
            },
            ContentType::HANDSHAKE => Content::Handshake(Handshakes {
                cur: Reader::new(self.fragment),
                first: true,
                record_complete: self.is_complete(),
            }),
            ContentType::APPLICATION_DATA => Content::ApplicationData(self.fragment),
            ContentType::HEARTBEAT => Content::Heartbeat,
            _ => Content::Incomplete,
        }
    }
}

/// Recognises a TLS record header at the start of `buf`.
pub fn sniff(buf: &[u8]) -> Option<Record<'_>> {
    let mut c = Reader::new(buf);
    let content_type = c.u8()?;
    let version = c.be16()?;
    let length = c.be16()?;
    if !(20..=24).contains(&content_type)
        || !(0x0300..=0x0304).contains(&version)
        || length > MAX_RECORD_LEN
        || length == 0
    {
        return None;
    }
    let fragment = c.rest().get(..usize::from(length)).unwrap_or(c.rest());
    Some(Record {
        content_type: ContentType(content_type),
        version: ProtocolVersion(version),
        length,
        fragment,
    })
}

/// The records at the start of `buf`, in order.
pub fn records(buf: &[u8]) -> Records<'_> {
    Records { rest: buf }
}

/// Iterator over consecutive records; stops at the first bytes that are not a record header, or after a record
/// that the buffer cuts short.
#[derive(Debug, Clone)]
pub struct Records<'a> {
    rest: &'a [u8],
}

impl<'a> Records<'a> {
    /// Bytes not consumed so far.
    pub fn remainder(&self) -> &'a [u8] {
        self.rest
    }
}

impl<'a> Iterator for Records<'a> {
    type Item = Record<'a>;

    fn next(&mut self) -> Option<Record<'a>> {
        let r = sniff(self.rest)?;
        self.rest = self.rest.get(r.wire_len()..).unwrap_or(&[]);
        Some(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client_hello_record() -> Vec<u8> {
        let mut body = vec![0x03, 0x03];
        body.extend_from_slice(&[7; 32]);
        body.push(0); // session id
        body.extend_from_slice(&[0x00, 0x04, 0x13, 0x01, 0xc0, 0x2f]); // 2 suites
        body.extend_from_slice(&[0x01, 0x00]); // null compression
        let mut exts = Vec::new();
        // SNI "sip.example.com"
        let host = b"sip.example.com";
        let mut sni = Vec::new();
        sni.extend_from_slice(&((host.len() + 3) as u16).to_be_bytes());
        sni.push(0);
        sni.extend_from_slice(&(host.len() as u16).to_be_bytes());
        sni.extend_from_slice(host);
        exts.extend_from_slice(&[0x00, 0x00]);
        exts.extend_from_slice(&(sni.len() as u16).to_be_bytes());
        exts.extend_from_slice(&sni);
        // supported_versions: GREASE, 1.3, 1.2
        exts.extend_from_slice(&[
            0x00, 0x2b, 0x00, 0x07, 0x06, 0x3a, 0x3a, 0x03, 0x04, 0x03, 0x03,
        ]);
        // ALPN "h2"
        exts.extend_from_slice(&[0x00, 0x10, 0x00, 0x05, 0x00, 0x03, 0x02, b'h', b'2']);
        body.extend_from_slice(&(exts.len() as u16).to_be_bytes());
        body.extend_from_slice(&exts);
        let mut hs = vec![1];
        hs.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
        hs.extend_from_slice(&body);
        let mut rec = vec![22, 0x03, 0x01];
        rec.extend_from_slice(&(hs.len() as u16).to_be_bytes());
        rec.extend_from_slice(&hs);
        rec
    }

    /// ServerHello (TLS 1.2, no extensions) + Certificate (empty list) + ServerHelloDone in one record.
    fn server_flight() -> Vec<u8> {
        let mut sh = vec![0x03, 0x03];
        sh.extend_from_slice(&[9; 32]);
        sh.push(0);
        sh.extend_from_slice(&[0xc0, 0x2f, 0x00]);
        let mut hs = vec![2, 0, 0, sh.len() as u8];
        hs.extend_from_slice(&sh);
        hs.extend_from_slice(&[11, 0, 0, 3, 0, 0, 0]);
        hs.extend_from_slice(&[14, 0, 0, 0]);
        let mut rec = vec![22, 0x03, 0x03, 0x00, hs.len() as u8];
        rec.extend_from_slice(&hs);
        rec
    }

    #[test]
    fn client_hello_sni_versions_alpn() {
        let rec = client_hello_record();
        let r = sniff(&rec).expect("record");
        assert!(r.is_complete());
        assert_eq!(r.version, ProtocolVersion::TLS1_0);
        let Content::Handshake(mut hs) = r.content() else {
            panic!("not handshake")
        };
        let Some(Handshake::ClientHello(ch)) = hs.next() else {
            panic!("not client hello")
        };
        assert_eq!(ch.sni, Some("sip.example.com"));
        assert_eq!(ch.max_version, ProtocolVersion::TLS1_3);
        assert_eq!(ch.alpn_first, Some(&b"h2"[..]));
        assert_eq!(ch.cipher_suites, 2);
        assert!(hs.next().is_none());
    }

    #[test]
    fn server_flight_and_more_records() {
        let mut seg = server_flight();
        seg.extend_from_slice(&[20, 3, 3, 0, 1, 1]); // ChangeCipherSpec
        seg.extend_from_slice(&[21, 3, 3, 0, 2, 2, 48]); // fatal unknown_ca
        seg.extend_from_slice(&[23, 3, 3, 0, 4, 1, 2]); // app data cut short
        let recs: Vec<_> = records(&seg).collect();
        assert_eq!(recs.len(), 4);
        let Content::Handshake(hs) = recs[0].content() else {
            panic!("not handshake")
        };
        let kinds: Vec<_> = hs
            .map(|h| match h {
                Handshake::ServerHello(s) => {
                    assert_eq!(s.cipher_suite, 0xc02f);
                    assert_eq!(s.version, ProtocolVersion::TLS1_2);
                    HandshakeType::SERVER_HELLO
                }
                Handshake::Other { kind, .. } => kind,
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        assert_eq!(
            kinds,
            vec![
                HandshakeType::SERVER_HELLO,
                HandshakeType::CERTIFICATE,
                HandshakeType::SERVER_HELLO_DONE
            ]
        );
        assert_eq!(recs[1].content(), Content::ChangeCipherSpec);
        let Content::Alert(a) = recs[2].content() else {
            panic!("not alert")
        };
        assert_eq!(a.level, AlertLevel::FATAL);
        assert_eq!(a.description.name(), Some("unknown_ca"));
        assert!(a.description.is_certificate_problem());
        assert!(!recs[3].is_complete());
    }

    #[test]
    fn encrypted_and_partial_handshake() {
        // Encrypted Finished: 40 random-looking bytes starting with an unknown type.
        let mut rec = vec![22, 3, 3, 0, 40, 0xa7];
        rec.extend_from_slice(&[0x55; 39]);
        let Content::Handshake(mut hs) = sniff(&rec).expect("record").content() else {
            panic!("not handshake")
        };
        assert_eq!(hs.next(), Some(Handshake::Encrypted));
        // Certificate continuing in the next record.
        let rec = [22, 3, 3, 0, 8, 11, 0, 0x10, 0, 1, 2, 3, 4];
        let Content::Handshake(mut hs) = sniff(&rec).expect("record").content() else {
            panic!("not handshake")
        };
        assert_eq!(
            hs.next(),
            Some(Handshake::Partial {
                kind: HandshakeType::CERTIFICATE,
                declared_len: 0x1000
            })
        );
        // Encrypted alert.
        let rec = [21, 3, 3, 0, 4, 1, 2, 3, 4];
        assert_eq!(
            sniff(&rec).expect("record").content(),
            Content::EncryptedAlert
        );
    }

    #[test]
    fn rejects_non_tls() {
        assert!(sniff(b"INVITE sip:a@b SIP/2.0\r\n").is_none());
        assert!(sniff(&[22, 3, 5, 0, 1, 0]).is_none()); // version 3.5
        assert!(sniff(&[22, 3, 3, 0x50, 0x01]).is_none()); // too long
        assert!(sniff(&[25, 3, 3, 0, 1, 0]).is_none()); // content type 25
        assert!(sniff(&[22, 3, 3, 0]).is_none());
        assert_eq!(records(b"GET / HTTP/1.1").count(), 0);
    }

    fn exercise(buf: &[u8]) {
        for r in records(buf) {
            if let Content::Handshake(hs) = r.content() {
                for h in hs {
                    let _ = h;
                }
            }
        }
    }

    #[test]
    fn truncated_at_every_prefix_never_panics() {
        for buf in [client_hello_record(), server_flight()] {
            for n in 0..=buf.len() {
                exercise(&buf[..n]);
                // Also with the record length patched to the prefix, so the handshake parsers see cut bodies.
                let mut b = buf[..n].to_vec();
                if b.len() > 5 {
                    let l = (b.len() - 5) as u16;
                    b[3..5].copy_from_slice(&l.to_be_bytes());
                    exercise(&b);
                }
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(mut buf in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            exercise(&buf);
            if buf.len() > 6 {
                buf[0] = 22;
                buf[1] = 3;
                buf[2] = 3;
                let l = (buf.len() - 5) as u16;
                buf[3..5].copy_from_slice(&l.to_be_bytes());
                buf[5] = 1 + buf[5] % 2;
                exercise(&buf);
            }
        }
    }
}
