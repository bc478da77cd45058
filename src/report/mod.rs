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
use std::time::Duration;

use cucumber::event::{self, Cucumber, Feature, RetryableScenario, Rule, Scenario, Step, StepError};
use cucumber::{Event, World, Writer, gherkin, parser};

use crate::secret::Scrubber;

pub mod har;
pub mod html;
pub mod time;

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
    /// The verdict after the target's known deviations.
    pub verdict: Verdict,
    /// Why the target is known to fail it, if it is listed.
    pub expected_reason: Option<String>,
    /// Spec sources (`@spec:` tags).
    pub specs: Vec<String>,
    /// The quoted spec sentence (the scenario description).
    pub sentence: Option<String>,
    /// Every step with how it ended.
    pub steps: Vec<StepRecord>,
    /// The scenario's HTTP exchanges, redacted (not in summary.json: the
    /// HTML report and the HAR file carry them).
    #[serde(skip)]
    pub exchanges: Vec<crate::http::Exchange>,
    /// Claim comparisons the check made.
    pub diffs: Vec<ClaimDiff>,
    /// Facts the check reports without failing, such as a token that stays
    /// usable after logout until it expires.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl CheckResult {
    /// A failed SHOULD or MAY check: reported as a warning, so that it is
    /// told apart from a broken MUST (it still fails the run unless the
    /// target lists it as a known deviation).
    #[must_use]
    pub fn is_warning(&self) -> bool {
        self.verdict == Verdict::Fail && matches!(self.level.as_str(), "SHOULD" | "MAY")
    }

    /// Skipped by a step while it ran ([`crate::world::KensaWorld::skip`]):
    /// unlike a check skipped before the run, it has steps.
    #[must_use]
    pub fn skipped_while_running(&self) -> bool {
        self.verdict == Verdict::Skipped && !self.steps.is_empty()
    }

    /// The result of a check that was not run, with why.
    #[must_use]
    pub fn skipped(check: &crate::checks::Check, why: &str) -> Self {
        Self {
            id: check.id.clone(),
            level: check.level.to_string(),
            title: check.title.clone(),
            feature: check.path.display().to_string(),
            status: Status::NotRun,
            message: Some(why.to_owned()),
            duration_ms: 0,
            verdict: Verdict::Skipped,
            expected_reason: None,
            specs: check.specs.clone(),
            sentence: check.sentence.clone(),
            steps: Vec::new(),
            exchanges: Vec::new(),
            diffs: Vec::new(),
            notes: Vec::new(),
        }
    }
}

/// Two sets of claims a check compared, for a side-by-side view: what the
/// check expected (or the reference it compared against) and what came
/// back. Only non-secret values: claims, never tokens.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ClaimDiff {
    /// What was compared.
    pub title: String,
    /// Label of the left side.
    pub left_label: String,
    /// The expected or reference claims.
    pub left: serde_json::Value,
    /// Label of the right side.
    pub right_label: String,
    /// The claims that came back.
    pub right: serde_json::Value,
}

impl ClaimDiff {
    /// Members both sides have, with different values (members only one
    /// side has are not differences: an ID token and a userinfo response
    /// carry different claims by design).
    #[must_use]
    pub fn differing(&self) -> Vec<String> {
        let (Some(l), Some(r)) = (self.left.as_object(), self.right.as_object()) else {
            return if self.left == self.right { Vec::new() } else { vec!["(value)".into()] };
        };
        l.iter().filter(|(k, v)| r.get(*k).is_some_and(|rv| rv != *v)).map(|(k, _)| k.clone()).collect()
    }
}

/// One step of a scenario and how it ended.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StepRecord {
    /// `Given`, `When`, ...
    pub keyword: String,
    /// The step text.
    pub text: String,
    /// `passed`, `failed`, `undefined` or `not reached`.
    pub status: &'static str,
}

/// What the after-scenario hook hands the collector about a scenario.
#[derive(Debug, Default)]
pub struct ScenarioRecord {
    /// Its HTTP exchanges.
    pub exchanges: Vec<crate::http::Exchange>,
    /// Its claim comparisons.
    pub diffs: Vec<ClaimDiff>,
    /// What its checks noted without failing.
    pub notes: Vec<String>,
    /// Why it could not judge its rule here, found while it ran.
    pub skipped: Option<String>,
}

/// Where the after-scenario hook leaves each scenario's record for the
/// collector, keyed like the collector keys scenarios.
pub type ExchangeStore = Arc<Mutex<HashMap<(String, usize), ScenarioRecord>>>;

