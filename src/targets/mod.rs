//! Targets: the IdPs a run can be pointed at.
//!
//! A target starts (or reaches) an IdP and tells the steps what they need:
//! the issuer, the clients by role, the test users, the login profile. Kinds:
//! `embedded` (the reference IdP of `kensa-mocks`, in process) and `process`
//! (a real IdP set up from `fixtures/targets/<name>/` and run as a child
//! process, see [`process`]).

pub mod container;
pub mod expected;
pub mod keycloak;
pub mod process;
pub mod profile;
pub mod starter;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use kensa_mocks::idp::{ExternalAuth, Fault, IdpConfig, Keys, RunningIdp};
use kensa_mocks::realm::{Client, Realm, User};

use crate::secret::Scrubber;

/// Errors starting a target.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TargetError {
    /// No target has that name.
    #[error("unknown target {name:?}; known targets: {known}")]
    Unknown {
        /// The name asked for.
        name: String,
        /// Known names.
        known: String,
    },
    /// A fixture file is missing or invalid.
    #[error("fixture {path}: {reason}")]
    Fixture {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A fault was asked of a target that has no fault switches.
    #[error("--fault works only with the embedded target (the reference IdP), not {target:?}")]
    FaultUnsupported {
        /// The target.
        target: String,
    },
    /// The target's setup failed.
    #[error("target {target:?} could not be set up: {reason}\n{log}")]
    Setup {
        /// The target.
        target: String,
        /// Why.
        reason: String,
        /// The last lines of its setup log.
        log: String,
    },
    /// The target cannot start on this machine.
    #[error("target {target:?} cannot start here: {reason}")]
    Unavailable {
        /// The target.
        target: String,
        /// Why, and what to install.
        reason: String,
    },
    /// The IdP failed to start.
    #[error("target {target:?} failed to start: {reason}")]
    Start {
        /// The target.
        target: String,
        /// Why.
        reason: String,
    },
}

/// The kinds of target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// In process, zero setup.
    Embedded,
    /// A real IdP as a managed child process.
    Process,
    /// A real IdP in a container (testcontainers; needs a Docker engine).
    Container,
    /// A deployment kensa reaches but does not start (a profile).
    Remote,
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Embedded => "embedded",
            Self::Process => "process",
            Self::Container => "container",
            Self::Remote => "remote",
        })
    }
}

/// A target kensa knows, and whether it can start here.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Name used with `--target`.
    pub name: String,
    /// Kind.
    pub kind: Kind,
    /// One line about it.
    pub description: String,
    /// Pinned version, if any.
    pub version: Option<String>,
    /// `Ok` when it can start here, else why not and what to do.
    pub availability: Result<(), String>,
    /// Whether its setup has run for the current inputs (process targets).
    pub set_up: Option<bool>,
}

/// The powers of the embedded reference IdP.
pub const EMBEDDED_CAPABILITIES: &[&str] = &[
    "external-auth",
    "external-auth:idp-server",
    "external-auth-chain",
    "external-auth-lockout",
    "claims-parameter",
    "identity-assurance",
    "api-access",
    "saml",
    "saml-rotation",
];

