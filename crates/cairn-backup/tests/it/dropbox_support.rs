//! Dropbox set-up: a small emulated team, a meta store with one account and a Dropbox
//! task connected through the emulator's OAuth pages (tokens sealed as the portal seals
//! them), account vaults in memory, and snapshots read back as the emulator's dump rows.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use cairn_backup::dropbox::{DropboxBackup, FetchStats, manifest_key};
use cairn_backup::pit::entity_items;
use cairn_backup::{AccountVaults, BackupContext, BackupOptions, RunOutcome, TokenCipher};
use cairn_domain::{BackupTask, Environment, RegionCode, Service, SystemClock, TaskSettings};
use cairn_dropbox::{DropboxApp, DropboxConfig, Pkce, RetryPolicy, Secret, TokenSet};
use cairn_emulator::dropbox::{DropboxOptions, RunningDropbox, start};
use cairn_meta::testing::TestDatabase;
use cairn_meta::{ConnectOptions, MetaStore};
use cairn_vault::crypto::MasterKey;
use cairn_vault::segments::SegmentOptions;
use cairn_vault::{Backend, SnapshotManifest};
use url::Url;

use crate::support::Recorder;

pub const REDIRECT: &str = "https://cairn.example/oauth/dropbox/callback";

/// A small team: 6 members, 4 team folders, shared folders, 150 files, 20 % duplicates.
pub fn small() -> DropboxOptions {
    DropboxOptions {
        seed: 11,
        members: 6,
        team_folders: 4,
        files: 150,
        bytes: 6 << 20,
        dup_ratio: 0.2,
        tls: true,
        warm_hashes: false,
        max_longpoll_wait: Some(Duration::from_millis(200)),
        ..DropboxOptions::default()
    }
}

pub fn config_for(dropbox: &RunningDropbox) -> DropboxConfig {
    let creds = dropbox.credentials();
    let mut c = DropboxConfig::new(
        creds.app_key.clone(),
        Some(Secret::new(creds.app_secret.clone())),
    );
    c.api_url = Url::parse(dropbox.api_url()).unwrap();
    c.content_url = Url::parse(dropbox.content_url()).unwrap();
    c.notify_url = Url::parse(dropbox.notify_url()).unwrap();
    c.authorize_url = Url::parse(&dropbox.oauth_authorize_url()).unwrap();
    c.ca_pem = dropbox.ca_pem().map(str::to_owned);
    c.retry = RetryPolicy {
        max_server_retries: 8,
        backoff_base: Duration::from_millis(1),
        backoff_max: Duration::from_millis(4),
        max_rate_limit_retries: 30,
        default_retry_after: Duration::from_millis(1),
        max_retry_after: Duration::from_secs(600),
        max_download_resumes: 3,
    };
    c.list_page_limit = 40;
    c
}

fn hidden_field(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).expect("the field") + marker.len();
    html[start..start + html[start..].find('"').unwrap()].to_owned()
}

