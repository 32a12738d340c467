//! Task OAuth tokens at rest, sealed exactly as the portal seals them when a task is
//! connected: AES-256-GCM under the key the operator's master key derives for
//! [`TASK_TOKENS_CONTEXT`], bound to the task by [`task_token_aad`], over the token
//! set's JSON. Backup runs open them, and persist refreshed tokens through
//! [`MetaTokenSink`].

use std::sync::Arc;

use cairn_domain::SharedClock;
use cairn_domain::ids::{AccountId, TaskId};
use cairn_meta::MetaStore;
use cairn_salesforce::{TokenSet, TokenSink};
use cairn_vault::crypto::{MasterKey, SubKey, TASK_TOKENS_CONTEXT, task_token_aad};
use futures::future::BoxFuture;

use crate::error::{BackupError, Result};

/// Seals and opens task tokens. Cheap to clone.
#[derive(Clone)]
pub struct TokenCipher {
    key: Arc<SubKey>,
}

impl std::fmt::Debug for TokenCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenCipher(<redacted>)")
    }
}

impl TokenCipher {
    /// The installation's cipher: the key `master` derives for task tokens.
    #[must_use]
    pub fn new(master: &MasterKey) -> Self {
        Self::from_key(master.derive(TASK_TOKENS_CONTEXT))
    }

    /// A cipher over an explicit key.
    #[must_use]
    pub fn from_key(key: SubKey) -> Self {
        Self { key: Arc::new(key) }
    }

    /// Seals `tokens` for `task` (the ciphertext only opens for that task).
    ///
    /// # Errors
    /// [`BackupError::Token`] when the tokens cannot be encoded.
    pub fn seal(&self, task: TaskId, tokens: &TokenSet) -> Result<Vec<u8>> {
        self.seal_json(task, tokens)
    }

    /// Opens what [`TokenCipher::seal`] (or the portal) sealed for `task`.
    ///
    /// # Errors
    /// [`BackupError::Token`] for a damaged or foreign ciphertext.
    pub fn open(&self, task: TaskId, sealed: &[u8]) -> Result<TokenSet> {
        let json = self
            .key
            .open(&task_token_aad(task), sealed)
            .map_err(|e| BackupError::Token(format!("the stored token does not open: {e}")))?;
        serde_json::from_slice(&json)
            .map_err(|e| BackupError::Token(format!("the stored token is malformed: {e}")))
    }

    /// Seals any service's token set for `task` (the same sealing as
    /// [`TokenCipher::seal`], for services other than Salesforce).
    ///
    /// # Errors
    /// [`BackupError::Token`] when the tokens cannot be encoded.
    pub fn seal_json<T: serde::Serialize>(&self, task: TaskId, tokens: &T) -> Result<Vec<u8>> {
        let json = serde_json::to_vec(tokens).map_err(|e| BackupError::Token(e.to_string()))?;
        Ok(self.key.seal(&task_token_aad(task), &json))
    }

    /// Opens what [`TokenCipher::seal_json`] produced for `task`.
    ///
    /// # Errors
    /// [`BackupError::Token`] for a damaged, foreign or malformed ciphertext.
    pub fn open_json<T: serde::de::DeserializeOwned>(
        &self,
        task: TaskId,
        sealed: &[u8],
    ) -> Result<T> {
        let json = self
            .key
            .open(&task_token_aad(task), sealed)
            .map_err(|e| BackupError::Token(format!("the stored token does not open: {e}")))?;
        serde_json::from_slice(&json)
            .map_err(|e| BackupError::Token(format!("the stored token is malformed: {e}")))
    }
}

/// Persists a task's refreshed tokens (sealed) and reads them back for the connector's
/// session, so every worker of every process sees the newest refresh token.
pub struct MetaTokenSink {
    store: MetaStore,
    account: AccountId,
    task: TaskId,
    cipher: TokenCipher,
    clock: SharedClock,
}

impl MetaTokenSink {
    /// A sink for `task` of `account`.
    #[must_use]
    pub fn new(
        store: MetaStore,
        account: AccountId,
        task: TaskId,
        cipher: TokenCipher,
        clock: SharedClock,
    ) -> Self {
        Self {
            store,
            account,
            task,
            cipher,
            clock,
        }
    }
}

impl TokenSink for MetaTokenSink {
    fn tokens_refreshed(&self, tokens: &TokenSet) {
        let sealed = match self.cipher.seal(self.task, tokens) {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(task = %self.task, "cannot seal refreshed tokens: {e}");
                return;
            }
        };
        let store = self.store.clone();
        let (account, task, at) = (self.account, self.task, self.clock.now());
        // Must return quickly: the write happens beside the refresh.
        tokio::spawn(async move {
            if let Err(e) = store
                .account(account)
                .tasks()
                .store_token(task, &sealed, at)
                .await
            {
                tracing::warn!(%task, "cannot persist refreshed tokens: {e}");
            }
        });
    }

    fn stored_tokens(&self) -> BoxFuture<'_, Option<TokenSet>> {
        Box::pin(async move {
            let sealed = self
                .store
                .account(self.account)
                .tasks()
                .token(self.task)
                .await
                .ok()
                .flatten()?;
            self.cipher.open(self.task, &sealed).ok()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_salesforce::{Environment, Secret};

    fn tokens() -> TokenSet {
        TokenSet {
            access_token: Secret::new("00Dxx!access".to_owned()),
            refresh_token: Some(Secret::new("refresh".to_owned())),
            instance_url: "https://example.my.salesforce.com".into(),
            id_url: "https://login/id/00D/005".into(),
            org_id: "00D000000000001AAA".into(),
            user_id: "005000000000001AAA".into(),
            issued_at_ms: 1,
            scopes: vec!["api".into()],
            environment: Environment::Production,
        }
    }

    #[test]
    fn tokens_round_trip_and_only_open_for_their_task() {
        let master = MasterKey::generate();
        let cipher = TokenCipher::new(&master);
        let task = TaskId::new();
        let sealed = cipher.seal(task, &tokens()).unwrap();
        assert_eq!(cipher.open(task, &sealed).unwrap(), tokens());
        // The portal's sealing: the master key's task-token key over the JSON.
        let portal = master.derive(TASK_TOKENS_CONTEXT).seal(
            &task_token_aad(task),
            &serde_json::to_vec(&tokens()).unwrap(),
        );
        assert_eq!(cipher.open(task, &portal).unwrap(), tokens());
        assert!(cipher.open(TaskId::new(), &sealed).is_err());
        let other = TokenCipher::new(&MasterKey::generate());
        assert!(other.open(task, &sealed).is_err());
        let mut damaged = sealed.clone();
        let last = damaged.len() - 1;
        damaged[last] ^= 1;
        assert!(cipher.open(task, &damaged).is_err());
    }
}
