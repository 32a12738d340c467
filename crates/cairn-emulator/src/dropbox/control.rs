//! The control handle: the same operations as the `/__emulator/…` HTTP API, for in-process
//! use (tests, benchmarks, `cairn demo`). Mutations go through journaled ops; faults, rate
//! limits and quotas are runtime settings.

use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::content::{ContentRef, GenContent, read_range};
use super::generator::{admin_password, generate};
use super::ids::{now_unix, parse_rev, rev_string};
use super::limits::{CountersSnapshot, Faults, RateLimit, TransportQuota};
use super::model::{MemberStatus, NodeKind, NsKind, Revision, Team};
use super::mutate::{MutateReport, MutateRequest, mutate};
use super::ops::{Applied, Op};
use super::persist::{Entry, save};
use super::state::Shared;
use super::structure::NewMember;
use super::tokens::TokenOp;
use crate::error::EmulatorError;

pub use super::dump::DumpEntry;

/// In-process control of a running emulator.
#[derive(Debug, Clone)]
pub struct Control {
    pub(crate) shared: Arc<Shared>,
}

/// A team summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Info {
    /// Team name.
    pub team_name: String,
    /// `dbtid:…`
    pub team_id: String,
    /// Generator seed.
    pub seed: u64,
    /// Members (any state).
    pub members: usize,
    /// Namespaces (not deleted).
    pub namespaces: usize,
    /// Live files.
    pub files: u64,
    /// Live folders.
    pub folders: u64,
    /// Bytes in the live files' current revisions.
    pub bytes: u64,
    /// Latest change sequence number.
    pub seq: u64,
    /// Control resets so far.
    pub epoch: u64,
}

/// A member as the control API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberSummary {
    /// `dbmid:…`
    pub team_member_id: String,
    /// E-mail.
    pub email: String,
    /// `active`, `invited`, `suspended` or `removed`.
    pub status: MemberStatus,
    /// Team admin.
    pub admin: bool,
    /// Home namespace id.
    pub home_namespace_id: String,
}

/// Adding a member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddMemberRequest {
    /// E-mail (unique in the team).
    pub email: String,
    /// First name.
    pub given_name: String,
    /// Last name.
    pub surname: String,
    /// Team admin.
    #[serde(default)]
    pub admin: bool,
    /// `active` (default) or `invited`.
    #[serde(default)]
    pub status: Option<MemberStatus>,
    /// Sign-in password (admins; default: the team admin password).
    #[serde(default)]
    pub password: Option<String>,
}

fn invalid(message: impl Into<String>) -> EmulatorError {
    EmulatorError::Invalid(message.into())
}

/// Finds a revision anywhere (live file or deleted file's history).
fn find_revision(team: &Team, rev: u64) -> Option<Revision> {
    let at = team.revs.get(&rev)?;
    let space = team.namespaces.get(&at.ns)?;
    let from_live = space
        .by_id
        .get(&at.node)
        .and_then(|k| space.entries.get(k))
        .and_then(|n| match &n.kind {
            NodeKind::File(revs) => revs.iter().find(|r| r.rev == rev).cloned(),
            NodeKind::Folder => None,
        });
    from_live.or_else(|| {
        space
            .tombstones
            .values()
            .filter(|t| t.id == at.node)
            .flat_map(|t| t.revs.iter())
            .find(|r| r.rev == rev)
            .cloned()
    })
}

impl Control {
    /// A summary of the team.
    #[must_use]
    pub fn info(&self) -> Info {
        let team = self.shared.team.read();
        let (mut files, mut folders, mut bytes) = (0, 0, 0);
        for space in team.namespaces.values().filter(|s| !s.gone) {
            for node in space.entries.values() {
                match node.current() {
                    Some(r) => {
                        files += 1;
                        bytes += r.size;
                    }
                    None => folders += 1,
                }
            }
        }
        Info {
            team_name: team.info.name.clone(),
            team_id: team.info.team_id.clone(),
            seed: team.seed,
            members: team.members.len(),
            namespaces: team.namespaces.values().filter(|s| !s.gone).count(),
            files,
            folders,
            bytes,
            seq: team.seq,
            epoch: team.epoch,
        }
    }

    /// Every member.
    #[must_use]
    pub fn members(&self) -> Vec<MemberSummary> {
        let team = self.shared.team.read();
        team.members
            .iter()
            .map(|m| MemberSummary {
                team_member_id: m.team_member_id.clone(),
                email: m.email.clone(),
                status: m.status,
                admin: m.admin,
                home_namespace_id: m.home_ns.to_string(),
            })
            .collect()
    }

