//! JSON Web Key Sets (RFC 7517) and key selection for JWS verification.

use jsonwebtoken::DecodingKey;
use serde_json::Value;
use url::Url;

use crate::http::{HttpClient, HttpError, Request, preview};

/// Errors fetching a JWKS or picking a key from it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JwksError {
    /// The request failed.
    #[error("cannot fetch the JWKS: {0}")]
    Http(#[from] HttpError),
    /// Not 200.
    #[error("{url} answered HTTP {status}, not 200: {body}")]
    Status {
        /// JWKS URL.
        url: String,
        /// Status received.
        status: u16,
        /// Start of the body.
        body: String,
    },
    /// Not a JWK Set.
    #[error("{url} is not a JWK Set: {reason}")]
    NotJwks {
        /// JWKS URL.
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// No key has the token's kid (and a fitting key type).
    #[error("no {kty} key with kid {kid:?} in the JWKS (kids present: {present})")]
    UnknownKid {
        /// The kid asked for.
        kid: String,
        /// The key type the algorithm needs.
        kty: String,
        /// Kids in the set.
        present: String,
    },
    /// More than one fitting key has the kid.
    #[error("{count} {kty} keys share kid {kid:?}: the key is ambiguous")]
    AmbiguousKid {
        /// The kid.
        kid: String,
        /// Key type.
        kty: String,
        /// How many keys matched.
        count: usize,
    },
    /// The token has no kid and several keys could fit.
    #[error(
        "the token has no kid and the JWKS has {count} {kty} keys: OpenID Connect Core 10.1 requires a kid when several keys are present"
    )]
    KidRequired {
        /// Key type.
        kty: String,
        /// How many keys fit.
        count: usize,
    },
    /// The JWK's members do not make a usable key.
    #[error("the JWK with kid {kid:?} is not a usable {kty} key: {reason}")]
    BadKey {
        /// The kid.
        kid: String,
        /// Key type.
        kty: String,
        /// Why.
        reason: String,
    },
}

/// A fetched JSON Web Key Set.
#[derive(Debug, Clone)]
pub struct Jwks {
    /// The keys, as published.
    pub keys: Vec<Value>,
}

/// Private or symmetric members per key type (RFC 7518 6.2.2, 6.3.2, 6.4).
const PRIVATE_MEMBERS: &[(&str, &[&str])] =
    &[("RSA", &["d", "p", "q", "dp", "dq", "qi", "oth"]), ("EC", &["d"]), ("OKP", &["d"]), ("oct", &["k"])];

impl Jwks {
    /// Fetches a JWKS.
    ///
    /// # Errors
    /// On HTTP failure, a non-200 status, or a body that is not a JWK Set.
    pub async fn fetch(http: &HttpClient, url: Url) -> Result<Self, JwksError> {
        let resp = http.send(Request::get(url.clone())).await?;
        if resp.status != 200 {
            return Err(JwksError::Status {
                url: url.to_string(),
                status: resp.status,
                body: preview(&resp.text(), 120),
            });
        }
        let v = resp.json().map_err(|reason| JwksError::NotJwks { url: url.to_string(), reason })?;
        Self::from_value(&v).map_err(|reason| JwksError::NotJwks { url: url.to_string(), reason })
    }

    /// Reads a JWK Set document.
    ///
    /// # Errors
    /// When it has no `keys` array of objects.
    pub fn from_value(v: &Value) -> Result<Self, String> {
        let keys = v.get("keys").and_then(Value::as_array).ok_or_else(|| "no \"keys\" array".to_owned())?;
        if let Some(bad) = keys.iter().position(|k| !k.is_object()) {
            return Err(format!("keys[{bad}] is not an object"));
        }
        Ok(Self { keys: keys.clone() })
    }

    /// Kids of every key, in order (`-` for a key without one).
    #[must_use]
    pub fn kids(&self) -> Vec<String> {
        self.keys.iter().map(|k| k.get("kid").and_then(Value::as_str).unwrap_or("-").to_owned()).collect()
    }

    /// For each key that carries private or symmetric material: its kid and
    /// the offending members. Empty when the set is public only.
    #[must_use]
    pub fn private_material(&self) -> Vec<(String, Vec<&'static str>)> {
        let mut found = Vec::new();
        for k in &self.keys {
            let kty = k.get("kty").and_then(Value::as_str).unwrap_or("");
            let kid = k.get("kid").and_then(Value::as_str).unwrap_or("-").to_owned();
            for (t, members) in PRIVATE_MEMBERS {
                if *t == kty {
                    let present: Vec<&'static str> = members.iter().copied().filter(|m| k.get(*m).is_some()).collect();
                    if !present.is_empty() {
                        found.push((kid.clone(), present));
                    }
                }
            }
        }
        found
    }

