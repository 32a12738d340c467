//! The running emulator's shared state: the org's records behind one lock, and the
//! side tables (sessions, API usage, faults, counters, query cursors, Bulk jobs,
//! Metadata API jobs) each behind its own.
//!
//! Lock order, to stay deadlock-free: `data` first, then any single side table; side
//! tables are never held while taking `data`.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::{Mutex, RwLock};

use super::bulk::BulkJobs;
use super::clock::Clock;
use super::faults::{ApiUsage, Counters, Faults};
use super::generator::Profile;
use super::ids;
use super::metadata::soap::AsyncJobs;
use super::oauth::tokens::AuthState;
use super::soql::Bound;
use super::store::OrgData;

/// API versions the emulator serves (Summer '14 … Spring '26).
pub const MIN_VERSION: u32 = 31;
/// The newest API version served.
pub const MAX_VERSION: u32 = 66;

/// The release label of an API version (`62` → `Winter '25`).
pub fn version_label(v: u32) -> String {
    // v30 was Spring '14; three releases a year.
    let k = v.saturating_sub(30);
    let season = k % 3;
    let year = 14 + k / 3 + u32::from(season == 2);
    let name = ["Spring", "Summer", "Winter"][season as usize];
    format!("{name} '{year:02}")
}

/// Parses `v62.0` into 62 if served.
pub fn parse_version(seg: &str) -> Option<u32> {
    let n = seg.strip_prefix('v')?.strip_suffix(".0")?.parse().ok()?;
    (MIN_VERSION..=MAX_VERSION).contains(&n).then_some(n)
}

/// An open query cursor (`nextRecordsUrl`).
#[derive(Debug, Clone)]
pub struct Cursor {
    /// The bound query (for projection of later pages).
    pub bound: Arc<Bound>,
    /// Matching rows, in order.
    pub rows: Arc<Vec<u32>>,
    /// queryAll.
    pub include_deleted: bool,
    /// Page size.
    pub batch: usize,
    /// Last use (ms); cursors expire after two days.
    pub last_used: i64,
}

/// Open query cursors.
#[derive(Debug, Default)]
pub struct Cursors {
    /// By locator id.
    pub open: HashMap<String, Cursor>,
    next: u64,
}

/// Cursors live for two days (API v56.0+ behaviour) and at most this many are kept.
const MAX_CURSORS: usize = 5000;
const CURSOR_TTL_MS: i64 = 2 * 86_400_000;

impl Cursors {
    /// Stores a cursor and returns its locator id.
    pub fn open(&mut self, pod: [u8; 2], cursor: Cursor, now: i64) -> String {
        self.open.retain(|_, c| now - c.last_used <= CURSOR_TTL_MS);
        if self.open.len() >= MAX_CURSORS
            && let Some(oldest) = self
                .open
                .iter()
                .min_by_key(|(_, c)| c.last_used)
                .map(|(k, _)| k.clone())
        {
            self.open.remove(&oldest);
        }
        self.next += 1;
        let id = ids::encode_counter("01g", pod, 62u64.pow(6) + self.next);
        self.open.insert(id.clone(), cursor);
        id
    }

    /// A live cursor by locator id.
    pub fn get(&mut self, id: &str, now: i64) -> Option<Cursor> {
        let c = self.open.get_mut(id)?;
        if now - c.last_used > CURSOR_TTL_MS {
            self.open.remove(id);
            return None;
        }
        c.last_used = now;
        Some(c.clone())
    }
}

/// Knobs the control API can turn that change how the APIs answer.
#[derive(Debug, Clone, Default)]
pub struct Tuning {
    /// Cap query pages below the requested batch size (the real API may return fewer
    /// rows than asked for; clients must follow `nextRecordsUrl` regardless).
    pub query_page_cap: Option<usize>,
}

/// The shared state of one emulated org.
pub struct Emulator {
    /// Instance URL (`https://localhost:PORT`).
    pub base_url: String,
    /// Generation seed.
    pub seed: u64,
    /// The org's company name.
    pub org_name: String,
    /// Generation profile.
    pub profile: Profile,
    /// Emulated clock.
    pub clock: Clock,
    /// Records and metadata.
    pub data: RwLock<OrgData>,
    /// Sessions, grants, connected app.
    pub auth: Mutex<AuthState>,
    /// Daily allowance.
    pub usage: Mutex<ApiUsage>,
    /// Fault injection.
    pub faults: Mutex<Faults>,
    /// Call counters.
    pub counters: Mutex<Counters>,
    /// Query cursors.
    pub cursors: Mutex<Cursors>,
    /// Bulk API 2.0 jobs.
    pub bulk: Mutex<BulkJobs>,
    /// Metadata API retrieve/deploy jobs.
    pub mdapi: Mutex<AsyncJobs>,
    /// Response knobs.
    pub tuning: Mutex<Tuning>,
    /// Bumped on every change that persistence must save.
    pub generation: AtomicU64,
    /// SHA-256 and length of blobs already hashed for dumps: (table, blob index).
    pub blob_digests: Mutex<HashMap<(u32, u32), (String, usize)>>,
    /// The options the org was started with (reset regenerates from them).
    pub opts: super::SalesforceOptions,
    /// Signalled whenever a Bulk job reaches a final state.
    pub bulk_done: tokio::sync::Notify,
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emulator")
            .field("base_url", &self.base_url)
            .field("seed", &self.seed)
            .finish_non_exhaustive()
    }
}

impl Emulator {
    /// Emulated now (ms).
    pub fn now(&self) -> i64 {
        self.clock.now_ms()
    }

    /// Emulated now truncated to the second (system timestamps).
    pub fn now_secs(&self) -> i64 {
        self.clock.now_secs_ms()
    }

    /// The options the org was started with.
    pub fn options(&self) -> super::SalesforceOptions {
        self.opts.clone()
    }

    /// Records that state changed (persistence saves it soon).
    pub fn touch(&self) {
        self.generation.fetch_add(1, Ordering::Relaxed);
    }

    /// The 15-character org id (the prefix of access tokens).
    pub fn org_id15(&self) -> String {
        self.data.read().org_id[..15].to_owned()
    }

    /// The org's company name (shown on the login page).
    pub fn org_name(&self) -> String {
        self.org_name.clone()
    }

    /// The connected app's name (shown on the consent page).
    pub fn app_name(&self) -> String {
        "Cairn Backup".to_owned()
    }

    /// The identity URL host part for the org's login host.
    pub fn login_base(&self, sandbox: bool) -> String {
        format!(
            "{}/{}",
            self.base_url,
            if sandbox { "test" } else { "login" }
        )
    }
}

/// Shared handle.
pub type Shared = Arc<Emulator>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_match_salesforce_releases() {
        assert_eq!(version_label(31), "Summer '14");
        assert_eq!(version_label(62), "Winter '25");
        assert_eq!(version_label(65), "Winter '26");
        assert_eq!(version_label(66), "Spring '26");
        assert_eq!(parse_version("v62.0"), Some(62));
        assert_eq!(parse_version("v20.0"), None);
        assert_eq!(parse_version("62.0"), None);
    }
}
