//! One TLS connection, record by record in capture order: the handshake as it is read (in clear, or
//! decrypted), the key schedule, and the records of each direction decrypted with their sequence
//! numbers.
//!
//! TLS ≤ 1.2 (RFC 5246 §7): records are clear until each side's ChangeCipherSpec; the keys come from
//! the master secret (`CLIENT_RANDOM` of a key log, or the premaster secret of an RSA
//! ClientKeyExchange decrypted with the server's key, with the extended master secret's session hash
//! when negotiated). TLS 1.3 (RFC 8446 §7): every record after the ServerHello is encrypted, with the
//! handshake traffic secrets until each side's Finished, then the application traffic secrets (the
//! next one after each KeyUpdate).

use std::net::SocketAddr;

use rsa::Pkcs1v15Encrypt;

use super::crypto::{self, Keys};
use super::keys::KeyStore;
use super::{Decryption, Event};
use crate::proto::tls::cert::Summary;
use crate::proto::tls::suite::{self, KeyExchange, Suite};
use crate::proto::tls::{self, ContentType, Handshake, HandshakeType, ProtocolVersion};

/// Handshake bytes buffered per direction (a certificate chain with intermediates fits many times).
const MAX_HANDSHAKE: usize = 256 * 1024;
/// Certificates summarised per chain.
const MAX_CHAIN: usize = 8;
/// The size of a TLS 1.3 record carrying only an alert: 2 bytes, the inner type, a 16-byte tag.
const TLS13_ALERT_RECORD: usize = 19;

/// One direction of the connection.
#[derive(Default)]
struct Direction {
    /// Handshake bytes not yet a whole message.
    handshake: Vec<u8>,
    /// Records are encrypted from now on (after ChangeCipherSpec, or the TLS 1.3 ServerHello).
    encrypted: bool,
    keys: Option<Keys>,
    /// TLS 1.3: the current application traffic secret (for KeyUpdate).
    traffic_secret: Option<Vec<u8>>,
    /// Encrypted records sent so far, and those decrypted.
    encrypted_records: u64,
    decrypted_records: u64,
    /// Offset of the next plaintext byte (the SIP reassembly's sequence number).
    pub plain_offset: u32,
}

/// What a record gave.
pub(super) struct RecordOut {
    pub events: Vec<Event>,
    /// Decrypted application data.
    pub plaintext: Option<Vec<u8>>,
    /// Records lost before this one (found by locking on to its sequence number).
    pub lost: u64,
    /// A record of a direction that decrypted before did not.
    pub damaged: bool,
}

/// A TLS connection.
pub(super) struct Session {
    pub client: SocketAddr,
    pub server: SocketAddr,
    client_random: Option<[u8; 32]>,
    server_random: Option<[u8; 32]>,
    suite: Option<Suite>,
    version: Option<ProtocolVersion>,
    extended_master_secret: bool,
    encrypt_then_mac: bool,
    /// TLS 1.2 keys waiting for each side's ChangeCipherSpec: (client's, server's).
    pending: (Option<Keys>, Option<Keys>),
    /// Handshake messages so far, kept for the extended master secret of an RSA key exchange.
    transcript: Option<Vec<u8>>,
    dirs: [Direction; 2],
    status: Option<Decryption>,
    /// The server sent something other than an alert after the client's encrypted flight (TLS 1.3).
    tls13_server_after_client: bool,
    /// An application data record went by, encrypted (TLS ≤ 1.2).
    application_data: bool,
}

impl Session {
    /// A connection whose first record went from `client` to `server`.
    pub fn new(client: SocketAddr, server: SocketAddr, keys: &KeyStore) -> Session {
        Session {
            client,
            server,
            client_random: None,
            server_random: None,
            suite: None,
            version: None,
            extended_master_secret: false,
            encrypt_then_mac: false,
            pending: (None, None),
            transcript: (!keys.is_empty()).then(Vec::new),
            dirs: [Direction::default(), Direction::default()],
            status: None,
            tls13_server_after_client: false,
            application_data: false,
        }
    }

    /// Nothing more to learn from reassembling its records: both directions are encrypted without
    /// keys and the handshake completed. Later segments are only looked at for alerts.
    pub fn settled(&self) -> bool {
        let done = if self.tls13() {
            self.tls13_server_after_client
        } else {
            // Both Finished messages are encrypted records too: wait for application data.
            self.application_data
        };
        done && self.dirs.iter().all(|d| d.encrypted && d.keys.is_none())
    }

