//! Accounts and sign-in as operations, independent of HTTP: sign-up, activation, sign-in
//! and sign-out, password reset and change, operator-created users.
//!
//! Handlers (and the admin CLI) call these through [`Auth`]; each operation validates its
//! input, writes to the meta store, sends mail, and records a security-audit event for
//! every attempt, successful or not. Refusals come back as values the caller can show
//! ([`FormErrors`], [`SignInRefusal`]); only operational failures are errors.

mod mails;
mod passwords;
mod session;
mod sign_in;
mod sign_up;
mod users;

use std::collections::BTreeMap;

use cairn_domain::event::{Event, RequestOrigin};

use crate::error::WebError;
use crate::state::AppState;

pub use passwords::{ChangePasswordInput, ResetOutcome};
pub use session::SessionCheck;
pub use sign_in::{SignInRefusal, SignedIn};
pub use sign_up::SignUpInput;
pub use users::NewUserInput;

/// Validation messages for a form: per field, and for the form as a whole.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FormErrors {
    /// Messages by field name.
    pub fields: BTreeMap<&'static str, Vec<String>>,
    /// Messages not tied to one field.
    pub form: Vec<String>,
}

impl FormErrors {
    /// Adds a message for `field`.
    pub fn add(&mut self, field: &'static str, message: impl Into<String>) {
        self.fields.entry(field).or_default().push(message.into());
    }

    /// Whether there are no messages.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.form.is_empty()
    }

    /// The messages for `field`, joined for display.
    #[must_use]
    pub fn field(&self, field: &str) -> String {
        self.fields
            .get(field)
            .map(|m| m.join(" "))
            .unwrap_or_default()
    }

    /// Whether `field` has messages.
    #[must_use]
    pub fn has(&self, field: &str) -> bool {
        self.fields.contains_key(field)
    }
}

/// The outcome of an operation with a form: refused with messages, or failed.
#[derive(Debug, thiserror::Error)]
pub enum FormFailure {
    /// The input was refused; show the messages.
    #[error("the form has errors")]
    Invalid(FormErrors),
    /// Something broke.
    #[error(transparent)]
    Failed(#[from] WebError),
}

impl From<FormErrors> for FormFailure {
    fn from(errors: FormErrors) -> Self {
        Self::Invalid(errors)
    }
}

impl From<cairn_meta::MetaError> for FormFailure {
    fn from(error: cairn_meta::MetaError) -> Self {
        Self::Failed(error.into())
    }
}

/// Account and sign-in operations over an [`AppState`].
#[derive(Debug, Clone, Copy)]
pub struct Auth<'a> {
    state: &'a AppState,
}

impl AppState {
    /// Account and sign-in operations.
    #[must_use]
    pub fn auth(&self) -> Auth<'_> {
        Auth { state: self }
    }
}

/// Notes on an audit event that its email was held back by the per-address cap.
fn with_mail_outcome(event: Event, sent: bool) -> Event {
    if sent {
        event
    } else {
        event.with("mail", "held_back")
    }
}

impl Auth<'_> {
    /// Sends an account email unless its recipient hit the per-address cap
    /// ([`crate::security::mail_limit`]). Returns whether it was sent; callers note a
    /// held-back message in their audit event and answer the user the same either way.
    async fn send_account_mail(
        &self,
        mail: &cairn_mail::OutgoingMail,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool, WebError> {
        if !self.state.mail_limiter().try_acquire(&mail.to, now) {
            tracing::warn!(subject = %mail.subject, "account email held back: too many to one address");
            return Ok(false);
        }
        self.state.mailer().send(mail, now).await?;
        Ok(true)
    }

    /// Records an audit event. A failure to record is logged, not returned: the user's
    /// action already happened and must not be reported as failed.
    async fn audit(&self, event: Event, origin: &RequestOrigin) {
        let event = event.from_origin(origin);
        if let Err(error) = self.state.store().events().record(&event).await {
            tracing::error!(kind = %event.kind, error = %error, "could not record an audit event");
        }
    }
}
