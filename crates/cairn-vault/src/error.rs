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
}

/// Result alias for vault operations.
pub type Result<T, E = VaultError> = std::result::Result<T, E>;