    /// Changes N% of files (see [`MutateRequest`]).
    ///
    /// # Errors
    /// [`EmulatorError::Invalid`] / [`EmulatorError::NotFound`] for a bad request.
    pub fn mutate(&self, request: &MutateRequest) -> Result<MutateReport, EmulatorError> {
        mutate(&self.shared, request)
    }

    /// Adds a member (home namespace created, active team folders mounted).
    ///
    /// # Errors
    /// [`EmulatorError::Invalid`] for a malformed or duplicate e-mail or a bad status.
    pub fn add_member(&self, request: AddMemberRequest) -> Result<MemberSummary, EmulatorError> {
        let email = request.email.trim().to_owned();
        if !email.contains('@') || email.len() > 255 {
            return Err(invalid(format!("{email:?} is not an e-mail address")));
        }
        if request.given_name.trim().is_empty() || request.surname.trim().is_empty() {
            return Err(invalid("given_name and surname are required"));
        }
        let status = request.status.unwrap_or(MemberStatus::Active);
        if !matches!(status, MemberStatus::Active | MemberStatus::Invited) {
            return Err(invalid("a new member is active or invited"));
        }
        let mut team = self.shared.team.write();
        if team
            .members
            .iter()
            .any(|m| m.email.eq_ignore_ascii_case(&email))
        {
            return Err(invalid(format!("{email} is already a member")));
        }
        let password = request
            .password
            .or_else(|| request.admin.then(|| admin_password(team.seed)));
        let op = Op::AddMember {
            member: NewMember {
                email,
                given_name: request.given_name.trim().to_owned(),
                surname: request.surname.trim().to_owned(),
                admin: request.admin,
                status,
                password,
            },
            at: now_unix(),
        };
        match self.shared.commit(&mut team, op) {
            Ok(Applied::Member(i)) => {
                let m = &team.members[i];
                Ok(MemberSummary {
                    team_member_id: m.team_member_id.clone(),
                    email: m.email.clone(),
                    status: m.status,
                    admin: m.admin,
                    home_namespace_id: m.home_ns.to_string(),
                })
            }
            _ => Err(invalid("the member could not be added")),
        }
    }

    /// Suspends, reactivates or removes a member.
    ///
    /// # Errors
    /// [`EmulatorError::NotFound`] for an unknown member, `Invalid` for `invited`.
    pub fn set_member_status(
        &self,
        team_member_id: &str,
        status: MemberStatus,
    ) -> Result<(), EmulatorError> {
        if status == MemberStatus::Invited {
            return Err(invalid("a member cannot be put back to invited"));
        }
        let mut team = self.shared.team.write();
        let member = team
            .member_by_id(team_member_id)
            .ok_or_else(|| EmulatorError::NotFound(format!("no member {team_member_id}")))?;
        let op = Op::SetMemberStatus {
            member,
            status,
            at: now_unix(),
        };
        self.shared
            .commit(&mut team, op)
            .map(|_| ())
            .map_err(|_| invalid("the status could not be changed"))
    }

    /// Adds a team folder, mounted for every member; returns its namespace id.
    ///
    /// # Errors
    /// [`EmulatorError::Invalid`] for an empty, slash-containing or duplicate name.
    pub fn add_team_folder(&self, name: &str) -> Result<String, EmulatorError> {
        let name = name.trim();
        if name.is_empty() || name.contains('/') || name.len() > 255 {
            return Err(invalid(
                "a team folder name is 1-255 characters without \"/\"",
            ));
        }
        let mut team = self.shared.team.write();
        let taken = team
            .team_folders
            .iter()
            .filter_map(|&ns| team.ns(ns))
            .any(|s| s.name.eq_ignore_ascii_case(name));
        if taken {
            return Err(invalid(format!("a team folder named {name:?} exists")));
        }
        match self.shared.commit(
            &mut team,
            Op::AddTeamFolder {
                name: name.to_owned(),
            },
        ) {
            Ok(Applied::Namespace(ns)) => Ok(ns.to_string()),
            _ => Err(invalid("the team folder could not be added")),
        }
    }

