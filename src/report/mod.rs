//! Run results: what one check came to ([`CheckResult`], [`Verdict`]), the
//! counts and the summary of a run, and the text matrix.
//!
//! - [`collector`]: the cucumber writer that makes the results;
//! - [`console`]: the line per check and the progress line;
//! - [`outputs`]: the report files ([`write_reports`] passes everything
//!   through the run's scrubber before a byte reaches the disk) and the
//!   JUnit and Cucumber JSON documents merged across targets;
//! - [`html`], [`har`]: the page for people and the HTTP archive.

use std::time::Duration;

pub mod collector;
pub mod console;
pub mod har;
pub mod html;
pub mod outputs;
pub mod time;

pub(crate) use collector::panic_message;
pub use collector::{Collector, ExchangeStore, Results, ScenarioRecord, SharedBuf, cites, scenario_key};
pub use console::Console;
pub use outputs::{
    cucumber_json_with_skips, junit_skipped, junit_with_notes, merge_cucumber_json, merge_junit, write_reports,
};

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

/// `1.23 s` or `850 ms`.
#[must_use]
pub fn human(d: Duration) -> String {
    if d.as_millis() >= 1000 { format!("{:.2} s", d.as_secs_f64()) } else { format!("{} ms", d.as_millis()) }
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
