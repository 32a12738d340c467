//! The entity list of a task page (F-TASK-4…6) — search, filters, paging, selection
//! actions and tags, refreshed in place with htmx — and the per-entity drill-down
//! (F-TASK-7) with its items-per-day chart.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use cairn_domain::ids::{EntityId, TagId, TaskId};
use cairn_domain::{EntityKind, EntityStatus, Service};

use super::chart::{DayBar, items_per_day_svg};
use super::chrome::{Chrome, Section};
use super::tasks::{Choice, TaskView, human_bytes, is_htmx, task_view, tasks_of};
use super::{format_time, render};
use crate::error::ApiError;
use crate::extract::{CsrfForm, IdPath, PortalSession};
use crate::state::AppState;
use crate::tasks::{
    EntityFilter, MAX_HISTORY_DAYS, SelectionAction, TaskFailure, TaskOverview, Tasks,
};

pub(crate) struct EntityRow {
    pub id: String,
    pub kind: &'static str,
    pub name: String,
    pub email: String,
    pub status: &'static str,
    pub status_class: &'static str,
    pub items: u64,
    pub size: String,
    pub last_backup: String,
    pub added: u64,
    pub updated: u64,
    pub deleted: u64,
    pub tags: String,
}

/// The entity list with its filters, as the task page and the htmx fragment show it.
pub(crate) struct EntityTable {
    pub task_id: String,
    pub is_dropbox: bool,
    pub live: bool,
    pub rows: Vec<EntityRow>,
    pub q: String,
    pub kinds: Vec<Choice>,
    pub statuses: Vec<Choice>,
    pub tags: Vec<TagChoice>,
    pub total: u64,
    pub page: u32,
    pub pages: u32,
    pub prev_href: Option<String>,
    pub next_href: Option<String>,
    pub csrf_token: String,
    pub notice: Option<String>,
    pub error: Option<String>,
}

pub(crate) struct TagChoice {
    pub id: String,
    pub name: String,
    pub limited: bool,
    pub selected: bool,
}

fn status_class(status: EntityStatus) -> &'static str {
    match status {
        EntityStatus::Success => "success",
        EntityStatus::Failed => "failure",
        _ => "",
    }
}

pub(crate) async fn entity_table(
    tasks: &Tasks<'_>,
    overview: &TaskOverview,
    filter: &EntityFilter,
    csrf_token: &str,
) -> Result<EntityTable, ApiError> {
    let task = &overview.task;
    // A filter that does not parse shows the unfiltered list with the message.
    let (page, error, filter) = match tasks.entities(task.id, filter).await {
        Ok(page) => (page, None, filter.clone()),
        Err(TaskFailure::Invalid(errors)) => {
            let message = errors
                .fields
                .values()
                .flatten()
                .cloned()
                .collect::<Vec<_>>();
            let plain = EntityFilter::default();
            (
                tasks.entities(task.id, &plain).await?,
                Some(message.join(" ")),
                plain,
            )
        }
        Err(other) => return Err(other.into()),
    };
    let tags = tasks.tags().await?;
    let tag_names: BTreeMap<TagId, String> = tags.iter().map(|t| (t.id, t.name.clone())).collect();
    let rows = page
        .entities
        .iter()
        .map(|e| EntityRow {
            id: e.id.to_string(),
            kind: e.kind.label(),
            name: e.name.clone(),
            email: e.email.clone().unwrap_or_default(),
            status: e.status.label(),
            status_class: status_class(e.status),
            items: e.counters.items,
            size: human_bytes(e.counters.bytes),
            last_backup: e.last_backup_at.map(format_time).unwrap_or_default(),
            added: e.counters.added,
            updated: e.counters.updated,
            deleted: e.counters.deleted,
            tags: e
                .tags
                .iter()
                .filter_map(|t| tag_names.get(t).cloned())
                .collect::<Vec<_>>()
                .join(", "),
        })
        .collect();
    let kinds = EntityKind::ALL
        .iter()
        .filter(|k| k.service() == task.service)
        .map(|k| Choice {
            value: k.as_str(),
            label: k.label(),
            selected: filter.kind == k.as_str(),
        })
        .collect();
    let statuses = EntityStatus::ALL
        .iter()
        .map(|s| Choice {
            value: s.as_str(),
            label: s.label(),
            selected: filter.status == s.as_str(),
        })
        .collect();
    let base = format!("/tasks/{}?{}", task.id, filter.query_string());
    Ok(EntityTable {
        task_id: task.id.to_string(),
        is_dropbox: task.service == Service::Dropbox,
        live: task.deleted_at.is_none(),
        rows,
        q: filter.q.clone(),
        kinds,
        statuses,
        tags: tags
            .iter()
            .map(|t| TagChoice {
                id: t.id.to_string(),
                name: t.name.clone(),
                limited: t.limited_access,
                selected: filter.tag == t.id.to_string(),
            })
            .collect(),
        total: page.total,
        page: page.page,
        pages: page.pages,
        prev_href: (page.page > 1).then(|| format!("{base}&page={}", page.page - 1)),
        next_href: (page.page < page.pages).then(|| format!("{base}&page={}", page.page + 1)),
        csrf_token: csrf_token.to_owned(),
        notice: None,
        error,
    })
}

