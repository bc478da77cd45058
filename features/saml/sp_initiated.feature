@area:saml @needs:saml
Feature: SP-initiated sign-in
  AWS sign-in starts at the IdP, but a service provider may start it with
  an AuthnRequest on the HTTP-Redirect binding (SAML profiles 4.1.2); the
  IdP's Response must then say which request it answers, so that the
  service provider can refuse responses it never asked for.

  @check:SAML-11 @MUST @spec:SAMLCore-3.2.2 @spec:SAMLProfiles-4.1.4.2 @fault:saml-metadata-no-signing-key @fault:saml-in-response-to-missing
  Scenario: A Response to an AuthnRequest names it in InResponseTo
    SAML core 3.2.2, InResponseTo: unless the response was not generated in
    response to a request, "it MUST be present and its value MUST match the
    value of the corresponding request's ID attribute". SAML profiles
    4.1.4.2: "If the containing message is in response to an <AuthnRequest>,
    then the InResponseTo attribute MUST match the request's ID."

    Given the IdP's SAML metadata
    When the user signs in at the IdP through an AuthnRequest from AWS
    Then the SAML response answers that AuthnRequest
