//! Each fault switch changes the behaviour it names.

mod common;

use std::str::FromStr;

use common::{AuthParams, Browser, Env, at_hash, form, hidden, jwt_parts, query_param, start};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use kensa_mocks::idp::Fault;
use serde_json::{Value, json};

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

async fn id_token_of(env: &Env, role: &str) -> (Value, Value, Value) {
    let (_, tokens) = env.tokens(role).await;
    let (header, claims) = jwt_parts(tokens["id_token"].as_str().unwrap());
    (header, claims, tokens)
}

fn verify(env_jwks: &jsonwebtoken::jwk::JwkSet, kid: &str, alg: Algorithm, token: &str) -> bool {
    let key = DecodingKey::from_jwk(env_jwks.find(kid).unwrap()).unwrap();
    let mut validation = Validation::new(alg);
    validation.validate_aud = false;
    jsonwebtoken::decode::<Value>(token, &key, &validation).is_ok()
}

#[test]
fn every_name_round_trips() {
    for &fault in Fault::ALL {
        assert_eq!(Fault::from_str(fault.name()), Ok(fault));
        assert_eq!(fault.to_string(), fault.name());
        assert!(!fault.description().is_empty());
    }
    let err = Fault::from_str("nope").unwrap_err().to_string();
    assert!(err.starts_with("unknown fault \"nope\"; known faults: "));
}

/// Every fault leaves the server answering; none makes it fail with 5xx.
#[tokio::test]
async fn every_fault_serves_a_flow() {
    for &fault in Fault::ALL {
        let env = start(Some(fault)).await;
        assert_eq!(env.get("/.well-known/openid-configuration").await.status, 200);
        for role in ["confidential", "public", "es256", "post", "reserved-characters"] {
            let client = env.client(role);
            let params = AuthParams::for_client(&client);
            let code = env.code(&params).await;
            let resp = env.redeem(&client, &params, &code).await;
            assert!(resp.status < 500, "{fault}: {}", resp.body);
            let expected_failure = match fault {
                Fault::PkcePlainOnly => true,
                Fault::ClientSecretBasicNotDecoded => role == "reserved-characters",
                Fault::ClientSecretPostRejected => client.token_endpoint_auth_method == "client_secret_post",
                _ => false,
            };
            if expected_failure {
                assert_ne!(resp.status, 200, "{fault} {role}");
                continue;
            }
            assert_eq!(resp.status, 200, "{fault} {role}: {}", resp.body);
            let tokens = resp.json();
            let access = tokens["access_token"].as_str().unwrap();
            let refresh = tokens["refresh_token"].as_str().unwrap();
            assert!(env.userinfo(access).await.status < 500);
            assert!(env.refresh(&client, refresh, None).await.status < 500);
            assert!(env.post_as(&client, "/revoke", &[("token", access)]).await.status < 500);
        }
    }
}

#[tokio::test]
async fn discovery_faults() {
    let env = start(Some(Fault::DiscoveryIssuerMismatch)).await;
    let doc = env.get("/.well-known/openid-configuration").await.json();
    assert_eq!(doc["issuer"], format!("{}/", env.issuer()));
    let (_, claims, _) = id_token_of(&env, "confidential").await;
    assert_eq!(claims["iss"], env.issuer());

    let env = start(Some(Fault::DiscoveryIncomplete)).await;
    let doc = env.get("/.well-known/openid-configuration").await.json();
    assert!(doc.get("subject_types_supported").is_none());
    assert!(doc.get("response_types_supported").is_none());
    assert_eq!(doc["issuer"], env.issuer());

    let env = start(Some(Fault::DiscoveryNoRs256)).await;
    let doc = env.get("/.well-known/openid-configuration").await.json();
    assert_eq!(doc["id_token_signing_alg_values_supported"], json!(["ES256"]));
    let (header, _, _) = id_token_of(&env, "confidential").await;
    assert_eq!(header["alg"], "RS256");
}

