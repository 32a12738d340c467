//! Entities of a task over HTTP (issue 7 item 4): actions on a selection, tags and
//! filters, the Homepage reminder, and Limited Access for a secondary administrator.

use cairn_domain::Clock;
use cairn_domain::ids::AccountId;
use cairn_domain::{EmailAddress, EntityStatus, Role, User, UserStatus};
use cairn_meta::{EntityQuery, JobQuery};
use cairn_testkit::TestApp;
use reqwest::{Client, StatusCode};

use crate::support::error_code;
use crate::task_support::{account_of, app_with, entity_ids, seeded_task, text};

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
