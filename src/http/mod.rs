//! The HTTP client every step talks through.
//!
//! One [`HttpClient`] per scenario: its own cookie jar (a browser session),
//! no automatic redirects (each hop is recorded and checked), a timeout on
//! every request, a cap on response bodies, and a recorder that keeps every
//! exchange with secrets redacted.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::header::HeaderMap;
use url::Url;

use crate::secret::{self, REDACTED, Scrubber};

/// Default limit on a response body; a larger body fails the request.
pub const DEFAULT_MAX_BODY: usize = 2 * 1024 * 1024;
/// Default timeout of one request, connection included.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Most redirects a flow follows before it is called a loop.
pub const MAX_REDIRECTS: usize = 20;
/// How much of a body an [`Exchange`] keeps.
const RECORDED_BODY: usize = 4096;

/// Errors of the HTTP layer. Every variant names the URL it concerns.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HttpError {
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Client(#[source] reqwest::Error),
    /// The request did not complete within the timeout.
    #[error("{method} {url}: no answer within {timeout:?}")]
    Timeout {
        /// Request method.
        method: String,
        /// Redacted request URL.
        url: String,
        /// The timeout that expired.
        timeout: Duration,
    },
    /// The connection failed (refused, reset, DNS).
    #[error("{method} {url}: cannot connect: {reason}")]
    Connect {
        /// Request method.
        method: String,
        /// Redacted request URL.
        url: String,
        /// What the transport said.
        reason: String,
    },
    /// The response body exceeded the size cap.
    #[error("{method} {url}: response body exceeds {limit} bytes")]
    BodyTooLarge {
        /// Request method.
        method: String,
        /// Redacted request URL.
        url: String,
        /// The cap.
        limit: usize,
    },
    /// Any other transport failure.
    #[error("{method} {url}: {reason}")]
    Transport {
        /// Request method.
        method: String,
        /// Redacted request URL.
        url: String,
        /// What the transport said.
        reason: String,
    },
    /// A redirect's Location header is missing or not a URL.
    #[error("{url}: redirect with a missing or invalid Location header")]
    BadLocation {
        /// Redacted URL of the redirecting response.
        url: String,
    },
    /// The same URL was reached twice while following redirects.
    #[error("redirect loop: {url} was reached twice")]
    RedirectLoop {
        /// Redacted URL seen twice.
        url: String,
    },
    /// More than [`MAX_REDIRECTS`] redirects in a row.
    #[error("more than {MAX_REDIRECTS} redirects in a row, last at {url}")]
    TooManyRedirects {
        /// Redacted last URL.
        url: String,
    },
}

/// The body of a request.
#[derive(Debug, Clone)]
pub enum Body {
    /// `application/x-www-form-urlencoded` parameters.
    Form(Vec<(String, String)>),
    /// A JSON document.
    Json(serde_json::Value),
    /// Bytes with their content type (recorded as their size only).
    Raw(Vec<u8>, String),
}

/// A request to send.
#[derive(Debug, Clone)]
pub struct Request {
    /// HTTP method.
    pub method: reqwest::Method,
    /// Target URL.
    pub url: Url,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// Optional body.
    pub body: Option<Body>,
}

impl Request {
    /// A GET request.
    #[must_use]
    pub fn get(url: Url) -> Self {
        Self { method: reqwest::Method::GET, url, headers: Vec::new(), body: None }
    }

    /// A POST request with a form body.
    #[must_use]
    pub fn post_form(url: Url, form: Vec<(String, String)>) -> Self {
        Self { method: reqwest::Method::POST, url, headers: Vec::new(), body: Some(Body::Form(form)) }
    }

    /// Adds a header.
    #[must_use]
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    /// Adds HTTP Basic authentication (RFC 6749 2.3.1: id and secret are
    /// form-url-encoded before they are joined and base64-encoded).
    #[must_use]
    pub fn basic_auth(self, user: &str, password: &str) -> Self {
        use base64::Engine as _;
        let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", enc(user), enc(password)));
        self.header("authorization", format!("Basic {token}"))
    }

    /// Adds a Bearer token.
    #[must_use]
    pub fn bearer(self, token: &str) -> Self {
        self.header("authorization", format!("Bearer {token}"))
    }
}

