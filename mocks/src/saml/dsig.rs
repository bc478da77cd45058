//! Enveloped XML signatures (XML-DSig 1.1) as SAML uses them: RSA-SHA256
//! over exclusive canonicalization, one reference to the signed element's
//! `ID`. Verification trusts only the keys it is given (from metadata),
//! never the certificate a signature carries in its `KeyInfo`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rsa::pkcs1v15::{SigningKey, VerifyingKey};
use rsa::signature::{SignatureEncoding, Signer, Verifier};
use rsa::{RsaPrivateKey, RsaPublicKey};
use sha2::{Digest, Sha256};

use super::c14n;
use super::xml::{self, Element, XmlError};

/// The XML-DSig namespace.
pub const DSIG_NS: &str = "http://www.w3.org/2000/09/xmldsig#";
/// Exclusive canonicalization without comments.
pub const EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
/// The enveloped-signature transform.
pub const ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
/// RSA PKCS#1 v1.5 with SHA-256 (RFC 6931 2.3.2).
pub const RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
/// SHA-256 digests.
pub const SHA256: &str = "http://www.w3.org/2001/04/xmlenc#sha256";

fn err(msg: impl Into<String>) -> XmlError {
    XmlError(msg.into())
}

/// Decodes base64 that may be wrapped over lines.
///
/// # Errors
/// When it is not base64.
pub fn b64_decode(text: &str, what: &str) -> Result<Vec<u8>, XmlError> {
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    STANDARD.decode(compact).map_err(|e| err(format!("{what} is not base64: {e}")))
}

/// The comment a document template puts where the signature of the
/// element with `ID="id"` goes (after its Issuer, as SAML's schema wants).
#[must_use]
pub fn placeholder(id: &str) -> String {
    // Hex, so that no ID can put `--` (ill-formed) into the comment.
    let hex: String = id.bytes().map(|b| format!("{b:02x}")).collect();
    format!("<!--signature:{hex}-->")
}

/// Finds the element of `root` whose `ID` attribute is `id`.
#[must_use]
pub fn by_id<'a>(root: &'a Element, id: &str) -> Option<&'a Element> {
    root.descendants().into_iter().find(|e| e.attr("ID") == Some(id))
}

