//! SAML signatures against an independent implementation: xmlsec1 (the
//! XML Security Library's command line, Debian package `xmlsec1`) verifies
//! what the reference IdP signs, and kensa verifies what xmlsec1 signs.

use std::path::{Path, PathBuf};
use std::process::Command;

use kensa_mocks::saml::response::{self, Attribute, ResponseSpec};
use kensa_mocks::saml::{dsig, xml};
use rsa::RsaPrivateKey;
use rsa::pkcs8::DecodePrivateKey;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures");

fn key(n: u8) -> RsaPrivateKey {
    RsaPrivateKey::from_pkcs8_pem(&std::fs::read_to_string(format!("{FIXTURES}/keys/saml-{n}.pem")).unwrap()).unwrap()
}

/// xmlsec1, or `None` with the reason printed. Under CI it must be there:
/// .ci/run installs it.
fn xmlsec1() -> Option<&'static str> {
    if Command::new("xmlsec1").arg("--version").output().is_ok_and(|o| o.status.success()) {
        return Some("xmlsec1");
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "xmlsec1 is missing under CI: .ci/run must install the Debian package xmlsec1"
    );
    eprintln!("SKIP: xmlsec1 is not installed (apt-get install xmlsec1); the cross-check with it did not run");
    None
}

fn spec(now: i64) -> ResponseSpec {
    ResponseSpec {
        response_id: "_r1".into(),
        assertion_id: "_a1".into(),
        issue_instant: now,
        destination: Some("https://signin.aws.amazon.com/saml".into()),
        issuer: "http://127.0.0.1:1/saml".into(),
        in_response_to: None,
        name_id: ("alice & <co>".into(), "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent".into()),
        recipient: "https://signin.aws.amazon.com/saml".into(),
        subject_not_on_or_after: now + 300,
        not_before: now,
        not_on_or_after: now + 300,
        audiences: vec!["https://signin.aws.amazon.com/saml".into()],
        session_index: "_s1".into(),
        attributes: vec![Attribute {
            name: "https://aws.amazon.com/SAML/Attributes/RoleSessionName".into(),
            values: vec!["alice".into()],
        }],
        sign_response: true,
        sign_assertion: true,
    }
}

