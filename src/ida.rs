//! Checks for `verified_claims` as defined by OpenID Connect for Identity Assurance.
//!
//! Three kinds of check, all written from the spec text of *OpenID Identity Assurance
//! Schema Definition 1.0* (final), *OpenID Connect for Identity Assurance 1.0* (final)
//! and *OpenID Connect Core 1.0* §5.1 / §5.5:
//!
//! - [`validate`]: the structure of a returned `verified_claims` value (Schema §5.2,
//!   §5.3, §5.4.2 and the evidence types of §5.4.4), `birthdate` and `address` inside
//!   `claims` (Core §5.1) and the `authority` claim of the Authority claims extension
//!   draft (`openid-authority-00`), as gBizID uses it;
//! - [`check_against_request`]: the returned value against the `verified_claims` the
//!   RP put in its `claims` request parameter (IDA §5.4, §5.5.1, §5.7.4, §7);
//! - [`check_supported`]: claims outside the OP's `claims_in_verified_claims_supported`
//!   (IDA §8).
//!
//! Sub-elements the specs do not define are ignored, as Schema §5.2 requires.
//!
//! **Time format.** `time`, `check_details[].time` and `created_at` follow the spec
//! text: ISO 8601 `YYYY-MM-DDThh:mm[:ss]TZD`, so seconds are optional ([`is_time`]).
//! The published (non-normative) JSON schema declares `format: date-time`, which is
//! RFC 3339 and would require seconds; the spec's own examples, such as
//! `"2021-06-06T05:32Z"`, omit them, so the schema's stricter reading is not used.
//!
//! Every [`Finding`] carries the JSON path of the offending value and the clause it
//! breaks, e.g. `IDA-Schema-5.4.2`, `IDA-7` or `OIDC-Core-5.1`.

use std::fmt;

use serde_json::{Map, Value};

/// One problem found, with the JSON path of the offending value, the spec clause it
/// breaks and a message saying what was expected and what was found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    /// JSON path of the offending value, e.g. `verified_claims[1].verification.trust_framework`.
    pub path: String,
    /// The clause broken, e.g. `IDA-Schema-5.4.2`, `IDA-7` or `OIDC-Core-5.5.1`.
    pub clause: &'static str,
    /// What was expected and what was found.
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} ({})", self.path, self.message, self.clause)
    }
}

const BASE: &str = "IDA-Schema-5.2";
const VERIFICATION: &str = "IDA-Schema-5.4.2";
const EVIDENCE: &str = "IDA-Schema-5.4.4.1";
const DOCUMENT: &str = "IDA-Schema-5.4.4.2";
const RECORD: &str = "IDA-Schema-5.4.4.3";
const VOUCH: &str = "IDA-Schema-5.4.4.4";
const SIGNATURE: &str = "IDA-Schema-5.4.4.5";
const CORE_CLAIMS: &str = "OIDC-Core-5.1";
const AUTHORITY: &str = "Authority-draft-00";
const UNREQUESTED_VERIFICATION: &str = "IDA-5.4";
const VERIFICATION_CONSTRAINT: &str = "IDA-5.5.1";
const CLAIM_CONSTRAINT: &str = "IDA-5.7.4";
const UNREQUESTED: &str = "IDA-7";
const UNSUPPORTED: &str = "IDA-8";

const ROOT: &str = "verified_claims";
const REQUIRED: bool = true;
const OPTIONAL: bool = false;
/// Members of a claim request object (Core §5.5.1, IDA §5.5) that constrain rather than select.
const CONSTRAINT_KEYS: [&str; 5] = ["essential", "value", "values", "max_age", "purpose"];

type Object = Map<String, Value>;

/// Structure of a `verified_claims` value as returned in an ID token or userinfo
/// response (an object, or a non-empty array of objects). Returns every finding.
pub fn validate(verified_claims: &Value) -> Vec<Finding> {
    let mut c = Checker::default();
    match verified_claims {
        Value::Object(item) => c.item(&Node::new(item, ROOT, BASE)),
        Value::Array(items) if !items.is_empty() => {
            for item in c.objects(items, ROOT, ROOT, BASE) {
                c.item(&item);
            }
        }
        other => c.report(
            ROOT.to_owned(),
            BASE,
            format!("verified_claims is {}, expected a JSON object or a non-empty array of objects", describe(other)),
        ),
    }
    c.out
}

