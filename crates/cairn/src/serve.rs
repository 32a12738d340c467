//! `cairn serve`: run Cairn until stopped.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;

use cairn::{Role, StartOptions};
use cairn_domain::SystemClock;

/// `cairn serve` arguments.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The configuration file (see `cairn config print-default`).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Which parts to run: everything, only the portal and API, or only background work.
    #[arg(long, value_enum, default_value_t = Role::All)]
    role: Role,
}

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    run_as(args.config.as_deref(), args.role).await
}

/// Runs Cairn in `role` with the configuration at `config` (and the environment).
pub async fn run_as(config: Option<&std::path::Path>, role: Role) -> anyhow::Result<()> {
    let config = crate::load_config(config)?;
    // The vault is unusable without the master key; refuse to start rather than fail at
    // the first backup.
    config.load_master_key()?;
    let listener = tokio::net::TcpListener::bind(config.server.bind)
        .await
        .with_context(|| format!("binding {}", config.server.bind))?;
    let options = StartOptions {
        clock: SystemClock::shared(),
        role,
        demo: false,
    };
    let app = cairn::app::start(Arc::new(config), listener, options).await?;
    tracing::info!(
        url = %app.local_url,
        public_url = %app.public_url,
        role = ?role,
        "Cairn is running"
    );
    crate::shutdown_signal().await;
    tracing::info!("stopping");
    app.shutdown().await;
    Ok(())
}
