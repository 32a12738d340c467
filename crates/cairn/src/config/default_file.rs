//! `cairn config print-default`: the default configuration as a commented file.
//!
//! The values are written from [`Config::default`], so the file cannot drift from the
//! code; a test parses the output back and compares it with the defaults.

use std::fmt::Write as _;

use super::Config;

/// A TOML string literal.
fn quoted(text: &str) -> String {
    toml::Value::String(text.to_owned()).to_string()
}

/// The commented default configuration file.
#[must_use]
pub fn default_file() -> String {
    let d = Config::default();
    let a = &d.auth;
    let mut out = String::new();
    let _ = write!(
        out,
        r#"# Cairn configuration. Every setting is optional; this file shows the defaults.
#
# Load it with `cairn serve --config cairn.toml`. Environment variables override the file:
# CAIRN_<SECTION>__<KEY>, for example CAIRN_SERVER__BIND=0.0.0.0:8080 or
# CAIRN_DATABASE__URL=postgres://…; top-level keys drop the section: CAIRN_DATA_DIR=/var/lib/cairn.
# Unknown keys are an error.

# Where Cairn keeps its SQLite database, local vault, master key and mail outbox.
data_dir = {data_dir}

[server]
# Address and port to listen on.
bind = {bind}
# The address people use to reach the portal; links in emails are built from it.
# Defaults to http://<bind address>.
# public_url = "https://backup.example.com"
# Serve HTTPS directly with this PEM certificate chain and private key (both or neither).
# tls_cert_file = "/etc/cairn/tls/cert.pem"
# tls_key_file = "/etc/cairn/tls/key.pem"
# Take the client IP from X-Forwarded-For. Enable only behind a reverse proxy you control.
trust_forwarded_for = {trust_forwarded_for}
# Largest request body accepted, in bytes.
max_body_bytes = {max_body_bytes}

[database]
# sqlite://PATH or postgres://USER:PASSWORD@HOST:PORT/DATABASE.
# Defaults to an SQLite file in the data directory (<data_dir>/cairn.db).
# url = "postgres://cairn:secret@db.internal:5432/cairn"
# Connections kept in the pool.
max_connections = {max_connections}

[mail]
# Sender of every message.
from = {from}
# SMTP server to send through; without it, messages are written to <data_dir>/outbox/.
# smtp_url = "smtps://user:password@smtp.example.com:465"

[auth]
# A session unused this long is signed out.
session_idle_minutes = {idle}
# A session ends this long after sign-in, however active.
session_absolute_hours = {absolute}
# Failed sign-ins per email address, within the window, before it is blocked for a while.
max_failed_sign_ins_per_account = {per_account}
# Failed sign-ins per IP address, within the window, before it is blocked for a while.
max_failed_sign_ins_per_ip = {per_ip}
throttle_window_minutes = {window}
# Password rules: minimum length, and how many of lowercase / uppercase / digits /
# symbols a password must mix (0-4).
password_min_length = {min_length}
password_character_classes = {classes}
# Lifetime of emailed links.
activation_link_hours = {activation}
reset_link_minutes = {reset}

[vault]
# Where backups are stored: a directory, or an object-store URL (s3://, az://, gs://).
# Defaults to <data_dir>/vault.
# location = "s3://my-bucket/cairn"
# File holding the operator master key (64 hex digits). Defaults to <data_dir>/master.key.
# Without this key no backup can be read: keep a copy somewhere safe.
# master_key_file = "/etc/cairn/master.key"
# Or the key itself (prefer the file, or the CAIRN_VAULT__MASTER_KEY variable).
# master_key = "<64 hex digits>"

[salesforce]
# Login hosts OAuth goes through (point them at `cairn emulate salesforce` to try Cairn).
production_login_url = {sf_production}
sandbox_login_url = {sf_sandbox}
# Cairn's connected app. Without a client id, Salesforce tasks cannot be created.
# client_id = "3MVG9…"
# client_secret = "…"  (or CAIRN_SALESFORCE__CLIENT_SECRET)
# PEM file with an extra CA certificate to trust (the emulator's).
# ca_file = "/etc/cairn/emulator-ca.pem"

[dropbox]
api_url = {db_api}
content_url = {db_content}
notify_url = {db_notify}
authorize_url = {db_authorize}
# Cairn's Dropbox app (team scopes, offline access). Without an app key, Dropbox tasks
# cannot be created.
# app_key = "…"
# app_secret = "…"  (or CAIRN_DROPBOX__APP_SECRET)
# ca_file = "/etc/cairn/emulator-ca.pem"

[jobs]
# Background jobs (backups, restores, maintenance) one process runs at once.
workers = {workers}
# A job whose worker stops heartbeating this long is taken over by another worker.
lease_seconds = {lease_seconds}
# How often the scheduler looks for due backups.
scheduler_interval_seconds = {scheduler_interval_seconds}

# Data-center regions offered at sign-up. An account's region is fixed once chosen.
"#,
        data_dir = quoted(&d.data_dir.display().to_string()),
        bind = quoted(&d.server.bind.to_string()),
        trust_forwarded_for = d.server.trust_forwarded_for,
        max_body_bytes = d.server.max_body_bytes,
        max_connections = d.database.max_connections,
        from = quoted(&d.mail.from),
        idle = a.session_idle_minutes,
        absolute = a.session_absolute_hours,
        per_account = a.max_failed_sign_ins_per_account,
        per_ip = a.max_failed_sign_ins_per_ip,
        window = a.throttle_window_minutes,
        min_length = a.password_min_length,
        classes = a.password_character_classes,
        activation = a.activation_link_hours,
        reset = a.reset_link_minutes,
        sf_production = quoted(&d.salesforce.production_login_url),
        sf_sandbox = quoted(&d.salesforce.sandbox_login_url),
        db_api = quoted(&d.dropbox.api_url),
        db_content = quoted(&d.dropbox.content_url),
        db_notify = quoted(&d.dropbox.notify_url),
        db_authorize = quoted(&d.dropbox.authorize_url),
        workers = d.jobs.workers,
        lease_seconds = d.jobs.lease_seconds,
        scheduler_interval_seconds = d.jobs.scheduler_interval_seconds,
    );
    for region in &d.regions {
        let _ = write!(
            out,
            "[[regions]]\ncode = {}\nname = {}\n",
            quoted(region.code.as_str()),
            quoted(&region.name)
        );
    }
    out
}
