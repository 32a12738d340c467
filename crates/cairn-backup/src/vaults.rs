//! Account vaults: one vault per account under `accounts/<account id>` of the configured
//! vault location, opened (or created on first use) with the operator's master key and
//! kept open for the life of the process.

use std::collections::HashMap;
use std::sync::Arc;

use cairn_domain::TypedId;
use cairn_domain::ids::AccountId;
use cairn_vault::crypto::MasterKey;
use cairn_vault::keys::VaultConfig;
use cairn_vault::{Backend, Vault, VaultError};

use crate::error::Result;

/// The prefix of an account's vault inside the vault location.
#[must_use]
pub fn account_prefix(account: AccountId) -> String {
    format!("accounts/{}", account.as_uuid().simple())
}

/// Opens account vaults and caches them. Cheap to clone.
#[derive(Clone)]
pub struct AccountVaults {
    inner: Arc<Inner>,
}

struct Inner {
    root: Backend,
    master: MasterKey,
    config: VaultConfig,
    open: tokio::sync::Mutex<HashMap<AccountId, Vault>>,
}

impl std::fmt::Debug for AccountVaults {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountVaults")
            .field("root", &self.inner.root.description())
            .finish_non_exhaustive()
    }
}

impl AccountVaults {
    /// Vaults under `root` (the configured location), sealed with `master`; new vaults get
    /// the default parameters.
    #[must_use]
    pub fn new(root: Backend, master: MasterKey) -> Self {
        Self::with_config(root, master, VaultConfig::new_default())
    }

    /// As [`AccountVaults::new`], with the parameters new vaults are created with (tests
    /// and benches use smaller packs).
    #[must_use]
    pub fn with_config(root: Backend, master: MasterKey, config: VaultConfig) -> Self {
        Self {
            inner: Arc::new(Inner {
                root,
                master,
                config,
                open: tokio::sync::Mutex::new(HashMap::new()),
            }),
        }
    }

    /// The account's vault with its catalog reloaded from the store, for a backup run:
    /// packs another process's prune marked or deleted since this process opened the
    /// vault are then never deduplicated against (the purge prunes daily).
    ///
    /// # Errors
    /// As [`AccountVaults::vault`].
    pub async fn fresh(&self, account: AccountId) -> Result<Vault> {
        let vault = self.vault(account).await?;
        vault.reload().await?;
        Ok(vault)
    }

    /// The account's vault if it has one (cached or opened now); never creates one, so
    /// purging an account that never backed anything up leaves the store untouched.
    ///
    /// # Errors
    /// Store failures; a vault sealed with another master key.
    pub async fn existing(&self, account: AccountId) -> Result<Option<Vault>> {
        let mut open = self.inner.open.lock().await;
        if let Some(v) = open.get(&account) {
            return Ok(Some(v.clone()));
        }
        let backend = self.inner.root.with_prefix(&account_prefix(account));
        match Vault::open(backend, &self.inner.master).await {
            Ok(vault) => {
                open.insert(account, vault.clone());
                Ok(Some(vault))
            }
            Err(VaultError::NotAVault(_)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// The account's vault: the cached handle, or opened now, or created when there is
    /// none yet. Concurrent first uses (other processes included) agree on one vault.
    ///
    /// # Errors
    /// Store failures; a vault sealed with another master key.
    pub async fn vault(&self, account: AccountId) -> Result<Vault> {
        let mut open = self.inner.open.lock().await;
        if let Some(v) = open.get(&account) {
            return Ok(v.clone());
        }
        let backend = self.inner.root.with_prefix(&account_prefix(account));
        let vault = match Vault::open(backend.clone(), &self.inner.master).await {
            Ok(v) => v,
            Err(VaultError::NotAVault(_)) => {
                match Vault::init_with(backend.clone(), &self.inner.master, &self.inner.config)
                    .await
                {
                    Ok(v) => v,
                    // Another process created it a moment ago.
                    Err(VaultError::AlreadyExists(_)) => {
                        Vault::open(backend, &self.inner.master).await?
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            Err(e) => return Err(e.into()),
        };
        open.insert(account, vault.clone());
        Ok(vault)
    }
}
