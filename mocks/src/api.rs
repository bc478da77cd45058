//! A resource API behind a gateway, the way the API platform of the
//! api-access profile puts every API family behind one: it accepts the
//! IdP's access tokens and enforces, on every request,
//!
//! - RFC 6750 2.1: the token comes in an `Authorization: Bearer` header
//!   (a token in the query string or form body is not looked at);
//! - JWT access tokens (RFC 9068 4): `typ` is `at+jwt`, the signature
//!   verifies with the issuer's JWKS key named by `kid` (asymmetric
//!   algorithms only), `iss` is the issuer, `aud` contains the gateway's
//!   audience, `exp` has not passed, and `sub`, `client_id`, `iat` and `jti`
//!   are present;
//! - opaque access tokens: introspected (RFC 7662) with the gateway's own
//!   client credentials; `active` must be true, `exp` (if given) not passed,
//!   and `aud`, when the answer has it (RFC 7662 2.2 makes it OPTIONAL),
//!   must contain the gateway's audience;
//! - route rules from a fixture: a path prefix opens with any one of its
//!   scopes; the token's `scope` must hold one of them;
//! - RFC 6750 3.1 errors: 401 with `WWW-Authenticate: Bearer realm=".."`
//!   and no error code for a request without a token, 401 with
//!   `error="invalid_token"` for a malformed, unverifiable, expired,
//!   inactive or foreign token, 400 `invalid_request` for a malformed
//!   `Authorization` header, and 403 `insufficient_scope` with the `scope`
//!   attribute naming the scopes that would open the route.
//!
//! It runs in process on `127.0.0.1`, one per scenario (or one per load
//! run), and never logs a token.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// Largest JWKS or introspection response the gateway reads.
const MAX_BODY: usize = 256 * 1024;
/// Time limit of a JWKS or introspection request.
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(5);
/// The JWKS is fetched again for an unknown `kid` at most this often.
const JWKS_REFRESH: Duration = Duration::from_secs(2);

/// Why the resource API could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// The rules file could not be read or parsed.
    #[error("{file}: {reason}")]
    Rules {
        /// The file.
        file: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The listening socket could not be opened.
    #[error("cannot listen on 127.0.0.1: {0}")]
    Bind(#[source] std::io::Error),
    /// The HTTP client could not be built.
    #[error("cannot build the gateway's HTTP client: {0}")]
    HttpClient(String),
}

/// One API family: a path prefix and the scopes that open it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    /// Path prefix, such as `/text/`.
    pub prefix: String,
    /// Any one of these scopes opens the route.
    pub scopes: Vec<String>,
}

/// The gateway's rules: its audience, realm and route table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rules {
    /// The resource server identifier access tokens must be addressed to.
    pub audience: String,
    /// The `realm` of its `WWW-Authenticate` challenges.
    pub realm: String,
    /// The API families.
    pub routes: Vec<Route>,
}

impl Rules {
    /// Reads the rules from a TOML file (see `fixtures/api/routes.toml`).
    ///
    /// # Errors
    /// When the file cannot be read, does not parse, or has no routes.
    pub fn load(path: &Path) -> Result<Rules, ApiError> {
        let file = path.display().to_string();
        let text =
            std::fs::read_to_string(path).map_err(|e| ApiError::Rules { file: file.clone(), reason: e.to_string() })?;
        Rules::parse(&text, &file)
    }

    fn parse(text: &str, file: &str) -> Result<Rules, ApiError> {
        let rules: Rules =
            toml::from_str(text).map_err(|e| ApiError::Rules { file: file.to_owned(), reason: e.to_string() })?;
        if rules.routes.is_empty() {
            return Err(ApiError::Rules { file: file.to_owned(), reason: "no routes".into() });
        }
        for route in &rules.routes {
            if !route.prefix.starts_with('/') || route.scopes.is_empty() {
                return Err(ApiError::Rules {
                    file: file.to_owned(),
                    reason: format!("route {:?} needs a prefix starting with / and at least one scope", route.prefix),
                });
            }
        }
        Ok(rules)
    }

