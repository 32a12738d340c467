//! Sorted runs spilled to local temp files while a writer is over its memory budget.
//!
//! A run is a sequence of frames `sealed_len (u32 LE) ‖ sealed frame`, each frame about
//! [`FRAME`] bytes of rows in the [`super::arena`] encoding, sealed with a throw-away key
//! that lives only in the writer's memory: customer data never reaches local disk in the
//! clear, and a leftover file after a crash is unreadable noise. Runs are read back
//! strictly sequentially; a row never straddles two frames, so the rows read back are
//! slices of their decrypted frame.

use std::fs::File;
use std::io::{Read, Write};

use bytes::Bytes;

use super::arena::{RawRow, RowArena, parse_row};
use crate::crypto::{SEAL_HEADER, SubKey};
use crate::error::{Result, VaultError};

/// Plaintext bytes per sealed frame.
const FRAME: usize = 256 << 10;

fn io_err(what: &str, e: std::io::Error) -> VaultError {
    VaultError::SegmentWrite(format!("spill file {what}: {e}"))
}

/// Writes the rows of a prepared (sorted) arena as one run into a new file in `dir`.
pub fn write_run(dir: &std::path::Path, key: &SubKey, rows: &RowArena) -> Result<File> {
    let mut file = tempfile::tempfile_in(dir).map_err(|e| io_err("create", e))?;
    let mut frame: Vec<u8> = Vec::with_capacity(FRAME + (64 << 10));
    frame.resize(SEAL_HEADER, 0);
    let mut index = 0u64;
    let mut flush = |frame: &mut Vec<u8>, out: &mut File| -> Result<()> {
        key.seal_in_place(&index.to_le_bytes(), frame);
        index += 1;
        out.write_all(&(frame.len() as u32).to_le_bytes())
            .and_then(|()| out.write_all(frame))
            .map_err(|e| io_err("write", e))?;
        frame.clear();
        frame.resize(SEAL_HEADER, 0);
        Ok(())
    };
    for row in rows.sorted_rows() {
        frame.extend_from_slice(row);
        if frame.len() >= FRAME + SEAL_HEADER {
            flush(&mut frame, &mut file)?;
        }
    }
    if frame.len() > SEAL_HEADER {
        flush(&mut frame, &mut file)?;
    }
    use std::io::Seek;
    file.rewind().map_err(|e| io_err("rewind", e))?;
    Ok(file)
}

/// Reads a run written by [`write_run`] back, row by row.
pub struct RunReader {
    input: File,
    key: SubKey,
    index: u64,
    frame: Bytes,
    pos: usize,
}

impl RunReader {
    /// A reader of a rewound run file.
    pub fn new(file: File, key: SubKey) -> Self {
        Self {
            input: file,
            key,
            index: 0,
            frame: Bytes::new(),
            pos: 0,
        }
    }

    fn next_frame(&mut self) -> Result<bool> {
        let mut len = [0u8; 4];
        match self.input.read_exact(&mut len) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(false),
            Err(e) => return Err(io_err("read", e)),
        }
        // A fresh buffer per frame: rows handed out keep slices of it alive.
        let mut sealed = vec![0u8; u32::from_le_bytes(len) as usize];
        self.input
            .read_exact(&mut sealed)
            .map_err(|e| io_err("read", e))?;
        let plain = self
            .key
            .open_in_place(&self.index.to_le_bytes(), &mut sealed)
            .map_err(|_| VaultError::SegmentWrite("spill file was modified".into()))?;
        self.index += 1;
        self.frame = Bytes::from(sealed).slice(plain);
        self.pos = 0;
        Ok(true)
    }
}

impl Iterator for RunReader {
    type Item = Result<RawRow>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.pos >= self.frame.len() {
            match self.next_frame() {
                Ok(true) => {}
                Ok(false) => return None,
                Err(e) => return Some(Err(e)),
            }
        }
        match parse_row(&self.frame, self.pos) {
            Ok((row, end)) => {
                self.pos = end;
                Some(Ok(row))
            }
            Err(e) => {
                // Stop after a malformed frame rather than loop on it.
                self.pos = self.frame.len();
                Some(Err(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunk_id::ChunkId;
    use crate::crypto::DataKey;
    use crate::segments::RecordVersion;
    use crate::segments::arena::encoded_len;

    #[test]
    fn runs_round_trip_in_sorted_order_across_frames() {
        let key = DataKey::generate().derive("cairn test spill v1");
        let dir = tempfile::tempdir().unwrap();
        let versions: Vec<RecordVersion> = (0..5000i64)
            .map(|i| RecordVersion {
                key: format!("k{:06}", (i * 7919) % 5000),
                version: i,
                deleted: i % 7 == 0,
                modstamp: -i,
                created_by: "u".into(),
                modified_by: String::new(),
                chunks: vec![ChunkId([i as u8; 32]); (i % 3) as usize],
                record: "x".repeat((i % 500) as usize),
            })
            .collect();
        let mut arena = RowArena::default();
        for v in &versions {
            arena.push(v, encoded_len(v).unwrap());
        }
        arena.prepare().unwrap();
        let file = write_run(dir.path(), &key, &arena).unwrap();
        assert!(
            file.metadata().unwrap().len() > 2 * FRAME as u64,
            "several frames"
        );
        let back: Vec<RawRow> = RunReader::new(file, key).collect::<Result<_>>().unwrap();
        let mut want = versions.clone();
        want.sort_by(|a, b| a.key.cmp(&b.key));
        assert_eq!(back.len(), want.len());
        for (r, v) in back.iter().zip(&want) {
            assert_eq!(&r.key[..], v.key.as_bytes());
            assert_eq!(
                (r.version, r.deleted, r.modstamp),
                (v.version, v.deleted, v.modstamp)
            );
            assert_eq!(&r.created_by[..], v.created_by.as_bytes());
            assert_eq!(&r.modified_by[..], v.modified_by.as_bytes());
            let ids: Vec<u8> = v.chunks.iter().flat_map(|c| c.0).collect();
            assert_eq!(&r.chunks[..], &ids[..]);
            assert_eq!(&r.record[..], v.record.as_bytes());
        }
    }

    #[test]
    fn a_modified_run_is_refused() {
        let key = DataKey::generate().derive("cairn test spill v1");
        let dir = tempfile::tempdir().unwrap();
        let v = RecordVersion {
            key: "k".into(),
            record: "{}".into(),
            ..RecordVersion::default()
        };
        let mut arena = RowArena::default();
        arena.push(&v, encoded_len(&v).unwrap());
        arena.prepare().unwrap();
        let mut file = write_run(dir.path(), &key, &arena).unwrap();
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).unwrap();
        bytes[10] ^= 1;
        let mut bad = tempfile::tempfile_in(dir.path()).unwrap();
        bad.write_all(&bytes).unwrap();
        use std::io::Seek;
        bad.rewind().unwrap();
        let got: Vec<Result<RawRow>> = RunReader::new(bad, key).collect();
        assert_eq!(got.len(), 1);
        assert!(got[0].is_err());
    }
}
