//! The cryptography of the TLS record layer, on RustCrypto's crates (nothing hand-written but the
//! byte layouts the RFCs define): the TLS 1.2 PRF and key block (RFC 5246 §5, §6.3), the extended
//! master secret (RFC 7627), HKDF-Expand-Label and the TLS 1.3 traffic keys (RFC 8446 §7.1, §7.3,
//! KeyUpdate §7.2), and record decryption: AES-GCM (RFC 5288), ChaCha20-Poly1305 (RFC 7905), AES-CBC
//! with HMAC-SHA1/256/384, MAC-then-encrypt (RFC 5246 §6.2.3.2) or encrypt-then-MAC (RFC 7366).
//!
//! Takes secrets and ciphertext; gives plaintext or why a record did not decrypt. Secrets stay in
//! memory and are never formatted (no `Debug` on key types).

use aes::{Aes128, Aes256};
use aes_gcm::aead::AeadInOut;
use aes_gcm::{Aes128Gcm, Aes256Gcm, KeyInit};
use cbc::cipher::{BlockModeDecrypt, KeyIvInit};
use chacha20poly1305::ChaCha20Poly1305;
use hkdf::Hkdf;
use hmac::Hmac;
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha384};

use crate::proto::tls::suite::{Cipher, Hash, Mac};

/// Why a record did not decrypt.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("the record is too short for its cipher")]
    Short,
    /// The tag or MAC did not verify: wrong key, wrong sequence number, or a damaged record.
    #[error("authentication failed")]
    Authentication,
    #[error("bad padding")]
    Padding,
}

fn hmac(mac: Mac, key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    fn run<M: hmac::Mac + hmac::digest::KeyInit>(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
        let mut m = <M as hmac::digest::KeyInit>::new_from_slice(key)
            .expect("HMAC takes keys of any length");
        for p in parts {
            m.update(p);
        }
        m.finalize().into_bytes().to_vec()
    }
    match mac {
        Mac::Sha1 => run::<Hmac<Sha1>>(key, parts),
        Mac::Sha256 => run::<Hmac<Sha256>>(key, parts),
        Mac::Sha384 => run::<Hmac<Sha384>>(key, parts),
    }
}

fn prf_mac(hash: Hash) -> Mac {
    match hash {
        Hash::Sha256 => Mac::Sha256,
        Hash::Sha384 => Mac::Sha384,
    }
}

/// The TLS 1.2 PRF: P_hash(secret, label + seed) cut to `len` bytes (RFC 5246 §5).
pub fn prf(hash: Hash, secret: &[u8], label: &[u8], seed: &[u8], len: usize) -> Vec<u8> {
    let mac = prf_mac(hash);
    let mut out = Vec::with_capacity(len + hash.output_len());
    let mut a = hmac(mac, secret, &[label, seed]);
    while out.len() < len {
        out.extend(hmac(mac, secret, &[&a, label, seed]));
        a = hmac(mac, secret, &[&a]);
    }
    out.truncate(len);
    out
}

/// The transcript hash of the handshake messages so far.
pub fn transcript_hash(hash: Hash, messages: &[u8]) -> Vec<u8> {
    match hash {
        Hash::Sha256 => Sha256::digest(messages).to_vec(),
        Hash::Sha384 => Sha384::digest(messages).to_vec(),
    }
}

/// The master secret from the premaster secret: RFC 5246 §8.1, or RFC 7627 §4 with the session hash.
pub fn master_secret(
    hash: Hash,
    premaster: &[u8],
    client_random: &[u8; 32],
    server_random: &[u8; 32],
    session_hash: Option<&[u8]>,
) -> Vec<u8> {
    match session_hash {
        Some(h) => prf(hash, premaster, b"extended master secret", h, 48),
        None => prf(
            hash,
            premaster,
            b"master secret",
            &[&client_random[..], &server_random[..]].concat(),
            48,
        ),
    }
}

