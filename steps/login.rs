//! Authorization request and login steps.

use anyhow::anyhow;
use cucumber::{given, then, when};
use kensa::login::{Outcome, Tamper};
use kensa::world::{KensaWorld, StepResult};

#[given(expr = "the {word} client")]
async fn client(w: &mut KensaWorld, role: String) -> StepResult {
    w.client_of(&role)?;
    w.role = role;
    Ok(())
}

/// The client the target registers for a token endpoint authentication
/// method (its `token_endpoint_auth_method`); the check needs
/// `auth-method:METHOD`, so a target without one skips it.
#[given(expr = "a client registered for {word}")]
async fn client_for_method(w: &mut KensaWorld, method: String) -> StepResult {
    let role = w
        .ctx
        .target
        .realm
        .clients
        .iter()
        .find(|c| c.token_endpoint_auth_method == method && c.is_confidential())
        .map(|c| c.role.clone())
        .ok_or_else(|| anyhow::anyhow!("the target registers no confidential client for {method}"))?;
    w.client_of(&role)?;
    w.role = role;
    Ok(())
}

#[when("the user logs in")]
async fn logs_in(w: &mut KensaWorld) -> StepResult {
    let req = w.new_auth_request()?;
    w.run_login(req, None, Tamper::None).await?;
    w.code().map_err(|e| anyhow!("{e}{}", super::transcript(w)))?;
    Ok(())
}

#[when(expr = "the user logs in with the scope {string}")]
async fn logs_in_with_scope(w: &mut KensaWorld, scope: String) -> StepResult {
    let mut req = w.new_auth_request()?;
    req.scope = scope;
    w.run_login(req, None, Tamper::None).await?;
    w.code()?;
    Ok(())
}

#[when("the user logs in without PKCE")]
async fn logs_in_without_pkce(w: &mut KensaWorld) -> StepResult {
    let mut req = w.new_auth_request()?;
    req.pkce = None;
    w.run_login(req, None, Tamper::None).await?;
    w.code()?;
    Ok(())
}

#[when("the user logs in with a wrong password")]
async fn wrong_password(w: &mut KensaWorld) -> StepResult {
    let req = w.new_auth_request()?;
    w.run_login(req, Some("kensa-wrong-password-9c1d"), Tamper::None).await?;
    Ok(())
}

#[when("the login form is posted cross-site without its anti-CSRF token")]
async fn forged_login(w: &mut KensaWorld) -> StepResult {
    let req = w.new_auth_request()?;
    w.run_login(req, None, Tamper::ForgedPost).await?;
    Ok(())
}

#[when(expr = "the user logs in with the redirect URI extended by {string}")]
async fn unregistered_redirect(w: &mut KensaWorld, suffix: String) -> StepResult {
    let mut req = w.new_auth_request()?;
    req.redirect_uri = format!("{}{suffix}", req.redirect_uri);
    w.forbidden_redirect = Some(req.redirect_uri.clone());
    w.run_login(req, None, Tamper::None).await?;
    Ok(())
}

#[when("the user logs in without a response_type")]
async fn no_response_type(w: &mut KensaWorld) -> StepResult {
    let mut req = w.new_auth_request()?;
    req.response_type = None;
    w.run_login(req, None, Tamper::None).await?;
    Ok(())
}

#[then("the authorization response returns the state that was sent")]
async fn state_echoed(w: &mut KensaWorld) -> StepResult {
    let sent = w.auth.as_ref().map(|a| a.state.clone()).ok_or_else(|| anyhow!("no authorization request was sent"))?;
    let cb = w.callback.as_ref().ok_or_else(|| anyhow!("the flow did not reach the redirect URI"))?;
    match &cb.state {
        Some(s) if *s == sent => Ok(()),
        Some(s) => Err(anyhow!("state came back as {s:?}, but {sent:?} was sent").into()),
        None => Err(anyhow!("the authorization response has no state, but {sent:?} was sent").into()),
    }
}

#[then("the authorization response's iss is the issuer when the IdP advertises RFC 9207")]
async fn iss_param(w: &mut KensaWorld) -> StepResult {
    let issuer = w.issuer().to_owned();
    let advertised = w
        .discovery()
        .await?
        .doc
        .get("authorization_response_iss_parameter_supported")
        .and_then(serde_json::Value::as_bool)
        .unwrap_or(false);
    let cb = w.callback.as_ref().ok_or_else(|| anyhow!("the flow did not reach the redirect URI"))?;
    match (&cb.iss, advertised) {
        (Some(i), _) if *i == issuer => Ok(()),
        (Some(i), _) => Err(anyhow!("the authorization response's iss is {i:?}, not the issuer {issuer:?}").into()),
        (None, true) => Err(anyhow!(
            "the IdP advertises authorization_response_iss_parameter_supported but the authorization response has no iss"
        )
        .into()),
        (None, false) => Ok(()),
    }
}

