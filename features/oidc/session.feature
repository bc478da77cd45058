@area:login @needs:oidc
Feature: The IdP's session: prompt, max_age and id_token_hint
  A browser that has signed in carries the IdP's session. OpenID Connect lets
  the client say how that session may be used: prompt=none (no user interface
  at all), prompt=login (authenticate again), max_age (how old the last
  authentication may be) and id_token_hint (which user it expects).

  Background:
    Given the target's discovery document
    And the confidential client

  @check:OIDC-AUTHZ-07 @MUST @spec:OIDC-Core-3.1.2.1 @spec:OIDC-Core-3.1.2.6 @fault:prompt-none-shows-login @cert:oidcc-prompt-none-not-logged-in
  Scenario: prompt=none without a session is answered with login_required, without a login page
    OpenID Connect Core 1.0, 3.1.2.1, prompt none: "The Authorization Server MUST
    NOT display any authentication or consent user interface pages. An error is
    returned if an End-User is not already authenticated"; 3.1.2.6: login_required.

    When the client sends an authorization request with prompt "none"
    Then the IdP answers with one of "login_required, interaction_required" without showing a login page

  @check:OIDC-AUTHZ-08 @MUST @spec:OIDC-Core-3.1.2.1 @fault:prompt-none-session-ignored @cert:oidcc-prompt-none-logged-in
  Scenario: prompt=none with a session returns a code for the same user without a login page
    OpenID Connect Core 1.0, 3.1.2.1, prompt none: "The Authorization Server MUST
    NOT display any authentication or consent user interface pages"; an End-User
    who is already authenticated gets a positive response.

    Given the user has signed in
    When the client sends an authorization request with prompt "none"
    Then a code is issued without a login page
    When the client exchanges the code
    Then the ID token's sub is the earlier ID token's

  @check:OIDC-AUTHZ-09 @moves-clock @SHOULD @spec:OIDC-Core-3.1.2.1 @fault:prompt-login-ignored @cert:oidcc-prompt-login
  Scenario: prompt=login makes the user authenticate again
    OpenID Connect Core 1.0, 3.1.2.1, prompt login: "The Authorization Server
    SHOULD prompt the End-User for reauthentication. If it cannot reauthenticate
    the End-User, it MUST return an error, typically login_required."

    Given the user has signed in
    When 1 seconds pass
    And the client sends an authorization request with prompt "login"
    Then a code is issued after a new login
    When the client exchanges the code
    Then the ID token's sub is the earlier ID token's
    And the ID token's auth_time is later than the earlier ID token's if both have one

  @check:OIDC-AUTHZ-10 @moves-clock @MUST @spec:OIDC-Core-3.1.2.1 @spec:OIDC-Core-2 @fault:max-age-ignored @fault:auth-time-missing @cert:oidcc-max-age-1
  Scenario: A session older than max_age is not used: the user authenticates again
    OpenID Connect Core 1.0, 3.1.2.1, max_age: "If the elapsed time is greater
    than this value, the OP MUST attempt to actively re-authenticate the
    End-User." 2, auth_time: "When a max_age request is made ... then this
    Claim is REQUIRED." max_age is 1 s, or three times the slowest exchange
    of the first login where that is longer, so that a slow OP can finish
    the new login within it.

    Given the user has signed in
    When the session outlives a max_age and the client sends an authorization request with that max_age
    Then a code is issued after a new login
    When the client exchanges the code
    Then the ID token has auth_time, later than the earlier ID token's if that has one

  @check:OIDC-AUTHZ-11 @MUST @spec:OIDC-Core-2 @fault:auth-time-missing @cert:oidcc-max-age-10000
  Scenario: A request with max_age gets an ID token with auth_time
    OpenID Connect Core 1.0, 2, auth_time: "When a max_age request is made or
    when auth_time is requested as an Essential Claim, then this Claim is
    REQUIRED."

    Given the user has signed in
    When the client sends an authorization request with max_age "10000"
    Then a code is issued
    When the client exchanges the code
    Then the ID token has auth_time

  @check:OIDC-AUTHZ-12 @SHOULD @spec:OIDC-Core-3.1.2.1 @fault:id-token-hint-rejected @fault:prompt-none-session-ignored @cert:oidcc-id-token-hint
  Scenario: prompt=none with the signed-in user's ID token as id_token_hint returns a code
    OpenID Connect Core 1.0, 3.1.2.1, id_token_hint: "If the End-User identified
    by the ID Token is logged in or is logged in by the request, then the
    Authorization Server returns a positive response".

    Given the user has signed in
    When the client sends an authorization request with prompt "none" and the ID token as id_token_hint
    Then a code is issued without a login page
    When the client exchanges the code
    Then the ID token's sub is the earlier ID token's