/// HKDF-Expand-Label (RFC 8446 §7.1) with an empty context.
fn expand_label(hash: Hash, secret: &[u8], label: &[u8], len: usize) -> Option<Vec<u8>> {
    let mut info = Vec::with_capacity(10 + label.len());
    info.extend_from_slice(&u16::try_from(len).ok()?.to_be_bytes());
    info.push(u8::try_from(6 + label.len()).ok()?);
    info.extend_from_slice(b"tls13 ");
    info.extend_from_slice(label);
    info.push(0);
    let mut out = vec![0; len];
    match hash {
        Hash::Sha256 => Hkdf::<Sha256>::from_prk(secret)
            .ok()?
            .expand(&info, &mut out)
            .ok()?,
        Hash::Sha384 => Hkdf::<Sha384>::from_prk(secret)
            .ok()?
            .expand(&info, &mut out)
            .ok()?,
    }
    Some(out)
}

/// The next TLS 1.3 application traffic secret after a KeyUpdate (RFC 8446 §7.2).
pub fn next_traffic_secret(hash: Hash, secret: &[u8]) -> Option<Vec<u8>> {
    expand_label(hash, secret, b"traffic upd", hash.output_len())
}

/// The key material of one direction.
enum Protection {
    Aes128Gcm(Box<Aes128Gcm>),
    Aes256Gcm(Box<Aes256Gcm>),
    ChaCha(Box<ChaCha20Poly1305>),
    Cbc {
        key: Vec<u8>,
        mac: Mac,
        mac_key: Vec<u8>,
        encrypt_then_mac: bool,
    },
}

/// How the nonce is made.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Nonce {
    /// TLS 1.2 GCM: 4 fixed bytes and 8 explicit bytes at the start of the record (RFC 5288 §3).
    Explicit,
    /// TLS 1.2 ChaCha20 and TLS 1.3: the IV XOR the sequence number (RFC 7905 §2, RFC 8446 §5.3).
    Xor,
}

/// Records a capture may have lost before one that does not authenticate at its expected sequence
/// number: the next ones are tried, since a segment the capture missed takes its records' sequence
/// numbers with it. The tag (or MAC) proves the right one.
pub const LOCK_ON: u64 = 64;
/// Failed lock-ons in a row after which a direction's records are no longer tried beyond their
/// sequence number (a wrong key would cost [`LOCK_ON`] tries per record).
const LOCK_ON_BUDGET: u32 = 4;

/// The keys of one direction of a connection, with its record sequence number.
pub struct Keys {
    protection: Protection,
    iv: Vec<u8>,
    nonce: Nonce,
    tls13: bool,
    /// The next record's sequence number.
    pub seq: u64,
    /// Lock-ons that failed in a row.
    lock_on_failures: u32,
}

/// One decrypted record.
pub struct Plain {
    /// The content type: the outer one (TLS 1.2) or the inner one (TLS 1.3).
    pub content_type: u8,
    pub data: Vec<u8>,
}

fn aead(cipher: Cipher, key: &[u8]) -> Option<Protection> {
    Some(match cipher {
        Cipher::Aes128Gcm => Protection::Aes128Gcm(Box::new(Aes128Gcm::new_from_slice(key).ok()?)),
        Cipher::Aes256Gcm => Protection::Aes256Gcm(Box::new(Aes256Gcm::new_from_slice(key).ok()?)),
        Cipher::ChaCha20Poly1305 => {
            Protection::ChaCha(Box::new(ChaCha20Poly1305::new_from_slice(key).ok()?))
        }
        Cipher::AesCbc { .. } => return None,
    })
}

