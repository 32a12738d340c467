//! The job queue: idempotent enqueue, leases, take-over, cancellation, concurrent claims.

use std::collections::BTreeSet;

use chrono::Duration;

use cairn_domain::job::{JobLogLine, JobProgress, LogLevel};
use cairn_domain::{JobKind, JobOutcome, JobStatus, NewJob, UserStatus};
use cairn_meta::{JobQuery, LeaseState, MetaError, MetaStore};

use crate::accounts::seed;
use crate::harness::t0;
use crate::tasks::sf_task;

const LEASE: Duration = Duration::seconds(30);
const BACKUP: &[JobKind] = &[JobKind::Backup];
const HELD: LeaseState = LeaseState::Held {
    cancel_requested: false,
};

async fn enqueue_is_idempotent_by_dedupe_key(store: MetaStore) {
    let (a, _) = seed(&store, "ada@example.com", UserStatus::Active).await;
    let (b, _) = seed(&store, "bob@example.com", UserStatus::Active).await;
    let task = sf_task(a.id, "Org");
    store.account(a.id).tasks().create(&task).await.unwrap();
    let jobs = store.account(a.id).jobs();

    let job = NewJob::new(JobKind::Backup, t0())
        .for_task(task.id)
        .deduplicated_by("backup:slot-1");
    let first = jobs.enqueue(&job).await.unwrap();
    assert!(first.created);
    let again = NewJob::new(JobKind::Backup, t0())
        .for_task(task.id)
        .deduplicated_by("backup:slot-1");
    let second = jobs.enqueue(&again).await.unwrap();
    assert_eq!(second.id, first.id);
    assert!(!second.created);
    // Keyless jobs are never deduplicated.
    jobs.enqueue(&NewJob::new(JobKind::Backup, t0()))
        .await
        .unwrap();
    jobs.enqueue(&NewJob::new(JobKind::Backup, t0()))
        .await
        .unwrap();
    assert_eq!(
        jobs.list(&JobQuery {
            limit: 10,
            ..JobQuery::default()
        })
        .await
        .unwrap()
        .len(),
        3
    );

    // A job for another account's task is refused.
    let foreign = NewJob::new(JobKind::Backup, t0()).for_task(task.id);
    let err = store
        .account(b.id)
        .jobs()
        .enqueue(&foreign)
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
    // The key is global, but another account never gets this account's job back.
    let err = store
        .account(b.id)
        .jobs()
        .enqueue(&again)
        .await
        .unwrap_err();
    assert!(matches!(err, MetaError::Conflict { .. }), "{err}");

    let stored = jobs.get(first.id).await.unwrap();
    assert_eq!(stored.status, JobStatus::Pending);
    assert_eq!(stored.task_id, Some(task.id));
    assert_eq!(stored.account_id, Some(a.id));
    assert_eq!(stored.dedupe_key.as_deref(), Some("backup:slot-1"));
    let by_task = jobs
        .list(&JobQuery {
            task: Some(task.id),
            limit: 10,
            ..JobQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(by_task.len(), 1);
}

async fn claim_heartbeat_progress_finish(store: MetaStore) {
    let (a, _) = seed(&store, "ada@example.com", UserStatus::Active).await;
    let jobs = store.account(a.id).jobs();
    let queue = store.jobs();
    let id = jobs
        .enqueue(&NewJob::new(JobKind::Backup, t0()))
        .await
        .unwrap()
        .id;
    // Not yet due, or the wrong kind: nothing to claim.
    let later = NewJob {
        run_after: t0() + Duration::hours(1),
        ..NewJob::new(JobKind::Backup, t0())
    };
    jobs.enqueue(&later).await.unwrap();
    assert!(
        queue
            .claim("w1", &[JobKind::Restore], t0(), LEASE)
            .await
            .unwrap()
            .is_none()
    );
    assert!(queue.claim("w1", &[], t0(), LEASE).await.unwrap().is_none());

    let claimed = queue
        .claim("w1", BACKUP, t0(), LEASE)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(claimed.job.id, id);
    assert_eq!(claimed.job.status, JobStatus::InProgress);
    assert_eq!(claimed.job.attempts, 1);
    assert_eq!(claimed.job.lease_owner.as_deref(), Some("w1"));
    assert_eq!(claimed.job.lease_until, Some(t0() + LEASE));
    assert_eq!(claimed.job.started_at, Some(t0()));
    assert!(
        queue
            .claim("w2", BACKUP, t0(), LEASE)
            .await
            .unwrap()
            .is_none()
    );

    let now = t0() + Duration::seconds(20);
    assert_eq!(
        queue
            .heartbeat(id, claimed.token, now, LEASE)
            .await
            .unwrap(),
        HELD
    );
    // The heartbeat moved the lease: at t0 + 40 s the job is still not claimable.
    let t40 = t0() + Duration::seconds(40);
    assert!(
        queue
            .claim("w2", BACKUP, t40, LEASE)
            .await
            .unwrap()
            .is_none()
    );

    let progress = JobProgress {
        done: 3,
        total: Some(10),
        note: Some("Account".into()),
    };
    assert_eq!(
        queue.progress(id, claimed.token, &progress).await.unwrap(),
        HELD
    );
    queue
        .log(id, &JobLogLine::new(now, LogLevel::Info, "started"))
        .await
        .unwrap();
    queue
        .log(id, &JobLogLine::new(now, LogLevel::Warn, "slow"))
        .await
        .unwrap();
    assert_eq!(jobs.get(id).await.unwrap().progress, progress);
    let logs = jobs.logs(id, 0, 10).await.unwrap();
    assert_eq!(
        logs.iter().map(|l| l.message.as_str()).collect::<Vec<_>>(),
        ["started", "slow"]
    );
    assert_eq!(logs[1].level, LogLevel::Warn);
    assert_eq!(jobs.logs(id, 1, 10).await.unwrap().len(), 1);

    let outcome = JobOutcome::PartiallySucceeded("API budget reached".into());
    assert_eq!(
        queue
            .finish(id, claimed.token, &outcome, None, t40)
            .await
            .unwrap(),
        HELD
    );
    let done = jobs.get(id).await.unwrap();
    assert_eq!(done.status, JobStatus::PartiallySucceeded);
    assert_eq!(done.error.as_deref(), Some("API budget reached"));
    assert_eq!(done.finished_at, Some(t40));
    // Finished: further writes with the old token are refused.
    assert_eq!(
        queue
            .heartbeat(id, claimed.token, t40, LEASE)
            .await
            .unwrap(),
        LeaseState::Lost
    );
    assert_eq!(
        queue
            .finish(id, claimed.token, &JobOutcome::Succeeded, None, t40)
            .await
            .unwrap(),
        LeaseState::Lost
    );
    assert_eq!(
        jobs.get(id).await.unwrap().status,
        JobStatus::PartiallySucceeded
    );
}

async fn an_expired_lease_is_taken_over_and_the_job_completes_once(store: MetaStore) {
    let (a, _) = seed(&store, "ada@example.com", UserStatus::Active).await;
    let jobs = store.account(a.id).jobs();
    let queue = store.jobs();
    let id = jobs
        .enqueue(&NewJob::new(JobKind::Backup, t0()))
        .await
        .unwrap()
        .id;
    let first = queue
        .claim("w1", BACKUP, t0(), LEASE)
        .await
        .unwrap()
        .unwrap();

    // w1 stops heartbeating. Just before expiry nobody can take it; just after, w2 can.
    let expiry = t0() + LEASE;
    assert!(
        queue
            .claim("w2", BACKUP, expiry, LEASE)
            .await
            .unwrap()
            .is_none()
    );
    let after = expiry + Duration::seconds(1);
    let second = queue
        .claim("w2", BACKUP, after, LEASE)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(second.job.id, id);
    assert_eq!(second.job.attempts, 2);
    assert_eq!(second.job.lease_owner.as_deref(), Some("w2"));
    assert_eq!(second.job.started_at, Some(t0()), "first start kept");

    // w1 wakes up: every write is refused.
    assert_eq!(
        queue
            .heartbeat(id, first.token, after, LEASE)
            .await
            .unwrap(),
        LeaseState::Lost
    );
    let p = JobProgress::default();
    assert_eq!(
        queue.progress(id, first.token, &p).await.unwrap(),
        LeaseState::Lost
    );
    assert_eq!(
        queue
            .finish(
                id,
                first.token,
                &JobOutcome::Failed("late".into()),
                None,
                after
            )
            .await
            .unwrap(),
        LeaseState::Lost
    );
    assert_eq!(
        queue
            .finish(id, second.token, &JobOutcome::Succeeded, None, after)
            .await
            .unwrap(),
        HELD
    );
    let job = jobs.get(id).await.unwrap();
    assert_eq!(job.status, JobStatus::Succeeded);
    assert_eq!(job.error, None);
    let much_later = after + Duration::hours(1);
    assert!(
        queue
            .claim("w3", BACKUP, much_later, LEASE)
            .await
            .unwrap()
            .is_none()
    );
}

async fn a_job_that_keeps_losing_its_worker_fails(store: MetaStore) {
    let (a, _) = seed(&store, "ada@example.com", UserStatus::Active).await;
    let jobs = store.account(a.id).jobs();
    let queue = store.jobs();
    let job = NewJob {
        max_attempts: 2,
        ..NewJob::new(JobKind::Backup, t0())
    };
    let id = jobs.enqueue(&job).await.unwrap().id;
    let mut now = t0();
    for attempt in 1..=2 {
        let claimed = queue.claim("w", BACKUP, now, LEASE).await.unwrap().unwrap();
        assert_eq!(claimed.job.attempts, attempt);
        now += LEASE + Duration::seconds(1);
    }
    assert!(
        queue
            .claim("w", BACKUP, now, LEASE)
            .await
            .unwrap()
            .is_none()
    );
    let failed = jobs.get(id).await.unwrap();
    assert_eq!(failed.status, JobStatus::Failed);
    assert!(failed.error.unwrap().contains("stopped responding"));
}

async fn cancellation_pending_and_running(store: MetaStore) {
    let (a, _) = seed(&store, "ada@example.com", UserStatus::Active).await;
    let (b, _) = seed(&store, "bob@example.com", UserStatus::Active).await;
    let jobs = store.account(a.id).jobs();
    let queue = store.jobs();
    let pending = jobs
        .enqueue(&NewJob::new(JobKind::Backup, t0()))
        .await
        .unwrap()
        .id;
    assert!(
        store
            .account(b.id)
            .jobs()
            .request_cancel(pending, t0())
            .await
            .unwrap_err()
            .is_not_found()
    );
    assert_eq!(
        jobs.request_cancel(pending, t0()).await.unwrap(),
        JobStatus::Canceled
    );
    assert!(
        queue
            .claim("w", BACKUP, t0(), LEASE)
            .await
            .unwrap()
            .is_none(),
        "canceled is not claimable"
    );
    assert_eq!(jobs.get(pending).await.unwrap().finished_at, Some(t0()));

    let running = jobs
        .enqueue(&NewJob::new(JobKind::Backup, t0()))
        .await
        .unwrap()
        .id;
    let claimed = queue
        .claim("w", BACKUP, t0(), LEASE)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        jobs.request_cancel(running, t0()).await.unwrap(),
        JobStatus::InProgress
    );
    assert_eq!(
        queue
            .heartbeat(running, claimed.token, t0(), LEASE)
            .await
            .unwrap(),
        LeaseState::Held {
            cancel_requested: true
        }
    );
    queue
        .finish(running, claimed.token, &JobOutcome::Canceled, None, t0())
        .await
        .unwrap();
    assert_eq!(jobs.get(running).await.unwrap().status, JobStatus::Canceled);
    // Asking again changes nothing.
    assert_eq!(
        jobs.request_cancel(running, t0()).await.unwrap(),
        JobStatus::Canceled
    );
}

async fn release_hands_a_job_back(store: MetaStore) {
    let (a, _) = seed(&store, "ada@example.com", UserStatus::Active).await;
    let jobs = store.account(a.id).jobs();
    let queue = store.jobs();
    let id = jobs
        .enqueue(&NewJob::new(JobKind::Backup, t0()))
        .await
        .unwrap()
        .id;
    let claimed = queue
        .claim("w1", BACKUP, t0(), LEASE)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(queue.release(id, claimed.token, t0()).await.unwrap(), HELD);
    let job = jobs.get(id).await.unwrap();
    assert_eq!((job.status, job.attempts), (JobStatus::Pending, 0));
    // Another worker picks it up at once, without waiting for the lease.
    let again = queue
        .claim("w2", BACKUP, t0(), LEASE)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((again.job.id, again.job.attempts), (id, 1));
}

async fn system_jobs_have_no_account(store: MetaStore) {
    let queue = store.jobs();
    let job = NewJob::new(JobKind::Maintenance, t0()).deduplicated_by("purge:2025-06-01");
    let first = queue.enqueue_system(&job).await.unwrap();
    let second = queue.enqueue_system(&job).await.unwrap();
    assert_eq!(
        (first.id, first.created, second.created),
        (second.id, true, false)
    );
    let claimed = queue
        .claim("w", &[JobKind::Maintenance], t0(), LEASE)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(claimed.job.account_id, None);
    assert_eq!(
        queue.get(first.id).await.unwrap().status,
        JobStatus::InProgress
    );
}

async fn concurrent_claimers_never_share_a_job(store: MetaStore) {
    let (a, _) = seed(&store, "ada@example.com", UserStatus::Active).await;
    let jobs = store.account(a.id).jobs();
    let mut expected = BTreeSet::new();
    for _ in 0..40 {
        expected.insert(
            jobs.enqueue(&NewJob::new(JobKind::Backup, t0()))
                .await
                .unwrap()
                .id,
        );
    }
    let mut workers = Vec::new();
    for w in 0..6 {
        let store = store.clone();
        workers.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            while let Some(c) = store
                .jobs()
                .claim(&format!("w{w}"), BACKUP, t0(), LEASE)
                .await
                .unwrap()
            {
                mine.push(c.job.id);
            }
            mine
        }));
    }
    let mut claimed = Vec::new();
    for worker in workers {
        claimed.extend(worker.await.unwrap());
    }
    let unique: BTreeSet<_> = claimed.iter().copied().collect();
    assert_eq!(claimed.len(), unique.len(), "a job was claimed twice");
    assert_eq!(unique, expected);
}

