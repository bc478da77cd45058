//! Redaction rules: what a snapshot keeps, and what it replaces by a
//! placeholder after checking it.
//!
//! A volatile value (a timestamp, a nonce, a random id, a hash, a token)
//! would make every run differ, so a snapshot cannot hold it. Hiding it
//! outright would also hide a broken value, so each rule first checks the
//! value and writes the outcome into its placeholder: `exp` becomes
//! `[iat + 300 s]` (a changed lifetime is drift), `nonce` becomes
//! `[the nonce sent]` or `[NOT the nonce sent]` (a wrong nonce is drift and a
//! [`Violation`]). Values that are stable for a deployment (claims of the
//! fixture users, scopes, `expires_in`) are kept as they are, and the
//! issuer URL, whose port changes from run to run, becomes `{issuer}`.
//!
//! | member | placeholder | checked before it is hidden |
//! |---|---|---|
//! | `iat` | `[now]` | within [`NOW_WINDOW_SECS`] of the local clock |
//! | `exp` | `[iat + N s]` | after `iat` (or `[in the future]` without `iat`) |
//! | `nbf` | `[iat + N s]` | not after `exp` |
//! | `auth_time` | `[at or before iat]` | not after `iat` (plus leeway), within a day |
//! | `updated_at` | `[timestamp]` | a number |
//! | `nonce` | `[the nonce sent]` | equals the nonce of the authorization request |
//! | `jti`, `sid`, `session_state` | `[jti]` ... | a non-empty string |
//! | `at_hash` | `[matches access_token]` | the left-half hash of the access token |
//! | `c_hash` | `[matches code]` | the left-half hash of the code |
//! | `kid` (JOSE header) | `[a JWKS kid]` | names a key in the target's JWKS |
//! | `sub` | kept, or `[opaque sub]` | kept when it is the fixture user's sub or username |
//! | `access_token`, `refresh_token`, `id_token` | `[JWT alg=RS256 typ=at+jwt]`, `[opaque]` | never kept |
//! | `scope` | sorted | space-delimited, order does not matter (RFC 6749 3.3) |
//!
//! Whatever the rules keep is finally passed through the run's scrubber: a
//! snapshot that would contain a secret is refused, never written.

use serde_json::{Map, Value};

use crate::oidc::jwt::{DEFAULT_LEEWAY_SECS, Jwt, left_half_hash};

/// How far `iat` may be from the local clock and still read `[now]`.
pub const NOW_WINDOW_SECS: i64 = 300;

/// What the redaction rules check values against.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// The issuer URL, replaced by `{issuer}`.
    pub issuer: String,
    /// The current time, seconds since the epoch.
    pub now: i64,
    /// The nonce sent in the authorization request.
    pub nonce: Option<String>,
    /// The access token the ID token's `at_hash` must match.
    pub access_token: Option<String>,
    /// The code the ID token's `c_hash` must match.
    pub code: Option<String>,
    /// The JOSE `alg` for `at_hash`/`c_hash` (the ID token's).
    pub alg: Option<String>,
    /// kids published in the target's JWKS.
    pub jwks_kids: Vec<String>,
    /// Subject identifiers that are stable and kept: the fixture user's
    /// sub and username.
    pub stable_subs: Vec<String>,
}

/// A value a redaction rule found broken, beside the placeholder it wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Path of the value, like `claims.nonce`.
    pub path: String,
    /// What is wrong.
    pub problem: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.problem)
    }
}

/// Applies the rules to JSON values, collecting violations.
#[derive(Debug)]
pub struct Redactor<'a> {
    ctx: &'a Context,
    violations: Vec<Violation>,
}

impl<'a> Redactor<'a> {
    /// A redactor checking against `ctx`.
    #[must_use]
    pub fn new(ctx: &'a Context) -> Self {
        Self { ctx, violations: Vec::new() }
    }

    /// The violations found so far.
    #[must_use]
    pub fn violations(self) -> Vec<Violation> {
        self.violations
    }

    fn violation(&mut self, path: &str, problem: impl Into<String>) {
        self.violations.push(Violation { path: path.to_owned(), problem: problem.into() });
    }

    /// A JWT as `{"header": ..., "claims": ...}`, both redacted.
    pub fn jwt(&mut self, jwt: &Jwt) -> Value {
        let mut header = Map::new();
        for (k, v) in &jwt.header {
            let out = if k == "kid" { self.kid(v) } else { self.value(&format!("header.{k}"), k, v, None) };
            header.insert(k.clone(), out);
        }
        let claims = self.object("claims", &jwt.claims);
        serde_json::json!({ "header": Value::Object(header), "claims": claims })
    }

    /// A JSON object (claims, a userinfo or introspection response, a
    /// token response, a discovery document).
    pub fn object(&mut self, path: &str, map: &Map<String, Value>) -> Value {
        let iat = map.get("iat").and_then(Value::as_i64);
        let mut out = Map::new();
        for (k, v) in map {
            let p = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
            out.insert(k.clone(), self.value(&p, k, v, iat));
        }
        Value::Object(out)
    }

