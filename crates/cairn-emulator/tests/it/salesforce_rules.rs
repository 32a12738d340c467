//! Org-level rules: the daily API allowance and its rolling window, request size
//! limits, and the audit-field / inactive-owner setting restores depend on.

use reqwest::Method;
use serde_json::{Value, json};

use super::salesforce_support::{V, first_id, start};

#[tokio::test]
async fn limits_count_calls_and_the_allowance_is_enforced() {
    let org = start().await;
    let (_, l1) = org.get(&format!("{V}/limits/")).await;
    let (_, l2) = org.get(&format!("{V}/limits/")).await;
    let r1 = l1["DailyApiRequests"]["Remaining"].as_u64().unwrap();
    let r2 = l2["DailyApiRequests"]["Remaining"].as_u64().unwrap();
    assert_eq!(r1 - r2, 1, "each call counts");
    let (_, counts) = org
        .get(&format!("{V}/limits/recordCount?sObjects=Account,Nope"))
        .await;
    assert_eq!(counts["sObjects"][0]["name"], "Account");
    assert_eq!(counts["sObjects"].as_array().unwrap().len(), 1);
    org.sf.control().set_api_allowance(3);
    org.sf
        .control()
        .apply_settings(&cairn_emulator::salesforce::Settings {
            session_timeout_seconds: Some(3 * 86_400),
            ..Default::default()
        });
    let r = org.call(Method::GET, &format!("{V}/limits/"), None).await;
    assert_eq!(r.status(), 403);
    assert_eq!(r.headers()["sforce-limit-info"], "api-usage=3/3");
    let e: Value = r.json().await.unwrap();
    assert_eq!(e[0]["errorCode"], "REQUEST_LIMIT_EXCEEDED");
    assert_eq!(e[0]["message"], "TotalRequests Limit exceeded.");
    // The window rolls: a day later the allowance is back.
    org.sf.control().advance_clock(24 * 3_600_000 + 1);
    let (s, _) = org.get(&format!("{V}/limits/")).await;
    assert_eq!(s, 200);
    org.sf.shutdown().await;
}

#[tokio::test]
async fn oversized_uris_get_414() {
    let org = start().await;
    let fields = vec!["Name"; 3000].join(",");
    let (s, _) = org.query(&format!("SELECT {fields} FROM Account")).await;
    assert_eq!(s, 414);
    org.sf.shutdown().await;
}

#[tokio::test]
async fn audit_fields_and_inactive_owners_need_the_org_setting() {
    let org = start().await;
    let inactive = first_id(&org, "SELECT Id FROM User WHERE IsActive = false LIMIT 1").await;
    let body = json!({"Name": "Restored Co", "CreatedDate": "2020-05-01T10:00:00.000+0000", "OwnerId": inactive});
    let (s, e) = org
        .send(Method::POST, &format!("{V}/sobjects/Account"), body.clone())
        .await;
    assert_eq!(
        (s, e[0]["errorCode"].as_str()),
        (400, Some("INVALID_FIELD_FOR_INSERT_UPDATE"))
    );
    let (_, e) = org
        .send(
            Method::POST,
            &format!("{V}/sobjects/Account"),
            json!({"Name": "Owned", "OwnerId": inactive}),
        )
        .await;
    assert_eq!(e[0]["errorCode"], "INACTIVE_OWNER_OR_USER");
    org.sf
        .control()
        .apply_settings(&cairn_emulator::salesforce::Settings {
            audit_fields_on_create: Some(true),
            ..Default::default()
        });
    let (_, d) = org.get(&format!("{V}/sobjects/Account/describe")).await;
    let created = d["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "CreatedDate")
        .unwrap()
        .clone();
    assert_eq!(created["createable"], true, "describe reflects the setting");
    let (s, made) = org
        .send(Method::POST, &format!("{V}/sobjects/Account"), body)
        .await;
    assert_eq!(s, 201, "{made}");
    let (_, rec) = org
        .get(&format!(
            "{V}/sobjects/Account/{}",
            made["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(rec["CreatedDate"], "2020-05-01T10:00:00.000+0000");
    assert_eq!(rec["OwnerId"], inactive);
    org.sf.shutdown().await;
}
