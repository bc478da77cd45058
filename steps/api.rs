//! API access steps: a client of the API platform calling a resource API
//! gateway (kensa_mocks::api) with the IdP's access tokens, refreshing after
//! a 401, and logging out by revoking its refresh token.

use anyhow::{Context, anyhow};
use cucumber::{given, then, when};
use jsonwebtoken::Algorithm;
use kensa::http::Request;
use kensa::oidc::jwt::Jwt;
use kensa::secret::Secret;
use kensa::world::{ApiCall, ApiScenario, KensaWorld, StepResult};
use kensa_mocks::api::ResourceApi;

use super::token::{Exchange, exchange, refresh, revoke};

/// The longest a step waits for a token to expire. Expiry scenarios need
/// clients with short lifetimes (`access_token_lifetime` in the realm).
const MAX_WAIT_SECS: i64 = 30;

/// Starts the scenario's gateway: the fixture's rules, the target's JWKS,
/// and introspection with the realm's `resource-server` client.
async fn start_gateway(w: &mut KensaWorld) -> anyhow::Result<()> {
    if w.resource.is_some() {
        return Ok(());
    }
    let rules = w
        .ctx
        .api_rules
        .as_deref()
        .cloned()
        .ok_or_else(|| anyhow!("the fixtures have no api/routes.toml: the resource API gateway has no rules"))?;
    let discovery = w.discovery().await?.clone();
    let config = kensa::world::gateway_config(&w.ctx.target, &discovery, rules)?;
    let gateway = ResourceApi::start(config).await?;
    w.resource = Some(ApiScenario { gateway, calls: Vec::new(), refreshes: Vec::new() });
    Ok(())
}

fn resource(w: &mut KensaWorld) -> anyhow::Result<&mut ApiScenario> {
    w.resource.as_mut().ok_or_else(|| anyhow!("no API gateway in this scenario"))
}

fn latest_access_token(w: &KensaWorld) -> anyhow::Result<Secret> {
    Ok(w.tokens()?.access_token.clone())
}

/// One GET to the gateway with `token` as a Bearer token.
async fn call(w: &mut KensaWorld, path: &str, token: &Secret) -> anyhow::Result<ApiCall> {
    start_gateway(w).await?;
    let base = resource(w)?.gateway.base_url().to_owned();
    let url = url::Url::parse(&format!("{base}{path}")).with_context(|| format!("bad API path {path:?}"))?;
    let response = w.api.send(Request::get(url).bearer(token.expose())).await?;
    let call = ApiCall {
        path: path.to_owned(),
        status: response.status,
        challenge: response.header("www-authenticate").map(str::to_owned),
        body: response.json().unwrap_or(serde_json::Value::Null),
    };
    resource(w)?.calls.push(call.clone());
    Ok(call)
}

fn describe(call: &ApiCall) -> String {
    let why = call.body.get("error_description").and_then(|d| d.as_str()).unwrap_or("");
    format!(
        "GET {} answered {}{}{}",
        call.path,
        call.status,
        call.challenge.as_deref().map(|c| format!(" with WWW-Authenticate: {c}")).unwrap_or_default(),
        if why.is_empty() { String::new() } else { format!(" ({why})") }
    )
}

fn last_call(w: &KensaWorld) -> anyhow::Result<&ApiCall> {
    w.resource.as_ref().and_then(|r| r.calls.last()).ok_or_else(|| anyhow!("the API has not been called"))
}

#[given("the API gateway in front of the text, audio and video APIs")]
async fn gateway(w: &mut KensaWorld) -> StepResult {
    start_gateway(w).await?;
    Ok(())
}

#[when(expr = "the client calls the API at {string}")]
async fn calls(w: &mut KensaWorld, path: String) -> StepResult {
    let token = latest_access_token(w)?;
    call(w, &path, &token).await?;
    Ok(())
}

#[then(expr = "the API answers {int}")]
async fn answers(w: &mut KensaWorld, status: u16) -> StepResult {
    let call = last_call(w)?;
    if call.status != status {
        fail!("expected {status}, but {}", describe(call));
    }
    Ok(())
}

#[then(expr = "the API accepts the access token at {string}")]
async fn accepts_at(w: &mut KensaWorld, paths: String) -> StepResult {
    let token = latest_access_token(w)?;
    for path in super::list(&paths) {
        let call = call(w, &path, &token).await?;
        if call.status != 200 {
            fail!("the access token should open {path}, but {}", describe(&call));
        }
    }
    Ok(())
}