    fn value(&mut self, path: &str, key: &str, v: &Value, iat: Option<i64>) -> Value {
        match key {
            "iat" => self.iat(path, v),
            "exp" => self.after_iat(path, v, iat, true),
            "nbf" => self.after_iat(path, v, iat, false),
            "auth_time" => self.auth_time(path, v, iat),
            "updated_at" => self.timestamp(path, v),
            "nonce" => self.nonce(path, v),
            "jti" | "sid" | "session_state" => self.random_id(path, key, v),
            "at_hash" => self.hash(path, v, self.ctx.access_token.clone(), "access_token"),
            "c_hash" => self.hash(path, v, self.ctx.code.clone(), "code"),
            "sub" => self.sub(v),
            "access_token" | "refresh_token" | "id_token" => token_shape(v),
            "scope" => match v {
                Value::String(s) => {
                    let mut parts: Vec<&str> = s.split_whitespace().collect();
                    parts.sort_unstable();
                    Value::String(parts.join(" "))
                }
                other => self.generic(path, other),
            },
            _ => self.generic(path, v),
        }
    }

    fn generic(&mut self, path: &str, v: &Value) -> Value {
        match v {
            Value::String(s) => Value::String(self.issuer_relative(s)),
            Value::Array(items) => Value::Array(items.iter().map(|i| self.generic(path, i)).collect()),
            Value::Object(map) => self.object(path, map),
            other => other.clone(),
        }
    }

    /// `s` with the issuer URL replaced by `{issuer}`.
    #[must_use]
    pub fn issuer_relative(&self, s: &str) -> String {
        if self.ctx.issuer.is_empty() { s.to_owned() } else { s.replace(&self.ctx.issuer, "{issuer}") }
    }

    fn kid(&mut self, v: &Value) -> Value {
        match v.as_str() {
            Some(kid) if self.ctx.jwks_kids.iter().any(|k| k == kid) => "[a JWKS kid]".into(),
            Some(_) => {
                self.violation("header.kid", "names no key of the target's JWKS");
                "[kid NOT in the JWKS]".into()
            }
            None => {
                self.violation("header.kid", "is not a string");
                v.clone()
            }
        }
    }

    fn number(&mut self, path: &str, v: &Value) -> Option<i64> {
        let n = v.as_i64().or_else(|| v.as_f64().map(|f| f as i64));
        if n.is_none() {
            self.violation(path, format!("is {v}, not a NumericDate (seconds since the epoch)"));
        }
        n
    }

    fn iat(&mut self, path: &str, v: &Value) -> Value {
        let Some(iat) = self.number(path, v) else { return v.clone() };
        let off = iat - self.ctx.now;
        if off.abs() <= NOW_WINDOW_SECS {
            "[now]".into()
        } else {
            self.violation(path, format!("is {off} s from the local clock (allowed: {NOW_WINDOW_SECS} s)"));
            "[NOT now]".into()
        }
    }

    fn after_iat(&mut self, path: &str, v: &Value, iat: Option<i64>, is_exp: bool) -> Value {
        let Some(t) = self.number(path, v) else { return v.clone() };
        match iat {
            Some(iat) if is_exp && t <= iat => {
                self.violation(path, format!("is not after iat ({} s)", t - iat));
                format!("[iat {} s]", t - iat).into()
            }
            Some(iat) => format!("[iat + {} s]", t - iat).into(),
            None if is_exp && t > self.ctx.now - DEFAULT_LEEWAY_SECS => "[in the future]".into(),
            None if is_exp => {
                self.violation(path, "is in the past");
                "[in the PAST]".into()
            }
            None => "[timestamp]".into(),
        }
    }

    fn auth_time(&mut self, path: &str, v: &Value, iat: Option<i64>) -> Value {
        let Some(t) = self.number(path, v) else { return v.clone() };
        let reference = iat.unwrap_or(self.ctx.now);
        if t > reference + DEFAULT_LEEWAY_SECS {
            self.violation(path, format!("is {} s after iat", t - reference));
            "[AFTER iat]".into()
        } else if reference - t > 86_400 {
            self.violation(path, format!("is {} s before iat, more than a day", reference - t));
            "[more than a day before iat]".into()
        } else {
            "[at or before iat]".into()
        }
    }

    fn timestamp(&mut self, path: &str, v: &Value) -> Value {
        match self.number(path, v) {
            Some(_) => "[timestamp]".into(),
            None => v.clone(),
        }
    }

    fn nonce(&mut self, path: &str, v: &Value) -> Value {
        match (&self.ctx.nonce, v.as_str()) {
            (Some(sent), Some(got)) if sent == got => "[the nonce sent]".into(),
            (Some(_), _) => {
                self.violation(path, "is not the nonce sent in the authorization request");
                "[NOT the nonce sent]".into()
            }
            (None, _) => {
                self.violation(path, "is present although no nonce was sent");
                "[a nonce that was never sent]".into()
            }
        }
    }