    fn team_folder(&self, team: &Team, id: &str) -> Result<u64, EmulatorError> {
        let ns: u64 = id
            .parse()
            .map_err(|_| invalid(format!("{id:?} is not a team folder id")))?;
        match team.ns(ns).map(|s| s.kind) {
            Some(NsKind::TeamFolder { .. }) => Ok(ns),
            _ => Err(EmulatorError::NotFound(format!("no team folder {id}"))),
        }
    }

    /// Archives (unmounts) or reactivates a team folder.
    ///
    /// # Errors
    /// [`EmulatorError::NotFound`] for an unknown team folder.
    pub fn set_team_folder_archived(&self, id: &str, archived: bool) -> Result<(), EmulatorError> {
        let mut team = self.shared.team.write();
        let ns = self.team_folder(&team, id)?;
        self.shared
            .commit(&mut team, Op::SetTeamFolderArchived { ns, archived })
            .map(|_| ())
            .map_err(|_| invalid("the team folder could not be changed"))
    }

    /// Deletes a team folder permanently.
    ///
    /// # Errors
    /// [`EmulatorError::NotFound`] for an unknown team folder.
    pub fn delete_team_folder(&self, id: &str) -> Result<(), EmulatorError> {
        let mut team = self.shared.team.write();
        let ns = self.team_folder(&team, id)?;
        self.shared
            .commit(&mut team, Op::DeleteTeamFolder { ns })
            .map(|_| ())
            .map_err(|_| invalid("the team folder could not be deleted"))
    }

    /// Current fault settings.
    #[must_use]
    pub fn faults(&self) -> Faults {
        self.shared.limits.faults()
    }

    /// Replaces the fault settings.
    ///
    /// # Errors
    /// [`EmulatorError::Invalid`] for rates outside 0..=1.
    pub fn set_faults(&self, faults: Faults) -> Result<(), EmulatorError> {
        faults.validate().map_err(invalid)?;
        self.shared.limits.set_faults(faults);
        Ok(())
    }

    /// Sets (or clears) the per-member request-rate limit.
    ///
    /// # Errors
    /// [`EmulatorError::Invalid`] for a non-positive rate or zero burst.
    pub fn set_rate_limit(&self, limit: Option<RateLimit>) -> Result<(), EmulatorError> {
        if let Some(l) = limit
            && (l.requests_per_second.is_nan() || l.requests_per_second <= 0.0 || l.burst == 0)
        {
            return Err(invalid(
                "requests_per_second must be positive and burst at least 1",
            ));
        }
        self.shared.limits.set_rate_limit(limit);
        Ok(())
    }

    /// The per-member request-rate limit.
    #[must_use]
    pub fn rate_limit(&self) -> Option<RateLimit> {
        self.shared.limits.rate_limit()
    }

    /// Sets the data-transport quota (limit and calls used).
    pub fn set_transport_quota(&self, quota: TransportQuota) {
        self.shared.limits.set_transport(quota);
    }

    /// The data-transport quota.
    #[must_use]
    pub fn transport_quota(&self) -> TransportQuota {
        self.shared.limits.transport()
    }

    /// Makes every short-lived access token expire now (the SDK then refreshes).
    pub fn expire_tokens(&self) {
        self.shared
            .commit_token(TokenOp::ExpireAll { at: now_unix() });
    }

    /// Revokes one token (with its refresh family), or every token but the console's.
    pub fn revoke_tokens(&self, token: Option<&str>) {
        self.shared.commit_token(match token {
            Some(t) => TokenOp::Revoke {
                token: t.to_owned(),
            },
            None => TokenOp::RevokeAll,
        });
    }

    /// Invalidates cursors of one namespace (or all): their next use gets `reset`.
    ///
    /// # Errors
    /// [`EmulatorError::NotFound`] for an unknown namespace.
    pub fn force_reset(&self, namespace_id: Option<&str>) -> Result<(), EmulatorError> {
        let mut team = self.shared.team.write();
        let ns = match namespace_id {
            None => None,
            Some(text) => {
                let ns: u64 = text
                    .parse()
                    .map_err(|_| invalid(format!("{text:?} is not a namespace id")))?;
                team.ns(ns)
                    .ok_or_else(|| EmulatorError::NotFound(format!("no namespace {ns}")))?;
                Some(ns)
            }
        };
        self.shared
            .commit(&mut team, Op::ForceReset { ns })
            .map(|_| ())
            .map_err(|_| invalid("could not reset cursors"))
    }

    /// Call counters.
    #[must_use]
    pub fn counters(&self) -> CountersSnapshot {
        self.shared.counters.snapshot()
    }

