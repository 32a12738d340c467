//! Cross-site request forgery protection.

use cairn_testkit::TestApp;
use reqwest::StatusCode;

use crate::support::error_code;

#[tokio::test]
async fn forms_without_a_valid_token_are_refused_with_403() {
    let app = TestApp::spawn().await;
    let user = app.create_user("csrf@example.com").await;
    let browser = app.client();
    // Load the form so the browser has its CSRF cookie, then post without the token.
    app.csrf_token(&browser, "/sign-in").await;
    let response = browser
        .post(app.url("/sign-in"))
        .form(&[
            ("email", user.email.as_str()),
            ("password", user.password.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let body = response.text().await.unwrap();
    assert_eq!(error_code(&body), "request.csrf_failed");
    assert!(body.contains("reload the page"));

    // A token issued to another browser does not work either.
    let other = app.client();
    let foreign = app.csrf_token(&other, "/sign-in").await;
    let response = browser
        .post(app.url("/sign-in"))
        .form(&[
            ("csrf_token", foreign.as_str()),
            ("email", &user.email),
            ("password", &user.password),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);

    // A forged request from a page elsewhere has no cookies at all.
    let cookieless = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = cookieless
        .post(app.url("/sign-up"))
        .form(&[("csrf_token", foreign.as_str()), ("email", "x@example.com")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(
        app.outbox().list(10).await.unwrap().is_empty(),
        "nothing happened"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn signed_in_forms_are_bound_to_the_session() {
    let app = TestApp::spawn().await;
    let (browser, _) = app.signed_in_client("bound@example.com").await;
    // A token from before sign-in (bound to the anonymous cookie) no longer works.
    let anonymous_token = {
        let fresh = app.client();
        app.csrf_token(&fresh, "/sign-in").await
    };
    let response = browser
        .post(app.url("/sign-out"))
        .form(&[("csrf_token", anonymous_token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    // Still signed in.
    assert_eq!(
        browser.get(app.url("/")).send().await.unwrap().status(),
        StatusCode::OK
    );

    // The header form (htmx) works like the field.
    let token = app.csrf_token(&browser, "/").await;
    let response = browser
        .post(app.url("/sign-out"))
        .header("x-csrf-token", token)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    app.shutdown().await;
}
