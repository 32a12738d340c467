//! Dropbox's `content_hash` (research note §5): SHA-256 over the concatenated binary
//! SHA-256 digests of the content's 4 MiB blocks, as lowercase hex. An empty file has no
//! blocks, so it hashes to `SHA-256("")`.
//!
//! [`ContentHasher`] is incremental: bytes may arrive in chunks of any size and a block is
//! closed exactly when 4 MiB have accumulated.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

/// Dropbox's hashing block size.
pub const BLOCK_SIZE: usize = 4 * 1024 * 1024;

/// A `content_hash` value (32 bytes; 64 hex characters on the wire).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContentHash(pub [u8; 32]);

impl ContentHash {
    /// Lowercase hex, as Dropbox writes it.
    #[must_use]
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// The raw digest.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The hash of `data`, in one go.
    #[must_use]
    pub fn of(data: &[u8]) -> Self {
        let mut hasher = ContentHasher::new();
        hasher.update(data);
        hasher.finalize()
    }
}

impl fmt::Display for ContentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for ContentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ContentHash({})", self.to_hex())
    }
}

/// A string that is not 64 hex characters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a content hash (64 hex characters): {0:?}")]
pub struct InvalidContentHash(pub String);

impl FromStr for ContentHash {
    type Err = InvalidContentHash;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).map_err(|_| InvalidContentHash(s.to_owned()))?;
        Ok(Self(out))
    }
}

impl Serialize for ContentHash {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for ContentHash {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Incremental `content_hash`.
#[derive(Clone, Default)]
pub struct ContentHasher {
    overall: Sha256,
    block: Sha256,
    block_len: usize,
    total: u64,
}

impl ContentHasher {
    /// A hasher with nothing fed yet.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds the next bytes.
    pub fn update(&mut self, mut data: &[u8]) {
        self.total += data.len() as u64;
        while !data.is_empty() {
            let take = (BLOCK_SIZE - self.block_len).min(data.len());
            self.block.update(&data[..take]);
            self.block_len += take;
            data = &data[take..];
            if self.block_len == BLOCK_SIZE {
                let digest = self.block.finalize_reset();
                self.overall.update(digest);
                self.block_len = 0;
            }
        }
    }

    /// Bytes fed so far.
    #[must_use]
    pub fn len(&self) -> u64 {
        self.total
    }

    /// Whether nothing was fed.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// The hash of everything fed.
    #[must_use]
    pub fn finalize(mut self) -> ContentHash {
        if self.block_len > 0 {
            let digest = self.block.finalize();
            self.overall.update(digest);
        }
        ContentHash(self.overall.finalize().into())
    }
}

/// The SHA-256 digests of `data`'s 4 MiB blocks (none for empty data). With
/// [`combine_blocks`], a file sent in 4 MiB-aligned pieces is hashed once: each piece's
/// own hash and the whole file's come from the same block digests.
#[must_use]
pub fn block_digests(data: &[u8]) -> Vec<[u8; 32]> {
    data.chunks(BLOCK_SIZE)
        .map(|block| Sha256::digest(block).into())
        .collect()
}

/// The `content_hash` of content whose block digests are `digests`, in order.
#[must_use]
pub fn combine_blocks(digests: &[[u8; 32]]) -> ContentHash {
    let mut overall = Sha256::new();
    for d in digests {
        overall.update(d);
    }
    ContentHash(overall.finalize().into())
}

impl fmt::Debug for ContentHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ContentHasher")
            .field("total", &self.total)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const B: usize = BLOCK_SIZE;

    fn hash_in_chunks(data: &[u8], chunks: &[usize]) -> String {
        let mut h = ContentHasher::new();
        let mut at = 0;
        for &c in chunks {
            h.update(&data[at..at + c]);
            at += c;
        }
        h.update(&data[at..]);
        assert_eq!(h.len(), data.len() as u64);
        h.finalize().to_hex()
    }

