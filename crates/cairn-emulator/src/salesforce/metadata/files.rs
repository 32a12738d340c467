//! Metadata API file formats: the org's seeded components, rendering components to the
//! files a retrieve returns (`triggers/X.trigger` + `-meta.xml`, `objects/Account.object`,
//! `workflows/Lead.workflow`, `flows/X.flow`, `classes/X.cls`) and parsing deployed files
//! back into components.

use std::collections::BTreeMap;

pub use super::seed::seed_components;
use super::{Body, Component, FieldUpdate};
use crate::salesforce::schema::{FieldType, ObjectDef, Schema};
use crate::salesforce::xml::{self, Node, el, esc};

/// The Metadata API namespace.
pub const NS: &str = "http://soap.sforce.com/2006/04/metadata";
/// API version written into generated metadata files.
pub const API: &str = "62.0";

/// Renders components (and, for `objects`, whole CustomObject definitions) to
/// `(path, content)` files, grouping per-object types into one file per object.
pub fn render(components: &[&Component], objects: &[&ObjectDef]) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = Vec::new();
    let mut object_parts: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut workflow_parts: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for o in objects {
        object_parts
            .entry(o.name.clone())
            .or_default()
            .push(render_object_fields(o));
    }
    for c in components {
        match &c.body {
            Body::ApexTrigger {
                source,
                status,
                api_version,
                ..
            } => {
                files.push((format!("triggers/{}.trigger", c.full_name), source.clone()));
                files.push((
                    format!("triggers/{}.trigger-meta.xml", c.full_name),
                    code_meta("ApexTrigger", api_version, status),
                ));
            }
            Body::ApexClass {
                source,
                status,
                api_version,
            } => {
                files.push((format!("classes/{}.cls", c.full_name), source.clone()));
                files.push((
                    format!("classes/{}.cls-meta.xml", c.full_name),
                    code_meta("ApexClass", api_version, status),
                ));
            }
            Body::ValidationRule {
                active,
                description,
                formula,
                display_field,
                message,
            } => {
                let (object, name) = c.full_name.split_once('.').unwrap_or(("", &c.full_name));
                let mut x = format!(
                    "    <validationRules>\n        {}\n        {}\n        {}\n        {}\n",
                    el("fullName", name),
                    el("active", &active.to_string()),
                    el("description", description),
                    el("errorConditionFormula", formula)
                );
                if let Some(f) = display_field {
                    x.push_str(&format!("        {}\n", el("errorDisplayField", f)));
                }
                x.push_str(&format!(
                    "        {}\n    </validationRules>\n",
                    el("errorMessage", message)
                ));
                object_parts.entry(object.to_owned()).or_default().push(x);
            }
            Body::WorkflowRule {
                active,
                description,
                formula,
                trigger_type,
                updates,
            } => {
                let (object, name) = c.full_name.split_once('.').unwrap_or(("", &c.full_name));
                let parts = workflow_parts.entry(object.to_owned()).or_default();
                for u in updates {
                    let value = match &u.literal {
                        Some(v) => format!("        {}\n", el("literalValue", v)),
                        None => String::new(),
                    };
                    parts.push(format!(
                        "    <fieldUpdates>\n        {}\n        {}\n{value}        {}\n        <notifyAssignee>false</notifyAssignee>\n        <operation>{}</operation>\n        <protected>false</protected>\n    </fieldUpdates>\n",
                        el("fullName", &u.name),
                        el("field", &u.field),
                        el("name", &u.name.replace('_', " ")),
                        if u.literal.is_some() { "Literal" } else { "Null" }
                    ));
                }
                let actions: String = updates
                    .iter()
                    .map(|u| {
                        format!(
                            "        <actions>\n            {}\n            <type>FieldUpdate</type>\n        </actions>\n",
                            el("name", &u.name)
                        )
                    })
                    .collect();
                parts.push(format!(
                    "    <rules>\n        {}\n{actions}        {}\n        {}\n        {}\n        {}\n    </rules>\n",
                    el("fullName", name),
                    el("active", &active.to_string()),
                    el("description", description),
                    el("formula", formula),
                    el("triggerType", trigger_type)
                ));
            }
            Body::Flow { status, xml } => {
                files.push((
                    format!("flows/{}.flow", c.full_name),
                    with_status(xml, status),
                ));
            }
        }
    }
    for (object, parts) in object_parts {
        files.push((
            format!("objects/{object}.object"),
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<CustomObject xmlns=\"{NS}\">\n{}</CustomObject>\n",
                parts.concat()
            ),
        ));
    }
    for (object, parts) in workflow_parts {
        files.push((
            format!("workflows/{object}.workflow"),
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Workflow xmlns=\"{NS}\">\n{}</Workflow>\n",
                parts.concat()
            ),
        ));
    }
    files.sort();
    files
}

