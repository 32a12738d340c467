//! Keys and authenticated encryption.
//!
//! Key hierarchy: the operator's [`MasterKey`] wraps one random [`DataKey`] per account.
//! Purpose-specific [`SubKey`]s are derived from the data key with BLAKE3's key
//! derivation (distinct context strings), so a key used to seal manifests is never the
//! key used to compute chunk ids. Wrapping a data key again under a new master key
//! ("rotation") changes one small object and no data.
//!
//! Sealed format (`seal`/`open`): `version (1) ‖ nonce (12) ‖ AES-256-GCM ciphertext+tag`.
//! The caller supplies associated data that binds the ciphertext to its role and name,
//! so an object swapped for another valid one of the same account still fails to open.

use std::ops::Range;

use aes_gcm::aead::{Aead, AeadInOut, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce, Tag};
use rand::RngCore;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::error::{Result, VaultError};

/// Format version byte of sealed blobs.
const SEAL_VERSION: u8 = 1;
/// AES-GCM nonce length.
pub const NONCE_LEN: usize = 12;
/// AES-GCM tag length.
pub const TAG_LEN: usize = 16;
/// Bytes a sealed blob adds to its plaintext.
pub const SEAL_OVERHEAD: usize = 1 + NONCE_LEN + TAG_LEN;
/// Bytes of a sealed blob before its ciphertext (version and nonce): the room
/// [`SubKey::seal_in_place`] expects in front of the plaintext.
pub const SEAL_HEADER: usize = 1 + NONCE_LEN;

const WRAP_CONTEXT: &str = "cairn 2026 master key wraps account data key v1";
const WRAP_AAD: &[u8] = b"cairn/data-key/v1";

/// The [`MasterKey::derive`] context of the key sealing backup tasks' OAuth tokens in the
/// meta store (`tasks.token_ciphertext`). The portal seals, the backup runs open: both
/// with [`task_token_aad`] as the associated data, so a token cannot be moved to another
/// task. The plaintext is the connector's `TokenSet` as JSON.
pub const TASK_TOKENS_CONTEXT: &str = "cairn 2026 backup task oauth tokens v1";

/// The associated data binding a sealed OAuth token to its task.
#[must_use]
pub fn task_token_aad(task: cairn_domain::ids::TaskId) -> Vec<u8> {
    format!("cairn/task-token/v1/{task}").into_bytes()
}

/// 32 bytes of key material, wiped from memory on drop and never printed.
#[derive(Clone, Zeroize, ZeroizeOnDrop, PartialEq, Eq)]
struct KeyBytes([u8; 32]);

impl KeyBytes {
    fn random() -> Self {
        let mut k = [0u8; 32];
        rand::rng().fill_bytes(&mut k);
        Self(k)
    }
}

/// The operator's master key. It only ever wraps and unwraps account data keys.
#[derive(Clone, PartialEq, Eq)]
pub struct MasterKey(KeyBytes);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

impl MasterKey {
    /// A fresh random master key.
    #[must_use]
    pub fn generate() -> Self {
        Self(KeyBytes::random())
    }

    /// Parses the key-file form: 64 hex digits, surrounding whitespace ignored.
    ///
    /// # Errors
    /// [`VaultError::InvalidKey`] when the text is not exactly 32 hex-encoded bytes.
    pub fn from_hex(text: &str) -> Result<Self> {
        let mut k = [0u8; 32];
        hex::decode_to_slice(text.trim(), &mut k).map_err(|_| {
            VaultError::InvalidKey("a master key is 64 hexadecimal digits".to_owned())
        })?;
        Ok(Self(KeyBytes(k)))
    }

    /// The key-file form (64 hex digits).
    #[must_use]
    pub fn to_hex(&self) -> String {
        hex::encode(self.0.0)
    }

    /// Derives an installation-wide purpose key from the master key (BLAKE3 `derive_key`
    /// rules for `context`), e.g. [`TASK_TOKENS_CONTEXT`] for the OAuth tokens the meta
    /// store keeps encrypted.
    #[must_use]
    pub fn derive(&self, context: &str) -> SubKey {
        SubKey::from_bytes(blake3::derive_key(context, &self.0.0))
    }

    fn wrapping_key(&self) -> SubKey {
        SubKey::from_bytes(blake3::derive_key(WRAP_CONTEXT, &self.0.0))
    }

    /// Seals `data_key` under this master key; the result is safe to store in the vault.
    #[must_use]
    pub fn wrap(&self, data_key: &DataKey) -> Vec<u8> {
        self.wrapping_key().seal(WRAP_AAD, &data_key.0.0)
    }