impl Keys {
    /// The two directions' keys of a TLS 1.2 session from its master secret (RFC 5246 §6.3):
    /// (client → server, server → client).
    pub fn tls12(
        cipher: Cipher,
        hash: Hash,
        master: &[u8],
        client_random: &[u8; 32],
        server_random: &[u8; 32],
        encrypt_then_mac: bool,
    ) -> Option<(Keys, Keys)> {
        let (mac, mac_len) = match cipher {
            Cipher::AesCbc { mac, .. } => (Some(mac), mac.output_len()),
            _ => (None, 0),
        };
        let key_len = cipher.key_len();
        let (iv_len, nonce) = match cipher {
            Cipher::Aes128Gcm | Cipher::Aes256Gcm => (4, Nonce::Explicit),
            Cipher::ChaCha20Poly1305 => (12, Nonce::Xor),
            // The CBC IV is explicit in every TLS 1.1+ record.
            Cipher::AesCbc { .. } => (0, Nonce::Explicit),
        };
        let block = prf(
            hash,
            master,
            b"key expansion",
            &[&server_random[..], &client_random[..]].concat(),
            2 * (mac_len + key_len + iv_len),
        );
        let (client_mac, rest) = block.split_at(mac_len);
        let (server_mac, rest) = rest.split_at(mac_len);
        let (client_key, rest) = rest.split_at(key_len);
        let (server_key, rest) = rest.split_at(key_len);
        let (client_iv, server_iv) = rest.split_at(iv_len);
        let side = |key: &[u8], mac_key: &[u8], iv: &[u8]| {
            let protection = match mac {
                Some(mac) => Protection::Cbc {
                    key: key.to_vec(),
                    mac,
                    mac_key: mac_key.to_vec(),
                    encrypt_then_mac,
                },
                None => aead(cipher, key)?,
            };
            Some(Keys {
                protection,
                iv: iv.to_vec(),
                nonce,
                tls13: false,
                seq: 0,
                lock_on_failures: 0,
            })
        };
        Some((
            side(client_key, client_mac, client_iv)?,
            side(server_key, server_mac, server_iv)?,
        ))
    }

    /// One direction's keys from a TLS 1.3 traffic secret (RFC 8446 §7.3).
    pub fn tls13(cipher: Cipher, hash: Hash, secret: &[u8]) -> Option<Keys> {
        let key = expand_label(hash, secret, b"key", cipher.key_len())?;
        let iv = expand_label(hash, secret, b"iv", 12)?;
        Some(Keys {
            protection: aead(cipher, &key)?,
            iv,
            nonce: Nonce::Xor,
            tls13: true,
            seq: 0,
            lock_on_failures: 0,
        })
    }

    /// As [`Keys::decrypt`]; a record that does not authenticate is tried with the next [`LOCK_ON`]
    /// sequence numbers (records lost in a gap of the capture). Gives the plaintext and how many
    /// records were skipped.
    pub fn decrypt_locking_on(
        &mut self,
        content_type: u8,
        version: u16,
        fragment: &[u8],
    ) -> Result<(Plain, u64), Error> {
        let start = self.seq;
        match self.decrypt(content_type, version, fragment) {
            Ok(p) => {
                self.lock_on_failures = 0;
                return Ok((p, 0));
            }
            Err(Error::Authentication) if self.lock_on_failures < LOCK_ON_BUDGET => {}
            Err(e) => return Err(e),
        }
        for skip in 1..=LOCK_ON {
            self.seq = start.wrapping_add(skip);
            if let Ok(p) = self.decrypt(content_type, version, fragment) {
                self.lock_on_failures = 0;
                return Ok((p, skip));
            }
        }
        self.seq = start.wrapping_add(1);
        self.lock_on_failures += 1;
        Err(Error::Authentication)
    }

    /// Decrypts the record (header fields and fragment) with the next sequence number.
    pub fn decrypt(
        &mut self,
        content_type: u8,
        version: u16,
        fragment: &[u8],
    ) -> Result<Plain, Error> {
        let seq = self.seq;
        self.seq = self.seq.wrapping_add(1);
        let header = |len: usize| -> Vec<u8> {
            let mut aad = Vec::with_capacity(13);
            if !self.tls13 {
                aad.extend_from_slice(&seq.to_be_bytes());
            }
            aad.push(content_type);
            aad.extend_from_slice(&version.to_be_bytes());
            aad.extend_from_slice(&(len as u16).to_be_bytes());
            aad
        };
        let data = match &self.protection {
            Protection::Cbc {
                key,
                mac,
                mac_key,
                encrypt_then_mac,
            } => {
                let (mac, mac_key, etm) = (*mac, mac_key.as_slice(), *encrypt_then_mac);
                cbc_decrypt(key, mac, mac_key, etm, fragment, &header)?
            }
            protection => {
                let (nonce, body) = match self.nonce {
                    Nonce::Explicit => {
                        let explicit = fragment.get(..8).ok_or(Error::Short)?;
                        ([&self.iv[..], explicit].concat(), &fragment[8..])
                    }
                    Nonce::Xor => {
                        let mut n = self.iv.clone();
                        for (b, s) in n[4..].iter_mut().zip(seq.to_be_bytes()) {
                            *b ^= s;
                        }
                        (n, fragment)
                    }
                };
                let split = body.len().checked_sub(16).ok_or(Error::Short)?;
                let (ct, tag) = body.split_at(split);
                // TLS 1.2 authenticates the plaintext length, TLS 1.3 the record header as sent.
                let aad = if self.tls13 {
                    header(fragment.len())
                } else {
                    header(ct.len())
                };
                let mut buf = ct.to_vec();
                let ok = match protection {
                    Protection::Aes128Gcm(c) => open(c.as_ref(), &nonce, &aad, &mut buf, tag),
                    Protection::Aes256Gcm(c) => open(c.as_ref(), &nonce, &aad, &mut buf, tag),
                    Protection::ChaCha(c) => open(c.as_ref(), &nonce, &aad, &mut buf, tag),
                    Protection::Cbc { .. } => false,
                };
                if !ok {
                    return Err(Error::Authentication);
                }
                buf
            }
        };
        if !self.tls13 {
            return Ok(Plain { content_type, data });
        }
        // TLSInnerPlaintext: content, the real type, zero padding (RFC 8446 §5.2).
        let mut data = data;
        while data.last() == Some(&0) {
            data.pop();
        }
        let inner = data.pop().ok_or(Error::Padding)?;
        Ok(Plain {
            content_type: inner,
            data,
        })
    }
}

