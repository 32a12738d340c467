//! Accounts and users.
//!
//! [`Directory`] is the cross-account entry point used by sign-up, sign-in and the admin
//! CLI: create an account with its primary user, find a user by email. [`AccountScope`]
//! is everything inside one account; its handles never take an account id.

use cairn_domain::ids::{AccountId, TypedId, UserId};
use cairn_domain::{Account, EmailAddress, RegionCode, User, UserStatus};
use chrono::{DateTime, Utc};

use crate::db::with_pool;
use crate::entities::AccountEntities;
use crate::error::{MetaError, Result, conflict_on_unique};
use crate::events::AccountEvents;
use crate::jobs::AccountJobs;
use crate::rows::{AccountRow, USER_COLUMNS, UserRecord, UserRow};
use crate::snapshots::AccountSnapshots;
use crate::store::MetaStore;
use crate::tags::AccountTags;
use crate::tasks::AccountTasks;

/// Cross-account lookups and account creation.
#[derive(Debug, Clone, Copy)]
pub struct Directory<'a> {
    store: &'a MetaStore,
}

impl<'a> Directory<'a> {
    pub(crate) fn new(store: &'a MetaStore) -> Self {
        Self { store }
    }

    /// Creates `account` and its first user in one transaction.
    ///
    /// # Errors
    /// [`MetaError::Conflict`] when the user's email is already registered.
    pub async fn create_account(
        &self,
        account: &Account,
        user: &User,
        password_hash: Option<&str>,
    ) -> Result<()> {
        debug_assert_eq!(account.id, user.account_id);
        insert_account_and_user(self.store, Some(account), user, password_hash).await
    }

    /// The user signing in with `email`, with their password hash.
    ///
    /// # Errors
    /// Database errors; unreadable rows.
    pub async fn find_user_by_email(&self, email: &EmailAddress) -> Result<Option<UserRecord>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE email = $1");
        let row: Option<UserRow> = with_pool!(&self.store.db, read, pool =>
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(email.as_str()).fetch_optional(pool).await)?;
        row.map(UserRow::into_record).transpose()
    }

    /// Overwrites a sign-up that was never activated with a newer one for the same email
    /// (a person signing up again because the first activation mail got lost). Only
    /// touches users still pending; returns whether one was updated.
    ///
    /// # Errors
    /// Database errors.
    pub async fn replace_pending_sign_up(
        &self,
        user_id: UserId,
        replacement: &PendingSignUp<'_>,
    ) -> Result<bool> {
        const UPDATE_USER: &str = "UPDATE users SET name = $2, password_hash = $3, \
             password_changed_at = $4 WHERE id = $1 AND status = 'pending' RETURNING account_id";
        const UPDATE_ACCOUNT: &str = "UPDATE accounts SET name = $2, region = $3 WHERE id = $1";
        with_pool!(&self.store.db, write, pool => {
            let mut tx = pool.begin().await?;
            let account_id: Option<uuid::Uuid> = sqlx::query_scalar(UPDATE_USER)
                .bind(user_id.as_uuid())
                .bind(replacement.user_name)
                .bind(replacement.password_hash)
                .bind(replacement.at)
                .fetch_optional(&mut *tx)
                .await?;
            let Some(account_id) = account_id else {
                return Ok(false);
            };
            sqlx::query(UPDATE_ACCOUNT)
                .bind(account_id)
                .bind(replacement.account_name)
                .bind(replacement.region.as_str())
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(true)
        })
    }
}

/// The new details of a repeated, not yet activated sign-up.
#[derive(Debug, Clone, Copy)]
pub struct PendingSignUp<'s> {
    /// The account's new name.
    pub account_name: &'s str,
    /// The person's new name.
    pub user_name: &'s str,
    /// The new region.
    pub region: &'s RegionCode,
    /// The new password hash.
    pub password_hash: &'s str,
    /// When the sign-up was repeated.
    pub at: DateTime<Utc>,
}

/// Inserts `account` (when given) and `user` in one transaction.
async fn insert_account_and_user(
    store: &MetaStore,
    account: Option<&Account>,
    user: &User,
    password_hash: Option<&str>,
) -> Result<()> {
    const INSERT_ACCOUNT: &str =
        "INSERT INTO accounts (id, name, region, created_at) VALUES ($1, $2, $3, $4)";
    const INSERT_USER: &str = "INSERT INTO users (id, account_id, email, name, role, status, \
         password_hash, created_at, activated_at, password_changed_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
    with_pool!(&store.db, write, pool => {
        let mut tx = pool.begin().await?;
        if let Some(account) = account {
            sqlx::query(INSERT_ACCOUNT)
                .bind(account.id.as_uuid())
                .bind(&account.name)
                .bind(account.region.as_str())
                .bind(account.created_at)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query(INSERT_USER)
            .bind(user.id.as_uuid())
            .bind(user.account_id.as_uuid())
            .bind(user.email.as_str())
            .bind(user.name.as_str())
            .bind(user.role.as_str())
            .bind(user.status.as_str())
            .bind(password_hash)
            .bind(user.created_at)
            .bind(user.activated_at)
            .bind(password_hash.map(|_| user.created_at))
            .execute(&mut *tx)
            .await
            .map_err(conflict_on_unique("user email"))?;
        tx.commit().await?;
        Ok(())
    })
}

/// Everything inside one account.
#[derive(Debug, Clone, Copy)]
pub struct AccountScope<'a> {
    store: &'a MetaStore,
    id: AccountId,
}

impl<'a> AccountScope<'a> {
    pub(crate) fn new(store: &'a MetaStore, id: AccountId) -> Self {
        Self { store, id }
    }

