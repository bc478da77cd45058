@area:token @needs:oidc
Feature: Token endpoint
  The client exchanges the authorization code for tokens (RFC 6749 4.1.3,
  OpenID Connect Core 3.1.3), authenticating with its secret.

  Background:
    Given the target's discovery document

  @check:OIDC-TOKEN-01 @MUST @spec:RFC6749-2.3.1 @spec:OIDC-Core-3.1.3.3 @fault:client-secret-basic-not-decoded
  Scenario: client_secret_basic works with form-encoded credentials
    RFC 6749, 2.3.1: "The client identifier is encoded using the
    application/x-www-form-urlencoded encoding algorithm per Appendix B, and the
    encoded value is used as the username; the client password is encoded using the
    same algorithm and used as the password. The authorization server MUST support
    the HTTP Basic authentication scheme for authenticating clients that were issued
    a client password." OpenID Connect Core 1.0, 3.1.3.3: the response carries
    access_token, token_type and id_token.

    Given the reserved-characters client
    When the user logs in
    And the client exchanges the code using "client_secret_basic"
    Then the token response is successful
    And the token response contains an ID token

  @check:OIDC-TOKEN-02 @MUST @spec:OIDC-Core-9 @needs:auth-method:client_secret_post @fault:client-secret-post-rejected @cert:oidcc-server-client-secret-post
  Scenario: A confidential client redeems its code with client_secret_post
    OpenID Connect Core 1.0, 9: client_secret_post clients "authenticate with the
    Authorization Server ... by including the Client Credentials in the request
    body"; the IdP advertises the method in token_endpoint_auth_methods_supported.
    The client is one the target registers for client_secret_post (a target
    without one skips the check): an OP may hold a client to its registered method.

    Given a client registered for client_secret_post
    When the user logs in
    And the client exchanges the code using "client_secret_post"
    Then the token response is successful
    And the token response contains an ID token

  @check:OIDC-TOKEN-03 @MUST @spec:RFC6749-4.1.2 @fault:code-reusable @cert:oidcc-codereuse
  Scenario: An authorization code can be redeemed only once
    RFC 6749, 4.1.2: "The client MUST NOT use the authorization code more than
    once. If an authorization code is used more than once, the authorization
    server MUST deny the request".

    Given the confidential client
    When the user logs in
    And the client exchanges the code
    And the client exchanges the same code again
    Then the token request is refused with "invalid_grant"

  @check:OIDC-TOKEN-04 @SHOULD @spec:RFC6749-4.1.2 @fault:code-reusable @fault:code-reuse-keeps-tokens @cert:oidcc-codereuse-30seconds
  Scenario: Reusing a code revokes the tokens it already produced
    RFC 6749, 4.1.2: the authorization server "SHOULD revoke (when possible) all
    tokens previously issued based on that authorization code."

    Given the confidential client
    When the user logs in
    And the client exchanges the code
    And the client exchanges the same code again
    Then the first access token is no longer accepted

  @check:OIDC-TOKEN-05 @MUST @spec:RFC6749-5.2 @fault:client-secret-unchecked
  Scenario: A wrong client secret is refused with invalid_client
    RFC 6749, 5.2, invalid_client: "Client authentication failed ... If the client
    attempted to authenticate via the "Authorization" request header field, the
    authorization server MUST respond with an HTTP 401 (Unauthorized) status code".

    Given the confidential client
    When the user logs in
    And the client exchanges the code with a wrong client secret
    Then the token request is refused with status 401 and "invalid_client"

  @check:OIDC-TOKEN-06 @MUST @spec:RFC6749-5.1 @fault:token-response-cacheable
  Scenario: Token responses may not be cached
    RFC 6749, 5.1: "The authorization server MUST include the HTTP "Cache-Control"
    response header field [RFC2616] with a value of "no-store" in any response
    containing tokens, credentials, or other sensitive information".

    Given the confidential client
    When the user logs in
    And the client exchanges the code
    Then the token response has "Cache-Control: no-store"

  @check:OIDC-TOKEN-07 @MUST @spec:RFC6749-4.1.3 @fault:token-redirect-uri-unchecked
  Scenario: The token request's redirect_uri must match the authorization request's
    RFC 6749, 4.1.3: the server MUST "ensure that the "redirect_uri" parameter is
    present if the "redirect_uri" parameter was included in the initial
    authorization request ..., and if included ensure that their values are identical."

    Given the confidential client
    When the user logs in
    And the client exchanges the code with the redirect_uri "https://elsewhere.kensa.test/callback"
    Then the token request is refused with "invalid_grant"

  @check:OIDC-TOKEN-08 @MUST @spec:RFC6749-4.1.3 @fault:code-not-bound-to-client
  Scenario: A code issued to one client cannot be redeemed by another
    RFC 6749, 4.1.3: the server MUST "ensure that the authorization code was issued
    to the authenticated confidential client".

    Given the confidential client
    When the user logs in
    And the other client exchanges the code
    Then the token request is refused with "invalid_grant"

  @check:OIDC-TOKEN-09 @MUST @spec:RFC6749-5.2 @fault:token-basic-no-challenge @fault:client-secret-unchecked
  Scenario: A failed Basic client authentication gets 401 with a WWW-Authenticate challenge
    RFC 6749, 5.2, invalid_client: "If the client attempted to authenticate via
    the "Authorization" request header field, the authorization server MUST
    respond with an HTTP 401 (Unauthorized) status code and include the
    "WWW-Authenticate" response header field matching the authentication scheme
    used by the client."

    Given the confidential client
    When the user logs in
    And the client exchanges the code with a wrong client secret
    Then the token request is refused with 401 and a Basic challenge
