//! Snapshots: blessed baselines of tokens and responses, one directory per
//! target, compared on every run.
//!
//! Files use insta's `.snap` format (a YAML header, then the pretty JSON
//! body) and are read back and compared with insta, so they diff and review
//! like any insta snapshot. Names are explicit, never derived from the
//! calling code: `<feature>__<scenario>__<subject>.snap` under
//! `<snapshot dir>/<target>/`, so scenarios running concurrently cannot
//! collide and a vendor can keep one baseline per deployment.
//!
//! A normal run never writes a baseline. On drift or a missing baseline the
//! check fails with a unified diff, and the new snapshot is written as
//! `<name>.snap.new` under the report directory for inspection; `kensa run
//! --update-snapshots` writes the baselines instead (refused in CI and with
//! `--fault`).

pub mod redact;

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde_json::Value;

use crate::secret::Scrubber;

/// What a run does with snapshots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Compare with the baseline; drift fails.
    Check,
    /// Write the baseline (bless); the check passes.
    Update,
}

/// Why a snapshot could not be compared or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SnapshotError {
    /// The baseline file exists but cannot be read as a snapshot.
    #[error("cannot read snapshot {path}: {reason}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The snapshot could not be written.
    #[error("cannot write snapshot {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The value would put a secret in the file.
    #[error(
        "snapshot {name} would contain a secret (a client secret, password, code or token matched); it was not written"
    )]
    Secret {
        /// The snapshot name.
        name: String,
    },
    /// A value cannot be serialized.
    #[error("snapshot {name}: {reason}")]
    Serialize {
        /// The snapshot name.
        name: String,
        /// Why.
        reason: String,
    },
}

/// How one comparison ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Same as the baseline.
    Matched,
    /// The baseline was written (update mode).
    Blessed {
        /// True when the baseline existed and differed.
        changed: bool,
    },
    /// No baseline exists.
    Missing {
        /// Where the new snapshot was written for inspection.
        pending: Option<PathBuf>,
    },
    /// The value differs from the baseline.
    Drift {
        /// Unified diff, baseline first.
        diff: String,
        /// The baseline's JSON body.
        old: String,
        /// Where the new snapshot was written for inspection.
        pending: Option<PathBuf>,
    },
}

/// Counts of a run's snapshot outcomes.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Tally {
    /// Compared equal.
    pub matched: usize,
    /// Written in update mode.
    pub blessed: usize,
    /// Differed from the baseline.
    pub drifted: usize,
    /// Had no baseline.
    pub missing: usize,
}

/// One target's snapshot directory.
#[derive(Debug)]
pub struct Snapshots {
    dir: PathBuf,
    pending_dir: Option<PathBuf>,
    mode: Mode,
    scrubber: Scrubber,
    tally: Mutex<Tally>,
}

/// Where a snapshot came from, written into its header.
#[derive(Debug, Clone)]
pub struct Origin<'a> {
    /// The feature file.
    pub source: &'a str,
    /// The step that took it.
    pub expression: &'a str,
    /// What it shows.
    pub description: &'a str,
}

impl Snapshots {
    /// Snapshots in the folder `root/<folder>`; pending (`.snap.new`) files
    /// go into `pending_dir` when given (the caller names it after the
    /// target, whatever the baselines' folder is called).
    #[must_use]
    pub fn new(root: &Path, folder: &str, pending_dir: Option<&Path>, mode: Mode, scrubber: Scrubber) -> Self {
        Self {
            dir: root.join(folder),
            pending_dir: pending_dir.map(Path::to_path_buf),
            mode,
            scrubber,
            tally: Mutex::new(Tally::default()),
        }
    }

    /// The baseline directory.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The mode.
    #[must_use]
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The outcomes so far.
    #[must_use]
    pub fn tally(&self) -> Tally {
        self.tally.lock().map(|t| *t).unwrap_or_default()
    }

    /// The file of snapshot `name`.
    #[must_use]
    pub fn path_of(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.snap"))
    }

    /// Compares `value` (already redacted) with baseline `name`, or blesses
    /// it in update mode.
    ///
    /// # Errors
    /// When the value holds a secret, or a file cannot be read or written.
    pub fn assert(&self, name: &str, origin: &Origin<'_>, value: &Value) -> Result<Outcome, SnapshotError> {
        let body = serde_json::to_string_pretty(value)
            .map_err(|e| SnapshotError::Serialize { name: name.into(), reason: e.to_string() })?;
        if self.scrubber.scrub(&body) != body {
            return Err(SnapshotError::Secret { name: name.into() });
        }
        let path = self.path_of(name);
        let old = match path.exists() {
            true => Some(read_body(&path)?),
            false => None,
        };
        let new_text = insta::internals::TextSnapshotContents::new(body.clone(), insta::TextSnapshotKind::File);
        let same = old.as_ref().is_some_and(|o| {
            insta::internals::TextSnapshotContents::new(o.clone(), insta::TextSnapshotKind::File)
                .matches_latest(&new_text)
        });
        let outcome = match (self.mode, &old, same) {
            (_, Some(_), true) => Outcome::Matched,
            (Mode::Update, _, _) => {
                write_snap(&path, origin, &new_text.to_string())?;
                Outcome::Blessed { changed: old.is_some() }
            }
            (Mode::Check, None, _) => Outcome::Missing { pending: self.write_pending(name, origin, &new_text)? },
            (Mode::Check, Some(o), false) => Outcome::Drift {
                diff: unified_diff(o, &new_text.to_string(), name),
                old: o.clone(),
                pending: self.write_pending(name, origin, &new_text)?,
            },
        };
        if let Ok(mut t) = self.tally.lock() {
            match outcome {
                Outcome::Matched => t.matched += 1,
                Outcome::Blessed { .. } => t.blessed += 1,
                Outcome::Missing { .. } => t.missing += 1,
                Outcome::Drift { .. } => t.drifted += 1,
            }
        }
        Ok(outcome)
    }

