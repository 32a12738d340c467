//! `cairn bench <scenario> [--json]`: benchmark scenarios. Each generates its data
//! deterministically, checks its own results, and prints one JSON object with `"ok"` plus
//! the figures its issue names (or the same as `key: value` lines without `--json`).

mod backup_world;
mod dropbox_backup;
mod dropbox_emulator;
mod sf_backup;
mod sf_emulator;
mod vault;
pub mod vault_records;

use clap::{Args, Subcommand};
use serde_json::Value;

/// `cairn bench` arguments.
#[derive(Debug, Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    scenario: Scenario,
    /// Print one JSON object instead of `key: value` lines.
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Debug, Subcommand)]
enum Scenario {
    /// Dropbox emulator: aggregate download MiB/s (8 streams), list_folder entries/s over
    /// 100k entries, peak RSS while serving a 20 GiB team.
    DropboxEmulator(dropbox_emulator::DropboxEmulatorArgs),
    /// Dropbox backup end to end against the in-process emulator (20 members, 2 GiB,
    /// 25 % duplicates): full backup, 1 % of files changed, incremental backup, both
    /// snapshots checked against the emulator's dumps; vault put speed as reference.
    DropboxBackup(dropbox_backup::DropboxBackupArgs),
    /// Salesforce emulator: generate the large org (1M+ records), then read it back with
    /// queryAll pages of 2,000 over loopback HTTP.
    SfEmulator,
    /// Salesforce backup end to end against the in-process emulator (large profile):
    /// full backup, 1 % of records changed, incremental backup, both snapshots checked
    /// against the emulator's dumps.
    SfBackup(sf_backup::SfBackupArgs),
    /// Vault record segments (temporary; to be folded into `cairn bench vault`): write 1M
    /// records, diff two 1M states, look one key up through 30 deltas.
    VaultRecords(vault_records::RecordsBenchOptions),
    /// The vault against restic on a deterministic 2 GiB / 10k-file data set: put and
    /// get throughput, stored bytes, incremental put, peak RSS.
    Vault(vault::VaultBenchArgs),
}

pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    let report = match args.scenario {
        Scenario::DropboxEmulator(a) => dropbox_emulator::run(a).await?,
        Scenario::DropboxBackup(a) => dropbox_backup::run(a).await?,
        Scenario::SfEmulator => sf_emulator::run().await?,
        Scenario::SfBackup(a) => sf_backup::run(a).await?,
        Scenario::VaultRecords(opts) => Value::Object(vault_records::run(&opts).await?),
        Scenario::Vault(a) => vault::run(a).await?,
    };
    print_report(&report, args.json);
    Ok(())
}

fn print_report(report: &Value, json: bool) {
    if json {
        println!("{report}");
        return;
    }
    if let Value::Object(map) = report {
        for (key, value) in map {
            println!("{key}: {value}");
        }
    }
}

/// Peak resident set size of this process in MiB (`VmHWM`), if the platform reports it.
pub fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// The 1-minute load average, to report next to timings.
pub fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}
