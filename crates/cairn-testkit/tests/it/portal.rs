//! Portal pages: layout, navigation, activity, demo mailbox, assets, security headers.

use cairn_testkit::{SignUp, TestApp};
use reqwest::StatusCode;

#[tokio::test]
async fn the_layout_lists_only_pages_that_exist() {
    let app = TestApp::spawn().await;
    let (client, user) = app.signed_in_client("nav@example.com").await;
    let response = client.get(app.url("/")).send().await.unwrap();
    let headers = response.headers().clone();
    let html = response.text().await.unwrap();
    for present in [
        "href=\"/\"",
        "href=\"/activity\"",
        "Change password",
        "action=\"/sign-out\"",
        &user.email,
    ] {
        assert!(html.contains(present), "missing {present}");
    }
    for absent in [
        "href=\"/jobs\"",
        "href=\"/recovery\"",
        "href=\"/settings\"",
        "href=\"/support\"",
        "/dev/mailbox",
    ] {
        assert!(!html.contains(absent), "unexpected {absent}");
    }
    assert!(html.contains("+ Add backup task"));
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'self'"));
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["cache-control"], "no-store");
    // Every page the navigation links to answers.
    for path in ["/", "/activity", "/account/password"] {
        assert_eq!(
            client.get(app.url(path)).send().await.unwrap().status(),
            StatusCode::OK,
            "{path}"
        );
    }
    app.shutdown().await;
}

#[tokio::test]
async fn assets_are_embedded_with_their_types() {
    let app = TestApp::spawn().await;
    let client = app.client();
    for (path, kind) in [
        ("/assets/cairn.css", "text/css"),
        ("/assets/htmx.min.js", "text/javascript"),
        ("/assets/logo.svg", "image/svg+xml"),
    ] {
        let response = client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with(kind),
            "{path}"
        );
        assert!(!response.bytes().await.unwrap().is_empty());
    }
    let response = client
        .get(app.url("/assets/secret.txt"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    app.shutdown().await;
}

#[tokio::test]
async fn the_activity_page_shows_the_audit_trail_and_pages_with_htmx() {
    let app = TestApp::spawn().await;
    let user = app.create_user("audit@example.com").await;
    let client = app.client();
    for _ in 0..3 {
        app.sign_in(&client, &user.email, "wrong-Password-1").await;
    }
    app.sign_in(&client, &user.email, &user.password).await;
    app.clock().advance(chrono::Duration::minutes(1));
    let html = client
        .get(app.url("/activity"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Sign-in"));
    assert!(html.contains("wrong password"));
    assert!(html.contains("127.0.0.1"));
    assert!(html.contains("User created"));
    assert!(!html.contains("Show older events"), "one page only");

    // Fill more than a page and follow the htmx "older" link.
    for _ in 0..55 {
        app.sign_in(&app.client(), &user.email, &user.password)
            .await;
    }
    let html = client
        .get(app.url("/activity"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let start = html.find("hx-get=\"").unwrap() + "hx-get=\"".len();
    let more = html[start..html[start..].find('"').unwrap() + start]
        .replace("&#x2f;", "/")
        .replace("&amp;", "&");
    let partial = client
        .get(app.url(&more))
        .header("hx-request", "true")
        .send()
        .await
        .unwrap();
    assert_eq!(partial.status(), StatusCode::OK);
    let rows = partial.text().await.unwrap();
    assert!(!rows.contains("<html"), "a fragment, not a page");
    assert!(rows.contains("<tr>"));
    app.shutdown().await;
}

#[tokio::test]
async fn the_demo_mailbox_shows_messages_with_clickable_links() {
    let app = TestApp::builder().demo(true).spawn().await;
    let client = app.client();
    app.sign_up(&client, &SignUp::new("mailbox@example.com"))
        .await;
    let list = client
        .get(app.url("/dev/mailbox"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(list.contains("Activate your Cairn account"));
    let mail = app.last_mail_to("mailbox@example.com").await;
    let page = client
        .get(app.url(&format!("/dev/mailbox/{}", mail.id)))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let link = app.link_in_mail("mailbox@example.com", "/activate").await;
    assert!(
        page.contains(&format!("<a href=\"{}\"", link.replace('/', "&#x2f;")))
            || page.contains(&format!("<a href=\"{link}\"")),
        "{page}"
    );

    // Without demo mode the mailbox does not exist.
    let normal = TestApp::spawn().await;
    let response = normal
        .client()
        .get(normal.url("/dev/mailbox"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    normal.shutdown().await;
    app.shutdown().await;
}

#[tokio::test]
async fn the_api_reports_the_signed_in_user_or_401() {
    let app = TestApp::spawn().await;
    let anonymous = app
        .client()
        .get(app.url("/api/v1/me"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let json: serde_json::Value = anonymous.json().await.unwrap();
    assert_eq!(json["error"]["code"], "auth.required");

    let (client, user) = app.signed_in_client("api@example.com").await;
    let json: serde_json::Value = client
        .get(app.url("/api/v1/me"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(json["user"]["email"], user.email);
    assert_eq!(json["user"]["role"], "primary");
    assert!(json["account"]["id"].as_str().unwrap().starts_with("acc_"));
    assert_eq!(json["account"]["region"], "local");
    app.shutdown().await;
}
