//! Token endpoint, refresh, revocation and introspection steps.

use anyhow::anyhow;
use cucumber::{then, when};
use kensa::oidc::token::form;
use kensa::world::{KensaWorld, StepResult};

/// Exchanges the scenario's code: `client_role` redeems it (default: the
/// client in use), with optional overrides.
#[derive(Default)]
pub(super) struct Exchange<'a> {
    client_role: Option<&'a str>,
    method: Option<&'a str>,
    secret: Option<&'a str>,
    verifier: Option<Option<String>>,
    redirect_uri: Option<&'a str>,
}

pub(super) async fn exchange(w: &mut KensaWorld, x: Exchange<'_>) -> StepResult {
    let code = w.code()?;
    let auth_req = w.auth.clone().ok_or_else(|| anyhow!("no authorization request was sent"))?;
    let client = w.client_of(x.client_role.unwrap_or(&w.role))?;
    let auth = KensaWorld::auth_for(&client, x.method, x.secret)?;
    let mut f = form(&[("grant_type", "authorization_code"), ("code", code.expose())]);
    f.push(("redirect_uri".into(), x.redirect_uri.map_or(auth_req.redirect_uri.clone(), str::to_owned)));
    let verifier = match x.verifier {
        Some(v) => v,
        None => auth_req.pkce.as_ref().map(|p| p.verifier.expose().to_owned()),
    };
    if let Some(v) = verifier {
        f.push(("code_verifier".into(), v));
    }
    w.post_endpoint("token_endpoint", &auth, f).await?;
    Ok(())
}

#[when("the client exchanges the code")]
async fn exchanges(w: &mut KensaWorld) -> StepResult {
    exchange(w, Exchange::default()).await
}

#[when("the client exchanges the same code again")]
async fn exchanges_again(w: &mut KensaWorld) -> StepResult {
    exchange(w, Exchange::default()).await
}

#[when(expr = "the client exchanges the code using {string}")]
async fn exchanges_using(w: &mut KensaWorld, method: String) -> StepResult {
    exchange(w, Exchange { method: Some(&method), ..Exchange::default() }).await
}

#[when("the client exchanges the code with a wrong client secret")]
async fn wrong_secret(w: &mut KensaWorld) -> StepResult {
    exchange(
        w,
        Exchange {
            method: Some("client_secret_basic"),
            secret: Some("kensa-wrong-secret-0b7e"),
            ..Exchange::default()
        },
    )
    .await
}

#[when("the client exchanges the code with a wrong code_verifier")]
async fn wrong_verifier(w: &mut KensaWorld) -> StepResult {
    let wrong = kensa::oidc::pkce::Pkce::generate().verifier.expose().to_owned();
    exchange(w, Exchange { verifier: Some(Some(wrong)), ..Exchange::default() }).await
}

#[when("the client exchanges the code without a code_verifier")]
async fn no_verifier(w: &mut KensaWorld) -> StepResult {
    exchange(w, Exchange { verifier: Some(None), ..Exchange::default() }).await
}

#[when("the client exchanges the code with a made-up code_verifier")]
async fn made_up_verifier(w: &mut KensaWorld) -> StepResult {
    let v = kensa::oidc::pkce::Pkce::generate().verifier.expose().to_owned();
    exchange(w, Exchange { verifier: Some(Some(v)), ..Exchange::default() }).await
}

#[when(expr = "the client exchanges the code with the redirect_uri {string}")]
async fn other_redirect(w: &mut KensaWorld, uri: String) -> StepResult {
    exchange(w, Exchange { redirect_uri: Some(&uri), ..Exchange::default() }).await
}

#[when("the other client exchanges the code")]
async fn other_client_exchanges(w: &mut KensaWorld) -> StepResult {
    exchange(w, Exchange { client_role: Some("other"), ..Exchange::default() }).await
}

pub(super) async fn refresh(w: &mut KensaWorld, role: Option<&str>, which: usize, scope: Option<&str>) -> StepResult {
    let sets = &w.tokens;
    let idx = sets
        .len()
        .checked_sub(1 + which)
        .ok_or_else(|| anyhow!("not enough token responses to pick a refresh token from"))?;
    let rt = sets[idx].refresh_token.clone().ok_or_else(|| anyhow!("the token response has no refresh_token"))?;
    let client = w.client_of(role.unwrap_or(&w.role))?;
    let auth = KensaWorld::auth_for(&client, None, None)?;
    let mut f = form(&[("grant_type", "refresh_token"), ("refresh_token", rt.expose())]);
    if let Some(s) = scope {
        f.push(("scope".into(), s.to_owned()));
    }
    w.post_endpoint("token_endpoint", &auth, f).await?;
    Ok(())
}

