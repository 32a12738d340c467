//! OAuth against the emulator: the PKCE code flow through the consent pages, refresh on
//! expiry in the middle of a listing (one refresh for many concurrent calls), and
//! revocation → Disconnected.

use cairn_dropbox::{DropboxError, ErrorKind, Pkce, TokenSet};
use chrono::Utc;
use futures::StreamExt;

use crate::support::{
    REDIRECT, consent, console_client, emulator, oauth_tokens, recording_sink, small, sync,
};

#[tokio::test]
async fn pkce_code_flow_links_the_team_with_offline_access() {
    let env = emulator(small()).await;
    let tokens = oauth_tokens(&env).await;
    let creds = env.dropbox.credentials();
    assert!(tokens.access_token.expose().starts_with("sl."));
    assert!(
        tokens.refresh_token.is_some(),
        "offline access gives a refresh token"
    );
    assert_eq!(tokens.team_id.as_deref(), Some(creds.team_id.as_str()));
    assert!(tokens.scopes.iter().any(|s| s == "members.read"));
    let expires = tokens.expires_at.expect("short-lived");
    let ttl = (expires - Utc::now()).num_seconds();
    assert!((14_000..=14_400).contains(&ttl), "{ttl}");

    let client = env.app.team(tokens.clone()).build();
    let info = client.team_info().await.unwrap();
    assert_eq!(info.team_id, creds.team_id);

    let refreshed = env
        .app
        .refresh(tokens.refresh_token.as_ref().unwrap())
        .await
        .unwrap();
    assert_ne!(refreshed.access_token, tokens.access_token);
    let again = env
        .app
        .team(TokenSet {
            access_token: refreshed.access_token,
            ..tokens
        })
        .build();
    assert_eq!(again.team_info().await.unwrap().team_id, creds.team_id);
}

#[tokio::test]
async fn a_wrong_verifier_or_a_reused_code_is_refused_without_disconnecting() {
    let env = emulator(small()).await;
    let pkce = Pkce::generate();
    let url = env.app.authorize_url("s1", &pkce, Some(REDIRECT));
    let params = consent(&env, &url).await;
    let wrong = Pkce::generate();
    let err = env
        .app
        .exchange_code(&params["code"], &wrong, Some(REDIRECT))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, DropboxError::OAuth { error, .. } if error == "invalid_grant"),
        "{err}"
    );
    assert!(!err.is_disconnected());
    // The emulator consumed the code on the failed attempt, like Dropbox does.
    let err = env
        .app
        .exchange_code(&params["code"], &pkce, Some(REDIRECT))
        .await
        .unwrap_err();
    assert!(matches!(err, DropboxError::OAuth { .. }), "{err}");
}

#[tokio::test]
async fn an_expired_token_is_refreshed_once_in_the_middle_of_a_listing() {
    let env = emulator(small()).await;
    let tokens = oauth_tokens(&env).await;
    let (sink, refreshed) = recording_sink();
    let client = env.app.team(tokens.clone()).token_sink(sink).build();
    let entities = client.discover().await.unwrap().entities;
    let team_folder = entities
        .iter()
        .find(|e| e.kind == cairn_dropbox::EntityKind::TeamFolder && e.has_content())
        .unwrap()
        .clone();

    let mut pages = Box::pin(client.list_changes(&team_folder, None));
    let first = pages.next().await.unwrap().unwrap();
    assert!(first.has_more, "page limit 25 leaves more pages");
    env.dropbox.control().expire_tokens();
    let mut rest = 0;
    while let Some(page) = pages.next().await {
        rest += page.unwrap().changes.len();
    }
    assert!(rest > 0);
    assert_eq!(refreshed.lock().len(), 1, "the sink heard of the new token");
    let new_token = refreshed.lock()[0].clone();
    assert_ne!(new_token.access_token, tokens.access_token);
    assert_eq!(
        client.current_access_token().await.access_token,
        new_token.access_token
    );
    assert_eq!(client.stats().token_refreshes, 1);
    let token_calls = env.dropbox.control().counters().routes["oauth2/token"].calls;
    assert_eq!(token_calls, 2, "the code exchange and one refresh");

    // Many calls hitting the expiry at once share one refresh.
    env.dropbox.control().expire_tokens();
    let calls = (0..8).map(|_| {
        let c = client.clone();
        async move { c.team_info().await }
    });
    for result in futures::future::join_all(calls).await {
        result.unwrap();
    }
    assert_eq!(refreshed.lock().len(), 2);
    assert_eq!(
        env.dropbox.control().counters().routes["oauth2/token"].calls,
        3
    );
}

