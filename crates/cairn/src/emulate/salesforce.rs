//! `cairn emulate salesforce`: serves an emulated org until interrupted and prints what
//! a client needs to connect to it.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, bail};
use cairn_emulator::salesforce::{self, Environment, Profile, SalesforceOptions};
use clap::Args;

/// `cairn emulate salesforce` arguments.
#[derive(Debug, Args)]
pub struct SalesforceArgs {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8443")]
    bind: SocketAddr,
    /// Serve HTTPS with a generated CA (written to the data dir, or a temporary dir).
    #[arg(long)]
    tls: bool,
    /// Seed of the generated org: the same seed always yields the same org.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Org size: small (~5k records), medium (~200k), large (1M+), custom (see --records).
    #[arg(long, default_value = "small")]
    profile: String,
    /// Number of records for --profile custom.
    #[arg(long)]
    records: Option<u64>,
    /// Keep the org here across restarts (saved after changes and on exit).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// The org's clock at start: an RFC 3339 date-time, or `now` (default: a fixed date, so
    /// a seed always produces the same data).
    #[arg(long)]
    epoch: Option<String>,
    /// Freeze the clock (it then only moves through the control API).
    #[arg(long)]
    frozen_clock: bool,
    /// Make the org a sandbox (logins go through the sandbox login host).
    #[arg(long)]
    sandbox: bool,
    /// Daily API request allowance.
    #[arg(long, default_value_t = 100_000)]
    daily_api_requests: u64,
    /// Allowed OAuth callback URL (repeatable; default: any http(s) URL).
    #[arg(long = "callback-url")]
    callback_urls: Vec<String>,
}

fn epoch_ms(epoch: Option<&str>) -> anyhow::Result<i64> {
    match epoch {
        None => Ok(salesforce::DEFAULT_EPOCH_MS),
        Some("now") => Ok(std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .context("the system clock is before 1970")?
            .as_millis() as i64),
        Some(s) => salesforce::clock::parse_datetime(s, true)
            .with_context(|| format!("--epoch {s}: expected an RFC 3339 date-time or `now`")),
    }
}

pub async fn run(args: SalesforceArgs) -> anyhow::Result<()> {
    let Some(profile) = Profile::parse(&args.profile, args.records) else {
        bail!(
            "--profile {}: expected small, medium, large or custom",
            args.profile
        );
    };
    if matches!(profile, Profile::Custom(0)) {
        bail!("--records must be at least 1");
    }
    let opts = SalesforceOptions {
        seed: args.seed,
        profile,
        tls: args.tls,
        data_dir: args.data_dir.clone(),
        epoch_ms: epoch_ms(args.epoch.as_deref())?,
        clock_running: !args.frozen_clock,
        sandbox: args.sandbox,
        daily_api_requests: args.daily_api_requests,
        callback_urls: args.callback_urls.clone(),
        threads: 0,
    };
    let listener = tokio::net::TcpListener::bind(args.bind)
        .await
        .with_context(|| format!("binding {}", args.bind))?;
    let sf = salesforce::start(listener, opts)
        .await
        .context("starting the Salesforce emulator")?;
    println!("listening: {}", sf.base_url());
    if let Some(pem) = sf.ca_pem() {
        let path = match sf.ca_path() {
            Some(p) => p.to_path_buf(),
            None => {
                let dir = std::env::temp_dir()
                    .join(format!("cairn-sf-emulator-{}", sf.local_addr().port()));
                std::fs::create_dir_all(&dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
                let p = dir.join(cairn_emulator::tls::CA_FILE_NAME);
                std::fs::write(&p, pem).with_context(|| format!("writing {}", p.display()))?;
                p
            }
        };
        println!("ca: {}", path.display());
    }
    let c = sf.credentials();
    println!(
        "login: {} (production)",
        sf.login_url(Environment::Production)
    );
    println!("login-sandbox: {}", sf.login_url(Environment::Sandbox));
    println!("user: {} {}", c.username, c.password);
    println!("security-token: {}", c.security_token);
    println!("client: {} {}", c.client_id, c.client_secret);
    println!("access-token: {}", c.access_token);
    println!("control: {}/__emulator", sf.base_url());
    super::interrupted().await;
    eprintln!("stopping");
    sf.shutdown().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epochs_parse_or_explain() {
        assert_eq!(epoch_ms(None).unwrap(), salesforce::DEFAULT_EPOCH_MS);
        assert_eq!(
            epoch_ms(Some("2026-03-02T09:00:00Z")).unwrap(),
            salesforce::DEFAULT_EPOCH_MS
        );
        assert!(epoch_ms(Some("now")).unwrap() > salesforce::DEFAULT_EPOCH_MS);
        let err = epoch_ms(Some("yesterday")).unwrap_err().to_string();
        assert!(err.contains("--epoch yesterday"), "{err}");
    }
}