/// The key of a scenario: its feature file and line.
#[must_use]
pub fn scenario_key(feature: &gherkin::Feature, sc: &gherkin::Scenario) -> (String, usize) {
    (feature.path.as_ref().map(|p| p.display().to_string()).unwrap_or_default(), sc.position.line)
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
        self.0.lock().map_err(|_| std::io::Error::other("poisoned"))?.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

struct Progress {
    started: std::time::SystemTime,
    failure: Option<String>,
    not_run: Option<String>,
    steps: Vec<StepRecord>,
}

/// Collects one result per scenario and prints a console line for each.
pub struct Collector {
    exchanges: ExchangeStore,
    expected: HashMap<String, String>,
    results: Arc<Mutex<Vec<CheckResult>>>,
    running: HashMap<(String, usize), Progress>,
    scrubber: Scrubber,
    console: Console,
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
        self.parse_errors.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

impl Collector {
    /// A collector printing to `console`.
    #[must_use]
    /// `expected` maps check ids the target is known to fail to the reason.
    pub fn new(
        scrubber: Scrubber,
        console: Console,
        expected: HashMap<String, String>,
        exchanges: ExchangeStore,
    ) -> (Self, Results) {
        let results = Arc::default();
        let parse_errors = Arc::default();
        let handle = Results { results: Arc::clone(&results), parse_errors: Arc::clone(&parse_errors) };
        (Self { exchanges, expected, results, running: HashMap::new(), scrubber, console, parse_errors }, handle)
    }

    fn key(feature: &gherkin::Feature, sc: &gherkin::Scenario) -> (String, usize) {
        scenario_key(feature, sc)
    }

    fn on_scenario<W>(
        &mut self,
        at: std::time::SystemTime,
        feature: &gherkin::Feature,
        sc: &gherkin::Scenario,
        ev: &RetryableScenario<W>,
    ) {
        let key = Self::key(feature, sc);
        match &ev.event {
            Scenario::Started => {
                self.running.insert(key, Progress { started: at, failure: None, not_run: None, steps: Vec::new() });
            }
            Scenario::Step(step, st) | Scenario::Background(step, st) => {
                let Some(p) = self.running.get_mut(&key) else {
                    return;
                };
                let status = match st {
                    Step::Started => None,
                    Step::Passed(..) => Some("passed"),
                    Step::Failed(..) => Some("failed"),
                    Step::Skipped => Some("undefined"),
                };
                if let Some(status) = status {
                    p.steps.push(StepRecord {
                        keyword: step.keyword.trim().to_owned(),
                        text: step.value.clone(),
                        status,
                    });
                }
                match st {
                    Step::Failed(_, _, _, err) if p.failure.is_none() => {
                        p.failure = Some(format!("{} {}\n{}", step.keyword.trim(), step.value, step_error(err)));
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
                    p.failure.get_or_insert_with(|| format!("scenario set-up failed: {}", panic_text(info)));
                }
            }
            Scenario::Finished => {
                let Some(mut p) = self.running.remove(&key) else {
                    return;
                };
                let done = p.steps.len();
                let all: Vec<&gherkin::Step> =
                    feature.background.iter().flat_map(|b| b.steps.iter()).chain(sc.steps.iter()).collect();
                for step in all.into_iter().skip(done) {
                    p.steps.push(StepRecord {
                        keyword: step.keyword.trim().to_owned(),
                        text: step.value.clone(),
                        status: "not reached",
                    });
                }
                let record = self.exchanges.lock().ok().and_then(|mut m| m.remove(&key)).unwrap_or_default();
                let mut steps = p.steps;
                let (status, message, skipped) = match (p.failure, p.not_run, record.skipped) {
                    (Some(f), _, _) => (Status::Failed, Some(f), false),
                    (None, Some(n), _) => (Status::NotRun, Some(n), false),
                    // Every step passed, but one found the rule cannot be
                    // judged here: the last step passed is the one.
                    (None, None, Some(why)) => {
                        if let Some(last) = steps.iter_mut().rev().find(|s| s.status == "passed") {
                            last.status = "skipped";
                        }
                        (Status::NotRun, Some(format!("skipped: {why}")), true)
                    }
                    (None, None, None) => (Status::Passed, None, false),
                };
                let message = message.map(|m| {
                    // A step that names the sentence its observation breaks
                    // ([`cites`]) is not given the scenario's.
                    let m = match (status, spec_line(sc)) {
                        (Status::Failed, Some(spec)) if !m.contains(CITES) => format!("{m}\n{spec}"),
                        _ => m,
                    };
                    self.scrubber.scrub(&m)
                });
                let tag = |prefix: &str| sc.tags.iter().find_map(|t| t.strip_prefix(prefix)).map(str::to_owned);
                let level = sc
                    .tags
                    .iter()
                    .find(|t| matches!(t.as_str(), "MUST" | "SHOULD" | "MAY" | "BASELINE"))
                    .cloned()
                    .unwrap_or_default();
                let id = tag("check:").unwrap_or_else(|| sc.name.clone());
                let expected_reason = self.expected.get(&id).cloned();
                let result = CheckResult {
                    verdict: if skipped { Verdict::Skipped } else { Verdict::of(status, expected_reason.is_some()) },
                    expected_reason,
                    id,
                    level,
                    title: sc.name.clone(),
                    feature: key.0,
                    status,
                    message,
                    // Event times, not the writer's clock: the normalizing
                    // writer may deliver a scenario's events late, at once.
                    duration_ms: at.duration_since(p.started).map(|d| d.as_millis()).unwrap_or(0),
                    specs: sc.tags.iter().filter_map(|t| t.strip_prefix("spec:")).map(str::to_owned).collect(),
                    sentence: sc.description.as_deref().map(|d| d.split_whitespace().collect::<Vec<_>>().join(" ")),
                    steps,
                    exchanges: record.exchanges,
                    diffs: record.diffs,
                    notes: record.notes,
                };
                self.console.check(&result);
                if let Ok(mut r) = self.results.lock() {
                    r.push(result);
                }
            }
            _ => {}
        }
    }
}

/// `breaks RFC6749-4.1.2 (MUST): <the quoted sentence>` for a failed check.
/// How a failure message names the spec sentence it breaks.
const CITES: &str = "\nbreaks ";

/// The line a step's failure message ends with when the sentence its
/// observation breaks is not the scenario's own: `breaks SPEC (LEVEL):
/// "sentence"`. The scenario's sentence is then left out of the message.
#[must_use]
pub fn cites(spec: &str, level: &str, sentence: &str) -> String {
    format!("{CITES}{spec} ({level}): {sentence}")
}

fn spec_line(sc: &gherkin::Scenario) -> Option<String> {
    let specs: Vec<&str> = sc.tags.iter().filter_map(|t| t.strip_prefix("spec:")).collect();
    if specs.is_empty() {
        return None;
    }
    let level = sc.tags.iter().find(|t| matches!(t.as_str(), "MUST" | "SHOULD" | "MAY" | "BASELINE"));
    let sentence = sc
        .description
        .as_deref()
        .map(|d| format!(": {}", d.split_whitespace().collect::<Vec<_>>().join(" ")))
        .unwrap_or_default();
    if level.is_some_and(|l| l == "BASELINE") {
        return Some(format!("drifts from the target's baseline ({}){sentence}", specs.join(", ")));
    }
    let level = level.map(|l| format!(" ({l})")).unwrap_or_default();
    Some(format!("breaks {}{level}{sentence}", specs.join(", ")))
}

/// The console: a line per check, and on a terminal a live progress line
/// and colours (unless `NO_COLOR` is set). Off a terminal (CI logs) there is
/// no progress line and no escape sequence.
#[derive(Debug, Clone)]
pub struct Console {
    lines: bool,
    tty: bool,
    color: bool,
    target: String,
    total: usize,
    done: usize,
    failing: usize,
}

impl Console {
    /// A console for one target's run of `total` checks; `lines` prints a
    /// line per check.
    #[must_use]
    pub fn new(lines: bool, target: &str, total: usize) -> Self {
        use std::io::IsTerminal as _;
        let tty = std::io::stdout().is_terminal();
        let color = tty && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        Self { lines, tty, color, target: target.to_owned(), total, done: 0, failing: 0 }
    }

    /// A console that prints nothing: for the many instances of a fault
    /// matrix, which report as a whole.
    #[must_use]
    pub fn silent() -> Self {
        Self { lines: false, tty: false, color: false, target: String::new(), total: 0, done: 0, failing: 0 }
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.color { format!("\x1b[{code}m{text}\x1b[0m") } else { text.to_owned() }
    }

    fn check(&mut self, r: &CheckResult) {
        self.done += 1;
        if matches!(r.verdict, Verdict::Fail | Verdict::NotRun) {
            self.failing += 1;
        }
        let mut out = std::io::stdout().lock();
        if self.tty {
            let _ = write!(out, "\r\x1b[2K");
        }
        if self.lines {
            let (mark, code) = match r.verdict {
                Verdict::Pass => ("PASS", "32"),
                Verdict::Fail if r.is_warning() => ("WARN", "1;33"),
                Verdict::Fail => ("FAIL", "1;31"),
                Verdict::ExpectedFail => ("XFAIL", "33"),
                Verdict::UnexpectedPass => ("XPASS", "35"),
                Verdict::NotRun => ("NOT RUN", "1;31"),
                Verdict::Skipped => ("SKIP", "2"),
            };
            let mark = self.paint(code, &format!("{mark:<7}"));
            let _ = writeln!(out, "  {mark} {:<16} {:<6} {}", r.id, r.level, r.title);
            if let Some(reason) = &r.expected_reason {
                let note = if r.verdict == Verdict::UnexpectedPass {
                    "stale: listed in expected.toml but passed; remove the entry"
                } else {
                    "known deviation"
                };
                let _ = writeln!(out, "          {note}: {reason}");
            }
            for note in &r.notes {
                let _ = writeln!(out, "          note: {note}");
            }
            if let Some(m) = &r.message {
                for line in m.lines() {
                    let _ = writeln!(out, "          {line}");
                }
            }
        }
        if self.tty && self.done < self.total {
            let failing = if self.failing > 0 {
                self.paint("1;31", &format!(", {} failing", self.failing))
            } else {
                String::new()
            };
            let _ = write!(out, "  [{}] {}/{} checks{failing}", self.target, self.done, self.total);
        }
        let _ = out.flush();
    }
}

/// The message of a panic's payload, when it carries one.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> Option<String> {
    payload.downcast_ref::<String>().cloned().or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
}

fn panic_text(info: &event::Info) -> String {
    panic_message(&**info).unwrap_or_else(|| "a step panicked".into())
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
                Cucumber::Feature(f, Feature::Scenario(sc, rs)) => self.on_scenario(ev.at, f, sc, rs),
                Cucumber::Feature(f, Feature::Rule(_, Rule::Scenario(sc, rs))) => self.on_scenario(ev.at, f, sc, rs),
                _ => {}
            },
        }
    }
}

