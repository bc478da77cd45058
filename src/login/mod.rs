//! Drives real HTML login pages.
//!
//! The generic driver finds the form that has a password input, carries its
//! hidden fields over, fills the username and password and submits it to the
//! form's action, then follows redirects until the flow reaches the client's
//! redirect URI or stops on a page. A [`Profile`] adds what one IdP needs
//! beyond that (node-oidc-provider's consent form, LemonLDAP::NG's error
//! codes); the generic driver stays the fallback.

use scraper::{Html, Selector};
use url::Url;

use crate::http::{Followed, HttpClient, HttpError, Request, Response, preview};

/// Errors driving a login page.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoginError {
    /// HTTP failed.
    #[error(transparent)]
    Http(#[from] HttpError),
    /// The page has no form with a password input.
    #[error("no login form (a form with a password input) on {url}: HTTP {status}, {text}")]
    NoForm {
        /// Page URL (redacted).
        url: String,
        /// Page status.
        status: u16,
        /// Start of the page text.
        text: String,
    },
    /// The form's action is not a URL.
    #[error("the login form's action {action:?} is not a URL")]
    BadAction {
        /// The action attribute.
        action: String,
    },
    /// More forms than a login takes.
    #[error("the login did not finish after {0} form submissions")]
    TooManyForms(usize),
}

/// A login form found on a page.
#[derive(Debug, Clone)]
pub struct LoginForm {
    /// Absolute URL to submit to.
    pub action: Url,
    /// `get` or `post`.
    pub method: String,
    /// Fields with their current values (hidden fields, defaults).
    pub fields: Vec<(String, String)>,
    /// Name of the username input.
    pub username_field: Option<String>,
    /// Name of the password input.
    pub password_field: String,
    /// Names of the hidden inputs.
    pub hidden: Vec<String>,
}

/// Hidden-field names that look like an anti-CSRF token.
const CSRF_HINTS: &[&str] = &["csrf", "xsrf", "token", "authenticity", "nonce"];

impl LoginForm {
    /// The fields to submit with the given credentials.
    #[must_use]
    pub fn fill(&self, username: &str, password: &str) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = self
            .fields
            .iter()
            .filter(|(k, _)| Some(k) != self.username_field.as_ref() && *k != self.password_field)
            .cloned()
            .collect();
        if let Some(u) = &self.username_field {
            out.push((u.clone(), username.to_owned()));
        }
        out.push((self.password_field.clone(), password.to_owned()));
        out
    }

    /// The request that submits `fields` as this form would.
    #[must_use]
    pub fn request(&self, fields: Vec<(String, String)>) -> Request {
        if self.method == "post" {
            Request::post_form(self.action.clone(), fields)
        } else {
            let mut u = self.action.clone();
            u.query_pairs_mut().extend_pairs(fields);
            Request::get(u)
        }
    }

    /// The hidden field that carries the anti-CSRF token, by name.
    #[must_use]
    pub fn csrf_field(&self) -> Option<&str> {
        self.hidden
            .iter()
            .find(|h| {
                let l = h.to_ascii_lowercase();
                CSRF_HINTS.iter().any(|hint| l.contains(hint))
            })
            .map(String::as_str)
    }
}

/// Finds the login form on a page.
///
/// # Errors
/// `BadAction` when the action does not resolve; `Ok(None)` when there is
/// no form with a password input.
pub fn find_login_form(html: &str, page: &Url) -> Result<Option<LoginForm>, LoginError> {
    find_form(html, page, None)
}

