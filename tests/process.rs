//! Process targets: kensa stops the target's whole process tree when the run
//! ends and when it is interrupted, and explains a target that cannot start.

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::root;

/// A fixtures folder with a `static` process target: a shell that starts a
/// Python static file server (a child of its own) serving a discovery
/// document, so readiness works and the process tree has two levels.
fn fixtures_with_static_target(dir: &Path) {
    std::fs::copy(root().join("fixtures/realm.toml"), dir.join("realm.toml")).unwrap();
    std::fs::create_dir_all(dir.join("ida")).unwrap();
    std::fs::copy(root().join("fixtures/ida/gbizid-users.toml"), dir.join("ida/gbizid-users.toml")).unwrap();
    let t = dir.join("targets/static");
    std::fs::create_dir_all(t.join("www/.well-known")).unwrap();
    std::fs::write(t.join("www/.well-known/openid-configuration"), r#"{"issuer":"http://127.0.0.1"}"#).unwrap();
    std::fs::write(
        t.join("target.toml"),
        r#"description = "a static file server standing in for an IdP"
version = "test"
requires = ["sh", "python3"]
start = ["sh", "-c", "python3 -m http.server --bind 127.0.0.1 --directory {dir}/www $KENSA_PORT & echo child $!; wait"]
issuer = "http://127.0.0.1:{port}"
ready_timeout_secs = 20
"#,
    )
    .unwrap();
}

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| s.split_whitespace().nth(2).is_none_or(|state| state != "Z"))
        .unwrap_or(false)
}

fn wait_dead(pid: u32) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if !alive(pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// PIDs of every process whose command line mentions `needle`.
fn pids_with(needle: &str) -> Vec<u32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else { continue };
        let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        if String::from_utf8_lossy(&cmd).contains(needle) && alive(pid) {
            out.push(pid);
        }
    }
    out
}

fn kensa_cmd(fixtures: &Path, reports: &Path) -> Command {
    kensa_cmd_tags(fixtures, reports, "@area:discovery")
}

fn kensa_cmd_tags(fixtures: &Path, reports: &Path, tags: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kensa"));
    c.args(["run", "--quiet", "--target", "static", "--tags", tags])
        .arg("--fixtures")
        .arg(fixtures)
        .arg("--report-dir")
        .arg(reports)
        .current_dir(root())
        .env("KENSA_CACHE_DIR", fixtures.join("cache"));
    c
}

#[test]
fn the_target_process_tree_is_gone_when_the_run_ends() {
    let dir = tempfile::tempdir().unwrap();
    fixtures_with_static_target(dir.path());
    let www = dir.path().join("targets/static/www");
    let out = kensa_cmd(dir.path(), &dir.path().join("reports")).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    // A static file server is no IdP: the checks ran, and some failed.
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("ready in") && stdout.contains("pid "), "{stdout}");
    let pid: u32 =
        stdout.split("pid ").nth(1).unwrap().split(|c: char| !c.is_ascii_digit()).next().unwrap().parse().unwrap();
    assert!(wait_dead(pid), "target process {pid} outlived the run");
    assert!(pids_with(www.to_str().unwrap()).is_empty(), "the target's child server outlived the run");
}

#[test]
fn ctrl_c_stops_the_target_process_tree() {
    let dir = tempfile::tempdir().unwrap();
    fixtures_with_static_target(dir.path());
    let www = dir.path().join("targets/static/www");
    let mut child = kensa_cmd(dir.path(), &dir.path().join("reports"))
        .args(["--concurrency", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let pid: u32 = loop {
        let line = lines.next().expect("kensa printed the ready line").unwrap();
        if let Some(rest) = line.split("pid ").nth(1) {
            break rest.split(|c: char| !c.is_ascii_digit()).next().unwrap().parse().unwrap();
        }
    };
    assert!(alive(pid));
    Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    let status = child.wait().unwrap();
    // Either the interrupt arrived mid-run (130) or the short run had
    // already finished (1); in both cases nothing may be left behind.
    assert!(matches!(status.code(), Some(130) | Some(1)), "{status:?}");
    assert!(wait_dead(pid), "target process {pid} outlived the interrupted run");
    assert!(pids_with(www.to_str().unwrap()).is_empty(), "the target's child server outlived the interrupted run");
}

#[test]
fn a_target_that_cannot_start_says_why() {
    let dir = tempfile::tempdir().unwrap();
    fixtures_with_static_target(dir.path());
    let t = dir.path().join("targets/static/target.toml");
    let text = std::fs::read_to_string(&t)
        .unwrap()
        .replace("requires = [\"sh\", \"python3\"]", "requires = [\"kensa-no-such-tool\"]");
    std::fs::write(&t, text).unwrap();
    let out = kensa_cmd(dir.path(), &dir.path().join("reports")).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("kensa-no-such-tool not found"), "{stderr}");

    // A server that exits at once: the error carries its last output.
    let text = std::fs::read_to_string(&t)
        .unwrap()
        .replace("requires = [\"kensa-no-such-tool\"]", "requires = [\"sh\"]")
        .replace("python3 -m http.server", "echo boom-from-the-target >&2; exit 3; true");
    std::fs::write(&t, text).unwrap();
    let out = kensa_cmd(dir.path(), &dir.path().join("reports")).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("boom-from-the-target") && stderr.contains("exited"), "{stderr}");
}

/// A target whose server answers discovery and then exits on the first other
/// request, as an IdP that crashes mid-run.
const DYING_SERVER: &str = r#"
import http.server, json, os, sys
port = int(os.environ["KENSA_PORT"])
issuer = "http://127.0.0.1:%d" % port
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass
    def do_GET(self):
        if self.path == "/.well-known/openid-configuration":
            body = json.dumps({"issuer": issuer, "authorization_endpoint": issuer + "/authorize",
                "token_endpoint": issuer + "/token", "jwks_uri": issuer + "/jwks"}).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        else:
            sys.stderr.write("dying-server: fatal error on %s\n" % self.path.split("?")[0])
            sys.stderr.flush()
            os._exit(9)
http.server.HTTPServer(("127.0.0.1", port), H).serve_forever()
"#;

#[test]
fn an_idp_that_dies_mid_run_stops_the_run_with_its_last_words() {
    let dir = tempfile::tempdir().unwrap();
    fixtures_with_static_target(dir.path());
    let t = dir.path().join("targets/static");
    std::fs::write(t.join("server.py"), DYING_SERVER).unwrap();
    let toml = std::fs::read_to_string(t.join("target.toml")).unwrap();
    let start = toml.lines().find(|l| l.starts_with("start =")).unwrap().to_owned();
    std::fs::write(t.join("target.toml"), toml.replace(&start, r#"start = ["python3", "{dir}/server.py"]"#)).unwrap();
    let out = kensa_cmd_tags(dir.path(), &dir.path().join("reports"), "@area:login").output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("stopped during the run") && stderr.contains("dying-server: fatal error on /authorize"),
        "{stderr}"
    );
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("reports/summary.json")).unwrap()).unwrap();
    assert!(summary["targets"][0]["error"].as_str().unwrap().contains("exited"));
}

#[test]
fn an_idp_answering_garbage_does_not_start() {
    let dir = tempfile::tempdir().unwrap();
    fixtures_with_static_target(dir.path());
    let doc = dir.path().join("targets/static/www/.well-known/openid-configuration");
    std::fs::write(&doc, "<html>Service Unavailable</html>").unwrap();
    let out = kensa_cmd(dir.path(), &dir.path().join("reports")).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("not a JSON object") && stderr.contains("Service Unavailable"), "{stderr}");
}
