//! A run of the checks: the engine behind `kensa run`.
//!
//! A run goes through these phases, each in its own part:
//!
//! 1. [`Options`] are resolved into a plan ([`run`]): the catalogue and the
//!    tag filter select the checks, the targets (or a profile) are named,
//!    known deviations are loaded, the shared services start ([`external`]:
//!    the router the reference IdP sends password checks through), and the
//!    resource API rules and the file linkage are read from the fixtures.
//! 2. Each target runs ([`target`]): it starts, checks whose `@needs:` it
//!    lacks are skipped with the reason, cucumber runs the scenarios inside
//!    a [`crate::world::scope`] of the target's context, the collector turns
//!    events into results, and the target stops.
//! 3. The summary and the reports are written, and the exit code follows
//!    from the counts.
//!
//! With `--fault all` (or a list of faults) the run is the fault matrix
//! ([`matrix`]): one reference IdP per fault, several at a time in this
//! process, each judged against the checks its `@fault:` tags name.
//!
//! [`interrupt`] stops any of it on Ctrl-C, stopping the targets first.

pub mod external;
pub mod interrupt;
pub mod matrix;
mod target;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use cucumber::gherkin::tagexpr::TagOperation;
use kensa_mocks::external::Router;

use crate::checks::{Catalogue, Check, FeatureDir};
use crate::report::{self, Counts, Summary, TargetSummary};
use crate::secret::Scrubber;
use crate::targets;
use crate::world;
pub use interrupt::Interrupt;
use target::{Instance, TargetRun};

/// Exit code: every selected check passed.
pub const EXIT_PASS: u8 = 0;
/// Exit code: a check failed or did not run.
pub const EXIT_FAIL: u8 = 1;
/// Exit code: usage or setup error; nothing was judged.
pub const EXIT_SETUP: u8 = 2;
/// Exit code: interrupted by a signal.
pub const EXIT_INTERRUPTED: u8 = 130;

/// Prints `kensa: error: MSG` and returns [`EXIT_SETUP`].
pub fn setup_error(msg: impl std::fmt::Display) -> u8 {
    eprintln!("kensa: error: {msg}");
    EXIT_SETUP
}

/// What `kensa run` was asked for (see `kensa run --help`).
#[derive(Debug, Clone)]
pub struct Options {
    /// A target name, a comma-separated list, or `all`.
    pub target: String,
    /// A remote deployment's profile, instead of `target`.
    pub profile: Option<PathBuf>,
    /// With `profile`: this issuer instead of the profile's.
    pub issuer: Option<String>,
    /// A fault of the reference IdP; `all` or a comma-separated list runs
    /// the fault matrix.
    pub fault: Option<String>,
    /// Tag expression selecting checks.
    pub tags: Option<String>,
    /// Stop at the first failing check.
    pub fail_fast: bool,
    /// Scenarios run at once, per target.
    pub concurrency: u16,
    /// Fault instances run at once (the fault matrix).
    pub instances: u16,
    /// Where reports are written.
    pub report_dir: PathBuf,
    /// Folders of .feature files (the built-in checks, or the user's, and
    /// any added beside them).
    pub features: Vec<FeatureDir>,
    /// Directory of fixtures (the built-in ones unpacked, or the user's).
    pub fixtures: PathBuf,
    /// Only the summary, no line per check.
    pub quiet: bool,
    /// A target that cannot start here is skipped, not failed.
    pub skip_unavailable: bool,
    /// Directory of per-target snapshot baselines.
    pub snapshots: Option<PathBuf>,
    /// `mock`, `aws` or `sts=URL,s3=URL`.
    pub aws: String,
    /// The AWS side of the file linkage.
    pub linkage: Option<PathBuf>,
    /// Bless the snapshots of this run.
    pub update_snapshots: bool,
}

/// What every target of a run shares.
pub(crate) struct Plan {
    pub opts: Options,
    /// The remote deployment of `--profile`, if that is the target.
    pub profile: Option<Arc<targets::profile::Profile>>,
    pub api_rules: Option<Arc<kensa_mocks::api::Rules>>,
    pub linkage: Option<Arc<kensa_mocks::sts::rules::Linkage>>,
    pub aws: world::AwsEndpoints,
    /// The selected checks, for their `@needs:` tags.
    pub checks: Vec<Check>,
    pub filter: Option<TagOperation>,
    pub router: Arc<Router>,
    /// The realm's users for targets that delegate password checks; the
    /// fault matrix gives each instance a router of its own to it.
    pub directory: external::Directory,
    pub interrupt: Interrupt,
    /// Whether this plan is the fault matrix.
    pub matrix: bool,
}

