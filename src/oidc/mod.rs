//! OpenID Connect and OAuth 2.0 client side: discovery, JWKS, authorization
//! requests, the token client, ID token verification, and one whole code
//! flow through a login page ([`flow`]).

pub mod authz;
pub mod discovery;
pub mod flow;
pub mod jwks;
pub mod jwt;
pub mod pkce;
pub mod token;

use base64::Engine as _;

/// Base64url without padding, as JOSE and PKCE use it.
#[must_use]
pub fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A random base64url string carrying `bytes` random bytes.
#[must_use]
pub fn random_token(bytes: usize) -> String {
    use rand::RngCore as _;
    let mut buf = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    b64url(&buf)
}

/// Seconds since the UNIX epoch.
#[must_use]
pub fn now_secs() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}
