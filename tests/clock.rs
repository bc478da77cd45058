//! The clock the embedded run moves: an expiry step moves the reference
//! IdP's clock instead of waiting, says so in the report, puts it back after
//! the scenario, and is refused in a scenario that runs beside others.

use crate::common::{kensa, summary};

/// The same scenario twice: once tagged to run alone, once not.
fn feature() -> String {
    let steps = r#"    RFC 6750, 3.1, invalid_token: "The access token provided is expired".

    Given the target's discovery document
    And the api client
    When the user logs in with the scope "openid text_apis"
    And the client exchanges the code
    And the access token has expired
    And the client calls the userinfo endpoint with GET
    Then the userinfo request is refused with 401 and error "invalid_token"
"#;
    format!(
        "@area:clock @needs:oidc\nFeature: Expiry by a moved clock\n\
         \x20 @check:CLOCK-01 @moves-clock @MUST @spec:RFC6750-3.1 @fault:userinfo-accepts-expired-token\n\
         \x20 Scenario: An expired access token is refused at the userinfo endpoint\n{steps}\n\
         \x20 @check:CLOCK-02 @MUST @spec:RFC6750-3.1 @fault:userinfo-accepts-expired-token\n\
         \x20 Scenario: The same, not tagged to run alone\n{steps}"
    )
}

#[test]
fn an_expiry_moves_the_embedded_clock_in_serial_scenarios_only() {
    let features = tempfile::tempdir().unwrap();
    std::fs::write(features.path().join("clock.feature"), feature()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out =
        kensa(&["run", "--features", features.path().to_str().unwrap(), "--report-dir", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "stderr:\n{}", String::from_utf8_lossy(&out.stderr));
    let s = summary(dir.path());
    let checks = s["targets"][0]["checks"].as_array().unwrap();
    let check = |id: &str| checks.iter().find(|c| c["id"] == id).unwrap_or_else(|| panic!("{id} in the summary"));
    let serial = check("CLOCK-01");
    assert_eq!(serial["status"], "passed", "{serial}");
    let notes = serial["notes"].to_string();
    assert!(notes.contains("clock was moved") && notes.contains("judged exp"), "{notes}");
    let concurrent = check("CLOCK-02");
    assert_eq!(concurrent["status"], "failed");
    assert!(concurrent["message"].as_str().unwrap().contains("must be tagged @moves-clock"), "{concurrent}");
}
