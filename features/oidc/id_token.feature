@area:id-token @needs:oidc
Feature: ID token
  The client validates the ID token from the token response as OpenID Connect
  Core 1.0, 3.1.3.7 prescribes; each rule is its own check.

  Background:
    Given the target's discovery document
    And the confidential client
    When the user logs in
    And the client exchanges the code

  @check:OIDC-IDT-01 @MUST @spec:OIDC-Core-2 @spec:OIDC-Core-10.1 @fault:id-token-bad-signature @fault:id-token-alg-none @fault:id-token-hs256-pubkey @cert:oidcc-idtoken-signature
  Scenario: The ID token signature verifies with the JWKS key its kid names
    OpenID Connect Core 1.0, 2: "ID Tokens MUST be signed using JWS"; 10.1: "If
    there are multiple keys in the referenced JWK Set document, a kid value MUST
    be provided in the JOSE Header." The keys are the Issuer's published ones, the
    only keys a client may use (3.1.3.7, step 6: "The Client MUST use the keys
    provided by the Issuer"), so a signature they do not verify makes the token
    unusable.

    Then the ID token signature verifies with the JWKS key named by its kid

  @check:OIDC-IDT-02 @MUST @spec:OIDC-Core-2 @fault:id-token-alg-none
  Scenario: The ID token is signed (alg is not none)
    OpenID Connect Core 1.0, 2: "ID Tokens MUST be signed using JWS" and "MUST NOT
    use none as the alg value unless the Response Type used returns no ID Token
    from the Authorization Endpoint ... and the Client explicitly requested the use
    of none at Registration time."

    Then the ID token is signed

  @check:OIDC-IDT-03 @MUST @spec:OIDC-Registration-2 @fault:id-token-hs256-pubkey @fault:id-token-alg-none
  Scenario: The ID token uses the client's registered algorithm
    OpenID Connect Registration 1.0, 2, id_token_signed_response_alg: "The default,
    if omitted, is RS256."

    Then the ID token's alg is the client's registered algorithm

  @check:OIDC-IDT-04 @MUST @spec:OIDC-Core-2 @fault:id-token-wrong-iss
  Scenario: The ID token's iss is the issuer
    OpenID Connect Core 1.0, 2, iss: "REQUIRED. Issuer Identifier for the Issuer
    of the response." A client then requires it to "exactly match" the issuer it
    knows (3.1.3.7, step 2).

    Then the ID token's iss is the issuer

  @check:OIDC-IDT-05 @MUST @spec:OIDC-Core-2 @fault:id-token-aud-missing-client
  Scenario: The ID token's aud contains the client_id
    OpenID Connect Core 1.0, 2, aud: "Audience(s) that this ID Token is intended
    for. It MUST contain the OAuth 2.0 client_id of the Relying Party as an
    audience value."

    Then the ID token's aud contains the client_id

  @check:OIDC-IDT-06 @MUST @spec:OIDC-Core-3.1.3.7 @fault:id-token-expired
  Scenario: The ID token has not expired
    OpenID Connect Core 1.0, 2, exp: "Expiration time on or after which the ID
    Token MUST NOT be accepted by the RP when performing authentication with the
    OP." That MUST binds the client (3.1.3.7, step 9); an OP whose ID token has
    expired when it arrives issues a token no conforming client can accept.

    Then the ID token has not expired

  @check:OIDC-IDT-07 @MUST @spec:OIDC-Core-2 @fault:nonce-not-echoed @cert:oidcc-server
  Scenario: The ID token returns the nonce that was sent
    OpenID Connect Core 1.0, 2, nonce: "If present in the Authentication Request,
    Authorization Servers MUST include a nonce Claim in the ID Token with the
    Claim Value being the nonce value sent in the Authentication Request."

    Then the ID token's nonce is the one that was sent

  @check:OIDC-IDT-08 @MUST @spec:OIDC-Core-3.1.3.6 @fault:at-hash-wrong @fault:id-token-alg-none
  Scenario: The ID token's at_hash matches the access token
    OpenID Connect Core 1.0, 3.1.3.6, at_hash: "Access Token hash value. Its
    value is the base64url encoding of the left-most half of the hash of the
    octets of the ASCII representation of the access_token value". It is
    OPTIONAL; one that is present must be that value.

    Then the ID token's at_hash, if present, matches the access token

  @check:OIDC-IDT-09 @MUST @spec:OIDC-Core-2 @fault:id-token-no-iat @cert:oidcc-server
  Scenario: The ID token carries every REQUIRED claim
    OpenID Connect Core 1.0, 2: iss, sub, aud, exp and iat are REQUIRED in an ID
    token; sub "MUST NOT exceed 255 ASCII characters in length".

    Then the ID token has the REQUIRED claims

  @check:OIDC-IDT-10 @MUST @spec:OIDC-Registration-2 @fault:es256-ignored @fault:id-token-alg-none @fault:id-token-hs256-pubkey
  Scenario: A client registered for ES256 gets ES256 ID tokens that verify
    OpenID Connect Registration 1.0, 2, id_token_signed_response_alg: "JWS alg
    algorithm [JWA] REQUIRED for signing the ID Token issued to this Client."

    Given the es256 client
    When the user logs in
    And the client exchanges the code
    Then the ID token's alg is the client's registered algorithm
    And the ID token signature verifies with the JWKS key named by its kid
