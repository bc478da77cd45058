//! Claim assertions a feature file can state without Rust: a path into a
//! JSON document (an ID token's claims, a userinfo response) and a test.
//!
//! Paths are member names separated by `.`, with `[n]` for array items and
//! `["name"]` for names that contain dots or brackets:
//! `realm_access.roles`, `verified_claims[0].verification.trust_framework`,
//! `["https://example.com/claims"].tier`.

use serde_json::Value;

/// Why a path does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("claim path {path:?} is malformed at byte {at}: {reason}")]
pub struct PathError {
    /// The path.
    pub path: String,
    /// Where.
    pub at: usize,
    /// What is wrong.
    pub reason: &'static str,
}

/// One step of a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// An object member.
    Member(String),
    /// An array item.
    Index(usize),
}

/// Parses a claim path.
///
/// # Errors
/// On an empty path or segment, an unclosed bracket or a bad index.
pub fn parse_path(path: &str) -> Result<Vec<Segment>, PathError> {
    let err = |at, reason| PathError { path: path.to_owned(), at, reason };
    let bytes = path.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let mut expect_member = true;
    while i < bytes.len() {
        match bytes[i] {
            b'[' if path[i..].starts_with("[\"") => {
                let rest = &path[i + 2..];
                let end = rest.find("\"]").ok_or_else(|| err(i, "unclosed [\"...\"]"))?;
                out.push(Segment::Member(rest[..end].to_owned()));
                i += 2 + end + 2;
                expect_member = false;
            }
            b'[' => {
                let end = path[i..].find(']').ok_or_else(|| err(i, "unclosed ["))?;
                let n = path[i + 1..i + end].parse().map_err(|_| err(i + 1, "an index must be a number"))?;
                out.push(Segment::Index(n));
                i += end + 1;
                expect_member = false;
            }
            b'.' if expect_member => return Err(err(i, "empty member name")),
            b'.' => {
                i += 1;
                expect_member = true;
                if i == bytes.len() {
                    return Err(err(i, "ends with ."));
                }
            }
            _ => {
                let end = path[i..].find(['.', '[']).map_or(path.len(), |e| i + e);
                out.push(Segment::Member(path[i..end].to_owned()));
                i = end;
                expect_member = false;
            }
        }
    }
    if out.is_empty() {
        return Err(err(0, "empty path"));
    }
    Ok(out)
}

/// The value at `path` in `root`, or `None` when some member or item is
/// absent.
///
/// # Errors
/// When the path is malformed.
pub fn lookup<'a>(root: &'a Value, path: &str) -> Result<Option<&'a Value>, PathError> {
    let mut cur = root;
    for seg in parse_path(path)? {
        let next = match (&seg, cur) {
            (Segment::Member(m), Value::Object(map)) => map.get(m),
            (Segment::Index(n), Value::Array(items)) => items.get(*n),
            _ => None,
        };
        match next {
            Some(v) => cur = v,
            None => return Ok(None),
        }
    }
    Ok(Some(cur))
}

/// A JSON type name as a feature file writes it.
#[must_use]
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// What a feature file asserts about a claim.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Test {
    /// Equals the text (compared with a string claim as text, with any
    /// other claim as JSON).
    Equals(String),
    /// An array containing the item, or a string containing the text.
    Contains(String),
    /// A string matching the regular expression (anchored by the writer).
    Matches(regex::Regex),
    /// Has the JSON type (`string`, `integer`, `number`, `boolean`,
    /// `array`, `object`, `null`).
    HasType(String),
    /// Is absent.
    Absent,
    /// Is present.
    Present,
}

impl Test {
    /// Parses `op` (`equals`, `contains`, `matches`, `has type`,
    /// `is absent`, `is present`) with its argument.
    ///
    /// # Errors
    /// On an unknown operation, a missing argument or a bad regex.
    pub fn parse(op: &str, arg: Option<&str>) -> Result<Self, String> {
        let need = || arg.map(str::to_owned).ok_or_else(|| format!("{op:?} needs a value"));
        Ok(match op.trim() {
            "equals" => Self::Equals(need()?),
            "contains" => Self::Contains(need()?),
            "matches" => {
                Self::Matches(regex::Regex::new(&need()?).map_err(|e| format!("not a regular expression: {e}"))?)
            }
            "has type" => {
                let t = need()?;
                if !["string", "integer", "number", "boolean", "array", "object", "null"].contains(&t.as_str()) {
                    return Err(format!(
                        "unknown type {t:?} (string, integer, number, boolean, array, object or null)"
                    ));
                }
                Self::HasType(t)
            }
            "is absent" => Self::Absent,
            "is present" => Self::Present,
            other => {
                return Err(format!(
                    "unknown claim test {other:?} (equals, contains, matches, has type, is absent, is present)"
                ));
            }
        })
    }
}

