//! The suite against every target at once: the embedded reference IdP and
//! the real IdPs kensa manages (node-oidc-provider, LemonLDAP::NG,
//! SimpleSAMLphp). Real IdPs
//! must show no failure beyond the deviations their expected.toml lists (zero
//! false failures), and no listed deviation may pass unnoticed.
//!
//! This test needs what the real targets need (Node.js and npm; root on
//! Debian 12 for LemonLDAP::NG). `.ci/run` installs them with `kensa setup`;
//! on another machine run `kensa targets` to see what is missing.

use crate::common::{assert_no_secrets, lemonldap_lock, run_into, summary};

#[test]
fn every_target_passes_all_but_its_known_deviations() {
    let _llng = lemonldap_lock();
    let dir = tempfile::tempdir().unwrap();
    // Container targets need a Docker engine: without one they are skipped,
    // with the reason, and every other target must run.
    let out = run_into(dir.path(), &["--target", "all", "--skip-unavailable"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stdout:\n{stdout}\nstderr:\n{stderr}");
    let s = summary(dir.path());
    let targets = s["targets"].as_array().unwrap();
    let names: Vec<&str> = targets.iter().map(|t| t["target"].as_str().unwrap()).collect();
    for expected in ["embedded", "lemonldap-ng", "lemonldap-ng-rest", "node-oidc-provider", "simplesamlphp"] {
        assert!(names.contains(&expected), "{expected} missing from {names:?}");
    }
    let docker = kensa::targets::container::docker_engine();
    for t in targets {
        let name = t["target"].as_str().unwrap();
        if t["kind"] == "container" && docker.is_err() {
            let c = &t["counts"];
            assert!(c["skipped"].as_u64().unwrap() > 0 && c["passed"] == 0 && c["not_run"] == 0, "{name}: {c}");
            assert!(t["error"].as_str().unwrap().contains("no Docker engine"), "{name}: {}", t["error"]);
            continue;
        }
        assert!(t["error"].is_null(), "{name} did not run: {}", t["error"]);
        assert!(t["version"].is_string(), "{name} records no version");
        let c = &t["counts"];
        assert_eq!(c["failed"], 0, "{name}: unexpected failures\n{stdout}");
        assert_eq!(c["not_run"], 0, "{name}: checks did not run\n{stdout}");
        assert_eq!(c["unexpected_passes"], 0, "{name}: a listed deviation passes; update its expected.toml\n{stdout}");
        assert!(c["passed"].as_u64().unwrap() > 0, "{name} passed nothing");
    }
    let matrix = std::fs::read_to_string(dir.path().join("matrix.txt")).unwrap();
    assert!(matrix.lines().next().unwrap().contains("lemonldap-ng"), "{matrix}");
    assert!(matrix.contains("xfail"), "{matrix}");
    assert_no_secrets(dir.path());
    // The same report, as a reader sees it in a browser.
    crate::report_browser::in_browser(&[("multi", dir.path())]);
}
