//! Exclusive XML Canonicalization 1.0, without comments
//! (<https://www.w3.org/TR/xml-exc-c14n/>), of an element subtree.
//!
//! The canonical form is what XML signatures digest and sign: namespace
//! declarations appear on the first element that visibly uses them (or that
//! names them in the `InclusiveNamespaces` prefix list), declarations and
//! attributes are sorted, empty elements get an end tag, comments are
//! dropped, and text and attribute values are escaped in one fixed way.

use std::collections::BTreeMap;

use super::xml::{Element, Node, XmlError};

/// Prefix (none: the default namespace) to namespace URI ("" for none).
type NsMap = BTreeMap<Option<String>, String>;

/// The exclusive canonical form of `target`, an element below (or equal
/// to) `root`, leaving out the element `exclude` (the enveloped signature)
/// when given. `inclusive` is the transform's `InclusiveNamespaces`
/// prefix list (`#default` names the default namespace).
///
/// # Errors
/// When `target` is not inside `root`.
pub fn exclusive(
    root: &Element,
    target: &Element,
    exclude: Option<&Element>,
    inclusive: &[String],
) -> Result<String, XmlError> {
    let path =
        root.path_to(target).ok_or_else(|| XmlError("the element to canonicalize is not in the document".into()))?;
    let mut in_scope = NsMap::new();
    for ancestor in &path[..path.len() - 1] {
        apply(&mut in_scope, ancestor);
    }
    let inclusive: Vec<Option<String>> =
        inclusive.iter().map(|p| if p == "#default" { None } else { Some(p.clone()) }).collect();
    let mut out = String::new();
    render(target, &in_scope, &NsMap::new(), exclude, &inclusive, &mut out);
    Ok(out)
}

fn apply(map: &mut NsMap, el: &Element) {
    for (p, uri) in &el.ns_decls {
        map.insert(p.clone(), uri.clone());
    }
}

fn render(
    el: &Element,
    parent_scope: &NsMap,
    rendered: &NsMap,
    exclude: Option<&Element>,
    inclusive: &[Option<String>],
    out: &mut String,
) {
    let mut scope = parent_scope.clone();
    apply(&mut scope, el);
    let mut wanted: Vec<Option<String>> = vec![el.prefix.clone()];
    for a in &el.attrs {
        if let Some(p) = &a.prefix
            && p != "xml"
        {
            wanted.push(Some(p.clone()));
        }
    }
    for p in inclusive {
        if scope.contains_key(p) {
            wanted.push(p.clone());
        }
    }
    wanted.sort();
    wanted.dedup();
    let mut now_rendered = rendered.clone();
    let mut decls = Vec::new();
    for p in wanted {
        let value = scope.get(&p).cloned().unwrap_or_default();
        let before = rendered.get(&p).cloned().unwrap_or_default();
        let needed = match &p {
            // The default namespace: render a change, including back to none.
            None => value != before,
            Some(_) => !value.is_empty() && rendered.get(&p) != Some(&value),
        };
        if needed {
            decls.push((p.clone(), value.clone()));
            now_rendered.insert(p, value);
        }
    }
    out.push('<');
    out.push_str(&el.qname());
    for (p, uri) in &decls {
        match p {
            None => out.push_str(" xmlns=\""),
            Some(p) => {
                out.push_str(" xmlns:");
                out.push_str(p);
                out.push_str("=\"");
            }
        }
        out.push_str(&super::xml::escape_attr(uri));
        out.push('"');
    }
    let mut attrs: Vec<_> = el.attrs.iter().collect();
    attrs.sort_by(|a, b| (a.ns.as_deref().unwrap_or(""), &a.local).cmp(&(b.ns.as_deref().unwrap_or(""), &b.local)));
    for a in attrs {
        out.push(' ');
        if let Some(p) = &a.prefix {
            out.push_str(p);
            out.push(':');
        }
        out.push_str(&a.local);
        out.push_str("=\"");
        out.push_str(&super::xml::escape_attr(&a.value));
        out.push('"');
    }
    out.push('>');
    for child in &el.children {
        match child {
            Node::Element(c) => {
                if exclude.is_some_and(|x| std::ptr::eq(x, c)) {
                    continue;
                }
                render(c, &scope, &now_rendered, exclude, inclusive, out);
            }
            Node::Text(t) => out.push_str(&super::xml::escape_text(t)),
            Node::Comment(_) => {}
            Node::Pi(target, data) => {
                out.push_str("<?");
                out.push_str(target);
                if !data.is_empty() {
                    out.push(' ');
                    out.push_str(data);
                }
                out.push_str("?>");
            }
        }
    }
    out.push_str("</");
    out.push_str(&el.qname());
    out.push('>');
}

#[cfg(test)]
mod tests {
    use super::super::xml::parse;
    use super::*;

    fn c14n(xml: &str, pick: &str, inclusive: &[&str]) -> String {
        let d = parse(xml).unwrap();
        let target = d.root.descendants().into_iter().find(|e| e.local == pick).unwrap();
        let inclusive: Vec<String> = inclusive.iter().map(|s| (*s).to_owned()).collect();
        exclusive(&d.root, target, None, &inclusive).unwrap()
    }

    #[test]
    fn renders_only_visibly_used_namespaces() {
        let xml =
            r#"<a:R xmlns:a="urn:a" xmlns:b="urn:b" xmlns:u="urn:unused"><b:C   z="1" b:y="2" a="&quot;&#9;"/></a:R>"#;
        assert_eq!(c14n(xml, "C", &[]), r#"<b:C xmlns:b="urn:b" a="&quot;&#x9;" z="1" b:y="2"></b:C>"#);
        assert_eq!(
            c14n(xml, "R", &[]),
            r#"<a:R xmlns:a="urn:a"><b:C xmlns:b="urn:b" a="&quot;&#x9;" z="1" b:y="2"></b:C></a:R>"#
        );
        assert_eq!(
            c14n(xml, "C", &["u"]),
            r#"<b:C xmlns:b="urn:b" xmlns:u="urn:unused" a="&quot;&#x9;" z="1" b:y="2"></b:C>"#
        );
    }

    #[test]
    fn default_namespace_and_text_escaping() {
        let xml =
            "<R xmlns=\"urn:d\"><C>a&amp;b&gt;\r\n<!-- gone --></C><n:E xmlns:n=\"urn:n\"><F xmlns=\"\"/></n:E></R>";
        assert_eq!(c14n(xml, "C", &[]), "<C xmlns=\"urn:d\">a&amp;b&gt;\n</C>");
        assert_eq!(c14n(xml, "E", &[]), "<n:E xmlns:n=\"urn:n\"><F></F></n:E>");
        assert_eq!(
            c14n(xml, "R", &[]),
            "<R xmlns=\"urn:d\"><C>a&amp;b&gt;\n</C><n:E xmlns:n=\"urn:n\"><F xmlns=\"\"></F></n:E></R>"
        );
    }

    #[test]
    fn redeclaration_is_not_repeated() {
        let xml = r#"<a:R xmlns:a="urn:a"><a:C xmlns:a="urn:a"><a:D/></a:C></a:R>"#;
        assert_eq!(c14n(xml, "R", &[]), r#"<a:R xmlns:a="urn:a"><a:C><a:D></a:D></a:C></a:R>"#);
    }
}
