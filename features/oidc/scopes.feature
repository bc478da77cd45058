@area:userinfo @needs:oidc
Feature: Standard scopes
  The profile, email, address and phone scopes request sets of claims about the
  user (OpenID Connect Core 1.0, 5.4). With the scope granted, userinfo
  releases the claims the user has, with their values.

  Background:
    Given the target's discovery document
    And the confidential client

  @check:OIDC-SCOPE-01 @SHOULD @spec:OIDC-Core-5.4 @needs:scope-claims:profile @fault:scope-profile-ignored @cert:oidcc-scope-profile
  Scenario: The profile scope releases the user's profile claims
    OpenID Connect Core 1.0, 5.4, profile: "This scope value requests access to
    the End-User's default profile Claims"; the scopes' claims are Voluntary
    Claims, so an OP SHOULD release them for a user who has them.

    When the user logs in with the scope "openid profile"
    And the client exchanges the code
    And the client calls the userinfo endpoint with GET
    Then the userinfo response carries the user's profile claims

  @check:OIDC-SCOPE-02 @SHOULD @spec:OIDC-Core-5.4 @needs:scope-claims:email @fault:scope-email-ignored @cert:oidcc-scope-email @fault:userinfo-claim-types-wrong
  Scenario: The email scope releases email and email_verified
    OpenID Connect Core 1.0, 5.4, email: "This scope value requests access to
    the email and email_verified Claims."

    When the user logs in with the scope "openid email"
    And the client exchanges the code
    And the client calls the userinfo endpoint with GET
    Then the userinfo response carries the user's email claims

  @check:OIDC-SCOPE-03 @SHOULD @spec:OIDC-Core-5.4 @needs:scope-claims:address @fault:scope-address-ignored @cert:oidcc-scope-address
  Scenario: The address scope releases the address claim
    OpenID Connect Core 1.0, 5.4, address: "This scope value requests access to
    the address Claim."

    When the user logs in with the scope "openid address"
    And the client exchanges the code
    And the client calls the userinfo endpoint with GET
    Then the userinfo response carries the user's address claims

  @check:OIDC-SCOPE-04 @SHOULD @spec:OIDC-Core-5.4 @needs:scope-claims:phone @fault:scope-phone-ignored @cert:oidcc-scope-phone
  Scenario: The phone scope releases phone_number and phone_number_verified
    OpenID Connect Core 1.0, 5.4, phone: "This scope value requests access to
    the phone_number and phone_number_verified Claims."

    When the user logs in with the scope "openid phone"
    And the client exchanges the code
    And the client calls the userinfo endpoint with GET
    Then the userinfo response carries the user's phone claims

  @check:OIDC-SCOPE-05 @SHOULD @spec:OIDC-Core-5.4 @needs:scope-claims:profile @needs:scope-claims:email @needs:scope-claims:address @needs:scope-claims:phone @fault:scope-profile-ignored @fault:scope-email-ignored @fault:scope-address-ignored @fault:scope-phone-ignored @cert:oidcc-scope-all @fault:userinfo-claim-types-wrong
  Scenario: All four scopes together release all of their claims
    OpenID Connect Core 1.0, 5.4: "Multiple scope values MAY be used by creating
    a space delimited, case sensitive list of ASCII scope values."

    When the user logs in with the scope "openid profile email address phone"
    And the client exchanges the code
    And the client calls the userinfo endpoint with GET
    Then the userinfo response carries the user's profile, email, address and phone claims
