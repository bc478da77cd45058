//! Signing keys of the reference IdP, their public JWKs, and JWS signing.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use p256::elliptic_curve::sec1::ToEncodedPoint;
use rsa::BigUint;
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::pkcs8::{DecodePrivateKey, EncodePublicKey, LineEnding};
use rsa::traits::{PrivateKeyParts, PublicKeyParts};
use serde_json::{Map, Value, json};

use super::IdpError;

/// Key id of the RS256 signing key.
pub const RS256_KID: &str = "rs256-1";
/// Key id of the ES256 signing key.
pub const ES256_KID: &str = "es256-1";

/// The IdP's signing keys: an RSA key (kid `rs256-1`), a P-256 key
/// (kid `es256-1`) and a rogue RSA key that is never published.
#[derive(Clone)]
pub struct Keys {
    rs256: EncodingKey,
    es256: EncodingKey,
    rogue_rs256: EncodingKey,
    rsa_public_pem: String,
    rsa_public: Map<String, Value>,
    rsa_private: Map<String, Value>,
    ec_public: Map<String, Value>,
}

impl fmt::Debug for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keys").field("kids", &[RS256_KID, ES256_KID]).finish_non_exhaustive()
    }
}

/// How a JWS is produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Signer {
    /// RS256 with the published RSA key.
    Rs256,
    /// ES256 with the published P-256 key.
    Es256,
    /// ES256 with the P-256 key, header naming `rs256-1` (the kid the
    /// duplicate-kid fault publishes for it).
    Es256SharedKid,
    /// RS256 with the rogue key, header still naming `rs256-1`.
    RogueRs256,
    /// HS256 keyed with the RSA public key's SPKI PEM text.
    Hs256PublicKey,
    /// Unsigned (`alg: none`).
    Unsigned,
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn b64_uint(n: &BigUint) -> String {
    b64(&n.to_bytes_be())
}

fn key_error(key: &'static str, reason: impl fmt::Display) -> IdpError {
    IdpError::InvalidKey { key, reason: reason.to_string() }
}

fn load_rsa(key: &'static str, pem: &str) -> Result<(rsa::RsaPrivateKey, EncodingKey), IdpError> {
    let private = rsa::RsaPrivateKey::from_pkcs8_pem(pem).map_err(|e| key_error(key, e))?;
    private.validate().map_err(|e| key_error(key, e))?;
    let der = private.to_pkcs1_der().map_err(|e| key_error(key, e))?;
    let encoding = EncodingKey::from_rsa_der(der.as_bytes());
    Ok((private, encoding))
}

impl Keys {
    /// Loads the keys from PKCS#8 PEM private keys: the RS256 key, the ES256
    /// (P-256) key, and the rogue RS256 key used by the
    /// `id-token-bad-signature` fault.
    pub fn from_pem(rs256_pem: &str, es256_pem: &str, rogue_rs256_pem: &str) -> Result<Keys, IdpError> {
        let (rsa_key, rs256) = load_rsa("rs256", rs256_pem)?;
        let (_, rogue_rs256) = load_rsa("rs256-rogue", rogue_rs256_pem)?;

        let ec_key = p256::SecretKey::from_pkcs8_pem(es256_pem).map_err(|e| key_error("es256", e))?;
        let es256 = EncodingKey::from_ec_pem(es256_pem.as_bytes()).map_err(|e| key_error("es256", e))?;
        let point = ec_key.public_key().to_encoded_point(false);
        let (Some(x), Some(y)) = (point.x(), point.y()) else {
            return Err(key_error("es256", "public key is the identity point"));
        };

        let rsa_public_pem =
            rsa_key.to_public_key().to_public_key_pem(LineEnding::LF).map_err(|e| key_error("rs256", e))?;

        let rsa_public = object(json!({
            "kty": "RSA",
            "kid": RS256_KID,
            "use": "sig",
            "alg": "RS256",
            "n": b64_uint(rsa_key.n()),
            "e": b64_uint(rsa_key.e()),
        }));
        let primes = rsa_key.primes();
        if primes.len() != 2 {
            return Err(key_error("rs256", "multi-prime RSA keys are not supported"));
        }
        let (p, q) = (&primes[0], &primes[1]);
        let one = BigUint::from(1u8);
        let qi = rsa_key.crt_coefficient().ok_or_else(|| key_error("rs256", "no CRT coefficient"))?;
        let rsa_private = object(json!({
            "d": b64_uint(rsa_key.d()),
            "p": b64_uint(p),
            "q": b64_uint(q),
            "dp": b64_uint(&(rsa_key.d() % (p - &one))),
            "dq": b64_uint(&(rsa_key.d() % (q - &one))),
            "qi": b64_uint(&qi),
        }));
        let ec_public = object(json!({
            "kty": "EC",
            "crv": "P-256",
            "kid": ES256_KID,
            "use": "sig",
            "alg": "ES256",
            "x": b64(x),
            "y": b64(y),
        }));

        Ok(Keys { rs256, es256, rogue_rs256, rsa_public_pem, rsa_public, rsa_private, ec_public })
    }

    /// The published key set. `expose_private` adds the RSA private members;
    /// `duplicate_kid` gives the EC key the RSA key's kid.
    pub(crate) fn jwks(&self, expose_private: bool, duplicate_kid: bool) -> Value {
        let mut rsa = self.rsa_public.clone();
        if expose_private {
            rsa.extend(self.rsa_private.clone());
        }
        let mut ec = self.ec_public.clone();
        if duplicate_kid {
            ec.insert("kid".into(), RS256_KID.into());
        }
        json!({ "keys": [rsa, ec] })
    }

