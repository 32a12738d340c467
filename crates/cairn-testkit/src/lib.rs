//! Boots the whole Cairn application in-process for tests.
//!
//! [`TestApp::spawn`] starts exactly what `cairn serve` starts, on `127.0.0.1:0`, with a
//! temporary data directory, a [`ManualClock`], and a fresh database: SQLite in the temp
//! dir, or, when `CAIRN_TEST_POSTGRES_URL` is set, a new PostgreSQL database that
//! [`TestApp::shutdown`] drops. Mail goes to the outbox, which tests read to follow
//! activation and reset links. Configuration can be changed before boot with
//! [`TestApp::builder`]; nothing reads or writes process environment variables except
//! that one URL.
//!
//! HTTP clients from [`TestApp::client`] keep cookies and do not follow redirects, so
//! tests see every `303` and `Set-Cookie`. [`WorkerProcess`] starts more `cairn worker`
//! processes against the same database and vault (and kills them), and
//! [`TestApp::wait_for_job`] waits for a job to end.

#![warn(missing_docs)]

mod flows;
mod worker;

use std::sync::Arc;

use anyhow::Context;
use reqwest::redirect::Policy;
use tempfile::TempDir;

use cairn::{Config, Role, RunningApp, StartOptions};
use cairn_domain::ManualClock;
use cairn_mail::{Outbox, StoredMail};
use cairn_meta::testing::{TestDatabase, postgres_url_from_env};
use cairn_meta::{Backend, MetaStore};

pub use flows::{SignUp, TestUser, csrf_token_in};
pub use worker::{JOB_TIMEOUT, WorkerProcess};

/// Which database a test app uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatabaseChoice {
    /// PostgreSQL when `CAIRN_TEST_POSTGRES_URL` is set, SQLite otherwise.
    FromEnvironment,
    /// Always SQLite.
    Sqlite,
}

type Configure = Box<dyn FnOnce(&mut Config) + Send>;

/// Sets up a [`TestApp`] before it boots.
pub struct TestAppBuilder {
    configure: Vec<Configure>,
    role: Role,
    demo: bool,
    database: DatabaseChoice,
}

impl std::fmt::Debug for TestAppBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestAppBuilder")
            .field("configure", &self.configure.len())
            .field("role", &self.role)
            .field("demo", &self.demo)
            .field("database", &self.database)
            .finish()
    }
}

impl TestAppBuilder {
    /// Changes the configuration before boot (the data dir and database are already set).
    #[must_use]
    pub fn configure(mut self, change: impl FnOnce(&mut Config) + Send + 'static) -> Self {
        self.configure.push(Box::new(change));
        self
    }

    /// Runs only part of the application.
    #[must_use]
    pub fn role(mut self, role: Role) -> Self {
        self.role = role;
        self
    }

    /// Turns demo mode on (the `/dev/mailbox` page) or off.
    #[must_use]
    pub fn demo(mut self, demo: bool) -> Self {
        self.demo = demo;
        self
    }

    /// Chooses the database.
    #[must_use]
    pub fn database(mut self, choice: DatabaseChoice) -> Self {
        self.database = choice;
        self
    }

    /// Boots the application.
    ///
    /// # Errors
    /// Whatever stops it from starting.
    pub async fn try_spawn(self) -> anyhow::Result<TestApp> {
        let data_dir = tempfile::tempdir().context("creating a temp data dir")?;
        let database = match (self.database, postgres_url_from_env()) {
            (DatabaseChoice::FromEnvironment, Some(server)) => TestDatabase::postgres(&server)
                .await
                .context("creating a PostgreSQL test database")?,
            _ => TestDatabase::sqlite_in(data_dir.path()),
        };
        let mut config = Config {
            data_dir: data_dir.path().to_owned(),
            ..Config::default()
        };
        config.database.url = Some(cairn::config::Secret::new(database.url()));
        config.server.bind = "127.0.0.1:0".parse().context("bind address")?;
        for change in self.configure {
            change(&mut config);
        }
        config.validate()?;
        let clock = Arc::new(ManualClock::starting_now());
        let listener = tokio::net::TcpListener::bind(config.server.bind)
            .await
            .context("binding a test port")?;
        let options = StartOptions {
            clock: clock.clone(),
            role: self.role,
            demo: self.demo,
        };
        let app = match cairn::app::start(Arc::new(config.clone()), listener, options).await {
            Ok(app) => app,
            Err(error) => {
                let _ = database.drop_database().await;
                return Err(error.into());
            }
        };
        Ok(TestApp {
            base_url: app.local_url.clone(),
            outbox: Outbox::new(config.outbox_dir()),
            config,
            clock,
            app,
            database,
            data_dir,
        })
    }

