//! Every rule of the gateway, each shown by a token or request that breaks
//! only that rule.

use std::path::Path;

use serde_json::{Map, Value, json};
use wiremock::matchers::{body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::*;
use crate::idp::{IdpConfig, Keys, RunningIdp, Signer};
use crate::realm::Realm;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures");
const AUD: &str = "https://api.kensa.test";

fn keys() -> Keys {
    let read = |name: &str| std::fs::read_to_string(format!("{FIXTURES}/keys/{name}")).unwrap();
    Keys::from_pem(&read("rs256.pem"), &read("es256.pem"), &read("rs256-rogue.pem")).unwrap()
}

struct Setup {
    _idp: RunningIdp,
    api: ResourceApi,
    introspection: MockServer,
    issuer: String,
    keys: Keys,
    http: reqwest::Client,
}

async fn setup() -> Setup {
    let realm = Realm::load(Path::new(&format!("{FIXTURES}/realm.toml"))).unwrap();
    let idp = RunningIdp::start(IdpConfig::new(realm, keys())).await.unwrap();
    let issuer = idp.issuer().to_owned();
    let introspection = MockServer::start().await;
    let rules = Rules::load(Path::new(&format!("{FIXTURES}/api/routes.toml"))).unwrap();
    let api = ResourceApi::start(ApiConfig {
        rules,
        issuer: issuer.clone(),
        jwks_uri: Some(format!("{issuer}/jwks")),
        introspection: Some(Introspection {
            endpoint: format!("{}/introspect", introspection.uri()),
            client_id: "gateway".into(),
            client_secret: "gateway secret".into(),
        }),
        clock: crate::time::Clock::new(),
    })
    .await
    .unwrap();
    Setup { _idp: idp, api, introspection, issuer, keys: keys(), http: crate::client_builder().build().unwrap() }
}

impl Setup {
    fn claims(&self, scope: &str) -> Map<String, Value> {
        let now = now();
        json!({
            "iss": self.issuer, "exp": now + 60, "aud": AUD, "sub": "alice-sub",
            "client_id": "kensa-api", "iat": now, "jti": "j-1", "scope": scope,
        })
        .as_object()
        .unwrap()
        .clone()
    }

    fn jwt(&self, claims: &Map<String, Value>) -> String {
        self.keys.sign_typed(Signer::Rs256, "at+jwt", claims)
    }

    async fn get(&self, path: &str, token: Option<&str>) -> (u16, String, Value) {
        let mut req = self.http.get(format!("{}{path}", self.api.base_url()));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let challenge =
            resp.headers().get("www-authenticate").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
        (status, challenge, resp.json().await.unwrap_or(Value::Null))
    }

    async fn refused(&self, token: &str, why: &str) {
        let (status, challenge, body) = self.get("/text/doc", Some(token)).await;
        assert_eq!(status, 401, "{why}: {body}");
        assert!(challenge.starts_with("Bearer realm=\"kensa-api\", error=\"invalid_token\""), "{why}: {challenge}");
        let text = body["error_description"].as_str().unwrap();
        assert!(text.contains(why), "expected {why:?} in {text:?}");
    }
}

#[tokio::test]
async fn a_valid_jwt_opens_its_routes_only() {
    let s = setup().await;
    let token = s.jwt(&s.claims("openid text_apis"));
    let (status, _, body) = s.get("/text/doc", Some(&token)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["validated_by"], "jwt");
    assert_eq!(body["client_id"], "kensa-api");
    let (status, challenge, body) = s.get("/audio/clip", Some(&token)).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(challenge, "Bearer realm=\"kensa-api\", error=\"insufficient_scope\", scope=\"audio_apis all_apis\"");
    let all = s.jwt(&s.claims("all_apis"));
    for route in ["/text/a", "/audio/b", "/video/c"] {
        assert_eq!(s.get(route, Some(&all)).await.0, 200, "{route}");
    }
    assert_eq!(s.get("/other/x", Some(&all)).await.0, 404);
    assert_eq!(s.api.counters().allowed.load(Ordering::Relaxed), 4);
    assert_eq!(s.api.counters().forbidden.load(Ordering::Relaxed), 1);
}

#[tokio::test]
async fn each_jwt_rule_refuses_the_token_that_breaks_it() {
    let s = setup().await;
    let base = s.claims("text_apis");
    s.refused(&s.keys.sign_typed(Signer::Rs256, "JWT", &base), "not at+jwt").await;
    s.refused(&s.keys.sign_typed(Signer::RogueRs256, "at+jwt", &base), "signature").await;
    s.refused(&s.keys.sign_typed(Signer::Hs256PublicKey, "at+jwt", &base), "symmetric").await;
    // alg none is not an algorithm the JWT library knows: not a readable
    // JWT, so it goes to introspection, whose mock knows no such token.
    let unsigned = s.keys.sign(Signer::Unsigned, &base);
    let (status, _, _) = s.get("/text/doc", Some(&unsigned)).await;
    assert_ne!(status, 200);
    let with = |k: &str, v: Value| {
        let mut c = base.clone();
        c.insert(k.into(), v);
        s.jwt(&c)
    };
    let without = |k: &str| {
        let mut c = base.clone();
        c.remove(k);
        s.jwt(&c)
    };
    s.refused(&with("aud", json!("kensa-api")), "not for https://api.kensa.test").await;
    s.refused(&with("aud", json!(["https://other-api.kensa.test"])), "not for").await;
    s.refused(&with("iss", json!("https://evil.invalid")), "iss").await;
    s.refused(&with("exp", json!(now() - 1)), "expired").await;
    s.refused(&with("exp", json!(now())), "expired").await;
    for claim in ["client_id", "jti", "iat"] {
        s.refused(&without(claim), &format!("no {claim}")).await;
    }
    s.refused(&without("sub"), "sub").await;
    s.refused(&without("aud"), "no aud").await;
    // Three dot-separated parts without a JWT header go to introspection.
    assert_eq!(s.get("/text/doc", Some("a.b.c")).await.0, 503);
    // An array audience that includes the gateway is fine.
    let ok = with("aud", json!(["https://other-api.kensa.test", AUD]));
    assert_eq!(s.get("/text/doc", Some(&ok)).await.0, 200);
}

#[tokio::test]
async fn requests_without_a_usable_bearer_token() {
    let s = setup().await;
    let (status, challenge, _) = s.get("/text/doc", None).await;
    assert_eq!((status, challenge.as_str()), (401, "Bearer realm=\"kensa-api\""));
    let token = s.jwt(&s.claims("text_apis"));
    // RFC 6750 2.3 tokens in the query are not looked at.
    let url = format!("{}/text/doc?access_token={token}", s.api.base_url());
    assert_eq!(s.http.get(&url).send().await.unwrap().status(), 401);
    let basic = s.http.get(format!("{}/text/doc", s.api.base_url())).basic_auth("a", Some("b")).send().await.unwrap();
    assert_eq!(basic.status(), 401);
    assert_eq!(basic.headers()["www-authenticate"], "Bearer realm=\"kensa-api\"");
    let twice = s
        .http
        .get(format!("{}/text/doc", s.api.base_url()))
        .header("authorization", format!("Bearer {token}"))
        .header("authorization", format!("Bearer {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(twice.status(), 400);
    s.refused("not a token!", "b64token").await;
}

async fn introspection_says(s: &Setup, answer: ResponseTemplate) {
    s.introspection.reset().await;
    Mock::given(method("POST"))
        .and(path("/introspect"))
        // "gateway secret" form-url-encoded before Basic (RFC 6749 2.3.1).
        .and(header("authorization", "Basic Z2F0ZXdheTpnYXRld2F5K3NlY3JldA=="))
        .and(body_string_contains("token=opaque-token-1"))
        .respond_with(answer)
        .mount(&s.introspection)
        .await;
}

#[tokio::test]
async fn opaque_tokens_are_introspected_with_the_gateways_credentials() {
    let s = setup().await;
    let active = |extra: Value| {
        let mut body = json!({ "active": true, "scope": "text_apis", "client_id": "kensa-api-opaque",
            "sub": "alice-sub", "aud": AUD, "exp": now() + 60 });
        for (k, v) in extra.as_object().unwrap() {
            if v.is_null() {
                body.as_object_mut().unwrap().remove(k);
            } else {
                body[k] = v.clone();
            }
        }
        ResponseTemplate::new(200).set_body_json(body)
    };
    introspection_says(&s, active(json!({}))).await;
    let (status, _, body) = s.get("/text/doc", Some("opaque-token-1")).await;
    assert_eq!((status, body["validated_by"].as_str()), (200, Some("introspection")), "{body}");
    assert_eq!(s.get("/video/doc", Some("opaque-token-1")).await.0, 403);

    introspection_says(&s, ResponseTemplate::new(200).set_body_json(json!({ "active": false }))).await;
    s.refused("opaque-token-1", "not active").await;
    introspection_says(&s, active(json!({ "exp": now() - 1 }))).await;
    s.refused("opaque-token-1", "expired").await;
    introspection_says(&s, active(json!({ "aud": "https://other-api.kensa.test" }))).await;
    s.refused("opaque-token-1", "not for").await;
    // aud is OPTIONAL in an introspection answer (RFC 7662 2.2).
    introspection_says(&s, active(json!({ "aud": null }))).await;
    assert_eq!(s.get("/text/doc", Some("opaque-token-1")).await.0, 200);

    introspection_says(&s, ResponseTemplate::new(500)).await;
    assert_eq!(s.get("/text/doc", Some("opaque-token-1")).await.0, 503);
    introspection_says(&s, ResponseTemplate::new(200).set_body_string("x".repeat(MAX_BODY + 1))).await;
    let (status, _, body) = s.get("/text/doc", Some("opaque-token-1")).await;
    assert_eq!(status, 503);
    assert!(body["error_description"].as_str().unwrap().contains("larger than"), "{body}");
    // A token the mock does not expect gets no answer from it (404): the
    // gateway cannot ask the IdP, and says so with 503.
    assert_eq!(s.get("/text/doc", Some("another-token")).await.0, 503);
    // A refresh token is introspected active too, but is no access token.
    introspection_says(&s, active(json!({ "token_type": "refresh_token" }))).await;
    s.refused("opaque-token-1", "not an access token").await;
    introspection_says(&s, active(json!({ "token_type": "Bearer" }))).await;
    assert_eq!(s.get("/text/doc", Some("opaque-token-1")).await.0, 200);
}

#[test]
fn rules_files_are_checked() {
    assert!(Rules::parse("audience = \"a\"\nrealm = \"r\"\nroutes = []\n", "x.toml").is_err());
    let err =
        Rules::parse("audience = \"a\"\nrealm = \"r\"\n[[routes]]\nprefix = \"text\"\nscopes = [\"s\"]\n", "x.toml")
            .unwrap_err();
    assert!(err.to_string().contains("prefix starting with /"), "{err}");
    let err = Rules::parse(
        "audience = \"a\"\nrealm = \"r\"\nbogus = 1\n[[routes]]\nprefix = \"/t/\"\nscopes = [\"s\"]\n",
        "x.toml",
    )
    .unwrap_err();
    assert!(err.to_string().contains("bogus"), "{err}");
}

#[tokio::test]
async fn the_challenge_is_sent_whatever_the_token_says() {
    let s = setup().await;
    let mut claims = s.claims("text_apis");
    claims.insert("iss".into(), json!("https://é.example\n\"x\""));
    let (status, challenge, _) = s.get("/text/doc", Some(&s.jwt(&claims))).await;
    assert_eq!(status, 401);
    assert!(challenge.starts_with("Bearer realm=\"kensa-api\", error=\"invalid_token\""), "{challenge}");
    assert!(challenge.chars().all(|c| (' '..='~').contains(&c)), "{challenge}");
}

/// Seconds since the UNIX epoch (the gateway under test reads the real time).
fn now() -> u64 {
    u64::try_from(crate::time::now_secs()).unwrap_or(0)
}
