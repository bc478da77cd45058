//! The fault matrix in one process: the reference IdP once without a fault
//! and once per fault, several instances at a time, each running every
//! selected check. A fault must break exactly the checks whose `@fault:`
//! tags name it, and the clean IdP must pass every check: a check that no
//! fault breaks proves nothing, and a fault that breaks an untagged check
//! shows a check judging more than its rule.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::time::Instant;

use futures::StreamExt as _;
use kensa_mocks::idp::Fault;
use serde::Serialize;

use super::target::{Instance, TargetRun, run_target};
use super::{EXIT_FAIL, EXIT_INTERRUPTED, EXIT_PASS, Plan, setup_error, summary_of};
use crate::checks::Catalogue;
use crate::report::{self, Counts, Status, TargetSummary};
use crate::secret::Scrubber;

/// One instance of the matrix: a fault (or none) and what it broke.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// The fault, or `none` for the clean reference IdP.
    pub fault: String,
    /// Checks the fault's tags name (none for the clean IdP).
    pub expected: Vec<String>,
    /// Checks that did not pass.
    pub broken: Vec<String>,
    /// Expected to break but passed: the check misses the fault.
    pub missed: Vec<String>,
    /// Broke without being tagged: the check judges more than its rule,
    /// or the fault breaks more than it says.
    pub extra: Vec<String>,
    /// Why the instance did not run or stopped, if it did not finish.
    pub error: Option<String>,
    /// Wall time of the instance.
    pub wall_ms: u128,
}

impl Row {
    /// Whether the fault broke exactly its checks.
    #[must_use]
    pub fn holds(&self) -> bool {
        self.missed.is_empty() && self.extra.is_empty() && self.error.is_none()
    }

    fn line(&self) -> String {
        let mut out = format!("{:<4} {:<36}", if self.holds() { "ok" } else { "FAIL" }, self.fault);
        if let Some(e) = &self.error {
            let _ = write!(out, " did not run: {e}");
            return out;
        }
        let _ =
            write!(out, " breaks {:>2} of {:>2} tagged", self.expected.len() - self.missed.len(), self.expected.len());
        if !self.missed.is_empty() {
            let _ = write!(out, "; passed though tagged: {}", self.missed.join(", "));
        }
        if !self.extra.is_empty() {
            let _ = write!(out, "; broke though untagged: {}", self.extra.join(", "));
        }
        let _ = write!(out, " ({})", report::human(std::time::Duration::from_millis(self.wall_ms as u64)));
        out
    }
}

/// The row of one finished instance.
fn row(fault: Option<Fault>, expected: &BTreeSet<String>, selected: &[String], summary: &TargetSummary) -> Row {
    let passed: BTreeSet<&str> =
        summary.checks.iter().filter(|c| c.status == Status::Passed).map(|c| c.id.as_str()).collect();
    // A selected check that never reported did not pass either.
    let broken: BTreeSet<String> = selected.iter().filter(|id| !passed.contains(id.as_str())).cloned().collect();
    Row {
        fault: fault.map_or_else(|| "none".to_owned(), |f| f.to_string()),
        expected: expected.iter().cloned().collect(),
        missed: expected.difference(&broken).cloned().collect(),
        extra: broken.difference(expected).cloned().collect(),
        broken: broken.into_iter().collect(),
        error: summary.error.clone(),
        wall_ms: summary.wall_ms,
    }
}

/// What one instance ended with: its summary, or why it did not run
/// (`None`: interrupted).
type Ran = (Option<Fault>, Result<Box<TargetSummary>, Option<String>>);

/// Runs the plan's checks against the reference IdP with `fault`.
async fn instance(plan: &Plan, fault: Option<Fault>) -> Ran {
    // Each instance scrubs its own tokens; realm secrets are registered by
    // the start.
    let own = Scrubber::new();
    let inst = Instance { name: "embedded".into(), fault, expected: Default::default(), scrubber: own.clone() };
    let ran = match run_target(plan, inst).await {
        TargetRun::Ran { mut summary, .. } => {
            // The instance's scrubber knows its tokens and goes with it:
            // everything kept of the instance passes it now. (The HTML
            // report and HAR file are not written for the matrix, so no
            // exchange is kept.)
            for c in &mut summary.checks {
                c.exchanges.clear();
                c.message = c.message.take().map(|m| own.scrub(&m));
                c.notes = c.notes.iter().map(|n| own.scrub(n)).collect();
                for d in &mut c.diffs {
                    d.left = scrub_json(&own, &d.left);
                    d.right = scrub_json(&own, &d.right);
                }
            }
            summary.error = summary.error.take().map(|e| own.scrub(&e));
            Ok(summary)
        }
        TargetRun::NotStarted { reason, .. } => Err(Some(own.scrub(&reason))),
        TargetRun::Interrupted => Err(None),
    };
    (fault, ran)
}

