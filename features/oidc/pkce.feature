@area:pkce @needs:oidc
Feature: Proof Key for Code Exchange
  PKCE (RFC 7636) binds the authorization code to the client instance that asked
  for it; RFC 9700 makes it the default defence against code injection.

  Background:
    Given the target's discovery document

  @check:OIDC-PKCE-01 @MUST @spec:RFC7636-4.6 @fault:pkce-plain-only @cert:oidcc-ensure-request-with-valid-pkce-succeeds
  Scenario: A public client redeems its code with the S256 verifier
    RFC 7636, 4.6: the server verifies by calculating the code challenge from the
    received code_verifier: "BASE64URL-ENCODE(SHA256(ASCII(code_verifier))) == code_challenge".

    Given the public client
    When the user logs in
    And the client exchanges the code
    Then the token response is successful

  @check:OIDC-PKCE-02 @MUST @spec:RFC7636-4.6 @fault:pkce-verifier-ignored
  Scenario: A wrong code_verifier is refused
    RFC 7636, 4.6: "If the values are not equal, an error response indicating
    "invalid_grant" as described in Section 5.2 of [RFC6749] MUST be returned."

    Given the public client
    When the user logs in
    And the client exchanges the code with a wrong code_verifier
    Then the token request is refused with "invalid_grant"

  @check:OIDC-PKCE-03 @MUST @spec:RFC7636-4.6 @spec:RFC9700-2.1.1 @fault:pkce-verifier-optional
  Scenario: A missing code_verifier is refused when a challenge was sent
    RFC 9700, 2.1.1: "If a client sends a valid PKCE code_challenge parameter in the
    authorization request, the authorization server MUST enforce the correct usage
    of code_verifier at the token endpoint."

    Given the public client
    When the user logs in
    And the client exchanges the code without a code_verifier
    Then the token request is refused with one of "invalid_grant, invalid_request"

  @check:OIDC-PKCE-04 @MUST @spec:RFC9700-2.1.1 @fault:pkce-downgrade-accepted
  Scenario: A code_verifier without a code_challenge is refused (PKCE downgrade)
    RFC 9700, 2.1.1: "Authorization servers MUST mitigate PKCE downgrade attacks by
    ensuring that a token request containing a code_verifier parameter is accepted
    only if a code_challenge parameter was present in the authorization request."

    Given the confidential client
    When the user logs in without PKCE
    And the client exchanges the code with a made-up code_verifier
    Then the token request is refused with one of "invalid_grant, invalid_request"

  @check:OIDC-PKCE-05 @MUST @spec:RFC7636-4.4.1 @spec:OIDC-Discovery-3 @fault:pkce-plain-accepted @fault:pkce-plain-advertised-refused
  Scenario: PKCE plain is refused unless the IdP advertises it
    RFC 7636, 4.4.1: "If the server supporting PKCE does not support the
    requested transformation, the authorization endpoint MUST return the
    authorization error response with "error" value set to "invalid_request"."
    What it supports is what code_challenge_methods_supported advertises
    (RFC 8414, 2: the methods "supported by this authorization server"). That
    list is the server's, not each client's: a server may hold a public client
    to S256 (RFC 9700, 2.1.1 recommends S256), so an advertised plain must work
    for some client kind, the public client or else the confidential one.

    Given the public client
    When the client sends an authorization request with PKCE method plain
    Then plain PKCE is refused unless the discovery document advertises it, and works if it does
