//! The Metadata API SOAP endpoint (`/services/Soap/m/{version}`): `listMetadata`,
//! `describeMetadata`, `retrieve` + `checkRetrieveStatus`, `deploy` +
//! `checkDeployStatus`, `cancelDeploy`, and the REST deploy status resource.
//!
//! Retrieves and deploys run when requested but report `Queued` first, as the real
//! asynchronous calls do; the first status check sees them finished.

use std::collections::{BTreeMap, HashMap};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use base64::Engine;
use serde_json::{Value as Json, json};

use super::deploy::{DeployCtx, DeployOptions, DeployOutcome, deploy, expand_members};
use super::files::{self, NS};
use super::package::{build_zip, package_xml, parse_types};
use crate::salesforce::api::{ApiError, ApiResult, Ctx, Req, Resp};
use crate::salesforce::clock::format_datetime_z;
use crate::salesforce::ids;
use crate::salesforce::soap::{begin, envelope, fault, usage, xml_response};
use crate::salesforce::state::Shared;
use crate::salesforce::store::{RecRef, USER_TABLE};
use crate::salesforce::xml::el;

const FAULT_NS: &str = "http://soap.sforce.com/2006/04/metadata";

/// A finished retrieve.
#[derive(Debug, Clone)]
pub struct RetrieveOut {
    zip: Vec<u8>,
    /// (type, full name, file name, id, modified ms, modified by)
    files: Vec<(String, String, String, String, i64, u32)>,
    messages: Vec<String>,
}

/// A retrieve or deploy job.
#[derive(Debug, Clone)]
pub enum AsyncJob {
    /// Retrieve.
    Retrieve(RetrieveOut),
    /// Deploy.
    Deploy {
        /// Result.
        out: DeployOutcome,
        /// Options it ran with.
        check_only: bool,
        /// Rollback setting.
        rollback_on_error: bool,
        /// Ignore warnings.
        ignore_warnings: bool,
        /// Created (ms).
        created: i64,
        /// Deploying user.
        user: u32,
    },
}

/// Metadata API jobs.
#[derive(Debug, Default)]
pub struct AsyncJobs {
    jobs: HashMap<String, AsyncJob>,
    next: u64,
}

impl AsyncJobs {
    fn add(&mut self, prefix: &str, pod: [u8; 2], job: AsyncJob) -> String {
        self.next += 1;
        let id = ids::encode_counter(prefix, pod, 62u64.pow(6) * 4 + self.next);
        self.jobs.insert(id.clone(), job);
        id
    }
}

fn async_result(id: &str) -> String {
    format!(
        "<result><done>false</done>{}<state>Queued</state></result>",
        el("id", id)
    )
}

/// `POST /services/Soap/m/{version}`.
pub async fn handle(
    State(em): State<Shared>,
    Path(version): Path<String>,
    _headers: HeaderMap,
    body: Bytes,
) -> Response {
    let call = match begin(&em, &version, &body, FAULT_NS, "metadata").await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let op = &call.op;
    let result = match op.name.as_str() {
        "listMetadata" => list_metadata(&em, op),
        "describeMetadata" => Ok(describe_metadata()),
        "retrieve" => retrieve(&em, op, call.version),
        "checkRetrieveStatus" => check_retrieve(&em, op),
        "deploy" => deploy_call(&em, op, call.now, call.user),
        "checkDeployStatus" => check_deploy(&em, op),
        "cancelDeploy" => {
            let id = op
                .child_text("String")
                .or_else(|| op.child_text("asyncProcessId"))
                .unwrap_or("");
            if em.mdapi.lock().jobs.contains_key(id) {
                Ok(format!(
                    "<result><done>true</done>{}</result>",
                    el("id", id)
                ))
            } else {
                Err(("INVALID_ID_FIELD".to_owned(), format!("Invalid id: {id}")))
            }
        }
        other => Err((
            "INVALID_OPERATION".to_owned(),
            format!("The operation {other} is not supported by this emulator"),
        )),
    };
    match result {
        Ok(inner) => xml_response(
            StatusCode::OK,
            envelope(
                NS,
                usage(&em, call.now),
                &format!("<{0}Response>{inner}</{0}Response>", op.name),
            ),
        ),
        Err((code, msg)) => fault(FAULT_NS, &code, &msg),
    }
}