#[tokio::test]
async fn jwks_faults() {
    let env = start(Some(Fault::JwksPrivateKeyExposed)).await;
    let doc = env.get("/jwks").await.json();
    for member in ["d", "p", "q", "dp", "dq", "qi"] {
        assert!(doc["keys"][0][member].is_string(), "{member}");
        assert!(doc["keys"][1].get(member).is_none());
    }

    let env = start(Some(Fault::JwksDuplicateKid)).await;
    let doc = env.get("/jwks").await.json();
    assert_eq!(doc["keys"][0]["kid"], "rs256-1");
    assert_eq!(doc["keys"][1]["kid"], "rs256-1");
    assert_eq!(doc["keys"][1]["kty"], "EC");
}

#[tokio::test]
async fn callback_faults() {
    let env = start(Some(Fault::StateNotEchoed)).await;
    let client = env.client("confidential");
    let params = AuthParams::for_client(&client);
    let callback = env.authorize(&mut Browser::default(), &params).await;
    assert!(query_param(&callback, "state").is_none());
    assert_eq!(query_param(&callback, "iss").as_deref(), Some(env.issuer()));
    // Error redirects still carry state.
    let mut bad = params.clone();
    bad.scope = "profile".into();
    let resp = env.get(&format!("/authorize?{}", bad.query())).await;
    assert_eq!(query_param(&resp.location(), "state"), params.state);

    let env = start(Some(Fault::CallbackIssWrong)).await;
    let callback = env.authorize(&mut Browser::default(), &params).await;
    assert_eq!(query_param(&callback, "iss"), Some(format!("{}/wrong", env.issuer())));
    assert_eq!(query_param(&callback, "state"), params.state);
}

#[tokio::test]
async fn login_faults() {
    let env = start(Some(Fault::AnyPasswordAccepted)).await;
    let client = env.client("confidential");
    let params = AuthParams::for_client(&client);
    let mut browser = Browser::default();
    let page = env.login_page(&mut browser, &params).await;
    let resp = env.submit_login(&mut browser, &page, "nobody", "x").await;
    assert_eq!(resp.status, 200);
    let resp = env.submit_login(&mut browser, &resp, "alice", "wrong").await;
    assert_eq!(resp.status, 303);

    let env = start(Some(Fault::LoginCsrfUnchecked)).await;
    let page = env.login_page(&mut Browser::default(), &params).await;
    let alice = env.realm.user("alice").unwrap().clone();
    let body = form(&[
        ("request_id", &hidden(&page.body, "request_id")),
        ("csrf_token", "forged"),
        ("username", &alice.username),
        ("password", &alice.password),
    ]);
    let resp = Browser::default().request(env.issuer(), "POST", "/login", Some(&body)).await;
    assert_eq!(resp.status, 303);
    assert!(query_param(&resp.location(), "code").is_some());
}

#[tokio::test]
async fn authorize_faults() {
    let env = start(Some(Fault::RedirectUriPrefixMatch)).await;
    let client = env.client("confidential");
    let mut params = AuthParams::for_client(&client);
    let evil = format!("{}.evil.test/steal", client.redirect_uris[0]);
    params.redirect_uri = Some(evil.clone());
    let callback = env.authorize(&mut Browser::default(), &params).await;
    assert!(callback.as_str().starts_with(&evil));
    let mut other = params.clone();
    other.redirect_uri = Some("https://elsewhere.test/cb".into());
    assert_eq!(env.get(&format!("/authorize?{}", other.query())).await.status, 400);

    let env = start(Some(Fault::ResponseTypeMissingAccepted)).await;
    let params = AuthParams::for_client(&client);
    let query = params.query().replace("response_type=code&", "");
    let resp = env.get(&format!("/authorize?{query}")).await;
    assert_eq!(resp.status, 200);
    let query = params.query().replace("response_type=code", "response_type=token");
    let resp = env.get(&format!("/authorize?{query}")).await;
    assert_eq!(query_param(&resp.location(), "error").as_deref(), Some("unsupported_response_type"));
}

