@area:external-auth @needs:oidc
Feature: Password checks delegated to an external HTTP API
  An organisation with an in-house authentication API puts an OpenID Provider in
  front of it: the IdP forwards the username and password to the API, maps the
  answer onto the user, and locks the account after repeated failures (the
  idp-server "external password authentication" use case; LemonLDAP::NG's REST
  backend). kensa plays the external API with wiremock, one server per scenario,
  and checks what the IdP does with each answer.

  Background:
    Given the target's discovery document
    And the confidential client

  @check:EXT-01 @MUST @needs:external-auth @spec:idp-server-external-password-auth @fault:external-auth-attributes-unmapped @fault:external-auth-form-encoded @fault:external-auth-called-twice
  Scenario: A successful external check maps the user's attributes into the ID token and userinfo
    idp-server, external password authentication, user_resolve.user_mapping_rules:
    the response's user_id becomes external_user_id, its email and name become the
    user's email and name, and a static provider_id is added; OpenID Connect Core
    1.0, 5.3.2: userinfo returns claims about the authenticated user.

    Given an external auth API that accepts the user's password and returns:
      | user_id | u-4711            |
      | email   | taro@example.test |
      | name    | Taro Example      |
    When the external user logs in
    And the client exchanges the code
    Then the ID token carries the external user's attributes
    And userinfo carries the external user's attributes
    And the external auth API's expectations are met

  @check:EXT-02 @MUST @needs:external-auth @spec:idp-server-external-password-auth @fault:external-auth-form-encoded @fault:external-auth-called-twice
  Scenario: The IdP sends exactly one JSON request with exactly the submitted credentials
    idp-server, external password authentication, http_request: method POST,
    header_mapping_rules "Content-Type: application/json", body_mapping_rules
    username and password from the submitted form — and nothing else.

    Given an external auth API that accepts the user's password and returns:
      | user_id | u-4712            |
      | email   | hana@example.test |
    When the external user logs in
    Then the external auth API received exactly 1 password check carrying exactly the submitted credentials as JSON
    And the external auth API's expectations are met

  @check:EXT-03 @MUST @needs:external-auth @spec:OIDC-Core-3.1.2.3 @spec:idp-server-external-password-auth @fault:external-auth-invalid-credentials-accepted @fault:external-auth-called-twice
  Scenario: Credentials the external API rejects give a login error and no code
    OpenID Connect Core 1.0, 3.1.2.3: "The Authorization Server MUST attempt to
    Authenticate the End-User"; the external API answers 401 invalid_credentials
    (REST backend: result false) for a wrong password.

    Given an external auth API that rejects every password
    When the external user logs in
    Then the login is refused and no code is issued
    And the external auth API's expectations are met

  @check:EXT-04 @MUST @needs:external-auth @spec:OIDC-Core-3.1.2.3 @fault:external-auth-error-accepted @fault:external-auth-called-twice
  Scenario: An external API that fails with 500 gives an error and no code
    OpenID Connect Core 1.0, 3.1.2.3: the End-User must be authenticated before a
    code is issued; an API that could not check the password authenticated no one.

    Given an external auth API that answers 500
    When the external user logs in
    Then the login is refused and no code is issued
    And the external auth API's expectations are met

  @check:EXT-05 @MUST @needs:external-auth @spec:OIDC-Core-3.1.2.3 @fault:external-auth-error-accepted @fault:external-auth-called-twice
  Scenario: An external API that answers something other than JSON gives an error and no code
    OpenID Connect Core 1.0, 3.1.2.3: the End-User must be authenticated before a
    code is issued; a page of HTML from the API is not an authentication.

    Given an external auth API that answers with a body that is not JSON
    When the external user logs in
    Then the login is refused and no code is issued
    And the external auth API's expectations are met

  @check:EXT-06 @MUST @needs:external-auth @spec:OIDC-Core-3.1.2.3 @fault:external-auth-error-accepted
  Scenario: An external password check that is down gives an error and no code
    OpenID Connect Core 1.0, 3.1.2.3: the End-User must be authenticated before a
    code is issued; an unreachable API authenticated no one.

    Given an external auth API whose password check is down
    When the external user logs in
    Then the login is refused and no code is issued
    And the external auth API's expectations are met

  @check:EXT-07 @MUST @needs:external-auth @spec:OIDC-Core-3.1.2.3 @fault:external-auth-no-timeout @fault:external-auth-error-accepted
  Scenario: An external API slower than the IdP's timeout gives an error and no code
    OpenID Connect Core 1.0, 3.1.2.3: the End-User must be authenticated before a
    code is issued; the IdP must give up on an API that does not answer in time
    rather than hold the login open (the reference IdP waits 2 seconds).

    Given an external auth API that answers only after 3 seconds
    When the external user logs in
    Then the login is refused and no code is issued

  @check:EXT-08 @MUST @needs:external-auth @needs:external-auth-lockout @spec:idp-server-lock-conditions @fault:external-auth-no-lockout @fault:external-auth-invalid-credentials-accepted
  Scenario: Five failed logins lock the account, so a later correct password gets no code
    idp-server, external password authentication: the account is locked after a
    number of failed attempts (failure_conditions / lock_conditions, default 5);
    a locked account is issued no code, even with the right password.

    Given an external auth API that knows the user's password, however often it is asked
    When the external user fails to log in 5 times
    And the external user logs in
    Then the login is refused and no code is issued
    And the external auth API's expectations are met

  @check:EXT-09 @MUST @needs:external-auth @needs:external-auth-chain @spec:idp-server-external-password-auth-http-requests @fault:external-auth-chain-sends-username @fault:external-auth-attributes-unmapped @fault:external-auth-form-encoded @fault:external-auth-called-twice
  Scenario: A chained call receives the user_id of the first and its attributes are merged
    idp-server, external password authentication with http_requests (several
    calls): the second request's body maps user_id from the first response, and
    the user's attributes merge both responses.

    Given an external auth API that accepts the user's password and returns:
      | user_id | u-4713            |
      | email   | jiro@example.test |
      | name    | Jiro Example      |
    And the external user details API returns for the user:
      | birthdate    | 1990-04-01    |
      | phone_number | +81-3-0000-0000 |
      | locale       | ja-JP         |
    When the external user logs in
    And the client exchanges the code
    Then userinfo carries the external user's attributes
    And the external auth API's expectations are met

  @check:EXT-10 @MUST @needs:external-auth @needs:external-auth-chain @spec:idp-server-external-password-auth-http-requests @fault:external-auth-chain-failure-ignored @fault:external-auth-form-encoded @fault:external-auth-called-twice @fault:external-auth-chain-sends-username
  Scenario: A failed chained call issues no code and shows nothing from the first call
    idp-server, external password authentication with http_requests: every call
    of the chain must succeed for the authentication to succeed; a partial user
    is not an authenticated one.

    Given an external auth API that accepts the user's password and returns:
      | user_id | u-4714             |
      | email   | saburo@example.test |
      | name    | Saburo Example     |
    And the external user details API answers 500
    When the external user logs in
    Then the login is refused and no code is issued
    And the page shows none of the external user's attributes
    And the external auth API's expectations are met

  @check:EXT-11 @MUST @needs:external-auth @spec:idp-server-external-password-auth @spec:RFC6749-10.3 @fault:external-auth-password-in-query @fault:external-auth-form-encoded @fault:external-auth-called-twice
  Scenario: The password travels only inside the JSON body
    idp-server, external password authentication: the password is mapped into the
    request body only; RFC 6749, 10.3 and 10.6 warn that credentials in URIs end up
    in logs and Referer headers.

    Given an external auth API that accepts the user's password and returns:
      | user_id | u-4715            |
      | email   | shiro@example.test |
    When the external user logs in
    Then the password reached the external auth API only inside the JSON body
    And the external auth API's expectations are met
