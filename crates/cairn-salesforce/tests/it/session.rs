//! The shared session: N concurrent workers meeting an expired session cause exactly one
//! refresh (with refresh-token rotation on, a second refresh would fail), the new tokens
//! reach the sink once, and a revoked refresh token ends in `Disconnected`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use cairn_emulator::salesforce::Settings;
use cairn_salesforce::{
    ApiBudget, DiscardTokens, ErrorKind, OrgClient, SessionRegistry, TokenSet, TokenSink,
};

use super::support::{app, connect, start_org};

#[tokio::test]
async fn concurrent_workers_share_one_refresh() {
    let sf = start_org(11).await;
    sf.control().apply_settings(&Settings {
        rotate_refresh_tokens: Some(true),
        ..Settings::default()
    });
    let app = app(&sf);
    let tokens = connect(&sf, &app).await;
    let first_refresh = tokens.refresh_token.clone();
    let heard = Arc::new(AtomicUsize::new(0));
    let saved: Arc<parking_lot::Mutex<Option<TokenSet>>> = Arc::default();
    let sink: Arc<dyn TokenSink> = {
        let heard = heard.clone();
        let saved = saved.clone();
        Arc::new(move |t: &TokenSet| {
            heard.fetch_add(1, Ordering::SeqCst);
            *saved.lock() = Some(t.clone());
        })
    };
    let registry = SessionRegistry::new();
    let session = registry.session(&app, tokens.clone(), sink.clone());
    let again = registry.session(&app, tokens, Arc::new(DiscardTokens));
    assert!(Arc::ptr_eq(&session, &again), "one session per org");

    let budget = Arc::new(ApiBudget::new(100));
    assert!(sf.control().expire_sessions() >= 1);
    let workers: Vec<_> = (0..16)
        .map(|_| {
            let client = OrgClient::new(session.clone(), budget.clone());
            tokio::spawn(async move { client.describe_global().await.map(|o| o.len()) })
        })
        .collect();
    for w in workers {
        let n = w.await.unwrap().unwrap();
        assert!(n > 10);
    }
    assert_eq!(
        session.refresh_count(),
        1,
        "exactly one refresh for 16 workers"
    );
    assert_eq!(heard.load(Ordering::SeqCst), 1);
    let saved = saved.lock().clone().unwrap();
    assert_ne!(
        saved.refresh_token, first_refresh,
        "the rotated refresh token is handed over"
    );
    assert_eq!(session.tokens().await, saved);

    // A second expiry works with the rotated token, again once.
    sf.control().expire_sessions();
    let client = OrgClient::new(session.clone(), budget);
    client.describe("Account").await.unwrap();
    assert_eq!(session.refresh_count(), 2);
}

#[tokio::test]
async fn a_revoked_refresh_token_disconnects_the_task() {
    let sf = start_org(12).await;
    let app = app(&sf);
    let tokens = connect(&sf, &app).await;
    let refresh = tokens.refresh_token.clone().unwrap();
    let client = super::support::client_with(
        &app,
        tokens,
        Arc::new(DiscardTokens),
        Arc::new(ApiBudget::new(100)),
    );
    client.describe_global().await.unwrap();
    assert!(sf.control().revoke_token(refresh.expose()));
    sf.control().expire_sessions();
    let e = client.describe("Account").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Disconnected, "{e}");
    assert!(e.to_string().contains("re-authenticate"), "{e}");
    assert!(client.session().disconnected_reason().is_some());
    let calls = sf.control().counters().total;
    let e = client.describe_global().await.unwrap_err();
    assert!(e.is_disconnected());
    assert_eq!(
        sf.control().counters().total,
        calls,
        "no more calls once disconnected"
    );
}

/// A token store shared by two "processes" (two sessions of the same org).
#[derive(Default)]
struct Store(parking_lot::Mutex<Option<TokenSet>>);

impl TokenSink for Store {
    fn tokens_refreshed(&self, tokens: &TokenSet) {
        *self.0.lock() = Some(tokens.clone());
    }
    fn stored_tokens(&self) -> futures::future::BoxFuture<'_, Option<TokenSet>> {
        let t = self.0.lock().clone();
        Box::pin(async move { t })
    }
}

#[tokio::test]
async fn a_refresh_token_rotated_by_another_process_is_adopted() {
    let sf = start_org(13).await;
    sf.control().apply_settings(&Settings {
        rotate_refresh_tokens: Some(true),
        ..Settings::default()
    });
    let app = app(&sf);
    let tokens = connect(&sf, &app).await;
    let store = Arc::new(Store::default());
    *store.0.lock() = Some(tokens.clone());
    let budget = Arc::new(ApiBudget::new(100));
    let a = OrgClient::new(
        Arc::new(cairn_salesforce::Session::new(
            app.clone(),
            tokens.clone(),
            store.clone(),
        )),
        budget.clone(),
    );
    let b = OrgClient::new(
        Arc::new(cairn_salesforce::Session::new(
            app.clone(),
            tokens,
            store.clone(),
        )),
        budget,
    );
    sf.control().expire_sessions();
    a.describe_global().await.unwrap();
    assert_eq!(a.session().refresh_count(), 1);
    // b still holds the rotated-away refresh token: the org answers invalid_grant.
    b.describe("Account").await.unwrap();
    assert!(b.session().disconnected_reason().is_none());
    assert_eq!(b.session().tokens().await, store.0.lock().clone().unwrap());
}
