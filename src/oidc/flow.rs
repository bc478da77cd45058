//! One authorization code flow as a browser and a client run it: the user
//! signs in through the real login page, and the client redeems the code.
//! `kensa profile check` proves a profile with it; the load mode signs its
//! clients in with it.

use anyhow::{anyhow, bail};
use url::Url;

use super::authz::{AuthRequest, Callback};
use super::discovery::Discovery;
use super::token::{self, ClientAuth, form};
use crate::http::{HttpClient, Request, Settings};
use crate::login::{self, Credentials, Driver, Outcome, Tamper};
use crate::secret::Scrubber;

/// Who signs in, where, and how the page is driven.
#[derive(Debug)]
pub struct SignIn<'a> {
    /// The deployment's discovery document.
    pub discovery: &'a Discovery,
    /// The client whose authorization request it is.
    pub client: &'a kensa_mocks::realm::Client,
    /// The user's credentials.
    pub creds: &'a Credentials,
    /// The login page driver.
    pub driver: &'a Driver,
    /// Timeouts and trust anchors.
    pub http: &'a Settings,
    /// The scope asked for.
    pub scope: &'a str,
}

/// Signs the user in through the login page, as a browser would, and
/// redeems the code; returns the successful token response. Each error says
/// which step failed: the login page (the flow ended on a page, before or
/// after the credentials were submitted), the authorization response, or
/// the token request.
///
/// # Errors
/// As above. Messages may hold what the deployment answered; callers scrub
/// them with `scrubber`.
pub async fn sign_in(s: &SignIn<'_>, scrubber: &Scrubber) -> anyhow::Result<serde_json::Value> {
    let http = HttpClient::with_settings(scrubber.clone(), s.http.clone(), crate::http::DEFAULT_MAX_BODY)?;
    let client = s.client;
    let redirect =
        client.redirect_uris.first().ok_or_else(|| anyhow!("client {} has no redirect URI", client.client_id))?;
    let mut req = AuthRequest::new(&client.client_id, redirect, s.scope);
    if client.token_endpoint_auth_method != "none" {
        req.pkce = None;
    }
    let endpoint = s.discovery.endpoint("authorization_endpoint")?;
    let stop = |u: &Url| req.is_redirect_target(u);
    let outcome =
        login::drive(&http, Request::get(req.to_url(&endpoint)), s.creds, s.driver, Tamper::None, &stop).await?;
    let url = match outcome {
        Outcome::Redirected { url, .. } => url,
        Outcome::Page { response, submitted } => bail!(
            "the login ended on a page (HTTP {} at {}{}), not at the redirect URI {redirect}: {}",
            response.status,
            crate::secret::redact_url(&response.url),
            if submitted { ", after the credentials were submitted" } else { ", before any login form was found" },
            if submitted {
                "check the user's password, the page's error text, and the login driver or [login] selectors"
            } else {
                "check login_profile or the [login] form selector, and the client's redirect URI"
            }
        ),
    };
    let callback = Callback::parse(&url, scrubber);
    let code = callback
        .code
        .clone()
        .ok_or_else(|| anyhow!("the authorization response has no code: {}", callback.error_text()))?;
    let auth = ClientAuth::for_client(client, None, None)?;
    let mut f = form(&[("grant_type", "authorization_code"), ("code", code.expose())]);
    f.push(("redirect_uri".into(), req.redirect_uri.clone()));
    if let Some(p) = &req.pkce {
        f.push(("code_verifier".into(), p.verifier.expose().to_owned()));
    }
    let back = http.back_channel()?;
    let resp = token::post(&back, s.discovery.endpoint("token_endpoint")?, &auth, f).await?;
    match resp.json {
        Some(json) if resp.status() == 200 && json.get("access_token").is_some() => Ok(json),
        _ => bail!(
            "the token request with the code failed ({} with {}): {}",
            client.client_id,
            client.token_endpoint_auth_method,
            resp.describe()
        ),
    }
}
