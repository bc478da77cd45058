@area:gbizid @needs:identity-assurance @needs:oidc
Feature: The gBizID Identity Assurance profile
  gBizID (the Japanese government's business ID) releases verified_claims for
  the scope jp_gbizid_v1_ida under the trust framework jp_gbizid_v1: assurance
  level ial1 for entry accounts (with no verified claims), ial2 for prime and
  member accounts; an authority claim (Authority Claims Extension draft) names
  the corporation by its 13-digit corporate number and the account's role,
  prime or member. An administrator is a member here: gBizID carries that role
  in its separate organisation claim. The profile is shaped after the OpenID
  eKYC-IDA working group's gBizID examples and a public summary of the gBizID
  developer guideline, not an official gBizID document.

  @check:GBIZ-01 @MUST @spec:gBizID-IDA @spec:IDA-Schema-5.2 @fault:gbizid-entry-ial2 @fault:gbizid-member-as-prime @fault:ida-trust-framework-missing @fault:ida-unsupported-claim
  Scenario: Each account type's verified claims follow the gBizID profile
    For each gBizID fixture user (prime corporation, prime sole proprietor,
    member with the administrator role, member, entry): trust_framework
    jp_gbizid_v1, the assurance level of the account type, the authority role of
    the account type, and valid Identity Assurance structure.

    Given the target's discovery document
    And the ida client
    When each gBizID user logs in with the scope "openid jp_gbizid_v1_ida" and the client calls the userinfo endpoint
    Then each gBizID user's verified_claims follow the gBizID profile for their account type

  @check:SNAP-07 @BASELINE @spec:gBizID-IDA @spec:OIDC-Core-5.3.2 @fault:ida-trust-framework-missing @fault:ida-unsupported-claim @fault:ida-claims-leaked @fault:userinfo-sub-mismatch
  Scenario: A gBizID prime account's userinfo matches the baseline
    The userinfo response, verified_claims included, that the scope
    jp_gbizid_v1_ida releases for the prime corporation account.

    Given the target's discovery document
    And the ida client
    And the user "gbiz-prime"
    When the user logs in with the scope "openid jp_gbizid_v1_ida"
    And the client exchanges the code
    And the client calls the userinfo endpoint with GET
    Then the userinfo response matches its snapshot
