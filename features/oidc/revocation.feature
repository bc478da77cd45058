@area:revocation @needs:oidc
Feature: Token revocation
  A client tells the IdP it no longer needs a token (RFC 7009), as at logout.

  Background:
    Given the target's discovery document
    And the confidential client
    When the user logs in
    And the client exchanges the code

  @check:OIDC-REV-01 @MUST @spec:RFC7009-2.2 @fault:revocation-noop
  Scenario: A revoked refresh token can no longer be used
    RFC 7009, 2.2: "The authorization server responds with HTTP status code 200 if
    the token has been revoked successfully"; 2.1: the authorization server
    "invalidates the token". A revoked token that still works was not revoked.

    When the client revokes the refresh token
    Then the revocation response is 200
    When the client refreshes the tokens
    Then the token request is refused with "invalid_grant"

  @check:OIDC-REV-02 @MUST @spec:RFC7009-2.2 @fault:revocation-invalid-token-error
  Scenario: Revoking an unknown token answers 200
    RFC 7009, 2.2: "Note: invalid tokens do not cause an error response since the
    client cannot handle such an error in a reasonable way."

    When the client revokes a token the IdP never issued
    Then the revocation response is 200

  @check:OIDC-REV-03 @SHOULD @spec:RFC7009-2.1 @fault:revocation-noop @fault:revocation-keeps-access-tokens
  Scenario: Revoking a refresh token also revokes the grant's access tokens
    RFC 7009, 2.1: "If the token passed to the request is a refresh token and the
    authorization server supports the revocation of access tokens, then the
    authorization server SHOULD also invalidate all access tokens based on the same
    authorization grant". Observed by introspection where the target has it;
    otherwise at userinfo, which must first refuse a made-up token, or the check
    cannot judge and is skipped with the reason.

    When the client revokes the refresh token
    Then the first access token is no longer accepted

  @check:OIDC-REV-04 @MUST @spec:RFC7009-2.1 @fault:revocation-any-client
  Scenario: A client cannot revoke another client's token
    RFC 7009, 2.1: the authorization server "verifies whether the token was issued
    to the client making the revocation request. If this validation fails, the
    request is refused and the client is informed of the error".

    When the other client revokes the refresh token
    And the client refreshes the tokens
    Then the token response is successful
