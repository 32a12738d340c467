//! The worker pool: concurrency, lease take-over, cancellation, shutdown, panics.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration as StdDuration;

use chrono::Duration;
use tokio::sync::{Notify, mpsc};

use cairn_domain::event::EventCategory;
use cairn_domain::ids::{AccountId, JobId};
use cairn_domain::{JobKind, JobOutcome, JobStatus, NewJob, SharedClock};
use cairn_jobs::{
    CancellationToken, Completion, JOB_FINISHED, JobContext, JobRunner, Runners, StopReason,
    WorkerConfig, WorkerEvent, WorkerPool,
};
use cairn_meta::{EventQuery, MetaStore};

use crate::harness::{account, clock, t0};

const LEASE: StdDuration = StdDuration::from_secs(30);

fn config(name: &str, concurrency: usize) -> WorkerConfig {
    WorkerConfig {
        heartbeat: StdDuration::from_millis(20),
        poll: StdDuration::from_millis(10),
        ..WorkerConfig::new(name, concurrency, LEASE)
    }
}

/// Starts a pool; returns its event stream, its shutdown token and its task.
fn start(
    store: &MetaStore,
    clock: SharedClock,
    runner: Arc<dyn JobRunner>,
    config: WorkerConfig,
) -> (
    mpsc::UnboundedReceiver<WorkerEvent>,
    CancellationToken,
    tokio::task::JoinHandle<()>,
) {
    let (tx, rx) = mpsc::unbounded_channel();
    let shutdown = CancellationToken::new();
    let pool = WorkerPool::new(
        store.clone(),
        clock,
        Runners::new().with(JobKind::Backup, runner),
        config,
    )
    .with_events(tx);
    let handle = tokio::spawn(pool.run(shutdown.clone()));
    (rx, shutdown, handle)
}

async fn enqueue(store: &MetaStore, account: AccountId) -> JobId {
    store
        .account(account)
        .jobs()
        .enqueue(&NewJob::new(JobKind::Backup, t0()))
        .await
        .unwrap()
        .id
}

/// Counts runs and the most that ran at once.
#[derive(Default)]
struct Counting {
    runs: AtomicUsize,
    now: AtomicUsize,
    peak: AtomicUsize,
}

#[async_trait::async_trait]
impl JobRunner for Counting {
    async fn run(&self, ctx: &JobContext) -> Completion {
        assert_eq!(ctx.account().map(|a| a.id()), ctx.job().account_id);
        self.runs.fetch_add(1, Ordering::SeqCst);
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        tokio::task::yield_now().await;
        self.now.fetch_sub(1, Ordering::SeqCst);
        JobOutcome::Succeeded.into()
    }
}

async fn runs_every_job_once_within_the_concurrency(store: MetaStore) {
    let a = account(&store, "ada@example.com").await;
    let mut ids = Vec::new();
    for _ in 0..8 {
        ids.push(enqueue(&store, a).await);
    }
    let runner = Arc::new(Counting::default());
    let (mut events, shutdown, handle) = start(&store, clock(), runner.clone(), config("w1", 2));
    let mut finished = Vec::new();
    while finished.len() < ids.len() {
        if let Some(WorkerEvent::Finished { job, status }) = events.recv().await {
            assert_eq!(status, JobStatus::Succeeded);
            finished.push(job);
        }
    }
    shutdown.cancel();
    handle.await.unwrap();
    finished.sort();
    ids.sort();
    assert_eq!(finished, ids);
    assert_eq!(runner.runs.load(Ordering::SeqCst), 8);
    assert!(runner.peak.load(Ordering::SeqCst) <= 2);
    // Each finished job is in the account's activity.
    let activity = store
        .account(a)
        .events()
        .list(&EventQuery {
            category: Some(EventCategory::Activity),
            limit: 50,
            ..EventQuery::default()
        })
        .await
        .unwrap();
    let mut recorded: Vec<JobId> = activity
        .events
        .iter()
        .filter(|e| e.kind.code() == JOB_FINISHED)
        .map(|e| e.details["job"].as_str().unwrap().parse().unwrap())
        .collect();
    recorded.sort();
    assert_eq!(recorded, ids);
    assert!(
        activity
            .events
            .iter()
            .all(|e| e.details["status"] == "succeeded")
    );
    for id in ids {
        let job = store.account(a).jobs().get(id).await.unwrap();
        assert_eq!(job.status, JobStatus::Succeeded);
        let logs = store.account(a).jobs().logs(id, 0, 10).await.unwrap();
        assert!(
            logs[0].message.starts_with("Started by worker w1"),
            "{logs:?}"
        );
    }
}

/// Announces it started, then hangs until released, ignoring every stop signal: a
/// worker that is stuck (or whose heartbeats no longer get through).
struct Stuck {
    started: mpsc::UnboundedSender<JobId>,
    release: Arc<Notify>,
}

#[async_trait::async_trait]
impl JobRunner for Stuck {
    async fn run(&self, ctx: &JobContext) -> Completion {
        let _ = self.started.send(ctx.job().id);
        self.release.notified().await;
        JobOutcome::Failed("the stuck worker's late result".into()).into()
    }
}