    /// Recovers a data key wrapped by [`MasterKey::wrap`].
    ///
    /// # Errors
    /// [`VaultError::Integrity`] when the blob was not wrapped by this master key or was
    /// modified; [`VaultError::InvalidKey`] when it does not hold a 32-byte key.
    pub fn unwrap(&self, wrapped: &[u8]) -> Result<DataKey> {
        let mut plain =
            self.wrapping_key()
                .open(WRAP_AAD, wrapped)
                .map_err(|_| VaultError::Integrity {
                    what: "account data key (wrong master key?)".to_owned(),
                })?;
        let key: [u8; 32] = plain
            .as_slice()
            .try_into()
            .map_err(|_| VaultError::InvalidKey("wrapped data key has the wrong length".into()))?;
        plain.zeroize();
        Ok(DataKey(KeyBytes(key)))
    }
}

/// An account's data key. Everything in the account's vault descends from it.
#[derive(Clone, PartialEq, Eq)]
pub struct DataKey(KeyBytes);

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(<redacted>)")
    }
}

impl DataKey {
    /// A fresh random data key for a new account vault.
    #[must_use]
    pub fn generate() -> Self {
        Self(KeyBytes::random())
    }

    /// Derives the key for one purpose. `context` must be a fixed, globally unique,
    /// application-specific string (BLAKE3 `derive_key` rules), e.g.
    /// `"cairn 2026 manifest seal v1"`.
    #[must_use]
    pub fn derive(&self, context: &str) -> SubKey {
        SubKey::from_bytes(blake3::derive_key(context, &self.0.0))
    }

    /// Derives purpose key material as raw bytes (e.g. a keyed-BLAKE3 key for chunk ids).
    #[must_use]
    pub fn derive_raw(&self, context: &str) -> [u8; 32] {
        blake3::derive_key(context, &self.0.0)
    }
}

/// A purpose-specific AES-256-GCM key with its expanded key schedule cached.
#[derive(Clone)]
pub struct SubKey {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for SubKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SubKey(<redacted>)")
    }
}

impl SubKey {
    /// Builds a sealing key from raw bytes.
    #[must_use]
    pub fn from_bytes(mut bytes: [u8; 32]) -> Self {
        let cipher = Aes256Gcm::new(&bytes.into());
        bytes.zeroize();
        Self { cipher }
    }

