use std::path::PathBuf;

use super::*;

fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn the_default_file_parses_back_to_the_defaults() {
    let text = default_file();
    let parsed = Config::from_toml_and_env(&text, "default", vars(&[])).unwrap();
    assert_eq!(parsed, Config::default());
    // Every section is present, and no line is longer than a terminal.
    for section in [
        "[server]",
        "[database]",
        "[mail]",
        "[auth]",
        "[vault]",
        "[jobs]",
        "[[regions]]",
    ] {
        assert!(text.contains(section), "{section} missing");
    }
    assert!(text.lines().all(|l| l.chars().count() <= 100));
}

#[test]
fn the_defaults_are_valid() {
    Config::default().validate().unwrap();
    assert_eq!(
        Config::default().database_url(),
        "sqlite://./cairn-data/cairn.db"
    );
}

#[test]
fn file_values_override_defaults() {
    let text = "data_dir = \"/var/lib/cairn\"\n[server]\nbind = \"0.0.0.0:9000\"\n\
                [[regions]]\ncode = \"eu-central\"\nname = \"Europe (Frankfurt)\"\n";
    let config = Config::from_toml_and_env(text, "cairn.toml", vars(&[])).unwrap();
    assert_eq!(config.data_dir, PathBuf::from("/var/lib/cairn"));
    assert_eq!(config.server.bind.port(), 9000);
    assert_eq!(config.regions.len(), 1);
    assert_eq!(config.regions[0].code.as_str(), "eu-central");
    assert_eq!(config.auth, AuthSettings::default());
    assert_eq!(config.outbox_dir(), PathBuf::from("/var/lib/cairn/outbox"));
    assert_eq!(
        config.master_key_file(),
        PathBuf::from("/var/lib/cairn/master.key")
    );
    assert_eq!(config.vault_location(), "/var/lib/cairn/vault");
}

#[test]
fn unknown_keys_in_the_file_are_named() {
    let err = Config::from_toml_and_env("[server]\nbnd = \"x\"\n", "cairn.toml", vars(&[]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("cairn.toml"), "{err}");
    assert!(err.contains("bnd"), "{err}");
    let err = Config::from_toml_and_env("[sever]\n", "cairn.toml", vars(&[]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("sever"), "{err}");
}

#[test]
fn environment_overrides_file_and_defaults() {
    let text = "[server]\nbind = \"0.0.0.0:9000\"\n";
    let config = Config::from_toml_and_env(
        text,
        "cairn.toml",
        vars(&[
            ("CAIRN_SERVER__BIND", "127.0.0.1:7000"),
            ("CAIRN_AUTH__SESSION_IDLE_MINUTES", "45"),
            ("CAIRN_SERVER__TRUST_FORWARDED_FOR", "yes"),
            ("CAIRN_DATA_DIR", "/srv/cairn"),
            ("CAIRN_DATABASE__URL", "postgres://cairn:pw@db/cairn"),
            ("CAIRN_MAIL__SMTP_URL", "smtp://relay:25"),
            ("CAIRN_LOG", "debug"),
            ("CAIRN_TEST_POSTGRES_URL", "postgres://elsewhere"),
            ("HOME", "/root"),
        ]),
    )
    .unwrap();
    assert_eq!(config.server.bind.port(), 7000);
    assert_eq!(config.auth.session_idle_minutes, 45);
    assert!(config.server.trust_forwarded_for);
    assert_eq!(config.data_dir, PathBuf::from("/srv/cairn"));
    assert_eq!(config.database_url(), "postgres://cairn:pw@db/cairn");
    assert_eq!(
        config.mail.smtp_url.as_ref().unwrap().expose(),
        "smtp://relay:25"
    );
    assert!(
        !format!("{config:?}").contains("pw@db"),
        "secrets stay hidden in Debug"
    );
}

#[test]
fn bad_environment_values_name_the_variable_or_key() {
    let err = Config::from_toml_and_env("", "defaults", vars(&[("CAIRN_SERVER__BNDI", "x")]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("server.bndi"), "{err}");
    let err = Config::from_toml_and_env(
        "",
        "defaults",
        vars(&[("CAIRN_AUTH__SESSION_IDLE_MINUTES", "half an hour")]),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("CAIRN_AUTH__SESSION_IDLE_MINUTES"), "{err}");
    let err = Config::from_toml_and_env("", "defaults", vars(&[("CAIRN_SERVR__BIND", "x")]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("servr"), "{err}");
}

#[test]
fn nonsense_values_are_refused_with_all_problems() {
    let text = "[server]\npublic_url = \"ftp://x\"\ntls_cert_file = \"/a.pem\"\n\
                [auth]\nsession_idle_minutes = 0\n";
    let err = Config::from_toml_and_env(text, "cairn.toml", vars(&[]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("server.public_url"), "{err}");
    assert!(err.contains("tls_key_file"), "{err}");
    assert!(err.contains("auth.session_idle_minutes"), "{err}");
    let err = Config::from_toml_and_env("regions = []\n", "cairn.toml", vars(&[]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("at least one region"), "{err}");
}

#[test]
fn master_key_comes_from_the_secret_or_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config {
        data_dir: dir.path().to_owned(),
        ..Config::default()
    };
    let err = config.load_master_key().unwrap_err().to_string();
    assert!(err.contains("master-key generate"), "{err}");
    let key = cairn_vault::crypto::MasterKey::generate();
    std::fs::write(dir.path().join("master.key"), format!("{}\n", key.to_hex())).unwrap();
    assert_eq!(config.load_master_key().unwrap(), key);
    config.vault.master_key = Some(Secret::new("zz"));
    assert!(
        config
            .load_master_key()
            .unwrap_err()
            .to_string()
            .contains("vault.master_key")
    );
}

#[test]
fn jobs_settings_come_from_the_file_and_environment_and_are_checked() {
    let config = Config::from_toml_and_env(
        "[jobs]\nworkers = 4\n",
        "cairn.toml",
        vars(&[("CAIRN_JOBS__LEASE_SECONDS", "120")]),
    )
    .unwrap();
    assert_eq!(config.jobs.workers, 4);
    assert_eq!(config.jobs.lease_seconds, 120);
    assert_eq!(config.jobs.scheduler_interval_seconds, 30);
    let err = Config::from_toml_and_env("[jobs]\nworkers = 0\nlease_seconds = 1\n", "x", vars(&[]))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("jobs.workers") && err.contains("jobs.lease_seconds"),
        "{err}"
    );
}
