//! Shared set-up: a small emulated org on port 0 with a frozen clock, a connector
//! configured for it (fast retries), the browser side of the OAuth flow, and the org dump.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use cairn_emulator::salesforce::{
    self, Environment as EmuEnv, Profile, RunningSalesforce, SalesforceOptions,
};
use cairn_salesforce::{
    ApiBudget, DiscardTokens, Environment, OrgClient, Pkce, RetryPolicy, SalesforceApp,
    SalesforceConfig, Secret, Session, TokenSet, TokenSink,
};
use serde_json::{Map, Value};
use tokio::net::TcpListener;
use url::Url;

pub const REDIRECT: &str = "https://cairn.example.com/oauth/salesforce/callback";

pub fn options(seed: u64) -> SalesforceOptions {
    SalesforceOptions {
        seed,
        profile: Profile::Small,
        clock_running: false,
        threads: 2,
        ..SalesforceOptions::default()
    }
}

pub async fn start_with(opts: SalesforceOptions) -> RunningSalesforce {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    salesforce::start(listener, opts).await.unwrap()
}

pub async fn start_org(seed: u64) -> RunningSalesforce {
    start_with(options(seed)).await
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

pub fn app(sf: &RunningSalesforce) -> SalesforceApp {
    SalesforceApp::new(config(sf)).unwrap()
}

fn form(pairs: &[(&str, &str)]) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

/// Plays the admin's browser: opens the authorization URL, logs in, answers the consent
/// page with `decision`, and returns the callback's query parameters.
pub async fn browser(
    sf: &RunningSalesforce,
    authorize_url: &Url,
    decision: &str,
) -> Vec<(String, String)> {
    let mut http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none());
    if let Some(pem) = sf.ca_pem() {
        http = http.add_root_certificate(reqwest::Certificate::from_pem(pem.as_bytes()).unwrap());
    }
    let http = http.build().unwrap();
    let page = http.get(authorize_url.clone()).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let c = sf.credentials();
    let mut login: Vec<(String, String)> = authorize_url.query_pairs().into_owned().collect();
    login.push(("action".into(), "login".into()));
    login.push(("username".into(), c.username.clone()));
    login.push(("password".into(), c.password.clone()));
    let login_ref: Vec<(&str, &str)> = login
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let mut post_url = authorize_url.clone();
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
        .unwrap_or_else(|| panic!("no consent form in {consent}"))
        .to_owned();
    let r = http
        .post(post_url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[
            ("action", "consent"),
            ("pending", &pending),
            ("decision", decision),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    let location = Url::parse(r.headers()["location"].to_str().unwrap()).unwrap();
    assert!(location.as_str().starts_with(REDIRECT), "{location}");
    location.query_pairs().into_owned().collect()
}

/// The whole OAuth flow, as the portal runs it.
pub async fn connect(sf: &RunningSalesforce, app: &SalesforceApp) -> TokenSet {
    let state = cairn_salesforce::random_state();
    let pkce = Pkce::generate();
    let url = app.authorize_url(Environment::Production, REDIRECT, &state, &pkce);
    let params = browser(sf, &url, "allow").await;
    let code = SalesforceApp::callback_code(&params, &state).unwrap();
    app.exchange_code(Environment::Production, &code, &pkce, REDIRECT)
        .await
        .unwrap()
}

pub fn client_with(
    app: &SalesforceApp,
    tokens: TokenSet,
    sink: Arc<dyn TokenSink>,
    budget: Arc<ApiBudget>,
) -> OrgClient {
    OrgClient::new(Arc::new(Session::new(app.clone(), tokens, sink)), budget)
}

/// A connected client with a 100% budget.
pub async fn connected(sf: &RunningSalesforce, app: &SalesforceApp) -> OrgClient {
    let tokens = connect(sf, app).await;
    client_with(
        app,
        tokens,
        Arc::new(DiscardTokens),
        Arc::new(ApiBudget::new(100)),
    )
}

/// The org dump: object → id → (deleted, fields).
pub type Dump = BTreeMap<String, BTreeMap<String, (bool, Map<String, Value>)>>;

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

/// What a backup of one object holds, and where its reads stand (what a job persists).
pub struct ObjectState {
    pub schema: Arc<cairn_salesforce::ObjectSchema>,
    pub checkpoint: cairn_salesforce::Checkpoint,
    pub deletes: cairn_salesforce::DeleteCursor,
    pub records: BTreeMap<String, cairn_salesforce::RecordVersion>,
}

/// A toy backup: the newest version of every record per object.
#[derive(Default)]
pub struct Backup {
    pub objects: BTreeMap<String, ObjectState>,
}

/// What one run did.
#[derive(Default, Debug)]
pub struct RunReport {
    pub fetched: std::collections::BTreeSet<(String, String)>,
    pub hard_deleted: std::collections::BTreeSet<(String, String)>,
    pub rest_pages: usize,
    pub bulk_pages: usize,
}

impl Backup {
    /// Discovers the objects (first run only).
    pub async fn discover(
        &mut self,
        client: &OrgClient,
    ) -> Result<(), cairn_salesforce::SalesforceError> {
        if !self.objects.is_empty() {
            return Ok(());
        }
        for o in client.backup_objects().await? {
            let schema = Arc::new(client.describe(&o.name).await?);
            if !schema.is_incremental() {
                continue;
            }
            self.objects.insert(
                o.name.clone(),
                ObjectState {
                    schema,
                    checkpoint: cairn_salesforce::Checkpoint::full(),
                    deletes: cairn_salesforce::DeleteCursor::default(),
                    records: BTreeMap::new(),
                },
            );
        }
        Ok(())
    }

    /// One backup run over every object: resumes unfinished reads, starts the next
    /// incremental read of finished ones. Stops at the first error, state kept.
    pub async fn run(
        &mut self,
        client: &OrgClient,
        report: &mut RunReport,
    ) -> Result<(), cairn_salesforce::SalesforceError> {
        self.discover(client).await?;
        for (name, state) in &mut self.objects {
            if state.checkpoint.is_done() {
                state.checkpoint = state.checkpoint.next_run();
            }
            let scan = client.deleted_since(name, &state.deletes).await?;
            let mut reader = client.read_records(state.schema.clone(), state.checkpoint.clone())?;
            while let Some(page) = reader.next_page().await? {
                match page.path {
                    cairn_salesforce::ReadPath::Rest => report.rest_pages += 1,
                    cairn_salesforce::ReadPath::Bulk => report.bulk_pages += 1,
                }
                for r in page.records {
                    report.fetched.insert((name.clone(), r.key.clone()));
                    state.records.insert(r.key.clone(), r);
                }
                state.checkpoint = page.checkpoint;
            }
            if scan.needs_reconciliation {
                let existing = client.all_ids(&state.schema).await?;
                let gone = cairn_salesforce::hard_deleted(
                    state.records.keys().map(String::as_str),
                    &existing,
                );
                for id in gone {
                    state.records.remove(&id);
                    report.hard_deleted.insert((name.clone(), id));
                }
            }
            state.deletes = scan.cursor;
        }
        Ok(())
    }

    /// Asserts the backup holds exactly the dump's records of its objects.
    pub fn assert_matches(&self, dump: &Dump) {
        let empty = BTreeMap::new();
        let mut compared = 0;
        for (name, state) in &self.objects {
            let source = dump.get(name).unwrap_or(&empty);
            let ours: Vec<&String> = state.records.keys().collect();
            let theirs: Vec<&String> = source.keys().collect();
            assert_eq!(ours, theirs, "ids of {name}");
            for (id, (deleted, fields)) in source {
                let expected = cairn_salesforce::canonical_record(&state.schema, fields).unwrap();
                let got = &state.records[id];
                assert_eq!(got.deleted, *deleted, "{name} {id} deleted");
                assert_eq!(got.record, expected.record, "{name} {id}");
                assert_eq!(got.row_hash, expected.row_hash);
                assert_eq!(got.blob_fields, expected.blob_fields, "{name} {id}");
                compared += 1;
            }
        }
        assert!(compared > 1000, "compared {compared} records");
    }
}

/// `(object, id)` pairs.
pub type Keys = std::collections::BTreeSet<(String, String)>;

/// (object, id) of every record whose SystemModstamp differs between two dumps or that
/// is new; and those that disappeared.
pub fn dump_diff(before: &Dump, after: &Dump, objects: &[&String]) -> (Keys, Keys) {
    let empty = BTreeMap::new();
    let mut changed = std::collections::BTreeSet::new();
    let mut gone = std::collections::BTreeSet::new();
    for name in objects {
        let b = before.get(*name).unwrap_or(&empty);
        let a = after.get(*name).unwrap_or(&empty);
        for (id, (_, fields)) in a {
            let old = b.get(id).map(|(_, f)| &f["SystemModstamp"]);
            if old != Some(&fields["SystemModstamp"]) {
                changed.insert(((*name).clone(), id.clone()));
            }
        }
        for id in b.keys().filter(|id| !a.contains_key(*id)) {
            gone.insert(((*name).clone(), id.clone()));
        }
    }
    (changed, gone)
}