impl cucumber::writer::NonTransforming for Collector {}

/// Counts of a run, by verdict.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct Counts {
    /// Checks that passed.
    pub passed: usize,
    /// Checks that failed and are not known deviations.
    pub failed: usize,
    /// Known deviations that failed as expected.
    pub expected_failures: usize,
    /// Known deviations that now pass.
    pub unexpected_passes: usize,
    /// Checks that did not run.
    pub not_run: usize,
    /// Checks skipped because the target lacks what they need.
    pub skipped: usize,
    /// Of the failed checks, those of level SHOULD or MAY (warnings).
    pub warnings: usize,
}

impl Counts {
    /// Counts the results.
    #[must_use]
    pub fn of(results: &[CheckResult]) -> Self {
        let mut c = Self::default();
        for r in results {
            c.add(r.verdict);
            c.warnings += usize::from(r.is_warning());
        }
        c
    }

    fn add(&mut self, v: Verdict) {
        match v {
            Verdict::Pass => self.passed += 1,
            Verdict::Fail => self.failed += 1,
            Verdict::ExpectedFail => self.expected_failures += 1,
            Verdict::UnexpectedPass => self.unexpected_passes += 1,
            Verdict::NotRun => self.not_run += 1,
            Verdict::Skipped => self.skipped += 1,
        }
    }