    /// Zeroes the call counters.
    pub fn reset_counters(&self) {
        self.shared.counters.reset();
    }

    /// The team's current state, one entry per live file and folder, ordered by namespace
    /// id then path (see [`DumpEntry`]).
    pub async fn dump(&self) -> Vec<DumpEntry> {
        super::dump::dump(&self.shared).await
    }

    /// [`Control::dump`] as JSON lines.
    pub async fn dump_jsonl(&self) -> String {
        super::dump::to_jsonl(&self.dump().await)
    }

    /// Where the bytes of revision `rev` are, and how many.
    ///
    /// # Errors
    /// [`EmulatorError::NotFound`] for an unknown revision.
    pub fn content_of(&self, rev: &str) -> Result<(super::download::Source, u64), EmulatorError> {
        let team = self.shared.team.read();
        let not_found = || EmulatorError::NotFound(format!("no revision {rev}"));
        let number = parse_rev(team.salt, rev).ok_or_else(not_found)?;
        let revision = find_revision(&team, number).ok_or_else(not_found)?;
        let source = match revision.content {
            ContentRef::Generated { id } => {
                super::download::Source::Generated(*team.gen_content(id).ok_or_else(not_found)?)
            }
            ContentRef::Blob { id, .. } => super::download::Source::Blob(id),
        };
        Ok((source, revision.size))
    }

    /// Bytes `start..end` of revision `rev` (`end` clamped to its size).
    ///
    /// # Errors
    /// [`EmulatorError::NotFound`] for an unknown revision, `Io` for unreadable blobs.
    pub async fn read_content(
        &self,
        rev: &str,
        start: u64,
        end: u64,
    ) -> Result<Vec<u8>, EmulatorError> {
        let (source, size) = self.content_of(rev)?;
        let end = end.min(size);
        if start > end {
            return Err(invalid("start is past the end"));
        }
        match source {
            super::download::Source::Generated(c) => {
                let seed = self.shared.team.read().seed;
                Ok(read_range(seed, &c, start, end))
            }
            super::download::Source::Blob(id) => self
                .shared
                .blobs
                .read(id, start, end)
                .await
                .map_err(|e| EmulatorError::io(format!("reading blob {id}"), e)),
        }
    }

    /// Revision string of the file at `path` in namespace `namespace_id` (tests, samples).
    #[must_use]
    pub fn current_rev(&self, namespace_id: &str, path: &str) -> Option<String> {
        let team = self.shared.team.read();
        let ns: u64 = namespace_id.parse().ok()?;
        let node = team.ns(ns)?.entries.get(&path.to_lowercase())?;
        node.current().map(|r| rev_string(team.salt, r.rev))
    }

    /// Regenerates the team from its seed, as if freshly started: every change, upload and
    /// session is dropped and old cursors get `reset`. Tokens stay valid.
    ///
    /// # Errors
    /// IO errors rewriting the journal.
    pub async fn reset(&self) -> Result<(), EmulatorError> {
        let spec = self.shared.config.spec.clone();
        let fresh = tokio::task::spawn_blocking(move || generate(&spec))
            .await
            .map_err(|e| invalid(format!("regenerating the team failed: {e}")))?;
        let epoch = {
            let mut team = self.shared.team.write();
            let epoch = team.epoch + 1;
            *team = fresh;
            team.epoch = epoch;
            self.shared.changed.send_replace(team.seq);
            epoch
        };
        self.shared
            .hashes
            .forget_from(self.shared.config.generated_contents as u64);
        super::sessions::clear(&self.shared);
        self.shared.blobs.clear().await;
        if let (Some(journal), Some(dir)) = (&self.shared.journal, &self.shared.config.persist_dir)
        {
            let tokens: Vec<Entry> = self.shared.tokens.lock().journal_entries();
            journal
                .rewrite(&tokens)
                .map_err(|e| EmulatorError::io("rewriting the journal", e))?;
            let mut stored = self.shared.stored.lock();
            if let Some(stored) = stored.as_mut() {
                stored.epoch = epoch;
                save(dir, stored)?;
            }
        }
        Ok(())
    }

    /// Generated-content records by id (for samples and benchmarks).
    #[must_use]
    pub fn generated_contents(&self) -> HashMap<u64, GenContent> {
        let team = self.shared.team.read();
        team.contents.iter().map(|c| (c.id, *c)).collect()
    }
}
