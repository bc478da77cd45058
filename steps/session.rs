//! Authorization request parameters and the IdP's session: prompt, max_age,
//! id_token_hint, the OpenID Connect hints, POST requests.

use anyhow::{Context as _, anyhow};
use cucumber::{given, then, when};
use kensa::login::{Outcome, Tamper};
use kensa::oidc::jwt::Jwt;
use kensa::world::{KensaWorld, StepResult};

use super::token::{Exchange, exchange};

#[given("the user has signed in")]
async fn signed_in(w: &mut KensaWorld) -> StepResult {
    let req = w.new_auth_request()?;
    w.run_login(req, None, Tamper::None).await?;
    w.code().map_err(|e| anyhow!("the first login failed: {e}{}", super::transcript(w)))?;
    exchange(w, Exchange::default()).await?;
    w.id_token().map_err(|e| anyhow!("the first login gave no ID token: {e}"))?;
    Ok(())
}

/// Lets the user's session outlive a max_age, then sends an authorization
/// request with it. max_age=1 (the conformance suite's) loops on a slow OP:
/// when the new login, its redirect and the authorization request that
/// follows take more than a second, the OP rightly asks again. So max_age
/// is three times the slowest exchange of the first login, at least 1 s, and
/// the session is made one second older than that.
#[when("the session outlives a max_age and the client sends an authorization request with that max_age")]
async fn outlived_max_age(w: &mut KensaWorld) -> StepResult {
    let slowest_ms = w.http.slowest_exchange_ms();
    let max_age = i64::try_from(slowest_ms.saturating_mul(3).div_ceil(1000)).unwrap_or(i64::MAX).max(1);
    w.pass_time(max_age + 1).await?;
    if max_age > 1 {
        w.notes.push(format!(
            "max_age was {max_age} s, three times the slowest exchange of the first login ({slowest_ms} ms), and the \
             session {} s old",
            max_age + 1
        ));
    }
    send(w, &[("max_age", &max_age.to_string())], false).await
}

#[when(expr = "{int} seconds pass")]
async fn seconds_pass(w: &mut KensaWorld, secs: i64) -> StepResult {
    w.pass_time(secs).await?;
    Ok(())
}

/// Sends a fresh authorization request with `extra` parameters through the
/// login driver; the outcome is judged by the `Then` steps.
async fn send(w: &mut KensaWorld, extra: &[(&str, &str)], post: bool) -> StepResult {
    let mut req = w.new_auth_request()?;
    for (name, value) in extra {
        // The scope replaces the default one; everything else is added.
        if *name == "scope" {
            (*value).clone_into(&mut req.scope);
        } else {
            req.extra.push(((*name).to_owned(), (*value).to_owned()));
        }
    }
    if post {
        w.run_login_post(req).await?;
    } else {
        w.run_login(req, None, Tamper::None).await?;
    }
    Ok(())
}

#[when(expr = "the client sends an authorization request with {word} {string}")]
async fn with_param(w: &mut KensaWorld, name: String, value: String) -> StepResult {
    send(w, &[(&name, &value)], false).await
}

#[when("the client sends an authorization request with the user's username as login_hint")]
async fn with_login_hint(w: &mut KensaWorld) -> StepResult {
    let username = w.user()?.username;
    send(w, &[("login_hint", &username)], false).await
}

#[when(expr = "the client sends an authorization request with prompt {string} and the ID token as id_token_hint")]
async fn with_hint(w: &mut KensaWorld, prompt: String) -> StepResult {
    let hint = w.tokens()?.id_token.clone().ok_or_else(|| anyhow!("no ID token to give as id_token_hint"))?;
    send(w, &[("prompt", &prompt), ("id_token_hint", hint.expose())], false).await
}

#[when("the client sends an authorization request without a nonce")]
async fn without_nonce(w: &mut KensaWorld) -> StepResult {
    let mut req = w.new_auth_request()?;
    req.nonce = None;
    w.run_login(req, None, Tamper::None).await?;
    Ok(())
}

#[when("the client sends the authorization request by POST")]
async fn by_post(w: &mut KensaWorld) -> StepResult {
    send(w, &[], true).await
}

/// Whether the flow reached the redirect URI with a code: whether a login
/// form was submitted on the way, and how many forms (login, consent) the
/// user had to fill or confirm.
fn coded(w: &KensaWorld) -> anyhow::Result<(bool, usize)> {
    w.code().map_err(|e| anyhow!("{e}{}", super::transcript(w)))?;
    match &w.outcome {
        Some(Outcome::Redirected { submitted, forms, .. }) => Ok((*submitted, *forms)),
        _ => Err(anyhow!("the flow did not reach the redirect URI")),
    }
}

#[then("a code is issued")]
async fn code_issued(w: &mut KensaWorld) -> StepResult {
    coded(w)?;
    Ok(())
}