fn code_meta(kind: &str, api_version: &str, status: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<{kind} xmlns=\"{NS}\">\n    {}\n    {}\n</{kind}>\n",
        el("apiVersion", api_version),
        el("status", status)
    )
}

/// Replaces the flow's top-level `<status>` value.
fn with_status(xml: &str, status: &str) -> String {
    match (xml.rfind("<status>"), xml.rfind("</status>")) {
        (Some(a), Some(b)) if a < b => {
            format!("{}<status>{}{}", &xml[..a], esc(status), &xml[b..])
        }
        _ => xml.to_owned(),
    }
}

fn render_object_fields(o: &ObjectDef) -> String {
    let mut x = format!("    {}\n", el("label", &o.label));
    x.push_str(&format!("    {}\n", el("pluralLabel", &o.label_plural)));
    for f in &o.fields {
        if !f.custom {
            continue;
        }
        let kind = match f.ftype {
            FieldType::String => "Text",
            FieldType::TextArea if f.length > 255 => "LongTextArea",
            FieldType::TextArea => "TextArea",
            FieldType::Boolean => "Checkbox",
            FieldType::Currency => "Currency",
            FieldType::Percent => "Percent",
            FieldType::Double | FieldType::Int => "Number",
            FieldType::Date => "Date",
            FieldType::DateTime => "DateTime",
            FieldType::Picklist => "Picklist",
            FieldType::Reference if f.master_detail => "MasterDetail",
            FieldType::Reference => "Lookup",
            _ => "Text",
        };
        x.push_str("    <fields>\n");
        x.push_str(&format!("        {}\n", el("fullName", &f.name)));
        if let Some(src) = f.formula.as_deref().filter(|_| f.calculated) {
            x.push_str(&format!("        {}\n", el("formula", src)));
        }
        if f.external_id {
            x.push_str("        <externalId>true</externalId>\n");
        }
        x.push_str(&format!("        {}\n", el("label", &f.label)));
        if f.length > 0 && f.ftype.is_textual() {
            x.push_str(&format!(
                "        {}\n",
                el("length", &f.length.to_string())
            ));
        }
        if f.ftype == FieldType::Reference {
            if let Some(t) = f.reference_to.first() {
                x.push_str(&format!("        {}\n", el("referenceTo", t)));
            }
            if let Some(r) = &f.relationship_name {
                x.push_str(&format!(
                    "        {}\n",
                    el("relationshipName", r.trim_end_matches("__r"))
                ));
            }
        }
        x.push_str(&format!(
            "        {}\n        {}\n",
            el(
                "required",
                &(!f.nillable && f.ftype != FieldType::Boolean).to_string()
            ),
            el("type", kind)
        ));
        if f.unique {
            x.push_str("        <unique>true</unique>\n");
        }
        x.push_str("    </fields>\n");
    }
    x
}

/// A component parsed from a deployed file, or why the file was rejected.
pub type Parsed = Result<Vec<Component>, (String, String)>;