#[then("the login is refused and no code is issued")]
async fn login_refused(w: &mut KensaWorld) -> StepResult {
    if let Some(cb) = &w.callback {
        if cb.code.is_some() {
            fail!("the IdP issued an authorization code{}", super::transcript(w));
        }
        return Ok(());
    }
    match &w.outcome {
        Some(Outcome::Page { submitted: true, .. }) => Ok(()),
        Some(Outcome::Page { submitted: false, response }) => Err(anyhow!(
            "the login form was never submitted: the flow stopped on HTTP {} ({})",
            response.status,
            w.ctx.target.login.page_error(&response.text()).unwrap_or_default()
        )
        .into()),
        Some(Outcome::Redirected { .. }) | None => Err(anyhow!("no login flow ran").into()),
    }
}

#[then("the IdP never redirects to the unregistered redirect URI")]
async fn never_redirects(w: &mut KensaWorld) -> StepResult {
    let forbidden = w.forbidden_redirect.clone().ok_or_else(|| anyhow!("no unregistered redirect URI was used"))?;
    match &w.outcome {
        Some(Outcome::Redirected { url: u, .. }) if kensa::oidc::authz::same_endpoint(u, &forbidden) => Err(anyhow!(
            "the IdP redirected the browser to the unregistered redirect URI {forbidden}{}",
            if w.callback.as_ref().is_some_and(|c| c.code.is_some()) { " with an authorization code" } else { "" }
        )
        .into()),
        Some(_) => Ok(()),
        None => Err(anyhow!("no login flow ran").into()),
    }
}

#[then(expr = "no code is issued and the error is one of {string}")]
async fn refused_with(w: &mut KensaWorld, errors: String) -> StepResult {
    let allowed = super::list(&errors);
    match (&w.callback, &w.outcome) {
        (Some(cb), _) if cb.code.is_some() => Err(anyhow!("the IdP issued an authorization code").into()),
        (Some(cb), _) => match &cb.error {
            Some(e) if allowed.contains(e) => Ok(()),
            _ => Err(anyhow!("the authorization error is {:?}, expected one of {allowed:?}", cb.error_text()).into()),
        },
        // An error page instead of a redirect is also a refusal: a 4xx
        // status, or a page that shows an error message.
        (None, Some(Outcome::Page { response, .. }))
            if response.status >= 400 || w.ctx.target.login.page_error(&response.text()).is_some() =>
        {
            Ok(())
        }
        (None, Some(Outcome::Page { response, .. })) => Err(anyhow!(
            "the flow stopped on HTTP {} without a code and without an error: {}",
            response.status,
            kensa::http::preview(&response.text(), 160)
        )
        .into()),
        _ => Err(anyhow!("no login flow ran").into()),
    }
}

/// Alterations of a registered redirect URI that exact matching refuses:
/// each is what a lax comparison lets through.
fn altered_redirects(registered: &str) -> anyhow::Result<Vec<(&'static str, String)>> {
    let url = url::Url::parse(registered).map_err(|e| anyhow!("redirect URI {registered:?}: {e}"))?;
    let path = url.path();
    let upper_path = {
        let mut u = url.clone();
        u.set_path(&path.to_uppercase());
        u.to_string()
    };
    // The first letter of the last path segment, percent-encoded.
    let encoded = match path.rfind('/') {
        Some(i) if path.len() > i + 1 && path.as_bytes()[i + 1].is_ascii_alphanumeric() => {
            let b = path.as_bytes()[i + 1];
            let mut u = url.clone();
            u.set_path(&format!("{}%{b:02X}{}", &path[..=i], &path[i + 2..]));
            u.to_string()
        }
        _ => format!("{registered}%2F"),
    };
    let with_query =
        if url.query().is_some() { format!("{registered}&kensa=1") } else { format!("{registered}?kensa=1") };
    let mut variants = vec![("an added query parameter", with_query), ("a percent-encoded character", encoded)];
    if upper_path != registered {
        variants.push(("a path in another case", upper_path));
    }
    variants.push(("an added path segment", format!("{}/kensa", registered.trim_end_matches('/'))));
    Ok(variants)
}

#[when("the client sends authorization requests with altered redirect URIs")]
async fn altered_redirect_requests(w: &mut KensaWorld) -> StepResult {
    let registered = w.new_auth_request()?.redirect_uri;
    let mut redirected = Vec::new();
    let variants = altered_redirects(&registered)?;
    let tried: Vec<String> = variants.iter().map(|(what, uri)| format!("{what}: {uri}")).collect();
    w.notes.push(format!("altered redirect URIs tried: {}", tried.join("; ")));
    for (what, uri) in variants {
        w.fresh_browser()?;
        let mut req = w.new_auth_request()?;
        req.redirect_uri.clone_from(&uri);
        w.forbidden_redirect = Some(uri.clone());
        w.run_login(req, None, Tamper::None).await?;
        // A redirect to the altered URI: same endpoint, and for the added
        // query its parameter too (a redirect to the registered URI with an
        // error is a refusal, not a redirect to the altered one).
        let reached = |url: &url::Url| {
            kensa::oidc::authz::same_endpoint(url, &uri)
                && url.as_str().starts_with(uri.split('?').next().unwrap_or(&uri))
                && (!uri.contains("kensa=1") || url.query_pairs().any(|(k, v)| k == "kensa" && v == "1"))
        };
        if let Some(Outcome::Redirected { url, .. }) = &w.outcome
            && reached(url)
        {
            let code = w.callback.as_ref().is_some_and(|c| c.code.is_some());
            redirected.push(format!("{what} ({uri}){}", if code { ", with a code" } else { "" }));
        }
    }
    w.redirected_to_altered = redirected;
    Ok(())
}

