//! Delegated password checks: users the realm does not know are
//! authenticated by an external HTTP API.
//!
//! Step 1 posts the submitted credentials as JSON to `{base_url}/auth/password`;
//! a 200 answer with a string `user_id` authenticates the user and a 401
//! rejects the credentials. Step 2, when chained, posts that `user_id` to
//! `{base_url}/user/details` and merges a few attributes of the answer into
//! the user's claims. The password only ever travels in the JSON body of
//! step 1.

use std::time::Duration;

use reqwest::header::{ACCEPT, CONTENT_TYPE};
use serde::Serialize;
use serde_json::{Map, Value};
use url::Url;

use super::util::random_token;
use super::{App, Fault};

/// Members of a `/user/details` answer that are merged into the user's claims.
const DETAIL_CLAIMS: &[&str] = &["birthdate", "phone_number", "zoneinfo", "locale", "role"];

/// Prefix of the subject identifier of a delegated user, followed by the
/// external `user_id`.
pub(crate) const EXTERNAL_SUB_PREFIX: &str = "ext-";

/// Where and how the reference IdP delegates password checks for usernames
/// that are not realm users.
#[derive(Debug, Clone)]
pub struct ExternalAuth {
    /// Base URL of the authentication API, e.g. `http://127.0.0.1:4001`,
    /// without a trailing slash.
    pub base_url: String,
    /// Time limit of each call to the API (default 2 s).
    pub timeout: Duration,
    /// Consecutive rejected passwords after which a username is locked
    /// (default 5; 0 never locks).
    pub lock_threshold: u32,
    /// Static value of the `provider_id` claim of delegated users
    /// (default `external-auth`).
    pub provider_id: String,
    /// Whether a successful password check is followed by a
    /// `/user/details` call whose attributes are merged into the claims
    /// (default true).
    pub chain: bool,
}

impl ExternalAuth {
    /// Delegation to the API at `base_url` with the default settings; a
    /// trailing slash is removed.
    pub fn new(base_url: impl Into<String>) -> Self {
        let base_url = base_url.into().trim_end_matches('/').to_owned();
        ExternalAuth {
            base_url,
            timeout: Duration::from_secs(2),
            lock_threshold: 5,
            provider_id: "external-auth".to_owned(),
            chain: true,
        }
    }

    /// The same settings with another time limit for each call.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The same settings with another lockout threshold (0 never locks).
    #[must_use]
    pub fn with_lock_threshold(mut self, lock_threshold: u32) -> Self {
        self.lock_threshold = lock_threshold;
        self
    }

    /// The same settings with another static `provider_id` claim.
    #[must_use]
    pub fn with_provider_id(mut self, provider_id: impl Into<String>) -> Self {
        self.provider_id = provider_id.into();
        self
    }

    /// The same settings with the `/user/details` call switched on or off.
    #[must_use]
    pub fn with_chain(mut self, chain: bool) -> Self {
        self.chain = chain;
        self
    }

    /// The URL of `path` under the base URL.
    fn url(&self, path: &str) -> Option<Url> {
        Url::parse(&format!("{}{path}", self.base_url.trim_end_matches('/'))).ok()
    }
}

/// A user authenticated by the external API, kept by the provider.
#[derive(Debug, Clone)]
pub(crate) struct ExternalUser {
    /// Every claim of the user except `sub`.
    pub claims: Map<String, Value>,
}

/// What a delegated login attempt came to.
pub(crate) enum Outcome {
    /// The API accepted the credentials and the account is not locked.
    Authenticated {
        /// `ext-` followed by the external user id.
        sub: String,
        /// The mapped claims.
        claims: Map<String, Value>,
    },
    /// The API rejected the credentials (401).
    Rejected,
    /// The API accepted the credentials but the account is locked.
    Locked,
    /// The API failed: an unexpected status or body, a timeout, or no
    /// connection.
    Failed,
}

/// The body of the password check.
#[derive(Serialize)]
struct Credentials<'a> {
    username: &'a str,
    password: &'a str,
}

