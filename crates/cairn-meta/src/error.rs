//! The meta store's one error type.
//!
//! Callers match on the variant to decide what to tell users: [`MetaError::NotFound`] and
//! [`MetaError::Conflict`] are expected outcomes of well-formed requests; everything else
//! is an operational failure whose source chain is kept for the log.

/// Shorthand for results in this crate.
pub type Result<T, E = MetaError> = std::result::Result<T, E>;

/// What went wrong in the meta store.
#[derive(Debug, thiserror::Error)]
pub enum MetaError {
    /// The row asked for does not exist (or is not visible to this account).
    #[error("{what} not found")]
    NotFound {
        /// What was looked up, e.g. "user".
        what: &'static str,
    },

    /// A uniqueness rule would be broken (e.g. the email address is already registered).
    #[error("{what} already exists")]
    Conflict {
        /// What collided, e.g. "user email".
        what: &'static str,
    },

    /// The database was migrated by a newer Cairn than this binary.
    #[error(
        "the database schema is at version {database}, but this build of Cairn only knows \
         versions up to {known}; upgrade Cairn instead of running an older binary against it"
    )]
    SchemaTooNew {
        /// The highest migration applied to the database.
        database: i64,
        /// The highest migration this binary contains.
        known: i64,
    },

    /// The database URL is not one this store can open.
    #[error("unsupported database URL `{url}`: {reason}")]
    InvalidUrl {
        /// The URL with any password removed.
        url: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A stored value could not be turned back into a domain value.
    #[error("stored data is invalid: {detail}")]
    Corrupt {
        /// Which value, and why.
        detail: String,
    },

    /// `admin db copy` refused or failed.
    #[error("database copy failed: {0}")]
    Copy(String),

    /// Applying migrations failed.
    #[error("migrating the database failed")]
    Migrate(#[from] sqlx::migrate::MigrateError),

    /// The database reported an error or could not be reached.
    #[error("database error")]
    Database(#[source] sqlx::Error),

    /// A filesystem error (creating the SQLite file's directory).
    #[error("{context}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

impl From<sqlx::Error> for MetaError {
    fn from(error: sqlx::Error) -> Self {
        if let sqlx::Error::RowNotFound = error {
            return Self::NotFound { what: "row" };
        }
        Self::Database(error)
    }
}

impl MetaError {
    /// Whether this is a [`MetaError::NotFound`].
    #[must_use]
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::NotFound { .. })
    }

    /// Builds a [`MetaError::Corrupt`].
    pub(crate) fn corrupt(detail: impl std::fmt::Display) -> Self {
        Self::Corrupt {
            detail: detail.to_string(),
        }
    }
}

/// Maps a unique-constraint violation to [`MetaError::Conflict`], anything else through
/// the usual conversion.
pub(crate) fn conflict_on_unique(what: &'static str) -> impl FnOnce(sqlx::Error) -> MetaError {
    move |error| match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() => MetaError::Conflict { what },
        _ => MetaError::from(error),
    }
}
