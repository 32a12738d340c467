//! Row fillers for what hangs off the core records: campaigns and members, activities
//! with polymorphic WhoId/WhatId, notes, attachments, documents, files
//! (ContentDocument / ContentVersion / ContentDocumentLink) and the custom objects.

use super::Gen;
use super::blob::file_kind;
use super::records::{FOLDERS, account_name, owner, pick_text};
use super::text;
use crate::salesforce::rng::Rng;
use crate::salesforce::store::{BlobBody, RecRef};

pub(super) fn campaign(g: &mut Gen<'_>, r: &mut Rng, i: usize) {
    let row = g.row(r, 800);
    let kind = *r.pick(&[
        "Webinar",
        "Trade Show",
        "Email",
        "Conference",
        "Direct Mail",
    ]);
    let year = 2024 + r.index(3);
    let name = format!(
        "{year} {} {kind} #{}",
        r.pick(&["Spring", "Summer", "Autumn", "Winter"]),
        i + 1
    );
    let cols = (
        g.col("Name"),
        g.col("Type"),
        g.col("StartDate"),
        g.col("EndDate"),
        g.col("BudgetedCost"),
        g.col("IsActive"),
    );
    g.text(row, cols.0, &name);
    g.text(row, cols.1, kind);
    let start = g.today() + r.range(-500, 90);
    g.date(row, cols.2, start);
    g.date(row, cols.3, start + r.range(1, 60));
    g.num(row, cols.4, (r.range(1, 500) * 100) as f64);
    g.bool(row, cols.5, r.chance(0.5));
    pick_text(g, row, "Status", r, 0.0);
    owner(g, row, r);
}

pub(super) fn campaign_member(g: &mut Gen<'_>, r: &mut Rng, i: usize) {
    let row = g.row(r, 500);
    let campaigns = g.plan.count("Campaign").max(1);
    let cols = (g.col("CampaignId"), g.col("ContactId"), g.col("LeadId"));
    g.reference(row, cols.0, "Campaign", i % campaigns);
    let k = i / campaigns;
    if i.is_multiple_of(2) {
        g.reference(row, cols.1, "Contact", k % g.plan.count("Contact").max(1));
    } else {
        g.reference(row, cols.2, "Lead", k % g.plan.count("Lead").max(1));
    }
    pick_text(g, row, "Status", r, 0.0);
}

pub(super) fn activity(g: &mut Gen<'_>, r: &mut Rng, _i: usize) {
    let is_event = g.def.name == "Event";
    let row = g.row(r, 400);
    let (who, what) = (g.col("WhoId"), g.col("WhatId"));
    match r.below(10) {
        0..=5 => {
            let c = r.index(g.plan.count("Contact"));
            g.reference(row, who, "Contact", c);
            if let Some(a) = g.plan.contact_account(c) {
                g.reference(row, what, "Account", a);
            }
        }
        6 | 7 => {
            let l = r.index(g.plan.count("Lead"));
            g.reference(row, who, "Lead", l);
        }
        _ => {
            let target = r.pick_str(&["Opportunity", "Case", "Project__c", "Campaign"]);
            let n = g.plan.count(target);
            g.reference(row, what, target, r.index(n));
        }
    }
    let col = g.col("Subject");
    g.text(row, col, r.pick_str(text::ACTIVITY_SUBJECTS));
    let day = g.today() + r.range(-300, 60);
    if is_event {
        let start = day * 86_400_000 + r.range(7, 18) * 3_600_000;
        let minutes = *r.pick(&[15i64, 30, 30, 60, 60, 90, 120]);
        let cols = (
            g.col("StartDateTime"),
            g.col("EndDateTime"),
            g.col("ActivityDateTime"),
            g.col("ActivityDate"),
            g.col("DurationInMinutes"),
            g.col("Location"),
        );
        g.datetime(row, cols.0, start);
        g.datetime(row, cols.1, start + minutes * 60_000);
        g.datetime(row, cols.2, start);
        g.date(row, cols.3, day);
        g.num(row, cols.4, minutes as f64);
        if r.chance(0.6) {
            g.text(
                row,
                cols.5,
                r.pick_str(&["Zoom", "Teams", "Customer site", "HQ Room 4B", "Phone"]),
            );
        }
        pick_text(g, row, "ShowAs", r, 0.0);
    } else {
        let col = g.col("ActivityDate");
        g.date(row, col, day);
        for (f, p) in [("Status", 0.0), ("Priority", 0.0), ("TaskSubtype", 0.2)] {
            pick_text(g, row, f, r, p);
        }
        if r.chance(0.2) {
            let col = g.col("CallDurationInSeconds");
            g.num(row, col, r.range(30, 3600) as f64);
        }
    }
    if r.chance(0.35) {
        let d = text::note(r);
        let col = g.col("Description");
        g.text(row, col, &d);
    }
    owner(g, row, r);
}

