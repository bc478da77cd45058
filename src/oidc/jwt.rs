//! JWT parsing and ID token verification (OpenID Connect Core 3.1.3.7).
//!
//! Each rule is its own function so that a check can test exactly one rule
//! and say exactly which one broke; [`verify_id_token`] runs them all.

use base64::Engine as _;
use jsonwebtoken::Algorithm;
use serde_json::{Map, Value};
use sha2::Digest as _;

use super::jwks::{Jwks, JwksError};
use crate::secret::Secret;

/// Largest token kensa will parse.
pub const MAX_JWT_LEN: usize = 64 * 1024;

/// Default clock skew allowed on exp, iat and nbf.
pub const DEFAULT_LEEWAY_SECS: i64 = 60;

/// Why a JWT is malformed or fails a rule.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JwtError {
    /// Not three base64url parts of JSON objects.
    #[error("malformed JWT: {0}")]
    Malformed(String),
    /// `alg` is `none`.
    #[error("the token is unsigned (alg \"none\"); OpenID Connect Core 2 requires ID tokens to be signed with JWS")]
    Unsigned,
    /// An HMAC alg where only asymmetric keys from the JWKS are acceptable.
    #[error(
        "the token uses {alg}, a symmetric algorithm; verifying it with a public key from the JWKS would accept forgeries (RFC 8725 3.1)"
    )]
    Symmetric {
        /// The alg.
        alg: String,
    },
    /// `alg` is not in the allowlist.
    #[error("alg {alg:?} is not allowed here (allowed: {allowed})")]
    AlgNotAllowed {
        /// The alg found.
        alg: String,
        /// The allowlist.
        allowed: String,
    },
    /// Key lookup failed.
    #[error(transparent)]
    Key(#[from] JwksError),
    /// The signature does not verify.
    #[error("the {alg} signature does not verify with the JWKS key {kid:?}")]
    BadSignature {
        /// The alg.
        alg: String,
        /// The kid used.
        kid: String,
    },
    /// A claim is missing or has the wrong type.
    #[error("claim {claim:?} is {problem}")]
    Claim {
        /// Claim name.
        claim: &'static str,
        /// What is wrong.
        problem: String,
    },
    /// A claim has the wrong value.
    #[error("claim {claim:?} is {found}, expected {expected}")]
    Mismatch {
        /// Claim name.
        claim: &'static str,
        /// What it should be.
        expected: String,
        /// What it is.
        found: String,
    },
}

/// A parsed (not yet verified) JWS compact token.
#[derive(Clone)]
pub struct Jwt {
    /// The JOSE header.
    pub header: Map<String, Value>,
    /// The claims.
    pub claims: Map<String, Value>,
    signing_input: String,
    signature: String,
}

impl std::fmt::Debug for Jwt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jwt").field("header", &self.header).field("claims", &"[redacted]").finish()
    }
}

fn decode_part(part: &str, what: &str) -> Result<Map<String, Value>, JwtError> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|e| JwtError::Malformed(format!("the {what} is not base64url: {e}")))?;
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(JwtError::Malformed(format!("the {what} is not a JSON object"))),
        Err(e) => Err(JwtError::Malformed(format!("the {what} is not JSON: {e}"))),
    }
}

/// The key type a JWS algorithm needs.
#[must_use]
pub fn kty_for(alg: Algorithm) -> &'static str {
    match alg {
        Algorithm::ES256 | Algorithm::ES384 => "EC",
        Algorithm::EdDSA => "OKP",
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => "oct",
        _ => "RSA",
    }
}

impl Jwt {
    /// Parses a compact JWS.
    ///
    /// # Errors
    /// When the token is too long, not three parts, or its header or payload
    /// is not a base64url JSON object.
    pub fn parse(token: &str) -> Result<Self, JwtError> {
        if token.len() > MAX_JWT_LEN {
            return Err(JwtError::Malformed(format!(
                "{} bytes, more than the {MAX_JWT_LEN} kensa accepts",
                token.len()
            )));
        }
        let parts: Vec<&str> = token.split('.').collect();
        if parts.len() != 3 {
            return Err(JwtError::Malformed(format!(
                "{} dot-separated parts, a JWS has 3 (a JWE has 5 and is not expected here)",
                parts.len()
            )));
        }
        let header = decode_part(parts[0], "header")?;
        let claims = decode_part(parts[1], "payload")?;
        Ok(Self { header, claims, signing_input: format!("{}.{}", parts[0], parts[1]), signature: parts[2].to_owned() })
    }