/// The body of the details request.
#[derive(Serialize)]
struct DetailsRequest<'a> {
    user_id: &'a str,
}

/// What step 1 came to.
enum Check {
    /// Accepted: the external user id and the answer's members.
    Accepted(String, Map<String, Value>),
    Rejected,
    Failed,
}

/// A call's answer: status and body, or `None` when no answer arrived in time.
type Answer = Option<(u16, Vec<u8>)>;

/// Runs a delegated login for `username`. `locked` says whether the account
/// was locked before this attempt: the API is still called, but an accepted
/// password then yields [`Outcome::Locked`] and no details call is made.
pub(crate) async fn delegate(
    app: &App,
    external: &ExternalAuth,
    username: &str,
    password: &str,
    locked: bool,
) -> Outcome {
    let Some(http) = app.http.as_ref() else {
        return Outcome::Failed;
    };
    let caller = Caller { app, external, http };

    let mut answer = caller.check_password(username, password).await;
    if app.has(Fault::ExternalAuthCalledTwice) {
        answer = caller.check_password(username, password).await;
    }
    let (user_id, body) = match check_of(answer) {
        Check::Accepted(user_id, body) => (user_id, body),
        Check::Rejected if app.has(Fault::ExternalAuthInvalidCredentialsAccepted) => (username.to_owned(), Map::new()),
        Check::Rejected => return Outcome::Rejected,
        Check::Failed if app.has(Fault::ExternalAuthErrorAccepted) => (username.to_owned(), Map::new()),
        Check::Failed => return Outcome::Failed,
    };
    if locked {
        return Outcome::Locked;
    }

    let mut claims = Map::new();
    claims.insert("external_user_id".into(), user_id.clone().into());
    for name in ["email", "name"] {
        if name == "email" && app.has(Fault::ExternalAuthAttributesUnmapped) {
            continue;
        }
        if let Some(value) = body.get(name).filter(|v| v.is_string()) {
            claims.insert(name.to_owned(), value.clone());
        }
    }
    claims.insert("provider_id".into(), external.provider_id.clone().into());

    if external.chain {
        let details_for = if app.has(Fault::ExternalAuthChainSendsUsername) { username } else { &user_id };
        match details_of(caller.details(details_for).await) {
            Some(details) => {
                for &name in DETAIL_CLAIMS {
                    if let Some(value) = details.get(name).filter(|v| !v.is_null()) {
                        claims.insert(name.to_owned(), value.clone());
                    }
                }
            }
            None if app.has(Fault::ExternalAuthChainFailureIgnored) => {}
            None => return Outcome::Failed,
        }
    }
    Outcome::Authenticated { sub: format!("{EXTERNAL_SUB_PREFIX}{user_id}"), claims }
}

/// Interprets the answer to the password check.
fn check_of(answer: Answer) -> Check {
    match answer {
        Some((200, body)) => match serde_json::from_slice::<Value>(&body) {
            Ok(Value::Object(members)) => match members.get("user_id").and_then(Value::as_str) {
                Some(user_id) if !user_id.is_empty() => Check::Accepted(user_id.to_owned(), members),
                _ => Check::Failed,
            },
            _ => Check::Failed,
        },
        Some((401, _)) => Check::Rejected,
        _ => Check::Failed,
    }
}

/// The members of a successful details answer.
fn details_of(answer: Answer) -> Option<Map<String, Value>> {
    match answer {
        Some((200, body)) => match serde_json::from_slice::<Value>(&body) {
            Ok(Value::Object(members)) => Some(members),
            _ => None,
        },
        _ => None,
    }
}

/// Sends the requests of one delegated login.
struct Caller<'a> {
    app: &'a App,
    external: &'a ExternalAuth,
    http: &'a reqwest::Client,
}

