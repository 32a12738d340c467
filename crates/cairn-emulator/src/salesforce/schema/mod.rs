//! The org's schema: sObjects, their fields, relationships and record types.
//!
//! The schema is built once per org from the definitions in [`standard`] and [`custom`]
//! and never changes while the org runs. Each field knows its describe attributes (type,
//! createable, nillable, referenceTo, …) and where its value lives: a system header slot,
//! a storage column, a formula, or a compound of other fields.

mod builder;
mod content;
mod custom;
mod standard;

use std::collections::HashMap;
use std::sync::Arc;

pub use builder::{field, obj};
pub use standard::{STAGES, WHAT_TARGETS};

use super::formula::Expr;

/// Salesforce field types as describe names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// `id`
    Id,
    /// `boolean`
    Boolean,
    /// `string`
    String,
    /// `textarea`
    TextArea,
    /// `picklist`
    Picklist,
    /// `multipicklist`
    MultiPicklist,
    /// `combobox`
    Combobox,
    /// `email`
    Email,
    /// `phone`
    Phone,
    /// `url`
    Url,
    /// `int`
    Int,
    /// `double`
    Double,
    /// `currency`
    Currency,
    /// `percent`
    Percent,
    /// `date`
    Date,
    /// `datetime`
    DateTime,
    /// `reference`
    Reference,
    /// `base64`
    Base64,
    /// `address` (compound)
    Address,
}

/// How a column stores values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColKind {
    /// Strings of every text-like type.
    Text,
    /// Numbers of every numeric type.
    Num,
    /// Checkboxes.
    Bool,
    /// Dates.
    Date,
    /// Date-times.
    DateTime,
    /// References to records.
    Ref,
    /// Binary bodies.
    Blob,
}

impl FieldType {
    /// The describe `type` value.
    pub fn api_name(self) -> &'static str {
        match self {
            FieldType::Id => "id",
            FieldType::Boolean => "boolean",
            FieldType::String => "string",
            FieldType::TextArea => "textarea",
            FieldType::Picklist => "picklist",
            FieldType::MultiPicklist => "multipicklist",
            FieldType::Combobox => "combobox",
            FieldType::Email => "email",
            FieldType::Phone => "phone",
            FieldType::Url => "url",
            FieldType::Int => "int",
            FieldType::Double => "double",
            FieldType::Currency => "currency",
            FieldType::Percent => "percent",
            FieldType::Date => "date",
            FieldType::DateTime => "datetime",
            FieldType::Reference => "reference",
            FieldType::Base64 => "base64",
            FieldType::Address => "address",
        }
    }

    /// The describe `soapType` value.
    pub fn soap_type(self) -> &'static str {
        match self {
            FieldType::Id | FieldType::Reference => "tns:ID",
            FieldType::Boolean => "xsd:boolean",
            FieldType::Int => "xsd:int",
            FieldType::Double | FieldType::Currency | FieldType::Percent => "xsd:double",
            FieldType::Date => "xsd:date",
            FieldType::DateTime => "xsd:dateTime",
            FieldType::Base64 => "xsd:base64Binary",
            FieldType::Address => "urn:address",
            _ => "xsd:string",
        }
    }

    /// The storage kind for values of this type.
    pub fn col_kind(self) -> ColKind {
        match self {
            FieldType::Boolean => ColKind::Bool,
            FieldType::Int | FieldType::Double | FieldType::Currency | FieldType::Percent => {
                ColKind::Num
            }
            FieldType::Date => ColKind::Date,
            FieldType::DateTime => ColKind::DateTime,
            FieldType::Reference | FieldType::Id => ColKind::Ref,
            FieldType::Base64 => ColKind::Blob,
            _ => ColKind::Text,
        }
    }

    /// Whether values are text on the wire (quoted in SOQL literals).
    pub fn is_textual(self) -> bool {
        self.col_kind() == ColKind::Text
    }
}