#[then("a code is issued without a login page")]
async fn code_without_login(w: &mut KensaWorld) -> StepResult {
    match coded(w)? {
        (true, _) => {
            fail!("the IdP showed its login page and the user had to sign in again; the session should have answered")
        }
        (false, forms) if forms > 0 => {
            fail!("the IdP showed {forms} consent or confirmation page(s); prompt=none allows no user interface")
        }
        _ => Ok(()),
    }
}

#[then("a code is issued after a new login")]
async fn code_after_login(w: &mut KensaWorld) -> StepResult {
    if !coded(w)?.0 {
        fail!("the IdP answered from its existing session without asking the user to sign in again");
    }
    Ok(())
}

#[then(expr = "the IdP answers with one of {string} without showing a login page")]
async fn answers_without_ui(w: &mut KensaWorld, errors: String) -> StepResult {
    let allowed = super::list(&errors);
    match (&w.outcome, &w.callback) {
        (Some(Outcome::Redirected { submitted: true, .. }), _) | (Some(Outcome::Page { submitted: true, .. }), _) => {
            fail!("the IdP showed its login page although prompt=none forbids any user interface")
        }
        (Some(Outcome::Redirected { forms, .. }), _) if *forms > 0 => {
            fail!("the IdP showed a consent or confirmation page although prompt=none forbids any user interface")
        }
        (Some(Outcome::Page { response, .. }), _) => fail!(
            "the IdP did not redirect back with an error: the flow stopped on HTTP {} ({})",
            response.status,
            kensa::http::preview(&response.text(), 160)
        ),
        (_, Some(cb)) if cb.code.is_some() => fail!("the IdP issued a code although the user is not signed in"),
        (_, Some(cb)) => match &cb.error {
            Some(e) if allowed.contains(e) => Ok(()),
            _ => Err(anyhow!("the authorization error is {:?}, expected one of {allowed:?}", cb.error_text()).into()),
        },
        _ => Err(anyhow!("no login flow ran").into()),
    }
}

/// The ID token of the first successful token response in the scenario.
fn earlier(w: &KensaWorld) -> anyhow::Result<Jwt> {
    if w.tokens.len() < 2 {
        return Err(anyhow!("the scenario has no earlier and later ID token to compare"));
    }
    let raw = w.tokens[0].id_token.as_ref().ok_or_else(|| anyhow!("the first token response has no id_token"))?;
    Jwt::parse_secret(raw).context("the earlier ID token")
}

fn auth_time(jwt: &Jwt, which: &str) -> anyhow::Result<u64> {
    jwt.claims
        .get("auth_time")
        .ok_or_else(|| anyhow!("the {which} ID token has no auth_time"))?
        .as_u64()
        .ok_or_else(|| anyhow!("the {which} ID token's auth_time is not a number of seconds"))
}

#[then("the ID token's sub is the earlier ID token's")]
async fn same_sub(w: &mut KensaWorld) -> StepResult {
    let (before, now) = (earlier(w)?, w.id_token()?);
    let sub = |j: &Jwt| j.claims.get("sub").and_then(|s| s.as_str()).map(str::to_owned);
    if sub(&before) != sub(&now) {
        fail!("the ID token's sub is {:?}, the earlier one's {:?}", sub(&now), sub(&before));
    }
    Ok(())
}

/// The new ID token must carry auth_time; when the earlier one has one too
/// (it is OPTIONAL without max_age), the new one must be later.
#[then("the ID token has auth_time, later than the earlier ID token's if that has one")]
async fn later_auth_time(w: &mut KensaWorld) -> StepResult {
    let (before, now) = (earlier(w)?, w.id_token()?);
    let n = auth_time(&now, "new")?;
    if before.claims.contains_key("auth_time") {
        let b = auth_time(&before, "earlier")?;
        if n <= b {
            fail!("auth_time {n} is not later than the earlier login's {b}: the user was not authenticated again");
        }
    }
    Ok(())
}

#[then("the ID token's auth_time is later than the earlier ID token's if both have one")]
async fn later_if_both(w: &mut KensaWorld) -> StepResult {
    let (before, now) = (earlier(w)?, w.id_token()?);
    if before.claims.contains_key("auth_time") && now.claims.contains_key("auth_time") {
        let (b, n) = (auth_time(&before, "earlier")?, auth_time(&now, "new")?);
        if n <= b {
            fail!("auth_time {n} is not later than the earlier login's {b}: the user was not authenticated again");
        }
    }
    Ok(())
}

#[then("the ID token has auth_time")]
async fn has_auth_time(w: &mut KensaWorld) -> StepResult {
    auth_time(&w.id_token()?, "new")?;
    Ok(())
}

#[then("the ID token has no nonce")]
async fn no_nonce(w: &mut KensaWorld) -> StepResult {
    if let Some(n) = w.id_token()?.claims.get("nonce") {
        fail!("the ID token carries a nonce {n}, but none was sent");
    }
    Ok(())
}
