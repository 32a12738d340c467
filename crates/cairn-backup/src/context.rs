//! What a backup run needs from the process: the meta store, the account vaults, the
//! token cipher, the clock and tuning. Built once by the binary and shared by workers.

use cairn_domain::SharedClock;
use cairn_meta::MetaStore;
use cairn_vault::segments::SegmentOptions;

use crate::tokens::TokenCipher;
use crate::vaults::AccountVaults;

/// Tuning of backup runs.
#[derive(Debug, Clone)]
pub struct BackupOptions {
    /// Record segments: memory budget, row groups, spill directory.
    pub segments: SegmentOptions,
    /// Records after which a running entity's read is made durable (segment written,
    /// checkpoint saved), so a killed run resumes there instead of at the entity's start.
    pub flush_records: usize,
    /// Blob downloads in flight at once per entity.
    pub blob_concurrency: usize,
    /// Entities of one run backed up at once (their HTTP waits, parsing and segment
    /// encoding overlap; the segment memory budget is shared between them).
    pub entity_concurrency: usize,
}

impl Default for BackupOptions {
    fn default() -> Self {
        Self {
            segments: SegmentOptions::default(),
            flush_records: 250_000,
            blob_concurrency: 4,
            entity_concurrency: 3,
        }
    }
}

/// The process-wide parts of a backup run. Cheap to clone.
#[derive(Debug, Clone)]
pub struct BackupContext {
    /// The meta store.
    pub store: MetaStore,
    /// Account vaults.
    pub vaults: AccountVaults,
    /// Opens the tasks' stored OAuth tokens.
    pub tokens: TokenCipher,
    /// The clock (snapshot times, counters).
    pub clock: SharedClock,
    /// Tuning.
    pub options: BackupOptions,
}