/// Parses one deployed file (path relative to the package root) into components.
/// Files the emulator does not model (other types) yield no components.
pub fn parse_file(
    path: &str,
    content: &[u8],
    all: &BTreeMap<String, Vec<u8>>,
    schema: &Schema,
) -> Parsed {
    let err = |msg: String| Err((path.to_owned(), msg));
    let text = String::from_utf8_lossy(content);
    let stem = |ext: &str| {
        path.rsplit('/')
            .next()
            .unwrap_or(path)
            .trim_end_matches(ext)
            .to_owned()
    };
    if let Some(rest) = path.strip_prefix("triggers/") {
        if rest.ends_with(".trigger-meta.xml") {
            return Ok(Vec::new());
        }
        if !rest.ends_with(".trigger") {
            return Ok(Vec::new());
        }
        let name = stem(".trigger");
        let meta = all
            .get(&format!("{path}-meta.xml"))
            .ok_or_else(|| (path.to_owned(), format!("An object '{name}' of type ApexTrigger was named in package.xml, but was not found in zipped directory")))?;
        let meta = xml::parse(meta).map_err(|e| (format!("{path}-meta.xml"), e))?;
        let object = trigger_object(&text).ok_or_else(|| {
            (
                path.to_owned(),
                "Error: Compile Error: Invalid trigger declaration".to_owned(),
            )
        })?;
        if schema.object(&object).is_none() {
            return err(format!(
                "Error: Compile Error: Invalid SObject type name: {object}"
            ));
        }
        return Ok(vec![new_comp(
            &name,
            Body::ApexTrigger {
                object,
                source: text.into_owned(),
                status: meta.child_text("status").unwrap_or("Active").to_owned(),
                api_version: meta.child_text("apiVersion").unwrap_or(API).to_owned(),
            },
        )]);
    }
    if let Some(rest) = path.strip_prefix("classes/") {
        if !rest.ends_with(".cls") {
            return Ok(Vec::new());
        }
        let name = stem(".cls");
        let meta = all
            .get(&format!("{path}-meta.xml"))
            .map(|m| xml::parse(m))
            .transpose()
            .map_err(|e| (format!("{path}-meta.xml"), e))?;
        return Ok(vec![new_comp(
            &name,
            Body::ApexClass {
                source: text.into_owned(),
                status: meta
                    .as_ref()
                    .and_then(|m| m.child_text("status"))
                    .unwrap_or("Active")
                    .to_owned(),
                api_version: meta
                    .as_ref()
                    .and_then(|m| m.child_text("apiVersion"))
                    .unwrap_or(API)
                    .to_owned(),
            },
        )]);
    }
    if path.starts_with("flows/") && path.ends_with(".flow") {
        let root = xml::parse(content).map_err(|e| (path.to_owned(), e))?;
        let status = root.child_text("status").unwrap_or("Draft").to_owned();
        if !["Active", "Draft", "Obsolete", "InvalidDraft"].contains(&status.as_str()) {
            return err(format!("Invalid flow status: {status}"));
        }
        return Ok(vec![new_comp(
            &stem(".flow"),
            Body::Flow {
                status,
                xml: text.into_owned(),
            },
        )]);
    }
    if path.starts_with("objects/") && path.ends_with(".object") {
        let object = stem(".object");
        if schema.object(&object).is_none() {
            return err(format!(
                "Cannot create object {object}: the emulator's schema is fixed"
            ));
        }
        let root = xml::parse(content).map_err(|e| (path.to_owned(), e))?;
        return root
            .children_named("validationRules")
            .map(|v| parse_validation_rule(&object, v).map_err(|e| (path.to_owned(), e)))
            .collect();
    }
    if path.starts_with("workflows/") && path.ends_with(".workflow") {
        let object = stem(".workflow");
        let root = xml::parse(content).map_err(|e| (path.to_owned(), e))?;
        return parse_workflow(&object, &root).map_err(|e| (path.to_owned(), e));
    }
    Ok(Vec::new())
}

fn new_comp(full_name: &str, body: Body) -> Component {
    Component {
        full_name: full_name.to_owned(),
        id: String::new(),
        body,
        created: 0,
        modified: 0,
        modified_by: 0,
    }
}

