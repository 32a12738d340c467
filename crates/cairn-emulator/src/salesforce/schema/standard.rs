//! The standard objects the emulated org has: the ones a backup product meets in every
//! org (Account, Contact, Opportunity, Case, Lead, activities, campaigns, files, notes),
//! plus the setup objects records point at (User, Profile, RecordType, Folder).

use super::FieldType::{
    Boolean, Combobox, Currency, Date, DateTime, Double, Email, Int, Percent, Phone, Picklist,
    Reference, String as Text, TextArea, Url,
};
use super::{ObjectDef, OnDelete, field, obj};

/// Objects an activity's WhatId / a note's ParentId can point at.
pub const WHAT_TARGETS: &[&str] = &[
    "Account",
    "Opportunity",
    "Case",
    "Campaign",
    "Project__c",
    "Invoice__c",
];
pub(super) const PARENT_TARGETS: &[&str] = &[
    "Account",
    "Contact",
    "Opportunity",
    "Case",
    "Lead",
    "Project__c",
    "Invoice__c",
];
pub(super) const LINK_TARGETS: &[&str] = &[
    "Account",
    "Contact",
    "Opportunity",
    "Case",
    "Lead",
    "User",
    "Project__c",
    "Invoice__c",
];

const INDUSTRIES: &[&str] = &[
    "Agriculture",
    "Apparel",
    "Banking",
    "Biotechnology",
    "Chemicals",
    "Communications",
    "Construction",
    "Consulting",
    "Education",
    "Electronics",
    "Energy",
    "Engineering",
    "Entertainment",
    "Environmental",
    "Finance",
    "Food & Beverage",
    "Government",
    "Healthcare",
    "Hospitality",
    "Insurance",
    "Machinery",
    "Manufacturing",
    "Media",
    "Not For Profit",
    "Recreation",
    "Retail",
    "Shipping",
    "Technology",
    "Telecommunications",
    "Transportation",
    "Utilities",
    "Other",
];
const SOURCES: &[&str] = &[
    "Web",
    "Phone Inquiry",
    "Partner Referral",
    "Purchased List",
    "Other",
];
const RATINGS: &[&str] = &["Hot", "Warm", "Cold"];
const SALUTATIONS: &[&str] = &["Mr.", "Ms.", "Mrs.", "Dr.", "Prof."];

/// Opportunity stages in pipeline order.
pub const STAGES: &[&str] = &[
    "Prospecting",
    "Qualification",
    "Needs Analysis",
    "Value Proposition",
    "Id. Decision Makers",
    "Perception Analysis",
    "Proposal/Price Quote",
    "Negotiation/Review",
    "Closed Won",
    "Closed Lost",
];

fn name_derived() -> super::FieldDef {
    field("Name", Text)
        .derived(super::builder::FULL_NAME_FORMULA)
        .len(121)
        .name_field()
        .req()
        .label("Full Name")
}

fn master_record(target: &str) -> super::FieldDef {
    field("MasterRecordId", Reference)
        .refs(&[target], "MasterRecord", OnDelete::SetNull)
        .ro()
        .label("Master Record ID")
}

