//! A stateful, wire-faithful emulator of the Salesforce APIs a backup product uses:
//! OAuth 2.0 (web-server flow with PKCE, refresh, username-password, revoke), the REST API
//! (describe, query/queryAll with paging, CRUD, collections, composite, blobs,
//! getUpdated/getDeleted, limits), Bulk API 2.0 (query and ingest), SOAP `undelete`, and
//! the Metadata API (list, retrieve, deploy) with automation whose activation flags
//! really matter — plus a deterministic data generator and a control API for mutations,
//! clock, limits and faults.
//!
//! Behaviour follows `research/salesforce-api.md`. Start one with [`start`] on a bound
//! listener; drive it over HTTP like a real org and from tests through [`Control`].
//!
//! Persistence: with a data directory, the org is saved to `salesforce-org.bin` two
//! seconds after a change and on shutdown, and loaded on the next start (the clock
//! resumes where it stopped). Query cursors, Bulk jobs and Metadata API jobs are not
//! saved. With TLS, a fresh CA is generated on every start (re-trust `emulator-ca.pem`).

pub mod api;
pub mod bulk;
pub mod clock;
pub mod control;
pub mod faults;
pub mod formula;
pub mod generator;
pub mod hold;
pub mod ids;
pub mod metadata;
pub mod oauth;
pub mod rest;
pub mod rng;
pub mod schema;
pub mod soap;
pub mod soql;
pub mod state;
pub mod store;
pub mod write;
pub mod xml;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::{Mutex, RwLock};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use control::{Control, Mutation, MutationOp, MutationReport, Settings};
pub use faults::{FaultKind, FaultRule, Latency};
pub use generator::Profile;
pub use hold::Hold;

use crate::EmulatorError;
use crate::http::{RunningServer, serve};
use crate::tls::EmulatorTls;
use clock::Clock;
use faults::{ApiUsage, Counters, Faults};
use oauth::tokens::AuthState;
use state::{Cursors, Emulator, Shared, Tuning};
use store::persist::{self, Header0};
use store::{OrgData, RecRef, USER_TABLE};

/// The fixed instant a generated org's clock starts at (2026-03-02T09:00:00Z), so the
/// same seed always yields the same org.
pub const DEFAULT_EPOCH_MS: i64 = 1_772_442_000_000;

/// How to start an emulated org.
#[derive(Debug, Clone)]
pub struct SalesforceOptions {
    /// Generation seed.
    pub seed: u64,
    /// Org size.
    pub profile: Profile,
    /// Serve HTTPS with a generated CA.
    pub tls: bool,
    /// Where the org and the CA are kept (None: in memory only).
    pub data_dir: Option<PathBuf>,
    /// The emulated "now" at generation (ms since the epoch).
    pub epoch_ms: i64,
    /// Whether the clock follows real time (false: only the control API moves it).
    pub clock_running: bool,
    /// The org is a sandbox (logins through the sandbox login host).
    pub sandbox: bool,
    /// Daily API allowance.
    pub daily_api_requests: u64,
    /// Connected-app callback URLs (empty: any http(s) URL).
    pub callback_urls: Vec<String>,
    /// Threads for generation (0: available parallelism).
    pub threads: usize,
}

impl Default for SalesforceOptions {
    fn default() -> Self {
        Self {
            seed: 1,
            profile: Profile::Small,
            tls: false,
            data_dir: None,
            epoch_ms: DEFAULT_EPOCH_MS,
            clock_running: true,
            sandbox: false,
            daily_api_requests: 100_000,
            callback_urls: Vec::new(),
            threads: 0,
        }
    }
}

/// Production or sandbox login host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    /// `login.salesforce.com`.
    Production,
    /// `test.salesforce.com`.
    Sandbox,
}

/// What a client needs to connect, as a developer console would hand it out.
#[derive(Clone)]
pub struct Credentials {
    /// Admin username.
    pub username: String,
    /// Admin password.
    pub password: String,
    /// Admin security token (append to the password for the password flow).
    pub security_token: String,
    /// Connected app consumer key.
    pub client_id: String,
    /// Connected app consumer secret.
    pub client_secret: String,
    /// A ready access token for the admin.
    pub access_token: String,
    /// Organization id (18 characters).
    pub org_id: String,
    /// Admin user id.
    pub user_id: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("security_token", &"<redacted>")
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("access_token", &"<redacted>")
            .field("org_id", &self.org_id)
            .field("user_id", &self.user_id)
            .finish()
    }
}

/// A running emulated org.
#[derive(Debug)]
pub struct RunningSalesforce {
    server: RunningServer,
    control: Control,
    credentials: Credentials,
    ca_pem: Option<String>,
    ca_path: Option<PathBuf>,
    stop: watch::Sender<bool>,
    maintenance: JoinHandle<()>,
}

