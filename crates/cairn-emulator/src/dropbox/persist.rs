//! Persistence in the data directory: what the team was generated from, plus a journal.
//!
//! Layout under `<data dir>/dropbox/`: `team.json` (generator spec and reset epoch),
//! `journal.jsonl` (one applied [`Op`] or [`TokenOp`] per line, in order) and `blobs/`
//! (uploaded bytes). On start the team is regenerated from the spec and the journal is
//! replayed; a torn last line (crash mid-append) is ignored.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use super::generator::TeamSpec;
use super::ops::Op;
use super::tokens::TokenOp;
use crate::error::EmulatorError;

const FORMAT: u32 = 1;

/// `team.json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Stored {
    /// Layout version.
    pub format: u32,
    /// What the team was generated from.
    pub spec: TeamSpec,
    /// Number of control resets so far (cursors carry it).
    pub epoch: u64,
}

/// One journal line.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum Entry {
    /// A team change.
    Team(Op),
    /// A token change.
    Token(TokenOp),
}

/// The append-only journal.
#[derive(Debug)]
pub struct Journal {
    dir: PathBuf,
    file: Mutex<BufWriter<File>>,
}

fn io_err(what: &str, path: &Path) -> impl FnOnce(std::io::Error) -> EmulatorError {
    let context = format!("{what} {}", path.display());
    move |e| EmulatorError::io(context, e)
}

/// Reads `team.json`, or writes it for `spec` if the directory is new. A directory holding
/// a team generated from a different spec is refused rather than silently mixed.
///
/// # Errors
/// [`EmulatorError::Invalid`] on a spec mismatch or unreadable file, IO errors otherwise.
pub fn load_or_init(dir: &Path, spec: &TeamSpec) -> Result<Stored, EmulatorError> {
    std::fs::create_dir_all(dir).map_err(io_err("creating", dir))?;
    let path = dir.join("team.json");
    if path.exists() {
        let text = std::fs::read_to_string(&path).map_err(io_err("reading", &path))?;
        let stored: Stored = serde_json::from_str(&text).map_err(|e| {
            EmulatorError::Invalid(format!("{} is not a valid team file: {e}", path.display()))
        })?;
        if stored.format != FORMAT {
            return Err(EmulatorError::Invalid(format!(
                "{} has layout version {}, this build reads {FORMAT}",
                path.display(),
                stored.format
            )));
        }
        if stored.spec != *spec {
            return Err(EmulatorError::Invalid(format!(
                "{} holds a team generated with different options ({:?}); start with the \
                 same options or use another --data-dir",
                dir.display(),
                stored.spec
            )));
        }
        return Ok(stored);
    }
    let stored = Stored {
        format: FORMAT,
        spec: spec.clone(),
        epoch: 0,
    };
    save(dir, &stored)?;
    Ok(stored)
}

/// Rewrites `team.json`.
///
/// # Errors
/// IO errors.
pub fn save(dir: &Path, stored: &Stored) -> Result<(), EmulatorError> {
    let path = dir.join("team.json");
    let tmp = dir.join("team.json.tmp");
    let text = serde_json::to_string_pretty(stored)
        .map_err(|e| EmulatorError::Invalid(format!("serialising team.json: {e}")))?;
    std::fs::write(&tmp, text).map_err(io_err("writing", &tmp))?;
    std::fs::rename(&tmp, &path).map_err(io_err("renaming", &tmp))
}

impl Journal {
    /// Opens (creating if needed) the journal and returns the entries already in it.
    ///
    /// # Errors
    /// IO errors, or [`EmulatorError::Invalid`] for a corrupt line other than the last.
    pub fn open(dir: &Path) -> Result<(Self, Vec<Entry>), EmulatorError> {
        let path = dir.join("journal.jsonl");
        let mut entries = Vec::new();
        let mut valid_len = 0u64;
        if path.exists() {
            let file = File::open(&path).map_err(io_err("opening", &path))?;
            let mut reader = BufReader::new(file);
            let mut line = String::new();
            let mut number = 0;
            loop {
                line.clear();
                let read = reader
                    .read_line(&mut line)
                    .map_err(io_err("reading", &path))?;
                if read == 0 {
                    break;
                }
                number += 1;
                if !line.ends_with('\n') {
                    // A torn final line: the append never finished, drop it.
                    break;
                }
                match serde_json::from_str::<Entry>(line.trim_end()) {
                    Ok(entry) => {
                        entries.push(entry);
                        valid_len += read as u64;
                    }
                    Err(e) => {
                        return Err(EmulatorError::Invalid(format!(
                            "{} line {number} is corrupt: {e}",
                            path.display()
                        )));
                    }
                }
            }
        }
        let file = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(false)
            .open(&path)
            .map_err(io_err("opening", &path))?;
        file.set_len(valid_len)
            .map_err(io_err("truncating", &path))?;
        let mut writer = BufWriter::new(file);
        std::io::Seek::seek(&mut writer, std::io::SeekFrom::End(0))
            .map_err(io_err("seeking", &path))?;
        Ok((
            Self {
                dir: dir.to_owned(),
                file: Mutex::new(writer),
            },
            entries,
        ))
    }

    /// Appends one entry and flushes it to the OS.
    ///
    /// # Errors
    /// IO errors.
    pub fn append(&self, entry: &Entry) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(entry).map_err(std::io::Error::other)?;
        line.push(b'\n');
        let mut file = self.file.lock();
        file.write_all(&line)?;
        file.flush()
    }

    /// Empties the journal (control reset), keeping `keep` (e.g. token entries).
    ///
    /// # Errors
    /// IO errors.
    pub fn rewrite(&self, keep: &[Entry]) -> std::io::Result<()> {
        let mut file = self.file.lock();
        file.flush()?;
        file.get_mut().set_len(0)?;
        std::io::Seek::seek(&mut *file, std::io::SeekFrom::Start(0))?;
        for entry in keep {
            let mut line = serde_json::to_vec(entry).map_err(std::io::Error::other)?;
            line.push(b'\n');
            file.write_all(&line)?;
        }
        file.flush()
    }

    /// The directory it lives in.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_survive_reopening_and_a_torn_line_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let (journal, entries) = Journal::open(dir.path()).unwrap();
        assert!(entries.is_empty());
        let op = Entry::Team(Op::ForceReset { ns: Some(3) });
        journal.append(&op).unwrap();
        journal
            .append(&Entry::Token(TokenOp::ExpireAll { at: 5 }))
            .unwrap();
        drop(journal);
        let path = dir.path().join("journal.jsonl");
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str("{\"team\":{\"op\":\"for");
        std::fs::write(&path, text).unwrap();
        let (journal, entries) = Journal::open(dir.path()).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0], op);
        journal.append(&op).unwrap();
        drop(journal);
        let (_, entries) = Journal::open(dir.path()).unwrap();
        assert_eq!(entries.len(), 3, "the torn line was cut before appending");
    }

    #[test]
    fn a_different_spec_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let spec = TeamSpec::default();
        load_or_init(dir.path(), &spec).unwrap();
        assert!(load_or_init(dir.path(), &spec).is_ok());
        let other = TeamSpec { seed: 99, ..spec };
        assert!(matches!(
            load_or_init(dir.path(), &other),
            Err(EmulatorError::Invalid(_))
        ));
    }
}
