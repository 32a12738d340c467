//! The control API (in-process and HTTP): mutations as a user, the clock and recycle-bin
//! retention, faults, sessions, counters, deterministic dumps, persistence and TLS.

use cairn_emulator::salesforce::{FaultKind, FaultRule, Mutation, MutationOp, SalesforceOptions};
use reqwest::Method;
use serde_json::{Value, json};

use super::salesforce_support::{V, options, start, start_with};

fn mutation(op: MutationOp, object: &str) -> Mutation {
    Mutation {
        op,
        object: object.into(),
        percent: None,
        count: None,
        ids: None,
        as_user: None,
        fields: None,
        seed: Some(9),
    }
}

#[tokio::test]
async fn mutations_run_as_the_given_user_through_the_write_path() {
    let org = start().await;
    let control = org.sf.control();
    let (_, users) = org
        .query("SELECT Id, Username FROM User WHERE IsActive = true ORDER BY Id DESC LIMIT 1")
        .await;
    let user_id = users["records"][0]["Id"].as_str().unwrap().to_owned();
    let username = users["records"][0]["Username"].as_str().unwrap().to_owned();
    control.advance_clock(60_000);
    let before = control.now();
    let report = control
        .mutate(&Mutation {
            percent: Some(10.0),
            as_user: Some(username),
            ..mutation(MutationOp::Update, "Contact")
        })
        .unwrap();
    assert!(report.succeeded > 50, "{report:?}");
    assert_eq!(report.failed, 0);
    let since = cairn_emulator::salesforce::clock::format_datetime(before - 1000);
    let changed = org
        .query_everything(
            &format!("SELECT Id, LastModifiedById FROM Contact WHERE SystemModstamp > {since}"),
            false,
        )
        .await;
    assert_eq!(
        changed.len(),
        report.succeeded,
        "incremental query sees exactly the changed rows"
    );
    assert!(
        changed
            .iter()
            .all(|r| r["LastModifiedById"] == user_id.as_str())
    );

    let del = control
        .mutate(&Mutation {
            count: Some(5),
            ..mutation(MutationOp::Delete, "Lead")
        })
        .unwrap();
    assert_eq!(del.succeeded, 5);
    let (_, bin) = org
        .query_all("SELECT COUNT() FROM Lead WHERE IsDeleted = true")
        .await;
    assert_eq!(bin["totalSize"], 5);
    let und = control
        .mutate(&Mutation {
            ids: Some(del.ids[..2].to_vec()),
            ..mutation(MutationOp::Undelete, "Lead")
        })
        .unwrap();
    assert_eq!(und.succeeded, 2);
    let hard = control
        .mutate(&Mutation {
            ids: Some(del.ids[2..3].to_vec()),
            ..mutation(MutationOp::HardDelete, "Lead")
        })
        .unwrap();
    assert_eq!(hard.succeeded, 1);
    let (_, bin) = org
        .query_all("SELECT COUNT() FROM Lead WHERE IsDeleted = true")
        .await;
    assert_eq!(bin["totalSize"], 2);
    let (_, gone) = org
        .query_all(&format!("SELECT Id FROM Lead WHERE Id = '{}'", del.ids[2]))
        .await;
    assert_eq!(
        gone["totalSize"], 0,
        "hard-deleted rows are gone even from queryAll"
    );

    let ins = control
        .mutate(&Mutation {
            count: Some(3),
            ..mutation(MutationOp::Insert, "Contact")
        })
        .unwrap();
    assert_eq!(ins.succeeded, 3, "{ins:?}");
    let custom = control
        .mutate(&Mutation {
            count: Some(1),
            fields: serde_json::from_value(json!({"Name": "Control Co"})).ok(),
            ..mutation(MutationOp::Insert, "Account")
        })
        .unwrap();
    let (_, acc) = org
        .get(&format!("{V}/sobjects/Account/{}", custom.ids[0]))
        .await;
    assert_eq!(acc["Name"], "Control Co");
    assert!(
        control
            .mutate(&mutation(MutationOp::Update, "Nope"))
            .is_err()
    );
    assert!(
        control
            .mutate(&Mutation {
                percent: Some(150.0),
                ..mutation(MutationOp::Update, "Lead")
            })
            .is_err()
    );

    // Fifteen days later the recycle bin has been purged (and the idle session expired).
    control.advance_clock(16 * 86_400_000);
    assert_eq!(control.info().recycle_bin["Lead"], 0);
    let (s, _) = org.query("SELECT COUNT() FROM Lead").await;
    assert_eq!(s, 401, "two idle weeks end the session");
    org.sf.shutdown().await;
}

