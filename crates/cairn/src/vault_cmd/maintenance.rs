//! `cairn vault check|forget|prune|stats|rebuild-catalog`.

use std::time::Duration;

use clap::Args;
use serde_json::{Value, json};

use cairn_domain::retention::RetentionPolicy;
use cairn_vault::crypto::MasterKey;
use cairn_vault::maintenance::{self, PruneOptions};
use cairn_vault::segments::SegmentOptions;
use cairn_vault::{Backend, Vault};

/// Retention flags of `forget`.
#[derive(Debug, Args)]
pub struct ForgetArgs {
    /// Keep the n most recent snapshots.
    #[arg(long)]
    keep_last: Option<u32>,
    /// Keep the newest snapshot of each of the n most recent days.
    #[arg(long)]
    keep_daily: Option<u32>,
    /// Keep the newest snapshot of each of the n most recent weeks.
    #[arg(long)]
    keep_weekly: Option<u32>,
    /// Keep the newest snapshot of each of the n most recent months.
    #[arg(long)]
    keep_monthly: Option<u32>,
    /// Keep every snapshot taken within this span (e.g. `30d`, `12h`, `90m`, `45s`).
    #[arg(long, value_parser = parse_span)]
    keep_within: Option<Duration>,
    /// Show what would be forgotten without deleting.
    #[arg(long)]
    dry_run: bool,
}

/// Flags of `prune`.
#[derive(Debug, Args)]
pub struct PruneArgs {
    /// How long unreferenced packs stay marked before deletion (and how old a pack must
    /// be to be marked). `0s` deletes at the next run: only without concurrent writers.
    #[arg(long, value_parser = parse_span, default_value = "24h")]
    grace: Duration,
    /// Repack packs with more than this percentage of unused bytes.
    #[arg(long, default_value_t = 20.0)]
    max_unused_percent: f64,
    /// Show what would happen without changing anything.
    #[arg(long)]
    dry_run: bool,
}

/// Parses `30d`, `12h`, `90m`, `45s` or plain seconds.
fn parse_span(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a duration like 30d or 12h"))?;
    let secs = match unit {
        "" | "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        "w" => n * 7 * 86_400,
        _ => return Err(format!("unknown unit in {s:?} (use s, m, h, d or w)")),
    };
    Ok(Duration::from_secs(secs))
}

pub async fn check(
    backend: Backend,
    master: &MasterKey,
    read_data: bool,
) -> anyhow::Result<(Value, bool)> {
    let report = maintenance::check(backend, master, read_data).await?;
    let ok = report.ok;
    if !ok {
        for p in &report.problems {
            eprintln!("problem: {}: {}", p.object, p.detail);
        }
    }
    Ok((serde_json::to_value(&report)?, ok))
}

pub async fn forget(vault: &Vault, args: &ForgetArgs) -> anyhow::Result<Value> {
    let policy = RetentionPolicy {
        keep_last: args.keep_last,
        keep_daily: args.keep_daily,
        keep_weekly: args.keep_weekly,
        keep_monthly: args.keep_monthly,
        keep_within: args
            .keep_within
            .map(chrono::Duration::from_std)
            .transpose()?,
    };
    let report = maintenance::forget(vault, &policy, args.dry_run).await?;
    Ok(serde_json::to_value(&report)?)
}

pub async fn prune(vault: &Vault, args: &PruneArgs) -> anyhow::Result<Value> {
    let options = PruneOptions {
        grace: args.grace,
        max_unused: (args.max_unused_percent / 100.0).clamp(0.0, 1.0),
        dry_run: args.dry_run,
    };
    // Chunks that record segments refer to (Salesforce file bodies) stay while the
    // segments do.
    let segments = vault.segments(SegmentOptions::default())?;
    let report = maintenance::prune(vault, &segments, options).await?;
    Ok(serde_json::to_value(&report)?)
}

pub async fn stats(vault: &Vault) -> anyhow::Result<Value> {
    let segments = vault.segments(SegmentOptions::default())?;
    let stats = maintenance::stats(vault, &segments).await?;
    Ok(serde_json::to_value(&stats)?)
}

pub async fn rebuild_catalog(backend: Backend, master: &MasterKey) -> anyhow::Result<Value> {
    let report = maintenance::rebuild_catalog(backend, master).await?;
    Ok(json!(report))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_parse() {
        assert_eq!(parse_span("30d").unwrap(), Duration::from_secs(30 * 86_400));
        assert_eq!(parse_span("0s").unwrap(), Duration::ZERO);
        assert_eq!(parse_span("90").unwrap(), Duration::from_secs(90));
        assert!(parse_span("3y").is_err());
        assert!(parse_span("h").is_err());
    }
}
