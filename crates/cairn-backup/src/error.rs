//! The backup engine's error type.

use cairn_dropbox::DropboxError;
use cairn_meta::MetaError;
use cairn_salesforce::SalesforceError;
use cairn_vault::VaultError;

/// Everything that can stop a backup run (or one entity of it).
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The meta store failed.
    #[error("meta store: {0}")]
    Meta(#[from] MetaError),
    /// The vault failed.
    #[error("vault: {0}")]
    Vault(#[from] VaultError),
    /// The Salesforce connector failed.
    #[error("{0}")]
    Salesforce(#[from] SalesforceError),
    /// The Dropbox connector failed.
    #[error("{0}")]
    Dropbox(#[from] DropboxError),
    /// A stored token could not be opened or sealed (wrong master key, damaged row).
    #[error("stored token: {0}")]
    Token(String),
    /// The task cannot be backed up as configured.
    #[error("{0}")]
    Config(String),
    /// A stored entity cursor is unreadable.
    #[error("entity {entity}: unreadable cursor: {message}")]
    Cursor {
        /// The entity's name.
        entity: String,
        /// What was wrong.
        message: String,
    },
}

impl BackupError {
    /// Whether the run must stop for the API budget (Partial, continue next run).
    #[must_use]
    pub fn is_budget_exhausted(&self) -> bool {
        matches!(self, Self::Salesforce(e) if e.is_budget_exhausted())
    }

    /// Whether the task's connection is dead (re-authenticate).
    #[must_use]
    pub fn is_disconnected(&self) -> bool {
        match self {
            Self::Salesforce(e) => e.is_disconnected(),
            Self::Dropbox(e) => e.is_disconnected(),
            _ => false,
        }
    }
}

/// Result alias of this crate.
pub type Result<T, E = BackupError> = std::result::Result<T, E>;
