//! The fault matrix: every check must fail against a reference IdP that has
//! exactly the fault it guards against, and no other check may fail then.
//! `kensa run --fault all` runs it in one process; these tests read what it
//! wrote and hold it against the tags they read themselves.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::common::{assert_no_secrets, checks, kensa, root};

fn faults() -> Vec<String> {
    let out = kensa(&["faults", "--json"]);
    assert!(out.status.success());
    let v: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    v.iter().map(|f| f["name"].as_str().unwrap().to_owned()).collect()
}

/// The rows of faults.json: fault name to (broken, missed, extra).
fn rows(dir: &Path) -> BTreeMap<String, serde_json::Value> {
    let text = std::fs::read_to_string(dir.join("faults.json")).expect("faults.json written");
    let rows: Vec<serde_json::Value> = serde_json::from_str(&text).expect("faults.json is JSON");
    rows.into_iter().map(|r| (r["fault"].as_str().unwrap().to_owned(), r)).collect()
}

fn ids(v: &serde_json::Value) -> BTreeSet<String> {
    v.as_array().expect("array").iter().map(|s| s.as_str().unwrap().to_owned()).collect()
}

#[test]
fn every_fault_breaks_exactly_its_checks() {
    let catalogue = checks();
    let mut expected: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for c in &catalogue {
        let faults = c["faults"].as_array().unwrap();
        assert!(
            !faults.is_empty(),
            "check {} has no fault: a check that cannot be shown to fail proves nothing",
            c["id"]
        );
        for f in faults {
            expected.entry(f.as_str().unwrap().to_owned()).or_default().insert(c["id"].as_str().unwrap().to_owned());
        }
    }
    let all = faults();
    for f in expected.keys() {
        assert!(all.contains(f), "a check names fault {f}, which the reference IdP does not have");
    }
    for f in &all {
        assert!(expected.contains_key(f), "fault {f} is named by no check: nothing proves it is detected");
    }

    let dir = tempfile::tempdir().unwrap();
    let out = kensa(&["run", "--fault", "all", "--quiet", "--report-dir", dir.path().to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "the fault matrix does not hold:\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // The test's own reading of the tags, not kensa's, decides.
    let rows = rows(dir.path());
    assert_eq!(rows.len(), all.len() + 1, "one row per fault and one for the clean IdP");
    assert!(ids(&rows["none"]["broken"]).is_empty(), "the clean reference IdP fails {:?}", rows["none"]["broken"]);
    let mut problems = Vec::new();
    for f in &all {
        let broken = ids(&rows[f]["broken"]);
        if broken != expected[f] {
            problems.push(format!("--fault {f}: failed {broken:?}, expected exactly {:?}", expected[f]));
        }
    }
    assert!(problems.is_empty(), "fault matrix mismatches:\n{}", problems.join("\n"));
    assert_no_secrets(dir.path());
}

/// A check tagged with a fault it does not detect fails the matrix, with
/// the check named: the matrix can fail.
#[test]
fn a_check_that_misses_its_tagged_fault_fails_the_matrix() {
    let features = tempfile::tempdir().unwrap();
    copy_dir(&root().join("features"), features.path());
    // OIDC-IDT-07 (the nonce) now claims to catch revocation-noop.
    let file = features.path().join("oidc/id_token.feature");
    let text = std::fs::read_to_string(&file).unwrap();
    let tagged = text.replacen("@check:OIDC-IDT-07 ", "@check:OIDC-IDT-07 @fault:revocation-noop ", 1);
    assert_ne!(text, tagged, "OIDC-IDT-07 is in oidc/id_token.feature");
    std::fs::write(&file, tagged).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let out = kensa(&[
        "run",
        "--fault",
        "revocation-noop,nonce-not-echoed",
        "--tags",
        "@check:OIDC-IDT-07 or @check:OIDC-REV-01",
        "--features",
        features.path().to_str().unwrap(),
        "--report-dir",
        dir.path().to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr:\n{stderr}");
    assert!(stderr.contains("revocation-noop") && stderr.contains("passed though tagged: OIDC-IDT-07"), "{stderr}");
    let rows = rows(dir.path());
    assert_eq!(ids(&rows["revocation-noop"]["missed"]), BTreeSet::from(["OIDC-IDT-07".to_owned()]));
    assert!(ids(&rows["nonce-not-echoed"]["missed"]).is_empty() && ids(&rows["none"]["broken"]).is_empty());
    let junit = std::fs::read_to_string(dir.path().join("junit.xml")).unwrap();
    assert!(junit.contains("failures=\"1\"") && junit.contains("revocation-noop breaks exactly its checks"), "{junit}");
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}
