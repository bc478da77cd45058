//! The `kensa` command: runs the conformance suite, lists checks, targets
//! and faults. See `kensa --help`.
#![forbid(unsafe_code)]

#[path = "../steps/mod.rs"]
mod steps;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Args, Parser, Subcommand};
use cucumber::gherkin::tagexpr::TagOperation;
use cucumber::{World as _, WriterExt as _, writer};
use kensa::checks::{Catalogue, Check};
use kensa::report::{self, Collector, Counts, ExchangeStore, SharedBuf, Summary, TargetSummary};
use kensa::secret::Scrubber;
use kensa::snapshot::{self, Snapshots};
use kensa::targets::{self, StartOptions};
use kensa::world::{self, KensaWorld, RunContext};
use kensa_mocks::external::{Contract, ExternalApi, ExternalUser, Router};
use kensa_mocks::idp::Fault;

/// Exit code: every selected check passed.
const EXIT_PASS: u8 = 0;
/// Exit code: a check failed or did not run.
const EXIT_FAIL: u8 = 1;
/// Exit code: usage or setup error; nothing was judged.
const EXIT_SETUP: u8 = 2;

/// kensa (検査): conformance and interop checks for identity providers.
#[derive(Parser)]
#[command(name = "kensa", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the checks against a target and write reports.
    Run(RunArgs),
    /// List every check: id, level, spec source, the faults that prove it.
    Checks(ChecksArgs),
    /// List the targets and whether each can start here.
    Targets(DirArgs),
    /// List the reference IdP's fault switches and the checks each must break.
    Faults(ChecksArgs),
    /// Install process targets ahead of a run (npm packages, Debian packages);
    /// `kensa run` does the same on first use.
    Setup(SetupArgs),
    /// Validate verified_claims (OpenID Connect for Identity Assurance 1.0)
    /// in JSON files: a userinfo response, ID token claims, or a bare
    /// verified_claims value.
    Ida(IdaArgs),
    /// Validate a remote target profile without running the checks: its
    /// keys, its secrets' environment variables, and (unless --offline)
    /// that the issuer answers as the profile says.
    Profile(ProfileArgs),
    /// Start a target on a fixed loopback port and keep it running until
    /// Ctrl-C, to try a profile against it or to explore it by hand.
    Serve(ServeArgs),
    /// Load mode for the API access profile, on loopback only: N concurrent
    /// clients, each signed in once, refresh their tokens and call the
    /// resource API gateway; prints throughput and p50/p95/p99 latencies of
    /// the token endpoint and of the whole call.
    Load(LoadArgs),
}

#[derive(Args)]
struct LoadArgs {
    /// The IdP (see `kensa targets`); it must run on this machine.
    #[arg(long, default_value = "embedded")]
    target: String,
    /// Concurrent clients, each comma-separated value a run of its own.
    #[arg(long, default_value = "100", value_delimiter = ',')]
    clients: Vec<usize>,
    /// Refresh-and-call iterations per client.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=1000))]
    iterations: u32,
    /// No iteration starts after this many seconds of the measured phase.
    #[arg(long, default_value_t = 120, value_parser = clap::value_parser!(u64).range(1..=900))]
    max_duration: u64,
    /// The realm client role: `api-load` (opaque access tokens the gateway
    /// introspects, default lifetimes) or `api` (JWT access tokens living 3
    /// seconds, which expire under heavy load before the API sees them).
    #[arg(long, default_value = "api-load")]
    client: String,
    /// The scope the clients sign in with.
    #[arg(long, default_value = "openid offline_access text_apis")]
    scope: String,
    /// The API path the clients call.
    #[arg(long, default_value = "/text/documents")]
    path: String,
    /// Unmeasured refresh-and-call iterations per client before the
    /// measured ones (they open the connections).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(0..=100))]
    warmup: u32,
    /// Logins run at most this many at a time (they are not measured).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=256))]
    login_concurrency: u16,
    /// Directory of fixtures (realm.toml, keys/, targets/, api/).
    #[arg(long, default_value = "fixtures")]
    fixtures: PathBuf,
    /// Where load.json is written.
    #[arg(long, default_value = "reports")]
    report_dir: PathBuf,
}

#[derive(Args)]
struct ProfileArgs {
    #[command(subcommand)]
    action: ProfileAction,
}

#[derive(Subcommand)]
enum ProfileAction {
    /// Validate a profile and check that its issuer answers.
    Check {
        /// The profile (TOML).
        path: PathBuf,
        /// This issuer instead of the profile's.
        #[arg(long)]
        issuer: Option<String>,
        /// Only validate the file and the environment; reach nothing.
        #[arg(long)]
        offline: bool,
    },
}

#[derive(Args)]
struct ServeArgs {
    /// The target to start (see `kensa targets`).
    target: String,
    /// The loopback port to serve on.
    #[arg(long, default_value_t = 9400)]
    port: u16,
    /// Directory of fixtures (realm.toml, keys/, targets/).
    #[arg(long, default_value = "fixtures")]
    fixtures: PathBuf,
}

