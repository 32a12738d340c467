//! `/api/v1/tasks…`: backup tasks and their entities as JSON, through the same
//! [`crate::tasks::Tasks`] service as the portal — so the same permission check and the
//! same Limited Access rule (a hidden entity is absent from lists and totals and its id
//! answers `entity.not_found`). Read-only for now: writes wait for API-client tokens.

use axum::Json;
use axum::extract::{Query, State};
use chrono::{DateTime, Utc};
use serde::Serialize;

use cairn_domain::ids::{EntityId, TagId, TaskId};
use cairn_domain::{Entity, EntityCounters, TaskSettings};

use crate::error::ApiError;
use crate::extract::{ApiSession, IdPath};
use crate::state::AppState;
use crate::tasks::{EntityFilter, TaskOverview, Viewer};

#[derive(Debug, Serialize)]
pub(crate) struct TaskJson {
    id: TaskId,
    name: String,
    service: &'static str,
    environment: &'static str,
    connection: &'static str,
    settings: TaskSettings,
    region: String,
    created_at: DateTime<Utc>,
    deleted_at: Option<DateTime<Utc>>,
    purge_due_at: Option<DateTime<Utc>>,
    entities: u64,
    inactive_entities: u64,
    items: u64,
    bytes: u64,
    last_backup_at: Option<DateTime<Utc>>,
    running_backup: Option<RunningJson>,
}

#[derive(Debug, Serialize)]
struct RunningJson {
    id: cairn_domain::ids::JobId,
    status: &'static str,
}

fn task_json(o: TaskOverview) -> TaskJson {
    let purge_due_at = o.purge_due_at();
    let t = o.task;
    TaskJson {
        id: t.id,
        name: t.name,
        service: t.service.as_str(),
        environment: t.environment.as_str(),
        connection: t.connection.as_str(),
        settings: t.settings,
        region: t.region.to_string(),
        created_at: t.created_at,
        deleted_at: t.deleted_at,
        purge_due_at,
        entities: o.entities,
        inactive_entities: o.inactive,
        items: o.items,
        bytes: o.bytes,
        last_backup_at: o.last_backup_at,
        running_backup: o.running_job.map(|j| RunningJson {
            id: j.id,
            status: j.status.as_str(),
        }),
    }
}

#[derive(Debug, Serialize)]
pub(crate) struct EntityJson {
    id: EntityId,
    task_id: TaskId,
    kind: &'static str,
    name: String,
    external_id: String,
    email: Option<String>,
    status: &'static str,
    tags: Vec<TagId>,
    counters: EntityCounters,
    last_backup_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
}

fn entity_json(e: Entity) -> EntityJson {
    EntityJson {
        id: e.id,
        task_id: e.task_id,
        kind: e.kind.as_str(),
        name: e.name,
        external_id: e.external_id,
        email: e.email,
        status: e.status.as_str(),
        tags: e.tags,
        counters: e.counters,
        last_backup_at: e.last_backup_at,
        created_at: e.created_at,
    }
}

#[derive(Debug, Serialize)]
pub(crate) struct TaskList {
    tasks: Vec<TaskJson>,
}

/// `GET /api/v1/tasks`.
pub(crate) async fn list(
    State(state): State<AppState>,
    ApiSession(session): ApiSession,
) -> Result<Json<TaskList>, ApiError> {
    let tasks = state.tasks(Viewer::of(&session)).list().await?;
    Ok(Json(TaskList {
        tasks: tasks.into_iter().map(task_json).collect(),
    }))
}

/// `GET /api/v1/tasks/{id}`.
pub(crate) async fn get(
    State(state): State<AppState>,
    ApiSession(session): ApiSession,
    IdPath(id): IdPath<TaskId>,
) -> Result<Json<TaskJson>, ApiError> {
    let overview = state.tasks(Viewer::of(&session)).overview(id).await?;
    Ok(Json(task_json(overview)))
}

#[derive(Debug, Serialize)]
pub(crate) struct EntityList {
    entities: Vec<EntityJson>,
    total: u64,
    page: u32,
    pages: u32,
}

/// `GET /api/v1/tasks/{id}/entities?q=&kind=&status=&tag=&page=`.
pub(crate) async fn entities(
    State(state): State<AppState>,
    ApiSession(session): ApiSession,
    IdPath(id): IdPath<TaskId>,
    Query(filter): Query<EntityFilter>,
) -> Result<Json<EntityList>, ApiError> {
    let page = state
        .tasks(Viewer::of(&session))
        .entities(id, &filter)
        .await?;
    Ok(Json(EntityList {
        entities: page.entities.into_iter().map(entity_json).collect(),
        total: page.total,
        page: page.page,
        pages: page.pages,
    }))
}

/// `GET /api/v1/tasks/{id}/entities/{entity}`.
pub(crate) async fn entity(
    State(state): State<AppState>,
    ApiSession(session): ApiSession,
    IdPath((id, entity)): IdPath<(TaskId, EntityId)>,
) -> Result<Json<EntityJson>, ApiError> {
    let entity = state.tasks(Viewer::of(&session)).entity(id, entity).await?;
    Ok(Json(entity_json(entity)))
}
