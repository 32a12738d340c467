//! REST API: versions, describe, query paging and errors, CRUD, blobs, replication,
//! limits.

use std::collections::HashSet;

use reqwest::Method;
use serde_json::{Value, json};

use super::salesforce_support::{V, first_id, start, url_encode};

#[tokio::test]
async fn versions_need_no_auth_and_carry_no_limit_header() {
    let org = start().await;
    let r = org
        .http
        .get(org.url("/services/data/"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers().get("sforce-limit-info").is_none());
    let list: Vec<Value> = r.json().await.unwrap();
    assert!(list.iter().any(|v| v["version"] == "62.0"
        && v["label"] == "Winter '25"
        && v["url"] == "/services/data/v62.0"));
    org.sf.shutdown().await;
}

#[tokio::test]
async fn bad_sessions_get_401_with_the_array_body() {
    let org = start().await;
    let r = org
        .http
        .get(org.url(&format!("{V}/sobjects")))
        .bearer_auth("00Dnope!bogus")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["www-authenticate"], "Token");
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body,
        json!([{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}])
    );
    let r = org
        .http
        .get(org.url(&format!("{V}/sobjects")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "no Authorization header");
    let (status, _) = org.get("/services/data/v19.0/sobjects").await;
    assert_eq!(status, 404, "retired versions are not served");
    org.sf.shutdown().await;
}

#[tokio::test]
async fn describes_have_the_real_key_sets() {
    let org = start().await;
    let (s, global) = org.get(&format!("{V}/sobjects/")).await;
    assert_eq!(s, 200);
    assert_eq!(global["maxBatchSize"], 200);
    let account = global["sobjects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"] == "Account")
        .unwrap();
    assert_eq!(account["keyPrefix"], "001");
    assert_eq!(
        account["urls"]["describe"],
        format!("{V}/sobjects/Account/describe")
    );

    let (s, d) = org.get(&format!("{V}/sobjects/Contact/describe")).await;
    assert_eq!(s, 200);
    let fields = d["fields"].as_array().unwrap();
    let f = |n: &str| fields.iter().find(|f| f["name"] == n).unwrap().clone();
    assert_eq!(f("Id")["type"], "id");
    assert_eq!(f("Id")["soapType"], "tns:ID");
    assert_eq!(f("AccountId")["referenceTo"], json!(["Account"]));
    assert_eq!(f("AccountId")["relationshipName"], "Account");
    assert_eq!(f("ReportsToId")["referenceTo"], json!(["Contact"]));
    assert_eq!(f("Name")["createable"], false);
    assert_eq!(f("Legacy_Id__c")["externalId"], true);
    assert_eq!(f("CreatedDate")["createable"], false);
    for key in [
        "aggregatable",
        "calculated",
        "compoundFieldName",
        "nillable",
        "picklistValues",
        "polymorphicForeignKey",
        "writeRequiresMasterRead",
    ] {
        assert!(f("Email").get(key).is_some(), "field key {key}");
    }
    let (_, task) = org.get(&format!("{V}/sobjects/Task/describe")).await;
    let what = task["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "WhatId")
        .unwrap()
        .clone();
    assert_eq!(what["polymorphicForeignKey"], true);
    let (_, opp) = org.get(&format!("{V}/sobjects/Opportunity/describe")).await;
    let expected = opp["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "ExpectedRevenue")
        .unwrap()
        .clone();
    assert_eq!(expected["calculated"], true);
    let rts = opp["recordTypeInfos"].as_array().unwrap();
    assert!(
        rts.iter()
            .any(|r| r["master"] == true && r["recordTypeId"] == "012000000000000AAA")
    );
    assert!(rts.iter().any(|r| r["developerName"] == "Renewal"));
    let (_, acc) = org.get(&format!("{V}/sobjects/Account/describe")).await;
    assert!(
        acc["childRelationships"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["relationshipName"] == "Contacts" && c["cascadeDelete"] == true)
    );
    let (s, e) = org.get(&format!("{V}/sobjects/Nope__c/describe")).await;
    assert_eq!((s, e[0]["errorCode"].as_str()), (404, Some("NOT_FOUND")));
    // Conditional GET: nothing changed since the org was created.
    let r = org
        .http
        .get(org.url(&format!("{V}/sobjects/Account/describe")))
        .bearer_auth(&org.token)
        .header("If-Modified-Since", "Fri, 01 Jan 2100 00:00:00 GMT")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 304);
    org.sf.shutdown().await;
}