/// A JSON value with every string passed through `scrubber`.
fn scrub_json(scrubber: &Scrubber, v: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::String(s) => Value::String(scrubber.scrub(s)),
        Value::Array(items) => Value::Array(items.iter().map(|i| scrub_json(scrubber, i)).collect()),
        Value::Object(map) => Value::Object(map.iter().map(|(k, i)| (k.clone(), scrub_json(scrubber, i))).collect()),
        other => other.clone(),
    }
}

/// Runs the matrix over `faults` (and the clean IdP), writes summary.json,
/// faults.json, faults.txt and junit.xml, and returns the exit code: 0 when
/// every fault breaks exactly its checks and the clean IdP passes all.
pub(crate) async fn run(
    plan: std::sync::Arc<Plan>,
    cat: &Catalogue,
    faults: &[Fault],
    scrubber: &Scrubber,
    started: Instant,
) -> u8 {
    let opts = &plan.opts;
    if let Ok(realm) = crate::targets::load_realm(&opts.fixtures) {
        crate::targets::register_realm_secrets(&realm, scrubber);
    }
    let selected: Vec<String> = plan.checks.iter().map(|c| c.id.clone()).collect();
    let by_fault = cat.faults();
    let expected_of = |f: Option<Fault>| -> BTreeSet<String> {
        f.and_then(|f| by_fault.get(f.name()))
            .map(|ids| ids.iter().filter(|id| selected.iter().any(|s| s == *id)).map(|s| (*s).to_owned()).collect())
            .unwrap_or_default()
    };
    let mut instances: Vec<Option<Fault>> = vec![None];
    instances.extend(faults.iter().copied().map(Some));
    let total = instances.len();
    let parallel = usize::from(opts.instances.max(1));
    crate::outln!(
        "kensa: fault matrix: {} checks against the reference IdP without a fault and with each of {} faults, {parallel} at a time",
        selected.len(),
        faults.len()
    );
    let mut stream = futures::stream::iter(instances)
        .map(|fault| {
            let plan = std::sync::Arc::clone(&plan);
            // Each instance runs on a thread of its own with its own runtime:
            // cucumber polls all of a run's scenarios inside one future,
            // which is not Send, so instances sharing one runtime would share
            // one thread. That thread polls the scenarios; the runtime's own
            // worker serves the instance's IdP, gateway and mock APIs, so
            // that a step busy with CPU work never holds up the IdP past its
            // 2 s timeout for the external password API (with both on one
            // thread, EXT-04 failed once under a loaded CI machine).
            let (tx, rx) = tokio::sync::oneshot::channel();
            let spawned =
                std::thread::Builder::new().name(format!("kensa-fault-{}", fault.map_or("none", Fault::name))).spawn(
                    move || match tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build() {
                        Ok(rt) => {
                            let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                                rt.block_on(instance(&plan, fault))
                            }))
                            .unwrap_or_else(|panic| {
                                let text = crate::report::panic_message(&*panic).unwrap_or_default();
                                (
                                    fault,
                                    Err(Some(format!("the instance panicked: {}", crate::http::preview(&text, 300)))),
                                )
                            });
                            // The result first: the runtime's shutdown waits for
                            // blocking work, which must not hold up the matrix.
                            let _ = tx.send(ran);
                            rt.shutdown_timeout(std::time::Duration::from_secs(5));
                        }
                        Err(e) => {
                            let _ =
                                tx.send((fault, Err(Some(format!("cannot start a runtime for the instance: {e}")))));
                        }
                    },
                );
            async move {
                if let Err(e) = spawned {
                    return (fault, Err(Some(format!("cannot start a thread for the instance: {e}"))));
                }
                rx.await.unwrap_or_else(|_| (fault, Err(Some("the instance's thread ended without a result".into()))))
            }
        })
        .buffer_unordered(parallel);
    let mut rows = Vec::with_capacity(total);
    let mut summaries = Vec::with_capacity(total);
    while let Some((fault, ran)) = stream.next().await {
        let summary = match ran {
            Ok(s) => *s,
            Err(None) => {
                eprintln!("kensa: interrupted; the targets were stopped and no report was written");
                return EXIT_INTERRUPTED;
            }
            Err(Some(reason)) => TargetSummary {
                target: "embedded".into(),
                kind: "embedded".into(),
                version: None,
                issuer: None,
                error: Some(reason),
                counts: Counts { not_run: selected.len(), ..Counts::default() },
                wall_ms: 0,
                checks: Vec::new(),
                fault: None,
            },
        };
        let r = row(fault, &expected_of(fault), &selected, &summary);
        if !opts.quiet || !r.holds() {
            crate::outln!("  {}", r.line());
        }
        let done = rows.len() + 1;
        if opts.quiet && done % 20 == 0 {
            crate::outln!("kensa: fault matrix: {done}/{total} done in {}", report::human(started.elapsed()));
        }
        rows.push(r);
        summaries
            .push(TargetSummary { fault: Some(fault.map_or_else(|| "none".into(), |f| f.to_string())), ..summary });
    }
    drop(stream);
    // Faults in the order `kensa faults` lists them, the clean IdP first.
    let order = |name: &str| faults.iter().position(|f| f.name() == name).map_or(0, |i| i + 1);
    rows.sort_by_key(|r| order(&r.fault));
    summaries.sort_by_key(|s| order(s.fault.as_deref().unwrap_or("none")));

    let counts = summaries.iter().fold(Counts::default(), |acc, t| acc.plus(t.counts));
    let summary = summary_of(opts, Some("all".into()), counts, started, summaries);
    let failing: Vec<&Row> = rows.iter().filter(|r| !r.holds()).collect();
    if let Err(e) = write(&opts.report_dir, scrubber, &summary, &rows) {
        return setup_error(format!("cannot write reports to {}: {e}", opts.report_dir.display()));
    }
    crate::outln!(
        "kensa: fault matrix: {} of {} instances as tagged ({} faults, {} checks) in {}",
        rows.len() - failing.len(),
        rows.len(),
        faults.len(),
        selected.len(),
        report::human(started.elapsed())
    );
    crate::outln!("kensa: reports: {} (faults.txt, faults.json, summary.json, junit.xml)", opts.report_dir.display());
    if failing.is_empty() {
        EXIT_PASS
    } else {
        eprintln!("kensa: fault matrix mismatches:");
        for r in failing {
            eprintln!("  {}", r.line());
        }
        EXIT_FAIL
    }
}