#[tokio::test]
async fn a_token_about_to_expire_is_refreshed_before_use() {
    let env = emulator(small()).await;
    let mut tokens = oauth_tokens(&env).await;
    tokens.expires_at = Some(Utc::now() + chrono::Duration::seconds(60));
    let (sink, refreshed) = recording_sink();
    let client = env.app.team(tokens).token_sink(sink).build();
    client.team_info().await.unwrap();
    assert_eq!(refreshed.lock().len(), 1);
    let counters = env.dropbox.control().counters();
    assert_eq!(
        counters.routes["team/get_info"].statuses.get(&401),
        None,
        "refreshed ahead, no 401"
    );
}

#[tokio::test]
async fn revoking_disconnects_the_client_and_the_refresh_token() {
    let env = emulator(small()).await;
    let tokens = oauth_tokens(&env).await;
    let client = env.app.team(tokens.clone()).build();
    client.team_info().await.unwrap();
    client.revoke().await.unwrap();
    let err = client.team_info().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Disconnected, "{err}");
    // A fresh client with the same (now revoked) tokens: 401 invalid_access_token.
    let fresh = env.app.team(tokens.clone()).build();
    let err = fresh.members(false).await.unwrap_err();
    assert!(err.is_disconnected(), "{err}");
    // …and later calls fail fast without another request.
    let before = env.dropbox.control().counters().routes["team/members/list_v2"].calls;
    assert!(fresh.members(false).await.unwrap_err().is_disconnected());
    let after = env.dropbox.control().counters().routes["team/members/list_v2"].calls;
    assert_eq!(before, after);
    // The refresh token went with it: invalid_grant → Disconnected.
    let err = env
        .app
        .refresh(tokens.refresh_token.as_ref().unwrap())
        .await
        .unwrap_err();
    assert!(err.is_disconnected(), "{err}");
    // Revoking again is not an error.
    env.app.revoke(&tokens.access_token).await.unwrap();
}

#[tokio::test]
async fn the_app_can_revoke_a_live_team_token_on_its_own() {
    // Without a client: the emulator, like Dropbox in the research note, wants a selected
    // member for a team token, so the app retries as the authenticated admin.
    let env = emulator(small()).await;
    let tokens = oauth_tokens(&env).await;
    env.app.revoke(&tokens.access_token).await.unwrap();
    let statuses = &env.dropbox.control().counters().routes["auth/token/revoke"].statuses;
    assert_eq!(statuses.get(&400), Some(&1));
    assert_eq!(statuses.get(&200), Some(&1));
    let err = env
        .app
        .team(tokens.clone())
        .build()
        .team_info()
        .await
        .unwrap_err();
    assert!(err.is_disconnected(), "{err}");
    let err = env
        .app
        .refresh(tokens.refresh_token.as_ref().unwrap())
        .await
        .unwrap_err();
    assert!(err.is_disconnected(), "{err}");
}

#[tokio::test]
async fn an_unlinked_app_fails_the_refresh_with_disconnected() {
    let env = emulator(small()).await;
    let mut tokens = oauth_tokens(&env).await;
    // The admin unlinks the app in Dropbox; our stored token has expired meanwhile.
    env.dropbox.control().revoke_tokens(None);
    tokens.expires_at = Some(Utc::now() - chrono::Duration::hours(1));
    let client = env.app.team(tokens).build();
    let entity_list = client.discover().await;
    let err = entity_list.unwrap_err();
    assert!(err.is_disconnected(), "{err}");
    assert!(err.to_string().contains("reconnect"), "{err}");
}

#[tokio::test]
async fn without_a_refresh_token_expiry_means_disconnected() {
    let env = emulator(small()).await;
    let tokens = oauth_tokens(&env).await;
    let client = env
        .app
        .team(TokenSet {
            refresh_token: None,
            ..tokens
        })
        .build();
    env.dropbox.control().expire_tokens();
    let err = client.team_info().await.unwrap_err();
    assert!(err.is_disconnected(), "{err}");
}

#[tokio::test]
async fn the_console_token_lists_a_member_without_oauth() {
    // Long-lived tokens (no expiry) are used as they are.
    let env = emulator(small()).await;
    let client = console_client(&env);
    let discovery = client.discover().await.unwrap();
    let member = discovery
        .entities
        .iter()
        .find(|e| e.kind == cairn_dropbox::EntityKind::Member && e.has_content())
        .unwrap();
    let mut mirror = crate::support::Mirror::new();
    sync(&client, member, None, &mut mirror).await;
    assert!(!mirror.is_empty());
    assert_eq!(client.stats().token_refreshes, 0);
}
