//! Entities and tags: discovery, lists with filters, bulk actions, Limited Access.

use cairn_domain::entity::{DiscoveredEntity, EntityAction};
use cairn_domain::{Entity, EntityKind, EntityStatus, Tag, UserStatus};
use cairn_meta::{EntityQuery, MetaError, MetaStore};

use crate::accounts::seed;
use crate::harness::t0;
use crate::tasks::sf_task;

fn found(kind: EntityKind, name: &str, email: Option<&str>) -> DiscoveredEntity {
    DiscoveredEntity {
        kind,
        name: name.into(),
        external_id: format!("ext-{name}"),
        email: email.map(str::to_owned),
    }
}

fn names(entities: &[Entity]) -> Vec<&str> {
    entities.iter().map(|e| e.name.as_str()).collect()
}

fn all() -> EntityQuery {
    EntityQuery {
        include_limited: true,
        ..EntityQuery::default()
    }
}

async fn discovery_creates_new_and_refreshes_known(store: MetaStore) {
    let (a, _) = seed(&store, "ada@example.com", UserStatus::Active).await;
    let task = sf_task(a.id, "Org");
    store.account(a.id).tasks().create(&task).await.unwrap();
    let entities = store.account(a.id).entities();

    let first = [
        found(EntityKind::SalesforceObject, "Account", None),
        found(EntityKind::SalesforceObject, "Contact", None),
        found(EntityKind::SalesforceMetadata, "ApexClass", None),
    ];
    let new = entities
        .upsert_discovered(task.id, &first, EntityStatus::NotActive, t0())
        .await
        .unwrap();
    assert_eq!(new.len(), 3);

    let mut second = first.to_vec();
    second[0].name = "Account (renamed)".into();
    second.push(found(EntityKind::SalesforceObject, "Lead", None));
    let new = entities
        .upsert_discovered(task.id, &second, EntityStatus::Scheduled, t0())
        .await
        .unwrap();
    assert_eq!(new.len(), 1, "only Lead is new");
    let lead = entities.get(new[0]).await.unwrap();
    assert_eq!(lead.status, EntityStatus::Scheduled);
    assert_eq!(lead.external_id, "ext-Lead");

    let listed = entities.list(task.id, &all()).await.unwrap();
    assert_eq!(
        names(&listed),
        ["Account (renamed)", "ApexClass", "Contact", "Lead"]
    );
    assert_eq!(listed[0].status, EntityStatus::NotActive, "status kept");

    // The same (kind, external id) twice is a conflict and adds nothing.
    let dup = Entity::discovered(task.id, first[1].clone(), EntityStatus::NotActive, t0());
    let err = entities.create(&dup).await.unwrap_err();
    assert!(matches!(err, MetaError::Conflict { .. }), "{err}");
    assert_eq!(entities.count(task.id, &all()).await.unwrap(), 4);
}

