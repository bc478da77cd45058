//! The `kensa` command: runs the conformance suite, lists checks, targets
//! and faults. See `kensa --help`.
#![forbid(unsafe_code)]

#[path = "../steps/mod.rs"]
mod steps;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use clap::{Args, Parser, Subcommand};
use cucumber::{World as _, WriterExt as _, writer};
use kensa::checks::{Catalogue, Check};
use kensa::report::{self, Collector, Counts, SharedBuf, Summary};
use kensa::secret::Scrubber;
use kensa::targets::{self, StartOptions};
use kensa::world::{self, KensaWorld, RunContext};
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
}

#[derive(Args)]
struct RunArgs {
    /// The IdP under test (see `kensa targets`).
    #[arg(long, default_value = "embedded")]
    target: String,
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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Run(args) => run_blocking(args),
        Command::Checks(args) => list_checks(&args),
        Command::Targets(args) => list_targets(&args),
        Command::Faults(args) => list_faults(&args),
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
        println!(
            "{}",
            serde_json::to_string_pretty(&cat.checks).unwrap_or_default()
        );
        return EXIT_PASS;
    }
    println!(
        "{:<15} {:<6} {:<44} {:<34} TITLE",
        "ID", "LEVEL", "SPEC", "FAULTS"
    );
    for c in &cat.checks {
        println!(
            "{:<15} {:<6} {:<44} {:<34} {}",
            c.id,
            c.level.to_string(),
            c.specs.join(" "),
            c.faults.join(" "),
            c.title
        );
    }
    println!(
        "{} checks in {} feature files",
        cat.checks.len(),
        cat.files.len()
    );
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
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        return EXIT_PASS;
    }
    for f in Fault::ALL {
        let breaks = by_fault
            .get(f.name())
            .map(|v| v.join(", "))
            .unwrap_or_else(|| "(no check)".into());
        println!(
            "{:<32} breaks {breaks}\n{:<32} {}",
            f.name(),
            "",
            f.description()
        );
    }
    EXIT_PASS
}

fn list_targets(args: &DirArgs) -> u8 {
    println!(
        "{:<12} {:<9} {:<10} DESCRIPTION",
        "TARGET", "KIND", "STATUS"
    );
    for e in targets::catalogue(&args.fixtures) {
        let status = if e.availability.is_ok() {
            "ready"
        } else {
            "unavailable"
        };
        println!(
            "{:<12} {:<9} {:<10} {}",
            e.name,
            e.kind.to_string(),
            status,
            e.description
        );
        if let Err(why) = &e.availability {
            println!("{:<33} {why}", "");
        }
    }
    EXIT_PASS
}

fn run_blocking(args: RunArgs) -> u8 {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return setup_error(format!("cannot start the async runtime: {e}")),
    };
    rt.block_on(run(args))
}

async fn run(args: RunArgs) -> u8 {
    let started = Instant::now();
    let cat = match load_catalogue(&args.features) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let filter = match args.tags.as_deref().map(|t| cat.tag_filter(t)).transpose() {
        Ok(f) => f,
        Err(e) => return setup_error(e),
    };
    let selected: Vec<&Check> = cat
        .checks
        .iter()
        .filter(|c| Catalogue::selected(c, filter.as_ref()))
        .collect();
    if selected.is_empty() {
        return setup_error(format!(
            "--tags {:?} selects no check",
            args.tags.unwrap_or_default()
        ));
    }
    let fault = match args.fault.as_deref().map(str::parse::<Fault>).transpose() {
        Ok(f) => f,
        Err(e) => return setup_error(e),
    };

    let scrubber = Scrubber::new();
    let fault_note = fault
        .map(|f| format!(" with fault {f}"))
        .unwrap_or_default();
    println!("kensa: starting target {}{fault_note} ...", args.target);
    let opts = StartOptions {
        fixtures: args.fixtures.clone(),
        fault,
    };
    let target = match targets::start(&args.target, &opts, &scrubber).await {
        Ok(t) => t,
        Err(e) => return setup_error(e),
    };
    println!(
        "kensa: target {} at {} ready in {}; running {} checks",
        target.info.name,
        target.info.issuer,
        report::human(started.elapsed()),
        selected.len()
    );
    world::install(Arc::new(RunContext {
        target: Arc::clone(&target.info),
        scrubber: scrubber.clone(),
    }));

    let junit = SharedBuf::default();
    let json = SharedBuf::default();
    let (collector, results) = Collector::new(scrubber.clone(), !args.quiet);
    let writer = collector
        .tee::<KensaWorld, _>(writer::JUnit::for_tee(junit.clone(), 0))
        .tee::<KensaWorld, _>(writer::Json::for_tee(json.clone()))
        .normalized::<KensaWorld>();
    let mut cucumber = KensaWorld::cucumber()
        .max_concurrent_scenarios(usize::from(args.concurrency))
        .with_writer(writer)
        .with_cli(cucumber::cli::Opts::<_, _, _, cucumber::cli::Empty>::default());
    if args.fail_fast {
        cucumber = cucumber.fail_fast();
    }
    let op = filter.clone();
    // Step failures reach the reports through cucumber; the default panic
    // hook would print each one a second time, unscrubbed, to stderr.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let run = cucumber.filter_run(args.features.clone(), move |feature, rule, scenario| {
        let tags = feature
            .tags
            .iter()
            .chain(rule.iter().flat_map(|r| r.tags.iter()))
            .chain(scenario.tags.iter());
        op.as_ref()
            .is_none_or(|op| cucumber::tag::Ext::eval(op, tags))
    });
    let interrupted = tokio::select! {
        _ = run => false,
        _ = tokio::signal::ctrl_c() => true,
    };
    std::panic::set_hook(hook);
    target.stop();
    if interrupted {
        eprintln!("kensa: interrupted; the target was stopped and no report was written");
        return 130;
    }

    let checks = results.checks();
    let counts = Counts::of(&checks);
    let wall = started.elapsed();
    let summary = Summary {
        kensa: env!("CARGO_PKG_VERSION"),
        target: args.target.clone(),
        fault: fault.map(|f| f.to_string()),
        tags: args.tags.clone(),
        counts,
        wall_ms: wall.as_millis(),
        checks,
    };
    let written = match report::write_reports(
        &args.report_dir,
        &scrubber,
        &junit.contents(),
        &json.contents(),
        &summary,
    ) {
        Ok(w) => w,
        Err(e) => {
            return setup_error(format!(
                "cannot write reports to {}: {e}",
                args.report_dir.display()
            ));
        }
    };
    for e in results.parse_errors() {
        eprintln!("kensa: error: {}", scrubber.scrub(&e));
    }
    let not_run = if counts.not_run > 0 {
        format!(", {} not run", counts.not_run)
    } else {
        String::new()
    };
    let expected_missing = selected.len().saturating_sub(counts.total());
    let missing = if expected_missing > 0 && !args.fail_fast {
        format!(", {expected_missing} selected but not reported")
    } else {
        String::new()
    };
    println!(
        "kensa: {} checks: {} passed, {} failed{not_run}{missing} in {} (target {}{fault_note})",
        counts.total(),
        counts.passed,
        counts.failed,
        report::human(wall),
        args.target
    );
    println!(
        "kensa: reports: {}",
        written
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    if !results.parse_errors().is_empty() {
        return EXIT_SETUP;
    }
    if counts.failed > 0
        || counts.not_run > 0
        || counts.total() == 0
        || (expected_missing > 0 && !args.fail_fast)
    {
        EXIT_FAIL
    } else {
        EXIT_PASS
    }
}
