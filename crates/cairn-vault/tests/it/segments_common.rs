//! Shared helpers of the segment tests: stores, keys, record generators, a naive model.

use std::collections::BTreeMap;
use std::sync::Arc;

use cairn_vault::crypto::DataKey;
use cairn_vault::segments::{
    RecordVersion, Row, SegmentOptions, SegmentRef, SegmentStore, StateOptions,
};
use object_store::ObjectStore;
use object_store::memory::InMemory;
use object_store::path::Path;

pub fn memory_store(opts: SegmentOptions) -> (Arc<InMemory>, SegmentStore) {
    let mem = Arc::new(InMemory::new());
    let store: Arc<dyn ObjectStore> = mem.clone();
    let segs = SegmentStore::new(store, Path::from("acct"), &DataKey::generate(), opts).unwrap();
    (mem, segs)
}

pub fn small_groups() -> SegmentOptions {
    SegmentOptions {
        group_rows: 16,
        parallelism: 2,
        ..SegmentOptions::default()
    }
}

pub fn version(key: &str, v: i64, deleted: bool, body: &str) -> RecordVersion {
    RecordVersion {
        key: key.to_owned(),
        version: v,
        deleted,
        modstamp: v * 1000,
        created_by: "005creator".to_owned(),
        modified_by: format!("005user{}", v % 3),
        record: format!(r#"{{"Id":"{key}","v":{v},"body":"{body}"}}"#),
        chunks: Vec::new(),
    }
}

pub async fn write(segs: &SegmentStore, versions: Vec<RecordVersion>) -> Vec<SegmentRef> {
    let mut w = segs.writer();
    for v in versions {
        w.push(v).await.unwrap();
    }
    w.finish().await.unwrap()
}

pub async fn read_state(
    segs: &SegmentStore,
    list: &[SegmentRef],
    include_deleted: bool,
) -> Vec<Row> {
    let mut r = segs
        .state(
            list,
            StateOptions {
                include_deleted,
                ..StateOptions::default()
            },
        )
        .await
        .unwrap();
    let mut out = Vec::new();
    while let Some(row) = r.next().await.unwrap() {
        out.push(row);
    }
    out
}

/// The naive model: apply deltas in order; within a delta the highest version wins, ties
/// go to the later input.
pub fn model_apply(state: &mut BTreeMap<String, RecordVersion>, delta: &[RecordVersion]) {
    let mut latest: BTreeMap<String, &RecordVersion> = BTreeMap::new();
    for v in delta {
        match latest.get(&v.key) {
            Some(prev) if prev.version > v.version => {}
            _ => {
                latest.insert(v.key.clone(), v);
            }
        }
    }
    for (k, v) in latest {
        state.insert(k, v.clone());
    }
}

pub fn assert_row_is(row: &Row, v: &RecordVersion) {
    assert_eq!(row.key, v.key);
    assert_eq!(row.version, v.version);
    assert_eq!(row.deleted, v.deleted);
    assert_eq!(row.modstamp, v.modstamp);
    assert_eq!(row.created_by, v.created_by);
    assert_eq!(row.modified_by, v.modified_by);
    assert_eq!(row.record, v.record);
    assert_eq!(row.chunks, v.chunks);
    assert_eq!(row.row_hash, Row::hash_record(&v.record));
}

/// Incompressible text, so the segment spans several blocks.
pub fn noise(seed: u64, len: usize) -> String {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from(b'a' + (x % 26) as u8)
        })
        .collect()
}
