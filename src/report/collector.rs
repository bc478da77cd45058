//! The cucumber writer that turns scenario events into one [`CheckResult`]
//! per check: steps, failure message (with the spec sentence it breaks),
//! the after-scenario hook's record (exchanges, diffs, notes, a skip), the
//! verdict after known deviations, and a console line as each finishes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use cucumber::event::{self, Cucumber, Feature, RetryableScenario, Rule, Scenario, Step, StepError};
use cucumber::{Event, World, Writer, gherkin, parser};

use super::{CheckResult, ClaimDiff, Console, Status, StepRecord, Verdict};
use crate::secret::Scrubber;

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

/// How a failure message names the spec sentence it breaks.
const CITES: &str = "\nbreaks ";

/// The line a step's failure message ends with when the sentence its
/// observation breaks is not the scenario's own: `breaks SPEC (LEVEL):
/// "sentence"`. The scenario's sentence is then left out of the message.
#[must_use]
pub fn cites(spec: &str, level: &str, sentence: &str) -> String {
    format!("{CITES}{spec} ({level}): {sentence}")
}

/// `breaks RFC6749-4.1.2 (MUST): <the quoted sentence>` for a failed check.
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
