//! Fault switches: each one breaks exactly one behaviour of the reference IdP.

use std::fmt;
use std::str::FromStr;

/// Declares [`Fault`] with its kebab-case names and descriptions from one table.
macro_rules! faults {
    ($($variant:ident => $name:literal, $description:literal;)+) => {
        /// A deliberate deviation from the specifications. With no fault set the
        /// reference IdP behaves strictly; each fault changes one behaviour.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum Fault {
            $(
                #[doc = $description]
                $variant,
            )+
        }

        impl Fault {
            /// Every fault, in declaration order.
            pub const ALL: &'static [Fault] = &[$(Fault::$variant),+];

            /// The kebab-case name used on command lines and in feature files.
            pub fn name(self) -> &'static str {
                match self {
                    $(Fault::$variant => $name,)+
                }
            }

            /// One sentence saying what the IdP does wrong.
            pub fn description(self) -> &'static str {
                match self {
                    $(Fault::$variant => $description,)+
                }
            }
        }
    };
}

faults! {
    DiscoveryIssuerMismatch => "discovery-issuer-mismatch",
        "The discovery document's issuer has a trailing slash that the real issuer lacks.";
    DiscoveryIncomplete => "discovery-incomplete",
        "The discovery document omits the required subject_types_supported and response_types_supported.";
    DiscoveryNoRs256 => "discovery-no-rs256",
        "The discovery document does not list RS256 among the ID token signing algorithms.";
    JwksPrivateKeyExposed => "jwks-private-key-exposed",
        "The JWKS publishes the RSA private key members (d, p, q, dp, dq, qi).";
    JwksDuplicateKid => "jwks-duplicate-kid",
        "The JWKS gives the EC key the same kid as the RSA key.";
    StateNotEchoed => "state-not-echoed",
        "The successful authorization redirect drops the state parameter.";
    CallbackIssWrong => "callback-iss-wrong",
        "The successful authorization redirect carries an iss parameter that is not the issuer.";
    AnyPasswordAccepted => "any-password-accepted",
        "The login form accepts any password for an existing username.";
    LoginCsrfUnchecked => "login-csrf-unchecked",
        "The login form skips its CSRF checks (browser cookie and token).";
    ExternalAuthAttributesUnmapped => "external-auth-attributes-unmapped",
        "The email returned by the external authentication API is not mapped to the delegated user's claims.";
    ExternalAuthFormEncoded => "external-auth-form-encoded",
        "The external password check is sent form-encoded instead of as JSON.";
    ExternalAuthCalledTwice => "external-auth-called-twice",
        "The external password check is sent twice per login attempt and the second answer is used.";
    ExternalAuthInvalidCredentialsAccepted => "external-auth-invalid-credentials-accepted",
        "A 401 from the external password check is treated as success, with the username as user id.";
    ExternalAuthErrorAccepted => "external-auth-error-accepted",
        "A failure of the external password check other than 401 is treated as success, with the username as user id.";
    ExternalAuthNoTimeout => "external-auth-no-timeout",
        "Calls to the external authentication API have no time limit.";
    ExternalAuthNoLockout => "external-auth-no-lockout",
        "Passwords rejected by the external authentication API never lock the account.";
    ExternalAuthChainSendsUsername => "external-auth-chain-sends-username",
        "The user details request sends the username instead of the user id from the password check.";
    ExternalAuthChainFailureIgnored => "external-auth-chain-failure-ignored",
        "A failed user details request still signs the user in with the password check's attributes.";
    ExternalAuthPasswordInQuery => "external-auth-password-in-query",
        "The external password check also carries the password in the URL query.";
    RedirectUriPrefixMatch => "redirect-uri-prefix-match",
        "The authorization endpoint accepts any redirect_uri that starts with a registered one.";
    ResponseTypeMissingAccepted => "response-type-missing-accepted",
        "The authorization endpoint treats a missing response_type as code.";
    PkceVerifierIgnored => "pkce-verifier-ignored",
        "The token endpoint does not compare a presented code_verifier with the code_challenge.";
    PkceVerifierOptional => "pkce-verifier-optional",
        "The token endpoint redeems a PKCE-bound code without a code_verifier.";
    PkceDowngradeAccepted => "pkce-downgrade-accepted",
        "The token endpoint accepts a code_verifier for a code issued without a code_challenge.";
    PkcePlainOnly => "pkce-plain-only",
        "The token endpoint compares the code_verifier as if the challenge method were plain.";
    ClientSecretBasicNotDecoded => "client-secret-basic-not-decoded",
        "HTTP Basic client credentials are not form-url-decoded, so ids and secrets with reserved characters fail.";
    ClientSecretPostRejected => "client-secret-post-rejected",
        "The token endpoint rejects every client_secret_post authentication.";
    ClientSecretUnchecked => "client-secret-unchecked",
        "Client secrets are not compared, so any secret authenticates a known client.";
    CodeReusable => "code-reusable",
        "Authorization codes can be redeemed more than once.";
    CodeReuseKeepsTokens => "code-reuse-keeps-tokens",
        "A reused authorization code is refused but the tokens already issued from it stay valid.";
    TokenResponseCacheable => "token-response-cacheable",
        "Successful token responses lack Cache-Control: no-store and Pragma: no-cache.";
    TokenRedirectUriUnchecked => "token-redirect-uri-unchecked",
        "The token endpoint does not compare redirect_uri with the authorization request.";
    CodeNotBoundToClient => "code-not-bound-to-client",
        "An authorization code can be redeemed by a client it was not issued to.";
    IdTokenBadSignature => "id-token-bad-signature",
        "RS256 ID tokens are signed with a key other than the published rs256-1 key.";
    IdTokenAlgNone => "id-token-alg-none",
        "ID tokens are unsigned (alg none).";
    IdTokenHs256Pubkey => "id-token-hs256-pubkey",
        "ID tokens are HS256 MACs keyed with the RSA public key.";
    IdTokenWrongIss => "id-token-wrong-iss",
        "ID tokens carry an iss that is not the issuer.";
    IdTokenAudMissingClient => "id-token-aud-missing-client",
        "ID tokens are addressed to another audience and lack azp.";
    IdTokenExpired => "id-token-expired",
        "ID tokens are already expired when issued.";
    NonceNotEchoed => "nonce-not-echoed",
        "ID tokens omit the nonce sent in the authorization request.";
    AtHashWrong => "at-hash-wrong",
        "The ID token's at_hash does not match the access token.";
    IdTokenNoIat => "id-token-no-iat",
        "ID tokens lack the required iat claim.";
    Es256Ignored => "es256-ignored",
        "Clients registered for ES256 ID tokens receive RS256 ID tokens.";
    UserinfoSubMismatch => "userinfo-sub-mismatch",
        "The userinfo response's sub differs from the ID token's sub.";
    UserinfoPostUnsupported => "userinfo-post-unsupported",
        "The userinfo endpoint refuses POST requests with 405.";
    UserinfoAcceptsInvalidToken => "userinfo-accepts-invalid-token",
        "The userinfo endpoint answers any bearer token, even an unknown one.";
    RefreshIdTokenNewSub => "refresh-id-token-new-sub",
        "ID tokens from the refresh grant carry a different sub.";
    RefreshNotBoundToClient => "refresh-not-bound-to-client",
        "A refresh token can be redeemed by a client it was not issued to.";
    RefreshRotationOldValid => "refresh-rotation-old-valid",
        "A rotated refresh token stays valid after its replacement is issued.";
    RefreshScopeEscalation => "refresh-scope-escalation",
        "The refresh grant issues scopes beyond the original grant.";
    RefreshScopeEscalationSilent => "refresh-scope-escalation-silent",
        "The refresh grant issues scopes beyond the original grant and leaves scope out of its response.";
    RevocationNoop => "revocation-noop",
        "The revocation endpoint reports success but revokes nothing.";
    RevocationInvalidTokenError => "revocation-invalid-token-error",
        "The revocation endpoint answers an unknown token with an error instead of 200.";
    RevocationKeepsAccessTokens => "revocation-keeps-access-tokens",
        "Revoking a refresh token leaves the grant's access tokens valid.";
    RevocationAnyClient => "revocation-any-client",
        "The revocation endpoint revokes tokens that belong to another client.";
    IntrospectionAlwaysInactive => "introspection-always-inactive",
        "The introspection endpoint reports every token as inactive.";
    IntrospectionRevokedActive => "introspection-revoked-active",
        "The introspection endpoint reports revoked tokens as active.";
    IntrospectionUnauthenticated => "introspection-unauthenticated",
        "The introspection endpoint serves requests without client authentication.";
    ClaimsEssentialDropped => "claims-essential-dropped",
        "Claims requested as essential for the ID token through the claims parameter are left out of it.";
    ClaimsUserinfoIgnored => "claims-userinfo-ignored",
        "The userinfo member of the claims parameter is ignored: only scope claims reach userinfo.";
    ClaimsValueIgnored => "claims-value-ignored",
        "A claim requested with a value is returned even when the user's value differs.";
    UserinfoClaimTypesWrong => "userinfo-claim-types-wrong",
        "userinfo returns email_verified as the string \"true\" or \"false\" instead of a boolean.";
    ClaimsSubValueIgnored => "claims-sub-value-ignored",
        "A claims request for a specific sub does not make the authentication of another user fail.";
    ClaimsUnavailableError => "claims-unavailable-error",
        "An essential claim the user does not have makes the authorization request fail with access_denied.";
    IdaTrustFrameworkMissing => "ida-trust-framework-missing",
        "verified_claims are returned without verification.trust_framework.";
    IdaUnrequestedClaims => "ida-unrequested-claims",
        "A verified_claims request gets every verified claim and verification member the user has, requested or not.";
    IdaTrustFrameworkValueIgnored => "ida-trust-framework-value-ignored",
        "verified_claims are returned even when the request's trust_framework value does not match.";
    IdaClaimsLeaked => "ida-claims-leaked",
        "The user's verified claims are also returned, unrequested, as top-level userinfo claims.";
    IdaUnsupportedClaim => "ida-unsupported-claim",
        "verified_claims carry nationalities, a claim the IdP does not list in claims_in_verified_claims_supported.";
    GbizidEntryIal2 => "gbizid-entry-ial2",
        "gBizID entry accounts are reported at assurance level ial2 instead of ial1.";
    GbizidMemberAsPrime => "gbizid-member-as-prime",
        "gBizID member accounts carry the permission role prime instead of member.";
    AccessTokenTypJwt => "access-token-typ-jwt",
        "JWT access tokens are typed JWT instead of at+jwt.";
    AccessTokenAudIsClient => "access-token-aud-is-client",
        "JWT access tokens are addressed to the client_id instead of the resource server.";
    AccessTokenAudAll => "access-token-aud-all",
        "JWT access tokens are addressed to every resource server the IdP knows, not only the client's.";
    AccessTokenWrongIss => "access-token-wrong-iss",
        "JWT access tokens carry an iss that is not the issuer.";
    AccessTokenNoClientId => "access-token-no-client-id",
        "JWT access tokens lack the client_id claim RFC 9068 requires.";
    AccessTokenBadSignature => "access-token-bad-signature",
        "JWT access tokens are signed with a key other than the published rs256-1 key.";
    ScopeNotNarrowed => "scope-not-narrowed",
        "Authorization requests are granted every API scope the client is registered for, not only those requested.";
    RefreshScopeNarrowingIgnored => "refresh-scope-narrowing-ignored",
        "A refresh asking for a narrower scope gets access tokens with the whole original scope (a wider one is still refused).";
    RefreshAccessTokenKeepsExpiry => "refresh-access-token-keeps-expiry",
        "Access tokens from the refresh grant expire when the grant's first access token did.";
    RefreshTokenLifetimeIgnored => "refresh-token-lifetime-ignored",
        "Refresh tokens get the default lifetime instead of the client's shorter one.";
    LoopbackPortExact => "loopback-port-exact",
        "A native client's loopback redirect URI must match the registered one including its port.";
    PromptNoneShowsLogin => "prompt-none-shows-login",
        "prompt=none without a session shows the login page instead of answering login_required.";
    PromptNoneSessionIgnored => "prompt-none-session-ignored",
        "prompt=none answers login_required even when the browser has a session.";
    PromptLoginIgnored => "prompt-login-ignored",
        "prompt=login is answered from the existing session without re-authenticating the user.";
    MaxAgeIgnored => "max-age-ignored",
        "max_age is ignored: a session older than max_age is used without re-authentication.";
    AuthTimeMissing => "auth-time-missing",
        "ID tokens never carry auth_time, even when max_age was requested.";
    IdTokenHintRejected => "id-token-hint-rejected",
        "prompt=none with an id_token_hint answers login_required even when the hinted user is signed in.";
    UnknownParamRejected => "unknown-param-rejected",
        "The authorization endpoint refuses requests that carry a parameter it does not know.";
    AuthorizePostUnsupported => "authorize-post-unsupported",
        "The authorization endpoint refuses POST requests with 405.";
    NonceRequired => "nonce-required",
        "The authorization endpoint refuses code-flow requests without a nonce.";
    ScopeOrderSensitive => "scope-order-sensitive",
        "The authorization endpoint refuses a scope whose first value is not openid.";
    DisplayRejected => "display-rejected",
        "The authorization endpoint refuses requests with a display parameter.";
    UiLocalesRejected => "ui-locales-rejected",
        "The authorization endpoint refuses requests with a ui_locales parameter.";
    ClaimsLocalesRejected => "claims-locales-rejected",
        "The authorization endpoint refuses requests with a claims_locales parameter.";
    LoginHintRejected => "login-hint-rejected",
        "The authorization endpoint refuses requests with a login_hint parameter.";
    AcrValuesRejected => "acr-values-rejected",
        "The authorization endpoint refuses requests with an acr_values parameter.";
    UserinfoBodyTokenRejected => "userinfo-body-token-rejected",
        "The userinfo endpoint ignores an access token sent in a POST body.";
    UserinfoNoChallenge => "userinfo-no-challenge",
        "The userinfo endpoint answers a request without a token with 401 but no WWW-Authenticate challenge.";
    UserinfoQueryTokenAccepted => "userinfo-query-token-accepted",
        "The userinfo endpoint accepts an access token in the URL query.";
    TokenBasicNoChallenge => "token-basic-no-challenge",
        "A failed HTTP Basic client authentication at the token endpoint gets 401 without WWW-Authenticate.";
    RedirectUriQueryIgnored => "redirect-uri-query-ignored",
        "redirect_uri is compared without its query, so added query parameters pass.";
    RedirectUriCaseInsensitive => "redirect-uri-case-insensitive",
        "redirect_uri is compared case-insensitively, path included.";
    RedirectUriDecoded => "redirect-uri-decoded",
        "redirect_uri is percent-decoded before it is compared with the registered ones.";
    PkcePlainAccepted => "pkce-plain-accepted",
        "code_challenge_method=plain is accepted although discovery advertises only S256.";
    PkcePlainAdvertisedRefused => "pkce-plain-advertised-refused",
        "Discovery advertises code_challenge_method=plain, which the authorization endpoint refuses for every client.";
    RefreshReuseUndetected => "refresh-reuse-undetected",
        "Presenting a rotated refresh token again is refused but leaves its successor valid.";
    DiscoveryDeadEndpoint => "discovery-dead-endpoint",
        "The discovery document advertises an end_session_endpoint that does not exist.";
    DiscoveryAuthMethodsWrong => "discovery-auth-methods-wrong",
        "The discovery document advertises only private_key_jwt at the token endpoint, which the IdP does not support.";
    DiscoveryScopesWithoutOpenid => "discovery-scopes-without-openid",
        "The discovery document's scopes_supported omits openid.";
    RequestObjectIgnored => "request-object-ignored",
        "The request parameter is ignored: only the query's parameters are used.";
    RequestUriWrongError => "request-uri-wrong-error",
        "request_uri, which the IdP does not support, is refused with invalid_request instead of request_uri_not_supported.";
    ScopeProfileIgnored => "scope-profile-ignored",
        "The profile scope is granted but its claims are not released at the userinfo endpoint.";
    ScopeEmailIgnored => "scope-email-ignored",
        "The email scope is granted but its claims are not released at the userinfo endpoint.";
    ScopeAddressIgnored => "scope-address-ignored",
        "The address scope is granted but the address claim is not released at the userinfo endpoint.";
    ScopePhoneIgnored => "scope-phone-ignored",
        "The phone scope is granted but its claims are not released at the userinfo endpoint.";
    UserinfoAcceptsExpiredToken => "userinfo-accepts-expired-token",
        "The userinfo endpoint answers expired (unrevoked) access tokens.";
    SamlUnsigned => "saml-unsigned",
        "SAML Responses and their Assertions carry no signature.";
    SamlSignedByUnpublishedKey => "saml-signed-by-unpublished-key",
        "SAML Responses are signed with a key the IdP's metadata does not publish.";
    SamlAlteredAfterSigning => "saml-altered-after-signing",
        "The NameID of a SAML assertion is changed after signing, so the digests no longer match.";
    SamlIssuerWrong => "saml-issuer-wrong",
        "SAML assertions name an Issuer other than the IdP's entity id.";
    SamlAudienceWrong => "saml-audience-wrong",
        "SAML assertions are restricted to the IdP's own entity id instead of AWS.";
    SamlRecipientWrong => "saml-recipient-wrong",
        "The bearer SubjectConfirmationData names the IdP's own ACS URL as Recipient instead of AWS's sign-in endpoint.";
    SamlDestinationWrong => "saml-destination-wrong",
        "SAML Responses carry a Destination other than AWS's sign-in endpoint.";
    SamlAssertionExpired => "saml-assertion-expired",
        "SAML assertions are already past NotOnOrAfter, beyond the clock skew, when issued.";
    SamlNotYetValid => "saml-not-yet-valid",
        "SAML assertions become valid (NotBefore) ten minutes after they are issued.";
    SamlLifetimeDay => "saml-lifetime-day",
        "SAML assertions stay valid for a day, so a captured assertion can be replayed long after sign-in.";
    SamlRoleMissing => "saml-role-missing",
        "SAML assertions lack the AWS Role attribute.";
    SamlRolePairIncomplete => "saml-role-pair-incomplete",
        "The AWS Role attribute holds the role ARN without the provider ARN.";
    SamlSessionNameInvalid => "saml-session-name-invalid",
        "The RoleSessionName attribute is the display name, with spaces and parentheses AWS refuses.";
    SamlSessionDurationOutOfRange => "saml-session-duration-out-of-range",
        "The SessionDuration attribute is 60 seconds, below AWS's minimum of 900.";
    SamlMetadataNoSigningKey => "saml-metadata-no-signing-key",
        "The SAML metadata publishes no signing key (no KeyDescriptor).";
    SamlRotationMetadataStale => "saml-rotation-metadata-stale",
        "After a signing-key rotation the metadata still publishes the old certificate.";
    SamlInResponseToMissing => "saml-in-response-to-missing",
        "SP-initiated sign-ins get an unsolicited Response: no InResponseTo naming the AuthnRequest.";
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The error for a fault name that [`Fault::from_str`] does not know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownFault(pub String);

impl fmt::Display for UnknownFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown fault \"{}\"; known faults: ", self.0)?;
        for (i, fault) in Fault::ALL.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(fault.name())?;
        }
        Ok(())
    }
}

impl std::error::Error for UnknownFault {}

impl FromStr for Fault {
    type Err = UnknownFault;

    fn from_str(s: &str) -> Result<Fault, UnknownFault> {
        Fault::ALL.iter().copied().find(|f| f.name() == s).ok_or_else(|| UnknownFault(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn names_round_trip() {
        for &fault in Fault::ALL {
            assert_eq!(fault.name().parse::<Fault>(), Ok(fault));
            assert_eq!(fault.to_string(), fault.name());
            assert!(fault.description().ends_with('.'));
        }
    }

    #[test]
    fn names_are_unique_kebab_case() {
        let names: HashSet<_> = Fault::ALL.iter().map(|f| f.name()).collect();
        assert_eq!(names.len(), Fault::ALL.len());
        assert_eq!(Fault::ALL.len(), 134);
        for name in names {
            assert!(name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'), "{name}");
        }
    }

    #[test]
    fn unknown_fault_lists_known_ones() {
        let err = "no-such-fault".parse::<Fault>().unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("unknown fault \"no-such-fault\"; known faults: discovery-issuer-mismatch, "));
        assert!(text.ends_with("saml-in-response-to-missing"));
    }
}
