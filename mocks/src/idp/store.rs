//! In-memory state of the reference IdP: pending logins, sessions,
//! authorization codes, tokens, and the users and failure counts of
//! delegated logins.

use std::collections::HashMap;

use super::external_auth::ExternalUser;
use super::util::random_token;

/// Prefix of every authorization code the reference IdP issues, so that a
/// leaked code is easy to find in any output (as secret scanners find
/// prefixed tokens).
pub const CODE_PREFIX: &str = "kensa-code-";
/// Prefix of every access token the reference IdP issues.
pub const ACCESS_TOKEN_PREFIX: &str = "kensa-at-";
/// Prefix of every refresh token the reference IdP issues.
pub const REFRESH_TOKEN_PREFIX: &str = "kensa-rt-";

/// Lifetime of an authorization code, in seconds.
pub(crate) const CODE_TTL: u64 = 60;
/// How long a redeemed code is remembered after it expires, in seconds.
const USED_CODE_MEMORY: u64 = 600;
/// Lifetime of a pending login, in seconds.
pub(crate) const PENDING_TTL: u64 = 600;
/// Lifetime of a browser session at the IdP, in seconds.
pub(crate) const SESSION_TTL: u64 = 3600;

/// A validated authorization request.
#[derive(Debug, Clone)]
pub(crate) struct AuthRequest {
    pub client_id: String,
    /// The redirect_uri as sent, if it was sent.
    pub redirect_uri: Option<String>,
    /// Where the response goes: the sent redirect_uri or the only registered one.
    pub redirect_target: String,
    pub scope: Vec<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    /// The claims request parameter (OpenID Connect Core 5.5), parsed.
    pub claims: Option<serde_json::Value>,
    /// For IdP-initiated SAML SSO: the RelayState to post back (empty for
    /// none). Such a request ends in the SAML form, not a code.
    pub saml_relay_state: Option<String>,
    /// For SP-initiated SAML SSO: the AuthnRequest's ID, which the
    /// Response answers in InResponseTo.
    pub saml_request_id: Option<String>,
}

/// An authorization request waiting for the user to sign in.
#[derive(Debug, Clone)]
pub(crate) struct Pending {
    pub request: AuthRequest,
    pub browser: String,
    pub csrf_token: String,
    pub expires: u64,
}

/// A signed-in browser.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    pub sub: String,
    pub auth_time: u64,
    pub expires: u64,
}

/// An issued authorization code.
#[derive(Debug, Clone)]
pub(crate) struct Code {
    pub request: AuthRequest,
    pub sub: String,
    pub auth_time: u64,
    pub expires: u64,
    pub used: bool,
    /// Grants created by redeeming this code.
    pub grants: Vec<u64>,
}

/// An issued access or refresh token.
#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub client_id: String,
    pub sub: String,
    pub scope: Vec<String>,
    pub grant: u64,
    pub auth_time: u64,
    pub iat: u64,
    pub exp: u64,
    pub revoked: bool,
    /// Revoked because a refresh replaced it (rotation), not by revocation:
    /// presenting it again reveals a stolen copy (RFC 9700 4.14.2).
    pub rotated: bool,
    /// The claims request of the authorization request (for userinfo).
    pub claims: Option<serde_json::Value>,
}

impl Token {
    /// Unexpired and unrevoked at `now`.
    pub(crate) fn is_active(&self, now: u64) -> bool {
        !self.revoked && now < self.exp
    }
}

/// Everything the IdP remembers between requests.
#[derive(Debug, Default)]
pub(crate) struct Store {
    pub pending: HashMap<String, Pending>,
    pub sessions: HashMap<String, Session>,
    pub codes: HashMap<String, Code>,
    pub access_tokens: HashMap<String, Token>,
    pub refresh_tokens: HashMap<String, Token>,
    /// Users authenticated by the external API, by subject identifier.
    pub external_users: HashMap<String, ExternalUser>,
    /// Consecutive passwords the external API rejected, by submitted username.
    pub external_failures: HashMap<String, u32>,
    next_grant: u64,
    clock: crate::time::Clock,
}

