//! The writer's row buffer: pushed versions serialized back to back into one byte arena,
//! sorted through a small index, and read back as [`RawRow`]s that borrow the bytes.
//!
//! Why an arena: a `String` per field meant several allocations per row on push, and the
//! sort, the spill and the merge moved ~160-byte row structs around. Here a push is one
//! append into a buffer that is reused run after run, the sort moves 48-byte index entries
//! whose key head is inline (no pointer chase per comparison), and every later stage
//! (spill frames, merge, Parquet encoding) works on `Bytes` slices of the same memory.
//!
//! Row encoding (little-endian), shared with the spill frames of [`super::spill`]:
//! `key_len u32 ‖ key ‖ version i64 ‖ deleted u8 ‖ row_hash [16] ‖ modstamp i64 ‖
//! created_len u32 ‖ created_by ‖ modified_len u32 ‖ modified_by ‖ chunk_count u32 ‖
//! chunks (32 each) ‖ record_len u32 ‖ record`.

use bytes::Bytes;

use super::{RecordVersion, Row};
use crate::error::{Result, VaultError};

/// Key bytes held inline in an index entry (zero-padded); longer or tied keys fall back to
/// comparing the full key in the arena.
const HEAD: usize = 24;

/// Where one row lies in the arena, with what the sort compares.
#[derive(Debug, Clone, Copy)]
struct Entry {
    /// Key bytes 0..16, big-endian, so integer order is byte order.
    head: u128,
    /// Key bytes 16..24, big-endian.
    tail: u64,
    version: i64,
    off: usize,
    len: u32,
}

/// One row as the merge and the encoder see it: fields are slices of a shared buffer (the
/// arena or a decrypted spill frame), so passing rows along copies no record bytes.
#[derive(Debug, Clone)]
pub struct RawRow {
    pub key: Bytes,
    pub version: i64,
    pub deleted: bool,
    /// Exactly 16 bytes.
    pub row_hash: Bytes,
    pub modstamp: i64,
    pub created_by: Bytes,
    pub modified_by: Bytes,
    /// Concatenated 32-byte chunk ids.
    pub chunks: Bytes,
    pub record: Bytes,
}

impl RawRow {
    /// Approximate bytes, for row-group cutting.
    pub fn size(&self) -> usize {
        48 + self.key.len()
            + self.created_by.len()
            + self.modified_by.len()
            + self.chunks.len()
            + self.record.len()
    }
}

/// Serialized size of a version, or an input error when it does not fit `u32` lengths.
pub fn encoded_len(v: &RecordVersion) -> Result<usize> {
    let too_long =
        |what: &str| VaultError::SegmentInput(format!("a record's {what} is longer than 4 GiB"));
    for (what, len) in [
        ("key", v.key.len()),
        ("created_by", v.created_by.len()),
        ("modified_by", v.modified_by.len()),
        ("record", v.record.len()),
        ("chunk list", v.chunks.len()),
    ] {
        if u32::try_from(len).is_err() {
            return Err(too_long(what));
        }
    }
    let total = 4 * 5
        + 8 * 2
        + 1
        + 16
        + v.key.len()
        + v.created_by.len()
        + v.modified_by.len()
        + v.chunks.len() * 32
        + v.record.len();
    if u32::try_from(total).is_err() {
        return Err(too_long("row"));
    }
    Ok(total)
}

/// Rows pushed since the last spill.
#[derive(Debug, Default)]
pub struct RowArena {
    data: Vec<u8>,
    entries: Vec<Entry>,
}

impl RowArena {
    /// Bytes held (arena plus index), for the memory budget.
    pub fn bytes(&self) -> usize {
        self.data.len() + self.entries.len() * std::mem::size_of::<Entry>()
    }

