//! Session lifetimes, driven by the manual clock.

use cairn_testkit::TestApp;
use chrono::Duration;
use reqwest::StatusCode;

use crate::support::location;

#[tokio::test]
async fn idle_sessions_expire_and_send_the_user_back_to_sign_in() {
    let app = TestApp::spawn().await;
    let (browser, _) = app.signed_in_client("idle@example.com").await;
    assert_eq!(
        browser
            .get(app.url("/activity"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );

    app.clock().advance(Duration::minutes(31));
    let response = browser.get(app.url("/activity")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&response),
        "/sign-in?notice=expired&next=%2Factivity"
    );
    let page = browser
        .get(app.url("/sign-in?notice=expired&next=%2Factivity"))
        .send()
        .await
        .unwrap();
    let html = page.text().await.unwrap();
    assert!(html.contains("Your session has expired"));
    assert!(html.contains("name=\"next\" value=\"/activity\""));
    app.shutdown().await;
}

#[tokio::test]
async fn activity_keeps_a_session_alive_until_the_absolute_limit() {
    let app = TestApp::spawn().await;
    let (browser, user) = app.signed_in_client("busy@example.com").await;
    // A request every 20 minutes keeps the session past the 30-minute idle limit…
    for _ in 0..35 {
        app.clock().advance(Duration::minutes(20));
        let response = browser.get(app.url("/")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
    // …but not past 12 hours after sign-in.
    app.clock().advance(Duration::minutes(20));
    let response = browser.get(app.url("/")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(location(&response).starts_with("/sign-in?notice=expired"));

    // The expired session was deleted, and signing in again works.
    let record = app
        .store()
        .directory()
        .find_user_by_email(&user.email.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        app.store()
            .sessions()
            .count_for_user(record.user.id)
            .await
            .unwrap(),
        0
    );
    let response = app.sign_in(&browser, &user.email, &user.password).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    app.shutdown().await;
}

#[tokio::test]
async fn sign_in_returns_to_the_page_that_asked_for_it_but_never_off_site() {
    let app = TestApp::spawn().await;
    let user = app.create_user("next@example.com").await;
    let browser = app.client();
    let response = browser.get(app.url("/activity")).send().await.unwrap();
    assert_eq!(location(&response), "/sign-in?next=%2Factivity");
    let response = app
        .post_form(
            &browser,
            "/sign-in?next=%2Factivity",
            "/sign-in",
            &[
                ("email", &user.email),
                ("password", &user.password),
                ("next", "/activity"),
            ],
        )
        .await;
    assert_eq!(location(&response), "/activity");

    let other = app.client();
    let response = app
        .post_form(
            &other,
            "/sign-in",
            "/sign-in",
            &[
                ("email", &user.email),
                ("password", &user.password),
                ("next", "//evil.example/"),
            ],
        )
        .await;
    assert_eq!(location(&response), "/");
    // Signed-in users visiting the sign-in page go home.
    let response = other.get(app.url("/sign-in")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    app.shutdown().await;
}

#[tokio::test]
async fn https_public_urls_make_cookies_secure() {
    let app = TestApp::builder()
        .configure(|c| c.server.public_url = Some("https://backup.example.com".into()))
        .spawn()
        .await;
    let user = app.create_user("secure@example.com").await;
    let response = app
        .sign_in(&app.client(), &user.email, &user.password)
        .await;
    let cookies = crate::support::set_cookies(&response);
    let session = cookies
        .iter()
        .find(|c| c.starts_with("cairn_session="))
        .unwrap();
    assert!(session.contains("; Secure"), "{session}");
    app.shutdown().await;
}