#[then(regex = r#"^the API refuses the call with (\d{3}) and "([a-z_]+)"(?: naming the scopes "([^"]*)")?$"#)]
async fn refuses(w: &mut KensaWorld, status: u16, error: String, scopes: String) -> StepResult {
    let call = last_call(w)?;
    let got = call.challenge_param("error");
    if call.status != status || got.as_deref() != Some(error.as_str()) {
        fail!("expected {status} with WWW-Authenticate error=\"{error}\" (RFC 6750 3.1), but {}", describe(call));
    }
    if !scopes.is_empty() && call.challenge_param("scope").as_deref() != Some(scopes.as_str()) {
        fail!("the challenge should name the scopes \"{scopes}\", but {}", describe(call));
    }
    Ok(())
}

#[then("the API refused it because the token is for another resource server")]
async fn refused_for_audience(w: &mut KensaWorld) -> StepResult {
    let call = last_call(w)?;
    let why = call.body.get("error_description").and_then(serde_json::Value::as_str).unwrap_or("");
    if !why.contains("is not for") {
        fail!(
            "the gateway refused the token, but for another reason than its audience, so aud was never tested: {}",
            describe(call)
        );
    }
    Ok(())
}

/// Seconds until the latest access token expires: its `exp` when it is a
/// JWT, otherwise `expires_in` counted from the token response.
fn access_token_left(w: &KensaWorld) -> anyhow::Result<i64> {
    let set = w.tokens()?;
    if let Ok(jwt) = Jwt::parse_secret(&set.access_token)
        && let Some(exp) = jwt.claims.get("exp").and_then(serde_json::Value::as_i64)
    {
        return Ok(exp - w.now());
    }
    let lifetime = set
        .expires_in
        .ok_or_else(|| anyhow!("the token response has no expires_in and the access token is not a JWT"))?;
    let elapsed = w.tokens_at.map_or(0, |t| w.now() - t);
    Ok(lifetime.saturating_sub(elapsed))
}

/// A refusal after logout proves the logout only while the token would
/// otherwise still be valid.
fn refusal_proves_revocation(w: &KensaWorld, call: &ApiCall) -> Result<(), kensa::world::Failure> {
    if call.challenge_param("error").as_deref() != Some("invalid_token") {
        fail!("after the logout the access token should get 401 invalid_token, but {}", describe(call));
    }
    if access_token_left(w)? <= 0 {
        fail!(
            "inconclusive: the access token had expired anyway when the API refused it, so the refusal says nothing \
             about the logout; the client's access tokens must outlive the few requests between login and this call"
        );
    }
    Ok(())
}

async fn wait_secs(w: &mut KensaWorld, what: &str, secs: i64) -> anyhow::Result<()> {
    if secs > MAX_WAIT_SECS && w.ctx.target.clock.is_none() {
        anyhow::bail!(
            "the {what} lives {secs} s more; kensa waits at most {MAX_WAIT_SECS} s. Give the client a short \
             lifetime in the target's configuration (access_token_lifetime / refresh_token_lifetime in the realm)"
        );
    }
    // One more second: exp is a whole second and a token is valid before it.
    w.pass_time(secs.max(0) + 1).await
}

#[when("the access token has expired")]
async fn access_token_expired(w: &mut KensaWorld) -> StepResult {
    let left = access_token_left(w)?;
    wait_secs(w, "access token", left).await?;
    Ok(())
}

#[when(expr = "the refresh token has expired after {int} seconds")]
async fn refresh_token_expired(w: &mut KensaWorld, lifetime: i64) -> StepResult {
    // Refresh tokens are opaque: the step is told their lifetime, which
    // the realm gives the client, and waits from the token response.
    let client = w.client()?;
    if client.refresh_token_lifetime.is_some_and(|l| i64::try_from(l).unwrap_or(i64::MAX) != lifetime) {
        fail!("the realm gives {}'s refresh tokens another lifetime than {lifetime} s", client.client_id);
    }
    wait_secs(w, "refresh token", lifetime).await?;
    Ok(())
}

/// The API client's behaviour on a call: a 401 makes it refresh (RFC 6749
/// 6) and retry exactly once with the new access token.
#[when(expr = "the API client calls {string}, refreshing once if the API answers 401")]
async fn call_with_refresh(w: &mut KensaWorld, path: String) -> StepResult {
    let token = latest_access_token(w)?;
    let first = call(w, &path, &token).await?;
    if first.status != 401 {
        return Ok(());
    }
    let before = w.tokens.len();
    refresh(w, None, 0, None).await?;
    let response = w.last()?;
    let outcome = (response.status(), response.error().map(str::to_owned));
    resource(w)?.refreshes.push(outcome);
    if w.tokens.len() > before {
        let token = latest_access_token(w)?;
        call(w, &path, &token).await?;
    }
    Ok(())
}