    fn write_pending(
        &self,
        name: &str,
        origin: &Origin<'_>,
        body: &insta::internals::TextSnapshotContents,
    ) -> Result<Option<PathBuf>, SnapshotError> {
        let Some(dir) = &self.pending_dir else { return Ok(None) };
        let path = dir.join(format!("{name}.snap.new"));
        write_snap(&path, origin, &body.to_string())?;
        Ok(Some(path))
    }
}

/// The JSON body of a `.snap` file, read by insta.
fn read_body(path: &Path) -> Result<String, SnapshotError> {
    let snap = insta::Snapshot::from_file(path)
        .map_err(|e| SnapshotError::Read { path: path.to_owned(), reason: e.to_string() })?;
    snap.as_text()
        .map(ToString::to_string)
        .ok_or_else(|| SnapshotError::Read { path: path.to_owned(), reason: "a binary snapshot, not JSON".into() })
}

/// Writes a `.snap` file: insta's YAML header, then the body.
fn write_snap(path: &Path, origin: &Origin<'_>, body: &str) -> Result<(), SnapshotError> {
    let err = |source| SnapshotError::Write { path: path.to_owned(), source };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(err)?;
    }
    let text = format!(
        "---\nsource: {}\ndescription: {}\nexpression: {}\n---\n{body}\n",
        yaml_scalar(origin.source),
        yaml_scalar(origin.description),
        yaml_scalar(origin.expression),
    );
    std::fs::write(path, text).map_err(err)
}

/// A YAML double-quoted scalar (JSON string syntax is valid YAML).
fn yaml_scalar(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// A unified diff of two snapshot bodies, three lines of context.
#[must_use]
pub fn unified_diff(old: &str, new: &str, name: &str) -> String {
    let (old, new) = (format!("{}\n", old.trim_end()), format!("{}\n", new.trim_end()));
    similar::TextDiff::from_lines(&old, &new)
        .unified_diff()
        .context_radius(3)
        .header(&format!("{name} (baseline)"), &format!("{name} (this run)"))
        .to_string()
}

/// A file-name-safe slug: lowercase ASCII letters, digits and `-`.
#[must_use]
pub fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let out = out.trim_end_matches('-');
    out.chars().take(80).collect::<String>().trim_end_matches('-').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn origin() -> Origin<'static> {
        Origin { source: "features/x.feature", expression: "the ID token matches its snapshot", description: "d" }
    }

    #[test]
    fn bless_then_match_then_drift() {
        let root = tempfile::tempdir().unwrap();
        let pending = tempfile::tempdir().unwrap();
        let scrubber = Scrubber::new();
        let bless = Snapshots::new(root.path(), "t", None, Mode::Update, scrubber.clone());
        assert_eq!(bless.assert("a", &origin(), &json!({"x": 1})).unwrap(), Outcome::Blessed { changed: false });
        let text = std::fs::read_to_string(root.path().join("t/a.snap")).unwrap();
        assert!(text.starts_with("---\nsource: \"features/x.feature\"\n"), "{text}");

        let check = Snapshots::new(root.path(), "t", Some(&pending.path().join("t")), Mode::Check, scrubber);
        assert_eq!(check.assert("a", &origin(), &json!({"x": 1})).unwrap(), Outcome::Matched);
        let Outcome::Drift { diff, pending: Some(p), .. } = check.assert("a", &origin(), &json!({"x": 2})).unwrap()
        else {
            panic!("expected drift")
        };
        assert!(diff.contains("-  \"x\": 1") && diff.contains("+  \"x\": 2"), "{diff}");
        assert!(p.ends_with("t/a.snap.new") && p.exists());
        assert!(matches!(check.assert("b", &origin(), &json!({})).unwrap(), Outcome::Missing { .. }));
        assert_eq!(check.tally(), Tally { matched: 1, blessed: 0, drifted: 1, missing: 1 });
    }

    #[test]
    fn a_secret_never_reaches_a_snapshot() {
        let root = tempfile::tempdir().unwrap();
        let scrubber = Scrubber::new();
        scrubber.register("canary-secret-value-123");
        let s = Snapshots::new(root.path(), "t", None, Mode::Update, scrubber);
        let e = s.assert("a", &origin(), &json!({"x": "canary-secret-value-123"})).unwrap_err();
        assert!(matches!(e, SnapshotError::Secret { .. }));
        assert!(!root.path().join("t/a.snap").exists());
    }

    #[test]
    fn slugs_are_file_safe() {
        assert_eq!(slug("ID token: claims (alice)"), "id-token-claims-alice");
        assert_eq!(slug("  --x--  "), "x");
    }
}
