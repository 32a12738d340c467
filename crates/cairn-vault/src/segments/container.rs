//! The encrypted container around a segment's Parquet bytes.
//!
//! Layout of a stored segment object:
//!
//! ```text
//! sealed block 0 ‖ sealed block 1 ‖ … ‖ sealed block n-1 ‖ sealed trailer ‖ trailer_len (u32 LE) ‖ "CSEG"
//! ```
//!
//! The Parquet file is cut into [`BLOCK`]-byte plaintext blocks (the last may be shorter),
//! each sealed with AES-256-GCM under the segments sub-key, with associated data
//! `object name ‖ 0 ‖ "block" ‖ index (u64 LE)`. Every block but the last therefore has the
//! same stored size, so a plaintext byte range maps to a stored byte range without an
//! index, and one row group can be read with a ranged GET without decrypting the object.
//! Swapping, reordering or transplanting blocks fails authentication.
//!
//! The trailer is sealed with associated data `object name ‖ 0 ‖ "trailer"` and records the
//! plaintext length and where the Parquet footer (file metadata) lies, so a reader fetches
//! the tail of the object, opens the trailer, then decrypts just the footer blocks.
//! Truncation is caught because the trailer's lengths must account for every stored byte.

use std::io::Write;
use std::ops::Range;

use bytes::{Bytes, BytesMut};

use crate::crypto::{SEAL_HEADER, SEAL_OVERHEAD, SubKey};
use crate::error::{Result, VaultError};

/// Plaintext bytes per sealed block.
pub const BLOCK: u64 = 64 * 1024;
/// Stored bytes of one full sealed block.
pub const SEALED_BLOCK: u64 = BLOCK + SEAL_OVERHEAD as u64;
/// The last four bytes of every segment object.
const MAGIC: &[u8; 4] = b"CSEG";
/// Trailer format version.
const TRAILER_VERSION: u32 = 1;
/// Plaintext trailer size: version, block size, plain_len, meta_offset, meta_len, rows.
const TRAILER_PLAIN: usize = 4 + 4 + 8 * 4;
/// Stored size of the sealed trailer plus its length and magic.
pub const TAIL_LEN: u64 = (TRAILER_PLAIN + SEAL_OVERHEAD + 8) as u64;

/// What the sealed trailer says about the Parquet plaintext.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trailer {
    /// Length of the Parquet plaintext.
    pub plain_len: u64,
    /// Offset of the Parquet file metadata (thrift) in the plaintext.
    pub meta_offset: u64,
    /// Length of the Parquet file metadata.
    pub meta_len: u64,
    /// Rows in the segment.
    pub rows: u64,
}

impl Trailer {
    /// Number of sealed blocks.
    pub fn blocks(&self) -> u64 {
        self.plain_len.div_ceil(BLOCK)
    }

    /// Stored size the object must have.
    pub fn stored_len(&self) -> u64 {
        sealed_len(self.plain_len) + TAIL_LEN
    }

    /// Stored byte range of the blocks covering the plaintext `range`, and the index of the
    /// first block.
    pub fn stored_range(&self, range: &Range<u64>) -> (Range<u64>, u64) {
        let first = range.start / BLOCK;
        let last = range
            .end
            .max(range.start + 1)
            .div_ceil(BLOCK)
            .min(self.blocks());
        let start = first * SEALED_BLOCK;
        let end = sealed_len((last * BLOCK).min(self.plain_len));
        (start..end, first)
    }
}

/// Stored size of `plain_len` plaintext bytes cut into sealed blocks.
fn sealed_len(plain_len: u64) -> u64 {
    let full = plain_len / BLOCK;
    let rest = plain_len % BLOCK;
    full * SEALED_BLOCK
        + if rest > 0 {
            rest + SEAL_OVERHEAD as u64
        } else {
            0
        }
}

fn block_aad(object: &str, index: u64) -> Vec<u8> {
    let mut aad = Vec::with_capacity(object.len() + 14);
    aad.extend_from_slice(object.as_bytes());
    aad.extend_from_slice(b"\0block");
    aad.extend_from_slice(&index.to_le_bytes());
    aad
}

fn trailer_aad(object: &str) -> Vec<u8> {
    let mut aad = object.as_bytes().to_vec();
    aad.extend_from_slice(b"\0trailer");
    aad
}

