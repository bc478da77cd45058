//! External password API steps: each scenario gets its own wiremock server,
//! configured from Gherkin, reached by the IdP through the run's router.

use std::time::Duration;

use anyhow::anyhow;
use cucumber::gherkin::Step;
use cucumber::{given, then, when};
use kensa::login::{Credentials, Tamper};
use kensa::secret::Secret;
use kensa::world::{ExternalScenario, KensaWorld, StepResult};
use kensa_mocks::external::{Answer, Contract, ExternalApi, ExternalUser};
use serde_json::{Map, Value};

/// The contract the target speaks, from its capabilities.
fn contract(w: &KensaWorld) -> anyhow::Result<Contract> {
    let caps = &w.ctx.target.capabilities;
    if caps.iter().any(|c| c == "external-auth:idp-server") {
        Ok(Contract::IdpServer)
    } else if caps.iter().any(|c| c == "external-auth:lemonldap-rest") {
        Ok(Contract::LemonLdapRest)
    } else {
        Err(anyhow!("target {} names no external-auth contract in its capabilities", w.ctx.target.name))
    }
}

/// A two-column table as a JSON object (values that parse as JSON keep
/// their type: `true`, `42`).
fn table(step: &Step) -> Map<String, Value> {
    step.table
        .as_ref()
        .map(|t| {
            t.rows
                .iter()
                .filter(|r| r.len() >= 2)
                .map(|r| (r[0].clone(), serde_json::from_str(&r[1]).unwrap_or_else(|_| Value::String(r[1].clone()))))
                .collect()
        })
        .unwrap_or_default()
}

/// Starts the scenario's API for a fresh user with `attributes`, routes the
/// user (and user_id) to it.
async fn external(w: &mut KensaWorld, attributes: Map<String, Value>) -> anyhow::Result<&ExternalScenario> {
    if w.external.is_none() {
        let api = ExternalApi::start(contract(w)?).await;
        let suffix = kensa::oidc::random_token(6).to_ascii_lowercase().replace(['-', '_'], "x");
        let mut attributes = attributes;
        attributes.entry("user_id").or_insert_with(|| Value::String(format!("u-{suffix}")));
        let user =
            ExternalUser { username: format!("ext-{suffix}"), password: format!("ext-Passw0rd-{suffix}"), attributes };
        w.ctx.scrubber.register(&user.password);
        let mut routed = vec![user.username.clone()];
        if let Some(id) = user.attributes.get("user_id").and_then(Value::as_str) {
            routed.push(id.to_owned());
        }
        for k in &routed {
            w.ctx.router.route(k, &api.uri());
        }
        w.external = Some(ExternalScenario { api, user, routed });
    }
    w.external.as_ref().ok_or_else(|| anyhow!("no external API"))
}

fn scenario(w: &KensaWorld) -> anyhow::Result<&ExternalScenario> {
    w.external.as_ref().ok_or_else(|| anyhow!("no external auth API was set up in this scenario"))
}

#[given("an external auth API that accepts the user's password and returns:")]
async fn accepts(w: &mut KensaWorld, step: &Step) -> StepResult {
    let ext = external(w, table(step)).await?;
    ext.api.accept(&ext.user, Some(1)).await;
    Ok(())
}

#[given("an external auth API that knows the user's password, however often it is asked")]
async fn knows(w: &mut KensaWorld) -> StepResult {
    let mut attrs = Map::new();
    attrs.insert("email".into(), Value::String("locked@example.test".into()));
    let ext = external(w, attrs).await?;
    // Whether an IdP still asks the API for a locked account is its own
    // choice, so the right password's calls are not counted.
    ext.api.accept(&ext.user, None).await;
    Ok(())
}

/// A scenario API whose every password check gets `answer`, called once.
async fn answering(w: &mut KensaWorld, answer: Answer) -> StepResult {
    let ext = external(w, Map::new()).await?;
    ext.api.answer_all(&answer, &ext.user, Some(1)).await;
    Ok(())
}

