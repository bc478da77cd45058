//! SAML 2.0 IdP metadata (saml-metadata-2.0-os): what an IAM SAML
//! provider keeps of it, the entity id and the signing keys.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rsa::pkcs8::DecodePublicKey;
use rsa::{BigUint, RsaPublicKey};

use super::dsig::{DSIG_NS, b64_decode};
use super::xml::{self, Element, XmlError, escape_attr};

/// The SAML metadata namespace.
pub const MD_NS: &str = "urn:oasis:names:tc:SAML:2.0:metadata";
/// The HTTP-Redirect binding.
pub const REDIRECT_BINDING: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";

/// What a relying party keeps of an IdP's metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct IdpMetadata {
    /// The IdP's entity id.
    pub entity_id: String,
    /// Its single sign-on endpoints (binding, location).
    pub sso: Vec<(String, String)>,
    /// Its signing keys.
    pub keys: Vec<RsaPublicKey>,
}

fn err(msg: impl Into<String>) -> XmlError {
    XmlError(msg.into())
}

/// Metadata for an IdP with `entity_id`, its SSO endpoint and the DER
/// certificates of its signing keys.
#[must_use]
pub fn build(entity_id: &str, sso_url: &str, certs: &[Vec<u8>]) -> String {
    let mut keys = String::new();
    for der in certs {
        keys.push_str(&format!(
            r#"<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"#,
            STANDARD.encode(der)
        ));
    }
    format!(
        concat!(
            r#"<?xml version="1.0" encoding="UTF-8"?>"#,
            r#"<md:EntityDescriptor xmlns:md="{md}" xmlns:ds="{ds}" entityID="{entity}">"#,
            r#"<md:IDPSSODescriptor WantAuthnRequestsSigned="false" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">"#,
            "{keys}",
            r#"<md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</md:NameIDFormat>"#,
            r#"<md:SingleSignOnService Binding="{binding}" Location="{sso}"/>"#,
            r#"</md:IDPSSODescriptor></md:EntityDescriptor>"#
        ),
        md = MD_NS,
        ds = DSIG_NS,
        entity = escape_attr(entity_id),
        keys = keys,
        binding = REDIRECT_BINDING,
        sso = escape_attr(sso_url),
    )
}

/// The public key of a DER X.509 certificate.
///
/// # Errors
/// When it is not a certificate with an RSA key.
pub fn certificate_key(der: &[u8]) -> Result<RsaPublicKey, XmlError> {
    use x509_cert::der::{Decode, Encode};
    let cert = x509_cert::Certificate::from_der(der).map_err(|e| err(format!("X509Certificate: {e}")))?;
    let spki =
        cert.tbs_certificate.subject_public_key_info.to_der().map_err(|e| err(format!("X509Certificate: {e}")))?;
    RsaPublicKey::from_public_key_der(&spki).map_err(|e| err(format!("X509Certificate: the key is not RSA: {e}")))
}

fn key_of(key_info: &Element) -> Result<Option<RsaPublicKey>, XmlError> {
    if let Some(cert) = key_info.child(DSIG_NS, "X509Data").and_then(|d| d.child(DSIG_NS, "X509Certificate")) {
        return certificate_key(&b64_decode(&cert.text(), "X509Certificate")?).map(Some);
    }
    if let Some(rsa) = key_info.child(DSIG_NS, "KeyValue").and_then(|v| v.child(DSIG_NS, "RSAKeyValue")) {
        let part = |name: &str| -> Result<BigUint, XmlError> {
            let el = rsa.child(DSIG_NS, name).ok_or_else(|| err(format!("RSAKeyValue has no {name}")))?;
            Ok(BigUint::from_bytes_be(&b64_decode(&el.text(), name)?))
        };
        return RsaPublicKey::new(part("Modulus")?, part("Exponent")?)
            .map(Some)
            .map_err(|e| err(format!("RSAKeyValue: {e}")));
    }
    Ok(None)
}

/// Reads IdP metadata: an `EntityDescriptor` (or the first one with an
/// IdP role inside an `EntitiesDescriptor`).
///
/// # Errors
/// When it is not IdP metadata or names no usable signing key.
pub fn parse(text: &str) -> Result<IdpMetadata, XmlError> {
    let doc = xml::parse(text)?;
    let entity = if doc.root.is(MD_NS, "EntityDescriptor") {
        &doc.root
    } else if doc.root.is(MD_NS, "EntitiesDescriptor") {
        doc.root
            .children_named(MD_NS, "EntityDescriptor")
            .find(|e| e.child(MD_NS, "IDPSSODescriptor").is_some())
            .ok_or_else(|| err("the EntitiesDescriptor holds no IdP"))?
    } else {
        return Err(err(format!("<{}> is not SAML metadata (md:EntityDescriptor)", doc.root)));
    };
    let entity_id = entity.attr("entityID").ok_or_else(|| err("the EntityDescriptor has no entityID"))?.to_owned();
    let idp =
        entity.child(MD_NS, "IDPSSODescriptor").ok_or_else(|| err(format!("{entity_id} has no IDPSSODescriptor")))?;
    let mut keys = Vec::new();
    for kd in idp.children_named(MD_NS, "KeyDescriptor") {
        if kd.attr("use").is_some_and(|u| u != "signing") {
            continue;
        }
        if let Some(ki) = kd.child(DSIG_NS, "KeyInfo")
            && let Some(k) = key_of(ki)?
        {
            keys.push(k);
        }
    }
    if keys.is_empty() {
        return Err(err(format!("the metadata of {entity_id} names no signing key")));
    }
    let sso = idp
        .children_named(MD_NS, "SingleSignOnService")
        .filter_map(|s| Some((s.attr("Binding")?.to_owned(), s.attr("Location")?.to_owned())))
        .collect();
    Ok(IdpMetadata { entity_id, sso, keys })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cert(name: &str) -> Vec<u8> {
        let pem = std::fs::read_to_string(format!("{}/../fixtures/keys/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap();
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        STANDARD.decode(body).unwrap()
    }

    #[test]
    fn round_trips_and_refuses_keyless_metadata() {
        let xml = build("http://idp/saml", "http://idp/saml/sso", &[cert("saml-1.crt")]);
        let md = parse(&xml).unwrap();
        assert_eq!(md.entity_id, "http://idp/saml");
        assert_eq!(md.keys.len(), 1);
        assert_eq!(md.sso[0].1, "http://idp/saml/sso");
        let keyless = build("http://idp/saml", "http://idp/saml/sso", &[]);
        assert!(parse(&keyless).unwrap_err().0.contains("no signing key"));
        assert!(parse("<x/>").is_err());
    }
}