    /// Boots the application, panicking on failure (what tests want).
    ///
    /// # Panics
    /// When the application cannot start.
    pub async fn spawn(self) -> TestApp {
        match self.try_spawn().await {
            Ok(app) => app,
            Err(error) => panic!("the test app did not start: {error:#}"),
        }
    }
}

/// A running Cairn for one test.
#[derive(Debug)]
pub struct TestApp {
    /// `http://127.0.0.1:PORT`.
    pub base_url: String,
    /// The configuration it was started with.
    pub config: Config,
    clock: Arc<ManualClock>,
    outbox: Outbox,
    app: RunningApp,
    database: TestDatabase,
    data_dir: TempDir,
}

impl TestApp {
    /// Boots an app with the default test configuration.
    pub async fn spawn() -> Self {
        Self::builder().spawn().await
    }

    /// A builder to change the configuration first.
    #[must_use]
    pub fn builder() -> TestAppBuilder {
        TestAppBuilder {
            configure: Vec::new(),
            role: Role::All,
            demo: false,
            database: DatabaseChoice::FromEnvironment,
        }
    }

    /// An absolute URL for `path`.
    #[must_use]
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// A new HTTP client with its own cookie jar, not following redirects.
    ///
    /// # Panics
    /// If the TLS backend cannot initialise.
    #[must_use]
    pub fn client(&self) -> reqwest::Client {
        match reqwest::Client::builder()
            .cookie_store(true)
            .redirect(Policy::none())
            .build()
        {
            Ok(client) => client,
            Err(error) => panic!("building an HTTP client: {error}"),
        }
    }

    /// The application's clock; move it to test expiry.
    #[must_use]
    pub fn clock(&self) -> &ManualClock {
        &self.clock
    }

    /// The meta store, for checking what the app wrote.
    #[must_use]
    pub fn store(&self) -> &MetaStore {
        self.app.state.store()
    }

    /// Which database backs this app.
    #[must_use]
    pub fn backend(&self) -> Backend {
        self.store().backend()
    }

    /// The mail outbox.
    #[must_use]
    pub fn outbox(&self) -> &Outbox {
        &self.outbox
    }

    /// The running application (state, URLs).
    #[must_use]
    pub fn app(&self) -> &RunningApp {
        &self.app
    }

    /// The temporary data directory.
    #[must_use]
    pub fn data_dir(&self) -> &std::path::Path {
        self.data_dir.path()
    }

    /// The newest message sent to `to`.
    ///
    /// # Panics
    /// When there is none.
    pub async fn last_mail_to(&self, to: &str) -> StoredMail {
        let messages = self.outbox.list(1_000).await.expect("reading the outbox");
        messages
            .into_iter()
            .find(|m| m.to == to)
            .unwrap_or_else(|| panic!("no mail to {to}"))
    }

    /// How many messages were sent to `to`.
    pub async fn mail_count_to(&self, to: &str) -> usize {
        let messages = self.outbox.list(1_000).await.expect("reading the outbox");
        messages.iter().filter(|m| m.to == to).count()
    }

    /// Stops the app and drops its database.
    pub async fn shutdown(self) {
        self.app.shutdown().await;
        if let Err(error) = self.database.drop_database().await {
            panic!("dropping the test database: {error}");
        }
    }
}
