//! Reads against the emulator's dump: a full read (REST, and Bulk above a threshold)
//! equals the org; an incremental read after updates, deletes, undeletes, hard deletes
//! and inserts fetches exactly the changed rows and finds the hard-deleted ids; blob
//! bodies stream with the dump's hashes.

use std::sync::Arc;

use cairn_emulator::salesforce::{Mutation, MutationOp};
use cairn_salesforce::{ApiBudget, DiscardTokens, SalesforceApp};
use futures::StreamExt;
use sha2::{Digest, Sha256};

use super::support::{Backup, RunReport, client_with, config, connect, dump, dump_diff, start_org};

fn mutation(op: MutationOp, object: &str) -> Mutation {
    Mutation {
        op,
        object: object.into(),
        percent: None,
        count: None,
        ids: None,
        as_user: None,
        fields: None,
        seed: Some(5),
    }
}

#[tokio::test]
async fn full_rest_read_then_incremental_after_every_kind_of_change() {
    let sf = start_org(21).await;
    let mut cfg = config(&sf);
    cfg.bulk_threshold = u64::MAX;
    let app = SalesforceApp::new(cfg).unwrap();
    let tokens = connect(&sf, &app).await;
    let client = client_with(
        &app,
        tokens,
        Arc::new(DiscardTokens),
        Arc::new(ApiBudget::new(100)),
    );

    let mut backup = Backup::default();
    let mut first = RunReport::default();
    backup.run(&client, &mut first).await.unwrap();
    let before = dump(&sf);
    backup.assert_matches(&before);
    assert!(first.rest_pages > 0 && first.bulk_pages == 0);
    assert!(first.hard_deleted.is_empty());

    let control = sf.control();
    control.advance_clock(120_000);
    let updated = control
        .mutate(&Mutation {
            count: Some(7),
            ..mutation(MutationOp::Update, "Contact")
        })
        .unwrap();
    assert_eq!(updated.succeeded, 7, "{updated:?}");
    let deleted = control
        .mutate(&Mutation {
            count: Some(4),
            ..mutation(MutationOp::Delete, "Lead")
        })
        .unwrap();
    assert_eq!(deleted.succeeded, 4);
    control.advance_clock(60_000);
    let undeleted = control
        .mutate(&Mutation {
            ids: Some(deleted.ids[..1].to_vec()),
            ..mutation(MutationOp::Undelete, "Lead")
        })
        .unwrap();
    assert_eq!(undeleted.succeeded, 1);
    let (_, live_leads) = (
        0,
        before["Lead"]
            .iter()
            .filter(|(_, (d, _))| !d)
            .map(|(id, _)| id.clone())
            .find(|id| !deleted.ids.contains(id))
            .unwrap(),
    );
    let hard = control
        .mutate(&Mutation {
            ids: Some(vec![live_leads.clone(), deleted.ids[1].clone()]),
            ..mutation(MutationOp::HardDelete, "Lead")
        })
        .unwrap();
    assert_eq!(hard.succeeded, 2, "{hard:?}");
    let inserted = control
        .mutate(&Mutation {
            count: Some(3),
            ..mutation(MutationOp::Insert, "Account")
        })
        .unwrap();
    assert_eq!(inserted.succeeded, 3);
    control.advance_clock(120_000);

    let mut second = RunReport::default();
    backup.run(&client, &mut second).await.unwrap();
    let after = dump(&sf);
    let objects: Vec<&String> = backup.objects.keys().collect();
    let (changed, gone) = dump_diff(&before, &after, &objects);
    assert_eq!(
        second.fetched, changed,
        "exactly the changed rows are fetched"
    );
    assert_eq!(
        second.hard_deleted, gone,
        "exactly the hard-deleted ids are found"
    );
    for id in updated.ids.iter() {
        assert!(changed.contains(&("Contact".to_owned(), id.clone())));
    }
    assert!(gone.contains(&("Lead".to_owned(), live_leads)));
    assert!(changed.len() >= 7 + 4 + 3, "{changed:?}");
    backup.assert_matches(&after);

    // Nothing changed: the next run fetches nothing.
    control.advance_clock(120_000);
    let mut third = RunReport::default();
    backup.run(&client, &mut third).await.unwrap();
    assert!(third.fetched.is_empty(), "{:?}", third.fetched);
    assert!(third.hard_deleted.is_empty());
}