fn tmp(name: &str, text: &str) -> (tempdir::Dir, PathBuf) {
    let dir = tempdir::Dir::new();
    let path = dir.0.join(name);
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

mod tempdir {
    pub struct Dir(pub std::path::PathBuf);
    impl Dir {
        pub fn new() -> Dir {
            use std::sync::atomic::{AtomicUsize, Ordering};
            static N: AtomicUsize = AtomicUsize::new(0);
            let p = std::env::temp_dir().join(format!(
                "kensa-saml-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::SeqCst)
            ));
            std::fs::create_dir_all(&p).unwrap();
            Dir(p)
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

fn xmlsec_verify(bin: &str, file: &Path, cert: &str, node: &str) -> std::process::Output {
    Command::new(bin)
        .args(["--verify", "--pubkey-cert-pem", cert, "--id-attr:ID", "urn:oasis:names:tc:SAML:2.0:protocol:Response"])
        .args(["--id-attr:ID", "urn:oasis:names:tc:SAML:2.0:assertion:Assertion", "--node-xpath", node])
        .arg(file)
        .output()
        .unwrap()
}

#[test]
fn xmlsec1_verifies_what_the_reference_idp_signs() {
    let Some(bin) = xmlsec1() else { return };
    let signed = spec(kensa_mocks::time::now_secs()).build(&key(1), None).unwrap();
    let (_d, file) = tmp("signed.xml", &signed);
    let cert = format!("{FIXTURES}/keys/saml-1.crt");
    for node in ["/*/*[local-name()='Signature']", "/*/*[local-name()='Assertion']/*[local-name()='Signature']"] {
        let out = xmlsec_verify(bin, &file, &cert, node);
        assert!(out.status.success(), "xmlsec1 refused {node}: {}", String::from_utf8_lossy(&out.stderr));
    }
    // And it refuses them with another key's certificate.
    let out = xmlsec_verify(bin, &file, &format!("{FIXTURES}/keys/saml-2.crt"), "/*/*[local-name()='Signature']");
    assert!(!out.status.success(), "xmlsec1 accepted a signature with the wrong certificate");
}

#[test]
fn kensa_verifies_what_xmlsec1_signs() {
    let Some(bin) = xmlsec1() else { return };
    // Unusual but valid layout: namespaces declared high up and unused,
    // attributes out of order, whitespace and a comment inside the signed
    // element, an inclusive prefix list; xmlsec1 fills the signature in.
    let template = r##"<?xml version="1.0"?>
<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:unused="urn:x" Version="2.0" ID="_r9" IssueInstant="2026-01-01T00:00:00Z">
  <saml:Issuer xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">http://idp</saml:Issuer>
  <samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>
  <saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" Version="2.0" IssueInstant="2026-01-01T00:00:00Z" ID="_a9">
    <saml:Issuer>http://idp</saml:Issuer>
    <ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#">
      <ds:SignedInfo>
        <ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>
        <ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>
        <ds:Reference URI="#_a9">
          <ds:Transforms>
            <ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>
            <ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"><ec:InclusiveNamespaces xmlns:ec="http://www.w3.org/2001/10/xml-exc-c14n#" PrefixList="xs"/></ds:Transform>
          </ds:Transforms>
          <ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>
          <ds:DigestValue/>
        </ds:Reference>
      </ds:SignedInfo>
      <ds:SignatureValue/>
    </ds:Signature>
    <saml:Subject><saml:NameID>alice<!-- a comment the digest ignores --></saml:NameID></saml:Subject>
    <saml:AttributeStatement><saml:Attribute Name="a"><saml:AttributeValue xsi:type="xs:string">v &amp; w &#x41;	tab</saml:AttributeValue></saml:Attribute></saml:AttributeStatement>
  </saml:Assertion>
</samlp:Response>
"##;
    let (_d, file) = tmp("template.xml", template);
    let out = Command::new(bin)
        .args(["--sign", "--privkey-pem", &format!("{FIXTURES}/keys/saml-1.pem")])
        .args(["--id-attr:ID", "urn:oasis:names:tc:SAML:2.0:assertion:Assertion"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success(), "xmlsec1 --sign failed: {}", String::from_utf8_lossy(&out.stderr));
    let signed = String::from_utf8(out.stdout).unwrap();
    let doc = xml::parse(&signed).unwrap();
    let assertion = dsig::by_id(&doc.root, "_a9").unwrap();
    assert_eq!(dsig::verify(&doc.root, assertion, &[key(1).to_public_key()]), Ok(true));
    assert!(dsig::verify(&doc.root, assertion, &[key(2).to_public_key()]).is_err());
    // The comment in NameID is refused when the assertion is read.
    let e = response::read(&signed, &[key(1).to_public_key()]).unwrap_err();
    assert!(e.to_string().contains("comment"), "{e}");
}

#[test]
fn reads_back_what_it_builds() {
    let now = kensa_mocks::time::now_secs();
    let signed = spec(now).build(&key(1), None).unwrap();
    let a = response::read(&signed, &[key(1).to_public_key()]).unwrap();
    assert!(a.response_signed && a.assertion_signed);
    assert_eq!(a.name_id.as_deref(), Some("alice & <co>"));
    assert_eq!(a.issuer, "http://127.0.0.1:1/saml");
    assert_eq!(a.not_on_or_after, Some(now + 300));
    assert_eq!(a.audience_restrictions, vec![vec!["https://signin.aws.amazon.com/saml".to_owned()]]);
    let e = response::read(&signed, &[key(2).to_public_key()]).unwrap_err();
    assert!(matches!(e, response::SamlError::Signature(_)), "{e}");
}

/// The hostile-XML corpus of `fixtures/saml-attacks/`: each file must be
/// refused with its reason. `KENSA_WRITE_ATTACK_CORPUS=1` rewrites the
/// files that are derived from a signed Response.
#[test]
fn attack_corpus_is_refused() {
    let dir = Path::new(FIXTURES).join("saml-attacks");
    if std::env::var_os("KENSA_WRITE_ATTACK_CORPUS").is_some() {
        write_corpus(&dir);
    }
    let index: toml::Value = toml::from_str(&std::fs::read_to_string(dir.join("index.toml")).unwrap()).unwrap();
    let attacks = index["attack"].as_array().unwrap();
    assert!(attacks.len() >= 10, "the corpus has {} attacks", attacks.len());
    let mut listed = std::collections::BTreeSet::new();
    for a in attacks {
        let file = a["file"].as_str().unwrap();
        let refused = a["refused"].as_str().unwrap();
        listed.insert(file.to_owned());
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        let started = std::time::Instant::now();
        let e = response::read(&text, &[key(1).to_public_key()]).expect_err(file);
        assert!(
            e.to_string().contains(refused),
            "{file}: refused with {e:?}, expected a reason containing {refused:?}"
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(2), "{file} took {:?}", started.elapsed());
    }
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if name.ends_with(".xml") {
            assert!(listed.contains(&name), "{name} is not listed in index.toml");
        }
    }
}

fn write_corpus(dir: &Path) {
    // A validly signed Assertion in an unsigned Response: the attacker may
    // change everything outside the signed Assertion.
    let mut s = spec(1_796_000_000);
    s.name_id.0 = "alice".into();
    s.sign_response = false;
    let signed = s.build(&key(1), None).unwrap();
    let start = signed.find("<saml:Assertion").unwrap();
    let end = signed.rfind("</saml:Assertion>").unwrap() + "</saml:Assertion>".len();
    let original = &signed[start..end];
    let evil = original.replace(">alice<", ">mallory<").replacen(r#"ID="_a1""#, r#"ID="_evil""#, 1);
    let evil_unsigned = {
        let a = evil.find("<ds:Signature").unwrap();
        let b = evil.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
        format!("{}{}", &evil[..a], &evil[b..])
    };
    let with = |assertions: &str| format!("{}{}{}", &signed[..start], assertions, &signed[end..]);
    let write = |name: &str, text: String| std::fs::write(dir.join(name), text).unwrap();
    // XSW: the evil, unsigned assertion first, the signed original after it.
    write("xsw-evil-assertion-first.xml", with(&format!("{evil_unsigned}{original}")));
    // XSW: the signed original hidden inside the evil assertion.
    write(
        "xsw-original-inside-evil.xml",
        with(&evil_unsigned.replacen("</saml:Assertion>", &format!("{original}</saml:Assertion>"), 1)),
    );
    // XSW: the original moved into an Extensions element, the evil one in its place.
    write(
        "xsw-original-in-extensions.xml",
        with(&format!("<samlp:Extensions>{original}</samlp:Extensions>{evil_unsigned}")),
    );
    // The evil assertion takes the signed one's ID.
    let dup = evil_unsigned.replacen(r#"ID="_evil""#, r#"ID="_a1""#, 1);
    write("duplicate-id.xml", with(&format!("{original}<samlp:Extensions>{dup}</samlp:Extensions>")));
    // The signature moved out of the original into the evil assertion.
    let sig_start = original.find("<ds:Signature").unwrap();
    let sig_end = original.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
    let sig = &original[sig_start..sig_end];
    write(
        "signature-references-other-element.xml",
        with(&evil_unsigned.replacen("</saml:Issuer>", &format!("</saml:Issuer>{sig}"), 1)),
    );
    // No signature at all.
    write("unsigned-assertion.xml", with(&evil_unsigned));
    // A comment splits the NameID: the digest ignores it, a naive reader stops at it.
    // The attacker's own account, alice.evil, signed; the comment makes a
    // naive reader see alice.
    let mut own = spec(1_796_000_000);
    own.name_id.0 = "alice.evil".into();
    own.sign_response = false;
    let own = own.build(&key(1), None).unwrap();
    write("comment-in-nameid.xml", own.replace(">alice.evil<", ">alice<!---->.evil<"));
    // The signed value changed.
    write("digest-mismatch.xml", with(&original.replace(">alice<", ">mallory<")));
}
