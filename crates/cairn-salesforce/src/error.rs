//! [`SalesforceError`], the crate's one error type, and how Salesforce's error bodies map
//! onto it (research note §1.6, §1.8, §2.8): REST errors are a JSON array of
//! `{"message","errorCode"}`, OAuth errors are `{"error","error_description"}`.

use serde_json::Value;

/// What kind of failure, for callers deciding what to do next (task and run status).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The org must be re-authorized: the task is Disconnected.
    Disconnected,
    /// The task's share of the daily API allowance is used up: the run is Partial and the
    /// next run continues from the last checkpoint.
    BudgetExhausted,
    /// The record, blob or job does not exist (any more).
    NotFound,
    /// Salesforce or the network kept failing past the retry budget; try again later.
    Unavailable,
    /// The admin refused consent, or the OAuth callback was not ours.
    AuthorizationFailed,
    /// Anything else: bad input, unexpected answers, configuration.
    Other,
}

/// Everything that can go wrong talking to Salesforce.
#[derive(Debug, thiserror::Error)]
pub enum SalesforceError {
    /// A bad configuration value.
    #[error("invalid Salesforce connector configuration: {0}")]
    Config(String),
    /// The admin clicked Deny on the consent page (`error=access_denied`).
    #[error("Salesforce access was denied: {description}")]
    AccessDenied {
        /// `error_description` from the redirect.
        description: String,
    },
    /// The OAuth callback's `state` is missing or is not the one this flow sent: the
    /// callback is not an answer to our request (CSRF) and is ignored.
    #[error("the OAuth callback's state does not match the request; start the connection again")]
    StateMismatch,
    /// The token endpoint refused (bad or used code, PKCE verifier mismatch, bad client).
    #[error("Salesforce OAuth error {error}: {description}")]
    OAuth {
        /// RFC 6749 `error` (`invalid_grant`, `invalid_request`, …).
        error: String,
        /// `error_description`.
        description: String,
    },
    /// The token answer's `signature` does not verify with the client secret (§1.5).
    #[error("the Salesforce token answer has an invalid signature")]
    BadSignature,
    /// The org is no longer authorized: the refresh token was refused (`invalid_grant`)
    /// or the session stays invalid after a refresh. An admin must re-authenticate.
    #[error(
        "the Salesforce connection is no longer authorized ({reason}); re-authenticate the task"
    )]
    Disconnected {
        /// What Salesforce said.
        reason: String,
    },
    /// The task's daily API budget is used up (or the org's whole allowance is).
    #[error(
        "API budget exhausted: {used} of {max} daily API requests used, the task may use {limit_percent}%{}",
        if *.org_limit { " (Salesforce refused further calls: TotalRequests Limit exceeded)" } else { "" }
    )]
    BudgetExhausted {
        /// Requests used in the rolling 24 hours, as last reported.
        used: u64,
        /// The org's daily allowance.
        max: u64,
        /// The task's share of it, in percent.
        limit_percent: u8,
        /// Salesforce itself refused with `REQUEST_LIMIT_EXCEEDED` `TotalRequests`.
        org_limit: bool,
    },
    /// A REST error answer, kept whole.
    #[error("{path}: Salesforce answered {status} {code}: {message}")]
    Api {
        /// Request path.
        path: String,
        /// HTTP status.
        status: u16,
        /// `errorCode` of the first error item.
        code: String,
        /// `message` of the first error item.
        message: String,
    },
    /// Salesforce kept answering 5xx (or throttling) past the retry budget.
    #[error("{path}: Salesforce answered {status} after {attempts} attempts: {message}")]
    Server {
        /// Request path.
        path: String,
        /// Last status.
        status: u16,
        /// Last body (trimmed).
        message: String,
        /// Calls made.
        attempts: u32,
    },
    /// The request could not be completed (connection, TLS, timeout) after retries.
    #[error("{path}: request failed after {attempts} attempts")]
    Transport {
        /// Request path.
        path: String,
        /// Calls made.
        attempts: u32,
        /// The last failure.
        #[source]
        source: reqwest::Error,
    },
    /// A Bulk API 2.0 job ended `Failed` or `Aborted`.
    #[error("Bulk API job {job_id} ended {state}: {message}")]
    BulkJob {
        /// `750…`.
        job_id: String,
        /// Final state.
        state: String,
        /// `errorMessage`.
        message: String,
    },
    /// A SOAP call failed (Metadata API or partner API): a fault, or an unsuccessful
    /// retrieve.
    #[error("SOAP call {operation} failed: {message}")]
    Soap {
        /// `listMetadata`, `retrieve`, `undelete`, …
        operation: String,
        /// The fault or error message.
        message: String,
    },
    /// An asynchronous job did not finish in the allowed time.
    #[error("{what} did not finish within {seconds} s")]
    Timeout {
        /// What was awaited.
        what: String,
        /// The limit.
        seconds: u64,
    },
    /// Salesforce answered something this crate cannot make sense of.
    #[error("{path}: unexpected answer from Salesforce: {message}")]
    Protocol {
        /// Request path.
        path: String,
        /// What was wrong.
        message: String,
    },
}

