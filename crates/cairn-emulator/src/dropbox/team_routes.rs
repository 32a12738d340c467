//! Team routes (`team/*`, team token, no Select header) and `users/get_current_account`.
//! Shapes follow the SDK's Stone definitions (`TeamMemberProfile`, `TeamFolderMetadata`,
//! `NamespaceMetadata`, `FullAccount`…); every required field is present.

use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};

use super::api::Ctx;
use super::cursor::PageCursor;
use super::ids::{opaque, timestamp};
use super::model::{Member, MemberStatus, NsKind, Team};
use super::wire::{ApiError, UnionArg, flattened, nested, ok, route_error, tag};

#[derive(Debug, Deserialize)]
struct LimitArg {
    #[serde(default)]
    limit: Option<u64>,
    #[serde(default)]
    include_removed: bool,
}

#[derive(Debug, Deserialize)]
struct CursorArg {
    cursor: String,
}

#[derive(Debug, Deserialize)]
struct FeaturesArg {
    features: Vec<UnionArg>,
}

#[derive(Debug, Deserialize)]
struct GetInfoArg {
    members: Vec<UnionArg>,
}

fn sharing_policies() -> Value {
    json!({
        "shared_folder_member_policy": tag("team"),
        "shared_folder_join_policy": tag("from_anyone"),
        "shared_link_create_policy": tag("default_public"),
        "group_creation_policy": tag("admins_only"),
        "shared_folder_link_restriction_policy": tag("anyone"),
        "enforce_link_password_policy": tag("optional"),
        "default_link_expiration_days_policy": tag("none"),
        "shared_link_default_permissions_policy": tag("default"),
    })
}

fn status(m: &Member) -> Value {
    match m.status {
        MemberStatus::Active => tag("active"),
        MemberStatus::Invited => tag("invited"),
        MemberStatus::Suspended => tag("suspended"),
        MemberStatus::Removed => flattened(
            "removed",
            json!({ "is_recoverable": true, "is_disconnected": false }),
        ),
    }
}

fn name(m: &Member) -> Value {
    let initials: String = [&m.given_name, &m.surname]
        .iter()
        .filter_map(|s| s.chars().next())
        .collect();
    json!({
        "given_name": m.given_name,
        "surname": m.surname,
        "familiar_name": m.given_name,
        "display_name": m.display_name(),
        "abbreviated_name": initials,
    })
}

/// `TeamMemberProfile` of a member.
#[must_use]
pub fn profile(m: &Member) -> Value {
    let mut p = json!({
        "team_member_id": m.team_member_id,
        "account_id": m.account_id,
        "email": m.email,
        "email_verified": m.status != MemberStatus::Invited,
        "status": status(m),
        "name": name(m),
        "membership_type": tag("full"),
        "invited_on": timestamp(m.invited_on),
        "groups": [],
        "member_folder_id": m.home_ns.to_string(),
        "root_folder_id": m.home_ns.to_string(),
    });
    if let Some(at) = m.joined_on {
        p["joined_on"] = Value::String(timestamp(at));
    }
    if let Some(at) = m.suspended_on {
        p["suspended_on"] = Value::String(timestamp(at));
    }
    p
}

fn member_info(team: &Team, m: &Member) -> Value {
    let roles = if m.admin {
        json!([{
            "role_id": opaque("pid_dbtmr:", &[team.seed, 1]),
            "name": "Team",
            "description": "Manage everything and access all permissions",
        }])
    } else {
        json!([])
    };
    json!({ "profile": profile(m), "roles": roles })
}

fn page_limit(ctx: &Ctx, limit: Option<u64>) -> Result<usize, ApiError> {
    match limit {
        None => Ok(1000),
        Some(l @ 1..=1000) => Ok(l as usize),
        Some(l) => Err(ctx.bad_input(&format!(
            "request body: limit: {l} is not within range [1, 1000]"
        ))),
    }
}

/// Pages `items` from `cursor` into `{field: [...], cursor, has_more}`.
fn paged(field: &str, items: Vec<Value>, cursor: PageCursor) -> Response {
    let end = (cursor.offset + cursor.limit).min(items.len());
    let page: Vec<Value> = items.get(cursor.offset..end).unwrap_or_default().to_vec();
    let next = PageCursor {
        offset: end,
        ..cursor
    };
    ok(&json!({
        field: page,
        "cursor": next.encode(),
        "has_more": end < items.len(),
    }))
}

