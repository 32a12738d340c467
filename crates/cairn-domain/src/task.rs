//! Backup tasks: one protected Salesforce org or Dropbox team, with its settings.
//!
//! A task is created with a service, a name and (Salesforce) an environment that is fixed
//! from then on, because every snapshot belongs to one org. The settings users edit
//! afterwards are [`TaskSettings`], validated as a whole by [`TaskSettings::validate`]
//! before anything is stored. Deleting a task only stamps `deleted_at`: the data stays for
//! [`DELETE_GRACE`], then a maintenance job purges it.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::account::{InvalidName, parse_name};
use crate::ids::{AccountId, TaskId};
use crate::region::RegionCode;
use crate::schedule::{BackupFrequency, BackupSchedule};

/// How long a deleted task's data is kept before maintenance removes it (F-TASK-9).
pub const DELETE_GRACE: Duration = Duration::days(7);

/// The default "daily API usage limit" (% of the org's daily allowance).
pub const DEFAULT_API_LIMIT_PERCENT: u8 = 75;

/// The longest "retain auto-archived backups" period accepted, in days (ten years).
pub const MAX_RETAIN_DAYS: u32 = 3650;

crate::stored_enum! {
    /// The SaaS service a task protects.
    pub enum Service ("service") {
        /// A Salesforce org.
        Salesforce = ("salesforce", "Salesforce"),
        /// A Dropbox Business team.
        Dropbox = ("dropbox", "Dropbox"),
    }
}

crate::stored_enum! {
    /// Which kind of org a task connects to; fixed after creation.
    pub enum Environment ("environment") {
        /// A production org (the only kind Dropbox has).
        Production = ("production", "Production"),
        /// A Salesforce sandbox.
        Sandbox = ("sandbox", "Sandbox"),
    }
}

crate::stored_enum! {
    /// Whether the task holds a working OAuth token (F-TASK-2).
    pub enum ConnectionStatus ("connection status") {
        /// Created, never authenticated.
        NotAuthenticated = ("not_authenticated", "Not authenticated"),
        /// A token that worked the last time it was used.
        Connected = ("connected", "Connected"),
        /// The token was revoked or expired for good; re-authenticate.
        Disconnected = ("disconnected", "Disconnected"),
    }
}

/// Why a task or its settings were refused. Messages are shown to users.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TaskError {
    /// The task name is unusable.
    #[error("{0}")]
    Name(#[from] InvalidName),
    /// The API limit is outside 1–100 %.
    #[error("The daily API usage limit must be between 1 and 100 %, not {0} %.")]
    ApiLimitOutOfRange(u8),
    /// The backup hour is outside 0–23.
    #[error("The backup hour must be between 0 and 23 (UTC), not {0}.")]
    HourOutOfRange(u32),
    /// The archive retention is zero or absurdly long.
    #[error("Auto-archived backups can be kept for 1 to {MAX_RETAIN_DAYS} days, not {0}.")]
    RetentionOutOfRange(u32),
    /// Dropbox has no sandboxes.
    #[error("Only Salesforce tasks can back up a sandbox.")]
    SandboxNotSupported,
}

/// What users may change on a task after creating it (F-TASK-3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskSettings {
    /// Stop a run before it uses more than this share of the org's daily API allowance.
    pub api_limit_percent: u8,
    /// Index backed-up items for search.
    pub index_for_search: bool,
    /// How often backups run.
    pub frequency: BackupFrequency,
    /// The hour (UTC) the first backup of a run day starts.
    pub hour_utc: u32,
    /// Activate newly discovered members / team folders automatically (Dropbox).
    pub auto_activate: bool,
    /// Keep the backups of automatically archived entities this many days; `None` keeps
    /// them as long as the account's retention.
    pub retain_auto_archived_days: Option<u32>,
}

impl Default for TaskSettings {
    fn default() -> Self {
        Self {
            api_limit_percent: DEFAULT_API_LIMIT_PERCENT,
            index_for_search: true,
            frequency: BackupFrequency::Daily,
            hour_utc: 1,
            auto_activate: false,
            retain_auto_archived_days: None,
        }
    }
}

impl TaskSettings {
    /// Checks every value.
    ///
    /// # Errors
    /// The first [`TaskError`] found.
    pub fn validate(&self) -> Result<(), TaskError> {
        if !(1..=100).contains(&self.api_limit_percent) {
            return Err(TaskError::ApiLimitOutOfRange(self.api_limit_percent));
        }
        if self.hour_utc > 23 {
            return Err(TaskError::HourOutOfRange(self.hour_utc));
        }
        if let Some(days) = self.retain_auto_archived_days
            && !(1..=MAX_RETAIN_DAYS).contains(&days)
        {
            return Err(TaskError::RetentionOutOfRange(days));
        }
        Ok(())
    }
}

/// A backup task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupTask {
    /// Its id.
    pub id: TaskId,
    /// The account owning it.
    pub account_id: AccountId,
    /// What it protects.
    pub service: Service,
    /// The name shown in the portal.
    pub name: String,
    /// Production or sandbox; fixed after creation.
    pub environment: Environment,
    /// Whether its token works.
    pub connection: ConnectionStatus,
    /// User-editable settings.
    pub settings: TaskSettings,
    /// Where its backups are stored (the account's region; shown read-only).
    pub region: RegionCode,
    /// When it was created; also the anchor of its backup schedule.
    pub created_at: DateTime<Utc>,
    /// When it was deleted; its data is purged [`DELETE_GRACE`] later.
    pub deleted_at: Option<DateTime<Utc>>,
}

