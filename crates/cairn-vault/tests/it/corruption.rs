//! Flipping any byte of any vault object: `check --read-data` names exactly that object,
//! and reads fail rather than return wrong data.

use std::path::Path;

use cairn_vault::crypto::MasterKey;
use cairn_vault::dirs::{self, PutOptions};
use cairn_vault::maintenance::{self, NoSegmentRefs, PruneOptions};
use cairn_vault::{Backend, Vault};

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn objects(root: &Path, base: &Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(root).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            objects(&path, base, out);
        } else {
            out.push(path.strip_prefix(base).unwrap().display().to_string());
        }
    }
}

#[tokio::test]
async fn any_flipped_byte_is_named_by_check_and_never_read_as_data() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    super::make_tree(&src, 11);
    let base = tmp.path().join("base");
    let master = MasterKey::generate();
    let vault = Vault::init_with(
        Backend::open(&base.display().to_string()).unwrap(),
        &master,
        &super::small_config(),
    )
    .await
    .unwrap();
    let put = dirs::put_dir(&vault, &src, PutOptions::default())
        .await
        .unwrap();
    let writer = vault.writer();
    let blob = writer
        .write_blob(cairn_vault::pack::BlobKind::Data, b"attachment".to_vec())
        .await
        .unwrap();
    writer.record_content_key("hash-1", vec![blob]);
    writer.finish().await.unwrap();
    let options = PruneOptions {
        grace: std::time::Duration::ZERO,
        ..PruneOptions::default()
    };
    maintenance::prune(&vault, &NoSegmentRefs, options)
        .await
        .unwrap();
    let clean = maintenance::check(
        Backend::open(&base.display().to_string()).unwrap(),
        &master,
        true,
    )
    .await
    .unwrap();
    assert!(clean.ok, "{:?}", clean.problems);

    let mut names = Vec::new();
    objects(&base, &base, &mut names);
    names.sort();
    for prefix in [
        "config",
        "keys/",
        "packs/",
        "index/",
        "snapshots/",
        "content-keys/",
        "marks/",
    ] {
        assert!(
            names.iter().any(|n| n.starts_with(prefix)),
            "no {prefix} object in {names:?}"
        );
    }
    let mut case = 0;
    for name in &names {
        let len = std::fs::metadata(base.join(name)).unwrap().len() as usize;
        let mut positions = vec![0, len / 3, len / 2, len - 1];
        positions.dedup();
        for pos in positions {
            case += 1;
            let copy = tmp.path().join(format!("case{case}"));
            copy_dir(&base, &copy);
            let mut bytes = std::fs::read(copy.join(name)).unwrap();
            bytes[pos] ^= 0x20;
            std::fs::write(copy.join(name), bytes).unwrap();
            let location = copy.display().to_string();
            let report = maintenance::check(Backend::open(&location).unwrap(), &master, true)
                .await
                .unwrap();
            let named: Vec<&str> = report.problems.iter().map(|p| p.object.as_str()).collect();
            assert_eq!(
                named,
                vec![name.as_str()],
                "flip at {pos} of {name}: {:?}",
                report.problems
            );

            // Reading the snapshot either fails or yields exactly the original.
            let out = tmp.path().join(format!("out{case}"));
            let restored = async {
                let v = Vault::open(Backend::open(&location)?, &master).await?;
                let m = v.resolve_snapshot(&put.snapshot).await?;
                dirs::restore(&v, &m, &out, 2).await
            }
            .await;
            if restored.is_ok() {
                super::assert_same_tree(&src, &out);
            }
            std::fs::remove_dir_all(&copy).unwrap();
            let _ = std::fs::remove_dir_all(&out);
        }
    }
}
