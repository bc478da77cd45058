//! The token endpoint: authorization code and refresh token grants, and
//! ID token construction.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::keys::Signer;
use super::oauth::{OAuthError, authenticate};
use super::store::{Store, Token};
use super::util::{Params, ct_eq, is_pkce_value, left_half_hash, s256, split_scope};
use super::{App, Fault, SCOPES_SUPPORTED};
use crate::realm::Client;

/// `POST /token`.
pub(crate) async fn token(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Response {
    match token_response(&app, &headers, &body) {
        Ok(body) => {
            let mut response = Json(body).into_response();
            if !app.has(Fault::TokenResponseCacheable) {
                let headers = response.headers_mut();
                headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
                headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
            }
            response
        }
        Err(error) => {
            let mut response = error.into_response();
            if app.has(Fault::TokenBasicNoChallenge) {
                response.headers_mut().remove(header::WWW_AUTHENTICATE);
            }
            response
        }
    }
}

fn token_response(app: &App, headers: &HeaderMap, body: &[u8]) -> Result<Value, OAuthError> {
    let params = Params::from_form(headers, body).ok_or_else(OAuthError::not_a_form)?;
    if let Some(name) = params.repeated() {
        return Err(OAuthError::repeated(name));
    }
    let client = authenticate(app, headers, &params)?;
    match params.get("grant_type") {
        None => Err(OAuthError::invalid_request("grant_type is required")),
        Some("authorization_code") => code_grant(app, client, &params),
        Some("refresh_token") => refresh_grant(app, client, &params),
        Some(other) => Err(OAuthError::unsupported_grant_type(format!("grant_type {other} is not supported"))),
    }
}

/// What a successful grant hands out.
struct Issued {
    access_token: String,
    expires_in: u64,
    refresh_token: String,
    scope: Vec<String>,
    id_token: String,
}

impl Issued {
    fn into_json(self) -> Value {
        json!({
            "access_token": self.access_token,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "scope": self.scope.join(" "),
            "id_token": self.id_token,
            "refresh_token": self.refresh_token,
        })
    }
}

/// Stores a new access token and refresh token for `grant`, with the
/// client's lifetimes; a client registered for JWT access tokens gets an
/// RFC 9068 JWT, others an opaque value.
#[allow(clippy::too_many_arguments)]
fn issue_tokens(
    app: &App,
    store: &mut Store,
    client: &Client,
    sub: &str,
    access_scope: &[String],
    refresh_scope: &[String],
    grant: u64,
    auth_time: u64,
    access_exp: Option<u64>,
) -> (String, String) {
    let iat = app.now();
    let token = |scope: &[String], exp: u64| Token {
        client_id: client.client_id.clone(),
        sub: sub.to_owned(),
        scope: scope.to_vec(),
        grant,
        auth_time,
        iat,
        exp,
        revoked: false,
        rotated: false,
        claims: None,
    };
    let access_exp = access_exp.unwrap_or(iat + access_ttl(app, client));
    let refresh_ttl = match client.refresh_token_lifetime {
        Some(secs) if !app.has(Fault::RefreshTokenLifetimeIgnored) => secs,
        _ => app.config.refresh_token_ttl.as_secs(),
    };
    let access = token(access_scope, access_exp);
    let access = if client.jwt_access_tokens() {
        let value = jwt_access_token(app, client, &access);
        store.access_tokens.insert(value.clone(), access);
        value
    } else {
        store.add_access_token(access)
    };
    let refresh = store.add_refresh_token(token(refresh_scope, iat + refresh_ttl));
    (access, refresh)
}

/// The access token lifetime of `client`, in seconds.
fn access_ttl(app: &App, client: &Client) -> u64 {
    client.access_token_lifetime.unwrap_or(app.config.access_token_ttl.as_secs())
}

/// An RFC 9068 JWT access token for `token`.
fn jwt_access_token(app: &App, client: &Client, token: &Token) -> String {
    let mut claims = Map::new();
    let iss = if app.has(Fault::AccessTokenWrongIss) { format!("{}/other", app.issuer) } else { app.issuer.clone() };
    claims.insert("iss".into(), iss.into());
    claims.insert("exp".into(), token.exp.into());
    let aud: Value = match &client.audience {
        Some(_) if app.has(Fault::AccessTokenAudAll) => {
            let mut all: Vec<&str> = app.realm().clients.iter().filter_map(|c| c.audience.as_deref()).collect();
            all.sort_unstable();
            all.dedup();
            all.into()
        }
        Some(aud) if !app.has(Fault::AccessTokenAudIsClient) => aud.clone().into(),
        _ => client.client_id.clone().into(),
    };
    claims.insert("aud".into(), aud);
    claims.insert("sub".into(), token.sub.clone().into());
    if !app.has(Fault::AccessTokenNoClientId) {
        claims.insert("client_id".into(), client.client_id.clone().into());
    }
    claims.insert("iat".into(), token.iat.into());
    claims.insert("jti".into(), super::util::random_token().into());
    claims.insert("auth_time".into(), token.auth_time.into());
    claims.insert("scope".into(), token.scope.join(" ").into());
    let typ = if app.has(Fault::AccessTokenTypJwt) { "JWT" } else { "at+jwt" };
    let signer = if app.has(Fault::AccessTokenBadSignature) { Signer::RogueRs256 } else { Signer::Rs256 };
    app.config.keys.sign_typed(signer, typ, &claims)
}

fn code_grant(app: &App, client: &Client, params: &Params) -> Result<Value, OAuthError> {
    let code_value = params.get("code").ok_or_else(|| OAuthError::invalid_request("code is required"))?;
    let mut store = app.store();
    let code = store.codes.get(code_value).cloned().ok_or_else(|| OAuthError::invalid_grant("the code is unknown"))?;
    let request = &code.request;
    let now = app.now();

    if request.client_id != client.client_id && !app.has(Fault::CodeNotBoundToClient) {
        return Err(OAuthError::invalid_grant("the code was issued to another client"));
    }
    if code.used && !app.has(Fault::CodeReusable) {
        if !app.has(Fault::CodeReuseKeepsTokens) {
            for &grant in &code.grants {
                store.revoke_grant(grant);
            }
        }
        return Err(OAuthError::invalid_grant("the code was already used"));
    }
    if now >= code.expires {
        return Err(OAuthError::invalid_grant("the code has expired"));
    }

    if !app.has(Fault::TokenRedirectUriUnchecked) {
        let sent = params.get("redirect_uri");
        let matches = match (&request.redirect_uri, sent) {
            (Some(expected), Some(sent)) => expected == sent,
            (Some(_), None) => false,
            (None, Some(sent)) => sent == request.redirect_target,
            (None, None) => true,
        };
        if !matches {
            return Err(OAuthError::invalid_grant("redirect_uri does not match the authorization request"));
        }
    }

    let verifier = params.get("code_verifier");
    match (&request.code_challenge, verifier) {
        (Some(_), None) => {
            if !app.has(Fault::PkceVerifierOptional) {
                return Err(OAuthError::invalid_grant("code_verifier is required"));
            }
        }
        (Some(challenge), Some(verifier)) => {
            let ok = if app.has(Fault::PkceVerifierIgnored) {
                true
            } else if app.has(Fault::PkcePlainOnly) {
                ct_eq(verifier, challenge)
            } else {
                is_pkce_value(verifier) && ct_eq(&s256(verifier), challenge)
            };
            if !ok {
                return Err(OAuthError::invalid_grant("code_verifier does not match the code_challenge"));
            }
        }
        (None, Some(_)) => {
            if !app.has(Fault::PkceDowngradeAccepted) {
                return Err(OAuthError::invalid_grant(
                    "code_verifier was sent but the authorization request had no code_challenge",
                ));
            }
        }
        (None, None) => {}
    }

    let grant = store.new_grant();
    if let Some(stored) = store.codes.get_mut(code_value) {
        stored.used = true;
        stored.grants.push(grant);
    }
    let (access_token, refresh_token) =
        issue_tokens(app, &mut store, client, &code.sub, &request.scope, &request.scope, grant, code.auth_time, None);
    remember_claims(&mut store, &[&access_token, &refresh_token], request.claims.as_ref());
    let claims = id_token_claims(app, &store, &code.sub, request.claims.as_ref());
    drop(store);
    let id_token =
        id_token(app, client, &code.sub, code.auth_time, request.nonce.as_deref(), &access_token, claims.as_ref());
    let expires_in = access_ttl(app, client);
    Ok(Issued { access_token, expires_in, refresh_token, scope: request.scope.clone(), id_token }.into_json())
}

fn refresh_grant(app: &App, client: &Client, params: &Params) -> Result<Value, OAuthError> {
    let presented =
        params.get("refresh_token").ok_or_else(|| OAuthError::invalid_request("refresh_token is required"))?;
    let mut store = app.store();
    let now = app.now();
    let old = store
        .refresh_tokens
        .get(presented)
        .cloned()
        .ok_or_else(|| OAuthError::invalid_grant("the refresh token is invalid"))?;
    if old.client_id != client.client_id && !app.has(Fault::RefreshNotBoundToClient) {
        return Err(OAuthError::invalid_grant("the refresh token was issued to another client"));
    }
    // Only the client the token was issued to can reveal its reuse.
    if !old.is_active(now) {
        // RFC 9700 4.14.2: a rotated refresh token presented again means one
        // of two parties holds a stolen copy; the grant's active tokens are
        // revoked.
        if old.rotated && !app.has(Fault::RefreshReuseUndetected) {
            let grant = old.grant;
            store.refresh_tokens.values_mut().filter(|t| t.grant == grant).for_each(|t| t.revoked = true);
            store.access_tokens.values_mut().filter(|t| t.grant == grant).for_each(|t| t.revoked = true);
        }
        return Err(OAuthError::invalid_grant("the refresh token is invalid"));
    }
    let access_scope = match params.get("scope") {
        None => old.scope.clone(),
        Some(scope)
            if app.has(Fault::RefreshScopeNarrowingIgnored)
                && split_scope(scope).iter().all(|s| old.scope.contains(s)) =>
        {
            old.scope.clone()
        }
        Some(scope) => {
            let requested = split_scope(scope);
            let allowed = |s: &String| {
                if app.has(Fault::RefreshScopeEscalation) || app.has(Fault::RefreshScopeEscalationSilent) {
                    SCOPES_SUPPORTED.contains(&s.as_str())
                } else {
                    old.scope.contains(s)
                }
            };
            if let Some(extra) = requested.iter().find(|s| !allowed(s)) {
                return Err(OAuthError::invalid_scope(format!("scope {extra} exceeds the original grant")));
            }
            requested
        }
    };
    if !app.user_exists(&store, &old.sub) {
        return Err(OAuthError::invalid_grant("the user no longer exists"));
    }
    if !app.has(Fault::RefreshRotationOldValid)
        && let Some(token) = store.refresh_tokens.get_mut(presented)
    {
        token.revoked = true;
        token.rotated = true;
    }
    // The fault: the new access token expires with the grant's first one.
    let access_exp = if app.has(Fault::RefreshAccessTokenKeepsExpiry) {
        store.access_tokens.values().filter(|t| t.grant == old.grant).map(|t| t.exp).min()
    } else {
        None
    };
    let (access_token, refresh_token) = issue_tokens(
        app,
        &mut store,
        client,
        &old.sub,
        &access_scope,
        &old.scope,
        old.grant,
        old.auth_time,
        access_exp,
    );
    remember_claims(&mut store, &[&access_token, &refresh_token], old.claims.as_ref());
    let claims = id_token_claims(app, &store, &old.sub, old.claims.as_ref());
    drop(store);
    let sub = if app.has(Fault::RefreshIdTokenNewSub) { format!("refreshed-{}", old.sub) } else { old.sub.clone() };
    let id_token = id_token(app, client, &sub, old.auth_time, None, &access_token, claims.as_ref());
    let expires_in = access_ttl(app, client);
    let mut issued = Issued { access_token, expires_in, refresh_token, scope: access_scope, id_token }.into_json();
    if app.has(Fault::RefreshScopeEscalationSilent)
        && let Some(m) = issued.as_object_mut()
    {
        m.remove("scope");
    }
    Ok(issued)
}

/// Keeps the claims request with the tokens, for userinfo and refresh.
fn remember_claims(store: &mut Store, tokens: &[&str], claims: Option<&Value>) {
    for t in tokens {
        if let Some(token) = store.access_tokens.get_mut(*t) {
            token.claims = claims.cloned();
        }
        if let Some(token) = store.refresh_tokens.get_mut(*t) {
            token.claims = claims.cloned();
        }
    }
}

/// The user claims an ID token carries: a delegated user's attributes, or
/// what the claims request asks of a realm user's.
fn id_token_claims(app: &App, store: &Store, sub: &str, claims: Option<&Value>) -> Option<Map<String, Value>> {
    if let Some(delegated) = delegated_claims(store, sub) {
        return Some(delegated);
    }
    let user = app.realm().user_by_sub(sub)?;
    let mut out = Map::new();
    super::claims::add_requested(app, &mut out, claims, "id_token", user);
    (!out.is_empty()).then_some(out)
}

/// The claims a delegated user's ID tokens carry; `None` for realm users.
fn delegated_claims(store: &Store, sub: &str) -> Option<Map<String, Value>> {
    store.external_users.get(sub).map(|user| user.claims.clone())
}

/// Builds and signs an ID token for `client`, adding `user_claims` (those
/// of a delegated user) to the protocol claims.
fn id_token(
    app: &App,
    client: &Client,
    sub: &str,
    auth_time: u64,
    nonce: Option<&str>,
    access_token: &str,
    user_claims: Option<&Map<String, Value>>,
) -> String {
    let now = app.now();
    let mut claims = Map::new();
    let iss =
        if app.has(Fault::IdTokenWrongIss) { "https://wrong-issuer.invalid".to_owned() } else { app.issuer.clone() };
    claims.insert("iss".into(), iss.into());
    claims.insert("sub".into(), sub.into());
    if app.has(Fault::IdTokenAudMissingClient) {
        claims.insert("aud".into(), json!(["kensa-someone-else"]));
    } else {
        claims.insert("aud".into(), client.client_id.clone().into());
        claims.insert("azp".into(), client.client_id.clone().into());
    }
    let (iat, exp) = if app.has(Fault::IdTokenExpired) {
        (now.saturating_sub(600), now.saturating_sub(300))
    } else {
        (now, now + app.config.id_token_ttl.as_secs())
    };
    claims.insert("exp".into(), exp.into());
    if !app.has(Fault::IdTokenNoIat) {
        claims.insert("iat".into(), iat.into());
    }
    if !app.has(Fault::AuthTimeMissing) {
        claims.insert("auth_time".into(), auth_time.into());
    }
    if let Some(nonce) = nonce.filter(|_| !app.has(Fault::NonceNotEchoed)) {
        claims.insert("nonce".into(), nonce.into());
    }
    let at_hash = if app.has(Fault::AtHashWrong) {
        left_half_hash(&format!("not-{access_token}"))
    } else {
        left_half_hash(access_token)
    };
    claims.insert("at_hash".into(), at_hash.into());
    for (name, value) in user_claims.into_iter().flatten() {
        if !claims.contains_key(name) {
            claims.insert(name.clone(), value.clone());
        }
    }

    let es256 = client.id_token_signed_response_alg == "ES256" && !app.has(Fault::Es256Ignored);
    let signer = if app.has(Fault::IdTokenAlgNone) {
        Signer::Unsigned
    } else if app.has(Fault::IdTokenHs256Pubkey) {
        Signer::Hs256PublicKey
    } else if es256 && app.has(Fault::JwksDuplicateKid) {
        Signer::Es256SharedKid
    } else if es256 {
        Signer::Es256
    } else if app.has(Fault::IdTokenBadSignature) {
        Signer::RogueRs256
    } else {
        Signer::Rs256
    };
    app.config.keys.sign(signer, &claims)
}
