//! Pack files: many sealed blobs in one object, with a sealed trailer listing them.
//!
//! Layout of `packs/<2 hex>/<32 hex>`:
//! `sealed blob 1 ‖ … ‖ sealed blob n ‖ sealed trailer ‖ trailer length (u32 LE)`.
//!
//! Each blob is sealed on its own (AES-256-GCM, random nonce, associated data = kind byte
//! ‖ chunk id), so a blob cannot be swapped for another and repacking copies sealed
//! bytes without re-encrypting. The plaintext of a blob is the chunk, zstd-compressed
//! when that pays (the trailer says which). The trailer is zstd-compressed JSON of
//! [`BlobEntry`]s sealed with the metadata key and bound to the pack's name.

use std::cell::RefCell;

use serde::{Deserialize, Serialize};

use crate::chunk_id::ChunkId;
use crate::crypto::SubKey;
use crate::error::{Result, VaultError};
use crate::keys::{VaultKeys, random_hex};

/// Prefix of pack objects.
pub const PACKS_PREFIX: &str = "packs";

/// What a blob holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BlobKind {
    /// File content or any opaque bytes.
    Data,
    /// A directory tree (JSON).
    Tree,
}

impl BlobKind {
    fn byte(self) -> u8 {
        match self {
            Self::Data => 0,
            Self::Tree => 1,
        }
    }
}

/// One blob inside a pack, as listed in the trailer and the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlobEntry {
    /// Chunk id (keyed BLAKE3 of the uncompressed plaintext).
    pub id: ChunkId,
    /// What the blob holds.
    pub kind: BlobKind,
    /// Byte offset of the sealed blob in the pack.
    pub offset: u32,
    /// Length of the sealed blob.
    pub len: u32,
    /// Length of the plaintext chunk.
    pub raw_len: u32,
    /// Whether the sealed plaintext is zstd-compressed.
    pub compressed: bool,
}

/// The object name of pack `id`.
#[must_use]
pub fn pack_object(id: &str) -> String {
    format!("{PACKS_PREFIX}/{}/{id}", &id[..2.min(id.len())])
}

/// The pack id of an object name (`packs/ab/ab12…` → `ab12…`).
#[must_use]
pub fn pack_id_of(object: &str) -> Option<&str> {
    let id = object
        .strip_prefix(PACKS_PREFIX)?
        .strip_prefix('/')?
        .split('/')
        .nth(1)?;
    (id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit())).then_some(id)
}

fn blob_aad(kind: BlobKind, id: &ChunkId) -> [u8; 33] {
    let mut aad = [0u8; 33];
    aad[0] = kind.byte();
    aad[1..].copy_from_slice(id.as_bytes());
    aad
}

fn trailer_aad(pack_id: &str) -> Vec<u8> {
    format!("pack-trailer/{pack_id}").into_bytes()
}

thread_local! {
    static COMPRESSOR: RefCell<Option<(i32, zstd::bulk::Compressor<'static>)>> = const { RefCell::new(None) };
}

/// Size of the sample compressed to decide whether a chunk is compressible.
const PROBE: usize = 64 * 1024;

fn compress(level: i32, data: &[u8]) -> Option<Vec<u8>> {
    COMPRESSOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.as_ref().is_none_or(|(l, _)| *l != level) {
            *slot = Some((level, zstd::bulk::Compressor::new(level).ok()?));
        }
        let (_, c) = slot.as_mut()?;
        c.compress(data).ok()
    })
}

/// Compresses `raw` when it pays: a 64 KiB probe at level 1 must shrink below 95 %, and
/// the whole chunk must come out smaller. Returns the bytes to seal and whether they are
/// compressed.
#[must_use]
pub fn maybe_compress(level: i32, raw: &[u8]) -> (Option<Vec<u8>>, bool) {
    if raw.len() > PROBE * 2 {
        let probe = &raw[..PROBE];
        match compress(1, probe) {
            Some(c) if c.len() * 100 < probe.len() * 95 => {}
            _ => return (None, false),
        }
    }
    match compress(level, raw) {
        Some(c) if c.len() < raw.len() => (Some(c), true),
        _ => (None, false),
    }
}

/// Seals one chunk for a pack; returns the sealed bytes and whether they are compressed.
#[must_use]
pub fn seal_blob(
    keys: &VaultKeys,
    level: i32,
    kind: BlobKind,
    id: &ChunkId,
    raw: &[u8],
) -> (Vec<u8>, bool) {
    let (compressed, is_compressed) = maybe_compress(level, raw);
    let plain = compressed.as_deref().unwrap_or(raw);
    (keys.chunk.seal(&blob_aad(kind, id), plain), is_compressed)
}

