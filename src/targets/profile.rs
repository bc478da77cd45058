//! Remote targets: a deployment kensa reaches but does not start, described
//! by a TOML profile (`kensa run --profile PATH`, `kensa profile check PATH`).
//!
//! ```toml
//! name = "acme-staging"                        # default: the file's stem
//! issuer = "https://idp.example.com/realms/acme"
//! login_profile = "keycloak"                   # generic (default), node-oidc-provider, lemonldap-ng, keycloak
//! default_user = "alice"                       # default: the first user
//! capabilities = ["claims-parameter"]          # powers checks may need (@needs: tags)
//! expected = "acme-expected.toml"              # known deviations, relative to this file
//! snapshots = "snapshots/acme"                 # baselines, relative to this file
//!
//! [login]                                      # a custom login page
//! form = "form#signin"
//! username = "input[name=login]"
//! password = "input[name=secret]"
//! error = ".flash-error"
//!
//! [tls]
//! ca_file = "corp-ca.pem"                      # trusted besides the system store
//!
//! [timeouts]
//! request_secs = 10
//! connect_secs = 5
//!
//! [saml]                                       # optional: a SAML IdP for AWS ({issuer} = the issuer)
//! metadata = "{issuer}/saml/metadata"
//! sso = "{issuer}/saml/sso?sp=urn:amazon:webservices"
//!
//! [admin]                                      # optional powers: Keycloak's admin REST API
//! kind = "keycloak"
//! realm = "master"
//! client_id = "admin-cli"
//! username = "admin"
//! password_env = "ACME_KC_ADMIN_PASSWORD"
//!
//! [[clients]]
//! role = "confidential"                        # the role checks ask for
//! client_id = "kensa"
//! client_secret_env = "ACME_KENSA_SECRET"      # secrets come only from the environment
//! redirect_uris = ["https://kensa.invalid/callback"]
//!
//! [[users]]
//! username = "alice"
//! password_env = "ACME_ALICE_PASSWORD"
//! sub = "f3b6..."
//! [users.claims]
//! email = "alice@example.com"
//! ```
//!
//! A profile never holds a secret: `client_secret`, `password` or any other
//! secret-named key is refused with the name of the `_env` key to use.

use std::path::{Path, PathBuf};
use std::time::Duration;

use kensa_mocks::realm::Realm;
use serde::Deserialize;

use crate::http::Settings;
use crate::login::{Driver, Selectors};

/// Client keys a profile may set; each maps onto the realm's client.
const CLIENT_KEYS: &[&str] = &[
    "role",
    "client_id",
    "client_secret_env",
    "redirect_uris",
    "token_endpoint_auth_method",
    "id_token_signed_response_alg",
    "scopes",
    "access_token_format",
    "audience",
    "access_token_lifetime",
    "refresh_token_lifetime",
    "application_type",
];

/// User keys a profile may set.
const USER_KEYS: &[&str] = &["username", "password_env", "sub", "claims", "verified_claims", "account_type"];

/// Powers a remote deployment can declare. The external-auth powers need an
/// IdP that kensa configures to call its mock API, so no profile has them.
pub const REMOTE_CAPABILITIES: &[&str] = &["claims-parameter", "identity-assurance", "api-access", "saml-only"];

/// Scopes a profile client gets when it lists none.
const DEFAULT_SCOPES: &[&str] = &["openid", "profile", "email", "offline_access"];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    name: Option<String>,
    description: Option<String>,
    issuer: String,
    #[serde(default = "generic")]
    login_profile: String,
    default_user: Option<String>,
    #[serde(default)]
    capabilities: Vec<String>,
    expected: Option<PathBuf>,
    snapshots: Option<PathBuf>,
    login: Option<RawLogin>,
    #[serde(default)]
    tls: RawTls,
    #[serde(default)]
    timeouts: RawTimeouts,
    admin: Option<RawAdmin>,
    #[serde(default)]
    saml: Option<RawSaml>,
    #[serde(default)]
    clients: Vec<toml::Table>,
    #[serde(default)]
    users: Vec<toml::Table>,
}

