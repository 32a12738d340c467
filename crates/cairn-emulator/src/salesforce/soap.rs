//! The SOAP partner API subset a backup product needs: `undelete` (the only way to bring
//! records back from the recycle bin with their ids), `emptyRecycleBin`,
//! `getServerTimestamp` and `getUserInfo`, plus the envelope and fault plumbing the
//! Metadata API shares.
//!
//! Envelopes are matched by local element names; the session travels in
//! `SessionHeader/sessionId`; faults are HTTP 500 with `faultcode` `sf:CODE`.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::api;
use super::clock::format_datetime;
use super::rest::write;
use super::state::{Shared, parse_version};
use super::store::{IdError, RecRef, USER_TABLE};
use super::write::RecordError;
use super::xml::{self, Node, el, esc};

/// The partner namespace.
pub const PARTNER_NS: &str = "urn:partner.soap.sforce.com";

/// A full SOAP envelope around `body` with the API usage header.
pub fn envelope(ns: &str, usage: (u64, u64), body: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" xmlns=\"{ns}\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"><soapenv:Header><LimitInfoHeader><limitInfo><current>{}</current><limit>{}</limit><type>API REQUESTS</type></limitInfo></LimitInfoHeader></soapenv:Header><soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>",
        usage.0, usage.1
    )
}

/// A SOAP fault response (HTTP 500).
pub fn fault(fault_ns: &str, code: &str, message: &str) -> Response {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" xmlns:sf=\"{fault_ns}\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"><soapenv:Body><soapenv:Fault><faultcode>sf:{code}</faultcode><faultstring>{}</faultstring><detail><sf:UnexpectedErrorFault xsi:type=\"sf:UnexpectedErrorFault\"><sf:exceptionCode>{code}</sf:exceptionCode><sf:exceptionMessage>{}</sf:exceptionMessage></sf:UnexpectedErrorFault></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>",
        esc(&format!("{code}: {message}")),
        esc(message)
    );
    xml_response(StatusCode::INTERNAL_SERVER_ERROR, body)
}

/// A `text/xml` response.
pub fn xml_response(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/xml;charset=UTF-8")],
        body,
    )
        .into_response()
}

/// What every SOAP call does first: parse, authenticate, count.
pub struct SoapCall {
    /// The operation element (first child of Body).
    pub op: Node,
    /// The whole envelope.
    pub root: Node,
    /// Session user.
    pub user: u32,
    /// API version of the endpoint.
    pub version: u32,
    /// Emulated time.
    pub now: i64,
}

/// Parses and authenticates a SOAP request; `Err` is the fault to send back.
pub async fn begin(
    em: &Shared,
    version: &str,
    body: &[u8],
    fault_ns: &str,
    endpoint: &str,
) -> Result<SoapCall, Response> {
    let now = em.now();
    let version = parse_version(&format!("v{version}"))
        .or_else(|| parse_version(&format!("v{version}.0")))
        .ok_or_else(|| {
            fault(
                fault_ns,
                "UNSUPPORTED_API_VERSION",
                &format!("Invalid Api version specified on URL: {version}"),
            )
        })?;
    let root = xml::parse(body).map_err(|e| fault(fault_ns, "INVALID_XML", &e))?;
    let op = root
        .find("Body")
        .and_then(|b| b.children.first())
        .cloned()
        .ok_or_else(|| {
            fault(
                fault_ns,
                "INVALID_XML",
                "SOAP Body is missing an operation element",
            )
        })?;
    let session = root
        .find("SessionHeader")
        .and_then(|h| h.child_text("sessionId"))
        .map(str::to_owned);
    let user = api::authenticate(em, session.as_deref(), now).map_err(|_| {
        fault(fault_ns, "INVALID_SESSION_ID", "Invalid Session ID found in SessionHeader: Illegal Session. Session not found, missing session hash")
    })?;
    api::account(em, &format!("{endpoint}.{}", op.name), now).map_err(|_| {
        fault(
            fault_ns,
            "REQUEST_LIMIT_EXCEEDED",
            "TotalRequests Limit exceeded.",
        )
    })?;
    if let Err(e) = api::inject(em, &format!("/soap/{}", op.name)).await {
        let item = &e.items[0];
        return Err(fault(fault_ns, &item.error_code, &item.message));
    }
    Ok(SoapCall {
        op,
        root,
        user,
        version,
        now,
    })
}

/// Current usage for the LimitInfoHeader.
pub fn usage(em: &Shared, now: i64) -> (u64, u64) {
    let mut u = em.usage.lock();
    (u.used(now), u.max)
}

fn error_xml(e: &RecordError) -> String {
    let fields: String = e.fields.iter().map(|f| el("fields", f)).collect();
    format!(
        "<errors>{fields}{}{}</errors>",
        el("message", &e.message),
        el("statusCode", &e.code)
    )
}

