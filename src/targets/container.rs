//! Container targets: a real IdP in a container that kensa starts with
//! testcontainers for a run and removes afterwards (Keycloak).
//!
//! A container target is a folder `fixtures/targets/<name>/` with a
//! `container.toml`:
//!
//! ```toml
//! description = "Keycloak, in a container (testcontainers); needs a Docker engine"
//! image = "quay.io/keycloak/keycloak"
//! tag = "26.3.0"                                  # pinned
//! command = ["start-dev", "--import-realm"]
//! port = 8080                                     # the container port the IdP serves on
//! copy = { "/opt/keycloak/data/import/realm-kensa.json" = "realm-kensa.json" }  # container path = file here
//! ready_log = "Listening on:"                     # a stdout line that means it is up
//! issuer = "http://{host}:{port}/realms/kensa"  # {host}: the engine's host; {port}: the mapped port
//! login_profile = "keycloak"
//! realm_file = "realm-kensa.json"                 # which realm.toml clients and users it has
//! admin_username = "admin"                        # bootstrap admin, password made per run
//! [env]
//! KC_BOOTSTRAP_ADMIN_USERNAME = "admin"
//! KC_BOOTSTRAP_ADMIN_PASSWORD = "{admin_password}"
//! ```
//!
//! Before anything starts, [`docker_engine`] looks for a Docker engine
//! (`DOCKER_HOST`, else the usual sockets) and pings it; without one the
//! target is unavailable, with one line saying so and what to install, and
//! `kensa run --skip-unavailable` reports its checks as skipped.
//!
//! Starting containers needs the cargo feature `containers` (off by default:
//! `cargo build --features containers`); without it the target is
//! unavailable and says how to build it.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::TargetError;

/// The `container.toml` of a container target.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContainerSpec {
    /// One line about the target.
    pub description: String,
    /// Image name.
    pub image: String,
    /// Pinned image tag.
    pub tag: String,
    /// The container's command (arguments to the image's entrypoint).
    #[serde(default)]
    pub command: Vec<String>,
    /// The container port the IdP serves HTTP on.
    pub port: u16,
    /// Files of the target folder copied into the container, by
    /// destination path.
    #[serde(default)]
    pub copy: BTreeMap<String, String>,
    /// A line on the container's stdout that means the server is up.
    #[serde(default)]
    pub ready_log: Option<String>,
    /// The issuer, with `{port}` (the mapped host port) and `{host}` (the
    /// engine's host: 127.0.0.1 for a local engine).
    pub issuer: String,
    /// Which login profile drives its pages.
    pub login_profile: String,
    /// The realm export whose clients and users (by `client_id` and
    /// `username`) the target has, from `fixtures/realm.toml`.
    pub realm_file: String,
    /// The realm user scenarios log in as.
    #[serde(default = "alice")]
    pub default_user: String,
    /// Powers the target has, matched against scenarios' `@needs:` tags.
    #[serde(default)]
    pub capabilities: Vec<String>,
    /// The bootstrap admin's username, for the admin REST API.
    #[serde(default)]
    pub admin_username: Option<String>,
    /// Seconds to wait for the image pull and the start together.
    #[serde(default = "startup")]
    pub ready_timeout_secs: u64,
    /// Container environment, with `{admin_password}`.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// The SAML IdP side, if the container has one (`{issuer}` stands for
    /// the issuer); rotation goes through the admin REST API.
    #[serde(default)]
    pub saml: Option<super::process::SamlSpec>,
}

fn alice() -> String {
    "alice".into()
}
fn startup() -> u64 {
    300
}

impl ContainerSpec {
    /// Reads `dir/container.toml`.
    ///
    /// # Errors
    /// When it is missing or invalid.
    pub fn load(dir: &Path) -> Result<Self, TargetError> {
        let path = dir.join("container.toml");
        let text = std::fs::read_to_string(&path)
            .map_err(|e| TargetError::Fixture { path: path.clone(), reason: e.to_string() })?;
        let spec: Self =
            toml::from_str(&text).map_err(|e| TargetError::Fixture { path: path.clone(), reason: e.to_string() })?;
        if spec.tag.is_empty() || spec.tag == "latest" {
            return Err(TargetError::Fixture { path, reason: "tag must pin a version, not latest".into() });
        }
        if !spec.issuer.contains("{port}") {
            return Err(TargetError::Fixture { path, reason: "issuer must contain {port}".into() });
        }
        Ok(spec)
    }