    /// A segment of a settled session that starts with a record header: an alert in it, if any.
    pub fn settled_segment(&self, payload: &[u8]) -> Option<Event> {
        let r = tls::sniff(payload)?;
        let alert_sized = r.content_type == ContentType::ALERT
            || (self.tls13() && usize::from(r.length) == TLS13_ALERT_RECORD);
        alert_sized.then_some(Event::EncryptedAlert)
    }

    /// How decryption went, once it was tried.
    pub fn status(&self) -> Option<Decryption> {
        self.status
    }

    fn tls13(&self) -> bool {
        self.version == Some(ProtocolVersion::TLS1_3)
    }

    /// The plaintext offset of a direction, advanced by `len`.
    pub fn advance_plain(&mut self, from_client: bool, len: usize) -> u32 {
        let d = &mut self.dirs[usize::from(!from_client)];
        let at = d.plain_offset;
        d.plain_offset = at.wrapping_add(len as u32);
        at
    }

    /// A record that did not authenticate marks the session for good: what was read of it may miss
    /// a direction.
    fn set_status(&mut self, status: Decryption, events: &mut Vec<Event>) {
        if self.status != Some(status) && self.status != Some(Decryption::Failed) {
            self.status = Some(status);
            events.push(Event::Decryption(status));
        }
    }

    /// One whole record (header and fragment) sent by the client (`from_client`) or the server.
    pub fn record(&mut self, from_client: bool, record: &[u8], keys: &KeyStore) -> RecordOut {
        let mut out = RecordOut {
            events: Vec::new(),
            plaintext: None,
            lost: 0,
            damaged: false,
        };
        let Some(r) = tls::sniff(record) else {
            return out;
        };
        let side = usize::from(!from_client);
        let ct = r.content_type;
        if ct == ContentType::CHANGE_CIPHER_SPEC {
            // TLS 1.3 middlebox compatibility sends a dummy ChangeCipherSpec (RFC 8446 §D.4).
            if !self.tls13() {
                let pending = if from_client {
                    self.pending.0.take()
                } else {
                    self.pending.1.take()
                };
                let d = &mut self.dirs[side];
                d.encrypted = true;
                d.keys = pending;
            }
            return out;
        }
        if !self.dirs[side].encrypted {
            match r.content() {
                tls::Content::Handshake(_) => {
                    self.handshake_bytes(from_client, r.fragment, false, keys, &mut out.events)
                }
                tls::Content::Alert(a) => out.events.push(alert(a, false)),
                tls::Content::ApplicationData(_) => {
                    // Application data in clear terms: the capture began after the handshake.
                    out.events.push(Event::ApplicationData);
                    if self.client_random.is_none() && !keys.is_empty() {
                        self.set_status(Decryption::HandshakeMissing, &mut out.events);
                    }
                }
                _ => {}
            }
            return out;
        }
        self.dirs[side].encrypted_records += 1;
        let Some(k) = self.dirs[side].keys.as_mut() else {
            self.undecrypted(
                from_client,
                ct,
                r.fragment.len(),
                !keys.is_empty(),
                &mut out.events,
            );
            return out;
        };
        let plain = match k.decrypt_locking_on(ct.0, r.version.0, r.fragment) {
            Ok((p, skipped)) => {
                out.lost = skipped;
                p
            }
            Err(_) => {
                // Keys that never opened a record of this direction are wrong; after some did, a
                // record that does not open is damage (or bytes after a gap taken for a record).
                if self.dirs[side].decrypted_records == 0 {
                    self.set_status(Decryption::Failed, &mut out.events);
                } else {
                    out.damaged = true;
                }
                return out;
            }
        };
        self.dirs[side].decrypted_records += 1;
        self.set_status(Decryption::Decrypted, &mut out.events);
        match ContentType(plain.content_type) {
            ContentType::HANDSHAKE => {
                self.handshake_bytes(from_client, &plain.data, true, keys, &mut out.events)
            }
            ContentType::ALERT => {
                if let [level, description] = plain.data[..] {
                    out.events.push(alert(
                        tls::Alert {
                            level: tls::AlertLevel(level),
                            description: tls::AlertDescription(description),
                        },
                        true,
                    ));
                }
            }
            ContentType::APPLICATION_DATA => {
                out.events.push(Event::ApplicationData);
                out.plaintext = Some(plain.data);
            }
            _ => {}
        }
        out
    }