/// A response with its whole (capped) body.
#[derive(Clone)]
pub struct Response {
    /// The URL that answered.
    pub url: Url,
    /// Status code.
    pub status: u16,
    /// Response headers.
    pub headers: HeaderMap,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("url", &secret::redact_url(&self.url))
            .field("status", &self.status)
            .field("body_len", &self.body.len())
            .finish()
    }
}

impl Response {
    /// A header value as text, if present and readable.
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as (lossy) UTF-8 text.
    #[must_use]
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body parsed as JSON.
    ///
    /// # Errors
    /// When the body is not JSON; the message quotes the start of the body,
    /// with secret members redacted where it parses partially.
    pub fn json(&self) -> Result<serde_json::Value, String> {
        serde_json::from_slice(&self.body).map_err(|e| {
            format!(
                "{} answered {} with a body that is not JSON ({e}): {}",
                secret::redact_url(&self.url),
                self.status,
                preview(&self.text(), 120)
            )
        })
    }

    /// Whether the status is a redirect with a Location header.
    #[must_use]
    pub fn is_redirect(&self) -> bool {
        matches!(self.status, 301 | 302 | 303 | 307 | 308)
    }

    /// The redirect target resolved against this response's URL.
    ///
    /// # Errors
    /// When the Location header is missing or not a URL.
    pub fn location(&self) -> Result<Url, HttpError> {
        self.header("location")
            .and_then(|l| self.url.join(l).ok())
            .ok_or_else(|| HttpError::BadLocation { url: secret::redact_url(&self.url) })
    }
}

/// The first `max` characters of `text` on one line, for error messages.
#[must_use]
pub fn preview(text: &str, max: usize) -> String {
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() > max {
        format!("{}…", one_line.chars().take(max).collect::<String>())
    } else {
        one_line
    }
}

/// One recorded request and response, with secrets redacted.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Exchange {
    /// Request method.
    pub method: String,
    /// Redacted request URL.
    pub url: String,
    /// Redacted request headers.
    pub request_headers: Vec<(String, String)>,
    /// Redacted request body.
    pub request_body: Option<String>,
    /// Response status, or `None` when the request failed.
    pub status: Option<u16>,
    /// Redacted response headers.
    pub response_headers: Vec<(String, String)>,
    /// Redacted start of the response body.
    pub response_body: String,
    /// Transport error, if the request failed.
    pub error: Option<String>,
    /// When the request started, in milliseconds since the UNIX epoch.
    pub started_ms: u128,
    /// Time taken.
    pub elapsed_ms: u128,
    /// JWTs found in the request or response, decoded (header and claims;
    /// the compact form and the signature are never kept).
    pub jwts: Vec<JwtView>,
}

/// A JWT seen in an exchange: where, and its decoded header and claims.
#[derive(Debug, Clone, serde::Serialize)]
pub struct JwtView {
    /// Where it was, e.g. `response id_token`.
    pub location: String,
    /// The JOSE header.
    pub header: serde_json::Value,
    /// The claims.
    pub claims: serde_json::Value,
}

/// Decodes a compact JWS's header and claims without verifying it; `None`
/// when the text is not one.
#[must_use]
pub fn decode_jwt(text: &str) -> Option<(serde_json::Value, serde_json::Value)> {
    use base64::Engine as _;
    let mut parts = text.split('.');
    let (h, c, _sig) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || text.len() > 64 * 1024 {
        return None;
    }
    let dec = |p: &str| -> Option<serde_json::Value> {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(p).ok()?;
        let v: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
        v.is_object().then_some(v)
    };
    Some((dec(h)?, dec(c)?))
}

fn jwt_views(location: &str, pairs: impl Iterator<Item = (String, String)>) -> Vec<JwtView> {
    pairs
        .filter_map(|(k, v)| {
            decode_jwt(&v).map(|(header, claims)| JwtView { location: format!("{location} {k}"), header, claims })
        })
        .collect()
}

fn json_string_members(v: &serde_json::Value) -> Vec<(String, String)> {
    match v {
        serde_json::Value::Object(m) => {
            m.iter().filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_owned()))).collect()
        }
        _ => Vec::new(),
    }
}