    fn random_id(&mut self, path: &str, key: &str, v: &Value) -> Value {
        match v.as_str() {
            Some(s) if !s.is_empty() => format!("[{key}]").into(),
            _ => {
                self.violation(path, format!("is {v}, not a non-empty string"));
                format!("[{key}: NOT a non-empty string]").into()
            }
        }
    }

    fn hash(&mut self, path: &str, v: &Value, input: Option<String>, of: &str) -> Value {
        let expected = input.zip(self.ctx.alg.clone()).and_then(|(i, alg)| left_half_hash(&alg, i.as_bytes()));
        match (expected, v.as_str()) {
            (Some(e), Some(got)) if e == got => format!("[matches {of}]").into(),
            (Some(_), _) => {
                self.violation(path, format!("does not match the {of}"));
                format!("[does NOT match {of}]").into()
            }
            (None, _) => format!("[{}]", path.rsplit('.').next().unwrap_or(path)).into(),
        }
    }

    fn sub(&mut self, v: &Value) -> Value {
        match v.as_str() {
            Some(s) if self.ctx.stable_subs.iter().any(|x| x == s) => v.clone(),
            Some(_) => "[opaque sub]".into(),
            None => v.clone(),
        }
    }
}

/// A token's shape, never its value: `[JWT alg=RS256 typ=at+jwt]` or
/// `[opaque]`.
#[must_use]
pub fn token_shape(v: &Value) -> Value {
    let Some(s) = v.as_str() else { return "[not a string]".into() };
    match Jwt::parse(s) {
        Ok(jwt) => {
            let typ = jwt.header.get("typ").and_then(Value::as_str).map(|t| format!(" typ={t}")).unwrap_or_default();
            format!("[JWT alg={}{typ}]", jwt.alg()).into()
        }
        Err(_) => "[opaque]".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ctx() -> Context {
        Context {
            issuer: "http://127.0.0.1:4000".into(),
            now: 1_000_000,
            nonce: Some("n-1".into()),
            access_token: Some("at".into()),
            alg: Some("RS256".into()),
            jwks_kids: vec!["k1".into()],
            stable_subs: vec!["alice".into()],
            ..Context::default()
        }
    }

    fn redact(v: Value) -> (Value, Vec<Violation>) {
        let c = ctx();
        let mut r = Redactor::new(&c);
        let out = r.object("", v.as_object().unwrap());
        (out, r.violations())
    }

    #[test]
    fn good_values_become_stable_placeholders() {
        let at_hash = left_half_hash("RS256", b"at").unwrap();
        let (out, v) = redact(json!({
            "iss": "http://127.0.0.1:4000", "sub": "alice", "iat": 1_000_010, "exp": 1_000_310,
            "auth_time": 999_990, "nonce": "n-1", "jti": "x", "at_hash": at_hash, "scope": "b a",
            "userinfo_endpoint": "http://127.0.0.1:4000/me",
        }));
        assert!(v.is_empty(), "{v:?}");
        assert_eq!(
            out,
            json!({
                "iss": "{issuer}", "sub": "alice", "iat": "[now]", "exp": "[iat + 300 s]",
                "auth_time": "[at or before iat]", "nonce": "[the nonce sent]", "jti": "[jti]",
                "at_hash": "[matches access_token]", "scope": "a b", "userinfo_endpoint": "{issuer}/me",
            })
        );
    }

    #[test]
    fn broken_values_are_violations_and_drift() {
        let (out, v) = redact(json!({
            "sub": "someone", "iat": 2_000_000, "exp": 1_000_000, "auth_time": 3_000_000,
            "nonce": "other", "jti": "", "at_hash": "nope",
        }));
        let paths: Vec<&str> = v.iter().map(|x| x.path.as_str()).collect();
        assert_eq!(paths, ["at_hash", "auth_time", "exp", "iat", "jti", "nonce"]);
        assert_eq!(out["sub"], "[opaque sub]");
        assert_eq!(out["nonce"], "[NOT the nonce sent]");
        assert_eq!(out["at_hash"], "[does NOT match access_token]");
    }

    #[test]
    fn tokens_keep_only_their_shape() {
        assert_eq!(token_shape(&json!("opaque-value")), json!("[opaque]"));
        // {"alg":"RS256","typ":"at+jwt"}.{}.sig
        let jwt = "eyJhbGciOiJSUzI1NiIsInR5cCI6ImF0K2p3dCJ9.e30.c2ln";
        assert_eq!(token_shape(&json!(jwt)), json!("[JWT alg=RS256 typ=at+jwt]"));
    }

    #[test]
    fn a_kid_outside_the_jwks_is_a_violation() {
        let c = ctx();
        let mut r = Redactor::new(&c);
        let jwt = Jwt::parse("eyJhbGciOiJSUzI1NiIsImtpZCI6Imt4In0.e30.c2ln").unwrap();
        let out = r.jwt(&jwt);
        assert_eq!(out["header"]["kid"], "[kid NOT in the JWKS]");
        assert_eq!(r.violations().len(), 1);
    }
}
