@area:login @needs:oidc
Feature: Authorization endpoint and login
  The authorization code flow starts at the authorization endpoint, passes the
  IdP's real HTML login page, and returns to the client's redirect URI.

  Background:
    Given the target's discovery document

  @check:OIDC-AUTHZ-01 @MUST @spec:RFC6749-4.1.2 @fault:state-not-echoed @cert:oidcc-server
  Scenario: The authorization response returns the state that was sent
    RFC 6749, 4.1.2, state: "REQUIRED if the "state" parameter was present in the
    client authorization request. The exact value received from the client."

    Given the confidential client
    When the user logs in
    Then the authorization response returns the state that was sent

  @check:OIDC-AUTHZ-02 @MUST @spec:RFC9207-2 @fault:callback-iss-wrong
  Scenario: The authorization response names the issuer (RFC 9207)
    RFC 9207, 2: the iss parameter's "value MUST be the issuer identifier of the
    authorization server"; the server advertises it with
    authorization_response_iss_parameter_supported.

    Given the confidential client
    When the user logs in
    Then the authorization response's iss is the issuer when the IdP advertises RFC 9207

  @check:OIDC-AUTHZ-03 @MUST @spec:OIDC-Core-3.1.2.3 @fault:any-password-accepted
  Scenario: A wrong password does not authenticate the user
    OpenID Connect Core 1.0, 3.1.2.3: "The Authorization Server MUST attempt to
    Authenticate the End-User"; a wrong password is not an authentication.

    Given the confidential client
    When the user logs in with a wrong password
    Then the login is refused and no code is issued

  @check:OIDC-AUTHZ-04 @MUST @spec:RFC6749-10.12 @fault:login-csrf-unchecked
  Scenario: The login form is protected against cross-site request forgery
    RFC 6749, 10.12: "The authorization server MUST implement CSRF protection for
    its authorization endpoint and ensure that a malicious client cannot obtain
    authorization without the awareness and explicit consent of the resource owner."

    Given the confidential client
    When the login form is posted cross-site without its anti-CSRF token
    Then the login is refused and no code is issued

  @check:OIDC-AUTHZ-05 @MUST @spec:RFC6749-4.1.2.1 @spec:OIDC-Core-3.1.2.1 @fault:redirect-uri-prefix-match @cert:oidcc-ensure-registered-redirect-uri
  Scenario: An unregistered redirect URI is refused without redirecting
    RFC 6749, 4.1.2.1: "If the request fails due to a missing, invalid, or
    mismatching redirection URI ... the authorization server ... MUST NOT
    automatically redirect the user-agent to the invalid redirection URI."
    OpenID Connect Core 1.0, 3.1.2.1: the redirect_uri "MUST exactly match one of
    the Redirection URI values for the Client pre-registered at the OpenID Provider".

    Given the confidential client
    When the user logs in with the redirect URI extended by "/attacker"
    Then the IdP never redirects to the unregistered redirect URI

  @check:OIDC-AUTHZ-06 @MUST @spec:RFC6749-4.1.2.1 @fault:response-type-missing-accepted @cert:oidcc-response-type-missing
  Scenario: A request without response_type is refused
    RFC 6749, 4.1.1: response_type is "REQUIRED"; 4.1.2.1: invalid_request means
    "The request is missing a required parameter".

    Given the confidential client
    When the user logs in without a response_type
    Then no code is issued and the error is one of "invalid_request, unsupported_response_type"

  @check:OIDC-AUTHZ-23 @MUST @spec:OIDC-Core-3.1.2.1 @spec:RFC9700-2.1 @fault:redirect-uri-prefix-match @fault:redirect-uri-query-ignored @fault:redirect-uri-case-insensitive @fault:redirect-uri-decoded
  Scenario: A redirect URI is matched exactly: no added query, other case, encoding or path
    OpenID Connect Core 1.0, 3.1.2.1: the redirect_uri "MUST exactly match one of
    the Redirection URI values for the Client pre-registered at the OpenID
    Provider, with the matching performed as described in Section 6.2.1 of
    [RFC3986] (Simple String Comparison)". RFC 9700, 2.1: authorization servers
    MUST use exact string matching of redirect URIs (loopback ports aside).

    Given the confidential client
    When the client sends authorization requests with altered redirect URIs
    Then the IdP redirected to none of the altered redirect URIs