#[when("the client refreshes the tokens")]
async fn refreshes(w: &mut KensaWorld) -> StepResult {
    refresh(w, None, 0, None).await
}

#[when("the client refreshes with the previous refresh token")]
async fn refreshes_previous(w: &mut KensaWorld) -> StepResult {
    refresh(w, None, 1, None).await
}

#[when(expr = "the client refreshes the tokens asking for the scope {string}")]
async fn refreshes_scope(w: &mut KensaWorld, scope: String) -> StepResult {
    refresh(w, None, 0, Some(&scope)).await
}

#[when("the other client uses the refresh token")]
async fn other_refreshes(w: &mut KensaWorld) -> StepResult {
    refresh(w, Some("other"), 0, None).await
}

#[then("the refresh token is rotated")]
async fn rotated(w: &mut KensaWorld) -> StepResult {
    let n = w.tokens.len();
    if n < 2 {
        fail!("fewer than two successful token responses");
    }
    match (&w.tokens[n - 2].refresh_token, &w.tokens[n - 1].refresh_token) {
        (Some(old), Some(new)) if old != new => Ok(()),
        (Some(_), Some(_)) => {
            Err(anyhow!("the refresh response returned the same refresh token: it was not rotated").into())
        }
        (_, None) => Err(anyhow!("the refresh response has no new refresh_token: it was not rotated").into()),
        (None, _) => Err(anyhow!("the first token response had no refresh_token").into()),
    }
}

#[then("the token response is successful")]
async fn successful(w: &mut KensaWorld) -> StepResult {
    let r = w.last()?;
    let ok = r.status() == 200
        && r.json.as_ref().is_some_and(|j| j.get("access_token").is_some_and(serde_json::Value::is_string));
    if !ok {
        fail!("the token request failed: {}{}", r.describe(), super::transcript(w));
    }
    let tt = r.json.as_ref().and_then(|j| j.get("token_type")).and_then(serde_json::Value::as_str).unwrap_or("");
    if !tt.eq_ignore_ascii_case("bearer") {
        fail!("token_type is {tt:?}, expected \"Bearer\" (RFC 6750; case-insensitive)");
    }
    Ok(())
}

#[then("the token response contains an ID token")]
async fn has_id_token(w: &mut KensaWorld) -> StepResult {
    w.id_token()?;
    Ok(())
}

fn refused(w: &KensaWorld, status: Option<u16>, errors: &[String]) -> StepResult {
    let r = w.last()?;
    if r.status() == 200 {
        fail!("the request succeeded, but it must be refused with {}: {}", errors.join(" or "), r.describe());
    }
    if let Some(s) = status {
        if r.status() != s {
            fail!("status {} (expected {s}): {}", r.status(), r.describe());
        }
    } else if r.status() != 400 && r.status() != 401 {
        fail!("status {} (RFC 6749 5.2 uses 400, or 401 for invalid_client): {}", r.status(), r.describe());
    }
    match r.error() {
        Some(e) if errors.iter().any(|x| x == e) => Ok(()),
        _ => Err(anyhow!("the error is not {}: {}", errors.join(" or "), r.describe()).into()),
    }
}

#[then(expr = "the token request is refused with {string}")]
async fn refused_with(w: &mut KensaWorld, error: String) -> StepResult {
    refused(w, None, &[error])
}

#[then(expr = "the token request is refused with one of {string}")]
async fn refused_with_one_of(w: &mut KensaWorld, errors: String) -> StepResult {
    refused(w, None, &super::list(&errors))
}

#[then(expr = "the token request is refused with status {int} and {string}")]
async fn refused_with_status(w: &mut KensaWorld, status: u16, error: String) -> StepResult {
    refused(w, Some(status), &[error])
}

#[then(expr = "the token response has {string}")]
async fn has_header(w: &mut KensaWorld, header: String) -> StepResult {
    let (name, value) = header.split_once(':').ok_or_else(|| anyhow!("write the header as \"Name: value\""))?;
    let r = w.last()?;
    if r.status() != 200 {
        fail!("the token request failed: {}", r.describe());
    }
    let got = r.response.header(name.trim()).unwrap_or("");
    let want = value.trim().to_ascii_lowercase();
    if got.to_ascii_lowercase().split(',').any(|d| d.trim() == want) {
        Ok(())
    } else {
        Err(anyhow!("{} is {got:?}; the response carries tokens, so it must include {want:?}", name.trim()).into())
    }
}

