//! `/dev/mailbox`: the demo outbox in the browser, so activation and reset links can be
//! followed on a machine without mail. Routed only in demo mode.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use cairn_mail::is_valid_id;

use super::{format_time, render};
use crate::error::{ApiError, WebError};
use crate::extract::IdPath;
use crate::state::AppState;

const LIST_LIMIT: usize = 200;

pub(crate) struct MessageRow {
    id: String,
    sent: String,
    to: String,
    subject: String,
}

#[derive(Template)]
#[template(path = "mailbox.html")]
struct MailboxPage {
    messages: Vec<MessageRow>,
}

/// A run of body text, linked when it is a URL.
pub(crate) struct BodyPart {
    text: String,
    href: Option<String>,
}

#[derive(Template)]
#[template(path = "mailbox_message.html")]
struct MessagePage {
    subject: String,
    from: String,
    to: String,
    sent: String,
    body: Vec<BodyPart>,
}

fn outbox(state: &AppState) -> Result<&cairn_mail::Outbox, ApiError> {
    state.mailer().outbox().ok_or_else(|| {
        ApiError::not_found(
            "mail.no_outbox",
            "Mail is sent by SMTP on this server, so there is no mailbox to show.",
        )
    })
}

pub(crate) async fn list(State(state): State<AppState>) -> Result<Response, ApiError> {
    let messages = outbox(&state)?
        .list(LIST_LIMIT)
        .await
        .map_err(WebError::from)?
        .into_iter()
        .map(|m| MessageRow {
            id: m.id,
            sent: format_time(m.sent_at),
            to: m.to,
            subject: m.subject,
        })
        .collect();
    render(StatusCode::OK, &MailboxPage { messages })
}

pub(crate) async fn show(
    State(state): State<AppState>,
    IdPath(id): IdPath<String>,
) -> Result<Response, ApiError> {
    if !is_valid_id(&id) {
        return Err(ApiError::bad_request(
            "request.invalid_id",
            "That is not a message id.",
        ));
    }
    let message = outbox(&state)?
        .get(&id)
        .await
        .map_err(WebError::from)?
        .ok_or_else(|| ApiError::not_found("mail.not_found", "There is no such message."))?;
    render(
        StatusCode::OK,
        &MessagePage {
            subject: message.subject,
            from: message.from,
            to: message.to,
            sent: format_time(message.sent_at),
            body: linkify(&message.text),
        },
    )
}

/// Splits text into plain runs and `http(s)://` links (a link ends at whitespace).
fn linkify(text: &str) -> Vec<BodyPart> {
    let mut parts = Vec::new();
    let mut rest = text;
    while let Some(start) = ["https://", "http://"]
        .iter()
        .filter_map(|scheme| rest.find(scheme))
        .min()
    {
        if start > 0 {
            parts.push(BodyPart {
                text: rest[..start].to_owned(),
                href: None,
            });
        }
        let link = &rest[start..];
        let end = link.find(char::is_whitespace).unwrap_or(link.len());
        let url = link[..end].trim_end_matches(['.', ',', ')']);
        parts.push(BodyPart {
            text: url.to_owned(),
            href: Some(url.to_owned()),
        });
        rest = &link[url.len()..];
    }
    if !rest.is_empty() {
        parts.push(BodyPart {
            text: rest.to_owned(),
            href: None,
        });
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_found_and_trailing_punctuation_dropped() {
        let parts = linkify("Open http://a.example/x?token=1.\nOr https://b.example, then stop");
        let links: Vec<&str> = parts.iter().filter_map(|p| p.href.as_deref()).collect();
        assert_eq!(links, ["http://a.example/x?token=1", "https://b.example"]);
        let text: String = parts.iter().map(|p| p.text.as_str()).collect();
        assert_eq!(
            text,
            "Open http://a.example/x?token=1.\nOr https://b.example, then stop"
        );
        assert!(linkify("no links").iter().all(|p| p.href.is_none()));
    }
}
