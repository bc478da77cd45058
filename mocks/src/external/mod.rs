//! The external password API that IdPs delegate their password check to,
//! played by wiremock: one [`ExternalApi`] (a wiremock `MockServer`) per
//! scenario, with named mocks and expected call counts, for two contracts:
//!
//! - [`Contract::IdpServer`]: `POST /auth/password` with JSON
//!   `{"username","password"}` answering `{"user_id","email","name"}` (401
//!   `invalid_credentials` for a wrong password), and the chained
//!   `POST /user/details` with `{"user_id"}`;
//! - [`Contract::LemonLdapRest`]: LemonLDAP::NG's REST backend,
//!   `POST /llng/auth` with `{"user","password"}` answering
//!   `{"result": true|false, "info": {..}}`, and `POST /llng/userdb` with
//!   `{"user"}`.
//!
//! An IdP is configured once per run with one base URL, while scenarios run
//! concurrently with a mock server each: the [`Router`] is that base URL and
//! forwards every request to the scenario that owns the user it names (the
//! `username`, `user` or `user_id` member of its body).

mod router;

use std::time::Duration;

use serde_json::{Value, json};
use wiremock::matchers::{body_json, body_partial_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

pub use router::Router;

/// The shape of the external API an IdP speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Contract {
    /// idp-server's external password authentication contract.
    IdpServer,
    /// LemonLDAP::NG's REST authentication and user database.
    LemonLdapRest,
}

impl Contract {
    /// The path of the password check.
    #[must_use]
    pub fn password_path(self) -> &'static str {
        match self {
            Self::IdpServer => "/auth/password",
            Self::LemonLdapRest => "/llng/auth",
        }
    }

    /// The JSON body the IdP must send for a password check.
    #[must_use]
    pub fn password_body(self, username: &str, password: &str) -> Value {
        match self {
            Self::IdpServer => json!({ "username": username, "password": password }),
            Self::LemonLdapRest => json!({ "user": username, "password": password }),
        }
    }
}

/// A user the external API knows.
#[derive(Clone)]
pub struct ExternalUser {
    /// The login name.
    pub username: String,
    /// The password the API accepts.
    pub password: String,
    /// The attributes the API returns (`user_id`, `email`, `name`, ...).
    pub attributes: serde_json::Map<String, Value>,
}

impl std::fmt::Debug for ExternalUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExternalUser")
            .field("username", &self.username)
            .field("password", &"[redacted]")
            .field("attributes", &self.attributes)
            .finish()
    }
}

/// How the password check answers, whatever the credentials.
#[derive(Debug, Clone)]
pub enum Answer {
    /// The contract's wrong-credentials answer.
    Reject,
    /// This HTTP status with a JSON error body.
    Status(u16),
    /// 200 with a body that is not JSON.
    NotJson,
    /// The success answer for the user, after a delay.
    Slow(Duration),
}

/// One scenario's external API.
#[derive(Debug)]
pub struct ExternalApi {
    /// Always `Some` until dropped.
    server: Option<MockServer>,
    contract: Contract,
}

impl Drop for ExternalApi {
    /// wiremock's `MockServer` verifies its expectations when dropped by
    /// blocking on its own async state; blocking a runtime thread on it can
    /// spin forever, so on a runtime the drop happens on a blocking thread.
    fn drop(&mut self) {
        let Some(server) = self.server.take() else { return };
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                rt.spawn_blocking(move || drop(server));
            }
            Err(_) => drop(server),
        }
    }
}

impl ExternalApi {
    /// Starts a mock server speaking `contract`.
    pub async fn start(contract: Contract) -> Self {
        Self { server: Some(MockServer::start().await), contract }
    }

    fn server(&self) -> &MockServer {
        self.server.as_ref().expect("the server lives until the ExternalApi is dropped")
    }

    /// Its base URL.
    #[must_use]
    pub fn uri(&self) -> String {
        self.server().uri()
    }

    /// The contract it speaks.
    #[must_use]
    pub fn contract(&self) -> Contract {
        self.contract
    }

