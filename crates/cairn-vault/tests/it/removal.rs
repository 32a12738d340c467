//! Removing a task's snapshots or some entities of them for good: manifests go or are
//! redacted, then their segments, then (at prune) their chunks; `check` passes after
//! every step, and after a crash at any write a retry finishes the job.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use cairn_vault::backend::FaultPlan;
use cairn_vault::crypto::MasterKey;
use cairn_vault::maintenance::{self, PruneOptions, RemovalRequest, RemovalScope};
use cairn_vault::pack::BlobKind;
use cairn_vault::segments::{RecordVersion, SegmentOptions, SegmentRef, SegmentStore};
use cairn_vault::{ChunkId, EntityManifest, SnapshotManifest, Vault};

/// Two tasks in one vault. Task A: two snapshots of `object/A` and `object/B` (the
/// second lists the first's segments plus a delta each) and one pending segment of
/// `object/A` in no manifest. Task B: one snapshot of `object/A`.
struct World {
    vault: Vault,
    master: MasterKey,
    segs: SegmentStore,
    a_snapshots: Vec<String>,
    /// Segments of task A's `object/A` (manifests and pending), and of its `object/B`.
    a_entity_a: Vec<String>,
    a_entity_b: Vec<String>,
    pending: String,
    b_snapshot: String,
    b_body: ChunkId,
}

fn labels(task: &str) -> BTreeMap<String, String> {
    BTreeMap::from([("task".to_owned(), task.to_owned())])
}