    /// Bytes one more row of `encoded_len` adds to [`RowArena::bytes`].
    pub fn cost(encoded_len: usize) -> usize {
        encoded_len + std::mem::size_of::<Entry>()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Empties the arena, keeping its memory for the next run.
    pub fn clear(&mut self) {
        self.data.clear();
        self.entries.clear();
    }

    /// Appends a version (its length checked by [`encoded_len`]); the row hash is filled
    /// in later by [`RowArena::prepare`], off the pushing thread.
    pub fn push(&mut self, v: &RecordVersion, len: usize) {
        let off = self.data.len();
        let d = &mut self.data;
        d.reserve(len);
        put_bytes(d, v.key.as_bytes());
        d.extend_from_slice(&v.version.to_le_bytes());
        d.push(u8::from(v.deleted));
        d.extend_from_slice(&[0u8; 16]);
        d.extend_from_slice(&v.modstamp.to_le_bytes());
        put_bytes(d, v.created_by.as_bytes());
        put_bytes(d, v.modified_by.as_bytes());
        d.extend_from_slice(&(v.chunks.len() as u32).to_le_bytes());
        for c in &v.chunks {
            d.extend_from_slice(c.as_bytes());
        }
        put_bytes(d, v.record.as_bytes());
        let (head, tail) = key_head(v.key.as_bytes());
        self.entries.push(Entry {
            head,
            tail,
            version: v.version,
            off,
            len: (self.data.len() - off) as u32,
        });
    }

    /// Computes every row's hash and sorts the index: key, then version, then arrival.
    pub fn prepare(&mut self) -> Result<()> {
        for e in &self.entries {
            let row = &mut self.data[e.off..e.off + e.len as usize];
            let l = Layout::of(row).ok_or_else(malformed)?;
            let hash = Row::hash_record_bytes(&row[l.record.clone()]);
            row[l.hash.clone()].copy_from_slice(&hash);
        }
        let data = &self.data;
        // Offsets grow with arrival, so the last tie-break makes the unstable sort stable.
        self.entries.sort_unstable_by(|a, b| {
            a.head
                .cmp(&b.head)
                .then(a.tail.cmp(&b.tail))
                .then_with(|| full_key(data, a).cmp(full_key(data, b)))
                .then(a.version.cmp(&b.version))
                .then(a.off.cmp(&b.off))
        });
        Ok(())
    }

    /// The serialized rows in index order (sorted once [`RowArena::prepare`] ran).
    pub fn sorted_rows(&self) -> impl Iterator<Item = &[u8]> {
        self.entries
            .iter()
            .map(|e| &self.data[e.off..e.off + e.len as usize])
    }

    /// Consumes a prepared arena into an iterator of its rows in sorted order.
    pub fn into_rows(self) -> impl Iterator<Item = Result<RawRow>> + Send {
        let data = Bytes::from(self.data);
        self.entries
            .into_iter()
            .map(move |e| parse_row(&data, e.off).map(|(row, _)| row))
    }
}

fn malformed() -> VaultError {
    VaultError::SegmentWrite("spilled row is malformed".into())
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(&(b.len() as u32).to_le_bytes());
    out.extend_from_slice(b);
}

fn key_head(key: &[u8]) -> (u128, u64) {
    let mut h = [0u8; HEAD];
    let n = key.len().min(HEAD);
    h[..n].copy_from_slice(&key[..n]);
    let mut a = [0u8; 16];
    a.copy_from_slice(&h[..16]);
    let mut b = [0u8; 8];
    b.copy_from_slice(&h[16..]);
    (u128::from_be_bytes(a), u64::from_be_bytes(b))
}

fn full_key<'a>(data: &'a [u8], e: &Entry) -> &'a [u8] {
    let row = &data[e.off..e.off + e.len as usize];
    let n = read_u32(row, 0).unwrap_or(0) as usize;
    row.get(4..4 + n).unwrap_or_default()
}

