//! `cairn bench vault-records`: record segments in a local-directory vault.
//!
//! Figures (issue 5): `records_write_per_s` (1M records of about 1 KB JSON, generated
//! deterministically and pushed in scrambled key order, written as segments; generation is
//! inside the timing), `diff_1m_s` (two 1M-record states, 1% changed, merge-join on key and
//! row hash), `lookup_ms` (one key held only by the base of a 1M-record entity with 30
//! delta segments, median of several keys; `lookup_max_ms` is the slowest) and
//! `records_peak_rss_mib`. `ok` requires every correctness check to pass; `targets_met`
//! says whether the issue's thresholds were met.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, ensure};
use cairn_vault::crypto::DataKey;
use cairn_vault::segments::{Change, RecordVersion, SegmentOptions, SegmentRef, SegmentStore};
use clap::Args;
use object_store::ObjectStore;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use serde_json::{Map, Value, json};

/// Scenario options (defaults are the issue's figures).
#[derive(Debug, Clone, Args)]
pub struct RecordsBenchOptions {
    /// Records in the entity.
    #[arg(long, default_value_t = 1_000_000)]
    pub records: u64,
    /// Delta segments on top of the base for the lookup figure.
    #[arg(long, default_value_t = 30)]
    pub deltas: usize,
    /// Share of records changed by each delta, in percent.
    #[arg(long, default_value_t = 1.0)]
    pub changed_percent: f64,
}

impl Default for RecordsBenchOptions {
    fn default() -> Self {
        Self {
            records: 1_000_000,
            deltas: 30,
            changed_percent: 1.0,
        }
    }
}

const WORDS: &[&str] = &[
    "account",
    "renewal",
    "pipeline",
    "quarterly",
    "enterprise",
    "contract",
    "support",
    "escalation",
    "migration",
    "onboarding",
    "invoice",
    "discount",
    "partner",
    "region",
    "north",
    "south",
    "east",
    "west",
    "priority",
    "customer",
    "meeting",
    "follow-up",
    "proposal",
    "signed",
    "pending",
    "review",
    "legal",
    "security",
    "integration",
    "api",
    "dashboard",
    "report",
    "forecast",
    "upsell",
    "churn",
    "risk",
    "champion",
    "budget",
];
const INDUSTRIES: &[&str] = &[
    "Banking",
    "Retail",
    "Energy",
    "Healthcare",
    "Manufacturing",
    "Media",
    "Telecom",
];

fn xorshift(mut x: u64) -> u64 {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    x
}

/// A pool of phrases; records concatenate a few, so generation is copying, not hashing.
fn phrase_pool() -> Vec<String> {
    let mut x = 0x2545_F491_4F6C_DD1D_u64;
    (0..1024)
        .map(|_| {
            let mut p = String::with_capacity(160);
            while p.len() < 140 {
                x = xorshift(x);
                p.push_str(WORDS[(x % WORDS.len() as u64) as usize]);
                p.push(' ');
            }
            p
        })
        .collect()
}

fn key_of(i: u64) -> String {
    format!("001{i:015X}")
}

/// The record of item `i` at `version`: about 1 KB of JSON.
fn record(pool: &[String], i: u64, version: i64) -> RecordVersion {
    let mut x = xorshift(i.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ version as u64 | 1);
    let key = key_of(i);
    let mut desc = String::with_capacity(900);
    for _ in 0..6 {
        x = xorshift(x);
        desc.push_str(&pool[(x % pool.len() as u64) as usize]);
    }
    let industry = INDUSTRIES[(x % INDUSTRIES.len() as u64) as usize];
    let record = format!(
        concat!(
            r#"{{"Id":"{key}","Name":"Account {i}","Industry":"{industry}","#,
            r#""AnnualRevenue":{rev},"NumberOfEmployees":{emp},"Phone":"+1 555 {phone:07}","#,
            r#""BillingCity":"City {city}","Rating":"{rating}","Version":{version},"#,
            r#""Description":"{desc}"}}"#
        ),
        key = key,
        i = i,
        industry = industry,
        rev = (x >> 20) % 100_000_000,
        emp = (x >> 7) % 50_000,
        phone = i % 10_000_000,
        city = (x >> 30) % 5000,
        rating = ["Hot", "Warm", "Cold"][(x % 3) as usize],
        version = version,
        desc = desc,
    );
    RecordVersion {
        key,
        version,
        deleted: false,
        modstamp: 1_767_225_600_000 + version * 86_400_000 + (i % 86_400) as i64,
        created_by: format!("005{:015}", i % 50),
        modified_by: format!("005{:015}", (i + version as u64) % 50),
        record,
        chunks: Vec::new(),
    }
}

