//! Shared set-up: a small emulated org with a frozen clock, a meta store with one account
//! and a connected Salesforce task (tokens sealed as the portal seals them), account
//! vaults in memory, and comparisons of snapshots with the emulator's dump.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use cairn_backup::pit::{compare, entity_items};
use cairn_backup::{
    AccountVaults, BackupContext, BackupOptions, Progress, RunOutcome, SalesforceBackup,
    TokenCipher,
};
use cairn_domain::ids::{AccountId, UserId};
use cairn_domain::job::LogLevel;
use cairn_domain::{
    Account, BackupTask, EmailAddress, Environment, RegionCode, Role, Service, SystemClock,
    TaskSettings, User, UserStatus,
};
use cairn_emulator::salesforce::{
    self, Environment as EmuEnv, Mutation, MutationOp, Profile, RunningSalesforce,
    SalesforceOptions,
};
use cairn_meta::testing::TestDatabase;
use cairn_meta::{ConnectOptions, MetaStore};
use cairn_salesforce::{
    ApiBudget, DiscardTokens, OrgClient, Pkce, RetryPolicy, SalesforceApp, SalesforceConfig,
    Secret, Session, TokenSet,
};
use cairn_vault::crypto::MasterKey;
use cairn_vault::segments::SegmentOptions;
use cairn_vault::{Backend, SnapshotManifest};
use serde_json::Value;
use tokio::net::TcpListener;
use url::Url;

pub const REDIRECT: &str = "https://cairn.example.com/oauth/salesforce/callback";

/// Everything one test needs.
pub struct World {
    pub sf: RunningSalesforce,
    pub app: SalesforceApp,
    pub tokens: TokenSet,
    pub store: MetaStore,
    pub ctx: BackupContext,
    pub task: BackupTask,
    pub engine: SalesforceBackup,
    _dir: tempfile::TempDir,
}

pub fn options(seed: u64) -> SalesforceOptions {
    SalesforceOptions {
        seed,
        profile: Profile::Small,
        clock_running: false,
        threads: 2,
        ..SalesforceOptions::default()
    }
}

pub fn config(sf: &RunningSalesforce) -> SalesforceConfig {
    let c = sf.credentials();
    let mut config =
        SalesforceConfig::new(c.client_id.clone(), Secret::new(c.client_secret.clone()));
    config.production_login_url = Url::parse(&sf.login_url(EmuEnv::Production)).unwrap();
    config.sandbox_login_url = Url::parse(&sf.login_url(EmuEnv::Sandbox)).unwrap();
    config.ca_pem = sf.ca_pem().map(str::to_owned);
    config.retry = RetryPolicy {
        max_retries: 8,
        backoff_base: Duration::from_millis(2),
        backoff_max: Duration::from_millis(20),
        poll_initial: Duration::from_millis(5),
        poll_max: Duration::from_millis(50),
        poll_timeout: Duration::from_secs(120),
    };
    config
}

fn form(pairs: &[(&str, &str)]) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