fn find_form(html: &str, page: &Url, custom: Option<&Selectors>) -> Result<Option<LoginForm>, LoginError> {
    let doc = Html::parse_document(html);
    let forms = custom.map_or_else(|| Selector::parse("form").expect("static selector"), |c| c.form.clone());
    let inputs = Selector::parse("input, select, textarea").expect("static selector");
    for form in doc.select(&forms) {
        // A custom page names its username and password inputs.
        let named = |sel: &Option<Selector>| {
            sel.as_ref().and_then(|s| form.select(s).next()).and_then(|e| e.value().attr("name")).map(str::to_owned)
        };
        let custom_username = custom.and_then(|c| named(&c.username));
        let custom_password = custom.and_then(|c| named(&c.password));
        let mut fields = Vec::new();
        let mut hidden = Vec::new();
        let mut username_field = None;
        let mut password_field = None;
        for input in form.select(&inputs) {
            let el = input.value();
            let Some(name) = el.attr("name") else {
                continue;
            };
            let kind = el.attr("type").unwrap_or("text").to_ascii_lowercase();
            if custom_password.as_deref() == Some(name) {
                if password_field.is_none() {
                    password_field = Some(name.to_owned());
                }
                continue;
            }
            if custom_username.as_deref() == Some(name) {
                username_field = Some(name.to_owned());
                fields.push((name.to_owned(), el.attr("value").unwrap_or("").to_owned()));
                continue;
            }
            match kind.as_str() {
                "password" if custom_password.is_none() => {
                    if password_field.is_none() {
                        password_field = Some(name.to_owned());
                    }
                    continue;
                }
                "hidden" => hidden.push(name.to_owned()),
                "text" | "email" | "tel"
                    if custom_username.is_none() && username_field.is_none() && password_field.is_none() =>
                {
                    username_field = Some(name.to_owned());
                }
                "submit" | "button" | "image" | "reset" | "file" => continue,
                "checkbox" | "radio" if el.attr("checked").is_none() => continue,
                _ => {}
            }
            fields.push((name.to_owned(), el.attr("value").unwrap_or("").to_owned()));
        }
        let Some(password_field) = password_field else {
            continue;
        };
        let raw_action = form.value().attr("action").unwrap_or("").trim();
        let action = if raw_action.is_empty() || raw_action.starts_with('#') {
            page.clone()
        } else {
            page.join(raw_action).map_err(|_| LoginError::BadAction { action: raw_action.to_owned() })?
        };
        let method = form.value().attr("method").unwrap_or("get").to_ascii_lowercase();
        return Ok(Some(LoginForm { action, method, fields, username_field, password_field, hidden }));
    }
    Ok(None)
}

/// Text of the first element that looks like an error message, if any.
#[must_use]
pub fn page_error(html: &str) -> Option<String> {
    let doc = Html::parse_document(html);
    let sel = Selector::parse(
        "#login-error, .error, .alert-error, .alert-danger, #input-error, #input-error-username, .message-error, \
         #kc-error-message, [role=alert]",
    )
    .expect("static selector");
    let text = doc
        .select(&sel)
        .map(|e| e.text().collect::<Vec<_>>().join(" "))
        .map(|t| preview(&t, 160))
        .find(|t| !t.is_empty());
    if text.is_some() {
        return text;
    }
    // LemonLDAP::NG fills its messages in with JavaScript from a code.
    let trmsg = Selector::parse("[trmsg]").expect("static selector");
    doc.select(&trmsg)
        .filter_map(|e| e.value().attr("trmsg"))
        .find(|c| *c != "0")
        .map(|c| format!("LemonLDAP::NG message code {c}{}", llng_message(c)))
}

fn llng_message(code: &str) -> &'static str {
    match code {
        "5" => " (wrong credentials)",
        "24" => " (error)",
        "81" => " (missing or expired form token)",
        _ => "",
    }
}

/// IdP-specific knowledge on top of the generic form driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// Any IdP: submit the form with a password input.
    Generic,
    /// node-oidc-provider: login form, then a consent form (hidden
    /// `prompt=consent`) that is submitted as it is.
    NodeOidcProvider,
    /// LemonLDAP::NG: the `lform` login form (one-time `token`, base64 `url`)
    /// whose errors are `trmsg` codes; the "renew your session" page
    /// (`form#upgrd` with a hidden `confirm`) that comes before a
    /// re-authentication (prompt=login, max_age) is confirmed.
    LemonLdapNg,
    /// Keycloak: the `kc-form-login` form, whose action carries
    /// `session_code`, `execution`, `client_id` and `tab_id`; errors in
    /// `#input-error-username` (keycloak.v2 theme) or `#input-error` (older
    /// themes), error pages in `#kc-error-message`; a consent page (form with
    /// `accept` and `cancel` buttons) is accepted.
    Keycloak,
}

impl Profile {
    /// Every profile's name.
    pub const NAMES: &[&str] = &["generic", "node-oidc-provider", "lemonldap-ng", "keycloak"];
}

