//! Entities and tags of a task (F-TASK-4…7): the filtered, paged list; actions on a
//! selection; tags; the drill-down history. Every id a caller names is checked against
//! what the viewer may see, so a Limited Access entity cannot be acted on, tagged or
//! looked at by guessing its id.

use std::collections::BTreeSet;

use chrono::Duration;
use serde::Deserialize;

use cairn_domain::entity::EntityAction;
use cairn_domain::ids::{EntityId, TagId, TaskId};
use cairn_domain::{Entity, EntityKind, EntityStatus, Tag};
use cairn_meta::{EntityHistoryPoint, EntityQuery, MetaError};

use super::{TaskFailure, Tasks};
use crate::auth::FormErrors;

/// Entities per page.
pub const PAGE_SIZE: u32 = 50;

/// The longest drill-down range, in days (F-TASK-7).
pub const MAX_HISTORY_DAYS: u32 = 30;

/// The list's search and filters, as they arrive in the query string.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct EntityFilter {
    /// Substring of name, email or external id.
    pub q: String,
    /// An [`EntityKind`] code, or empty.
    pub kind: String,
    /// An [`EntityStatus`] code, or empty.
    pub status: String,
    /// A tag id, or empty.
    pub tag: String,
    /// 1-based page (text, so a bad value means page 1 rather than an unreadable query).
    pub page: String,
}

impl EntityFilter {
    /// The filter as a query string (without `page`), for links that keep it.
    #[must_use]
    pub fn query_string(&self) -> String {
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("q", &self.q)
            .append_pair("kind", &self.kind)
            .append_pair("status", &self.status)
            .append_pair("tag", &self.tag)
            .finish()
    }
}

/// One page of entities.
#[derive(Debug, Clone)]
pub struct EntityPage {
    /// The entities on this page.
    pub entities: Vec<Entity>,
    /// How many match in all.
    pub total: u64,
    /// This page (1-based).
    pub page: u32,
    /// Pages in all (at least 1).
    pub pages: u32,
}

/// What to do with a selection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SelectionAction {
    /// Activate.
    Activate,
    /// Pause.
    Pause,
    /// Back up now.
    BackupNow,
    /// Delete.
    Delete,
    /// Apply a tag.
    Tag(TagId),
    /// Remove a tag.
    Untag(TagId),
}

fn bad_filter(field: &'static str, message: &str) -> TaskFailure {
    let mut errors = FormErrors::default();
    errors.add(field, message);
    TaskFailure::Invalid(errors)
}

