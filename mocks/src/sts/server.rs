//! The STS mock over HTTP: `AssumeRoleWithSAML` (STS, 2011-06-15) and
//! `UpdateSAMLProvider` (IAM, 2010-05-08) as form POSTs, answered in AWS's
//! XML shapes. Credentials it issues are kept in a [`CredentialStore`]
//! that the object storage mock authenticates against.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use rand::Rng;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use super::rules::{self, Provider, Request, StsError};
use crate::saml::metadata;
use crate::saml::xml::escape_text;

/// Temporary credentials STS issued.
#[derive(Clone, PartialEq, Eq)]
pub struct Issued {
    /// AccessKeyId (`ASIA...`).
    pub access_key_id: String,
    /// SecretAccessKey.
    pub secret_access_key: String,
    /// SessionToken.
    pub session_token: String,
    /// Expiration, seconds since the epoch.
    pub expires: i64,
}

impl std::fmt::Debug for Issued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issued")
            .field("access_key_id", &self.access_key_id)
            .field("expires", &self.expires)
            .finish_non_exhaustive()
    }
}

/// The credentials STS issued, by access key id, and the clock the STS and
/// storage doubles share (a scenario step moves it past an expiry instead
/// of waiting).
#[derive(Debug, Default)]
pub struct CredentialStore {
    issued: Mutex<HashMap<String, Issued>>,
    clock: crate::time::Clock,
}

impl CredentialStore {
    /// A store whose doubles read `clock` (a child of the run's clock, so
    /// that the doubles see what the IdP sees and can still be moved alone).
    #[must_use]
    pub fn with_clock(clock: crate::time::Clock) -> Self {
        Self { issued: Mutex::default(), clock }
    }

    /// The doubles' now, in seconds since the UNIX epoch.
    pub fn now(&self) -> i64 {
        self.clock.now_secs()
    }

    /// Moves the doubles' clock forward by `secs`.
    pub fn advance(&self, secs: i64) {
        self.clock.advance(secs);
    }

    /// The credentials with `access_key_id`, if STS issued them.
    pub fn get(&self, access_key_id: &str) -> Option<Issued> {
        self.issued.lock().unwrap_or_else(PoisonError::into_inner).get(access_key_id).cloned()
    }

    fn insert(&self, c: Issued) {
        self.issued.lock().unwrap_or_else(PoisonError::into_inner).insert(c.access_key_id.clone(), c);
    }
}

struct Sts {
    providers: Mutex<Vec<Provider>>,
    store: Arc<CredentialStore>,
    /// Successful AssumeRoleWithSAML calls, for the scenarios' accounting.
    assumed: Mutex<Vec<rules::Granted>>,
}

/// A running STS mock. Dropping it stops the server.
#[derive(Debug)]
pub struct RunningSts {
    addr: SocketAddr,
    state: Arc<StsShared>,
    stop: Option<oneshot::Sender<()>>,
}

/// The parts of the mock a scenario may reach into.
pub struct StsShared(Sts);

impl std::fmt::Debug for StsShared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StsShared").finish_non_exhaustive()
    }
}

fn random(alphabet: &[u8], len: usize) -> String {
    let mut rng = rand::thread_rng();
    (0..len).map(|_| alphabet[rng.gen_range(0..alphabet.len())] as char).collect()
}

impl RunningSts {
    /// Starts the mock on 127.0.0.1 with one IAM SAML provider `provider_arn`
    /// holding `metadata_xml`, issuing credentials into `store`.
    ///
    /// # Errors
    /// When the metadata does not parse or the socket cannot be bound.
    pub async fn start(
        provider_arn: &str,
        metadata_xml: &str,
        store: Arc<CredentialStore>,
    ) -> Result<RunningSts, String> {
        let md = metadata::parse(metadata_xml).map_err(|e| format!("IdP metadata: {e}"))?;
        let state = Arc::new(StsShared(Sts {
            providers: Mutex::new(vec![Provider { arn: provider_arn.to_owned(), metadata: md }]),
            store,
            assumed: Mutex::new(Vec::new()),
        }));
        let listener =
            TcpListener::bind(("127.0.0.1", 0)).await.map_err(|e| format!("cannot listen on 127.0.0.1: {e}"))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let app = Router::new().route("/", post(handle)).with_state(state.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await;
        });
        Ok(RunningSts { addr, state, stop: Some(stop) })
    }

    /// The endpoint, `http://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// Sessions granted so far.
    pub fn granted(&self) -> Vec<rules::Granted> {
        self.state.0.assumed.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

impl Drop for RunningSts {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

fn request_id() -> String {
    let h = random(b"0123456789abcdef", 32);
    format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
}

fn xml(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "text/xml")], body).into_response()
}

fn error_response(e: &StsError, ns: &str) -> Response {
    let kind = if e.status >= 500 { "Receiver" } else { "Sender" };
    xml(
        StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST),
        format!(
            "<ErrorResponse xmlns=\"{ns}\">\n  <Error>\n    <Type>{kind}</Type>\n    <Code>{}</Code>\n    <Message>{}</Message>\n  </Error>\n  <RequestId>{}</RequestId>\n</ErrorResponse>\n",
            e.code,
            escape_text(&e.message),
            request_id()
        ),
    )
}

const STS_NS: &str = "https://sts.amazonaws.com/doc/2011-06-15/";
const IAM_NS: &str = "https://iam.amazonaws.com/doc/2010-05-08/";

fn missing(name: &str) -> StsError {
    StsError {
        status: 400,
        code: "MissingParameter",
        message: format!("The request must contain the parameter {name}"),
    }
}

