//! kensa's checks read as a pre-check for the OpenID Foundation's Basic OP
//! certification: which check stands for which test module of the plan, and
//! the generated table of `docs/certification.md` (`kensa checks
//! --certification`).
//!
//! A check names the modules it corresponds to with `@cert:MODULE` tags.

use std::fmt::Write as _;

use crate::checks::{Catalogue, Check};

/// The test modules of the Basic OP certification plan, in the plan's order,
/// with what each exercises. Source: the OpenID Foundation conformance suite,
/// `OIDCCBasicTestPlan` (`oidcc-basic-certification-test-plan`), which follows
/// the OpenID Connect Conformance Profiles' "Basic" column.
pub const BASIC_OP_PLAN: &[(&str, &str)] = &[
    ("oidcc-server", "code flow with client_secret_basic; ID token, state and nonce verified"),
    ("oidcc-response-type-missing", "a request without response_type is refused"),
    ("oidcc-idtoken-signature", "the ID token's signature and kid"),
    ("oidcc-idtoken-unsigned", "a client registered for unsigned ID tokens"),
    ("oidcc-userinfo-get", "userinfo by GET with a Bearer header"),
    ("oidcc-userinfo-post-header", "userinfo by POST with a Bearer header"),
    ("oidcc-userinfo-post-body", "userinfo by POST with the token in the body"),
    ("oidcc-ensure-request-without-nonce-succeeds-for-code-flow", "the code flow without nonce"),
    ("oidcc-scope-profile", "the profile scope's claims"),
    ("oidcc-scope-email", "the email scope's claims"),
    ("oidcc-scope-address", "the address scope's claim"),
    ("oidcc-scope-phone", "the phone scope's claims"),
    ("oidcc-scope-all", "all four scopes at once"),
    ("oidcc-ensure-other-scope-order-succeeds", "scope values in another order"),
    ("oidcc-display-page", "display=page"),
    ("oidcc-display-popup", "display=popup"),
    ("oidcc-prompt-login", "prompt=login re-authenticates"),
    ("oidcc-prompt-none-not-logged-in", "prompt=none without a session: login_required"),
    ("oidcc-prompt-none-logged-in", "prompt=none with a session: a code, no user interface"),
    ("oidcc-max-age-1", "max_age=1 re-authenticates"),
    ("oidcc-max-age-10000", "max_age=10000 and auth_time"),
    ("oidcc-ensure-request-with-unknown-parameter-succeeds", "an unknown parameter is ignored"),
    ("oidcc-id-token-hint", "prompt=none with id_token_hint"),
    ("oidcc-login-hint", "login_hint"),
    ("oidcc-ui-locales", "ui_locales"),
    ("oidcc-claims-locales", "claims_locales"),
    ("oidcc-ensure-request-with-acr-values-succeeds", "acr_values"),
    ("oidcc-codereuse", "a code redeemed twice"),
    ("oidcc-codereuse-30seconds", "a reused code revokes the tokens of its first use"),
    ("oidcc-ensure-registered-redirect-uri", "an unregistered redirect_uri is refused without a redirect"),
    ("oidcc-ensure-post-request-succeeds", "the authorization request by POST"),
    ("oidcc-server-client-secret-post", "code flow with client_secret_post"),
    ("oidcc-request-uri-unsigned-supported-correctly-or-rejected-as-unsupported", "an unsigned request_uri"),
    ("oidcc-unsigned-request-object-supported-correctly-or-rejected-as-unsupported", "an unsigned request object"),
    ("oidcc-claims-essential", "an essential claim through the claims parameter"),
    ("oidcc-ensure-request-object-with-redirect-uri", "the redirect_uri only inside the request object"),
    ("oidcc-refresh-token", "the refresh token grant"),
    ("oidcc-ensure-request-with-valid-pkce-succeeds", "a valid PKCE S256 pair"),
];

/// Where kensa's equivalent differs from the module, said next to it.
const NOTES: &[(&str, &str)] = &[
    (
        "oidcc-idtoken-unsigned",
        "not covered: the module registers a client for unsigned ID tokens, which needs dynamic registration; \
         kensa's clients are registered in each target's configuration. OIDC-IDT-02 checks the other side, that a \
         client registered for RS256 never gets an unsigned ID token.",
    ),
    (
        "oidcc-codereuse-30seconds",
        "kensa reuses the code at once instead of after 30 s and then checks that the first tokens stopped working.",
    ),
    (
        "oidcc-claims-essential",
        "kensa asks for the claims in the ID token; CLM-04 covers userinfo and CLM-06 an essential claim the user \
         lacks.",
    ),
];

/// Requirements of the OAuth security checklist that no check exercises,
/// with why.
const NOT_CHECKED: &[(&str, &str)] = &[
    (
        "Authorization codes are short-lived (RFC 6749 4.1.2: \"A maximum authorization code lifetime of 10 minutes \
         is RECOMMENDED\")",
        "a code's lifetime shows only by waiting it out, up to ten minutes per target, in a suite that runs in \
         seconds; single use is checked (OIDC-TOKEN-03, OIDC-TOKEN-04)",
    ),
    (
        "Unsigned ID tokens for a client registered with id_token_signed_response_alg none \
         (`oidcc-idtoken-unsigned`)",
        "the clients are registered in each target's configuration, not dynamically; OIDC-IDT-02 checks that a \
         client registered for RS256 never gets one",
    ),
];

