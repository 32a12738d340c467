//! Corruption: any flipped byte is reported by `verify` naming the object, and reads fail
//! with a clear error, never wrong data.

use cairn_vault::VaultError;
use cairn_vault::segments::{SegmentOptions, StateOptions};
use object_store::ObjectStoreExt;
use object_store::path::Path;

use crate::segments_common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flipped_bytes_are_reported_by_object_and_never_read_as_data() {
    let opts = SegmentOptions {
        group_rows: 64,
        ..small_groups()
    };
    let (mem, segs) = memory_store(opts);
    let versions: Vec<_> = (0..1000)
        .map(|i| version(&format!("k{i:04}"), 1, false, &noise(i, 500)))
        .collect();
    let list = write(&segs, versions).await;
    let seg = &list[0];
    let path = Path::from(format!("acct/{}", seg.object));
    let good = mem.get(&path).await.unwrap().bytes().await.unwrap();
    assert_eq!(good.len() as u64, seg.stored_bytes);
    assert!(good.len() > 3 * 65536, "want several blocks");
    let expected = read_state(&segs, &list, false).await;
    // First block, a middle block, the last block, the trailer and the final magic.
    let n = good.len();
    for at in [5, 70_000, n / 2, n - 200, n - 60, n - 6, n - 1] {
        let mut bad = good.to_vec();
        bad[at] ^= 0x20;
        mem.put(&path, bad.into()).await.unwrap();
        let err = segs.verify(seg).await.unwrap_err();
        assert!(
            err.to_string().contains(&seg.object),
            "flip at {at}: error does not name the object: {err}"
        );
        assert!(matches!(
            err,
            VaultError::Integrity { .. } | VaultError::SegmentCorrupt { .. }
        ));
        // Reading the whole state either fails or (if the flip sat in a block the read
        // does not need) returns exactly the right data.
        match segs.state(&list, StateOptions::default()).await {
            Err(_) => {}
            Ok(mut r) => {
                let mut rows = Vec::new();
                let mut failed = false;
                loop {
                    match r.next().await {
                        Ok(Some(row)) => rows.push(row),
                        Ok(None) => break,
                        Err(_) => {
                            failed = true;
                            break;
                        }
                    }
                }
                assert!(
                    failed || rows == expected,
                    "flip at {at} returned wrong data"
                );
            }
        }
    }
    // Truncation and a missing object are errors naming the object too.
    mem.put(&path, good.slice(..n - 1).into()).await.unwrap();
    let err = segs.verify(seg).await.unwrap_err();
    assert!(err.to_string().contains(&seg.object), "{err}");
    mem.delete(&path).await.unwrap();
    let err = segs.lookup(&list, "k0001").await.unwrap_err();
    assert!(err.to_string().contains(&seg.object), "{err}");
    // Restored, everything reads again.
    mem.put(&path, good.into()).await.unwrap();
    assert_eq!(segs.verify(seg).await.unwrap().rows, 1000);
}

#[tokio::test]
async fn another_accounts_key_cannot_read_a_segment() {
    let (mem, segs) = memory_store(small_groups());
    let list = write(&segs, vec![version("k", 1, false, "secret")]).await;
    let other = cairn_vault::segments::SegmentStore::new(
        mem,
        Path::from("acct"),
        &cairn_vault::crypto::DataKey::generate(),
        small_groups(),
    )
    .unwrap();
    let err = other.lookup(&list, "k").await.unwrap_err();
    assert!(matches!(err, VaultError::Integrity { .. }), "{err}");
}
