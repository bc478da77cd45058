//! Test support: a minimal HTTP/1.1 client over a TCP stream, a cookie jar,
//! and helpers that drive the reference IdP through its login flow.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use kensa_mocks::idp::{Fault, IdpConfig, Keys, RunningIdp};
use kensa_mocks::realm::{Client, Realm};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use url::Url;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures");

/// An HTTP response.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn header_all(&self, name: &str) -> Vec<&str> {
        self.headers.iter().filter(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str()).collect()
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {} {}", self.status, self.body))
    }

    /// The `error` member of a JSON error body.
    pub fn error(&self) -> String {
        self.json()["error"].as_str().unwrap_or_default().to_owned()
    }

    pub fn location(&self) -> Url {
        Url::parse(self.header("location").expect("Location header")).unwrap()
    }
}

/// Sends one request and reads the whole response.
pub async fn send(issuer: &str, method: &str, target: &str, headers: &[(&str, String)], body: Option<&str>) -> Resp {
    let host = issuer.trim_start_matches("http://");
    let mut stream = TcpStream::connect(host).await.unwrap();
    let mut request = format!("{method} {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    if let Some(body) = body {
        request.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    request.push_str("\r\n");
    if let Some(body) = body {
        request.push_str(body);
    }
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    parse_response(&raw)
}

fn parse_response(raw: &[u8]) -> Resp {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("end of headers");
    let head = std::str::from_utf8(&raw[..split]).unwrap();
    let mut body = raw[split + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    let status = status_line.split(' ').nth(1).unwrap().parse().unwrap();
    let headers: Vec<(String, String)> =
        lines.filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned())).collect();
    let chunked =
        headers.iter().any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked"));
    if chunked {
        body = dechunk(&body);
    }
    Resp { status, headers, body: String::from_utf8(body).unwrap() }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n").unwrap();
        let size_text = std::str::from_utf8(&data[..line_end]).unwrap();
        let size = usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16).unwrap();
        data = &data[line_end + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

/// Form-encodes name/value pairs.
pub fn form(pairs: &[(&str, &str)]) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

/// A browser: a cookie jar in front of [`send`].
#[derive(Debug, Default, Clone)]
pub struct Browser {
    pub cookies: BTreeMap<String, String>,
}

impl Browser {
    pub async fn request(&mut self, issuer: &str, method: &str, target: &str, body: Option<&str>) -> Resp {
        let mut headers = Vec::new();
        if !self.cookies.is_empty() {
            let jar: Vec<String> = self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
            headers.push(("Cookie", jar.join("; ")));
        }
        if body.is_some() {
            headers.push(("Content-Type", "application/x-www-form-urlencoded".to_owned()));
        }
        let resp = send(issuer, method, target, &headers, body).await;
        for set in resp.header_all("set-cookie") {
            let pair = set.split(';').next().unwrap();
            let (k, v) = pair.split_once('=').unwrap();
            self.cookies.insert(k.to_owned(), v.to_owned());
        }
        resp
    }
}

/// A started reference IdP and its realm.
pub struct Env {
    pub idp: RunningIdp,
    pub realm: Realm,
}

pub fn realm() -> Realm {
    Realm::load(Path::new(&format!("{FIXTURES}/realm.toml"))).unwrap()
}

pub fn keys() -> Keys {
    let read = |name: &str| std::fs::read_to_string(format!("{FIXTURES}/keys/{name}")).unwrap();
    Keys::from_pem(&read("rs256.pem"), &read("es256.pem"), &read("rs256-rogue.pem")).unwrap()
}

pub async fn start(fault: Option<Fault>) -> Env {
    let realm = realm();
    let config = IdpConfig::new(realm.clone(), keys()).with_fault(fault);
    let idp = RunningIdp::start(config).await.unwrap();
    Env { idp, realm }
}

pub fn pkce_pair() -> (String, String) {
    let verifier = kensa_random();
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

/// A random 43-character base64url string.
pub fn kensa_random() -> String {
    let bytes: [u8; 32] = rand::random();
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Extracts the value of a hidden input from the login page.
pub fn hidden(page: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page.find(&marker).unwrap_or_else(|| panic!("no {name} in {page}")) + marker.len();
    let end = start + page[start..].find('"').unwrap();
    page[start..end].to_owned()
}

/// Parameters of an authorization request.
#[derive(Debug, Clone)]
pub struct AuthParams {
    pub client_id: String,
    pub redirect_uri: Option<String>,
    pub scope: String,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub code_verifier: Option<String>,
}

impl AuthParams {
    /// A typical request for `client`, with state, nonce and PKCE.
    pub fn for_client(client: &Client) -> Self {
        let (verifier, challenge) = pkce_pair();
        AuthParams {
            client_id: client.client_id.clone(),
            redirect_uri: Some(client.redirect_uris[0].clone()),
            scope: "openid profile email offline_access".to_owned(),
            state: Some(kensa_random()),
            nonce: Some(kensa_random()),
            code_challenge: Some(challenge),
            code_verifier: Some(verifier),
        }
    }

    pub fn query(&self) -> String {
        let mut pairs =
            vec![("response_type", "code"), ("client_id", self.client_id.as_str()), ("scope", self.scope.as_str())];
        if let Some(v) = &self.redirect_uri {
            pairs.push(("redirect_uri", v));
        }
        if let Some(v) = &self.state {
            pairs.push(("state", v));
        }
        if let Some(v) = &self.nonce {
            pairs.push(("nonce", v));
        }
        if let Some(v) = &self.code_challenge {
            pairs.push(("code_challenge", v));
            pairs.push(("code_challenge_method", "S256"));
        }
        form(&pairs)
    }
}

impl Env {
    pub fn issuer(&self) -> &str {
        self.idp.issuer()
    }

    pub fn client(&self, role: &str) -> Client {
        self.realm.client_by_role(role).unwrap().clone()
    }

    pub async fn get(&self, target: &str) -> Resp {
        send(self.issuer(), "GET", target, &[], None).await
    }

    /// GET /authorize, expecting the login page.
    pub async fn login_page(&self, browser: &mut Browser, params: &AuthParams) -> Resp {
        let resp = browser.request(self.issuer(), "GET", &format!("/authorize?{}", params.query()), None).await;
        assert_eq!(resp.status, 200, "{}", resp.body);
        resp
    }

    /// Submits the login form of `page`.
    pub async fn submit_login(&self, browser: &mut Browser, page: &Resp, username: &str, password: &str) -> Resp {
        let body = form(&[
            ("request_id", &hidden(&page.body, "request_id")),
            ("csrf_token", &hidden(&page.body, "csrf_token")),
            ("username", username),
            ("password", password),
        ]);
        browser.request(self.issuer(), "POST", "/login", Some(&body)).await
    }

    /// Runs the browser part of the flow as alice and returns the callback URL.
    pub async fn authorize(&self, browser: &mut Browser, params: &AuthParams) -> Url {
        let page = self.login_page(browser, params).await;
        let user = self.realm.user("alice").unwrap();
        let resp = self.submit_login(browser, &page, &user.username, &user.password).await;
        assert_eq!(resp.status, 303, "{}", resp.body);
        resp.location()
    }

    /// Runs the browser part of the flow and returns the code.
    pub async fn code(&self, params: &AuthParams) -> String {
        let callback = self.authorize(&mut Browser::default(), params).await;
        query_param(&callback, "code").expect("code in callback")
    }

    /// POSTs a form to `path`, authenticating as `client` with its
    /// registered method.
    pub async fn post_as(&self, client: &Client, path: &str, pairs: &[(&str, &str)]) -> Resp {
        match client.token_endpoint_auth_method.as_str() {
            "client_secret_basic" => {
                self.post_basic(path, &client.client_id, client.client_secret.as_deref().unwrap(), pairs).await
            }
            "client_secret_post" => {
                let mut all = pairs.to_vec();
                all.push(("client_id", &client.client_id));
                all.push(("client_secret", client.client_secret.as_deref().unwrap()));
                self.post(path, &[], &all).await
            }
            _ => {
                let mut all = pairs.to_vec();
                all.push(("client_id", &client.client_id));
                self.post(path, &[], &all).await
            }
        }
    }

    pub async fn post_basic(&self, path: &str, id: &str, secret: &str, pairs: &[(&str, &str)]) -> Resp {
        let credentials = STANDARD.encode(format!("{}:{}", enc(id), enc(secret)));
        self.post(path, &[("Authorization", format!("Basic {credentials}"))], pairs).await
    }

    pub async fn post(&self, path: &str, headers: &[(&str, String)], pairs: &[(&str, &str)]) -> Resp {
        let mut headers = headers.to_vec();
        headers.push(("Content-Type", "application/x-www-form-urlencoded".to_owned()));
        send(self.issuer(), "POST", path, &headers, Some(&form(pairs))).await
    }

    /// Redeems `code` at the token endpoint as `client`.
    pub async fn redeem(&self, client: &Client, params: &AuthParams, code: &str) -> Resp {
        let mut pairs = vec![("grant_type", "authorization_code"), ("code", code)];
        if let Some(v) = &params.redirect_uri {
            pairs.push(("redirect_uri", v));
        }
        if let Some(v) = &params.code_verifier {
            pairs.push(("code_verifier", v));
        }
        self.post_as(client, "/token", &pairs).await
    }

    /// A full login as alice for `role`; returns the auth params and the token response.
    pub async fn tokens(&self, role: &str) -> (AuthParams, Value) {
        let client = self.client(role);
        let params = AuthParams::for_client(&client);
        let code = self.code(&params).await;
        let resp = self.redeem(&client, &params, &code).await;
        assert_eq!(resp.status, 200, "{}", resp.body);
        (params, resp.json())
    }

    pub async fn refresh(&self, client: &Client, refresh_token: &str, scope: Option<&str>) -> Resp {
        let mut pairs = vec![("grant_type", "refresh_token"), ("refresh_token", refresh_token)];
        if let Some(scope) = scope {
            pairs.push(("scope", scope));
        }
        self.post_as(client, "/token", &pairs).await
    }

    pub async fn userinfo(&self, access_token: &str) -> Resp {
        send(self.issuer(), "GET", "/userinfo", &[("Authorization", format!("Bearer {access_token}"))], None).await
    }

    pub async fn introspect(&self, token: &str) -> Value {
        let client = self.client("confidential");
        let resp = self.post_as(&client, "/introspect", &[("token", token)]).await;
        assert_eq!(resp.status, 200, "{}", resp.body);
        resp.json()
    }

    pub async fn jwks(&self) -> jsonwebtoken::jwk::JwkSet {
        serde_json::from_str(&self.get("/jwks").await.body).unwrap()
    }
}

fn enc(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

pub fn query_param(url: &Url, name: &str) -> Option<String> {
    url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

/// The decoded header and claims of a compact JWS, unverified.
pub fn jwt_parts(token: &str) -> (Value, Value) {
    let mut parts = token.split('.');
    let mut decode = || {
        let part = parts.next().unwrap();
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
    };
    let header = decode();
    let claims = decode();
    (header, claims)
}

/// BASE64URL of the left half of SHA-256.
pub fn at_hash(access_token: &str) -> String {
    let digest = Sha256::digest(access_token.as_bytes());
    URL_SAFE_NO_PAD.encode(&digest[..16])
}
