@area:introspection @needs:oidc
Feature: Token introspection
  A protected resource asks the IdP about a token (RFC 7662).

  Background:
    Given the target's discovery document
    And the confidential client
    When the user logs in
    And the client exchanges the code

  @check:OIDC-INT-01 @MUST @spec:RFC7662-2.2 @fault:introspection-always-inactive
  Scenario: An active access token is reported active with its client and scope
    RFC 7662, 2.2, active: "REQUIRED. Boolean indicator of whether or not the
    presented token is currently active."

    When the client introspects the access token
    Then the introspection response says active with the client's client_id and the granted scope

  @check:OIDC-INT-02 @MUST @spec:RFC7662-2.2 @fault:introspection-revoked-active @fault:revocation-noop
  Scenario: A revoked access token is reported inactive
    RFC 7662, 2.2: "If the introspection call is properly authorized but the token
    is not active, does not exist on this server, or the protected resource is not
    allowed to introspect this particular token, then the authorization server MUST
    return an introspection response with the "active" field set to "false"."

    When the client revokes the access token
    And the client introspects the access token
    Then the introspection response says inactive

  @check:OIDC-INT-03 @MUST @spec:RFC7662-2.1 @fault:introspection-unauthenticated
  Scenario: Introspection requires authentication
    RFC 7662, 2.1: "To prevent token scanning attacks, the endpoint MUST also
    require some form of authorization to access this endpoint".

    When the access token is introspected without client authentication
    Then the introspection request is refused without saying whether the token is active