/// Authorizes, then redeems with a modified verifier.
async fn redeem_with(env: &Env, challenge: bool, verifier: Option<String>) -> common::Resp {
    let client = env.client("confidential");
    let mut params = AuthParams::for_client(&client);
    if !challenge {
        params.code_challenge = None;
    }
    let code = env.code(&params).await;
    params.code_verifier = verifier;
    env.redeem(&client, &params, &code).await
}

#[tokio::test]
async fn pkce_faults() {
    let random = || Some(common::kensa_random());

    let env = start(Some(Fault::PkceVerifierIgnored)).await;
    assert_eq!(redeem_with(&env, true, random()).await.status, 200);
    assert_eq!(redeem_with(&env, true, None).await.error(), "invalid_grant");

    let env = start(Some(Fault::PkceVerifierOptional)).await;
    assert_eq!(redeem_with(&env, true, None).await.status, 200);
    assert_eq!(redeem_with(&env, true, random()).await.error(), "invalid_grant");

    let env = start(Some(Fault::PkceDowngradeAccepted)).await;
    assert_eq!(redeem_with(&env, false, random()).await.status, 200);
    assert_eq!(redeem_with(&env, true, random()).await.error(), "invalid_grant");

    let env = start(Some(Fault::PkcePlainOnly)).await;
    let client = env.client("confidential");
    let mut params = AuthParams::for_client(&client);
    let code = env.code(&params).await;
    assert_eq!(env.redeem(&client, &params, &code).await.error(), "invalid_grant");
    params.code_verifier = params.code_challenge.clone();
    assert_eq!(env.redeem(&client, &params, &code).await.status, 200);
}

#[tokio::test]
async fn client_authentication_faults() {
    let env = start(Some(Fault::ClientSecretBasicNotDecoded)).await;
    let reserved = env.client("reserved-characters");
    let params = AuthParams::for_client(&reserved);
    let code = env.code(&params).await;
    let resp = env.redeem(&reserved, &params, &code).await;
    assert_eq!(resp.status, 401);
    assert_eq!(resp.error(), "invalid_client");
    let confidential = env.client("confidential");
    let params = AuthParams::for_client(&confidential);
    let code = env.code(&params).await;
    assert_eq!(env.redeem(&confidential, &params, &code).await.status, 200);

    let env = start(Some(Fault::ClientSecretPostRejected)).await;
    let post = env.client("post");
    assert_eq!(post.token_endpoint_auth_method, "client_secret_post");
    let params = AuthParams::for_client(&post);
    let code = env.code(&params).await;
    assert_eq!(env.redeem(&post, &params, &code).await.status, 401);
    // Each confidential client is held to its registered method: the post
    // client's secret by Basic is refused too, fault or not.
    let mut as_basic = post.clone();
    as_basic.token_endpoint_auth_method = "client_secret_basic".into();
    let resp = env.redeem(&as_basic, &params, &code).await;
    assert_eq!(resp.status, 401);
    assert_eq!(resp.error(), "invalid_client");
    let env = start(None).await;
    let code = env.code(&params).await;
    assert_eq!(env.redeem(&as_basic, &params, &code).await.status, 401);
    assert_eq!(env.redeem(&post, &params, &code).await.status, 200);

    let env = start(Some(Fault::ClientSecretUnchecked)).await;
    let params = AuthParams::for_client(&confidential);
    let code = env.code(&params).await;
    let mut wrong = confidential.clone();
    wrong.client_secret = Some("wrong".into());
    assert_eq!(env.redeem(&wrong, &params, &code).await.status, 200);
    let mut unknown = wrong.clone();
    unknown.client_id = "unknown".into();
    assert_eq!(env.redeem(&unknown, &params, &code).await.status, 401);
}