    /// The account this handle is scoped to.
    #[must_use]
    pub fn id(&self) -> AccountId {
        self.id
    }

    /// The account itself.
    ///
    /// # Errors
    /// [`MetaError::NotFound`] when it does not exist.
    pub async fn get(&self) -> Result<Account> {
        const SQL: &str = "SELECT id, name, region, created_at FROM accounts WHERE id = $1";
        let row: Option<AccountRow> = with_pool!(&self.store.db, read, pool =>
            sqlx::query_as(SQL).bind(self.id.as_uuid()).fetch_optional(pool).await)?;
        row.ok_or(MetaError::NotFound { what: "account" })?
            .into_account()
    }

    /// The account's users.
    #[must_use]
    pub fn users(&self) -> AccountUsers<'a> {
        AccountUsers {
            store: self.store,
            account: self.id,
        }
    }

    /// The account's events.
    #[must_use]
    pub fn events(&self) -> AccountEvents<'a> {
        AccountEvents::new(self.store, self.id)
    }

    /// The account's backup tasks.
    #[must_use]
    pub fn tasks(&self) -> AccountTasks<'a> {
        AccountTasks::new(self.store, self.id)
    }

    /// The entities of the account's tasks.
    #[must_use]
    pub fn entities(&self) -> AccountEntities<'a> {
        AccountEntities::new(self.store, self.id)
    }

    /// The account's tags.
    #[must_use]
    pub fn tags(&self) -> AccountTags<'a> {
        AccountTags::new(self.store, self.id)
    }

    /// The account's jobs.
    #[must_use]
    pub fn jobs(&self) -> AccountJobs<'a> {
        AccountJobs::new(self.store, self.id)
    }

    /// The account's snapshot catalog.
    #[must_use]
    pub fn snapshots(&self) -> AccountSnapshots<'a> {
        AccountSnapshots::new(self.store, self.id)
    }
}

/// The users of one account.
#[derive(Debug, Clone, Copy)]
pub struct AccountUsers<'a> {
    store: &'a MetaStore,
    account: AccountId,
}

impl AccountUsers<'_> {
    /// Adds a user to this account.
    ///
    /// # Errors
    /// [`MetaError::Conflict`] when the email is already registered anywhere.
    pub async fn create(&self, user: &User, password_hash: Option<&str>) -> Result<()> {
        if user.account_id != self.account {
            return Err(MetaError::NotFound { what: "account" });
        }
        insert_account_and_user(self.store, None, user, password_hash).await
    }

    /// One user of this account.
    ///
    /// # Errors
    /// [`MetaError::NotFound`] when there is no such user in this account.
    pub async fn get(&self, id: UserId) -> Result<User> {
        Ok(self.get_record(id).await?.user)
    }

    /// One user of this account, with their password hash.
    ///
    /// # Errors
    /// [`MetaError::NotFound`] when there is no such user in this account.
    pub async fn get_record(&self, id: UserId) -> Result<UserRecord> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1 AND account_id = $2");
        let row: Option<UserRow> = with_pool!(&self.store.db, read, pool =>
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(id.as_uuid())
                .bind(self.account.as_uuid())
                .fetch_optional(pool)
                .await)?;
        row.ok_or(MetaError::NotFound { what: "user" })?
            .into_record()
    }

    /// All users of this account, oldest first.
    ///
    /// # Errors
    /// Database errors.
    pub async fn list(&self) -> Result<Vec<User>> {
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM users WHERE account_id = $1 ORDER BY created_at, id"
        );
        let rows: Vec<UserRow> = with_pool!(&self.store.db, read, pool =>
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(self.account.as_uuid())
                .fetch_all(pool)
                .await)?;
        rows.into_iter().map(UserRow::into_user).collect()
    }

    /// Replaces a user's password hash.
    ///
    /// # Errors
    /// [`MetaError::NotFound`] when there is no such user in this account.
    pub async fn set_password(&self, id: UserId, hash: &str, at: DateTime<Utc>) -> Result<()> {
        const SQL: &str = "UPDATE users SET password_hash = $3, password_changed_at = $4 \
             WHERE id = $1 AND account_id = $2";
        let done = with_pool!(&self.store.db, write, pool =>
            sqlx::query(SQL)
                .bind(id.as_uuid())
                .bind(self.account.as_uuid())
                .bind(hash)
                .bind(at)
                .execute(pool)
                .await
                .map(|done| done.rows_affected()))?;
        if done == 0 {
            return Err(MetaError::NotFound { what: "user" });
        }
        Ok(())
    }

    /// Changes a user's status; activating stamps `activated_at` the first time.
    ///
    /// # Errors
    /// [`MetaError::NotFound`] when there is no such user in this account.
    pub async fn set_status(
        &self,
        id: UserId,
        status: UserStatus,
        at: DateTime<Utc>,
    ) -> Result<()> {
        const SQL: &str = "UPDATE users SET status = $3, activated_at = CASE \
             WHEN $3 = 'active' AND activated_at IS NULL THEN $4 ELSE activated_at END \
             WHERE id = $1 AND account_id = $2";
        let done = with_pool!(&self.store.db, write, pool =>
            sqlx::query(SQL)
                .bind(id.as_uuid())
                .bind(self.account.as_uuid())
                .bind(status.as_str())
                .bind(at)
                .execute(pool)
                .await
                .map(|done| done.rows_affected()))?;
        if done == 0 {
            return Err(MetaError::NotFound { what: "user" });
        }
        Ok(())
    }
}
