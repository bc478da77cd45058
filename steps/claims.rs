//! Claim steps: assertions on claims a QA engineer writes in Gherkin, the
//! claims request parameter (OpenID Connect Core 5.5), verified claims
//! (OpenID Connect for Identity Assurance 1.0) and the gBizID profile.

use anyhow::anyhow;
use cucumber::gherkin::Step;
use cucumber::{given, then, when};
use kensa::claims::{Test, check};
use kensa::login::Tamper;
use kensa::world::{KensaWorld, StepResult};
use serde_json::{Map, Value};

/// The gBizID scope that releases a user's verified_claims.
const IDA_SCOPE: &str = "jp_gbizid_v1_ida";

/// The JSON document a step names: `ID token` (its claims), `userinfo
/// response`, `access token` (a JWT's claims), `introspection response` or
/// `token response` (the last response of that kind).
fn document(w: &KensaWorld, source: &str) -> anyhow::Result<Value> {
    match source {
        "ID token" => Ok(Value::Object(w.id_token()?.claims)),
        "userinfo response" => {
            w.userinfo.clone().ok_or_else(|| anyhow!("no successful userinfo response in this scenario"))
        }
        "access token" => {
            let at = w.tokens()?.access_token.clone();
            let jwt = kensa::oidc::jwt::Jwt::parse_secret(&at)
                .map_err(|e| anyhow!("the access token is not a JWT, so it has no claims to read ({e})"))?;
            Ok(Value::Object(jwt.claims))
        }
        "introspection response" | "token response" => {
            w.last()?.json.clone().ok_or_else(|| anyhow!("the last response has no JSON body"))
        }
        other => Err(anyhow!(
            "unknown claim source {other:?}: ID token, userinfo response, access token, introspection response or token response"
        )),
    }
}

fn claim_test(w: &KensaWorld, source: &str, path: &str, op: &str, arg: Option<&str>) -> StepResult {
    let doc = document(w, source)?;
    let test = Test::parse(op, arg).map_err(|e| anyhow!(e))?;
    check(source, &doc, path, &test).map_err(|e| anyhow!(e))?;
    Ok(())
}

#[then(
    regex = r#"^the (ID token|userinfo response|access token|introspection response|token response) claim "([^"]+)" (equals|contains|matches|has type) "(.*)"$"#
)]
async fn claim_with_value(w: &mut KensaWorld, source: String, path: String, op: String, arg: String) -> StepResult {
    claim_test(w, &source, &path, &op, Some(&arg))
}

#[then(
    regex = r#"^the (ID token|userinfo response|access token|introspection response|token response) claim "([^"]+)" (is absent|is present)$"#
)]
async fn claim_presence(w: &mut KensaWorld, source: String, path: String, op: String) -> StepResult {
    claim_test(w, &source, &path, &op, None)
}

/// A table of | claim | test | value | rows, all checked, every failure
/// reported.
#[then(regex = r"^the (ID token|userinfo response|access token|introspection response|token response) claims are:$")]
async fn claims_table(w: &mut KensaWorld, source: String, step: &Step) -> StepResult {
    let table = step.table.as_ref().ok_or_else(|| anyhow!("this step needs a table: | claim | test | value |"))?;
    let doc = document(w, &source)?;
    let mut failures = Vec::new();
    for (i, row) in table.rows.iter().enumerate() {
        let cell = |n: usize| row.get(n).map(String::as_str).unwrap_or("");
        if i == 0 && cell(0) == "claim" {
            continue;
        }
        let arg = Some(cell(2)).filter(|a| !a.is_empty());
        match Test::parse(cell(1), arg) {
            Ok(test) => {
                if let Err(e) = check(&source, &doc, cell(0), &test) {
                    failures.push(e);
                }
            }
            Err(e) => failures.push(format!("row {}: {e}", i + 1)),
        }
    }
    if failures.is_empty() { Ok(()) } else { fail!("{}", failures.join("\n")) }
}

#[then(
    regex = r#"^the (ID token|userinfo response|access token|introspection response) claim "([^"]+)" equals the (ID token|userinfo response|access token|introspection response) claim "([^"]+)"$"#
)]
async fn claims_equal(w: &mut KensaWorld, left: String, lpath: String, right: String, rpath: String) -> StepResult {
    let (l, r) = (document(w, &left)?, document(w, &right)?);
    let lv = kensa::claims::lookup(&l, &lpath)?.cloned();
    let rv = kensa::claims::lookup(&r, &rpath)?.cloned();
    match (lv, rv) {
        (Some(a), Some(b)) if a == b => Ok(()),
        (Some(a), Some(b)) => {
            w.diffs.push(kensa::report::ClaimDiff {
                title: format!("{left} {lpath} and {right} {rpath}"),
                left_label: left.clone(),
                left: serde_json::json!({ lpath.clone(): a.clone() }),
                right_label: right.clone(),
                right: serde_json::json!({ lpath.clone(): b.clone() }),
            });
            fail!("{left} claim {lpath} is {a}, but {right} claim {rpath} is {b}")
        }
        (None, _) => fail!("{left} has no claim {lpath}"),
        (_, None) => fail!("{right} has no claim {rpath}"),
    }
}

