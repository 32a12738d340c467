//! A record being saved, and the automation that runs on it: before-save flows and
//! triggers (built-in behaviours), custom validation rules, and workflow field updates.

use super::RecordError;
use crate::salesforce::clock;
use crate::salesforce::formula::{self, FVal, FormulaContext};
use crate::salesforce::metadata::Builtin;
use crate::salesforce::schema::{FieldType, Storage};
use crate::salesforce::store::{OrgData, RecRef, Value, field_to_fval};

/// Pending values of one record: `values[field]` is `Some` for fields being written.
#[derive(Debug, Clone)]
pub struct Draft {
    /// Object index.
    pub obj: usize,
    /// The stored record (None on insert).
    pub existing: Option<RecRef>,
    /// New values by field index.
    pub values: Vec<Option<Value>>,
}

impl Draft {
    /// An empty draft for `obj`.
    pub fn new(org: &OrgData, obj: usize, existing: Option<RecRef>) -> Self {
        Self {
            obj,
            existing,
            values: vec![None; org.schema.objects[obj].fields.len()],
        }
    }

    /// Sets a field by name (automation; unknown names are ignored).
    pub fn set_named(&mut self, org: &OrgData, name: &str, v: Value) {
        if let Some(fi) = org.schema.objects[self.obj].field(name) {
            self.values[fi] = Some(v);
        }
    }

    /// The value the record will have for `field` (pending or stored).
    pub fn current(&self, org: &OrgData, field: usize, now: i64) -> FVal {
        DraftCtx::new(org, self, now).field(field)
    }

    /// Whether the pending/stored value of `field` is null.
    pub fn is_null(&self, org: &OrgData, field: usize, now: i64) -> bool {
        matches!(self.current(org, field, now), FVal::Null)
    }
}

/// Converts a pending value to a formula value.
pub fn value_to_fval(org: &OrgData, v: &Value) -> FVal {
    match v {
        Value::Null | Value::Blob(_) => FVal::Null,
        Value::Bool(b) => FVal::Bool(*b),
        Value::Num(n) => FVal::Num(*n),
        Value::Text(s) if s.is_empty() => FVal::Null,
        Value::Text(s) => FVal::Text(s.clone()),
        Value::Date(d) => FVal::Date(*d),
        Value::DateTime(t) => FVal::DateTime(*t),
        Value::Ref(r) => FVal::Text(org.id_of(*r)),
    }
}

struct DraftCtx<'a> {
    org: &'a OrgData,
    draft: &'a Draft,
    now: i64,
}

impl<'a> DraftCtx<'a> {
    fn new(org: &'a OrgData, draft: &'a Draft, now: i64) -> Self {
        Self { org, draft, now }
    }
}

impl FormulaContext for DraftCtx<'_> {
    fn field(&self, index: usize) -> FVal {
        if let Some(v) = &self.draft.values[index] {
            return value_to_fval(self.org, v);
        }
        let def = &self.org.schema.objects[self.draft.obj].fields[index];
        if let Storage::Formula(expr) = &def.storage {
            let v = formula::eval(expr, self);
            return match (v, def.ftype) {
                (FVal::Null, FieldType::Boolean) => FVal::Bool(false),
                (v, _) => v,
            };
        }
        match self.draft.existing {
            Some(r) => field_to_fval(self.org, self.org.read(r, index, self.now)),
            None => match def.ftype {
                FieldType::Boolean => FVal::Bool(def.default_bool.unwrap_or(false)),
                _ => FVal::Null,
            },
        }
    }
    fn prior(&self, index: usize) -> FVal {
        match self.draft.existing {
            Some(r) => field_to_fval(self.org, self.org.read(r, index, self.now)),
            None => self.field(index),
        }
    }
    fn is_new(&self) -> bool {
        self.draft.existing.is_none()
    }
    fn now_ms(&self) -> i64 {
        self.now
    }
}

/// Runs active before-save flows and triggers on the draft.
pub fn before_save(org: &OrgData, draft: &mut Draft, now: i64) {
    let name = org.schema.objects[draft.obj].name.clone();
    for b in org.metadata.compiled.builtins.clone() {
        match (b, name.as_str()) {
            (Builtin::EscalateHighPriorityCase, "Case") => {
                if let Some(pi) = org.schema.objects[draft.obj].field("Priority")
                    && draft.current(org, pi, now) == FVal::Text("High".into())
                {
                    draft.set_named(org, "IsEscalated", Value::Bool(true));
                }
            }
            (Builtin::StampAccount, "Account") => {
                let stamp = format!("AccountAutomationStamp {}", clock::format_datetime_z(now));
                draft.set_named(org, "Automation_Stamp__c", Value::Text(stamp));
            }
            _ => {}
        }
    }
}

/// Evaluates the object's active validation rules; the first that fires is the error.
pub fn validate(org: &OrgData, draft: &Draft, now: i64) -> Result<(), RecordError> {
    let ctx = DraftCtx::new(org, draft, now);
    for (obj, _name, expr, message, display) in &org.metadata.compiled.validation_rules {
        if *obj != draft.obj {
            continue;
        }
        if formula::eval(expr, &ctx) == FVal::Bool(true) {
            let fields = display
                .map(|d| vec![org.schema.objects[*obj].fields[d].name.clone()])
                .unwrap_or_default();
            return Err(
                RecordError::new("FIELD_CUSTOM_VALIDATION_EXCEPTION", message.clone())
                    .with_fields(fields),
            );
        }
    }
    Ok(())
}

/// Whether each active workflow rule's criteria hold for the stored record `r` (all false
/// for a record not yet saved). Taken before an update to detect "newly meets criteria".
pub fn workflow_matches(org: &OrgData, obj: usize, r: Option<RecRef>, now: i64) -> Vec<bool> {
    let stored = Draft::new(org, obj, r);
    org.metadata
        .compiled
        .workflow_rules
        .iter()
        .map(|(o, _, expr, _, _)| {
            r.is_some()
                && *o == obj
                && formula::eval(expr, &DraftCtx::new(org, &stored, now)) == FVal::Bool(true)
        })
        .collect()
}

/// Field updates of the workflow rules that fire for the save of `r`. `was` is
/// [`workflow_matches`] from before the save.
pub fn workflow_updates(
    org: &OrgData,
    r: RecRef,
    is_new: bool,
    was: &[bool],
    now: i64,
) -> Vec<(usize, Value)> {
    let obj = r.obj as usize;
    let saved = Draft::new(org, obj, Some(r));
    let ctx = DraftCtx::new(org, &saved, now);
    let mut out = Vec::new();
    for (i, (o, _name, expr, trigger, updates)) in
        org.metadata.compiled.workflow_rules.iter().enumerate()
    {
        if *o != obj || formula::eval(expr, &ctx) != FVal::Bool(true) {
            continue;
        }
        let fires = match trigger.as_str() {
            _ if is_new => true,
            "onCreateOnly" => false,
            "onAllChanges" => true,
            // onCreateOrTriggeringUpdate: only when the record newly meets the criteria.
            _ => !was.get(i).copied().unwrap_or(false),
        };
        if !fires {
            continue;
        }
        for (fi, literal) in updates {
            let f = &org.schema.objects[obj].fields[*fi];
            let v = match literal {
                None => Value::Null,
                Some(s) => super::convert::from_text(org, f, s).unwrap_or(Value::Null),
            };
            out.push((*fi, v));
        }
    }
    out
}
