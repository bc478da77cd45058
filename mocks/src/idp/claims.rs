//! The claims request parameter (OpenID Connect Core 5.5) and verified
//! claims (OpenID Connect for Identity Assurance 1.0).

use serde_json::{Map, Value};

use super::{App, Fault};
use crate::realm::User;

/// The scope that releases a user's whole `verified_claims` (gBizID's).
pub(crate) const IDA_SCOPE: &str = "jp_gbizid_v1_ida";

/// Trust frameworks the IdP's verified claims follow.
pub(crate) const TRUST_FRAMEWORKS: &[&str] = &["jp_gbizid_v1"];

/// Claims the IdP returns inside `verified_claims`.
pub(crate) const CLAIMS_IN_VERIFIED_CLAIMS: &[&str] =
    &["family_name", "given_name", "birthdate", "address", "authority"];

/// A claim the IdP may put in verified_claims under a fault, though it is
/// not in [`CLAIMS_IN_VERIFIED_CLAIMS`].
const UNSUPPORTED_CLAIM: &str = "nationalities";

/// Parses the `claims` parameter: a JSON object whose `id_token` and
/// `userinfo` members, when present, are objects.
pub(crate) fn parse(raw: &str) -> Result<Value, &'static str> {
    let v: Value = serde_json::from_str(raw).map_err(|_| "the claims parameter is not JSON")?;
    let obj = v.as_object().ok_or("the claims parameter is not a JSON object")?;
    for member in ["id_token", "userinfo"] {
        if obj.get(member).is_some_and(|m| !m.is_object()) {
            return Err("the id_token and userinfo members of the claims parameter must be objects");
        }
    }
    Ok(v)
}

/// The individual claims requested for `use_` (`id_token` or `userinfo`).
pub(crate) fn requested<'a>(claims: Option<&'a Value>, use_: &str) -> Option<&'a Map<String, Value>> {
    claims?.get(use_)?.as_object()
}

/// True when `value` satisfies the `value`/`values` of a claim request.
fn value_matches(spec: &Value, value: &Value) -> bool {
    if let Some(want) = spec.get("value") {
        return want == value;
    }
    if let Some(Value::Array(options)) = spec.get("values") {
        return options.contains(value);
    }
    true
}

/// The `sub` value the request demands, if any.
pub(crate) fn required_sub(claims: Option<&Value>) -> Option<String> {
    requested(claims, "id_token")?.get("sub")?.get("value")?.as_str().map(str::to_owned)
}

/// Adds the individually requested claims of `use_` that `user` has to
/// `out` (OpenID Connect Core 5.5.1): a claim whose value does not match
/// the request's `value`/`values` is left out; unavailable claims are left
/// out without an error.
pub(crate) fn add_requested(app: &App, out: &mut Map<String, Value>, claims: Option<&Value>, use_: &str, user: &User) {
    if use_ == "userinfo" && app.has(Fault::ClaimsUserinfoIgnored) {
        return;
    }
    let Some(req) = requested(claims, use_) else { return };
    for (name, spec) in req {
        if name == "verified_claims" || name == "sub" || out.contains_key(name) {
            continue;
        }
        let essential = spec.get("essential").and_then(Value::as_bool).unwrap_or(false);
        if essential && use_ == "id_token" && app.has(Fault::ClaimsEssentialDropped) {
            continue;
        }
        let ignore_value = app.has(Fault::ClaimsValueIgnored);
        if let Some(v) = user.claims.get(name).filter(|v| ignore_value || value_matches(spec, v)) {
            out.insert(name.clone(), v.clone());
        }
    }
    if let Some(request) = req.get("verified_claims")
        && let Some(vc) = user.verified_claims.as_ref().and_then(|vc| select(app, vc, request))
    {
        out.insert("verified_claims".into(), vc);
    }
}

/// An essential claim `user` cannot provide, if any (used only by a fault:
/// the spec says that is not an error).
pub(crate) fn missing_essential(claims: Option<&Value>, user: &User) -> Option<String> {
    ["id_token", "userinfo"].iter().filter_map(|u| requested(claims, u)).flatten().find_map(|(name, spec)| {
        let essential = spec.get("essential").and_then(Value::as_bool).unwrap_or(false);
        (essential && name != "sub" && name != "verified_claims" && !user.claims.contains_key(name))
            .then(|| name.clone())
    })
}

