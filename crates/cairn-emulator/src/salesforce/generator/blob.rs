//! Deterministic file bodies. A generated file is stored as (seed, length, kind) and
//! rendered on demand, so a large org's files cost no memory until they are downloaded.

use sha2::{Digest, Sha256};

use super::text;
use crate::salesforce::rng::Rng;
use crate::salesforce::store::{BlobBody, BlobKind};

/// The bytes of a body.
pub fn render(body: &BlobBody) -> std::borrow::Cow<'_, [u8]> {
    match body {
        BlobBody::Stored(bytes) => std::borrow::Cow::Borrowed(bytes.as_slice()),
        BlobBody::Generated { seed, len, kind } => {
            std::borrow::Cow::Owned(render_generated(*seed, *len as usize, *kind))
        }
    }
}

/// Renders generated content of exactly `len` bytes.
pub fn render_generated(seed: u64, len: usize, kind: BlobKind) -> Vec<u8> {
    let mut r = Rng::new(seed);
    let mut out = Vec::with_capacity(len);
    match kind {
        BlobKind::Text => {
            while out.len() < len {
                out.extend_from_slice(
                    text::description(r.pick_str(text::LAST_NAMES), &mut r).as_bytes(),
                );
                out.push(b'\n');
            }
        }
        BlobKind::Csv => {
            out.extend_from_slice(b"date,customer,item,quantity,amount\n");
            let mut day = 1;
            while out.len() < len {
                let line = format!(
                    "2025-{:02}-{:02},{},{},{},{}.{:02}\n",
                    (day / 28) % 12 + 1,
                    day % 28 + 1,
                    r.pick_str(text::LAST_NAMES),
                    r.pick(text::FILE_STEMS),
                    r.range(1, 500),
                    r.range(1, 99_999),
                    r.below(100)
                );
                out.extend_from_slice(line.as_bytes());
                day += 1;
            }
        }
        BlobKind::Pdf | BlobKind::Png => {
            let magic: &[u8] = if kind == BlobKind::Pdf {
                b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
            } else {
                b"\x89PNG\r\n\x1a\n"
            };
            out.extend_from_slice(&magic[..magic.len().min(len)]);
            let start = out.len();
            out.resize(len.max(start), 0);
            r.fill(&mut out[start..]);
        }
    }
    out.truncate(len);
    out
}

/// SHA-256 (hex) and length of a body, as the org dump reports blob fields.
pub fn digest(body: &BlobBody) -> (String, usize) {
    let bytes = render(body);
    let hash = Sha256::digest(&bytes);
    (hex_lower(&hash), bytes.len())
}

fn hex_lower(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(HEX[(b >> 4) as usize] as char);
        s.push(HEX[(b & 15) as usize] as char);
    }
    s
}

/// (kind, extension, MIME type, FileType) for a file-name stem choice.
pub fn file_kind(r: &mut Rng) -> (BlobKind, &'static str, &'static str, &'static str) {
    *r.pick(&[
        (BlobKind::Pdf, "pdf", "application/pdf", "PDF"),
        (BlobKind::Pdf, "pdf", "application/pdf", "PDF"),
        (BlobKind::Png, "png", "image/png", "PNG"),
        (BlobKind::Text, "txt", "text/plain", "TEXT"),
        (BlobKind::Csv, "csv", "text/csv", "CSV"),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rendering_is_exact_and_deterministic() {
        for kind in [BlobKind::Text, BlobKind::Csv, BlobKind::Pdf, BlobKind::Png] {
            for len in [0usize, 5, 1000, 70_001] {
                let a = render_generated(42, len, kind);
                assert_eq!(a.len(), len);
                assert_eq!(a, render_generated(42, len, kind));
            }
        }
        assert_ne!(
            render_generated(1, 100, BlobKind::Png),
            render_generated(2, 100, BlobKind::Png)
        );
        assert!(render_generated(1, 100, BlobKind::Pdf).starts_with(b"%PDF"));
        let (hash, len) = digest(&BlobBody::Stored(std::sync::Arc::new(b"abc".to_vec())));
        assert_eq!(len, 3);
        assert_eq!(
            hash,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
