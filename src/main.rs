//! The `kensa` command: runs the conformance suite, lists checks, targets
//! and faults. See `kensa --help`.
#![forbid(unsafe_code)]

#[path = "../steps/mod.rs"]
mod steps;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use kensa::checks::{Catalogue, FeatureDir};
use kensa::run::{self, EXIT_FAIL, EXIT_PASS, EXIT_SETUP, setup_error};
use kensa::secret::Scrubber;
use kensa::targets::{self, StartOptions};
use kensa_mocks::idp::Fault;

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
    /// Write a starter profile for a deployment, filled in from its
    /// discovery document, and an empty list of its known deviations, in
    /// the current folder (never over existing files).
    Init(InitArgs),
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
    /// Directory of fixtures (realm.toml, keys/, targets/, api/) [default: the built-in fixtures].
    #[arg(long)]
    fixtures: Option<PathBuf>,
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
        /// Do not sign the default user in (by default the check signs in
        /// once through the login page and redeems the code).
        #[arg(long)]
        no_sign_in: bool,
    },
}

#[derive(Args)]
struct ServeArgs {
    /// The target to start (see `kensa targets`).
    target: String,
    /// The loopback port to serve on; 0 picks a free one (the issuer line
    /// says which).
    #[arg(long, default_value_t = 9400)]
    port: u16,
    /// Directory of fixtures (realm.toml, keys/, targets/) [default: the built-in fixtures].
    #[arg(long)]
    fixtures: Option<PathBuf>,
}

#[derive(Args)]
struct InitArgs {
    /// The deployment's issuer URL; its discovery document is read.
    #[arg(long)]
    issuer: String,
    /// The profile's name: it writes NAME.toml and NAME-expected.toml
    /// [default: from the issuer's host and path].
    #[arg(long)]
    name: Option<String>,
    /// The folder to write into.
    #[arg(long, default_value = ".")]
    dir: PathBuf,
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
    /// Directory of fixtures (realm.toml, keys/, targets/) [default: the built-in fixtures].
    #[arg(long)]
    fixtures: Option<PathBuf>,
}

#[derive(Args)]
struct DirArgs {
    /// Directory of fixtures (realm.toml, keys/, targets/) [default: the built-in fixtures].
    #[arg(long)]
    fixtures: Option<PathBuf>,
}

#[derive(Args)]
struct ChecksArgs {
    /// Directory of .feature files, instead of the built-in checks.
    #[arg(long)]
    features: Option<PathBuf>,
    /// Directory of .feature files whose checks are added beside the
    /// built-in ones (or beside --features); repeatable. Their steps are
    /// kensa's steps, and a check id may appear only once in all of them.
    #[arg(long = "add-features", value_name = "DIR")]
    add_features: Vec<PathBuf>,
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
    /// Start the reference IdP with this fault (see `kensa faults`); `all`,
    /// or a comma-separated list, runs the fault matrix: the reference IdP
    /// without a fault and once per fault, each instance judged against the
    /// checks its `@fault:` tags name.
    #[arg(long)]
    fault: Option<String>,
    /// With the fault matrix: reference IdP instances run at once.
    #[arg(long, default_value_t = 12, value_parser = clap::value_parser!(u16).range(1..=64))]
    instances: u16,
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
    /// Directory of .feature files, instead of the built-in checks.
    #[arg(long)]
    features: Option<PathBuf>,
    /// Directory of .feature files whose checks are added beside the
    /// built-in ones (or beside --features); repeatable. Their steps are
    /// kensa's steps, and a check id may appear only once in all of them.
    #[arg(long = "add-features", value_name = "DIR")]
    add_features: Vec<PathBuf>,
    /// Directory of fixtures (realm.toml, keys/) [default: the built-in fixtures].
    #[arg(long)]
    fixtures: Option<PathBuf>,
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
        Command::Init(args) => init_blocking(&args),
    };
    ExitCode::from(code)
}

/// The fixtures folder: `--fixtures DIR`, else the built-in fixtures.
fn fixtures_dir(given: Option<&PathBuf>) -> Result<PathBuf, u8> {
    match given {
        Some(dir) => Ok(dir.clone()),
        None => kensa::builtin::fixtures().map_err(setup_error),
    }
}

/// The feature folders: `--features DIR` or the built-in checks, then every
/// `--add-features DIR`.
fn feature_dirs(features: Option<&PathBuf>, added: &[PathBuf]) -> Result<Vec<FeatureDir>, u8> {
    let base = match features {
        Some(dir) => FeatureDir::given(dir),
        None => FeatureDir { path: kensa::builtin::features().map_err(setup_error)?, shown: PathBuf::from("features") },
    };
    Ok(std::iter::once(base).chain(added.iter().map(|d| FeatureDir::given(d))).collect())
}

