//! Fixture data shared by every managed identity provider: OAuth clients and
//! users with their claims, loaded from a TOML file.

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Client authentication methods a realm client may register.
const AUTH_METHODS: &[&str] = &["client_secret_basic", "client_secret_post", "none"];

/// ID token signing algorithms a realm client may register.
const SIGNING_ALGS: &[&str] = &["RS256", "ES256"];

/// The claims each standard scope requests (OpenID Connect Core 1.0, 5.4).
pub const SCOPE_CLAIMS: &[(&str, &[&str])] = &[
    (
        "profile",
        &[
            "name",
            "family_name",
            "given_name",
            "middle_name",
            "nickname",
            "preferred_username",
            "profile",
            "picture",
            "website",
            "gender",
            "birthdate",
            "zoneinfo",
            "locale",
            "updated_at",
        ],
    ),
    ("email", &["email", "email_verified"]),
    ("address", &["address"]),
    ("phone", &["phone_number", "phone_number_verified"]),
];

/// The set of clients and users an identity provider is configured with.
#[derive(Debug, Clone, Deserialize)]
pub struct Realm {
    /// Registered OAuth clients.
    pub clients: Vec<Client>,
    /// Users who can sign in.
    pub users: Vec<User>,
}

/// A registered OAuth 2.0 / OpenID Connect client.
#[derive(Clone, Deserialize)]
pub struct Client {
    /// What the harness uses this client for (`confidential`, `public`, ...).
    pub role: String,
    /// The OAuth `client_id`.
    pub client_id: String,
    /// The client secret; absent for public clients.
    #[serde(default)]
    pub client_secret: Option<String>,
    /// Registered redirect URIs, compared by exact string match.
    pub redirect_uris: Vec<String>,
    /// `client_secret_basic`, `client_secret_post` or `none`.
    pub token_endpoint_auth_method: String,
    /// `RS256` (the default) or `ES256`.
    #[serde(default = "default_signing_alg")]
    pub id_token_signed_response_alg: String,
    /// Scopes the client may be granted.
    pub scopes: Vec<String>,
    /// `jwt` for RFC 9068 JWT access tokens, `opaque` for reference tokens
    /// (validated by introspection); absent: the target's default.
    #[serde(default)]
    pub access_token_format: Option<String>,
    /// The resource server the client's access tokens are for (their `aud`).
    #[serde(default)]
    pub audience: Option<String>,
    /// Access token lifetime in seconds; absent: the target's default.
    #[serde(default)]
    pub access_token_lifetime: Option<u64>,
    /// Refresh token lifetime in seconds; absent: the target's default.
    #[serde(default)]
    pub refresh_token_lifetime: Option<u64>,
    /// `native` for an RFC 8252 native app, whose loopback redirect URIs
    /// match on any port (RFC 8252 7.3); absent: a web client.
    #[serde(default)]
    pub application_type: Option<String>,
}

impl Client {
    /// True when the client's access tokens are RFC 9068 JWTs.
    pub fn jwt_access_tokens(&self) -> bool {
        self.access_token_format.as_deref() == Some("jwt")
    }

    /// True for an RFC 8252 native app.
    pub fn is_native(&self) -> bool {
        self.application_type.as_deref() == Some("native")
    }
}

/// A user who can sign in at the identity provider.
#[derive(Clone, Deserialize)]
pub struct User {
    /// Login name.
    pub username: String,
    /// Login password.
    pub password: String,
    /// Subject identifier (`sub`).
    pub sub: String,
    /// Standard claims (name, email, ...) released through userinfo.
    #[serde(default)]
    pub claims: serde_json::Map<String, serde_json::Value>,
    /// The user's `verified_claims` (OpenID Connect for Identity
    /// Assurance), released only on request.
    #[serde(default)]
    pub verified_claims: Option<serde_json::Value>,
    /// The user's gBizID account type (`prime`, `member`, `entry`), for
    /// the gBizID profile checks.
    #[serde(default)]
    pub account_type: Option<String>,
}

fn default_signing_alg() -> String {
    "RS256".to_owned()
}

impl Client {
    /// True when the client authenticates with a secret (not `none`).
    pub fn is_confidential(&self) -> bool {
        self.token_endpoint_auth_method != "none"
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("role", &self.role)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret.as_ref().map(|_| Redacted))
            .field("redirect_uris", &self.redirect_uris)
            .field("token_endpoint_auth_method", &self.token_endpoint_auth_method)
            .field("id_token_signed_response_alg", &self.id_token_signed_response_alg)
            .field("scopes", &self.scopes)
            .field("access_token_format", &self.access_token_format)
            .field("audience", &self.audience)
            .field("access_token_lifetime", &self.access_token_lifetime)
            .field("refresh_token_lifetime", &self.refresh_token_lifetime)
            .field("application_type", &self.application_type)
            .finish()
    }
}

