//! The reference IdP without faults: strict, specification-conformant flows.

mod common;

use common::{AuthParams, Browser, at_hash, form, hidden, jwt_parts, query_param, start};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;

#[tokio::test]
async fn discovery_document_shape() {
    let env = start(None).await;
    let issuer = env.issuer().to_owned();
    assert!(issuer.starts_with("http://127.0.0.1:") && !issuer.ends_with('/'));
    let resp = env.get("/.well-known/openid-configuration").await;
    assert_eq!(resp.status, 200);
    assert!(resp.header("content-type").unwrap().starts_with("application/json"));
    let doc = resp.json();
    assert_eq!(doc["issuer"], issuer.as_str());
    for (key, path) in [
        ("authorization_endpoint", "/authorize"),
        ("token_endpoint", "/token"),
        ("userinfo_endpoint", "/userinfo"),
        ("jwks_uri", "/jwks"),
        ("revocation_endpoint", "/revoke"),
        ("introspection_endpoint", "/introspect"),
    ] {
        assert_eq!(doc[key], format!("{issuer}{path}"));
    }
    assert_eq!(doc["response_types_supported"], serde_json::json!(["code"]));
    assert_eq!(doc["subject_types_supported"], serde_json::json!(["public"]));
    assert_eq!(doc["id_token_signing_alg_values_supported"], serde_json::json!(["RS256", "ES256"]));
    assert_eq!(doc["code_challenge_methods_supported"], serde_json::json!(["S256"]));
    assert_eq!(doc["authorization_response_iss_parameter_supported"], true);
    assert_eq!(
        doc["token_endpoint_auth_methods_supported"],
        serde_json::json!(["client_secret_basic", "client_secret_post", "none"])
    );
    assert!(doc["claims_supported"].as_array().unwrap().len() >= 15);
}

