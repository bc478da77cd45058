//! The check catalogue, read from the feature files.
//!
//! Every scenario is one check and carries its identity in tags:
//!
//! - `@check:ID` — the check id (exactly one);
//! - `@MUST`, `@SHOULD` or `@MAY` — the requirement level as the spec
//!   states it (exactly one);
//! - `@spec:SOURCE` — the spec section it enforces (one or more);
//! - `@fault:NAME` — a reference-IdP fault that must make it fail (one or
//!   more, on the scenario or inherited from its feature or rule; the fault
//!   matrix proves each).
//!
//! The scenario's description (the text under its title) quotes the spec
//! sentence.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use cucumber::gherkin::{self, GherkinEnv, tagexpr::TagOperation};
use cucumber::tag::Ext as _;

/// Errors loading the catalogue. Each names the file (and line) at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CatalogueError {
    /// The features directory cannot be read.
    #[error("cannot read features directory {path}: {reason}")]
    Dir {
        /// Directory.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// No feature files.
    #[error("no .feature files under {0}")]
    Empty(PathBuf),
    /// A feature file does not parse.
    #[error("{path}: not valid Gherkin: {reason}")]
    Parse {
        /// File.
        path: PathBuf,
        /// Parser message.
        reason: String,
    },
    /// A scenario's check tags are missing or inconsistent.
    #[error("{path}:{line}: scenario {scenario:?}: {reason}")]
    Tags {
        /// File.
        path: PathBuf,
        /// Line.
        line: usize,
        /// Scenario name.
        scenario: String,
        /// What is wrong.
        reason: String,
    },
    /// Two scenarios share a check id.
    #[error("check id {id} is used twice: {first} and {second}")]
    Duplicate {
        /// The id.
        id: String,
        /// First place.
        first: String,
        /// Second place.
        second: String,
    },
    /// A tag expression does not parse.
    #[error("--tags {expr:?} is not a tag expression: {reason}")]
    TagExpr {
        /// The expression.
        expr: String,
        /// Parser message.
        reason: String,
    },
    /// A tag expression names a tag no scenario has.
    #[error(
        "--tags {expr:?} names @{tag}, which no scenario has (tags look like @check:OIDC-TOKEN-03, @MUST, @spec:RFC6749-4.1.2, @fault:code-reusable, @area:token)"
    )]
    UnknownTag {
        /// The expression.
        expr: String,
        /// The unknown tag.
        tag: String,
    },
}

/// RFC 2119 requirement level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub enum Level {
    /// An absolute requirement.
    #[serde(rename = "MUST")]
    Must,
    /// Recommended.
    #[serde(rename = "SHOULD")]
    Should,
    /// Optional.
    #[serde(rename = "MAY")]
    May,
    /// Not a spec requirement: the target's own blessed baseline (a
    /// snapshot); drift fails like a MUST.
    #[serde(rename = "BASELINE")]
    Baseline,
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Must => "MUST",
            Self::Should => "SHOULD",
            Self::May => "MAY",
            Self::Baseline => "BASELINE",
        })
    }
}

/// One check.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Check {
    /// Check id.
    pub id: String,
    /// Scenario title.
    pub title: String,
    /// Requirement level.
    pub level: Level,
    /// Spec sources.
    pub specs: Vec<String>,
    /// Faults that prove it.
    pub faults: Vec<String>,
    /// The quoted spec sentence (the scenario description).
    pub sentence: Option<String>,
    /// Feature name.
    pub feature: String,
    /// Feature file.
    pub path: PathBuf,
    /// Line of the scenario.
    pub line: usize,
    /// Every tag in effect (feature and scenario tags).
    pub tags: Vec<String>,
    /// What the target must have for the check to run: the powers of its
    /// `@needs:` tags, and `client:ROLE` for every client role its steps
    /// name ("the public client", "the other client exchanges ...").
    pub needs: Vec<String>,
}

/// `client:ROLE` for each client role that steps name as "the ROLE client".
fn client_needs<'a>(steps: impl Iterator<Item = &'a gherkin::Step>) -> Vec<String> {
    let mut roles = Vec::new();
    for step in steps {
        let words: Vec<&str> = step.value.split_whitespace().collect();
        for w in words.windows(3) {
            let role = w[1];
            let is_role =
                !role.is_empty() && role.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
            if w[0].eq_ignore_ascii_case("the") && w[2] == "client" && is_role {
                let need = format!("client:{role}");
                if !roles.contains(&need) {
                    roles.push(need);
                }
            }
        }
    }
    roles
}

