//! SAML 2.0 for the file linkage: a hardened XML tree, exclusive
//! canonicalization, enveloped XML signatures, IdP metadata and Responses.
//! The reference IdP builds and signs with it; the STS mock and kensa's
//! checks read and verify with it.

pub mod authn;
pub mod c14n;
pub mod dsig;
pub mod metadata;
pub mod response;
pub mod xml;
