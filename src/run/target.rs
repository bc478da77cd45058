//! One target's run: start it, skip what it cannot do, run the scenarios
//! through cucumber with the collector, stop it, count.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cucumber::{World as _, WriterExt as _, writer};
use kensa_mocks::idp::Fault;

use super::Plan;
use crate::report::{self, Collector, Counts, ExchangeStore, SharedBuf, TargetSummary};
use crate::secret::Scrubber;
use crate::snapshot::{self, Snapshots};
use crate::targets::{self, StartOptions};
use crate::world::{self, KensaWorld, RunContext};

/// How one target ended.
pub(crate) enum TargetRun {
    /// It ran: its summary and its JUnit and Cucumber JSON parts.
    Ran { summary: Box<TargetSummary>, junit: Vec<u8>, json: Vec<u8> },
    /// It did not start.
    NotStarted { reason: String, unavailable: bool },
    /// A signal stopped the run.
    Interrupted,
}

/// What differs between the targets (or fault instances) of one plan.
pub(crate) struct Instance {
    /// The target's name.
    pub name: String,
    /// The fault the reference IdP runs with.
    pub fault: Option<Fault>,
    /// Known deviations: check id to reason.
    pub expected: HashMap<String, String>,
    /// The scrubber of this instance's tokens (and the plan's secrets).
    pub scrubber: Scrubber,
}

/// Where a target's baselines live and the command that blesses them:
/// `--snapshots DIR` wins, then the folder a profile names, then, for a
/// profile, `snapshots/` beside the profile file, and for kensa's own
/// targets FIXTURES/snapshots; each holds one folder per target.
fn snapshot_place(plan: &Plan, name: &str) -> (std::path::PathBuf, String, String) {
    let opts = &plan.opts;
    let profile_snapshots = plan.profile.as_ref().and_then(|p| p.snapshots.as_ref());
    let (root, folder) = match (&opts.snapshots, profile_snapshots) {
        (Some(root), _) => (root.clone(), name.to_owned()),
        (None, Some(dir)) => (
            dir.parent().map(Path::to_path_buf).unwrap_or_default(),
            dir.file_name().map_or_else(|| name.to_owned(), |n| n.to_string_lossy().into_owned()),
        ),
        (None, None) => match &plan.profile {
            Some(p) => (p.path.parent().map(Path::to_path_buf).unwrap_or_default().join("snapshots"), name.to_owned()),
            None => (opts.fixtures.join("snapshots"), name.to_owned()),
        },
    };
    // The command reproduces what chose the target and its baselines.
    let issuer = opts.issuer.as_deref().map(|i| format!(" --issuer {i}")).unwrap_or_default();
    let fixtures = if opts.fixtures.starts_with(crate::builtin::home()) {
        String::new()
    } else {
        format!(" --fixtures {}", opts.fixtures.display())
    };
    let bless = match (&plan.profile, &opts.snapshots) {
        (Some(p), Some(root)) => format!(
            "kensa run --profile {}{issuer} --snapshots {} --update-snapshots",
            p.path.display(),
            root.display()
        ),
        (Some(p), None) => format!("kensa run --profile {}{issuer} --update-snapshots", p.path.display()),
        (None, Some(root)) => {
            format!("kensa run --target {name}{fixtures} --snapshots {} --update-snapshots", root.display())
        }
        (None, None) if fixtures.is_empty() => format!(
            "kensa run --target {name} --snapshots DIR --update-snapshots (the built-in baselines are read-only; in kensa's checkout: --fixtures fixtures)"
        ),
        (None, None) => format!("kensa run --target {name}{fixtures} --update-snapshots"),
    };
    (root, folder, bless)
}

/// Checks that need a power or a client the target lacks, as skipped
/// results with the reason.
fn plan_skips(plan: &Plan, info: &targets::TargetInfo, name: &str) -> Vec<report::CheckResult> {
    plan.checks
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
                report::CheckResult::skipped(c, &format!("skipped: target {name} lacks {} ({hint})", missing.join(", ")))
            })
        })
        .collect()
}