    /// Parses the token inside a [`Secret`].
    ///
    /// # Errors
    /// As [`Jwt::parse`].
    pub fn parse_secret(token: &Secret) -> Result<Self, JwtError> {
        Self::parse(token.expose())
    }

    /// The `alg` header, or `""`.
    #[must_use]
    pub fn alg(&self) -> &str {
        self.header.get("alg").and_then(Value::as_str).unwrap_or("")
    }

    /// The `kid` header.
    #[must_use]
    pub fn kid(&self) -> Option<&str> {
        self.header.get("kid").and_then(Value::as_str)
    }

    /// A string claim.
    #[must_use]
    pub fn str_claim(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(Value::as_str)
    }

    /// Checks the alg against `allowed` and verifies the signature with the
    /// JWKS key the header names.
    ///
    /// # Errors
    /// `Unsigned` for alg none, `Symmetric` for HS*, `AlgNotAllowed`, key
    /// lookup errors, or `BadSignature`.
    pub fn verify_signature(&self, jwks: &Jwks, allowed: &[Algorithm]) -> Result<Algorithm, JwtError> {
        let alg_name = self.alg();
        if alg_name.eq_ignore_ascii_case("none") || alg_name.is_empty() {
            return Err(JwtError::Unsigned);
        }
        if alg_name.starts_with("HS") {
            return Err(JwtError::Symmetric { alg: alg_name.into() });
        }
        let allowed_names = || allowed.iter().map(|a| format!("{a:?}")).collect::<Vec<_>>().join(", ");
        let alg: Algorithm =
            alg_name.parse().map_err(|_| JwtError::AlgNotAllowed { alg: alg_name.into(), allowed: allowed_names() })?;
        if !allowed.contains(&alg) {
            return Err(JwtError::AlgNotAllowed { alg: alg_name.into(), allowed: allowed_names() });
        }
        let key = jwks.key_for(kty_for(alg), self.kid())?;
        let ok = jsonwebtoken::crypto::verify(&self.signature, self.signing_input.as_bytes(), &key, alg)
            .map_err(|e| JwtError::Malformed(format!("the signature cannot be checked: {e}")))?;
        if ok {
            Ok(alg)
        } else {
            Err(JwtError::BadSignature { alg: alg_name.into(), kid: self.kid().unwrap_or("-").into() })
        }
    }

    fn num(&self, claim: &'static str) -> Result<i64, JwtError> {
        match self.claims.get(claim) {
            None => Err(JwtError::Claim { claim, problem: "missing".into() }),
            Some(Value::Number(n)) => n
                .as_i64()
                .or_else(|| n.as_f64().map(|f| f as i64))
                .ok_or_else(|| JwtError::Claim { claim, problem: format!("not a usable number ({n})") }),
            Some(other) => Err(JwtError::Claim {
                claim,
                problem: format!("a JSON {}, not a NumericDate", super::discovery::json_kind(other)),
            }),
        }
    }

    /// `iss` equals `issuer` exactly (Core 3.1.3.7 step 2).
    ///
    /// # Errors
    /// When missing or different.
    pub fn check_iss(&self, issuer: &str) -> Result<(), JwtError> {
        match self.claims.get("iss") {
            Some(Value::String(s)) if s == issuer => Ok(()),
            Some(v) => Err(JwtError::Mismatch { claim: "iss", expected: format!("{issuer:?}"), found: v.to_string() }),
            None => Err(JwtError::Claim { claim: "iss", problem: "missing".into() }),
        }
    }

    /// `aud` contains `client_id` (step 3), and when there are several
    /// audiences `azp` is present and equals `client_id` (steps 4 and 5).
    ///
    /// # Errors
    /// When the client is not an audience, or azp is missing or wrong.
    pub fn check_aud(&self, client_id: &str) -> Result<(), JwtError> {
        let auds: Vec<String> = match self.claims.get("aud") {
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
            Some(other) => {
                return Err(JwtError::Claim {
                    claim: "aud",
                    problem: format!("a JSON {}, not a string or array", super::discovery::json_kind(other)),
                });
            }
            None => {
                return Err(JwtError::Claim { claim: "aud", problem: "missing".into() });
            }
        };
        if !auds.iter().any(|a| a == client_id) {
            return Err(JwtError::Mismatch {
                claim: "aud",
                expected: format!("to contain {client_id:?}"),
                found: format!("{auds:?}"),
            });
        }
        if let Some(azp) = self.claims.get("azp") {
            if azp.as_str() != Some(client_id) {
                return Err(JwtError::Mismatch {
                    claim: "azp",
                    expected: format!("{client_id:?}"),
                    found: azp.to_string(),
                });
            }
        } else if auds.len() > 1 {
            return Err(JwtError::Claim {
                claim: "azp",
                problem: "missing although the token has several audiences".into(),
            });
        }
        Ok(())
    }