#[tokio::test]
async fn code_faults() {
    let env = start(Some(Fault::CodeReusable)).await;
    let client = env.client("confidential");
    let params = AuthParams::for_client(&client);
    let code = env.code(&params).await;
    let first = env.redeem(&client, &params, &code).await.json();
    let second = env.redeem(&client, &params, &code).await;
    assert_eq!(second.status, 200);
    assert_ne!(second.json()["access_token"], first["access_token"]);
    assert_eq!(env.userinfo(first["access_token"].as_str().unwrap()).await.status, 200);

    let env = start(Some(Fault::CodeReuseKeepsTokens)).await;
    let code = env.code(&params).await;
    let first = env.redeem(&client, &params, &code).await.json();
    assert_eq!(env.redeem(&client, &params, &code).await.error(), "invalid_grant");
    assert_eq!(env.userinfo(first["access_token"].as_str().unwrap()).await.status, 200);
    let refresh = first["refresh_token"].as_str().unwrap();
    assert_eq!(env.refresh(&client, refresh, None).await.status, 200);

    let env = start(Some(Fault::TokenRedirectUriUnchecked)).await;
    let code = env.code(&params).await;
    let mut wrong = params.clone();
    wrong.redirect_uri = Some("https://elsewhere.test/cb".into());
    assert_eq!(env.redeem(&client, &wrong, &code).await.status, 200);

    let env = start(Some(Fault::CodeNotBoundToClient)).await;
    let code = env.code(&params).await;
    let other = env.client("other");
    let resp = env.redeem(&other, &params, &code).await;
    assert_eq!(resp.status, 200);
    let (_, claims) = jwt_parts(resp.json()["id_token"].as_str().unwrap());
    assert_eq!(claims["aud"], other.client_id.as_str());
}

#[tokio::test]
async fn token_response_cacheable() {
    let env = start(Some(Fault::TokenResponseCacheable)).await;
    let client = env.client("confidential");
    let params = AuthParams::for_client(&client);
    let code = env.code(&params).await;
    let resp = env.redeem(&client, &params, &code).await;
    assert_eq!(resp.status, 200);
    assert!(resp.header("cache-control").is_none());
    assert!(resp.header("pragma").is_none());
    let resp = env.redeem(&client, &params, &code).await;
    assert_eq!(resp.header("cache-control"), Some("no-store"));
}

#[tokio::test]
async fn id_token_signature_faults() {
    let env = start(Some(Fault::IdTokenBadSignature)).await;
    let jwks = env.jwks().await;
    let (header, _, tokens) = id_token_of(&env, "confidential").await;
    assert_eq!(header["kid"], "rs256-1");
    let token = tokens["id_token"].as_str().unwrap();
    assert!(!verify(&jwks, "rs256-1", Algorithm::RS256, token));
    let (_, _, tokens) = id_token_of(&env, "es256").await;
    assert!(verify(&jwks, "es256-1", Algorithm::ES256, tokens["id_token"].as_str().unwrap()));

    let env = start(Some(Fault::IdTokenAlgNone)).await;
    let (header, claims, tokens) = id_token_of(&env, "confidential").await;
    assert_eq!(header, json!({"alg": "none", "typ": "JWT"}));
    assert!(tokens["id_token"].as_str().unwrap().ends_with('.'));
    assert_eq!(claims["iss"], env.issuer());

    let env = start(Some(Fault::IdTokenHs256Pubkey)).await;
    let (header, _, tokens) = id_token_of(&env, "confidential").await;
    assert_eq!(header["alg"], "HS256");
    assert_eq!(header["kid"], "rs256-1");
    use rsa::pkcs8::{DecodePrivateKey, EncodePublicKey, LineEnding};
    let pem = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/keys/rs256.pem")).unwrap();
    let public_pem =
        rsa::RsaPrivateKey::from_pkcs8_pem(&pem).unwrap().to_public_key().to_public_key_pem(LineEnding::LF).unwrap();
    let key = DecodingKey::from_secret(public_pem.as_bytes());
    let mut validation = Validation::new(Algorithm::HS256);
    validation.validate_aud = false;
    jsonwebtoken::decode::<Value>(tokens["id_token"].as_str().unwrap(), &key, &validation).unwrap();

    let env = start(Some(Fault::Es256Ignored)).await;
    let (header, _, _) = id_token_of(&env, "es256").await;
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["kid"], "rs256-1");
}

