//! SOAP `undelete` and the Metadata API: list, retrieve, deploy round trip, and
//! automation that really stops when deactivated.

use std::io::{Cursor, Read, Write};

use base64::Engine;
use reqwest::Method;
use serde_json::json;

use super::salesforce_support::{Org, V, options, start, start_with};

async fn soap(org: &Org, path: &str, action: &str, body: &str) -> (u16, String) {
    let envelope = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" xmlns:met=\"http://soap.sforce.com/2006/04/metadata\" xmlns:urn=\"urn:partner.soap.sforce.com\"><soapenv:Header><met:SessionHeader><met:sessionId>{}</met:sessionId></met:SessionHeader></soapenv:Header><soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>",
        org.token
    );
    let r = org
        .http
        .post(org.url(path))
        .header("content-type", "text/xml; charset=UTF-8")
        .header("SOAPAction", action)
        .body(envelope)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

fn between<'a>(s: &'a str, a: &str, b: &str) -> &'a str {
    let start = s.find(a).map(|i| i + a.len()).unwrap_or(0);
    let end = s[start..].find(b).map_or(s.len(), |i| start + i);
    &s[start..end]
}

#[tokio::test]
async fn soap_undelete_restores_the_record_and_its_cascade() {
    let org = start().await;
    let (_, q) = org.query("SELECT Id, (SELECT Id FROM Contacts) FROM Account WHERE Id IN (SELECT AccountId FROM Contact) LIMIT 1").await;
    let account = q["records"][0]["Id"].as_str().unwrap().to_owned();
    let contacts = q["records"][0]["Contacts"]["totalSize"].as_u64().unwrap();
    assert!(contacts > 0);
    let r = org
        .call(
            Method::DELETE,
            &format!("{V}/sobjects/Account/{account}"),
            None,
        )
        .await;
    assert_eq!(r.status(), 204);
    let (_, c) = org
        .query_all(&format!(
            "SELECT Id, IsDeleted FROM Contact WHERE AccountId = '{account}'"
        ))
        .await;
    assert_eq!(c["totalSize"].as_u64(), Some(contacts));
    assert!(
        c["records"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["IsDeleted"] == true),
        "contacts cascade into the bin"
    );

    let (s, xml) = soap(&org, "/services/Soap/u/62.0", "\"\"", &format!("<urn:undelete><urn:ids>{account}</urn:ids><urn:ids>001Kx0000000000AAA</urn:ids></urn:undelete>")).await;
    assert_eq!(s, 200, "{xml}");
    assert!(xml.contains("<undeleteResponse>"));
    let first = between(&xml, "<result>", "</result>");
    assert!(
        first.contains(&format!("<id>{account}</id>")) && first.contains("<success>true</success>"),
        "{xml}"
    );
    assert!(xml.contains("<success>false</success>"));
    let (_, live) = org
        .query(&format!(
            "SELECT Id FROM Contact WHERE AccountId = '{account}'"
        ))
        .await;
    assert_eq!(
        live["totalSize"].as_u64(),
        Some(contacts),
        "children come back with the parent"
    );
    let (s, xml) = soap(
        &org,
        "/services/Soap/u/62.0",
        "\"\"",
        &format!("<urn:undelete><urn:ids>{account}</urn:ids></urn:undelete>"),
    )
    .await;
    assert_eq!(s, 200);
    assert!(xml.contains("UNDELETE_FAILED"));

    let bad = org
        .http
        .post(org.url("/services/Soap/u/62.0"))
        .header("content-type", "text/xml")
        .body("<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\"><soapenv:Header><SessionHeader><sessionId>nope</sessionId></SessionHeader></soapenv:Header><soapenv:Body><undelete/></soapenv:Body></soapenv:Envelope>")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 500);
    assert!(
        bad.text()
            .await
            .unwrap()
            .contains("<faultcode>sf:INVALID_SESSION_ID</faultcode>")
    );
    org.sf.shutdown().await;
}

fn zip(files: &[(&str, &str)]) -> String {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, content) in files {
        w.start_file(*name, zip::write::SimpleFileOptions::default())
            .unwrap();
        w.write_all(content.as_bytes()).unwrap();
    }
    base64::engine::general_purpose::STANDARD.encode(w.finish().unwrap().into_inner())
}

