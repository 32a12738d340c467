//! The running emulator's shared state: the team behind a read-write lock, tokens, blobs,
//! caches, limits, counters and the journal. Every mutation goes through [`Shared::commit`]
//! so that it is journaled and wakes long-polls.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use parking_lot::{Mutex, RwLock};

use super::blobs::BlobStore;
use super::content::GenContent;
use super::generator::TeamSpec;
use super::hashes::HashCache;
use super::limits::{Counters, Limits};
use super::metadata::Rendered;
use super::model::Team;
use super::oauth::PendingLogin;
use super::ops::{Applied, Op};
use super::persist::{Entry, Journal, Stored};
use super::sessions::Sessions;
use super::tokens::{TokenOp, TokenStore};
use super::tree::TreeError;
use crate::dropbox::content::ContentRef;

/// Fixed configuration of a running emulator.
#[derive(Debug, Clone)]
pub struct Config {
    /// What the team was generated from.
    pub spec: TeamSpec,
    /// App key (`client_id`).
    pub app_key: String,
    /// App secret.
    pub app_secret: String,
    /// The long-lived console token.
    pub console_token: String,
    /// Lifetime of access tokens minted by `/oauth2/token`, in seconds.
    pub access_token_ttl: i64,
    /// Upper bound on a long-poll's wait, whatever `timeout` asks (tests).
    pub max_longpoll_wait: Option<Duration>,
    /// Persistence directory (`<data dir>/dropbox`).
    pub persist_dir: Option<PathBuf>,
    /// Number of contents the generator created (later ones come from mutations).
    pub generated_contents: usize,
}

/// Everything the handlers share.
#[derive(Debug)]
pub struct Shared {
    /// The team.
    pub team: RwLock<Team>,
    /// Tokens.
    pub tokens: Mutex<TokenStore>,
    /// Generated contents' hashes.
    pub hashes: HashCache,
    /// Uploaded bytes.
    pub blobs: BlobStore,
    /// Open upload sessions.
    pub sessions: Mutex<Sessions>,
    /// Rate limits, quota and faults.
    pub limits: Limits,
    /// Call counters.
    pub counters: Counters,
    /// The journal, when persisting.
    pub journal: Option<Journal>,
    /// `team.json` contents, when persisting.
    pub stored: Mutex<Option<Stored>>,
    /// Latest change sequence number, for long-polls.
    pub changed: tokio::sync::watch::Sender<u64>,
    /// OAuth logins waiting for consent.
    pub logins: Mutex<HashMap<String, PendingLogin>>,
    /// Fixed configuration.
    pub config: Config,
}

impl Shared {
    /// Applies `op` to `team` (already write-locked by the caller), journals it and wakes
    /// long-polls. Nothing is journaled when the op is refused.
    ///
    /// # Errors
    /// The tree's refusal.
    pub fn commit(&self, team: &mut Team, op: Op) -> Result<Applied, TreeError> {
        let applied = team.apply(&op)?;
        if let Some(journal) = &self.journal
            && let Err(e) = journal.append(&Entry::Team(op))
        {
            tracing::error!(error = %e, "could not append to the Dropbox emulator journal");
        }
        self.changed.send_replace(team.seq);
        Ok(applied)
    }

    /// Applies and journals a token change.
    pub fn commit_token(&self, op: TokenOp) {
        self.tokens.lock().apply(&op);
        if let Some(journal) = &self.journal
            && let Err(e) = journal.append(&Entry::Token(op))
        {
            tracing::error!(error = %e, "could not append to the Dropbox emulator journal");
        }
    }

    /// Generated-content records needed to hash the files among `entries`.
    #[must_use]
    pub fn contents_for(team: &Team, entries: &[Rendered]) -> HashMap<u64, GenContent> {
        entries
            .iter()
            .filter_map(|e| match e.content {
                Some(ContentRef::Generated { id }) => team.gen_content(id).map(|c| (id, *c)),
                _ => None,
            })
            .collect()
    }

    /// Fills in `content_hash` for rendered entries (call without holding the team lock).
    pub async fn fill_hashes(&self, entries: &mut [Rendered], contents: &HashMap<u64, GenContent>) {
        self.hashes.fill(entries, contents).await;
    }
}