/// CSS selectors for a custom login page (a remote profile's `[login]`).
#[derive(Debug, Clone)]
pub struct Selectors {
    /// The login form.
    pub form: Selector,
    /// The username input within it (default: the first text input).
    pub username: Option<Selector>,
    /// The password input within it (default: the first password input).
    pub password: Option<Selector>,
    /// Where the page shows that the login failed.
    pub error: Option<Selector>,
}

impl Selectors {
    /// Parses the selectors.
    ///
    /// # Errors
    /// Which selector is not valid CSS.
    pub fn parse(
        form: &str,
        username: Option<&str>,
        password: Option<&str>,
        error: Option<&str>,
    ) -> Result<Self, String> {
        let one = |what: &str, css: &str| {
            Selector::parse(css).map_err(|e| format!("login.{what} = {css:?} is not a CSS selector: {e}"))
        };
        Ok(Self {
            form: one("form", form)?,
            username: username.map(|c| one("username", c)).transpose()?,
            password: password.map(|c| one("password", c)).transpose()?,
            error: error.map(|c| one("error", c)).transpose()?,
        })
    }
}

/// How a target's login pages are driven: a profile, and for a custom page
/// the selectors that find its parts.
#[derive(Debug, Clone)]
pub struct Driver {
    /// The profile.
    pub profile: Profile,
    /// Selectors of a custom login page.
    pub custom: Option<Selectors>,
}

impl Driver {
    /// A driver for a named profile.
    ///
    /// # Errors
    /// When the name is unknown.
    pub fn named(name: &str) -> Result<Self, String> {
        Ok(Self { profile: name.parse()?, custom: None })
    }

    /// The profile's name, with `+selectors` for a custom page.
    #[must_use]
    pub fn name(&self) -> String {
        let base = match self.profile {
            Profile::Generic => "generic",
            Profile::NodeOidcProvider => "node-oidc-provider",
            Profile::LemonLdapNg => "lemonldap-ng",
            Profile::Keycloak => "keycloak",
        };
        if self.custom.is_some() { format!("{base}+selectors") } else { base.to_owned() }
    }

    /// The login form on a page.
    ///
    /// # Errors
    /// `BadAction` when the action does not resolve.
    pub fn login_form(&self, html: &str, page: &Url) -> Result<Option<LoginForm>, LoginError> {
        find_form(html, page, self.custom.as_ref())
    }

    /// Text of the element that shows a failed login, if any: the custom
    /// error selector first, then the known error elements.
    #[must_use]
    pub fn page_error(&self, html: &str) -> Option<String> {
        if let Some(sel) = self.custom.as_ref().and_then(|c| c.error.as_ref()) {
            let doc = Html::parse_document(html);
            let found =
                doc.select(sel).map(|e| preview(&e.text().collect::<Vec<_>>().join(" "), 160)).find(|t| !t.is_empty());
            if found.is_some() {
                return found;
            }
        }
        if self.profile == Profile::Keycloak {
            // Keycloak writes info and warning messages ("Please
            // re-authenticate") in the same .kc-feedback-text as errors; only
            // the error and danger alerts mean a failed login.
            let doc = Html::parse_document(html);
            let sel = Selector::parse(
                ".pf-m-danger .kc-feedback-text, .pf-m-error .kc-feedback-text, .alert-error .kc-feedback-text",
            )
            .expect("static selector");
            let found =
                doc.select(&sel).map(|e| preview(&e.text().collect::<Vec<_>>().join(" "), 160)).find(|t| !t.is_empty());
            if found.is_some() {
                return found;
            }
        }
        page_error(html)
    }
}

impl std::str::FromStr for Profile {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "generic" => Ok(Self::Generic),
            "node-oidc-provider" => Ok(Self::NodeOidcProvider),
            "lemonldap-ng" => Ok(Self::LemonLdapNg),
            "keycloak" => Ok(Self::Keycloak),
            other => Err(format!("unknown login profile {other:?} (known: {})", Self::NAMES.join(", "))),
        }
    }
}