#[then("the refreshed ID token, if any, keeps the original iss, sub and aud")]
async fn refreshed_id_token(w: &mut KensaWorld) -> StepResult {
    let n = w.tokens.len();
    if n < 2 {
        fail!("fewer than two successful token responses");
    }
    let Some(new_raw) = &w.tokens[n - 1].id_token else {
        return Ok(());
    };
    let old_raw =
        w.tokens[n - 2].id_token.as_ref().ok_or_else(|| anyhow!("the first token response has no id_token"))?;
    let new = kensa::oidc::jwt::Jwt::parse_secret(new_raw)?;
    let old = kensa::oidc::jwt::Jwt::parse_secret(old_raw)?;
    w.diffs.push(kensa::report::ClaimDiff {
        title: "original and refreshed ID token".into(),
        left_label: "original ID token claims".into(),
        left: serde_json::Value::Object(old.claims.clone()),
        right_label: "refreshed ID token claims".into(),
        right: serde_json::Value::Object(new.claims.clone()),
    });
    for claim in ["iss", "sub", "aud"] {
        if old.claims.get(claim) != new.claims.get(claim) {
            fail!(
                "the refreshed ID token's {claim} is {}, the original's was {}",
                new.claims.get(claim).map_or("absent".into(), ToString::to_string),
                old.claims.get(claim).map_or("absent".into(), ToString::to_string)
            );
        }
    }
    Ok(())
}

pub(super) async fn revoke(w: &mut KensaWorld, role: Option<&str>, token: String, hint: &str) -> StepResult {
    let client = w.client_of(role.unwrap_or(&w.role))?;
    let auth = KensaWorld::auth_for(&client, None, None)?;
    w.post_endpoint("revocation_endpoint", &auth, form(&[("token", &token), ("token_type_hint", hint)])).await?;
    Ok(())
}

fn first_refresh_token(w: &KensaWorld) -> anyhow::Result<String> {
    let t = w.tokens.first().ok_or_else(|| anyhow!("no token response yet"))?;
    Ok(t.refresh_token.as_ref().ok_or_else(|| anyhow!("the token response has no refresh_token"))?.expose().to_owned())
}

fn first_access_token(w: &KensaWorld) -> anyhow::Result<String> {
    Ok(w.tokens.first().ok_or_else(|| anyhow!("no token response yet"))?.access_token.expose().to_owned())
}

#[when("the client revokes the refresh token")]
async fn revokes_refresh(w: &mut KensaWorld) -> StepResult {
    let t = first_refresh_token(w)?;
    revoke(w, None, t, "refresh_token").await
}

#[when("the client revokes the access token")]
async fn revokes_access(w: &mut KensaWorld) -> StepResult {
    let t = first_access_token(w)?;
    revoke(w, None, t, "access_token").await
}

#[when("the other client revokes the refresh token")]
async fn other_revokes(w: &mut KensaWorld) -> StepResult {
    let t = first_refresh_token(w)?;
    revoke(w, Some("other"), t, "refresh_token").await
}

#[when("the client revokes a token the IdP never issued")]
async fn revokes_unknown(w: &mut KensaWorld) -> StepResult {
    revoke(w, None, format!("kensa-never-issued-{}", kensa::oidc::random_token(12)), "refresh_token").await
}

#[then("the revocation response is 200")]
async fn revocation_ok(w: &mut KensaWorld) -> StepResult {
    let r = w.last()?;
    if r.status() == 200 { Ok(()) } else { Err(anyhow!("the revocation endpoint answered {}", r.describe()).into()) }
}

#[when("the client introspects the access token")]
async fn introspects(w: &mut KensaWorld) -> StepResult {
    let t = first_access_token(w)?;
    let client = w.client()?;
    let auth = KensaWorld::auth_for(&client, None, None)?;
    w.post_endpoint("introspection_endpoint", &auth, form(&[("token", &t), ("token_type_hint", "access_token")]))
        .await?;
    Ok(())
}

#[when("the access token is introspected without client authentication")]
async fn introspects_anonymously(w: &mut KensaWorld) -> StepResult {
    let t = first_access_token(w)?;
    let auth = kensa::oidc::token::ClientAuth::Anonymous;
    w.post_endpoint("introspection_endpoint", &auth, form(&[("token", &t)])).await?;
    Ok(())
}

