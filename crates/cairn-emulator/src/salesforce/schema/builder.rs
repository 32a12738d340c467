//! A small builder for object and field definitions, so the object catalogue reads like
//! a list of fields rather than a wall of struct literals.

use std::collections::HashMap;
use std::sync::Arc;

use super::{
    FieldDef, FieldType, ObjectDef, ObjectFlags, OnDelete, PicklistValue, RecordTypeDef, Storage,
    SysField,
};
use crate::salesforce::formula;

/// A field with the defaults Salesforce uses for its type.
pub fn field(name: &str, ftype: FieldType) -> FieldDef {
    let (length, precision, scale) = match ftype {
        FieldType::String | FieldType::Picklist | FieldType::Combobox | FieldType::Url => {
            (255, 0, 0)
        }
        FieldType::MultiPicklist => (4099, 0, 0),
        FieldType::TextArea => (255, 0, 0),
        FieldType::Email => (80, 0, 0),
        FieldType::Phone => (40, 0, 0),
        FieldType::Id | FieldType::Reference => (18, 0, 0),
        FieldType::Currency => (0, 18, 2),
        FieldType::Double => (0, 18, 0),
        FieldType::Percent => (0, 3, 0),
        _ => (0, 0, 0),
    };
    let boolean = ftype == FieldType::Boolean;
    FieldDef {
        name: name.to_owned(),
        label: label_for(name),
        ftype,
        length,
        precision,
        scale,
        nillable: !boolean,
        createable: true,
        updateable: true,
        defaulted_on_create: boolean,
        custom: name.ends_with("__c"),
        external_id: false,
        unique: false,
        id_lookup: false,
        name_field: false,
        auto_number: None,
        calculated: false,
        formula: None,
        reference_to: Vec::new(),
        relationship_name: None,
        on_delete: OnDelete::SetNull,
        master_detail: false,
        picklist: Vec::new(),
        restricted_picklist: false,
        audit: false,
        intern: matches!(ftype, FieldType::Picklist | FieldType::Combobox),
        compound_field_name: None,
        default_bool: boolean.then_some(false),
        storage: Storage::Column(usize::MAX),
    }
}

/// `BillingPostalCode` → `Billing Postal Code`, `AccountId` → `Account ID`,
/// `Project_Code__c` → `Project Code`.
fn label_for(name: &str) -> String {
    let base = name.strip_suffix("__c").unwrap_or(name);
    if base.contains('_') {
        return base.replace('_', " ");
    }
    let mut out = String::new();
    let chars: Vec<char> = base.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        let boundary = i > 0
            && c.is_ascii_uppercase()
            && (chars[i - 1].is_ascii_lowercase()
                || chars.get(i + 1).is_some_and(char::is_ascii_lowercase));
        if boundary {
            out.push(' ');
        }
        out.push(c);
    }
    if let Some(stripped) = out.strip_suffix(" Id") {
        return format!("{stripped} ID");
    }
    out
}

