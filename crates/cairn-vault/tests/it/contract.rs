//! The object-store contract the vault relies on, over every backend available:
//! local directory and in-memory always; S3 and Azure when `CAIRN_TEST_S3_ENDPOINT` /
//! `CAIRN_TEST_AZURE_ENDPOINT` point at servers (`.ci/suites/40-object-stores.sh`).

use bytes::Bytes;
use cairn_vault::crypto::MasterKey;
use cairn_vault::dirs::{self, PutOptions};
use cairn_vault::keys::random_hex;
use cairn_vault::{Backend, Vault, VaultError};

async fn contract(backend: Backend) {
    // Create-only writes.
    backend
        .put_new("a/one", Bytes::from_static(b"hello"))
        .await
        .unwrap();
    let again = backend.put_new("a/one", Bytes::from_static(b"other")).await;
    assert!(
        matches!(again, Err(VaultError::AlreadyExists(_))),
        "{again:?}"
    );
    assert_eq!(
        backend.get("a/one").await.unwrap(),
        Bytes::from_static(b"hello")
    );
    // Ranges, head, absent objects.
    assert_eq!(
        backend.get_range("a/one", 1..4).await.unwrap(),
        Bytes::from_static(b"ell")
    );
    assert_eq!(backend.head("a/one").await.unwrap().unwrap().size, 5);
    assert!(backend.head("a/none").await.unwrap().is_none());
    assert!(matches!(
        backend.get("a/none").await,
        Err(VaultError::NotFound(_))
    ));
    // Listing is by path segment and recursive.
    backend
        .put_new("a/b/two", Bytes::from_static(b"2"))
        .await
        .unwrap();
    backend
        .put_new("ab/three", Bytes::from_static(b"3"))
        .await
        .unwrap();
    let names: Vec<String> = backend
        .list("a")
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.name)
        .collect();
    assert_eq!(names, vec!["a/b/two".to_owned(), "a/one".to_owned()]);
    // Multipart upload of a large object reads back identically.
    let big = Bytes::from(super::noise(
        3,
        cairn_vault::backend::MULTIPART_THRESHOLD + 3 * 1024 * 1024 + 17,
    ));
    backend.put_large("big/object", big.clone()).await.unwrap();
    assert!(backend.get("big/object").await.unwrap() == big);
    let tail = big.len() as u64;
    assert!(
        backend
            .get_range("big/object", tail - 10..tail)
            .await
            .unwrap()
            == big.slice(big.len() - 10..)
    );
    // Deletes are idempotent.
    backend.delete("a/one").await.unwrap();
    backend.delete("a/one").await.unwrap();
    assert!(backend.head("a/one").await.unwrap().is_none());
    // Prefixes isolate accounts.
    let account = backend.with_prefix("acct-1");
    account
        .put_new("x", Bytes::from_static(b"x"))
        .await
        .unwrap();
    assert!(backend.head("acct-1/x").await.unwrap().is_some());
    assert!(account.head("a/b/two").await.unwrap().is_none());

    // A whole vault round trip on this backend.
    let master = MasterKey::generate();
    let vault_backend = backend.with_prefix("vault");
    let vault = Vault::init_with(vault_backend.clone(), &master, &super::small_config())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    super::make_tree(&dir.path().join("src"), 1);
    let put = dirs::put_dir(&vault, &dir.path().join("src"), PutOptions::default())
        .await
        .unwrap();
    let fresh = Vault::open(vault_backend, &master).await.unwrap();
    let manifest = fresh.resolve_snapshot(&put.snapshot).await.unwrap();
    dirs::restore(&fresh, &manifest, &dir.path().join("out"), 2)
        .await
        .unwrap();
    super::assert_same_tree(&dir.path().join("src"), &dir.path().join("out"));
}

#[tokio::test]
async fn local_directory() {
    let dir = tempfile::tempdir().unwrap();
    let location = dir.path().join("store").display().to_string();
    contract(Backend::open(&location).unwrap()).await;
    // file:// names the same store.
    let again = Backend::open(&format!("file://{location}")).unwrap();
    assert!(again.head("a/b/two").await.unwrap().is_some());
}

#[tokio::test]
async fn in_memory() {
    contract(Backend::open("memory://").unwrap()).await;
}

#[tokio::test]
async fn s3_when_configured() {
    let Ok(endpoint) = std::env::var("CAIRN_TEST_S3_ENDPOINT") else {
        eprintln!("CAIRN_TEST_S3_ENDPOINT not set: S3 contract skipped");
        return;
    };
    let bucket = std::env::var("CAIRN_TEST_S3_BUCKET").unwrap_or_else(|_| "cairn-test".into());
    let location = format!(
        "s3://{bucket}/{}?endpoint={endpoint}&allow_http=true&region=us-east-1&access_key_id=test&secret_access_key=test",
        random_hex(6)
    );
    contract(Backend::open(&location).unwrap()).await;
}

#[tokio::test]
async fn azure_when_configured() {
    if std::env::var("CAIRN_TEST_AZURE_ENDPOINT").is_err() {
        eprintln!("CAIRN_TEST_AZURE_ENDPOINT not set: Azure contract skipped");
        return;
    }
    // object_store's emulator mode reads the URL from AZURITE_BLOB_STORAGE_URL.
    let container =
        std::env::var("CAIRN_TEST_AZURE_CONTAINER").unwrap_or_else(|_| "cairn-test".into());
    let location = format!("az://{container}/{}?use_emulator=true", random_hex(6));
    contract(Backend::open(&location).unwrap()).await;
}
