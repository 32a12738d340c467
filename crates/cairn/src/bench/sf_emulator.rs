//! `cairn bench sf-emulator`: how fast the Salesforce emulator generates a large org and
//! serves it, so it is never the bottleneck of a backup benchmark.
//!
//! Figures: `generate_large_s` and `generate_peak_rss_mib` for the large profile (1M+
//! records), and `query_records_per_s` reading the biggest objects with every field in
//! `queryAll` pages of 2,000 records over loopback HTTP, two objects at a time as a
//! backup does (`query_single_stream_records_per_s` is one cursor alone). `ok` requires the planned record count and that paging returned every
//! id exactly once, matching `COUNT()`.

use std::collections::HashSet;
use std::time::Instant;

use anyhow::{Context, ensure};
use cairn_emulator::salesforce::{self, Profile, SalesforceOptions};
use serde::Deserialize;
use serde_json::{Value, json};

const OBJECTS: &[&str] = &["Task", "Contact", "Lead", "Account"];
const PARALLEL: usize = 2;

#[derive(Deserialize)]
struct Page {
    #[serde(rename = "totalSize")]
    total: usize,
    #[serde(rename = "nextRecordsUrl")]
    next: Option<String>,
    records: Vec<Rec>,
}

#[derive(Deserialize)]
struct Rec {
    #[serde(rename = "Id")]
    id: String,
}

struct ObjectRead {
    records: usize,
    pages: usize,
    bytes: usize,
    ok: bool,
}

fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

async fn read_object(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    object: &str,
) -> anyhow::Result<ObjectRead> {
    let v = "/services/data/v62.0";
    let describe: Value = http
        .get(format!("{base}{v}/sobjects/{object}/describe"))
        .bearer_auth(token)
        .send()
        .await?
        .json()
        .await?;
    let fields: Vec<&str> = describe["fields"]
        .as_array()
        .context("describe has no fields")?
        .iter()
        .filter(|f| f["type"] != "address" && f["type"] != "base64")
        .filter_map(|f| f["name"].as_str())
        .collect();
    let count: Value = http
        .get(format!(
            "{base}{v}/queryAll?q={}",
            encode(&format!("SELECT COUNT() FROM {object}"))
        ))
        .bearer_auth(token)
        .send()
        .await?
        .json()
        .await?;
    let expected = count["totalSize"]
        .as_u64()
        .context("COUNT() has no totalSize")? as usize;
    let soql = format!("SELECT {} FROM {object}", fields.join(","));
    let mut url = format!("{base}{v}/queryAll?q={}", encode(&soql));
    let mut ids = HashSet::with_capacity(expected);
    let (mut pages, mut bytes, mut duplicate) = (0, 0, false);
    let mut total: usize;
    loop {
        let body = http
            .get(&url)
            .bearer_auth(token)
            .header("Sforce-Query-Options", "batchSize=2000")
            .send()
            .await?
            .error_for_status()?
            .bytes()
            .await?;
        bytes += body.len();
        pages += 1;
        let page: Page = serde_json::from_slice(&body)?;
        total = page.total;
        for r in page.records {
            duplicate |= !ids.insert(r.id);
        }
        match page.next {
            Some(next) => url = format!("{base}{next}"),
            None => break,
        }
    }
    Ok(ObjectRead {
        records: ids.len(),
        pages,
        bytes,
        ok: !duplicate && ids.len() == expected && total == expected,
    })
}

pub async fn run() -> anyhow::Result<Value> {
    let opts = SalesforceOptions {
        seed: 20_260_302,
        profile: Profile::Large,
        clock_running: false,
        daily_api_requests: 10_000_000,
        ..SalesforceOptions::default()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let started = Instant::now();
    let sf = salesforce::start(listener, opts).await?;
    let generate_s = started.elapsed().as_secs_f64();
    let peak_rss = super::peak_rss_mib();
    let info = sf.control().info();
    let records: usize = info.records.values().sum();
    let count_ok = records >= 1_000_000;

    let http = reqwest::Client::builder().build()?;
    let base = sf.base_url().to_owned();
    let token = sf.credentials().access_token.clone();
    // One object read alone: the speed a single cursor sees.
    let started = Instant::now();
    let single = read_object(&http, &base, &token, OBJECTS[0]).await?;
    let single_s = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let mut reads = Vec::new();
    for group in OBJECTS.chunks(PARALLEL) {
        let handles: Vec<_> = group
            .iter()
            .map(|o| {
                let (http, base, token, o) =
                    (http.clone(), base.clone(), token.clone(), (*o).to_owned());
                tokio::spawn(async move { read_object(&http, &base, &token, &o).await })
            })
            .collect();
        for h in handles {
            reads.push(h.await??);
        }
    }
    let query_s = started.elapsed().as_secs_f64();
    let read_records: usize = reads.iter().map(|r| r.records).sum();
    let pages: usize = reads.iter().map(|r| r.pages).sum();
    let bytes: usize = reads.iter().map(|r| r.bytes).sum();
    let query_ok = single.ok && reads.iter().all(|r| r.ok);
    ensure!(read_records > 0, "no records were read");
    sf.shutdown().await;
    Ok(json!({
        "scenario": "sf-emulator",
        "ok": count_ok && query_ok,
        "generate_large_s": (generate_s * 100.0).round() / 100.0,
        "generate_peak_rss_mib": peak_rss.map(|m| m.round()),
        "records": records,
        "query_records_per_s": (read_records as f64 / query_s).round(),
        "query_records": read_records,
        "query_pages": pages,
        "query_mib_per_s": ((bytes as f64 / (1024.0 * 1024.0)) / query_s * 10.0).round() / 10.0,
        "query_objects": OBJECTS,
        "query_parallel_objects": PARALLEL,
        "query_single_stream_records_per_s": (single.records as f64 / single_s).round(),
        "load_average_1m": super::load_average(),
    }))
}
