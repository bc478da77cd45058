@area:refresh @needs:oidc
Feature: Refresh tokens
  A refresh token obtains new access tokens for the client it was issued to
  (RFC 6749, 6; OpenID Connect Core 1.0, 12).

  Background:
    Given the target's discovery document

  @check:OIDC-RT-01 @MUST @spec:OIDC-Core-12.2 @fault:refresh-id-token-new-sub @cert:oidcc-refresh-token
  Scenario: A refreshed ID token keeps the original iss, sub and aud
    OpenID Connect Core 1.0, 12.2: if an ID token is returned, "its iss Claim Value
    MUST be the same as in the ID Token issued when the original authentication
    occurred, its sub Claim Value MUST be the same as in the ID Token issued when
    the original authentication occurred" and "its aud Claim Value MUST be the same".

    Given the confidential client
    When the user logs in
    And the client exchanges the code
    And the client refreshes the tokens
    Then the token response is successful
    And the refreshed ID token, if any, keeps the original iss, sub and aud

  @check:OIDC-RT-02 @MUST @spec:RFC6749-6 @spec:RFC9700-4.14.2 @fault:refresh-not-bound-to-client
  Scenario: A refresh token cannot be used by another client
    RFC 6749, 6: the server MUST "validate the refresh token" and "ensure that the
    refresh token was issued to the authenticated client"; RFC 9700, 4.14.2: "the
    authorization server MUST ... ensure that the refresh token was issued to the
    authenticated client".

    Given the confidential client
    When the user logs in
    And the client exchanges the code
    And the other client uses the refresh token
    Then the token request is refused with "invalid_grant"

  @check:OIDC-RT-03 @MUST @spec:RFC9700-4.14.2 @fault:refresh-rotation-old-valid @fault:pkce-plain-only
  Scenario: A rotated refresh token cannot be used again
    RFC 9700, 4.14.2: "Refresh tokens for public clients MUST be sender-constrained
    or use refresh token rotation"; with rotation the authorization server "issues
    a new refresh token with every access token refresh response. The previous
    refresh token is invalidated". An IdP that rotates must refuse the old one.

    Given the public client
    When the user logs in
    And the client exchanges the code
    And the client refreshes the tokens
    Then the refresh token is rotated
    When the client refreshes with the previous refresh token
    Then the token request is refused with "invalid_grant"

  @check:OIDC-RT-04 @MUST @spec:RFC6749-6 @fault:refresh-scope-escalation @fault:refresh-scope-escalation-silent
  Scenario: A refresh cannot widen the granted scope
    RFC 6749, 6, scope: "The requested scope MUST NOT include any scope not
    originally granted by the resource owner". The server may refuse such a
    request or, per 3.3, "fully or partially ignore the scope requested by the
    client"; the breach is issuing the wider scope. Judged by the refresh
    response's scope member, or, where it omits it, by what the new access token
    introspects to or opens at userinfo beyond the original token.

    Given the confidential client
    When the user logs in with the scope "openid offline_access"
    And the client exchanges the code
    And the client refreshes the tokens asking for the scope "openid offline_access email"
    Then the refresh grants no scope beyond the original grant

  @check:OIDC-RT-05 @SHOULD @spec:RFC9700-4.14.2 @fault:refresh-reuse-undetected @fault:pkce-plain-only @fault:refresh-rotation-old-valid
  Scenario: Presenting a rotated refresh token again revokes its successor
    RFC 9700, 4.14.2: with rotation, if a refresh token "is compromised and
    subsequently used by both the attacker and the legitimate client, one of
    them will present an invalidated refresh token, which will inform the
    authorization server of the breach. The authorization server cannot
    determine which party submitted the invalid refresh token, but it will revoke
    the active refresh token."

    Given the public client
    When the user logs in
    And the client exchanges the code
    And the client refreshes the tokens
    Then the refresh token is rotated
    When the client refreshes with the previous refresh token
    Then the token request is refused with "invalid_grant"
    And the newest refresh token no longer works either
