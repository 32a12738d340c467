//! The Metadata API (research note §5.1–§5.3, SOAP): `describeMetadata` lists the types,
//! `listMetadata` inventories components, and `retrieve` + `checkRetrieveStatus` fetch
//! them as a zip, which becomes one [`MetadataComponent`] per component — key
//! `type/fullName`, content the component's file (and its `-meta.xml` companion).

use std::io::Read as _;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::Method;

use crate::client::{Body, OrgClient, Request, SESSION_PLACEHOLDER};
use crate::error::SalesforceError;
use crate::record::parse_datetime;
use crate::xml::{Node, esc, parse_xml};

const NS: &str = "http://soap.sforce.com/2006/04/metadata";

/// A metadata type of the org (`describeMetadata`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataType {
    /// `ApexClass`, `CustomObject`, …
    pub xml_name: String,
    /// Folder in a retrieve zip (`classes`).
    pub directory_name: String,
    /// File suffix (`cls`).
    pub suffix: Option<String>,
    /// Folder-based (Report, Dashboard, Document, EmailTemplate): needs folder queries.
    pub in_folder: bool,
    /// Components come with a `-meta.xml` file.
    pub meta_file: bool,
    /// Child types stored inside the parent's file (`CustomField` in `.object`).
    pub child_xml_names: Vec<String>,
}

/// One retrieved component: the item a metadata backup stores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataComponent {
    /// `type/fullName`, e.g. `ApexTrigger/OpportunityTrigger`.
    pub key: String,
    /// Metadata type.
    pub component_type: String,
    /// `fullName`.
    pub full_name: String,
    /// Path in the retrieve zip (`triggers/OpportunityTrigger.trigger`).
    pub file_name: String,
    /// `lastModifiedDate`, epoch ms (the component's version).
    pub last_modified_ms: Option<i64>,
    /// `lastModifiedById`.
    pub last_modified_by: Option<String>,
    /// The file's bytes.
    pub content: Vec<u8>,
    /// The `-meta.xml` companion, for types that have one.
    pub meta: Option<Vec<u8>>,
}

