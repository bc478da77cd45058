//! A small XML tree for SAML messages, built for untrusted input.
//!
//! The tree keeps what XML canonicalization needs and what most parsers
//! drop: each element's and attribute's original prefix, and the namespace
//! declarations made on each element. Parsing refuses, with a named reason:
//! any document type declaration (so no entity can be declared: XXE and
//! entity expansion such as "billion laughs" cannot happen), references to
//! entities other than the five predefined ones, encodings other than UTF-8,
//! unbound prefixes, duplicate attributes, and documents beyond fixed limits
//! of size, depth and node count.

use std::fmt;

use quick_xml::XmlVersion;
use quick_xml::events::{BytesStart, Event};

/// The XML namespace, bound to the `xml` prefix by definition.
pub const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";

/// Largest document parsed, in bytes.
pub const MAX_BYTES: usize = 1 << 20;
/// Deepest element nesting parsed.
pub const MAX_DEPTH: usize = 64;
/// Most nodes (elements, texts, comments) parsed.
pub const MAX_NODES: usize = 50_000;

/// Why a document was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct XmlError(pub String);

fn err(msg: impl Into<String>) -> XmlError {
    XmlError(msg.into())
}

/// A node of the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// An element.
    Element(Element),
    /// Character data, references resolved, line ends normalized.
    Text(String),
    /// A comment's content.
    Comment(String),
    /// A processing instruction: target and content.
    Pi(String, String),
}

/// An attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attr {
    /// Its prefix as written, if any.
    pub prefix: Option<String>,
    /// Its local name.
    pub local: String,
    /// Its namespace (none for unprefixed attributes).
    pub ns: Option<String>,
    /// Its normalized value.
    pub value: String,
}

/// An element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    /// Its prefix as written, if any.
    pub prefix: Option<String>,
    /// Its local name.
    pub local: String,
    /// Its namespace, if any.
    pub ns: Option<String>,
    /// Namespace declarations made on it: prefix (none for the default
    /// namespace) and URI (empty to undeclare the default).
    pub ns_decls: Vec<(Option<String>, String)>,
    /// Its attributes other than namespace declarations, as written.
    pub attrs: Vec<Attr>,
    /// Its children.
    pub children: Vec<Node>,
}

impl Element {
    /// Whether this is `local` in namespace `ns`.
    #[must_use]
    pub fn is(&self, ns: &str, local: &str) -> bool {
        self.local == local && self.ns.as_deref() == Some(ns)
    }

    /// The qualified name as written.
    #[must_use]
    pub fn qname(&self) -> String {
        match &self.prefix {
            Some(p) => format!("{p}:{}", self.local),
            None => self.local.clone(),
        }
    }

    /// The value of the unprefixed attribute `local`.
    #[must_use]
    pub fn attr(&self, local: &str) -> Option<&str> {
        self.attrs.iter().find(|a| a.ns.is_none() && a.local == local).map(|a| a.value.as_str())
    }

    /// Child elements, in order.
    pub fn elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|n| match n {
            Node::Element(e) => Some(e),
            _ => None,
        })
    }

    /// Child elements named `local` in `ns`.
    pub fn children_named<'a>(&'a self, ns: &'a str, local: &'a str) -> impl Iterator<Item = &'a Element> {
        self.elements().filter(move |e| e.is(ns, local))
    }

    /// The first child element named `local` in `ns`.
    #[must_use]
    pub fn child<'a>(&'a self, ns: &'a str, local: &'a str) -> Option<&'a Element> {
        self.children_named(ns, local).next()
    }

    /// The text of this element's direct text children, joined.
    #[must_use]
    pub fn text(&self) -> String {
        self.children
            .iter()
            .filter_map(|n| match n {
                Node::Text(t) => Some(t.as_str()),
                _ => None,
            })
            .collect()
    }

    /// Whether a comment or processing instruction sits among its children.
    #[must_use]
    pub fn has_comment(&self) -> bool {
        self.children.iter().any(|n| matches!(n, Node::Comment(_) | Node::Pi(..)))
    }

    /// This element and every element below it, in document order.
    #[must_use]
    pub fn descendants(&self) -> Vec<&Element> {
        let mut out = vec![self];
        let mut i = 0;
        while i < out.len() {
            let e = out[i];
            // Insert children right after their parent to keep document order.
            let kids: Vec<&Element> = e.elements().collect();
            out.splice(i + 1..i + 1, kids);
            i += 1;
        }
        out
    }

    /// The chain of elements from `self` down to `target` (both included),
    /// found by identity; none when `target` is not below `self`.
    #[must_use]
    pub fn path_to<'a>(&'a self, target: &Element) -> Option<Vec<&'a Element>> {
        if std::ptr::eq(self, target) {
            return Some(vec![self]);
        }
        for child in self.elements() {
            if let Some(mut path) = child.path_to(target) {
                path.insert(0, self);
                return Some(path);
            }
        }
        None
    }
}

/// A parsed document: its root element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// The root element.
    pub root: Element,
}

impl fmt::Display for Element {
    /// The element's outline: `prefix:local`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.qname())
    }
}

