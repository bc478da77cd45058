//! The per-scenario World and the run context it reads.
//!
//! A run installs one [`RunContext`] (the started target, the scrubber);
//! each scenario gets a fresh [`KensaWorld`] with its own HTTP client and
//! cookie jar. The World's `Debug` shows progress, never secrets.

use std::fmt;
use std::sync::Arc;

use anyhow::{Context as _, anyhow, bail};
use kensa_mocks::realm::Client;
use url::Url;

use crate::http::HttpClient;
use crate::login::{self, Credentials, Outcome, Tamper};
use crate::oidc::authz::{AuthRequest, Callback};
use crate::oidc::discovery::Discovery;
use crate::oidc::jwks::Jwks;
use crate::oidc::jwt::Jwt;
use crate::oidc::token::{self, ClientAuth, EndpointResponse, TokenSet};
use crate::secret::{Scrubber, Secret};
use crate::targets::TargetInfo;

/// What every scenario of a run shares.
#[derive(Debug)]
pub struct RunContext {
    /// The target under test.
    pub target: Arc<TargetInfo>,
    /// The run's scrubber.
    pub scrubber: Scrubber,
    /// The run's external-API router: scenarios register their mock
    /// servers with it.
    pub router: Arc<kensa_mocks::external::Router>,
    /// The target's snapshot baselines.
    pub snapshots: Arc<crate::snapshot::Snapshots>,
    /// The resource API gateway's rules (`fixtures/api/routes.toml`), when
    /// the fixtures have them.
    pub api_rules: Option<Arc<kensa_mocks::api::Rules>>,
    /// The command that blesses this run's snapshots as the baselines.
    pub bless: String,
    /// The AWS side of the file linkage (`fixtures/file-linkage.toml`),
    /// when the fixtures have it.
    pub linkage: Option<Arc<kensa_mocks::sts::rules::Linkage>>,
    /// Where the file-linkage checks find STS and S3.
    pub aws: AwsEndpoints,
}

/// Where the file-linkage checks find STS and S3.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AwsEndpoints {
    /// kensa's STS and storage mocks, started per scenario with the IdP's
    /// metadata registered.
    Mock,
    /// Endpoints kensa does not start (real AWS): the IAM SAML provider
    /// must already hold the IdP's metadata.
    Remote {
        /// The STS endpoint.
        sts: Url,
        /// The S3 endpoint (path-style buckets).
        s3: Url,
    },
}

impl AwsEndpoints {
    /// `mock`, `aws` (the regional endpoints of the linkage's region) or
    /// `sts=URL,s3=URL`.
    ///
    /// # Errors
    /// When the value is none of these, a URL does not parse, or `aws` is
    /// asked without a linkage file naming the region.
    pub fn parse(value: &str, linkage: Option<&kensa_mocks::sts::rules::Linkage>) -> anyhow::Result<Self> {
        match value {
            "mock" => Ok(Self::Mock),
            "aws" => {
                let l = linkage.ok_or_else(|| anyhow!("the real endpoints need a linkage file naming the region"))?;
                Ok(Self::Remote {
                    sts: Url::parse(&format!("https://sts.{}.amazonaws.com/", l.region))?,
                    s3: Url::parse(&format!("https://s3.{}.amazonaws.com/", l.region))?,
                })
            }
            other => {
                let (mut sts, mut s3) = (None, None);
                for part in other.split(',') {
                    match part.split_once('=') {
                        Some(("sts", u)) => sts = Some(Url::parse(u).with_context(|| format!("sts={u}"))?),
                        Some(("s3", u)) => s3 = Some(Url::parse(u).with_context(|| format!("s3={u}"))?),
                        _ => bail!("expected mock, aws, or sts=URL,s3=URL; got {part:?}"),
                    }
                }
                match (sts, s3) {
                    (Some(sts), Some(s3)) => Ok(Self::Remote { sts, s3 }),
                    _ => bail!("both sts=URL and s3=URL are needed"),
                }
            }
        }
    }
}

/// Which scenario a World runs: names its snapshots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioId {
    /// The feature file, relative to the features directory where possible.
    pub feature: String,
    /// Its stem (`id_token` for `features/oidc/id_token.feature`).
    pub stem: String,
    /// The scenario's name.
    pub name: String,
}

