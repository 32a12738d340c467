//! Failures end in the right status: the API budget makes a run Partial and the next
//! one completes; a revoked token makes the task Disconnected; 10 % server faults still
//! converge on a snapshot equal to the org.

use cairn_backup::RunStatus;
use cairn_domain::{ConnectionStatus, EntityStatus};
use cairn_emulator::salesforce::{FaultKind, FaultRule};

use super::support::{dump, world};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn budget_exhaustion_is_partial_and_the_next_run_completes() {
    let w = world(43, |_, _| {}).await;
    let control = w.sf.control();
    control.set_api_allowance(400);
    control.reset_api_usage();
    let scope = w.store.account(w.task.account_id);
    let mut settings = w.task.settings.clone();
    settings.api_limit_percent = 25;
    scope
        .tasks()
        .update(w.task.id, &w.task.name, &settings)
        .await
        .unwrap();

    let first = w.run().await;
    assert_eq!(first.status, RunStatus::Partial, "{first:?}");
    assert!(
        first
            .message
            .as_deref()
            .unwrap_or("")
            .contains("API budget")
    );
    let (used, _) = control.info().api_usage;
    assert!(used <= 100, "stayed within 25 % of 400: {used}");
    let done = first
        .entities
        .iter()
        .filter(|e| e.status == EntityStatus::Success)
        .count();
    let left = first
        .entities
        .iter()
        .filter(|e| e.status == EntityStatus::Partial)
        .count();
    assert!(left > 0, "{first:?}");
    if done > 0 {
        let record = scope
            .snapshots()
            .get(first.snapshot.unwrap())
            .await
            .unwrap();
        assert_eq!(record.outcome, cairn_domain::SnapshotOutcome::Partial);
    }

    // A day later the allowance has rolled off.
    control.advance_clock(25 * 3600 * 1000);
    control.set_api_allowance(1_000_000);
    settings.api_limit_percent = 100;
    scope
        .tasks()
        .update(w.task.id, &w.task.name, &settings)
        .await
        .unwrap();
    let second = w.run().await;
    assert_eq!(second.status, RunStatus::Complete, "{second:?}");
    let m = w.manifest(&second).await;
    w.assert_snapshot_matches(&m, &dump(&w.sf)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_token_disconnects_the_task() {
    let w = world(44, |_, _| {}).await;
    let control = w.sf.control();
    assert!(control.revoke_token(w.tokens.refresh_token.as_ref().unwrap().expose()));
    control.expire_sessions();
    let out = w.run().await;
    assert_eq!(out.status, RunStatus::Disconnected, "{out:?}");
    assert!(out.message.as_deref().unwrap().contains("re-authenticate"));
    assert!(out.snapshot.is_none());
    let task = w
        .store
        .account(w.task.account_id)
        .tasks()
        .get(w.task.id)
        .await
        .unwrap();
    assert_eq!(task.connection, ConnectionStatus::Disconnected);
    // Without a token the next run says so at once.
    let again = w.run().await;
    assert_eq!(again.status, RunStatus::Disconnected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_percent_faults_converge() {
    let w = world(45, |_, _| {}).await;
    w.sf.control().set_faults(vec![
        FaultRule {
            kind: FaultKind::ServerError,
            rate: 0.05,
            count: None,
            path_prefix: None,
        },
        FaultRule {
            kind: FaultKind::Unavailable,
            rate: 0.05,
            count: None,
            path_prefix: None,
        },
    ]);
    let out = w.run().await;
    let out = if out.status == RunStatus::Complete {
        out
    } else {
        w.run().await
    };
    assert_eq!(out.status, RunStatus::Complete, "{out:?}");
    let m = w.manifest(&out).await;
    w.sf.control().clear_faults();
    w.assert_snapshot_matches(&m, &dump(&w.sf)).await;
}