    /// The route a path belongs to.
    #[must_use]
    pub fn route(&self, path: &str) -> Option<&Route> {
        self.routes.iter().find(|r| path.starts_with(&r.prefix))
    }
}

/// The gateway's credentials at the IdP's introspection endpoint.
#[derive(Clone)]
pub struct Introspection {
    /// The introspection endpoint.
    pub endpoint: String,
    /// The gateway's client_id.
    pub client_id: String,
    /// The gateway's client secret.
    pub client_secret: String,
}

impl std::fmt::Debug for Introspection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Introspection")
            .field("endpoint", &self.endpoint)
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .finish()
    }
}

/// Everything the gateway is started with.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Audience, realm and routes.
    pub rules: Rules,
    /// The issuer whose access tokens are accepted.
    pub issuer: String,
    /// The issuer's JWKS, for JWT access tokens; `None`: JWTs are refused.
    pub jwks_uri: Option<String>,
    /// How to introspect opaque tokens; `None`: opaque tokens are refused.
    pub introspection: Option<Introspection>,
    /// The clock `exp` is judged by: the run's clock, which a run against
    /// the embedded IdP moves (default: the real time).
    pub clock: crate::time::Clock,
}

/// Requests the gateway has answered, by outcome.
#[derive(Debug, Default)]
pub struct Counters {
    /// Answered 2xx.
    pub allowed: AtomicU64,
    /// Answered 401.
    pub unauthorized: AtomicU64,
    /// Answered 403.
    pub forbidden: AtomicU64,
    /// Answered anything else.
    pub other: AtomicU64,
}

struct Gateway {
    config: ApiConfig,
    http: reqwest::Client,
    jwks: Mutex<(Option<JwkSet>, Option<Instant>)>,
    /// Held while the JWKS is fetched, so that concurrent requests with an
    /// unknown kid wait for one fetch instead of each making their own.
    jwks_fetch: tokio::sync::Mutex<()>,
    counters: Arc<Counters>,
}

/// A running resource API. Dropping it stops the server.
#[derive(Debug)]
pub struct ResourceApi {
    base: String,
    addr: SocketAddr,
    counters: Arc<Counters>,
    stop: Option<oneshot::Sender<()>>,
}

impl ResourceApi {
    /// Binds `127.0.0.1:0` and serves the gateway on the current runtime.
    ///
    /// # Errors
    /// When the socket cannot be opened or the HTTP client built.
    pub async fn start(config: ApiConfig) -> Result<ResourceApi, ApiError> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await.map_err(ApiError::Bind)?;
        let addr = listener.local_addr().map_err(ApiError::Bind)?;
        let http = crate::client_builder()
            .timeout(UPSTREAM_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| ApiError::HttpClient(e.to_string()))?;
        let counters = Arc::new(Counters::default());
        let gateway = Arc::new(Gateway {
            config,
            http,
            jwks: Mutex::new((None, None)),
            jwks_fetch: tokio::sync::Mutex::new(()),
            counters: Arc::clone(&counters),
        });
        // Fetched once up front; a failure here is retried on first use.
        if gateway.config.jwks_uri.is_some() {
            let _ = gateway.key_set("").await;
        }
        let app = Router::new().fallback(serve).with_state(gateway);
        let (stop, stopped) = oneshot::channel::<()>();
        let server = axum::serve(listener, app).with_graceful_shutdown(async move {
            let _ = stopped.await;
        });
        tokio::spawn(async move {
            let _ = server.await;
        });
        Ok(ResourceApi { base: format!("http://{addr}"), addr, counters, stop: Some(stop) })
    }

    /// The base URL, `http://127.0.0.1:PORT`.
    #[must_use]
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// The socket address.
    #[must_use]
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// How many requests were answered, by outcome.
    #[must_use]
    pub fn counters(&self) -> &Counters {
        &self.counters
    }
}