/// Opens a sealed blob and returns the chunk plaintext, verifying its id.
///
/// # Errors
/// [`VaultError::Integrity`] naming `object` when decryption, decompression or the id
/// check fails.
pub fn open_blob(
    keys: &VaultKeys,
    entry: &BlobEntry,
    sealed: &[u8],
    object: &str,
) -> Result<Vec<u8>> {
    let bad = || VaultError::Integrity {
        what: format!("{object} (blob {} at offset {})", entry.id, entry.offset),
    };
    let plain = keys
        .chunk
        .open(&blob_aad(entry.kind, &entry.id), sealed)
        .map_err(|_| bad())?;
    let raw = if entry.compressed {
        zstd::bulk::decompress(&plain, entry.raw_len as usize).map_err(|_| bad())?
    } else {
        plain
    };
    if raw.len() != entry.raw_len as usize || ChunkId::of(&keys.id_key, &raw) != entry.id {
        return Err(bad());
    }
    Ok(raw)
}

/// Accumulates sealed blobs into one pack.
#[derive(Debug)]
pub struct PackBuilder {
    id: String,
    buf: Vec<u8>,
    entries: Vec<BlobEntry>,
}

impl PackBuilder {
    /// An empty pack with a fresh random id.
    #[must_use]
    pub fn new(capacity: usize) -> Self {
        Self {
            id: random_hex(16),
            buf: Vec::with_capacity(capacity),
            entries: Vec::new(),
        }
    }

    /// Bytes of blobs so far.
    #[must_use]
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether no blob was added.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Appends a sealed blob.
    pub fn push(
        &mut self,
        id: ChunkId,
        kind: BlobKind,
        raw_len: u32,
        compressed: bool,
        sealed: &[u8],
    ) {
        self.entries.push(BlobEntry {
            id,
            kind,
            offset: self.buf.len() as u32,
            len: sealed.len() as u32,
            raw_len,
            compressed,
        });
        self.buf.extend_from_slice(sealed);
    }

    /// Appends the trailer; returns the pack's id, bytes and entries.
    ///
    /// # Errors
    /// [`VaultError::Format`] if the trailer cannot be encoded.
    pub fn finish(mut self, meta: &SubKey) -> Result<FinishedPack> {
        let trailer = seal_json_compressed(meta, &trailer_aad(&self.id), &self.entries, &self.id)?;
        self.buf.extend_from_slice(&trailer);
        self.buf
            .extend_from_slice(&(trailer.len() as u32).to_le_bytes());
        Ok(FinishedPack {
            id: self.id,
            bytes: self.buf,
            entries: self.entries,
        })
    }
}

/// A complete pack ready to upload.
#[derive(Debug)]
pub struct FinishedPack {
    /// Pack id (32 hex).
    pub id: String,
    /// The whole object.
    pub bytes: Vec<u8>,
    /// Its blobs.
    pub entries: Vec<BlobEntry>,
}

/// Parses the trailer given the last bytes of a pack (at least the trailer and its
/// length) and the pack's total size.
///
/// # Errors
/// [`VaultError::Integrity`] / [`VaultError::Format`] naming the pack object.
pub fn parse_trailer(
    meta: &SubKey,
    pack_id: &str,
    tail: &[u8],
    pack_size: u64,
) -> Result<Vec<BlobEntry>> {
    let object = pack_object(pack_id);
    if tail.len() < 4 {
        return Err(VaultError::format(&object, "too short for a trailer"));
    }
    let (rest, len_bytes) = tail.split_at(tail.len() - 4);
    let mut len4 = [0u8; 4];
    len4.copy_from_slice(len_bytes);
    let len = u32::from_le_bytes(len4) as usize;
    if len > rest.len() {
        return Err(VaultError::Integrity {
            what: format!("{object} (trailer length {len} exceeds the pack)"),
        });
    }
    let sealed = &rest[rest.len() - len..];
    let entries: Vec<BlobEntry> =
        open_json_compressed(meta, &trailer_aad(pack_id), sealed, &object)?;
    let body = pack_size - 4 - len as u64;
    let mut expected = 0u64;
    for e in &entries {
        if u64::from(e.offset) != expected || u64::from(e.offset) + u64::from(e.len) > body {
            return Err(VaultError::format(
                &object,
                format!("trailer entry {} out of place", e.id),
            ));
        }
        expected += u64::from(e.len);
    }
    if expected != body {
        return Err(VaultError::format(
            &object,
            "trailer does not cover the pack body",
        ));
    }
    Ok(entries)
}

