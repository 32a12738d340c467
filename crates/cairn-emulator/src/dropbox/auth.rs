//! Who is calling: the bearer token, `Dropbox-API-Select-User` / `Dropbox-API-Select-Admin`
//! for user routes called with a team token, and `Dropbox-API-Path-Root`.
//!
//! Error mapping (research note §1.3, §2.1): no or malformed `Authorization` → 400 text;
//! unknown or revoked token → 401 `invalid_access_token`; expired → 401
//! `expired_access_token`; missing scope → 401 `missing_scope`; user route without a Select
//! header → 400 text; unknown/removed/invited member → 401 `invalid_select_user`;
//! suspended → 401 `user_suspended`; non-admin in Select-Admin → 401
//! `invalid_select_admin`; bad Path-Root → 422 `PathRootError` (400 if unparseable).

use std::sync::Arc;

use axum::http::HeaderMap;
use serde_json::{Value, json};

use super::api::bad_input;
use super::ids::now_unix;
use super::model::{MemberStatus, Team};
use super::routes::{AuthKind, RouteSpec};
use super::state::Shared;
use super::tokens::TokenState;
use super::view::View;
use super::wire::{ApiError, UnionArg, flattened, nested, tag};

/// The authenticated caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// Long-poll: nobody.
    Anonymous,
    /// A team route called with the team token.
    Team,
    /// A user route acting as a member.
    Member(View),
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn bearer(spec: &RouteSpec, headers: &HeaderMap) -> Result<String, ApiError> {
    let raw = header(headers, "authorization").ok_or_else(|| {
        bad_input(
            spec.name,
            "Must provide HTTP header \"Authorization\" or URL parameter \"authorization\".",
        )
    })?;
    let token = raw
        .strip_prefix("Bearer ")
        .or_else(|| raw.strip_prefix("bearer "))
        .map(str::trim)
        .unwrap_or_default();
    let well_formed = !token.is_empty()
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'='));
    if !well_formed {
        return Err(bad_input(
            spec.name,
            "The given OAuth 2 access token is malformed.",
        ));
    }
    Ok(token.to_owned())
}

/// Authenticates a call of `spec`. Returns the caller, the bearer token and the key its
/// rate limit is counted under.
///
/// # Errors
/// The 400 / 401 / 422 responses described in the module docs.
pub fn authenticate(
    shared: &Arc<Shared>,
    spec: &RouteSpec,
    headers: &HeaderMap,
) -> Result<(Caller, Option<String>, String), ApiError> {
    if spec.auth == AuthKind::NoAuth {
        return Ok((Caller::Anonymous, None, "anonymous".into()));
    }
    let token = bearer(spec, headers)?;
    let (state, scopes) = shared.tokens.lock().check(&token, now_unix());
    match state {
        TokenState::Valid => {}
        TokenState::Expired => return Err(ApiError::Auth(tag("expired_access_token"))),
        TokenState::Invalid => return Err(ApiError::Auth(tag("invalid_access_token"))),
    }
    let need_scope = |scope: &str| -> Result<(), ApiError> {
        if scopes.iter().any(|s| s == scope) {
            Ok(())
        } else {
            Err(ApiError::Auth(flattened(
                "missing_scope",
                json!({ "required_scope": scope }),
            )))
        }
    };
    if let Some(scope) = spec.scope {
        need_scope(scope)?;
    }
    let select_user = header(headers, "dropbox-api-select-user");
    let select_admin = header(headers, "dropbox-api-select-admin");
    if spec.auth == AuthKind::Team {
        if select_user.is_some() {
            return Err(bad_input(
                spec.name,
                "This API function operates on the whole team; do not send the \
                 \"Dropbox-API-Select-User\" header.",
            ));
        }
        return Ok((Caller::Team, Some(token), "team".into()));
    }
    let team = shared.team.read();
    let (member, as_admin) = match (select_user, select_admin) {
        (Some(_), Some(_)) => {
            return Err(bad_input(
                spec.name,
                "Provide only one of \"Dropbox-API-Select-User\" and \"Dropbox-API-Select-Admin\".",
            ));
        }
        (None, None) => {
            return Err(bad_input(
                spec.name,
                "This API function operates on a single Dropbox account, but the OAuth 2 \
                 access token you provided is for an entire Dropbox Business team. Since your \
                 API app key has team member file access permissions, you can operate on a \
                 team member's Dropbox by providing the \"Dropbox-API-Select-User\" HTTP header \
                 or \"select_user\" URL parameter to specify the exact user \
                 <https://www.dropbox.com/developers/documentation/http/teams>.",
            ));
        }
        (Some(id), None) => (select_member(&team, id)?, false),
        (None, Some(id)) => (select_admin_member(&team, id)?, true),
    };
    need_scope("team_data.member")?;
    let whole_team = as_admin && !spec.write;
    let home = team.members[member].home_ns;
    let root = match header(headers, "dropbox-api-path-root") {
        None => home,
        Some(raw) => path_root(&team, spec, raw, member, home, whole_team)?,
    };
    let key = team.members[member].team_member_id.clone();
    Ok((
        Caller::Member(View {
            root,
            actor: member,
            whole_team,
        }),
        Some(token),
        key,
    ))
}

