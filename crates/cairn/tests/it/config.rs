//! `cairn config` and configuration errors.

use crate::{cairn, text};

#[test]
fn print_default_is_a_valid_configuration_equal_to_the_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let output = cairn(dir.path(), &["config", "print-default"], None);
    assert!(output.status.success());
    let printed = text(&output.stdout);
    let parsed = cairn::Config::from_toml_and_env(&printed, "printed", Vec::new()).unwrap();
    assert_eq!(parsed, cairn::Config::default());
}

#[test]
fn unknown_keys_stop_the_program_with_the_key_named() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cairn.toml");
    std::fs::write(&file, "[server]\nbind = \"127.0.0.1:0\"\nbindd = 1\n").unwrap();
    let output = cairn(
        dir.path(),
        &["config", "check", "--config", file.to_str().unwrap()],
        None,
    );
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert!(stderr.starts_with("error: configuration:"), "{stderr}");
    assert!(stderr.contains("bindd"), "{stderr}");
}

#[test]
fn check_prints_the_effective_configuration_without_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cairn.toml");
    std::fs::write(
        &file,
        "[database]\nurl = \"postgres://cairn:hunter2@db/cairn\"\n",
    )
    .unwrap();
    let output = cairn(
        dir.path(),
        &["config", "check", "--config", file.to_str().unwrap()],
        None,
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    assert!(stdout.contains("[redacted]"), "{stdout}");
    assert!(!stdout.contains("hunter2"), "{stdout}");
    assert!(
        stdout.contains(&dir.path().display().to_string()),
        "CAIRN_DATA_DIR applies"
    );
}

#[test]
fn serve_refuses_to_start_without_a_master_key() {
    let dir = tempfile::tempdir().unwrap();
    let output = cairn(dir.path(), &["serve"], None);
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("no master key"), "{stderr}");
    assert!(
        stderr.contains("cairn admin master-key generate"),
        "{stderr}"
    );
}

#[test]
fn worker_reads_the_same_configuration_and_refuses_bad_jobs_settings() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cairn.toml");
    std::fs::write(&file, "[jobs]\nworkers = 0\n").unwrap();
    let output = cairn(
        dir.path(),
        &["worker", "--config", file.to_str().unwrap()],
        None,
    );
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("jobs.workers must be at least 1"),
        "{stderr}"
    );

    // A valid configuration without a master key: refused before any work starts.
    std::fs::write(&file, "[jobs]\nworkers = 3\n").unwrap();
    let output = cairn(
        dir.path(),
        &["worker", "--config", file.to_str().unwrap()],
        None,
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stderr).contains("no master key"),
        "{}",
        text(&output.stderr)
    );
}