#[derive(Template)]
#[template(path = "entity_table.html")]
struct EntityFragment {
    table: EntityTable,
}

/// `GET /tasks/{id}/entities`: the list as an htmx fragment (browsers without htmx are
/// sent to the task page with the same filter).
pub(crate) async fn list(
    State(state): State<AppState>,
    portal: PortalSession,
    headers: HeaderMap,
    IdPath(id): IdPath<TaskId>,
    Query(filter): Query<EntityFilter>,
) -> Result<Response, ApiError> {
    if !is_htmx(&headers) {
        return Ok(Redirect::to(&format!(
            "/tasks/{id}?{}&page={}",
            filter.query_string(),
            filter.page
        ))
        .into_response());
    }
    let tasks = tasks_of(&state, &portal);
    let overview = tasks.overview(id).await?;
    let table = entity_table(&tasks, &overview, &filter, &portal.csrf_token).await?;
    render(StatusCode::OK, &EntityFragment { table })
}

/// `POST /tasks/{id}/entities/action`: `action` on the `entity` fields, with `tag` for
/// tagging. Answers htmx with the refreshed list, browsers with a redirect.
pub(crate) async fn act(
    State(state): State<AppState>,
    portal: PortalSession,
    headers: HeaderMap,
    IdPath(id): IdPath<TaskId>,
    CsrfForm(fields): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let value = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_default()
    };
    let chosen: Vec<EntityId> = fields
        .iter()
        .filter(|(k, _)| k == "entity")
        .filter_map(|(_, v)| v.parse().ok())
        .collect();
    let tag = || {
        value("tag").parse::<TagId>().map_err(|_| {
            ApiError::bad_request("tag.not_chosen", "Choose a tag to apply or remove.")
        })
    };
    let action = match value("action") {
        "activate" => SelectionAction::Activate,
        "pause" => SelectionAction::Pause,
        "backup" => SelectionAction::BackupNow,
        "delete" => SelectionAction::Delete,
        "tag" => SelectionAction::Tag(tag()?),
        "untag" => SelectionAction::Untag(tag()?),
        _ => {
            return Err(ApiError::bad_request(
                "entity.unknown_action",
                "Choose Activate, Pause, Backup now, Delete, or a tag action.",
            ));
        }
    };
    let tasks = tasks_of(&state, &portal);
    let outcome = tasks.act_on_selection(id, &chosen, action).await;
    if !is_htmx(&headers) {
        outcome?;
        return Ok(Redirect::to(&format!("/tasks/{id}?notice=entities_updated")).into_response());
    }
    let (notice, error) = match outcome {
        Ok(n) => (
            Some(match action {
                SelectionAction::BackupNow => format!("Backup queued for {n} entities."),
                _ => format!("{n} entities changed."),
            }),
            None,
        ),
        Err(TaskFailure::Refused { message, .. }) => (None, Some(message)),
        Err(TaskFailure::NotFound { message, .. }) if message.contains("tag") => {
            (None, Some(message.to_owned()))
        }
        Err(other) => return Err(other.into()),
    };
    let overview = tasks.overview(id).await?;
    let filter: EntityFilter = EntityFilter {
        q: value("q").to_owned(),
        kind: value("kind").to_owned(),
        status: value("status").to_owned(),
        tag: value("filter_tag").to_owned(),
        page: value("page").to_owned(),
    };
    let mut table = entity_table(&tasks, &overview, &filter, &portal.csrf_token).await?;
    table.notice = notice;
    table.error = error.or(table.error);
    render(StatusCode::OK, &EntityFragment { table })
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct TagForm {
    tag_name: String,
    limited_access: Option<String>,
}

