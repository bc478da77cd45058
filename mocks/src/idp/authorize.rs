//! The authorization endpoint and the login form.

use std::sync::{Arc, MutexGuard};

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use url::Url;

use super::external_auth::{self, ExternalUser, Outcome};
use super::html::{error_page, login_page};
use super::store::{AuthRequest, Store};
use super::util::{Params, cookie, ct_eq, is_pkce_value, random_token, set_cookie, split_scope};
use super::{App, BROWSER_COOKIE, Fault, SCOPES_SUPPORTED, SESSION_COOKIE};

/// `GET /authorize`.
pub(crate) async fn authorize_get(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    authorize(&app, &headers, &Params::from_query(query.as_deref()))
}

/// `POST /authorize` with a form body.
pub(crate) async fn authorize_post(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Response {
    if app.has(Fault::AuthorizePostUnsupported) {
        return (StatusCode::METHOD_NOT_ALLOWED, [(header::ALLOW, "GET")]).into_response();
    }
    match Params::from_form(&headers, &body) {
        Some(params) => authorize(&app, &headers, &params),
        None => error_page(StatusCode::BAD_REQUEST, "The request body must be application/x-www-form-urlencoded."),
    }
}

/// Where authorization responses go once the client and redirect URI are trusted.
struct Callback<'a> {
    app: &'a App,
    target: Url,
    state: Option<String>,
}

impl Callback<'_> {
    fn error(&self, error: &str, description: &str) -> Response {
        let mut url = self.target.clone();
        {
            let mut query = url.query_pairs_mut();
            query.append_pair("error", error);
            query.append_pair("error_description", description);
            if let Some(state) = &self.state {
                query.append_pair("state", state);
            }
            query.append_pair("iss", &self.app.issuer);
        }
        redirect(url.as_str())
    }
}

