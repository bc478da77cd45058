//! Secrets that never print, and the run-wide scrubber.
//!
//! Every client secret, password, authorization code, token and code verifier
//! kensa handles is held in a [`Secret`], whose `Debug` and `Display` print
//! `[redacted]`. Values are also registered with the run's [`Scrubber`], which
//! removes them from every report, log line and failure message before it is
//! written, so that a secret that slipped into a message by any path is still
//! caught at the last gate.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::{Arc, RwLock};

/// The text that stands in for a secret everywhere.
pub const REDACTED: &str = "[redacted]";

/// A secret string. `Debug` and `Display` print `[redacted]`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    #[must_use]
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret value, for the one place that must send it.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

/// Shortest value the scrubber will register. Shorter values (a one-letter
/// password, say) would blank out ordinary words in reports.
pub const MIN_SCRUB_LEN: usize = 6;

/// The set of secret values seen during a run; [`Scrubber::scrub`] replaces
/// every occurrence of each (and of its JSON-escaped and URL-encoded forms)
/// with `[redacted]`. Cloning shares the set.
#[derive(Clone, Default)]
pub struct Scrubber {
    inner: Arc<RwLock<ScrubState>>,
}

/// The registered values in two tiers, each with its matcher: a large
/// settled tier rebuilt rarely and a small recent tier rebuilt after each
/// new value. Scrubbing runs after every scenario and on every message; one
/// matcher over all values, rebuilt after every new token, made a run
/// quadratic in the number of tokens it had seen.
#[derive(Default)]
struct ScrubState {
    values: BTreeSet<String>,
    settled: Tier,
    recent: Tier,
}

/// Values of one tier and the matcher built from them (none until first
/// needed after a change).
#[derive(Default)]
struct Tier {
    values: Vec<String>,
    matcher: Option<Arc<aho_corasick::AhoCorasick>>,
}

impl Tier {
    fn matcher(&mut self) -> Option<Arc<aho_corasick::AhoCorasick>> {
        if self.values.is_empty() {
            return None;
        }
        if self.matcher.is_none() {
            // Standard semantics for overlapping search: every occurrence of
            // every value is found, even where two occurrences overlap. A
            // contiguous NFA builds in a fraction of a DFA's time.
            let built = aho_corasick::AhoCorasick::builder()
                .match_kind(aho_corasick::MatchKind::Standard)
                .kind(Some(aho_corasick::AhoCorasickKind::ContiguousNFA))
                .build(&self.values)
                .ok()?;
            self.matcher = Some(Arc::new(built));
        }
        self.matcher.clone()
    }
}

/// The recent tier joins the settled one when it holds this many values.
const RECENT_TIER_MAX: usize = 256;

impl fmt::Debug for Scrubber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.inner.read().map(|s| s.values.len()).unwrap_or(0);
        write!(f, "Scrubber({n} values)")
    }
}

impl Scrubber {
    /// An empty scrubber.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a secret value (values shorter than [`MIN_SCRUB_LEN`] are
    /// ignored).
    pub fn register(&self, value: &str) {
        if value.len() < MIN_SCRUB_LEN {
            return;
        }
        let json = serde_json::to_string(value).unwrap_or_default();
        let json = json.trim_matches('"');
        let encoded: String = url::form_urlencoded::byte_serialize(value.as_bytes()).collect();
        if let Ok(mut state) = self.inner.write() {
            for form in [value, json, encoded.as_str()] {
                if !form.is_empty() && state.values.insert(form.to_owned()) {
                    state.recent.values.push(form.to_owned());
                    state.recent.matcher = None;
                }
            }
            if state.recent.values.len() >= RECENT_TIER_MAX {
                let moved = std::mem::take(&mut state.recent.values);
                state.recent.matcher = None;
                state.settled.values.extend(moved);
                state.settled.matcher = None;
            }
        }
    }

    /// Registers the value inside a [`Secret`].
    pub fn register_secret(&self, secret: &Secret) {
        self.register(secret.expose());
    }

    /// Returns `text` with every occurrence of every registered value
    /// replaced by `[redacted]`; where occurrences overlap or touch, their
    /// whole span is one `[redacted]`, so that no part of a secret shows.
    #[must_use]
    pub fn scrub(&self, text: &str) -> String {
        let Some(matchers) = self.matchers() else {
            return self.scrub_slowly(text);
        };
        let mut spans: Vec<(usize, usize)> = Vec::new();
        for m in &matchers {
            if let Ok(found) = m.try_find_overlapping_iter(text) {
                spans.extend(found.map(|f| (f.start(), f.end())));
            } else {
                return self.scrub_slowly(text);
            }
        }
        if spans.is_empty() {
            return text.to_owned();
        }
        spans.sort_unstable();
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        let mut iter = spans.into_iter().peekable();
        while let Some((start, mut end)) = iter.next() {
            while let Some(&(s, e)) = iter.peek() {
                if s > end {
                    break;
                }
                end = end.max(e);
                iter.next();
            }
            out.push_str(&text[at..start]);
            out.push_str(REDACTED);
            at = end;
        }
        out.push_str(&text[at..]);
        out
    }