#[tokio::test]
async fn id_token_claim_faults() {
    let env = start(Some(Fault::IdTokenWrongIss)).await;
    let (_, claims, _) = id_token_of(&env, "confidential").await;
    assert_eq!(claims["iss"], "https://wrong-issuer.invalid");

    let env = start(Some(Fault::IdTokenAudMissingClient)).await;
    let (_, claims, _) = id_token_of(&env, "confidential").await;
    assert_eq!(claims["aud"], json!(["kensa-someone-else"]));
    assert!(claims.get("azp").is_none());

    let env = start(Some(Fault::IdTokenExpired)).await;
    let (_, claims, _) = id_token_of(&env, "confidential").await;
    let exp = claims["exp"].as_u64().unwrap();
    assert!(exp < now());
    assert_eq!(claims["iat"].as_u64().unwrap() + 300, exp);

    let env = start(Some(Fault::NonceNotEchoed)).await;
    let (_, claims, _) = id_token_of(&env, "confidential").await;
    assert!(claims.get("nonce").is_none());
    assert!(claims.get("at_hash").is_some());

    let env = start(Some(Fault::AtHashWrong)).await;
    let (_, claims, tokens) = id_token_of(&env, "confidential").await;
    assert!(claims["at_hash"].is_string());
    assert_ne!(claims["at_hash"], at_hash(tokens["access_token"].as_str().unwrap()).as_str());

    let env = start(Some(Fault::IdTokenNoIat)).await;
    let (_, claims, _) = id_token_of(&env, "confidential").await;
    assert!(claims.get("iat").is_none());
    assert!(claims.get("exp").is_some());
}

#[tokio::test]
async fn userinfo_faults() {
    let env = start(Some(Fault::UserinfoSubMismatch)).await;
    let (_, claims, tokens) = id_token_of(&env, "confidential").await;
    let info = env.userinfo(tokens["access_token"].as_str().unwrap()).await.json();
    assert_eq!(info["sub"], format!("x-{}", claims["sub"].as_str().unwrap()));

    let env = start(Some(Fault::UserinfoPostUnsupported)).await;
    let (_, _, tokens) = id_token_of(&env, "confidential").await;
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(env.userinfo(access).await.status, 200);
    let resp = env.post("/userinfo", &[("Authorization", format!("Bearer {access}"))], &[]).await;
    assert_eq!(resp.status, 405);

    let env = start(Some(Fault::UserinfoAcceptsInvalidToken)).await;
    let resp = env.userinfo("made-up").await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.json()["sub"], env.realm.users[0].sub.as_str());
    assert_eq!(env.get("/userinfo").await.status, 401);
}