impl Exchange {
    /// One line: `POST http://.../token -> 400 (12 ms)`.
    #[must_use]
    pub fn summary(&self) -> String {
        match (self.status, &self.error) {
            (Some(s), _) => format!("{} {} -> {} ({} ms)", self.method, self.url, s, self.elapsed_ms),
            (None, Some(e)) => format!("{} {} -> error: {e}", self.method, self.url),
            (None, None) => format!("{} {}", self.method, self.url),
        }
    }
}

/// How a target is reached: timeouts and extra trust anchors (a remote
/// profile's `[timeouts]` and `[tls]`).
#[derive(Clone, Debug)]
pub struct Settings {
    /// Timeout of one request, connection included.
    pub timeout: Duration,
    /// Timeout of establishing a connection.
    pub connect_timeout: Duration,
    /// Certificates trusted besides the operating system's trust store.
    pub extra_roots: Vec<reqwest::Certificate>,
}

impl Default for Settings {
    fn default() -> Self {
        Self { timeout: DEFAULT_TIMEOUT, connect_timeout: Duration::from_secs(5), extra_roots: Vec::new() }
    }
}

impl Settings {
    /// Reads a PEM bundle of trust anchors into `extra_roots`.
    ///
    /// # Errors
    /// When the file cannot be read or holds no PEM certificate.
    pub fn add_ca_file(&mut self, path: &std::path::Path) -> Result<(), String> {
        let pem = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| format!("{}: not a PEM certificate bundle: {e}", path.display()))?;
        if certs.is_empty() {
            return Err(format!("{}: no PEM certificate in it", path.display()));
        }
        self.extra_roots.extend(certs);
        Ok(())
    }

    fn builder(&self) -> reqwest::ClientBuilder {
        // Extra trust anchors need a TLS configuration of the client's own.
        let b = if self.extra_roots.is_empty() {
            kensa_mocks::client_builder()
        } else {
            kensa_mocks::client_builder_own_roots()
        };
        let mut b = b
            .redirect(reqwest::redirect::Policy::none())
            .timeout(self.timeout)
            .connect_timeout(self.connect_timeout.min(self.timeout))
            .user_agent(concat!("kensa/", env!("CARGO_PKG_VERSION")));
        for cert in &self.extra_roots {
            b = b.add_root_certificate(cert.clone());
        }
        b
    }
}

/// The per-scenario HTTP client.
#[derive(Clone)]
pub struct HttpClient {
    client: reqwest::Client,
    exchanges: Arc<Mutex<Vec<Exchange>>>,
    scrubber: Scrubber,
    max_body: usize,
    timeout: Duration,
    settings: Arc<Settings>,
}

impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClient").field("exchanges", &self.exchange_count()).finish()
    }
}

/// Redacts header values that carry secrets: the credentials of
/// Authorization (its scheme stays), every cookie value (names and cookie
/// attributes stay), and any other secret-named header whole.
fn redact_headers(headers: impl Iterator<Item = (String, String)>) -> Vec<(String, String)> {
    headers
        .map(|(k, v)| {
            let lower = k.to_ascii_lowercase();
            let shown = match lower.as_str() {
                "authorization" | "proxy-authorization" => match v.split_once(' ') {
                    Some((scheme, _)) => format!("{scheme} {REDACTED}"),
                    None => REDACTED.to_owned(),
                },
                "cookie" => redact_cookie_pairs(&v, "; "),
                "set-cookie" => match v.split_once(';') {
                    Some((pair, attrs)) => format!("{};{attrs}", redact_cookie_pairs(pair, "")),
                    None => redact_cookie_pairs(&v, ""),
                },
                _ if secret::is_secret_name(&k) => REDACTED.to_owned(),
                _ => v,
            };
            (k, shown)
        })
        .collect()
}

fn redact_cookie_pairs(pairs: &str, sep: &str) -> String {
    pairs
        .split(';')
        .map(|p| match p.trim().split_once('=') {
            Some((name, _)) => format!("{name}={REDACTED}"),
            None => REDACTED.to_owned(),
        })
        .collect::<Vec<_>>()
        .join(if sep.is_empty() { "; " } else { sep })
}

