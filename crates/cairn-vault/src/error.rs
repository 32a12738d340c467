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

/// Result alias for vault operations.
pub type Result<T, E = VaultError> = std::result::Result<T, E>;
