//! Connecting backup tasks over HTTP (issue 6 item 4, issue 7 item 3): creating a task
//! and connecting it by OAuth against the in-process Salesforce and Dropbox emulators,
//! refused and forged callbacks.

use cairn_domain::{ConnectionStatus, Environment, JobKind};
use cairn_emulator::salesforce::Environment as SfEnv;
use cairn_meta::JobQuery;
use reqwest::StatusCode;

use crate::support::{audit_trail, error_code, location};
use crate::task_support::{
    MASTER_KEY, account_of, add_task, app_with, dropbox, dropbox_consent, salesforce,
    salesforce_consent, task_id_from,
};

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
