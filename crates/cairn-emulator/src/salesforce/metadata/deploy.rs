//! Deploying a metadata zip: parse the package, validate every component (formulas
//! compile, objects exist, production test rules), apply it unless `checkOnly`, and
//! build the `DeployResult`.

use std::collections::BTreeMap;

use super::files::parse_file;
use super::package::{parse_types, read_zip};
use super::{Body, Component, MetadataStore, id_prefix};
use crate::salesforce::ids;
use crate::salesforce::schema::Schema;
use crate::salesforce::xml;

/// `DeployOptions` fields the emulator honours.
#[derive(Debug, Clone, Default)]
pub struct DeployOptions {
    /// Validate only.
    pub check_only: bool,
    /// Roll everything back on any failure (default true).
    pub rollback_on_error: bool,
    /// `NoTestRun`, `RunSpecifiedTests`, `RunLocalTests`, `RunAllTestsInOrg` (empty = default).
    pub test_level: String,
    /// Tests named for `RunSpecifiedTests`.
    pub run_tests: Vec<String>,
    /// Ignore warnings.
    pub ignore_warnings: bool,
    /// Single package zip.
    pub single_package: bool,
}

impl DeployOptions {
    /// Reads a `DeployOptions` element.
    pub fn from_node(n: Option<&xml::Node>) -> Self {
        let flag = |name: &str, default: bool| {
            n.and_then(|n| n.child_text(name))
                .map_or(default, |v| v == "true")
        };
        Self {
            check_only: flag("checkOnly", false),
            rollback_on_error: flag("rollbackOnError", true),
            test_level: n
                .and_then(|n| n.child_text("testLevel"))
                .unwrap_or("")
                .to_owned(),
            run_tests: n
                .map(|n| {
                    n.children_named("runTests")
                        .map(|t| t.text.clone())
                        .collect()
                })
                .unwrap_or_default(),
            ignore_warnings: flag("ignoreWarnings", false),
            single_package: flag("singlePackage", true),
        }
    }
}

/// One component's outcome (a `DeployMessage`).
#[derive(Debug, Clone)]
pub struct DeployMessage {
    /// Type name (empty for package.xml).
    pub component_type: String,
    /// Full name.
    pub full_name: String,
    /// File in the zip.
    pub file_name: String,
    /// Component id.
    pub id: String,
    /// Whether it was created (vs changed).
    pub created: bool,
    /// Whether it was changed.
    pub changed: bool,
    /// Success.
    pub success: bool,
    /// Problem text for failures.
    pub problem: Option<String>,
}

/// The outcome of a deploy.
#[derive(Debug, Clone)]
pub struct DeployOutcome {
    /// `Succeeded`, `SucceededPartial` or `Failed`.
    pub status: &'static str,
    /// Whole-deploy error (bad zip, test-level rules).
    pub error: Option<(String, String)>,
    /// Per-component results.
    pub messages: Vec<DeployMessage>,
    /// Tests run (all pass).
    pub tests: usize,
    /// Whether tests ran.
    pub run_tests_enabled: bool,
}

fn failed(code: &str, msg: &str) -> DeployOutcome {
    DeployOutcome {
        status: "Failed",
        error: Some((code.to_owned(), msg.to_owned())),
        messages: Vec::new(),
        tests: 0,
        run_tests_enabled: false,
    }
}

/// Who deploys where and when.
#[derive(Debug, Clone, Copy)]
pub struct DeployCtx {
    /// The org is a sandbox (no mandatory tests).
    pub is_sandbox: bool,
    /// Emulated time.
    pub now: i64,
    /// Deploying user row.
    pub user: u32,
    /// Id pod of the org.
    pub pod: [u8; 2],
}

