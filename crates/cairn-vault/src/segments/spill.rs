//! Sorted runs spilled to local temp files while a writer is over its memory budget.
//!
//! A run is a sequence of frames `sealed_len (u32 LE) ‖ sealed frame`, each frame about
//! [`FRAME`] bytes of serialized rows sealed with a throw-away key that lives only in the
//! writer's memory: customer data never reaches local disk in the clear, and a leftover
//! file after a crash is unreadable noise. Runs are read back strictly sequentially.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};

use super::Row;
use crate::chunk_id::ChunkId;
use crate::crypto::SubKey;
use crate::error::{Result, VaultError};

/// Plaintext bytes per sealed frame.
const FRAME: usize = 256 << 10;

fn io_err(what: &str, e: std::io::Error) -> VaultError {
    VaultError::SegmentWrite(format!("spill file {what}: {e}"))
}

/// Writes `rows` (sorted) as one run into a new file in `dir`.
pub fn write_run(dir: &std::path::Path, key: &SubKey, rows: Vec<Row>) -> Result<File> {
    let file = tempfile::tempfile_in(dir).map_err(|e| io_err("create", e))?;
    let mut out = BufWriter::with_capacity(FRAME + 64, file);
    let mut frame: Vec<u8> = Vec::with_capacity(FRAME + 4096);
    let mut index = 0u64;
    let mut flush = |frame: &mut Vec<u8>, out: &mut BufWriter<File>| -> Result<()> {
        let sealed = key.seal(&index.to_le_bytes(), frame);
        index += 1;
        out.write_all(&(sealed.len() as u32).to_le_bytes())
            .and_then(|()| out.write_all(&sealed))
            .map_err(|e| io_err("write", e))?;
        frame.clear();
        Ok(())
    };
    for r in rows {
        put_bytes(&mut frame, r.key.as_bytes());
        frame.extend_from_slice(&r.version.to_le_bytes());
        frame.push(u8::from(r.deleted));
        frame.extend_from_slice(&r.row_hash);
        frame.extend_from_slice(&r.modstamp.to_le_bytes());
        put_bytes(&mut frame, r.created_by.as_bytes());
        put_bytes(&mut frame, r.modified_by.as_bytes());
        frame.extend_from_slice(&(r.chunks.len() as u32).to_le_bytes());
        for c in &r.chunks {
            frame.extend_from_slice(c.as_bytes());
        }
        put_bytes(&mut frame, r.record.as_bytes());
        if frame.len() >= FRAME {
            flush(&mut frame, &mut out)?;
        }
    }
    if !frame.is_empty() {
        flush(&mut frame, &mut out)?;
    }
    let mut file = out
        .into_inner()
        .map_err(|e| io_err("flush", e.into_error()))?;
    use std::io::Seek;
    file.rewind().map_err(|e| io_err("rewind", e))?;
    Ok(file)
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(&(b.len() as u32).to_le_bytes());
    out.extend_from_slice(b);
}

/// Reads a run written by [`write_run`] back, row by row.
pub struct RunReader {
    input: BufReader<File>,
    key: SubKey,
    index: u64,
    rows: VecDeque<Row>,
}

impl RunReader {
    /// A reader of a rewound run file.
    pub fn new(file: File, key: SubKey) -> Self {
        Self {
            input: BufReader::with_capacity(FRAME + 64, file),
            key,
            index: 0,
            rows: VecDeque::new(),
        }
    }

    fn next_frame(&mut self) -> Result<bool> {
        let mut len = [0u8; 4];
        match self.input.read_exact(&mut len) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(false),
            Err(e) => return Err(io_err("read", e)),
        }
        let mut sealed = vec![0u8; u32::from_le_bytes(len) as usize];
        self.input
            .read_exact(&mut sealed)
            .map_err(|e| io_err("read", e))?;
        let plain = self
            .key
            .open(&self.index.to_le_bytes(), &sealed)
            .map_err(|_| VaultError::SegmentWrite("spill file was modified".into()))?;
        self.index += 1;
        let mut p = Parser {
            buf: &plain,
            pos: 0,
        };
        while p.pos < plain.len() {
            let row = p
                .row()
                .ok_or_else(|| VaultError::SegmentWrite("spill frame is malformed".to_owned()))?;
            self.rows.push_back(row);
        }
        Ok(true)
    }
}

impl Iterator for RunReader {
    type Item = Result<Row>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rows.is_empty() {
            match self.next_frame() {
                Ok(true) => {}
                Ok(false) => return None,
                Err(e) => return Some(Err(e)),
            }
        }
        self.rows.pop_front().map(Ok)
    }
}

struct Parser<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        let s = self.buf.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(s)
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
    fn i64(&mut self) -> Option<i64> {
        Some(i64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
    fn string(&mut self) -> Option<String> {
        let n = self.u32()? as usize;
        String::from_utf8(self.take(n)?.to_vec()).ok()
    }
    fn row(&mut self) -> Option<Row> {
        let key = self.string()?;
        let version = self.i64()?;
        let deleted = self.take(1)?[0] != 0;
        let row_hash = self.take(16)?.try_into().ok()?;
        let modstamp = self.i64()?;
        let created_by = self.string()?;
        let modified_by = self.string()?;
        let n = self.u32()? as usize;
        let mut chunks = Vec::with_capacity(n.min(1024));
        for _ in 0..n {
            chunks.push(ChunkId(self.take(32)?.try_into().ok()?));
        }
        let record = self.string()?;
        Some(Row {
            key,
            version,
            deleted,
            row_hash,
            modstamp,
            created_by,
            modified_by,
            chunks,
            record,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::DataKey;

    #[test]
    fn runs_round_trip() {
        let key = DataKey::generate().derive("cairn test spill v1");
        let dir = tempfile::tempdir().unwrap();
        let rows: Vec<Row> = (0..5000)
            .map(|i| Row {
                key: format!("k{i:06}"),
                version: i,
                deleted: i % 7 == 0,
                row_hash: [i as u8; 16],
                modstamp: -i,
                created_by: "u".into(),
                modified_by: String::new(),
                chunks: vec![ChunkId([i as u8; 32]); (i % 3) as usize],
                record: "x".repeat((i % 500) as usize),
            })
            .collect();
        let file = write_run(dir.path(), &key, rows.clone()).unwrap();
        let back: Vec<Row> = RunReader::new(file, key).collect::<Result<_>>().unwrap();
        assert_eq!(back, rows);
    }
}