/// Every target and whether it can start here.
#[must_use]
pub fn catalogue(fixtures: &Path) -> Vec<Entry> {
    let realm = fixtures.join("realm.toml");
    let keys = fixtures.join("keys");
    let embedded_ready = if !realm.is_file() {
        Err(format!(
            "{} is missing: --fixtures names a folder with realm.toml and keys/ (drop --fixtures to use the built-in fixtures)",
            realm.display()
        ))
    } else if !keys.is_dir() {
        Err(format!(
            "{} is missing: --fixtures names a folder with realm.toml and keys/ (drop --fixtures to use the built-in fixtures)",
            keys.display()
        ))
    } else {
        Ok(())
    };
    let mut entries = vec![Entry {
        name: "embedded".into(),
        kind: Kind::Embedded,
        description: "the reference IdP of kensa-mocks, in process on 127.0.0.1 (fault switches: kensa faults)".into(),
        version: Some(format!("kensa-mocks {}", env!("CARGO_PKG_VERSION"))),
        availability: embedded_ready,
        set_up: None,
    }];
    let realm = realm_json(fixtures).unwrap_or_default();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(fixtures.join("targets"))
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.join("target.toml").is_file()).collect())
        .unwrap_or_default();
    dirs.sort();
    let mut containers: Vec<PathBuf> = std::fs::read_dir(fixtures.join("targets"))
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.join("container.toml").is_file()).collect())
        .unwrap_or_default();
    containers.sort();
    for dir in containers {
        let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        entries.push(match container::ContainerSpec::load(&dir) {
            Ok(spec) => Entry {
                name,
                kind: Kind::Container,
                description: spec.description.clone(),
                version: Some(format!("{}:{}", spec.image, spec.tag)),
                availability: container::availability(),
                set_up: None,
            },
            Err(e) => Entry {
                name,
                kind: Kind::Container,
                description: "(invalid container.toml)".into(),
                version: None,
                availability: Err(e.to_string()),
                set_up: None,
            },
        });
    }
    for dir in dirs {
        let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        match process::ProcessSpec::load(&dir) {
            Ok(spec) => entries.push(Entry {
                set_up: Some(process::is_set_up(&name, &dir, &spec, &realm)),
                name,
                kind: Kind::Process,
                description: spec.description.clone(),
                version: Some(spec.version.clone()),
                availability: spec.availability(),
            }),
            Err(e) => entries.push(Entry {
                name,
                kind: Kind::Process,
                description: "(invalid target.toml)".into(),
                version: None,
                availability: Err(e.to_string()),
                set_up: None,
            }),
        }
    }
    entries[1..].sort_by(|a, b| a.name.cmp(&b.name));
    entries
}

/// What a started target tells the steps.
#[derive(Debug)]
pub struct TargetInfo {
    /// Target name.
    pub name: String,
    /// The issuer identifier.
    pub issuer: String,
    /// Clients and users.
    pub realm: Realm,
    /// The user scenarios log in as.
    pub default_user: String,
    /// The fault the IdP was started with, if any.
    pub fault: Option<Fault>,
    /// Kind.
    pub kind: Kind,
    /// Pinned version, recorded in reports.
    pub version: Option<String>,
    /// The login driver for its pages.
    pub login: crate::login::Driver,
    /// Process id of a process target.
    pub pid: Option<u32>,
    /// Powers the target has, for scenarios' `@needs:` tags.
    pub capabilities: Vec<String>,
    /// How it is reached: timeouts, extra trust anchors.
    pub http: crate::http::Settings,
    /// Admin powers (Keycloak's admin REST API), if the target grants them.
    pub admin: Option<keycloak::Admin>,
    /// The SAML IdP side, if the target has one.
    pub saml: Option<SamlSide>,
    /// The clock the target reads, when kensa can move it (the embedded
    /// reference IdP): steps that wait for a token to expire move it
    /// instead. Other targets keep real time and real waits.
    pub clock: Option<kensa_mocks::time::Clock>,
}

/// Where a target's SAML IdP publishes metadata and starts SSO to AWS.
#[derive(Debug, Clone)]
pub struct SamlSide {
    /// The IdP's metadata URL.
    pub metadata_url: String,
    /// The IdP-initiated SSO URL for AWS (`urn:amazon:webservices`).
    pub sso_url: String,
    /// How kensa rotates its signing key, if it can.
    pub rotate: Option<Rotate>,
}

impl Rotate {
    /// Rotates to the next key (`restore`: back to the first one).
    ///
    /// # Errors
    /// When the IdP or the command refuses, with its answer.
    pub async fn run(&self, http: &crate::http::HttpClient, restore: bool) -> anyhow::Result<()> {
        match self {
            Rotate::Post(url) => {
                let mut url = url::Url::parse(url)?;
                if restore {
                    url.query_pairs_mut().append_pair("restore", "1");
                }
                let resp = http.send(crate::http::Request::post_form(url.clone(), Vec::new())).await?;
                if resp.status != 200 {
                    anyhow::bail!("rotating the signing key at {url} answered {}", resp.status);
                }
            }
            Rotate::Keycloak { .. } if restore => {}
            Rotate::Keycloak { issuer, admin } => {
                let (_, realm) = keycloak::split_issuer(issuer)?;
                let client = keycloak::AdminClient::sign_in(http, issuer, admin).await?;
                client.rotate_signing_key(&realm).await?;
            }
            Rotate::Command(args) => {
                let out = tokio::process::Command::new(&args[0])
                    .args(&args[1..])
                    .arg(if restore { "restore" } else { "next" })
                    .stdin(std::process::Stdio::null())
                    .output()
                    .await?;
                if !out.status.success() {
                    anyhow::bail!(
                        "{} exited with {}: {}",
                        args.join(" "),
                        out.status,
                        crate::http::preview(&String::from_utf8_lossy(&out.stderr), 400)
                    );
                }
            }
        }
        Ok(())
    }
}

