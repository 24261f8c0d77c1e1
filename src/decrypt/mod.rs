//! TLS connections read in capture order: their handshakes (certificates included) and, with the keys
//! the user gave, their records decrypted into the SIP they carry.
//!
//! Takes TCP segments of connections that carry TLS records (the fold recognises them), with their
//! frame numbers, in capture order. Reassembles each direction into whole records
//! (`reassembly::Framer::TlsRecords`), follows the handshake (`session`) and gives back, per record,
//! what it showed ([`Event`]: hellos, certificate chains, the certificate request, alerts, application
//! data, and how decryption went) and the decrypted application data cut into SIP messages by the same
//! framing as plain TCP (`reassembly::Reassembler`), each with the frames of the records that carried
//! it (the frame that completed each record).
//! Keys: [`keys::KeyStore`] (key logs, pcapng Decryption Secrets Blocks, RSA keys); cryptography:
//! [`crypto`] on RustCrypto crates.
//! Memory: sessions are bounded by [`Limits::sessions`] and idle ones expire with their connection;
//! record and SIP reassembly have the bounds of `reassembly::Limits`.
//! Records lost in a gap of the capture are skipped by locking on to the next record's sequence
//! number ([`crypto::LOCK_ON`]).
//! Does not: lock on to a connection whose handshake was not captured (reported as
//! [`Decryption::HandshakeMissing`]), decrypt TLS 1.0/1.1, SSL or 0-RTT early data, or keep any
//! secret in its output.

pub mod crypto;
pub mod keys;
mod session;

use std::net::SocketAddr;

use rustc_hash::FxHashMap;

use crate::proto::tls;
use crate::proto::tls::cert::Summary;
use crate::reassembly::{self, Framer, Reassembler, Segment};
use keys::KeyStore;
use session::Session;

/// How decrypting a connection went (when keys were given).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Decryption {
    /// Records decrypted and authenticated.
    Decrypted,
    /// No secret for this session (its client random is in no key log given, and no RSA key applies).
    NoKey,
    /// (EC)DHE key exchange: an RSA key cannot decrypt it; only a key log can.
    NoKeyEphemeral,
    /// The RSA key(s) given for this server did not decrypt its premaster secret: another key.
    RsaKeyMismatch,
    /// The capture began after the handshake: no ClientHello/ServerHello to tie the records to keys.
    HandshakeMissing,
    /// A cipher suite callscope does not decrypt.
    UnsupportedSuite(u16),
    /// A protocol version callscope does not decrypt (TLS 1.0/1.1, SSL 3).
    UnsupportedVersion(u16),
    /// Records did not authenticate with the secrets given: a wrong or damaged key log entry.
    Failed,
}

impl Decryption {
    /// A stable code for JSON.
    pub fn code(self) -> &'static str {
        match self {
            Decryption::Decrypted => "decrypted",
            Decryption::NoKey => "no_key",
            Decryption::NoKeyEphemeral => "no_key_ephemeral",
            Decryption::RsaKeyMismatch => "rsa_key_mismatch",
            Decryption::HandshakeMissing => "handshake_missing",
            Decryption::UnsupportedSuite(_) => "unsupported_suite",
            Decryption::UnsupportedVersion(_) => "unsupported_version",
            Decryption::Failed => "failed",
        }
    }

    /// In words, for people.
    pub fn describe(self) -> String {
        match self {
            Decryption::Decrypted => "decrypted".to_string(),
            Decryption::NoKey => "not decrypted: no key for this session in the key logs given".to_string(),
            Decryption::NoKeyEphemeral => "not decrypted: (EC)DHE key exchange needs a key log (an RSA key cannot decrypt it), and none names this session".to_string(),
            Decryption::RsaKeyMismatch => "not decrypted: the RSA key given is not this server's".to_string(),
            Decryption::HandshakeMissing => "not decrypted: the handshake was not captured (capture started mid-connection)".to_string(),
            Decryption::UnsupportedSuite(s) => format!("not decrypted: unsupported cipher suite 0x{s:04x}"),
            Decryption::UnsupportedVersion(v) => format!(
                "not decrypted: unsupported version {}",
                tls::ProtocolVersion(v).name().unwrap_or("unknown")
            ),
            Decryption::Failed => "not decrypted: records did not authenticate with the key given (wrong or damaged key log entry)".to_string(),
        }
    }
}

/// What one record of a TLS connection showed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    ClientHello {
        sni: Option<String>,
        max_version: u16,
        min_version: u16,
        cipher_suites: u16,
    },
    ServerHello {
        version: u16,
        cipher_suite: u16,
        extended_master_secret: bool,
        encrypt_then_mac: bool,
        /// A HelloRetryRequest.
        retry: bool,
    },
    /// A Certificate message (leaf first; empty: no certificate sent), read in clear or decrypted.
    Certificate {
        from_client: bool,
        chain: Vec<Summary>,
        decrypted: bool,
    },
    CertificateRequest,
    Alert {
        level: u8,
        description: u8,
        name: &'static str,
        /// Read from an encrypted record.
        decrypted: bool,
    },
    /// An encrypted record that holds an alert (TLS 1.2: its type says so; TLS 1.3: its size, 19
    /// bytes) that could not be decrypted.
    EncryptedAlert,
    /// Application data flowed (the handshake completed).
    ApplicationData,
    Decryption(Decryption),
}

