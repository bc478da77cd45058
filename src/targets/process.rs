//! Process targets: a real IdP that kensa sets up once into a cache folder,
//! then starts per run as a child process on 127.0.0.1 and stops by its own
//! process group when the run ends, fails or is interrupted.
//!
//! A process target is a folder `fixtures/targets/<name>/` with a
//! `target.toml`:
//!
//! ```toml
//! description = "node-oidc-provider, an OpenID Certified OP (npm)"
//! version = "oidc-provider 9.13.3"
//! requires = ["node", "npm"]              # commands that must be on PATH
//! setup = ["sh", "{dir}/setup.sh", "{cache}"]
//! setup_inputs = ["package.json", "package-lock.json", "setup.sh"]
//! start = ["node", "{dir}/provider.mjs"]
//! issuer = "http://127.0.0.1:{port}"
//! login_profile = "node-oidc-provider"
//! ready_timeout_secs = 30
//! [env]
//! KENSA_NODE_MODULES = "{cache}/node_modules"
//! ```
//!
//! Placeholders: `{dir}` the target folder, `{cache}` its cache folder,
//! `{state}` a folder for this run, `{port}` the port chosen for this run,
//! `{issuer}`. Every started process also gets `KENSA_PORT`,
//! `KENSA_REALM_JSON` (the realm fixture as JSON), `KENSA_CACHE`,
//! `KENSA_STATE` and `KENSA_EXTERNAL_AUTH_URL` (the run's external password
//! API, see `kensa_mocks::external`) in its environment.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use sha2::{Digest as _, Sha256};

use super::TargetError;
use crate::http::{HttpClient, Request};
use crate::secret::Scrubber;

/// The `target.toml` of a process target.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcessSpec {
    /// One line about the target.
    pub description: String,
    /// The pinned version, recorded in reports.
    pub version: String,
    /// Commands that must be on PATH.
    #[serde(default)]
    pub requires: Vec<String>,
    /// Whether setup and start need root (system packages).
    #[serde(default)]
    pub requires_root: bool,
    /// The command that installs what `requires` names, shown when it is
    /// missing.
    #[serde(default)]
    pub install_hint: Option<String>,
    /// A command printing the installed version, run after setup; its output
    /// replaces `version` in reports.
    #[serde(default)]
    pub version_command: Vec<String>,
    /// How to install it into its cache folder (run once per input change).
    #[serde(default)]
    pub setup: Vec<String>,
    /// Files of the target folder whose content decides whether setup must
    /// run again.
    #[serde(default)]
    pub setup_inputs: Vec<String>,
    /// The server command; it must stay in the foreground.
    pub start: Vec<String>,
    /// The issuer, with `{port}`.
    pub issuer: String,
    /// Which login profile drives its pages.
    #[serde(default = "generic")]
    pub login_profile: String,
    /// Powers the target has, matched against scenarios' `@needs:` tags
    /// (e.g. `external-auth`, `external-auth:lemonldap-rest`).
    #[serde(default)]
    pub capabilities: Vec<String>,
    /// The realm user scenarios log in as.
    #[serde(default = "alice")]
    pub default_user: String,
    /// Seconds to wait for discovery to answer.
    #[serde(default = "thirty")]
    pub ready_timeout_secs: u64,
    /// Seconds setup may take.
    #[serde(default = "setup_timeout")]
    pub setup_timeout_secs: u64,
    /// Extra environment, with placeholders.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// A URL whose 200 answer means the target is ready, with placeholders
    /// (default: the OpenID Connect discovery document, which must be a
    /// JSON object).
    #[serde(default)]
    pub ready_url: Option<String>,
    /// The target's SAML IdP side, if it has one.
    #[serde(default)]
    pub saml: Option<SamlSpec>,
    /// One instance on the machine (its setup is a shared folder such as
    /// /var/lib/kensa/NAME): kensa runs on this machine take turns with it.
    #[serde(default)]
    pub exclusive: bool,
}