impl FieldDef {
    /// Required (not nillable).
    pub fn req(mut self) -> Self {
        self.nillable = false;
        self
    }
    /// Read-only: neither createable nor updateable.
    pub fn ro(mut self) -> Self {
        self.createable = false;
        self.updateable = false;
        self
    }
    /// Writable on insert only.
    pub fn create_only(mut self) -> Self {
        self.updateable = false;
        self
    }
    /// Sets the label.
    pub fn label(mut self, label: &str) -> Self {
        self.label = label.to_owned();
        self
    }
    /// Sets the max length.
    pub fn len(mut self, n: u32) -> Self {
        self.length = n;
        self
    }
    /// Sets numeric precision and scale.
    pub fn digits(mut self, precision: u32, scale: u32) -> Self {
        self.precision = precision;
        self.scale = scale;
        self
    }
    /// Picklist values; the first one marked with `*` is the default.
    pub fn pick(mut self, values: &[&str]) -> Self {
        self.picklist = values
            .iter()
            .map(|v| PicklistValue {
                value: v.trim_start_matches('*').to_owned(),
                default: v.starts_with('*'),
            })
            .collect();
        if self.picklist.iter().any(|p| p.default) {
            self.defaulted_on_create = true;
        }
        self
    }
    /// Restricted picklist.
    pub fn restricted(mut self) -> Self {
        self.restricted_picklist = true;
        self
    }
    /// A lookup to `targets` named `rel`.
    pub fn refs(mut self, targets: &[&str], rel: &str, on_delete: OnDelete) -> Self {
        self.reference_to = targets.iter().map(|t| (*t).to_owned()).collect();
        self.relationship_name = Some(rel.to_owned());
        self.on_delete = on_delete;
        self
    }
    /// Master-detail: required, cascades, not reparentable.
    pub fn master(mut self) -> Self {
        self.master_detail = true;
        self.on_delete = OnDelete::Cascade;
        self.nillable = false;
        self.updateable = false;
        self
    }
    /// External id (unique, idLookup).
    pub fn ext_id(mut self) -> Self {
        self.external_id = true;
        self.unique = true;
        self.id_lookup = true;
        self
    }
    /// Unique.
    pub fn unique(mut self) -> Self {
        self.unique = true;
        self.id_lookup = true;
        self
    }
    /// The object's name field.
    pub fn name_field(mut self) -> Self {
        self.name_field = true;
        self.id_lookup = true;
        self
    }
    /// Auto-number with a display format such as `INV-{00000}`.
    pub fn auto_number(mut self, format: &str) -> Self {
        self.auto_number = Some(format.to_owned());
        self.createable = false;
        self.updateable = false;
        self.nillable = false;
        self.defaulted_on_create = true;
        self.length = 30;
        self
    }
    /// A formula field (`calculated`, read-only).
    pub fn formula(mut self, src: &str) -> Self {
        self.formula = Some(src.to_owned());
        self.calculated = true;
        self.createable = false;
        self.updateable = false;
        self
    }
    /// A system-derived read-only value computed like a formula but not shown as one
    /// (Contact.Name, Opportunity.IsClosed, …).
    pub fn derived(mut self, src: &str) -> Self {
        self.formula = Some(src.to_owned());
        self.createable = false;
        self.updateable = false;
        self
    }
    /// Checkbox default.
    pub fn default_true(mut self) -> Self {
        self.default_bool = Some(true);
        self
    }
    /// Defaulted on create (system fills it when missing).
    pub fn defaulted(mut self) -> Self {
        self.defaulted_on_create = true;
        self
    }
    /// Free text with many distinct values: don't intern.
    pub fn no_intern(mut self) -> Self {
        self.intern = false;
        self
    }
    /// Low-cardinality text: intern.
    pub fn interned(mut self) -> Self {
        self.intern = true;
        self
    }
    fn system(mut self, sys: SysField) -> Self {
        self.storage = Storage::System(sys);
        self.createable = false;
        self.updateable = false;
        self.nillable = false;
        self.defaulted_on_create = true;
        self
    }
}

/// The formula of a person's derived `Name` field.
pub const FULL_NAME_FORMULA: &str = r#"TRIM(FirstName & " " & LastName)"#;

/// Object builder.
pub struct ObjBuilder {
    def: ObjectDef,
}

/// Starts an object definition.
pub fn obj(name: &str, prefix: &str, label: &str, plural: &str) -> ObjBuilder {
    let p = prefix.as_bytes();
    ObjBuilder {
        def: ObjectDef {
            name: name.to_owned(),
            label: label.to_owned(),
            label_plural: plural.to_owned(),
            key_prefix: [p[0], p[1], p[2]],
            custom: name.ends_with("__c"),
            flags: ObjectFlags {
                createable: true,
                updateable: true,
                deletable: true,
                undeletable: true,
                replicateable: true,
                triggerable: true,
                mergeable: false,
                has_is_deleted: true,
                setup: false,
                needs_id_filter: false,
            },
            fields: Vec::new(),
            columns: Vec::new(),
            record_types: Vec::new(),
            children: Vec::new(),
            field_index: HashMap::new(),
            rel_index: HashMap::new(),
            child_rel_index: HashMap::new(),
        },
    }
}

impl ObjBuilder {
    /// Adjusts object flags.
    pub fn flags(mut self, f: impl FnOnce(&mut ObjectFlags)) -> Self {
        f(&mut self.def.flags);
        self
    }
    /// Adds a field.
    pub fn f(mut self, fd: FieldDef) -> Self {
        self.def.fields.push(fd);
        self
    }
    /// Adds `OwnerId` (User).
    pub fn owner(self) -> Self {
        self.f(field("OwnerId", FieldType::Reference)
            .refs(&["User"], "Owner", OnDelete::Restrict)
            .req()
            .defaulted()
            .label("Owner ID"))
    }
    /// Adds record types and the `RecordTypeId` field.
    pub fn record_types(mut self, types: &[(&str, &str)]) -> Self {
        self.def.record_types = types
            .iter()
            .map(|(dev, name)| RecordTypeDef {
                developer_name: (*dev).to_owned(),
                name: (*name).to_owned(),
            })
            .collect();
        self.f(field("RecordTypeId", FieldType::Reference)
            .refs(&["RecordType"], "RecordType", OnDelete::Restrict)
            .defaulted()
            .label("Record Type ID"))
    }
    /// Adds street/city/state/postal code/country fields with `prefix` and the compound
    /// address field `{prefix}Address`.
    pub fn address(mut self, prefix: &str) -> Self {
        let compound = format!("{prefix}Address");
        for (part, len) in [
            ("Street", 255),
            ("City", 40),
            ("State", 80),
            ("PostalCode", 20),
            ("Country", 80),
        ] {
            let ftype = if part == "Street" {
                FieldType::TextArea
            } else {
                FieldType::String
            };
            let mut fd = field(&format!("{prefix}{part}"), ftype).len(len);
            fd.compound_field_name = Some(compound.clone());
            fd.intern = part != "Street" && part != "PostalCode";
            self.def.fields.push(fd);
        }
        let mut fd = field(&compound, FieldType::Address).ro();
        fd.storage = Storage::Address([0; 5]);
        self.def.fields.push(fd);
        self
    }

