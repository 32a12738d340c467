//! `cairn bench dropbox-backup`: a Dropbox backup end to end, against the emulator in
//! this process (by default 20 members, ~20k files, 2 GiB, 25 % duplicate content): a
//! full backup, then 1 % of the files change (modified or added), then an incremental
//! backup. The same bytes are then put into a fresh vault from local disk, as the
//! reference speed.
//!
//! Figures: `full_mib_s` (team bytes / full run time), `vault_put_mib_s` (the same files
//! put from local disk), `full_vs_vault_ratio`, `peak_rss_mib` (measured right after
//! the runs), `fetched_over_unique` (bytes downloaded / bytes of distinct contents),
//! `incremental_time_ratio`, `incremental_fetched_over_changed` (files downloaded by
//! the incremental run / files changed), `snapshot_matches_source` (both snapshots equal
//! the emulator's dumps taken right after each run, and a sample of files byte for
//! byte).

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use cairn_backup::dropbox::{DropboxBackup, FetchStats, manifest_key};
use cairn_backup::pit::entity_items;
use cairn_backup::{BackupContext, BackupOptions, NoProgress, RunOutcome, RunStatus};
use cairn_domain::{BackupTask, Service, TaskSettings, TypedId};
use cairn_dropbox::{DropboxApp, DropboxConfig, Secret, TokenSet};
use cairn_emulator::dropbox::{DropboxOptions, MutateRequest, RunningDropbox, start};
use cairn_meta::MetaStore;
use cairn_vault::crypto::MasterKey;
use cairn_vault::segments::SegmentOptions;
use cairn_vault::{Backend, SnapshotManifest, Vault};
use clap::Args;
use serde_json::{Value, json};

/// `cairn bench dropbox-backup` options.
#[derive(Debug, Args)]
pub struct DropboxBackupArgs {
    /// Team members.
    #[arg(long, default_value_t = 20)]
    members: u32,
    /// Files in the team.
    #[arg(long, default_value_t = 20_000)]
    files: u64,
    /// Team size in MiB.
    #[arg(long, default_value_t = 2048)]
    mib: u64,
}

/// `(namespace, path_lower, tag, rev, content_hash)`.
type Row = (String, String, String, Option<String>, Option<String>);

fn connector_config(d: &RunningDropbox) -> anyhow::Result<DropboxConfig> {
    let creds = d.credentials();
    let mut c = DropboxConfig::new(
        creds.app_key.clone(),
        Some(Secret::new(creds.app_secret.clone())),
    );
    c.api_url = url::Url::parse(d.api_url())?;
    c.content_url = url::Url::parse(d.content_url())?;
    c.notify_url = url::Url::parse(d.notify_url())?;
    c.authorize_url = url::Url::parse(&d.oauth_authorize_url())?;
    c.ca_pem = d.ca_pem().map(str::to_owned);
    Ok(c)
}

async fn run_once(
    engine: &DropboxBackup,
    ctx: &BackupContext,
    store: &MetaStore,
    task: &BackupTask,
) -> anyhow::Result<(RunOutcome, FetchStats, f64)> {
    let task = store.account(task.account_id).tasks().get(task.id).await?;
    let started = Instant::now();
    let (out, stats) = engine.run_with_stats(ctx, &task, None, &NoProgress).await?;
    Ok((out, stats, started.elapsed().as_secs_f64()))
}

async fn dump_rows(d: &RunningDropbox) -> BTreeSet<Row> {
    d.control()
        .dump()
        .await
        .into_iter()
        .map(|e| (e.namespace_id, e.path_lower, e.tag, e.rev, e.content_hash))
        .collect()
}

