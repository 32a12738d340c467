//! Persisting a Dropbox task's refreshed access token: the connector tells the sink, the
//! sink seals the task's whole token set with the new access token and stores it, so
//! the next run (in any process) starts with a token that still works.

use cairn_domain::SharedClock;
use cairn_domain::ids::{AccountId, TaskId};
use cairn_dropbox::{AccessToken, TokenSet, TokenSink};
use cairn_meta::MetaStore;

use crate::tokens::TokenCipher;

/// Stores a Dropbox task's tokens (sealed) whenever the connector refreshes them.
pub struct DropboxTokenSink {
    store: MetaStore,
    account: AccountId,
    task: TaskId,
    cipher: TokenCipher,
    clock: SharedClock,
    current: parking_lot::Mutex<TokenSet>,
}

impl DropboxTokenSink {
    /// A sink for `task` of `account`, whose stored tokens are `tokens`.
    #[must_use]
    pub fn new(
        store: MetaStore,
        account: AccountId,
        task: TaskId,
        cipher: TokenCipher,
        clock: SharedClock,
        tokens: TokenSet,
    ) -> Self {
        Self {
            store,
            account,
            task,
            cipher,
            clock,
            current: parking_lot::Mutex::new(tokens),
        }
    }
}

impl TokenSink for DropboxTokenSink {
    fn access_token_refreshed(&self, token: &AccessToken) {
        let sealed = {
            let mut current = self.current.lock();
            current.access_token = token.access_token.clone();
            current.expires_at = token.expires_at;
            match self.cipher.seal_json(self.task, &*current) {
                Ok(s) => s,
                Err(e) => {
                    tracing::error!(task = %self.task, "cannot seal refreshed tokens: {e}");
                    return;
                }
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
}