/// Checks a returned `verified_claims` against what the RP asked for: `request` is the
/// `verified_claims` member of the claims request parameter's `id_token` or `userinfo`
/// object (an object or an array of them).
///
/// Reported: claims inside `claims` that were not requested (IDA §7, "The OP shall not
/// provide the RP with any data it did not request"); `verification` members other than
/// `trust_framework` (and members a requested element requires) that were not requested
/// (IDA §5.4); verification values that break a `value`/`values` constraint, which
/// require the whole element to be omitted (IDA §5.5.1, §5.7.4); and claims that break
/// their `value`/`values` constraint, which require the claim to be omitted (IDA §5.7.4).
/// Each returned element is judged against the request entry it fits best (IDA §5.6).
pub fn check_against_request(returned: &Value, request: &Value) -> Vec<Finding> {
    let entries: Vec<&Object> = match request {
        Value::Object(r) => vec![r],
        Value::Array(rs) => rs.iter().filter_map(Value::as_object).collect(),
        _ => Vec::new(),
    };
    let mut out = Vec::new();
    for (item, path) in returned_items(returned) {
        match entries.iter().map(|entry| against_entry(item, entry, &path)).min_by_key(Vec::len) {
            Some(best) => out.extend(best),
            None => {
                let found = describe(request);
                let message = format!(
                    "verified_claims was returned but the request holds no verified_claims object (it is {found})"
                );
                out.push(finding(path, UNREQUESTED, message));
            }
        }
    }
    out
}

/// Claims inside `verified_claims` that are not in the OP's
/// `claims_in_verified_claims_supported` metadata (IDA §8: they shall not be returned).
/// A language-tagged claim (`family_name#ja-Kana-JP`) counts as its base name.
pub fn check_supported(returned: &Value, claims_in_verified_claims_supported: &[String]) -> Vec<Finding> {
    let mut out = Vec::new();
    for (item, path) in returned_items(returned) {
        let Some(claims) = item.get("claims").and_then(Value::as_object) else { continue };
        for name in claims.keys() {
            if !claims_in_verified_claims_supported.iter().any(|s| s == name || s == base_name(name)) {
                let message = format!(
                    "{name} is not in the OP's claims_in_verified_claims_supported, so it shall not be returned \
                     within verified_claims"
                );
                out.push(finding(join(&join(&path, "claims"), name), UNSUPPORTED, message));
            }
        }
    }
    out
}

/// True when `s` is ISO 8601 `YYYY-MM-DDThh:mm[:ss[.fraction]]TZD`, TZD being `Z` or
/// `±hh:mm`, with every field in range (a real calendar date, hour 0-23, minute 0-59,
/// second 0-60).
pub fn is_time(s: &str) -> bool {
    let Some((date, rest)) = s.as_bytes().split_at_checked(10) else { return false };
    let [b'T', h0, h1, b':', m0, m1, rest @ ..] = rest else { return false };
    if !(is_date_bytes(date) && two_digits_upto(*h0, *h1, 23) && two_digits_upto(*m0, *m1, 59)) {
        return false;
    }
    let zone = match rest {
        [b':', s0, s1, tail @ ..] if two_digits_upto(*s0, *s1, 60) => match tail {
            [b'.', fraction @ ..] => {
                let digits = fraction.iter().take_while(|c| c.is_ascii_digit()).count();
                match fraction.split_at_checked(digits) {
                    Some((_, zone)) if digits > 0 => zone,
                    _ => return false,
                }
            }
            _ => tail,
        },
        [b':', ..] => return false,
        _ => rest,
    };
    is_zone(zone)
}

/// True when `s` is ISO 8601 `YYYY-MM-DD` naming a real calendar date.
pub fn is_date(s: &str) -> bool {
    is_date_bytes(s.as_bytes())
}

fn is_date_bytes(b: &[u8]) -> bool {
    let [y0, y1, y2, y3, b'-', m0, m1, b'-', d0, d1] = *b else { return false };
    match (number(&[y0, y1, y2, y3]), number(&[m0, m1]), number(&[d0, d1])) {
        (Some(year), Some(month), Some(day)) => day >= 1 && day <= days_in_month(year, month),
        _ => false,
    }
}

fn is_zone(b: &[u8]) -> bool {
    match *b {
        [b'Z'] => true,
        [b'+' | b'-', h0, h1, b':', m0, m1] => two_digits_upto(h0, h1, 23) && two_digits_upto(m0, m1, 59),
        _ => false,
    }
}