    /// Produces a compact JWS over `claims`, typed `JWT`.
    pub(crate) fn sign(&self, signer: Signer, claims: &Map<String, Value>) -> String {
        self.sign_typed(signer, "JWT", claims)
    }

    /// Produces a compact JWS over `claims` with header `typ` (an unsigned
    /// token always says `JWT`).
    pub(crate) fn sign_typed(&self, signer: Signer, typ: &str, claims: &Map<String, Value>) -> String {
        let (alg, kid, key) = match signer {
            Signer::Rs256 => (Algorithm::RS256, RS256_KID, &self.rs256),
            Signer::Es256 => (Algorithm::ES256, ES256_KID, &self.es256),
            Signer::Es256SharedKid => (Algorithm::ES256, RS256_KID, &self.es256),
            Signer::RogueRs256 => (Algorithm::RS256, RS256_KID, &self.rogue_rs256),
            Signer::Hs256PublicKey => {
                let key = EncodingKey::from_secret(self.rsa_public_pem.as_bytes());
                return encode_typed(Algorithm::HS256, RS256_KID, typ, claims, &key);
            }
            Signer::Unsigned => {
                let header = json!({ "alg": "none", "typ": "JWT" });
                return format!(
                    "{}.{}.",
                    b64(header.to_string().as_bytes()),
                    b64(Value::Object(claims.clone()).to_string().as_bytes())
                );
            }
        };
        encode_typed(alg, kid, typ, claims, key)
    }
}

fn encode_typed(alg: Algorithm, kid: &str, typ: &str, claims: &Map<String, Value>, key: &EncodingKey) -> String {
    let mut header = Header::new(alg);
    header.kid = Some(kid.to_owned());
    header.typ = Some(typ.to_owned());
    // The keys were validated when loaded, so signing cannot fail.
    jsonwebtoken::encode(&header, claims, key).expect("signing with a validated key")
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn fixture_keys() -> Keys {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/keys/");
        let read = |name: &str| std::fs::read_to_string(format!("{dir}{name}")).unwrap();
        Keys::from_pem(&read("rs256.pem"), &read("es256.pem"), &read("rs256-rogue.pem")).unwrap()
    }

    #[test]
    fn rejects_bad_pem() {
        let keys_dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/keys/");
        let rsa = std::fs::read_to_string(format!("{keys_dir}rs256.pem")).unwrap();
        let ec = std::fs::read_to_string(format!("{keys_dir}es256.pem")).unwrap();
        let err = Keys::from_pem("garbage", &ec, &rsa).unwrap_err();
        assert!(matches!(err, IdpError::InvalidKey { key: "rs256", .. }));
        let err = Keys::from_pem(&rsa, &rsa, &rsa).unwrap_err();
        assert!(matches!(err, IdpError::InvalidKey { key: "es256", .. }));
        let err = Keys::from_pem(&rsa, &ec, &ec).unwrap_err();
        assert!(matches!(err, IdpError::InvalidKey { key: "rs256-rogue", .. }));
    }

    #[test]
    fn debug_hides_key_material() {
        let text = format!("{:?}", fixture_keys());
        assert!(text.contains("rs256-1"));
        assert!(!text.contains("BEGIN"));
    }

    #[test]
    fn private_members_only_on_request() {
        let keys = fixture_keys();
        let public = keys.jwks(false, false);
        for key in public["keys"].as_array().unwrap() {
            for member in ["d", "p", "q", "dp", "dq", "qi"] {
                assert!(key.get(member).is_none());
            }
        }
        let exposed = keys.jwks(true, false);
        for member in ["d", "p", "q", "dp", "dq", "qi"] {
            assert!(exposed["keys"][0][member].is_string());
        }
    }

    #[test]
    fn signatures_verify_with_published_keys() {
        let keys = fixture_keys();
        let jwks: jsonwebtoken::jwk::JwkSet = serde_json::from_value(keys.jwks(false, false)).unwrap();
        let mut claims = Map::new();
        claims.insert("sub".into(), "s".into());
        for (signer, alg, kid) in
            [(Signer::Rs256, Algorithm::RS256, RS256_KID), (Signer::Es256, Algorithm::ES256, ES256_KID)]
        {
            let token = keys.sign(signer, &claims);
            let header = jsonwebtoken::decode_header(&token).unwrap();
            assert_eq!(header.alg, alg);
            assert_eq!(header.kid.as_deref(), Some(kid));
            let key = jsonwebtoken::DecodingKey::from_jwk(jwks.find(kid).unwrap()).unwrap();
            let mut validation = jsonwebtoken::Validation::new(alg);
            validation.required_spec_claims.clear();
            validation.validate_exp = false;
            jsonwebtoken::decode::<Value>(&token, &key, &validation).unwrap();
        }
        let rogue = keys.sign(Signer::RogueRs256, &claims);
        let key = jsonwebtoken::DecodingKey::from_jwk(jwks.find(RS256_KID).unwrap()).unwrap();
        let mut validation = jsonwebtoken::Validation::new(Algorithm::RS256);
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        assert!(jsonwebtoken::decode::<Value>(&rogue, &key, &validation).is_err());

        let unsigned = keys.sign(Signer::Unsigned, &claims);
        assert!(unsigned.ends_with('.'));
        assert_eq!(unsigned.split('.').count(), 3);

        let hs = keys.sign(Signer::Hs256PublicKey, &claims);
        let key = jsonwebtoken::DecodingKey::from_secret(keys.rsa_public_pem.as_bytes());
        let mut validation = jsonwebtoken::Validation::new(Algorithm::HS256);
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        jsonwebtoken::decode::<Value>(&hs, &key, &validation).unwrap();
    }
}