/// The admin's browser through the emulator's login and consent pages.
pub async fn connect(sf: &RunningSalesforce, app: &SalesforceApp) -> TokenSet {
    let state = cairn_salesforce::random_state();
    let pkce = Pkce::generate();
    let url = app.authorize_url(
        cairn_salesforce::Environment::Production,
        REDIRECT,
        &state,
        &pkce,
    );
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = http.get(url.clone()).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let c = sf.credentials();
    let mut login: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    login.push(("action".into(), "login".into()));
    login.push(("username".into(), c.username.clone()));
    login.push(("password".into(), c.password.clone()));
    let login_ref: Vec<(&str, &str)> = login
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let mut post_url = url.clone();
    post_url.set_query(None);
    let consent = http
        .post(post_url.clone())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&login_ref))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let pending = consent
        .split("name=\"pending\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_owned();
    let r = http
        .post(post_url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[
            ("action", "consent"),
            ("pending", &pending),
            ("decision", "allow"),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    let location = Url::parse(r.headers()["location"].to_str().unwrap()).unwrap();
    let params: Vec<(String, String)> = location.query_pairs().into_owned().collect();
    let code = SalesforceApp::callback_code(&params, &state).unwrap();
    app.exchange_code(
        cairn_salesforce::Environment::Production,
        &code,
        &pkce,
        REDIRECT,
    )
    .await
    .unwrap()
}

/// A fresh world: org of `seed`, a task (auto-activating, API limit 100 %), connected.
pub async fn world(
    seed: u64,
    tune: impl FnOnce(&mut SalesforceConfig, &mut BackupOptions),
) -> World {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sf = salesforce::start(listener, options(seed)).await.unwrap();
    let mut cfg = config(&sf);
    let mut opts = BackupOptions {
        segments: SegmentOptions {
            parallelism: 2,
            ..SegmentOptions::default()
        },
        ..BackupOptions::default()
    };
    tune(&mut cfg, &mut opts);
    let app = SalesforceApp::new(cfg).unwrap();
    let tokens = connect(&sf, &app).await;

    let dir = tempfile::tempdir().unwrap();
    let db = TestDatabase::sqlite_in(dir.path());
    let store = MetaStore::connect(db.url(), &ConnectOptions::default())
        .await
        .unwrap();
    let account = account(&store).await;
    let task = BackupTask::new(
        account,
        Service::Salesforce,
        "Org",
        Environment::Production,
        TaskSettings {
            auto_activate: true,
            api_limit_percent: 100,
            ..TaskSettings::default()
        },
        RegionCode::parse("local").unwrap(),
        chrono::Utc::now(),
    )
    .unwrap();
    let master = MasterKey::generate();
    let cipher = TokenCipher::new(&master);
    let tasks = store.account(account).tasks();
    tasks.create(&task).await.unwrap();
    tasks
        .store_token(
            task.id,
            &cipher.seal(task.id, &tokens).unwrap(),
            chrono::Utc::now(),
        )
        .await
        .unwrap();
    let vaults = AccountVaults::new(Backend::open("memory://").unwrap(), master);
    let ctx = BackupContext {
        store: store.clone(),
        vaults,
        tokens: cipher,
        clock: Arc::new(SystemClock),
        options: opts,
    };
    let engine = SalesforceBackup::new(app.clone());
    World {
        sf,
        app,
        tokens,
        store,
        ctx,
        task,
        engine,
        _dir: dir,
    }
}

/// A new account with its primary user (Ada).
pub async fn account(store: &MetaStore) -> AccountId {
    let now = chrono::Utc::now();
    let account = Account {
        id: AccountId::new(),
        name: "Acme".into(),
        region: RegionCode::parse("local").unwrap(),
        created_at: now,
    };
    let user = User {
        id: UserId::new(),
        account_id: account.id,
        email: EmailAddress::parse("ada@example.com").unwrap(),
        name: "Ada".into(),
        role: Role::Primary,
        status: UserStatus::Active,
        created_at: now,
        activated_at: Some(now),
    };
    store
        .directory()
        .create_account(&account, &user, None)
        .await
        .unwrap();
    account.id
}

/// Counts progress reports and log lines; stops the run after `stop_after` reports.
#[derive(Default)]
pub struct Recorder {
    pub reports: AtomicU64,
    pub stop_after: Option<u64>,
    pub lines: parking_lot::Mutex<Vec<(LogLevel, String)>>,
}

#[async_trait::async_trait]
impl Progress for Recorder {
    async fn progress(&self, _done: u64, _total: Option<u64>, _note: &str) {
        self.reports.fetch_add(1, Ordering::Relaxed);
    }
    async fn log(&self, level: LogLevel, message: &str) {
        self.lines.lock().push((level, message.to_owned()));
    }
    fn is_stopped(&self) -> bool {
        self.stop_after
            .is_some_and(|n| self.reports.load(Ordering::Relaxed) >= n)
    }
}

impl World {
    pub async fn run(&self) -> RunOutcome {
        self.run_with(&Recorder::default()).await
    }

    pub async fn run_with(&self, progress: &Recorder) -> RunOutcome {
        let task = self
            .store
            .account(self.task.account_id)
            .tasks()
            .get(self.task.id)
            .await
            .unwrap();
        self.engine
            .run(&self.ctx, &task, None, progress)
            .await
            .unwrap()
    }

    /// A client of its own (for describes in comparisons).
    pub fn client(&self) -> OrgClient {
        OrgClient::new(
            Arc::new(Session::new(
                self.app.clone(),
                self.tokens.clone(),
                Arc::new(DiscardTokens),
            )),
            Arc::new(ApiBudget::new(100)),
        )
    }

    pub async fn manifest(&self, outcome: &RunOutcome) -> SnapshotManifest {
        let id = outcome.snapshot.expect("a snapshot");
        let vault = self.ctx.vaults.vault(self.task.account_id).await.unwrap();
        use cairn_domain::TypedId;
        vault
            .snapshot(&id.as_uuid().simple().to_string())
            .await
            .unwrap()
    }

    /// Asserts every object of the snapshot equals `dump`, and that the snapshot holds
    /// every object the dump has records of (among the objects the org offers for
    /// backup). Returns the number of records compared.
    pub async fn assert_snapshot_matches(&self, manifest: &SnapshotManifest, dump: &Dump) -> usize {
        let vault = self.ctx.vaults.vault(self.task.account_id).await.unwrap();
        let segs = vault.segments(SegmentOptions::default()).unwrap();
        let client = self.client();
        let objects = cairn_backup::salesforce::manifest_objects(manifest);
        let eligible: Vec<String> = client
            .backup_objects()
            .await
            .unwrap()
            .into_iter()
            .map(|o| o.name)
            .collect();
        let mut compared = 0;
        for name in &eligible {
            let schema = client.describe(name).await.unwrap();
            if !schema.is_incremental() {
                continue;
            }
            assert!(objects.contains(name), "{name} is in the snapshot");
            let stored = entity_items(&segs, &manifest.entities[&format!("object/{name}")])
                .await
                .unwrap();
            let source: BTreeMap<String, (bool, String)> = dump
                .get(name)
                .into_iter()
                .flatten()
                .map(|(id, (deleted, fields))| {
                    let r = cairn_salesforce::canonical_record(&schema, fields).unwrap();
                    (id.clone(), (*deleted, r.record))
                })
                .collect();
            let c = compare(&stored, &source);
            assert!(
                c.matches(),
                "{name}: missing {:?}, unexpected {:?}, different {:?}",
                &c.missing[..c.missing.len().min(5)],
                &c.unexpected[..c.unexpected.len().min(5)],
                &c.different[..c.different.len().min(5)]
            );
            compared += c.compared;
        }
        compared
    }
}

/// The org dump: object → id → (deleted, fields).
pub type Dump = BTreeMap<String, BTreeMap<String, (bool, serde_json::Map<String, Value>)>>;

pub fn dump(sf: &RunningSalesforce) -> Dump {
    let bytes = sf.control().dump();
    let mut out = Dump::new();
    for line in bytes.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        let v: Value = serde_json::from_slice(line).unwrap();
        let fields = v["fields"].as_object().unwrap().clone();
        out.entry(v["type"].as_str().unwrap().to_owned())
            .or_default()
            .insert(
                v["id"].as_str().unwrap().to_owned(),
                (v["deleted"].as_bool().unwrap(), fields),
            );
    }
    out
}

pub fn mutation(op: MutationOp, object: &str) -> Mutation {
    Mutation {
        op,
        object: object.into(),
        percent: None,
        count: None,
        ids: None,
        as_user: None,
        fields: None,
        seed: Some(5),
    }
}