/// The check catalogue of the feature folders.
///
/// # Errors
/// When a folder is missing or a feature file is malformed; the message
/// says which and how to fix it.
pub fn load_catalogue(features: &[FeatureDir]) -> Result<Catalogue, String> {
    if let Some(missing) = features.iter().find(|d| !d.path.is_dir()) {
        return Err(format!(
            "features directory {} not found: pass a folder of .feature files (kensa's own checks are built in: drop --features to use them)",
            missing.shown.display()
        ));
    }
    Catalogue::load_dirs(features).map_err(|e| e.to_string())
}

/// Runs the checks as `opts` says, writes the reports, and returns the
/// exit code. Errors are printed.
pub async fn run(opts: Options) -> u8 {
    let interrupt = match Interrupt::install() {
        Ok(i) => i,
        Err(e) => return setup_error(format!("cannot listen for Ctrl-C: {e}")),
    };
    run_with(opts, interrupt).await
}

/// While held, panics print nothing: step failures reach the reports
/// through cucumber, and the default hook would print each one a second
/// time, unscrubbed, to stderr. Runs of several targets at once (the fault
/// matrix) each hold one; the hook comes back when the last is dropped.
pub(crate) struct QuietPanics(());

type PanicHook = dyn Fn(&std::panic::PanicHookInfo<'_>) + Sync + Send + 'static;

static QUIET_PANICS: std::sync::Mutex<(usize, Option<Box<PanicHook>>)> = std::sync::Mutex::new((0, None));

impl QuietPanics {
    pub(crate) fn hold() -> Self {
        let mut state = QUIET_PANICS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if state.0 == 0 {
            state.1 = Some(std::panic::take_hook());
            std::panic::set_hook(Box::new(|_| {}));
        }
        state.0 += 1;
        Self(())
    }
}

impl Drop for QuietPanics {
    fn drop(&mut self) {
        let mut state = QUIET_PANICS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        state.0 = state.0.saturating_sub(1);
        if state.0 == 0
            && let Some(hook) = state.1.take()
        {
            std::panic::set_hook(hook);
        }
    }
}

/// Parses `--fault`: none, one fault, or the matrix (`all`, or a list).
enum FaultChoice {
    None,
    One(kensa_mocks::idp::Fault),
    Matrix(Vec<kensa_mocks::idp::Fault>),
}

fn fault_choice(value: Option<&str>) -> Result<FaultChoice, String> {
    use kensa_mocks::idp::Fault;
    let Some(value) = value else { return Ok(FaultChoice::None) };
    if value == "all" {
        return Ok(FaultChoice::Matrix(Fault::ALL.to_vec()));
    }
    let faults = value
        .split(',')
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .map(str::parse::<Fault>)
        .collect::<Result<Vec<_>, _>>();
    match faults.map_err(|e| e.to_string())? {
        v if v.is_empty() => Err("--fault names no fault (see `kensa faults`)".into()),
        v if v.len() == 1 => Ok(FaultChoice::One(v[0])),
        v => Ok(FaultChoice::Matrix(v)),
    }
}

async fn run_with(opts: Options, interrupt: Interrupt) -> u8 {
    let started = Instant::now();
    let cat = match load_catalogue(&opts.features) {
        Ok(c) => c,
        Err(e) => return setup_error(e),
    };
    let filter = match opts.tags.as_deref().map(|t| cat.tag_filter(t)).transpose() {
        Ok(f) => f,
        Err(e) => return setup_error(e),
    };
    let selected: Vec<&Check> = cat.checks.iter().filter(|c| Catalogue::selected(c, filter.as_ref())).collect();
    if selected.is_empty() {
        return setup_error(format!("--tags {:?} selects no check", opts.tags.clone().unwrap_or_default()));
    }
    let choice = match fault_choice(opts.fault.as_deref()) {
        Ok(f) => f,
        Err(e) => return setup_error(e),
    };
    let profile = match &opts.profile {
        Some(path) => match targets::profile::Profile::load(path, opts.issuer.as_deref()) {
            Ok(p) => Some(Arc::new(p)),
            Err(e) => return setup_error(e),
        },
        None => None,
    };
    let names = match &profile {
        Some(p) => vec![p.name.clone()],
        None => match resolve_targets(&opts.target, &opts.fixtures) {
            Ok(n) => n,
            Err(e) => return setup_error(e),
        },
    };
    let faulty = !matches!(choice, FaultChoice::None);
    if faulty && names.iter().any(|n| n != "embedded") {
        return setup_error("--fault works only with the embedded target (the reference IdP)");
    }
    if let FaultChoice::Matrix(_) = choice {
        // Every selected check must run in every instance: a stop at the
        // first failure, or checks skipped for real AWS, would read as
        // checks the faults broke.
        if opts.fail_fast {
            return setup_error("--fail-fast stops at the first failure; the fault matrix needs every check's verdict");
        }
        if opts.aws != "mock" {
            return setup_error(
                "the fault matrix runs the file linkage against kensa's own STS and storage; drop --aws",
            );
        }
    }
    if opts.update_snapshots && faulty {
        return setup_error("--update-snapshots with --fault would bless a broken IdP's output; drop one of them");
    }
    if opts.update_snapshots
        && opts.snapshots.is_none()
        && profile.is_none()
        && opts.fixtures.starts_with(crate::builtin::home())
    {
        return setup_error(
            "--update-snapshots would write into kensa's built-in baselines, which are read-only: pass --snapshots DIR (in kensa's own checkout: --fixtures fixtures)",
        );
    }
    if opts.update_snapshots && std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false") {
        return setup_error("--update-snapshots is refused in CI (CI is set): bless baselines locally and commit them");
    }
    let mut expected_by_target = HashMap::new();
    for name in &names {
        let path = match &profile {
            Some(p) => p.expected.clone().unwrap_or_default(),
            None => opts.fixtures.join("targets").join(name).join("expected.toml"),
        };
        let deviations = match targets::expected::load_expected(&path) {
            Ok(d) => d,
            Err(e) => return setup_error(e),
        };
        if let Some(d) = deviations.iter().find(|d| cat.get(&d.check).is_none()) {
            return setup_error(format!("{}: check {} does not exist", path.display(), d.check));
        }
        // Known deviations describe the target as it is, not under a fault.
        let map: HashMap<String, String> =
            if faulty { HashMap::new() } else { deviations.into_iter().map(|d| (d.check, d.reason)).collect() };
        expected_by_target.insert(name.clone(), map);
    }

    let scrubber = Scrubber::new();
    if let Some(p) = &profile {
        p.register_secrets(&scrubber);
    }
    let (router, directory) = match external::start(&opts.fixtures).await {
        Ok(started) => started,
        Err(e) => return setup_error(e),
    };
    // The resource API gateway's rules, for the api-access checks.
    let rules_path = opts.fixtures.join("api").join("routes.toml");
    let api_rules = if rules_path.exists() {
        match kensa_mocks::api::Rules::load(&rules_path) {
            Ok(rules) => Some(Arc::new(rules)),
            Err(e) => return setup_error(e),
        }
    } else {
        None
    };
    // The AWS side of the file linkage, for the SAML and file-linkage checks.
    let linkage_path = opts.linkage.clone().unwrap_or_else(|| opts.fixtures.join("file-linkage.toml"));
    let linkage = if linkage_path.exists() {
        match kensa_mocks::sts::rules::Linkage::load(&linkage_path) {
            Ok(l) => Some(Arc::new(l)),
            Err(e) => return setup_error(e),
        }
    } else if opts.linkage.is_some() {
        return setup_error(format!("--linkage {}: no such file", linkage_path.display()));
    } else {
        None
    };
    let aws = match world::AwsEndpoints::parse(&opts.aws, linkage.as_deref()) {
        Ok(a) => a,
        Err(e) => return setup_error(format!("--aws {}: {e}", opts.aws)),
    };
    let plan = Plan {
        profile,
        api_rules,
        linkage,
        aws,
        checks: selected.iter().map(|c| (*c).clone()).collect(),
        filter: filter.clone(),
        router,
        directory,
        interrupt,
        matrix: matches!(choice, FaultChoice::Matrix(_)),
        opts,
    };
    match choice {
        FaultChoice::Matrix(faults) => matrix::run(Arc::new(plan), &cat, &faults, &scrubber, started).await,
        FaultChoice::One(f) => run_targets(&plan, &names, Some(f), expected_by_target, &scrubber, started).await,
        FaultChoice::None => run_targets(&plan, &names, None, expected_by_target, &scrubber, started).await,
    }
}

