@area:userinfo
Feature: UserInfo endpoint
  The UserInfo endpoint returns claims about the authenticated user to a client
  presenting the access token (OpenID Connect Core 1.0, 5.3).

  Background:
    Given the target's discovery document
    And the confidential client
    When the user logs in
    And the client exchanges the code

  @check:OIDC-UI-01 @MUST @spec:OIDC-Core-5.3.2 @fault:userinfo-sub-mismatch
  Scenario: UserInfo by GET returns the ID token's subject
    OpenID Connect Core 1.0, 5.3.2: "The sub Claim in the UserInfo Response MUST be
    verified to exactly match the sub Claim in the ID Token; if they do not match,
    the UserInfo Response values MUST NOT be used."

    When the client calls the userinfo endpoint with GET
    Then the userinfo response is successful and its sub is the ID token's sub

  @check:OIDC-UI-02 @MUST @spec:OIDC-Core-5.3.1 @fault:userinfo-post-unsupported @fault:userinfo-sub-mismatch
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
