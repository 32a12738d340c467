//! Failures the emulator does not produce, from a tiny local HTTP server that answers
//! each request with the next canned response: the "not valid for use with the REST API"
//! session variant, endless 503s, throttling, and answers that are not JSON.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use cairn_salesforce::{
    ApiBudget, DiscardTokens, Environment, ErrorKind, OrgClient, SalesforceApp, SalesforceConfig,
    SalesforceError, Secret, Session, TokenSet,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use url::Url;

struct Fake {
    base: String,
    hits: Arc<AtomicUsize>,
}

/// Serves `responses` in order (the last one repeats): `(status, extra headers, body)`.
async fn serve(responses: Vec<(u16, &'static str, &'static str)>) -> Fake {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let n = counter.fetch_add(1, Ordering::SeqCst);
            let (status, headers, body) = responses[n.min(responses.len() - 1)];
            tokio::spawn(async move {
                let mut buf = vec![0u8; 16384];
                let mut read = 0;
                // Read the request head (bodies here are small or absent).
                while !buf[..read].windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf[read..]).await {
                        Ok(0) | Err(_) => return,
                        Ok(k) => read += k,
                    }
                }
                let reply = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n{headers}\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(reply.as_bytes()).await;
            });
        }
    });
    Fake { base, hits }
}

fn client(fake: &Fake) -> OrgClient {
    client_with_config(fake, SalesforceConfig::new("id", Secret::new("secret")))
}

fn client_with_config(fake: &Fake, mut config: SalesforceConfig) -> OrgClient {
    config.production_login_url = Url::parse(&fake.base).unwrap();
    config.sandbox_login_url = Url::parse(&fake.base).unwrap();
    config.retry.max_retries = 3;
    config.retry.backoff_base = std::time::Duration::from_millis(1);
    config.retry.backoff_max = std::time::Duration::from_millis(5);
    let app = SalesforceApp::new(config).unwrap();
    let tokens = TokenSet {
        access_token: Secret::new("00D000000000001!token"),
        refresh_token: Some(Secret::new("refresh")),
        instance_url: fake.base.clone(),
        id_url: format!("{}/id/00D000000000001AAA/005000000000001AAA", fake.base),
        org_id: "00D000000000001AAA".into(),
        user_id: "005000000000001AAA".into(),
        issued_at_ms: 0,
        scopes: vec![],
        environment: Environment::Production,
    };
    OrgClient::new(
        Arc::new(Session::new(app, tokens, Arc::new(DiscardTokens))),
        Arc::new(ApiBudget::new(100)),
    )
}

#[tokio::test]
async fn a_session_refused_by_policy_disconnects_without_refreshing() {
    let fake = serve(vec![(
        401,
        "",
        r#"[{"message":"This session is not valid for use with the REST API","errorCode":"INVALID_SESSION_ID"}]"#,
    )])
    .await;
    let c = client(&fake);
    let e = c.describe_global().await.unwrap_err();
    assert!(e.is_disconnected(), "{e}");
    assert_eq!(
        fake.hits.load(Ordering::SeqCst),
        1,
        "no refresh was attempted"
    );
    assert_eq!(c.session().refresh_count(), 0);
}

#[tokio::test]
async fn server_errors_are_retried_a_bounded_number_of_times() {
    let fake = serve(vec![(
        503,
        "",
        r#"[{"message":"down","errorCode":"SERVER_UNAVAILABLE"}]"#,
    )])
    .await;
    let c = client(&fake);
    let e = c.describe_global().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
    assert!(
        matches!(
            e,
            SalesforceError::Server {
                status: 503,
                attempts: 4,
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(fake.hits.load(Ordering::SeqCst), 4);
    assert_eq!(c.stats().retries(), 3);
}

#[tokio::test]
async fn throttling_then_success_and_nonsense_answers() {
    let fake = serve(vec![
        (429, "retry-after: 0\r\n", "[]"),
        (403, "", r#"[{"message":"ConcurrentRequests (Concurrent API Requests) Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]"#),
        (200, "sforce-limit-info: api-usage=40/100\r\n", r#"{"encoding":"UTF-8","maxBatchSize":200,"sobjects":[]}"#),
        (200, "", "<html>not json</html>"),
    ])
    .await;
    let c = client(&fake);
    assert!(c.describe_global().await.unwrap().is_empty());
    assert_eq!(
        c.budget().status().used,
        40,
        "usage is read from Sforce-Limit-Info"
    );
    let e = c.describe_global().await.unwrap_err();
    assert!(matches!(e, SalesforceError::Protocol { .. }), "{e}");
}

#[tokio::test]
async fn requests_in_flight_per_org_are_limited() {
    // Holds every answer until released; counts connections open at once.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (open_tx, mut open_rx) = tokio::sync::watch::channel(0usize);
    let open_tx = Arc::new(open_tx);
    let max_open = Arc::new(AtomicUsize::new(0));
    let release = Arc::new(tokio::sync::Semaphore::new(0));
    {
        let (open_tx, max_open, release) = (open_tx.clone(), max_open.clone(), release.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut stream, _)) = listener.accept().await else {
                    return;
                };
                let (open_tx, max_open, release) =
                    (open_tx.clone(), max_open.clone(), release.clone());
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 16384];
                    let mut read = 0;
                    while !buf[..read].windows(4).any(|w| w == b"\r\n\r\n") {
                        match stream.read(&mut buf[read..]).await {
                            Ok(0) | Err(_) => return,
                            Ok(k) => read += k,
                        }
                    }
                    open_tx.send_modify(|n| *n += 1);
                    max_open.fetch_max(*open_tx.borrow(), Ordering::SeqCst);
                    release.acquire().await.unwrap().forget();
                    open_tx.send_modify(|n| *n -= 1);
                    let body = r#"{"encoding":"UTF-8","maxBatchSize":200,"sobjects":[]}"#;
                    let reply = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = stream.write_all(reply.as_bytes()).await;
                });
            }
        });
    }
    let fake = Fake {
        base,
        hits: Arc::new(AtomicUsize::new(0)),
    };
    let mut config = SalesforceConfig::new("id", Secret::new("secret"));
    config.max_concurrent_requests = 2;
    let c = client_with_config(&fake, config);
    let calls: Vec<_> = (0..6)
        .map(|_| {
            let c = c.clone();
            tokio::spawn(async move { c.describe_global().await })
        })
        .collect();
    open_rx.wait_for(|n| *n >= 2).await.unwrap();
    for _ in 0..50 {
        tokio::task::yield_now().await;
    }
    release.add_permits(6);
    for call in calls {
        call.await.unwrap().unwrap();
    }
    assert_eq!(
        max_open.load(Ordering::SeqCst),
        2,
        "never more than 2 in flight"
    );
}