#[derive(Args)]
struct IdaArgs {
    /// JSON files to validate.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

#[derive(Args)]
struct SetupArgs {
    /// Targets to set up: names, or `all` for every process target.
    #[arg(default_value = "all")]
    targets: Vec<String>,
    /// Directory of fixtures (realm.toml, keys/, targets/).
    #[arg(long, default_value = "fixtures")]
    fixtures: PathBuf,
}

#[derive(Args)]
struct DirArgs {
    /// Directory of fixtures (realm.toml, keys/, targets/).
    #[arg(long, default_value = "fixtures")]
    fixtures: PathBuf,
}

#[derive(Args)]
struct ChecksArgs {
    /// Directory of .feature files.
    #[arg(long, default_value = "features")]
    features: PathBuf,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Print docs/certification.md: the checks mapped to the OpenID Basic OP
    /// certification plan's modules.
    #[arg(long, conflicts_with = "json")]
    certification: bool,
}

#[derive(Args)]
struct RunArgs {
    /// The IdP under test: a name, a comma-separated list, or `all` (see
    /// `kensa targets`).
    #[arg(long, default_value = "embedded")]
    target: String,
    /// Run against a deployment kensa does not start, described by a TOML
    /// profile (issuer, clients, users; secrets from environment variables;
    /// see fixtures/profiles/README.md), instead of --target.
    #[arg(long, conflicts_with_all = ["fault", "skip_unavailable"])]
    profile: Option<PathBuf>,
    /// With --profile: this issuer instead of the profile's.
    #[arg(long, requires = "profile")]
    issuer: Option<String>,
    /// Start the reference IdP with this fault (see `kensa faults`).
    #[arg(long)]
    fault: Option<String>,
    /// Tag expression selecting checks, e.g. "@MUST and @area:token".
    #[arg(long)]
    tags: Option<String>,
    /// Stop at the first failing check.
    #[arg(long)]
    fail_fast: bool,
    /// Scenarios run at once.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=256))]
    concurrency: u16,
    /// Where reports are written.
    #[arg(long, default_value = "reports")]
    report_dir: PathBuf,
    /// Directory of .feature files.
    #[arg(long, default_value = "features")]
    features: PathBuf,
    /// Directory of fixtures (realm.toml, keys/).
    #[arg(long, default_value = "fixtures")]
    fixtures: PathBuf,
    /// Print only the summary, not a line per check.
    #[arg(long, short)]
    quiet: bool,
    /// With several targets: a target whose tools are not installed here is
    /// reported as skipped instead of failing the run.
    #[arg(long)]
    skip_unavailable: bool,
    /// Directory of per-target snapshot baselines [default: FIXTURES/snapshots].
    #[arg(long)]
    snapshots: Option<PathBuf>,
    /// Where the file-linkage checks find STS and S3: `mock` (kensa's STS and
    /// storage mocks, in process), `aws` (the real regional endpoints of the
    /// linkage's region), or `sts=URL,s3=URL`.
    #[arg(long, default_value = "mock")]
    aws: String,
    /// The AWS side of the file linkage: account, role, IAM SAML provider,
    /// region, bucket [default: FIXTURES/file-linkage.toml].
    #[arg(long)]
    linkage: Option<PathBuf>,
    /// Write the snapshots of this run as the new baselines instead of
    /// comparing (refused in CI and with --fault).
    #[arg(long)]
    update_snapshots: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Run(args) => run_blocking(args),
        Command::Checks(args) => list_checks(&args),
        Command::Targets(args) => list_targets(&args),
        Command::Faults(args) => list_faults(&args),
        Command::Setup(args) => setup_blocking(&args),
        Command::Ida(args) => validate_ida(&args),
        Command::Load(args) => load_blocking(&args),
        Command::Profile(args) => profile_blocking(&args),
        Command::Serve(args) => serve_blocking(&args),
    };
    ExitCode::from(code)
}

fn setup_error(msg: impl std::fmt::Display) -> u8 {
    eprintln!("kensa: error: {msg}");
    EXIT_SETUP
}

fn load_catalogue(features: &Path) -> Result<Catalogue, u8> {
    if !features.is_dir() {
        return Err(setup_error(format!(
            "features directory {} not found: run kensa from the project root or pass --features DIR",
            features.display()
        )));
    }
    Catalogue::load(features).map_err(setup_error)
}

fn list_checks(args: &ChecksArgs) -> u8 {
    let cat = match load_catalogue(&args.features) {
        Ok(c) => c,
        Err(code) => return code,
    };
    if args.json {
        kensa::outln!("{}", serde_json::to_string_pretty(&cat.checks).unwrap_or_default());
        return EXIT_PASS;
    }
    if args.certification {
        kensa::out(format_args!("{}", kensa::certification::markdown(&cat)));
        return EXIT_PASS;
    }
    kensa::outln!("{:<15} {:<6} {:<44} {:<34} TITLE", "ID", "LEVEL", "SPEC", "FAULTS");
    for c in &cat.checks {
        kensa::outln!(
            "{:<15} {:<6} {:<44} {:<34} {}",
            c.id,
            c.level.to_string(),
            c.specs.join(" "),
            c.faults.join(" "),
            c.title
        );
    }
    kensa::outln!("{} checks in {} feature files", cat.checks.len(), cat.files.len());
    EXIT_PASS
}

fn list_faults(args: &ChecksArgs) -> u8 {
    let cat = match load_catalogue(&args.features) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let by_fault = cat.faults();
    if args.json {
        let v: Vec<serde_json::Value> = Fault::ALL
            .iter()
            .map(|f| {
                serde_json::json!({"name": f.name(), "description": f.description(),
                    "breaks": by_fault.get(f.name()).cloned().unwrap_or_default()})
            })
            .collect();
        kensa::outln!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        return EXIT_PASS;
    }
    for f in Fault::ALL {
        let breaks = by_fault.get(f.name()).map(|v| v.join(", ")).unwrap_or_else(|| "(no check)".into());
        kensa::outln!("{:<32} breaks {breaks}\n{:<32} {}", f.name(), "", f.description());
    }
    EXIT_PASS
}

