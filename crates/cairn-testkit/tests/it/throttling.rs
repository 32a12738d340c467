//! Sign-in throttling per account and per IP.

use cairn_domain::event::EventOutcome::Failure;
use cairn_testkit::TestApp;
use reqwest::StatusCode;

use crate::support::audit_trail;

#[tokio::test]
async fn wrong_passwords_block_the_account_until_the_window_passes() {
    let app = TestApp::builder()
        .configure(|c| {
            c.auth.max_failed_sign_ins_per_account = 3;
            c.auth.throttle_window_minutes = 15;
        })
        .spawn()
        .await;
    let user = app.create_user("target@example.com").await;
    let attacker = app.client();
    for _ in 0..3 {
        let response = app.sign_in(&attacker, &user.email, "guess-Guess-1").await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let body = response.text().await.unwrap();
        assert!(body.contains("The email address or password is not correct."));
    }
    // Now even the right password is refused, with a clear message and Retry-After.
    let response = app.sign_in(&attacker, &user.email, &user.password).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: i64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=900).contains(&retry_after), "{retry_after}");
    let body = response.text().await.unwrap();
    assert!(
        body.contains("Too many failed sign-in attempts for this account. Try again in 15 minutes"),
        "{body}"
    );

    app.clock().advance(chrono::Duration::minutes(15));
    let response = app
        .sign_in(&app.client(), &user.email, &user.password)
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);

    let trail = audit_trail(&app, &user.email).await;
    let reasons: Vec<&str> = trail
        .iter()
        .filter(|(k, o, _)| k == "auth.sign_in" && *o == Failure)
        .map(|(_, _, r)| r.as_str())
        .collect();
    assert_eq!(
        reasons,
        [
            "wrong_password",
            "wrong_password",
            "wrong_password",
            "throttled"
        ]
    );
    app.shutdown().await;
}

#[tokio::test]
async fn many_failures_from_one_address_block_that_address() {
    let app = TestApp::builder()
        .configure(|c| {
            c.auth.max_failed_sign_ins_per_ip = 4;
            c.auth.max_failed_sign_ins_per_account = 100;
        })
        .spawn()
        .await;
    let user = app.create_user("victim@example.com").await;
    let client = app.client();
    for i in 0..4 {
        let response = app
            .sign_in(&client, &format!("spray{i}@example.com"), "Password-123")
            .await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let response = app.sign_in(&client, &user.email, &user.password).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.text().await.unwrap().contains("from your network"));
    let metrics = client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("cairn_sign_ins_total{outcome=\"failure\"} 4"),
        "{metrics}"
    );
    assert!(
        metrics.contains("cairn_sign_ins_total{outcome=\"throttled\"} 1"),
        "{metrics}"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn a_successful_sign_in_resets_the_account_counter() {
    let app = TestApp::builder()
        .configure(|c| c.auth.max_failed_sign_ins_per_account = 3)
        .spawn()
        .await;
    let user = app.create_user("forgetful@example.com").await;
    let client = app.client();
    for _ in 0..2 {
        app.sign_in(&client, &user.email, "nope-Nope-1").await;
    }
    assert_eq!(
        app.sign_in(&client, &user.email, &user.password)
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    let other = app.client();
    for _ in 0..2 {
        assert_eq!(
            app.sign_in(&other, &user.email, "nope-Nope-1")
                .await
                .status(),
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        app.sign_in(&other, &user.email, &user.password)
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    app.shutdown().await;
}
