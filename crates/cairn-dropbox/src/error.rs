//! [`DropboxError`], the crate's one error type, and how Dropbox's error bodies map onto
//! it (research note §1.3, §6): switch on `error[".tag"]`, never on `error_summary`, and
//! keep the summary for messages.

use std::time::Duration;

use serde_json::Value;

/// What kind of failure, for callers deciding what to do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The team must re-authorize the app (revoked, invalid token, `invalid_grant`).
    Disconnected,
    /// One member cannot be acted as (suspended, removed, not an admin): skip them.
    MemberUnavailable,
    /// The app was not granted a scope it needs.
    MissingScope,
    /// A listing cursor is no longer valid: list again from scratch and reconcile.
    CursorReset,
    /// The path, file, revision or namespace does not exist (any more).
    NotFound,
    /// Rate limited for longer than the policy allows to wait.
    RateLimited,
    /// Dropbox or the network kept failing (5xx, timeouts, resets) past the retry budget.
    Unavailable,
    /// Downloaded bytes do not match the listed `content_hash` or size.
    ContentMismatch,
    /// The team's monthly data-transport quota is used up (uploads only).
    QuotaExceeded,
    /// Anything else: bad input, unexpected answers, configuration.
    Other,
}

/// Why a member cannot be acted as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberUnavailableReason {
    /// `user_suspended`.
    Suspended,
    /// `invalid_select_user`: no longer on the team (or never joined).
    NotOnTeam,
    /// `invalid_select_admin`: the member acting as admin is not an active admin.
    NotAdmin,
}

impl std::fmt::Display for MemberUnavailableReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Suspended => "the member is suspended",
            Self::NotOnTeam => "the member is not on the team",
            Self::NotAdmin => "the member is not an active team admin",
        })
    }
}

/// A JSON error answer from Dropbox, kept whole.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiFailure {
    /// Route, e.g. `files/download`.
    pub route: String,
    /// HTTP status.
    pub status: u16,
    /// The `.tag` chain of `error`, outermost first (`["path", "not_found"]`).
    pub tags: Vec<String>,
    /// `error_summary` (for people; never parsed).
    pub summary: String,
    /// `user_message.text`, when Dropbox sent one.
    pub user_message: Option<String>,
    /// `X-Dropbox-Request-Id`, for Dropbox support.
    pub request_id: Option<String>,
    /// The `error` value as sent (details such as `correct_offset`).
    pub error: Value,
}

