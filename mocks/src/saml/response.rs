//! SAML 2.0 Responses (saml-core-2.0-os 3.3.3, 2.3.3): built and signed by
//! the reference IdP, and read, signature first, by the STS mock and by
//! kensa's checks.
//!
//! Reading trusts only what a verified signature covers: the signature must
//! sit in the element it signs and reference that element's `ID`; the
//! document must hold exactly one `Assertion`, as a child of the
//! `Response`; IDs must be unique; and the values read (issuer, NameID,
//! audiences, attribute values) must not hide comments. That refuses the
//! signature-wrapping family (XSW), duplicated IDs and comment truncation.

use rsa::{RsaPrivateKey, RsaPublicKey};

use super::dsig::{self, DSIG_NS};
use super::xml::{self, Element, XmlError, escape_attr, escape_text};
use crate::time::{parse_xs_datetime, xs_datetime};

/// The SAML assertion namespace.
pub const SAML_NS: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
/// The SAML protocol namespace.
pub const SAMLP_NS: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
/// The success status code.
pub const SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";
/// The bearer subject confirmation method.
pub const BEARER: &str = "urn:oasis:names:tc:SAML:2.0:cm:bearer";

/// An attribute statement entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    /// Its name (a URI for AWS's attributes).
    pub name: String,
    /// Its values.
    pub values: Vec<String>,
}

/// Everything a built Response says; faults change single fields.
#[derive(Debug, Clone)]
pub struct ResponseSpec {
    /// The Response's ID.
    pub response_id: String,
    /// The Assertion's ID.
    pub assertion_id: String,
    /// IssueInstant of both, seconds since the epoch.
    pub issue_instant: i64,
    /// The Response's Destination, if any.
    pub destination: Option<String>,
    /// The Response's and the Assertion's Issuer.
    pub issuer: String,
    /// InResponseTo, for SP-initiated SSO.
    pub in_response_to: Option<String>,
    /// The subject's NameID and its format.
    pub name_id: (String, String),
    /// The bearer confirmation's Recipient.
    pub recipient: String,
    /// The bearer confirmation's NotOnOrAfter.
    pub subject_not_on_or_after: i64,
    /// Conditions NotBefore.
    pub not_before: i64,
    /// Conditions NotOnOrAfter.
    pub not_on_or_after: i64,
    /// The AudienceRestriction's audiences.
    pub audiences: Vec<String>,
    /// The AuthnStatement's SessionIndex.
    pub session_index: String,
    /// The attributes.
    pub attributes: Vec<Attribute>,
    /// Sign the Response.
    pub sign_response: bool,
    /// Sign the Assertion.
    pub sign_assertion: bool,
}