// --- the claims request parameter -------------------------------------

#[given(expr = "the user {string}")]
async fn user(w: &mut KensaWorld, username: String) -> StepResult {
    w.username = Some(username);
    w.user()?;
    Ok(())
}

/// A subject identifier that names no user of the target: another declared
/// user's, or, where the target declares only one user, one made up so
/// that it cannot exist there (never an empty value).
fn other_sub(w: &KensaWorld, mine: &str) -> String {
    match w.ctx.target.realm.users.iter().find(|u| u.sub != mine && !u.sub.is_empty()) {
        Some(u) => u.sub.clone(),
        None => format!(
            "kensa-no-such-subject-{}",
            kensa::oidc::pkce::Pkce::generate().verifier.expose().get(..16).unwrap_or("0")
        ),
    }
}

/// The docstring of a step, with `{sub}` and `{other-sub}` replaced by the
/// subject of the user who logs in and of another subject (see
/// [`other_sub`]).
fn claims_docstring(w: &KensaWorld, step: &Step) -> anyhow::Result<String> {
    let text = step.docstring.as_deref().ok_or_else(|| anyhow!("this step needs the claims JSON as a docstring"))?;
    let me = w.user()?;
    let other = other_sub(w, &me.sub);
    let text = text.replace("{sub}", &me.sub).replace("{other-sub}", &other);
    serde_json::from_str::<Value>(&text).map_err(|e| anyhow!("the claims docstring is not JSON: {e}"))?;
    Ok(text)
}

async fn login_with_claims(w: &mut KensaWorld, scope: &str, step: &Step, want_code: bool) -> StepResult {
    let claims = claims_docstring(w, step)?;
    let mut req = w.new_auth_request()?;
    req.scope = scope.to_owned();
    req.extra.push(("claims".into(), claims));
    w.run_login(req, None, Tamper::None).await?;
    if want_code {
        w.code().map_err(|e| anyhow!("{e}{}", super::transcript(w)))?;
    }
    Ok(())
}

#[when(expr = "the user logs in with the scope {string} and the claims parameter:")]
async fn login_claims(w: &mut KensaWorld, scope: String, step: &Step) -> StepResult {
    login_with_claims(w, &scope, step, true).await
}

/// Logs in asking, through the claims parameter, `for_what` (`ID token` or
/// `userinfo`) for two claims the user declares: the first essential, the
/// second voluntary. Which two come from the target's user (realm fixture
/// or profile `claims`), never from kensa's own realm; the check needs
/// `user-claims:2`.
#[when(
    regex = r"^the user logs in with the scope openid and the claims parameter asking the (ID token|userinfo) for two claims the user has$"
)]
async fn login_claims_user_has(w: &mut KensaWorld, for_what: String) -> StepResult {
    let user = w.user()?;
    let picked = kensa::claims::requestable_claims(&user.claims);
    let [first, second, ..] = picked.as_slice() else {
        fail!("the target declares fewer than two standard claims for user {} (it has: {picked:?})", user.username);
    };
    let member = if for_what == "ID token" { "id_token" } else { "userinfo" };
    let claims = serde_json::json!({ member: { *first: {"essential": true}, *second: null } }).to_string();
    login_with(w, claims).await
}

/// CLM-06: asks, as essential, for both the ID token and userinfo, a
/// standard claim the target does not declare for the user.
#[when(
    "the user logs in with the scope openid and the claims parameter asking, as essential, for a standard claim the user does not have"
)]
async fn login_claims_user_lacks(w: &mut KensaWorld) -> StepResult {
    let user = w.user()?;
    let lacking = kensa::claims::STANDARD_CLAIM_TYPES
        .iter()
        .map(|(name, _)| *name)
        .find(|name| *name != "sub" && !user.claims.contains_key(*name))
        .ok_or_else(|| anyhow!("user {} declares every standard claim", user.username))?;
    let claims = serde_json::json!({
        "id_token": { lacking: {"essential": true} },
        "userinfo": { lacking: {"essential": true} },
    })
    .to_string();
    login_with(w, claims).await
}

