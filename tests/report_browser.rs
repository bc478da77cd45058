//! The HTML report in a real browser: Debian's Chromium, driven by
//! playwright-core from `tests/browser/report.mjs`, reads reports of real
//! runs and checks what a reader relies on (see that script's header).
//!
//! - a multi-target run: `targets::every_target_passes_all_but_its_known_deviations`
//!   hands its report (`--target all`) to [`in_browser`];
//! - a run with failures, known and stale deviations and skipped checks: the
//!   reference IdP with a fault, a deviation list written for the test, and
//!   a check that needs kensa's own AWS doubles run with `--aws URL`s;
//! - a run against a hostile IdP (a local server answering with markup,
//!   event-handler attributes and very long values in discovery, JWKS, login
//!   page, token response and JWT claims), through a profile.
//!
//! `.ci/run` installs both parts (`apt-get install chromium`,
//! `npm ci --prefix tests/browser`). Elsewhere a missing browser skips these
//! assertions with that line; under `CI` it fails the test.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::common::{files_under, root, run_into};

/// How long the browser script may take before it is killed.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(600);

fn chromium() -> PathBuf {
    std::env::var_os("KENSA_CHROMIUM").map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from)
}

/// Why the browser test cannot run here, if it cannot.
fn missing() -> Option<String> {
    let mut what = Vec::new();
    if !chromium().is_file() {
        what.push(format!(
            "Chromium ({} is missing: apt-get install chromium, or set KENSA_CHROMIUM)",
            chromium().display()
        ));
    }
    if !root().join("tests/browser/node_modules/playwright-core/package.json").is_file() {
        what.push("playwright-core (npm ci --prefix tests/browser)".to_owned());
    }
    if Command::new("node").arg("--version").stdout(Stdio::null()).status().map(|s| !s.success()).unwrap_or(true) {
        what.push("Node.js 20+".to_owned());
    }
    (!what.is_empty()).then(|| what.join("; "))
}

/// Opens each `(kind, report directory)` in Chromium and fails the test with
/// the script's findings if any assertion fails. Kinds: `multi`, `faults`,
/// `hostile` (see tests/browser/report.mjs).
pub fn in_browser(jobs: &[(&str, &Path)]) {
    if let Some(why) = missing() {
        assert!(
            std::env::var_os("CI").is_none(),
            "the browser test cannot run: {why}; .ci/run installs these, and CI must not skip them"
        );
        eprintln!("SKIPPED: the report's browser test needs {why}");
        return;
    }
    let args: Vec<String> = jobs.iter().map(|(kind, dir)| format!("{kind}={}", dir.display())).collect();
    let child = Command::new("node")
        .arg(root().join("tests/browser/report.mjs"))
        .args(&args)
        .current_dir(root().join("tests/browser"))
        .env("KENSA_CHROMIUM", chromium())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node runs");
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let out = match rx.recv_timeout(BROWSER_TIMEOUT) {
        Ok(out) => out.expect("node runs"),
        Err(_) => {
            let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).status();
            panic!("the browser test did not finish within {} s and was killed", BROWSER_TIMEOUT.as_secs());
        }
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // The figures (load and filter times) belong in the test log.
    for line in stdout.lines().filter(|l| l.starts_with("figure:")) {
        println!("{line}");
    }
    assert!(out.status.success(), "the report fails in the browser:\n{stdout}\n{stderr}");
    assert!(stdout.contains("all browser assertions passed"), "{stdout}");
}

/// A copy of the fixtures in which the reference IdP lists known deviations:
/// one check that fails (a known deviation) and one that passes (stale).
fn fixtures_with_deviations(into: &Path) -> PathBuf {
    let src = root().join("fixtures");
    let dst = into.join("fixtures");
    for file in files_under(&src) {
        let to = dst.join(file.strip_prefix(&src).unwrap());
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(&file, &to).unwrap();
    }
    std::fs::create_dir_all(dst.join("targets/embedded")).unwrap();
    std::fs::write(
        dst.join("targets/embedded/expected.toml"),
        r#"[[deviation]]
check = "LINK-01"
reason = "listed for the report's browser test: its STS is unreachable"
spec = "AWS STS AssumeRoleWithSAML"

[[deviation]]
check = "OIDC-DISC-01"
reason = "listed for the report's browser test: it passes, so the entry is stale"
spec = "OpenID Connect Discovery 1.0 4.3"
"#,
    )
    .unwrap();
    dst
}

/// Markup an IdP may answer with; the report must show it as text.
const SCRIPT: &str = "<script>window.__kensaPwned='script'</script>";
const ATTR: &str = "\"><img src=x onerror=\"window.__kensaPwned='attribute'\">";
const SVG: &str = "'><svg onload=window.__kensaPwned='svg'></svg>";
const FRAME: &str = "</pre></details><iframe src=\"https://evil.example/\"></iframe>";

fn b64(v: &serde_json::Value) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
}