impl SalesforceError {
    /// What kind of failure this is.
    #[must_use]
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Disconnected { .. } => ErrorKind::Disconnected,
            Self::BudgetExhausted { .. } => ErrorKind::BudgetExhausted,
            Self::Api { status: 404, .. } => ErrorKind::NotFound,
            Self::Api { code, .. } if code == "NOT_FOUND" || code == "ENTITY_IS_DELETED" => {
                ErrorKind::NotFound
            }
            Self::Server { .. } | Self::Transport { .. } | Self::Timeout { .. } => {
                ErrorKind::Unavailable
            }
            Self::AccessDenied { .. } | Self::StateMismatch | Self::BadSignature => {
                ErrorKind::AuthorizationFailed
            }
            Self::OAuth { .. }
            | Self::Config(_)
            | Self::Api { .. }
            | Self::BulkJob { .. }
            | Self::Soap { .. }
            | Self::Protocol { .. } => ErrorKind::Other,
        }
    }

    /// Whether the task must be re-authenticated.
    #[must_use]
    pub fn is_disconnected(&self) -> bool {
        self.kind() == ErrorKind::Disconnected
    }

    /// Whether the run must stop for the API budget (mark it Partial, continue later).
    #[must_use]
    pub fn is_budget_exhausted(&self) -> bool {
        self.kind() == ErrorKind::BudgetExhausted
    }

    /// The `errorCode` of an API error.
    #[must_use]
    pub fn error_code(&self) -> Option<&str> {
        match self {
            Self::Api { code, .. } => Some(code),
            _ => None,
        }
    }

    pub(crate) fn protocol(path: &str, message: impl Into<String>) -> Self {
        Self::Protocol {
            path: path.to_owned(),
            message: message.into(),
        }
    }
}

/// The first `{"errorCode","message"}` of a REST error body (an array; Bulk and some
/// endpoints send a single object).
pub(crate) fn first_error(body: &str) -> Option<(String, String)> {
    let v: Value = serde_json::from_str(body).ok()?;
    let item = match &v {
        Value::Array(items) => items.first()?,
        Value::Object(_) => &v,
        _ => return None,
    };
    let code = item
        .get("errorCode")
        .or_else(|| item.get("statusCode"))
        .and_then(Value::as_str)?;
    let message = item.get("message").and_then(Value::as_str).unwrap_or("");
    Some((code.to_owned(), message.to_owned()))
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

    #[test]
    fn error_bodies_yield_their_first_code() {
        let body = r#"[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]"#;
        assert_eq!(
            first_error(body),
            Some((
                "INVALID_SESSION_ID".into(),
                "Session expired or invalid".into()
            ))
        );
        assert_eq!(
            first_error(r#"{"errorCode":"JOB_NOT_COMPLETE","message":"x"}"#).map(|e| e.0),
            Some("JOB_NOT_COMPLETE".into())
        );
        assert_eq!(first_error("<html>"), None);
        assert_eq!(first_error("[]"), None);
    }

    #[test]
    fn kinds_classify() {
        let api = |status, code: &str| SalesforceError::Api {
            path: "/x".into(),
            status,
            code: code.into(),
            message: String::new(),
        };
        assert_eq!(api(404, "NOT_FOUND").kind(), ErrorKind::NotFound);
        assert_eq!(api(400, "MALFORMED_QUERY").kind(), ErrorKind::Other);
        assert!(SalesforceError::Disconnected { reason: "x".into() }.is_disconnected());
        let b = SalesforceError::BudgetExhausted {
            used: 75,
            max: 100,
            limit_percent: 75,
            org_limit: false,
        };
        assert!(b.is_budget_exhausted());
        assert!(b.to_string().contains("75 of 100"));
    }

    #[test]
    fn excerpts_cut_on_char_boundaries() {
        let long = "é".repeat(400);
        let e = excerpt(&long);
        assert!(e.ends_with('…') && e.len() < 310);
    }
}