/// Runs each named target in turn, writes the reports, and returns the exit
/// code.
async fn run_targets(
    plan: &Plan,
    names: &[String],
    fault: Option<kensa_mocks::idp::Fault>,
    mut expected_by_target: HashMap<String, HashMap<String, String>>,
    scrubber: &Scrubber,
    started: Instant,
) -> u8 {
    let opts = &plan.opts;
    let selected = plan.checks.len();
    let mut summaries = Vec::new();
    let mut junit_parts = Vec::new();
    let mut json_parts = Vec::new();
    let mut not_started = 0;
    let mut blocking_skips = 0;
    for name in names {
        let expected = expected_by_target.remove(name).unwrap_or_default();
        let inst = Instance { name: name.clone(), fault, expected, scrubber: scrubber.clone() };
        match target::run_target(plan, inst).await {
            TargetRun::Ran { summary, junit, json } => {
                if summary.error.is_some() {
                    blocking_skips += 1;
                }
                junit_parts.push((name.clone(), report::junit_with_notes(&junit, &summary.checks)));
                junit_parts.push((name.clone(), report::junit_skipped(&summary.checks)));
                json_parts.push((name.clone(), report::cucumber_json_with_skips(&json, &summary.checks)));
                summaries.push(*summary);
            }
            TargetRun::NotStarted { reason, unavailable } => {
                let reason = scrubber.scrub(&reason);
                not_started += 1;
                let entry = targets::catalogue(&opts.fixtures).into_iter().find(|e| e.name == *name);
                let kind =
                    if plan.profile.is_some() { Some(targets::Kind::Remote) } else { entry.as_ref().map(|e| e.kind) };
                // A target that cannot start here is skipped, with the reason,
                // only when asked; otherwise its checks did not run.
                let (checks, counts) = if unavailable && opts.skip_unavailable {
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
                    (Vec::new(), Counts { not_run: selected, ..Counts::default() })
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
                    fault: None,
                });
            }
            TargetRun::Interrupted => {
                eprintln!("kensa: interrupted; the target was stopped and no report was written");
                return EXIT_INTERRUPTED;
            }
        }
    }
    if not_started == names.len() && names.len() == 1 {
        return EXIT_SETUP;
    }

    let counts = summaries.iter().fold(Counts::default(), |acc, t| acc.plus(t.counts));
    let summary = summary_of(opts, fault.map(|f| f.to_string()), counts, started, summaries);
    let writing = Instant::now();
    let junit = report::merge_junit(&junit_parts);
    let json = report::merge_cucumber_json(&json_parts);
    let written = match report::write_reports(&opts.report_dir, scrubber, &junit, &json, &summary) {
        Ok(w) => w,
        Err(e) => return setup_error(format!("cannot write reports to {}: {e}", opts.report_dir.display())),
    };
    let writing = writing.elapsed();
    if names.len() > 1 {
        crate::outln!("\n{}", report::matrix(&summary.targets));
    }
    let targets_note =
        if names.len() == 1 { format!("target {}", names[0]) } else { format!("{} targets", names.len()) };
    let skipped_note = if not_started > 0 { format!(", {not_started} targets did not start") } else { String::new() };
    let fault_note = fault.map(|f| format!(" with fault {f}")).unwrap_or_default();
    crate::outln!(
        "kensa: {}{skipped_note} in {} ({targets_note}{fault_note})",
        counts.line(),
        report::human(started.elapsed())
    );
    if let Some(html) = written.first() {
        let size = std::fs::metadata(html).map(|m| m.len()).unwrap_or(0);
        crate::outln!(
            "kensa: report: {} ({} KiB; all reports written in {})",
            html.display(),
            size / 1024,
            report::human(writing)
        );
    }
    let others: Vec<String> = written.iter().skip(1).map(|p| p.display().to_string()).collect();
    crate::outln!("kensa: machine-readable: {}", others.join(", "));
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