/// CLM-07: asks userinfo for a claim the user has, with a value that is not
/// the user's.
#[when(
    "the user logs in with the scope openid and the claims parameter asking userinfo for a claim the user has, with another value"
)]
async fn login_claims_other_value(w: &mut KensaWorld) -> StepResult {
    let user = w.user()?;
    let name = kensa::claims::requestable_claims(&user.claims)
        .into_iter()
        .find(|n| user.claims.get(*n).is_some_and(Value::is_string))
        .ok_or_else(|| anyhow!("user {} declares no string-valued standard claim", user.username))?;
    let claims = serde_json::json!({ "userinfo": { name: {"value": "kensa-not-the-users-value"} } }).to_string();
    login_with(w, claims).await
}

async fn login_with(w: &mut KensaWorld, claims: String) -> StepResult {
    let mut req = w.new_auth_request()?;
    req.scope = "openid".to_owned();
    req.extra.push(("claims".into(), claims));
    w.run_login(req, None, Tamper::None).await?;
    w.code().map_err(|e| anyhow!("{e}{}", super::transcript(w)))?;
    Ok(())
}

#[then(regex = r"^the (ID token|userinfo response) has none of the claims the claims parameter asked for$")]
async fn lacks_requested_claims(w: &mut KensaWorld, source: String) -> StepResult {
    let member = if source == "ID token" { "id_token" } else { "userinfo" };
    let request = claims_request(w)?;
    let asked: Vec<String> =
        request.get(member).and_then(Value::as_object).map(|m| m.keys().cloned().collect()).unwrap_or_default();
    let doc = document(w, &source)?;
    let present: Vec<&String> = asked.iter().filter(|c| doc.get(c.as_str()).is_some()).collect();
    if present.is_empty() {
        Ok(())
    } else {
        fail!("the {source} carries {present:?}, which the claims parameter asked for and must be left out")
    }
}

#[then(regex = r"^the (ID token|userinfo response) has the claims the claims parameter asked for$")]
async fn has_requested_claims(w: &mut KensaWorld, source: String) -> StepResult {
    let member = if source == "ID token" { "id_token" } else { "userinfo" };
    let request = claims_request(w)?;
    let asked: Vec<String> =
        request.get(member).and_then(Value::as_object).map(|m| m.keys().cloned().collect()).unwrap_or_default();
    if asked.is_empty() {
        fail!("the claims parameter asked the {member} for nothing");
    }
    let doc = document(w, &source)?;
    let missing: Vec<&String> = asked.iter().filter(|c| doc.get(c.as_str()).is_none()).collect();
    if missing.is_empty() {
        Ok(())
    } else {
        fail!("the {source} lacks {missing:?}, which the claims parameter asked for and the user has")
    }
}

/// OpenID Connect Core 5.1 on the standard claims present; absent ones are
/// not judged. The claims judged are noted.
#[then("every standard claim in the userinfo response has the type OpenID Connect Core 5.1 gives it")]
async fn standard_claim_types(w: &mut KensaWorld) -> StepResult {
    let doc = document(w, "userinfo response")?;
    let map = doc.as_object().ok_or_else(|| anyhow!("the userinfo response is not a JSON object"))?;
    if !map.contains_key("sub") {
        fail!("the userinfo response has no sub, which OpenID Connect Core 5.3.2 says MUST always be returned");
    }
    let (judged, breaches) = kensa::claims::standard_claim_findings(map);
    w.notes.push(format!("standard claims judged: {}", judged.join(", ")));
    if breaches.is_empty() { Ok(()) } else { fail!("{}", breaches.join("\n")) }
}

#[when(expr = "the user tries to log in with the scope {string} and the claims parameter:")]
async fn try_login_claims(w: &mut KensaWorld, scope: String, step: &Step) -> StepResult {
    login_with_claims(w, &scope, step, false).await
}

/// The claims parameter of the last authorization request.
fn claims_request(w: &KensaWorld) -> anyhow::Result<Value> {
    let auth = w.auth.as_ref().ok_or_else(|| anyhow!("no authorization request was sent"))?;
    let raw = auth
        .extra
        .iter()
        .find(|(k, _)| k == "claims")
        .map(|(_, v)| v.clone())
        .ok_or_else(|| anyhow!("the authorization request had no claims parameter"))?;
    Ok(serde_json::from_str(&raw)?)
}