fn list_targets(args: &DirArgs) -> u8 {
    kensa::outln!("{:<20} {:<9} {:<12} {:<24} DESCRIPTION", "TARGET", "KIND", "STATUS", "VERSION");
    for e in targets::catalogue(&args.fixtures) {
        let status = if e.availability.is_ok() { "can start" } else { "unavailable" };
        let version = e.version.clone().unwrap_or_default();
        kensa::outln!("{:<20} {:<9} {:<12} {:<24} {}", e.name, e.kind.to_string(), status, version, e.description);
        match (&e.availability, e.set_up) {
            (Err(why), _) => kensa::outln!("{:<20} {why}", ""),
            (Ok(()), Some(false)) => kensa::outln!(
                "{:<20} not set up yet: the first `kensa run --target {}` installs it, or run `kensa setup {}` now",
                "",
                e.name,
                e.name
            ),
            _ => {}
        }
    }
    EXIT_PASS
}

/// Largest file `kensa ida` reads.
const MAX_IDA_FILE: u64 = 4 * 1024 * 1024;

fn validate_ida(args: &IdaArgs) -> u8 {
    let mut failed = false;
    for path in &args.files {
        let shown = path.display();
        match std::fs::metadata(path) {
            Ok(m) if m.len() > MAX_IDA_FILE => return setup_error(format!("{shown}: larger than 4 MiB")),
            Ok(_) => {}
            Err(e) => return setup_error(format!("{shown}: {e}")),
        }
        let value: serde_json::Value = match std::fs::read_to_string(path).map(|t| serde_json::from_str(&t)) {
            Ok(Ok(v)) => v,
            Ok(Err(e)) => return setup_error(format!("{shown}: not JSON: {e}")),
            Err(e) => return setup_error(format!("{shown}: {e}")),
        };
        // A response or claims set holding verified_claims, or the value itself.
        let vc = value.get("verified_claims").unwrap_or(&value);
        let findings = kensa::ida::validate(vc);
        if findings.is_empty() {
            kensa::outln!("{shown}: valid verified_claims");
        } else {
            failed = true;
            kensa::outln!("{shown}: {} problem(s)", findings.len());
            for f in findings {
                kensa::outln!("  {f}");
            }
        }
    }
    if failed { EXIT_FAIL } else { EXIT_PASS }
}

fn setup_blocking(args: &SetupArgs) -> u8 {
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let entries = targets::catalogue(&args.fixtures);
    let names: Vec<String> = if args.targets.iter().any(|t| t == "all") {
        entries.iter().filter(|e| e.kind == targets::Kind::Process).map(|e| e.name.clone()).collect()
    } else {
        args.targets.clone()
    };
    let scrubber = Scrubber::new();
    for name in &names {
        match rt.block_on(targets::setup(name, &args.fixtures, &scrubber)) {
            Ok(version) => kensa::outln!("kensa: target {name} is set up ({version})"),
            Err(e) => return setup_error(e),
        }
    }
    EXIT_PASS
}

fn load_blocking(args: &LoadArgs) -> u8 {
    if let Some(&n) = args.clients.iter().find(|&&n| n == 0 || n > 5000) {
        return setup_error(format!("--clients {n}: between 1 and 5000 concurrent clients"));
    }
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    rt.block_on(load(args))
}

async fn load(args: &LoadArgs) -> u8 {
    let rules_path = args.fixtures.join("api").join("routes.toml");
    let rules = match kensa_mocks::api::Rules::load(&rules_path) {
        Ok(r) => r,
        Err(e) => return setup_error(e),
    };
    if !args.path.starts_with('/') || rules.route(&args.path).is_none() {
        let prefixes: Vec<&str> = rules.routes.iter().map(|r| r.prefix.as_str()).collect();
        return setup_error(format!(
            "--path {:?} is under none of the API's routes ({})",
            args.path,
            prefixes.join(", ")
        ));
    }
    let scrubber = Scrubber::new();
    let (router, _directory) = match external_apis(&args.fixtures).await {
        Ok(started) => started,
        Err(code) => return code,
    };
    let opts = StartOptions {
        fixtures: args.fixtures.clone(),
        fault: None,
        external_auth_url: Some(router.url()),
        port: None,
    };
    kensa::outln!("kensa: starting target {} ...", args.target);
    let started = match targets::start(&args.target, &opts, &scrubber).await {
        Ok(t) => t,
        Err(e) => return setup_error(format!("target {}: {e}", args.target)),
    };
    if let Err(e) = started.info.client(&args.client) {
        started.stop();
        return setup_error(format!("--client {}: {e}", args.client));
    }
    kensa::outln!("kensa: target {} at {} ready", args.target, started.info.issuer);
    let mut reports = Vec::new();
    let mut code = EXIT_PASS;
    for &clients in &args.clients {
        let plan = kensa::load::LoadPlan {
            clients,
            iterations: args.iterations as usize,
            max_duration: Duration::from_secs(args.max_duration),
            role: args.client.clone(),
            scope: args.scope.clone(),
            path: args.path.clone(),
            login_concurrency: usize::from(args.login_concurrency),
            warmup: args.warmup as usize,
        };
        match kensa::load::run(Arc::clone(&started.info), rules.clone(), &plan, &scrubber).await {
            Ok(report) => {
                for line in report.lines() {
                    kensa::outln!("kensa: load: {}", scrubber.scrub(&line));
                }
                if report.error_count() > 0 {
                    code = EXIT_FAIL;
                }
                reports.push(report);
            }
            Err(e) => {
                eprintln!("kensa: load: {}", scrubber.scrub(&format!("{e:#}")));
                code = EXIT_FAIL;
                break;
            }
        }
    }
    started.stop();
    if let Err(e) = std::fs::create_dir_all(&args.report_dir).and_then(|()| {
        let json = serde_json::to_vec_pretty(&reports).map_err(std::io::Error::other)?;
        std::fs::write(args.report_dir.join("load.json"), scrubber.scrub(&String::from_utf8_lossy(&json)))
    }) {
        eprintln!("kensa: load: cannot write {}: {e}", args.report_dir.join("load.json").display());
        return EXIT_SETUP;
    }
    kensa::outln!("kensa: load: figures in {}", args.report_dir.join("load.json").display());
    code
}