#[then("the introspection response says active with the client's client_id and the granted scope")]
async fn introspection_active(w: &mut KensaWorld) -> StepResult {
    let client_id = w.client()?.client_id;
    let granted = w.tokens.first().and_then(|t| t.scope.clone());
    let r = w.last()?;
    let j = r
        .json
        .as_ref()
        .filter(|_| r.status() == 200)
        .ok_or_else(|| anyhow!("introspection failed: {}", r.describe()))?;
    if j.get("active") != Some(&serde_json::Value::Bool(true)) {
        fail!("the token is not reported active: {}", r.describe());
    }
    if let Some(c) = j.get("client_id")
        && c.as_str() != Some(client_id.as_str())
    {
        fail!("client_id is {c}, expected {client_id:?}");
    }
    if let (Some(g), Some(s)) = (granted, j.get("scope").and_then(serde_json::Value::as_str)) {
        let mut a: Vec<&str> = g.split_whitespace().collect();
        let mut b: Vec<&str> = s.split_whitespace().collect();
        a.sort_unstable();
        b.sort_unstable();
        if a != b {
            fail!("scope is {s:?}, the token response granted {g:?}");
        }
    }
    Ok(())
}

#[then("the introspection response says inactive")]
async fn introspection_inactive(w: &mut KensaWorld) -> StepResult {
    let r = w.last()?;
    match r.json.as_ref().and_then(|j| j.get("active")) {
        Some(serde_json::Value::Bool(false)) if r.status() == 200 => Ok(()),
        _ => Err(anyhow!("expected 200 with active false, got {}", r.describe()).into()),
    }
}

#[then("the introspection request is refused without saying whether the token is active")]
async fn introspection_refused(w: &mut KensaWorld) -> StepResult {
    let r = w.last()?;
    let reveals = r.json.as_ref().and_then(|j| j.get("active")).is_some();
    if matches!(r.status(), 400 | 401 | 403) && !reveals {
        Ok(())
    } else {
        Err(anyhow!("an unauthenticated caller got {} — the endpoint must refuse it", r.describe()).into())
    }
}

#[then("the token request is refused with 401 and a Basic challenge")]
async fn basic_challenge(w: &mut KensaWorld) -> StepResult {
    let r = w.last()?;
    if r.status() != 401 {
        fail!("expected HTTP 401 for a failed Basic authentication, got {}", r.describe());
    }
    match r.response.header("www-authenticate") {
        Some(h) if h.trim().get(..5).is_some_and(|s| s.eq_ignore_ascii_case("basic")) => Ok(()),
        Some(h) => Err(anyhow!("WWW-Authenticate is {h:?}, not the Basic scheme the client used").into()),
        None => Err(anyhow!("the 401 carries no WWW-Authenticate header").into()),
    }
}

#[then("the newest refresh token no longer works either")]
async fn newest_refresh_dead(w: &mut KensaWorld) -> StepResult {
    let before = w.tokens.len();
    refresh(w, None, 0, None).await?;
    let r = w.last()?;
    if w.tokens.len() > before || r.error() != Some("invalid_grant") {
        fail!(
            "after the rotated refresh token was presented again, its successor still works: the IdP did not \
             revoke the grant ({})",
            r.describe()
        );
    }
    Ok(())
}

/// The scopes of the original grant: the first token response's `scope`, or,
/// where it omits it (RFC 6749 5.1: then identical to the request), the
/// scope of the authorization request.
fn original_grant(w: &KensaWorld) -> Vec<String> {
    let scope = w.tokens.first().and_then(|t| t.scope.clone()).or_else(|| w.auth.as_ref().map(|a| a.scope.clone()));
    scope.unwrap_or_default().split_whitespace().map(str::to_owned).collect()
}