/// What the stage gives the fold.
pub enum Output {
    /// A record's observation, at the frame that completed the record.
    Tls {
        frame: u64,
        ts_ns: i64,
        src: SocketAddr,
        dst: SocketAddr,
        event: Event,
    },
    /// A SIP message read from decrypted records.
    Sip(reassembly::Message),
}

/// Bounds of the stage.
#[derive(Clone, Debug)]
pub struct Limits {
    /// TLS connections followed at once.
    pub sessions: usize,
    pub reassembly: reassembly::Limits,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            sessions: 65_536,
            reassembly: reassembly::Limits::default(),
        }
    }
}

/// What the stage did, counted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// TLS connections followed.
    pub connections: u64,
    /// How they ended, by [`Decryption::code`]; `"no_keys_given"` when no key was given,
    /// `"no_encrypted_records"` when none needed decrypting (the handshake stopped before).
    pub outcomes: std::collections::BTreeMap<&'static str, u64>,
    /// TLS records read (whole).
    pub records: u64,
    /// Bytes of records decrypted.
    pub decrypted_bytes: u64,
    /// Records the capture lost inside decrypted connections (skipped by locking on to the next
    /// record's sequence number).
    pub records_lost: u64,
    /// Records that did not decrypt in connections whose other records did (damage, or bytes after
    /// a gap that looked like a record).
    pub records_damaged: u64,
    /// Connections not followed because [`Limits::sessions`] were.
    pub sessions_over_limit: u64,
}

/// The TLS stage.
pub struct Decryptor {
    keys: KeyStore,
    limits: Limits,
    /// By (client, server).
    sessions: FxHashMap<(SocketAddr, SocketAddr), Session>,
    /// Last segment time per session, for expiry.
    last_ts: FxHashMap<(SocketAddr, SocketAddr), i64>,
    records: Reassembler,
    sip: Reassembler,
    pub stats: Stats,
}

impl Decryptor {
    pub fn new(keys: KeyStore, limits: Limits) -> Decryptor {
        Decryptor {
            keys,
            records: Reassembler::with_framer(limits.reassembly.clone(), Framer::TlsRecords),
            sip: Reassembler::new(limits.reassembly.clone()),
            limits,
            sessions: FxHashMap::default(),
            last_ts: FxHashMap::default(),
            stats: Stats::default(),
        }
    }

    /// Secrets met in the capture (a pcapng Decryption Secrets Block); warnings for bad lines.
    pub fn add_keylog(&mut self, text: &[u8], what: &str) -> Vec<String> {
        self.keys.add_keylog(text, what)
    }

    /// Whether any key was given.
    pub fn has_keys(&self) -> bool {
        !self.keys.is_empty()
    }

    /// The session of the connection of `a` and `b`: (client, server) key.
    fn key_of(&self, a: SocketAddr, b: SocketAddr) -> Option<(SocketAddr, SocketAddr)> {
        if self.sessions.contains_key(&(a, b)) {
            Some((a, b))
        } else if self.sessions.contains_key(&(b, a)) {
            Some((b, a))
        } else {
            None
        }
    }

    /// Whether the connection of `a` and `b` is followed as TLS.
    pub fn follows(&self, a: SocketAddr, b: SocketAddr) -> bool {
        self.key_of(a, b).is_some()
    }

    /// Feeds a segment of a connection that is TLS (already followed, or whose payload starts with a
    /// record header); returns false, doing nothing, for any other.
    pub fn segment(
        &mut self,
        seg: Segment<'_>,
        fin: bool,
        rst: bool,
        out: &mut dyn FnMut(Output),
    ) -> bool {
        let key = match self.key_of(seg.src, seg.dst) {
            Some(k) => k,
            None => {
                if seg.payload.is_empty() || tls::sniff(seg.payload).is_none() {
                    return false;
                }
                if self.sessions.len() >= self.limits.sessions {
                    self.stats.sessions_over_limit += 1;
                    return false;
                }
                let s = Session::new(seg.src, seg.dst, &self.keys);
                self.sessions.insert((seg.src, seg.dst), s);
                self.stats.connections += 1;
                (seg.src, seg.dst)
            }
        };
        self.last_ts.insert(key, seg.ts_ns);
        if let Some(session) = self.sessions.get(&key).filter(|s| s.settled()) {
            // Without keys, reassembling the rest of a completed session teaches nothing.
            if let Some(event) = session.settled_segment(seg.payload) {
                out(Output::Tls {
                    frame: seg.frame,
                    ts_ns: seg.ts_ns,
                    src: seg.src,
                    dst: seg.dst,
                    event,
                });
            }
            if rst || fin {
                self.records.close(seg.src, seg.dst, &mut |_| {});
                if rst {
                    self.records.close(seg.dst, seg.src, &mut |_| {});
                }
                self.close_plain(seg.src, seg.dst, rst, out);
            }
            return true;
        }
        let mut records = Vec::new();
        self.records.segment(seg, &mut |m| records.push(m));
        if rst {
            self.records
                .close(seg.src, seg.dst, &mut |m| records.push(m));
            self.records
                .close(seg.dst, seg.src, &mut |m| records.push(m));
        } else if fin {
            self.records
                .close(seg.src, seg.dst, &mut |m| records.push(m));
        }
        for r in records {
            self.record(key, r, out);
        }
        if rst || fin {
            self.close_plain(seg.src, seg.dst, rst, out);
        }
        true
    }