    /// Sums counts.
    #[must_use]
    pub fn plus(self, o: Self) -> Self {
        Self {
            passed: self.passed + o.passed,
            failed: self.failed + o.failed,
            expected_failures: self.expected_failures + o.expected_failures,
            unexpected_passes: self.unexpected_passes + o.unexpected_passes,
            not_run: self.not_run + o.not_run,
            skipped: self.skipped + o.skipped,
            warnings: self.warnings + o.warnings,
        }
    }

    /// Checks that ran to a verdict (skipped and not-run ones did not).
    #[must_use]
    pub fn ran(&self) -> usize {
        self.passed + self.failed + self.expected_failures + self.unexpected_passes
    }

    /// Total.
    #[must_use]
    pub fn total(&self) -> usize {
        self.passed + self.failed + self.expected_failures + self.unexpected_passes + self.not_run + self.skipped
    }

    /// `47 checks: 45 passed, 0 failed, 2 known deviations` and so on.
    #[must_use]
    pub fn line(&self) -> String {
        let mut s = format!("{} checks: {} passed, {} failed", self.total(), self.passed, self.failed);
        if self.warnings > 0 {
            s.push_str(&format!(" ({} of them SHOULD/MAY warnings)", self.warnings));
        }
        if self.expected_failures > 0 {
            s.push_str(&format!(", {} known deviations", self.expected_failures));
        }
        if self.unexpected_passes > 0 {
            s.push_str(&format!(
                ", {} known deviations now pass (remove them from expected.toml)",
                self.unexpected_passes
            ));
        }
        if self.not_run > 0 {
            s.push_str(&format!(", {} not run", self.not_run));
        }
        if self.skipped > 0 {
            s.push_str(&format!(", {} skipped (each with its reason)", self.skipped));
        }
        s
    }
}