/// A process target's SAML IdP side, with placeholders.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SamlSpec {
    /// Its metadata URL.
    pub metadata: String,
    /// Its IdP-initiated SSO URL for AWS (`urn:amazon:webservices`).
    pub sso: String,
    /// A command that rotates its signing key (last argument `next` or
    /// `restore`); empty when kensa cannot rotate it.
    #[serde(default)]
    pub rotate: Vec<String>,
}

fn generic() -> String {
    "generic".into()
}
fn alice() -> String {
    "alice".into()
}
fn thirty() -> u64 {
    30
}
fn setup_timeout() -> u64 {
    900
}

impl ProcessSpec {
    /// Reads `dir/target.toml`.
    ///
    /// # Errors
    /// When it is missing or invalid.
    pub fn load(dir: &Path) -> Result<Self, TargetError> {
        let path = dir.join("target.toml");
        let text = std::fs::read_to_string(&path)
            .map_err(|e| TargetError::Fixture { path: path.clone(), reason: e.to_string() })?;
        let spec: Self =
            toml::from_str(&text).map_err(|e| TargetError::Fixture { path: path.clone(), reason: e.to_string() })?;
        if spec.start.is_empty() {
            return Err(TargetError::Fixture { path, reason: "start is empty".into() });
        }
        Ok(spec)
    }

    /// `Ok` when every required command is on PATH, else what is missing.
    ///
    /// # Errors
    /// The missing commands and what to install.
    pub fn availability(&self) -> Result<(), String> {
        let missing: Vec<&str> = self.requires.iter().map(String::as_str).filter(|c| which(c).is_none()).collect();
        if !missing.is_empty() {
            let how = self.install_hint.as_deref().map(|h| format!("; to install: {h}")).unwrap_or_default();
            return Err(format!("{} not found on PATH{how}", missing.join(", ")));
        }
        if self.requires_root && !is_root() {
            return Err("its setup installs system packages and runs the IdP as a service user: run `kensa setup` and `kensa run` as root".into());
        }
        Ok(())
    }
}

/// Whether this process runs as root.
#[must_use]
pub fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt as _;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// The installed version, from `version_command`, if it prints one.
pub async fn installed_version(spec: &ProcessSpec) -> Option<String> {
    let (cmd, args) = spec.version_command.split_first()?;
    let out = tokio::process::Command::new(cmd).args(args).stdin(Stdio::null()).output().await.ok()?;
    let v = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    (out.status.success() && !v.is_empty()).then_some(v)
}

/// The first executable called `cmd` on PATH.
#[must_use]
pub fn which(cmd: &str) -> Option<PathBuf> {
    if cmd.contains('/') {
        return Path::new(cmd).is_file().then(|| PathBuf::from(cmd));
    }
    std::env::var_os("PATH").and_then(|paths| std::env::split_paths(&paths).map(|p| p.join(cmd)).find(|p| p.is_file()))
}

/// kensa's cache folder: `$KENSA_CACHE_DIR`, else `$XDG_CACHE_HOME/kensa`,
/// else `~/.cache/kensa`.
#[must_use]
pub fn cache_root() -> PathBuf {
    if let Some(d) = std::env::var_os("KENSA_CACHE_DIR") {
        return PathBuf::from(d);
    }
    if let Some(d) = std::env::var_os("XDG_CACHE_HOME") {
        return PathBuf::from(d).join("kensa");
    }
    std::env::var_os("HOME")
        .map(|h| PathBuf::from(h).join(".cache/kensa"))
        .unwrap_or_else(|| std::env::temp_dir().join("kensa-cache"))
}

struct Placeholders {
    dir: String,
    cache: String,
    state: String,
    port: String,
    issuer: String,
}

impl Placeholders {
    fn fill(&self, s: &str) -> String {
        s.replace("{dir}", &self.dir)
            .replace("{cache}", &self.cache)
            .replace("{state}", &self.state)
            .replace("{port}", &self.port)
            .replace("{issuer}", &self.issuer)
    }
}