#[then(expr = "the {word} response has only the claims its scope and the claims parameter requested")]
async fn only_requested(w: &mut KensaWorld, which: String) -> StepResult {
    if which != "userinfo" {
        fail!("only the userinfo response is checked this way");
    }
    let doc = document(w, "userinfo response")?;
    let scope = w.auth.as_ref().map(|a| a.scope.clone()).unwrap_or_default();
    let claims = claims_request(w).unwrap_or(Value::Null);
    let mut allowed: Vec<String> = vec!["sub".into()];
    for s in scope.split_whitespace() {
        if let Some((_, names)) = kensa_mocks::realm::SCOPE_CLAIMS.iter().find(|(n, _)| *n == s) {
            allowed.extend(names.iter().map(|n| (*n).to_owned()));
        }
    }
    if scope.split_whitespace().any(|s| s == IDA_SCOPE) {
        allowed.push("verified_claims".into());
    }
    if let Some(req) = claims.get("userinfo").and_then(Value::as_object) {
        allowed.extend(req.keys().cloned());
    }
    let extra: Vec<&String> =
        doc.as_object().map(|m| m.keys().filter(|k| !allowed.contains(k)).collect()).unwrap_or_default();
    if extra.is_empty() {
        Ok(())
    } else {
        fail!(
            "the userinfo response carries {extra:?}, which neither the scope {scope:?} nor the claims parameter requested"
        )
    }
}

// --- verified claims (OpenID Connect for Identity Assurance) -----------

fn verified_claims(w: &KensaWorld, source: &str) -> anyhow::Result<Value> {
    let doc = document(w, source)?;
    doc.get("verified_claims").cloned().ok_or_else(|| anyhow!("the {source} has no verified_claims"))
}

fn findings(list: Vec<kensa::ida::Finding>, what: &str) -> StepResult {
    if list.is_empty() {
        return Ok(());
    }
    let lines: Vec<String> = list.iter().map(|f| format!("  {f}")).collect();
    fail!("{what}:\n{}", lines.join("\n"))
}

#[then(regex = r"^the (ID token|userinfo response)'s verified_claims are valid Identity Assurance claims$")]
async fn vc_valid(w: &mut KensaWorld, source: String) -> StepResult {
    let vc = verified_claims(w, &source)?;
    findings(
        kensa::ida::validate(&vc),
        &format!("the {source}'s verified_claims break OpenID Connect for Identity Assurance"),
    )
}

#[then(regex = r"^the (ID token|userinfo response)'s verified_claims hold only what was requested$")]
async fn vc_requested(w: &mut KensaWorld, source: String) -> StepResult {
    let vc = verified_claims(w, &source)?;
    let member = if source == "ID token" { "id_token" } else { "userinfo" };
    let request = claims_request(w)?
        .get(member)
        .and_then(|m| m.get("verified_claims"))
        .cloned()
        .ok_or_else(|| anyhow!("the claims parameter requested no verified_claims for the {member}"))?;
    findings(
        kensa::ida::check_against_request(&vc, &request),
        &format!("the {source}'s verified_claims hold data that was not requested"),
    )
}

#[then(regex = r"^the (ID token|userinfo response)'s verified claims are all in claims_in_verified_claims_supported$")]
async fn vc_supported(w: &mut KensaWorld, source: String) -> StepResult {
    let vc = verified_claims(w, &source)?;
    let supported: Vec<String> = w
        .discovery()
        .await?
        .doc
        .get("claims_in_verified_claims_supported")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .ok_or_else(|| {
            anyhow!("the discovery document has no claims_in_verified_claims_supported (IDA 8: Required)")
        })?;
    findings(
        kensa::ida::check_supported(&vc, &supported),
        &format!("the {source}'s verified_claims break the IdP's own metadata"),
    )
}

#[then(regex = r"^the (ID token|userinfo response) has no verified_claims$")]
async fn vc_absent(w: &mut KensaWorld, source: String) -> StepResult {
    let doc = document(w, &source)?;
    match doc.get("verified_claims") {
        None => Ok(()),
        Some(v) => fail!("the {source} carries verified_claims although the request's constraint excludes them: {v}"),
    }
}

// --- the gBizID profile -------------------------------------------------