impl ScenarioId {
    /// The id of `scenario` in `feature`.
    #[must_use]
    pub fn of(feature: &cucumber::gherkin::Feature, scenario: &cucumber::gherkin::Scenario) -> Self {
        let path = feature.path.clone().unwrap_or_default();
        let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| feature.name.clone());
        let shown = path
            .components()
            .skip_while(|c| c.as_os_str() != "features")
            .collect::<std::path::PathBuf>()
            .display()
            .to_string();
        let feature = if shown.is_empty() { path.display().to_string() } else { shown };
        Self { feature, stem, name: scenario.name.clone() }
    }

    /// The snapshot name for `subject` in this scenario:
    /// `<feature stem>__<scenario slug>__<subject slug>`.
    #[must_use]
    pub fn snapshot_name(&self, subject: &str) -> String {
        use crate::snapshot::slug;
        format!("{}__{}__{}", slug(&self.stem), slug(&self.name), slug(subject))
    }
}

tokio::task_local! {
    /// The context of the run being polled: several runs (one reference IdP
    /// per fault) share a process, each inside its own scope.
    static CONTEXT: Arc<RunContext>;
}

/// Runs `fut` with `ctx` as the context its new Worlds are created with.
pub async fn scope<F: std::future::Future>(ctx: Arc<RunContext>, fut: F) -> F::Output {
    CONTEXT.scope(ctx, fut).await
}

/// A failed check: the message says what was expected, what came back, and
/// which spec sentence that breaks. Its `Display` shows the whole cause chain.
pub struct Failure(anyhow::Error);

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#}", self.0)
    }
}

impl fmt::Debug for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#}", self.0)
    }
}

impl<E: Into<anyhow::Error>> From<E> for Failure {
    fn from(e: E) -> Self {
        Self(e.into())
    }
}

/// What every step returns.
pub type StepResult = Result<(), Failure>;

/// Per-scenario state.
#[derive(cucumber::World)]
#[world(init = Self::new)]
pub struct KensaWorld {
    /// The run context.
    pub ctx: Arc<RunContext>,
    /// This scenario's browser: the cookie jar of the user's session.
    pub http: HttpClient,
    /// The relying party's back channel (no cookies), sharing the browser's
    /// exchange recorder.
    pub api: HttpClient,
    /// The client role in use (`confidential` unless a step chose another).
    pub role: String,
    /// The discovery document, once fetched.
    pub discovery: Option<Discovery>,
    /// The JWKS, once fetched.
    pub jwks: Option<Jwks>,
    /// The last authorization request.
    pub auth: Option<AuthRequest>,
    /// How the last login flow ended.
    pub outcome: Option<Outcome>,
    /// The authorization response, if the flow reached the redirect URI.
    pub callback: Option<Callback>,
    /// The redirect URI that must not be reached (unregistered).
    pub forbidden_redirect: Option<String>,
    /// Every successful token set, in order.
    pub tokens: Vec<TokenSet>,
    /// The last response of a token, revocation, introspection or userinfo
    /// request.
    pub last: Option<EndpointResponse>,
    /// Claim comparisons the steps made, shown side by side in the report.
    pub diffs: Vec<crate::report::ClaimDiff>,
    /// This scenario's external password API, if it uses one.
    pub external: Option<ExternalScenario>,
    /// The scenario this World runs (set before its first step).
    pub scenario: Option<ScenarioId>,
    /// The user who logs in, when a step chose one other than the
    /// target's default user.
    pub username: Option<String>,
    /// The last successful userinfo response.
    pub userinfo: Option<serde_json::Value>,
    /// gBizID users who logged in: username, account type, userinfo.
    pub gbizid: Vec<(String, String, serde_json::Value)>,
    /// This scenario's resource API gateway and the calls made to it.
    pub resource: Option<ApiScenario>,
    /// When the last successful token response arrived, by the scenario's
    /// clock (seconds since the UNIX epoch).
    pub tokens_at: Option<i64>,
    /// Whether the scenario runs alone (`@serial`, or `@moves-clock`
    /// against a target whose clock kensa moves): only such a scenario may
    /// move the target's clock.
    pub serial: bool,
    /// Seconds this scenario moved the target's clock (undone after it).
    pub clock_moved: i64,
    /// Facts a passing check reports without failing (a SHOULD the target
    /// meets late, a token that outlives a logout): shown in every report.
    pub notes: Vec<String>,
    /// Why the scenario could not judge its rule on this target, when a
    /// step found out while it ran ([`KensaWorld::skip`]).
    pub skipped: Option<String>,
    /// Altered redirect URIs the IdP redirected to (the exact-match check).
    pub redirected_to_altered: Vec<String>,
    /// How often the IdP fetched the request object served for request_uri.
    pub request_uri_fetches: usize,
    /// This scenario's SAML sign-in and AWS side (file linkage).
    pub linkage: Option<Box<LinkageScenario>>,
}

