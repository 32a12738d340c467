//! A killed job resumes from its persisted checkpoint: REST reads continue at the saved
//! `nextRecordsUrl` (or query again from the watermark when the locator has expired),
//! Bulk reads continue at the saved `Sforce-Locator` — every record exactly once.

use std::collections::BTreeSet;
use std::sync::Arc;

use cairn_emulator::salesforce::Settings;
use cairn_salesforce::{Checkpoint, Cursor, ReadPath, SalesforceApp};

use super::support::{config, connected, dump, start_org};

/// Reads `pages` pages, then "crashes": returns the ids read and the checkpoint as the
/// job would have persisted it (JSON).
async fn read_then_crash(
    client: &cairn_salesforce::OrgClient,
    object: &str,
    pages: usize,
) -> (Vec<String>, String) {
    let schema = Arc::new(client.describe(object).await.unwrap());
    let mut reader = client.read_records(schema, Checkpoint::full()).unwrap();
    let mut ids = Vec::new();
    let mut saved = serde_json::to_string(&Checkpoint::full()).unwrap();
    for _ in 0..pages {
        let page = reader.next_page().await.unwrap().unwrap();
        ids.extend(page.records.iter().map(|r| r.key.clone()));
        saved = serde_json::to_string(&page.checkpoint).unwrap();
    }
    (ids, saved)
}

async fn finish(
    client: &cairn_salesforce::OrgClient,
    object: &str,
    saved: &str,
) -> (Vec<String>, Vec<ReadPath>) {
    let checkpoint: Checkpoint = serde_json::from_str(saved).unwrap();
    let schema = Arc::new(client.describe(object).await.unwrap());
    let mut reader = client.read_records(schema, checkpoint).unwrap();
    let mut ids = Vec::new();
    let mut paths = Vec::new();
    while let Some(page) = reader.next_page().await.unwrap() {
        ids.extend(page.records.iter().map(|r| r.key.clone()));
        paths.push(page.path);
    }
    assert!(reader.checkpoint().is_done());
    (ids, paths)
}

fn assert_exactly_once(first: Vec<String>, rest: Vec<String>, expected: BTreeSet<&String>) {
    let total = first.len() + rest.len();
    let all: BTreeSet<&String> = first.iter().chain(rest.iter()).collect();
    assert_eq!(all.len(), total, "no record read twice");
    assert_eq!(all, expected, "every record read");
}

#[tokio::test]
async fn rest_reads_resume_at_the_saved_page_or_the_watermark() {
    let sf = start_org(41).await;
    sf.control().apply_settings(&Settings {
        query_page_cap: Some(200),
        ..Settings::default()
    });
    let mut cfg = config(&sf);
    cfg.bulk_threshold = u64::MAX;
    let app = SalesforceApp::new(cfg).unwrap();
    let source = dump(&sf);
    let expected: BTreeSet<&String> = source["Contact"].keys().collect();

    let client = connected(&sf, &app).await;
    let (first, saved) = read_then_crash(&client, "Contact", 2).await;
    assert_eq!(first.len(), 400);
    assert!(saved.contains("next_records_url"), "{saved}");
    // Another worker picks the job up with its own client.
    let other = connected(&sf, &app).await;
    let (rest, paths) = finish(&other, "Contact", &saved).await;
    assert!(paths.iter().all(|p| *p == ReadPath::Rest));
    assert_exactly_once(first, rest, expected.clone());

    // The locator expires while the job is down: the read restarts from the watermark.
    let (first, saved) = read_then_crash(&client, "Contact", 3).await;
    sf.control().advance_clock(3 * 24 * 3600 * 1000);
    let (rest, _) = finish(&other, "Contact", &saved).await;
    assert_exactly_once(first, rest, expected);
}

#[tokio::test]
async fn bulk_reads_resume_at_the_saved_locator() {
    let sf = start_org(42).await;
    let mut cfg = config(&sf);
    cfg.bulk_threshold = 100;
    cfg.bulk_chunk_records = 250;
    let app = SalesforceApp::new(cfg).unwrap();
    let source = dump(&sf);
    let expected: BTreeSet<&String> = source["Task"].keys().collect();
    let client = connected(&sf, &app).await;
    let (first, saved) = read_then_crash(&client, "Task", 2).await;
    assert_eq!(first.len(), 500);
    let checkpoint: Checkpoint = serde_json::from_str(&saved).unwrap();
    assert!(
        matches!(
            checkpoint.cursor,
            Cursor::Bulk {
                locator: Some(_),
                ..
            }
        ),
        "{saved}"
    );
    let jobs_before = sf
        .control()
        .counters()
        .by_endpoint
        .get("bulk2.query")
        .copied();
    let other = connected(&sf, &app).await;
    let (rest, paths) = finish(&other, "Task", &saved).await;
    assert!(paths.iter().all(|p| *p == ReadPath::Bulk));
    assert_exactly_once(first, rest, expected);
    let counters = sf.control().counters();
    assert!(counters.by_endpoint.get("bulk2.query").copied() >= jobs_before);
}