/// Links the app as the team admin would (sign in, allow) and returns its tokens.
pub async fn connect(dropbox: &RunningDropbox, app: &DropboxApp) -> TokenSet {
    let pkce = Pkce::generate();
    let state = cairn_dropbox::random_state();
    let url = app.authorize_url(&state, &pkce, Some(REDIRECT));
    let creds = dropbox.credentials();
    let mut b = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none());
    if let Some(pem) = dropbox.ca_pem() {
        b = b.add_root_certificate(reqwest::Certificate::from_pem(pem.as_bytes()).unwrap());
    }
    let http = b.build().unwrap();
    let page = http.get(url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let request = hidden_field(&page.text().await.unwrap(), "request");
    let login = http
        .post(format!("{}/oauth2/authorize/login", dropbox.api_url()))
        .form(&[
            ("request", request.as_str()),
            ("email", creds.admin_email.as_str()),
            ("password", creds.admin_password.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    let decision = http
        .post(format!("{}/oauth2/authorize/decision", dropbox.api_url()))
        .form(&[("request", request.as_str()), ("decision", "allow")])
        .send()
        .await
        .unwrap();
    assert!(decision.status().is_redirection());
    let location = decision.headers()["location"].to_str().unwrap().to_owned();
    let params: BTreeMap<String, String> = Url::parse(&location)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    assert_eq!(params["state"], state);
    app.exchange_code(&params["code"], &pkce, Some(REDIRECT))
        .await
        .unwrap()
}

/// Everything one Dropbox test needs.
pub struct DbxWorld {
    pub dropbox: RunningDropbox,
    pub tokens: TokenSet,
    pub store: MetaStore,
    pub ctx: BackupContext,
    pub task: BackupTask,
    pub engine: DropboxBackup,
    /// The master key the account vaults are sealed with.
    pub master: MasterKey,
    _dir: tempfile::TempDir,
}

/// A fresh world: a team of `opts`, an auto-activating task connected through OAuth.
pub async fn dbx_world(opts: DropboxOptions) -> DbxWorld {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dropbox = start(listener, opts).await.unwrap();
    let app = DropboxApp::new(config_for(&dropbox)).unwrap();
    let tokens = connect(&dropbox, &app).await;

    let dir = tempfile::tempdir().unwrap();
    let db = TestDatabase::sqlite_in(dir.path());
    let store = MetaStore::connect(db.url(), &ConnectOptions::default())
        .await
        .unwrap();
    let account = super::support::account(&store).await;
    let task = BackupTask::new(
        account,
        Service::Dropbox,
        "Team",
        Environment::Production,
        TaskSettings {
            auto_activate: true,
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
            &cipher.seal_json(task.id, &tokens).unwrap(),
            chrono::Utc::now(),
        )
        .await
        .unwrap();
    let vaults = AccountVaults::new(Backend::open("memory://").unwrap(), master.clone());
    let ctx = BackupContext {
        store: store.clone(),
        vaults,
        tokens: cipher,
        clock: Arc::new(SystemClock),
        options: BackupOptions {
            segments: SegmentOptions {
                parallelism: 2,
                ..SegmentOptions::default()
            },
            ..BackupOptions::default()
        },
    };
    let engine = DropboxBackup::new(app.clone());
    DbxWorld {
        dropbox,
        tokens,
        store,
        ctx,
        task,
        engine,
        master,
        _dir: dir,
    }
}

/// `(namespace, path_lower, tag, rev, content_hash)`, as the emulator's dump has them.
pub type Row = (String, String, String, Option<String>, Option<String>);

impl DbxWorld {
    pub async fn run(&self) -> (RunOutcome, FetchStats) {
        let task = self
            .store
            .account(self.task.account_id)
            .tasks()
            .get(self.task.id)
            .await
            .unwrap();
        self.engine
            .run_with_stats(&self.ctx, &task, None, &Recorder::default())
            .await
            .unwrap()
    }

    pub async fn manifest(&self, outcome: &RunOutcome) -> SnapshotManifest {
        use cairn_domain::TypedId;
        let id = outcome.snapshot.expect("a snapshot");
        let vault = self.ctx.vaults.vault(self.task.account_id).await.unwrap();
        vault
            .snapshot(&id.as_uuid().simple().to_string())
            .await
            .unwrap()
    }

    /// The team's entities with content now: external id → namespace id.
    pub async fn namespaces(&self) -> BTreeMap<String, String> {
        let client = self.engine.client(self.tokens.clone());
        client
            .discover()
            .await
            .unwrap()
            .entities
            .into_iter()
            .filter(|e| e.has_content())
            .map(|e| (e.id, e.namespace_id))
            .collect()
    }

    /// The dump rows of `namespaces`.
    pub async fn dump_rows(&self, namespaces: &BTreeSet<String>) -> BTreeSet<Row> {
        self.dropbox
            .control()
            .dump()
            .await
            .into_iter()
            .filter(|e| namespaces.contains(&e.namespace_id))
            .map(|e| (e.namespace_id, e.path_lower, e.tag, e.rev, e.content_hash))
            .collect()
    }

    /// The snapshot's rows of the entities in `entities` (external id → namespace),
    /// leaving out mount points (they belong to the mounted namespace's entity).
    pub async fn snapshot_rows(
        &self,
        manifest: &SnapshotManifest,
        entities: &BTreeMap<String, String>,
    ) -> BTreeSet<Row> {
        let vault = self.ctx.vaults.vault(self.task.account_id).await.unwrap();
        let segs = vault.segments(SegmentOptions::default()).unwrap();
        let mut rows = BTreeSet::new();
        for (external, ns) in entities {
            let key = manifest_key(external);
            let em = manifest
                .entities
                .get(&key)
                .unwrap_or_else(|| panic!("{key} is in the snapshot"));
            for (path, item) in entity_items(&segs, em).await.unwrap() {
                assert!(!item.deleted);
                let r: serde_json::Value = serde_json::from_str(&item.record).unwrap();
                let tag = r["tag"].as_str().unwrap().to_owned();
                if tag == "folder" && !r["shared_folder_id"].is_null() {
                    continue;
                }
                let text = |f: &str| r[f].as_str().map(str::to_owned);
                rows.insert((ns.clone(), path, tag, text("rev"), text("content_hash")));
            }
        }
        rows
    }

    /// Asserts the snapshot equals the dump for every entity the team has now; returns
    /// the number of rows compared.
    pub async fn assert_matches_dump(&self, manifest: &SnapshotManifest) -> usize {
        let entities = self.namespaces().await;
        let namespaces: BTreeSet<String> = entities.values().cloned().collect();
        let source = self.dump_rows(&namespaces).await;
        let stored = self.snapshot_rows(manifest, &entities).await;
        let missing: Vec<_> = source.difference(&stored).take(5).collect();
        let unexpected: Vec<_> = stored.difference(&source).take(5).collect();
        assert!(
            missing.is_empty() && unexpected.is_empty(),
            "missing {missing:?}, unexpected {unexpected:?}"
        );
        source.len()
    }

    /// Downloads counted by the emulator.
    pub fn downloads(&self) -> u64 {
        self.dropbox
            .control()
            .counters()
            .routes
            .get("files/download")
            .map_or(0, |r| r.calls)
    }
}
