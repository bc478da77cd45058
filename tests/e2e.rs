//! The suite against the embedded reference IdP.

use crate::common::{assert_no_secrets, checks, not_passed, run_into, summary};

#[test]
fn the_suite_passes_against_the_reference_idp_and_writes_reports() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_into(dir.path(), &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "stdout:\n{stdout}\nstderr:\n{}", String::from_utf8_lossy(&out.stderr));

    let s = summary(dir.path());
    let catalogue = checks();
    assert_eq!(s["counts"]["passed"].as_u64().unwrap() as usize, catalogue.len());
    assert_eq!(s["counts"]["failed"], 0);
    assert!(not_passed(&s).is_empty());
    assert!(stdout.contains(&format!("{} checks: {} passed, 0 failed", catalogue.len(), catalogue.len())), "{stdout}");

    // JUnit parses as XML and has one test case per check.
    let junit = std::fs::read_to_string(dir.path().join("junit.xml")).unwrap();
    let mut reader = quick_xml::Reader::from_str(&junit);
    let mut cases = 0;
    loop {
        match reader.read_event().expect("junit.xml is well-formed XML") {
            quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e)
                if e.name().as_ref() == b"testcase" =>
            {
                cases += 1;
            }
            quick_xml::events::Event::Eof => break,
            _ => {}
        }
    }
    assert_eq!(cases, catalogue.len());

    // Cucumber JSON parses and carries every scenario with its tags.
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("cucumber.json")).unwrap()).unwrap();
    // Backgrounds appear as elements of their own, before each scenario.
    let scenarios: usize = json
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|f| f["elements"].as_array().unwrap())
        .filter(|e| e["type"] == "scenario")
        .count();
    assert_eq!(scenarios, catalogue.len());
    assert_no_secrets(dir.path());
}

#[test]
fn a_tag_filter_runs_only_the_selected_checks() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_into(dir.path(), &["--tags", "@area:pkce and @MUST"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    let s = summary(dir.path());
    let ids: Vec<&str> =
        s["targets"][0]["checks"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert!(!ids.is_empty());
    assert!(ids.iter().all(|i| i.starts_with("OIDC-PKCE-")), "{ids:?}");
}