type OpResult = Result<String, (String, String)>;

fn file_name(type_name: &str, full_name: &str) -> String {
    let object = full_name.split('.').next().unwrap_or(full_name);
    match type_name {
        "ApexTrigger" => format!("triggers/{full_name}.trigger"),
        "ApexClass" => format!("classes/{full_name}.cls"),
        "Flow" => format!("flows/{full_name}.flow"),
        "WorkflowRule" => format!("workflows/{object}.workflow"),
        _ => format!("objects/{object}.object"),
    }
}

fn list_metadata(em: &Shared, op: &crate::salesforce::xml::Node) -> OpResult {
    let queries: Vec<String> = op
        .children_named("queries")
        .filter_map(|q| q.child_text("type").map(str::to_owned))
        .collect();
    if queries.len() > 3 {
        return Err((
            "INVALID_CROSS_REFERENCE_KEY".into(),
            "Too many queries: listMetadata accepts up to 3".into(),
        ));
    }
    let org = em.data.read();
    let mut out = String::new();
    for t in queries {
        let entries: Vec<(String, String, i64, i64, u32)> = if t == "CustomObject" {
            org.schema
                .objects
                .iter()
                .map(|o| {
                    (
                        o.name.clone(),
                        o.prefix_str().to_owned(),
                        org.describe_changed_at,
                        org.describe_changed_at,
                        0,
                    )
                })
                .collect()
        } else {
            org.metadata
                .of_type(&t)
                .map(|c| {
                    (
                        c.full_name.clone(),
                        c.id.clone(),
                        c.created,
                        c.modified,
                        c.modified_by,
                    )
                })
                .collect()
        };
        for (full, id, created, modified, by) in entries {
            let user = org.id_of(RecRef {
                obj: USER_TABLE as u32,
                row: by,
            });
            let name = user_name(&org, by);
            out.push_str(&format!(
                "<result>{}{}{}{}{}{}{}{}{}<manageableState>unmanaged</manageableState>{}</result>",
                el("createdById", &user),
                el("createdByName", &name),
                el("createdDate", &format_datetime_z(created)),
                el("fileName", &file_name(&t, &full)),
                el("fullName", &full),
                el("id", &id),
                el("lastModifiedById", &user),
                el("lastModifiedByName", &name),
                el("lastModifiedDate", &format_datetime_z(modified)),
                el("type", &t),
            ));
        }
    }
    Ok(out)
}

