//! Writer round trips: random streams, chunk references, the spill path, compaction.

use std::collections::BTreeMap;

use cairn_vault::ChunkId;
use cairn_vault::segments::{RecordVersion, SegmentOptions};
use proptest::prelude::*;

use crate::segments_common::*;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Any stream of versions reads back as the model's state, and with deletions kept,
    /// every key's winner is exactly the model's.
    #[test]
    fn random_streams_round_trip(
        ops in proptest::collection::vec((0u16..60, 0i64..5, any::<bool>(), "[a-z\"\\\\é]{0,40}"), 0..300),
        budget in prop_oneof![Just(4096usize), Just(64 << 20)],
    ) {
        rt().block_on(async {
            let opts = SegmentOptions { memory_budget: budget, group_rows: 7, max_segment_rows: 50, ..small_groups() };
            let (_mem, segs) = memory_store(opts);
            let versions: Vec<RecordVersion> = ops
                .iter()
                .map(|(k, v, d, body)| {
                    let mut rv = version(&format!("k{k:03}"), *v, *d, "");
                    rv.record = serde_like(body);
                    rv
                })
                .collect();
            let list = write(&segs, versions.clone()).await;
            let rows: u64 = list.iter().map(|s| s.rows).sum();
            prop_assert_eq!(rows, versions.len() as u64);
            for w in list.windows(2) {
                prop_assert!(w[0].max_key <= w[1].min_key, "segments overlap");
            }
            let mut model = BTreeMap::new();
            model_apply(&mut model, &versions);
            let all = read_state(&segs, &list, true).await;
            prop_assert_eq!(all.len(), model.len());
            for (row, (k, v)) in all.iter().zip(&model) {
                prop_assert_eq!(&row.key, k);
                assert_row_is(row, v);
            }
            let live = read_state(&segs, &list, false).await;
            prop_assert_eq!(live.len(), model.values().filter(|v| !v.deleted).count());
            Ok(())
        })?;
    }
}

/// JSON-ish text with quotes, backslashes and non-ASCII, as records carry.
fn serde_like(body: &str) -> String {
    format!("{{\"t\":{body:?}}}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spill_path_bounds_memory_and_keeps_every_row() {
    let opts = SegmentOptions {
        memory_budget: 64 * 1024,
        group_rows: 100,
        ..small_groups()
    };
    let (_mem, segs) = memory_store(opts);
    let mut w = segs.writer();
    let mut model = BTreeMap::new();
    // Keys arrive in a scrambled order, several versions each.
    for i in 0..6000u64 {
        let k = format!("key{:05}", (i * 7919) % 2000);
        let v = version(&k, i as i64, i % 11 == 0, &"x".repeat((i % 50) as usize));
        model_apply(&mut model, std::slice::from_ref(&v));
        w.push(v).await.unwrap();
    }
    assert!(
        w.spilled_runs() >= 5,
        "only {} runs spilled",
        w.spilled_runs()
    );
    let list = w.finish().await.unwrap();
    assert_eq!(list.iter().map(|s| s.rows).sum::<u64>(), 6000);
    let all = read_state(&segs, &list, true).await;
    assert_eq!(all.len(), 2000);
    for row in &all {
        assert_row_is(row, &model[&row.key]);
    }
}

#[tokio::test]
async fn referenced_chunks_and_verify() {
    let (_mem, segs) = memory_store(small_groups());
    let a = ChunkId([1; 32]);
    let b = ChunkId([2; 32]);
    let mut v1 = version("001", 1, false, "with attachment");
    v1.chunks = vec![b, a];
    let mut v2 = version("002", 1, false, "same blob again");
    v2.chunks = vec![a];
    let list = write(
        &segs,
        vec![v2, v1.clone(), version("003", 1, false, "none")],
    )
    .await;
    assert_eq!(list.len(), 1);
    assert_eq!(segs.referenced_chunks(&list[0]).await.unwrap(), vec![a, b]);
    let report = segs.verify(&list[0]).await.unwrap();
    assert_eq!(report.rows, 3);
    assert!(list[0].object.starts_with("segments/") && list[0].object.ends_with(".seg"));
    assert_eq!(list[0].object.len(), "segments/".len() + 32 + ".seg".len());
    let row = segs.lookup(&list, "001").await.unwrap().unwrap();
    assert_row_is(&row, &v1);
}

#[tokio::test]
async fn empty_input_writes_nothing_and_empty_keys_are_refused() {
    let (mem, segs) = memory_store(small_groups());
    assert!(segs.writer().finish().await.unwrap().is_empty());
    let mut w = segs.writer();
    let err = w.push(version("", 1, false, "")).await.unwrap_err();
    assert!(err.to_string().contains("key"), "{err}");
    use futures::TryStreamExt;
    use object_store::ObjectStore;
    let listed: Vec<_> = mem.list(None).try_collect().await.unwrap();
    assert!(listed.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compaction_equals_the_merged_state() {
    let (_mem, segs) = memory_store(small_groups());
    let mut list = Vec::new();
    let mut model = BTreeMap::new();
    for round in 0..5i64 {
        let delta: Vec<RecordVersion> = (0..200)
            .filter(|i| (i + round) % (round + 2) == 0)
            .map(|i| {
                version(
                    &format!("k{i:04}"),
                    round,
                    (i + round) % 9 == 0,
                    &format!("r{round}"),
                )
            })
            .collect();
        model_apply(&mut model, &delta);
        list.extend(write(&segs, delta).await);
    }
    let before = read_state(&segs, &list, false).await;
    let base = segs.compact(&list).await.unwrap();
    assert_eq!(base.len(), 1);
    assert_eq!(base[0].rows, before.len() as u64);
    let after = read_state(&segs, &base, false).await;
    assert_eq!(after, before);
    let expected: Vec<_> = model.values().filter(|v| !v.deleted).collect();
    assert_eq!(after.len(), expected.len());
    for (row, v) in after.iter().zip(expected) {
        assert_row_is(row, v);
    }
}
