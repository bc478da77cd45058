//! Provider metadata (OpenID Connect Discovery) and the JWKS.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use super::{App, Fault, SCOPES_SUPPORTED};

/// `GET /.well-known/openid-configuration`.
pub(crate) async fn openid_configuration(State(app): State<Arc<App>>) -> Json<Value> {
    Json(metadata(&app))
}

/// `GET /jwks`.
pub(crate) async fn jwks(State(app): State<Arc<App>>) -> Json<Value> {
    Json(app.config.keys.jwks(app.has(Fault::JwksPrivateKeyExposed), app.has(Fault::JwksDuplicateKid)))
}

fn metadata(app: &App) -> Value {
    let issuer = &app.issuer;
    let advertised_issuer = if app.has(Fault::DiscoveryIssuerMismatch) { format!("{issuer}/") } else { issuer.clone() };
    let signing_algs: &[&str] = if app.has(Fault::DiscoveryNoRs256) { &["ES256"] } else { &["RS256", "ES256"] };
    let mut doc = json!({
        "issuer": advertised_issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "userinfo_endpoint": format!("{issuer}/userinfo"),
        "jwks_uri": format!("{issuer}/jwks"),
        "revocation_endpoint": format!("{issuer}/revoke"),
        "introspection_endpoint": format!("{issuer}/introspect"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": signing_algs,
        "token_endpoint_auth_methods_supported":
            ["client_secret_basic", "client_secret_post", "none"],
        "revocation_endpoint_auth_methods_supported":
            ["client_secret_basic", "client_secret_post"],
        "introspection_endpoint_auth_methods_supported":
            ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": SCOPES_SUPPORTED,
        "claims_supported": [
            "sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "azp",
            "name", "given_name", "family_name", "preferred_username",
            "email", "email_verified", "birthdate", "address", "phone_number", "phone_number_verified",
            "verified_claims",
        ],
        "claims_parameter_supported": true,
        "trust_frameworks_supported": super::claims::TRUST_FRAMEWORKS,
        "claims_in_verified_claims_supported": super::claims::CLAIMS_IN_VERIFIED_CLAIMS,
        "authorization_response_iss_parameter_supported": true,
        "request_parameter_supported": true,
        "request_object_signing_alg_values_supported": ["none"],
        "request_uri_parameter_supported": false,
    });
    if let Some(map) = doc.as_object_mut() {
        if app.has(Fault::DiscoveryDeadEndpoint) {
            map.insert("end_session_endpoint".into(), json!(format!("{issuer}/logout")));
        }
        if app.has(Fault::DiscoveryAuthMethodsWrong) {
            map.insert("token_endpoint_auth_methods_supported".into(), json!(["private_key_jwt"]));
        }
        if app.has(Fault::PkcePlainAdvertisedRefused) {
            map.insert("code_challenge_methods_supported".into(), json!(["S256", "plain"]));
        }
        if app.has(Fault::DiscoveryScopesWithoutOpenid) {
            let scopes: Vec<&str> = SCOPES_SUPPORTED.iter().copied().filter(|s| *s != "openid").collect();
            map.insert("scopes_supported".into(), json!(scopes));
        }
    }
    if app.has(Fault::DiscoveryIncomplete)
        && let Some(map) = doc.as_object_mut()
    {
        map.remove("subject_types_supported");
        map.remove("response_types_supported");
    }
    doc
}