    /// Encrypts and authenticates `plaintext`, binding it to `aad`.
    #[must_use]
    pub fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        self.seal_with_nonce(&nonce, aad, plaintext)
    }

    /// Like [`SubKey::seal`] with a caller-chosen nonce. The caller must guarantee the
    /// nonce is never reused with this key (e.g. a per-object random prefix plus a
    /// block counter).
    #[must_use]
    pub fn seal_with_nonce(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        plaintext: &[u8],
    ) -> Vec<u8> {
        let mut out = Vec::with_capacity(plaintext.len() + SEAL_OVERHEAD);
        out.push(SEAL_VERSION);
        out.extend_from_slice(nonce);
        // Encryption with a valid key and in-range lengths cannot fail; an empty result
        // would be caught on open, never silently accepted.
        let ct = self
            .cipher
            .encrypt(
                &Nonce::from(*nonce),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .unwrap_or_default();
        out.extend_from_slice(&ct);
        out
    }

    /// [`SubKey::seal`] without copying: `buf` holds [`SEAL_HEADER`] bytes of room (any
    /// content) followed by the plaintext; on return it holds the sealed blob, in the same
    /// format `seal` produces. Hot paths (spill frames, segment blocks) reuse one buffer.
    pub fn seal_in_place(&self, aad: &[u8], buf: &mut Vec<u8>) {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        if buf.len() < SEAL_HEADER {
            buf.resize(SEAL_HEADER, 0);
        }
        buf[0] = SEAL_VERSION;
        buf[1..SEAL_HEADER].copy_from_slice(&nonce);
        // As in `seal_with_nonce`: encryption with in-range lengths cannot fail; a zero tag
        // would be caught on open, never silently accepted.
        let tag = self
            .cipher
            .encrypt_inout_detached(&Nonce::from(nonce), aad, (&mut buf[SEAL_HEADER..]).into())
            .unwrap_or_default();
        buf.extend_from_slice(&tag);
    }

    /// [`SubKey::open`] without copying: decrypts the sealed blob in `buf` in place and
    /// returns where its plaintext now lies inside `buf`.
    ///
    /// # Errors
    /// As [`SubKey::open`]; `buf` is garbage afterwards.
    pub fn open_in_place(&self, aad: &[u8], buf: &mut [u8]) -> Result<Range<usize>> {
        let integrity = || VaultError::Integrity {
            what: "sealed blob".to_owned(),
        };
        if buf.len() < SEAL_OVERHEAD || buf[0] != SEAL_VERSION {
            return Err(integrity());
        }
        let end = buf.len() - TAG_LEN;
        let nonce = Nonce::try_from(&buf[1..SEAL_HEADER]).map_err(|_| integrity())?;
        let tag = Tag::try_from(&buf[end..]).map_err(|_| integrity())?;
        self.cipher
            .decrypt_inout_detached(&nonce, aad, (&mut buf[SEAL_HEADER..end]).into(), &tag)
            .map_err(|_| integrity())?;
        Ok(SEAL_HEADER..end)
    }

    /// Verifies and decrypts a blob made by [`SubKey::seal`] with the same `aad`.
    ///
    /// # Errors
    /// [`VaultError::Integrity`] on any mismatch: wrong key, wrong aad, modified or
    /// truncated data, unknown version.
    pub fn open(&self, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>> {
        let integrity = || VaultError::Integrity {
            what: "sealed blob".to_owned(),
        };
        if sealed.len() < SEAL_OVERHEAD || sealed[0] != SEAL_VERSION {
            return Err(integrity());
        }
        let (nonce, ct) = sealed[1..].split_at(NONCE_LEN);
        let nonce = Nonce::try_from(nonce).map_err(|_| integrity())?;
        self.cipher
            .decrypt(&nonce, Payload { msg: ct, aad })
            .map_err(|_| integrity())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_round_trip_and_aad_binding() {
        let key = DataKey::generate().derive("cairn test seal v1");
        let sealed = key.seal(b"manifest/abc", b"hello vault");
        assert_eq!(sealed.len(), 11 + SEAL_OVERHEAD);
        assert_eq!(key.open(b"manifest/abc", &sealed).unwrap(), b"hello vault");
        assert!(key.open(b"manifest/abd", &sealed).is_err(), "aad must bind");
    }

    #[test]
    fn in_place_sealing_is_the_same_format() {
        let key = DataKey::generate().derive("cairn test seal v1");
        let mut buf = vec![0xAA; SEAL_HEADER];
        buf.extend_from_slice(b"frame of rows");
        key.seal_in_place(b"aad", &mut buf);
        assert_eq!(buf.len(), 13 + SEAL_OVERHEAD);
        assert_eq!(key.open(b"aad", &buf).unwrap(), b"frame of rows");
        let sealed = key.seal(b"aad", b"frame of rows");
        let mut copy = sealed.clone();
        let range = key.open_in_place(b"aad", &mut copy).unwrap();
        assert_eq!(&copy[range], b"frame of rows");
        let mut bad = sealed;
        bad[SEAL_HEADER] ^= 1;
        assert!(key.open_in_place(b"aad", &mut bad).is_err());
        assert!(
            key.open_in_place(b"aae", &mut buf).is_err(),
            "aad must bind"
        );
    }

    #[test]
    fn any_flipped_byte_fails_to_open() {
        let key = DataKey::generate().derive("cairn test seal v1");
        let sealed = key.seal(b"x", b"some plaintext of a few bytes");
        for i in 0..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 0x01;
            assert!(key.open(b"x", &bad).is_err(), "flip at {i} went unnoticed");
        }
        assert!(key.open(b"x", &sealed[..sealed.len() - 1]).is_err());
    }

    #[test]
    fn derived_keys_differ_by_context() {
        let dk = DataKey::generate();
        let a = dk.derive("cairn test a v1");
        let b = dk.derive("cairn test b v1");
        let sealed = a.seal(b"", b"secret");
        assert!(b.open(b"", &sealed).is_err());
        assert_ne!(
            dk.derive_raw("cairn test a v1"),
            dk.derive_raw("cairn test b v1")
        );
    }

    #[test]
    fn wrap_unwrap_and_rotation() {
        let old = MasterKey::generate();
        let new = MasterKey::generate();
        let dk = DataKey::generate();
        let wrapped = old.wrap(&dk);
        assert_eq!(old.unwrap(&wrapped).unwrap(), dk);
        assert!(new.unwrap(&wrapped).is_err());
        let rewrapped = new.wrap(&old.unwrap(&wrapped).unwrap());
        assert_eq!(new.unwrap(&rewrapped).unwrap(), dk);
    }

    #[test]
    fn master_key_hex_round_trip_and_errors() {
        let mk = MasterKey::generate();
        let text = format!("  {}\n", mk.to_hex());
        assert_eq!(MasterKey::from_hex(&text).unwrap(), mk);
        assert!(MasterKey::from_hex("abcd").is_err());
        assert!(MasterKey::from_hex(&"zz".repeat(32)).is_err());
        assert_eq!(format!("{mk:?}"), "MasterKey(<redacted>)");
    }
}
