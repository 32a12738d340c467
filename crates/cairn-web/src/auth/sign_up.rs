//! Sign-up and activation (F-ACC-1).
//!
//! The response to a sign-up is the same whether or not the address already has an
//! account ("check your inbox"), so the form cannot be used to find out who uses Cairn;
//! the owner of an existing address gets an email saying someone tried. A sign-up that
//! was never activated can be repeated: the newer details replace the older ones and only
//! the newest activation link works.

use cairn_domain::account::parse_name;
use cairn_domain::event::{Event, EventKind, EventOutcome, RequestOrigin};
use cairn_domain::ids::{AccountId, UserId};
use cairn_domain::region::find_region;
use cairn_domain::{Account, EmailAddress, Role, User, UserStatus};
use cairn_meta::{MetaError, NewEmailToken, PendingSignUp, TokenPurpose};

use super::{Auth, FormErrors, FormFailure, mails, with_mail_outcome};
use crate::error::WebError;
use crate::security::tokens;

/// The sign-up form.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct SignUpInput {
    /// Full name.
    #[serde(default)]
    pub name: String,
    /// Email address.
    #[serde(default)]
    pub email: String,
    /// Password.
    #[serde(default)]
    pub password: String,
    /// The password again.
    #[serde(default)]
    pub password_confirm: String,
    /// Region code.
    #[serde(default)]
    pub region: String,
}

struct ValidSignUp {
    name: String,
    email: EmailAddress,
    region: cairn_domain::RegionCode,
}

impl Auth<'_> {
    fn validate_sign_up(&self, input: &SignUpInput) -> Result<ValidSignUp, FormErrors> {
        let settings = self.state.settings();
        let mut errors = FormErrors::default();
        let name = parse_name(&input.name)
            .map_err(|e| errors.add("name", e.to_string()))
            .ok();
        let email = EmailAddress::parse(&input.email)
            .map_err(|e| errors.add("email", e.to_string()))
            .ok();
        let policy = settings.auth.password_policy();
        for problem in policy.check(&input.password, email.as_ref().map(EmailAddress::as_str)) {
            errors.add("password", problem.to_string());
        }
        if input.password != input.password_confirm {
            errors.add("password_confirm", "The two passwords do not match.");
        }
        let region = find_region(&settings.regions, input.region.trim()).map(|r| r.code.clone());
        if region.is_none() {
            errors.add("region", "Choose a data-center location from the list.");
        }
        match (name, email, region) {
            (Some(name), Some(email), Some(region)) if errors.is_empty() => Ok(ValidSignUp {
                name,
                email,
                region,
            }),
            _ => Err(errors),
        }
    }

    /// Signs a new account up and emails its activation link.
    ///
    /// # Errors
    /// [`FormFailure::Invalid`] with messages for bad input; [`FormFailure::Failed`] when
    /// the store or the mailer fails.
    pub async fn sign_up(
        &self,
        input: &SignUpInput,
        origin: &RequestOrigin,
    ) -> Result<(), FormFailure> {
        let valid = self.validate_sign_up(input)?;
        let now = self.state.clock().now();
        // Hash before looking the address up, so every path takes about as long.
        let hash = self.state.passwords().hash(&input.password).await?;
        let store = self.state.store();
        let existing = store.directory().find_user_by_email(&valid.email).await?;
        let user = match existing {
            None => {
                let account = Account {
                    id: AccountId::new(),
                    name: valid.name.clone(),
                    region: valid.region.clone(),
                    created_at: now,
                };
                let user = User {
                    id: UserId::new(),
                    account_id: account.id,
                    email: valid.email.clone(),
                    name: valid.name.clone(),
                    role: Role::Primary,
                    status: UserStatus::Pending,
                    created_at: now,
                    activated_at: None,
                };
                match store
                    .directory()
                    .create_account(&account, &user, Some(&hash))
                    .await
                {
                    Ok(()) => user,
                    // Someone signed up with the same address a moment ago.
                    Err(MetaError::Conflict { .. }) => {
                        return self.sign_up_taken(&valid, origin).await;
                    }
                    Err(other) => return Err(other.into()),
                }
            }
            Some(record) if record.user.status == UserStatus::Pending => {
                let replacement = PendingSignUp {
                    account_name: &valid.name,
                    user_name: &valid.name,
                    region: &valid.region,
                    password_hash: &hash,
                    at: now,
                };
                if !store
                    .directory()
                    .replace_pending_sign_up(record.user.id, &replacement)
                    .await?
                {
                    return self.sign_up_taken(&valid, origin).await;
                }
                record.user
            }
            Some(_) => return self.sign_up_taken(&valid, origin).await,
        };
        let token = tokens::issue();
        store
            .email_tokens()
            .issue(&NewEmailToken {
                token_hash: token.hash.clone(),
                user_id: user.id,
                purpose: TokenPurpose::Activation,
                created_at: now,
                expires_at: now + self.state.settings().auth.activation_link_ttl(),
            })
            .await?;
        let mail = mails::activation(
            self.state.settings(),
            user.email.as_str(),
            &valid.name,
            &token.token,
        );
        let sent = self.send_account_mail(&mail, now).await?;
        let event = Event::new(EventKind::SignUp, EventOutcome::Success, now)
            .in_account(user.account_id)
            .by(Some(user.id), user.email.as_str())
            .with("region", valid.region.as_str());
        self.audit(with_mail_outcome(event, sent), origin).await;
        Ok(())
    }

    async fn sign_up_taken(
        &self,
        valid: &ValidSignUp,
        origin: &RequestOrigin,
    ) -> Result<(), FormFailure> {
        let now = self.state.clock().now();
        let existing = self
            .state
            .store()
            .directory()
            .find_user_by_email(&valid.email)
            .await?;
        let mail = mails::already_registered(self.state.settings(), valid.email.as_str());
        let sent = self.send_account_mail(&mail, now).await?;
        let mut event = Event::new(EventKind::SignUp, EventOutcome::Failure, now)
            .by(existing.as_ref().map(|r| r.user.id), valid.email.as_str())
            .with("reason", "email_taken");
        if let Some(record) = existing {
            event = event.in_account(record.user.account_id);
        }
        self.audit(with_mail_outcome(event, sent), origin).await;
        Ok(())
    }

    /// Uses an activation link. Returns the activated user, or `None` when the link is
    /// malformed, unknown, used or expired.
    ///
    /// # Errors
    /// Store failures.
    pub async fn activate(
        &self,
        token: &str,
        origin: &RequestOrigin,
    ) -> Result<Option<User>, WebError> {
        let now = self.state.clock().now();
        if !tokens::looks_valid(token) {
            return Ok(None);
        }
        let activated = self
            .state
            .store()
            .email_tokens()
            .activate(&tokens::hash(token), now)
            .await?;
        match &activated {
            Some(user) => {
                self.audit(
                    Event::new(EventKind::Activation, EventOutcome::Success, now)
                        .in_account(user.account_id)
                        .by(Some(user.id), user.email.as_str()),
                    origin,
                )
                .await;
            }
            None => {
                self.audit(
                    Event::new(EventKind::Activation, EventOutcome::Failure, now)
                        .with("reason", "invalid_or_expired_link"),
                    origin,
                )
                .await;
            }
        }
        Ok(activated)
    }
}