    /// Replacement one value at a time, longest first: only when a matcher
    /// cannot be built.
    fn scrub_slowly(&self, text: &str) -> String {
        let Ok(state) = self.inner.read() else { return text.to_owned() };
        let mut values: Vec<&String> = state.values.iter().collect();
        values.sort_by_key(|v| std::cmp::Reverse(v.len()));
        let mut out = text.to_owned();
        for v in values {
            out = out.replace(v.as_str(), REDACTED);
        }
        out
    }

    /// The matchers of both tiers (`None` when one cannot be built), each
    /// built on first use after a change.
    fn matchers(&self) -> Option<Vec<Arc<aho_corasick::AhoCorasick>>> {
        // Built already: a read lock, so that scrubs run side by side.
        {
            let state = self.inner.read().ok()?;
            let built = [&state.settled, &state.recent]
                .into_iter()
                .filter(|t| !t.values.is_empty())
                .map(|t| t.matcher.clone())
                .collect::<Option<Vec<_>>>();
            if built.is_some() {
                return built;
            }
        }
        let mut guard = self.inner.write().ok()?;
        let state = &mut *guard;
        let mut out = Vec::with_capacity(2);
        for tier in [&mut state.settled, &mut state.recent] {
            if !tier.values.is_empty() {
                out.push(tier.matcher()?);
            }
        }
        Some(out)
    }
}

/// Names of parameters, JSON members and headers whose values are secrets.
pub const SECRET_NAMES: &[&str] = &[
    "access_token",
    "refresh_token",
    "id_token",
    "id_token_hint",
    "code",
    "code_verifier",
    "client_secret",
    "password",
    "token",
    "assertion",
    "client_assertion",
    "samlresponse",
    "samlassertion",
    "csrf_token",
    "authorization",
    "cookie",
    "set-cookie",
    "x-amz-security-token",
    "secretaccesskey",
    "sessiontoken",
];

/// Whether a parameter, member or header name carries a secret.
#[must_use]
pub fn is_secret_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    SECRET_NAMES.contains(&lower.as_str())
}

/// Redacts secrets in XML or HTML text: the content of elements with a
/// secret name (`<SessionToken>`, `<SecretAccessKey>`, any prefix) and the
/// value of form inputs with one (`<input name="SAMLResponse" value=..>`).
#[must_use]
pub fn redact_markup(text: &str) -> String {
    static PATTERNS: std::sync::OnceLock<Option<(regex::Regex, regex::Regex)>> = std::sync::OnceLock::new();
    let Some((elements, inputs)) = PATTERNS
        .get_or_init(|| {
            // `code` names an OAuth code in forms but AWS's error codes in
            // XML (`<Code>AccessDenied</Code>`), which must stay readable;
            // S3 echoes a refused token as `<Token-0>`.
            let names = SECRET_NAMES
                .iter()
                .filter(|n| **n != "code")
                .chain(&["token-0"])
                .map(|n| regex::escape(n))
                .collect::<Vec<_>>()
                .join("|");
            let elements = regex::Regex::new(&format!(r"(?i)(<(?:[\w.-]+:)?(?:{names})(?:\s[^>]*)?>)[^<]*")).ok()?;
            let inputs = regex::Regex::new(&format!(
                r#"(?i)(<input\b[^>]*\bname\s*=\s*["']?(?:{names})["']?[^>]*?\bvalue\s*=\s*)("[^"]*"|'[^']*')"#
            ))
            .ok()?;
            Some((elements, inputs))
        })
        .as_ref()
    else {
        return REDACTED.to_owned();
    };
    let text = elements.replace_all(text, format!("${{1}}{REDACTED}"));
    inputs.replace_all(&text, format!("${{1}}\"{REDACTED}\"")).into_owned()
}

/// Redacts the values of secret members in a JSON value, recursively.
#[must_use]
pub fn redact_json(value: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    if is_secret_name(k) && !v.is_null() {
                        (k.clone(), Value::String(REDACTED.into()))
                    } else {
                        (k.clone(), redact_json(v))
                    }
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(redact_json).collect()),
        other => other.clone(),
    }
}

