//! Accounts, users and the directory.

use cairn_domain::ids::{AccountId, UserId};
use cairn_domain::{Account, EmailAddress, RegionCode, Role, User, UserStatus};
use cairn_meta::{MetaError, MetaStore, PendingSignUp};

use crate::harness::t0;

pub fn account_with_user(email: &str, status: UserStatus) -> (Account, User) {
    let account = Account {
        id: AccountId::new(),
        name: "Acme Corp".into(),
        region: RegionCode::parse("local").unwrap(),
        created_at: t0(),
    };
    let user = User {
        id: UserId::new(),
        account_id: account.id,
        email: EmailAddress::parse(email).unwrap(),
        name: "Ada Admin".into(),
        role: Role::Primary,
        status,
        created_at: t0(),
        activated_at: (status == UserStatus::Active).then(t0),
    };
    (account, user)
}

/// Creates an account with one user in the store.
pub async fn seed(store: &MetaStore, email: &str, status: UserStatus) -> (Account, User) {
    let (account, user) = account_with_user(email, status);
    store
        .directory()
        .create_account(&account, &user, Some("$argon2id$fake"))
        .await
        .unwrap();
    (account, user)
}

async fn create_account_and_find_user_by_email(store: MetaStore) {
    let (account, user) = seed(&store, "ada@example.com", UserStatus::Pending).await;

    let found = store
        .directory()
        .find_user_by_email(&EmailAddress::parse("ADA@example.com").unwrap())
        .await
        .unwrap()
        .expect("user by normalised email");
    assert_eq!(found.user, user);
    assert_eq!(found.password_hash.as_deref(), Some("$argon2id$fake"));
    assert!(
        !format!("{found:?}").contains("argon2"),
        "hash must not be in Debug"
    );

    assert_eq!(store.account(account.id).get().await.unwrap(), account);
    let missing = EmailAddress::parse("nobody@example.com").unwrap();
    assert!(
        store
            .directory()
            .find_user_by_email(&missing)
            .await
            .unwrap()
            .is_none()
    );
}

async fn duplicate_email_is_a_conflict_and_changes_nothing(store: MetaStore) {
    seed(&store, "ada@example.com", UserStatus::Active).await;
    let (account, user) = account_with_user("ada@example.com", UserStatus::Pending);
    let err = store
        .directory()
        .create_account(&account, &user, None)
        .await
        .unwrap_err();
    assert!(matches!(err, MetaError::Conflict { .. }), "{err:?}");
    // The transaction rolled back: the second account does not exist.
    let err = store.account(account.id).get().await.unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
}

async fn account_scope_hides_other_accounts_users(store: MetaStore) {
    let (a, ada) = seed(&store, "ada@example.com", UserStatus::Active).await;
    let (b, bob) = seed(&store, "bob@example.com", UserStatus::Active).await;

    assert_eq!(store.account(a.id).users().get(ada.id).await.unwrap(), ada);
    let err = store.account(a.id).users().get(bob.id).await.unwrap_err();
    assert!(err.is_not_found());
    let err = store
        .account(a.id)
        .users()
        .set_password(bob.id, "x", t0())
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "cross-account write must fail");
    assert_eq!(store.account(b.id).users().list().await.unwrap(), vec![bob]);
}

async fn add_user_set_password_and_status(store: MetaStore) {
    let (account, primary) = seed(&store, "ada@example.com", UserStatus::Active).await;
    let users = store.account(account.id).users();
    let second = User {
        id: UserId::new(),
        email: EmailAddress::parse("carol@example.com").unwrap(),
        role: Role::Administrator,
        status: UserStatus::Pending,
        activated_at: None,
        ..primary.clone()
    };
    users.create(&second, None).await.unwrap();
    assert_eq!(
        users.list().await.unwrap(),
        vec![primary.clone(), second.clone()]
    );
    assert_eq!(
        users.get_record(second.id).await.unwrap().password_hash,
        None
    );

    users
        .set_password(second.id, "$argon2id$new", t0())
        .await
        .unwrap();
    assert_eq!(
        users
            .get_record(second.id)
            .await
            .unwrap()
            .password_hash
            .as_deref(),
        Some("$argon2id$new")
    );

    let later = t0() + chrono::Duration::hours(1);
    users
        .set_status(second.id, UserStatus::Active, later)
        .await
        .unwrap();
    let active = users.get(second.id).await.unwrap();
    assert_eq!(active.status, UserStatus::Active);
    assert_eq!(active.activated_at, Some(later));
    // Disabling keeps the activation time.
    users
        .set_status(
            second.id,
            UserStatus::Disabled,
            later + chrono::Duration::hours(1),
        )
        .await
        .unwrap();
    let disabled = users.get(second.id).await.unwrap();
    assert_eq!(disabled.status, UserStatus::Disabled);
    assert_eq!(disabled.activated_at, Some(later));

    // A user for another account cannot be slipped in through this scope.
    let foreign = User {
        id: UserId::new(),
        account_id: AccountId::new(),
        email: EmailAddress::parse("eve@example.com").unwrap(),
        ..primary
    };
    assert!(users.create(&foreign, None).await.is_err());
}

async fn pending_sign_up_can_be_replaced_but_active_cannot(store: MetaStore) {
    let (account, user) = seed(&store, "ada@example.com", UserStatus::Pending).await;
    let region = RegionCode::parse("eu-west").unwrap();
    let replacement = PendingSignUp {
        account_name: "Ada Ltd",
        user_name: "Ada Lovelace",
        region: &region,
        password_hash: "$argon2id$second",
        at: t0(),
    };
    assert!(
        store
            .directory()
            .replace_pending_sign_up(user.id, &replacement)
            .await
            .unwrap()
    );
    let stored = store.account(account.id).get().await.unwrap();
    assert_eq!(stored.name, "Ada Ltd");
    assert_eq!(stored.region, region);
    let record = store
        .account(account.id)
        .users()
        .get_record(user.id)
        .await
        .unwrap();
    assert_eq!(record.user.name, "Ada Lovelace");
    assert_eq!(record.password_hash.as_deref(), Some("$argon2id$second"));

    let (_, active) = seed(&store, "bob@example.com", UserStatus::Active).await;
    assert!(
        !store
            .directory()
            .replace_pending_sign_up(active.id, &replacement)
            .await
            .unwrap()
    );
}

async fn ping_and_schema_version(store: MetaStore) {
    store.ping().await.unwrap();
    assert_eq!(
        store.schema_version().await.unwrap(),
        cairn_meta::known_schema_version()
    );
}

crate::contract_tests!(
    create_account_and_find_user_by_email,
    duplicate_email_is_a_conflict_and_changes_nothing,
    account_scope_hides_other_accounts_users,
    add_user_set_password_and_status,
    pending_sign_up_can_be_replaced_but_active_cannot,
    ping_and_schema_version,
);