/// One target's part of the summary.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TargetSummary {
    /// Target name.
    pub target: String,
    /// Kind.
    pub kind: String,
    /// Pinned version.
    pub version: Option<String>,
    /// Issuer it ran at.
    pub issuer: Option<String>,
    /// Why it did not start, or why it stopped during the run.
    pub error: Option<String>,
    /// Counts.
    pub counts: Counts,
    /// Wall time of its run in milliseconds.
    pub wall_ms: u128,
    /// One entry per check.
    pub checks: Vec<CheckResult>,
    /// The reference IdP's fault in a fault matrix (`none` for the clean
    /// instance); absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fault: Option<String>,
}

/// The machine-readable summary written as `summary.json`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Summary {
    /// kensa version.
    pub kensa: &'static str,
    /// The fault the reference IdP ran with, if any.
    pub fault: Option<String>,
    /// The tag filter, if any.
    pub tags: Option<String>,
    /// Counts over every target.
    pub counts: Counts,
    /// When the run started, in milliseconds since the UNIX epoch.
    pub started_ms: u128,
    /// When the run started, ISO 8601 UTC.
    pub started_at: String,
    /// Wall time of the whole run in milliseconds.
    pub wall_ms: u128,
    /// Per target.
    pub targets: Vec<TargetSummary>,
}

/// The target x check matrix as text, one row per check.
#[must_use]
pub fn matrix(targets: &[TargetSummary]) -> String {
    let mut ids: Vec<(String, String)> = Vec::new();
    for t in targets {
        for c in &t.checks {
            if !ids.iter().any(|(i, _)| *i == c.id) {
                ids.push((c.id.clone(), c.level.clone()));
            }
        }
    }
    let width = targets.iter().map(|t| t.target.len().max(7)).collect::<Vec<_>>();
    let mut out = format!("{:<16} {:<6}", "check", "level");
    for (t, w) in targets.iter().zip(&width) {
        out.push_str(&format!(" {:<w$}", t.target, w = *w));
    }
    out.push('\n');
    for (id, level) in &ids {
        out.push_str(&format!("{id:<16} {level:<6}"));
        for (t, w) in targets.iter().zip(&width) {
            let label = match (t.checks.iter().find(|c| c.id == *id), &t.error) {
                (Some(c), _) if c.is_warning() => "WARN",
                (Some(c), _) => c.verdict.label(),
                (None, Some(_)) => "skipped",
                (None, None) => "-",
            };
            out.push_str(&format!(" {label:<w$}", w = *w));
        }
        out.truncate(out.trim_end().len());
        out.push('\n');
    }
    out
}

/// Writes junit.xml, cucumber.json, summary.json, matrix.txt, index.html
/// and kensa.har into `dir`, each passed through the scrubber.
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
    let matrix_text = matrix(&summary.targets);
    let html_text = html::render(summary);
    let har_text = serde_json::to_string_pretty(&har::har(summary)).map_err(std::io::Error::other)?;
    for (name, bytes) in [
        ("index.html", html_text.as_bytes()),
        ("junit.xml", junit),
        ("cucumber.json", json),
        ("summary.json", summary_text.as_bytes()),
        ("matrix.txt", matrix_text.as_bytes()),
        ("kensa.har", har_text.as_bytes()),
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
    if d.as_millis() >= 1000 { format!("{:.2} s", d.as_secs_f64()) } else { format!("{} ms", d.as_millis()) }
}

