//! The snapshot workflow: a deliberate change to a fixture claim fails the
//! run with a readable diff, `--update-snapshots` blesses it, the next run
//! passes; CI and fault runs never write baselines.

use std::path::Path;
use std::process::{Command, Output};

use crate::common::{assert_no_secrets, files_under, root, summary};

/// Copies the fixtures (realm with includes, keys, snapshots) into `dir`.
fn copy_fixtures(dir: &Path) {
    for sub in ["keys", "ida", "snapshots/embedded"] {
        let from = root().join("fixtures").join(sub);
        for file in files_under(&from) {
            let to = dir.join(sub).join(file.strip_prefix(&from).unwrap());
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::copy(&file, &to).unwrap();
        }
    }
    std::fs::copy(root().join("fixtures/realm.toml"), dir.join("realm.toml")).unwrap();
}

fn run(fixtures: &Path, reports: &Path, extra: &[&str], ci: bool) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kensa"));
    cmd.args(["run", "--tags", "@area:snapshots", "--report-dir"])
        .arg(reports)
        .arg("--fixtures")
        .arg(fixtures)
        .args(extra)
        .current_dir(root())
        .env_remove("CUCUMBER_FILTER_TAGS");
    if ci {
        cmd.env("CI", "true");
    } else {
        cmd.env_remove("CI");
    }
    cmd.output().expect("the kensa binary runs")
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[test]
fn drift_fails_with_a_diff_and_update_blesses_it() {
    let fixtures = tempfile::tempdir().unwrap();
    copy_fixtures(fixtures.path());
    let snap = fixtures
        .path()
        .join("snapshots/embedded/snapshots__the-userinfo-response-matches-the-baseline__userinfo-response.snap");
    let before = std::fs::read_to_string(&snap).unwrap();

    // The copied baselines match the unchanged fixtures.
    let reports = tempfile::tempdir().unwrap();
    let out = run(fixtures.path(), reports.path(), &[], true);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    // Alice's name changes in the realm: the userinfo snapshot drifts.
    let realm = fixtures.path().join("realm.toml");
    let changed =
        std::fs::read_to_string(&realm).unwrap().replace("name = \"Alice Example\"", "name = \"Alice Q. Example\"");
    std::fs::write(&realm, changed).unwrap();
    let reports = tempfile::tempdir().unwrap();
    let out = run(fixtures.path(), reports.path(), &[], true);
    let console = text(&out);
    assert_eq!(out.status.code(), Some(1), "{console}");
    assert!(console.contains("-    \"name\": \"Alice Example\","), "no removed line in the diff:\n{console}");
    assert!(console.contains("+    \"name\": \"Alice Q. Example\","), "no added line in the diff:\n{console}");
    let bless = format!("`kensa run --target embedded --fixtures {} --update-snapshots`", fixtures.path().display());
    assert!(console.contains(&bless), "no way to bless:\n{console}");
    let s = summary(reports.path());
    let failed: Vec<&str> = s["targets"][0]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "failed")
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(failed, ["SNAP-03"]);
    // The diff is in the reports too, and the baseline is untouched.
    let html = std::fs::read_to_string(reports.path().join("index.html")).unwrap();
    assert!(html.contains("Alice Q. Example"), "the HTML report lacks the drift");
    assert!(std::fs::read_to_string(reports.path().join("junit.xml")).unwrap().contains("Alice Q. Example"));
    assert_eq!(std::fs::read_to_string(&snap).unwrap(), before, "a normal run wrote the baseline");
    // In CI no pending snapshot is hidden anywhere but the report directory.
    assert!(reports.path().join("snapshots/embedded").is_dir());
    assert_no_secrets(reports.path());

    // --update-snapshots is refused in CI and with --fault.
    let out = run(fixtures.path(), reports.path(), &["--update-snapshots"], true);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("refused in CI"), "{}", text(&out));
    let out = run(fixtures.path(), reports.path(), &["--update-snapshots", "--fault", "nonce-not-echoed"], false);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert_eq!(std::fs::read_to_string(&snap).unwrap(), before);

    // Blessing writes the new baseline; the next run passes.
    let reports = tempfile::tempdir().unwrap();
    let out = run(fixtures.path(), reports.path(), &["--update-snapshots"], false);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("1 blessed"), "{}", text(&out));
    let after = std::fs::read_to_string(&snap).unwrap();
    assert!(after.contains("\"name\": \"Alice Q. Example\""), "{after}");
    let reports = tempfile::tempdir().unwrap();
    let out = run(fixtures.path(), reports.path(), &[], true);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("6 matched, 0 drifted, 0 missing, 0 blessed"), "{}", text(&out));
}

#[test]
fn a_target_without_baselines_fails_in_ci_and_is_skipped_locally_with_how_to_bless() {
    let fixtures = tempfile::tempdir().unwrap();
    copy_fixtures(fixtures.path());
    std::fs::remove_dir_all(fixtures.path().join("snapshots")).unwrap();
    let reports = tempfile::tempdir().unwrap();
    let out = run(fixtures.path(), reports.path(), &[], true);
    let console = text(&out);
    assert_eq!(out.status.code(), Some(1), "{console}");
    assert!(console.contains("0 matched, 0 drifted, 6 missing, 0 blessed"), "{console}");
    let bless = format!("kensa run --target embedded --fixtures {} --update-snapshots", fixtures.path().display());
    assert!(console.contains(&bless), "{console}");
    assert!(!fixtures.path().join("snapshots").exists(), "a check run created baselines");

    // Locally a missing baseline is not the target's failure: each such
    // check is skipped with the command that writes it, in every report.
    let reports = tempfile::tempdir().unwrap();
    let out = run(fixtures.path(), reports.path(), &[], false);
    let console = text(&out);
    let s = summary(reports.path());
    let checks = s["targets"][0]["checks"].as_array().unwrap();
    let new: Vec<&serde_json::Value> =
        checks.iter().filter(|c| c["message"].as_str().is_some_and(|m| m.contains("no baseline snapshot"))).collect();
    assert_eq!(new.len(), 6, "{console}");
    for c in &new {
        assert_eq!(c["verdict"], "skipped", "{c}");
        assert!(c["message"].as_str().unwrap().contains(&bless), "{c}");
    }
    // Nothing was judged, and a run that judged nothing is not a pass.
    assert_eq!(s["counts"]["passed"], 0, "{console}");
    assert_eq!(out.status.code(), Some(1), "{console}");
    let junit = std::fs::read_to_string(reports.path().join("junit.xml")).unwrap();
    assert_eq!(junit.matches("<skipped message=\"skipped: no baseline snapshot").count(), 6, "{junit}");
    let cucumber = std::fs::read_to_string(reports.path().join("cucumber.json")).unwrap();
    let statuses: serde_json::Value = serde_json::from_str(&cucumber).unwrap();
    let skipped_steps = statuses
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|f| f["elements"].as_array().cloned().unwrap_or_default())
        .flat_map(|e| e["steps"].as_array().cloned().unwrap_or_default())
        .filter(|st| st["result"]["status"] == "skipped")
        .count();
    assert_eq!(skipped_steps, 6, "{cucumber}");
    assert!(!fixtures.path().join("snapshots").exists(), "a check run created baselines");
}