fn tail(path: &Path, lines: usize, scrubber: &Scrubber) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    let start = all.len().saturating_sub(lines);
    scrubber.scrub(&all[start..].iter().map(|l| format!("    | {l}")).collect::<Vec<_>>().join("\n"))
}

fn setup_stamp(dir: &Path, spec: &ProcessSpec, realm_json: &str) -> Result<String, TargetError> {
    let mut h = Sha256::new();
    h.update(spec.setup.join("\0").as_bytes());
    h.update(realm_json.as_bytes());
    for input in &spec.setup_inputs {
        let p = dir.join(input);
        let bytes = std::fs::read(&p).map_err(|e| TargetError::Fixture { path: p.clone(), reason: e.to_string() })?;
        h.update(input.as_bytes());
        h.update(&bytes);
    }
    Ok(crate::oidc::b64url(&h.finalize()))
}

/// Whether setup has run for the current inputs (its stamp matches).
#[must_use]
pub fn is_set_up(name: &str, dir: &Path, spec: &ProcessSpec, realm_json: &str) -> bool {
    if spec.setup.is_empty() {
        return true;
    }
    let stamp = std::fs::read_to_string(cache_root().join(name).join(".kensa-setup-stamp")).ok();
    stamp.is_some() && setup_stamp(dir, spec, realm_json).ok() == stamp
}

/// Runs the target's setup into its cache folder unless the stamp of its
/// inputs says it is already done. Prints a progress line when it runs.
///
/// # Errors
/// When setup fails or times out; the message ends with its last output.
pub async fn ensure_setup(
    name: &str,
    dir: &Path,
    spec: &ProcessSpec,
    realm_json: &str,
    scrubber: &Scrubber,
) -> Result<PathBuf, TargetError> {
    let cache = cache_root().join(name);
    std::fs::create_dir_all(&cache).map_err(|e| TargetError::Fixture { path: cache.clone(), reason: e.to_string() })?;
    if spec.setup.is_empty() {
        return Ok(cache);
    }
    let stamp = setup_stamp(dir, spec, realm_json)?;
    let stamp_file = cache.join(".kensa-setup-stamp");
    if std::fs::read_to_string(&stamp_file).ok().as_deref() == Some(stamp.as_str()) {
        return Ok(cache);
    }
    let started = Instant::now();
    crate::outln!(
        "kensa: setting up target {name} into {} (first run, or its setup inputs changed) ...",
        cache.display()
    );
    let ph = Placeholders {
        dir: dir.display().to_string(),
        cache: cache.display().to_string(),
        state: cache.display().to_string(),
        port: String::new(),
        issuer: String::new(),
    };
    let log_path = cache.join("setup.log");
    let log = std::fs::File::create(&log_path)
        .map_err(|e| TargetError::Fixture { path: log_path.clone(), reason: e.to_string() })?;
    let log2 = log.try_clone().map_err(|e| TargetError::Fixture { path: log_path.clone(), reason: e.to_string() })?;
    let args: Vec<String> = spec.setup.iter().map(|a| ph.fill(a)).collect();
    let realm_path = cache.join("realm.json");
    std::fs::write(&realm_path, realm_json)
        .map_err(|e| TargetError::Fixture { path: realm_path.clone(), reason: e.to_string() })?;
    let mut cmd = tokio::process::Command::new(&args[0]);
    cmd.args(&args[1..])
        .current_dir(dir)
        .env("KENSA_CACHE", &cache)
        .env("KENSA_REALM_JSON", &realm_path)
        .stdin(Stdio::null())
        .stdout(Stdio::from(log))
        .stderr(Stdio::from(log2))
        .kill_on_drop(true);
    let fail = |reason: String| TargetError::Setup { target: name.into(), reason, log: tail(&log_path, 15, scrubber) };
    let mut child = cmd.spawn().map_err(|e| fail(format!("cannot run {:?}: {e}", args[0])))?;
    let status = match tokio::time::timeout(Duration::from_secs(spec.setup_timeout_secs), child.wait()).await {
        Ok(s) => s.map_err(|e| fail(e.to_string()))?,
        Err(_) => return Err(fail(format!("setup took longer than {} s", spec.setup_timeout_secs))),
    };
    if !status.success() {
        return Err(fail(format!("{} exited with {status}", args.join(" "))));
    }
    std::fs::write(&stamp_file, stamp).map_err(|e| TargetError::Fixture { path: stamp_file, reason: e.to_string() })?;
    crate::outln!("kensa: target {name} set up in {}", crate::report::human(started.elapsed()));
    Ok(cache)
}