/// A 303 redirect that is not cached.
fn redirect(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(location) {
        headers.insert(header::LOCATION, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Sends the browser back to the client with a fresh authorization code.
fn code_redirect(app: &App, request: AuthRequest, sub: &str, auth_time: u64) -> Response {
    let Ok(mut url) = Url::parse(&request.redirect_target) else {
        return error_page(StatusCode::BAD_REQUEST, "The redirect_uri is not a valid URI.");
    };
    let state = request.state.clone();
    // OpenID Connect Core 5.5.1: a sub requested by value that is not the
    // user's makes the authentication fail; an essential claim the user
    // lacks does not (except under a fault).
    let claims = request.claims.as_ref();
    let refusal = match super::claims::required_sub(claims) {
        Some(want) if want != sub && !app.has(Fault::ClaimsSubValueIgnored) => {
            Some("the signed-in user is not the sub the claims request names")
        }
        _ => None,
    }
    .or_else(|| {
        let user = app.realm().user_by_sub(sub)?;
        (app.has(Fault::ClaimsUnavailableError) && super::claims::missing_essential(claims, user).is_some())
            .then_some("an essential claim is not available")
    });
    if let Some(why) = refusal {
        let mut query = url.query_pairs_mut();
        query.append_pair("error", "access_denied");
        query.append_pair("error_description", why);
        if let Some(state) = &state {
            query.append_pair("state", state);
        }
        query.append_pair("iss", &app.issuer);
        drop(query);
        return redirect(url.as_str());
    }
    let code = app.store().add_code(request, sub, auth_time);
    {
        let mut query = url.query_pairs_mut();
        query.append_pair("code", &code);
        if let Some(state) = state.filter(|_| !app.has(Fault::StateNotEchoed)) {
            query.append_pair("state", &state);
        }
        if app.has(Fault::CallbackIssWrong) {
            query.append_pair("iss", &format!("{}/wrong", app.issuer));
        } else {
            query.append_pair("iss", &app.issuer);
        }
    }
    redirect(url.as_str())
}

/// An HTML login page response, optionally setting the browser cookie.
pub(crate) fn login_response(body: String, new_browser: Option<&str>) -> Response {
    let mut response = (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (header::X_FRAME_OPTIONS, "DENY"),
        ],
        body,
    )
        .into_response();
    if let Some(browser) = new_browser
        && let Ok(value) = HeaderValue::from_str(&set_cookie(BROWSER_COOKIE, browser))
    {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// The claims of an unsigned request object (OpenID Connect Core 6.1): a JWT
/// with `alg` `none` and an empty signature.
fn request_object(jwt: &str) -> Result<serde_json::Map<String, serde_json::Value>, &'static str> {
    use base64::Engine as _;
    let decode = |part: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).ok();
    let mut parts = jwt.split('.');
    let (Some(header), Some(payload), Some(signature), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("the request object is not a JWT");
    };
    let header: serde_json::Value = decode(header)
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or("the request object's header is not JSON")?;
    if header.get("alg").and_then(serde_json::Value::as_str) != Some("none") || !signature.is_empty() {
        return Err("only unsigned request objects (alg none) are supported");
    }
    match decode(payload).and_then(|b| serde_json::from_slice(&b).ok()) {
        Some(serde_json::Value::Object(claims)) => Ok(claims),
        _ => Err("the request object's payload is not a JSON object"),
    }
}

fn authorize(app: &App, headers: &HeaderMap, params: &Params) -> Response {
    // OpenID Connect Core 6.1: a request object's parameters supersede the
    // ones of the query. A malformed one is reported to the client once the
    // redirect URI is trusted.
    let (merged, object_error) = match params.get("request").filter(|_| !app.has(Fault::RequestObjectIgnored)) {
        None => (None, None),
        Some(jwt) => match request_object(jwt) {
            Ok(object)
                if object
                    .get("client_id")
                    .and_then(serde_json::Value::as_str)
                    .is_some_and(|c| Some(c) != params.get("client_id")) =>
            {
                (None, Some("the request object's client_id differs from the request's"))
            }
            Ok(object) => (Some(params.superseded_by(&object)), None),
            Err(why) => (None, Some(why)),
        },
    };
    let params = merged.as_ref().unwrap_or(params);
    let bad = |message: &str| error_page(StatusCode::BAD_REQUEST, message);

    // Errors about the client or the redirect URI are shown to the user and
    // never redirected.
    if params.count("client_id") > 1 {
        return bad("The client_id parameter is repeated.");
    }
    let Some(client_id) = params.get("client_id") else {
        return bad("The client_id parameter is missing.");
    };
    let Some(client) = app.realm().client(client_id) else {
        return bad("The client_id is not registered.");
    };
    if params.count("redirect_uri") > 1 {
        return bad("The redirect_uri parameter is repeated.");
    }
    let sent_redirect = params.get("redirect_uri");
    let target = match sent_redirect {
        Some(uri) => {
            let registered = client.redirect_uris.iter().any(|r| {
                r == uri
                    || (app.has(Fault::RedirectUriPrefixMatch) && uri.starts_with(r.as_str()))
                    || (app.has(Fault::RedirectUriQueryIgnored) && uri.split('?').next() == Some(r.as_str()))
                    || (app.has(Fault::RedirectUriCaseInsensitive) && uri.eq_ignore_ascii_case(r))
                    || (app.has(Fault::RedirectUriDecoded)
                        && percent_encoding::percent_decode_str(uri).decode_utf8().is_ok_and(|d| d == r.as_str()))
                    || (client.is_native() && !app.has(Fault::LoopbackPortExact) && loopback_match(r, uri))
            });
            if !registered {
                return bad("The redirect_uri is not registered for this client.");
            }
            uri
        }
        None => match client.redirect_uris.as_slice() {
            [only] => only.as_str(),
            _ => return bad("The redirect_uri parameter is required for this client."),
        },
    };
    let Ok(target_url) = Url::parse(target) else {
        return bad("The redirect_uri is not a valid absolute URI.");
    };
    let callback = Callback { app, target: target_url, state: params.get("state").map(str::to_owned) };

    // From here on errors are reported to the client.
    if let Some(name) = params.repeated() {
        return callback.error("invalid_request", &format!("parameter {name} is repeated"));
    }
    // RFC 6749 3.1: unrecognized parameters are ignored (except under a
    // fault); the hints of OpenID Connect Core 3.1.2.1 are accepted (except
    // under the fault for each).
    if app.has(Fault::UnknownParamRejected)
        && let Some(name) = params.names().find(|n| !KNOWN_PARAMS.contains(n))
    {
        return callback.error("invalid_request", &format!("unknown parameter {name}"));
    }
    for (fault, name) in [
        (Fault::DisplayRejected, "display"),
        (Fault::UiLocalesRejected, "ui_locales"),
        (Fault::ClaimsLocalesRejected, "claims_locales"),
        (Fault::LoginHintRejected, "login_hint"),
        (Fault::AcrValuesRejected, "acr_values"),
    ] {
        if app.has(fault) && params.get(name).is_some() {
            return callback.error("invalid_request", &format!("{name} is not supported"));
        }
    }
    if app.has(Fault::NonceRequired) && params.get("nonce").is_none() {
        return callback.error("invalid_request", "nonce is required");
    }
    match params.get("response_type") {
        Some("code") => {}
        None if app.has(Fault::ResponseTypeMissingAccepted) => {}
        None => return callback.error("invalid_request", "response_type is required"),
        Some(_) => {
            return callback.error("unsupported_response_type", "only response_type=code is supported");
        }
    }
    if params.get("response_mode").is_some_and(|m| m != "query") {
        return callback.error("invalid_request", "only response_mode=query is supported");
    }
    if let Some(why) = object_error {
        return callback.error("invalid_request_object", why);
    }
    if params.get("request_uri").is_some() {
        if app.has(Fault::RequestUriWrongError) {
            return callback.error("invalid_request", "request_uri cannot be used");
        }
        return callback.error("request_uri_not_supported", "request_uri is not supported");
    }
    let claims = match params.get("claims").map(super::claims::parse).transpose() {
        Ok(c) => c,
        Err(why) => return callback.error("invalid_request", why),
    };
    let requested = split_scope(params.get("scope").unwrap_or(""));
    if app.has(Fault::ScopeOrderSensitive) && requested.first().is_some_and(|s| s != "openid") {
        return callback.error("invalid_scope", "scope must start with openid");
    }
    if !requested.iter().any(|s| s == "openid") {
        return callback.error("invalid_scope", "scope must include openid");
    }
    let requested = if app.has(Fault::ScopeNotNarrowed) {
        // The fault: every API scope the client is registered for comes along.
        let extra = client.scopes.iter().filter(|s| s.ends_with("_apis") && !requested.contains(s)).cloned();
        requested.iter().cloned().chain(extra).collect()
    } else {
        requested
    };
    let scope: Vec<String> =
        requested.into_iter().filter(|s| SCOPES_SUPPORTED.contains(&s.as_str()) && client.scopes.contains(s)).collect();
    if !scope.iter().any(|s| s == "openid") {
        return callback.error("invalid_scope", "the client may not request openid");
    }
    let code_challenge = params.get("code_challenge");
    match code_challenge {
        Some(challenge) => {
            // RFC 7636 4.3: an absent method means plain, which is not supported.
            let plain_ok = app.has(Fault::PkcePlainAccepted) && params.get("code_challenge_method") == Some("plain");
            if params.get("code_challenge_method") != Some("S256") && !plain_ok {
                return callback.error("invalid_request", "code_challenge_method must be S256");
            }
            if !is_pkce_value(challenge) {
                return callback.error("invalid_request", "code_challenge is malformed");
            }
        }
        None if !client.is_confidential() => {
            return callback.error("invalid_request", "public clients must use PKCE");
        }
        None => {}
    }
    let prompt: Vec<&str> =
        params.get("prompt").map(|p| p.split(' ').filter(|s| !s.is_empty()).collect()).unwrap_or_default();
    let prompt_none = prompt.contains(&"none");
    if prompt_none && prompt.len() > 1 {
        return callback.error("invalid_request", "prompt=none cannot be combined");
    }

    let request = AuthRequest {
        client_id: client.client_id.clone(),
        redirect_uri: sent_redirect.map(str::to_owned),
        redirect_target: target.to_owned(),
        scope,
        state: callback.state.clone(),
        nonce: params.get("nonce").map(str::to_owned),
        code_challenge: code_challenge.map(str::to_owned),
        claims,
        saml_relay_state: None,
        saml_request_id: None,
    };

    // OpenID Connect Core 3.1.2.1: max_age is the allowable time in seconds
    // since the user last actively authenticated.
    let max_age = match params.get("max_age").map(str::parse::<u64>) {
        None => None,
        Some(Ok(secs)) => Some(secs),
        Some(Err(_)) => return callback.error("invalid_request", "max_age must be a non-negative integer"),
    };
    let session = cookie(headers, SESSION_COOKIE).and_then(|id| {
        let store = app.store();
        store.session(&id).filter(|s| app.user_exists(&store, &s.sub)).cloned()
    });
    let fresh_enough = |auth_time: u64| {
        app.has(Fault::MaxAgeIgnored) || max_age.is_none_or(|m| app.now().saturating_sub(auth_time) <= m)
    };
    // An id_token_hint names the user the client expects; a session of
    // another user does not answer it.
    let hinted = params.get("id_token_hint").map(hinted_sub);
    let usable = session.filter(|s| {
        fresh_enough(s.auth_time)
            && (!prompt.contains(&"login") || app.has(Fault::PromptLoginIgnored))
            && !(prompt_none && app.has(Fault::PromptNoneSessionIgnored))
            && !(prompt_none && hinted.is_some() && app.has(Fault::IdTokenHintRejected))
    });
    if let Some(hint) = &hinted
        && let Some(s) = &usable
        && hint.as_deref() != Some(s.sub.as_str())
    {
        if prompt_none {
            return callback.error("login_required", "the id_token_hint names another user than the signed-in one");
        }
    } else if let Some(session) = usable {
        return code_redirect(app, request, &session.sub, session.auth_time);
    }
    if prompt_none && !app.has(Fault::PromptNoneShowsLogin) {
        return callback.error("login_required", "the user is not signed in");
    }

    let existing_browser = cookie(headers, BROWSER_COOKIE);
    let browser = existing_browser.clone().unwrap_or_else(random_token);
    let (request_id, csrf_token) = app.store().add_pending(request, browser.clone());
    let page = login_page(&client.client_id, &request_id, &csrf_token, None);
    login_response(page, existing_browser.is_none().then_some(browser.as_str()))
}

/// The parameters the authorization endpoint knows (RFC 6749 4.1.1, RFC 7636
/// 4.3, OpenID Connect Core 3.1.2.1, 5.5 and 6).
const KNOWN_PARAMS: &[&str] = &[
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "response_mode",
    "nonce",
    "display",
    "prompt",
    "max_age",
    "ui_locales",
    "claims_locales",
    "id_token_hint",
    "login_hint",
    "acr_values",
    "claims",
    "request",
    "request_uri",
    "code_challenge",
    "code_challenge_method",
];

/// The `sub` of an ID token given as id_token_hint (`None`: not an ID token
/// this IdP could have issued). The hint only narrows which session may
/// answer; the session itself is what authenticates.
fn hinted_sub(hint: &str) -> Option<String> {
    use base64::Engine as _;
    let payload = hint.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    claims.get("sub")?.as_str().map(str::to_owned)
}

/// Message of a login page after rejected credentials.
const INVALID_CREDENTIALS: &str = "Invalid username or password.";
/// Message of a login page for a locked account.
const ACCOUNT_LOCKED: &str = "This account is locked.";

/// The error page for an unknown or expired login request.
fn expired() -> Response {
    error_page(StatusCode::BAD_REQUEST, "login request expired or unknown")
}

/// `POST /login`: checks CSRF and credentials of a pending request. Realm
/// users are checked against the realm; other usernames, when an external
/// API is configured, are checked by that API.
pub(crate) async fn login(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(params) = Params::from_form(&headers, &body) else {
        return error_page(StatusCode::BAD_REQUEST, "The request body must be application/x-www-form-urlencoded.");
    };
    let Some(request_id) = params.get("request_id") else {
        return expired();
    };
    let username = params.get("username");
    let password = params.get("password").unwrap_or("");

    let (external, username, locked) = {
        let mut store = app.store();
        let Some(pending) = store.pending(request_id) else {
            return expired();
        };
        if !app.has(Fault::LoginCsrfUnchecked) {
            let same_browser =
                cookie(&headers, BROWSER_COOKIE).is_some_and(|browser| ct_eq(&browser, &pending.browser));
            let token_ok = params.get("csrf_token").is_some_and(|token| ct_eq(token, &pending.csrf_token));
            if !same_browser || !token_ok {
                return error_page(StatusCode::FORBIDDEN, "CSRF check failed");
            }
        }
        let realm_user = username.and_then(|u| app.realm().user(u));
        match (&app.config.external, username) {
            (Some(external), Some(username)) if realm_user.is_none() => {
                let failures = store.external_failures.get(username).copied().unwrap_or(0);
                let locked = external.lock_threshold > 0
                    && failures >= external.lock_threshold
                    && !app.has(Fault::ExternalAuthNoLockout);
                (external, username, locked)
            }
            _ => {
                let Some(user) =
                    realm_user.filter(|u| app.has(Fault::AnyPasswordAccepted) || ct_eq(password, &u.password))
                else {
                    return retry(&mut store, request_id, INVALID_CREDENTIALS);
                };
                return sign_in(&app, store, request_id, &user.sub);
            }
        }
    };

    let outcome = external_auth::delegate(&app, external, username, password, locked).await;

    let mut store = app.store();
    if store.pending(request_id).is_none() {
        return expired();
    }
    match outcome {
        Outcome::Authenticated { sub, claims } => {
            store.external_failures.remove(username);
            store.external_users.insert(sub.clone(), ExternalUser { claims });
            sign_in(&app, store, request_id, &sub)
        }
        Outcome::Rejected => {
            *store.external_failures.entry(username.to_owned()).or_default() += 1;
            retry(&mut store, request_id, if locked { ACCOUNT_LOCKED } else { INVALID_CREDENTIALS })
        }
        Outcome::Locked => retry(&mut store, request_id, ACCOUNT_LOCKED),
        Outcome::Failed => {
            error_page(StatusCode::BAD_GATEWAY, "Sign-in is unavailable: the external authentication service failed.")
        }
    }
}

/// The login page again, with `message` and a fresh CSRF token.
fn retry(store: &mut Store, request_id: &str, message: &str) -> Response {
    let Some(pending) = store.pending(request_id) else {
        return expired();
    };
    pending.csrf_token = random_token();
    let page = login_page(&pending.request.client_id, request_id, &pending.csrf_token, Some(message));
    login_response(page, None)
}

/// Completes the pending request `request_id` for `sub`: a session and a
/// redirect with an authorization code.
fn sign_in(app: &App, mut store: MutexGuard<'_, Store>, request_id: &str, sub: &str) -> Response {
    let Some(pending) = store.pending.remove(request_id) else {
        return expired();
    };
    let auth_time = app.now();
    let session = store.add_session(sub, auth_time);
    drop(store);
    let mut response = match &pending.request.saml_relay_state {
        Some(relay) => super::saml::post_form(app, sub, Some(relay), pending.request.saml_request_id.as_deref()),
        None => code_redirect(app, pending.request, sub, auth_time),
    };
    if let Ok(value) = HeaderValue::from_str(&set_cookie(SESSION_COOKIE, &session)) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// RFC 8252 7.3: for a loopback IP redirect URI "the authorization server
/// MUST allow any port to be specified at the time of the request"; all
/// else (scheme `http`, host, path, query) must match exactly.
fn loopback_match(registered: &str, sent: &str) -> bool {
    let (Ok(r), Ok(s)) = (Url::parse(registered), Url::parse(sent)) else { return false };
    let loopback = |u: &Url| match u.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        _ => false,
    };
    r.scheme() == "http"
        && s.scheme() == "http"
        && loopback(&r)
        && r.host() == s.host()
        && r.path() == s.path()
        && r.query() == s.query()
        && s.fragment().is_none()
        && s.username().is_empty()
        && s.password().is_none()
}

#[cfg(test)]
mod loopback_tests {
    use super::loopback_match;

    #[test]
    fn any_port_same_everything_else() {
        let r = "http://127.0.0.1/callback";
        assert!(loopback_match(r, "http://127.0.0.1:51234/callback"));
        assert!(loopback_match(r, "http://127.0.0.1/callback"));
        assert!(!loopback_match(r, "http://127.0.0.1:51234/callback/x"));
        assert!(!loopback_match(r, "http://127.0.0.2:51234/callback"));
        assert!(!loopback_match(r, "http://localhost:51234/callback"));
        assert!(!loopback_match(r, "https://127.0.0.1:51234/callback"));
        assert!(!loopback_match(r, "http://127.0.0.1:51234/callback?x=1"));
        assert!(!loopback_match(r, "http://user@127.0.0.1:51234/callback"));
        assert!(!loopback_match("https://client.kensa.test/cb", "https://client.kensa.test:444/cb"));
    }
}
