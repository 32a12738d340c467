//! Turning a session cookie into a signed-in user, enforcing idle and absolute expiry.

use chrono::Duration;

use cairn_domain::auth::SessionState;
use cairn_meta::SessionRecord;

use super::Auth;
use crate::error::WebError;
use crate::security::tokens;

/// Writes of `last_seen_at` are skipped when the previous one is this recent: idle expiry
/// is measured in minutes, and a write per request would serialise reads on SQLite.
const TOUCH_INTERVAL: Duration = Duration::seconds(60);

/// What a session cookie turned out to be.
#[derive(Debug, Clone, PartialEq)]
pub enum SessionCheck {
    /// A live session.
    Valid(Box<SessionRecord>),
    /// The cookie named a session that has expired or whose user can no longer sign in;
    /// the session has been deleted.
    Expired,
    /// No such session (or a malformed cookie).
    Unknown,
}

impl Auth<'_> {
    /// Checks the session named by a cookie value and records activity on it.
    ///
    /// # Errors
    /// Store failures.
    pub async fn check_session(&self, cookie_token: &str) -> Result<SessionCheck, WebError> {
        if !tokens::looks_valid(cookie_token) {
            return Ok(SessionCheck::Unknown);
        }
        let sessions = self.state.store().sessions();
        let Some(session) = sessions
            .find_by_token_hash(&tokens::hash(cookie_token))
            .await?
        else {
            return Ok(SessionCheck::Unknown);
        };
        let now = self.state.clock().now();
        let policy = self.state.settings().auth.session_policy();
        let state = policy.state(session.created_at, session.last_seen_at, now);
        if state != SessionState::Active || !session.user.can_sign_in() {
            sessions.delete(session.id).await?;
            return Ok(SessionCheck::Expired);
        }
        if now - session.last_seen_at >= TOUCH_INTERVAL {
            sessions.touch(session.id, now).await?;
        }
        Ok(SessionCheck::Valid(Box::new(session)))
    }
}
