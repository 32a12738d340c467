//! describeGlobal and sObject describe, with the key sets of real responses (keys in
//! alphabetical order, as Salesforce returns them). Describes honour
//! `If-Modified-Since` with `304 Not Modified`: the schema only changes when the org
//! settings that affect createability do.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::salesforce::api::{ApiError, ApiResult, Ctx, Req, Resp};
use crate::salesforce::clock::{DAY_MS, days_from_civil};
use crate::salesforce::schema::{FieldDef, FieldType, ObjectDef, OnDelete};
use crate::salesforce::state::Shared;
use crate::salesforce::store::{FieldVal, OrgData, RecRef};

/// The master record type id every org shares.
pub const MASTER_RECORD_TYPE: &str = "012000000000000AAA";

fn urls(o: &ObjectDef, vpath: &str) -> Value {
    let base = format!("{vpath}/sobjects/{}", o.name);
    json!({
        "compactLayouts": format!("{base}/describe/compactLayouts"),
        "defaultValues": format!("{base}/defaultValues?recordTypeId&fields"),
        "describe": format!("{base}/describe"),
        "layouts": format!("{base}/describe/layouts"),
        "listviews": format!("{base}/listviews"),
        "quickActions": format!("{base}/quickActions"),
        "rowTemplate": format!("{base}/{{ID}}"),
        "sobject": base,
    })
}

fn global_entry(o: &ObjectDef, vpath: &str) -> Value {
    let f = &o.flags;
    json!({
        "activateable": false,
        "associateEntityType": null,
        "associateParentEntity": null,
        "createable": f.createable,
        "custom": o.custom,
        "customSetting": false,
        "deepCloneable": false,
        "deletable": f.deletable,
        "deprecatedAndHidden": false,
        "feedEnabled": false,
        "hasSubtypes": false,
        "isInterface": false,
        "isSubtype": false,
        "keyPrefix": o.prefix_str(),
        "label": o.label,
        "labelPlural": o.label_plural,
        "layoutable": true,
        "mergeable": f.mergeable,
        "mruEnabled": true,
        "name": o.name,
        "queryable": true,
        "replicateable": f.replicateable,
        "retrieveable": true,
        "searchable": !f.setup,
        "triggerable": f.triggerable,
        "undeletable": f.undeletable,
        "updateable": f.updateable,
        "urls": urls(o, vpath),
    })
}

/// Seconds since the epoch of an HTTP date (`Sun, 06 Nov 1994 08:49:37 GMT`).
fn parse_http_date(s: &str) -> Option<i64> {
    let parts: Vec<&str> = s.split_whitespace().collect();
    let [_, day, mon, year, time, _] = parts.as_slice() else {
        return None;
    };
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    .iter()
    .position(|m| m.eq_ignore_ascii_case(mon))? as u32
        + 1;
    let mut hms = time.split(':').map(|p| p.parse::<i64>().ok());
    let (h, m, sec) = (hms.next()??, hms.next()??, hms.next()??);
    let days = days_from_civil(year.parse().ok()?, month, day.parse().ok()?);
    Some(days * DAY_MS + (h * 3600 + m * 60 + sec) * 1000)
}

fn not_modified(em: &Shared, req: &Req) -> bool {
    let changed = em.data.read().describe_changed_at;
    req.header("if-modified-since")
        .and_then(parse_http_date)
        .is_some_and(|since| since >= changed)
}

/// `GET …/sobjects/`.
pub fn global(em: &Shared, ctx: &Ctx, req: &Req) -> ApiResult {
    if req.method != axum::http::Method::GET {
        return Err(ApiError::method(req.method.as_str()));
    }
    if not_modified(em, req) {
        return Ok(Resp::empty(StatusCode::NOT_MODIFIED));
    }
    let org = em.data.read();
    let vpath = ctx.vpath();
    let list: Vec<Value> = org
        .schema
        .objects
        .iter()
        .map(|o| global_entry(o, &vpath))
        .collect();
    Ok(Resp::json(
        StatusCode::OK,
        &json!({"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": list}),
    ))
}

/// The object describe entry used by `GET …/sobjects/{Obj}`.
pub fn basic_info(org: &OrgData, ctx: &Ctx, obj: usize) -> Value {
    json!({
        "objectDescribe": global_entry(&org.schema.objects[obj], &ctx.vpath()),
        "recentItems": [],
    })
}

