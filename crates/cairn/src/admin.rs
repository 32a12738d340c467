//! `cairn admin …`: operator commands.

use std::io::BufRead;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Args, Subcommand};

use cairn_domain::SystemClock;
use cairn_meta::copy::copy_database;
use cairn_meta::{ConnectOptions, MetaStore, redact_url};
use cairn_web::AppState;
use cairn_web::auth::{FormFailure, NewUserInput};

/// `cairn admin` arguments.
#[derive(Debug, Args)]
pub struct AdminArgs {
    #[command(subcommand)]
    command: AdminCommand,
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Create an account with its first (primary) user, active at once, without email.
    CreateUser(CreateUserArgs),
    /// Database commands.
    #[command(subcommand)]
    Db(DbCommand),
    /// Manage the operator master key that wraps every account's vault key.
    #[command(subcommand)]
    MasterKey(MasterKeyCommand),
}

#[derive(Debug, Args)]
struct CreateUserArgs {
    /// The configuration file (for the database and the password rules).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Sign-in email address.
    #[arg(long)]
    email: String,
    /// The person's full name.
    #[arg(long)]
    name: String,
    /// The account's name (defaults to the person's name).
    #[arg(long)]
    account_name: Option<String>,
    /// Region code (defaults to the first configured region).
    #[arg(long)]
    region: Option<String>,
    /// Read the password from the first line of stdin instead of generating one.
    #[arg(long)]
    password_stdin: bool,
}

#[derive(Debug, Subcommand)]
enum DbCommand {
    /// Copy every table of one meta store into another, empty one (e.g. SQLite to
    /// PostgreSQL when scaling out). Stop Cairn first. Row counts are verified.
    Copy {
        /// Source database URL (`sqlite://…` or `postgres://…`).
        #[arg(long)]
        from: String,
        /// Target database URL; it is migrated first and must hold no rows.
        #[arg(long)]
        to: String,
    },
}

#[derive(Debug, Subcommand)]
enum MasterKeyCommand {
    /// Generate a new random master key and write it to a file readable only by its owner.
    Generate {
        /// Where to write the key (64 hex digits). Refuses to overwrite an existing file.
        #[arg(long)]
        out: PathBuf,
    },
}

pub async fn run(args: AdminArgs) -> anyhow::Result<()> {
    match args.command {
        AdminCommand::CreateUser(args) => create_user(args).await,
        AdminCommand::Db(DbCommand::Copy { from, to }) => db_copy(&from, &to).await,
        AdminCommand::MasterKey(MasterKeyCommand::Generate { out }) => {
            write_new_master_key(&out)?;
            eprintln!(
                "master key written to {} (keep a copy: without it no backup can be read)",
                out.display()
            );
            Ok(())
        }
    }
}

async fn create_user(args: CreateUserArgs) -> anyhow::Result<()> {
    let config = crate::load_config(args.config.as_deref())?;
    let (password, generated) = if args.password_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("reading the password")?;
        (line.trim_end_matches(['\r', '\n']).to_owned(), false)
    } else {
        (crate::demo::generate_password(), true)
    };
    let store = cairn::app::open_store(&config).await?;
    let settings = cairn::app::web_settings(&config, config.server.bind, false)?;
    let mailer = cairn::app::build_mailer(&config, false)?;
    let state = AppState::new(
        settings,
        store.clone(),
        mailer,
        SystemClock::shared(),
        cairn_web::tasks::Connectors::default(),
    )
    .await?;
    let input = NewUserInput {
        email: args.email,
        name: args.name,
        account_name: args.account_name,
        region: args.region,
        password: password.clone(),
    };
    let result = state
        .auth()
        .create_user(&input, "cairn admin create-user")
        .await;
    store.close().await;
    let user = match result {
        Ok(user) => user,
        Err(FormFailure::Invalid(errors)) => {
            let messages: Vec<String> = errors
                .fields
                .iter()
                .map(|(field, messages)| {
                    format!("--{}: {}", field.replace('_', "-"), messages.join(" "))
                })
                .collect();
            bail!("{}", messages.join("; "));
        }
        Err(FormFailure::Failed(error)) => return Err(error.into()),
    };
    println!(
        "created user {} ({}) in account {}",
        user.email, user.id, user.account_id
    );
    if generated {
        println!("password: {password}");
    }
    Ok(())
}

async fn db_copy(from: &str, to: &str) -> anyhow::Result<()> {
    let options = ConnectOptions::default();
    let source = MetaStore::connect(from, &options)
        .await
        .with_context(|| format!("opening the source {}", redact_url(from)))?;
    let target = MetaStore::connect(to, &options)
        .await
        .with_context(|| format!("opening the target {}", redact_url(to)))?;
    let result = copy_database(&source, &target, |table| {
        eprintln!("copied {:>8} rows of {}", table.rows, table.table);
    })
    .await;
    source.close().await;
    target.close().await;
    let report = result?;
    let rows: u64 = report.tables.iter().map(|t| t.rows).sum();
    println!(
        "copied {} tables, {rows} rows, schema version {}, from {} to {}; row counts verified",
        report.tables.len(),
        report.schema_version,
        redact_url(from),
        redact_url(to)
    );
    Ok(())
}

/// Writes a new random master key to `out` (mode 0600), refusing to overwrite.
pub fn write_new_master_key(out: &Path) -> anyhow::Result<()> {
    use std::io::Write;
    if out.exists() {
        bail!(
            "{} already exists; refusing to overwrite a master key",
            out.display()
        );
    }
    let key = cairn_vault::crypto::MasterKey::generate();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(out)
        .with_context(|| format!("creating {}", out.display()))?;
    writeln!(file, "{}", key.to_hex()).with_context(|| format!("writing {}", out.display()))?;
    file.sync_all()?;
    Ok(())
}