/// The decimal value of ASCII digits (at most four of them here), or `None`.
fn number(digits: &[u8]) -> Option<u32> {
    digits.iter().try_fold(0, |acc, &d| d.is_ascii_digit().then(|| acc * 10 + u32::from(d - b'0')))
}

fn two_digits_upto(a: u8, b: u8, max: u32) -> bool {
    number(&[a, b]).is_some_and(|n| n <= max)
}

/// Days in `month` of `year` (proleptic Gregorian); 0 for a month outside 1-12.
fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Core §5.1 `birthdate`: `YYYY-MM-DD`, `YYYY` alone, or `0000-MM-DD` when the year is withheld.
fn is_birthdate(s: &str) -> bool {
    is_date(s) || (s.len() == 4 && s.bytes().all(|c| c.is_ascii_digit()))
}

/// Why `s` is not a `time` value, for the message.
fn time_problem(s: &str) -> &'static str {
    match s.as_bytes().split_at_checked(10) {
        None => "too short to hold a date and a time",
        Some((date, _)) if !is_date_bytes(date) => "the date part is not a real YYYY-MM-DD date",
        Some((_, [])) => "the time of day and time zone designator are missing",
        Some((_, rest)) if rest.first() != Some(&b'T') => "date and time must be separated by \"T\"",
        Some((_, rest))
            if !(rest.ends_with(b"Z") || is_zone(rest.get(rest.len().saturating_sub(6)..).unwrap_or(rest))) =>
        {
            "the time zone designator (Z or ±hh:mm) is missing or malformed"
        }
        _ => "the time of day is not hh:mm[:ss[.fraction]] within range",
    }
}

/// Why `s` is not a `YYYY-MM-DD` value, for the message.
fn date_problem(s: &str) -> &'static str {
    let shaped = s.len() == 10
        && s.bytes().enumerate().all(|(i, c)| if i == 4 || i == 7 { c == b'-' } else { c.is_ascii_digit() });
    if shaped { "no such calendar date" } else { "not in YYYY-MM-DD form" }
}

/// A short description of a JSON value for messages: strings quoted, containers summarised.
fn describe(v: &Value) -> String {
    match v {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) if s.is_empty() => "an empty string".to_owned(),
        Value::String(s) => quote(s),
        Value::Array(a) if a.is_empty() => "an empty array".to_owned(),
        Value::Array(a) => format!("an array of {} item{}", a.len(), if a.len() == 1 { "" } else { "s" }),
        Value::Object(o) if o.is_empty() => "an empty object".to_owned(),
        Value::Object(_) => "an object".to_owned(),
    }
}

/// `s` as a JSON string literal, cut at 80 characters.
fn quote(s: &str) -> String {
    let short: String = s.chars().take(80).collect();
    let more = if short.len() < s.len() { "…" } else { "" };
    format!("{}{more}", Value::String(short))
}

/// `path.key`, or `path["key"]` when the key is not a plain name.
fn join(path: &str, key: &str) -> String {
    if !key.is_empty() && key.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '#')) {
        format!("{path}.{key}")
    } else {
        format!("{path}[{}]", Value::String(key.to_owned()))
    }
}

/// A claim name without its language tag (Core §5.2).
fn base_name(name: &str) -> &str {
    name.split_once('#').map_or(name, |(base, _)| base)
}

/// The returned `verified_claims` objects with their paths; other shapes are `validate`'s business.
fn returned_items(v: &Value) -> Vec<(&Object, String)> {
    match v {
        Value::Object(o) => vec![(o, ROOT.to_owned())],
        Value::Array(items) => items
            .iter()
            .enumerate()
            .filter_map(|(i, item)| item.as_object().map(|o| (o, format!("{ROOT}[{i}]"))))
            .collect(),
        _ => Vec::new(),
    }
}

/// Date or time member formats.
#[derive(Clone, Copy)]
enum Format {
    Time,
    Date,
}

/// A JSON object under check: its members, its path and the clause that defines it.
struct Node<'a> {
    obj: &'a Object,
    path: String,
    clause: &'static str,
}

impl<'a> Node<'a> {
    fn new(obj: &'a Object, path: impl Into<String>, clause: &'static str) -> Self {
        Node { obj, path: path.into(), clause }
    }
}

fn finding(path: impl Into<String>, clause: &'static str, message: String) -> Finding {
    Finding { path: path.into(), clause, message }
}

/// Collects findings while walking one `verified_claims` value.
#[derive(Default)]
struct Checker {
    out: Vec<Finding>,
}

impl Checker {
    fn report(&mut self, path: impl Into<String>, clause: &'static str, message: String) {
        self.out.push(finding(path, clause, message));
    }

