//! The AWS side of the file linkage, as a client: STS
//! `AssumeRoleWithSAML`, IAM `UpdateSAMLProvider` (against the mock), and
//! S3 objects with SigV4 and temporary credentials. The same code talks to
//! kensa's mocks and, in real-cloud mode, to AWS. AWS's XML answers are
//! read with the hardened parser of `kensa_mocks::saml::xml`.

pub mod sigv4;

use anyhow::{Context as _, anyhow};
use kensa_mocks::saml::xml::{self, Element};
use url::Url;

use crate::http::{Body, HttpClient, Request, Response};
use crate::secret::Secret;
pub use sigv4::Credentials;

/// An error AWS answered with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsError {
    /// HTTP status.
    pub status: u16,
    /// The error code.
    pub code: String,
    /// The message.
    pub message: String,
}

impl std::fmt::Display for AwsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (HTTP {}): {}", self.code, self.status, self.message)
    }
}

fn find<'a>(el: &'a Element, local: &str) -> Option<&'a Element> {
    el.descendants().into_iter().find(|e| e.local == local)
}

fn text_of(el: &Element, local: &str) -> Option<String> {
    find(el, local).map(|e| e.text().trim().to_owned())
}

/// The AWS error in `resp`, if it is one (`ErrorResponse/Error` of STS and
/// IAM, `Error` of S3).
fn aws_error(resp: &Response) -> Option<AwsError> {
    if resp.status < 300 {
        return None;
    }
    let text = resp.text();
    let parsed = xml::parse(&text).ok();
    let code = parsed.as_ref().and_then(|d| text_of(&d.root, "Code"));
    let message = parsed.as_ref().and_then(|d| text_of(&d.root, "Message")).unwrap_or_default();
    Some(AwsError {
        status: resp.status,
        code: code.unwrap_or_else(|| format!("HTTP{}", resp.status)),
        message: if message.is_empty() { crate::http::preview(&text, 200) } else { message },
    })
}

/// Calls `AssumeRoleWithSAML` (unsigned, as the API allows). `Ok(Err(_))`
/// is STS's refusal.
///
/// # Errors
/// When STS cannot be reached or answers something that is not STS XML.
pub async fn assume_role_with_saml(
    http: &HttpClient,
    endpoint: &Url,
    role_arn: &str,
    principal_arn: &str,
    saml_b64: &str,
) -> anyhow::Result<Result<Credentials, AwsError>> {
    http.scrubber().register(saml_b64);
    let form = vec![
        ("Action".to_owned(), "AssumeRoleWithSAML".to_owned()),
        ("Version".to_owned(), "2011-06-15".to_owned()),
        ("RoleArn".to_owned(), role_arn.to_owned()),
        ("PrincipalArn".to_owned(), principal_arn.to_owned()),
        ("SAMLAssertion".to_owned(), saml_b64.to_owned()),
    ];
    let resp = http.send(Request::post_form(endpoint.clone(), form)).await?;
    if let Some(e) = aws_error(&resp) {
        return Ok(Err(e));
    }
    let doc =
        xml::parse(&resp.text()).map_err(|e| anyhow!("STS answered {} with XML kensa refuses: {e}", resp.status))?;
    let creds = find(&doc.root, "Credentials").ok_or_else(|| anyhow!("STS's answer has no Credentials"))?;
    let get = |name: &str| text_of(creds, name).ok_or_else(|| anyhow!("STS's Credentials lack {name}"));
    let c = Credentials {
        access_key_id: get("AccessKeyId")?,
        secret_access_key: Secret::new(get("SecretAccessKey")?),
        session_token: Some(Secret::new(get("SessionToken")?)),
        expiration: Some(get("Expiration")?),
    };
    http.scrubber().register_secret(&c.secret_access_key);
    if let Some(t) = &c.session_token {
        http.scrubber().register_secret(t);
    }
    Ok(Ok(c))
}

/// Calls IAM `UpdateSAMLProvider` with new IdP metadata (the STS mock
/// serves it; real IAM also wants the request signed, which kensa does not
/// do: update the provider there with the AWS CLI).
///
/// # Errors
/// When the endpoint cannot be reached.
pub async fn update_saml_provider(
    http: &HttpClient,
    endpoint: &Url,
    provider_arn: &str,
    metadata: &str,
) -> anyhow::Result<Result<(), AwsError>> {
    let form = vec![
        ("Action".to_owned(), "UpdateSAMLProvider".to_owned()),
        ("Version".to_owned(), "2010-05-08".to_owned()),
        ("SAMLProviderArn".to_owned(), provider_arn.to_owned()),
        ("SAMLMetadataDocument".to_owned(), metadata.to_owned()),
    ];
    let resp = http.send(Request::post_form(endpoint.clone(), form)).await?;
    Ok(match aws_error(&resp) {
        Some(e) => Err(e),
        None => Ok(()),
    })
}