fn open<A: AeadInOut>(cipher: &A, nonce: &[u8], aad: &[u8], buf: &mut [u8], tag: &[u8]) -> bool {
    let (Ok(nonce), Ok(tag)) = (
        aes_gcm::aead::Nonce::<A>::try_from(nonce),
        aes_gcm::aead::Tag::<A>::try_from(tag),
    ) else {
        return false;
    };
    cipher
        .decrypt_inout_detached(&nonce, aad, buf.into(), &tag)
        .is_ok()
}

/// AES-CBC with HMAC (TLS 1.1+: explicit IV first). `header(len)` is the MAC's sequence number,
/// type, version and length prefix.
fn cbc_decrypt(
    key: &[u8],
    mac: Mac,
    mac_key: &[u8],
    encrypt_then_mac: bool,
    fragment: &[u8],
    header: &dyn Fn(usize) -> Vec<u8>,
) -> Result<Vec<u8>, Error> {
    let mut body = fragment;
    if encrypt_then_mac {
        let split = body
            .len()
            .checked_sub(mac.output_len())
            .ok_or(Error::Short)?;
        let (ct, tag) = body.split_at(split);
        if !constant_eq(&hmac(mac, mac_key, &[&header(ct.len()), ct]), tag) {
            return Err(Error::Authentication);
        }
        body = ct;
    }
    if body.len() < 32 || !body.len().is_multiple_of(16) {
        return Err(Error::Short);
    }
    let (iv, ct) = body.split_at(16);
    let mut buf = ct.to_vec();
    let ok = match key.len() {
        16 => cbc_blocks::<Aes128>(key, iv, &mut buf),
        _ => cbc_blocks::<Aes256>(key, iv, &mut buf),
    };
    if !ok {
        return Err(Error::Short);
    }
    let pad = usize::from(*buf.last().ok_or(Error::Padding)?);
    let unpadded = buf.len().checked_sub(pad + 1).ok_or(Error::Padding)?;
    if buf[unpadded..].iter().any(|&b| usize::from(b) != pad) {
        return Err(Error::Padding);
    }
    buf.truncate(unpadded);
    if !encrypt_then_mac {
        let split = buf
            .len()
            .checked_sub(mac.output_len())
            .ok_or(Error::Padding)?;
        let tag = buf.split_off(split);
        if !constant_eq(&hmac(mac, mac_key, &[&header(buf.len()), &buf]), &tag) {
            return Err(Error::Authentication);
        }
    }
    Ok(buf)
}

fn cbc_blocks<C>(key: &[u8], iv: &[u8], buf: &mut [u8]) -> bool
where
    cbc::Decryptor<C>: KeyIvInit + BlockModeDecrypt,
    C: cbc::cipher::BlockCipherDecrypt,
{
    let Ok(dec) = cbc::Decryptor::<C>::new_from_slices(key, iv) else {
        return false;
    };
    dec.decrypt_padded::<cbc::cipher::block_padding::NoPadding>(buf)
        .is_ok()
}

