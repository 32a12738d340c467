//! Dropbox's `content_hash`: SHA-256 over the concatenated SHA-256 digests of 4 MiB blocks.
//!
//! The hasher is streaming: it closes a block exactly when 4 MiB have accumulated, however
//! the input is chunked, and an empty input has no block at all (so it hashes to
//! `SHA-256("")`). Research note §5 lists the vectors the tests check.

use sha2::{Digest, Sha256};

/// Dropbox's block size for `content_hash`.
pub const BLOCK_SIZE: usize = 4 * 1024 * 1024;

/// A streaming `content_hash` computation.
#[derive(Clone, Default)]
pub struct ContentHasher {
    outer: Sha256,
    block: Sha256,
    in_block: usize,
}

impl std::fmt::Debug for ContentHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContentHasher")
            .field("in_block", &self.in_block)
            .finish_non_exhaustive()
    }
}

impl ContentHasher {
    /// A hasher with nothing fed yet.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds more bytes.
    pub fn update(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            let room = BLOCK_SIZE - self.in_block;
            let take = room.min(data.len());
            self.block.update(&data[..take]);
            self.in_block += take;
            data = &data[take..];
            if self.in_block == BLOCK_SIZE {
                self.close_block();
            }
        }
    }

    fn close_block(&mut self) {
        let digest = std::mem::take(&mut self.block).finalize();
        self.outer.update(digest);
        self.in_block = 0;
    }

    /// The binary digest.
    #[must_use]
    pub fn finish(mut self) -> [u8; 32] {
        if self.in_block > 0 {
            self.close_block();
        }
        self.outer.finalize().into()
    }

    /// The digest as Dropbox sends it: 64 lowercase hex characters.
    #[must_use]
    pub fn finish_hex(self) -> String {
        hex::encode(self.finish())
    }
}

/// `content_hash` of an in-memory buffer.
#[must_use]
pub fn content_hash(data: &[u8]) -> [u8; 32] {
    let mut hasher = ContentHasher::new();
    hasher.update(data);
    hasher.finish()
}

/// Parses a 64-hex-digit `content_hash` argument.
#[must_use]
pub fn parse_hex(text: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    if text.len() != 64 {
        return None;
    }
    hex::decode_to_slice(text, &mut out).ok()?;
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex_of(data: &[u8]) -> String {
        hex::encode(content_hash(data))
    }

    #[test]
    fn small_vectors_match_the_research_note() {
        assert_eq!(
            hex_of(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            hex_of(b"hello"),
            "9595c9df90075148eb06860365df33584b75bff782a510c6cd4883a419833d50"
        );
        assert_eq!(
            hex_of(b"hello rdrop2"),
            "1aa2b7623dfff520c4abdc1227d10bc4e229b74005b66b3458345830e556f4de"
        );
        assert_eq!(
            hex_of(b"A"),
            "1cd6ef71e6e0ff46ad2609d403dc3fee244417089aa4461245a4e4fe23a55e42"
        );
        assert_eq!(
            hex_of(b"AA"),
            "01e0655fb754d10418a73760f57515f4903b298e6d67dda6bf0987fa79c22c88"
        );
        assert_eq!(
            hex_of(&[b'A'; 4096]),
            "8620913d33852befe09f16fff8fd75f77a83160d29f76f07e0276e9690903035"
        );
    }

    #[test]
    fn block_boundary_vectors_match_the_research_note() {
        let cases: [(usize, &str); 4] = [
            (
                BLOCK_SIZE - 1,
                "647c8627d70f7a7d13ce96b1e7710a771a55d41a62c3da490d92e56044d311fa",
            ),
            (
                BLOCK_SIZE,
                "d4d63bac5b866c71620185392a8a6218ac1092454a2d16f820363b69852befa3",
            ),
            (
                BLOCK_SIZE + 1,
                "8f553da8d00d0bf509d8470e242888be33019c20c0544811f5b2b89e98360b92",
            ),
            (
                2 * BLOCK_SIZE,
                "e08b3ba1f538804075c5f939accdeaa9efc7b5c01865c94a41e78ca6550a88e7",
            ),
        ];
        let a = vec![b'A'; 2 * BLOCK_SIZE];
        for (len, want) in cases {
            assert_eq!(hex_of(&a[..len]), want, "{len} x A");
        }
        let ramp: Vec<u8> = (0..BLOCK_SIZE * 7 / 2).map(|i| (i % 256) as u8).collect();
        assert_eq!(
            hex_of(&ramp[..BLOCK_SIZE]),
            "894bbb52d1212d6bcbe9967f1a2169138c4d4af0c8dfbaeae86cd1d3f0c03faf"
        );
        let mut plus_ff = ramp[..BLOCK_SIZE].to_vec();
        plus_ff.push(0xFF);
        assert_eq!(
            hex_of(&plus_ff),
            "9149387a91f71c7c2149b8427d15526b71c1a38d6c6f999ad71486a2ce788d57"
        );
        assert_eq!(
            hex_of(&ramp),
            "f61d3ae93fa4f7646d37949fc0885141bf682faa9a130896b93459c650335d0f"
        );
    }

    #[test]
    fn chunking_never_changes_the_result() {
        let b = BLOCK_SIZE;
        let data: Vec<u8> = (0..3 * b + 17).map(|i| (i * 31 % 251) as u8).collect();
        let whole = content_hash(&data);
        let plans: [&[usize]; 6] = [
            &[b - 1],
            &[b],
            &[b + 1],
            &[b - 2, 1],
            &[b - 2, b + 2],
            &[5, 5, 5, 3 * b],
        ];
        for plan in plans {
            let mut hasher = ContentHasher::new();
            let mut at = 0;
            for &len in plan {
                let end = (at + len).min(data.len());
                hasher.update(&data[at..end]);
                at = end;
            }
            hasher.update(&data[at..]);
            assert_eq!(hasher.finish(), whole, "plan {plan:?}");
        }
    }

    #[test]
    fn parse_hex_accepts_only_64_hex_digits() {
        let h = hex_of(b"hello");
        assert_eq!(parse_hex(&h), Some(content_hash(b"hello")));
        assert_eq!(parse_hex("abc"), None);
        assert_eq!(parse_hex(&"zz".repeat(32)), None);
    }
}