/// A scenario's SAML sign-in and its AWS side: the STS and storage mocks
/// (or real AWS), the SAMLResponse, the credentials and the files.
#[derive(Debug, Default)]
pub struct LinkageScenario {
    /// The IdP's metadata as fetched, and as read.
    pub metadata: Option<(String, kensa_mocks::saml::metadata::IdpMetadata)>,
    /// The mocks' clock and the credentials STS issued.
    pub store: std::sync::Arc<kensa_mocks::sts::CredentialStore>,
    /// The STS mock.
    pub sts: Option<kensa_mocks::sts::RunningSts>,
    /// The storage mock.
    pub storage: Option<kensa_mocks::storage::RunningStorage>,
    /// The last SAMLResponse (base64) the IdP posted.
    pub response: Option<String>,
    /// The ID of the AuthnRequest sent for an SP-initiated sign-in.
    pub authn_request: Option<String>,
    /// The last credentials STS granted.
    pub credentials: Option<crate::aws::Credentials>,
    /// The last refusal from STS or storage.
    pub refused: Option<crate::aws::AwsError>,
    /// Files uploaded: key, SHA-256 hex, size.
    pub uploaded: Vec<(String, String, usize)>,
    /// What the consumer's last poll listed.
    pub listed: Vec<(String, u64)>,
    /// Whether the scenario rotated the IdP's signing key (restored after
    /// the scenario where the target allows it).
    pub rotated: bool,
    /// The folder this scenario's objects live under (`kensa-RANDOM/`), so
    /// that scenarios and runs sharing a bucket never see each other's
    /// files.
    pub folder: String,
}

/// A scenario's resource API gateway and what the client did with it.
#[derive(Debug)]
pub struct ApiScenario {
    /// The gateway.
    pub gateway: kensa_mocks::api::ResourceApi,
    /// Every call: path, status, `WWW-Authenticate`, body.
    pub calls: Vec<ApiCall>,
    /// Refresh requests the API client made after a 401, with their HTTP
    /// status and OAuth error.
    pub refreshes: Vec<(u16, Option<String>)>,
}

/// The resource API gateway for `target`: `rules`, the issuer's JWKS, and
/// introspection with the realm's `resource-server` client when the IdP
/// advertises an introspection endpoint.
///
/// # Errors
/// When the `resource-server` client has no secret.
pub fn gateway_config(
    target: &TargetInfo,
    discovery: &Discovery,
    rules: kensa_mocks::api::Rules,
) -> anyhow::Result<kensa_mocks::api::ApiConfig> {
    let introspection = match (discovery.str("introspection_endpoint"), target.realm.client_by_role("resource-server"))
    {
        (Some(endpoint), Some(client)) => Some(kensa_mocks::api::Introspection {
            endpoint: endpoint.to_owned(),
            client_id: client.client_id.clone(),
            client_secret: client
                .client_secret
                .clone()
                .ok_or_else(|| anyhow!("the realm's resource-server client has no client_secret"))?,
        }),
        _ => None,
    };
    Ok(kensa_mocks::api::ApiConfig {
        rules,
        issuer: target.issuer.clone(),
        jwks_uri: discovery.str("jwks_uri").map(str::to_owned),
        introspection,
        // The gateway judges exp by the target's clock, moved with it.
        clock: target.clock.clone().unwrap_or_default(),
    })
}

/// One call to the resource API.
#[derive(Debug, Clone)]
pub struct ApiCall {
    /// The path called.
    pub path: String,
    /// The HTTP status.
    pub status: u16,
    /// The `WWW-Authenticate` header, if any.
    pub challenge: Option<String>,
    /// The JSON body, if it was JSON.
    pub body: serde_json::Value,
}