/// How many bytes of a pack's end hold the trailer and its length, from the last 4 bytes.
#[must_use]
pub fn trailer_span(last4: &[u8; 4]) -> u64 {
    u64::from(u32::from_le_bytes(*last4)) + 4
}

/// Seals a value as zstd-compressed JSON.
///
/// # Errors
/// [`VaultError::Format`] naming `object` when the value cannot be encoded.
pub fn seal_json_compressed<T: Serialize>(
    meta: &SubKey,
    aad: &[u8],
    value: &T,
    object: &str,
) -> Result<Vec<u8>> {
    let json = serde_json::to_vec(value).map_err(|e| VaultError::format(object, e))?;
    let packed = zstd::bulk::compress(&json, 3).map_err(|e| VaultError::format(object, e))?;
    Ok(meta.seal(aad, &packed))
}

/// Opens a value sealed by [`seal_json_compressed`].
///
/// # Errors
/// [`VaultError::Integrity`] or [`VaultError::Format`] naming `object`.
pub fn open_json_compressed<T: serde::de::DeserializeOwned>(
    meta: &SubKey,
    aad: &[u8],
    sealed: &[u8],
    object: &str,
) -> Result<T> {
    let packed = meta.open(aad, sealed).map_err(|e| e.in_object(object))?;
    let mut decoder = zstd::stream::read::Decoder::new(packed.as_slice())
        .map_err(|e| VaultError::format(object, e))?;
    let mut json = Vec::new();
    std::io::Read::read_to_end(&mut decoder, &mut json)
        .map_err(|e| VaultError::format(object, e))?;
    serde_json::from_slice(&json).map_err(|e| VaultError::format(object, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::DataKey;

    #[test]
    fn pack_round_trip_and_tamper_detection() {
        let keys = VaultKeys::new(DataKey::generate());
        let mut builder = PackBuilder::new(1024);
        let chunks: Vec<Vec<u8>> = vec![b"hello".repeat(1000), (0..=255u8).collect(), Vec::new()];
        for c in &chunks {
            let id = ChunkId::of(&keys.id_key, c);
            let (sealed, compressed) = seal_blob(&keys, 3, BlobKind::Data, &id, c);
            builder.push(id, BlobKind::Data, c.len() as u32, compressed, &sealed);
        }
        let pack = builder.finish(&keys.meta).unwrap();
        assert!(pack.entries[0].compressed, "repetitive text compresses");
        assert!(!pack.entries[1].compressed, "256 distinct bytes do not");
        let size = pack.bytes.len() as u64;
        let entries = parse_trailer(&keys.meta, &pack.id, &pack.bytes, size).unwrap();
        assert_eq!(entries, pack.entries);
        for (e, c) in entries.iter().zip(&chunks) {
            let sealed = &pack.bytes[e.offset as usize..(e.offset + e.len) as usize];
            assert_eq!(&open_blob(&keys, e, sealed, "p").unwrap(), c);
            let mut bad = sealed.to_vec();
            let mid = bad.len() / 2;
            bad[mid] ^= 1;
            assert!(open_blob(&keys, e, &bad, "p").is_err());
        }
        let mut bad = pack.bytes.clone();
        let n = bad.len();
        bad[n - 10] ^= 1;
        assert!(parse_trailer(&keys.meta, &pack.id, &bad, size).is_err());
        assert!(parse_trailer(&keys.meta, "0".repeat(32).as_str(), &pack.bytes, size).is_err());
    }

    #[test]
    fn incompressible_data_is_stored_raw() {
        let mut x = 1u64;
        let noise: Vec<u8> = (0..300_000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        assert!(!maybe_compress(3, &noise).1);
        assert!(maybe_compress(3, &vec![7u8; 300_000]).1);
    }

    #[test]
    fn pack_names_parse() {
        let id = "ab".repeat(16);
        let object = pack_object(&id);
        assert_eq!(object, format!("packs/ab/{id}"));
        assert_eq!(pack_id_of(&object), Some(id.as_str()));
        assert_eq!(pack_id_of("packs/ab/xyz"), None);
        assert_eq!(pack_id_of("index/abc"), None);
    }
}
