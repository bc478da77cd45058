@area:userinfo @needs:oidc
Feature: UserInfo endpoint
  The UserInfo endpoint returns claims about the authenticated user to a client
  presenting the access token (OpenID Connect Core 1.0, 5.3).

  Background:
    Given the target's discovery document
    And the confidential client
    When the user logs in
    And the client exchanges the code

  @check:OIDC-UI-01 @MUST @spec:OIDC-Core-5.3.2 @fault:userinfo-sub-mismatch @cert:oidcc-userinfo-get
  Scenario: UserInfo by GET returns the ID token's subject
    OpenID Connect Core 1.0, 5.3.2: "The sub Claim in the UserInfo Response MUST be
    verified to exactly match the sub Claim in the ID Token; if they do not match,
    the UserInfo Response values MUST NOT be used."

    When the client calls the userinfo endpoint with GET
    Then the userinfo response is successful and its sub is the ID token's sub

  @check:OIDC-UI-02 @MUST @spec:OIDC-Core-5.3.1 @fault:userinfo-post-unsupported @fault:userinfo-sub-mismatch @cert:oidcc-userinfo-post-header
  Scenario: UserInfo answers POST with the token in the Authorization header
    OpenID Connect Core 1.0, 5.3.1: "The UserInfo Endpoint MUST support the use of
    the HTTP GET and HTTP POST methods defined in RFC 7231".

    When the client calls the userinfo endpoint with POST
    Then the userinfo response is successful and its sub is the ID token's sub

  @check:OIDC-UI-03 @MUST @spec:RFC6750-3.1 @spec:OIDC-Core-5.3.3 @fault:userinfo-accepts-invalid-token
  Scenario: UserInfo refuses an invalid access token with invalid_token
    RFC 6750, 3.1, invalid_token: "The access token provided is expired, revoked,
    malformed, or invalid for other reasons. The resource SHOULD respond with the
    HTTP 401 (Unauthorized) status code." OpenID Connect Core 1.0, 5.3.3: errors
    are returned as RFC 6750 section 3 describes.

    When the client calls the userinfo endpoint with an invalid access token
    Then the userinfo request is refused with 401 and error "invalid_token"

  @check:OIDC-UI-04 @MAY @spec:RFC6750-2.2 @fault:userinfo-body-token-rejected @cert:oidcc-userinfo-post-body @fault:userinfo-sub-mismatch @fault:userinfo-post-unsupported
  Scenario: UserInfo accepts the access token in a POST body
    RFC 6750, 2.2: the form-encoded body parameter access_token; "Resource servers
    MAY support this method." OpenID Connect Core 1.0, 5.3.1 lets the client send
    the access token as RFC 6750 allows.

    When the client calls the userinfo endpoint with the access token in a POST body
    Then the userinfo response is successful and its sub is the ID token's sub

  @check:OIDC-UI-05 @MUST @spec:RFC6750-3 @fault:userinfo-no-challenge
  Scenario: UserInfo without an access token answers 401 with a Bearer challenge
    RFC 6750, 3: "If the protected resource request does not include
    authentication credentials or does not contain an access token that enables
    access to the protected resource, the resource server MUST include the HTTP
    "WWW-Authenticate" response header field".

    When the client calls the userinfo endpoint without an access token
    Then the userinfo request is refused with 401 and a Bearer challenge

  @check:OIDC-UI-06 @MAY @spec:RFC6750-2.3 @spec:RFC9700-4.3.2 @fault:userinfo-query-token-accepted
  Scenario: UserInfo does not take the access token from the URL query
    RFC 6750, 2.3: the URI query method "SHOULD NOT be used unless it is
    impossible to transport the access token in the Authorization request header
    field or the HTTP request entity-body"; RFC 9700, 4.3.2: "Clients MUST NOT
    pass access tokens in a URI query parameter". Resource servers MAY support
    the method (RFC 6750, 2.3), so accepting it breaks no MUST or SHOULD: kensa
    reports it at MAY level, as a warning about a leak through logs and
    history, not as a violation.

    When the client calls the userinfo endpoint with the access token only in the URL query
    Then the userinfo request is refused

  @check:OIDC-UI-07 @moves-clock @MUST @spec:RFC6750-3.1 @spec:OIDC-Core-5.3.3 @fault:userinfo-accepts-expired-token @fault:userinfo-accepts-invalid-token
  Scenario: UserInfo refuses an expired access token with invalid_token
    RFC 6750, 3.1, invalid_token: "The access token provided is expired,
    revoked, malformed, or invalid for other reasons." The api client's access
    tokens live 8 seconds.

    Given the api client
    When the user logs in with the scope "openid text_apis"
    And the client exchanges the code
    And the access token has expired
    And the client calls the userinfo endpoint with GET
    Then the userinfo request is refused with 401 and error "invalid_token"

  @check:OIDC-UI-08 @MUST @spec:RFC6750-3.1 @spec:RFC7009-2 @fault:revocation-noop @fault:userinfo-accepts-invalid-token
  Scenario: UserInfo refuses a revoked access token with invalid_token
    RFC 6750, 3.1, invalid_token: "The access token provided is expired,
    revoked, malformed, or invalid for other reasons." RFC 7009, 2: the
    revoked token is invalidated "immediately".

    When the client revokes the access token
    And the client calls the userinfo endpoint with GET
    Then the userinfo request is refused with 401 and error "invalid_token"
