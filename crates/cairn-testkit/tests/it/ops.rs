//! `/healthz`, `/readyz`, `/metrics`, and the worker role.

use cairn::Role;
use cairn_testkit::TestApp;
use reqwest::StatusCode;

#[tokio::test]
async fn health_readiness_and_metrics() {
    let app = TestApp::spawn().await;
    let client = app.client();
    let health = client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    assert_eq!(health.text().await.unwrap(), "ok\n");
    let ready = client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);

    client.get(app.url("/sign-in")).send().await.unwrap();
    client.get(app.url("/nowhere")).send().await.unwrap();
    let metrics = client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(metrics.status(), StatusCode::OK);
    assert!(
        metrics.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = metrics.text().await.unwrap();
    for line in [
        "cairn_http_requests_total{route=\"/sign-in\",method=\"GET\",status=\"200\"} 1",
        "cairn_http_requests_total{route=\"unmatched\",method=\"GET\",status=\"404\"} 1",
        "cairn_http_requests_total{route=\"/readyz\",method=\"GET\",status=\"200\"} 1",
        "cairn_sign_ins_total{outcome=\"success\"} 0",
        "# TYPE process_start_time_seconds gauge",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
    app.shutdown().await;
}

#[tokio::test]
async fn readiness_fails_when_the_store_is_gone() {
    let app = TestApp::spawn().await;
    app.store().close().await;
    let response = app.client().get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let json: serde_json::Value = app
        .client()
        .get(app.url("/readyz"))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(json["error"]["code"], "store.unavailable");
    let health = app.client().get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(
        health.status(),
        StatusCode::OK,
        "liveness does not depend on the store"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn workers_serve_only_the_operational_endpoints() {
    let app = TestApp::builder().role(Role::Worker).spawn().await;
    let client = app.client();
    assert_eq!(
        client
            .get(app.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        client
            .get(app.url("/metrics"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        client
            .get(app.url("/sign-in"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );
    app.shutdown().await;
}