/// One segment of `n` records whose records each refer to a fresh blob of `seed`.
async fn segment(
    vault: &Vault,
    segs: &SegmentStore,
    key: &str,
    seed: u64,
) -> (SegmentRef, ChunkId) {
    let writer = vault.writer();
    let body = writer
        .write_blob(BlobKind::Data, super::noise(seed, 40_000))
        .await
        .unwrap();
    writer.finish().await.unwrap();
    let mut w = segs.writer();
    for i in 0..3 {
        w.push(RecordVersion {
            key: format!("{key}{i}"),
            version: seed as i64,
            record: format!(r#"{{"Id":"{key}{i}","seed":{seed}}}"#),
            chunks: vec![body],
            ..RecordVersion::default()
        })
        .await
        .unwrap();
    }
    let mut refs = w.finish().await.unwrap();
    assert_eq!(refs.len(), 1);
    (refs.remove(0), body)
}

async fn snapshot(vault: &Vault, task: &str, entities: &[(&str, Vec<SegmentRef>)]) -> String {
    let mut m = SnapshotManifest::new(labels(task));
    for (key, segments) in entities {
        m.entities.insert(
            (*key).to_owned(),
            EntityManifest {
                segments: segments.clone(),
                ..EntityManifest::default()
            },
        );
    }
    vault.write_snapshot(&m).await.unwrap();
    m.id
}

async fn world(vault: Vault, master: MasterKey) -> World {
    let segs = vault.segments(SegmentOptions::default()).unwrap();
    let (a1, _) = segment(&vault, &segs, "a", 1).await;
    let (b1, _) = segment(&vault, &segs, "b", 2).await;
    let s1 = snapshot(
        &vault,
        "A",
        &[
            ("object/A", vec![a1.clone()]),
            ("object/B", vec![b1.clone()]),
        ],
    )
    .await;
    let (a2, _) = segment(&vault, &segs, "a", 3).await;
    let (b2, _) = segment(&vault, &segs, "b", 4).await;
    let s2 = snapshot(
        &vault,
        "A",
        &[
            ("object/A", vec![a1.clone(), a2.clone()]),
            ("object/B", vec![b1.clone(), b2.clone()]),
        ],
    )
    .await;
    let (pending, _) = segment(&vault, &segs, "a", 5).await;
    let (other, b_body) = segment(&vault, &segs, "a", 6).await;
    let b_snapshot = snapshot(&vault, "B", &[("object/A", vec![other])]).await;
    World {
        vault,
        master,
        segs,
        a_snapshots: vec![s1, s2],
        a_entity_a: vec![a1.object, a2.object, pending.object.clone()],
        a_entity_b: vec![b1.object, b2.object],
        pending: pending.object,
        b_snapshot,
        b_body,
    }
}

async fn memory_world() -> World {
    let (vault, master) = super::memory_vault().await;
    world(vault, master).await
}

fn task_request(w: &World) -> RemovalRequest {
    RemovalRequest {
        labels: labels("A"),
        scope: RemovalScope::Snapshots,
        segments: vec![w.pending.clone()],
    }
}

fn entity_request(w: &World) -> RemovalRequest {
    RemovalRequest {
        labels: labels("A"),
        scope: RemovalScope::Entities(BTreeSet::from(["object/A".to_owned()])),
        segments: vec![w.pending.clone()],
    }
}

async fn exists(vault: &Vault, object: &str) -> bool {
    vault.backend().head(object).await.unwrap().is_some()
}

async fn assert_checks(w: &World) {
    let report = maintenance::check(w.vault.backend().clone(), &w.master, false)
        .await
        .unwrap();
    assert!(report.ok, "{:?}", report.problems);
}

/// Task B's snapshot reads back whole.
async fn assert_b_intact(w: &World) {
    let m = w.vault.snapshot(&w.b_snapshot).await.unwrap();
    let rows =
        super::segments_common::read_state(&w.segs, &m.entities["object/A"].segments, false).await;
    assert_eq!(rows.len(), 3);
    assert_eq!(
        w.vault.read_chunk(&w.b_body).await.unwrap(),
        super::noise(6, 40_000)
    );
}

fn instant() -> PruneOptions {
    PruneOptions {
        grace: Duration::ZERO,
        ..PruneOptions::default()
    }
}

#[tokio::test]
async fn removing_a_task_deletes_its_snapshots_and_segments_and_prune_frees_its_chunks() {
    let w = memory_world().await;
    let before = maintenance::stats(&w.vault, &w.segs).await.unwrap();
    let report = maintenance::remove(&w.vault, &task_request(&w))
        .await
        .unwrap();
    assert_eq!(report.snapshots_deleted, 2);
    assert_eq!(report.segments_deleted, 5, "{report:?}");
    assert_eq!(
        w.vault.snapshot_ids().await.unwrap(),
        vec![w.b_snapshot.clone()]
    );
    for s in w.a_entity_a.iter().chain(&w.a_entity_b) {
        assert!(!exists(&w.vault, s).await, "{s} is gone");
    }
    assert!(w.vault.backend().list("removals").await.unwrap().is_empty());
    assert_checks(&w).await;
    assert_b_intact(&w).await;

    // A retry (the job ran again) finds nothing to do and succeeds.
    let again = maintenance::remove(&w.vault, &task_request(&w))
        .await
        .unwrap();
    assert_eq!(again, maintenance::RemovalReport::default());

    for _ in 0..2 {
        maintenance::prune(&w.vault, &w.segs, instant())
            .await
            .unwrap();
    }
    let after = maintenance::stats(&w.vault, &w.segs).await.unwrap();
    assert!(
        after.stored_bytes < before.stored_bytes,
        "{before:?} -> {after:?}"
    );
    assert_checks(&w).await;
    assert_b_intact(&w).await;
}

#[tokio::test]
async fn redacting_an_entity_keeps_the_snapshots_and_their_other_entities() {
    let w = memory_world().await;
    let before: Vec<SnapshotManifest> = w.vault.snapshots().await.unwrap();
    let report = maintenance::remove(&w.vault, &entity_request(&w))
        .await
        .unwrap();
    assert_eq!(
        (report.snapshots_deleted, report.snapshots_redacted),
        (0, 2)
    );
    assert_eq!(report.segments_deleted, 3);
    for (id, old) in w.a_snapshots.iter().zip(&before) {
        let m = w.vault.snapshot(id).await.unwrap();
        assert_eq!(m.id, *id);
        assert_eq!(m.time, old.time);
        assert_eq!(m.labels, old.labels);
        assert_eq!(m.entities.keys().collect::<Vec<_>>(), vec!["object/B"]);
        assert_eq!(m.entities["object/B"], old.entities["object/B"]);
    }
    for s in &w.a_entity_a {
        assert!(!exists(&w.vault, s).await, "{s} is gone");
    }
    let m = w.vault.snapshot(&w.a_snapshots[1]).await.unwrap();
    let rows =
        super::segments_common::read_state(&w.segs, &m.entities["object/B"].segments, false).await;
    assert_eq!(rows.len(), 3);
    assert_checks(&w).await;
    assert_b_intact(&w).await;
    let again = maintenance::remove(&w.vault, &entity_request(&w))
        .await
        .unwrap();
    assert_eq!(again, maintenance::RemovalReport::default());
}

#[tokio::test]
async fn requests_that_would_remove_too_much_are_refused() {
    let w = memory_world().await;
    let no_labels = RemovalRequest {
        labels: BTreeMap::new(),
        ..task_request(&w)
    };
    assert!(maintenance::remove(&w.vault, &no_labels).await.is_err());
    let not_a_segment = RemovalRequest {
        segments: vec![format!("snapshots/{}", w.b_snapshot)],
        ..task_request(&w)
    };
    assert!(maintenance::remove(&w.vault, &not_a_segment).await.is_err());
    assert!(w.vault.delete_segment("packs/ab/cd").await.is_err());
    assert_eq!(w.vault.snapshot_ids().await.unwrap().len(), 3);
}

/// The store goes down at every write of the removal in turn: the vault checks clean
/// right after, and the retry completes the removal.
#[tokio::test]
async fn a_crash_at_any_write_leaves_a_checkable_vault_and_the_retry_finishes() {
    for entities in [false, true] {
        let mut crashed_at = 1;
        loop {
            let (vault, master, store) = super::fault_vault().await;
            let w = world(vault, master).await;
            let request = if entities {
                entity_request(&w)
            } else {
                task_request(&w)
            };
            store.set_plan(FaultPlan {
                fail_writes_from: Some(crashed_at),
                ..FaultPlan::default()
            });
            let first = maintenance::remove(&w.vault, &request).await;
            store.set_plan(FaultPlan::default());
            assert_checks(&w).await;
            assert_b_intact(&w).await;
            let retry = maintenance::remove(&w.vault, &request).await.unwrap();
            for s in w
                .a_entity_a
                .iter()
                .chain(if entities { &[][..] } else { &w.a_entity_b[..] })
            {
                assert!(
                    !exists(&w.vault, s).await,
                    "{s} is gone (crash at write {crashed_at})"
                );
            }
            for s in if entities { &w.a_entity_b[..] } else { &[][..] } {
                assert!(exists(&w.vault, s).await, "{s} stays");
            }
            assert!(w.vault.backend().list("removals").await.unwrap().is_empty());
            assert_checks(&w).await;
            let left = w.vault.snapshot_ids().await.unwrap().len();
            assert_eq!(left, if entities { 3 } else { 1 });
            if first.is_ok() {
                assert_eq!(retry, maintenance::RemovalReport::default());
                break;
            }
            crashed_at += 1;
        }
        // Journal, two manifests, at least the segments: every step was interrupted.
        assert!(crashed_at > 4, "{crashed_at}");
    }
}
