//! What AWS STS checks before `AssumeRoleWithSAML` hands out credentials,
//! one [`Rule`] at a time, so that each can be checked (and broken by a
//! fault of the reference IdP) on its own. Sources: the IAM User Guide,
//! "Configure SAML assertions for the authentication response", and the
//! STS API Reference, `AssumeRoleWithSAML`.

use std::fmt;

use serde::Deserialize;

use crate::saml::metadata::IdpMetadata;
use crate::saml::response::{self, Assertion, SamlError};

/// AWS's SAML sign-in endpoint: the Recipient, Destination and Audience.
pub const SIGNIN: &str = "https://signin.aws.amazon.com/saml";
/// AWS's SAML service provider entity id, also accepted as the Audience.
pub const AWS_ENTITY: &str = "urn:amazon:webservices";
/// The Role attribute: "role-arn,provider-arn" pairs.
pub const ROLE_ATTR: &str = "https://aws.amazon.com/SAML/Attributes/Role";
/// The RoleSessionName attribute.
pub const SESSION_NAME_ATTR: &str = "https://aws.amazon.com/SAML/Attributes/RoleSessionName";
/// The SessionDuration attribute, in seconds.
pub const SESSION_DURATION_ATTR: &str = "https://aws.amazon.com/SAML/Attributes/SessionDuration";
/// Clock skew tolerated on NotBefore and NotOnOrAfter, in seconds.
pub const CLOCK_SKEW: i64 = 300;
/// Longest base64 SAMLAssertion parameter, in characters (API reference).
pub const MAX_ASSERTION_CHARS: usize = 100_000;

/// The AWS side of the file linkage: the account, the role the systems
/// assume, the IAM SAML provider holding the IdP's metadata, and the
/// bucket (`fixtures/file-linkage.toml`).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Linkage {
    /// The 12-digit account id.
    pub account: String,
    /// The role name.
    pub role: String,
    /// The IAM SAML provider's name.
    pub provider: String,
    /// The SessionDuration the IdP asserts, in seconds.
    pub session_duration: u32,
    /// The region.
    pub region: String,
    /// The bucket of the linkage files.
    pub bucket: String,
}

impl Linkage {
    /// Loads `fixtures/file-linkage.toml`.
    ///
    /// # Errors
    /// When the file is missing or invalid.
    pub fn load(path: &std::path::Path) -> Result<Linkage, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let l: Linkage = toml::from_str(&text).map_err(|e| format!("{}: {}", path.display(), e.message()))?;
        if l.account.len() != 12 || !l.account.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("{}: account must be 12 digits", path.display()));
        }
        Ok(l)
    }

    /// `arn:aws:iam::ACCOUNT:role/ROLE`.
    #[must_use]
    pub fn role_arn(&self) -> String {
        format!("arn:aws:iam::{}:role/{}", self.account, self.role)
    }

    /// `arn:aws:iam::ACCOUNT:saml-provider/PROVIDER`.
    #[must_use]
    pub fn provider_arn(&self) -> String {
        format!("arn:aws:iam::{}:saml-provider/{}", self.account, self.provider)
    }

    /// The Role attribute value the IdP asserts.
    #[must_use]
    pub fn role_value(&self) -> String {
        format!("{},{}", self.role_arn(), self.provider_arn())
    }
}

/// An STS error, as AWS answers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StsError {
    /// HTTP status.
    pub status: u16,
    /// The error code (`InvalidIdentityToken`, `ExpiredToken`, ...).
    pub code: &'static str,
    /// The message.
    pub message: String,
}

impl fmt::Display for StsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {}", self.code, self.status, self.message)
    }
}

impl std::error::Error for StsError {}

fn invalid(message: impl Into<String>) -> StsError {
    StsError { status: 400, code: "InvalidIdentityToken", message: message.into() }
}

