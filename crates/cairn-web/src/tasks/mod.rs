//! Backup tasks as operations, independent of HTTP (F-TASK-1…9): the portal pages and the
//! REST API both call [`Tasks`], so the rules live here once.
//!
//! Every operation runs as a [`Viewer`] (the signed-in user) and starts with the one
//! permission check, [`may_manage_tasks`]. **Limited Access** is enforced here too: an
//! entity carrying a Limited Access tag is invisible to everyone but the account's
//! primary user ([`sees_limited_access`]) — in lists, counts, totals, detail pages,
//! actions and the API — by asking the meta store to leave such entities out and by
//! treating a direct lookup of one as "not found". Templates never decide it.

mod connect;
mod entities;
mod settings;
mod usage_report;

use chrono::{DateTime, Utc};

use cairn_domain::account::Role;
use cairn_domain::event::{Event, EventKind, EventOutcome};
use cairn_domain::ids::{AccountId, EntityId, JobId, SessionId, TaskId, UserId};
use cairn_domain::{
    BackupTask, ConnectionStatus, Entity, EntityStatus, Environment, Job, JobKind, NewJob, Service,
};
use cairn_meta::{AccountScope, EntityQuery, JobQuery, MetaError, SessionRecord};

use crate::auth::FormErrors;
use crate::error::{ApiError, WebError};
use crate::state::AppState;

pub use connect::{Connectors, OAuthPending, PENDING_LIFETIME, open_token, seal_token};
pub use entities::{EntityFilter, EntityPage, MAX_HISTORY_DAYS, PAGE_SIZE, SelectionAction};
pub use settings::SettingsInput;
pub use usage_report::{UsageReport, usage_of};

/// Who is asking: the signed-in user and their session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Viewer {
    /// Their account.
    pub account: AccountId,
    /// The user.
    pub user: UserId,
    /// Their role.
    pub role: Role,
    /// The session (OAuth flows are bound to it).
    pub session: SessionId,
    /// Their email address (the actor in audit entries).
    pub email: String,
}

impl Viewer {
    /// The viewer behind a session.
    #[must_use]
    pub fn of(session: &SessionRecord) -> Self {
        Self {
            account: session.user.account_id,
            user: session.user.id,
            role: session.user.role,
            session: session.id,
            email: session.user.email.to_string(),
        }
    }
}

/// The permission rule for backup tasks: who may create, configure, run and delete them
/// (and act on their entities and tags). Primary users and administrators may; custom
/// roles (when they exist) will be decided here.
#[must_use]
pub fn may_manage_tasks(role: Role) -> bool {
    matches!(role, Role::Primary | Role::Administrator)
}

/// Whether a user sees entities hidden by a Limited Access tag: only the primary user.
#[must_use]
pub fn sees_limited_access(role: Role) -> bool {
    role == Role::Primary
}

/// Why a task operation did not happen.
#[derive(Debug, thiserror::Error)]
pub enum TaskFailure {
    /// The task (or entity, tag, job) does not exist for this viewer.
    #[error("{message}")]
    NotFound {
        /// Stable code, e.g. `task.not_found`.
        code: &'static str,
        /// For people.
        message: &'static str,
    },
    /// The viewer's role does not allow it.
    #[error("not allowed")]
    Forbidden,
    /// The input was refused; show the messages.
    #[error("the form has errors")]
    Invalid(FormErrors),
    /// A well-formed request that cannot be done now (task not connected, OAuth denied…).
    #[error("{message}")]
    Refused {
        /// Stable code, e.g. `oauth.denied`.
        code: &'static str,
        /// For people.
        message: String,
    },
    /// Asked too often; try again later.
    #[error("{message}")]
    Throttled {
        /// Stable code, e.g. `report.too_many`.
        code: &'static str,
        /// For people.
        message: &'static str,
    },
    /// Something broke.
    #[error(transparent)]
    Failed(#[from] WebError),
}

impl From<MetaError> for TaskFailure {
    fn from(error: MetaError) -> Self {
        Self::Failed(error.into())
    }
}

impl TaskFailure {
    pub(crate) fn task_not_found() -> Self {
        Self::NotFound {
            code: "task.not_found",
            message: "There is no such backup task.",
        }
    }