/// A folder of feature files and the name reports give it: a feature file
/// is shown as `shown/relative/path.feature`, the same on every machine.
#[derive(Debug, Clone)]
pub struct FeatureDir {
    /// Where the files are.
    pub path: PathBuf,
    /// How reports and messages name the folder: `features` for the
    /// built-in checks, the folder as the user gave it otherwise.
    pub shown: PathBuf,
}

impl FeatureDir {
    /// A folder the user named: shown as given.
    #[must_use]
    pub fn given(path: &Path) -> Self {
        Self { path: path.to_path_buf(), shown: path.to_path_buf() }
    }

    /// The name of `file`, a file under this folder.
    #[must_use]
    pub fn shown_name(&self, file: &Path) -> PathBuf {
        file.strip_prefix(&self.path).map_or_else(|_| file.to_path_buf(), |rel| self.shown.join(rel))
    }
}

/// Feeds cucumber the feature files of several folders, each named by its
/// [`FeatureDir::shown_name`] (so reports name a built-in feature
/// `features/oidc/login.feature` wherever kensa unpacked it).
#[derive(Debug, Default, Clone, Copy)]
pub struct Sources;

impl cucumber::Parser<Vec<FeatureDir>> for Sources {
    type Cli = cucumber::cli::Empty;
    type Output = futures::stream::Iter<std::vec::IntoIter<cucumber::parser::Result<gherkin::Feature>>>;

    fn parse(self, input: Vec<FeatureDir>, _cli: Self::Cli) -> Self::Output {
        use cucumber::feature::Ext as _;
        let mut out = Vec::new();
        for dir in &input {
            let mut files = Vec::new();
            if let Err(e) = feature_files(&dir.path, &mut files) {
                let source = std::io::Error::other(e.to_string());
                out.push(Err(gherkin::ParseFileError::Reading { path: dir.path.clone(), source }.into()));
                continue;
            }
            for file in files {
                out.push(match gherkin::Feature::parse_path(&file, GherkinEnv::default()) {
                    Ok(mut feature) => {
                        feature.path = Some(dir.shown_name(&file));
                        feature.expand_examples().map_err(Into::into)
                    }
                    Err(e) => Err(e.into()),
                });
            }
        }
        futures::stream::iter(out)
    }
}

/// All checks of a features directory.
#[derive(Debug, Clone)]
pub struct Catalogue {
    /// Checks in file order.
    pub checks: Vec<Check>,
    /// The feature files read.
    pub files: Vec<PathBuf>,
}

fn feature_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), CatalogueError> {
    let rd = std::fs::read_dir(dir).map_err(|e| CatalogueError::Dir { path: dir.into(), reason: e.to_string() })?;
    let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            feature_files(&p, out)?;
        } else if p.extension().is_some_and(|e| e == "feature") {
            out.push(p);
        }
    }
    Ok(())
}

