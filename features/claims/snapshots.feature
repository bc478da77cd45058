@area:snapshots @needs:oidc
Feature: Snapshots of tokens and responses
  Each target has its own blessed baseline under fixtures/snapshots/<target>/.
  A token or response that changes shape or value fails its check with a
  diff; volatile values (timestamps, nonces, ids, hashes, tokens) are checked
  and replaced by placeholders first (see `kensa::snapshot::redact`). Bless a
  new baseline with `kensa run --target NAME --update-snapshots`.

  Background:
    Given the target's discovery document
    And the confidential client

  @check:SNAP-01 @BASELINE @spec:OIDC-Core-2 @fault:id-token-wrong-iss @fault:id-token-aud-missing-client @fault:id-token-expired @fault:nonce-not-echoed @fault:at-hash-wrong @fault:id-token-no-iat @fault:id-token-alg-none @fault:id-token-hs256-pubkey @fault:auth-time-missing
  Scenario: The ID token's header and claims match the baseline
    The ID token's header (alg, typ, kid) and claims as the target issues them
    for the fixture user; exp shows the token lifetime as iat + N s.

    When the user logs in
    And the client exchanges the code
    Then the ID token matches its snapshot

  @check:SNAP-02 @BASELINE @spec:RFC6749-5.1 @fault:token-response-cacheable @fault:id-token-alg-none @fault:id-token-hs256-pubkey
  Scenario: The token response matches the baseline
    Status, Cache-Control and Pragma headers, members and token shapes (JWT or
    opaque, never the tokens themselves), token_type, expires_in and scope.

    When the user logs in
    And the client exchanges the code
    Then the token response matches its snapshot

  @check:SNAP-03 @BASELINE @spec:OIDC-Core-5.3.2 @fault:userinfo-sub-mismatch @fault:userinfo-claim-types-wrong @fault:scope-profile-ignored @fault:scope-email-ignored
  Scenario: The userinfo response matches the baseline
    The claims the scopes openid, profile and email release for the fixture
    user.

    When the user logs in
    And the client exchanges the code
    And the client calls the userinfo endpoint with GET
    Then the userinfo response matches its snapshot

  @check:SNAP-04 @BASELINE @spec:RFC7662-2.2 @fault:introspection-always-inactive
  Scenario: The introspection response matches the baseline
    What the IdP says about an active access token to its client.

    When the user logs in
    And the client exchanges the code
    And the client introspects the access token
    Then the introspection response matches its snapshot

  @check:SNAP-05 @BASELINE @spec:OIDC-Discovery-3 @fault:discovery-issuer-mismatch @fault:discovery-incomplete @fault:discovery-no-rs256 @fault:discovery-dead-endpoint @fault:discovery-auth-methods-wrong @fault:discovery-scopes-without-openid @fault:pkce-plain-advertised-refused
  Scenario: The discovery document matches the baseline
    Every member of the provider metadata, with the issuer URL as {issuer}
    and lists of supported values sorted.

    Then the discovery document matches its snapshot

  @check:SNAP-06 @BASELINE @spec:RFC6749-5.2 @fault:code-reusable
  Scenario: The token endpoint's error for a used code matches the baseline
    The status, headers and error body when an authorization code is redeemed
    a second time.

    When the user logs in
    And the client exchanges the code
    And the client exchanges the same code again
    Then the error response matches its snapshot
