//! What a run reports back: to the job (outcome and message) and to callers.

use cairn_domain::ids::{EntityId, SnapshotId};
use cairn_domain::{EntityCounters, EntityStatus, JobOutcome};

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunStatus {
    /// Every active entity is backed up as of the snapshot.
    Complete,
    /// Some entities were left for the next run (API budget) or failed.
    Partial,
    /// The task's token was refused: the task is now Disconnected.
    Disconnected,
    /// Nothing could be backed up.
    Failed,
    /// Told to stop (cancel, shutdown, lost lease); checkpoints kept, no snapshot.
    Stopped,
}

/// One entity's part of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityResult {
    /// The entity.
    pub entity_id: EntityId,
    /// Its name.
    pub name: String,
    /// Where it stands after the run.
    pub status: EntityStatus,
    /// Its counters in this run.
    pub counters: EntityCounters,
}

/// The result of one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOutcome {
    /// How it ended.
    pub status: RunStatus,
    /// What users should read (why it is not complete).
    pub message: Option<String>,
    /// The snapshot written, if any.
    pub snapshot: Option<SnapshotId>,
    /// Entities the run worked on.
    pub entities: Vec<EntityResult>,
    /// Object records fetched from the org.
    pub records_fetched: u64,
    /// Metadata components retrieved (every run retrieves them all).
    pub components_fetched: u64,
    /// API calls the run made (blob downloads included).
    pub api_calls: u64,
    /// Of those, blob bodies downloaded (one call each).
    pub blob_downloads: u64,
}

impl RunOutcome {
    /// A run that ended before doing any entity.
    #[must_use]
    pub fn ended(status: RunStatus, message: &str) -> Self {
        Self {
            status,
            message: Some(message.to_owned()),
            snapshot: None,
            entities: Vec::new(),
            records_fetched: 0,
            components_fetched: 0,
            api_calls: 0,
            blob_downloads: 0,
        }
    }

    /// The job outcome this run amounts to.
    #[must_use]
    pub fn job_outcome(&self) -> JobOutcome {
        let message = self.message.clone().unwrap_or_default();
        match self.status {
            RunStatus::Complete => JobOutcome::Succeeded,
            RunStatus::Partial => JobOutcome::PartiallySucceeded(message),
            RunStatus::Disconnected | RunStatus::Failed => JobOutcome::Failed(message),
            RunStatus::Stopped => JobOutcome::Canceled,
        }
    }

    /// One line for the job log.
    #[must_use]
    pub fn summary(&self) -> String {
        let done = self
            .entities
            .iter()
            .filter(|e| e.status == EntityStatus::Success)
            .count();
        let mut s = format!(
            "{:?}: {done} of {} entities backed up, {} records fetched, {} API calls.",
            self.status,
            self.entities.len(),
            self.records_fetched,
            self.api_calls
        );
        if let Some(m) = &self.message {
            s.push(' ');
            s.push_str(m);
        }
        s
    }
}
