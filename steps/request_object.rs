//! Request objects (OpenID Connect Core 6): the authorization request as an
//! unsigned JWT, by value (`request`) or by reference (`request_uri`).

use anyhow::anyhow;
use cucumber::{then, when};
use kensa::login::Outcome;
use kensa::oidc::authz::AuthRequest;
use kensa::world::{KensaWorld, StepResult};
use serde_json::{Map, Value};

use super::token::{Exchange, exchange};

/// An unsigned request object (`alg` `none`, empty signature) carrying every
/// parameter of `req`, addressed from the client to the issuer.
fn unsigned_request_object(req: &AuthRequest, issuer: &str) -> String {
    let mut claims: Map<String, Value> = req.params().into_iter().map(|(k, v)| (k, Value::String(v))).collect();
    claims.insert("iss".into(), Value::String(req.client_id.clone()));
    claims.insert("aud".into(), Value::String(issuer.to_owned()));
    let header = kensa::oidc::b64url(br#"{"alg":"none"}"#);
    let payload = kensa::oidc::b64url(Value::Object(claims).to_string().as_bytes());
    format!("{header}.{payload}.")
}

/// The query that goes with a request object: what OAuth 2.0 requires
/// outside it (OpenID Connect Core 6.1), and the redirect URI unless the
/// object alone is to carry it.
fn outer(req: &AuthRequest, with_redirect: bool) -> Vec<(String, String)> {
    let mut q = vec![
        ("response_type".to_owned(), "code".to_owned()),
        ("client_id".to_owned(), req.client_id.clone()),
        ("scope".to_owned(), "openid".to_owned()),
    ];
    if with_redirect {
        q.push(("redirect_uri".into(), req.redirect_uri.clone()));
    }
    q
}

#[when("the client sends its authorization request as an unsigned request object")]
async fn by_value(w: &mut KensaWorld) -> StepResult {
    let req = w.new_auth_request()?;
    let jwt = unsigned_request_object(&req, w.issuer());
    let mut q = outer(&req, true);
    q.push(("request".into(), jwt));
    w.run_login_with_query(req, q).await?;
    Ok(())
}

#[when("the client sends an unsigned request object that alone carries the redirect URI")]
async fn redirect_inside(w: &mut KensaWorld) -> StepResult {
    let req = w.new_auth_request()?;
    let jwt = unsigned_request_object(&req, w.issuer());
    let mut q = outer(&req, false);
    q.push(("request".into(), jwt));
    w.run_login_with_query(req, q).await?;
    Ok(())
}

#[when("the client sends its authorization request as an unsigned request object by reference")]
async fn by_reference(w: &mut KensaWorld) -> StepResult {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let req = w.new_auth_request()?;
    let jwt = unsigned_request_object(&req, w.issuer());
    // The request object is served from 127.0.0.1 for the IdP to fetch
    // (OpenID Connect Core 6.2); the server lives as long as the scenario.
    let server = MockServer::start().await;
    let at = format!("/request-objects/{}", kensa::oidc::random_token(12));
    Mock::given(method("GET"))
        .and(path(at.clone()))
        .respond_with(ResponseTemplate::new(200).set_body_raw(jwt, "application/oauth-authz-req+jwt"))
        .mount(&server)
        .await;
    let mut q = outer(&req, true);
    q.push(("request_uri".into(), format!("{}{at}", server.uri())));
    w.run_login_with_query(req, q).await?;
    w.request_uri_fetches = server.received_requests().await.map_or(0, |r| r.len());
    w.keep_alive.push(Box::new(server));
    Ok(())
}

/// Whether the discovery document says the IdP takes `member`
/// (`request_parameter_supported`, `request_uri_parameter_supported`).
async fn advertised(w: &mut KensaWorld, member: &str, default: bool) -> anyhow::Result<bool> {
    Ok(w.discovery().await?.doc.get(member).and_then(Value::as_bool).unwrap_or(default))
}

/// The verdict shared by the request-object checks: refused with
/// `unsupported` (or invalid_request_object when unsigned objects are not
/// among the advertised algorithms), or used: the code comes back to the
/// object's redirect URI with the object's state, and the ID token carries
/// the object's nonce.
async fn used_or_refused(
    w: &mut KensaWorld,
    member: &str,
    default: bool,
    unsupported: &str,
    also_refused: Option<&str>,
) -> StepResult {
    let supported = advertised(w, member, default).await?;
    let unsigned_ok = w
        .discovery()
        .await?
        .list("request_object_signing_alg_values_supported")
        .is_none_or(|algs| algs.iter().any(|a| a == "none"));
    let req = w.auth.clone().ok_or_else(|| anyhow!("no authorization request was sent"))?;
    let cb = match (&w.callback, &w.outcome) {
        (Some(cb), _) => cb.clone(),
        (None, Some(Outcome::Page { response, .. })) => fail!(
            "the IdP neither used the request object nor redirected with {unsupported}: the flow stopped on HTTP {} ({})",
            response.status,
            kensa::http::preview(&response.text(), 160)
        ),
        _ => fail!("no login flow ran"),
    };
    if cb.code.is_none() {
        return match cb.error.as_deref() {
            Some(e) if e == unsupported && !supported => Ok(()),
            Some(e) if e == unsupported => {
                Err(anyhow!("the IdP advertises {member} but answered {unsupported}: {}", cb.error_text()).into())
            }
            Some("invalid_request_object") if !unsigned_ok => Ok(()),
            Some(e) if Some(e) == also_refused => Ok(()),
            _ => Err(anyhow!(
                "the request object was neither used nor refused as unsupported ({unsupported}): {}",
                cb.error_text()
            )
            .into()),
        };
    }
    if cb.state.as_deref() != Some(req.state.as_str()) {
        fail!(
            "the IdP issued a code but returned state {:?} instead of the request object's: it did not use the object",
            cb.state
        );
    }
    exchange(w, Exchange::default()).await?;
    let id_token = w.id_token()?;
    let nonce = id_token.claims.get("nonce").and_then(Value::as_str);
    if nonce != req.nonce.as_deref() {
        fail!("the ID token's nonce is {nonce:?}, not the request object's: the IdP did not use the object");
    }
    Ok(())
}

#[then("the request object is used, or refused with request_not_supported")]
async fn request_used_or_refused(w: &mut KensaWorld) -> StepResult {
    used_or_refused(w, "request_parameter_supported", false, "request_not_supported", None).await
}

#[then("the request object is fetched and used, or refused with request_uri_not_supported")]
async fn request_uri_used_or_refused(w: &mut KensaWorld) -> StepResult {
    // OpenID Connect Discovery 1.0, 3: request_uri_parameter_supported
    // defaults to true.
    // A request_uri served from this run cannot have been registered: where
    // the IdP requires registration, invalid_request_uri is the right refusal.
    let registration = advertised(w, "require_request_uri_registration", false).await?;
    let also = registration.then_some("invalid_request_uri");
    used_or_refused(w, "request_uri_parameter_supported", true, "request_uri_not_supported", also).await?;
    if w.callback.as_ref().is_some_and(|c| c.code.is_some()) && w.request_uri_fetches == 0 {
        fail!("the IdP issued a code without fetching the request object from the request_uri");
    }
    Ok(())
}
