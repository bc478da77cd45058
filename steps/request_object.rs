//! Request objects (OpenID Connect Core 6): the authorization request as an
//! unsigned JWT, by value (`request`) or by reference (`request_uri`).

use anyhow::anyhow;
use cucumber::{then, when};
use kensa::login::Outcome;
use kensa::oidc::authz::AuthRequest;
use kensa::world::{KensaWorld, StepResult};
use serde_json::{Map, Value};

use super::token::{Exchange, exchange};

/// An unsigned request object (`alg` `none`, empty signature) carrying every
/// parameter of `req`, addressed from the client to the issuer. It is
/// registered with the run's scrubber: it is a JWT holding the request's
/// state, nonce and PKCE challenge, and no report shows it.
fn request_object(w: &KensaWorld, req: &AuthRequest) -> String {
    let jwt = unsigned_request_object(req, w.issuer());
    w.http.scrubber().register(&jwt);
    jwt
}

fn unsigned_request_object(req: &AuthRequest, issuer: &str) -> String {
    let mut claims: Map<String, Value> = req.params().into_iter().map(|(k, v)| (k, Value::String(v))).collect();
    claims.insert("iss".into(), Value::String(req.client_id.clone()));
    claims.insert("aud".into(), Value::String(issuer.to_owned()));
    let header = kensa::oidc::b64url(br#"{"alg":"none"}"#);
    let payload = kensa::oidc::b64url(Value::Object(claims).to_string().as_bytes());
    format!("{header}.{payload}.")
}

/// The query that goes with a request object: what OAuth 2.0 requires
/// outside it (OpenID Connect Core 6.1), and the redirect URI unless the
/// object alone is to carry it.
fn outer(req: &AuthRequest, with_redirect: bool) -> Vec<(String, String)> {
    let mut q = vec![
        ("response_type".to_owned(), "code".to_owned()),
        ("client_id".to_owned(), req.client_id.clone()),
        ("scope".to_owned(), "openid".to_owned()),
    ];
    if with_redirect {
        q.push(("redirect_uri".into(), req.redirect_uri.clone()));
    }
    q
}

#[when("the client sends its authorization request as an unsigned request object")]
async fn by_value(w: &mut KensaWorld) -> StepResult {
    let req = w.new_auth_request()?;
    let jwt = request_object(w, &req);
    let mut q = outer(&req, true);
    q.push(("request".into(), jwt));
    w.run_login_with_query(req, q).await?;
    Ok(())
}

#[when("the client sends an unsigned request object that alone carries the redirect URI")]
async fn redirect_inside(w: &mut KensaWorld) -> StepResult {
    let req = w.new_auth_request()?;
    let jwt = request_object(w, &req);
    let mut q = outer(&req, false);
    q.push(("request".into(), jwt));
    w.run_login_with_query(req, q).await?;
    Ok(())
}

#[when("the client sends its authorization request as an unsigned request object by reference")]
async fn by_reference(w: &mut KensaWorld) -> StepResult {
    let req = w.new_auth_request()?;
    let jwt = request_object(w, &req);
    // The request object is served from 127.0.0.1 for the IdP to fetch
    // (OpenID Connect Core 6.2) while the login runs.
    let at = format!("/request-objects/{}", kensa::oidc::random_token(12));
    let server = ObjectServer::start(at.clone(), jwt).await?;
    let mut q = outer(&req, true);
    q.push(("request_uri".into(), format!("{}{at}", server.base)));
    let ran = w.run_login_with_query(req, q).await;
    w.request_uri_fetches = server.fetches.load(std::sync::atomic::Ordering::SeqCst);
    ran?;
    Ok(())
}

/// A small HTTP server on 127.0.0.1 that answers `GET path` with a request
/// object and counts the fetches; it stops when dropped. (wiremock's
/// MockServer is not used here: its Drop blocks on the async runtime it
/// would be dropped from.)
struct ObjectServer {
    base: String,
    fetches: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl ObjectServer {
    async fn start(path: String, body: String) -> anyhow::Result<Self> {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let fetches = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = std::sync::Arc::clone(&fetches);
        let task = tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                let (path, body, counter) = (path.clone(), body.clone(), std::sync::Arc::clone(&counter));
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut buf = [0u8; 1024];
                    // The request head, at most 8 KiB, for at most 5 s.
                    let read = tokio::time::timeout(std::time::Duration::from_secs(5), async {
                        while head.len() < 8192 && !head.windows(4).any(|w| w == b"\r\n\r\n") {
                            match sock.read(&mut buf).await {
                                Ok(0) | Err(_) => break,
                                Ok(n) => head.extend_from_slice(&buf[..n]),
                            }
                        }
                    });
                    let _ = read.await;
                    let line = String::from_utf8_lossy(&head);
                    let target = line.split_whitespace().nth(1).unwrap_or("");
                    let reply = if line.starts_with("GET ") && target == path {
                        counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        format!(
                            "HTTP/1.1 200 OK\r\nContent-Type: application/oauth-authz-req+jwt\r\nContent-Length: \
                             {}\r\nConnection: close\r\n\r\n{body}",
                            body.len()
                        )
                    } else {
                        "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_owned()
                    };
                    let _ = sock.write_all(reply.as_bytes()).await;
                    let _ = sock.shutdown().await;
                });
            }
        });
        Ok(Self { base, fetches, task })
    }
}

