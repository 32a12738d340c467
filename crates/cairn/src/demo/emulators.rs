//! The demo's built-in Salesforce org and Dropbox team.
//!
//! `cairn demo` starts both emulators in-process and points the connectors at them, so a new
//! user can add a backup task and authenticate on the emulator's consent page without a real
//! org or team. Their state lives under `<data_dir>/emulators/`, and they listen on the two
//! ports after the portal's (8081 and 8082 by default), so tokens and instance URLs stored
//! by tasks keep working when the demo is restarted.

use std::net::SocketAddr;
use std::path::Path;

use anyhow::Context;
use cairn::Config;
use cairn::config::Secret;
use cairn_emulator::dropbox::{self, DropboxOptions, Listeners, RunningDropbox};
use cairn_emulator::salesforce::{
    self, Environment, Profile, RunningSalesforce, SalesforceOptions,
};
use tokio::net::TcpListener;

/// The demo Dropbox team: about ten members, a few team folders, a few hundred MiB with
/// duplicate content (so deduplication shows in the numbers).
const DROPBOX_MEMBERS: u32 = 10;
const DROPBOX_TEAM_FOLDERS: u32 = 3;
const DROPBOX_FILES: u64 = 1_200;
const DROPBOX_BYTES: u64 = 256 * 1024 * 1024;
const DROPBOX_DUP_RATIO: f64 = 0.25;

/// Both running emulators.
pub struct DemoEmulators {
    salesforce: RunningSalesforce,
    dropbox: RunningDropbox,
}

impl DemoEmulators {
    /// Starts both emulators next to a portal bound at `portal`.
    ///
    /// # Errors
    /// When a port cannot be bound or an emulator's state cannot be created or loaded.
    pub async fn start(data_dir: &Path, portal: SocketAddr) -> anyhow::Result<Self> {
        let dir = data_dir.join("emulators");
        let salesforce = salesforce::start(
            listener_after(portal, 1).await?,
            SalesforceOptions {
                profile: Profile::Medium,
                data_dir: Some(dir.join("salesforce")),
                // The demo org's clock follows the wall clock, so "last backup" times and
                // the changes made in it read naturally.
                epoch_ms: now_ms()?,
                ..SalesforceOptions::default()
            },
        )
        .await
        .context("starting the demo Salesforce org")?;
        let dropbox = match listener_after(portal, 2).await {
            Ok(listener) => dropbox::start(
                Listeners::Single(listener),
                DropboxOptions {
                    members: DROPBOX_MEMBERS,
                    team_folders: DROPBOX_TEAM_FOLDERS,
                    files: DROPBOX_FILES,
                    bytes: DROPBOX_BYTES,
                    dup_ratio: DROPBOX_DUP_RATIO,
                    data_dir: Some(dir.join("dropbox")),
                    ..DropboxOptions::default()
                },
            )
            .await
            .context("starting the demo Dropbox team"),
            Err(error) => Err(error),
        };
        match dropbox {
            Ok(dropbox) => Ok(Self {
                salesforce,
                dropbox,
            }),
            Err(error) => {
                salesforce.shutdown().await;
                Err(error)
            }
        }
    }

    /// Points the connectors at the emulators, with their OAuth clients.
    pub fn configure(&self, config: &mut Config) {
        let sf = self.salesforce.credentials();
        config.salesforce.client_id.clone_from(&sf.client_id);
        config.salesforce.client_secret = Some(Secret::new(sf.client_secret.clone()));
        config.salesforce.production_login_url = self.salesforce.login_url(Environment::Production);
        config.salesforce.sandbox_login_url = self.salesforce.login_url(Environment::Sandbox);
        config.salesforce.ca_file = None;

        let db = self.dropbox.credentials();
        config.dropbox.app_key.clone_from(&db.app_key);
        config.dropbox.app_secret = Some(Secret::new(db.app_secret.clone()));
        config.dropbox.api_url = self.dropbox.api_url().to_owned();
        config.dropbox.content_url = self.dropbox.content_url().to_owned();
        config.dropbox.notify_url = self.dropbox.notify_url().to_owned();
        config.dropbox.authorize_url = self.dropbox.oauth_authorize_url();
        config.dropbox.ca_file = None;
    }

    /// The lines printed after `portal:` and `admin:`: where each emulator is and the user
    /// to sign in with on its consent page.
    #[must_use]
    pub fn announcement(&self) -> Vec<String> {
        let sf = self.salesforce.credentials();
        let db = self.dropbox.credentials();
        vec![
            format!(
                "salesforce: {} user: {} {}",
                self.salesforce.login_url(Environment::Production),
                sf.username,
                sf.password
            ),
            format!(
                "dropbox: {} user: {} {}",
                self.dropbox.api_url(),
                db.admin_email,
                db.admin_password
            ),
        ]
    }

    /// Stops both.
    pub async fn shutdown(self) {
        self.salesforce.shutdown().await;
        self.dropbox.shutdown().await;
    }
}

/// A listener on the portal's port + `offset` (same address), or any free port when the
/// portal asked for port 0 or that port is taken.
async fn listener_after(portal: SocketAddr, offset: u16) -> anyhow::Result<TcpListener> {
    if portal.port() != 0
        && let Some(port) = portal.port().checked_add(offset)
        && let Ok(listener) = TcpListener::bind(SocketAddr::new(portal.ip(), port)).await
    {
        return Ok(listener);
    }
    let any = SocketAddr::new(portal.ip(), 0);
    TcpListener::bind(any)
        .await
        .with_context(|| format!("binding {any} for an emulator"))
}

fn now_ms() -> anyhow::Result<i64> {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .context("the system clock is before 1970")?;
    i64::try_from(since.as_millis()).context("the system clock is out of range")
}
