//! Delegated password checks: usernames the realm does not know are
//! authenticated by an external HTTP API (a wiremock server here), and each
//! external-auth fault changes the behaviour it names.

mod common;

use std::time::{Duration, Instant};

use common::{AuthParams, Browser, Env, Resp, form, jwt_parts, keys, query_param, realm};
use kensa_mocks::idp::{CODE_PREFIX, ExternalAuth, Fault, IdpConfig, RunningIdp};
use serde_json::{Value, json};
use wiremock::matchers::{any, body_json, body_string, header, header_exists, method, path, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate, Times};

const USERNAME: &str = "carol";
const PASSWORD: &str = "s3cret pw&=?";
const USER_ID: &str = "u-42";
const INVALID: &str = "<p id=\"login-error\" class=\"error\">Invalid username or password.</p>";
const LOCKED: &str = "<p id=\"login-error\" class=\"error\">This account is locked.</p>";

/// Starts the reference IdP delegating to `external`, with `fault`.
async fn start_external(external: ExternalAuth, fault: Option<Fault>) -> Env {
    let realm = realm();
    let config = IdpConfig::new(realm.clone(), keys()).with_fault(fault).with_external(Some(external));
    let idp = RunningIdp::start(config).await.unwrap();
    Env { idp, realm }
}

/// Starts the reference IdP delegating to `server` with the default settings.
async fn start_for(server: &MockServer, fault: Option<Fault>) -> Env {
    start_external(ExternalAuth::new(server.uri()), fault).await
}

/// A URL on which nothing listens.
async fn refused_url() -> String {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}")
}

/// The step-1 answer for a known user.
fn user_found() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"user_id": USER_ID, "email": "carol@corp.test", "name": "Carol"}))
}

/// The step-3 answer: the merged attributes and one that is not merged.
fn details_found() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "birthdate": "1990-02-03",
        "phone_number": "+33 1 23 45 67 89",
        "zoneinfo": "Europe/Paris",
        "locale": "fr-FR",
        "role": "admin",
        "department": "finance",
    }))
}

/// Mounts an answer to every password check, expected `times` times.
async fn password_check(server: &MockServer, answer: ResponseTemplate, times: impl Into<Times>) {
    Mock::given(method("POST")).and(path("/auth/password")).respond_with(answer).expect(times).mount(server).await;
}

/// Mounts an answer to every details request, expected `times` times.
async fn details(server: &MockServer, answer: ResponseTemplate, times: u64) {
    Mock::given(method("POST")).and(path("/user/details")).respond_with(answer).expect(times).mount(server).await;
}

/// Opens a login page as a fresh browser and submits the credentials.
async fn attempt(env: &Env, username: &str, password: &str) -> (Browser, AuthParams, Resp) {
    let client = env.client("confidential");
    let params = AuthParams::for_client(&client);
    let mut browser = Browser::default();
    let page = env.login_page(&mut browser, &params).await;
    let resp = env.submit_login(&mut browser, &page, username, password).await;
    (browser, params, resp)
}

/// Redeems the code of a successful login response.
async fn redeem(env: &Env, params: &AuthParams, resp: &Resp) -> Value {
    assert_eq!(resp.status, 303, "{}", resp.body);
    let code = query_param(&resp.location(), "code").expect("code in callback");
    let tokens = env.redeem(&env.client("confidential"), params, &code).await;
    assert_eq!(tokens.status, 200, "{}", tokens.body);
    tokens.json()
}

/// Signs in through the external API; returns the ID token claims and the
/// token response.
async fn sign_in(env: &Env, username: &str, password: &str) -> (Value, Value) {
    let (_, params, resp) = attempt(env, username, password).await;
    let tokens = redeem(env, &params, &resp).await;
    let (_, claims) = jwt_parts(tokens["id_token"].as_str().unwrap());
    (claims, tokens)
}

