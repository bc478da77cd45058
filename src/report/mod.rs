//! Run results: the console lines, the summary, and the report files.
//!
//! [`Collector`] is a cucumber writer that turns scenario events into one
//! [`CheckResult`] per check and prints a line as each finishes. The JUnit
//! and Cucumber JSON writers write into memory; [`write_reports`] passes
//! everything through the run's scrubber before a byte reaches the disk.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cucumber::event::{
    self, Cucumber, Feature, RetryableScenario, Rule, Scenario, Step, StepError,
};
use cucumber::{Event, World, Writer, gherkin, parser};

use crate::secret::Scrubber;

/// Outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Every step passed.
    Passed,
    /// A step failed.
    Failed,
    /// A step had no definition, so the check did not run.
    NotRun,
}

/// The result of one check.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CheckResult {
    /// Check id (from `@check:`), or the scenario name if it has none.
    pub id: String,
    /// Requirement level tag, if any.
    pub level: String,
    /// Scenario title.
    pub title: String,
    /// Feature file.
    pub feature: String,
    /// Outcome.
    pub status: Status,
    /// Failing step and message (scrubbed).
    pub message: Option<String>,
    /// Wall time of the scenario.
    pub duration_ms: u128,
}

/// An `io::Write` into shared memory.
#[derive(Clone, Default)]
pub struct SharedBuf(Arc<Mutex<Vec<u8>>>);

impl SharedBuf {
    /// The bytes written so far.
    #[must_use]
    pub fn contents(&self) -> Vec<u8> {
        self.0.lock().map(|b| b.clone()).unwrap_or_default()
    }
}

impl std::io::Write for SharedBuf {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| std::io::Error::other("poisoned"))?
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

struct Progress {
    started: Instant,
    failure: Option<String>,
    not_run: Option<String>,
}

/// Collects one result per scenario and prints a console line for each.
pub struct Collector {
    results: Arc<Mutex<Vec<CheckResult>>>,
    running: HashMap<(String, usize), Progress>,
    scrubber: Scrubber,
    console: bool,
    parse_errors: Arc<Mutex<Vec<String>>>,
}

/// Handle to read the collected results after the run.
#[derive(Clone)]
pub struct Results {
    results: Arc<Mutex<Vec<CheckResult>>>,
    parse_errors: Arc<Mutex<Vec<String>>>,
}

impl Results {
    /// The results so far.
    #[must_use]
    pub fn checks(&self) -> Vec<CheckResult> {
        self.results.lock().map(|r| r.clone()).unwrap_or_default()
    }

    /// Feature files cucumber could not parse.
    #[must_use]
    pub fn parse_errors(&self) -> Vec<String> {
        self.parse_errors
            .lock()
            .map(|r| r.clone())
            .unwrap_or_default()
    }
}

impl Collector {
    /// A collector printing to stdout when `console` is set.
    #[must_use]
    pub fn new(scrubber: Scrubber, console: bool) -> (Self, Results) {
        let results = Arc::default();
        let parse_errors = Arc::default();
        let handle = Results {
            results: Arc::clone(&results),
            parse_errors: Arc::clone(&parse_errors),
        };
        (
            Self {
                results,
                running: HashMap::new(),
                scrubber,
                console,
                parse_errors,
            },
            handle,
        )
    }

    fn key(feature: &gherkin::Feature, sc: &gherkin::Scenario) -> (String, usize) {
        (
            feature
                .path
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            sc.position.line,
        )
    }

    fn on_scenario<W>(
        &mut self,
        feature: &gherkin::Feature,
        sc: &gherkin::Scenario,
        ev: &RetryableScenario<W>,
    ) {
        let key = Self::key(feature, sc);
        match &ev.event {
            Scenario::Started => {
                self.running.insert(
                    key,
                    Progress {
                        started: Instant::now(),
                        failure: None,
                        not_run: None,
                    },
                );
            }
            Scenario::Step(step, st) | Scenario::Background(step, st) => {
                let Some(p) = self.running.get_mut(&key) else {
                    return;
                };
                match st {
                    Step::Failed(_, _, _, err) if p.failure.is_none() => {
                        p.failure = Some(format!(
                            "{} {}\n{}",
                            step.keyword.trim(),
                            step.value,
                            step_error(err)
                        ));
                    }
                    Step::Skipped if p.not_run.is_none() => {
                        p.not_run = Some(format!(
                            "{} {}\nno step definition matches this step, so the check did not run",
                            step.keyword.trim(),
                            step.value
                        ));
                    }
                    _ => {}
                }
            }
            Scenario::Hook(_, event::Hook::Failed(_, info)) => {
                if let Some(p) = self.running.get_mut(&key) {
                    p.failure.get_or_insert_with(|| {
                        format!("scenario set-up failed: {}", panic_text(info))
                    });
                }
            }
            Scenario::Finished => {
                let Some(p) = self.running.remove(&key) else {
                    return;
                };
                let (status, message) = match (p.failure, p.not_run) {
                    (Some(f), _) => (Status::Failed, Some(f)),
                    (None, Some(n)) => (Status::NotRun, Some(n)),
                    (None, None) => (Status::Passed, None),
                };
                let message = message.map(|m| {
                    let m = match (status, spec_line(sc)) {
                        (Status::Failed, Some(spec)) => format!("{m}\n{spec}"),
                        _ => m,
                    };
                    self.scrubber.scrub(&m)
                });
                let tag = |prefix: &str| {
                    sc.tags
                        .iter()
                        .find_map(|t| t.strip_prefix(prefix))
                        .map(str::to_owned)
                };
                let level = sc
                    .tags
                    .iter()
                    .find(|t| matches!(t.as_str(), "MUST" | "SHOULD" | "MAY"))
                    .cloned()
                    .unwrap_or_default();
                let result = CheckResult {
                    id: tag("check:").unwrap_or_else(|| sc.name.clone()),
                    level,
                    title: sc.name.clone(),
                    feature: key.0,
                    status,
                    message,
                    duration_ms: p.started.elapsed().as_millis(),
                };
                if self.console {
                    print_line(&result);
                }
                if let Ok(mut r) = self.results.lock() {
                    r.push(result);
                }
            }
            _ => {}
        }
    }
}

