//! Reads a whole generated org through the connector, in-process, and prints what it
//! cost: `cargo run --release -p cairn-salesforce --example throughput -- [small|medium|large] [rest|bulk]`.
//!
//! A development aid for the connector alone (no vault writes); the product's benchmark
//! is `cairn bench sf-backup --json`. The figures include the emulator's own work, which
//! runs in the same process.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Instant;

use cairn_emulator::salesforce::{self, Mutation, MutationOp, Profile, SalesforceOptions};
use cairn_salesforce::{
    ApiBudget, Checkpoint, DiscardTokens, Environment, OrgClient, SalesforceApp, SalesforceConfig,
    Secret, Session, TokenSet,
};
use url::Url;

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

async fn read_all(
    client: &OrgClient,
    objects: &mut [(Arc<cairn_salesforce::ObjectSchema>, Checkpoint)],
) -> usize {
    let mut n = 0;
    for (schema, checkpoint) in objects.iter_mut() {
        let mut reader = client
            .read_records(schema.clone(), checkpoint.next_run())
            .unwrap();
        while let Some(page) = reader.next_page().await.unwrap() {
            n += page.records.len();
            *checkpoint = page.checkpoint;
        }
    }
    n
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let profile = match args.get(1).map(String::as_str) {
        Some("medium") => Profile::Medium,
        Some("large") => Profile::Large,
        _ => Profile::Small,
    };
    let bulk = args.get(2).map(String::as_str) == Some("bulk");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let generated = Instant::now();
    let sf = salesforce::start(
        listener,
        SalesforceOptions {
            profile,
            clock_running: false,
            daily_api_requests: 10_000_000,
            ..SalesforceOptions::default()
        },
    )
    .await
    .unwrap();
    eprintln!(
        "org generated in {:.1} s",
        generated.elapsed().as_secs_f64()
    );
    let c = sf.credentials().clone();
    let mut config = SalesforceConfig::new(c.client_id.clone(), Secret::new(c.client_secret));
    config.production_login_url =
        Url::parse(&sf.login_url(salesforce::Environment::Production)).unwrap();
    config.bulk_threshold = if bulk { 5_000 } else { u64::MAX };
    config.retry.poll_initial = std::time::Duration::from_millis(20);
    let app = SalesforceApp::new(config).unwrap();
    let tokens = TokenSet {
        access_token: Secret::new(c.access_token),
        refresh_token: None,
        instance_url: sf.base_url().to_owned(),
        id_url: String::new(),
        org_id: c.org_id,
        user_id: c.user_id,
        issued_at_ms: 0,
        scopes: vec!["api".into()],
        environment: Environment::Production,
    };
    let session = Arc::new(Session::new(app, tokens, Arc::new(DiscardTokens)));
    let client = OrgClient::new(session, Arc::new(ApiBudget::new(100)));

    let mut objects = Vec::new();
    for o in client.backup_objects().await.unwrap() {
        let schema = Arc::new(client.describe(&o.name).await.unwrap());
        if schema.is_incremental() {
            objects.push((schema, Checkpoint::full()));
        }
    }
    let calls0 = sf.control().counters().total;
    let t = Instant::now();
    let records = read_all(&client, &mut objects).await;
    let full_s = t.elapsed().as_secs_f64();
    let full_calls = sf.control().counters().total - calls0;

    sf.control().advance_clock(120_000);
    let changed = sf
        .control()
        .mutate(&Mutation {
            op: MutationOp::Update,
            object: "Task".into(),
            percent: Some(1.0),
            count: None,
            ids: None,
            as_user: None,
            fields: None,
            seed: Some(3),
        })
        .unwrap()
        .succeeded;
    sf.control().advance_clock(120_000);
    let t = Instant::now();
    let fetched = read_all(&client, &mut objects).await;
    let incr_s = t.elapsed().as_secs_f64();
    println!(
        "{{\"path\":\"{}\",\"records\":{records},\"full_s\":{full_s:.2},\"full_records_per_s\":{:.0},\"api_calls\":{full_calls},\"api_calls_per_million\":{:.0},\"changed\":{changed},\"incremental_fetched\":{fetched},\"incremental_s\":{incr_s:.2},\"peak_rss_mib\":{:.0}}}",
        if bulk { "bulk" } else { "rest" },
        records as f64 / full_s,
        full_calls as f64 * 1e6 / records as f64,
        peak_rss_mib()
    );
}
