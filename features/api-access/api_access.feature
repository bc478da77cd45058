@area:api-access @needs:api-access @needs:oidc
Feature: API access with the IdP's access tokens
  An API platform puts every API family behind a gateway that accepts the
  IdP's access tokens: /text, /audio and /video each want their scope
  (text_apis, audio_apis, video_apis) or all_apis. An expired access token
  gets 401, the client refreshes and retries once; a refresh that fails sends
  the user back to login; logout revokes the refresh token. The gateway is
  kensa's: it validates JWT access tokens as RFC 9068 4 says and opaque ones
  by introspection (RFC 7662) with its own credentials, and answers as RFC
  6750 3.1 says. The scenarios check that the IdP's tokens, scopes and
  lifetimes make this work.

  Background:
    Given the target's discovery document
    And the API gateway in front of the text, audio and video APIs

  @check:API-01 @SHOULD @spec:RFC9700-2.3 @spec:RFC6750-3.1 @fault:scope-not-narrowed @fault:access-token-typ-jwt @fault:access-token-aud-is-client @fault:access-token-bad-signature @fault:access-token-wrong-iss @fault:access-token-no-client-id
  Scenario: A token with text_apis opens the text API and no other
    RFC 9700, 2.3: "The privileges associated with an access token SHOULD be
    restricted to the minimum required for the particular application or use
    case"; a token granted text_apis must be refused at /audio, where RFC 6750
    3.1 has the gateway answer 403 insufficient_scope.

    Given the api client
    When the user logs in with the scope "openid offline_access text_apis"
    And the client exchanges the code
    Then the API accepts the access token at "/text/documents"
    When the client calls the API at "/audio/recordings"
    Then the API refuses the call with 403 and "insufficient_scope" naming the scopes "audio_apis all_apis"

  @check:API-02 @MUST @spec:RFC6749-3.3 @fault:access-token-typ-jwt @fault:access-token-aud-is-client @fault:access-token-bad-signature @fault:access-token-wrong-iss @fault:access-token-no-client-id
  Scenario: A token with all_apis opens every API family
    RFC 6749, 3.3: the authorization server issues the access token with the
    scope the client requested and is allowed; all_apis, granted, opens the
    text, audio and video APIs.

    Given the api client
    When the user logs in with the scope "openid offline_access all_apis"
    And the client exchanges the code
    Then the API accepts the access token at "/text/documents, /audio/recordings, /video/streams"

  @check:API-03 @MUST @spec:RFC9068-3 @spec:RFC9068-4 @fault:access-token-aud-all @fault:access-token-typ-jwt @fault:access-token-bad-signature @fault:access-token-wrong-iss
  Scenario: A token issued for another resource server does not open the API
    RFC 9068, 4: the resource server "MUST validate that the aud claim contains
    a resource indicator value corresponding to an identifier the resource
    server expects for itself"; RFC 9068, 3: the authorization server puts the
    resource the token is for in aud. A client of another resource server gets
    tokens the gateway must refuse.

    Given the api-other client
    When the user logs in with the scope "openid offline_access text_apis"
    And the client exchanges the code
    And the client calls the API at "/text/documents"
    Then the API refuses the call with 401 and "invalid_token"
    And the API refused it because the token is for another resource server

  @check:API-04 @moves-clock @MUST @spec:RFC6749-6 @spec:RFC6750-3.1 @fault:refresh-access-token-keeps-expiry @fault:access-token-typ-jwt @fault:access-token-aud-is-client @fault:access-token-bad-signature @fault:access-token-wrong-iss @fault:access-token-no-client-id
  Scenario: After the access token expires, one refresh and one retry succeed
    RFC 6750, 3.1: an expired token gets invalid_token; RFC 6749, 6: the client
    uses its refresh token to "obtain a new access token", which must open the
    API at once: the retry succeeds exactly once, with no second refresh.

    Given the api client
    When the user logs in with the scope "openid offline_access text_apis"
    And the client exchanges the code
    And the access token has expired
    And the API client calls "/text/documents", refreshing once if the API answers 401
    Then the call was refused as invalid_token, one refresh succeeded and the retry was accepted

  @check:API-05 @moves-clock @MUST @spec:RFC7009-2.1 @spec:RFC6749-5.2 @fault:revocation-noop @fault:introspection-always-inactive
  Scenario: A revoked refresh token gives invalid_grant and the user logs in again
    RFC 7009, 2.1: the revoked token is invalidated; RFC 6749, 5.2: an invalid
    or revoked refresh token gets invalid_grant. The client then sends the user
    to a fresh login, whose tokens open the API.

    Given the api-opaque client
    When the user logs in with the scope "openid offline_access text_apis"
    And the client exchanges the code
    And the client revokes the refresh token
    And the access token has expired
    And the API client calls "/text/documents", refreshing once if the API answers 401
    Then the refresh was refused with "invalid_grant" and a fresh login gets an access token the API accepts

  @check:API-06 @moves-clock @MUST @spec:RFC6749-5.2 @fault:refresh-token-lifetime-ignored @fault:introspection-always-inactive
  Scenario: An expired refresh token gives invalid_grant and the user logs in again
    RFC 6749, 5.2: an "expired" refresh token gets invalid_grant. The api-short
    client's refresh tokens live 10 seconds.

    Given the api-short client
    When the user logs in with the scope "openid offline_access text_apis"
    And the client exchanges the code
    And the refresh token has expired after 10 seconds
    And the API client calls "/text/documents", refreshing once if the API answers 401
    Then the refresh was refused with "invalid_grant" and a fresh login gets an access token the API accepts

  @check:API-07 @moves-clock @MUST @spec:RFC7009-2.1 @fault:revocation-noop @fault:access-token-typ-jwt @fault:access-token-aud-is-client @fault:access-token-bad-signature @fault:access-token-wrong-iss @fault:access-token-no-client-id
  Scenario: Logout revokes the refresh token; a JWT access token lasts until it expires
    RFC 7009, 2.1: "the authorization server invalidates the token"; a
    revoked refresh token gets no new tokens. A JWT access token is validated
    by the gateway on its own (RFC 9068 4), so it stays usable until exp: the
    check reports for how long, and that it is refused once expired.

    Given the api client
    When the user logs in with the scope "openid offline_access text_apis"
    And the client exchanges the code
    And the client calls the API at "/text/documents"
    Then the API answers 200
    When the user logs out, revoking the refresh token
    Then the refresh token no longer works
    And the API refuses the access token at "/text/documents" once it has expired, noting how long it outlived the logout

  @check:API-08 @SHOULD @spec:RFC7009-2.1 @fault:revocation-noop @fault:revocation-keeps-access-tokens @fault:introspection-revoked-active @fault:introspection-always-inactive
  Scenario: Logout makes an introspected access token useless at once
    RFC 7009, 2.1: "If the token passed to the request is a refresh token and
    the authorization server supports the revocation of access tokens, then the
    authorization server SHOULD also invalidate all access tokens based on the
    same authorization grant". The gateway introspects opaque tokens on every
    call, so it refuses them as soon as the IdP does.

    Given the api-opaque client
    When the user logs in with the scope "openid offline_access text_apis"
    And the client exchanges the code
    And the client calls the API at "/text/documents"
    Then the API answers 200
    When the user logs out, revoking the refresh token
    Then the API refuses the access token at "/text/documents" at once

  @check:API-09 @MUST @spec:RFC6749-6 @fault:refresh-scope-narrowing-ignored @fault:introspection-always-inactive
  Scenario: A refresh with a narrower scope drops the scopes left out
    RFC 6749, 6: the scope of the refresh request, which "MUST NOT include any
    scope not originally granted", is the scope of the new access token; the
    dropped audio_apis no longer opens /audio.

    Given the api-opaque client
    When the user logs in with the scope "openid offline_access text_apis audio_apis"
    And the client exchanges the code
    Then the API accepts the access token at "/text/documents, /audio/recordings"
    When the client refreshes the tokens asking for the scope "openid offline_access text_apis"
    Then the token response is successful
    And the API accepts the access token at "/text/documents"
    When the client calls the API at "/audio/recordings"
    Then the API refuses the call with 403 and "insufficient_scope"

  @check:API-10 @MUST @spec:RFC8252-7.3 @spec:RFC8252-8.1 @fault:loopback-port-exact @fault:pkce-plain-only @fault:access-token-typ-jwt @fault:access-token-aud-is-client @fault:access-token-bad-signature @fault:access-token-wrong-iss @fault:access-token-no-client-id
  Scenario: A native app logs in with PKCE through a loopback redirect on any port
    RFC 8252, 7.3: for loopback IP redirect URIs "The authorization server MUST
    allow any port to be specified at the time of the request"; 8.1: public
    native clients use PKCE. The app's token opens the API.

    Given the api-native client
    When the user logs in through a loopback redirect URI on an ephemeral port
    And the client exchanges the code
    Then the API accepts the access token at "/text/documents"

  @check:API-11 @MUST @spec:RFC9068-2.1 @spec:RFC9068-2.2 @fault:access-token-typ-jwt @fault:access-token-aud-is-client @fault:access-token-bad-signature @fault:access-token-wrong-iss @fault:access-token-no-client-id
  Scenario: JWT access tokens follow the RFC 9068 profile
    RFC 9068, 2.1: JWT access tokens "MUST include this media type in the typ
    header parameter" (at+jwt) and are signed; 2.2: iss, exp, aud, sub,
    client_id, iat and jti are REQUIRED; 3: aud names the resource.

    Given the api client
    When the user logs in with the scope "openid offline_access text_apis"
    And the client exchanges the code
    Then the access token is an RFC 9068 JWT access token for "https://api.kensa.test"