/// How a target's SAML signing key is rotated.
#[derive(Debug, Clone)]
pub enum Rotate {
    /// `POST` to this URL (the reference IdP); `?restore=1` puts the first
    /// key back.
    Post(String),
    /// Run this command (a process target's rotate script), with `next` or
    /// `restore` as its last argument.
    Command(Vec<String>),
    /// Keycloak's admin REST API: a new RSA key provider with a higher
    /// priority takes over the realm of `issuer`. Nothing is restored: the
    /// container goes with the run.
    Keycloak {
        /// The realm's issuer.
        issuer: String,
        /// The admin who may add key providers.
        admin: keycloak::Admin,
    },
}

impl TargetInfo {
    /// Whether the target has what a check needs: a power of its
    /// capabilities, or (`client:ROLE`) a client of that role.
    #[must_use]
    pub fn has(&self, need: &str) -> bool {
        // `scope-claims:SCOPE`: the confidential client may ask for SCOPE and
        // the default user has at least one of its claims to release.
        if let Some(scope) = need.strip_prefix("scope-claims:") {
            let names = kensa_mocks::realm::SCOPE_CLAIMS.iter().find(|(s, _)| *s == scope).map_or(&[][..], |(_, n)| *n);
            let user_has =
                self.realm.user(&self.default_user).is_some_and(|u| names.iter().any(|n| u.claims.contains_key(*n)));
            let client_may =
                self.realm.client_by_role("confidential").is_some_and(|c| c.scopes.iter().any(|s| s == scope));
            return user_has && client_may;
        }
        // `user-claims:N`: the default user declares at least N standard
        // claims a claims request may ask for.
        if let Some(n) = need.strip_prefix("user-claims:") {
            let n: usize = n.parse().unwrap_or(usize::MAX);
            return self
                .realm
                .user(&self.default_user)
                .is_some_and(|u| crate::claims::requestable_claims(&u.claims).len() >= n);
        }
        // `auth-method:METHOD`: a confidential client registered for it.
        if let Some(method) = need.strip_prefix("auth-method:") {
            return self.realm.clients.iter().any(|c| c.token_endpoint_auth_method == method && c.is_confidential());
        }
        // Every target speaks OpenID Connect but a SAML-only one.
        if need == "oidc" {
            return !self.capabilities.iter().any(|c| c == "saml-only");
        }
        match need.strip_prefix("client:") {
            Some(role) => self.realm.client_by_role(role).is_some(),
            None => self.capabilities.iter().any(|c| c == need),
        }
    }

    /// Which of `needs` the target lacks.
    #[must_use]
    pub fn lacking<'a>(&self, needs: &'a [String]) -> Vec<&'a str> {
        needs.iter().map(String::as_str).filter(|n| !self.has(n)).collect()
    }

    /// The client with a role (`confidential`, `public`, `other`, `es256`).
    ///
    /// # Errors
    /// When the target has no such client.
    pub fn client(&self, role: &str) -> Result<&Client, String> {
        self.realm.client_by_role(role).ok_or_else(|| {
            let roles: Vec<&str> = self.realm.clients.iter().map(|c| c.role.as_str()).collect();
            format!("target {:?} has no {role:?} client (it has: {})", self.name, roles.join(", "))
        })
    }

    /// The default user.
    ///
    /// # Errors
    /// When the realm lacks it.
    pub fn user(&self) -> Result<&User, String> {
        self.realm
            .user(&self.default_user)
            .ok_or_else(|| format!("target {:?} has no user {:?}", self.name, self.default_user))
    }
}

/// How to start a target.
#[derive(Debug, Clone)]
pub struct StartOptions {
    /// The fixtures directory.
    pub fixtures: PathBuf,
    /// A fault to start the reference IdP with.
    pub fault: Option<Fault>,
    /// The run's external password API (the router of
    /// `kensa_mocks::external`), for targets that delegate password checks.
    pub external_auth_url: Option<String>,
    /// A fixed loopback port (`kensa serve --port`); none: a free one.
    pub port: Option<u16>,
}

/// A started target; stop it with [`Started::stop`] (dropping also stops it).
pub struct Started {
    /// What the steps need.
    pub info: Arc<TargetInfo>,
    idp: Option<RunningIdp>,
    process: Option<process::RunningProcess>,
    #[cfg(feature = "containers")]
    container: Option<container::RunningContainer>,
}

