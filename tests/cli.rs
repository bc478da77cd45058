//! Bad input: one clear line naming the input, exit code 2, no panic.

use crate::common::{kensa, root};

fn assert_setup_error(args: &[&str], needle: &str) {
    let out = kensa(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: stderr {stderr}");
    assert!(stderr.contains(needle), "{args:?}: {needle:?} not in {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn unknown_fault_lists_the_known_ones() {
    assert_setup_error(&["run", "--fault", "no-such-fault"], "no-such-fault");
    assert_setup_error(&["run", "--fault", "no-such-fault"], "code-reusable");
}

#[test]
fn unknown_tag_and_bad_tag_expression() {
    assert_setup_error(&["run", "--tags", "@no-such-tag"], "@no-such-tag");
    assert_setup_error(&["run", "--tags", "@MUST and and"], "not a tag expression");
}

#[test]
fn unknown_target_and_missing_directories() {
    assert_setup_error(&["run", "--target", "nowhere"], "unknown target \"nowhere\"");
    assert_setup_error(&["run", "--features", "/nonexistent-kensa"], "/nonexistent-kensa");
    assert_setup_error(&["run", "--fixtures", "/nonexistent-kensa"], "/nonexistent-kensa");
}

#[test]
fn malformed_feature_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("broken.feature"),
        "Feature: x\n  Scenario: y\n  Given\nthis is not gherkin\n  Examples:\n",
    )
    .unwrap();
    let path = dir.path().to_str().unwrap();
    assert_setup_error(&["run", "--features", path], "broken.feature");
    assert_setup_error(&["checks", "--features", path], "broken.feature");
}

#[test]
fn a_scenario_without_check_tags_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("untagged.feature"),
        "Feature: x\n  Scenario: y\n    Given the target's discovery document\n",
    )
    .unwrap();
    assert_setup_error(&["run", "--features", dir.path().to_str().unwrap()], "untagged.feature:2");
}

#[test]
fn usage_errors_exit_2() {
    let out = kensa(&["run", "--concurrency", "0"]);
    assert_eq!(out.status.code(), Some(2));
    let out = kensa(&["frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn checks_and_targets_list_what_exists() {
    let out = kensa(&["checks"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(
        text.contains("OIDC-TOKEN-03") && text.contains("code-reusable") && text.contains("RFC6749-4.1.2"),
        "{text}"
    );
    let out = kensa(&["targets"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("embedded") && text.contains("can start"), "{text}");
    let out = kensa(&["targets", "--fixtures", root().join("nope").to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("unavailable"));
}

#[test]
fn ida_validates_verified_claims_files() {
    let valid = "fixtures/ida/corpus/valid/gbizid_entry.json";
    let invalid = "fixtures/ida/corpus/invalid/trust_framework_missing.json";
    let out = kensa(&["ida", valid]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(String::from_utf8_lossy(&out.stdout).contains("valid verified_claims"));
    let out = kensa(&["ida", valid, invalid]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("verification.trust_framework") && text.contains("IDA-Schema-5.4.2"), "{text}");
    assert_setup_error(&["ida", "fixtures/ida/no-such-file.json"], "no-such-file.json");
    assert_setup_error(&["ida", "README.md"], "not JSON");
}

/// `kensa checks | head -1`: the reader goes away early; kensa must stop
/// writing quietly, not panic on the closed pipe.
#[test]
fn a_closed_stdout_is_not_a_panic() {
    for args in [&["checks"][..], &["faults"][..], &["checks", "--json"][..], &["targets"][..]] {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_kensa"))
            .args(args)
            .current_dir(root())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Closed before kensa has read its feature files, so every write
        // meets a closed pipe.
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
    }
}