/// A local server playing a hostile OpenID Provider.
async fn hostile_op() -> wiremock::MockServer {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, ResponseTemplate};
    let server = wiremock::MockServer::start().await;
    let base = server.uri();
    let long = "L".repeat(24_000);
    let discovery = serde_json::json!({
        "issuer": base,
        "authorization_endpoint": format!("{base}/authorize"),
        "token_endpoint": format!("{base}/token"),
        "userinfo_endpoint": format!("{base}/userinfo"),
        "jwks_uri": format!("{base}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "service_documentation": SCRIPT,
        "op_policy_uri": ATTR,
        "x_long_value": long,
    });
    let jwt = format!(
        "{}.{}.c2lnbmF0dXJl",
        b64(&serde_json::json!({"alg": "RS256", "typ": "JWT", "kid": SVG})),
        b64(&serde_json::json!({
            "iss": base, "sub": SCRIPT, "aud": "kensa-confidential", "exp": 4_102_444_800_u64, "iat": 1_700_000_000_u64,
            "name": FRAME, "nickname": ATTR, "x_long_claim": "C".repeat(20_000),
        }))
    );
    let header = ("X-Hostile", "<script>window.__kensaPwned='header'</script>");
    let long_header = format!("{base}/{}", "H".repeat(3000));
    let json = |v: serde_json::Value| {
        ResponseTemplate::new(200)
            .insert_header(header.0, header.1)
            .insert_header("Link", long_header.as_str())
            .set_body_json(v)
    };
    Mock::given(method("GET"))
        .and(path("/.well-known/openid-configuration"))
        .respond_with(json(discovery))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/jwks"))
        .respond_with(json(
            serde_json::json!({"keys": [{"kty": "RSA", "kid": SVG, "use": "sig", "n": "L".repeat(4096), "e": "AQAB"}]}),
        ))
        .mount(&server)
        .await;
    let page = format!(
        "<!DOCTYPE html><html><body>{SCRIPT}<h1 title='{ATTR}'>{SVG}</h1>{FRAME}<form method=post action=\"/login\"><input name=username><input name=password type=password><button>Sign in</button></form><p>{long}</p></body></html>"
    );
    Mock::given(method("GET"))
        .and(path("/authorize"))
        .respond_with(
            ResponseTemplate::new(200).insert_header(header.0, header.1).set_body_raw(page.clone(), "text/html"),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(json(serde_json::json!({
            "access_token": "opaque-hostile-token", "token_type": "Bearer", "expires_in": 300,
            "id_token": jwt, "error_description": SCRIPT, "x_long_value": long,
        })))
        .mount(&server)
        .await;
    Mock::given(path("/userinfo"))
        .respond_with(json(serde_json::json!({"sub": SCRIPT, "name": FRAME, "picture": ATTR})))
        .mount(&server)
        .await;
    // Anything else (the login form's POST, a logout): an error page of markup.
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(400).insert_header(header.0, header.1).set_body_raw(page, "text/html"))
        .mount(&server)
        .await;
    server
}

fn hostile_profile(dir: &Path, issuer: &str) -> PathBuf {
    let path = dir.join("hostile.toml");
    std::fs::write(
        &path,
        format!(
            r#"name = "hostile"
description = "an OpenID Provider that answers with markup"
issuer = "{issuer}"
default_user = "alice"

[timeouts]
request_secs = 5
connect_secs = 2

[[clients]]
role = "confidential"
client_id = "kensa-confidential"
client_secret_env = "KENSA_HOSTILE_SECRET"
redirect_uris = ["https://client.kensa.test/callback"]

[[users]]
username = "alice"
password_env = "KENSA_HOSTILE_PASSWORD"
sub = "alice-sub"
claims = {{ name = "Alice" }}
"#
        ),
    )
    .unwrap();
    path
}

#[test]
fn a_report_with_failures_deviations_and_a_hostile_idp_reads_right_in_a_browser() {
    let work = tempfile::tempdir().unwrap();

    // Failures, a known and a stale deviation, a skipped check, passes: the
    // file linkage's STS and storage are unreachable (LINK-01 and LINK-02
    // fail, LINK-01 is listed), LINK-03 needs kensa's own doubles (skipped),
    // OIDC-DISC-01 passes but is listed (stale).
    let fixtures = fixtures_with_deviations(work.path());
    let faults = work.path().join("faults");
    let tags = ["LINK-01", "LINK-02", "LINK-03", "OIDC-DISC-01", "OIDC-IDT-01", "OIDC-AUTHZ-01"]
        .map(|c| format!("@check:{c}"))
        .join(" or ");
    let out = run_into(
        &faults,
        &[
            "--fixtures",
            fixtures.to_str().unwrap(),
            "--tags",
            &tags,
            "--aws",
            "sts=http://127.0.0.1:9,s3=http://127.0.0.1:9",
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "the run fails:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let verdicts: Vec<String> = crate::common::summary(&faults)["targets"][0]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["verdict"].as_str().unwrap().to_owned())
        .collect();
    for v in ["pass", "fail", "expected_fail", "unexpected_pass", "skipped"] {
        assert!(verdicts.iter().any(|x| x == v), "the run has no {v} check: {verdicts:?}\n{stdout}");
    }

    // A hostile IdP, reached through a profile as a vendor's would be.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(hostile_op());
    let profile = hostile_profile(work.path(), &server.uri());
    let hostile = work.path().join("hostile");
    let out = Command::new(env!("CARGO_BIN_EXE_kensa"))
        .args(["run", "--quiet", "--profile", profile.to_str().unwrap(), "--report-dir", hostile.to_str().unwrap()])
        .args(["--tags", "@area:discovery or @area:token or @area:id-token or @area:userinfo"])
        .current_dir(root())
        .env("KENSA_HOSTILE_SECRET", "hostile-client-secret")
        .env("KENSA_HOSTILE_PASSWORD", "hostile-password")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "the hostile IdP fails checks:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(hostile.join("index.html").is_file(), "{stdout}");
    let html = std::fs::read_to_string(hostile.join("index.html")).unwrap();
    assert!(!html.contains("<script>window"), "the report holds the IdP's markup unescaped");

    in_browser(&[("faults", &faults), ("hostile", &hostile)]);
    drop(server);
}