/// The snapshot as dump rows (mount points left out), and whether a sample of its files
/// reads back byte for byte.
async fn snapshot_rows(
    d: &RunningDropbox,
    vault: &Vault,
    manifest: &SnapshotManifest,
    namespaces: &BTreeMap<String, String>,
) -> anyhow::Result<(BTreeSet<Row>, bool)> {
    let segs = vault.segments(SegmentOptions::default())?;
    let mut rows = BTreeSet::new();
    let mut sampled = 0;
    let mut bytes_ok = true;
    for (external, ns) in namespaces {
        let Some(em) = manifest.entities.get(&manifest_key(external)) else {
            continue;
        };
        for (path, item) in entity_items(&segs, em).await? {
            let r: Value = serde_json::from_str(&item.record)?;
            let tag = r["tag"].as_str().unwrap_or_default().to_owned();
            if tag == "folder" && !r["shared_folder_id"].is_null() {
                continue;
            }
            let text = |f: &str| r[f].as_str().map(str::to_owned);
            if tag == "file" && sampled < 20 && rows.len() % 97 == 0 {
                sampled += 1;
                let size = r["size"].as_u64().unwrap_or(0);
                let mut got = Vec::new();
                for c in &item.chunks {
                    got.extend(vault.read_chunk(c).await?);
                }
                let rev = text("rev").unwrap_or_default();
                let want = d.control().read_content(&rev, 0, size).await?;
                bytes_ok &= got == want;
            }
            rows.insert((ns.clone(), path, tag, text("rev"), text("content_hash")));
        }
    }
    Ok((rows, bytes_ok && sampled > 0))
}

/// Puts every file of the team into a fresh vault from local disk; returns MiB/s.
async fn vault_put_reference(d: &RunningDropbox, dir: &std::path::Path) -> anyhow::Result<f64> {
    let files_dir = dir.join("files");
    std::fs::create_dir_all(&files_dir)?;
    let mut paths = Vec::new();
    let mut total = 0u64;
    for (i, e) in d.control().dump().await.into_iter().enumerate() {
        let (Some(rev), Some(size)) = (e.rev, e.size) else {
            continue;
        };
        let bytes = d.control().read_content(&rev, 0, size).await?;
        let path = files_dir.join(format!("{i}"));
        std::fs::write(&path, bytes)?;
        total += size;
        paths.push(path);
    }
    let vault_dir = dir.join("reference-vault");
    std::fs::create_dir_all(&vault_dir)?;
    let vault = Vault::init(
        Backend::open(&vault_dir.display().to_string())?,
        &MasterKey::generate(),
    )
    .await?;
    let started = Instant::now();
    let writer = vault.writer();
    let w = writer.clone();
    tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        for p in paths {
            w.write_reader_blocking(std::fs::File::open(&p)?, &p.display().to_string())?;
        }
        Ok(())
    })
    .await??;
    writer.finish().await?;
    let secs = started.elapsed().as_secs_f64().max(1e-9);
    std::fs::remove_dir_all(&files_dir)?;
    Ok(total as f64 / (1024.0 * 1024.0) / secs)
}