impl fmt::Debug for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("User")
            .field("username", &self.username)
            .field("password", &Redacted)
            .field("sub", &self.sub)
            .field("claims", &self.claims)
            .field("verified_claims", &self.verified_claims.is_some())
            .field("account_type", &self.account_type)
            .finish()
    }
}

/// Stands in for a secret in `Debug` output.
struct Redacted;

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Why a realm could not be loaded. Each variant names the file (or
/// `<inline realm>` for text passed to [`Realm::from_toml`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RealmError {
    /// The realm file could not be read.
    #[error("{}: cannot read realm file: {source}", path.display())]
    Read {
        /// The file that was read.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The text is not valid TOML or does not match the realm schema.
    #[error("{file}: invalid realm: {source}")]
    Parse {
        /// The file the text came from.
        file: String,
        /// The TOML error.
        source: toml::de::Error,
    },
    /// Two clients share a `client_id`.
    #[error("{file}: duplicate client_id \"{client_id}\"")]
    DuplicateClientId {
        /// The file the realm came from.
        file: String,
        /// The repeated client_id.
        client_id: String,
    },
    /// Two users share a username.
    #[error("{file}: duplicate username \"{username}\"")]
    DuplicateUsername {
        /// The file the realm came from.
        file: String,
        /// The repeated username.
        username: String,
    },
    /// A client with a secret-based authentication method has no secret.
    #[error("{file}: client \"{client_id}\" uses {method} but has no client_secret")]
    MissingSecret {
        /// The file the realm came from.
        file: String,
        /// The client lacking a secret.
        client_id: String,
        /// Its authentication method.
        method: String,
    },
    /// A client has no redirect URI.
    #[error("{file}: client \"{client_id}\" has no redirect_uris")]
    NoRedirectUri {
        /// The file the realm came from.
        file: String,
        /// The client lacking redirect URIs.
        client_id: String,
    },
    /// A client registers an authentication method the IdP does not know.
    #[error(
        "{file}: client \"{client_id}\" has unknown token_endpoint_auth_method \"{method}\" \
         (expected client_secret_basic, client_secret_post or none)"
    )]
    UnknownAuthMethod {
        /// The file the realm came from.
        file: String,
        /// The client.
        client_id: String,
        /// The unknown method.
        method: String,
    },
    /// `include` is not a list of file names, or `users`/`clients` is not
    /// a list.
    #[error("{file}: include must be a list of realm file names relative to it, each with [[users]] or [[clients]]")]
    BadInclude {
        /// The file the realm came from.
        file: String,
    },
    /// A client registers an ID token algorithm other than RS256 or ES256.
    #[error(
        "{file}: client \"{client_id}\" has unsupported id_token_signed_response_alg \"{alg}\" \
         (expected RS256 or ES256)"
    )]
    UnsupportedAlg {
        /// The file the realm came from.
        file: String,
        /// The client.
        client_id: String,
        /// The unsupported algorithm.
        alg: String,
    },
    /// A client setting has a value outside its domain.
    #[error("{file}: client \"{client_id}\": {reason}")]
    Invalid {
        /// The file the realm came from.
        file: String,
        /// The client.
        client_id: String,
        /// What is wrong.
        reason: String,
    },
}

impl Realm {
    /// Parses and validates realm TOML text.
    pub fn from_toml(text: &str) -> Result<Realm, RealmError> {
        Self::parse(text, "<inline realm>")
    }

    /// Reads, parses and validates a realm file and the files its
    /// `include` list names.
    pub fn load(path: &Path) -> Result<Realm, RealmError> {
        let merged = Self::load_value(path)?;
        let file = path.display().to_string();
        let realm: Realm = merged.try_into().map_err(|source| RealmError::Parse { file: file.clone(), source })?;
        realm.validate(&file)?;
        Ok(realm)
    }

