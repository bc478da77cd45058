//! kensa as an installed tool: the binary alone, copied out of the build
//! into `ROOT/bin` as `cargo install --path . --root ROOT` lays it out, run
//! from an empty folder. It carries its checks and fixtures (unpacked into a
//! fresh cache), runs the suite against the embedded IdP, and takes a new
//! user from `kensa init` to a first green profile run against a
//! node-oidc-provider that `kensa serve` runs, with every file in that
//! folder.
//!
//! A real `cargo install` from inside `cargo test` rebuilds the crate and
//! makes the next `cargo test` rebuild it again (about a minute each on two
//! cores), so the test installs by copying; `cargo install` itself is
//! cargo's. The node-oidc-provider part needs Node.js, which `.ci/run`
//! installs.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The binary, installed into `root/bin` the way `cargo install --root`
/// lays it out.
fn install(root: &Path) -> PathBuf {
    let bin = root.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let to = bin.join("kensa");
    std::fs::copy(env!("CARGO_BIN_EXE_kensa"), &to).unwrap();
    to
}

fn kensa_in(bin: &Path, dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(bin)
        .args(args)
        .current_dir(dir)
        .env_remove("CUCUMBER_FILTER_TAGS")
        // The user's own machine, where blessing baselines is allowed.
        .env_remove("CI")
        .envs(env.iter().copied())
        .output()
        .expect("the installed kensa runs")
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[test]
fn an_installed_kensa_runs_its_built_in_checks_from_an_empty_folder() {
    let root = tempfile::tempdir().unwrap();
    let bin = install(root.path());
    let folder = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let env = [("KENSA_CACHE_DIR", cache.path().to_str().unwrap())];

    let out = kensa_in(&bin, folder.path(), &["run", "--quiet"], &env);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(folder.path().join("reports/summary.json")).unwrap()).unwrap();
    let checks = summary["targets"][0]["checks"].as_array().unwrap();
    assert!(checks.len() > 100, "{} checks", checks.len());
    // Features are named the same wherever kensa unpacked them.
    for c in checks {
        let f = c["feature"].as_str().unwrap();
        assert!(f.starts_with("features/") && f.ends_with(".feature"), "{f}");
    }
    let cucumber = std::fs::read_to_string(folder.path().join("reports/cucumber.json")).unwrap();
    assert!(!cucumber.contains(cache.path().to_str().unwrap()), "cucumber.json names the cache path");
    // The built-in content was unpacked into the cache, not read elsewhere.
    let unpacked: Vec<_> = std::fs::read_dir(cache.path().join("builtin")).unwrap().collect();
    assert_eq!(unpacked.len(), 1, "one unpacked copy");

    let out = kensa_in(&bin, folder.path(), &["checks"], &env);
    assert!(out.status.success() && text(&out).contains("OIDC-PKCE-01"), "{}", text(&out));
    let out = kensa_in(&bin, folder.path(), &["targets"], &env);
    assert!(out.status.success() && text(&out).contains("embedded"), "{}", text(&out));

    // A folder of the user's own checks, beside the built-in ones.
    let mine = folder.path().join("my-checks");
    std::fs::create_dir_all(&mine).unwrap();
    std::fs::write(
        mine.join("acme.feature"),
        "@needs:oidc\nFeature: Acme's own\n\n  @check:ACME-01 @MUST @spec:OIDC-Discovery-4.3\n  Scenario: Acme's issuer is the one its discovery names\n    \
         OpenID Connect Discovery 1.0, 4.3: the issuer value returned MUST be identical to the Issuer URL.\n\n    \
         Given the target's discovery document\n    Then the discovery document's issuer is the target's issuer\n",
    )
    .unwrap();
    let out = kensa_in(
        &bin,
        folder.path(),
        &["run", "--quiet", "--add-features", "my-checks", "--tags", "@check:ACME-01 or @check:OIDC-DISC-01"],
        &env,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(folder.path().join("reports/summary.json")).unwrap()).unwrap();
    let ran: Vec<(&str, &str)> = summary["targets"][0]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["id"].as_str().unwrap(), c["feature"].as_str().unwrap()))
        .collect();
    assert!(ran.contains(&("ACME-01", "my-checks/acme.feature")), "{ran:?}");
    assert!(ran.iter().any(|(id, _)| *id == "OIDC-DISC-01"), "{ran:?}");
    // A check id may appear once across the folders.
    std::fs::write(
        mine.join("dup.feature"),
        std::fs::read_to_string(mine.join("acme.feature")).unwrap().replace("ACME-01", "OIDC-DISC-01"),
    )
    .unwrap();
    let out = kensa_in(&bin, folder.path(), &["checks", "--add-features", "my-checks"], &env);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("OIDC-DISC-01 is used twice"), "{}", text(&out));
    // Built-in baselines are not written by accident.
    let out = kensa_in(&bin, folder.path(), &["run", "--quiet", "--update-snapshots"], &env);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("read-only"), "{}", text(&out));
}