impl ResponseSpec {
    /// The Response as XML, signed as asked with `key`.
    ///
    /// # Errors
    /// When signing fails.
    pub fn build(&self, key: &RsaPrivateKey, cert_der: Option<&[u8]>) -> Result<String, XmlError> {
        let mut attributes = String::new();
        for a in &self.attributes {
            attributes.push_str(&format!(r#"<saml:Attribute Name="{}">"#, escape_attr(&a.name)));
            for v in &a.values {
                attributes.push_str(&format!(
                    r#"<saml:AttributeValue xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="xs:string">{}</saml:AttributeValue>"#,
                    escape_text(v)
                ));
            }
            attributes.push_str("</saml:Attribute>");
        }
        let audiences: String =
            self.audiences.iter().map(|a| format!("<saml:Audience>{}</saml:Audience>", escape_text(a))).collect();
        let irt = self
            .in_response_to
            .as_deref()
            .map(|v| format!(r#" InResponseTo="{}""#, escape_attr(v)))
            .unwrap_or_default();
        let instant = xs_datetime(self.issue_instant);
        let assertion = format!(
            concat!(
                r#"<saml:Assertion xmlns:saml="{saml}" ID="{aid}" IssueInstant="{instant}" Version="2.0">"#,
                "<saml:Issuer>{issuer}</saml:Issuer>{asig}",
                r#"<saml:Subject><saml:NameID Format="{nf}">{nid}</saml:NameID>"#,
                r#"<saml:SubjectConfirmation Method="{bearer}"><saml:SubjectConfirmationData{irt} NotOnOrAfter="{snoa}" Recipient="{recipient}"/></saml:SubjectConfirmation></saml:Subject>"#,
                r#"<saml:Conditions NotBefore="{nb}" NotOnOrAfter="{noa}"><saml:AudienceRestriction>{aud}</saml:AudienceRestriction></saml:Conditions>"#,
                r#"<saml:AuthnStatement AuthnInstant="{instant}" SessionIndex="{si}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>"#,
                "<saml:AttributeStatement>{attrs}</saml:AttributeStatement></saml:Assertion>"
            ),
            saml = SAML_NS,
            aid = escape_attr(&self.assertion_id),
            instant = instant,
            issuer = escape_text(&self.issuer),
            asig = if self.sign_assertion { dsig::placeholder(&self.assertion_id) } else { String::new() },
            nf = escape_attr(&self.name_id.1),
            nid = escape_text(&self.name_id.0),
            bearer = BEARER,
            irt = irt,
            snoa = xs_datetime(self.subject_not_on_or_after),
            recipient = escape_attr(&self.recipient),
            nb = xs_datetime(self.not_before),
            noa = xs_datetime(self.not_on_or_after),
            aud = audiences,
            si = escape_attr(&self.session_index),
            attrs = attributes,
        );
        let destination =
            self.destination.as_deref().map(|d| format!(r#" Destination="{}""#, escape_attr(d))).unwrap_or_default();
        let mut doc = format!(
            concat!(
                r#"<samlp:Response xmlns:samlp="{samlp}" xmlns:saml="{saml}" ID="{rid}" Version="2.0" IssueInstant="{instant}"{dest}{irt}>"#,
                "<saml:Issuer>{issuer}</saml:Issuer>{rsig}",
                r#"<samlp:Status><samlp:StatusCode Value="{success}"/></samlp:Status>{assertion}</samlp:Response>"#
            ),
            samlp = SAMLP_NS,
            saml = SAML_NS,
            rid = escape_attr(&self.response_id),
            instant = instant,
            dest = destination,
            irt = irt,
            issuer = escape_text(&self.issuer),
            rsig = if self.sign_response { dsig::placeholder(&self.response_id) } else { String::new() },
            success = SUCCESS,
            assertion = assertion,
        );
        if self.sign_assertion {
            doc = dsig::sign(&doc, &self.assertion_id, key, cert_der)?;
        }
        if self.sign_response {
            doc = dsig::sign(&doc, &self.response_id, key, cert_der)?;
        }
        Ok(doc)
    }
}

/// Why a Response was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SamlError {
    /// Not XML, hostile XML, or not a well-formed SAML Response.
    #[error("malformed SAML response: {0}")]
    Malformed(String),
    /// A signature is missing, broken, or made with an untrusted key.
    #[error("signature: {0}")]
    Signature(String),
    /// Well-formed but using something not supported (encryption).
    #[error("unsupported: {0}")]
    Unsupported(String),
}

impl From<XmlError> for SamlError {
    fn from(e: XmlError) -> Self {
        SamlError::Malformed(e.0)
    }
}

/// A bearer subject confirmation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirmation {
    /// Recipient.
    pub recipient: Option<String>,
    /// NotOnOrAfter, seconds.
    pub not_on_or_after: Option<i64>,
    /// NotBefore, seconds.
    pub not_before: Option<i64>,
    /// InResponseTo: the AuthnRequest answered, if any.
    pub in_response_to: Option<String>,
}

/// What a verified Response says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assertion {
    /// The Response's Issuer, if it has one.
    pub response_issuer: Option<String>,
    /// The Response's Destination, if any.
    pub destination: Option<String>,
    /// The Response's InResponseTo: the AuthnRequest answered, if any.
    pub in_response_to: Option<String>,
    /// The Assertion's Issuer.
    pub issuer: String,
    /// The NameID, if any.
    pub name_id: Option<String>,
    /// Bearer confirmations.
    pub bearer: Vec<Confirmation>,
    /// Conditions NotBefore.
    pub not_before: Option<i64>,
    /// Conditions NotOnOrAfter.
    pub not_on_or_after: Option<i64>,
    /// Each AudienceRestriction's audiences.
    pub audience_restrictions: Vec<Vec<String>>,
    /// Attributes by name, in order.
    pub attributes: Vec<Attribute>,
    /// Whether the Response carried a valid signature.
    pub response_signed: bool,
    /// Whether the Assertion carried a valid signature.
    pub assertion_signed: bool,
}

impl Assertion {
    /// The values of the attribute `name` (empty when absent).
    #[must_use]
    pub fn attribute(&self, name: &str) -> Vec<String> {
        self.attributes.iter().filter(|a| a.name == name).flat_map(|a| a.values.clone()).collect()
    }
}

fn malformed(msg: impl Into<String>) -> SamlError {
    SamlError::Malformed(msg.into())
}

/// The text of `el`, refusing comments and processing instructions, which
/// a signature does not cover and a naive reader would stop at.
fn plain_text(el: &Element) -> Result<String, SamlError> {
    if el.has_comment() {
        return Err(malformed(format!(
            "<{el}> contains a comment; the signature does not cover comments, so the value read could differ from the value signed"
        )));
    }
    if el.elements().next().is_some() {
        return Err(malformed(format!("<{el}> contains elements where text was expected")));
    }
    Ok(el.text().trim().to_owned())
}

fn instant(el: &Element, attr: &str) -> Result<Option<i64>, SamlError> {
    el.attr(attr).map(|v| parse_xs_datetime(v).map_err(|e| malformed(format!("{attr} of <{el}>: {e}")))).transpose()
}

/// Reads a Response, verifying its signatures against `keys`.
///
/// # Errors
/// When the document is hostile or malformed, nothing trustworthy signs
/// the assertion, or the status is not success.
pub fn read(text: &str, keys: &[RsaPublicKey]) -> Result<Assertion, SamlError> {
    read_with(text, Some(keys))
}

/// Reads a Response as [`read`] does, but without judging its signatures
/// (both flags are false): for checking the other rules one by one.
///
/// # Errors
/// When the document is hostile or malformed.
pub fn read_unverified(text: &str) -> Result<Assertion, SamlError> {
    read_with(text, None)
}

fn read_with(text: &str, keys: Option<&[RsaPublicKey]>) -> Result<Assertion, SamlError> {
    let doc = xml::parse(text)?;
    let root = &doc.root;
    if !root.is(SAMLP_NS, "Response") {
        return Err(malformed(format!("the root element is <{root}>, not samlp:Response")));
    }
    let mut ids = std::collections::BTreeSet::new();
    for e in root.descendants() {
        if let Some(id) = e.attr("ID")
            && !ids.insert(id)
        {
            return Err(malformed(format!(
                "two elements share ID {id:?}: a signature could be made to cover the wrong one"
            )));
        }
    }
    let code = root
        .child(SAMLP_NS, "Status")
        .and_then(|s| s.child(SAMLP_NS, "StatusCode"))
        .and_then(|c| c.attr("Value"))
        .ok_or_else(|| malformed("the Response has no Status/StatusCode"))?;
    if code != SUCCESS {
        return Err(malformed(format!("the Response's status is {code}, not success")));
    }
    if root.child(SAML_NS, "EncryptedAssertion").is_some() {
        return Err(SamlError::Unsupported("encrypted assertions are not supported".into()));
    }
    let all: Vec<&Element> = root.descendants().into_iter().filter(|e| e.is(SAML_NS, "Assertion")).collect();
    let direct: Vec<&Element> = root.children_named(SAML_NS, "Assertion").collect();
    if all.len() != 1 || direct.len() != 1 {
        return Err(malformed(format!(
            "the Response holds {} Assertion elements ({} as its children); exactly one, as a child, is accepted (signature wrapping puts a second one elsewhere)",
            all.len(),
            direct.len()
        )));
    }
    let assertion = direct[0];
    for e in root.descendants() {
        if e.is(DSIG_NS, "Signature") {
            let parent = root.path_to(e).and_then(|p| p.len().checked_sub(2).map(|i| p[i]));
            if !parent.is_some_and(|p| std::ptr::eq(p, root) || std::ptr::eq(p, assertion)) {
                return Err(SamlError::Signature(
                    "a Signature sits somewhere other than in the Response or the Assertion".into(),
                ));
            }
        }
    }
    let (response_signed, assertion_signed) = match keys {
        None => (false, false),
        Some(keys) => {
            let r = dsig::verify(root, root, keys).map_err(|e| SamlError::Signature(format!("Response: {}", e.0)))?;
            let a =
                dsig::verify(root, assertion, keys).map_err(|e| SamlError::Signature(format!("Assertion: {}", e.0)))?;
            if !r && !a {
                return Err(SamlError::Signature("neither the Response nor the Assertion is signed".into()));
            }
            (r, a)
        }
    };
    let issuer = assertion
        .child(SAML_NS, "Issuer")
        .map(plain_text)
        .transpose()?
        .ok_or_else(|| malformed("the Assertion has no Issuer"))?;
    let response_issuer = root.child(SAML_NS, "Issuer").map(plain_text).transpose()?;
    let subject = assertion.child(SAML_NS, "Subject");
    let name_id = subject.and_then(|s| s.child(SAML_NS, "NameID")).map(plain_text).transpose()?;
    let mut bearer = Vec::new();
    for sc in subject.into_iter().flat_map(|s| s.children_named(SAML_NS, "SubjectConfirmation")) {
        if sc.attr("Method") != Some(BEARER) {
            continue;
        }
        let data = sc.child(SAML_NS, "SubjectConfirmationData");
        bearer.push(Confirmation {
            recipient: data.and_then(|d| d.attr("Recipient")).map(str::to_owned),
            not_on_or_after: data.map(|d| instant(d, "NotOnOrAfter")).transpose()?.flatten(),
            not_before: data.map(|d| instant(d, "NotBefore")).transpose()?.flatten(),
            in_response_to: data.and_then(|d| d.attr("InResponseTo")).map(str::to_owned),
        });
    }
    let conditions = assertion.child(SAML_NS, "Conditions");
    let mut audience_restrictions = Vec::new();
    for ar in conditions.into_iter().flat_map(|c| c.children_named(SAML_NS, "AudienceRestriction")) {
        audience_restrictions
            .push(ar.children_named(SAML_NS, "Audience").map(plain_text).collect::<Result<Vec<_>, _>>()?);
    }
    let mut attributes = Vec::new();
    for stmt in assertion.children_named(SAML_NS, "AttributeStatement") {
        for a in stmt.children_named(SAML_NS, "Attribute") {
            let name = a.attr("Name").ok_or_else(|| malformed("an Attribute has no Name"))?.to_owned();
            let values = a.children_named(SAML_NS, "AttributeValue").map(plain_text).collect::<Result<Vec<_>, _>>()?;
            attributes.push(Attribute { name, values });
        }
    }
    Ok(Assertion {
        response_issuer,
        destination: root.attr("Destination").map(str::to_owned),
        in_response_to: root.attr("InResponseTo").map(str::to_owned),
        issuer,
        name_id,
        bearer,
        not_before: conditions.map(|c| instant(c, "NotBefore")).transpose()?.flatten(),
        not_on_or_after: conditions.map(|c| instant(c, "NotOnOrAfter")).transpose()?.flatten(),
        audience_restrictions,
        attributes,
        response_signed,
        assertion_signed,
    })
}