/// What the gBizID profile expects of an account type's verified_claims.
fn gbizid_rules(account_type: &str, vc: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let item = match vc {
        Value::Array(items) if items.len() == 1 => items[0].clone(),
        Value::Array(items) => {
            problems.push(format!("{} verified_claims objects; gBizID returns one", items.len()));
            return problems;
        }
        other => other.clone(),
    };
    let get = |p: &str| kensa::claims::lookup(&item, p).ok().flatten().cloned();
    if get("verification.trust_framework").as_ref().and_then(Value::as_str) != Some("jp_gbizid_v1") {
        problems.push(format!(
            "verification.trust_framework is {:?}, not \"jp_gbizid_v1\"",
            get("verification.trust_framework")
        ));
    }
    let (level, role) = match account_type {
        "entry" => ("ial1", None),
        "prime" => ("ial2", Some("prime")),
        _ => ("ial2", Some("member")),
    };
    let got_level = get("verification.assurance_level");
    if got_level.as_ref().and_then(Value::as_str) != Some(level) {
        problems.push(format!(
            "verification.assurance_level is {}, but a gBizID {account_type} account is {level}",
            got_level.map_or("absent".into(), |v| v.to_string())
        ));
    }
    let claims: Map<String, Value> = get("claims").and_then(|c| c.as_object().cloned()).unwrap_or_default();
    if account_type == "entry" && !claims.is_empty() {
        problems.push(format!(
            "an entry account has no verified claims, but claims has {:?}",
            claims.keys().collect::<Vec<_>>()
        ));
    }
    let roles: Vec<String> = kensa::claims::lookup(&item, "claims.authority.permission")
        .ok()
        .flatten()
        .and_then(Value::as_array)
        .map(|ps| ps.iter().filter_map(|p| p.get("role").and_then(Value::as_str)).map(str::to_owned).collect())
        .unwrap_or_default();
    match role {
        Some("member") if roles != ["member"] => {
            problems
                .push(format!("a member account's authority.permission roles are {roles:?}, expected [\"member\"]"));
        }
        Some("member") => {
            let other: Vec<&String> = claims.keys().filter(|k| *k != "authority").collect();
            if !other.is_empty() {
                problems.push(format!("a member account's verified claims are only authority, but also {other:?}"));
            }
        }
        Some("prime") if !roles.is_empty() && roles != ["prime"] => {
            problems.push(format!("a prime account's authority.permission roles are {roles:?}, expected [\"prime\"]"));
        }
        _ => {}
    }
    if !roles.is_empty() {
        let number = get("claims.authority.applies_to.registration_number");
        let ok = number
            .as_ref()
            .and_then(Value::as_str)
            .is_some_and(|n| n.len() == 13 && n.bytes().all(|b| b.is_ascii_digit()));
        if !ok {
            problems.push(format!(
                "authority.applies_to.registration_number is {number:?}, not a 13-digit corporate number"
            ));
        }
    }
    problems
}

#[when(expr = "each gBizID user logs in with the scope {string} and the client calls the userinfo endpoint")]
async fn each_gbizid_user(w: &mut KensaWorld, scope: String) -> StepResult {
    let users: Vec<(String, String)> = w
        .ctx
        .target
        .realm
        .users
        .iter()
        .filter_map(|u| u.account_type.clone().map(|t| (u.username.clone(), t)))
        .collect();
    if users.is_empty() {
        fail!("the target's realm has no user with an account_type (fixtures/ida/gbizid-users.toml)");
    }
    let mut seen = Vec::new();
    for (username, account_type) in users {
        w.fresh_browser()?;
        w.username = Some(username.clone());
        let mut req = w.new_auth_request()?;
        req.scope = scope.clone();
        w.run_login(req, None, Tamper::None).await?;
        w.code().map_err(|e| anyhow!("{username}: {e}"))?;
        super::token::exchange(w, super::token::Exchange::default()).await?;
        let at = w.tokens().map_err(|e| anyhow!("{username}: {e}"))?.access_token.expose().to_owned();
        super::userinfo::call(w, "GET", &at).await?;
        let json = w.userinfo.clone().ok_or_else(|| {
            anyhow!("{username}: the userinfo request failed: {}", w.last().map(|r| r.describe()).unwrap_or_default())
        })?;
        seen.push((username, account_type, json));
    }
    w.gbizid = seen;
    Ok(())
}

#[then("each gBizID user's verified_claims follow the gBizID profile for their account type")]
async fn gbizid_profile(w: &mut KensaWorld) -> StepResult {
    if w.gbizid.is_empty() {
        fail!("no gBizID user has logged in in this scenario");
    }
    let mut problems = Vec::new();
    for (username, account_type, userinfo) in &w.gbizid {
        match userinfo.get("verified_claims") {
            None => problems.push(format!("{username} ({account_type}): the userinfo response has no verified_claims")),
            Some(vc) => {
                problems
                    .extend(kensa::ida::validate(vc).into_iter().map(|f| format!("{username} ({account_type}): {f}")));
                problems.extend(
                    gbizid_rules(account_type, vc).into_iter().map(|p| format!("{username} ({account_type}): {p}")),
                );
            }
        }
    }
    if problems.is_empty() { Ok(()) } else { fail!("{}", problems.join("\n")) }
}
