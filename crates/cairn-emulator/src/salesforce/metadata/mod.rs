//! Metadata components (Apex triggers and classes, validation rules, flows, workflow
//! rules, custom objects) and the automation they drive.
//!
//! Components are stored structured, rendered to Metadata API files on retrieve and parsed
//! back on deploy. Their activation flags are live: an active validation rule rejects
//! writes, an active trigger or flow changes records, an active workflow rule applies its
//! field updates — and deactivating them through a deploy stops that, which is what a
//! restore's "disable automation" step relies on. The emulator cannot run Apex or flow
//! bodies in general: the built-in trigger and flow have fixed behaviours (documented on
//! [`Builtin`]); validation rules and workflow criteria are evaluated from their formulas.

pub mod deploy;
pub mod files;
pub mod package;
mod seed;
pub mod soap;

use serde::{Deserialize, Serialize};

use super::formula::{self, Expr};
use super::schema::{ObjectDef, Schema};

/// What a built-in trigger or flow does when active.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Builtin {
    /// Trigger `AccountAutomationStamp`: before insert/update of an Account, sets
    /// `Automation_Stamp__c` to `AccountAutomationStamp <datetime>`.
    StampAccount,
    /// Flow `Case_Escalate_High_Priority`: before saving a Case whose Priority is High,
    /// sets `IsEscalated` to true.
    EscalateHighPriorityCase,
    /// No behaviour the emulator can run (deployed code or flows).
    None,
}

/// A field update action of a workflow rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldUpdate {
    /// Action name (`Set_Rating_Hot`).
    pub name: String,
    /// Target field API name.
    pub field: String,
    /// Literal value to set (None = null).
    pub literal: Option<String>,
}

/// The structured content of a component.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Body {
    /// An Apex trigger.
    ApexTrigger {
        /// Object it fires on.
        object: String,
        /// Source code.
        source: String,
        /// `Active`, `Inactive` or `Deleted`.
        status: String,
        /// API version.
        api_version: String,
    },
    /// An Apex class.
    ApexClass {
        /// Source code.
        source: String,
        /// `Active` or `Deleted`.
        status: String,
        /// API version.
        api_version: String,
    },
    /// A validation rule (full name `Object.Rule`).
    ValidationRule {
        /// Whether it runs.
        active: bool,
        /// Description.
        description: String,
        /// Formula that flags an invalid record when true.
        formula: String,
        /// Field the error is shown on.
        display_field: Option<String>,
        /// Error message.
        message: String,
    },
    /// A workflow rule (full name `Object.Rule`).
    WorkflowRule {
        /// Whether it runs.
        active: bool,
        /// Description.
        description: String,
        /// Criteria formula.
        formula: String,
        /// `onCreateOnly`, `onCreateOrTriggeringUpdate` or `onAllChanges`.
        trigger_type: String,
        /// Field updates it applies.
        updates: Vec<FieldUpdate>,
    },
    /// A flow; the XML is kept verbatim apart from its status.
    Flow {
        /// `Active`, `Draft`, `Obsolete` or `InvalidDraft`.
        status: String,
        /// The flow definition XML.
        xml: String,
    },
}

impl Body {
    /// The Metadata API type name.
    pub fn type_name(&self) -> &'static str {
        match self {
            Body::ApexTrigger { .. } => "ApexTrigger",
            Body::ApexClass { .. } => "ApexClass",
            Body::ValidationRule { .. } => "ValidationRule",
            Body::WorkflowRule { .. } => "WorkflowRule",
            Body::Flow { .. } => "Flow",
        }
    }

    /// Whether the component is active.
    pub fn is_active(&self) -> bool {
        match self {
            Body::ApexTrigger { status, .. } | Body::ApexClass { status, .. } => status == "Active",
            Body::ValidationRule { active, .. } | Body::WorkflowRule { active, .. } => *active,
            Body::Flow { status, .. } => status == "Active",
        }
    }
}

/// One metadata component.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Component {
    /// Full name (`AccountAutomationStamp`, `Account.Revenue_Must_Not_Be_Negative`).
    pub full_name: String,
    /// Component id.
    pub id: String,
    /// Content.
    pub body: Body,
    /// Created (ms).
    pub created: i64,
    /// Last modified (ms).
    pub modified: i64,
    /// Last modified by (user row).
    pub modified_by: u32,
}

impl Component {
    /// The Metadata API type name.
    pub fn type_name(&self) -> &'static str {
        self.body.type_name()
    }
    /// The object part of an `Object.Rule` full name (or a trigger's object).
    pub fn object(&self) -> Option<&str> {
        match &self.body {
            Body::ApexTrigger { object, .. } => Some(object),
            Body::ValidationRule { .. } | Body::WorkflowRule { .. } => {
                self.full_name.split_once('.').map(|(o, _)| o)
            }
            _ => None,
        }
    }
}

/// A compiled validation rule: (object index, rule name, formula, message, display field).
pub type CompiledRule = (usize, String, Expr, String, Option<usize>);
/// A compiled workflow rule: (object index, rule name, criteria, trigger type, field
/// updates as (field index, literal)).
pub type CompiledWorkflow = (usize, String, Expr, String, Vec<(usize, Option<String>)>);

/// Compiled automation for the write path.
#[derive(Debug, Clone, Default)]
pub struct Compiled {
    /// Active validation rules.
    pub validation_rules: Vec<CompiledRule>,
    /// Active workflow rules.
    pub workflow_rules: Vec<CompiledWorkflow>,
    /// Active built-in behaviours.
    pub builtins: Vec<Builtin>,
}