    /// An encrypted record without keys: what can still be told from its type and size.
    fn undecrypted(
        &mut self,
        from_client: bool,
        ct: ContentType,
        len: usize,
        keys_given: bool,
        events: &mut Vec<Event>,
    ) {
        let alert_sized = ct == ContentType::ALERT || (self.tls13() && len == TLS13_ALERT_RECORD);
        if alert_sized {
            events.push(Event::EncryptedAlert);
        }
        if self.tls13() {
            // TLS 1.3 hides the handshake in application data records: the handshake completed only
            // when the server sends more than an alert after the client's encrypted flight (tickets,
            // responses).
            if !from_client
                && self.dirs[0].encrypted_records > 0
                && len != TLS13_ALERT_RECORD
                && !self.tls13_server_after_client
            {
                self.tls13_server_after_client = true;
                events.push(Event::ApplicationData);
            }
        } else if ct == ContentType::APPLICATION_DATA {
            self.application_data = true;
            events.push(Event::ApplicationData);
        }
        if keys_given {
            let status = self.why_no_key();
            self.set_status(status, events);
        }
    }

    fn why_no_key(&self) -> Decryption {
        match (self.client_random, self.suite, self.version) {
            (None, _, _) | (_, None, _) => Decryption::HandshakeMissing,
            (_, Some(s), _) if s.key_exchange == KeyExchange::Ephemeral => {
                Decryption::NoKeyEphemeral
            }
            _ => Decryption::NoKey,
        }
    }

    /// Handshake bytes of one direction; whole messages are handled as they complete.
    fn handshake_bytes(
        &mut self,
        from_client: bool,
        bytes: &[u8],
        decrypted: bool,
        keys: &KeyStore,
        events: &mut Vec<Event>,
    ) {
        let side = usize::from(!from_client);
        let mut buf = std::mem::take(&mut self.dirs[side].handshake);
        if buf.len() + bytes.len() > MAX_HANDSHAKE {
            buf.clear();
            return;
        }
        buf.extend_from_slice(bytes);
        let (messages, used) = tls::messages(&buf);
        for (message, raw) in messages {
            self.message(from_client, message, raw, decrypted, keys, events);
        }
        buf.drain(..used);
        self.dirs[side].handshake = buf;
    }

    fn message(
        &mut self,
        from_client: bool,
        message: Handshake<'_>,
        raw: &[u8],
        decrypted: bool,
        keys: &KeyStore,
        events: &mut Vec<Event>,
    ) {
        if let Some(t) = self.transcript.as_mut() {
            if t.len() + raw.len() <= MAX_HANDSHAKE {
                t.extend_from_slice(raw);
            }
        }
        match message {
            Handshake::ClientHello(hello) if from_client => {
                self.client_random.get_or_insert(hello.random);
                events.push(Event::ClientHello {
                    sni: hello.sni.map(str::to_string),
                    max_version: hello.max_version.0,
                    min_version: hello.min_version.0,
                    cipher_suites: hello.cipher_suites,
                });
            }
            Handshake::ServerHello(hello) if !from_client => {
                events.push(Event::ServerHello {
                    version: hello.version.0,
                    cipher_suite: hello.cipher_suite,
                    extended_master_secret: hello.extended_master_secret,
                    encrypt_then_mac: hello.encrypt_then_mac,
                    retry: hello.retry_request,
                });
                if hello.retry_request {
                    return;
                }
                self.server_random = Some(hello.random);
                self.version = Some(hello.version);
                self.suite = suite::lookup(hello.cipher_suite);
                self.extended_master_secret = hello.extended_master_secret;
                self.encrypt_then_mac = hello.encrypt_then_mac;
                self.server_hello(keys, hello.cipher_suite, events);
            }
            Handshake::Other { kind, body } => match kind {
                HandshakeType::CERTIFICATE => {
                    let chain: Vec<Summary> = tls::certificates(body, self.tls13())
                        .take(MAX_CHAIN)
                        .map(Summary::parse)
                        .collect::<Option<_>>()
                        .unwrap_or_default();
                    let empty = tls::certificates(body, self.tls13()).next().is_none();
                    if empty || !chain.is_empty() {
                        events.push(Event::Certificate {
                            from_client,
                            chain,
                            decrypted,
                        });
                    }
                }
                HandshakeType::CERTIFICATE_REQUEST if !from_client => {
                    events.push(Event::CertificateRequest)
                }
                HandshakeType::CLIENT_KEY_EXCHANGE if from_client => {
                    self.rsa_key_exchange(body, keys, events)
                }
                HandshakeType::FINISHED if self.tls13() => {
                    let side = usize::from(!from_client);
                    let secret = self.session_secret(keys, from_client, true);
                    self.install13(side, secret);
                }
                HandshakeType::KEY_UPDATE if self.tls13() => {
                    let side = usize::from(!from_client);
                    let next = match (self.suite, &self.dirs[side].traffic_secret) {
                        (Some(s), Some(secret)) => crypto::next_traffic_secret(s.hash, secret),
                        _ => None,
                    };
                    self.install13(side, next);
                }
                _ => {}
            },
            _ => {}
        }
    }