    /// Finishes the object: adds system fields, assigns storage columns, compiles
    /// formulas and builds the name indexes.
    pub fn build(self) -> ObjectDef {
        let mut def = self.def;
        let mut fields = vec![
            field("Id", FieldType::Id)
                .system(SysField::Id)
                .label(&format!("{} ID", def.label)),
        ];
        if def.flags.has_is_deleted {
            fields.push(
                field("IsDeleted", FieldType::Boolean)
                    .system(SysField::IsDeleted)
                    .label("Deleted"),
            );
        }
        fields.append(&mut def.fields);
        let user_ref = |name: &str, rel: &str, sys: SysField| {
            let mut f = field(name, FieldType::Reference)
                .refs(&["User"], rel, OnDelete::Restrict)
                .system(sys);
            f.audit = true;
            f
        };
        let mut created = field("CreatedDate", FieldType::DateTime).system(SysField::CreatedDate);
        created.audit = true;
        let mut modified =
            field("LastModifiedDate", FieldType::DateTime).system(SysField::LastModifiedDate);
        modified.audit = true;
        fields.push(created);
        fields.push(user_ref("CreatedById", "CreatedBy", SysField::CreatedById));
        fields.push(modified);
        fields.push(user_ref(
            "LastModifiedById",
            "LastModifiedBy",
            SysField::LastModifiedById,
        ));
        fields.push(field("SystemModstamp", FieldType::DateTime).system(SysField::SystemModstamp));
        def.fields = fields;

        def.field_index = def
            .fields
            .iter()
            .enumerate()
            .map(|(i, f)| (f.name.to_ascii_lowercase(), i))
            .collect();
        for (i, f) in def.fields.iter().enumerate() {
            if let Some(rel) = &f.relationship_name {
                def.rel_index.insert(rel.to_ascii_lowercase(), i);
            }
        }
        let index = def.field_index.clone();
        let resolve = |n: &str| index.get(&n.to_ascii_lowercase()).copied();
        for i in 0..def.fields.len() {
            let f = &def.fields[i];
            let storage = if let Some(src) = &f.formula {
                let expr = formula::parse(src, &resolve).unwrap_or_else(|e| {
                    panic!("built-in formula {}.{} is invalid: {e}", def.name, f.name)
                });
                // LEN of a binary field is its byte length, kept apart so reading it never
                // materialises the body.
                if src == FULL_NAME_FORMULA
                    && let (Some(first), Some(last)) = (resolve("FirstName"), resolve("LastName"))
                {
                    Storage::FullName(first, last)
                } else if let formula::Expr::Call(name, args) = &expr
                    && name == "LEN"
                    && let [formula::Expr::Field(i)] = args.as_slice()
                    && def.fields[*i].ftype == FieldType::Base64
                {
                    Storage::BlobLength(*i)
                } else {
                    Storage::Formula(Arc::new(expr))
                }
            } else if f.ftype == FieldType::Address {
                let prefix = f.name.trim_end_matches("Address");
                let part = |p: &str| resolve(&format!("{prefix}{p}")).unwrap_or(0);
                Storage::Address([
                    part("Street"),
                    part("City"),
                    part("State"),
                    part("PostalCode"),
                    part("Country"),
                ])
            } else if let Storage::System(s) = f.storage {
                Storage::System(s)
            } else {
                def.columns.push(f.ftype.col_kind());
                Storage::Column(def.columns.len() - 1)
            };
            def.fields[i].storage = storage;
        }
        def
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_read_like_salesforce_labels() {
        assert_eq!(label_for("BillingPostalCode"), "Billing Postal Code");
        assert_eq!(label_for("AccountId"), "Account ID");
        assert_eq!(label_for("Project_Code__c"), "Project Code");
        assert_eq!(label_for("Name"), "Name");
    }
}
