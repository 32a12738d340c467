//! What the end-to-end backup tests share: connecting a task through the portal and the
//! emulator's consent page, the entity list's checkboxes and its Activate button, the
//! task page's Backup now button followed by the job it queued, and the app's vault
//! opened the way the workers open it, to read snapshots back.

use std::collections::BTreeMap;

use cairn_backup::pit::{StoredItem, entity_items};
use cairn_backup::{AccountVaults, TokenCipher};
use cairn_domain::ids::{AccountId, SnapshotId, TaskId};
use cairn_domain::{Job, JobKind, TypedId};
use cairn_emulator::dropbox::RunningDropbox;
use cairn_emulator::salesforce::RunningSalesforce;
use cairn_meta::JobQuery;
use cairn_testkit::TestApp;
use cairn_vault::segments::{SegmentOptions, SegmentStore};
use cairn_vault::{Backend, SnapshotManifest, Vault};
use reqwest::{Client, StatusCode};

use crate::support::location;
use crate::task_support::{add_task, dropbox_consent, salesforce_consent, task_id_from};

/// Creates a task with the "+ Add backup task" form and connects it on the emulator's
/// consent page; returns its id.
pub async fn connect_salesforce_task(
    app: &TestApp,
    client: &Client,
    sf: &RunningSalesforce,
) -> TaskId {
    let response = add_task(app, client, "salesforce", "Production org", "production").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let callback = salesforce_consent(sf, &location(&response), "allow").await;
    finish_connect(client, &callback).await
}

/// As [`connect_salesforce_task`], for a Dropbox team.
pub async fn connect_dropbox_task(app: &TestApp, client: &Client, db: &RunningDropbox) -> TaskId {
    let response = add_task(app, client, "dropbox", "Team", "production").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let callback = dropbox_consent(db, &location(&response), "allow").await;
    finish_connect(client, &callback).await
}

async fn finish_connect(client: &Client, callback: &str) -> TaskId {
    let done = client.get(callback).send().await.unwrap();
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    task_id_from(&location(&done))
}

/// The ids of the entity checkboxes the task page lists with `filter` (a query string
/// such as `kind=sf_object`), every page of them.
pub async fn listed_entities(
    app: &TestApp,
    client: &Client,
    task: TaskId,
    filter: &str,
) -> Vec<String> {
    let mut ids = Vec::new();
    for page in 1.. {
        let html = client
            .get(app.url(&format!("/tasks/{task}?{filter}&page={page}")))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let before = ids.len();
        let marker = "name=\"entity\" value=\"";
        for part in html.split(marker).skip(1) {
            let id = part.split('"').next().unwrap().to_owned();
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        if ids.len() == before || !html.contains("Next</a>") {
            break;
        }
    }
    ids
}

/// Selects `entities` in the task page's list and presses Activate.
pub async fn activate(app: &TestApp, client: &Client, task: TaskId, entities: &[String]) {
    let mut fields = vec![("action", "activate")];
    fields.extend(entities.iter().map(|id| ("entity", id.as_str())));
    let page = format!("/tasks/{task}");
    let r = app
        .post_form(
            client,
            &page,
            &format!("/tasks/{task}/entities/action"),
            &fields,
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
}

/// Presses the task page's Backup now and waits for the backup job it queued to end
/// (run by whichever worker takes it); returns the ended job.
pub async fn backup_now(app: &TestApp, client: &Client, account: AccountId, task: TaskId) -> Job {
    let job = press_backup_now(app, client, account, task).await;
    app.wait_for_job(account, job).await
}

/// Presses the task page's Backup now; returns the id of the job it queued.
pub async fn press_backup_now(
    app: &TestApp,
    client: &Client,
    account: AccountId,
    task: TaskId,
) -> cairn_domain::ids::JobId {
    let page = format!("/tasks/{task}");
    let r = app
        .post_form(client, &page, &format!("{page}/backup"), &[])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let jobs = app
        .store()
        .account(account)
        .jobs()
        .list(&JobQuery {
            task: Some(task),
            kind: Some(JobKind::Backup),
            status: None,
            limit: 20,
        })
        .await
        .unwrap();
    jobs.iter()
        .find(|j| !j.status.is_terminal())
        .expect("Backup now queued a backup job")
        .id
}

/// The app's vault of one account, opened as the workers open it (the configured
/// location and master key), and the key that opens the account's task tokens.
pub struct AccountVault {
    pub vault: Vault,
    pub segments: SegmentStore,
    pub tokens: TokenCipher,
}

impl AccountVault {
    pub async fn open(app: &TestApp, account: AccountId) -> Self {
        let master = app.config.load_master_key().unwrap();
        let root = Backend::open(&app.config.vault_location()).unwrap();
        let tokens = TokenCipher::new(&master);
        let vault = AccountVaults::new(root, master)
            .vault(account)
            .await
            .unwrap();
        let segments = vault.segments(SegmentOptions::default()).unwrap();
        Self {
            vault,
            segments,
            tokens,
        }
    }

    /// The manifest of a snapshot.
    pub async fn manifest(&self, snapshot: SnapshotId) -> SnapshotManifest {
        self.vault
            .snapshot(&snapshot.as_uuid().simple().to_string())
            .await
            .unwrap()
    }

    /// The items of the manifest's entity `key` at that snapshot.
    pub async fn items(
        &self,
        manifest: &SnapshotManifest,
        key: &str,
    ) -> BTreeMap<String, StoredItem> {
        let entity = manifest
            .entities
            .get(key)
            .unwrap_or_else(|| panic!("{key} is in the snapshot"));
        entity_items(&self.segments, entity).await.unwrap()
    }

    /// The sealed tokens of `task`, opened (a Salesforce or Dropbox token set).
    pub async fn task_tokens<T>(&self, app: &TestApp, account: AccountId, task: TaskId) -> T
    where
        T: for<'de> serde::Deserialize<'de>,
    {
        let sealed = app
            .store()
            .account(account)
            .tasks()
            .token(task)
            .await
            .unwrap()
            .expect("the task is connected");
        self.tokens.open_json(task, &sealed).unwrap()
    }
}

/// The page of `path` as `client` sees it.
pub async fn page(app: &TestApp, client: &Client, path: &str) -> String {
    let r = client.get(app.url(path)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{path}");
    r.text().await.unwrap()
}
