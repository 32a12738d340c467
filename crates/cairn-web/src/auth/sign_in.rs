//! Sign-in and sign-out (F-ACC-1), with throttling per email address and per IP.
//!
//! The order matters: throttling is checked before the password, so a blocked attacker
//! learns nothing from further guesses; an unknown email is checked against a dummy hash,
//! so timing does not reveal which addresses have accounts; and the refusal message is the
//! same for a wrong password and an unknown address.

use chrono::Duration;

use cairn_domain::auth::{FailureWindow, ThrottleScope};
use cairn_domain::event::{Event, EventKind, EventOutcome, RequestOrigin};
use cairn_domain::ids::SessionId;
use cairn_domain::{EmailAddress, User, UserStatus};
use cairn_meta::{NewSession, SessionRecord};

use super::Auth;
use crate::error::WebError;
use crate::metrics::SignInOutcome;
use crate::security::tokens;

/// A successful sign-in.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// The session token for the cookie.
    pub token: String,
    /// How long the cookie should live.
    pub max_age: Duration,
    /// Who signed in.
    pub user: User,
}

/// Why a sign-in was refused. The `Display` text is what the user sees.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignInRefusal {
    /// Wrong password or unknown email (deliberately indistinguishable).
    #[error("The email address or password is not correct.")]
    InvalidCredentials,
    /// Too many failures; wait.
    #[error("{}", throttled_message(*.scope, *.minutes))]
    Throttled {
        /// Which limit was hit.
        scope: ThrottleScope,
        /// Whole minutes to wait.
        minutes: i64,
        /// Seconds to wait, for `Retry-After`.
        seconds: i64,
    },
    /// The account exists but the activation link was never used.
    #[error(
        "This account is not activated yet. Open the activation link we emailed you, or sign up again to get a new link."
    )]
    NotActivated,
    /// The user was disabled.
    #[error("This user is disabled. Ask your account administrator for access.")]
    Disabled,
}

fn throttled_message(scope: ThrottleScope, minutes: i64) -> String {
    let unit = if minutes == 1 { "minute" } else { "minutes" };
    match scope {
        ThrottleScope::Account => format!(
            "Too many failed sign-in attempts for this account. Try again in {minutes} {unit}, or reset your password."
        ),
        ThrottleScope::Ip => format!(
            "Too many failed sign-in attempts from your network. Try again in {minutes} {unit}."
        ),
    }
}

impl SignInRefusal {
    /// The stable error code.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidCredentials => "auth.invalid_credentials",
            Self::Throttled { .. } => "auth.throttled",
            Self::NotActivated => "auth.not_activated",
            Self::Disabled => "auth.user_disabled",
        }
    }
}