async fn handle(State(state): State<Arc<StsShared>>, body: Bytes) -> Response {
    let params: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    match params.get("Action").map(String::as_str) {
        Some("AssumeRoleWithSAML") => assume(&state.0, &params),
        Some("UpdateSAMLProvider") => update_provider(&state.0, &params),
        other => error_response(
            &StsError {
                status: 400,
                code: "InvalidAction",
                message: format!("Could not find operation {} for version 2011-06-15", other.unwrap_or("")),
            },
            STS_NS,
        ),
    }
}

fn assume(sts: &Sts, params: &HashMap<String, String>) -> Response {
    let req = || -> Result<(Request, &String), StsError> {
        let role_arn = params.get("RoleArn").ok_or_else(|| missing("RoleArn"))?.clone();
        let principal_arn = params.get("PrincipalArn").ok_or_else(|| missing("PrincipalArn"))?.clone();
        let saml = params.get("SAMLAssertion").ok_or_else(|| missing("SAMLAssertion"))?;
        let duration_seconds = match params.get("DurationSeconds") {
            None => None,
            Some(d) => Some(d.parse::<u32>().map_err(|_| StsError {
                status: 400,
                code: "ValidationError",
                message: format!("DurationSeconds {d:?} is not an integer"),
            })?),
        };
        if let Some(policy) = params.get("Policy") {
            rules::session_policy(policy)?;
        }
        Ok((Request { role_arn, principal_arn, duration_seconds }, saml))
    };
    let (req, saml) = match req() {
        Ok(r) => r,
        Err(e) => return error_response(&e, STS_NS),
    };
    let providers = sts.providers.lock().unwrap_or_else(PoisonError::into_inner).clone();
    let now = sts.store.now();
    let granted = match rules::assume(saml, &req, &providers, now) {
        Ok(g) => g,
        Err(e) => return error_response(&e, STS_NS),
    };
    let issued = Issued {
        access_key_id: format!("ASIA{}", random(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)),
        secret_access_key: random(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", 40),
        session_token: random(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", 356),
        expires: now + i64::from(granted.duration),
    };
    sts.store.insert(issued.clone());
    let role_name = req.role_arn.rsplit('/').next().unwrap_or("");
    let account = req.role_arn.split(':').nth(4).unwrap_or("");
    let body = format!(
        concat!(
            "<AssumeRoleWithSAMLResponse xmlns=\"{ns}\">\n  <AssumeRoleWithSAMLResult>\n",
            "    <Issuer>{issuer}</Issuer>\n    <AssumedRoleUser>\n",
            "      <Arn>arn:aws:sts::{account}:assumed-role/{role}/{session}</Arn>\n",
            "      <AssumedRoleId>AROA{roleid}:{session}</AssumedRoleId>\n    </AssumedRoleUser>\n",
            "    <Credentials>\n      <AccessKeyId>{akid}</AccessKeyId>\n      <SecretAccessKey>{secret}</SecretAccessKey>\n",
            "      <SessionToken>{token}</SessionToken>\n      <Expiration>{exp}</Expiration>\n    </Credentials>\n",
            "    <Audience>{audience}</Audience>\n    <SubjectType>persistent</SubjectType>\n",
            "    <Subject>{subject}</Subject>\n  </AssumeRoleWithSAMLResult>\n",
            "  <ResponseMetadata>\n    <RequestId>{rid}</RequestId>\n  </ResponseMetadata>\n</AssumeRoleWithSAMLResponse>\n"
        ),
        ns = STS_NS,
        issuer = escape_text(&granted.issuer),
        account = escape_text(account),
        role = escape_text(role_name),
        session = escape_text(&granted.session_name),
        roleid = random(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 17),
        akid = issued.access_key_id,
        secret = issued.secret_access_key,
        token = issued.session_token,
        exp = crate::time::xs_datetime(issued.expires),
        audience = rules::SIGNIN,
        subject = escape_text(&granted.subject),
        rid = request_id(),
    );
    sts.assumed.lock().unwrap_or_else(PoisonError::into_inner).push(granted);
    xml(StatusCode::OK, body)
}

fn update_provider(sts: &Sts, params: &HashMap<String, String>) -> Response {
    let (Some(arn), Some(doc)) = (params.get("SAMLProviderArn"), params.get("SAMLMetadataDocument")) else {
        return error_response(&missing("SAMLProviderArn and SAMLMetadataDocument"), IAM_NS);
    };
    if doc.len() < 1000 {
        return error_response(
            &StsError {
                status: 400,
                code: "ValidationError",
                message: "SAMLMetadataDocument must have at least 1000 characters".into(),
            },
            IAM_NS,
        );
    }
    let md = match metadata::parse(doc) {
        Ok(m) => m,
        Err(e) => {
            return error_response(
                &StsError { status: 400, code: "InvalidInput", message: format!("Could not parse metadata: {e}") },
                IAM_NS,
            );
        }
    };
    let mut providers = sts.providers.lock().unwrap_or_else(PoisonError::into_inner);
    let Some(p) = providers.iter_mut().find(|p| &p.arn == arn) else {
        return error_response(
            &StsError { status: 404, code: "NoSuchEntity", message: format!("SAMLProvider {arn} does not exist") },
            IAM_NS,
        );
    };
    p.metadata = md;
    xml(
        StatusCode::OK,
        format!(
            "<UpdateSAMLProviderResponse xmlns=\"{IAM_NS}\">\n  <UpdateSAMLProviderResult>\n    <SAMLProviderArn>{}</SAMLProviderArn>\n  </UpdateSAMLProviderResult>\n  <ResponseMetadata>\n    <RequestId>{}</RequestId>\n  </ResponseMetadata>\n</UpdateSAMLProviderResponse>\n",
            escape_text(arn),
            request_id()
        ),
    )
}