fn parse_check(
    path: &Path,
    feature: &gherkin::Feature,
    rule: Option<&gherkin::Rule>,
    sc: &gherkin::Scenario,
) -> Result<Check, CatalogueError> {
    let err = |reason: String| CatalogueError::Tags {
        path: path.into(),
        line: sc.position.line,
        scenario: sc.name.clone(),
        reason,
    };
    // A scenario inherits the tags of its feature and of its rule.
    let rule_tags = rule.map(|r| r.tags.as_slice()).unwrap_or_default();
    let tags: Vec<String> = feature.tags.iter().chain(rule_tags).chain(sc.tags.iter()).cloned().collect();
    let ids: Vec<&str> = sc.tags.iter().filter_map(|t| t.strip_prefix("check:")).collect();
    let id = match ids.as_slice() {
        [one] if !one.is_empty() => (*one).to_owned(),
        [] => return Err(err("no @check:ID tag".into())),
        _ => {
            return Err(err(format!("{} @check: tags, a scenario is exactly one check", ids.len())));
        }
    };
    let levels: Vec<Level> = sc
        .tags
        .iter()
        .filter_map(|t| match t.as_str() {
            "MUST" => Some(Level::Must),
            "SHOULD" => Some(Level::Should),
            "MAY" => Some(Level::May),
            "BASELINE" => Some(Level::Baseline),
            _ => None,
        })
        .collect();
    let level = match levels.as_slice() {
        [one] => *one,
        [] => return Err(err("no level tag (@MUST, @SHOULD, @MAY or @BASELINE)".into())),
        _ => return Err(err("more than one level tag".into())),
    };
    let specs: Vec<String> = sc.tags.iter().filter_map(|t| t.strip_prefix("spec:")).map(str::to_owned).collect();
    if specs.is_empty() {
        return Err(err("no @spec:SOURCE tag".into()));
    }
    // Faults, like needs, are inherited from the feature and the rule: a
    // fault that breaks every check of a file is tagged once, on it.
    let mut faults: Vec<String> = Vec::new();
    for f in tags.iter().filter_map(|t| t.strip_prefix("fault:")) {
        if !faults.iter().any(|x| x == f) {
            faults.push(f.to_owned());
        }
    }
    if !sc.examples.is_empty() {
        return Err(err("Scenario Outlines are not checks: write one scenario per check".into()));
    }
    let mut needs: Vec<String> = tags.iter().filter_map(|t| t.strip_prefix("needs:")).map(str::to_owned).collect();
    let background = feature.background.iter().chain(rule.and_then(|r| r.background.as_ref()));
    needs.extend(client_needs(background.flat_map(|b| b.steps.iter()).chain(sc.steps.iter())));
    Ok(Check {
        id,
        title: sc.name.clone(),
        level,
        specs,
        faults,
        sentence: sc.description.as_ref().map(|d| d.split_whitespace().collect::<Vec<_>>().join(" ")),
        feature: feature.name.clone(),
        path: path.into(),
        line: sc.position.line,
        tags,
        needs,
    })
}

impl Catalogue {
    /// Reads and validates every `.feature` file under `dir`.
    ///
    /// # Errors
    /// An unreadable directory, no feature files, a file that is not valid
    /// Gherkin, a scenario without its check tags, or a duplicate check id.
    pub fn load(dir: &Path) -> Result<Self, CatalogueError> {
        Self::load_dirs(&[FeatureDir::given(dir)])
    }

    /// Reads and validates every `.feature` file under each folder, as one
    /// catalogue (a check id may appear once across all of them). Checks
    /// and files carry the folders' shown names.
    ///
    /// # Errors
    /// As [`Catalogue::load`], for any of the folders.
    pub fn load_dirs(dirs: &[FeatureDir]) -> Result<Self, CatalogueError> {
        let mut files = Vec::new();
        for dir in dirs {
            let before = files.len();
            feature_files(&dir.path, &mut files)?;
            if files.len() == before {
                return Err(CatalogueError::Empty(dir.shown.clone()));
            }
        }
        let mut checks = Vec::new();
        let mut seen: BTreeMap<String, String> = BTreeMap::new();
        let mut shown_files = Vec::with_capacity(files.len());
        for real in &files {
            let dir = dirs.iter().find(|d| real.starts_with(&d.path)).unwrap_or(&dirs[0]);
            let path = &dir.shown_name(real);
            shown_files.push(path.clone());
            let feature =
                gherkin::Feature::parse_path(real, GherkinEnv::default()).map_err(|e| CatalogueError::Parse {
                    path: path.clone(),
                    reason: e.to_string().lines().next().unwrap_or("").to_owned(),
                })?;
            let scenarios = feature
                .scenarios
                .iter()
                .map(|sc| (None, sc))
                .chain(feature.rules.iter().flat_map(|r| r.scenarios.iter().map(move |sc| (Some(r), sc))));
            for (rule, sc) in scenarios {
                let check = parse_check(path, &feature, rule, sc)?;
                let here = format!("{}:{}", path.display(), check.line);
                if let Some(first) = seen.insert(check.id.clone(), here.clone()) {
                    return Err(CatalogueError::Duplicate { id: check.id, first, second: here });
                }
                checks.push(check);
            }
        }
        Ok(Self { checks, files: shown_files })
    }

