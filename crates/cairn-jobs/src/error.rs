//! The error type of this crate.

/// What can go wrong in the scheduler, the workers or a maintenance runner.
#[derive(Debug, thiserror::Error)]
pub enum JobsError {
    /// The meta store failed.
    #[error(transparent)]
    Meta(#[from] cairn_meta::MetaError),
    /// A stored task cannot be scheduled (its settings are damaged).
    #[error("task {task} cannot be scheduled: {reason}")]
    BadSchedule {
        /// The task.
        task: cairn_domain::ids::TaskId,
        /// Why.
        reason: String,
    },
    /// Removing a task's data from the vault failed.
    #[error("removing the vault data of task {task} failed: {reason}")]
    VaultRemoval {
        /// The task.
        task: cairn_domain::ids::TaskId,
        /// What the vault reported.
        reason: String,
    },
}
