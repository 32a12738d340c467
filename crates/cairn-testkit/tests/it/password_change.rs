//! Changing the password while signed in (F-ACC-2).

use cairn_testkit::TestApp;
use reqwest::StatusCode;

use crate::support::location;

#[tokio::test]
async fn change_password_needs_the_current_one_and_signs_out_other_sessions() {
    let app = TestApp::spawn().await;
    let (browser, user) = app.signed_in_client("change@example.com").await;
    let other = app.client();
    app.sign_in(&other, &user.email, &user.password).await;

    let response = app
        .post_form(
            &browser,
            "/account/password",
            "/account/password",
            &[
                ("current_password", "wrong-password"),
                ("password", "Rotated-Secret-42"),
                ("password_confirm", "Rotated-Secret-42"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("Your current password is not correct.")
    );

    let response = app
        .post_form(
            &browser,
            "/account/password",
            "/account/password",
            &[
                ("current_password", &user.password),
                ("password", "Rotated-Secret-42"),
                ("password_confirm", "Rotated-Secret-42"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/account/password?saved=1");
    let page = browser
        .get(app.url("/account/password?saved=1"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        page.status(),
        StatusCode::OK,
        "this session stays signed in"
    );
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("Your password has been changed.")
    );
    let elsewhere = other.get(app.url("/")).send().await.unwrap();
    assert_eq!(
        elsewhere.status(),
        StatusCode::SEE_OTHER,
        "other sessions are signed out"
    );

    let fresh = app.client();
    assert_eq!(
        app.sign_in(&fresh, &user.email, &user.password)
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.sign_in(&fresh, &user.email, "Rotated-Secret-42")
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    app.shutdown().await;
}
