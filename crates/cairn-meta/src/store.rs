//! [`MetaStore`]: the handle the rest of Cairn holds.
//!
//! It is cheap to clone (the pools are reference-counted) and hands out small borrowed
//! handles per concern. Everything that belongs to a tenant is reached through
//! [`MetaStore::account`], whose methods take no account id: the scope is fixed when the
//! handle is made, so a query cannot forget it. The few unscoped handles
//! ([`MetaStore::directory`], [`MetaStore::sessions`], …) are the ways *into* an account:
//! finding a user by email at sign-in, a session by its cookie, a token by its link.

use crate::accounts::{AccountScope, Directory};
use crate::db::{Backend, ConnectOptions, Db, redact_url, with_pool};
use crate::error::Result;
use crate::events::Events;
use crate::jobs::JobQueue;
use crate::migrate;
use crate::secrets::InstanceSecrets;
use crate::sessions::Sessions;
use crate::tasks::TaskCatalog;
use crate::throttle::SignInFailures;
use crate::tokens::EmailTokens;
use cairn_domain::ids::AccountId;

/// The meta store: relational state on SQLite or PostgreSQL.
#[derive(Debug, Clone)]
pub struct MetaStore {
    pub(crate) db: Db,
    url: String,
}

impl MetaStore {
    /// Opens the database at `url`, refuses a schema newer than this binary, and applies
    /// pending migrations.
    ///
    /// # Errors
    /// Unsupported URLs, unreachable databases, failed migrations,
    /// [`crate::MetaError::SchemaTooNew`].
    pub async fn connect(url: &str, options: &ConnectOptions) -> Result<Self> {
        let db = Db::open(url, options).await?;
        match migrate::migrate(&db).await {
            Ok(version) => {
                tracing::info!(
                    backend = db.backend().name(),
                    url = %redact_url(url),
                    schema_version = version,
                    "meta store ready"
                );
            }
            Err(error) => {
                db.close().await;
                return Err(error);
            }
        }
        Ok(Self {
            db,
            url: url.to_owned(),
        })
    }

    /// The engine behind this store.
    #[must_use]
    pub fn backend(&self) -> Backend {
        self.db.backend()
    }

    /// The URL it was opened with, password removed.
    #[must_use]
    pub fn display_url(&self) -> String {
        redact_url(&self.url)
    }

    /// Checks the database answers a trivial query (readiness probes).
    ///
    /// # Errors
    /// Whatever stops the query.
    pub async fn ping(&self) -> Result<()> {
        let one: i32 = with_pool!(&self.db, read, pool =>
            sqlx::query_scalar("SELECT 1").fetch_one(pool).await)?;
        debug_assert_eq!(one, 1);
        Ok(())
    }

    /// The schema version currently applied.
    ///
    /// # Errors
    /// Database errors.
    pub async fn schema_version(&self) -> Result<i64> {
        Ok(migrate::applied_version(&self.db).await?.unwrap_or(0))
    }

    /// Closes every pooled connection; waits for in-flight queries.
    pub async fn close(&self) {
        self.db.close().await;
    }

    /// Everything belonging to one account.
    #[must_use]
    pub fn account(&self, id: AccountId) -> AccountScope<'_> {
        AccountScope::new(self, id)
    }

    /// Sign-up and sign-in lookups across accounts.
    #[must_use]
    pub fn directory(&self) -> Directory<'_> {
        Directory::new(self)
    }

    /// Sign-in sessions, found by the hash of their cookie.
    #[must_use]
    pub fn sessions(&self) -> Sessions<'_> {
        Sessions::new(self)
    }

    /// Activation and password-reset tokens sent by email.
    #[must_use]
    pub fn email_tokens(&self) -> EmailTokens<'_> {
        EmailTokens::new(self)
    }

    /// Failed sign-in attempts, for throttling.
    #[must_use]
    pub fn sign_in_failures(&self) -> SignInFailures<'_> {
        SignInFailures::new(self)
    }

    /// Recording events that may have no account (a failed sign-in with an unknown email).
    /// Reading events is account-scoped: [`AccountScope::events`].
    #[must_use]
    pub fn events(&self) -> Events<'_> {
        Events::new(self)
    }

    /// The workers' side of the job queue (claims, leases, progress), across accounts.
    #[must_use]
    pub fn jobs(&self) -> JobQueue<'_> {
        JobQueue::new(self)
    }

    /// Tasks across accounts: what the scheduler and maintenance work on.
    #[must_use]
    pub fn task_catalog(&self) -> TaskCatalog<'_> {
        TaskCatalog::new(self)
    }

    /// Installation-wide secrets generated on first use (e.g. the CSRF signing key).
    #[must_use]
    pub fn instance_secrets(&self) -> InstanceSecrets<'_> {
        InstanceSecrets::new(self)
    }
}