#[tokio::test]
async fn bulk_reads_equal_rest_reads_and_the_org() {
    let sf = start_org(22).await;
    let mut cfg = config(&sf);
    cfg.bulk_threshold = 100;
    cfg.bulk_chunk_records = 250;
    let app = SalesforceApp::new(cfg).unwrap();
    let tokens = connect(&sf, &app).await;
    let client = client_with(
        &app,
        tokens,
        Arc::new(DiscardTokens),
        Arc::new(ApiBudget::new(100)),
    );
    let mut backup = Backup::default();
    let mut report = RunReport::default();
    backup.run(&client, &mut report).await.unwrap();
    assert!(report.bulk_pages > 4, "{report:?}");
    assert!(
        report.rest_pages > 0,
        "small and blob objects still use REST"
    );
    let before = dump(&sf);
    backup.assert_matches(&before);
    let counters = sf.control().counters();
    assert!(
        counters.by_endpoint.keys().any(|k| k.starts_with("bulk2")),
        "{counters:?}"
    );

    // A Bulk-sized change is read incrementally through Bulk too.
    sf.control().advance_clock(120_000);
    let updated = sf
        .control()
        .mutate(&Mutation {
            count: Some(150),
            ..mutation(MutationOp::Update, "Task")
        })
        .unwrap();
    assert_eq!(updated.succeeded, 150);
    sf.control().advance_clock(120_000);
    let mut second = RunReport::default();
    backup.run(&client, &mut second).await.unwrap();
    let after = dump(&sf);
    let objects: Vec<&String> = backup.objects.keys().collect();
    let (changed, _) = dump_diff(&before, &after, &objects);
    assert_eq!(second.fetched, changed);
    assert!(second.bulk_pages >= 1, "{second:?}");
    backup.assert_matches(&after);
}

#[tokio::test]
async fn blob_bodies_stream_with_the_dumped_hashes() {
    let sf = start_org(23).await;
    let app = super::support::app(&sf);
    let client = super::support::connected(&sf, &app).await;
    let source = dump(&sf);
    let mut checked = 0;
    for (object, field) in [
        ("ContentVersion", "VersionData"),
        ("Attachment", "Body"),
        ("Document", "Body"),
    ] {
        let schema = Arc::new(client.describe(object).await.unwrap());
        let mut reader = client
            .read_records(schema, cairn_salesforce::Checkpoint::full())
            .unwrap();
        while let Some(page) = reader.next_page().await.unwrap() {
            for r in page.records.iter().filter(|r| !r.deleted).take(5) {
                assert_eq!(r.blob_fields, [field]);
                let mut blob = client.blob(object, &r.key, field).await.unwrap();
                let mut hash = Sha256::new();
                let mut len = 0usize;
                while let Some(chunk) = blob.stream.next().await {
                    let chunk = chunk.unwrap();
                    len += chunk.len();
                    hash.update(&chunk);
                }
                let expected = &source[object][&r.key].1[field];
                assert_eq!(
                    expected["sha256"],
                    hex::encode(hash.finalize()),
                    "{object} {}",
                    r.key
                );
                assert_eq!(expected["length"], len);
                checked += 1;
            }
        }
    }
    assert!(checked >= 10, "{checked}");
    let e = client
        .blob("Attachment", "00P000000000000AAA", "Body")
        .await
        .unwrap_err();
    assert_eq!(e.kind(), cairn_salesforce::ErrorKind::NotFound, "{e}");
    assert!(client.blob("Attachment", "../../x", "Body").await.is_err());
}

#[tokio::test]
async fn live_reads_by_id_match_the_incremental_read() {
    let sf = start_org(24).await;
    let app = super::support::app(&sf);
    let client = super::support::connected(&sf, &app).await;
    let schema = Arc::new(client.describe("Contact").await.unwrap());
    let mut reader = client
        .read_records(schema.clone(), cairn_salesforce::Checkpoint::full())
        .unwrap();
    let page = reader.next_page().await.unwrap().unwrap();
    let read: Vec<_> = page.records.iter().filter(|r| !r.deleted).take(5).collect();
    let mut ids: Vec<String> = read.iter().map(|r| r.key.clone()).collect();
    ids.push("003000000000000AAA".into());
    let deleted = page.records.iter().find(|r| r.deleted);
    ids.extend(deleted.map(|r| r.key.clone()));
    let live = client.fetch_records(&schema, &ids).await.unwrap();
    assert_eq!(live.len(), ids.len());
    for (got, read) in live.iter().zip(&read) {
        assert_eq!(got.as_ref().unwrap(), *read);
    }
    assert!(
        live[5..].iter().all(Option::is_none),
        "unknown and deleted ids are not live"
    );
    assert!(
        client
            .fetch_records(&schema, &["x'; DROP".into()])
            .await
            .is_err()
    );
}