fn continue_cursor(ctx: &Ctx, team: &Team, kind: &str, arg: Value) -> Result<PageCursor, ApiError> {
    let arg: CursorArg = ctx.parse(arg)?;
    PageCursor::decode(kind, team.salt, &arg.cursor)
        .ok_or_else(|| route_error(tag("invalid_cursor")))
}

/// `team/get_info`
pub fn get_info(ctx: Ctx) -> Result<Response, ApiError> {
    let team = ctx.shared.team.read();
    let provisioned = team
        .members
        .iter()
        .filter(|m| m.status != MemberStatus::Removed)
        .count();
    let used = team
        .members
        .iter()
        .filter(|m| matches!(m.status, MemberStatus::Active | MemberStatus::Suspended))
        .count();
    Ok(ok(&json!({
        "name": team.info.name,
        "team_id": team.info.team_id,
        "num_licensed_users": provisioned + 5,
        "num_provisioned_users": provisioned,
        "num_used_licenses": used,
        "policies": {
            "sharing": sharing_policies(),
            "emm_state": tag("disabled"),
            "office_addin": tag("disabled"),
            "suggest_members_policy": tag("enabled"),
            "top_level_content_policy": tag("admin_only"),
        },
    })))
}

/// `team/features/get_values`
pub fn features(ctx: Ctx, arg: Value) -> Result<Response, ApiError> {
    let arg: FeaturesArg = ctx.parse(arg)?;
    if arg.features.is_empty() {
        return Err(route_error(tag("empty_features_list")));
    }
    let quota = ctx.shared.limits.transport();
    let values: Vec<Value> = arg
        .features
        .iter()
        .map(|f| match f.tag.as_str() {
            "upload_api_rate_limit" => nested(
                "upload_api_rate_limit",
                match quota.limit {
                    Some(limit) => nested("limit", json!(limit)),
                    None => tag("unlimited"),
                },
            ),
            name @ ("has_team_shared_dropbox"
            | "has_distinct_member_homes"
            | "has_team_selective_sync") => nested(name, nested(name, Value::Bool(false))),
            "has_team_file_events" => {
                nested("has_team_file_events", nested("enabled", Value::Bool(true)))
            }
            _ => tag("other"),
        })
        .collect();
    Ok(ok(&json!({ "values": values })))
}

/// `team/token/get_authenticated_admin`
pub fn authenticated_admin(ctx: Ctx) -> Result<Response, ApiError> {
    let team = ctx.shared.team.read();
    let admin = team
        .first_admin()
        .ok_or_else(|| route_error(tag("admin_not_active")))?;
    Ok(ok(
        &json!({ "admin_profile": profile(&team.members[admin]) }),
    ))
}

fn members(team: &Team, include_removed: bool) -> Vec<Value> {
    team.members
        .iter()
        .filter(|m| include_removed || m.status != MemberStatus::Removed)
        .map(|m| member_info(team, m))
        .collect()
}

/// `team/members/list_v2`
pub fn members_list(ctx: Ctx, arg: Value) -> Result<Response, ApiError> {
    let arg: LimitArg = ctx.parse(if arg.is_null() { json!({}) } else { arg })?;
    let limit = page_limit(&ctx, arg.limit)?;
    let team = ctx.shared.team.read();
    let cursor = PageCursor {
        kind: "members".into(),
        salt: team.salt,
        offset: 0,
        limit,
        flag: arg.include_removed,
    };
    Ok(paged(
        "members",
        members(&team, arg.include_removed),
        cursor,
    ))
}

/// `team/members/list/continue_v2`
pub fn members_continue(ctx: Ctx, arg: Value) -> Result<Response, ApiError> {
    let team = ctx.shared.team.read();
    let cursor = continue_cursor(&ctx, &team, "members", arg)?;
    Ok(paged("members", members(&team, cursor.flag), cursor))
}