#[tokio::test]
async fn jwks_shape() {
    let env = start(None).await;
    let doc = env.get("/jwks").await.json();
    let keys = doc["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2);
    let rsa = &keys[0];
    assert_eq!(rsa["kty"], "RSA");
    assert_eq!(rsa["kid"], "rs256-1");
    assert_eq!(rsa["use"], "sig");
    assert_eq!(rsa["alg"], "RS256");
    assert_eq!(rsa["e"], "AQAB");
    let ec = &keys[1];
    assert_eq!(ec["kty"], "EC");
    assert_eq!(ec["crv"], "P-256");
    assert_eq!(ec["kid"], "es256-1");
    assert_eq!(ec["alg"], "ES256");
    assert_eq!(ec["x"].as_str().unwrap().len(), 43);
    for key in keys {
        for member in ["d", "p", "q", "dp", "dq", "qi"] {
            assert!(key.get(member).is_none(), "{member} published");
        }
        for value in key.as_object().unwrap().values() {
            let text = value.as_str().unwrap();
            assert!(!text.contains('=') && !text.contains('+') && !text.contains('/'));
        }
    }
    // The set is usable by jsonwebtoken.
    let set = env.jwks().await;
    assert!(set.find("rs256-1").is_some() && set.find("es256-1").is_some());
}

#[tokio::test]
async fn unknown_route_is_404() {
    let env = start(None).await;
    assert_eq!(env.get("/nope").await.status, 404);
}

fn validation(alg: Algorithm, issuer: &str, aud: &str) -> Validation {
    let mut v = Validation::new(alg);
    v.set_issuer(&[issuer]);
    v.set_audience(&[aud]);
    v.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
    v
}

#[tokio::test]
async fn full_login_flow_with_pkce() {
    let env = start(None).await;
    let client = env.client("confidential");
    let params = AuthParams::for_client(&client);
    let mut browser = Browser::default();

    let page = env.login_page(&mut browser, &params).await;
    assert!(page.header("content-type").unwrap().starts_with("text/html"));
    let set_cookie = page.header("set-cookie").unwrap();
    assert!(set_cookie.starts_with("kensa_browser="));
    assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Lax"));
    for fragment in [
        "<form id=\"login\" method=\"post\" action=\"/login\">",
        "<input type=\"text\" name=\"username\" autocomplete=\"username\">",
        "<input type=\"password\" name=\"password\">",
        "<input type=\"hidden\" name=\"request_id\" value=\"",
        "<input type=\"hidden\" name=\"csrf_token\" value=\"",
        "type=\"submit\"",
    ] {
        assert!(page.body.contains(fragment), "{fragment}");
    }

    let alice = env.realm.user("alice").unwrap().clone();
    let resp = env.submit_login(&mut browser, &page, &alice.username, &alice.password).await;
    assert_eq!(resp.status, 303);
    assert!(resp.header_all("set-cookie").iter().any(|c| c.starts_with("kensa_session=") && c.contains("HttpOnly")));
    let callback = resp.location();
    assert!(callback.as_str().starts_with(&client.redirect_uris[0]));
    assert_eq!(query_param(&callback, "state"), params.state);
    assert_eq!(query_param(&callback, "iss").as_deref(), Some(env.issuer()));
    let code = query_param(&callback, "code").unwrap();
    assert!(code.len() >= 22);

    let resp = env.redeem(&client, &params, &code).await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert_eq!(resp.header("cache-control"), Some("no-store"));
    assert_eq!(resp.header("pragma"), Some("no-cache"));
    let tokens = resp.json();
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 300);
    assert_eq!(tokens["scope"], "openid profile email offline_access");
    assert!(tokens["refresh_token"].is_string());
    let access_token = tokens["access_token"].as_str().unwrap();
    let id_token = tokens["id_token"].as_str().unwrap();

    let (header, _) = jwt_parts(id_token);
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["kid"], "rs256-1");
    assert_eq!(header["typ"], "JWT");
    let jwks = env.jwks().await;
    let key = DecodingKey::from_jwk(jwks.find("rs256-1").unwrap()).unwrap();
    let claims =
        jsonwebtoken::decode::<Value>(id_token, &key, &validation(Algorithm::RS256, env.issuer(), &client.client_id))
            .unwrap()
            .claims;
    assert_eq!(claims["sub"], alice.sub.as_str());
    assert_eq!(claims["aud"], client.client_id.as_str());
    assert_eq!(claims["azp"], client.client_id.as_str());
    assert_eq!(claims["nonce"], params.nonce.as_deref().unwrap());
    assert_eq!(claims["at_hash"], at_hash(access_token).as_str());
    let iat = claims["iat"].as_u64().unwrap();
    assert_eq!(claims["exp"].as_u64().unwrap(), iat + 300);
    assert!(claims["auth_time"].as_u64().unwrap() <= iat);
    assert!(claims.get("email").is_none(), "ID token stays minimal");

    let info = env.userinfo(access_token).await;
    assert_eq!(info.status, 200);
    let info = info.json();
    assert_eq!(info["sub"], alice.sub.as_str());
    assert_eq!(info["email"], "alice@example.test");
    assert_eq!(info["name"], "Alice Example");
    assert_eq!(info["email_verified"], true);

    // POST /userinfo with the token in the form body.
    let resp = env.post("/userinfo", &[], &[("access_token", access_token)]).await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.json()["sub"], alice.sub.as_str());

    // The session signs the browser in again without the form.
    let again = AuthParams::for_client(&client);
    let resp = browser.request(env.issuer(), "GET", &format!("/authorize?{}", again.query()), None).await;
    assert_eq!(resp.status, 303);
    let code = query_param(&resp.location(), "code").unwrap();
    let resp = env.redeem(&client, &again, &code).await;
    assert_eq!(resp.status, 200);
    let (_, second) = jwt_parts(resp.json()["id_token"].as_str().unwrap());
    assert_eq!(second["auth_time"], claims["auth_time"]);
}

#[tokio::test]
async fn scope_limits_userinfo_claims() {
    let env = start(None).await;
    let client = env.client("confidential");
    let mut params = AuthParams::for_client(&client);
    params.scope = "openid email unknown-scope".to_owned();
    let code = env.code(&params).await;
    let tokens = env.redeem(&client, &params, &code).await.json();
    assert_eq!(tokens["scope"], "openid email");
    let info = env.userinfo(tokens["access_token"].as_str().unwrap()).await.json();
    assert_eq!(info["email"], "alice@example.test");
    assert!(info.get("name").is_none());
}

