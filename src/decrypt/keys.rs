//! The secrets the user gave: NSS key log lines (from `--keylog` files or pcapng Decryption Secrets
//! Blocks) and RSA private keys (`--tls-key KEY.pem[@ip:port]`).
//!
//! NSS key log format (as written by NSS, OpenSSL's `SSL_CTX_set_keylog_callback`, `SSLKEYLOGFILE`):
//! one `LABEL <client random, 64 hex digits> <secret, hex>` per line, `#` comments. Labels used:
//! `CLIENT_RANDOM` (TLS ≤ 1.2 master secret), `CLIENT_HANDSHAKE_TRAFFIC_SECRET`,
//! `SERVER_HANDSHAKE_TRAFFIC_SECRET`, `CLIENT_TRAFFIC_SECRET_0`, `SERVER_TRAFFIC_SECRET_0` (TLS 1.3);
//! other labels (exporter, early data) are skipped.
//! A malformed line is a warning naming its line number, never its content; secrets are never
//! formatted (`Secrets` has no `Debug`).

use std::net::SocketAddr;

use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs8::DecodePrivateKey;
use rsa::PrivateKey;
use rustc_hash::FxHashMap;

/// The secrets of one session, by its client random.
#[derive(Default, Clone)]
pub struct Secrets {
    pub master: Option<Vec<u8>>,
    pub client_handshake: Option<Vec<u8>>,
    pub server_handshake: Option<Vec<u8>>,
    pub client_traffic: Option<Vec<u8>>,
    pub server_traffic: Option<Vec<u8>>,
}

/// An RSA server key, for the server address it belongs to (any server when `None`).
#[derive(Clone)]
pub struct RsaKey {
    pub server: Option<SocketAddr>,
    pub key: PrivateKey,
}

/// All the secrets of a run.
#[derive(Default, Clone)]
pub struct KeyStore {
    sessions: FxHashMap<[u8; 32], Secrets>,
    rsa: Vec<RsaKey>,
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || s.len() > 256 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Where a key log label's secret goes.
fn slot<'s>(s: &'s mut Secrets, label: &str) -> Option<&'s mut Option<Vec<u8>>> {
    Some(match label {
        "CLIENT_RANDOM" => &mut s.master,
        "CLIENT_HANDSHAKE_TRAFFIC_SECRET" => &mut s.client_handshake,
        "SERVER_HANDSHAKE_TRAFFIC_SECRET" => &mut s.server_handshake,
        "CLIENT_TRAFFIC_SECRET_0" => &mut s.client_traffic,
        "SERVER_TRAFFIC_SECRET_0" => &mut s.server_traffic,
        _ => return None,
    })
}

impl KeyStore {
    /// Whether any secret was given: the parallel stage copies TLS payloads only then.
    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty() && self.rsa.is_empty()
    }

    /// Sessions known from key logs.
    pub fn sessions(&self) -> usize {
        self.sessions.len()
    }

    /// Adds the lines of a key log; returns one warning per malformed line (by line number, `what`
    /// naming the source).
    pub fn add_keylog(&mut self, text: &[u8], what: &str) -> Vec<String> {
        let mut warnings = Vec::new();
        let mut bad = Vec::new();
        for (n, line) in text.split(|&b| b == b'\n').enumerate() {
            let Ok(line) = std::str::from_utf8(line) else {
                bad.push(n + 1);
                continue;
            };
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut parts = line.split_ascii_whitespace();
            let (Some(label), Some(random), Some(secret), None) =
                (parts.next(), parts.next(), parts.next(), parts.next())
            else {
                bad.push(n + 1);
                continue;
            };
            let (Some(random), Some(secret)) = (unhex(random), unhex(secret)) else {
                bad.push(n + 1);
                continue;
            };
            let Ok(random) = <[u8; 32]>::try_from(random) else {
                bad.push(n + 1);
                continue;
            };
            if label == "CLIENT_RANDOM" && secret.len() != 48 {
                bad.push(n + 1);
                continue;
            }
            if let Some(s) = slot(self.sessions.entry(random).or_default(), label) {
                *s = Some(secret);
            }
        }
        if !bad.is_empty() {
            let shown: Vec<String> = bad.iter().take(5).map(usize::to_string).collect();
            warnings.push(format!(
                "{what}: {} malformed key log line(s) skipped (line {}{}): expected `LABEL <64 hex digits> <hex secret>`",
                bad.len(),
                shown.join(", "),
                if bad.len() > 5 { ", …" } else { "" }
            ));
        }
        warnings
    }

    /// Adds an RSA private key (PEM, PKCS#1 or PKCS#8) for `server` (or any server).
    pub fn add_rsa_pem(&mut self, pem: &[u8], server: Option<SocketAddr>) -> Result<(), String> {
        for block in x509_parser::pem::Pem::iter_from_buffer(pem) {
            let Ok(block) = block else { break };
            let key = match block.label.as_str() {
                "RSA PRIVATE KEY" => PrivateKey::from_pkcs1_der(&block.contents).ok(),
                "PRIVATE KEY" => PrivateKey::from_pkcs8_der(&block.contents).ok(),
                _ => continue,
            };
            return match key {
                Some(key) => {
                    self.rsa.push(RsaKey { server, key });
                    Ok(())
                }
                None => Err("the PEM block is not an RSA private key".to_string()),
            };
        }
        Err("no `RSA PRIVATE KEY` or `PRIVATE KEY` PEM block found (an RSA key is needed; encrypted keys are not supported)".to_string())
    }

    /// The secrets of the session with this client random.
    pub fn session(&self, client_random: &[u8; 32]) -> Option<&Secrets> {
        self.sessions.get(client_random)
    }

    /// The RSA keys that may belong to `server`.
    pub fn rsa_for(&self, server: SocketAddr) -> impl Iterator<Item = &PrivateKey> {
        self.rsa
            .iter()
            .filter(move |k| k.server.is_none_or(|s| s == server))
            .map(|k| &k.key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keylog_lines_and_warnings() {
        let random = "ab".repeat(32);
        let text = format!(
            "# comment\nCLIENT_RANDOM {random} {}\nSERVER_TRAFFIC_SECRET_0 {random} {}\nEXPORTER_SECRET {random} 00\ngarbage\nCLIENT_RANDOM 12 34\n",
            "11".repeat(48),
            "22".repeat(32)
        );
        let mut keys = KeyStore::default();
        let warnings = keys.add_keylog(text.as_bytes(), "keys.log");
        assert_eq!(keys.sessions(), 1);
        let s = keys.session(&[0xab; 32]).expect("session");
        assert_eq!(s.master.as_deref(), Some(&[0x11; 48][..]));
        assert_eq!(s.server_traffic.as_deref(), Some(&[0x22; 32][..]));
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].contains("2 malformed key log line(s) skipped (line 5, 6)"));
        assert!(!warnings[0].contains("1111"));
    }

    #[test]
    fn pem_without_a_key_is_an_error() {
        let mut keys = KeyStore::default();
        assert!(keys.add_rsa_pem(b"nothing here", None).is_err());
        let bad = b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
        assert!(keys.add_rsa_pem(bad, None).is_err());
        assert!(keys.is_empty());
    }
}
