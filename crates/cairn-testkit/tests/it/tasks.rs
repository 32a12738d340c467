//! Backup tasks over HTTP (issue 6 item 4, issue 7 items 3–4): creating a task and
//! connecting it by OAuth against the in-process Salesforce and Dropbox emulators,
//! refused and forged callbacks, settings validation, entity actions and tags, Limited
//! Access for a secondary administrator, and CSRF on every task form.

use std::time::Duration;

use cairn_domain::Clock;
use cairn_domain::entity::DiscoveredEntity;
use cairn_domain::ids::{AccountId, TaskId};
use cairn_domain::{
    BackupTask, ConnectionStatus, EmailAddress, EntityKind, EntityStatus, Environment, JobKind,
    Role, Service, TaskSettings, User, UserStatus,
};
use cairn_emulator::dropbox::{self as emu_dropbox, DropboxOptions, RunningDropbox};
use cairn_emulator::salesforce::{
    self as emu_sf, Environment as SfEnv, Profile, RunningSalesforce, SalesforceOptions,
};
use cairn_meta::{EntityQuery, JobQuery};
use cairn_testkit::{TestApp, csrf_token_in};
use reqwest::{Client, StatusCode};
use url::Url;

use crate::support::{audit_trail, error_code, location};

/// A fixed master key: tokens are sealed under a key derived from it.
const MASTER_KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