fn read_u32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn read_i64(b: &[u8], at: usize) -> Option<i64> {
    Some(i64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// Field positions of one serialized row, relative to its start.
struct Layout {
    key: std::ops::Range<usize>,
    version: usize,
    deleted: usize,
    hash: std::ops::Range<usize>,
    modstamp: usize,
    created_by: std::ops::Range<usize>,
    modified_by: std::ops::Range<usize>,
    chunks: std::ops::Range<usize>,
    record: std::ops::Range<usize>,
}

impl Layout {
    /// Walks the lengths of the row starting at `b[0]`; `None` when they overrun `b`.
    fn of(b: &[u8]) -> Option<Self> {
        let mut pos = 0usize;
        let field = |pos: &mut usize, len: usize| -> Option<std::ops::Range<usize>> {
            let start = *pos;
            let end = start.checked_add(len)?;
            (end <= b.len()).then(|| {
                *pos = end;
                start..end
            })
        };
        let n = read_u32(b, pos)? as usize;
        pos += 4;
        let key = field(&mut pos, n)?;
        let version = field(&mut pos, 8)?.start;
        let deleted = field(&mut pos, 1)?.start;
        let hash = field(&mut pos, 16)?;
        let modstamp = field(&mut pos, 8)?.start;
        let n = read_u32(b, pos)? as usize;
        pos += 4;
        let created_by = field(&mut pos, n)?;
        let n = read_u32(b, pos)? as usize;
        pos += 4;
        let modified_by = field(&mut pos, n)?;
        let n = read_u32(b, pos)? as usize;
        pos += 4;
        let chunks = field(&mut pos, n.checked_mul(32)?)?;
        let n = read_u32(b, pos)? as usize;
        pos += 4;
        let record = field(&mut pos, n)?;
        Some(Self {
            key,
            version,
            deleted,
            hash,
            modstamp,
            created_by,
            modified_by,
            chunks,
            record,
        })
    }

    fn end(&self) -> usize {
        self.record.end
    }
}

/// Parses the row at `buf[off..]` into slices of `buf`; returns it and where it ends.
///
/// # Errors
/// [`VaultError::SegmentWrite`] when the lengths overrun the buffer.
pub fn parse_row(buf: &Bytes, off: usize) -> Result<(RawRow, usize)> {
    let b = buf.get(off..).ok_or_else(malformed)?;
    let l = Layout::of(b).ok_or_else(malformed)?;
    let slice = |r: &std::ops::Range<usize>| {
        if r.is_empty() {
            Bytes::new()
        } else {
            buf.slice(off + r.start..off + r.end)
        }
    };
    let row = RawRow {
        key: slice(&l.key),
        version: read_i64(b, l.version).ok_or_else(malformed)?,
        deleted: b[l.deleted] != 0,
        row_hash: slice(&l.hash),
        modstamp: read_i64(b, l.modstamp).ok_or_else(malformed)?,
        created_by: slice(&l.created_by),
        modified_by: slice(&l.modified_by),
        chunks: slice(&l.chunks),
        record: slice(&l.record),
    };
    Ok((row, off + l.end()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunk_id::ChunkId;

    fn version(key: &str, v: i64) -> RecordVersion {
        RecordVersion {
            key: key.to_owned(),
            version: v,
            deleted: v % 2 == 0,
            modstamp: -v,
            created_by: "c".into(),
            modified_by: String::new(),
            record: format!("{{\"v\":{v}}}"),
            chunks: vec![ChunkId([v as u8; 32]); (v % 3) as usize],
        }
    }

    #[test]
    fn sorts_by_key_version_then_arrival_and_hashes() {
        // Long keys sharing a 24-byte head, a key that is a prefix of another, ties.
        let long = "x".repeat(30);
        let input = [
            (format!("{long}b"), 1),
            ("k\0".to_owned(), 5),
            (format!("{long}a"), 2),
            ("k".to_owned(), 9),
            ("k".to_owned(), 3),
            ("k".to_owned(), 3),
        ];
        let mut a = RowArena::default();
        for (k, v) in &input {
            let mut rv = version(k, *v);
            rv.record = format!("{k}/{v}/{}", a.entries.len());
            let len = encoded_len(&rv).unwrap();
            a.push(&rv, len);
            assert_eq!(
                a.data.len(),
                a.entries.iter().map(|e| e.len as usize).sum::<usize>()
            );
        }
        a.prepare().unwrap();
        let rows: Vec<RawRow> = a.into_rows().collect::<Result<_>>().unwrap();
        let got: Vec<(String, i64, String)> = rows
            .iter()
            .map(|r| {
                let rec = String::from_utf8(r.record.to_vec()).unwrap();
                assert_eq!(&r.row_hash[..], &Row::hash_record(&rec)[..]);
                (String::from_utf8(r.key.to_vec()).unwrap(), r.version, rec)
            })
            .collect();
        let want = [
            ("k", 3, "k/3/4"),
            ("k", 3, "k/3/5"),
            ("k", 9, "k/9/3"),
            ("k\0", 5, "k\0/5/1"),
        ];
        for (g, w) in got.iter().zip(want) {
            assert_eq!((g.0.as_str(), g.1, g.2.as_str()), w);
        }
        assert_eq!(got[4].0, format!("{long}a"));
        assert_eq!(got[5].0, format!("{long}b"));
    }

    #[test]
    fn parse_round_trips_every_field_and_refuses_overruns() {
        let v = version("key", 7);
        let mut a = RowArena::default();
        a.push(&v, encoded_len(&v).unwrap());
        let buf = Bytes::from(a.data.clone());
        let (r, end) = parse_row(&buf, 0).unwrap();
        assert_eq!(end, buf.len());
        assert_eq!(&r.key[..], b"key");
        assert_eq!((r.version, r.deleted, r.modstamp), (7, false, -7));
        assert_eq!(&r.created_by[..], b"c");
        assert!(r.modified_by.is_empty());
        assert_eq!(r.chunks.len(), 32);
        assert_eq!(&r.record[..], v.record.as_bytes());
        assert!(parse_row(&buf.slice(..buf.len() - 1), 0).is_err());
    }
}
