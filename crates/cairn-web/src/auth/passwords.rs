//! Forgotten passwords and password changes (F-ACC-2).
//!
//! Asking for a reset link answers the same whether or not the address has an account.
//! Using a link sets the password, spends the link and signs the user out everywhere, in
//! one transaction. Changing a password needs the current one and signs out every other
//! session of the user.

use cairn_domain::event::{Event, EventKind, EventOutcome, RequestOrigin};
use cairn_domain::{EmailAddress, User, UserStatus};
use cairn_meta::{NewEmailToken, SessionRecord, TokenPurpose};

use super::{Auth, FormErrors, FormFailure, mails, with_mail_outcome};
use crate::error::WebError;
use crate::security::tokens;

/// The change-password form.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct ChangePasswordInput {
    /// The current password.
    #[serde(default)]
    pub current_password: String,
    /// The new password.
    #[serde(default)]
    pub password: String,
    /// The new password again.
    #[serde(default)]
    pub password_confirm: String,
}

/// The result of submitting a new password through a reset link.
#[derive(Debug)]
pub enum ResetOutcome {
    /// Done; the user can sign in with the new password.
    Reset(User),
    /// The link is malformed, unknown, used or expired.
    InvalidLink,
    /// The new password was refused.
    Invalid(FormErrors),
}

impl Auth<'_> {
    /// Emails a reset link if `email` belongs to a user who may sign in.
    ///
    /// # Errors
    /// [`FormFailure::Invalid`] for a malformed address; store or mail failures.
    pub async fn request_password_reset(
        &self,
        email: &str,
        origin: &RequestOrigin,
    ) -> Result<(), FormFailure> {
        let email = EmailAddress::parse(email).map_err(|e| {
            let mut errors = FormErrors::default();
            errors.add("email", e.to_string());
            errors
        })?;
        let now = self.state.clock().now();
        let store = self.state.store();
        let record = store.directory().find_user_by_email(&email).await?;
        let user = match record {
            Some(record) if record.user.status != UserStatus::Disabled => record.user,
            other => {
                let reason = if other.is_some() {
                    "disabled"
                } else {
                    "unknown_email"
                };
                let mut event =
                    Event::new(EventKind::PasswordResetRequest, EventOutcome::Failure, now)
                        .by(other.as_ref().map(|r| r.user.id), email.as_str())
                        .with("reason", reason);
                if let Some(record) = &other {
                    event = event.in_account(record.user.account_id);
                }
                self.audit(event, origin).await;
                return Ok(());
            }
        };
        let token = tokens::issue();
        store
            .email_tokens()
            .issue(&NewEmailToken {
                token_hash: token.hash.clone(),
                user_id: user.id,
                purpose: TokenPurpose::PasswordReset,
                created_at: now,
                expires_at: now + self.state.settings().auth.reset_link_ttl(),
            })
            .await?;
        let mail = mails::password_reset(
            self.state.settings(),
            user.email.as_str(),
            &user.name,
            &token.token,
        );
        let sent = self.send_account_mail(&mail, now).await?;
        let event = Event::new(EventKind::PasswordResetRequest, EventOutcome::Success, now)
            .in_account(user.account_id)
            .by(Some(user.id), user.email.as_str());
        self.audit(with_mail_outcome(event, sent), origin).await;
        Ok(())
    }

    /// The user a reset link belongs to, if it is still usable (shown before the form).
    ///
    /// # Errors
    /// Store failures.
    pub async fn reset_link_user(&self, token: &str) -> Result<Option<User>, WebError> {
        if !tokens::looks_valid(token) {
            return Ok(None);
        }
        let now = self.state.clock().now();
        Ok(self
            .state
            .store()
            .email_tokens()
            .peek(&tokens::hash(token), TokenPurpose::PasswordReset, now)
            .await?)
    }

    /// Sets a new password through a reset link.
    ///
    /// # Errors
    /// Store failures.
    pub async fn reset_password(
        &self,
        token: &str,
        password: &str,
        confirm: &str,
        origin: &RequestOrigin,
    ) -> Result<ResetOutcome, WebError> {
        let now = self.state.clock().now();
        let Some(user) = self.reset_link_user(token).await? else {
            self.audit(
                Event::new(EventKind::PasswordReset, EventOutcome::Failure, now)
                    .with("reason", "invalid_or_expired_link"),
                origin,
            )
            .await;
            return Ok(ResetOutcome::InvalidLink);
        };
        let errors = self.check_new_password(&user, password, confirm);
        if !errors.is_empty() {
            return Ok(ResetOutcome::Invalid(errors));
        }
        let hash = self.state.passwords().hash(password).await?;
        let store = self.state.store();
        let Some(user) = store
            .email_tokens()
            .reset_password(&tokens::hash(token), &hash, now)
            .await?
        else {
            // Used or expired between the check and now.
            return Ok(ResetOutcome::InvalidLink);
        };
        store
            .sign_in_failures()
            .clear_for_email(user.email.as_str())
            .await?;
        self.audit(
            Event::new(EventKind::PasswordReset, EventOutcome::Success, now)
                .in_account(user.account_id)
                .by(Some(user.id), user.email.as_str()),
            origin,
        )
        .await;
        Ok(ResetOutcome::Reset(user))
    }

    /// Changes the signed-in user's password and signs out their other sessions.
    ///
    /// # Errors
    /// [`FormFailure::Invalid`] with messages; store failures.
    pub async fn change_password(
        &self,
        session: &SessionRecord,
        input: &ChangePasswordInput,
        origin: &RequestOrigin,
    ) -> Result<(), FormFailure> {
        let now = self.state.clock().now();
        let user = &session.user;
        let users = self.state.store().account(user.account_id).users();
        let record = users.get_record(user.id).await?;
        let current_ok = self
            .state
            .passwords()
            .verify(&input.current_password, record.password_hash.as_deref())
            .await?;
        let mut errors = self.check_new_password(user, &input.password, &input.password_confirm);
        if !current_ok {
            errors.add("current_password", "Your current password is not correct.");
        } else if input.password == input.current_password {
            errors.add(
                "password",
                "Choose a password different from your current one.",
            );
        }
        if !errors.is_empty() {
            if !current_ok {
                self.audit(
                    Event::new(EventKind::PasswordChange, EventOutcome::Failure, now)
                        .in_account(user.account_id)
                        .by(Some(user.id), user.email.as_str())
                        .with("reason", "wrong_current_password"),
                    origin,
                )
                .await;
            }
            return Err(errors.into());
        }
        let hash = self.state.passwords().hash(&input.password).await?;
        users.set_password(user.id, &hash, now).await?;
        let ended = self
            .state
            .store()
            .sessions()
            .delete_for_user(user.id, Some(session.id))
            .await?;
        self.audit(
            Event::new(EventKind::PasswordChange, EventOutcome::Success, now)
                .in_account(user.account_id)
                .by(Some(user.id), user.email.as_str())
                .with("other_sessions_ended", ended),
            origin,
        )
        .await;
        Ok(())
    }

    fn check_new_password(&self, user: &User, password: &str, confirm: &str) -> FormErrors {
        let mut errors = FormErrors::default();
        let policy = self.state.settings().auth.password_policy();
        for problem in policy.check(password, Some(user.email.as_str())) {
            errors.add("password", problem.to_string());
        }
        if password != confirm {
            errors.add("password_confirm", "The two passwords do not match.");
        }
        errors
    }
}
