//! The Keycloak login profile against Keycloak pages written from the
//! structure of its themes' templates (fixtures/targets/keycloak/pages/):
//! the keycloak.v2 and older keycloak themes, the consent page and the
//! error page. Runs without Docker.

use url::Url;
use wiremock::matchers::{body_string_contains, header_exists, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::*;
use crate::http::{HttpClient, Request};
use crate::secret::{Scrubber, Secret};

const LOGIN_V2: &str = include_str!("../../fixtures/targets/keycloak/pages/login-v2.html");
const LOGIN_V2_ERROR: &str = include_str!("../../fixtures/targets/keycloak/pages/login-v2-error.html");
const LOGIN_OLD_ERROR: &str = include_str!("../../fixtures/targets/keycloak/pages/login-keycloak-error.html");
const CONSENT: &str = include_str!("../../fixtures/targets/keycloak/pages/consent.html");
const ERROR_PAGE: &str = include_str!("../../fixtures/targets/keycloak/pages/error-redirect-uri.html");

fn keycloak() -> Driver {
    Driver::named("keycloak").unwrap()
}

#[test]
fn the_v2_login_form_is_found_with_its_action_decoded() {
    let page = Url::parse("http://127.0.0.1:8080/realms/kensa/protocol/openid-connect/auth?client_id=x").unwrap();
    let form = keycloak().login_form(LOGIN_V2, &page).unwrap().expect("kc-form-login");
    assert_eq!(form.method, "post");
    assert_eq!(form.action.path(), "/realms/kensa/login-actions/authenticate");
    let q: Vec<(String, String)> = form.action.query_pairs().into_owned().collect();
    for key in ["session_code", "execution", "client_id", "tab_id", "client_data"] {
        assert!(q.iter().any(|(k, _)| k == key), "{key} missing from {q:?}");
    }
    assert!(q.contains(&("client_id".into(), "kensa-confidential".into())));
    assert_eq!(form.username_field.as_deref(), Some("username"));
    assert_eq!(form.password_field, "password");
    let filled = form.fill("alice", "pw");
    assert!(filled.contains(&("credentialId".into(), String::new())), "{filled:?}");
    assert!(!filled.iter().any(|(k, _)| k == "login"), "the button is not a field: {filled:?}");
}

#[test]
fn failed_logins_and_error_pages_are_read_in_both_themes() {
    let d = keycloak();
    assert_eq!(d.page_error(LOGIN_V2_ERROR).as_deref(), Some("Invalid username or password."));
    assert_eq!(d.page_error(LOGIN_OLD_ERROR).as_deref(), Some("Invalid username or password."));
    assert_eq!(d.page_error(ERROR_PAGE).as_deref(), Some("Invalid parameter: redirect_uri"));
    assert_eq!(d.page_error(LOGIN_V2), None, "a fresh login page shows no error");
    // The alert above the form: info is not a failure, danger is.
    let alert = |kind: &str, text: &str| {
        LOGIN_V2.replace(
            "<form",
            &format!(
                "<div class=\"pf-v5-c-alert pf-m-inline pf-m-{kind}\"><span class=\"kc-feedback-text\">{text}</span></div><form"
            ),
        )
    };
    assert_eq!(d.page_error(&alert("info", "Please re-authenticate to continue")), None);
    assert_eq!(d.page_error(&alert("danger", "Account is disabled")).as_deref(), Some("Account is disabled"));
}

#[test]
fn the_consent_page_is_accepted_only_by_the_keycloak_profile() {
    let page = Url::parse("http://127.0.0.1:8080/realms/kensa/login-actions/authenticate?x=1").unwrap();
    let form = consent_form(Profile::Keycloak, CONSENT, &page).expect("consent form");
    assert_eq!(form.action.path(), "/realms/kensa/login-actions/consent");
    assert_eq!(form.method, "post");
    assert!(form.fields.contains(&("code".into(), "c0nsent-c0de".into())));
    assert!(form.fields.contains(&("accept".into(), "Yes".into())));
    assert!(!form.fields.iter().any(|(k, _)| k == "cancel"), "{:?}", form.fields);
    assert!(consent_form(Profile::Generic, CONSENT, &page).is_none());
    assert!(consent_form(Profile::Keycloak, LOGIN_V2, &page).is_none(), "a login form is not a consent form");
}

/// A Keycloak-shaped server: login page with a session cookie, the
/// authenticate POST answering the consent page, the consent POST
/// redirecting to the client with a code.
async fn keycloak_pages(password: &str) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/realms/kensa/protocol/openid-connect/auth"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("set-cookie", "AUTH_SESSION_ID=abc.def; Path=/realms/kensa/; HttpOnly")
                .set_body_raw(LOGIN_V2, "text/html;charset=utf-8"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let authenticate = || {
        Mock::given(method("POST"))
            .and(path("/realms/kensa/login-actions/authenticate"))
            .and(query_param("session_code", "Sc0de-1"))
            .and(query_param("execution", "8f7a1c2e-exec"))
            .and(query_param("client_id", "kensa-confidential"))
            .and(query_param("tab_id", "Tab1D"))
            .and(header_exists("cookie"))
            .and(body_string_contains("username=alice"))
            .and(body_string_contains("credentialId="))
    };
    authenticate()
        .and(body_string_contains(format!("password={password}")))
        .respond_with(ResponseTemplate::new(200).set_body_raw(CONSENT, "text/html;charset=utf-8"))
        .mount(&server)
        .await;
    authenticate()
        .respond_with(ResponseTemplate::new(200).set_body_raw(LOGIN_V2_ERROR, "text/html;charset=utf-8"))
        .with_priority(10)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/realms/kensa/login-actions/consent"))
        .and(query_param("tab_id", "Tab1D"))
        .and(body_string_contains("code=c0nsent-c0de"))
        .and(body_string_contains("accept=Yes"))
        .respond_with(
            ResponseTemplate::new(302)
                .insert_header("location", "https://client.kensa.test/callback?state=s1&code=the-code"),
        )
        .mount(&server)
        .await;
    server
}

fn auth_url(server: &MockServer) -> Url {
    Url::parse(&format!(
        "{}/realms/kensa/protocol/openid-connect/auth?client_id=kensa-confidential&response_type=code",
        server.uri()
    ))
    .unwrap()
}

#[tokio::test]
async fn a_keycloak_login_runs_through_login_and_consent_to_the_client() {
    let server = keycloak_pages("alice-pw").await;
    let http = HttpClient::new(Scrubber::new()).unwrap();
    let creds = Credentials { username: "alice".into(), password: Secret::new("alice-pw") };
    let stop = |u: &Url| u.as_str().starts_with("https://client.kensa.test/callback");
    let outcome =
        drive(&http, Request::get(auth_url(&server)), &creds, &keycloak(), Tamper::None, &stop).await.unwrap();
    match outcome {
        Outcome::Redirected { url: u, .. } => assert!(u.query().unwrap().contains("code=the-code"), "{u}"),
        Outcome::Page { response, .. } => panic!("stopped on a page: HTTP {} {}", response.status, response.text()),
    }
}

#[tokio::test]
async fn a_wrong_password_ends_on_the_login_page_with_keycloaks_message() {
    let server = keycloak_pages("alice-pw").await;
    let http = HttpClient::new(Scrubber::new()).unwrap();
    let creds = Credentials { username: "alice".into(), password: Secret::new("wrong") };
    let stop = |u: &Url| u.as_str().starts_with("https://client.kensa.test/callback");
    let d = keycloak();
    match drive(&http, Request::get(auth_url(&server)), &creds, &d, Tamper::None, &stop).await.unwrap() {
        Outcome::Page { response, submitted } => {
            assert!(submitted);
            assert_eq!(d.page_error(&response.text()).as_deref(), Some("Invalid username or password."));
        }
        Outcome::Redirected { url: u, .. } => panic!("a wrong password reached the client: {u}"),
    }
}

#[test]
fn custom_selectors_find_a_login_page_kensa_has_no_profile_for() {
    let html = r#"<form id="search" action="/s"><input name="q"><input type="password" name="decoy"></form>
        <form id="signin" action="/session" method="post">
          <input type="email" name="login_email"><input type="text" name="otp_hint" value="x">
          <input type="password" name="secret_word"><input type="hidden" name="authenticity_token" value="t">
        </form><div class="flash-error">Wrong email or password</div>"#;
    let page = Url::parse("https://idp.example.com/login").unwrap();
    let custom = Selectors::parse(
        "form#signin",
        Some("input[name=login_email]"),
        Some("input[type=password]"),
        Some(".flash-error"),
    )
    .unwrap();
    let d = Driver { profile: Profile::Generic, custom: Some(custom) };
    let f = d.login_form(html, &page).unwrap().unwrap();
    assert_eq!(f.action.as_str(), "https://idp.example.com/session");
    assert_eq!(f.username_field.as_deref(), Some("login_email"));
    assert_eq!(f.password_field, "secret_word");
    assert!(f.fields.contains(&("otp_hint".into(), "x".into())));
    assert_eq!(d.page_error(html).as_deref(), Some("Wrong email or password"));
    // Without the selectors the first form with a password input wins.
    let generic = Driver::named("generic").unwrap().login_form(html, &page).unwrap().unwrap();
    assert_eq!(generic.action.path(), "/s");
    assert!(Selectors::parse("form[", None, None, None).unwrap_err().contains("login.form"));
}
