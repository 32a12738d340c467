//! Bad input gets a clear error with a stable code, never a 500.

use cairn_testkit::TestApp;
use reqwest::StatusCode;

use crate::support::error_code;

#[tokio::test]
async fn unknown_routes_are_404_pages_or_json() {
    let app = TestApp::spawn().await;
    let client = app.client();
    let response = client.get(app.url("/no/such/page")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let body = response.text().await.unwrap();
    assert_eq!(error_code(&body), "route.not_found");
    assert!(body.contains("Page not found"));

    let response = client.get(app.url("/api/v1/nothing")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let json: serde_json::Value = response.json().await.unwrap();
    assert_eq!(json["error"]["code"], "route.not_found");

    let response = client
        .get(app.url("/no/such/page"))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.json::<serde_json::Value>().await.unwrap()["error"]["code"],
        "route.not_found"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn wrong_methods_types_and_sizes_are_refused_clearly() {
    let app = TestApp::builder()
        .configure(|c| c.server.max_body_bytes = 4 * 1024)
        .spawn()
        .await;
    let client = app.client();

    let response = client.delete(app.url("/sign-in")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        error_code(&response.text().await.unwrap()),
        "request.method_not_allowed"
    );

    let response = client
        .post(app.url("/sign-in"))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(
        error_code(&response.text().await.unwrap()),
        "request.unsupported_media_type"
    );

    let huge = "a".repeat(64 * 1024);
    let response = client
        .post(app.url("/sign-in"))
        .form(&[("email", huge.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        error_code(&response.text().await.unwrap()),
        "request.body_too_large"
    );

    // Chunked (no Content-Length) oversized bodies are caught while reading.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..16).map(|_| Ok(vec![b'a'; 1024])).collect();
    let response = client
        .post(app.url("/sign-in"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(reqwest::Body::wrap_stream(futures::stream::iter(chunks)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    app.shutdown().await;
}

#[tokio::test]
async fn bad_query_values_and_ids_are_400() {
    let app = TestApp::builder().demo(true).spawn().await;
    let (client, _) = app.signed_in_client("ids@example.com").await;

    let response = client
        .get(app.url("/activity?before=yesterday"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        error_code(&response.text().await.unwrap()),
        "request.invalid_cursor"
    );

    let response = client
        .get(app.url("/dev/mailbox/..%2F..%2Fetc%2Fpasswd"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        error_code(&response.text().await.unwrap()),
        "request.invalid_id"
    );
    let missing = "0".repeat(32);
    let response = client
        .get(app.url(&format!("/dev/mailbox/{missing}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        error_code(&response.text().await.unwrap()),
        "mail.not_found"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn garbage_form_fields_are_not_server_errors() {
    let app = TestApp::spawn().await;
    let client = app.client();
    let token = app.csrf_token(&client, "/sign-in").await;
    // Missing fields, an absurdly long email, and control characters.
    for body in [
        format!("csrf_token={token}"),
        format!("csrf_token={token}&email=%00%01%02&password="),
        format!("csrf_token={token}&email={}&password=x", "b".repeat(3000)),
    ] {
        let response = client
            .post(app.url("/sign-in"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    app.shutdown().await;
}