#[tokio::test]
async fn public_and_es256_clients() {
    let env = start(None).await;
    let (_, tokens) = env.tokens("public").await;
    let (header, claims) = jwt_parts(tokens["id_token"].as_str().unwrap());
    assert_eq!(header["alg"], "RS256");
    assert_eq!(claims["aud"], "kensa-public");

    let (_, tokens) = env.tokens("es256").await;
    let id_token = tokens["id_token"].as_str().unwrap();
    let (header, _) = jwt_parts(id_token);
    assert_eq!(header["alg"], "ES256");
    assert_eq!(header["kid"], "es256-1");
    let jwks = env.jwks().await;
    let key = DecodingKey::from_jwk(jwks.find("es256-1").unwrap()).unwrap();
    jsonwebtoken::decode::<Value>(id_token, &key, &validation(Algorithm::ES256, env.issuer(), "kensa-es256")).unwrap();
}

#[tokio::test]
async fn basic_credentials_are_form_decoded() {
    let env = start(None).await;
    let client = env.client("reserved-characters");
    assert!(client.client_id.contains(':') && client.client_id.contains(' '));
    let (_, tokens) = env.tokens("reserved-characters").await;
    let (_, claims) = jwt_parts(tokens["id_token"].as_str().unwrap());
    assert_eq!(claims["aud"], client.client_id.as_str());

    // The raw, unencoded secret in Basic is refused.
    let params = AuthParams::for_client(&client);
    let code = env.code(&params).await;
    let raw = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        format!("{}:{}", client.client_id, client.client_secret.as_deref().unwrap()),
    );
    let resp = env
        .post(
            "/token",
            &[("Authorization", format!("Basic {raw}"))],
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", &client.redirect_uris[0]),
                ("code_verifier", params.code_verifier.as_deref().unwrap()),
            ],
        )
        .await;
    assert_eq!(resp.status, 401);

    // A client registered for Basic is held to it: its secret in the body is
    // refused (invalid_client), and the code still redeems by Basic.
    let mut as_post = client.clone();
    as_post.token_endpoint_auth_method = "client_secret_post".into();
    let resp = env.redeem(&as_post, &params, &code).await;
    assert_eq!(resp.status, 401);
    assert_eq!(resp.error(), "invalid_client");
    assert_eq!(env.redeem(&client, &params, &code).await.status, 200);
}

#[tokio::test]
async fn wrong_password_rerenders_form() {
    let env = start(None).await;
    let client = env.client("confidential");
    let params = AuthParams::for_client(&client);
    let mut browser = Browser::default();
    let page = env.login_page(&mut browser, &params).await;
    let resp = env.submit_login(&mut browser, &page, "alice", "wrong").await;
    assert_eq!(resp.status, 200);
    assert!(resp.header("location").is_none());
    assert!(resp.body.contains("<p id=\"login-error\" class=\"error\">Invalid username or password.</p>"));
    assert_eq!(hidden(&resp.body, "request_id"), hidden(&page.body, "request_id"));
    assert_ne!(hidden(&resp.body, "csrf_token"), hidden(&page.body, "csrf_token"));

    let resp2 = env.submit_login(&mut browser, &page, "nobody", "x").await;
    // The old CSRF token was replaced.
    assert_eq!(resp2.status, 403);

    let alice = env.realm.user("alice").unwrap().clone();
    let resp = env.submit_login(&mut browser, &resp, &alice.username, &alice.password).await;
    assert_eq!(resp.status, 303);
}

#[tokio::test]
async fn csrf_failures_are_403() {
    let env = start(None).await;
    let client = env.client("confidential");
    let params = AuthParams::for_client(&client);
    let alice = env.realm.user("alice").unwrap().clone();

    // Wrong token.
    let mut browser = Browser::default();
    let page = env.login_page(&mut browser, &params).await;
    let body = form(&[
        ("request_id", &hidden(&page.body, "request_id")),
        ("csrf_token", "forged"),
        ("username", &alice.username),
        ("password", &alice.password),
    ]);
    let resp = browser.request(env.issuer(), "POST", "/login", Some(&body)).await;
    assert_eq!(resp.status, 403);
    assert!(resp.body.contains("CSRF check failed"));

    // Right token, other browser.
    let mut other = Browser::default();
    let resp = env.submit_login(&mut other, &page, &alice.username, &alice.password).await;
    assert_eq!(resp.status, 403);

    // Unknown request.
    let body = form(&[("request_id", "nope"), ("csrf_token", "x")]);
    let resp = browser.request(env.issuer(), "POST", "/login", Some(&body)).await;
    assert_eq!(resp.status, 400);
    assert!(resp.body.contains("login request expired or unknown"));
}