/// A `Write` sink that seals its input in [`BLOCK`]-sized blocks as it arrives.
///
/// Sealed bytes accumulate in an output buffer the caller drains with
/// [`BlockSealer::take_sealed`] (to upload them), so memory stays bounded by what the
/// caller has not yet taken.
pub struct BlockSealer {
    object: String,
    key: SubKey,
    /// Room for the seal header, then the plaintext of the block being filled (sealed in
    /// place, so a block is copied once, into `sealed`).
    block: Vec<u8>,
    sealed: BytesMut,
    next_index: u64,
    plain_len: u64,
    tail: [u8; 8],
}

impl BlockSealer {
    /// A sealer for the object named `object`.
    pub fn new(object: String, key: SubKey) -> Self {
        let mut block = Vec::with_capacity(BLOCK as usize + SEAL_OVERHEAD);
        block.resize(SEAL_HEADER, 0);
        Self {
            object,
            key,
            block,
            sealed: BytesMut::new(),
            next_index: 0,
            plain_len: 0,
            tail: [0; 8],
        }
    }

    fn seal_block(&mut self) {
        let aad = block_aad(&self.object, self.next_index);
        self.key.seal_in_place(&aad, &mut self.block);
        self.sealed.extend_from_slice(&self.block);
        self.block.clear();
        self.block.resize(SEAL_HEADER, 0);
        self.next_index += 1;
    }

    /// Sealed bytes produced so far and not yet taken.
    pub fn take_sealed(&mut self) -> Bytes {
        self.sealed.split().freeze()
    }

    /// Plaintext bytes written so far.
    pub fn plain_len(&self) -> u64 {
        self.plain_len
    }

    /// The last eight plaintext bytes written (a Parquet file's footer length and magic).
    pub fn tail(&self) -> [u8; 8] {
        self.tail
    }

    /// Seals the last partial block and the trailer; returns the remaining sealed bytes.
    pub fn finish(mut self, meta_offset: u64, meta_len: u64, rows: u64) -> Bytes {
        if self.block.len() > SEAL_HEADER {
            self.seal_block();
        }
        let mut plain = Vec::with_capacity(TRAILER_PLAIN);
        plain.extend_from_slice(&TRAILER_VERSION.to_le_bytes());
        plain.extend_from_slice(&(BLOCK as u32).to_le_bytes());
        for v in [self.plain_len, meta_offset, meta_len, rows] {
            plain.extend_from_slice(&v.to_le_bytes());
        }
        let sealed = self.key.seal(&trailer_aad(&self.object), &plain);
        self.sealed.extend_from_slice(&sealed);
        self.sealed
            .extend_from_slice(&(sealed.len() as u32).to_le_bytes());
        self.sealed.extend_from_slice(MAGIC);
        self.sealed.split().freeze()
    }
}

impl Write for BlockSealer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let room = BLOCK as usize + SEAL_HEADER - self.block.len();
        let n = room.min(buf.len());
        let w = &buf[..n];
        if w.len() >= 8 {
            self.tail.copy_from_slice(&w[w.len() - 8..]);
        } else {
            self.tail.rotate_left(w.len());
            self.tail[8 - w.len()..].copy_from_slice(w);
        }
        self.block.extend_from_slice(w);
        self.plain_len += n as u64;
        if self.block.len() == BLOCK as usize + SEAL_HEADER {
            self.seal_block();
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn corrupt(object: &str, detail: impl Into<String>) -> VaultError {
    VaultError::SegmentCorrupt {
        object: object.to_owned(),
        detail: detail.into(),
    }
}

/// Opens the trailer from the last bytes of an object of `stored_len` bytes. `tail` must be
/// the object's final `tail.len()` bytes (at least [`TAIL_LEN`]).
pub fn open_trailer(key: &SubKey, object: &str, tail: &[u8], stored_len: u64) -> Result<Trailer> {
    if (tail.len() as u64) < TAIL_LEN || stored_len < TAIL_LEN {
        return Err(corrupt(object, "object too short for a segment trailer"));
    }
    let (rest, magic) = tail.split_at(tail.len() - 4);
    if magic != MAGIC {
        return Err(corrupt(
            object,
            "missing segment magic (not a segment, or truncated)",
        ));
    }
    let (rest, len) = rest.split_at(rest.len() - 4);
    let len = u32::from_le_bytes([len[0], len[1], len[2], len[3]]) as usize;
    if len != TRAILER_PLAIN + SEAL_OVERHEAD {
        return Err(corrupt(object, "bad trailer length"));
    }
    let sealed = &rest[rest.len() - len..];
    let plain = key
        .open(&trailer_aad(object), sealed)
        .map_err(|_| VaultError::Integrity {
            what: format!("{object} trailer"),
        })?;
    let u32_at =
        |i: usize| u32::from_le_bytes([plain[i], plain[i + 1], plain[i + 2], plain[i + 3]]);
    let u64_at = |i: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&plain[i..i + 8]);
        u64::from_le_bytes(b)
    };
    if u32_at(0) != TRAILER_VERSION || u64::from(u32_at(4)) != BLOCK {
        return Err(corrupt(object, "unsupported segment format version"));
    }
    let t = Trailer {
        plain_len: u64_at(8),
        meta_offset: u64_at(16),
        meta_len: u64_at(24),
        rows: u64_at(32),
    };
    if t.stored_len() != stored_len {
        return Err(corrupt(
            object,
            format!(
                "stored size {stored_len} does not match the trailer's {}",
                t.stored_len()
            ),
        ));
    }
    if t.meta_offset
        .checked_add(t.meta_len)
        .is_none_or(|end| end > t.plain_len)
    {
        return Err(corrupt(object, "footer location outside the data"));
    }
    Ok(t)
}