/// A form with no password input that the profile submits as it is (a
/// consent or confirmation step), if the page has one.
#[must_use]
pub fn consent_form(profile: Profile, html: &str, page: &Url) -> Option<LoginForm> {
    match profile {
        Profile::NodeOidcProvider => {}
        Profile::Keycloak => return keycloak_consent(html, page),
        Profile::LemonLdapNg => return lemonldap_renew(html, page),
        Profile::Generic => return None,
    }
    let doc = Html::parse_document(html);
    let forms = Selector::parse("form").expect("static selector");
    let inputs = Selector::parse("input").expect("static selector");
    for form in doc.select(&forms) {
        let mut fields = Vec::new();
        let mut is_consent = false;
        for input in form.select(&inputs) {
            let el = input.value();
            let Some(name) = el.attr("name") else { continue };
            let kind = el.attr("type").unwrap_or("text").to_ascii_lowercase();
            if kind == "password" {
                return None;
            }
            if kind == "hidden" && name == "prompt" && el.attr("value") == Some("consent") {
                is_consent = true;
            }
            if !matches!(kind.as_str(), "submit" | "button" | "image" | "reset") {
                fields.push((name.to_owned(), el.attr("value").unwrap_or("").to_owned()));
            }
        }
        if is_consent {
            let raw = form.value().attr("action").unwrap_or("").trim();
            let action = if raw.is_empty() { page.clone() } else { page.join(raw).ok()? };
            let method = form.value().attr("method").unwrap_or("get").to_ascii_lowercase();
            return Some(LoginForm {
                action,
                method,
                fields,
                username_field: None,
                password_field: String::new(),
                hidden: Vec::new(),
            });
        }
    }
    None
}

/// LemonLDAP::NG's confirmation before a re-authentication
/// (`upgradesession.tpl`, shown for PE_RENEWSESSION): `form#upgrd` with a
/// hidden `confirm` key, submitted as it is.
fn lemonldap_renew(html: &str, page: &Url) -> Option<LoginForm> {
    let doc = Html::parse_document(html);
    let forms = Selector::parse("form#upgrd").expect("static selector");
    let inputs = Selector::parse("input").expect("static selector");
    let form = doc.select(&forms).next()?;
    let mut fields = Vec::new();
    for input in form.select(&inputs) {
        let el = input.value();
        let Some(name) = el.attr("name") else { continue };
        match el.attr("type").unwrap_or("text").to_ascii_lowercase().as_str() {
            "password" => return None,
            "submit" | "button" | "image" | "reset" => {}
            _ => fields.push((name.to_owned(), el.attr("value").unwrap_or("").to_owned())),
        }
    }
    if !fields.iter().any(|(k, _)| k == "confirm") {
        return None;
    }
    let raw = form.value().attr("action").unwrap_or("").trim();
    let action = if raw.is_empty() { page.clone() } else { page.join(raw).ok()? };
    let method = form.value().attr("method").unwrap_or("get").to_ascii_lowercase();
    Some(LoginForm { action, method, fields, username_field: None, password_field: String::new(), hidden: Vec::new() })
}

/// Keycloak's consent page: a form with an `accept` submit button (and a
/// `cancel` one) and a hidden `code`. Keycloak reads the button's name, so
/// `accept` is sent with the form's fields.
fn keycloak_consent(html: &str, page: &Url) -> Option<LoginForm> {
    let doc = Html::parse_document(html);
    let forms = Selector::parse("form").expect("static selector");
    let inputs = Selector::parse("input").expect("static selector");
    for form in doc.select(&forms) {
        let mut fields = Vec::new();
        let mut accept = None;
        for input in form.select(&inputs) {
            let el = input.value();
            let Some(name) = el.attr("name") else { continue };
            match el.attr("type").unwrap_or("text").to_ascii_lowercase().as_str() {
                "password" => return None,
                "submit" if name == "accept" => accept = Some(el.attr("value").unwrap_or("Yes").to_owned()),
                "submit" | "button" | "image" | "reset" => {}
                _ => fields.push((name.to_owned(), el.attr("value").unwrap_or("").to_owned())),
            }
        }
        let Some(accept) = accept else { continue };
        if !fields.iter().any(|(k, _)| k == "code") {
            continue;
        }
        fields.push(("accept".to_owned(), accept));
        let raw = form.value().attr("action").unwrap_or("").trim();
        let action = if raw.is_empty() { page.clone() } else { page.join(raw).ok()? };
        let method = form.value().attr("method").unwrap_or("get").to_ascii_lowercase();
        return Some(LoginForm {
            action,
            method,
            fields,
            username_field: None,
            password_field: String::new(),
            hidden: Vec::new(),
        });
    }
    None
}