async fn userinfo(env: &Env, tokens: &Value) -> Value {
    let resp = env.userinfo(tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    resp.json()
}

fn assert_no_code(resp: &Resp) {
    assert!(resp.header("location").is_none(), "redirected: {:?}", resp.header("location"));
    assert!(!resp.body.contains(CODE_PREFIX));
}

fn assert_login_error(resp: &Resp, error: &str) {
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert!(resp.body.contains(error), "{}", resp.body);
    assert_no_code(resp);
}

fn assert_bad_gateway(resp: &Resp) {
    assert_eq!(resp.status, 502, "{}", resp.body);
    assert!(resp.header("content-type").unwrap().starts_with("text/html"));
    assert!(resp.body.contains("the external authentication service failed"), "{}", resp.body);
    assert_no_code(resp);
}

#[tokio::test]
async fn success_maps_claims_into_the_id_token_and_userinfo() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/auth/password"))
        .and(header("content-type", "application/json"))
        .and(header("accept", "application/json"))
        .and(header_exists("x-request-id"))
        .and(query_param_is_missing("password"))
        .and(body_json(json!({"username": USERNAME, "password": PASSWORD})))
        .respond_with(user_found())
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/user/details"))
        .and(header("content-type", "application/json"))
        .and(header("accept", "application/json"))
        .and(header_exists("x-request-id"))
        .and(body_json(json!({"user_id": USER_ID})))
        .respond_with(details_found())
        .expect(1)
        .mount(&server)
        .await;
    let env = start_for(&server, None).await;
    let (claims, tokens) = sign_in(&env, USERNAME, PASSWORD).await;

    let expected = json!({
        "sub": "ext-u-42",
        "external_user_id": USER_ID,
        "email": "carol@corp.test",
        "name": "Carol",
        "provider_id": "external-auth",
        "birthdate": "1990-02-03",
        "phone_number": "+33 1 23 45 67 89",
        "zoneinfo": "Europe/Paris",
        "locale": "fr-FR",
        "role": "admin",
    });
    for (name, value) in expected.as_object().unwrap() {
        assert_eq!(&claims[name], value, "ID token {name}");
    }
    assert!(claims.get("department").is_none());
    assert_eq!(claims["iss"], env.issuer());
    assert_eq!(userinfo(&env, &tokens).await, expected);

    // Exactly the JSON body; the password nowhere else.
    let requests = server.received_requests().await.unwrap();
    let check = requests.iter().find(|r| r.url.path() == "/auth/password").unwrap();
    assert_eq!(String::from_utf8_lossy(&check.body), format!(r#"{{"username":"{USERNAME}","password":"{PASSWORD}"}}"#));
    let details = requests.iter().find(|r| r.url.path() == "/user/details").unwrap();
    assert_eq!(String::from_utf8_lossy(&details.body), r#"{"user_id":"u-42"}"#);
    assert_ne!(check.headers.get("x-request-id"), details.headers.get("x-request-id"));
    for request in &requests {
        assert!(request.url.query().is_none());
        for (_, value) in &request.headers {
            assert!(!String::from_utf8_lossy(value.as_bytes()).contains("s3cret"));
        }
    }
}

#[tokio::test]
async fn userinfo_returns_every_claim_whatever_the_scope() {
    let server = MockServer::start().await;
    password_check(&server, user_found(), 1).await;
    details(&server, details_found(), 1).await;
    let env = start_for(&server, None).await;
    let client = env.client("confidential");
    let mut params = AuthParams::for_client(&client);
    params.scope = "openid".into();
    let mut browser = Browser::default();
    let page = env.login_page(&mut browser, &params).await;
    let resp = env.submit_login(&mut browser, &page, USERNAME, PASSWORD).await;
    let tokens = redeem(&env, &params, &resp).await;
    assert_eq!(tokens["scope"], "openid");
    let info = userinfo(&env, &tokens).await;
    assert_eq!(info["email"], "carol@corp.test");
    assert_eq!(info["role"], "admin");
    assert_eq!(info["provider_id"], "external-auth");
}

#[tokio::test]
async fn delegated_users_keep_sessions_refresh_revocation_and_introspection() {
    let server = MockServer::start().await;
    password_check(&server, user_found(), 1).await;
    details(&server, details_found(), 1).await;
    let env = start_external(ExternalAuth::new(server.uri()).with_provider_id("corp-ldap"), None).await;
    let client = env.client("confidential");
    let (mut browser, params, resp) = attempt(&env, USERNAME, PASSWORD).await;
    let tokens = redeem(&env, &params, &resp).await;

    // The session signs the delegated user in again without another API call.
    let again = AuthParams::for_client(&client);
    let resp = browser.request(env.issuer(), "GET", &format!("/authorize?{}", again.query()), None).await;
    let second = redeem(&env, &again, &resp).await;
    let (_, claims) = jwt_parts(second["id_token"].as_str().unwrap());
    assert_eq!(claims["sub"], "ext-u-42");
    assert_eq!(claims["provider_id"], "corp-ldap");

    let refresh = tokens["refresh_token"].as_str().unwrap();
    let resp = env.refresh(&client, refresh, None).await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    let refreshed = resp.json();
    let (_, claims) = jwt_parts(refreshed["id_token"].as_str().unwrap());
    assert_eq!(claims["sub"], "ext-u-42");
    assert_eq!(claims["email"], "carol@corp.test");
    assert_eq!(claims["role"], "admin");

    let access = refreshed["access_token"].as_str().unwrap();
    let introspection = env.introspect(access).await;
    assert_eq!(introspection["active"], true);
    assert_eq!(introspection["sub"], "ext-u-42");
    assert_eq!(env.post_as(&client, "/revoke", &[("token", access)]).await.status, 200);
    assert_eq!(env.userinfo(access).await.status, 401);
    assert_eq!(env.introspect(access).await["active"], false);
    let new_refresh = refreshed["refresh_token"].as_str().unwrap();
    assert_eq!(env.post_as(&client, "/revoke", &[("token", new_refresh)]).await.status, 200);
    assert_eq!(env.refresh(&client, new_refresh, None).await.error(), "invalid_grant");
}

#[tokio::test]
async fn rejected_password_shows_the_login_error() {
    let server = MockServer::start().await;
    password_check(&server, ResponseTemplate::new(401), 1).await;
    details(&server, details_found(), 0).await;
    let env = start_for(&server, None).await;
    let (browser, _, resp) = attempt(&env, USERNAME, "wrong").await;
    assert_login_error(&resp, INVALID);
    assert!(!browser.cookies.contains_key("kensa_session"));
}

#[tokio::test]
async fn service_failures_show_a_502_page() {
    let answers = [
        ResponseTemplate::new(500),
        ResponseTemplate::new(503).set_body_json(json!({"user_id": USER_ID})),
        ResponseTemplate::new(403),
        ResponseTemplate::new(302).insert_header("location", "/elsewhere"),
        ResponseTemplate::new(200).set_body_string("user_id=u-42"),
        ResponseTemplate::new(200).set_body_json(json!({"email": "carol@corp.test"})),
        ResponseTemplate::new(200).set_body_json(json!({"user_id": 42})),
        ResponseTemplate::new(200).set_body_json(json!([USER_ID])),
    ];
    for answer in answers {
        let server = MockServer::start().await;
        password_check(&server, answer, 1).await;
        details(&server, details_found(), 0).await;
        let env = start_for(&server, None).await;
        let (browser, _, resp) = attempt(&env, USERNAME, PASSWORD).await;
        assert_bad_gateway(&resp);
        assert!(!browser.cookies.contains_key("kensa_session"));
    }
}

#[tokio::test]
async fn unreachable_service_shows_a_502_page() {
    let env = start_external(ExternalAuth::new(refused_url().await), None).await;
    let (_, _, resp) = attempt(&env, USERNAME, PASSWORD).await;
    assert_bad_gateway(&resp);
}

#[tokio::test]
async fn slow_service_times_out() {
    let server = MockServer::start().await;
    password_check(&server, user_found().set_delay(Duration::from_secs(2)), 1).await;
    let external = ExternalAuth::new(server.uri()).with_timeout(Duration::from_millis(300));
    let env = start_external(external, None).await;
    let started = Instant::now();
    let (_, _, resp) = attempt(&env, USERNAME, PASSWORD).await;
    assert_bad_gateway(&resp);
    assert!(started.elapsed() < Duration::from_millis(1500), "{:?}", started.elapsed());
}

#[tokio::test]
async fn service_failures_are_not_counted_as_wrong_passwords() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/auth/password"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(2)
        .expect(2)
        .with_priority(1)
        .mount(&server)
        .await;
    password_check(&server, user_found(), 1).await;
    details(&server, details_found(), 1).await;
    let external = ExternalAuth::new(server.uri()).with_lock_threshold(1);
    let env = start_external(external, None).await;
    for _ in 0..2 {
        assert_bad_gateway(&attempt(&env, USERNAME, PASSWORD).await.2);
    }
    let (claims, _) = sign_in(&env, USERNAME, PASSWORD).await;
    assert_eq!(claims["sub"], "ext-u-42");
}

/// Mounts a password check that rejects `wrong` and accepts [`PASSWORD`].
async fn wrong_and_right(server: &MockServer, wrong_times: u64, right_times: u64) {
    Mock::given(method("POST"))
        .and(path("/auth/password"))
        .and(body_json(json!({"username": USERNAME, "password": "wrong"})))
        .respond_with(ResponseTemplate::new(401))
        .expect(wrong_times)
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path("/auth/password"))
        .and(body_json(json!({"username": USERNAME, "password": PASSWORD})))
        .respond_with(user_found())
        .expect(right_times)
        .mount(server)
        .await;
}

#[tokio::test]
async fn five_rejected_passwords_lock_the_account() {
    let server = MockServer::start().await;
    wrong_and_right(&server, 6, 2).await;
    details(&server, details_found(), 0).await;
    Mock::given(method("POST"))
        .and(path("/auth/password"))
        .and(body_json(json!({"username": "dave", "password": "pw"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"user_id": "d-1"})))
        .expect(1)
        .mount(&server)
        .await;
    let env = start_external(ExternalAuth::new(server.uri()).with_chain(false), None).await;
    let client = env.client("confidential");
    let params = AuthParams::for_client(&client);
    let mut browser = Browser::default();
    let mut page = env.login_page(&mut browser, &params).await;
    for _ in 0..5 {
        page = env.submit_login(&mut browser, &page, USERNAME, "wrong").await;
        assert_login_error(&page, INVALID);
    }
    // The API is still called and accepts the password, but no code is issued.
    let resp = env.submit_login(&mut browser, &page, USERNAME, PASSWORD).await;
    assert_login_error(&resp, LOCKED);
    let resp = env.submit_login(&mut browser, &resp, USERNAME, "wrong").await;
    assert_login_error(&resp, LOCKED);
    assert!(!browser.cookies.contains_key("kensa_session"));
    let (_, _, resp) = attempt(&env, USERNAME, PASSWORD).await;
    assert_login_error(&resp, LOCKED);
    // Other usernames are not affected.
    let (claims, _) = sign_in(&env, "dave", "pw").await;
    assert_eq!(claims["sub"], "ext-d-1");
}

#[tokio::test]
async fn a_success_resets_the_failure_count() {
    let server = MockServer::start().await;
    wrong_and_right(&server, 4, 2).await;
    details(&server, details_found(), 2).await;
    let env = start_external(ExternalAuth::new(server.uri()).with_lock_threshold(3), None).await;
    for _ in 0..2 {
        assert_login_error(&attempt(&env, USERNAME, "wrong").await.2, INVALID);
        assert_login_error(&attempt(&env, USERNAME, "wrong").await.2, INVALID);
        sign_in(&env, USERNAME, PASSWORD).await;
    }
}

#[tokio::test]
async fn chain_can_be_switched_off() {
    let server = MockServer::start().await;
    password_check(&server, user_found(), 1).await;
    details(&server, details_found(), 0).await;
    let env = start_external(ExternalAuth::new(server.uri()).with_chain(false), None).await;
    let (claims, tokens) = sign_in(&env, USERNAME, PASSWORD).await;
    assert_eq!(claims["email"], "carol@corp.test");
    assert!(claims.get("role").is_none());
    let info = userinfo(&env, &tokens).await;
    assert_eq!(
        info,
        json!({
            "sub": "ext-u-42",
            "external_user_id": USER_ID,
            "email": "carol@corp.test",
            "name": "Carol",
            "provider_id": "external-auth",
        })
    );
}

#[tokio::test]
async fn chain_failures_issue_no_code() {
    let answers = [
        ResponseTemplate::new(500),
        ResponseTemplate::new(404).set_body_json(json!({"role": "admin"})),
        ResponseTemplate::new(200).set_body_string("role=admin"),
        ResponseTemplate::new(200).set_body_json(json!(["admin"])),
        details_found().set_delay(Duration::from_secs(2)),
    ];
    for answer in answers {
        let server = MockServer::start().await;
        password_check(&server, user_found(), 1).await;
        details(&server, answer, 1).await;
        let external = ExternalAuth::new(server.uri()).with_timeout(Duration::from_millis(300));
        let env = start_external(external, None).await;
        let (browser, _, resp) = attempt(&env, USERNAME, PASSWORD).await;
        assert_bad_gateway(&resp);
        assert!(!browser.cookies.contains_key("kensa_session"));
    }
}

#[tokio::test]
async fn realm_users_are_never_delegated() {
    let server = MockServer::start().await;
    Mock::given(any()).respond_with(user_found()).expect(0).mount(&server).await;
    let env = start_for(&server, None).await;
    let alice = env.realm.user("alice").unwrap().clone();
    assert_login_error(&attempt(&env, &alice.username, "wrong").await.2, INVALID);
    let (claims, tokens) = sign_in(&env, &alice.username, &alice.password).await;
    assert_eq!(claims["sub"], alice.sub.as_str());
    assert!(claims.get("email").is_none());
    assert!(claims.get("provider_id").is_none());
    let info = userinfo(&env, &tokens).await;
    assert_eq!(info["email"], alice.claims["email"]);
    assert!(info.get("external_user_id").is_none());
}

#[tokio::test]
async fn without_external_auth_unknown_users_cannot_sign_in() {
    let env = common::start(None).await;
    assert_login_error(&attempt(&env, USERNAME, PASSWORD).await.2, INVALID);
}

/// With a well-behaved API, every external-auth fault still signs the user in.
#[tokio::test]
async fn every_external_fault_serves_a_delegated_login() {
    for &fault in Fault::ALL.iter().filter(|f| f.name().starts_with("external-auth-")) {
        let server = MockServer::start().await;
        password_check(&server, user_found(), 1..=2).await;
        details(&server, details_found(), 1).await;
        let env = start_for(&server, Some(fault)).await;
        let (claims, tokens) = sign_in(&env, USERNAME, PASSWORD).await;
        assert_eq!(claims["sub"], "ext-u-42", "{fault}");
        assert_eq!(userinfo(&env, &tokens).await["sub"], "ext-u-42", "{fault}");
    }
}

#[tokio::test]
async fn fault_attributes_unmapped() {
    let server = MockServer::start().await;
    password_check(&server, user_found(), 1).await;
    details(&server, details_found(), 1).await;
    let env = start_for(&server, Some(Fault::ExternalAuthAttributesUnmapped)).await;
    let (claims, tokens) = sign_in(&env, USERNAME, PASSWORD).await;
    let info = userinfo(&env, &tokens).await;
    for claims in [&claims, &info] {
        assert!(claims.get("email").is_none(), "{claims}");
        assert_eq!(claims["name"], "Carol");
        assert_eq!(claims["external_user_id"], USER_ID);
        assert_eq!(claims["role"], "admin");
    }
}

#[tokio::test]
async fn fault_form_encoded() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/auth/password"))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(body_string(form(&[("username", USERNAME), ("password", PASSWORD)])))
        .respond_with(user_found())
        .expect(1)
        .mount(&server)
        .await;
    details(&server, details_found(), 1).await;
    let env = start_for(&server, Some(Fault::ExternalAuthFormEncoded)).await;
    let (claims, _) = sign_in(&env, USERNAME, PASSWORD).await;
    assert_eq!(claims["sub"], "ext-u-42");
}