impl Auth<'_> {
    /// Checks the credentials and opens a session.
    ///
    /// # Errors
    /// `Ok(Err(refusal))` for a refused sign-in; `Err` for operational failures.
    pub async fn sign_in(
        &self,
        email_input: &str,
        password: &str,
        origin: &RequestOrigin,
    ) -> Result<Result<SignedIn, SignInRefusal>, WebError> {
        let state = self.state;
        let now = state.clock().now();
        let policy = state.settings().auth.throttle_policy();
        let since = policy.window_start(now);
        let email = EmailAddress::parse(email_input).ok();
        // Failures are keyed by the normalised text even when it is not a valid address,
        // so garbage input is throttled like anything else. Control characters are dropped:
        // PostgreSQL cannot store NUL in text, and they have no business in audit logs.
        let key: String = email
            .as_ref()
            .map_or_else(
                || email_input.trim().to_lowercase(),
                |e| e.as_str().to_owned(),
            )
            .chars()
            .filter(|c| !c.is_control())
            .take(254)
            .collect();
        let failures = state.store().sign_in_failures();
        let by_account = failures.for_email(&key, since).await?;
        let by_ip = match &origin.ip {
            Some(ip) => failures.for_ip(ip, since).await?,
            None => FailureWindow::EMPTY,
        };
        if let Some(throttled) = policy.decide(by_account, by_ip, now) {
            state.metrics().record_sign_in(SignInOutcome::Throttled);
            let scope = match throttled.scope {
                ThrottleScope::Account => "account",
                ThrottleScope::Ip => "ip",
            };
            // Attach the event to the account under attack, if the address has one.
            let target = match &email {
                Some(email) => state.store().directory().find_user_by_email(email).await?,
                None => None,
            };
            let mut event = Event::new(EventKind::SignIn, EventOutcome::Failure, now)
                .by(target.as_ref().map(|r| r.user.id), key.as_str())
                .with("method", "password")
                .with("reason", "throttled")
                .with("limit", scope);
            if let Some(target) = &target {
                event = event.in_account(target.user.account_id);
            }
            self.audit(event, origin).await;
            return Ok(Err(SignInRefusal::Throttled {
                scope: throttled.scope,
                minutes: throttled.retry_after_minutes(),
                seconds: throttled.retry_after_seconds(),
            }));
        }

        let record = match &email {
            Some(email) => state.store().directory().find_user_by_email(email).await?,
            None => None,
        };
        let matches = state
            .passwords()
            .verify(
                password,
                record.as_ref().and_then(|r| r.password_hash.as_deref()),
            )
            .await?;
        let record = match record {
            Some(record) if matches => record,
            other => {
                failures.record(&key, origin.ip.as_deref(), now).await?;
                state.metrics().record_sign_in(SignInOutcome::Failure);
                let event = Event::new(EventKind::SignIn, EventOutcome::Failure, now)
                    .with("method", "password");
                let event = match other {
                    Some(known) => event
                        .in_account(known.user.account_id)
                        .by(Some(known.user.id), known.user.email.as_str())
                        .with("reason", "wrong_password"),
                    None => event.by(None, key.as_str()).with("reason", "unknown_email"),
                };
                self.audit(event, origin).await;
                return Ok(Err(SignInRefusal::InvalidCredentials));
            }
        };

        let user = record.user;
        let refusal = match user.status {
            UserStatus::Active => None,
            UserStatus::Pending => Some((SignInRefusal::NotActivated, "not_activated")),
            UserStatus::Disabled => Some((SignInRefusal::Disabled, "disabled")),
        };
        if let Some((refusal, reason)) = refusal {
            state.metrics().record_sign_in(SignInOutcome::Failure);
            self.audit(
                Event::new(EventKind::SignIn, EventOutcome::Failure, now)
                    .in_account(user.account_id)
                    .by(Some(user.id), user.email.as_str())
                    .with("method", "password")
                    .with("reason", reason),
                origin,
            )
            .await;
            return Ok(Err(refusal));
        }

        failures.clear_for_email(&key).await?;
        let session_policy = state.settings().auth.session_policy();
        let token = tokens::issue();
        state
            .store()
            .sessions()
            .create(&NewSession {
                id: SessionId::new(),
                token_hash: token.hash,
                user_id: user.id,
                account_id: user.account_id,
                created_at: now,
                expires_at: session_policy.absolute_expiry(now),
                origin: origin.clone(),
            })
            .await?;
        state.metrics().record_sign_in(SignInOutcome::Success);
        self.audit(
            Event::new(EventKind::SignIn, EventOutcome::Success, now)
                .in_account(user.account_id)
                .by(Some(user.id), user.email.as_str())
                .with("method", "password"),
            origin,
        )
        .await;
        Ok(Ok(SignedIn {
            token: token.token,
            max_age: session_policy.absolute,
            user,
        }))
    }

    /// Ends a session.
    ///
    /// # Errors
    /// Store failures.
    pub async fn sign_out(
        &self,
        session: &SessionRecord,
        origin: &RequestOrigin,
    ) -> Result<(), WebError> {
        let now = self.state.clock().now();
        self.state.store().sessions().delete(session.id).await?;
        self.audit(
            Event::new(EventKind::SignOut, EventOutcome::Success, now)
                .in_account(session.user.account_id)
                .by(Some(session.user.id), session.user.email.as_str()),
            origin,
        )
        .await;
        Ok(())
    }
}