    /// Kids used by more than one key.
    #[must_use]
    pub fn duplicate_kids(&self) -> Vec<String> {
        let mut seen = std::collections::BTreeMap::<String, usize>::new();
        for k in &self.keys {
            if let Some(kid) = k.get("kid").and_then(Value::as_str) {
                *seen.entry(kid.to_owned()).or_default() += 1;
            }
        }
        seen.into_iter().filter(|(_, n)| *n > 1).map(|(k, _)| k).collect()
    }

    /// The verification key for a JWS with `kty` (from its alg) and `kid`.
    ///
    /// # Errors
    /// When no single key fits, or the fitting key is malformed.
    pub fn key_for(&self, kty: &str, kid: Option<&str>) -> Result<DecodingKey, JwksError> {
        let fitting: Vec<&Value> = self
            .keys
            .iter()
            .filter(|k| k.get("kty").and_then(Value::as_str) == Some(kty))
            .filter(|k| k.get("use").and_then(Value::as_str).is_none_or(|u| u == "sig"))
            .collect();
        let chosen = match kid {
            Some(kid) => {
                let with_kid: Vec<&&Value> =
                    fitting.iter().filter(|k| k.get("kid").and_then(Value::as_str) == Some(kid)).collect();
                match with_kid.len() {
                    0 => {
                        return Err(JwksError::UnknownKid {
                            kid: kid.into(),
                            kty: kty.into(),
                            present: self.kids().join(", "),
                        });
                    }
                    1 => *with_kid[0],
                    n => {
                        return Err(JwksError::AmbiguousKid { kid: kid.into(), kty: kty.into(), count: n });
                    }
                }
            }
            None => match fitting.len() {
                1 => fitting[0],
                0 => {
                    return Err(JwksError::UnknownKid {
                        kid: "(none)".into(),
                        kty: kty.into(),
                        present: self.kids().join(", "),
                    });
                }
                n => {
                    return Err(JwksError::KidRequired { kty: kty.into(), count: n });
                }
            },
        };
        decoding_key(chosen, kty)
    }
}

fn decoding_key(jwk: &Value, kty: &str) -> Result<DecodingKey, JwksError> {
    let kid = jwk.get("kid").and_then(Value::as_str).unwrap_or("-").to_owned();
    let member = |m: &str| {
        jwk.get(m).and_then(Value::as_str).ok_or_else(|| JwksError::BadKey {
            kid: kid.clone(),
            kty: kty.into(),
            reason: format!("member {m:?} missing or not a string"),
        })
    };
    let bad =
        |e: jsonwebtoken::errors::Error| JwksError::BadKey { kid: kid.clone(), kty: kty.into(), reason: e.to_string() };
    match kty {
        "RSA" => DecodingKey::from_rsa_components(member("n")?, member("e")?).map_err(bad),
        "EC" => {
            let crv = member("crv")?;
            if crv != "P-256" && crv != "P-384" {
                return Err(JwksError::BadKey { kid, kty: kty.into(), reason: format!("unsupported curve {crv}") });
            }
            DecodingKey::from_ec_components(member("x")?, member("y")?).map_err(bad)
        }
        other => Err(JwksError::BadKey { kid, kty: other.into(), reason: "unsupported key type".into() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_private_material_and_duplicate_kids() {
        let j = Jwks::from_value(&serde_json::json!({"keys":[
            {"kty":"RSA","kid":"a","n":"AQAB","e":"AQAB","d":"x"},
            {"kty":"EC","kid":"a","crv":"P-256","x":"x","y":"y"},
            {"kty":"oct","kid":"h","k":"c2VjcmV0"}
        ]}))
        .unwrap();
        let p = j.private_material();
        assert_eq!(p, vec![("a".to_owned(), vec!["d"]), ("h".to_owned(), vec!["k"])]);
        assert_eq!(j.duplicate_kids(), vec!["a".to_owned()]);
    }

    #[test]
    fn key_selection_errors_are_specific() {
        let j = Jwks::from_value(&serde_json::json!({"keys":[
            {"kty":"RSA","kid":"r1","n":"AQAB","e":"AQAB"},
            {"kty":"RSA","kid":"r2","n":"AQAB","e":"AQAB"}
        ]}))
        .unwrap();
        assert!(matches!(j.key_for("RSA", Some("zz")), Err(JwksError::UnknownKid { .. })));
        assert!(matches!(j.key_for("RSA", None), Err(JwksError::KidRequired { count: 2, .. })));
        assert!(matches!(j.key_for("EC", Some("r1")), Err(JwksError::UnknownKid { .. })));
        assert!(Jwks::from_value(&serde_json::json!({"nokeys":1})).is_err());
        assert!(Jwks::from_value(&serde_json::json!({"keys":[1]})).is_err());
    }
}