/// Mounts a password check whose first answer is a 401 and whose later
/// answers accept the password.
async fn rejects_then_accepts(server: &MockServer, expect_rejection: u64, expect_acceptance: u64) {
    Mock::given(method("POST"))
        .and(path("/auth/password"))
        .respond_with(ResponseTemplate::new(401))
        .up_to_n_times(1)
        .with_priority(1)
        .expect(expect_rejection)
        .mount(server)
        .await;
    password_check(server, user_found(), expect_acceptance).await;
}

#[tokio::test]
async fn fault_called_twice() {
    let server = MockServer::start().await;
    rejects_then_accepts(&server, 1, 1).await;
    details(&server, details_found(), 1).await;
    let env = start_for(&server, Some(Fault::ExternalAuthCalledTwice)).await;
    let (claims, _) = sign_in(&env, USERNAME, PASSWORD).await;
    assert_eq!(claims["sub"], "ext-u-42");

    // Without the fault the same API rejects the first attempt.
    let server = MockServer::start().await;
    rejects_then_accepts(&server, 1, 0).await;
    let env = start_for(&server, None).await;
    assert_login_error(&attempt(&env, USERNAME, PASSWORD).await.2, INVALID);
}

#[tokio::test]
async fn fault_invalid_credentials_accepted() {
    let server = MockServer::start().await;
    password_check(&server, ResponseTemplate::new(401), 1).await;
    Mock::given(method("POST"))
        .and(path("/user/details"))
        .and(body_json(json!({"user_id": USERNAME})))
        .respond_with(details_found())
        .expect(1)
        .mount(&server)
        .await;
    let env = start_for(&server, Some(Fault::ExternalAuthInvalidCredentialsAccepted)).await;
    let (claims, _) = sign_in(&env, USERNAME, "wrong").await;
    assert_eq!(claims["sub"], "ext-carol");
    assert_eq!(claims["external_user_id"], USERNAME);

    // Other failures are still failures.
    let server = MockServer::start().await;
    password_check(&server, ResponseTemplate::new(500), 1).await;
    let env = start_for(&server, Some(Fault::ExternalAuthInvalidCredentialsAccepted)).await;
    assert_bad_gateway(&attempt(&env, USERNAME, PASSWORD).await.2);
}