#[tokio::test]
async fn authorization_errors() {
    let env = start(None).await;
    let client = env.client("confidential");
    let base = AuthParams::for_client(&client);
    let env_ref = &env;
    let get = |query: String| async move { env_ref.get(&format!("/authorize?{query}")).await };

    // Unknown client and unregistered redirect URI: error page, no redirect.
    let mut p = base.clone();
    p.client_id = "nope".into();
    let resp = get(p.query()).await;
    assert_eq!(resp.status, 400);
    assert!(resp.header("location").is_none());
    let mut p = base.clone();
    p.redirect_uri = Some(format!("{}/extra", client.redirect_uris[0]));
    let resp = get(p.query()).await;
    assert_eq!(resp.status, 400);
    assert!(resp.header("location").is_none());

    // A missing redirect_uri is fine with one registered URI.
    let mut p = base.clone();
    p.redirect_uri = None;
    assert_eq!(get(p.query()).await.status, 200);

    let redirect_error = |resp: common::Resp| {
        assert_eq!(resp.status, 303, "{}", resp.body);
        let url = resp.location();
        assert!(url.as_str().starts_with(&client.redirect_uris[0]));
        assert_eq!(query_param(&url, "state"), base.state);
        assert_eq!(query_param(&url, "iss").as_deref(), Some(env.issuer()));
        assert!(query_param(&url, "code").is_none());
        query_param(&url, "error").unwrap()
    };

    let without_type = base.query().replace("response_type=code&", "");
    assert_eq!(redirect_error(get(without_type).await), "invalid_request");
    let token_type = base.query().replace("response_type=code", "response_type=token");
    assert_eq!(redirect_error(get(token_type).await), "unsupported_response_type");
    let mut p = base.clone();
    p.scope = "profile email".into();
    assert_eq!(redirect_error(get(p.query()).await), "invalid_scope");
    let plain = base.query().replace("code_challenge_method=S256", "code_challenge_method=plain");
    assert_eq!(redirect_error(get(plain).await), "invalid_request");
    let repeated = format!("{}&scope=openid", base.query());
    assert_eq!(redirect_error(get(repeated).await), "invalid_request");

    let public = env.client("public");
    let mut p = AuthParams::for_client(&public);
    p.code_challenge = None;
    let resp = get(p.query()).await;
    assert_eq!(resp.status, 303);
    assert_eq!(query_param(&resp.location(), "error").as_deref(), Some("invalid_request"));

    // POST /authorize takes the same parameters.
    let resp = common::send(
        env.issuer(),
        "POST",
        "/authorize",
        &[("Content-Type", "application/x-www-form-urlencoded".into())],
        Some(&base.query()),
    )
    .await;
    assert_eq!(resp.status, 200);
    assert!(resp.body.contains("id=\"login\""));
}

#[tokio::test]
async fn redirect_uri_query_is_kept() {
    let realm_text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/realm.toml"))
        .unwrap()
        .replace("https://client.kensa.test/callback\"", "https://client.kensa.test/callback?tenant=a%20b\"");
    let realm = kensa_mocks::realm::Realm::from_toml(&realm_text).unwrap();
    let idp = kensa_mocks::idp::RunningIdp::start(kensa_mocks::idp::IdpConfig::new(realm.clone(), common::keys()))
        .await
        .unwrap();
    let env = common::Env { idp, realm };
    let client = env.client("confidential");
    let params = AuthParams::for_client(&client);
    let callback = env.authorize(&mut Browser::default(), &params).await;
    assert_eq!(query_param(&callback, "tenant").as_deref(), Some("a b"));
    assert!(query_param(&callback, "code").is_some());
}

