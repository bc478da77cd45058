//! The reference OpenID Provider.
//!
//! [`RunningIdp::start`] serves the provider on `127.0.0.1` with an
//! ephemeral port. With no [`Fault`] set it follows OpenID Connect Core,
//! OAuth 2.0 (RFC 6749, 6750, 7009, 7636, 7662, 9207) strictly; each fault
//! breaks exactly one behaviour. With an [`ExternalAuth`] configured, the
//! passwords of usernames the realm does not know are checked by an external
//! HTTP API.

mod authorize;
mod claims;
mod discovery;
mod external_auth;
mod faults;
mod html;
mod keys;
mod oauth;
mod resource;
mod saml;
mod store;
mod token;
mod util;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use external_auth::ExternalAuth;
pub use faults::{Fault, UnknownFault};
pub use keys::Keys;
#[cfg(test)]
pub(crate) use keys::Signer;
pub use saml::{ASSERTION_TTL, SamlIdp, SamlKey};
pub use store::{ACCESS_TOKEN_PREFIX, CODE_PREFIX, REFRESH_TOKEN_PREFIX};

use crate::realm::Realm;
use store::Store;

/// Scopes the provider knows; others are dropped from requests.
const SCOPES_SUPPORTED: &[&str] = &[
    "openid",
    "profile",
    "email",
    "address",
    "phone",
    "offline_access",
    claims::IDA_SCOPE,
    "text_apis",
    "audio_apis",
    "video_apis",
    "all_apis",
];
/// Cookie identifying a browser across the login flow.
const BROWSER_COOKIE: &str = "kensa_browser";
/// Cookie identifying a signed-in session.
const SESSION_COOKIE: &str = "kensa_session";

/// Why the reference IdP could not be set up or started.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IdpError {
    /// A key PEM could not be parsed or is not a usable key.
    #[error("invalid {key} key: {reason}")]
    InvalidKey {
        /// Which key: `rs256`, `es256` or `rs256-rogue`.
        key: &'static str,
        /// Why it was refused.
        reason: String,
    },
    /// The listening socket could not be opened.
    #[error("cannot listen on 127.0.0.1: {0}")]
    Bind(#[source] std::io::Error),
    /// The HTTP client for the external authentication API could not be built.
    #[error("cannot build the HTTP client for the external authentication API: {0}")]
    HttpClient(String),
}

/// Everything the reference IdP is started with.
#[derive(Debug, Clone)]
pub struct IdpConfig {
    /// Clients and users.
    pub realm: Realm,
    /// Signing keys.
    pub keys: Keys,
    /// The fault to inject, if any.
    pub fault: Option<Fault>,
    /// Access token lifetime (default 300 s).
    pub access_token_ttl: Duration,
    /// ID token lifetime (default 300 s).
    pub id_token_ttl: Duration,
    /// Refresh token lifetime (default 3600 s).
    pub refresh_token_ttl: Duration,
    /// The external API that checks the passwords of usernames the realm
    /// does not know (default none: such usernames cannot sign in).
    pub external: Option<ExternalAuth>,
    /// The loopback port to serve on (default 0: one the OS picks).
    pub port: u16,
    /// The SAML IdP side (default none: the SAML endpoints answer 404).
    pub saml: Option<SamlIdp>,
    /// The clock every time the provider issues or judges is read from
    /// (default: the real time); a run moves it to expire tokens at once.
    pub clock: crate::time::Clock,
}

impl IdpConfig {
    /// A configuration without faults and with the default lifetimes.
    pub fn new(realm: Realm, keys: Keys) -> Self {
        IdpConfig {
            realm,
            keys,
            fault: None,
            access_token_ttl: Duration::from_secs(300),
            id_token_ttl: Duration::from_secs(300),
            refresh_token_ttl: Duration::from_secs(3600),
            external: None,
            port: 0,
            saml: None,
            clock: crate::time::Clock::new(),
        }
    }