/// Replaces the first `CHANGE-ME` after `key = ` in a starter profile.
fn fill(profile: &str, key: &str, value: &str) -> String {
    let placeholder = format!("{key} = \"CHANGE-ME\"");
    let list = format!("{key} = [\"CHANGE-ME\"]");
    if profile.contains(&placeholder) {
        profile.replacen(&placeholder, &format!("{key} = \"{value}\""), 1)
    } else {
        assert!(profile.contains(&list), "no {key} to fill in:\n{profile}");
        profile.replacen(&list, &format!("{key} = [\"{value}\"]"), 1)
    }
}

#[test]
fn a_new_user_goes_from_kensa_init_to_a_green_profile_run() {
    let root = tempfile::tempdir().unwrap();
    let bin = install(root.path());
    let folder = tempfile::tempdir().unwrap();
    let served = crate::remote::serve("node-oidc-provider");

    let out = kensa_in(&bin, folder.path(), &["init", "--issuer", &served.issuer, "--name", "acme"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let said = text(&out);
    assert!(said.contains("login page: node-oidc-provider"), "{said}");
    assert!(said.contains("kensa profile check acme.toml") && said.contains("kensa run --profile acme.toml"), "{said}");
    // It never overwrites.
    let again = kensa_in(&bin, folder.path(), &["init", "--issuer", &served.issuer, "--name", "acme"], &[]);
    assert_eq!(again.status.code(), Some(2), "{}", text(&again));

    // Placeholders are refused until filled in.
    let out = kensa_in(&bin, folder.path(), &["profile", "check", "acme.toml", "--offline"], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("still CHANGE-ME"), "{}", text(&out));

    // The edit a user makes: the deployment's test client and user.
    let realm = kensa_mocks::realm::Realm::load(&crate::common::root().join("fixtures/realm.toml")).unwrap();
    let client = realm.client("kensa-confidential").unwrap();
    let user = realm.user("alice").unwrap();
    let mut profile = std::fs::read_to_string(folder.path().join("acme.toml")).unwrap();
    profile = fill(&profile, "client_id", "kensa-confidential");
    profile = fill(&profile, "redirect_uris", &client.redirect_uris[0]);
    profile = fill(&profile, "username", "alice");
    profile = fill(&profile, "sub", &user.sub);
    profile = fill(&profile, "email", user.claims["email"].as_str().unwrap());
    std::fs::write(folder.path().join("acme.toml"), profile).unwrap();
    let secret = client.client_secret.clone().unwrap();
    let env = [("KENSA_ACME_CLIENT_SECRET", secret.as_str()), ("KENSA_ACME_PASSWORD", user.password.as_str())];

    // profile check signs the default user in: a wrong password is named
    // with the step that failed.
    let wrong = [env[0], ("KENSA_ACME_PASSWORD", "not-her-password")];
    let out = kensa_in(&bin, folder.path(), &["profile", "check", "acme.toml"], &wrong);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("signing alice in failed: the login ended on a page"), "{}", text(&out));
    let out = kensa_in(&bin, folder.path(), &["profile", "check", "acme.toml"], &env);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("alice signs in through the node-oidc-provider login page"), "{}", text(&out));

    // The first run has no baselines: its snapshot checks are skipped with
    // the command that writes them, and only the OP's known failures fail.
    let out = kensa_in(&bin, folder.path(), &["run", "--quiet", "--profile", "acme.toml"], &env);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("--profile acme.toml --update-snapshots"), "{}", text(&out));
    let first: serde_json::Value =
        serde_json::from_slice(&std::fs::read(folder.path().join("reports/summary.json")).unwrap()).unwrap();
    let failed: Vec<&str> = first["targets"][0]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["verdict"] == "fail")
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(failed, ["CLM-07", "OIDC-AUTHZ-13"], "{}", text(&out));
    let out = kensa_in(&bin, folder.path(), &["run", "--quiet", "--profile", "acme.toml", "--update-snapshots"], &env);
    assert!(text(&out).contains("6 blessed"), "{}", text(&out));
    assert!(folder.path().join("snapshots/acme").is_dir(), "baselines beside the profile");

    // The deviations this OP is known for go into the expected file kensa
    // init wrote; then the run is green.
    let known =
        std::fs::read_to_string(crate::common::root().join("fixtures/targets/node-oidc-provider/expected.toml"))
            .unwrap();
    let expected = folder.path().join("acme-expected.toml");
    let starter = std::fs::read_to_string(&expected).unwrap();
    std::fs::write(&expected, format!("{starter}\n{known}")).unwrap();
    let out = kensa_in(&bin, folder.path(), &["run", "--quiet", "--profile", "acme.toml"], &env);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(folder.path().join("reports/summary.json").is_file());
    crate::common::assert_no_secrets(&folder.path().join("reports"));
    drop(served);
}
