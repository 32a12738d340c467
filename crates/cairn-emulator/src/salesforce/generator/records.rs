//! Row fillers for users, setup objects and the core CRM records (accounts, contacts,
//! leads, opportunities, cases); [`super::related`] fills what hangs off them.

use super::text::{self, place};
use super::{Gen, related};
use crate::salesforce::rng::Rng;
use crate::salesforce::schema::STAGES;

/// Profiles the org has: (name, user type).
pub const PROFILES: &[(&str, &str)] = &[
    ("System Administrator", "Standard"),
    ("Standard User", "Standard"),
    ("Marketing User", "Standard"),
    ("Contract Manager", "Standard"),
    ("Solution Manager", "Standard"),
    ("Read Only", "Standard"),
];

/// Document folders: (name, developer name).
pub const FOLDERS: &[(&str, &str)] = &[
    ("Shared Documents", "Shared_Documents"),
    ("Marketing Assets", "Marketing_Assets"),
    ("Templates", "Templates"),
    ("Contracts", "Contracts"),
];

/// Fills the table for `g.def`.
pub fn fill(g: &mut Gen<'_>) {
    let n = g.plan.counts[g.t.obj];
    let base = Rng::for_label(g.plan.seed, &g.def.name);
    let name = g.def.name.clone();
    for i in 0..n {
        let mut r = base.fork(i as u64);
        match name.as_str() {
            "User" => user(g, &mut r, i),
            "Profile" => profile(g, &mut r, i),
            "RecordType" => record_type(g, &mut r, i),
            "Account" => account(g, &mut r, i),
            "Contact" => contact(g, &mut r, i),
            "Lead" => lead(g, &mut r),
            "Opportunity" => opportunity(g, &mut r, i),
            "Case" => case(g, &mut r, i),
            "Campaign" => related::campaign(g, &mut r, i),
            "CampaignMember" => related::campaign_member(g, &mut r, i),
            "Task" | "Event" => related::activity(g, &mut r, i),
            "Note" => related::note(g, &mut r),
            "Attachment" => related::attachment(g, &mut r),
            "Folder" => related::folder(g, &mut r, i),
            "Document" => related::document(g, &mut r, i),
            "ContentDocument" => related::content_document(g, &mut r, i),
            "ContentVersion" => related::content_version(g, &mut r, i),
            "ContentDocumentLink" => related::content_link(g, &mut r, i),
            "Project__c" => related::project(g, &mut r, i),
            "Project_Task__c" => related::project_task(g, &mut r, i),
            "Invoice__c" => related::invoice(g, &mut r, i),
            _ => {
                g.row(&mut r, 365);
            }
        }
    }
    g.t.auto_number = n as u64 + 1;
}

fn user(g: &mut Gen<'_>, r: &mut Rng, i: usize) {
    let row = g.row(r, 2000);
    let (first, last) = if i == 0 {
        ("Avery", "Admin")
    } else {
        text::person(r)
    };
    let username = if i == 0 {
        format!("admin@{}", g.plan.domain)
    } else {
        let local: String = format!("{first}.{last}")
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '.')
            .map(|c| c.to_ascii_lowercase())
            .collect();
        format!("{local}{i}@{}", g.plan.domain)
    };
    let p = place(r);
    let c = (
        g.col("Username"),
        g.col("LastName"),
        g.col("FirstName"),
        g.col("Email"),
        g.col("Alias"),
    );
    g.unique_text(row, c.0, &username);
    g.text(row, c.1, last);
    g.text(row, c.2, first);
    g.text(row, c.3, &username);
    let alias: String = format!("{}{}", &first[..1], last).chars().take(8).collect();
    g.text(row, c.4, &alias.to_ascii_lowercase());
    let company = g.plan.company.clone();
    let cols = [
        ("CompanyName", company.as_str()),
        ("Department", r.pick_str(text::DEPARTMENTS)),
        (
            "Title",
            if i == 0 {
                "Salesforce Administrator"
            } else {
                r.pick_str(text::TITLES)
            },
        ),
        ("City", p.0),
        ("Country", p.2),
        (
            "TimeZoneSidKey",
            *r.pick(&[
                "America/Los_Angeles",
                "America/New_York",
                "Europe/London",
                "Europe/Berlin",
            ]),
        ),
        (
            "LocaleSidKey",
            r.pick_str(&["en_US", "en_US", "en_GB", "de_DE"]),
        ),
        ("EmailEncodingKey", "UTF-8"),
        ("LanguageLocaleKey", "en_US"),
        ("UserType", "Standard"),
    ];
    for (f, v) in cols {
        let col = g.col(f);
        g.text(row, col, v);
    }
    let phone = text::phone(p.4, r);
    let col = g.col("Phone");
    g.text(row, col, &phone);
    let active = g.plan.user_active(i);
    let col = g.col("IsActive");
    g.bool(row, col, active);
    let col = g.col("ProfileId");
    g.reference(
        row,
        col,
        "Profile",
        if i == 0 {
            0
        } else {
            1 + r.index(PROFILES.len() - 1)
        },
    );
    if i > 0 {
        let col = g.col("ManagerId");
        g.reference(row, col, "User", r.index(i));
    }
    if active {
        let col = g.col("LastLoginDate");
        g.datetime(row, col, g.plan.epoch - r.range(60_000, 30 * 86_400_000));
    }
    // Users are created and maintained by the admin.
    let h = &mut g.t.headers[row as usize];
    h.created_by = 0;
    h.modified_by = 0;
}