#[tokio::test]
async fn http_control_api_faults_and_sessions() {
    let org = start().await;
    let c = |path: &str| org.url(&format!("/__emulator/{path}"));
    let faults = json!({"rules": [{"kind": "unavailable", "count": 2, "path_prefix": "/limits"}]});
    let r = org
        .http
        .put(c("faults"))
        .json(&faults)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    for _ in 0..2 {
        let (s, e) = org.get(&format!("{V}/limits")).await;
        assert_eq!(
            (s, e[0]["errorCode"].as_str()),
            (503, Some("SERVER_UNAVAILABLE"))
        );
    }
    let (s, _) = org.get(&format!("{V}/limits")).await;
    assert_eq!(s, 200, "the fault count is spent");
    let (s, _) = org.get(&format!("{V}/sobjects")).await;
    assert_eq!(s, 200, "other paths were never affected");
    org.sf.control().set_faults(vec![FaultRule {
        kind: FaultKind::UnableToLockRow,
        rate: 1.0,
        count: Some(1),
        path_prefix: None,
    }]);
    let (_, r) = org
        .send(
            Method::POST,
            &format!("{V}/composite/sobjects"),
            json!({"records": [
            {"attributes": {"type": "Account"}, "Name": "Lock 1"},
            {"attributes": {"type": "Account"}, "Name": "Lock 2"}]}),
        )
        .await;
    assert_eq!(r[0]["errors"][0]["statusCode"], "UNABLE_TO_LOCK_ROW");
    assert_eq!(r[1]["success"], true);
    let bad = org
        .http
        .put(c("faults"))
        .json(&json!({"rules": [{"kind": "unavailable", "rate": 7}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);

    let counters: Value = org
        .http
        .get(c("counters"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(counters["by_endpoint"]["limits"].as_u64().unwrap() >= 3);
    assert_eq!(counters["faults_injected"], 3);

    let r: Value = org
        .http
        .post(c("tokens/expire"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(r["expired"].as_u64().unwrap() >= 1);
    let (s, _) = org.get(&format!("{V}/limits")).await;
    assert_eq!(s, 401);

    let creds: Value = org
        .http
        .get(c("credentials"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(creds["username"], org.sf.credentials().username);
    let state: Value = org
        .http
        .get(c("state"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(state["records"]["Account"].as_u64().unwrap() > 100);
    let r = org
        .http
        .post(c("clock/advance"))
        .json(&json!({"seconds": 3600}))
        .send()
        .await
        .unwrap();
    let clock: Value = r.json().await.unwrap();
    assert!(clock["now"].as_str().unwrap().ends_with("+0000"));
    let r = org
        .http
        .post(c("mutate"))
        .json(&json!({"op": "explode", "object": "Account"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = org.http.get(c("nothing-here")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    org.sf.shutdown().await;
}

#[tokio::test]
async fn the_same_seed_produces_the_same_org() {
    let a = start_with(options(1234)).await;
    let b = start_with(options(1234)).await;
    let c = start_with(options(1235)).await;
    let (da, db, dc) = (
        a.sf.control().dump(),
        b.sf.control().dump(),
        c.sf.control().dump(),
    );
    assert_eq!(da, db, "byte-identical dumps");
    assert_ne!(da, dc);
    let first: Value = serde_json::from_slice(da.split(|b| *b == b'\n').next().unwrap()).unwrap();
    assert!(first["type"].is_string() && first["fields"]["Id"] == first["id"]);
    let lines = da.split(|b| *b == b'\n').filter(|l| !l.is_empty()).count();
    let total: usize = a.sf.control().info().records.values().sum();
    assert_eq!(lines, total);
    let text = String::from_utf8(da).unwrap();
    assert!(text.contains("\"Body\":{\"sha256\":\""), "blobs are hashed");
    // Over HTTP the dump is the same stream.
    let over_http = a
        .http
        .get(a.url("/__emulator/dump"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(over_http.as_ref(), text.as_bytes());
    for o in [a, b, c] {
        o.sf.shutdown().await;
    }
}

#[tokio::test]
async fn a_restart_keeps_the_org() {
    let dir = tempfile::tempdir().unwrap();
    let opts = SalesforceOptions {
        data_dir: Some(dir.path().to_path_buf()),
        ..options(77)
    };
    let org = start_with(opts.clone()).await;
    let (_, made) = org
        .send(
            Method::POST,
            &format!("{V}/sobjects/Account"),
            json!({"Name": "Survivor Ltd"}),
        )
        .await;
    let id = made["id"].as_str().unwrap().to_owned();
    org.sf
        .control()
        .mutate(&Mutation {
            count: Some(3),
            ..mutation(MutationOp::Delete, "Case")
        })
        .unwrap();
    let token = org.token.clone();
    let dump = org.sf.control().dump();
    let now = org.sf.control().now();
    org.sf.shutdown().await;

    let again = start_with(opts).await;
    assert_eq!(again.sf.control().dump(), dump);
    assert!(again.sf.control().now() >= now);
    let r = again
        .http
        .get(again.url(&format!("{V}/sobjects/Account/{id}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "sessions survive too");
    again.sf.shutdown().await;
}

#[tokio::test]
async fn tls_is_accepted_by_a_client_trusting_the_ca() {
    let dir = tempfile::tempdir().unwrap();
    let org = start_with(SalesforceOptions {
        tls: true,
        data_dir: Some(dir.path().to_path_buf()),
        ..options(3)
    })
    .await;
    assert!(org.sf.base_url().starts_with("https://localhost:"));
    let ca_path = org.sf.ca_path().unwrap().to_path_buf();
    let ca = reqwest::Certificate::from_pem(&std::fs::read(ca_path).unwrap()).unwrap();
    let client = reqwest::Client::builder()
        .add_root_certificate(ca)
        .build()
        .unwrap();
    let r = client
        .get(format!("{}/services/data/", org.sf.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let untrusting = reqwest::Client::builder()
        .tls_built_in_root_certs(true)
        .build()
        .unwrap();
    assert!(
        untrusting
            .get(format!("{}/services/data/", org.sf.base_url()))
            .send()
            .await
            .is_err()
    );
    org.sf.shutdown().await;
}