/// Looks up an object by name or answers `NOT_FOUND` the way the REST API does.
pub fn object_index(org: &OrgData, name: &str) -> Result<usize, ApiError> {
    org.schema.object(name).ok_or_else(ApiError::not_found)
}

/// `GET …/sobjects/{Obj}/describe`.
pub fn sobject(em: &Shared, ctx: &Ctx, req: &Req, name: &str) -> ApiResult {
    if req.method != axum::http::Method::GET {
        return Err(ApiError::method(req.method.as_str()));
    }
    let org = em.data.read();
    let oi = object_index(&org, name)?;
    if not_modified(em, req) {
        return Ok(Resp::empty(StatusCode::NOT_MODIFIED));
    }
    Ok(Resp::json(StatusCode::OK, &describe(&org, ctx, oi)))
}

/// The full describe of object `oi`.
pub fn describe(org: &OrgData, ctx: &Ctx, oi: usize) -> Value {
    let o = &org.schema.objects[oi];
    let vpath = ctx.vpath();
    let fields: Vec<Value> = o.fields.iter().map(|f| field_json(org, f)).collect();
    let children: Vec<Value> = o
        .children
        .iter()
        .map(|c| {
            let child = &org.schema.objects[c.child];
            let f = &child.fields[c.field];
            json!({
                "cascadeDelete": f.on_delete == OnDelete::Cascade,
                "childSObject": child.name,
                "deprecatedAndHidden": false,
                "field": f.name,
                "junctionIdListNames": [],
                "junctionReferenceTo": [],
                "relationshipName": c.name,
                "restrictedDelete": f.on_delete == OnDelete::Restrict && f.custom,
            })
        })
        .collect();
    let mut rts: Vec<Value> = Vec::new();
    for (k, rt) in o.record_types.iter().enumerate() {
        let id = record_type(org, &o.name, &rt.developer_name).map(|r| org.id_of(r));
        rts.push(json!({
            "active": true,
            "available": true,
            "defaultRecordTypeMapping": k == 0,
            "developerName": rt.developer_name,
            "master": false,
            "name": rt.name,
            "recordTypeId": id,
            "urls": {"layout": format!("{vpath}/sobjects/{}/describe/layouts/{}", o.name, id.clone().unwrap_or_default())},
        }));
    }
    rts.push(json!({
        "active": true,
        "available": true,
        "defaultRecordTypeMapping": o.record_types.is_empty(),
        "developerName": "Master",
        "master": true,
        "name": "Master",
        "recordTypeId": MASTER_RECORD_TYPE,
        "urls": {"layout": format!("{vpath}/sobjects/{}/describe/layouts/{MASTER_RECORD_TYPE}", o.name)},
    }));
    let f = &o.flags;
    json!({
        "actionOverrides": [],
        "activateable": false,
        "childRelationships": children,
        "compactLayoutable": true,
        "createable": f.createable,
        "custom": o.custom,
        "customSetting": false,
        "deepCloneable": false,
        "defaultImplementation": null,
        "deletable": f.deletable,
        "deprecatedAndHidden": false,
        "extendedBy": null,
        "extendsInterfaces": null,
        "feedEnabled": false,
        "fields": fields,
        "hasSubtypes": false,
        "implementedBy": null,
        "implementsInterfaces": null,
        "isInterface": false,
        "isSubtype": false,
        "keyPrefix": o.prefix_str(),
        "label": o.label,
        "labelPlural": o.label_plural,
        "layoutable": true,
        "listviewable": null,
        "lookupLayoutable": null,
        "mergeable": f.mergeable,
        "mruEnabled": true,
        "name": o.name,
        "namedLayoutInfos": [],
        "networkScopeFieldName": null,
        "queryable": true,
        "recordTypeInfos": rts,
        "replicateable": f.replicateable,
        "retrieveable": true,
        "searchLayoutable": true,
        "searchable": !f.setup,
        "sobjectDescribeOption": "FULL",
        "supportedScopes": [{"label": "All", "name": "everything"}],
        "triggerable": f.triggerable,
        "undeletable": f.undeletable,
        "updateable": f.updateable,
        "urls": urls(o, &vpath),
    })
}