impl std::fmt::Debug for Started {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Started").field("target", &self.info.name).field("issuer", &self.info.issuer).finish()
    }
}

impl Started {
    /// A remote deployment: nothing to start or stop.
    #[must_use]
    pub fn remote(info: TargetInfo) -> Self {
        Self {
            info: Arc::new(info),
            idp: None,
            process: None,
            #[cfg(feature = "containers")]
            container: None,
        }
    }

    /// If a process target has exited, how, with its last output lines.
    pub fn exited(&mut self, scrubber: &Scrubber) -> Option<String> {
        self.process.as_mut()?.exited(scrubber)
    }

    /// Resolves when a process target exits, with how; never for the
    /// embedded target.
    pub async fn died(&mut self, scrubber: &Scrubber) -> String {
        loop {
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            if let Some(why) = self.exited(scrubber) {
                return why;
            }
        }
    }

    /// Stops the target.
    pub fn stop(mut self) {
        if let Some(idp) = self.idp.take() {
            idp.shutdown();
        }
        if let Some(mut p) = self.process.take() {
            p.stop();
        }
        // Dropping the container removes it.
        #[cfg(feature = "containers")]
        drop(self.container.take());
    }
}

fn read(path: &Path) -> Result<String, TargetError> {
    std::fs::read_to_string(path).map_err(|e| TargetError::Fixture { path: path.to_owned(), reason: e.to_string() })
}

/// The reference IdP's SAML side: signing keys `saml-1` and `saml-2` (the
/// rotation order), the rogue key, and `file-linkage.toml`. Fixtures
/// without `file-linkage.toml` give an IdP without SAML (its checks are
/// then skipped, saying so).
fn embedded_saml(fixtures: &Path) -> Result<Option<kensa_mocks::idp::SamlIdp>, TargetError> {
    if !fixtures.join("file-linkage.toml").is_file() {
        return Ok(None);
    }
    let keys_dir = fixtures.join("keys");
    let fixture = |reason: String| TargetError::Fixture { path: keys_dir.clone(), reason };
    let mut keys = Vec::new();
    for n in 1..=2 {
        let key = read(&keys_dir.join(format!("saml-{n}.pem")))?;
        let cert = read(&keys_dir.join(format!("saml-{n}.crt")))?;
        keys.push(kensa_mocks::idp::SamlKey::from_pem(&key, &cert).map_err(|e| fixture(format!("saml-{n}: {e}")))?);
    }
    let rogue = read(&keys_dir.join("rs256-rogue.pem"))?;
    let path = fixtures.join("file-linkage.toml");
    let linkage =
        kensa_mocks::sts::rules::Linkage::load(&path).map_err(|reason| TargetError::Fixture { path, reason })?;
    kensa_mocks::idp::SamlIdp::new(keys, &rogue, linkage)
        .map(Some)
        .map_err(|e| fixture(format!("rs256-rogue.pem: {e}")))
}

/// Loads the shared realm fixture.
///
/// # Errors
/// When the file is missing or invalid.
pub fn load_realm(fixtures: &Path) -> Result<Realm, TargetError> {
    let path = fixtures.join("realm.toml");
    Realm::load(&path).map_err(|e| TargetError::Fixture { path, reason: e.to_string() })
}

pub(crate) fn register_realm_secrets(realm: &Realm, scrubber: &Scrubber) {
    for c in &realm.clients {
        if let Some(s) = &c.client_secret {
            scrubber.register(s);
        }
    }
    for u in &realm.users {
        scrubber.register(&u.password);
    }
}

/// The realm fixture as JSON, for process targets.
///
/// # Errors
/// When the file is missing or not TOML.
pub fn realm_json(fixtures: &Path) -> Result<String, TargetError> {
    let path = fixtures.join("realm.toml");
    let v = Realm::load_value(&path).map_err(|e| TargetError::Fixture { path: path.clone(), reason: e.to_string() })?;
    serde_json::to_string(&v).map_err(|e| TargetError::Fixture { path, reason: e.to_string() })
}