type Scope = Vec<Vec<(Option<String>, String)>>;

fn lookup(scope: &Scope, prefix: Option<&str>) -> Option<String> {
    if prefix == Some("xml") {
        return Some(XML_NS.to_owned());
    }
    for frame in scope.iter().rev() {
        for (p, uri) in frame.iter().rev() {
            if p.as_deref() == prefix {
                return if uri.is_empty() { None } else { Some(uri.clone()) };
            }
        }
    }
    None
}

fn split(qname: &str) -> (Option<String>, String) {
    match qname.split_once(':') {
        Some((p, l)) => (Some(p.to_owned()), l.to_owned()),
        None => (None, qname.to_owned()),
    }
}

fn utf8(bytes: &[u8]) -> Result<String, XmlError> {
    std::str::from_utf8(bytes).map(str::to_owned).map_err(|_| err("the document is not valid UTF-8"))
}

fn open(start: &BytesStart<'_>, scope: &mut Scope) -> Result<Element, XmlError> {
    let (prefix, local) = split(&utf8(start.name().as_ref())?);
    let mut decls = Vec::new();
    let mut raw_attrs = Vec::new();
    let mut attributes = start.attributes();
    attributes.with_checks(true);
    for a in attributes {
        let a = a.map_err(|e| err(format!("malformed attribute in <{local}>: {e}")))?;
        let key = utf8(a.key.as_ref())?;
        let value = a
            .decoded_and_normalized_value(XmlVersion::Implicit1_0, start.decoder())
            .map_err(|e| err(format!("attribute {key} of <{local}>: {e} (only the five predefined entities and character references are allowed)")))?
            .into_owned();
        if key == "xmlns" {
            decls.push((None, value));
        } else if let Some(p) = key.strip_prefix("xmlns:") {
            if value.is_empty() {
                return Err(err(format!("<{local}> undeclares prefix {p}, which XML 1.0 namespaces forbid")));
            }
            decls.push((Some(p.to_owned()), value));
        } else {
            raw_attrs.push((key, value));
        }
    }
    scope.push(decls.clone());
    let ns = match &prefix {
        Some(p) => Some(
            lookup(scope, Some(p))
                .ok_or_else(|| err(format!("prefix {p} of <{p}:{local}> is not bound to a namespace")))?,
        ),
        None => lookup(scope, None),
    };
    let mut attrs = Vec::with_capacity(raw_attrs.len());
    for (key, value) in raw_attrs {
        let (ap, al) = split(&key);
        let ans = match &ap {
            Some(p) => {
                Some(lookup(scope, Some(p)).ok_or_else(|| err(format!("prefix {p} of attribute {key} is not bound")))?)
            }
            None => None,
        };
        if attrs.iter().any(|x: &Attr| x.local == al && x.ns == ans) {
            return Err(err(format!("<{local}> has attribute {al} twice")));
        }
        attrs.push(Attr { prefix: ap, local: al, ns: ans, value });
    }
    Ok(Element { prefix, local, ns, ns_decls: decls, attrs, children: Vec::new() })
}

fn push_text(stack: &mut [Element], text: &str) {
    if let Some(top) = stack.last_mut() {
        if let Some(Node::Text(t)) = top.children.last_mut() {
            t.push_str(text);
        } else {
            top.children.push(Node::Text(text.to_owned()));
        }
    }
}