    /// What to ask the container engine for, with `admin_password` filled
    /// in; the files to copy are read from `dir`.
    ///
    /// # Errors
    /// When a file to copy cannot be read.
    pub fn plan(&self, dir: &Path, admin_password: &str) -> Result<ContainerPlan, TargetError> {
        let mut copies = Vec::new();
        for (dest, src) in &self.copy {
            let path = dir.join(src);
            let bytes =
                std::fs::read(&path).map_err(|e| TargetError::Fixture { path: path.clone(), reason: e.to_string() })?;
            copies.push((dest.clone(), bytes));
        }
        Ok(ContainerPlan {
            image: self.image.clone(),
            tag: self.tag.clone(),
            command: self.command.clone(),
            env: self.env.iter().map(|(k, v)| (k.clone(), v.replace("{admin_password}", admin_password))).collect(),
            copies,
            port: self.port,
            host_port: None,
            ready_log: self.ready_log.clone(),
            startup_timeout: Duration::from_secs(self.ready_timeout_secs),
        })
    }
}

/// The container kensa asks the engine for.
#[derive(Clone)]
pub struct ContainerPlan {
    /// Image name.
    pub image: String,
    /// Image tag.
    pub tag: String,
    /// Command.
    pub command: Vec<String>,
    /// Environment.
    pub env: BTreeMap<String, String>,
    /// Files: destination path in the container, content.
    pub copies: Vec<(String, Vec<u8>)>,
    /// The container port the IdP serves on.
    pub port: u16,
    /// The host port to map it to (`kensa serve --port`); a free one when
    /// unset.
    pub host_port: Option<u16>,
    /// Stdout line that means it is up.
    pub ready_log: Option<String>,
    /// Pull and start within this.
    pub startup_timeout: Duration,
}

impl std::fmt::Debug for ContainerPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The environment holds the admin password.
        f.debug_struct("ContainerPlan")
            .field("image", &format!("{}:{}", self.image, self.tag))
            .field("command", &self.command)
            .field("env", &self.env.keys().collect::<Vec<_>>())
            .field("copies", &self.copies.iter().map(|(d, b)| (d, b.len())).collect::<Vec<_>>())
            .field("port", &self.port)
            .field("host_port", &self.host_port)
            .finish_non_exhaustive()
    }
}

/// Where a Docker engine answers, or why none does.
///
/// The engine is looked up exactly as testcontainers will look it up when the
/// container starts, so the answer here is the engine that is used:
/// `DOCKER_HOST` (`unix://PATH` or `tcp://HOST:PORT`) wins; otherwise the
/// first of these sockets that exists: `/var/run/docker.sock`,
/// `$XDG_RUNTIME_DIR/.docker/run/docker.sock`, `~/.docker/run/docker.sock`,
/// `~/.docker/desktop/docker.sock`. That socket must answer `GET /_ping`
/// within two seconds.
///
/// # Errors
/// Why no engine answers, and what to install or set.
pub fn docker_engine() -> Result<String, String> {
    engine_from(
        std::env::var("DOCKER_HOST").ok().filter(|h| !h.is_empty()),
        std::env::var_os("XDG_RUNTIME_DIR").map(PathBuf::from),
        std::env::var_os("HOME").map(PathBuf::from),
    )
}

/// The sockets testcontainers tries when `DOCKER_HOST` is unset, in its order.
fn default_sockets(runtime_dir: Option<&Path>, home: Option<&Path>) -> Vec<PathBuf> {
    let mut candidates = vec![PathBuf::from("/var/run/docker.sock")];
    if let Some(run) = runtime_dir {
        candidates.push(run.join(".docker/run/docker.sock"));
    }
    if let Some(home) = home {
        candidates.push(home.join(".docker/run/docker.sock"));
        candidates.push(home.join(".docker/desktop/docker.sock"));
    }
    candidates
}

