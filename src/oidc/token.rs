//! The token client: authorization code and refresh grants, revocation
//! (RFC 7009) and introspection (RFC 7662), with the client authentication
//! methods of RFC 6749 2.3.1.

use serde_json::Value;
use url::Url;

use crate::http::{HttpClient, HttpError, Request, Response};
use crate::secret::{self, Scrubber, Secret};

/// How the client authenticates at the token, revocation and introspection
/// endpoints.
#[derive(Debug, Clone)]
pub enum ClientAuth {
    /// HTTP Basic (client_secret_basic).
    Basic {
        /// client_id.
        client_id: String,
        /// client_secret.
        secret: Secret,
    },
    /// Credentials in the body (client_secret_post).
    Post {
        /// client_id.
        client_id: String,
        /// client_secret.
        secret: Secret,
    },
    /// A public client: client_id only.
    None {
        /// client_id.
        client_id: String,
    },
    /// No client identification at all.
    Anonymous,
}

impl ClientAuth {
    /// Client authentication for `client`: its registered method, or
    /// `method` when given; `secret` overrides the registered secret.
    ///
    /// # Errors
    /// When the method needs a secret the client lacks, or is unknown.
    pub fn for_client(
        client: &kensa_mocks::realm::Client,
        method: Option<&str>,
        secret: Option<&str>,
    ) -> anyhow::Result<Self> {
        let method = method.unwrap_or(&client.token_endpoint_auth_method);
        let secret = || -> anyhow::Result<Secret> {
            secret
                .or(client.client_secret.as_deref())
                .map(Secret::new)
                .ok_or_else(|| anyhow::anyhow!("client {} has no secret for {method}", client.client_id))
        };
        Ok(match method {
            "client_secret_basic" => Self::Basic { client_id: client.client_id.clone(), secret: secret()? },
            "client_secret_post" => Self::Post { client_id: client.client_id.clone(), secret: secret()? },
            "none" => Self::None { client_id: client.client_id.clone() },
            other => anyhow::bail!("unsupported client authentication method {other:?}"),
        })
    }
}

impl ClientAuth {
    /// Applies the method to a form request.
    #[must_use]
    pub fn apply(&self, url: Url, mut form: Vec<(String, String)>) -> Request {
        match self {
            Self::Basic { client_id, secret } => Request::post_form(url, form).basic_auth(client_id, secret.expose()),
            Self::Post { client_id, secret } => {
                form.push(("client_id".into(), client_id.clone()));
                form.push(("client_secret".into(), secret.expose().to_owned()));
                Request::post_form(url, form)
            }
            Self::None { client_id } => {
                form.push(("client_id".into(), client_id.clone()));
                Request::post_form(url, form)
            }
            Self::Anonymous => Request::post_form(url, form),
        }
    }
}

/// A response from a token-like endpoint, parsed as far as it parses.
#[derive(Debug, Clone)]
pub struct EndpointResponse {
    /// The raw response.
    pub response: Response,
    /// The JSON body, if it was JSON.
    pub json: Option<Value>,
}

impl EndpointResponse {
    /// Status code.
    #[must_use]
    pub fn status(&self) -> u16 {
        self.response.status
    }

    /// The `error` member, if any.
    #[must_use]
    pub fn error(&self) -> Option<&str> {
        self.json.as_ref()?.get("error")?.as_str()
    }

    /// A one-line description with secrets redacted: status and body.
    #[must_use]
    pub fn describe(&self) -> String {
        let body = match &self.json {
            Some(v) => secret::redact_json(v).to_string(),
            None => crate::http::preview(&self.response.text(), 160),
        };
        format!("HTTP {} {}", self.response.status, body)
    }
}

/// The tokens from a successful token response.
#[derive(Debug, Clone)]
pub struct TokenSet {
    /// access_token.
    pub access_token: Secret,
    /// token_type as sent.
    pub token_type: String,
    /// refresh_token, if any.
    pub refresh_token: Option<Secret>,
    /// id_token, if any.
    pub id_token: Option<Secret>,
    /// scope, if sent.
    pub scope: Option<String>,
    /// expires_in, if sent.
    pub expires_in: Option<i64>,
}

impl TokenSet {
    /// Reads a successful token response body and registers every token
    /// with the scrubber.
    ///
    /// # Errors
    /// When access_token or token_type is missing or not a string.
    pub fn from_json(v: &Value, scrubber: &Scrubber) -> Result<Self, String> {
        let s = |m: &str| v.get(m).and_then(Value::as_str).map(str::to_owned);
        let secret = |m: &str| {
            s(m).map(|t| {
                scrubber.register(&t);
                Secret::new(t)
            })
        };
        let access_token = secret("access_token").ok_or("no access_token string in the token response")?;
        let token_type = s("token_type").ok_or("no token_type string in the token response")?;
        Ok(Self {
            access_token,
            token_type,
            refresh_token: secret("refresh_token"),
            id_token: secret("id_token"),
            scope: s("scope"),
            expires_in: v.get("expires_in").and_then(Value::as_i64),
        })
    }
}

/// Posts a form to a token-like endpoint with client authentication and
/// reads the answer whatever its status; registers any tokens it carries.
///
/// # Errors
/// Only on transport failure.
pub async fn post(
    http: &HttpClient,
    endpoint: Url,
    auth: &ClientAuth,
    form: Vec<(String, String)>,
) -> Result<EndpointResponse, HttpError> {
    for (k, v) in &form {
        if secret::is_secret_name(k) {
            http.scrubber().register(v);
        }
    }
    let response = http.send(auth.apply(endpoint, form).header("accept", "application/json")).await?;
    let json = serde_json::from_slice::<Value>(&response.body).ok();
    if let Some(Value::Object(m)) = &json {
        for (k, v) in m {
            if let (true, Some(s)) = (secret::is_secret_name(k), v.as_str()) {
                http.scrubber().register(s);
            }
        }
    }
    Ok(EndpointResponse { response, json })
}

/// Builds a form from string pairs.
#[must_use]
pub fn form(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}
