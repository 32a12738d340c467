//! Events.

use chrono::Duration;

use cairn_domain::UserStatus;
use cairn_domain::event::{Event, EventCategory, EventKind, EventOutcome, RequestOrigin};
use cairn_meta::{EventQuery, MetaStore};

use crate::accounts::seed;
use crate::harness::t0;

async fn events_round_trip_and_stay_in_their_account(store: MetaStore) {
    let (a, ada) = seed(&store, "ada@example.com", UserStatus::Active).await;
    let (b, _) = seed(&store, "bob@example.com", UserStatus::Active).await;

    let sign_in = Event::new(EventKind::SignIn, EventOutcome::Success, t0())
        .by(Some(ada.id), "ada@example.com")
        .from_origin(&RequestOrigin {
            ip: Some("2001:db8::1".into()),
            user_agent: Some("Mozilla/5.0 (X11; Linux x86_64) Chrome/126".into()),
        })
        .with("method", "password");
    store.account(a.id).events().record(&sign_in).await.unwrap();
    // An unscoped event with no account, and one in the other account.
    store
        .events()
        .record(
            &Event::new(EventKind::SignIn, EventOutcome::Failure, t0())
                .by(None, "ghost@example.com")
                .with("reason", "unknown_email"),
        )
        .await
        .unwrap();
    store
        .events()
        .record(&Event::new(EventKind::SignUp, EventOutcome::Success, t0()).in_account(b.id))
        .await
        .unwrap();

    let page = store
        .account(a.id)
        .events()
        .list(&EventQuery {
            limit: 50,
            ..EventQuery::default()
        })
        .await
        .unwrap();
    let expected = Event {
        account_id: Some(a.id),
        ..sign_in
    };
    assert_eq!(page.events, vec![expected]);
    assert!(page.next.is_none());
    assert_eq!(page.events[0].details["method"], "password");
}

async fn events_page_newest_first_with_a_cursor(store: MetaStore) {
    let (a, _) = seed(&store, "ada@example.com", UserStatus::Active).await;
    let events = store.account(a.id).events();
    // Two events share a timestamp: the id breaks the tie.
    let times = [0, 1, 1, 2, 3];
    for (i, minute) in times.iter().enumerate() {
        let kind = if i % 2 == 0 {
            EventKind::SignIn
        } else {
            EventKind::Other("backup.finished".into())
        };
        events
            .record(
                &Event::new(
                    kind,
                    EventOutcome::Success,
                    t0() + Duration::minutes(*minute),
                )
                .with("n", i),
            )
            .await
            .unwrap();
    }
    let first = events
        .list(&EventQuery {
            limit: 2,
            ..EventQuery::default()
        })
        .await
        .unwrap();
    let order: Vec<u64> = first
        .events
        .iter()
        .map(|e| e.details["n"].as_u64().unwrap())
        .collect();
    assert_eq!(order, vec![4, 3]);
    let second = events
        .list(&EventQuery {
            limit: 2,
            before: first.next,
            ..EventQuery::default()
        })
        .await
        .unwrap();
    let order: Vec<u64> = second
        .events
        .iter()
        .map(|e| e.details["n"].as_u64().unwrap())
        .collect();
    assert_eq!(order, vec![2, 1]);
    let third = events
        .list(&EventQuery {
            limit: 2,
            before: second.next,
            ..EventQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(third.events.len(), 1);
    assert!(third.next.is_none());

    let security = events
        .list(&EventQuery {
            limit: 10,
            category: Some(EventCategory::Security),
            ..EventQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(security.events.len(), 3);
    assert!(security.events.iter().all(|e| e.kind == EventKind::SignIn));
}

crate::contract_tests!(
    events_round_trip_and_stay_in_their_account,
    events_page_newest_first_with_a_cursor,
);
