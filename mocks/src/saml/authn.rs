//! SP-initiated Web SSO: the `<samlp:AuthnRequest>` a service provider
//! sends (SAML core 3.4.1) and its HTTP-Redirect encoding (SAML bindings
//! 3.4.4.1: DEFLATE, then base64, then URL-encoding). kensa builds requests
//! with it as a service provider would; the reference IdP reads them with
//! the same hardened XML reader as Responses.

use std::io::Read as _;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::response::{SAML_NS, SAMLP_NS};
use super::xml::{self, XmlError, escape_attr, escape_text};
use crate::time::xs_datetime;

/// The HTTP-POST binding, which the Response comes back on.
pub const POST_BINDING: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";

/// The largest inflated AuthnRequest read: a real one is well under 2 KiB,
/// and a DEFLATE bomb stops here.
pub const MAX_INFLATED: u64 = 64 * 1024;

fn err(msg: impl Into<String>) -> XmlError {
    XmlError(msg.into())
}

/// An AuthnRequest, as a service provider sends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthnRequest {
    /// Its ID, which the Response's InResponseTo must echo.
    pub id: String,
    /// The service provider's entity id.
    pub issuer: String,
    /// The IdP endpoint it is sent to, if named.
    pub destination: Option<String>,
    /// Where the Response must be posted, if named (else the SP's
    /// registered endpoint).
    pub acs_url: Option<String>,
    /// IssueInstant, seconds since the epoch.
    pub issue_instant: i64,
}

impl AuthnRequest {
    /// The request as XML, asking for the Response on the HTTP-POST binding.
    #[must_use]
    pub fn to_xml(&self) -> String {
        let dest =
            self.destination.as_deref().map(|d| format!(r#" Destination="{}""#, escape_attr(d))).unwrap_or_default();
        let acs = self
            .acs_url
            .as_deref()
            .map(|a| format!(r#" AssertionConsumerServiceURL="{}" ProtocolBinding="{POST_BINDING}""#, escape_attr(a)))
            .unwrap_or_default();
        format!(
            concat!(
                r#"<samlp:AuthnRequest xmlns:samlp="{samlp}" xmlns:saml="{saml}" ID="{id}" Version="2.0" IssueInstant="{instant}"{dest}{acs}>"#,
                "<saml:Issuer>{issuer}</saml:Issuer></samlp:AuthnRequest>"
            ),
            samlp = SAMLP_NS,
            saml = SAML_NS,
            id = escape_attr(&self.id),
            instant = xs_datetime(self.issue_instant),
            dest = dest,
            acs = acs,
            issuer = escape_text(&self.issuer),
        )
    }

    /// The `SAMLRequest` value of the HTTP-Redirect binding: the XML,
    /// raw-DEFLATEd and base64-encoded (the caller URL-encodes it).
    #[must_use]
    pub fn to_redirect_param(&self) -> String {
        use std::io::Write as _;
        let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        // Writing to a Vec cannot fail.
        let _ = enc.write_all(self.to_xml().as_bytes());
        STANDARD.encode(enc.finish().unwrap_or_default())
    }

    /// Reads a `SAMLRequest` of the HTTP-Redirect binding.
    ///
    /// # Errors
    /// When it is not base64, not DEFLATE, inflates past [`MAX_INFLATED`],
    /// is hostile or malformed XML, or is not a SAML 2.0 AuthnRequest with
    /// an ID and an Issuer.
    pub fn from_redirect_param(value: &str) -> Result<AuthnRequest, XmlError> {
        let compact: String = value.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        let deflated = STANDARD.decode(compact).map_err(|e| err(format!("SAMLRequest is not base64: {e}")))?;
        let mut inflated = Vec::new();
        flate2::read::DeflateDecoder::new(deflated.as_slice())
            .take(MAX_INFLATED + 1)
            .read_to_end(&mut inflated)
            .map_err(|e| err(format!("SAMLRequest is not DEFLATE-compressed (SAML bindings 3.4.4.1): {e}")))?;
        if inflated.len() as u64 > MAX_INFLATED {
            return Err(err(format!("SAMLRequest inflates past {MAX_INFLATED} bytes")));
        }
        let text = String::from_utf8(inflated).map_err(|_| err("SAMLRequest is not UTF-8"))?;
        AuthnRequest::parse(&text)
    }

    /// Reads an AuthnRequest's XML.
    ///
    /// # Errors
    /// As [`AuthnRequest::from_redirect_param`], past the decoding.
    pub fn parse(text: &str) -> Result<AuthnRequest, XmlError> {
        let doc = xml::parse(text)?;
        let root = &doc.root;
        if !root.is(SAMLP_NS, "AuthnRequest") {
            return Err(err(format!("expected samlp:AuthnRequest, found {root}")));
        }
        if root.attr("Version") != Some("2.0") {
            return Err(err("the AuthnRequest's Version is not 2.0"));
        }
        let id = root.attr("ID").filter(|i| !i.is_empty()).ok_or_else(|| err("the AuthnRequest has no ID"))?;
        let issuer = root.child(SAML_NS, "Issuer").ok_or_else(|| err("the AuthnRequest has no Issuer"))?;
        if issuer.has_comment() {
            return Err(err("a comment inside the Issuer"));
        }
        let instant = root.attr("IssueInstant").ok_or_else(|| err("the AuthnRequest has no IssueInstant"))?;
        let issue_instant = crate::time::parse_xs_datetime(instant)
            .map_err(|e| err(format!("IssueInstant {instant:?} is not an xs:dateTime: {e}")))?;
        Ok(AuthnRequest {
            id: id.to_owned(),
            issuer: issuer.text().trim().to_owned(),
            destination: root.attr("Destination").map(str::to_owned),
            acs_url: root.attr("AssertionConsumerServiceURL").map(str::to_owned),
            issue_instant,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> AuthnRequest {
        AuthnRequest {
            id: "_kensa1".into(),
            issuer: "urn:amazon:webservices".into(),
            destination: Some("http://127.0.0.1:1/saml/sso".into()),
            acs_url: Some("https://signin.aws.amazon.com/saml".into()),
            issue_instant: 1_800_000_000,
        }
    }

    #[test]
    fn a_request_survives_the_redirect_binding() {
        let r = sample();
        assert_eq!(AuthnRequest::from_redirect_param(&r.to_redirect_param()).unwrap(), r);
    }

    #[test]
    fn bad_requests_are_refused_with_the_reason() {
        assert!(AuthnRequest::from_redirect_param("%%%").unwrap_err().0.contains("base64"));
        assert!(AuthnRequest::from_redirect_param(&STANDARD.encode("plain")).unwrap_err().0.contains("DEFLATE"));
        let bomb = {
            use std::io::Write as _;
            let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
            enc.write_all(&vec![b' '; 10 << 20]).unwrap();
            STANDARD.encode(enc.finish().unwrap())
        };
        assert!(AuthnRequest::from_redirect_param(&bomb).unwrap_err().0.contains("inflates past"));
        let no_id = sample().to_xml().replace(r#" ID="_kensa1""#, "");
        assert!(AuthnRequest::parse(&no_id).unwrap_err().0.contains("no ID"));
        let dtd = format!("<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>{}", sample().to_xml());
        assert!(AuthnRequest::parse(&dtd).is_err());
    }
}
