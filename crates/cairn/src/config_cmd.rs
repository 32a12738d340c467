//! `cairn config …`: show the configuration.

use std::path::PathBuf;

use clap::{Args, Subcommand};

/// `cairn config` arguments.
#[derive(Debug, Args)]
pub struct ConfigArgs {
    #[command(subcommand)]
    command: ConfigCommand,
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Print the default configuration file, with comments, to stdout.
    PrintDefault,
    /// Load the configuration (file + CAIRN_* environment), check it, and print the
    /// result with secrets redacted.
    Check {
        /// The configuration file.
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

pub fn run(args: ConfigArgs) -> anyhow::Result<()> {
    match args.command {
        ConfigCommand::PrintDefault => {
            print!("{}", cairn::config::default_file());
        }
        ConfigCommand::Check { config } => {
            let config = crate::load_config(config.as_deref())?;
            print!("{}", toml::to_string(&config)?);
            eprintln!("configuration is valid");
        }
    }
    Ok(())
}