/// Credentials to log in with.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// Username.
    pub username: String,
    /// Password.
    pub password: crate::secret::Secret,
}

/// What to do to the login form before submitting it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tamper {
    /// Submit it as a browser would.
    None,
    /// Drop the anti-CSRF hidden field and submit without the browser's
    /// cookies, as a cross-site forged POST would arrive.
    ForgedPost,
}

/// How a login flow ended.
#[derive(Debug)]
pub enum Outcome {
    /// The IdP redirected to the client's redirect URI.
    Redirected {
        /// The redirect URI with the authorization response.
        url: Url,
        /// Whether credentials were submitted on the way (false: the IdP
        /// answered from its session, without a login page).
        submitted: bool,
        /// Forms the user had to fill or confirm on the way (login, consent,
        /// a confirmation); 0 when the IdP showed no user interface.
        forms: usize,
    },
    /// The flow stopped on a page that is not a redirect.
    Page {
        /// The page.
        response: Response,
        /// Whether credentials were submitted on the way.
        submitted: bool,
    },
}

/// Runs an authorization request in a browser-like way: GET the URL, follow
/// redirects, and submit the login form with `creds` when one appears, until
/// a redirect matches `stop` or a page without a login form is reached.
///
/// # Errors
/// On HTTP errors, an unusable form, or more than one form submission.
pub async fn drive(
    http: &HttpClient,
    start: Request,
    creds: &Credentials,
    driver: &Driver,
    tamper: Tamper,
    stop: &(dyn Fn(&Url) -> bool + Sync),
) -> Result<Outcome, LoginError> {
    /// Forms one login may take (login, consent, a confirmation).
    const MAX_FORMS: usize = 4;
    let mut submitted = false;
    let mut forms = 0;
    let mut next = start;
    loop {
        let response = match http.follow(next, stop).await? {
            Followed::Stopped(url) => return Ok(Outcome::Redirected { url, submitted, forms }),
            Followed::Page(r) => r,
        };
        let is_html = response.header("content-type").is_none_or(|c| c.contains("html"));
        let text = if is_html { response.text() } else { String::new() };
        let login_form = if is_html { driver.login_form(&text, &response.url)? } else { None };
        let form = match login_form {
            // The IdP showed the login form again: the login was refused.
            Some(_) if submitted => return Ok(Outcome::Page { response, submitted }),
            Some(form) => form,
            None => match consent_form(driver.profile, &text, &response.url) {
                // A consent step comes after a login, or straight away when
                // the browser already has a session.
                Some(consent) => {
                    forms += 1;
                    if forms > MAX_FORMS {
                        return Err(LoginError::TooManyForms(MAX_FORMS));
                    }
                    next = consent.request(consent.fields.clone());
                    continue;
                }
                _ => return Ok(Outcome::Page { response, submitted }),
            },
        };
        forms += 1;
        let mut fields = form.fill(&creds.username, creds.password.expose());
        http.scrubber().register(creds.password.expose());
        submitted = true;
        if tamper == Tamper::ForgedPost {
            // A forged cross-site POST carries none of the victim's
            // anti-CSRF state: no token field, and (SameSite) no cookies,
            // so it is sent from a fresh, cookie-less client.
            if let Some(csrf) = form.csrf_field() {
                fields.retain(|(k, _)| k != csrf);
            }
            let forged = http.fresh_session()?;
            return Ok(match forged.follow(form.request(fields), stop).await? {
                Followed::Stopped(url) => Outcome::Redirected { url, submitted, forms },
                Followed::Page(response) => Outcome::Page { response, submitted },
            });
        }
        next = form.request(fields);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = r#"<html><body>
      <form id="search" action="/search"><input name="q"></form>
      <form id="kc-form-login" action="/login-actions/authenticate?session_code=a&amp;execution=b" method="POST">
        <input type="hidden" name="csrf_token" value="t0k">
        <input type="hidden" name="request_id" value="r1">
        <input type="text" name="username" value="">
        <input type="password" name="password">
        <input type="checkbox" name="rememberMe">
        <input type="submit" name="login" value="Sign in">
      </form></body></html>"#;

    #[test]
    fn lemonldap_ng_renew_confirmation_is_submitted_as_it_is() {
        // Written from LemonLDAP::NG 2.16's bootstrap/upgradesession.tpl.
        let html = r#"<div id="errorcontent" class="container">
          <div class="message message-positive alert"><span trspan="renewSession"></span></div>
          <form id="upgrd" action="/renewsession" method="post" class="password" role="form">
            <input type="hidden" name="confirm" value="k3y">
            <input type="hidden" id="forceUpgrade" name="forceUpgrade" value="" />
            <input type="hidden" name="url" value="aHR0cA==">
            <div class="buttons"><button type="submit" class="btn btn-success">Renew</button></div>
          </form></div>"#;
        let page = Url::parse("http://127.0.0.1:1/oauth2/authorize?x=1").unwrap();
        let form = consent_form(Profile::LemonLdapNg, html, &page).unwrap();
        assert_eq!(form.action.as_str(), "http://127.0.0.1:1/renewsession");
        assert_eq!(form.method, "post");
        assert_eq!(
            form.fields,
            [
                ("confirm".to_owned(), "k3y".to_owned()),
                ("forceUpgrade".to_owned(), String::new()),
                ("url".to_owned(), "aHR0cA==".to_owned())
            ]
        );
        assert!(consent_form(Profile::Generic, html, &page).is_none(), "only the LemonLDAP::NG profile knows it");
    }

    #[test]
    fn finds_the_password_form_and_resolves_the_action() {
        let page = Url::parse("https://idp.test/realms/r/auth?x=1").unwrap();
        let f = find_login_form(PAGE, &page).unwrap().unwrap();
        assert_eq!(f.action.as_str(), "https://idp.test/login-actions/authenticate?session_code=a&execution=b");
        assert_eq!(f.method, "post");
        assert_eq!(f.username_field.as_deref(), Some("username"));
        assert_eq!(f.password_field, "password");
        assert_eq!(f.csrf_field(), Some("csrf_token"));
        let filled = f.fill("alice", "pw");
        assert!(filled.contains(&("request_id".into(), "r1".into())));
        assert!(filled.contains(&("username".into(), "alice".into())));
        assert!(!filled.iter().any(|(k, _)| k == "rememberMe" || k == "login"));
    }

    #[test]
    fn hash_action_posts_back_to_the_page() {
        let page = Url::parse("https://idp.test/oauth2/authorize?a=b").unwrap();
        let html = r##"<form id="lform" action="#" method="post"><input name="user"><input type="password" name="password"></form>"##;
        let f = find_login_form(html, &page).unwrap().unwrap();
        assert_eq!(f.action, page);
        assert_eq!(f.username_field.as_deref(), Some("user"));
    }

    #[test]
    fn lemonldap_ng_error_codes_are_read() {
        let html = r#"<div class="alert"><span trmsg="0"></span></div><span trmsg="5"></span>"#;
        assert_eq!(page_error(html).as_deref(), Some("LemonLDAP::NG message code 5 (wrong credentials)"));
    }

    #[test]
    fn node_oidc_provider_consent_form_is_found_only_for_its_profile() {
        let page = Url::parse("http://127.0.0.1:3000/interaction/abc").unwrap();
        let html = r#"<form autocomplete="off" action="/interaction/abc/confirm" method="post">
            <input type="hidden" name="prompt" value="consent"/><button autofocus type="submit">Continue</button></form>"#;
        let f = consent_form(Profile::NodeOidcProvider, html, &page).unwrap();
        assert_eq!(f.action.as_str(), "http://127.0.0.1:3000/interaction/abc/confirm");
        assert_eq!(f.fields, vec![("prompt".to_owned(), "consent".to_owned())]);
        assert!(consent_form(Profile::Generic, html, &page).is_none());
        let login = r#"<form action="/x" method="post"><input type="hidden" name="prompt" value="consent"><input type="password" name="p"></form>"#;
        assert!(consent_form(Profile::NodeOidcProvider, login, &page).is_none());
        assert!("okta".parse::<Profile>().is_err());
    }

    #[test]
    fn no_password_form_is_none_and_errors_are_found() {
        let page = Url::parse("https://idp.test/").unwrap();
        assert!(find_login_form("<form><input name=q></form>", &page).unwrap().is_none());
        assert!(find_login_form("<<<not html", &page).unwrap().is_none());
        assert_eq!(page_error(r#"<p id="login-error">Invalid  username</p>"#).as_deref(), Some("Invalid username"));
    }
}

#[cfg(test)]
mod keycloak_tests;