    /// A member and its path; reports it when it is required and absent.
    fn member<'a>(&mut self, n: &Node<'a>, key: &str, required: bool) -> Option<(&'a Value, String)> {
        let at = join(&n.path, key);
        let value = n.obj.get(key);
        if value.is_none() && required {
            self.report(at.clone(), n.clause, format!("{key} is missing; it is required"));
        }
        value.map(|v| (v, at))
    }

    fn string<'a>(&mut self, n: &Node<'a>, key: &str, required: bool) -> Option<&'a str> {
        let (value, at) = self.member(n, key, required)?;
        if !value.is_string() {
            self.report(at, n.clause, format!("{key} is {}, expected a string", describe(value)));
        }
        value.as_str()
    }

    fn strings(&mut self, n: &Node<'_>, keys: &[&str], required: bool) {
        for key in keys {
            self.string(n, key, required);
        }
    }

    fn object<'a>(&mut self, n: &Node<'a>, key: &str, required: bool) -> Option<Node<'a>> {
        let (value, at) = self.member(n, key, required)?;
        if !value.is_object() {
            self.report(at.clone(), n.clause, format!("{key} is {}, expected a JSON object", describe(value)));
        }
        value.as_object().map(|o| Node::new(o, at, n.clause))
    }

    /// The object items of an array; reports the others.
    fn objects<'a>(&mut self, items: &'a [Value], path: &str, key: &str, clause: &'static str) -> Vec<Node<'a>> {
        let mut found = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let at = format!("{path}[{i}]");
            match item.as_object() {
                Some(o) => found.push(Node::new(o, at, clause)),
                None => self.report(at, clause, format!("{key}[{i}] is {}, expected a JSON object", describe(item))),
            }
        }
        found
    }

    /// An optional array of objects; `non_empty` when the spec says "shall have at least one member".
    fn list<'a>(&mut self, n: &Node<'a>, key: &str, non_empty: bool) -> Vec<Node<'a>> {
        let Some((value, at)) = self.member(n, key, OPTIONAL) else { return Vec::new() };
        match value {
            Value::Array(items) if items.is_empty() && non_empty => {
                let message = format!("{key} is an empty array; when present it shall have at least one member");
                self.report(at, n.clause, message);
                Vec::new()
            }
            Value::Array(items) => self.objects(items, &at, key, n.clause),
            other => {
                self.report(at, n.clause, format!("{key} is {}, expected a JSON array", describe(other)));
                Vec::new()
            }
        }
    }

    /// An optional date or time string member.
    fn formatted(&mut self, n: &Node<'_>, key: &str, format: Format) {
        let Some((value, at)) = self.member(n, key, OPTIONAL) else { return };
        let message = match (value.as_str(), format) {
            (Some(s), Format::Time) if !is_time(s) => {
                format!("{key} is {}, not ISO 8601 YYYY-MM-DDThh:mm[:ss]TZD ({})", quote(s), time_problem(s))
            }
            (Some(s), Format::Date) if !is_date(s) => {
                format!("{key} is {}, not an ISO 8601 YYYY-MM-DD date ({})", quote(s), date_problem(s))
            }
            (Some(_), _) => return,
            (None, Format::Time) => format!("{key} is {}, expected an ISO 8601 date-time string", describe(value)),
            (None, Format::Date) => format!("{key} is {}, expected an ISO 8601 YYYY-MM-DD string", describe(value)),
        };
        self.report(at, n.clause, message);
    }

    fn item(&mut self, item: &Node<'_>) {
        if let Some(verification) = self.object(item, "verification", REQUIRED) {
            self.verification(&Node { clause: VERIFICATION, ..verification });
        }
        if let Some(claims) = self.object(item, "claims", REQUIRED) {
            self.claims(&claims);
        }
    }

    fn verification(&mut self, v: &Node<'_>) {
        if let Some(framework) = self.string(v, "trust_framework", REQUIRED) {
            let (at, trimmed) = (join(&v.path, "trust_framework"), framework.trim());
            if trimmed.is_empty() {
                let found = describe(&Value::String(framework.to_owned()));
                self.report(at, v.clause, format!("trust_framework is {found}, expected a trust framework identifier"));
            } else if trimmed != framework {
                let (found, meant) = (quote(framework), quote(trimmed));
                let message = format!(
                    "trust_framework is {found}, which has leading/trailing whitespace: it is not the identifier \
                     {meant} (identifiers compare exactly)"
                );
                self.report(at, v.clause, message);
            }
        }
        self.strings(v, &["assurance_level", "verification_process"], OPTIONAL);
        self.formatted(v, "time", Format::Time);
        if let Some(process) = self.object(v, "assurance_process", OPTIONAL) {
            self.strings(&process, &["policy", "procedure"], OPTIONAL);
            for detail in self.list(&process, "assurance_details", true) {
                self.strings(&detail, &["assurance_type", "assurance_classification"], OPTIONAL);
                for reference in self.list(&detail, "evidence_ref", true) {
                    self.string(&reference, "check_id", REQUIRED);
                    if let Some(meta) = self.object(&reference, "evidence_metadata", OPTIONAL) {
                        self.string(&meta, "evidence_classification", OPTIONAL);
                    }
                }
            }
        }
        for evidence in self.list(v, "evidence", true) {
            self.evidence(&Node { clause: EVIDENCE, ..evidence });
        }
    }

    fn evidence(&mut self, e: &Node<'_>) {
        self.list(e, "attachments", false);
        let Some(kind) = self.string(e, "type", REQUIRED) else { return };
        let clause = match kind {
            "document" => DOCUMENT,
            "electronic_record" => RECORD,
            "vouch" => VOUCH,
            "electronic_signature" => SIGNATURE,
            _ => {
                let why = match kind {
                    "id_document" | "utility_bill" | "qes" => "is from a pre-final draft",
                    _ => "is not defined",
                };
                let message = format!(
                    "evidence type {} {why}; IDA Schema 1.0 final defines document, electronic_record, vouch and \
                     electronic_signature",
                    quote(kind)
                );
                self.report(join(&e.path, "type"), e.clause, message);
                return;
            }
        };
        let e = Node::new(e.obj, e.path.as_str(), clause);
        // Final 1.0 lists derived_claims inside document_details/record/attestation; errata set 1
        // moves it to the evidence itself. Both places are checked.
        self.derived_claims(&e);
        let (details, party, numbers): (&str, &str, &[&str]) = match kind {
            "document" => ("document_details", "issuer", &["document_number", "serial_number"]),
            "electronic_record" => ("record", "source", &[]),
            "vouch" => ("attestation", "voucher", &["reference_number"]),
            _ => {
                self.strings(&e, &["signature_type", "issuer", "serial_number"], REQUIRED);
                self.formatted(&e, "created_at", Format::Time);
                return;
            }
        };
        for check in self.list(&e, "check_details", true) {
            self.string(&check, "check_method", REQUIRED);
            self.strings(&check, &["organization", "check_id"], OPTIONAL);
            self.formatted(&check, "time", Format::Time);
        }
        let Some(details) = self.object(&e, details, OPTIONAL) else { return };
        self.string(&details, "type", REQUIRED);
        self.strings(&details, numbers, OPTIONAL);
        self.object(&details, party, OPTIONAL);
        self.formatted(&details, "date_of_expiry", Format::Date);
        match kind {
            "electronic_record" => self.formatted(&details, "created_at", Format::Time),
            _ => self.formatted(&details, "date_of_issuance", Format::Date),
        }
        self.derived_claims(&details);
    }

    fn derived_claims(&mut self, n: &Node<'_>) {
        if let Some(derived) = self.object(n, "derived_claims", OPTIONAL)
            && derived.obj.is_empty()
        {
            let message = "derived_claims is an empty object; when present it shall not be empty".to_owned();
            self.report(derived.path, n.clause, message);
        }
    }

    /// `claims` may be empty (Schema §5.3); only claims with a defined shape are checked.
    fn claims(&mut self, claims: &Node<'_>) {
        for (name, value) in claims.obj {
            let at = join(&claims.path, name);
            match base_name(name) {
                "address" if !value.is_object() => {
                    self.report(at, CORE_CLAIMS, format!("{name} is {}, expected a JSON object", describe(value)));
                }
                "birthdate" if !value.as_str().is_some_and(is_birthdate) => {
                    let message = format!("{name} is {}, expected YYYY-MM-DD, YYYY or 0000-MM-DD", describe(value));
                    self.report(at, CORE_CLAIMS, message);
                }
                "authority" => self.authority(value, &at),
                _ => {}
            }
        }
    }

    fn authority(&mut self, value: &Value, path: &str) {
        let entries = match value {
            Value::Object(o) => vec![Node::new(o, path, AUTHORITY)],
            Value::Array(items) if !items.is_empty() => self.objects(items, path, "authority", AUTHORITY),
            other => {
                let found = describe(other);
                let message =
                    format!("authority is {found}, expected an authority object or a non-empty array of them");
                self.report(path, AUTHORITY, message);
                return;
            }
        };
        for entry in entries {
            self.object(&entry, "applies_to", REQUIRED);
            if let Some(granted) = self.object(&entry, "granted_by", OPTIONAL) {
                self.string(&granted, "method", REQUIRED);
            }
            let Some((permission, at)) = self.member(&entry, "permission", REQUIRED) else { continue };
            // The draft calls permission an "Object", then "an array of objects": accept both.
            let items = match permission {
                Value::Object(o) => vec![Node::new(o, at, AUTHORITY)],
                Value::Array(items) => self.objects(items, &at, "permission", AUTHORITY),
                other => {
                    let message = format!("permission is {}, expected an array of permission objects", describe(other));
                    self.report(at, AUTHORITY, message);
                    continue;
                }
            };
            for item in items {
                if let Some((role, at)) = self.member(&item, "role", REQUIRED)
                    && !(role.is_string() || role.is_object())
                {
                    self.report(at, AUTHORITY, format!("role is {}, expected a string or an object", describe(role)));
                }
            }
        }
    }
}

