//! 429 storms and 5xx with the emulator's fault injection: calls succeed after waiting and
//! backing off, the waits are counted and reported, budgets are bounded, and long
//! Retry-After answers end the call instead of blocking a job.

use std::sync::Arc;
use std::time::Duration;

use cairn_dropbox::{
    ClientObserver, DropboxApp, DropboxError, ErrorKind, RateLimitEvent, RetryEvent,
};
use cairn_emulator::dropbox::Faults;
use parking_lot::Mutex;

use crate::support::{Mirror, config_for, console_tokens, emulator, small, sync};

#[derive(Default)]
struct Watcher {
    rate_limits: Mutex<Vec<RateLimitEvent>>,
    retries: Mutex<Vec<RetryEvent>>,
}

impl ClientObserver for Watcher {
    fn rate_limited(&self, event: &RateLimitEvent) {
        self.rate_limits.lock().push(event.clone());
    }
    fn retrying(&self, event: &RetryEvent) {
        self.retries.lock().push(event.clone());
    }
}

#[tokio::test]
async fn a_429_storm_is_waited_out_and_reported() {
    let env = emulator(small()).await;
    let watcher = Arc::new(Watcher::default());
    let client = env
        .app
        .team(console_tokens(&env.dropbox))
        .observer(watcher.clone())
        .build();
    let control = env.dropbox.control();
    control
        .set_faults(Faults {
            rate_429: 0.5,
            retry_after: 0,
            ..Faults::default()
        })
        .unwrap();
    let d = client.discover().await.unwrap();
    let entity = d.entities.iter().find(|e| e.has_content()).unwrap();
    let mut mirror = Mirror::new();
    sync(&client, entity, None, &mut mirror).await;
    assert!(!mirror.is_empty());

    let stats = client.stats();
    let served = control.counters();
    assert!(stats.rate_limited > 3, "{stats:?}");
    assert_eq!(
        stats.rate_limited, served.rate_limited,
        "every 429 was seen"
    );
    let events = watcher.rate_limits.lock().clone();
    assert_eq!(events.len() as u64, stats.rate_limited);
    assert!(events.iter().all(|e| e.reason == "too_many_requests"));
    assert!(events.iter().any(|e| e.member.is_none()), "team routes");
    assert!(
        events
            .iter()
            .any(|e| e.route == "files/list_folder" || e.route == "files/list_folder/continue")
    );
}

#[tokio::test]
async fn rate_limit_budgets_are_bounded() {
    let env = emulator(small()).await;
    let mut config = config_for(&env.dropbox);
    config.retry.max_rate_limit_retries = 3;
    let app = DropboxApp::new(config).unwrap();
    let client = app.team(console_tokens(&env.dropbox)).build();
    env.dropbox
        .control()
        .set_faults(Faults {
            rate_429: 1.0,
            retry_after: 0,
            ..Faults::default()
        })
        .unwrap();
    let err = client.team_info().await.unwrap_err();
    assert!(
        matches!(err, DropboxError::RateLimited { attempts: 4, .. }),
        "{err}"
    );
    assert_eq!(err.kind(), ErrorKind::RateLimited);
    assert_eq!(
        env.dropbox.control().counters().routes["team/get_info"].calls,
        4
    );
}

#[tokio::test]
async fn a_retry_after_longer_than_allowed_ends_the_call_at_once() {
    let env = emulator(small()).await;
    let mut config = config_for(&env.dropbox);
    config.retry.max_retry_after = Duration::from_millis(500);
    let app = DropboxApp::new(config).unwrap();
    let client = app.team(console_tokens(&env.dropbox)).build();
    env.dropbox
        .control()
        .set_faults(Faults {
            rate_429: 1.0,
            retry_after: 120,
            ..Faults::default()
        })
        .unwrap();
    let err = client.team_info().await.unwrap_err();
    match err {
        DropboxError::RateLimited {
            retry_after,
            attempts,
            ..
        } => {
            assert_eq!(
                retry_after,
                Duration::from_secs(120),
                "the body's retry_after"
            );
            assert_eq!(attempts, 1);
        }
        other => panic!("expected RateLimited, got {other}"),
    }
}

#[tokio::test]
async fn server_errors_back_off_and_recover() {
    let env = emulator(small()).await;
    let watcher = Arc::new(Watcher::default());
    let client = env
        .app
        .team(console_tokens(&env.dropbox))
        .observer(watcher.clone())
        .build();
    env.dropbox
        .control()
        .set_faults(Faults {
            rate_500: 0.25,
            rate_503: 0.25,
            ..Faults::default()
        })
        .unwrap();
    let d = client.discover().await.unwrap();
    for entity in d.entities.iter().filter(|e| e.has_content()).take(3) {
        let mut mirror = Mirror::new();
        sync(&client, entity, None, &mut mirror).await;
    }
    let stats = client.stats();
    assert!(stats.server_retries > 3, "{stats:?}");
    let retries = watcher.retries.lock().clone();
    assert_eq!(retries.len() as u64, stats.server_retries);
    assert!(retries.iter().any(|r| r.cause == "HTTP 500"));
    assert!(retries.iter().any(|r| r.cause == "HTTP 503"));
    assert!(retries.iter().all(|r| r.wait <= Duration::from_millis(4)));
}

#[tokio::test]
async fn persistent_server_errors_fail_after_the_retry_budget() {
    let env = emulator(small()).await;
    let mut config = config_for(&env.dropbox);
    config.retry.max_server_retries = 2;
    let app = DropboxApp::new(config).unwrap();
    let client = app.team(console_tokens(&env.dropbox)).build();
    env.dropbox
        .control()
        .set_faults(Faults {
            rate_503: 1.0,
            ..Faults::default()
        })
        .unwrap();
    let err = client.members(false).await.unwrap_err();
    match &err {
        DropboxError::Server {
            status,
            attempts,
            message,
            ..
        } => {
            assert_eq!((*status, *attempts), (503, 3));
            assert!(message.contains("unavailable"), "{message}");
        }
        other => panic!("expected Server, got {other}"),
    }
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert_eq!(
        env.dropbox.control().counters().routes["team/members/list_v2"].calls,
        3
    );
}

#[tokio::test]
async fn bad_requests_are_not_retried_and_keep_dropbox_words() {
    let env = emulator(small()).await;
    let client = env.app.team(console_tokens(&env.dropbox)).build();
    let d = client.discover().await.unwrap();
    let mut entity = d.entities.iter().find(|e| e.has_content()).unwrap().clone();
    entity.namespace_id = "not-a-namespace".into();
    let err = futures::StreamExt::next(&mut Box::pin(client.list_changes(&entity, None)))
        .await
        .unwrap()
        .unwrap_err();
    match &err {
        DropboxError::BadRequest { route, message } => {
            assert_eq!(route, "files/list_folder");
            assert!(message.contains("Dropbox-API-Path-Root"), "{message}");
        }
        other => panic!("expected BadRequest, got {other}"),
    }
    let mut entity = entity.clone();
    entity.namespace_id = "99".into();
    let err = futures::StreamExt::next(&mut Box::pin(client.list_changes(&entity, None)))
        .await
        .unwrap()
        .unwrap_err();
    let failure = err.api_failure().expect("a JSON error");
    assert_eq!(failure.status, 422);
    assert_eq!(failure.tags, ["no_permission"]);
    assert!(
        failure.summary.starts_with("no_permission"),
        "{}",
        failure.summary
    );
    assert_eq!(failure.error[".tag"], "no_permission");
    assert!(err.is_not_found());
}