/// The summary of a run that started at `started`.
fn summary_of(
    opts: &Options,
    fault: Option<String>,
    counts: Counts,
    started: Instant,
    targets: Vec<TargetSummary>,
) -> Summary {
    let wall = started.elapsed();
    let started_ms = report::time::now_ms().saturating_sub(wall.as_millis());
    Summary {
        kensa: env!("CARGO_PKG_VERSION"),
        fault,
        tags: opts.tags.clone(),
        counts,
        started_ms,
        started_at: report::time::iso8601(started_ms),
        wall_ms: wall.as_millis(),
        targets,
    }
}

/// Resolves `--target`: a name, a comma-separated list, or `all`.
fn resolve_targets(spec: &str, fixtures: &std::path::Path) -> Result<Vec<String>, String> {
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

/// A remote deployment as a started target, once its discovery document
/// answers for its issuer.
async fn reach(
    profile: &targets::profile::Profile,
    scrubber: &Scrubber,
) -> Result<targets::Started, targets::TargetError> {
    let info = profile.target_info();
    let unreachable = |reason: String| targets::TargetError::Start { target: profile.name.clone(), reason };
    let http =
        crate::http::HttpClient::with_settings(scrubber.clone(), info.http.clone(), crate::http::DEFAULT_MAX_BODY)
            .map_err(|e| unreachable(e.to_string()))?;
    crate::oidc::discovery::Discovery::fetch(&http, &info.issuer).await.map_err(|e| {
        unreachable(format!(
            "issuer {} is unreachable or has no usable discovery document: {e} (check it with `kensa profile check {}`)",
            info.issuer,
            profile.path.display()
        ))
    })?;
    Ok(targets::Started::remote(info))
}
