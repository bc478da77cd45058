//! Running the kensa binary and reading its reports.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The project root (features/ and fixtures/ live there).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// How long one kensa command of the tests may take: a run that hangs is
/// killed and the test fails, instead of holding CI until its own limit.
const KENSA_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(900);

/// Runs `kensa ARGS` from the project root; fails the test if it does not
/// finish within 15 minutes.
pub fn kensa(args: &[&str]) -> Output {
    let child = Command::new(env!("CARGO_BIN_EXE_kensa"))
        .args(args)
        .current_dir(root())
        .env_remove("CUCUMBER_FILTER_TAGS")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the kensa binary runs");
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(KENSA_TIMEOUT) {
        Ok(out) => out.expect("the kensa binary runs"),
        Err(_) => {
            let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).status();
            panic!("`kensa {}` did not finish within {} s and was killed", args.join(" "), KENSA_TIMEOUT.as_secs());
        }
    }
}

/// Runs the suite into `dir` with extra arguments; returns the output.
pub fn run_into(dir: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["run", "--quiet", "--report-dir", dir.to_str().expect("utf-8 path")];
    args.extend_from_slice(extra);
    kensa(&args)
}

/// The parsed summary.json of a run.
pub fn summary(dir: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join("summary.json")).expect("summary.json written");
    serde_json::from_str(&text).expect("summary.json is JSON")
}

/// Check ids of the summary's first target whose status is not `passed`.
pub fn not_passed(summary: &serde_json::Value) -> Vec<String> {
    let mut ids: Vec<String> = summary["targets"][0]["checks"]
        .as_array()
        .expect("checks array")
        .iter()
        .filter(|c| c["status"] != "passed")
        .map(|c| c["id"].as_str().expect("id").to_owned())
        .collect();
    ids.sort();
    ids
}

/// The catalogue as `kensa checks --json` prints it.
pub fn checks() -> Vec<serde_json::Value> {
    let out = kensa(&["checks", "--json"]);
    assert!(out.status.success(), "kensa checks failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("checks JSON")
}

/// Secrets a report must never contain: every client secret and password of
/// the realm fixture.
pub fn fixture_secrets() -> Vec<String> {
    let v = kensa_mocks::realm::Realm::load_value(&root().join("fixtures/realm.toml")).expect("realm fixture");
    let mut out = Vec::new();
    for c in v["clients"].as_array().expect("clients") {
        if let Some(s) = c.get("client_secret").and_then(|s| s.as_str()) {
            out.push(s.to_owned());
        }
    }
    for u in v["users"].as_array().expect("users") {
        out.push(u["password"].as_str().expect("password").to_owned());
    }
    out
}

/// Every file under `dir`, recursively (reports put new snapshots in a
/// subdirectory).
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("readable directory") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// Asserts no file under `dir` contains a fixture secret or a JWT.
pub fn assert_no_secrets(dir: &Path) {
    let secrets = fixture_secrets();
    for path in files_under(dir) {
        let text = std::fs::read_to_string(&path).expect("report text");
        for s in &secrets {
            assert!(!text.contains(s.as_str()), "{} contains a fixture secret", path.display());
        }
        assert!(!contains_jwt(&text), "{} contains what looks like a JWT", path.display());
        // The reference IdP prefixes every code and opaque token it issues.
        for prefix in ["kensa-code-", "kensa-at-", "kensa-rt-"] {
            assert!(!text.contains(prefix), "{} contains a code or token ({prefix}...)", path.display());
        }
    }
}

/// Whether `text` holds a compact JWT: a base64url JSON header and payload
/// (each starting `eyJ`, the encoding of `{"`) joined by a dot. A bare `eyJ`
/// also turns up by chance inside random state and nonce values.
pub fn contains_jwt(text: &str) -> bool {
    let b64 = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    text.match_indices("eyJ").any(|(i, _)| {
        let rest = &text[i..];
        let end = rest.find(|c: char| !b64(c)).unwrap_or(rest.len());
        rest[end..].starts_with(".eyJ")
    })
}

/// Held while a test runs a LemonLDAP::NG instance: every LemonLDAP::NG run
/// of the harness uses the same instance folder under /var/lib/kensa.
pub static LEMONLDAP: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Takes [`LEMONLDAP`], also after another test panicked while holding it.
pub fn lemonldap_lock() -> std::sync::MutexGuard<'static, ()> {
    LEMONLDAP.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
