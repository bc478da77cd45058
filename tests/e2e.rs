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

    // The HAR file is HAR 1.2: one page per scenario, every entry complete.
    let har: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("kensa.har")).unwrap()).unwrap();
    assert_eq!(har["log"]["version"], "1.2");
    assert_eq!(har["log"]["pages"].as_array().unwrap().len(), catalogue.len());
    let entries = har["log"]["entries"].as_array().unwrap();
    assert!(entries.len() > catalogue.len());
    for e in entries {
        for field in ["pageref", "startedDateTime", "time", "request", "response", "cache", "timings"] {
            assert!(e.get(field).is_some(), "HAR entry without {field}: {e}");
        }
        assert!(e["request"]["headers"].is_array() && e["response"]["content"]["mimeType"].is_string());
    }
    assert_no_secrets(dir.path());
}

#[test]
fn the_html_report_leads_with_the_failing_check_and_its_breaking_exchange() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_into(dir.path(), &["--fault", "nonce-not-echoed"]);
    assert_eq!(out.status.code(), Some(1));
    let html = std::fs::read_to_string(dir.path().join("index.html")).unwrap();
    let attention = html.find("What needs attention").expect("a failures section");
    let matrix = html.find("<h2>Matrix").unwrap();
    let first_screen = &html[attention..matrix];
    assert!(first_screen.contains("OIDC-IDT-07"), "the failing check is not named first");
    assert!(!first_screen.contains("OIDC-IDT-06"), "a passing check is listed as failing");
    // Its section is open, shows the spec link, the message and the token
    // exchange marked as the last one before the failure, with the ID token
    // decoded (no nonce claim in it).
    let section = &html[html.find("id=\"c-embedded-OIDC-IDT-07\"").unwrap()..];
    let section = &section[..section.find("</details></div></details>").unwrap_or(section.len())];
    assert!(section.contains("https://openid.net/specs/openid-connect-core-1_0.html"));
    assert!(section.contains("claim &quot;nonce&quot; is missing"));
    assert!(section.contains("last exchange before the failure"));
    assert!(section.contains("decoded JWT"));
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

#[test]
fn the_jwt_detector_of_these_tests_finds_jwts_only() {
    use crate::common::contains_jwt;
    assert!(contains_jwt("x eyJhbGciOiJub25lIn0.eyJzdWIiOiJ1In0. y"));
    assert!(!contains_jwt("state=AbeyJ9xQ&nonce=eyJk"));
    assert!(!contains_jwt("eyJhbGciOiJub25lIn0"));
}
