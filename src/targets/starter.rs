//! `kensa init`: a starter profile for a deployment, in the user's folder.
//!
//! It reads the deployment's discovery document (when an issuer is given)
//! to fill in what it can: the issuer as the deployment names it, the login
//! page kind (guessed from the discovery document's shape and the page the
//! authorization endpoint shows), the powers it advertises, and a client
//! authentication method it supports. What only the deployment's owner
//! knows (test clients, users, their subject identifiers and claims) is left
//! as `CHANGE-ME`, which `kensa profile check` and `kensa run` refuse until
//! it is filled in.

use std::path::{Path, PathBuf};

use crate::http::{HttpClient, Request, Settings};
use crate::oidc::discovery::Discovery;

/// The placeholder a starter profile leaves for what the user must fill in.
pub const PLACEHOLDER: &str = "CHANGE-ME";

/// What the deployment told `kensa init`.
#[derive(Debug, Default)]
pub struct Findings {
    /// The issuer as discovery names it.
    pub issuer: Option<String>,
    /// The login page kind and why.
    pub login: Option<(&'static str, String)>,
    /// Whether discovery advertises the claims parameter.
    pub claims_parameter: bool,
    /// Client authentication methods discovery lists.
    pub auth_methods: Vec<String>,
    /// What went wrong reaching it, if anything.
    pub problem: Option<String>,
}

/// Asks the deployment at `issuer` what a profile needs.
pub async fn explore(issuer: &str) -> Findings {
    let mut f = Findings::default();
    let http = match HttpClient::with_settings(crate::secret::Scrubber::new(), Settings::default(), 1024 * 1024) {
        Ok(h) => h,
        Err(e) => {
            f.problem = Some(format!("cannot build the HTTP client: {e}"));
            return f;
        }
    };
    let d = match Discovery::fetch(&http, issuer).await {
        Ok(d) => d,
        Err(e) => {
            f.problem = Some(format!("its discovery document could not be read: {e}"));
            return f;
        }
    };
    f.issuer = d.str("issuer").map(str::to_owned);
    f.claims_parameter = d.doc.get("claims_parameter_supported").and_then(serde_json::Value::as_bool) == Some(true);
    // Discovery 1.0 3: absent means client_secret_basic only.
    f.auth_methods =
        d.list("token_endpoint_auth_methods_supported").unwrap_or_else(|| vec!["client_secret_basic".to_owned()]);
    // The page the authorization endpoint shows without a client: most OPs
    // answer with an error page in their own style.
    let page = match d.endpoint("authorization_endpoint") {
        Ok(url) => http.send(Request::get(url)).await.map(|r| String::from_utf8_lossy(&r.body).to_lowercase()).ok(),
        Err(_) => None,
    };
    f.login = Some(guess_login(&d, page.as_deref()));
    f
}

/// The login driver that fits, and why: the page's own marks first, then
/// the endpoint layout each product uses by default.
fn guess_login(d: &Discovery, page: Option<&str>) -> (&'static str, String) {
    let page = page.unwrap_or("");
    if page.contains("keycloak") || page.contains("kc-form-login") {
        return ("keycloak", "its authorization endpoint shows a Keycloak page".into());
    }
    if page.contains("lemonldap") || page.contains("llng") {
        return ("lemonldap-ng", "its authorization endpoint shows a LemonLDAP::NG page".into());
    }
    if page.contains("oops! something went wrong") {
        return ("node-oidc-provider", "its authorization endpoint shows node-oidc-provider's error page".into());
    }
    let path = |m: &str| d.endpoint(m).map(|u| u.path().to_owned()).unwrap_or_default();
    let issuer = d.str("issuer").unwrap_or("");
    if issuer.contains("/realms/") && path("authorization_endpoint").ends_with("/protocol/openid-connect/auth") {
        return ("keycloak", "its endpoints have Keycloak's /realms/NAME/protocol/openid-connect/ layout".into());
    }
    if path("authorization_endpoint").ends_with("/oauth2/authorize") && path("jwks_uri").ends_with("/oauth2/jwks") {
        return ("lemonldap-ng", "its endpoints have LemonLDAP::NG's /oauth2/ layout".into());
    }
    if path("authorization_endpoint").ends_with("/auth") && path("jwks_uri").ends_with("/jwks") {
        return (
            "node-oidc-provider",
            "its endpoints have node-oidc-provider's default /auth, /token, /jwks layout".into(),
        );
    }
    ("generic", "no known product recognised: the generic driver fills the page's first form".into())
}

/// What `kensa init` will write, checked before anything is fetched.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The profile's name.
    pub name: String,
    /// The profile file.
    pub profile: PathBuf,
    /// Its known-deviations file.
    pub expected: PathBuf,
}

