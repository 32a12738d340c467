//! Metadata packages: `package.xml` manifests and the zip files `retrieve` returns and
//! `deploy` accepts. Zips are written with fixed timestamps so the same components always
//! produce the same bytes.

use std::collections::BTreeMap;
use std::io::{Cursor, Read, Write};

use zip::write::SimpleFileOptions;

use super::files::NS;
use crate::salesforce::xml::{self, el};

/// Renders `package.xml` for `types` (type name → members).
pub fn package_xml(types: &BTreeMap<String, Vec<String>>, version: &str) -> String {
    let mut x = format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Package xmlns=\"{NS}\">\n");
    for (name, members) in types {
        x.push_str("    <types>\n");
        for m in members {
            x.push_str(&format!("        {}\n", el("members", m)));
        }
        x.push_str(&format!("        {}\n    </types>\n", el("name", name)));
    }
    x.push_str(&format!("    {}\n</Package>\n", el("version", version)));
    x
}

/// Parses a `package.xml` (or a retrieve request's `unpackaged` element) into
/// (type, members) pairs.
pub fn parse_types(node: &xml::Node) -> Vec<(String, Vec<String>)> {
    node.children_named("types")
        .map(|t| {
            (
                t.child_text("name").unwrap_or("").to_owned(),
                t.children_named("members")
                    .map(|m| m.text.clone())
                    .collect(),
            )
        })
        .collect()
}

/// Builds a zip of `files`; without `single_package` they go under `unpackaged/`.
///
/// # Errors
/// The zip writer's error text.
pub fn build_zip(files: &[(String, String)], single_package: bool) -> Result<Vec<u8>, String> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::default());
    for (path, content) in files {
        let name = if single_package {
            path.clone()
        } else {
            format!("unpackaged/{path}")
        };
        w.start_file(name, opts).map_err(|e| e.to_string())?;
        w.write_all(content.as_bytes()).map_err(|e| e.to_string())?;
    }
    w.finish()
        .map(Cursor::into_inner)
        .map_err(|e| e.to_string())
}

/// Reads a deploy zip into path → bytes, with paths relative to the folder holding
/// `package.xml`.
///
/// # Errors
/// A message when the zip is unreadable or has no `package.xml`.
pub fn read_zip(bytes: &[u8]) -> Result<BTreeMap<String, Vec<u8>>, String> {
    let mut archive =
        zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| format!("Invalid zip file: {e}"))?;
    let mut raw = BTreeMap::new();
    let mut total = 0usize;
    for i in 0..archive.len() {
        let mut f = archive
            .by_index(i)
            .map_err(|e| format!("Invalid zip file: {e}"))?;
        if f.is_dir() {
            continue;
        }
        let name = f.name().trim_start_matches("./").to_owned();
        let mut buf = Vec::new();
        f.read_to_end(&mut buf)
            .map_err(|e| format!("Invalid zip entry {name}: {e}"))?;
        total += buf.len();
        if total > 600 * 1024 * 1024 {
            return Err("The unzipped package exceeds 600 MB".into());
        }
        raw.insert(name, buf);
    }
    let manifest = raw
        .keys()
        .filter(|k| k.rsplit('/').next() == Some("package.xml"))
        .min_by_key(|k| k.len())
        .cloned()
        .ok_or_else(|| "No package.xml found".to_owned())?;
    let root = manifest.trim_end_matches("package.xml").to_owned();
    Ok(raw
        .into_iter()
        .filter_map(|(k, v)| k.strip_prefix(&root).map(|s| (s.to_owned(), v)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zips_round_trip_and_are_deterministic() {
        let files = vec![
            ("package.xml".to_owned(), "<Package/>".to_owned()),
            (
                "triggers/A.trigger".to_owned(),
                "trigger A on Account (before insert) {}".to_owned(),
            ),
        ];
        let a = build_zip(&files, false).unwrap();
        assert_eq!(a, build_zip(&files, false).unwrap());
        let back = read_zip(&a).unwrap();
        assert_eq!(
            back.get("triggers/A.trigger").unwrap(),
            files[1].1.as_bytes()
        );
        assert!(read_zip(b"not a zip").is_err());
        let no_manifest = build_zip(&files[1..], true).unwrap();
        assert!(read_zip(&no_manifest).unwrap_err().contains("package.xml"));
    }

    #[test]
    fn package_xml_lists_types() {
        let mut t = BTreeMap::new();
        t.insert("ApexTrigger".to_owned(), vec!["A".to_owned()]);
        let x = package_xml(&t, "62.0");
        let parsed = parse_types(&xml::parse(x.as_bytes()).unwrap());
        assert_eq!(
            parsed,
            vec![("ApexTrigger".to_owned(), vec!["A".to_owned()])]
        );
    }
}