/// `breaks RFC6749-4.1.2 (MUST): <the quoted sentence>` for a failed check.
fn spec_line(sc: &gherkin::Scenario) -> Option<String> {
    let specs: Vec<&str> = sc
        .tags
        .iter()
        .filter_map(|t| t.strip_prefix("spec:"))
        .collect();
    if specs.is_empty() {
        return None;
    }
    let level = sc
        .tags
        .iter()
        .find(|t| matches!(t.as_str(), "MUST" | "SHOULD" | "MAY"));
    let level = level.map(|l| format!(" ({l})")).unwrap_or_default();
    let sentence = sc
        .description
        .as_deref()
        .map(|d| format!(": {}", d.split_whitespace().collect::<Vec<_>>().join(" ")))
        .unwrap_or_default();
    Some(format!("breaks {}{level}{sentence}", specs.join(", ")))
}

fn print_line(r: &CheckResult) {
    let mark = match r.status {
        Status::Passed => "PASS",
        Status::Failed => "FAIL",
        Status::NotRun => "NOT RUN",
    };
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "  {mark:<7} {:<16} {:<6} {}", r.id, r.level, r.title);
    if let Some(m) = &r.message {
        for line in m.lines() {
            let _ = writeln!(out, "          {line}");
        }
    }
}

fn panic_text(info: &event::Info) -> String {
    if let Some(s) = info.downcast_ref::<String>() {
        s.clone()
    } else if let Some(s) = info.downcast_ref::<&str>() {
        (*s).to_owned()
    } else {
        "a step panicked".into()
    }
}

fn step_error(err: &StepError) -> String {
    match err {
        StepError::Panic(info) => panic_text(info),
        other => other.to_string(),
    }
}

impl<W: World> Writer<W> for Collector {
    type Cli = cucumber::cli::Empty;

    async fn handle_event(&mut self, ev: parser::Result<Event<Cucumber<W>>>, _: &Self::Cli) {
        match ev {
            Err(e) => {
                if let Ok(mut p) = self.parse_errors.lock() {
                    p.push(e.to_string());
                }
            }
            Ok(ev) => match &ev.value {
                Cucumber::Feature(f, Feature::Scenario(sc, rs)) => self.on_scenario(f, sc, rs),
                Cucumber::Feature(f, Feature::Rule(_, Rule::Scenario(sc, rs))) => {
                    self.on_scenario(f, sc, rs)
                }
                _ => {}
            },
        }
    }
}

impl cucumber::writer::NonTransforming for Collector {}

/// Counts of a run.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct Counts {
    /// Checks that passed.
    pub passed: usize,
    /// Checks that failed.
    pub failed: usize,
    /// Checks that did not run.
    pub not_run: usize,
}

impl Counts {
    /// Counts the results.
    #[must_use]
    pub fn of(results: &[CheckResult]) -> Self {
        let mut c = Self::default();
        for r in results {
            match r.status {
                Status::Passed => c.passed += 1,
                Status::Failed => c.failed += 1,
                Status::NotRun => c.not_run += 1,
            }
        }
        c
    }

    /// Total.
    #[must_use]
    pub fn total(&self) -> usize {
        self.passed + self.failed + self.not_run
    }
}

/// The machine-readable summary written as `summary.json`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Summary {
    /// kensa version.
    pub kensa: &'static str,
    /// Target name.
    pub target: String,
    /// The fault the reference IdP ran with, if any.
    pub fault: Option<String>,
    /// The tag filter, if any.
    pub tags: Option<String>,
    /// Counts.
    pub counts: Counts,
    /// Wall time of the run in milliseconds.
    pub wall_ms: u128,
    /// One entry per check.
    pub checks: Vec<CheckResult>,
}

/// Writes junit.xml, cucumber.json and summary.json into `dir`, scrubbed.
///
/// # Errors
/// When the directory or a file cannot be written.
pub fn write_reports(
    dir: &Path,
    scrubber: &Scrubber,
    junit: &[u8],
    json: &[u8],
    summary: &Summary,
) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    let summary_text = serde_json::to_string_pretty(summary).map_err(std::io::Error::other)?;
    for (name, bytes) in [
        ("junit.xml", junit),
        ("cucumber.json", json),
        ("summary.json", summary_text.as_bytes()),
    ] {
        let path = dir.join(name);
        let text = scrubber.scrub(&String::from_utf8_lossy(bytes));
        std::fs::write(&path, text)?;
        written.push(path);
    }
    Ok(written)
}

/// `1.23 s` or `850 ms`.
#[must_use]
pub fn human(d: Duration) -> String {
    if d.as_millis() >= 1000 {
        format!("{:.2} s", d.as_secs_f64())
    } else {
        format!("{} ms", d.as_millis())
    }
}
