//! Starting and stopping an emulator: options, listeners, generation and journal replay,
//! routers, TLS and the background hash warm-up.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::{any, get, post};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use super::api::{ApiState, Roles, handle};
use super::blobs::BlobStore;
use super::control::Control;
use super::generator::{TeamSpec, admin_password, generate};
use super::hashes::HashCache;
use super::limits::{Counters, Limits, RateLimit};
use super::persist::{Entry, Journal, load_or_init};
use super::rng::{Rng, derive};
use super::sessions::Sessions;
use super::state::{Config, Shared};
use super::tokens::TokenStore;
use super::{control_http, oauth};
use crate::error::EmulatorError;
use crate::http::{RunningServer, serve};
use crate::tls::EmulatorTls;

/// How to run the emulator.
#[derive(Debug, Clone)]
pub struct DropboxOptions {
    /// Seed for the team and its content.
    pub seed: u64,
    /// Number of members (at least 1: the first is the admin).
    pub members: u32,
    /// Number of team folders.
    pub team_folders: u32,
    /// Number of live files.
    pub files: u64,
    /// Approximate total bytes of the live files.
    pub bytes: u64,
    /// Share of files duplicating another file's content (0..=1).
    pub dup_ratio: f64,
    /// Serve HTTPS with a generated CA.
    pub tls: bool,
    /// Persist changes, uploads and tokens here (under `dropbox/`).
    pub data_dir: Option<PathBuf>,
    /// Lifetime of short-lived access tokens, in seconds (Dropbox: 14400).
    pub access_token_ttl: u64,
    /// Hash all generated content in the background at start.
    pub warm_hashes: bool,
    /// Cap on long-poll waits (tests); `None` honours the client's `timeout`.
    pub max_longpoll_wait: Option<Duration>,
    /// Per-member request-rate limit at start.
    pub rate_limit: Option<RateLimit>,
    /// Monthly data-transport call limit at start (`None`: unlimited).
    pub transport_limit: Option<u64>,
}

impl Default for DropboxOptions {
    fn default() -> Self {
        let spec = TeamSpec::default();
        Self {
            seed: spec.seed,
            members: spec.members,
            team_folders: spec.team_folders,
            files: spec.files,
            bytes: spec.bytes,
            dup_ratio: spec.dup_ratio,
            tls: false,
            data_dir: None,
            access_token_ttl: 14_400,
            warm_hashes: true,
            max_longpoll_wait: None,
            rate_limit: None,
            transport_limit: None,
        }
    }
}

impl DropboxOptions {
    /// The generator spec these options describe.
    #[must_use]
    pub fn spec(&self) -> TeamSpec {
        TeamSpec {
            seed: self.seed,
            members: self.members,
            team_folders: self.team_folders,
            files: self.files,
            bytes: self.bytes,
            dup_ratio: self.dup_ratio,
        }
    }

    fn validate(&self) -> Result<(), EmulatorError> {
        let bad = |m: &str| Err(EmulatorError::Invalid(m.to_owned()));
        if self.members == 0 {
            return bad("members must be at least 1 (the first member is the team admin)");
        }
        if !(0.0..=1.0).contains(&self.dup_ratio) {
            return bad("dup-ratio must be between 0 and 1");
        }
        if self.files > 10_000_000 {
            return bad("files must be at most 10000000");
        }
        if self.access_token_ttl == 0 {
            return bad("the access token lifetime must be positive");
        }
        Ok(())
    }
}

/// Where to listen: one port for every host, or one per host.
#[derive(Debug)]
pub enum Listeners {
    /// api, content and notify on one port.
    Single(TcpListener),
    /// One listener per host (routes answer only on their own host).
    Split {
        /// api host (RPC, OAuth, control API).
        api: TcpListener,
        /// content host (upload, download).
        content: TcpListener,
        /// notify host (long-poll).
        notify: TcpListener,
    },
}

impl From<TcpListener> for Listeners {
    fn from(listener: TcpListener) -> Self {
        Self::Single(listener)
    }
}

/// What a client needs to connect, as the app console would show it.
#[derive(Clone)]
pub struct Credentials {
    /// App key (`client_id`).
    pub app_key: String,
    /// App secret.
    pub app_secret: String,
    /// The team admin's sign-in e-mail.
    pub admin_email: String,
    /// The team admin's sign-in password.
    pub admin_password: String,
    /// The admin's `dbmid:` (for Select-Admin).
    pub admin_team_member_id: String,
    /// A long-lived team access token ("generate access token" in the console).
    pub team_token: String,
    /// `dbtid:…`
    pub team_id: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("app_key", &self.app_key)
            .field("app_secret", &"<redacted>")
            .field("admin_email", &self.admin_email)
            .field("admin_password", &"<redacted>")
            .field("admin_team_member_id", &self.admin_team_member_id)
            .field("team_token", &"<redacted>")
            .field("team_id", &self.team_id)
            .finish()
    }
}