    /// A realm file as TOML with its includes merged in: the `users` and
    /// `clients` of every file named in `include` (relative to the realm
    /// file) are appended, and `include` is removed. Process targets get
    /// this document as JSON.
    pub fn load_value(path: &Path) -> Result<toml::Value, RealmError> {
        let read = |p: &Path| -> Result<toml::Table, RealmError> {
            let text =
                std::fs::read_to_string(p).map_err(|source| RealmError::Read { path: p.to_path_buf(), source })?;
            toml::from_str(&text).map_err(|source| RealmError::Parse { file: p.display().to_string(), source })
        };
        let mut root = read(path)?;
        let includes = match root.remove("include") {
            Some(toml::Value::Array(items)) => items,
            Some(_) => return Err(RealmError::BadInclude { file: path.display().to_string() }),
            None => Vec::new(),
        };
        let base = path.parent().unwrap_or(Path::new("."));
        for inc in includes {
            let Some(rel) = inc.as_str() else {
                return Err(RealmError::BadInclude { file: path.display().to_string() });
            };
            let mut extra = read(&base.join(rel))?;
            for key in ["clients", "users"] {
                if let Some(toml::Value::Array(more)) = extra.remove(key) {
                    match root.entry(key).or_insert_with(|| toml::Value::Array(Vec::new())) {
                        toml::Value::Array(list) => list.extend(more),
                        _ => return Err(RealmError::BadInclude { file: path.display().to_string() }),
                    }
                }
            }
        }
        Ok(toml::Value::Table(root))
    }

    /// The first client registered with `role`.
    pub fn client_by_role(&self, role: &str) -> Option<&Client> {
        self.clients.iter().find(|c| c.role == role)
    }

    /// The client registered as `client_id`.
    pub fn client(&self, client_id: &str) -> Option<&Client> {
        self.clients.iter().find(|c| c.client_id == client_id)
    }

    /// The user whose login name is `username`.
    pub fn user(&self, username: &str) -> Option<&User> {
        self.users.iter().find(|u| u.username == username)
    }

    /// The user whose subject identifier is `sub`.
    pub fn user_by_sub(&self, sub: &str) -> Option<&User> {
        self.users.iter().find(|u| u.sub == sub)
    }

    fn parse(text: &str, file: &str) -> Result<Realm, RealmError> {
        let realm: Realm =
            toml::from_str(text).map_err(|source| RealmError::Parse { file: file.to_owned(), source })?;
        realm.validate(file)?;
        Ok(realm)
    }

