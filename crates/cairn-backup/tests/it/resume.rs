//! A run stopped part-way (cancel, shutdown, lost lease) writes no snapshot; the next run
//! resumes from the saved checkpoints without fetching finished objects again, and its
//! snapshot equals the org.

use cairn_backup::RunStatus;

use super::support::{Recorder, dump, world};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_run_resumes_without_refetching_finished_objects() {
    // Small steps so progress inside an object is saved too.
    let reference = world(46, |_, _| {}).await;
    let full = reference.run().await;
    assert_eq!(full.status, RunStatus::Complete);
    let total = full.records_fetched;

    let w = world(46, |cfg, opts| {
        cfg.query_batch_size = 200;
        opts.flush_records = 200;
    })
    .await;
    let stopper = Recorder {
        stop_after: Some(12),
        ..Recorder::default()
    };
    let first = w.run_with(&stopper).await;
    assert_eq!(first.status, RunStatus::Stopped, "{first:?}");
    assert!(first.snapshot.is_none());
    assert!(first.records_fetched > 0);

    let second = w.run().await;
    assert_eq!(second.status, RunStatus::Complete, "{second:?}");
    // At most the unsaved page of each entity in flight is read twice.
    let in_flight = w.ctx.options.entity_concurrency as u64;
    assert!(
        first.records_fetched + second.records_fetched <= total + 200 * in_flight,
        "{} + {} vs {total}",
        first.records_fetched,
        second.records_fetched
    );
    assert!(second.records_fetched < total);
    let m = w.manifest(&second).await;
    w.assert_snapshot_matches(&m, &dump(&w.sf)).await;
}
