//! Starting the application: open the meta store, build the mailer and the web state,
//! serve the router on a bound listener, start background maintenance and, for roles
//! with background work, the job workers and scheduler (`background`).
//!
//! `cairn serve`, `cairn demo` and the test kit all go through [`start`]; they differ only
//! in the configuration, the clock and the role they pass.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use cairn_domain::SharedClock;
use cairn_mail::Mailer;
use cairn_meta::{ConnectOptions, MetaStore};
use cairn_web::{AppState, RunningServer, Surface, WebSettings};

use crate::config::Config;
use crate::error::Error;

/// Which parts of Cairn a process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Role {
    /// Portal, API and background work (one-machine installations).
    #[default]
    All,
    /// Portal and API only.
    Api,
    /// Background work only, plus health and metrics endpoints.
    Worker,
}

/// How to start.
#[derive(Debug, Clone)]
pub struct StartOptions {
    /// The clock for everything (the system clock outside tests).
    pub clock: SharedClock,
    /// Which parts to run.
    pub role: Role,
    /// Demo mode: mail always goes to the outbox, which the portal shows at
    /// `/dev/mailbox`.
    pub demo: bool,
}

/// A running application.
#[derive(Debug)]
pub struct RunningApp {
    /// The portal's address as reachable from this machine (`http://127.0.0.1:PORT`).
    pub local_url: String,
    /// The public URL links are built with.
    pub public_url: String,
    /// Where the server listens.
    pub local_addr: SocketAddr,
    /// The shared state (store, mailer, clock, settings).
    pub state: AppState,
    server: RunningServer,
    stop_background: watch::Sender<bool>,
    stop_jobs: cairn_jobs::CancellationToken,
    background: Vec<JoinHandle<()>>,
}

impl RunningApp {
    /// Stops serving (letting in-flight requests finish), stops background work (running
    /// jobs go back to the queue) and closes the meta store.
    pub async fn shutdown(self) {
        let _ = self.stop_background.send(true);
        self.stop_jobs.cancel();
        self.server.shutdown().await;
        for task in self.background {
            let _ = task.await;
        }
        self.state.store().close().await;
    }
}

/// Opens the meta store the configuration names, migrating it if needed.
///
/// # Errors
/// [`Error::Meta`] when it cannot be opened or is newer than this binary.
pub async fn open_store(config: &Config) -> Result<MetaStore, Error> {
    let options = ConnectOptions {
        max_connections: config.database.max_connections,
        ..ConnectOptions::default()
    };
    Ok(MetaStore::connect(&config.database_url(), &options).await?)
}

/// The mailer: SMTP when configured (and not in demo mode), else the outbox.
///
/// # Errors
/// [`Error::Mail`] for an unusable SMTP URL or sender.
pub fn build_mailer(config: &Config, demo: bool) -> Result<Mailer, Error> {
    match (&config.mail.smtp_url, demo) {
        (Some(url), false) => Ok(Mailer::smtp(url.expose(), &config.mail.from)?),
        _ => Ok(Mailer::with_outbox(config.outbox_dir(), &config.mail.from)?),
    }
}

/// The web settings for `config` when listening on `local_addr`.
///
/// # Errors
/// [`Error::Config`] when the public URL does not parse.
pub fn web_settings(
    config: &Config,
    local_addr: SocketAddr,
    demo: bool,
) -> Result<WebSettings, Error> {
    let tls = config.server.tls_cert_file.is_some();
    let public = config
        .server
        .public_url
        .clone()
        .unwrap_or_else(|| cairn_web::local_base_url(local_addr, tls));
    let public_url =
        url::Url::parse(&public).map_err(|e| Error::Config(format!("server.public_url: {e}")))?;
    let mut settings = WebSettings::new(public_url);
    settings.secure_cookies = tls || settings.public_url.scheme() == "https";
    settings.demo = demo;
    settings.auth = config.auth.clone();
    settings.regions = config.regions.clone();
    settings.max_body_bytes = config.server.max_body_bytes;
    settings.trust_forwarded_for = config.server.trust_forwarded_for;
    Ok(settings)
}

