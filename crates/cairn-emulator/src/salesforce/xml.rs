//! A minimal XML tree for SOAP requests and Metadata API files, plus escaping for the XML
//! the emulator writes. Namespaces are dropped: elements are matched by local name, which
//! is how Salesforce's own parsers treat the envelopes clients send.

use quick_xml::events::Event;
use quick_xml::reader::Reader;

/// An element with its text and children.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Node {
    /// Local name (prefix stripped).
    pub name: String,
    /// Concatenated text content directly inside this element (unescaped, trimmed).
    pub text: String,
    /// Child elements in document order.
    pub children: Vec<Node>,
    /// `xsi:nil="true"`.
    pub nil: bool,
}

impl Node {
    /// The first child named `name`.
    pub fn child(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.name == name)
    }
    /// All children named `name`.
    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Node> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }
    /// The text of the first child named `name`.
    pub fn child_text(&self, name: &str) -> Option<&str> {
        self.child(name).map(|c| c.text.as_str())
    }
    /// The first descendant named `name` (depth-first).
    pub fn find(&self, name: &str) -> Option<&Node> {
        for c in &self.children {
            if c.name == name {
                return Some(c);
            }
            if let Some(n) = c.find(name) {
                return Some(n);
            }
        }
        None
    }
}

fn local(name: &[u8]) -> String {
    let s = String::from_utf8_lossy(name);
    match s.rsplit_once(':') {
        Some((_, l)) => l.to_owned(),
        None => s.into_owned(),
    }
}

/// Parses a document into its root element.
///
/// # Errors
/// A description of the first syntax error (with its byte position).
pub fn parse(input: &[u8]) -> Result<Node, String> {
    let mut reader = Reader::from_reader(input);
    reader.config_mut().trim_text(false);
    let mut stack: Vec<Node> = Vec::new();
    let mut root: Option<Node> = None;
    let mut buf = Vec::new();
    loop {
        let pos = reader.buffer_position();
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|e| format!("XML syntax error at byte {pos}: {e}"))?;
        match event {
            Event::Start(e) if root.is_none() => stack.push(open(&e)),
            Event::Empty(e) if root.is_none() => attach(&mut stack, &mut root, open(&e)),
            Event::End(_) => {
                let Some(mut node) = stack.pop() else {
                    return Err(format!(
                        "XML syntax error at byte {pos}: unexpected end tag"
                    ));
                };
                node.text = node.text.trim().to_owned();
                attach(&mut stack, &mut root, node);
            }
            Event::Text(t) => {
                if let Some(top) = stack.last_mut() {
                    // Entities arrive as separate `GeneralRef` events, so text is literal.
                    let s = t
                        .decode()
                        .map_err(|e| format!("XML text error at byte {pos}: {e}"))?;
                    top.text.push_str(&s);
                }
            }
            Event::CData(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&String::from_utf8_lossy(&t));
                }
            }
            Event::GeneralRef(r) => {
                if let Some(top) = stack.last_mut() {
                    let name = String::from_utf8_lossy(&r);
                    let ch = match name.as_ref() {
                        "lt" => "<".to_owned(),
                        "gt" => ">".to_owned(),
                        "amp" => "&".to_owned(),
                        "quot" => "\"".to_owned(),
                        "apos" => "'".to_owned(),
                        other => {
                            let code = other
                                .strip_prefix("#x")
                                .and_then(|h| u32::from_str_radix(h, 16).ok())
                                .or_else(|| other.strip_prefix('#').and_then(|d| d.parse().ok()))
                                .and_then(char::from_u32)
                                .ok_or_else(|| format!("unknown XML entity &{other};"))?;
                            code.to_string()
                        }
                    };
                    top.text.push_str(&ch);
                }
            }
            Event::Eof => break,
            Event::Start(_) | Event::Empty(_) => {
                return Err("XML syntax error: content after the root element".into());
            }
            _ => {}
        }
        buf.clear();
    }
    if !stack.is_empty() {
        return Err("XML syntax error: unexpected end of document".into());
    }
    root.ok_or_else(|| "XML syntax error: no root element".into())
}

fn open(e: &quick_xml::events::BytesStart<'_>) -> Node {
    let nil = e
        .attributes()
        .flatten()
        .any(|a| local(a.key.as_ref()) == "nil" && a.value.as_ref() == b"true");
    Node {
        name: local(e.name().as_ref()),
        nil,
        ..Node::default()
    }
}

fn attach(stack: &mut [Node], root: &mut Option<Node>, node: Node) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(node),
        None => *root = Some(node),
    }
}

/// Escapes text for element content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// `<name>escaped text</name>`.
pub fn el(name: &str, text: &str) -> String {
    format!("<{name}>{}</{name}>", esc(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_envelopes_with_namespaces_and_entities() {
        let doc = br#"<?xml version="1.0"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">
  <soapenv:Header><SessionHeader><sessionId>00D!abc</sessionId></SessionHeader></soapenv:Header>
  <soapenv:Body><undelete><ids>001A</ids><ids>003B</ids><empty/><f>a &lt; b &amp; c&#33;</f></undelete></soapenv:Body>
</soapenv:Envelope>"#;
        let root = parse(doc).unwrap();
        assert_eq!(root.name, "Envelope");
        assert_eq!(root.find("sessionId").unwrap().text, "00D!abc");
        let undelete = root.find("undelete").unwrap();
        let ids: Vec<_> = undelete
            .children_named("ids")
            .map(|n| n.text.clone())
            .collect();
        assert_eq!(ids, vec!["001A", "003B"]);
        assert!(undelete.child("empty").is_some());
        assert_eq!(undelete.child_text("f"), Some("a < b & c!"));
    }

    #[test]
    fn rejects_broken_documents() {
        assert!(parse(b"<a><b></a>").is_err());
        assert!(parse(b"<a>").is_err());
        assert!(parse(b"").is_err());
    }
}
