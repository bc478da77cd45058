//! The secret canary: every secret slot of the realm (client secrets, user
//! passwords) carries a canary, the reference IdP prefixes every code and
//! token it issues, and after runs that pass and runs that fail (failure
//! messages quote responses and transcripts), no report file and no line of
//! the console contains any of them.

use std::path::Path;
use std::process::Command;

use crate::common::{assert_no_secrets, root};

const CANARY: &str = "CANARY7f3e";

fn canary_fixtures(dir: &Path) {
    // The realm with its included files merged in, so every user gets a canary.
    let mut v = kensa_mocks::realm::Realm::load_value(&root().join("fixtures/realm.toml")).unwrap();
    for (i, c) in v["clients"].as_array_mut().unwrap().iter_mut().enumerate() {
        if let Some(s) = c.get("client_secret").and_then(|s| s.as_str()).map(str::to_owned) {
            c["client_secret"] = toml::Value::String(format!("{CANARY}-{i}-{s}"));
        }
    }
    for (i, u) in v["users"].as_array_mut().unwrap().iter_mut().enumerate() {
        let p = u["password"].as_str().unwrap().to_owned();
        u["password"] = toml::Value::String(format!("{CANARY}-pw{i}-{p}"));
    }
    std::fs::write(dir.join("realm.toml"), toml::to_string(&v).unwrap()).unwrap();
    std::fs::create_dir_all(dir.join("keys")).unwrap();
    for k in ["rs256.pem", "es256.pem", "rs256-rogue.pem"] {
        std::fs::copy(root().join("fixtures/keys").join(k), dir.join("keys").join(k)).unwrap();
    }
    std::fs::create_dir_all(dir.join("api")).unwrap();
    std::fs::copy(root().join("fixtures/api/routes.toml"), dir.join("api/routes.toml")).unwrap();
}

#[test]
fn no_secret_reaches_a_report_or_the_console() {
    let fixtures = tempfile::tempdir().unwrap();
    canary_fixtures(fixtures.path());
    // A clean run, and faulty ones whose failure messages quote responses
    // that carry tokens, codes and secrets.
    for fault in [
        None,
        Some("client-secret-unchecked"),
        Some("nonce-not-echoed"),
        Some("userinfo-sub-mismatch"),
        Some("token-response-cacheable"),
    ] {
        let reports = tempfile::tempdir().unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_kensa"));
        cmd.args(["run", "--report-dir"])
            .arg(reports.path())
            .arg("--fixtures")
            .arg(fixtures.path())
            .arg("--snapshots")
            .arg(root().join("fixtures/snapshots"))
            .current_dir(root());
        if let Some(f) = fault {
            cmd.args(["--fault", f]);
        }
        let out = cmd.output().unwrap();
        let console = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert_eq!(out.status.code(), Some(if fault.is_some() { 1 } else { 0 }), "{fault:?}: {console}");
        assert!(!console.contains(CANARY), "{fault:?}: the console shows a secret:\n{console}");
        assert!(!crate::common::contains_jwt(&console), "{fault:?}: the console shows a JWT:\n{console}");
        for leak in ["kensa-code-", "kensa-at-", "kensa-rt-"] {
            assert!(!console.contains(leak), "{fault:?}: the console shows {leak}...:\n{console}");
        }
        for path in crate::common::files_under(reports.path()) {
            let text = std::fs::read_to_string(&path).unwrap();
            assert!(!text.contains(CANARY), "{fault:?}: {} contains a canary secret", path.display());
        }
        assert_no_secrets(reports.path());
        assert!(reports.path().join("index.html").is_file() && reports.path().join("kensa.har").is_file());
    }
}