/// A profile name from an issuer: host, port and path, lowercase, `-`
/// between (`https://sso.acme.example/realms/staging` ->
/// `sso-acme-example-realms-staging`).
#[must_use]
pub fn name_from_issuer(issuer: &url::Url) -> String {
    let port = issuer.port().map(|p| format!("-{p}")).unwrap_or_default();
    let raw = format!("{}{port}{}", issuer.host_str().unwrap_or("idp"), issuer.path());
    let mut name = String::new();
    for c in raw.chars() {
        if c.is_ascii_alphanumeric() {
            name.push(c.to_ascii_lowercase());
        } else if !name.ends_with('-') {
            name.push('-');
        }
    }
    name.trim_matches('-').to_owned()
}

/// Checks the issuer and the name, and that neither file exists yet.
///
/// # Errors
/// An issuer that is not an http(s) URL, a name with other characters than
/// letters, digits, `-` and `_`, or a file already there (never
/// overwritten).
pub fn plan(issuer: &str, name: Option<&str>, dir: &Path) -> Result<Plan, String> {
    let url = match url::Url::parse(issuer) {
        Ok(u) if matches!(u.scheme(), "https" | "http") => u,
        Ok(u) => return Err(format!("--issuer {issuer}: an issuer is an https URL, not {}:", u.scheme())),
        Err(e) => return Err(format!("--issuer {issuer:?} is not a URL: {e}")),
    };
    let name = name.map_or_else(|| name_from_issuer(&url), str::to_owned);
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return Err(format!("--name {name:?}: letters, digits, - and _ only"));
    }
    // Files in the current folder are named without a leading `./`.
    let dir = if dir == Path::new(".") { Path::new("") } else { dir };
    let plan =
        Plan { profile: dir.join(format!("{name}.toml")), expected: dir.join(format!("{name}-expected.toml")), name };
    for p in [&plan.profile, &plan.expected] {
        if p.exists() {
            return Err(format!(
                "{} exists and kensa init never overwrites: move it away or choose another --name",
                p.display()
            ));
        }
    }
    Ok(plan)
}

/// Writes the profile and its expected.toml as `plan` says and returns
/// what to tell the user: what was written and found, and the next three
/// commands.
///
/// # Errors
/// A file that cannot be created (or appeared meanwhile).
pub fn write(plan: &Plan, issuer: &str, found: &Findings) -> Result<Vec<String>, String> {
    let expected_name = plan.expected.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let text = profile_text(&plan.name, issuer, found, &expected_name);
    let create = |path: &Path, text: &str| -> Result<(), String> {
        use std::io::Write as _;
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .and_then(|mut f| f.write_all(text.as_bytes()))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))
    };
    create(&plan.profile, &text)?;
    create(&plan.expected, EXPECTED_TEXT)?;
    let (profile, expected) = (plan.profile.display(), plan.expected.display());
    let mut lines = vec![format!("wrote {profile} (the profile) and {expected} (known deviations, none yet)")];
    match (&found.problem, &found.login) {
        (Some(problem), _) => lines.push(format!(
            "warning: {issuer} was not reached ({problem}); the profile has the issuer you gave and the generic login driver"
        )),
        (None, Some((login, why))) => lines.push(format!("login page: {login} ({why})")),
        (None, None) => {}
    }
    if let Some(i) = found.issuer.as_deref().filter(|i| *i != issuer) {
        lines.push(format!("note: discovery names the issuer {i}, which the profile uses (you gave {issuer})"));
    }
    let env = env_prefix(&plan.name);
    lines.push("next:".to_owned());
    lines.push(format!(
        "  1. fill in every {PLACEHOLDER} in {profile}: a test client and a test user of the deployment"
    ));
    lines
        .push(format!("  2. export {env}_CLIENT_SECRET=... {env}_PASSWORD=...   then   kensa profile check {profile}"));
    lines.push(format!("  3. kensa run --profile {profile}"));
    Ok(lines)
}

