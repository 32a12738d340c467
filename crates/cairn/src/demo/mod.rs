//! `cairn demo`: Cairn on one machine with nothing to configure.
//!
//! Start-up is a fixed sequence of steps, each its own function:
//! 1. prepare the data directory and the master key;
//! 2. start the built-in Salesforce org and Dropbox team ([`emulators`]) and point the
//!    connectors at them;
//! 3. start the application (SQLite and local vault in the data directory, mail to the
//!    outbox, shown at `/dev/mailbox`);
//! 4. make sure the demo administrator exists with the password kept in the data directory;
//! 5. print `portal: <URL>` and `admin: <email> <password>` on stdout, then one line per
//!    emulator with the user to sign in with on its consent page;
//! 6. run until Ctrl-C or SIGTERM.

mod emulators;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::Args;
use rand::Rng;

use cairn::{Config, Role, RunningApp, StartOptions};
use cairn_domain::{EmailAddress, SystemClock, UserStatus};
use cairn_web::auth::{FormFailure, NewUserInput};

/// The demo administrator's sign-in address.
const ADMIN_EMAIL: &str = "admin@example.com";
/// The file in the data directory holding the demo administrator's password.
const ADMIN_PASSWORD_FILE: &str = "demo-admin-password";

/// `cairn demo` arguments.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Address and port for the portal (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8080")]
    bind: SocketAddr,
    /// Directory for the database, vault, master key and mail outbox (created if missing).
    #[arg(long, default_value = "./cairn-data")]
    data_dir: PathBuf,
}

pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    let mut config = demo_config(&args);
    prepare_data_dir(&config)?;
    // Bind first: the emulators take the ports after the portal's.
    let listener = tokio::net::TcpListener::bind(config.server.bind)
        .await
        .with_context(|| format!("binding {}", config.server.bind))?;
    let portal_addr = listener.local_addr()?;
    let emulators = emulators::DemoEmulators::start(&config.data_dir, portal_addr).await?;
    emulators.configure(&mut config);
    let app = match start_app(config.clone(), listener).await {
        Ok(app) => app,
        Err(error) => {
            emulators.shutdown().await;
            return Err(error);
        }
    };
    let announced = match ensure_admin(&app, &config.data_dir).await {
        Ok(password) => announce(&app, &password, &emulators.announcement()),
        Err(error) => Err(error),
    };
    if let Err(error) = announced {
        app.shutdown().await;
        emulators.shutdown().await;
        return Err(error);
    }
    tracing::info!(data_dir = %config.data_dir.display(), "Cairn demo is running; stop it with Ctrl-C");
    crate::shutdown_signal().await;
    tracing::info!("stopping");
    app.shutdown().await;
    emulators.shutdown().await;
    Ok(())
}

/// The demo's configuration: defaults, the two flags, nothing from files or the
/// environment, so a demo always runs on SQLite and local storage.
fn demo_config(args: &DemoArgs) -> Config {
    let mut config = Config::default();
    config.data_dir.clone_from(&args.data_dir);
    config.server.bind = args.bind;
    config
}

/// Step 1: the data directory and a master key.
fn prepare_data_dir(config: &Config) -> anyhow::Result<()> {
    // The directory holds the master key and password hashes: owner only.
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(&config.data_dir)
        .with_context(|| format!("creating {}", config.data_dir.display()))?;
    let key_file = config.master_key_file();
    if !key_file.exists() {
        crate::admin::write_new_master_key(&key_file)?;
    }
    config.load_master_key()?;
    Ok(())
}

/// Step 3: the application itself, on the portal's listener.
async fn start_app(
    config: Config,
    listener: tokio::net::TcpListener,
) -> anyhow::Result<RunningApp> {
    let options = StartOptions {
        clock: SystemClock::shared(),
        role: Role::All,
        demo: true,
    };
    Ok(cairn::app::start(Arc::new(config), listener, options).await?)
}

/// Step 4: the demo administrator, with the password stored in the data directory
/// (created on the first run, reused afterwards). Returns the password.
async fn ensure_admin(app: &RunningApp, data_dir: &Path) -> anyhow::Result<String> {
    let password_file = data_dir.join(ADMIN_PASSWORD_FILE);
    let password = match std::fs::read_to_string(&password_file) {
        Ok(text) if !text.trim().is_empty() => text.trim().to_owned(),
        _ => {
            let password = generate_password();
            write_private(&password_file, &format!("{password}\n"))?;
            password
        }
    };
    let auth = app.state.auth();
    let email = EmailAddress::parse(ADMIN_EMAIL).context("demo admin address")?;
    let existing = app
        .state
        .store()
        .directory()
        .find_user_by_email(&email)
        .await?;
    match existing {
        None => {
            let input = NewUserInput {
                email: ADMIN_EMAIL.to_owned(),
                name: "Demo Administrator".to_owned(),
                account_name: Some("Demo Company".to_owned()),
                region: None,
                password: password.clone(),
            };
            auth.create_user(&input, "cairn demo")
                .await
                .map_err(form_failure)?;
        }
        Some(record) => {
            let matches = app
                .state
                .passwords()
                .verify(&password, record.password_hash.as_deref())
                .await?;
            if !matches {
                auth.set_password_as_operator(&record.user, &password)
                    .await
                    .map_err(form_failure)?;
            }
            if record.user.status != UserStatus::Active {
                let now = app.state.clock().now();
                app.state
                    .store()
                    .account(record.user.account_id)
                    .users()
                    .set_status(record.user.id, UserStatus::Active, now)
                    .await?;
            }
        }
    }
    Ok(password)
}

fn form_failure(failure: FormFailure) -> anyhow::Error {
    match failure {
        FormFailure::Invalid(errors) => {
            let messages: Vec<String> = errors
                .fields
                .iter()
                .map(|(field, messages)| format!("{field}: {}", messages.join(" ")))
                .collect();
            anyhow::anyhow!(
                "the demo administrator was refused: {}",
                messages.join("; ")
            )
        }
        FormFailure::Failed(error) => anyhow::Error::new(error),
    }
}

/// Step 5: the lines scripts and people read.
fn announce(app: &RunningApp, password: &str, emulators: &[String]) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    writeln!(out, "portal: {}", app.local_url)?;
    writeln!(out, "admin: {ADMIN_EMAIL} {password}")?;
    for line in emulators {
        writeln!(out, "{line}")?;
    }
    out.flush()?;
    Ok(())
}

/// A password that satisfies the default policy: three groups of an uppercase letter,
/// two lowercase letters and a digit, joined by hyphens (`Kqm7-Xpr2-Tzw9`).
pub fn generate_password() -> String {
    const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
    const LOWER: &[u8] = b"abcdefghijkmnpqrstuvwxyz";
    const DIGIT: &[u8] = b"23456789";
    let mut rng = rand::rng();
    let mut pick = |set: &[u8]| char::from(set[rng.random_range(0..set.len())]);
    (0..3)
        .map(|_| {
            [pick(UPPER), pick(LOWER), pick(LOWER), pick(DIGIT)]
                .iter()
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("-")
}

fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(text.as_bytes())
        .with_context(|| format!("writing {}", path.display()))?;
    if text.is_empty() {
        bail!("refusing to write an empty password file");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_passwords_meet_the_default_policy() {
        let policy = cairn_domain::password::PasswordPolicy::default();
        for _ in 0..50 {
            let password = generate_password();
            assert_eq!(password.len(), 14, "{password}");
            assert!(
                policy.check(&password, Some(ADMIN_EMAIL)).is_empty(),
                "{password}"
            );
        }
    }
}
