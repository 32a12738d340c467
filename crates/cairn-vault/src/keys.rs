//! The vault's keys and its `config` object.
//!
//! - `keys/<16 hex>`: the vault's random [`DataKey`] wrapped by the operator's
//!   [`MasterKey`]. Normally exactly one; during a master-key rotation briefly two (the new
//!   one is written and verified before the old one is deleted, so there is never a moment
//!   without a readable key).
//! - `config`: format version, vault id and chunker parameters, sealed with a key derived
//!   from the data key. It is written after the key object, so a vault exists once its
//!   `config` does.
//!
//! From the data key, purpose keys are derived: chunk sealing, metadata sealing (trees'
//! containers, indexes, manifests…) and the keyed-BLAKE3 chunk-id key.

use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::backend::Backend;
use crate::crypto::{DataKey, MasterKey, SubKey};
use crate::error::{Result, VaultError};

/// Current on-vault format version.
pub const FORMAT_VERSION: u32 = 1;
/// Name of the config object.
pub const CONFIG_OBJECT: &str = "config";
/// Prefix of wrapped key objects.
pub const KEYS_PREFIX: &str = "keys";

const CONFIG_SEAL: &str = "cairn 2026 vault config seal v1";
const META_SEAL: &str = "cairn 2026 vault metadata seal v1";
const CHUNK_SEAL: &str = "cairn 2026 vault chunk seal v1";
const CHUNK_ID_KEY: &str = "cairn 2026 vault chunk id key v1";

/// FastCDC parameters; part of the format (cut points must not change for a vault).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkerParams {
    /// Minimum chunk size in bytes.
    pub min: u32,
    /// Average chunk size in bytes.
    pub avg: u32,
    /// Maximum chunk size in bytes.
    pub max: u32,
    /// Seed of the gear table, random per vault (keyed chunking: cut points reveal less).
    #[serde(default)]
    pub seed: u64,
}

impl Default for ChunkerParams {
    fn default() -> Self {
        Self {
            min: 256 * 1024,
            avg: 1024 * 1024,
            max: 4 * 1024 * 1024,
            seed: 0,
        }
    }
}

/// The decrypted `config` object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VaultConfig {
    /// On-vault format version.
    pub format: u32,
    /// Random id of this vault (32 hex digits).
    pub id: String,
    /// When the vault was created.
    pub created: DateTime<Utc>,
    /// Chunker parameters (FastCDC v2020, `fastcdc =5.0.0`).
    pub chunker: ChunkerParams,
    /// Target pack size in bytes.
    pub pack_size: u64,
    /// zstd level used for compressible chunks.
    pub zstd_level: i32,
}

impl VaultConfig {
    /// A config with the default parameters and a fresh id.
    #[must_use]
    pub fn new_default() -> Self {
        Self {
            format: FORMAT_VERSION,
            id: random_hex(16),
            created: Utc::now(),
            chunker: ChunkerParams {
                seed: rand::random(),
                ..ChunkerParams::default()
            },
            pack_size: 16 * 1024 * 1024,
            zstd_level: 3,
        }
    }
}

/// The vault's keys, derived from its data key.
#[derive(Clone)]
pub struct VaultKeys {
    data: DataKey,
    /// Seals chunk and tree blobs inside packs.
    pub chunk: SubKey,
    /// Seals metadata objects (config, trailers, indexes, manifests, content keys, marks).
    pub meta: SubKey,
    /// Keyed-BLAKE3 key of chunk ids.
    pub id_key: [u8; 32],
}

impl std::fmt::Debug for VaultKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("VaultKeys(<redacted>)")
    }
}

impl VaultKeys {
    /// Derives the purpose keys from a data key.
    #[must_use]
    pub fn new(data: DataKey) -> Self {
        Self {
            chunk: data.derive(CHUNK_SEAL),
            meta: data.derive(META_SEAL),
            id_key: data.derive_raw(CHUNK_ID_KEY),
            data,
        }
    }

    /// The data key (for rewrapping).
    #[must_use]
    pub fn data_key(&self) -> &DataKey {
        &self.data
    }
}

/// A random lowercase-hex string of `bytes` random bytes.
#[must_use]
pub fn random_hex(bytes: usize) -> String {
    use rand::RngCore;
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    hex::encode(buf)
}

