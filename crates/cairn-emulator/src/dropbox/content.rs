//! File contents: generated on the fly from `(seed, content id)`, or uploaded by a client.
//!
//! Generated content is never stored. Its bytes are a pure function of the team seed, the
//! content id and the offset, produced in independent 64 KiB blocks so any range can be
//! served without generating what precedes it. Text-like kinds produce compressible prose,
//! media and archives produce incompressible noise, documents mix both; each kind starts
//! with its real magic bytes so type sniffing behaves. Duplicate files share a content id,
//! hence bytes and `content_hash`.

use std::sync::LazyLock;

use bytes::{Bytes, BytesMut};
use serde::{Deserialize, Serialize};

use super::content_hash::ContentHasher;
use super::rng::{Rng, derive};

/// Generated content is produced in blocks of this size.
pub const GEN_BLOCK: usize = 64 * 1024;

/// Size of the chunks a download streams.
pub const STREAM_CHUNK: usize = 256 * 1024;

/// What sort of bytes a generated file holds (chosen from its extension).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContentKind {
    /// Prose, notes, CSV, source: all compressible text.
    Text,
    /// PDF: half text, half binary streams.
    Pdf,
    /// Office Open XML (docx/xlsx/pptx): a zip, mostly compressed noise with some text.
    Office,
    /// Archives: incompressible.
    Zip,
    /// JPEG photos: incompressible.
    Jpeg,
    /// PNG images: incompressible.
    Png,
    /// Video: incompressible.
    Mp4,
    /// Anything else: incompressible.
    Binary,
}

impl ContentKind {
    /// The kind a file name's extension suggests.
    #[must_use]
    pub fn for_name(name: &str) -> Self {
        let ext = name
            .rsplit_once('.')
            .map(|(_, e)| e.to_ascii_lowercase())
            .unwrap_or_default();
        match ext.as_str() {
            "txt" | "md" | "csv" | "json" | "log" | "rs" | "py" | "html" | "xml" | "eml"
            | "ics" | "vcf" | "sql" | "yaml" | "ini" => Self::Text,
            "pdf" => Self::Pdf,
            "docx" | "xlsx" | "pptx" | "odt" | "key" | "pages" => Self::Office,
            "zip" | "gz" | "tgz" | "7z" | "rar" | "bak" => Self::Zip,
            "jpg" | "jpeg" | "heic" => Self::Jpeg,
            "png" | "gif" | "psd" | "ai" | "svg" => Self::Png,
            "mp4" | "mov" | "m4a" | "mp3" | "wav" => Self::Mp4,
            _ => Self::Binary,
        }
    }

    /// Out of 4, how many blocks are text.
    fn text_quarters(self) -> u64 {
        match self {
            Self::Text => 4,
            Self::Pdf => 2,
            Self::Office => 1,
            _ => 0,
        }
    }

    fn magic(self) -> &'static [u8] {
        match self {
            Self::Text | Self::Binary => b"",
            Self::Pdf => b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n",
            Self::Office | Self::Zip => b"PK\x03\x04\x14\x00\x06\x00",
            Self::Jpeg => b"\xFF\xD8\xFF\xE0\x00\x10JFIF\x00",
            Self::Png => b"\x89PNG\r\n\x1a\n",
            Self::Mp4 => b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00",
        }
    }
}

/// A generated content: its bytes are derived from the team seed and `id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenContent {
    /// Content id; duplicates share it.
    pub id: u64,
    /// Length in bytes.
    pub size: u64,
    /// What the bytes look like.
    pub kind: ContentKind,
}

/// Where a file revision's bytes come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "src", rename_all = "snake_case")]
pub enum ContentRef {
    /// Generated content, by content id (index into the team's content table).
    Generated {
        /// Content id.
        id: u64,
    },
    /// Bytes a client uploaded, kept in the blob store.
    Blob {
        /// Blob id.
        id: u64,
        /// Its `content_hash`, computed while it was received.
        #[serde(with = "hex_hash")]
        hash: [u8; 32],
    },
}

mod hex_hash {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(v: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(v))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let text = String::deserialize(d)?;
        super::super::content_hash::parse_hex(&text).ok_or_else(|| D::Error::custom("bad hash"))
    }
}

/// Word table for text blocks: 256 entries so one random byte picks one.
struct WordTable {
    bytes: Vec<u8>,
    spans: [(u32, u8); 256],
}

