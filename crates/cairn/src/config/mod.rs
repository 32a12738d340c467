//! The configuration tree: one typed value built from defaults, then `cairn.toml` (path
//! via `--config`), then environment variables `CAIRN_<SECTION>__<KEY>` (top-level keys:
//! `CAIRN_DATA_DIR`). Unknown keys are errors that name the key. Secrets are [`Secret`]s,
//! which never print. The result is passed around as a value (`Arc<Config>`), never a
//! global.

mod connectors;
mod default_file;
mod env;
mod secret;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use cairn_domain::Region;
use cairn_domain::auth::AuthSettings;

use crate::error::Error;

pub use connectors::{DropboxSection, SalesforceSection};
pub use default_file::default_file;
pub use secret::Secret;

/// Cairn's whole configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Where the SQLite database, local vault, master key and mail outbox live.
    pub data_dir: PathBuf,
    /// Listening and public address.
    pub server: ServerConfig,
    /// The meta store.
    pub database: DatabaseConfig,
    /// Outgoing mail.
    pub mail: MailConfig,
    /// Sign-in policy.
    pub auth: AuthSettings,
    /// Data-center regions offered at sign-up.
    pub regions: Vec<Region>,
    /// Backup storage and the master key.
    pub vault: VaultConfig,
    /// The Salesforce connector: login hosts, connected app, CA.
    pub salesforce: SalesforceSection,
    /// The Dropbox connector: hosts, app key, CA.
    pub dropbox: DropboxSection,
    /// Background workers and the scheduler.
    pub jobs: JobsConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./cairn-data"),
            server: ServerConfig::default(),
            database: DatabaseConfig::default(),
            mail: MailConfig::default(),
            auth: AuthSettings::default(),
            regions: vec![Region::local()],
            vault: VaultConfig::default(),
            salesforce: SalesforceSection::default(),
            dropbox: DropboxSection::default(),
            jobs: JobsConfig::default(),
        }
    }
}

/// `[server]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Address and port to listen on.
    pub bind: SocketAddr,
    /// The address users reach the portal at (links in emails); defaults to the bind
    /// address.
    pub public_url: Option<String>,
    /// PEM certificate chain for serving HTTPS directly.
    pub tls_cert_file: Option<PathBuf>,
    /// PEM private key for serving HTTPS directly.
    pub tls_key_file: Option<PathBuf>,
    /// Take client IPs from `X-Forwarded-For` (only behind a trusted reverse proxy).
    pub trust_forwarded_for: bool,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: None,
            tls_cert_file: None,
            tls_key_file: None,
            trust_forwarded_for: false,
            max_body_bytes: 1024 * 1024,
        }
    }
}

/// `[database]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    /// `sqlite://…` or `postgres://…`; defaults to `<data_dir>/cairn.db`. May hold a
    /// password, hence secret.
    pub url: Option<Secret>,
    /// Pool size.
    pub max_connections: u32,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: None,
            max_connections: 10,
        }
    }
}

/// `[mail]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MailConfig {
    /// Sender of every message.
    pub from: String,
    /// SMTP server (`smtps://user:password@host:465`); without it mail goes to the outbox.
    pub smtp_url: Option<Secret>,
}

impl Default for MailConfig {
    fn default() -> Self {
        Self {
            from: "Cairn <no-reply@cairn.localhost>".to_owned(),
            smtp_url: None,
        }
    }
}

/// `[vault]`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VaultConfig {
    /// A directory or an object-store URL; defaults to `<data_dir>/vault`.
    pub location: Option<String>,
    /// File holding the master key (64 hex digits); defaults to `<data_dir>/master.key`.
    pub master_key_file: Option<PathBuf>,
    /// The master key itself, instead of a file.
    pub master_key: Option<Secret>,
}

/// `[jobs]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JobsConfig {
    /// Jobs one process runs at once (`cairn serve`, `cairn worker`).
    pub workers: usize,
    /// How long a claimed job stays with its worker without a heartbeat; a crashed
    /// worker's job is taken over after this. Heartbeats come every third of it.
    pub lease_seconds: u64,
    /// How often the scheduler looks for due backups.
    pub scheduler_interval_seconds: u64,
}

impl Default for JobsConfig {
    fn default() -> Self {
        Self {
            workers: 2,
            lease_seconds: 60,
            scheduler_interval_seconds: 30,
        }
    }
}