/// Item indexes changed by delta `d`: a deterministic, scrambled selection.
fn delta_items(records: u64, count: u64, d: u64) -> Vec<u64> {
    let mut x = 0xD1B5_4A32_D192_ED03_u64 ^ (d + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let mut seen = HashSet::with_capacity(count as usize);
    while (seen.len() as u64) < count {
        x = xorshift(x);
        seen.insert(x % records);
    }
    let mut v: Vec<u64> = seen.into_iter().collect();
    v.sort_unstable();
    v
}

async fn write_all(
    segs: &SegmentStore,
    items: impl Iterator<Item = RecordVersion>,
) -> anyhow::Result<Vec<SegmentRef>> {
    let mut w = segs.writer();
    for v in items {
        w.push(v).await?;
    }
    Ok(w.finish().await?)
}

/// Runs the scenario and returns its figures.
///
/// # Errors
/// Setup, store or segment errors.
pub async fn run(opts: &RecordsBenchOptions) -> anyhow::Result<Map<String, Value>> {
    let dir = tempfile::tempdir().context("temp dir for the bench vault")?;
    let store: Arc<dyn ObjectStore> = Arc::new(LocalFileSystem::new_with_prefix(dir.path())?);
    let segs = SegmentStore::new(
        store,
        Path::from("vault"),
        &DataKey::generate(),
        SegmentOptions::default(),
    )?;
    let pool = phrase_pool();
    let n = opts.records.max(1);
    let mut checks: Vec<String> = Vec::new();

    // Write: the full entity, pushed in a scrambled order (a bijection on 0..n).
    let stride = (1..)
        .map(|s: u64| 7919 * s)
        .find(|s| gcd(*s, n) == 1)
        .unwrap_or(1);
    let started = Instant::now();
    let base = write_all(&segs, (0..n).map(|j| record(&pool, (j * stride) % n, 0))).await?;
    let write_s = started.elapsed().as_secs_f64();
    let base_rows: u64 = base.iter().map(|s| s.rows).sum();
    let stored: u64 = base.iter().map(|s| s.stored_bytes).sum();
    if base_rows != n {
        checks.push(format!("base has {base_rows} rows, expected {n}"));
    }

    // Deltas: each changes `changed_percent` of the records.
    let per_delta = ((n as f64 * opts.changed_percent / 100.0).round() as u64).clamp(1, n);
    let mut list = base.clone();
    let mut in_deltas: HashSet<u64> = HashSet::new();
    for d in 0..opts.deltas.max(1) as u64 {
        let items = delta_items(n, per_delta, d);
        in_deltas.extend(items.iter().copied());
        let delta = write_all(&segs, items.iter().map(|&i| record(&pool, i, d as i64 + 1))).await?;
        list.extend(delta);
    }

    // Diff: the base against base + first delta.
    let first_delta_segments = list.len() - base.len();
    let with_one: Vec<SegmentRef> = list[..base.len() + first_delta_segments.min(1)].to_vec();
    let started = Instant::now();
    let mut diff = segs.diff(&base, &with_one).await?;
    let mut changed = 0u64;
    let mut other = 0u64;
    while let Some(e) = diff.next().await? {
        if e.change == Change::Changed {
            changed += 1;
        } else {
            other += 1;
        }
    }
    let diff_s = started.elapsed().as_secs_f64();
    if changed != per_delta || other != 0 {
        checks.push(format!(
            "diff found {changed} changed and {other} other keys, expected {per_delta} changed"
        ));
    }

    // Lookup: keys only the base holds, so every delta segment is probed.
    let mut lookups_ms = Vec::new();
    let mut x = 0x5851_F42D_4C95_7F2D_u64;
    while lookups_ms.len() < 7 {
        x = xorshift(x);
        let i = x % n;
        if in_deltas.contains(&i) {
            continue;
        }
        let key = key_of(i);
        let started = Instant::now();
        let row = segs.lookup(&list, &key).await?;
        lookups_ms.push(started.elapsed().as_secs_f64() * 1000.0);
        let expected = record(&pool, i, 0);
        match row {
            Some(r) if r.record == expected.record && r.version == 0 => {}
            other => checks.push(format!("lookup of {key} returned {other:?}")),
        }
    }
    // And one key changed by the newest delta reads its newest version.
    let last = opts.deltas.max(1) as u64 - 1;
    let newest = delta_items(n, per_delta, last)[0];
    let row = segs.lookup(&list, &key_of(newest)).await?;
    ensure!(
        row.is_some_and(|r| r.version == last as i64 + 1),
        "lookup of a key in the newest delta did not return its newest version"
    );
    lookups_ms.sort_by(f64::total_cmp);
    let lookup_ms = lookups_ms[lookups_ms.len() / 2];
    let lookup_max_ms = lookups_ms[lookups_ms.len() - 1];

    let write_per_s = n as f64 / write_s;
    let peak = super::peak_rss_mib();
    let round = |v: f64, d: f64| (v * d).round() / d;
    let targets_met = write_per_s >= 300_000.0 && diff_s <= 1.0 && lookup_ms <= 50.0;
    let mut m = Map::new();
    m.insert("scenario".into(), json!("vault-records"));
    m.insert("records".into(), json!(n));
    m.insert("records_write_per_s".into(), json!(write_per_s.round()));
    m.insert("records_write_s".into(), json!(round(write_s, 1000.0)));
    m.insert("records_stored_bytes".into(), json!(stored));
    m.insert(
        "records_stored_bytes_per_record".into(),
        json!(round(stored as f64 / n as f64, 10.0)),
    );
    m.insert("records_base_segments".into(), json!(base.len()));
    m.insert("diff_1m_s".into(), json!(round(diff_s, 1000.0)));
    m.insert("diff_changed".into(), json!(changed));
    m.insert("lookup_ms".into(), json!(round(lookup_ms, 100.0)));
    m.insert("lookup_max_ms".into(), json!(round(lookup_max_ms, 100.0)));
    m.insert("lookup_segments".into(), json!(list.len()));
    m.insert(
        "records_peak_rss_mib".into(),
        json!(peak.map(|p| round(p, 10.0))),
    );
    m.insert("load_average".into(), json!(super::load_average()));
    m.insert("targets_met".into(), json!(targets_met));
    m.insert("ok".into(), json!(checks.is_empty()));
    m.insert("failed_checks".into(), json!(checks));
    Ok(m)
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { gcd(b, a % b) }
}