static WORDS: LazyLock<WordTable> = LazyLock::new(|| {
    const BASE: [&str; 64] = [
        "the", "report", "budget", "quarter", "client", "project", "team", "review", "draft",
        "final", "meeting", "notes", "action", "item", "owner", "deadline", "revenue", "forecast",
        "invoice", "contract", "renewal", "account", "pipeline", "design", "release", "customer",
        "support", "ticket", "status", "update", "plan", "goal", "metric", "growth", "cost",
        "margin", "vendor", "order", "delivery", "schedule", "launch", "campaign", "lead",
        "proposal", "risk", "issue", "summary", "decision", "and", "of", "to", "for", "with", "on",
        "in", "by", "we", "will", "is", "are", "this", "next", "week", "data",
    ];
    let mut bytes = Vec::new();
    let mut spans = [(0u32, 0u8); 256];
    for (i, span) in spans.iter_mut().enumerate() {
        let word = BASE[i % 64];
        let text = match i / 64 {
            0 | 1 => format!("{word} "),
            2 => {
                let mut chars = word.chars();
                let first = chars.next().map(|c| c.to_ascii_uppercase()).unwrap_or(' ');
                format!("{first}{} ", chars.as_str())
            }
            _ if i % 64 < 20 => format!("{word}.\n"),
            _ => format!("{word}, "),
        };
        *span = (bytes.len() as u32, text.len() as u8);
        bytes.extend_from_slice(text.as_bytes());
    }
    WordTable { bytes, spans }
});

fn fill_text(rng: &mut Rng, out: &mut [u8]) {
    let table = &*WORDS;
    let mut pos = 0;
    while pos < out.len() {
        let r = rng.next_u64();
        for k in 0..8 {
            let (start, len) = table.spans[((r >> (8 * k)) & 0xFF) as usize];
            let word = &table.bytes[start as usize..start as usize + usize::from(len)];
            let n = word.len().min(out.len() - pos);
            out[pos..pos + n].copy_from_slice(&word[..n]);
            pos += n;
            if pos == out.len() {
                return;
            }
        }
    }
}

/// Generates block `index` of `content` into `out` (a prefix of the block is fine).
fn generate_block(seed: u64, content: &GenContent, index: u64, out: &mut [u8]) {
    let block_seed = derive(&[seed, content.id, index]);
    let mut rng = Rng::new(block_seed);
    let text = content.kind.text_quarters() > (block_seed >> 62);
    if text {
        fill_text(&mut rng, out);
    } else {
        rng.fill_bytes(out);
    }
    if index == 0 {
        let magic = content.kind.magic();
        let n = magic.len().min(out.len());
        out[..n].copy_from_slice(&magic[..n]);
    }
}

/// Fills `out` with the bytes of `content` starting at `offset` (must lie within it).
pub fn fill(seed: u64, content: &GenContent, offset: u64, out: &mut [u8]) {
    let block = GEN_BLOCK as u64;
    let mut scratch: Option<Vec<u8>> = None;
    let mut pos = 0usize;
    while pos < out.len() {
        let at = offset + pos as u64;
        let index = at / block;
        let within = (at % block) as usize;
        let block_len = (content.size - index * block).min(block) as usize;
        let take = (block_len - within).min(out.len() - pos);
        if within == 0 {
            // The output covers a prefix of the block: generate straight into it.
            generate_block(seed, content, index, &mut out[pos..pos + take]);
        } else {
            let buf = scratch.get_or_insert_with(|| vec![0u8; GEN_BLOCK]);
            generate_block(seed, content, index, &mut buf[..within + take]);
            out[pos..pos + take].copy_from_slice(&buf[within..within + take]);
        }
        pos += take;
    }
}

/// The bytes of `content` in `start..end`, as one buffer (for small reads and tests).
#[must_use]
pub fn read_range(seed: u64, content: &GenContent, start: u64, end: u64) -> Vec<u8> {
    let mut out = vec![0u8; (end - start) as usize];
    fill(seed, content, start, &mut out);
    out
}

/// Streams `content[start..end]` in [`STREAM_CHUNK`] pieces, generating each as it is
/// polled, so a download never holds more than one chunk.
pub fn stream(
    seed: u64,
    content: GenContent,
    start: u64,
    end: u64,
) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static {
    futures::stream::unfold(start, move |pos| async move {
        if pos >= end {
            return None;
        }
        // Align chunk ends to generator blocks so most blocks are generated in place.
        let aligned_end = (pos / STREAM_CHUNK as u64 + 1) * STREAM_CHUNK as u64;
        let chunk_end = aligned_end.min(end);
        let mut buf = BytesMut::zeroed((chunk_end - pos) as usize);
        fill(seed, &content, pos, &mut buf);
        Some((Ok(buf.freeze()), chunk_end))
    })
}