#[tokio::test]
async fn metadata_retrieve_deploy_round_trip_controls_automation() {
    // A sandbox: deploying triggers needs no test run.
    let org = start_with(cairn_emulator::salesforce::SalesforceOptions {
        sandbox: true,
        ..options(7)
    })
    .await;
    let m = "/services/Soap/m/62.0";
    let (s, list) = soap(&org, m, "listMetadata", "<met:listMetadata><met:queries><met:type>ApexTrigger</met:type></met:queries><met:queries><met:type>ValidationRule</met:type></met:queries><met:asOfVersion>62.0</met:asOfVersion></met:listMetadata>").await;
    assert_eq!(s, 200, "{list}");
    assert!(
        list.contains("<fullName>AccountAutomationStamp</fullName>")
            && list.contains("<fileName>triggers/AccountAutomationStamp.trigger</fileName>")
    );
    assert!(list.contains("<fullName>Account.Revenue_Must_Not_Be_Negative</fullName>"));

    let (_, started) = soap(&org, m, "retrieve", "<met:retrieve><met:retrieveRequest><met:apiVersion>62.0</met:apiVersion><met:singlePackage>true</met:singlePackage><met:unpackaged><met:types><met:members>*</met:members><met:name>ApexTrigger</met:name></met:types><met:types><met:members>Account.Revenue_Must_Not_Be_Negative</met:members><met:name>ValidationRule</met:name></met:types><met:version>62.0</met:version></met:unpackaged></met:retrieveRequest></met:retrieve>").await;
    assert!(started.contains("<state>Queued</state>"));
    let id = between(&started, "<id>", "</id>").to_owned();
    assert!(id.starts_with("09S"));
    let (_, status) = soap(&org, m, "checkRetrieveStatus", &format!("<met:checkRetrieveStatus><met:asyncProcessId>{id}</met:asyncProcessId><met:includeZip>true</met:includeZip></met:checkRetrieveStatus>")).await;
    assert!(status.contains("<status>Succeeded</status>"));
    let zip_b64 = between(&status, "<zipFile>", "</zipFile>");
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(zip_b64)
        .unwrap();
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    let mut names: Vec<String> = (0..archive.len())
        .map(|i| archive.by_index(i).unwrap().name().to_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        vec![
            "objects/Account.object",
            "package.xml",
            "triggers/AccountAutomationStamp.trigger",
            "triggers/AccountAutomationStamp.trigger-meta.xml"
        ]
    );
    let mut meta = String::new();
    archive
        .by_name("triggers/AccountAutomationStamp.trigger-meta.xml")
        .unwrap()
        .read_to_string(&mut meta)
        .unwrap();
    assert!(meta.contains("<status>Active</status>"));
    let mut object = String::new();
    archive
        .by_name("objects/Account.object")
        .unwrap()
        .read_to_string(&mut object)
        .unwrap();
    let mut source = String::new();
    archive
        .by_name("triggers/AccountAutomationStamp.trigger")
        .unwrap()
        .read_to_string(&mut source)
        .unwrap();

    // While active: the trigger stamps and the rule rejects negative revenue.
    let (_, made) = org
        .send(
            Method::POST,
            &format!("{V}/sobjects/Account"),
            json!({"Name": "Stamped"}),
        )
        .await;
    let (_, rec) = org
        .get(&format!(
            "{V}/sobjects/Account/{}",
            made["id"].as_str().unwrap()
        ))
        .await;
    assert!(rec["Automation_Stamp__c"].is_string());

    // Deploy both deactivated.
    let package = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Package xmlns=\"http://soap.sforce.com/2006/04/metadata\"><types><members>AccountAutomationStamp</members><name>ApexTrigger</name></types><types><members>Account.Revenue_Must_Not_Be_Negative</members><name>ValidationRule</name></types><version>62.0</version></Package>";
    let inactive_meta = meta.replace("<status>Active</status>", "<status>Inactive</status>");
    let inactive_rule = object.replace("<active>true</active>", "<active>false</active>");
    let z = zip(&[
        ("package.xml", package),
        ("triggers/AccountAutomationStamp.trigger", &source),
        (
            "triggers/AccountAutomationStamp.trigger-meta.xml",
            &inactive_meta,
        ),
        ("objects/Account.object", &inactive_rule),
    ]);
    let (_, dep) = soap(&org, m, "deploy", &format!("<met:deploy><met:ZipFile>{z}</met:ZipFile><met:DeployOptions><met:rollbackOnError>true</met:rollbackOnError><met:singlePackage>true</met:singlePackage></met:DeployOptions></met:deploy>")).await;
    let dep_id = between(&dep, "<id>", "</id>").to_owned();
    assert!(dep_id.starts_with("0Af"));
    let (_, result) = soap(&org, m, "checkDeployStatus", &format!("<met:checkDeployStatus><met:asyncProcessId>{dep_id}</met:asyncProcessId><met:includeDetails>true</met:includeDetails></met:checkDeployStatus>")).await;
    assert!(
        result.contains("<status>Succeeded</status>") && result.contains("<success>true</success>"),
        "{result}"
    );
    assert!(result.contains("<componentSuccesses>"));
    let (s, rest) = org
        .get(&format!(
            "{V}/metadata/deployRequest/{dep_id}?includeDetails=true"
        ))
        .await;
    assert_eq!(
        (s, rest["deployResult"]["status"].as_str()),
        (200, Some("Succeeded"))
    );

    let (s, made) = org
        .send(
            Method::POST,
            &format!("{V}/sobjects/Account"),
            json!({"Name": "Quiet", "AnnualRevenue": -10}),
        )
        .await;
    assert_eq!(s, 201, "inactive rule no longer rejects: {made}");
    let (_, rec) = org
        .get(&format!(
            "{V}/sobjects/Account/{}",
            made["id"].as_str().unwrap()
        ))
        .await;
    assert!(
        rec["Automation_Stamp__c"].is_null(),
        "inactive trigger no longer stamps"
    );

    // A broken formula fails the deploy and changes nothing.
    let broken = object.replace("AnnualRevenue &lt; 0", "NoSuchField__c &lt; 0");
    let z = zip(&[
        ("package.xml", package),
        ("objects/Account.object", &broken),
    ]);
    let (_, dep) = soap(&org, m, "deploy", &format!("<met:deploy><met:ZipFile>{z}</met:ZipFile><met:DeployOptions></met:DeployOptions></met:deploy>")).await;
    let dep_id = between(&dep, "<id>", "</id>").to_owned();
    let (_, result) = soap(&org, m, "checkDeployStatus", &format!("<met:checkDeployStatus><met:asyncProcessId>{dep_id}</met:asyncProcessId><met:includeDetails>true</met:includeDetails></met:checkDeployStatus>")).await;
    assert!(
        result.contains("<status>Failed</status>")
            && result.contains("<componentFailures>")
            && result.contains("NoSuchField__c"),
        "{result}"
    );
    org.sf.shutdown().await;
}

