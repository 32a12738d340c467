//! Metadata API: every type of the org retrieved, components keyed `type/fullName` with
//! their files.

use super::support::{app, connected, start_org};

#[tokio::test]
async fn retrieve_yields_every_component_with_its_file() {
    let sf = start_org(51).await;
    let app = app(&sf);
    let client = connected(&sf, &app).await;
    let types = client.metadata_types().await.unwrap();
    let names: Vec<&str> = types.iter().map(|t| t.xml_name.as_str()).collect();
    for t in ["ApexClass", "ApexTrigger", "CustomObject", "Flow"] {
        assert!(names.contains(&t), "{names:?}");
    }
    let components = client.retrieve_metadata(&types).await.unwrap();
    let trigger = components
        .iter()
        .find(|c| c.key == "ApexTrigger/AccountAutomationStamp")
        .unwrap_or_else(|| {
            panic!(
                "{:?}",
                components.iter().map(|c| &c.key).collect::<Vec<_>>()
            )
        });
    assert!(String::from_utf8_lossy(&trigger.content).contains("trigger AccountAutomationStamp"));
    assert!(trigger.meta.is_some(), "triggers come with -meta.xml");
    assert!(trigger.last_modified_ms.is_some());
    let account = components
        .iter()
        .find(|c| c.key == "CustomObject/Account")
        .unwrap();
    assert!(String::from_utf8_lossy(&account.content).contains("<CustomObject"));
    assert!(components.iter().any(|c| c.component_type == "Flow"));
    let mut keys: Vec<&str> = components.iter().map(|c| c.key.as_str()).collect();
    let n = keys.len();
    keys.dedup();
    assert_eq!(keys.len(), n, "keys are unique");
    assert!(components.iter().all(|c| !c.content.is_empty()));
    let inventory = client.list_metadata(&types).await.unwrap();
    let listed: Vec<String> = inventory
        .iter()
        .map(|(t, f, _)| format!("{t}/{f}"))
        .collect();
    assert_eq!(keys, listed, "every listed component is retrieved");
    assert!(
        listed.len() > 20,
        "standard objects are named, not left to `*`"
    );
}
