//! `cairn vault --repo LOCATION --master-key-file FILE <command> [--json]`: the vault
//! for operators and scripts. The shape is a contract (issue 5 item 7): scripts parse
//! `--json` output, and `check` exits non-zero when it finds a problem.

mod maintenance;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use serde_json::{Value, json};

use cairn_vault::crypto::MasterKey;
use cairn_vault::dirs::{self, PutOptions};
use cairn_vault::{Backend, Vault};

/// `cairn vault` arguments.
#[derive(Debug, Args)]
pub struct VaultArgs {
    /// The vault: a directory or an object-store URL (`s3://bucket/prefix`,
    /// `az://container/prefix`, `gs://bucket/prefix`; options as `?key=value`).
    #[arg(long, env = "CAIRN_VAULT_REPO")]
    repo: String,
    /// File holding the operator master key (64 hex digits).
    #[arg(long, env = "CAIRN_MASTER_KEY_FILE")]
    master_key_file: PathBuf,
    /// Print one JSON object instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: VaultCommand,
}

#[derive(Debug, Subcommand)]
enum VaultCommand {
    /// Create a new vault at the location.
    Init,
    /// Back up a directory as a new snapshot.
    Put {
        /// The directory.
        dir: PathBuf,
        /// A label `key=value` for the snapshot (repeatable).
        #[arg(long = "label", value_parser = parse_label)]
        labels: Vec<(String, String)>,
        /// Compare with this snapshot instead of the latest of the same directory.
        #[arg(long)]
        parent: Option<String>,
        /// Read every file, even unchanged ones.
        #[arg(long)]
        no_parent: bool,
        /// Chunking threads (default: one per CPU).
        #[arg(long, default_value_t = 0)]
        threads: usize,
    },
    /// Restore a directory snapshot (`latest`, an id or a unique id prefix) into DEST.
    Get {
        /// The snapshot.
        snapshot: String,
        /// Where to restore (created if missing).
        dest: PathBuf,
        /// Parallel file restores (default: one per CPU).
        #[arg(long, default_value_t = 0)]
        threads: usize,
    },
    /// List snapshots, oldest first.
    Ls,
    /// Verify the vault's structure; with --read-data, every byte.
    Check {
        /// Decrypt and verify every blob of every pack.
        #[arg(long)]
        read_data: bool,
    },
    /// Delete snapshots the retention policy does not keep (data goes at the next prune).
    Forget(maintenance::ForgetArgs),
    /// Remove data no snapshot needs: mark now, delete after the grace period.
    Prune(maintenance::PruneArgs),
    /// Logical vs stored bytes, dedup ratio, counts.
    Stats,
    /// Rebuild the chunk index from the packs themselves.
    RebuildCatalog,
    /// Rewrap the vault key under a new master key (no data is rewritten).
    RotateMasterKey {
        /// File with the new master key.
        #[arg(long)]
        new_master_key_file: PathBuf,
    },
}

fn parse_label(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .ok_or_else(|| "labels are key=value".to_owned())
}

fn read_master_key(path: &Path) -> anyhow::Result<MasterKey> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the master key file {}", path.display()))?;
    MasterKey::from_hex(&text).with_context(|| format!("in {}", path.display()))
}

pub async fn run(args: VaultArgs) -> anyhow::Result<std::process::ExitCode> {
    let master = read_master_key(&args.master_key_file)?;
    let backend = Backend::open(&args.repo)?;
    let json = args.json;
    let report: Value = match args.command {
        VaultCommand::Init => {
            let vault = Vault::init(backend, &master).await?;
            json!({"vault": vault.config().id, "location": vault.backend().description()})
        }
        VaultCommand::Put {
            dir,
            labels,
            parent,
            no_parent,
            threads,
        } => {
            let vault = Vault::open(backend, &master).await?;
            let options = PutOptions {
                labels: labels.into_iter().collect::<BTreeMap<_, _>>(),
                parent,
                no_parent,
                threads,
            };
            let report = dirs::put_dir(&vault, &dir, options).await?;
            serde_json::to_value(&report)?
        }
        VaultCommand::Get {
            snapshot,
            dest,
            threads,
        } => {
            let vault = Vault::open(backend, &master).await?;
            let manifest = vault.resolve_snapshot(&snapshot).await?;
            let report = dirs::restore(&vault, &manifest, &dest, threads).await?;
            let mut value = serde_json::to_value(&report)?;
            value["snapshot"] = json!(manifest.id);
            value
        }
        VaultCommand::Ls => {
            let vault = Vault::open(backend, &master).await?;
            let snapshots = vault.snapshots().await?;
            if !json {
                for s in &snapshots {
                    let items: u64 = s.entities.values().map(|e| e.counters.items).sum();
                    let bytes: u64 = s.entities.values().map(|e| e.counters.bytes).sum();
                    let labels: Vec<String> =
                        s.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
                    println!(
                        "{}  {}  {items} items  {bytes} bytes  {}",
                        s.id,
                        s.time.format("%Y-%m-%d %H:%M:%S"),
                        labels.join(" ")
                    );
                }
                return Ok(std::process::ExitCode::SUCCESS);
            }
            json!({"snapshots": snapshots})
        }
        VaultCommand::Check { read_data } => {
            let (value, ok) = maintenance::check(backend, &master, read_data).await?;
            print_value(&value, json);
            return Ok(if ok {
                std::process::ExitCode::SUCCESS
            } else {
                std::process::ExitCode::FAILURE
            });
        }
        VaultCommand::Forget(a) => {
            let vault = Vault::open(backend, &master).await?;
            maintenance::forget(&vault, &a).await?
        }
        VaultCommand::Prune(a) => {
            let vault = Vault::open(backend, &master).await?;
            maintenance::prune(&vault, &a).await?
        }
        VaultCommand::Stats => {
            let vault = Vault::open(backend, &master).await?;
            maintenance::stats(&vault).await?
        }
        VaultCommand::RebuildCatalog => maintenance::rebuild_catalog(backend, &master).await?,
        VaultCommand::RotateMasterKey {
            new_master_key_file,
        } => {
            let new = read_master_key(&new_master_key_file)?;
            if new == master {
                bail!("the new master key is the current one");
            }
            let vault = Vault::open(backend, &master).await?;
            let key_object = vault.rotate_master_key(&master, &new).await?;
            json!({"key_object": key_object, "rotated": true})
        }
    };
    print_value(&report, json);
    Ok(std::process::ExitCode::SUCCESS)
}

/// JSON as one line, or `key: value` lines for people.
fn print_value(value: &Value, json: bool) {
    if json {
        println!("{value}");
        return;
    }
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                match v {
                    Value::String(s) => println!("{k}: {s}"),
                    other => println!("{k}: {other}"),
                }
            }
        }
        other => println!("{other}"),
    }
}
