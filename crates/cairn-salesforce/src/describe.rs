//! Discovery (research note §2.2, §2.3): describeGlobal gives the org's objects, of which
//! the backup-eligible ones become entities; an object's describe gives the fields a read
//! selects. The full describe JSON is kept ([`ObjectSchema::describe`]) so a backup can
//! store the schema it was taken with.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::client::{OrgClient, Request};
use crate::error::SalesforceError;

/// One entry of describeGlobal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SObjectInfo {
    /// API name (`Account`, `Foo__c`).
    pub name: String,
    /// Label.
    #[serde(default)]
    pub label: String,
    /// A custom object.
    #[serde(default)]
    pub custom: bool,
    /// Can be queried.
    #[serde(default)]
    pub queryable: bool,
    /// Supports getUpdated / getDeleted (replication).
    #[serde(default)]
    pub replicateable: bool,
    /// Records can be retrieved.
    #[serde(default)]
    pub retrieveable: bool,
    /// Deleted records go to the recycle bin and can be undeleted.
    #[serde(default)]
    pub undeletable: bool,
    /// The 3-character id prefix.
    #[serde(default)]
    pub key_prefix: Option<String>,
}

impl SObjectInfo {
    /// Whether a backup task backs this object up: queryable, retrieveable and
    /// replicateable (getDeleted only works on those), and not one of the derived
    /// families the note says to skip by default (change events, shares, history,
    /// feeds).
    #[must_use]
    pub fn is_backup_eligible(&self) -> bool {
        let derived = ["ChangeEvent", "Share", "History", "Feed"]
            .iter()
            .any(|suffix| self.name.ends_with(suffix));
        self.queryable && self.retrieveable && self.replicateable && !derived
    }
}

/// One field of an object describe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldInfo {
    /// API name.
    pub name: String,
    /// Describe `type` (`id`, `string`, `int`, `double`, `datetime`, `base64`, …).
    #[serde(rename = "type")]
    pub field_type: String,
    /// A formula or roll-up: computed when read, never written.
    #[serde(default)]
    pub calculated: bool,
}

impl FieldInfo {
    /// Compound fields (`BillingAddress`, geolocations) are not selectable in Bulk queries
    /// and duplicate their component fields, which are read instead.
    #[must_use]
    pub fn is_compound(&self) -> bool {
        matches!(self.field_type.as_str(), "address" | "location")
    }

    /// Binary fields: a query returns a URL, the bytes are read as a blob stream.
    #[must_use]
    pub fn is_blob(&self) -> bool {
        self.field_type == "base64"
    }
}

/// What a read needs of an object's describe.
#[derive(Debug, Clone)]
pub struct ObjectSchema {
    /// API name.
    pub name: String,
    /// All fields, in describe order.
    pub fields: Vec<FieldInfo>,
    /// The describe as Salesforce returned it.
    pub describe: Value,
}

impl ObjectSchema {
    /// Builds the schema from a describe answer.
    ///
    /// # Errors
    /// [`SalesforceError::Protocol`] when it has no `name` or `fields`.
    pub fn from_describe(describe: Value) -> Result<Self, SalesforceError> {
        let name = describe["name"]
            .as_str()
            .ok_or_else(|| SalesforceError::protocol("describe", "no name in the describe"))?
            .to_owned();
        let fields: Vec<FieldInfo> = serde_json::from_value(describe["fields"].clone())
            .map_err(|e| SalesforceError::protocol("describe", format!("bad fields: {e}")))?;
        Ok(Self {
            name,
            fields,
            describe,
        })
    }

    /// Whether a field is part of a stored record. Compound fields duplicate their
    /// components. Calculated fields (formulas, roll-ups) are computed at read time and
    /// change without a new `SystemModstamp` (a `TODAY()` formula changes every day, a
    /// cross-object formula when the parent changes), so an incremental backup could
    /// never keep them current; they are not restorable either. Binary fields are read
    /// as blobs.
    #[must_use]
    pub fn is_stored(field: &FieldInfo) -> bool {
        !field.is_compound() && !field.calculated
    }

    /// The fields a record read selects: the stored ones ([`ObjectSchema::is_stored`]);
    /// blob fields only when `with_blobs` (REST returns their URLs; Bulk cannot select
    /// them).
    pub fn selected_fields(&self, with_blobs: bool) -> impl Iterator<Item = &FieldInfo> {
        self.fields
            .iter()
            .filter(move |f| Self::is_stored(f) && (with_blobs || !f.is_blob()))
    }