pub async fn run(args: DropboxBackupArgs) -> anyhow::Result<Value> {
    let dir = tempfile::tempdir()?;
    let opts = DropboxOptions {
        seed: 20_260_307,
        members: args.members,
        team_folders: 4,
        files: args.files,
        bytes: args.mib << 20,
        dup_ratio: 0.25,
        tls: false,
        max_longpoll_wait: Some(Duration::from_millis(200)),
        ..DropboxOptions::default()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let d = start(listener, opts).await?;
    let app = DropboxApp::new(connector_config(&d)?)?;
    let tokens = TokenSet {
        access_token: Secret::new(d.credentials().team_token.clone()),
        refresh_token: None,
        expires_at: None,
        team_id: Some(d.credentials().team_id.clone()),
        account_id: None,
        scopes: vec![],
    };

    let super::backup_world::BackupWorld { store, task, ctx } = super::backup_world::backup_world(
        dir.path(),
        Service::Dropbox,
        "Bench team",
        TaskSettings {
            auto_activate: true,
            ..TaskSettings::default()
        },
        &tokens,
        BackupOptions {
            blob_concurrency: 8,
            ..BackupOptions::default()
        },
    )
    .await?;
    let engine = DropboxBackup::new(app.clone());

    let info = d.control().info();
    let dump0 = d.control().dump().await;
    let unique: BTreeMap<String, u64> = dump0
        .iter()
        .filter_map(|e| Some((e.content_hash.clone()?, e.size?)))
        .collect();
    let unique_bytes: u64 = unique.values().sum();

    let (full, full_stats, full_s) = run_once(&engine, &ctx, &store, &task).await?;
    let rows1 = dump_rows(&d).await;

    let report = d.control().mutate(&MutateRequest {
        percent: 1.0,
        member: None,
        namespace_id: None,
        seed: Some(7),
        kinds: vec!["modify".into(), "add".into()],
    })?;
    let changed = (report.modified + report.added) as u64;
    let (incr, incr_stats, incr_s) = run_once(&engine, &ctx, &store, &task).await?;
    let peak_rss = super::peak_rss_mib();
    let rows2 = dump_rows(&d).await;

    // Checks.
    let namespaces: BTreeMap<String, String> = engine
        .client(tokens)
        .discover()
        .await?
        .entities
        .into_iter()
        .filter(|e| e.has_content())
        .map(|e| (e.id, e.namespace_id))
        .collect();
    let vault = ctx.vaults.vault(task.account_id).await?;
    let manifest = |o: &RunOutcome| -> anyhow::Result<String> {
        Ok(o.snapshot
            .context("no snapshot")?
            .as_uuid()
            .simple()
            .to_string())
    };
    let m1 = vault.snapshot(&manifest(&full)?).await?;
    let m2 = vault.snapshot(&manifest(&incr)?).await?;
    let (s1, bytes1) = snapshot_rows(&d, &vault, &m1, &namespaces).await?;
    let (s2, bytes2) = snapshot_rows(&d, &vault, &m2, &namespaces).await?;
    let matches = s1 == rows1 && s2 == rows2 && bytes1 && bytes2;
    ensure!(!rows1.is_empty(), "the team is empty");

    let vault_put_mib_s = vault_put_reference(&d, dir.path()).await?;
    let full_mib_s = info.bytes as f64 / (1024.0 * 1024.0) / full_s.max(1e-9);
    let ratio = full_mib_s / vault_put_mib_s.max(1e-9);
    let fetched_over_unique = full_stats.bytes_fetched as f64 / unique_bytes.max(1) as f64;
    let incr_ratio = incr_s / full_s.max(1e-9);
    let incr_fetch = incr_stats.files_fetched as f64 / changed.max(1) as f64;
    let complete = full.status == RunStatus::Complete && incr.status == RunStatus::Complete;
    let ok = complete
        && matches
        && ratio >= 0.8
        && peak_rss.is_none_or(|r| r <= 400.0)
        && fetched_over_unique <= 1.02
        && incr_ratio <= 0.05
        && incr_fetch <= 1.05;
    d.shutdown().await;
    let r4 = |x: f64| (x * 10_000.0).round() / 10_000.0;
    Ok(json!({
        "scenario": "dropbox-backup",
        "ok": ok,
        "members": args.members,
        "files": info.files,
        "team_mib": r4(info.bytes as f64 / (1024.0 * 1024.0)),
        "unique_mib": r4(unique_bytes as f64 / (1024.0 * 1024.0)),
        "full_s": r4(full_s),
        "full_mib_s": r4(full_mib_s),
        "vault_put_mib_s": r4(vault_put_mib_s),
        "full_vs_vault_ratio": r4(ratio),
        "peak_rss_mib": peak_rss.map(f64::round),
        "fetched_over_unique": r4(fetched_over_unique),
        "files_fetched_full": full_stats.files_fetched,
        "files_reused_full": full_stats.files_reused,
        "incremental_s": r4(incr_s),
        "incremental_time_ratio": r4(incr_ratio),
        "changed_files": changed,
        "incremental_files_fetched": incr_stats.files_fetched,
        "incremental_fetched_over_changed": r4(incr_fetch),
        "snapshot_matches_source": matches,
        "full_status": format!("{:?}", full.status),
        "incremental_status": format!("{:?}", incr.status),
        "api_calls_full": full.api_calls,
        "load_average_1m": super::load_average(),
    }))
}