/// System fields kept in every row's header rather than in a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SysField {
    /// `Id`
    Id,
    /// `IsDeleted`
    IsDeleted,
    /// `CreatedDate`
    CreatedDate,
    /// `CreatedById`
    CreatedById,
    /// `LastModifiedDate`
    LastModifiedDate,
    /// `LastModifiedById`
    LastModifiedById,
    /// `SystemModstamp`
    SystemModstamp,
}

/// Where a field's value comes from.
#[derive(Debug, Clone)]
pub enum Storage {
    /// The row header.
    System(SysField),
    /// A storage column (index into the table's columns).
    Column(usize),
    /// Computed from other fields on read.
    Formula(Arc<Expr>),
    /// The byte length of the blob in the given field (BodyLength, ContentSize).
    BlobLength(usize),
    /// `FirstName LastName` of a person (Contact.Name, Lead.Name, User.Name), computed
    /// without the formula interpreter because every person query reads it.
    FullName(usize, usize),
    /// A compound address made of these component fields (street, city, state,
    /// postal code, country).
    Address([usize; 5]),
}

/// What happens to a child when the record its lookup points at is deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnDelete {
    /// The child is deleted too, and comes back with the parent's undelete.
    Cascade,
    /// The lookup is cleared, and restored by the parent's undelete.
    SetNull,
    /// The parent cannot be deleted while children point at it.
    Restrict,
}

/// A picklist value.
#[derive(Debug, Clone)]
pub struct PicklistValue {
    /// API value.
    pub value: String,
    /// Whether it is the default.
    pub default: bool,
}

/// One field of an sObject with its describe attributes.
#[derive(Debug, Clone)]
pub struct FieldDef {
    /// API name.
    pub name: String,
    /// Label.
    pub label: String,
    /// Type.
    pub ftype: FieldType,
    /// Max length for text (0 otherwise).
    pub length: u32,
    /// Total digits for numbers.
    pub precision: u32,
    /// Digits after the point.
    pub scale: u32,
    /// May be null.
    pub nillable: bool,
    /// Writable on insert.
    pub createable: bool,
    /// Writable on update.
    pub updateable: bool,
    /// Gets a value on insert when none is given.
    pub defaulted_on_create: bool,
    /// Custom (`__c`).
    pub custom: bool,
    /// External id (upsert key).
    pub external_id: bool,
    /// Unique.
    pub unique: bool,
    /// Can identify a record (Id, Name-like, external ids).
    pub id_lookup: bool,
    /// The object's name field.
    pub name_field: bool,
    /// Auto-number format, e.g. `INV-{00000}`.
    pub auto_number: Option<String>,
    /// Formula or derived value (describe `calculated`).
    pub calculated: bool,
    /// Formula source, shown as `calculatedFormula`.
    pub formula: Option<String>,
    /// Target objects of a reference.
    pub reference_to: Vec<String>,
    /// Relationship name of a reference (`Account`, `Owner`, `Project__r`).
    pub relationship_name: Option<String>,
    /// Delete behaviour of a reference.
    pub on_delete: OnDelete,
    /// Master-detail reference.
    pub master_detail: bool,
    /// Picklist values.
    pub picklist: Vec<PicklistValue>,
    /// Restricted picklist: other values are rejected.
    pub restricted_picklist: bool,
    /// Audit field whose createability depends on the org's audit-field setting.
    pub audit: bool,
    /// Deduplicate stored strings (picklists and other low-cardinality text).
    pub intern: bool,
    /// Compound field this component belongs to (`BillingAddress`).
    pub compound_field_name: Option<String>,
    /// Default checkbox value.
    pub default_bool: Option<bool>,
    /// Where the value lives.
    pub storage: Storage,
}

impl FieldDef {
    /// Whether the field can appear in a WHERE clause.
    pub fn filterable(&self) -> bool {
        !matches!(
            self.ftype,
            FieldType::TextArea | FieldType::Base64 | FieldType::Address
        ) || (self.ftype == FieldType::TextArea && self.length <= 255)
    }

    /// Whether the field can appear in ORDER BY.
    pub fn sortable(&self) -> bool {
        self.filterable() && self.ftype != FieldType::MultiPicklist
    }

    /// Whether the field is a long text area (not filterable, shrinks pages).
    pub fn is_long_text(&self) -> bool {
        self.ftype == FieldType::TextArea && self.length > 255
    }