impl ApiCall {
    /// An auth-param of the `WWW-Authenticate` challenge (RFC 6750 3).
    #[must_use]
    pub fn challenge_param(&self, name: &str) -> Option<String> {
        let challenge = self.challenge.as_deref()?;
        let re = regex::Regex::new(&format!(r#"(?:^|[\s,]){}="([^"]*)""#, regex::escape(name))).ok()?;
        re.captures(challenge).map(|c| c[1].to_owned())
    }
}

/// A scenario's external password API and the user it knows.
#[derive(Debug)]
pub struct ExternalScenario {
    /// The wiremock server.
    pub api: kensa_mocks::external::ExternalApi,
    /// The user.
    pub user: kensa_mocks::external::ExternalUser,
    /// Keys routed to this scenario's server.
    pub routed: Vec<String>,
}

impl fmt::Debug for KensaWorld {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KensaWorld")
            .field("target", &self.ctx.target.name)
            .field("role", &self.role)
            .field("callback", &self.callback.as_ref().map(|c| (c.code.is_some(), c.error.clone())))
            .field("token_sets", &self.tokens.len())
            .field("last_status", &self.last.as_ref().map(EndpointResponse::status))
            .finish_non_exhaustive()
    }
}

impl KensaWorld {
    /// A fresh World for a scenario.
    ///
    /// # Errors
    /// When no run context is installed or the HTTP client cannot be built.
    pub fn new() -> anyhow::Result<Self> {
        let ctx = CONTEXT
            .try_with(Arc::clone)
            .map_err(|_| anyhow!("no target is running: scenarios run only under `kensa run`"))?;
        let http =
            HttpClient::with_settings(ctx.scrubber.clone(), ctx.target.http.clone(), crate::http::DEFAULT_MAX_BODY)?;
        let api = http.back_channel()?;
        Ok(Self {
            ctx,
            http,
            api,
            role: "confidential".into(),
            discovery: None,
            jwks: None,
            auth: None,
            outcome: None,
            callback: None,
            forbidden_redirect: None,
            tokens: Vec::new(),
            last: None,
            diffs: Vec::new(),
            external: None,
            scenario: None,
            username: None,
            userinfo: None,
            gbizid: Vec::new(),
            resource: None,
            tokens_at: None,
            serial: false,
            clock_moved: 0,
            notes: Vec::new(),
            skipped: None,
            redirected_to_altered: Vec::new(),
            request_uri_fetches: 0,
            linkage: None,
        })
    }

    /// Ends the scenario: puts a rotated SAML signing key back, retires the
    /// scenario's external API, and returns what the reports keep of it
    /// (exchanges, claim comparisons, notes, all scrubbed).
    ///
    /// The target's clock goes back by what this scenario moved it: the
    /// scenario ran alone, and later scenarios (or an IdP-initiated SAML
    /// response sent to a real STS) see the real time again.
    pub async fn teardown(&mut self, keep_exchanges: bool) -> crate::report::ScenarioRecord {
        if self.clock_moved != 0
            && let Some(clock) = &self.ctx.target.clock
        {
            clock.advance(-self.clock_moved);
            self.clock_moved = 0;
        }
        // A rotation scenario (run @serial) puts the IdP's first signing
        // key back, so that later scenarios and a fault's effect stay
        // confined to it.
        if self.linkage.as_ref().is_some_and(|l| l.rotated)
            && let Some(rotate) = self.ctx.target.saml.as_ref().and_then(|s| s.rotate.clone())
            && let Err(e) = rotate.run(&self.api, true).await
        {
            self.notes.push(format!("the IdP's first signing key could not be put back: {e:#}"));
        }
        // Forget the external API's expectations (a Then step verified them,
        // or the scenario stopped early) and its routes.
        if let Some(ext) = self.external.take() {
            ext.api.reset().await;
            let keys: Vec<&str> = ext.routed.iter().map(String::as_str).collect();
            self.ctx.router.unroute(&keys);
        }
        crate::report::ScenarioRecord {
            exchanges: if keep_exchanges { self.http.exchanges() } else { Vec::new() },
            diffs: std::mem::take(&mut self.diffs),
            notes: self.notes.iter().map(|n| self.ctx.scrubber.scrub(n)).collect(),
            skipped: self.skipped.take().map(|s| self.ctx.scrubber.scrub(&s)),
        }
    }