/// Deploys `zip` into `store` (unless check-only or failing with rollback).
pub fn deploy(
    store: &mut MetadataStore,
    schema: &Schema,
    zip: &[u8],
    opts: &DeployOptions,
    dc: DeployCtx,
) -> DeployOutcome {
    let DeployCtx {
        is_sandbox,
        now,
        user,
        pod,
    } = dc;
    let files = match read_zip(zip) {
        Ok(f) => f,
        Err(e) => return failed("INVALID_ZIP", &e),
    };
    let manifest = match files.get("package.xml").map(|b| xml::parse(b)) {
        Some(Ok(m)) => m,
        Some(Err(e)) => return failed("INVALID_XML", &format!("package.xml: {e}")),
        None => return failed("INVALID_ZIP", "No package.xml found"),
    };
    let declared = parse_types(&manifest);
    let mut messages = vec![DeployMessage {
        component_type: String::new(),
        full_name: "package.xml".into(),
        file_name: "package.xml".into(),
        id: String::new(),
        created: false,
        changed: true,
        success: true,
        problem: None,
    }];
    let mut parsed: Vec<(String, Component)> = Vec::new();
    for (path, content) in &files {
        if path == "package.xml" || path.ends_with("-meta.xml") {
            continue;
        }
        match parse_file(path, content, &files, schema) {
            Ok(list) => parsed.extend(list.into_iter().map(|c| (path.clone(), c))),
            Err((file, problem)) => messages.push(DeployMessage {
                component_type: String::new(),
                full_name: file.clone(),
                file_name: file,
                id: String::new(),
                created: false,
                changed: false,
                success: false,
                problem: Some(problem),
            }),
        }
    }
    // Only components the manifest names are deployed.
    parsed.retain(|(_, c)| {
        declared.iter().any(|(t, members)| {
            let t_matches = t == c.type_name()
                || (t == "CustomObject" && c.type_name() == "ValidationRule")
                || (t == "Workflow" && c.type_name() == "WorkflowRule");
            let name_ok = members.iter().any(|m| {
                m == "*"
                    || m.eq_ignore_ascii_case(&c.full_name)
                    || c.full_name.split('.').next() == Some(m.as_str())
            });
            t_matches && name_ok
        })
    });
    let has_apex = parsed
        .iter()
        .any(|(_, c)| matches!(c.body, Body::ApexTrigger { .. } | Body::ApexClass { .. }));
    let level = if opts.test_level.is_empty() {
        if has_apex && !is_sandbox {
            "RunLocalTests"
        } else {
            "NoTestRun"
        }
    } else {
        opts.test_level.as_str()
    };
    if ![
        "NoTestRun",
        "RunSpecifiedTests",
        "RunLocalTests",
        "RunAllTestsInOrg",
    ]
    .contains(&level)
    {
        return failed("INVALID_OPERATION", &format!("Invalid testLevel: {level}"));
    }
    if level == "NoTestRun" && has_apex && !is_sandbox {
        return failed(
            "INVALID_OPERATION",
            "testLevel of NoTestRun cannot be used in production organizations",
        );
    }
    if level == "RunSpecifiedTests" && opts.run_tests.is_empty() {
        return failed(
            "INVALID_OPERATION",
            "No tests specified: RunSpecifiedTests requires runTests",
        );
    }
    // Validate every component against a scratch copy so formula errors surface per file.
    let mut scratch = store.clone();
    for (path, c) in &parsed {
        let mut trial = scratch.clone();
        trial.put(c.clone());
        let outcome = trial.recompile(schema);
        let existing = store.get(c.type_name(), &c.full_name).map(|e| e.id.clone());
        let msg = DeployMessage {
            component_type: c.type_name().to_owned(),
            full_name: c.full_name.clone(),
            file_name: path.clone(),
            id: existing.clone().unwrap_or_default(),
            created: existing.is_none(),
            changed: existing.is_some(),
            success: outcome.is_ok(),
            problem: outcome.err().map(|(_, e)| e),
        };
        if msg.success {
            scratch = trial;
        }
        messages.push(msg);
    }
    let failures = messages.iter().filter(|m| !m.success).count();
    let tests = if level == "NoTestRun" {
        0
    } else {
        store
            .of_type("ApexClass")
            .filter(
                |c| matches!(&c.body, Body::ApexClass { source, .. } if source.contains("@IsTest")),
            )
            .filter(|c| {
                level != "RunSpecifiedTests"
                    || opts
                        .run_tests
                        .iter()
                        .any(|t| t.eq_ignore_ascii_case(&c.full_name))
            })
            .count()
    };
    let status = match (failures, opts.rollback_on_error) {
        (0, _) => "Succeeded",
        (_, true) => "Failed",
        (_, false) => "SucceededPartial",
    };
    if !opts.check_only && status != "Failed" {
        for (_, c) in parsed {
            if !messages.iter().any(|m| {
                m.success && m.full_name == c.full_name && m.component_type == c.type_name()
            }) {
                continue;
            }
            let mut c = c;
            match store.get(c.type_name(), &c.full_name) {
                Some(existing) => {
                    c.id = existing.id.clone();
                    c.created = existing.created;
                }
                None => {
                    store.next_id += 1;
                    c.id = ids::encode_counter(
                        id_prefix(c.type_name()),
                        pod,
                        62u64.pow(6) * 3 + store.next_id,
                    );
                    c.created = now;
                }
            }
            c.modified = now;
            c.modified_by = user;
            for m in messages.iter_mut() {
                if m.full_name == c.full_name && m.component_type == c.type_name() {
                    m.id = c.id.clone();
                }
            }
            store.put(c);
        }
        // Components were validated one by one; the combination compiles too.
        let _ = store.recompile(schema);
    }
    DeployOutcome {
        status,
        error: None,
        messages,
        tests,
        run_tests_enabled: level != "NoTestRun",
    }
}

/// Types and members a retrieve request asks for, resolved against the store and the
/// schema: (type → members), with `*` expanded.
pub fn expand_members(
    store: &MetadataStore,
    schema: &Schema,
    requested: &[(String, Vec<String>)],
) -> (BTreeMap<String, Vec<String>>, Vec<String>) {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut missing = Vec::new();
    for (t, members) in requested {
        let available: Vec<String> = if t == "CustomObject" {
            schema.objects.iter().map(|o| o.name.clone()).collect()
        } else {
            store.of_type(t).map(|c| c.full_name.clone()).collect()
        };
        let known_type = t == "CustomObject"
            || [
                "ApexTrigger",
                "ApexClass",
                "ValidationRule",
                "WorkflowRule",
                "Flow",
            ]
            .contains(&t.as_str());
        for m in members {
            if m == "*" {
                let list: Vec<String> = if t == "CustomObject" {
                    schema
                        .objects
                        .iter()
                        .filter(|o| o.custom)
                        .map(|o| o.name.clone())
                        .collect()
                } else {
                    available.clone()
                };
                out.entry(t.clone()).or_default().extend(list);
            } else if let Some(found) = available.iter().find(|a| a.eq_ignore_ascii_case(m)) {
                out.entry(t.clone()).or_default().push(found.clone());
            } else if known_type {
                missing.push(format!("Entity of type '{t}' named '{m}' cannot be found"));
            }
        }
    }
    for v in out.values_mut() {
        v.sort();
        v.dedup();
    }
    (out, missing)
}
