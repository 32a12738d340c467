//! Turning what Dropbox discovery found into the task's entities: new members and team
//! folders are recorded (activated, with an auto-discovery event, when the task says
//! so); members and folders gone from the team become Archived (with when, for the task's
//! "retain auto-archived backups N days"), their backups kept; archived ones that come
//! back are scheduled again.

use std::collections::{BTreeMap, BTreeSet};

use cairn_domain::entity::DiscoveredEntity;
use cairn_domain::event::{Event, EventKind, EventOutcome};
use cairn_domain::{BackupTask, Entity, EntityKind, EntityStatus, Service};
use cairn_dropbox::Discovery;
use cairn_meta::EntityQuery;

use crate::context::BackupContext;
use crate::error::Result;

/// The event kind recorded when a run activates newly discovered entities.
pub const AUTO_DISCOVERY_EVENT: &str = "entity.auto_discovered";

/// The Cairn entity a Dropbox entity is recorded as.
#[must_use]
pub fn discovered(e: &cairn_dropbox::Entity) -> DiscoveredEntity {
    DiscoveredEntity {
        kind: match e.kind {
            cairn_dropbox::EntityKind::Member => EntityKind::DropboxMember,
            _ => EntityKind::DropboxTeamFolder,
        },
        name: e.display_name.clone(),
        external_id: e.id.clone(),
        email: e.email.clone(),
    }
}

/// Records discovery's entities for `task` and returns the task's Dropbox entities
/// (Limited Access included) with the Dropbox entity of each that still has content.
pub(crate) async fn sync_entities(
    ctx: &BackupContext,
    task: &BackupTask,
    discovery: &Discovery,
) -> Result<(Vec<Entity>, BTreeMap<String, cairn_dropbox::Entity>)> {
    let scope = ctx.store.account(task.account_id);
    let present: BTreeMap<String, cairn_dropbox::Entity> = discovery
        .entities
        .iter()
        .filter(|e| e.has_content())
        .map(|e| (e.id.clone(), e.clone()))
        .collect();
    let found: Vec<DiscoveredEntity> = present.values().map(discovered).collect();
    let new_status = if task.settings.auto_activate {
        EntityStatus::Scheduled
    } else {
        EntityStatus::NotActive
    };
    let now = ctx.clock.now();
    let fresh = scope
        .entities()
        .upsert_discovered(task.id, &found, new_status, now)
        .await?;
    let mut entities = scope
        .entities()
        .list(
            task.id,
            &EntityQuery {
                include_limited: true,
                ..EntityQuery::default()
            },
        )
        .await?;
    entities.retain(|e| e.kind.service() == Service::Dropbox);

    if task.settings.auto_activate && !fresh.is_empty() {
        let fresh: BTreeSet<_> = fresh.into_iter().collect();
        let names: Vec<&str> = entities
            .iter()
            .filter(|e| fresh.contains(&e.id))
            .map(|e| e.name.as_str())
            .collect();
        let mut event = Event::new(
            EventKind::Other(AUTO_DISCOVERY_EVENT.to_owned()),
            EventOutcome::Success,
            now,
        );
        event
            .details
            .insert("task_id".into(), task.id.to_string().into());
        event
            .details
            .insert("count".into(), (names.len() as u64).into());
        event.details.insert("entities".into(), names.into());
        scope.events().record(&event).await?;
    }

    let gone: Vec<_> = entities
        .iter()
        .filter(|e| e.status != EntityStatus::Archived && !present.contains_key(&e.external_id))
        .map(|e| e.id)
        .collect();
    if !gone.is_empty() {
        scope.entities().archive(&gone, now).await?;
    }
    let back: Vec<_> = entities
        .iter()
        .filter(|e| e.status == EntityStatus::Archived && present.contains_key(&e.external_id))
        .map(|e| e.id)
        .collect();
    if !back.is_empty() {
        scope
            .entities()
            .set_status(&back, EntityStatus::Scheduled)
            .await?;
    }
    for e in &mut entities {
        if gone.contains(&e.id) {
            e.status = EntityStatus::Archived;
            e.archived_at = Some(now);
        } else if back.contains(&e.id) {
            e.status = EntityStatus::Scheduled;
            e.archived_at = None;
        }
    }
    Ok((entities, present))
}
