//! The control API: what tests, benchmarks and `cairn demo` do to the org from outside
//! the Salesforce APIs — mutate records as a given user, move the clock, set the daily
//! allowance, inject faults, end sessions, read counters, dump the org, reset it. The
//! same operations are served as JSON under `/__emulator/` (see [`http`]).

pub mod dump;
pub mod http;
mod mutate;

use serde::{Deserialize, Serialize};

pub use mutate::{Mutation, MutationOp, MutationReport};

use super::faults::{Counters, FaultRule, Latency};
use super::hold::Hold;
use super::state::Shared;
use super::write::delete::RECYCLE_BIN_MS;
use crate::EmulatorError;

/// An in-process handle to the control operations.
#[derive(Debug, Clone)]
pub struct Control {
    pub(crate) em: Shared,
}

/// Org-wide settings the control API can change.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Settings {
    /// "Set Audit Fields upon Record Creation" (and "Update Records with Inactive Owners").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audit_fields_on_create: Option<bool>,
    /// Refresh-token rotation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rotate_refresh_tokens: Option<bool>,
    /// Session timeout of inactivity, in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_timeout_seconds: Option<u64>,
    /// Cap on query page sizes (0 clears the cap).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query_page_cap: Option<usize>,
}

/// A summary of the org for the control API.
#[derive(Debug, Clone, Serialize)]
pub struct OrgInfo {
    /// Organization id.
    pub org_id: String,
    /// Instance URL.
    pub base_url: String,
    /// Emulated now (`2026-…+0000`).
    pub now: String,
    /// Seed.
    pub seed: u64,
    /// Records per object (live and in the recycle bin).
    pub records: std::collections::BTreeMap<String, usize>,
    /// Records in the recycle bin per object.
    pub recycle_bin: std::collections::BTreeMap<String, usize>,
    /// Daily allowance and usage.
    pub api_usage: (u64, u64),
    /// Current settings.
    pub settings: Settings,
}

impl Control {
    /// Emulated now (ms).
    pub fn now(&self) -> i64 {
        self.em.now()
    }

    /// Advances the emulated clock and purges recycle-bin records older than 15 days.
    /// Returns the new time (ms).
    pub fn advance_clock(&self, ms: i64) -> i64 {
        let now = self.em.clock.advance(ms);
        purge_expired(&self.em, now);
        self.em.touch();
        now
    }

    /// Sets the daily API allowance.
    pub fn set_api_allowance(&self, max: u64) {
        self.em.usage.lock().max = max;
        self.em.touch();
    }

    /// Forgets API usage so far.
    pub fn reset_api_usage(&self) {
        self.em.usage.lock().reset();
        self.em.touch();
    }

    /// Replaces the fault rules.
    pub fn set_faults(&self, rules: Vec<FaultRule>) {
        self.em.faults.lock().rules = rules;
    }

    /// Sets added latency.
    pub fn set_latency(&self, latency: Latency) {
        self.em.faults.lock().latency = latency;
    }

    /// Removes all faults and latency, and releases every hold.
    pub fn clear_faults(&self) {
        let mut f = self.em.faults.lock();
        f.rules.clear();
        f.latency = Latency::default();
        for hold in f.holds.drain(..) {
            hold.release();
        }
    }

    /// Holds every API call whose path (after `/services/data/vXX.X`, e.g.
    /// `/sobjects/Contact/describe`) starts with `path_prefix` until the returned hold is
    /// released (see [`Hold`]).
    pub fn hold(&self, path_prefix: &str) -> Hold {
        let hold = Hold::new(path_prefix);
        self.em.faults.lock().holds.push(hold.clone());
        hold
    }

    /// The current fault rules and latency.
    pub fn faults(&self) -> (Vec<FaultRule>, Latency) {
        let f = self.em.faults.lock();
        (f.rules.clone(), f.latency.clone())
    }

    /// Ends every session; clients must refresh. Returns how many ended.
    pub fn expire_sessions(&self) -> usize {
        let n = self.em.auth.lock().expire_all_sessions();
        self.em.touch();
        n
    }

    /// Revokes one access or refresh token.
    pub fn revoke_token(&self, token: &str) -> bool {
        let ok = self.em.auth.lock().revoke(token);
        self.em.touch();
        ok
    }

    /// API call counters.
    pub fn counters(&self) -> Counters {
        self.em.counters.lock().clone()
    }

    /// Applies settings; unset fields stay as they are.
    pub fn apply_settings(&self, s: &Settings) {
        if let Some(v) = s.audit_fields_on_create {
            let mut org = self.em.data.write();
            if org.settings.audit_fields_on_create != v {
                org.settings.audit_fields_on_create = v;
                org.describe_changed_at = self.em.now_secs();
            }
        }
        {
            let mut auth = self.em.auth.lock();
            if let Some(v) = s.rotate_refresh_tokens {
                auth.rotate_refresh_tokens = v;
            }
            if let Some(v) = s.session_timeout_seconds {
                auth.session_timeout_ms = (v.max(60) * 1000) as i64;
            }
        }
        if let Some(cap) = s.query_page_cap {
            self.em.tuning.lock().query_page_cap = (cap > 0).then_some(cap);
        }
        self.em.touch();
    }

