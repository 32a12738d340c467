//! forget, two-phase prune with repacking, stats, rebuild-catalog.

use std::time::Duration;

use cairn_domain::retention::RetentionPolicy;
use cairn_vault::dirs::{self, PutOptions};
use cairn_vault::maintenance::{self, NoSegmentRefs, PruneOptions};
use cairn_vault::{Backend, Vault};

fn instant() -> PruneOptions {
    PruneOptions {
        grace: Duration::ZERO,
        ..PruneOptions::default()
    }
}

#[tokio::test]
async fn forget_then_two_phase_prune_frees_space_and_keeps_live_data() {
    let (vault, master) = super::memory_vault().await;
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    super::make_tree(&src, 31);
    let first = dirs::put_dir(&vault, &src, PutOptions::default())
        .await
        .unwrap();
    // Replace the big file and its duplicate: the first snapshot alone holds their chunks.
    std::fs::write(src.join("noise.bin"), super::noise(32, 150_000)).unwrap();
    std::fs::write(src.join("docs/deep/dup.bin"), super::noise(33, 150_000)).unwrap();
    let second = dirs::put_dir(&vault, &src, PutOptions::default())
        .await
        .unwrap();
    let before = maintenance::stats(&vault, &NoSegmentRefs).await.unwrap();

    let policy = RetentionPolicy {
        keep_last: Some(1),
        ..RetentionPolicy::default()
    };
    let forgot = maintenance::forget(&vault, &policy, false).await.unwrap();
    assert_eq!(forgot.removed, vec![first.snapshot.clone()]);

    // Phase one marks (or repacks), deletes nothing.
    let one = maintenance::prune(&vault, &NoSegmentRefs, instant())
        .await
        .unwrap();
    assert!(one.marked + one.repacked > 0, "{one:?}");
    assert_eq!(one.deleted, 0);
    // Phase two deletes what stayed unreferenced.
    let two = maintenance::prune(&vault, &NoSegmentRefs, instant())
        .await
        .unwrap();
    assert!(two.deleted > 0, "{two:?}");
    let after = maintenance::stats(&vault, &NoSegmentRefs).await.unwrap();
    assert!(
        after.stored_bytes < before.stored_bytes,
        "{before:?} -> {after:?}"
    );
    assert_eq!(after.snapshots, 1);

    let report = maintenance::check(vault.backend().clone(), &master, true)
        .await
        .unwrap();
    assert!(report.ok, "{:?}", report.problems);
    let fresh = Vault::open(vault.backend().clone(), &master).await.unwrap();
    let m = fresh.resolve_snapshot(&second.snapshot).await.unwrap();
    dirs::restore(&fresh, &m, &dir.path().join("out"), 2)
        .await
        .unwrap();
    super::assert_same_tree(&src, &dir.path().join("out"));
}

#[tokio::test]
async fn grace_period_protects_young_and_marked_packs() {
    let (vault, _master) = super::memory_vault().await;
    let dir = tempfile::tempdir().unwrap();
    super::make_tree(&dir.path().join("src"), 41);
    let put = dirs::put_dir(&vault, &dir.path().join("src"), PutOptions::default())
        .await
        .unwrap();
    vault.delete_snapshot(&put.snapshot).await.unwrap();
    let packs = vault.backend().list("packs").await.unwrap().len();
    // Packs younger than the grace period are not even marked.
    let long = PruneOptions {
        grace: Duration::from_secs(3600),
        ..PruneOptions::default()
    };
    let r = maintenance::prune(&vault, &NoSegmentRefs, long)
        .await
        .unwrap();
    assert_eq!((r.marked, r.deleted), (0, 0));
    // Marked now, deleted only at a later run.
    let r = maintenance::prune(&vault, &NoSegmentRefs, instant())
        .await
        .unwrap();
    assert_eq!((r.marked as usize, r.deleted), (packs, 0));
    assert_eq!(vault.backend().list("packs").await.unwrap().len(), packs);
    let r = maintenance::prune(&vault, &NoSegmentRefs, instant())
        .await
        .unwrap();
    assert_eq!(r.deleted as usize, packs);
    assert!(vault.backend().list("packs").await.unwrap().is_empty());
}