/// An environment variable name from a profile name: `acme-staging` ->
/// `KENSA_ACME_STAGING`.
fn env_prefix(name: &str) -> String {
    let mut out = String::from("KENSA_");
    for c in name.chars() {
        out.push(if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' });
    }
    out
}

/// The starter profile's text.
#[must_use]
pub fn profile_text(name: &str, issuer: &str, found: &Findings, expected: &str) -> String {
    let env = env_prefix(name);
    let issuer = found.issuer.as_deref().unwrap_or(issuer);
    let (login, why) = found.login.clone().unwrap_or(("generic", "the deployment was not reached".into()));
    let capabilities = if found.claims_parameter { "[\"claims-parameter\"]" } else { "[]" };
    let method = ["client_secret_basic", "client_secret_post"]
        .into_iter()
        .find(|m| found.auth_methods.iter().any(|x| x == m))
        .unwrap_or("client_secret_basic");
    let reached = match &found.problem {
        Some(p) => format!("# The deployment was not reached ({p}): check the issuer.\n"),
        None => String::new(),
    };
    format!(
        r#"# A kensa profile for {issuer}, written by `kensa init`.
# Fill in every {PLACEHOLDER}: the test clients and users this deployment has.
# Secrets never go in this file: each *_env key names the environment
# variable that holds one. Every key is described in kensa's README
# ("Your deployment: a profile").
{reached}
name = "{name}"
issuer = "{issuer}"
# {why}.
# Drivers: generic, keycloak, lemonldap-ng, node-oidc-provider; or a [login]
# table of CSS selectors (form, username, password, error) for your page.
login_profile = "{login}"
# Powers the deployment has that some checks need (from its discovery).
capabilities = {capabilities}
# Known deviations: checks this deployment is known to fail, with the reason.
expected = "{expected}"
# Snapshot baselines are kept in snapshots/{name}/ beside this file. The
# first run has none: its snapshot checks fail and print the command that
# writes them from that run (review them, then commit them with this file).

[timeouts]
request_secs = 10
connect_secs = 5

# A confidential client registered for the authorization code flow, and a
# redirect URI registered for it (kensa stops there, as a browser hands the
# response to the app; nothing needs to listen at it).
[[clients]]
role = "confidential"
client_id = "{PLACEHOLDER}"
client_secret_env = "{env}_CLIENT_SECRET"
redirect_uris = ["{PLACEHOLDER}"]
# How the client authenticates at the token endpoint, as it is registered.
token_endpoint_auth_method = "{method}"

# A test user. sub is the subject identifier the deployment issues for it;
# claims are the claims it has, as the deployment returns them.
[[users]]
username = "{PLACEHOLDER}"
password_env = "{env}_PASSWORD"
sub = "{PLACEHOLDER}"
[users.claims]
email = "{PLACEHOLDER}"
"#
    )
}

/// The starter expected.toml: no deviation yet, and how to add one.
pub const EXPECTED_TEXT: &str = r#"# Checks this deployment is known to fail. A listed check that fails is
# reported as a known deviation and does not fail the run; one that passes
# is reported as stale, so the entry can go. For example:
#
# [[deviation]]
# check = "OIDC-AUTHZ-13"
# reason = "the authorization endpoint accepts GET only"
# spec = "OpenID Connect Core 1.0 3.1.2.1"
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_from_the_issuer_and_files_are_never_overwritten() {
        let u = |s: &str| url::Url::parse(s).unwrap();
        assert_eq!(name_from_issuer(&u("https://sso.acme.example/realms/staging")), "sso-acme-example-realms-staging");
        assert_eq!(name_from_issuer(&u("http://127.0.0.1:9400")), "127-0-0-1-9400");
        let dir = tempfile::tempdir().unwrap();
        assert!(plan("ftp://x", None, dir.path()).unwrap_err().contains("https URL"));
        assert!(plan("https://x", Some("a b"), dir.path()).unwrap_err().contains("letters, digits"));
        let p = plan("https://idp.example", Some("acme"), dir.path()).unwrap();
        let lines = write(&p, "https://idp.example", &Findings::default()).unwrap();
        assert!(lines.iter().any(|l| l.contains("kensa run --profile")), "{lines:?}");
        assert!(plan("https://idp.example", Some("acme"), dir.path()).unwrap_err().contains("never overwrites"));
        assert_eq!(plan("https://x", Some("acme"), Path::new(".")).unwrap().profile, Path::new("acme.toml"));
    }

    #[test]
    fn names_become_variables_and_an_unreached_deployment_is_said() {
        assert_eq!(env_prefix("acme-staging"), "KENSA_ACME_STAGING");
        let found = Findings { problem: Some("connection refused".into()), ..Findings::default() };
        let text = profile_text("acme", "https://idp.example/realms/a", &found, "acme-expected.toml");
        assert!(text.contains("not reached (connection refused)"), "{text}");
        assert!(text.contains("client_secret_env = \"KENSA_ACME_CLIENT_SECRET\""));
        let parsed: toml::Table = toml::from_str(&text).expect("the starter profile is TOML");
        assert_eq!(parsed["issuer"].as_str(), Some("https://idp.example/realms/a"));
    }
}