async fn lists_filter_by_search_kind_status_and_tag(store: MetaStore) {
    let (a, _) = seed(&store, "ada@example.com", UserStatus::Active).await;
    let task = sf_task(a.id, "Team");
    store.account(a.id).tasks().create(&task).await.unwrap();
    let entities = store.account(a.id).entities();
    let ids = entities
        .upsert_discovered(
            task.id,
            &[
                found(EntityKind::DropboxMember, "Ada", Some("ada@acme.test")),
                found(EntityKind::DropboxMember, "Bob", Some("bob@acme.test")),
                found(EntityKind::DropboxTeamFolder, "Finance_2024", None),
                found(EntityKind::DropboxTeamFolder, "Finance 100%", None),
            ],
            EntityStatus::NotActive,
            t0(),
        )
        .await
        .unwrap();

    let q = |f: fn(&mut EntityQuery)| {
        let mut q = all();
        f(&mut q);
        q
    };
    let list = |query: EntityQuery| {
        let task = task.id;
        async move { names(&entities.list(task, &query).await.unwrap()).join(",") }
    };
    assert_eq!(
        list(q(|q| q.search = Some("ACME.test".into()))).await,
        "Ada,Bob"
    );
    assert_eq!(
        list(q(|q| q.search = Some("100%".into()))).await,
        "Finance 100%"
    );
    assert_eq!(
        list(q(|q| q.search = Some("e_2".into()))).await,
        "Finance_2024"
    );
    assert_eq!(
        list(q(|q| q.kind = Some(EntityKind::DropboxTeamFolder))).await,
        "Finance 100%,Finance_2024"
    );
    entities
        .apply_action(&ids[1..2], EntityAction::Activate)
        .await
        .unwrap();
    assert_eq!(
        list(q(|q| q.status = Some(EntityStatus::Scheduled))).await,
        "Bob"
    );

    let tags = store.account(a.id).tags();
    let vip = Tag::new("VIP", false, t0()).unwrap();
    tags.create(&vip).await.unwrap();
    assert_eq!(tags.apply(vip.id, &[ids[0], ids[2]]).await.unwrap(), 2);
    assert_eq!(
        tags.apply(vip.id, &[ids[0]]).await.unwrap(),
        0,
        "idempotent"
    );
    let mut by_tag = all();
    by_tag.tag = Some(vip.id);
    assert_eq!(list(by_tag.clone()).await, "Ada,Finance_2024");
    assert_eq!(entities.get(ids[0]).await.unwrap().tags, vec![vip.id]);
    assert_eq!(tags.remove(vip.id, &[ids[2]]).await.unwrap(), 1);
    assert_eq!(list(by_tag).await, "Ada");

    let paged = EntityQuery {
        limit: 2,
        offset: 1,
        ..all()
    };
    assert_eq!(list(paged.clone()).await, "Bob,Finance 100%");
    assert_eq!(entities.count(task.id, &paged).await.unwrap(), 4);
}

async fn limited_access_hides_entities(store: MetaStore) {
    let (a, _) = seed(&store, "ada@example.com", UserStatus::Active).await;
    let task = sf_task(a.id, "Team");
    store.account(a.id).tasks().create(&task).await.unwrap();
    let entities = store.account(a.id).entities();
    let ids = entities
        .upsert_discovered(
            task.id,
            &[
                found(EntityKind::DropboxMember, "CEO", Some("ceo@acme.test")),
                found(EntityKind::DropboxMember, "Staff", Some("staff@acme.test")),
            ],
            EntityStatus::NotActive,
            t0(),
        )
        .await
        .unwrap();
    let tags = store.account(a.id).tags();
    let limited = Tag::new("Limited Access", true, t0()).unwrap();
    tags.create(&limited).await.unwrap();
    tags.apply(limited.id, &[ids[0]]).await.unwrap();

    let secondary = EntityQuery::default();
    assert_eq!(
        names(&entities.list(task.id, &secondary).await.unwrap()),
        ["Staff"]
    );
    assert_eq!(entities.count(task.id, &secondary).await.unwrap(), 1);
    let mut search = secondary.clone();
    search.search = Some("ceo".into());
    assert!(entities.list(task.id, &search).await.unwrap().is_empty());
    assert_eq!(
        entities.status_counts(false).await.unwrap(),
        vec![(EntityStatus::NotActive, 1)]
    );
    assert_eq!(
        entities.status_counts(true).await.unwrap(),
        vec![(EntityStatus::NotActive, 2)]
    );
    let ceo = entities.get(ids[0]).await.unwrap();
    assert!(ceo.limited_access);
    assert_eq!(entities.list(task.id, &all()).await.unwrap().len(), 2);

    // Deleting the tag lifts the restriction.
    tags.delete(limited.id).await.unwrap();
    assert!(!entities.get(ids[0]).await.unwrap().limited_access);
    assert_eq!(entities.count(task.id, &secondary).await.unwrap(), 2);
}

