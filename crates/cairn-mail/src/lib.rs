//! Outgoing mail: activation and reset links now, job reports and alerts later.
//!
//! A [`Mailer`] either speaks SMTP (lettre, configured by one `smtp://` / `smtps://` URL)
//! or, when no SMTP server is configured, writes each message as a JSON file into an
//! [`Outbox`] directory. The outbox is what `cairn demo` uses: its portal page
//! `/dev/mailbox` lists the messages so links can be clicked on a machine without mail.
//! Message bodies are plain text; links in them are absolute URLs built by the caller from
//! the configured public URL.

#![warn(missing_docs)]

mod outbox;

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

pub use outbox::{Outbox, StoredMail, is_valid_id};

/// What can go wrong sending mail.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// A sender or recipient address lettre cannot use.
    #[error("`{address}` is not a usable email address")]
    Address {
        /// The rejected address.
        address: String,
        /// Why.
        #[source]
        source: lettre::address::AddressError,
    },
    /// The SMTP URL could not be understood.
    #[error("invalid SMTP URL (expected smtp://, smtps:// with optional user:password@)")]
    SmtpUrl(#[source] lettre::transport::smtp::Error),
    /// An attachment's media type is not one mail can carry.
    #[error("`{content_type}` is not a valid attachment content type")]
    ContentType {
        /// The rejected type.
        content_type: String,
    },
    /// Building the message failed.
    #[error("could not build the message")]
    Build(#[from] lettre::error::Error),
    /// The SMTP server refused or could not be reached.
    #[error("the SMTP server did not accept the message")]
    Smtp(#[source] lettre::transport::smtp::Error),
    /// Reading or writing the outbox failed.
    #[error("{context}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// An outbox file is not valid JSON.
    #[error("outbox message {id} is unreadable")]
    Corrupt {
        /// The message id.
        id: String,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
}

/// A message to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMail {
    /// Recipient address.
    pub to: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub text: String,
    /// Files sent with the message (reports), in order.
    pub attachments: Vec<Attachment>,
}

/// A file attached to a message.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Attachment {
    /// The file name the recipient sees, e.g. `usage-report-2026-11-22.csv`.
    pub filename: String,
    /// Its media type, e.g. `text/csv; charset=utf-8`.
    pub content_type: String,
    /// The file's bytes (base64 in the outbox's JSON).
    #[serde(with = "base64_bytes")]
    pub content: Vec<u8>,
}

mod base64_bytes {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        STANDARD.decode(text).map_err(serde::de::Error::custom)
    }
}

/// Sends mail by SMTP or into an outbox directory.
#[derive(Clone)]
pub struct Mailer {
    from: Mailbox,
    transport: Transport,
}

#[derive(Clone)]
enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Outbox(Outbox),
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The SMTP transport holds credentials; show only which kind this is.
        let transport = match &self.transport {
            Transport::Smtp(_) => "smtp".to_owned(),
            Transport::Outbox(outbox) => format!("outbox {}", outbox.dir().display()),
        };
        f.debug_struct("Mailer")
            .field("from", &self.from.to_string())
            .field("transport", &transport)
            .finish()
    }
}

fn parse_mailbox(address: &str) -> Result<Mailbox, MailError> {
    address.parse().map_err(|source| MailError::Address {
        address: address.to_owned(),
        source,
    })
}

/// Checks that `address` is a usable mailbox (`name@example.com` or
/// `Name <name@example.com>`).
///
/// # Errors
/// [`MailError::Address`] when it is not.
pub fn check_mailbox(address: &str) -> Result<(), MailError> {
    parse_mailbox(address).map(|_| ())
}

impl Mailer {
    /// A mailer that sends through the SMTP server in `url`
    /// (`smtps://user:password@smtp.example.com`, `smtp://relay:25`,
    /// `smtp://host:587?tls=required`). Nothing is sent until the first message.
    ///
    /// # Errors
    /// An unusable URL or sender address.
    pub fn smtp(url: &str, from: &str) -> Result<Self, MailError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(MailError::SmtpUrl)?
            .build();
        Ok(Self {
            from: parse_mailbox(from)?,
            transport: Transport::Smtp(transport),
        })
    }

    /// A mailer that writes every message into `dir` (created if missing).
    ///
    /// # Errors
    /// An unusable sender address.
    pub fn with_outbox(dir: PathBuf, from: &str) -> Result<Self, MailError> {
        Ok(Self {
            from: parse_mailbox(from)?,
            transport: Transport::Outbox(Outbox::new(dir)),
        })
    }

    /// The outbox, when this mailer writes to one.
    #[must_use]
    pub fn outbox(&self) -> Option<&Outbox> {
        match &self.transport {
            Transport::Outbox(outbox) => Some(outbox),
            Transport::Smtp(_) => None,
        }
    }

    /// Sends `mail`; `at` is the send time recorded in the outbox.
    ///
    /// # Errors
    /// Bad addresses, SMTP failures, outbox write failures.
    pub async fn send(&self, mail: &OutgoingMail, at: DateTime<Utc>) -> Result<(), MailError> {
        let to = parse_mailbox(&mail.to)?;
        match &self.transport {
            Transport::Smtp(transport) => {
                let builder = Message::builder()
                    .from(self.from.clone())
                    .to(to)
                    .subject(mail.subject.clone());
                let message = if mail.attachments.is_empty() {
                    builder
                        .header(ContentType::TEXT_PLAIN)
                        .body(mail.text.clone())?
                } else {
                    builder.multipart(with_attachments(mail)?)?
                };
                transport.send(message).await.map_err(MailError::Smtp)?;
                tracing::info!(subject = %mail.subject, "mail sent by SMTP");
            }
            Transport::Outbox(outbox) => {
                let stored = outbox.store(&self.from.to_string(), mail, at).await?;
                tracing::info!(id = %stored.id, subject = %mail.subject, "mail written to the outbox");
            }
        }
        Ok(())
    }
}