/// Equality that does not stop at the first difference (the MAC of a record).
fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
            .collect()
    }

    /// The TLS 1.2 PRF test vector for SHA-256 published on the IETF TLS list (secret, "test label").
    #[test]
    fn prf_sha256_vector() {
        let secret = hex("9bbe436ba940f017b17652849a71db35");
        let seed = hex("a0ba9f936cda311827a6f796ffd5198c");
        let out = prf(Hash::Sha256, &secret, b"test label", &seed, 100);
        assert_eq!(
            out[..16],
            hex("e3f229ba727be17b8d122620557cd453")[..],
            "{out:02x?}"
        );
    }

    /// RFC 8448 §3 (simple 1-RTT handshake): the server handshake traffic secret's key and IV.
    #[test]
    fn tls13_traffic_key_rfc8448() {
        let secret = hex("b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38");
        let key = expand_label(Hash::Sha256, &secret, b"key", 16).expect("key");
        let iv = expand_label(Hash::Sha256, &secret, b"iv", 12).expect("iv");
        assert_eq!(key, hex("3fce516009c21727d0f2e4e86ee403bc"));
        assert_eq!(iv, hex("5d313eb2671276ee13000b30"));
    }

    /// A record sealed at sequence number 5 opens after 0..4 were lost; one sealed with another key
    /// does not, and after the budget of failed lock-ons no more are tried.
    #[test]
    fn lock_on_finds_the_sequence_number_after_lost_records() {
        let secret = [9u8; 32];
        let seal = |seq: u64, key: &[u8; 32]| {
            let k = Keys::tls13(Cipher::Aes128Gcm, Hash::Sha256, key).expect("keys");
            let mut nonce = k.iv.clone();
            for (b, s) in nonce[4..].iter_mut().zip(seq.to_be_bytes()) {
                *b ^= s;
            }
            let mut buf = b"INVITE\x17".to_vec();
            let aad = [23, 3, 3, 0, (buf.len() + 16) as u8];
            let Protection::Aes128Gcm(c) = &k.protection else {
                panic!("GCM")
            };
            let n = aes_gcm::aead::Nonce::<Aes128Gcm>::try_from(&nonce[..]).expect("nonce");
            let tag = c
                .encrypt_inout_detached(&n, &aad, buf.as_mut_slice().into())
                .expect("seal");
            buf.extend_from_slice(&tag);
            buf
        };
        let mut keys = Keys::tls13(Cipher::Aes128Gcm, Hash::Sha256, &secret).expect("keys");
        let (plain, skipped) = keys
            .decrypt_locking_on(23, 0x0303, &seal(5, &secret))
            .expect("locked on");
        assert_eq!(
            (plain.content_type, &plain.data[..], skipped),
            (0x17, &b"INVITE"[..], 5)
        );
        assert_eq!(keys.seq, 6);
        for _ in 0..LOCK_ON_BUDGET {
            assert!(keys
                .decrypt_locking_on(23, 0x0303, &seal(7, &[1; 32]))
                .is_err());
        }
        assert_eq!(keys.seq, 6 + u64::from(LOCK_ON_BUDGET));
        // Out of budget: record 20 is not searched for.
        assert!(keys
            .decrypt_locking_on(23, 0x0303, &seal(20, &secret))
            .is_err());
    }

    #[test]
    fn damaged_records_are_errors_not_panics() {
        let secret = [7u8; 32];
        let mut keys = Keys::tls13(Cipher::Aes128Gcm, Hash::Sha256, &secret).expect("keys");
        assert_eq!(
            keys.decrypt(23, 0x0303, &[1, 2, 3]).err(),
            Some(Error::Short)
        );
        assert_eq!(
            keys.decrypt(23, 0x0303, &[0; 40]).err(),
            Some(Error::Authentication)
        );
        let (mut c, _) = Keys::tls12(
            Cipher::AesCbc {
                key_len: 16,
                mac: Mac::Sha1,
            },
            Hash::Sha256,
            &[1; 48],
            &[2; 32],
            &[3; 32],
            false,
        )
        .expect("keys");
        for len in [0, 15, 16, 31, 32, 48, 64] {
            assert!(c.decrypt(23, 0x0303, &vec![0; len]).is_err());
        }
    }
}
