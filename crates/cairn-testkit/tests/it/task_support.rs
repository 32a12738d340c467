//! What the task tests share: the in-process Salesforce and Dropbox emulators, an app
//! whose connectors point at them, the admin's way through each emulator's consent pages,
//! the add-task form, and tasks seeded straight into the store.

use std::time::Duration;

use cairn_domain::Clock;
use cairn_domain::entity::DiscoveredEntity;
use cairn_domain::ids::{AccountId, TaskId};
use cairn_domain::{
    BackupTask, ConnectionStatus, EmailAddress, EntityKind, EntityStatus, Environment, Service,
    TaskSettings,
};
use cairn_emulator::dropbox::{self as emu_dropbox, DropboxOptions, RunningDropbox};
use cairn_emulator::salesforce::{
    self as emu_sf, Environment as SfEnv, Profile, RunningSalesforce, SalesforceOptions,
};
use cairn_meta::EntityQuery;
use cairn_testkit::{TestApp, TestAppBuilder};
use reqwest::{Client, StatusCode};
use url::Url;

use crate::support::location;

/// A fixed master key: tokens are sealed under a key derived from it.
pub const MASTER_KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

/// A small emulated org whose clock only moves when a test moves it.
pub async fn salesforce() -> RunningSalesforce {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    emu_sf::start(
        listener,
        SalesforceOptions {
            seed: 7,
            profile: Profile::Small,
            clock_running: false,
            threads: 1,
            ..SalesforceOptions::default()
        },
    )
    .await
    .unwrap()
}

/// A small emulated team: 3 members, a team folder, 10 files, plain HTTP.
pub async fn dropbox() -> RunningDropbox {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    emu_dropbox::start(
        listener,
        DropboxOptions {
            seed: 5,
            members: 3,
            team_folders: 1,
            files: 10,
            bytes: 1 << 20,
            tls: false,
            max_longpoll_wait: Some(Duration::from_millis(100)),
            ..DropboxOptions::default()
        },
    )
    .await
    .unwrap()
}

/// An app whose connectors point at the given emulators.
pub async fn app_with(sf: Option<&RunningSalesforce>, db: Option<&RunningDropbox>) -> TestApp {
    app_builder(sf, db).spawn().await
}

/// The builder of [`app_with`]'s app, for tests that change more before it boots.
pub fn app_builder(sf: Option<&RunningSalesforce>, db: Option<&RunningDropbox>) -> TestAppBuilder {
    let sf = sf.map(|sf| {
        let c = sf.credentials();
        (
            c.client_id.clone(),
            c.client_secret.clone(),
            sf.login_url(SfEnv::Production),
            sf.login_url(SfEnv::Sandbox),
        )
    });
    let db = db.map(|db| {
        let c = db.credentials();
        (
            c.app_key.clone(),
            c.app_secret.clone(),
            db.api_url().to_owned(),
            db.content_url().to_owned(),
            db.notify_url().to_owned(),
            db.oauth_authorize_url(),
        )
    });
    TestApp::builder().configure(move |config| {
        config.vault.master_key = Some(cairn::config::Secret::new(MASTER_KEY));
        if let Some((id, secret, production, sandbox)) = sf {
            config.salesforce.client_id = id;
            config.salesforce.client_secret = Some(cairn::config::Secret::new(secret));
            config.salesforce.production_login_url = production;
            config.salesforce.sandbox_login_url = sandbox;
        }
        if let Some((key, secret, api, content, notify, authorize)) = db {
            config.dropbox.app_key = key;
            config.dropbox.app_secret = Some(cairn::config::Secret::new(secret));
            config.dropbox.api_url = api;
            config.dropbox.content_url = content;
            config.dropbox.notify_url = notify;
            config.dropbox.authorize_url = authorize;
        }
    })
}

pub async fn account_of(app: &TestApp, email: &str) -> AccountId {
    let email = EmailAddress::parse(email).unwrap();
    app.store()
        .directory()
        .find_user_by_email(&email)
        .await
        .unwrap()
        .expect("user exists")
        .user
        .account_id
}