#[tokio::test]
async fn fault_error_accepted() {
    let fault = Some(Fault::ExternalAuthErrorAccepted);
    for answer in [ResponseTemplate::new(500), ResponseTemplate::new(200).set_body_string("<html>")] {
        let server = MockServer::start().await;
        password_check(&server, answer, 1).await;
        details(&server, details_found(), 1).await;
        let env = start_for(&server, fault).await;
        let (claims, _) = sign_in(&env, USERNAME, PASSWORD).await;
        assert_eq!(claims["sub"], "ext-carol");
        assert_eq!(claims["external_user_id"], USERNAME);
    }

    let external = ExternalAuth::new(refused_url().await).with_chain(false);
    let env = start_external(external, fault).await;
    let (claims, _) = sign_in(&env, USERNAME, PASSWORD).await;
    assert_eq!(claims["sub"], "ext-carol");

    let server = MockServer::start().await;
    password_check(&server, user_found().set_delay(Duration::from_secs(2)), 1).await;
    let external = ExternalAuth::new(server.uri()).with_chain(false).with_timeout(Duration::from_millis(300));
    let env = start_external(external, fault).await;
    let (claims, _) = sign_in(&env, USERNAME, PASSWORD).await;
    assert_eq!(claims["sub"], "ext-carol");

    // A 401 is still a wrong password.
    let server = MockServer::start().await;
    password_check(&server, ResponseTemplate::new(401), 1).await;
    let env = start_for(&server, fault).await;
    assert_login_error(&attempt(&env, USERNAME, PASSWORD).await.2, INVALID);
}

