//! Bulk API 2.0 query and ingest jobs.

use std::collections::HashSet;

use reqwest::Method;
use serde_json::{Value, json};

use super::salesforce_support::{Org, V, start};

async fn results(org: &Org, path: &str) -> (u16, String, String, String) {
    let r = org.call(Method::GET, path, None).await;
    let status = r.status().as_u16();
    let h = |n: &str| {
        r.headers()
            .get(n)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    };
    let (loc, n) = (h("sforce-locator"), h("sforce-numberofrecords"));
    (status, loc, n, r.text().await.unwrap())
}

#[tokio::test]
async fn query_job_results_page_by_locator() {
    let org = start().await;
    let (s, job) = org
        .send(
            Method::POST,
            &format!("{V}/jobs/query"),
            json!({"operation": "query", "query": "SELECT Id, Name, Account.Name FROM Contact"}),
        )
        .await;
    assert_eq!(s, 200, "{job}");
    assert_eq!(job["state"], "UploadComplete");
    assert_eq!(job["object"], "Contact");
    let id = job["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("750"));
    assert_eq!(
        org.sf.control().wait_for_bulk_job(&id).await,
        Some("JobComplete")
    );
    let (_, info) = org.get(&format!("{V}/jobs/query/{id}")).await;
    assert_eq!(info["jobType"], "V2Query");
    let total = info["numberRecordsProcessed"].as_u64().unwrap() as usize;
    let mut seen = HashSet::new();
    let mut locator = String::new();
    let mut chunks = 0;
    loop {
        let path = if locator.is_empty() {
            format!("{V}/jobs/query/{id}/results?maxRecords=250")
        } else {
            format!("{V}/jobs/query/{id}/results?maxRecords=250&locator={locator}")
        };
        let (s, loc, n, csv) = results(&org, &path).await;
        assert_eq!(s, 200);
        let mut lines = csv.lines();
        assert_eq!(lines.next(), Some("\"Id\",\"Name\",\"Account.Name\""));
        let rows: Vec<&str> = lines.collect();
        assert_eq!(rows.len(), n.parse::<usize>().unwrap());
        for row in rows {
            assert!(seen.insert(row.split(',').next().unwrap().to_owned()));
        }
        chunks += 1;
        if loc == "null" {
            break;
        }
        locator = loc;
    }
    assert_eq!(seen.len(), total);
    assert!(chunks > 1);
    let r = org
        .http
        .get(org.url(&format!("/services/data/v61.0/jobs/query/{id}/results")))
        .bearer_auth(&org.token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        409,
        "results must be fetched with the creating version"
    );
    let (s, e) = org
        .send(
            Method::POST,
            &format!("{V}/jobs/query"),
            json!({"operation": "query", "query": "SELECT Id, Body FROM Attachment"}),
        )
        .await;
    assert_eq!(s, 400);
    assert!(
        e[0]["message"]
            .as_str()
            .unwrap()
            .contains("Binary field not supported")
    );
    let (s, e) = org
        .send(
            Method::POST,
            &format!("{V}/jobs/query"),
            json!({"operation": "query", "query": "SELECT Id FROM Nope"}),
        )
        .await;
    assert_eq!((s, e[0]["errorCode"].as_str()), (400, Some("INVALID_TYPE")));
    let r = org
        .call(Method::DELETE, &format!("{V}/jobs/query/{id}"), None)
        .await;
    assert_eq!(r.status(), 204);
    org.sf.shutdown().await;
}

#[tokio::test]
async fn ingest_job_reports_successes_and_failures() {
    let org = start().await;
    let (s, job) = org
        .send(
            Method::POST,
            &format!("{V}/jobs/ingest"),
            json!({"object": "Contact", "operation": "insert", "lineEnding": "LF"}),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(job["state"], "Open");
    let id = job["id"].as_str().unwrap().to_owned();
    assert_eq!(
        job["contentUrl"],
        format!("services/data/v62.0/jobs/ingest/{id}/batches")
    );
    let csv = "LastName,FirstName,Email,Account.Legacy_Id__c\nBulk,One,one@bulk.co,ACC-0000002\n,Missing,missing@bulk.co,\nBulk,Three,three@bulk.co,#N/A\n";
    let r = org
        .http
        .put(org.url(&format!("{V}/jobs/ingest/{id}/batches")))
        .bearer_auth(&org.token)
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let r = org
        .http
        .put(org.url(&format!("{V}/jobs/ingest/{id}/batches")))
        .bearer_auth(&org.token)
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400, "only one upload per job");
    let (s, j) = org
        .send(
            Method::PATCH,
            &format!("{V}/jobs/ingest/{id}"),
            json!({"state": "UploadComplete"}),
        )
        .await;
    assert_eq!((s, j["state"].as_str()), (200, Some("UploadComplete")));
    assert_eq!(
        org.sf.control().wait_for_bulk_job(&id).await,
        Some("JobComplete")
    );
    let (_, info) = org.get(&format!("{V}/jobs/ingest/{id}")).await;
    assert_eq!(info["numberRecordsProcessed"], 3);
    assert_eq!(info["numberRecordsFailed"], 1);
    let ok = org
        .call(
            Method::GET,
            &format!("{V}/jobs/ingest/{id}/successfulResults/"),
            None,
        )
        .await
        .text()
        .await
        .unwrap();
    let mut lines = ok.lines();
    assert_eq!(
        lines.next(),
        Some(
            "\"sf__Id\",\"sf__Created\",\"LastName\",\"FirstName\",\"Email\",\"Account.Legacy_Id__c\""
        )
    );
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 2);
    assert!(
        rows.iter()
            .all(|r| r.starts_with("\"003") && r.contains("\"true\""))
    );
    let failed = org
        .call(
            Method::GET,
            &format!("{V}/jobs/ingest/{id}/failedResults/"),
            None,
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(
        failed
            .lines()
            .nth(1)
            .unwrap()
            .contains("REQUIRED_FIELD_MISSING")
    );
    let (_, q) = org
        .query("SELECT Account.Legacy_Id__c FROM Contact WHERE Email = 'one@bulk.co'")
        .await;
    assert_eq!(q["records"][0]["Account"]["Legacy_Id__c"], "ACC-0000002");

    // Delete them again with a delete job.
    let ids: Vec<String> = rows
        .iter()
        .map(|r| r.split(',').next().unwrap().trim_matches('"').to_owned())
        .collect();
    let (_, del) = org
        .send(
            Method::POST,
            &format!("{V}/jobs/ingest"),
            json!({"object": "Contact", "operation": "delete"}),
        )
        .await;
    let del_id = del["id"].as_str().unwrap().to_owned();
    org.http
        .put(org.url(&format!("{V}/jobs/ingest/{del_id}/batches")))
        .bearer_auth(&org.token)
        .header("content-type", "text/csv")
        .body(format!("Id\n{}\n", ids.join("\n")))
        .send()
        .await
        .unwrap();
    org.send(
        Method::PATCH,
        &format!("{V}/jobs/ingest/{del_id}"),
        json!({"state": "UploadComplete"}),
    )
    .await;
    assert_eq!(
        org.sf.control().wait_for_bulk_job(&del_id).await,
        Some("JobComplete")
    );
    let (_, q) = org
        .query("SELECT Id FROM Contact WHERE Email LIKE '%@bulk.co'")
        .await;
    assert_eq!(q["totalSize"], 0);
    let (s, e): (u16, Value) = org
        .send(
            Method::POST,
            &format!("{V}/jobs/ingest"),
            json!({"object": "Contact", "operation": "upsert"}),
        )
        .await;
    assert_eq!((s, e[0]["errorCode"].as_str()), (400, Some("INVALIDJOB")));
    org.sf.shutdown().await;
}
