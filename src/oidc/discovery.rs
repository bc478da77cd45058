//! OpenID Provider metadata (OpenID Connect Discovery 1.0).

use serde_json::{Map, Value};
use url::Url;

use crate::http::{HttpClient, HttpError, Request, preview};

/// Errors fetching or reading the discovery document.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DiscoveryError {
    /// The issuer is not a URL.
    #[error("issuer {issuer:?} is not a URL: {reason}")]
    BadIssuer {
        /// The issuer as given.
        issuer: String,
        /// Why it does not parse.
        reason: String,
    },
    /// The request failed.
    #[error("cannot fetch the discovery document: {0}")]
    Http(#[from] HttpError),
    /// The endpoint did not answer 200.
    #[error("{url} answered HTTP {status}, not 200: {body}")]
    Status {
        /// Discovery URL.
        url: String,
        /// Status received.
        status: u16,
        /// Start of the body.
        body: String,
    },
    /// The body is not a JSON object.
    #[error("{url} did not return a JSON object: {reason}")]
    NotJson {
        /// Discovery URL.
        url: String,
        /// Parser message and the start of the body.
        reason: String,
    },
    /// A member the caller needs is missing or has the wrong type.
    #[error("the discovery document has no usable {member:?} ({reason})")]
    Member {
        /// Member name.
        member: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// A fetched discovery document.
#[derive(Debug, Clone)]
pub struct Discovery {
    /// Where it was fetched from.
    pub url: Url,
    /// The document.
    pub doc: Map<String, Value>,
}

/// The discovery URL of an issuer (OpenID Connect Discovery 4.1: the issuer
/// with any trailing `/` removed, then `/.well-known/openid-configuration`).
///
/// # Errors
/// When the issuer is not an absolute URL.
pub fn discovery_url(issuer: &str) -> Result<Url, DiscoveryError> {
    let trimmed = issuer.trim_end_matches('/');
    Url::parse(&format!("{trimmed}/.well-known/openid-configuration"))
        .map_err(|e| DiscoveryError::BadIssuer { issuer: issuer.into(), reason: e.to_string() })
}

impl Discovery {
    /// Fetches and parses the discovery document of `issuer`.
    ///
    /// # Errors
    /// When the issuer is not a URL, the request fails, the status is not
    /// 200, or the body is not a JSON object.
    pub async fn fetch(http: &HttpClient, issuer: &str) -> Result<Self, DiscoveryError> {
        let url = discovery_url(issuer)?;
        let resp = http.send(Request::get(url.clone()).header("accept", "application/json")).await?;
        if resp.status != 200 {
            return Err(DiscoveryError::Status {
                url: url.to_string(),
                status: resp.status,
                body: preview(&resp.text(), 120),
            });
        }
        match resp.json() {
            Ok(Value::Object(doc)) => Ok(Self { url, doc }),
            Ok(other) => Err(DiscoveryError::NotJson {
                url: url.to_string(),
                reason: format!("got a JSON {}", json_kind(&other)),
            }),
            Err(reason) => Err(DiscoveryError::NotJson { url: url.to_string(), reason }),
        }
    }

    /// A string member.
    #[must_use]
    pub fn str(&self, member: &str) -> Option<&str> {
        self.doc.get(member).and_then(Value::as_str)
    }

    /// A string-array member.
    #[must_use]
    pub fn list(&self, member: &str) -> Option<Vec<String>> {
        self.doc.get(member)?.as_array().map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
    }

    /// An endpoint URL member.
    ///
    /// # Errors
    /// When it is missing, not a string, or not an absolute URL.
    pub fn endpoint(&self, member: &str) -> Result<Url, DiscoveryError> {
        let raw = self
            .doc
            .get(member)
            .ok_or_else(|| DiscoveryError::Member { member: member.into(), reason: "missing".into() })?;
        let s = raw.as_str().ok_or_else(|| DiscoveryError::Member {
            member: member.into(),
            reason: format!("a JSON {}, not a string", json_kind(raw)),
        })?;
        Url::parse(s).map_err(|e| DiscoveryError::Member {
            member: member.into(),
            reason: format!("{:?} is not a URL: {e}", preview(s, 80)),
        })
    }
}

/// The name of a JSON value's type, for messages.
#[must_use]
pub fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovery_url_strips_trailing_slash() {
        assert_eq!(
            discovery_url("https://idp.test/realms/r/").unwrap().as_str(),
            "https://idp.test/realms/r/.well-known/openid-configuration"
        );
        assert!(discovery_url("not a url").is_err());
    }

    /// Serves one fixed HTTP response to every connection.
    async fn serve(reply: &'static str) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                let mut buf = [0u8; 2048];
                let _ = sock.read(&mut buf).await;
                let _ = sock.write_all(reply.as_bytes()).await;
                let _ = sock.shutdown().await;
            }
        });
        format!("http://{addr}")
    }

    #[tokio::test]
    async fn hostile_discovery_answers_are_clear_errors() {
        let http = HttpClient::new(crate::secret::Scrubber::new()).unwrap();
        let html =
            serve("HTTP/1.1 200 OK\r\ncontent-type: text/html\r\nconnection: close\r\n\r\n<html>login</html>").await;
        let e = Discovery::fetch(&http, &html).await.unwrap_err().to_string();
        assert!(e.contains("did not return a JSON object") && e.contains(&html), "{e}");
        let array = serve("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n[1]").await;
        let e = Discovery::fetch(&http, &array).await.unwrap_err().to_string();
        assert!(e.contains("JSON array"), "{e}");
        let missing = serve("HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n").await;
        let e = Discovery::fetch(&http, &missing).await.unwrap_err().to_string();
        assert!(e.contains("404"), "{e}");
        let gone = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            format!("http://{}", l.local_addr().unwrap())
        };
        let e = Discovery::fetch(&http, &gone).await.unwrap_err().to_string();
        assert!(e.contains("cannot connect") && e.contains(&gone), "{e}");
    }

    #[test]
    fn endpoint_reports_missing_and_wrong_type() {
        let d = Discovery {
            url: Url::parse("https://i.test/.well-known/openid-configuration").unwrap(),
            doc: serde_json::from_str(r#"{"token_endpoint": 5, "jwks_uri": "https://i.test/jwks"}"#).unwrap(),
        };
        assert!(d.endpoint("jwks_uri").is_ok());
        assert!(d.endpoint("token_endpoint").unwrap_err().to_string().contains("number"));
        assert!(d.endpoint("userinfo_endpoint").unwrap_err().to_string().contains("missing"));
    }
}
