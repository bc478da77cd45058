//! The report files: writing them through the scrubber, and the JUnit and
//! Cucumber JSON documents cucumber writes, merged across targets and
//! completed with kensa's notes and skips.

use std::path::{Path, PathBuf};

use super::{CheckResult, Summary, Verdict, har, html, matrix};
use crate::secret::Scrubber;

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