/// Findings for one returned `verified_claims` object against one request entry.
fn against_entry(item: &Object, entry: &Object, path: &str) -> Vec<Finding> {
    let mut out = Vec::new();
    let nothing = Object::new();
    let requested = match entry.get("verification") {
        Some(Value::Null) => None,
        Some(Value::Object(r)) => Some(r),
        _ => Some(&nothing),
    };
    if let (Some(verification), Some(requested)) = (item.get("verification").and_then(Value::as_object), requested) {
        members(verification, requested, "verification", &join(path, "verification"), &mut out);
    }
    let Some(claims) = item.get("claims").and_then(Value::as_object) else { return out };
    let requested = match entry.get("claims") {
        Some(Value::Null) => return out, // the claims element requested in the default manner
        Some(Value::Object(r)) => r,
        _ => &nothing,
    };
    let claims_path = join(path, "claims");
    for (name, value) in claims {
        let at = join(&claims_path, name);
        let request = requested.get(name).or_else(|| {
            requested.iter().find(|(key, _)| base_name(key) == base_name(name)).map(|(_, request)| request)
        });
        match request {
            None => {
                let message = format!(
                    "{name} was returned in verified_claims.claims but not requested; the OP shall not provide the RP \
                     with any data it did not request"
                );
                out.push(finding(at, UNREQUESTED, message));
            }
            Some(Value::Object(constraint)) => {
                if let Some(allowed) = mismatch(value, constraint) {
                    let found = describe(value);
                    let message = format!(
                        "{name} is {found} but the request allowed only {allowed}; a claim that does not match \
                         shall be omitted"
                    );
                    out.push(finding(at, CLAIM_CONSTRAINT, message));
                }
            }
            Some(_) => {}
        }
    }
    out
}