    /// Vectors from research note §5, all recomputed there with Python `hashlib`.
    #[test]
    fn research_note_vectors() {
        let a = |n: usize| vec![b'A'; n];
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (
                vec![],
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            ),
            (
                b"hello".to_vec(),
                "9595c9df90075148eb06860365df33584b75bff782a510c6cd4883a419833d50",
            ),
            (
                b"hello rdrop2".to_vec(),
                "1aa2b7623dfff520c4abdc1227d10bc4e229b74005b66b3458345830e556f4de",
            ),
            (
                a(1),
                "1cd6ef71e6e0ff46ad2609d403dc3fee244417089aa4461245a4e4fe23a55e42",
            ),
            (
                a(2),
                "01e0655fb754d10418a73760f57515f4903b298e6d67dda6bf0987fa79c22c88",
            ),
            (
                a(4096),
                "8620913d33852befe09f16fff8fd75f77a83160d29f76f07e0276e9690903035",
            ),
            (
                a(B - 1),
                "647c8627d70f7a7d13ce96b1e7710a771a55d41a62c3da490d92e56044d311fa",
            ),
            (
                a(B),
                "d4d63bac5b866c71620185392a8a6218ac1092454a2d16f820363b69852befa3",
            ),
            (
                a(B + 1),
                "8f553da8d00d0bf509d8470e242888be33019c20c0544811f5b2b89e98360b92",
            ),
            (
                a(2 * B),
                "e08b3ba1f538804075c5f939accdeaa9efc7b5c01865c94a41e78ca6550a88e7",
            ),
        ];
        for (data, expected) in &cases {
            assert_eq!(
                ContentHash::of(data).to_hex(),
                *expected,
                "{} bytes",
                data.len()
            );
        }
        let ramp = |n: usize| (0..n).map(|i| (i % 256) as u8).collect::<Vec<u8>>();
        assert_eq!(
            ContentHash::of(&ramp(B)).to_hex(),
            "894bbb52d1212d6bcbe9967f1a2169138c4d4af0c8dfbaeae86cd1d3f0c03faf"
        );
        let mut plus = ramp(B);
        plus.push(0xFF);
        assert_eq!(
            ContentHash::of(&plus).to_hex(),
            "9149387a91f71c7c2149b8427d15526b71c1a38d6c6f999ad71486a2ce788d57"
        );
        assert_eq!(
            ContentHash::of(&ramp(B * 7 / 2)).to_hex(),
            "f61d3ae93fa4f7646d37949fc0885141bf682faa9a130896b93459c650335d0f"
        );
    }

    /// The official hasher's chunking matrix: chunk boundaries straddling block boundaries.
    #[test]
    fn chunking_never_changes_the_hash() {
        let data: Vec<u8> = (0..3 * B + 17).map(|i| (i * 7 % 251) as u8).collect();
        let whole = ContentHash::of(&data).to_hex();
        let matrices: [&[usize]; 7] = [
            &[B - 1],
            &[B],
            &[B + 1],
            &[B - 2, 1],
            &[B - 2, B + 2],
            &[5, 5, 5, 2 * B],
            &[1, 1, 1, 1, B - 4, 3, B],
        ];
        for chunks in matrices {
            assert_eq!(hash_in_chunks(&data, chunks), whole, "{chunks:?}");
        }
        let mut h = ContentHasher::new();
        for piece in data.chunks(65_521) {
            h.update(piece);
        }
        assert_eq!(h.finalize().to_hex(), whole);
    }

    #[test]
    fn block_digests_combine_like_the_streaming_hasher() {
        let data: Vec<u8> = (0..2 * B + 99).map(|i| (i % 241) as u8).collect();
        let all = block_digests(&data);
        assert_eq!(all.len(), 3);
        assert_eq!(combine_blocks(&all), ContentHash::of(&data));
        // Aligned pieces: each piece's hash and the whole file's from one pass.
        let (first, rest) = data.split_at(B);
        assert_eq!(
            combine_blocks(&block_digests(first)),
            ContentHash::of(first)
        );
        assert_eq!(combine_blocks(&block_digests(rest)), ContentHash::of(rest));
        assert_eq!(combine_blocks(&[]), ContentHash::of(b""));
    }

    #[test]
    fn parses_and_prints_hex() {
        let text = "9595c9df90075148eb06860365df33584b75bff782a510c6cd4883a419833d50";
        let h: ContentHash = text.parse().unwrap();
        assert_eq!(h.to_string(), text);
        assert_eq!(serde_json::to_string(&h).unwrap(), format!("\"{text}\""));
        assert!("xyz".parse::<ContentHash>().is_err());
        assert!(text[..62].parse::<ContentHash>().is_err());
    }
}