#[tokio::test]
async fn production_deploys_of_apex_cannot_skip_tests() {
    let org = start().await;
    let m = "/services/Soap/m/62.0";
    let package = "<Package xmlns=\"http://soap.sforce.com/2006/04/metadata\"><types><members>AccountAutomationStamp</members><name>ApexTrigger</name></types><version>62.0</version></Package>";
    let z = zip(&[
        ("package.xml", package),
        (
            "triggers/AccountAutomationStamp.trigger",
            "trigger AccountAutomationStamp on Account (before insert) {}",
        ),
        (
            "triggers/AccountAutomationStamp.trigger-meta.xml",
            "<ApexTrigger xmlns=\"http://soap.sforce.com/2006/04/metadata\"><apiVersion>62.0</apiVersion><status>Inactive</status></ApexTrigger>",
        ),
    ]);
    let (_, dep) = soap(&org, m, "deploy", &format!("<met:deploy><met:ZipFile>{z}</met:ZipFile><met:DeployOptions><met:testLevel>NoTestRun</met:testLevel></met:DeployOptions></met:deploy>")).await;
    let id = between(&dep, "<id>", "</id>").to_owned();
    let (_, result) = soap(&org, m, "checkDeployStatus", &format!("<met:checkDeployStatus><met:asyncProcessId>{id}</met:asyncProcessId></met:checkDeployStatus>")).await;
    assert!(
        result.contains("<status>Failed</status>")
            && result.contains("NoTestRun cannot be used in production"),
        "{result}"
    );
    let (_, dep) = soap(&org, m, "deploy", &format!("<met:deploy><met:ZipFile>{z}</met:ZipFile><met:DeployOptions><met:testLevel>RunLocalTests</met:testLevel></met:DeployOptions></met:deploy>")).await;
    let id = between(&dep, "<id>", "</id>").to_owned();
    let (_, result) = soap(&org, m, "checkDeployStatus", &format!("<met:checkDeployStatus><met:asyncProcessId>{id}</met:asyncProcessId></met:checkDeployStatus>")).await;
    assert!(
        result.contains("<status>Succeeded</status>")
            && result.contains("<numberTestsTotal>1</numberTestsTotal>"),
        "{result}"
    );
    let (_, bad) = soap(
        &org,
        m,
        "deploy",
        "<met:deploy><met:ZipFile>bm90IGEgemlw</met:ZipFile></met:deploy>",
    )
    .await;
    let id = between(&bad, "<id>", "</id>").to_owned();
    let (_, result) = soap(&org, m, "checkDeployStatus", &format!("<met:checkDeployStatus><met:asyncProcessId>{id}</met:asyncProcessId></met:checkDeployStatus>")).await;
    assert!(result.contains("<status>Failed</status>") && result.contains("<errorMessage>"));
    org.sf.shutdown().await;
}

