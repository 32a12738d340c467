//! sObject Collections, composite, composite batch and sObject tree.

use reqwest::Method;
use serde_json::json;

use super::salesforce_support::{V, start};

#[tokio::test]
async fn collections_report_per_item_results_and_roll_back_all_or_none() {
    let org = start().await;
    let path = format!("{V}/composite/sobjects");
    let (s, r) = org
        .send(
            Method::POST,
            &path,
            json!({"allOrNone": false, "records": [
                {"attributes": {"type": "Account"}, "Name": "Alpha Co"},
                {"attributes": {"type": "Contact"}, "FirstName": "No", "Email": "x@y.z"},
                {"attributes": {"type": "Account"}, "Name": "Beta Co"},
            ]}),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(r[0]["success"], true);
    assert_eq!(r[1]["success"], false);
    assert_eq!(r[1]["errors"][0]["statusCode"], "REQUIRED_FIELD_MISSING");
    assert!(r[1].get("id").is_none());
    assert_eq!(r[2]["success"], true);
    let alpha = r[0]["id"].as_str().unwrap().to_owned();

    let (_, r) = org
        .send(
            Method::POST,
            &path,
            json!({"allOrNone": true, "records": [
                {"attributes": {"type": "Account"}, "Name": "Gamma Co"},
                {"attributes": {"type": "Account"}, "Name": "Delta Co", "AnnualRevenue": -1},
            ]}),
        )
        .await;
    assert_eq!(
        r[0]["errors"][0]["statusCode"],
        "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    );
    assert_eq!(
        r[1]["errors"][0]["statusCode"],
        "FIELD_CUSTOM_VALIDATION_EXCEPTION"
    );
    let (_, q) = org
        .query("SELECT Id FROM Account WHERE Name = 'Gamma Co'")
        .await;
    assert_eq!(q["totalSize"], 0, "rolled back");

    let (_, r) = org
        .send(
            Method::PATCH,
            &path,
            json!({"records": [
                {"attributes": {"type": "Account"}, "id": alpha, "Industry": "Energy"},
                {"attributes": {"type": "Account"}, "id": "001nonsense", "Industry": "Energy"},
            ]}),
        )
        .await;
    assert_eq!(r[0]["success"], true);
    assert_eq!(r[1]["errors"][0]["statusCode"], "MALFORMED_ID");

    let (_, r) = org
        .send(Method::PATCH, &format!("{path}/Account/Legacy_Id__c"), json!({"records": [
            {"attributes": {"type": "Account"}, "Legacy_Id__c": "ACC-NEW-9", "Name": "Upserted"},
            {"attributes": {"type": "Account"}, "Legacy_Id__c": "ACC-0000001", "Name": "Renamed"},
        ]}))
        .await;
    assert_eq!(
        (r[0]["created"].as_bool(), r[1]["created"].as_bool()),
        (Some(true), Some(false)),
        "{r}"
    );

    let (_, got) = org
        .get(&format!("{path}/Account?ids={alpha}&fields=Name,Industry"))
        .await;
    assert_eq!(got[0]["Industry"], "Energy");

    let (s, r) = org
        .send(
            Method::DELETE,
            &format!("{path}?ids={alpha},001nope&allOrNone=false"),
            json!(null),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(r[0]["success"], true);
    assert_eq!(r[1]["success"], false);

    let too_many: Vec<_> = (0..201)
        .map(|i| json!({"attributes": {"type": "Account"}, "Name": format!("A{i}")}))
        .collect();
    let (s, e) = org
        .send(Method::POST, &path, json!({"records": too_many}))
        .await;
    assert_eq!(
        (s, e[0]["errorCode"].as_str()),
        (400, Some("EXCEEDED_ID_LIMIT"))
    );
    org.sf.shutdown().await;
}

#[tokio::test]
async fn composite_resolves_references_and_rolls_back() {
    let org = start().await;
    let (s, r) = org
        .send(Method::POST, &format!("{V}/composite"), json!({"allOrNone": false, "compositeRequest": [
            {"method": "POST", "url": format!("{V}/sobjects/Account"), "referenceId": "acc", "body": {"Name": "Composite Co"}},
            {"method": "POST", "url": format!("{V}/sobjects/Contact"), "referenceId": "con", "body": {"LastName": "Ref", "Email": "r@c.co", "AccountId": "@{acc.id}"}},
            {"method": "GET", "url": format!("{V}/sobjects/Contact/@{{con.id}}?fields=AccountId"), "referenceId": "read"},
        ]}))
        .await;
    assert_eq!(s, 200);
    let resp = r["compositeResponse"].as_array().unwrap();
    assert_eq!(resp[0]["httpStatusCode"], 201);
    assert_eq!(resp[2]["body"]["AccountId"], resp[0]["body"]["id"]);

    let (_, r) = org
        .send(Method::POST, &format!("{V}/composite"), json!({"allOrNone": true, "compositeRequest": [
            {"method": "POST", "url": format!("{V}/sobjects/Account"), "referenceId": "ok", "body": {"Name": "Rolled Back Co"}},
            {"method": "POST", "url": format!("{V}/sobjects/Account"), "referenceId": "bad", "body": {"Nope": 1}},
        ]}))
        .await;
    let resp = r["compositeResponse"].as_array().unwrap();
    assert_eq!(resp[0]["body"][0]["errorCode"], "PROCESSING_HALTED");
    assert_eq!(resp[1]["httpStatusCode"], 400);
    let (_, q) = org
        .query("SELECT Id FROM Account WHERE Name = 'Rolled Back Co'")
        .await;
    assert_eq!(q["totalSize"], 0);

    let (_, b) = org
        .send(
            Method::POST,
            &format!("{V}/composite/batch"),
            json!({"batchRequests": [
                {"method": "GET", "url": "v62.0/limits"},
                {"method": "GET", "url": "v62.0/sobjects/Nope__c/describe"},
            ]}),
        )
        .await;
    assert_eq!(b["hasErrors"], true);
    assert_eq!(b["results"][0]["statusCode"], 200);
    assert_eq!(b["results"][1]["statusCode"], 404);
    org.sf.shutdown().await;
}

#[tokio::test]
async fn tree_inserts_parents_with_children_all_or_nothing() {
    let org = start().await;
    let (s, r) = org
        .send(Method::POST, &format!("{V}/composite/tree/Account"), json!({"records": [
            {"attributes": {"type": "Account", "referenceId": "a1"}, "Name": "Tree Co",
             "Contacts": {"records": [
                {"attributes": {"type": "Contact", "referenceId": "c1"}, "LastName": "Leaf", "Email": "leaf@tree.co"}
             ]}}
        ]}))
        .await;
    assert_eq!(s, 201, "{r}");
    let ids: Vec<&str> = r["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_str().unwrap())
        .collect();
    let (_, c) = org.get(&format!("{V}/sobjects/Contact/{}", ids[1])).await;
    assert_eq!(c["AccountId"], ids[0]);
    let (s, r) = org
        .send(Method::POST, &format!("{V}/composite/tree/Account"), json!({"records": [
            {"attributes": {"type": "Account", "referenceId": "a1"}, "Name": "Broken Tree",
             "Contacts": {"records": [{"attributes": {"type": "Contact", "referenceId": "c1"}, "Email": "x@y.z"}]}}
        ]}))
        .await;
    assert_eq!(s, 400);
    assert_eq!(r["hasErrors"], true);
    assert_eq!(r["results"][0]["referenceId"], "c1");
    let (_, q) = org
        .query("SELECT Id FROM Account WHERE Name = 'Broken Tree'")
        .await;
    assert_eq!(q["totalSize"], 0);
    org.sf.shutdown().await;
}