impl OrgClient {
    async fn metadata_call(&self, operation: &str, inner: &str) -> Result<Node, SalesforceError> {
        let envelope = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" xmlns:met=\"{NS}\"><soapenv:Header><met:CallOptions><met:client>cairn</met:client></met:CallOptions><met:SessionHeader><met:sessionId>{SESSION_PLACEHOLDER}</met:sessionId></met:SessionHeader></soapenv:Header><soapenv:Body><met:{operation}>{inner}</met:{operation}></soapenv:Body></soapenv:Envelope>"
        );
        let path = format!("/services/Soap/m/{}", self.config().api_version);
        let req = Request {
            method: Method::POST,
            body: Body::Soap {
                action: operation.to_owned(),
                envelope,
            },
            ..Request::get(path.clone())
        };
        let response = self.send(req).await?;
        let text = response
            .text()
            .await
            .map_err(|source| SalesforceError::Transport {
                path: path.clone(),
                attempts: 1,
                source,
            })?;
        let root = parse_xml(&text).map_err(|e| SalesforceError::Soap {
            operation: operation.to_owned(),
            message: format!("the answer is not XML: {e}"),
        })?;
        root.find(&format!("{operation}Response"))
            .cloned()
            .ok_or_else(|| SalesforceError::Soap {
                operation: operation.to_owned(),
                message: format!("no {operation}Response in the answer"),
            })
    }

    /// The org's metadata types (`describeMetadata`).
    ///
    /// # Errors
    /// SOAP faults, budget and connection errors.
    pub async fn metadata_types(&self) -> Result<Vec<MetadataType>, SalesforceError> {
        let inner = format!(
            "<met:asOfVersion>{}</met:asOfVersion>",
            esc(&self.config().api_version)
        );
        let resp = self.metadata_call("describeMetadata", &inner).await?;
        let result = resp.child("result").cloned().unwrap_or_default();
        Ok(result
            .all("metadataObjects")
            .map(|m| MetadataType {
                xml_name: m.text_of("xmlName").unwrap_or_default().to_owned(),
                directory_name: m.text_of("directoryName").unwrap_or_default().to_owned(),
                suffix: m
                    .text_of("suffix")
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned),
                in_folder: m.text_of("inFolder") == Some("true"),
                meta_file: m.text_of("metaFile") == Some("true"),
                child_xml_names: m.all("childXmlNames").map(|c| c.text.clone()).collect(),
            })
            .filter(|t| !t.xml_name.is_empty())
            .collect())
    }

    /// Inventories the components of `types` (`listMetadata`, three types per call;
    /// folder-based types are skipped: they need per-folder queries). Returns
    /// `(type, fullName, lastModifiedDate)`, sorted.
    ///
    /// # Errors
    /// SOAP faults, budget and connection errors.
    pub async fn list_metadata(
        &self,
        types: &[MetadataType],
    ) -> Result<Vec<(String, String, Option<i64>)>, SalesforceError> {
        let version = esc(&self.config().api_version);
        let wanted: Vec<&MetadataType> = types.iter().filter(|t| !t.in_folder).collect();
        let mut out = Vec::new();
        for batch in wanted.chunks(3) {
            let queries: String = batch
                .iter()
                .map(|t| {
                    format!(
                        "<met:queries><met:type>{}</met:type></met:queries>",
                        esc(&t.xml_name)
                    )
                })
                .collect();
            let inner = format!("{queries}<met:asOfVersion>{version}</met:asOfVersion>");
            let resp = self.metadata_call("listMetadata", &inner).await?;
            for r in resp.all("result") {
                if let (Some(t), Some(full)) = (r.text_of("type"), r.text_of("fullName")) {
                    out.push((
                        t.to_owned(),
                        full.to_owned(),
                        r.text_of("lastModifiedDate").and_then(parse_datetime),
                    ));
                }
            }
        }
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// Retrieves every component of `types` and returns them as components. Members are
    /// named from [`OrgClient::list_metadata`] rather than `*`, which leaves out standard
    /// components such as standard objects (§5.3); retrieves are split to stay under the
    /// 10,000-file limit.
    ///
    /// # Errors
    /// SOAP faults, an unsuccessful retrieve, a bad zip, budget and connection errors.
    pub async fn retrieve_metadata(
        &self,
        types: &[MetadataType],
    ) -> Result<Vec<MetadataComponent>, SalesforceError> {
        const MEMBERS_PER_RETRIEVE: usize = 2_500;
        let inventory = self.list_metadata(types).await?;
        let meta_types: Vec<&str> = types
            .iter()
            .filter(|t| t.meta_file)
            .map(|t| t.xml_name.as_str())
            .collect();
        let mut out = Vec::new();
        for batch in inventory.chunks(MEMBERS_PER_RETRIEVE) {
            out.extend(self.retrieve_members(batch, &meta_types).await?);
        }
        out.sort_by(|a, b| a.key.cmp(&b.key));
        out.dedup_by(|a, b| a.key == b.key);
        Ok(out)
    }

    async fn retrieve_members(
        &self,
        members: &[(String, String, Option<i64>)],
        meta_types: &[&str],
    ) -> Result<Vec<MetadataComponent>, SalesforceError> {
        let version = esc(&self.config().api_version);
        let mut by_type: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
        for (t, full, _) in members {
            by_type.entry(t.as_str()).or_default().push(full.as_str());
        }
        let types: String = by_type
            .iter()
            .map(|(t, names)| {
                let m: String = names
                    .iter()
                    .map(|n| format!("<met:members>{}</met:members>", esc(n)))
                    .collect();
                format!("<met:types>{m}<met:name>{}</met:name></met:types>", esc(t))
            })
            .collect();
        let inner = format!(
            "<met:retrieveRequest><met:apiVersion>{version}</met:apiVersion><met:singlePackage>true</met:singlePackage><met:unpackaged>{types}<met:version>{version}</met:version></met:unpackaged></met:retrieveRequest>"
        );
        let started = self.metadata_call("retrieve", &inner).await?;
        let id = started
            .child("result")
            .and_then(|r| r.text_of("id"))
            .filter(|id| !id.is_empty())
            .ok_or_else(|| SalesforceError::Soap {
                operation: "retrieve".into(),
                message: "no async process id in the answer".into(),
            })?
            .to_owned();
        let result = self.wait_for_retrieve(&id).await?;
        let zip_b64: String = result
            .text_of("zipFile")
            .unwrap_or_default()
            .split_whitespace()
            .collect();
        let zip = STANDARD
            .decode(zip_b64)
            .map_err(|e| SalesforceError::Soap {
                operation: "checkRetrieveStatus".into(),
                message: format!("zipFile is not base64: {e}"),
            })?;
        components_from_zip(&result, &zip, meta_types)
    }

    async fn wait_for_retrieve(&self, id: &str) -> Result<Node, SalesforceError> {
        let policy = &self.config().retry;
        let started = tokio::time::Instant::now();
        let mut attempt = 0u32;
        loop {
            let check = |zip: bool| {
                format!(
                    "<met:asyncProcessId>{}</met:asyncProcessId><met:includeZip>{zip}</met:includeZip>",
                    esc(id)
                )
            };
            let resp = self
                .metadata_call("checkRetrieveStatus", &check(false))
                .await?;
            let result = resp.child("result").cloned().unwrap_or_default();
            if result.text_of("done") == Some("true") {
                let status = result.text_of("status").unwrap_or_default();
                if status != "Succeeded" {
                    return Err(SalesforceError::Soap {
                        operation: "retrieve".into(),
                        message: format!(
                            "retrieve {id} ended {status}: {}",
                            result.text_of("errorMessage").unwrap_or_default()
                        ),
                    });
                }
                let resp = self
                    .metadata_call("checkRetrieveStatus", &check(true))
                    .await?;
                return Ok(resp.child("result").cloned().unwrap_or_default());
            }
            if started.elapsed() > policy.poll_timeout {
                return Err(SalesforceError::Timeout {
                    what: format!("metadata retrieve {id}"),
                    seconds: policy.poll_timeout.as_secs(),
                });
            }
            tokio::time::sleep(policy.poll_wait(attempt)).await;
            attempt += 1;
        }
    }
}

