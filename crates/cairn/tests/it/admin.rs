//! `cairn admin create-user`, `db copy`, `master-key generate`.

use crate::{cairn, text};

#[test]
fn create_user_with_a_generated_or_given_password() {
    let dir = tempfile::tempdir().unwrap();
    let output = cairn(
        dir.path(),
        &[
            "admin",
            "create-user",
            "--email",
            "Ops@Example.com",
            "--name",
            "Ops Person",
        ],
        None,
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    assert!(
        stdout.starts_with("created user ops@example.com (usr_"),
        "{stdout}"
    );
    let password = stdout
        .lines()
        .find_map(|l| l.strip_prefix("password: "))
        .expect("a generated password is printed");
    assert_eq!(password.len(), 14);

    // The same address again is refused, clearly.
    let output = cairn(
        dir.path(),
        &[
            "admin",
            "create-user",
            "--email",
            "ops@example.com",
            "--name",
            "Twin",
        ],
        None,
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("--email: This email address already has an account."));

    // A password from stdin must follow the rules; a good one is not echoed.
    let output = cairn(
        dir.path(),
        &[
            "admin",
            "create-user",
            "--email",
            "b@example.com",
            "--name",
            "B",
            "--password-stdin",
        ],
        Some("short\n"),
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("--password: Use at least 10 characters."));
    let output = cairn(
        dir.path(),
        &[
            "admin",
            "create-user",
            "--email",
            "b@example.com",
            "--name",
            "B",
            "--password-stdin",
        ],
        Some("Chosen-Password-31\n"),
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(!text(&output.stdout).contains("Chosen-Password-31"));
    assert!(!text(&output.stdout).contains("password:"));

    let output = cairn(
        dir.path(),
        &[
            "admin",
            "create-user",
            "--email",
            "c@example.com",
            "--name",
            "C",
            "--region",
            "mars",
        ],
        None,
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("--region: Unknown region; configured regions: local."));
}

#[test]
fn db_copy_moves_everything_and_refuses_a_used_target() {
    let source = tempfile::tempdir().unwrap();
    let target = tempfile::tempdir().unwrap();
    let output = cairn(
        source.path(),
        &[
            "admin",
            "create-user",
            "--email",
            "copy@example.com",
            "--name",
            "Copy",
        ],
        None,
    );
    assert!(output.status.success());
    let from = format!("sqlite://{}", source.path().join("cairn.db").display());
    let to = format!("sqlite://{}", target.path().join("copy.db").display());
    let output = cairn(
        source.path(),
        &["admin", "db", "copy", "--from", &from, "--to", &to],
        None,
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    assert!(stdout.contains("row counts verified"), "{stdout}");
    assert!(text(&output.stderr).contains("1 rows of users"));

    let output = cairn(
        source.path(),
        &["admin", "db", "copy", "--from", &from, "--to", &to],
        None,
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("the target is not empty"));

    let output = cairn(
        source.path(),
        &["admin", "db", "copy", "--from", "mysql://x", "--to", &to],
        None,
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("unsupported database URL"));
}

#[test]
fn master_keys_are_generated_once_and_private() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("master.key");
    let key_arg = key.to_str().unwrap();
    let output = cairn(
        dir.path(),
        &["admin", "master-key", "generate", "--out", key_arg],
        None,
    );
    assert!(output.status.success());
    let hex = std::fs::read_to_string(&key).unwrap();
    assert_eq!(hex.trim().len(), 64);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let output = cairn(
        dir.path(),
        &["admin", "master-key", "generate", "--out", key_arg],
        None,
    );
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        std::fs::read_to_string(&key).unwrap(),
        hex,
        "never overwritten"
    );
}