#[tokio::test]
async fn token_endpoint_errors() {
    let env = start(None).await;
    let client = env.client("confidential");
    let params = AuthParams::for_client(&client);
    let code = env.code(&params).await;
    let verifier = params.code_verifier.clone().unwrap();
    let redirect = client.redirect_uris[0].clone();
    let secret = client.client_secret.clone().unwrap();
    let grant = |code: &str| {
        vec![
            ("grant_type", "authorization_code".to_owned()),
            ("code", code.to_owned()),
            ("redirect_uri", redirect.clone()),
            ("code_verifier", verifier.clone()),
        ]
    };
    async fn post(env: &common::Env, id: &str, secret: &str, pairs: Vec<(&str, String)>) -> common::Resp {
        let refs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        env.post_basic("/token", id, secret, &refs).await
    }

    // Wrong secret.
    let resp = post(&env, &client.client_id, "wrong", grant(&code)).await;
    assert_eq!(resp.status, 401);
    assert_eq!(resp.error(), "invalid_client");
    assert!(resp.header("www-authenticate").unwrap().starts_with("Basic"));
    assert_eq!(resp.header("cache-control"), Some("no-store"));

    // Both Basic and client_secret in the body.
    let mut both = grant(&code);
    both.push(("client_secret", secret.clone()));
    let resp = post(&env, &client.client_id, &secret, both).await;
    assert_eq!(resp.error(), "invalid_request");

    // Confidential client without a secret.
    let mut bare = grant(&code);
    bare.push(("client_id", client.client_id.clone()));
    let refs: Vec<(&str, &str)> = bare.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(env.post("/token", &[], &refs).await.error(), "invalid_client");

    // client_secret_post is refused for a client registered for Basic
    // (RFC 6749 5.2: invalid_client), before the grant is looked at.
    let mut as_post = grant(&code);
    as_post.push(("client_id", client.client_id.clone()));
    as_post.push(("client_secret", secret.clone()));
    let refs: Vec<(&str, &str)> = as_post.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let resp = env.post("/token", &[], &refs).await;
    assert_eq!(resp.status, 401);
    assert_eq!(resp.error(), "invalid_client");

    // Missing redirect_uri although one was sent.
    let mut no_redirect = grant(&code);
    no_redirect.remove(2);
    assert_eq!(post(&env, &client.client_id, &secret, no_redirect).await.error(), "invalid_grant");

    // Wrong and missing verifier.
    let mut wrong_verifier = grant(&code);
    wrong_verifier[3].1 = common::kensa_random();
    assert_eq!(post(&env, &client.client_id, &secret, wrong_verifier).await.error(), "invalid_grant");
    let mut no_verifier = grant(&code);
    no_verifier.remove(3);
    assert_eq!(post(&env, &client.client_id, &secret, no_verifier).await.error(), "invalid_grant");

    // Another client.
    let other = env.client("other");
    let resp = post(&env, &other.client_id, other.client_secret.as_deref().unwrap(), grant(&code)).await;
    assert_eq!(resp.error(), "invalid_grant");

    // Unknown grant type and missing parameters.
    let resp = post(&env, &client.client_id, &secret, vec![("grant_type", "password".into())]).await;
    assert_eq!(resp.error(), "unsupported_grant_type");
    let resp = post(&env, &client.client_id, &secret, vec![]).await;
    assert_eq!(resp.error(), "invalid_request");
    let resp = post(&env, &client.client_id, &secret, vec![("grant_type", "authorization_code".into())]).await;
    assert_eq!(resp.error(), "invalid_request");

    // After all that the code still works once.
    assert_eq!(post(&env, &client.client_id, &secret, grant(&code)).await.status, 200);
    assert_eq!(post(&env, &client.client_id, &secret, grant("unknown")).await.error(), "invalid_grant");
}

#[tokio::test]
async fn pkce_downgrade_is_refused() {
    let env = start(None).await;
    let client = env.client("confidential");
    let mut params = AuthParams::for_client(&client);
    params.code_challenge = None;
    let code = env.code(&params).await;
    let resp = env.redeem(&client, &params, &code).await;
    assert_eq!(resp.error(), "invalid_grant");
    params.code_verifier = None;
    assert_eq!(env.redeem(&client, &params, &code).await.status, 200);
}

#[tokio::test]
async fn code_reuse_revokes_tokens() {
    let env = start(None).await;
    let client = env.client("confidential");
    let params = AuthParams::for_client(&client);
    let code = env.code(&params).await;
    let first = env.redeem(&client, &params, &code).await.json();
    let access = first["access_token"].as_str().unwrap();
    let refresh = first["refresh_token"].as_str().unwrap();
    assert_eq!(env.userinfo(access).await.status, 200);

    let second = env.redeem(&client, &params, &code).await;
    assert_eq!(second.status, 400);
    assert_eq!(second.error(), "invalid_grant");

    let resp = env.userinfo(access).await;
    assert_eq!(resp.status, 401);
    assert_eq!(resp.header("www-authenticate"), Some("Bearer error=\"invalid_token\""));
    assert_eq!(env.refresh(&client, refresh, None).await.error(), "invalid_grant");
    assert_eq!(env.introspect(access).await, serde_json::json!({"active": false}));
}

