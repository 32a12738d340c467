//! The REST API under `/api/v1` (JSON): who is signed in, and backup tasks with their
//! entities ([`tasks`]). API clients (client id + secret, F-ACT-6) come later. Unknown paths
//! under `/api` get a JSON 404 from the application fallback.
//!
//! The portal's session cookie is accepted here for reads only. State-changing API calls
//! must authenticate with API-client tokens (not cookies), so they need no CSRF token and
//! cannot be forged by another site.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde::Serialize;

use cairn_domain::ids::{AccountId, UserId};

use crate::error::ApiError;
use crate::extract::ApiSession;
use crate::state::AppState;

mod tasks;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/me", get(me))
        .route("/tasks", get(tasks::list))
        .route("/tasks/{id}", get(tasks::get))
        .route("/tasks/{id}/entities", get(tasks::entities))
        .route("/tasks/{id}/entities/{entity}", get(tasks::entity))
}

#[derive(Debug, Serialize)]
struct MeUser {
    id: UserId,
    email: String,
    name: String,
    role: &'static str,
}

#[derive(Debug, Serialize)]
struct MeAccount {
    id: AccountId,
    name: String,
    region: String,
}

#[derive(Debug, Serialize)]
struct Me {
    user: MeUser,
    account: MeAccount,
}

/// `GET /api/v1/me`: the signed-in user and their account.
async fn me(
    State(state): State<AppState>,
    ApiSession(session): ApiSession,
) -> Result<Json<Me>, ApiError> {
    let user = session.user;
    let account = state.store().account(user.account_id).get().await?;
    Ok(Json(Me {
        user: MeUser {
            id: user.id,
            email: user.email.to_string(),
            name: user.name,
            role: user.role.as_str(),
        },
        account: MeAccount {
            id: account.id,
            name: account.name,
            region: account.region.to_string(),
        },
    }))
}