#[tokio::test]
async fn fault_no_timeout() {
    let server = MockServer::start().await;
    password_check(&server, user_found().set_delay(Duration::from_millis(800)), 1).await;
    details(&server, details_found(), 1).await;
    let external = ExternalAuth::new(server.uri()).with_timeout(Duration::from_millis(200));
    let env = start_external(external, Some(Fault::ExternalAuthNoTimeout)).await;
    let (claims, _) = sign_in(&env, USERNAME, PASSWORD).await;
    assert_eq!(claims["sub"], "ext-u-42");
}

#[tokio::test]
async fn fault_no_lockout() {
    let server = MockServer::start().await;
    wrong_and_right(&server, 6, 1).await;
    details(&server, details_found(), 1).await;
    let env = start_for(&server, Some(Fault::ExternalAuthNoLockout)).await;
    for _ in 0..6 {
        assert_login_error(&attempt(&env, USERNAME, "wrong").await.2, INVALID);
    }
    let (claims, _) = sign_in(&env, USERNAME, PASSWORD).await;
    assert_eq!(claims["sub"], "ext-u-42");
}

#[tokio::test]
async fn fault_chain_sends_username() {
    let server = MockServer::start().await;
    password_check(&server, user_found(), 1).await;
    Mock::given(method("POST"))
        .and(path("/user/details"))
        .and(body_json(json!({"user_id": USERNAME})))
        .respond_with(details_found())
        .expect(1)
        .mount(&server)
        .await;
    let env = start_for(&server, Some(Fault::ExternalAuthChainSendsUsername)).await;
    let (claims, _) = sign_in(&env, USERNAME, PASSWORD).await;
    assert_eq!(claims["sub"], "ext-u-42");
    assert_eq!(claims["role"], "admin");
}

#[tokio::test]
async fn fault_chain_failure_ignored() {
    let server = MockServer::start().await;
    password_check(&server, user_found(), 1).await;
    details(&server, ResponseTemplate::new(500), 1).await;
    let env = start_for(&server, Some(Fault::ExternalAuthChainFailureIgnored)).await;
    let (claims, tokens) = sign_in(&env, USERNAME, PASSWORD).await;
    assert_eq!(claims["sub"], "ext-u-42");
    assert_eq!(claims["email"], "carol@corp.test");
    assert!(claims.get("role").is_none());
    assert!(userinfo(&env, &tokens).await.get("role").is_none());
}

#[tokio::test]
async fn fault_password_in_query() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/auth/password"))
        .and(wiremock::matchers::query_param("password", PASSWORD))
        .and(header("content-type", "application/json"))
        .and(body_json(json!({"username": USERNAME, "password": PASSWORD})))
        .respond_with(user_found())
        .expect(1)
        .mount(&server)
        .await;
    details(&server, details_found(), 1).await;
    let env = start_for(&server, Some(Fault::ExternalAuthPasswordInQuery)).await;
    let (claims, _) = sign_in(&env, USERNAME, PASSWORD).await;
    assert_eq!(claims["sub"], "ext-u-42");
}
