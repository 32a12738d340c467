//! The deterministic data generator: from a seed and a profile it builds a whole org —
//! users (some inactive), accounts with contacts, opportunities, cases, leads, activities
//! with polymorphic WhoId/WhatId, campaigns and members, files (ContentDocument /
//! ContentVersion / ContentDocumentLink), attachments, notes, documents and the custom
//! objects with their lookups, master-detail and self-lookup.
//!
//! Every table is generated independently from its own random stream, and every
//! cross-table reference is a pure function of the seed and row numbers (how many
//! accounts exist, which account a contact belongs to, …), so tables are built in
//! parallel and the same seed always yields byte-identical data.

pub mod blob;
mod records;
mod related;
pub mod text;
mod words;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::ids;
use super::metadata::MetadataStore;
use super::rng::{self, Rng};
use super::schema::{ObjectDef, Schema};
use super::store::{BlobBody, Cell, Header, OrgData, OrgSettings, RecRef, RowState, Table};

/// How big an org to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// About 5,000 records.
    Small,
    /// About 200,000 records.
    Medium,
    /// About 1,000,000 records.
    Large,
    /// About this many records.
    Custom(u64),
}

/// Records of the small profile per object (the unit every profile scales).
const SMALL: &[(&str, usize)] = &[
    ("Account", 300),
    ("Contact", 900),
    ("Lead", 500),
    ("Opportunity", 450),
    ("Case", 400),
    ("Campaign", 12),
    ("CampaignMember", 300),
    ("Task", 1200),
    ("Event", 450),
    ("Note", 150),
    ("Attachment", 60),
    ("Document", 20),
    ("ContentDocument", 50),
    ("ContentVersion", 60),
    ("ContentDocumentLink", 80),
    ("Project__c", 80),
    ("Project_Task__c", 240),
    ("Invoice__c", 200),
];

impl Profile {
    /// Parses `small`, `medium`, `large` or `custom`.
    pub fn parse(s: &str, records: Option<u64>) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "small" => Some(Profile::Small),
            "medium" => Some(Profile::Medium),
            "large" => Some(Profile::Large),
            "custom" => Some(Profile::Custom(records.unwrap_or(10_000))),
            _ => None,
        }
    }

    fn scale(self) -> f64 {
        let unit: usize = SMALL.iter().map(|(_, n)| n).sum();
        match self {
            Profile::Small => 1.0,
            Profile::Medium => 36.0,
            Profile::Large => 190.0,
            Profile::Custom(n) => (n as f64 / unit as f64).max(0.01),
        }
    }

    fn users(self) -> usize {
        match self {
            Profile::Small => 25,
            Profile::Medium => 200,
            Profile::Large => 600,
            Profile::Custom(n) => ((n / 2000) as usize).clamp(5, 1000),
        }
    }
}

/// Everything generation needs to know up front.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The seed.
    pub seed: u64,
    /// "Now" at generation, in ms.
    pub epoch: i64,
    /// Rows per object (indexed like the schema).
    pub counts: Vec<usize>,
    /// The org's company name (users' e-mail domain derives from it).
    pub company: String,
    /// The org's e-mail domain.
    pub domain: String,
    /// Id pod characters.
    pub pod: [u8; 2],
    /// Object indexes by name, resolved once.
    pub schema: Arc<Schema>,
}

impl Plan {
    /// Rows of the object named `name`.
    pub fn count(&self, name: &str) -> usize {
        self.schema.object(name).map_or(0, |i| self.counts[i])
    }
    /// Table index of `name` (the built-in schema always has it).
    pub fn obj(&self, name: &str) -> u32 {
        self.schema.object(name).unwrap_or(0) as u32
    }
    /// A reproducible value in `0..n` for a relationship `label` of row `row`.
    pub fn pick(&self, label: &str, row: usize, n: usize) -> usize {
        if n == 0 {
            return 0;
        }
        (rng::mix(self.seed ^ rng::hash_str(label) ^ (row as u64).wrapping_mul(0x9e37_79b9))
            % n as u64) as usize
    }
    /// Whether user `u` is active (the first user — the admin — always is).
    pub fn user_active(&self, u: usize) -> bool {
        u == 0 || self.pick("user-active", u, 10) != 0
    }
    /// The account a contact belongs to (None for ~5% private contacts).
    pub fn contact_account(&self, c: usize) -> Option<usize> {
        (self.pick("contact-private", c, 20) != 0)
            .then(|| self.pick("contact-account", c, self.count("Account")))
    }
    /// The account an opportunity belongs to.
    pub fn opportunity_account(&self, o: usize) -> usize {
        self.pick("opp-account", o, self.count("Account"))
    }
    /// The latest version row of a content document.
    pub fn latest_version(&self, doc: usize) -> usize {
        let docs = self.count("ContentDocument");
        let extra = self.count("ContentVersion").saturating_sub(docs);
        if doc < extra { docs + doc } else { doc }
    }
    /// The record a content document was first published to.
    pub fn publish_location(&self, doc: usize) -> RecRef {
        let kinds = ["Account", "Opportunity", "Case", "Project__c"];
        let kind = kinds[self.pick("doc-kind", doc, kinds.len())];
        RecRef {
            obj: self.obj(kind),
            row: self.pick("doc-parent", doc, self.count(kind)) as u32,
        }
    }
    /// A user row that owns records (mostly active users).
    pub fn owner(&self, r: &mut Rng) -> u32 {
        r.below(self.count("User") as u64) as u32
    }
    /// The password of user `u`, derived from the seed.
    pub fn password(&self, u: usize) -> String {
        password_for(self.seed, u)
    }
}

