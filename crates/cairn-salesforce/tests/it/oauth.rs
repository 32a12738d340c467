//! OAuth web-server flow with PKCE against the emulator's login and consent pages:
//! success, denial, a forged state, a PKCE verifier mismatch and a bad code.

use cairn_salesforce::{
    Environment, ErrorKind, Pkce, SalesforceApp, SalesforceError, random_state,
};

use super::support::{REDIRECT, app, browser, config, connected, options, start_org, start_with};

#[tokio::test]
async fn the_flow_connects_and_the_session_works() {
    let sf = start_org(7).await;
    let app = app(&sf);
    let state = random_state();
    let pkce = Pkce::generate();
    let url = app.authorize_url(Environment::Production, REDIRECT, &state, &pkce);
    let q: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    assert_eq!(get("response_type"), Some("code"));
    assert_eq!(get("code_challenge"), Some(pkce.challenge()));
    assert_eq!(get("state"), Some(state.as_str()));
    assert_eq!(get("redirect_uri"), Some(REDIRECT));

    let params = browser(&sf, &url, "allow").await;
    let code = SalesforceApp::callback_code(&params, &state).unwrap();
    let tokens = app
        .exchange_code(Environment::Production, &code, &pkce, REDIRECT)
        .await
        .unwrap();
    let creds = sf.credentials();
    assert_eq!(tokens.instance_url, sf.base_url());
    assert!(tokens.org_id.starts_with("00D") && creds.org_id.starts_with(&tokens.org_id[..15]));
    assert!(tokens.refresh_token.is_some());
    assert!(
        tokens
            .access_token
            .expose()
            .starts_with(&creds.org_id[..15])
    );
    assert!(
        tokens.issued_at_ms > 1_000_000_000_000,
        "issued_at is milliseconds"
    );
    assert_eq!(tokens.environment, Environment::Production);

    let client = connected(&sf, &app).await;
    let objects = client.backup_objects().await.unwrap();
    assert!(objects.iter().any(|o| o.name == "Account"));
    assert!(
        !objects.iter().any(|o| o.name == "Profile"),
        "not replicateable"
    );
}

#[tokio::test]
async fn denial_forged_state_pkce_mismatch_and_bad_codes_fail_clearly() {
    let sf = start_org(8).await;
    let app = app(&sf);
    let state = random_state();
    let pkce = Pkce::generate();
    let url = app.authorize_url(Environment::Production, REDIRECT, &state, &pkce);

    let denied = browser(&sf, &url, "deny").await;
    let e = SalesforceApp::callback_code(&denied, &state).unwrap_err();
    assert!(matches!(e, SalesforceError::AccessDenied { .. }), "{e}");
    assert_eq!(e.kind(), ErrorKind::AuthorizationFailed);

    let allowed = browser(&sf, &url, "allow").await;
    let forged = SalesforceApp::callback_code(&allowed, "another-state").unwrap_err();
    assert!(matches!(forged, SalesforceError::StateMismatch), "{forged}");

    let code = SalesforceApp::callback_code(&allowed, &state).unwrap();
    let wrong = Pkce::generate();
    let e = app
        .exchange_code(Environment::Production, &code, &wrong, REDIRECT)
        .await
        .unwrap_err();
    match &e {
        SalesforceError::OAuth { error, .. } => assert_eq!(error, "invalid_request", "{e}"),
        other => panic!("expected an OAuth error, got {other}"),
    }

    let e = app
        .exchange_code(Environment::Production, "not-a-code", &pkce, REDIRECT)
        .await
        .unwrap_err();
    match &e {
        SalesforceError::OAuth { error, .. } => assert_eq!(error, "invalid_grant", "{e}"),
        other => panic!("expected an OAuth error, got {other}"),
    }
    // The code consumed by the failed exchange cannot be replayed either.
    let e = app
        .exchange_code(Environment::Production, &code, &pkce, REDIRECT)
        .await
        .unwrap_err();
    assert!(matches!(e, SalesforceError::OAuth { .. }), "{e}");
}

#[tokio::test]
async fn a_sandbox_over_https_connects_through_the_sandbox_host_with_the_extra_ca() {
    let sf = start_with(cairn_emulator::salesforce::SalesforceOptions {
        tls: true,
        sandbox: true,
        ..options(9)
    })
    .await;
    assert!(sf.base_url().starts_with("https://"));
    let app = app(&sf);
    let state = random_state();
    let pkce = Pkce::generate();
    let url = app.authorize_url(Environment::Sandbox, REDIRECT, &state, &pkce);
    assert!(
        url.as_str().contains("/test/services/oauth2/authorize"),
        "{url}"
    );
    let params = browser(&sf, &url, "allow").await;
    let code = SalesforceApp::callback_code(&params, &state).unwrap();
    let tokens = app
        .exchange_code(Environment::Sandbox, &code, &pkce, REDIRECT)
        .await
        .unwrap();
    assert_eq!(tokens.environment, Environment::Sandbox);
    let client = super::support::client_with(
        &app,
        tokens,
        std::sync::Arc::new(cairn_salesforce::DiscardTokens),
        std::sync::Arc::new(cairn_salesforce::ApiBudget::new(100)),
    );
    client.describe("Account").await.unwrap();

    // Without the emulator's CA the TLS handshake fails: nothing is trusted by accident.
    let mut untrusting = config(&sf);
    untrusting.ca_pem = None;
    untrusting.retry.max_retries = 0;
    let app = SalesforceApp::new(untrusting).unwrap();
    let e = app
        .exchange_code(Environment::Sandbox, "code", &pkce, REDIRECT)
        .await
        .unwrap_err();
    assert!(matches!(e, SalesforceError::Transport { .. }), "{e}");
}
