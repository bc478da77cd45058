//! Snapshot steps: compare a redacted token or response with the target's
//! blessed baseline (see `kensa::snapshot`).

use anyhow::anyhow;
use cucumber::gherkin::Step;
use cucumber::then;
use kensa::snapshot::redact::{Context, Redactor};
use kensa::snapshot::{Origin, Outcome};
use kensa::world::{KensaWorld, StepResult};
use serde_json::{Value, json};

/// Response headers that are part of a response's shape.
const SHAPE_HEADERS: &[&str] = &["cache-control", "pragma", "www-authenticate"];

/// The redaction context of this scenario; the JWKS is fetched only for a
/// JWT subject, whose `kid` it checks.
async fn context(w: &mut KensaWorld, jwt: bool) -> anyhow::Result<Context> {
    let user = w.user()?;
    let jwks_kids = if jwt { w.jwks().await.map(|j| j.kids()).unwrap_or_default() } else { Vec::new() };
    let access_token = w.tokens.last().map(|t| t.access_token.expose().to_owned());
    let alg = w.id_token().ok().map(|t| t.alg().to_owned());
    Ok(Context {
        issuer: w.issuer().to_owned(),
        now: w.now(),
        nonce: w.auth.as_ref().and_then(|a| a.nonce.clone()),
        access_token,
        code: None,
        alg,
        jwks_kids,
        stable_subs: vec![user.sub.clone(), user.username.clone()],
    })
}

/// A response as `{status, headers, body}`, redacted.
fn response_view(r: &mut Redactor<'_>, w: &KensaWorld) -> anyhow::Result<Value> {
    let last = w.last()?;
    let mut headers = serde_json::Map::new();
    for name in SHAPE_HEADERS {
        if let Some(v) = last.response.header(name) {
            headers.insert((*name).to_owned(), Value::String(r.issuer_relative(v)));
        }
    }
    if let Some(ct) = last.response.header("content-type") {
        let main = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        headers.insert("content-type".into(), Value::String(main));
    }
    let body = match &last.json {
        Some(Value::Object(map)) => r.object("body", map),
        Some(other) => other.clone(),
        None if last.response.body.is_empty() => Value::Null,
        None => Value::String(format!("[{} bytes, not JSON]", last.response.body.len())),
    };
    Ok(json!({ "status": last.status(), "headers": headers, "body": body }))
}

#[then(expr = "the {word} {word} matches its snapshot")]
async fn matches_snapshot(w: &mut KensaWorld, first: String, second: String, step: &Step) -> StepResult {
    let subject = format!("{first} {second}");
    let ctx = context(w, subject == "ID token").await?;
    let mut r = Redactor::new(&ctx);
    let value = match subject.as_str() {
        "ID token" => r.jwt(&w.id_token()?),
        "discovery document" => {
            let doc = w.discovery().await?.doc.clone();
            let mut v = r.object("", &doc);
            sort_string_arrays(&mut v);
            v
        }
        "token response" | "userinfo response" | "introspection response" | "error response" => {
            response_view(&mut r, w)?
        }
        other => fail!(
            "unknown snapshot subject {other:?}: use ID token, token response, userinfo response, \
             introspection response, error response or discovery document"
        ),
    };
    let violations = r.violations();
    let id = w.scenario.clone().ok_or_else(|| anyhow!("the scenario is unknown to the World"))?;
    let name = id.snapshot_name(&subject);
    let expression = format!("{} {}", step.keyword.trim(), step.value);
    let origin = Origin { source: &id.feature, expression: &expression, description: &id.name };
    let outcome = w.ctx.snapshots.assert(&name, &origin, &value)?;
    let path = w.ctx.snapshots.path_of(&name);
    let broken = if violations.is_empty() {
        String::new()
    } else {
        let list: Vec<String> = violations.iter().map(ToString::to_string).collect();
        format!("\nvalues that fail their redaction rule: {}", list.join("; "))
    };
    match outcome {
        Outcome::Matched | Outcome::Blessed { .. } if violations.is_empty() => Ok(()),
        Outcome::Matched | Outcome::Blessed { .. } => {
            fail!("the {subject} matches its snapshot {}, but{broken}", path.display())
        }
        // A missing baseline is not the target's failure: locally the
        // check is skipped with the command that writes it; in CI, where
        // every baseline must be committed, it fails.
        Outcome::Missing { pending } if violations.is_empty() && !in_ci() => {
            w.skip(format!(
                "no baseline snapshot {} yet for target {}: this run's is {}; review it and bless it with `{}`",
                path.display(),
                w.ctx.target.name,
                pending.map_or_else(|| "not written".to_owned(), |p| p.display().to_string()),
                w.ctx.bless
            ));
            Ok(())
        }
        Outcome::Missing { pending } => fail!(
            "no baseline snapshot {} for target {}: bless one with `{}`{}{broken}",
            path.display(),
            w.ctx.target.name,
            w.ctx.bless,
            pending.map(|p| format!(" (this run's snapshot: {})", p.display())).unwrap_or_default()
        ),
        Outcome::Drift { diff, old, pending } => {
            if let Ok(old) = serde_json::from_str::<Value>(&old) {
                w.diffs.push(kensa::report::ClaimDiff {
                    title: format!("snapshot {name}"),
                    left_label: "baseline".into(),
                    left: flatten(&old),
                    right_label: "this run".into(),
                    right: flatten(&value),
                });
            }
            fail!(
                "the {subject} differs from its baseline {}{broken}\n{}{}\nif the change is intended, bless it with \
                 `{}`",
                path.display(),
                diff.trim_end(),
                pending.map(|p| format!("\nthis run's snapshot: {}", p.display())).unwrap_or_default(),
                w.ctx.bless
            )
        }
    }
}

/// Sorts arrays of strings (the order of `*_supported` values carries no
/// meaning, and a deployment may list them in any order).
fn sort_string_arrays(v: &mut Value) {
    match v {
        Value::Array(items) if items.iter().all(Value::is_string) => {
            items.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
        }
        Value::Array(items) => items.iter_mut().for_each(sort_string_arrays),
        Value::Object(map) => map.values_mut().for_each(sort_string_arrays),
        _ => {}
    }
}

/// `v` as one object of dotted paths to leaf values (`body.name`), so a side
/// by side view names the exact member that changed.
fn flatten(v: &Value) -> Value {
    fn walk(prefix: &str, v: &Value, out: &mut serde_json::Map<String, Value>) {
        match v {
            Value::Object(map) if !map.is_empty() => {
                for (k, child) in map {
                    let p = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                    walk(&p, child, out);
                }
            }
            leaf => {
                out.insert(if prefix.is_empty() { "(value)".into() } else { prefix.to_owned() }, leaf.clone());
            }
        }
    }
    let mut out = serde_json::Map::new();
    walk("", v, &mut out);
    Value::Object(out)
}

/// Whether this is a CI run (`CI` set, and not to `false`).
fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false")
}
