//! The load mode: it measures what it says and counts every failed call.

use crate::common::{assert_no_secrets, kensa};

fn load(dir: &std::path::Path, extra: &[&str]) -> (Option<i32>, String, serde_json::Value) {
    let report = dir.to_str().unwrap();
    let mut args = vec!["load", "--clients", "4,12", "--iterations", "3", "--report-dir", report];
    args.extend_from_slice(extra);
    let out = kensa(&args);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let json = std::fs::read(dir.join("load.json")).map(|b| serde_json::from_slice(&b).unwrap()).unwrap_or_default();
    (out.status.code(), stdout, json)
}

#[test]
fn load_reports_latencies_for_each_client_count() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout, json) = load(dir.path(), &[]);
    assert_eq!(code, Some(0), "{stdout}");
    let runs = json.as_array().unwrap();
    assert_eq!(runs.len(), 2);
    for (run, clients) in runs.iter().zip([4, 12]) {
        assert_eq!(run["clients"], clients);
        assert_eq!(run["calls"], clients * 3, "{run}");
        assert_eq!(run["errors"], serde_json::json!({}));
        for metric in ["token_endpoint", "whole_call"] {
            let m = &run[metric];
            assert_eq!(m["count"], clients * 3);
            let (p50, p99, max) =
                (m["p50_ms"].as_f64().unwrap(), m["p99_ms"].as_f64().unwrap(), m["max_ms"].as_f64().unwrap());
            assert!(0.0 < p50 && p50 <= p99 && p99 <= max, "{metric}: {m}");
        }
        // The whole call includes the refresh.
        assert!(run["whole_call"]["p50_ms"].as_f64() >= run["token_endpoint"]["p50_ms"].as_f64());
    }
    assert!(stdout.contains("whole call (refresh + API): p50"), "{stdout}");
    assert_no_secrets(dir.path());
}

#[test]
fn failed_calls_are_counted_and_fail_the_run() {
    // api-other's tokens are for another resource server: the gateway
    // refuses every call, and the run must say so.
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout, json) = load(dir.path(), &["--client", "api-other"]);
    assert_eq!(code, Some(1), "{stdout}");
    assert_eq!(json[0]["errors"]["API 401 invalid_token"], 12, "{json}");
    assert!(stdout.contains("errors: 12 x API 401 invalid_token"), "{stdout}");
    assert_no_secrets(dir.path());
}

#[test]
fn bad_load_arguments_are_refused() {
    let out = kensa(&["load", "--clients", "0"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("between 1 and 5000"));
    let out = kensa(&["load", "--path", "text/documents"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("under none of the API's routes"));
    let out = kensa(&["load", "--clients", "2", "--client", "no-such-role", "--report-dir", "/tmp/kensa-load-bad"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such-role"), "{}", String::from_utf8_lossy(&out.stderr));
}
