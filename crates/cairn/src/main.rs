//! `cairn`: the one binary. Each subcommand lives in its own module; this file only parses
//! the command line, sets up logging and the runtime, and dispatches. The configuration
//! and the application wiring are in the `cairn` library (`lib.rs`), shared with the test
//! kit.

mod admin;
mod bench;
mod config_cmd;
mod demo;
mod emulate;
mod serve;
mod vault_cmd;
mod worker;

use clap::{Parser, Subcommand};

/// Cairn: self-hostable backup and recovery for Salesforce and Dropbox Business.
#[derive(Debug, Parser)]
#[command(name = "cairn", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run Cairn: portal, API and background work (or one of them with --role).
    Serve(serve::ServeArgs),
    /// Run background work only (backups, restores, maintenance, the scheduler) against
    /// the configured database: start more of these to scale out.
    Worker(worker::WorkerArgs),
    /// Try Cairn on this machine: SQLite and local storage in a data directory, a demo
    /// administrator, and a mailbox page instead of email.
    Demo(demo::DemoArgs),
    /// Operator commands: users, database, keys.
    Admin(admin::AdminArgs),
    /// Run a built-in emulator of a SaaS API (for tests, demos and benchmarks).
    Emulate(emulate::EmulateArgs),
    /// Run a benchmark scenario and print its figures.
    Bench(bench::BenchArgs),
    /// Inspect the configuration.
    Config(config_cmd::ConfigArgs),
    /// Work with a vault directly: init, put, get, ls, check, forget, prune, stats.
    Vault(vault_cmd::VaultArgs),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    init_logging();
    match run(cli) {
        Ok(code) => code,
        Err(error) => {
            // `{:#}` prints the whole context chain on one line, without a backtrace dump.
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<std::process::ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        match cli.command {
            Command::Serve(args) => serve::run(args).await,
            Command::Worker(args) => worker::run(args).await,
            Command::Demo(args) => demo::run(args).await,
            Command::Admin(args) => admin::run(args).await,
            Command::Emulate(args) => emulate::run(args).await,
            Command::Bench(args) => bench::run(args).await,
            Command::Config(args) => config_cmd::run(args),
            // `check` reports problems through its exit status.
            Command::Vault(args) => return vault_cmd::run(args).await,
        }
        .map(|()| std::process::ExitCode::SUCCESS)
    })
}

/// Logs go to stderr so that machine-readable stdout (`--json`, `portal:` lines) stays clean.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("CAIRN_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    use std::io::IsTerminal;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colour codes only for people; log files and collectors get plain text.
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

/// Loads the configuration from `--config` (if given) and the process environment.
fn load_config(path: Option<&std::path::Path>) -> anyhow::Result<cairn::Config> {
    Ok(cairn::Config::load(path, std::env::vars())?)
}

/// Resolves when the process is asked to stop (Ctrl-C or SIGTERM).
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