/// Pairs each `fileProperties` entry with its file in the zip.
fn components_from_zip(
    result: &Node,
    zip: &[u8],
    meta_types: &[&str],
) -> Result<Vec<MetadataComponent>, SalesforceError> {
    let bad = |message: String| SalesforceError::Soap {
        operation: "retrieve".into(),
        message,
    };
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip))
        .map_err(|e| bad(format!("the retrieve zip is unreadable: {e}")))?;
    let mut read = |name: &str| -> Result<Option<Vec<u8>>, SalesforceError> {
        let mut file = match archive.by_name(name) {
            Ok(f) => f,
            Err(zip::result::ZipError::FileNotFound) => return Ok(None),
            Err(e) => return Err(bad(format!("{name}: {e}"))),
        };
        let mut out = Vec::with_capacity(usize::try_from(file.size()).unwrap_or(0));
        file.read_to_end(&mut out)
            .map_err(|e| bad(format!("{name}: {e}")))?;
        Ok(Some(out))
    };
    let mut out = Vec::new();
    for p in result.all("fileProperties") {
        let (Some(t), Some(full), Some(file)) = (
            p.text_of("type"),
            p.text_of("fullName"),
            p.text_of("fileName"),
        ) else {
            continue;
        };
        // With singlePackage the zip has no `unpackaged/` prefix; accept both.
        let path = file.strip_prefix("unpackaged/").unwrap_or(file);
        let Some(content) = read(path)? else {
            return Err(bad(format!("{path} is listed but not in the zip")));
        };
        let meta = if meta_types.contains(&t) {
            read(&format!("{path}-meta.xml"))?
        } else {
            None
        };
        out.push(MetadataComponent {
            key: format!("{t}/{full}"),
            component_type: t.to_owned(),
            full_name: full.to_owned(),
            file_name: path.to_owned(),
            last_modified_ms: p.text_of("lastModifiedDate").and_then(parse_datetime),
            last_modified_by: p
                .text_of("lastModifiedById")
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
            content,
            meta,
        });
    }
    out.sort_by(|a, b| a.key.cmp(&b.key));
    out.dedup_by(|a, b| a.key == b.key);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_pair_properties_with_zip_files() {
        let mut buf = std::io::Cursor::new(Vec::new());
        {
            let mut w = zip::ZipWriter::new(&mut buf);
            let opts = zip::write::SimpleFileOptions::default();
            for (name, body) in [
                ("classes/A.cls", "class A {}"),
                ("classes/A.cls-meta.xml", "<meta/>"),
                ("package.xml", "<Package/>"),
            ] {
                w.start_file(name, opts).unwrap();
                std::io::Write::write_all(&mut w, body.as_bytes()).unwrap();
            }
            w.finish().unwrap();
        }
        let result = parse_xml(
            "<result><fileProperties><fileName>classes/A.cls</fileName><fullName>A</fullName><type>ApexClass</type><lastModifiedDate>2026-03-02T09:00:00.000Z</lastModifiedDate></fileProperties></result>",
        )
        .unwrap();
        let result = result.child("result").unwrap();
        let c = components_from_zip(result, buf.get_ref(), &["ApexClass"]).unwrap();
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].key, "ApexClass/A");
        assert_eq!(c[0].content, b"class A {}");
        assert_eq!(c[0].meta.as_deref(), Some(&b"<meta/>"[..]));
        assert!(c[0].last_modified_ms.is_some());
        let missing = parse_xml(
            "<result><fileProperties><fileName>classes/B.cls</fileName><fullName>B</fullName><type>ApexClass</type></fileProperties></result>",
        )
        .unwrap();
        assert!(components_from_zip(missing.child("result").unwrap(), buf.get_ref(), &[]).is_err());
    }
}