    fn success_body(&self, user: &ExternalUser) -> Value {
        match self.contract {
            Contract::IdpServer => Value::Object(user.attributes.clone()),
            Contract::LemonLdapRest => json!({ "result": true, "info": user.attributes }),
        }
    }

    /// Accepts exactly `user`'s username and password, sent as JSON with a
    /// JSON content type; expects `times` such requests (any number when
    /// `None`).
    pub async fn accept(&self, user: &ExternalUser, times: Option<u64>) {
        let mut mock = Mock::given(method("POST"))
            .and(path(self.contract.password_path()))
            .and(header("content-type", "application/json"))
            .and(body_json(self.contract.password_body(&user.username, &user.password)))
            .respond_with(ResponseTemplate::new(200).set_body_json(self.success_body(user)))
            .named("password check with the right credentials");
        if let Some(n) = times {
            mock = mock.expect(n);
        }
        mock.mount(self.server()).await;
        self.default_details().await;
        self.user_database(user).await;
        self.wrong_credentials_fallback().await;
    }

    /// LemonLDAP::NG's user database lookup (REST contract): knows the user
    /// (LemonLDAP::NG asks it first, with extra members such as `useMail`).
    async fn user_database(&self, user: &ExternalUser) {
        if self.contract != Contract::LemonLdapRest {
            return;
        }
        Mock::given(method("POST"))
            .and(path("/llng/userdb"))
            .and(body_partial_json(json!({ "user": user.username })))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "result": true, "info": user.attributes })))
            .named("user database lookup")
            .mount(self.server())
            .await;
    }

    /// A user-details API (idp-server contract) that knows nothing more about
    /// anyone: answers `{}` to any details request. IdPs that chain the call
    /// get past it; a scenario's own details mock takes precedence.
    async fn default_details(&self) {
        if self.contract != Contract::IdpServer {
            return;
        }
        Mock::given(method("POST"))
            .and(path("/user/details"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
            .with_priority(10)
            .named("user details with nothing more to say")
            .mount(self.server())
            .await;
    }

    /// Any other password check gets the contract's wrong-credentials answer
    /// (mounted after the specific mocks, so it only catches the rest).
    async fn wrong_credentials_fallback(&self) {
        Mock::given(method("POST"))
            .and(path(self.contract.password_path()))
            .respond_with(self.reject_template())
            .with_priority(8)
            .named("password check with other credentials")
            .mount(self.server())
            .await;
    }

    fn reject_template(&self) -> ResponseTemplate {
        match self.contract {
            Contract::IdpServer => ResponseTemplate::new(401).set_body_json(
                json!({ "error": "invalid_credentials", "error_description": "the username or password is wrong" }),
            ),
            Contract::LemonLdapRest => ResponseTemplate::new(200).set_body_json(json!({ "result": false })),
        }
    }

    /// Every password check gets `answer` (for `Slow`, the user's success
    /// answer); expects `times` requests, or any number when `None`.
    pub async fn answer_all(&self, answer: &Answer, user: &ExternalUser, times: Option<u64>) {
        let template = match answer {
            Answer::Reject => self.reject_template(),
            Answer::Status(s) => ResponseTemplate::new(*s)
                .set_body_json(json!({ "error": "server_error", "error_description": "the service failed" })),
            Answer::NotJson => ResponseTemplate::new(200)
                .insert_header("content-type", "text/html")
                .set_body_string("<html><body>Service temporarily unavailable</body></html>"),
            Answer::Slow(d) => ResponseTemplate::new(200).set_body_json(self.success_body(user)).set_delay(*d),
        };
        let mut mock = Mock::given(method("POST")).and(path(self.contract.password_path())).respond_with(template);
        mock = mock.named(format!("password check answering {answer:?}"));
        if let Some(n) = times {
            mock = mock.expect(n);
        }
        mock.mount(self.server()).await;
        self.default_details().await;
        self.user_database(user).await;
    }

    /// The chained user-details call (idp-server contract): for the user's
    /// `user_id`, answer `status` with `details`; expects `times` calls.
    pub async fn details(&self, user_id: &str, status: u16, details: Value, times: u64) {
        Mock::given(method("POST"))
            .and(path("/user/details"))
            .and(header("content-type", "application/json"))
            .and(body_json(json!({ "user_id": user_id })))
            .respond_with(ResponseTemplate::new(status).set_body_json(details))
            .named("user details for the user_id of the password check")
            .expect(times)
            .mount(self.server())
            .await;
    }

    /// Every request received so far.
    pub async fn received(&self) -> Vec<wiremock::Request> {
        self.server().received_requests().await.unwrap_or_default()
    }

    /// Checks every mock's expected call count.
    ///
    /// # Errors
    /// wiremock's report of the mocks whose expectations were not met and of
    /// the requests received.
    pub async fn verify(&self) -> Result<(), String> {
        use futures_util_shim::catch_unwind;
        catch_unwind(self.server().verify()).await
    }

    /// Forgets mocks and expectations, so that dropping the server (which
    /// verifies) cannot fail after a scenario that stopped early.
    pub async fn reset(&self) {
        self.server().reset().await;
    }
}

/// `catch_unwind` for a future, without a futures dependency.
mod futures_util_shim {
    use std::future::Future;
    use std::panic::AssertUnwindSafe;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    struct CatchUnwind<F>(Pin<Box<F>>);

    impl<F: Future<Output = ()>> Future for CatchUnwind<F> {
        type Output = Result<(), String>;
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
            let fut = self.0.as_mut();
            match std::panic::catch_unwind(AssertUnwindSafe(|| fut.poll(cx))) {
                Ok(Poll::Pending) => Poll::Pending,
                Ok(Poll::Ready(())) => Poll::Ready(Ok(())),
                Err(payload) => Poll::Ready(Err(payload
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_else(|| "verification failed".into()))),
            }
        }
    }

    /// Runs `fut`, turning a panic into an error carrying its message.
    pub(super) async fn catch_unwind<F: Future<Output = ()>>(fut: F) -> Result<(), String> {
        CatchUnwind(Box::pin(fut)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> ExternalUser {
        let mut attributes = serde_json::Map::new();
        attributes.insert("user_id".into(), json!("u-1"));
        attributes.insert("email".into(), json!("u1@example.test"));
        ExternalUser { username: "ext-u1".into(), password: "pw-1".into(), attributes }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_router_reaches_the_scenario_and_expectations_are_verified() {
        let router = Router::start().await.unwrap();
        let api = ExternalApi::start(Contract::IdpServer).await;
        let u = user();
        api.accept(&u, Some(1)).await;
        router.route(&u.username, &api.uri());
        let http = crate::client_builder().build().unwrap();
        let url = format!("{}/auth/password", router.url());

        // Not yet called: the expectation of one call is not met.
        assert!(api.verify().await.unwrap_err().contains("password check with the right credentials"));

        let ok = http.post(&url).json(&json!({"username": "ext-u1", "password": "pw-1"})).send().await.unwrap();
        assert_eq!(ok.status(), 200);
        assert_eq!(ok.json::<Value>().await.unwrap()["user_id"], "u-1");
        let wrong = http.post(&url).json(&json!({"username": "ext-u1", "password": "nope"})).send().await.unwrap();
        assert_eq!(wrong.status(), 401);
        api.verify().await.unwrap();

        // A user nobody routed, and a route to where nothing listens.
        let nobody = http.post(&url).json(&json!({"username": "ext-nobody"})).send().await.unwrap();
        assert_eq!(nobody.status(), 404);
        let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
        router.route_path("ext-u1", "/auth/password", &format!("http://{dead}"));
        let down = http.post(&url).json(&json!({"username": "ext-u1", "password": "pw-1"})).send().await.unwrap();
        assert_eq!(down.status(), 502);
        router.unroute(&["ext-u1"]);
        api.reset().await;
        assert!(api.received().await.is_empty());
    }
}