fn profile(g: &mut Gen<'_>, r: &mut Rng, i: usize) {
    let row = g.row(r, 3000);
    let (name, ut) = PROFILES[i];
    let c = (g.col("Name"), g.col("UserType"), g.col("Description"));
    g.text(row, c.0, name);
    g.text(row, c.1, ut);
    g.text(row, c.2, &format!("{name} profile"));
    let h = &mut g.t.headers[row as usize];
    h.created_by = 0;
    h.modified_by = 0;
}

fn record_type(g: &mut Gen<'_>, r: &mut Rng, i: usize) {
    let row = g.row(r, 1500);
    let all: Vec<(String, String, String)> = g
        .plan
        .schema
        .objects
        .iter()
        .flat_map(|o| {
            o.record_types
                .iter()
                .map(|rt| (o.name.clone(), rt.developer_name.clone(), rt.name.clone()))
        })
        .collect();
    let (obj, dev, label) = &all[i];
    let c = (
        g.col("Name"),
        g.col("DeveloperName"),
        g.col("SobjectType"),
        g.col("IsActive"),
    );
    g.text(row, c.0, label);
    g.text(row, c.1, dev);
    g.text(row, c.2, obj);
    g.bool(row, c.3, true);
    let h = &mut g.t.headers[row as usize];
    h.created_by = 0;
    h.modified_by = 0;
}

/// The record type row for the `k`-th record type of `object`.
pub(super) fn record_type_row(g: &Gen<'_>, object: &str, k: usize) -> usize {
    let mut base = 0;
    for o in &g.plan.schema.objects {
        if o.name == object {
            return base + k.min(o.record_types.len().saturating_sub(1));
        }
        base += o.record_types.len();
    }
    0
}