async fn bulk_status_actions_and_delete(store: MetaStore) {
    let (a, _) = seed(&store, "ada@example.com", UserStatus::Active).await;
    let (b, _) = seed(&store, "bob@example.com", UserStatus::Active).await;
    let task = sf_task(a.id, "Org");
    store.account(a.id).tasks().create(&task).await.unwrap();
    let entities = store.account(a.id).entities();
    let ids = entities
        .upsert_discovered(
            task.id,
            &(0..4)
                .map(|i| found(EntityKind::SalesforceObject, &format!("O{i}"), None))
                .collect::<Vec<_>>(),
            EntityStatus::NotActive,
            t0(),
        )
        .await
        .unwrap();

    assert_eq!(
        entities
            .apply_action(&ids[..3], EntityAction::Activate)
            .await
            .unwrap(),
        3
    );
    assert_eq!(
        entities
            .set_status(&ids[2..3], EntityStatus::Archived)
            .await
            .unwrap(),
        1
    );
    // Archived stays archived; not-active ones cannot be paused.
    assert_eq!(
        entities
            .apply_action(&ids, EntityAction::Pause)
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        entities.get(ids[2]).await.unwrap().status,
        EntityStatus::Archived
    );
    assert_eq!(
        entities.get(ids[3]).await.unwrap().status,
        EntityStatus::NotActive
    );
    assert_eq!(
        entities
            .apply_action(&ids, EntityAction::Activate)
            .await
            .unwrap(),
        3
    );

    // Another account cannot touch them.
    let other = store.account(b.id).entities();
    assert_eq!(
        other.set_status(&ids, EntityStatus::Paused).await.unwrap(),
        0
    );
    assert_eq!(other.delete(&ids, t0()).await.unwrap(), 0);
    assert!(other.get(ids[0]).await.unwrap_err().is_not_found());
    let tag = Tag::new("x", false, t0()).unwrap();
    store.account(b.id).tags().create(&tag).await.unwrap();
    assert_eq!(
        store
            .account(b.id)
            .tags()
            .apply(tag.id, &ids)
            .await
            .unwrap(),
        0
    );
    assert!(
        store
            .account(a.id)
            .tags()
            .apply(tag.id, &ids)
            .await
            .unwrap_err()
            .is_not_found()
    );

    let cursor = serde_json::json!({"watermark": "2025-06-01T00:00:00.000Z", "page": 3});
    entities.save_cursor(ids[0], &cursor).await.unwrap();
    assert_eq!(entities.get(ids[0]).await.unwrap().cursor, Some(cursor));

    assert_eq!(entities.delete(&ids[..2], t0()).await.unwrap(), 2);
    assert_eq!(entities.count(task.id, &all()).await.unwrap(), 2);
    assert!(entities.get(ids[0]).await.unwrap().deleted_at.is_some());

    // After the grace period they are listed for purging, and purged one by one.
    let catalog = store.task_catalog();
    assert!(
        catalog
            .deleted_entities_before(t0() - chrono::Duration::seconds(1))
            .await
            .unwrap()
            .is_empty()
    );
    let due = catalog.deleted_entities_before(t0()).await.unwrap();
    assert_eq!(
        due.iter()
            .map(|d| (d.account, d.task, d.entity))
            .collect::<Vec<_>>(),
        vec![(a.id, task.id, ids[0]), (a.id, task.id, ids[1])]
    );
    assert!(
        !catalog.purge_entity(a.id, ids[2]).await.unwrap(),
        "live: kept"
    );
    assert!(
        !catalog.purge_entity(b.id, ids[0]).await.unwrap(),
        "other account"
    );
    assert!(catalog.purge_entity(a.id, ids[0]).await.unwrap());
    assert!(entities.get(ids[0]).await.unwrap_err().is_not_found());

    // Entities of a task in another account cannot be created through this scope.
    let err = store
        .account(b.id)
        .entities()
        .upsert_discovered(
            task.id,
            &[found(EntityKind::SalesforceObject, "X", None)],
            EntityStatus::NotActive,
            t0(),
        )
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
}

async fn duplicate_tag_names_conflict(store: MetaStore) {
    let (a, _) = seed(&store, "ada@example.com", UserStatus::Active).await;
    let tags = store.account(a.id).tags();
    tags.create(&Tag::new("VIP", false, t0()).unwrap())
        .await
        .unwrap();
    let err = tags
        .create(&Tag::new("VIP", true, t0()).unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, MetaError::Conflict { .. }), "{err}");
    assert_eq!(tags.list().await.unwrap().len(), 1);
}

crate::contract_tests!(
    discovery_creates_new_and_refreshes_known,
    lists_filter_by_search_kind_status_and_tag,
    limited_access_hides_entities,
    bulk_status_actions_and_delete,
    duplicate_tag_names_conflict,
);