/// Creates a vault: a fresh data key wrapped under `master`, then the config.
///
/// # Errors
/// [`VaultError::AlreadyExists`] when the location already holds a vault; store failures.
pub async fn init(
    backend: &Backend,
    master: &MasterKey,
    config: &VaultConfig,
) -> Result<VaultKeys> {
    if backend.head(CONFIG_OBJECT).await?.is_some() {
        return Err(VaultError::AlreadyExists(format!(
            "{} (a vault is already initialised at {})",
            CONFIG_OBJECT,
            backend.description()
        )));
    }
    let data = DataKey::generate();
    let key_name = format!("{KEYS_PREFIX}/{}", random_hex(8));
    backend
        .put_new(&key_name, Bytes::from(master.wrap(&data)))
        .await?;
    let keys = VaultKeys::new(data);
    let plain = serde_json::to_vec(config).map_err(|e| VaultError::format(CONFIG_OBJECT, e))?;
    let sealed = keys
        .data
        .derive(CONFIG_SEAL)
        .seal(CONFIG_OBJECT.as_bytes(), &plain);
    backend.put_new(CONFIG_OBJECT, Bytes::from(sealed)).await?;
    Ok(keys)
}

/// Opens a vault's keys and config with `master`.
///
/// # Errors
/// [`VaultError::NotAVault`] without a config; [`VaultError::Integrity`] naming the key
/// objects when none opens with this master key, or naming `config` when it is damaged.
pub async fn open(backend: &Backend, master: &MasterKey) -> Result<(VaultKeys, VaultConfig)> {
    let sealed_config = match backend.get(CONFIG_OBJECT).await {
        Ok(b) => b,
        Err(VaultError::NotFound(_)) => {
            return Err(VaultError::NotAVault(backend.description().to_owned()));
        }
        Err(e) => return Err(e),
    };
    let (data, _) = unwrap_any(backend, master).await?;
    let keys = VaultKeys::new(data);
    let plain = keys
        .data
        .derive(CONFIG_SEAL)
        .open(CONFIG_OBJECT.as_bytes(), &sealed_config)
        .map_err(|e| e.in_object(CONFIG_OBJECT))?;
    let config: VaultConfig =
        serde_json::from_slice(&plain).map_err(|e| VaultError::format(CONFIG_OBJECT, e))?;
    if config.format != FORMAT_VERSION {
        return Err(VaultError::format(
            CONFIG_OBJECT,
            format!("unsupported format version {}", config.format),
        ));
    }
    Ok((keys, config))
}

/// Finds the key objects `master` opens; returns the data key and their names.
async fn unwrap_any(backend: &Backend, master: &MasterKey) -> Result<(DataKey, Vec<String>)> {
    let objects = backend.list(KEYS_PREFIX).await?;
    let mut found: Option<DataKey> = None;
    let mut names = Vec::new();
    for object in &objects {
        let wrapped = backend.get(&object.name).await?;
        if let Ok(key) = master.unwrap(&wrapped) {
            if found.as_ref().is_some_and(|k| k != &key) {
                return Err(VaultError::format(
                    &object.name,
                    "wraps a different data key than another key object",
                ));
            }
            found = Some(key);
            names.push(object.name.clone());
        }
    }
    match found {
        Some(key) => Ok((key, names)),
        None => Err(VaultError::Integrity {
            what: format!(
                "{} (no key object opens with this master key: wrong master key, or the key objects are damaged)",
                objects
                    .iter()
                    .map(|o| o.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }),
    }
}

/// Rewraps the vault's data key under `new`: writes and verifies the new key object,
/// then deletes the key objects `old` opens. No data object changes.
///
/// # Errors
/// When `old` opens no key object, or a store operation fails (in which case the old key
/// objects are still in place).
pub async fn rotate(backend: &Backend, old: &MasterKey, new: &MasterKey) -> Result<String> {
    let (data, old_names) = unwrap_any(backend, old).await?;
    let new_name = format!("{KEYS_PREFIX}/{}", random_hex(8));
    backend
        .put_new(&new_name, Bytes::from(new.wrap(&data)))
        .await?;
    let written = backend.get(&new_name).await?;
    if new.unwrap(&written)? != data {
        return Err(VaultError::Integrity {
            what: new_name.clone(),
        });
    }
    for name in old_names.iter().filter(|n| **n != new_name) {
        backend.delete(name).await?;
    }
    Ok(new_name)
}