/// `text` as JSON when it parses, else as a JSON string.
fn as_json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()))
}

/// Runs `test` on the claim at `path` of `root` (named `source` in
/// messages).
///
/// # Errors
/// A message saying what was expected and what the claim is.
pub fn check(source: &str, root: &Value, path: &str, test: &Test) -> Result<(), String> {
    let found = lookup(root, path).map_err(|e| e.to_string())?;
    let show = |v: &Value| {
        let s = v.to_string();
        if s.chars().count() > 200 { format!("{}...", s.chars().take(200).collect::<String>()) } else { s }
    };
    match (test, found) {
        (Test::Absent, None) => Ok(()),
        (Test::Absent, Some(v)) => Err(format!("{source} claim {path} is present ({}), expected it absent", show(v))),
        (_, None) => Err(format!("{source} has no claim {path}")),
        (Test::Present, Some(_)) => Ok(()),
        (Test::Equals(want), Some(v)) => {
            let ok = match v {
                Value::String(s) => s == want,
                other => *other == as_json(want),
            };
            if ok { Ok(()) } else { Err(format!("{source} claim {path} is {}, expected {want:?}", show(v))) }
        }
        (Test::Contains(want), Some(Value::Array(items))) => {
            let item = as_json(want);
            if items.iter().any(|i| *i == item || i.as_str() == Some(want)) {
                Ok(())
            } else {
                Err(format!(
                    "{source} claim {path} is {}, which does not contain {want:?}",
                    show(&Value::Array(items.clone()))
                ))
            }
        }
        (Test::Contains(want), Some(Value::String(s))) => {
            if s.contains(want.as_str()) {
                Ok(())
            } else {
                Err(format!("{source} claim {path} is {s:?}, which does not contain {want:?}"))
            }
        }
        (Test::Contains(_), Some(v)) => {
            Err(format!("{source} claim {path} is a {}, not an array or string: {}", type_name(v), show(v)))
        }
        (Test::Matches(re), Some(Value::String(s))) => {
            if re.is_match(s) {
                Ok(())
            } else {
                Err(format!("{source} claim {path} is {s:?}, which does not match /{re}/"))
            }
        }
        (Test::Matches(re), Some(v)) => {
            Err(format!("{source} claim {path} is a {}, not a string to match /{re}/: {}", type_name(v), show(v)))
        }
        (Test::HasType(t), Some(v)) => {
            let actual = type_name(v);
            if actual == t || (t == "number" && actual == "integer") {
                Ok(())
            } else {
                Err(format!("{source} claim {path} is a {actual} ({}), expected a {t}", show(v)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_parse() {
        assert_eq!(
            parse_path(r#"a.b[2]["x.y"].c"#).unwrap(),
            vec![
                Segment::Member("a".into()),
                Segment::Member("b".into()),
                Segment::Index(2),
                Segment::Member("x.y".into()),
                Segment::Member("c".into()),
            ]
        );
        for bad in ["", ".a", "a..b", "a.", "a[", "a[x]", r#"a["x"#] {
            assert!(parse_path(bad).is_err(), "{bad:?} should not parse");
        }
    }

    #[test]
    fn tests_pass_and_fail_with_messages() {
        let doc = json!({"realm_access": {"roles": ["offline_access", "user"]}, "email_verified": true,
                         "n": 3, "name": "Alice Example", "vc": [{"verification": {"trust_framework": "jp_gbizid_v1"}}]});
        let ok = |p: &str, op: &str, a: Option<&str>| check("ID token", &doc, p, &Test::parse(op, a).unwrap());
        assert!(ok("realm_access.roles", "contains", Some("offline_access")).is_ok());
        assert!(ok("email_verified", "equals", Some("true")).is_ok());
        assert!(ok("n", "has type", Some("number")).is_ok());
        assert!(ok("name", "matches", Some("^Alice ")).is_ok());
        assert!(ok("vc[0].verification.trust_framework", "equals", Some("jp_gbizid_v1")).is_ok());
        assert!(ok("missing", "is absent", None).is_ok());
        let e = ok("realm_access.roles", "contains", Some("admin")).unwrap_err();
        assert!(e.contains("does not contain \"admin\""), "{e}");
        let e = ok("email_verified", "equals", Some("false")).unwrap_err();
        assert_eq!(e, "ID token claim email_verified is true, expected \"false\"");
        assert!(ok("n", "has type", Some("string")).unwrap_err().contains("is a integer"));
        assert!(ok("name", "is absent", None).unwrap_err().contains("expected it absent"));
        assert!(ok("nope", "equals", Some("x")).unwrap_err().contains("has no claim nope"));
        assert!(Test::parse("is bigger than", Some("1")).is_err());
        assert!(Test::parse("matches", Some("(")).is_err());
    }
}

/// The standard claims and the JSON type OpenID Connect Core 1.0, 5.1 gives
/// each (`updated_at` is a JSON number of seconds; `address` a JSON object,
/// 5.1.1).
pub const STANDARD_CLAIM_TYPES: &[(&str, &str)] = &[
    ("sub", "string"),
    ("name", "string"),
    ("given_name", "string"),
    ("family_name", "string"),
    ("middle_name", "string"),
    ("nickname", "string"),
    ("preferred_username", "string"),
    ("profile", "string"),
    ("picture", "string"),
    ("website", "string"),
    ("email", "string"),
    ("email_verified", "boolean"),
    ("gender", "string"),
    ("birthdate", "string"),
    ("zoneinfo", "string"),
    ("locale", "string"),
    ("phone_number", "string"),
    ("phone_number_verified", "boolean"),
    ("address", "object"),
    ("updated_at", "number"),
];

/// Judges the standard claims present in `doc` against OpenID Connect Core
/// 5.1: each has its JSON type, and `email` is an addr-spec. A standard
/// claim that is absent is not judged: no standard claim but `sub` must be
/// present (5.4 makes the scope claims voluntary). Returns the names judged
/// and one line per breach.
#[must_use]
pub fn standard_claim_findings(doc: &serde_json::Map<String, Value>) -> (Vec<&'static str>, Vec<String>) {
    let mut judged = Vec::new();
    let mut breaches = Vec::new();
    for (name, want) in STANDARD_CLAIM_TYPES {
        let Some(v) = doc.get(*name) else { continue };
        judged.push(*name);
        let got = type_name(v);
        let fits = got == *want || (*want == "number" && got == "integer");
        if !fits {
            breaches.push(format!("{name} is a JSON {got} ({v}); OpenID Connect Core 5.1 makes it a {want}"));
        } else if *name == "email" && !v.as_str().is_some_and(is_addr_spec) {
            breaches.push(format!("email {v} is not an RFC 5322 addr-spec, which OpenID Connect Core 5.1 requires"));
        }
    }
    (judged, breaches)
}

/// A loose RFC 5322 addr-spec: one `@` with a non-empty local part and
/// domain, no whitespace.
fn is_addr_spec(s: &str) -> bool {
    match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty() && !domain.is_empty() && !domain.contains('@') && !s.chars().any(char::is_whitespace)
        }
        None => false,
    }
}

/// Claims a user declares that a claims request may ask for, in a fixed
/// order of preference: standard claims the user has, `sub` and `address`
/// left out (`sub` is always returned; `address` is an object).
#[must_use]
pub fn requestable_claims(user: &serde_json::Map<String, Value>) -> Vec<&'static str> {
    const PREFERENCE: &[&str] = &[
        "email",
        "name",
        "given_name",
        "family_name",
        "preferred_username",
        "email_verified",
        "nickname",
        "phone_number",
        "locale",
        "zoneinfo",
        "birthdate",
        "website",
        "picture",
        "profile",
        "middle_name",
        "gender",
        "updated_at",
        "phone_number_verified",
    ];
    PREFERENCE.iter().copied().filter(|c| user.contains_key(*c)).collect()
}

#[cfg(test)]
mod standard_claims_tests {
    use super::*;

    #[test]
    fn present_claims_are_judged_and_absent_ones_are_not() {
        let doc = serde_json::json!({"sub": "a", "email": "a@b.example", "email_verified": "true", "updated_at": 17});
        let (judged, breaches) = standard_claim_findings(doc.as_object().unwrap());
        assert_eq!(judged, ["sub", "email", "email_verified", "updated_at"]);
        assert_eq!(breaches.len(), 1, "{breaches:?}");
        assert!(breaches[0].contains("email_verified is a JSON string"));
        let doc = serde_json::json!({"sub": "a", "email": "not an address"});
        assert!(standard_claim_findings(doc.as_object().unwrap()).1[0].contains("addr-spec"));
        let user = serde_json::json!({"sub": "x", "address": {}, "name": "N", "email": "e@x"});
        assert_eq!(requestable_claims(user.as_object().unwrap()), ["email", "name"]);
    }
}
