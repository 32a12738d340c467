//! Object-store faults: transient failures are retried; persistent ones fail the
//! operation cleanly, and the vault still checks clean afterwards.

use cairn_vault::backend::FaultPlan;
use cairn_vault::dirs::{self, PutOptions};
use cairn_vault::maintenance;

#[tokio::test]
async fn transient_write_and_read_failures_are_retried() {
    let (vault, master, store) = super::fault_vault().await;
    let dir = tempfile::tempdir().unwrap();
    super::make_tree(&dir.path().join("src"), 21);
    store.set_plan(FaultPlan {
        write_failure_rate: 0.2,
        read_failure_rate: 0.2,
        seed: 5,
        ..FaultPlan::default()
    });
    let put = dirs::put_dir(&vault, &dir.path().join("src"), PutOptions::default())
        .await
        .unwrap();
    let manifest = vault.resolve_snapshot(&put.snapshot).await.unwrap();
    dirs::restore(&vault, &manifest, &dir.path().join("out"), 2)
        .await
        .unwrap();
    assert!(store.injected() > 0, "faults were injected");
    store.set_plan(FaultPlan::default());
    super::assert_same_tree(&dir.path().join("src"), &dir.path().join("out"));
    let report = maintenance::check(vault.backend().clone(), &master, true)
        .await
        .unwrap();
    assert!(report.ok, "{:?}", report.problems);
}

#[tokio::test]
async fn a_store_that_goes_down_fails_the_put_cleanly() {
    let (vault, master, store) = super::fault_vault().await;
    let dir = tempfile::tempdir().unwrap();
    super::make_tree(&dir.path().join("src"), 22);
    let good = dirs::put_dir(&vault, &dir.path().join("src"), PutOptions::default())
        .await
        .unwrap();
    std::fs::write(dir.path().join("src/new.bin"), super::noise(99, 400_000)).unwrap();
    for from in [1, 3, 6] {
        store.set_plan(FaultPlan {
            fail_writes_from: Some(from),
            ..FaultPlan::default()
        });
        let err = dirs::put_dir(&vault, &dir.path().join("src"), PutOptions::default())
            .await
            .unwrap_err();
        assert!(err.to_string().contains("injected"), "{err}");
        store.set_plan(FaultPlan::default());
        // No new snapshot, the old one intact, the vault consistent.
        let fresh = cairn_vault::Vault::open(vault.backend().clone(), &master)
            .await
            .unwrap();
        assert_eq!(
            fresh.snapshot_ids().await.unwrap(),
            vec![good.snapshot.clone()]
        );
        let report = maintenance::check(vault.backend().clone(), &master, true)
            .await
            .unwrap();
        assert!(report.ok, "{:?}", report.problems);
    }
    // Once the store is back, the next put works.
    let again = dirs::put_dir(&vault, &dir.path().join("src"), PutOptions::default())
        .await
        .unwrap();
    assert_eq!(again.files, 5);
}

#[tokio::test]
async fn the_nth_read_failing_once_is_invisible() {
    let (vault, _master, store) = super::fault_vault().await;
    let writer = vault.writer();
    let data = super::noise(4, 50_000);
    let id = writer
        .write_blob(cairn_vault::pack::BlobKind::Data, data.clone())
        .await
        .unwrap();
    writer.finish().await.unwrap();
    store.set_plan(FaultPlan {
        fail_nth_read: Some(1),
        ..FaultPlan::default()
    });
    assert_eq!(vault.read_chunk(&id).await.unwrap(), data);
    assert_eq!(store.injected(), 1);
}
