//! Background work in a `cairn serve` (role all or worker) or `cairn worker` process: the
//! job worker pool and the scheduler, sized by `[jobs]`.
//!
//! Every process with background work runs both. The scheduler is safe to run on every
//! replica (each slot is enqueued under a unique key), and the workers share the queue
//! through leases, so scaling out is starting more processes against the same database.
//! New job kinds are registered in [`runners`].

use std::time::Duration;

use tokio::task::JoinHandle;

use cairn_domain::{JobKind, SharedClock};
use cairn_jobs::maintenance::PurgeDeleted;
use cairn_jobs::{CancellationToken, Runners, Scheduler, WorkerConfig, WorkerPool};
use cairn_meta::MetaStore;

use crate::config::JobsConfig;

/// The runners this build has, by job kind.
#[must_use]
pub fn runners() -> Runners {
    Runners::new().with(
        JobKind::Maintenance,
        std::sync::Arc::new(PurgeDeleted::new()),
    )
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
    shutdown: &CancellationToken,
) -> Vec<JoinHandle<()>> {
    let workers = WorkerConfig::new(
        worker_name(),
        config.workers,
        Duration::from_secs(config.lease_seconds),
    );
    let pool = WorkerPool::new(store.clone(), clock.clone(), runners(), workers);
    let scheduler = Scheduler::new(store.clone(), clock.clone());
    let interval = Duration::from_secs(config.scheduler_interval_seconds);
    vec![
        tokio::spawn(pool.run(shutdown.clone())),
        tokio::spawn(scheduler.run(interval, shutdown.clone())),
    ]
}