pub(super) fn set_address(g: &mut Gen<'_>, row: u32, prefix: &str, r: &mut Rng) -> &'static str {
    let p = place(r);
    let street = text::street(r);
    let postal = text::postal_code(p.3, r);
    for (part, v) in [
        ("Street", street.as_str()),
        ("City", p.0),
        ("State", p.1),
        ("PostalCode", postal.as_str()),
        ("Country", p.2),
    ] {
        if !v.is_empty() {
            let col = g.col(&format!("{prefix}{part}"));
            g.text(row, col, v);
        }
    }
    p.4
}

pub(super) fn pick_text(g: &mut Gen<'_>, row: u32, field: &str, r: &mut Rng, p_null: f64) {
    if r.chance(p_null) {
        return;
    }
    let fi = g.def.field(field).unwrap_or(0);
    let values: Vec<String> = g.def.fields[fi]
        .picklist
        .iter()
        .map(|v| v.value.clone())
        .collect();
    if values.is_empty() {
        return;
    }
    let v = values[r.index(values.len())].clone();
    let col = g.col(field);
    g.text(row, col, &v);
}

pub(super) fn owner(g: &mut Gen<'_>, row: u32, r: &mut Rng) {
    let u = g.plan.owner(r) as usize;
    let col = g.col("OwnerId");
    g.reference(row, col, "User", u);
}

fn account(g: &mut Gen<'_>, r: &mut Rng, i: usize) {
    let row = g.row(r, 1100);
    let name = account_name(g, i);
    let col = g.col("Name");
    g.text(row, col, &name);
    let phone_prefix = set_address(g, row, "Billing", r);
    if r.chance(0.6) {
        set_address(g, row, "Shipping", r);
    }
    let domain = text::domain(&name, r);
    let phone = text::phone(phone_prefix, r);
    let cols = (
        g.col("Phone"),
        g.col("Website"),
        g.col("AccountNumber"),
        g.col("Description"),
    );
    g.text(row, cols.0, &phone);
    g.text(row, cols.1, &format!("https://www.{domain}"));
    g.text(row, cols.2, &format!("CD{:06}", 100_000 + i));
    if r.chance(0.7) {
        let d = text::description(&name, r);
        g.text(row, cols.3, &d);
    }
    for (f, p) in [
        ("Type", 0.1),
        ("Industry", 0.1),
        ("Rating", 0.4),
        ("Ownership", 0.5),
        ("AccountSource", 0.3),
    ] {
        pick_text(g, row, f, r, p);
    }
    let revenue = (r.log_uniform(50_000, 5_000_000_000) / 1000 * 1000) as f64;
    let cols = (
        g.col("AnnualRevenue"),
        g.col("NumberOfEmployees"),
        g.col("RecordTypeId"),
    );
    if r.chance(0.85) {
        g.num(row, cols.0, revenue);
    }
    g.num(row, cols.1, r.log_uniform(1, 200_000) as f64);
    let rt = record_type_row(g, "Account", r.index(2));
    g.reference(row, cols.2, "RecordType", rt);
    if i >= 20 && r.chance(0.08) {
        let col = g.col("ParentId");
        g.reference(row, col, "Account", r.index(i));
    }
    if r.chance(0.5) {
        let col = g.col("Legacy_Id__c");
        g.unique_text(row, col, &format!("ACC-{:07}", i + 1));
    }
    owner(g, row, r);
}

/// The name of account `a`: a pure function of the seed, so contacts and opportunities
/// generated on other threads can use their account's company name.
pub(super) fn account_name(g: &Gen<'_>, a: usize) -> String {
    text::company(&mut Rng::for_label(g.plan.seed, "account-name").fork(a as u64))
}

pub(super) fn person_fields(
    g: &mut Gen<'_>,
    row: u32,
    r: &mut Rng,
    domain: &str,
) -> (String, String) {
    let (first, last) = text::person(r);
    let cols = (
        g.col("FirstName"),
        g.col("LastName"),
        g.col("Email"),
        g.col("Title"),
    );
    if r.chance(0.97) {
        g.text(row, cols.0, first);
    }
    g.text(row, cols.1, last);
    let email = text::email(first, last, domain, r);
    g.text(row, cols.2, &email);
    if r.chance(0.8) {
        g.text(row, cols.3, r.pick_str(text::TITLES));
    }
    pick_text(g, row, "Salutation", r, 0.3);
    (first.to_owned(), last.to_owned())
}

fn contact(g: &mut Gen<'_>, r: &mut Rng, i: usize) {
    let row = g.row(r, 1000);
    let account = g.plan.contact_account(i);
    let company = account_name(g, account.unwrap_or(i));
    let domain = text::domain(&company, r);
    person_fields(g, row, r, &domain);
    if let Some(a) = account {
        let col = g.col("AccountId");
        g.reference(row, col, "Account", a);
    }
    let prefix = set_address(g, row, "Mailing", r);
    let phone = text::phone(prefix, r);
    let cols = (
        g.col("Phone"),
        g.col("MobilePhone"),
        g.col("Department"),
        g.col("Birthdate"),
    );
    g.text(row, cols.0, &phone);
    if r.chance(0.5) {
        let m = text::phone(prefix, r);
        g.text(row, cols.1, &m);
    }
    if r.chance(0.6) {
        g.text(row, cols.2, r.pick_str(text::DEPARTMENTS));
    }
    if r.chance(0.3) {
        let today = g.today();
        g.date(row, cols.3, today - r.range(20 * 365, 65 * 365));
    }
    if i > 0 && r.chance(0.1) {
        let col = g.col("ReportsToId");
        g.reference(row, col, "Contact", r.index(i));
    }
    pick_text(g, row, "LeadSource", r, 0.4);
    if r.chance(0.25) {
        let d = text::note(r);
        let col = g.col("Description");
        g.text(row, col, &d);
    }
    let cols = (g.col("HasOptedOutOfEmail"), g.col("DoNotCall"));
    g.bool(row, cols.0, r.chance(0.08));
    g.bool(row, cols.1, r.chance(0.05));
    if r.chance(0.4) {
        let col = g.col("Legacy_Id__c");
        g.unique_text(row, col, &format!("CON-{:07}", i + 1));
    }
    owner(g, row, r);
}

fn lead(g: &mut Gen<'_>, r: &mut Rng) {
    let row = g.row(r, 700);
    let company = text::company(r);
    let domain = text::domain(&company, r);
    person_fields(g, row, r, &domain);
    let col = g.col("Company");
    g.text(row, col, &company);
    let prefix = set_address(g, row, "", r);
    let phone = text::phone(prefix, r);
    let col = g.col("Phone");
    g.text(row, col, &phone);
    for (f, p) in [
        ("Status", 0.0),
        ("Industry", 0.3),
        ("Rating", 0.5),
        ("LeadSource", 0.2),
    ] {
        pick_text(g, row, f, r, p);
    }
    let cols = (
        g.col("NumberOfEmployees"),
        g.col("AnnualRevenue"),
        g.col("Description"),
    );
    let employees = r.log_uniform(1, 50_000);
    g.num(row, cols.0, employees as f64);
    if r.chance(0.5) {
        g.num(
            row,
            cols.1,
            (r.log_uniform(100_000, 900_000_000) / 1000 * 1000) as f64,
        );
    }
    if r.chance(0.3) {
        let d = text::description(&company, r);
        g.text(row, cols.2, &d);
    }
    // Workflow rule "Hot_Lead_For_Large_Companies" held for generated data too.
    if employees > 1000 {
        let col = g.col("Rating");
        g.text(row, col, "Hot");
    }
    owner(g, row, r);
}

fn opportunity(g: &mut Gen<'_>, r: &mut Rng, i: usize) {
    let row = g.row(r, 900);
    let account = g.plan.opportunity_account(i);
    let company = account_name(g, account);
    let name = text::deal_name(&company, r);
    let stage_i = r.index(STAGES.len());
    let stage = STAGES[stage_i];
    let cols = (
        g.col("Name"),
        g.col("AccountId"),
        g.col("StageName"),
        g.col("Amount"),
        g.col("Probability"),
        g.col("CloseDate"),
    );
    g.text(row, cols.0, &name);
    g.reference(row, cols.1, "Account", account);
    g.text(row, cols.2, stage);
    // Closed Won deals always carry an amount (the active validation rule demands it).
    if stage == "Closed Won" || r.chance(0.9) {
        g.num(
            row,
            cols.3,
            (r.log_uniform(1_000, 2_000_000) / 100 * 100) as f64,
        );
    }
    let prob = match stage {
        "Closed Won" => 100.0,
        "Closed Lost" => 0.0,
        _ => (10 + stage_i * 10) as f64,
    };
    g.num(row, cols.4, prob);
    let today = g.today();
    g.date(row, cols.5, today + r.range(-400, 200));
    for (f, p) in [("Type", 0.2), ("LeadSource", 0.3)] {
        pick_text(g, row, f, r, p);
    }
    let rt = record_type_row(g, "Opportunity", r.index(2));
    let cols = (
        g.col("RecordTypeId"),
        g.col("NextStep"),
        g.col("Description"),
        g.col("CampaignId"),
    );
    g.reference(row, cols.0, "RecordType", rt);
    if r.chance(0.5) {
        g.text(row, cols.1, r.pick_str(text::ACTIVITY_SUBJECTS));
    }
    if r.chance(0.4) {
        let d = text::description(&company, r);
        g.text(row, cols.2, &d);
    }
    if r.chance(0.2) {
        let n = g.plan.count("Campaign");
        g.reference(row, cols.3, "Campaign", r.index(n));
    }
    owner(g, row, r);
}

fn case(g: &mut Gen<'_>, r: &mut Rng, i: usize) {
    let row = g.row(r, 600);
    let contact = g.plan.pick("case-contact", i, g.plan.count("Contact"));
    let cols = (
        g.col("CaseNumber"),
        g.col("ContactId"),
        g.col("AccountId"),
        g.col("Subject"),
        g.col("Description"),
    );
    g.text(row, cols.0, &format!("{:08}", i + 1));
    g.reference(row, cols.1, "Contact", contact);
    if let Some(a) = g.plan.contact_account(contact) {
        g.reference(row, cols.2, "Account", a);
    }
    let subject = r.pick_str(text::CASE_SUBJECTS);
    g.text(row, cols.3, subject);
    if r.chance(0.8) {
        let d = format!("{subject}. {}", text::note(r));
        g.text(row, cols.4, &d);
    }
    for (f, p) in [
        ("Status", 0.0),
        ("Priority", 0.0),
        ("Origin", 0.1),
        ("Type", 0.3),
        ("Reason", 0.3),
    ] {
        pick_text(g, row, f, r, p);
    }
    let rt = record_type_row(g, "Case", r.index(2));
    let col = g.col("RecordTypeId");
    g.reference(row, col, "RecordType", rt);
    if i > 10 && r.chance(0.05) {
        let col = g.col("ParentId");
        g.reference(row, col, "Case", r.index(i));
    }
    let col = g.col("IsEscalated");
    g.bool(row, col, r.chance(0.07));
    owner(g, row, r);
}