impl RunningSalesforce {
    /// The instance URL (`https://localhost:PORT` or `http://127.0.0.1:PORT`).
    pub fn base_url(&self) -> &str {
        &self.server.base_url
    }
    /// The login host URL for an environment (`{base}/login` or `{base}/test`); OAuth
    /// endpoints are under `{login_url}/services/oauth2/`.
    pub fn login_url(&self, env: Environment) -> String {
        self.control.em.login_base(env == Environment::Sandbox)
    }
    /// Admin and connected-app credentials.
    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }
    /// The CA certificate clients must trust (HTTPS only).
    pub fn ca_pem(&self) -> Option<&str> {
        self.ca_pem.as_deref()
    }
    /// Where the CA certificate was written (HTTPS with a data directory).
    pub fn ca_path(&self) -> Option<&Path> {
        self.ca_path.as_deref()
    }
    /// The control API.
    pub fn control(&self) -> &Control {
        &self.control
    }
    /// The listening address.
    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr
    }
    /// Stops serving and saves the org (with a data directory).
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.maintenance.await;
        self.server.shutdown().await;
        let em = self.control.em.clone();
        let _ = tokio::task::spawn_blocking(move || save(&em)).await;
    }
}

/// Generates the org for `opts`.
pub fn build_org(opts: &SalesforceOptions) -> OrgData {
    let schema = Arc::new(schema::Schema::build());
    let plan = generator::plan(schema, opts.seed, opts.profile, opts.epoch_ms);
    let threads = if opts.threads == 0 {
        std::thread::available_parallelism().map_or(2, |n| n.get().min(4))
    } else {
        opts.threads
    };
    let mut org = generator::generate(&plan, threads);
    org.settings.is_sandbox = opts.sandbox;
    org
}

fn snapshot_path(opts: &SalesforceOptions) -> Option<PathBuf> {
    opts.data_dir.as_ref().map(|d| d.join(persist::FILE_NAME))
}

/// Saves the org if it has a data directory.
fn save(em: &Emulator) -> Result<(), EmulatorError> {
    let Some(path) = snapshot_path(&em.opts) else {
        return Ok(());
    };
    let header = {
        let org = em.data.read();
        Header0 {
            fingerprint: org.schema.fingerprint(),
            seed: em.seed,
            now_ms: em.now(),
            org_id: org.org_id.clone(),
            pod: org.pod,
            org_name: em.org_name.clone(),
            settings: org.settings.clone(),
            describe_changed_at: org.describe_changed_at,
            components: org.metadata.components.clone(),
            next_component_id: org.metadata.next_id,
            auth: em.auth.lock().clone(),
            usage: em.usage.lock().clone(),
        }
    };
    let tmp = path.with_extension("bin.tmp");
    let io =
        |what: &str, e: std::io::Error| EmulatorError::io(format!("{what} {}", tmp.display()), e);
    let file = std::fs::File::create(&tmp).map_err(|e| io("creating", e))?;
    let mut w = std::io::BufWriter::new(file);
    {
        let org = em.data.read();
        persist::save(&mut w, &org, &header).map_err(|e| io("writing", e))?;
    }
    let file = w.into_inner().map_err(|e| io("writing", e.into_error()))?;
    file.sync_all().map_err(|e| io("syncing", e))?;
    std::fs::rename(&tmp, &path)
        .map_err(|e| EmulatorError::io(format!("renaming to {}", path.display()), e))
}

fn load(path: &Path) -> Result<Option<(OrgData, Header0)>, EmulatorError> {
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(EmulatorError::io(format!("opening {}", path.display()), e)),
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(u64::MAX);
    let mut r = std::io::BufReader::new(file);
    let schema = Arc::new(schema::Schema::build());
    persist::load(&mut r, schema, len)
        .map(Some)
        .map_err(|e| EmulatorError::Snapshot(format!("{}: {e}", path.display())))
}

/// Credentials of the admin and the connected app.
pub fn credentials_of(em: &Emulator) -> Credentials {
    let org = em.data.read();
    let auth = em.auth.lock();
    let admin = RecRef {
        obj: USER_TABLE as u32,
        row: 0,
    };
    let def = &org.schema.objects[USER_TABLE];
    let username = def
        .field("Username")
        .and_then(|f| org.read(admin, f, 0).as_str().map(str::to_owned))
        .unwrap_or_default();
    Credentials {
        username,
        password: generator::password_for(em.seed, 0),
        security_token: oauth::http::security_token(em.seed, 0),
        client_id: auth.client_id.clone(),
        client_secret: auth.client_secret.clone(),
        access_token: auth.ready_token.clone(),
        org_id: org.org_id.clone(),
        user_id: org.id_of(admin),
    }
}