/// Parses `xml` within the limits, refusing DTDs and unknown entities.
///
/// # Errors
/// With the reason the document was refused.
pub fn parse(xml: &str) -> Result<Document, XmlError> {
    if xml.len() > MAX_BYTES {
        return Err(err(format!("the document has {} bytes, more than the {MAX_BYTES} accepted", xml.len())));
    }
    let mut reader = quick_xml::Reader::from_str(xml);
    let config = reader.config_mut();
    config.trim_text(false);
    config.check_end_names = true;
    config.check_comments = true;
    config.expand_empty_elements = false;
    let mut stack: Vec<Element> = Vec::new();
    let mut scope: Scope = Vec::new();
    let mut root: Option<Element> = None;
    let mut nodes = 0usize;
    loop {
        let event =
            reader.read_event().map_err(|e| err(format!("malformed XML at byte {}: {e}", reader.buffer_position())))?;
        nodes += 1;
        if nodes > MAX_NODES {
            return Err(err(format!("the document has more than {MAX_NODES} nodes")));
        }
        match event {
            Event::DocType(_) => {
                return Err(err(
                    "the document has a DOCTYPE; DTDs are refused because they declare entities (XXE, entity expansion)",
                ));
            }
            Event::Decl(d) => {
                if let Some(Ok(enc)) = d.encoding() {
                    let enc = String::from_utf8_lossy(&enc).to_ascii_lowercase();
                    if enc != "utf-8" && enc != "utf8" {
                        return Err(err(format!("the document declares encoding {enc}; only UTF-8 is accepted")));
                    }
                }
            }
            Event::Start(s) => {
                if root.is_some() {
                    return Err(err("content after the root element"));
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(err(format!("elements nest deeper than {MAX_DEPTH}")));
                }
                let e = open(&s, &mut scope)?;
                stack.push(e);
            }
            Event::Empty(s) => {
                if root.is_some() {
                    return Err(err("content after the root element"));
                }
                let e = open(&s, &mut scope)?;
                scope.pop();
                match stack.last_mut() {
                    Some(parent) => parent.children.push(Node::Element(e)),
                    None => root = Some(e),
                }
            }
            Event::End(_) => {
                scope.pop();
                let e = stack.pop().ok_or_else(|| err("an end tag without a start tag"))?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(Node::Element(e)),
                    None => root = Some(e),
                }
            }
            Event::Text(t) => {
                let text = t.xml_content(XmlVersion::Implicit1_0).map_err(|e| err(format!("text: {e}")))?;
                if stack.is_empty() {
                    if !text.trim().is_empty() {
                        return Err(err("text outside the root element"));
                    }
                } else {
                    push_text(&mut stack, &text);
                }
            }
            Event::CData(c) => {
                let text = c.xml_content(XmlVersion::Implicit1_0).map_err(|e| err(format!("CDATA: {e}")))?;
                if stack.is_empty() {
                    return Err(err("CDATA outside the root element"));
                }
                push_text(&mut stack, &text);
            }
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref().map_err(|e| err(format!("character reference: {e}")))? {
                    Some(c) => c.to_string(),
                    None => {
                        let name = r.decode().map_err(|e| err(format!("entity reference: {e}")))?;
                        match name.as_ref() {
                            "lt" => "<".into(),
                            "gt" => ">".into(),
                            "amp" => "&".into(),
                            "apos" => "'".into(),
                            "quot" => "\"".into(),
                            other => {
                                return Err(err(format!(
                                    "reference to undeclared entity &{other}; (only the five predefined entities are allowed)"
                                )));
                            }
                        }
                    }
                };
                if stack.is_empty() {
                    return Err(err("a reference outside the root element"));
                }
                push_text(&mut stack, &resolved);
            }
            Event::Comment(c) => {
                if let Some(top) = stack.last_mut() {
                    top.children.push(Node::Comment(utf8(&c)?));
                }
            }
            Event::PI(p) => {
                if let Some(top) = stack.last_mut() {
                    let target = utf8(p.target())?;
                    let content = utf8(p.content())?.trim_start().to_owned();
                    top.children.push(Node::Pi(target, content));
                }
            }
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(err(format!("the document ends inside <{}>", stack[stack.len() - 1].qname())));
    }
    root.map(|root| Document { root }).ok_or_else(|| err("the document has no root element"))
}

/// Escapes `s` for an attribute value in double quotes.
#[must_use]
pub fn escape_attr(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '"' => out.push_str("&quot;"),
            '\t' => out.push_str("&#x9;"),
            '\n' => out.push_str("&#xA;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
    out
}

/// Escapes `s` for character data.
#[must_use]
pub fn escape_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_prefixes_and_resolves_namespaces() {
        let d = parse(r#"<?xml version="1.0" encoding="UTF-8"?><a:R xmlns:a="urn:a" xmlns="urn:d" x="1&amp;2"><C a:y="&#65;">t&lt;u<!--c--></C></a:R>"#).unwrap();
        assert_eq!(d.root.qname(), "a:R");
        assert!(d.root.is("urn:a", "R"));
        assert_eq!(d.root.attr("x"), Some("1&2"));
        let c = d.root.child("urn:d", "C").unwrap();
        assert_eq!(c.attrs[0].ns.as_deref(), Some("urn:a"));
        assert_eq!(c.attrs[0].value, "A");
        assert_eq!(c.text(), "t<u");
        assert!(c.has_comment());
    }

    #[test]
    fn refuses_dtds_entities_and_unbound_prefixes() {
        let xxe = r#"<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>"#;
        assert!(parse(xxe).unwrap_err().0.contains("DOCTYPE"));
        assert!(parse("<r>&x;</r>").unwrap_err().0.contains("undeclared entity"));
        assert!(parse("<p:r/>").unwrap_err().0.contains("not bound"));
        assert!(parse(r#"<r a="1" a="2"/>"#).is_err());
        assert!(parse(r#"<?xml version="1.0" encoding="UTF-16"?><r/>"#).unwrap_err().0.contains("UTF-8"));
        let deep = "<a>".repeat(MAX_DEPTH + 1) + &"</a>".repeat(MAX_DEPTH + 1);
        assert!(parse(&deep).unwrap_err().0.contains("deeper"));
        assert!(parse("<a></b>").is_err());
        assert!(parse("<a/><b/>").is_err());
    }

    #[test]
    fn descendants_are_in_document_order() {
        let d = parse("<a><b><c/></b><d/></a>").unwrap();
        let names: Vec<String> = d.root.descendants().iter().map(|e| e.local.clone()).collect();
        assert_eq!(names, ["a", "b", "c", "d"]);
        let c = d.root.descendants()[2];
        assert_eq!(d.root.path_to(c).unwrap().len(), 3);
    }
}
