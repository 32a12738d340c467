//! Round trips: content through the chunk store, directories through snapshots.

use futures::TryStreamExt;
use proptest::prelude::*;

use cairn_vault::dirs::{self, PutOptions};
use cairn_vault::{Backend, Vault};

async fn read_all(
    vault: &Vault,
    chunks: &[cairn_vault::ChunkId],
    range: std::ops::Range<u64>,
) -> Vec<u8> {
    let parts: Vec<bytes::Bytes> = vault
        .read_range(chunks, range)
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    parts.concat()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn random_content_round_trips_with_ranges(
        seed in any::<u64>(),
        len in 0usize..200_000,
        repeat in 1usize..4,
        a in any::<u64>(),
        b in any::<u64>(),
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let (vault, master) = super::memory_vault().await;
            // Repetition gives dedup inside one write.
            let one = super::noise(seed, len);
            let data: Vec<u8> = one.iter().copied().cycle().take(len * repeat).collect();
            let writer = vault.writer();
            let content = writer.write_reader_blocking_async(data.clone()).await;
            let stats = writer.finish().await.unwrap();
            prop_assert_eq!(content.size, data.len() as u64);
            prop_assert!(stats.new_bytes <= stats.bytes);
            let total = data.len() as u64;
            prop_assert_eq!(read_all(&vault, &content.chunks, 0..total).await, data.clone());
            let (x, y) = if total == 0 { (0, 0) } else { (a % (total + 1), b % (total + 1)) };
            let (from, to) = (x.min(y), x.max(y));
            prop_assert_eq!(read_all(&vault, &content.chunks, from..to).await, data[from as usize..to as usize].to_vec());
            // A fresh process sees the same.
            let fresh = Vault::open(vault.backend().clone(), &master).await.unwrap();
            prop_assert_eq!(read_all(&fresh, &content.chunks, 0..total).await, data);
            Ok(())
        })?;
    }
}

/// Test helper: runs the blocking writer on the blocking pool.
trait WriteAsync {
    async fn write_reader_blocking_async(&self, data: Vec<u8>) -> cairn_vault::Content;
}

impl WriteAsync for cairn_vault::ChunkWriter {
    async fn write_reader_blocking_async(&self, data: Vec<u8>) -> cairn_vault::Content {
        let w = self.clone();
        tokio::task::spawn_blocking(move || {
            w.write_reader_blocking(std::io::Cursor::new(data), "test")
                .unwrap()
        })
        .await
        .unwrap()
    }
}

#[tokio::test]
async fn stream_writes_dedup_and_content_keys_persist() {
    let (vault, master) = super::memory_vault().await;
    let data = super::noise(9, 300_000);
    let writer = vault.writer();
    let stream = futures::stream::iter(
        data.chunks(7000)
            .map(|c| Ok(bytes::Bytes::copy_from_slice(c)))
            .collect::<Vec<_>>(),
    );
    let content = writer.write_stream(stream, "download").await.unwrap();
    writer.record_content_key("dropbox:abc", content.chunks.clone());
    let first = writer.finish().await.unwrap();
    assert_eq!(first.new_bytes, 300_000);
    // The same content again stores nothing new.
    let writer = vault.writer();
    let again = writer.write_reader_blocking_async(data.clone()).await;
    let second = writer.finish().await.unwrap();
    assert_eq!(again, content);
    assert_eq!((second.new_chunks, second.packs), (0, 0));
    // Content keys survive a reopen; unknown keys are unknown.
    let fresh = Vault::open(vault.backend().clone(), &master).await.unwrap();
    assert_eq!(
        fresh.content_chunks("dropbox:abc"),
        Some(content.chunks.clone())
    );
    assert_eq!(fresh.content_chunks("dropbox:zzz"), None);
    assert_eq!(read_all(&fresh, &content.chunks, 0..300_000).await, data);
}