/// The rules, in the order STS applies them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// The Response or the Assertion is signed with a key of the provider's
    /// metadata, and the XML is a well-formed, unambiguous SAML Response.
    Signature,
    /// The Assertion's Issuer is the provider's entity id.
    Issuer,
    /// An Audience is AWS's sign-in endpoint or entity id.
    Audience,
    /// A bearer SubjectConfirmationData names AWS's sign-in endpoint as
    /// Recipient and has a NotOnOrAfter.
    Recipient,
    /// The Response's Destination, when present, is AWS's sign-in endpoint.
    Destination,
    /// Now lies within NotBefore and NotOnOrAfter (of the Conditions and of
    /// the bearer confirmation), with the tolerated skew.
    Validity,
    /// The Role attribute holds the requested role and provider pair.
    Role,
    /// The RoleSessionName attribute is 2 to 64 of `[\w+=,.@-]`.
    RoleSessionName,
    /// The SessionDuration attribute, when present, is 900 to 43200.
    SessionDuration,
}

impl Rule {
    /// Every rule, in order.
    pub const ALL: &'static [Rule] = &[
        Rule::Signature,
        Rule::Issuer,
        Rule::Audience,
        Rule::Recipient,
        Rule::Destination,
        Rule::Validity,
        Rule::Role,
        Rule::RoleSessionName,
        Rule::SessionDuration,
    ];

    /// The name used in feature files.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Rule::Signature => "signature",
            Rule::Issuer => "issuer",
            Rule::Audience => "audience",
            Rule::Recipient => "recipient",
            Rule::Destination => "destination",
            Rule::Validity => "validity",
            Rule::Role => "role",
            Rule::RoleSessionName => "role-session-name",
            Rule::SessionDuration => "session-duration",
        }
    }

    /// The rule named `name`.
    #[must_use]
    pub fn named(name: &str) -> Option<Rule> {
        Rule::ALL.iter().copied().find(|r| r.name() == name)
    }
}

/// What an `AssumeRoleWithSAML` call asks for.
#[derive(Debug, Clone)]
pub struct Request {
    /// RoleArn.
    pub role_arn: String,
    /// PrincipalArn: the IAM SAML provider.
    pub principal_arn: String,
    /// DurationSeconds, if given.
    pub duration_seconds: Option<u32>,
}

/// An IAM SAML provider: its ARN and the IdP metadata it holds.
#[derive(Debug, Clone)]
pub struct Provider {
    /// Its ARN.
    pub arn: String,
    /// The IdP's metadata as last uploaded.
    pub metadata: IdpMetadata,
}

/// Decodes the SAMLAssertion parameter (a base64 SAML Response) and reads
/// it with the provider's keys: the [`Rule::Signature`] rule.
///
/// # Errors
/// As STS answers: `InvalidIdentityToken` for anything malformed, hostile
/// or not signed with a key of the metadata.
pub fn read(saml_b64: &str, provider: &Provider) -> Result<Assertion, StsError> {
    let xml = decode(saml_b64)?;
    response::read(&xml, &provider.metadata.keys).map_err(refusal)
}

/// Decodes and reads the SAMLAssertion parameter without judging its
/// signatures, to check the other rules one at a time.
///
/// # Errors
/// `InvalidIdentityToken` for anything malformed or hostile.
pub fn inspect(saml_b64: &str) -> Result<Assertion, StsError> {
    response::read_unverified(&decode(saml_b64)?).map_err(refusal)
}

fn refusal(e: SamlError) -> StsError {
    match e {
        SamlError::Signature(detail) => invalid(format!("Response signature invalid ({detail})")),
        SamlError::Malformed(detail) => invalid(format!("Invalid SAML response: {detail}")),
        SamlError::Unsupported(detail) => invalid(format!("Unsupported SAML response: {detail}")),
    }
}

