//! Point-in-time views over several deltas, lookups, history and diffs against a model.

use std::collections::{BTreeMap, BTreeSet};

use cairn_vault::segments::{Change, RecordVersion, SegmentRef, SegmentStore};

use crate::segments_common::*;

/// Five snapshots of one entity: creates, updates, deletes and undeletes across deltas.
async fn five_snapshots(
    segs: &SegmentStore,
) -> (Vec<Vec<SegmentRef>>, Vec<BTreeMap<String, RecordVersion>>) {
    let mut lists = Vec::new();
    let mut models = Vec::new();
    let mut list: Vec<SegmentRef> = Vec::new();
    let mut model = BTreeMap::new();
    for snap in 0..5i64 {
        let delta: Vec<RecordVersion> = match snap {
            0 => (0..300)
                .map(|i| version(&format!("a{i:04}"), 0, false, "base"))
                .collect(),
            1 => (0..300)
                .filter(|i| i % 10 == 0)
                .map(|i| version(&format!("a{i:04}"), 1, i % 20 == 0, "upd1"))
                .collect(),
            2 => (0..300)
                .filter(|i| i % 20 == 0)
                .map(|i| version(&format!("a{i:04}"), 2, false, "undeleted"))
                .chain((0..5).map(|i| version(&format!("b{i}"), 2, false, "new")))
                .collect(),
            3 => vec![
                version("a0007", 3, true, ""),
                version("b3", 3, false, "x"),
                version("b3", 4, false, "twice in one run"),
            ],
            _ => (0..300)
                .filter(|i| i % 3 == 0)
                .map(|i| version(&format!("a{i:04}"), 5, false, "upd4"))
                .collect(),
        };
        model_apply(&mut model, &delta);
        list.extend(write(segs, delta).await);
        lists.push(list.clone());
        models.push(model.clone());
    }
    (lists, models)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn point_in_time_after_deltas_with_deletes_and_undeletes() {
    let (_mem, segs) = memory_store(small_groups());
    let (lists, models) = five_snapshots(&segs).await;
    for (list, model) in lists.iter().zip(&models) {
        let live = read_state(&segs, list, false).await;
        let expected: Vec<&RecordVersion> = model.values().filter(|v| !v.deleted).collect();
        assert_eq!(live.len(), expected.len());
        for (row, v) in live.iter().zip(expected) {
            assert_row_is(row, v);
        }
        let all = read_state(&segs, list, true).await;
        assert_eq!(all.len(), model.len());
    }
    // Snapshot 1 deleted a0000; snapshot 2 brought it back.
    assert!(
        segs.lookup(&lists[1], "a0000")
            .await
            .unwrap()
            .unwrap()
            .deleted
    );
    let back = segs.lookup(&lists[2], "a0000").await.unwrap().unwrap();
    assert!(!back.deleted);
    assert_eq!(back.version, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookup_and_history_match_the_model() {
    let (_mem, segs) = memory_store(small_groups());
    let (lists, models) = five_snapshots(&segs).await;
    let last = lists.last().unwrap();
    let model = models.last().unwrap();
    for (k, v) in model {
        let row = segs.lookup(last, k).await.unwrap().unwrap();
        assert_row_is(&row, v);
    }
    assert!(segs.lookup(last, "a9999").await.unwrap().is_none());
    assert!(segs.lookup(last, "").await.unwrap().is_none());
    assert!(segs.lookup(last, "zzz").await.unwrap().is_none());
    let history = segs.history(last, "a0000").await.unwrap();
    let versions: Vec<(i64, bool)> = history.iter().map(|r| (r.version, r.deleted)).collect();
    assert_eq!(
        versions,
        vec![(0, false), (1, true), (2, false), (5, false)]
    );
    let b3: Vec<i64> = segs
        .history(last, "b3")
        .await
        .unwrap()
        .iter()
        .map(|r| r.version)
        .collect();
    assert_eq!(b3, vec![2, 3, 4]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diff_matches_a_naive_model() {
    let (_mem, segs) = memory_store(small_groups());
    let (lists, models) = five_snapshots(&segs).await;
    for a in 0..lists.len() {
        for b in 0..lists.len() {
            let mut d = segs.diff(&lists[a], &lists[b]).await.unwrap();
            let mut got = Vec::new();
            while let Some(e) = d.next().await.unwrap() {
                got.push((e.key, e.change));
            }
            let live = |m: &BTreeMap<String, RecordVersion>| -> BTreeMap<String, String> {
                m.iter()
                    .filter(|(_, v)| !v.deleted)
                    .map(|(k, v)| (k.clone(), v.record.clone()))
                    .collect()
            };
            let (old, new) = (live(&models[a]), live(&models[b]));
            let keys: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
            let expected: Vec<(String, Change)> = keys
                .into_iter()
                .filter_map(|k| match (old.get(k), new.get(k)) {
                    (Some(_), None) => Some((k.clone(), Change::Removed)),
                    (None, Some(_)) => Some((k.clone(), Change::Added)),
                    (Some(x), Some(y)) if x != y => Some((k.clone(), Change::Changed)),
                    _ => None,
                })
                .collect();
            assert_eq!(got, expected, "diff {a} -> {b}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookup_inside_large_row_groups_reads_the_right_row() {
    // One row group of 1500 rows of 1 KB: the record column spans several pages, and a
    // lookup skips the pages before its row. (Kept small: debug builds run AES-GCM
    // unoptimised.)
    let opts = cairn_vault::segments::SegmentOptions {
        group_rows: 5000,
        group_bytes: 64 << 20,
        ..small_groups()
    };
    let (_mem, segs) = memory_store(opts);
    let versions: Vec<RecordVersion> = (0..1500)
        .map(|i| version(&format!("k{i:05}"), 1, false, &noise(i, 1000)))
        .collect();
    let list = write(&segs, versions.clone()).await;
    assert_eq!(list.len(), 1);
    for v in versions.iter().step_by(293).chain(versions.last()) {
        let row = segs.lookup(&list, &v.key).await.unwrap().unwrap();
        assert_row_is(&row, v);
    }
}
