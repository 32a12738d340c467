//! The automation and code a generated org starts with: an Apex trigger and its test
//! class, validation rules (one retired), a workflow rule with a field update, and a
//! record-triggered flow.

use super::files::API;
use super::{Body, Component, FieldUpdate};

fn comp(full_name: &str, id: &str, body: Body, epoch: i64) -> Component {
    Component {
        full_name: full_name.to_owned(),
        id: id.to_owned(),
        body,
        created: epoch - 400 * 86_400_000,
        modified: epoch - 30 * 86_400_000,
        modified_by: 0,
    }
}

const STAMP_TRIGGER: &str = "trigger AccountAutomationStamp on Account (before insert, before update) {
    // Marks every saved account so integrations can tell automation ran.
    for (Account acc : Trigger.new) {
        acc.Automation_Stamp__c = 'AccountAutomationStamp ' + System.now().formatGmt('yyyy-MM-dd\\'T\\'HH:mm:ss\\'Z\\'');
    }
}
";

pub(super) const ESCALATION_FLOW: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<Flow xmlns="http://soap.sforce.com/2006/04/metadata">
    <apiVersion>62.0</apiVersion>
    <assignments>
        <name>Mark_Escalated</name>
        <label>Mark Escalated</label>
        <locationX>176</locationX>
        <locationY>287</locationY>
        <assignmentItems>
            <assignToReference>$Record.IsEscalated</assignToReference>
            <operator>Assign</operator>
            <value>
                <booleanValue>true</booleanValue>
            </value>
        </assignmentItems>
    </assignments>
    <label>Case: Escalate High Priority</label>
    <processType>AutoLaunchedFlow</processType>
    <start>
        <locationX>50</locationX>
        <locationY>0</locationY>
        <connector>
            <targetReference>Mark_Escalated</targetReference>
        </connector>
        <filterLogic>and</filterLogic>
        <filters>
            <field>Priority</field>
            <operator>EqualTo</operator>
            <value>
                <stringValue>High</stringValue>
            </value>
        </filters>
        <object>Case</object>
        <recordTriggerType>CreateAndUpdate</recordTriggerType>
        <triggerType>RecordBeforeSave</triggerType>
    </start>
    <status>Active</status>
</Flow>
"#;

/// The components a generated org starts with.
pub fn seed_components(epoch: i64) -> Vec<Component> {
    let vr = |active: bool, desc: &str, formula: &str, field: Option<&str>, msg: &str| {
        Body::ValidationRule {
            active,
            description: desc.to_owned(),
            formula: formula.to_owned(),
            display_field: field.map(str::to_owned),
            message: msg.to_owned(),
        }
    };
    vec![
        comp(
            "AccountAutomationStamp",
            "01qKx0000000AAA",
            Body::ApexTrigger {
                object: "Account".into(),
                source: STAMP_TRIGGER.into(),
                status: "Active".into(),
                api_version: API.into(),
            },
            epoch,
        ),
        comp(
            "AccountAutomationStampTest",
            "01pKx0000000AAA",
            Body::ApexClass {
                source: "@IsTest\nprivate class AccountAutomationStampTest {\n    @IsTest\n    static void stampsAccounts() {\n        Account a = new Account(Name = 'Test');\n        insert a;\n        System.assert([SELECT Automation_Stamp__c FROM Account WHERE Id = :a.Id].Automation_Stamp__c != null);\n    }\n}\n".into(),
                status: "Active".into(),
                api_version: API.into(),
            },
            epoch,
        ),
        comp(
            "Account.Revenue_Must_Not_Be_Negative",
            "03dKx0000000AAA",
            vr(
                true,
                "Annual revenue is a positive amount or blank.",
                "AnnualRevenue < 0",
                Some("AnnualRevenue"),
                "Annual revenue cannot be negative.",
            ),
            epoch,
        ),
        comp(
            "Opportunity.Amount_Required_When_Closed_Won",
            "03dKx0000000AAB",
            vr(
                true,
                "Won deals must carry an amount for forecasting.",
                r#"AND(ISPICKVAL(StageName, "Closed Won"), ISBLANK(Amount))"#,
                Some("Amount"),
                "Enter an amount before marking the opportunity Closed Won.",
            ),
            epoch,
        ),
        comp(
            "Contact.Email_Or_Phone_Required",
            "03dKx0000000AAC",
            vr(
                true,
                "Every contact needs a way to reach them.",
                "AND(ISBLANK(Email), ISBLANK(Phone), ISBLANK(MobilePhone))",
                None,
                "A contact needs an email address or a phone number.",
            ),
            epoch,
        ),
        comp(
            "Case.Subject_Min_Length",
            "03dKx0000000AAD",
            vr(
                false,
                "Subjects shorter than five characters are not descriptive (retired).",
                "LEN(Subject) < 5",
                Some("Subject"),
                "Use a subject of at least five characters.",
            ),
            epoch,
        ),
        comp(
            "Lead.Hot_Lead_For_Large_Companies",
            "01QKx0000000AAA",
            Body::WorkflowRule {
                active: true,
                description: "Leads from companies with more than 1,000 employees are hot.".into(),
                formula: "NumberOfEmployees > 1000".into(),
                trigger_type: "onCreateOrTriggeringUpdate".into(),
                updates: vec![FieldUpdate {
                    name: "Set_Rating_Hot".into(),
                    field: "Rating".into(),
                    literal: Some("Hot".into()),
                }],
            },
            epoch,
        ),
        comp(
            "Case_Escalate_High_Priority",
            "301Kx0000000AAA",
            Body::Flow {
                status: "Active".into(),
                xml: ESCALATION_FLOW.into(),
            },
            epoch,
        ),
    ]
}