fn decode(saml_b64: &str) -> Result<String, StsError> {
    use base64::Engine as _;
    if saml_b64.len() < 4 || saml_b64.len() > MAX_ASSERTION_CHARS {
        return Err(StsError {
            status: 400,
            code: "ValidationError",
            message: format!(
                "SAMLAssertion has {} characters; it must have 4 to {MAX_ASSERTION_CHARS}",
                saml_b64.len()
            ),
        });
    }
    let compact: String = saml_b64.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(compact)
        .map_err(|_| invalid("Invalid base64 SAML assertion"))?;
    String::from_utf8(bytes).map_err(|_| invalid("The SAML assertion is not UTF-8 text"))
}

fn session_name_ok(name: &str) -> bool {
    (2..=64).contains(&name.chars().count()) && name.chars().all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c))
}

/// Checks one rule other than [`Rule::Signature`] on a read assertion, at
/// `now` (seconds since the epoch).
///
/// # Errors
/// The error STS answers when the rule is broken.
pub fn check(rule: Rule, a: &Assertion, provider: &Provider, req: &Request, now: i64) -> Result<(), StsError> {
    match rule {
        Rule::Signature => Ok(()),
        Rule::Issuer => {
            let entity = &provider.metadata.entity_id;
            if &a.issuer != entity {
                return Err(invalid(format!(
                    "Issuer not present in specified provider (the assertion's Issuer {:?} is not the entity id {entity:?} of {})",
                    a.issuer, provider.arn
                )));
            }
            if let Some(ri) = &a.response_issuer
                && ri != entity
            {
                return Err(invalid(format!(
                    "Issuer not present in specified provider (the Response's Issuer {ri:?} is not {entity:?})"
                )));
            }
            Ok(())
        }
        Rule::Audience => {
            let ok = |aud: &str| aud == SIGNIN || aud == AWS_ENTITY || is_regional_signin(aud);
            if a.audience_restrictions.is_empty() {
                return Err(invalid("Response does not contain the required audience. (no AudienceRestriction)"));
            }
            for restriction in &a.audience_restrictions {
                if !restriction.iter().any(|aud| ok(aud)) {
                    return Err(invalid(format!(
                        "Response does not contain the required audience. ({restriction:?} names neither {SIGNIN} nor {AWS_ENTITY})"
                    )));
                }
            }
            Ok(())
        }
        Rule::Recipient => {
            if a.bearer.is_empty() {
                return Err(invalid("The assertion has no bearer SubjectConfirmation"));
            }
            let fit =
                a.bearer.iter().find(|b| b.recipient.as_deref().is_some_and(|r| r == SIGNIN || is_regional_signin(r)));
            match fit {
                None => Err(invalid(format!(
                    "No bearer SubjectConfirmationData names {SIGNIN} as Recipient (found {:?})",
                    a.bearer.iter().map(|b| b.recipient.clone().unwrap_or_default()).collect::<Vec<_>>()
                ))),
                Some(b) if b.not_on_or_after.is_none() => {
                    Err(invalid("The bearer SubjectConfirmationData has no NotOnOrAfter"))
                }
                Some(_) => Ok(()),
            }
        }
        Rule::Destination => match &a.destination {
            Some(d) if d != SIGNIN && !is_regional_signin(d) => {
                Err(invalid(format!("Destination {d:?} of the Response is not {SIGNIN}")))
            }
            _ => Ok(()),
        },
        Rule::Validity => {
            let mut not_after = a.not_on_or_after.into_iter().collect::<Vec<_>>();
            not_after.extend(a.bearer.iter().filter_map(|b| b.not_on_or_after));
            if let Some(limit) = not_after.iter().min()
                && now >= limit + CLOCK_SKEW
            {
                return Err(StsError {
                    status: 400,
                    code: "ExpiredTokenException",
                    message: format!(
                        "Token expired: current date/time {} must be before NotOnOrAfter {}",
                        crate::time::xs_datetime(now),
                        crate::time::xs_datetime(*limit)
                    ),
                });
            }
            let mut not_before = a.not_before.into_iter().collect::<Vec<_>>();
            not_before.extend(a.bearer.iter().filter_map(|b| b.not_before));
            if let Some(start) = not_before.iter().max()
                && now + CLOCK_SKEW < *start
            {
                return Err(invalid(format!(
                    "Token not yet valid: current date/time {} is before NotBefore {}",
                    crate::time::xs_datetime(now),
                    crate::time::xs_datetime(*start)
                )));
            }
            Ok(())
        }
        Rule::Role => {
            let values = a.attribute(ROLE_ATTR);
            if values.is_empty() {
                return Err(invalid(format!("The assertion has no {ROLE_ATTR} attribute")));
            }
            let wanted = |v: &str| {
                let parts: Vec<&str> = v.split(',').map(str::trim).collect();
                parts.len() == 2
                    && parts.contains(&req.role_arn.as_str())
                    && parts.contains(&req.principal_arn.as_str())
            };
            if values.iter().any(|v| wanted(v)) {
                Ok(())
            } else {
                Err(StsError {
                    status: 403,
                    code: "AccessDenied",
                    message: format!(
                        "Not authorized to perform sts:AssumeRoleWithSAML: the Role attribute {values:?} does not hold the pair {},{}",
                        req.role_arn, req.principal_arn
                    ),
                })
            }
        }
        Rule::RoleSessionName => {
            let values = a.attribute(SESSION_NAME_ATTR);
            match values.as_slice() {
                [name] if session_name_ok(name) => Ok(()),
                [name] => Err(invalid(format!(
                    "RoleSessionName in AuthnResponse must match [a-zA-Z_0-9+=,.@-]{{2,64}} (it is {name:?})"
                ))),
                [] => Err(invalid("RoleSessionName is required in AuthnResponse")),
                more => {
                    Err(invalid(format!("The assertion has {} RoleSessionName values; one is required", more.len())))
                }
            }
        }
        Rule::SessionDuration => {
            let values = a.attribute(SESSION_DURATION_ATTR);
            match values.as_slice() {
                [] => Ok(()),
                [v] => match v.parse::<u32>() {
                    Ok(d) if (900..=43_200).contains(&d) => Ok(()),
                    _ => Err(invalid(format!("SessionDuration {v:?} must be an integer from 900 to 43200 seconds"))),
                },
                more => Err(invalid(format!(
                    "The assertion has {} SessionDuration values; at most one is allowed",
                    more.len()
                ))),
            }
        }
    }
}