impl Store {
    /// An empty store reading `clock`.
    pub(crate) fn with_clock(clock: crate::time::Clock) -> Self {
        Self { clock, ..Self::default() }
    }

    /// Seconds since the UNIX epoch, by the provider's clock.
    pub(crate) fn now(&self) -> u64 {
        u64::try_from(self.clock.now_secs()).unwrap_or(0)
    }

    /// Forgets pending logins, sessions and codes that have expired.
    fn prune(&mut self) {
        let now = self.now();
        self.pending.retain(|_, p| now < p.expires);
        self.sessions.retain(|_, s| now < s.expires);
        // Redeemed codes are kept a while longer so that reuse is detected.
        self.codes.retain(|_, c| now < c.expires || (c.used && now < c.expires + USED_CODE_MEMORY));
    }

    /// Stores a pending login and returns its id.
    pub(crate) fn add_pending(&mut self, request: AuthRequest, browser: String) -> (String, String) {
        self.prune();
        let id = random_token();
        let csrf_token = random_token();
        self.pending.insert(
            id.clone(),
            Pending { request, browser, csrf_token: csrf_token.clone(), expires: self.now() + PENDING_TTL },
        );
        (id, csrf_token)
    }

    /// The unexpired pending login `id`.
    pub(crate) fn pending(&mut self, id: &str) -> Option<&mut Pending> {
        let now = self.now();
        self.pending.get_mut(id).filter(|p| now < p.expires)
    }

    /// Creates a session for `sub` and returns its id.
    pub(crate) fn add_session(&mut self, sub: &str, auth_time: u64) -> String {
        self.prune();
        let id = random_token();
        self.sessions.insert(id.clone(), Session { sub: sub.to_owned(), auth_time, expires: auth_time + SESSION_TTL });
        id
    }

    /// The unexpired session `id`.
    pub(crate) fn session(&self, id: &str) -> Option<&Session> {
        let now = self.now();
        self.sessions.get(id).filter(|s| now < s.expires)
    }

    /// Issues an authorization code.
    pub(crate) fn add_code(&mut self, request: AuthRequest, sub: &str, auth_time: u64) -> String {
        self.prune();
        let code = format!("{CODE_PREFIX}{}", random_token());
        self.codes.insert(
            code.clone(),
            Code {
                request,
                sub: sub.to_owned(),
                auth_time,
                expires: self.now() + CODE_TTL,
                used: false,
                grants: Vec::new(),
            },
        );
        code
    }

    /// A fresh grant id, tying together the tokens of one code redemption.
    pub(crate) fn new_grant(&mut self) -> u64 {
        self.next_grant += 1;
        self.next_grant
    }

    /// Stores a token under a new random value and returns the value.
    pub(crate) fn add_access_token(&mut self, token: Token) -> String {
        let value = format!("{ACCESS_TOKEN_PREFIX}{}", random_token());
        self.access_tokens.insert(value.clone(), token);
        value
    }

    /// Stores a refresh token under a new random value and returns the value.
    pub(crate) fn add_refresh_token(&mut self, token: Token) -> String {
        let value = format!("{REFRESH_TOKEN_PREFIX}{}", random_token());
        self.refresh_tokens.insert(value.clone(), token);
        value
    }

    /// Revokes every access and refresh token of `grant`.
    pub(crate) fn revoke_grant(&mut self, grant: u64) {
        self.revoke_access_tokens_of(grant);
        for token in self.refresh_tokens.values_mut() {
            if token.grant == grant {
                token.revoked = true;
            }
        }
    }

    /// Revokes every access token of `grant`.
    pub(crate) fn revoke_access_tokens_of(&mut self, grant: u64) {
        for token in self.access_tokens.values_mut() {
            if token.grant == grant {
                token.revoked = true;
            }
        }
    }
}