fn load_catalogue(args: &ChecksArgs) -> Result<Catalogue, u8> {
    let dirs = feature_dirs(args.features.as_ref(), &args.add_features)?;
    run::load_catalogue(&dirs).map_err(setup_error)
}

fn list_checks(args: &ChecksArgs) -> u8 {
    let cat = match load_catalogue(args) {
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
    let cat = match load_catalogue(args) {
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
    let fixtures = match fixtures_dir(args.fixtures.as_ref()) {
        Ok(f) => f,
        Err(code) => return code,
    };
    for e in targets::catalogue(&fixtures) {
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
    let fixtures = match fixtures_dir(args.fixtures.as_ref()) {
        Ok(f) => f,
        Err(code) => return code,
    };
    let entries = targets::catalogue(&fixtures);
    let names: Vec<String> = if args.targets.iter().any(|t| t == "all") {
        entries.iter().filter(|e| e.kind == targets::Kind::Process).map(|e| e.name.clone()).collect()
    } else {
        args.targets.clone()
    };
    let scrubber = Scrubber::new();
    for name in &names {
        match rt.block_on(targets::setup(name, &fixtures, &scrubber)) {
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
    let fixtures = match fixtures_dir(args.fixtures.as_ref()) {
        Ok(f) => f,
        Err(code) => return code,
    };
    let rules_path = fixtures.join("api").join("routes.toml");
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
    let (router, _directory) = match run::external::start(&fixtures).await {
        Ok(started) => started,
        Err(e) => return setup_error(e),
    };
    let opts =
        StartOptions { fixtures: fixtures.clone(), fault: None, external_auth_url: Some(router.url()), port: None };
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
    let ProfileAction::Check { path, issuer, offline, no_sign_in } = &args.action;
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
    let found = rt.block_on(targets::profile::check_live(&profile, &scrubber, !no_sign_in));
    for line in &found.lines {
        kensa::outln!("kensa:   {}", scrubber.scrub(line));
    }
    if found.failed {
        kensa::outln!("kensa: profile {}: the deployment does not answer as the profile says", path.display());
        EXIT_FAIL
    } else {
        let issuer = issuer.as_deref().map(|i| format!(" --issuer {i}")).unwrap_or_default();
        kensa::outln!(
            "kensa: profile {}: the deployment answers; run it with `kensa run --profile {}{issuer}`",
            path.display(),
            path.display()
        );
        EXIT_PASS
    }
}

fn init_blocking(args: &InitArgs) -> u8 {
    let plan = match targets::starter::plan(&args.issuer, args.name.as_deref(), &args.dir) {
        Ok(p) => p,
        Err(e) => return setup_error(e),
    };
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    kensa::outln!("kensa: reading {}'s discovery document ...", args.issuer);
    let found = rt.block_on(targets::starter::explore(&args.issuer));
    match targets::starter::write(&plan, &args.issuer, &found) {
        Ok(lines) => {
            for line in lines {
                kensa::outln!("kensa: {line}");
            }
            EXIT_PASS
        }
        Err(e) => setup_error(e),
    }
}

fn serve_blocking(args: &ServeArgs) -> u8 {
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    rt.block_on(async {
        let interrupt = match run::Interrupt::install() {
            Ok(i) => i,
            Err(e) => return setup_error(format!("cannot listen for Ctrl-C: {e}")),
        };
        let fixtures = match fixtures_dir(args.fixtures.as_ref()) {
            Ok(f) => f,
            Err(code) => return code,
        };
        let (router, _directory) = match run::external::start(&fixtures).await {
            Ok(started) => started,
            Err(e) => return setup_error(e),
        };
        let opts = StartOptions {
            fixtures: fixtures.clone(),
            fault: None,
            external_auth_url: Some(router.url()),
            // 0: a free port of kensa's choosing (retried if it is taken).
            port: (args.port != 0).then_some(args.port),
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
    let features = match feature_dirs(args.features.as_ref(), &args.add_features) {
        Ok(f) => f,
        Err(code) => return code,
    };
    let fixtures = match fixtures_dir(args.fixtures.as_ref()) {
        Ok(f) => f,
        Err(code) => return code,
    };
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    rt.block_on(run::run(run::Options {
        target: args.target,
        profile: args.profile,
        issuer: args.issuer,
        fault: args.fault,
        tags: args.tags,
        fail_fast: args.fail_fast,
        concurrency: args.concurrency,
        instances: args.instances,
        report_dir: args.report_dir,
        features,
        fixtures,
        quiet: args.quiet,
        skip_unavailable: args.skip_unavailable,
        snapshots: args.snapshots,
        aws: args.aws,
        linkage: args.linkage,
        update_snapshots: args.update_snapshots,
    }))
}