fn is_regional_signin(url: &str) -> bool {
    url.strip_prefix("https://").and_then(|r| r.strip_suffix(".signin.aws.amazon.com/saml")).is_some_and(|region| {
        !region.is_empty() && region.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    })
}

/// What STS grants: the session's name and duration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Granted {
    /// RoleSessionName.
    pub session_name: String,
    /// Duration in seconds.
    pub duration: u32,
    /// The NameID.
    pub subject: String,
    /// The issuer.
    pub issuer: String,
}

/// Checks an inline session policy (the `Policy` parameter) as STS does
/// before it looks at the assertion: 1 to 2,048 characters (API reference,
/// AssumeRoleWithSAML: "The plaintext that you use for both inline and
/// managed session policies can't exceed 2,048 characters"), then a JSON
/// policy document whose Statement is one statement or a non-empty list of
/// them, each with Effect Allow or Deny; anything else is
/// `MalformedPolicyDocument`. The mock checks the document's form only: it
/// does not narrow what the storage then allows.
///
/// # Errors
/// `ValidationError` for the length, `MalformedPolicyDocument` for the form.
pub fn session_policy(policy: &str) -> Result<(), StsError> {
    let chars = policy.chars().count();
    if !(1..=2048).contains(&chars) {
        return Err(StsError {
            status: 400,
            code: "ValidationError",
            message: format!(
                "1 validation error detected: Value at 'policy' failed to satisfy constraint: Member must have \
                 length between 1 and 2048 (it has {chars})"
            ),
        });
    }
    let malformed = |message: String| StsError { status: 400, code: "MalformedPolicyDocument", message };
    let doc: serde_json::Value =
        serde_json::from_str(policy).map_err(|e| malformed(format!("Syntax errors in policy: {e}")))?;
    let statements = match doc.get("Statement") {
        Some(serde_json::Value::Array(list)) if !list.is_empty() => list.iter().collect::<Vec<_>>(),
        Some(one @ serde_json::Value::Object(_)) => vec![one],
        _ => return Err(malformed("The policy has no Statement, or an empty one".into())),
    };
    for st in statements {
        match st.get("Effect").and_then(serde_json::Value::as_str) {
            Some("Allow" | "Deny") => {}
            _ => return Err(malformed("Every Statement needs Effect Allow or Deny".into())),
        }
    }
    Ok(())
}

