//! Integration tests of the vault through its public API: the object-store contract,
//! round trips, corruption, injected faults and maintenance.

// Helpers outside `#[test]` functions are test code too.
#![allow(clippy::unwrap_used)]

mod contract;
mod corruption;
mod faults;
mod maintenance;
mod removal;
mod roundtrip;
mod segments_common;
mod segments_corruption;
mod segments_roundtrip;
mod segments_state;

use std::path::Path;
use std::sync::Arc;

use cairn_vault::backend::FaultStore;
use cairn_vault::crypto::MasterKey;
use cairn_vault::keys::{ChunkerParams, VaultConfig};
use cairn_vault::{Backend, Vault};
use object_store::memory::InMemory;

/// Small chunks and packs so tests exercise many of both with little data.
pub fn small_config() -> VaultConfig {
    VaultConfig {
        chunker: ChunkerParams {
            min: 1024,
            avg: 4096,
            max: 16384,
            seed: 7,
        },
        pack_size: 64 * 1024,
        ..VaultConfig::new_default()
    }
}

/// A fresh vault over an in-memory store.
pub async fn memory_vault() -> (Vault, MasterKey) {
    let master = MasterKey::generate();
    let backend = Backend::from_store(Arc::new(InMemory::new()), "memory");
    let vault = Vault::init_with(backend, &master, &small_config())
        .await
        .unwrap();
    (vault, master)
}

/// A fresh vault over a fault-injecting in-memory store.
pub async fn fault_vault() -> (Vault, MasterKey, Arc<FaultStore>) {
    let master = MasterKey::generate();
    let store = Arc::new(FaultStore::new(Arc::new(InMemory::new())));
    let backend = Backend::from_store(store.clone(), "faulty memory").with_retry(
        cairn_vault::backend::RetryPolicy {
            attempts: 10,
            initial_backoff: std::time::Duration::from_millis(1),
            max_backoff: std::time::Duration::from_millis(5),
        },
    );
    let vault = Vault::init_with(backend, &master, &small_config())
        .await
        .unwrap();
    (vault, master, store)
}

/// Deterministic pseudo-random bytes.
pub fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// Writes a small tree of files: noise, text, empty, nested, a symlink.
pub fn make_tree(root: &Path, seed: u64) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(root.join("docs/deep")).unwrap();
    std::fs::write(root.join("noise.bin"), noise(seed, 150_000)).unwrap();
    std::fs::write(root.join("docs/text.txt"), "line of text\n".repeat(5000)).unwrap();
    std::fs::write(root.join("docs/deep/empty"), b"").unwrap();
    std::fs::write(root.join("docs/deep/dup.bin"), noise(seed, 150_000)).unwrap();
    std::fs::set_permissions(
        root.join("docs/text.txt"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    std::os::unix::fs::symlink("noise.bin", root.join("link")).unwrap();
}

/// Asserts two directory trees hold identical files, modes, mtimes and links.
pub fn assert_same_tree(a: &Path, b: &Path) {
    use std::os::unix::fs::MetadataExt;
    let mut names: Vec<_> = std::fs::read_dir(a)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort();
    let mut other: Vec<_> = std::fs::read_dir(b)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    other.sort();
    assert_eq!(names, other, "entries of {a:?} vs {b:?}");
    for name in names {
        let (pa, pb) = (a.join(&name), b.join(&name));
        let (ma, mb) = (
            std::fs::symlink_metadata(&pa).unwrap(),
            std::fs::symlink_metadata(&pb).unwrap(),
        );
        assert_eq!(ma.file_type(), mb.file_type(), "{pa:?}");
        if ma.file_type().is_symlink() {
            assert_eq!(
                std::fs::read_link(&pa).unwrap(),
                std::fs::read_link(&pb).unwrap()
            );
            continue;
        }
        assert_eq!(ma.mode() & 0o7777, mb.mode() & 0o7777, "mode of {pa:?}");
        assert_eq!(
            (ma.mtime(), ma.mtime_nsec()),
            (mb.mtime(), mb.mtime_nsec()),
            "mtime of {pa:?}"
        );
        if ma.is_dir() {
            assert_same_tree(&pa, &pb);
        } else {
            assert!(
                std::fs::read(&pa).unwrap() == std::fs::read(&pb).unwrap(),
                "content of {pa:?}"
            );
        }
    }
}