#[tokio::test]
async fn query_pages_with_batch_size_and_returns_every_row_once() {
    let org = start().await;
    let (_, count) = org.query("SELECT COUNT() FROM Contact").await;
    let total = count["totalSize"].as_u64().unwrap() as usize;
    assert!(total > 500);
    assert_eq!(count["records"], json!([]));
    let r = org
        .http
        .get(org.url(&format!(
            "{V}/query?q={}",
            url_encode("SELECT Id, Name, Account.Name FROM Contact")
        )))
        .bearer_auth(&org.token)
        .header("Sforce-Query-Options", "batchSize=200")
        .send()
        .await
        .unwrap();
    assert!(
        r.headers()["sforce-limit-info"]
            .to_str()
            .unwrap()
            .starts_with("api-usage=")
    );
    let mut page: Value = r.json().await.unwrap();
    assert_eq!(page["totalSize"].as_u64().unwrap() as usize, total);
    assert_eq!(page["done"], false);
    let mut ids = HashSet::new();
    let mut pages = 0;
    loop {
        let records = page["records"].as_array().unwrap();
        assert!(records.len() <= 200);
        for r in records {
            assert_eq!(r["attributes"]["type"], "Contact");
            assert!(
                r["attributes"]["url"]
                    .as_str()
                    .unwrap()
                    .starts_with(&format!("{V}/sobjects/Contact/003"))
            );
            assert!(
                ids.insert(r["Id"].as_str().unwrap().to_owned()),
                "duplicate id"
            );
            assert!(r["Account"].is_null() || r["Account"]["attributes"]["type"] == "Account");
        }
        pages += 1;
        match page["nextRecordsUrl"].as_str() {
            Some(next) => {
                assert!(next.starts_with(&format!("{V}/query/01g")));
                page = org.get(next).await.1;
            }
            None => {
                assert_eq!(page["done"], true);
                break;
            }
        }
    }
    assert_eq!(ids.len(), total);
    assert!(pages >= total / 200);
    let (s, e) = org.get(&format!("{V}/query/01gKx0000000000AAA-200")).await;
    assert_eq!(
        (s, e[0]["errorCode"].as_str()),
        (400, Some("INVALID_QUERY_LOCATOR"))
    );
    org.sf.shutdown().await;
}

#[tokio::test]
async fn soql_filters_relationships_and_subqueries() {
    let org = start().await;
    let (_, r) = org.query("SELECT Id, Name, Owner.Name, (SELECT Id, LastName FROM Contacts) FROM Account WHERE Industry != null ORDER BY Name LIMIT 5").await;
    let recs = r["records"].as_array().unwrap();
    assert_eq!(recs.len(), 5);
    let names: Vec<String> = recs
        .iter()
        .map(|r| r["Name"].as_str().unwrap().to_lowercase())
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    assert_eq!(recs[0]["Owner"]["attributes"]["type"], "User");
    assert!(recs.iter().any(|r| {
        r["Contacts"]["records"]
            .as_array()
            .is_some_and(|c| !c.is_empty())
    }));
    let (_, t) = org
        .query("SELECT Id, What.Name, Who.Name FROM Task WHERE WhatId != null LIMIT 3")
        .await;
    assert!(t["records"][0]["What"]["Name"].is_string());
    let (_, d) = org.query("SELECT Id, CreatedDate, CloseDate, Amount, IsClosed FROM Opportunity WHERE CreatedDate = LAST_N_DAYS:400 AND Amount > 1000 LIMIT 1").await;
    let rec = &d["records"][0];
    assert!(rec["CreatedDate"].as_str().unwrap().ends_with(".000+0000"));
    assert_eq!(rec["CloseDate"].as_str().unwrap().len(), 10);
    assert!(rec["Amount"].is_number() && rec["IsClosed"].is_boolean());
    org.sf.shutdown().await;
}

#[tokio::test]
async fn bad_soql_gets_salesforce_errors() {
    let org = start().await;
    let (s, e) = org.query("SELECT Id FRM Account").await;
    assert_eq!(s, 400);
    assert_eq!(e[0]["errorCode"], "MALFORMED_QUERY");
    let msg = e[0]["message"].as_str().unwrap();
    assert!(
        msg.contains("ERROR at Row:1:Column:11") && msg.contains("unexpected token: 'FRM'"),
        "{msg}"
    );
    let (_, e) = org.query("SELECT Nme FROM Account").await;
    assert_eq!(e[0]["errorCode"], "INVALID_FIELD");
    assert!(
        e[0]["message"]
            .as_str()
            .unwrap()
            .contains("No such column 'Nme' on entity 'Account'")
    );
    let (_, e) = org.query("SELECT Id FROM Acount").await;
    assert_eq!(e[0]["errorCode"], "INVALID_TYPE");
    let (_, e) = org
        .query("SELECT Id FROM Account WHERE CreatedDate > 2020-01-01")
        .await;
    assert_eq!(e[0]["errorCode"], "INVALID_QUERY_FILTER_OPERATOR");
    let (s, e) = org.get(&format!("{V}/query")).await;
    assert_eq!(
        (s, e[0]["errorCode"].as_str()),
        (400, Some("MALFORMED_QUERY"))
    );
    org.sf.shutdown().await;
}