/// A running emulator.
#[derive(Debug)]
pub struct RunningDropbox {
    api_url: String,
    content_url: String,
    notify_url: String,
    credentials: Credentials,
    ca_pem: Option<String>,
    ca_path: Option<PathBuf>,
    control: Control,
    servers: Vec<RunningServer>,
    warm: Option<JoinHandle<()>>,
    _scratch: Option<tempfile::TempDir>,
}

impl RunningDropbox {
    /// Base URL of the api host (`https://localhost:PORT` with TLS).
    #[must_use]
    pub fn api_url(&self) -> &str {
        &self.api_url
    }

    /// Base URL of the content host.
    #[must_use]
    pub fn content_url(&self) -> &str {
        &self.content_url
    }

    /// Base URL of the notify host.
    #[must_use]
    pub fn notify_url(&self) -> &str {
        &self.notify_url
    }

    /// Where to send a browser to link the app (`/oauth2/authorize` on the api host).
    #[must_use]
    pub fn oauth_authorize_url(&self) -> String {
        format!("{}/oauth2/authorize", self.api_url)
    }

    /// App, admin and token credentials.
    #[must_use]
    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// The CA certificate clients must trust (TLS only).
    #[must_use]
    pub fn ca_pem(&self) -> Option<&str> {
        self.ca_pem.as_deref()
    }

    /// Where the CA certificate was written (TLS only).
    #[must_use]
    pub fn ca_path(&self) -> Option<&std::path::Path> {
        self.ca_path.as_deref()
    }

    /// The in-process control handle.
    #[must_use]
    pub fn control(&self) -> &Control {
        &self.control
    }

    /// Stops serving and waits for the accept loops to end.
    pub async fn shutdown(self) {
        if let Some(warm) = self.warm {
            warm.abort();
        }
        for server in self.servers {
            server.shutdown().await;
        }
    }
}

fn derived_text(seed: u64, tag: u64, bytes: usize, alphabet: &[u8]) -> String {
    let mut rng = Rng::derived(&[seed, tag]);
    (0..bytes)
        .map(|_| alphabet[rng.index(alphabet.len())] as char)
        .collect()
}

/// The console token: derived from the seed so it survives restarts of the same team.
fn console_token(seed: u64) -> String {
    let mut raw = [0u8; 48];
    Rng::derived(&[seed, 0xC0_501E]).fill_bytes(&mut raw);
    URL_SAFE_NO_PAD.encode(raw)
}

fn app_router(shared: &Arc<Shared>, roles: Roles) -> Router {
    let api = Router::new()
        .route("/2/{*route}", any(handle))
        .with_state(ApiState {
            shared: shared.clone(),
            roles,
        });
    if !roles.api {
        return api;
    }
    let oauth = Router::new()
        .route("/oauth2/authorize", get(oauth::authorize))
        .route("/oauth2/authorize/login", post(oauth::login))
        .route("/oauth2/authorize/decision", post(oauth::decision))
        .route("/oauth2/token", post(oauth::token))
        .with_state(shared.clone());
    api.merge(oauth).merge(control_http::router(shared.clone()))
}

