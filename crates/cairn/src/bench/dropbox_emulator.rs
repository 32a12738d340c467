//! `cairn bench dropbox-emulator`: the emulator's own performance, driven over loopback
//! through the public API like a backup connector would.
//!
//! 1. A 20 GiB team (seed 7): every namespace is listed with Select-Admin + Path-Root
//!    (which hashes all generated content), then the largest files are downloaded with 8
//!    concurrent streams → `download_mib_s`. Samples are verified against `content_hash`
//!    and a `Range` slice against the full bytes.
//! 2. A 100k-entry namespace (seed 11): recursive `list_folder` + `continue`, limit 2000,
//!    best of three timed passes after a warm pass → `list_entries_per_s`; the entry count
//!    is checked against the team.
//! 3. `peak_rss_mib`: the process's peak RSS (server and client) over the whole run.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use anyhow::{Context, bail};
use cairn_emulator::dropbox::content_hash::ContentHasher;
use cairn_emulator::dropbox::{DropboxOptions, RunningDropbox, start};
use clap::Args;
use futures::StreamExt;
use serde_json::{Value, json};

/// Scenario options (defaults are the figures).
#[derive(Debug, Args)]
pub struct DropboxEmulatorArgs {
    /// Size of the team served while downloading.
    #[arg(long, default_value = "20GiB", value_parser = crate::emulate::parse_size)]
    team_bytes: u64,
    /// Bytes to download across the 8 streams.
    #[arg(long, default_value = "4GiB", value_parser = crate::emulate::parse_size)]
    download_bytes: u64,
    /// Entries in the namespace listed for `list_entries_per_s` (files; folders come on top).
    #[arg(long, default_value_t = 100_000)]
    list_files: u64,
}

const STREAMS: usize = 8;

struct Client {
    http: reqwest::Client,
    api: String,
    content: String,
    token: String,
    admin: String,
}

#[derive(Debug, Clone)]
struct FileEntry {
    ns: String,
    path: String,
    size: u64,
    hash: String,
}

#[derive(serde::Deserialize)]
struct ListPage {
    entries: Vec<ListEntry>,
    cursor: String,
    has_more: bool,
}

#[derive(serde::Deserialize)]
struct ListEntry {
    #[serde(rename = ".tag")]
    tag: String,
    path_lower: String,
    #[serde(default)]
    size: u64,
    #[serde(default)]
    content_hash: Option<String>,
    #[serde(default)]
    sharing_info: Option<SharingInfo>,
}

#[derive(serde::Deserialize)]
struct SharingInfo {
    #[serde(default)]
    shared_folder_id: Option<String>,
}

impl Client {
    fn new(dropbox: &RunningDropbox) -> anyhow::Result<Self> {
        Ok(Self {
            http: reqwest::Client::builder()
                .pool_max_idle_per_host(32)
                .build()?,
            api: dropbox.api_url().to_owned(),
            content: dropbox.content_url().to_owned(),
            token: dropbox.credentials().team_token.clone(),
            admin: dropbox.credentials().admin_team_member_id.clone(),
        })
    }

    async fn rpc(&self, route: &str, ns: Option<&str>, arg: &Value) -> anyhow::Result<Value> {
        let mut req = self
            .http
            .post(format!("{}/2/{route}", self.api))
            .bearer_auth(&self.token)
            .header("Content-Type", "application/json")
            .body(arg.to_string());
        if let Some(ns) = ns {
            req = req.header("Dropbox-API-Select-Admin", &self.admin).header(
                "Dropbox-API-Path-Root",
                json!({".tag": "namespace_id", "namespace_id": ns}).to_string(),
            );
        }
        let resp = req.send().await?;
        let status = resp.status();
        let text = resp.text().await?;
        if !status.is_success() {
            bail!("{route} answered {status}: {text}");
        }
        Ok(serde_json::from_str(&text)?)
    }

    async fn namespaces(&self) -> anyhow::Result<Vec<String>> {
        let mut page = self.rpc("team/namespaces/list", None, &json!({})).await?;
        let mut out = Vec::new();
        loop {
            for ns in page["namespaces"].as_array().into_iter().flatten() {
                out.push(ns["namespace_id"].as_str().unwrap_or_default().to_owned());
            }
            if page["has_more"] != true {
                return Ok(out);
            }
            let cursor = page["cursor"].clone();
            page = self
                .rpc(
                    "team/namespaces/list/continue",
                    None,
                    &json!({ "cursor": cursor }),
                )
                .await?;
        }
    }

    /// One `list_folder`-style call, parsed into typed pages (as a connector would).
    async fn list_page(&self, route: &str, ns: &str, arg: &Value) -> anyhow::Result<ListPage> {
        let resp = self
            .http
            .post(format!("{}/2/{route}", self.api))
            .bearer_auth(&self.token)
            .header("Content-Type", "application/json")
            .header("Dropbox-API-Select-Admin", &self.admin)
            .header(
                "Dropbox-API-Path-Root",
                json!({".tag": "namespace_id", "namespace_id": ns}).to_string(),
            )
            .body(arg.to_string())
            .send()
            .await?;
        let status = resp.status();
        let bytes = resp.bytes().await?;
        if !status.is_success() {
            bail!(
                "{route} answered {status}: {}",
                String::from_utf8_lossy(&bytes)
            );
        }
        Ok(serde_json::from_slice(&bytes)?)
    }