    /// The check with an id.
    #[must_use]
    pub fn get(&self, id: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.id == id)
    }

    /// Every tag any scenario carries.
    #[must_use]
    pub fn tags(&self) -> BTreeSet<&str> {
        self.checks.iter().flat_map(|c| c.tags.iter().map(String::as_str)).collect()
    }

    /// Every fault named by some check, with the checks it must break.
    #[must_use]
    pub fn faults(&self) -> BTreeMap<&str, Vec<&str>> {
        let mut m: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for c in &self.checks {
            for f in &c.faults {
                m.entry(f.as_str()).or_default().push(c.id.as_str());
            }
        }
        m
    }

    /// Parses a `--tags` expression and rejects tags no scenario has.
    ///
    /// # Errors
    /// A syntax error or an unknown tag.
    pub fn tag_filter(&self, expr: &str) -> Result<TagOperation, CatalogueError> {
        let op: TagOperation = expr.parse().map_err(|e: <TagOperation as std::str::FromStr>::Err| {
            CatalogueError::TagExpr { expr: expr.into(), reason: e.to_string() }
        })?;
        let known = self.tags();
        let mut stack = vec![&op];
        while let Some(o) = stack.pop() {
            match o {
                TagOperation::And(a, b) | TagOperation::Or(a, b) => {
                    stack.push(a);
                    stack.push(b);
                }
                TagOperation::Not(a) => stack.push(a),
                TagOperation::Tag(t) => {
                    if !known.contains(t.as_str()) {
                        return Err(CatalogueError::UnknownTag { expr: expr.into(), tag: t.clone() });
                    }
                }
            }
        }
        Ok(op)
    }

    /// Whether a check is selected by a tag filter.
    #[must_use]
    pub fn selected(check: &Check, filter: Option<&TagOperation>) -> bool {
        filter.is_none_or(|op| op.eval(check.tags.iter()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) {
        std::fs::write(dir.join(name), text).unwrap();
    }

    #[test]
    fn the_shipped_features_form_a_valid_catalogue() {
        let c = Catalogue::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("features")).unwrap();
        assert!(c.checks.len() >= 25, "{} checks", c.checks.len());
        for check in &c.checks {
            assert!(!check.faults.is_empty(), "{} has no @fault tag: a check with no fault proves nothing", check.id);
            assert!(check.sentence.is_some(), "{} quotes no spec sentence", check.id);
        }
    }

    #[test]
    fn bad_files_are_named_in_the_error() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "broken.feature",
            "Feature: x\n  Scenario: y\n    Given\n  Nonsense here\n  Scenario Outline\n",
        );
        let e = Catalogue::load(dir.path()).unwrap_err().to_string();
        assert!(e.contains("broken.feature"), "{e}");

        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "a.feature", "Feature: x\n  @check:A-1 @MUST\n  Scenario: y\n    Given z\n");
        let e = Catalogue::load(dir.path()).unwrap_err().to_string();
        assert!(e.contains("a.feature:3") && e.contains("@spec"), "{e}");

        let dir = tempfile::tempdir().unwrap();
        let sc = "  @check:A-1 @MUST @spec:X-1 @fault:f\n  Scenario: y\n    Given z\n";
        write(dir.path(), "a.feature", &format!("Feature: x\n{sc}{sc}"));
        assert!(matches!(Catalogue::load(dir.path()), Err(CatalogueError::Duplicate { .. })));
    }

    #[test]
    fn tag_filters_are_validated() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "a.feature",
            "@area:t\nFeature: x\n  @check:A-1 @MUST @spec:X-1 @fault:f\n  Scenario: y\n    Given z\n",
        );
        let c = Catalogue::load(dir.path()).unwrap();
        let op = c.tag_filter("@MUST and not @fault:g").unwrap_err();
        assert!(op.to_string().contains("@fault:g"), "{op}");
        let op = c.tag_filter("@area:t and @MUST").unwrap();
        assert!(Catalogue::selected(&c.checks[0], Some(&op)));
        assert!(c.tag_filter("@MUST and and").is_err());
        assert_eq!(c.faults()["f"], vec!["A-1"]);
    }

    #[test]
    fn a_rule_passes_its_tags_and_background_to_its_scenarios() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "a.feature",
            "@needs:claims-parameter\nFeature: x\n  @needs:api-access @area:r\n  Rule: r\n    Background:\n      \
             Given the public client\n    @check:A-1 @MUST @spec:X-1 @fault:f\n    Scenario: y\n      Given z\n",
        );
        let c = Catalogue::load(dir.path()).unwrap();
        let check = &c.checks[0];
        assert_eq!(check.needs, ["claims-parameter", "api-access", "client:public"]);
        let op = c.tag_filter("@area:r").unwrap();
        assert!(Catalogue::selected(check, Some(&op)), "a rule's tag selects its scenarios");
    }
}