/// The connectors the portal connects tasks to, from `[salesforce]` and `[dropbox]`, and
/// the token-sealing key derived from the master key (none without a master key: tasks
/// then cannot be connected, and the portal says so).
///
/// # Errors
/// [`Error::Config`] for unusable connector settings.
pub fn build_connectors(config: &Config) -> Result<cairn_web::tasks::Connectors, Error> {
    let salesforce = config
        .salesforce
        .connector_config()?
        .map(cairn_salesforce::SalesforceApp::new)
        .transpose()
        .map_err(|e| Error::Config(format!("salesforce: {e}")))?;
    let dropbox = config
        .dropbox
        .connector_config()?
        .map(cairn_dropbox::DropboxApp::new)
        .transpose()
        .map_err(|e| Error::Config(format!("dropbox: {e}")))?;
    let token_key = config
        .load_master_key()
        .ok()
        .map(|key| key.derive(cairn_vault::crypto::TASK_TOKENS_CONTEXT));
    Ok(cairn_web::tasks::Connectors {
        salesforce,
        dropbox,
        token_key,
    })
}

/// Starts the application on `listener`.
///
/// # Errors
/// Store, mail, TLS or configuration failures; nothing keeps running after an error.
pub async fn start(
    config: Arc<Config>,
    listener: TcpListener,
    options: StartOptions,
) -> Result<RunningApp, Error> {
    let local_addr = listener.local_addr().map_err(|source| Error::Io {
        context: "reading the listening address".into(),
        source,
    })?;
    let tls = match (&config.server.tls_cert_file, &config.server.tls_key_file) {
        (Some(cert), Some(key)) => Some(cairn_web::load_tls(cert, key)?),
        _ => None,
    };
    let settings = web_settings(&config, local_addr, options.demo)?;
    let mailer = build_mailer(&config, options.demo)?;
    let connectors = build_connectors(&config)?;
    let store = open_store(&config).await?;
    let state = match AppState::new(
        settings,
        store.clone(),
        mailer,
        options.clock.clone(),
        connectors,
    )
    .await
    {
        Ok(state) => state,
        Err(error) => {
            store.close().await;
            return Err(error.into());
        }
    };
    let vault_work = if matches!(options.role, Role::All | Role::Worker) {
        match crate::background::vault_work(&config, &store, &options.clock) {
            Ok(b) => b,
            Err(error) => {
                store.close().await;
                return Err(error);
            }
        }
    } else {
        None
    };
    let surface = match options.role {
        Role::All | Role::Api => Surface::Full,
        Role::Worker => Surface::OpsOnly,
    };
    let router = cairn_web::build(state.clone(), surface);
    let server = cairn_web::serve(listener, router, tls.clone(), std::future::pending())?;
    let (stop_background, stopped) = watch::channel(false);
    let stop_jobs = cairn_jobs::CancellationToken::new();
    let mut background = Vec::new();
    if matches!(options.role, Role::All | Role::Worker) {
        background.push(tokio::spawn(sweep_expired(state.clone(), stopped)));
        background.extend(crate::background::start(
            &config.jobs,
            &store,
            &options.clock,
            vault_work,
            &stop_jobs,
        ));
    }
    Ok(RunningApp {
        local_url: cairn_web::local_base_url(local_addr, tls.is_some()),
        public_url: state.settings().public_url.to_string(),
        local_addr,
        state,
        server,
        stop_background,
        stop_jobs,
        background,
    })
}

/// How often expired sessions and old sign-in failures are deleted.
const SWEEP_INTERVAL: Duration = Duration::from_secs(600);

/// Background maintenance: deletes expired sessions and sign-in failures older than the
/// throttling window. Idempotent, so several worker processes may run it.
async fn sweep_expired(state: AppState, mut stopped: watch::Receiver<bool>) {
    let mut interval = tokio::time::interval(SWEEP_INTERVAL);
    loop {
        tokio::select! {
            _ = stopped.changed() => break,
            _ = interval.tick() => {}
        }
        let now = state.clock().now();
        let auth = &state.settings().auth;
        let idle_cutoff = now - auth.session_policy().idle;
        let store = state.store();
        match store.sessions().delete_expired(now, idle_cutoff).await {
            Ok(0) => {}
            Ok(deleted) => tracing::info!(deleted, "expired sessions removed"),
            Err(error) => tracing::warn!(error = %error, "removing expired sessions failed"),
        }
        let before = auth.throttle_policy().window_start(now);
        if let Err(error) = store.sign_in_failures().prune(before).await {
            tracing::warn!(error = %error, "pruning sign-in failures failed");
        }
    }
}
