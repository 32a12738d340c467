//! The vault's one error type.

/// Everything that can go wrong in the vault.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// Authenticated decryption failed: the object was modified, truncated, or sealed
    /// with another key. Never returns partial plaintext.
    #[error("integrity check failed for {what}: the data was modified or belongs to another key")]
    Integrity {
        /// What was being opened (an object name or a description).
        what: String,
    },
    /// A key, key file or wrapped key is malformed.
    #[error("invalid key: {0}")]
    InvalidKey(String),
    /// The storage location string could not be understood or the store not built.
    #[error("invalid vault location {location:?}: {reason}")]
    Location {
        /// The location as given (credentials in the query string removed).
        location: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An object-store operation failed (after retries, for transient errors).
    #[error("object store {op} of {object:?} failed: {source}")]
    Backend {
        /// The operation (`put`, `get`, `list`, …).
        op: &'static str,
        /// The object name relative to the vault root.
        object: String,
        /// The store's error.
        #[source]
        source: object_store::Error,
    },
    /// An object the vault needs does not exist.
    #[error("vault object {0:?} not found")]
    NotFound(String),
    /// An object that must be new already exists (objects are never overwritten).
    #[error("vault object {0:?} already exists")]
    AlreadyExists(String),
    /// The location holds no vault (no `config` object).
    #[error("no vault at {0} (run `cairn vault init` first)")]
    NotAVault(String),
    /// A vault object decrypted fine but its content is not what the format says.
    #[error("malformed vault object {object:?}: {detail}")]
    Format {
        /// The object name.
        object: String,
        /// What is wrong.
        detail: String,
    },
    /// A chunk a snapshot or caller refers to is not in the vault's index.
    #[error("chunk {0} is not in the vault (missing or pruned)")]
    MissingChunk(String),
    /// A snapshot id or prefix matched nothing, or more than one snapshot.
    #[error("snapshot {0:?}: {1}")]
    Snapshot(String, String),
    /// Local file-system IO failed (reading a source or writing a restore).
    #[error("{path}: {source}")]
    Io {
        /// The local path.
        path: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A request the vault rejects because of its arguments.
    #[error("invalid request: {0}")]
    Invalid(String),
    /// A background task (blocking pool or upload) failed or was cancelled.
    #[error("vault worker failed: {0}")]
    Worker(String),
    // --- segments ---
    /// A record segment is structurally invalid (bad trailer, undecodable Parquet, sizes
    /// that do not add up). Authenticated-decryption failures are [`VaultError::Integrity`].
    #[error("record segment {object} is corrupt: {detail}")]
    SegmentCorrupt {
        /// The segment's object name, `segments/<32 hex>.seg`.
        object: String,
        /// What was wrong.
        detail: String,
    },
    /// The object store failed while reading or writing a record segment.
    #[error("object store error on {object}: {source}")]
    SegmentStore {
        /// The object (or prefix) being accessed.
        object: String,
        /// The store's error.
        #[source]
        source: object_store::Error,
    },
    /// Encoding a record segment failed, or a local spill file could not be used.
    #[error("record segment writer: {0}")]
    SegmentWrite(String),
    /// The caller passed records the segment writer cannot accept.
    #[error("invalid record: {0}")]
    SegmentInput(String),
}

impl VaultError {
    /// Builds an [`VaultError::Io`] for `path`.
    pub(crate) fn io(path: impl AsRef<std::path::Path>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.as_ref().display().to_string(),
            source,
        }
    }

    /// Builds a [`VaultError::Format`].
    pub(crate) fn format(object: impl Into<String>, detail: impl std::fmt::Display) -> Self {
        Self::Format {
            object: object.into(),
            detail: detail.to_string(),
        }
    }

    /// The same error with the object it concerns named in the message where the
    /// original only described the kind of blob (for [`VaultError::Integrity`]).
    pub(crate) fn in_object(self, object: &str) -> Self {
        match self {
            Self::Integrity { .. } => Self::Integrity {
                what: object.to_owned(),
            },
            other => other,
        }
    }
}

/// Result alias for vault operations.
pub type Result<T, E = VaultError> = std::result::Result<T, E>;