#[tokio::test]
async fn refresh_faults() {
    let env = start(Some(Fault::RefreshIdTokenNewSub)).await;
    let client = env.client("confidential");
    let (_, claims, tokens) = id_token_of(&env, "confidential").await;
    let resp = env.refresh(&client, tokens["refresh_token"].as_str().unwrap(), None).await.json();
    let (_, refreshed) = jwt_parts(resp["id_token"].as_str().unwrap());
    assert_eq!(refreshed["sub"], format!("refreshed-{}", claims["sub"].as_str().unwrap()));

    let env = start(Some(Fault::RefreshNotBoundToClient)).await;
    let (_, _, tokens) = id_token_of(&env, "confidential").await;
    let other = env.client("other");
    let resp = env.refresh(&other, tokens["refresh_token"].as_str().unwrap(), None).await;
    assert_eq!(resp.status, 200);

    let env = start(Some(Fault::RefreshRotationOldValid)).await;
    let (_, _, tokens) = id_token_of(&env, "confidential").await;
    let old = tokens["refresh_token"].as_str().unwrap();
    let new = env.refresh(&client, old, None).await.json();
    assert_ne!(new["refresh_token"].as_str().unwrap(), old);
    assert_eq!(env.refresh(&client, old, None).await.status, 200);

    let env = start(Some(Fault::RefreshScopeEscalation)).await;
    let mut params = AuthParams::for_client(&client);
    params.scope = "openid".into();
    let code = env.code(&params).await;
    let tokens = env.redeem(&client, &params, &code).await.json();
    assert_eq!(tokens["scope"], "openid");
    let refresh = tokens["refresh_token"].as_str().unwrap();
    assert_eq!(env.refresh(&client, refresh, Some("openid kensa-unknown-scope")).await.error(), "invalid_scope");
    let resp = env.refresh(&client, refresh, Some("openid email")).await.json();
    assert_eq!(resp["scope"], "openid email");
    let info = env.userinfo(resp["access_token"].as_str().unwrap()).await.json();
    assert!(info["email"].is_string());
}

#[tokio::test]
async fn revocation_faults() {
    let env = start(Some(Fault::RevocationNoop)).await;
    let client = env.client("confidential");
    let (_, _, tokens) = id_token_of(&env, "confidential").await;
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(env.post_as(&client, "/revoke", &[("token", access)]).await.status, 200);
    assert_eq!(env.userinfo(access).await.status, 200);

    let env = start(Some(Fault::RevocationInvalidTokenError)).await;
    let resp = env.post_as(&client, "/revoke", &[("token", "unknown")]).await;
    assert_eq!(resp.status, 400);
    assert_eq!(resp.error(), "invalid_request");

    let env = start(Some(Fault::RevocationKeepsAccessTokens)).await;
    let (_, _, tokens) = id_token_of(&env, "confidential").await;
    let access = tokens["access_token"].as_str().unwrap();
    let refresh = tokens["refresh_token"].as_str().unwrap();
    assert_eq!(env.post_as(&client, "/revoke", &[("token", refresh)]).await.status, 200);
    assert_eq!(env.refresh(&client, refresh, None).await.error(), "invalid_grant");
    assert_eq!(env.userinfo(access).await.status, 200);

    let env = start(Some(Fault::RevocationAnyClient)).await;
    let (_, _, tokens) = id_token_of(&env, "confidential").await;
    let access = tokens["access_token"].as_str().unwrap();
    let other = env.client("other");
    assert_eq!(env.post_as(&other, "/revoke", &[("token", access)]).await.status, 200);
    assert_eq!(env.userinfo(access).await.status, 401);
}

#[tokio::test]
async fn introspection_faults() {
    let env = start(Some(Fault::IntrospectionAlwaysInactive)).await;
    let (_, _, tokens) = id_token_of(&env, "confidential").await;
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(env.introspect(access).await, json!({"active": false}));
    assert_eq!(env.userinfo(access).await.status, 200);

    let env = start(Some(Fault::IntrospectionRevokedActive)).await;
    let client = env.client("confidential");
    let (_, _, tokens) = id_token_of(&env, "confidential").await;
    let access = tokens["access_token"].as_str().unwrap();
    env.post_as(&client, "/revoke", &[("token", access)]).await;
    assert_eq!(env.userinfo(access).await.status, 401);
    assert_eq!(env.introspect(access).await["active"], true);
    assert_eq!(env.introspect("unknown").await["active"], false);

    let env = start(Some(Fault::IntrospectionUnauthenticated)).await;
    let (_, _, tokens) = id_token_of(&env, "confidential").await;
    let access = tokens["access_token"].as_str().unwrap();
    let resp = env.post("/introspect", &[], &[("token", access)]).await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.json()["active"], true);
}