#[then("the IdP redirected to none of the altered redirect URIs")]
async fn none_altered(w: &mut KensaWorld) -> StepResult {
    if w.redirected_to_altered.is_empty() {
        Ok(())
    } else {
        Err(anyhow!(
            "the IdP accepted redirect URIs that differ from the registered one and redirected there: {}",
            w.redirected_to_altered.join("; ")
        )
        .into())
    }
}

#[when("the client sends an authorization request with PKCE method plain")]
async fn pkce_plain(w: &mut KensaWorld) -> StepResult {
    send_plain(w).await
}

async fn send_plain(w: &mut KensaWorld) -> StepResult {
    let mut req = w.new_auth_request()?;
    let pkce = req.pkce.get_or_insert_with(kensa::oidc::pkce::Pkce::generate);
    // RFC 7636 4.2: with plain, the challenge is the verifier itself.
    pkce.challenge = pkce.verifier.expose().to_owned();
    pkce.method = "plain".into();
    // The challenge is the verifier itself: a secret of the run.
    w.http.scrubber().register(&pkce.challenge);
    w.run_login(req, None, Tamper::None).await?;
    Ok(())
}

#[then("plain PKCE is refused unless the discovery document advertises it, and works if it does")]
async fn pkce_plain_as_advertised(w: &mut KensaWorld) -> StepResult {
    let methods = w.discovery().await?.list("code_challenge_methods_supported");
    let advertised = methods.as_ref().is_some_and(|m| m.iter().any(|x| x == "plain"));
    let code = w.callback.as_ref().is_some_and(|c| c.code.is_some());
    let error = w.callback.as_ref().and_then(|c| c.error.clone());
    match (advertised, code) {
        // RFC 7636 4.4.1: the refusal is the error response invalid_request.
        (false, false) if error.as_deref() == Some("invalid_request") => Ok(()),
        (false, false) => Err(anyhow!(
            "plain is not advertised and no code was issued, but the refusal is not an invalid_request error \
             response to the client: {}",
            w.callback.as_ref().map_or_else(
                || "the flow stopped on a page instead of redirecting".to_owned(),
                kensa::oidc::authz::Callback::error_text
            )
        )
        .into()),
        (false, true) => Err(anyhow!(
            "the IdP issued a code for code_challenge_method=plain, but code_challenge_methods_supported is {methods:?}"
        )
        .into()),
        // code_challenge_methods_supported is the server's; a server may
        // still hold a public client to S256 (RFC 9700 2.1.1 recommends it).
        // Advertised plain must work for some client: try the confidential
        // one.
        (true, false) if w.role != "confidential" && w.ctx.target.realm.client_by_role("confidential").is_some() => {
            let refused_public = w.callback.as_ref().map(kensa::oidc::authz::Callback::error_text).unwrap_or_default();
            w.role = "confidential".to_owned();
            send_plain(w).await?;
            if w.callback.as_ref().is_none_or(|c| c.code.is_none()) {
                fail!(
                    "the IdP advertises plain in code_challenge_methods_supported but refused it for the public client \
                     ({refused_public}) and for the confidential one ({}): RFC 8414 2 lists there the methods \
                     \"supported by this authorization server\"",
                    w.callback.as_ref().map(kensa::oidc::authz::Callback::error_text).unwrap_or_default()
                );
            }
            super::token::exchange(w, super::token::Exchange::default()).await?;
            let r = w.last()?;
            if r.status() != 200 {
                fail!("the confidential client's plain verifier was refused: {}", r.describe());
            }
            w.notes.push(format!(
                "plain is refused for the public client ({refused_public}) and works for the confidential one: a per-client policy"
            ));
            Ok(())
        }
        (true, false) => Err(anyhow!(
            "the IdP advertises plain in code_challenge_methods_supported but refused it: {}",
            w.callback.as_ref().map(kensa::oidc::authz::Callback::error_text).unwrap_or_default()
        )
        .into()),
        (true, true) => {
            super::token::exchange(w, super::token::Exchange::default()).await?;
            let r = w.last()?;
            if r.status() == 200 {
                Ok(())
            } else {
                Err(anyhow!("the plain verifier was refused: {}", r.describe()).into())
            }
        }
    }
}