/// A record a note / attachment hangs off.
fn parent(g: &Gen<'_>, r: &mut Rng) -> RecRef {
    let kind = r.pick_str(&["Account", "Contact", "Opportunity", "Case", "Project__c"]);
    RecRef {
        obj: g.plan.obj(kind),
        row: r.below(g.plan.count(kind) as u64) as u32,
    }
}

pub(super) fn note(g: &mut Gen<'_>, r: &mut Rng) {
    let row = g.row(r, 800);
    let p = parent(g, r);
    let cols = (
        g.col("ParentId"),
        g.col("Title"),
        g.col("Body"),
        g.col("IsPrivate"),
    );
    g.reference_to(row, cols.0, p);
    g.text(row, cols.1, r.pick_str(text::ACTIVITY_SUBJECTS));
    let body = text::note(r);
    g.text(row, cols.2, &body);
    g.bool(row, cols.3, r.chance(0.1));
    owner(g, row, r);
}

fn body(r: &mut Rng) -> (BlobBody, &'static str, &'static str, &'static str) {
    let (kind, ext, mime, ftype) = file_kind(r);
    let len = r.log_uniform(200, 2_000_000) as u32;
    (
        BlobBody::Generated {
            seed: r.next_u64(),
            len,
            kind,
        },
        ext,
        mime,
        ftype,
    )
}

pub(super) fn attachment(g: &mut Gen<'_>, r: &mut Rng) {
    let row = g.row(r, 800);
    let p = parent(g, r);
    let (b, ext, mime, _) = body(r);
    let cols = (
        g.col("ParentId"),
        g.col("Name"),
        g.col("ContentType"),
        g.col("Body"),
    );
    g.reference_to(row, cols.0, p);
    g.text(
        row,
        cols.1,
        &format!("{}-{}.{ext}", r.pick(text::FILE_STEMS), r.range(1, 999)),
    );
    g.text(row, cols.2, mime);
    g.blob(row, cols.3, b);
    owner(g, row, r);
}

pub(super) fn folder(g: &mut Gen<'_>, r: &mut Rng, i: usize) {
    let row = g.row(r, 1500);
    let (name, dev) = FOLDERS[i];
    let cols = (
        g.col("Name"),
        g.col("DeveloperName"),
        g.col("AccessType"),
        g.col("Type"),
    );
    g.text(row, cols.0, name);
    g.text(row, cols.1, dev);
    g.text(row, cols.2, "Public");
    g.text(row, cols.3, "Document");
}

pub(super) fn document(g: &mut Gen<'_>, r: &mut Rng, i: usize) {
    let row = g.row(r, 1200);
    let (b, ext, mime, _) = body(r);
    let stem = r.pick_str(text::FILE_STEMS);
    let cols = (
        g.col("FolderId"),
        g.col("Name"),
        g.col("DeveloperName"),
        g.col("ContentType"),
        g.col("Type"),
        g.col("Body"),
        g.col("AuthorId"),
    );
    g.reference(row, cols.0, "Folder", r.index(FOLDERS.len()));
    g.text(row, cols.1, &format!("{stem} {}", i + 1));
    g.unique_text(
        row,
        cols.2,
        &format!("{}_{}", stem.replace('-', "_"), i + 1),
    );
    g.text(row, cols.3, mime);
    g.text(row, cols.4, ext);
    g.blob(row, cols.5, b);
    let author = g.plan.owner(r) as usize;
    g.reference(row, cols.6, "User", author);
}