fn redact_body_text(text: &str, content_type: Option<&str>) -> String {
    let looks_json = content_type.is_some_and(|c| c.contains("json")) || text.trim_start().starts_with('{');
    if looks_json && let Ok(v) = serde_json::from_str::<serde_json::Value>(text) {
        return secret::redact_json(&v).to_string();
    }
    if content_type.is_some_and(|c| c.contains("x-www-form-urlencoded")) {
        return redact_form(&url::form_urlencoded::parse(text.as_bytes()).into_owned().collect::<Vec<_>>());
    }
    if content_type.is_some_and(|c| c.contains("xml") || c.contains("html")) || text.trim_start().starts_with('<') {
        return secret::redact_markup(text);
    }
    text.to_owned()
}

fn redact_form(form: &[(String, String)]) -> String {
    let mut ser = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in form {
        ser.append_pair(k, if secret::is_secret_name(k) { REDACTED } else { v });
    }
    ser.finish()
}

impl HttpClient {
    /// A client with its own cookie jar, the default timeout and body cap.
    ///
    /// # Errors
    /// When the underlying client cannot be built.
    pub fn new(scrubber: Scrubber) -> Result<Self, HttpError> {
        Self::with_limits(scrubber, DEFAULT_TIMEOUT, DEFAULT_MAX_BODY)
    }

    /// A client with the given timeout and body cap.
    ///
    /// # Errors
    /// When the underlying client cannot be built.
    pub fn with_limits(scrubber: Scrubber, timeout: Duration, max_body: usize) -> Result<Self, HttpError> {
        Self::with_settings(scrubber, Settings { timeout, ..Settings::default() }, max_body)
    }

    /// A client for a target reached with `settings` (timeouts, trust
    /// anchors).
    ///
    /// # Errors
    /// When the underlying client cannot be built.
    pub fn with_settings(scrubber: Scrubber, settings: Settings, max_body: usize) -> Result<Self, HttpError> {
        let client = settings.builder().cookie_store(true).build().map_err(HttpError::Client)?;
        let timeout = settings.timeout;
        Ok(Self { client, exchanges: Arc::default(), scrubber, max_body, timeout, settings: Arc::new(settings) })
    }

    /// A client for the relying party's back channel (token, userinfo,
    /// revocation, introspection calls): no cookie jar, as a server-side
    /// client never carries the user's browser cookies, but the same
    /// recorder, scrubber and limits as this one.
    ///
    /// # Errors
    /// When the underlying client cannot be built.
    pub fn back_channel(&self) -> Result<Self, HttpError> {
        let client = self.settings.builder().build().map_err(HttpError::Client)?;
        Ok(Self {
            client,
            exchanges: Arc::clone(&self.exchanges),
            scrubber: self.scrubber.clone(),
            settings: Arc::clone(&self.settings),
            ..*self
        })
    }

    /// A new browser: an empty cookie jar, the same recorder, scrubber and
    /// limits as this one.
    ///
    /// # Errors
    /// When the underlying client cannot be built.
    pub fn fresh_session(&self) -> Result<Self, HttpError> {
        let fresh = Self::with_settings(self.scrubber.clone(), (*self.settings).clone(), self.max_body)?;
        Ok(Self { exchanges: Arc::clone(&self.exchanges), ..fresh })
    }

    /// The run's scrubber.
    #[must_use]
    pub fn scrubber(&self) -> &Scrubber {
        &self.scrubber
    }

    /// Every exchange so far, in order, scrubbed of every secret the run
    /// knows by now.
    #[must_use]
    pub fn exchanges(&self) -> Vec<Exchange> {
        let raw = self.exchanges.lock().map(|e| e.clone()).unwrap_or_default();
        raw.into_iter().map(|ex| self.scrubbed(ex)).collect()
    }

    /// How long the slowest exchange so far took, in milliseconds.
    #[must_use]
    pub fn slowest_exchange_ms(&self) -> u128 {
        self.exchanges.lock().map(|e| e.iter().map(|x| x.elapsed_ms).max().unwrap_or(0)).unwrap_or(0)
    }

    /// The number of exchanges so far.
    #[must_use]
    pub fn exchange_count(&self) -> usize {
        self.exchanges.lock().map(|e| e.len()).unwrap_or(0)
    }