async fn jobs_of_one_task_and_kind_run_one_at_a_time(store: MetaStore) {
    let (a, _) = seed(&store, "ada@example.com", UserStatus::Active).await;
    let tasks = store.account(a.id).tasks();
    let one = sf_task(a.id, "One");
    let two = sf_task(a.id, "Two");
    tasks.create(&one).await.unwrap();
    tasks.create(&two).await.unwrap();
    let jobs = store.account(a.id).jobs();
    let queue = store.jobs();
    let backup = |task| NewJob::new(JobKind::Backup, t0()).for_task(task);
    let first = jobs.enqueue(&backup(one.id)).await.unwrap().id;
    let second = jobs.enqueue(&backup(one.id)).await.unwrap().id;
    let other = jobs.enqueue(&backup(two.id)).await.unwrap().id;
    let restore = jobs
        .enqueue(&NewJob::new(JobKind::Restore, t0()).for_task(one.id))
        .await
        .unwrap()
        .id;
    let kinds = &[JobKind::Backup, JobKind::Restore];

    let c1 = queue.claim("w", kinds, t0(), LEASE).await.unwrap().unwrap();
    let c2 = queue.claim("w", kinds, t0(), LEASE).await.unwrap().unwrap();
    let c3 = queue.claim("w", kinds, t0(), LEASE).await.unwrap().unwrap();
    assert_eq!(
        [c1.job.id, c2.job.id, c3.job.id],
        [first, other, restore],
        "the second backup of task one waits"
    );
    assert!(
        queue
            .claim("w", kinds, t0(), LEASE)
            .await
            .unwrap()
            .is_none()
    );
    queue
        .finish(first, c1.token, &JobOutcome::Succeeded, None, t0())
        .await
        .unwrap();
    let next = queue.claim("w", kinds, t0(), LEASE).await.unwrap().unwrap();
    assert_eq!(next.job.id, second);
}

crate::contract_tests!(
    jobs_of_one_task_and_kind_run_one_at_a_time,
    enqueue_is_idempotent_by_dedupe_key,
    claim_heartbeat_progress_finish,
    an_expired_lease_is_taken_over_and_the_job_completes_once,
    a_job_that_keeps_losing_its_worker_fails,
    cancellation_pending_and_running,
    release_hands_a_job_back,
    system_jobs_have_no_account,
    concurrent_claimers_never_share_a_job,
);
