//! `/activity`: the account's security-audit trail (F-ACT-2), newest first, paged with
//! htmx ("Show older events" appends the next page in place).

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use cairn_domain::event::{Event, EventCategory, EventOutcome};
use cairn_domain::ids::EventId;
use cairn_meta::{EventCursor, EventQuery};

use super::chrome::{Chrome, Section};
use super::{format_time, render};
use crate::error::ApiError;
use crate::extract::PortalSession;
use crate::security::origin::describe_user_agent;
use crate::state::AppState;

const PAGE_SIZE: u32 = 50;

pub(crate) struct Row {
    time: String,
    event: String,
    outcome: &'static str,
    outcome_class: &'static str,
    user: String,
    details: String,
    ip: String,
    browser: String,
}

#[derive(Template)]
#[template(path = "activity.html")]
struct ActivityPage {
    chrome: Chrome,
    rows: Vec<Row>,
    more_href: Option<String>,
}

#[derive(Template)]
#[template(path = "activity_rows.html")]
struct ActivityRows {
    rows: Vec<Row>,
    more_href: Option<String>,
}

fn reason_text(reason: &str) -> String {
    match reason {
        "wrong_password" => "wrong password".to_owned(),
        "unknown_email" => "unknown email".to_owned(),
        "throttled" => "blocked after too many failures".to_owned(),
        "not_activated" => "account not activated".to_owned(),
        "disabled" => "user disabled".to_owned(),
        "invalid_or_expired_link" => "invalid or expired link".to_owned(),
        "email_taken" => "email already registered".to_owned(),
        "wrong_current_password" => "wrong current password".to_owned(),
        other => other.replace('_', " "),
    }
}

fn details_text(event: &Event) -> String {
    let mut parts = Vec::new();
    for (key, value) in &event.details {
        let text = match value {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        parts.push(match key.as_str() {
            "method" if text == "password" => "Email and password".to_owned(),
            "reason" => reason_text(&text),
            "limit" => format!("limit: {text}"),
            "other_sessions_ended" => format!("other sessions ended: {text}"),
            _ => format!("{}: {text}", key.replace('_', " ")),
        });
    }
    parts.join(" · ")
}

fn row(event: &Event) -> Row {
    let (outcome, outcome_class) = match event.outcome {
        EventOutcome::Success => ("Succeeded", "success"),
        EventOutcome::Failure => ("Failed", "failure"),
    };
    Row {
        time: format_time(event.occurred_at),
        event: event.kind.label().to_owned(),
        outcome,
        outcome_class,
        user: event.actor_email.clone().unwrap_or_default(),
        details: details_text(event),
        ip: event.origin.ip.clone().unwrap_or_default(),
        browser: event
            .origin
            .user_agent
            .as_deref()
            .map(describe_user_agent)
            .unwrap_or_default(),
    }
}

/// `<time>~<event id>`: the cursor of the last listed event.
fn encode_cursor(cursor: EventCursor) -> String {
    format!(
        "{}~{}",
        cursor.occurred_at.format("%Y-%m-%dT%H:%M:%S%.6fZ"),
        cursor.id
    )
}

fn decode_cursor(text: &str) -> Option<EventCursor> {
    let (at, id) = text.split_once('~')?;
    Some(EventCursor {
        occurred_at: DateTime::parse_from_rfc3339(at).ok()?.with_timezone(&Utc),
        id: id.parse::<EventId>().ok()?,
    })
}

#[derive(Debug, Deserialize)]
pub(crate) struct ActivityQuery {
    before: Option<String>,
}

pub(crate) async fn page(
    State(state): State<AppState>,
    portal: PortalSession,
    headers: HeaderMap,
    Query(query): Query<ActivityQuery>,
) -> Result<Response, ApiError> {
    let before = match query.before.as_deref() {
        Some(text) => Some(decode_cursor(text).ok_or_else(|| {
            ApiError::bad_request(
                "request.invalid_cursor",
                "The page position in the address is not valid.",
            )
        })?),
        None => None,
    };
    let events = state
        .store()
        .account(portal.account.id)
        .events()
        .list(&EventQuery {
            category: Some(EventCategory::Security),
            before,
            limit: PAGE_SIZE,
        })
        .await?;
    let rows: Vec<Row> = events.events.iter().map(row).collect();
    let more_href = events.next.map(|cursor| {
        let encoded: String =
            url::form_urlencoded::byte_serialize(encode_cursor(cursor).as_bytes()).collect();
        format!("/activity?before={encoded}")
    });
    if headers.contains_key("hx-request") {
        return render(StatusCode::OK, &ActivityRows { rows, more_href });
    }
    render(
        StatusCode::OK,
        &ActivityPage {
            chrome: Chrome::new(&state, &portal, Section::Activity),
            rows,
            more_href,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_domain::event::EventKind;

    #[test]
    fn cursors_round_trip() {
        let cursor = EventCursor {
            occurred_at: DateTime::parse_from_rfc3339("2025-06-01T09:00:00.123456Z")
                .unwrap()
                .with_timezone(&Utc),
            id: EventId::new(),
        };
        assert_eq!(decode_cursor(&encode_cursor(cursor)), Some(cursor));
        assert_eq!(decode_cursor("nonsense"), None);
        assert_eq!(decode_cursor("2025-06-01T09:00:00Z~evt_zz"), None);
    }

    #[test]
    fn rows_describe_events_for_people() {
        let event = Event::new(EventKind::SignIn, EventOutcome::Failure, Utc::now())
            .by(None, "ada@example.com")
            .with("method", "password")
            .with("reason", "wrong_password");
        let row = row(&event);
        assert_eq!(row.event, "Sign-in");
        assert_eq!(row.outcome, "Failed");
        assert_eq!(row.details, "Email and password · wrong password");
    }
}
