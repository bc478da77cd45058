@area:saml @needs:saml
Feature: SAML assertions AWS STS accepts
  In the government file linkage each system signs in at the IdP, which
  posts a signed SAML Response to AWS; STS AssumeRoleWithSAML exchanges it
  for temporary credentials only if every rule below holds. Each check
  judges the IdP's Response by one rule, exactly as kensa's STS mock does
  (the same code), and quotes the AWS documentation it follows: IAM User
  Guide, "Configure SAML assertions for the authentication response" and
  "Troubleshoot SAML 2.0 federation"; STS API Reference, AssumeRoleWithSAML.

  Background:
    Given the IdP's SAML metadata
    When the user signs in at the IdP for AWS

  @check:SAML-01 @MUST @spec:SAMLMeta-2.4.3 @spec:AWS-IAM-SAML-Provider @fault:saml-metadata-no-signing-key
  Scenario: The IdP's metadata names its entity, a signing key and an SSO endpoint
    SAML metadata 2.4.3: an IDPSSODescriptor holds "one or more
    <SingleSignOnService> elements"; the IAM provider keeps the metadata
    because it "includes the issuer name, expiration information, and keys
    that can be used to validate the SAML authentication response".

    Then the metadata names the entity, a signing key and a single sign-on endpoint

  @check:SAML-02 @MUST @spec:AWS-IAM-SAML-Troubleshoot @spec:XMLDSig-3.2 @fault:saml-metadata-no-signing-key @fault:saml-unsigned @fault:saml-signed-by-unpublished-key @fault:saml-altered-after-signing
  Scenario: The Response is signed with a key of the IdP's metadata
    AWS validates the response with the keys of the metadata uploaded for
    the provider; otherwise STS answers InvalidIdentityToken "Response
    signature invalid". XML-DSig 3.2: a reference whose digest does not
    match, or a SignatureValue that does not verify, fails validation.

    Then the SAML response meets the STS rule "signature"

  @check:SAML-03 @MUST @spec:AWS-IAM-SAML-Troubleshoot @spec:SAMLCore-2.3.3 @fault:saml-metadata-no-signing-key @fault:saml-issuer-wrong
  Scenario: The assertion's Issuer is the IdP's entity id
    The Issuer must be the entity in the provider's metadata, else STS
    answers "Issuer not present in specified provider".

    Then the SAML response meets the STS rule "issuer"

  @check:SAML-04 @MUST @spec:AWS-IAM-SAML-Troubleshoot @spec:SAMLCore-2.5.1.4 @fault:saml-metadata-no-signing-key @fault:saml-audience-wrong
  Scenario: The assertion is restricted to AWS as its audience
    SAML core 2.5.1.4: the assertion is addressed to the audiences of its
    AudienceRestriction; AWS answers "Response does not contain the
    required audience." unless one is https://signin.aws.amazon.com/saml
    or urn:amazon:webservices.

    Then the SAML response meets the STS rule "audience"

  @check:SAML-05 @MUST @spec:AWS-IAM-SAML-Assertions @spec:SAMLProfiles-4.1.4.2 @fault:saml-metadata-no-signing-key @fault:saml-recipient-wrong
  Scenario: The bearer confirmation names AWS's sign-in endpoint as Recipient
    "There must be exactly one SubjectConfirmation element with a
    SubjectConfirmationData element that includes both the NotOnOrAfter
    attribute and a Recipient attribute" matching the AWS endpoint.

    Then the SAML response meets the STS rule "recipient"

  @check:SAML-06 @MUST @spec:SAMLBind-3.5.5.2 @fault:saml-metadata-no-signing-key @fault:saml-destination-wrong
  Scenario: The Response's Destination is AWS's sign-in endpoint
    SAML bindings 3.5.5.2: "If the message is signed, the Destination XML
    attribute in the root SAML element of the protocol message MUST contain
    the URL to which the sender has instructed the user agent to deliver
    the message."

    Then the SAML response meets the STS rule "destination"

  @check:SAML-07 @MUST @spec:SAMLCore-2.5.1.2 @spec:AWS-IAM-SAML-Assertions @fault:saml-metadata-no-signing-key @fault:saml-assertion-expired @fault:saml-not-yet-valid
  Scenario: The assertion is valid now
    SAML core 2.5.1.2: the assertion is valid from NotBefore and until
    NotOnOrAfter; STS refuses an expired one with ExpiredTokenException and
    one not yet valid with InvalidIdentityToken (5 minutes of clock skew
    tolerated).

    Then the SAML response meets the STS rule "validity"

  @check:SAML-08 @MUST @spec:AWS-IAM-SAML-Assertions @fault:saml-metadata-no-signing-key @fault:saml-role-missing @fault:saml-role-pair-incomplete
  Scenario: The Role attribute holds the role and provider ARN pair
    The https://aws.amazon.com/SAML/Attributes/Role attribute "must contain
    at least one role-provider pair", each "a comma-delimited pair of ARNs
    in the same format as the RoleArn and PrincipalArn parameters"; without
    it STS answers AccessDenied "Not authorized to perform
    sts:AssumeRoleWithSAML".

    Then the SAML response meets the STS rule "role"

  @check:SAML-09 @MUST @spec:AWS-IAM-SAML-Assertions @fault:saml-metadata-no-signing-key @fault:saml-session-name-invalid
  Scenario: The RoleSessionName attribute is a valid session name
    RoleSessionName "must be between 2 and 64 characters long, can contain
    only alphanumeric characters, underscores, and the following
    characters: . , + = @ -. It cannot contain spaces."

    Then the SAML response meets the STS rule "role-session-name"

  @check:SAML-10 @MUST @spec:AWS-IAM-SAML-Assertions @fault:saml-metadata-no-signing-key @fault:saml-session-duration-out-of-range
  Scenario: The SessionDuration attribute is within 900 to 43200 seconds
    SessionDuration holds "from 900 seconds (15 minutes) to 43200 seconds
    (12 hours)".

    Then the SAML response meets the STS rule "session-duration"