#[given("an external auth API that rejects every password")]
async fn rejects(w: &mut KensaWorld) -> StepResult {
    answering(w, Answer::Reject).await
}

#[given(expr = "an external auth API that answers {int}")]
async fn answers_status(w: &mut KensaWorld, status: u16) -> StepResult {
    answering(w, Answer::Status(status)).await
}

#[given("an external auth API that answers with a body that is not JSON")]
async fn answers_html(w: &mut KensaWorld) -> StepResult {
    answering(w, Answer::NotJson).await
}

#[given(expr = "an external auth API that answers only after {int} seconds")]
async fn answers_slowly(w: &mut KensaWorld, secs: u64) -> StepResult {
    answering(w, Answer::Slow(Duration::from_secs(secs))).await
}

#[given("an external auth API whose password check is down")]
async fn down(w: &mut KensaWorld) -> StepResult {
    let ext = external(w, Map::new()).await?;
    ext.api.answer_all(&Answer::Reject, &ext.user, Some(0)).await;
    // Nothing listens where the password check is routed: a port just freed.
    let dead = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    let (username, contract) = (ext.user.username.clone(), ext.api.contract());
    w.ctx.router.route_path(&username, contract.password_path(), &format!("http://{dead}"));
    Ok(())
}

#[given("the external user details API returns for the user:")]
async fn details(w: &mut KensaWorld, step: &Step) -> StepResult {
    let ext = scenario(w)?;
    let id = ext.user.attributes.get("user_id").and_then(Value::as_str).unwrap_or_default().to_owned();
    ext.api.details(&id, 200, Value::Object(table(step)), 1).await;
    Ok(())
}

#[given(expr = "the external user details API answers {int}")]
async fn details_fail(w: &mut KensaWorld, status: u16) -> StepResult {
    let ext = scenario(w)?;
    let id = ext.user.attributes.get("user_id").and_then(Value::as_str).unwrap_or_default().to_owned();
    let body = serde_json::json!({ "error": "server_error", "error_description": "the details service failed" });
    ext.api.details(&id, status, body, 1).await;
    Ok(())
}

async fn login(w: &mut KensaWorld, wrong: bool) -> StepResult {
    let user = scenario(w)?.user.clone();
    let password = if wrong { format!("{}-wrong", user.password) } else { user.password.clone() };
    w.ctx.scrubber.register(&password);
    let req = w.new_auth_request()?;
    let creds = Credentials { username: user.username, password: Secret::new(password) };
    w.run_login_as(req, creds, Tamper::None).await?;
    Ok(())
}

#[when("the external user logs in")]
async fn logs_in(w: &mut KensaWorld) -> StepResult {
    login(w, false).await
}

#[when("the external user logs in with a wrong password")]
async fn logs_in_wrong(w: &mut KensaWorld) -> StepResult {
    login(w, true).await
}

#[when(expr = "the external user fails to log in {int} times")]
async fn fails_times(w: &mut KensaWorld, n: u32) -> StepResult {
    for i in 0..n {
        login(w, true).await?;
        if w.callback.as_ref().is_some_and(|c| c.code.is_some()) {
            fail!("attempt {} with a wrong password was given a code", i + 1);
        }
    }
    Ok(())
}

/// The claims a delegated user's attributes must become.
fn expected_claims(user: &ExternalUser) -> Vec<(String, Value)> {
    user.attributes
        .iter()
        .map(|(k, v)| (if k == "user_id" { "external_user_id".to_owned() } else { k.clone() }, v.clone()))
        .collect()
}

fn compare(w: &mut KensaWorld, what: &str, claims: &Map<String, Value>) -> StepResult {
    let user = scenario(w)?.user.clone();
    let expected = expected_claims(&user);
    w.diffs.push(kensa::report::ClaimDiff {
        title: format!("external user's attributes and the {what}"),
        left_label: "the external API returned (mapped)".into(),
        left: Value::Object(expected.iter().cloned().collect()),
        right_label: what.into(),
        right: Value::Object(claims.clone()),
    });
    let missing: Vec<String> = expected
        .iter()
        .filter(|(k, v)| claims.get(k) != Some(v))
        .map(|(k, v)| format!("{k} (expected {v}, got {})", claims.get(k).map_or("nothing".into(), Value::to_string)))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(anyhow!("the {what} does not carry the external user's attributes: {}", missing.join("; ")).into())
    }
}

