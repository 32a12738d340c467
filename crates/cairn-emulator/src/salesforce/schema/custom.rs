//! The org's custom objects (`__c`): a project tracker with a self-lookup, a master-detail
//! child and an invoice object with an auto-number name, an external id and a lookup whose
//! delete is restricted — the relationship shapes a restore has to get right.

use super::FieldType::{
    Boolean, Currency, Date, Double, Percent, Picklist, Reference, String as Text, TextArea,
};
use super::{ObjectDef, OnDelete, field, obj};

/// The custom objects, in table order (after the standard ones).
pub fn objects() -> Vec<ObjectDef> {
    vec![
        obj("Project__c", "a01", "Project", "Projects")
            .f(field("Name", Text)
                .len(80)
                .req()
                .name_field()
                .label("Project Name")
                .no_intern())
            .f(field("Account__c", Reference).refs(&["Account"], "Account__r", OnDelete::SetNull))
            .f(field("Parent_Project__c", Reference).refs(
                &["Project__c"],
                "Parent_Project__r",
                OnDelete::SetNull,
            ))
            .f(field("Status__c", Picklist)
                .pick(&["*Planned", "Active", "On Hold", "Completed", "Cancelled"])
                .restricted())
            .f(field("Start_Date__c", Date))
            .f(field("End_Date__c", Date))
            .f(field("Budget__c", Currency).digits(16, 2))
            .f(field("Description__c", TextArea).len(32000))
            .f(field("Project_Code__c", Text).len(20).ext_id())
            .f(field("Days_Remaining__c", Double)
                .digits(18, 0)
                .formula("IF(ISBLANK(End_Date__c), NULL, End_Date__c - TODAY())"))
            .owner()
            .build(),
        obj("Project_Task__c", "a02", "Project Task", "Project Tasks")
            .f(field("Name", Text)
                .len(80)
                .req()
                .name_field()
                .label("Task Name")
                .no_intern())
            .f(field("Project__c", Reference)
                .refs(&["Project__c"], "Project__r", OnDelete::Cascade)
                .master())
            .f(field("Assigned_To__c", Reference).refs(
                &["User"],
                "Assigned_To__r",
                OnDelete::SetNull,
            ))
            .f(field("Estimated_Hours__c", Double).digits(6, 1))
            .f(field("Actual_Hours__c", Double).digits(6, 1))
            .f(field("Done__c", Boolean))
            .f(field("Due_Date__c", Date))
            .f(field("Over_Estimate__c", Boolean).formula("Actual_Hours__c > Estimated_Hours__c"))
            .build(),
        obj("Invoice__c", "a03", "Invoice", "Invoices")
            .f(field("Name", Text)
                .auto_number("INV-{000000}")
                .name_field()
                .label("Invoice Name"))
            .f(field("Account__c", Reference).refs(&["Account"], "Account__r", OnDelete::SetNull))
            .f(field("Opportunity__c", Reference).refs(
                &["Opportunity"],
                "Opportunity__r",
                OnDelete::Restrict,
            ))
            .f(field("Invoice_Number__c", Text).len(32).ext_id())
            .f(field("Amount__c", Currency).digits(16, 2))
            .f(field("Tax_Rate__c", Percent).digits(5, 2))
            .f(field("Total__c", Currency)
                .digits(18, 2)
                .formula("Amount__c * (1 + BLANKVALUE(Tax_Rate__c, 0) / 100)"))
            .f(field("Status__c", Picklist).pick(&["*Draft", "Sent", "Paid", "Overdue", "Void"]))
            .f(field("Issued_On__c", Date))
            .f(field("Paid__c", Boolean))
            .f(field("Notes__c", TextArea).len(32000))
            .owner()
            .build(),
    ]
}