/// The password of user `u` of an org generated from `seed`.
pub fn password_for(seed: u64, u: usize) -> String {
    const ALPHA: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let mut r = Rng::for_label(seed, "password").fork(u as u64);
    let tail: String = (0..10)
        .map(|_| ALPHA[r.index(ALPHA.len())] as char)
        .collect();
    format!("Cairn-{tail}")
}

/// Builds a plan for `profile`.
pub fn plan(schema: Arc<Schema>, seed: u64, profile: Profile, epoch: i64) -> Plan {
    let scale = profile.scale();
    let mut counts = vec![0usize; schema.objects.len()];
    for (name, n) in SMALL {
        if let Some(i) = schema.object(name) {
            counts[i] = ((*n as f64 * scale).round() as usize).max(1);
        }
    }
    let set = |counts: &mut Vec<usize>, name: &str, n: usize| {
        if let Some(i) = schema.object(name) {
            counts[i] = n;
        }
    };
    set(&mut counts, "User", profile.users());
    set(&mut counts, "Profile", records::PROFILES.len());
    set(
        &mut counts,
        "RecordType",
        schema.objects.iter().map(|o| o.record_types.len()).sum(),
    );
    set(&mut counts, "Folder", records::FOLDERS.len());
    // Every document has a first version; a tenth get a second one.
    let docs = counts[schema.object("ContentDocument").unwrap_or(0)];
    set(&mut counts, "ContentVersion", docs + docs / 10);
    set(&mut counts, "ContentDocumentLink", docs + docs / 2);
    let mut r = Rng::for_label(seed, "org");
    let company = text::company(&mut r);
    let slug: String = company
        .split_whitespace()
        .take(2)
        .flat_map(|w| w.chars())
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let domain = format!("{slug}.example.com");
    const POD: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let pod = [POD[10 + r.index(26)], POD[r.index(POD.len())]];
    Plan {
        seed,
        epoch,
        counts,
        company,
        domain,
        pod,
        schema,
    }
}

/// A table under construction.
pub(crate) struct Gen<'a> {
    pub plan: &'a Plan,
    pub def: &'a ObjectDef,
    pub t: Table,
    intern: Vec<bool>,
}

impl<'a> Gen<'a> {
    fn new(plan: &'a Plan, obj: usize) -> Self {
        let def = &plan.schema.objects[obj];
        let mut intern = vec![false; def.columns.len()];
        for f in &def.fields {
            if let Some(c) = f.column() {
                intern[c] = f.intern;
            }
        }
        Self {
            plan,
            def,
            t: Table::new(obj, def, plan.counts[obj]),
            intern,
        }
    }

    /// The storage column of a built-in field.
    pub fn col(&self, name: &str) -> usize {
        self.def
            .field(name)
            .and_then(|f| self.def.fields[f].column())
            .unwrap_or_else(|| panic!("{}.{name} is not a stored field", self.def.name))
    }

    /// Starts a row created up to `max_age_days` ago; returns its number.
    pub fn row(&mut self, r: &mut Rng, max_age_days: i64) -> u32 {
        let day = 86_400_000;
        let created = self.plan.epoch - r.range(3_600_000, max_age_days.max(1) * day);
        let created = created - created.rem_euclid(1000);
        let span = self.plan.epoch - 60_000 - created;
        let modified = if r.chance(0.4) {
            created
        } else {
            created + (span.max(0) as f64 * r.unit()) as i64
        };
        let modified = modified - modified.rem_euclid(1000);
        let creator = self.plan.owner(r);
        let modifier = if modified == created {
            creator
        } else {
            self.plan.owner(r)
        };
        self.t.push_row(Header {
            created,
            modified,
            modstamp: modified,
            created_by: creator,
            modified_by: modifier,
            state: RowState::Live,
        })
    }