/// All components of the org plus their compiled, active automation.
#[derive(Debug, Clone)]
pub struct MetadataStore {
    /// Components, sorted by (type, full name).
    pub components: Vec<Component>,
    /// Active automation, rebuilt whenever components change.
    pub compiled: Compiled,
    /// Counter for new component ids.
    pub next_id: u64,
}

/// Id key prefixes by metadata type.
pub fn id_prefix(type_name: &str) -> &'static str {
    match type_name {
        "ApexTrigger" => "01q",
        "ApexClass" => "01p",
        "ValidationRule" => "03d",
        "WorkflowRule" => "01Q",
        "Flow" => "301",
        _ => "000",
    }
}

impl MetadataStore {
    /// The org's initial components.
    pub fn seeded(schema: &Schema, epoch: i64) -> Self {
        let mut store = MetadataStore {
            components: files::seed_components(epoch),
            compiled: Compiled::default(),
            next_id: 100,
        };
        store.components.sort_by(|a, b| {
            (a.type_name(), a.full_name.as_str()).cmp(&(b.type_name(), b.full_name.as_str()))
        });
        // The seeded components are known-good; a failure here is a programming error that
        // the unit tests catch.
        let _ = store.recompile(schema);
        store
    }

    /// Components of `type_name`.
    pub fn of_type<'a>(&'a self, type_name: &'a str) -> impl Iterator<Item = &'a Component> + 'a {
        self.components
            .iter()
            .filter(move |c| c.type_name() == type_name)
    }

    /// The component `type_name`/`full_name`.
    pub fn get(&self, type_name: &str, full_name: &str) -> Option<&Component> {
        self.components
            .iter()
            .find(|c| c.type_name() == type_name && c.full_name.eq_ignore_ascii_case(full_name))
    }

    /// Inserts or replaces a component (keeps the sort order).
    pub fn put(&mut self, c: Component) {
        if let Some(existing) = self.components.iter_mut().find(|e| {
            e.type_name() == c.type_name() && e.full_name.eq_ignore_ascii_case(&c.full_name)
        }) {
            *existing = c;
        } else {
            self.components.push(c);
            self.components.sort_by(|a, b| {
                (a.type_name(), a.full_name.as_str()).cmp(&(b.type_name(), b.full_name.as_str()))
            });
        }
    }

    /// Rebuilds the compiled automation from the components.
    ///
    /// # Errors
    /// The first component whose formula or target does not compile, with the reason.
    pub fn recompile(&mut self, schema: &Schema) -> Result<(), (String, String)> {
        let mut compiled = Compiled::default();
        for c in &self.components {
            if !c.body.is_active() {
                continue;
            }
            match &c.body {
                Body::ValidationRule {
                    formula,
                    message,
                    display_field,
                    ..
                } => {
                    let (oi, def) = object_for(schema, c)?;
                    let expr = compile(def, formula).map_err(|e| (c.full_name.clone(), e))?;
                    let display = display_field.as_deref().and_then(|f| def.field(f));
                    compiled.validation_rules.push((
                        oi,
                        c.full_name.clone(),
                        expr,
                        message.clone(),
                        display,
                    ));
                }
                Body::WorkflowRule {
                    formula,
                    trigger_type,
                    updates,
                    ..
                } => {
                    let (oi, def) = object_for(schema, c)?;
                    let expr = compile(def, formula).map_err(|e| (c.full_name.clone(), e))?;
                    let mut ups = Vec::new();
                    for u in updates {
                        let fi = def.field(&u.field).ok_or_else(|| {
                            (
                                c.full_name.clone(),
                                format!("Field {} does not exist on {}", u.field, def.name),
                            )
                        })?;
                        ups.push((fi, u.literal.clone()));
                    }
                    compiled.workflow_rules.push((
                        oi,
                        c.full_name.clone(),
                        expr,
                        trigger_type.clone(),
                        ups,
                    ));
                }
                Body::ApexTrigger { .. } if c.full_name == "AccountAutomationStamp" => {
                    compiled.builtins.push(Builtin::StampAccount);
                }
                Body::Flow { .. } if c.full_name == "Case_Escalate_High_Priority" => {
                    compiled.builtins.push(Builtin::EscalateHighPriorityCase);
                }
                _ => {}
            }
        }
        self.compiled = compiled;
        Ok(())
    }
}

fn object_for<'a>(
    schema: &'a Schema,
    c: &Component,
) -> Result<(usize, &'a ObjectDef), (String, String)> {
    let name = c.object().unwrap_or("");
    schema
        .object(name)
        .map(|i| (i, &schema.objects[i]))
        .ok_or_else(|| {
            (
                c.full_name.clone(),
                format!("Entity type {name} does not exist"),
            )
        })
}

fn compile(def: &ObjectDef, src: &str) -> Result<Expr, String> {
    formula::parse(src, &|n: &str| def.field(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_automation_compiles_and_is_active() {
        let schema = Schema::build();
        let store = MetadataStore::seeded(&schema, 0);
        assert!(store.compiled.builtins.contains(&Builtin::StampAccount));
        assert!(
            store
                .compiled
                .builtins
                .contains(&Builtin::EscalateHighPriorityCase)
        );
        assert!(store.compiled.validation_rules.len() >= 3);
        assert_eq!(store.compiled.workflow_rules.len(), 1);
        // The inactive rule is stored but not compiled.
        assert!(
            store
                .get("ValidationRule", "Case.Subject_Min_Length")
                .is_some()
        );
        assert!(
            !store
                .compiled
                .validation_rules
                .iter()
                .any(|(_, n, ..)| n == "Case.Subject_Min_Length")
        );
    }
}