    /// The last `n` exchanges as one line each, for failure messages.
    #[must_use]
    pub fn transcript_tail(&self, n: usize) -> String {
        let tail: Vec<Exchange> =
            self.exchanges.lock().map(|e| e[e.len().saturating_sub(n)..].to_vec()).unwrap_or_default();
        tail.into_iter().map(|e| format!("    {}", self.scrubbed(e).summary())).collect::<Vec<_>>().join("\n")
    }

    /// Appends an exchange made by another client.
    pub fn push_exchange(&self, ex: Exchange) {
        self.record(ex);
    }

    /// Keeps an exchange as it was (headers already redacted); its URL and
    /// bodies are scrubbed when read, against every secret registered by
    /// then. Scrubbing at each record rebuilt the run's matcher after every
    /// new token, which cost more CPU than the rest of the run.
    fn record(&self, ex: Exchange) {
        if let Ok(mut all) = self.exchanges.lock() {
            all.push(ex);
        }
    }

    fn scrubbed(&self, ex: Exchange) -> Exchange {
        Exchange {
            url: self.scrubber.scrub(&ex.url),
            request_body: ex.request_body.map(|b| self.scrubber.scrub(&b)),
            response_body: self.scrubber.scrub(&ex.response_body),
            error: ex.error.map(|e| self.scrubber.scrub(&e)),
            ..ex
        }
    }

    /// Sends one request (no redirect following) and reads the whole body.
    ///
    /// # Errors
    /// On timeout, connection failure, or a body over the cap.
    pub async fn send(&self, req: Request) -> Result<Response, HttpError> {
        let started = Instant::now();
        let method = req.method.to_string();
        let shown_url = secret::redact_url(&req.url);
        let mut builder = self.client.request(req.method.clone(), req.url.clone());
        let mut rec_headers = Vec::new();
        for (k, v) in &req.headers {
            builder = builder.header(k.as_str(), v.as_str());
            rec_headers.push((k.clone(), v.clone()));
        }
        let rec_body = match &req.body {
            // A POST with nothing to say (userinfo with the token in the
            // header) carries no body and so no content type.
            Some(Body::Form(form)) if form.is_empty() => None,
            Some(Body::Form(form)) => {
                let mut ser = url::form_urlencoded::Serializer::new(String::new());
                ser.extend_pairs(form.iter());
                builder = builder.header("content-type", "application/x-www-form-urlencoded").body(ser.finish());
                rec_headers.push(("content-type".into(), "application/x-www-form-urlencoded".into()));
                Some(redact_form(form))
            }
            Some(Body::Json(v)) => {
                builder = builder.json(v);
                rec_headers.push(("content-type".into(), "application/json".into()));
                Some(secret::redact_json(v).to_string())
            }
            Some(Body::Raw(bytes, content_type)) => {
                builder = builder.header("content-type", content_type.as_str()).body(bytes.clone());
                rec_headers.push(("content-type".into(), content_type.clone()));
                Some(format!("({} bytes of {content_type})", bytes.len()))
            }
            None => None,
        };
        let mut jwts = jwt_views("request", req.url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())));
        match &req.body {
            Some(Body::Form(form)) => jwts.extend(jwt_views("request", form.iter().cloned())),
            Some(Body::Json(v)) => jwts.extend(jwt_views("request", json_string_members(v).into_iter())),
            Some(Body::Raw(..)) | None => {}
        }
        let mut exchange = Exchange {
            method: method.clone(),
            url: shown_url.clone(),
            request_headers: redact_headers(rec_headers.into_iter()),
            request_body: rec_body,
            status: None,
            response_headers: Vec::new(),
            response_body: String::new(),
            error: None,
            started_ms: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis())
                .unwrap_or(0),
            elapsed_ms: 0,
            jwts,
        };
        let result = self.fetch(builder, &method, &shown_url).await;
        exchange.elapsed_ms = started.elapsed().as_millis();
        match result {
            Ok((status, headers, body, url)) => {
                exchange.status = Some(status);
                exchange.response_headers = redact_headers(
                    headers.iter().map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("<binary>").to_owned())),
                );
                let ct = headers.get("content-type").and_then(|v| v.to_str().ok());
                let text = String::from_utf8_lossy(&body[..body.len().min(RECORDED_BODY * 4)]);
                let mut shown = redact_body_text(&text, ct);
                if shown.len() > RECORDED_BODY {
                    let cut = (0..=RECORDED_BODY).rev().find(|i| shown.is_char_boundary(*i)).unwrap_or(0);
                    shown.truncate(cut);
                    shown.push('…');
                }
                exchange.response_body = shown;
                if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&body) {
                    exchange.jwts.extend(jwt_views("response", json_string_members(&v).into_iter()));
                }
                self.record(exchange);
                Ok(Response { url, status, headers, body })
            }
            Err(e) => {
                exchange.error = Some(e.to_string());
                self.record(exchange);
                Err(e)
            }
        }
    }

    async fn fetch(
        &self,
        builder: reqwest::RequestBuilder,
        method: &str,
        shown_url: &str,
    ) -> Result<(u16, HeaderMap, Vec<u8>, Url), HttpError> {
        let classify = |e: reqwest::Error| {
            if e.is_timeout() {
                HttpError::Timeout { method: method.into(), url: shown_url.into(), timeout: self.timeout }
            } else if e.is_connect() {
                HttpError::Connect { method: method.into(), url: shown_url.into(), reason: root_cause(&e) }
            } else {
                HttpError::Transport { method: method.into(), url: shown_url.into(), reason: root_cause(&e) }
            }
        };
        let mut resp = builder.send().await.map_err(classify)?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let url = resp.url().clone();
        if resp.content_length().is_some_and(|n| n > self.max_body as u64) {
            return Err(HttpError::BodyTooLarge { method: method.into(), url: shown_url.into(), limit: self.max_body });
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(classify)? {
            if body.len() + chunk.len() > self.max_body {
                return Err(HttpError::BodyTooLarge {
                    method: method.into(),
                    url: shown_url.into(),
                    limit: self.max_body,
                });
            }
            body.extend_from_slice(&chunk);
        }
        Ok((status, headers, body, url))
    }

    /// Sends `req`, then follows redirects with GET until a response is not
    /// a redirect, or until `stop` says a redirect target is the end of the
    /// flow (e.g. the client's redirect URI, which is never fetched).
    ///
    /// # Errors
    /// On transport errors, a redirect loop, or more than [`MAX_REDIRECTS`].
    pub async fn follow(&self, req: Request, stop: &(dyn Fn(&Url) -> bool + Sync)) -> Result<Followed, HttpError> {
        let mut seen = std::collections::HashSet::new();
        let mut resp = self.send(req).await?;
        for _ in 0..MAX_REDIRECTS {
            if !resp.is_redirect() {
                return Ok(Followed::Page(resp));
            }
            let next = resp.location()?;
            if stop(&next) {
                return Ok(Followed::Stopped(next));
            }
            if !seen.insert(next.to_string()) {
                return Err(HttpError::RedirectLoop { url: secret::redact_url(&next) });
            }
            resp = self.send(Request::get(next)).await?;
        }
        Err(HttpError::TooManyRedirects { url: secret::redact_url(&resp.url) })
    }
}