impl Drop for ObjectServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Whether the discovery document says the IdP takes `member`
/// (`request_parameter_supported`, `request_uri_parameter_supported`).
async fn advertised(w: &mut KensaWorld, member: &str, default: bool) -> anyhow::Result<bool> {
    Ok(w.discovery().await?.doc.get(member).and_then(Value::as_bool).unwrap_or(default))
}

/// The verdict shared by the request-object checks: refused with
/// `unsupported` (or invalid_request_object when unsigned objects are not
/// among the advertised algorithms), or used: the code comes back to the
/// object's redirect URI with the object's state, and the ID token carries
/// the object's nonce.
async fn used_or_refused(
    w: &mut KensaWorld,
    member: &str,
    default: bool,
    unsupported: &str,
    also_refused: Option<&str>,
) -> StepResult {
    used_or_refused_or_page(w, member, default, unsupported, also_refused, false).await
}

/// As [`used_or_refused`]; with `page_ok`, an OP that cannot use the object
/// (it does not advertise the parameter, or takes no unsigned objects) may
/// also stop on an error page: the request carries its redirect URI only
/// inside the object, and RFC 6749 4.1.2.1 says that without a valid
/// redirect URI the server "MUST NOT automatically redirect the user-agent".
async fn used_or_refused_or_page(
    w: &mut KensaWorld,
    member: &str,
    default: bool,
    unsupported: &str,
    also_refused: Option<&str>,
    page_ok: bool,
) -> StepResult {
    let supported = advertised(w, member, default).await?;
    let unsigned_ok = w
        .discovery()
        .await?
        .list("request_object_signing_alg_values_supported")
        .is_none_or(|algs| algs.iter().any(|a| a == "none"));
    let req = w.auth.clone().ok_or_else(|| anyhow!("no authorization request was sent"))?;
    let cb = match (&w.callback, &w.outcome) {
        (Some(cb), _) => cb.clone(),
        (None, Some(Outcome::Page { response, .. })) if page_ok && (!supported || !unsigned_ok) => {
            let status = response.status;
            w.notes.push(format!(
                "the IdP does not take this request object ({member} {supported}, unsigned objects {}) and showed an error page (HTTP {status}) instead of redirecting: the request names its redirect URI only inside the object (RFC 6749 4.1.2.1)",
                if unsigned_ok { "allowed" } else { "not listed" }
            ));
            return Ok(());
        }
        (None, Some(Outcome::Page { response, .. })) => fail!(
            "the IdP neither used the request object nor redirected with {unsupported}: the flow stopped on HTTP {} ({})",
            response.status,
            kensa::http::preview(&response.text(), 160)
        ),
        _ => fail!("no login flow ran"),
    };
    if cb.code.is_none() {
        return match cb.error.as_deref() {
            Some(e) if e == unsupported && !supported => Ok(()),
            Some(e) if e == unsupported => {
                Err(anyhow!("the IdP advertises {member} but answered {unsupported}: {}", cb.error_text()).into())
            }
            Some("invalid_request_object") if !unsigned_ok => Ok(()),
            Some(e) if Some(e) == also_refused => Ok(()),
            _ if unsupported == "request_not_supported" => Err(anyhow!(
                "the request object was neither used nor refused as unsupported ({unsupported}): {}{}",
                cb.error_text(),
                kensa::report::cites(
                    "OIDC-Core-6.1",
                    "MUST",
                    "\"Should an OP not support this parameter and an RP uses it, the OP MUST return the request_not_supported error.\""
                )
            )
            .into()),
            _ => Err(anyhow!(
                "the request object was neither used nor refused as unsupported ({unsupported}): {}",
                cb.error_text()
            )
            .into()),
        };
    }
    if cb.state.as_deref() != Some(req.state.as_str()) {
        fail!(
            "the IdP issued a code but returned state {:?} instead of the request object's: it did not use the object",
            cb.state
        );
    }
    exchange(w, Exchange::default()).await?;
    let id_token = w.id_token()?;
    let nonce = id_token.claims.get("nonce").and_then(Value::as_str);
    if nonce != req.nonce.as_deref() {
        fail!("the ID token's nonce is {nonce:?}, not the request object's: the IdP did not use the object");
    }
    Ok(())
}

#[then("the request object is used, or refused with request_not_supported")]
async fn request_used_or_refused(w: &mut KensaWorld) -> StepResult {
    used_or_refused(w, "request_parameter_supported", false, "request_not_supported", None).await
}

#[then("the request object is used, or refused with request_not_supported or an error page")]
async fn request_used_or_refused_or_page(w: &mut KensaWorld) -> StepResult {
    used_or_refused_or_page(w, "request_parameter_supported", false, "request_not_supported", None, true).await
}

#[then("the request object is fetched and used, or refused with request_uri_not_supported")]
async fn request_uri_used_or_refused(w: &mut KensaWorld) -> StepResult {
    // OpenID Connect Discovery 1.0, 3: request_uri_parameter_supported
    // defaults to true.
    // A request_uri served from this run cannot have been registered: where
    // the IdP requires registration, invalid_request_uri is the right refusal.
    let registration = advertised(w, "require_request_uri_registration", false).await?;
    let also = registration.then_some("invalid_request_uri");
    used_or_refused(w, "request_uri_parameter_supported", true, "request_uri_not_supported", also).await?;
    if w.callback.as_ref().is_some_and(|c| c.code.is_some()) && w.request_uri_fetches == 0 {
        fail!("the IdP issued a code without fetching the request object from the request_uri");
    }
    Ok(())
}