/// The async runtime every command runs on: two workers, as the machines
/// kensa targets have few cores.
fn runtime() -> Result<tokio::runtime::Runtime, u8> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| setup_error(format!("cannot start the async runtime: {e}")))
}

fn profile_blocking(args: &ProfileArgs) -> u8 {
    let ProfileAction::Check { path, issuer, offline } = &args.action;
    let profile = match targets::profile::Profile::load(path, issuer.as_deref()) {
        Ok(p) => p,
        Err(e) => return setup_error(e),
    };
    let roles: Vec<&str> = profile.realm.clients.iter().map(|c| c.role.as_str()).collect();
    let users: Vec<&str> = profile.realm.users.iter().map(|u| u.username.as_str()).collect();
    kensa::outln!("kensa: profile {} is valid: target {:?}, issuer {}", path.display(), profile.name, profile.issuer);
    kensa::outln!("kensa:   clients (by role): {}", roles.join(", "));
    kensa::outln!("kensa:   users: {} (scenarios log in as {})", users.join(", "), profile.default_user);
    kensa::outln!("kensa:   login driver: {}", profile.login.name());
    let caps = if profile.capabilities.is_empty() { "none".to_owned() } else { profile.capabilities.join(", ") };
    kensa::outln!("kensa:   powers: {caps}{}", if profile.admin.is_some() { ", admin:keycloak" } else { "" });
    kensa::outln!("kensa:   secrets read from: {}", profile.env_used.join(", "));
    if let Some(e) = &profile.expected {
        kensa::outln!("kensa:   known deviations: {}", e.display());
    }
    if *offline {
        return EXIT_PASS;
    }
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let scrubber = Scrubber::new();
    profile.register_secrets(&scrubber);
    let found = rt.block_on(targets::profile::check_live(&profile, &scrubber));
    for line in &found.lines {
        kensa::outln!("kensa:   {}", scrubber.scrub(line));
    }
    if found.failed {
        kensa::outln!("kensa: profile {}: the deployment does not answer as the profile says", path.display());
        EXIT_FAIL
    } else {
        kensa::outln!(
            "kensa: profile {}: the deployment answers; run it with `kensa run --profile {}`",
            path.display(),
            path.display()
        );
        EXIT_PASS
    }
}

fn serve_blocking(args: &ServeArgs) -> u8 {
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    rt.block_on(async {
        let interrupt = match Interrupt::install() {
            Ok(i) => i,
            Err(e) => return setup_error(format!("cannot listen for Ctrl-C: {e}")),
        };
        let (router, _directory) = match external_apis(&args.fixtures).await {
            Ok(started) => started,
            Err(code) => return code,
        };
        let opts = StartOptions {
            fixtures: args.fixtures.clone(),
            fault: None,
            external_auth_url: Some(router.url()),
            port: Some(args.port),
        };
        kensa::outln!("kensa: starting target {} on 127.0.0.1:{} ...", args.target, args.port);
        let scrubber = Scrubber::new();
        let mut started = match targets::start(&args.target, &opts, &scrubber).await {
            Ok(t) => t,
            Err(e) => return setup_error(format!("target {}: {e}", args.target)),
        };
        // One line a script can wait for.
        kensa::outln!("kensa: serving {} at {} (Ctrl-C stops it)", args.target, started.info.issuer);
        let code = tokio::select! {
            why = started.died(&scrubber) => {
                eprintln!("kensa: error: target {} stopped: {why}", args.target);
                EXIT_FAIL
            }
            () = interrupt.wait() => EXIT_PASS,
        };
        started.stop();
        kensa::outln!("kensa: target {} stopped", args.target);
        code
    })
}

fn run_blocking(args: RunArgs) -> u8 {
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    rt.block_on(run(args))
}

/// The run's external-API router, with a directory that knows the realm's
/// users: targets that delegate every password check (LemonLDAP::NG with
/// its REST backend) must find them there. Keep the directory alive for the
/// whole run.
async fn external_apis(fixtures: &Path) -> Result<(Arc<Router>, ExternalApi), u8> {
    let router = match Router::start().await {
        Ok(r) => Arc::new(r),
        Err(e) => return Err(setup_error(format!("cannot start the external API router: {e}"))),
    };
    let directory = match targets::load_realm(fixtures) {
        Ok(realm) => realm_directory(&realm, &router).await,
        Err(e) => return Err(setup_error(e)),
    };
    Ok((router, directory))
}