    /// `exp` is after `now - leeway` (step 9).
    ///
    /// # Errors
    /// When missing, not a number, or in the past.
    pub fn check_exp(&self, now: i64, leeway: i64) -> Result<(), JwtError> {
        let exp = self.num("exp")?;
        if exp + leeway < now {
            return Err(JwtError::Mismatch {
                claim: "exp",
                expected: format!("after now ({now})"),
                found: format!("{exp}, {} s ago", now - exp),
            });
        }
        Ok(())
    }

    /// `iat` is present and not after `now + leeway` (step 10).
    ///
    /// # Errors
    /// When missing, not a number, or in the future.
    pub fn check_iat(&self, now: i64, leeway: i64) -> Result<(), JwtError> {
        let iat = self.num("iat")?;
        if iat - leeway > now {
            return Err(JwtError::Mismatch {
                claim: "iat",
                expected: format!("not after now ({now})"),
                found: format!("{iat}, {} s in the future", iat - now),
            });
        }
        Ok(())
    }

    /// `nbf`, when present, is not after `now + leeway`.
    ///
    /// # Errors
    /// When in the future or not a number.
    pub fn check_nbf(&self, now: i64, leeway: i64) -> Result<(), JwtError> {
        if self.claims.contains_key("nbf") {
            let nbf = self.num("nbf")?;
            if nbf - leeway > now {
                return Err(JwtError::Mismatch {
                    claim: "nbf",
                    expected: format!("not after now ({now})"),
                    found: nbf.to_string(),
                });
            }
        }
        Ok(())
    }

    /// `nonce` equals the one sent (step 11).
    ///
    /// # Errors
    /// When missing or different.
    pub fn check_nonce(&self, sent: &str) -> Result<(), JwtError> {
        match self.claims.get("nonce") {
            Some(Value::String(s)) if s == sent => Ok(()),
            Some(_) => Err(JwtError::Mismatch {
                claim: "nonce",
                expected: "the value sent in the authorization request".into(),
                found: "a different value".into(),
            }),
            None => Err(JwtError::Claim { claim: "nonce", problem: "missing although a nonce was sent".into() }),
        }
    }

    /// The REQUIRED claims of Core 2 are present with the right types, and
    /// `sub` is at most 255 ASCII characters.
    ///
    /// # Errors
    /// On the first missing or mistyped claim.
    pub fn check_required_claims(&self) -> Result<(), JwtError> {
        for claim in ["iss", "sub"] {
            match self.claims.get(claim) {
                Some(Value::String(_)) => {}
                Some(_) => {
                    return Err(JwtError::Claim { claim, problem: "not a string".into() });
                }
                None => {
                    return Err(JwtError::Claim { claim, problem: "missing".into() });
                }
            }
        }
        if !self.claims.contains_key("aud") {
            return Err(JwtError::Claim { claim: "aud", problem: "missing".into() });
        }
        self.num("exp")?;
        self.num("iat")?;
        let sub = self.str_claim("sub").unwrap_or_default();
        if sub.is_empty() || sub.len() > 255 || !sub.is_ascii() {
            return Err(JwtError::Claim { claim: "sub", problem: "not 1 to 255 ASCII characters".into() });
        }
        Ok(())
    }