    /// Sets a text field.
    pub fn text(&mut self, row: u32, col: usize, s: &str) {
        let span = self.t.intern_str(s, self.intern[col]);
        self.t.cols[col].set(row as usize, Cell::Text(span));
    }
    /// Sets a text field that should be unique-indexed (external ids, usernames).
    pub fn unique_text(&mut self, row: u32, col: usize, s: &str) {
        self.text(row, col, s);
        if let Some(fi) = self.def.fields.iter().position(|f| f.column() == Some(col))
            && let Some(index) = self.t.unique.get_mut(&fi)
        {
            index.insert(s.to_ascii_lowercase().into(), row);
        }
    }
    /// Sets a number.
    pub fn num(&mut self, row: u32, col: usize, v: f64) {
        self.t.cols[col].set(row as usize, Cell::Num(v));
    }
    /// Sets a checkbox.
    pub fn bool(&mut self, row: u32, col: usize, v: bool) {
        self.t.cols[col].set(row as usize, Cell::Bool(v));
    }
    /// Sets a date (days since the epoch).
    pub fn date(&mut self, row: u32, col: usize, d: i64) {
        self.t.cols[col].set(row as usize, Cell::Date(d as i32));
    }
    /// Sets a date-time (ms).
    pub fn datetime(&mut self, row: u32, col: usize, t: i64) {
        self.t.cols[col].set(row as usize, Cell::DateTime(t - t.rem_euclid(1000)));
    }
    /// Points a lookup at `target_row` of `target` (when that object has rows).
    pub fn reference(&mut self, row: u32, col: usize, target: &str, target_row: usize) {
        if self.plan.count(target) == 0 {
            return;
        }
        let r = RecRef {
            obj: self.plan.obj(target),
            row: target_row as u32,
        };
        self.t.cols[col].set(row as usize, Cell::Ref(r));
    }
    /// Sets a lookup from a ready reference.
    pub fn reference_to(&mut self, row: u32, col: usize, r: RecRef) {
        self.t.cols[col].set(row as usize, Cell::Ref(r));
    }
    /// Sets a file body.
    pub fn blob(&mut self, row: u32, col: usize, body: BlobBody) {
        let b = self.t.add_blob(body);
        self.t.cols[col].set(row as usize, Cell::Blob(b));
    }
    /// Today as days since the epoch.
    pub fn today(&self) -> i64 {
        self.plan.epoch.div_euclid(86_400_000)
    }
}

/// Generates the whole org for `plan`, building tables on up to `threads` threads.
pub fn generate(plan: &Plan, threads: usize) -> OrgData {
    let schema = plan.schema.clone();
    let n = schema.objects.len();
    // Biggest tables first so the threads finish together.
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(plan.counts[i]));
    let next = AtomicUsize::new(0);
    let mut tables: Vec<Option<Table>> = (0..n).map(|_| None).collect();
    let built: Vec<Vec<(usize, Table)>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads.max(1))
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let k = next.fetch_add(1, Ordering::Relaxed);
                        let Some(&obj) = order.get(k) else { break };
                        let mut g = Gen::new(plan, obj);
                        records::fill(&mut g);
                        g.t.rebuild_modstamp_log();
                        done.push((obj, g.t));
                    }
                    done
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap_or_default())
            .collect()
    });
    for (obj, t) in built.into_iter().flatten() {
        tables[obj] = Some(t);
    }
    let tables: Vec<Table> = tables
        .into_iter()
        .enumerate()
        .map(|(i, t)| t.unwrap_or_else(|| Table::new(i, &schema.objects[i], 0)))
        .collect();
    let org_id = ids::encode_counter("00D", plan.pod, rng::mix(plan.seed) % 62u64.pow(6));
    let metadata = MetadataStore::seeded(&schema, plan.epoch);
    OrgData {
        schema,
        tables,
        pod: plan.pod,
        org_id,
        settings: OrgSettings {
            audit_fields_on_create: false,
            is_sandbox: false,
        },
        metadata,
        describe_changed_at: plan.epoch - plan.epoch.rem_euclid(1000),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::salesforce::store::FieldVal;

    #[test]
    fn small_org_has_the_planned_records_and_valid_references() {
        let schema = Arc::new(Schema::build());
        let plan = plan(schema.clone(), 7, Profile::Small, 1_700_000_000_000);
        let org = generate(&plan, 2);
        let total: usize = org.tables.iter().map(Table::len).sum();
        assert!((5_000..7_000).contains(&total), "total {total}");
        for (oi, t) in org.tables.iter().enumerate() {
            assert_eq!(t.len(), plan.counts[oi], "{}", schema.objects[oi].name);
            let def = &schema.objects[oi];
            for row in 0..t.len().min(200) {
                let r = RecRef {
                    obj: oi as u32,
                    row: row as u32,
                };
                for (fi, f) in def.fields.iter().enumerate() {
                    let v = org.read(r, fi, plan.epoch);
                    if let FieldVal::Ref(target) = v {
                        assert!(
                            (target.row as usize) < org.tables[target.obj as usize].len(),
                            "{}.{} points past its target table",
                            def.name,
                            f.name
                        );
                    }
                    if !f.nillable
                        && f.createable
                        && f.ftype != super::super::schema::FieldType::Boolean
                    {
                        assert!(
                            !v.is_null(),
                            "{}.{} row {row} is required",
                            def.name,
                            f.name
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn passwords_are_stable_and_distinct() {
        assert_eq!(password_for(1, 0), password_for(1, 0));
        assert_ne!(password_for(1, 0), password_for(1, 1));
        assert_ne!(password_for(1, 0), password_for(2, 0));
    }
}