#[then("the call was refused as invalid_token, one refresh succeeded and the retry was accepted")]
async fn refreshed_once(w: &mut KensaWorld) -> StepResult {
    let r = w.resource.as_ref().ok_or_else(|| anyhow!("the API has not been called"))?;
    let calls = &r.calls[r.calls.len().saturating_sub(2)..];
    let [first, retry] = calls else { fail!("expected a refused call and a retry, saw {} call(s)", calls.len()) };
    if first.status != 401 || first.challenge_param("error").as_deref() != Some("invalid_token") {
        fail!("the expired access token should get 401 invalid_token, but {}", describe(first));
    }
    match r.refreshes.as_slice() {
        [(200, None)] => {}
        [(status, error)] => fail!("the refresh after the 401 failed: {status} {}", error.as_deref().unwrap_or("")),
        other => fail!("expected exactly one refresh, saw {}", other.len()),
    }
    if retry.status != 200 {
        fail!("the retry with the refreshed access token was refused: {}", describe(retry));
    }
    Ok(())
}

#[then(expr = "the refresh was refused with {string} and a fresh login gets an access token the API accepts")]
async fn refresh_refused_then_login(w: &mut KensaWorld, error: String) -> StepResult {
    let r = w.resource.as_ref().ok_or_else(|| anyhow!("the API has not been called"))?;
    match r.refreshes.as_slice() {
        [(400, Some(e))] if *e == error => {}
        [] => {
            fail!("the API client never refreshed: {}", r.calls.last().map_or_else(|| "no call".to_owned(), describe))
        }
        [(status, e)] => fail!(
            "the refresh should be refused with 400 {error} (RFC 6749 5.2), but the token endpoint answered {status} {}",
            e.as_deref().unwrap_or("without an error")
        ),
        more => fail!("expected one refresh, saw {}", more.len()),
    }
    let path = r.calls.last().map(|c| c.path.clone()).unwrap_or_else(|| "/text/".into());
    // The client sends the user back to the authorization endpoint.
    let scope = w.auth.as_ref().map(|a| a.scope.clone()).ok_or_else(|| anyhow!("no earlier login"))?;
    w.fresh_browser()?;
    let mut req = w.new_auth_request()?;
    req.scope = scope;
    w.run_login(req, None, kensa::login::Tamper::None).await?;
    exchange(w, Exchange::default()).await?;
    if w.tokens.is_empty() {
        fail!("the fresh login's code exchange failed: {}", w.last()?.describe());
    }
    let token = latest_access_token(w)?;
    let call = call(w, &path, &token).await?;
    if call.status != 200 {
        fail!("the access token from the fresh login was refused: {}", describe(&call));
    }
    Ok(())
}

#[when("the user logs out, revoking the refresh token")]
async fn logs_out(w: &mut KensaWorld) -> StepResult {
    let rt = w.tokens()?.refresh_token.clone().ok_or_else(|| anyhow!("the token response has no refresh_token"))?;
    if w.discovery().await?.str("revocation_endpoint").is_none() {
        fail!("the IdP advertises no revocation_endpoint: the client cannot revoke its refresh token (RFC 7009)");
    }
    revoke(w, None, rt.expose().to_owned(), "refresh_token").await?;
    let r = w.last()?;
    if r.status() != 200 {
        fail!("revoking the refresh token failed (RFC 7009 2.2 wants 200): {}", r.describe());
    }
    Ok(())
}

#[then("the refresh token no longer works")]
async fn refresh_dead(w: &mut KensaWorld) -> StepResult {
    let before = w.tokens.len();
    refresh(w, None, 0, None).await?;
    let r = w.last()?;
    if w.tokens.len() > before || r.error() != Some("invalid_grant") {
        fail!("the revoked refresh token should get invalid_grant (RFC 7009 2.1, RFC 6749 5.2), but {}", r.describe());
    }
    Ok(())
}

#[then(expr = "the API refuses the access token at {string} at once")]
async fn refused_at_once(w: &mut KensaWorld, path: String) -> StepResult {
    let token = latest_access_token(w)?;
    let call = call(w, &path, &token).await?;
    if call.status != 401 {
        fail!(
            "after the refresh token was revoked, its grant's access token should be refused (RFC 7009 2.1: the \
             server SHOULD also invalidate the access tokens of the same grant), but {}",
            describe(&call)
        );
    }
    refusal_proves_revocation(w, &call)
}