fn select_member(team: &Team, id: &str) -> Result<usize, ApiError> {
    let member = team
        .member_by_id(id.trim())
        .ok_or_else(|| ApiError::Auth(tag("invalid_select_user")))?;
    match team.members[member].status {
        MemberStatus::Active => Ok(member),
        MemberStatus::Suspended => Err(ApiError::Auth(tag("user_suspended"))),
        MemberStatus::Invited | MemberStatus::Removed => {
            Err(ApiError::Auth(tag("invalid_select_user")))
        }
    }
}

fn select_admin_member(team: &Team, id: &str) -> Result<usize, ApiError> {
    let member = team
        .member_by_id(id.trim())
        .ok_or_else(|| ApiError::Auth(tag("invalid_select_admin")))?;
    let m = &team.members[member];
    if m.admin && m.status == MemberStatus::Active {
        Ok(member)
    } else {
        Err(ApiError::Auth(tag("invalid_select_admin")))
    }
}

/// The `RootInfo` of a member, as `invalid_root` reports it.
#[must_use]
pub fn root_info(team: &Team, member: usize) -> Value {
    let home = team.members[member].home_ns.to_string();
    json!({
        ".tag": "user",
        "root_namespace_id": home,
        "home_namespace_id": home,
    })
}

fn path_root(
    team: &Team,
    spec: &RouteSpec,
    raw: &str,
    member: usize,
    home: u64,
    whole_team: bool,
) -> Result<u64, ApiError> {
    let bad = |why: &str| {
        bad_input(
            spec.name,
            &format!("Invalid value for HTTP header \"Dropbox-API-Path-Root\": {why}"),
        )
    };
    let value: UnionArg = serde_json::from_str(raw).map_err(|e| bad(&e.to_string()))?;
    let id_field = |field: &str| -> Result<u64, ApiError> {
        let text = value
            .value
            .get(field)
            .and_then(Value::as_str)
            .ok_or_else(|| bad(&format!("missing \"{field}\"")))?;
        text.parse::<u64>()
            .map_err(|_| bad(&format!("\"{field}\" must be a namespace id")))
    };
    match value.tag.as_str() {
        "home" => Ok(home),
        "root" => {
            let wanted = id_field("root")?;
            if wanted == home {
                Ok(home)
            } else {
                Err(ApiError::PathRoot(nested(
                    "invalid_root",
                    root_info(team, member),
                )))
            }
        }
        "namespace_id" => {
            let ns = id_field("namespace_id")?;
            let view = View {
                root: home,
                actor: member,
                whole_team,
            };
            if team.view_can_access(&view, ns) {
                Ok(ns)
            } else {
                Err(ApiError::PathRoot(tag("no_permission")))
            }
        }
        other => Err(bad(&format!("unknown tag \"{other}\""))),
    }
}