/// Redacts secret parameters in a URL's query string (and fragment).
#[must_use]
pub fn redact_url(url: &url::Url) -> String {
    let mut u = url.clone();
    let pairs: Vec<(String, String)> = u
        .query_pairs()
        .map(|(k, v)| {
            // A request object (OpenID Connect Core 6.1) is a JWT with the
            // whole request in it: redacted in URLs like a token.
            let v = if is_secret_name(&k) || k == "request" { REDACTED.to_owned() } else { v.into_owned() };
            (k.into_owned(), v)
        })
        .collect();
    if !pairs.is_empty() {
        u.query_pairs_mut().clear().extend_pairs(pairs);
    }
    if u.fragment().is_some() {
        u.set_fragment(Some(REDACTED));
    }
    u.to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn markup_secrets_are_redacted() {
        let sts = "<Credentials><AccessKeyId>ASIAX</AccessKeyId><SecretAccessKey>s3cr3t</SecretAccessKey><SessionToken>t0k3n</SessionToken></Credentials><Code>ExpiredTokenException</Code><Token-0>t0k3n</Token-0>";
        let shown = super::redact_markup(sts);
        assert!(!shown.contains("s3cr3t") && !shown.contains("t0k3n"), "{shown}");
        assert!(shown.contains("ASIAX") && shown.contains("<Code>ExpiredTokenException</Code>"), "{shown}");
        let page = r#"<form action="https://signin.aws.amazon.com/saml"><input type="hidden" name="SAMLResponse" value="PHNhbWw+"><input name="RelayState" value="x"></form>"#;
        let shown = super::redact_markup(page);
        assert!(!shown.contains("PHNhbWw+") && shown.contains(r#"value="x""#), "{shown}");
    }

    use super::*;

    #[test]
    fn secret_never_prints() {
        let s = Secret::new("hunter2-very-secret");
        assert_eq!(format!("{s}"), REDACTED);
        assert_eq!(format!("{s:?}"), REDACTED);
        assert_eq!(format!("{:?}", Some(&s)), "Some([redacted])");
    }

    #[test]
    fn scrubber_replaces_registered_values_and_encodings() {
        let sc = Scrubber::new();
        sc.register("p@ss word\"x");
        sc.register("abc"); // too short, ignored
        let text = "a p@ss word\"x b p%40ss+word%22x c p@ss word\\\"x abc";
        let out = sc.scrub(text);
        assert!(!out.contains("p@ss"), "{out}");
        assert!(!out.contains("p%40ss"), "{out}");
        assert!(out.ends_with("abc"));
    }

    #[test]
    fn a_value_registered_after_a_scrub_is_scrubbed_too() {
        let sc = Scrubber::new();
        assert_eq!(sc.scrub("nothing registered"), "nothing registered");
        sc.register("first-secret");
        assert_eq!(sc.scrub("a first-secret b"), "a [redacted] b");
        // The cached matcher must not miss a later value.
        sc.register("second-secret");
        assert_eq!(sc.scrub("first-secret second-secret"), "[redacted] [redacted]");
        // A clone shares the values and the matcher.
        let clone = sc.clone();
        clone.register("third-secret");
        assert_eq!(sc.scrub("third-secret"), "[redacted]");
    }

    #[test]
    fn overlapping_and_nested_values_are_redacted_whole() {
        let sc = Scrubber::new();
        sc.register("abcdef-1");
        sc.register("ef-1234567");
        sc.register("outer-abcdef-1-outer");
        // Overlapping occurrences become one span: nothing of either shows.
        assert_eq!(sc.scrub("x abcdef-1234567 y"), "x [redacted] y");
        // A value inside another is covered by the longer one.
        assert_eq!(sc.scrub("outer-abcdef-1-outer"), "[redacted]");
    }

    #[test]
    fn values_across_both_tiers_are_redacted() {
        let sc = Scrubber::new();
        let many: Vec<String> = (0..(2 * RECENT_TIER_MAX + 7)).map(|i| format!("token-{i:06}-value")).collect();
        for (i, v) in many.iter().enumerate() {
            sc.register(v);
            if i % 50 == 0 {
                let _ = sc.scrub("warm the matchers");
            }
        }
        let text = many.join(" ");
        let out = sc.scrub(&text);
        assert!(!out.contains("token-"), "{}", &out[..200.min(out.len())]);
        assert_eq!(out.matches(REDACTED).count(), many.len());
    }

    #[test]
    fn redact_json_hides_secret_members_recursively() {
        let v = serde_json::json!({"access_token":"t","nested":{"refresh_token":"r","x":1},"list":[{"code":"c"}]});
        let r = redact_json(&v);
        assert_eq!(r["access_token"], REDACTED);
        assert_eq!(r["nested"]["refresh_token"], REDACTED);
        assert_eq!(r["nested"]["x"], 1);
        assert_eq!(r["list"][0]["code"], REDACTED);
    }

    #[test]
    fn redact_url_hides_secret_query_values() {
        let u = url::Url::parse("https://c.test/cb?code=abc123&state=s1&iss=x").unwrap();
        let r = redact_url(&u);
        assert!(r.contains("code=%5Bredacted%5D") || r.contains("code=[redacted]"), "{r}");
        assert!(r.contains("state=s1"));
        assert!(!r.contains("abc123"));
    }
}