fn user_name(org: &crate::salesforce::store::OrgData, row: u32) -> String {
    let def = &org.schema.objects[USER_TABLE];
    def.field("Name")
        .map(|f| {
            org.read(
                RecRef {
                    obj: USER_TABLE as u32,
                    row,
                },
                f,
                0,
            )
        })
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn describe_metadata() -> String {
    let obj = |name: &str, dir: &str, suffix: &str, meta: bool, children: &[&str]| {
        let kids: String = children.iter().map(|c| el("childXmlNames", c)).collect();
        format!(
            "<metadataObjects>{kids}{}<inFolder>false</inFolder><metaFile>{meta}</metaFile>{}{}</metadataObjects>",
            el("directoryName", dir),
            el("suffix", suffix),
            el("xmlName", name)
        )
    };
    format!(
        "<result>{}{}{}{}{}<organizationNamespace></organizationNamespace><partialSaveAllowed>true</partialSaveAllowed><testRequired>false</testRequired></result>",
        obj("ApexClass", "classes", "cls", true, &[]),
        obj("ApexTrigger", "triggers", "trigger", true, &[]),
        obj(
            "CustomObject",
            "objects",
            "object",
            false,
            &["CustomField", "ValidationRule", "RecordType"]
        ),
        obj("Flow", "flows", "flow", false, &[]),
        obj(
            "Workflow",
            "workflows",
            "workflow",
            false,
            &["WorkflowFieldUpdate", "WorkflowRule"]
        ),
    )
}

fn retrieve(em: &Shared, op: &crate::salesforce::xml::Node, version: u32) -> OpResult {
    let req = op.child("retrieveRequest").ok_or((
        "INVALID_XML".to_owned(),
        "retrieveRequest is required".to_owned(),
    ))?;
    let single = req.child_text("singlePackage") != Some("false");
    let api = req
        .child_text("apiVersion")
        .map_or_else(|| format!("{version}.0"), str::to_owned);
    let requested = req.child("unpackaged").map(parse_types).unwrap_or_default();
    if requested.is_empty() && req.child("specificFiles").is_none() {
        return Err((
            "INVALID_CROSS_REFERENCE_KEY".into(),
            "Either unpackaged or specificFiles must be set".into(),
        ));
    }
    let org = em.data.read();
    let (types, messages) = expand_members(&org.metadata, &org.schema, &requested);
    let mut comps = Vec::new();
    let mut objects = Vec::new();
    let mut props = Vec::new();
    for (t, members) in &types {
        for m in members {
            if t == "CustomObject" {
                if let Some(i) = org.schema.object(m) {
                    objects.push(&org.schema.objects[i]);
                    props.push((
                        t.clone(),
                        m.clone(),
                        file_name(t, m),
                        org.schema.objects[i].prefix_str().to_owned(),
                        org.describe_changed_at,
                        0,
                    ));
                }
            } else if let Some(c) = org.metadata.get(t, m) {
                comps.push(c);
                props.push((
                    t.clone(),
                    c.full_name.clone(),
                    file_name(t, &c.full_name),
                    c.id.clone(),
                    c.modified,
                    c.modified_by,
                ));
            }
        }
    }
    let mut file_list = files::render(&comps, &objects);
    file_list.push(("package.xml".into(), package_xml(&types, &api)));
    file_list.sort();
    let zip = build_zip(&file_list, single).map_err(|e| ("UNKNOWN_EXCEPTION".to_owned(), e))?;
    let pod = org.pod;
    drop(org);
    let id = em.mdapi.lock().add(
        "09S",
        pod,
        AsyncJob::Retrieve(RetrieveOut {
            zip,
            files: props,
            messages,
        }),
    );
    Ok(async_result(&id))
}

fn check_retrieve(em: &Shared, op: &crate::salesforce::xml::Node) -> OpResult {
    let id = op.child_text("asyncProcessId").unwrap_or("");
    let include_zip = op.child_text("includeZip") != Some("false");
    let jobs = em.mdapi.lock();
    let Some(AsyncJob::Retrieve(r)) = jobs.jobs.get(id) else {
        return Err((
            "INVALID_ID_FIELD".into(),
            format!("Retrieve result has been deleted or the id is invalid: {id}"),
        ));
    };
    let org = em.data.read();
    let mut x = String::from("<result><done>true</done>");
    for (t, full, file, cid, modified, by) in &r.files {
        let user = org.id_of(RecRef {
            obj: USER_TABLE as u32,
            row: *by,
        });
        let name = user_name(&org, *by);
        x.push_str(&format!(
            "<fileProperties>{}{}{}{}{}{}{}{}{}<manageableState>unmanaged</manageableState>{}</fileProperties>",
            el("createdById", &user),
            el("createdByName", &name),
            el("createdDate", &format_datetime_z(*modified)),
            el("fileName", file),
            el("fullName", full),
            el("id", cid),
            el("lastModifiedById", &user),
            el("lastModifiedByName", &name),
            el("lastModifiedDate", &format_datetime_z(*modified)),
            el("type", t),
        ));
    }
    x.push_str(&el("id", id));
    for m in &r.messages {
        x.push_str(&format!(
            "<messages>{}{}</messages>",
            el("fileName", "unpackaged/package.xml"),
            el("problem", m)
        ));
    }
    x.push_str("<status>Succeeded</status><success>true</success>");
    if include_zip {
        x.push_str(&el(
            "zipFile",
            &base64::engine::general_purpose::STANDARD.encode(&r.zip),
        ));
    }
    x.push_str("</result>");
    Ok(x)
}

fn deploy_call(em: &Shared, op: &crate::salesforce::xml::Node, now: i64, user: u32) -> OpResult {
    let zip_b64 = op
        .child_text("ZipFile")
        .ok_or(("INVALID_XML".to_owned(), "ZipFile is required".to_owned()))?;
    let zip = base64::engine::general_purpose::STANDARD
        .decode(zip_b64.split_whitespace().collect::<String>())
        .map_err(|_| {
            (
                "INVALID_ZIP".to_owned(),
                "ZipFile is not valid base64".to_owned(),
            )
        })?;
    let opts = DeployOptions::from_node(op.child("DeployOptions"));
    let mut org = em.data.write();
    let schema = org.schema.clone();
    let dc = DeployCtx {
        is_sandbox: org.settings.is_sandbox,
        now,
        user,
        pod: org.pod,
    };
    let out = deploy(&mut org.metadata, &schema, &zip, &opts, dc);
    let pod = org.pod;
    drop(org);
    em.touch();
    let id = em.mdapi.lock().add(
        "0Af",
        pod,
        AsyncJob::Deploy {
            out,
            check_only: opts.check_only,
            rollback_on_error: opts.rollback_on_error,
            ignore_warnings: opts.ignore_warnings,
            created: now,
            user,
        },
    );
    Ok(async_result(&id))
}

fn message_xml(m: &super::deploy::DeployMessage, created: i64) -> String {
    let mut x = format!(
        "<changed>{}</changed>{}<created>{}</created>{}<deleted>false</deleted>{}{}",
        m.changed && m.success,
        el("componentType", &m.component_type),
        m.created && m.success,
        el("createdDate", &format_datetime_z(created)),
        el("fileName", &m.file_name),
        el("fullName", &m.full_name),
    );
    if !m.id.is_empty() {
        x.push_str(&el("id", &m.id));
    }
    if let Some(p) = &m.problem {
        x.push_str(&el("problem", p));
        x.push_str("<problemType>Error</problemType>");
    }
    x.push_str(&format!("<success>{}</success>", m.success));
    x
}

fn check_deploy(em: &Shared, op: &crate::salesforce::xml::Node) -> OpResult {
    let id = op.child_text("asyncProcessId").unwrap_or("");
    let include = op.child_text("includeDetails") == Some("true");
    let jobs = em.mdapi.lock();
    let Some(AsyncJob::Deploy {
        out,
        check_only,
        rollback_on_error,
        ignore_warnings,
        created,
        user,
    }) = jobs.jobs.get(id)
    else {
        return Err((
            "INVALID_ID_FIELD".into(),
            format!("Invalid deploy id: {id}"),
        ));
    };
    let org = em.data.read();
    let by = org.id_of(RecRef {
        obj: USER_TABLE as u32,
        row: *user,
    });
    let ok = out
        .messages
        .iter()
        .filter(|m| m.success && !m.component_type.is_empty())
        .count();
    let errors = out.messages.iter().filter(|m| !m.success).count();
    let when = format_datetime_z(*created);
    let mut x = format!(
        "<result><checkOnly>{check_only}</checkOnly>{}{}{}{}",
        el("completedDate", &when),
        el("createdBy", &by),
        el("createdByName", &user_name(&org, *user)),
        el("createdDate", &when),
    );
    if include {
        x.push_str("<details>");
        for m in &out.messages {
            let tag = if m.success {
                "componentSuccesses"
            } else {
                "componentFailures"
            };
            x.push_str(&format!("<{tag}>{}</{tag}>", message_xml(m, *created)));
        }
        x.push_str(&format!(
            "<runTestResult><numFailures>0</numFailures><numTestsRun>{}</numTestsRun><totalTime>0.0</totalTime></runTestResult></details>",
            out.tests
        ));
    }
    x.push_str("<done>true</done>");
    if let Some((code, msg)) = &out.error {
        x.push_str(&el("errorMessage", msg));
        x.push_str(&el("errorStatusCode", code));
    }
    x.push_str(&format!(
        "{}<ignoreWarnings>{ignore_warnings}</ignoreWarnings>{}<numberComponentErrors>{errors}</numberComponentErrors><numberComponentsDeployed>{}</numberComponentsDeployed><numberComponentsTotal>{}</numberComponentsTotal><numberTestErrors>0</numberTestErrors><numberTestsCompleted>{}</numberTestsCompleted><numberTestsTotal>{}</numberTestsTotal><rollbackOnError>{rollback_on_error}</rollbackOnError><runTestsEnabled>{}</runTestsEnabled>{}{}<success>{}</success></result>",
        el("id", id),
        el("lastModifiedDate", &when),
        if out.status == "Failed" { 0 } else { ok },
        ok + errors,
        out.tests,
        out.tests,
        out.run_tests_enabled,
        el("startDate", &when),
        el("status", out.status),
        out.status != "Failed",
    ));
    Ok(x)
}

/// `GET /services/data/vXX.X/metadata/deployRequest/{id}?includeDetails=true`.
pub fn deploy_request_rest(em: &Shared, _ctx: &Ctx, req: &Req, id: &str) -> ApiResult {
    let include = req.param("includeDetails") == Some("true");
    let jobs = em.mdapi.lock();
    let Some(AsyncJob::Deploy {
        out,
        check_only,
        rollback_on_error,
        ignore_warnings,
        created,
        user,
    }) = jobs.jobs.get(id)
    else {
        return Err(ApiError::not_found());
    };
    let org = em.data.read();
    let when = crate::salesforce::clock::format_datetime(*created);
    let msgs = |success: bool| -> Vec<Json> {
        out.messages
            .iter()
            .filter(|m| m.success == success)
            .map(|m| {
                json!({"changed": m.changed && m.success, "componentType": m.component_type, "created": m.created && m.success,
                       "createdDate": when, "deleted": false, "fileName": m.file_name, "fullName": m.full_name,
                       "id": if m.id.is_empty() { None } else { Some(&m.id) }, "problem": m.problem,
                       "problemType": m.problem.as_ref().map(|_| "Error"), "success": m.success})
            })
            .collect()
    };
    let ok = out
        .messages
        .iter()
        .filter(|m| m.success && !m.component_type.is_empty())
        .count();
    let errors = out.messages.iter().filter(|m| !m.success).count();
    let mut result = json!({
        "id": id, "checkOnly": check_only, "completedDate": when, "createdBy": org.id_of(RecRef { obj: USER_TABLE as u32, row: *user }),
        "createdByName": user_name(&org, *user), "createdDate": when, "done": true,
        "errorMessage": out.error.as_ref().map(|e| &e.1), "errorStatusCode": out.error.as_ref().map(|e| &e.0),
        "ignoreWarnings": ignore_warnings, "lastModifiedDate": when, "numberComponentErrors": errors,
        "numberComponentsDeployed": if out.status == "Failed" { 0 } else { ok }, "numberComponentsTotal": ok + errors,
        "numberTestErrors": 0, "numberTestsCompleted": out.tests, "numberTestsTotal": out.tests,
        "rollbackOnError": rollback_on_error, "runTestsEnabled": out.run_tests_enabled, "startDate": when,
        "status": out.status, "success": out.status != "Failed",
    });
    if include && let Some(m) = result.as_object_mut() {
        m.insert(
            "details".into(),
            json!({"componentSuccesses": msgs(true), "componentFailures": msgs(false)}),
        );
    }
    let mut options = BTreeMap::new();
    options.insert("checkOnly", Json::Bool(*check_only));
    options.insert("rollbackOnError", Json::Bool(*rollback_on_error));
    options.insert("ignoreWarnings", Json::Bool(*ignore_warnings));
    Ok(Resp::json(
        StatusCode::OK,
        &json!({"id": id, "validatedDeployRequestId": null, "deployResult": result, "deployOptions": options}),
    ))
}
