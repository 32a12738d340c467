//! The Homepage: the account's backup tasks.
//!
//! Backup tasks arrive with the Salesforce and Dropbox connectors; until then the account
//! has none and the page shows the empty state, with the add button disabled and saying
//! why.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use cairn_domain::region::find_region;

use super::chrome::{Chrome, Section};
use super::render;
use crate::error::ApiError;
use crate::extract::PortalSession;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    chrome: Chrome,
    region_name: String,
    task_count: usize,
}

pub(crate) async fn page(
    State(state): State<AppState>,
    portal: PortalSession,
) -> Result<Response, ApiError> {
    let region = &portal.account.region;
    // A region removed from the configuration still shows, by its code.
    let region_name = find_region(&state.settings().regions, region.as_str())
        .map_or_else(|| region.to_string(), |r| r.name.clone());
    render(
        StatusCode::OK,
        &HomePage {
            chrome: Chrome::new(&state, &portal, Section::Home),
            region_name,
            task_count: 0,
        },
    )
}