    /// Lists a namespace recursively; returns (entry count, files). Mount points of shared
    /// and team folders are listed in member homes but are not the home's own entries, so
    /// they are not counted.
    async fn list(&self, ns: &str) -> anyhow::Result<(u64, Vec<FileEntry>)> {
        let arg =
            json!({"path": "", "recursive": true, "include_mounted_folders": false, "limit": 2000});
        let mut page = self.list_page("files/list_folder", ns, &arg).await?;
        let (mut count, mut files) = (0, Vec::new());
        loop {
            for e in page.entries {
                if e.sharing_info.and_then(|s| s.shared_folder_id).is_some() {
                    continue;
                }
                count += 1;
                if e.tag == "file" {
                    files.push(FileEntry {
                        ns: ns.to_owned(),
                        path: e.path_lower,
                        size: e.size,
                        hash: e.content_hash.unwrap_or_default(),
                    });
                }
            }
            if !page.has_more {
                return Ok((count, files));
            }
            let arg = json!({ "cursor": page.cursor });
            page = self
                .list_page("files/list_folder/continue", ns, &arg)
                .await?;
        }
    }

    fn download(&self, file: &FileEntry, range: Option<&str>) -> reqwest::RequestBuilder {
        let mut req = self
            .http
            .post(format!("{}/2/files/download", self.content))
            .bearer_auth(&self.token)
            .header("Dropbox-API-Select-Admin", &self.admin)
            .header(
                "Dropbox-API-Path-Root",
                json!({".tag": "namespace_id", "namespace_id": file.ns}).to_string(),
            )
            .header("Dropbox-API-Arg", ascii_json(&json!({ "path": file.path })));
        if let Some(r) = range {
            req = req.header("Range", r);
        }
        req
    }

    async fn download_bytes(
        &self,
        file: &FileEntry,
        range: Option<&str>,
    ) -> anyhow::Result<Vec<u8>> {
        let resp = self.download(file, range).send().await?;
        if !resp.status().is_success() {
            bail!("download of {} answered {}", file.path, resp.status());
        }
        Ok(resp.bytes().await?.to_vec())
    }
}

fn ascii_json(v: &Value) -> String {
    v.to_string()
        .chars()
        .map(|c| {
            if (c as u32) < 0x7F {
                c.to_string()
            } else {
                let mut units = [0u16; 2];
                c.encode_utf16(&mut units)
                    .iter()
                    .map(|u| format!("\\u{u:04x}"))
                    .collect()
            }
        })
        .collect()
}

async fn listen() -> anyhow::Result<tokio::net::TcpListener> {
    Ok(tokio::net::TcpListener::bind("127.0.0.1:0").await?)
}

