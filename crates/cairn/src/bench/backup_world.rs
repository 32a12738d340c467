//! What the backup benches share: a SQLite meta store in the bench's temp dir with one
//! account, a connected task of it, and a backup context over a local vault in the same
//! dir (spill files there too).

use std::path::Path;
use std::sync::Arc;

use cairn_backup::{AccountVaults, BackupContext, BackupOptions, TokenCipher};
use cairn_domain::ids::{AccountId, UserId};
use cairn_domain::{
    Account, BackupTask, EmailAddress, Environment, RegionCode, Role, Service, SystemClock,
    TaskSettings, User, UserStatus,
};
use cairn_meta::{ConnectOptions, MetaStore};
use cairn_vault::Backend;
use cairn_vault::crypto::MasterKey;

/// The task a bench backs up, with where it lives.
pub struct BackupWorld {
    pub store: MetaStore,
    pub task: BackupTask,
    pub ctx: BackupContext,
}

/// Creates the store, the account, a `service` task named `name` with `settings` whose
/// sealed token is `tokens`, and the backup context (`options`, spilling into `dir`).
pub async fn backup_world(
    dir: &Path,
    service: Service,
    name: &str,
    settings: TaskSettings,
    tokens: &impl serde::Serialize,
    mut options: BackupOptions,
) -> anyhow::Result<BackupWorld> {
    let url = format!("sqlite://{}", dir.join("cairn.db").display());
    let store = MetaStore::connect(&url, &ConnectOptions::default()).await?;
    let now = chrono::Utc::now();
    let account = Account {
        id: AccountId::new(),
        name: "Bench".into(),
        region: RegionCode::parse("local")?,
        created_at: now,
    };
    let user = User {
        id: UserId::new(),
        account_id: account.id,
        email: EmailAddress::parse("bench@example.com")?,
        name: "Bench".into(),
        role: Role::Primary,
        status: UserStatus::Active,
        created_at: now,
        activated_at: Some(now),
    };
    store
        .directory()
        .create_account(&account, &user, None)
        .await?;
    let task = BackupTask::new(
        account.id,
        service,
        name,
        Environment::Production,
        settings,
        RegionCode::parse("local")?,
        now,
    )?;
    let master = MasterKey::generate();
    let cipher = TokenCipher::new(&master);
    let tasks = store.account(account.id).tasks();
    tasks.create(&task).await?;
    tasks
        .store_token(task.id, &cipher.seal_json(task.id, tokens)?, now)
        .await?;
    let vault_dir = dir.join("vault");
    std::fs::create_dir_all(&vault_dir)?;
    options.segments.spill_dir = Some(dir.to_owned());
    let ctx = BackupContext {
        store: store.clone(),
        vaults: AccountVaults::new(Backend::open(&vault_dir.display().to_string())?, master),
        tokens: cipher,
        clock: Arc::new(SystemClock),
        options,
    };
    Ok(BackupWorld { store, task, ctx })
}
