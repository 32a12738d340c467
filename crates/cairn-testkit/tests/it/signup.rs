//! Sign-up, activation, sign-in and sign-out (F-ACC-1).

use cairn_domain::event::EventOutcome::{Failure, Success};
use cairn_testkit::{SignUp, TestApp};
use reqwest::StatusCode;

use crate::support::{audit_trail, location, set_cookies};

#[tokio::test]
async fn sign_up_activate_sign_in_and_sign_out() {
    let app = TestApp::spawn().await;
    let browser = app.client();
    let email = "ada@example.com";
    let sign_up = SignUp::new(email);

    let response = app.sign_up(&browser, &sign_up).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/sign-up/check-email");
    let page = browser
        .get(app.url("/sign-up/check-email"))
        .send()
        .await
        .unwrap();
    assert!(page.text().await.unwrap().contains("Check your inbox"));

    let mail = app.last_mail_to(email).await;
    assert_eq!(mail.subject, "Activate your Cairn account");
    assert!(mail.text.contains("Hello Ada Lovelace"));

    // Not activated yet: the right password is refused with a clear message.
    let response = app.sign_in(&browser, email, &sign_up.password).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let body = response.text().await.unwrap();
    assert!(body.contains("auth.not_activated"), "{body}");
    assert!(body.contains("not activated yet"));

    let response = app.activate(&browser, email).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/sign-in?notice=activated");
    let page = browser
        .get(app.url("/sign-in?notice=activated"))
        .send()
        .await
        .unwrap();
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("Your account is activated")
    );

    let response = app
        .sign_in(&browser, "  ADA@Example.com ", &sign_up.password)
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/");
    let cookie = set_cookies(&response)
        .into_iter()
        .find(|c| c.starts_with("cairn_session="))
        .expect("session cookie");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=43200"] {
        assert!(cookie.contains(attribute), "{cookie} lacks {attribute}");
    }
    assert!(!cookie.contains("Secure"), "plain HTTP must not set Secure");

    let home = browser.get(app.url("/")).send().await.unwrap();
    assert_eq!(home.status(), StatusCode::OK);
    let html = home.text().await.unwrap();
    assert!(html.contains("Homepage"));
    assert!(html.contains("No backup tasks yet"));
    assert!(html.contains("Ada Lovelace"));
    assert!(html.contains("Local (this server)"));

    let response = app.sign_out(&browser).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/sign-in?notice=signed_out");
    assert!(
        set_cookies(&response)
            .iter()
            .any(|c| c.starts_with("cairn_session=;") && c.contains("Max-Age=0"))
    );
    let home = browser.get(app.url("/")).send().await.unwrap();
    assert_eq!(home.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&home), "/sign-in");

    let trail = audit_trail(&app, email).await;
    let expected = [
        ("auth.sign_up", Success, ""),
        ("auth.sign_in", Failure, "not_activated"),
        ("auth.activation", Success, ""),
        ("auth.sign_in", Success, ""),
        ("auth.sign_out", Success, ""),
    ];
    let actual: Vec<(&str, _, &str)> = trail
        .iter()
        .map(|(k, o, r)| (k.as_str(), *o, r.as_str()))
        .collect();
    assert_eq!(actual, expected);
    app.shutdown().await;
}

#[tokio::test]
async fn signing_up_with_a_registered_email_reveals_nothing_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let user = app.create_user("taken@example.com").await;
    let stranger = app.client();
    let mut sign_up = SignUp::new(&user.email);
    sign_up.password = "Another-Password-77".to_owned();

    let response = app.sign_up(&stranger, &sign_up).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/sign-up/check-email");
    let mail = app.last_mail_to(&user.email).await;
    assert_eq!(
        mail.subject,
        "Someone tried to sign up with your email address"
    );
    assert!(!mail.text.contains("/activate"));

    // The original password still works, the attempted one does not.
    let response = app
        .sign_in(&app.client(), &user.email, &sign_up.password)
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let response = app
        .sign_in(&app.client(), &user.email, &user.password)
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let trail = audit_trail(&app, &user.email).await;
    assert!(
        trail
            .iter()
            .any(|(k, o, r)| k == "auth.sign_up" && *o == Failure && r == "email_taken")
    );
    app.shutdown().await;
}

