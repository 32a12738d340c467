//! Shared helpers: an emulator with TLS, a connector configured for it (fast retries), the
//! OAuth browser dance, and a local mirror that applies listing pages the way a backup
//! does.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use cairn_dropbox::{
    Change, DropboxApp, DropboxConfig, Entity, Pkce, RetryPolicy, Secret, TeamClient, TokenSet,
    random_state,
};
use cairn_emulator::dropbox::{DropboxOptions, RunningDropbox, start};
use futures::TryStreamExt;
use url::Url;

/// A small team: 6 members (one invited, ...), 4 team folders (one archived), shared
/// folders, 150 files with duplicates.
pub fn small() -> DropboxOptions {
    DropboxOptions {
        seed: 3,
        members: 6,
        team_folders: 4,
        files: 150,
        bytes: 12 << 20,
        dup_ratio: 0.2,
        tls: true,
        warm_hashes: false,
        max_longpoll_wait: Some(Duration::from_millis(200)),
        ..DropboxOptions::default()
    }
}

pub struct Env {
    pub dropbox: RunningDropbox,
    pub app: DropboxApp,
}

pub async fn emulator(opts: DropboxOptions) -> Env {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dropbox = start(listener, opts).await.unwrap();
    let app = DropboxApp::new(config_for(&dropbox)).unwrap();
    Env { dropbox, app }
}

/// Retries in milliseconds so fault tests take no time.
pub fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        max_server_retries: 8,
        backoff_base: Duration::from_millis(1),
        backoff_max: Duration::from_millis(4),
        max_rate_limit_retries: 30,
        default_retry_after: Duration::from_millis(1),
        max_retry_after: Duration::from_secs(600),
        max_download_resumes: 3,
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
    c.retry = fast_retries();
    c.list_page_limit = 25;
    c
}

/// The console's long-lived team token (no refresh token).
pub fn console_tokens(dropbox: &RunningDropbox) -> TokenSet {
    TokenSet {
        access_token: Secret::new(dropbox.credentials().team_token.clone()),
        refresh_token: None,
        expires_at: None,
        team_id: Some(dropbox.credentials().team_id.clone()),
        account_id: None,
        scopes: vec![],
    }
}

pub fn console_client(env: &Env) -> TeamClient {
    env.app.team(console_tokens(&env.dropbox)).build()
}

/// A browser that does not follow redirects and trusts the emulator's CA.
pub fn browser(dropbox: &RunningDropbox) -> reqwest::Client {
    let mut b = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none());
    if let Some(pem) = dropbox.ca_pem() {
        b = b.add_root_certificate(reqwest::Certificate::from_pem(pem.as_bytes()).unwrap());
    }
    b.build().unwrap()
}

fn hidden_field(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).expect("the field") + marker.len();
    html[start..start + html[start..].find('"').unwrap()].to_owned()
}

pub const REDIRECT: &str = "https://cairn.example/oauth/dropbox/callback";

/// Follows the authorize URL as the team admin would: sign in, allow. Returns the
/// redirect's query parameters.
pub async fn consent(env: &Env, authorize: &Url) -> BTreeMap<String, String> {
    let creds = env.dropbox.credentials();
    let http = browser(&env.dropbox);
    let page = http.get(authorize.clone()).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let request = hidden_field(&page.text().await.unwrap(), "request");
    let login = http
        .post(format!("{}/oauth2/authorize/login", env.dropbox.api_url()))
        .form(&[
            ("request", request.as_str()),
            ("email", creds.admin_email.as_str()),
            ("password", creds.admin_password.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    let html = login.text().await.unwrap();
    assert!(html.contains("Allow"), "{html}");
    let decision = http
        .post(format!(
            "{}/oauth2/authorize/decision",
            env.dropbox.api_url()
        ))
        .form(&[("request", request.as_str()), ("decision", "allow")])
        .send()
        .await
        .unwrap();
    assert!(decision.status().is_redirection());
    let location = decision.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with(REDIRECT), "{location}");
    Url::parse(&location)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

/// Links the app through the full OAuth flow and returns its tokens.
pub async fn oauth_tokens(env: &Env) -> TokenSet {
    let pkce = Pkce::generate();
    let state = random_state();
    let url = env.app.authorize_url(&state, &pkce, Some(REDIRECT));
    let params = consent(env, &url).await;
    assert_eq!(params["state"], state);
    env.app
        .exchange_code(&params["code"], &pkce, Some(REDIRECT))
        .await
        .unwrap()
}

/// What a backup holds of one entity: path_lower → latest entry.
pub type Mirror = BTreeMap<String, Change>;

/// Applies one change as research note §3.2 prescribes.
pub fn apply(mirror: &mut Mirror, change: &Change) {
    match change {
        Change::Deleted { path_lower, .. } => {
            let below = format!("{path_lower}/");
            mirror.retain(|k, _| k != path_lower && !k.starts_with(&below));
        }
        other => {
            mirror.insert(other.path_lower().to_owned(), other.clone());
        }
    }
}

/// Lists an entity (in full or from a cursor) into `mirror`; returns the final cursor
/// and every change seen.
pub async fn sync(
    client: &TeamClient,
    entity: &Entity,
    cursor: Option<&str>,
    mirror: &mut Mirror,
) -> (String, Vec<Change>) {
    let pages: Vec<_> = client
        .list_changes(entity, cursor)
        .try_collect()
        .await
        .unwrap_or_else(|e| panic!("listing {} failed: {e}", entity.id));
    let last = pages.last().expect("at least one page");
    assert!(!last.has_more);
    let cursor = last.cursor.clone();
    let mut seen = Vec::new();
    for page in pages {
        for change in page.changes {
            apply(mirror, &change);
            seen.push(change);
        }
    }
    (cursor, seen)
}

/// `(namespace, path_lower, tag, rev, content_hash)` of the emulator's dump.
pub type Row = (String, String, String, Option<String>, Option<String>);

pub async fn dump_rows(dropbox: &RunningDropbox) -> BTreeSet<Row> {
    dropbox
        .control()
        .dump()
        .await
        .into_iter()
        .map(|e| (e.namespace_id, e.path_lower, e.tag, e.rev, e.content_hash))
        .collect()
}

/// The same rows from mirrors, leaving out mount points (they belong to the mounted
/// namespace's own entity).
pub fn mirror_rows<'a>(mirrors: impl IntoIterator<Item = (&'a Entity, &'a Mirror)>) -> Vec<Row> {
    let mut rows = Vec::new();
    for (entity, mirror) in mirrors {
        for change in mirror.values() {
            match change {
                Change::File(f) => rows.push((
                    entity.namespace_id.clone(),
                    f.path_lower.clone(),
                    "file".into(),
                    Some(f.rev.clone()),
                    f.content_hash.map(|h| h.to_hex()),
                )),
                Change::Folder(f) if f.shared_folder_id.is_none() => rows.push((
                    entity.namespace_id.clone(),
                    f.path_lower.clone(),
                    "folder".into(),
                    None,
                    None,
                )),
                _ => {}
            }
        }
    }
    rows
}

/// Collects a token sink's calls.
pub fn recording_sink() -> (
    Arc<dyn cairn_dropbox::TokenSink>,
    Arc<parking_lot::Mutex<Vec<cairn_dropbox::AccessToken>>>,
) {
    let seen = Arc::new(parking_lot::Mutex::new(Vec::new()));
    let into = seen.clone();
    let sink = move |t: &cairn_dropbox::AccessToken| into.lock().push(t.clone());
    (Arc::new(sink), seen)
}