    /// Ends the scenario as skipped, with `why`, when what it needs turns
    /// out only while it runs (no channel can observe the rule here; no
    /// baseline yet): the step returns `Ok` after calling this, and a
    /// scenario whose steps all pass is then reported as skipped with the
    /// reason, never as passed. A later failing step still fails it.
    pub fn skip(&mut self, why: impl Into<String>) {
        self.skipped = Some(why.into());
    }

    /// The scenario's clock: the target's when kensa can move it (the
    /// embedded reference IdP), otherwise the real time.
    #[must_use]
    pub fn clock(&self) -> kensa_mocks::time::Clock {
        self.ctx.target.clock.clone().unwrap_or_default()
    }

    /// Seconds since the UNIX epoch by the scenario's clock: what kensa's
    /// own verifier judges `exp`, `iat` and `nbf` against, so that tokens of
    /// a moved clock are judged by the same clock that issued them.
    #[must_use]
    pub fn now(&self) -> i64 {
        self.clock().now_secs()
    }

    /// Lets `secs` seconds pass for the target: moves its clock when kensa
    /// controls it (noted in the report), otherwise really waits.
    ///
    /// # Errors
    /// When the clock would move in a scenario that does not run alone
    /// (`@moves-clock` or `@serial`): scenarios running beside it would see
    /// their tokens jump in age.
    pub async fn pass_time(&mut self, secs: i64) -> anyhow::Result<()> {
        let secs = secs.max(0);
        match &self.ctx.target.clock {
            Some(clock) => {
                if !self.serial {
                    bail!(
                        "this scenario moves the target's clock by {secs} s, so it must be tagged @moves-clock \
                         (or @serial) to run alone: scenarios running beside it would see their tokens age at once"
                    );
                }
                clock.advance(secs);
                self.clock_moved += secs;
                self.notes.push(format!(
                    "the target's clock was moved {secs} s forward instead of waiting; kensa judged exp, iat and nbf by \
                     the moved clock (now {} s ahead of real time)",
                    clock.offset()
                ));
            }
            None => tokio::time::sleep(std::time::Duration::from_secs(secs.unsigned_abs())).await,
        }
        Ok(())
    }

    /// The user who logs in: the one a step chose, or the target's default.
    ///
    /// # Errors
    /// When the target's realm has no such user.
    pub fn user(&self) -> anyhow::Result<kensa_mocks::realm::User> {
        match &self.username {
            Some(name) => self
                .ctx
                .target
                .realm
                .user(name)
                .cloned()
                .ok_or_else(|| anyhow!("target {} has no user {name:?}", self.ctx.target.name)),
            None => self.ctx.target.user().cloned().map_err(|e| anyhow!(e)),
        }
    }

    /// Starts a new browser (an empty cookie jar, so no IdP session) and
    /// forgets the flow so far; the exchange log carries over.
    ///
    /// # Errors
    /// When the HTTP client cannot be built.
    pub fn fresh_browser(&mut self) -> anyhow::Result<()> {
        self.http = self.http.fresh_session()?;
        self.auth = None;
        self.outcome = None;
        self.callback = None;
        self.tokens.clear();
        self.last = None;
        self.userinfo = None;
        Ok(())
    }

    /// The target's issuer.
    #[must_use]
    pub fn issuer(&self) -> &str {
        &self.ctx.target.issuer
    }

    /// The discovery document, fetched on first use.
    ///
    /// # Errors
    /// When it cannot be fetched or is not a JSON object.
    pub async fn discovery(&mut self) -> anyhow::Result<&Discovery> {
        if self.discovery.is_none() {
            let d = Discovery::fetch(&self.api, &self.ctx.target.issuer.clone()).await?;
            self.discovery = Some(d);
        }
        self.discovery.as_ref().ok_or_else(|| anyhow!("discovery document unavailable"))
    }

    /// An endpoint from the discovery document.
    ///
    /// # Errors
    /// When discovery fails or the member is unusable.
    pub async fn endpoint(&mut self, member: &str) -> anyhow::Result<Url> {
        Ok(self.discovery().await?.endpoint(member)?)
    }

