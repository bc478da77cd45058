//! A target's known deviations: `expected.toml`, beside a target's
//! definition or named by a profile. A listed check that fails is a known
//! deviation; one that passes is stale.

use std::path::Path;

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