    /// `at_hash`, when present, is the left half of the hash of the access
    /// token with the hash of the token's alg (Core 3.1.3.8 / 3.2.2.9).
    ///
    /// # Errors
    /// When it does not match, or `required` and it is missing.
    pub fn check_at_hash(&self, access_token: &str, required: bool) -> Result<(), JwtError> {
        let Some(found) = self.claims.get("at_hash") else {
            return if required {
                Err(JwtError::Claim { claim: "at_hash", problem: "missing".into() })
            } else {
                Ok(())
            };
        };
        let expected = left_half_hash(self.alg(), access_token.as_bytes()).ok_or_else(|| JwtError::Claim {
            claim: "at_hash",
            problem: format!("not checkable for alg {:?}", self.alg()),
        })?;
        if found.as_str() == Some(expected.as_str()) {
            Ok(())
        } else {
            Err(JwtError::Mismatch {
                claim: "at_hash",
                expected: "the left half of the hash of the access token".into(),
                found: found.to_string(),
            })
        }
    }
}

/// Base64url of the left half of the alg's hash of `input`, as at_hash and
/// c_hash use it.
#[must_use]
pub fn left_half_hash(alg: &str, input: &[u8]) -> Option<String> {
    let digest: Vec<u8> = match alg.get(2..)? {
        "256" => sha2::Sha256::digest(input).to_vec(),
        "384" => sha2::Sha384::digest(input).to_vec(),
        "512" => sha2::Sha512::digest(input).to_vec(),
        _ => return None,
    };
    Some(super::b64url(&digest[..digest.len() / 2]))
}

/// What an ID token is checked against.
#[derive(Debug, Clone)]
pub struct IdTokenExpectations {
    /// The issuer.
    pub issuer: String,
    /// The client the token was issued to.
    pub client_id: String,
    /// The algorithms accepted.
    pub algs: Vec<Algorithm>,
    /// The nonce sent, if any.
    pub nonce: Option<String>,
    /// The access token issued with it, if any (for at_hash).
    pub access_token: Option<String>,
    /// Clock skew allowed.
    pub leeway: i64,
}