    /// The JWKS, fetched on first use from the discovery `jwks_uri`.
    ///
    /// # Errors
    /// When it cannot be fetched or is not a JWK Set.
    pub async fn jwks(&mut self) -> anyhow::Result<&Jwks> {
        if self.jwks.is_none() {
            let url = self.endpoint("jwks_uri").await?;
            self.jwks = Some(Jwks::fetch(&self.api, url).await?);
        }
        self.jwks.as_ref().ok_or_else(|| anyhow!("JWKS unavailable"))
    }

    /// The client of a role.
    ///
    /// # Errors
    /// When the target has no such client.
    pub fn client_of(&self, role: &str) -> anyhow::Result<Client> {
        self.ctx.target.client(role).cloned().map_err(|e| anyhow!(e))
    }

    /// The client in use.
    ///
    /// # Errors
    /// When the target has no client of the current role.
    pub fn client(&self) -> anyhow::Result<Client> {
        self.client_of(&self.role)
    }

    /// Client authentication for `client`: its registered method, or
    /// `method` when given; `secret` overrides the registered secret.
    ///
    /// # Errors
    /// When the method needs a secret the client lacks, or is unknown.
    pub fn auth_for(client: &Client, method: Option<&str>, secret: Option<&str>) -> anyhow::Result<ClientAuth> {
        ClientAuth::for_client(client, method, secret)
    }

    /// A fresh authorization request for the client in use: state, nonce,
    /// scope `openid profile email offline_access`, and S256 PKCE for public
    /// clients (confidential clients authenticate with their secret; the
    /// PKCE checks add or remove it explicitly).
    ///
    /// # Errors
    /// When the client is unknown or has no redirect URI.
    pub fn new_auth_request(&self) -> anyhow::Result<AuthRequest> {
        let c = self.client()?;
        let redirect = c.redirect_uris.first().ok_or_else(|| anyhow!("client {} has no redirect URI", c.client_id))?;
        let mut req = AuthRequest::new(&c.client_id, redirect, "openid profile email offline_access");
        if c.token_endpoint_auth_method != "none" {
            req.pkce = None;
        }
        Ok(req)
    }

    /// Runs `req` through the login page with the default user (or
    /// `password` instead of theirs) and stores the outcome; when the flow
    /// reached the redirect URI, parses the authorization response.
    ///
    /// # Errors
    /// On HTTP or login-page errors.
    pub async fn run_login(&mut self, req: AuthRequest, password: Option<&str>, tamper: Tamper) -> anyhow::Result<()> {
        let user = self.user()?;
        let creds =
            Credentials { username: user.username.clone(), password: Secret::new(password.unwrap_or(&user.password)) };
        self.run_login_as(req, creds, tamper).await
    }

    /// Runs `req` through the login page with `creds` (a user the target's
    /// realm need not know, such as one an external API vouches for).
    ///
    /// # Errors
    /// On HTTP or login-page errors.
    pub async fn run_login_as(&mut self, req: AuthRequest, creds: Credentials, tamper: Tamper) -> anyhow::Result<()> {
        let endpoint = self.endpoint("authorization_endpoint").await?;
        let start = crate::http::Request::get(req.to_url(&endpoint));
        self.drive(req, start, creds, tamper).await
    }

    /// Runs a login for `req` (whose state, nonce and PKCE the later steps
    /// compare against) while sending `params` as the query, as request
    /// objects do (OpenID Connect Core 6).
    ///
    /// # Errors
    /// On HTTP or login-page errors.
    pub async fn run_login_with_query(
        &mut self,
        req: AuthRequest,
        params: Vec<(String, String)>,
    ) -> anyhow::Result<()> {
        let user = self.user()?;
        let creds = Credentials { username: user.username.clone(), password: Secret::new(&user.password) };
        let mut url = self.endpoint("authorization_endpoint").await?;
        url.query_pairs_mut().extend_pairs(params);
        self.drive(req, crate::http::Request::get(url), creds, Tamper::None).await
    }

