@area:identity-assurance @needs:identity-assurance @needs:oidc
Feature: Verified claims (OpenID Connect for Identity Assurance 1.0)
  A relying party asks for verified claims through the claims parameter and
  reads what comes back: a verified_claims element whose verification says
  under which trust framework the claims were verified. kensa validates the
  structure from the spec text (OpenID Identity Assurance Schema Definition
  1.0) and the rules on what the IdP may return (OpenID Connect for Identity
  Assurance 1.0). The final texts use ISO keywords: "shall" is read as MUST.
  The user is the gBizID prime account of fixtures/ida/gbizid-users.toml.

  Background:
    Given the target's discovery document
    And the ida client
    And the user "gbiz-prime"

  @check:IDA-01 @MUST @spec:IDA-Schema-5.2 @spec:IDA-Schema-5.4.2 @fault:ida-trust-framework-missing @fault:claims-userinfo-ignored
  Scenario: Requested verified claims come back as valid verified_claims
    Identity Assurance Schema 1.0, 5.2: verified_claims is "A single object or an
    array of objects", each with claims ("Required") and verification
    ("Required"); 5.4.2: "trust_framework: Required."

    When the user logs in with the scope "openid" and the claims parameter:
      """
      {"userinfo": {"verified_claims": {
        "verification": {"trust_framework": null, "assurance_level": null, "time": null},
        "claims": {"given_name": null, "family_name": null, "birthdate": null}}}}
      """
    And the client exchanges the code
    And the client calls the userinfo endpoint with GET
    Then the userinfo response's verified_claims are valid Identity Assurance claims

  @check:IDA-02 @MUST @spec:IDA-7 @spec:IDA-5.4 @fault:ida-unrequested-claims @fault:ida-unsupported-claim @fault:claims-userinfo-ignored
  Scenario: Verified claims hold only the claims and verification data requested
    OpenID Connect for Identity Assurance 1.0, 7: "The OP shall not provide the
    RP with any data it did not request." 5.4: "The RP shall explicitly request
    any data it wants the OP to add to the verification element."

    When the user logs in with the scope "openid" and the claims parameter:
      """
      {"userinfo": {"verified_claims": {
        "verification": {"trust_framework": null},
        "claims": {"given_name": null}}}}
      """
    And the client exchanges the code
    And the client calls the userinfo endpoint with GET
    Then the userinfo response's verified_claims hold only what was requested

  @check:IDA-03 @MUST @spec:IDA-7 @fault:ida-claims-leaked
  Scenario: Verified claims do not leak into unrequested top-level claims
    OpenID Connect for Identity Assurance 1.0, 7: "The OP shall not provide the
    RP with any data it did not request." With the scope openid alone and only
    verified_claims requested, userinfo carries sub and verified_claims.

    When the user logs in with the scope "openid" and the claims parameter:
      """
      {"userinfo": {"verified_claims": {
        "verification": {"trust_framework": null},
        "claims": {"family_name": null, "birthdate": null}}}}
      """
    And the client exchanges the code
    And the client calls the userinfo endpoint with GET
    Then the userinfo response has only the claims its scope and the claims parameter requested

  @check:IDA-04 @MUST @spec:IDA-5.7.4 @spec:IDA-5.5.1 @fault:ida-trust-framework-value-ignored @fault:ida-unrequested-claims
  Scenario: Verified claims under another trust framework than requested are omitted, without an error
    OpenID Connect for Identity Assurance 1.0, 5.7.4: "If the respective
    requirement was expressed for a claim within verified_claims/verification,
    the OP shall omit the whole verified_claims element." and "In both cases, the
    OP shall not return an error to the RP."

    When the user logs in with the scope "openid" and the claims parameter:
      """
      {"userinfo": {"verified_claims": {
        "verification": {"trust_framework": {"value": "kensa_unknown_framework"}},
        "claims": {"given_name": null}}}}
      """
    And the client exchanges the code
    And the client calls the userinfo endpoint with GET
    Then the userinfo response has no verified_claims

  @check:IDA-05 @MUST @spec:IDA-8 @fault:ida-unsupported-claim
  Scenario: Verified claims are only claims the IdP lists in claims_in_verified_claims_supported
    OpenID Connect for Identity Assurance 1.0, 8,
    claims_in_verified_claims_supported: "claims that are not present in this
    array shall not be returned within the verified_claims object."

    When the user logs in with the scope "openid jp_gbizid_v1_ida"
    And the client exchanges the code
    And the client calls the userinfo endpoint with GET
    Then the userinfo response's verified claims are all in claims_in_verified_claims_supported