/// The whole `verified_claims` of a user, as the IDA scope releases it.
pub(crate) fn scoped(app: &App, vc: &Value) -> Value {
    let mut out = vc.clone();
    apply_faults(app, &mut out);
    out
}

/// What of `vc` a `verified_claims` request selects (IDA 1.0 5.3-5.7):
/// `None` when the request's trust_framework constraint does not match
/// (the whole element is omitted, without an error).
fn select(app: &App, vc: &Value, request: &Value) -> Option<Value> {
    if let Value::Array(requests) = request {
        let items: Vec<Value> = requests.iter().filter_map(|r| select(app, vc, r)).collect();
        return match items.len() {
            0 => None,
            1 => items.into_iter().next(),
            _ => Some(Value::Array(items)),
        };
    }
    if app.has(Fault::IdaUnrequestedClaims) {
        return Some(scoped(app, vc));
    }
    let verification = vc.get("verification")?.as_object()?;
    let wanted = request.get("verification").and_then(Value::as_object);
    let tf = verification.get("trust_framework")?;
    if let Some(spec) = wanted.and_then(|w| w.get("trust_framework"))
        && !value_matches(spec, tf)
        && !app.has(Fault::IdaTrustFrameworkValueIgnored)
    {
        return None;
    }
    let mut v_out = Map::new();
    v_out.insert("trust_framework".into(), tf.clone());
    for (k, v) in verification {
        if wanted.is_some_and(|w| w.contains_key(k)) {
            v_out.insert(k.clone(), v.clone());
        }
    }
    let mut c_out = Map::new();
    let have = vc.get("claims").and_then(Value::as_object);
    if let (Some(req), Some(have)) = (request.get("claims").and_then(Value::as_object), have) {
        for (name, spec) in req {
            if let Some(v) = have.get(name).filter(|v| value_matches(spec, v)) {
                c_out.insert(name.clone(), v.clone());
            }
        }
    }
    let mut out = serde_json::json!({ "verification": v_out, "claims": c_out });
    apply_faults(app, &mut out);
    Some(out)
}

/// The faults that change a verified_claims element.
fn apply_faults(app: &App, vc: &mut Value) {
    if app.has(Fault::IdaTrustFrameworkMissing)
        && let Some(v) = vc.get_mut("verification").and_then(Value::as_object_mut)
    {
        v.remove("trust_framework");
    }
    if app.has(Fault::IdaUnsupportedClaim)
        && let Some(c) = vc.get_mut("claims").and_then(Value::as_object_mut)
    {
        c.insert(UNSUPPORTED_CLAIM.into(), serde_json::json!(["JP"]));
    }
    let Some(v) = vc.get_mut("verification").and_then(Value::as_object_mut) else { return };
    let level = v.get("assurance_level").and_then(Value::as_str).map(str::to_owned);
    if app.has(Fault::GbizidEntryIal2) && level.as_deref() == Some("ial1") {
        v.insert("assurance_level".into(), "ial2".into());
    }
    if app.has(Fault::GbizidMemberAsPrime)
        && let Some(perms) = vc.pointer_mut("/claims/authority/permission").and_then(Value::as_array_mut)
    {
        for p in perms {
            if p.get("role").and_then(Value::as_str) == Some("member") {
                p["role"] = "prime".into();
            }
        }
    }
}

/// Claims of a user's verified_claims copied outside it, as a fault does.
pub(crate) fn leaked(vc: &Value) -> Map<String, Value> {
    let one = match vc {
        Value::Array(items) => items.first().cloned().unwrap_or(Value::Null),
        other => other.clone(),
    };
    one.get("claims").and_then(Value::as_object).cloned().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_claims_parameter_must_be_an_object_with_object_members() {
        assert!(parse(r#"{"userinfo":{"email":null}}"#).is_ok());
        assert!(parse("[1]").is_err());
        assert!(parse(r#"{"id_token":3}"#).is_err());
        assert!(parse("{").is_err());
        let c = parse(r#"{"id_token":{"sub":{"value":"x"}}}"#).unwrap();
        assert_eq!(required_sub(Some(&c)).as_deref(), Some("x"));
    }
}