    fn validate(&self, file: &str) -> Result<(), RealmError> {
        let file = file.to_owned();
        let mut ids = HashSet::new();
        for client in &self.clients {
            if !ids.insert(client.client_id.as_str()) {
                return Err(RealmError::DuplicateClientId { file, client_id: client.client_id.clone() });
            }
            let method = client.token_endpoint_auth_method.as_str();
            if !AUTH_METHODS.contains(&method) {
                return Err(RealmError::UnknownAuthMethod {
                    file,
                    client_id: client.client_id.clone(),
                    method: method.to_owned(),
                });
            }
            if method != "none" && client.client_secret.as_deref().is_none_or(str::is_empty) {
                return Err(RealmError::MissingSecret {
                    file,
                    client_id: client.client_id.clone(),
                    method: method.to_owned(),
                });
            }
            if client.redirect_uris.is_empty() {
                return Err(RealmError::NoRedirectUri { file, client_id: client.client_id.clone() });
            }
            let settings = [
                ("access_token_format", client.access_token_format.as_deref(), &["jwt", "opaque"]),
                ("application_type", client.application_type.as_deref(), &["native", "web"]),
            ];
            let mut reason = settings.iter().find_map(|(name, value, allowed)| {
                value
                    .filter(|v| !allowed.contains(v))
                    .map(|v| format!("{name} \"{v}\" is not {}", allowed.join(" or ")))
            });
            if client.access_token_lifetime == Some(0) || client.refresh_token_lifetime == Some(0) {
                reason = reason.or_else(|| Some("token lifetimes must be at least 1 second".into()));
            }
            if let Some(reason) = reason {
                return Err(RealmError::Invalid { file, client_id: client.client_id.clone(), reason });
            }
            if !SIGNING_ALGS.contains(&client.id_token_signed_response_alg.as_str()) {
                return Err(RealmError::UnsupportedAlg {
                    file,
                    client_id: client.client_id.clone(),
                    alg: client.id_token_signed_response_alg.clone(),
                });
            }
        }
        let mut names = HashSet::new();
        for user in &self.users {
            if !names.insert(user.username.as_str()) {
                return Err(RealmError::DuplicateUsername { file, username: user.username.clone() });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/realm.toml");

    fn client_toml(id: &str, method: &str, secret: Option<&str>, uris: &str) -> String {
        let secret = secret.map(|s| format!("client_secret = \"{s}\"\n")).unwrap_or_default();
        format!(
            "[[clients]]\nrole = \"r\"\nclient_id = \"{id}\"\n{secret}\
             redirect_uris = {uris}\ntoken_endpoint_auth_method = \"{method}\"\n\
             scopes = [\"openid\"]\n"
        )
    }

    #[test]
    fn loads_fixture() {
        let realm = Realm::load(Path::new(FIXTURE)).unwrap();
        let confidential = realm.client_by_role("confidential").unwrap();
        assert_eq!(confidential.token_endpoint_auth_method, "client_secret_basic");
        assert_eq!(realm.client("kensa-es256").unwrap().id_token_signed_response_alg, "ES256");
        assert!(realm.client_by_role("public").unwrap().client_secret.is_none());
        let alice = realm.user("alice").unwrap();
        assert_eq!(alice.claims["email"], "alice@example.test");
        assert!(realm.user("nobody").is_none());
        // Users from the included gBizID file.
        assert_eq!(realm.user("gbiz-entry").and_then(|u| u.account_type.as_deref()), Some("entry"));
        assert!(realm.user("gbiz-prime").is_some_and(|u| u.verified_claims.is_some()));
        assert!(realm.user_by_sub(&alice.sub).is_some());
    }

    #[test]
    fn debug_redacts_secrets() {
        let realm = Realm::load(Path::new(FIXTURE)).unwrap();
        let text = format!("{realm:?}");
        for client in &realm.clients {
            if let Some(secret) = &client.client_secret {
                assert!(!text.contains(secret.as_str()));
            }
        }
        for user in &realm.users {
            assert!(!text.contains(user.password.as_str()));
        }
        assert!(text.contains("[redacted]"));
    }

    #[test]
    fn default_alg_is_rs256() {
        let text = format!("users = []\n{}", client_toml("a", "none", None, "[\"https://a.test/cb\"]"));
        let realm = Realm::from_toml(&text).unwrap();
        assert_eq!(realm.clients[0].id_token_signed_response_alg, "RS256");
    }

    #[test]
    fn rejects_invalid_realms() {
        let head = "users = []\n";
        let dup = format!(
            "{head}{}{}",
            client_toml("a", "none", None, "[\"https://a.test/cb\"]"),
            client_toml("a", "none", None, "[\"https://a.test/cb\"]")
        );
        assert!(matches!(Realm::from_toml(&dup), Err(RealmError::DuplicateClientId { .. })));
        let no_secret = format!("{head}{}", client_toml("a", "client_secret_post", None, "[\"https://a.test/cb\"]"));
        let err = Realm::from_toml(&no_secret).unwrap_err();
        assert!(matches!(err, RealmError::MissingSecret { .. }));
        assert!(err.to_string().starts_with("<inline realm>: "));
        let no_uri = format!("{head}{}", client_toml("a", "none", None, "[]"));
        assert!(matches!(Realm::from_toml(&no_uri), Err(RealmError::NoRedirectUri { .. })));
        let bad_method = format!("{head}{}", client_toml("a", "private_key_jwt", None, "[\"https://a.test/cb\"]"));
        assert!(matches!(Realm::from_toml(&bad_method), Err(RealmError::UnknownAuthMethod { .. })));
        let users = "clients = []\n[[users]]\nusername = \"u\"\npassword = \"p\"\nsub = \"1\"\n\
                     [[users]]\nusername = \"u\"\npassword = \"q\"\nsub = \"2\"\n";
        assert!(matches!(Realm::from_toml(users), Err(RealmError::DuplicateUsername { .. })));
        assert!(matches!(Realm::from_toml("clients = 3"), Err(RealmError::Parse { .. })));
        let api = |extra: &str| {
            let client = client_toml("a", "none", None, "[\"https://a.test/cb\"]");
            Realm::from_toml(&format!("{head}{client}{extra}\n")).map(|_| ()).map_err(|e| e.to_string())
        };
        assert_eq!(api("access_token_format = \"jwt\"\napplication_type = \"native\""), Ok(()));
        let err = api("access_token_format = \"paseto\"").unwrap_err();
        assert!(err.ends_with("client \"a\": access_token_format \"paseto\" is not jwt or opaque"), "{err}");
        assert!(api("application_type = \"desktop\"").unwrap_err().contains("is not native or web"));
        assert!(api("refresh_token_lifetime = 0").unwrap_err().contains("at least 1 second"));
    }

    #[test]
    fn load_names_the_file() {
        let err = Realm::load(Path::new("/nonexistent/realm.toml")).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/realm.toml"));
    }
}
