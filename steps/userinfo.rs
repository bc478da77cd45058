//! UserInfo steps.

use anyhow::anyhow;
use cucumber::{then, when};
use kensa::http::Request;
use kensa::oidc::token::EndpointResponse;
use kensa::world::{KensaWorld, StepResult};

pub(super) async fn call(w: &mut KensaWorld, method: &str, token: &str) -> StepResult {
    let url = w.endpoint("userinfo_endpoint").await?;
    let req = match method {
        "POST" => Request::post_form(url, Vec::new()),
        _ => Request::get(url),
    }
    .bearer(token)
    .header("accept", "application/json");
    store(w, req).await
}

#[when(expr = "the client calls the userinfo endpoint with {word}")]
async fn userinfo(w: &mut KensaWorld, method: String) -> StepResult {
    let t = w.tokens()?.access_token.expose().to_owned();
    call(w, &method, &t).await
}

#[when("the client calls the userinfo endpoint with an invalid access token")]
async fn userinfo_invalid(w: &mut KensaWorld) -> StepResult {
    call(w, "GET", &format!("kensa-invalid-{}", kensa::oidc::random_token(16))).await
}

#[then("the userinfo response is successful and its sub is the ID token's sub")]
async fn userinfo_sub(w: &mut KensaWorld) -> StepResult {
    let id_token = w.id_token()?;
    let id_sub = id_token.str_claim("sub").map(str::to_owned).ok_or_else(|| anyhow!("the ID token has no sub"))?;
    if let Some(json) = w.last.as_ref().and_then(|r| r.json.clone()) {
        w.diffs.push(kensa::report::ClaimDiff {
            title: "ID token and userinfo".into(),
            left_label: "ID token claims".into(),
            left: serde_json::Value::Object(id_token.claims.clone()),
            right_label: "userinfo response".into(),
            right: kensa::secret::redact_json(&json),
        });
    }
    let r = w.last()?;
    if r.status() != 200 {
        fail!("the userinfo request failed: {}", r.describe());
    }
    match r.json.as_ref().and_then(|j| j.get("sub")).and_then(serde_json::Value::as_str) {
        Some(s) if s == id_sub => Ok(()),
        // The request was served; what breaks is the subject it names.
        Some(s) => Err(anyhow!(
            "userinfo sub is {s:?}, the ID token's sub is {id_sub:?}{}",
            kensa::report::cites(
                "OIDC-Core-5.3.2",
                "MUST",
                "\"The sub Claim in the UserInfo Response MUST be verified to exactly match the sub Claim in the ID Token; \
                 if they do not match, the UserInfo Response values MUST NOT be used.\" A client must therefore discard \
                 this response: sub is the End-User's identifier at the Issuer (Core 2), the same in both"
            )
        )
        .into()),
        None => Err(anyhow!(
            "the userinfo response has no sub: {}{}",
            r.describe(),
            kensa::report::cites("OIDC-Core-5.3.2", "MUST", "\"The sub (subject) Claim MUST always be returned in the UserInfo Response.\"")
        )
        .into()),
    }
}

fn www_authenticate_error(r: &EndpointResponse) -> Option<String> {
    let h = r.response.header("www-authenticate")?;
    let rest = h.trim().strip_prefix("Bearer").or_else(|| h.trim().strip_prefix("bearer"))?;
    let i = rest.find("error=")?;
    let v = rest[i + 6..].trim_start_matches('"');
    Some(v.split(['"', ',']).next().unwrap_or("").to_owned())
}

#[then(expr = "the userinfo request is refused with {int} and error {string}")]
async fn userinfo_refused(w: &mut KensaWorld, status: u16, error: String) -> StepResult {
    let r = w.last()?;
    if r.status() != status {
        fail!("expected HTTP {status}, got {}", r.describe());
    }
    match www_authenticate_error(r) {
        Some(e) if e == error => Ok(()),
        Some(e) => Err(anyhow!("WWW-Authenticate carries error={e:?}, expected {error:?}").into()),
        None => Err(anyhow!(
            "no Bearer WWW-Authenticate header with error={error:?} (got {:?})",
            r.response.header("www-authenticate")
        )
        .into()),
    }
}

/// Whether the first access token is dead, observed through a channel
/// that can tell: introspection where the target has it (RFC 7662 2.2,
/// active false), else the userinfo endpoint, anchored by a made-up token:
/// if userinfo answers that too, it cannot tell a live token from a dead one,
/// and the check is skipped with the reason instead of blaming the rule it
/// judges.
async fn first_token_refused(w: &mut KensaWorld) -> StepResult {
    let t = w.tokens.first().ok_or_else(|| anyhow!("no token response yet"))?.access_token.expose().to_owned();
    let introspection = w.discovery().await.ok().and_then(|d| d.endpoint("introspection_endpoint").ok()).is_some();
    let client = w.client()?;
    if introspection && client.is_confidential() {
        let auth = KensaWorld::auth_for(&client, None, None)?;
        let form = kensa::oidc::token::form(&[("token", &t), ("token_type_hint", "access_token")]);
        let r = w.post_endpoint("introspection_endpoint", &auth, form).await?.clone();
        match r.json.as_ref().filter(|_| r.status() == 200).and_then(|j| j.get("active")) {
            Some(serde_json::Value::Bool(false)) => return Ok(()),
            Some(serde_json::Value::Bool(true)) => {
                // Where the token is used, is it refused? Then the
                // introspection endpoint is what is wrong (OIDC-INT-02).
                call(w, "GET", &t).await?;
                if w.last()?.status() == 401 {
                    w.notes.push(
                        "introspection still reports the access token active, but the userinfo endpoint refuses it: \
                         it is dead where it is used (OIDC-INT-02 judges introspection)"
                            .to_owned(),
                    );
                    return Ok(());
                }
                fail!(
                    "introspection reports the access token still active, and the userinfo endpoint accepts it: {}",
                    r.describe()
                )
            }
            // Introspection did not answer usably: observe through userinfo.
            _ => w.notes.push(format!("introspection did not answer usably ({}); judged at userinfo", r.describe())),
        }
    }
    call(w, "GET", &t).await?;
    let r = w.last()?.clone();
    if r.status() == 401 {
        return Ok(());
    }
    // The anchor: does userinfo refuse a token it never issued?
    call(w, "GET", &format!("kensa-made-up-{}", kensa::oidc::random_token(16))).await?;
    let anchor = w.last()?.clone();
    if anchor.status() == 200 {
        w.skip(
            "the userinfo endpoint also accepts a made-up access token (OIDC-UI-03 judges that), and kensa has no \
             introspection endpoint to ask: whether the access token is dead cannot be observed on this target",
        );
        return Ok(());
    }
    Err(anyhow!(
        "the access token still works at the userinfo endpoint ({}), which refuses a made-up token ({})",
        r.describe(),
        anchor.status()
    )
    .into())
}