/// The standard objects, in table order.
pub fn objects() -> Vec<ObjectDef> {
    vec![
        user(),
        obj("Profile", "00e", "Profile", "Profiles")
            .flags(|f| {
                f.createable = false;
                f.updateable = false;
                f.deletable = false;
                f.undeletable = false;
                f.has_is_deleted = false;
                f.setup = true;
                f.replicateable = false;
                f.triggerable = false;
            })
            .f(field("Name", Text).len(255).req().name_field().ro())
            .f(field("UserType", Picklist)
                .pick(&["Standard", "PowerPartner", "Guest"])
                .ro())
            .f(field("Description", Text).len(255).ro())
            .build(),
        obj("RecordType", "012", "Record Type", "Record Types")
            .flags(|f| {
                f.createable = false;
                f.updateable = false;
                f.deletable = false;
                f.undeletable = false;
                f.has_is_deleted = false;
                f.triggerable = false;
            })
            .f(field("Name", Text)
                .len(80)
                .req()
                .name_field()
                .ro()
                .label("Record Type Name"))
            .f(field("DeveloperName", Text)
                .len(80)
                .req()
                .ro()
                .label("Record Type Name"))
            .f(field("SobjectType", Picklist)
                .pick(&["Account", "Opportunity", "Case"])
                .req()
                .ro())
            .f(field("IsActive", Boolean).ro().label("Active"))
            .f(field("Description", Text).len(255).ro())
            .build(),
        account(),
        contact(),
        lead(),
        opportunity(),
        case(),
        campaign(),
        obj(
            "CampaignMember",
            "00v",
            "Campaign Member",
            "Campaign Members",
        )
        .flags(|f| f.undeletable = false)
        .f(field("CampaignId", Reference)
            .refs(&["Campaign"], "Campaign", OnDelete::Cascade)
            .req()
            .create_only())
        .f(field("LeadId", Reference)
            .refs(&["Lead"], "Lead", OnDelete::Cascade)
            .create_only())
        .f(field("ContactId", Reference)
            .refs(&["Contact"], "Contact", OnDelete::Cascade)
            .create_only())
        .f(field("Status", Picklist).pick(&["*Sent", "Responded"]))
        .f(field("HasResponded", Boolean)
            .derived(r#"ISPICKVAL(Status, "Responded")"#)
            .label("Responded"))
        .f(field("FirstRespondedDate", Date).ro())
        .build(),
        task(),
        event(),
    ]
    .into_iter()
    .chain(super::content::objects())
    .collect()
}

fn user() -> ObjectDef {
    obj("User", "005", "User", "Users")
        .flags(|f| {
            f.deletable = false;
            f.undeletable = false;
            f.has_is_deleted = false;
            f.setup = true;
        })
        .f(field("Username", Text).len(80).req().unique().no_intern())
        .f(field("LastName", Text).len(80).req())
        .f(field("FirstName", Text).len(40))
        .f(name_derived())
        .f(field("CompanyName", Text).len(80).interned())
        .f(field("Department", Text).len(80).interned())
        .f(field("Title", Text).len(80).interned())
        .f(field("City", Text).len(40).interned())
        .f(field("Country", Text).len(80).interned())
        .f(field("Email", Email).req().no_intern())
        .f(field("Phone", Phone))
        .f(field("Alias", Text).len(8).req())
        .f(field("IsActive", Boolean).default_true().label("Active"))
        .f(field("TimeZoneSidKey", Picklist)
            .pick(&[
                "America/Los_Angeles",
                "America/New_York",
                "America/Chicago",
                "Europe/London",
                "Europe/Paris",
                "Europe/Berlin",
                "Asia/Tokyo",
                "Australia/Sydney",
            ])
            .restricted()
            .req()
            .label("Time Zone"))
        .f(field("LocaleSidKey", Picklist)
            .pick(&["en_US", "en_GB", "de_DE", "fr_FR", "ja_JP", "en_AU"])
            .restricted()
            .req()
            .label("Locale"))
        .f(field("EmailEncodingKey", Picklist)
            .pick(&["UTF-8", "ISO-8859-1"])
            .restricted()
            .req()
            .label("Email Encoding"))
        .f(field("LanguageLocaleKey", Picklist)
            .pick(&["en_US", "de", "fr", "ja"])
            .restricted()
            .req()
            .label("Language"))
        .f(field("ProfileId", Reference)
            .refs(&["Profile"], "Profile", OnDelete::Restrict)
            .req())
        .f(field("ManagerId", Reference).refs(&["User"], "Manager", OnDelete::SetNull))
        .f(field("UserType", Picklist)
            .pick(&["*Standard", "PowerPartner", "Guest"])
            .ro())
        .f(field("LastLoginDate", DateTime).ro())
        .build()
}

fn account() -> ObjectDef {
    obj("Account", "001", "Account", "Accounts")
        .flags(|f| f.mergeable = true)
        .f(master_record("Account"))
        .f(field("Name", Text).len(255).req().name_field().label("Account Name"))
        .f(field("Type", Picklist)
            .pick(&[
                "Prospect",
                "Customer - Direct",
                "Customer - Channel",
                "Channel Partner / Reseller",
                "Installation Partner",
                "Technology Partner",
                "Other",
            ])
            .label("Account Type"))
        .record_types(&[
            ("Customer_Account", "Customer Account"),
            ("Partner_Account", "Partner Account"),
        ])
        .f(field("ParentId", Reference).refs(&["Account"], "Parent", OnDelete::SetNull))
        .address("Billing")
        .address("Shipping")
        .f(field("Phone", Phone).label("Account Phone"))
        .f(field("Fax", Phone).label("Account Fax"))
        .f(field("AccountNumber", Text).len(40))
        .f(field("Website", Url))
        .f(field("Industry", Picklist).pick(INDUSTRIES))
        .f(field("AnnualRevenue", Currency))
        .f(field("NumberOfEmployees", Int).label("Employees"))
        .f(field("Ownership", Picklist).pick(&["Public", "Private", "Subsidiary", "Other"]))
        .f(field("Rating", Picklist).pick(RATINGS).label("Account Rating"))
        .f(field("Site", Text).len(80).label("Account Site"))
        .f(field("AccountSource", Picklist).pick(SOURCES))
        .f(field("Description", TextArea).len(32000).label("Account Description"))
        .owner()
        .f(field("Legacy_Id__c", Text).len(40).ext_id().label("Legacy ID"))
        .f(field("Automation_Stamp__c", Text).len(255).no_intern())
        .f(field("Customer_Tier__c", Text).len(1300).formula(
            r#"IF(AnnualRevenue >= 100000000, "Enterprise", IF(AnnualRevenue >= 10000000, "Mid-Market", "SMB"))"#,
        ))
        .build()
}

fn contact() -> ObjectDef {
    obj("Contact", "003", "Contact", "Contacts")
        .flags(|f| f.mergeable = true)
        .f(master_record("Contact"))
        .f(field("AccountId", Reference).refs(&["Account"], "Account", OnDelete::Cascade))
        .f(field("LastName", Text).len(80).req())
        .f(field("FirstName", Text).len(40))
        .f(field("Salutation", Picklist).pick(SALUTATIONS))
        .f(name_derived())
        .address("Mailing")
        .f(field("Phone", Phone).label("Business Phone"))
        .f(field("MobilePhone", Phone))
        .f(field("Email", Email).no_intern())
        .f(field("Title", Text).len(128).interned())
        .f(field("Department", Text).len(80).interned())
        .f(field("ReportsToId", Reference).refs(&["Contact"], "ReportsTo", OnDelete::SetNull))
        .f(field("LeadSource", Picklist).pick(SOURCES))
        .f(field("Birthdate", Date))
        .f(field("Description", TextArea)
            .len(32000)
            .label("Contact Description"))
        .f(field("HasOptedOutOfEmail", Boolean).label("Email Opt Out"))
        .f(field("DoNotCall", Boolean))
        .owner()
        .f(field("Legacy_Id__c", Text)
            .len(40)
            .ext_id()
            .label("Legacy ID"))
        .build()
}

fn lead() -> ObjectDef {
    obj("Lead", "00Q", "Lead", "Leads")
        .flags(|f| f.mergeable = true)
        .f(master_record("Lead"))
        .f(field("LastName", Text).len(80).req())
        .f(field("FirstName", Text).len(40))
        .f(field("Salutation", Picklist).pick(SALUTATIONS))
        .f(name_derived())
        .f(field("Title", Text).len(128).interned())
        .f(field("Company", Text).len(255).req())
        .address("")
        .f(field("Phone", Phone))
        .f(field("MobilePhone", Phone))
        .f(field("Email", Email).no_intern())
        .f(field("Website", Url))
        .f(field("Description", TextArea).len(32000))
        .f(field("LeadSource", Picklist).pick(SOURCES))
        .f(field("Status", Picklist)
            .pick(&[
                "*Open - Not Contacted",
                "Working - Contacted",
                "Closed - Converted",
                "Closed - Not Converted",
            ])
            .req()
            .label("Lead Status"))
        .f(field("Industry", Picklist).pick(INDUSTRIES))
        .f(field("Rating", Picklist).pick(RATINGS))
        .f(field("AnnualRevenue", Currency))
        .f(field("NumberOfEmployees", Int).label("Employees"))
        .owner()
        .f(field("IsConverted", Boolean).ro().label("Converted"))
        .f(field("ConvertedDate", Date).ro())
        .f(field("HasOptedOutOfEmail", Boolean).label("Email Opt Out"))
        .build()
}

fn opportunity() -> ObjectDef {
    obj("Opportunity", "006", "Opportunity", "Opportunities")
        .f(field("AccountId", Reference).refs(&["Account"], "Account", OnDelete::Cascade))
        .record_types(&[("New_Business", "New Business"), ("Renewal", "Renewal")])
        .f(field("Name", Text).len(120).req().name_field().no_intern())
        .f(field("Description", TextArea).len(32000))
        .f(field("StageName", Picklist)
            .pick(STAGES)
            .req()
            .label("Stage"))
        .f(field("Amount", Currency))
        .f(field("Probability", Percent).label("Probability (%)"))
        .f(field("ExpectedRevenue", Currency)
            .formula("Amount * Probability / 100")
            .label("Expected Amount"))
        .f(field("CloseDate", Date).req())
        .f(field("Type", Picklist)
            .pick(&[
                "Existing Customer - Upgrade",
                "Existing Customer - Replacement",
                "Existing Customer - Downgrade",
                "New Customer",
            ])
            .label("Opportunity Type"))
        .f(field("NextStep", Text).len(255).no_intern())
        .f(field("LeadSource", Picklist).pick(SOURCES))
        .f(field("IsClosed", Boolean)
            .derived(
                r#"OR(ISPICKVAL(StageName, "Closed Won"), ISPICKVAL(StageName, "Closed Lost"))"#,
            )
            .label("Closed"))
        .f(field("IsWon", Boolean)
            .derived(r#"ISPICKVAL(StageName, "Closed Won")"#)
            .label("Won"))
        .f(field("CampaignId", Reference).refs(&["Campaign"], "Campaign", OnDelete::SetNull))
        .owner()
        .build()
}

fn case() -> ObjectDef {
    obj("Case", "500", "Case", "Cases")
        .flags(|f| f.mergeable = true)
        .f(master_record("Case"))
        .f(field("CaseNumber", Text)
            .auto_number("{00000000}")
            .name_field())
        .f(field("ContactId", Reference).refs(&["Contact"], "Contact", OnDelete::SetNull))
        .f(field("AccountId", Reference).refs(&["Account"], "Account", OnDelete::SetNull))
        .f(field("ParentId", Reference).refs(&["Case"], "Parent", OnDelete::SetNull))
        .f(field("SuppliedName", Text).len(80).label("Web Name"))
        .f(field("SuppliedEmail", Email).label("Web Email"))
        .f(field("SuppliedPhone", Text).len(40).label("Web Phone"))
        .f(field("Type", Picklist)
            .pick(&[
                "Mechanical",
                "Electrical",
                "Electronic",
                "Structural",
                "Other",
            ])
            .label("Case Type"))
        .record_types(&[
            ("Support_Case", "Support Case"),
            ("Billing_Case", "Billing Case"),
        ])
        .f(field("Status", Picklist)
            .pick(&["*New", "Working", "Escalated", "Closed"])
            .req())
        .f(field("Reason", Picklist)
            .pick(&[
                "Installation",
                "Equipment Complexity",
                "Performance",
                "Breakdown",
                "Equipment Design",
                "Feedback",
                "Other",
            ])
            .label("Case Reason"))
        .f(field("Origin", Picklist)
            .pick(&["Phone", "Email", "Web"])
            .label("Case Origin"))
        .f(field("Subject", Text).len(255).no_intern())
        .f(field("Priority", Picklist).pick(&["High", "*Medium", "Low"]))
        .f(field("Description", TextArea).len(32000))
        .f(field("IsClosed", Boolean)
            .derived(r#"ISPICKVAL(Status, "Closed")"#)
            .label("Closed"))
        .f(field("IsEscalated", Boolean).label("Escalated"))
        .owner()
        .build()
}

fn campaign() -> ObjectDef {
    obj("Campaign", "701", "Campaign", "Campaigns")
        .f(field("Name", Text)
            .len(80)
            .req()
            .name_field()
            .label("Campaign Name"))
        .f(field("ParentId", Reference).refs(&["Campaign"], "Parent", OnDelete::SetNull))
        .f(field("Type", Picklist).pick(&[
            "Conference",
            "Webinar",
            "Trade Show",
            "Public Relations",
            "Partners",
            "Referral Program",
            "Advertisement",
            "Banner Ads",
            "Direct Mail",
            "Email",
            "Telemarketing",
            "Other",
        ]))
        .f(field("Status", Picklist).pick(&["Planned", "In Progress", "Completed", "Aborted"]))
        .f(field("StartDate", Date))
        .f(field("EndDate", Date))
        .f(field("ExpectedRevenue", Currency).label("Expected Revenue in Campaign"))
        .f(field("BudgetedCost", Currency).label("Budgeted Cost in Campaign"))
        .f(field("ActualCost", Currency).label("Actual Cost in Campaign"))
        .f(field("ExpectedResponse", Percent)
            .digits(8, 2)
            .label("Expected Response (%)"))
        .f(field("NumberSent", Double).label("Num Sent in Campaign"))
        .f(field("IsActive", Boolean).label("Active"))
        .f(field("Description", TextArea).len(32000))
        .owner()
        .build()
}

fn task() -> ObjectDef {
    obj("Task", "00T", "Task", "Tasks")
        .f(field("WhoId", Reference).refs(&["Contact", "Lead"], "Who", OnDelete::Cascade))
        .f(field("WhatId", Reference).refs(WHAT_TARGETS, "What", OnDelete::Cascade))
        .f(field("Subject", Combobox).pick(&["Call", "Send Letter", "Send Quote", "Other"]))
        .f(field("ActivityDate", Date).label("Due Date Only"))
        .f(field("Status", Picklist)
            .pick(&[
                "*Not Started",
                "In Progress",
                "Completed",
                "Waiting on someone else",
                "Deferred",
            ])
            .req())
        .f(field("Priority", Picklist)
            .pick(&["High", "*Normal", "Low"])
            .req())
        .owner()
        .f(field("Description", TextArea).len(32000))
        .f(field("IsClosed", Boolean)
            .derived(r#"ISPICKVAL(Status, "Completed")"#)
            .label("Closed"))
        .f(field("TaskSubtype", Picklist)
            .pick(&["Task", "Email", "Call"])
            .create_only())
        .f(field("CallDurationInSeconds", Int).label("Call Duration"))
        .build()
}

fn event() -> ObjectDef {
    obj("Event", "00U", "Event", "Events")
        .f(field("WhoId", Reference).refs(&["Contact", "Lead"], "Who", OnDelete::Cascade))
        .f(field("WhatId", Reference).refs(WHAT_TARGETS, "What", OnDelete::Cascade))
        .f(field("Subject", Combobox).pick(&[
            "Call",
            "Email",
            "Meeting",
            "Send Letter/Quote",
            "Other",
        ]))
        .f(field("Location", Text).len(255).interned())
        .f(field("IsAllDayEvent", Boolean).label("All-Day Event"))
        .f(field("ActivityDateTime", DateTime).label("Due Date Time"))
        .f(field("ActivityDate", Date).label("Due Date Only"))
        .f(field("DurationInMinutes", Int).label("Duration"))
        .f(field("StartDateTime", DateTime).req())
        .f(field("EndDateTime", DateTime).req())
        .f(field("Description", TextArea).len(32000))
        .owner()
        .f(field("IsPrivate", Boolean).label("Private"))
        .f(field("ShowAs", Picklist)
            .pick(&["*Busy", "OutOfOffice", "Free"])
            .label("Show Time As"))
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::salesforce::schema::Storage;

    #[test]
    fn derived_and_formula_fields_are_read_only() {
        for o in objects() {
            for f in &o.fields {
                if matches!(f.storage, Storage::Formula(_)) {
                    assert!(!f.createable && !f.updateable, "{}.{}", o.name, f.name);
                }
            }
        }
    }
}