fn id_results(ids: &[String], results: Vec<Result<(), RecordError>>) -> String {
    ids.iter()
        .zip(results)
        .map(|(id, r)| match r {
            Ok(()) => format!("<result>{}<success>true</success></result>", el("id", id)),
            Err(e) => format!(
                "<result>{}{}<success>false</success></result>",
                error_xml(&e),
                el("id", id)
            ),
        })
        .collect()
}

/// `POST /services/Soap/u/{version}`.
pub async fn partner(
    State(em): State<Shared>,
    Path(version): Path<String>,
    _headers: HeaderMap,
    body: Bytes,
) -> Response {
    let fault_ns = "urn:fault.partner.soap.sforce.com";
    let call = match begin(&em, &version, &body, fault_ns, "soap").await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let all_or_none = call
        .root
        .find("AllOrNoneHeader")
        .and_then(|h| h.child_text("allOrNone"))
        .is_some_and(|v| v == "true");
    let body = match call.op.name.as_str() {
        "undelete" | "emptyRecycleBin" => {
            let ids: Vec<String> = call
                .op
                .children_named("ids")
                .map(|n| n.text.clone())
                .collect();
            if ids.len() > 200 {
                return fault(
                    fault_ns,
                    "EXCEEDED_ID_LIMIT",
                    "record limit reached: more than 200 ids",
                );
            }
            let undelete = call.op.name == "undelete";
            let ctx = api::Ctx {
                user: call.user,
                version: call.version,
                now: call.now,
                undo_sink: None,
            };
            let results = write(&em, &ctx, "/soap/undelete", |txn| {
                let sp = txn.savepoint();
                let resolved: Vec<Result<RecRef, RecordError>> = ids
                    .iter()
                    .map(|id| match txn.org.resolve_id(id) {
                        Ok(r) => Ok(r),
                        Err(IdError::Malformed) => Err(RecordError::new(
                            "MALFORMED_ID",
                            format!("malformed id {id}"),
                        )),
                        Err(IdError::NotFound) => {
                            Err(RecordError::new("INVALID_ID_FIELD", "invalid record id"))
                        }
                    })
                    .collect();
                let targets: Vec<RecRef> = resolved
                    .iter()
                    .filter_map(|r| r.as_ref().ok().copied())
                    .collect();
                let mut done = if undelete {
                    txn.undelete(&targets)
                } else {
                    targets
                        .iter()
                        .map(|r| {
                            if txn.org.state(*r) == super::store::RowState::Deleted {
                                txn.hard_delete(&[*r]).remove(0)
                            } else {
                                Err(RecordError::new(
                                    "INVALID_ID_FIELD",
                                    "Entity is not in the recycle bin",
                                ))
                            }
                        })
                        .collect()
                }
                .into_iter();
                let results: Vec<Result<(), RecordError>> = resolved
                    .into_iter()
                    .map(|r| match r {
                        Ok(_) => done.next().unwrap_or(Ok(())),
                        Err(e) => Err(e),
                    })
                    .collect();
                if all_or_none && results.iter().any(Result::is_err) {
                    txn.rollback_to(sp);
                    return results
                        .into_iter()
                        .map(|r| r.and(Err(RecordError::new("ALL_OR_NONE_OPERATION_ROLLED_BACK", "Record rolled back because not all records were valid and the request was using AllOrNone header"))))
                        .collect();
                }
                results
            });
            format!(
                "<{0}Response>{1}</{0}Response>",
                call.op.name,
                id_results(&ids, results)
            )
        }
        "getServerTimestamp" => format!(
            "<getServerTimestampResponse><result>{}</result></getServerTimestampResponse>",
            el(
                "timestamp",
                &format_datetime(call.now).replace("+0000", "Z")
            )
        ),
        "getUserInfo" => {
            let org = em.data.read();
            let r = RecRef {
                obj: USER_TABLE as u32,
                row: call.user,
            };
            let def = &org.schema.objects[USER_TABLE];
            let get = |f: &str| {
                def.field(f)
                    .and_then(|fi| org.read(r, fi, 0).as_str().map(str::to_owned))
                    .unwrap_or_default()
            };
            format!(
                "<getUserInfoResponse><result>{}{}{}{}{}{}</result></getUserInfoResponse>",
                el("organizationId", &org.org_id),
                el("organizationName", &em.org_name),
                el("userEmail", &get("Email")),
                el("userFullName", &get("Name")),
                el("userId", &org.id_of(r)),
                el("userName", &get("Username"))
            )
        }
        other => {
            return fault(
                fault_ns,
                "INVALID_OPERATION",
                &format!("The operation {other} is not supported by this emulator"),
            );
        }
    };
    xml_response(
        StatusCode::OK,
        envelope(PARTNER_NS, usage(&em, call.now), &body),
    )
}