fn engine_from(
    docker_host: Option<String>,
    runtime_dir: Option<PathBuf>,
    home: Option<PathBuf>,
) -> Result<String, String> {
    const INSTALL: &str = "install Docker Engine (https://docs.docker.com/engine/install/) and start it, or set \
                           DOCKER_HOST to an engine that runs";
    if let Some(host) = docker_host {
        if let Some(path) = host.strip_prefix("unix://") {
            return ping_unix(Path::new(path)).map(|()| host.clone()).map_err(|e| format!("DOCKER_HOST={host}: {e}"));
        }
        if let Some(addr) = host.strip_prefix("tcp://") {
            return ping_tcp(addr).map(|()| host.clone()).map_err(|e| format!("DOCKER_HOST={host}: {e}"));
        }
        return Err(format!("DOCKER_HOST={host}: only unix:// and tcp:// engines are supported"));
    }
    // Rootless Docker listens on $XDG_RUNTIME_DIR/docker.sock, which
    // testcontainers does not try by itself: say how to point it there.
    let rootless = runtime_dir.as_deref().map(|d| d.join("docker.sock")).filter(|p| p.exists());
    let hint =
        rootless.map_or_else(String::new, |p| format!(" (rootless Docker? set DOCKER_HOST=unix://{})", p.display()));
    let candidates = default_sockets(runtime_dir.as_deref(), home.as_deref());
    match candidates.iter().find(|p| p.exists()) {
        Some(sock) => ping_unix(sock)
            .map(|()| format!("unix://{}", sock.display()))
            .map_err(|e| format!("no Docker engine answers: {e}{hint}; {INSTALL}")),
        None => {
            let shown: Vec<String> = candidates.iter().map(|p| p.display().to_string()).collect();
            Err(format!(
                "no Docker engine: DOCKER_HOST is unset and none of {} exists{hint}; {INSTALL}",
                shown.join(", ")
            ))
        }
    }
}

const PING: &[u8] = b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n";

fn ping_answer(mut stream: impl std::io::Read + std::io::Write, what: &str) -> Result<(), String> {
    stream.write_all(PING).map_err(|e| format!("{what}: {e}"))?;
    let mut answer = Vec::new();
    stream.take(4096).read_to_end(&mut answer).map_err(|e| format!("{what}: no answer to /_ping: {e}"))?;
    let text = String::from_utf8_lossy(&answer);
    let status = text.lines().next().unwrap_or("");
    if status.split_whitespace().nth(1) == Some("200") {
        Ok(())
    } else {
        Err(format!("{what} answered /_ping with {status:?}"))
    }
}