    /// The storage column, if stored.
    pub fn column(&self) -> Option<usize> {
        match self.storage {
            Storage::Column(c) => Some(c),
            _ => None,
        }
    }
}

/// A record type of an object.
#[derive(Debug, Clone)]
pub struct RecordTypeDef {
    /// DeveloperName.
    pub developer_name: String,
    /// Label.
    pub name: String,
}

/// Object-level describe flags.
#[derive(Debug, Clone, Copy)]
pub struct ObjectFlags {
    /// Records can be created.
    pub createable: bool,
    /// Records can be updated.
    pub updateable: bool,
    /// Records can be deleted.
    pub deletable: bool,
    /// Deleted records go to the recycle bin and can be undeleted.
    pub undeletable: bool,
    /// getUpdated/getDeleted work.
    pub replicateable: bool,
    /// Triggers can be defined.
    pub triggerable: bool,
    /// Records can be merged.
    pub mergeable: bool,
    /// Has the `IsDeleted` field.
    pub has_is_deleted: bool,
    /// Setup object (cannot be mixed with data objects in one DML call).
    pub setup: bool,
    /// Queries must filter on one of these fields (ContentDocumentLink).
    pub needs_id_filter: bool,
}

/// A child relationship, as describe lists it on the parent.
#[derive(Debug, Clone)]
pub struct ChildRel {
    /// Child object index.
    pub child: usize,
    /// Field index on the child.
    pub field: usize,
    /// Relationship name on the parent (`Contacts`), if any.
    pub name: Option<String>,
}

/// One sObject.
#[derive(Debug, Clone)]
pub struct ObjectDef {
    /// API name.
    pub name: String,
    /// Label.
    pub label: String,
    /// Plural label.
    pub label_plural: String,
    /// Three-character key prefix.
    pub key_prefix: [u8; 3],
    /// Custom object.
    pub custom: bool,
    /// Flags.
    pub flags: ObjectFlags,
    /// Fields in describe order.
    pub fields: Vec<FieldDef>,
    /// Storage column kinds, indexed by column.
    pub columns: Vec<ColKind>,
    /// Record types (empty when the object has none).
    pub record_types: Vec<RecordTypeDef>,
    /// Child relationships (filled when the schema is assembled).
    pub children: Vec<ChildRel>,
    /// Lower-cased field name → index.
    pub field_index: HashMap<String, usize>,
    /// Lower-cased relationship name → reference field index.
    pub rel_index: HashMap<String, usize>,
    /// Child relationship name (lower case) → index into `children`.
    pub child_rel_index: HashMap<String, usize>,
}

impl ObjectDef {
    /// The field named `name` (case-insensitive).
    pub fn field(&self, name: &str) -> Option<usize> {
        self.field_index.get(&name.to_ascii_lowercase()).copied()
    }

    /// The key prefix as text.
    pub fn prefix_str(&self) -> &str {
        std::str::from_utf8(&self.key_prefix).unwrap_or("000")
    }

    /// Index of the `Name`-like field, if any.
    pub fn name_field(&self) -> Option<usize> {
        self.fields.iter().position(|f| f.name_field)
    }

    /// Index of a field by exact system role.
    pub fn sys_field(&self, sys: SysField) -> Option<usize> {
        self.fields
            .iter()
            .position(|f| matches!(f.storage, Storage::System(s) if s == sys))
    }
}

/// The whole org schema.
#[derive(Debug)]
pub struct Schema {
    /// Objects, in a fixed order (the table index).
    pub objects: Vec<ObjectDef>,
    by_name: HashMap<String, usize>,
    by_prefix: HashMap<[u8; 3], usize>,
}

impl Schema {
    /// The emulator's standard + custom objects.
    pub fn build() -> Self {
        let mut objects = standard::objects();
        objects.extend(custom::objects());
        Self::assemble(objects)
    }