/// RFC 6749, 6 on a refresh that asked for more than the original grant.
/// The server may refuse it or "fully or partially ignore the scope
/// requested by the client" (3.3); the breach is issuing the wider scope.
/// Judged from the refresh response's `scope` member; where it omits
/// `scope`, from what the new access token introspects to, or else from
/// what it opens at userinfo, anchored on the original token (a userinfo
/// that shows the same claims to both cannot tell).
#[then("the refresh grants no scope beyond the original grant")]
async fn refresh_not_widened(w: &mut KensaWorld) -> StepResult {
    let granted = original_grant(w);
    let r = w.last()?.clone();
    if r.status() != 200 {
        let error = r.json.as_ref().and_then(|j| j.get("error")).and_then(serde_json::Value::as_str).unwrap_or("");
        if error != "invalid_scope" {
            w.notes.push(format!(
                "the wider refresh was refused with {:?}; RFC 6749 5.2 names invalid_scope for a scope that exceeds the grant",
                r.describe()
            ));
        }
        return Ok(());
    }
    let breach = |issued: &str, how: &str, extra: &[&str]| {
        anyhow!(
            "the refresh issued scope {issued:?} ({how}), which adds {extra:?} to the original grant {granted:?}: RFC 6749, 6: \
             \"The requested scope MUST NOT include any scope not originally granted by the resource owner, and if omitted is \
             treated as equal to the scope originally granted\""
        )
    };
    let extra_in = |scope: &str| -> Vec<String> {
        scope.split_whitespace().filter(|s| !granted.iter().any(|g| g == s)).map(str::to_owned).collect()
    };
    if let Some(issued) = r.json.as_ref().and_then(|j| j.get("scope")).and_then(serde_json::Value::as_str) {
        let extra = extra_in(issued);
        if extra.is_empty() {
            return Ok(());
        }
        let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
        return Err(breach(issued, "its scope member", &extra).into());
    }
    // No scope member: what does the new token carry?
    let new = w.tokens()?.access_token.expose().to_owned();
    let has_introspection = w.discovery().await.ok().and_then(|d| d.endpoint("introspection_endpoint").ok()).is_some();
    if has_introspection {
        let client = w.client()?;
        let auth = KensaWorld::auth_for(&client, None, None)?;
        let j = w
            .post_endpoint(
                "introspection_endpoint",
                &auth,
                form(&[("token", &new), ("token_type_hint", "access_token")]),
            )
            .await?
            .json
            .clone();
        if let Some(scope) = j
            .as_ref()
            .filter(|j| j.get("active") == Some(&serde_json::Value::Bool(true)))
            .and_then(|j| j.get("scope").and_then(serde_json::Value::as_str).map(str::to_owned))
        {
            let extra = extra_in(&scope);
            if extra.is_empty() {
                return Ok(());
            }
            let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
            return Err(breach(&scope, "as the new access token introspects", &extra).into());
        }
    }
    // Userinfo: claims of the asked-for scopes the user has, shown to the
    // new token and not to the original one.
    let asked: Vec<String> = w
        .http
        .exchanges()
        .iter()
        .rev()
        .find_map(|e| {
            e.request_body.as_deref().filter(|b| b.contains("grant_type=refresh_token")).and_then(|b| {
                url::form_urlencoded::parse(b.as_bytes()).find(|(k, _)| k == "scope").map(|(_, v)| v.into_owned())
            })
        })
        .unwrap_or_default()
        .split_whitespace()
        .filter(|s| !granted.iter().any(|g| g == s))
        .map(str::to_owned)
        .collect();
    let user = w.user()?;
    let claims: Vec<&str> = kensa_mocks::realm::SCOPE_CLAIMS
        .iter()
        .filter(|(s, _)| asked.iter().any(|a| a == s))
        .flat_map(|(_, names)| names.iter().copied())
        .filter(|n| user.claims.contains_key(*n))
        .collect();
    let original = w.tokens.first().map(|t| t.access_token.expose().to_owned()).unwrap_or_default();
    let shown = |v: Option<serde_json::Value>| -> Vec<&str> {
        claims.iter().copied().filter(|c| v.as_ref().and_then(|j| j.get(*c)).is_some()).collect()
    };
    super::userinfo::call(w, "GET", &original).await?;
    let before = shown(w.userinfo.take());
    super::userinfo::call(w, "GET", &new).await?;
    let after = shown(w.userinfo.take());
    let widened: Vec<&str> = after.iter().copied().filter(|c| !before.contains(c)).collect();
    if !widened.is_empty() {
        return Err(breach("(omitted)", "the new access token opens these claims at userinfo", &widened).into());
    }
    w.notes.push(if claims.is_empty() {
        "the refresh response omits scope and the new token could not be judged: no introspection, and the user has no claim of the scopes asked for".to_owned()
    } else if before.is_empty() {
        format!("the refresh response omits scope; the new access token opens none of {claims:?} at userinfo")
    } else {
        format!("the refresh response omits scope; userinfo shows {before:?} to the original token too, so it cannot tell")
    });
    Ok(())
}
