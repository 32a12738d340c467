//! Backup task settings and lifecycle over HTTP: settings validation, deletion with a
//! grace period, CSRF on every task form, and the task API's codes and account isolation.

use cairn_domain::ids::TaskId;
use cairn_domain::{EntityStatus, TaskSettings};
use cairn_meta::JobQuery;
use cairn_testkit::csrf_token_in;
use reqwest::StatusCode;

use crate::support::{audit_trail, error_code};
use crate::task_support::{account_of, app_with, entity_ids, seeded_task, text};

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
