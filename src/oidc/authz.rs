//! Authorization requests (RFC 6749 4.1.1, OpenID Connect Core 3.1.2.1) and
//! the authorization response at the redirect URI.

use url::Url;

use super::pkce::Pkce;
use crate::secret::{Scrubber, Secret};

/// An authorization request under construction.
#[derive(Debug, Clone)]
pub struct AuthRequest {
    /// client_id.
    pub client_id: String,
    /// redirect_uri.
    pub redirect_uri: String,
    /// response_type; `None` omits the parameter.
    pub response_type: Option<String>,
    /// scope.
    pub scope: String,
    /// state.
    pub state: String,
    /// nonce; `None` omits it.
    pub nonce: Option<String>,
    /// PKCE pair; `None` sends no code_challenge.
    pub pkce: Option<Pkce>,
    /// Further parameters.
    pub extra: Vec<(String, String)>,
}

impl AuthRequest {
    /// A code-flow request with fresh state, nonce and S256 PKCE.
    #[must_use]
    pub fn new(client_id: &str, redirect_uri: &str, scope: &str) -> Self {
        Self {
            client_id: client_id.into(),
            redirect_uri: redirect_uri.into(),
            response_type: Some("code".into()),
            scope: scope.into(),
            state: super::random_token(16),
            nonce: Some(super::random_token(16)),
            pkce: Some(Pkce::generate()),
            extra: Vec::new(),
        }
    }

    /// The request's parameters, in a stable order.
    #[must_use]
    pub fn params(&self) -> Vec<(String, String)> {
        let mut p = Vec::new();
        if let Some(rt) = &self.response_type {
            p.push(("response_type".to_owned(), rt.clone()));
        }
        p.push(("client_id".into(), self.client_id.clone()));
        p.push(("redirect_uri".into(), self.redirect_uri.clone()));
        p.push(("scope".into(), self.scope.clone()));
        p.push(("state".into(), self.state.clone()));
        if let Some(n) = &self.nonce {
            p.push(("nonce".into(), n.clone()));
        }
        if let Some(pk) = &self.pkce {
            p.push(("code_challenge".into(), pk.challenge.clone()));
            p.push(("code_challenge_method".into(), pk.method.clone()));
        }
        p.extend(self.extra.iter().cloned());
        p
    }

    /// The request as a URL on `authorization_endpoint` (keeping any query
    /// the endpoint already has).
    #[must_use]
    pub fn to_url(&self, authorization_endpoint: &Url) -> Url {
        let mut u = authorization_endpoint.clone();
        u.query_pairs_mut().extend_pairs(self.params());
        u
    }

    /// Whether `url` is this request's redirect URI (scheme, host, port and
    /// path equal; the query may carry the response).
    #[must_use]
    pub fn is_redirect_target(&self, url: &Url) -> bool {
        same_endpoint(url, &self.redirect_uri)
    }
}

/// Whether `url` addresses the endpoint `endpoint` (query and fragment ignored).
#[must_use]
pub fn same_endpoint(url: &Url, endpoint: &str) -> bool {
    let Ok(e) = Url::parse(endpoint) else {
        return false;
    };
    url.scheme() == e.scheme()
        && url.host_str() == e.host_str()
        && url.port_or_known_default() == e.port_or_known_default()
        && url.path() == e.path()
}

/// The authorization response read from the redirect URI.
#[derive(Debug, Clone, Default)]
pub struct Callback {
    /// The code, if one was issued.
    pub code: Option<Secret>,
    /// state as returned.
    pub state: Option<String>,
    /// RFC 9207 iss as returned.
    pub iss: Option<String>,
    /// error, if the request was refused.
    pub error: Option<String>,
    /// error_description.
    pub error_description: Option<String>,
}

impl Callback {
    /// Reads the query of a redirect to the redirect URI; registers the code
    /// with the scrubber.
    #[must_use]
    pub fn parse(url: &Url, scrubber: &Scrubber) -> Self {
        let mut cb = Self::default();
        for (k, v) in url.query_pairs() {
            match k.as_ref() {
                "code" => {
                    scrubber.register(&v);
                    cb.code = Some(Secret::new(v.into_owned()));
                }
                "state" => cb.state = Some(v.into_owned()),
                "iss" => cb.iss = Some(v.into_owned()),
                "error" => cb.error = Some(v.into_owned()),
                "error_description" => cb.error_description = Some(v.into_owned()),
                _ => {}
            }
        }
        cb
    }

    /// `error: description` for messages.
    #[must_use]
    pub fn error_text(&self) -> String {
        match (&self.error, &self.error_description) {
            (Some(e), Some(d)) => format!("{e}: {d}"),
            (Some(e), None) => e.clone(),
            _ => "no error".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_carries_every_parameter() {
        let r = AuthRequest::new("c1", "https://c.test/cb", "openid email");
        let u = r.to_url(&Url::parse("https://op.test/authorize?x=1").unwrap());
        let q: std::collections::HashMap<_, _> = u.query_pairs().into_owned().collect();
        assert_eq!(q["x"], "1");
        assert_eq!(q["response_type"], "code");
        assert_eq!(q["code_challenge_method"], "S256");
        assert_eq!(q["state"], r.state);
        assert!(q.contains_key("nonce"));
    }

    #[test]
    fn callback_parsing_and_redirect_matching() {
        let sc = Scrubber::new();
        let u = Url::parse("https://c.test/cb?code=abcdef123&state=s&iss=https%3A%2F%2Fop.test").unwrap();
        let cb = Callback::parse(&u, &sc);
        assert_eq!(cb.code.unwrap().expose(), "abcdef123");
        assert_eq!(cb.iss.as_deref(), Some("https://op.test"));
        assert!(!sc.scrub("x abcdef123").contains("abcdef123"));
        assert!(same_endpoint(&u, "https://c.test/cb"));
        assert!(!same_endpoint(&u, "https://c.test/cb/evil"));
        assert!(!same_endpoint(&Url::parse("https://c.test:8443/cb").unwrap(), "https://c.test/cb"));
    }
}