/// The matrix's reports, each passed through the scrubber.
fn write(dir: &std::path::Path, scrubber: &Scrubber, summary: &report::Summary, rows: &[Row]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut text = String::new();
    for r in rows {
        let _ = writeln!(text, "{}", r.line());
    }
    let mut junit = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let failures = rows.iter().filter(|r| !r.holds()).count();
    let _ = writeln!(
        junit,
        "<testsuites><testsuite name=\"fault matrix\" tests=\"{}\" failures=\"{failures}\">",
        rows.len()
    );
    for r in rows {
        let name = format!("{} breaks exactly its checks", r.fault);
        let secs = r.wall_ms as f64 / 1000.0;
        if r.holds() {
            let _ =
                writeln!(junit, "<testcase classname=\"fault-matrix\" name=\"{}\" time=\"{secs:.3}\"/>", xml(&name));
        } else {
            let _ = writeln!(
                junit,
                "<testcase classname=\"fault-matrix\" name=\"{}\" time=\"{secs:.3}\"><failure message=\"{}\"/></testcase>",
                xml(&name),
                xml(&r.line())
            );
        }
    }
    junit.push_str("</testsuite></testsuites>\n");
    let files = [
        ("faults.txt", text),
        ("faults.json", serde_json::to_string_pretty(rows).map_err(std::io::Error::other)?),
        ("summary.json", serde_json::to_string_pretty(summary).map_err(std::io::Error::other)?),
        ("junit.xml", junit),
    ];
    for (name, body) in files {
        std::fs::write(dir.join(name), scrubber.scrub(&body))?;
    }
    Ok(())
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}