impl BackupTask {
    /// A new, not yet authenticated task with validated name and settings.
    ///
    /// # Errors
    /// [`TaskError`] for a bad name or settings, or a Dropbox sandbox.
    pub fn new(
        account_id: AccountId,
        service: Service,
        name: &str,
        environment: Environment,
        settings: TaskSettings,
        region: RegionCode,
        created_at: DateTime<Utc>,
    ) -> Result<Self, TaskError> {
        if service == Service::Dropbox && environment == Environment::Sandbox {
            return Err(TaskError::SandboxNotSupported);
        }
        settings.validate()?;
        Ok(Self {
            id: TaskId::new(),
            account_id,
            service,
            name: parse_name(name)?,
            environment,
            connection: ConnectionStatus::NotAuthenticated,
            settings,
            region,
            created_at,
            deleted_at: None,
        })
    }

    /// The task's backup schedule, anchored on its creation day.
    ///
    /// # Errors
    /// [`TaskError::HourOutOfRange`] for a damaged row (settings are validated before
    /// they are stored).
    pub fn schedule(&self) -> Result<BackupSchedule, TaskError> {
        BackupSchedule::new(
            self.settings.frequency,
            self.settings.hour_utc,
            self.created_at.date_naive(),
        )
        .map_err(|_| TaskError::HourOutOfRange(self.settings.hour_utc))
    }

    /// When a deleted task's data may be purged; `None` while it is not deleted.
    #[must_use]
    pub fn purge_due_at(&self) -> Option<DateTime<Utc>> {
        self.deleted_at.map(|at| at + DELETE_GRACE)
    }

    /// Whether scheduled backups should run: not deleted and connected.
    #[must_use]
    pub fn is_schedulable(&self) -> bool {
        self.deleted_at.is_none() && self.connection == ConnectionStatus::Connected
    }
}

/// The idempotency key of the scheduled backup of `task` at `slot`: enqueueing twice with
/// the same key yields one job, however many schedulers tick.
#[must_use]
pub fn backup_slot_key(task: TaskId, slot: DateTime<Utc>) -> String {
    format!(
        "backup:{task}:{}",
        slot.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn task(settings: TaskSettings) -> Result<BackupTask, TaskError> {
        BackupTask::new(
            AccountId::new(),
            Service::Salesforce,
            " Production org ",
            Environment::Production,
            settings,
            RegionCode::parse("local").unwrap(),
            Utc.with_ymd_and_hms(2026, 1, 10, 15, 0, 0).unwrap(),
        )
    }

    #[test]
    fn defaults_are_valid_and_names_trimmed() {
        let t = task(TaskSettings::default()).unwrap();
        assert_eq!(t.name, "Production org");
        assert_eq!(t.settings.api_limit_percent, 75);
        assert_eq!(t.connection, ConnectionStatus::NotAuthenticated);
        assert!(!t.is_schedulable());
    }

    #[test]
    fn settings_are_validated() {
        let bad = |s: TaskSettings| task(s).unwrap_err();
        assert_eq!(
            bad(TaskSettings {
                api_limit_percent: 101,
                ..TaskSettings::default()
            }),
            TaskError::ApiLimitOutOfRange(101)
        );
        assert_eq!(
            bad(TaskSettings {
                api_limit_percent: 0,
                ..TaskSettings::default()
            }),
            TaskError::ApiLimitOutOfRange(0)
        );
        assert_eq!(
            bad(TaskSettings {
                hour_utc: 24,
                ..TaskSettings::default()
            }),
            TaskError::HourOutOfRange(24)
        );
        assert_eq!(
            bad(TaskSettings {
                retain_auto_archived_days: Some(0),
                ..TaskSettings::default()
            }),
            TaskError::RetentionOutOfRange(0)
        );
        assert!(
            task(TaskSettings {
                api_limit_percent: 100,
                ..TaskSettings::default()
            })
            .is_ok()
        );
        let err = BackupTask::new(
            AccountId::new(),
            Service::Dropbox,
            "Team",
            Environment::Sandbox,
            TaskSettings::default(),
            RegionCode::parse("local").unwrap(),
            Utc::now(),
        )
        .unwrap_err();
        assert_eq!(err, TaskError::SandboxNotSupported);
        assert!(err.to_string().contains("Salesforce"));
    }

    #[test]
    fn schedule_grace_and_slot_keys() {
        let mut t = task(TaskSettings {
            frequency: BackupFrequency::ThreeTimesADay,
            hour_utc: 2,
            ..TaskSettings::default()
        })
        .unwrap();
        let slot = t.schedule().unwrap().next_slot_after(t.created_at);
        assert_eq!(slot, Utc.with_ymd_and_hms(2026, 1, 10, 18, 0, 0).unwrap());
        assert_eq!(
            backup_slot_key(t.id, slot),
            format!("backup:{}:2026-01-10T18:00:00Z", t.id)
        );
        assert_eq!(t.purge_due_at(), None);
        t.deleted_at = Some(t.created_at);
        assert_eq!(t.purge_due_at(), Some(t.created_at + Duration::days(7)));
    }

    #[test]
    fn enums_round_trip() {
        for s in Service::ALL {
            assert_eq!(s.as_str().parse::<Service>().unwrap(), *s);
        }
        for c in ConnectionStatus::ALL {
            assert_eq!(c.to_string().parse::<ConnectionStatus>().unwrap(), *c);
        }
        assert_eq!(
            "moon".parse::<Environment>().unwrap_err().kind,
            "environment"
        );
        assert_eq!(
            serde_json::to_string(&Environment::Sandbox).unwrap(),
            "\"sandbox\""
        );
    }
}
