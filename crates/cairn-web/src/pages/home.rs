//! The Homepage: the account's backup tasks with their state, the "+ Add backup task"
//! entry point, and a reminder when entities are waiting to be activated.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;

use cairn_domain::region::find_region;

use super::chrome::{Chrome, Section};
use super::render;
use super::tasks::{TaskView, notice_text, task_view, tasks_of};
use crate::error::ApiError;
use crate::extract::PortalSession;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    chrome: Chrome,
    region_name: String,
    tasks: Vec<TaskView>,
    live_tasks: usize,
    inactive_entities: u64,
    notice: Option<&'static str>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub(crate) struct HomeQuery {
    notice: String,
}

pub(crate) async fn page(
    State(state): State<AppState>,
    portal: PortalSession,
    Query(query): Query<HomeQuery>,
) -> Result<Response, ApiError> {
    let region = &portal.account.region;
    // A region removed from the configuration still shows, by its code.
    let region_name = find_region(&state.settings().regions, region.as_str())
        .map_or_else(|| region.to_string(), |r| r.name.clone());
    let service = tasks_of(&state, &portal);
    let overviews = service.list().await?;
    let inactive_entities = service.inactive_entity_count().await?;
    let tasks: Vec<TaskView> = overviews.iter().map(|o| task_view(&state, o)).collect();
    render(
        StatusCode::OK,
        &HomePage {
            chrome: Chrome::new(&state, &portal, Section::Home),
            region_name,
            live_tasks: tasks.iter().filter(|t| t.deleting_on.is_none()).count(),
            tasks,
            inactive_entities,
            notice: notice_text(&query.notice),
        },
    )
}