/// The record type row of `object` named `developer_name`.
pub fn record_type(org: &OrgData, object: &str, developer_name: &str) -> Option<RecRef> {
    let rt = org.schema.object("RecordType")?;
    let def = &org.schema.objects[rt];
    let (sf, dn) = (def.field("SobjectType")?, def.field("DeveloperName")?);
    (0..org.tables[rt].len() as u32)
        .map(|row| RecRef {
            obj: rt as u32,
            row,
        })
        .find(|&r| {
            matches!(org.read(r, sf, 0), FieldVal::Str(s) if s == object)
                && matches!(org.read(r, dn, 0), FieldVal::Str(s) if s == developer_name)
        })
}

fn field_json(org: &OrgData, f: &FieldDef) -> Value {
    let audit_on = org.settings.audit_fields_on_create;
    let createable = f.createable || (f.audit && audit_on);
    let textual = f.ftype.is_textual();
    let byte_length = match f.ftype {
        FieldType::Id | FieldType::Reference => 18,
        _ if textual => f.length * 3,
        _ => 0,
    };
    let picklist: Vec<Value> = f
        .picklist
        .iter()
        .map(|p| {
            json!({"active": true, "defaultValue": p.default, "label": p.value, "validFor": null, "value": p.value})
        })
        .collect();
    let numeric = matches!(
        f.ftype,
        FieldType::Int | FieldType::Double | FieldType::Currency | FieldType::Percent
    );
    let polymorphic = f.reference_to.len() > 1;
    json!({
        "aggregatable": f.filterable() && f.ftype != FieldType::Boolean,
        "aiPredictionField": false,
        "autoNumber": f.auto_number.is_some(),
        "byteLength": byte_length,
        "calculated": f.calculated,
        "calculatedFormula": if f.calculated { f.formula.clone() } else { None },
        "cascadeDelete": f.master_detail,
        "caseSensitive": false,
        "compoundFieldName": f.compound_field_name,
        "controllerName": null,
        "createable": createable,
        "custom": f.custom,
        "defaultValue": f.default_bool,
        "defaultValueFormula": null,
        "defaultedOnCreate": f.defaulted_on_create,
        "dependentPicklist": false,
        "deprecatedAndHidden": false,
        "digits": if f.ftype == FieldType::Int { 9 } else { 0 },
        "displayLocationInDecimal": false,
        "encrypted": false,
        "externalId": f.external_id,
        "extraTypeInfo": match f.ftype {
            FieldType::TextArea => Some("plaintextarea"),
            FieldType::Reference if f.name == "OwnerId" => None,
            _ => None,
        },
        "filterable": f.filterable(),
        "filteredLookupInfo": null,
        "formulaTreatNullNumberAsZero": false,
        "groupable": f.sortable() && !numeric && f.ftype != FieldType::DateTime,
        "highScaleNumber": false,
        "htmlFormatted": false,
        "idLookup": f.id_lookup || f.ftype == FieldType::Id,
        "inlineHelpText": null,
        "label": f.label,
        "length": if textual || matches!(f.ftype, FieldType::Id | FieldType::Reference) { f.length } else { 0 },
        "mask": null,
        "maskType": null,
        "name": f.name,
        "nameField": f.name_field,
        "namePointing": polymorphic,
        "nillable": f.nillable,
        "permissionable": f.custom && f.nillable && !f.calculated,
        "picklistValues": picklist,
        "polymorphicForeignKey": polymorphic,
        "precision": if numeric && f.ftype != FieldType::Int { f.precision } else { 0 },
        "queryByDistance": false,
        "referenceTargetField": null,
        "referenceTo": f.reference_to,
        "relationshipName": f.relationship_name,
        "relationshipOrder": if f.master_detail { Some(0) } else { None },
        "restrictedDelete": f.on_delete == OnDelete::Restrict && f.custom,
        "restrictedPicklist": f.restricted_picklist,
        "scale": if numeric { f.scale } else { 0 },
        "searchPrefilterable": false,
        "soapType": f.ftype.soap_type(),
        "sortable": f.sortable(),
        "type": f.ftype.api_name(),
        "unique": f.unique,
        "updateable": f.updateable,
        "writeRequiresMasterRead": false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_dates_parse() {
        let ms = parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        assert_eq!(
            crate::salesforce::clock::format_datetime(ms),
            "1994-11-06T08:49:37.000+0000"
        );
        assert!(parse_http_date("yesterday").is_none());
    }
}
