//! `/dev/mailbox`: the demo outbox in the browser, so activation and reset links can be
//! followed on a machine without mail. Routed only in demo mode.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

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
    attachments: Vec<AttachmentRow>,
}

/// An attached file, linked for download.
pub(crate) struct AttachmentRow {
    href: String,
    filename: String,
    size: String,
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

async fn message(state: &AppState, id: &str) -> Result<cairn_mail::StoredMail, ApiError> {
    if !is_valid_id(id) {
        return Err(ApiError::bad_request(
            "request.invalid_id",
            "That is not a message id.",
        ));
    }
    outbox(state)?
        .get(id)
        .await
        .map_err(WebError::from)?
        .ok_or_else(|| ApiError::not_found("mail.not_found", "There is no such message."))
}

pub(crate) async fn show(
    State(state): State<AppState>,
    IdPath(id): IdPath<String>,
) -> Result<Response, ApiError> {
    let message = message(&state, &id).await?;
    let attachments = message
        .attachments
        .iter()
        .enumerate()
        .map(|(n, a)| AttachmentRow {
            href: format!("/dev/mailbox/{id}/attachments/{n}"),
            filename: a.filename.clone(),
            size: super::tasks::human_bytes(a.content.len() as u64),
        })
        .collect();
    render(
        StatusCode::OK,
        &MessagePage {
            subject: message.subject,
            from: message.from,
            to: message.to,
            sent: format_time(message.sent_at),
            body: linkify(&message.text),
            attachments,
        },
    )
}

/// One attached file, as a download.
pub(crate) async fn attachment(
    State(state): State<AppState>,
    Path((id, n)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let message = message(&state, &id).await?;
    let file = n
        .parse::<usize>()
        .ok()
        .and_then(|n| message.attachments.into_iter().nth(n))
        .ok_or_else(|| {
            ApiError::not_found("mail.no_attachment", "The message has no such attachment.")
        })?;
    // The name came from Cairn itself, but keep the header well-formed whatever it is.
    let safe_name: String = file
        .filename
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{safe_name}\""))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment"));
    let content_type = HeaderValue::from_str(&file.content_type)
        .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"));
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        file.content,
    )
        .into_response())
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