/// Starts the emulator on already-bound listeners.
///
/// # Errors
/// [`EmulatorError::Invalid`] for bad options or a data directory holding another team,
/// IO and TLS errors otherwise.
pub async fn start(
    listeners: impl Into<Listeners>,
    opts: DropboxOptions,
) -> Result<RunningDropbox, EmulatorError> {
    opts.validate()?;
    let spec = opts.spec();
    let persist_dir = opts.data_dir.as_ref().map(|d| d.join("dropbox"));
    let (stored, journal, entries) = match &persist_dir {
        Some(dir) => {
            let stored = load_or_init(dir, &spec)?;
            let (journal, entries) = Journal::open(dir)?;
            (Some(stored), Some(journal), entries)
        }
        None => (None, None, Vec::new()),
    };
    let generate_spec = spec.clone();
    let mut team = tokio::task::spawn_blocking(move || generate(&generate_spec))
        .await
        .map_err(|e| EmulatorError::Invalid(format!("generating the team failed: {e}")))?;
    team.epoch = stored.as_ref().map_or(0, |s| s.epoch);
    let generated_contents = team.contents.len();
    let token = console_token(spec.seed);
    let mut tokens = TokenStore::with_console_token(&token);
    for entry in &entries {
        match entry {
            Entry::Team(op) => {
                if let Err(e) = team.apply(op) {
                    tracing::warn!(?e, ?op, "a journaled change no longer applies; skipped");
                }
            }
            Entry::Token(op) => tokens.apply(op),
        }
    }
    let admin = team
        .first_admin()
        .ok_or_else(|| EmulatorError::Invalid("the team has no active admin".into()))?;
    let credentials = Credentials {
        app_key: derived_text(
            spec.seed,
            0xA99_CE7,
            15,
            b"abcdefghijklmnopqrstuvwxyz0123456789",
        ),
        app_secret: derived_text(
            spec.seed,
            0x5EC_2E7,
            15,
            b"abcdefghijklmnopqrstuvwxyz0123456789",
        ),
        admin_email: team.members[admin].email.clone(),
        admin_password: team.members[admin]
            .password
            .clone()
            .unwrap_or_else(|| admin_password(spec.seed)),
        admin_team_member_id: team.members[admin].team_member_id.clone(),
        team_token: token.clone(),
        team_id: team.info.team_id.clone(),
    };
    let warm_contents = opts.warm_hashes.then(|| team.contents.clone());
    let seq = team.seq;
    let blobs = BlobStore::open(persist_dir.as_deref())?;
    let shared = Arc::new(Shared {
        hashes: HashCache::new(spec.seed),
        team: parking_lot::RwLock::new(team),
        tokens: parking_lot::Mutex::new(tokens),
        blobs,
        sessions: parking_lot::Mutex::new(Sessions::default()),
        limits: Limits::new(spec.seed, opts.rate_limit, opts.transport_limit),
        counters: Counters::default(),
        journal,
        stored: parking_lot::Mutex::new(stored),
        changed: tokio::sync::watch::channel(seq).0,
        logins: parking_lot::Mutex::new(std::collections::HashMap::new()),
        config: Config {
            spec: spec.clone(),
            app_key: credentials.app_key.clone(),
            app_secret: credentials.app_secret.clone(),
            console_token: token,
            access_token_ttl: opts.access_token_ttl as i64,
            max_longpoll_wait: opts.max_longpoll_wait,
            persist_dir: persist_dir.clone(),
            generated_contents,
        },
    });

    let (tls, ca_pem, ca_path, scratch) = if opts.tls {
        // With a data directory the CA is kept, so clients trusting it survive restarts.
        let (tls, path, scratch) = match &persist_dir {
            Some(d) => {
                let tls = EmulatorTls::load_or_generate(d, &[])?;
                (tls, d.join(crate::tls::CA_FILE_NAME), None)
            }
            None => {
                let t = tempfile::Builder::new()
                    .prefix("cairn-dropbox-tls")
                    .tempdir()
                    .map_err(|e| EmulatorError::io("creating a directory for the CA", e))?;
                let tls = EmulatorTls::generate(&[])?;
                let path = tls.write_ca(t.path())?;
                (tls, path, Some(t))
            }
        };
        (
            Some(tls.server_config.clone()),
            Some(tls.ca_pem.clone()),
            Some(path),
            scratch,
        )
    } else {
        (None, None, None, None)
    };

    let io = |e| EmulatorError::io("starting the Dropbox emulator listener", e);
    let servers = match listeners.into() {
        Listeners::Single(l) => vec![serve(l, app_router(&shared, Roles::ALL), tls).map_err(io)?],
        Listeners::Split {
            api,
            content,
            notify,
        } => {
            let only = |api, content, notify| Roles {
                api,
                content,
                notify,
            };
            vec![
                serve(
                    api,
                    app_router(&shared, only(true, false, false)),
                    tls.clone(),
                )
                .map_err(io)?,
                serve(
                    content,
                    app_router(&shared, only(false, true, false)),
                    tls.clone(),
                )
                .map_err(io)?,
                serve(notify, app_router(&shared, only(false, false, true)), tls).map_err(io)?,
            ]
        }
    };
    let url = |i: usize| servers[i.min(servers.len() - 1)].base_url.clone();
    let warm = warm_contents.map(|contents| {
        let shared = shared.clone();
        tokio::spawn(async move { shared.hashes.warm(contents).await })
    });
    let _ = derive(&[spec.seed]);
    Ok(RunningDropbox {
        api_url: url(0),
        content_url: url(1),
        notify_url: url(2),
        credentials,
        ca_pem,
        ca_path,
        control: Control {
            shared: shared.clone(),
        },
        servers,
        warm,
        _scratch: scratch,
    })
}