async fn salesforce() -> RunningSalesforce {
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

async fn dropbox() -> RunningDropbox {
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
async fn app_with(sf: Option<&RunningSalesforce>, db: Option<&RunningDropbox>) -> TestApp {
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
    TestApp::builder()
        .configure(move |config| {
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
        .spawn()
        .await
}

async fn account_of(app: &TestApp, email: &str) -> AccountId {
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

fn browser() -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn form(pairs: &[(&str, &str)]) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

/// The admin on the Salesforce emulator's login and consent pages; returns where the
/// emulator redirects the browser (the portal's callback).
async fn salesforce_consent(sf: &RunningSalesforce, authorize: &str, decision: &str) -> String {
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
async fn dropbox_consent(db: &RunningDropbox, authorize: &str, decision: &str) -> String {
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
async fn add_task(
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

fn task_id_from(location: &str) -> TaskId {
    let rest = location.strip_prefix("/tasks/").expect("a task address");
    rest.split('?').next().unwrap().parse().unwrap()
}

#[tokio::test]
async fn a_salesforce_task_is_created_and_connected_through_oauth() {
    let sf = salesforce().await;
    let app = app_with(Some(&sf), None).await;
    let (client, user) = app.signed_in_client("ada@example.com").await;
    let account = account_of(&app, &user.email).await;

    let home = client
        .get(app.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        home.contains("href=\"/tasks/new\""),
        "the add button is enabled"
    );

    // A sandbox task signs in on the sandbox login host (this emulated org is a
    // production org, so only the redirect is checked).
    let response = add_task(&app, &client, "salesforce", "Sandbox org", "sandbox").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(
        location(&response).starts_with(&sf.login_url(SfEnv::Sandbox)),
        "{}",
        location(&response)
    );

    let response = add_task(&app, &client, "salesforce", "Production org", "production").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let authorize = location(&response);
    assert!(
        authorize.starts_with(&sf.login_url(SfEnv::Production)),
        "{authorize}"
    );
    assert!(authorize.contains("code_challenge="), "PKCE is used");
    let tasks = app
        .store()
        .account(account)
        .tasks()
        .list(false)
        .await
        .unwrap();
    assert_eq!(tasks.len(), 2);
    assert_eq!(tasks[0].environment, Environment::Sandbox);
    let production = tasks[1].clone();
    assert_eq!(production.connection, ConnectionStatus::NotAuthenticated);
    assert_eq!(production.environment, Environment::Production);

    let callback = salesforce_consent(&sf, &authorize, "allow").await;
    assert!(
        callback.starts_with(&app.url("/oauth/salesforce/callback")),
        "{callback}"
    );
    let done = client.get(&callback).send().await.unwrap();
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    let id = task_id_from(&location(&done));
    assert_eq!(id, production.id);

    let task = app.store().account(account).tasks().get(id).await.unwrap();
    assert_eq!(task.connection, ConnectionStatus::Connected);
    let sealed = app
        .store()
        .account(account)
        .tasks()
        .token(id)
        .await
        .unwrap()
        .unwrap();
    let access = &sf.credentials().org_id;
    assert!(
        !String::from_utf8_lossy(&sealed).contains("access_token"),
        "tokens are stored encrypted"
    );
    let key = cairn_vault::crypto::MasterKey::from_hex(MASTER_KEY)
        .unwrap()
        .derive(cairn_vault::crypto::TASK_TOKENS_CONTEXT);
    let plain = cairn_web::tasks::open_token(&key, id, &sealed).unwrap();
    let tokens: serde_json::Value = serde_json::from_slice(&plain).unwrap();
    assert_eq!(tokens["org_id"].as_str(), Some(access.as_str()));
    assert!(
        tokens["access_token"]
            .as_str()
            .is_some_and(|t| !t.is_empty())
    );

    let trail: Vec<(String, cairn_domain::event::EventOutcome)> = audit_trail(&app, &user.email)
        .await
        .into_iter()
        .filter(|(code, _, _)| code.starts_with("task."))
        .map(|(code, outcome, _)| (code, outcome))
        .collect();
    assert_eq!(
        trail,
        [
            (
                "task.created".to_owned(),
                cairn_domain::event::EventOutcome::Success
            ),
            (
                "task.created".to_owned(),
                cairn_domain::event::EventOutcome::Success
            ),
            (
                "task.connect".to_owned(),
                cairn_domain::event::EventOutcome::Success
            ),
        ]
    );

    // The same answer again is refused: the state is single use.
    let replay = client.get(&callback).send().await.unwrap();
    assert_eq!(replay.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        error_code(&replay.text().await.unwrap()),
        "oauth.invalid_state"
    );

    // The task page shows the connection; Backup now queues a backup job.
    let page = client
        .get(app.url(&format!("/tasks/{id}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Connected") && page.contains("Production org"));
    let queued = app
        .post_form(
            &client,
            &format!("/tasks/{id}"),
            &format!("/tasks/{id}/backup"),
            &[],
        )
        .await;
    assert_eq!(queued.status(), StatusCode::SEE_OTHER);
    let again = app
        .post_form(
            &client,
            &format!("/tasks/{id}"),
            &format!("/tasks/{id}/backup"),
            &[],
        )
        .await;
    assert_eq!(again.status(), StatusCode::SEE_OTHER);
    let jobs = app
        .store()
        .account(account)
        .jobs()
        .list(&JobQuery {
            task: Some(id),
            kind: Some(JobKind::Backup),
            status: None,
            limit: 10,
        })
        .await
        .unwrap();
    assert!(!jobs.is_empty());
    assert!(
        jobs.iter().filter(|j| !j.status.is_terminal()).count() <= 1,
        "a second click while a backup is open does not queue another"
    );
    let page = client
        .get(app.url(&format!("/tasks/{id}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("<th>Queued</th>"),
        "the queued backup is listed under Backup actions"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn denied_consent_and_forged_callbacks_change_nothing_then_dropbox_connects() {
    let db = dropbox().await;
    let app = app_with(None, Some(&db)).await;
    let (client, user) = app.signed_in_client("grace@example.com").await;
    let account = account_of(&app, &user.email).await;

    // Dropbox has no sandbox.
    let refused = add_task(&app, &client, "dropbox", "Team", "sandbox").await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        app.store()
            .account(account)
            .tasks()
            .list(true)
            .await
            .unwrap()
            .is_empty()
    );
    // Salesforce is not configured on this installation.
    let refused = add_task(&app, &client, "salesforce", "Org", "production").await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text().await.unwrap().contains("not set up"));

    let response = add_task(&app, &client, "dropbox", "Team", "production").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let authorize = location(&response);
    let task = app
        .store()
        .account(account)
        .tasks()
        .list(false)
        .await
        .unwrap()[0]
        .clone();

    // Deny: a clear error, nothing stored.
    let callback = dropbox_consent(&db, &authorize, "deny").await;
    let denied = client.get(&callback).send().await.unwrap();
    assert_eq!(denied.status(), StatusCode::BAD_REQUEST);
    let body = denied.text().await.unwrap();
    assert_eq!(error_code(&body), "oauth.denied");
    let stored = app
        .store()
        .account(account)
        .tasks()
        .get(task.id)
        .await
        .unwrap();
    assert_eq!(stored.connection, ConnectionStatus::NotAuthenticated);
    assert_eq!(
        app.store()
            .account(account)
            .tasks()
            .token(task.id)
            .await
            .unwrap(),
        None
    );

    // A made-up state, or another session presenting a real one, is refused.
    let forged = client
        .get(app.url("/oauth/dropbox/callback?code=abc&state=made-up"))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        error_code(&forged.text().await.unwrap()),
        "oauth.invalid_state"
    );
    let again = app
        .post_form(
            &client,
            &format!("/tasks/{}", task.id),
            &format!("/tasks/{}/connect", task.id),
            &[],
        )
        .await;
    assert_eq!(again.status(), StatusCode::SEE_OTHER);
    let callback = dropbox_consent(&db, &location(&again), "allow").await;
    let other = app.client();
    let response = app.sign_in(&other, &user.email, &user.password).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let stolen = other.get(&callback).send().await.unwrap();
    assert_eq!(stolen.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        app.store()
            .account(account)
            .tasks()
            .get(task.id)
            .await
            .unwrap()
            .connection,
        ConnectionStatus::NotAuthenticated
    );

    // Re-authenticate from the task page and allow: connected.
    let again = app
        .post_form(
            &client,
            &format!("/tasks/{}", task.id),
            &format!("/tasks/{}/connect", task.id),
            &[],
        )
        .await;
    let callback = dropbox_consent(&db, &location(&again), "allow").await;
    let done = client.get(&callback).send().await.unwrap();
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.store()
            .account(account)
            .tasks()
            .get(task.id)
            .await
            .unwrap()
            .connection,
        ConnectionStatus::Connected
    );
    assert!(
        app.store()
            .account(account)
            .tasks()
            .token(task.id)
            .await
            .unwrap()
            .is_some()
    );
    app.shutdown().await;
}

/// A task created directly in the store, with `n` Dropbox members.
async fn seeded_task(app: &TestApp, account: AccountId, members: &[&str]) -> TaskId {
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

#[tokio::test]
async fn settings_are_validated_and_nothing_is_saved_on_error() {
    let app = app_with(None, None).await;
    let (client, user) = app.signed_in_client("ada@example.com").await;
    let account = account_of(&app, &user.email).await;
    let id = seeded_task(&app, account, &[]).await;
    let page = format!("/tasks/{id}");
    let path = format!("/tasks/{id}/settings");

    let bad = app
        .post_form(
            &client,
            &page,
            &path,
            &[
                ("name", "Renamed"),
                ("api_limit_percent", "101"),
                ("frequency", "hourly"),
                ("hour_utc", "24"),
                ("retain_auto_archived_days", "0"),
            ],
        )
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = bad.text().await.unwrap();
    assert!(body.contains("between 1 and 100"), "{body}");
    assert!(body.contains("between 0 and 23"));
    assert!(body.contains("Choose how often"));
    assert!(body.contains("auto-archived backups for 1 to"));
    let task = app.store().account(account).tasks().get(id).await.unwrap();
    assert_eq!(task.name, "Team", "nothing saved");
    assert_eq!(task.settings, TaskSettings::default());

    let good = app
        .post_form(
            &client,
            &page,
            &path,
            &[
                ("name", "Renamed"),
                ("api_limit_percent", "100"),
                ("index_for_search", "on"),
                ("frequency", "three_times_a_day"),
                ("hour_utc", "23"),
                ("auto_activate", "on"),
                ("retain_auto_archived_days", "30"),
            ],
        )
        .await;
    assert_eq!(good.status(), StatusCode::SEE_OTHER);
    let task = app.store().account(account).tasks().get(id).await.unwrap();
    assert_eq!(task.name, "Renamed");
    assert_eq!(task.settings.api_limit_percent, 100);
    assert_eq!(task.settings.hour_utc, 23);
    assert!(task.settings.auto_activate);
    assert_eq!(task.settings.retain_auto_archived_days, Some(30));
    app.shutdown().await;
}

async fn entity_ids(app: &TestApp, account: AccountId, task: TaskId) -> Vec<(String, String)> {
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

#[tokio::test]
async fn entity_actions_tags_filters_and_the_homepage_reminder() {
    let app = app_with(None, None).await;
    let (client, user) = app.signed_in_client("ada@example.com").await;
    let account = account_of(&app, &user.email).await;
    let id = seeded_task(&app, account, &["Alice", "Bob", "Carol"]).await;
    let ids = entity_ids(&app, account, id).await;
    let page = format!("/tasks/{id}");
    let home = client
        .get(app.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(home.contains("3 entities are not activated"), "{home}");

    let action = format!("/tasks/{id}/entities/action");
    let r = app
        .post_form(
            &client,
            &page,
            &action,
            &[
                ("action", "activate"),
                ("entity", &ids[0].1),
                ("entity", &ids[1].1),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let alice = app
        .store()
        .account(account)
        .entities()
        .get(ids[0].1.parse().unwrap())
        .await
        .unwrap();
    assert_eq!(alice.status, EntityStatus::Scheduled);
    let home = client
        .get(app.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(home.contains("1 entity is not activated"), "{home}");

    // Tags: create, apply to Carol, filter by it (page fragment and API).
    let r = app
        .post_form(
            &client,
            &page,
            &format!("/tasks/{id}/tags"),
            &[("tag_name", "VIP")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let tag = app.store().account(account).tags().list().await.unwrap()[0].id;
    let token = app.csrf_token(&client, &page).await;
    let fragment = client
        .post(app.url(&action))
        .header("hx-request", "true")
        .form(&[
            ("csrf_token", token.as_str()),
            ("action", "tag"),
            ("tag", &tag.to_string()),
            ("entity", &ids[2].1),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(fragment.status(), StatusCode::OK);
    let html = fragment.text().await.unwrap();
    assert!(html.starts_with("<div id=\"entities\""), "an htmx fragment");
    assert!(html.contains("1 entities changed"));
    let api: serde_json::Value = client
        .get(app.url(&format!("/api/v1/tasks/{id}/entities?tag={tag}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(api["total"], 1);
    assert_eq!(api["entities"][0]["name"], "Carol");
    let searched: serde_json::Value = client
        .get(app.url(&format!("/api/v1/tasks/{id}/entities?q=bob")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(searched["total"], 1);

    // Pause, Backup now on a selection, Delete.
    let r = app
        .post_form(
            &client,
            &page,
            &action,
            &[("action", "pause"), ("entity", &ids[0].1)],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = app
        .post_form(
            &client,
            &page,
            &action,
            &[("action", "backup"), ("entity", &ids[1].1)],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let jobs = app
        .store()
        .account(account)
        .jobs()
        .list(&JobQuery {
            task: Some(id),
            limit: 10,
            ..JobQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(
        jobs[0].params["entities"][0].as_str(),
        Some(ids[1].1.as_str())
    );
    let r = app
        .post_form(
            &client,
            &page,
            &action,
            &[("action", "delete"), ("entity", &ids[2].1)],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let left = app
        .store()
        .account(account)
        .entities()
        .count(id, &EntityQuery::default())
        .await
        .unwrap();
    assert_eq!(left, 2);

    // An unknown action or an empty selection is refused.
    let r = app
        .post_form(
            &client,
            &page,
            &action,
            &[("action", "explode"), ("entity", &ids[0].1)],
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = app
        .post_form(&client, &page, &action, &[("action", "pause")])
        .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);

    // The drill-down page renders its chart.
    let detail = client
        .get(app.url(&format!("/tasks/{id}/entities/{}?days=30", ids[0].1)))
        .send()
        .await
        .unwrap();
    assert_eq!(detail.status(), StatusCode::OK);
    let html = detail.text().await.unwrap();
    assert!(html.contains("<svg class=\"chart\"") && html.contains("Alice"));
    app.shutdown().await;
}

/// Adds an Administrator to `account` and signs them in.
async fn secondary_admin(app: &TestApp, account: AccountId, email: &str) -> Client {
    let password = "Analytical-Engine-1843";
    let hash = app.app().state.passwords().hash(password).await.unwrap();
    let user = User {
        id: cairn_domain::ids::UserId::new(),
        account_id: account,
        email: EmailAddress::parse(email).unwrap(),
        name: "Second Admin".into(),
        role: Role::Administrator,
        status: UserStatus::Active,
        created_at: app.clock().now(),
        activated_at: Some(app.clock().now()),
    };
    app.store()
        .account(account)
        .users()
        .create(&user, Some(&hash))
        .await
        .unwrap();
    let client = app.client();
    let r = app.sign_in(&client, email, password).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    client
}

async fn text(client: &Client, url: String) -> (StatusCode, String) {
    let r = client.get(url).send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}

#[tokio::test]
async fn limited_access_entities_leave_no_trace_for_a_secondary_administrator() {
    let app = app_with(None, None).await;
    let (primary, user) = app.signed_in_client("ada@example.com").await;
    let account = account_of(&app, &user.email).await;
    let id = seeded_task(&app, account, &["Alice", "Zebediah"]).await;
    let ids = entity_ids(&app, account, id).await;
    let (hidden_name, hidden) = ids.iter().find(|(n, _)| n == "Zebediah").unwrap().clone();
    let page = format!("/tasks/{id}");

    let r = app
        .post_form(
            &primary,
            &page,
            &format!("/tasks/{id}/tags"),
            &[("tag_name", "Board"), ("limited_access", "on")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let tag = app.store().account(account).tags().list().await.unwrap()[0].id;
    let r = app
        .post_form(
            &primary,
            &page,
            &format!("/tasks/{id}/entities/action"),
            &[
                ("action", "tag"),
                ("tag", &tag.to_string()),
                ("entity", &hidden),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);

    // The primary user still sees it.
    let (_, body) = text(&primary, app.url(&page)).await;
    assert!(body.contains(&hidden_name));

    let admin = secondary_admin(&app, account, "second@example.com").await;
    let (status, body) = text(&admin, app.url(&page)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!body.contains(&hidden_name), "not on the task page");
    assert!(
        !body.contains("Board"),
        "the Limited Access tag is not offered"
    );
    assert!(body.contains("Alice"));
    assert!(body.contains("1 entities"), "counts leave it out");
    let (_, home) = text(&admin, app.url("/")).await;
    assert!(home.contains("1 entity is not activated"), "{home}");
    let (_, home) = text(&primary, app.url("/")).await;
    assert!(home.contains("2 entities are not activated"));

    let (_, list) = text(&admin, app.url(&format!("/api/v1/tasks/{id}/entities"))).await;
    let list: serde_json::Value = serde_json::from_str(&list).unwrap();
    assert_eq!(list["total"], 1);
    assert!(!list.to_string().contains(&hidden));
    let (_, task) = text(&admin, app.url(&format!("/api/v1/tasks/{id}"))).await;
    let task: serde_json::Value = serde_json::from_str(&task).unwrap();
    assert_eq!(task["entities"], 1);
    let (status, body) = text(
        &admin,
        app.url(&format!("/api/v1/tasks/{id}/entities/{hidden}")),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error_code(&body), "entity.not_found");
    let (status, _) = text(&admin, app.url(&format!("{page}/entities/{hidden}"))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, search) = text(
        &admin,
        app.url(&format!("/api/v1/tasks/{id}/entities?q=zeb")),
    )
    .await;
    assert!(search.contains("\"total\":0"), "{search}");

    // Acting on its id does nothing.
    let r = app
        .post_form(
            &admin,
            &page,
            &format!("/tasks/{id}/entities/action"),
            &[("action", "activate"), ("entity", &hidden)],
        )
        .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let entity = app
        .store()
        .account(account)
        .entities()
        .get(hidden.parse().unwrap())
        .await
        .unwrap();
    assert_eq!(entity.status, EntityStatus::NotActive);
    // Nor may the administrator make Limited Access tags.
    let r = app
        .post_form(
            &admin,
            &page,
            &format!("/tasks/{id}/tags"),
            &[("tag_name", "Mine"), ("limited_access", "on")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    app.shutdown().await;
}

#[tokio::test]
async fn deleting_a_task_has_a_grace_period_and_can_be_undone() {
    let app = app_with(None, None).await;
    let (client, user) = app.signed_in_client("ada@example.com").await;
    let account = account_of(&app, &user.email).await;
    let id = seeded_task(&app, account, &["Alice"]).await;
    let page = format!("/tasks/{id}");
    let unconfirmed = app
        .post_form(
            &client,
            &format!("{page}/delete"),
            &format!("{page}/delete"),
            &[],
        )
        .await;
    assert_eq!(unconfirmed.status(), StatusCode::BAD_REQUEST);
    let r = app
        .post_form(
            &client,
            &format!("{page}/delete"),
            &format!("{page}/delete"),
            &[("confirm", "yes")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let task = app.store().account(account).tasks().get(id).await.unwrap();
    let due = task.purge_due_at().unwrap();
    let (_, home) = text(&client, app.url("/")).await;
    assert!(
        home.contains(&format!("Deleting on {}", due.format("%Y-%m-%d"))),
        "{home}"
    );
    let backup = app
        .post_form(&client, &page, &format!("{page}/backup"), &[])
        .await;
    assert_eq!(
        backup.status(),
        StatusCode::CONFLICT,
        "deleted tasks are not backed up"
    );
    let r = app
        .post_form(&client, &page, &format!("{page}/restore"), &[])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let task = app.store().account(account).tasks().get(id).await.unwrap();
    assert_eq!(task.deleted_at, None);
    let trail: Vec<String> = audit_trail(&app, &user.email)
        .await
        .into_iter()
        .map(|(code, _, _)| code)
        .filter(|code| code.starts_with("task."))
        .collect();
    assert_eq!(trail, ["task.deleted", "task.restored"]);
    app.shutdown().await;
}

#[tokio::test]
async fn every_task_form_needs_its_csrf_token() {
    let app = app_with(None, None).await;
    let (client, user) = app.signed_in_client("ada@example.com").await;
    let account = account_of(&app, &user.email).await;
    let id = seeded_task(&app, account, &["Alice"]).await;
    let entity = &entity_ids(&app, account, id).await[0].1;
    let page = client
        .get(app.url(&format!("/tasks/{id}")))
        .send()
        .await
        .unwrap();
    let html = page.text().await.unwrap();
    assert!(!csrf_token_in(&html).is_empty());
    let posts: Vec<(String, Vec<(&str, &str)>)> = vec![
        ("/tasks".into(), vec![("service", "dropbox"), ("name", "X")]),
        (format!("/tasks/{id}/connect"), vec![]),
        (
            format!("/tasks/{id}/settings"),
            vec![
                ("name", "Hacked"),
                ("api_limit_percent", "50"),
                ("frequency", "daily"),
                ("hour_utc", "1"),
            ],
        ),
        (format!("/tasks/{id}/backup"), vec![]),
        (format!("/tasks/{id}/delete"), vec![("confirm", "yes")]),
        (format!("/tasks/{id}/restore"), vec![]),
        (
            format!("/tasks/{id}/entities/action"),
            vec![("action", "activate"), ("entity", entity)],
        ),
        (format!("/tasks/{id}/tags"), vec![("tag_name", "Forged")]),
    ];
    for (path, fields) in posts {
        let r = client
            .post(app.url(&path))
            .form(&fields)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{path}");
        assert_eq!(
            error_code(&r.text().await.unwrap()),
            "request.csrf_failed",
            "{path}"
        );
    }
    let scope = app.store().account(account);
    let task = scope.tasks().get(id).await.unwrap();
    assert_eq!(task.name, "Team");
    assert_eq!(task.deleted_at, None);
    assert!(scope.tags().list().await.unwrap().is_empty());
    assert_eq!(scope.tasks().list(true).await.unwrap().len(), 1);
    assert!(
        scope
            .jobs()
            .list(&JobQuery {
                limit: 10,
                ..JobQuery::default()
            })
            .await
            .unwrap()
            .is_empty()
    );
    let e = scope.entities().get(entity.parse().unwrap()).await.unwrap();
    assert_eq!(e.status, EntityStatus::NotActive);
    app.shutdown().await;
}

#[tokio::test]
async fn the_api_answers_stable_codes_and_keeps_accounts_apart() {
    let app = app_with(None, None).await;
    let (client, user) = app.signed_in_client("ada@example.com").await;
    let account = account_of(&app, &user.email).await;
    let id = seeded_task(&app, account, &["Alice"]).await;

    let (status, body) = text(&client, app.url("/api/v1/tasks")).await;
    assert_eq!(status, StatusCode::OK);
    let list: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(list["tasks"][0]["id"], id.to_string());
    assert_eq!(list["tasks"][0]["service"], "dropbox");
    assert_eq!(list["tasks"][0]["settings"]["api_limit_percent"], 75);
    assert!(!body.contains("token"), "no token material in the API");

    let (status, body) = text(
        &client,
        app.url(&format!("/api/v1/tasks/{}", TaskId::new())),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error_code(&body), "task.not_found");
    let (status, body) = text(&client, app.url("/api/v1/tasks/not-an-id")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_code(&body), "request.invalid_id");
    let (status, body) = text(
        &client,
        app.url(&format!("/api/v1/tasks/{id}/entities?status=bogus")),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_code(&body), "task.invalid");

    // Another account's user sees neither the task nor its entities.
    let (other, _) = app.signed_in_client("eve@example.com").await;
    let (status, body) = text(&other, app.url(&format!("/api/v1/tasks/{id}"))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error_code(&body), "task.not_found");
    let (status, _) = text(&other, app.url(&format!("/api/v1/tasks/{id}/entities"))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = text(&other, app.url(&format!("/tasks/{id}"))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, body) = text(&other, app.url("/api/v1/tasks")).await;
    assert_eq!(body, r#"{"tasks":[]}"#);

    // Signed out: 401.
    let (status, body) = text(&app.client(), app.url("/api/v1/tasks")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(&body), "auth.required");
    app.shutdown().await;
}