impl Drop for ResourceApi {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Why a request was refused.
#[derive(Debug)]
enum Refusal {
    /// No token at all (RFC 6750 3.1: no error code).
    NoToken,
    /// A malformed request, such as two credentials.
    InvalidRequest(String),
    /// The token is not acceptable.
    InvalidToken(String),
    /// The token lacks the route's scopes.
    InsufficientScope { needed: Vec<String> },
    /// No route matches.
    NotFound,
    /// The IdP could not be asked (JWKS or introspection failed).
    Upstream(String),
}

/// Quotes a value for an auth-param (RFC 7235 2.1 quoted-string).
fn quoted(value: &str) -> String {
    // RFC 6750 3: error_description "MUST NOT include characters outside the
    // set %x20-21 / %x23-5B / %x5D-7E"; anything else becomes '?', so the
    // header is always valid and always sent.
    let cleaned: String = value
        .chars()
        .map(|c| match c {
            '"' | '\\' => '\'',
            ' '..='~' => c,
            _ => '?',
        })
        .collect();
    format!("\"{cleaned}\"")
}

impl Refusal {
    fn into_response(self, realm: &str) -> Response {
        let (status, challenge, body) = match self {
            Refusal::NoToken => (
                StatusCode::UNAUTHORIZED,
                Some(format!("Bearer realm={}", quoted(realm))),
                json!({ "error": "unauthorized", "error_description": "no access token" }),
            ),
            Refusal::InvalidRequest(why) => (
                StatusCode::BAD_REQUEST,
                Some(format!(
                    "Bearer realm={}, error=\"invalid_request\", error_description={}",
                    quoted(realm),
                    quoted(&why)
                )),
                json!({ "error": "invalid_request", "error_description": why }),
            ),
            Refusal::InvalidToken(why) => (
                StatusCode::UNAUTHORIZED,
                Some(format!(
                    "Bearer realm={}, error=\"invalid_token\", error_description={}",
                    quoted(realm),
                    quoted(&why)
                )),
                json!({ "error": "invalid_token", "error_description": why }),
            ),
            Refusal::InsufficientScope { needed } => {
                let scope = needed.join(" ");
                (
                    StatusCode::FORBIDDEN,
                    Some(format!(
                        "Bearer realm={}, error=\"insufficient_scope\", scope={}",
                        quoted(realm),
                        quoted(&scope)
                    )),
                    json!({ "error": "insufficient_scope", "scope": scope }),
                )
            }
            Refusal::NotFound => (StatusCode::NOT_FOUND, None, json!({ "error": "not_found" })),
            Refusal::Upstream(why) => (
                StatusCode::SERVICE_UNAVAILABLE,
                None,
                json!({ "error": "temporarily_unavailable", "error_description": why }),
            ),
        };
        let mut response = (status, axum::Json(body)).into_response();
        if let Some(challenge) = challenge.and_then(|c| HeaderValue::from_str(&c).ok()) {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, challenge);
        }
        response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}

/// What a valid token says about itself.
#[derive(Debug)]
struct Grant {
    sub: Option<String>,
    client_id: Option<String>,
    scope: Vec<String>,
    validated_by: &'static str,
}

async fn serve(State(gateway): State<Arc<Gateway>>, uri: Uri, headers: HeaderMap) -> Response {
    let counters = &gateway.counters;
    let response = match handle(&gateway, &uri, &headers).await {
        Ok(body) => (StatusCode::OK, [(header::CACHE_CONTROL, "no-store")], axum::Json(body)).into_response(),
        Err(refusal) => refusal.into_response(&gateway.config.rules.realm),
    };
    let counter = match response.status() {
        s if s.is_success() => &counters.allowed,
        StatusCode::UNAUTHORIZED => &counters.unauthorized,
        StatusCode::FORBIDDEN => &counters.forbidden,
        _ => &counters.other,
    };
    counter.fetch_add(1, Ordering::Relaxed);
    response
}

async fn handle(gateway: &Gateway, uri: &Uri, headers: &HeaderMap) -> Result<Value, Refusal> {
    let route = gateway.config.rules.route(uri.path()).ok_or(Refusal::NotFound)?;
    let token = bearer(headers)?;
    // A JWT is three dot-separated parts with a readable header; anything
    // else (an opaque token may contain dots too) is introspected.
    let looks_like_jwt = token.split('.').count() == 3 && jsonwebtoken::decode_header(&token).is_ok();
    let grant = if looks_like_jwt || gateway.config.introspection.is_none() {
        gateway.validate_jwt(&token).await?
    } else {
        gateway.introspect(&token).await?
    };
    if !route.scopes.iter().any(|s| grant.scope.contains(s)) {
        return Err(Refusal::InsufficientScope { needed: route.scopes.clone() });
    }
    Ok(json!({
        "api": route.prefix.trim_matches('/'),
        "path": uri.path(),
        "sub": grant.sub,
        "client_id": grant.client_id,
        "scope": grant.scope.join(" "),
        "validated_by": grant.validated_by,
    }))
}

/// The bearer token of the `Authorization` header (RFC 6750 2.1).
fn bearer(headers: &HeaderMap) -> Result<String, Refusal> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = values.next() else { return Err(Refusal::NoToken) };
    if values.next().is_some() {
        return Err(Refusal::InvalidRequest("more than one Authorization header".into()));
    }
    let value = value.to_str().map_err(|_| Refusal::InvalidRequest("the Authorization header is not ASCII".into()))?;
    let (scheme, token) = value.trim().split_once(' ').unwrap_or((value.trim(), ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        // Another scheme carries no bearer token: as if none were sent.
        return Err(Refusal::NoToken);
    }
    let token = token.trim();
    // RFC 6750 2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
    let body = token.trim_end_matches('=');
    if body.is_empty() || !body.chars().all(|c| c.is_ascii_alphanumeric() || "-._~+/".contains(c)) {
        return Err(Refusal::InvalidToken("the bearer token is not a b64token".into()));
    }
    Ok(token.to_owned())
}

/// Reads at most [`MAX_BODY`] bytes of a response.
async fn limited_json(mut response: reqwest::Response) -> Result<Value, String> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| e.to_string())? {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(format!("the response is larger than {MAX_BODY} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    serde_json::from_slice(&body).map_err(|e| format!("the response is not JSON: {e}"))
}

fn scope_of(value: Option<&Value>) -> Vec<String> {
    value.and_then(Value::as_str).map(|s| s.split_ascii_whitespace().map(str::to_owned).collect()).unwrap_or_default()
}

fn audience_contains(aud: Option<&Value>, wanted: &str) -> bool {
    match aud {
        Some(Value::String(s)) => s == wanted,
        Some(Value::Array(items)) => items.iter().any(|i| i.as_str() == Some(wanted)),
        _ => false,
    }
}

fn describe_aud(aud: Option<&Value>) -> String {
    aud.map_or_else(|| "no aud".to_owned(), |a| format!("aud {a}"))
}

impl Gateway {
    /// Seconds since the UNIX epoch, by the run's clock.
    fn now(&self) -> u64 {
        u64::try_from(self.config.clock.now_secs()).unwrap_or(0)
    }

    /// The issuer's JWKS; fetched again (at most every [`JWKS_REFRESH`])
    /// when `kid` is not in the cached set.
    async fn key_set(&self, kid: &str) -> Result<JwkSet, Refusal> {
        if self.config.jwks_uri.is_none() {
            return Err(Refusal::InvalidToken("this gateway accepts no JWT access tokens".into()));
        }
        // The cached set when it has `kid`, or when the last fetch (failed
        // or not) was too recent to try again.
        let cached = || -> Option<Result<JwkSet, Refusal>> {
            let guard = self.jwks.lock().unwrap_or_else(PoisonError::into_inner);
            let (set, attempted) = &*guard;
            let recent = attempted.is_some_and(|t| t.elapsed() < JWKS_REFRESH);
            match set {
                Some(set) if recent || set.find(kid).is_some() => Some(Ok(set.clone())),
                None if recent => Some(Err(Refusal::Upstream("the issuer's JWKS could not be fetched".into()))),
                _ => None,
            }
        };
        if let Some(answer) = cached() {
            return answer;
        }
        let _fetching = self.jwks_fetch.lock().await;
        // Another request may have fetched it meanwhile.
        if let Some(answer) = cached() {
            return answer;
        }
        let fetched = self.fetch_jwks().await;
        let mut guard = self.jwks.lock().unwrap_or_else(PoisonError::into_inner);
        guard.1 = Some(Instant::now());
        let set = fetched?;
        guard.0 = Some(set.clone());
        Ok(set)
    }

    async fn fetch_jwks(&self) -> Result<JwkSet, Refusal> {
        let uri = self
            .config
            .jwks_uri
            .as_deref()
            .ok_or_else(|| Refusal::InvalidToken("this gateway accepts no JWT access tokens".into()))?;
        let response =
            self.http.get(uri).send().await.map_err(|e| Refusal::Upstream(format!("cannot fetch the JWKS: {e}")))?;
        if !response.status().is_success() {
            return Err(Refusal::Upstream(format!("the JWKS answered {}", response.status())));
        }
        let value = limited_json(response).await.map_err(|e| Refusal::Upstream(format!("JWKS: {e}")))?;
        // Keys this library cannot read (other kty, private members) are skipped.
        let keys = value.get("keys").and_then(Value::as_array).cloned().unwrap_or_default();
        let usable: Vec<_> = keys.into_iter().filter_map(|k| serde_json::from_value(k).ok()).collect();
        Ok(JwkSet { keys: usable })
    }

    async fn validate_jwt(&self, token: &str) -> Result<Grant, Refusal> {
        let bad = |why: String| Refusal::InvalidToken(why);
        let header = jsonwebtoken::decode_header(token).map_err(|e| bad(format!("malformed JWT: {e}")))?;
        // RFC 9068 4: "Resource servers MUST verify that the typ header value
        // is at+jwt or application/at+jwt and reject tokens carrying any
        // other value."
        let typ = header.typ.as_deref().unwrap_or("");
        if !typ.eq_ignore_ascii_case("at+jwt") && !typ.eq_ignore_ascii_case("application/at+jwt") {
            return Err(bad(format!("typ is {typ:?}, not at+jwt (RFC 9068 4)")));
        }
        // Asymmetric algorithms only (RFC 9068 4: "MUST NOT use none"; a
        // symmetric key is not something a resource server holds).
        let alg = header.alg;
        if matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512) {
            return Err(bad(format!("alg {alg:?} is symmetric")));
        }
        let kid = header.kid.ok_or_else(|| bad("the JWT header has no kid".into()))?;
        let set = self.key_set(&kid).await?;
        let jwk = set.find(&kid).ok_or_else(|| bad(format!("no key with kid {kid:?} in the issuer's JWKS")))?;
        let key = DecodingKey::from_jwk(jwk).map_err(|e| bad(format!("the JWKS key {kid:?} is unusable: {e}")))?;
        let mut validation = Validation::new(alg);
        validation.leeway = 0;
        validation.validate_aud = false;
        // exp is judged below by the run's clock, not the wall clock.
        validation.validate_exp = false;
        validation.set_issuer(&[self.config.issuer.as_str()]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        let data = jsonwebtoken::decode::<serde_json::Map<String, Value>>(token, &key, &validation).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind;
            match e.kind() {
                ErrorKind::ExpiredSignature => bad("the access token has expired".into()),
                ErrorKind::InvalidSignature => bad("the signature does not verify with the issuer's key".into()),
                ErrorKind::InvalidIssuer => bad("iss is not the issuer".into()),
                ErrorKind::MissingRequiredClaim(c) => bad(format!("the access token has no {c}")),
                _ => bad(format!("the access token does not validate: {e}")),
            }
        })?;
        let claims = data.claims;
        // jsonwebtoken accepts exp == now; a token is valid only before exp.
        if claims.get("exp").and_then(Value::as_u64).is_some_and(|exp| self.now() >= exp) {
            return Err(bad("the access token has expired".into()));
        }
        let audience = &self.config.rules.audience;
        if !audience_contains(claims.get("aud"), audience) {
            return Err(bad(format!("the access token is not for {audience} ({})", describe_aud(claims.get("aud")))));
        }
        for required in ["client_id", "iat", "jti"] {
            if !claims.contains_key(required) {
                return Err(bad(format!("the access token has no {required} (RFC 9068 2.2)")));
            }
        }
        Ok(Grant {
            sub: claims.get("sub").and_then(Value::as_str).map(str::to_owned),
            client_id: claims.get("client_id").and_then(Value::as_str).map(str::to_owned),
            scope: scope_of(claims.get("scope")),
            validated_by: "jwt",
        })
    }

    async fn introspect(&self, token: &str) -> Result<Grant, Refusal> {
        let Some(cfg) = &self.config.introspection else {
            return Err(Refusal::InvalidToken("this gateway accepts only JWT access tokens".into()));
        };
        // RFC 6749 2.3.1: Basic credentials are form-url-encoded first.
        let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let basic = STANDARD.encode(format!("{}:{}", enc(&cfg.client_id), enc(&cfg.client_secret)));
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("token", token)
            .append_pair("token_type_hint", "access_token")
            .finish();
        let response = self
            .http
            .post(&cfg.endpoint)
            .header(header::AUTHORIZATION, format!("Basic {basic}"))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| Refusal::Upstream(format!("cannot reach the introspection endpoint: {e}")))?;
        if !response.status().is_success() {
            return Err(Refusal::Upstream(format!("the introspection endpoint answered {}", response.status())));
        }
        let value = limited_json(response).await.map_err(|e| Refusal::Upstream(format!("introspection: {e}")))?;
        if value.get("active") != Some(&Value::Bool(true)) {
            return Err(Refusal::InvalidToken("the IdP says the access token is not active".into()));
        }
        if value.get("exp").and_then(Value::as_u64).is_some_and(|exp| self.now() >= exp) {
            return Err(Refusal::InvalidToken("the access token has expired".into()));
        }
        // RFC 7662 2.2 token_type: an access token's type (RFC 6749 7.1).
        // Introspection also answers for refresh tokens, which must not
        // open the API; an answer that names another type is refused.
        if let Some(kind) = value.get("token_type").and_then(Value::as_str)
            && !kind.eq_ignore_ascii_case("bearer")
            && !kind.eq_ignore_ascii_case("dpop")
        {
            return Err(Refusal::InvalidToken(format!("the token is a {kind}, not an access token")));
        }
        let audience = &self.config.rules.audience;
        if value.get("aud").is_some() && !audience_contains(value.get("aud"), audience) {
            return Err(Refusal::InvalidToken(format!(
                "the access token is not for {audience} ({} in the introspection response)",
                describe_aud(value.get("aud"))
            )));
        }
        Ok(Grant {
            sub: value.get("sub").and_then(Value::as_str).map(str::to_owned),
            client_id: value.get("client_id").and_then(Value::as_str).map(str::to_owned),
            scope: scope_of(value.get("scope")),
            validated_by: "introspection",
        })
    }
}

#[cfg(test)]
mod tests;