/// Runs every rule of Core 3.1.3.7 kensa applies; returns the first failure.
///
/// # Errors
/// The first rule that fails.
/// `now` is the verifier's time in seconds since the UNIX epoch (the
/// scenario's clock, which a run against the embedded IdP moves).
pub fn verify_id_token(token: &str, jwks: &Jwks, exp: &IdTokenExpectations, now: i64) -> Result<Jwt, JwtError> {
    let jwt = Jwt::parse(token)?;
    jwt.verify_signature(jwks, &exp.algs)?;
    jwt.check_required_claims()?;
    jwt.check_iss(&exp.issuer)?;
    jwt.check_aud(&exp.client_id)?;
    jwt.check_exp(now, exp.leeway)?;
    jwt.check_iat(now, exp.leeway)?;
    jwt.check_nbf(now, exp.leeway)?;
    if let Some(n) = &exp.nonce {
        jwt.check_nonce(n)?;
    }
    if let Some(at) = &exp.access_token {
        jwt.check_at_hash(at, false)?;
    }
    Ok(jwt)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{EncodingKey, Header, jwk::Jwk};

    fn key(name: &str) -> Vec<u8> {
        std::fs::read(format!("{}/fixtures/keys/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
    }

    fn rsa() -> EncodingKey {
        EncodingKey::from_rsa_pem(&key("rs256.pem")).unwrap()
    }

    fn jwks() -> Jwks {
        let mut rsa_jwk = serde_json::to_value(Jwk::from_encoding_key(&rsa(), Algorithm::RS256).unwrap()).unwrap();
        rsa_jwk["kid"] = "r1".into();
        let ec = EncodingKey::from_ec_pem(&key("es256.pem")).unwrap();
        let mut ec_jwk = serde_json::to_value(Jwk::from_encoding_key(&ec, Algorithm::ES256).unwrap()).unwrap();
        ec_jwk["kid"] = "e1".into();
        Jwks::from_value(&serde_json::json!({ "keys": [rsa_jwk, ec_jwk] })).unwrap()
    }

    fn claims() -> Value {
        let now = crate::oidc::now_secs();
        serde_json::json!({"iss":"https://op.test","sub":"u1","aud":"c1","exp":now+300,"iat":now,"nonce":"n1",
            "at_hash": left_half_hash("RS256", b"access-token-1").unwrap()})
    }

    fn sign(claims: &Value, alg: Algorithm, kid: &str, key: &EncodingKey) -> String {
        let mut h = Header::new(alg);
        h.kid = Some(kid.into());
        jsonwebtoken::encode(&h, claims, key).unwrap()
    }

    fn expectations() -> IdTokenExpectations {
        IdTokenExpectations {
            issuer: "https://op.test".into(),
            client_id: "c1".into(),
            algs: vec![Algorithm::RS256, Algorithm::ES256],
            nonce: Some("n1".into()),
            access_token: Some("access-token-1".into()),
            leeway: DEFAULT_LEEWAY_SECS,
        }
    }

    #[test]
    fn valid_rs256_and_es256_tokens_verify() {
        let t = sign(&claims(), Algorithm::RS256, "r1", &rsa());
        verify_id_token(&t, &jwks(), &expectations(), crate::oidc::now_secs()).unwrap();
        let ec = EncodingKey::from_ec_pem(&key("es256.pem")).unwrap();
        let mut c = claims();
        c["at_hash"] = left_half_hash("ES256", b"access-token-1").unwrap().into();
        let t = sign(&c, Algorithm::ES256, "e1", &ec);
        verify_id_token(&t, &jwks(), &expectations(), crate::oidc::now_secs()).unwrap();
    }

    #[test]
    fn alg_none_is_refused() {
        let h = oidc_b64(r#"{"alg":"none","typ":"JWT"}"#);
        let p = oidc_b64(&claims().to_string());
        let err = verify_id_token(&format!("{h}.{p}."), &jwks(), &expectations(), crate::oidc::now_secs()).unwrap_err();
        assert!(matches!(err, JwtError::Unsigned), "{err}");
    }

    fn oidc_b64(s: &str) -> String {
        crate::oidc::b64url(s.as_bytes())
    }

    #[test]
    fn hs256_keyed_with_public_key_is_refused() {
        let t = sign(&claims(), Algorithm::HS256, "r1", &EncodingKey::from_secret(b"public key text"));
        let err = verify_id_token(&t, &jwks(), &expectations(), crate::oidc::now_secs()).unwrap_err();
        assert!(matches!(err, JwtError::Symmetric { .. }), "{err}");
    }

    #[test]
    fn wrong_key_fails_signature() {
        let rogue = EncodingKey::from_rsa_pem(&key("rs256-rogue.pem")).unwrap();
        let t = sign(&claims(), Algorithm::RS256, "r1", &rogue);
        let err = verify_id_token(&t, &jwks(), &expectations(), crate::oidc::now_secs()).unwrap_err();
        assert!(matches!(err, JwtError::BadSignature { .. }), "{err}");
        let t = sign(&claims(), Algorithm::RS256, "unknown", &rsa());
        assert!(matches!(
            verify_id_token(&t, &jwks(), &expectations(), crate::oidc::now_secs()),
            Err(JwtError::Key(_))
        ));
    }

    #[test]
    fn claim_rules_fail_individually() {
        let now = crate::oidc::now_secs();
        let cases: Vec<(&str, Value, &str)> = vec![
            ("iss", serde_json::json!("https://evil.test"), "iss"),
            ("aud", serde_json::json!(["other"]), "aud"),
            ("exp", serde_json::json!(now - 1000), "exp"),
            ("iat", serde_json::json!(now + 1000), "iat"),
            ("nonce", serde_json::json!("n2"), "nonce"),
            ("at_hash", serde_json::json!("AAAA"), "at_hash"),
            ("aud", serde_json::json!(["c1", "c2"]), "azp"),
        ];
        for (claim, value, expect) in cases {
            let mut c = claims();
            c[claim] = value;
            let t = sign(&c, Algorithm::RS256, "r1", &rsa());
            let err = verify_id_token(&t, &jwks(), &expectations(), crate::oidc::now_secs()).unwrap_err();
            assert!(err.to_string().contains(expect), "{claim}: {err}");
        }
        let mut c = claims();
        c.as_object_mut().unwrap().remove("iat");
        let t = sign(&c, Algorithm::RS256, "r1", &rsa());
        assert!(
            verify_id_token(&t, &jwks(), &expectations(), crate::oidc::now_secs())
                .unwrap_err()
                .to_string()
                .contains("iat")
        );
    }

    #[test]
    fn malformed_tokens_are_errors_not_panics() {
        for bad in ["", "a", "a.b", "a.b.c.d", "!!!.e30.", "e30.!!!.", "W10.e30.", &"x".repeat(MAX_JWT_LEN + 1)] {
            assert!(matches!(Jwt::parse(bad), Err(JwtError::Malformed(_))), "{bad:.20}");
        }
    }
}
