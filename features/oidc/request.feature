@area:login @needs:oidc
Feature: Authorization request parameters
  The authorization endpoint takes requests by GET and POST, ignores what it
  does not know, needs no nonce in the code flow, and accepts the optional
  parameters OpenID Connect defines for the user interface and the login.

  Background:
    Given the target's discovery document
    And the confidential client

  @check:OIDC-AUTHZ-13 @MUST @spec:OIDC-Core-3.1.2.1 @fault:authorize-post-unsupported @cert:oidcc-ensure-post-request-succeeds
  Scenario: The authorization endpoint accepts the request by POST
    OpenID Connect Core 1.0, 3.1.2.1: "Authorization Servers MUST support the use
    of the HTTP GET and POST methods defined in RFC 7231 at the Authorization
    Endpoint."

    When the client sends the authorization request by POST
    Then a code is issued

  @check:OIDC-AUTHZ-14 @MUST @spec:RFC6749-3.1 @fault:unknown-param-rejected @cert:oidcc-ensure-request-with-unknown-parameter-succeeds
  Scenario: An unknown request parameter is ignored
    RFC 6749, 3.1: "The authorization server MUST ignore unrecognized request
    parameters."

    When the client sends an authorization request with kensa_extra "ignore-me"
    Then a code is issued

  @check:OIDC-AUTHZ-15 @MUST @spec:OIDC-Core-3.1.2.1 @fault:nonce-required @cert:oidcc-ensure-request-without-nonce-succeeds-for-code-flow
  Scenario: A code-flow request without a nonce succeeds, and its ID token has no nonce
    OpenID Connect Core 1.0, 3.1.2.1: nonce is "OPTIONAL" in the authorization
    code flow; 2: "If present in the Authentication Request, Authorization
    Servers MUST include a nonce Claim in the ID Token".

    When the client sends an authorization request without a nonce
    Then a code is issued
    When the client exchanges the code
    Then the ID token has no nonce

  @check:OIDC-AUTHZ-16 @MUST @spec:RFC6749-3.3 @fault:scope-order-sensitive @cert:oidcc-ensure-other-scope-order-succeeds
  Scenario: The order of the scope values does not matter
    RFC 6749, 3.3: "If the value contains multiple space-delimited strings,
    their order does not matter".

    When the client sends an authorization request with scope "email profile openid"
    Then a code is issued

  @check:OIDC-AUTHZ-17 @SHOULD @spec:OIDC-Core-3.1.2.1 @fault:display-rejected @cert:oidcc-display-page
  Scenario: display=page is accepted
    OpenID Connect Core 1.0, 3.1.2.1, display: "page: The Authorization Server
    SHOULD display the authentication and consent UI consistent with a full
    User Agent page view."

    When the client sends an authorization request with display "page"
    Then a code is issued

  @check:OIDC-AUTHZ-18 @SHOULD @spec:OIDC-Core-3.1.2.1 @fault:display-rejected @cert:oidcc-display-popup
  Scenario: display=popup is accepted
    OpenID Connect Core 1.0, 3.1.2.1, display: "popup: The Authorization Server
    SHOULD display the authentication and consent UI consistent with a popup
    User Agent window."

    When the client sends an authorization request with display "popup"
    Then a code is issued

  @check:OIDC-AUTHZ-19 @SHOULD @spec:OIDC-Core-3.1.2.1 @fault:ui-locales-rejected @cert:oidcc-ui-locales
  Scenario: ui_locales is accepted
    OpenID Connect Core 1.0, 3.1.2.1, ui_locales: "An error SHOULD NOT result if
    some or all of the requested locales are not supported by the OpenID
    Provider."

    When the client sends an authorization request with ui_locales "ja-JP se"
    Then a code is issued

  @check:OIDC-AUTHZ-20 @SHOULD @spec:OIDC-Core-5.2 @fault:claims-locales-rejected @cert:oidcc-claims-locales
  Scenario: claims_locales is accepted
    OpenID Connect Core 1.0, 5.2, claims_locales: "An error SHOULD NOT result if
    some or all of the requested locales are not supported by the OpenID
    Provider."

    When the client sends an authorization request with claims_locales "ja-JP se"
    Then a code is issued

  @check:OIDC-AUTHZ-21 @MAY @spec:OIDC-Core-3.1.2.1 @fault:login-hint-rejected @cert:oidcc-login-hint
  Scenario: login_hint is accepted
    OpenID Connect Core 1.0, 3.1.2.1, login_hint: "Hint to the Authorization
    Server about the login identifier the End-User might use to log in (if
    necessary)... It is RECOMMENDED that the hint value match the value used for
    discovery." The hint is optional to honour; refusing it breaks clients.

    When the client sends an authorization request with the user's username as login_hint
    Then a code is issued

  @check:OIDC-AUTHZ-22 @SHOULD @spec:OIDC-Core-3.1.2.1 @fault:acr-values-rejected @cert:oidcc-ensure-request-with-acr-values-succeeds
  Scenario: acr_values is accepted
    OpenID Connect Core 1.0, 3.1.2.1, acr_values: "Requested Authentication
    Context Class Reference values ... The acr Claim is requested as a
    Voluntary Claim by this parameter." A voluntary request that cannot be met
    is no reason to refuse the authentication.

    When the client sends an authorization request with acr_values "urn:kensa:acr:1 0"
    Then a code is issued