#[tokio::test]
async fn flows_and_workflow_rules_run_until_deactivated() {
    let org = start_with(cairn_emulator::salesforce::SalesforceOptions {
        sandbox: true,
        ..options(8)
    })
    .await;
    let (s, lead) = org
        .send(Method::POST, &format!("{V}/sobjects/Lead"), json!({"LastName": "Big", "Company": "Huge Corp", "NumberOfEmployees": 5000, "Rating": "Cold"}))
        .await;
    assert_eq!(s, 201, "{lead}");
    let (_, rec) = org
        .get(&format!(
            "{V}/sobjects/Lead/{}",
            lead["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(rec["Rating"], "Hot", "workflow field update applied");
    let contact = super::salesforce_support::first_id(&org, "SELECT Id FROM Contact LIMIT 1").await;
    let (_, case) = org
        .send(
            Method::POST,
            &format!("{V}/sobjects/Case"),
            json!({"Subject": "Outage", "Priority": "High", "ContactId": contact}),
        )
        .await;
    let (_, rec) = org
        .get(&format!(
            "{V}/sobjects/Case/{}",
            case["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(rec["IsEscalated"], true, "record-triggered flow ran");
    assert!(
        rec["CaseNumber"].as_str().unwrap().len() == 8,
        "auto-number assigned"
    );

    let m = "/services/Soap/m/62.0";
    let (_, started) = soap(&org, m, "retrieve", "<met:retrieve><met:retrieveRequest><met:singlePackage>true</met:singlePackage><met:unpackaged><met:types><met:members>Case_Escalate_High_Priority</met:members><met:name>Flow</met:name></met:types><met:types><met:members>Lead.Hot_Lead_For_Large_Companies</met:members><met:name>WorkflowRule</met:name></met:types></met:unpackaged></met:retrieveRequest></met:retrieve>").await;
    let id = between(&started, "<id>", "</id>").to_owned();
    let (_, status) = soap(&org, m, "checkRetrieveStatus", &format!("<met:checkRetrieveStatus><met:asyncProcessId>{id}</met:asyncProcessId></met:checkRetrieveStatus>")).await;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(between(&status, "<zipFile>", "</zipFile>"))
        .unwrap();
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    let mut read = |name: &str| {
        let mut s = String::new();
        archive
            .by_name(name)
            .unwrap()
            .read_to_string(&mut s)
            .unwrap();
        s
    };
    let flow = read("flows/Case_Escalate_High_Priority.flow")
        .replace("<status>Active</status>", "<status>Obsolete</status>");
    let workflow =
        read("workflows/Lead.workflow").replace("<active>true</active>", "<active>false</active>");
    let package = read("package.xml");
    let z = zip(&[
        ("package.xml", &package),
        ("flows/Case_Escalate_High_Priority.flow", &flow),
        ("workflows/Lead.workflow", &workflow),
    ]);
    let (_, dep) = soap(
        &org,
        m,
        "deploy",
        &format!("<met:deploy><met:ZipFile>{z}</met:ZipFile></met:deploy>"),
    )
    .await;
    let dep_id = between(&dep, "<id>", "</id>").to_owned();
    let (_, result) = soap(&org, m, "checkDeployStatus", &format!("<met:checkDeployStatus><met:asyncProcessId>{dep_id}</met:asyncProcessId></met:checkDeployStatus>")).await;
    assert!(result.contains("<status>Succeeded</status>"), "{result}");

    let (_, lead) = org.send(Method::POST, &format!("{V}/sobjects/Lead"), json!({"LastName": "Big2", "Company": "Huge Corp", "NumberOfEmployees": 5000, "Rating": "Cold"})).await;
    let (_, rec) = org
        .get(&format!(
            "{V}/sobjects/Lead/{}",
            lead["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(
        rec["Rating"], "Cold",
        "inactive workflow rule no longer updates"
    );
    let (_, case) = org
        .send(
            Method::POST,
            &format!("{V}/sobjects/Case"),
            json!({"Subject": "Outage 2", "Priority": "High"}),
        )
        .await;
    let (_, rec) = org
        .get(&format!(
            "{V}/sobjects/Case/{}",
            case["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(rec["IsEscalated"], false, "obsolete flow no longer runs");
    org.sf.shutdown().await;
}
