//! PKCE (RFC 7636) with the S256 method.

use sha2::{Digest as _, Sha256};

use crate::secret::Secret;

/// A code verifier and its S256 challenge.
#[derive(Debug, Clone)]
pub struct Pkce {
    /// The code verifier (secret until the token request).
    pub verifier: Secret,
    /// `BASE64URL(SHA256(verifier))` (or the verifier itself for `plain`).
    pub challenge: String,
    /// `code_challenge_method`: `S256` unless a check sends `plain`.
    pub method: String,
}

impl Pkce {
    /// A fresh verifier of 43 characters (32 random bytes, RFC 7636 4.1).
    #[must_use]
    pub fn generate() -> Self {
        Self::from_verifier(&super::random_token(32))
    }

    /// The pair for a given verifier.
    #[must_use]
    pub fn from_verifier(verifier: &str) -> Self {
        Self { verifier: Secret::new(verifier), challenge: s256(verifier), method: "S256".into() }
    }
}

/// The S256 transformation of RFC 7636 4.2.
#[must_use]
pub fn s256(verifier: &str) -> String {
    super::b64url(&Sha256::digest(verifier.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7636_appendix_b_vector() {
        assert_eq!(s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    }

    #[test]
    fn generated_verifier_has_valid_length_and_alphabet() {
        let p = Pkce::generate();
        let v = p.verifier.expose();
        assert!((43..=128).contains(&v.len()));
        assert!(v.chars().all(|c| c.is_ascii_alphanumeric() || "-._~".contains(c)));
        assert_eq!(p.challenge, s256(v));
    }
}
