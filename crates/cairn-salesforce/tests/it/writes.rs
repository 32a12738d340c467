//! Restore writes: create, update, delete to the recycle bin and undelete with the same
//! id; item errors come back per item; `UNABLE_TO_LOCK_ROW` items are retried.

use cairn_emulator::salesforce::{FaultKind, FaultRule};
use serde_json::{Map, Value, json};

use super::support::{app, connected, start_org};

fn record(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

#[tokio::test]
async fn create_update_delete_and_undelete_round_trip() {
    let sf = start_org(61).await;
    let app = app(&sf);
    let client = connected(&sf, &app).await;
    let created = client
        .create_records(
            "Account",
            vec![
                record(json!({"Name": "Restored One"})),
                record(json!({"Name": "Restored Two"})),
                record(json!({"Name": "Restored Three"})),
            ],
        )
        .await
        .unwrap();
    assert!(created.iter().all(|r| r.success), "{created:?}");
    let ids: Vec<String> = created.iter().map(|r| r.id.clone().unwrap()).collect();

    let updated = client
        .update_records(
            "Account",
            vec![record(json!({"Id": ids[0], "Name": "Restored Uno"}))],
        )
        .await
        .unwrap();
    assert!(updated[0].success, "{updated:?}");

    let bad = client
        .create_records(
            "Contact",
            vec![
                record(json!({"FirstName": "No Last Name"})),
                record(json!({"LastName": "Fine", "Email": "fine@example.com"})),
            ],
        )
        .await
        .unwrap();
    assert!(!bad[0].success && bad[1].success, "{bad:?}");
    assert_eq!(bad[0].errors[0].status_code, "REQUIRED_FIELD_MISSING");

    let deleted = client.delete_records(&ids[1..]).await.unwrap();
    assert!(deleted.iter().all(|r| r.success), "{deleted:?}");
    let undeleted = client.undelete_records(&ids[1..2]).await.unwrap();
    assert!(undeleted[0].success, "{undeleted:?}");
    assert_eq!(undeleted[0].id.as_deref(), Some(ids[1].as_str()));
    let again = client.undelete_records(&ids[1..2]).await.unwrap();
    assert!(
        !again[0].success,
        "a live record cannot be undeleted: {again:?}"
    );

    let dump = super::support::dump(&sf);
    let accounts = &dump["Account"];
    assert_eq!(accounts[&ids[0]].1["Name"], "Restored Uno");
    assert!(!accounts[&ids[1]].0, "undeleted with its id");
    assert!(accounts[&ids[2]].0, "still in the recycle bin");
}

#[tokio::test]
async fn locked_rows_are_retried() {
    let sf = start_org(62).await;
    let app = app(&sf);
    let client = connected(&sf, &app).await;
    sf.control().set_faults(vec![FaultRule {
        kind: FaultKind::UnableToLockRow,
        rate: 0.3,
        count: Some(20),
        path_prefix: None,
    }]);
    let records: Vec<_> = (0..250)
        .map(|i| record(json!({"Name": format!("Locked {i}")})))
        .collect();
    let results = client.create_records("Account", records).await.unwrap();
    assert_eq!(results.len(), 250);
    assert!(
        results.iter().all(|r| r.success),
        "{:?}",
        results.iter().find(|r| !r.success)
    );
    assert!(
        sf.control().faults().0[0].count < Some(20),
        "locks were injected"
    );
}