#[tokio::test]
async fn a_marked_pack_needed_again_is_unmarked_not_deleted() {
    let (vault, master) = super::memory_vault().await;
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    super::make_tree(&src, 51);
    let put = dirs::put_dir(&vault, &src, PutOptions::default())
        .await
        .unwrap();
    let manifest = vault.snapshot(&put.snapshot).await.unwrap();
    vault.delete_snapshot(&put.snapshot).await.unwrap();
    // A writer that loaded the index before the mark dedups against the packs...
    let early = Vault::open(vault.backend().clone(), &master).await.unwrap();
    let r = maintenance::prune(&vault, &NoSegmentRefs, instant())
        .await
        .unwrap();
    assert!(r.marked > 0);
    // ...and commits a snapshot referring to them (same content, nothing new written).
    let again = dirs::put_dir(
        &early,
        &src,
        PutOptions {
            no_parent: true,
            ..PutOptions::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(again.write.new_chunks, 0);
    let _ = manifest;
    let r = maintenance::prune(&vault, &NoSegmentRefs, instant())
        .await
        .unwrap();
    assert_eq!(r.deleted, 0, "{r:?}");
    assert!(r.unmarked > 0, "{r:?}");
    let report = maintenance::check(vault.backend().clone(), &master, true)
        .await
        .unwrap();
    assert!(report.ok, "{:?}", report.problems);
    let fresh = Vault::open(vault.backend().clone(), &master).await.unwrap();
    let m = fresh.resolve_snapshot(&again.snapshot).await.unwrap();
    dirs::restore(&fresh, &m, &dir.path().join("out"), 2)
        .await
        .unwrap();
    super::assert_same_tree(&src, &dir.path().join("out"));
}

#[tokio::test]
async fn rebuild_catalog_restores_a_lost_index() {
    let dir = tempfile::tempdir().unwrap();
    let location = dir.path().join("vault").display().to_string();
    let master = cairn_vault::crypto::MasterKey::generate();
    let vault = Vault::init_with(
        Backend::open(&location).unwrap(),
        &master,
        &super::small_config(),
    )
    .await
    .unwrap();
    super::make_tree(&dir.path().join("src"), 61);
    let put = dirs::put_dir(&vault, &dir.path().join("src"), PutOptions::default())
        .await
        .unwrap();
    for o in vault.backend().list("index").await.unwrap() {
        vault.backend().delete(&o.name).await.unwrap();
    }
    let r = maintenance::rebuild_catalog(Backend::open(&location).unwrap(), &master)
        .await
        .unwrap();
    assert!(
        r.packs > 0 && r.chunks > 0 && r.unreadable_packs.is_empty(),
        "{r:?}"
    );
    assert_eq!(r.snapshots, 1);
    let fresh = Vault::open(Backend::open(&location).unwrap(), &master)
        .await
        .unwrap();
    let m = fresh.resolve_snapshot(&put.snapshot).await.unwrap();
    dirs::restore(&fresh, &m, &dir.path().join("out"), 2)
        .await
        .unwrap();
    super::assert_same_tree(&dir.path().join("src"), &dir.path().join("out"));
    let report = maintenance::check(Backend::open(&location).unwrap(), &master, true)
        .await
        .unwrap();
    assert!(report.ok && report.warnings.is_empty(), "{report:?}");
}

#[tokio::test]
async fn prune_keeps_chunks_that_only_record_segments_refer_to() {
    use std::collections::BTreeMap;

    use cairn_vault::pack::BlobKind;
    use cairn_vault::segments::{RecordVersion, SegmentOptions};
    use cairn_vault::{EntityManifest, SnapshotManifest};

    let (vault, _master) = super::memory_vault().await;
    // A file body (think ContentVersion.VersionData) in the chunk store…
    let writer = vault.writer();
    let body = writer
        .write_blob(BlobKind::Data, super::noise(41, 50_000))
        .await
        .unwrap();
    writer.finish().await.unwrap();
    // …referred to only from a record in a segment, not from any tree or manifest list.
    let segments = vault.segments(SegmentOptions::default()).unwrap();
    let mut records = segments.writer();
    records
        .push(RecordVersion {
            key: "068000000000001".into(),
            version: 1,
            deleted: false,
            modstamp: 1,
            created_by: "005000000000001".into(),
            modified_by: "005000000000001".into(),
            record: r#"{"Id":"068000000000001","Title":"Contract"}"#.into(),
            chunks: vec![body],
        })
        .await
        .unwrap();
    let refs = records.finish().await.unwrap();
    let mut manifest = SnapshotManifest::new(BTreeMap::new());
    manifest.entities.insert(
        "ContentVersion".into(),
        EntityManifest {
            segments: refs,
            ..EntityManifest::default()
        },
    );
    vault.write_snapshot(&manifest).await.unwrap();

    for _ in 0..2 {
        maintenance::prune(&vault, &segments, instant())
            .await
            .unwrap();
    }
    assert_eq!(
        vault.read_chunk(&body).await.unwrap(),
        super::noise(41, 50_000)
    );
    let stats = maintenance::stats(&vault, &segments).await.unwrap();
    assert_eq!(stats.snapshots, 1);

    // Without the segment references the same body is unreferenced and goes: the hook is
    // what keeps it.
    for _ in 0..2 {
        maintenance::prune(&vault, &NoSegmentRefs, instant())
            .await
            .unwrap();
    }
    assert!(vault.read_chunk(&body).await.is_err());
}
