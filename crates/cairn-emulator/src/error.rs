//! The emulator crate's error type (start-up and IO; API errors are wire responses).

/// Failures starting or persisting an emulator.
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    /// Generating the CA or server certificate failed.
    #[error("could not generate TLS certificates: {0}")]
    Tls(String),
    /// The options, or what the data directory holds, are inconsistent or unreadable; or a
    /// control request was malformed.
    #[error("{0}")]
    Invalid(String),
    /// A control request named something that does not exist.
    #[error("{0}")]
    NotFound(String),
    /// A control-API request was invalid (unknown object, bad selection, …).
    #[error("{0}")]
    BadRequest(String),
    /// A persisted emulator state could not be read (corrupt, or from another schema).
    #[error("cannot load the saved emulator state: {0}")]
    Snapshot(String),
    /// Reading or writing the data directory, or binding a socket, failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

impl EmulatorError {
    /// Wraps an IO error with what was being attempted.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            context: context.into(),
            source,
        }
    }
}
