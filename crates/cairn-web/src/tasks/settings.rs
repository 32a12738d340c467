//! Task settings edit (F-TASK-3): the form's raw text, parsed and checked field by field
//! so every message is shown at once and nothing is saved while any is wrong.

use serde::Deserialize;

use cairn_domain::ids::TaskId;
use cairn_domain::schedule::BackupFrequency;
use cairn_domain::task::MAX_RETAIN_DAYS;
use cairn_domain::{BackupTask, Service, TaskSettings};

use super::{TaskFailure, Tasks};
use crate::auth::FormErrors;

/// What the settings form (or an API client) sends. Text fields, so a bad number becomes
/// a message instead of an unreadable form.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct SettingsInput {
    /// New name.
    pub name: String,
    /// Daily API usage limit, percent.
    pub api_limit_percent: String,
    /// Checkbox: present when on.
    pub index_for_search: Option<String>,
    /// `daily`, `every_3_days`, `weekly`, `three_times_a_day`.
    pub frequency: String,
    /// 0–23.
    pub hour_utc: String,
    /// Checkbox (Dropbox): activate new members and team folders.
    pub auto_activate: Option<String>,
    /// Days to keep auto-archived backups (Dropbox); empty = keep.
    pub retain_auto_archived_days: String,
}

impl SettingsInput {
    /// The form pre-filled from a task.
    #[must_use]
    pub fn from_task(task: &BackupTask) -> Self {
        let s = &task.settings;
        Self {
            name: task.name.clone(),
            api_limit_percent: s.api_limit_percent.to_string(),
            index_for_search: s.index_for_search.then(|| "on".to_owned()),
            frequency: s.frequency.as_str().to_owned(),
            hour_utc: s.hour_utc.to_string(),
            auto_activate: s.auto_activate.then(|| "on".to_owned()),
            retain_auto_archived_days: s
                .retain_auto_archived_days
                .map(|d| d.to_string())
                .unwrap_or_default(),
        }
    }

    /// Parses and checks the input for a task of `service`.
    ///
    /// # Errors
    /// Every problem, by field.
    pub fn parse(&self, service: Service) -> Result<(String, TaskSettings), FormErrors> {
        let mut errors = FormErrors::default();
        let name = match cairn_domain::account::parse_name(&self.name) {
            Ok(name) => name,
            Err(e) => {
                errors.add("name", e.to_string());
                String::new()
            }
        };
        let api_limit_percent = match self.api_limit_percent.trim().parse::<u8>() {
            Ok(n) if (1..=100).contains(&n) => n,
            _ => {
                errors.add(
                    "api_limit_percent",
                    "Enter a daily API usage limit between 1 and 100 %.",
                );
                0
            }
        };
        let frequency = match BackupFrequency::parse(self.frequency.trim()) {
            Some(f) => f,
            None => {
                errors.add("frequency", "Choose how often to back up.");
                BackupFrequency::Daily
            }
        };
        let hour_utc = match self.hour_utc.trim().parse::<u32>() {
            Ok(h) if h <= 23 => h,
            _ => {
                errors.add("hour_utc", "Choose a backup hour between 0 and 23 (UTC).");
                0
            }
        };
        let dropbox = service == Service::Dropbox;
        let retain_text = self.retain_auto_archived_days.trim();
        let retain_auto_archived_days = if !dropbox || retain_text.is_empty() {
            None
        } else {
            match retain_text.parse::<u32>() {
                Ok(d) if (1..=MAX_RETAIN_DAYS).contains(&d) => Some(d),
                _ => {
                    errors.add(
                        "retain_auto_archived_days",
                        format!(
                            "Keep auto-archived backups for 1 to {MAX_RETAIN_DAYS} days, or leave it empty to keep them."
                        ),
                    );
                    None
                }
            }
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        let settings = TaskSettings {
            api_limit_percent,
            index_for_search: self.index_for_search.is_some(),
            frequency,
            hour_utc,
            auto_activate: dropbox && self.auto_activate.is_some(),
            retain_auto_archived_days,
        };
        // The domain's own check stays the last word.
        if let Err(e) = settings.validate() {
            errors.form.push(e.to_string());
            return Err(errors);
        }
        Ok((name, settings))
    }
}

impl Tasks<'_> {
    /// Saves a task's name and settings (F-TASK-3); on any error nothing is saved.
    ///
    /// # Errors
    /// [`TaskFailure::Invalid`] with every message; `task.not_found`, `task.deleted`.
    pub async fn update_settings(
        &self,
        id: TaskId,
        input: &SettingsInput,
    ) -> Result<BackupTask, TaskFailure> {
        self.authorize()?;
        let task = self.live_task(id).await?;
        let (name, settings) = input.parse(task.service).map_err(TaskFailure::Invalid)?;
        self.scope().tasks().update(id, &name, &settings).await?;
        let task = self.task(id).await?;
        self.audit(
            "task.settings_changed",
            cairn_domain::event::EventOutcome::Success,
            &task,
        )
        .await;
        Ok(task)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> SettingsInput {
        SettingsInput {
            name: " Org ".into(),
            api_limit_percent: "75".into(),
            index_for_search: Some("on".into()),
            frequency: "three_times_a_day".into(),
            hour_utc: "5".into(),
            auto_activate: Some("on".into()),
            retain_auto_archived_days: "30".into(),
        }
    }

    #[test]
    fn good_input_parses_and_salesforce_ignores_dropbox_fields() {
        let (name, s) = input().parse(Service::Dropbox).unwrap();
        assert_eq!(name, "Org");
        assert_eq!(s.frequency, BackupFrequency::ThreeTimesADay);
        assert!(s.auto_activate && s.index_for_search);
        assert_eq!(s.retain_auto_archived_days, Some(30));
        let (_, sf) = input().parse(Service::Salesforce).unwrap();
        assert!(!sf.auto_activate);
        assert_eq!(sf.retain_auto_archived_days, None);
    }

    #[test]
    fn every_bad_field_gets_its_message() {
        let bad = SettingsInput {
            name: "  ".into(),
            api_limit_percent: "101".into(),
            frequency: "hourly".into(),
            hour_utc: "24".into(),
            retain_auto_archived_days: "0".into(),
            ..input()
        };
        let errors = bad.parse(Service::Dropbox).unwrap_err();
        for field in [
            "name",
            "api_limit_percent",
            "frequency",
            "hour_utc",
            "retain_auto_archived_days",
        ] {
            assert!(errors.has(field), "{field}: {errors:?}");
        }
        let text = SettingsInput {
            api_limit_percent: "lots".into(),
            ..input()
        };
        assert!(
            text.parse(Service::Salesforce)
                .unwrap_err()
                .field("api_limit_percent")
                .contains("between 1 and 100")
        );
    }
}
