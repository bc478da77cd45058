//! The reference IdP's SAML 2.0 side: metadata, IdP- and SP-initiated Web
//! SSO to AWS (AuthnRequests on HTTP-Redirect, Responses on HTTP-POST,
//! saml-bindings-2.0-os 3.4 and 3.5), signed Response and
//! Assertion (RSA-SHA256, exclusive c14n), and signing-key rotation on
//! demand. Each fault of the `saml-` family breaks one rule AWS STS applies.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rsa::RsaPrivateKey;
use rsa::pkcs8::DecodePrivateKey;

use super::authorize::login_response;
use super::html::{error_page, escape};
use super::store::AuthRequest;
use super::util::{cookie, random_token};
use super::{App, BROWSER_COOKIE, Fault, IdpError, SESSION_COOKIE};
use crate::saml::authn::AuthnRequest;
use crate::saml::metadata;
use crate::saml::response::{Attribute, ResponseSpec};
use crate::sts::rules::{AWS_ENTITY, Linkage, ROLE_ATTR, SESSION_DURATION_ATTR, SESSION_NAME_ATTR, SIGNIN};

/// Lifetime of an assertion, in seconds: NotOnOrAfter after IssueInstant.
pub const ASSERTION_TTL: i64 = 300;

/// One SAML signing key and its certificate.
#[derive(Clone)]
pub struct SamlKey {
    private: RsaPrivateKey,
    cert_der: Vec<u8>,
}

impl std::fmt::Debug for SamlKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SamlKey").finish_non_exhaustive()
    }
}

impl SamlKey {
    /// A key from a PKCS#8 PEM private key and its PEM certificate.
    ///
    /// # Errors
    /// When either does not parse or they do not belong together.
    pub fn from_pem(key_pem: &str, cert_pem: &str) -> Result<SamlKey, IdpError> {
        let bad = |reason: String| IdpError::InvalidKey { key: "saml", reason };
        let private = RsaPrivateKey::from_pkcs8_pem(key_pem).map_err(|e| bad(e.to_string()))?;
        let body: String = cert_pem.lines().filter(|l| !l.starts_with("-----")).collect();
        let cert_der = STANDARD.decode(body.trim()).map_err(|e| bad(format!("certificate: {e}")))?;
        let public = metadata::certificate_key(&cert_der).map_err(|e| bad(e.0))?;
        if public != private.to_public_key() {
            return Err(bad("the certificate is not the private key's".into()));
        }
        Ok(SamlKey { private, cert_der })
    }
}

/// The SAML IdP's configuration.
#[derive(Debug, Clone)]
pub struct SamlIdp {
    /// Signing keys in rotation order; the first signs until a rotation.
    pub keys: Vec<SamlKey>,
    /// A key never published (the `saml-signed-by-unpublished-key` fault).
    pub rogue: RsaPrivateKey,
    /// The AWS account, role and provider the assertions are for.
    pub linkage: Linkage,
}

impl SamlIdp {
    /// The configuration with `keys` in rotation order, the rogue key from
    /// a PKCS#8 PEM, and the AWS linkage.
    ///
    /// # Errors
    /// When there is no key or the rogue key does not parse.
    pub fn new(keys: Vec<SamlKey>, rogue_pem: &str, linkage: Linkage) -> Result<SamlIdp, IdpError> {
        if keys.is_empty() {
            return Err(IdpError::InvalidKey { key: "saml", reason: "at least one SAML signing key is needed".into() });
        }
        let rogue = RsaPrivateKey::from_pkcs8_pem(rogue_pem)
            .map_err(|e| IdpError::InvalidKey { key: "rs256-rogue", reason: e.to_string() })?;
        Ok(SamlIdp { keys, rogue, linkage })
    }
}

/// The IdP's SAML entity id.
pub(crate) fn entity_id(app: &App) -> String {
    format!("{}/saml", app.issuer)
}

fn saml(app: &App) -> Result<&SamlIdp, Box<Response>> {
    app.config
        .saml
        .as_ref()
        .ok_or_else(|| Box::new(error_page(StatusCode::NOT_FOUND, "This IdP has no SAML configuration.")))
}

fn xml_response(body: String) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/samlmetadata+xml"), (header::CACHE_CONTROL, "no-store")],
        body,
    )
        .into_response()
}

/// `GET /saml/metadata`: the entity, its SSO endpoint and the current
/// signing certificate.
pub(crate) async fn metadata(State(app): State<Arc<App>>) -> Response {
    let cfg = match saml(&app) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let current = app.saml_key.load(Ordering::SeqCst) % cfg.keys.len();
    // The stale-metadata fault keeps publishing the first key after rotating.
    let published = if app.has(Fault::SamlRotationMetadataStale) { 0 } else { current };
    let certs =
        if app.has(Fault::SamlMetadataNoSigningKey) { Vec::new() } else { vec![cfg.keys[published].cert_der.clone()] };
    xml_response(metadata::build(&entity_id(&app), &format!("{}/saml/sso", app.issuer), &certs))
}