/// Walks the members of a returned verification (sub-)object against the request for it.
fn members(returned: &Object, requested: &Object, name: &str, path: &str, out: &mut Vec<Finding>) {
    for (key, value) in returned {
        let at = join(path, key);
        match requested.get(key) {
            Some(request) => compare(value, request, key, &at, out),
            None if implied(name, key, returned) => {}
            None => {
                let message = format!(
                    "{key} was returned in {name} but not requested; the RP shall explicitly request any data it \
                     wants the OP to add to the verification element"
                );
                out.push(finding(at, UNREQUESTED_VERIFICATION, message));
            }
        }
    }
}

/// Compares a returned verification value with its request: `null` (and `{}`) asks for the
/// element in the default manner, an object of `value`/`values`/`essential`… constrains it,
/// any other object selects sub-elements, and an array lists alternative filters (IDA §5.4).
fn compare(returned: &Value, request: &Value, name: &str, path: &str, out: &mut Vec<Finding>) {
    match (request, returned) {
        (Value::Object(r), Value::Array(_)) if is_constraint(r) => {}
        (Value::Object(r), _) if is_constraint(r) => {
            if let Some(allowed) = mismatch(returned, r) {
                let message = format!(
                    "{name} is {} but the request allowed only {allowed}; verification data that does not match \
                     shall not be delivered, the whole verified_claims element shall be omitted (IDA 5.7.4)",
                    describe(returned)
                );
                out.push(finding(path, VERIFICATION_CONSTRAINT, message));
            }
        }
        (Value::Object(r), Value::Object(o)) if !r.is_empty() => members(o, r, name, path, out),
        (Value::Object(r), Value::Array(items)) if !r.is_empty() => {
            for (i, item) in items.iter().enumerate() {
                compare(item, request, name, &format!("{path}[{i}]"), out);
            }
        }
        (Value::Array(filters), Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                best_filter(item, filters, name, &format!("{path}[{i}]"), out);
            }
        }
        (Value::Array(filters), _) => best_filter(returned, filters, name, path, out),
        _ => {}
    }
}