#[then(
    expr = "the API refuses the access token at {string} once it has expired, noting how long it outlived the logout"
)]
async fn refused_at_expiry(w: &mut KensaWorld, path: String) -> StepResult {
    let token = latest_access_token(w)?;
    let now = call(w, &path, &token).await?;
    if now.status == 401 {
        if access_token_left(w)? > 0 {
            refusal_proves_revocation(w, &now)?;
            w.notes.push("the access token was refused at once after the logout".into());
            return Ok(());
        }
        // What this step asks, a refusal once expired, holds; how long the
        // token outlived the logout cannot be told any more.
        if now.challenge_param("error").as_deref() != Some("invalid_token") {
            fail!("the expired access token should get 401 invalid_token, but {}", describe(&now));
        }
        w.notes.push(
            "the access token had already expired when it was first called after the logout, and was refused; \
             how long it would have outlived the logout was not measured"
                .into(),
        );
        return Ok(());
    }
    if now.status != 200 {
        fail!("unexpected answer after the logout: {}", describe(&now));
    }
    let left = access_token_left(w)?;
    w.notes.push(format!(
        "after the logout the JWT access token was still accepted: a resource server that validates it locally \
         accepts it until it expires, {left} s later (RFC 9068 has no revocation; only its lifetime bounds it)"
    ));
    wait_secs(w, "access token", left).await?;
    let later = call(w, &path, &token).await?;
    if later.status != 401 {
        fail!("the access token should be refused once expired, but {}", describe(&later));
    }
    Ok(())
}

#[when("the user logs in through a loopback redirect URI on an ephemeral port")]
async fn loopback_login(w: &mut KensaWorld) -> StepResult {
    // A native app listens on a port the OS picks (RFC 8252 7.3); the
    // listener stays open for the whole login, as the app's would.
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
    let port = listener.local_addr()?.port();
    let mut req = w.new_auth_request()?;
    let mut uri = url::Url::parse(&req.redirect_uri)?;
    if uri.host_str() != Some("127.0.0.1") || uri.scheme() != "http" {
        fail!("the native client's redirect URI {} is not an http loopback IP URI (RFC 8252 7.3)", req.redirect_uri);
    }
    if req.pkce.is_none() {
        fail!("the native client must use PKCE (RFC 8252 8.1), but its request has no code_challenge");
    }
    uri.set_port(Some(port)).map_err(|()| anyhow!("cannot set the port"))?;
    req.redirect_uri = uri.to_string();
    req.scope = "openid offline_access text_apis".into();
    w.run_login(req, None, kensa::login::Tamper::None).await?;
    drop(listener);
    w.code().map_err(|e| anyhow!("{e} (RFC 8252 7.3: the IdP MUST allow any port on a loopback redirect URI)"))?;
    Ok(())
}

#[then(expr = "the access token is an RFC 9068 JWT access token for {string}")]
async fn rfc9068(w: &mut KensaWorld, audience: String) -> StepResult {
    let set = w.tokens()?.clone();
    let jwt = Jwt::parse_secret(&set.access_token).map_err(|e| anyhow!("the access token is not a JWT: {e}"))?;
    let typ = jwt.header.get("typ").and_then(|t| t.as_str()).unwrap_or("");
    let mut problems = Vec::new();
    if !typ.eq_ignore_ascii_case("at+jwt") && !typ.eq_ignore_ascii_case("application/at+jwt") {
        problems.push(format!("typ is {typ:?}, not at+jwt (RFC 9068 2.1)"));
    }
    for claim in ["iss", "exp", "aud", "sub", "client_id", "iat", "jti"] {
        if !jwt.claims.contains_key(claim) {
            problems.push(format!("no {claim} claim (RFC 9068 2.2)"));
        }
    }
    if jwt.str_claim("iss") != Some(w.issuer()) {
        problems.push(format!("iss is {:?}, not the issuer (RFC 9068 2.2)", jwt.str_claim("iss")));
    }
    let client = w.client()?;
    if jwt.str_claim("client_id") != Some(client.client_id.as_str()) {
        problems.push(format!(
            "client_id is {:?}, not {} (RFC 9068 2.2)",
            jwt.str_claim("client_id"),
            client.client_id
        ));
    }
    let aud_ok = match jwt.claims.get("aud") {
        Some(serde_json::Value::String(a)) => *a == audience,
        Some(serde_json::Value::Array(a)) => a.iter().any(|x| x.as_str() == Some(audience.as_str())),
        _ => false,
    };
    if !aud_ok {
        problems.push(format!("aud {:?} does not name {audience} (RFC 9068 3)", jwt.claims.get("aud")));
    }
    let jwks = w.jwks().await?.clone();
    let asymmetric = [
        Algorithm::RS256,
        Algorithm::RS384,
        Algorithm::RS512,
        Algorithm::PS256,
        Algorithm::PS384,
        Algorithm::PS512,
        Algorithm::ES256,
        Algorithm::ES384,
        Algorithm::EdDSA,
    ];
    if let Err(e) = jwt.verify_signature(&jwks, &asymmetric) {
        problems.push(format!("the signature does not verify with the issuer's JWKS (RFC 9068 4): {e}"));
    }
    if !problems.is_empty() {
        fail!("the access token is not an RFC 9068 JWT access token: {}", problems.join("; "));
    }
    Ok(())
}
