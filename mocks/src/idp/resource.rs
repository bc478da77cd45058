//! Endpoints that act on issued tokens: userinfo, revocation (RFC 7009)
//! and introspection (RFC 7662).

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::oauth::{OAuthError, authenticate};
use super::util::{Params, is_form};
use super::{App, Fault};

/// A response that must not be cached.
fn no_store(status: StatusCode, body: Value) -> Response {
    (status, [(header::CACHE_CONTROL, "no-store"), (header::PRAGMA, "no-cache")], Json(body)).into_response()
}

/// A userinfo error with an RFC 6750 `WWW-Authenticate` challenge.
fn bearer_error(status: StatusCode, challenge: &'static str) -> Response {
    let mut response = status.into_response();
    let headers = response.headers_mut();
    headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The token of an `Authorization: Bearer` header.
fn bearer_token(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_owned())
}

/// `GET /userinfo`.
pub(crate) async fn userinfo_get(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> Response {
    // RFC 6750 2.3 makes a token in the query optional to support, and RFC
    // 9700 4.3.2 says clients must not send one: it is not read (except
    // under a fault).
    let query_token = query
        .filter(|_| app.has(Fault::UserinfoQueryTokenAccepted))
        .and_then(|q| Params::parse(q.as_bytes()).get("access_token").map(str::to_owned));
    userinfo(&app, &headers, query_token)
}

/// `POST /userinfo`, with the token in the header or the form body.
pub(crate) async fn userinfo_post(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Response {
    if app.has(Fault::UserinfoPostUnsupported) {
        let mut response = StatusCode::METHOD_NOT_ALLOWED.into_response();
        response.headers_mut().insert(header::ALLOW, HeaderValue::from_static("GET"));
        return response;
    }
    let mut form_token = None;
    if is_form(&headers) {
        let params = Params::parse(&body);
        if params.count("access_token") > 1 {
            return bearer_error(StatusCode::BAD_REQUEST, "Bearer error=\"invalid_request\"");
        }
        form_token =
            params.get("access_token").map(str::to_owned).filter(|_| !app.has(Fault::UserinfoBodyTokenRejected));
    }
    userinfo(&app, &headers, form_token)
}

fn userinfo(app: &App, headers: &HeaderMap, form_token: Option<String>) -> Response {
    let token = match (bearer_token(headers), form_token) {
        (Some(_), Some(_)) => {
            return bearer_error(StatusCode::BAD_REQUEST, "Bearer error=\"invalid_request\"");
        }
        (Some(token), None) | (None, Some(token)) => token,
        (None, None) if app.has(Fault::UserinfoNoChallenge) => return StatusCode::UNAUTHORIZED.into_response(),
        (None, None) => return bearer_error(StatusCode::UNAUTHORIZED, "Bearer realm=\"kensa\""),
    };
    let found = {
        let store = app.store();
        let usable = |t: &&super::store::Token| {
            t.is_active(app.now()) || (app.has(Fault::UserinfoAcceptsExpiredToken) && !t.revoked)
        };
        store.access_tokens.get(&token).filter(usable).and_then(|t| {
            match app.realm().user_by_sub(&t.sub) {
                Some(user) => {
                    let mut claims = user_claims(app, &user.sub, &user.claims, Some(&t.scope));
                    realm_user_extras(app, &mut claims, user, t);
                    Some(claims)
                }
                // Delegated users get every claim they have, whatever the scope.
                None => store.external_users.get(&t.sub).map(|user| user_claims(app, &t.sub, &user.claims, None)),
            }
        })
    };
    let claims = match found {
        Some(claims) => claims,
        None if app.has(Fault::UserinfoAcceptsInvalidToken) => match app.realm().users.first() {
            Some(user) => user_claims(app, &user.sub, &user.claims, Some(&["profile".into(), "email".into()])),
            None => return bearer_error(StatusCode::UNAUTHORIZED, INVALID_TOKEN),
        },
        None => return bearer_error(StatusCode::UNAUTHORIZED, INVALID_TOKEN),
    };
    no_store(StatusCode::OK, Value::Object(claims))
}

const INVALID_TOKEN: &str = "Bearer error=\"invalid_token\"";

/// What a realm user's userinfo adds beyond the scope claims: claims the
/// claims parameter requests (OpenID Connect Core 5.5), and verified_claims
/// for the IDA scope or a verified_claims request.
fn realm_user_extras(
    app: &App,
    claims: &mut Map<String, Value>,
    user: &crate::realm::User,
    token: &super::store::Token,
) {
    use super::claims::{IDA_SCOPE, add_requested, leaked, scoped};
    let requested_vc =
        super::claims::requested(token.claims.as_ref(), "userinfo").is_some_and(|r| r.contains_key("verified_claims"));
    if let Some(vc) = &user.verified_claims {
        if token.scope.iter().any(|s| s == IDA_SCOPE) && !requested_vc {
            claims.insert("verified_claims".into(), scoped(app, vc));
        }
        if app.has(Fault::IdaClaimsLeaked) {
            for (k, v) in leaked(vc) {
                claims.entry(k).or_insert(v);
            }
        }
    }
    add_requested(app, claims, token.claims.as_ref(), "userinfo", user);
    if app.has(Fault::UserinfoClaimTypesWrong)
        && let Some(Value::Bool(b)) = claims.get("email_verified").cloned()
    {
        claims.insert("email_verified".into(), Value::String(b.to_string()));
    }
}

/// The userinfo claims of user `sub`: those `scope` releases, or all of
/// `user_claims` when `scope` is `None`.
fn user_claims(app: &App, sub: &str, user_claims: &Map<String, Value>, scope: Option<&[String]>) -> Map<String, Value> {
    let mut claims = Map::new();
    let sub = if app.has(Fault::UserinfoSubMismatch) { format!("x-{sub}") } else { sub.to_owned() };
    claims.insert("sub".into(), sub.into());
    let Some(scope) = scope else {
        for (name, value) in user_claims {
            claims.entry(name.clone()).or_insert_with(|| value.clone());
        }
        return claims;
    };
    let mut release = |names: &[&str]| {
        for &name in names {
            if let Some(value) = user_claims.get(name) {
                claims.insert(name.to_owned(), value.clone());
            }
        }
    };
    for (name, names) in crate::realm::SCOPE_CLAIMS {
        let dropped = match *name {
            "profile" => app.has(Fault::ScopeProfileIgnored),
            "email" => app.has(Fault::ScopeEmailIgnored),
            "address" => app.has(Fault::ScopeAddressIgnored),
            "phone" => app.has(Fault::ScopePhoneIgnored),
            _ => false,
        };
        if scope.iter().any(|s| s == name) && !dropped {
            release(names);
        }
    }
    claims
}

/// `POST /revoke` (RFC 7009).
pub(crate) async fn revoke(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Response {
    match revoke_inner(&app, &headers, &body) {
        Ok(()) => (StatusCode::OK, [(header::CACHE_CONTROL, "no-store")]).into_response(),
        Err(error) => error.into_response(),
    }
}

fn revoke_inner(app: &App, headers: &HeaderMap, body: &[u8]) -> Result<(), OAuthError> {
    let params = Params::from_form(headers, body).ok_or_else(OAuthError::not_a_form)?;
    if let Some(name) = params.repeated() {
        return Err(OAuthError::repeated(name));
    }
    let client = authenticate(app, headers, &params)?;
    let value = params.get("token").ok_or_else(|| OAuthError::invalid_request("token is required"))?;
    if app.has(Fault::RevocationNoop) {
        return Ok(());
    }
    let mut store = app.store();
    let (token, is_refresh) = if let Some(token) = store.access_tokens.get(value) {
        (token.clone(), false)
    } else if let Some(token) = store.refresh_tokens.get(value) {
        (token.clone(), true)
    } else if app.has(Fault::RevocationInvalidTokenError) {
        return Err(OAuthError::invalid_request("the token is unknown"));
    } else {
        // RFC 7009 2.2: invalid tokens do not cause an error.
        return Ok(());
    };
    if token.client_id != client.client_id && !app.has(Fault::RevocationAnyClient) {
        return Err(OAuthError::unauthorized_client("the token was issued to another client"));
    }
    if !is_refresh {
        if let Some(t) = store.access_tokens.get_mut(value) {
            t.revoked = true;
        }
    } else if app.has(Fault::RevocationKeepsAccessTokens) {
        if let Some(t) = store.refresh_tokens.get_mut(value) {
            t.revoked = true;
        }
    } else {
        store.revoke_grant(token.grant);
    }
    Ok(())
}

/// `POST /introspect` (RFC 7662).
pub(crate) async fn introspect(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Response {
    match introspect_inner(&app, &headers, &body) {
        Ok(body) => no_store(StatusCode::OK, body),
        Err(error) => error.into_response(),
    }
}

fn introspect_inner(app: &App, headers: &HeaderMap, body: &[u8]) -> Result<Value, OAuthError> {
    let params = Params::from_form(headers, body).ok_or_else(OAuthError::not_a_form)?;
    if let Some(name) = params.repeated() {
        return Err(OAuthError::repeated(name));
    }
    if !app.has(Fault::IntrospectionUnauthenticated) {
        let client = authenticate(app, headers, &params)?;
        if !client.is_confidential() {
            return Err(OAuthError::invalid_client("introspection requires client authentication"));
        }
    }
    let value = params.get("token").ok_or_else(|| OAuthError::invalid_request("token is required"))?;
    let inactive = json!({ "active": false });
    if app.has(Fault::IntrospectionAlwaysInactive) {
        return Ok(inactive);
    }
    let store = app.store();
    let now = app.now();
    let (token, is_access) = match store.access_tokens.get(value) {
        Some(token) => (token, true),
        None => match store.refresh_tokens.get(value) {
            Some(token) => (token, false),
            None => return Ok(inactive),
        },
    };
    let active = now < token.exp && (!token.revoked || app.has(Fault::IntrospectionRevokedActive));
    if !active {
        return Ok(inactive);
    }
    let mut body = json!({
        "active": true,
        "scope": token.scope.join(" "),
        "client_id": token.client_id,
        "sub": token.sub,
        "exp": token.exp,
        "iat": token.iat,
        "iss": app.issuer,
    });
    if is_access && let Some(map) = body.as_object_mut() {
        map.insert("token_type".into(), "Bearer".into());
        if let Some(aud) = app.realm().client(&token.client_id).and_then(|c| c.audience.clone()) {
            map.insert("aud".into(), aud.into());
        }
    }
    Ok(body)
}