fn doc_file(g: &Gen<'_>, doc: usize) -> (BlobBody, String, &'static str, &'static str) {
    let mut r = Rng::for_label(g.plan.seed, "content-file").fork(doc as u64);
    let (b, ext, _, ftype) = body(&mut r);
    let title = format!("{}-{}", r.pick(text::FILE_STEMS), doc + 1);
    (b, title, ext, ftype)
}

pub(super) fn content_document(g: &mut Gen<'_>, r: &mut Rng, i: usize) {
    let row = g.row(r, 700);
    let (b, title, ext, ftype) = doc_file(g, i);
    let latest = g.plan.latest_version(i);
    let cols = (
        g.col("Title"),
        g.col("PublishStatus"),
        g.col("LatestPublishedVersionId"),
        g.col("ContentSize"),
        g.col("FileType"),
        g.col("FileExtension"),
    );
    g.text(row, cols.0, &title);
    g.text(row, cols.1, "P");
    g.reference(row, cols.2, "ContentVersion", latest);
    g.num(row, cols.3, b.len() as f64);
    g.text(row, cols.4, ftype);
    g.text(row, cols.5, ext);
    owner(g, row, r);
}

pub(super) fn content_version(g: &mut Gen<'_>, r: &mut Rng, i: usize) {
    let row = g.row(r, 700);
    let docs = g.plan.count("ContentDocument");
    let doc = if i < docs { i } else { i - docs };
    let (first_body, title, ext, ftype) = doc_file(g, doc);
    let (b, number) = if i < docs {
        (first_body, 1)
    } else {
        let (b, _, _, _) = body(r);
        (b, 2)
    };
    let latest = g.plan.latest_version(doc) == i;
    let cols = (
        g.col("ContentDocumentId"),
        g.col("IsLatest"),
        g.col("VersionNumber"),
        g.col("Title"),
        g.col("PathOnClient"),
        g.col("FileType"),
        g.col("FileExtension"),
        g.col("VersionData"),
    );
    g.reference(row, cols.0, "ContentDocument", doc);
    g.bool(row, cols.1, latest);
    g.text(row, cols.2, &number.to_string());
    g.text(row, cols.3, &title);
    g.text(row, cols.4, &format!("{title}.{ext}"));
    g.text(row, cols.5, ftype);
    g.text(row, cols.6, ext);
    g.blob(row, cols.7, b);
    let loc = g.plan.publish_location(doc);
    let cols = (
        g.col("FirstPublishLocationId"),
        g.col("Origin"),
        g.col("ContentLocation"),
    );
    g.reference_to(row, cols.0, loc);
    g.text(row, cols.1, "C");
    g.text(row, cols.2, "S");
    if number > 1 {
        let col = g.col("ReasonForChange");
        g.text(row, col, "Updated after review");
    }
    owner(g, row, r);
}

pub(super) fn content_link(g: &mut Gen<'_>, r: &mut Rng, i: usize) {
    let row = g.row(r, 700);
    let docs = g.plan.count("ContentDocument").max(1);
    let doc = i % docs;
    let cols = (
        g.col("ContentDocumentId"),
        g.col("LinkedEntityId"),
        g.col("ShareType"),
        g.col("Visibility"),
    );
    g.reference(row, cols.0, "ContentDocument", doc);
    if i < docs {
        let loc = g.plan.publish_location(doc);
        g.reference_to(row, cols.1, loc);
        g.text(row, cols.2, "V");
    } else {
        let u = g.plan.owner(r) as usize;
        g.reference(row, cols.1, "User", u);
        g.text(row, cols.2, r.pick_str(&["V", "C"]));
    }
    g.text(row, cols.3, "AllUsers");
}

