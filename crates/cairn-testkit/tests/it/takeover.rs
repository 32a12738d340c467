//! Issue 6 acceptance: a worker process dies in the middle of a Salesforce backup and
//! another one finishes it. Worker process A takes the job; the emulator holds A's first
//! call for every object but one with records, so that object is the only one A reads,
//! and once the object after the first few arrives at its hold, the finished one is
//! durable (segments written, checkpoint saved); A is killed there — no heartbeat, no
//! hand-back. Once A's lease has run out on worker process B's clock, B takes the job
//! over, resumes from the checkpoints without reading the finished object again, and the
//! snapshot equals the org.

use cairn::Role;
use cairn_backup::BackupOptions;
use cairn_backup::salesforce::cursor::EntityCursor;
use cairn_domain::{EntityKind, EntityStatus, JobStatus};
use cairn_emulator::salesforce::Hold;
use cairn_meta::EntityQuery;
use cairn_testkit::{JOB_TIMEOUT, WorkerProcess};

use crate::backup_support::{
    AccountVault, activate, backup_now, connect_salesforce_task, listed_entities, press_backup_now,
};
use crate::e2e_salesforce::{assert_snapshot_equals_dump, entity_names, org_client, org_dump};
use crate::task_support::{account_of, app_builder, salesforce};

/// The number in a run's summary log line (`Complete: … 42 records fetched, …`).
fn records_fetched(line: &str) -> Option<u64> {
    let end = line.find(" records fetched")?;
    line[..end].rsplit(' ').next()?.parse().ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_whose_worker_dies_is_taken_over_and_finished_without_refetching() {
    let sf = salesforce().await;
    // The portal only: every worker is a process of its own.
    let app = app_builder(Some(&sf), None).role(Role::Api).spawn().await;
    let (client, user) = app.signed_in_client("ada@example.com").await;
    let account = account_of(&app, &user.email).await;
    let task = connect_salesforce_task(&app, &client, &sf).await;

    let a = WorkerProcess::start(&app).await.unwrap();
    let discovery = backup_now(&app, &client, account, task).await;
    assert_eq!(
        discovery.status,
        JobStatus::Succeeded,
        "{:?}",
        discovery.error
    );
    let objects = listed_entities(&app, &client, task, "kind=sf_object").await;
    activate(&app, &client, task, &objects).await;

    // A run takes objects in name order, a few at a time. Every object but the first
    // one with records is held at its first call (its describe), so that one is the only
    // object A can finish; the object that can only start once a slot frees up arriving
    // at its hold says it has.
    let mut names = entity_names(
        &app,
        account,
        task,
        EntityKind::SalesforceObject,
        Some(EntityStatus::Scheduled),
    )
    .await;
    names.sort();
    let dump = org_dump(&sf);
    let rows = |name: &String| dump.get(name).map_or(0, |r| r.len() as u64);
    let finished = names.iter().position(|n| rows(n) > 0).unwrap();
    let slots = BackupOptions::default().entity_concurrency;
    assert!(finished < slots && slots < names.len(), "{names:?}");
    let holds: Vec<(usize, Hold)> = (0..names.len())
        .filter(|&i| i != finished)
        .map(|i| {
            let hold = sf
                .control()
                .hold(&format!("/sobjects/{}/describe", names[i]));
            (i, hold)
        })
        .collect();
    let freed_slot = &holds.iter().find(|(i, _)| *i == slots).unwrap().1;
    let job = press_backup_now(&app, &client, account, task).await;
    tokio::time::timeout(JOB_TIMEOUT, freed_slot.reached())
        .await
        .expect("worker A finishes an object and starts the next one");

    // The finished object is durable: read to the end, its segments pending (in no
    // snapshot yet); every other object is held before its first read.
    let entities = app
        .store()
        .account(account)
        .entities()
        .list(
            task,
            &EntityQuery {
                include_limited: true,
                ..EntityQuery::default()
            },
        )
        .await
        .unwrap();
    let name = &names[finished];
    let e = entities.iter().find(|e| &e.external_id == name).unwrap();
    let cursor = EntityCursor::load(name, e.cursor.as_ref()).unwrap();
    assert!(cursor.checkpoint.is_done(), "{name} was read to the end");
    assert!(cursor.segments.is_empty(), "{name} is in no snapshot yet");
    assert!(
        !cursor.pending.is_empty(),
        "{name}: its records are in pending segments"
    );
    for (i, hold) in holds.iter().filter(|(i, _)| *i < slots) {
        tokio::time::timeout(JOB_TIMEOUT, hold.reached())
            .await
            .unwrap_or_else(|_| panic!("{} started with the first objects", names[*i]));
    }
    let started = holds.iter().filter(|(_, h)| h.arrived() > 0).count();
    assert_eq!(started, slots, "no slot is free for another object");
    let taken = app.store().account(account).jobs().get(job).await.unwrap();
    assert_eq!((taken.status, taken.attempts), (JobStatus::InProgress, 1));

    a.kill();
    for (_, hold) in &holds {
        hold.release();
    }

    // B sees A's lease run out on its own clock, takes the job over and finishes it.
    let b = WorkerProcess::start(&app).await.unwrap();
    let lease = chrono::Duration::seconds(i64::try_from(app.config.jobs.lease_seconds).unwrap());
    b.clock().advance(lease + chrono::Duration::seconds(1));
    let done = app.wait_for_job(account, job).await;
    assert_eq!(done.status, JobStatus::Succeeded, "{:?}", done.error);
    assert_eq!(done.attempts, 2, "taken over once");
    let snapshot = done.snapshot_id.expect("the finished run wrote a snapshot");

    // The snapshot is complete and equals the org.
    let vault = AccountVault::open(&app, account).await;
    let org = org_client(&app, &vault, account, task).await;
    let manifest = vault.manifest(snapshot).await;
    assert_eq!(manifest.labels["outcome"], "complete");
    assert_snapshot_equals_dump(&vault, &org, snapshot, &names, &org_dump(&sf)).await;

    // B read every record of the objects A had not finished, and none of A's.
    let log = app
        .store()
        .account(account)
        .jobs()
        .logs(job, 0, 500)
        .await
        .unwrap();
    let fetched_by_b = log
        .iter()
        .filter_map(|l| records_fetched(&l.message))
        .next_back()
        .expect("B's run logged its summary");
    let total: u64 = names.iter().map(rows).sum();
    let left_to_b = total - rows(name);
    assert!(left_to_b < total, "A had finished records of its own");
    assert_eq!(
        fetched_by_b, left_to_b,
        "B fetched only the objects A had not finished ({total} records in all)"
    );
    assert!(
        log.iter().any(|l| l.message.contains("(attempt 2)")),
        "the log shows the second attempt: {log:?}"
    );

    b.shutdown().await;
    app.shutdown().await;
}