/// Computes the `content_hash` of generated content, block by block (CPU-bound: call it
/// from a blocking thread for anything large).
#[must_use]
pub fn hash_generated(seed: u64, content: &GenContent) -> [u8; 32] {
    let mut hasher = ContentHasher::new();
    let mut buf = vec![0u8; GEN_BLOCK];
    let mut at = 0u64;
    while at < content.size {
        let len = (content.size - at).min(GEN_BLOCK as u64) as usize;
        generate_block(seed, content, at / GEN_BLOCK as u64, &mut buf[..len]);
        hasher.update(&buf[..len]);
        at += len as u64;
    }
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dropbox::content_hash::content_hash;

    fn sample(kind: ContentKind, size: u64) -> GenContent {
        GenContent { id: 9, size, kind }
    }

    #[test]
    fn any_range_equals_the_slice_of_the_whole() {
        let c = sample(ContentKind::Pdf, 3 * GEN_BLOCK as u64 + 1234);
        let whole = read_range(1, &c, 0, c.size);
        for (s, e) in [(0, 10), (5, 70_000), (65_535, 65_537), (100_000, c.size)] {
            assert_eq!(read_range(1, &c, s, e), &whole[s as usize..e as usize]);
        }
        assert!(whole.starts_with(b"%PDF-1.7"));
    }

    #[test]
    fn same_seed_and_id_give_same_bytes_other_ids_differ() {
        let a = sample(ContentKind::Binary, 5000);
        let b = GenContent { id: 10, ..a };
        assert_eq!(read_range(7, &a, 0, 5000), read_range(7, &a, 0, 5000));
        assert_ne!(read_range(7, &a, 0, 5000), read_range(7, &b, 0, 5000));
        assert_ne!(read_range(7, &a, 0, 5000), read_range(8, &a, 0, 5000));
    }

    #[test]
    fn text_is_compressible_and_media_is_not() {
        let text = read_range(3, &sample(ContentKind::Text, 65_536), 0, 65_536);
        assert!(text.iter().all(|b| b.is_ascii()));
        let distinct_words: std::collections::HashSet<&[u8]> = text
            .split(|&b| matches!(b, b' ' | b'\n' | b',' | b'.'))
            .collect();
        assert!(distinct_words.len() < 200, "text reuses a small vocabulary");
        let noise = read_range(3, &sample(ContentKind::Mp4, 65_536), 0, 65_536);
        let mut counts = [0u32; 256];
        noise.iter().for_each(|&b| counts[b as usize] += 1);
        assert!(
            counts.iter().all(|&c| c > 150 && c < 380),
            "bytes are near-uniform"
        );
    }

    #[test]
    fn streamed_hash_matches_hash_of_materialised_bytes() {
        let c = sample(ContentKind::Office, 4 * 1024 * 1024 + 77);
        let whole = read_range(5, &c, 0, c.size);
        assert_eq!(hash_generated(5, &c), content_hash(&whole));
        let empty = sample(ContentKind::Text, 0);
        assert_eq!(hash_generated(5, &empty), content_hash(b""));
    }

    #[tokio::test]
    async fn stream_yields_exactly_the_requested_range() {
        use futures::StreamExt;
        let c = sample(ContentKind::Zip, 700_000);
        let whole = read_range(2, &c, 0, c.size);
        let mut got = Vec::new();
        let mut s = Box::pin(stream(2, c, 1000, 600_000));
        while let Some(chunk) = s.next().await {
            let chunk = chunk.unwrap();
            assert!(chunk.len() <= STREAM_CHUNK);
            got.extend_from_slice(&chunk);
        }
        assert_eq!(got, &whole[1000..600_000]);
    }

    #[test]
    fn kinds_follow_extensions() {
        assert_eq!(ContentKind::for_name("Q3 Report.PDF"), ContentKind::Pdf);
        assert_eq!(ContentKind::for_name("notes.txt"), ContentKind::Text);
        assert_eq!(ContentKind::for_name("IMG_0001.jpg"), ContentKind::Jpeg);
        assert_eq!(ContentKind::for_name("README"), ContentKind::Binary);
    }
}
