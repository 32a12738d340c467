//! Cairn's background work, on top of the job queue in the meta store.
//!
//! - [`WorkerPool`] claims jobs with a lease, runs each with the [`JobRunner`] registered
//!   for its kind (at most N at a time), heartbeats while it runs, turns a user's cancel
//!   request or a lost lease into the job's [`JobContext::stopped`] signal, and on shutdown
//!   hands unfinished jobs back to the queue.
//! - [`Scheduler`] enqueues every connected task's backups at its frequency and hour, and
//!   the daily maintenance job, each under an idempotency key per slot, so any number of
//!   schedulers (replicas, restarts, double ticks) enqueue each run once.
//! - [`maintenance::PurgeDeleted`] removes tasks and entities whose 7-day delete grace
//!   has passed: vault data through a [`maintenance::TaskDataRemover`] hook, then the meta
//!   rows.
//!
//! Nothing here starts a runtime or reads the wall clock: time comes from the injected
//! [`cairn_domain::SharedClock`], and the caller owns the tasks and the shutdown token.

#![warn(missing_docs)]

mod error;
pub mod maintenance;
mod runner;
mod scheduler;
mod worker;

pub use error::JobsError;
pub use runner::{Completion, JobContext, JobRunner, Runners, StopReason};
pub use scheduler::{Scheduler, TickReport};
pub use worker::{JOB_FINISHED, WorkerConfig, WorkerEvent, WorkerPool};

/// Cancellation token used for shutdown and for stopping single jobs.
pub use tokio_util::sync::CancellationToken;