/// Whether cucumber runs a scenario alone: tagged `@serial` (on it, its
/// rule or its feature), or tagged `@moves-clock` against a target whose
/// clock kensa moves (against other targets such a scenario really waits,
/// beside the others).
fn runs_alone(
    feature: &cucumber::gherkin::Feature,
    rule: Option<&cucumber::gherkin::Rule>,
    scenario: &cucumber::gherkin::Scenario,
    movable_clock: bool,
) -> bool {
    feature
        .tags
        .iter()
        .chain(rule.iter().flat_map(|r| r.tags.iter()))
        .chain(scenario.tags.iter())
        .any(|t| t == "serial" || (movable_clock && t == "moves-clock"))
}

/// Runs the plan's checks against one target (or one fault instance of the
/// reference IdP).
pub(crate) async fn run_target(plan: &Plan, inst: Instance) -> TargetRun {
    let Instance { name, fault, expected, scrubber } = inst;
    // A fault matrix's instances report as a whole: no line per check, no
    // exchanges kept, no pending snapshots.
    let console = !plan.matrix;
    let (name, scrubber) = (name.as_str(), &scrubber);
    let opts = &plan.opts;
    let selected = plan.checks.len();
    let started = Instant::now();
    let fault_note = fault.map(|f| format!(" with fault {f}")).unwrap_or_default();
    if console {
        crate::outln!("kensa: starting target {name}{fault_note} ...");
    }
    // Fault instances run at once: each routes its scenarios' users on its
    // own router (scenarios route fixed user ids).
    let router = if plan.matrix {
        match plan.directory.router().await {
            Ok(r) => r,
            Err(reason) => return TargetRun::NotStarted { reason, unavailable: false },
        }
    } else {
        Arc::clone(&plan.router)
    };
    let start_opts =
        StartOptions { fixtures: opts.fixtures.clone(), fault, external_auth_url: Some(router.url()), port: None };
    let start = async {
        match &plan.profile {
            Some(profile) => super::reach(profile, scrubber).await,
            None => targets::start(name, &start_opts, scrubber).await,
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
        () = plan.interrupt.clone().wait() => return TargetRun::Interrupted,
    };
    let info = Arc::clone(&target.info);
    if console {
        let version = info.version.clone().map(|v| format!(" ({v})")).unwrap_or_default();
        let pid = info.pid.map(|p| format!(", pid {p}")).unwrap_or_default();
        crate::outln!(
            "kensa: target {name}{version} at {} ready in {}{pid}; running {selected} checks",
            info.issuer,
            report::human(started.elapsed()),
        );
    }
    let (snapshot_root, snapshot_name, bless) = snapshot_place(plan, name);
    // A fault instance writes no pending snapshots: its drift is the
    // fault's effect, and many instances share the report directory.
    // Named after the target, not the baselines' folder (a profile's
    // `snapshots = "snapshots"` would otherwise give snapshots/snapshots).
    let pending = opts.report_dir.join("snapshots").join(name);
    let snapshots = Arc::new(Snapshots::new(
        &snapshot_root,
        &snapshot_name,
        console.then_some(pending.as_path()),
        if opts.update_snapshots { snapshot::Mode::Update } else { snapshot::Mode::Check },
        scrubber.clone(),
    ));
    let ctx = Arc::new(RunContext {
        target: Arc::clone(&info),
        scrubber: scrubber.clone(),
        router: Arc::clone(&router),
        snapshots: Arc::clone(&snapshots),
        api_rules: plan.api_rules.clone(),
        bless: bless.clone(),
        linkage: plan.linkage.clone(),
        aws: plan.aws.clone(),
    });
    let skipped = plan_skips(plan, &info, name);
    let skipped_ids: HashSet<String> = skipped.iter().map(|r| r.id.clone()).collect();

    let junit = SharedBuf::default();
    let json = SharedBuf::default();
    let exchanges = ExchangeStore::default();
    let console_writer =
        if console { report::Console::new(!opts.quiet, name, selected) } else { report::Console::silent() };
    let (collector, results) = Collector::new(scrubber.clone(), console_writer, expected, Arc::clone(&exchanges));
    let writer = collector
        .tee::<KensaWorld, _>(writer::JUnit::for_tee(junit.clone(), 0))
        .tee::<KensaWorld, _>(writer::Json::for_tee(json.clone()))
        .normalized::<KensaWorld>();
    let movable_clock = info.clock.is_some();
    let keep_exchanges = console;
    let mut cucumber = KensaWorld::cucumber::<std::path::PathBuf>()
        .with_parser(crate::checks::Sources)
        .max_concurrent_scenarios(usize::from(opts.concurrency))
        .which_scenario(move |feature, rule, scenario| {
            if runs_alone(feature, rule, scenario, movable_clock) {
                cucumber::ScenarioType::Serial
            } else {
                cucumber::ScenarioType::Concurrent
            }
        })
        .before(move |feature, rule, scenario, world| {
            world.scenario = Some(world::ScenarioId::of(feature, scenario));
            world.serial = runs_alone(feature, rule, scenario, movable_clock);
            Box::pin(async {})
        })
        .after(move |feature, _, scenario, _, world| {
            let store = Arc::clone(&exchanges);
            let key = report::scenario_key(feature, scenario);
            Box::pin(async move {
                let Some(w) = world else { return };
                let record = w.teardown(keep_exchanges).await;
                if let Ok(mut store) = store.lock() {
                    store.insert(key, record);
                }
            })
        })
        .with_writer(writer)
        .with_cli(cucumber::cli::Opts::<_, _, _, cucumber::cli::Empty>::default());
    if opts.fail_fast {
        cucumber = cucumber.fail_fast();
    }
    let filter = plan.filter.clone();
    let run = cucumber.filter_run(opts.features.clone(), move |feature, rule, scenario| {
        let tags = || feature.tags.iter().chain(rule.iter().flat_map(|r| r.tags.iter())).chain(scenario.tags.iter());
        let able = !tags().filter_map(|t| t.strip_prefix("check:")).any(|id| skipped_ids.contains(id));
        able && filter.as_ref().is_none_or(|op| cucumber::tag::Ext::eval(op, tags()))
    });
    let run = world::scope(ctx, run);
    let mut target = target;
    let mut died = None;
    let quiet = super::QuietPanics::hold();
    let interrupted = tokio::select! {
        _ = run => false,
        why = target.died(scrubber) => {
            died = Some(format!("target {name} stopped during the run: {why}"));
            false
        }
        () = plan.interrupt.clone().wait() => true,
    };
    drop(quiet);
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
    if !opts.fail_fast {
        counts.not_run += selected.saturating_sub(checks.len());
    }
    counts.not_run += results.parse_errors().len();
    if console {
        crate::outln!("kensa: {name}: {} in {}", counts.line(), report::human(started.elapsed()));
        report_snapshots(plan, name, &snapshots, &bless);
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
            fault: None,
        }),
        junit: junit.contents(),
        json: json.contents(),
    }
}

/// The snapshot tally of a target, and how to bless new snapshots.
fn report_snapshots(plan: &Plan, name: &str, snapshots: &Snapshots, bless: &str) {
    let tally = snapshots.tally();
    if tally == snapshot::Tally::default() {
        return;
    }
    crate::outln!(
        "kensa: {name}: snapshots in {}: {} matched, {} drifted, {} missing, {} blessed",
        snapshots.dir().display(),
        tally.matched,
        tally.drifted,
        tally.missing,
        tally.blessed
    );
    if tally.drifted + tally.missing > 0 {
        crate::outln!(
            "kensa: {name}: new snapshots are in {}; bless them with `{bless}`",
            plan.opts.report_dir.join("snapshots").join(name).display()
        );
    }
}