fn trigger_object(source: &str) -> Option<String> {
    let mut words = source.split_whitespace();
    while let Some(w) = words.next() {
        if w.eq_ignore_ascii_case("trigger") {
            let _name = words.next()?;
            if !words.next()?.eq_ignore_ascii_case("on") {
                return None;
            }
            let object = words.next()?;
            return Some(object.trim_end_matches('(').to_owned());
        }
    }
    None
}

fn parse_validation_rule(object: &str, v: &Node) -> Result<Component, String> {
    let name = v
        .child_text("fullName")
        .filter(|s| !s.is_empty())
        .ok_or("Required field is missing: fullName")?;
    let formula = v
        .child_text("errorConditionFormula")
        .ok_or("Required field is missing: errorConditionFormula")?;
    let message = v
        .child_text("errorMessage")
        .ok_or("Required field is missing: errorMessage")?;
    Ok(new_comp(
        &format!("{object}.{name}"),
        Body::ValidationRule {
            active: v.child_text("active") == Some("true"),
            description: v.child_text("description").unwrap_or("").to_owned(),
            formula: formula.to_owned(),
            display_field: v.child_text("errorDisplayField").map(str::to_owned),
            message: message.to_owned(),
        },
    ))
}

fn parse_workflow(object: &str, root: &Node) -> Result<Vec<Component>, String> {
    let updates: BTreeMap<String, FieldUpdate> = root
        .children_named("fieldUpdates")
        .filter_map(|u| {
            let name = u.child_text("fullName")?.to_owned();
            Some((
                name.clone(),
                FieldUpdate {
                    name,
                    field: u.child_text("field")?.to_owned(),
                    literal: u.child_text("literalValue").map(str::to_owned),
                },
            ))
        })
        .collect();
    let mut out = Vec::new();
    for rule in root.children_named("rules") {
        let name = rule
            .child_text("fullName")
            .ok_or("Required field is missing: fullName")?;
        let mut ups = Vec::new();
        for a in rule.children_named("actions") {
            if a.child_text("type") == Some("FieldUpdate") {
                let an = a.child_text("name").unwrap_or("");
                ups.push(
                    updates
                        .get(an)
                        .cloned()
                        .ok_or_else(|| format!("No FieldUpdate named {an} found"))?,
                );
            }
        }
        out.push(new_comp(
            &format!("{object}.{name}"),
            Body::WorkflowRule {
                active: rule.child_text("active") == Some("true"),
                description: rule.child_text("description").unwrap_or("").to_owned(),
                formula: rule.child_text("formula").unwrap_or("true").to_owned(),
                trigger_type: rule
                    .child_text("triggerType")
                    .unwrap_or("onCreateOrTriggeringUpdate")
                    .to_owned(),
                updates: ups,
            },
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rendered_files_parse_back_to_the_same_components() {
        let schema = Schema::build();
        let seeded = seed_components(0);
        let refs: Vec<&Component> = seeded.iter().collect();
        let files = render(&refs, &[]);
        let all: BTreeMap<String, Vec<u8>> = files
            .iter()
            .map(|(p, c)| (p.clone(), c.clone().into_bytes()))
            .collect();
        let mut parsed = Vec::new();
        for (p, c) in &all {
            parsed.extend(parse_file(p, c, &all, &schema).unwrap());
        }
        for original in &seeded {
            let back = parsed
                .iter()
                .find(|c| c.full_name == original.full_name)
                .unwrap_or_else(|| panic!("{} missing", original.full_name));
            assert_eq!(back.body, original.body, "{}", original.full_name);
        }
        assert!(files.iter().any(|(p, _)| p == "objects/Account.object"));
        assert!(
            files
                .iter()
                .any(|(p, _)| p == "triggers/AccountAutomationStamp.trigger-meta.xml")
        );
    }

    #[test]
    fn flow_status_is_replaced_in_place() {
        let x = with_status(super::super::seed::ESCALATION_FLOW, "Obsolete");
        assert!(x.contains("<status>Obsolete</status>"));
        assert!(!x.contains("<status>Active</status>"));
    }
}