/// An external password API (LemonLDAP::NG REST contract) that knows the
/// realm's users, routed for their usernames.
async fn realm_directory(realm: &kensa_mocks::realm::Realm, router: &Router) -> ExternalApi {
    let directory = ExternalApi::start(Contract::LemonLdapRest).await;
    for u in &realm.users {
        let mut attributes = u.claims.clone();
        attributes.insert("user_id".into(), serde_json::Value::String(u.sub.clone()));
        // LemonLDAP::NG builds the address claim from flat attributes
        // (formatted, street_address, ...): the directory carries them so.
        if let Some(serde_json::Value::Object(address)) = u.claims.get("address") {
            for (k, v) in address {
                attributes.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
        let user = ExternalUser { username: u.username.clone(), password: u.password.clone(), attributes };
        directory.accept(&user, None).await;
        router.route(&u.username, &directory.uri());
    }
    directory
}

/// Resolves `--target`: a name, a comma-separated list, or `all`.
fn resolve_targets(spec: &str, fixtures: &Path) -> Result<Vec<String>, String> {
    let known: Vec<String> = targets::catalogue(fixtures).into_iter().map(|e| e.name).collect();
    if spec == "all" {
        return Ok(known);
    }
    let mut names = Vec::new();
    for n in spec.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        if !known.iter().any(|k| k == n) {
            return Err(format!("unknown target {n:?}; known targets: {}", known.join(", ")));
        }
        if !names.iter().any(|x| x == n) {
            names.push(n.to_owned());
        }
    }
    if names.is_empty() {
        return Err("--target names no target".into());
    }
    Ok(names)
}

enum TargetRun {
    Ran { summary: Box<TargetSummary>, junit: Vec<u8>, json: Vec<u8> },
    NotStarted { reason: String, unavailable: bool },
    Interrupted,
}

/// What every target of a run shares.
struct Plan<'a> {
    args: &'a RunArgs,
    /// The remote deployment of `--profile`, if that is the target.
    profile: Option<Arc<targets::profile::Profile>>,
    api_rules: Option<Arc<kensa_mocks::api::Rules>>,
    linkage: Option<Arc<kensa_mocks::sts::rules::Linkage>>,
    aws: world::AwsEndpoints,
    selected: usize,
    /// The selected checks, for their `@needs:` tags.
    checks: Vec<Check>,
    filter: Option<TagOperation>,
    router: Arc<Router>,
    fault: Option<Fault>,
    scrubber: &'a Scrubber,
    interrupt: Interrupt,
}