    /// The TLS 1.3 secret of one side from the key log: handshake or application (`traffic`).
    fn session_secret(&self, keys: &KeyStore, from_client: bool, traffic: bool) -> Option<Vec<u8>> {
        let s = keys.session(self.client_random.as_ref()?)?;
        match (from_client, traffic) {
            (true, false) => s.client_handshake.clone(),
            (false, false) => s.server_handshake.clone(),
            (true, true) => s.client_traffic.clone(),
            (false, true) => s.server_traffic.clone(),
        }
    }

    /// Installs a TLS 1.3 traffic secret for a direction (sequence numbers restart at 0).
    fn install13(&mut self, side: usize, secret: Option<Vec<u8>>) {
        let d = &mut self.dirs[side];
        d.keys = match (self.suite, &secret) {
            (Some(s), Some(secret)) => Keys::tls13(s.cipher, s.hash, secret),
            _ => None,
        };
        d.traffic_secret = secret;
    }

    fn server_hello(&mut self, keys: &KeyStore, id: u16, events: &mut Vec<Event>) {
        let Some(version) = self.version else { return };
        if version != ProtocolVersion::TLS1_2 && version != ProtocolVersion::TLS1_3 {
            if !keys.is_empty() {
                self.set_status(Decryption::UnsupportedVersion(version.0), events);
            }
            return;
        }
        let Some(suite) = self.suite else {
            if !keys.is_empty() {
                self.set_status(Decryption::UnsupportedSuite(id), events);
            }
            return;
        };
        if self.tls13() {
            self.transcript = None;
            for d in &mut self.dirs {
                d.encrypted = true;
            }
            let client = self.session_secret(keys, true, false);
            let server = self.session_secret(keys, false, false);
            self.install13(0, client);
            self.install13(1, server);
            return;
        }
        if suite.key_exchange != KeyExchange::Rsa || !self.extended_master_secret {
            self.transcript = None;
        }
        let master = self
            .client_random
            .and_then(|r| keys.session(&r))
            .and_then(|s| s.master.clone());
        if let Some(master) = master {
            self.tls12_keys(&master);
        }
    }

    fn tls12_keys(&mut self, master: &[u8]) {
        let (Some(suite), Some(cr), Some(sr)) =
            (self.suite, self.client_random, self.server_random)
        else {
            return;
        };
        if let Some((c, s)) = Keys::tls12(
            suite.cipher,
            suite.hash,
            master,
            &cr,
            &sr,
            self.encrypt_then_mac,
        ) {
            self.pending = (Some(c), Some(s));
        }
    }

    /// An RSA ClientKeyExchange: the premaster secret decrypted with the server's key gives the
    /// master secret (RFC 5246 §7.4.7.1, §8.1; RFC 7627 §4 with the session hash).
    fn rsa_key_exchange(&mut self, body: &[u8], keys: &KeyStore, events: &mut Vec<Event>) {
        let transcript = self.transcript.take();
        let (Some(suite), Some(cr), Some(sr)) =
            (self.suite, self.client_random, self.server_random)
        else {
            return;
        };
        if suite.key_exchange != KeyExchange::Rsa || self.pending.0.is_some() {
            return;
        }
        let Some(ct) = tls::rsa_encrypted_premaster(body) else {
            return;
        };
        let premaster = keys.rsa_for(self.server).find_map(|k| {
            k.decrypt(Pkcs1v15Encrypt, ct)
                .ok()
                .filter(|p| p.len() == 48)
        });
        let Some(premaster) = premaster else {
            if keys.rsa_for(self.server).next().is_some() {
                self.set_status(Decryption::RsaKeyMismatch, events);
            }
            return;
        };
        let session_hash = match (self.extended_master_secret, transcript) {
            (true, Some(t)) => Some(crypto::transcript_hash(suite.hash, &t)),
            (true, None) => return,
            (false, _) => None,
        };
        let master =
            crypto::master_secret(suite.hash, &premaster, &cr, &sr, session_hash.as_deref());
        self.tls12_keys(&master);
    }
}

fn alert(a: tls::Alert, decrypted: bool) -> Event {
    Event::Alert {
        level: a.level.0,
        description: a.description.0,
        name: a.description.name().unwrap_or("unknown_alert"),
        decrypted,
    }
}