/// Starts an emulated org on `listener`.
///
/// # Errors
/// [`EmulatorError`] when TLS set-up, the data directory or a saved snapshot fails.
pub async fn start(
    listener: TcpListener,
    opts: SalesforceOptions,
) -> Result<RunningSalesforce, EmulatorError> {
    let addr = listener
        .local_addr()
        .map_err(|e| EmulatorError::io("reading the listener address", e))?;
    let base_url = if opts.tls {
        format!("https://localhost:{}", addr.port())
    } else {
        format!("http://127.0.0.1:{}", addr.port())
    };
    if let Some(dir) = &opts.data_dir {
        std::fs::create_dir_all(dir)
            .map_err(|e| EmulatorError::io(format!("creating {}", dir.display()), e))?;
    }
    let opts2 = opts.clone();
    let loaded = tokio::task::spawn_blocking(move || -> Result<_, EmulatorError> {
        match snapshot_path(&opts2) {
            Some(p) => load(&p),
            None => Ok(None),
        }
    })
    .await
    .map_err(|e| EmulatorError::Snapshot(e.to_string()))??;
    let (org, clock_start, auth, usage, org_name, seed) = match loaded {
        Some((org, h)) => (
            org,
            h.now_ms,
            Some(h.auth),
            Some(h.usage),
            h.org_name,
            h.seed,
        ),
        None => {
            let opts2 = opts.clone();
            let org = tokio::task::spawn_blocking(move || build_org(&opts2))
                .await
                .map_err(|e| EmulatorError::Snapshot(e.to_string()))?;
            let name =
                generator::plan(org.schema.clone(), opts.seed, opts.profile, opts.epoch_ms).company;
            (org, opts.epoch_ms, None, None, name, opts.seed)
        }
    };
    let opts = SalesforceOptions { seed, ..opts };
    let mut auth = auth.unwrap_or_else(|| AuthState::new(opts.callback_urls.clone()));
    if !opts.callback_urls.is_empty() {
        auth.callback_urls = opts.callback_urls.clone();
    }
    let em: Shared = Arc::new(Emulator {
        base_url,
        seed: opts.seed,
        org_name,
        profile: opts.profile,
        clock: Clock::new(clock_start, opts.clock_running),
        data: RwLock::new(org),
        auth: Mutex::new(auth),
        usage: Mutex::new(usage.unwrap_or_else(|| ApiUsage::new(opts.daily_api_requests))),
        faults: Mutex::new(Faults::new(opts.seed)),
        counters: Mutex::new(Counters::default()),
        cursors: Mutex::new(Cursors::default()),
        bulk: Mutex::new(bulk::BulkJobs::default()),
        mdapi: Mutex::new(metadata::soap::AsyncJobs::default()),
        tuning: Mutex::new(Tuning::default()),
        generation: AtomicU64::new(1),
        blob_digests: Mutex::new(std::collections::HashMap::new()),
        opts: opts.clone(),
        bulk_done: tokio::sync::Notify::new(),
    });
    {
        let now = em.now();
        let org15 = em.org_id15();
        let mut auth = em.auth.lock();
        if !auth.sessions.contains_key(&auth.ready_token) {
            let token = auth.new_session(&org15, 0, now, None, "api web full");
            auth.ready_token = token;
        }
    }
    let (tls_config, ca_pem, ca_path) = if opts.tls {
        let tls = EmulatorTls::generate(&[])?;
        let path = match &opts.data_dir {
            Some(d) => Some(tls.write_ca(d)?),
            None => None,
        };
        (
            Some(tls.server_config.clone()),
            Some(tls.ca_pem.clone()),
            path,
        )
    } else {
        (None, None, None)
    };
    let server = serve(listener, api::router(em.clone()), tls_config)
        .map_err(|e| EmulatorError::io("starting the server", e))?;
    let (stop, stopped) = watch::channel(false);
    let maintenance = tokio::spawn(maintain(em.clone(), stopped));
    Ok(RunningSalesforce {
        server,
        credentials: credentials_of(&em),
        control: Control { em },
        ca_pem,
        ca_path,
        stop,
        maintenance,
    })
}

/// Background upkeep: saves the org after changes (with a data directory) and purges the
/// recycle bin past its retention as the emulated clock moves.
async fn maintain(em: Shared, mut stopped: watch::Receiver<bool>) {
    let mut saved = if em.opts.data_dir.is_some() {
        0
    } else {
        u64::MAX
    };
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(2));
    loop {
        tokio::select! {
            _ = stopped.changed() => break,
            _ = tick.tick() => {}
        }
        let now = em.now();
        control::purge_expired(&em, now);
        let generation = em.generation.load(Ordering::Relaxed);
        if saved != u64::MAX && generation != saved {
            let em2 = em.clone();
            match tokio::task::spawn_blocking(move || save(&em2)).await {
                Ok(Ok(())) => saved = generation,
                Ok(Err(e)) => tracing::warn!(error = %e, "saving the emulated org failed"),
                Err(e) => tracing::warn!(error = %e, "saving the emulated org panicked"),
            }
        }
    }
}