/// `POST /saml/rotate`: the next signing key takes over (the test IdP's
/// stand-in for an administrator rotating the key); `?restore=1` puts the
/// first key back. Answers the new metadata.
pub(crate) async fn rotate(
    State(app): State<Arc<App>>,
    Query(query): Query<std::collections::HashMap<String, String>>,
) -> Response {
    let cfg = match saml(&app) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let next =
        if query.contains_key("restore") { 0 } else { (app.saml_key.load(Ordering::SeqCst) + 1) % cfg.keys.len() };
    app.saml_key.store(next, Ordering::SeqCst);
    metadata(State(app)).await
}

/// `GET /saml/sso`: Web SSO to AWS, the only service provider configured.
/// IdP-initiated with `?sp=urn:amazon:webservices[&RelayState=..]`;
/// SP-initiated with `?SAMLRequest=..[&RelayState=..]`, an AuthnRequest on
/// the HTTP-Redirect binding (SAML bindings 3.4), whose ID the Response
/// answers in InResponseTo (SAML profiles 4.1.4.2). Signed in: the
/// auto-posting form with the SAMLResponse. Otherwise the login page, which
/// ends in that form.
pub(crate) async fn sso(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Query(query): Query<std::collections::HashMap<String, String>>,
) -> Response {
    if let Err(r) = saml(&app) {
        return *r;
    }
    let (sp, request_id) = match query.get("SAMLRequest") {
        Some(value) => match authn_request(&app, value) {
            Ok(id) => (AWS_ENTITY, Some(id)),
            Err(reason) => return error_page(StatusCode::BAD_REQUEST, &format!("SAMLRequest refused: {reason}")),
        },
        None => (query.get("sp").map(String::as_str).unwrap_or(AWS_ENTITY), None),
    };
    if sp != AWS_ENTITY {
        return error_page(
            StatusCode::BAD_REQUEST,
            "Unknown service provider: only urn:amazon:webservices is configured.",
        );
    }
    // The in-response-to fault answers as if the request were unsolicited.
    let request_id = request_id.filter(|_| !app.has(Fault::SamlInResponseToMissing));
    let relay_state = query.get("RelayState").cloned();
    let session = cookie(&headers, SESSION_COOKIE).and_then(|id| {
        let store = app.store();
        store.session(&id).filter(|s| app.user_exists(&store, &s.sub)).cloned()
    });
    if let Some(s) = session {
        return post_form(&app, &s.sub, relay_state.as_deref(), request_id.as_deref());
    }
    let request = AuthRequest {
        client_id: sp.to_owned(),
        redirect_uri: None,
        redirect_target: SIGNIN.to_owned(),
        scope: Vec::new(),
        state: None,
        nonce: None,
        code_challenge: None,
        claims: None,
        saml_relay_state: Some(relay_state.unwrap_or_default()),
        saml_request_id: request_id,
    };
    let existing_browser = cookie(&headers, BROWSER_COOKIE);
    let browser = existing_browser.clone().unwrap_or_else(random_token);
    let (pending_id, csrf_token) = app.store().add_pending(request, browser.clone());
    let page = super::html::login_page(sp, &pending_id, &csrf_token, None);
    login_response(page, existing_browser.is_none().then_some(browser.as_str()))
}

/// Reads an AuthnRequest and checks it comes from the configured service
/// provider and asks for the Response at its registered endpoint; answers
/// its ID.
fn authn_request(app: &App, value: &str) -> Result<String, String> {
    let req = AuthnRequest::from_redirect_param(value).map_err(|e| e.0)?;
    if req.issuer != AWS_ENTITY {
        return Err(format!("unknown service provider {:?}: only {AWS_ENTITY} is configured", req.issuer));
    }
    // SAML core 3.4.1: an AssertionConsumerServiceURL must be one the IdP
    // knows for that SP; SAML bindings 3.4.5.2: a Destination must be here.
    if let Some(acs) = req.acs_url.as_deref().filter(|a| *a != SIGNIN) {
        return Err(format!("AssertionConsumerServiceURL {acs:?} is not the service provider's ({SIGNIN})"));
    }
    let here = format!("{}/saml/sso", app.issuer);
    if let Some(dest) = req.destination.as_deref().filter(|d| *d != here) {
        return Err(format!("Destination {dest:?} is not this endpoint ({here})"));
    }
    Ok(req.id)
}