#[tokio::test]
async fn refresh_rotation() {
    let env = start(None).await;
    let client = env.client("confidential");
    let (params, first) = env.tokens("confidential").await;
    let (_, first_claims) = jwt_parts(first["id_token"].as_str().unwrap());
    let old = first["refresh_token"].as_str().unwrap();

    let resp = env.refresh(&client, old, Some("openid email")).await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert_eq!(resp.header("cache-control"), Some("no-store"));
    let second = resp.json();
    assert_eq!(second["scope"], "openid email");
    let new = second["refresh_token"].as_str().unwrap();
    assert_ne!(new, old);
    let (_, claims) = jwt_parts(second["id_token"].as_str().unwrap());
    for claim in ["iss", "sub", "aud", "auth_time"] {
        assert_eq!(claims[claim], first_claims[claim], "{claim}");
    }
    assert!(claims.get("nonce").is_none());
    assert!(params.nonce.is_some());
    assert_eq!(claims["at_hash"], at_hash(second["access_token"].as_str().unwrap()).as_str());

    // The new token cannot widen the grant nor serve another client; it
    // works with the full scope, and is rotated in turn.
    assert_eq!(env.refresh(&client, new, Some("openid phone")).await.error(), "invalid_scope");
    let other = env.client("other");
    assert_eq!(env.refresh(&other, new, None).await.error(), "invalid_grant");
    let third = env.refresh(&client, new, None).await.json();
    assert_eq!(third["scope"], "openid profile email offline_access");
    let newest = third["refresh_token"].as_str().unwrap();

    // A spent token presented again reveals a stolen copy (RFC 9700
    // 4.14.2): refused, and the grant's active refresh token is revoked too.
    assert_eq!(env.refresh(&client, old, None).await.error(), "invalid_grant");
    assert_eq!(env.refresh(&client, newest, None).await.error(), "invalid_grant");
}

#[tokio::test]
async fn revocation_and_introspection() {
    let env = start(None).await;
    let client = env.client("confidential");
    let (_, tokens) = env.tokens("confidential").await;
    let access = tokens["access_token"].as_str().unwrap();
    let refresh = tokens["refresh_token"].as_str().unwrap();

    let info = env.introspect(access).await;
    assert_eq!(info["active"], true);
    assert_eq!(info["token_type"], "Bearer");
    assert_eq!(info["client_id"], client.client_id.as_str());
    assert_eq!(info["scope"], "openid profile email offline_access");
    assert_eq!(info["iss"], env.issuer());
    assert_eq!(info["sub"], env.realm.user("alice").unwrap().sub.as_str());
    assert!(info["exp"].as_u64().unwrap() > info["iat"].as_u64().unwrap());
    let info = env.introspect(refresh).await;
    assert_eq!(info["active"], true);
    assert!(info.get("token_type").is_none());
    assert_eq!(env.introspect("unknown").await, serde_json::json!({"active": false}));

    // Introspection needs an authenticated confidential client.
    let resp = env.post("/introspect", &[], &[("token", access)]).await;
    assert_eq!(resp.status, 401);
    assert_eq!(resp.error(), "invalid_client");
    assert!(resp.header("www-authenticate").is_some());
    let public = env.client("public");
    assert_eq!(env.post_as(&public, "/introspect", &[("token", access)]).await.status, 401);

    // Revocation: unknown token is fine, other client's token is refused.
    let resp = env.post_as(&client, "/revoke", &[("token", "unknown")]).await;
    assert_eq!(resp.status, 200);
    assert!(resp.body.is_empty());
    let other = env.client("other");
    let resp = env.post_as(&other, "/revoke", &[("token", access)]).await;
    assert_eq!(resp.status, 400);
    assert_eq!(resp.error(), "unauthorized_client");
    assert_eq!(env.introspect(access).await["active"], true);
    let resp = env.post("/revoke", &[], &[("token", access)]).await;
    assert_eq!(resp.status, 401);

    // Revoking an access token revokes just it.
    let resp = env.post_as(&client, "/revoke", &[("token", access), ("token_type_hint", "access_token")]).await;
    assert_eq!(resp.status, 200);
    assert_eq!(env.introspect(access).await, serde_json::json!({"active": false}));
    assert_eq!(env.userinfo(access).await.status, 401);
    assert_eq!(env.introspect(refresh).await["active"], true);

    // Revoking a refresh token revokes the grant's access tokens.
    let refreshed = env.refresh(&client, refresh, None).await.json();
    let access2 = refreshed["access_token"].as_str().unwrap();
    let refresh2 = refreshed["refresh_token"].as_str().unwrap();
    assert_eq!(env.userinfo(access2).await.status, 200);
    let resp = env.post_as(&client, "/revoke", &[("token", refresh2)]).await;
    assert_eq!(resp.status, 200);
    assert_eq!(env.introspect(refresh2).await["active"], false);
    assert_eq!(env.userinfo(access2).await.status, 401);
    assert_eq!(env.refresh(&client, refresh2, None).await.error(), "invalid_grant");
}