#[then("the first access token is no longer accepted")]
async fn first_refused(w: &mut KensaWorld) -> StepResult {
    first_token_refused(w).await
}

#[when("the client calls the userinfo endpoint with the access token in a POST body")]
async fn userinfo_body(w: &mut KensaWorld) -> StepResult {
    let token = w.tokens()?.access_token.expose().to_owned();
    let url = w.endpoint("userinfo_endpoint").await?;
    let req = Request::post_form(url, vec![("access_token".into(), token)]).header("accept", "application/json");
    store(w, req).await
}

#[when("the client calls the userinfo endpoint without an access token")]
async fn userinfo_no_token(w: &mut KensaWorld) -> StepResult {
    let url = w.endpoint("userinfo_endpoint").await?;
    store(w, Request::get(url).header("accept", "application/json")).await
}

#[when("the client calls the userinfo endpoint with the access token only in the URL query")]
async fn userinfo_query(w: &mut KensaWorld) -> StepResult {
    let token = w.tokens()?.access_token.expose().to_owned();
    let mut url = w.endpoint("userinfo_endpoint").await?;
    url.query_pairs_mut().append_pair("access_token", &token);
    store(w, Request::get(url).header("accept", "application/json")).await
}

/// Sends a userinfo request; keeps the answer as `last`, and a successful
/// one's claims as `userinfo`.
async fn store(w: &mut KensaWorld, req: Request) -> StepResult {
    let response = w.api.send(req).await?;
    let json = serde_json::from_slice(&response.body).ok();
    if response.status == 200 {
        w.userinfo = json.clone();
    }
    w.last = Some(EndpointResponse { response, json });
    Ok(())
}

#[then("the userinfo request is refused with 401 and a Bearer challenge")]
async fn bearer_challenge(w: &mut KensaWorld) -> StepResult {
    let r = w.last()?;
    if r.status() != 401 {
        fail!("expected HTTP 401, got {}", r.describe());
    }
    match r.response.header("www-authenticate") {
        Some(h) if h.trim().get(..6).is_some_and(|s| s.eq_ignore_ascii_case("bearer")) => Ok(()),
        Some(h) => Err(anyhow!("WWW-Authenticate is {h:?}, not a Bearer challenge").into()),
        None => Err(anyhow!("the 401 carries no WWW-Authenticate header").into()),
    }
}

#[then("the userinfo request is refused")]
async fn userinfo_refused_any(w: &mut KensaWorld) -> StepResult {
    let r = w.last()?;
    if r.status() == 200 {
        fail!("the userinfo endpoint answered 200: it accepted the access token from the URL query");
    }
    Ok(())
}

#[then(
    regex = r"^the userinfo response carries the user's ((?:profile|email|address|phone)(?:(?:, | and )(?:profile|email|address|phone))*) claims$"
)]
async fn scope_claims(w: &mut KensaWorld, scopes: String) -> StepResult {
    let user = w.user()?;
    let got = w.userinfo.clone().ok_or_else(|| anyhow!("no successful userinfo response"))?;
    let mut missing = Vec::new();
    let mut wanted = 0;
    for scope in scopes.split([',', ' ']).map(str::trim).filter(|s| !s.is_empty() && *s != "and") {
        let names = kensa_mocks::realm::SCOPE_CLAIMS
            .iter()
            .find(|(s, _)| *s == scope)
            .map(|(_, n)| *n)
            .ok_or_else(|| anyhow!("{scope} is not a standard scope"))?;
        for name in names {
            let Some(expected) = user.claims.get(*name) else { continue };
            wanted += 1;
            match (got.get(*name), expected) {
                // address: every member the user has, with its value.
                (Some(serde_json::Value::Object(have)), serde_json::Value::Object(want)) => {
                    for (k, v) in want {
                        if have.get(k) != Some(v) {
                            missing.push(format!("{name}.{k} is {:?}, expected {v}", have.get(k)));
                        }
                    }
                }
                (Some(v), want) if v == want => {}
                (Some(v), want) => missing.push(format!("{name} is {v}, expected {want}")),
                (None, _) => missing.push(format!("{name} is missing")),
            }
        }
    }
    if wanted == 0 {
        fail!("the test user has none of the claims of {scopes}: nothing to check");
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(anyhow!("scope {scopes}: {} (OpenID Connect Core 5.4)", missing.join("; ")).into())
    }
}
