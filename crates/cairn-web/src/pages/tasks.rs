//! Backup task pages (F-TASK-1…3, 9): add a task and connect it by OAuth, the task page
//! (connection, status, figures, backup actions, settings), delete and restore. The
//! entity list and drill-down are in `entities`. Every handler goes through
//! [`crate::tasks::Tasks`], which checks the permission and Limited Access.

use askama::Template;
use axum::extract::{Query, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use cairn_domain::ids::TaskId;
use cairn_domain::schedule::BackupFrequency;
use cairn_domain::{ConnectionStatus, Environment, Job, Service};

use super::chrome::{Chrome, Section};
use super::entities::{EntityTable, entity_table};
use super::{format_time, render};
use crate::auth::FormErrors;
use crate::error::ApiError;
use crate::extract::{CsrfForm, IdPath, PortalSession};
use crate::state::AppState;
use crate::tasks::{EntityFilter, SettingsInput, TaskFailure, TaskOverview, Tasks, Viewer};

/// `1.5 GiB`.
pub(crate) fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

pub(crate) fn tasks_of<'a>(state: &'a AppState, portal: &PortalSession) -> Tasks<'a> {
    state.tasks(Viewer::of(&portal.session))
}

/// Messages shown after a redirect, by code (never text from the address).
pub(crate) fn notice_text(code: &str) -> Option<&'static str> {
    Some(match code {
        "connected" => "The task is connected. Activate the entities you want backed up.",
        "saved" => "Settings saved.",
        "backup_queued" => "Backup queued. It starts as soon as a worker is free.",
        "restored" => "The task is restored and no longer scheduled for deletion.",
        "deleted" => "The task will be deleted at the end of its grace period.",
        "tag_created" => "Tag created.",
        "entities_updated" => "The selected entities were updated.",
        "usage_report_sent" => "The usage report is on its way to your email address.",
        _ => return None,
    })
}

// ---------- Add a task ----------

