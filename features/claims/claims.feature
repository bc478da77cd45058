@area:claims @needs:oidc
Feature: Claims: scope claims, their types, and the claims request parameter
  What a relying party reads about the user: the claims the profile and email
  scopes release (OpenID Connect Core 5.1, 5.4) and the claims it asks for one
  by one with the claims parameter (5.5). The claim steps used here (equals,
  contains, matches, has type, is absent, tables, and comparing a claim of
  the ID token with one of userinfo) are the ones a QA engineer writes in
  their own features; see README.md.

  Background:
    Given the target's discovery document
    And the confidential client

  @check:CLM-01 @MUST @spec:OIDC-Core-5.1 @fault:userinfo-claim-types-wrong
  Scenario: Standard claims have the JSON types OpenID Connect Core 5.1 gives them
    OpenID Connect Core 1.0, 5.1: email_verified is a "boolean", updated_at a
    "number", address a JSON object, and name, email, preferred_username and the
    other standard claims are "string" values; email's value "MUST conform to the
    RFC 5322 addr-spec syntax". Each standard claim the response carries is judged;
    one it does not carry is not, since no standard claim but sub must be present
    (5.4: the scope claims are Voluntary Claims). 5.3.2: "The sub (subject) Claim
    MUST always be returned in the UserInfo Response."

    When the user logs in
    And the client exchanges the code
    And the client calls the userinfo endpoint with GET
    Then every standard claim in the userinfo response has the type OpenID Connect Core 5.1 gives it

  @check:CLM-02 @MUST @spec:OIDC-Core-5.3.2 @fault:userinfo-sub-mismatch
  Scenario: The userinfo response and the ID token name the same subject
    OpenID Connect Core 1.0, 5.3.2: "The sub Claim in the UserInfo Response MUST
    be verified to exactly match the sub Claim in the ID Token; if they do not
    match, the UserInfo Response values MUST NOT be used."

    When the user logs in
    And the client exchanges the code
    And the client calls the userinfo endpoint with GET
    Then the userinfo response claim "sub" equals the ID token claim "sub"

  @check:CLM-03 @SHOULD @spec:OIDC-Core-5.5 @needs:claims-parameter @needs:user-claims:2 @fault:claims-essential-dropped @cert:oidcc-claims-essential
  Scenario: Claims requested for the ID token through the claims parameter are in it
    OpenID Connect Core 1.0, 5.5, id_token: "Requests that the listed individual
    Claims be returned in the ID Token. If present, the listed Claims are being
    requested to be added to the default Claims in the ID Token." Support for the
    parameter is optional; a target that advertises it is held to it. The two
    claims asked for (one essential, one voluntary) are two the target declares
    for the user, so the user has them to release.

    When the user logs in with the scope openid and the claims parameter asking the ID token for two claims the user has
    And the client exchanges the code
    Then the ID token has the claims the claims parameter asked for

  @check:CLM-04 @SHOULD @spec:OIDC-Core-5.5 @needs:claims-parameter @needs:user-claims:2 @fault:claims-userinfo-ignored
  Scenario: Claims requested for userinfo through the claims parameter are returned there
    OpenID Connect Core 1.0, 5.5, userinfo: "Requests that the listed individual
    Claims be returned from the UserInfo Endpoint. If present, the listed Claims
    are being requested to be added to any Claims that are being requested using
    scope values." The two claims asked for are two the target declares for the
    user.

    When the user logs in with the scope openid and the claims parameter asking the userinfo for two claims the user has
    And the client exchanges the code
    And the client calls the userinfo endpoint with GET
    Then the userinfo response has the claims the claims parameter asked for

  @check:CLM-05 @MUST @spec:OIDC-Core-5.5.1 @needs:claims-parameter @fault:claims-sub-value-ignored
  Scenario: A claims request for another user's sub gets no positive response
    OpenID Connect Core 1.0, 5.5.1, value: "If the Claim was sub, a mismatch MUST
    cause the authentication to fail, as described in Section 3.1.2.2." 3.1.2.2:
    "the Authorization Server MUST only send a positive response if the End-User
    identified by that sub value has an active session". An error response, an
    error page or a login page shown again all pass; a code fails.

    When the user tries to log in with the scope "openid" and the claims parameter:
      """
      {"id_token": {"sub": {"value": "{other-sub}"}}}
      """
    Then the login is refused and no code is issued

  @check:CLM-06 @MUST @spec:OIDC-Core-5.5.1 @needs:claims-parameter @fault:claims-unavailable-error
  Scenario: An essential claim the user does not have is left out without an error
    OpenID Connect Core 1.0, 5.5.1: "Note that even if the Claims are not
    available because the End-User did not authorize their release or they are
    not present, the Authorization Server MUST NOT generate an error when Claims
    are not returned, whether they are Essential or Voluntary". The claim asked
    for is a standard claim the target does not declare for the user; the rule
    judged is that the login and the token request succeed (a user who has the
    claim after all may get it back).

    When the user logs in with the scope openid and the claims parameter asking, as essential, for a standard claim the user does not have
    And the client exchanges the code
    Then the token response contains an ID token

  @check:CLM-07 @MUST @spec:OIDC-Core-5.5.1 @needs:claims-parameter @needs:user-claims:1 @fault:claims-value-ignored
  Scenario: A claim requested with a value the user's does not match is left out
    OpenID Connect Core 1.0, 5.5.1, value: "When the Claim value does not match the
    requested value, the Claim is not included in the response." The claim is
    one the target declares for the user; the value asked for is not the user's.

    When the user logs in with the scope openid and the claims parameter asking userinfo for a claim the user has, with another value
    And the client exchanges the code
    And the client calls the userinfo endpoint with GET
    Then the userinfo response has none of the claims the claims parameter asked for
