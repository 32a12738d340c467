//! The outbox: one JSON file per message in a directory.
//!
//! File names are the message ids (UUIDv7, so they sort by creation). Files are written to
//! a temporary name and renamed, so a reader never sees half a message, and are readable
//! only by their owner because reset links in them are credentials.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{Attachment, MailError, OutgoingMail};

/// A message kept in the outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredMail {
    /// Its id: 32 lowercase hex digits.
    pub id: String,
    /// Sender, as a mailbox string.
    pub from: String,
    /// Recipient address.
    pub to: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub text: String,
    /// When it was sent.
    pub sent_at: DateTime<Utc>,
    /// Attached files (messages written before attachments existed have none).
    #[serde(default)]
    pub attachments: Vec<Attachment>,
}

/// A directory of sent messages.
#[derive(Debug, Clone)]
pub struct Outbox {
    dir: PathBuf,
}

/// Whether `id` has the shape of an outbox id (so it can be used as a file name safely).
#[must_use]
pub fn is_valid_id(id: &str) -> bool {
    id.len() == 32
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn io_error(context: String) -> impl FnOnce(std::io::Error) -> MailError {
    move |source| MailError::Io { context, source }
}

impl Outbox {
    /// The outbox in `dir` (created on first write).
    #[must_use]
    pub fn new(dir: PathBuf) -> Self {
        Self { dir }
    }

    /// Its directory.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes `mail` as a new message.
    ///
    /// # Errors
    /// Filesystem errors.
    pub async fn store(
        &self,
        from: &str,
        mail: &OutgoingMail,
        at: DateTime<Utc>,
    ) -> Result<StoredMail, MailError> {
        let stored = StoredMail {
            id: uuid::Uuid::now_v7().simple().to_string(),
            from: from.to_owned(),
            to: mail.to.clone(),
            subject: mail.subject.clone(),
            text: mail.text.clone(),
            sent_at: at,
            attachments: mail.attachments.clone(),
        };
        create_private_dir(&self.dir).await?;
        let json = serde_json::to_vec_pretty(&stored).map_err(|source| MailError::Corrupt {
            id: stored.id.clone(),
            source,
        })?;
        let final_path = self.dir.join(format!("{}.json", stored.id));
        let temp_path = self.dir.join(format!(".{}.json.tmp", stored.id));
        write_private(&temp_path, &json).await?;
        tokio::fs::rename(&temp_path, &final_path)
            .await
            .map_err(io_error(format!(
                "moving {} into place",
                final_path.display()
            )))?;
        Ok(stored)
    }

    /// The newest `limit` messages, newest first.
    ///
    /// # Errors
    /// Filesystem errors; unreadable message files.
    pub async fn list(&self, limit: usize) -> Result<Vec<StoredMail>, MailError> {
        let mut ids = Vec::new();
        let mut entries = match tokio::fs::read_dir(&self.dir).await {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_error(format!("listing {}", self.dir.display()))(e)),
        };
        while let Some(entry) = entries
            .next_entry()
            .await
            .map_err(io_error(format!("listing {}", self.dir.display())))?
        {
            let name = entry.file_name();
            if let Some(id) = name.to_str().and_then(|n| n.strip_suffix(".json"))
                && is_valid_id(id)
            {
                ids.push(id.to_owned());
            }
        }
        ids.sort_unstable_by(|a, b| b.cmp(a));
        let mut messages = Vec::with_capacity(ids.len().min(limit));
        for id in ids.into_iter().take(limit) {
            if let Some(message) = self.get(&id).await? {
                messages.push(message);
            }
        }
        Ok(messages)
    }

    /// The message `id`, or `None` if there is none (or `id` is malformed).
    ///
    /// # Errors
    /// Filesystem errors; an unreadable message file.
    pub async fn get(&self, id: &str) -> Result<Option<StoredMail>, MailError> {
        if !is_valid_id(id) {
            return Ok(None);
        }
        let path = self.dir.join(format!("{id}.json"));
        let bytes = match tokio::fs::read(&path).await {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_error(format!("reading {}", path.display()))(e)),
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|source| MailError::Corrupt {
                id: id.to_owned(),
                source,
            })
    }
}

async fn create_private_dir(dir: &Path) -> Result<(), MailError> {
    let mut builder = tokio::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    builder.mode(0o700);
    builder
        .create(dir)
        .await
        .map_err(io_error(format!("creating {}", dir.display())))
}

async fn write_private(path: &Path, bytes: &[u8]) -> Result<(), MailError> {
    use tokio::io::AsyncWriteExt;
    let mut options = tokio::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options
        .open(path)
        .await
        .map_err(io_error(format!("creating {}", path.display())))?;
    file.write_all(bytes)
        .await
        .map_err(io_error(format!("writing {}", path.display())))?;
    file.sync_all()
        .await
        .map_err(io_error(format!("writing {}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mail(subject: &str) -> OutgoingMail {
        OutgoingMail {
            to: "ada@example.com".into(),
            subject: subject.into(),
            text: "body".into(),
            attachments: Vec::new(),
        }
    }

    #[tokio::test]
    async fn lists_newest_first_and_reads_by_id() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = Outbox::new(dir.path().join("out"));
        assert!(
            outbox.list(10).await.unwrap().is_empty(),
            "missing dir is empty"
        );
        let first = outbox
            .store("a@b.co", &mail("first"), Utc::now())
            .await
            .unwrap();
        let second = outbox
            .store("a@b.co", &mail("second"), Utc::now())
            .await
            .unwrap();
        let listed = outbox.list(10).await.unwrap();
        assert_eq!(listed, vec![second.clone(), first.clone()]);
        assert_eq!(outbox.list(1).await.unwrap(), vec![second]);
        assert_eq!(outbox.get(&first.id).await.unwrap(), Some(first));
    }

    #[tokio::test]
    async fn malformed_and_unknown_ids_are_not_found() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = Outbox::new(dir.path().to_owned());
        assert_eq!(outbox.get("../../etc/passwd").await.unwrap(), None);
        assert_eq!(outbox.get(&"0".repeat(32)).await.unwrap(), None);
        assert!(!is_valid_id(&"A".repeat(32)));
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn files_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let outbox = Outbox::new(dir.path().join("out"));
        let stored = outbox
            .store("a@b.co", &mail("x"), Utc::now())
            .await
            .unwrap();
        let meta =
            std::fs::metadata(dir.path().join("out").join(format!("{}.json", stored.id))).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    }
}
