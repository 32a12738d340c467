//! Failed sign-in counting.

use chrono::Duration;

use cairn_meta::MetaStore;

use crate::harness::t0;

async fn failures_are_counted_per_email_and_ip_within_the_window(store: MetaStore) {
    let failures = store.sign_in_failures();
    let empty = failures.for_email("ada@example.com", t0()).await.unwrap();
    assert_eq!(empty.count, 0);
    assert_eq!(empty.oldest, None);

    for minute in 0..3 {
        failures
            .record(
                "ada@example.com",
                Some("192.0.2.1"),
                t0() + Duration::minutes(minute),
            )
            .await
            .unwrap();
    }
    failures
        .record("bob@example.com", Some("192.0.2.1"), t0())
        .await
        .unwrap();
    failures
        .record("bob@example.com", None, t0())
        .await
        .unwrap();

    let since = t0() - Duration::minutes(15);
    let ada = failures.for_email("ada@example.com", since).await.unwrap();
    assert_eq!(ada.count, 3);
    assert_eq!(ada.oldest, Some(t0()));
    let ip = failures.for_ip("192.0.2.1", since).await.unwrap();
    assert_eq!(ip.count, 4);

    // The window excludes older failures.
    let recent = failures.for_email("ada@example.com", t0()).await.unwrap();
    assert_eq!(recent.count, 2);
    assert_eq!(recent.oldest, Some(t0() + Duration::minutes(1)));

    failures.clear_for_email("ada@example.com").await.unwrap();
    assert_eq!(
        failures
            .for_email("ada@example.com", since)
            .await
            .unwrap()
            .count,
        0
    );
    assert_eq!(failures.for_ip("192.0.2.1", since).await.unwrap().count, 1);

    assert_eq!(
        failures.prune(t0() + Duration::seconds(1)).await.unwrap(),
        2
    );
    assert_eq!(
        failures
            .for_email("bob@example.com", since)
            .await
            .unwrap()
            .count,
        0
    );
}

crate::contract_tests!(failures_are_counted_per_email_and_ip_within_the_window);