/// Everything that can go wrong talking to Dropbox.
#[derive(Debug, thiserror::Error)]
pub enum DropboxError {
    /// The app is no longer linked: the refresh token was revoked or is invalid, or the
    /// access token is invalid. A team admin must connect the app again.
    #[error(
        "the Dropbox connection is no longer authorized ({reason}); a team admin must reconnect the app"
    )]
    Disconnected {
        /// What Dropbox said.
        reason: String,
    },
    /// A member cannot be acted as (Select-User / Select-Admin refused).
    #[error("member {team_member_id} cannot be accessed: {reason}")]
    MemberUnavailable {
        /// `dbmid:…`
        team_member_id: String,
        /// Why.
        reason: MemberUnavailableReason,
    },
    /// The app lacks a scope.
    #[error(
        "the Dropbox app was not granted the scope {scope:?}; reconnect it with that scope enabled"
    )]
    MissingScope {
        /// The scope Dropbox asked for.
        scope: String,
    },
    /// `list_folder/continue` answered `reset`: the cursor is gone.
    #[error("Dropbox reset the listing cursor; the entity must be listed again from scratch")]
    CursorReset,
    /// A route error (409), access error (403), path-root error (422) or other JSON error
    /// with Dropbox's own tags and summary.
    #[error("{}: Dropbox answered {}: {}", .0.route, .0.status, .0.summary)]
    Api(Box<ApiFailure>),
    /// A 401 other than the ones above (`route_access_denied`, unknown tags).
    #[error("{route}: Dropbox refused the call: {summary}")]
    Unauthorized {
        /// Route.
        route: String,
        /// The `AuthError` tag.
        tag: String,
        /// `error_summary`.
        summary: String,
    },
    /// Still rate limited after the allowed retries, or asked to wait longer than allowed.
    #[error(
        "{route}: rate limited by Dropbox after {attempts} attempts (asked to wait {retry_after:?})"
    )]
    RateLimited {
        /// Route.
        route: String,
        /// The last wait Dropbox asked for.
        retry_after: Duration,
        /// Calls made.
        attempts: u32,
    },
    /// Dropbox kept answering 5xx.
    #[error("{route}: Dropbox answered {status} after {attempts} attempts: {message}")]
    Server {
        /// Route.
        route: String,
        /// Last status.
        status: u16,
        /// Last body (trimmed).
        message: String,
        /// Calls made.
        attempts: u32,
    },
    /// The request could not be completed (connection, TLS, timeout) after retries.
    #[error("{route}: request failed after {attempts} attempts")]
    Transport {
        /// Route.
        route: String,
        /// Calls made.
        attempts: u32,
        /// The last failure.
        #[source]
        source: reqwest::Error,
    },
    /// A 400: Dropbox rejected the request as malformed (plain-text reason).
    #[error("{route}: Dropbox rejected the request: {message}")]
    BadRequest {
        /// Route.
        route: String,
        /// The plain-text body.
        message: String,
    },
    /// The OAuth token endpoint refused (other than `invalid_grant`, which is
    /// [`DropboxError::Disconnected`]).
    #[error("Dropbox OAuth error {error}: {description}")]
    OAuth {
        /// RFC 6749 `error`.
        error: String,
        /// `error_description`.
        description: String,
    },
    /// Downloaded bytes do not hash to the listed `content_hash`.
    #[error("content of {path} does not match its content_hash: expected {expected}, got {actual}")]
    ContentHashMismatch {
        /// Display path.
        path: String,
        /// Listed hash.
        expected: String,
        /// Hash of the bytes received.
        actual: String,
    },
    /// Downloaded bytes do not add up to the listed size.
    #[error("content of {path} has {actual} bytes, {expected} were listed")]
    SizeMismatch {
        /// Display path.
        path: String,
        /// Listed size.
        expected: u64,
        /// Bytes received.
        actual: u64,
    },
    /// A download kept breaking off (dropped connections, stalls) past the resume budget.
    #[error("download of {path} broke off after {received} bytes: {reason}")]
    DownloadInterrupted {
        /// Display path.
        path: String,
        /// Bytes received and verified so far.
        received: u64,
        /// The last failure.
        reason: String,
    },
    /// Reading the content to upload failed.
    #[error("reading the content to upload failed")]
    Input {
        /// The reader's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Dropbox answered something this crate cannot make sense of.
    #[error("{route}: unexpected answer from Dropbox: {message}")]
    Protocol {
        /// Route.
        route: String,
        /// What was wrong.
        message: String,
    },
    /// A bad configuration value.
    #[error("invalid Dropbox connector configuration: {0}")]
    Config(String),
}

impl DropboxError {
    /// What kind of failure this is.
    #[must_use]
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Disconnected { .. } => ErrorKind::Disconnected,
            Self::MemberUnavailable { .. } => ErrorKind::MemberUnavailable,
            Self::MissingScope { .. } => ErrorKind::MissingScope,
            Self::CursorReset => ErrorKind::CursorReset,
            Self::Api(failure) => {
                let (status, tags) = (failure.status, &failure.tags);
                let has = |t: &str| tags.iter().any(|x| x == t);
                if status == 403 && has("invalid_account_type") {
                    ErrorKind::QuotaExceeded
                } else if has("not_found") || (status == 422 && has("no_permission")) {
                    ErrorKind::NotFound
                } else {
                    ErrorKind::Other
                }
            }
            Self::RateLimited { .. } => ErrorKind::RateLimited,
            Self::Server { .. } | Self::Transport { .. } | Self::DownloadInterrupted { .. } => {
                ErrorKind::Unavailable
            }
            Self::ContentHashMismatch { .. } | Self::SizeMismatch { .. } => {
                ErrorKind::ContentMismatch
            }
            Self::Unauthorized { .. }
            | Self::BadRequest { .. }
            | Self::OAuth { .. }
            | Self::Protocol { .. }
            | Self::Input { .. }
            | Self::Config(_) => ErrorKind::Other,
        }
    }

    /// Whether the team must reconnect the app.
    #[must_use]
    pub fn is_disconnected(&self) -> bool {
        self.kind() == ErrorKind::Disconnected
    }

    /// Whether a write met something already there (`…/conflict/…`).
    #[must_use]
    pub fn is_conflict(&self) -> bool {
        self.tags().iter().any(|t| t == "conflict")
    }

    /// Whether the thing asked for is gone (e.g. a file deleted since it was listed).
    #[must_use]
    pub fn is_not_found(&self) -> bool {
        self.kind() == ErrorKind::NotFound
    }

    /// The JSON error answer, for [`DropboxError::Api`].
    #[must_use]
    pub fn api_failure(&self) -> Option<&ApiFailure> {
        match self {
            Self::Api(failure) => Some(failure),
            _ => None,
        }
    }

    /// The `.tag` chain of a JSON API error (empty otherwise).
    #[must_use]
    pub fn tags(&self) -> &[String] {
        match self {
            Self::Api(failure) => &failure.tags,
            _ => &[],
        }
    }

    pub(crate) fn protocol(route: &str, message: impl Into<String>) -> Self {
        Self::Protocol {
            route: route.to_owned(),
            message: message.into(),
        }
    }
}