    /// As [`KensaWorld::run_login`], sending the authorization request as a
    /// form POST (OpenID Connect Core 3.1.2.1) instead of a GET.
    ///
    /// # Errors
    /// On HTTP or login-page errors.
    pub async fn run_login_post(&mut self, req: AuthRequest) -> anyhow::Result<()> {
        let user = self.user()?;
        let creds = Credentials { username: user.username.clone(), password: Secret::new(&user.password) };
        let endpoint = self.endpoint("authorization_endpoint").await?;
        let start = crate::http::Request::post_form(endpoint, req.params());
        self.drive(req, start, creds, Tamper::None).await
    }

    async fn drive(
        &mut self,
        req: AuthRequest,
        start: crate::http::Request,
        creds: Credentials,
        tamper: Tamper,
    ) -> anyhow::Result<()> {
        self.auth = Some(req.clone());
        let forbidden = self.forbidden_redirect.clone();
        let stop = move |u: &Url| {
            req.is_redirect_target(u) || forbidden.as_deref().is_some_and(|f| crate::oidc::authz::same_endpoint(u, f))
        };
        let driver = &self.ctx.target.login;
        let outcome =
            login::drive(&self.http, start, &creds, driver, tamper, &stop).await.context("the login flow failed")?;
        self.callback = match &outcome {
            Outcome::Redirected { url, .. } => Some(Callback::parse(url, self.http.scrubber())),
            Outcome::Page { .. } => None,
        };
        self.outcome = Some(outcome);
        Ok(())
    }

    /// The code from the last authorization response.
    ///
    /// # Errors
    /// When the flow produced no code; says what happened instead.
    pub fn code(&self) -> anyhow::Result<Secret> {
        match (&self.callback, &self.outcome) {
            (Some(Callback { code: Some(code), .. }), _) => Ok(code.clone()),
            (Some(cb), _) => bail!("the authorization response carries no code ({})", cb.error_text()),
            (None, Some(Outcome::Page { response, .. })) => bail!(
                "the login flow ended on a page (HTTP {} at {}) instead of redirecting to the client: {}",
                response.status,
                crate::secret::redact_url(&response.url),
                self.ctx
                    .target
                    .login
                    .page_error(&response.text())
                    .unwrap_or_else(|| crate::http::preview(&response.text(), 160))
            ),
            _ => bail!("no login has run in this scenario"),
        }
    }

    /// The last successful token set.
    ///
    /// # Errors
    /// When no token request has succeeded yet.
    pub fn tokens(&self) -> anyhow::Result<&TokenSet> {
        self.tokens.last().ok_or_else(|| anyhow!("no token request has succeeded in this scenario"))
    }

    /// The ID token of the last successful token response, parsed.
    ///
    /// # Errors
    /// When there is none or it is malformed.
    pub fn id_token(&self) -> anyhow::Result<Jwt> {
        let t = self.tokens()?;
        let raw = t.id_token.as_ref().ok_or_else(|| anyhow!("the token response has no id_token"))?;
        Ok(Jwt::parse_secret(raw)?)
    }

    /// Posts to a token-like endpoint and stores the answer as `last`; a
    /// successful token response is also added to `tokens`.
    ///
    /// # Errors
    /// On transport failure.
    pub async fn post_endpoint(
        &mut self,
        member: &str,
        auth: &ClientAuth,
        form: Vec<(String, String)>,
    ) -> anyhow::Result<&EndpointResponse> {
        let url = self.endpoint(member).await?;
        let resp = token::post(&self.api, url, auth, form).await?;
        if member == "token_endpoint"
            && resp.status() == 200
            && let Some(json) = &resp.json
            && let Ok(set) = TokenSet::from_json(json, self.http.scrubber())
        {
            self.tokens.push(set);
            self.tokens_at = Some(self.now());
        }
        self.last = Some(resp);
        self.last.as_ref().ok_or_else(|| anyhow!("no response"))
    }

    /// The last endpoint response.
    ///
    /// # Errors
    /// When no request was made.
    pub fn last(&self) -> anyhow::Result<&EndpointResponse> {
        self.last.as_ref().ok_or_else(|| anyhow!("no token, revocation, introspection or userinfo request was made"))
    }

    /// The last few HTTP exchanges, for failure messages.
    #[must_use]
    pub fn transcript(&self) -> String {
        self.http.transcript_tail(4)
    }
}