pub(super) fn project(g: &mut Gen<'_>, r: &mut Rng, i: usize) {
    let row = g.row(r, 700);
    let account = r.index(g.plan.count("Account"));
    let company = account_name(g, account);
    let name = format!(
        "{} {}",
        company.split(' ').next().unwrap_or("Project"),
        r.pick(&[
            "Rollout",
            "Migration",
            "Implementation",
            "Audit",
            "Integration",
            "Upgrade"
        ])
    );
    let cols = (
        g.col("Name"),
        g.col("Account__c"),
        g.col("Start_Date__c"),
        g.col("End_Date__c"),
        g.col("Budget__c"),
        g.col("Project_Code__c"),
    );
    g.text(row, cols.0, &name);
    g.reference(row, cols.1, "Account", account);
    let start = g.today() + r.range(-400, 30);
    g.date(row, cols.2, start);
    g.date(row, cols.3, start + r.range(30, 365));
    g.num(row, cols.4, (r.range(5, 500) * 1000) as f64);
    g.unique_text(row, cols.5, &format!("PRJ-{:05}", i + 1));
    pick_text(g, row, "Status__c", r, 0.0);
    if i >= 10 && r.chance(0.2) {
        let col = g.col("Parent_Project__c");
        g.reference(row, col, "Project__c", r.index(i));
    }
    if r.chance(0.5) {
        let d = text::description(&company, r);
        let col = g.col("Description__c");
        g.text(row, col, &d);
    }
    owner(g, row, r);
}

pub(super) fn project_task(g: &mut Gen<'_>, r: &mut Rng, i: usize) {
    let row = g.row(r, 600);
    let projects = g.plan.count("Project__c").max(1);
    let cols = (
        g.col("Name"),
        g.col("Project__c"),
        g.col("Assigned_To__c"),
        g.col("Estimated_Hours__c"),
        g.col("Actual_Hours__c"),
        g.col("Done__c"),
        g.col("Due_Date__c"),
    );
    g.text(
        row,
        cols.0,
        &format!("{} #{}", r.pick_str(text::ACTIVITY_SUBJECTS), i + 1),
    );
    g.reference(row, cols.1, "Project__c", i % projects);
    let u = g.plan.owner(r) as usize;
    g.reference(row, cols.2, "User", u);
    let est = r.range(1, 80) as f64;
    g.num(row, cols.3, est);
    if r.chance(0.7) {
        g.num(row, cols.4, (est * (0.5 + r.unit())).round());
    }
    g.bool(row, cols.5, r.chance(0.4));
    let due = g.today() + r.range(-100, 100);
    g.date(row, cols.6, due);
}

pub(super) fn invoice(g: &mut Gen<'_>, r: &mut Rng, i: usize) {
    let row = g.row(r, 500);
    let opp = g.plan.pick("invoice-opp", i, g.plan.count("Opportunity"));
    let cols = (
        g.col("Name"),
        g.col("Opportunity__c"),
        g.col("Account__c"),
        g.col("Invoice_Number__c"),
        g.col("Amount__c"),
        g.col("Tax_Rate__c"),
        g.col("Issued_On__c"),
        g.col("Paid__c"),
    );
    g.text(row, cols.0, &format!("INV-{:06}", i + 1));
    g.reference(row, cols.1, "Opportunity", opp);
    g.reference(row, cols.2, "Account", g.plan.opportunity_account(opp));
    g.unique_text(row, cols.3, &format!("2025-{:06}", 10_000 + i));
    g.num(row, cols.4, (r.log_uniform(100, 500_000)) as f64);
    g.num(row, cols.5, *r.pick(&[0.0, 7.0, 8.25, 19.0, 20.0]));
    let today = g.today();
    g.date(row, cols.6, today - r.range(0, 400));
    let paid = r.chance(0.6);
    g.bool(row, cols.7, paid);
    let status = if paid {
        "Paid"
    } else {
        r.pick_str(&["Draft", "Sent", "Overdue"])
    };
    let col = g.col("Status__c");
    g.text(row, col, status);
    owner(g, row, r);
}
