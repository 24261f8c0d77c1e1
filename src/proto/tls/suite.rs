//! The cipher suites callscope can name and decrypt (IANA TLS Cipher Suites registry; RFC 5288, 5289,
//! 5246, 7905, 8446): what each means for the record layer and the key schedule.
//!
//! Takes a suite number; gives its parameters ([`Suite`]) or `None` for a suite outside the table
//! (named only by number; its records are not decrypted).

/// The hash of the PRF (TLS 1.2) or HKDF (TLS 1.3), which is also the transcript hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hash {
    Sha256,
    Sha384,
}

impl Hash {
    /// Bytes of a digest.
    pub fn output_len(self) -> usize {
        match self {
            Hash::Sha256 => 32,
            Hash::Sha384 => 48,
        }
    }
}

/// The record protection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cipher {
    Aes128Gcm,
    Aes256Gcm,
    ChaCha20Poly1305,
    /// AES-CBC with HMAC: key length (16 or 32) and the MAC hash.
    AesCbc {
        key_len: usize,
        mac: Mac,
    },
}

/// The HMAC of a CBC suite.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mac {
    Sha1,
    Sha256,
    Sha384,
}

impl Mac {
    /// Bytes of a tag.
    pub fn output_len(self) -> usize {
        match self {
            Mac::Sha1 => 20,
            Mac::Sha256 => 32,
            Mac::Sha384 => 48,
        }
    }
}

impl Cipher {
    pub fn key_len(self) -> usize {
        match self {
            Cipher::Aes128Gcm => 16,
            Cipher::Aes256Gcm | Cipher::ChaCha20Poly1305 => 32,
            Cipher::AesCbc { key_len, .. } => key_len,
        }
    }
}

/// How the premaster secret is agreed (TLS 1.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyExchange {
    /// RSA-encrypted premaster secret: decryptable with the server's private key.
    Rsa,
    /// Ephemeral (EC)DH: only a key log helps.
    Ephemeral,
    /// TLS 1.3 (always ephemeral).
    Tls13,
}

/// One cipher suite.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Suite {
    pub id: u16,
    pub name: &'static str,
    pub cipher: Cipher,
    pub hash: Hash,
    pub key_exchange: KeyExchange,
}

const fn cbc(key_len: usize, mac: Mac) -> Cipher {
    Cipher::AesCbc { key_len, mac }
}

use Cipher::{Aes128Gcm, Aes256Gcm, ChaCha20Poly1305};
use Hash::{Sha256, Sha384};
use KeyExchange::{Ephemeral, Rsa, Tls13};

#[rustfmt::skip]
const SUITES: &[(u16, &str, Cipher, Hash, KeyExchange)] = &[
    (0x1301, "TLS_AES_128_GCM_SHA256", Aes128Gcm, Sha256, Tls13),
    (0x1302, "TLS_AES_256_GCM_SHA384", Aes256Gcm, Sha384, Tls13),
    (0x1303, "TLS_CHACHA20_POLY1305_SHA256", ChaCha20Poly1305, Sha256, Tls13),
    (0x002f, "TLS_RSA_WITH_AES_128_CBC_SHA", cbc(16, Mac::Sha1), Sha256, Rsa),
    (0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA", cbc(32, Mac::Sha1), Sha256, Rsa),
    (0x003c, "TLS_RSA_WITH_AES_128_CBC_SHA256", cbc(16, Mac::Sha256), Sha256, Rsa),
    (0x003d, "TLS_RSA_WITH_AES_256_CBC_SHA256", cbc(32, Mac::Sha256), Sha256, Rsa),
    (0x009c, "TLS_RSA_WITH_AES_128_GCM_SHA256", Aes128Gcm, Sha256, Rsa),
    (0x009d, "TLS_RSA_WITH_AES_256_GCM_SHA384", Aes256Gcm, Sha384, Rsa),
    (0x0033, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA", cbc(16, Mac::Sha1), Sha256, Ephemeral),
    (0x0039, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA", cbc(32, Mac::Sha1), Sha256, Ephemeral),
    (0x0067, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256", cbc(16, Mac::Sha256), Sha256, Ephemeral),
    (0x006b, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256", cbc(32, Mac::Sha256), Sha256, Ephemeral),
    (0x009e, "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", Aes128Gcm, Sha256, Ephemeral),
    (0x009f, "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384", Aes256Gcm, Sha384, Ephemeral),
    (0xc009, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", cbc(16, Mac::Sha1), Sha256, Ephemeral),
    (0xc00a, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", cbc(32, Mac::Sha1), Sha256, Ephemeral),
    (0xc013, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", cbc(16, Mac::Sha1), Sha256, Ephemeral),
    (0xc014, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", cbc(32, Mac::Sha1), Sha256, Ephemeral),
    (0xc023, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", cbc(16, Mac::Sha256), Sha256, Ephemeral),
    (0xc024, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384", cbc(32, Mac::Sha384), Sha384, Ephemeral),
    (0xc027, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", cbc(16, Mac::Sha256), Sha256, Ephemeral),
    (0xc028, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384", cbc(32, Mac::Sha384), Sha384, Ephemeral),
    (0xc02b, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", Aes128Gcm, Sha256, Ephemeral),
    (0xc02c, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", Aes256Gcm, Sha384, Ephemeral),
    (0xc02f, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", Aes128Gcm, Sha256, Ephemeral),
    (0xc030, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", Aes256Gcm, Sha384, Ephemeral),
    (0xcca8, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", ChaCha20Poly1305, Sha256, Ephemeral),
    (0xcca9, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", ChaCha20Poly1305, Sha256, Ephemeral),
    (0xccaa, "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256", ChaCha20Poly1305, Sha256, Ephemeral),
];

/// The suite numbered `id`, if callscope knows it.
pub fn lookup(id: u16) -> Option<Suite> {
    SUITES
        .iter()
        .find(|s| s.0 == id)
        .map(|&(id, name, cipher, hash, key_exchange)| Suite {
            id,
            name,
            cipher,
            hash,
            key_exchange,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_consistent() {
        for s in SUITES {
            let suite = lookup(s.0).expect("listed");
            assert_eq!(
                suite.name.ends_with("SHA384"),
                suite.hash == Hash::Sha384,
                "{}",
                suite.name
            );
            assert_eq!(suite.key_exchange == Tls13, suite.id >> 8 == 0x13);
            assert_eq!(
                suite.name.starts_with("TLS_RSA_WITH"),
                suite.key_exchange == Rsa,
                "{}",
                suite.name
            );
            assert_eq!(SUITES.iter().filter(|t| t.0 == s.0).count(), 1);
        }
        assert_eq!(lookup(0x0005), None);
    }
}