/// `team/members/get_info_v2`
pub fn members_get_info(ctx: Ctx, arg: Value) -> Result<Response, ApiError> {
    let arg: GetInfoArg = ctx.parse(arg)?;
    let team = ctx.shared.team.read();
    let info: Vec<Value> = arg
        .members
        .iter()
        .map(|sel| {
            let key = sel.inner_str().unwrap_or_default();
            let found = team.members.iter().find(|m| match sel.tag.as_str() {
                "team_member_id" => m.team_member_id == key,
                "email" => m.email.eq_ignore_ascii_case(key),
                _ => false,
            });
            match found {
                Some(m) => flattened("member_info", member_info(&team, m)),
                None => nested("id_not_found", Value::String(key.to_owned())),
            }
        })
        .collect();
    Ok(ok(&json!({ "members_info": info })))
}

fn team_folders(team: &Team) -> Vec<Value> {
    team.team_folders
        .iter()
        .filter_map(|&id| team.ns(id))
        .map(|space| {
            let archived = matches!(space.kind, NsKind::TeamFolder { archived: true });
            json!({
                "team_folder_id": space.id.to_string(),
                "name": space.name,
                "status": tag(if archived { "archived" } else { "active" }),
                "is_team_shared_dropbox": false,
                "sync_setting": tag("default"),
                "content_sync_settings": [],
                "quota_limit": 0,
            })
        })
        .collect()
}

/// `team/team_folder/list`
pub fn team_folder_list(ctx: Ctx, arg: Value) -> Result<Response, ApiError> {
    let arg: LimitArg = ctx.parse(if arg.is_null() { json!({}) } else { arg })?;
    let limit = page_limit(&ctx, arg.limit)?;
    let team = ctx.shared.team.read();
    let cursor = PageCursor {
        kind: "team_folders".into(),
        salt: team.salt,
        offset: 0,
        limit,
        flag: false,
    };
    Ok(paged("team_folders", team_folders(&team), cursor))
}

/// `team/team_folder/list/continue`
pub fn team_folder_continue(ctx: Ctx, arg: Value) -> Result<Response, ApiError> {
    let team = ctx.shared.team.read();
    let cursor = continue_cursor(&ctx, &team, "team_folders", arg)?;
    Ok(paged("team_folders", team_folders(&team), cursor))
}

fn namespaces(team: &Team) -> Vec<Value> {
    team.namespaces
        .values()
        .filter(|s| !s.gone)
        .map(|space| {
            let mut v = json!({
                "name": space.name,
                "namespace_id": space.id.to_string(),
                "namespace_type": tag(space.type_tag()),
                "quota_limit": 0,
            });
            if let NsKind::MemberHome { member } = space.kind {
                v["team_member_id"] = Value::String(team.members[member].team_member_id.clone());
            }
            v
        })
        .collect()
}

/// `team/namespaces/list`
pub fn namespaces_list(ctx: Ctx, arg: Value) -> Result<Response, ApiError> {
    let arg: LimitArg = ctx.parse(if arg.is_null() { json!({}) } else { arg })?;
    let limit = page_limit(&ctx, arg.limit)?;
    let team = ctx.shared.team.read();
    let cursor = PageCursor {
        kind: "namespaces".into(),
        salt: team.salt,
        offset: 0,
        limit,
        flag: false,
    };
    Ok(paged("namespaces", namespaces(&team), cursor))
}

/// `team/namespaces/list/continue`
pub fn namespaces_continue(ctx: Ctx, arg: Value) -> Result<Response, ApiError> {
    let team = ctx.shared.team.read();
    let cursor = continue_cursor(&ctx, &team, "namespaces", arg)?;
    Ok(paged("namespaces", namespaces(&team), cursor))
}

/// `users/get_current_account` (as the selected member).
pub fn current_account(ctx: Ctx) -> Result<Response, ApiError> {
    let view = ctx.view()?;
    let team = ctx.shared.team.read();
    let m = &team.members[view.actor];
    Ok(ok(&json!({
        "account_id": m.account_id,
        "name": name(m),
        "email": m.email,
        "email_verified": true,
        "disabled": false,
        "country": "US",
        "locale": "en",
        "referral_link": format!("https://www.dropbox.com/referrals/{}", m.account_id.get(5..15).unwrap_or_default()),
        "team": {
            "id": team.info.team_id,
            "name": team.info.name,
            "sharing_policies": sharing_policies(),
            "office_addin_policy": tag("disabled"),
            "top_level_content_policy": tag("admin_only"),
        },
        "team_member_id": m.team_member_id,
        "is_paired": false,
        "account_type": tag("business"),
        "root_info": super::auth::root_info(&team, view.actor),
    })))
}