#[derive(Template)]
#[template(path = "task_new.html")]
struct NewTaskPage {
    chrome: Chrome,
    service: String,
    name: String,
    environment: String,
    errors: FormErrors,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct NewTaskQuery {
    service: String,
}

pub(crate) async fn new_page(
    State(state): State<AppState>,
    portal: PortalSession,
    Query(query): Query<NewTaskQuery>,
) -> Result<Response, ApiError> {
    render(
        StatusCode::OK,
        &NewTaskPage {
            chrome: Chrome::new(&state, &portal, Section::Home),
            service: query.service,
            name: String::new(),
            environment: "production".to_owned(),
            errors: FormErrors::default(),
        },
    )
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct NewTaskForm {
    service: String,
    name: String,
    environment: String,
}

/// Creates the task and sends the browser to the service's consent page.
pub(crate) async fn create(
    State(state): State<AppState>,
    portal: PortalSession,
    CsrfForm(form): CsrfForm<NewTaskForm>,
) -> Result<Response, ApiError> {
    let mut errors = FormErrors::default();
    let service = form.service.parse::<Service>().ok();
    if service.is_none() {
        errors.add("service", "Choose Salesforce or Dropbox.");
    }
    let environment = match form.environment.as_str() {
        "" => Some(Environment::Production),
        other => other.parse::<Environment>().ok(),
    };
    if environment.is_none() {
        errors.add("environment", "Choose Production or Sandbox.");
    }
    // Show every message at once, the name's too, when the choices are already wrong.
    if !errors.is_empty()
        && let Err(e) = cairn_domain::account::parse_name(&form.name)
    {
        errors.add("name", e.to_string());
    }
    let tasks = tasks_of(&state, &portal);
    let outcome = match (service, environment) {
        (Some(service), Some(environment)) if errors.is_empty() => {
            match tasks.create(service, &form.name, environment).await {
                Ok(task) => tasks.begin_connect(task.id).await.map(Some),
                Err(e) => Err(e),
            }
        }
        _ => Ok(None),
    };
    match outcome {
        Ok(Some(url)) => return Ok(Redirect::to(url.as_str()).into_response()),
        Ok(None) => {}
        Err(TaskFailure::Invalid(invalid)) => errors = invalid,
        Err(TaskFailure::Refused { message, .. }) => errors.form.push(message),
        Err(other) => return Err(other.into()),
    }
    render(
        StatusCode::UNPROCESSABLE_ENTITY,
        &NewTaskPage {
            chrome: Chrome::new(&state, &portal, Section::Home),
            service: form.service,
            name: form.name.chars().take(200).collect(),
            environment: form.environment,
            errors,
        },
    )
}

/// Re-authenticates a task (the connection icon): back to the consent page.
pub(crate) async fn connect(
    State(state): State<AppState>,
    portal: PortalSession,
    IdPath(id): IdPath<TaskId>,
    CsrfForm(_): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let url = tasks_of(&state, &portal).begin_connect(id).await?;
    Ok(Redirect::to(url.as_str()).into_response())
}

/// The service's redirect back after consent.
pub(crate) async fn callback(
    State(state): State<AppState>,
    portal: PortalSession,
    IdPath(service): IdPath<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let service = service
        .parse::<Service>()
        .map_err(|_| ApiError::route_not_found())?;
    let params: Vec<(String, String)> =
        url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    let id = tasks_of(&state, &portal)
        .finish_connect(service, &params)
        .await
        .map_err(|failure| match failure {
            TaskFailure::Refused { code, message } => {
                ApiError::new(StatusCode::BAD_REQUEST, code, message)
            }
            other => other.into(),
        })?;
    Ok(Redirect::to(&format!("/tasks/{id}?notice=connected")).into_response())
}

// ---------- The task page ----------

pub(crate) struct Choice {
    pub value: &'static str,
    pub label: &'static str,
    pub selected: bool,
}

pub(crate) struct JobRow {
    pub created: String,
    pub status: &'static str,
    pub status_class: &'static str,
    pub detail: String,
}

fn job_row(job: &Job) -> JobRow {
    use cairn_domain::JobStatus as S;
    let status_class = match job.status {
        S::Succeeded => "success",
        S::Failed | S::Canceled => "failure",
        _ => "",
    };
    JobRow {
        created: format_time(job.created_at),
        status: job.status.label(),
        status_class,
        detail: job
            .error
            .clone()
            .or_else(|| job.progress.note.clone())
            .unwrap_or_default(),
    }
}

/// The parts of the task page about the task itself.
pub(crate) struct TaskView {
    pub id: String,
    pub name: String,
    pub service: &'static str,
    pub is_dropbox: bool,
    pub environment: &'static str,
    pub connection: &'static str,
    pub connected: bool,
    pub status: String,
    pub status_class: &'static str,
    pub size: String,
    pub items: u64,
    pub entities: u64,
    pub inactive: u64,
    pub last_backup: String,
    pub region: String,
    pub deleting_on: Option<String>,
    pub schedule: String,
}

pub(crate) fn task_view(state: &AppState, overview: &TaskOverview) -> TaskView {
    let task = &overview.task;
    let (status, status_class) = if let Some(at) = overview.purge_due_at() {
        (format!("Deleting on {}", at.format("%Y-%m-%d")), "failure")
    } else if let Some(job) = &overview.running_job {
        (format!("Backup {}", job.status.label().to_lowercase()), "")
    } else if task.connection != ConnectionStatus::Connected {
        ("Not connected".to_owned(), "failure")
    } else if overview.entities > 0 && overview.inactive == overview.entities {
        ("No active entities".to_owned(), "")
    } else {
        ("Scheduled".to_owned(), "success")
    };
    let region = cairn_domain::region::find_region(&state.settings().regions, task.region.as_str())
        .map_or_else(|| task.region.to_string(), |r| r.name.clone());
    TaskView {
        id: task.id.to_string(),
        name: task.name.clone(),
        service: task.service.label(),
        is_dropbox: task.service == Service::Dropbox,
        environment: task.environment.label(),
        connection: task.connection.label(),
        connected: task.connection == ConnectionStatus::Connected,
        status,
        status_class,
        size: human_bytes(overview.bytes),
        items: overview.items,
        entities: overview.entities,
        inactive: overview.inactive,
        last_backup: overview
            .last_backup_at
            .map_or_else(|| "Never".to_owned(), format_time),
        region,
        deleting_on: overview
            .purge_due_at()
            .map(|at| at.format("%Y-%m-%d %H:%M UTC").to_string()),
        schedule: task.schedule().map(|s| s.describe()).unwrap_or_default(),
    }
}

#[derive(Template)]
#[template(path = "task.html")]
struct TaskPage {
    chrome: Chrome,
    task: TaskView,
    notice: Option<&'static str>,
    settings: SettingsInput,
    frequencies: Vec<Choice>,
    settings_errors: FormErrors,
    jobs: Vec<JobRow>,
    table: EntityTable,
    is_primary: bool,
}

fn frequency_options(selected: &str) -> Vec<Choice> {
    BackupFrequency::ALL
        .iter()
        .map(|f| Choice {
            value: f.as_str(),
            label: f.label(),
            selected: f.as_str() == selected,
        })
        .collect()
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct PageQuery {
    notice: String,
    #[serde(flatten)]
    filter: EntityFilter,
}

struct PageParts {
    settings: Option<(SettingsInput, FormErrors)>,
    notice: Option<&'static str>,
    filter: EntityFilter,
}

async fn task_page(
    state: &AppState,
    portal: &PortalSession,
    id: TaskId,
    parts: PageParts,
    status: StatusCode,
) -> Result<Response, ApiError> {
    let tasks = tasks_of(state, portal);
    let overview = tasks.overview(id).await?;
    let jobs = tasks.recent_backups(id, 5).await?;
    let table = entity_table(&tasks, &overview, &parts.filter, &portal.csrf_token).await?;
    let (settings, settings_errors) = parts.settings.unwrap_or_else(|| {
        (
            SettingsInput::from_task(&overview.task),
            FormErrors::default(),
        )
    });
    render(
        status,
        &TaskPage {
            chrome: Chrome::new(state, portal, Section::Home),
            task: task_view(state, &overview),
            notice: parts.notice,
            frequencies: frequency_options(&settings.frequency),
            settings,
            settings_errors,
            jobs: jobs.iter().map(job_row).collect(),
            table,
            is_primary: tasks.sees_limited(),
        },
    )
}

pub(crate) async fn page(
    State(state): State<AppState>,
    portal: PortalSession,
    IdPath(id): IdPath<TaskId>,
    Query(query): Query<PageQuery>,
) -> Result<Response, ApiError> {
    let parts = PageParts {
        settings: None,
        notice: notice_text(&query.notice),
        filter: query.filter,
    };
    task_page(&state, &portal, id, parts, StatusCode::OK).await
}

pub(crate) async fn save_settings(
    State(state): State<AppState>,
    portal: PortalSession,
    IdPath(id): IdPath<TaskId>,
    CsrfForm(input): CsrfForm<SettingsInput>,
) -> Result<Response, ApiError> {
    match tasks_of(&state, &portal).update_settings(id, &input).await {
        Ok(_) => Ok(Redirect::to(&format!("/tasks/{id}?notice=saved")).into_response()),
        Err(TaskFailure::Invalid(errors)) => {
            let parts = PageParts {
                settings: Some((input, errors)),
                notice: None,
                filter: EntityFilter::default(),
            };
            task_page(&state, &portal, id, parts, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(other) => Err(other.into()),
    }
}

pub(crate) async fn backup_now(
    State(state): State<AppState>,
    portal: PortalSession,
    IdPath(id): IdPath<TaskId>,
    CsrfForm(_): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    tasks_of(&state, &portal).backup_now(id, None).await?;
    Ok(Redirect::to(&format!("/tasks/{id}?notice=backup_queued")).into_response())
}

/// "Export" on the Homepage: the usage report, e-mailed (F-TASK-8).
pub(crate) async fn usage_report(
    State(state): State<AppState>,
    portal: PortalSession,
    CsrfForm(_): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    tasks_of(&state, &portal).email_usage_report().await?;
    Ok(Redirect::to("/?notice=usage_report_sent").into_response())
}

// ---------- Delete and restore ----------

#[derive(Template)]
#[template(path = "task_delete.html")]
struct DeletePage {
    chrome: Chrome,
    task: TaskView,
    grace_days: i64,
}

pub(crate) async fn delete_page(
    State(state): State<AppState>,
    portal: PortalSession,
    IdPath(id): IdPath<TaskId>,
) -> Result<Response, ApiError> {
    let overview = tasks_of(&state, &portal).overview(id).await?;
    render(
        StatusCode::OK,
        &DeletePage {
            chrome: Chrome::new(&state, &portal, Section::Home),
            task: task_view(&state, &overview),
            grace_days: cairn_domain::task::DELETE_GRACE.num_days(),
        },
    )
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct DeleteForm {
    confirm: String,
}

pub(crate) async fn delete(
    State(state): State<AppState>,
    portal: PortalSession,
    IdPath(id): IdPath<TaskId>,
    CsrfForm(form): CsrfForm<DeleteForm>,
) -> Result<Response, ApiError> {
    if form.confirm != "yes" {
        return Err(ApiError::bad_request(
            "task.delete_not_confirmed",
            "Confirm that you want to delete the task.",
        ));
    }
    tasks_of(&state, &portal).delete(id).await?;
    Ok(Redirect::to(&format!("/tasks/{id}?notice=deleted")).into_response())
}

pub(crate) async fn restore(
    State(state): State<AppState>,
    portal: PortalSession,
    IdPath(id): IdPath<TaskId>,
    CsrfForm(_): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    tasks_of(&state, &portal).restore(id).await?;
    Ok(Redirect::to(&format!("/tasks/{id}?notice=restored")).into_response())
}

/// Whether the request came from htmx (answer with a fragment).
pub(crate) fn is_htmx(headers: &HeaderMap) -> bool {
    headers.contains_key("hx-request")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_well() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1023), "1023 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(3 << 30), "3.0 GiB");
    }

    #[test]
    fn notices_are_fixed_texts() {
        assert!(notice_text("saved").is_some());
        assert!(notice_text("<script>").is_none());
    }
}
