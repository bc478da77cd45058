# Every linkage check breaks when the IdP's SAML response breaks one STS rule:
@area:file-linkage @needs:saml
@fault:saml-metadata-no-signing-key @fault:saml-unsigned @fault:saml-signed-by-unpublished-key @fault:saml-altered-after-signing @fault:saml-issuer-wrong @fault:saml-audience-wrong @fault:saml-recipient-wrong @fault:saml-destination-wrong @fault:saml-assertion-expired @fault:saml-not-yet-valid @fault:saml-role-missing @fault:saml-role-pair-incomplete @fault:saml-session-name-invalid @fault:saml-session-duration-out-of-range
Feature: File linkage through the common storage
  The design of the file linkage between government systems: a system
  signs in at the IdP, exchanges the signed SAML assertion at STS
  (AssumeRoleWithSAML) for temporary credentials, stores the linkage file
  in the common bucket and then a completion notification; the consuming
  system waits for the notification, then fetches the file. Here STS and
  the storage are kensa's mocks: STS enforces AWS's acceptance rules, the
  storage verifies SigV4 and admits only the credentials STS issued.

  Background:
    Given the IdP's SAML metadata
    And the AWS side of the file linkage, holding that metadata
    When the user signs in at the IdP for AWS
    And the system assumes the role with the SAML response
    Then STS grants temporary credentials

  @check:LINK-01 @MUST @spec:AWS-STS-AssumeRoleWithSAML @spec:AWS-S3-SigV4
  Scenario: A linkage file and its notification reach the consuming system intact
    AssumeRoleWithSAML "returns a set of temporary security credentials for
    users who have been authenticated via a SAML authentication response";
    with them the sending system stores the file, then the notification,
    and the consumer downloads the file and finds the size and SHA-256 the
    notification states.

    When the system uploads the linkage file "outbox/2026-12/renkei-0001.csv" of 65536 bytes
    And the system uploads the completion notification for "outbox/2026-12/renkei-0001.csv"
    And the consuming system signs in and assumes the role
    And the consumer polls for completion notifications under "outbox/2026-12/"
    Then the consumer downloads "outbox/2026-12/renkei-0001.csv" and its size and checksum match the notification

  @check:LINK-02 @MUST @spec:AWS-STS-AssumeRoleWithSAML
  Scenario: A consumer polling before the notification finds nothing to process
    The consumer processes a file only after its completion notification;
    a file still being written has none.

    When the system uploads the linkage file "outbox/2026-12/renkei-0002.csv" of 4096 bytes
    And the consumer polls for completion notifications under "outbox/2026-12/"
    Then the consumer finds no file to process

  @needs:aws-mock @check:LINK-03 @MUST @spec:AWS-STS-AssumeRoleWithSAML @spec:AWS-S3-ErrorResponses
  Scenario: Expired temporary credentials are refused by the storage
    The credentials carry an Expiration; S3 answers ExpiredToken "The
    provided token has expired." once it has passed.

    When the mocks' clock passes the credentials' expiry
    Then the storage refuses the credentials with "ExpiredToken"

  @needs:aws-mock @check:LINK-04 @SHOULD @spec:SAMLProfiles-4.1.4.2 @spec:AWS-IAM-SAML-Assertions @fault:saml-lifetime-day
  Scenario: A captured SAML response replayed 15 minutes later is refused
    SAML profiles 4.1.4.2: the bearer SubjectConfirmationData carries a
    NotOnOrAfter "to limit the window during which the assertion can be
    delivered"; with AWS's 5 minutes of skew, an assertion still accepted
    15 minutes after sign-in gives a captured response a long replay window.

    When the same SAML response is presented again 15 minutes later
    Then STS refuses with "ExpiredTokenException"

  @serial @check:LINK-05 @MUST @spec:AWS-IAM-SAML-Troubleshoot @needs:saml-rotation @needs:aws-mock @fault:saml-rotation-metadata-stale
  Scenario: After a signing-key rotation STS refuses until its metadata is updated
    AWS's troubleshooting guide: "This error can occur when federation
    metadata of the identity provider does not match the metadata of the
    IAM identity provider ... Download the updated SAML metadata file from
    your identity service provider. Then update it in the AWS identity
    provider entity that you define in IAM".

    When the IdP rotates its SAML signing key
    And the user signs in at the IdP for AWS
    And the system assumes the role with the SAML response
    Then STS refuses with "InvalidIdentityToken"
    When the IAM SAML provider is updated with the IdP's current metadata
    And the system assumes the role with the SAML response
    Then STS grants temporary credentials