/// A check a target is known to fail: `fixtures/targets/<name>/expected.toml`.
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Deviation {
    /// The check id.
    pub check: String,
    /// What the target does instead, as observed.
    pub reason: String,
    /// The spec section it breaks, e.g. `RFC 6749 2.3.1`.
    pub spec: String,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectedFile {
    #[serde(default)]
    deviation: Vec<Deviation>,
}

/// Reads a target's known deviations; a missing file means none.
///
/// # Errors
/// When the file exists but is not valid, or names a check twice.
pub fn load_expected(path: &Path) -> Result<Vec<Deviation>, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    let file: ExpectedFile = toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut seen = std::collections::BTreeSet::new();
    for d in &file.deviation {
        if !seen.insert(d.check.clone()) {
            return Err(format!("{}: check {} is listed twice", path.display(), d.check));
        }
    }
    Ok(file.deviation)
}

/// How one check came out on one target, after known deviations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Passed.
    Pass,
    /// Failed, and not a known deviation: blocks.
    Fail,
    /// Failed, as the target's expected.toml says it does.
    ExpectedFail,
    /// Listed in expected.toml but passed: the entry should go.
    UnexpectedPass,
    /// Did not run.
    NotRun,
    /// Not run because the target lacks a power the check needs (the
    /// message says which); neither a pass nor a failure.
    Skipped,
}

impl Verdict {
    /// Short label for the matrix.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Fail => "FAIL",
            Self::ExpectedFail => "xfail",
            Self::UnexpectedPass => "XPASS",
            Self::NotRun => "not run",
            Self::Skipped => "skipped",
        }
    }

    /// Classifies a result against the known deviations.
    #[must_use]
    pub fn of(status: Status, expected: bool) -> Self {
        match (status, expected) {
            (Status::Passed, false) => Self::Pass,
            (Status::Passed, true) => Self::UnexpectedPass,
            (Status::Failed, false) => Self::Fail,
            (Status::Failed, true) => Self::ExpectedFail,
            (Status::NotRun, _) => Self::NotRun,
        }
    }
}

/// Adds each check's notes to its test case's `system-out` in a JUnit
/// document written by cucumber (whose test cases are named
/// `Scenario: TITLE: FEATURE:LINE:COL`), so that CI shows them too.
#[must_use]
pub fn junit_with_notes(junit: &[u8], checks: &[CheckResult]) -> Vec<u8> {
    let mut text = String::from_utf8_lossy(junit).into_owned();
    for check in checks.iter().filter(|c| !c.notes.is_empty() || c.skipped_while_running()) {
        // The feature path in the name may be relative, the check's absolute.
        let needle = format!("<testcase name=\"Scenario: {}: ", xml_attr(&check.title));
        let feature = xml_attr(&check.feature);
        let same_feature = |at: usize| {
            let rest = &text[at + needle.len()..];
            let name = rest.split('"').next().unwrap_or("");
            let path = name.rsplitn(3, ':').nth(2).unwrap_or("");
            !path.is_empty() && (feature.ends_with(path) || path.ends_with(feature.as_str()))
        };
        let Some(start) = text.match_indices(&needle).map(|(i, _)| i).find(|&i| same_feature(i)) else { continue };
        let Some(end) = text[start..].find("</testcase>").map(|i| start + i) else { continue };
        // A check skipped while it ran: cucumber saw its steps pass.
        if check.skipped_while_running() && !text[start..end].contains("<skipped") {
            let open_end = text[start..end].find('>').map_or(end, |i| start + i + 1);
            let skipped = format!("<skipped message=\"{}\"/>", xml_attr(check.message.as_deref().unwrap_or("skipped")));
            text.insert_str(open_end, &skipped);
            if let Some(suite) = text[..start].rfind("<testsuite ") {
                bump_attr(&mut text, suite, "skipped");
            }
        }
        if check.notes.is_empty() {
            continue;
        }
        let Some(end) = text[start..].find("</testcase>").map(|i| start + i) else { continue };
        // CDATA cannot hold "]]>"; notes never need it.
        let lines: String = check.notes.iter().map(|n| format!("note: {}\n", n.replace("]]>", "]] >"))).collect();
        match text[start..end].rfind("]]></system-out>") {
            Some(i) => text.insert_str(start + i, &lines),
            None => text.insert_str(end, &format!("<system-out><![CDATA[{lines}]]></system-out>")),
        }
    }
    text.into_bytes()
}

