//! Users created by an operator (`cairn admin create-user`, `cairn demo`): active at once,
//! no activation mail.

use cairn_domain::account::parse_name;
use cairn_domain::event::{Event, EventKind, EventOutcome, RequestOrigin};
use cairn_domain::ids::{AccountId, UserId};
use cairn_domain::region::find_region;
use cairn_domain::{Account, EmailAddress, Role, User, UserStatus};
use cairn_meta::MetaError;

use super::{Auth, FormErrors, FormFailure};

/// A new account with its primary user, as an operator enters it.
#[derive(Debug, Clone)]
pub struct NewUserInput {
    /// Sign-in address.
    pub email: String,
    /// The person's name.
    pub name: String,
    /// The account's name; the person's name when `None`.
    pub account_name: Option<String>,
    /// Region code; the first configured region when `None`.
    pub region: Option<String>,
    /// The password (checked against the password policy).
    pub password: String,
}

impl Auth<'_> {
    /// Creates an active account and primary user. `actor` names who did it in the audit
    /// event (e.g. "cli").
    ///
    /// # Errors
    /// [`FormFailure::Invalid`] for bad input or an address already in use.
    pub async fn create_user(
        &self,
        input: &NewUserInput,
        actor: &str,
    ) -> Result<User, FormFailure> {
        let settings = self.state.settings();
        let mut errors = FormErrors::default();
        let name = parse_name(&input.name)
            .map_err(|e| errors.add("name", e.to_string()))
            .ok();
        let account_name = match &input.account_name {
            Some(account_name) => parse_name(account_name)
                .map_err(|e| errors.add("account_name", e.to_string()))
                .ok(),
            None => name.clone(),
        };
        let email = EmailAddress::parse(&input.email)
            .map_err(|e| errors.add("email", e.to_string()))
            .ok();
        for problem in settings
            .auth
            .password_policy()
            .check(&input.password, email.as_ref().map(EmailAddress::as_str))
        {
            errors.add("password", problem.to_string());
        }
        let region = match &input.region {
            Some(code) => find_region(&settings.regions, code),
            None => settings.regions.first(),
        };
        if region.is_none() {
            let known: Vec<&str> = settings.regions.iter().map(|r| r.code.as_str()).collect();
            errors.add(
                "region",
                format!("Unknown region; configured regions: {}.", known.join(", ")),
            );
        }
        let (Some(name), Some(account_name), Some(email), Some(region)) =
            (name, account_name, email, region)
        else {
            return Err(errors.into());
        };
        if !errors.is_empty() {
            return Err(errors.into());
        }
        let now = self.state.clock().now();
        let account = Account {
            id: AccountId::new(),
            name: account_name,
            region: region.code.clone(),
            created_at: now,
        };
        let user = User {
            id: UserId::new(),
            account_id: account.id,
            email,
            name,
            role: Role::Primary,
            status: UserStatus::Active,
            created_at: now,
            activated_at: Some(now),
        };
        let hash = self.state.passwords().hash(&input.password).await?;
        match self
            .state
            .store()
            .directory()
            .create_account(&account, &user, Some(&hash))
            .await
        {
            Ok(()) => {}
            Err(MetaError::Conflict { .. }) => {
                let mut errors = FormErrors::default();
                errors.add("email", "This email address already has an account.");
                return Err(errors.into());
            }
            Err(other) => return Err(other.into()),
        }
        self.audit(
            Event::new(EventKind::UserCreated, EventOutcome::Success, now)
                .in_account(account.id)
                .by(None, actor)
                .with("email", user.email.as_str()),
            &RequestOrigin::default(),
        )
        .await;
        Ok(user)
    }

    /// Sets a user's password directly (operator action, e.g. `cairn demo` restoring the
    /// demo admin's password). Ends the user's sessions.
    ///
    /// # Errors
    /// Store failures; [`FormFailure::Invalid`] when the password breaks the policy.
    pub async fn set_password_as_operator(
        &self,
        user: &User,
        password: &str,
    ) -> Result<(), FormFailure> {
        let mut errors = FormErrors::default();
        for problem in self
            .state
            .settings()
            .auth
            .password_policy()
            .check(password, Some(user.email.as_str()))
        {
            errors.add("password", problem.to_string());
        }
        if !errors.is_empty() {
            return Err(errors.into());
        }
        let now = self.state.clock().now();
        let hash = self.state.passwords().hash(password).await?;
        self.state
            .store()
            .account(user.account_id)
            .users()
            .set_password(user.id, &hash, now)
            .await?;
        self.state
            .store()
            .sessions()
            .delete_for_user(user.id, None)
            .await?;
        Ok(())
    }
}