#[then("the ID token carries the external user's attributes")]
async fn id_token_attrs(w: &mut KensaWorld) -> StepResult {
    let claims = w.id_token()?.claims;
    compare(w, "ID token", &claims)
}

#[then("userinfo carries the external user's attributes")]
async fn userinfo_attrs(w: &mut KensaWorld) -> StepResult {
    let url = w.endpoint("userinfo_endpoint").await?;
    let token = w.tokens()?.access_token.expose().to_owned();
    let resp = w.api.send(kensa::http::Request::get(url).bearer(&token)).await?;
    let Ok(Value::Object(claims)) = resp.json() else {
        fail!("userinfo answered {} without a JSON object", resp.status);
    };
    compare(w, "userinfo response", &claims)
}

#[then(
    expr = "the external auth API received exactly {int} password check(s) carrying exactly the submitted credentials as JSON"
)]
async fn received_exactly(w: &mut KensaWorld, n: usize) -> StepResult {
    let ext = scenario(w)?;
    let contract = ext.api.contract();
    let checks: Vec<wiremock::Request> =
        ext.api.received().await.into_iter().filter(|r| r.url.path() == contract.password_path()).collect();
    if checks.len() != n {
        fail!("the external auth API received {} password checks, expected exactly {n}", checks.len());
    }
    let want = contract.password_body(&ext.user.username, &ext.user.password);
    for r in &checks {
        let ct = r.headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
        if !ct.starts_with("application/json") {
            fail!("a password check was sent as {ct:?}, not application/json");
        }
        match serde_json::from_slice::<Value>(&r.body) {
            Ok(v) if v == want => {}
            Ok(v) => {
                let keys: Vec<&String> = v.as_object().map(|m| m.keys().collect()).unwrap_or_default();
                fail!("a password check's JSON is not exactly the submitted credentials (members: {keys:?})")
            }
            Err(_) => fail!("a password check's body is not JSON"),
        }
    }
    Ok(())
}

#[then("the external auth API's expectations are met")]
async fn expectations(w: &mut KensaWorld) -> StepResult {
    let ext = scenario(w)?;
    let outcome = ext.api.verify().await;
    // Verified: forget the expectations so that dropping the server cannot
    // report them again.
    ext.api.reset().await;
    outcome.map_err(|report| anyhow!("{}", w.ctx.scrubber.scrub(&report)).into())
}

#[then("the password reached the external auth API only inside the JSON body")]
async fn password_only_in_body(w: &mut KensaWorld) -> StepResult {
    let ext = scenario(w)?;
    let password = ext.user.password.clone();
    let encoded: String = url::form_urlencoded::byte_serialize(password.as_bytes()).collect();
    let received = ext.api.received().await;
    if received.is_empty() {
        fail!("the external auth API received no request");
    }
    for r in &received {
        let url = r.url.as_str();
        if url.contains(&password) || url.contains(&encoded) {
            fail!("the password appeared in the URL of a request to {}", r.url.path());
        }
        for (name, value) in &r.headers {
            let v = String::from_utf8_lossy(value.as_bytes());
            if v.contains(&password) || v.contains(&encoded) {
                fail!("the password appeared in the {name} header of a request to {}", r.url.path());
            }
        }
    }
    Ok(())
}

#[then("the page shows none of the external user's attributes")]
async fn no_leak(w: &mut KensaWorld) -> StepResult {
    let user = scenario(w)?.user.clone();
    let page = match &w.outcome {
        Some(kensa::login::Outcome::Page { response, .. }) => response.text(),
        _ => String::new(),
    };
    for (k, v) in &user.attributes {
        if let Some(s) = v.as_str()
            && k != "user_id"
            && page.contains(s)
        {
            fail!("the page shows the external user's {k}");
        }
    }
    Ok(())
}