async fn run_target(name: &str, plan: &Plan<'_>, expected: HashMap<String, String>) -> TargetRun {
    let Plan { args, selected, fault, scrubber, .. } = *plan;
    let filter = plan.filter.clone();
    let interrupt = plan.interrupt.clone();
    let started = Instant::now();
    let fault_note = fault.map(|f| format!(" with fault {f}")).unwrap_or_default();
    kensa::outln!("kensa: starting target {name}{fault_note} ...");
    let opts =
        StartOptions { fixtures: args.fixtures.clone(), fault, external_auth_url: Some(plan.router.url()), port: None };
    let start = async {
        match &plan.profile {
            Some(profile) => reach(profile, scrubber).await,
            None => targets::start(name, &opts, scrubber).await,
        }
    };
    let target = tokio::select! {
        t = start => match t {
            Ok(t) => t,
            Err(e) => {
                let unavailable = matches!(e, targets::TargetError::Unavailable { .. });
                return TargetRun::NotStarted { reason: e.to_string(), unavailable };
            }
        },
        _ = interrupt.clone().wait() => return TargetRun::Interrupted,
    };
    let info = Arc::clone(&target.info);
    let version = info.version.clone().map(|v| format!(" ({v})")).unwrap_or_default();
    let pid = info.pid.map(|p| format!(", pid {p}")).unwrap_or_default();
    kensa::outln!(
        "kensa: target {name}{version} at {} ready in {}{pid}; running {selected} checks",
        info.issuer,
        report::human(started.elapsed()),
    );
    // Baselines: --snapshots DIR wins, then the folder a profile names, then
    // FIXTURES/snapshots; each holds one folder per target.
    let profile_snapshots = plan.profile.as_ref().and_then(|p| p.snapshots.as_ref());
    let (snapshot_root, snapshot_name) = match (&args.snapshots, profile_snapshots) {
        (Some(root), _) => (root.clone(), name.to_owned()),
        (None, Some(dir)) => (
            dir.parent().map(Path::to_path_buf).unwrap_or_default(),
            dir.file_name().map_or_else(|| name.to_owned(), |n| n.to_string_lossy().into_owned()),
        ),
        (None, None) => (args.fixtures.join("snapshots"), name.to_owned()),
    };
    let bless = match (&plan.profile, &args.snapshots) {
        (Some(p), Some(root)) => {
            format!("kensa run --profile {} --snapshots {} --update-snapshots", p.path.display(), root.display())
        }
        (Some(p), None) => format!("kensa run --profile {} --update-snapshots", p.path.display()),
        (None, Some(root)) => format!("kensa run --target {name} --snapshots {} --update-snapshots", root.display()),
        (None, None) => format!("kensa run --target {name} --update-snapshots"),
    };
    let snapshots = Arc::new(Snapshots::new(
        &snapshot_root,
        &snapshot_name,
        Some(&args.report_dir.join("snapshots")),
        if args.update_snapshots { snapshot::Mode::Update } else { snapshot::Mode::Check },
        scrubber.clone(),
    ));
    world::install(Arc::new(RunContext {
        target: Arc::clone(&info),
        scrubber: scrubber.clone(),
        router: Arc::clone(&plan.router),
        snapshots: Arc::clone(&snapshots),
        api_rules: plan.api_rules.clone(),
        bless: bless.clone(),
        linkage: plan.linkage.clone(),
        aws: plan.aws.clone(),
    }));
    // Checks that need a power or a client the target lacks are skipped,
    // with the reason.
    let skipped: Vec<report::CheckResult> = plan
        .checks
        .iter()
        .filter_map(|c| {
            // aws-mock: the check moves the mocks' clock or updates the IAM
            // provider, which only kensa's own STS and storage allow.
            let mut missing = info.lacking(&c.needs);
            missing.retain(|m| *m != "aws-mock" || plan.aws != world::AwsEndpoints::Mock);
            if c.needs.iter().any(|n| n == "aws-mock") && plan.aws != world::AwsEndpoints::Mock {
                return Some(report::CheckResult::skipped(
                    c,
                    "skipped: it moves the mocks' clock or updates the IAM SAML provider, which real AWS does not let kensa do (run it with --aws mock)",
                ));
            }
            let hint = match info.kind {
                targets::Kind::Remote if missing.iter().any(|m| m.starts_with("external-auth")) => {
                    "it needs an IdP that kensa configures to call its mock password API"
                }
                targets::Kind::Remote => "add it to the profile if the deployment has it",
                _ => "its target definition lists the powers it has",
            };
            (!missing.is_empty()).then(|| {
                report::CheckResult::skipped(
                    c,
                    &format!("skipped: target {name} lacks {} ({hint})", missing.join(", ")),
                )
            })
        })
        .collect();
    let skipped_ids: std::collections::HashSet<String> = skipped.iter().map(|r| r.id.clone()).collect();

    let junit = SharedBuf::default();
    let json = SharedBuf::default();
    let exchanges = ExchangeStore::default();
    let (collector, results) = Collector::new(
        scrubber.clone(),
        report::Console::new(!args.quiet, name, selected),
        expected,
        Arc::clone(&exchanges),
    );
    let writer = collector
        .tee::<KensaWorld, _>(writer::JUnit::for_tee(junit.clone(), 0))
        .tee::<KensaWorld, _>(writer::Json::for_tee(json.clone()))
        .normalized::<KensaWorld>();
    let mut cucumber = KensaWorld::cucumber()
        .max_concurrent_scenarios(usize::from(args.concurrency))
        .before(|feature, _, scenario, world| {
            world.scenario = Some(world::ScenarioId::of(feature, scenario));
            Box::pin(async {})
        })
        .after(move |feature, _, scenario, _, world| {
            let store = Arc::clone(&exchanges);
            let key = report::scenario_key(feature, scenario);
            Box::pin(async move {
                let Some(w) = world else { return };
                // A rotation scenario (run @serial) puts the IdP's first
                // signing key back, so that later scenarios and a fault's
                // effect stay confined to it.
                if w.linkage.as_ref().is_some_and(|l| l.rotated)
                    && let Some(rotate) = w.ctx.target.saml.as_ref().and_then(|s| s.rotate.clone())
                    && let Err(e) = rotate.run(&w.api, true).await
                {
                    w.notes.push(format!("the IdP's first signing key could not be put back: {e:#}"));
                }
                // Retire the scenario's external API: forget its expectations
                // (a Then step verified them, or the scenario stopped early)
                // and its routes.
                if let Some(ext) = w.external.take() {
                    ext.api.reset().await;
                    let keys: Vec<&str> = ext.routed.iter().map(String::as_str).collect();
                    w.ctx.router.unroute(&keys);
                }
                // Hand the scenario's exchanges and claim comparisons to the
                // collector for the HTML report and the HAR file.
                let record = report::ScenarioRecord {
                    exchanges: w.http.exchanges(),
                    diffs: std::mem::take(&mut w.diffs),
                    notes: w.notes.iter().map(|n| w.ctx.scrubber.scrub(n)).collect(),
                };
                if let Ok(mut store) = store.lock() {
                    store.insert(key, record);
                }
            })
        })
        .with_writer(writer)
        .with_cli(cucumber::cli::Opts::<_, _, _, cucumber::cli::Empty>::default());
    if args.fail_fast {
        cucumber = cucumber.fail_fast();
    }
    // Step failures reach the reports through cucumber; the default panic
    // hook would print each one a second time, unscrubbed, to stderr.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let run = cucumber.filter_run(args.features.clone(), move |feature, rule, scenario| {
        let tags = || feature.tags.iter().chain(rule.iter().flat_map(|r| r.tags.iter())).chain(scenario.tags.iter());
        let able = !tags().filter_map(|t| t.strip_prefix("check:")).any(|id| skipped_ids.contains(id));
        able && filter.as_ref().is_none_or(|op| cucumber::tag::Ext::eval(op, tags()))
    });
    let mut target = target;
    let mut died = None;
    let interrupted = tokio::select! {
        _ = run => false,
        why = target.died(scrubber) => {
            died = Some(format!("target {name} stopped during the run: {why}"));
            false
        }
        _ = interrupt.wait() => true,
    };
    std::panic::set_hook(hook);
    // A target that crashed on a request fails the checks at once, and can
    // still be exiting when the run ends: after failures, give its exit a
    // moment to show, so the run reports the crash and not only its effects.
    let grace = if results.checks().iter().any(|c| c.verdict == report::Verdict::Fail) { 10 } else { 1 };
    for attempt in 0..grace {
        if died.is_some() {
            break;
        }
        if let Some(why) = target.exited(scrubber) {
            died = Some(format!("target {name} stopped during the run: {why}"));
        } else if attempt + 1 < grace {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    target.stop();
    if interrupted {
        return TargetRun::Interrupted;
    }
    if let Some(why) = &died {
        eprintln!("kensa: error: {why}");
    }
    for e in results.parse_errors() {
        eprintln!("kensa: error: {}", scrubber.scrub(&e));
    }
    let mut checks = results.checks();
    checks.extend(skipped);
    let mut counts = Counts::of(&checks);
    // A selected check that never reported did not run.
    if !args.fail_fast {
        counts.not_run += selected.saturating_sub(checks.len());
    }
    counts.not_run += results.parse_errors().len();
    kensa::outln!("kensa: {name}: {} in {}", counts.line(), report::human(started.elapsed()));
    let tally = snapshots.tally();
    if tally != snapshot::Tally::default() {
        kensa::outln!(
            "kensa: {name}: snapshots in {}: {} matched, {} drifted, {} missing, {} blessed",
            snapshots.dir().display(),
            tally.matched,
            tally.drifted,
            tally.missing,
            tally.blessed
        );
        if tally.drifted + tally.missing > 0 {
            kensa::outln!(
                "kensa: {name}: new snapshots are in {}; bless them with `{bless}`",
                args.report_dir.join("snapshots").join(&snapshot_name).display()
            );
        }
    }
    TargetRun::Ran {
        summary: Box::new(TargetSummary {
            target: name.to_owned(),
            kind: info.kind.to_string(),
            version: info.version.clone(),
            issuer: Some(info.issuer.clone()),
            error: died,
            counts,
            wall_ms: started.elapsed().as_millis(),
            checks,
        }),
        junit: junit.contents(),
        json: json.contents(),
    }
}

/// A remote deployment as a started target, once its discovery document
/// answers for its issuer.
async fn reach(
    profile: &targets::profile::Profile,
    scrubber: &Scrubber,
) -> Result<targets::Started, targets::TargetError> {
    let info = profile.target_info();
    let unreachable = |reason: String| targets::TargetError::Start { target: profile.name.clone(), reason };
    let http =
        kensa::http::HttpClient::with_settings(scrubber.clone(), info.http.clone(), kensa::http::DEFAULT_MAX_BODY)
            .map_err(|e| unreachable(e.to_string()))?;
    kensa::oidc::discovery::Discovery::fetch(&http, &info.issuer).await.map_err(|e| {
        unreachable(format!(
            "issuer {} is unreachable or has no usable discovery document: {e} (check it with `kensa profile check {}`)",
            info.issuer,
            profile.path.display()
        ))
    })?;
    Ok(targets::Started::remote(info))
}

/// Ctrl-C and SIGTERM, listened for from the start of the run so that no
/// target is ever spawned before the handlers are in place.
#[derive(Clone)]
struct Interrupt(tokio::sync::watch::Receiver<bool>);

impl Interrupt {
    fn install() -> std::io::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        let mut int = signal(SignalKind::interrupt())?;
        let mut term = signal(SignalKind::terminate())?;
        let (tx, rx) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
            let _ = tx.send(true);
            // A second signal means the orderly stop is not getting
            // anywhere: kill the targets' process groups and leave now.
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
            eprintln!("kensa: second interrupt: stopping the targets and exiting now");
            targets::process::kill_all_now();
            std::process::exit(130);
        });
        Ok(Self(rx))
    }

    async fn wait(mut self) {
        let _ = self.0.wait_for(|v| *v).await;
    }
}