    /// The same configuration with `fault` injected (or none).
    #[must_use]
    pub fn with_fault(mut self, fault: Option<Fault>) -> Self {
        self.fault = fault;
        self
    }

    /// The same configuration delegating the password checks of non-realm
    /// usernames to `external` (or not delegating).
    #[must_use]
    pub fn with_external(mut self, external: Option<ExternalAuth>) -> Self {
        self.external = external;
        self
    }
}

/// Shared state of a running provider.
pub(crate) struct App {
    issuer: String,
    config: IdpConfig,
    store: Mutex<Store>,
    /// Client for the external authentication API, when one is configured.
    http: Option<reqwest::Client>,
    /// Index of the SAML signing key in use (advanced by rotation).
    saml_key: std::sync::atomic::AtomicUsize,
}

impl App {
    /// True when `fault` is the injected fault.
    fn has(&self, fault: Fault) -> bool {
        self.config.fault == Some(fault)
    }

    /// Seconds since the UNIX epoch, by the provider's clock.
    fn now(&self) -> u64 {
        u64::try_from(self.config.clock.now_secs()).unwrap_or(0)
    }

    fn realm(&self) -> &Realm {
        &self.config.realm
    }

    /// True when `sub` names a realm user or a delegated user in `store`.
    fn user_exists(&self, store: &Store, sub: &str) -> bool {
        self.realm().user_by_sub(sub).is_some() || store.external_users.contains_key(sub)
    }

    /// Locks the store. Never held across an `.await`.
    fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/.well-known/openid-configuration", get(discovery::openid_configuration))
        .route("/jwks", get(discovery::jwks))
        .route("/authorize", get(authorize::authorize_get).post(authorize::authorize_post))
        .route("/login", post(authorize::login))
        .route("/token", post(token::token))
        .route("/userinfo", get(resource::userinfo_get).post(resource::userinfo_post))
        .route("/revoke", post(resource::revoke))
        .route("/introspect", post(resource::introspect))
        .route("/saml/metadata", get(saml::metadata))
        .route("/saml/sso", get(saml::sso))
        .route("/saml/rotate", post(saml::rotate))
        .with_state(app)
}

/// A reference IdP serving on `127.0.0.1`. Dropping it stops the server.
#[derive(Debug)]
pub struct RunningIdp {
    issuer: String,
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl RunningIdp {
    /// Binds `127.0.0.1` on the configured port (0: one the OS picks) and
    /// serves the provider on the current tokio runtime.
    pub async fn start(config: IdpConfig) -> Result<RunningIdp, IdpError> {
        let listener = TcpListener::bind(("127.0.0.1", config.port)).await.map_err(IdpError::Bind)?;
        let addr = listener.local_addr().map_err(IdpError::Bind)?;
        let issuer = format!("http://{addr}");
        let http = match config.external {
            Some(_) => Some(external_auth::http_client().map_err(|e| IdpError::HttpClient(e.to_string()))?),
            None => None,
        };
        let store = Mutex::new(Store::with_clock(config.clock.clone()));
        let app = Arc::new(App { issuer: issuer.clone(), config, store, http, saml_key: Default::default() });
        let (stop, stopped) = oneshot::channel::<()>();
        let server = axum::serve(listener, router(app)).with_graceful_shutdown(async move {
            // Either an explicit stop or the sender being dropped ends the wait.
            let _ = stopped.await;
        });
        let task = tokio::spawn(async move {
            let _ = server.await;
        });
        Ok(RunningIdp { issuer, addr, stop: Some(stop), task: Some(task) })
    }

    /// The issuer identifier, `http://127.0.0.1:PORT` without a trailing slash.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The socket address the provider listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting connections and lets open requests finish.
    pub fn shutdown(mut self) {
        self.signal_stop();
    }

    /// Stops the server and waits until it has finished.
    pub async fn stopped(mut self) {
        self.signal_stop();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    fn signal_stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl Drop for RunningIdp {
    fn drop(&mut self) {
        self.signal_stop();
    }
}
