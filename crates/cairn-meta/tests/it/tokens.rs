//! Emailed tokens: activation and password reset.

use chrono::Duration;

use cairn_domain::UserStatus;
use cairn_domain::event::RequestOrigin;
use cairn_domain::ids::SessionId;
use cairn_meta::{MetaStore, NewEmailToken, NewSession, TokenPurpose};

use crate::accounts::seed;
use crate::harness::t0;

fn token(user: &cairn_domain::User, hash: &[u8], purpose: TokenPurpose) -> NewEmailToken {
    NewEmailToken {
        token_hash: hash.to_vec(),
        user_id: user.id,
        purpose,
        created_at: t0(),
        expires_at: t0() + Duration::hours(24),
    }
}

async fn activation_token_activates_once(store: MetaStore) {
    let (account, user) = seed(&store, "ada@example.com", UserStatus::Pending).await;
    store
        .email_tokens()
        .issue(&token(&user, b"act", TokenPurpose::Activation))
        .await
        .unwrap();

    // A reset token with the same user cannot activate.
    assert!(
        store
            .email_tokens()
            .activate(b"nope", t0())
            .await
            .unwrap()
            .is_none()
    );

    let at = t0() + Duration::minutes(3);
    let activated = store
        .email_tokens()
        .activate(b"act", at)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(activated.id, user.id);
    assert_eq!(activated.status, UserStatus::Active);
    assert_eq!(activated.activated_at, Some(at));
    assert_eq!(
        store
            .account(account.id)
            .users()
            .get(user.id)
            .await
            .unwrap()
            .status,
        UserStatus::Active
    );
    // Single use.
    assert!(
        store
            .email_tokens()
            .activate(b"act", at)
            .await
            .unwrap()
            .is_none()
    );
}

async fn expired_and_superseded_tokens_do_not_work(store: MetaStore) {
    let (_, user) = seed(&store, "ada@example.com", UserStatus::Pending).await;
    store
        .email_tokens()
        .issue(&token(&user, b"first", TokenPurpose::Activation))
        .await
        .unwrap();
    store
        .email_tokens()
        .issue(&token(&user, b"second", TokenPurpose::Activation))
        .await
        .unwrap();
    // The newer link retired the older one.
    assert!(
        store
            .email_tokens()
            .activate(b"first", t0())
            .await
            .unwrap()
            .is_none()
    );
    // Expired.
    let late = t0() + Duration::hours(24);
    assert!(
        store
            .email_tokens()
            .activate(b"second", late)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .email_tokens()
            .activate(b"second", late - Duration::seconds(1))
            .await
            .unwrap()
            .is_some()
    );
}

async fn reset_sets_password_and_ends_sessions(store: MetaStore) {
    let (account, user) = seed(&store, "ada@example.com", UserStatus::Active).await;
    store
        .sessions()
        .create(&NewSession {
            id: SessionId::new(),
            token_hash: b"session".to_vec(),
            user_id: user.id,
            account_id: account.id,
            created_at: t0(),
            expires_at: t0() + Duration::hours(1),
            origin: RequestOrigin::default(),
        })
        .await
        .unwrap();
    store
        .email_tokens()
        .issue(&token(&user, b"reset", TokenPurpose::PasswordReset))
        .await
        .unwrap();

    let tokens = store.email_tokens();
    let peeked = tokens
        .peek(b"reset", TokenPurpose::PasswordReset, t0())
        .await
        .unwrap();
    assert_eq!(peeked.map(|u| u.id), Some(user.id));
    assert!(
        tokens
            .peek(b"reset", TokenPurpose::Activation, t0())
            .await
            .unwrap()
            .is_none()
    );
    // An activation attempt with a reset token does nothing.
    assert!(tokens.activate(b"reset", t0()).await.unwrap().is_none());

    let reset = tokens
        .reset_password(b"reset", "$argon2id$new", t0())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(reset.id, user.id);
    let record = store
        .account(account.id)
        .users()
        .get_record(user.id)
        .await
        .unwrap();
    assert_eq!(record.password_hash.as_deref(), Some("$argon2id$new"));
    assert_eq!(store.sessions().count_for_user(user.id).await.unwrap(), 0);
    assert!(
        tokens
            .reset_password(b"reset", "$argon2id$again", t0())
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        tokens
            .peek(b"reset", TokenPurpose::PasswordReset, t0())
            .await
            .unwrap()
            .is_none()
    );
}

async fn reset_activates_a_pending_user(store: MetaStore) {
    let (_, user) = seed(&store, "ada@example.com", UserStatus::Pending).await;
    store
        .email_tokens()
        .issue(&token(&user, b"reset", TokenPurpose::PasswordReset))
        .await
        .unwrap();
    let reset = store
        .email_tokens()
        .reset_password(b"reset", "$argon2id$new", t0())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(reset.status, UserStatus::Active);
    assert_eq!(reset.activated_at, Some(t0()));
}

crate::contract_tests!(
    activation_token_activates_once,
    expired_and_superseded_tokens_do_not_work,
    reset_sets_password_and_ends_sessions,
    reset_activates_a_pending_user,
);