/// Sets up a process target ahead of a run; returns its installed version.
///
/// # Errors
/// When the name is not a process target, it is unavailable here, or its
/// setup fails.
pub async fn setup(name: &str, fixtures: &Path, scrubber: &Scrubber) -> Result<String, TargetError> {
    let dir = fixtures.join("targets").join(name);
    if !dir.join("target.toml").is_file() {
        return Err(TargetError::Unknown {
            name: name.into(),
            known: catalogue(fixtures)
                .into_iter()
                .filter(|e| e.kind == Kind::Process)
                .map(|e| e.name)
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    let dir = dir.canonicalize().map_err(|e| TargetError::Fixture { path: dir.clone(), reason: e.to_string() })?;
    let spec = process::ProcessSpec::load(&dir)?;
    spec.availability().map_err(|reason| TargetError::Unavailable { target: name.into(), reason })?;
    let realm_json = realm_json(fixtures)?;
    let _turn = if spec.exclusive { Some(process::take_turn(name).await?) } else { None };
    process::ensure_setup(name, &dir, &spec, &realm_json, scrubber).await?;
    Ok(process::installed_version(&spec).await.unwrap_or(spec.version))
}

/// Starts the named target and registers its secrets with `scrubber`.
///
/// # Errors
/// Unknown name, bad fixtures, a fault for a target without switches, or a
/// failed start.
pub async fn start(name: &str, opts: &StartOptions, scrubber: &Scrubber) -> Result<Started, TargetError> {
    if name != "embedded" && opts.fault.is_some() {
        return Err(TargetError::FaultUnsupported { target: name.into() });
    }
    match name {
        "embedded" => {
            let realm = load_realm(&opts.fixtures)?;
            register_realm_secrets(&realm, scrubber);
            let keys_dir = opts.fixtures.join("keys");
            let keys = Keys::from_pem(
                &read(&keys_dir.join("rs256.pem"))?,
                &read(&keys_dir.join("es256.pem"))?,
                &read(&keys_dir.join("rs256-rogue.pem"))?,
            )
            .map_err(|e| TargetError::Fixture { path: keys_dir.clone(), reason: e.to_string() })?;
            let mut config = IdpConfig::new(realm.clone(), keys)
                .with_fault(opts.fault)
                .with_external(opts.external_auth_url.as_deref().map(ExternalAuth::new));
            config.port = opts.port.unwrap_or(0);
            config.saml = embedded_saml(&opts.fixtures)?;
            let clock = kensa_mocks::time::Clock::new();
            config.clock = clock.clone();
            let has_saml = config.saml.is_some();
            let idp = RunningIdp::start(config)
                .await
                .map_err(|e| TargetError::Start { target: name.into(), reason: e.to_string() })?;
            let info = TargetInfo {
                name: name.into(),
                issuer: idp.issuer().to_owned(),
                realm,
                default_user: "alice".into(),
                fault: opts.fault,
                kind: Kind::Embedded,
                version: Some(format!("kensa-mocks {}", env!("CARGO_PKG_VERSION"))),
                login: crate::login::Driver { profile: crate::login::Profile::Generic, custom: None },
                pid: None,
                capabilities: EMBEDDED_CAPABILITIES
                    .iter()
                    .filter(|c| has_saml || !c.starts_with("saml"))
                    .map(|c| (*c).to_owned())
                    .collect(),
                http: crate::http::Settings::default(),
                admin: None,
                saml: has_saml.then(|| SamlSide {
                    metadata_url: format!("{}/saml/metadata", idp.issuer()),
                    sso_url: format!("{}/saml/sso?sp=urn:amazon:webservices", idp.issuer()),
                    rotate: Some(Rotate::Post(format!("{}/saml/rotate", idp.issuer()))),
                }),
                clock: Some(clock),
            };
            let mut started = Started::remote(info);
            started.idp = Some(idp);
            Ok(started)
        }
        other if opts.fixtures.join("targets").join(other).join("container.toml").is_file() => {
            start_container(other, opts, scrubber).await
        }
        other => {
            let dir = opts.fixtures.join("targets").join(other);
            if !dir.join("target.toml").is_file() {
                return Err(TargetError::Unknown {
                    name: other.into(),
                    known: catalogue(&opts.fixtures).iter().map(|e| e.name.clone()).collect::<Vec<_>>().join(", "),
                });
            }
            let dir =
                dir.canonicalize().map_err(|e| TargetError::Fixture { path: dir.clone(), reason: e.to_string() })?;
            let spec = process::ProcessSpec::load(&dir)?;
            spec.availability().map_err(|reason| TargetError::Unavailable { target: other.into(), reason })?;
            let login = crate::login::Driver::named(&spec.login_profile)
                .map_err(|reason| TargetError::Fixture { path: dir.join("target.toml"), reason })?;
            let realm = load_realm(&opts.fixtures)?;
            register_realm_secrets(&realm, scrubber);
            let realm_json = realm_json(&opts.fixtures)?;
            // A target with one instance folder on the machine: its setup
            // and its run wait for other kensa runs to finish with it.
            let turn = if spec.exclusive { Some(process::take_turn(other).await?) } else { None };
            let cache = process::ensure_setup(other, &dir, &spec, &realm_json, scrubber).await?;
            let version = process::installed_version(&spec).await.unwrap_or_else(|| spec.version.clone());
            let mut running = process::start(other, &dir, &spec, &cache, &realm_json, opts, scrubber).await?;
            running.keep_turn(turn);
            let info = TargetInfo {
                name: other.into(),
                issuer: running.issuer.clone(),
                realm,
                default_user: spec.default_user.clone(),
                fault: None,
                kind: Kind::Process,
                version: Some(version),
                login,
                pid: Some(running.pid()),
                capabilities: {
                    let mut c = spec.capabilities.clone();
                    if let Some(saml) = &running.saml {
                        c.push("saml".into());
                        if saml.rotate.is_some() {
                            c.push("saml-rotation".into());
                        }
                    }
                    c
                },
                http: crate::http::Settings::default(),
                admin: None,
                saml: running.saml.clone(),
                clock: None,
            };
            let mut started = Started::remote(info);
            started.process = Some(running);
            Ok(started)
        }
    }
}

/// Starts a container target: checks for a Docker engine first, then
/// starts the container with the realm export copied in and waits for its
/// discovery document.
async fn start_container(name: &str, opts: &StartOptions, scrubber: &Scrubber) -> Result<Started, TargetError> {
    let dir = opts.fixtures.join("targets").join(name);
    let spec = container::ContainerSpec::load(&dir)?;
    container::availability().map_err(|reason| TargetError::Unavailable { target: name.into(), reason })?;
    let login = crate::login::Driver::named(&spec.login_profile)
        .map_err(|reason| TargetError::Fixture { path: dir.join("container.toml"), reason })?;
    let export_path = dir.join(&spec.realm_file);
    let export: serde_json::Value = serde_json::from_str(&read(&export_path)?)
        .map_err(|e| TargetError::Fixture { path: export_path.clone(), reason: e.to_string() })?;
    let realm = container::served_realm(&load_realm(&opts.fixtures)?, &export)
        .map_err(|reason| TargetError::Fixture { path: export_path, reason })?;
    register_realm_secrets(&realm, scrubber);
    let admin_password = crate::oidc::random_token(24);
    scrubber.register(&admin_password);
    let mut plan = spec.plan(&dir, &admin_password)?;
    plan.host_port = opts.port;
    #[cfg(feature = "containers")]
    {
        let running = container::start(name, &plan, &spec.issuer, scrubber).await?;
        let admin = spec.admin_username.as_ref().map(|username| keycloak::Admin {
            realm: "master".into(),
            client_id: "admin-cli".into(),
            username: username.clone(),
            password: crate::secret::Secret::new(&admin_password),
        });
        let mut capabilities = spec.capabilities.clone();
        if admin.is_some() {
            capabilities.push("admin:keycloak".into());
        }
        let saml = spec.saml.as_ref().map(|s| SamlSide {
            metadata_url: s.metadata.replace("{issuer}", &running.issuer),
            sso_url: s.sso.replace("{issuer}", &running.issuer),
            rotate: admin.clone().map(|admin| Rotate::Keycloak { issuer: running.issuer.clone(), admin }),
        });
        if let Some(s) = &saml {
            capabilities.push("saml".into());
            if s.rotate.is_some() {
                capabilities.push("saml-rotation".into());
            }
        }
        let info = TargetInfo {
            name: name.into(),
            issuer: running.issuer.clone(),
            realm,
            default_user: spec.default_user.clone(),
            fault: None,
            kind: Kind::Container,
            version: Some(format!("{}:{}", spec.image, spec.tag)),
            login,
            pid: None,
            capabilities,
            http: crate::http::Settings::default(),
            admin,
            saml,
            clock: None,
        };
        let mut started = Started::remote(info);
        started.container = Some(running);
        Ok(started)
    }
    #[cfg(not(feature = "containers"))]
    {
        let _ = (plan, login, realm);
        Err(TargetError::Unavailable { target: name.into(), reason: "built without the containers feature".into() })
    }
}
