//! The `cairn` library's error type: configuration and start-up failures.

/// What can stop Cairn from starting or running a command.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration is unreadable or invalid; the message names the key.
    #[error("configuration: {0}")]
    Config(String),
    /// The meta store failed.
    #[error(transparent)]
    Meta(#[from] cairn_meta::MetaError),
    /// The mailer could not be set up.
    #[error(transparent)]
    Mail(#[from] cairn_mail::MailError),
    /// The web layer failed (TLS material, state set-up).
    #[error(transparent)]
    Web(#[from] cairn_web::WebError),
    /// A filesystem or socket error.
    #[error("{context}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}