impl Config {
    /// Loads the configuration: defaults, then the file at `path` if given, then the
    /// `CAIRN_*` variables among `env`.
    ///
    /// # Errors
    /// [`Error::Config`] naming the file, line or variable and the key at fault.
    pub fn load(
        path: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, Error> {
        let text = match path {
            Some(path) => std::fs::read_to_string(path)
                .map_err(|e| Error::Config(format!("cannot read {}: {e}", path.display())))?,
            None => String::new(),
        };
        let origin = path.map_or_else(|| "defaults".to_owned(), |p| p.display().to_string());
        Self::from_toml_and_env(&text, &origin, env)
    }

    /// Like [`Config::load`] with the file's text given directly; `origin` names it in
    /// messages.
    ///
    /// # Errors
    /// [`Error::Config`].
    pub fn from_toml_and_env(
        text: &str,
        origin: &str,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, Error> {
        // Parse the file on its own first: its errors then carry line and column.
        toml::from_str::<Config>(text).map_err(|e| Error::Config(format!("{origin}: {e}")))?;
        let table: toml::Table =
            toml::from_str(text).map_err(|e| Error::Config(format!("{origin}: {e}")))?;
        let merged = env::apply(table, env)?;
        let config: Config =
            serde_path_to_error::deserialize(toml::Value::Table(merged)).map_err(|e| {
                Error::Config(format!(
                    "{origin} with CAIRN_* environment overrides: `{}`: {}",
                    e.path(),
                    e.inner()
                ))
            })?;
        config.validate()?;
        Ok(config)
    }

    /// Checks values that parse but make no sense.
    ///
    /// # Errors
    /// [`Error::Config`] listing every problem.
    pub fn validate(&self) -> Result<(), Error> {
        let mut problems = self.auth.problems();
        if self.regions.is_empty() {
            problems.push("regions: configure at least one region".to_owned());
        }
        let mut codes = std::collections::BTreeSet::new();
        for region in &self.regions {
            if !codes.insert(region.code.as_str()) {
                problems.push(format!("regions: code `{}` is listed twice", region.code));
            }
            if region.name.trim().is_empty() {
                problems.push(format!("regions: region `{}` needs a name", region.code));
            }
        }
        if let Some(public_url) = &self.server.public_url {
            match url::Url::parse(public_url) {
                Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {}
                _ => problems.push(format!(
                    "server.public_url: `{public_url}` is not an http:// or https:// URL"
                )),
            }
        }
        if self.server.tls_cert_file.is_some() != self.server.tls_key_file.is_some() {
            problems.push(
                "server.tls_cert_file and server.tls_key_file must be set together".to_owned(),
            );
        }
        if self.server.max_body_bytes < 1024 {
            problems.push("server.max_body_bytes must be at least 1024".to_owned());
        }
        if self.jobs.workers == 0 {
            problems.push(
                "jobs.workers must be at least 1 (use `serve --role api` for no background work)"
                    .to_owned(),
            );
        }
        if self.jobs.lease_seconds < 6 {
            problems.push("jobs.lease_seconds must be at least 6".to_owned());
        }
        if self.jobs.scheduler_interval_seconds == 0 {
            problems.push("jobs.scheduler_interval_seconds must be at least 1".to_owned());
        }
        if self.database.max_connections == 0 {
            problems.push("database.max_connections must be at least 1".to_owned());
        }
        if let Some(url) = &self.database.url {
            let url = url.expose();
            if !(url.starts_with("sqlite:")
                || url.starts_with("postgres://")
                || url.starts_with("postgresql://"))
            {
                problems.push("database.url must start with sqlite: or postgres://".to_owned());
            }
        }
        if cairn_mail::check_mailbox(&self.mail.from).is_err() {
            problems.push(format!(
                "mail.from: `{}` is not a valid sender address",
                self.mail.from
            ));
        }
        if let Err(Error::Config(problem)) = self.salesforce.connector_config() {
            problems.push(problem);
        }
        if let Err(Error::Config(problem)) = self.dropbox.connector_config() {
            problems.push(problem);
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::Config(problems.join("; ")))
        }
    }

    /// The meta store URL.
    #[must_use]
    pub fn database_url(&self) -> String {
        match &self.database.url {
            Some(url) => url.expose().to_owned(),
            None => format!("sqlite://{}", self.data_dir.join("cairn.db").display()),
        }
    }

    /// Where outgoing mail is written when there is no SMTP server.
    #[must_use]
    pub fn outbox_dir(&self) -> PathBuf {
        self.data_dir.join("outbox")
    }

    /// The vault location: the configured one, or `<data_dir>/vault`.
    #[must_use]
    pub fn vault_location(&self) -> String {
        self.vault
            .location
            .clone()
            .unwrap_or_else(|| self.data_dir.join("vault").display().to_string())
    }

    /// The master key file: the configured one, or `<data_dir>/master.key`.
    #[must_use]
    pub fn master_key_file(&self) -> PathBuf {
        self.vault
            .master_key_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("master.key"))
    }

    /// Loads the operator master key from `vault.master_key` or the key file.
    ///
    /// # Errors
    /// [`Error::Config`] when neither holds a valid key.
    pub fn load_master_key(&self) -> Result<cairn_vault::crypto::MasterKey, Error> {
        use cairn_vault::crypto::MasterKey;
        if let Some(key) = &self.vault.master_key {
            return MasterKey::from_hex(key.expose())
                .map_err(|e| Error::Config(format!("vault.master_key: {e}")));
        }
        let path = self.master_key_file();
        let text = std::fs::read_to_string(&path).map_err(|e| {
            Error::Config(format!(
                "no master key: cannot read {} ({e}); create one with \
                 `cairn admin master-key generate --out {}` or set vault.master_key",
                path.display(),
                path.display()
            ))
        })?;
        MasterKey::from_hex(&text).map_err(|e| Error::Config(format!("{}: {e}", path.display())))
    }
}

#[cfg(test)]
mod tests;