/// Signs the element with `ID="id"` of the document `doc`, putting the
/// `ds:Signature` where [`placeholder`] marks it. `cert_der` goes into the
/// signature's `KeyInfo` for the reader's information.
///
/// # Errors
/// When the document does not parse, has no such element or placeholder,
/// or the key cannot sign.
pub fn sign(doc: &str, id: &str, key: &RsaPrivateKey, cert_der: Option<&[u8]>) -> Result<String, XmlError> {
    let parsed = xml::parse(doc)?;
    let el = by_id(&parsed.root, id).ok_or_else(|| err(format!("no element has ID {id}")))?;
    let digest = STANDARD.encode(Sha256::digest(c14n::exclusive(&parsed.root, el, None, &[])?.as_bytes()));
    let signed_info = format!(
        concat!(
            r#"<ds:SignedInfo xmlns:ds="{ns}"><ds:CanonicalizationMethod Algorithm="{c14n}"/>"#,
            r##"<ds:SignatureMethod Algorithm="{alg}"/><ds:Reference URI="#{id}"><ds:Transforms>"##,
            r#"<ds:Transform Algorithm="{env}"/><ds:Transform Algorithm="{c14n}"/></ds:Transforms>"#,
            r#"<ds:DigestMethod Algorithm="{dig}"/><ds:DigestValue>{digest}</ds:DigestValue></ds:Reference></ds:SignedInfo>"#
        ),
        ns = DSIG_NS,
        c14n = EXC_C14N,
        alg = RSA_SHA256,
        env = ENVELOPED,
        dig = SHA256,
        id = xml::escape_attr(id),
        digest = digest,
    );
    let si = xml::parse(&signed_info)?;
    let canonical = c14n::exclusive(&si.root, &si.root, None, &[])?;
    let signer = SigningKey::<Sha256>::new(key.clone());
    let value =
        STANDARD.encode(signer.try_sign(canonical.as_bytes()).map_err(|e| err(format!("signing: {e}")))?.to_bytes());
    let key_info = cert_der.map_or_else(String::new, |der| {
        format!(
            "<ds:KeyInfo><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>",
            STANDARD.encode(der)
        )
    });
    // The SignedInfo is written without its own xmlns:ds: the Signature
    // element declares it, and canonicalization renders it the same.
    let inner = signed_info.replacen(&format!(r#" xmlns:ds="{DSIG_NS}""#), "", 1);
    let signature = format!(
        r#"<ds:Signature xmlns:ds="{DSIG_NS}">{inner}<ds:SignatureValue>{value}</ds:SignatureValue>{key_info}</ds:Signature>"#
    );
    let mark = placeholder(id);
    if !doc.contains(&mark) {
        return Err(err(format!("the document has no signature placeholder for {id}")));
    }
    Ok(doc.replacen(&mark, &signature, 1))
}

/// Whether `el` carries a valid enveloped signature made with one of
/// `keys`: `Ok(false)` when it carries none.
///
/// # Errors
/// When it carries a signature that is malformed, uses another algorithm
/// or transform, references anything but `el`, or does not verify.
pub fn verify(root: &Element, el: &Element, keys: &[RsaPublicKey]) -> Result<bool, XmlError> {
    let mut sigs = el.children_named(DSIG_NS, "Signature");
    let Some(sig) = sigs.next() else { return Ok(false) };
    if sigs.next().is_some() {
        return Err(err(format!("<{el}> carries more than one Signature")));
    }
    let id = el.attr("ID").ok_or_else(|| err(format!("the signed <{el}> has no ID attribute")))?;
    let si = sig.child(DSIG_NS, "SignedInfo").ok_or_else(|| err("the Signature has no SignedInfo"))?;
    let algorithm = |parent: &Element, name: &str| -> Result<String, XmlError> {
        parent
            .child(DSIG_NS, name)
            .and_then(|m| m.attr("Algorithm"))
            .map(str::to_owned)
            .ok_or_else(|| err(format!("the Signature has no {name}")))
    };
    let c14n_alg = algorithm(si, "CanonicalizationMethod")?;
    if c14n_alg != EXC_C14N {
        return Err(err(format!("canonicalization {c14n_alg} is not supported (only exclusive c14n, {EXC_C14N})")));
    }
    let sig_alg = algorithm(si, "SignatureMethod")?;
    if sig_alg != RSA_SHA256 {
        return Err(err(format!("signature method {sig_alg} is not supported (only RSA-SHA256, {RSA_SHA256})")));
    }
    let refs: Vec<&Element> = si.children_named(DSIG_NS, "Reference").collect();
    let [reference] = refs.as_slice() else {
        return Err(err(format!("the SignedInfo has {} References; exactly one is accepted", refs.len())));
    };
    let uri = reference.attr("URI").unwrap_or("");
    if uri != format!("#{id}") {
        return Err(err(format!("the signature references {uri:?}, not the element it sits in (#{id})")));
    }
    let mut inclusive = Vec::new();
    let mut enveloped = false;
    if let Some(transforms) = reference.child(DSIG_NS, "Transforms") {
        for t in transforms.children_named(DSIG_NS, "Transform") {
            match t.attr("Algorithm").unwrap_or("") {
                ENVELOPED => enveloped = true,
                EXC_C14N => inclusive = prefix_list(t),
                other => return Err(err(format!("transform {other:?} is not accepted"))),
            }
        }
    }
    if !enveloped {
        return Err(err("the reference lacks the enveloped-signature transform"));
    }
    let digest_alg = algorithm(reference, "DigestMethod")?;
    if digest_alg != SHA256 {
        return Err(err(format!("digest method {digest_alg} is not supported (only SHA-256)")));
    }
    let expected = b64_decode(
        &reference.child(DSIG_NS, "DigestValue").ok_or_else(|| err("the reference has no DigestValue"))?.text(),
        "DigestValue",
    )?;
    let canonical = c14n::exclusive(root, el, Some(sig), &inclusive)?;
    if Sha256::digest(canonical.as_bytes())[..] != expected[..] {
        return Err(err(format!("the digest of <{el}> does not match its signature: the signed content was changed")));
    }
    let si_canonical = c14n::exclusive(root, si, None, &prefix_list_of(si))?;
    let value = b64_decode(
        &sig.child(DSIG_NS, "SignatureValue").ok_or_else(|| err("the Signature has no SignatureValue"))?.text(),
        "SignatureValue",
    )?;
    let signature =
        rsa::pkcs1v15::Signature::try_from(value.as_slice()).map_err(|e| err(format!("SignatureValue: {e}")))?;
    if keys.is_empty() {
        return Err(err("no signing key is trusted for this issuer"));
    }
    let ok =
        keys.iter().any(|k| VerifyingKey::<Sha256>::new(k.clone()).verify(si_canonical.as_bytes(), &signature).is_ok());
    if ok {
        Ok(true)
    } else {
        Err(err(format!(
            "the signature of <{el}> does not verify with any of the {} trusted signing key(s)",
            keys.len()
        )))
    }
}

fn prefix_list(transform: &Element) -> Vec<String> {
    transform
        .child(EXC_C14N, "InclusiveNamespaces")
        .and_then(|n| n.attr("PrefixList"))
        .map(|l| l.split_ascii_whitespace().map(str::to_owned).collect())
        .unwrap_or_default()
}

fn prefix_list_of(signed_info: &Element) -> Vec<String> {
    signed_info.child(DSIG_NS, "CanonicalizationMethod").map(prefix_list).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use rsa::pkcs8::DecodePrivateKey;

    use super::*;

    pub(crate) fn key() -> RsaPrivateKey {
        RsaPrivateKey::from_pkcs8_pem(include_str!("../../../fixtures/keys/saml-1.pem")).unwrap()
    }

    const DOC: &str = r#"<r:Root xmlns:r="urn:r"><r:Item ID="_a1" xmlns:s="urn:s"><r:Issuer>me</r:Issuer><!--signature:5f6131--><r:V s:x="1">v &amp; w</r:V></r:Item></r:Root>"#;

    #[test]
    fn placeholders_stay_well_formed() {
        let p = placeholder("_a--b");
        assert!(!p[4..p.len() - 3].contains("--"), "{p}");
        assert!(xml::parse(&format!("<r>{p}</r>")).is_ok());
    }

    #[test]
    fn signs_and_verifies_and_notices_changes() {
        let k = key();
        let signed = sign(DOC, "_a1", &k, None).unwrap();
        let d = xml::parse(&signed).unwrap();
        let item = by_id(&d.root, "_a1").unwrap();
        assert_eq!(verify(&d.root, item, &[k.to_public_key()]), Ok(true));
        // A changed value breaks the digest.
        let changed = signed.replace("v &amp; w", "v &amp; x");
        let d = xml::parse(&changed).unwrap();
        let e = verify(&d.root, by_id(&d.root, "_a1").unwrap(), &[k.to_public_key()]).unwrap_err();
        assert!(e.0.contains("digest"), "{e}");
        // Another key does not verify it.
        let other = RsaPrivateKey::from_pkcs8_pem(include_str!("../../../fixtures/keys/saml-2.pem")).unwrap();
        let d = xml::parse(&signed).unwrap();
        let e = verify(&d.root, by_id(&d.root, "_a1").unwrap(), &[other.to_public_key()]).unwrap_err();
        assert!(e.0.contains("does not verify"), "{e}");
        // Unsigned: no signature.
        let d = xml::parse(DOC).unwrap();
        assert_eq!(verify(&d.root, by_id(&d.root, "_a1").unwrap(), &[k.to_public_key()]), Ok(false));
    }
}
