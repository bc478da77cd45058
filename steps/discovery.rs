//! Discovery document and JWKS steps.

use anyhow::anyhow;
use cucumber::{given, then};
use kensa::world::{KensaWorld, StepResult};

#[given("the target's discovery document")]
async fn discovery(w: &mut KensaWorld) -> StepResult {
    w.discovery().await?;
    Ok(())
}

#[then("the discovery document's issuer is the target's issuer")]
async fn issuer_matches(w: &mut KensaWorld) -> StepResult {
    let expected = w.issuer().to_owned();
    let d = w.discovery().await?;
    match d.str("issuer") {
        Some(i) if i == expected => Ok(()),
        Some(i) => Err(anyhow!(
            "discovery issuer is {i:?}, but it was fetched for issuer {expected:?}: they must be identical"
        )
        .into()),
        None => Err(anyhow!("the discovery document has no issuer string").into()),
    }
}

#[then(expr = "the discovery document has the members {string}")]
async fn has_members(w: &mut KensaWorld, members: String) -> StepResult {
    let d = w.discovery().await?;
    let missing: Vec<String> = super::list(&members).into_iter().filter(|m| !d.doc.contains_key(m)).collect();
    if missing.is_empty() { Ok(()) } else { Err(anyhow!("REQUIRED members missing: {}", missing.join(", ")).into()) }
}

#[then(expr = "the discovery document lists {string} in {string}")]
async fn lists_value(w: &mut KensaWorld, value: String, member: String) -> StepResult {
    let d = w.discovery().await?;
    let Some(values) = d.list(&member) else {
        fail!("the discovery document has no {member:?} array");
    };
    if values.contains(&value) { Ok(()) } else { Err(anyhow!("{member} is {values:?}, without {value:?}").into()) }
}

#[then("the JWKS contains no private or symmetric key material")]
async fn jwks_public_only(w: &mut KensaWorld) -> StepResult {
    let found = w.jwks().await?.private_material();
    if found.is_empty() {
        return Ok(());
    }
    let list: Vec<String> = found.iter().map(|(kid, m)| format!("kid {kid:?} carries {}", m.join(", "))).collect();
    Err(anyhow!("the published JWKS exposes private or symmetric key material: {}", list.join("; ")).into())
}

#[then("every key in the JWKS has a distinct kid")]
async fn distinct_kids(w: &mut KensaWorld) -> StepResult {
    let dups = w.jwks().await?.duplicate_kids();
    if dups.is_empty() { Ok(()) } else { Err(anyhow!("kids used by more than one key: {}", dups.join(", ")).into()) }
}

/// Endpoint members of a discovery document and the method that reaches each.
const ENDPOINTS: &[(&str, &str)] = &[
    ("authorization_endpoint", "GET"),
    ("token_endpoint", "POST"),
    ("userinfo_endpoint", "GET"),
    ("jwks_uri", "GET"),
    ("registration_endpoint", "POST"),
    ("revocation_endpoint", "POST"),
    ("introspection_endpoint", "POST"),
    ("end_session_endpoint", "GET"),
    ("pushed_authorization_request_endpoint", "POST"),
    ("device_authorization_endpoint", "POST"),
];

#[then("every endpoint the discovery document advertises exists")]
async fn endpoints_exist(w: &mut KensaWorld) -> StepResult {
    let d = w.discovery().await?.clone();
    let mut dead = Vec::new();
    let mut tried = 0;
    for (member, method) in ENDPOINTS {
        let Some(raw) = d.str(member) else { continue };
        let url = url::Url::parse(raw).map_err(|e| anyhow!("{member} {raw:?} is not a URL: {e}"))?;
        tried += 1;
        // An empty request: the endpoint refuses it, but it must be there.
        let req = if *method == "POST" {
            kensa::http::Request::post_form(url, Vec::new())
        } else {
            kensa::http::Request::get(url)
        };
        match w.api.send(req).await {
            Ok(r) if r.status == 404 || r.status >= 500 => dead.push(format!("{member} answers {}", r.status)),
            Ok(_) => {}
            Err(e) => dead.push(format!("{member}: {e}")),
        }
    }
    if tried == 0 {
        fail!("the discovery document advertises no endpoint");
    }
    if dead.is_empty() {
        Ok(())
    } else {
        Err(anyhow!("advertised endpoints that do not exist: {}", dead.join("; ")).into())
    }
}

#[then("the ID token's alg is one the discovery document advertises")]
async fn alg_advertised(w: &mut KensaWorld) -> StepResult {
    let alg = w.id_token()?.header.get("alg").and_then(|a| a.as_str()).unwrap_or("").to_owned();
    let d = w.discovery().await?;
    let algs = d.list("id_token_signing_alg_values_supported").unwrap_or_default();
    if algs.contains(&alg) {
        Ok(())
    } else {
        Err(anyhow!("the ID token is signed with {alg:?}, but id_token_signing_alg_values_supported is {algs:?}")
            .into())
    }
}

#[then("the client's token endpoint authentication method is one the discovery document advertises")]
async fn auth_method_advertised(w: &mut KensaWorld) -> StepResult {
    let method = w.client()?.token_endpoint_auth_method;
    let d = w.discovery().await?;
    // OpenID Connect Discovery 1.0, 3: "If omitted, the default is client_secret_basic".
    let methods =
        d.list("token_endpoint_auth_methods_supported").unwrap_or_else(|| vec!["client_secret_basic".to_owned()]);
    if methods.contains(&method) {
        Ok(())
    } else {
        Err(anyhow!(
            "the client authenticates with {method}, which works, but token_endpoint_auth_methods_supported is \
             {methods:?}"
        )
        .into())
    }
}

#[then("the discovery document supports the openid scope and the code response type")]
async fn openid_and_code(w: &mut KensaWorld) -> StepResult {
    let d = w.discovery().await?;
    let mut problems = Vec::new();
    if let Some(scopes) = d.list("scopes_supported")
        && !scopes.iter().any(|s| s == "openid")
    {
        problems.push(format!("scopes_supported {scopes:?} lacks openid"));
    }
    match d.list("response_types_supported") {
        Some(types) if types.iter().any(|t| t == "code") => {}
        Some(types) => problems.push(format!("response_types_supported {types:?} lacks code")),
        None => problems.push("response_types_supported is missing".into()),
    }
    if problems.is_empty() { Ok(()) } else { Err(anyhow!("{}", problems.join("; ")).into()) }
}
