//! The Keycloak container target without Docker: its realm export holds
//! what the features and the seeds' deployments need, and without a Docker
//! engine it says so and is skipped, never reported as passed.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::common::{kensa, root, run_into, summary};

fn export() -> Value {
    let text = std::fs::read_to_string(root().join("fixtures/targets/keycloak/realm-kensa.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn by<'a>(list: &'a Value, key: &str, value: &str) -> &'a Value {
    list.as_array().unwrap().iter().find(|c| c[key] == value).unwrap_or_else(|| panic!("no {key} = {value}"))
}

#[test]
fn the_keycloak_realm_matches_the_realm_fixture_for_the_roles_it_serves() {
    let x = export();
    assert_eq!(x["realm"], "kensa");
    let realm = kensa_mocks::realm::Realm::load(&root().join("fixtures/realm.toml")).unwrap();
    let served = kensa::targets::container::served_realm(&realm, &x).unwrap();
    let roles: BTreeSet<&str> = served.clients.iter().map(|c| c.role.as_str()).collect();
    for role in ["confidential", "other", "public", "es256", "post"] {
        assert!(roles.contains(role), "the export lacks the {role} client");
    }
    for c in &served.clients {
        let k = by(&x["clients"], "clientId", &c.client_id);
        assert_eq!(k["protocol"], "openid-connect");
        assert_eq!(k["enabled"], true);
        assert_eq!(k["publicClient"], c.token_endpoint_auth_method == "none", "{}", c.client_id);
        assert_eq!(k["secret"].as_str(), c.client_secret.as_deref(), "{} secret", c.client_id);
        assert_eq!(k["redirectUris"], serde_json::json!(c.redirect_uris), "{}", c.client_id);
        assert_eq!(k["attributes"]["id.token.signed.response.alg"], c.id_token_signed_response_alg.as_str());
        if c.token_endpoint_auth_method == "none" {
            assert_eq!(k["attributes"]["pkce.code.challenge.method"], "S256", "public clients need PKCE");
        }
    }
    for u in &served.users {
        let k = by(&x["users"], "username", &u.username);
        assert_eq!(k["id"], u.sub.as_str(), "Keycloak's user id is the sub");
        assert_eq!(k["credentials"][0]["value"], u.password.as_str());
        assert_eq!(k["credentials"][0]["temporary"], false);
        assert_eq!(k["email"], u.claims["email"]);
        assert_eq!(k["emailVerified"], u.claims["email_verified"]);
        assert_eq!(k["firstName"], u.claims["given_name"]);
        assert_eq!(k["lastName"], u.claims["family_name"]);
        // The attributes Keycloak's built-in phone and address scopes read.
        let attr = |name: &str| k["attributes"][name][0].as_str().map(str::to_owned);
        if let Some(phone) = u.claims.get("phone_number") {
            assert_eq!(attr("phoneNumber").as_deref(), phone.as_str(), "{}", u.username);
            let verified = u.claims.get("phone_number_verified").and_then(serde_json::Value::as_bool);
            assert_eq!(attr("phoneNumberVerified"), verified.map(|v| v.to_string()), "{}", u.username);
        }
        if let Some(address) = u.claims.get("address") {
            for (claim, attribute) in [
                ("formatted", "formatted"),
                ("street_address", "street"),
                ("locality", "locality"),
                ("region", "region"),
                ("postal_code", "postal_code"),
                ("country", "country"),
            ] {
                assert_eq!(attr(attribute).as_deref(), address[claim].as_str(), "{}: {claim}", u.username);
            }
        }
    }
    assert!(served.user("alice").is_some() && served.user("bob").is_some());
    // Key providers for both ID token algorithms the clients use.
    let keys = x["components"]["org.keycloak.keys.KeyProvider"].as_array().unwrap();
    let providers: BTreeSet<&str> = keys.iter().map(|k| k["providerId"].as_str().unwrap()).collect();
    for p in ["rsa-generated", "ecdsa-generated", "hmac-generated", "aes-generated"] {
        assert!(providers.contains(p), "no {p} key provider");
    }
}

#[test]
fn the_keycloak_realm_has_the_seeds_claims_roles_and_aws_saml_client() {
    let x = export();
    // Custom claims as the remote-signature deployment issues them.
    let conf = by(&x["clients"], "clientId", "kensa-confidential");
    for claim in ["DoctorID", "HcRole"] {
        let m = by(&conf["protocolMappers"], "name", claim);
        assert_eq!(m["protocolMapper"], "oidc-usermodel-attribute-mapper");
        assert_eq!(m["config"]["claim.name"], claim);
        assert_eq!(m["config"]["id.token.claim"], "true");
    }
    let alice = by(&x["users"], "username", "alice");
    assert_eq!(alice["attributes"]["DoctorID"][0], "123456");
    assert_eq!(alice["attributes"]["HcRole"][0], "Medical Doctor");
    // The user profile declares them, or Keycloak 24+ would drop them.
    let up = x["components"]["org.keycloak.userprofile.UserProfileProvider"][0]["config"]["kc.user.profile.config"][0]
        .as_str()
        .unwrap();
    let up: Value = serde_json::from_str(up).unwrap();
    for a in ["username", "email", "firstName", "lastName", "DoctorID", "HcRole"] {
        by(&up["attributes"], "name", a);
    }
    // realm_access and resource_access: realm and client roles assigned.
    let realm_roles: Vec<&str> =
        x["roles"]["realm"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    for r in alice["realmRoles"].as_array().unwrap() {
        assert!(realm_roles.contains(&r.as_str().unwrap()), "{r} is not a realm role");
    }
    assert!(alice["realmRoles"].as_array().unwrap().iter().any(|r| r == "kensa-user"));
    let client_roles: Vec<&str> = x["roles"]["client"]["kensa-confidential"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    for r in alice["clientRoles"]["kensa-confidential"].as_array().unwrap() {
        assert!(client_roles.contains(&r.as_str().unwrap()), "{r} is not a client role");
    }
    // The AWS STS SAML client: IdP-initiated SSO, signed, the three attributes.
    let aws = by(&x["clients"], "clientId", "urn:amazon:webservices");
    assert_eq!(aws["protocol"], "saml");
    assert_eq!(aws["attributes"]["saml_idp_initiated_sso_url_name"], "amazon-aws");
    assert_eq!(aws["attributes"]["saml.assertion.signature"], "true");
    assert_eq!(aws["attributes"]["saml.signature.algorithm"], "RSA_SHA256");
    let attr = |name: &str| {
        let url = format!("https://aws.amazon.com/SAML/Attributes/{name}");
        aws["protocolMappers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["config"]["attribute.name"] == url.as_str())
            .unwrap_or_else(|| panic!("no {name} mapper"))
            .clone()
    };
    let role = attr("Role");
    let pair = role["config"]["attribute.value"].as_str().unwrap();
    let (role_arn, provider_arn) = pair.split_once(',').unwrap();
    assert!(role_arn.starts_with("arn:aws:iam::") && role_arn.contains(":role/"), "{pair}");
    assert!(provider_arn.contains(":saml-provider/"), "{pair}");
    assert_eq!(attr("RoleSessionName")["config"]["user.attribute"], "username");
    let duration: u32 = attr("SessionDuration")["config"]["attribute.value"].as_str().unwrap().parse().unwrap();
    assert!((900..=43200).contains(&duration), "AWS accepts 900..43200 s: {duration}");
}

#[test]
fn without_docker_keycloak_is_unavailable_with_the_reason_and_skipped_only_when_asked() {
    let why = match kensa::targets::container::docker_engine() {
        Err(why) => why,
        Ok(engine) => {
            eprintln!("skipped: a Docker engine answers at {engine}; this test covers machines without one");
            return;
        }
    };
    let out = kensa(&["targets"]);
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().find(|l| l.starts_with("keycloak ")).expect("keycloak listed");
    assert!(line.contains("container") && line.contains("unavailable"), "{line}");
    assert!(text.contains(&why) && why.contains("install Docker Engine"), "{text}");

    // Alone: nothing can run, so nothing is judged (exit 2), with one line.
    let dir = tempfile::tempdir().unwrap();
    let out = run_into(dir.path(), &["--target", "keycloak"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("no Docker engine"), "{stderr}");

    // Beside a target that runs, and asked to: skipped with the reason.
    let dir = tempfile::tempdir().unwrap();
    let out =
        run_into(dir.path(), &["--target", "embedded,keycloak", "--skip-unavailable", "--tags", "@area:discovery"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let s = summary(dir.path());
    let kc = s["targets"].as_array().unwrap().iter().find(|t| t["target"] == "keycloak").unwrap();
    let selected = s["targets"][0]["counts"]["passed"].as_u64().unwrap();
    assert_eq!(kc["counts"]["skipped"], selected, "{}", kc["counts"]);
    assert_eq!(kc["counts"]["passed"], 0);
    for c in kc["checks"].as_array().unwrap() {
        assert!(c["message"].as_str().unwrap().contains("no Docker engine"), "{c}");
    }
    let junit = std::fs::read_to_string(dir.path().join("junit.xml")).unwrap();
    assert!(junit.contains("hostname-target=\"keycloak\""), "the skipped checks reach junit.xml");
    assert_eq!(junit.matches("<skipped message=\"skipped: target &quot;keycloak&quot;").count() as u64, selected);
}
