//! How a run reports progress and log lines, and learns that it should stop: the job
//! runner forwards these to the job's row; tests and benches use their own.

use cairn_domain::job::LogLevel;

/// The run's window on its job.
#[async_trait::async_trait]
pub trait Progress: Send + Sync {
    /// `done` of `total` items, with a short note (the entity being backed up).
    async fn progress(&self, done: u64, total: Option<u64>, note: &str);

    /// One line of the job's log.
    async fn log(&self, level: LogLevel, message: &str);

    /// Whether the run should stop now (cancel, shutdown, lost lease). Checked between
    /// pages; a stopped run writes no snapshot and keeps its checkpoints.
    fn is_stopped(&self) -> bool;
}

/// Reports nothing and never stops (tools and tests).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

#[async_trait::async_trait]
impl Progress for NoProgress {
    async fn progress(&self, _done: u64, _total: Option<u64>, _note: &str) {}

    async fn log(&self, level: LogLevel, message: &str) {
        tracing::debug!(?level, "{message}");
    }

    fn is_stopped(&self) -> bool {
        false
    }
}
