//! The snapshot catalog: what the meta store remembers about each completed backup run.
//!
//! The vault's manifest is the truth about a snapshot's content (ARCHITECTURE §4); the
//! catalog row is the fast index the portal reads: when the run happened, whether it was
//! complete, and its counters per entity and per user (who added, changed or deleted how
//! much — the input of smart alerts). A partial run is recorded as
//! [`SnapshotOutcome::Partial`] and never shown as complete.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::entity::{EntityCounters, EntityStatus};
use crate::ids::{EntityId, JobId, SnapshotId, TaskId};

crate::stored_enum! {
    /// Whether a snapshot holds every active entity completely.
    pub enum SnapshotOutcome ("snapshot outcome") {
        /// Every active entity is complete as of the snapshot time.
        Complete = ("complete", "Complete"),
        /// Some entities were left for the next run (API budget, failures).
        Partial = ("partial", "Partial"),
    }
}

/// One entity's part of a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotEntity {
    /// The entity.
    pub entity_id: EntityId,
    /// How its backup ended in this run.
    pub status: EntityStatus,
    /// Its counters in this run.
    pub counters: EntityCounters,
}

/// What one user (a Salesforce `LastModifiedById`, a Dropbox modifier) changed in one
/// entity during one run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserCounters {
    /// The entity.
    pub entity_id: EntityId,
    /// The service's id of the user.
    pub user: String,
    /// Items they added.
    pub added: u64,
    /// Items they changed.
    pub updated: u64,
    /// Items they deleted.
    pub deleted: u64,
}

/// A snapshot's catalog row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotRecord {
    /// Its id (the same as the vault manifest's).
    pub id: SnapshotId,
    /// The task it belongs to.
    pub task_id: TaskId,
    /// The job that made it.
    pub job_id: Option<JobId>,
    /// When the run started.
    pub started_at: DateTime<Utc>,
    /// The point in time it represents (when the run finished).
    pub taken_at: DateTime<Utc>,
    /// Complete or partial.
    pub outcome: SnapshotOutcome,
    /// Counters summed over its entities.
    pub totals: EntityCounters,
    /// Per-entity parts.
    pub entities: Vec<SnapshotEntity>,
    /// Per-user counters.
    pub users: Vec<UserCounters>,
}

impl SnapshotRecord {
    /// A record whose totals are the sum of `entities`.
    #[must_use]
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: SnapshotId,
        task_id: TaskId,
        job_id: Option<JobId>,
        started_at: DateTime<Utc>,
        taken_at: DateTime<Utc>,
        outcome: SnapshotOutcome,
        entities: Vec<SnapshotEntity>,
        users: Vec<UserCounters>,
    ) -> Self {
        let totals = entities
            .iter()
            .fold(EntityCounters::default(), |sum, e| sum.plus(e.counters));
        Self {
            id,
            task_id,
            job_id,
            started_at,
            taken_at,
            outcome,
            totals,
            entities,
            users,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_are_summed() {
        let part = |items| SnapshotEntity {
            entity_id: EntityId::new(),
            status: EntityStatus::Success,
            counters: EntityCounters {
                items,
                added: 1,
                ..EntityCounters::default()
            },
        };
        let now = Utc::now();
        let r = SnapshotRecord::new(
            SnapshotId::new(),
            TaskId::new(),
            None,
            now,
            now,
            SnapshotOutcome::Complete,
            vec![part(2), part(5)],
            Vec::new(),
        );
        assert_eq!(r.totals.items, 7);
        assert_eq!(r.totals.added, 2);
    }
}
