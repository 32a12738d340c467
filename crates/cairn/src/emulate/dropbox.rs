//! `cairn emulate dropbox`: a Dropbox Business team emulator in the foreground.
//!
//! Prints, one per line on stdout: `api:`, `content:`, `notify:` base URLs, `ca:` (with
//! `--tls`), `client: <key> <secret>`, `user: <email> <password>`,
//! `access-token: <token>`, `team:` and `control:`. Runs until Ctrl-C / SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use cairn_emulator::dropbox::{DropboxOptions, Listeners, RateLimit, start};
use clap::Args;
use tokio::net::TcpListener;

/// `cairn emulate dropbox` arguments.
#[derive(Debug, Args)]
pub struct DropboxArgs {
    /// Address to listen on (all hosts on one port unless --content-bind/--notify-bind).
    #[arg(long, default_value = "127.0.0.1:8443")]
    bind: SocketAddr,
    /// Serve the content host (upload/download) on its own address.
    #[arg(long, requires = "notify_bind")]
    content_bind: Option<SocketAddr>,
    /// Serve the notify host (long-poll) on its own address.
    #[arg(long, requires = "content_bind")]
    notify_bind: Option<SocketAddr>,
    /// Serve HTTPS with a generated CA (its PEM path is printed as `ca:`).
    #[arg(long)]
    tls: bool,
    /// Seed: the same seed always generates the same team and bytes.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Number of members (the first is the team admin).
    #[arg(long, default_value_t = 12)]
    members: u32,
    /// Number of team folders.
    #[arg(long, default_value_t = 4)]
    team_folders: u32,
    /// Number of live files.
    #[arg(long, default_value_t = 2000)]
    files: u64,
    /// Approximate total size of the live files (e.g. 1GiB, 20GiB, 500MB).
    #[arg(long, default_value = "1GiB", value_parser = super::parse_size)]
    bytes: u64,
    /// Share of files duplicating another file's content, 0 to 1.
    #[arg(long, default_value_t = 0.1)]
    dup_ratio: f64,
    /// Keep changes, uploads and tokens here across restarts.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Lifetime of short-lived access tokens, in seconds.
    #[arg(long, default_value_t = 14_400)]
    token_ttl: u64,
    /// Per-member request-rate limit, requests per second (burst = 2 seconds' worth).
    #[arg(long)]
    rate_limit: Option<f64>,
    /// Monthly data-transport call limit (upload routes).
    #[arg(long)]
    transport_limit: Option<u64>,
    /// Do not hash generated content in the background at start.
    #[arg(long)]
    no_warm_hashes: bool,
}

async fn bind(addr: SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {addr}"))
}

pub async fn run(args: DropboxArgs) -> anyhow::Result<()> {
    let listeners = match (args.content_bind, args.notify_bind) {
        (Some(content), Some(notify)) => Listeners::Split {
            api: bind(args.bind).await?,
            content: bind(content).await?,
            notify: bind(notify).await?,
        },
        _ => Listeners::Single(bind(args.bind).await?),
    };
    let rate_limit = match args.rate_limit {
        Some(rps) if rps > 0.0 && rps.is_finite() => Some(RateLimit {
            requests_per_second: rps,
            burst: (rps * 2.0).ceil().max(1.0) as u32,
        }),
        Some(_) => anyhow::bail!("--rate-limit must be a positive number of requests per second"),
        None => None,
    };
    let opts = DropboxOptions {
        seed: args.seed,
        members: args.members,
        team_folders: args.team_folders,
        files: args.files,
        bytes: args.bytes,
        dup_ratio: args.dup_ratio,
        tls: args.tls,
        data_dir: args.data_dir,
        access_token_ttl: args.token_ttl,
        warm_hashes: !args.no_warm_hashes,
        max_longpoll_wait: None::<Duration>,
        rate_limit,
        transport_limit: args.transport_limit,
    };
    let dropbox = start(listeners, opts)
        .await
        .context("starting the Dropbox emulator")?;
    let info = dropbox.control().info();
    let creds = dropbox.credentials();
    println!("api: {}", dropbox.api_url());
    println!("content: {}", dropbox.content_url());
    println!("notify: {}", dropbox.notify_url());
    if let Some(ca) = dropbox.ca_path() {
        println!("ca: {}", ca.display());
    }
    println!("client: {} {}", creds.app_key, creds.app_secret);
    println!("user: {} {}", creds.admin_email, creds.admin_password);
    println!("access-token: {}", creds.team_token);
    println!(
        "team: {} ({}), {} members, {} files, {} bytes",
        info.team_name, info.team_id, info.members, info.files, info.bytes
    );
    println!("control: {}/__emulator/info", dropbox.api_url());
    tracing::info!("Dropbox emulator running; press Ctrl-C to stop");
    super::interrupted().await;
    dropbox.shutdown().await;
    eprintln!("Dropbox emulator stopped");
    Ok(())
}