/// Decrypts the sealed blocks in `stored` (which starts at block `first`) and returns the
/// plaintext of those blocks, concatenated.
pub fn open_blocks(
    key: &SubKey,
    object: &str,
    trailer: &Trailer,
    first: u64,
    stored: &[u8],
) -> Result<Bytes> {
    let mut out = BytesMut::with_capacity(stored.len());
    let mut pos = 0usize;
    let mut index = first;
    while pos < stored.len() {
        if index >= trailer.blocks() {
            return Err(corrupt(object, "more blocks than the trailer declares"));
        }
        let block_plain = (trailer.plain_len - index * BLOCK).min(BLOCK);
        let len = (block_plain + SEAL_OVERHEAD as u64) as usize;
        let Some(sealed) = stored.get(pos..pos + len) else {
            return Err(corrupt(object, format!("block {index} is truncated")));
        };
        let plain =
            key.open(&block_aad(object, index), sealed)
                .map_err(|_| VaultError::Integrity {
                    what: format!("{object} block {index}"),
                })?;
        out.extend_from_slice(&plain);
        pos += len;
        index += 1;
    }
    Ok(out.freeze())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::DataKey;

    fn seal_all(key: &SubKey, name: &str, data: &[u8]) -> Vec<u8> {
        let mut s = BlockSealer::new(name.to_owned(), key.clone());
        s.write_all(data).unwrap();
        let mut out = s.take_sealed().to_vec();
        out.extend_from_slice(&s.finish(0, 0, 7));
        out
    }

    #[test]
    fn ranges_round_trip_across_block_boundaries() {
        let key = DataKey::generate().derive("cairn test segments v1");
        let data: Vec<u8> = (0..(BLOCK * 3 + 123)).map(|i| (i % 251) as u8).collect();
        let stored = seal_all(&key, "segments/x.seg", &data);
        let t = open_trailer(&key, "segments/x.seg", &stored, stored.len() as u64).unwrap();
        assert_eq!(t.plain_len, data.len() as u64);
        assert_eq!(t.rows, 7);
        for r in [
            0..10,
            BLOCK - 5..BLOCK + 5,
            BLOCK * 3..BLOCK * 3 + 123,
            5..BLOCK * 3 + 100,
        ] {
            let (sr, first) = t.stored_range(&r);
            let plain = open_blocks(
                &key,
                "segments/x.seg",
                &t,
                first,
                &stored[sr.start as usize..sr.end as usize],
            )
            .unwrap();
            let off = (r.start - first * BLOCK) as usize;
            assert_eq!(
                &plain[off..off + (r.end - r.start) as usize],
                &data[r.start as usize..r.end as usize]
            );
        }
    }

    #[test]
    fn renamed_or_truncated_objects_fail() {
        let key = DataKey::generate().derive("cairn test segments v1");
        let stored = seal_all(&key, "segments/a.seg", &[1u8; 1000]);
        assert!(open_trailer(&key, "segments/b.seg", &stored, stored.len() as u64).is_err());
        let cut = &stored[..stored.len() - 1];
        assert!(open_trailer(&key, "segments/a.seg", cut, cut.len() as u64).is_err());
        let t = open_trailer(&key, "segments/a.seg", &stored, stored.len() as u64).unwrap();
        let mut bad = stored.clone();
        bad[20] ^= 1;
        let err =
            open_blocks(&key, "segments/a.seg", &t, 0, &bad[..1000 + SEAL_OVERHEAD]).unwrap_err();
        assert!(err.to_string().contains("segments/a.seg block 0"), "{err}");
    }
}