    pub(crate) fn entity_not_found() -> Self {
        Self::NotFound {
            code: "entity.not_found",
            message: "There is no such entity in this backup task.",
        }
    }

    pub(crate) fn refused(code: &'static str, message: impl Into<String>) -> Self {
        Self::Refused {
            code,
            message: message.into(),
        }
    }
}

impl From<TaskFailure> for ApiError {
    fn from(failure: TaskFailure) -> Self {
        use axum::http::StatusCode;
        match failure {
            TaskFailure::NotFound { code, message } => ApiError::not_found(code, message),
            TaskFailure::Forbidden => ApiError::new(
                StatusCode::FORBIDDEN,
                "task.forbidden",
                "Your role does not allow managing backup tasks.",
            ),
            TaskFailure::Invalid(errors) => {
                let mut parts: Vec<String> = errors.form.clone();
                parts.extend(errors.fields.values().flatten().cloned());
                ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "task.invalid",
                    parts.join(" "),
                )
            }
            TaskFailure::Refused { code, message } => {
                ApiError::new(StatusCode::CONFLICT, code, message)
            }
            TaskFailure::Throttled { code, message } => {
                ApiError::new(StatusCode::TOO_MANY_REQUESTS, code, message)
            }
            TaskFailure::Failed(error) => error.into(),
        }
    }
}

/// A task with the figures its pages show, counted over the entities the viewer may see.
#[derive(Debug, Clone)]
pub struct TaskOverview {
    /// The task.
    pub task: BackupTask,
    /// Visible live entities.
    pub entities: u64,
    /// Of those, how many are not active (Not Active, Paused).
    pub inactive: u64,
    /// Items backed up (sum over visible entities).
    pub items: u64,
    /// Bytes backed up (sum over visible entities).
    pub bytes: u64,
    /// The latest backup of a visible entity.
    pub last_backup_at: Option<DateTime<Utc>>,
    /// The newest backup job still waiting or running.
    pub running_job: Option<Job>,
}

impl TaskOverview {
    /// "deleting on <date>" during the grace period.
    #[must_use]
    pub fn purge_due_at(&self) -> Option<DateTime<Utc>> {
        self.task.purge_due_at()
    }
}

/// Backup-task operations for one viewer.
#[derive(Debug, Clone)]
pub struct Tasks<'a> {
    state: &'a AppState,
    viewer: Viewer,
}

impl AppState {
    /// Backup-task operations as `viewer`.
    #[must_use]
    pub fn tasks(&self, viewer: Viewer) -> Tasks<'_> {
        Tasks {
            state: self,
            viewer,
        }
    }
}