/// The modules a check stands for (its `@cert:` tags).
#[must_use]
pub fn modules_of(check: &Check) -> Vec<&str> {
    check.tags.iter().filter_map(|t| t.strip_prefix("cert:")).collect()
}

/// `@cert:` tags that name no module of the plan, as `check: tag`.
#[must_use]
pub fn unknown_modules(catalogue: &Catalogue) -> Vec<String> {
    let mut out = Vec::new();
    for check in &catalogue.checks {
        for m in modules_of(check) {
            if !BASIC_OP_PLAN.iter().any(|(name, _)| *name == m) {
                out.push(format!("{}: {m}", check.id));
            }
        }
    }
    out
}

/// Modules of the plan that no check stands for.
#[must_use]
pub fn uncovered(catalogue: &Catalogue) -> Vec<&'static str> {
    BASIC_OP_PLAN
        .iter()
        .map(|(m, _)| *m)
        .filter(|m| !catalogue.checks.iter().any(|c| modules_of(c).contains(m)))
        .collect()
}

/// `docs/certification.md`: the plan module by module with kensa's checks,
/// then every kensa check with its module (or none) and spec clauses.
#[must_use]
pub fn markdown(catalogue: &Catalogue) -> String {
    let covered = BASIC_OP_PLAN.len() - uncovered(catalogue).len();
    let mut s = String::new();
    s.push_str(
        "# kensa as a Basic OP certification pre-check\n\n\
         Generated by `kensa checks --certification`; a test fails when this file and the feature files \
         disagree.\n\n\
         The OpenID Foundation's Basic OP certification plan (`oidcc-basic-certification-test-plan` in its \
         conformance suite) has 38 test modules. Each row below names the kensa checks that exercise the same \
         behaviour, or says why none does; a check names its modules with `@cert:` tags. A kensa verdict is not a certification: the \
         suite runs its own browser, client registration and screenshots. It tells a vendor, before they book \
         a certification run, which modules their deployment would fail and which spec sentence says why.\n\n",
    );
    let _ = writeln!(s, "Coverage: {covered} of {} modules.\n", BASIC_OP_PLAN.len());
    s.push_str("## The plan, module by module\n\n| # | module | what it exercises | kensa checks | note |\n|---|---|---|---|---|\n");
    for (i, (module, what)) in BASIC_OP_PLAN.iter().enumerate() {
        let checks: Vec<String> = catalogue
            .checks
            .iter()
            .filter(|c| modules_of(c).contains(module))
            .map(|c| format!("{} ({})", c.id, c.level))
            .collect();
        let checks = if checks.is_empty() { "none".to_owned() } else { checks.join(", ") };
        let note = NOTES.iter().find(|(m, _)| m == module).map_or("", |(_, n)| n);
        let _ = writeln!(s, "| {} | `{module}` | {what} | {checks} | {note} |", i + 1);
    }
    s.push_str("\n## Not checked, and why\n\n| requirement | why |\n|---|---|\n");
    for (what, why) in NOT_CHECKED {
        let _ = writeln!(s, "| {what} | {why} |");
    }
    s.push_str(
        "\n## Every kensa check\n\nLevel is the spec's own word for the requirement (MUST, SHOULD, MAY) or \
         BASELINE for a snapshot comparison. A SHOULD or MAY failure is reported as a warning in the console and \
         reports; it still fails the run unless the target lists it as a known deviation.\n\n\
         | check | level | title | certification module | spec |\n|---|---|---|---|---|\n",
    );
    let mut checks: Vec<&Check> = catalogue.checks.iter().collect();
    checks.sort_by(|a, b| a.id.cmp(&b.id));
    for c in checks {
        let modules = modules_of(c);
        let modules = if modules.is_empty() {
            "none".to_owned()
        } else {
            modules.iter().map(|m| format!("`{m}`")).collect::<Vec<_>>().join(", ")
        };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {modules} | {} |",
            c.id,
            c.level,
            c.title.replace('|', "\\|"),
            c.specs.join(" ")
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn catalogue() -> Catalogue {
        Catalogue::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("features")).unwrap()
    }

    #[test]
    fn every_module_of_the_basic_plan_has_a_kensa_check_or_a_written_reason() {
        assert_eq!(BASIC_OP_PLAN.len(), 38, "the plan has 38 modules");
        let c = catalogue();
        for m in uncovered(&c) {
            assert!(NOTES.iter().any(|(n, _)| *n == m), "module {m} has no kensa check and no written reason");
        }
        assert_eq!(uncovered(&c), ["oidcc-idtoken-unsigned"]);
        assert_eq!(unknown_modules(&c), Vec::<String>::new());
    }

    #[test]
    fn docs_certification_md_is_the_generated_table() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/certification.md");
        let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            on_disk == markdown(&catalogue()),
            "{} is stale: regenerate it with `kensa checks --certification > docs/certification.md`",
            path.display()
        );
    }
}