/// A running target process; dropping it stops it.
#[derive(Debug)]
pub struct RunningProcess {
    /// The machine-wide turn of an exclusive target, released when this
    /// is dropped or the process ends.
    turn: Option<std::fs::File>,
    child: Option<tokio::process::Child>,
    pid: u32,
    state: PathBuf,
    /// The issuer it serves.
    pub issuer: String,
    /// Its SAML side, placeholders filled.
    pub saml: Option<super::SamlSide>,
}

impl RunningProcess {
    /// Holds the machine-wide turn (see [`take_turn`]) until the target
    /// stops.
    pub fn keep_turn(&mut self, turn: Option<std::fs::File>) {
        self.turn = turn;
    }
}

/// How long a run waits for another kensa run's turn with an exclusive
/// target.
const TURN_WAIT: Duration = Duration::from_secs(900);

/// Waits for this machine's turn with the exclusive target `name`: an
/// exclusive lock on a file in the temporary directory, which the operating
/// system releases when the holder's process ends, however it ends.
///
/// # Errors
/// When the lock file cannot be opened or locked, or the turn does not come
/// within 15 minutes.
pub async fn take_turn(name: &str) -> Result<std::fs::File, TargetError> {
    let path = std::env::temp_dir().join(format!("kensa-target-{name}.lock"));
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| TargetError::Fixture { path: path.clone(), reason: e.to_string() })?;
    let started = std::time::Instant::now();
    let mut told = false;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(std::fs::TryLockError::WouldBlock) => {}
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(TargetError::Fixture { path, reason: format!("cannot lock: {e}") });
            }
        }
        if started.elapsed() > TURN_WAIT {
            return Err(TargetError::Start {
                target: name.into(),
                reason: format!(
                    "another kensa run on this machine has held the target for over {} s ({} is locked)",
                    TURN_WAIT.as_secs(),
                    path.display()
                ),
            });
        }
        if !told {
            eprintln!("kensa: target {name} is in use by another kensa run on this machine; waiting for its turn");
            told = true;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// A free port on 127.0.0.1.
fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Starts the target and waits until its discovery document answers.
///
/// # Errors
/// When it cannot be spawned, exits early, or is not ready in time; the
/// message ends with its last output lines.
pub async fn start(
    name: &str,
    dir: &Path,
    spec: &ProcessSpec,
    cache: &Path,
    realm_json: &str,
    opts: &super::StartOptions,
    scrubber: &Scrubber,
) -> Result<RunningProcess, TargetError> {
    // A port kensa picked is free when it is picked, not necessarily when the
    // target binds it a moment later: on a busy machine another process may
    // take it first. Such a start is retried on a new port; a port the user
    // chose (`kensa serve --port N`) is not.
    const ATTEMPTS: usize = 3;
    let mut attempt = 1;
    loop {
        match start_once(name, dir, spec, cache, realm_json, opts, scrubber).await {
            Err(TargetError::Start { reason, .. })
                if opts.port.is_none() && attempt < ATTEMPTS && port_taken(&reason) =>
            {
                crate::outln!(
                    "kensa: target {name}: its port was taken before it could bind it; starting it on another"
                );
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// Whether a start failed because the port was taken.
fn port_taken(reason: &str) -> bool {
    let r = reason.to_ascii_lowercase();
    r.contains("address already in use") || r.contains("eaddrinuse") || r.contains("address in use")
}

async fn start_once(
    name: &str,
    dir: &Path,
    spec: &ProcessSpec,
    cache: &Path,
    realm_json: &str,
    opts: &super::StartOptions,
    scrubber: &Scrubber,
) -> Result<RunningProcess, TargetError> {
    let external_auth_url = opts.external_auth_url.as_deref();
    let io_err = |path: &Path, e: std::io::Error| TargetError::Fixture { path: path.to_owned(), reason: e.to_string() };

    let state =
        std::env::temp_dir().join(format!("kensa-{name}-{}-{}", std::process::id(), crate::oidc::random_token(6)));
    std::fs::create_dir_all(&state).map_err(|e| io_err(&state, e))?;
    let realm_path = state.join("realm.json");
    std::fs::write(&realm_path, realm_json).map_err(|e| io_err(&realm_path, e))?;
    let port = match opts.port {
        Some(p) => p,
        None => {
            free_port().map_err(|e| TargetError::Start { target: name.into(), reason: format!("no free port: {e}") })?
        }
    };
    let mut ph = Placeholders {
        dir: dir.display().to_string(),
        cache: cache.display().to_string(),
        state: state.display().to_string(),
        port: port.to_string(),
        issuer: String::new(),
    };
    ph.issuer = ph.fill(&spec.issuer);
    let issuer = ph.issuer.clone();
    let log_path = state.join("target.log");
    let log = std::fs::File::create(&log_path).map_err(|e| io_err(&log_path, e))?;
    let log2 = log.try_clone().map_err(|e| io_err(&log_path, e))?;
    let args: Vec<String> = spec.start.iter().map(|a| ph.fill(a)).collect();
    let mut cmd = tokio::process::Command::new(&args[0]);
    cmd.args(&args[1..])
        .current_dir(dir)
        .env("KENSA_PORT", port.to_string())
        .env("KENSA_REALM_JSON", &realm_path)
        .env("KENSA_CACHE", cache)
        .env("KENSA_STATE", &state)
        .stdin(Stdio::null())
        .stdout(Stdio::from(log))
        .stderr(Stdio::from(log2))
        .process_group(0)
        .kill_on_drop(true);
    if let Some(url) = external_auth_url {
        cmd.env("KENSA_EXTERNAL_AUTH_URL", url);
    }
    // The AWS side of the file linkage, for SAML IdPs that assert the AWS
    // role (fixtures/file-linkage.toml).
    if let Some(fixtures) = dir.parent().and_then(Path::parent)
        && let Ok(l) = kensa_mocks::sts::rules::Linkage::load(&fixtures.join("file-linkage.toml"))
    {
        cmd.env("KENSA_AWS_ROLE", l.role_value()).env("KENSA_AWS_SESSION_DURATION", l.session_duration.to_string());
    }
    for (k, v) in &spec.env {
        cmd.env(k, ph.fill(v));
    }
    let child = cmd
        .spawn()
        .map_err(|e| TargetError::Start { target: name.into(), reason: format!("cannot run {:?}: {e}", args[0]) })?;
    let pid = child.id().unwrap_or(0);
    if let Ok(mut live) = LIVE_GROUPS.lock() {
        live.push(pid);
    }
    let saml = spec.saml.as_ref().map(|s| super::SamlSide {
        metadata_url: ph.fill(&s.metadata),
        sso_url: ph.fill(&s.sso),
        rotate: (!s.rotate.is_empty()).then(|| super::Rotate::Command(s.rotate.iter().map(|a| ph.fill(a)).collect())),
    });
    let mut running = RunningProcess { turn: None, child: Some(child), pid, state, issuer: issuer.clone(), saml };

    let http = HttpClient::with_limits(scrubber.clone(), Duration::from_secs(2), 1 << 20)
        .map_err(|e| TargetError::Start { target: name.into(), reason: e.to_string() })?;
    let (url, want_json) = match &spec.ready_url {
        Some(u) => (
            url::Url::parse(&ph.fill(u))
                .map_err(|e| TargetError::Start { target: name.into(), reason: format!("ready_url: {e}") })?,
            false,
        ),
        None => (
            crate::oidc::discovery::discovery_url(&issuer)
                .map_err(|e| TargetError::Start { target: name.into(), reason: e.to_string() })?,
            true,
        ),
    };
    let deadline = Instant::now() + Duration::from_secs(spec.ready_timeout_secs);
    loop {
        if let Some(child) = running.child.as_mut()
            && let Ok(Some(status)) = child.try_wait()
        {
            let reason = format!(
                "it exited with {status} before it was ready; its last output:\n{}",
                tail(&log_path, 15, scrubber)
            );
            running.stop();
            return Err(TargetError::Start { target: name.into(), reason });
        }
        if let Ok(resp) = http.send(Request::get(url.clone())).await
            && resp.status == 200
        {
            if !want_json || matches!(resp.json(), Ok(serde_json::Value::Object(_))) {
                return Ok(running);
            }
            // Up, but answering garbage: waiting longer will not help.
            let reason = format!(
                "{url} answered 200 with something that is not a JSON object: {}; its last output:\n{}",
                crate::http::preview(&resp.text(), 120),
                tail(&log_path, 15, scrubber)
            );
            running.stop();
            return Err(TargetError::Start { target: name.into(), reason });
        }
        if Instant::now() > deadline {
            let reason = format!(
                "{url} did not answer 200 within {} s; its last output:\n{}",
                spec.ready_timeout_secs,
                tail(&log_path, 15, scrubber)
            );
            running.stop();
            return Err(TargetError::Start { target: name.into(), reason });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Process groups of the targets running now, for [`kill_all_now`].
static LIVE_GROUPS: std::sync::Mutex<Vec<u32>> = std::sync::Mutex::new(Vec::new());

/// Kills every running target's process group at once (SIGKILL), for an
/// exit that cannot wait for the orderly stop.
pub fn kill_all_now() {
    if let Ok(live) = LIVE_GROUPS.lock() {
        for pid in live.iter().filter(|p| **p != 0) {
            signal_group(*pid, "-KILL");
        }
    }
}

fn signal_group(pgid: u32, signal: &str) {
    // The child leads its own process group (process_group(0)), so the
    // whole tree it started gets the signal.
    let _ = std::process::Command::new("kill")
        .args([signal, "--", &format!("-{pgid}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

impl RunningProcess {
    /// The process id of the server (leader of its process group).
    #[must_use]
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// If the server has exited, how, with its last output lines.
    pub fn exited(&mut self, scrubber: &Scrubber) -> Option<String> {
        let status = self.child.as_mut()?.try_wait().ok()??;
        Some(format!(
            "it exited with {status}; its last output:\n{}",
            tail(&self.state.join("target.log"), 15, scrubber)
        ))
    }

    /// Stops the process group: SIGTERM, up to 5 s to exit, then SIGKILL.
    /// Removes the run's state folder.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else { return };
        if let Ok(mut live) = LIVE_GROUPS.lock() {
            live.retain(|p| *p != self.pid);
        }
        if self.pid != 0 {
            signal_group(self.pid, "-TERM");
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if matches!(child.try_wait(), Ok(Some(_))) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            signal_group(self.pid, "-KILL");
        }
        let _ = child.start_kill();
        let _ = child.try_wait();
        let _ = std::fs::remove_dir_all(&self.state);
    }
}

impl Drop for RunningProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::port_taken;

    #[test]
    fn a_taken_port_is_told_apart() {
        assert!(port_taken(
            "failed to listen to port 36573: Address already in use at /usr/share/perl5/HTTP/Server/PSGI.pm"
        ));
        assert!(port_taken("Error: listen EADDRINUSE: address already in use 127.0.0.1:9400"));
        assert!(!port_taken("did not answer 200 within 30 s"));
    }
}