fn generic() -> String {
    "generic".into()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSaml {
    metadata: String,
    sso: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLogin {
    form: String,
    username: Option<String>,
    password: Option<String>,
    error: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTls {
    ca_file: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTimeouts {
    request_secs: Option<u64>,
    connect_secs: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAdmin {
    kind: String,
    #[serde(default = "master")]
    realm: String,
    #[serde(default = "admin_cli")]
    client_id: String,
    username: String,
    password_env: String,
}

fn master() -> String {
    "master".into()
}
fn admin_cli() -> String {
    "admin-cli".into()
}

use super::keycloak::Admin;

/// A validated profile, secrets read from the environment.
#[derive(Debug)]
pub struct Profile {
    /// The file it came from.
    pub path: PathBuf,
    /// Target name in reports.
    pub name: String,
    /// One line about the deployment.
    pub description: String,
    /// The issuer identifier.
    pub issuer: String,
    /// Clients and users.
    pub realm: Realm,
    /// The user scenarios log in as.
    pub default_user: String,
    /// The login driver.
    pub login: Driver,
    /// Declared powers.
    pub capabilities: Vec<String>,
    /// Known deviations file.
    pub expected: Option<PathBuf>,
    /// Snapshot baselines folder.
    pub snapshots: Option<PathBuf>,
    /// Timeouts and trust anchors.
    pub http: Settings,
    /// Admin powers.
    pub admin: Option<Admin>,
    /// The environment variables the profile read, with what they hold.
    pub env_used: Vec<String>,
    /// The SAML IdP side: metadata and IdP-initiated SSO URLs for AWS, with
    /// `{issuer}` standing for the issuer.
    pub saml: Option<(String, String)>,
}

/// A reason a profile is refused, naming the file and the key.
#[derive(Debug, thiserror::Error)]
#[error("profile {}: {reason}", path.display())]
pub struct ProfileError {
    /// The profile file.
    pub path: PathBuf,
    /// What is wrong and what to do.
    pub reason: String,
}

/// Reads the environment; tests pass their own.
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment.
#[must_use]
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl Profile {
    /// Reads and validates a profile, taking secrets from the process
    /// environment.
    ///
    /// # Errors
    /// Unreadable file, invalid TOML, an unknown key, a literal secret, an
    /// unset environment variable, a missing client or user.
    pub fn load(path: &Path, issuer: Option<&str>) -> Result<Self, ProfileError> {
        Self::load_with(path, issuer, &process_env)
    }

    /// As [`Profile::load`], with `env` as the environment.
    ///
    /// # Errors
    /// As [`Profile::load`].
    pub fn load_with(path: &Path, issuer: Option<&str>, env: Env<'_>) -> Result<Self, ProfileError> {
        let err = |reason: String| ProfileError { path: path.to_owned(), reason };
        let text = std::fs::read_to_string(path).map_err(|e| err(format!("cannot read it: {e}")))?;
        Self::parse(path, &text, issuer, env)
    }

    /// Validates profile text that came from `path`; `issuer`, when given,
    /// replaces the profile's (one profile for staging and production).
    ///
    /// # Errors
    /// As [`Profile::load`].
    pub fn parse(path: &Path, text: &str, issuer: Option<&str>, env: Env<'_>) -> Result<Self, ProfileError> {
        let err = |reason: String| ProfileError { path: path.to_owned(), reason };
        // Literal secrets are refused before anything else: a schema error
        // must never be what a user fixes first and then commits the secret.
        let doc: toml::Table = toml::from_str(text).map_err(|e| err(toml_error(&e, text)))?;
        // `[login]` holds CSS selectors (`password = "input#pw"`), never secrets.
        let mut scanned = doc.clone();
        scanned.remove("login");
        if let Some(at) = literal_secret(&toml::Value::Table(scanned), "") {
            let key = at.rsplit('.').next().unwrap_or(&at);
            let key = key.split('[').next().unwrap_or(key);
            let instead = if matches!(key, "client_secret" | "password") {
                format!("put the value in an environment variable and name it with {key}_env")
            } else {
                "remove it; secrets come only from environment variables named by client_secret_env, \
                 password_env and admin.password_env"
                    .to_owned()
            };
            return Err(err(format!("{at} holds a literal secret; a profile never does: {instead}")));
        }
        if let Some(at) = placeholder(&toml::Value::Table(doc.clone()), "") {
            return Err(err(format!(
                "{at} is still {}: fill in this deployment's value (kensa init leaves these for you)",
                super::starter::PLACEHOLDER
            )));
        }
        let mut raw: Raw = toml::from_str(text).map_err(|e| err(toml_error(&e, text)))?;
        if let Some(i) = issuer {
            i.clone_into(&mut raw.issuer);
        }
        let base = path.parent().unwrap_or(Path::new("."));
        let rel = |p: &Path| if p.is_absolute() { p.to_owned() } else { base.join(p) };

        let issuer =
            url::Url::parse(&raw.issuer).map_err(|e| err(format!("issuer {:?} is not a URL: {e}", raw.issuer)))?;
        if !matches!(issuer.scheme(), "https" | "http") || issuer.query().is_some() || issuer.fragment().is_some() {
            return Err(err(format!(
                "issuer {:?} must be an http(s) URL without query or fragment (OpenID Connect Discovery 1.0 2)",
                raw.issuer
            )));
        }
        if issuer.scheme() == "http" && !crate::http::is_loopback(issuer.as_str()) {
            return Err(err(format!(
                "issuer {:?} uses http on a non-loopback host; OpenID Connect requires https (Core 3.1.2.1)",
                raw.issuer
            )));
        }
        let name = raw
            .name
            .clone()
            .or_else(|| path.file_stem().map(|s| s.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "remote".into());
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
            return Err(err(format!("name {name:?}: use letters, digits, '-', '_' or '.' (it names report folders)")));
        }

        let mut env_used = Vec::new();
        let mut from_env = |var: &str, at: &str| -> Result<String, ProfileError> {
            if var.is_empty() || !var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                // The value is not echoed: it may be the secret itself.
                return Err(err(format!("{at} is not an environment variable name (letters, digits and '_')")));
            }
            env_used.push(var.to_owned());
            env(var).ok_or_else(|| err(format!("environment variable {var} (named by {at}) is not set")))
        };

        let mut clients = Vec::new();
        for (i, table) in raw.clients.iter().enumerate() {
            let at = format!("clients[{i}]");
            let mut t = table.clone();
            if let Some(k) = t.keys().find(|k| !CLIENT_KEYS.contains(&k.as_str())) {
                return Err(err(format!("{at}: unknown key {k:?} (known: {})", CLIENT_KEYS.join(", "))));
            }
            let method = t.get("token_endpoint_auth_method").and_then(toml::Value::as_str).unwrap_or("");
            if method.starts_with("client_secret") && !t.contains_key("client_secret_env") {
                return Err(err(format!(
                    "{at}: token_endpoint_auth_method = {method:?} needs client_secret_env (the variable that holds \
                     the client secret)"
                )));
            }
            if let Some(var) = t.remove("client_secret_env") {
                let var = var.as_str().ok_or_else(|| err(format!("{at}.client_secret_env must be a string")))?;
                let secret = from_env(var, &format!("{at}.client_secret_env"))?;
                t.insert("client_secret".into(), secret.into());
            }
            if !t.contains_key("token_endpoint_auth_method") {
                let method = if t.contains_key("client_secret") { "client_secret_basic" } else { "none" };
                t.insert("token_endpoint_auth_method".into(), method.into());
            }
            if !t.contains_key("scopes") {
                t.insert(
                    "scopes".into(),
                    toml::Value::Array(DEFAULT_SCOPES.iter().map(|s| toml::Value::from(*s)).collect()),
                );
            }
            clients.push(toml::Value::Table(t));
        }
        let mut users = Vec::new();
        for (i, table) in raw.users.iter().enumerate() {
            let at = format!("users[{i}]");
            let mut t = table.clone();
            if let Some(k) = t.keys().find(|k| !USER_KEYS.contains(&k.as_str())) {
                return Err(err(format!("{at}: unknown key {k:?} (known: {})", USER_KEYS.join(", "))));
            }
            for key in ["username", "sub"] {
                if !t.contains_key(key) {
                    let why = if key == "sub" {
                        " (the subject identifier the IdP issues for this user: ID token checks compare it)"
                    } else {
                        ""
                    };
                    return Err(err(format!("{at}: {key} is missing{why}")));
                }
            }
            let var = t
                .remove("password_env")
                .ok_or_else(|| err(format!("{at}: password_env is missing (the variable that holds the password)")))?;
            let var = var.as_str().ok_or_else(|| err(format!("{at}.password_env must be a string")))?;
            let password = from_env(var, &format!("{at}.password_env"))?;
            t.insert("password".into(), password.into());
            users.push(toml::Value::Table(t));
        }
        let mut realm_doc = toml::Table::new();
        realm_doc.insert("clients".into(), toml::Value::Array(clients));
        realm_doc.insert("users".into(), toml::Value::Array(users));
        let realm_text = toml::to_string(&realm_doc).map_err(|e| err(e.to_string()))?;
        let realm = Realm::from_toml(&realm_text).map_err(|e| err(e.to_string().replace("<inline realm>: ", "")))?;
        let saml_only = raw.capabilities.iter().any(|c| c == "saml-only");
        if realm.client_by_role("confidential").is_none() && !saml_only {
            return Err(err(
                "no client with role = \"confidential\": most checks start from it (add a [[clients]] entry, or \
                 capabilities = [\"saml-only\"] for an IdP without OpenID Connect)"
                    .into(),
            ));
        }
        if saml_only && raw.saml.is_none() {
            return Err(
                err("capabilities has saml-only but there is no [saml] section (metadata and sso URLs)".into()),
            );
        }
        let default_user = match (&raw.default_user, realm.users.first()) {
            (Some(u), _) if realm.user(u).is_some() => u.clone(),
            (Some(u), _) => return Err(err(format!("default_user {u:?} is not among [[users]]"))),
            (None, Some(first)) => first.username.clone(),
            (None, None) => return Err(err("no [[users]]: the login checks need a test user".into())),
        };
        for c in &raw.capabilities {
            if !REMOTE_CAPABILITIES.contains(&c.as_str()) {
                let why = if c.starts_with("external-auth") {
                    " (external-auth checks need an IdP that kensa configures to call its mock API)"
                } else {
                    ""
                };
                return Err(err(format!(
                    "capabilities: {c:?} is not a power a remote deployment can declare{why}; known: {}",
                    REMOTE_CAPABILITIES.join(", ")
                )));
            }
        }
        if raw.capabilities.iter().any(|c| c == "api-access") && realm.client_by_role("resource-server").is_none() {
            return Err(err(
                "capabilities has api-access, which needs a client with role = \"resource-server\" (the API \
                 gateway's credentials for introspection)"
                    .into(),
            ));
        }

        let mut login = Driver::named(&raw.login_profile).map_err(|e| err(format!("login_profile: {e}")))?;
        if let Some(l) = &raw.login {
            login.custom = Some(
                Selectors::parse(&l.form, l.username.as_deref(), l.password.as_deref(), l.error.as_deref())
                    .map_err(err)?,
            );
        }

        let mut http = Settings::default();
        if let Some(secs) = raw.timeouts.request_secs {
            if !(1..=300).contains(&secs) {
                return Err(err(format!("timeouts.request_secs = {secs}: between 1 and 300")));
            }
            http.timeout = Duration::from_secs(secs);
        }
        if let Some(secs) = raw.timeouts.connect_secs {
            if !(1..=60).contains(&secs) {
                return Err(err(format!("timeouts.connect_secs = {secs}: between 1 and 60")));
            }
            http.connect_timeout = Duration::from_secs(secs);
        }
        if let Some(ca) = &raw.tls.ca_file {
            http.add_ca_file(&rel(ca)).map_err(|e| err(format!("tls.ca_file: {e}")))?;
        }

        let admin = match &raw.admin {
            None => None,
            Some(a) if a.kind == "keycloak" => Some(Admin {
                realm: a.realm.clone(),
                client_id: a.client_id.clone(),
                username: a.username.clone(),
                password: crate::secret::Secret::new(&from_env(&a.password_env, "admin.password_env")?),
            }),
            Some(a) => return Err(err(format!("admin.kind = {:?}: only \"keycloak\" is known", a.kind))),
        };
        let expected = raw.expected.as_deref().map(rel);
        if let Some(e) = &expected
            && !e.is_file()
        {
            return Err(err(format!("expected = {}: no such file", e.display())));
        }
        Ok(Self {
            path: path.to_owned(),
            description: raw.description.clone().unwrap_or_else(|| format!("remote deployment at {}", raw.issuer)),
            name,
            issuer: raw.issuer.clone(),
            realm,
            default_user,
            login,
            capabilities: raw.capabilities.clone(),
            expected,
            snapshots: raw.snapshots.as_deref().map(rel),
            http,
            admin,
            env_used,
            saml: raw.saml.as_ref().map(|s| (s.metadata.clone(), s.sso.clone())),
        })
    }

    /// The profile as a started target (a remote one starts nothing).
    #[must_use]
    pub fn target_info(&self) -> super::TargetInfo {
        let mut capabilities = self.capabilities.clone();
        if self.admin.is_some() {
            capabilities.push("admin:keycloak".into());
        }
        if self.saml.is_some() {
            capabilities.push("saml".into());
        }
        super::TargetInfo {
            name: self.name.clone(),
            issuer: self.issuer.clone(),
            realm: self.realm.clone(),
            default_user: self.default_user.clone(),
            fault: None,
            kind: super::Kind::Remote,
            version: None,
            login: self.login.clone(),
            pid: None,
            capabilities,
            http: self.http.clone(),
            admin: self.admin.clone(),
            saml: self.saml.as_ref().map(|(metadata, sso)| super::SamlSide {
                metadata_url: metadata.replace("{issuer}", &self.issuer),
                sso_url: sso.replace("{issuer}", &self.issuer),
                rotate: None,
            }),
            clock: None,
        }
    }

    /// Registers every secret the profile read with `scrubber`.
    pub fn register_secrets(&self, scrubber: &crate::secret::Scrubber) {
        super::register_realm_secrets(&self.realm, scrubber);
        if let Some(a) = &self.admin {
            scrubber.register(a.password.expose());
        }
    }
}

/// The first key under `value` that holds a literal secret, as a dotted
/// path: a secret-named key (`client_secret`, `password`, `token`, ...)
/// that is not an `_env` reference.
fn literal_secret(value: &toml::Value, at: &str) -> Option<String> {
    match value {
        toml::Value::Table(t) => t.iter().find_map(|(k, v)| {
            let here = if at.is_empty() { k.clone() } else { format!("{at}.{k}") };
            if !k.ends_with("_env") && !matches!(v, toml::Value::Table(_) | toml::Value::Array(_)) && is_secret_key(k) {
                return Some(here);
            }
            literal_secret(v, &here)
        }),
        toml::Value::Array(items) => {
            items.iter().enumerate().find_map(|(i, v)| literal_secret(v, &format!("{at}[{i}]")))
        }
        _ => None,
    }
}

/// The first key under `value` still holding `kensa init`'s placeholder.
fn placeholder(value: &toml::Value, at: &str) -> Option<String> {
    match value {
        toml::Value::Table(t) => {
            t.iter().find_map(|(k, v)| placeholder(v, &if at.is_empty() { k.clone() } else { format!("{at}.{k}") }))
        }
        toml::Value::Array(items) => items.iter().enumerate().find_map(|(i, v)| placeholder(v, &format!("{at}[{i}]"))),
        toml::Value::String(s) if s == super::starter::PLACEHOLDER => Some(at.to_owned()),
        _ => None,
    }
}

fn is_secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    crate::secret::is_secret_name(&k) || k.contains("password") || k.contains("secret")
}

/// Line, column and reason of a TOML error. toml's own rendering quotes the
/// source line, which may hold a secret, so only the position is given.
fn toml_error(e: &toml::de::Error, text: &str) -> String {
    let reason = e.message().trim();
    match e.span() {
        Some(span) => {
            let before = text.get(..span.start).unwrap_or(text);
            let line = before.matches('\n').count() + 1;
            let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            format!("line {line}, column {col}: {reason}")
        }
        None => reason.to_owned(),
    }
}

/// What `kensa profile check` found out about a live deployment.
#[derive(Debug, Default)]
pub struct Reachability {
    /// Findings, one line each, `ok:`, `warning:` or `error:` first.
    pub lines: Vec<String>,
    /// Whether any finding is an error.
    pub failed: bool,
}

impl Reachability {
    fn ok(&mut self, line: String) {
        self.lines.push(format!("ok: {line}"));
    }
    fn warn(&mut self, line: String) {
        self.lines.push(format!("warning: {line}"));
    }
    fn error(&mut self, line: String) {
        self.failed = true;
        self.lines.push(format!("error: {line}"));
    }
}

/// Checks that the deployment answers: discovery is reachable and names
/// this issuer, the advertised endpoints the checks use are there, and the
/// admin credentials (if any) obtain a token.
pub async fn check_live(profile: &Profile, scrubber: &crate::secret::Scrubber, sign_in: bool) -> Reachability {
    let mut r = Reachability::default();
    let http = match crate::http::HttpClient::with_settings(
        scrubber.clone(),
        profile.http.clone(),
        crate::http::DEFAULT_MAX_BODY,
    ) {
        Ok(h) => h,
        Err(e) => {
            r.error(format!("cannot build the HTTP client: {e}"));
            return r;
        }
    };
    let discovery = match crate::oidc::discovery::Discovery::fetch(&http, &profile.issuer).await {
        Ok(d) => d,
        Err(e) => {
            r.error(format!("issuer {} is unreachable or its discovery document is unusable: {e}", profile.issuer));
            return r;
        }
    };
    match discovery.str("issuer") {
        Some(i) if i == profile.issuer => r.ok(format!("discovery answers and names issuer {i}")),
        Some(i) => r.error(format!(
            "discovery names issuer {i:?}, the profile says {:?}: they must be identical (Discovery 1.0 4.3)",
            profile.issuer
        )),
        None => r.error("discovery has no issuer".into()),
    }
    for member in ["authorization_endpoint", "token_endpoint", "jwks_uri"] {
        match discovery.endpoint(member) {
            Ok(u) => r.ok(format!("{member} {u}")),
            Err(e) => r.error(format!("{member}: {e}")),
        }
    }
    // Discovery 1.0 3: absent means client_secret_basic only.
    let methods =
        discovery.list("token_endpoint_auth_methods_supported").unwrap_or_else(|| vec!["client_secret_basic".into()]);
    for c in &profile.realm.clients {
        if methods.contains(&c.token_endpoint_auth_method) {
            r.ok(format!("client {} ({}) uses {}", c.role, c.client_id, c.token_endpoint_auth_method));
        } else if c.token_endpoint_auth_method == "none" {
            // Many OPs serve public clients without listing "none".
            r.warn(format!(
                "client {} is public (none), which discovery does not list ({}); the checks will show whether the \
                 token endpoint accepts it",
                c.role,
                methods.join(", ")
            ));
        } else {
            r.error(format!(
                "client {} uses {}, which discovery does not advertise ({})",
                c.role,
                c.token_endpoint_auth_method,
                methods.join(", ")
            ));
        }
    }
    if let Some(admin) = &profile.admin {
        match super::keycloak::AdminClient::sign_in(&http, &profile.issuer, admin).await {
            Ok(_) => r.ok(format!("admin {} signs in to realm {}", admin.username, admin.realm)),
            Err(e) => r.error(format!("admin sign-in failed: {e}")),
        }
    }
    // The login page is where most profiles go wrong: sign the default user
    // in once, as the checks will, and redeem the code.
    if sign_in && let Some(client) = profile.realm.client_by_role("confidential") {
        let user = profile.realm.user(&profile.default_user);
        let creds = user.map(|u| crate::login::Credentials {
            username: u.username.clone(),
            password: crate::secret::Secret::new(&u.password),
        });
        let signed = match &creds {
            Some(creds) => {
                let s = crate::oidc::flow::SignIn {
                    discovery: &discovery,
                    client,
                    creds,
                    driver: &profile.login,
                    http: &profile.http,
                    scope: "openid",
                };
                crate::oidc::flow::sign_in(&s, scrubber).await
            }
            None => Err(anyhow::anyhow!("the profile has no user {}", profile.default_user)),
        };
        match signed {
            Ok(_) => r.ok(format!(
                "{} signs in through the {} login page, and client {} redeems the code",
                profile.default_user,
                profile.login.name(),
                client.client_id
            )),
            Err(e) => {
                r.error(format!("signing {} in failed: {}", profile.default_user, scrubber.scrub(&format!("{e:#}"))))
            }
        }
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
issuer = "https://idp.example.com/realms/acme"
login_profile = "keycloak"
capabilities = ["claims-parameter"]
[timeouts]
request_secs = 7
[[clients]]
role = "confidential"
client_id = "kensa"
client_secret_env = "ACME_SECRET"
redirect_uris = ["https://kensa.invalid/callback"]
[[clients]]
role = "public"
client_id = "kensa-spa"
redirect_uris = ["https://kensa.invalid/spa"]
[[users]]
username = "alice"
password_env = "ACME_ALICE"
sub = "f3b6"
claims = { email = "alice@example.com" }
"#;

    fn env(name: &str) -> Option<String> {
        match name {
            "ACME_SECRET" => Some("s3cret-from-env".into()),
            "ACME_ALICE" => Some("pw-from-env".into()),
            _ => None,
        }
    }

    fn parse(text: &str) -> Result<Profile, String> {
        Profile::parse(Path::new("/p/acme-staging.toml"), text, None, &env).map_err(|e| e.to_string())
    }

    #[test]
    fn a_valid_profile_reads_its_secrets_from_the_environment() {
        let p = parse(GOOD).unwrap();
        assert_eq!(p.name, "acme-staging", "the name defaults to the file stem");
        assert_eq!(p.issuer, "https://idp.example.com/realms/acme");
        let c = p.realm.client_by_role("confidential").unwrap();
        assert_eq!(c.client_secret.as_deref(), Some("s3cret-from-env"));
        assert_eq!(c.token_endpoint_auth_method, "client_secret_basic", "a client with a secret defaults to Basic");
        assert_eq!(p.realm.client_by_role("public").unwrap().token_endpoint_auth_method, "none");
        assert!(c.scopes.iter().any(|s| s == "openid"));
        assert_eq!(p.realm.user("alice").unwrap().password, "pw-from-env");
        assert_eq!(p.default_user, "alice");
        assert_eq!(p.login.name(), "keycloak");
        assert_eq!(p.http.timeout, Duration::from_secs(7));
        assert_eq!(p.env_used, ["ACME_SECRET", "ACME_ALICE"]);
        let info = p.target_info();
        assert_eq!(info.kind, super::super::Kind::Remote);
        assert!(info.has("client:public") && !info.has("client:es256") && info.has("claims-parameter"));
        let staging = Profile::parse(Path::new("p.toml"), GOOD, Some("https://staging.example.com/r"), &env).unwrap();
        assert_eq!(staging.issuer, "https://staging.example.com/r");
    }

    #[test]
    fn a_literal_secret_is_refused_with_the_key_to_use_instead() {
        let text = GOOD.replace("client_secret_env = \"ACME_SECRET\"", "client_secret = \"hunter2\"");
        let err = parse(&text).unwrap_err();
        assert!(err.contains("clients[0].client_secret holds a literal secret"), "{err}");
        assert!(err.contains("client_secret_env"), "{err}");
        assert!(!err.contains("hunter2"), "the error must not repeat the secret: {err}");
        let text = GOOD.replace("password_env = \"ACME_ALICE\"", "password = \"pw\"");
        assert!(parse(&text).unwrap_err().contains("users[0].password holds a literal secret"));
        let text =
            GOOD.replace("[timeouts]", "[admin]\nkind = \"keycloak\"\nusername = \"a\"\npassword = \"x\"\n[timeouts]");
        assert!(parse(&text).unwrap_err().contains("admin.password holds a literal secret"));
    }

    #[test]
    fn schema_errors_name_the_key() {
        let err = parse(&GOOD.replace("login_profile", "login_profil")).unwrap_err();
        assert!(err.contains("login_profil"), "{err}");
        let err = parse(&GOOD.replace("role = \"public\"", "role = \"public\"\nredirect_uri = \"x\"")).unwrap_err();
        assert!(err.contains("clients[1]: unknown key \"redirect_uri\""), "{err}");
        let err = parse(&GOOD.replace("ACME_SECRET", "ACME_UNSET")).unwrap_err();
        assert!(err.contains("environment variable ACME_UNSET (named by clients[0].client_secret_env) is not set"));
        let err = parse(&GOOD.replace("role = \"confidential\"", "role = \"web\"")).unwrap_err();
        assert!(err.contains("no client with role = \"confidential\""), "{err}");
        let err = parse(&format!("default_user = \"carol\"\n{GOOD}")).unwrap_err();
        assert!(err.contains("default_user \"carol\""), "{err}");
        let err = parse(&GOOD.replace("https://idp.example.com", "http://idp.example.com")).unwrap_err();
        assert!(err.contains("https"), "{err}");
        let err = parse(&GOOD.replace("\"claims-parameter\"", "\"external-auth\"")).unwrap_err();
        assert!(err.contains("kensa configures"), "{err}");
        let err = parse(&GOOD.replace("\"claims-parameter\"", "\"api-access\"")).unwrap_err();
        assert!(err.contains("resource-server"), "{err}");
        let err = parse(&GOOD.replace("login_profile = \"keycloak\"", "login_profile = \"okta\"")).unwrap_err();
        assert!(err.contains("unknown login profile \"okta\""), "{err}");
        let err = parse(&format!("{GOOD}\n[login]\nform = \"form[\"\n")).unwrap_err();
        assert!(err.contains("login.form"), "{err}");
        let err = parse(&GOOD.replace("request_secs = 7", "request_secs = 0")).unwrap_err();
        assert!(err.contains("request_secs"), "{err}");
        let err = parse("issuer = [").unwrap_err();
        assert!(err.starts_with("profile /p/acme-staging.toml: line 1, column"), "{err}");
        let err = parse(&GOOD.replace("sub = \"f3b6\"\n", "")).unwrap_err();
        assert!(err.contains("users[0]: sub is missing"), "{err}");
        let err = parse(
            &GOOD.replace("client_secret_env = \"ACME_SECRET\"", "token_endpoint_auth_method = \"client_secret_post\""),
        )
        .unwrap_err();
        assert!(
            err.contains("clients[0]: token_endpoint_auth_method = \"client_secret_post\" needs client_secret_env")
        );
    }

    #[test]
    fn errors_never_repeat_what_the_file_holds() {
        // A syntax error on a line that holds a secret gives its position only.
        let err = parse(&format!("{GOOD}\nnote = \"hunter2\" oops\n")).unwrap_err();
        assert!(err.contains("line ") && !err.contains("hunter2"), "{err}");
        // A secret pasted where a variable name belongs is not echoed.
        let err = parse(&GOOD.replace("\"ACME_SECRET\"", "\"hunter2!\"")).unwrap_err();
        assert!(err.contains("clients[0].client_secret_env is not an environment variable name"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
        // A secret-named key with no _env form says to remove it.
        let err = parse(&GOOD.replace("[timeouts]", "access_token = \"eyJ\"\n[timeouts]")).unwrap_err();
        assert!(err.contains("access_token holds a literal secret") && err.contains("remove it"), "{err}");
        assert!(!err.contains("eyJ") && !err.contains("access_token_env"), "{err}");
    }

    #[test]
    fn login_selectors_may_name_a_password_field() {
        let p = parse(&format!(
            "{GOOD}\n[login]\nform = \"form#signin\"\nusername = \"input[name=login]\"\npassword = \
             \"input[name=pw]\"\n"
        ))
        .unwrap();
        assert!(p.login.custom.is_some());
    }
}