/// The end of a followed flow.
#[derive(Debug)]
pub enum Followed {
    /// A page that is not a redirect.
    Page(Response),
    /// A redirect to a URL the caller asked to stop at (not fetched).
    Stopped(Url),
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut msg = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        let t = s.to_string();
        if !msg.contains(&t) {
            msg = format!("{msg}: {t}");
        }
        src = s.source();
    }
    msg
}

/// True when `issuer` is on this machine (127.0.0.0/8, ::1 or localhost).
#[must_use]
pub fn is_loopback(issuer: &str) -> bool {
    let Ok(url) = url::Url::parse(issuer) else { return false };
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A one-shot raw HTTP server answering every connection with `reply`.
    async fn raw_server(reply: Vec<u8>) -> Url {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            loop {
                let Ok((mut sock, _)) = listener.accept().await else {
                    return;
                };
                let reply = reply.clone();
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    let _ = sock.read(&mut buf).await;
                    let _ = sock.write_all(&reply).await;
                    let _ = sock.shutdown().await;
                });
            }
        });
        Url::parse(&format!("http://{addr}/")).unwrap()
    }

    #[test]
    fn cookies_keep_their_names_but_never_their_values() {
        let h = redact_headers(
            vec![
                ("Cookie".to_owned(), "kensa_session=s3cr3t-value; other=v2".to_owned()),
                ("set-cookie".to_owned(), "kensa_session=s3cr3t-value; Path=/; HttpOnly".to_owned()),
                ("authorization".to_owned(), "Bearer tok-123456".to_owned()),
                ("accept".to_owned(), "application/json".to_owned()),
            ]
            .into_iter(),
        );
        let text = format!("{h:?}");
        assert!(!text.contains("s3cr3t") && !text.contains("v2") && !text.contains("tok-123456"), "{text}");
        assert!(text.contains("kensa_session=[redacted]; other=[redacted]"), "{text}");
        assert!(text.contains("kensa_session=[redacted]; Path=/; HttpOnly"), "{text}");
        assert!(text.contains("application/json"));
    }

    #[test]
    fn jwts_are_decoded_without_their_compact_form() {
        let h = crate::oidc::b64url(br#"{"alg":"RS256","kid":"k1"}"#);
        let c = crate::oidc::b64url(br#"{"sub":"u1"}"#);
        let (header, claims) = decode_jwt(&format!("{h}.{c}.c2ln")).unwrap();
        assert_eq!(header["kid"], "k1");
        assert_eq!(claims["sub"], "u1");
        assert!(decode_jwt("opaque-token").is_none());
        assert!(decode_jwt("a.b.c").is_none());
    }

    #[tokio::test]
    async fn huge_body_is_refused_not_buffered() {
        let mut reply = b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\n".to_vec();
        reply.extend(std::iter::repeat_n(b'x', 300_000));
        let url = raw_server(reply).await;
        let c = HttpClient::with_limits(Scrubber::new(), Duration::from_secs(5), 100_000).unwrap();
        let err = c.send(Request::get(url)).await.unwrap_err();
        assert!(matches!(err, HttpError::BodyTooLarge { limit: 100_000, .. }), "{err}");
        assert_eq!(c.exchanges().len(), 1);
    }

    #[tokio::test]
    async fn redirect_loop_is_detected() {
        let url = raw_server(
            b"HTTP/1.1 302 Found\r\nlocation: /loop\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".to_vec(),
        )
        .await;
        let c = HttpClient::new(Scrubber::new()).unwrap();
        let err = c.follow(Request::get(url), &|_| false).await.unwrap_err();
        assert!(matches!(err, HttpError::RedirectLoop { .. }), "{err}");
    }

    #[tokio::test]
    async fn silent_server_times_out() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (_sock, _) = listener.accept().await.unwrap();
            tokio::time::sleep(Duration::from_secs(30)).await;
        });
        let c = HttpClient::with_limits(Scrubber::new(), Duration::from_millis(300), 1000).unwrap();
        let err = c.send(Request::get(Url::parse(&format!("http://{addr}/")).unwrap())).await.unwrap_err();
        assert!(matches!(err, HttpError::Timeout { .. }), "{err}");
    }

    #[tokio::test]
    async fn refused_connection_names_the_url() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let c = HttpClient::new(Scrubber::new()).unwrap();
        let err = c.send(Request::get(Url::parse(&format!("http://{addr}/x")).unwrap())).await.unwrap_err();
        assert!(err.to_string().contains(&addr.to_string()), "{err}");
    }

    #[tokio::test]
    async fn recorder_redacts_secrets() {
        let url = raw_server(
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n{\"access_token\":\"tok-very-secret\",\"token_type\":\"Bearer\"}".to_vec(),
        )
        .await;
        let sc = Scrubber::new();
        sc.register("client-secret-xyz");
        let c = HttpClient::new(sc).unwrap();
        let req = Request::post_form(
            url,
            vec![("client_secret".into(), "client-secret-xyz".into()), ("grant_type".into(), "x".into())],
        )
        .basic_auth("id", "client-secret-xyz");
        let resp = c.send(req).await.unwrap();
        assert_eq!(resp.json().unwrap()["access_token"], "tok-very-secret");
        let rec = serde_json::to_string(&c.exchanges()).unwrap();
        assert!(!rec.contains("tok-very-secret"), "{rec}");
        assert!(rec.contains("Basic [redacted]"), "{rec}");
        assert!(!rec.contains("client-secret-xyz"), "{rec}");
        assert!(rec.contains("grant_type=x"));
    }
}