/// Filters are alternatives (IDA §5.4: "linked by a logical OR"): keep the findings of the best fit.
fn best_filter(returned: &Value, filters: &[Value], name: &str, path: &str, out: &mut Vec<Finding>) {
    let fits = filters.iter().map(|filter| {
        let mut findings = Vec::new();
        compare(returned, filter, name, path, &mut findings);
        findings
    });
    if let Some(best) = fits.min_by_key(Vec::len) {
        out.extend(best);
    }
}

/// Members an OP must return with a requested element even when the request does not name them.
fn implied(parent: &str, key: &str, returned: &Object) -> bool {
    match parent {
        "verification" => key == "trust_framework",
        "evidence" => {
            key == "type"
                || (returned.get("type").and_then(Value::as_str) == Some("electronic_signature")
                    && matches!(key, "signature_type" | "issuer" | "serial_number"))
        }
        "document_details" | "record" | "attestation" => key == "type",
        "check_details" => key == "check_method",
        "evidence_ref" => key == "check_id",
        _ => false,
    }
}

fn is_constraint(request: &Object) -> bool {
    !request.is_empty() && request.keys().all(|k| CONSTRAINT_KEYS.contains(&k.as_str()))
}

/// When `value` breaks the `value`/`values` constraint, the allowed values for the message.
fn mismatch(value: &Value, constraint: &Object) -> Option<String> {
    if let Some(wanted) = constraint.get("value")
        && wanted != value
    {
        return Some(wanted.to_string());
    }
    match constraint.get("values") {
        Some(Value::Array(wanted)) if !wanted.contains(value) => {
            Some(format!("one of [{}]", wanted.iter().map(Value::to_string).collect::<Vec<_>>().join(", ")))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use serde_json::json;

    use super::*;

    #[test]
    #[rustfmt::skip]
    fn time_format_edges() {
        for good in [
            "2021-06-06T05:32Z", "2021-06-06T05:32+09:00", "2012-04-23T18:25:43Z", "2012-04-23T18:25:43.511-05:30",
            "2016-12-31T23:59:60Z", "2024-02-29T00:00Z", "2000-02-29T23:59:59.1+23:59",
        ] {
            assert!(is_time(good), "{good} should be a time");
        }
        for bad in [
            "", "2021-06-06", "2021-06-06T05:32", "2021-06-06 05:32Z", "2021-06-06t05:32Z", "2021-13-06T05:32Z",
            "2023-02-29T05:32Z", "1900-02-29T05:32Z", "2021-06-06T24:00Z", "2021-06-06T05:60Z", "2021-06-06T05:32:61Z",
            "2021-06-06T05:32:1Z", "2021-06-06T05:32.5Z", "2021-06-06T05:32:00.Z", "2021-06-06T05:32+0900",
            "2021-06-06T05:32+24:00", "2021-06-06T05:32Z ", "2021-06-06T5:32Z", "２021-06-06T05:32Z",
            "2021-06-06T05:32:00,5Z",
        ] {
            assert!(!is_time(bad), "{bad} should not be a time");
        }
    }

    #[test]
    #[rustfmt::skip]
    fn date_format_edges() {
        for good in ["2024-02-29", "2000-02-29", "0000-02-29", "1991-11-06", "2021-12-31"] {
            assert!(is_date(good), "{good} should be a date");
        }
        for bad in [
            "1900-02-29", "2023-02-30", "2021-04-31", "2021-00-10", "2021-01-00", "21-01-01", "2021-1-01",
            "2021/01/01", "2021-01-01T00:00Z", "",
        ] {
            assert!(!is_date(bad), "{bad} should not be a date");
        }
        assert!(is_birthdate("1991") && is_birthdate("0000-11-06") && !is_birthdate("06/11/1991"));
        assert!(!is_birthdate("91") && !is_birthdate("1991-11"));
    }

    #[test]
    fn messages_say_expected_and_found() {
        let findings =
            validate(&json!({"verification": {"trust_framework": "x", "time": "2021-06-06 05:32"}, "claims": {}}));
        let [finding] = findings.as_slice() else { panic!("one finding expected: {findings:?}") };
        assert_eq!(
            finding.to_string(),
            "verified_claims.verification.time: time is \"2021-06-06 05:32\", not ISO 8601 YYYY-MM-DDThh:mm[:ss]TZD \
             (date and time must be separated by \"T\") (IDA-Schema-5.4.2)"
        );
        assert_eq!(join("a", "procedure "), "a[\"procedure \"]");
    }

    /// Every value nested anywhere in `v`, `v` included.
    fn all_values(v: &Value) -> Vec<&Value> {
        let mut found = vec![v];
        match v {
            Value::Array(items) => found.extend(items.iter().flat_map(all_values)),
            Value::Object(o) => found.extend(o.values().flat_map(all_values)),
            _ => {}
        }
        found
    }

    fn corpus(kind: &str) -> Vec<(PathBuf, Value)> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/ida/corpus").join(kind);
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
            .map(|entry| entry.expect("directory entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        files.sort();
        files
            .into_iter()
            .map(|p| {
                let text = std::fs::read_to_string(&p).expect("readable sample");
                let sample: Value =
                    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: not JSON: {e}", p.display()));
                assert!(sample["description"].is_string(), "{}: needs a description", p.display());
                assert!(sample.get("verified_claims").is_some(), "{}: needs verified_claims", p.display());
                (p, sample)
            })
            .collect()
    }

    fn findings_for(sample: &Value) -> Vec<Finding> {
        let returned = &sample["verified_claims"];
        let mut findings = validate(returned);
        if let Some(request) = sample.get("request") {
            findings.extend(check_against_request(returned, request));
        }
        if let Some(supported) = sample.get("supported") {
            let supported: Vec<String> = serde_json::from_value(supported.clone()).expect("supported is [string]");
            findings.extend(check_supported(returned, &supported));
        }
        findings
    }

    #[test]
    fn corpus_samples() {
        let (valid, invalid) = (corpus("valid"), corpus("invalid"));
        let mut errors = Vec::new();
        for (path, sample) in &valid {
            for finding in findings_for(sample) {
                errors.push(format!("{}: unexpected {finding}", path.display()));
            }
        }
        for (path, sample) in &invalid {
            let mut findings = findings_for(sample);
            let expected = sample["expect"].as_array().filter(|e| !e.is_empty());
            let Some(expected) = expected else {
                errors.push(format!("{}: invalid sample without a non-empty expect list", path.display()));
                continue;
            };
            for want in expected {
                let (Some(at), Some(text)) = (want["path"].as_str(), want["contains"].as_str()) else {
                    errors.push(format!("{}: malformed expect entry {want}", path.display()));
                    continue;
                };
                match findings.iter().position(|f| f.path == at && f.message.contains(text)) {
                    Some(i) => {
                        findings.remove(i);
                    }
                    None => errors.push(format!("{}: missing finding at {at} containing {text:?}", path.display())),
                }
            }
            errors.extend(findings.iter().map(|f| format!("{}: unexpected {f}", path.display())));
        }
        assert!(errors.is_empty(), "corpus mismatches:\n{}", errors.join("\n"));
        assert!(valid.len() >= 12, "only {} valid samples", valid.len());
        assert!(invalid.len() >= 25, "only {} invalid samples", invalid.len());
        crate::outln!("ida corpus: {} valid accepted, {} invalid rejected", valid.len(), invalid.len());
    }

    #[test]
    fn no_panic_on_any_nested_value() {
        let odd = json!([
            null, true, 1.5, "", "2021-06-06T05:32:", "2021-06-06T05:32:00.", "日本語日本語日本語", [], {},
            {"verification": [], "claims": []},
            [{"claims": {"authority": []}}],
            {"claims": {"authority": {"permission": 3}}},
        ]);
        let mut roots = vec![odd];
        roots.extend(corpus("valid").into_iter().chain(corpus("invalid")).map(|(_, sample)| sample));
        for root in &roots {
            for value in all_values(root) {
                let _ = validate(value);
                let _ = check_against_request(value, value);
                let _ = check_against_request(root, value);
                let _ = check_supported(value, &[]);
                if let Some(s) = value.as_str() {
                    let _ = (is_time(s), is_date(s), time_problem(s), date_problem(s));
                }
            }
        }
    }
}