    /// Current settings.
    pub fn settings(&self) -> Settings {
        let audit = self.em.data.read().settings.audit_fields_on_create;
        let auth = self.em.auth.lock();
        Settings {
            audit_fields_on_create: Some(audit),
            rotate_refresh_tokens: Some(auth.rotate_refresh_tokens),
            session_timeout_seconds: Some((auth.session_timeout_ms / 1000) as u64),
            query_page_cap: Some(self.em.tuning.lock().query_page_cap.unwrap_or(0)),
        }
    }

    /// Empties the recycle bin (of one object, or all). Returns the rows purged.
    ///
    /// # Errors
    /// [`EmulatorError::BadRequest`] for an unknown object.
    pub fn empty_recycle_bin(&self, object: Option<&str>) -> Result<usize, EmulatorError> {
        let obj =
            match object {
                Some(name) => {
                    Some(self.em.data.read().schema.object(name).ok_or_else(|| {
                        EmulatorError::BadRequest(format!("unknown object {name}"))
                    })?)
                }
                None => None,
            };
        let n = super::rest::write_as(&self.em, self.em.now(), 0, "/__emulator", None, |txn| {
            txn.empty_recycle_bin(obj, None)
        });
        Ok(n)
    }

    /// Mutates records as a given user.
    ///
    /// # Errors
    /// [`EmulatorError::BadRequest`] for unknown objects, users or fields.
    pub fn mutate(&self, m: &Mutation) -> Result<MutationReport, EmulatorError> {
        mutate::run(&self.em, m)
    }

    /// The org as JSON lines (see [`dump`]).
    pub fn dump(&self) -> Vec<u8> {
        let mut out = Vec::new();
        // Writing into a Vec cannot fail.
        let _ = self.dump_to(&mut out);
        out
    }

    /// Streams the org dump into `sink` (large orgs: avoid holding it in memory).
    ///
    /// # Errors
    /// The sink's IO error.
    pub fn dump_to(&self, sink: &mut dyn std::io::Write) -> std::io::Result<()> {
        let org = self.em.data.read();
        dump::write(&self.em, &org, sink)
    }

    /// Regenerates the org from its seed and profile (sessions and settings survive).
    pub fn reset(&self) {
        let fresh = super::build_org(&self.em.options());
        *self.em.data.write() = fresh;
        self.em.cursors.lock().open.clear();
        self.em.bulk.lock().jobs.clear();
        self.em.usage.lock().reset();
        *self.em.counters.lock() = Counters::default();
        self.em.blob_digests.lock().clear();
        self.em.touch();
    }

    /// Waits until Bulk job `id` reaches a final state and returns it (`JobComplete`,
    /// `Failed`, `Aborted`); `None` for an unknown job.
    pub async fn wait_for_bulk_job(&self, id: &str) -> Option<&'static str> {
        loop {
            let notified = self.em.bulk_done.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let jobs = self.em.bulk.lock();
                let job = jobs.jobs.get(id)?;
                if job.state.terminal() {
                    return Some(job.state.name());
                }
                if job.state == super::bulk::JobState::Open {
                    return Some(job.state.name());
                }
            }
            notified.await;
        }
    }

    /// A summary of the org.
    pub fn info(&self) -> OrgInfo {
        let org = self.em.data.read();
        let now = self.em.now();
        let mut records = std::collections::BTreeMap::new();
        let mut bin = std::collections::BTreeMap::new();
        for (i, o) in org.schema.objects.iter().enumerate() {
            records.insert(o.name.clone(), org.tables[i].live_count);
            bin.insert(o.name.clone(), org.tables[i].deleted.len());
        }
        let usage = {
            let mut u = self.em.usage.lock();
            (u.used(now), u.max)
        };
        drop(org);
        OrgInfo {
            org_id: self.em.data.read().org_id.clone(),
            base_url: self.em.base_url.clone(),
            now: super::clock::format_datetime(now),
            seed: self.em.seed,
            records,
            recycle_bin: bin,
            api_usage: usage,
            settings: self.settings(),
        }
    }
}

/// Purges recycle-bin entries older than the 15-day retention.
pub fn purge_expired(em: &Shared, now: i64) {
    let cutoff = now - RECYCLE_BIN_MS;
    let any = em.data.read().tables.iter().any(|t| {
        t.deleted
            .values()
            .any(|d| d.cascade_root.is_none() && d.at < cutoff)
    });
    if any {
        super::rest::write_as(em, now, 0, "/__emulator", None, |txn| {
            txn.empty_recycle_bin(None, Some(cutoff))
        });
    }
}