    /// The type of a field.
    #[must_use]
    pub fn field_type(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|f| f.name == name)
            .map(|f| f.field_type.as_str())
    }

    /// Whether the object has the field.
    #[must_use]
    pub fn has_field(&self, name: &str) -> bool {
        self.fields.iter().any(|f| f.name == name)
    }

    /// Whether any field is binary (such objects are always read with REST).
    #[must_use]
    pub fn has_blobs(&self) -> bool {
        self.fields.iter().any(FieldInfo::is_blob)
    }

    /// Whether records can be read incrementally (a `SystemModstamp` field).
    #[must_use]
    pub fn is_incremental(&self) -> bool {
        self.has_field("SystemModstamp")
    }
}

#[derive(Deserialize)]
struct Global {
    sobjects: Vec<SObjectInfo>,
}

impl OrgClient {
    /// describeGlobal: every object of the org.
    ///
    /// # Errors
    /// API, budget and connection errors.
    pub async fn describe_global(&self) -> Result<Vec<SObjectInfo>, SalesforceError> {
        let global: Global = self.get_json(Request::get(self.data("/sobjects/"))).await?;
        Ok(global.sobjects)
    }

    /// The objects a backup task backs up, sorted by name.
    ///
    /// # Errors
    /// API, budget and connection errors.
    pub async fn backup_objects(&self) -> Result<Vec<SObjectInfo>, SalesforceError> {
        let mut objects: Vec<SObjectInfo> = self
            .describe_global()
            .await?
            .into_iter()
            .filter(SObjectInfo::is_backup_eligible)
            .collect();
        objects.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(objects)
    }

    /// One object's describe.
    ///
    /// # Errors
    /// API errors (`NOT_FOUND` for an unknown object), budget and connection errors.
    pub async fn describe(&self, object: &str) -> Result<ObjectSchema, SalesforceError> {
        check_object_name(object)?;
        let describe: Value = self
            .get_json(Request::get(
                self.data(&format!("/sobjects/{object}/describe/")),
            ))
            .await?;
        ObjectSchema::from_describe(describe)
    }
}

/// Object API names are identifiers (`Foo__c`, `ns__Bar__c`); anything else is refused
/// before it reaches a URL or a SOQL statement.
pub(crate) fn check_object_name(object: &str) -> Result<(), SalesforceError> {
    let ok = !object.is_empty()
        && object.len() <= 120
        && object.as_bytes()[0].is_ascii_alphabetic()
        && object
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(SalesforceError::Config(format!(
            "{object:?} is not a Salesforce object name"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn info(name: &str, replicateable: bool) -> SObjectInfo {
        SObjectInfo {
            name: name.into(),
            label: name.into(),
            custom: false,
            queryable: true,
            replicateable,
            retrieveable: true,
            undeletable: true,
            key_prefix: None,
        }
    }

    #[test]
    fn eligibility_follows_the_note() {
        assert!(info("Account", true).is_backup_eligible());
        assert!(!info("Profile", false).is_backup_eligible());
        assert!(!info("AccountChangeEvent", true).is_backup_eligible());
        assert!(!info("AccountHistory", true).is_backup_eligible());
        let mut not_queryable = info("Account", true);
        not_queryable.queryable = false;
        assert!(!not_queryable.is_backup_eligible());
    }

    #[test]
    fn compound_and_blob_fields_are_left_out_as_needed() {
        let s = ObjectSchema::from_describe(json!({
            "name": "Account",
            "fields": [
                {"name": "Id", "type": "id"},
                {"name": "BillingAddress", "type": "address"},
                {"name": "BillingCity", "type": "string"},
                {"name": "Logo", "type": "base64"},
                {"name": "Age__c", "type": "double", "calculated": true},
            ]
        }))
        .unwrap();
        let rest: Vec<&str> = s.selected_fields(true).map(|f| f.name.as_str()).collect();
        assert_eq!(rest, ["Id", "BillingCity", "Logo"]);
        let bulk: Vec<&str> = s.selected_fields(false).map(|f| f.name.as_str()).collect();
        assert_eq!(bulk, ["Id", "BillingCity"]);
        assert!(s.has_blobs() && !s.is_incremental());
    }

    #[test]
    fn object_names_are_checked() {
        check_object_name("ns__Foo__c").unwrap();
        assert!(check_object_name("Account WHERE").is_err());
        assert!(check_object_name("../x").is_err());
        assert!(check_object_name("").is_err());
    }
}