/// `POST /tasks/{id}/tags`: creates a tag (the account's tags serve every task).
pub(crate) async fn create_tag(
    State(state): State<AppState>,
    portal: PortalSession,
    IdPath(id): IdPath<TaskId>,
    CsrfForm(form): CsrfForm<TagForm>,
) -> Result<Response, ApiError> {
    let tasks = tasks_of(&state, &portal);
    tasks.overview(id).await?;
    match tasks
        .create_tag(&form.tag_name, form.limited_access.is_some())
        .await
    {
        Ok(_) => Ok(Redirect::to(&format!("/tasks/{id}?notice=tag_created")).into_response()),
        Err(TaskFailure::Invalid(errors)) => {
            let message = errors
                .fields
                .values()
                .flatten()
                .cloned()
                .collect::<Vec<_>>()
                .join(" ");
            Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "tag.invalid",
                message,
            ))
        }
        Err(other) => Err(other.into()),
    }
}

// ---------- Drill-down ----------

#[derive(Template)]
#[template(path = "entity.html")]
struct EntityPage {
    chrome: Chrome,
    task: TaskView,
    name: String,
    kind: &'static str,
    status: &'static str,
    email: String,
    items: u64,
    size: String,
    last_backup: String,
    last_outcome: String,
    days: u32,
    max_days: u32,
    chart_svg: String,
    total_in_range: u64,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct DaysQuery {
    days: String,
}

pub(crate) async fn detail(
    State(state): State<AppState>,
    portal: PortalSession,
    IdPath((task_id, entity_id)): IdPath<(TaskId, EntityId)>,
    Query(query): Query<DaysQuery>,
) -> Result<Response, ApiError> {
    let days = query
        .days
        .trim()
        .parse::<u32>()
        .unwrap_or(14)
        .clamp(1, MAX_HISTORY_DAYS);
    let tasks = tasks_of(&state, &portal);
    let overview = tasks.overview(task_id).await?;
    let entity = tasks.entity(task_id, entity_id).await?;
    let history = tasks.entity_history(task_id, entity_id, days).await?;
    let today = state.clock().now().date_naive();
    let mut per_day: BTreeMap<chrono::NaiveDate, u64> = BTreeMap::new();
    for offset in 0..days {
        per_day.insert(today - chrono::Duration::days(i64::from(offset)), 0);
    }
    for point in &history {
        let changed = point.entity.counters.added
            + point.entity.counters.updated
            + point.entity.counters.deleted;
        if let Some(slot) = per_day.get_mut(&point.taken_at.date_naive()) {
            *slot += changed;
        }
    }
    let bars: Vec<DayBar> = per_day
        .iter()
        .map(|(day, items)| DayBar {
            day: *day,
            items: *items,
        })
        .collect();
    let last_outcome = history
        .last()
        .map(|p| p.entity.status.label().to_owned())
        .unwrap_or_else(|| "No backup in this range".to_owned());
    render(
        StatusCode::OK,
        &EntityPage {
            chrome: Chrome::new(&state, &portal, Section::Home),
            task: task_view(&state, &overview),
            name: entity.name.clone(),
            kind: entity.kind.label(),
            status: entity.status.label(),
            email: entity.email.clone().unwrap_or_default(),
            items: entity.counters.items,
            size: human_bytes(entity.counters.bytes),
            last_backup: entity
                .last_backup_at
                .map_or_else(|| "Never".to_owned(), format_time),
            last_outcome,
            days,
            max_days: MAX_HISTORY_DAYS,
            total_in_range: bars.iter().map(|b| b.items).sum(),
            chart_svg: items_per_day_svg(&bars),
        },
    )
}