/// The text part followed by one part per attachment.
fn with_attachments(mail: &OutgoingMail) -> Result<MultiPart, MailError> {
    let mut parts = MultiPart::mixed().singlepart(SinglePart::plain(mail.text.clone()));
    for file in &mail.attachments {
        let content_type =
            ContentType::parse(&file.content_type).map_err(|_| MailError::ContentType {
                content_type: file.content_type.clone(),
            })?;
        parts = parts.singlepart(
            lettre::message::Attachment::new(file.filename.clone())
                .body(file.content.clone(), content_type),
        );
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn outbox_mailer_stores_messages() {
        let dir = tempfile::tempdir().unwrap();
        let mailer =
            Mailer::with_outbox(dir.path().join("outbox"), "Cairn <no-reply@example.com>").unwrap();
        let mail = OutgoingMail {
            to: "ada@example.com".into(),
            subject: "Activate your account".into(),
            text: "Open https://cairn.example.com/activate?token=abc".into(),
            attachments: Vec::new(),
        };
        mailer.send(&mail, Utc::now()).await.unwrap();
        let listed = mailer.outbox().unwrap().list(10).await.unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].to, "ada@example.com");
        assert_eq!(listed[0].from, "Cairn <no-reply@example.com>");
        assert_eq!(listed[0].text, mail.text);
        assert!(format!("{mailer:?}").contains("outbox"));
    }

    #[tokio::test]
    async fn bad_addresses_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        assert!(Mailer::with_outbox(dir.path().to_owned(), "not an address").is_err());
        let mailer = Mailer::with_outbox(dir.path().to_owned(), "a@example.com").unwrap();
        let err = mailer
            .send(
                &OutgoingMail {
                    to: "nobody".into(),
                    subject: "x".into(),
                    text: "x".into(),
                    attachments: Vec::new(),
                },
                Utc::now(),
            )
            .await
            .unwrap_err();
        assert!(matches!(err, MailError::Address { .. }), "{err}");
        assert!(mailer.outbox().unwrap().list(10).await.unwrap().is_empty());
    }

    fn report() -> Attachment {
        Attachment {
            filename: "usage-report.csv".into(),
            content_type: "text/csv; charset=utf-8".into(),
            content: b"task,entity\nOrg,Account\n".to_vec(),
        }
    }

    #[tokio::test]
    async fn attachments_are_kept_byte_for_byte_in_the_outbox() {
        let dir = tempfile::tempdir().unwrap();
        let mailer = Mailer::with_outbox(dir.path().to_owned(), "a@example.com").unwrap();
        let mail = OutgoingMail {
            to: "ada@example.com".into(),
            subject: "Usage report".into(),
            text: "Attached.".into(),
            attachments: vec![report()],
        };
        mailer.send(&mail, Utc::now()).await.unwrap();
        let stored = &mailer.outbox().unwrap().list(1).await.unwrap()[0];
        assert_eq!(stored.attachments, vec![report()]);
    }

    #[test]
    fn attachments_become_mime_parts_and_bad_types_are_refused() {
        let mut mail = OutgoingMail {
            to: "ada@example.com".into(),
            subject: "Usage report".into(),
            text: "Attached.".into(),
            attachments: vec![report()],
        };
        let body = String::from_utf8(with_attachments(&mail).unwrap().formatted()).unwrap();
        assert!(body.contains("multipart/mixed"), "{body}");
        assert!(body.contains("filename=\"usage-report.csv\""), "{body}");
        assert!(body.contains("text/csv"), "{body}");
        mail.attachments[0].content_type = "not a type".into();
        assert!(matches!(
            with_attachments(&mail),
            Err(MailError::ContentType { .. })
        ));
    }

    #[test]
    fn smtp_urls_are_validated_and_credentials_not_shown() {
        let mailer = Mailer::smtp(
            "smtps://user:s3cret@smtp.example.com:465",
            "no-reply@example.com",
        )
        .unwrap();
        assert!(!format!("{mailer:?}").contains("s3cret"));
        assert!(mailer.outbox().is_none());
        assert!(Mailer::smtp("http://example.com", "no-reply@example.com").is_err());
    }
}
