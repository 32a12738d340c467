//! Measures the connector against the in-process emulator and prints one JSON object:
//! discovery time, full-listing entries/s (cold: the emulator hashes content on demand;
//! warm: a second pass), and verified download MiB/s of every distinct content (deduped
//! by `content_hash`, as a backup does), across members in parallel.
//!
//! ```text
//! cargo run --release -p cairn-dropbox --example throughput -- [members] [files] [MiB] [tls]
//! ```
//! Defaults: 20 members, 20000 files, 2048 MiB, plain HTTP (`tls` as 4th argument for
//! HTTPS). A development tool: benchmarks proper are `cairn bench` scenarios.

use std::collections::HashSet;
use std::time::Instant;

use anyhow::Context;
use cairn_dropbox::{
    Change, DropboxApp, DropboxConfig, Entity, FileEntry, Secret, TeamClient, TokenSet,
};
use cairn_emulator::dropbox::{DropboxOptions, start};
use futures::{StreamExt, TryStreamExt};
use url::Url;

fn arg(n: usize, default: u64) -> u64 {
    std::env::args()
        .nth(n)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

async fn list_all(
    client: &TeamClient,
    entities: &[Entity],
) -> anyhow::Result<Vec<(Entity, Vec<Change>)>> {
    futures::stream::iter(entities.iter().cloned())
        .map(|entity| async move {
            let pages: Vec<_> = client.list_changes(&entity, None).try_collect().await?;
            let changes = pages.into_iter().flat_map(|p| p.changes).collect();
            Ok::<_, cairn_dropbox::DropboxError>((entity, changes))
        })
        .buffer_unordered(8)
        .try_collect()
        .await
        .context("listing")
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let members = u32::try_from(arg(1, 20))?;
    let files = arg(2, 20_000);
    let mib = arg(3, 2048);
    let tls = std::env::args().nth(4).as_deref() == Some("tls");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let dropbox = start(
        listener,
        DropboxOptions {
            seed: 42,
            members,
            team_folders: 4,
            files,
            bytes: mib << 20,
            dup_ratio: 0.25,
            tls,
            warm_hashes: false,
            ..DropboxOptions::default()
        },
    )
    .await?;
    let creds = dropbox.credentials();
    let mut config = DropboxConfig::new(
        creds.app_key.clone(),
        Some(Secret::new(creds.app_secret.clone())),
    );
    config.api_url = Url::parse(dropbox.api_url())?;
    config.content_url = Url::parse(dropbox.content_url())?;
    config.notify_url = Url::parse(dropbox.notify_url())?;
    config.ca_pem = dropbox.ca_pem().map(str::to_owned);
    config.max_concurrency_per_member = 4;
    let app = DropboxApp::new(config)?;
    let client = app
        .team(TokenSet {
            access_token: Secret::new(creds.team_token.clone()),
            refresh_token: None,
            expires_at: None,
            team_id: None,
            account_id: None,
            scopes: vec![],
        })
        .build();

    let t = Instant::now();
    let discovery = client.discover().await?;
    let discover_s = t.elapsed().as_secs_f64();
    let entities: Vec<Entity> = discovery
        .entities
        .into_iter()
        .filter(Entity::has_content)
        .collect();

    let t = Instant::now();
    let listed = list_all(&client, &entities).await?;
    let list_cold_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let listed_again = list_all(&client, &entities).await?;
    let list_warm_s = t.elapsed().as_secs_f64();
    let entries: usize = listed.iter().map(|(_, c)| c.len()).sum();
    let entries_again: usize = listed_again.iter().map(|(_, c)| c.len()).sum();

    // One download per distinct content, as a backup with content dedup would do.
    let mut seen = HashSet::new();
    let mut work: Vec<(Entity, FileEntry)> = Vec::new();
    for (entity, changes) in &listed {
        for change in changes {
            if let Change::File(f) = change
                && f.content_hash.is_none_or(|h| seen.insert(h))
            {
                work.push((entity.clone(), f.clone()));
            }
        }
    }
    // Interleave members so parallel streams spread across them.
    work.sort_by_key(|(e, f)| (f.id.len() % 7, e.id.clone()));
    let unique_bytes: u64 = work.iter().map(|(_, f)| f.size).sum();
    let t = Instant::now();
    let downloaded: u64 = futures::stream::iter(work.iter().cloned())
        .map(|(entity, file)| {
            let client = client.clone();
            async move {
                let mut n = 0u64;
                let mut stream = client.download(&entity, &file);
                while let Some(chunk) = stream.next().await {
                    n += chunk?.len() as u64;
                }
                Ok::<_, cairn_dropbox::DropboxError>(n)
            }
        })
        .buffer_unordered(32)
        .try_fold(0u64, |acc, n| async move { Ok(acc + n) })
        .await?;
    let download_s = t.elapsed().as_secs_f64();

    let dump = dropbox.control().dump().await.len();
    let stats = client.stats();
    let mib_total = downloaded as f64 / f64::from(1u32 << 20);
    // Mount points belong to the mounted folder's own entity; everything else is one dump row.
    let own_entries = listed
        .iter()
        .flat_map(|(_, c)| c)
        .filter(|c| !matches!(c, Change::Folder(f) if f.shared_folder_id.is_some()))
        .count();
    let ok = downloaded == unique_bytes && entries == entries_again && own_entries == dump;
    let out = serde_json::json!({
        "ok": ok,
        "tls": tls,
        "members": members,
        "entities": entities.len(),
        "listed_entries": entries,
        "dump_entries": dump,
        "discover_s": discover_s,
        "list_cold_entries_per_s": entries as f64 / list_cold_s,
        "list_warm_entries_per_s": entries as f64 / list_warm_s,
        "unique_files": work.len(),
        "downloaded_mib": mib_total,
        "download_mib_s": mib_total / download_s,
        "requests": stats.requests,
        "rate_limited": stats.rate_limited,
        "retries": stats.server_retries + stats.transport_retries,
    });
    println!("{out}");
    dropbox.shutdown().await;
    Ok(())
}
