//! Background work in a `cairn serve` (role all or worker) or `cairn worker` process: the
//! job worker pool and the scheduler, sized by `[jobs]`.
//!
//! Every process with background work runs both. The scheduler is safe to run on every
//! replica (each slot is enqueued under a unique key), and the workers share the queue
//! through leases, so scaling out is starting more processes against the same database.
//! New job kinds are registered in [`runners`].

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;

use cairn_backup::{
    AccountVaults, BackupContext, BackupOptions, BackupRunner, DropboxBackup, SalesforceBackup,
    TokenCipher, VaultDataRemover,
};
use cairn_domain::{JobKind, SharedClock};
use cairn_jobs::maintenance::PurgeDeleted;
use cairn_jobs::{CancellationToken, Runners, Scheduler, WorkerConfig, WorkerPool};
use cairn_meta::MetaStore;
use cairn_salesforce::SalesforceApp;
use cairn_vault::Backend;
use cairn_vault::backend::Location;

use crate::config::{Config, JobsConfig};
use crate::error::Error;

/// What a process that can open account vaults (a master key is configured) runs:
/// backups, and the daily purge with the vault part of it.
#[derive(Clone)]
pub struct VaultWork {
    /// Runs backup jobs.
    pub backup: Arc<BackupRunner>,
    /// Removes purged tasks' and entities' data from the vaults.
    pub remover: Arc<VaultDataRemover>,
}

/// The runners this build has, by job kind. Backup and maintenance jobs run only where
/// the process can open vaults (a master key is configured): elsewhere they stay queued
/// for a worker that can, so a purge never drops a task's rows while leaving its data in
/// the vault.
#[must_use]
pub fn runners(vault: Option<VaultWork>) -> Runners {
    match vault {
        Some(work) => Runners::new()
            .with(
                JobKind::Maintenance,
                Arc::new(PurgeDeleted::new().with_vault(work.remover)),
            )
            .with(JobKind::Backup, work.backup),
        None => Runners::new(),
    }
}

/// The vault work of this process: account vaults under the configured vault location,
/// tokens opened with the master key, Salesforce through `[salesforce]` and Dropbox
/// through `[dropbox]`, and the purge's vault remover over the same vaults.
/// `None` (with a warning) when there is no usable master key.
///
/// # Errors
/// [`Error::Config`] for an unusable vault location or connector settings.
pub fn vault_work(
    config: &Config,
    store: &MetaStore,
    clock: &SharedClock,
) -> Result<Option<VaultWork>, Error> {
    let master = match config.load_master_key() {
        Ok(key) => key,
        Err(e) => {
            tracing::warn!("backups and purges cannot run in this process: {e}");
            return Ok(None);
        }
    };
    let location = config.vault_location();
    if let Ok(Location::Local(dir)) = Location::parse(&location) {
        std::fs::create_dir_all(&dir).map_err(|source| Error::Io {
            context: format!("creating the vault directory {}", dir.display()),
            source,
        })?;
    }
    let root = Backend::open(&location).map_err(|e| Error::Config(format!("vault: {e}")))?;
    let salesforce = config
        .salesforce
        .connector_config()?
        .map(SalesforceApp::new)
        .transpose()
        .map_err(|e| Error::Config(format!("salesforce: {e}")))?
        .map(|app| Arc::new(SalesforceBackup::new(app)));
    let ctx = BackupContext {
        store: store.clone(),
        vaults: AccountVaults::new(root, master.clone()),
        tokens: TokenCipher::new(&master),
        clock: clock.clone(),
        options: BackupOptions::default(),
    };
    let dropbox = config
        .dropbox
        .connector_config()?
        .map(cairn_dropbox::DropboxApp::new)
        .transpose()
        .map_err(|e| Error::Config(format!("dropbox: {e}")))?
        .map(|app| Arc::new(DropboxBackup::new(app)));
    let remover = Arc::new(VaultDataRemover::new(&ctx));
    let mut runner = BackupRunner::new(ctx, salesforce);
    if let Some(dropbox) = dropbox {
        runner = runner.with_dropbox(dropbox);
    }
    Ok(Some(VaultWork {
        backup: Arc::new(runner),
        remover,
    }))
}

/// The name this process's workers put on their leases: host and process id.
#[must_use]
pub fn worker_name() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.trim().is_empty())
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|h| h.trim().to_owned())
                .filter(|h| !h.is_empty())
        })
        .unwrap_or_else(|| "cairn".to_owned());
    format!("{host}:{}", std::process::id())
}

/// Starts the worker pool and the scheduler; both stop when `shutdown` is cancelled
/// (running jobs are handed back to the queue first).
#[must_use]
pub fn start(
    config: &JobsConfig,
    store: &MetaStore,
    clock: &SharedClock,
    vault: Option<VaultWork>,
    shutdown: &CancellationToken,
) -> Vec<JoinHandle<()>> {
    let workers = WorkerConfig::new(
        worker_name(),
        config.workers,
        Duration::from_secs(config.lease_seconds),
    );
    let pool = WorkerPool::new(store.clone(), clock.clone(), runners(vault), workers);
    let scheduler = Scheduler::new(store.clone(), clock.clone());
    let interval = Duration::from_secs(config.scheduler_interval_seconds);
    vec![
        tokio::spawn(pool.run(shutdown.clone())),
        tokio::spawn(scheduler.run(interval, shutdown.clone())),
    ]
}