#[tokio::test]
async fn directory_put_get_incremental_and_self_describing() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    super::make_tree(&src, 5);
    let location = dir.path().join("vault").display().to_string();
    let master = cairn_vault::crypto::MasterKey::generate();
    let vault = Vault::init_with(
        Backend::open(&location).unwrap(),
        &master,
        &super::small_config(),
    )
    .await
    .unwrap();
    let first = dirs::put_dir(&vault, &src, PutOptions::default())
        .await
        .unwrap();
    assert_eq!((first.files, first.files_read), (4, 4));
    assert!(
        first.write.new_bytes < first.bytes,
        "duplicate file deduplicated"
    );

    // Change one file: only it is read again.
    std::fs::write(src.join("docs/text.txt"), "changed\n".repeat(100)).unwrap();
    let second = dirs::put_dir(&vault, &src, PutOptions::default())
        .await
        .unwrap();
    assert_eq!(second.parent.as_deref(), Some(first.snapshot.as_str()));
    assert_eq!((second.files_read, second.files_unchanged), (1, 3));

    // A fresh process with only the location and the key lists and restores both.
    let fresh = Vault::open(Backend::open(&location).unwrap(), &master)
        .await
        .unwrap();
    let list = fresh.snapshots().await.unwrap();
    assert_eq!(
        list.iter().map(|s| s.id.clone()).collect::<Vec<_>>(),
        vec![first.snapshot.clone(), second.snapshot.clone()]
    );
    let counters = list[1].entities[dirs::FILES_ENTITY].counters;
    assert_eq!(
        (counters.items, counters.updated, counters.added),
        (4, 1, 0)
    );
    let out = dir.path().join("out2");
    dirs::restore(&fresh, &list[1], &out, 2).await.unwrap();
    super::assert_same_tree(&src, &out);
    let old = dir.path().join("out1");
    dirs::restore(&fresh, &list[0], &old, 2).await.unwrap();
    assert_eq!(
        std::fs::read(old.join("docs/text.txt")).unwrap(),
        "line of text\n".repeat(5000).into_bytes()
    );

    // Prefix and `latest` resolve; a wrong master key is refused clearly.
    assert_eq!(
        fresh
            .resolve_snapshot(&second.snapshot[..8])
            .await
            .unwrap()
            .id,
        second.snapshot
    );
    assert_eq!(
        fresh.resolve_snapshot("latest").await.unwrap().id,
        second.snapshot
    );
    let wrong = Vault::open(
        Backend::open(&location).unwrap(),
        &cairn_vault::crypto::MasterKey::generate(),
    )
    .await;
    assert!(wrong.unwrap_err().to_string().contains("master key"));
}

#[tokio::test]
async fn master_key_rotation_keeps_everything_readable() {
    let (vault, old) = super::memory_vault().await;
    let dir = tempfile::tempdir().unwrap();
    super::make_tree(&dir.path().join("src"), 2);
    let put = dirs::put_dir(&vault, &dir.path().join("src"), PutOptions::default())
        .await
        .unwrap();
    let before: Vec<String> = vault
        .backend()
        .list("packs")
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.name)
        .collect();
    let new = cairn_vault::crypto::MasterKey::generate();
    vault.rotate_master_key(&old, &new).await.unwrap();
    assert!(
        Vault::open(vault.backend().clone(), &old).await.is_err(),
        "old key retired"
    );
    let fresh = Vault::open(vault.backend().clone(), &new).await.unwrap();
    let manifest = fresh.resolve_snapshot(&put.snapshot).await.unwrap();
    dirs::restore(&fresh, &manifest, &dir.path().join("out"), 2)
        .await
        .unwrap();
    super::assert_same_tree(&dir.path().join("src"), &dir.path().join("out"));
    let after: Vec<String> = vault
        .backend()
        .list("packs")
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.name)
        .collect();
    assert_eq!(before, after, "no data object rewritten");
    assert_eq!(vault.backend().list("keys").await.unwrap().len(), 1);
}