/// An S3 bucket reached with SigV4 (path-style URLs).
#[derive(Debug, Clone)]
pub struct Bucket {
    /// The endpoint, e.g. `http://127.0.0.1:PORT/` or
    /// `https://s3.ap-northeast-1.amazonaws.com/`.
    pub endpoint: Url,
    /// Region.
    pub region: String,
    /// Bucket name.
    pub name: String,
}

impl Bucket {
    fn url(&self, key: &str, query: &[(&str, &str)]) -> anyhow::Result<Url> {
        let path = if key.is_empty() { format!("{}/", self.name) } else { format!("{}/{key}", self.name) };
        let mut url = self.endpoint.join(&sigv4::uri_encode(&path, true)).context("bucket URL")?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query.iter());
        }
        Ok(url)
    }

    async fn send(
        &self,
        http: &HttpClient,
        method: reqwest::Method,
        url: Url,
        body: Option<Vec<u8>>,
        creds: &Credentials,
    ) -> anyhow::Result<Response> {
        let payload = body.as_deref().unwrap_or(b"");
        let hash = sigv4::sha256_hex(payload);
        let date = sigv4::amz_date(kensa_mocks::time::now_secs());
        let headers = sigv4::sign(
            &sigv4::Signable {
                method: method.as_str(),
                url: &url,
                payload_hash: &hash,
                region: &self.region,
                service: "s3",
                amz_date: &date,
            },
            creds,
        );
        let mut req = Request { method, url, headers, body: None };
        if let Some(b) = body {
            req.body = Some(Body::Raw(b, "application/octet-stream".into()));
        }
        Ok(http.send(req).await?)
    }

    /// PUT Object.
    ///
    /// # Errors
    /// When the storage cannot be reached.
    pub async fn put(
        &self,
        http: &HttpClient,
        creds: &Credentials,
        key: &str,
        data: Vec<u8>,
    ) -> anyhow::Result<Result<(), AwsError>> {
        let resp = self.send(http, reqwest::Method::PUT, self.url(key, &[])?, Some(data), creds).await?;
        Ok(aws_error(&resp).map_or(Ok(()), Err))
    }

    /// GET Object.
    ///
    /// # Errors
    /// When the storage cannot be reached.
    pub async fn get(
        &self,
        http: &HttpClient,
        creds: &Credentials,
        key: &str,
    ) -> anyhow::Result<Result<Vec<u8>, AwsError>> {
        let resp = self.send(http, reqwest::Method::GET, self.url(key, &[])?, None, creds).await?;
        Ok(aws_error(&resp).map_or(Ok(resp.body), Err))
    }

    /// ListObjectsV2 under `prefix`: keys and sizes.
    ///
    /// # Errors
    /// When the storage cannot be reached or answers something else.
    pub async fn list(
        &self,
        http: &HttpClient,
        creds: &Credentials,
        prefix: &str,
    ) -> anyhow::Result<Result<Vec<(String, u64)>, AwsError>> {
        let url = self.url("", &[("list-type", "2"), ("prefix", prefix)])?;
        let resp = self.send(http, reqwest::Method::GET, url, None, creds).await?;
        if let Some(e) = aws_error(&resp) {
            return Ok(Err(e));
        }
        let doc = xml::parse(&resp.text()).map_err(|e| anyhow!("ListObjectsV2 answer: {e}"))?;
        let mut out = Vec::new();
        for c in doc.root.elements().filter(|e| e.local == "Contents") {
            let key = text_of(c, "Key").unwrap_or_default();
            let size = text_of(c, "Size").and_then(|s| s.parse().ok()).unwrap_or(0);
            out.push((key, size));
        }
        Ok(Ok(out))
    }

    /// CreateBucket (the storage mock starts empty).
    ///
    /// # Errors
    /// When the storage cannot be reached.
    pub async fn create(&self, http: &HttpClient, creds: &Credentials) -> anyhow::Result<Result<(), AwsError>> {
        let resp = self.send(http, reqwest::Method::PUT, self.url("", &[])?, None, creds).await?;
        Ok(match aws_error(&resp) {
            Some(e) if e.code == "BucketAlreadyOwnedByYou" || e.code == "BucketAlreadyExists" => Ok(()),
            Some(e) => Err(e),
            None => Ok(()),
        })
    }
}
