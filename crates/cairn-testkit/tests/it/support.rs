//! Shared assertions.

use cairn_domain::EmailAddress;
use cairn_domain::event::{Event, EventOutcome};
use cairn_meta::EventQuery;
use cairn_testkit::TestApp;
use reqwest::Response;

/// The `Location` header.
pub fn location(response: &Response) -> String {
    response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// Every `Set-Cookie` header.
pub fn set_cookies(response: &Response) -> Vec<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(str::to_owned)
        .collect()
}

/// The account's events, oldest first, as (code, outcome, reason) triples.
pub async fn audit_trail(app: &TestApp, email: &str) -> Vec<(String, EventOutcome, String)> {
    let email = EmailAddress::parse(email).unwrap();
    let user = app
        .store()
        .directory()
        .find_user_by_email(&email)
        .await
        .unwrap()
        .expect("user exists");
    let page = app
        .store()
        .account(user.user.account_id)
        .events()
        .list(&EventQuery {
            limit: 500,
            ..EventQuery::default()
        })
        .await
        .unwrap();
    page.events
        .iter()
        .rev()
        .map(|e: &Event| {
            (
                e.kind.code().to_owned(),
                e.outcome,
                e.details
                    .get("reason")
                    .and_then(|r| r.as_str())
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect()
}

/// The error code shown on an HTML error page or in a JSON error.
pub fn error_code(body: &str) -> String {
    if let Ok(json) = serde_json::from_str::<serde_json::Value>(body) {
        return json["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
    }
    let marker = "<code>";
    let start = body.find(marker).map(|i| i + marker.len()).unwrap_or(0);
    let end = body[start..].find("</code>").map_or(start, |i| start + i);
    body[start..end].to_owned()
}
