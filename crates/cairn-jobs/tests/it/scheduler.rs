//! The scheduler: slots become jobs exactly once.

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDate};

use cairn_domain::job::{BackupParams, BackupTrigger};

use cairn_domain::schedule::BackupFrequency;
use cairn_domain::{Clock, ConnectionStatus, JobKind, SharedClock};
use cairn_jobs::Scheduler;
use cairn_meta::{JobQuery, MetaStore};

use crate::harness::{account, clock, connected_task, t0};

/// The backup jobs of `task`'s account, counted by the calendar day of their slot.
async fn runs_per_day(
    store: &MetaStore,
    account: cairn_domain::ids::AccountId,
) -> BTreeMap<NaiveDate, usize> {
    let jobs = store
        .account(account)
        .jobs()
        .list(&JobQuery {
            kind: Some(JobKind::Backup),
            limit: 500,
            ..JobQuery::default()
        })
        .await
        .unwrap();
    let mut per_day = BTreeMap::new();
    for job in jobs {
        let params = BackupParams::from_job(&job).unwrap();
        assert_eq!(params.trigger, BackupTrigger::Schedule);
        let slot = params.slot.unwrap();
        *per_day.entry(slot.date_naive()).or_insert(0) += 1;
    }
    per_day
}

async fn three_times_a_day_gets_exactly_three_runs_per_day(store: MetaStore) {
    let a = account(&store, "ada@example.com").await;
    connected_task(&store, a, BackupFrequency::ThreeTimesADay, 5, t0()).await;
    let clock = clock();
    let shared: SharedClock = clock.clone();
    let mut scheduler = Scheduler::new(store.clone(), shared.clone());
    // Four simulated days in 20-minute steps, ticking twice per step (as two replicas
    // would) and restarting the scheduler at every simulated midnight.
    let end = t0() + Duration::days(4);
    let mut enqueued = 0;
    while clock.now() < end {
        let before = clock.now();
        enqueued += scheduler.tick().await.unwrap().enqueued;
        let again = scheduler.tick().await.unwrap();
        assert_eq!(
            again.enqueued, 0,
            "a second tick at {before} enqueued again"
        );
        clock.advance(Duration::minutes(20));
        if clock.now().date_naive() != before.date_naive() {
            scheduler = Scheduler::new(store.clone(), shared.clone());
        }
    }
    let per_day = runs_per_day(&store, a).await;
    let day0 = t0().date_naive();
    let expected: BTreeMap<NaiveDate, usize> =
        (0..4).map(|d| (day0 + Duration::days(d), 3)).collect();
    assert_eq!(per_day, expected);
    assert_eq!(enqueued, 12);
}

async fn frequencies_and_hours_are_respected(store: MetaStore) {
    let a = account(&store, "ada@example.com").await;
    let b = account(&store, "bob@example.com").await;
    let c = account(&store, "cyd@example.com").await;
    connected_task(&store, a, BackupFrequency::Daily, 22, t0()).await;
    connected_task(&store, b, BackupFrequency::Weekly, 3, t0()).await;
    connected_task(&store, c, BackupFrequency::Every3Days, 0, t0()).await;
    let clock = clock();
    let scheduler = Scheduler::new(store.clone(), clock.clone());
    for _ in 0..(14 * 24) {
        scheduler.tick().await.unwrap();
        clock.advance(Duration::hours(1));
    }
    // Daily at 22:00 for 14 days; weekly from the creation day (03:00, after the
    // 00:30 creation); every 3 days at midnight, the creation day's slot being before
    // the task existed.
    assert_eq!(runs_per_day(&store, a).await.values().sum::<usize>(), 14);
    assert_eq!(runs_per_day(&store, b).await.len(), 2);
    let every3: Vec<NaiveDate> = runs_per_day(&store, c).await.into_keys().collect();
    let day0 = t0().date_naive();
    assert_eq!(
        every3,
        [3, 6, 9, 12].map(|d| day0 + Duration::days(d)).to_vec()
    );
}

async fn disconnected_and_deleted_tasks_are_not_scheduled(store: MetaStore) {
    let a = account(&store, "ada@example.com").await;
    let off = connected_task(&store, a, BackupFrequency::Daily, 1, t0()).await;
    let gone = connected_task(&store, a, BackupFrequency::Daily, 1, t0()).await;
    let tasks = store.account(a).tasks();
    tasks
        .set_connection(off.id, ConnectionStatus::Disconnected)
        .await
        .unwrap();
    tasks.delete(gone.id, t0()).await.unwrap();
    let clock = clock();
    let scheduler = Scheduler::new(store.clone(), clock.clone());
    clock.advance(Duration::days(2));
    let report = scheduler.tick().await.unwrap();
    assert_eq!(report.enqueued, 0);
    assert!(runs_per_day(&store, a).await.is_empty());

    // Reconnected: only the latest missed slot runs, not one per missed day.
    tasks
        .store_token(off.id, b"again", clock.now())
        .await
        .unwrap();
    assert_eq!(scheduler.tick().await.unwrap().enqueued, 1);
}

async fn maintenance_is_enqueued_once_a_day(store: MetaStore) {
    let clock = clock();
    let scheduler = Scheduler::new(store.clone(), clock.clone());
    let mut ids = std::collections::BTreeSet::new();
    for _ in 0..(3 * 24) {
        scheduler.tick().await.unwrap();
        clock.advance(Duration::hours(1));
    }
    // Claim everything there is: one maintenance job per simulated day.
    while let Some(claimed) = store
        .jobs()
        .claim(
            "w",
            &[JobKind::Maintenance],
            clock.now(),
            Duration::minutes(1),
        )
        .await
        .unwrap()
    {
        assert_eq!(claimed.job.account_id, None);
        ids.insert(claimed.job.dedupe_key.unwrap());
    }
    assert_eq!(ids.len(), 3, "{ids:?}");
}

crate::backend_tests!(
    three_times_a_day_gets_exactly_three_runs_per_day,
    frequencies_and_hours_are_respected,
    disconnected_and_deleted_tasks_are_not_scheduled,
    maintenance_is_enqueued_once_a_day,
);
