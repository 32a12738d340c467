//! The job runner of backup jobs ([`JobKind::Backup`](cairn_domain::JobKind::Backup)):
//! loads the job's task and runs its service's backup, reporting progress and log lines
//! through the job and stopping when the job is told to.

use std::sync::Arc;

use cairn_domain::ids::EntityId;
use cairn_domain::job::{JobProgress, LogLevel};
use cairn_domain::{JobOutcome, Service};
use cairn_jobs::{Completion, JobContext, JobRunner};

use crate::context::BackupContext;
use crate::dropbox::DropboxBackup;
use crate::progress::Progress;
use crate::salesforce::SalesforceBackup;

/// Runs backup jobs. Register it for `JobKind::Backup` in the worker pool's runners.
pub struct BackupRunner {
    ctx: BackupContext,
    salesforce: Option<Arc<SalesforceBackup>>,
    dropbox: Option<Arc<DropboxBackup>>,
}

/// The engine of one job's task.
enum Engine {
    Salesforce(Arc<SalesforceBackup>),
    Dropbox(Arc<DropboxBackup>),
}

impl BackupRunner {
    /// A runner over `ctx`; Salesforce tasks need `salesforce` (the configured app).
    #[must_use]
    pub fn new(ctx: BackupContext, salesforce: Option<Arc<SalesforceBackup>>) -> Self {
        Self {
            ctx,
            salesforce,
            dropbox: None,
        }
    }

    /// The runner, also running Dropbox tasks through `dropbox` (the configured app).
    #[must_use]
    pub fn with_dropbox(mut self, dropbox: Arc<DropboxBackup>) -> Self {
        self.dropbox = Some(dropbox);
        self
    }
}

/// A run's progress, forwarded to its job.
struct JobProgressSink {
    job: JobContext,
}

#[async_trait::async_trait]
impl Progress for JobProgressSink {
    async fn progress(&self, done: u64, total: Option<u64>, note: &str) {
        let p = JobProgress {
            done,
            total,
            note: Some(note.to_owned()),
        };
        if let Err(e) = self.job.progress(&p).await {
            tracing::warn!(job = %self.job.job().id, "cannot record progress: {e}");
        }
    }

    async fn log(&self, level: LogLevel, message: &str) {
        if let Err(e) = self.job.log(level, message).await {
            tracing::warn!(job = %self.job.job().id, "cannot write a log line: {e}");
        }
    }

    fn is_stopped(&self) -> bool {
        self.job.is_stopped()
    }
}

/// The entities a job's `entities` parameter names ("Backup now" on a selection), or
/// `None` for the whole task.
fn selected_entities(params: &serde_json::Value) -> Result<Option<Vec<EntityId>>, String> {
    let Some(list) = params.get("entities") else {
        return Ok(None);
    };
    let ids = list
        .as_array()
        .ok_or("The job's entity list is not a list.")?
        .iter()
        .map(|v| {
            v.as_str()
                .and_then(|s| s.parse::<EntityId>().ok())
                .ok_or_else(|| format!("The job names an invalid entity id {v}."))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(ids))
}

#[async_trait::async_trait]
impl JobRunner for BackupRunner {
    async fn run(&self, job: &JobContext) -> Completion {
        let (Some(account), Some(task_id)) = (job.job().account_id, job.job().task_id) else {
            return JobOutcome::Failed("A backup job must name its task.".into()).into();
        };
        let task = match self.ctx.store.account(account).tasks().get(task_id).await {
            Ok(t) if t.deleted_at.is_none() => t,
            Ok(_) => return JobOutcome::Failed("The task was deleted.".into()).into(),
            Err(e) => return JobOutcome::Failed(format!("Cannot load the task: {e}")).into(),
        };
        let progress = JobProgressSink { job: job.clone() };
        let engine = match task.service {
            Service::Salesforce => match &self.salesforce {
                Some(engine) => Engine::Salesforce(Arc::clone(engine)),
                None => {
                    return JobOutcome::Failed(
                        "Salesforce is not configured on this installation.".into(),
                    )
                    .into();
                }
            },
            Service::Dropbox => match &self.dropbox {
                Some(engine) => Engine::Dropbox(Arc::clone(engine)),
                None => {
                    return JobOutcome::Failed(
                        "Dropbox is not configured on this installation.".into(),
                    )
                    .into();
                }
            },
        };
        // The run goes on a task of its own: everything it holds is owned ('static), so
        // its `Send`-ness is checked for concrete lifetimes (the vault's retry closures
        // are not `Send` for every lifetime an `async_trait` method would demand).
        let ctx = self.ctx.clone();
        let job_id = job.job().id;
        let only = match selected_entities(&job.job().params) {
            Ok(only) => only,
            Err(message) => return JobOutcome::Failed(message).into(),
        };
        let run = tokio::spawn(async move {
            let only = only.as_deref();
            let outcome = match engine {
                Engine::Salesforce(e) => {
                    e.run_selected(&ctx, &task, Some(job_id), only, &progress)
                        .await
                }
                Engine::Dropbox(e) => e
                    .run_selected(&ctx, &task, Some(job_id), only, &progress)
                    .await
                    .map(|(o, _)| o),
            };
            (outcome, progress)
        });
        let (result, progress) = match run.await {
            Ok(done) => done,
            Err(e) => return JobOutcome::Failed(format!("The backup crashed: {e}")).into(),
        };
        match result {
            Ok(outcome) => Completion {
                outcome: outcome.job_outcome(),
                snapshot: outcome.snapshot,
            },
            Err(e) => {
                progress.log(LogLevel::Error, &e.to_string()).await;
                JobOutcome::Failed(format!("The backup failed: {e}")).into()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_names_the_whole_task_or_its_chosen_entities() {
        assert_eq!(selected_entities(&serde_json::json!({})), Ok(None));
        let id = EntityId::new();
        let params = serde_json::json!({ "entities": [id.to_string()] });
        assert_eq!(selected_entities(&params), Ok(Some(vec![id])));
        assert!(selected_entities(&serde_json::json!({ "entities": ["nope"] })).is_err());
        assert!(selected_entities(&serde_json::json!({ "entities": "x" })).is_err());
    }
}
