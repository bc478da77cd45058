//! Test doubles for kensa: the reference OpenID Provider, which follows the
//! specifications strictly unless one named fault switch is set, and the
//! realm fixture data it serves.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod api;
pub mod external;
pub mod idp;
pub mod realm;
pub mod saml;
pub mod storage;
pub mod sts;
pub mod time;

/// A reqwest client builder, after making ring rustls's process-wide crypto
/// provider (reqwest is built without one of its own, and building a client
/// before a provider is installed would panic). Every HTTP client of kensa
/// and its mocks starts here.
pub fn client_builder() -> reqwest::ClientBuilder {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // Err means another provider was installed first, which is as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
    reqwest::Client::builder()
}
