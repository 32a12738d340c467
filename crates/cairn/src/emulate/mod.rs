//! `cairn emulate …`: run a built-in SaaS emulator in the foreground until interrupted.

mod dropbox;
mod salesforce;

use clap::{Args, Subcommand};

/// `cairn emulate` arguments.
#[derive(Debug, Args)]
pub struct EmulateArgs {
    #[command(subcommand)]
    service: Service,
}

#[derive(Debug, Subcommand)]
enum Service {
    /// A Dropbox Business team: API v2 (api / content / notify hosts), OAuth, control API.
    Dropbox(dropbox::DropboxArgs),
    /// Emulate a Salesforce org: OAuth, REST, Bulk API 2.0, SOAP undelete, Metadata API.
    Salesforce(salesforce::SalesforceArgs),
}

pub async fn run(args: EmulateArgs) -> anyhow::Result<()> {
    match args.service {
        Service::Dropbox(args) => dropbox::run(args).await,
        Service::Salesforce(args) => salesforce::run(args).await,
    }
}

/// Waits for Ctrl-C or (on Unix) SIGTERM.
pub async fn interrupted() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Parses a byte size: `1048576`, `512KiB`, `20GiB`, `1.5GB`, `300MB`, `2T`.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a size like 1048576, 512MiB or 20GiB"))?;
    let factor: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kib" => 1024.0,
        "kb" => 1e3,
        "m" | "mib" => 1024.0 * 1024.0,
        "mb" => 1e6,
        "g" | "gib" => 1024.0 * 1024.0 * 1024.0,
        "gb" => 1e9,
        "t" | "tib" => 1024f64.powi(4),
        "tb" => 1e12,
        other => {
            return Err(format!(
                "unknown size unit {other:?} (use KiB, MiB, GiB, TiB, KB, MB, GB, TB)"
            ));
        }
    };
    let bytes = value * factor;
    if !bytes.is_finite() || !(0.0..=1e16).contains(&bytes) {
        return Err(format!("{text:?} is out of range"));
    }
    Ok(bytes.round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_units() {
        assert_eq!(parse_size("1048576"), Ok(1 << 20));
        assert_eq!(parse_size("20GiB"), Ok(20 << 30));
        assert_eq!(parse_size("1.5GB"), Ok(1_500_000_000));
        assert_eq!(parse_size("512 KiB"), Ok(512 << 10));
        assert!(parse_size("lots").is_err());
        assert!(parse_size("5 parsecs").is_err());
    }
}
