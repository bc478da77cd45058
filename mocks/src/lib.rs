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

/// A reqwest client builder whose TLS trusts the operating system's store,
/// through one rustls configuration the whole process shares (ring
/// provider). reqwest alone would read and parse every system certificate
/// for each client it builds, which was a fifth of a run's CPU: kensa
/// builds two clients per scenario. Every HTTP client of kensa and its
/// mocks starts here, or at [`client_builder_own_roots`].
pub fn client_builder() -> reqwest::ClientBuilder {
    static SHARED: std::sync::OnceLock<Option<rustls::ClientConfig>> = std::sync::OnceLock::new();
    let shared = SHARED.get_or_init(|| {
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let verifier = rustls_platform_verifier::Verifier::new(std::sync::Arc::clone(&provider)).ok()?;
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .ok()?
            .dangerous()
            .with_custom_certificate_verifier(std::sync::Arc::new(verifier))
            .with_no_client_auth();
        Some(config)
    });
    match shared {
        Some(config) => client_builder_own_roots().tls_backend_preconfigured(config.clone()),
        None => client_builder_own_roots(),
    }
}

/// A reqwest client builder for a client that adds trust anchors of its
/// own (`add_root_certificate`), after installing ring as rustls's
/// process-wide crypto provider (reqwest is built without one, and
/// building a client before a provider is installed would panic).
pub fn client_builder_own_roots() -> reqwest::ClientBuilder {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // Err means another provider was installed first, which is as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
    reqwest::Client::builder()
}
