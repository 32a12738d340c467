//! The emulator's identifiers in Dropbox's wire forms, and timestamps.
//!
//! Internally everything is a number; on the wire Dropbox uses prefixed opaque strings:
//! `id:` (22 url-safe base64 characters) for files and folders, ≥ 9 lowercase hex digits for
//! revisions, digit strings for namespaces, and `dbmid:` / `dbid:` (exactly 40 characters,
//! which the official SDK validates) / `dbtid:` for members, accounts and the team. Node ids
//! and revisions are reversible (keyed by a per-team salt) so a lookup needs no extra index;
//! a checksum half rejects forged ids.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, TimeZone, Utc};

use super::rng::{derive, mix64};

/// Encodes a node number as Dropbox's `id:…` string.
#[must_use]
pub fn node_id(salt: u64, n: u64) -> String {
    let mut raw = [0u8; 16];
    raw[..8].copy_from_slice(&(n ^ salt).to_be_bytes());
    raw[8..].copy_from_slice(&mix64(n ^ salt.rotate_left(17)).to_be_bytes());
    format!("id:{}", URL_SAFE_NO_PAD.encode(raw))
}

/// Decodes an `id:…` string; `None` if it is not one of this team's ids.
#[must_use]
pub fn parse_node_id(salt: u64, text: &str) -> Option<u64> {
    let body = text.strip_prefix("id:")?;
    let raw = URL_SAFE_NO_PAD.decode(body).ok()?;
    let raw: [u8; 16] = raw.try_into().ok()?;
    let n = u64::from_be_bytes(raw[..8].try_into().ok()?) ^ salt;
    let check = u64::from_be_bytes(raw[8..].try_into().ok()?);
    (check == mix64(n ^ salt.rotate_left(17))).then_some(n)
}

/// Encodes a revision number as a 16-hex-digit `rev`.
#[must_use]
pub fn rev_string(salt: u64, n: u64) -> String {
    format!("{:016x}", n ^ salt)
}

/// Decodes a `rev` string; `None` if it is malformed (existence is checked by the caller).
#[must_use]
pub fn parse_rev(salt: u64, text: &str) -> Option<u64> {
    if text.len() != 16 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u64::from_str_radix(text, 16).ok().map(|v| v ^ salt)
}

/// `true` if `text` has the shape the spec gives revisions (`[0-9a-f]+`, ≥ 9 characters).
#[must_use]
pub fn is_rev_shaped(text: &str) -> bool {
    text.len() >= 9 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// A prefixed opaque id made of 26 derived bytes (`dbid:` ids are then exactly 40 chars).
#[must_use]
pub fn opaque(prefix: &str, parts: &[u64]) -> String {
    let mut raw = [0u8; 26];
    for (i, chunk) in raw.chunks_mut(8).enumerate() {
        let mut key = parts.to_vec();
        key.push(i as u64);
        let word = derive(&key).to_be_bytes();
        chunk.copy_from_slice(&word[..chunk.len()]);
    }
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(raw))
}

/// An opaque token-like string of `bytes` random bytes from the OS.
#[must_use]
pub fn random_token(prefix: &str, bytes: usize) -> String {
    let mut raw = vec![0u8; bytes];
    if getrandom::fill(&mut raw).is_err() {
        // The OS generator never fails on supported platforms; fall back to a time-seeded
        // stream so a token is still unique within this process.
        let nanos = Utc::now().timestamp_nanos_opt().unwrap_or_default();
        let mut rng = super::rng::Rng::new(nanos as u64);
        rng.fill_bytes(&mut raw);
    }
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(raw))
}

/// Dropbox's timestamp format, `%Y-%m-%dT%H:%M:%SZ` (no fractional seconds). Formatted
/// by hand: listings render two per file and strftime parsing dominated.
#[must_use]
pub fn timestamp(unix: i64) -> String {
    use chrono::{Datelike, Timelike};
    let at: DateTime<Utc> = Utc.timestamp_opt(unix, 0).single().unwrap_or_default();
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        at.year(),
        at.month(),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    )
}

/// Parses a Dropbox timestamp; `None` if it does not have exactly that format.
#[must_use]
pub fn parse_timestamp(text: &str) -> Option<i64> {
    chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%SZ")
        .ok()
        .map(|t| t.and_utc().timestamp())
}

/// The current time in whole seconds.
#[must_use]
pub fn now_unix() -> i64 {
    Utc::now().timestamp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_ids_round_trip_and_reject_forgeries() {
        let salt = 0xABCD_1234;
        let id = node_id(salt, 42);
        assert_eq!(id.len(), 3 + 22);
        assert_eq!(parse_node_id(salt, &id), Some(42));
        assert_eq!(parse_node_id(salt + 1, &id), None);
        assert_eq!(parse_node_id(salt, "id:AAAAAAAAAAAAAAAAAAAAAA"), None);
        assert_eq!(parse_node_id(salt, "42"), None);
    }

    #[test]
    fn revs_round_trip_and_have_the_spec_shape() {
        let rev = rev_string(99, 7);
        assert!(is_rev_shaped(&rev));
        assert_eq!(parse_rev(99, &rev), Some(7));
        assert_eq!(parse_rev(99, "xyz"), None);
        assert!(!is_rev_shaped("abc"));
    }

    #[test]
    fn account_ids_are_forty_characters() {
        assert_eq!(opaque("dbid:", &[1, 2]).len(), 40);
        assert_ne!(opaque("dbid:", &[1, 2]), opaque("dbid:", &[1, 3]));
    }

    #[test]
    fn timestamps_round_trip_without_fractions() {
        let text = timestamp(1_700_000_000);
        assert_eq!(text, "2023-11-14T22:13:20Z");
        assert_eq!(parse_timestamp(&text), Some(1_700_000_000));
        assert_eq!(parse_timestamp("2023-11-14T22:13:20.5Z"), None);
        assert_eq!(parse_timestamp("yesterday"), None);
    }
}
