//! `cairn worker`: a scale-out process running only background work.
//!
//! The same as `cairn serve --role worker`: the job workers and the scheduler (sized by
//! `[jobs]` in the same configuration file), plus the health and metrics endpoints on
//! `server.bind`, against the shared PostgreSQL database and object store.

use std::path::PathBuf;

use clap::Args;

use cairn::Role;

/// `cairn worker` arguments.
#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// The configuration file (see `cairn config print-default`).
    #[arg(long)]
    config: Option<PathBuf>,
}

pub async fn run(args: WorkerArgs) -> anyhow::Result<()> {
    crate::serve::run_as(args.config.as_deref(), Role::Worker).await
}