fn ping_unix(path: &Path) -> Result<(), String> {
    let what = path.display().to_string();
    let stream = std::os::unix::net::UnixStream::connect(path).map_err(|e| format!("{what}: {e}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).map_err(|e| format!("{what}: {e}"))?;
    stream.set_write_timeout(Some(Duration::from_secs(2))).map_err(|e| format!("{what}: {e}"))?;
    ping_answer(stream, &what)
}

fn ping_tcp(addr: &str) -> Result<(), String> {
    use std::net::ToSocketAddrs as _;
    let sock = addr
        .to_socket_addrs()
        .map_err(|e| format!("{addr}: {e}"))?
        .next()
        .ok_or_else(|| format!("{addr}: no address"))?;
    let stream =
        std::net::TcpStream::connect_timeout(&sock, Duration::from_secs(2)).map_err(|e| format!("{addr}: {e}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).map_err(|e| format!("{addr}: {e}"))?;
    ping_answer(stream, addr)
}

/// `Ok` when a container target can start here: kensa has container
/// support and a Docker engine answers.
///
/// # Errors
/// Why not, and what to do.
pub fn availability() -> Result<(), String> {
    docker_engine()?;
    if !cfg!(feature = "containers") {
        return Err("a Docker engine answers, but this kensa was built without container support: build it with \
                    `--features containers` (cargo run --release --features containers -- run --target keycloak)"
            .into());
    }
    Ok(())
}

/// The clients and users of `realm` that the realm export also has (by
/// `client_id` and `username`): the ones the container target serves.
///
/// # Errors
/// When the export is not a Keycloak realm JSON.
pub fn served_realm(
    realm: &kensa_mocks::realm::Realm,
    export: &serde_json::Value,
) -> Result<kensa_mocks::realm::Realm, String> {
    let names = |key: &str, field: &str| -> Result<Vec<String>, String> {
        Ok(export
            .get(key)
            .and_then(|v| v.as_array())
            .ok_or_else(|| format!("the realm export has no {key} list"))?
            .iter()
            .filter_map(|c| c.get(field).and_then(|v| v.as_str()).map(str::to_owned))
            .collect())
    };
    let clients = names("clients", "clientId")?;
    let users = names("users", "username")?;
    let mut served = realm.clone();
    served.clients.retain(|c| clients.contains(&c.client_id));
    served.users.retain(|u| users.contains(&u.username));
    Ok(served)
}

#[cfg(feature = "containers")]
pub use engine::{RunningContainer, request, start};

#[cfg(feature = "containers")]
mod engine {
    use std::time::{Duration, Instant};

    use testcontainers::core::{IntoContainerPort as _, WaitFor};
    use testcontainers::runners::AsyncRunner as _;
    use testcontainers::{ContainerAsync, ContainerRequest, GenericImage, ImageExt as _};

    use super::{ContainerPlan, TargetError};
    use crate::http::{HttpClient, Request};
    use crate::secret::Scrubber;

    /// The testcontainers request for a plan.
    pub fn request(plan: &ContainerPlan) -> ContainerRequest<GenericImage> {
        let mut image = GenericImage::new(plan.image.clone(), plan.tag.clone()).with_exposed_port(plan.port.tcp());
        if let Some(line) = &plan.ready_log {
            image = image.with_wait_for(WaitFor::message_on_stdout(line.clone()));
        }
        let mut req = image.with_cmd(plan.command.clone()).with_startup_timeout(plan.startup_timeout);
        for (k, v) in &plan.env {
            req = req.with_env_var(k.clone(), v.clone());
        }
        for (dest, bytes) in &plan.copies {
            req = req.with_copy_to(dest.clone(), bytes.clone());
        }
        if let Some(host_port) = plan.host_port {
            req = req.with_mapped_port(host_port, plan.port.tcp());
        }
        req
    }

    /// A started container; dropping it removes the container.
    pub struct RunningContainer {
        container: ContainerAsync<GenericImage>,
        /// The issuer on the mapped host port.
        pub issuer: String,
    }

    impl std::fmt::Debug for RunningContainer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("RunningContainer").field("id", &self.container.id()).field("issuer", &self.issuer).finish()
        }
    }

    impl RunningContainer {
        /// The container id.
        #[must_use]
        pub fn id(&self) -> &str {
            self.container.id()
        }
    }

    /// Pulls and starts the container, maps its port, and waits until the
    /// discovery document of `issuer` (with `{host}` and `{port}`) answers.
    ///
    /// # Errors
    /// When the engine refuses, the start times out, or discovery never
    /// answers.
    pub async fn start(
        name: &str,
        plan: &ContainerPlan,
        issuer: &str,
        scrubber: &Scrubber,
    ) -> Result<RunningContainer, TargetError> {
        let fail = |reason: String| TargetError::Start { target: name.into(), reason };
        let started = Instant::now();
        let container = request(plan)
            .start()
            .await
            .map_err(|e| fail(format!("the container engine could not start {}:{}: {e}", plan.image, plan.tag)))?;
        let port = container
            .get_host_port_ipv4(plan.port.tcp())
            .await
            .map_err(|e| fail(format!("port {} is not mapped: {e}", plan.port)))?;
        // A remote engine (DOCKER_HOST=tcp://...) maps the port on its own host.
        let host = match container.get_host().await.map_err(|e| fail(format!("the container's host: {e}")))? {
            url::Host::Domain(d) if d == "localhost" => "127.0.0.1".to_owned(),
            h => h.to_string(),
        };
        let issuer = issuer.replace("{host}", &host).replace("{port}", &port.to_string());
        let url = crate::oidc::discovery::discovery_url(&issuer).map_err(|e| fail(e.to_string()))?;
        let http = HttpClient::with_limits(scrubber.clone(), Duration::from_secs(2), 1 << 20)
            .map_err(|e| fail(e.to_string()))?;
        loop {
            if let Ok(resp) = http.send(Request::get(url.clone())).await
                && resp.status == 200
                && matches!(resp.json(), Ok(serde_json::Value::Object(_)))
            {
                return Ok(RunningContainer { container, issuer });
            }
            if started.elapsed() > plan.startup_timeout {
                let logs = container.stdout_to_vec().await.unwrap_or_default();
                let text = String::from_utf8_lossy(&logs);
                let tail: Vec<&str> = text.lines().rev().take(15).collect();
                let tail: Vec<&str> = tail.into_iter().rev().collect();
                return Err(fail(format!(
                    "{url} did not answer within {} s; the container's last output:\n{}",
                    plan.startup_timeout.as_secs(),
                    scrubber.scrub(&tail.join("\n"))
                )));
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keycloak_dir() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/targets/keycloak")
    }

    #[test]
    fn the_keycloak_container_is_planned_as_its_spec_says() {
        let dir = keycloak_dir();
        let spec = ContainerSpec::load(&dir).unwrap();
        let plan = spec.plan(&dir, "admin-pw-123").unwrap();
        assert_eq!(plan.image, "quay.io/keycloak/keycloak");
        assert!(plan.tag.starts_with("26."), "pinned 26.x: {}", plan.tag);
        assert_eq!(plan.command, ["start-dev", "--import-realm"]);
        assert_eq!(plan.port, 8080);
        assert_eq!(plan.env.get("KC_BOOTSTRAP_ADMIN_USERNAME").map(String::as_str), Some("admin"));
        assert_eq!(plan.env.get("KC_BOOTSTRAP_ADMIN_PASSWORD").map(String::as_str), Some("admin-pw-123"));
        let (dest, bytes) = &plan.copies[0];
        assert_eq!(dest, "/opt/keycloak/data/import/realm-kensa.json");
        assert_eq!(bytes, &std::fs::read(dir.join("realm-kensa.json")).unwrap());
        assert_eq!(plan.ready_log.as_deref(), Some("Listening on:"));
        assert!(spec.issuer.ends_with("/realms/kensa"));
        // The admin password never shows in a Debug print.
        assert!(!format!("{plan:?}").contains("admin-pw-123"));
    }

    #[test]
    fn a_container_spec_must_pin_its_tag() {
        let dir = std::env::temp_dir().join(format!("kensa-container-spec-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let text = std::fs::read_to_string(keycloak_dir().join("container.toml")).unwrap();
        let tag_line = text.lines().find(|l| l.starts_with("tag = ")).unwrap().to_owned();
        std::fs::write(dir.join("container.toml"), text.replace(&tag_line, "tag = \"latest\"")).unwrap();
        let err = ContainerSpec::load(&dir).unwrap_err().to_string();
        assert!(err.contains("pin"), "{err}");
        std::fs::write(dir.join("container.toml"), text.replace("port = 8080", "port = 8080\nportt = 1")).unwrap();
        let err = ContainerSpec::load(&dir).unwrap_err().to_string();
        assert!(err.contains("portt"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(feature = "containers")]
    #[test]
    fn the_testcontainers_request_carries_the_plan() {
        use testcontainers::Image as _;
        let dir = keycloak_dir();
        let plan = ContainerSpec::load(&dir).unwrap().plan(&dir, "pw").unwrap();
        let req = request(&plan);
        assert_eq!(req.image().name(), "quay.io/keycloak/keycloak");
        assert_eq!(req.image().tag(), plan.tag);
        assert_eq!(req.cmd().collect::<Vec<_>>(), ["start-dev", "--import-realm"]);
        let env: BTreeMap<String, String> = req.env_vars().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
        assert_eq!(env.get("KC_BOOTSTRAP_ADMIN_PASSWORD").map(String::as_str), Some("pw"));
        let copies: Vec<String> = req.copy_to_sources().map(|c| format!("{c:?}")).collect();
        assert_eq!(copies.len(), 1);
        assert!(copies[0].contains("/opt/keycloak/data/import/realm-kensa.json"), "{copies:?}");
        assert!(req.expose_ports().iter().any(|p| p.as_u16() == 8080), "{:?}", req.expose_ports());
        assert!(format!("{:?}", req.ready_conditions()).contains("Listening on:"));
        assert_eq!(req.startup_timeout(), Some(plan.startup_timeout));
        assert!(req.ports().is_none(), "a free host port unless one is asked for");
        // `kensa serve keycloak --port 9400` maps the IdP to that host port.
        let mut fixed = plan.clone();
        fixed.host_port = Some(9400);
        let req = request(&fixed);
        let mapped: Vec<(u16, u16)> =
            req.ports().unwrap().iter().map(|m| (m.host_port(), m.container_port().as_u16())).collect();
        assert_eq!(mapped, [(9400, 8080)]);
    }

    #[test]
    fn the_engine_check_names_what_it_tried() {
        // A socket path that cannot exist: the message says what to do.
        let err = ping_unix(Path::new("/nonexistent/kensa/docker.sock")).unwrap_err();
        assert!(err.contains("/nonexistent/kensa/docker.sock"), "{err}");
        let err = ping_tcp("127.0.0.1:1").unwrap_err();
        assert!(err.contains("127.0.0.1:1"), "{err}");
    }

    #[test]
    fn the_engine_is_looked_up_where_testcontainers_looks() {
        let dir = tempfile::tempdir().unwrap();
        let (run, home) = (dir.path().join("run"), dir.path().join("home"));
        // testcontainers' order, after /var/run/docker.sock.
        let socks = default_sockets(Some(&run), Some(&home));
        assert_eq!(socks[0], Path::new("/var/run/docker.sock"));
        assert_eq!(
            &socks[1..],
            [
                run.join(".docker/run/docker.sock"),
                home.join(".docker/run/docker.sock"),
                home.join(".docker/desktop/docker.sock")
            ]
        );
        let err = engine_from(Some("ssh://h".into()), None, None).unwrap_err();
        assert!(err.contains("only unix:// and tcp://"), "{err}");
        let err = engine_from(Some("tcp://127.0.0.1:1".into()), None, None).unwrap_err();
        assert!(err.starts_with("DOCKER_HOST=tcp://127.0.0.1:1"), "{err}");
        if Path::new("/var/run/docker.sock").exists() {
            return; // a real engine's socket comes first; the rest needs its absence
        }
        std::fs::create_dir_all(&run).unwrap();
        let err = engine_from(None, Some(run.clone()), Some(home.clone())).unwrap_err();
        assert!(err.contains("none of /var/run/docker.sock") && err.contains("install Docker"), "{err}");
        // A rootless engine's socket is named, with the DOCKER_HOST to set.
        let rootless = std::os::unix::net::UnixListener::bind(run.join("docker.sock")).unwrap();
        let err = engine_from(None, Some(run.clone()), Some(home.clone())).unwrap_err();
        assert!(err.contains(&format!("set DOCKER_HOST=unix://{}", run.join("docker.sock").display())), "{err}");
        drop(rootless);
        // The first socket that exists is the one pinged, and it must answer 200.
        let desktop = home.join(".docker/desktop/docker.sock");
        std::fs::create_dir_all(desktop.parent().unwrap()).unwrap();
        let listener = std::os::unix::net::UnixListener::bind(&desktop).unwrap();
        let server = std::thread::spawn(move || {
            use std::io::Write as _;
            let (mut conn, _) = listener.accept().unwrap();
            let mut buf = [0u8; 256];
            let _ = std::io::Read::read(&mut conn, &mut buf);
            conn.write_all(b"HTTP/1.0 200 OK\r\n\r\nOK").unwrap();
        });
        assert_eq!(engine_from(None, Some(run), Some(home)).unwrap(), format!("unix://{}", desktop.display()));
        server.join().unwrap();
    }

    #[test]
    fn a_ping_answer_must_be_200() {
        struct Canned(std::io::Cursor<Vec<u8>>);
        impl std::io::Read for Canned {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                self.0.read(buf)
            }
        }
        impl std::io::Write for Canned {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let ok = Canned(std::io::Cursor::new(b"HTTP/1.1 200 OK\r\nApi-Version: 1.47\r\n\r\nOK".to_vec()));
        assert!(ping_answer(ok, "engine").is_ok());
        let refused = Canned(std::io::Cursor::new(b"HTTP/1.1 403 Forbidden\r\n\r\n".to_vec()));
        assert!(ping_answer(refused, "engine").unwrap_err().contains("403"));
        let garbage = Canned(std::io::Cursor::new(b"SSH-2.0-OpenSSH\r\n".to_vec()));
        assert!(ping_answer(garbage, "engine").is_err());
    }
}