async fn a_silent_worker_loses_its_job_to_another_after_the_lease(store: MetaStore) {
    let a = account(&store, "ada@example.com").await;
    let id = enqueue(&store, a).await;
    let clock = clock();

    // Worker A claims the job and never heartbeats (its interval is far away).
    let (started_tx, mut started) = mpsc::unbounded_channel();
    let release = Arc::new(Notify::new());
    let stuck = Arc::new(Stuck {
        started: started_tx,
        release: release.clone(),
    });
    let silent = WorkerConfig {
        heartbeat: StdDuration::from_secs(3600),
        ..config("A", 1)
    };
    let (mut a_events, a_shutdown, a_handle) = start(&store, clock.clone(), stuck, silent);
    assert_eq!(started.recv().await, Some(id));

    // Worker B runs alongside; nothing to take while A's lease holds.
    let counting = Arc::new(Counting::default());
    let (mut b_events, b_shutdown, b_handle) =
        start(&store, clock.clone(), counting.clone(), config("B", 1));
    clock.advance(Duration::from_std(LEASE).unwrap() + Duration::seconds(1));
    assert_eq!(
        b_events.recv().await,
        Some(WorkerEvent::Started {
            job: id,
            attempt: 2
        })
    );
    assert_eq!(
        b_events.recv().await,
        Some(WorkerEvent::Finished {
            job: id,
            status: JobStatus::Succeeded
        })
    );

    // A finally returns: its result is discarded.
    release.notify_one();
    assert_eq!(
        a_events.recv().await,
        Some(WorkerEvent::Started {
            job: id,
            attempt: 1
        })
    );
    assert_eq!(
        a_events.recv().await,
        Some(WorkerEvent::LeaseLost { job: id })
    );
    a_shutdown.cancel();
    b_shutdown.cancel();
    a_handle.await.unwrap();
    b_handle.await.unwrap();

    let job = store.account(a).jobs().get(id).await.unwrap();
    assert_eq!(job.status, JobStatus::Succeeded);
    assert_eq!(job.error, None);
    assert_eq!(job.attempts, 2);
    assert_eq!(job.lease_owner.as_deref(), Some("B"));
    assert_eq!(counting.runs.load(Ordering::SeqCst), 1, "completed once");
    let logs = store.account(a).jobs().logs(id, 0, 50).await.unwrap();
    assert!(
        logs.iter().all(|l| !l.message.contains("late result")),
        "the loser's outcome must not reach the log: {logs:?}"
    );
}

/// Waits for the stop signal and reports it.
struct UntilStopped {
    started: mpsc::UnboundedSender<JobId>,
}

#[async_trait::async_trait]
impl JobRunner for UntilStopped {
    async fn run(&self, ctx: &JobContext) -> Completion {
        let _ = self.started.send(ctx.job().id);
        ctx.stopped().await;
        match ctx.stop_reason() {
            Some(StopReason::CancelRequested | StopReason::Shutdown) => JobOutcome::Canceled.into(),
            other => JobOutcome::Failed(format!("unexpected stop {other:?}")).into(),
        }
    }
}

async fn cancellation_reaches_the_running_job(store: MetaStore) {
    let a = account(&store, "ada@example.com").await;
    let id = enqueue(&store, a).await;
    let (tx, mut started) = mpsc::unbounded_channel();
    let (mut events, shutdown, handle) = start(
        &store,
        clock(),
        Arc::new(UntilStopped { started: tx }),
        config("w", 1),
    );
    assert_eq!(started.recv().await, Some(id));
    let status = store
        .account(a)
        .jobs()
        .request_cancel(id, t0())
        .await
        .unwrap();
    assert_eq!(
        status,
        JobStatus::InProgress,
        "running: flagged, not yet stopped"
    );
    loop {
        if let Some(WorkerEvent::Finished { job, status }) = events.recv().await {
            assert_eq!((job, status), (id, JobStatus::Canceled));
            break;
        }
    }
    shutdown.cancel();
    handle.await.unwrap();
    assert_eq!(
        store.account(a).jobs().get(id).await.unwrap().status,
        JobStatus::Canceled
    );
}

async fn shutdown_hands_unfinished_jobs_back(store: MetaStore) {
    let a = account(&store, "ada@example.com").await;
    let id = enqueue(&store, a).await;
    let (tx, mut started) = mpsc::unbounded_channel();
    let (mut events, shutdown, handle) = start(
        &store,
        clock(),
        Arc::new(UntilStopped { started: tx }),
        config("w", 1),
    );
    assert_eq!(started.recv().await, Some(id));
    shutdown.cancel();
    handle.await.unwrap();
    let mut seen = Vec::new();
    while let Ok(event) = events.try_recv() {
        seen.push(event);
    }
    assert_eq!(seen.last(), Some(&WorkerEvent::Released { job: id }));
    let job = store.account(a).jobs().get(id).await.unwrap();
    assert_eq!((job.status, job.attempts), (JobStatus::Pending, 0));
}

struct Panics;

#[async_trait::async_trait]
impl JobRunner for Panics {
    async fn run(&self, _ctx: &JobContext) -> Completion {
        panic!("connector bug");
    }
}

async fn a_panicking_runner_fails_its_job(store: MetaStore) {
    let a = account(&store, "ada@example.com").await;
    let id = enqueue(&store, a).await;
    let (mut events, shutdown, handle) = start(&store, clock(), Arc::new(Panics), config("w", 1));
    loop {
        if let Some(WorkerEvent::Finished { status, .. }) = events.recv().await {
            assert_eq!(status, JobStatus::Failed);
            break;
        }
    }
    shutdown.cancel();
    handle.await.unwrap();
    let job = store.account(a).jobs().get(id).await.unwrap();
    assert_eq!(job.error.as_deref(), Some("The job crashed: connector bug"));
}

crate::backend_tests!(
    runs_every_job_once_within_the_concurrency,
    a_silent_worker_loses_its_job_to_another_after_the_lease,
    cancellation_reaches_the_running_job,
    shutdown_hands_unfinished_jobs_back,
    a_panicking_runner_fails_its_job,
);
