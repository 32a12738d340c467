//! The events table: security audit now, system activity later.
//!
//! Recording may happen without an account (a failed sign-in for an unknown email);
//! reading is always through an account scope, newest first, paged by a keyset cursor so
//! a long history pages in constant time.

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use uuid::Uuid;

use cairn_domain::event::{Event, EventCategory, EventKind, RequestOrigin};
use cairn_domain::ids::{AccountId, EventId, TypedId, UserId};

use crate::db::with_pool;
use crate::error::Result;
use crate::rows::parse_stored;
use crate::store::MetaStore;

type Details = serde_json::Map<String, serde_json::Value>;

const INSERT: &str = "INSERT INTO events (id, account_id, category, kind, outcome, actor_user_id, \
     actor_email, ip, user_agent, occurred_at, details) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";

async fn insert(store: &MetaStore, event: &Event) -> Result<()> {
    with_pool!(&store.db, write, pool =>
        sqlx::query(INSERT)
            .bind(event.id.as_uuid())
            .bind(event.account_id.map(|id| id.as_uuid()))
            .bind(event.kind.category().as_str())
            .bind(event.kind.code())
            .bind(event.outcome.as_str())
            .bind(event.actor_user_id.map(|id| id.as_uuid()))
            .bind(event.actor_email.as_deref())
            .bind(event.origin.ip.as_deref())
            .bind(event.origin.user_agent.as_deref())
            .bind(event.occurred_at)
            .bind(Json(&event.details))
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?;
    Ok(())
}

/// Records events, with or without an account.
#[derive(Debug, Clone, Copy)]
pub struct Events<'a> {
    store: &'a MetaStore,
}

impl<'a> Events<'a> {
    pub(crate) fn new(store: &'a MetaStore) -> Self {
        Self { store }
    }

    /// Stores `event` as given.
    ///
    /// # Errors
    /// Database errors (including an unknown account id).
    pub async fn record(&self, event: &Event) -> Result<()> {
        insert(self.store, event).await
    }
}

/// Which events to list.
#[derive(Debug, Clone, Default)]
pub struct EventQuery {
    /// Only this stream; `None` for both.
    pub category: Option<EventCategory>,
    /// Only events strictly older than this cursor (from [`EventPage::next`]).
    pub before: Option<EventCursor>,
    /// At most this many (capped at 500).
    pub limit: u32,
}

/// Where a page of events ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventCursor {
    /// The last listed event's time.
    pub occurred_at: DateTime<Utc>,
    /// The last listed event's id (tie-breaker).
    pub id: EventId,
}

/// One page of events, newest first.
#[derive(Debug, Clone)]
pub struct EventPage {
    /// The events.
    pub events: Vec<Event>,
    /// The cursor for the next (older) page, if there may be one.
    pub next: Option<EventCursor>,
}

/// The events of one account.
#[derive(Debug, Clone, Copy)]
pub struct AccountEvents<'a> {
    store: &'a MetaStore,
    account: AccountId,
}

#[derive(sqlx::FromRow)]
struct EventRow {
    id: Uuid,
    account_id: Option<Uuid>,
    kind: String,
    outcome: String,
    actor_user_id: Option<Uuid>,
    actor_email: Option<String>,
    ip: Option<String>,
    user_agent: Option<String>,
    occurred_at: DateTime<Utc>,
    details: Json<Details>,
}

impl EventRow {
    fn into_event(self) -> Result<Event> {
        Ok(Event {
            id: EventId::from_uuid(self.id),
            account_id: self.account_id.map(AccountId::from_uuid),
            kind: EventKind::from_code(&self.kind),
            outcome: parse_stored("events.outcome", &self.outcome)?,
            actor_user_id: self.actor_user_id.map(UserId::from_uuid),
            actor_email: self.actor_email,
            origin: RequestOrigin {
                ip: self.ip,
                user_agent: self.user_agent,
            },
            occurred_at: self.occurred_at,
            details: self.details.0,
        })
    }
}

/// Largest page served.
pub const MAX_EVENT_PAGE: u32 = 500;

impl<'a> AccountEvents<'a> {
    pub(crate) fn new(store: &'a MetaStore, account: AccountId) -> Self {
        Self { store, account }
    }

    /// Stores `event` in this account (its `account_id` is overwritten with this scope's).
    ///
    /// # Errors
    /// Database errors.
    pub async fn record(&self, event: &Event) -> Result<()> {
        let mut event = event.clone();
        event.account_id = Some(self.account);
        insert(self.store, &event).await
    }

    /// A page of this account's events, newest first.
    ///
    /// # Errors
    /// Database errors; unreadable rows.
    pub async fn list(&self, query: &EventQuery) -> Result<EventPage> {
        // One statement serves every filter combination: a NULL parameter disables its
        // condition. The cursor compares (time, id) so equal timestamps page correctly.
        const SQL: &str = "SELECT id, account_id, kind, outcome, actor_user_id, actor_email, \
             ip, user_agent, occurred_at, details FROM events \
             WHERE account_id = $1 \
             AND ($2 IS NULL OR category = $2) \
             AND ($3 IS NULL OR occurred_at < $3 OR (occurred_at = $3 AND id < $4)) \
             ORDER BY occurred_at DESC, id DESC LIMIT $5";
        let limit = query.limit.clamp(1, MAX_EVENT_PAGE);
        let category = query.category.map(EventCategory::as_str);
        let before_at = query.before.map(|c| c.occurred_at);
        let before_id = query.before.map_or(Uuid::nil(), |c| c.id.as_uuid());
        let rows: Vec<EventRow> = with_pool!(&self.store.db, read, pool =>
            sqlx::query_as(SQL)
                .bind(self.account.as_uuid())
                .bind(category)
                .bind(before_at)
                .bind(before_id)
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await)?;
        let events = rows
            .into_iter()
            .map(EventRow::into_event)
            .collect::<Result<Vec<_>>>()?;
        let next = (events.len() == limit as usize)
            .then(|| events.last())
            .flatten()
            .map(|last| EventCursor {
                occurred_at: last.occurred_at,
                id: last.id,
            });
        Ok(EventPage { events, next })
    }
}
