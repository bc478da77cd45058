//! Verdicts on a deployment kensa was not built with: the stranger realm
//! (fixtures/stranger/realm.toml: other ids, secrets and redirect URIs, each
//! confidential client held to the one authentication method it is
//! registered for, users without optional claims) served by the embedded
//! IdP and by node-oidc-provider, and reached through profiles as a vendor
//! would (fixtures/stranger/profile.toml, one-user.toml). Every check must
//! pass, be skipped with its reason, or be one of the IdP's own known
//! deviations: a check that assumes kensa's own realm fails here.
//!
//! Snapshot checks are left out: a new deployment has no baselines yet
//! (tests/installed.rs takes a profile through blessing them).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{assert_no_secrets, files_under, root, summary};

/// The built-in fixtures with the stranger realm in place of kensa's own.
fn stranger_fixtures(into: &Path) -> PathBuf {
    let src = root().join("fixtures");
    let dst = into.join("fixtures");
    for file in files_under(&src) {
        let to = dst.join(file.strip_prefix(&src).unwrap());
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(&file, &to).unwrap();
    }
    std::fs::copy(src.join("stranger/realm.toml"), dst.join("realm.toml")).unwrap();
    dst
}

/// The profile, with the login driver and known deviations of the IdP it
/// reaches, written beside a copy of that IdP's expected.toml.
fn profile(dir: &Path, which: &str, login: &str, expected: Option<&Path>) -> PathBuf {
    let text = std::fs::read_to_string(root().join("fixtures/stranger").join(which)).unwrap();
    let text = text.replace("login_profile = \"generic\"", &format!("login_profile = \"{login}\""));
    match expected {
        Some(e) => std::fs::copy(e, dir.join("stranger-expected.toml")).unwrap(),
        None => {
            std::fs::copy(root().join("fixtures/stranger/stranger-expected.toml"), dir.join("stranger-expected.toml"))
                .unwrap()
        }
    };
    let path = dir.join(which);
    std::fs::write(&path, text).unwrap();
    path
}

const ENV: &[(&str, &str)] = &[
    ("KENSA_STRANGER_PORTAL_SECRET", "stranger-portal-8Qe2-secret-c19d"),
    ("KENSA_STRANGER_BATCH_SECRET", "stranger-batch-Vt7k-secret-e8d0"),
    ("KENSA_STRANGER_TARO_PASSWORD", "Stranger-Taro-Pass-7302"),
    ("KENSA_STRANGER_HANAKO_PASSWORD", "Stranger-Hanako-Pass-4411"),
];

fn run_profile(profile: &Path, issuer: &str, report: &Path) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_kensa"))
        .args(["run", "--quiet", "--profile", profile.to_str().unwrap(), "--issuer", issuer])
        .args(["--tags", "not @area:snapshots", "--report-dir", report.to_str().unwrap()])
        .current_dir(root())
        .envs(ENV.iter().copied())
        .output()
        .unwrap();
    (out.status.code(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

/// Every check that failed or did not run, with its message.
fn not_passing(report: &Path) -> Vec<String> {
    let s = summary(report);
    s["targets"][0]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| matches!(c["verdict"].as_str(), Some("fail" | "not_run" | "unexpected_pass")))
        .map(|c| format!("{} {}: {}", c["id"], c["verdict"], c["message"].as_str().unwrap_or("")))
        .collect()
}

fn stranger_run(target: &str, login: &str, expected: Option<&Path>) {
    let work = tempfile::tempdir().unwrap();
    let fixtures = stranger_fixtures(work.path());
    let served = crate::remote::serve_with(target, &["--fixtures", fixtures.to_str().unwrap()]);
    for which in ["profile.toml", "one-user.toml"] {
        let profile = profile(work.path(), which, login, expected);
        let report = work.path().join(format!("report-{which}"));
        let (code, out) = run_profile(&profile, &served.issuer, &report);
        let bad = not_passing(&report);
        assert!(
            bad.is_empty(),
            "{target} with {which}: checks that are not the IdP's own failures:\n{}\n{out}",
            bad.join("\n")
        );
        assert_eq!(code, Some(0), "{target} with {which}:\n{out}");
        let s = summary(&report);
        let passed = s["targets"][0]["counts"]["passed"].as_u64().unwrap();
        assert!(passed >= 40, "{target} with {which}: only {passed} checks passed\n{out}");
        assert_no_secrets(&report);
    }
    drop(served);
}

#[test]
fn the_embedded_idp_with_a_stranger_realm_has_no_false_failures() {
    stranger_run("embedded", "generic", None);
}

#[test]
fn node_oidc_provider_with_a_stranger_realm_has_no_false_failures() {
    let expected = root().join("fixtures/targets/node-oidc-provider/expected.toml");
    stranger_run("node-oidc-provider", "node-oidc-provider", Some(&expected));
}