    /// One whole record of the session `key`.
    fn record(
        &mut self,
        key: (SocketAddr, SocketAddr),
        r: reassembly::Message,
        out: &mut dyn FnMut(Output),
    ) {
        let Some(session) = self.sessions.get_mut(&key) else {
            return;
        };
        self.stats.records += 1;
        let from_client = r.src == session.client;
        let frame = r.frames.last().copied().unwrap_or_default();
        let result = session.record(from_client, &r.bytes, &self.keys);
        self.stats.records_lost += result.lost;
        self.stats.records_damaged += u64::from(result.damaged);
        for event in result.events {
            out(Output::Tls {
                frame,
                ts_ns: r.ts_ns,
                src: r.src,
                dst: r.dst,
                event,
            });
        }
        if let Some(plain) = result.plaintext {
            self.stats.decrypted_bytes += r.bytes.len() as u64;
            let seq = session.advance_plain(from_client, plain.len());
            self.sip.segment(
                Segment {
                    src: r.src,
                    dst: r.dst,
                    frame,
                    ts_ns: r.ts_ns,
                    seq,
                    syn: false,
                    payload: &plain,
                },
                &mut |m| out(Output::Sip(m)),
            );
        }
    }

    /// A FIN or RST: the plaintext of the closed directions is framed to the end; a reset (or both
    /// FINs' directions gone) ends the session.
    fn close_plain(
        &mut self,
        src: SocketAddr,
        dst: SocketAddr,
        rst: bool,
        out: &mut dyn FnMut(Output),
    ) {
        self.sip.close(src, dst, &mut |m| out(Output::Sip(m)));
        if rst {
            self.sip.close(dst, src, &mut |m| out(Output::Sip(m)));
            if let Some(key) = self.key_of(src, dst) {
                self.forget(key);
            }
        }
    }

    /// Forgets the sessions silent since before `before_ts_ns` (connections that ended unseen).
    pub fn expire(&mut self, before_ts_ns: i64, out: &mut dyn FnMut(Output)) {
        let mut gone: Vec<_> = self
            .last_ts
            .iter()
            .filter(|(_, &t)| t < before_ts_ns)
            .map(|(k, _)| *k)
            .collect();
        gone.sort();
        for (client, server) in gone {
            self.finish_session(client, server, out);
        }
    }

    fn finish_session(
        &mut self,
        client: SocketAddr,
        server: SocketAddr,
        out: &mut dyn FnMut(Output),
    ) {
        let key = (client, server);
        let mut records = Vec::new();
        self.records.close(client, server, &mut |m| records.push(m));
        self.records.close(server, client, &mut |m| records.push(m));
        for r in records {
            self.record(key, r, out);
        }
        self.sip.close(client, server, &mut |m| out(Output::Sip(m)));
        self.sip.close(server, client, &mut |m| out(Output::Sip(m)));
        self.forget(key);
    }

    /// Drops a session, counting how its decryption went.
    fn forget(&mut self, key: (SocketAddr, SocketAddr)) {
        self.last_ts.remove(&key);
        if let Some(s) = self.sessions.remove(&key) {
            let outcome = match s.status() {
                Some(d) => d.code(),
                None if self.keys.is_empty() => "no_keys_given",
                None => "no_encrypted_records",
            };
            *self.stats.outcomes.entry(outcome).or_default() += 1;
        }
    }

    /// Sessions followed now.
    pub fn sessions(&self) -> usize {
        self.sessions.len()
    }

    /// End of capture: every session's remaining records and plaintext.
    pub fn finish(&mut self, out: &mut dyn FnMut(Output)) {
        let mut keys: Vec<_> = self.sessions.keys().copied().collect();
        keys.sort();
        for (client, server) in keys {
            self.finish_session(client, server, out);
        }
    }

    /// Reassembly counts of the records and of the decrypted SIP.
    pub fn reassembly_stats(&self) -> (&reassembly::Stats, &reassembly::Stats) {
        (&self.records.stats, &self.sip.stats)
    }
}