impl Caller<'_> {
    /// `POST /auth/password` with the credentials.
    async fn check_password(&self, username: &str, password: &str) -> Answer {
        let mut url = self.external.url("/auth/password")?;
        if self.app.has(Fault::ExternalAuthPasswordInQuery) {
            url.query_pairs_mut().append_pair("password", password);
        }
        let (content_type, body) = if self.app.has(Fault::ExternalAuthFormEncoded) {
            let form = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("username", username)
                .append_pair("password", password)
                .finish();
            ("application/x-www-form-urlencoded", form.into_bytes())
        } else {
            ("application/json", serde_json::to_vec(&Credentials { username, password }).ok()?)
        };
        self.post(url, content_type, body).await
    }

    /// `POST /user/details` for `user_id`.
    async fn details(&self, user_id: &str) -> Answer {
        let url = self.external.url("/user/details")?;
        let body = serde_json::to_vec(&DetailsRequest { user_id }).ok()?;
        self.post(url, "application/json", body).await
    }

    /// Posts `body` and reads the whole answer within the time limit.
    async fn post(&self, url: Url, content_type: &'static str, body: Vec<u8>) -> Answer {
        let mut request = self
            .http
            .post(url)
            .header(CONTENT_TYPE, content_type)
            .header(ACCEPT, "application/json")
            .header("x-request-id", random_token())
            .body(body);
        if !self.app.has(Fault::ExternalAuthNoTimeout) {
            request = request.timeout(self.external.timeout);
        }
        let response = request.send().await.ok()?;
        let status = response.status().as_u16();
        let body = response.bytes().await.ok()?;
        Some((status, body.to_vec()))
    }
}

/// The HTTP client for the external API: no redirects, no proxy.
pub(crate) fn http_client() -> reqwest::Result<reqwest::Client> {
    crate::client_builder().redirect(reqwest::redirect::Policy::none()).no_proxy().build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_builders() {
        let external = ExternalAuth::new("http://127.0.0.1:4001/");
        assert_eq!(external.base_url, "http://127.0.0.1:4001");
        assert_eq!(external.timeout, Duration::from_secs(2));
        assert_eq!(external.lock_threshold, 5);
        assert_eq!(external.provider_id, "external-auth");
        assert!(external.chain);
        let external = external
            .with_timeout(Duration::from_millis(100))
            .with_lock_threshold(3)
            .with_provider_id("corp")
            .with_chain(false);
        assert_eq!(external.timeout, Duration::from_millis(100));
        assert_eq!(external.lock_threshold, 3);
        assert_eq!(external.provider_id, "corp");
        assert!(!external.chain);
        assert_eq!(external.url("/auth/password").unwrap().as_str(), "http://127.0.0.1:4001/auth/password");
    }

    #[test]
    fn credentials_body_is_exactly_username_and_password() {
        let body = serde_json::to_string(&Credentials { username: "u\"1", password: "p w" }).unwrap();
        assert_eq!(body, r#"{"username":"u\"1","password":"p w"}"#);
    }

    #[test]
    fn password_check_answers() {
        let ok = |body: &str| check_of(Some((200, body.as_bytes().to_vec())));
        assert!(
            matches!(ok(r#"{"user_id":"42","email":"a@b"}"#), Check::Accepted(id, m) if id == "42" && m.len() == 2)
        );
        assert!(matches!(ok(r#"{"user_id":42}"#), Check::Failed));
        assert!(matches!(ok(r#"{"user_id":""}"#), Check::Failed));
        assert!(matches!(ok(r#"["user_id"]"#), Check::Failed));
        assert!(matches!(ok("not json"), Check::Failed));
        assert!(matches!(check_of(Some((401, Vec::new()))), Check::Rejected));
        assert!(matches!(check_of(Some((403, Vec::new()))), Check::Failed));
        assert!(matches!(check_of(Some((500, b"{\"user_id\":\"1\"}".to_vec()))), Check::Failed));
        assert!(matches!(check_of(None), Check::Failed));
    }

    #[test]
    fn details_answers() {
        assert!(details_of(Some((200, br#"{"role":"admin"}"#.to_vec()))).is_some());
        assert!(details_of(Some((200, b"[]".to_vec()))).is_none());
        assert!(details_of(Some((404, br#"{"role":"admin"}"#.to_vec()))).is_none());
        assert!(details_of(None).is_none());
    }
}