/// A JUnit document listing checks that did not run because the target
/// lacks what they need or could not start here, each as a skipped test
/// case with the reason, so that CI shows them instead of dropping them.
#[must_use]
pub fn junit_skipped(checks: &[CheckResult]) -> Vec<u8> {
    let skipped: Vec<&CheckResult> =
        checks.iter().filter(|c| c.verdict == Verdict::Skipped && !c.skipped_while_running()).collect();
    if skipped.is_empty() {
        return Vec::new();
    }
    let mut out = format!(
        "<testsuites><testsuite id=\"skipped\" name=\"Feature: checks not run here\" tests=\"{n}\" skipped=\"{n}\" \
         errors=\"0\" failures=\"0\" time=\"0\">",
        n = skipped.len()
    );
    for c in skipped {
        out.push_str(&format!(
            "<testcase name=\"Scenario: {}: {}\" time=\"0\"><skipped message=\"{}\"/></testcase>",
            xml_attr(&c.title),
            xml_attr(&c.id),
            xml_attr(c.message.as_deref().unwrap_or("skipped"))
        ));
    }
    out.push_str("</testsuite></testsuites>");
    out.into_bytes()
}

/// Escapes text as quick-xml does in attribute values.
fn xml_attr(s: &str) -> String {
    xml_escape(s).replace('\'', "&apos;")
}

/// Merges several targets' JUnit documents into one, naming each suite
/// after its target.
#[must_use]
pub fn merge_junit(parts: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?><testsuites>");
    for (target, bytes) in parts {
        let text = String::from_utf8_lossy(bytes);
        let body = text
            .split_once("<testsuites>")
            .map(|(_, rest)| rest.rsplit_once("</testsuites>").map_or(rest, |(b, _)| b))
            .unwrap_or("");
        let target = xml_escape(target);
        out.push_str(
            &body
                .replace("<testsuite id=", &format!("<testsuite hostname-target=\"{target}\" id="))
                .replace(" name=\"Feature: ", &format!(" name=\"[{target}] Feature: ")),
        );
    }
    out.push_str("</testsuites>");
    out.into_bytes()
}

/// Merges several targets' Cucumber JSON arrays into one, prefixing each
/// feature's name with its target.
#[must_use]
pub fn merge_cucumber_json(parts: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut all = Vec::new();
    for (target, bytes) in parts {
        if let Ok(serde_json::Value::Array(features)) = serde_json::from_slice::<serde_json::Value>(bytes) {
            for mut f in features {
                if let Some(name) = f.get("name").and_then(|n| n.as_str()).map(|n| format!("[{target}] {n}")) {
                    f["name"] = name.into();
                }
                all.push(f);
            }
        }
    }
    serde_json::to_vec_pretty(&all).unwrap_or_default()
}

/// Adds one to the numeric attribute `name` of the element opening at `at`
/// (or sets it to 1).
fn bump_attr(text: &mut String, at: usize, name: &str) {
    let Some(close) = text[at..].find('>').map(|i| at + i) else { return };
    let needle = format!(" {name}=\"");
    match text[at..close].find(&needle).map(|i| at + i + needle.len()) {
        Some(v) => {
            let Some(len) = text[v..close].find('"') else { return };
            let n: u64 = text[v..v + len].parse().unwrap_or(0);
            text.replace_range(v..v + len, &(n + 1).to_string());
        }
        None => text.insert_str(close, &format!(" {name}=\"1\"")),
    }
}

