//! The usage report (F-TASK-8): "Export" on the Homepage e-mails a CSV of every entity of
//! the account's tasks with its status; Limited Access entities stay out of a secondary
//! administrator's report; the form needs its CSRF token; mail to one address is capped.

use cairn_domain::Clock;
use cairn_domain::account::{Role, UserStatus};
use cairn_domain::entity::{DiscoveredEntity, Tag};
use cairn_domain::ids::{AccountId, TaskId, UserId};
use cairn_domain::{
    BackupTask, ConnectionStatus, EmailAddress, EntityKind, EntityStatus, Environment, Service,
    TaskSettings, User,
};
use cairn_testkit::TestApp;
use reqwest::{Client, StatusCode};

use crate::support::{audit_trail, error_code, location};

async fn task_with(
    app: &TestApp,
    account: AccountId,
    service: Service,
    name: &str,
    found: &[(EntityKind, &str, Option<&str>)],
) -> TaskId {
    let task = BackupTask::new(
        account,
        service,
        name,
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
    let found: Vec<DiscoveredEntity> = found
        .iter()
        .map(|(kind, name, email)| DiscoveredEntity {
            kind: *kind,
            name: (*name).to_owned(),
            external_id: (*name).to_owned(),
            email: email.map(str::to_owned),
        })
        .collect();
    scope
        .entities()
        .upsert_discovered(task.id, &found, EntityStatus::NotActive, app.clock().now())
        .await
        .unwrap();
    task.id
}

async fn set_status(app: &TestApp, account: AccountId, task: TaskId, name: &str, s: EntityStatus) {
    let scope = app.store().account(account);
    let all = scope
        .entities()
        .list(
            task,
            &cairn_meta::EntityQuery {
                include_limited: true,
                ..cairn_meta::EntityQuery::default()
            },
        )
        .await
        .unwrap();
    let id = all.iter().find(|e| e.name == name).unwrap().id;
    scope.entities().set_status(&[id], s).await.unwrap();
}

async fn export(app: &TestApp, client: &Client) -> reqwest::Response {
    app.post_form(client, "/", "/tasks/usage-report", &[]).await
}

/// The CSV attached to the newest mail to `to`, as rows of cells.
async fn report_rows(app: &TestApp, to: &str) -> Vec<Vec<String>> {
    let mail = app.last_mail_to(to).await;
    assert_eq!(mail.attachments.len(), 1, "one CSV attached");
    let file = &mail.attachments[0];
    assert!(file.filename.ends_with(".csv"), "{}", file.filename);
    assert!(file.content_type.starts_with("text/csv"));
    let mut reader = csv::Reader::from_reader(file.content.as_slice());
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(header[4], "Entity");
    assert_eq!(header[6], "Usage");
    reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

#[tokio::test]
async fn the_usage_report_lists_every_visible_entity_with_its_status() {
    let app = TestApp::spawn().await;
    let (primary, user) = app.signed_in_client("ada@example.com").await;
    let email = EmailAddress::parse(&user.email).unwrap();
    let account = app
        .store()
        .directory()
        .find_user_by_email(&email)
        .await
        .unwrap()
        .unwrap()
        .user
        .account_id;
    let org = task_with(
        &app,
        account,
        Service::Salesforce,
        "Production org",
        &[
            (EntityKind::SalesforceObject, "Account", None),
            (EntityKind::SalesforceObject, "Contact", None),
        ],
    )
    .await;
    let team = task_with(
        &app,
        account,
        Service::Dropbox,
        "Team",
        &[
            (
                EntityKind::DropboxMember,
                "Grace",
                Some("grace@team.example"),
            ),
            (
                EntityKind::DropboxMember,
                "=cmd|' /C calc'!A0",
                Some("x@team.example"),
            ),
            (
                EntityKind::DropboxMember,
                "Secret Board",
                Some("board@team.example"),
            ),
            (EntityKind::DropboxTeamFolder, "Sales", None),
        ],
    )
    .await;
    set_status(&app, account, org, "Account", EntityStatus::Success).await;
    set_status(&app, account, team, "Sales", EntityStatus::Archived).await;
    let scope = app.store().account(account);
    let hidden = Tag::new("Board", true, app.clock().now()).unwrap();
    scope.tags().create(&hidden).await.unwrap();
    let board = scope
        .entities()
        .list(
            team,
            &cairn_meta::EntityQuery {
                include_limited: true,
                ..cairn_meta::EntityQuery::default()
            },
        )
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.name == "Secret Board")
        .unwrap();
    scope.tags().apply(hidden.id, &[board.id]).await.unwrap();

    // The Homepage offers the export; it answers with a notice and sends the mail.
    let home = primary.get(app.url("/")).send().await.unwrap();
    assert!(
        home.text()
            .await
            .unwrap()
            .contains("action=\"/tasks/usage-report\"")
    );
    let r = export(&app, &primary).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), "/?notice=usage_report_sent");
    let page = primary.get(app.url(&location(&r))).send().await.unwrap();
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("usage report is on its way")
    );

    let rows = report_rows(&app, &user.email).await;
    assert_eq!(rows.len(), 6, "{rows:?}");
    let by_name = |name: &str| rows.iter().find(|r| r[4] == name).cloned().unwrap();
    let account_row = by_name("Account");
    assert_eq!(account_row[0], "Production org");
    assert_eq!(account_row[1], "Salesforce");
    assert_eq!(account_row[2], "Production");
    assert_eq!(account_row[3], "Object data");
    assert_eq!(
        (account_row[6].as_str(), account_row[7].as_str()),
        ("Active", "Success")
    );
    assert_eq!(by_name("Contact")[6], "Inactive");
    assert_eq!(by_name("Sales")[6], "Archived");
    let grace = by_name("Grace");
    assert_eq!((grace[1].as_str(), grace[2].as_str()), ("Dropbox", ""));
    assert_eq!(grace[5], "grace@team.example");
    // A formula-looking name is written as text.
    assert!(rows.iter().any(|r| r[4] == "'=cmd|' /C calc'!A0"));
    assert_eq!(
        by_name("Secret Board")[8],
        "Board",
        "the primary user sees it"
    );
    assert!(
        audit_trail(&app, &user.email)
            .await
            .iter()
            .any(|(code, _, _)| code == "usage_report.sent")
    );

    // A secondary administrator's report leaves the Limited Access member out.
    let second = "second@example.com";
    let password = "Analytical-Engine-1843";
    let hash = app.app().state.passwords().hash(password).await.unwrap();
    let admin = User {
        id: UserId::new(),
        account_id: account,
        email: EmailAddress::parse(second).unwrap(),
        name: "Second".into(),
        role: Role::Administrator,
        status: UserStatus::Active,
        created_at: app.clock().now(),
        activated_at: Some(app.clock().now()),
    };
    scope.users().create(&admin, Some(&hash)).await.unwrap();
    let secondary = app.client();
    app.sign_in(&secondary, second, password).await;
    assert_eq!(
        export(&app, &secondary).await.status(),
        StatusCode::SEE_OTHER
    );
    let rows = report_rows(&app, second).await;
    assert_eq!(rows.len(), 5);
    assert!(
        rows.iter()
            .all(|r| r[4] != "Secret Board" && r[8] != "Board")
    );
    app.shutdown().await;
}

