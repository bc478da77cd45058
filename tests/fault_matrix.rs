//! The fault matrix: every check must fail against a reference IdP that has
//! exactly the fault it guards against, and no other check may fail then.

use std::collections::{BTreeMap, BTreeSet};

use crate::common::{assert_no_secrets, checks, kensa, not_passed, run_into, summary};

fn faults() -> Vec<String> {
    let out = kensa(&["faults", "--json"]);
    assert!(out.status.success());
    let v: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    v.iter().map(|f| f["name"].as_str().unwrap().to_owned()).collect()
}

#[test]
fn every_fault_breaks_exactly_its_checks() {
    let catalogue = checks();
    let mut expected: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for c in &catalogue {
        let faults = c["faults"].as_array().unwrap();
        assert!(
            !faults.is_empty(),
            "check {} has no fault: a check that cannot be shown to fail proves nothing",
            c["id"]
        );
        for f in faults {
            expected.entry(f.as_str().unwrap().to_owned()).or_default().insert(c["id"].as_str().unwrap().to_owned());
        }
    }
    let all = faults();
    for f in expected.keys() {
        assert!(all.contains(f), "a check names fault {f}, which the reference IdP does not have");
    }
    for f in &all {
        assert!(expected.contains_key(f), "fault {f} is named by no check: nothing proves it is detected");
    }

    // Two runs at a time: the machine has two cores.
    let mut problems = Vec::new();
    for pair in all.chunks(2) {
        let handles: Vec<_> = pair
            .iter()
            .map(|fault| {
                let fault = fault.clone();
                std::thread::spawn(move || {
                    let dir = tempfile::tempdir().unwrap();
                    let out = run_into(dir.path(), &["--fault", &fault]);
                    let s = summary(dir.path());
                    assert_no_secrets(dir.path());
                    (fault, out.status.code(), not_passed(&s))
                })
            })
            .collect();
        for h in handles {
            let (fault, code, failed) = h.join().unwrap();
            let want: Vec<String> = expected[&fault].iter().cloned().collect();
            if failed != want || code != Some(1) {
                problems.push(format!("--fault {fault}: exit {code:?}, failed {failed:?}, expected exactly {want:?}"));
            }
        }
    }
    assert!(problems.is_empty(), "fault matrix mismatches:\n{}", problems.join("\n"));
}