impl Tasks<'_> {
    fn entity_query(&self, filter: &EntityFilter) -> Result<EntityQuery, TaskFailure> {
        let kind = match filter.kind.trim() {
            "" => None,
            code => Some(
                code.parse::<EntityKind>()
                    .map_err(|_| bad_filter("kind", "Unknown entity type."))?,
            ),
        };
        let status = match filter.status.trim() {
            "" => None,
            code => Some(
                code.parse::<EntityStatus>()
                    .map_err(|_| bad_filter("status", "Unknown status."))?,
            ),
        };
        let tag = match filter.tag.trim() {
            "" => None,
            text => Some(
                text.parse::<TagId>()
                    .map_err(|_| bad_filter("tag", "Unknown tag."))?,
            ),
        };
        let search = filter.q.trim();
        Ok(EntityQuery {
            search: (!search.is_empty()).then(|| search.chars().take(200).collect()),
            kind,
            status,
            tag,
            include_limited: self.sees_limited(),
            limit: 0,
            offset: 0,
        })
    }

    /// One page of the task's visible entities matching `filter` (F-TASK-4).
    ///
    /// # Errors
    /// `task.not_found`; [`TaskFailure::Invalid`] for unknown filter values.
    pub async fn entities(
        &self,
        task: TaskId,
        filter: &EntityFilter,
    ) -> Result<EntityPage, TaskFailure> {
        self.authorize()?;
        self.task(task).await?;
        let mut query = self.entity_query(filter)?;
        let total = self.scope().entities().count(task, &query).await?;
        let pages = u32::try_from(total.div_ceil(u64::from(PAGE_SIZE)))
            .unwrap_or(u32::MAX)
            .max(1);
        let page = filter
            .page
            .trim()
            .parse::<u32>()
            .unwrap_or(1)
            .clamp(1, pages);
        query.limit = PAGE_SIZE;
        query.offset = (page - 1).saturating_mul(PAGE_SIZE);
        let entities = self.scope().entities().list(task, &query).await?;
        Ok(EntityPage {
            entities,
            total,
            page,
            pages,
        })
    }

    /// Of `chosen`, the ids of live entities of `task` this viewer may see.
    pub(super) async fn visible_ids(
        &self,
        task: TaskId,
        chosen: &[EntityId],
    ) -> Result<Vec<EntityId>, TaskFailure> {
        let visible: BTreeSet<EntityId> = self
            .visible_entities(task)
            .await?
            .into_iter()
            .map(|e| e.id)
            .collect();
        let mut seen = BTreeSet::new();
        Ok(chosen
            .iter()
            .copied()
            .filter(|id| visible.contains(id) && seen.insert(*id))
            .collect())
    }

    /// One visible entity of `task` (the drill-down).
    ///
    /// # Errors
    /// `entity.not_found` for entities of other tasks, deleted ones and Limited Access
    /// ones the viewer may not see.
    pub async fn entity(&self, task: TaskId, id: EntityId) -> Result<Entity, TaskFailure> {
        self.authorize()?;
        self.task(task).await?;
        let entity = match self.scope().entities().get(id).await {
            Ok(entity) => entity,
            Err(MetaError::NotFound { .. }) => return Err(TaskFailure::entity_not_found()),
            Err(other) => return Err(other.into()),
        };
        if entity.task_id != task
            || entity.deleted_at.is_some()
            || (entity.limited_access && !self.sees_limited())
        {
            return Err(TaskFailure::entity_not_found());
        }
        Ok(entity)
    }

    /// The entity's part in each snapshot of the last `days` days (1–30), oldest first.
    ///
    /// # Errors
    /// As [`Tasks::entity`].
    pub async fn entity_history(
        &self,
        task: TaskId,
        id: EntityId,
        days: u32,
    ) -> Result<Vec<EntityHistoryPoint>, TaskFailure> {
        self.entity(task, id).await?;
        let days = days.clamp(1, MAX_HISTORY_DAYS);
        let since = self.state.clock().now() - Duration::days(i64::from(days));
        Ok(self.scope().snapshots().entity_history(id, since).await?)
    }

    /// Applies `action` to the chosen entities (F-TASK-5, F-TASK-6). Ids the viewer may
    /// not see are ignored. Returns how many entities changed (for Backup now: how many
    /// were queued).
    ///
    /// # Errors
    /// `task.not_found`, `task.deleted`, `entity.none_selected`, `tag.not_found`; for
    /// Backup now, as [`Tasks::backup_now`].
    pub async fn act_on_selection(
        &self,
        task: TaskId,
        chosen: &[EntityId],
        action: SelectionAction,
    ) -> Result<u64, TaskFailure> {
        self.authorize()?;
        self.live_task(task).await?;
        let ids = self.visible_ids(task, chosen).await?;
        if ids.is_empty() {
            return Err(TaskFailure::refused(
                "entity.none_selected",
                "Select at least one entity.",
            ));
        }
        let entities = self.scope().entities();
        let tags = self.scope().tags();
        let changed = match action {
            SelectionAction::Activate => {
                entities.apply_action(&ids, EntityAction::Activate).await?
            }
            SelectionAction::Pause => entities.apply_action(&ids, EntityAction::Pause).await?,
            SelectionAction::Delete => entities.delete(&ids, self.state.clock().now()).await?,
            SelectionAction::BackupNow => {
                self.backup_now(task, Some(&ids)).await?;
                ids.len() as u64
            }
            SelectionAction::Tag(tag) => {
                self.visible_tag(tag).await?;
                tags.apply(tag, &ids).await?
            }
            SelectionAction::Untag(tag) => {
                self.visible_tag(tag).await?;
                tags.remove(tag, &ids).await?
            }
        };
        Ok(changed)
    }

    /// The account's tags this viewer may use: Limited Access tags only for the primary
    /// user (to everyone else they do not exist).
    ///
    /// # Errors
    /// Store failures.
    pub async fn tags(&self) -> Result<Vec<Tag>, TaskFailure> {
        self.authorize()?;
        let sees_limited = self.sees_limited();
        Ok(self
            .scope()
            .tags()
            .list()
            .await?
            .into_iter()
            .filter(|t| sees_limited || !t.limited_access)
            .collect())
    }

    async fn visible_tag(&self, id: TagId) -> Result<Tag, TaskFailure> {
        self.tags()
            .await?
            .into_iter()
            .find(|t| t.id == id)
            .ok_or(TaskFailure::NotFound {
                code: "tag.not_found",
                message: "There is no such tag.",
            })
    }

    /// Creates a tag (F-TASK-6). Only the primary user may create a Limited Access tag:
    /// it hides entities from everyone else.
    ///
    /// # Errors
    /// [`TaskFailure::Invalid`] for a bad or taken name or a Limited Access tag asked for
    /// by someone else.
    pub async fn create_tag(&self, name: &str, limited_access: bool) -> Result<Tag, TaskFailure> {
        self.authorize()?;
        let mut errors = FormErrors::default();
        if limited_access && !self.sees_limited() {
            errors.add(
                "limited_access",
                "Only the account's primary user can create Limited Access tags.",
            );
            return Err(TaskFailure::Invalid(errors));
        }
        let tag = Tag::new(name, limited_access, self.state.clock().now()).map_err(|e| {
            errors.add("tag_name", e.to_string());
            TaskFailure::Invalid(errors.clone())
        })?;
        match self.scope().tags().create(&tag).await {
            Ok(()) => Ok(tag),
            Err(MetaError::Conflict { .. }) => {
                let mut errors = FormErrors::default();
                errors.add("tag_name", "A tag with this name already exists.");
                Err(TaskFailure::Invalid(errors))
            }
            Err(other) => Err(other.into()),
        }
    }
}
