@area:login @needs:oidc
Feature: Request objects
  A client may pass its authorization request as a JWT, by value in the
  request parameter or by reference in request_uri (OpenID Connect Core 6).
  An OP that does not support one must say so with the error defined for it;
  an OP that does must use the object's parameters.

  Background:
    Given the target's discovery document
    And the confidential client

  @check:OIDC-REQ-01 @MUST @spec:OIDC-Core-6.1 @spec:OIDC-Core-3.1.2.6 @fault:request-object-ignored @cert:oidcc-unsigned-request-object-supported-correctly-or-rejected-as-unsupported @fault:state-not-echoed @fault:nonce-not-echoed
  Scenario: An unsigned request object is used, or refused with request_not_supported
    OpenID Connect Core 1.0, 6.1: "Should an OP not support this parameter and
    an RP uses it, the OP MUST return the request_not_supported error." An OP
    that supports it uses the object, whose "parameter values supersede those
    passed using the OAuth 2.0 request syntax". The object carries the state and
    nonce; the query carries neither.

    When the client sends its authorization request as an unsigned request object
    Then the request object is used, or refused with request_not_supported

  @check:OIDC-REQ-02 @MUST @spec:OIDC-Core-6.2 @spec:OIDC-Core-3.1.2.6 @fault:request-uri-wrong-error @cert:oidcc-request-uri-unsigned-supported-correctly-or-rejected-as-unsupported @fault:nonce-required
  Scenario: An unsigned request object by reference is fetched and used, or refused with request_uri_not_supported
    OpenID Connect Core 1.0, 6.2: the OP fetches the Request Object from the
    request_uri; 3.1.2.6, request_uri_not_supported: "The OP does not support
    use of the request_uri parameter". The object is served from 127.0.0.1 for
    the run.

    When the client sends its authorization request as an unsigned request object by reference
    Then the request object is fetched and used, or refused with request_uri_not_supported

  @check:OIDC-REQ-03 @MUST @spec:OIDC-Core-6.1 @spec:OIDC-Core-6.3.3 @fault:request-object-ignored @cert:oidcc-ensure-request-object-with-redirect-uri @fault:state-not-echoed @fault:nonce-not-echoed
  Scenario: A request object that alone carries the redirect URI is used, or refused with request_not_supported
    OpenID Connect Core 1.0, 6.3.3: the Authorization Server assembles the
    request from the Request Object and the OAuth 2.0 parameters, the object's
    values superseding (6.1); here only the object names the redirect URI, the
    state and the nonce. An OP that does not take the object (it does not
    advertise request_parameter_supported, or lists no unsigned objects) sees a
    request without a redirect URI: RFC 6749, 4.1.2.1 says it "MUST NOT
    automatically redirect the user-agent" then, so an error page passes too.

    When the client sends an unsigned request object that alone carries the redirect URI
    Then the request object is used, or refused with request_not_supported or an error page
