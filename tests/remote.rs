//! Remote targets: the example profiles in fixtures/profiles/ reach a
//! node-oidc-provider and a LemonLDAP::NG that `kensa serve` runs, and pass
//! with the same known deviations and snapshot baselines as the managed
//! targets; bad profiles are refused with the key at fault.
//!
//! Like tests/targets.rs, these need Node.js (and root for LemonLDAP::NG),
//! which `.ci/run` installs; in CI neither may be skipped.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use crate::common::{assert_no_secrets, lemonldap_lock, root, summary};

/// A target that `kensa serve` runs on a free loopback port; dropping it
/// stops the server by its PID (SIGTERM, then SIGKILL).
pub(crate) struct Served {
    child: Child,
    pub(crate) issuer: String,
}

pub(crate) fn serve(target: &str) -> Served {
    serve_with(target, &[])
}

/// As [`serve`], with more arguments (`--fixtures DIR`).
pub(crate) fn serve_with(target: &str, extra: &[&str]) -> Served {
    // Port 0: kensa picks a free port and retries if another process takes
    // it first (a port picked here could be taken before kensa binds it).
    let mut child = Command::new(env!("CARGO_BIN_EXE_kensa"))
        .args(["serve", target, "--port", "0"])
        .args(extra)
        .current_dir(root())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(rest) = line.strip_prefix("kensa: serving ") {
                let issuer = rest.split(" at ").nth(1).and_then(|r| r.split_whitespace().next()).unwrap_or("");
                let _ = tx.send(issuer.to_owned());
            }
        }
    });
    // An exclusive target (LemonLDAP::NG) may first wait for another kensa
    // run on this machine to finish with it; kensa bounds that wait itself.
    match rx.recv_timeout(Duration::from_secs(960)) {
        Ok(issuer) => Served { child, issuer },
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
            let status = child.wait();
            panic!("kensa serve {target} exited ({status:?}) without serving; its error is in the output above");
        }
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            let _ = child.kill();
            panic!("kensa serve {target} did not say it was serving within 960 s");
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        for _ in 0..200 {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The variables a profile names, set from the realm fixture: what
/// `scripts/profile-env.py` prints.
fn profile_env(profile: &str) -> Vec<(String, String)> {
    let p: toml::Table = toml::from_str(&std::fs::read_to_string(root().join(profile)).unwrap()).unwrap();
    let realm = kensa_mocks::realm::Realm::load(&root().join("fixtures/realm.toml")).unwrap();
    let mut env = Vec::new();
    for c in p["clients"].as_array().unwrap() {
        if let Some(var) = c.get("client_secret_env").and_then(|v| v.as_str()) {
            let id = c["client_id"].as_str().unwrap();
            let secret = realm.client(id).and_then(|r| r.client_secret.clone()).unwrap();
            env.push((var.to_owned(), secret));
        }
    }
    for u in p["users"].as_array().unwrap() {
        let var = u["password_env"].as_str().unwrap();
        env.push((var.to_owned(), realm.user(u["username"].as_str().unwrap()).unwrap().password.clone()));
    }
    env
}

fn kensa_with_env(args: &[&str], env: &[(String, String)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kensa"))
        .args(args)
        .current_dir(root())
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .output()
        .unwrap()
}

/// The failed and not-run checks of a summary, with their messages.
fn failing(s: &serde_json::Value) -> String {
    let checks = s["targets"][0]["checks"].as_array().cloned().unwrap_or_default();
    checks
        .iter()
        .filter(|c| c["verdict"] == "fail" || c["verdict"] == "not_run")
        .map(|c| format!("  {} {}: {}", c["id"], c["verdict"], c["message"].as_str().unwrap_or("")))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Runs the example profile against the served target and checks the
/// verdict: every check passed, was a listed deviation, or was skipped for
/// a reason the profile explains.
fn profile_passes(target: &str, profile: &str, min_passed: u64) {
    let served = serve(target);
    let env = profile_env(profile);
    let check = kensa_with_env(&["profile", "check", profile, "--issuer", &served.issuer], &env);
    let out = String::from_utf8_lossy(&check.stdout);
    assert_eq!(check.status.code(), Some(0), "profile check:\n{out}{}", String::from_utf8_lossy(&check.stderr));
    assert!(out.contains("ok: discovery answers and names issuer"), "{out}");

    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().to_str().unwrap();
    let run = kensa_with_env(
        &["run", "--quiet", "--profile", profile, "--issuer", &served.issuer, "--report-dir", report],
        &env,
    );
    let stdout = String::from_utf8_lossy(&run.stdout);
    let s = summary(dir.path());
    assert_eq!(
        run.status.code(),
        Some(0),
        "stdout:\n{stdout}\nstderr:\n{}\nchecks that did not pass:\n{}",
        String::from_utf8_lossy(&run.stderr),
        failing(&s)
    );
    let t = &s["targets"][0];
    assert_eq!(t["kind"], "remote");
    let c = &t["counts"];
    assert_eq!(c["failed"], 0, "{stdout}");
    assert_eq!(c["not_run"], 0, "{stdout}");
    assert_eq!(c["unexpected_passes"], 0, "{stdout}");
    assert!(c["passed"].as_u64().unwrap() >= min_passed, "{target}: fewer checks passed than expected: {c}");
    // What the profile lacks is skipped, with the reason.
    for check in t["checks"].as_array().unwrap().iter().filter(|c| c["verdict"] == "skipped") {
        let why = check["message"].as_str().unwrap();
        assert!(why.contains("lacks"), "{}: {why}", check["id"]);
    }
    // The same snapshot baselines as the managed target, all matched.
    assert!(stdout.contains("6 matched, 0 drifted, 0 missing"), "{stdout}");
    assert_no_secrets(dir.path());

    // --snapshots wins over the profile's folder, and the way to bless
    // names the profile and that folder.
    let empty = tempfile::tempdir().unwrap();
    let empty_dir = empty.path().to_str().unwrap();
    let run = kensa_with_env(
        &[
            "run",
            "--quiet",
            "--profile",
            profile,
            "--issuer",
            &served.issuer,
            "--report-dir",
            report,
            "--tags",
            "@check:SNAP-03",
            "--snapshots",
            empty_dir,
        ],
        &env,
    );
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert_eq!(run.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("0 matched, 0 drifted, 1 missing"), "{stdout}");
    assert!(
        // The command reproduces the options that chose the deployment.
        stdout.contains(&format!(
            "`kensa run --profile {profile} --issuer {} --snapshots {empty_dir} --update-snapshots`",
            served.issuer
        )),
        "{stdout}"
    );

    // A selection the profile cannot run at all is skipped, and a run that
    // checked nothing is not a pass.
    let run = kensa_with_env(
        &[
            "run",
            "--quiet",
            "--profile",
            profile,
            "--issuer",
            &served.issuer,
            "--report-dir",
            report,
            "--tags",
            "@area:external-auth",
        ],
        &env,
    );
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("no check ran"), "{stderr}");
    let s = summary(dir.path());
    let c = &s["targets"][0]["counts"];
    assert_eq!((c["passed"].as_u64(), c["skipped"].as_u64().map(|n| n > 0)), (Some(0), Some(true)), "{c}");
}

#[test]
fn the_node_oidc_provider_profile_passes_against_a_served_node_oidc_provider() {
    profile_passes("node-oidc-provider", "fixtures/profiles/node-oidc-provider.toml", 55);
}

#[test]
fn the_lemonldap_ng_profile_passes_against_a_served_lemonldap_ng() {
    if !kensa::targets::process::is_root() && std::env::var_os("CI").is_none() {
        eprintln!("skipped: LemonLDAP::NG needs root (run the harness as root, as CI does)");
        return;
    }
    let _llng = lemonldap_lock();
    profile_passes("lemonldap-ng", "fixtures/profiles/lemonldap-ng.toml", 40);
}

fn check_profile(text: &str, env: &[(String, String)], extra: &[&str]) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vendor.toml");
    std::fs::write(&path, text).unwrap();
    let mut args = vec!["profile", "check", path.to_str().unwrap()];
    args.extend_from_slice(extra);
    let out = kensa_with_env(&args, env);
    (out.status.code(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

const VENDOR: &str = r#"issuer = "http://127.0.0.1:1/realms/acme"
[[clients]]
role = "confidential"
client_id = "kensa"
client_secret_env = "VENDOR_SECRET"
redirect_uris = ["https://kensa.invalid/cb"]
[[users]]
username = "alice"
password_env = "VENDOR_ALICE"
sub = "a1"
"#;

#[test]
fn bad_profiles_are_refused_with_the_key_at_fault_and_an_unreachable_issuer_fails() {
    let env = vec![("VENDOR_SECRET".to_owned(), "v-s3cret-9".to_owned()), ("VENDOR_ALICE".to_owned(), "pw".to_owned())];
    let (code, out) = check_profile(VENDOR, &env, &["--offline"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("secrets read from: VENDOR_SECRET, VENDOR_ALICE"), "{out}");

    let literal = VENDOR.replace("client_secret_env = \"VENDOR_SECRET\"", "client_secret = \"v-s3cret-9\"");
    let (code, out) = check_profile(&literal, &env, &["--offline"]);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("clients[0].client_secret holds a literal secret"), "{out}");
    assert!(!out.contains("v-s3cret-9"), "the refusal repeats the secret: {out}");

    let (code, out) = check_profile(&VENDOR.replace("issuer", "issuer_url"), &env, &["--offline"]);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("issuer_url"), "{out}");

    let (code, out) = check_profile(VENDOR, &env[..1], &["--offline"]);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("VENDOR_ALICE (named by users[0].password_env) is not set"), "{out}");

    // Port 1 on loopback: nothing listens, the check says so and fails.
    let (code, out) = check_profile(VENDOR, &env, &[]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("unreachable"), "{out}");
    assert!(!out.contains("v-s3cret-9"), "{out}");

    // A run against it stops before any check, with the reason.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vendor.toml");
    std::fs::write(&path, VENDOR).unwrap();
    let report = dir.path().join("reports");
    let out =
        kensa_with_env(&["run", "--profile", path.to_str().unwrap(), "--report-dir", report.to_str().unwrap()], &env);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("is unreachable") && stderr.contains("kensa profile check"), "{stderr}");
}

#[test]
fn every_example_profile_is_valid() {
    let mut seen = 0;
    for entry in std::fs::read_dir(root().join("fixtures/profiles")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let rel = format!("fixtures/profiles/{}", path.file_name().unwrap().to_string_lossy());
        let mut env = profile_env(&rel);
        env.push(("KENSA_KEYCLOAK_ADMIN_PASSWORD".into(), "unused-offline".into()));
        let out = kensa_with_env(&["profile", "check", &rel, "--offline"], &env);
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{rel}: {text}{}", String::from_utf8_lossy(&out.stderr));
        assert!(text.contains("is valid"), "{text}");
        seen += 1;
    }
    assert!(seen >= 3, "the example profiles are missing");
}
