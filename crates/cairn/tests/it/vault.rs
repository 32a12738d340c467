//! `cairn vault`: the command-line contract, and crash safety — the writer is SIGKILLed
//! at random points of `put` and `prune`; afterwards `check` passes, every earlier
//! snapshot restores byte-identical, and the next `put` works.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};

struct Repo {
    dir: tempfile::TempDir,
}

impl Repo {
    fn new() -> Self {
        let repo = Self {
            dir: tempfile::tempdir().unwrap(),
        };
        let out = Command::new(env!("CARGO_BIN_EXE_cairn"))
            .args(["admin", "master-key", "generate", "--out"])
            .arg(repo.key())
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", super::text(&out.stderr));
        repo
    }

    fn key(&self) -> PathBuf {
        self.dir.path().join("master.key")
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_cairn"));
        c.arg("vault")
            .arg("--repo")
            .arg(self.path("vault"))
            .arg("--master-key-file")
            .arg(self.key())
            .args(args)
            .env("CAIRN_LOG", "error")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    fn ok_json(&self, args: &[&str]) -> serde_json::Value {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            super::text(&out.stderr)
        );
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{args:?}: {e}: {}", super::text(&out.stdout)))
    }
}

fn write_tree(root: &Path, seed: u64, files: u64) {
    std::fs::create_dir_all(root.join("sub")).unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    for i in 0..files {
        let len = rng.random_range(0..600_000);
        let mut data = vec![0u8; len];
        if i % 2 == 0 {
            rng.fill(&mut data[..]);
        } else {
            for (j, b) in data.iter_mut().enumerate() {
                *b = b"cairn vault text "[j % 17];
            }
        }
        let dir = if i % 3 == 0 {
            root.join("sub")
        } else {
            root.to_owned()
        };
        std::fs::write(dir.join(format!("f{i}")), data).unwrap();
    }
}

fn same_tree(a: &Path, b: &Path) -> bool {
    let mut names: Vec<_> = std::fs::read_dir(a)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    let mut other: Vec<_> = std::fs::read_dir(b)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort();
    other.sort();
    names == other
        && names.iter().all(|n| {
            let (x, y) = (a.join(n), b.join(n));
            if x.is_dir() {
                same_tree(&x, &y)
            } else {
                std::fs::read(&x).unwrap() == std::fs::read(&y).unwrap()
            }
        })
}

#[test]
fn cli_put_get_ls_check_stats_forget_prune() {
    let repo = Repo::new();
    let init = repo.ok_json(&["init", "--json"]);
    assert!(init["vault"].as_str().is_some_and(|v| v.len() == 32));
    let again = repo.run(&["init"]);
    assert!(!again.status.success(), "a second init must refuse");
    let src = repo.path("src");
    write_tree(&src, 1, 6);
    let put = repo.ok_json(&[
        "put",
        src.to_str().unwrap(),
        "--json",
        "--label",
        "team=ops",
    ]);
    let id = put["snapshot"].as_str().unwrap().to_owned();
    let ls = repo.ok_json(&["ls", "--json"]);
    assert_eq!(ls["snapshots"][0]["id"], id.as_str());
    assert_eq!(ls["snapshots"][0]["labels"]["team"], "ops");
    let out = repo.path("out");
    let get = repo.ok_json(&["get", &id[..8], out.to_str().unwrap(), "--json"]);
    assert_eq!(get["files"], 6);
    assert!(same_tree(&src, &out));
    let check = repo.ok_json(&["check", "--read-data", "--json"]);
    assert_eq!(check["ok"], true);
    let stats = repo.ok_json(&["stats", "--json"]);
    assert_eq!(stats["snapshots"], 1);
    assert!(stats["stored_bytes"].as_u64().unwrap() > 0);
    // An empty retention policy is refused; keep-last 1 keeps the only snapshot.
    assert!(!repo.run(&["forget"]).status.success());
    let forget = repo.ok_json(&["forget", "--keep-last", "1", "--json"]);
    assert_eq!(forget["removed"].as_array().unwrap().len(), 0);
    repo.ok_json(&["prune", "--grace", "0s", "--json"]);
    repo.ok_json(&["rebuild-catalog", "--json"]);

    // Damage: check exits non-zero and names the object.
    let snapshot_object = repo.path("vault").join("snapshots").join(&id);
    let mut bytes = std::fs::read(&snapshot_object).unwrap();
    bytes[20] ^= 1;
    std::fs::write(&snapshot_object, bytes).unwrap();
    let bad = repo.run(&["check", "--json"]);
    assert!(!bad.status.success());
    assert!(super::text(&bad.stdout).contains(&format!("snapshots/{id}")));
}

#[test]
fn sigkill_during_put_and_prune_leaves_a_consistent_vault() {
    let repo = Repo::new();
    repo.ok_json(&["init", "--json"]);
    let src = repo.path("src");
    write_tree(&src, 2, 24);
    // The first snapshot and a pristine copy of its content.
    let first = repo.ok_json(&["put", src.to_str().unwrap(), "--json"])["snapshot"]
        .as_str()
        .unwrap()
        .to_owned();
    let pristine = repo.path("pristine");
    let restored = repo.run(&["get", &first, pristine.to_str().unwrap()]);
    assert!(restored.status.success());
    assert!(same_tree(&src, &pristine));

    let mut rng = rand::rngs::StdRng::seed_from_u64(99);
    // How long a full put of fresh content takes here, to choose kill points within it.
    write_tree(&src, 3, 24);
    let start = Instant::now();
    repo.ok_json(&["put", src.to_str().unwrap(), "--json", "--no-parent"]);
    let full = start.elapsed().max(Duration::from_millis(20));
    let mut kills = 0;
    for round in 0..8u64 {
        write_tree(&src, 10 + round, 24);
        let args: Vec<String> = if round % 3 == 2 {
            vec!["prune".into(), "--grace".into(), "0s".into()]
        } else {
            vec![
                "put".into(),
                src.display().to_string(),
                "--no-parent".into(),
            ]
        };
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut child = repo.command(&args).spawn().unwrap();
        // A random kill point within a normal run (not a synchronisation wait).
        std::thread::sleep(full.mul_f64(rng.random_range(0.05..0.95)));
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap();
            kills += 1;
        }
        child.wait().unwrap();

        let check = repo.run(&["check", "--json"]);
        assert!(
            check.status.success(),
            "round {round}: {}",
            super::text(&check.stdout)
        );
        let out = repo.path(&format!("out{round}"));
        let get = repo.run(&["get", &first, out.to_str().unwrap()]);
        assert!(
            get.status.success(),
            "round {round}: {}",
            super::text(&get.stderr)
        );
        assert!(
            same_tree(&pristine, &out),
            "round {round}: first snapshot differs"
        );
        std::fs::remove_dir_all(&out).unwrap();
    }
    assert!(kills > 0, "no run was interrupted");
    // The next put works, prune cleans up, and every byte verifies.
    let last = repo.ok_json(&["put", src.to_str().unwrap(), "--json"]);
    assert!(last["snapshot"].is_string());
    repo.ok_json(&["prune", "--grace", "0s", "--json"]);
    repo.ok_json(&["prune", "--grace", "0s", "--json"]);
    let check = repo.ok_json(&["check", "--read-data", "--json"]);
    assert_eq!(check["ok"], true, "{check}");
    assert!(check["warnings"].as_array().unwrap().is_empty(), "{check}");
}