async fn run(args: RunArgs) -> u8 {
    let started = Instant::now();
    let interrupt = match Interrupt::install() {
        Ok(i) => i,
        Err(e) => return setup_error(format!("cannot listen for Ctrl-C: {e}")),
    };
    let cat = match load_catalogue(&args.features) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let filter = match args.tags.as_deref().map(|t| cat.tag_filter(t)).transpose() {
        Ok(f) => f,
        Err(e) => return setup_error(e),
    };
    let selected: Vec<&Check> = cat.checks.iter().filter(|c| Catalogue::selected(c, filter.as_ref())).collect();
    if selected.is_empty() {
        return setup_error(format!("--tags {:?} selects no check", args.tags.clone().unwrap_or_default()));
    }
    let fault = match args.fault.as_deref().map(str::parse::<Fault>).transpose() {
        Ok(f) => f,
        Err(e) => return setup_error(e),
    };
    let profile = match &args.profile {
        Some(path) => match targets::profile::Profile::load(path, args.issuer.as_deref()) {
            Ok(p) => Some(Arc::new(p)),
            Err(e) => return setup_error(e),
        },
        None => None,
    };
    let names = match &profile {
        Some(p) => vec![p.name.clone()],
        None => match resolve_targets(&args.target, &args.fixtures) {
            Ok(n) => n,
            Err(e) => return setup_error(e),
        },
    };
    if fault.is_some() && names.iter().any(|n| n != "embedded") {
        return setup_error("--fault works only with the embedded target (the reference IdP)");
    }
    if args.update_snapshots && fault.is_some() {
        return setup_error("--update-snapshots with --fault would bless a broken IdP's output; drop one of them");
    }
    if args.update_snapshots && std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false") {
        return setup_error("--update-snapshots is refused in CI (CI is set): bless baselines locally and commit them");
    }
    let mut expected_by_target = HashMap::new();
    for name in &names {
        let path = match &profile {
            Some(p) => p.expected.clone().unwrap_or_default(),
            None => args.fixtures.join("targets").join(name).join("expected.toml"),
        };
        let deviations = match report::load_expected(&path) {
            Ok(d) => d,
            Err(e) => return setup_error(e),
        };
        if let Some(d) = deviations.iter().find(|d| cat.get(&d.check).is_none()) {
            return setup_error(format!("{}: check {} does not exist", path.display(), d.check));
        }
        // Known deviations describe the target as it is, not under a fault.
        let map: HashMap<String, String> = if fault.is_some() {
            HashMap::new()
        } else {
            deviations.into_iter().map(|d| (d.check, d.reason)).collect()
        };
        expected_by_target.insert(name.clone(), map);
    }

    let scrubber = Scrubber::new();
    if let Some(p) = &profile {
        p.register_secrets(&scrubber);
    }
    let (router, _directory) = match external_apis(&args.fixtures).await {
        Ok(started) => started,
        Err(code) => return code,
    };
    // The resource API gateway's rules, for the api-access checks.
    let rules_path = args.fixtures.join("api").join("routes.toml");
    let api_rules = if rules_path.exists() {
        match kensa_mocks::api::Rules::load(&rules_path) {
            Ok(rules) => Some(Arc::new(rules)),
            Err(e) => return setup_error(e),
        }
    } else {
        None
    };
    // The AWS side of the file linkage, for the SAML and file-linkage checks.
    let linkage_path = args.linkage.clone().unwrap_or_else(|| args.fixtures.join("file-linkage.toml"));
    let linkage = if linkage_path.exists() {
        match kensa_mocks::sts::rules::Linkage::load(&linkage_path) {
            Ok(l) => Some(Arc::new(l)),
            Err(e) => return setup_error(e),
        }
    } else if args.linkage.is_some() {
        return setup_error(format!("--linkage {}: no such file", linkage_path.display()));
    } else {
        None
    };
    let aws = match world::AwsEndpoints::parse(&args.aws, linkage.as_deref()) {
        Ok(a) => a,
        Err(e) => return setup_error(format!("--aws {}: {e}", args.aws)),
    };
    let plan = Plan {
        profile,
        api_rules,
        linkage,
        aws,
        args: &args,
        selected: selected.len(),
        checks: selected.iter().map(|c| (*c).clone()).collect(),
        filter: filter.clone(),
        router,
        fault,
        scrubber: &scrubber,
        interrupt: interrupt.clone(),
    };
    let mut summaries = Vec::new();
    let mut junit_parts = Vec::new();
    let mut json_parts = Vec::new();
    let mut not_started = 0;
    let mut blocking_skips = 0;
    for name in &names {
        let expected = expected_by_target.remove(name).unwrap_or_default();
        match run_target(name, &plan, expected).await {
            TargetRun::Ran { summary, junit, json } => {
                if summary.error.is_some() {
                    blocking_skips += 1;
                }
                junit_parts.push((name.clone(), report::junit_with_notes(&junit, &summary.checks)));
                junit_parts.push((name.clone(), report::junit_skipped(&summary.checks)));
                json_parts.push((name.clone(), json));
                summaries.push(*summary);
            }
            TargetRun::NotStarted { reason, unavailable } => {
                let reason = scrubber.scrub(&reason);
                not_started += 1;
                let entry = targets::catalogue(&args.fixtures).into_iter().find(|e| e.name == *name);
                let kind =
                    if plan.profile.is_some() { Some(targets::Kind::Remote) } else { entry.as_ref().map(|e| e.kind) };
                // A target that cannot start here is skipped, with the reason,
                // only when asked; otherwise its checks did not run.
                let (checks, counts) = if unavailable && args.skip_unavailable {
                    eprintln!("kensa: skipped: {reason}");
                    let why = format!("skipped: {reason}");
                    let checks: Vec<report::CheckResult> =
                        plan.checks.iter().map(|c| report::CheckResult::skipped(c, &why)).collect();
                    junit_parts.push((name.clone(), report::junit_skipped(&checks)));
                    let counts = Counts::of(&checks);
                    (checks, counts)
                } else {
                    eprintln!("kensa: error: {reason}");
                    blocking_skips += 1;
                    (Vec::new(), Counts { not_run: selected.len(), ..Counts::default() })
                };
                summaries.push(TargetSummary {
                    target: name.clone(),
                    kind: kind.map(|k| k.to_string()).unwrap_or_default(),
                    version: entry.and_then(|e| e.version),
                    issuer: None,
                    error: Some(reason),
                    counts,
                    wall_ms: 0,
                    checks,
                });
            }
            TargetRun::Interrupted => {
                eprintln!("kensa: interrupted; the target was stopped and no report was written");
                return 130;
            }
        }
    }
    if not_started == names.len() && names.len() == 1 {
        return EXIT_SETUP;
    }

    let counts = summaries.iter().fold(Counts::default(), |acc, t| acc.plus(t.counts));
    let wall = started.elapsed();
    let started_ms = report::time::now_ms().saturating_sub(wall.as_millis());
    let summary = Summary {
        kensa: env!("CARGO_PKG_VERSION"),
        fault: fault.map(|f| f.to_string()),
        tags: args.tags.clone(),
        counts,
        started_ms,
        started_at: report::time::iso8601(started_ms),
        wall_ms: wall.as_millis(),
        targets: summaries,
    };
    let writing = Instant::now();
    let junit = report::merge_junit(&junit_parts);
    let json = report::merge_cucumber_json(&json_parts);
    let written = match report::write_reports(&args.report_dir, &scrubber, &junit, &json, &summary) {
        Ok(w) => w,
        Err(e) => return setup_error(format!("cannot write reports to {}: {e}", args.report_dir.display())),
    };
    let writing = writing.elapsed();
    if names.len() > 1 {
        kensa::outln!("\n{}", report::matrix(&summary.targets));
    }
    let targets_note =
        if names.len() == 1 { format!("target {}", names[0]) } else { format!("{} targets", names.len()) };
    let skipped_note = if not_started > 0 { format!(", {not_started} targets did not start") } else { String::new() };
    let fault_note = fault.map(|f| format!(" with fault {f}")).unwrap_or_default();
    kensa::outln!("kensa: {}{skipped_note} in {} ({targets_note}{fault_note})", counts.line(), report::human(wall));
    if let Some(html) = written.first() {
        let size = std::fs::metadata(html).map(|m| m.len()).unwrap_or(0);
        kensa::outln!(
            "kensa: report: {} ({} KiB; all reports written in {})",
            html.display(),
            size / 1024,
            report::human(writing)
        );
    }
    let others: Vec<String> = written.iter().skip(1).map(|p| p.display().to_string()).collect();
    kensa::outln!("kensa: machine-readable: {}", others.join(", "));
    if not_started == names.len() {
        return EXIT_SETUP;
    }
    if counts.ran() == 0 {
        // Everything selected was skipped: nothing was checked, so nothing passed.
        eprintln!(
            "kensa: no check ran ({} skipped, each with its reason above); a run that checks nothing is not a pass",
            counts.skipped
        );
        return EXIT_FAIL;
    }
    if counts.failed > 0 || counts.not_run > 0 || blocking_skips > 0 { EXIT_FAIL } else { EXIT_PASS }
}