pub fn browser() -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub fn form(pairs: &[(&str, &str)]) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

/// The admin on the Salesforce emulator's login and consent pages; returns where the
/// emulator redirects the browser (the portal's callback).
pub async fn salesforce_consent(sf: &RunningSalesforce, authorize: &str, decision: &str) -> String {
    let http = browser();
    let authorize = Url::parse(authorize).unwrap();
    assert_eq!(
        http.get(authorize.clone()).send().await.unwrap().status(),
        200
    );
    let c = sf.credentials();
    let mut login: Vec<(String, String)> = authorize.query_pairs().into_owned().collect();
    login.push(("action".into(), "login".into()));
    login.push(("username".into(), c.username.clone()));
    login.push(("password".into(), c.password.clone()));
    let pairs: Vec<(&str, &str)> = login
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let mut post_url = authorize.clone();
    post_url.set_query(None);
    let consent = http
        .post(post_url.clone())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&pairs))
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
        .expect("a consent form")
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
    location(&r)
}

/// The team admin on the Dropbox emulator's pages; returns the redirect to the portal.
pub async fn dropbox_consent(db: &RunningDropbox, authorize: &str, decision: &str) -> String {
    let http = browser();
    let page = http.get(authorize).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    let marker = "name=\"request\" value=\"";
    let start = html.find(marker).expect("a request field") + marker.len();
    let request = html[start..start + html[start..].find('"').unwrap()].to_owned();
    let c = db.credentials();
    let login = http
        .post(format!("{}/oauth2/authorize/login", db.api_url()))
        .form(&[
            ("request", request.as_str()),
            ("email", c.admin_email.as_str()),
            ("password", c.admin_password.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    let decision = http
        .post(format!("{}/oauth2/authorize/decision", db.api_url()))
        .form(&[("request", request.as_str()), ("decision", decision)])
        .send()
        .await
        .unwrap();
    assert!(decision.status().is_redirection());
    location(&decision)
}

/// Submits the add-task form; returns the response (a redirect to the consent page).
pub async fn add_task(
    app: &TestApp,
    client: &Client,
    service: &str,
    name: &str,
    env: &str,
) -> reqwest::Response {
    app.post_form(
        client,
        "/tasks/new",
        "/tasks",
        &[("service", service), ("name", name), ("environment", env)],
    )
    .await
}

pub fn task_id_from(location: &str) -> TaskId {
    let rest = location.strip_prefix("/tasks/").expect("a task address");
    rest.split('?').next().unwrap().parse().unwrap()
}

/// A task created directly in the store, with `n` Dropbox members.
pub async fn seeded_task(app: &TestApp, account: AccountId, members: &[&str]) -> TaskId {
    let task = BackupTask::new(
        account,
        Service::Dropbox,
        "Team",
        Environment::Production,
        TaskSettings::default(),
        cairn_domain::RegionCode::parse("local").unwrap(),
        app.clock().now(),
    )
    .unwrap();
    let scope = app.store().account(account);
    scope.tasks().create(&task).await.unwrap();
    scope
        .tasks()
        .set_connection(task.id, ConnectionStatus::Connected)
        .await
        .unwrap();
    let found: Vec<DiscoveredEntity> = members
        .iter()
        .map(|name| DiscoveredEntity {
            kind: EntityKind::DropboxMember,
            name: (*name).to_owned(),
            external_id: format!("dbmid:{name}"),
            email: Some(format!("{}@team.example", name.to_lowercase())),
        })
        .collect();
    scope
        .entities()
        .upsert_discovered(task.id, &found, EntityStatus::NotActive, app.clock().now())
        .await
        .unwrap();
    task.id
}

pub async fn entity_ids(app: &TestApp, account: AccountId, task: TaskId) -> Vec<(String, String)> {
    app.store()
        .account(account)
        .entities()
        .list(
            task,
            &EntityQuery {
                include_limited: true,
                ..EntityQuery::default()
            },
        )
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.name, e.id.to_string()))
        .collect()
}

pub async fn text(client: &Client, url: String) -> (StatusCode, String) {
    let r = client.get(url).send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}