    fn assemble(mut objects: Vec<ObjectDef>) -> Self {
        let by_name: HashMap<String, usize> = objects
            .iter()
            .enumerate()
            .map(|(i, o)| (o.name.to_ascii_lowercase(), i))
            .collect();
        let by_prefix = objects
            .iter()
            .enumerate()
            .map(|(i, o)| (o.key_prefix, i))
            .collect();
        let mut rels: Vec<(usize, ChildRel)> = Vec::new();
        for (ci, o) in objects.iter().enumerate() {
            for (fi, f) in o.fields.iter().enumerate() {
                if f.ftype != FieldType::Reference {
                    continue;
                }
                for target in &f.reference_to {
                    if let Some(&pi) = by_name.get(&target.to_ascii_lowercase()) {
                        rels.push((
                            pi,
                            ChildRel {
                                child: ci,
                                field: fi,
                                name: child_relationship_name(o, f),
                            },
                        ));
                    }
                }
            }
        }
        for (pi, rel) in rels {
            let p = &mut objects[pi];
            if let Some(n) = &rel.name {
                p.child_rel_index
                    .insert(n.to_ascii_lowercase(), p.children.len());
            }
            p.children.push(rel);
        }
        Self {
            objects,
            by_name,
            by_prefix,
        }
    }

    /// The object named `name` (case-insensitive).
    pub fn object(&self, name: &str) -> Option<usize> {
        self.by_name.get(&name.to_ascii_lowercase()).copied()
    }

    /// The object whose ids start with `prefix`.
    pub fn by_prefix(&self, prefix: &[u8; 3]) -> Option<usize> {
        self.by_prefix.get(prefix).copied()
    }

    /// A stable fingerprint of the schema's shape, stored with persisted orgs so a binary
    /// with a different schema refuses to load them instead of misreading columns.
    pub fn fingerprint(&self) -> u64 {
        let mut s = String::new();
        for o in &self.objects {
            s.push_str(&o.name);
            for f in &o.fields {
                s.push(':');
                s.push_str(&f.name);
                s.push_str(f.ftype.api_name());
            }
            s.push(';');
        }
        super::rng::hash_str(&s)
    }
}

/// The parent-side name of a child relationship (`Contacts` for Contact.AccountId).
fn child_relationship_name(child: &ObjectDef, f: &FieldDef) -> Option<String> {
    let rel = f.relationship_name.as_deref()?;
    if child.custom || f.custom {
        // Custom relationships: plural label without spaces + `__r`.
        let base = child.label_plural.replace(' ', "_");
        return Some(format!("{base}__r"));
    }
    // Standard relationships are named after the child's plural (Contacts, Opportunities);
    // polymorphic or secondary ones get a qualified name so they stay unique.
    let plural = child.label_plural.replace(' ', "");
    match (child.name.as_str(), rel) {
        ("Contact", "ReportsTo") => None,
        ("Account", "Parent") => Some("ChildAccounts".into()),
        (_, "Owner" | "CreatedBy" | "LastModifiedBy" | "RecordType" | "Manager") => None,
        _ => Some(plural),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_assembles_with_unique_names_and_prefixes() {
        let s = Schema::build();
        let mut prefixes: Vec<_> = s.objects.iter().map(|o| o.key_prefix).collect();
        prefixes.sort();
        prefixes.dedup();
        assert_eq!(prefixes.len(), s.objects.len());
        let account = &s.objects[s.object("account").unwrap()];
        assert_eq!(account.prefix_str(), "001");
        assert!(
            account
                .children
                .iter()
                .any(|c| c.name.as_deref() == Some("Contacts"))
        );
        let contact = &s.objects[s.object("Contact").unwrap()];
        let acc_id = &contact.fields[contact.field("accountid").unwrap()];
        assert_eq!(acc_id.relationship_name.as_deref(), Some("Account"));
        assert_eq!(
            contact.rel_index.get("account"),
            contact.field("AccountId").as_ref()
        );
        for o in &s.objects {
            assert_eq!(o.fields[0].name, "Id", "{} starts with Id", o.name);
            for f in &o.fields {
                if let Storage::Column(c) = f.storage {
                    assert_eq!(o.columns[c], f.ftype.col_kind(), "{}.{}", o.name, f.name);
                }
            }
        }
    }
}