#[tokio::test]
async fn the_export_needs_its_token_and_is_capped_per_address() {
    let app = TestApp::spawn().await;
    let (client, user) = app.signed_in_client("ada@example.com").await;
    let forged = client
        .post(app.url("/tasks/usage-report"))
        .form(&[("csrf_token", "forged")])
        .send()
        .await
        .unwrap();
    let before = app.mail_count_to(&user.email).await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.mail_count_to(&user.email).await, before, "nothing sent");

    // Mail to one address is capped.
    let mut refused = None;
    for _ in 0..5 {
        let r = export(&app, &client).await;
        if r.status() != StatusCode::SEE_OTHER {
            refused = Some((r.status(), r.text().await.unwrap()));
            break;
        }
    }
    let (status, body) = refused.expect("the cap refuses a flood of reports");
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(error_code(&body), "report.too_many");
    assert!(app.mail_count_to(&user.email).await - before <= 3);
    app.shutdown().await;
}

#[tokio::test]
async fn the_demo_mailbox_offers_the_report_for_download() {
    let app = TestApp::builder().demo(true).spawn().await;
    let (client, user) = app.signed_in_client("ada@example.com").await;
    assert_eq!(export(&app, &client).await.status(), StatusCode::SEE_OTHER);
    let mail = app.last_mail_to(&user.email).await;
    let page = client
        .get(app.url(&format!("/dev/mailbox/{}", mail.id)))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let href = format!("/dev/mailbox/{}/attachments/0", mail.id);
    assert!(page.contains(&href), "{page}");
    let file = client.get(app.url(&href)).send().await.unwrap();
    assert_eq!(file.status(), StatusCode::OK);
    let disposition = file.headers()["content-disposition"].to_str().unwrap();
    assert!(disposition.starts_with("attachment; filename=\"cairn-usage-report-"));
    assert!(file.text().await.unwrap().starts_with("Task,Service,"));
    let missing = client
        .get(app.url(&format!("/dev/mailbox/{}/attachments/1", mail.id)))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    app.shutdown().await;
}
