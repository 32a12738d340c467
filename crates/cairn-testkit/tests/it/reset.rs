//! Forgotten password (F-ACC-2).

use cairn_domain::event::EventOutcome::Success;
use cairn_testkit::TestApp;
use reqwest::StatusCode;

use crate::support::{audit_trail, location};

#[tokio::test]
async fn reset_link_sets_a_new_password_and_signs_out_everywhere() {
    let app = TestApp::spawn().await;
    let (signed_in_elsewhere, user) = app.signed_in_client("reset@example.com").await;
    let browser = app.client();

    let response = app
        .post_form(
            &browser,
            "/password/forgot",
            "/password/forgot",
            &[("email", "Reset@Example.com")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/password/forgot/sent");
    let mail = app.last_mail_to(&user.email).await;
    assert_eq!(mail.subject, "Reset your Cairn password");
    let link = app.link_in_mail(&user.email, "/password/reset").await;

    let form = browser.get(&link).send().await.unwrap();
    assert_eq!(form.status(), StatusCode::OK);
    let html = form.text().await.unwrap();
    assert!(html.contains("For reset@example.com"));
    let csrf = cairn_testkit::csrf_token_in(&html);
    let token = link.split("token=").nth(1).unwrap().to_owned();
    let new_password = "Brand-New-Secret-9";
    let response = browser
        .post(app.url("/password/reset"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("token", token.as_str()),
            ("password", new_password),
            ("password_confirm", new_password),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/sign-in?notice=password_reset");

    // The other browser was signed out; the old password is dead; the new one works.
    let home = signed_in_elsewhere.get(app.url("/")).send().await.unwrap();
    assert_eq!(home.status(), StatusCode::SEE_OTHER);
    let response = app.sign_in(&browser, &user.email, &user.password).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let response = app.sign_in(&browser, &user.email, new_password).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);

    // The link was single-use.
    let again = browser.get(&link).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);
    assert!(
        again
            .text()
            .await
            .unwrap()
            .contains("This reset link does not work")
    );

    let trail = audit_trail(&app, &user.email).await;
    let kinds: Vec<&str> = trail
        .iter()
        .filter(|(_, o, _)| *o == Success)
        .map(|(k, _, _)| k.as_str())
        .collect();
    assert_eq!(
        kinds,
        [
            "user.created",
            "auth.sign_in",
            "auth.password_reset_request",
            "auth.password_reset",
            "auth.sign_in"
        ]
    );
    app.shutdown().await;
}

#[tokio::test]
async fn unknown_addresses_get_the_same_answer_and_no_mail() {
    let app = TestApp::spawn().await;
    let browser = app.client();
    let response = app
        .post_form(
            &browser,
            "/password/forgot",
            "/password/forgot",
            &[("email", "nobody@example.com")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/password/forgot/sent");
    assert!(app.outbox().list(10).await.unwrap().is_empty());

    let response = app
        .post_form(
            &browser,
            "/password/forgot",
            "/password/forgot",
            &[("email", "bad address")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("Enter a valid email address")
    );
    app.shutdown().await;
}

#[tokio::test]
async fn weak_passwords_are_refused_and_the_link_keeps_working_until_it_expires() {
    let app = TestApp::spawn().await;
    let user = app.create_user("weak@example.com").await;
    let browser = app.client();
    app.post_form(
        &browser,
        "/password/forgot",
        "/password/forgot",
        &[("email", &user.email)],
    )
    .await;
    let link = app.link_in_mail(&user.email, "/password/reset").await;
    let token = link.split("token=").nth(1).unwrap().to_owned();
    let path = link.trim_start_matches(&app.base_url).to_owned();

    let response = app
        .post_form(
            &browser,
            &path,
            "/password/reset",
            &[
                ("token", &token),
                ("password", "weak"),
                ("password_confirm", "weak"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("Use at least 10 characters.")
    );
    assert_eq!(
        browser.get(&link).send().await.unwrap().status(),
        StatusCode::OK
    );

    app.clock().advance(chrono::Duration::minutes(61));
    assert_eq!(
        browser.get(&link).send().await.unwrap().status(),
        StatusCode::BAD_REQUEST
    );
    app.shutdown().await;
}

#[tokio::test]
async fn reset_mails_to_one_address_are_capped_without_changing_the_answer() {
    let app = TestApp::spawn().await;
    let user = app.create_user("flooded@example.com").await;
    let browser = app.client();
    for _ in 0..5 {
        let response = app
            .post_form(
                &browser,
                "/password/forgot",
                "/password/forgot",
                &[("email", &user.email)],
            )
            .await;
        // Held-back requests answer exactly like the others.
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&response), "/password/forgot/sent");
    }
    assert_eq!(app.mail_count_to(&user.email).await, 3);

    // The window slides: a quarter of an hour later one more goes out.
    app.clock().advance(chrono::Duration::minutes(15));
    app.post_form(
        &browser,
        "/password/forgot",
        "/password/forgot",
        &[("email", &user.email)],
    )
    .await;
    assert_eq!(app.mail_count_to(&user.email).await, 4);
    app.shutdown().await;
}