#[tokio::test]
async fn userinfo_without_token() {
    let env = start(None).await;
    let resp = env.get("/userinfo").await;
    assert_eq!(resp.status, 401);
    assert!(resp.header("www-authenticate").unwrap().starts_with("Bearer"));
    let resp = env.userinfo("unknown").await;
    assert_eq!(resp.status, 401);
    assert_eq!(resp.header("www-authenticate"), Some("Bearer error=\"invalid_token\""));
}

#[tokio::test]
async fn shutdown_stops_serving() {
    let env = start(None).await;
    let addr = env.idp.local_addr();
    env.idp.stopped().await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

/// SP-initiated SSO: an AuthnRequest on the HTTP-Redirect binding reaches
/// the login page; one from an unknown SP, for another ACS, sent to another
/// endpoint or not DEFLATEd is refused with the reason.
#[tokio::test]
async fn authn_requests_are_checked_before_the_login_page() {
    use kensa_mocks::idp::{IdpConfig, RunningIdp, SamlIdp, SamlKey};
    use kensa_mocks::saml::authn::AuthnRequest;
    use kensa_mocks::sts::rules::{AWS_ENTITY, Linkage, SIGNIN};

    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
    let read = |name: &str| std::fs::read_to_string(fixtures.join(name)).unwrap();
    let key = SamlKey::from_pem(&read("keys/saml-1.pem"), &read("keys/saml-1.crt")).unwrap();
    let linkage = Linkage::load(&fixtures.join("file-linkage.toml")).unwrap();
    let saml = SamlIdp::new(vec![key], &read("keys/rs256-rogue.pem"), linkage).unwrap();
    let mut config = IdpConfig::new(common::realm(), common::keys());
    config.saml = Some(saml);
    let idp = RunningIdp::start(config).await.unwrap();
    let issuer = idp.issuer().to_owned();
    let sso = format!("{issuer}/saml/sso");
    let request = |f: &dyn Fn(&mut AuthnRequest)| {
        let mut r = AuthnRequest {
            id: "_req1".into(),
            issuer: AWS_ENTITY.into(),
            destination: Some(sso.clone()),
            acs_url: Some(SIGNIN.into()),
            issue_instant: kensa_mocks::time::now_secs(),
        };
        f(&mut r);
        let mut url = url::Url::parse(&sso).unwrap();
        url.query_pairs_mut().append_pair("SAMLRequest", &r.to_redirect_param());
        url.as_str()[issuer.len()..].to_owned()
    };
    let ok = common::send(&issuer, "GET", &request(&|_| {}), &[], None).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert!(ok.body.contains("name=\"password\""), "not the login page: {}", ok.body);
    for (target, reason) in [
        (request(&|r| r.issuer = "urn:someone:else".into()), "unknown service provider"),
        (request(&|r| r.acs_url = Some("https://evil.example/acs".into())), "AssertionConsumerServiceURL"),
        (request(&|r| r.destination = Some("https://other-idp.example/sso".into())), "Destination"),
        ("/saml/sso?SAMLRequest=PHNhbWxwOkF1dGhuUmVxdWVzdC8%2B".to_owned(), "DEFLATE"),
    ] {
        let resp = common::send(&issuer, "GET", &target, &[], None).await;
        assert_eq!(resp.status, 400, "{target}: {}", resp.body);
        assert!(resp.body.contains(reason), "{target}: {reason:?} not in {}", resp.body);
    }
}