/// The `.tag` chain of a union value: `{".tag":"path","path":{".tag":"not_found"}}` gives
/// `["path", "not_found"]`. Structs on the way are looked through by their `reason`
/// (upload errors: `{".tag":"path","reason":{".tag":"conflict",…}}` gives
/// `["path", "conflict", …]`), as is a 429's top-level `{"reason": {".tag": …}}`.
pub(crate) fn tag_chain(error: &Value) -> Vec<String> {
    fn tagged(v: &Value) -> bool {
        v.get(".tag").is_some()
    }
    fn reason_of(v: &Value) -> Option<&Value> {
        v.get("reason").filter(|r| tagged(r))
    }
    let mut tags = Vec::new();
    let mut at = if tagged(error) {
        error
    } else {
        match reason_of(error) {
            Some(r) => r,
            None => return tags,
        }
    };
    while let Some(tag) = at.get(".tag").and_then(Value::as_str) {
        tags.push(tag.to_owned());
        let next = match at.get(tag) {
            Some(inner) if tagged(inner) => Some(inner),
            Some(inner) => reason_of(inner),
            None => reason_of(at),
        };
        match next {
            Some(n) => at = n,
            None => break,
        }
    }
    tags
}

/// Trims a text body for an error message.
pub(crate) fn excerpt(text: &str) -> String {
    const MAX: usize = 300;
    let text = text.trim();
    if text.len() <= MAX {
        return text.to_owned();
    }
    let mut end = MAX;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tag_chains_follow_nested_unions() {
        let e = json!({".tag": "path", "path": {".tag": "not_found"}});
        assert_eq!(tag_chain(&e), ["path", "not_found"]);
        let flat = json!({".tag": "incorrect_offset", "correct_offset": 5});
        assert_eq!(tag_chain(&flat), ["incorrect_offset"]);
        let rate = json!({"reason": {".tag": "too_many_requests"}, "retry_after": 3});
        assert_eq!(tag_chain(&rate), ["too_many_requests"]);
        assert!(tag_chain(&json!("x")).is_empty());
        let upload = json!({".tag": "path", "reason": {".tag": "conflict", "conflict": {".tag": "file"}}, "upload_session_id": ""});
        assert_eq!(tag_chain(&upload), ["path", "conflict", "file"]);
        let nested = json!({".tag": "path", "path": {"reason": {".tag": "no_write_permission"}}});
        assert_eq!(tag_chain(&nested), ["path", "no_write_permission"]);
    }

    #[test]
    fn kinds_classify_api_errors() {
        let api = |status, tags: &[&str]| {
            DropboxError::Api(Box::new(ApiFailure {
                route: "files/download".into(),
                status,
                tags: tags.iter().map(|s| (*s).to_owned()).collect(),
                summary: String::new(),
                user_message: None,
                request_id: None,
                error: Value::Null,
            }))
        };
        assert!(api(409, &["path", "not_found"]).is_not_found());
        assert_eq!(
            api(403, &["invalid_account_type", "feature"]).kind(),
            ErrorKind::QuotaExceeded
        );
        assert_eq!(api(409, &["path", "conflict"]).kind(), ErrorKind::Other);
        assert!(DropboxError::Disconnected { reason: "x".into() }.is_disconnected());
    }

    #[test]
    fn excerpts_cut_on_char_boundaries() {
        let long = "é".repeat(400);
        let e = excerpt(&long);
        assert!(e.ends_with('…') && e.len() < 310);
        assert_eq!(excerpt("  short \n"), "short");
    }
}