impl<'a> Tasks<'a> {
    fn scope(&self) -> AccountScope<'a> {
        self.state.store().account(self.viewer.account)
    }

    /// The one permission check every operation starts with.
    fn authorize(&self) -> Result<(), TaskFailure> {
        if may_manage_tasks(self.viewer.role) {
            Ok(())
        } else {
            Err(TaskFailure::Forbidden)
        }
    }

    /// Whether this viewer sees Limited Access entities.
    #[must_use]
    pub fn sees_limited(&self) -> bool {
        sees_limited_access(self.viewer.role)
    }

    /// The viewer.
    #[must_use]
    pub fn viewer(&self) -> &Viewer {
        &self.viewer
    }

    /// Records an activity entry (`task.created`, `task.deleted`…) for `task`. A failure
    /// to record is logged, not returned: the change itself already happened.
    pub(crate) async fn audit(&self, code: &str, outcome: EventOutcome, task: &BackupTask) {
        let event = self
            .account_event(code, outcome)
            .with("task", task.name.clone())
            .with("service", task.service.label());
        self.record(event).await;
    }

    /// An activity entry `code` in this account, by the viewer, now.
    fn account_event(&self, code: &str, outcome: EventOutcome) -> Event {
        Event::new(
            EventKind::Other(code.to_owned()),
            outcome,
            self.state.clock().now(),
        )
        .in_account(self.viewer.account)
        .by(Some(self.viewer.user), self.viewer.email.clone())
    }

    /// Records `event`; a failure is logged, not returned (the change already happened).
    async fn record(&self, event: Event) {
        if let Err(error) = self.state.store().events().record(&event).await {
            tracing::error!(kind = %event.kind, error = %error, "could not record a task activity entry");
        }
    }

    /// A task of this account, deleted (in grace) or not.
    async fn task(&self, id: TaskId) -> Result<BackupTask, TaskFailure> {
        match self.scope().tasks().get(id).await {
            Ok(task) => Ok(task),
            Err(MetaError::NotFound { .. }) => Err(TaskFailure::task_not_found()),
            Err(other) => Err(other.into()),
        }
    }

    /// A live (not deleted) task.
    async fn live_task(&self, id: TaskId) -> Result<BackupTask, TaskFailure> {
        let task = self.task(id).await?;
        if task.deleted_at.is_some() {
            return Err(TaskFailure::refused(
                "task.deleted",
                "This backup task is being deleted. Restore it first.",
            ));
        }
        Ok(task)
    }

    /// Every visible live entity of `task` (for totals).
    async fn visible_entities(&self, task: TaskId) -> Result<Vec<Entity>, TaskFailure> {
        let query = EntityQuery {
            include_limited: self.sees_limited(),
            ..EntityQuery::default()
        };
        Ok(self.scope().entities().list(task, &query).await?)
    }

    async fn overview_of(&self, task: BackupTask) -> Result<TaskOverview, TaskFailure> {
        let entities = self.visible_entities(task.id).await?;
        let running_job = self.open_backup(task.id).await?;
        Ok(TaskOverview {
            entities: entities.len() as u64,
            inactive: entities.iter().filter(|e| !e.status.is_active()).count() as u64,
            items: entities.iter().map(|e| e.counters.items).sum(),
            bytes: entities.iter().map(|e| e.counters.bytes).sum(),
            last_backup_at: entities.iter().filter_map(|e| e.last_backup_at).max(),
            running_job,
            task,
        })
    }

    /// The account's tasks (those in their deletion grace period too), oldest first.
    ///
    /// # Errors
    /// [`TaskFailure::Forbidden`]; store failures.
    pub async fn list(&self) -> Result<Vec<TaskOverview>, TaskFailure> {
        self.authorize()?;
        let tasks = self.scope().tasks().list(true).await?;
        let mut out = Vec::with_capacity(tasks.len());
        for task in tasks {
            out.push(self.overview_of(task).await?);
        }
        Ok(out)
    }

    /// One task with its figures.
    ///
    /// # Errors
    /// `task.not_found`, [`TaskFailure::Forbidden`]; store failures.
    pub async fn overview(&self, id: TaskId) -> Result<TaskOverview, TaskFailure> {
        self.authorize()?;
        let task = self.task(id).await?;
        self.overview_of(task).await
    }

    /// How many visible live entities of the account are not activated (the Homepage
    /// reminder).
    ///
    /// # Errors
    /// [`TaskFailure::Forbidden`]; store failures.
    pub async fn inactive_entity_count(&self) -> Result<u64, TaskFailure> {
        self.authorize()?;
        let counts = self
            .scope()
            .entities()
            .status_counts(self.sees_limited())
            .await?;
        Ok(counts
            .into_iter()
            .filter(|(status, _)| *status == EntityStatus::NotActive)
            .map(|(_, n)| n)
            .sum())
    }

    /// Creates a task (F-TASK-1). It starts Not authenticated; the caller continues with
    /// [`Tasks::begin_connect`]. The service's connector must be configured.
    ///
    /// # Errors
    /// [`TaskFailure::Invalid`] for a bad name or a sandbox Dropbox task;
    /// `task.service_unavailable` when the operator has not configured the connector.
    pub async fn create(
        &self,
        service: Service,
        name: &str,
        environment: Environment,
    ) -> Result<BackupTask, TaskFailure> {
        self.authorize()?;
        self.state.connectors().ensure_configured(service)?;
        let account = self.scope().get().await?;
        let task = BackupTask::new(
            self.viewer.account,
            service,
            name,
            environment,
            cairn_domain::TaskSettings::default(),
            account.region,
            self.state.clock().now(),
        )
        .map_err(|error| {
            let mut errors = FormErrors::default();
            match error {
                cairn_domain::task::TaskError::Name(e) => errors.add("name", e.to_string()),
                other => errors.add("environment", other.to_string()),
            }
            TaskFailure::Invalid(errors)
        })?;
        self.scope().tasks().create(&task).await?;
        self.audit("task.created", EventOutcome::Success, &task)
            .await;
        Ok(task)
    }

    /// Deletes a task (F-TASK-9): it stops being backed up at once and is purged by the
    /// maintenance job after the grace period unless restored.
    ///
    /// # Errors
    /// `task.not_found`, `task.deleted`; store failures.
    pub async fn delete(&self, id: TaskId) -> Result<BackupTask, TaskFailure> {
        self.authorize()?;
        self.live_task(id).await?;
        self.scope()
            .tasks()
            .delete(id, self.state.clock().now())
            .await?;
        let task = self.task(id).await?;
        self.audit("task.deleted", EventOutcome::Success, &task)
            .await;
        Ok(task)
    }

    /// Takes back a deletion during the grace period.
    ///
    /// # Errors
    /// `task.not_found`, `task.not_deleted`; store failures.
    pub async fn restore(&self, id: TaskId) -> Result<(), TaskFailure> {
        self.authorize()?;
        let task = self.task(id).await?;
        if task.deleted_at.is_none() {
            return Err(TaskFailure::refused(
                "task.not_deleted",
                "This backup task is not being deleted.",
            ));
        }
        self.scope().tasks().undelete(id).await?;
        self.audit("task.restored", EventOutcome::Success, &task)
            .await;
        Ok(())
    }

    /// The newest backup job of `task` still pending or in progress.
    async fn open_backup(&self, task: TaskId) -> Result<Option<Job>, TaskFailure> {
        let jobs = self
            .scope()
            .jobs()
            .list(&JobQuery {
                task: Some(task),
                kind: Some(JobKind::Backup),
                status: None,
                limit: 20,
            })
            .await?;
        Ok(jobs.into_iter().find(|j| !j.status.is_terminal()))
    }

    /// The task's recent backup jobs, newest first.
    ///
    /// # Errors
    /// `task.not_found`; store failures.
    pub async fn recent_backups(&self, id: TaskId, limit: u32) -> Result<Vec<Job>, TaskFailure> {
        self.authorize()?;
        self.task(id).await?;
        Ok(self
            .scope()
            .jobs()
            .list(&JobQuery {
                task: Some(id),
                kind: Some(JobKind::Backup),
                status: None,
                limit,
            })
            .await?)
    }

    /// "Backup now" (F-TASK-5): queues a backup of the whole task, or of the chosen
    /// visible entities. A whole-task request while a whole-task backup is still pending
    /// or running returns that job instead of queueing another.
    ///
    /// # Errors
    /// `task.not_found`, `task.deleted`, `task.not_connected`, `entity.none_selected`;
    /// store failures.
    pub async fn backup_now(
        &self,
        id: TaskId,
        entities: Option<&[EntityId]>,
    ) -> Result<JobId, TaskFailure> {
        self.authorize()?;
        let task = self.live_task(id).await?;
        if task.connection != ConnectionStatus::Connected {
            return Err(TaskFailure::refused(
                "task.not_connected",
                format!(
                    "This task is not connected to {}. Authenticate it first.",
                    task.service.label()
                ),
            ));
        }
        let now = self.state.clock().now();
        let mut job = NewJob::new(JobKind::Backup, now).for_task(id);
        match entities {
            Some(chosen) => {
                let ids = self.visible_ids(id, chosen).await?;
                if ids.is_empty() {
                    return Err(TaskFailure::refused(
                        "entity.none_selected",
                        "Select at least one entity.",
                    ));
                }
                job = job.with_params(serde_json::json!({
                    "entities": ids.iter().map(ToString::to_string).collect::<Vec<_>>(),
                    "requested_by": self.viewer.user.to_string(),
                }));
            }
            None => {
                if let Some(open) = self.open_backup(id).await?
                    && open.params.get("entities").is_none()
                {
                    return Ok(open.id);
                }
                job = job.with_params(serde_json::json!({
                    "requested_by": self.viewer.user.to_string(),
                }));
            }
        }
        Ok(self.scope().jobs().enqueue(&job).await?.id)
    }
}