/// The auto-posting form that carries the signed SAMLResponse for `sub`
/// to AWS's sign-in endpoint, answering the AuthnRequest `in_response_to`
/// when SP-initiated.
pub(crate) fn post_form(app: &App, sub: &str, relay_state: Option<&str>, in_response_to: Option<&str>) -> Response {
    let cfg = match saml(app) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let xml = match build_response(app, cfg, sub, in_response_to) {
        Ok(x) => x,
        Err(e) => return error_page(StatusCode::INTERNAL_SERVER_ERROR, &format!("SAML response: {e}")),
    };
    let relay = relay_state
        .filter(|r| !r.is_empty())
        .map(|r| format!("<input type=\"hidden\" name=\"RelayState\" value=\"{}\">\n", escape(r)))
        .unwrap_or_default();
    let body = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Continue to AWS</title></head>\n\
         <body onload=\"document.forms[0].submit()\">\n\
         <form id=\"saml-post\" method=\"post\" action=\"{action}\">\n\
         <input type=\"hidden\" name=\"SAMLResponse\" value=\"{response}\">\n{relay}\
         <noscript><button type=\"submit\">Continue</button></noscript>\n</form>\n</body></html>\n",
        action = escape(SIGNIN),
        response = STANDARD.encode(xml),
    );
    let mut r = (StatusCode::OK, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response();
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn build_response(app: &App, cfg: &SamlIdp, sub: &str, in_response_to: Option<&str>) -> Result<String, String> {
    let user = app.realm().user_by_sub(sub).ok_or("SAML SSO is only for realm users")?;
    let at = app.now() as i64;
    let entity = entity_id(app);
    let linkage = &cfg.linkage;
    let mut spec = ResponseSpec {
        response_id: format!("_r{}", random_token().replace(['-', '_'], "")),
        assertion_id: format!("_a{}", random_token().replace(['-', '_'], "")),
        issue_instant: at,
        destination: Some(SIGNIN.to_owned()),
        issuer: entity.clone(),
        in_response_to: in_response_to.map(str::to_owned),
        name_id: (sub.to_owned(), "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent".to_owned()),
        recipient: SIGNIN.to_owned(),
        subject_not_on_or_after: at + ASSERTION_TTL,
        not_before: at,
        not_on_or_after: at + ASSERTION_TTL,
        audiences: vec![SIGNIN.to_owned()],
        session_index: format!("_s{}", random_token()),
        attributes: vec![
            Attribute { name: ROLE_ATTR.to_owned(), values: vec![linkage.role_value()] },
            Attribute { name: SESSION_NAME_ATTR.to_owned(), values: vec![user.username.clone()] },
            Attribute { name: SESSION_DURATION_ATTR.to_owned(), values: vec![linkage.session_duration.to_string()] },
        ],
        sign_response: true,
        sign_assertion: true,
    };
    match app.config.fault {
        Some(Fault::SamlUnsigned) => {
            spec.sign_response = false;
            spec.sign_assertion = false;
        }
        Some(Fault::SamlIssuerWrong) => spec.issuer = format!("{}/other-idp", app.issuer),
        Some(Fault::SamlAudienceWrong) => spec.audiences = vec![entity.clone()],
        Some(Fault::SamlRecipientWrong) => spec.recipient = format!("{}/saml/acs", app.issuer),
        Some(Fault::SamlDestinationWrong) => spec.destination = Some(format!("{}/saml/acs", app.issuer)),
        Some(Fault::SamlAssertionExpired) => {
            spec.not_on_or_after = at - 2 * crate::sts::rules::CLOCK_SKEW;
            spec.subject_not_on_or_after = spec.not_on_or_after;
        }
        Some(Fault::SamlNotYetValid) => spec.not_before = at + 2 * crate::sts::rules::CLOCK_SKEW,
        Some(Fault::SamlLifetimeDay) => {
            spec.not_on_or_after = at + 86_400;
            spec.subject_not_on_or_after = at + 86_400;
        }
        Some(Fault::SamlRoleMissing) => spec.attributes.retain(|a| a.name != ROLE_ATTR),
        Some(Fault::SamlRolePairIncomplete) => {
            if let Some(v) = attr_values(&mut spec, ROLE_ATTR) {
                *v = vec![linkage.role_arn()];
            }
        }
        Some(Fault::SamlSessionNameInvalid) => {
            let display = user.claims.get("name").and_then(|n| n.as_str()).unwrap_or("Alice Example").to_owned();
            if let Some(v) = attr_values(&mut spec, SESSION_NAME_ATTR) {
                *v = vec![format!("{display} (staff)")];
            }
        }
        Some(Fault::SamlSessionDurationOutOfRange) => {
            if let Some(v) = attr_values(&mut spec, SESSION_DURATION_ATTR) {
                *v = vec!["60".to_owned()];
            }
        }
        _ => {}
    }
    let current = &cfg.keys[app.saml_key.load(Ordering::SeqCst) % cfg.keys.len()];
    let key = if app.has(Fault::SamlSignedByUnpublishedKey) { &cfg.rogue } else { &current.private };
    let mut xml = spec.build(key, Some(&current.cert_der)).map_err(|e| e.0)?;
    if app.has(Fault::SamlAlteredAfterSigning) {
        // The subject is swapped after signing, as a tampering proxy would:
        // the digests no longer match.
        xml = xml.replacen(&format!(">{sub}</saml:NameID>"), ">someone-else</saml:NameID>", 1);
    }
    Ok(xml)
}

fn attr_values<'a>(spec: &'a mut ResponseSpec, name: &str) -> Option<&'a mut Vec<String>> {
    spec.attributes.iter_mut().find(|a| a.name == name).map(|a| &mut a.values)
}
