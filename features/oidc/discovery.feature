@area:discovery @needs:oidc
Feature: Discovery and signing keys
  An OpenID Provider publishes its metadata at /.well-known/openid-configuration
  and its signing keys at jwks_uri; relying parties configure themselves from both.

  Background:
    Given the target's discovery document

  @check:OIDC-DISC-01 @MUST @spec:OIDC-Discovery-4.3 @fault:discovery-issuer-mismatch
  Scenario: The discovery issuer is the issuer it was fetched for
    OpenID Connect Discovery 1.0, 4.3: "The issuer value returned MUST be identical
    to the Issuer URL that was used as the prefix to /.well-known/openid-configuration
    to retrieve the configuration information."

    Then the discovery document's issuer is the target's issuer

  @check:OIDC-DISC-02 @MUST @spec:OIDC-Discovery-3 @fault:discovery-incomplete
  Scenario: The discovery document has every REQUIRED member
    OpenID Connect Discovery 1.0, 3 marks issuer, authorization_endpoint,
    token_endpoint, jwks_uri, response_types_supported, subject_types_supported
    and id_token_signing_alg_values_supported REQUIRED.

    Then the discovery document has the members "issuer, authorization_endpoint, token_endpoint, jwks_uri, response_types_supported, subject_types_supported, id_token_signing_alg_values_supported"

  @check:OIDC-DISC-03 @MUST @spec:OIDC-Discovery-3 @fault:discovery-no-rs256
  Scenario: RS256 is among the ID token signing algorithms
    OpenID Connect Discovery 1.0, 3, id_token_signing_alg_values_supported:
    "The algorithm RS256 MUST be included."

    Then the discovery document lists "RS256" in "id_token_signing_alg_values_supported"

  @check:OIDC-DISC-04 @MUST @spec:OIDC-Discovery-3 @fault:jwks-private-key-exposed
  Scenario: The JWKS publishes public keys only
    OpenID Connect Discovery 1.0, 3, jwks_uri: "This contains the signing key(s)
    the RP uses to validate signatures from the OP." A key set published for
    validation holds public keys only (OpenID Connect Registration 1.0, 2 says of
    key sets: "The JWK Set MUST NOT contain private or symmetric key values.");
    a private member here lets anyone forge the OP's ID tokens.

    Then the JWKS contains no private or symmetric key material

  @check:OIDC-DISC-05 @SHOULD @spec:RFC7517-4.5 @fault:jwks-duplicate-kid
  Scenario: Every key in the JWKS has its own kid
    RFC 7517, 4.5: "When "kid" values are used within a JWK Set, different keys
    within the JWK Set SHOULD use distinct "kid" values."

    Then every key in the JWKS has a distinct kid

  @check:OIDC-DISC-06 @MUST @spec:OIDC-Discovery-3 @fault:discovery-dead-endpoint
  Scenario: Every endpoint the discovery document advertises exists
    OpenID Connect Discovery 1.0, 3: the metadata gives the "URL of the OP's"
    endpoints; an advertised endpoint that answers 404 or a server error is not
    the OP's endpoint. Each is sent an empty request, which it may refuse.

    Then every endpoint the discovery document advertises exists

  @check:OIDC-DISC-07 @MUST @spec:OIDC-Discovery-3 @fault:discovery-no-rs256 @fault:id-token-alg-none @fault:id-token-hs256-pubkey
  Scenario: The ID token is signed with an algorithm the discovery document advertises
    OpenID Connect Discovery 1.0, 3, id_token_signing_alg_values_supported:
    "JSON array containing a list of the JWS signing algorithms (alg values)
    supported by the OP for the ID Token to encode the Claims in a JWT".

    Given the confidential client
    When the user logs in
    And the client exchanges the code
    Then the ID token's alg is one the discovery document advertises

  @check:OIDC-DISC-08 @MUST @spec:OIDC-Discovery-3 @fault:discovery-auth-methods-wrong
  Scenario: The client authentication method that works is one the discovery document advertises
    OpenID Connect Discovery 1.0, 3, token_endpoint_auth_methods_supported:
    "JSON array containing a list of Client Authentication methods supported by
    this Token Endpoint ... If omitted, the default is client_secret_basic".

    Given the confidential client
    When the user logs in
    And the client exchanges the code
    Then the token response is successful
    And the client's token endpoint authentication method is one the discovery document advertises

  @check:OIDC-DISC-09 @SHOULD @spec:OIDC-Discovery-3 @fault:discovery-scopes-without-openid @fault:discovery-incomplete
  Scenario: The discovery document supports the openid scope and the code response type
    OpenID Connect Discovery 1.0, 3, scopes_supported: "The server MUST support
    the openid scope value", and the scope values it supports "SHOULD be
    listed"; response_types_supported must list what the OP supports, and a
    Basic OP supports code. An OP may leave a scope unadvertised, so the check
    is at SHOULD level.

    Then the discovery document supports the openid scope and the code response type