#[tokio::test]
async fn crud_lifecycle_with_recycle_bin() {
    let org = start().await;
    let (s, created) = org
        .send(
            Method::POST,
            &format!("{V}/sobjects/Account"),
            json!({"Name": "Tidewater Test Ltd", "AnnualRevenue": 1500000}),
        )
        .await;
    assert_eq!(s, 201, "{created}");
    assert_eq!(created["success"], true);
    let id = created["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("001") && id.len() == 18);
    let (s, rec) = org.get(&format!("{V}/sobjects/Account/{id}")).await;
    assert_eq!(s, 200);
    assert_eq!(rec["Name"], "Tidewater Test Ltd");
    assert_eq!(rec["AnnualRevenue"], 1500000.0);
    assert_eq!(rec["Customer_Tier__c"], "SMB");
    assert_eq!(rec["IsDeleted"], false);
    assert!(
        rec["Automation_Stamp__c"]
            .as_str()
            .unwrap()
            .starts_with("AccountAutomationStamp")
    );
    let (_, partial) = org
        .get(&format!("{V}/sobjects/Account/{id}?fields=Name,Industry"))
        .await;
    assert!(partial.get("AnnualRevenue").is_none() && partial["Industry"].is_null());

    let r = org
        .call(
            Method::PATCH,
            &format!("{V}/sobjects/Account/{id}"),
            Some(json!({"Industry": "Banking"})),
        )
        .await;
    assert_eq!(r.status(), 204);
    let (_, rec2) = org.get(&format!("{V}/sobjects/Account/{id}")).await;
    assert_eq!(rec2["Industry"], "Banking");
    assert!(rec2["SystemModstamp"].as_str().unwrap() >= rec["SystemModstamp"].as_str().unwrap());

    let (s, e) = org
        .send(
            Method::POST,
            &format!("{V}/sobjects/Account"),
            json!({"Industry": "Banking"}),
        )
        .await;
    assert_eq!(s, 400);
    assert_eq!(e[0]["errorCode"], "REQUIRED_FIELD_MISSING");
    assert_eq!(e[0]["fields"], json!(["Name"]));
    let (_, e) = org
        .send(
            Method::POST,
            &format!("{V}/sobjects/Account"),
            json!({"Name": "X", "Bogus__c": 1}),
        )
        .await;
    assert_eq!(e[0]["errorCode"], "INVALID_FIELD");
    let (_, e) = org
        .send(
            Method::POST,
            &format!("{V}/sobjects/Account"),
            json!({"Name": "X", "Customer_Tier__c": "y"}),
        )
        .await;
    assert_eq!(e[0]["errorCode"], "INVALID_FIELD_FOR_INSERT_UPDATE");
    let r = org
        .http
        .post(org.url(&format!("{V}/sobjects/Account")))
        .bearer_auth(&org.token)
        .header("content-type", "application/json")
        .body("{\"Name\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e[0]["errorCode"], "JSON_PARSER_ERROR");
    let (_, e) = org
        .send(
            Method::POST,
            &format!("{V}/sobjects/Account"),
            json!({"Name": "Neg", "AnnualRevenue": -5}),
        )
        .await;
    assert_eq!(
        e[0]["errorCode"], "FIELD_CUSTOM_VALIDATION_EXCEPTION",
        "active validation rule"
    );

    let r = org
        .call(Method::DELETE, &format!("{V}/sobjects/Account/{id}"), None)
        .await;
    assert_eq!(r.status(), 204);
    let (s, _) = org.get(&format!("{V}/sobjects/Account/{id}")).await;
    assert_eq!(s, 404);
    let (_, q) = org
        .query(&format!("SELECT Id FROM Account WHERE Id = '{id}'"))
        .await;
    assert_eq!(q["totalSize"], 0, "deleted rows are only in queryAll");
    let (_, qa) = org
        .query_all(&format!(
            "SELECT Id, IsDeleted FROM Account WHERE Id = '{id}'"
        ))
        .await;
    assert_eq!(qa["records"][0]["IsDeleted"], true);
    org.sf.shutdown().await;
}

#[tokio::test]
async fn external_id_upsert_and_lookup() {
    let org = start().await;
    let path = format!("{V}/sobjects/Project__c/Project_Code__c/PRJ-NEW-1");
    let (s, r) = org
        .send(Method::PATCH, &path, json!({"Name": "Harbor Rollout"}))
        .await;
    assert_eq!((s, r["created"].as_bool()), (201, Some(true)), "{r}");
    let (s, r) = org
        .send(Method::PATCH, &path, json!({"Name": "Harbor Rollout 2"}))
        .await;
    assert_eq!((s, r["created"].as_bool()), (200, Some(false)));
    let (s, rec) = org.get(&path).await;
    assert_eq!((s, rec["Name"].as_str()), (200, Some("Harbor Rollout 2")));
    let (s, e) = org
        .send(
            Method::PATCH,
            &format!("{V}/sobjects/Project__c/Name/x"),
            json!({}),
        )
        .await;
    assert_eq!((s, e[0]["errorCode"].as_str()), (404, Some("NOT_FOUND")));
    org.sf.shutdown().await;
}

#[tokio::test]
async fn blobs_download_and_multipart_upload() {
    let org = start().await;
    let (_, q) = org
        .query("SELECT Id, Body, BodyLength FROM Attachment LIMIT 1")
        .await;
    let rec = &q["records"][0];
    let url = rec["Body"].as_str().unwrap();
    assert!(url.ends_with("/Body") && url.starts_with(&format!("{V}/sobjects/Attachment/")));
    let bytes = org
        .call(Method::GET, url, None)
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(bytes.len() as f64, rec["BodyLength"].as_f64().unwrap());

    let account = first_id(&org, "SELECT Id FROM Account LIMIT 1").await;
    let boundary = "boundary_cairn";
    let mut body = Vec::new();
    body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"entity_content\";\r\nContent-Type: application/json\r\n\r\n").as_bytes());
    body.extend_from_slice(json!({"Title": "Signed contract", "PathOnClient": "contract.pdf", "FirstPublishLocationId": account}).to_string().as_bytes());
    body.extend_from_slice(format!("\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"VersionData\"; filename=\"contract.pdf\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes());
    body.extend_from_slice(b"%PDF-1.7 binary \x00\x01\x02 payload");
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let r = org
        .http
        .post(org.url(&format!("{V}/sobjects/ContentVersion")))
        .bearer_auth(&org.token)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status();
    let cv: Value = r.json().await.unwrap();
    assert_eq!(status, 201, "{cv}");
    let cv_id = cv["id"].as_str().unwrap();
    let (_, v) = org
        .get(&format!("{V}/sobjects/ContentVersion/{cv_id}"))
        .await;
    assert_eq!(v["FileExtension"], "pdf");
    assert_eq!(v["IsLatest"], true);
    let doc = v["ContentDocumentId"].as_str().unwrap();
    let data = org
        .call(
            Method::GET,
            &format!("{V}/sobjects/ContentVersion/{cv_id}/VersionData"),
            None,
        )
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(&data[..], b"%PDF-1.7 binary \x00\x01\x02 payload");
    let (_, links) = org
        .query(&format!(
            "SELECT LinkedEntityId FROM ContentDocumentLink WHERE ContentDocumentId = '{doc}'"
        ))
        .await;
    assert!(
        links["records"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["LinkedEntityId"] == account)
    );
    org.sf.shutdown().await;
}

#[tokio::test]
async fn get_updated_and_deleted_windows() {
    let org = start().await;
    let control = org.sf.control();
    control.advance_clock(120_000);
    let now = control.now();
    let start = cairn_emulator::salesforce::clock::format_datetime(now - 3_600_000);
    let id = first_id(&org, "SELECT Id FROM Lead ORDER BY Id LIMIT 1").await;
    org.call(
        Method::PATCH,
        &format!("{V}/sobjects/Lead/{id}"),
        Some(json!({"Title": "CTO"})),
    )
    .await;
    let other = first_id(&org, "SELECT Id FROM Lead ORDER BY Id DESC LIMIT 1").await;
    org.call(Method::DELETE, &format!("{V}/sobjects/Lead/{other}"), None)
        .await;
    control.advance_clock(120_000);
    let end = cairn_emulator::salesforce::clock::format_datetime(control.now());
    let (s, u) = org
        .get(&format!(
            "{V}/sobjects/Lead/updated/?start={}&end={}",
            url_encode(&start),
            url_encode(&end)
        ))
        .await;
    assert_eq!(s, 200, "{u}");
    assert_eq!(u["ids"], json!([id]));
    assert!(
        u["latestDateCovered"]
            .as_str()
            .unwrap()
            .ends_with(":00.000+0000")
    );
    let (_, d) = org
        .get(&format!(
            "{V}/sobjects/Lead/deleted/?start={}&end={}",
            url_encode(&start),
            url_encode(&end)
        ))
        .await;
    assert_eq!(d["deletedRecords"][0]["id"], other);
    assert!(d["earliestDateAvailable"].is_string());
    let old = cairn_emulator::salesforce::clock::format_datetime(now - 40 * 86_400_000);
    let (s, e) = org
        .get(&format!(
            "{V}/sobjects/Lead/updated/?start={}&end={}",
            url_encode(&old),
            url_encode(&end)
        ))
        .await;
    assert_eq!(
        (s, e[0]["errorCode"].as_str()),
        (400, Some("INVALID_REPLICATION_DATE"))
    );
    org.sf.shutdown().await;
}