/// Marks, in a target's Cucumber JSON, the scenarios of checks skipped
/// while they ran: the step that found the rule cannot be judged becomes
/// `skipped`, so no report shows such a check as passed.
#[must_use]
pub fn cucumber_json_with_skips(json: &[u8], checks: &[CheckResult]) -> Vec<u8> {
    let skipped: Vec<&CheckResult> = checks.iter().filter(|c| c.skipped_while_running()).collect();
    if skipped.is_empty() {
        return json.to_vec();
    }
    let Ok(mut doc) = serde_json::from_slice::<serde_json::Value>(json) else { return json.to_vec() };
    for feature in doc.as_array_mut().into_iter().flatten() {
        let uri = feature.get("uri").and_then(|u| u.as_str()).unwrap_or("").to_owned();
        for element in feature.get_mut("elements").and_then(|e| e.as_array_mut()).into_iter().flatten() {
            let name = element.get("name").and_then(|n| n.as_str()).unwrap_or("");
            let Some(check) =
                skipped.iter().find(|c| c.title == name && (uri.ends_with(&c.feature) || c.feature.ends_with(&uri)))
            else {
                continue;
            };
            let Some(skip_step) = check.steps.iter().rposition(|s| s.status == "skipped") else { continue };
            let text = &check.steps[skip_step].text;
            if let Some(step) = element
                .get_mut("steps")
                .and_then(|s| s.as_array_mut())
                .and_then(|steps| steps.iter_mut().rev().find(|s| s.get("name").and_then(|n| n.as_str()) == Some(text)))
            {
                step["result"] = serde_json::json!({"status": "skipped", "error_message": check.message});
            }
        }
    }
    serde_json::to_vec(&doc).unwrap_or_else(|_| json.to_vec())
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_reach_the_junit_test_case() {
        let mut check = CheckResult::skipped(
            &crate::checks::Check {
                id: "API-07".into(),
                title: "It's a \"case\"".into(),
                level: crate::checks::Level::Must,
                specs: vec![],
                faults: vec![],
                sentence: None,
                feature: "A".into(),
                path: "/work/kensa/features/a.feature".into(),
                line: 3,
                tags: vec![],
                needs: vec![],
            },
            "",
        );
        check.notes = vec!["outlived ]]> the logout".into()];
        let junit = "<testsuites><testcase name=\"Scenario: It&apos;s a &quot;case&quot;: features/a.feature:3:3\" \
                     time=\"1\"><system-out><![CDATA[steps\n]]></system-out></testcase>\
                     <testcase name=\"Scenario: other: features/a.feature:9:3\"></testcase></testsuites>";
        let out = String::from_utf8(junit_with_notes(junit.as_bytes(), &[check.clone()])).unwrap();
        assert!(
            out.contains("<![CDATA[steps\nnote: outlived ]] > the logout\n]]></system-out></testcase><testcase"),
            "{out}"
        );
        // A test case without system-out gets one.
        let bare = junit.replace("<system-out><![CDATA[steps\n]]></system-out>", "");
        let out = String::from_utf8(junit_with_notes(bare.as_bytes(), &[check])).unwrap();
        assert!(
            out.contains("time=\"1\"><system-out><![CDATA[note: outlived ]] > the logout\n]]></system-out></testcase>"),
            "{out}"
        );
    }

    #[test]
    fn expected_file_parses_and_rejects_duplicates() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("expected.toml");
        assert!(load_expected(&p).unwrap().is_empty());
        let one = "[[deviation]]\ncheck = \"A-1\"\nreason = \"r\"\nspec = \"RFC 1\"\n";
        std::fs::write(&p, one).unwrap();
        assert_eq!(load_expected(&p).unwrap()[0].spec, "RFC 1");
        std::fs::write(&p, format!("{one}{one}")).unwrap();
        assert!(load_expected(&p).unwrap_err().contains("twice"));
        // reason and spec are required
        std::fs::write(&p, "[[deviation]]\ncheck = \"A-1\"\nreason = \"r\"\n").unwrap();
        assert!(load_expected(&p).unwrap_err().contains("spec"));
    }

    #[test]
    fn claim_diffs_name_shared_members_that_differ() {
        let d = ClaimDiff {
            title: "t".into(),
            left_label: "l".into(),
            left: serde_json::json!({"sub": "a", "iss": "i", "nonce": "n"}),
            right_label: "r".into(),
            right: serde_json::json!({"sub": "b", "iss": "i", "email": "e"}),
        };
        assert_eq!(d.differing(), vec!["sub".to_owned()]);
    }

    #[test]
    fn verdicts() {
        assert_eq!(Verdict::of(Status::Failed, true), Verdict::ExpectedFail);
        assert_eq!(Verdict::of(Status::Passed, true), Verdict::UnexpectedPass);
        assert_eq!(Verdict::of(Status::NotRun, true), Verdict::NotRun);
    }

    #[test]
    fn merged_reports_stay_parseable() {
        let a = br#"<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite id="0" name="Feature: X" tests="1"><testcase name="s"/></testsuite></testsuites>"#.to_vec();
        let merged = merge_junit(&[("t1".into(), a.clone()), ("t2".into(), a)]);
        let text = String::from_utf8(merged).unwrap();
        assert_eq!(text.matches("<testcase").count(), 2);
        assert!(text.contains("[t2] Feature: X"));
        let j = merge_cucumber_json(&[("t1".into(), br#"[{"name":"F","elements":[]}]"#.to_vec())]);
        let v: serde_json::Value = serde_json::from_slice(&j).unwrap();
        assert_eq!(v[0]["name"], "[t1] F");
    }
}