/// Applies every rule, as `AssumeRoleWithSAML` does.
///
/// # Errors
/// The first broken rule's error.
pub fn assume(saml_b64: &str, req: &Request, providers: &[Provider], now: i64) -> Result<Granted, StsError> {
    if let Some(d) = req.duration_seconds
        && !(900..=43_200).contains(&d)
    {
        return Err(StsError {
            status: 400,
            code: "ValidationError",
            message: format!("DurationSeconds {d} must be from 900 to 43200"),
        });
    }
    let provider = providers.iter().find(|p| p.arn == req.principal_arn).ok_or_else(|| StsError {
        status: 400,
        code: "InvalidIdentityToken",
        message: format!("Specified provider doesn't exist. ({})", req.principal_arn),
    })?;
    let a = read(saml_b64, provider)?;
    for rule in Rule::ALL {
        check(*rule, &a, provider, req, now)?;
    }
    let session_name = a.attribute(SESSION_NAME_ATTR).into_iter().next().unwrap_or_default();
    let asserted = a.attribute(SESSION_DURATION_ATTR).first().and_then(|v| v.parse::<u32>().ok());
    // The session lasts DurationSeconds, else the asserted SessionDuration,
    // else one hour (API reference: DurationSeconds defaults to 3600).
    let duration = req.duration_seconds.or(asserted).unwrap_or(3600);
    Ok(Granted { session_name, duration, subject: a.name_id.unwrap_or_default(), issuer: a.issuer })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_names_and_regional_endpoints() {
        assert!(session_name_ok("alice@example.jp"));
        assert!(session_name_ok("a_b+c=d,e.f-g"));
        assert!(!session_name_ok("a"));
        assert!(!session_name_ok("alice smith"));
        assert!(!session_name_ok(&"a".repeat(65)));
        assert!(is_regional_signin("https://ap-northeast-1.signin.aws.amazon.com/saml"));
        assert!(!is_regional_signin("https://evil.example/.signin.aws.amazon.com/saml"));
        assert_eq!(Rule::named("role-session-name"), Some(Rule::RoleSessionName));
    }

    #[test]
    fn session_policies_are_checked_for_length_and_form() {
        let ok = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#;
        assert_eq!(session_policy(ok), Ok(()));
        let one = r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"s3:*","Resource":"*"}}"#;
        assert_eq!(session_policy(one), Ok(()));
        assert_eq!(session_policy("").unwrap_err().code, "ValidationError");
        let long = format!(r#"{{"Statement":{{"Effect":"Allow","Sid":"{}"}}}}"#, "a".repeat(2048));
        assert_eq!(session_policy(&long).unwrap_err().code, "ValidationError");
        for bad in
            ["not json", r#"{"Version":"2012-10-17"}"#, r#"{"Statement":[]}"#, r#"{"Statement":[{"Effect":"Maybe"}]}"#]
        {
            let e = session_policy(bad).unwrap_err();
            assert_eq!(e.code, "MalformedPolicyDocument", "{bad}: {e}");
        }
    }
}