/// Phase 1: list a 20 GiB team, then download with 8 streams.
async fn download_phase(
    args: &DropboxEmulatorArgs,
    checks: &mut Vec<String>,
) -> anyhow::Result<Value> {
    let dropbox = start(
        listen().await?,
        DropboxOptions {
            seed: 7,
            members: 40,
            team_folders: 6,
            files: 5000,
            bytes: args.team_bytes,
            dup_ratio: 0.1,
            warm_hashes: false,
            ..DropboxOptions::default()
        },
    )
    .await
    .context("starting the 20 GiB team")?;
    let client = Client::new(&dropbox)?;
    let info = dropbox.control().info();
    let listed_at = Instant::now();
    let mut files = Vec::new();
    let mut entries = 0;
    for ns in client.namespaces().await? {
        let (count, mut f) = client.list(&ns).await?;
        entries += count;
        files.append(&mut f);
    }
    let list_secs = listed_at.elapsed().as_secs_f64();
    if files.len() as u64 != info.files || entries != info.files + info.folders {
        checks.push(format!(
            "20 GiB team: listed {} files / {entries} entries, the team has {} / {}",
            files.len(),
            info.files,
            info.files + info.folders
        ));
    }
    if files.iter().any(|f| f.hash.len() != 64) {
        checks.push("a listed file has no content_hash".into());
    }
    // The largest files until the download budget is reached.
    let mut by_size = files.clone();
    by_size.sort_by(|a, b| b.size.cmp(&a.size).then(a.path.cmp(&b.path)));
    let mut planned = Vec::new();
    let mut budget = 0;
    for f in by_size {
        if budget >= args.download_bytes {
            break;
        }
        budget += f.size;
        planned.push(f);
    }
    let queue = Arc::new(queue_of(planned));
    let total = Arc::new(AtomicU64::new(0));
    let client = Arc::new(client);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..STREAMS {
        let (queue, total, client) = (queue.clone(), total.clone(), client.clone());
        tasks.push(tokio::spawn(async move {
            while let Some(file) = queue.pop() {
                let resp = client.download(&file, None).send().await?;
                if !resp.status().is_success() {
                    bail!("download answered {}", resp.status());
                }
                let mut body = resp.bytes_stream();
                let mut got = 0u64;
                while let Some(chunk) = body.next().await {
                    got += chunk?.len() as u64;
                }
                if got != file.size {
                    bail!("{} gave {got} bytes, expected {}", file.path, file.size);
                }
                total.fetch_add(got, Ordering::Relaxed);
            }
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        if let Err(e) = task.await? {
            checks.push(format!("download stream failed: {e:#}"));
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let downloaded = total.load(Ordering::Relaxed);
    verify_samples(&client, &files, checks).await?;
    let result = json!({
        "download_mib_s": (downloaded as f64 / (1 << 20) as f64 / secs * 10.0).round() / 10.0,
        "downloaded_bytes": downloaded,
        "download_streams": STREAMS,
        "team_bytes": info.bytes,
        "team_files": info.files,
        "team_list_seconds": (list_secs * 100.0).round() / 100.0,
    });
    dropbox.shutdown().await;
    Ok(result)
}

/// Downloads a few files whole, checks their `content_hash`, and a `Range` slice.
async fn verify_samples(
    client: &Client,
    files: &[FileEntry],
    checks: &mut Vec<String>,
) -> anyhow::Result<()> {
    let mut samples: Vec<&FileEntry> = Vec::new();
    for pred in [
        (|f: &&FileEntry| f.size < 4096) as fn(&&FileEntry) -> bool,
        |f| f.size > (4 << 20) && f.size < (64 << 20),
        |f| f.size >= (64 << 20),
    ] {
        if let Some(f) = files.iter().find(pred) {
            samples.push(f);
        }
    }
    for file in samples {
        let bytes = client.download_bytes(file, None).await?;
        let mut hasher = ContentHasher::new();
        hasher.update(&bytes);
        if hasher.finish_hex() != file.hash || bytes.len() as u64 != file.size {
            checks.push(format!("{}: bytes do not match content_hash", file.path));
        }
        if file.size > 5000 {
            let part = client.download_bytes(file, Some("bytes=1000-4999")).await?;
            if part != bytes[1000..5000] {
                checks.push(format!(
                    "{}: Range slice differs from the full file",
                    file.path
                ));
            }
        }
    }
    Ok(())
}

/// A tiny work queue (a mutex-guarded stack) shared by the download streams.
struct Queue(std::sync::Mutex<Vec<FileEntry>>);

impl Queue {
    fn pop(&self) -> Option<FileEntry> {
        self.0.lock().ok()?.pop()
    }
}

fn queue_of(mut files: Vec<FileEntry>) -> Queue {
    files.reverse();
    Queue(std::sync::Mutex::new(files))
}

/// Phase 2: list one 100k-entry namespace.
async fn list_phase(args: &DropboxEmulatorArgs, checks: &mut Vec<String>) -> anyhow::Result<Value> {
    let dropbox = start(
        listen().await?,
        DropboxOptions {
            seed: 11,
            members: 1,
            team_folders: 0,
            files: args.list_files,
            bytes: args.list_files * 2048,
            dup_ratio: 0.1,
            warm_hashes: false,
            ..DropboxOptions::default()
        },
    )
    .await
    .context("starting the 100k-entry team")?;
    let client = Client::new(&dropbox)?;
    let info = dropbox.control().info();
    let home = dropbox.control().members()[0].home_namespace_id.clone();
    let expected = info.files + info.folders;
    // A first pass hashes the generated content; the timed passes measure listing itself.
    let (warm_count, _) = client.list(&home).await?;
    let mut best = f64::MAX;
    for _ in 0..3 {
        let started = Instant::now();
        let (count, files) = client.list(&home).await?;
        best = best.min(started.elapsed().as_secs_f64());
        if count != expected || files.len() as u64 != info.files {
            checks.push(format!(
                "100k listing returned {count} entries, expected {expected}"
            ));
        }
    }
    if warm_count != expected {
        checks.push(format!(
            "warm listing returned {warm_count} entries, expected {expected}"
        ));
    }
    dropbox.shutdown().await;
    Ok(json!({
        "list_entries_per_s": (expected as f64 / best).round(),
        "list_entries": expected,
    }))
}

pub async fn run(args: DropboxEmulatorArgs) -> anyhow::Result<Value> {
    let mut checks = Vec::new();
    let download = download_phase(&args, &mut checks).await?;
    let list = list_phase(&args, &mut checks).await?;
    let mut report = json!({ "scenario": "dropbox-emulator" });
    for part in [download, list] {
        if let (Value::Object(into), Value::Object(from)) = (&mut report, part) {
            into.extend(from);
        }
    }
    report["peak_rss_mib"] = json!(super::peak_rss_mib().map(|m| (m * 10.0).round() / 10.0));
    report["load_average"] = json!(super::load_average());
    report["ok"] = json!(checks.is_empty());
    report["failed_checks"] = json!(checks);
    Ok(report)
}