#[tokio::test]
async fn signing_up_again_replaces_a_pending_sign_up_and_only_the_newest_link_works() {
    let app = TestApp::spawn().await;
    let browser = app.client();
    let email = "again@example.com";
    app.sign_up(&browser, &SignUp::new(email)).await;
    let first_link = app.link_in_mail(email, "/activate").await;
    let mut second = SignUp::new(email);
    second.password = "Second-Attempt-2025".to_owned();
    second.name = "Ada King".to_owned();
    app.sign_up(&browser, &second).await;
    assert_eq!(app.mail_count_to(email).await, 2);

    let response = browser.get(&first_link).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("This activation link does not work")
    );
    let response = app.activate(&browser, email).await;
    assert_eq!(location(&response), "/sign-in?notice=activated");

    let response = app.sign_in(&browser, email, &second.password).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let home = browser
        .get(app.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(home.contains("Ada King"));
    app.shutdown().await;
}

#[tokio::test]
async fn invalid_sign_ups_are_refused_with_every_message_and_create_nothing() {
    let app = TestApp::spawn().await;
    let browser = app.client();
    let response = app
        .post_form(
            &browser,
            "/sign-up",
            "/sign-up",
            &[
                ("name", "  "),
                ("email", "not-an-email"),
                ("password", "short"),
                ("password_confirm", "different"),
                ("region", "mars-1"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    for message in [
        "Enter a name.",
        "Enter a valid email address",
        "Use at least 10 characters.",
        "Mix at least 3 of these",
        "The two passwords do not match.",
        "Choose a data-center location from the list.",
    ] {
        assert!(html.contains(message), "missing {message:?}");
    }
    // What was typed is kept (except passwords).
    assert!(html.contains("value=\"not-an-email\""));
    assert!(!html.contains("different"));
    assert!(app.outbox().list(10).await.unwrap().is_empty());
    app.shutdown().await;
}

#[tokio::test]
async fn activation_links_are_single_use_and_expire() {
    let app = TestApp::spawn().await;
    let browser = app.client();
    app.sign_up(&browser, &SignUp::new("late@example.com"))
        .await;
    let link = app.link_in_mail("late@example.com", "/activate").await;
    app.clock().advance(chrono::Duration::hours(24));
    let response = browser.get(&link).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);

    app.sign_up(&browser, &SignUp::new("twice@example.com"))
        .await;
    let link = app.link_in_mail("twice@example.com", "/activate").await;
    assert_eq!(
        browser.get(&link).send().await.unwrap().status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        browser.get(&link).send().await.unwrap().status(),
        StatusCode::BAD_REQUEST
    );
    // Garbage tokens are handled the same way, not as errors.
    let response = browser
        .get(app.url("/activate?token=%00%01"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let response = browser.get(app.url("/activate")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    app.shutdown().await;
}

#[tokio::test]
async fn a_mail_outage_is_reported_as_such() {
    // A port nothing listens on: SMTP connections are refused at once.
    let closed_port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let app = TestApp::builder()
        .configure(move |c| {
            c.mail.smtp_url = Some(cairn::config::Secret::new(format!(
                "smtp://127.0.0.1:{closed_port}"
            )));
        })
        .spawn()
        .await;
    let response = app
        .sign_up(&app.client(), &SignUp::new("nomail@example.com"))
        .await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers()["retry-after"], "60");
    let body = response.text().await.unwrap();
    assert_eq!(crate::support::error_code(&body), "mail.unavailable");
    app.shutdown().await;
}
