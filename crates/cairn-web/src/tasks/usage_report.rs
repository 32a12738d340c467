//! The usage report (F-TASK-8): a CSV of every entity of the account's live backup tasks
//! with its status, e-mailed to the user who asks for it.
//!
//! The report is built through the same visibility rule as every page: entities hidden by
//! a Limited Access tag are left out for everyone but the primary user. Cells that a
//! spreadsheet would take for a formula (`=`, `+`, `-`, `@`, tab, CR at the start) are
//! prefixed with `'`, because entity names come from the backed-up service and the file
//! is meant to be opened in a spreadsheet.

use std::collections::HashMap;

use cairn_domain::event::EventOutcome;
use cairn_domain::{Entity, EntityStatus};
use cairn_mail::{Attachment, OutgoingMail};

use super::{TaskFailure, Tasks};
use crate::error::WebError;

/// The report's columns, in order.
pub const COLUMNS: [&str; 12] = [
    "Task",
    "Service",
    "Environment",
    "Entity type",
    "Entity",
    "Email",
    "Usage",
    "Status",
    "Tags",
    "Items",
    "Backup size (bytes)",
    "Last backup (UTC)",
];

/// A built report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageReport {
    /// The CSV file (UTF-8, header row first).
    pub csv: Vec<u8>,
    /// Entity rows in it.
    pub rows: usize,
    /// Tasks covered.
    pub tasks: usize,
}

/// How the report sums an entity up: whether it is being backed up, left out, or kept
/// after it disappeared from the service.
#[must_use]
pub fn usage_of(status: EntityStatus) -> &'static str {
    match status {
        EntityStatus::Archived => "Archived",
        s if s.is_active() => "Active",
        _ => "Inactive",
    }
}

/// A cell a spreadsheet will show as text, never evaluate.
fn cell(value: &str) -> String {
    match value.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{value}"),
        _ => value.to_owned(),
    }
}

impl Tasks<'_> {
    /// Builds the usage report over the live tasks and the entities this viewer may see.
    ///
    /// # Errors
    /// [`TaskFailure::Forbidden`]; store failures.
    pub async fn usage_report(&self) -> Result<UsageReport, TaskFailure> {
        self.authorize()?;
        let tasks = self.scope().tasks().list(false).await?;
        let tag_names: HashMap<_, _> = self
            .scope()
            .tags()
            .list()
            .await?
            .into_iter()
            .map(|t| (t.id, t.name))
            .collect();
        let mut out = csv::Writer::from_writer(Vec::new());
        out.write_record(COLUMNS).map_err(csv_error)?;
        let mut rows = 0;
        for task in &tasks {
            let mut entities = self.visible_entities(task.id).await?;
            entities.sort_by(|a, b| (a.kind.label(), &a.name).cmp(&(b.kind.label(), &b.name)));
            for entity in &entities {
                out.write_record(row(task, entity, &tag_names))
                    .map_err(csv_error)?;
                rows += 1;
            }
        }
        let csv = out
            .into_inner()
            .map_err(|e| csv_error(csv::Error::from(e.into_error())))?;
        Ok(UsageReport {
            csv,
            rows,
            tasks: tasks.len(),
        })
    }

    /// Builds the usage report and e-mails it to the viewer. Returns the report sent.
    ///
    /// # Errors
    /// [`TaskFailure::Forbidden`]; `report.too_many` when several reports were sent to
    /// this address within minutes; mail and store failures.
    pub async fn email_usage_report(&self) -> Result<UsageReport, TaskFailure> {
        self.authorize()?;
        let now = self.state.clock().now();
        // The cap first: a refused export should not cost a pass over every entity.
        if !self
            .state
            .mail_limiter()
            .try_acquire(&self.viewer.email, now)
        {
            return Err(TaskFailure::Throttled {
                code: "report.too_many",
                message: "Several emails were sent to your address in the last minutes; \
                          try the export again later.",
            });
        }
        let report = self.usage_report().await?;
        let account = self.scope().get().await?;
        let date = now.format("%Y-%m-%d");
        let mail = OutgoingMail {
            to: self.viewer.email.clone(),
            subject: format!("Cairn usage report for {} ({date})", account.name),
            text: format!(
                "Hello,\n\n\
                 Attached is the usage report you asked for: {} entities in {} backup \
                 tasks of {}, each with its status (active, inactive or archived), \
                 size and last backup.\n",
                report.rows, report.tasks, account.name
            ),
            attachments: vec![Attachment {
                filename: format!("cairn-usage-report-{date}.csv"),
                content_type: "text/csv; charset=utf-8".into(),
                content: report.csv.clone(),
            }],
        };
        self.state
            .mailer()
            .send(&mail, now)
            .await
            .map_err(WebError::from)?;
        let event = self
            .account_event("usage_report.sent", EventOutcome::Success)
            .with("entities", report.rows)
            .with("tasks", report.tasks);
        self.record(event).await;
        Ok(report)
    }
}

fn csv_error(error: csv::Error) -> TaskFailure {
    TaskFailure::Failed(WebError::Io {
        context: "writing the usage report".into(),
        source: std::io::Error::other(error.to_string()),
    })
}

fn row(
    task: &cairn_domain::BackupTask,
    entity: &Entity,
    tag_names: &HashMap<cairn_domain::ids::TagId, String>,
) -> Vec<String> {
    let tags: Vec<&str> = entity
        .tags
        .iter()
        .filter_map(|t| tag_names.get(t).map(String::as_str))
        .collect();
    let environment = match task.service {
        cairn_domain::Service::Salesforce => task.environment.label(),
        cairn_domain::Service::Dropbox => "",
    };
    vec![
        cell(&task.name),
        task.service.label().to_owned(),
        environment.to_owned(),
        entity.kind.label().to_owned(),
        cell(&entity.name),
        cell(entity.email.as_deref().unwrap_or("")),
        usage_of(entity.status).to_owned(),
        entity.status.label().to_owned(),
        cell(&tags.join("; ")),
        entity.counters.items.to_string(),
        entity.counters.bytes.to_string(),
        entity
            .last_backup_at
            .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
            .unwrap_or_default(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_defused_and_plain_text_kept() {
        assert_eq!(cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(cell("+1"), "'+1");
        assert_eq!(cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(cell("Account"), "Account");
        assert_eq!(cell(""), "");
    }

    #[test]
    fn usage_sums_statuses_up() {
        assert_eq!(usage_of(EntityStatus::Success), "Active");
        assert_eq!(usage_of(EntityStatus::Scheduled), "Active");
        assert_eq!(usage_of(EntityStatus::Partial), "Active");
        assert_eq!(usage_of(EntityStatus::NotActive), "Inactive");
        assert_eq!(usage_of(EntityStatus::Paused), "Inactive");
        assert_eq!(usage_of(EntityStatus::Archived), "Archived");
    }
}
